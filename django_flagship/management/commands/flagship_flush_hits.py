"""``manage.py flagship_flush_hits``: send the spooled hits and activations now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import build_config
from ...delivery import build_spool
from ...sdk.flusher import BackgroundTracker
from ...sdk.spool import Spool
from ...sdk.tracking import CollectorClient

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Send the hits and activations spooled while Flagship's collector was down or "
        "when a process stopped, and report the counts. Files left half-sent by a "
        "process that died are taken over at once, without resending what the "
        "collector acknowledged; files another running process is sending are left "
        "to it and reported. The exit status is non-zero when some are left because "
        "the collector is still failing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--spool-dir",
            metavar="PATH",
            help="Read this spool directory instead of FLAGSHIP_HIT_SPOOL_DIR.",
        )

    def handle(self, *args: Any, spool_dir: str | None = None, **options: Any) -> None:
        try:
            config = build_config()
        except Exception as exc:  # ImproperlyConfigured, bad values
            raise CommandError(f"Flagship is misconfigured: {exc}") from None
        if config is None:
            raise CommandError(
                "Flagship is not configured: set FLAGSHIP_ENV_ID (the spool belongs to "
                "an environment) and check 'manage.py check'."
            )
        spool = Spool(Path(spool_dir), env_id=config.env_id) if spool_dir else build_spool(config)
        if spool is None:
            raise CommandError("FLAGSHIP_HIT_SPOOL_DIR is False: there is no spool to send.")
        client = CollectorClient(
            config.env_id,
            events_url=config.events_url,
            activate_url=config.activate_url,
            timeout=config.timeout,
        )
        tracker = BackgroundTracker(client, spool=spool)
        try:
            report = tracker.replay_spool()
        finally:
            client.close()
        if not report.files and not report.busy:
            self.stdout.write(f"Nothing to send: {spool.directory} holds no spooled items.")
            return
        if report.files:
            files = "file" if report.files == 1 else "files"
            self.stdout.write(
                f"Sent {report.sent} spooled items from {report.files} {files} to Flagship "
                f"(expired {report.expired}, refused {report.dropped_permanent}, "
                f"invalid {report.invalid}, left {report.left})."
            )
        if report.resumed:
            self.stdout.write(
                f"Skipped {report.resumed} items an interrupted earlier run had already sent."
            )
        if report.busy:
            files = "file is" if report.busy == 1 else "files are"
            self.stdout.write(
                f"{report.busy} spool {files} being sent by another running process right "
                f"now; left to it (run the command again to see what remains)."
            )
        if not report.ok:
            reason = "; ".join(report.errors) or "the collector did not accept them"
            raise CommandError(
                f"{report.left} items are still in {spool.directory}: {reason}. "
                "Run the command again once the collector answers."
            )
