"""Event bodies built to crash the view: a JSON 400, no hit, and the next good event goes."""

import pytest

from django_flagship.browser import InvalidEventError, parse_event

from .test_events import events, post, visit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browser_site")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 2_000, "the body is not valid JSON: it nests objects and arrays deeper than 64"),
        (b"[" * 1_000 + b"]" * 1_000, "the body is not valid JSON: it nests"),
        (b'{"action": "\\ud800"}', "action is not valid text"),
        (b'{"action": "play", "label": "\\udfff"}', "label is not valid text"),
        (b'{"\\ud800": "x"}', "a key is not valid text"),
        (b'{"action": "x", "value": NaN}', "the body is not valid JSON: NaN"),
    ],
)
def test_hostile_bodies_are_400_and_send_nothing(client, body, message):
    visit(client)  # a visitor of the site's pages
    response = post(client, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith(message)
    assert events() == []
    assert post(client, {"action": "after"}).status_code == 202
    assert [hit.payload["ea"] for hit in events()] == ["after"]


def test_parse_event_refuses_text_no_hit_could_carry():
    # For callers that decode the event themselves.
    with pytest.raises(InvalidEventError, match="'label' is not valid text"):
        parse_event({"action": "x", "label": "\ud800"})
