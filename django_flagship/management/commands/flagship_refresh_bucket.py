"""``manage.py flagship_refresh_bucket``: put the bucketing file into the Django cache."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import get_store
from ...sdk.bucketing import BucketError

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Download the bucketing file into the Django cache, for a cron job or a deploy "
        "hook. With --file, load and validate a local file instead. On any failure the "
        "cached bucket is left untouched and the exit status is non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            metavar="PATH",
            help="Load this local bucketing file into the cache instead of downloading.",
        )

    def handle(self, *args: Any, file: str | None = None, **options: Any) -> None:
        store = get_store()
        if store is None:
            raise CommandError(
                "Flagship has no bucket to refresh: set FLAGSHIP_ENV_ID (or "
                "FLAGSHIP_BUCKET_FILE for offline use) and check 'manage.py check'."
            )
        try:
            result = store.load_file(file) if file else store.refresh(force=True)
        except BucketError as exc:
            raise CommandError(f"The bucket was not refreshed: {exc}") from None
        self.stdout.write(result.summary())
