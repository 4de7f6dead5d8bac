"""The official ``flagship`` package run offline, and random files it agrees on.

Shared by the cross-check test and the bucketing benchmark.

:class:`OfficialSDK` starts ``flagship==3.0.1`` in BUCKETING mode with every
HTTP call answered by ``responses`` (the CDN file is served with a
``Last-Modified`` header, without which the SDK never becomes ready), from a
temporary working directory (the SDK writes a ``.{envId}.decision`` file
there), and stops it on exit. Outside such a block the SDK's HTTP calls
fail without touching the network.

:func:`agreeing_bucket` generates bucketing files on which the official SDK
and the decision engine must give the same assignments: every variation
group but the last of a campaign is fully allocated (no fall-through),
no bucket ranges other than ``[0, 100]``, strings in lower case and never
valid JSON, one JSON kind per context key with only the operators that kind
supports in the engine, list values only with (NOT_)EQUALS/(NOT_)CONTAINS,
no EXISTS/SEMVER, ``fs_all_users`` only with EQUALS, no empty targeting
group, explicit ``reference`` and ``modifications`` everywhere, unique ids.
Visitor ids stay in the BMP and never contain upper-case letters.
"""

from __future__ import annotations

import json
import os
import random
import string
import tempfile
import uuid
from collections.abc import Mapping
from typing import Any

from django_flagship.sdk.bucketing import Bucket
from django_flagship.sdk.model import FlagInfo, merge_flags

__all__ = [
    "SCHEMA",
    "OfficialSDK",
    "agreeing_bucket",
    "flag_rows",
    "our_flags",
    "random_context",
    "random_visitor_id",
]

# A flag as compared: (value, campaign id, variation group id, variation id, reference).
FlagRow = tuple[Any, str, str, str, bool]

WORDS = {
    "plan": ["free", "pro", "team", "enterprise", "trial"],
    "country": ["fr", "de", "us", "jp", "br", "es"],
    "browser": ["chrome", "firefox", "safari", "edge"],
    "page": ["home", "checkout", "cart", "product-page", "search-results"],
    "città": ["roma", "milano", "são paulo", "zürich", "東京", "straße"],
}
SCHEMA: dict[str, str] = {
    **dict.fromkeys(WORDS, "str"),
    "age": "int",
    "visits": "int",
    "score": "float",
    "vip": "bool",
    "beta": "bool",
}
STRING_OPERATORS = [
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "GREATER_THAN",
    "LOWER_THAN",
    "GREATER_THAN_OR_EQUALS",
    "LOWER_THAN_OR_EQUALS",
]
NUMBER_OPERATORS = [
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "LOWER_THAN",
    "GREATER_THAN_OR_EQUALS",
    "LOWER_THAN_OR_EQUALS",
]
LIST_OPERATORS = {"EQUALS", "NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}
SHARED_FLAGS = ["color", "size", "enabled", "ratio", "config", "items", "title", "nothing"]
ID_PIECES = ["é", "日本", "ß", "ø", "ü", "ça", "ñ", "語", "-", "_", "x", "7"]


def random_visitor_id(rng: random.Random, n: int, style: str = "mixed") -> str:
    """A visitor id: ASCII, BMP non-ASCII, or thousands of characters long.

    With ``style="uuid"``, a random UUID, the common case in production.
    """
    if style == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    roll = rng.random()
    if roll < 0.5:
        return f"v{n}x{rng.getrandbits(40):x}"
    if roll < 0.85:
        return f"v{n}" + "".join(rng.choice(ID_PIECES) for _ in range(rng.randint(1, 12)))
    return f"v{n}" + "".join(rng.choice(ID_PIECES) for _ in range(rng.randint(500, 3000)))


def _not_json(candidate: str, fallback: str) -> str:
    """``candidate`` unless the official SDK would parse it as JSON (it then never matches)."""
    try:
        json.loads(candidate)
    except ValueError:
        return candidate
    return fallback


def _xid(rng: random.Random) -> str:
    """A 20-character id in the style of Flagship's."""
    return "".join(rng.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(20))


def _number(rng: random.Random, kind: str) -> int | float:
    if kind == "int":
        return rng.randint(0, 90)
    return round(rng.random(), 2)


def _string_operand(rng: random.Random, words: list[str], operator: str) -> str:
    word = rng.choice(words)
    if operator == "STARTS_WITH":
        return word[: rng.randint(0, len(word))]
    if operator == "ENDS_WITH":
        return word[rng.randint(0, len(word)) :]
    if operator in ("CONTAINS", "NOT_CONTAINS"):
        start = rng.randint(0, len(word))
        return word[start : rng.randint(start, len(word))]
    return word


def _targeting(rng: random.Random, visitor_ids: list[str]) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.08:
        return {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
    if roll < 0.16:
        operator = rng.choice(["EQUALS", "NOT_EQUALS", "STARTS_WITH", "CONTAINS", "ENDS_WITH"])
        target = rng.choice(visitor_ids)
        if operator == "STARTS_WITH":
            value: Any = _not_json(target[: rng.randint(2, 4)], target)
        elif operator in ("CONTAINS", "ENDS_WITH"):
            value = _not_json(target[-rng.randint(1, 3) :], target)
        elif rng.random() < 0.5:
            value = [rng.choice(visitor_ids) for _ in range(rng.randint(1, 4))]
        else:
            value = target
        return {"key": "fs_users", "operator": operator, "value": value}
    key = rng.choice(list(SCHEMA))
    kind = SCHEMA[key]
    if kind == "str":
        words = WORDS[key]
        operator = rng.choice(STRING_OPERATORS)
        if operator in LIST_OPERATORS and rng.random() < 0.3:
            size = rng.randint(0, 3)
            value = [_string_operand(rng, words, operator) for _ in range(size)]
        else:
            value = _string_operand(rng, words, operator)
    elif kind == "bool":
        operator = rng.choice(["EQUALS", "NOT_EQUALS"])
        value = rng.choice([True, False, [True], [False], [True, False]])
    else:
        operator = rng.choice(NUMBER_OPERATORS)
        if operator in LIST_OPERATORS and rng.random() < 0.3:
            value = [_number(rng, kind) for _ in range(rng.randint(1, 3))]
        else:
            value = _number(rng, kind)
    return {"key": key, "operator": operator, "value": value}


def _flag_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            "red",
            "",
            "blue sky",
            "ünïcödé",
            0,
            42,
            -3,
            1.5,
            True,
            False,
            None,
            [1, "a", None],
            {"nested": {"k": [True, 2.5]}},
            [],
            {},
        ]
    )


def _allocations(rng: random.Random, count: int, full: bool) -> list[int]:
    total = 100 if full else rng.randint(0, 99)
    cuts = sorted(rng.randint(0, total) for _ in range(count - 1))
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(count)]


def agreeing_bucket(
    rng: random.Random,
    campaigns: int,
    visitor_ids: list[str],
    *,
    prefix: str = "c",
    variation_groups: tuple[int, int] = (1, 4),
    targeting_groups: tuple[int, int] = (1, 3),
    targetings: tuple[int, int] = (1, 3),
    realistic: bool = False,
) -> dict[str, Any]:
    """A random bucketing file inside the region where both implementations agree.

    The ranges give the (inclusive) number of variation groups per campaign,
    of targeting groups per variation group and of targetings per group.

    By default every variation also sets a flag named after its campaign, so
    the flags alone show which variation each campaign chose. ``realistic``
    files look like production ones instead: 20-character ids, and each
    variation group sets the same one to three flags in all its variations
    (``null`` in the reference).
    """

    def new_id(fallback: str) -> str:
        return _xid(rng) if realistic else fallback

    result = []
    for c in range(campaigns):
        cid = new_id(f"{prefix}{c}")
        groups = []
        group_count = rng.randint(*variation_groups)
        for g in range(group_count):
            vg_id = new_id(f"{cid}g{g}" + "".join(rng.choices(string.ascii_lowercase, k=4)))
            keys = rng.sample(SHARED_FLAGS, rng.randint(1, 3)) if realistic else []
            last = g == group_count - 1
            count = rng.randint(1, 5)
            allocations = _allocations(rng, count, full=not last or rng.random() < 0.5)
            variations = []
            if rng.random() < 0.5:
                reference_flags = dict.fromkeys(keys) if realistic else {f"@{cid}": "ref"}
                variations.append(
                    {
                        "id": new_id(f"{vg_id}ref"),
                        "reference": True,
                        "modifications": {"type": "FLAG", "value": reference_flags},
                    }
                )
            for i, allocation in enumerate(allocations):
                var_id = new_id(f"{vg_id}v{i}")
                if realistic:
                    flags = {key: _flag_value(rng) for key in keys}
                else:
                    flags = {f"@{cid}": var_id}
                    for key in rng.sample(SHARED_FLAGS, rng.randint(0, 3)):
                        flags[key] = _flag_value(rng)
                variations.append(
                    {
                        "id": var_id,
                        "name": f"Variation {i}",
                        "reference": False,
                        "allocation": allocation,
                        "modifications": {"type": "FLAG", "value": flags},
                    }
                )
            target_groups = [
                {
                    "targetings": [
                        _targeting(rng, visitor_ids) for _ in range(rng.randint(*targetings))
                    ]
                }
                for _ in range(rng.randint(*targeting_groups))
            ]
            groups.append(
                {
                    "id": vg_id,
                    "targeting": {"targetingGroups": target_groups},
                    "variations": variations,
                }
            )
        campaign: dict[str, Any] = {
            "id": cid,
            "type": rng.choice(["ab", "toggle", "perso"]),
            "slug": rng.choice([None, f"slug-{cid}"]),
            "variationGroups": groups,
        }
        if rng.random() < 0.2:
            campaign["bucketRanges"] = [{"r": [0, 100]}]
        result.append(campaign)
    return {
        "panic": False,
        "accountSettings": {"enabled1V1T": False, "enabledXPC": False},
        "campaigns": result,
    }


def random_context(rng: random.Random, visitor_id: str) -> dict[str, Any]:
    """A context following :data:`SCHEMA`; some keys left out."""
    context: dict[str, Any] = {"fs_users": visitor_id}  # the official SDK reads it here
    for key, kind in SCHEMA.items():
        if rng.random() < 0.25:
            continue
        if kind == "str":
            words = WORDS[key]
            context[key] = rng.choice(words + [w + "x" for w in words] + ["a", ""])
        elif kind == "bool":
            context[key] = rng.random() < 0.5
        else:
            context[key] = _number(rng, kind)
    return context


def our_flags(
    bucket: Bucket,
    visitor_id: str,
    context: Mapping[str, Any],
    assignments: Mapping[str, str] | None = None,
) -> dict[str, FlagRow]:
    decided = bucket.decide(visitor_id, context, assignments=assignments)
    return flag_rows(merge_flags(decided))


def flag_rows(flags: Mapping[str, FlagInfo]) -> dict[str, FlagRow]:
    """Our flags in :data:`FlagRow` form."""
    return {
        key: (
            info.value,
            info.assignment.campaign_id,
            info.assignment.variation_group_id,
            info.assignment.variation_id,
            info.assignment.reference,
        )
        for key, info in flags.items()
    }


class _NetworkGuard:
    """Stands for ``requests`` inside ``flagship.http_helper`` (its only HTTP client).

    While an :class:`OfficialSDK` is open, calls go to ``requests``, where
    ``responses`` answers them. Otherwise they fail as a network error does,
    which the SDK handles: a tracking thread that wakes up late can never
    reach the network.
    """

    open_harnesses = 0

    def __getattr__(self, name: str) -> Any:
        import requests

        if _NetworkGuard.open_harnesses or name not in ("request", "get", "post"):
            return getattr(requests, name)

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise requests.ConnectionError("offline: no OfficialSDK block is open")

        return refuse


def _guard_network() -> None:
    import flagship.http_helper

    if not isinstance(flagship.http_helper.requests, _NetworkGuard):
        flagship.http_helper.requests = _NetworkGuard()


class OfficialSDK:
    """``flagship==3.0.1`` in BUCKETING mode, fully offline (see the module docstring)."""

    def __init__(
        self,
        bucketing: Mapping[str, Any] | None,
        env_id: str = "crosscheck",
        *,
        bucketing_url: str | None = None,
    ) -> None:
        """``bucketing_url`` (with ``{}`` for the env id): a real server to fetch the file from."""
        self.bucketing = bucketing
        self.env_id = env_id
        self.bucketing_url = bucketing_url
        self._cwd: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._mock: Any = None

    def __enter__(self) -> OfficialSDK:
        import responses
        from flagship import Flagship
        from flagship.config import Bucketing
        from flagship.log_manager import LogLevel
        from flagship.status import Status
        from flagship.tracking_manager import TrackingManagerConfig

        _guard_network()
        self._cwd = os.getcwd()
        self._tmp = tempfile.TemporaryDirectory(prefix="flagship-official-")
        os.chdir(self._tmp.name)
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._mock.start()
        _NetworkGuard.open_harnesses += 1
        try:
            if self.bucketing_url is not None:
                import flagship.http_helper

                flagship.http_helper.URL_BUCKETING = self.bucketing_url
                self._mock.add_passthru(self.bucketing_url.format(self.env_id))
            else:
                self._mock.add(
                    responses.GET,
                    f"https://cdn.flagship.io/{self.env_id}/bucketing.json",
                    json=self.bucketing,
                    headers={"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT"},
                )
            self._mock.add(responses.POST, "https://events.flagship.io/", status=200)
            self._mock.add(responses.POST, "https://decision.flagship.io/v2/activate", status=204)
            config = Bucketing(
                polling_interval=-1,  # one synchronous fetch, no polling thread
                log_level=LogLevel.NONE,
                # Hits only leave in batches, far apart: the decision is measured.
                tracking_manager_config=TrackingManagerConfig(
                    time_interval=10_800_000, max_pool_size=5000
                ),
            )
            Flagship.start(self.env_id, "offline-api-key", config)
            if Flagship.status() is not Status.READY:
                raise RuntimeError(f"official SDK not ready: {Flagship.status()}")
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        from flagship import Flagship

        try:
            Flagship.stop()
        finally:
            if self.bucketing_url is not None:
                import flagship.constants
                import flagship.http_helper

                flagship.http_helper.URL_BUCKETING = flagship.constants.URL_BUCKETING
            if self._mock is not None:
                _NetworkGuard.open_harnesses -= 1
                self._mock.stop()
                self._mock.reset()
                self._mock = None
            if self._cwd is not None:
                os.chdir(self._cwd)
                self._cwd = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    @staticmethod
    def poll() -> Any:
        """One more conditional GET of the file, as the SDK's polling thread does; the manager."""
        from flagship import Flagship

        manager = Flagship._Flagship__get_instance().configuration_manager.decision_manager
        manager.update_bucketing_file()
        return manager

    def visitor(self, visitor_id: str, context: Mapping[str, Any]) -> Any:
        """A new official visitor (created outside any timing)."""
        from flagship import Flagship

        return Flagship.new_visitor(visitor_id, context=dict(context))

    @staticmethod
    def fetch(visitor: Any, assignments: Mapping[str, str] | None = None) -> dict[str, FlagRow]:
        """Run ``fetch_flags`` and read the flags back in :data:`FlagRow` form."""
        visitor.assignations = dict(assignments or {})
        visitor.fetch_flags()
        return {
            key: (m.value, m.campaign_id, m.variation_group_id, m.variation_id, m.reference)
            for key, m in visitor._modifications.items()
        }

    def flags(
        self,
        visitor_id: str,
        context: Mapping[str, Any],
        assignments: Mapping[str, str] | None = None,
    ) -> dict[str, FlagRow]:
        return self.fetch(self.visitor(visitor_id, context), assignments)
