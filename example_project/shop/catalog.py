"""The shop's products: a fixed list is all an example needs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["PRODUCTS", "Product", "get_product"]


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    price: Decimal
    category: str
    colour: str
    blurb: str

    @property
    def initial(self) -> str:
        return self.name[0]


PRODUCTS: tuple[Product, ...] = (
    Product(
        "canvas-tote",
        "Canvas tote bag",
        Decimal("18.00"),
        "Bags",
        "#e9d8a6",
        "Heavy cotton canvas, long handles, inside pocket.",
    ),
    Product(
        "enamel-mug",
        "Enamel mug",
        Decimal("12.50"),
        "Kitchen",
        "#94d2bd",
        "Camp-style mug that survives the dishwasher.",
    ),
    Product(
        "wool-beanie",
        "Wool beanie",
        Decimal("24.00"),
        "Clothing",
        "#ee9b00",
        "Merino rib knit, one size, made in Portugal.",
    ),
    Product(
        "notebook-set",
        "Notebook set",
        Decimal("9.90"),
        "Stationery",
        "#ca6702",
        "Three dotted A5 notebooks with recycled covers.",
    ),
    Product(
        "travel-bottle",
        "Travel bottle",
        Decimal("21.00"),
        "Kitchen",
        "#0a9396",
        "Insulated steel, keeps coffee hot for six hours.",
    ),
    Product(
        "linen-apron",
        "Linen apron",
        Decimal("32.00"),
        "Kitchen",
        "#bb3e03",
        "Washed linen with adjustable straps.",
    ),
)

_BY_SLUG = {product.slug: product for product in PRODUCTS}


def get_product(slug: str) -> Product | None:
    return _BY_SLUG.get(slug)
