"""Flagship's public endpoints and the identity this SDK announces."""

from .version import __version__

__all__ = [
    "ACTIVATE_URL",
    "ASYNC_KEEPALIVE_EXPIRY",
    "ASYNC_MAX_CONNECTIONS",
    "BUCKETING_URL",
    "DECISION_API_URL",
    "DECISION_CACHE_SIZE",
    "EVENTS_URL",
    "RESERVED_CONTEXT_KEYS",
    "SDK_CLIENT",
    "SDK_VERSION",
]

DECISION_API_URL = "https://decision.flagship.io/v2"
ACTIVATE_URL = "https://decision.flagship.io/v2/activate"
BUCKETING_URL = "https://cdn.flagship.io/{env_id}/bucketing.json"
EVENTS_URL = "https://events.flagship.io/"

SDK_CLIENT = "python"
SDK_VERSION = __version__

#: Keys the SDK sets itself in every visitor's context; users may not set them.
RESERVED_CONTEXT_KEYS = frozenset({"fs_client", "fs_version"})

#: How many recent bucketing decisions a process remembers by default. An entry
#: holds the question (visitor id, context, a copy of the assignment history
#: sharing the bucket's strings) and references to the bucket's assignments:
#: a few kilobytes for a visitor in 50 campaigns (``benchmarks/middleware.py``
#: measures it).
DECISION_CACHE_SIZE = 2048

#: Each event loop's pool of connections to the Decision API (async code):
#: calls and connections at once, and seconds an idle connection stays open.
ASYNC_MAX_CONNECTIONS = 100
ASYNC_KEEPALIVE_EXPIRY = 15.0
