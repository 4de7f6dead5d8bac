"""API keys: which environment a campaigns request is for, and whether its key opens it.

The keys are never shown by Django's error reports: the settings hold them in
:class:`~django_flagship.served_conf.ApiKeys`, whose repr hides them, and
every function here or in the views that holds one marks its variable as
sensitive (:data:`SECRET_VARIABLES`).
"""

from __future__ import annotations

import hmac
import itertools
import operator
from collections.abc import Iterable

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from ..served_conf import ServerSettings
from .wire import ApiError

__all__ = [
    "API_KEY_HEADER",
    "SECRET_VARIABLES",
    "authenticate",
    "check_api_key",
    "environment_of_key",
    "served_keys",
]

API_KEY_HEADER = "x-api-key"
#: Names of the variables that may hold an API key, in the views and what they call.
SECRET_VARIABLES = ("given", "keys", "key", "accepted", "candidate", "api_key")

_encode = operator.methodcaller("encode", "utf-8", "surrogatepass")


@sensitive_variables("given", "candidate")
def check_api_key(given: str | None, accepted: Iterable[str]) -> bool:
    """Whether ``given`` is one of the ``accepted`` keys, compared in constant time.

    Every accepted key is compared, so the time taken does not tell which
    one came closest. The comparisons run in C (``map``): no Python frame
    ever holds an accepted key, which a ``DEBUG`` error page would show.
    """
    if not given:
        return False
    candidate = _encode(given)
    return any(list(map(hmac.compare_digest, itertools.repeat(candidate), map(_encode, accepted))))


@sensitive_variables(*SECRET_VARIABLES)
def served_keys(env_id: str, conf: ServerSettings) -> Iterable[str] | None:
    """The environment's keys (``None``: served without a key); 404 when not served."""
    if env_id not in conf.environments:
        raise ApiError(404, f"environment {env_id} is not served here")
    return conf.environments[env_id]


@sensitive_variables(*SECRET_VARIABLES)
def authenticate(request: HttpRequest, keys: Iterable[str] | None) -> None:
    """403 unless the request's ``x-api-key`` is one of ``keys`` (``None``: public)."""
    if keys is None:
        return  # FLAGSHIP_DECISION_API_ENVIRONMENTS = {env_id: None}: public
    if not check_api_key(request.headers.get(API_KEY_HEADER), keys):
        raise ApiError(403, f"a valid API key is required in the {API_KEY_HEADER} header")


@sensitive_variables(*SECRET_VARIABLES)
def environment_of_key(request: HttpRequest, conf: ServerSettings) -> str:
    """For routes without an environment id (as Flagship's own server has): the key's."""
    given = request.headers.get(API_KEY_HEADER)
    for env_id, keys in conf.environments.items():
        if keys is not None and check_api_key(given, keys):
            return env_id
    raise ApiError(403, f"a valid API key is required in the {API_KEY_HEADER} header")
