"""The admin: campaigns, their variation groups (targeting and variations on one page).

A variation group's targeting rows and variations are edited together and
checked as a whole (:mod:`.forms`); Django's admin saves a page in one
transaction, and the document reaches the cache when it commits.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from .forms import (
    BucketSettingsForm,
    CampaignForm,
    TargetingForm,
    TargetingFormSet,
    VariationForm,
    VariationFormSet,
)
from .models import BucketSettings, Campaign, Targeting, Variation, VariationGroup

__all__ = ["BucketSettingsAdmin", "CampaignAdmin", "VariationGroupAdmin"]


class VariationGroupInline(admin.TabularInline):
    model = VariationGroup
    fields = ("group_id", "name", "position", "summary")
    readonly_fields = ("summary",)
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A group is added on its own page, with its targeting and variations.
        return False

    @admin.display(description="targeting and variations")
    def summary(self, group: VariationGroup) -> str:
        variations = ", ".join(
            f"{v} {v.allocation if v.allocation is not None else 0}%"
            for v in group.variations.all()
        )
        targetings = " / ".join(str(t) for t in group.targetings.all())
        return f"{targetings or 'no targeting'} → {variations or 'no variation'}"


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("__str__", "campaign_id", "slug", "type", "enabled", "position", "flag_keys")
    list_filter = ("enabled", "type")
    search_fields = ("campaign_id", "name", "slug")
    readonly_fields = ("add_group",)
    inlines = (VariationGroupInline,)
    actions = ("enable", "disable")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        return fields if obj is not None else [f for f in fields if f != "add_group"]

    @admin.display(description="flags")
    def flag_keys(self, campaign: Campaign) -> str:
        keys: list[str] = []
        for group in campaign.variation_groups.all():
            for variation in group.variations.all():
                keys += [key for key in variation.flags if key not in keys]
        return ", ".join(keys)

    @admin.display(description="variation groups")
    def add_group(self, campaign: Campaign) -> str:
        url = reverse("admin:flagship_authoring_variationgroup_add")
        return format_html('<a href="{}?campaign={}">Add a variation group</a>', url, campaign.pk)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return super().get_queryset(request).prefetch_related("variation_groups__variations")

    @admin.action(description="Enable the selected campaigns")
    def enable(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected campaigns")
    def disable(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Campaign], on: bool) -> None:
        # save() rather than update(): each change sends the signal that publishes it.
        changed = 0
        for campaign in queryset:
            if campaign.enabled != on:
                campaign.enabled = on
                campaign.save(update_fields=["enabled", "updated_at"])
                changed += 1
        self.message_user(
            request, f"{'Enabled' if on else 'Disabled'} {changed} campaign(s).", messages.SUCCESS
        )


class TargetingInline(admin.TabularInline):
    model = Targeting
    form = TargetingForm
    formset = TargetingFormSet
    extra = 1


class VariationInline(admin.StackedInline):
    model = Variation
    form = VariationForm
    formset = VariationFormSet
    extra = 1


@admin.register(VariationGroup)
class VariationGroupAdmin(admin.ModelAdmin):
    fields = ("campaign", "group_id", "name", "position")
    list_display = ("__str__", "group_id", "campaign", "position")
    list_select_related = ("campaign",)
    search_fields = ("group_id", "name", "campaign__name", "campaign__slug")
    inlines = (TargetingInline, VariationInline)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # reached from its campaign

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("name", "Everyone")
        return initial


@admin.register(BucketSettings)
class BucketSettingsAdmin(admin.ModelAdmin):
    form = BucketSettingsForm
    readonly_fields = ("changed_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not BucketSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
