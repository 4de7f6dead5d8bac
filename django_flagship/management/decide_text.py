"""The text ``manage.py flagship_decide`` prints: its report as tables."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["named", "report_lines"]


def report_lines(report: dict[str, Any], *, verbose: bool = False) -> Iterator[str]:
    """The lines of the command's report: visitor, context, campaigns and flags."""
    yield visitor_line(report)
    if report["panic"]:
        yield "Panic mode: every flag serves its default."
    if report.get("bucket", {}).get("downloaded"):
        source = (
            "compiled from the campaigns authored here"
            if report["bucket"].get("source") == "local"
            else "downloaded from Flagship"
        )
        yield (
            f"The cache held no bucket: it was {source} for this command "
            f"(version {report['bucket']['version']})."
        )
    if "history" in report:
        yield history_line(report["history"])
    yield ""
    context_rows = [
        (key, json.dumps(value, ensure_ascii=False), report["context_sources"][key])
        for key, value in report["context"].items()
    ]
    yield table(("context", "value", "from"), context_rows)
    rows = [
        (
            named(c["campaign_id"], c["campaign_name"]),
            named(c["variation_group_id"], c["variation_group_name"]),
            named(c["variation_id"], c["variation_name"]),
            c["result"],
            c["source"] or "-",
        )
        for c in report["campaigns"]
    ]
    yield ""
    yield table(("campaign", "variation group", "variation", "result", "from"), rows)
    if verbose:
        for campaign in report["campaigns"]:
            for line in campaign["detail"]:
                yield (f"  {campaign['campaign_id']}: {line}")
    flag_rows = [
        (
            key,
            json.dumps(flag["value"], ensure_ascii=False),
            named(flag["campaign_id"], flag["campaign_name"]),
            named(flag["variation_id"], flag["variation_name"]),
            flag["source"] or "-",
        )
        for key, flag in report["flags"].items()
    ]
    yield ""
    header = ("flag", "value", "from campaign", "variation", "from")
    yield (table(header, flag_rows) if flag_rows else "No flags.")


def named(identifier: str | None, name: str | None) -> str:
    """``id (name)``; the id alone when the name is missing or the same."""
    if not identifier:
        return "-"
    return f"{identifier} ({name})" if name and name != identifier else identifier


def visitor_line(report: dict[str, Any]) -> str:
    line = f"Visitor {report['visitor_id']!r} ({report['mode']})"
    user = report["user"]
    if user is not None:
        line += f", logged in as {user['username']!r} (pk {user['pk']})"
    else:
        line += ", anonymous"
    if report["anonymous_id"]:
        line += f", anonymous id {report['anonymous_id']!r}"
    return line + "."


def history_line(history: dict[str, Any]) -> str:
    status = history["status"]
    count = len(history.get("assignments") or {})
    if status == "stored":
        return (
            f"Assignment history: {count} stored for {history['owner']!r} "
            f"(read from the {history['read_from']})."
        )
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


def table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, tuple("-" * w for w in widths), *rows)
    ]
    return "\n".join(lines)
