"""The visitor context the shop adds for targeting (``FLAGSHIP_CONTEXT``).

A real shop would take the country from the address book or a GeoIP lookup and
the VIP status from its loyalty programme. Here the VIP status comes from the
``VIP customers`` group (the demo user *bob* is in it), and the Flagship page
lets anyone change all three values: they are kept in the session, so the next
request is targeted with them.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

__all__ = [
    "COUNTRIES",
    "DEFAULT_COUNTRY",
    "SESSION_KEY",
    "VIP_GROUP",
    "save_context",
    "visitor_context",
]

SESSION_KEY = "shop_visitor_context"
VIP_GROUP = "VIP customers"
DEFAULT_COUNTRY = "FR"
COUNTRIES = (
    ("FR", "France"),
    ("DE", "Germany"),
    ("IT", "Italy"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("JP", "Japan"),
)


def _is_vip_member(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return user.groups.filter(name=VIP_GROUP).exists()


def visitor_context(request: HttpRequest) -> dict[str, Any]:
    """``country``, ``isVip`` and, when known, ``age``: what the campaigns target."""
    chosen = request.session.get(SESSION_KEY, {}) if hasattr(request, "session") else {}
    context: dict[str, Any] = {
        "country": chosen.get("country", DEFAULT_COUNTRY),
        "isVip": chosen["isVip"] if "isVip" in chosen else _is_vip_member(request),
    }
    if chosen.get("age") is not None:
        context["age"] = chosen["age"]
    return context


def save_context(request: HttpRequest, *, country: str, is_vip: bool, age: int | None) -> None:
    """Keep the values chosen on the Flagship page for the rest of the session."""
    request.session[SESSION_KEY] = {"country": country, "isVip": is_vip, "age": age}
