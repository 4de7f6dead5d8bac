"""Tracking hits and activations, with the field names of Flagship's collector.

The hit classes follow the official Python SDK's public API (``Page``,
``Screen``, ``Transaction``, ``Item``, ``Event`` and their ``with_*`` builders);
the wire names come from the collector protocol (``t``, ``ds``, ``dl`` …).

Rules, chosen once for every hit:

* **Builders never raise.** They store what they are given and return the hit.
  Every check happens in :meth:`Hit.validate`, which raises
  :class:`InvalidHitError` naming the first bad field. A view that builds a hit
  from request data therefore cannot crash while building it; the visitor
  validates in ``send_hit`` and reports the error instead of sending.
* **Strings**, required or optional, must be non-blank ``str`` within the byte
  limits the SDK documents (UTF-8 bytes, not characters). Leave an optional
  field unset rather than setting it to ``""``.
* **Money** (``tr``, ``ts``, ``tt``, ``ip``) is an ``int``, ``float`` or
  ``Decimal``, finite and ``>= 0``; a ``Decimal`` is sent as a JSON float.
* **Counts** (``ev``, ``icn``, ``iq``, ``sn``, ``cst``) are ``int`` and ``>= 0``
  and must fit a signed 64-bit integer. ``bool`` is never a number here. ``ev``
  is an ``int`` (as in the official SDK), so ``5.0`` is refused.
* ``with_session_timestamp`` writes ``cst``, the name the Flagship mobile SDKs
  use for "current session timestamp" (the Python SDKs reserve it but leave it
  unset). The value is an ``int`` of milliseconds since the Unix epoch.
* Hits and activations expire :data:`HIT_EXPIRATION_SECONDS` (4 h) after
  creation; senders drop them instead of delivering them late.

A hit's :meth:`~Hit.to_payload` holds only its own fields plus ``t`` and
``ds``. The visitor ids (``vid``/``cuid``), ``cid`` and the queue time ``qt``
are added when it is sent (see :mod:`django_flagship.sdk.tracking`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from .context import MAX_CONTEXT_LIST_ITEMS

__all__ = [
    "HIT_EXPIRATION_SECONDS",
    "Activation",
    "Consent",
    "Event",
    "EventCategory",
    "Hit",
    "HitType",
    "InvalidHitError",
    "Item",
    "Page",
    "Screen",
    "Segment",
    "Transaction",
    "is_absolute_url",
    "new_item_id",
    "queue_time_ms",
    "segment_values",
]

#: Hits and activations older than this are dropped, never sent (Flagship's
#: ``HIT_EXPIRATION`` of 14 400 000 ms).
HIT_EXPIRATION_SECONDS: float = 4 * 60 * 60

_INT64_MAX = 2**63 - 1
_CURRENCY = re.compile(r"[A-Z]{3}")

_H = TypeVar("_H", bound="Hit")
_E = TypeVar("_E", bound="Event")


class InvalidHitError(ValueError):
    """A hit or activation that must not be sent; ``field`` is the wire name."""

    def __init__(self, kind: str, field: str, problem: str) -> None:
        self.kind = kind
        self.field = field
        self.problem = problem
        super().__init__(f"{kind}: field '{field}' {problem}")


class HitType(str, Enum):
    """Value of the ``t`` field."""

    PAGEVIEW = "PAGEVIEW"
    SCREENVIEW = "SCREENVIEW"
    EVENT = "EVENT"
    TRANSACTION = "TRANSACTION"
    ITEM = "ITEM"
    SEGMENT = "SEGMENT"


class EventCategory(str, Enum):
    """The two categories the collector accepts for ``ec``."""

    ACTION_TRACKING = "Action Tracking"
    USER_ENGAGEMENT = "User Engagement"


# --- field rules -------------------------------------------------------------
# Each rule returns None when the value is acceptable, else the problem, worded
# to follow "field 'x' ...".

_Rule = Callable[[Any], "str | None"]


def _type_name(value: Any) -> str:
    return type(value).__name__


def _show(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters, so messages stay one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(max_bytes: int) -> _Rule:
    def rule(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a str, got {_type_name(value)}"
        if not value.strip():
            return "must not be empty"
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            return f"must be at most {max_bytes} bytes in UTF-8, got {size}"
        return None

    return rule


def is_absolute_url(value: Any) -> bool:
    """Whether ``value`` is a URL with a scheme and a host: what a ``PAGEVIEW``'s ``dl`` holds."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


def _currency(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a str, got {_type_name(value)}"
    if not _CURRENCY.fullmatch(value):
        return f"must be an ISO 4217 code of 3 uppercase letters, got {_show(value)}"
    return None


def _ip_address(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a str, got {_type_name(value)}"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"must be an IPv4 or IPv6 address, got {_show(value)}"
    return None


def _money(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return f"must be a number (int, float or Decimal), got {_type_name(value)}"
    # Whatever is sent must survive the trip through a JSON float.
    finite = not isinstance(value, Decimal) or value.is_finite()
    if finite:
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
    if not finite:
        return f"must be a finite number, got {_show(value)}"
    if value < 0:
        return f"must not be negative, got {_show(value)}"
    return None


def _count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an int, got {_type_name(value)}"
    if value < 0:
        return f"must not be negative, got {_show(value)}"
    if value > _INT64_MAX:
        return "must fit in a signed 64-bit integer"
    return None


def _category(value: Any) -> str | None:
    if not isinstance(value, EventCategory):
        allowed = ", ".join(repr(c.value) for c in EventCategory)
        return f"must be an EventCategory ({allowed}), got {_show(value)}"
    return None


def _scalar_context_problem(key: Any, item: Any) -> str | None:
    if not isinstance(item, str | int | float):  # bool is an int subclass
        return (
            f"value for {_show(key)} must be a str, number, bool or a list of those, "
            f"got {_type_name(item)}"
        )
    if isinstance(item, float) and not math.isfinite(item):
        return f"value for {_show(key)} must be finite, got {_show(item)}"
    return None


def _context(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return f"must be a mapping, got {_type_name(value)}"
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            return f"must have non-empty str keys, got {_show(key)}"
        if isinstance(item, list | tuple):
            if len(item) > MAX_CONTEXT_LIST_ITEMS:
                return (
                    f"value for {_show(key)} must be a list of at most "
                    f"{MAX_CONTEXT_LIST_ITEMS} values, got {len(item)}"
                )
            for element in item:
                problem = _scalar_context_problem(key, element)
                if problem is not None:
                    return problem
            continue
        problem = _scalar_context_problem(key, item)
        if problem is not None:
            return problem
    return None


def _segment_text(value: str | int | float | list[Any] | tuple[Any, ...]) -> str:
    # Lowercase booleans, as the Decision API server writes them; the official
    # Python SDK 3.0.1 uses str() and sends "True". A list is written as the
    # server's Go %v writes one: "[beta news]", "[1 2.5 true]".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(_segment_text(item) for item in value) + "]"
    return str(value)


def _wire(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- hits --------------------------------------------------------------------


class Hit:
    """Base of every tracking hit; holds the fields any hit may carry."""

    #: The ``t`` it is sent with (a :class:`Page`'s depends on its origin).
    hit_type: HitType
    # wire name -> (label used in messages, rule)
    _rules: ClassVar[dict[str, tuple[str, _Rule]]] = {}
    _required: ClassVar[tuple[str, ...]] = ()

    _common_rules: ClassVar[dict[str, tuple[str, _Rule]]] = {
        "uip": ("user IP", _ip_address),
        "ul": ("user locale", _text(20)),
        "cst": ("session timestamp (ms)", _count),
        "sn": ("session number", _count),
    }

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}
        self._resolution: tuple[Any, Any] | None = None

    # Common builders ---------------------------------------------------------

    def with_ip(self: _H, ip: str) -> _H:
        """The visitor's IP address (``uip``; ``ip`` is an item's price)."""
        self._fields["uip"] = ip
        return self

    def with_resolution(self: _H, width: int, height: int) -> _H:
        """Screen resolution, sent as ``sr`` = ``"WxH"`` only when both are > 0."""
        self._resolution = (width, height)
        return self

    def with_locale(self: _H, locale: str) -> _H:
        """The visitor's language or locale (``ul``), at most 20 bytes."""
        self._fields["ul"] = locale
        return self

    def with_session_timestamp(self: _H, timestamp_ms: int) -> _H:
        """Start of the current session in ms since the epoch (``cst``)."""
        self._fields["cst"] = timestamp_ms
        return self

    def with_session_number(self: _H, number: int) -> _H:
        """Number of the visitor's current session (``sn``)."""
        self._fields["sn"] = number
        return self

    # Checking and output -----------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`InvalidHitError` if this hit must not be sent."""
        kind = type(self).__name__
        for key in self._required:
            if key not in self._fields or self._fields[key] is None:
                label = self._rules[key][0]
                raise InvalidHitError(kind, key, f"({label}) is required")
        for key, value in self._fields.items():
            label, rule = self._rules.get(key) or self._common_rules[key]
            problem = rule(value)
            if problem:
                raise InvalidHitError(kind, key, f"({label}) {problem}")
        if self._resolution is not None:
            for name, value in zip(("width", "height"), self._resolution, strict=True):
                problem = _count(value)
                if problem:
                    raise InvalidHitError(kind, "sr", f"(screen {name}) {problem}")

    def is_valid(self) -> bool:
        """True when :meth:`validate` would not raise."""
        try:
            self.validate()
        except InvalidHitError:
            return False
        return True

    def to_payload(self) -> dict[str, Any]:
        """This hit's own wire fields, including ``t`` and ``ds``."""
        payload: dict[str, Any] = {"t": self.hit_type.value, "ds": "APP"}
        for key, value in self._fields.items():
            payload[key] = _wire(value)
        if self._resolution is not None:
            width, height = self._resolution
            if _count(width) is None and _count(height) is None and width > 0 and height > 0:
                payload["sr"] = f"{width}x{height}"
        return payload

    def __repr__(self) -> str:
        parts = [f"{key}={_wire(value)!r}" for key, value in self._fields.items()]
        if self._resolution is not None:
            parts.append(f"resolution={self._resolution!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit) or type(other) is not type(self):
            return NotImplemented
        return self._fields == other._fields and self._resolution == other._resolution

    __hash__ = None  # type: ignore[assignment]  # builders mutate hits


class Page(Hit):
    """A view of a page, an interface or a script (the seed's "uri / interface name / script name").

    Flagship's collector takes a ``PAGEVIEW`` only for an absolute URL (scheme
    and host) in ``dl``; any other origin (``"checkout_interface"``,
    ``"/cart"``, ``"nightly_export.py"``) is sent as a ``SCREENVIEW`` with the
    name in ``dl``, as :class:`Screen` sends it.
    """

    hit_type = HitType.PAGEVIEW
    _rules = {"dl": ("origin", _text(2048))}
    _required = ("dl",)

    def __init__(self, origin: str) -> None:
        super().__init__()
        self._fields["dl"] = origin
        if not is_absolute_url(origin):
            self.hit_type = HitType.SCREENVIEW


class Screen(Hit):
    """A screen view; ``origin`` is the screen or interface name (``dl``)."""

    hit_type = HitType.SCREENVIEW
    _rules = {"dl": ("screen name", _text(2048))}
    _required = ("dl",)

    def __init__(self, origin: str) -> None:
        super().__init__()
        self._fields["dl"] = origin


class Event(Hit):
    """Anything the visitor does: a click, a subscription…"""

    hit_type = HitType.EVENT
    _rules = {
        "ec": ("event category", _category),
        "ea": ("event action", _text(500)),
        "el": ("event label", _text(500)),
        "ev": ("event value", _count),
    }
    _required = ("ec", "ea")

    def __init__(self, category: EventCategory | str, action: str) -> None:
        super().__init__()
        # The category's text value is accepted as well as the member.
        if isinstance(category, str) and not isinstance(category, EventCategory):
            with contextlib.suppress(ValueError):  # else validate() names it
                category = EventCategory(category)
        self._fields["ec"] = category
        self._fields["ea"] = action

    def with_event_label(self: _E, label: str) -> _E:
        """Description of the event (``el``), at most 500 bytes."""
        self._fields["el"] = label
        return self

    def with_event_value(self: _E, value: int) -> _E:
        """A non-negative ``int`` attached to the event (``ev``)."""
        self._fields["ev"] = value
        return self


class Transaction(Hit):
    """A completed transaction; ``affiliation`` is the goal's name (``ta``)."""

    hit_type = HitType.TRANSACTION
    _rules = {
        "tid": ("transaction id", _text(500)),
        "ta": ("affiliation", _text(500)),
        "tr": ("total revenue", _money),
        "ts": ("shipping cost", _money),
        "tt": ("taxes", _money),
        "tc": ("currency", _currency),
        "pm": ("payment method", _text(10)),
        "sm": ("shipping method", _text(10)),
        "icn": ("item count", _count),
        "tcc": ("coupon code", _text(10)),
    }
    _required = ("tid", "ta")

    def __init__(self, transaction_id: str, affiliation: str) -> None:
        super().__init__()
        self._fields["tid"] = transaction_id
        self._fields["ta"] = affiliation

    def with_total_revenue(self, revenue: float) -> Transaction:
        """Total revenue, shipping and taxes included (``tr``)."""
        self._fields["tr"] = revenue
        return self

    def with_shipping_cost(self, cost: float) -> Transaction:
        """Total shipping cost (``ts``)."""
        self._fields["ts"] = cost
        return self

    def with_shipping_method(self, method: str) -> Transaction:
        """Shipping method (``sm``), at most 10 bytes."""
        self._fields["sm"] = method
        return self

    def with_taxes(self, taxes: float) -> Transaction:
        """Total taxes (``tt``)."""
        self._fields["tt"] = taxes
        return self

    def with_currency(self, currency: str) -> Transaction:
        """ISO 4217 currency code such as ``"EUR"`` (``tc``)."""
        self._fields["tc"] = currency
        return self

    def with_payment_method(self, method: str) -> Transaction:
        """Payment method (``pm``), at most 10 bytes."""
        self._fields["pm"] = method
        return self

    def with_item_count(self, count: int) -> Transaction:
        """Number of items in the transaction (``icn``)."""
        self._fields["icn"] = count
        return self

    def with_coupon_code(self, code: str) -> Transaction:
        """Coupon code used (``tcc``), at most 10 bytes."""
        self._fields["tcc"] = code
        return self


class Item(Hit):
    """One product of a transaction; send it after its :class:`Transaction`."""

    hit_type = HitType.ITEM
    _rules = {
        "tid": ("transaction id", _text(500)),
        "in": ("product name", _text(500)),
        "ic": ("item code", _text(500)),
        "ip": ("price", _money),
        "iq": ("quantity", _count),
        "iv": ("category", _text(500)),
    }
    _required = ("tid", "in", "ic")

    def __init__(self, transaction_id: str, product_name: str, item_code: str) -> None:
        super().__init__()
        self._fields["tid"] = transaction_id
        self._fields["in"] = product_name
        self._fields["ic"] = item_code

    def with_price(self, price: float) -> Item:
        """Price of one unit (``ip``)."""
        self._fields["ip"] = price
        return self

    def with_item_category(self, category: str) -> Item:
        """Category of the product (``iv``)."""
        self._fields["iv"] = category
        return self

    def with_item_quantity(self, quantity: int) -> Item:
        """Number of units bought (``iq``)."""
        self._fields["iq"] = quantity
        return self


class Segment(Hit):
    """The visitor's context (``s``), sent after a local bucketing decision.

    Values go out as strings: booleans as ``"true"``/``"false"``, numbers in
    their shortest decimal form, strings unchanged, lists as Flagship's
    Decision API server writes them (``["beta", "news"]`` as ``"[beta news]"``).
    An empty context is allowed.
    """

    hit_type = HitType.SEGMENT
    _rules = {"s": ("context", _context)}
    _required = ("s",)

    def __init__(self, context: Mapping[str, Any]) -> None:
        super().__init__()
        # A copy, so later context updates do not leak into a queued hit.
        self._fields["s"] = (
            {k: tuple(v) if isinstance(v, list) else v for k, v in context.items()}
            if isinstance(context, Mapping)
            else context
        )

    def to_payload(self) -> dict[str, Any]:
        payload = super().to_payload()
        context = self._fields["s"]
        if _context(context) is None:
            payload["s"] = segment_values(context)
        return payload


def segment_values(context: Mapping[str, Any]) -> dict[str, str]:
    """The ``s`` of a SEGMENT hit: each value of a valid context as text."""
    return {
        key: value if value.__class__ is str else _segment_text(value)
        for key, value in context.items()
    }


class Consent(Event):
    """The event recording a visitor's consent choice.

    Wire form: ``ec="User Engagement"``, ``ea="fs_consent"`` and
    ``el="python:true"`` or ``"python:false"``.
    """

    def __init__(self, consented: bool) -> None:
        super().__init__(EventCategory.USER_ENGAGEMENT, "fs_consent")
        self.consented = consented
        self._fields["el"] = "python:true" if consented is True else "python:false"

    def validate(self) -> None:
        if not isinstance(self.consented, bool):
            raise InvalidHitError(
                type(self).__name__,
                "el",
                f"(consent) must come from a bool, got {_type_name(self.consented)}",
            )
        super().validate()


# --- activations -------------------------------------------------------------


def queue_time_ms(created_at: float, now: float) -> int:
    """Milliseconds an item waited between ``created_at`` and ``now`` (``qt``)."""
    return max(0, round((now - created_at) * 1000))


def new_item_id() -> str:
    # 128 random bits as 32 hex digits, like uuid4().hex at a fifth of the cost.
    return os.urandom(16).hex()


@dataclass(frozen=True, slots=True)
class Activation:
    """A visitor saw a variation: the exposure the activate endpoint records.

    ``visitor_id`` is the visitor's current id (the authenticated id once
    logged in) and ``anonymous_id`` the id it had before, or ``None``.
    """

    visitor_id: str
    variation_group_id: str
    variation_id: str
    anonymous_id: str | None = None
    created_at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_item_id)

    def validate(self) -> None:
        """Raise :class:`InvalidHitError` if this activation must not be sent."""
        for key, value, optional in (
            ("vid", self.visitor_id, False),
            ("caid", self.variation_group_id, False),
            ("vaid", self.variation_id, False),
            ("aid", self.anonymous_id, True),
        ):
            if optional and value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                wanted = "None or a non-empty str" if optional else "a non-empty str"
                raise InvalidHitError("Activation", key, f"must be {wanted}, got {_show(value)}")

    def is_expired(self, now: float | None = None) -> bool:
        """True once the activation is too old to be worth sending."""
        now = time.time() if now is None else now
        return now - self.created_at >= HIT_EXPIRATION_SECONDS

    def to_payload(self, env_id: str | None = None, *, now: float | None = None) -> dict[str, Any]:
        """The activation item ``{"vid", "aid", "caid", "vaid", "qt"}``.

        Inside a ``{"cid", "batch": [...]}`` envelope the items carry no
        ``cid``; pass ``env_id`` to get the standalone form with ``cid`` first.
        ``qt`` is measured at ``now`` (default: the current time).
        """
        now = time.time() if now is None else now
        payload: dict[str, Any] = {} if env_id is None else {"cid": env_id}
        payload.update(
            vid=self.visitor_id,
            aid=self.anonymous_id,
            caid=self.variation_group_id,
            vaid=self.variation_id,
            qt=queue_time_ms(self.created_at, now),
        )
        return payload
