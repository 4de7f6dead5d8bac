"""Who the visitor is: a returning anonymous visitor's identity is built once."""

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.cache import SessionStore
from django.test import RequestFactory

from django_flagship.client import runtime
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY, Identity, resolve_identity


def anonymous_request(session=None):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    if session is not None:
        request.session = session
    return request


def test_a_returning_anonymous_visitor_gets_the_same_identity_on_every_request():
    session = SessionStore()
    first = resolve_identity(anonymous_request(session), runtime())
    assert first.new
    assert first.new_cookie is None  # kept in the session: no cookie to set
    assert session[ANONYMOUS_ID_SESSION_KEY] == first.visitor_id
    again = resolve_identity(anonymous_request(session), runtime())
    assert again == Identity(first.visitor_id)
    assert not again.new
    assert resolve_identity(anonymous_request(session), runtime()) is again


def test_a_new_visitor_without_a_session_gets_a_cookie_every_time():
    first = resolve_identity(anonymous_request(), runtime())
    second = resolve_identity(anonymous_request(), runtime())
    assert first.new
    assert first.new_cookie == first.visitor_id
    assert second.visitor_id != first.visitor_id


def test_the_user_is_read_from_behind_the_lazy_object_once_evaluated():
    from django.utils.functional import SimpleLazyObject

    from django_flagship.identity import request_user

    user = AnonymousUser()
    evaluations = []

    def load():
        evaluations.append(1)
        return user

    request = RequestFactory().get("/")
    assert request_user(request) is None  # no AuthenticationMiddleware
    request.user = SimpleLazyObject(load)
    assert request_user(request) is user  # evaluated here, as a first read would
    assert request_user(request) is user
    assert evaluations == [1]
    request.user = user  # a plain user (a test, flags_for) is taken as it is
    assert request_user(request) is user


def test_an_authenticated_lazy_user_is_identified_by_its_primary_key(django_user_model):
    from django.utils.functional import SimpleLazyObject

    from django_flagship.context import default_context

    member = django_user_model(pk=42, username="m", is_staff=True)
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = SimpleLazyObject(lambda: member)
    assert resolve_identity(request, runtime()) == Identity("42", None, authenticated=True)
    context = default_context(request, groups=False)
    assert context["is_authenticated"] is True
    assert context["is_staff"] is True
    assert context["is_superuser"] is False
