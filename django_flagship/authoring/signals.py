"""Every change to an authored campaign moves ``changed_at`` and publishes the document.

``changed_at`` moves in the change's own transaction, so it commits (or rolls
back) with it; the compiler relies on that to read a consistent snapshot. The
document is compiled and stored in the cache once the transaction commits,
once per transaction however many rows it changed. Changes that send no
signal (``QuerySet.update()``, raw SQL) reach the cache at the next poll
when :func:`touch` is called, and not before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from . import source
from .models import BucketSettings, Campaign, Targeting, Variation, VariationGroup

__all__ = ["connect", "muted", "touch"]

_WATCHED = (Campaign, VariationGroup, Targeting, Variation)
_state = threading.local()


@contextmanager
def muted(using: str = "default") -> Iterator[None]:
    """Many rows written as one change: one :func:`touch` at the end, not one per row."""
    depth = getattr(_state, "muted", 0)
    _state.muted = depth + 1
    try:
        yield
    finally:
        _state.muted = depth
    touch(using)


def _schedule_publish(using: str) -> None:
    # Each change queues a callback; only the thread's last one publishes, so
    # a transaction of many rows compiles once. A rolled-back transaction's
    # callbacks are dropped, and the next transaction queues newer ones.
    _state.token = token = getattr(_state, "token", 0) + 1
    transaction.on_commit(partial(_publish_if_last, token), using=using)


def _publish_if_last(token: int) -> None:
    if getattr(_state, "token", 0) == token:
        source.publish()


def touch(using: str = "default") -> None:
    """Record a change made to the authored rows: ``changed_at`` now, then publish."""
    now = timezone.now()
    if not BucketSettings.objects.using(using).filter(pk=1).update(changed_at=now):
        BucketSettings(pk=1, changed_at=now).save(using=using)
        return
    _schedule_publish(using)


def _changed(sender: Any, *, using: str, raw: bool = False, **kwargs: Any) -> None:
    depth: int = getattr(_state, "muted", 0)
    if raw or depth:
        return  # loaddata brings its own changed_at; muted() touches once at the end
    touch(using)


def _settings_saved(sender: Any, *, using: str, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        _schedule_publish(using)


def connect() -> None:
    for model in _WATCHED:
        post_save.connect(_changed, sender=model, dispatch_uid=f"flagship-{model.__name__}-save")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"flagship-{model.__name__}-delete"
        )
    post_save.connect(_settings_saved, sender=BucketSettings, dispatch_uid="flagship-settings")
    post_delete.connect(_changed, sender=BucketSettings, dispatch_uid="flagship-settings-delete")
