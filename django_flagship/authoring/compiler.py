"""The authored campaigns (and ``FLAGSHIP_LOCAL_FLAGS``) as one bucketing document.

The document is deterministic: campaigns, variation groups, variations and
targetings in their ``position`` order (ties by creation), keys in Flagship's
order, so the same authored state gives the same bytes, and so the same
version, in every process. Disabled campaigns are left out.

Reading the rows takes a few queries; a change committed between them would
mix two states. Every change moves ``BucketSettings.changed_at`` in its own
transaction, so when that value is the same before and after the reads,
nothing was committed in between; otherwise the reads are done again.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import DatabaseError, connections, router

from . import document
from .settings_flags import settings_campaigns

__all__ = ["Compiled", "authored_campaigns", "campaign_document", "compile_document"]

logger = logging.getLogger("django_flagship")

APP = "django_flagship.authoring"
#: Reads tried before giving up on a snapshot while changes keep landing.
ATTEMPTS = 5


class TablesMissing(Exception):
    """The app is installed but its tables are not there yet (no ``migrate``)."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A document and when its authored part last changed (``None``: nothing authored)."""

    data: dict[str, Any]
    changed_at: datetime.datetime | None


def _head(row: Any) -> dict[str, Any]:
    head: dict[str, Any] = {"panic": bool(row.panic) if row else False}
    consolidation = row.visitor_consolidation if row else False
    if consolidation is not None:
        head["visitorConsolidation"] = consolidation
    if row is not None and row.generated_at is not None:
        head["generatedAt"] = row.generated_at
    settings = row.account_settings if row else {"enabledXPC": False, "enabled1V1T": False}
    if settings is not None:
        head["accountSettings"] = settings
    return head


def _targeting(rows: list[Any]) -> dict[str, Any]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda t: (t.group, t.position, t.pk)):
        item = {"key": row.key, "operator": row.operator, "value": row.value}
        if row.provider is not None:
            item["provider"] = row.provider
        groups.setdefault(row.group, []).append(item)
    return {"targetingGroups": [{"targetings": items} for _group, items in sorted(groups.items())]}


def _variation(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": row.variation_id}
    if row.name is not None:
        item["name"] = row.name
    item["reference"] = row.reference
    if row.allocation is not None:
        item["allocation"] = row.allocation
    item["modifications"] = {"type": row.modification_type, "value": row.flags}
    return item


def _ordered(rows: Any) -> list[Any]:
    return sorted(rows, key=lambda row: (row.position, row.pk))


def campaign_document(campaign: Any) -> dict[str, Any]:
    """One campaign (rows prefetched or not) in the bucketing file's form."""
    item: dict[str, Any] = {"id": campaign.campaign_id}
    if campaign.name is not None:
        item["name"] = campaign.name
    item["slug"] = campaign.slug
    if campaign.type is not None:
        item["type"] = campaign.type
    if campaign.bucket_ranges is not None:
        item["bucketRanges"] = campaign.bucket_ranges
    groups = []
    for group in _ordered(campaign.variation_groups.all()):
        entry: dict[str, Any] = {"id": group.group_id}
        if group.name is not None:
            entry["name"] = group.name
        entry["targeting"] = _targeting(list(group.targetings.all()))
        entry["variations"] = [_variation(row) for row in _ordered(group.variations.all())]
        groups.append(entry)
    item["variationGroups"] = groups
    return item


def _read(include_disabled: bool) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    from .models import BucketSettings, Campaign

    row = BucketSettings.objects.filter(pk=1).first()
    campaigns = Campaign.objects.prefetch_related(
        "variation_groups__targetings", "variation_groups__variations"
    ).order_by("position", "pk")
    if not include_disabled:
        campaigns = campaigns.filter(enabled=True)
    return _head(row), [campaign_document(c) for c in campaigns], row.changed_at if row else None


def _changed_at() -> Any:
    from .models import BucketSettings

    return BucketSettings.objects.filter(pk=1).values_list("changed_at", flat=True).first()


def _tables_missing() -> bool:
    from .models import BucketSettings

    alias = router.db_for_read(BucketSettings)
    try:
        with connections[alias].cursor() as cursor:
            names = connections[alias].introspection.table_names(cursor)
    except DatabaseError:
        return False  # the database itself is the problem
    return BucketSettings._meta.db_table not in names


def authored_campaigns(
    *, include_disabled: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """(document head, campaigns, changed_at) from the database, as one snapshot.

    Raises :class:`TablesMissing` before ``migrate``, and ``DatabaseError``
    when the database cannot be read.
    """
    for _attempt in range(ATTEMPTS):
        try:
            before = _changed_at()
            head, campaigns, changed_at = _read(include_disabled)
            after = _changed_at()
        except DatabaseError:
            if _tables_missing():
                raise TablesMissing from None
            raise
        if before == after == changed_at:
            return head, campaigns, changed_at
    raise DatabaseError(f"the campaigns kept changing during {ATTEMPTS} reads")


def compile_document(local_flags: Any = None) -> Compiled:
    """The local bucketing document: ``local_flags`` first, then the authored campaigns.

    Raises :class:`.document.DocumentError` when the two together break a
    rule (an id used by both), and ``DatabaseError`` when the database
    cannot be read; before ``migrate`` the settings flags are the document.
    """
    head = _head(None)
    campaigns = settings_campaigns(local_flags)
    changed_at = None
    if apps.is_installed(APP):
        try:
            head, authored, changed_at = authored_campaigns()
        except TablesMissing:
            logger.warning(
                "Flagship: the authored campaigns' tables do not exist yet (run "
                "'manage.py migrate'); the bucketing file holds FLAGSHIP_LOCAL_FLAGS alone"
            )
        else:
            campaigns += authored
    data = {**head, "campaigns": campaigns}
    return Compiled(document.canonical(data, reserved_ok=True), changed_at)
