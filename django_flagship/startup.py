"""The one line logged when the client is built: what is configured, what is in effect.

The two differ when settings are missing or malformed: the app then still
starts, serving every flag's default, or runs offline from the bucket file
under a placeholder environment. The line names the settings as given (the
API key only as set or unset), what the app does instead, and why, so that a
log never shows a value nobody configured as if it were the configuration.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from .conf import conf
from .sdk import Config, Mode

__all__ = ["log_setup"]

logger = logging.getLogger("django_flagship")

_MAX_SHOWN = 80


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _shown(name: str) -> str:
    """``NAME='value'`` (or ``(default)``/``unset``), bounded; never a secret."""
    value = conf.raw(name)
    if value is None or value == "":
        return f"{name} unset"
    default = "" if hasattr(settings, name) else " (default)"
    return f"{name}={_short(value)}{default}"


def configured() -> str:
    """The settings that decide the mode, as given."""
    key = "set" if conf.raw("FLAGSHIP_API_KEY") else "unset"
    return ", ".join(
        [
            _shown("FLAGSHIP_MODE"),
            _shown("FLAGSHIP_ENV_ID"),
            f"FLAGSHIP_API_KEY {key}",
            _shown("FLAGSHIP_BUCKET_FILE"),
        ]
    )


def _wants_decision_api() -> bool:
    try:
        return conf.parsed("FLAGSHIP_MODE") is Mode.DECISION_API
    except ValueError:
        return False


def in_effect(config: Config, *, placeholder_env: str) -> str:
    """What a configured client does."""
    if config.mode is Mode.DECISION_API:
        return f"DECISION_API for environment {_short(config.env_id)}"
    if config.env_id == placeholder_env:
        return (
            f"BUCKETING offline from the bucket file, as environment {placeholder_env!r} "
            "(a placeholder: FLAGSHIP_ENV_ID is unset)"
        )
    every = f"every {config.polling_interval:g} s" if config.polling_interval > 0 else "once"
    seeded = ", seeded from the bucket file" if config.bucket_file else ""
    return (
        f"BUCKETING for environment {_short(config.env_id)}, the bucket downloaded {every}{seeded}"
    )


def log_setup(config: Config | None, *, placeholder_env: str, problem: str | None = None) -> None:
    """Log the line: INFO when configured, WARNING when not, ERROR when misconfigured."""
    given = configured()
    if config is not None:
        logger.info(
            "Flagship: configured %s; in effect: %s",
            given,
            in_effect(config, placeholder_env=placeholder_env),
        )
        return
    # Nothing to send hits for either: say where they go (INFO is not shown by default).
    off = "every flag serves its default and hits go to the 'django_flagship.hits' log, not sent"
    if problem is not None:
        logger.error(
            "Flagship is misconfigured: configured %s; in effect: %s, because %s",
            given,
            off,
            problem,
        )
        return
    if _wants_decision_api():
        why = "DECISION_API mode needs FLAGSHIP_ENV_ID and FLAGSHIP_API_KEY"
    else:
        why = "neither FLAGSHIP_ENV_ID nor FLAGSHIP_BUCKET_FILE is set"
    logger.warning(
        "Flagship is not configured: configured %s; in effect: %s, because %s", given, off, why
    )
