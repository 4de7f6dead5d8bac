"""The shop's views: each one uses Flagship the way a real project would."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from django_flagship.decorators import flag_required
from django_flagship.sdk.hits import Item, Transaction

from .basket import Basket
from .catalog import PRODUCTS, get_product
from .context import save_context, visitor_context
from .forms import VisitorContextForm
from .inspector import inspect_visitor

ORDER_SESSION_KEY = "shop_last_order"


def home(request: HttpRequest) -> HttpResponse:
    # The template reads the flags: {% ifflag %}, {% flag %} and {% flags_json %}.
    recommended = PRODUCTS[3:5] if request.flags.get("recommendations", False) else ()
    return render(request, "shop/home.html", {"products": PRODUCTS, "recommended": recommended})


@require_POST
def basket_add(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_product(slug)
    if product is None:
        raise Http404("no such product")
    Basket(request).add(product)
    messages.success(request, f"{product.name} is in your basket.")
    return redirect("shop:basket")


@require_POST
def basket_remove(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_product(slug)
    if product is not None:
        Basket(request).remove(product)
    return redirect("shop:basket")


def basket(request: HttpRequest) -> HttpResponse:
    current = Basket(request)
    return render(request, "shop/basket.html", {"basket": current, **current.summary()})


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Place the order: one ``Transaction`` hit and one ``Item`` hit per line."""
    current = Basket(request)
    if not current:
        messages.info(request, "Your basket is empty.")
        return redirect("shop:basket")
    summary = current.summary()
    order_id = f"#{uuid.uuid4().hex[:8].upper()}"
    # The affiliation names the goal the A/B tests are measured against.
    request.flags.send_hit(
        Transaction(order_id, "Purchase")
        .with_total_revenue(summary["total"])
        .with_shipping_cost(summary["shipping"])
        .with_currency("EUR")
        .with_item_count(current.count)
        .with_payment_method("card")
    )
    for line in summary["lines"]:
        request.flags.send_hit(
            Item(order_id, line.product.name, line.product.slug)
            .with_price(line.product.price)
            .with_item_quantity(line.quantity)
            .with_item_category(line.product.category)
        )
    request.session[ORDER_SESSION_KEY] = {"id": order_id, "total": str(summary["total"])}
    current.clear()
    return redirect("shop:order_complete")


def order_complete(request: HttpRequest) -> HttpResponse:
    order = request.session.get(ORDER_SESSION_KEY)
    if order is None:
        return redirect("shop:home")
    return render(request, "shop/order_complete.html", {"order": order})


@flag_required("giftCards")
def gift_cards(request: HttpRequest) -> HttpResponse:
    """Only for visitors the "Gift cards early access" campaign lets in; others get a 404."""
    return render(request, "shop/gift_cards.html", {"amounts": (25, 50, 100)})


def flagship(request: HttpRequest) -> HttpResponse:
    """Everything Flagship decided for this visitor, and a form to change the context."""
    if request.method == "POST":
        form = VisitorContextForm(request.POST)
        if form.is_valid():
            save_context(
                request,
                country=form.cleaned_data["country"],
                is_vip=form.cleaned_data["is_vip"],
                age=form.cleaned_data["age"],
            )
            messages.success(request, "Context saved: the campaigns below use it now.")
            return redirect("shop:flagship")
    else:
        current = visitor_context(request)
        form = VisitorContextForm(
            initial={
                "country": current["country"],
                "is_vip": current["isVip"],
                "age": current.get("age"),
            }
        )
    return render(request, "shop/flagship.html", {"form": form, **inspect_visitor(request)})
