"""One pooled ``requests.Session`` per client, with the SDK's identity headers."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from .constants import SDK_CLIENT, SDK_VERSION

__all__ = ["SDK_HEADERS", "make_session", "short_text"]

#: Sent with every request, by the ``requests`` sessions and the async clients alike.
SDK_HEADERS = {
    "x-sdk-client": SDK_CLIENT,
    "x-sdk-version": SDK_VERSION,
    "Content-Type": "application/json",
}


def make_session(pool_size: int = 16) -> requests.Session:
    """A keep-alive session; connections are reused across visitors and threads."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update(SDK_HEADERS)
    return session


def short_text(text: str, limit: int = 200) -> str:
    """A response body cut to ``limit`` characters, for error messages."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
