"""Callables the tests name in FLAGSHIP_* settings."""

from django.contrib.sessions.middleware import SessionMiddleware

from django_flagship.middleware import FlagshipMiddleware
from django_flagship.sdk.tracking import MemoryTracker


def memory_tracker(config):
    return MemoryTracker()


def header_visitor_id(request):
    return request.headers.get("X-Visitor") or None


def pair_visitor_id(request):
    return ("user-from-sso", "device-42")


def plan_context(request):
    return {"plan": request.headers.get("X-Plan", "free"), "is_staff": True}


def bad_context(request):
    raise RuntimeError("context service down")


def list_context(request):
    return ["not", "a", "dict"]


def no_consent(request):
    return False


not_callable = 42


class CustomMiddleware(FlagshipMiddleware):
    pass


class ProjectSessionMiddleware(SessionMiddleware):
    """A project's own session middleware, as many projects have."""
