"""``manage.py flagship_flag``: create, change, list, show, enable, disable, delete flags.

::

    manage.py flagship_flag create vip_feature                        # true for everyone
    manage.py flagship_flag create vip_feature --value true --percent 50 --target plan=gold
    manage.py flagship_flag create btn_color --split red=50 --split blue=50
    manage.py flagship_flag update vip_feature --percent 80
    manage.py flagship_flag list
    manage.py flagship_flag show vip_feature
    manage.py flagship_flag disable vip_feature
    manage.py flagship_flag delete vip_feature

Each flag is a campaign whose slug is the key (:mod:`...flags`); every change
is checked whole and written in one transaction, or not at all.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from ... import document
from ...compiler import campaign_document
from ...flags import TYPES, FlagSpec, coerce, parse_target
from ...models import Campaign
from ...source import is_local
from ...transfer import replace_campaign

__all__ = ["Command"]


def _percent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"--percent {text!r} is not a whole number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise CommandError(f"--percent {value} is not from 0 to 100")
    return value


class Command(BaseCommand):
    help = (
        "Create and change feature flags authored in Django (FLAGSHIP_BUCKET_SOURCE = "
        '"local"): one campaign per flag key. Errors exit non-zero and change nothing.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        for name, text in (("create", "create a flag"), ("update", "change a flag")):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("key", help="the flag key, as the code reads it")
            sub.add_argument("--type", choices=TYPES, help="the value's type (default: guessed)")
            sub.add_argument(
                "--value", help="the value the visitors get (default for a new flag: true)"
            )
            sub.add_argument(
                "--percent", help="share of the targeted visitors who get it (default 100)"
            )
            sub.add_argument(
                "--split",
                action="append",
                metavar="VALUE=PERCENT",
                help="an A/B test: each value to this share (repeat); the first is the reference",
            )
            sub.add_argument(
                "--target",
                action="append",
                metavar="EXPR",
                help="plan=gold, age>=18, 'country CONTAINS fr'; repeated targets must all "
                "match (default: everyone)",
            )
            sub.add_argument("--everyone", action="store_true", help="drop the targets")
            sub.add_argument("--name", help="the campaign's name (default: the key)")
        actions.add_parser("list", help="list the authored campaigns and their flags")
        for name, text in (
            ("show", "print a flag's campaign as in the bucketing file"),
            ("enable", "serve the flag again"),
            ("disable", "stop serving the flag (it serves the code's default)"),
            ("delete", "delete the flag's campaign"),
        ):
            actions.add_parser(name, help=text).add_argument("key")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action not in ("list", "show") and not is_local():
            self.stderr.write(
                'Note: FLAGSHIP_BUCKET_SOURCE is not "local": the site does not decide from '
                "the flags authored here."
            )
        try:
            getattr(self, f"_{action}")(**options)
        except DatabaseError as exc:
            raise CommandError(
                f"The database could not be used ({type(exc).__name__}: {exc}). Has "
                "'manage.py migrate' run since 'django_flagship.authoring' was installed?"
            ) from None

    # -- finding ---------------------------------------------------------------

    @staticmethod
    def _find(key: str) -> Campaign:
        campaign = Campaign.objects.filter(slug=key).first()
        if campaign is None:
            campaign = Campaign.objects.filter(campaign_id=key).first()
        if campaign is None:
            setters = [
                c.slug or c.campaign_id
                for c in Campaign.objects.prefetch_related("variation_groups__variations")
                if any(key in v.flags for g in c.variation_groups.all() for v in g.variations.all())
            ]
            more = f"; campaigns that set it: {', '.join(setters)}" if setters else ""
            raise CommandError(f"No flag {key!r}{more}. 'flagship_flag list' shows them all.")
        return campaign

    # -- creating and changing ---------------------------------------------------

    def _spec(self, key: str, options: dict[str, Any], base: FlagSpec | None) -> FlagSpec:
        kind = options.get("type")
        try:
            if options.get("split"):
                if options.get("value") is not None or options.get("percent") is not None:
                    raise CommandError("--split gives values and shares: no --value or --percent")
                split = []
                for item in options["split"]:
                    raw, sep, share = item.rpartition("=")
                    if not sep or not raw:
                        raise CommandError(f"--split {item!r} is not VALUE=PERCENT")
                    split.append((coerce(raw, kind), _percent(share)))
                changes: dict[str, Any] = {"split": tuple(split)}
            else:
                changes = {}
                if options.get("value") is not None:
                    changes["value"] = coerce(options["value"], kind)
                    changes["split"] = ()
                elif kind is not None and base is None:
                    changes["value"] = coerce("true", kind) if kind == "bool" else None
                if options.get("percent") is not None:
                    if base is not None and base.split and "value" not in changes:
                        raise CommandError(
                            f"{key!r} is a split: give --split VALUE=PERCENT for each value"
                        )
                    changes["percent"] = _percent(options["percent"])
            if options.get("everyone"):
                changes["targets"] = ()
            elif options.get("target"):
                changes["targets"] = tuple(parse_target(t) for t in options["target"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if changes.get("value", True) is None:
            raise CommandError(f"--type {kind} needs --value")
        if options.get("name"):
            changes["name"] = options["name"]
        current = base or FlagSpec(key)
        return FlagSpec(**{**current.__dict__, **changes})

    def _write(self, old: Campaign | None, item: dict[str, Any]) -> None:
        try:
            replace_campaign(old, item)
        except document.DocumentError as exc:
            raise CommandError(
                "Nothing was changed:\n" + "\n".join(f"  {p}" for p in exc.problems)
            ) from None

    def _create(self, key: str, **options: Any) -> None:
        problem = document.flags_problem({key: True})
        if problem:
            raise CommandError(problem)
        if Campaign.objects.filter(slug=key).exists():
            raise CommandError(
                f"The flag {key!r} exists; change it with 'flagship_flag update {key} ...'."
            )
        spec = self._spec(key, options, None)
        self._write(None, spec.campaign())
        self.stdout.write(f"Created {key!r}: {self._describe(spec)}.")

    def _update(self, key: str, **options: Any) -> None:
        campaign = self._find(key)
        existing = campaign_document(campaign)
        base = _spec_of(key, existing)
        if base is None:
            raise CommandError(
                f"{key!r} has more than one variation group or not one flag per variation: "
                "change it in the admin."
            )
        spec = self._spec(key, options, base)
        self._write(campaign, spec.campaign(existing))
        self.stdout.write(f"Updated {key!r}: {self._describe(spec)}.")

    @staticmethod
    def _describe(spec: FlagSpec) -> str:
        who = " and ".join(
            f"{t['key']} {t['operator']} {json.dumps(t['value'])}" for t in spec.targets
        )
        where = f"visitors with {who}" if who else "everyone"
        if spec.split:
            parts = ", ".join(f"{json.dumps(v)} {p}%" for v, p in spec.split)
            return f"{parts} of {where}"
        return f"{json.dumps(spec.value)} for {spec.percent}% of {where}"

    # -- the rest ------------------------------------------------------------------

    def _list(self, **options: Any) -> None:
        campaigns = Campaign.objects.prefetch_related("variation_groups__variations")
        if not campaigns:
            self.stdout.write("No authored campaign. Create one: flagship_flag create KEY")
            return
        for campaign in campaigns:
            keys: list[str] = []
            for group in campaign.variation_groups.all():
                for variation in group.variations.all():
                    keys += [k for k in variation.flags if k not in keys]
            state = "on " if campaign.enabled else "off"
            name = campaign.slug or campaign.campaign_id
            self.stdout.write(
                f"{state} {name:<30} {campaign.type or '-':<8} flags: {', '.join(keys) or '-'}"
            )

    def _show(self, key: str, **options: Any) -> None:
        campaign = self._find(key)
        data = campaign_document(campaign)
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        if not campaign.enabled:
            self.stdout.write("(disabled: not in the bucketing file)")

    def _set_enabled(self, key: str, enabled: bool) -> None:
        campaign = self._find(key)
        if campaign.enabled == enabled:
            self.stdout.write(f"{key!r} is already {'enabled' if enabled else 'disabled'}.")
            return
        with transaction.atomic():
            campaign.enabled = enabled
            campaign.save(update_fields=["enabled", "updated_at"])
        self.stdout.write(f"{'Enabled' if enabled else 'Disabled'} {key!r}.")

    def _enable(self, key: str, **options: Any) -> None:
        self._set_enabled(key, True)

    def _disable(self, key: str, **options: Any) -> None:
        self._set_enabled(key, False)

    def _delete(self, key: str, **options: Any) -> None:
        campaign = self._find(key)
        with transaction.atomic():
            campaign.delete()
        self.stdout.write(f"Deleted {key!r}.")


def _spec_of(key: str, item: dict[str, Any]) -> FlagSpec | None:
    """The :class:`FlagSpec` a command-shaped campaign was made from, or ``None``."""
    groups = item["variationGroups"]
    if len(groups) != 1 or len(groups[0]["targeting"]["targetingGroups"]) != 1:
        return None
    variations = groups[0]["variations"]
    if not variations or any(list(v["modifications"]["value"]) != [key] for v in variations):
        return None
    targets = tuple(
        t
        for t in groups[0]["targeting"]["targetingGroups"][0]["targetings"]
        if t["key"] != document.ALL_USERS
    )
    if item.get("type") == "ab" or len(variations) > 1:
        split = tuple(
            (v["modifications"]["value"][key], v.get("allocation") or 0) for v in variations
        )
        return FlagSpec(key, split=split, targets=targets, name=item.get("name"))
    only = variations[0]
    return FlagSpec(
        key,
        value=only["modifications"]["value"][key],
        percent=only.get("allocation") or 0,
        targets=targets,
        name=item.get("name"),
    )
