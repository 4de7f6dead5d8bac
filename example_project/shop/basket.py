"""The basket, kept in the session, and its prices.

The Flagship flags decide two numbers here: ``freeShippingThreshold`` (a
personalization by country) and ``vipDiscount`` (a percentage for VIPs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpRequest

from .catalog import Product, get_product

__all__ = ["SHIPPING_COST", "Basket", "BasketLine"]

SESSION_KEY = "shop_basket"
SHIPPING_COST = Decimal("4.90")
DEFAULT_FREE_SHIPPING_THRESHOLD = 100
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BasketLine:
    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity


class Basket:
    """The session's basket with the prices the visitor's flags give."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        raw = request.session.get(SESSION_KEY, {})
        self._quantities: dict[str, int] = {
            slug: int(quantity)
            for slug, quantity in raw.items()
            if get_product(slug) is not None and int(quantity) > 0
        }

    def _save(self) -> None:
        self.request.session[SESSION_KEY] = dict(self._quantities)

    def add(self, product: Product, quantity: int = 1) -> None:
        self._quantities[product.slug] = self._quantities.get(product.slug, 0) + quantity
        self._save()

    def remove(self, product: Product) -> None:
        self._quantities.pop(product.slug, None)
        self._save()

    def clear(self) -> None:
        self._quantities = {}
        self._save()

    @property
    def lines(self) -> list[BasketLine]:
        return [
            BasketLine(product, quantity)
            for slug, quantity in self._quantities.items()
            if (product := get_product(slug)) is not None
        ]

    @property
    def count(self) -> int:
        return sum(self._quantities.values())

    def __bool__(self) -> bool:
        return bool(self._quantities)

    # -- prices, from the visitor's flags -------------------------------------

    @property
    def subtotal(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    @property
    def discount_percent(self) -> int:
        percent = self.request.flags.get("vipDiscount", 0)
        return percent if 0 <= percent <= 90 else 0

    @property
    def discount(self) -> Decimal:
        return (self.subtotal * self.discount_percent / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def free_shipping_threshold(self) -> int:
        return self.request.flags.get("freeShippingThreshold", DEFAULT_FREE_SHIPPING_THRESHOLD)

    @property
    def shipping(self) -> Decimal:
        if not self or self.subtotal - self.discount >= self.free_shipping_threshold:
            return Decimal("0.00")
        return SHIPPING_COST

    @property
    def missing_for_free_shipping(self) -> Decimal:
        return max(Decimal("0"), self.free_shipping_threshold - (self.subtotal - self.discount))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping

    def summary(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "subtotal": self.subtotal,
            "discount_percent": self.discount_percent,
            "discount": self.discount,
            "shipping": self.shipping,
            "total": self.total,
            "free_shipping_threshold": self.free_shipping_threshold,
            "missing_for_free_shipping": self.missing_for_free_shipping,
        }
