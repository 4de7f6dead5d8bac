import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import responses

from django_flagship import __version__
from django_flagship.sdk.hits import (
    HIT_EXPIRATION_SECONDS,
    Activation,
    Event,
    EventCategory,
    InvalidHitError,
    Page,
    Screen,
    Transaction,
)
from django_flagship.sdk.tracking import (
    ACTIVATE_URL,
    EVENTS_URL,
    CollectorClient,
    DeliveryError,
    LogTracker,
    MemoryTracker,
    PermanentDeliveryError,
    RetryableDeliveryError,
    SyncTracker,
    TrackedHit,
    Tracker,
)

ENV = "env-123"
SECRET = "sk-very-secret-api-key"
T0 = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


def tracked(origin="https://example.com/", visitor="v1", anonymous=None, created_at=T0):
    return TrackedHit(Page(origin).to_payload(), visitor, anonymous, created_at=created_at)


def body(call):
    return json.loads(call.request.body)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


# --- TrackedHit -----------------------------------------------------------------


def test_anonymous_hit_sends_vid_and_null_cuid():
    item = TrackedHit.from_hit(Screen("home"), "v1")
    payload = item.to_payload(now=item.created_at + 0.75)
    assert payload == {
        "t": "SCREENVIEW",
        "ds": "APP",
        "dl": "home",
        "vid": "v1",
        "cuid": None,
        "qt": 750,
    }


def test_authenticated_hit_sends_anonymous_vid_and_authenticated_cuid():
    item = TrackedHit.from_hit(Screen("home"), "logged", anonymous_id="anon")
    payload = item.to_payload(now=item.created_at)
    assert payload["vid"] == "anon"
    assert payload["cuid"] == "logged"
    assert "aid" not in payload
    assert "cid" not in payload


def test_queue_time_uses_the_float_creation_time():
    item = tracked(created_at=T0 + 0.9)
    # A creation time truncated to the second would give 1350 here.
    assert item.to_payload(now=T0 + 1.35)["qt"] == 450


def test_from_hit_validates():
    with pytest.raises(InvalidHitError) as info:
        TrackedHit.from_hit(Page(""), "v1")
    assert info.value.field == "dl"


@pytest.mark.parametrize(("visitor", "anonymous", "field"), [("", None, "vid"), ("v", "", "aid")])
def test_from_hit_checks_visitor_ids(visitor, anonymous, field):
    with pytest.raises(InvalidHitError) as info:
        TrackedHit.from_hit(Screen("a"), visitor, anonymous)
    assert info.value.field == field


def test_tracked_hit_is_a_snapshot():
    hit = Event(EventCategory.ACTION_TRACKING, "click")
    item = TrackedHit.from_hit(hit, "v1")
    hit.with_event_label("later")
    assert "el" not in item.payload
    with pytest.raises(TypeError):
        item.payload["el"] = "x"  # type: ignore[index]
    assert item.hit_type == "EVENT"


def test_tracked_hit_defaults():
    before = time.time()
    item = TrackedHit.from_hit(Screen("a"), "v1")
    assert before <= item.created_at <= time.time()
    assert isinstance(item.created_at, float)
    assert len(item.id) == 32
    assert item.id != TrackedHit.from_hit(Screen("a"), "v1").id


def test_tracked_hit_expiry():
    item = tracked(created_at=T0)
    assert not item.is_expired(now=T0 + HIT_EXPIRATION_SECONDS - 0.001)
    assert item.is_expired(now=T0 + HIT_EXPIRATION_SECONDS)


# --- request shape ----------------------------------------------------------------


def test_hits_request_shape(mocked):
    mocked.post(EVENTS_URL, status=200)
    clock = Clock(T0 + 0.75)
    client = CollectorClient(ENV, clock=clock)
    event = (
        Event(EventCategory.ACTION_TRACKING, "click").with_event_label("lbl").with_event_value(5)
    )
    client.send_hits(
        [
            tracked("https://www.example.com/a", visitor="v1"),
            TrackedHit(event.to_payload(), "logged", "anon", created_at=T0 + 0.5),
        ]
    )

    assert len(mocked.calls) == 1
    request = mocked.calls[0].request
    assert request.method == "POST"
    assert request.url == "https://events.flagship.io/"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["x-sdk-client"] == "python"
    assert request.headers["x-sdk-version"] == __version__
    assert "x-api-key" not in request.headers
    assert "Authorization" not in request.headers

    sent = body(mocked.calls[0])
    assert list(sent) == ["cid", "t", "ds", "h"]
    assert sent["cid"] == ENV
    assert sent["t"] == "BATCH"
    assert sent["ds"] == "APP"
    first, second = sent["h"]
    assert first == {
        "t": "PAGEVIEW",
        "ds": "APP",
        "dl": "https://www.example.com/a",
        "vid": "v1",
        "cuid": None,
        "qt": 750,
    }
    assert second == {
        "t": "EVENT",
        "ds": "APP",
        "ec": "Action Tracking",
        "ea": "click",
        "el": "lbl",
        "ev": 5,
        "vid": "anon",
        "cuid": "logged",
        "qt": 250,
    }
    assert client.sent_hits == 2


def test_activations_request_shape(mocked):
    mocked.post(ACTIVATE_URL, status=204)
    client = CollectorClient(ENV, clock=Clock(T0 + 0.748))
    client.send_activations(
        [
            Activation("v1", "vg2", "var2", created_at=T0),
            Activation("logged", "vg3", "var3", anonymous_id="v1", created_at=T0 + 0.5),
        ]
    )

    request = mocked.calls[0].request
    assert request.url == "https://decision.flagship.io/v2/activate"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["x-sdk-client"] == "python"
    assert request.headers["x-sdk-version"] == __version__
    assert "x-api-key" not in request.headers
    assert body(mocked.calls[0]) == {
        "cid": ENV,
        "batch": [
            {"vid": "v1", "aid": None, "caid": "vg2", "vaid": "var2", "qt": 748},
            {"vid": "logged", "aid": "v1", "caid": "vg3", "vaid": "var3", "qt": 248},
        ],
    }
    assert client.sent_activations == 2


def test_custom_urls_and_sdk_headers(mocked):
    mocked.post("http://collector.test/hits", status=200)
    mocked.post("http://collector.test/activate", status=200)
    client = CollectorClient(
        ENV,
        events_url="http://collector.test/hits",
        activate_url="http://collector.test/activate",
        sdk_client="django",
        sdk_version="9.9",
    )
    client.send_hits([tracked(created_at=time.time())])
    client.send_activations([Activation("v", "vg", "var")])
    assert [c.request.url for c in mocked.calls] == [
        "http://collector.test/hits",
        "http://collector.test/activate",
    ]
    for call in mocked.calls:
        assert call.request.headers["x-sdk-client"] == "django"
        assert call.request.headers["x-sdk-version"] == "9.9"


def test_api_key_of_a_shared_session_is_never_sent(mocked):
    mocked.post(EVENTS_URL, status=400, body="bad request")
    mocked.post(ACTIVATE_URL, status=204)
    session = requests.Session()
    session.headers["x-api-key"] = SECRET
    session.headers["Authorization"] = f"Bearer {SECRET}"
    client = CollectorClient(ENV, session=session)

    client.send_activations([Activation("v", "vg", "var")])
    with pytest.raises(PermanentDeliveryError) as info:
        client.send_hits([tracked(created_at=time.time())])

    for call in mocked.calls:
        assert "x-api-key" not in call.request.headers
        assert "Authorization" not in call.request.headers
        assert SECRET.encode() not in call.request.body
    assert SECRET not in str(info.value)
    assert SECRET not in repr(client)
    # The shared session keeps its own headers for the other Flagship calls.
    assert session.headers["x-api-key"] == SECRET


def test_nothing_to_send_makes_no_request(mocked):
    client = CollectorClient(ENV)
    client.send_hits([])
    client.send_activations([])
    assert len(mocked.calls) == 0


def test_timeout_is_passed_in_seconds():
    class RecordingSession:
        def __init__(self):
            self.kwargs = None

        def post(self, url, **kwargs):
            self.kwargs = kwargs
            response = requests.Response()
            response.status_code = 200
            return response

    session = RecordingSession()
    CollectorClient(ENV, session=session).send_hits([tracked(created_at=time.time())])  # type: ignore[arg-type]
    assert session.kwargs["timeout"] == 2.0
    CollectorClient(ENV, session=session, timeout=0.5).send_activations(  # type: ignore[arg-type]
        [Activation("v", "vg", "var")]
    )
    assert session.kwargs["timeout"] == 0.5


# --- splitting ------------------------------------------------------------------------


def test_batches_are_split_by_count(mocked):
    mocked.post(EVENTS_URL, status=200)
    client = CollectorClient(ENV, max_batch_items=2, clock=Clock())
    items = [tracked(f"https://example.com/{n}") for n in range(5)]
    client.send_hits(items)
    sizes = [len(body(call)["h"]) for call in mocked.calls]
    assert sizes == [2, 2, 1]
    origins = [child["dl"] for call in mocked.calls for child in body(call)["h"]]
    assert origins == [f"https://example.com/{n}" for n in range(5)]
    assert client.sent_hits == 5


def test_activation_batches_are_split_by_count(mocked):
    mocked.post(ACTIVATE_URL, status=204)
    client = CollectorClient(ENV, max_batch_items=3, clock=Clock())
    client.send_activations([Activation("v", "vg", f"var{n}", created_at=T0) for n in range(7)])
    assert [len(body(call)["batch"]) for call in mocked.calls] == [3, 3, 1]
    assert all(body(call)["cid"] == ENV for call in mocked.calls)


def test_batches_are_split_by_serialized_size(mocked):
    mocked.post(EVENTS_URL, status=200)
    cap = 2048
    client = CollectorClient(ENV, max_batch_bytes=cap, clock=Clock())
    items = [tracked("https://example.com/" + f"{n:02d}" + "x" * 400) for n in range(12)]
    client.send_hits(items)
    assert len(mocked.calls) > 1
    for call in mocked.calls:
        assert len(call.request.body) <= cap
        assert body(call)["t"] == "BATCH"
    origins = [child["dl"] for call in mocked.calls for child in body(call)["h"]]
    assert origins == [item.payload["dl"] for item in items]


def test_size_counts_bytes_not_characters(mocked):
    mocked.post(EVENTS_URL, status=200)
    cap = 2048
    client = CollectorClient(ENV, max_batch_bytes=cap, clock=Clock())
    client.send_hits([TrackedHit(Screen("é" * 300).to_payload(), "v", created_at=T0)] * 6)
    assert len(mocked.calls) > 1
    assert all(len(call.request.body) <= cap for call in mocked.calls)
    assert sum(len(body(call)["h"]) for call in mocked.calls) == 6


def test_an_item_too_big_for_any_request_is_dropped_and_counted(mocked, caplog):
    mocked.post(EVENTS_URL, status=200)
    client = CollectorClient(ENV, max_batch_bytes=1024, clock=Clock())
    huge = TrackedHit(Screen("x" * 2000).to_payload(), "v", created_at=T0)
    with caplog.at_level(logging.WARNING, logger="django_flagship.sdk.tracking"):
        client.send_hits([tracked(), huge, tracked()])
    assert [len(body(call)["h"]) for call in mocked.calls] == [2]
    assert client.dropped_oversized == 1
    assert client.sent_hits == 2
    assert "larger than the 1024-byte request cap" in caplog.text


def test_unserializable_items_are_dropped_and_counted(mocked):
    mocked.post(EVENTS_URL, status=200)
    client = CollectorClient(ENV, clock=Clock())
    bad = TrackedHit({"t": "EVENT", "ds": "APP", "ev": object()}, "v", created_at=T0)
    nan = TrackedHit({"t": "EVENT", "ds": "APP", "ev": float("nan")}, "v", created_at=T0)
    client.send_hits([bad, tracked(), nan])
    assert len(body(mocked.calls[0])["h"]) == 1
    assert client.dropped_unserializable == 2


def test_queue_time_is_measured_for_each_request(mocked):
    clock = Clock(T0)

    def respond(request):
        clock.now += 1.5  # each request takes 1.5 s
        return (200, {}, "")

    mocked.add_callback(responses.POST, EVENTS_URL, callback=respond)
    client = CollectorClient(ENV, max_batch_items=1, clock=clock)
    client.send_hits([tracked(created_at=T0), tracked(created_at=T0)])
    assert [body(call)["h"][0]["qt"] for call in mocked.calls] == [0, 1500]


# --- expiry -----------------------------------------------------------------------------


def test_expired_hits_are_dropped_before_sending(mocked, caplog):
    mocked.post(EVENTS_URL, status=200)
    now = T0 + HIT_EXPIRATION_SECONDS
    client = CollectorClient(ENV, clock=Clock(now))
    fresh = tracked("https://example.com/fresh", created_at=now - 1)
    old = tracked("https://example.com/old", created_at=T0)
    with caplog.at_level(logging.WARNING, logger="django_flagship.sdk.tracking"):
        client.send_hits([old, fresh, old])
    assert [child["dl"] for child in body(mocked.calls[0])["h"]] == ["https://example.com/fresh"]
    assert client.dropped_expired == 2
    assert client.sent_hits == 1
    assert "Dropped 2 expired hits" in caplog.text


def test_only_expired_items_make_no_request(mocked):
    client = CollectorClient(ENV, clock=Clock(T0 + 5 * 3600))
    client.send_hits([tracked(created_at=T0)])
    client.send_activations([Activation("v", "vg", "var", created_at=T0)])
    assert len(mocked.calls) == 0
    assert client.dropped_expired == 2


def test_expired_activations_are_dropped(mocked):
    mocked.post(ACTIVATE_URL, status=204)
    now = T0 + HIT_EXPIRATION_SECONDS + 10
    client = CollectorClient(ENV, clock=Clock(now))
    client.send_activations(
        [Activation("v", "vg", "old", created_at=T0), Activation("v", "vg", "new", created_at=now)]
    )
    assert [item["vaid"] for item in body(mocked.calls[0])["batch"]] == ["new"]
    assert client.dropped_expired == 1


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_retryable_statuses(mocked, status):
    mocked.post(EVENTS_URL, status=status, body="try later")
    client = CollectorClient(ENV, clock=Clock())
    with pytest.raises(RetryableDeliveryError) as info:
        client.send_hits([tracked()])
    error = info.value
    assert isinstance(error, DeliveryError)
    assert error.retryable is True
    assert error.status_code == status
    assert f"HTTP {status}" in str(error)
    assert "try later" in str(error)
    assert client.sent_hits == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_permanent_statuses(mocked, status):
    mocked.post(ACTIVATE_URL, status=status, json={"message": "Invalid cid."})
    client = CollectorClient(ENV, clock=Clock())
    with pytest.raises(PermanentDeliveryError) as info:
        client.send_activations([Activation("v", "vg", "var", created_at=T0)])
    error = info.value
    assert error.retryable is False
    assert not isinstance(error, RetryableDeliveryError)
    assert error.status_code == status
    assert "Invalid cid." in str(error)
    assert ACTIVATE_URL in str(error)


def test_response_text_is_truncated(mocked):
    mocked.post(EVENTS_URL, status=400, body="<html>\n" + "E" * 5000 + "</html>")
    with pytest.raises(PermanentDeliveryError) as info:
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])
    message = str(info.value)
    assert "EEEE" in message
    assert "\n" not in message
    assert len(message) < 350
    assert message.endswith("...")


def test_retry_after_seconds(mocked):
    mocked.post(EVENTS_URL, status=429, headers={"Retry-After": "7"})
    with pytest.raises(RetryableDeliveryError) as info:
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])
    assert info.value.retry_after == 7.0


def test_retry_after_http_date(mocked):
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    mocked.post(EVENTS_URL, status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(RetryableDeliveryError) as info:
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])
    assert 100 < info.value.retry_after <= 120


def test_no_retry_after(mocked):
    mocked.post(EVENTS_URL, status=500)
    with pytest.raises(RetryableDeliveryError) as info:
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    "exception",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.ConnectionError("connection refused"),
    ],
)
def test_network_failures_are_retryable(mocked, exception):
    mocked.post(EVENTS_URL, body=exception)
    with pytest.raises(RetryableDeliveryError) as info:
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])
    assert info.value.status_code is None
    assert info.value.__cause__ is exception


def test_timeout_message_names_the_timeout(mocked):
    mocked.post(ACTIVATE_URL, body=requests.Timeout())
    with pytest.raises(RetryableDeliveryError, match=r"timed out after 0\.3 s"):
        CollectorClient(ENV, timeout=0.3).send_activations([Activation("v", "vg", "var")])


def test_other_request_errors_are_permanent(mocked):
    mocked.post(EVENTS_URL, body=requests.TooManyRedirects("loop"))
    with pytest.raises(PermanentDeliveryError, match="TooManyRedirects"):
        CollectorClient(ENV, clock=Clock()).send_hits([tracked()])


def test_failure_reports_what_was_not_sent(mocked):
    mocked.post(EVENTS_URL, status=200)
    mocked.post(EVENTS_URL, status=503)
    client = CollectorClient(ENV, max_batch_items=2, clock=Clock())
    items = [tracked(f"https://example.com/{n}") for n in range(5)]
    with pytest.raises(RetryableDeliveryError) as info:
        client.send_hits(items)
    assert len(mocked.calls) == 2
    assert info.value.unsent == tuple(items[2:])
    assert info.value.rejected == tuple(items[2:4])
    assert client.sent_hits == 2


def test_permanent_failure_names_the_refused_request(mocked):
    mocked.post(EVENTS_URL, status=400)
    client = CollectorClient(ENV, max_batch_items=2, clock=Clock())
    items = [tracked(f"https://example.com/{n}") for n in range(3)]
    with pytest.raises(PermanentDeliveryError) as info:
        client.send_hits(items)
    assert info.value.rejected == tuple(items[:2])
    assert info.value.unsent == tuple(items)


def test_reset_after_fork_closes_the_pool_but_keeps_the_client_usable(mocked):
    mocked.post(EVENTS_URL, status=200)
    mocked.post(EVENTS_URL, status=200)
    client = CollectorClient(ENV, clock=Clock())
    client.send_hits([tracked()])
    closed = []
    original = client._session.close
    client._session.close = lambda: (closed.append(True), original())
    client.reset_after_fork()
    client.send_hits([tracked()])
    assert closed == [True]
    assert client.sent_hits == 2


def test_success_statuses(mocked):
    mocked.post(EVENTS_URL, status=200)
    mocked.post(EVENTS_URL, status=201)
    mocked.post(EVENTS_URL, status=204)
    client = CollectorClient(ENV, clock=Clock())
    for _ in range(3):
        client.send_hits([tracked()])
    assert client.sent_hits == 3


# --- client set-up -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env_id": ""}, "env_id"),
        ({"env_id": None}, "env_id"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"max_batch_items": 0}, "max_batch_items"),
        ({"max_batch_bytes": 100}, "max_batch_bytes"),
    ],
)
def test_client_refuses_bad_settings(kwargs, message):
    values = {"env_id": ENV} | kwargs
    env_id = values.pop("env_id")
    with pytest.raises(ValueError, match=message):
        CollectorClient(env_id, **values)


def test_client_closes_only_its_own_session(monkeypatch):
    closed = []
    original = requests.Session.close

    def close(session):
        closed.append(session)
        original(session)

    monkeypatch.setattr(requests.Session, "close", close)
    shared = requests.Session()
    CollectorClient(ENV, session=shared).close()
    assert closed == []

    with CollectorClient(ENV) as client:
        own = client._session
    assert closed == [own]
    assert own is not shared


def test_client_repr_is_readable():
    assert repr(CollectorClient(ENV)) == (
        "CollectorClient(env_id='env-123', events_url='https://events.flagship.io/', "
        "activate_url='https://decision.flagship.io/v2/activate', timeout=2.0)"
    )


# --- trackers --------------------------------------------------------------------------------


def test_every_tracker_implements_the_interface():
    client = CollectorClient(ENV)
    for tracker in (SyncTracker(client, print), LogTracker(), MemoryTracker()):
        assert isinstance(tracker, Tracker)


def test_sync_tracker_sends_at_once(mocked):
    mocked.post(EVENTS_URL, status=200)
    mocked.post(ACTIVATE_URL, status=204)
    errors = []
    tracker = SyncTracker(CollectorClient(ENV), errors.append)
    tracker.add_hit(TrackedHit.from_hit(Screen("home"), "v1"))
    assert len(mocked.calls) == 1
    tracker.add_activation(Activation("v1", "vg", "var"))
    assert len(mocked.calls) == 2
    assert body(mocked.calls[0])["h"][0]["dl"] == "home"
    assert body(mocked.calls[1])["batch"][0]["vaid"] == "var"
    assert errors == []
    assert tracker.flush() is True
    assert tracker.flush(timeout=0.1) is True


def test_sync_tracker_reports_errors_instead_of_raising(mocked):
    mocked.post(EVENTS_URL, status=500)
    mocked.post(ACTIVATE_URL, body=requests.ConnectionError("down"))
    errors = []
    tracker = SyncTracker(CollectorClient(ENV), errors.append)
    tracker.add_hit(TrackedHit.from_hit(Screen("home"), "v1"))
    tracker.add_activation(Activation("v1", "vg", "var"))
    assert [type(e) for e in errors] == [RetryableDeliveryError, RetryableDeliveryError]
    assert errors[0].status_code == 500


def test_sync_tracker_survives_a_failing_error_handler(mocked, caplog):
    mocked.post(EVENTS_URL, status=400)

    def handler(exc):
        raise RuntimeError("handler bug")

    tracker = SyncTracker(CollectorClient(ENV), handler)
    with caplog.at_level(logging.ERROR, logger="django_flagship.sdk.tracking"):
        tracker.add_hit(TrackedHit.from_hit(Screen("home"), "v1"))
    assert "error handler failed" in caplog.text


def test_sync_tracker_logs_errors_by_default(mocked, caplog):
    mocked.post(EVENTS_URL, status=400, body="nope")
    tracker = SyncTracker(CollectorClient(ENV))
    with caplog.at_level(logging.WARNING, logger="django_flagship.sdk.tracking"):
        tracker.add_hit(TrackedHit.from_hit(Screen("home"), "v1"))
    assert "HTTP 400: nope" in caplog.text


def test_sync_tracker_close_closes_the_client():
    closed = []

    class Client(CollectorClient):
        def close(self):
            closed.append(True)

    SyncTracker(Client(ENV)).close()
    assert closed == [True]


def test_log_tracker_writes_one_json_line_per_item(caplog):
    tracker = LogTracker()
    hit = TrackedHit.from_hit(
        Transaction("#1", "purchases").with_total_revenue(12.5).with_currency("EUR"),
        "logged",
        anonymous_id="anon",
    )
    activation = Activation("v1", "vg", "var")
    with caplog.at_level(logging.INFO, logger="django_flagship.hits"):
        tracker.add_hit(hit)
        tracker.add_activation(activation)
    records = [r for r in caplog.records if r.name == "django_flagship.hits"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert all("\n" not in r.getMessage() for r in records)
    logged_hit = json.loads(records[0].getMessage())
    assert logged_hit.pop("qt") >= 0
    assert logged_hit == {
        "t": "TRANSACTION",
        "ds": "APP",
        "tid": "#1",
        "ta": "purchases",
        "tr": 12.5,
        "tc": "EUR",
        "vid": "anon",
        "cuid": "logged",
    }
    logged_activation = json.loads(records[1].getMessage())
    assert logged_activation.pop("qt") >= 0
    assert logged_activation == {"vid": "v1", "aid": None, "caid": "vg", "vaid": "var"}
    assert records[1].flagship_kind == "activation"
    assert tracker.flush() is True
    tracker.close()


def test_log_tracker_uses_the_given_logger(caplog):
    custom = logging.getLogger("tests.custom_hits")
    with caplog.at_level(logging.INFO, logger="tests.custom_hits"):
        LogTracker(custom).add_hit(tracked())
    assert [r.name for r in caplog.records] == ["tests.custom_hits"]


def test_log_tracker_is_quiet_above_info(caplog):
    with caplog.at_level(logging.WARNING, logger="django_flagship.hits"):
        LogTracker().add_hit(tracked())
    assert caplog.records == []


def test_memory_tracker_keeps_items_in_order():
    tracker = MemoryTracker()
    hits = [tracked(f"https://example.com/{n}") for n in range(3)]
    for item in hits:
        tracker.add_hit(item)
    activation = Activation("v", "vg", "var")
    tracker.add_activation(activation)
    assert tracker.hits == hits
    assert tracker.activations == [activation]
    # Snapshots, not the live storage.
    tracker.hits.clear()
    assert len(tracker.hits) == 3
    assert tracker.flush() is True
    tracker.close()
    tracker.clear()
    assert tracker.hits == []
    assert tracker.activations == []


def test_memory_tracker_is_bounded():
    tracker = MemoryTracker(maxlen=2)
    items = [tracked(f"https://example.com/{n}") for n in range(5)]
    for item in items:
        tracker.add_hit(item)
    assert tracker.hits == items[-2:]
    assert tracker.dropped == 3
    with pytest.raises(ValueError, match="maxlen"):
        MemoryTracker(maxlen=0)


def test_memory_tracker_is_thread_safe():
    tracker = MemoryTracker(maxlen=10_000)
    item = tracked()

    def add():
        for _ in range(1000):
            tracker.add_hit(item)
            tracker.add_activation(Activation("v", "vg", "var"))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tracker.hits) == 8000
    assert len(tracker.activations) == 8000
    assert tracker.dropped == 0
