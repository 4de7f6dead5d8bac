"""The Decision API's views, served from the bucket the app holds (``decision_api.urls``).

Each campaigns view checks, in order: the method (405), the environment
(404), the API key (403), the body size (413) and the request (400), then
decides from the current bucket (503 while none is loaded). The activation
views, which take no key, check: the method (405), the client's request rate
(429), the body size (413), the JSON (400), the environment (404, or 403 for
one that refuses everything), the batch size (400), the client's activation
rate (429), then the activations themselves (400).

The views only chain the steps: each lives in the module of its concern
(:mod:`.keys`, :mod:`.parsing`, :mod:`.groups`, :mod:`.render`,
:mod:`.activation`, :mod:`.limits`, :mod:`.trackers`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from .. import __version__, client
from ..sdk.bucketing import Bucket
from ..sdk.hits import Segment
from ..served_conf import ServerSettings, served_settings
from .activation import (
    ActivationRequest,
    check_variations,
    parse_activation_v1,
    parse_activations_v2,
)
from .groups import decide
from .index import bucket_index
from .keys import SECRET_VARIABLES, authenticate, environment_of_key, served_keys
from .limits import RateLimited, batch_size, charge_activations, charge_request
from .parsing import (
    DecisionRequest,
    parse_decision_query,
    parse_decision_request,
    parse_flag,
    parse_mode,
)
from .render import render_campaigns, single_campaign_response
from .trackers import track_activations, track_hit
from .wire import ApiError, json_response, read_json, redirect

__all__ = [
    "VERSION_HEADER",
    "api_view",
    "not_found",
    "v1_activate",
    "v1_campaign",
    "v1_campaigns",
    "v2_activate",
    "v2_campaign",
    "v2_campaigns",
]

logger = logging.getLogger("django_flagship.decision_api")

VERSION_HEADER = "X-Flagship-Version"


def _stamp(response: HttpResponse) -> HttpResponse:
    response[VERSION_HEADER] = __version__
    response["Cache-Control"] = "no-store"
    return response


def api_view(*methods: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """CSRF-exempt, JSON 405 for other methods, :class:`ApiError` as its JSON body.

    Every answer carries ``X-Flagship-Version`` (as Flagship's server does) and
    ``Cache-Control: no-store``: a decision belongs to one visitor.
    """
    allowed = ", ".join(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = json_response({"message": f"method {request.method} not allowed"}, 405)
                response["Allow"] = allowed
            else:
                try:
                    response = view(request, *args, **kwargs)
                except ApiError as exc:
                    response = json_response(exc.body, exc.status)
                except RateLimited as exc:
                    response = json_response({"message": str(exc)}, 429)
                    response["Retry-After"] = str(exc.retry_after)
            return _stamp(response)

        return csrf_exempt(sensitive_variables(*SECRET_VARIABLES)(wrapper))

    return decorate


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under the prefix, with any method: a JSON 404, not Django's page."""
    response = json_response({"message": f"no Decision API endpoint at {request.path}"}, 404)
    response["X-Content-Type-Options"] = "nosniff"
    return _stamp(response)


def _bucket() -> Bucket:
    bucket = client.get_bucket()
    if bucket is None:
        raise ApiError(503, "no bucketing file is loaded yet")
    return bucket


def _send_context(decision: DecisionRequest, env_id: str) -> None:
    """The SEGMENT hit Flagship's server sends for the context (protocol 1.3).

    Lists included, written as the server writes them (``"[beta news]"``).
    """
    if decision.context:
        track_hit(Segment(decision.context), decision.visitor_id, decision.anonymous_id, env_id)


# -- campaigns -----------------------------------------------------------------------


def _campaigns(
    request: HttpRequest,
    env_id: str | None,
    *,
    version: int,
    campaign_id: str | None = None,
) -> HttpResponse:
    conf = served_settings()
    if env_id is None:
        env_id = environment_of_key(request, conf)
    else:
        authenticate(request, served_keys(env_id, conf))
    expose = bool(parse_flag("exposeAllKeys", request.GET.get("exposeAllKeys"), False))
    send_context = parse_flag("sendContextEvent", request.GET.get("sendContextEvent"), True)
    mode = "normal" if campaign_id is not None else parse_mode(request.GET.get("mode"))
    if request.method == "GET":
        decision = parse_decision_query(request.GET)
    else:
        decision = parse_decision_request(read_json(request, conf.max_body))
    bucket = _bucket()
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "decision for visitor %r, context %r, group %r",
            decision.visitor_id,
            decision.context,
            decision.decision_group,
        )

    if bucket.panic:
        if campaign_id is not None and decision.default_redirect_url:
            return redirect(decision.default_redirect_url)
        return json_response({"visitorId": decision.visitor_id, "campaigns": [], "panic": True})

    index = bucket_index(bucket)
    if campaign_id is not None:
        wanted = index.campaigns.get(campaign_id)
        if wanted is None:
            if decision.default_redirect_url:
                return redirect(decision.default_redirect_url)
            raise ApiError(404, f"campaign {campaign_id} is paused or does not exist")
    assignments = decide(bucket, decision, env_id=env_id, conf=conf)
    if campaign_id is not None:
        assignments = [a for a in assignments if a.campaign_id == wanted][:1]
    if send_context and decision.visitor_consent:
        _send_context(decision, env_id)
    if decision.trigger_hit and decision.visitor_consent and assignments:
        track_activations(
            ActivationRequest(
                env_id=env_id,
                visitor_id=decision.visitor_id,
                variation_group_id=a.variation_group_id,
                variation_id=a.variation_id,
                anonymous_id=decision.anonymous_id,
            )
            for a in assignments
        )

    if campaign_id is None:
        return json_response(
            render_campaigns(
                decision.visitor_id,
                assignments,
                mode=mode,
                version=version,
                index=index,
                expose_all_keys=expose,
            )
        )
    assignment = assignments[0] if assignments else None
    value = index.value(assignment, expose) if assignment is not None else {}
    return single_campaign_response(decision, assignment, value, version=version)


@api_view("POST")
def v1_campaigns(request: HttpRequest, env_id: str) -> HttpResponse:
    """``POST v1/<env_id>/campaigns``: every campaign of the visitor, ``?mode=``."""
    return _campaigns(request, env_id, version=1)


@api_view("GET", "POST")
def v1_campaign(request: HttpRequest, env_id: str, campaign_id: str) -> HttpResponse:
    """``GET|POST v1/<env_id>/campaigns/<campaign_id>``: one campaign (id or slug)."""
    return _campaigns(request, env_id, version=1, campaign_id=campaign_id)


@api_view("POST")
def v2_campaigns(request: HttpRequest, env_id: str | None = None) -> HttpResponse:
    """``POST v2/<env_id>/campaigns[/]``, or ``v2/campaigns`` with the env of the key."""
    return _campaigns(request, env_id, version=2)


@api_view("POST")
def v2_campaign(request: HttpRequest, campaign_id: str, env_id: str | None = None) -> HttpResponse:
    """``POST v2/<env_id>/campaigns/<id>`` or ``v2/campaigns/<id>``: one campaign."""
    return _campaigns(request, env_id, version=2, campaign_id=campaign_id)


# -- activation ----------------------------------------------------------------------


def _activation_environment(data: Any, conf: ServerSettings) -> None:
    """The environment an activation names (``cid``) must be open.

    ``403`` for a served environment whose list of keys is empty (it refuses
    everything). A ``cid`` that is not served is left to the validation,
    which answers ``400`` ``Invalid cid.`` as Flagship's own server does for a
    ``cid`` other than its own; so is a missing or mistyped one.
    """
    cid = data.get("cid") if isinstance(data, dict) else None
    if not isinstance(cid, str) or not cid:
        return
    if conf.closed(cid):
        raise ApiError(403, f"environment {cid} accepts no requests")


def _received_activations(request: HttpRequest, conf: ServerSettings) -> Any:
    """The steps every activation request goes through before its items are read."""
    charge_request(request)
    data = read_json(request, conf.max_body)
    _activation_environment(data, conf)
    charge_activations(request, batch_size(data))
    return data


@api_view("POST")
def v1_activate(request: HttpRequest) -> HttpResponse:
    """``POST v1/activate`` ``{vid, cid, caid, vaid}``: 204, the activation is tracked."""
    conf = served_settings()
    item = parse_activation_v1(_received_activations(request, conf), conf.environments)
    check_variations([item], bucket_index(_bucket()), lambda position: "")
    track_activations([item])
    return HttpResponse(status=204)


@api_view("POST")
def v2_activate(request: HttpRequest) -> HttpResponse:
    """``POST v2/activate``: one activation object or ``{cid, batch: [...]}``."""
    conf = served_settings()
    data = _received_activations(request, conf)
    items = parse_activations_v2(data, conf.environments)
    batched = isinstance(data, dict) and "batch" in data
    check_variations(
        items,
        bucket_index(_bucket()),
        lambda position: f"batch[{position}]." if batched else "",
    )
    track_activations(items)
    return HttpResponse(status=204)
