"""DECISION_API mode: one POST to Flagship's v2 campaigns endpoint per synchronization."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from . import strict_json
from .async_http import AsyncLimits, AsyncPool, TransportError, TransportTimeout
from .http import SDK_HEADERS, make_session, short_text
from .model import Assignment, FlagInfo

__all__ = [
    "CircuitBreaker",
    "DecisionApiClient",
    "DecisionError",
    "DecisionResult",
    "parse_campaigns",
    "scrub_secret",
]

#: What replaces a secret in any text this module reports.
REDACTED = "***"


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by :data:`REDACTED`.

    The secret is also looked for as a server or this module may have escaped
    it: in a JSON string, in a Python ``repr`` and URL-encoded. Scrub a text
    before cutting it short; for a text already cut by :func:`short_text`, a
    start of the secret (four characters or more) just before the final ``…``
    is redacted too.
    """
    if not secret or not text:
        return text
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    }
    ordered = sorted(forms, key=len, reverse=True)
    for form in ordered:
        text = text.replace(form, REDACTED)
    if text.endswith("…"):
        head = text[:-1]
        for form in ordered:
            for size in range(min(len(form) - 1, len(head)), 3, -1):
                if head.endswith(form[:size]):
                    return head[:-size] + REDACTED + "…"
    return text


class DecisionError(Exception):
    """The Decision API gave no usable answer; the caller keeps what it had."""


# Not frozen: one is made per decision, and a frozen dataclass's __init__
# sets each field through object.__setattr__ (about 1 us in all).
@dataclass(slots=True)
class DecisionResult:
    assignments: list[Assignment] = field(default_factory=list)
    panic: bool = False
    #: When already known (a remembered decision), the flags merged from
    #: ``assignments`` and their ``{variationGroupId: variationId}``; read-only.
    flags: Mapping[str, FlagInfo] | None = None
    variations: Mapping[str, str] | None = None
    #: Whether the visitor's assignment history, as given, holds ``variations``
    #: already (known for a remembered decision, and for one whose every
    #: assignment came from the history): then it needs no update.
    history_holds: bool = False


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_campaign(raw: Any) -> Assignment:
    """One campaign object of a v2 response, as an :class:`Assignment`.

    Raises ``ValueError`` naming what is wrong.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"campaign is not an object: {short_text(repr(raw), 80)}")
    campaign_id = raw.get("id")
    group_id = raw.get("variationGroupId", raw.get("variation_group_id"))
    variation = raw.get("variation")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise ValueError("campaign without an id")
    if not isinstance(group_id, str) or not group_id:
        raise ValueError(f"campaign {campaign_id!r} has no variationGroupId")
    if not isinstance(variation, Mapping) or not isinstance(variation.get("id"), str):
        raise ValueError(f"campaign {campaign_id!r} has no variation id")
    modifications = variation.get("modifications") or {}
    if not isinstance(modifications, Mapping):
        raise ValueError(f"campaign {campaign_id!r} has malformed modifications")
    flags = modifications.get("value") or {}
    if not isinstance(flags, Mapping):
        raise ValueError(f"campaign {campaign_id!r}: modifications.value is not an object")
    for key in flags:
        if not isinstance(key, str):
            raise ValueError(f"campaign {campaign_id!r}: flag key {key!r} is not a string")
    return Assignment(
        campaign_id=campaign_id,
        variation_group_id=group_id,
        variation_id=variation["id"],
        flags=dict(flags),
        campaign_name=_optional_str(raw.get("name")),
        campaign_type=_optional_str(raw.get("type")),
        slug=_optional_str(raw.get("slug")),
        variation_group_name=_optional_str(raw.get("variationGroupName")),
        variation_name=_optional_str(variation.get("name")),
        reference=bool(variation.get("reference", False)),
        modification_type=_optional_str(modifications.get("type")) or "FLAG",
    )


def parse_campaigns(body: Any, on_error: Callable[[str], None] | None = None) -> DecisionResult:
    """A v2 campaigns response body as a :class:`DecisionResult`.

    A malformed campaign is skipped and reported; a body that is not a
    campaigns response at all raises :class:`DecisionError`.
    """
    if not isinstance(body, Mapping):
        raise DecisionError("the Decision API answered with a JSON value that is not an object")
    if body.get("panic") is True:
        return DecisionResult([], panic=True)
    campaigns = body.get("campaigns")
    if not isinstance(campaigns, list):
        raise DecisionError("the Decision API answer has no campaigns list")
    assignments = []
    for raw in campaigns:
        try:
            assignments.append(parse_campaign(raw))
        except ValueError as exc:
            if on_error is not None:
                on_error(f"skipped a campaign of the Decision API answer: {exc}")
    return DecisionResult(assignments)


class CircuitBreaker:
    """Stops calling a failing service for ``cooldown`` seconds after ``failures`` in a row.

    After the cooldown one call is let through; its outcome closes the circuit
    or opens it again.
    """

    def __init__(
        self, failures: int = 5, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial_running or self._clock() - self._opened_at < self.cooldown:
                return False
            self._trial_running = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            self._trial_running = False
            if self._opened_at is not None or self._consecutive >= self.failures:
                self._opened_at = self._clock()

    def record_abandoned(self) -> None:
        """A call let through ended with no outcome (cancelled): another may try."""
        with self._lock:
            self._trial_running = False


#: The query string of every campaigns call.
_PARAMS = {"exposeAllKeys": "true"}


class DecisionApiClient:
    """Calls ``POST {base}/{env_id}/campaigns?exposeAllKeys=true``.

    The API key goes in the ``x-api-key`` header only, and never into a message:
    the text of every :class:`DecisionError` and of every ``on_error`` report is
    scrubbed of it (a server may echo the key in an error body). Redirects are
    not followed: ``requests`` would send the ``x-api-key`` header to whatever
    host a ``Location`` names (it strips only ``Authorization``), so a 3xx is
    an error like any other and the defaults are served. The server is
    asked not to trigger activations itself (``trigger_hit: false``): the SDK
    activates what the visitor really sees.

    :meth:`fetch` calls on a ``requests`` session; :meth:`afetch`, for async
    code, on the event loop's own aiohttp session (see :mod:`.async_http`). Only
    the transport differs: the body, the headers, the timeout, the circuit
    breaker and the reading of the answer are the same code.
    """

    def __init__(
        self,
        env_id: str,
        api_key: str,
        *,
        base_url: str,
        timeout: float,
        session: requests.Session | None = None,
        breaker: CircuitBreaker | None = None,
        async_limits: AsyncLimits | None = None,
    ) -> None:
        self.env_id = env_id
        self._api_key = api_key
        self.url = f"{base_url.rstrip('/')}/{env_id}/campaigns"
        self.timeout = timeout
        self.session = session or make_session()
        self.breaker = breaker or CircuitBreaker()
        self.async_pool = AsyncPool(
            async_limits or AsyncLimits(), timeout=timeout, headers=SDK_HEADERS
        )
        self._thread_fallback_reported = False

    def __repr__(self) -> str:
        return f"<DecisionApiClient url={self.url!r} timeout={self.timeout}>"

    def request_body(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
    ) -> dict[str, Any]:
        return {
            "visitorId": visitor_id,
            "anonymousId": anonymous_id,
            "visitor_consent": consent,
            "trigger_hit": False,
            "context": dict(context),
        }

    def fetch(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
        on_error: Callable[[str], None] | None = None,
    ) -> DecisionResult:
        """The visitor's campaigns; raises :class:`DecisionError` on any failure.

        No message it raises or reports contains the API key.
        """
        try:
            content = self._request(visitor_id, context, anonymous_id, consent)
            return self._fetch(content, self._report(on_error))
        except DecisionError as exc:
            raise DecisionError(self._scrub(str(exc))) from None

    async def afetch(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
        on_error: Callable[[str], None] | None = None,
    ) -> DecisionResult:
        """:meth:`fetch` for async code: the event loop does other work meanwhile.

        Without aiohttp the call runs :meth:`fetch` in the loop's default thread
        pool, as many at once as it has threads, and says so once.
        """
        if not self.async_pool.available:
            self._report_thread_fallback(on_error)
            return await asyncio.to_thread(
                self.fetch,
                visitor_id,
                context,
                anonymous_id=anonymous_id,
                consent=consent,
                on_error=on_error,
            )
        try:
            content = self._request(visitor_id, context, anonymous_id, consent)
            return await self._afetch(content, self._report(on_error))
        except DecisionError as exc:
            raise DecisionError(self._scrub(str(exc))) from None

    def _report(self, on_error: Callable[[str], None] | None) -> Callable[[str], None] | None:
        if on_error is None:
            return None

        def report(message: str) -> None:
            on_error(self._scrub(message))

        return report

    def _report_thread_fallback(self, on_error: Callable[[str], None] | None) -> None:
        if self._thread_fallback_reported or on_error is None:
            return
        self._thread_fallback_reported = True
        on_error(
            "aiohttp is not installed: async code calls the Decision API from a thread "
            "pool, which caps how many calls wait at once; install "
            "'django-flagship[async]' to call it from the event loop"
        )

    def _scrub(self, text: str) -> str:
        return scrub_secret(text, self._api_key)

    def _request(
        self, visitor_id: str, context: Mapping[str, Any], anonymous_id: str | None, consent: bool
    ) -> bytes:
        """The body to send, once the circuit breaker lets the call through."""
        if not self.breaker.allow():
            raise DecisionError(
                "the Decision API is skipped for a while after repeated failures "
                "(circuit breaker open)"
            )
        body = self.request_body(visitor_id, context, anonymous_id=anonymous_id, consent=consent)
        # What requests' json= sends, encoded here so that both transports send it.
        return json.dumps(body, allow_nan=False).encode("utf-8")

    def _fetch(self, content: bytes, on_error: Callable[[str], None] | None) -> DecisionResult:
        try:
            response = self.session.post(
                self.url,
                params=_PARAMS,
                data=content,
                headers={"x-api-key": self._api_key},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise self._failed(self._timed_out()) from None
        except requests.RequestException as exc:
            raise self._failed(self._unreachable(type(exc).__name__)) from None
        return self._answer(response, on_error)

    async def _afetch(
        self, content: bytes, on_error: Callable[[str], None] | None
    ) -> DecisionResult:
        try:
            response = await self.async_pool.post(
                self.url, params=_PARAMS, content=content, headers={"x-api-key": self._api_key}
            )
        except TransportTimeout as exc:
            if exc.pool:
                raise self._failed(
                    f"no connection to the Decision API was free within {self.timeout:g} s "
                    f"(this event loop's {self.async_pool.limits.max_connections} were all "
                    "busy)"
                ) from None
            raise self._failed(self._timed_out()) from None
        except TransportError as exc:
            raise self._failed(self._unreachable(str(exc))) from None
        except asyncio.CancelledError:
            self.breaker.record_abandoned()
            raise
        return self._answer(response, on_error)

    def _timed_out(self) -> str:
        return f"the Decision API did not answer within {self.timeout:g} s"

    @staticmethod
    def _unreachable(error: str) -> str:
        return f"the Decision API could not be reached: {error}"

    def _failed(self, message: str) -> DecisionError:
        self.breaker.record_failure()
        return DecisionError(message)

    def _answer(self, response: Any, on_error: Callable[[str], None] | None) -> DecisionResult:
        """Read a response of either transport (``status_code``, ``content``, ``text``)."""
        status = response.status_code
        if status == 204:
            self.breaker.record_success()
            return DecisionResult([])
        if 300 <= status < 400:
            # Never followed: the API key goes to the configured URL only.
            self.breaker.record_success()
            raise DecisionError(
                f"the Decision API answered {status} (a redirect, not followed: "
                "the API key goes to the configured URL only)"
            )
        if status >= 400:
            if status >= 500 or status == 429:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            raise DecisionError(
                f"the Decision API answered {status}: {short_text(self._scrub(response.text))}"
            )
        try:
            payload = strict_json.loads(response.content)
        except strict_json.JsonError as exc:
            self.breaker.record_failure()
            raise DecisionError(
                f"the Decision API answered {status} with a body that is "
                f"not JSON ({exc}): {short_text(self._scrub(response.text), 80)}"
            ) from None
        result = parse_campaigns(payload, on_error)
        self.breaker.record_success()
        return result

    def close(self) -> None:
        self.session.close()
        self.async_pool.close()
