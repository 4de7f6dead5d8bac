"""``manage.py flagship_decide``: what a visitor gets, and why (for debugging)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import Runtime, get_bucket, runtime
from ...flags import Flags
from ...sdk import Mode
from ...sdk.bucketing import CampaignOutcome
from ...sdk.context import ContextError, check_context_item
from ...sdk.model import Assignment, merge_flags

if TYPE_CHECKING:
    from ...sdk.visitor import Visitor

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
        "with --json. In BUCKETING mode the visitor's stored assignment history wins "
        "over the hash, as on the site (--no-history for the hash alone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--visitor", required=True, metavar="ID", help="The visitor id.")
        parser.add_argument(
            "--anonymous-id",
            metavar="ID",
            help="The visitor's anonymous id, for an authenticated visitor: sent to the "
            "Decision API; in BUCKETING mode its stored history is used when the user has "
            "none yet, as on the first request after a login.",
        )
        parser.add_argument(
            "--context",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A context value; repeat it. Values are JSON when they parse: age=31, "
            "vip=true, zip='\"75001\"' (a string), anything else is text.",
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="BUCKETING: ignore the stored assignment history and show the pure hash decision.",
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
            report = self._bucketing(
                visitor_id, context, options["anonymous_id"], not options["no_history"]
            )
        else:
            report = self._decision_api(visitor_id, context, options["anonymous_id"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        else:
            self._tables(report)

    def _bucketing(
        self,
        visitor_id: str,
        context: dict[str, Any],
        anonymous_id: str | None,
        use_history: bool,
    ) -> dict[str, Any]:
        bucket = get_bucket()
        if bucket is None:
            raise CommandError(
                "No bucket is available: run 'manage.py flagship_refresh_bucket' first."
            )
        rt = runtime()
        visitor = rt.client.create_visitor(visitor_id, context, anonymous_id=anonymous_id)
        history = (
            self._history(rt, visitor) if use_history else {"status": "ignored", "assignments": {}}
        )
        stored = history.get("assignments") or {}
        full_context = visitor.decision_context
        outcomes = bucket.explain(visitor_id, full_context, assignments=stored)
        assignments = [o.assignment for o in outcomes if o.assignment is not None]
        # By variation group: a duplicate campaign id is skipped, its group is not.
        sources = {o.variation_group_id: _source(o, stored) for o in outcomes if o.matched}
        return {
            "visitor_id": visitor_id,
            "mode": "BUCKETING",
            "context": full_context,
            "panic": bucket.panic,
            "history": history,
            "campaigns": [
                {
                    "campaign_id": o.campaign_id,
                    "result": o.reason,
                    "source": _source(o, stored),
                    "variation_group_id": o.variation_group_id,
                    "variation_id": o.assignment.variation_id if o.assignment else None,
                    "variation_name": o.assignment.variation_name if o.assignment else None,
                    "bucket": o.bucket,
                    "detail": list(o.detail),
                }
                for o in outcomes
            ],
            "flags": self._flags(assignments, sources),
        }

    @staticmethod
    def _history(rt: Runtime, visitor: Visitor) -> dict[str, Any]:
        """The visitor's stored assignments, read exactly as ``request.flags`` reads them.

        ``Flags._load_history`` looks the visitor id up in the Django cache (and,
        when the user has no history yet, the anonymous id's, as at login) and
        loads it into ``visitor.assignment_history``. Nothing is written back: the
        command changes no history and sends no hit. A session's copy of the
        history is not seen; the site reads that copy first, and it is written
        together with the cache.
        """
        if not rt.assignment_history:
            return {"status": "off", "assignments": {}}
        record = Flags(visitor.visitor_id)._load_history(rt, visitor)
        if record is None:
            return {"status": "unavailable", "assignments": {}}
        assignments = dict(visitor.assignment_history)
        if record["copied"]:
            return {
                "status": "copied",
                "owner": visitor.anonymous_id,
                "assignments": assignments,
            }
        if not assignments:
            return {"status": "none", "assignments": {}}
        return {"status": "stored", "owner": visitor.visitor_id, "assignments": assignments}

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
                    "source": "decision_api",
                    "variation_group_id": a.variation_group_id,
                    "variation_id": a.variation_id,
                    "variation_name": a.variation_name,
                    "bucket": None,
                    "detail": [],
                }
                for a in visitor.assignments
            ],
            "flags": self._flags(
                visitor.assignments,
                {a.variation_group_id: "decision_api" for a in visitor.assignments},
            ),
        }

    @staticmethod
    def _flags(
        assignments: list[Assignment], sources: dict[str | None, str | None]
    ) -> dict[str, Any]:
        return {
            key: {
                "value": flag.value,
                "campaign_id": flag.assignment.campaign_id,
                "variation_id": flag.assignment.variation_id,
                "source": sources.get(flag.assignment.variation_group_id),
            }
            for key, flag in merge_flags(assignments).items()
        }

    def _tables(self, report: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"Visitor {report['visitor_id']!r} ({report['mode']})")
        if report["panic"]:
            write("Panic mode: every flag serves its default.")
        if "history" in report:
            write(_history_line(report["history"]))
        rows = [
            (
                c["campaign_id"],
                c["variation_group_id"] or "-",
                c["variation_id"] or "-",
                c["result"],
                c["source"] or "-",
            )
            for c in report["campaigns"]
        ]
        write("")
        write(_table(("campaign", "variation group", "variation", "result", "from"), rows))
        if self.verbosity >= 2:
            for campaign in report["campaigns"]:
                for line in campaign["detail"]:
                    write(f"  {campaign['campaign_id']}: {line}")
        flag_rows = [
            (
                key,
                json.dumps(flag["value"], ensure_ascii=False),
                flag["campaign_id"],
                flag["source"] or "-",
            )
            for key, flag in report["flags"].items()
        ]
        write("")
        header = ("flag", "value", "from campaign", "from")
        write(_table(header, flag_rows) if flag_rows else "No flags.")


def _source(outcome: CampaignOutcome, stored: dict[str, str]) -> str | None:
    """``"stored"`` when the history decided the campaign, ``"hash"`` when the hash did.

    With a history, :meth:`Bucket.explain` takes the stored variation for any
    chosen variation group it holds (or skips the campaign when that variation
    is gone), exactly as :meth:`Bucket.decide` does on the site.
    """
    from_history = outcome.variation_group_id in stored
    if outcome.matched:
        return "stored" if from_history else "hash"
    if from_history and outcome.reason.startswith("cached variation"):
        return "stored"
    return None


def _history_line(history: dict[str, Any]) -> str:
    status = history["status"]
    count = len(history.get("assignments") or {})
    if status == "stored":
        return f"Assignment history: {count} stored for {history['owner']!r}."
    if status == "copied":
        return (
            f"Assignment history: none for this id; {count} copied from the anonymous id "
            f"{history['owner']!r}, as at login."
        )
    if status == "none":
        return "Assignment history: none stored yet; every variation comes from the hash."
    if status == "ignored":
        return "Assignment history: ignored (--no-history); every variation comes from the hash."
    if status == "off":
        return "Assignment history: off (FLAGSHIP_ASSIGNMENT_HISTORY is False)."
    return "Assignment history: unavailable (the cache could not be read); hash alone."


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, tuple("-" * w for w in widths), *rows)
    ]
    return "\n".join(lines)
