"""``manage.py flagship_decide``: what a visitor gets, and why (for debugging)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import HttpRequest

from ...client import Runtime, get_bucket, runtime
from ...flags import RequestFlags
from ...history import session_mirror
from ...identity import ANONYMOUS_ID_SESSION_KEY, Identity
from ...sdk import Mode, history
from ...sdk.bucketing import Bucket, BucketError, CampaignOutcome
from ...sdk.context import ContextError, context_value
from ...sdk.model import Assignment, merge_flags
from ...sdk.visitor import Visitor
from ...visitor_request import RequestError, VisitorDescription, build_request, find_user
from ..decide_text import report_lines

__all__ = ["Command"]


def parse_context_item(item: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it is a number, bool, string or list."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise CommandError(f"--context takes key=value, got {item!r}")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if not isinstance(value, (str, int, float, bool, list)):
        value = text  # objects and null stay text
    try:
        value = context_value(key, value)
    except ContextError as exc:
        raise CommandError(str(exc)) from None
    return key, value


class Command(BaseCommand):
    help = (
        "Show which campaign, variation group and variation a visitor gets, and the "
        "resulting flags: a table by default (-v 2 adds the targeting details), JSON "
        "with --json. The visitor is described as a request to the site (user, session, "
        "user agent, language) and decided by the code behind request.flags: the same "
        "visitor id, context and assignment history as on the site (--no-history for the "
        "hash alone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_argument_group(
            "who the visitor is (--visitor, --user or --session is needed)"
        )
        who.add_argument(
            "--visitor",
            metavar="ID",
            help="An anonymous visitor's id: what the site keeps in the session (or in the "
            "FLAGSHIP_COOKIE_NAME cookie without sessions), as request.flags.visitor_id shows.",
        )
        who.add_argument(
            "--user",
            metavar="ID|USERNAME",
            help="A logged-in user, by primary key or username: the visitor id is then the "
            "site's id for that user (str(pk), or FLAGSHIP_VISITOR_ID's).",
        )
        who.add_argument(
            "--session",
            metavar="KEY",
            help="A session key (the value of the session cookie): the visitor id, the user "
            "logged in and the session's copy of the assignment history come from it.",
        )
        who.add_argument(
            "--anonymous",
            action="store_true",
            help="The visitor is not logged in (the default without --user).",
        )
        who.add_argument(
            "--anonymous-id",
            metavar="ID",
            help="With --user: the id the visitor had before logging in, which the session "
            "keeps; sent to the Decision API, and in BUCKETING mode its stored history is "
            "used when the user has none yet, as on the first request after a login.",
        )
        request = parser.add_argument_group("what the request carries")
        request.add_argument(
            "--user-agent",
            metavar="TEXT",
            help="The User-Agent header (device_type comes from it; without one it is "
            "'unknown', as for a request that sends none).",
        )
        request.add_argument(
            "--language",
            metavar="TEXT",
            help="The Accept-Language header, e.g. 'fr' or 'fr-CA,fr;q=0.8': the context "
            "gets the language Django picks from it for this site's LANGUAGES.",
        )
        request.add_argument(
            "--path", default="/", help="The request path, for FLAGSHIP_CONTEXT (default /)."
        )
        parser.add_argument(
            "--context",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A context value that wins over the request's; repeat it. Values are JSON "
            "when they parse: age=31, vip=true, zip='\"75001\"' (a string), "
            'tags=\'["beta", "news"]\' (a list), anything else is text.',
        )
        parser.add_argument(
            "--no-history",
            action="store_true",
            help="BUCKETING: ignore the stored assignment history and show the pure hash decision.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options.get("verbosity", 1)
        overrides = dict(parse_context_item(item) for item in options["context"])
        description = _describe(options)
        rt = runtime()
        if not rt.configured:
            raise CommandError(
                "Flagship is not configured: set FLAGSHIP_ENV_ID or FLAGSHIP_BUCKET_FILE."
            )
        try:
            request = build_request(description, cookie_name=rt.cookie_name)
        except RequestError as exc:
            raise CommandError(str(exc)) from None
        if description.session_key is not None and _needs_new_id(request, rt):
            raise CommandError(
                f"--session: session {description.session_key!r} has no visitor id yet (no "
                "flag was read with it): the site would give it a new random one."
            )
        flags = RequestFlags(request)
        visitor = flags.prepare()
        identity = flags.identity
        if not isinstance(visitor, Visitor) or identity is None:
            raise CommandError("The visitor could not be prepared: see the error logged above.")
        visitor_context = dict(visitor.context)
        if overrides:
            visitor.update_context(overrides)
        header = _header(identity, request, description, visitor_context, overrides, visitor)
        if rt.mode is Mode.BUCKETING:
            report = self._bucketing(rt, request, visitor, not options["no_history"])
        else:
            report = self._decision_api(visitor)
        report = {**header, **report}
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        else:
            self._tables(report)

    def _bucketing(
        self, rt: Runtime, request: HttpRequest, visitor: Visitor, use_history: bool
    ) -> dict[str, Any]:
        bucket, downloaded = _bucket(rt)
        history: dict[str, Any] = (
            self._history(rt, request, visitor)
            if use_history
            else {"status": "ignored", "assignments": {}}
        )
        stored = history.get("assignments") or {}
        outcomes = bucket.explain(visitor.visitor_id, visitor.decision_context, assignments=stored)
        assignments = [o.assignment for o in outcomes if o.assignment is not None]
        # By variation group: a duplicate campaign id is skipped, its group is not.
        sources = {o.variation_group_id: _source(o, stored) for o in outcomes if o.matched}
        names = _names(bucket)
        return {
            "mode": "BUCKETING",
            "bucket": {
                "version": rt.store.version if rt.store else None,
                "downloaded": downloaded,
                "source": "local" if rt.poller is not None and rt.poller.fetch else "cdn",
            },
            "panic": bucket.panic,
            "history": history,
            "campaigns": [_bucketing_row(o, stored, names) for o in outcomes],
            "flags": self._flags(assignments, sources),
        }

    @staticmethod
    def _history(rt: Runtime, request: HttpRequest, visitor: Visitor) -> dict[str, Any]:
        """The visitor's stored assignments, read exactly as ``request.flags`` reads them.

        ``sdk.history.load`` takes the session's copy when it belongs to this
        visitor, else looks the visitor id up in the Django cache (and, when the
        user has no history yet, the anonymous id's, as at login), and loads it
        into ``visitor.assignment_history``. Nothing is written back: the
        command changes no history and sends no hit.
        """
        if rt.history is None:
            return {"status": "off", "assignments": {}}
        loaded = history.load(rt.history, visitor, session_mirror(request, rt))
        if loaded is None:
            return {"status": "unavailable", "assignments": {}}
        assignments = dict(visitor.assignment_history)
        if loaded.copied:
            return {
                "status": "copied",
                "owner": visitor.anonymous_id,
                "assignments": assignments,
            }
        if not assignments:
            return {"status": "none", "assignments": {}}
        return {
            "status": "stored",
            "owner": visitor.visitor_id,
            "read_from": "session" if loaded.mirrored else "cache",
            "assignments": assignments,
        }

    def _decision_api(self, visitor: Visitor) -> dict[str, Any]:
        if not visitor.synchronize_modifications():
            raise CommandError(f"The Decision API call failed: {visitor.last_error}")
        return {
            "mode": "DECISION_API",
            "panic": visitor.panic,
            "campaigns": [
                {
                    "campaign_id": a.campaign_id,
                    "campaign_name": a.campaign_name,
                    "result": "matched",
                    "source": "decision_api",
                    "variation_group_id": a.variation_group_id,
                    "variation_group_name": a.variation_group_name,
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
                "campaign_name": flag.assignment.campaign_name,
                "variation_id": flag.assignment.variation_id,
                "variation_name": flag.assignment.variation_name,
                "source": sources.get(flag.assignment.variation_group_id),
            }
            for key, flag in merge_flags(assignments).items()
        }

    def _tables(self, report: dict[str, Any]) -> None:
        for line in report_lines(report, verbose=self.verbosity >= 2):
            self.stdout.write(line)


def _bucket(rt: Runtime) -> tuple[Bucket, bool]:
    """The bucket the site decides with; downloaded now if the cache holds none.

    A cache private to each process (the README's ``locmemcache://``) is
    empty in a new process, so the command downloads the bucket as the
    site's first request would, rather than tell the user to run a refresh
    whose result it could not see either.
    """
    store, poller = rt.store, rt.poller
    # Asked before the first read: that read may start the store's poller,
    # which can download the bucket before the read returns.
    held = _cache_holds_bucket(store)
    bucket = get_bucket()
    if bucket is not None:
        return bucket, not held
    if poller is None or not (poller.url or poller.fetch):
        raise CommandError("No bucket is available: run 'manage.py flagship_refresh_bucket' first.")
    try:
        poller.refresh(force=True)
    except BucketError as exc:
        raise CommandError(f"No bucket is available, and downloading it failed: {exc}") from None
    bucket = poller.current()
    if bucket is None:
        raise CommandError("No bucket is available: the download gave none.")
    return bucket, True


def _cache_holds_bucket(store: Any) -> bool:
    if store is None:
        return False
    try:
        return store.cached_entry() is not None
    except Exception:  # unreachable or undecodable: the read below says more
        return False


def _describe(options: dict[str, Any]) -> VisitorDescription:
    """The request the options describe; refuses combinations no request has."""
    visitor_id, user_text, session_key = options["visitor"], options["user"], options["session"]
    anonymous_id = options["anonymous_id"]
    if visitor_id is None and user_text is None and session_key is None:
        raise CommandError(
            "Say who the visitor is: --visitor ID, --user ID|USERNAME or --session KEY."
        )
    if user_text is not None and options["anonymous"]:
        raise CommandError("--user and --anonymous contradict each other.")
    if visitor_id is not None and user_text is not None:
        raise CommandError(
            "--visitor is an anonymous visitor's id; a logged-in user's id is the site's "
            "id for the user: pass --user alone (and --anonymous-id for the id the visitor "
            "had before logging in)."
        )
    if visitor_id is not None and session_key is not None:
        raise CommandError("--visitor and --session both say who the visitor is: pass one.")
    if anonymous_id is not None and user_text is None:
        raise CommandError(
            "--anonymous-id goes with --user: it is the id a visitor had before logging in "
            "(an anonymous visitor's own id is --visitor)."
        )
    user = None
    if user_text is not None:
        try:
            user = find_user(user_text)
        except RequestError as exc:
            raise CommandError(f"--user: {exc}") from None
    return VisitorDescription(
        visitor_id=visitor_id,
        anonymous_id=anonymous_id,
        user=user,
        anonymous=options["anonymous"],
        session_key=session_key,
        user_agent=options["user_agent"],
        accept_language=options["language"],
        path=options["path"],
    )


def _needs_new_id(request: HttpRequest, rt: Runtime) -> bool:
    """An anonymous session without a visitor id: the site would make one up."""
    if rt.visitor_id_hook is not None:
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    return ANONYMOUS_ID_SESSION_KEY not in request.session


def _header(
    identity: Identity,
    request: HttpRequest,
    description: VisitorDescription,
    visitor_context: dict[str, Any],
    overrides: dict[str, Any],
    visitor: Visitor,
) -> dict[str, Any]:
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    context = visitor.decision_context
    return {
        "visitor_id": identity.visitor_id,
        "anonymous_id": identity.anonymous_id,
        "user": (
            {"pk": str(user.pk), "username": user.get_username()}  # type: ignore[union-attr]
            if authenticated
            else None
        ),
        "request": {
            "path": request.path,
            "user_agent": description.user_agent,
            "accept_language": description.accept_language,
            "session": description.session_key,
        },
        "consent": visitor.consent,
        "context": context,
        "context_sources": {
            key: "--context" if key in overrides else "request" if key in visitor_context else "SDK"
            for key in context
        },
    }


def _names(bucket: Bucket) -> dict[str, tuple[str | None, dict[str, str | None]]]:
    """Campaign id -> (name, {variation group id: name}); the first of a repeated id."""
    names: dict[str, tuple[str | None, dict[str, str | None]]] = {}
    for campaign in bucket.campaigns:
        if campaign.id not in names:
            groups = {group.id: group.name for group in campaign.variation_groups}
            names[campaign.id] = (campaign.name, groups)
    return names


def _bucketing_row(
    outcome: CampaignOutcome,
    stored: dict[str, str],
    names: dict[str, tuple[str | None, dict[str, str | None]]],
) -> dict[str, Any]:
    campaign_name, group_names = names.get(outcome.campaign_id, (None, {}))
    assignment = outcome.assignment
    group_id = outcome.variation_group_id
    return {
        "campaign_id": outcome.campaign_id,
        "campaign_name": campaign_name,
        "result": outcome.reason,
        "source": _source(outcome, stored),
        "variation_group_id": group_id,
        "variation_group_name": group_names.get(group_id) if group_id else None,
        "variation_id": assignment.variation_id if assignment else None,
        "variation_name": assignment.variation_name if assignment else None,
        "bucket": outcome.bucket,
        "detail": list(outcome.detail),
    }


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
