"""A directory of hits and activations that could not be delivered yet.

When the collector is down for longer than the retries last, or the process
exits before its queue is empty, the pending items are written here and sent
by a later process (the next start, or ``manage.py flagship_flush_hits``).

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
renaming it to ``<name>.claimed``; the rename succeeds for exactly one of
them, and only the claimer sends it and then deletes it. A claim left behind
by a process that died is released again after ``stale_claim_after`` seconds.
Entries older than :data:`~django_flagship.sdk.hits.HIT_EXPIRATION_SECONDS`
(4 h: Flagship refuses older hits) are dropped with a log line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
_ACTIVATE = "ACTIVATE"

SpooledItem = TrackedHit | Activation


def _original_name(path: Path) -> str:
    name = path.name
    return name[: -len(_CLAIMED)] if name.endswith(_CLAIMED) else name


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
    """A spool file this process owns until :meth:`done` or :meth:`release`."""

    spool: Spool
    path: Path
    items: list[SpooledItem]
    expired: int = 0
    invalid: int = 0

    def done(self) -> None:
        """Every item was delivered or dropped: delete the file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def release(self, unsent: Sequence[SpooledItem]) -> None:
        """Put ``unsent`` back for a later reader and end the claim."""
        if len(unsent) == len(self.items) and not (self.expired or self.invalid):
            # Nothing changed: give the file back as it is.
            try:
                os.replace(self.path, self.path.with_name(_original_name(self.path)))
                return
            except OSError:
                pass
        if unsent and self.spool.write(unsent) != len(unsent):
            return  # keep the claimed file: a stale-claim release brings it back
        self.done()


@dataclass
class SpoolReport:
    """What :func:`send_spool` did."""

    files: int = 0
    sent: int = 0
    expired: int = 0
    invalid: int = 0
    dropped_permanent: int = 0
    left: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was left behind because of a failure."""
        return not self.errors and self.left == 0


class Spool:
    """Reads and writes spool files in ``directory`` for one environment.

    ``max_bytes`` caps the directory's total size: a write that would pass
    it is refused, logged and counted in ``refused`` rather than filling the
    disk during a long outage.
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
        self.written = 0
        self.refused = 0

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r}, env_id={self.env_id!r})"

    # -- writing --------------------------------------------------------------

    def write(self, items: Sequence[SpooledItem]) -> int:
        """Write ``items`` as one new file; returns how many were written.

        Never raises: a failure (disk full, no permission, size cap) is logged
        and 0 is returned, and the caller counts the items as lost.
        """
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
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            logger.exception("Could not serialize %d items for the spool", len(items))
            return 0
        encoded = data.encode()
        name = f"{round(now * 1000):013d}-{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
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
                    dir=self.directory, prefix=".writing-", suffix=".tmp"
                )
                try:
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
        """Bytes held by the directory's spool files, claimed ones included."""
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                if entry.name.endswith((_SUFFIX, _CLAIMED)):
                    with contextlib.suppress(FileNotFoundError):
                        total += entry.stat().st_size
        return total

    def pending(self) -> list[Path]:
        """Unclaimed files, oldest first."""
        try:
            names = sorted(
                entry.name for entry in os.scandir(self.directory) if entry.name.endswith(_SUFFIX)
            )
        except FileNotFoundError:
            return []
        return [self.directory / name for name in names]

    def release_stale_claims(self) -> int:
        """Give back files claimed by processes that stopped before finishing."""
        released = 0
        limit = self._clock() - self.stale_claim_after
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if not entry.name.endswith(_CLAIMED):
                continue
            try:
                if entry.stat().st_mtime > limit:
                    continue
                os.replace(entry.path, entry.path[: -len(_CLAIMED)])
            except FileNotFoundError:
                continue
            released += 1
            logger.warning("Released a stale claim on the Flagship spool file %s", entry.name)
        return released

    def claim(self) -> Iterator[ClaimedFile]:
        """Claim and load the pending files one by one, oldest first.

        A file another process claimed first is skipped. The caller must end
        each claim with :meth:`ClaimedFile.done` or :meth:`ClaimedFile.release`.
        """
        try:
            if os.path.lexists(self.directory):
                make_private_directory(self.directory)
        except OSError as exc:
            logger.error("Not reading the Flagship spool %s: %s", self.directory, exc)
            return
        self.release_stale_claims()
        for path in self.pending():
            claimed = path.with_name(path.name + _CLAIMED)
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another process got it
            # The age of a claim is measured from now, not from the write.
            with contextlib.suppress(OSError):
                os.utime(claimed)
            loaded = self._load(claimed)
            if loaded is not None:
                yield loaded

    def reset_after_fork(self) -> None:
        """A forked child must not inherit a lock held by a parent's thread."""
        self._lock = threading.Lock()

    def _load(self, path: Path) -> ClaimedFile | None:
        try:
            body = json.loads(path.read_bytes())
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
        claimed = ClaimedFile(self, path, [])
        for entry in body["hits"].values():
            try:
                item = _item(entry)
            except ValueError as exc:
                claimed.invalid += 1
                logger.warning("Dropped a malformed entry of %s: %s", _original_name(path), exc)
                continue
            if item.is_expired(now):
                claimed.expired += 1
                continue
            claimed.items.append(item)
        if claimed.expired:
            logger.warning(
                "Dropped %d spooled items older than %d h from %s",
                claimed.expired,
                HIT_EXPIRATION_SECONDS // 3600,
                _original_name(path),
            )
        return claimed

    def _set_aside(self, path: Path, reason: str) -> None:
        # Kept for inspection under a name no reader picks up again.
        target = path.with_name(_original_name(path) + ".bad")
        with contextlib.suppress(OSError):
            os.replace(path, target)
        logger.error("Set aside the Flagship spool file %s (%s)", target.name, reason)
