"""A directory of hits and activations that could not be delivered yet.

When the collector is down for longer than the retries last, or the process
exits before its queue is empty, the pending items are written here and sent
by a later process (the next start, or ``manage.py flagship_flush_hits``).
The module is over 500 lines because writing, claiming, acknowledging and
recovering a file follow one locking protocol, which reads best in one place.

Format
------
One JSON file per written batch, named ``<ms>-<pid>-<random>.json``. It is
written to a hidden temporary name in the same directory, flushed to disk and
then moved into place with :func:`os.replace`, so a reader never sees half a
file. The content reuses the hit-cache entry shape of Flagship's SDKs::

    {"format": "django_flagship.spool", "version": 1, "envId": "ENV",
     "writtenAt": 1700000000123,
     "hits": {
       "<id>": {"version": 1, "data": {
          "id": "<id>", "type": "PAGEVIEW", "timestamp": 1700000000000,
          "visitorId": "v1", "anonymousId": null,
          "content": {"t": "PAGEVIEW", "ds": "APP", "dl": "https://..."}}},
       "<id>": {"version": 1, "data": {
          "id": "<id>", "type": "ACTIVATE", "timestamp": 1700000000000,
          "visitorId": "v1", "anonymousId": null,
          "content": {"caid": "vg1", "vaid": "var1"}}}}}

``timestamp`` is the item's creation time in milliseconds since the epoch
(the queue time ``qt`` is computed from it when the item is finally sent),
``visitorId`` the visitor's current id and ``anonymousId`` the id it had
before logging in. Entries keep their order, so the order of each visitor's
hits survives the trip. A hit's ``content`` holds its own fields only: the
visitor ids and ``qt`` are added when it is sent.

Several processes may share one directory. A reader *claims* a file by
renaming it to ``<name>.claimed`` and taking an exclusive ``flock`` on it,
held for as long as it sends; only the lock holder sends. The kernel drops
the lock when its process ends however it ends (``SIGKILL`` included), so a
claim whose owner is gone is taken over at once by the next reader; where
locks are not available (no ``fcntl``, a file system that refuses them) a
claim is taken over once it is ``stale_claim_after`` seconds old, and the
owner renews it as it goes.

Progress is durable: after each request the collector acknowledged, the
owner appends ``<kind> <position>`` to ``<stem>.ack`` beside the file and
flushes it to disk (every entry of that kind, ``a`` activations or ``h``
hits, before that position in the file is settled). A reader that takes a
file over, or picks it up again after an outage, sends only the rest.

A write interrupted by a crash leaves its hidden temporary file behind; it is
written under a lock too, and the next reader moves it into place (or sets it
aside as ``.bad`` when it is not complete). Entries older than
:data:`~django_flagship.sdk.hits.HIT_EXPIRATION_SECONDS` (4 h: Flagship
refuses older hits) are dropped with a log line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import filelock, strict_json
from .filelock import BUSY as _BUSY
from .filelock import LOCKED as _LOCKED
from .filelock import NO_LOCKS as _NO_LOCKS
from .filelock import close_quietly as _close
from .filelock import try_lock as _lock
from .hits import HIT_EXPIRATION_SECONDS, Activation
from .tracking import TrackedHit

__all__ = [
    "SPOOL_FORMAT",
    "SPOOL_VERSION",
    "ClaimedFile",
    "Spool",
    "SpoolReport",
    "SpooledItem",
    "default_spool_dir",
    "make_private_directory",
]

logger = logging.getLogger(__name__)

SPOOL_FORMAT = "django_flagship.spool"
SPOOL_VERSION = 1
_ENTRY_VERSION = 1
_SUFFIX = ".json"
_CLAIMED = ".claimed"
_ACK = ".ack"
_WRITING = ".writing-"
_TMP = ".tmp"
_ACTIVATE = "ACTIVATE"
#: The progress file's kinds: activations and hits are sent separately.
_KINDS = ("a", "h")
#: Bytes of a progress file read at most (its end: it only grows).
_MAX_ACK_BYTES = 65_536
#: An unlocked empty temporary file may be one a writer has just created.
_EMPTY_WRITE_GRACE = 60.0

SpooledItem = TrackedHit | Activation

_spools: weakref.WeakSet[Spool] = weakref.WeakSet()
_fork_hooks = threading.Lock()
_fork_hooks_installed = False


def _install_fork_hooks() -> None:
    # No file is half-written, and no claim is held by a child, across a fork.
    global _fork_hooks_installed
    with _fork_hooks:
        if _fork_hooks_installed or not hasattr(os, "register_at_fork"):
            return
        _fork_hooks_installed = True
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=_after_fork_in_parent,
            after_in_child=_after_fork_in_child,
        )


def _before_fork() -> None:
    for spool in list(_spools):
        spool._lock.acquire()


def _after_fork_in_parent() -> None:
    for spool in list(_spools):
        if spool._lock.locked():
            spool._lock.release()


def _after_fork_in_child() -> None:
    for spool in list(_spools):
        spool.reset_after_fork()


def _original_name(path: Path) -> str:
    name = path.name
    return name[: -len(_CLAIMED)] if name.endswith(_CLAIMED) else name


def _ack_path(path: Path) -> Path:
    name = _original_name(path)
    return path.with_name(name[: -len(_SUFFIX)] + _ACK)


def _kind(item: SpooledItem) -> str:
    return "a" if isinstance(item, Activation) else "h"


def default_spool_dir(env_id: str) -> Path:
    """A per-user, per-environment directory under the system temp directory."""
    user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"django-flagship-{user}" / "spool" / env_id


def make_private_directory(directory: Path) -> None:
    """Create ``directory`` and its missing parents, readable by this user alone.

    Below the shared temporary directory every level must also be this user's
    own, and not a symbolic link: another local user could otherwise read the
    spooled hits or plant files for this process to send. A level of ours that
    others may open is closed (``0o700``); one that is not ours raises
    :class:`PermissionError`.
    """
    missing = []
    path = directory
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):
            level.mkdir(mode=0o700)
    if not hasattr(os, "getuid"):
        return
    shared = Path(os.path.abspath(tempfile.gettempdir()))
    try:
        below = Path(os.path.abspath(directory)).relative_to(shared)
    except ValueError:
        return  # a directory the project chose: its permissions are the project's
    path = shared
    for part in below.parts:
        path = path / part
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise PermissionError(f"{path} is not a directory (a link?): refusing to spool there")
        if info.st_uid != os.getuid():
            raise PermissionError(f"{path} belongs to uid {info.st_uid}: refusing to spool there")
        if info.st_mode & 0o077:
            os.chmod(path, 0o700)


def _entry(item: SpooledItem) -> dict[str, Any]:
    if isinstance(item, Activation):
        kind = _ACTIVATE
        content: dict[str, Any] = {"caid": item.variation_group_id, "vaid": item.variation_id}
    else:
        kind = str(item.hit_type)
        content = dict(item.payload)
    return {
        "version": _ENTRY_VERSION,
        "data": {
            "id": item.id,
            "type": kind,
            "timestamp": round(item.created_at * 1000),
            "visitorId": item.visitor_id,
            "anonymousId": item.anonymous_id,
            "content": content,
        },
    }


def _item(entry: Any) -> SpooledItem:
    """Rebuild an item from one entry; ``ValueError`` when it is malformed."""
    if not isinstance(entry, dict) or entry.get("version") != _ENTRY_VERSION:
        raise ValueError("unknown entry version")
    data = entry.get("data")
    if not isinstance(data, dict):
        raise ValueError("entry without data")
    item_id, kind, stamp = data.get("id"), data.get("type"), data.get("timestamp")
    visitor, anonymous = data.get("visitorId"), data.get("anonymousId")
    content = data.get("content")
    if not isinstance(item_id, str) or not isinstance(kind, str):
        raise ValueError("entry without id or type")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise ValueError("entry without a numeric timestamp")
    if not isinstance(visitor, str) or not visitor:
        raise ValueError("entry without visitorId")
    if anonymous is not None and not isinstance(anonymous, str):
        raise ValueError("anonymousId must be a string or null")
    if not isinstance(content, dict):
        raise ValueError("entry without content")
    created_at = stamp / 1000
    if kind == _ACTIVATE:
        caid, vaid = content.get("caid"), content.get("vaid")
        if not isinstance(caid, str) or not isinstance(vaid, str):
            raise ValueError("activation without caid or vaid")
        return Activation(visitor, caid, vaid, anonymous, created_at=created_at, id=item_id)
    if content.get("t") != kind:
        raise ValueError("hit content does not match its type")
    return TrackedHit(content, visitor, anonymous, created_at=created_at, id=item_id)


@dataclass
class ClaimedFile:
    """A spool file this process owns until :meth:`done` or :meth:`release`.

    ``items`` are the entries still to send, in file order; ``resumed``
    counts those an earlier reader had already settled.
    """

    spool: Spool
    path: Path
    items: list[SpooledItem]
    expired: int = 0
    invalid: int = 0
    resumed: int = 0
    _fd: int | None = field(default=None, repr=False)
    _positions: dict[int, int] = field(default_factory=dict, repr=False)
    _settled: dict[str, int] = field(default_factory=dict, repr=False)

    def settle(self, items: Sequence[SpooledItem]) -> None:
        """Record on disk that ``items``, and every entry of their kinds before them, are settled.

        Call it after each request the collector acknowledged (or refused for
        good), so that a reader taking over after a crash resends nothing of it.
        """
        marks: dict[str, int] = {}
        for item in items:
            position = self._positions.get(id(item))
            if position is None:
                continue
            kind = _kind(item)
            marks[kind] = max(marks.get(kind, 0), position + 1)
        self._record(marks)

    def done(self) -> None:
        """Every item was delivered or dropped: delete the file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            _ack_path(self.path).unlink()
        self._unlock()

    def release(self, unsent: Sequence[SpooledItem]) -> None:
        """Put ``unsent`` back for a later reader and end the claim."""
        self._record(self._marks_before(unsent))
        if self.expired or self.invalid:
            # Rewrite without them, so that no later reader counts them again.
            if unsent and self.spool._write(unsent, order_of=self.path) != len(unsent):
                self._unlock()  # kept: the next reader takes it over with its progress
                return
            self.done()
            return
        if not unsent:
            self.done()
            return
        try:
            os.replace(self.path, self.path.with_name(_original_name(self.path)))
        except OSError as exc:
            logger.warning("Could not give back the spool file %s: %s", self.path.name, exc)
        self._unlock()

    def _marks_before(self, unsent: Sequence[SpooledItem]) -> dict[str, int]:
        # Entries are sent in file order within their kind: everything before a
        # kind's first unsent entry is settled, and all of a kind with none unsent.
        first: dict[str, int] = {}
        for item in unsent:
            position = self._positions.get(id(item))
            if position is not None:
                kind = _kind(item)
                first[kind] = min(first.get(kind, position), position)
        marks = dict(first)
        for item in self.items:
            kind = _kind(item)
            if kind not in first:
                position = self._positions.get(id(item), -1)
                marks[kind] = max(marks.get(kind, 0), position + 1)
        return marks

    def _record(self, marks: dict[str, int]) -> None:
        lines = [
            f"{kind} {mark}\n"
            for kind, mark in sorted(marks.items())
            if mark > self._settled.get(kind, 0)
        ]
        if not lines:
            return
        path = _ack_path(self.path)
        try:
            with open(path, "a", encoding="ascii") as stream:
                stream.write("".join(lines))
                stream.flush()
                os.fsync(stream.fileno())
            os.utime(self.path)  # a live claim, for readers that judge claims by age
        except OSError as exc:
            logger.error("Could not record progress in %s: %s", path.name, exc)
            return
        for kind, mark in marks.items():
            self._settled[kind] = max(self._settled.get(kind, 0), mark)

    def _unlock(self) -> None:
        if self._fd is not None:
            self.spool._forget(self._fd)
            _close(self._fd)
            self._fd = None


@dataclass
class SpoolReport:
    """What :func:`send_spool` did."""

    files: int = 0
    sent: int = 0
    expired: int = 0
    invalid: int = 0
    dropped_permanent: int = 0
    left: int = 0
    #: Entries an earlier, interrupted reader had already sent: skipped.
    resumed: int = 0
    #: Files another running process is sending right now: not read.
    busy: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was left behind because of a failure."""
        return not self.errors and self.left == 0


class Spool:
    """Reads and writes spool files in ``directory`` for one environment.

    ``max_bytes`` caps the directory's total size: a write that would pass
    it is refused, logged and counted in ``refused`` rather than filling the
    disk during a long outage. ``stale_claim_after`` is the age at which a
    claim is taken over where file locks are not available.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        env_id: str,
        max_bytes: int = 100_000_000,
        stale_claim_after: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(env_id, str) or not env_id:
            raise ValueError("env_id must be a non-empty str")
        self.directory = Path(directory)
        self.env_id = env_id
        self.max_bytes = max_bytes
        self.stale_claim_after = stale_claim_after
        self._clock = clock
        self._lock = threading.Lock()
        self._held: set[int] = set()  # descriptors of this process's claims
        self.written = 0
        self.refused = 0
        _spools.add(self)
        _install_fork_hooks()

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r}, env_id={self.env_id!r})"

    # -- writing --------------------------------------------------------------

    def write(self, items: Sequence[SpooledItem]) -> int:
        """Write ``items`` as one new file; returns how many were written.

        Never raises: a failure (disk full, no permission, size cap) is logged
        and 0 is returned, and the caller counts the items as lost.
        """
        return self._write(items)

    def _write(self, items: Sequence[SpooledItem], *, order_of: Path | None = None) -> int:
        # ``order_of``: a file being rewritten, whose place in the order is kept.
        if not items:
            return 0
        now = self._clock()
        body = {
            "format": SPOOL_FORMAT,
            "version": SPOOL_VERSION,
            "envId": self.env_id,
            "writtenAt": round(now * 1000),
            "hits": {item.id: _entry(item) for item in items},
        }
        try:
            data = strict_json.dumps(body)
        except (TypeError, ValueError):
            logger.exception("Could not serialize %d items for the spool", len(items))
            return 0
        encoded = data.encode()
        stamp = f"{round(now * 1000):013d}"
        if order_of is not None:
            first = _original_name(order_of).split("-", 1)[0]
            stamp = first if first.isdigit() else stamp
        name = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        with self._lock:
            try:
                make_private_directory(self.directory)
                if self.max_bytes and self.size() + len(encoded) > self.max_bytes:
                    self.refused += len(items)
                    logger.error(
                        "Flagship spool %s is full (%d bytes): %d items lost",
                        self.directory,
                        self.max_bytes,
                        len(items),
                    )
                    return 0
                handle, temporary = tempfile.mkstemp(
                    dir=self.directory, prefix=_WRITING, suffix=_TMP
                )
                try:
                    if filelock.fcntl is not None:
                        # Held until the file is in place: a reader takes over
                        # only the temporary file of a writer that died.
                        with contextlib.suppress(OSError):
                            filelock.fcntl.flock(handle, filelock.LOCK_NOW)
                    with os.fdopen(handle, "wb") as stream:
                        stream.write(encoded)
                        stream.flush()
                        os.fsync(stream.fileno())
                        os.replace(temporary, self.directory / name)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(temporary)
                    raise
            except OSError as exc:
                logger.error(
                    "Could not write %d items to the Flagship spool %s: %s",
                    len(items),
                    self.directory,
                    exc,
                )
                return 0
            self.written += len(items)
        return len(items)

    # -- reading --------------------------------------------------------------

    def size(self) -> int:
        """Bytes held by the directory's spool files, claimed ones and progress included."""
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                if entry.name.endswith((_SUFFIX, _CLAIMED, _ACK)):
                    with contextlib.suppress(FileNotFoundError):
                        total += entry.stat().st_size
        return total

    def pending(self) -> list[Path]:
        """Unclaimed files, oldest first."""
        return [path for path in self._files() if path.name.endswith(_SUFFIX)]

    def busy(self) -> list[Path]:
        """Claimed files another running reader (or another thread here) is sending now."""
        found = []
        for path in self._files():
            if not path.name.endswith(_CLAIMED):
                continue
            state, fd = _lock(path)
            try:
                if state == _BUSY or (state == _NO_LOCKS and not self._is_stale(fd)):
                    found.append(path)
            finally:
                _close(fd)
        return found

    def claim(self, skipped: list[Path] | None = None) -> Iterator[ClaimedFile]:
        """Claim and load the files to send one by one, oldest first.

        Unclaimed files, claims whose reader is gone (taken over at once) and
        temporary files whose writer died (moved into place first) are read;
        a file another live reader holds is skipped (and added to ``skipped``).
        The caller must end each claim with :meth:`ClaimedFile.done` or
        :meth:`ClaimedFile.release`.
        """
        try:
            if os.path.lexists(self.directory):
                make_private_directory(self.directory)
        except OSError as exc:
            logger.error("Not reading the Flagship spool %s: %s", self.directory, exc)
            return
        self._recover()
        for path in self._files():
            claimed = self._take(path)
            if isinstance(claimed, ClaimedFile):
                yield claimed
            elif claimed == _BUSY and skipped is not None:
                skipped.append(path)

    def reset_after_fork(self) -> None:
        """In a forked child: a new lock, and the parent's claims left to the parent.

        Closing the child's copies of the claim descriptors keeps each lock
        with the parent alone, so that it ends when the parent ends.
        """
        self._lock = threading.Lock()
        held, self._held = self._held, set()
        for fd in held:
            _close(fd)

    # -- internals --------------------------------------------------------------

    def _files(self) -> list[Path]:
        """Unclaimed and claimed files, in the order they were written."""
        try:
            names = [
                entry.name
                for entry in os.scandir(self.directory)
                if entry.name.endswith((_SUFFIX, _CLAIMED))
            ]
        except FileNotFoundError:
            return []
        names.sort(key=lambda name: name[: -len(_CLAIMED)] if name.endswith(_CLAIMED) else name)
        return [self.directory / name for name in names]

    def _take(self, path: Path) -> ClaimedFile | str | None:
        """The claimed file, ``_BUSY`` when a live reader holds it, or None."""
        if path.name.endswith(_SUFFIX):
            claimed = path.with_name(path.name + _CLAIMED)
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                return None  # another reader got it
            state, fd = self._lock_claimed(claimed)
        else:
            claimed = path
            state, fd = _lock(claimed)
            if state == _NO_LOCKS and not self._is_stale(fd):
                _close(fd)
                return _BUSY
            if state in (_LOCKED, _NO_LOCKS):
                logger.warning(
                    "Took over the Flagship spool file %s: the process sending it stopped",
                    _original_name(claimed),
                )
        if state not in (_LOCKED, _NO_LOCKS):
            return state if state == _BUSY else None
        # The age of a claim is measured from now, not from the write.
        with contextlib.suppress(OSError):
            os.utime(claimed)
        if fd is not None:
            self._held.add(fd)
        loaded = self._load(claimed, fd)
        if loaded is None and fd is not None:
            self._forget(fd)
            _close(fd)
        return loaded

    @staticmethod
    def _lock_claimed(path: Path) -> tuple[str, int | None]:
        # Just renamed by us: a writer or a reader that put it back may still
        # hold its lock for a moment, until it closes the file.
        for _ in range(20):
            state, fd = _lock(path)
            if state != _BUSY:
                return state, fd
            time.sleep(0.005)
        return _BUSY, None

    def _is_stale(self, fd: int | None) -> bool:
        if fd is None:
            return False
        try:
            return self._clock() - os.fstat(fd).st_mtime >= self.stale_claim_after
        except OSError:
            return False

    def _forget(self, fd: int) -> bool:
        """Stop tracking ``fd``; False when it is not this process's (any more)."""
        try:
            self._held.remove(fd)
        except KeyError:
            return False
        return True

    def _recover(self) -> None:
        """Move the writes a crash interrupted into place; drop orphaned progress files."""
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return
        names = {entry.name for entry in entries}
        for entry in entries:
            if entry.name.startswith(_WRITING) and entry.name.endswith(_TMP):
                self._recover_write(Path(entry.path))
            elif entry.name.endswith(_ACK):
                data = entry.name[: -len(_ACK)] + _SUFFIX
                if data in names or data + _CLAIMED in names:
                    continue
                path = Path(entry.path)
                with contextlib.suppress(OSError):
                    old = self._clock() - entry.stat().st_mtime >= _EMPTY_WRITE_GRACE
                    if old and not (
                        path.with_name(data).exists() or path.with_name(data + _CLAIMED).exists()
                    ):
                        path.unlink()

    def _recover_write(self, path: Path) -> None:
        state, fd = _lock(path)
        if fd is None:
            return  # being written, or already moved
        try:
            info = os.fstat(fd)
            age = self._clock() - info.st_mtime
            if state == _NO_LOCKS and age < self.stale_claim_after:
                return
            if info.st_size == 0:
                # Nothing was written; a writer may also have just created it.
                if age >= _EMPTY_WRITE_GRACE:
                    with contextlib.suppress(OSError):
                        path.unlink()
                return
            name = f"{round(info.st_mtime * 1000):013d}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            target = path.with_name(name + _SUFFIX)
            try:
                os.replace(path, target)
            except OSError as exc:
                logger.error("Could not recover the Flagship spool file %s: %s", path.name, exc)
                return
            logger.warning(
                "Recovered %s, a Flagship spool file whose writer stopped before finishing, as %s",
                path.name,
                target.name,
            )
        finally:
            _close(fd)

    def _load(self, path: Path, fd: int | None = None) -> ClaimedFile | None:
        try:
            body = strict_json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self._set_aside(path, f"unreadable: {exc}")
            return None
        if (
            not isinstance(body, dict)
            or body.get("format") != SPOOL_FORMAT
            or body.get("version") != SPOOL_VERSION
            or not isinstance(body.get("hits"), dict)
        ):
            self._set_aside(path, "not a version 1 spool file")
            return None
        if body.get("envId") != self.env_id:
            # Another environment's hits must not go out with this cid.
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(_original_name(path)))
            logger.warning(
                "Skipped the Flagship spool file %s: it belongs to environment %r",
                _original_name(path),
                body.get("envId"),
            )
            return None
        now = self._clock()
        claimed = ClaimedFile(self, path, [], _fd=fd)
        settled = self._progress(path)
        claimed._settled = dict(settled)
        for position, entry in enumerate(body["hits"].values()):
            data = entry.get("data") if isinstance(entry, dict) else None
            kind = "a" if isinstance(data, dict) and data.get("type") == _ACTIVATE else "h"
            if position < settled.get(kind, 0):
                claimed.resumed += 1
                continue
            try:
                item = _item(entry)
            except ValueError as exc:
                claimed.invalid += 1
                logger.warning("Dropped a malformed entry of %s: %s", _original_name(path), exc)
                continue
            if item.is_expired(now):
                claimed.expired += 1
                continue
            claimed._positions[id(item)] = position
            claimed.items.append(item)
        if claimed.resumed:
            logger.info(
                "Resuming the Flagship spool file %s: %d entries were sent before",
                _original_name(path),
                claimed.resumed,
            )
        if claimed.expired:
            logger.warning(
                "Dropped %d spooled items older than %d h from %s",
                claimed.expired,
                HIT_EXPIRATION_SECONDS // 3600,
                _original_name(path),
            )
        return claimed

    def _progress(self, path: Path) -> dict[str, int]:
        """What earlier readers of ``path`` recorded as settled, per kind."""
        ack = _ack_path(path)
        try:
            with open(ack, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size > _MAX_ACK_BYTES:
                    stream.seek(size - _MAX_ACK_BYTES)
                    stream.readline()  # the first line read may be cut
                data = stream.read(_MAX_ACK_BYTES)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            logger.error("Could not read %s, sending the whole file: %s", ack.name, exc)
            return {}
        lines = data.split(b"\n")[:-1]  # a last line without its newline was cut short
        marks: dict[str, int] = {}
        malformed = 0
        for line in lines:
            parts = line.split()
            if (
                len(parts) == 2
                and parts[0] in (b"a", b"h")
                and parts[1].isdigit()
                and len(parts[1]) <= 18
            ):
                kind, mark = parts[0].decode(), int(parts[1])
                marks[kind] = max(marks.get(kind, 0), mark)
            else:
                malformed += 1
        if malformed:
            logger.warning("Ignored %d malformed lines of %s", malformed, ack.name)
        return marks

    def _set_aside(self, path: Path, reason: str) -> None:
        # Kept for inspection under a name no reader picks up again.
        target = path.with_name(_original_name(path) + ".bad")
        with contextlib.suppress(OSError):
            os.replace(path, target)
        with contextlib.suppress(OSError):
            _ack_path(path).unlink()
        logger.error("Set aside the Flagship spool file %s (%s)", target.name, reason)
