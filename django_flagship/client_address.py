"""Who is asking: the client address the public endpoints count requests by.

The browser event view and the served Decision API's activation endpoints
take requests from anyone. Their rate limits count per client address, which
a client cannot reset by dropping its cookies.

``FLAGSHIP_CLIENT_ADDRESS_HEADER`` (default ``None``)
    ``None``: the address is ``REMOTE_ADDR``, the peer of the connection.
    Behind a reverse proxy every request comes from the proxy, so name the
    header the proxy writes the client's address into: ``"X-Forwarded-For"``
    takes the last address in it (the one your proxy appended; the ones
    before it are whatever the client sent). With several proxies in a row,
    give ``("X-Forwarded-For", 2)``: the second address from the end. A
    header that is missing, too short or not an address counts as
    ``REMOTE_ADDR``, so a client cannot escape the limit by sending garbage.

An IPv6 address counts as its ``/64`` network: one host is usually given a
whole ``/64``, and could otherwise take a new address for each request.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from .conf import conf
from .setting_parsers import parse_address_header

__all__ = ["client_address", "parse_address_header"]

_UNKNOWN = "unknown"


def _normalized(text: str) -> str | None:
    """``text`` as an address to count by (IPv6 as its /64), or ``None``."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(request: HttpRequest) -> str:
    """The address of the client behind ``request``, as rate limits count it."""
    remote = _normalized(str(request.META.get("REMOTE_ADDR") or "")) or _UNKNOWN
    setting = conf.value("FLAGSHIP_CLIENT_ADDRESS_HEADER")
    if setting is None:
        return remote
    header, position = setting
    raw = request.headers.get(header)
    if not raw:
        return remote
    hops = [part for part in raw.split(",") if part.strip()]
    if len(hops) < position:
        return remote
    return _normalized(hops[-position]) or remote
