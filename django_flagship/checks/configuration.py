"""System checks of the ``FLAGSHIP_*`` settings: :func:`check_settings`.

Most settings are checked alone: their parser in
:mod:`django_flagship.settings_table` refuses the value with a message, reported
under the setting's check id with the hint below. The others are checked here
with the settings they go with (the mode with the env id and the key, the
bucket file read and parsed, the served environments, a rate limit against the
batch size, the download deadline against the timeout); the cache has its own
module (:mod:`.caches`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.checks import CheckMessage

from ..authoring.source import is_local
from ..conf import DEFAULTS, conf
from ..limits import bucket_limits
from ..sdk import Mode
from ..sdk.bucket_source import load_bucketing_file
from ..sdk.bucketing import Bucket
from ..served_conf import server_settings
from ..settings_table import SETTINGS, Setting, setting
from .caches import check_cache
from .messages import error, text, warning

__all__ = ["check_settings"]

_BUCKET_LIMITS = (
    "The largest bucketing file accepted, in bytes (default 16 MiB, far above a "
    "real file); raise it only for an account that truly outgrows it."
)
_BUCKET_COUNTS = (
    "How much a bucketing file may hold, counted over the whole file: parsing "
    "compiles every variation group and targeting, in every process. The defaults "
    "(5,000 campaigns, 20,000 variation groups, 50,000 variations and targetings) are "
    "far above a real account's file."
)
_ASYNC = (
    "They bound each event loop's calls to the Decision API in async code: "
    "FLAGSHIP_ASYNC_MAX_CONNECTIONS calls (and connections) at once, an int >= 1 "
    f"(default {DEFAULTS['FLAGSHIP_ASYNC_MAX_CONNECTIONS']}); an idle connection "
    "stays open FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY seconds, a number > 0 (default "
    f"{DEFAULTS['FLAGSHIP_ASYNC_KEEPALIVE_EXPIRY']})."
)

#: The hint of a malformed value, by check id (or by setting, where they differ),
#: formatted with the setting's ``name`` and ``default``.
HINTS = {
    "E001": "Set {name} to a string, for example from the environment with "
    "django-environ: env.str({name!r}, default='').",
    "E006": "Every Flagship time setting is in float seconds: the default is {default!r}.",
    "E007": "Give the dotted path of a module-level callable, "
    "e.g. 'myproject.flags.visitor_context'.",
    "E008": "Remove the setting to use Flagship's endpoint ({default}).",
    "E010": "When reading it from the environment, use env.bool(...).",
    "E011": "The default, ('Cookie',), fits visitor ids kept in the session or a cookie.",
    "E013": "The default is {default!r}; read it with env.int(...).",
    "E014": "Use 'auto', 'collector', 'log', 'memory', or the dotted path of "
    "f(config) returning a tracker.",
    "E015": "None keeps unsent hits under the system temp directory; give a "
    "persistent directory in production, or False to turn the spool off.",
    "FLAGSHIP_BROWSER_RATE_LIMIT": "Give (count, seconds), for example (60, 60.0): at most "
    "count events per visitor in each window of seconds; None removes the limit.",
    "FLAGSHIP_BROWSER_ADDRESS_RATE_LIMIT": "Give (count, seconds), for example (600, 60.0): "
    "at most count events per client address in each window of seconds; None removes "
    "the limit.",
    "FLAGSHIP_BROWSER_MAX_BODY": "Give the largest event body in bytes; the default is "
    "{default!r}. Read it with env.int(...).",
    "E017": "404 (the default) answers as if the endpoint did not exist; 403 says the "
    "feature is not available. Give the int, not a string.",
    "E018": "It is how many recent bucketing decisions each process remembers "
    "(default {default}); 0 turns that off.",
    "E019": _BUCKET_LIMITS,
    "E020": _BUCKET_COUNTS,
    "E021": "Seconds a whole download of the bucketing file may take (default 30.0); "
    "FLAGSHIP_TIMEOUT bounds each wait within it.",
    "E022": "Give the header your reverse proxy writes the client's address into, "
    "e.g. 'X-Forwarded-For', or ('X-Forwarded-For', 2) behind two proxies; "
    "None counts REMOTE_ADDR.",
    "E023": "Give (requests, activations, seconds), for example (600, 6000, 60.0): per "
    "client address in each window of seconds; None removes the limit.",
    "E024": "It is the most activations one v2/activate batch may hold; the default, "
    "{default}, is the most this app's SDK sends. Read it with env.int(...).",
    "E031": _ASYNC,
}


def _check_setting(entry: Setting) -> list[CheckMessage]:
    """The setting's own rule: its parser's message under its check id, with the hint."""
    try:
        entry.parsed(conf.raw(entry.name))
    except ValueError as exc:
        hint = HINTS.get(entry.name) or HINTS[entry.check_id]
        # str.format would read the braces of {% flag %} or {env_id}: only ours are replaced.
        hint = hint.replace("{name!r}", repr(entry.name)).replace("{name}", entry.name)
        hint = hint.replace("{default!r}", repr(entry.default))
        hint = hint.replace("{default}", str(entry.default))
        return [error(int(entry.check_id[1:]), f"{exc}.", hint)]
    return []


def _check_family(*check_ids: str) -> Callable[[], list[CheckMessage]]:
    """Every setting of these check ids, in the table's order."""

    def check() -> list[CheckMessage]:
        found: list[CheckMessage] = []
        for check_id in check_ids:
            for entry in _entries(check_id):
                found += _check_setting(entry)
        return found

    return check


def _entries(check_id: str) -> Iterable[Setting]:
    return (entry for entry in SETTINGS if entry.check_id == check_id)


def check_settings(**kwargs: object) -> list[CheckMessage]:
    """Every problem in the ``FLAGSHIP_*`` settings, each with a hint."""
    errors: list[CheckMessage] = []
    for check in (
        _check_family("E001"),
        _check_mode,
        check_cache,
        _check_bucket_file,
        _check_family("E006", "E007", "E008", "E010", "E011"),
        _check_decision_api,
        _check_activation_limits,
        _check_family("E022", "E013", "E014", "E015", "E016", "E017", "E018"),
        _check_bucket_limits,
        _check_family("E031"),
    ):
        errors += check()
    return errors


def _check_mode() -> list[CheckMessage]:
    try:
        mode = conf.parsed("FLAGSHIP_MODE")
    except ValueError:
        return [
            error(
                2,
                f"FLAGSHIP_MODE is {conf.mode!r}, which is not a Flagship mode.",
                "Use 'BUCKETING' (decisions made here from the bucketing file) or "
                "'DECISION_API' (one call to Flagship per request).",
            )
        ]
    env_id, api_key = text("FLAGSHIP_ENV_ID"), text("FLAGSHIP_API_KEY")
    if mode is Mode.DECISION_API:
        if env_id and api_key:
            return []
        if env_id or api_key or conf.bucket_file:
            missing = "FLAGSHIP_API_KEY" if env_id else "FLAGSHIP_ENV_ID"
            return [
                error(
                    3,
                    f"FLAGSHIP_MODE is DECISION_API but {missing} is not set.",
                    f"Set {missing} (Flagship > Settings > Environment), or use "
                    "FLAGSHIP_MODE = 'BUCKETING', which needs only the environment id "
                    "or a bucket file.",
                )
            ]
    elif env_id or conf.bucket_file or is_local():
        return []
    return [
        warning(
            1,
            "Flagship is not configured: every flag serves its default.",
            "Set FLAGSHIP_ENV_ID (hits then go to Flagship too), or point "
            "FLAGSHIP_BUCKET_FILE at a bucketing file to run offline.",
        )
    ]


def _check_bucket_file() -> list[CheckMessage]:
    path = conf.bucket_file
    if not path:
        return []
    problems: list[str] = []
    try:
        data = load_bucketing_file(str(path), bucket_limits())
        Bucket.parse(data, on_error=problems.append)
    except Exception as exc:  # whatever it is, a check reports it rather than crash
        detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        return [
            error(
                5,
                f"FLAGSHIP_BUCKET_FILE cannot be used: {detail}",
                "Point it at a bucketing file downloaded from "
                "https://cdn.flagship.io/<env_id>/bucketing.json, and check it with "
                "'manage.py flagship_refresh_bucket --file PATH'.",
            )
        ]
    if problems:
        return [
            error(
                5,
                f"FLAGSHIP_BUCKET_FILE has {len(problems)} unusable campaign(s): {problems[0]}",
                "Those campaigns are skipped; fix or remove them in the file.",
            )
        ]
    return []


def _check_decision_api() -> list[CheckMessage]:
    try:
        served = server_settings()
    except (TypeError, ValueError) as exc:
        return [
            error(
                12,
                f"{exc}.",
                "FLAGSHIP_DECISION_API_ENVIRONMENTS maps env ids to lists of API keys "
                "(or None to serve one without a key), "
                "FLAGSHIP_DECISION_API_MAX_BODY is a number of bytes and "
                "FLAGSHIP_DECISION_API_GROUP_TTL a number of seconds (or None).",
            )
        ]
    return [
        warning(
            8,
            f"FLAGSHIP_DECISION_API_ENVIRONMENTS serves {env_id!r} without an API key.",
            "Anyone who can reach the Decision API URLs can then ask for the decisions of "
            "any visitor id with any context in that environment: by trying contexts they "
            "can read every campaign, variation and flag value of the bucket, with their "
            "names and targeting values, and each request sends its context (SEGMENT) and "
            "activations to Flagship under that environment, into its reports. Serve "
            "publicly only what is meant for browsers and apps; otherwise give the "
            "environment a list of keys. Once this is what you want, add "
            "'django_flagship.W008' to SILENCED_SYSTEM_CHECKS.",
        )
        for env_id, keys in served.environments.items()
        if keys is None
    ]


def _check_activation_limits() -> list[CheckMessage]:
    """E024 and E023, then a rate limit that refuses every full batch (E023)."""
    errors: list[CheckMessage] = []
    for name in ("FLAGSHIP_DECISION_API_MAX_BATCH", "FLAGSHIP_DECISION_API_RATE_LIMIT"):
        errors += _check_setting(setting(name))
    if errors:
        return errors
    batch = conf.parsed("FLAGSHIP_DECISION_API_MAX_BATCH")
    rate = conf.parsed("FLAGSHIP_DECISION_API_RATE_LIMIT")
    if rate is not None and rate[1] < batch:
        errors.append(
            error(
                23,
                f"FLAGSHIP_DECISION_API_RATE_LIMIT allows {rate[1]} activations per window, "
                f"fewer than one full batch (FLAGSHIP_DECISION_API_MAX_BATCH = {batch}).",
                "A full batch would always be refused: raise the activations of the rate "
                "limit or lower the batch size.",
            )
        )
    return errors


def _check_bucket_limits() -> list[CheckMessage]:
    """E019, E020 and E021; then a deadline shorter than the timeout (W005)."""
    errors = _check_family("E019", "E020", "E021")()
    if errors:
        return errors
    deadline, timeout = conf.raw("FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE"), conf.raw("FLAGSHIP_TIMEOUT")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and deadline < timeout:
        errors.append(
            warning(
                5,
                f"FLAGSHIP_BUCKET_DOWNLOAD_DEADLINE ({deadline:g} s) is shorter than "
                f"FLAGSHIP_TIMEOUT ({timeout:g} s).",
                "A download is then given up before the CDN had the time allowed to any "
                "Flagship call; give the whole download at least FLAGSHIP_TIMEOUT.",
            )
        )
    return errors
