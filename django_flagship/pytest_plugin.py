"""pytest plugin (entry point ``pytest11``): the ``flagship_flags`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing import FlagOverride

__all__ = ["flagship_flags"]


@pytest.fixture
def flagship_flags() -> Iterator[FlagOverride]:
    """An active ``override_flags({})``: set flags with ``flagship_flags["key"] = value``."""
    from .testing import override_flags

    with override_flags({}) as override:
        yield override
