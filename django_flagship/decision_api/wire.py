"""The server's JSON on the wire: refusals, bodies read (strict, bounded) and written.

Every refusal is an :class:`ApiError`: an HTTP status and a JSON body naming
the problem, which the views' decorator turns into the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse

from ..sdk import strict_json

__all__ = [
    "ApiError",
    "encode",
    "json_response",
    "loads_json",
    "read_json",
    "redirect",
]


class ApiError(Exception):
    """A request the server refuses: an HTTP status and a JSON body naming the problem."""

    def __init__(self, status: int, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body: dict[str, Any] = dict(body) if body is not None else {"message": message}


def loads_json(raw: bytes | str, what: str = "the body") -> Any:
    """Strict, bounded JSON (:mod:`django_flagship.sdk.strict_json`), else a 400 saying why."""
    try:
        return strict_json.loads(raw)
    except strict_json.JsonTextError as exc:
        raise ApiError(400, str(exc) if what == "the body" else f"{what}: {exc}") from None
    except strict_json.JsonError as exc:
        raise ApiError(400, f"{what} is not valid JSON: {exc}") from None


def encode(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the server writes every body.

    ``NaN`` is written as the token it is: a bucketing file may hold one in a
    flag's value (its parser lets it through), and the server has always
    answered it as written.
    """
    return strict_json.dumps(body, allow_nan=True).encode("utf-8")


def read_json(request: HttpRequest, max_body: int) -> Any:
    """The JSON body, refused with 413 past ``max_body`` bytes before it is read whole."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid Content-Length") from None
    if declared > max_body:
        raise ApiError(413, f"the body is larger than {max_body} bytes")
    raw = request.read(max_body + 1)
    if len(raw) > max_body:
        raise ApiError(413, f"the body is larger than {max_body} bytes")
    if not raw.strip():
        raise ApiError(400, "the body must be a JSON object")
    return loads_json(raw)


def json_response(body: Any, status: int = 200) -> HttpResponse:
    """``body`` (JSON bytes already, or a value to write) as an ``application/json`` answer."""
    content = body if isinstance(body, bytes) else encode(body)
    return HttpResponse(content, status=status, content_type="application/json")


def redirect(location: str, body: Any = None) -> HttpResponse:
    """A 302 to ``location``, with ``body`` as JSON when given (a REDIRECT's value)."""
    response = HttpResponse(
        b"" if body is None else encode(body), status=302, content_type="application/json"
    )
    response["Location"] = location
    return response
