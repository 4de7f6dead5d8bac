"""The Decision API, served from the bucket the app holds (``django_flagship.urls``).

Each campaigns view checks, in order: the method (405), the environment
(404), the API key (403), the body size (413) and the request (400), then
decides from the current bucket (503 while none is loaded). The activation
views, which take no key, check: the method (405), the client's request rate
(429), the body size (413), the JSON (400), the environment (404, or 403 for
one that refuses everything), the batch size (400), the client's activation
rate (429), then the activations themselves (400).

The API keys are never shown by Django's error reports: the settings hold
them in :class:`~django_flagship.decision_server.ApiKeys`, whose repr hides
them, and the views mark the variables holding them as sensitive.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from . import __version__, client
from .decision_server import (
    ActivationRequest,
    ApiError,
    DecisionRequest,
    ServerSettings,
    activation_error,
    bucket_index,
    campaign_v1,
    campaign_v2,
    check_api_key,
    decide,
    dumps,
    formatted_value,
    is_http_url,
    loads_json,
    parse_activation_v1,
    parse_activations_v2,
    parse_decision_query,
    parse_decision_request,
    parse_flag,
    parse_mode,
    render_campaigns,
    served_settings,
    track_activations,
    track_hit,
)
from .sdk.hits import Segment
from .sdk.model import Assignment
from .served_limits import RateLimited, charge_activations, charge_request, max_batch

__all__ = [
    "not_found",
    "v1_activate",
    "v1_campaign",
    "v1_campaigns",
    "v2_activate",
    "v2_campaign",
    "v2_campaigns",
]

logger = logging.getLogger("django_flagship.decision_api")

API_KEY_HEADER = "x-api-key"
VERSION_HEADER = "X-Flagship-Version"
#: Names of the variables that may hold an API key, in the views and what they call.
SECRET_VARIABLES = ("given", "keys", "key", "accepted", "candidate", "api_key")


def _json(body: Any, status: int = 200) -> HttpResponse:
    content = body if isinstance(body, bytes) else dumps(body)
    return HttpResponse(content, status=status, content_type="application/json")


def _redirect(location: str, body: Any = None) -> HttpResponse:
    response = HttpResponse(
        b"" if body is None else dumps(body), status=302, content_type="application/json"
    )
    response["Location"] = location
    return response


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
                response = _json({"message": f"method {request.method} not allowed"}, 405)
                response["Allow"] = allowed
            else:
                try:
                    response = view(request, *args, **kwargs)
                except ApiError as exc:
                    response = _json(exc.body, exc.status)
                except RateLimited as exc:
                    response = _json({"message": str(exc)}, 429)
                    response["Retry-After"] = str(exc.retry_after)
            return _stamp(response)

        return csrf_exempt(sensitive_variables(*SECRET_VARIABLES)(wrapper))

    return decorate


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under the prefix, with any method: a JSON 404, not Django's page."""
    response = _json({"message": f"no Decision API endpoint at {request.path}"}, 404)
    response["X-Content-Type-Options"] = "nosniff"
    return _stamp(response)


# -- shared steps ------------------------------------------------------------------


@sensitive_variables(*SECRET_VARIABLES)
def _served_keys(env_id: str, conf: ServerSettings) -> Iterable[str] | None:
    """The environment's keys (``None``: served without a key); 404 when not served."""
    if env_id not in conf.environments:
        raise ApiError(404, f"environment {env_id} is not served here")
    return conf.environments[env_id]


@sensitive_variables(*SECRET_VARIABLES)
def _authenticate(request: HttpRequest, keys: Iterable[str] | None) -> None:
    if keys is None:
        return  # FLAGSHIP_DECISION_API_ENVIRONMENTS = {env_id: None}: public
    if not check_api_key(request.headers.get(API_KEY_HEADER), keys):
        raise ApiError(403, f"a valid API key is required in the {API_KEY_HEADER} header")


@sensitive_variables(*SECRET_VARIABLES)
def _environment_of_key(request: HttpRequest, conf: ServerSettings) -> str:
    """For routes without an environment id (as Flagship's own server has): the key's."""
    given = request.headers.get(API_KEY_HEADER)
    for env_id, keys in conf.environments.items():
        if keys is not None and check_api_key(given, keys):
            return env_id
    raise ApiError(403, f"a valid API key is required in the {API_KEY_HEADER} header")


def _read_json(request: HttpRequest, conf: ServerSettings) -> Any:
    """The JSON body, refused with 413 past the limit before it is read whole."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid Content-Length") from None
    if declared > conf.max_body:
        raise ApiError(413, f"the body is larger than {conf.max_body} bytes")
    raw = request.read(conf.max_body + 1)
    if len(raw) > conf.max_body:
        raise ApiError(413, f"the body is larger than {conf.max_body} bytes")
    if not raw.strip():
        raise ApiError(400, "the body must be a JSON object")
    return loads_json(raw)


def _bucket() -> Any:
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
        env_id = _environment_of_key(request, conf)
    else:
        _authenticate(request, _served_keys(env_id, conf))
    expose = bool(parse_flag("exposeAllKeys", request.GET.get("exposeAllKeys"), False))
    send_context = parse_flag("sendContextEvent", request.GET.get("sendContextEvent"), True)
    mode = "normal" if campaign_id is not None else parse_mode(request.GET.get("mode"))
    if request.method == "GET":
        decision = parse_decision_query(request.GET)
    else:
        decision = parse_decision_request(_read_json(request, conf))
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
            return _redirect(decision.default_redirect_url)
        return _json({"visitorId": decision.visitor_id, "campaigns": [], "panic": True})

    index = bucket_index(bucket)
    if campaign_id is not None:
        wanted = index.campaigns.get(campaign_id)
        if wanted is None:
            if decision.default_redirect_url:
                return _redirect(decision.default_redirect_url)
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
        return _json(
            render_campaigns(
                decision.visitor_id,
                assignments,
                mode=mode,
                version=version,
                index=index,
                expose_all_keys=expose,
            )
        )
    build = campaign_v2 if version == 2 else campaign_v1
    assignment = assignments[0] if assignments else None
    value = index.value(assignment, expose) if assignment is not None else {}
    return _single_response(decision, assignment, value, build=build, version=version)


def _single_response(
    decision: DecisionRequest,
    assignment: Assignment | None,
    value: dict[str, Any],
    *,
    build: Callable[[Assignment, Any], dict[str, Any]],
    version: int,
) -> HttpResponse:
    """One campaign: JSON, 204 when not assigned, or formatted (reference table).

    IMAGE is never fetched: the answer redirects to the image URL, so no
    request leaves this server for a URL taken from a bucket or a request.
    """
    kind = assignment.modification_type if assignment is not None else None
    target = formatted_value(value) if kind in ("REDIRECT", "IMAGE") else None
    if decision.default_redirect_url:
        if kind == "REDIRECT" and is_http_url(target):
            return _redirect(target, value)
        return _redirect(decision.default_redirect_url)
    if assignment is None:
        return HttpResponse(status=204)
    if decision.format_response:
        if kind in ("REDIRECT", "IMAGE") and is_http_url(target):
            return _redirect(target, value if kind == "REDIRECT" else None)
        if kind in ("TEXT", "HTML"):
            text = formatted_value(value)
            if text is not None:
                content_type = "text/plain" if kind == "TEXT" else "text/html"
                response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
                response["X-Content-Type-Options"] = "nosniff"
                return response
        if version == 1 and kind in ("JSON", "FLAG"):
            return _json(value)
    return _json(build(assignment, value))


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


def _check_variations(items: list[ActivationRequest], prefix: Callable[[int], str]) -> None:
    """Refuse activations of variations the bucket does not have: no key protects this."""
    index = bucket_index(_bucket())
    errors = {}
    for position, item in enumerate(items):
        known = index.variations.get(item.variation_group_id)
        if known is None:
            errors[prefix(position) + "caid"] = "Unknown variation group."
        elif item.variation_id not in known:
            errors[prefix(position) + "vaid"] = "Unknown variation."
    if errors:
        raise activation_error(errors)


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


def _batch_size(data: Any) -> int:
    """How many activations the body holds; ``400`` past ``FLAGSHIP_DECISION_API_MAX_BATCH``."""
    batch = data.get("batch") if isinstance(data, dict) else None
    if not isinstance(batch, list):
        return 1
    cap = max_batch()
    if len(batch) > cap:
        raise activation_error({"batch": f"At most {cap} items."})
    return len(batch)


def _received_activations(request: HttpRequest, conf: ServerSettings) -> Any:
    """The steps every activation request goes through before its items are read."""
    charge_request(request)
    data = _read_json(request, conf)
    _activation_environment(data, conf)
    charge_activations(request, _batch_size(data))
    return data


@api_view("POST")
def v1_activate(request: HttpRequest) -> HttpResponse:
    """``POST v1/activate`` ``{vid, cid, caid, vaid}``: 204, the activation is tracked."""
    conf = served_settings()
    item = parse_activation_v1(_received_activations(request, conf), conf.environments)
    _check_variations([item], lambda position: "")
    track_activations([item])
    return HttpResponse(status=204)


@api_view("POST")
def v2_activate(request: HttpRequest) -> HttpResponse:
    """``POST v2/activate``: one activation object or ``{cid, batch: [...]}``."""
    conf = served_settings()
    data = _received_activations(request, conf)
    items = parse_activations_v2(data, conf.environments)
    batched = isinstance(data, dict) and "batch" in data
    _check_variations(items, lambda position: f"batch[{position}]." if batched else "")
    track_activations(items)
    return HttpResponse(status=204)
