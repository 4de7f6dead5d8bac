"""Import and export in Flagship's format: round trip exact, all or nothing."""

import json
import random

import pytest
from django.core.management import CommandError, call_command

from benchmarks.official import agreeing_bucket, random_visitor_id
from django_flagship.authoring import document
from django_flagship.authoring.document import DocumentError
from django_flagship.authoring.models import Campaign, Targeting, Variation, VariationGroup
from django_flagship.authoring.transfer import export_document, import_document

from .conftest import REPO_FILES, read

pytestmark = pytest.mark.django_db


def counts():
    return tuple(m.objects.count() for m in (Campaign, VariationGroup, Variation, Targeting))


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: p.name)
def test_repository_files_come_back_byte_for_byte(path):
    data = read(path)
    import_document(data)
    assert json.dumps(export_document()) == json.dumps(data)


@pytest.mark.parametrize("seed", range(12))
def test_generated_files_come_back_equal(seed):
    rng = random.Random(seed)
    visitors = [random_visitor_id(rng, n) for n in range(20)]
    data = agreeing_bucket(
        rng, rng.randint(1, 25), visitors, prefix=f"s{seed}c", realistic=seed % 2 == 1
    )
    import_document(data)
    assert export_document() == data
    # and again, over what the first import wrote
    import_document(export_document())
    assert export_document() == data


def test_optional_keys_stay_present_or_absent():
    data = {
        "panic": True,
        "generatedAt": "2024-05-14T09:12:31.448Z",
        "accountSettings": {
            "enabledXPC": True,
            "enabled1V1T": True,
            "troubleshooting": {"startDate": "a", "endDate": "b", "timezone": "UTC", "traffic": 5},
        },
        "campaigns": [
            {
                "id": "c",
                "slug": "s",
                "variationGroups": [
                    {
                        "id": "g",
                        "targeting": {
                            "targetingGroups": [
                                {
                                    "targetings": [
                                        {
                                            "key": "segment",
                                            "operator": "EQUALS",
                                            "value": "x",
                                            "provider": "crm",
                                        }
                                    ]
                                },
                                {"targetings": [{"key": "a", "operator": "EXISTS", "value": True}]},
                            ]
                        },
                        "variations": [
                            {
                                "id": "v0",
                                "reference": True,
                                "modifications": {"type": "JSON", "value": {}},
                            },
                            {
                                "id": "v1",
                                "reference": False,
                                "allocation": 0,
                                "modifications": {"type": "FLAG", "value": {"x": 1.0, "y": None}},
                            },
                        ],
                    }
                ],
            }
        ],
    }
    import_document(data)
    assert json.dumps(export_document()) == json.dumps(data)


def test_a_refused_file_writes_nothing():
    import_document(read(REPO_FILES[0]))
    before, exported = counts(), export_document()
    bad = read(REPO_FILES[1])
    bad["campaigns"][-1]["variationGroups"][0]["variations"][0]["allocation"] = 101
    with pytest.raises(DocumentError):
        import_document(bad)
    assert counts() == before
    assert export_document() == exported


def test_append_refuses_ids_already_in_use_and_writes_nothing():
    import_document(read(REPO_FILES[1]))
    before = counts()
    with pytest.raises(DocumentError) as caught:
        import_document(read(REPO_FILES[2]), replace=False)
    assert "the campaign id 'c-toggles' already exists" in caught.value.problems
    assert counts() == before


def test_append_adds_after_the_existing_campaigns():
    import_document(read(REPO_FILES[1]))
    extra = {"campaigns": [read(REPO_FILES[0])["campaigns"][0]]}
    import_document(extra, replace=False)
    ids = [c["id"] for c in export_document()["campaigns"]]
    assert ids[-1] == extra["campaigns"][0]["id"]
    assert len(ids) == 6


def test_the_import_command_reports_every_problem_and_exits_non_zero(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"campaigns": [{"id": "a b", "variationGroups": []}], "x": 1}')
    with pytest.raises(CommandError) as caught:
        call_command("flagship_campaigns", "import", str(path))
    message = str(caught.value)
    assert message.startswith(f"Nothing was imported; 2 problem(s) in '{path}'")
    assert "unknown fields: x" in message
    assert "'a b' must be 1 to 64" in message
    assert counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"campaigns": [], "a": {"k": 1, "k": 2}}', "is not JSON: the key 'k' appears twice"),
        ("{oops", "is not JSON"),
    ],
)
def test_the_import_command_refuses_what_is_not_json(tmp_path, text, expected):
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(CommandError, match=expected):
        call_command("flagship_campaigns", "import", str(path))


def test_the_import_command_names_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*No such file"):
        call_command("flagship_campaigns", "import", str(tmp_path / "none.json"))


def test_export_and_import_commands_round_trip(tmp_path, capsys):
    source = REPO_FILES[0]
    call_command("flagship_campaigns", "import", str(source))
    assert "Imported 6 campaigns, 8 variation groups" in capsys.readouterr().out
    target = tmp_path / "out.json"
    call_command("flagship_campaigns", "export", str(target))
    assert json.loads(target.read_text()) == read(source)


def test_export_leaves_disabled_campaigns_out_unless_asked(capsys):
    import_document(read(REPO_FILES[1]))
    Campaign.objects.filter(campaign_id="c-ab").update(enabled=False)
    call_command("flagship_campaigns", "export")
    assert "c-ab" not in capsys.readouterr().out
    call_command("flagship_campaigns", "export", "--all")
    assert '"c-ab"' in capsys.readouterr().out


def test_export_for_flagship_writes_the_file_and_the_plain_list(tmp_path):
    import_document(read(REPO_FILES[0]))
    Campaign.objects.filter(slug="gift-cards").update(enabled=False)
    call_command("flagship_campaigns", "export-flagship", str(tmp_path))
    exported = json.loads((tmp_path / "bucketing.json").read_text())
    assert [c["slug"] for c in exported["campaigns"]] == [
        "buy-button",
        "vip-welcome",
        "free-shipping",
        "recommendations",
        "newsletter-box",
    ]
    text = (tmp_path / "campaigns.txt").read_text()
    assert "1. Buy button test" in text
    assert "targeting: (context key 'isVip' is true)" in text
    assert "- Green, Add to basket: 33%" in text
    assert 'btnColor = "#17804a"' in text
    assert "traffic: 50% ([0, 50))" in text
    assert "No equivalent in the platform" in text
    assert "Disabled campaigns, not listed above: Gift cards early access." in text


def test_export_for_flagship_needs_a_directory(tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("flagship_campaigns", "export-flagship", str(tmp_path / "nope"))


VALUES = {
    "EQUALS": ["gold", 18, 2.5, True, ["fr", "de"], [1, 2], []],
    "NOT_EQUALS": ["free", 0, False, ["bot"]],
    "CONTAINS": ["ol", ["a", "b"]],
    "NOT_CONTAINS": ["x"],
    "STARTS_WITH": ["go"],
    "ENDS_WITH": ["ld"],
    "GREATER_THAN": [17, "m"],
    "LOWER_THAN_OR_EQUALS": [99.5],
    "EXISTS": [True, False],
    "NOT_EXISTS": [True],
    "SEMVER_GREATER_THAN_OR_EQUALS": ["1.4.0", "v2"],
}

RANGES = [[], [{"r": [0, 100]}], [{"r": [0, 25.5]}, {"r": [50, 75]}]]
FLAG_VALUES = [None, 1, 1.0, "x", [1, {"a": None}], {}]


def wide_document(rng):
    """A random file in the compiler's form, optional keys present or not."""

    def maybe(data, key, value):
        if rng.random() < 0.5:
            data[key] = value

    ids = iter(range(10_000))
    doc = {"panic": rng.random() < 0.1}
    maybe(doc, "visitorConsolidation", rng.random() < 0.5)
    maybe(doc, "generatedAt", "2026-01-01T00:00:00Z")
    maybe(doc, "accountSettings", {"enabledXPC": False, "enabled1V1T": rng.random() < 0.5})
    campaigns = []
    for _ in range(rng.randint(0, 6)):
        campaign = {"id": f"c{next(ids)}"}
        maybe(campaign, "name", rng.choice(["Checkout", "", "ünïcödé"]))
        campaign["slug"] = rng.choice([None, f"slug-{next(ids)}"])
        maybe(campaign, "type", rng.choice(["ab", "toggle", "perso", "deployment"]))
        maybe(campaign, "bucketRanges", rng.choice(RANGES))
        groups = []
        for _ in range(rng.randint(0, 3)):
            group = {"id": f"g{next(ids)}"}
            maybe(group, "name", "Group")
            targeting_groups = []
            for _ in range(rng.randint(1, 3)):
                targetings = []
                for _ in range(rng.randint(1, 3)):
                    operator = rng.choice(sorted(VALUES))
                    row = {"key": rng.choice(["plan", "age", "fs_users"]), "operator": operator}
                    row["value"] = rng.choice(VALUES[operator])
                    if row["key"] == "fs_users" and document.targeting_problem(**row):
                        row["key"] = "plan"
                    if document.targeting_problem(**row):
                        row = {"key": "fs_all_users", "operator": "EQUALS", "value": ""}
                    if rng.random() < 0.1:
                        row["provider"] = "crm"
                    targetings.append(row)
                targeting_groups.append({"targetings": targetings})
            group["targeting"] = {"targetingGroups": targeting_groups}
            variations = []
            left = 100
            for index in range(rng.randint(1, 4)):
                variation = {"id": f"v{next(ids)}"}
                maybe(variation, "name", f"Variation {index}")
                variation["reference"] = index == 0 and rng.random() < 0.5
                if rng.random() < 0.8:
                    variation["allocation"] = share = rng.randint(0, left)
                    left -= share
                kind = rng.choice(["FLAG", "FLAG", "JSON", "TEXT"])
                flags = {f"k{n}": rng.choice(FLAG_VALUES) for n in range(rng.randint(0, 3))}
                variation["modifications"] = {"type": kind, "value": flags}
                variations.append(variation)
            group["variations"] = variations
            groups.append(group)
        campaign["variationGroups"] = groups
        campaigns.append(campaign)
    doc["campaigns"] = campaigns
    return doc


@pytest.mark.parametrize("seed", range(25))
def test_wide_generated_files_come_back_byte_for_byte(seed):
    data = wide_document(random.Random(seed))
    import_document(data)
    assert json.dumps(export_document()) == json.dumps(data)
