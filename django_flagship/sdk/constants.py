"""Flagship's public endpoints and the identity this SDK announces."""

from django_flagship import __version__

__all__ = [
    "ACTIVATE_URL",
    "BUCKETING_URL",
    "DECISION_API_URL",
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
