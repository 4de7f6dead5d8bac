"""The seam between the accessor and test overrides (django_flagship.overrides)."""

import pytest

from django_flagship import overrides
from django_flagship.flags import Flags
from django_flagship.testing import FlagOverride, OverrideSource, override_flags

pytestmark = pytest.mark.django_db


class _Fixed:
    """An override that is not a FlagOverride: the seam takes any ``source()``."""

    def __init__(self, values):
        self.override = FlagOverride(values)
        self.identities = []

    def source(self, identity):
        self.identities.append(identity)
        return OverrideSource(self.override, identity)


def test_an_installed_override_serves_every_accessor(configured):
    fixed = _Fixed({"btn_color": "green"})
    overrides.install(fixed)
    try:
        assert overrides.current() is fixed
        flags = Flags("v1")
        assert flags.get("btn_color", "blue") == "green"
        assert flags.visitor is None  # no SDK visitor behind an override
        assert [identity.visitor_id for identity in fixed.identities] == ["v1"]
    finally:
        overrides.uninstall(fixed)
    assert overrides.current() is None
    assert Flags("v1").get("btn_color", "blue") == "red"  # the bucket again


def test_the_last_installed_wins_and_uninstall_is_forgiving():
    first, second = _Fixed({"k": 1}), _Fixed({"k": 2})
    overrides.install(first)
    overrides.install(second)
    try:
        assert Flags("v").get("k", 0) == 2
        overrides.uninstall(second)
        overrides.uninstall(second)  # not installed any more: nothing happens
        assert overrides.current() is first
        assert Flags("v").get("k", 0) == 1
    finally:
        overrides.uninstall(first)
    assert overrides.current() is None


def test_override_flags_installs_through_the_seam():
    with override_flags({"k": "a"}) as outer:
        assert overrides.current() is outer
        with override_flags({"j": "b"}) as inner:
            assert overrides.current() is inner
            assert inner.values == {"k": "a", "j": "b"}
        assert overrides.current() is outer
    assert overrides.current() is None
