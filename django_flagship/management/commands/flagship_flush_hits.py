"""``manage.py flagship_flush_hits``: send the spooled hits and activations now."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import build_config
from ...conf import conf
from ...sdk.config import Config
from ...sdk.flusher import BackgroundTracker
from ...sdk.spool import Spool, SpoolReport
from ...sdk.tracking import CollectorClient
from ...sinks import build_spool

__all__ = ["Command"]


class Command(BaseCommand):
    help = (
        "Send the hits and activations spooled while Flagship's collector was down or "
        "when a process stopped (the site's, and the served Decision API's for each "
        "environment it serves), and report the counts. Files left half-sent by a "
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
        if spool_dir:
            spools = [("", config, Spool(Path(spool_dir), env_id=config.env_id))]
        else:
            spools = _spools(config)
        if not spools:
            raise CommandError("FLAGSHIP_HIT_SPOOL_DIR is False: there is no spool to send.")
        left = []
        sent_any = False
        for label, env_config, spool in spools:
            report = _send(env_config, spool)
            if report.files or report.busy:
                sent_any = True
                self._describe(label, report)
            if not report.ok:
                reason = "; ".join(report.errors) or "the collector did not accept them"
                left.append(f"{report.left} items are still in {spool.directory}: {reason}")
        if not sent_any:
            where = ", ".join(str(spool.directory) for _, _, spool in spools)
            self.stdout.write(f"Nothing to send: {where} holds no spooled items.")
        if left:
            raise CommandError(
                "; ".join(left) + ". Run the command again once the collector answers."
            )

    def _describe(self, label: str, report: SpoolReport) -> None:
        if report.files:
            files = "file" if report.files == 1 else "files"
            self.stdout.write(
                f"{label}Sent {report.sent} spooled items from {report.files} {files} to "
                f"Flagship (expired {report.expired}, refused {report.dropped_permanent}, "
                f"invalid {report.invalid}, left {report.left})."
            )
        if report.resumed:
            self.stdout.write(
                f"{label}Skipped {report.resumed} items an interrupted earlier run had "
                "already sent."
            )
        if report.busy:
            files = "file is" if report.busy == 1 else "files are"
            self.stdout.write(
                f"{label}{report.busy} spool {files} being sent by another running process "
                "right now; left to it (run the command again to see what remains)."
            )


def _spools(config: Config) -> list[tuple[str, Config, Spool]]:
    """The site's spool, then the served Decision API's, one per environment it serves."""
    found: list[tuple[str, Config, Spool]] = []
    own = build_spool(config)
    if own is not None:
        found.append(("", config, own))
    served = conf.decision_api_environments
    if served is None:
        env_ids = [config.env_id]
    elif isinstance(served, Mapping):
        env_ids = [env for env in served if isinstance(env, str) and env.strip()]
    else:
        env_ids = []  # malformed: check E012 says so
    directories = {spool.directory for _, _, spool in found}
    for env_id in env_ids:
        env_config = copy.copy(config)
        env_config.env_id = env_id
        spool = build_spool(env_config, served=True)
        if spool is not None and spool.directory not in directories:
            directories.add(spool.directory)
            found.append((f"Served Decision API, environment {env_id!r}: ", env_config, spool))
    return found


def _send(config: Config, spool: Spool) -> SpoolReport:
    client = CollectorClient(
        config.env_id,
        events_url=config.events_url,
        activate_url=config.activate_url,
        timeout=config.timeout,
    )
    tracker = BackgroundTracker(client, spool=spool)
    try:
        return tracker.replay_spool()
    finally:
        client.close()
