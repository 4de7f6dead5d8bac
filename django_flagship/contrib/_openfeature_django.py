"""The OpenFeature provider on the Django app's client; built by ``django_provider()``.

Kept apart so that the SDK-core provider never imports the Django layer.
"""

from __future__ import annotations

from typing import Any

from .. import overrides
from ..client import get_bucket, get_client, runtime
from ..flags import Flags
from ..sdk import Flagship, Mode
from ..sdk.bucketing import Bucket
from ..sdk.hits import Hit
from ..sdk.model import FlagInfo
from .openfeature import Decision, FlagshipProvider

__all__ = ["DjangoFlagshipProvider"]


class _FlagsSource:
    """A :class:`Flags` accessor seen as the provider's flag source."""

    __slots__ = ("flags", "panic")

    def __init__(self, flags: Flags, *, panic: bool = False) -> None:
        self.flags = flags
        self.panic = panic

    def get_flag(self, key: str) -> FlagInfo | None:
        return self.flags.flag(key)

    def activate_modification(self, key: str) -> bool:
        return self.flags.activate(key)

    def send_hit(self, hit: Hit) -> bool:
        return self.flags.send_hit(hit)


class DjangoFlagshipProvider(FlagshipProvider):
    """Decides with :class:`~django_flagship.flags.Flags` on the configured client.

    The client is looked up at each use, so a settings change (which rebuilds
    it) is followed. ``shutdown`` flushes hits and leaves the client running.
    """

    _needs_client = False

    def __init__(self, *, activate: bool | None = None, close_client: bool = False, **options: Any):
        super().__init__(close_client=close_client, **options)
        #: ``None``: follow ``FLAGSHIP_AUTO_ACTIVATE``.
        self.activate = activate  # type: ignore[assignment]

    @property
    def client(self) -> Flagship:
        return get_client()

    def _start_client(self) -> Flagship:
        return get_client()

    def current_bucket(self) -> Bucket | None:
        return get_bucket()

    def activates(self) -> bool:
        if self.activate is None:
            return runtime().auto_activate
        return bool(self.activate)

    def _ready(self) -> bool:
        # Under override_flags the overridden values are ready, bucket or not.
        return overrides.current() is not None or get_client().ready

    def decides_without_io(self) -> bool:
        return False  # the assignment history lives in the Django cache

    def decides_on_the_loop(self) -> bool:
        rt = runtime()
        return rt.configured and rt.mode is Mode.DECISION_API

    def decide(self, targeting_key: str, context: dict[str, Any]) -> Decision:
        return self._flags_decision(Flags(targeting_key, context))

    async def adecide(self, targeting_key: str, context: dict[str, Any]) -> Decision:
        flags = Flags(targeting_key, context)
        await flags.aload()
        return self._flags_decision(flags)

    def _flags_decision(self, flags: Flags) -> Decision:
        visitor = flags.visitor  # synchronizes, unless aload() did; None under override_flags
        if visitor is not None and not visitor.synchronized:
            return Decision(None, error=visitor.last_error or "the decision failed")
        if visitor is None and overrides.current() is None:
            return Decision(None, error="the visitor could not be prepared")
        return Decision(_FlagsSource(flags, panic=visitor is not None and visitor.panic))

    def hit_source(self, targeting_key: str, context: dict[str, Any]) -> _FlagsSource:
        return _FlagsSource(Flags(targeting_key, context))

    def _caching(self) -> bool:
        # override_flags must win at once, over decisions cached before it.
        return overrides.current() is None and super()._caching()
