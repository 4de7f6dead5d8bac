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
import unittest
from collections.abc import Iterator, Mapping
from typing import Any

from django.test.utils import TestContextDecorator

from .flags import _overrides, _overrides_lock
from .sdk.hits import Hit

__all__ = ["FlagOverride", "override_flags"]


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
        with _overrides_lock:
            _overrides.append(self)
        return self

    def stop(self) -> None:
        with _overrides_lock:
            if self in _overrides:
                _overrides.remove(self)


class override_flags(TestContextDecorator):
    """Serve ``values`` as the flags of every visitor while active."""

    def __init__(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        self.values = {**(values or {}), **kwargs}
        self.override: FlagOverride | None = None
        super().__init__(attr_name=None, kwarg_name=None)

    def enable(self) -> FlagOverride:
        # Nested overrides add to the enclosing one.
        outer = _overrides[-1].values if _overrides else {}
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
