"""What one request did with its flags, as plain JSON data for the debug-toolbar panel.

Kept apart from :mod:`.debug_toolbar` so that it imports nothing of the toolbar
and can be tested alone. It only looks: it never decides (a request that read
no flag reports just that), never activates, and never asks the cache or the
network (the bucket is the one this process already holds). Why a campaign
was not entered comes from :meth:`Bucket.explain`, as for ``flagship_decide``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..flags import FlagRead, Flags, recording_reads, typed
from ..sdk import Mode
from ..sdk.bucketing import Bucket, CampaignOutcome
from ..sdk.model import Assignment, FlagInfo

if TYPE_CHECKING:
    from ..sdk.visitor import Visitor

__all__ = ["request_report"]


def request_report(request: Any, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """The panel's data for ``request``: JSON types only (the toolbar stores it as JSON)."""
    flags = getattr(request, "flags", None)
    if not isinstance(flags, Flags):
        return {"state": "no-middleware", "subtitle": "no request.flags", "reads": []}
    if not flags.decided:
        # Nothing was read: looking must not decide (nor create an anonymous id).
        return {"state": "not-decided", "subtitle": "no flag read", "reads": []}
    rt = flags.runtime
    visitor = flags.visitor
    report: dict[str, Any] = {
        "state": "decided",
        "mode": rt.mode.name if rt is not None and rt.configured else "not configured",
        "recording": recording_reads(),
    }
    if visitor is None:
        # A test override, or a visitor that could not be prepared (logged then).
        reads = _reads_without_visitor(flags.reads)
        report.update(visitor=None, reads=reads, campaigns=[], bucket=None)
        report["subtitle"] = _subtitle(reads)
        return report
    auto = rt.auto_activate if rt is not None else False
    reads = _reads(flags.reads, visitor, auto)
    report.update(
        visitor={
            "id": visitor.visitor_id,
            "anonymous_id": visitor.anonymous_id,
            "consent": visitor.consent,
            "panic": visitor.panic,
            "error": visitor.last_error,
        },
        context=[
            {"key": key, "value": _json(value), "type": _type(value)}
            for key, value in sorted(visitor.decision_context.items())
        ],
        reads=reads,
        subtitle=_subtitle(reads),
    )
    # DECISION_API mode decides elsewhere: a bucket this process may hold does not explain it.
    bucketing = rt is not None and rt.configured and rt.mode is Mode.BUCKETING
    store = rt.store if bucketing and rt is not None else None
    bucket = store.installed if store is not None else None
    report["bucket"] = None
    if bucket is not None and store is not None:
        report["bucket"] = _bucket(
            bucket, store.version, store.last_modified, store.stored_at, clock
        )
        report["campaigns"] = _explained(bucket, visitor, flags.history_used)
        report["campaigns_note"] = ""
    elif rt is not None and rt.configured and rt.mode is Mode.DECISION_API:
        report["campaigns"] = [
            _entered(a, reason="returned by the Decision API") for a in visitor.assignments
        ]
        report["campaigns_note"] = (
            "The Decision API decided: it returns the campaigns the visitor entered and "
            "says nothing of the others."
        )
    else:
        report["campaigns"] = []
        report["campaigns_note"] = (
            "No bucket yet: every flag serves its default."
            if bucketing
            else "Flagship is not configured (no FLAGSHIP_ENV_ID, no FLAGSHIP_BUCKET_FILE): "
            "every flag serves its default."
        )
    return report


# -- flags read ------------------------------------------------------------------


def _reads(
    reads: tuple[FlagRead, ...], visitor: Visitor, auto_activate: bool
) -> list[dict[str, Any]]:
    """One row per key and default type, in the order of the first read."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    activated = visitor.activated
    for read in reads:
        marker = (read.key, _type(read.default))
        row = rows.get(marker)
        if row is not None:
            row["count"] += 1
            row["asked_activation"] = row["asked_activation"] or _asks(read, auto_activate)
            continue
        flag = visitor.get_flag(read.key)
        row = rows[marker] = _row(read, flag)
        row["asked_activation"] = _asks(read, auto_activate)
    for (key, _), row in rows.items():
        flag = visitor.get_flag(key)
        row["activated"] = flag is not None and flag.assignment.marker in activated
        row["activation"] = _activation_note(row, visitor, auto_activate)
        del row["asked_activation"]
    return list(rows.values())


def _reads_without_visitor(reads: tuple[FlagRead, ...]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for read in reads:
        marker = (read.key, _type(read.default))
        if marker in rows:
            rows[marker]["count"] += 1
            continue
        row = rows[marker] = _row(read, None)
        row.update(activated=False, activation="no SDK visitor: not reported here", why="")
    return list(rows.values())


def _row(read: FlagRead, flag: FlagInfo | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": read.key,
        "count": 1,
        "value": _json(read.value),
        "type": _type(read.value),
        "default": _json(read.default),
        "default_type": _type(read.default),
        "from_flag": False,
        "flag_value": None,
        "flag_type": None,
        "why": "",
    }
    if flag is None:
        row["why"] = "no campaign of this visitor sets this flag: the default is served"
        return row
    row.update(_assignment(flag.assignment))
    row["flag_value"] = _json(flag.value)
    row["flag_type"] = _type(flag.value)
    _, matched = typed(flag.value, read.default) if flag.value is not None else (None, False)
    if matched:
        row["from_flag"] = True
    elif flag.value is None:
        row["why"] = "the variation keeps the default (null)"
    else:
        row["why"] = (
            f"the flag is {_a(_type(flag.value))}, not {_a(_type(read.default))} like "
            "the default: the default is served"
        )
    return row


def _asks(read: FlagRead, auto_activate: bool) -> bool:
    return read.activate if read.activate is not None else auto_activate


def _activation_note(row: dict[str, Any], visitor: Visitor, auto_activate: bool) -> str:
    if row["activated"]:
        return "activated"
    if "campaign_id" not in row:
        return "nothing to activate"
    if visitor.panic:
        return "panic mode: nothing is activated"
    if not visitor.consent:
        return "no consent: nothing is activated"
    if not row["from_flag"] and row["flag_value"] is not None:
        return "a default served for a wrong type is not activated"
    if not row["asked_activation"]:
        return "read with activate=False" if auto_activate else "FLAGSHIP_AUTO_ACTIVATE is False"
    return "not activated"


# -- campaigns ---------------------------------------------------------------------


def _assignment(assignment: Assignment) -> dict[str, Any]:
    return {
        "campaign_id": assignment.campaign_id,
        "campaign_name": assignment.campaign_name,
        "campaign_type": assignment.campaign_type,
        "variation_group_id": assignment.variation_group_id,
        "variation_group_name": assignment.variation_group_name,
        "variation_id": assignment.variation_id,
        "variation_name": assignment.variation_name,
        "reference": assignment.reference,
    }


def _entered(assignment: Assignment, *, reason: str) -> dict[str, Any]:
    return {
        "id": assignment.campaign_id,
        "name": assignment.campaign_name,
        "type": assignment.campaign_type,
        "entered": True,
        "reason": reason,
        "bucket": None,
        "detail": [],
        **_assignment(assignment),
    }


def _explained(
    bucket: Bucket, visitor: Visitor, history: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Every campaign of the bucket, with :meth:`Bucket.explain`'s reason.

    With the history the decision started from, stored variations win here as
    they did there and the others show their hash bucket. Without it (reads
    not recorded) the visitor's history after the decision gives the same
    variations, each shown as stored.
    """
    if history is None:
        history = visitor.assignment_history
    campaigns = {c.id: c for c in bucket.campaigns if not c.duplicate}
    group_names = {g.id: g.name for c in bucket.campaigns for g in c.variation_groups}
    rows = []
    outcomes: list[CampaignOutcome] = bucket.explain(
        visitor.visitor_id, visitor.decision_context, assignments=history
    )
    for outcome in outcomes:
        if outcome.assignment is not None:
            row = _entered(outcome.assignment, reason=outcome.reason)
        else:
            campaign = campaigns.get(outcome.campaign_id)
            row = {
                "id": outcome.campaign_id,
                "name": campaign.name if campaign is not None else None,
                "type": campaign.type if campaign is not None else None,
                "entered": False,
                "reason": outcome.reason,
                "variation_group_id": outcome.variation_group_id,
                "variation_group_name": group_names.get(outcome.variation_group_id or ""),
            }
        row["bucket"] = outcome.bucket
        row["detail"] = list(outcome.detail)
        rows.append(row)
    return rows


def _bucket(
    bucket: Bucket,
    version: str | None,
    last_modified: str | None,
    stored_at: float | None,
    clock: Callable[[], float],
) -> dict[str, Any]:
    age = None if stored_at is None else max(0, round(clock() - stored_at))
    stored = None
    if stored_at is not None:
        stored = dt.datetime.fromtimestamp(stored_at, dt.timezone.utc).isoformat(timespec="seconds")
    return {
        "version": version,
        "last_modified": last_modified,
        "stored_at": stored,
        "age": age,
        "age_text": _duration(age),
        "campaigns": bucket.campaign_count,
        "panic": bucket.panic,
    }


# -- formatting ----------------------------------------------------------------------


def _subtitle(reads: list[dict[str, Any]]) -> str:
    count = len({row["key"] for row in reads})
    if count == 0:
        return "no flag read"
    return f"{count} flag read" if count == 1 else f"{count} flags read"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return "str" if isinstance(value, str) else type(value).__name__  # SafeString is a str
