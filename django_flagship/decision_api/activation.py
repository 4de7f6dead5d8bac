"""Activations received (``v1/activate``, ``v2/activate``), parsed and checked.

Errors are answered as Flagship's own server answers them (GO's validation
error): a 400 whose ``message`` holds ``{"status":"error","errors":{...}}``
as text, one entry per field.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .index import BucketIndex
from .items import ServedActivation
from .parsing import BOOLEAN, STRING
from .wire import ApiError

__all__ = [
    "ActivationRequest",
    "activation_error",
    "check_variations",
    "parse_activation_v1",
    "parse_activations_v2",
]

_ACTIVATION_FIELDS = {
    "cid": STRING,
    "vid": STRING,
    "aid": STRING,
    "caid": STRING,
    "vaid": STRING,
    "cvid": STRING,
    "qt": "an integer",
    "qa": BOOLEAN,
}
_ACTIVATION_REQUIRED = ("cid", "vid", "caid", "vaid")
#: Queue times are capped at Flagship's hit lifetime (4 h): older is not credible.
_MAX_QUEUE_TIME_MS = 4 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    """One validated activation: ``cid`` is the environment, ``caid`` the variation group."""

    env_id: str
    visitor_id: str
    variation_group_id: str
    variation_id: str
    anonymous_id: str | None = None
    queue_time_ms: int = 0

    def to_activation(self, now: float | None = None) -> ServedActivation:
        """The activation to track, carrying ``env_id`` (the request's ``cid``)."""
        now = time.time() if now is None else now
        return ServedActivation(
            visitor_id=self.visitor_id,
            variation_group_id=self.variation_group_id,
            variation_id=self.variation_id,
            anonymous_id=self.anonymous_id,
            created_at=now - self.queue_time_ms / 1000.0,
            env_id=self.env_id,
        )


def _is_count(value: Any) -> bool:
    """A non-negative integer; JSON may write it ``12.0`` and ``1e400`` reads as infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return value >= 0


def activation_error(errors: Mapping[str, str]) -> ApiError:
    """GO's validation error: ``message`` holds ``{"status":"error","errors":{...}}`` as text."""
    inner = json.dumps({"status": "error", "errors": dict(errors)}, separators=(",", ":"))
    return ApiError(400, inner, {"message": inner})


def _activation_item(
    data: Any,
    served: Mapping[str, Any],
    *,
    allowed: Mapping[str, str],
    required: tuple[str, ...] = _ACTIVATION_REQUIRED,
    prefix: str = "",
) -> ActivationRequest:
    if not isinstance(data, Mapping):
        raise activation_error({prefix.rstrip(".") or "body": "Must be an object."})
    errors: dict[str, str] = {}
    for name, value in data.items():
        kind = allowed.get(name)
        if kind is None:
            errors[prefix + name] = "Unknown field."
        elif value is None:
            continue
        elif kind is STRING and not isinstance(value, str):
            errors[prefix + name] = "Must be a string."
        elif kind is BOOLEAN and not isinstance(value, bool):
            errors[prefix + name] = "Must be a boolean."
        elif kind == "an integer" and not _is_count(value):
            errors[prefix + name] = "Must be a non-negative integer."
    for name in required:
        if prefix + name not in errors and not data.get(name):
            errors[prefix + name] = "Field is mandatory."
    cid = data.get("cid")
    if isinstance(cid, str) and cid and cid not in served:
        errors[prefix + "cid"] = "Invalid cid."
    if errors:
        raise activation_error(errors)
    return ActivationRequest(
        env_id=data.get("cid", ""),
        visitor_id=data["vid"],
        variation_group_id=data["caid"],
        variation_id=data["vaid"],
        anonymous_id=data.get("aid") or None,
        queue_time_ms=min(int(data.get("qt") or 0), _MAX_QUEUE_TIME_MS),
    )


def parse_activation_v1(data: Any, served: Mapping[str, Any]) -> ActivationRequest:
    """The v1 body ``{vid, cid, caid, vaid}``, every field required."""
    allowed = dict.fromkeys(("vid", "cid", "caid", "vaid"), STRING)
    return _activation_item(data, served, allowed=allowed)


def parse_activations_v2(data: Any, served: Mapping[str, Any]) -> list[ActivationRequest]:
    """A single activation object, or ``{cid, batch: [...]}`` (protocol 1.6).

    The envelope's ``cid`` is copied into every item, as GO does.
    """
    if not isinstance(data, Mapping):
        raise activation_error({"body": "Must be an object."})
    if "batch" not in data:
        return [_activation_item(data, served, allowed=_ACTIVATION_FIELDS)]
    unknown = {name: "Unknown field." for name in data if name not in ("cid", "batch")}
    batch = data.get("batch")
    cid = data.get("cid")
    if not isinstance(cid, str) or not cid:
        unknown["cid"] = "Field is mandatory." if not cid else "Must be a string."
    elif cid not in served:
        unknown["cid"] = "Invalid cid."
    if not isinstance(batch, list) or not batch:
        unknown["batch"] = "Must be a non-empty list."
    if unknown:
        raise activation_error(unknown)
    # Both checked above.
    assert isinstance(cid, str)
    assert isinstance(batch, list)
    items = []
    errors: dict[str, str] = {}
    for position, item in enumerate(batch):
        try:
            parsed = _activation_item(
                item,
                served,
                allowed=_ACTIVATION_FIELDS,
                required=("vid", "caid", "vaid"),
                prefix=f"batch[{position}].",
            )
        except ApiError as exc:
            errors.update(json.loads(exc.message)["errors"])
            continue
        items.append(
            ActivationRequest(
                env_id=cid,
                visitor_id=parsed.visitor_id,
                variation_group_id=parsed.variation_group_id,
                variation_id=parsed.variation_id,
                anonymous_id=parsed.anonymous_id,
                queue_time_ms=parsed.queue_time_ms,
            )
        )
    if errors:
        raise activation_error(errors)
    return items


def check_variations(
    items: list[ActivationRequest], index: BucketIndex, prefix: Callable[[int], str]
) -> None:
    """Refuse activations of variations the bucket does not have: no key protects this.

    ``prefix(position)`` starts the name of each item's fields in the errors.
    """
    errors = {}
    for position, item in enumerate(items):
        known = index.variations.get(item.variation_group_id)
        if known is None:
            errors[prefix(position) + "caid"] = "Unknown variation group."
        elif item.variation_id not in known:
            errors[prefix(position) + "vaid"] = "Unknown variation."
    if errors:
        raise activation_error(errors)
