"""A visitor: an id, a context, and the modifications decided for them."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .constants import RESERVED_CONTEXT_KEYS, SDK_CLIENT, SDK_VERSION
from .context import ContextError, SharedContext, context_value, normalize_context_update
from .decision_api import DecisionError, DecisionResult
from .hits import Consent, Hit, HitType, InvalidHitError, segment_values
from .memo import context_key
from .model import Assignment, FlagInfo, merge_flags
from .tracking import HitRecord, TrackedHit

if TYPE_CHECKING:
    from .app import Flagship

__all__ = ["Visitor", "typed_value"]

_MISSING = object()
_SEGMENT = HitType.SEGMENT.value
#: A SEGMENT hit's fields besides ``s`` (shared: a record's payload is never changed).
_SEGMENT_FIELDS = types.MappingProxyType({"t": _SEGMENT, "ds": "APP"})


def _digest(values: Mapping[str, str]) -> str:
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


#: SEGMENT digests of recent contexts, by :func:`~.memo.context_key`: most
#: requests come from visitors whose context did not change.
_context_digests: dict[tuple[Any, ...], str] = {}
_CONTEXT_DIGESTS_SIZE = 4096


def _context_digest(context: Mapping[str, Any], key: tuple[Any, ...] | None) -> str:
    """``_digest(segment_values(context))``, remembered for recent contexts by ``key``."""
    digest = _context_digests.get(key) if key is not None else None
    if digest is None:
        digest = _digest(segment_values(context))
        if key is not None:
            if len(_context_digests) >= _CONTEXT_DIGESTS_SIZE:
                _context_digests.clear()
            _context_digests[key] = digest
    return digest


#: Values valid by their type alone, the common case, checked inline; any
#: other (a float must be finite, a list becomes a tuple) goes through
#: :func:`~.context.context_value`.
_PLAIN_CONTEXT_TYPES = frozenset({str, bool, int})
#: The empty tuple, an anonymous visitor's ``groups`` in the Django layer's
#: context: valid as it is. Compared by identity (CPython has one empty tuple);
#: any other empty sequence takes the general check.
_NO_GROUPS = ()


def typed_value(value: Any, default: Any) -> tuple[Any, bool]:
    """``(value, True)`` when ``value`` has the type of ``default``, else ``(default, False)``.

    A bool default accepts only bools and an int default never accepts a bool;
    JSON has one number type, so an int default takes an integral float and a
    float default takes an int (as a float). A ``None`` default accepts anything.
    """
    if value.__class__ is default.__class__:
        return value, True
    if value is None:
        return default, default is None
    if default is None:
        return value, True
    if isinstance(default, bool):
        return (value, True) if isinstance(value, bool) else (default, False)
    if isinstance(value, bool):
        return default, False
    if isinstance(default, int):
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer():
            return int(value), True
        return default, False
    if isinstance(default, float):
        return (float(value), True) if isinstance(value, (int, float)) else (default, False)
    if isinstance(value, type(default)):
        return value, True
    return default, False


class Visitor:
    """The seed's visitor object; build it with ``Flagship.create_visitor``.

    It is meant for one thread at a time (one request, one task); the client
    it comes from is shared and thread-safe.
    """

    # The state of a visitor not synchronized yet, in the class: creating a
    # visitor (once a request) sets only what differs. Each is set on the
    # instance when it changes; none is changed in place.
    _full_context: dict[str, Any] | None = None
    _full_context_key: Any = _MISSING
    # Shared with the memory of decisions: never changed in place.
    _flags: Mapping[str, FlagInfo] = types.MappingProxyType({})
    panic = False
    synchronized = False
    #: Whether the last synchronization added to ``assignment_history``.
    history_changed = False
    #: A digest of ``assignment_history`` as stored (:func:`.history.history_digest`),
    #: set by :func:`.history.load`; ``None`` when unknown or changed since.
    history_digest: str | None = None
    last_error: str | None = None
    # The decision context of the last SEGMENT sent (its ``s`` is written
    # from it off the request path) and its digest; the digest alone when it
    # came from a stored history (see ``segment_digest``).
    _segment_context: Mapping[str, Any] | None = None
    _segment_digest: str | None = None
    # The variations activated: a set of the instance's own from the first.
    _activated: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
    # One lock for every visitor's changes of state: each holds it for a few
    # microseconds, and a visitor made per request costs no lock of its own.
    # Reentrant, as each visitor's own was: a log handler called while it is
    # held may use a visitor.
    _lock = threading.RLock()

    def __init__(
        self,
        client: Flagship,
        visitor_id: str,
        context: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        consent: bool = True,
        assignment_history: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(visitor_id, str) or not visitor_id:
            raise ValueError("visitor_id must be a non-empty string")
        self._client = client
        self.visitor_id = visitor_id
        self.anonymous_id = anonymous_id
        self.consent = bool(consent)
        # A SharedContext is adopted as it is, and copied before a change.
        self._context: dict[str, Any] | SharedContext = {}
        self.assignments: list[Assignment] = []
        #: ``{variationGroupId: variationId}``: a stored assignment beats the hash,
        #: so a changed allocation does not move a visitor (protocol 7.4).
        self.assignment_history: dict[str, str] = (
            dict(assignment_history) if assignment_history else {}
        )
        if context.__class__ is SharedContext:
            shared: SharedContext = context
            self._context = shared
            self._full_context, self._full_context_key = shared.decision, shared.key
        elif context:
            self.update_context(context)

    def __repr__(self) -> str:
        return f"<Visitor {self.visitor_id!r} context_keys={sorted(self._context)}>"

    # -- context -----------------------------------------------------------

    @property
    def context(self) -> dict[str, Any]:
        """A copy of the context the project set (without the SDK's own keys)."""
        return dict(self._context)

    @property
    def decision_context(self) -> dict[str, Any]:
        """The context sent to or evaluated by the decision engine."""
        return dict(self._decision_context())

    def _decision_context(self) -> dict[str, Any]:
        # Built once per context change; never handed out (see decision_context).
        full = self._full_context
        if full is None:
            full = {**self._context, "fs_client": SDK_CLIENT, "fs_version": SDK_VERSION}
            self._full_context = full
            self._full_context_key = _MISSING
        return full

    def _context_key(self) -> tuple[Any, ...] | None:
        """``context_key`` of the decision context, computed when first asked for."""
        key = self._full_context_key
        if key is _MISSING:
            key = self._full_context_key = context_key(self._decision_context())
        return key

    def update_context(self, context: Any, synchronize: bool = False) -> None:
        """Set values from a ``(key, value)`` tuple or a dict.

        Values are strings, numbers, bools, or lists of those (kept as
        tuples; see :mod:`.context`). A refused pair is logged with its key
        and changes nothing; the valid pairs of the same call are applied.
        """
        if context.__class__ is dict:  # the common case, without a list of pairs
            pairs: Any = context.items()
        else:
            try:
                pairs = normalize_context_update(context)
            except ContextError as exc:
                self._client.log(logging.ERROR, str(exc))
                return
        own = self._context
        if isinstance(own, SharedContext):
            own = self._context = dict(own)
        self._full_context, self._full_context_key = None, _MISSING
        for key, value in pairs:
            if not (
                (value.__class__ in _PLAIN_CONTEXT_TYPES or value is _NO_GROUPS)
                and key.__class__ is str
                and key
                and key not in RESERVED_CONTEXT_KEYS
            ):
                try:
                    value = context_value(key, value)
                except ContextError as exc:
                    self._client.log(logging.ERROR, str(exc))
                    continue
            own[key] = value
        if synchronize:
            self.synchronize_modifications()

    # -- decisions -----------------------------------------------------------

    def synchronize_modifications(self) -> bool:
        """Decide this visitor's campaigns now; ``False`` when the decision failed.

        On failure the previous modifications are kept (none on a first call),
        so reads serve the defaults; the error goes to the event handler.
        """
        client = self._client
        self.history_changed = False
        try:
            manager = client.decision_manager
            assert manager is not None  # only a started client creates visitors
            result = manager.decide(
                self.visitor_id,
                self._decision_context(),
                anonymous_id=self.anonymous_id,
                consent=self.consent,
                assignments=self.assignment_history,
                on_error=lambda message: client.log(logging.WARNING, message),
                context_key=self._context_key,
                history_digest=self.history_digest,
            )
        except Exception as exc:
            return self._failed(exc)
        return self._decided(result)

    async def synchronize_modifications_async(self) -> bool:
        """:meth:`synchronize_modifications` for async code.

        In DECISION_API mode the call is awaited on the running event loop
        (with aiohttp, the ``async`` extra), so that many visitors can wait for
        Flagship at once.
        """
        client = self._client
        self.history_changed = False
        try:
            manager = client.decision_manager
            assert manager is not None  # only a started client creates visitors
            result = await manager.adecide(
                self.visitor_id,
                self._decision_context(),
                anonymous_id=self.anonymous_id,
                consent=self.consent,
                assignments=self.assignment_history,
                on_error=lambda message: client.log(logging.WARNING, message),
                context_key=self._context_key,
                history_digest=self.history_digest,
            )
        except Exception as exc:
            return self._failed(exc)
        return self._decided(result)

    def _failed(self, exc: Exception) -> bool:
        client = self._client
        if isinstance(exc, DecisionError):
            self.last_error = str(exc)
            client.log(logging.ERROR, f"synchronize_modifications failed: {exc}")
        else:  # a decision must never raise into the caller
            self.last_error = f"{type(exc).__name__}: {exc}"
            client.report_exception(exc)
        return False

    def _decided(self, result: DecisionResult) -> bool:
        client = self._client
        with self._lock:
            self.last_error = None
            self.synchronized = True
            self.panic = result.panic
            if result.panic:
                client.log(logging.WARNING, "Flagship is in panic mode: defaults are served")
                self.assignments = []
                self._flags = {}
                return True
            self.assignments = result.assignments
            flags, variations = result.flags, result.variations
            self._flags = merge_flags(result.assignments) if flags is None else flags
            if variations is None:
                variations = {a.variation_group_id: a.variation_id for a in result.assignments}
            history = self.assignment_history
            if not result.history_holds and not history.items() >= variations.items():
                self.history_changed = True
                self.history_digest = None
                history.update(variations)
        if client.sends_segments:
            self._send_segment()
        return True

    @property
    def segment_digest(self) -> str | None:
        """A stable digest of the last context sent as a SEGMENT hit, or ``None``.

        Kept with the assignment history, so that a visitor whose context did not
        change sends no new SEGMENT on the next request or in another process.
        Computed only when asked for (the Django layer asks when it stores the
        history): a visitor of the SDK alone never pays for it.
        """
        sent = self._segment_context
        if self._segment_digest is None and sent is not None:
            # The current context's key is at hand; an older one's is not.
            key = self._context_key() if sent is self._full_context else None
            self._segment_digest = _context_digest(sent, key)
        return self._segment_digest

    @segment_digest.setter
    def segment_digest(self, value: str | None) -> None:
        self._segment_digest = value
        self._segment_context = None

    def _send_segment(self) -> None:
        # The context was validated key by key when it was set, so the hit is
        # written from it directly instead of being checked again.
        context = self._decision_context()
        sent = self._segment_context
        if sent is context:  # replaced, never changed in place: not changed since
            return
        digest = None
        if sent is None:
            if self._segment_digest is not None:
                # A returning visitor: the digest kept with the history says
                # whether the context changed since the last SEGMENT.
                digest = _context_digest(context, self._context_key())
                if digest == self._segment_digest:
                    return
        elif segment_values(context) == segment_values(sent):
            # Another context that writes the same SEGMENT (1 and 1.0, say).
            self._segment_context = context
            return
        self._segment_context, self._segment_digest = context, digest
        if self._may_send():
            # Recorded, not built: the tracker writes the fields and draws the
            # id off the request path (nothing at all when it discards).
            self._client.record_hit(
                HitRecord(
                    _SEGMENT_FIELDS,
                    self.visitor_id,
                    self.anonymous_id,
                    time.time(),
                    segment=context,
                )
            )

    @property
    def flags(self) -> dict[str, FlagInfo]:
        """Every flag the visitor got, with the assignment that supplied it."""
        return dict(self._flags)

    def get_flag(self, key: str) -> FlagInfo | None:
        return None if self.panic else self._flags.get(key)

    def get_modification(self, key: str, default_value: Any, activate: bool = False) -> Any:
        """The flag's value when it exists and has the default's type, else the default."""
        try:
            flag = self.get_flag(key)
            if flag is None:
                return default_value
            value, matched = typed_value(flag.value, default_value)
            if not matched and flag.value is not None:
                self._client.log(
                    logging.WARNING,
                    f"flag {key!r} is a {type(flag.value).__name__}, not a "
                    f"{type(default_value).__name__} like its default: default served, "
                    "not activated",
                )
                return value
            if activate:
                self.activate_flag(flag)
            return value
        except Exception as exc:
            self._client.report_exception(exc)
            return default_value

    def get_modification_info(self, key: str) -> dict[str, Any] | None:
        """``{'campaignId', 'variationGroupId', 'variationId', ...}`` or ``None``."""
        flag = self.get_flag(key)
        return None if flag is None else flag.assignment.info()

    def activate_modification(self, key: str) -> bool:
        """Tell Flagship the visitor saw the variation behind ``key``."""
        flag = self.get_flag(key)
        if flag is None:
            self._client.log(logging.INFO, f"activate_modification: no flag {key!r}")
            return False
        return self.activate_flag(flag)

    def activate_flag(self, flag: FlagInfo) -> bool:
        """:meth:`activate_modification` for a flag already read with :meth:`get_flag`.

        At most one activation per variation is sent for the life of this visitor.
        """
        assignment = flag.assignment
        marker = assignment.marker
        if marker in self._activated:  # the common case: read again, no lock needed
            return False
        if self.panic or not self.consent:
            return False
        with self._lock:
            activated = self._activated
            if marker in activated:
                return False
            if isinstance(activated, set):
                activated.add(marker)
            else:
                self._activated = {marker}
        self._client.record_activation(
            self.visitor_id,
            assignment.variation_group_id,
            assignment.variation_id,
            self.anonymous_id,
        )
        return True

    @property
    def activated(self) -> frozenset[tuple[str, str]]:
        """``(variationGroupId, variationId)`` pairs activated by this visitor."""
        return frozenset(self._activated)

    # -- identity and consent ------------------------------------------------

    def authenticate(self, visitor_id: str) -> None:
        """The visitor logged in: the current id becomes the anonymous id."""
        if not isinstance(visitor_id, str) or not visitor_id:
            self._client.log(logging.ERROR, "authenticate needs a non-empty string id")
            return
        if self.anonymous_id is None:
            self.anonymous_id = self.visitor_id
        self.visitor_id = visitor_id

    def unauthenticate(self) -> None:
        """The visitor logged out: back to the anonymous id."""
        if self.anonymous_id is None:
            self._client.log(logging.ERROR, "unauthenticate: the visitor is not authenticated")
            return
        self.visitor_id, self.anonymous_id = self.anonymous_id, None

    def set_consent(self, consent: bool) -> None:
        """Record the visitor's consent; without it only the consent hit is sent."""
        self.consent = bool(consent)
        self._track(Consent(self.consent), force=True)

    # -- hits ---------------------------------------------------------------

    def send_hit(self, hit: Hit) -> bool:
        """Validate and queue ``hit``; an invalid hit is reported and never sent."""
        return self._track(hit)

    def _track(self, hit: Hit, *, force: bool = False) -> bool:
        client = self._client
        if not isinstance(hit, Hit):
            client.log(logging.ERROR, f"send_hit needs a hit object, got {type(hit).__name__}")
            return False
        try:
            item = TrackedHit.from_hit(hit, self.visitor_id, self.anonymous_id)
        except InvalidHitError as exc:
            client.log(logging.ERROR, f"{type(hit).__name__} hit refused: {exc}")
            return False
        return self._hand_over(item, force=force)

    def _hand_over(self, item: TrackedHit, *, force: bool = False) -> bool:
        if not self._may_send(force=force):
            return False
        self._client.track_hit(item)
        return True

    def _may_send(self, *, force: bool = False) -> bool:
        """Whether a hit may leave now (not in panic mode, and with consent unless ``force``)."""
        if self.panic:
            self._client.log(logging.INFO, "hit not sent: Flagship is in panic mode")
            return False
        if not self.consent and not force:
            self._client.log(logging.DEBUG, "hit not sent: the visitor has not consented")
            return False
        return True
