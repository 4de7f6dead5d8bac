"""The user's group names in the default context: ``groups CONTAINS "beta-testers"``."""

import json
import logging

import pytest
from django.contrib.auth.models import Group, User
from django.core.checks import Error
from django.db import DatabaseError

from django_flagship import client
from django_flagship.checks import check_settings
from django_flagship.context import build_context, default_context, group_names
from django_flagship.flags import RequestFlags
from django_flagship.sdk.context import MAX_CONTEXT_LIST_ITEMS

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]

BETA = {
    "id": "c-beta",
    "type": "toggle",
    "variationGroups": [
        {
            "id": "vg-beta",
            "targeting": {
                "targetingGroups": [
                    {
                        "targetings": [
                            {"key": "groups", "operator": "CONTAINS", "value": "beta-testers"}
                        ]
                    }
                ]
            },
            "variations": [
                {
                    "id": "v-beta",
                    "reference": False,
                    "allocation": 100,
                    "modifications": {"type": "FLAG", "value": {"beta_feature": True}},
                }
            ],
        }
    ],
}


@pytest.fixture
def beta_site(configured, bucket_path):
    data = json.loads(bucket_path.read_text())
    data["campaigns"].append(BETA)
    bucket_path.write_text(json.dumps(data))
    return configured


def user_in(*groups, name="ada"):
    user = User.objects.create_user(name)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def beta_feature(test_client):
    response = test_client.get("/read/", {"key": "beta_feature"})
    return response.json()["values"]["beta_feature"]


def test_a_campaign_targets_a_django_group(beta_site, client):
    client.force_login(user_in("editors", "beta-testers"))
    assert beta_feature(client) is True
    client.force_login(user_in("editors", name="bob"))
    assert beta_feature(client) is False
    client.logout()
    assert beta_feature(client) is False


def test_the_setting_turns_the_groups_off(beta_site, client):
    beta_site.FLAGSHIP_CONTEXT_GROUPS = False
    client.force_login(user_in("beta-testers"))
    assert beta_feature(client) is False


def test_the_groups_are_a_sorted_list_of_names_and_anonymous_visitors_have_none(rf, beta_site):
    user = user_in("zeta", "Alpha", "beta-testers")
    request = rf.get("/")
    request.user = user
    assert default_context(request)["groups"] == ("Alpha", "beta-testers", "zeta")
    assert "groups" not in default_context(request, groups=False)
    request.user = User.objects.get(pk=user.pk)  # another user object: read again
    assert default_context(request)["groups"] == ("Alpha", "beta-testers", "zeta")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert default_context(request)["groups"] == ()


def count_queries(client, path="/read/"):
    """The queries of a returning visitor's request (a first one settles the session)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path, {"key": ["beta_feature", "vip_feature"]})
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, {"key": ["beta_feature", "vip_feature"]}).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_query_cost_none_for_anonymous_one_per_request_for_a_user(beta_site, client):
    """Measured: anonymous visitors pay no query; a user pays one, once per request."""
    anonymous_on = count_queries(client)
    beta_site.FLAGSHIP_CONTEXT_GROUPS = False
    anonymous_off = count_queries(client)
    assert len(anonymous_on) == len(anonymous_off)
    assert not [sql for sql in anonymous_on if "auth_group" in sql]

    client.force_login(user_in("beta-testers", "editors"))
    off = count_queries(client)
    beta_site.FLAGSHIP_CONTEXT_GROUPS = True
    on = count_queries(client)
    assert len(on) == len(off) + 1
    assert len([sql for sql in on if "auth_group" in sql]) == 1
    assert not [sql for sql in off if "auth_group" in sql]
    # a page that reads no flag builds no context: no query at all
    assert not [sql for sql in count_queries(client, "/untouched/") if "auth_group" in sql]


def test_the_groups_are_read_once_per_request(rf, beta_site, django_assert_num_queries):
    request = rf.get("/")
    request.user = user_in("beta-testers")
    request.session = {}
    with django_assert_num_queries(1):
        first = build_context(request, client.runtime())
        again = build_context(request, client.runtime())
        flags = RequestFlags(request)
        assert flags.get("beta_feature", False) is True
    assert first["groups"] == again["groups"] == ("beta-testers",)


def test_prefetched_groups_cost_no_query(rf, beta_site, django_assert_num_queries):
    user_in("beta-testers", "staff")
    user = User.objects.prefetch_related("groups").get(username="ada")
    request = rf.get("/")
    with django_assert_num_queries(0):
        assert group_names(request, user) == ("beta-testers", "staff")


def test_too_many_groups_leave_the_key_out_with_a_warning(rf, beta_site, caplog):
    user = User.objects.create_user("many")
    groups = Group.objects.bulk_create(
        [Group(name=f"g{n:03d}") for n in range(MAX_CONTEXT_LIST_ITEMS + 1)]
    )
    user.groups.add(*groups)
    request = rf.get("/")
    request.user = user
    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert "groups" not in default_context(request)
    assert "more than 100 groups" in caplog.text
    user.groups.remove(groups[0])
    request.user = User.objects.get(pk=user.pk)
    assert len(default_context(request)["groups"]) == MAX_CONTEXT_LIST_ITEMS


def test_a_failing_group_query_leaves_the_key_out(rf, beta_site, caplog, monkeypatch):
    user = user_in("beta-testers")

    def broken(*args, **kwargs):
        raise DatabaseError("the database is away")

    monkeypatch.setattr(type(user.groups), "values_list", broken)
    request = rf.get("/")
    request.user = user
    request.session = {}
    with caplog.at_level(logging.ERROR, "django_flagship"):
        context = default_context(request)
        assert RequestFlags(request).get("vip_feature", False) is True  # flags still work
    assert "groups" not in context
    assert "could not be read" in caplog.text


def test_a_user_model_without_groups_has_no_groups_key(rf):
    class Member:
        is_authenticated = True
        is_staff = False
        is_superuser = False

    request = rf.get("/")
    request.user = Member()
    assert "groups" not in default_context(request)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_setting_is_checked(settings, value):
    settings.FLAGSHIP_CONTEXT_GROUPS = value
    errors = [e for e in check_settings() if isinstance(e, Error)]
    assert [e.id for e in errors] == ["django_flagship.E010"]
    assert "FLAGSHIP_CONTEXT_GROUPS" in errors[0].msg
