"""Flagship (AB Tasty) feature flags and A/B tests for Django."""

from __future__ import annotations

from typing import Any

from .sdk.version import __version__

__all__ = ["__version__", "flags_for"]


def __getattr__(name: str) -> Any:
    # Imported on first use: importing the package (as the SDK core does) must
    # not need Django settings nor import Django's models.
    if name == "flags_for":
        from .shortcuts import flags_for

        return flags_for
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
