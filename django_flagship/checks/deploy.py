"""``check --deploy``: a bucket shared by every process (W004), the clients' own
addresses behind a proxy (W006), aiohttp for an ASGI site in DECISION_API mode (W011).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage

from ..async_support import aiohttp_installed, asgi_site
from ..conf import conf
from ..sdk import Mode
from .caches import check_shared_cache
from .messages import text, warning

__all__ = ["check_async_deploy", "check_deploy"]


def check_deploy(**kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: one bucket shared by every process, the clients' own addresses."""
    return check_shared_cache() + _check_proxy_address()


def _check_proxy_address() -> list[CheckMessage]:
    behind_proxy = [
        name
        for name in ("USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT", "SECURE_PROXY_SSL_HEADER")
        if getattr(settings, name, None)
    ]
    if not behind_proxy or conf.raw("FLAGSHIP_CLIENT_ADDRESS_HEADER") is not None:
        return []
    return [
        warning(
            6,
            f"{behind_proxy[0]} says the site runs behind a proxy, but "
            "FLAGSHIP_CLIENT_ADDRESS_HEADER is not set: the rate limits of the browser "
            "events and of the served activations count every client as the proxy.",
            "Set FLAGSHIP_CLIENT_ADDRESS_HEADER to the header your proxy writes the "
            "client's address into, e.g. 'X-Forwarded-For'.",
        )
    ]


def check_async_deploy(**kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: an ASGI site in DECISION_API mode needs aiohttp (the ``async`` extra).

    Without it every ``await request.flags.aget(...)`` waits for a thread of
    the event loop's default pool (a few per core) to call the Decision API:
    past that many at once, requests queue behind one another's call.
    """
    try:
        mode = conf.parsed("FLAGSHIP_MODE")
    except ValueError:
        return []  # E002
    if mode is not Mode.DECISION_API or not (text("FLAGSHIP_ENV_ID") and text("FLAGSHIP_API_KEY")):
        return []
    why = asgi_site()
    if why is None or aiohttp_installed():
        return []
    return [
        warning(
            11,
            f"FLAGSHIP_MODE is DECISION_API and the site looks served over ASGI ({why}), "
            "but aiohttp is not installed: async views call the Decision API from a small "
            "thread pool, so concurrent requests queue behind one another's call.",
            'Install the async extra: pip install "django-flagship[async]". A site served '
            "over WSGI only can silence it: SILENCED_SYSTEM_CHECKS = "
            "['django_flagship.W011'].",
        )
    ]
