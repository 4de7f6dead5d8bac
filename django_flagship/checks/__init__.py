"""System checks for the ``FLAGSHIP_*`` settings, the cache, the middleware and the templates.

=========================  ===========================================================
Id                         Problem
=========================  ===========================================================
``django_flagship.E001``   a setting that must be a string is not one
``django_flagship.E002``   ``FLAGSHIP_MODE`` is not ``BUCKETING`` or ``DECISION_API``
``django_flagship.E003``   DECISION_API mode without ``FLAGSHIP_ENV_ID`` or API key
``django_flagship.E004``   ``FLAGSHIP_CACHE_ALIAS`` is not in ``CACHES``
``django_flagship.E005``   ``FLAGSHIP_BUCKET_FILE`` cannot be read or does not parse
``django_flagship.E006``   a time setting is not a positive number of seconds
``django_flagship.E007``   a dotted-path setting does not import or is not callable
``django_flagship.E008``   an endpoint URL setting is not an absolute http(s) URL
``django_flagship.E009``   the middleware comes before the session or auth middleware
``django_flagship.E010``   a boolean setting is not ``True`` or ``False``
``django_flagship.E011``   ``FLAGSHIP_VARY_HEADERS`` is not a list of header names
``django_flagship.E012``   a ``FLAGSHIP_DECISION_API_*`` setting (served Decision API) is malformed
``django_flagship.E013``   a hit count setting (queue, batch, retries) is not an int in range
``django_flagship.E014``   ``FLAGSHIP_HIT_SINK`` is not a sink name or an importable path
``django_flagship.E015``   ``FLAGSHIP_HIT_SPOOL_DIR`` is not a path, ``None`` or ``False``
``django_flagship.E016``   a ``FLAGSHIP_BROWSER_*`` setting (the browser event view) is malformed
``django_flagship.E017``   ``FLAGSHIP_DRF_DENY_STATUS`` is not 403 or 404
``django_flagship.E018``   ``FLAGSHIP_DECISION_CACHE_SIZE`` is not an int >= 0
``django_flagship.E019``   ``FLAGSHIP_BUCKET_MAX_BYTES`` is not an int >= 1024
``django_flagship.E020``   a ``FLAGSHIP_BUCKET_MAX_*`` count (campaigns, variation groups,
                           variations, targetings) is not an int >= 1
``django_flagship.E021``   ``FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE`` is not a number of seconds > 0
``django_flagship.E022``   ``FLAGSHIP_CLIENT_ADDRESS_HEADER`` is not a header name (and proxy count)
``django_flagship.E023``   ``FLAGSHIP_DECISION_API_RATE_LIMIT`` is malformed, or below one batch
``django_flagship.E024``   ``FLAGSHIP_DECISION_API_MAX_BATCH`` is not an int >= 1
``django_flagship.E031``   a ``FLAGSHIP_ASYNC_*`` setting (the async connection pool) is malformed
``django_flagship.W001``   nothing configured: every flag serves its default
``django_flagship.W002``   ``FlagshipMiddleware`` is not in ``MIDDLEWARE``
``django_flagship.W003``   the bucket cache is a ``DummyCache``: nothing is shared
``django_flagship.W004``   (``--deploy``) the bucket cache is private to each process
``django_flagship.W005``   the bucket download deadline is shorter than ``FLAGSHIP_TIMEOUT``
``django_flagship.W006``   (``--deploy``) behind a proxy, but rate limits count the proxy's address
``django_flagship.W007``   the bucket cache is Redis or Memcached with no socket timeout
``django_flagship.W008``   the served Decision API answers an environment without a key
``django_flagship.W009``   a template backend loads the flag tags without the request processor
``django_flagship.W011``   (``--deploy``) an ASGI site in DECISION_API mode without aiohttp
=========================  ===========================================================

A setting checked alone is reported under the check id of its entry in
:mod:`django_flagship.settings_table`, with its parser's message. The checks
live in:

- :mod:`.configuration`: the settings (:func:`check_settings`);
- :mod:`.caches`: the cache holding the bucket (E004, W003, W004, W007);
- :mod:`.deploy`: ``check --deploy`` (W004, W006, W011);
- :mod:`.middleware`: the middleware's place (W002, E009);
- :mod:`.templates`: the request context processor (W009);
- :mod:`.messages`: what they share.

The authoring app's own checks (E029, E030, W010) are in
:mod:`django_flagship.authoring.checks`.
"""

from .configuration import check_settings
from .deploy import check_async_deploy, check_deploy
from .middleware import MIDDLEWARE_PATH, check_middleware, is_middleware
from .templates import REQUEST_PROCESSOR, check_templates

__all__ = [
    "MIDDLEWARE_PATH",
    "REQUEST_PROCESSOR",
    "check_async_deploy",
    "check_deploy",
    "check_middleware",
    "check_settings",
    "check_templates",
    "is_middleware",
]
