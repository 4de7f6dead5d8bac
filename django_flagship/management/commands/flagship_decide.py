"""``manage.py flagship_decide``: what a visitor gets, and why (for debugging)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import get_bucket, runtime
from ...sdk import Mode
from ...sdk.context import ContextError, check_context_item
from ...sdk.model import Assignment, merge_flags

__all__ = ["Command"]


def parse_context_item(item: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it is a number, bool or string."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise CommandError(f"--context takes key=value, got {item!r}")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if not isinstance(value, (str, int, float, bool)):
        value = text  # lists, objects and null stay text
    try:
        check_context_item(key, value)
    except ContextError as exc:
        raise CommandError(str(exc)) from None
    return key, value


class Command(BaseCommand):
    help = (
        "Show which campaign, variation group and variation a visitor gets, and the "
        "resulting flags: a table by default (-v 2 adds the targeting details), JSON "
        "with --json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--visitor", required=True, metavar="ID", help="The visitor id.")
        parser.add_argument(
            "--anonymous-id",
            metavar="ID",
            help="The visitor's anonymous id, for an authenticated visitor (DECISION_API).",
        )
        parser.add_argument(
            "--context",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A context value; repeat it. Values are JSON when they parse: age=31, "
            "vip=true, zip='\"75001\"' (a string), anything else is text.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options.get("verbosity", 1)
        visitor_id = options["visitor"]
        if not visitor_id:
            raise CommandError("--visitor must not be empty")
        context = dict(parse_context_item(item) for item in options["context"])
        rt = runtime()
        if not rt.configured:
            raise CommandError(
                "Flagship is not configured: set FLAGSHIP_ENV_ID or FLAGSHIP_BUCKET_FILE."
            )
        if rt.mode is Mode.BUCKETING:
            report = self._bucketing(visitor_id, context)
        else:
            report = self._decision_api(visitor_id, context, options["anonymous_id"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        else:
            self._tables(report)

    def _bucketing(self, visitor_id: str, context: dict[str, Any]) -> dict[str, Any]:
        bucket = get_bucket()
        if bucket is None:
            raise CommandError(
                "No bucket is available: run 'manage.py flagship_refresh_bucket' first."
            )
        full_context = {**context, **self._sdk_context()}
        outcomes = bucket.explain(visitor_id, full_context)
        assignments = [o.assignment for o in outcomes if o.assignment is not None]
        return {
            "visitor_id": visitor_id,
            "mode": "BUCKETING",
            "context": full_context,
            "panic": bucket.panic,
            "campaigns": [
                {
                    "campaign_id": o.campaign_id,
                    "result": o.reason,
                    "variation_group_id": o.variation_group_id,
                    "variation_id": o.assignment.variation_id if o.assignment else None,
                    "variation_name": o.assignment.variation_name if o.assignment else None,
                    "bucket": o.bucket,
                    "detail": list(o.detail),
                }
                for o in outcomes
            ],
            "flags": self._flags(assignments),
        }

    def _decision_api(
        self, visitor_id: str, context: dict[str, Any], anonymous_id: str | None
    ) -> dict[str, Any]:
        client = runtime().client
        visitor = client.create_visitor(visitor_id, context, anonymous_id=anonymous_id)
        if not visitor.synchronize_modifications():
            raise CommandError(f"The Decision API call failed: {visitor.last_error}")
        return {
            "visitor_id": visitor_id,
            "mode": "DECISION_API",
            "context": visitor.decision_context,
            "panic": visitor.panic,
            "campaigns": [
                {
                    "campaign_id": a.campaign_id,
                    "result": "matched",
                    "variation_group_id": a.variation_group_id,
                    "variation_id": a.variation_id,
                    "variation_name": a.variation_name,
                    "bucket": None,
                    "detail": [],
                }
                for a in visitor.assignments
            ],
            "flags": self._flags(visitor.assignments),
        }

    @staticmethod
    def _sdk_context() -> dict[str, Any]:
        from ...sdk.constants import SDK_CLIENT, SDK_VERSION

        return {"fs_client": SDK_CLIENT, "fs_version": SDK_VERSION}

    @staticmethod
    def _flags(assignments: list[Assignment]) -> dict[str, Any]:
        return {
            key: {
                "value": flag.value,
                "campaign_id": flag.assignment.campaign_id,
                "variation_id": flag.assignment.variation_id,
            }
            for key, flag in merge_flags(assignments).items()
        }

    def _tables(self, report: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"Visitor {report['visitor_id']!r} ({report['mode']})")
        if report["panic"]:
            write("Panic mode: every flag serves its default.")
        rows = [
            (
                c["campaign_id"],
                c["variation_group_id"] or "-",
                c["variation_id"] or "-",
                c["result"],
            )
            for c in report["campaigns"]
        ]
        write("")
        write(_table(("campaign", "variation group", "variation", "result"), rows))
        if self.verbosity >= 2:
            for campaign in report["campaigns"]:
                for line in campaign["detail"]:
                    write(f"  {campaign['campaign_id']}: {line}")
        flag_rows = [
            (key, json.dumps(flag["value"], ensure_ascii=False), flag["campaign_id"])
            for key, flag in report["flags"].items()
        ]
        write("")
        write(_table(("flag", "value", "from campaign"), flag_rows) if flag_rows else "No flags.")


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, tuple("-" * w for w in widths), *rows)
    ]
    return "\n".join(lines)
