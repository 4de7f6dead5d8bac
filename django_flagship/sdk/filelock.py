"""Exclusive, non-blocking locks on files, that end with the process holding them.

The spool's readers and writers hold one on each file they work on, so that a
file whose owner died (even by ``SIGKILL``) is known at once: the kernel has
dropped its lock. ``flock`` locks belong to an open file description, so two
threads of one process exclude each other too. Where ``fcntl`` is missing, or
a file system refuses the lock, the caller gets the descriptor without a lock
(:data:`NO_LOCKS`) and falls back on the file's age.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["BUSY", "GONE", "LOCKED", "LOCK_NOW", "NO_LOCKS", "close_quietly", "fcntl", "try_lock"]

#: ``flock`` flags: exclusive, and without waiting.
LOCK_NOW = fcntl.LOCK_EX | fcntl.LOCK_NB if fcntl is not None else 0

LOCKED, BUSY, GONE, NO_LOCKS = "locked", "busy", "gone", "no locks"


def try_lock(path: Path) -> tuple[str, int | None]:
    """Open ``path`` and take its exclusive lock without waiting.

    Returns the state and, when ``LOCKED`` or ``NO_LOCKS``, the open
    descriptor: ``BUSY`` when a live process holds the lock, ``GONE`` when
    the file is no longer under this name (its owner finished or put it back
    between our open and our lock).
    """
    cloexec = getattr(os, "O_CLOEXEC", 0)
    try:
        # Read-write: where flock is emulated with byte-range locks (NFS), an
        # exclusive lock needs a descriptor open for writing.
        fd = os.open(path, os.O_RDWR | cloexec)
    except PermissionError:
        try:
            fd = os.open(path, os.O_RDONLY | cloexec)
        except FileNotFoundError:
            return GONE, None
        except OSError:
            return BUSY, None
    except FileNotFoundError:
        return GONE, None
    except OSError:
        return BUSY, None
    if fcntl is None:
        return NO_LOCKS, fd
    try:
        fcntl.flock(fd, LOCK_NOW)
    except BlockingIOError:
        os.close(fd)
        return BUSY, None
    except OSError:  # ENOLCK and the like: a file system without locks
        return NO_LOCKS, fd
    try:
        held, named = os.fstat(fd), os.stat(path)
        same = (held.st_ino, held.st_dev) == (named.st_ino, named.st_dev)
    except FileNotFoundError:
        same = False
    if not same:
        os.close(fd)
        return GONE, None
    return LOCKED, fd


def close_quietly(fd: int | None) -> None:
    """Close ``fd`` (which ends its lock), if there is one."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
