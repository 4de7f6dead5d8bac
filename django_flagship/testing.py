"""Helpers for testing code that reads flags: no network, no bucket.

``override_flags`` works as a context manager, a function decorator (sync or
async) and a class decorator::

    from django_flagship.testing import override_flags

    @override_flags({"vip_feature": True})
    def test_vip_page(client):
        assert "Welcome, VIP" in client.get("/").text

    with override_flags({"btn_color": "red"}) as flags:
        client.get("/checkout/")
    assert flags.activations == ["btn_color"]

While it is active, every ``request.flags`` (and every template tag) sees
exactly these flags; any other flag serves its default. The typing rules still
apply, so ``{"vip_feature": 1}`` read with a ``False`` default gives ``False``.
Activations and hits are recorded on the override instead of being sent.

For pytest, the ``flagship_flags`` fixture (registered by the package's pytest
plugin) yields an active, empty override to fill in::

    def test_banner(client, flagship_flags):
        flagship_flags["banner"] = "summer"
"""

from __future__ import annotations

import inspect
import logging
import unittest
from collections.abc import Iterator, Mapping
from typing import Any

from django.test.utils import TestContextDecorator

from . import overrides
from .identity import Identity
from .sdk.hits import Hit, InvalidHitError
from .sdk.model import Assignment, FlagInfo

__all__ = ["FlagOverride", "OverrideSource", "override_flags"]

logger = logging.getLogger("django_flagship")


class FlagOverride:
    """The flags in force and what the code under test did with them."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        #: Keys activated, in order (once per request, as in production).
        self.activations: list[str] = []
        #: Hits the code sent, validated.
        self.hits: list[Hit] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __delitem__(self, key: str) -> None:
        del self.values[key]

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def update(self, values: Mapping[str, Any]) -> None:
        self.values.update(values)

    def __repr__(self) -> str:
        return f"<FlagOverride {self.values!r}>"

    # -- activation ---------------------------------------------------------------

    def start(self) -> FlagOverride:
        overrides.install(self)
        return self

    def stop(self) -> None:
        overrides.uninstall(self)

    def source(self, identity: Identity) -> OverrideSource:
        """What a visitor's accessor reads while this override is in force."""
        return OverrideSource(self, identity)


class OverrideSource:
    """Serves an override's values to one visitor; records activations and hits."""

    def __init__(self, override: FlagOverride, identity: Identity) -> None:
        self._override = override
        self.visitor_id = identity.visitor_id
        self.anonymous_id = identity.anonymous_id
        self._activated: set[tuple[str, str]] = set()

    def get_flag(self, key: str) -> FlagInfo | None:
        values = self._override.values
        if key not in values:
            return None
        assignment = Assignment(
            campaign_id="override",
            variation_group_id=f"override:{key}",
            variation_id=f"override:{key}",
            flags={key: values[key]},
        )
        return FlagInfo(key, values[key], assignment)

    @property
    def flags(self) -> dict[str, FlagInfo]:
        return {key: flag for key in self._override.values if (flag := self.get_flag(key))}

    @property
    def activated(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._activated)

    def activate_modification(self, key: str) -> bool:
        flag = self.get_flag(key)
        return False if flag is None else self.activate_flag(flag)

    def activate_flag(self, flag: FlagInfo) -> bool:
        key = flag.key
        marker = flag.assignment.marker
        if marker in self._activated:
            return False
        self._activated.add(marker)
        self._override.activations.append(key)
        return True

    def get_modification_info(self, key: str) -> dict[str, Any] | None:
        flag = self.get_flag(key)
        return None if flag is None else flag.assignment.info()

    def send_hit(self, hit: Hit) -> bool:
        try:
            hit.validate()
        except InvalidHitError as exc:
            logger.error("%s hit refused: %s", type(hit).__name__, exc)
            return False
        self._override.hits.append(hit)
        return True


class override_flags(TestContextDecorator):
    """Serve ``values`` as the flags of every visitor while active."""

    def __init__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.values = {**(values or {}), **kwargs}
        self.override: FlagOverride | None = None
        super().__init__(attr_name=None, kwarg_name=None)

    def enable(self) -> FlagOverride:
        # Nested overrides add to the enclosing one.
        current = overrides.current()
        outer = current.values if isinstance(current, FlagOverride) else {}
        self.override = FlagOverride({**outer, **self.values}).start()
        return self.override

    def disable(self) -> None:
        if self.override is not None:
            self.override.stop()
            self.override = None

    # What Django's __enter__ does; the stubs give it override_settings' type.
    def __enter__(self) -> FlagOverride:  # type: ignore[override]
        return self.enable()

    def decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            # Django takes any unittest.TestCase here; the stubs ask for SimpleTestCase.
            return super().decorate_class(cls)  # type: ignore[arg-type]
        # A plain (pytest) test class: wrap each of its test methods.
        for name, attribute in list(vars(cls).items()):
            if name.startswith("test") and inspect.isfunction(attribute):
                setattr(cls, name, type(self)(self.values)(attribute))
        return cls
