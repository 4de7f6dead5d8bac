"""Import and export of the authored campaigns in Flagship's bucketing file format.

``export_document(import_document(f))`` gives ``f`` back for any file in the
compiler's form (:func:`.document.canonical`): the same campaigns, ids,
names, targetings, allocations and flags, in the same order, with the same
optional keys present or left out. An import is all or nothing: the file is
checked whole first, then written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from . import document, signals
from .compiler import authored_campaigns
from .models import BucketSettings, Campaign, Targeting, Variation, VariationGroup

__all__ = ["ImportResult", "export_document", "import_document"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    campaigns: int
    variation_groups: int
    variations: int
    targetings: int

    def summary(self) -> str:
        return (
            f"{self.campaigns} campaigns, {self.variation_groups} variation groups, "
            f"{self.variations} variations, {self.targetings} targetings"
        )


def export_document(*, include_disabled: bool = False) -> dict[str, Any]:
    """The authored campaigns (without ``FLAGSHIP_LOCAL_FLAGS``) as a bucketing file."""
    head, campaigns, _changed_at = authored_campaigns(include_disabled=include_disabled)
    return {**head, "campaigns": campaigns}


def _taken(doc: dict[str, Any], using: str) -> list[str]:
    """Ids and slugs of ``doc`` that rows in the database already use."""
    wanted: dict[str, set[str]] = {"campaign": set(), "group": set(), "variation": set()}
    slugs = set()
    for campaign in doc["campaigns"]:
        wanted["campaign"].add(campaign["id"])
        if campaign.get("slug") is not None:
            slugs.add(campaign["slug"])
        for group in campaign["variationGroups"]:
            wanted["group"].add(group["id"])
            wanted["variation"].update(v["id"] for v in group["variations"])
    problems = []
    for model, field, kind in (
        (Campaign, "campaign_id", "campaign"),
        (VariationGroup, "group_id", "group"),
        (Variation, "variation_id", "variation"),
    ):
        found = model.objects.using(using).filter(**{f"{field}__in": wanted[kind]})
        for value in sorted(found.values_list(field, flat=True)):
            problems.append(f"the {model._meta.verbose_name} id {value!r} already exists")
    found_slugs = Campaign.objects.using(using).filter(slug__in=slugs)
    for value in sorted(found_slugs.values_list("slug", flat=True)):
        problems.append(f"the slug {value!r} already exists")
    return problems


def import_document(data: Any, *, replace: bool = True, using: str = "default") -> ImportResult:
    """Write a bucketing file's campaigns; raises :class:`.document.DocumentError`.

    With ``replace`` (the default) the file's campaigns and settings take the
    place of everything authored; otherwise they are added after the existing
    campaigns, and an id or slug already in use is refused. Nothing is
    written unless everything can be.
    """
    doc = document.canonical(data)
    counts = [0, 0, 0, 0]
    with transaction.atomic(using=using), signals.muted(using):
        if replace:
            Campaign.objects.using(using).all().delete()
            first = 0
        else:
            problems = _taken(doc, using)
            if problems:
                raise document.DocumentError(problems)
            last = Campaign.objects.using(using).order_by("-position").first()
            first = last.position + 1 if last else 0
        if replace:
            row = BucketSettings.objects.using(using).filter(pk=1).first() or BucketSettings()
            row.panic = doc["panic"]
            row.visitor_consolidation = doc.get("visitorConsolidation")
            row.generated_at = doc.get("generatedAt")
            row.account_settings = doc.get("accountSettings")
            row.save(using=using)
        for c_index, item in enumerate(doc["campaigns"]):
            for index, count in enumerate(_create(item, first + c_index, using)):
                counts[index] += count
    return ImportResult(*counts)


def _create(item: dict[str, Any], position: int, using: str) -> tuple[int, int, int, int]:
    """Rows for one campaign in canonical form: (campaigns, groups, variations, targetings)."""
    counts = [1, 0, 0, 0]
    campaign = Campaign.objects.using(using).create(
        campaign_id=item["id"],
        name=item.get("name"),
        slug=item.get("slug"),
        type=item.get("type"),
        bucket_ranges=item.get("bucketRanges"),
        position=position,
    )
    for g_index, group_item in enumerate(item["variationGroups"]):
        group = VariationGroup.objects.using(using).create(
            campaign=campaign,
            group_id=group_item["id"],
            name=group_item.get("name"),
            position=g_index,
        )
        counts[1] += 1
        targetings = [
            Targeting(
                variation_group=group,
                group=t_group,
                position=t_index,
                key=row["key"],
                operator=row["operator"],
                value=row["value"],
                provider=row.get("provider"),
            )
            for t_group, targeting_group in enumerate(
                group_item["targeting"]["targetingGroups"], start=1
            )
            for t_index, row in enumerate(targeting_group["targetings"])
        ]
        Targeting.objects.using(using).bulk_create(targetings)
        counts[3] += len(targetings)
        variations = [
            Variation(
                variation_group=group,
                variation_id=v["id"],
                name=v.get("name"),
                reference=v["reference"],
                allocation=v.get("allocation"),
                modification_type=v["modifications"]["type"],
                flags=v["modifications"]["value"],
                position=v_index,
            )
            for v_index, v in enumerate(group_item["variations"])
        ]
        Variation.objects.using(using).bulk_create(variations)
        counts[2] += len(variations)
    return counts[0], counts[1], counts[2], counts[3]


def replace_campaign(old: Campaign | None, item: Any, *, using: str = "default") -> None:
    """Write one campaign (file form) in place of ``old``, or after the others.

    Checked as a one-campaign file, then against the other campaigns' ids and
    slugs; raises :class:`.document.DocumentError`, having written nothing.
    """
    doc = document.canonical({"campaigns": [item]})
    with transaction.atomic(using=using), signals.muted(using):
        if old is not None:
            position = old.position
            old.delete()
        else:
            last = Campaign.objects.using(using).order_by("-position").first()
            position = last.position + 1 if last else 0
        problems = _taken(doc, using)
        if problems:
            raise document.DocumentError(problems)
        _create(doc["campaigns"][0], position, using)
