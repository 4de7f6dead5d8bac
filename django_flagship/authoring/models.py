"""Campaigns authored in Django, one row per part of Flagship's bucketing file.

A :class:`Campaign` has :class:`VariationGroup` s in order; a variation group
has its targeting as :class:`Targeting` rows (rows with the same ``group``
number are ANDed, groups are ORed) and its :class:`Variation` s, each with an
allocation and its flags. :class:`BucketSettings` holds the file's own fields
and ``changed_at``, moved in the same transaction as every change (see
:mod:`.signals`), which the served file's ``Last-Modified`` comes from.

A nullable field left empty is a key the file leaves out (a variation without
``allocation``, a campaign without ``bucketRanges``), so that a file comes
back from an import and an export as it was (hence ``null=True`` on text
fields: ``None`` is "no such key", ``""`` an empty string).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from . import document

__all__ = ["BucketSettings", "Campaign", "Targeting", "Variation", "VariationGroup"]


def default_account_settings() -> dict[str, Any]:
    return {"enabledXPC": False, "enabled1V1T": False}


def default_bucket_ranges() -> list[dict[str, Any]]:
    return [{"r": [0, 100]}]


def _check(message: str | None, field: str | None = None) -> None:
    if message:
        raise ValidationError({field: message} if field else message)


def _validate_id(value: Any) -> None:
    _check(document.id_problem(value))


class BucketSettings(models.Model):
    """The file's own fields (one row), and when the authored campaigns last changed."""

    panic = models.BooleanField(
        default=False, help_text="Panic mode: every visitor gets every flag's default."
    )
    visitor_consolidation = models.BooleanField(
        "visitorConsolidation", null=True, blank=True, default=False
    )
    account_settings = models.JSONField(
        "accountSettings",
        null=True,
        blank=True,
        default=default_account_settings,
        help_text='For example {"enabledXPC": false, "enabled1V1T": false}. '
        "enabled1V1T: a visitor gets one ab campaign at most.",
    )
    generated_at = models.CharField(  # noqa: DJ001
        "generatedAt",
        max_length=document.MAX_TEXT,
        null=True,
        blank=True,
        help_text="Kept as imported; no decision reads it.",
    )
    changed_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "bucketing file settings"
        verbose_name_plural = "bucketing file settings"

    def __str__(self) -> str:
        return "Bucketing file settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        self.changed_at = timezone.now()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        _check(document.account_settings_problem(self.account_settings), "account_settings")

    @classmethod
    def load(cls) -> BucketSettings:
        """The one row, created with its defaults when missing."""
        row, _created = cls.objects.get_or_create(pk=1)
        return row


class Campaign(models.Model):
    campaign_id = models.CharField(
        "id",
        max_length=document.MAX_ID,
        unique=True,
        default=document.new_id,
        validators=[_validate_id],
        help_text="Hits and activations carry it. Letters, digits, - and _.",
    )
    name = models.CharField(max_length=document.MAX_TEXT, null=True, blank=True)  # noqa: DJ001
    slug = models.CharField(
        max_length=document.MAX_TEXT,
        null=True,
        blank=True,
        unique=True,
        help_text="Optional; flagship_flag finds its campaigns by slug (the flag key).",
    )
    type = models.CharField(  # noqa: DJ001
        max_length=32,
        null=True,
        blank=True,
        default="toggle",
        help_text="ab, toggle, perso or deployment. With enabled1V1T a visitor gets one "
        "ab campaign at most.",
    )
    bucket_ranges = models.JSONField(
        "bucketRanges",
        null=True,
        blank=True,
        default=default_bucket_ranges,
        help_text='The share of visitors the campaign is open to: [{"r": [0, 100]}] is '
        'everyone, [{"r": [0, 50]}] half of them. Empty: no bucketRanges key.',
    )
    enabled = models.BooleanField(
        default=True, help_text="Only enabled campaigns are in the bucketing file."
    )
    position = models.IntegerField(
        default=0, help_text="File order: a flag set by two campaigns takes the later one."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name or self.slug or self.campaign_id

    def clean(self) -> None:
        _check(document.ranges_problem(self.bucket_ranges), "bucket_ranges")
        if self.type is not None and not self.type.strip():
            self.type = None


class VariationGroup(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="variation_groups"
    )
    group_id = models.CharField(
        "id",
        max_length=document.MAX_ID,
        unique=True,
        default=document.new_id,
        validators=[_validate_id],
        help_text="The hash of this id and the visitor id picks the variation: "
        "changing it moves visitors.",
    )
    name = models.CharField(max_length=document.MAX_TEXT, null=True, blank=True)  # noqa: DJ001
    position = models.IntegerField(
        default=0, help_text="The first variation group whose targeting matches is used."
    )

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name or self.group_id


class Targeting(models.Model):
    variation_group = models.ForeignKey(
        VariationGroup, on_delete=models.CASCADE, related_name="targetings"
    )
    group = models.PositiveIntegerField(
        default=1,
        help_text="Rows with the same group number must all match (AND); "
        "one matching group is enough (OR).",
    )
    position = models.IntegerField(default=0)
    key = models.CharField(
        max_length=document.MAX_TEXT,
        help_text="A context key; fs_all_users is everyone, fs_users the visitor id.",
    )
    operator = models.CharField(
        max_length=40, choices=[(name, name) for name in document.OPERATORS], default="EQUALS"
    )
    value = models.JSONField(
        blank=True, help_text='JSON: "gold", 18, true, ["fr", "de"]; a bare word is a string.'
    )
    provider = models.CharField(  # noqa: DJ001
        max_length=document.MAX_TEXT,
        null=True,
        blank=True,
        help_text="An integration's data; a local engine never has it (the key reads as missing).",
    )

    class Meta:
        ordering = ("group", "position", "id")

    def __str__(self) -> str:
        return f"{self.key} {self.operator} {document.dumps(self.value)}"

    def clean(self) -> None:
        _check(document.targeting_problem(self.key, self.operator, self.value, self.provider))


class Variation(models.Model):
    variation_group = models.ForeignKey(
        VariationGroup, on_delete=models.CASCADE, related_name="variations"
    )
    variation_id = models.CharField(
        "id",
        max_length=document.MAX_ID,
        unique=True,
        default=document.new_id,
        validators=[_validate_id],
    )
    name = models.CharField(max_length=document.MAX_TEXT, null=True, blank=True)  # noqa: DJ001
    reference = models.BooleanField(
        default=False, help_text="The original, the others are compared with it."
    )
    allocation = models.IntegerField(
        null=True,
        blank=True,
        default=0,
        help_text="Percent of the visitors of the group, 0 to 100; the group's add up to "
        "100 at most. Empty: no allocation key (no traffic).",
    )
    modification_type = models.CharField(
        "modifications type",
        max_length=20,
        choices=[(name, name) for name in document.MODIFICATION_TYPES],
        default="FLAG",
    )
    flags = models.JSONField(
        "flags",
        default=dict,
        blank=True,
        help_text='modifications.value: a JSON object, {"btnColor": "red", "vip": true}.',
    )
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name or self.variation_id

    def clean(self) -> None:
        _check(document.flags_problem(self.flags), "flags")
        if self.allocation is not None and not 0 <= self.allocation <= 100:
            raise ValidationError({"allocation": "an allocation is from 0 to 100"})
