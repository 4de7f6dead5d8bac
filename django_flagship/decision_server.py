"""Moved: the served Decision API lives in :mod:`django_flagship.decision_api`.

This module re-exports the names it held, from the package's modules
(settings from :mod:`django_flagship.served_conf`), so imports written for it
keep working.
"""

from __future__ import annotations

from .decision_api.activation import (
    ActivationRequest,
    activation_error,
    parse_activation_v1,
    parse_activations_v2,
)
from .decision_api.groups import decide
from .decision_api.index import BucketIndex, bucket_index
from .decision_api.items import ServedActivation, ServedHit
from .decision_api.keys import check_api_key
from .decision_api.parsing import (
    MODES,
    DecisionRequest,
    is_http_url,
    parse_decision_query,
    parse_decision_request,
    parse_flag,
    parse_mode,
)
from .decision_api.render import (
    campaign_v1,
    campaign_v2,
    formatted_value,
    modification_value,
    render_campaigns,
)
from .decision_api.trackers import (
    close_served_trackers,
    served_tracker,
    track_activations,
    track_hit,
)
from .decision_api.wire import ApiError, loads_json
from .served_conf import ApiKeys, ServerSettings, served_settings, server_settings

__all__ = [
    "MODES",
    "ActivationRequest",
    "ApiError",
    "ApiKeys",
    "BucketIndex",
    "DecisionRequest",
    "ServedActivation",
    "ServedHit",
    "ServerSettings",
    "activation_error",
    "bucket_index",
    "campaign_v1",
    "campaign_v2",
    "check_api_key",
    "close_served_trackers",
    "decide",
    "formatted_value",
    "is_http_url",
    "loads_json",
    "modification_value",
    "parse_activation_v1",
    "parse_activations_v2",
    "parse_decision_query",
    "parse_decision_request",
    "parse_flag",
    "parse_mode",
    "render_campaigns",
    "served_settings",
    "served_tracker",
    "server_settings",
    "track_activations",
    "track_hit",
]
