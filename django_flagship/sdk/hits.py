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
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .hit_fields import (
    EventCategory,
    HitType,
    InvalidHitError,
    Rule,
    category_problem,
    context_problem,
    count_problem,
    currency_problem,
    ip_address_problem,
    is_absolute_url,
    money_problem,
    segment_text,
    shown,
    text_rule,
    type_name,
    wire_value,
)

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

_H = TypeVar("_H", bound="Hit")
_E = TypeVar("_E", bound="Event")


class Hit:
    """Base of every tracking hit; holds the fields any hit may carry."""

    #: The ``t`` it is sent with (a :class:`Page`'s depends on its origin).
    hit_type: HitType
    # wire name -> (label used in messages, rule)
    _rules: ClassVar[dict[str, tuple[str, Rule]]] = {}
    _required: ClassVar[tuple[str, ...]] = ()

    _common_rules: ClassVar[dict[str, tuple[str, Rule]]] = {
        "uip": ("user IP", ip_address_problem),
        "ul": ("user locale", text_rule(20)),
        "cst": ("session timestamp (ms)", count_problem),
        "sn": ("session number", count_problem),
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
                problem = count_problem(value)
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
            payload[key] = wire_value(value)
        if self._resolution is not None:
            width, height = self._resolution
            if (
                count_problem(width) is None
                and count_problem(height) is None
                and width > 0
                and height > 0
            ):
                payload["sr"] = f"{width}x{height}"
        return payload

    def __repr__(self) -> str:
        parts = [f"{key}={wire_value(value)!r}" for key, value in self._fields.items()]
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
    _rules = {"dl": ("origin", text_rule(2048))}
    _required = ("dl",)

    def __init__(self, origin: str) -> None:
        super().__init__()
        self._fields["dl"] = origin
        if not is_absolute_url(origin):
            self.hit_type = HitType.SCREENVIEW


class Screen(Hit):
    """A screen view; ``origin`` is the screen or interface name (``dl``)."""

    hit_type = HitType.SCREENVIEW
    _rules = {"dl": ("screen name", text_rule(2048))}
    _required = ("dl",)

    def __init__(self, origin: str) -> None:
        super().__init__()
        self._fields["dl"] = origin


class Event(Hit):
    """Anything the visitor does: a click, a subscription…"""

    hit_type = HitType.EVENT
    _rules = {
        "ec": ("event category", category_problem),
        "ea": ("event action", text_rule(500)),
        "el": ("event label", text_rule(500)),
        "ev": ("event value", count_problem),
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
        "tid": ("transaction id", text_rule(500)),
        "ta": ("affiliation", text_rule(500)),
        "tr": ("total revenue", money_problem),
        "ts": ("shipping cost", money_problem),
        "tt": ("taxes", money_problem),
        "tc": ("currency", currency_problem),
        "pm": ("payment method", text_rule(10)),
        "sm": ("shipping method", text_rule(10)),
        "icn": ("item count", count_problem),
        "tcc": ("coupon code", text_rule(10)),
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
        "tid": ("transaction id", text_rule(500)),
        "in": ("product name", text_rule(500)),
        "ic": ("item code", text_rule(500)),
        "ip": ("price", money_problem),
        "iq": ("quantity", count_problem),
        "iv": ("category", text_rule(500)),
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
    _rules = {"s": ("context", context_problem)}
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
        if context_problem(context) is None:
            payload["s"] = segment_values(context)
        return payload


def segment_values(context: Mapping[str, Any]) -> dict[str, str]:
    """The ``s`` of a SEGMENT hit: each value of a valid context as text."""
    return {
        key: value if value.__class__ is str else segment_text(value)
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
                f"(consent) must come from a bool, got {type_name(self.consented)}",
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
                raise InvalidHitError("Activation", key, f"must be {wanted}, got {shown(value)}")

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
