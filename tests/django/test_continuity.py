"""Login continuity under attack: a planted session must not hand its visitor to an account.

The attacker picks an anonymous id whose variation differs from the victim's
own, gets a session holding it, and plants that session's cookie in the
victim's browser. Signed-cookie sessions make the replay real: the attacker
keeps a copy of the cookie after using it.
"""

import mmh3
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.signed_cookies import SessionStore as CookieSession
from django.core.cache import caches
from django.test import Client

from django_flagship import client as flagship_client
from django_flagship.continuity import owner_key
from django_flagship.identity import ANONYMOUS_ID_SESSION_KEY, LINKED_ID_SESSION_KEY

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]

COOKIE_SESSIONS = "django.contrib.sessions.backends.signed_cookies"


def variation(visitor_id: str) -> str:
    return "blue" if mmh3.hash("vg-ab" + visitor_id, signed=False) % 100 < 50 else "green"


def read(browser: Client) -> dict:
    response = browser.get("/read/", {"key": "ab_color", "type": "str"})
    assert response.status_code == 200
    data = response.json()
    return {"color": data["values"]["ab_color"], "anonymous_id": data["anonymous_id"]}


def other_than(user: User) -> str:
    """An anonymous id whose hash gives the other variation than the user's own."""
    own = variation(str(user.pk))
    return next(f"anon-{n}" for n in range(1000) if variation(f"anon-{n}") != own)


def planted_cookie(anonymous_id: str) -> str:
    """A cookie-based session holding ``anonymous_id``, as the attacker's browser has it."""
    session = CookieSession()
    session[ANONYMOUS_ID_SESSION_KEY] = anonymous_id
    session.save()
    return session.session_key


def browser_with(cookie: str) -> Client:
    browser = Client()
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    return browser


def test_a_replayed_session_cannot_link_its_id_to_a_second_account(configured):
    configured.SESSION_ENGINE = COOKIE_SESSIONS
    attacker = User.objects.create_user("mallory")
    victim = User.objects.create_user("victim")
    anonymous = other_than(victim)
    cookie = planted_cookie(anonymous)

    # The attacker browses with the session, so its variation is remembered, then logs in.
    own = browser_with(cookie)
    assert read(own) == {"color": variation(anonymous), "anonymous_id": None}
    read(own)  # back again: the history is written to the cache now
    own.force_login(attacker)
    assert read(own)["anonymous_id"] == anonymous

    # The same cookie, replayed into the victim's browser before the victim logs in.
    target = browser_with(cookie)
    target.force_login(victim)
    seen = read(target)
    assert seen == {"color": variation(str(victim.pk)), "anonymous_id": None}
    assert seen["color"] != variation(anonymous)
    assert ANONYMOUS_ID_SESSION_KEY not in target.session
    owner = caches["default"].get(owner_key(flagship_client.runtime().namespace, anonymous))
    assert owner == str(attacker.pk)


def test_a_planted_session_links_one_account_at_most(configured):
    """An id no account took yet goes to the first one; the same cookie then works no more."""
    first, second = User.objects.create_user("ada"), User.objects.create_user("grace")
    anonymous = other_than(second)
    configured.SESSION_ENGINE = COOKIE_SESSIONS
    cookie = planted_cookie(anonymous)
    one = browser_with(cookie)
    read(one)
    one.force_login(first)
    assert read(one) == {"color": variation(anonymous), "anonymous_id": anonymous}
    two = browser_with(cookie)
    two.force_login(second)
    assert read(two) == {"color": variation(str(second.pk)), "anonymous_id": None}


def test_the_legitimate_visitor_keeps_its_variation_and_id(client, configured):
    user = User.objects.create_user("ada")
    anonymous = other_than(user)
    session = client.session
    session[ANONYMOUS_ID_SESSION_KEY] = anonymous
    session.save()
    before = read(client)
    client.force_login(user)
    assert read(client) == {"color": before["color"], "anonymous_id": anonymous}
    # Logging in again in the same session (a "confirm your password" page) keeps it.
    client.force_login(user)
    assert read(client) == {"color": before["color"], "anonymous_id": anonymous}
    assert client.session[LINKED_ID_SESSION_KEY] == [str(user.pk), anonymous]
    # Another user logging in on this browser does not inherit it (Django flushes the session).
    client.force_login(User.objects.create_user("grace"))
    assert read(client)["anonymous_id"] is None


def test_an_id_put_in_the_session_after_login_is_not_linked(client, configured):
    user = User.objects.create_user("ada")
    client.force_login(user)
    session = client.session
    session[ANONYMOUS_ID_SESSION_KEY] = other_than(user)
    session.save()
    assert read(client) == {"color": variation(str(user.pk)), "anonymous_id": None}


def test_when_the_cache_cannot_say_the_id_is_not_carried_over(
    client, configured, monkeypatch, caplog
):
    user = User.objects.create_user("ada")
    anonymous = other_than(user)
    session = client.session
    session[ANONYMOUS_ID_SESSION_KEY] = anonymous
    session.save()
    read(client)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "add", down)
    client.force_login(user)
    monkeypatch.undo()
    assert read(client)["anonymous_id"] is None
    assert "it is not carried over at login" in caplog.text
