from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("basket/", views.basket, name="basket"),
    path("basket/add/<slug:slug>/", views.basket_add, name="basket_add"),
    path("basket/remove/<slug:slug>/", views.basket_remove, name="basket_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("order/complete/", views.order_complete, name="order_complete"),
    path("gift-cards/", views.gift_cards, name="gift_cards"),
    path("flagship/", views.flagship, name="flagship"),
]
