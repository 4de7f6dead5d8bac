"""``manage.py flagship_refresh_bucket``: put the bucketing file into the Django cache."""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...cache import CacheBucketStore
from ...client import get_poller, get_store, runtime
from ...sdk.bucketing import BucketError

__all__ = ["Command"]


def process_local(cache: BaseCache) -> str | None:
    """Why no other process can read what is stored in ``cache``, or ``None``."""
    if isinstance(cache, DummyCache):
        return "a DummyCache, which keeps nothing"
    if isinstance(cache, LocMemCache):
        return "a LocMemCache, which lives in the memory of one process"
    return None


class Command(BaseCommand):
    help = (
        "Download the bucketing file into the Django cache, for a cron job or a deploy "
        "hook. With --file, load and validate a local file instead. On any failure the "
        "cached bucket is left untouched and the exit status is non-zero. The cache must "
        "be one the site's processes share (Redis, Memcached, the database or file cache)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            metavar="PATH",
            help="Load this local bucketing file into the cache instead of downloading.",
        )
        parser.add_argument(
            "--this-process-only",
            action="store_true",
            help="Accept a cache private to each process (LocMemCache, DummyCache): the "
            "bucket is then loaded into this command's own process only, which ends with "
            "it, so no running site sees it. Useful to check a file or a download.",
        )

    def handle(
        self,
        *args: Any,
        file: str | None = None,
        this_process_only: bool = False,
        **options: Any,
    ) -> None:
        store, poller = get_store(), get_poller()
        if store is None or poller is None:
            raise CommandError(
                "Flagship has no bucket to refresh: set FLAGSHIP_ENV_ID (or "
                "FLAGSHIP_BUCKET_FILE for offline use) and check 'manage.py check'."
            )
        # A download with no URL fails at once, before the cache is looked at.
        local = self._where(store, this_process_only, file) if file or poller.url else None
        try:
            result = store.load_file(file) if file else poller.refresh(force=True)
        except BucketError as exc:
            raise CommandError(f"The bucket was not refreshed: {exc}") from None
        except Exception as exc:  # whatever the file or the network did: a message, no traceback
            raise CommandError(
                f"The bucket was not refreshed: {type(exc).__name__}: {exc}"
            ) from None
        if local is None:
            self.stdout.write(result.summary())
            return
        self.stdout.write(
            f"Only this process was updated: the cache {runtime().cache_alias!r} is {local}. "
            "No running site sees this bucket."
        )
        self.stdout.write(result.summary())

    @staticmethod
    def _where(
        store: CacheBucketStore, this_process_only: bool, checking: str | None
    ) -> str | None:
        """Why the cache reaches this process alone; raises unless that was asked for."""
        try:
            local = process_local(store.cache)
        except Exception as exc:
            # An unusable CACHES entry: the refresh itself reports it.
            raise CommandError(
                f"The bucket was not refreshed: the cache is unusable: {type(exc).__name__}: {exc}"
            ) from None
        alias = runtime().cache_alias
        if local is None:
            if this_process_only:
                raise CommandError(
                    f"--this-process-only: the cache {alias!r} is shared, so every process "
                    "would get the bucket; run the command without it."
                )
            return None
        if this_process_only:
            return local
        valid = ""
        if checking:
            try:
                store.read_file(checking, warn=False)
            except BucketError as exc:
                raise CommandError(f"The bucket was not refreshed: {exc}") from None
            valid = "The file is a valid bucketing file, but it was not stored: "
        raise CommandError(
            f"{valid}the cache {alias!r} holding the Flagship bucket is {local}, so the "
            "running site would never see the bucket this command stores. Point "
            "FLAGSHIP_CACHE_ALIAS at a cache every process shares: Redis, Memcached, the "
            "database cache or the file-based cache (see 'manage.py check --deploy', "
            "django_flagship.W004). To load it into this command's process alone (to check "
            "a file or a download), pass --this-process-only."
        )
