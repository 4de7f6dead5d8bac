"""The decision engine's targeting semantics, case by case (protocol sections 4 and 7.1).

Each row is (operator, targeting value, context value, expected) where expected
is MATCH, NO (false without error) or ERROR. An error is told apart from a
plain false by adding a second targeting group that always matches: a false
targeting leaves that group free to match, an error makes the whole
targeting false.
"""

import collections
import random

import pytest

from django_flagship.sdk.targeting import (
    OPERATORS,
    TargetingError,
    compile_selector,
    compile_targeting,
    go_equal_fold,
    go_lower,
    parse_semver,
)

MATCH, NO, ERROR = "match", "no", "error"
MISSING = object()
VISITOR = "visitor@abtasty.com"
ALWAYS = {"targetings": [{"key": "fs_all_users", "operator": "EQUALS", "value": ""}]}


def outcome(targeting, context, visitor_id=VISITOR):
    """Classify one targeting as MATCH, NO or ERROR."""
    alone = compile_targeting({"targetingGroups": [{"targetings": [targeting]}]})
    with_other = compile_targeting({"targetingGroups": [{"targetings": [targeting]}, ALWAYS]})
    if alone.matches(context, visitor_id):
        assert with_other.matches(context, visitor_id)
        return MATCH
    return NO if with_other.matches(context, visitor_id) else ERROR


def check(operator, value, context_value, expected, key="k"):
    targeting = {"key": key, "operator": operator, "value": value}
    context = {} if context_value is MISSING else {key: context_value}
    assert outcome(targeting, context) == expected


STRINGS = [
    ("EQUALS", "abc", "ABC", MATCH),
    ("EQUALS", "abc", "abd", NO),
    ("EQUALS", "", "", MATCH),
    ("EQUALS", "", " ", NO),
    ("NOT_EQUALS", "abc", "ABC", NO),
    ("NOT_EQUALS", "abc", "abd", MATCH),
    ("CONTAINS", "B", "abc", MATCH),
    ("CONTAINS", "d", "abc", NO),
    ("NOT_CONTAINS", "d", "abc", MATCH),
    ("NOT_CONTAINS", "B", "abc", NO),
    ("STARTS_WITH", "A", "abc", MATCH),
    ("STARTS_WITH", "", "abc", MATCH),
    ("STARTS_WITH", "c", "abc", NO),
    ("ENDS_WITH", "C", "abc", MATCH),
    ("ENDS_WITH", "a", "abc", NO),
    # Ordering compares the context with the targeting value, lower-cased.
    ("GREATER_THAN", "abc", "ABD", MATCH),
    ("GREATER_THAN", "abc", "abc", NO),
    ("LOWER_THAN", "abd", "ABC", MATCH),
    ("LOWER_THAN", "abc", "abd", NO),
    ("GREATER_THAN_OR_EQUALS", "ABC", "abc", MATCH),
    ("GREATER_THAN_OR_EQUALS", "abd", "abc", NO),
    ("LOWER_THAN_OR_EQUALS", "ABC", "abc", MATCH),
    ("LOWER_THAN_OR_EQUALS", "abc", "abd", NO),
    ("GREATER_THAN", "10", "9", MATCH),  # strings order as text
    # Unicode: EqualFold uses simple case folding, the others Go's ToLower.
    ("EQUALS", "ÉTÉ", "été", MATCH),
    ("EQUALS", "straße", "STRASSE", NO),
    ("EQUALS", "s", "\u017f", MATCH),  # long s
    ("EQUALS", "k", "\u212a", MATCH),
    ("EQUALS", "i", "İ", NO),
    ("STARTS_WITH", "s", "\u017f", NO),
    ("ENDS_WITH", "i", "Aİ", MATCH),
    ("CONTAINS", "\u03c3", "\u039f\u0394\u039f\u03a3", MATCH),  # no final sigma
    # Kinds must match: a string targeting against anything else is an error.
    ("EQUALS", "5", 5, ERROR),
    ("EQUALS", "true", True, ERROR),
    ("NOT_EQUALS", "x", 1.5, ERROR),
    ("CONTAINS", "a", None, ERROR),
    ("EQUALS", "a", {"a": 1}, ERROR),
]

NUMBERS = [
    ("EQUALS", 5, 5.0, MATCH),
    ("EQUALS", 5, 6, NO),
    ("NOT_EQUALS", 5, 6, MATCH),
    ("NOT_EQUALS", 5.0, 5, NO),
    ("GREATER_THAN", 18, 20, MATCH),
    ("GREATER_THAN", 18, 18, NO),
    ("LOWER_THAN", 18, 17.5, MATCH),
    ("LOWER_THAN", 18, 18, NO),
    ("GREATER_THAN_OR_EQUALS", 10, 10, MATCH),
    ("GREATER_THAN_OR_EQUALS", 10, 9, NO),
    ("LOWER_THAN_OR_EQUALS", 10, 10, MATCH),
    ("LOWER_THAN_OR_EQUALS", 10, 11, NO),
    ("EQUALS", -0.0, 0, MATCH),
    ("EQUALS", 2**53, 2**53 + 1, MATCH),  # float64, as the engine compares
    # String-only operators on numbers are errors.
    ("CONTAINS", 5, 5, ERROR),
    ("NOT_CONTAINS", 5, 6, ERROR),
    ("STARTS_WITH", 5, 55, ERROR),
    ("ENDS_WITH", 5, 55, ERROR),
    ("EQUALS", 5, "5", ERROR),
    ("EQUALS", 1, True, ERROR),  # a bool is not a number
    ("GREATER_THAN", 0, False, ERROR),
]

BOOLS = [
    ("EQUALS", True, True, MATCH),
    ("EQUALS", True, False, NO),
    ("NOT_EQUALS", True, False, MATCH),
    ("NOT_EQUALS", False, False, NO),
    ("EQUALS", True, 1, ERROR),
    ("EQUALS", False, "false", ERROR),
    ("GREATER_THAN", True, False, ERROR),
    ("LOWER_THAN_OR_EQUALS", True, True, ERROR),
    ("CONTAINS", True, True, ERROR),
    ("STARTS_WITH", False, False, ERROR),
]

LIST_VALUES = [
    ("EQUALS", ["a", "B"], "b", MATCH),
    ("EQUALS", ["a", "B"], "c", NO),
    ("EQUALS", [], "c", NO),
    ("NOT_EQUALS", ["a", "b"], "c", MATCH),
    ("NOT_EQUALS", ["a", "b"], "A", NO),
    ("NOT_EQUALS", [], "c", MATCH),
    ("CONTAINS", ["x", "bc"], "ABCD", MATCH),
    ("CONTAINS", ["x", "y"], "ABCD", NO),
    ("NOT_CONTAINS", ["x", "y"], "abc", MATCH),
    ("NOT_CONTAINS", ["x", "B"], "abc", NO),
    ("EQUALS", [1, 2, 3], 2.0, MATCH),
    ("NOT_EQUALS", [1, 2, 3], 4, MATCH),
    ("EQUALS", [True], True, MATCH),
    # Elements of another kind never match, and never error.
    ("EQUALS", ["a", 1], 1, MATCH),
    ("EQUALS", ["a"], True, NO),
    ("NOT_EQUALS", ["a", 1], "b", NO),
    ("CONTAINS", [1, 2], 1, NO),
    # Other operators with a list are false, not errors.
    ("GREATER_THAN", [1, 100], 50, NO),
    ("LOWER_THAN", [1, 100], 50, NO),
    ("GREATER_THAN_OR_EQUALS", [50], 50, NO),
    ("LOWER_THAN_OR_EQUALS", [50], 50, NO),
    ("STARTS_WITH", ["a"], "abc", NO),
    ("ENDS_WITH", ["c"], "abc", NO),
    ("SEMVER_EQUALS", ["1.0.0"], "1.0.0", NO),
    ("EQUALS", [["a"]], "a", MATCH),  # nested lists are walked recursively
]

LIST_CONTEXTS = [
    ("EQUALS", "b", ["a", "B"], MATCH),
    ("EQUALS", "b", ["a"], NO),
    ("EQUALS", "b", [], NO),
    ("NOT_EQUALS", "b", ["a", "c"], MATCH),
    ("NOT_EQUALS", "b", ["a", "b"], NO),
    ("NOT_EQUALS", "b", [], MATCH),
    ("CONTAINS", "b", ["xBx", "y"], MATCH),
    ("NOT_CONTAINS", "b", ["x", "y"], MATCH),
    ("NOT_CONTAINS", "b", ["x", "ab"], NO),
    ("EQUALS", 3, [1, 3], MATCH),
    ("GREATER_THAN", 5, [10], NO),  # other operators are false
    ("STARTS_WITH", "a", ["abc"], NO),
    # The first element decides the kind: another kind is an error ...
    ("EQUALS", "a", [1, "a"], ERROR),
    ("GREATER_THAN", 5, ["10"], ERROR),
    ("EQUALS", 1, [True], ERROR),
    # ... a later element of another kind only makes it false.
    ("EQUALS", "a", ["a", 1], NO),
    ("NOT_EQUALS", "a", ["b", 1], NO),
    # A list targeting value against a list context needs lists inside.
    ("EQUALS", ["a"], ["a"], ERROR),
    ("EQUALS", ["a"], [], NO),
]

EXISTS = [
    ("EXISTS", True, "anything", MATCH),
    ("EXISTS", True, MISSING, NO),
    ("EXISTS", False, MISSING, MATCH),
    ("EXISTS", False, 0, NO),
    ("NOT_EXISTS", True, MISSING, MATCH),
    ("NOT_EXISTS", True, "x", NO),
    ("NOT_EXISTS", False, "x", MATCH),
    ("NOT_EXISTS", False, MISSING, NO),
    ("EXISTS", True, None, MATCH),  # a null value is present
    ("EXISTS", "yes", "x", NO),  # anything but true reads as false
    ("EXISTS", "yes", MISSING, MATCH),
    ("EXISTS", True, [True], NO),  # lists are neither "any" nor "all"
    ("EXISTS", True, [], NO),
    ("EXISTS", True, ["a"], ERROR),  # first element of another kind
]

MISSING_KEYS = [
    ("EQUALS", "a", MISSING, NO),
    ("NOT_EQUALS", "a", MISSING, NO),
    ("NOT_CONTAINS", "a", MISSING, NO),
    ("GREATER_THAN", 1, MISSING, NO),
    ("EQUALS", ["a"], MISSING, NO),
    ("SEMVER_EQUALS", "1.0.0", MISSING, NO),
    ("UNKNOWN_OPERATOR", "a", MISSING, NO),
]

SEMVER = [
    ("SEMVER_EQUALS", "1.2.3", "1.2.3", MATCH),
    ("SEMVER_EQUALS", "1.2.3", "v1.2.3", MATCH),
    ("SEMVER_EQUALS", "1.2", "1.2.0", MATCH),  # shorthands are valid
    ("SEMVER_EQUALS", "1", "v1.0.0", MATCH),
    ("SEMVER_EQUALS", "1.0.0+build.1", "1.0.0+build.2", MATCH),  # build ignored
    ("SEMVER_NOT_EQUALS", "1.2.3", "1.2.4", MATCH),
    ("SEMVER_GREATER_THAN", "1.2.0", "1.10.0", MATCH),  # numeric, not text
    ("SEMVER_GREATER_THAN", "1.2.0", "1.2.0", NO),
    ("SEMVER_LOWER_THAN", "1.0.0", "1.0.0-alpha", MATCH),
    ("SEMVER_LOWER_THAN", "1.0.0-alpha.beta", "1.0.0-alpha.1", MATCH),
    ("SEMVER_LOWER_THAN", "1.0.0-10", "1.0.0-2", MATCH),
    ("SEMVER_LOWER_THAN", "1.0.0-alpha.1", "1.0.0-alpha", MATCH),
    ("SEMVER_GREATER_THAN_OR_EQUALS", "2.0.0", "2.0.0", MATCH),
    ("SEMVER_GREATER_THAN_OR_EQUALS", "2.0.0", "1.99.99", NO),
    ("SEMVER_LOWER_THAN_OR_EQUALS", "2.0.0", "2.0.0", MATCH),
    ("SEMVER_LOWER_THAN_OR_EQUALS", "2.0.0", "2.0.1", NO),
    # Invalid on either side: false, not an error.
    ("SEMVER_EQUALS", "1.2.3", "1.2-beta", NO),
    ("SEMVER_EQUALS", "1.2.3", "01.2.3", NO),
    ("SEMVER_EQUALS", "1.2.3", "V1.2.3", NO),
    ("SEMVER_NOT_EQUALS", "1.2.3", "not a version", NO),
    ("SEMVER_NOT_EQUALS", "garbage", "1.2.3", NO),
    ("SEMVER_EQUALS", "1.0.0-01", "1.0.0-01", NO),
    # Strings only.
    ("SEMVER_EQUALS", "1.0.0", 1, ERROR),
    ("SEMVER_EQUALS", 1, 1, ERROR),
    ("SEMVER_GREATER_THAN", True, True, ERROR),
]

UNKNOWN_OPERATORS = [
    ("REGEX", "a.*", "abc", ERROR),
    ("equals", "abc", "abc", ERROR),  # enum names are case-sensitive
    ("REGEX", 5, 5, ERROR),
    ("REGEX", ["a"], "a", NO),  # list values never error
    (None, "abc", "abc", ERROR),  # no operator
    (4, "abc", "ABC", MATCH),  # protobuf JSON accepts the enum number (4 = EQUALS)
    (99, "abc", "abc", ERROR),
]

NULL_AND_ABSENT = [
    ("EQUALS", None, None, NO),  # null against null: no comparison, no error
    ("EQUALS", None, "x", ERROR),
    ("EQUALS", {"a": 1}, {"a": 1}, NO),
]


@pytest.mark.parametrize(
    ("operator", "value", "context_value", "expected"),
    STRINGS
    + NUMBERS
    + BOOLS
    + LIST_VALUES
    + LIST_CONTEXTS
    + EXISTS
    + MISSING_KEYS
    + SEMVER
    + UNKNOWN_OPERATORS
    + NULL_AND_ABSENT,
)
def test_engine_semantics(operator, value, context_value, expected):
    check(operator, value, context_value, expected)


def test_tuple_context_values_are_lists():
    check("EQUALS", "b", ("a", "b"), MATCH)


def test_targeting_without_value():
    assert outcome({"key": "k", "operator": "EQUALS"}, {"k": "x"}) == ERROR
    assert outcome({"key": "k", "operator": "EQUALS"}, {}) == NO
    assert outcome({"key": "k", "operator": "EXISTS"}, {}) == MATCH


def test_targeting_without_key_reads_the_empty_key():
    assert outcome({"operator": "EQUALS", "value": "x"}, {}) == NO
    assert outcome({"operator": "EQUALS", "value": "x"}, {"": "X"}) == MATCH


@pytest.mark.parametrize("operator", [*sorted(OPERATORS), "REGEX", None, "NOT_A_THING", 0, 12])
def test_fs_all_users_is_skipped_for_any_operator(operator):
    targeting = {"key": "fs_all_users", "operator": operator, "value": 123}
    assert outcome(targeting, {}) == MATCH
    group = {"targetings": [targeting, {"key": "age", "operator": "GREATER_THAN", "value": 18}]}
    compiled = compile_targeting({"targetingGroups": [group]})
    assert compiled.matches({"age": 20}, "v")
    assert not compiled.matches({"age": 10}, "v")


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("EQUALS", VISITOR.upper(), MATCH),
        ("EQUALS", "someone-else", NO),
        ("ENDS_WITH", "@abtasty.com", MATCH),
        ("CONTAINS", "@", MATCH),
        ("NOT_CONTAINS", "@", NO),
        ("EQUALS", [VISITOR, "x"], MATCH),
        ("NOT_EQUALS", ["a", "b"], MATCH),
        ("EXISTS", True, MATCH),
        ("NOT_EXISTS", True, NO),
        ("EQUALS", 42, ERROR),  # the visitor id is a string
    ],
)
def test_fs_users_is_the_visitor_id(operator, value, expected):
    targeting = {"key": "fs_users", "operator": operator, "value": value}
    # The context is never consulted, even when it has the key.
    assert outcome(targeting, {"fs_users": "other"}) == expected


def test_provider_targetings_never_see_the_standard_context():
    with_provider = {"key": "age", "provider": "segment", "operator": "EQUALS", "value": 1}
    assert outcome(with_provider, {"age": 1}) == NO
    exists_false = {**with_provider, "operator": "EXISTS", "value": False}
    assert outcome(exists_false, {"age": 1}) == MATCH
    empty_provider = {**with_provider, "provider": ""}
    assert outcome(empty_provider, {"age": 1}) == MATCH


def test_structure_no_groups_and_empty_groups_never_match():
    assert not compile_targeting(None).matches({}, "v")
    assert not compile_targeting({}).matches({}, "v")
    assert not compile_targeting({"targetingGroups": []}).matches({}, "v")
    assert not compile_targeting({"targetingGroups": [{"targetings": []}]}).matches({}, "v")
    assert not compile_targeting({"targetingGroups": [{}]}).matches({}, "v")
    # An empty group neither matches nor blocks another group.
    both = compile_targeting({"targetingGroups": [{"targetings": []}, ALWAYS]})
    assert both.matches({}, "v")


def test_groups_are_ored_and_targetings_anded():
    targeting = compile_targeting(
        {
            "targeting_groups": [  # snake_case is accepted, as the engine does
                {
                    "targetings": [
                        {"key": "country", "operator": "EQUALS", "value": "fr"},
                        {"key": "age", "operator": "GREATER_THAN_OR_EQUALS", "value": 18},
                    ]
                },
                {"targetings": [{"key": "vip", "operator": "EQUALS", "value": True}]},
            ]
        }
    )
    assert targeting.matches({"country": "FR", "age": 30}, "v")
    assert not targeting.matches({"country": "FR", "age": 10}, "v")
    assert targeting.matches({"country": "de", "vip": True}, "v")
    assert not targeting.matches({"country": "de", "vip": False}, "v")
    assert not targeting.matches({}, "v")


@pytest.mark.parametrize("error_group_first", [True, False])
def test_an_error_in_any_group_makes_the_whole_targeting_false(error_group_first):
    matching = {"targetings": [{"key": "plan", "operator": "EQUALS", "value": "pro"}]}
    erroring = {"targetings": [{"key": "age", "operator": "GREATER_THAN", "value": 18}]}
    groups = [erroring, matching] if error_group_first else [matching, erroring]
    targeting = compile_targeting({"targetingGroups": groups})
    assert targeting.matches({"plan": "pro", "age": 30}, "v")
    assert not targeting.matches({"plan": "pro", "age": "30"}, "v")  # string vs number
    assert targeting.matches({"plan": "pro"}, "v")  # missing key: no error
    assert "error" in targeting.explain({"plan": "pro", "age": "30"}, "v")


def test_an_error_after_a_false_targeting_in_the_same_group_still_counts():
    group = {
        "targetings": [
            {"key": "a", "operator": "EQUALS", "value": "x"},
            {"key": "b", "operator": "CONTAINS", "value": 1},
        ]
    }
    targeting = compile_targeting({"targetingGroups": [group, ALWAYS]})
    assert targeting.matches({"a": "nope"}, "v")
    assert not targeting.matches({"a": "nope", "b": 1}, "v")


def test_explain_describes_the_result():
    targeting = compile_targeting({"targetingGroups": [ALWAYS]})
    assert targeting.explain({}, "v") == "matched"
    never = compile_targeting(
        {"targetingGroups": [{"targetings": [{"key": "k", "operator": "EQUALS", "value": "x"}]}]}
    )
    assert never.explain({"k": "y"}, "v") == "no targeting group matched"
    assert compile_targeting(None).explain({}, "v") == "no targeting group"


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "targeting",
        {"targetingGroups": {"targetings": []}},
        {"targetingGroups": ["group"]},
        {"targetingGroups": [{"targetings": "x"}]},
        {"targetingGroups": [{"targetings": ["x"]}]},
        {"targetingGroups": [{"targetings": [{"key": 5, "operator": "EQUALS", "value": 1}]}]},
        {"targetingGroups": [{"targetings": [{"key": "k", "operator": ["EQUALS"]}]}]},
        {"targetingGroups": [{"targetings": [{"key": "k", "operator": "EQUALS", "provider": 1}]}]},
    ],
)
def test_unreadable_shapes_raise(bad):
    with pytest.raises(TargetingError):
        compile_targeting(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ABC", "abc"),
        ("İstanbul", "istanbul"),  # Go maps U+0130 to a plain i
        ("ΟΔΟΣ", "οδοσ"),  # no final-sigma rule, per character
        ("Straße", "straße"),
        ("ǅ", "ǆ"),
    ],
)
def test_go_lower(value, expected):
    assert go_lower(value) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Go", "GO", True),
        ("\u017f", "S", True),
        ("\u212a", "k", True),
        ("ß", "ẞ", True),
        ("ß", "ss", False),
        ("ᾈ", "ᾀ", True),
        ("İ", "i", False),
        ("\u00b5", "\u039c", True),  # micro sign, capital mu
        ("a", "ab", False),
    ],
)
def test_go_equal_fold(a, b, expected):
    assert go_equal_fold(a, b) is expected


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("1.2.3", (1, 2, 3, ())),
        ("v1.2.3", (1, 2, 3, ())),
        ("1.2", (1, 2, 0, ())),
        ("1", (1, 0, 0, ())),
        ("1.2.3-rc.1+build.5", (1, 2, 3, ("rc", "1"))),
        ("0.0.0-0a", (0, 0, 0, ("0a",))),
        ("1.2-rc", None),
        ("1.2.3-", None),
        ("1.2.3-a..b", None),
        ("1.2.3+", None),
        ("1.2.3+a..b", None),
        ("1.02.3", None),
        ("V1.2.3", None),
        ("1.2.3.4", None),
        ("", None),
        ("v", None),
        ("1.2.٣", None),  # ASCII digits only
    ],
)
def test_parse_semver(value, parsed):
    assert parse_semver(value) == parsed


# --- differential test against a plain reference interpreter ------------------
# A direct, unoptimised reading of the engine's rules, sharing no code with the
# compiler. ASCII strings only, so lower-casing is the same everywhere; the
# semantic versions used have a hand-written order.

REF_MISSING = object()
REF_ERROR = object()
VERSION_RANK = {"1.0.0-alpha": 0, "1.0.0": 1, "v1.0.0": 1, "1.2": 2, "1.2.0": 2, "1.10.0": 3}
AND_OPS = {"NOT_EQUALS", "NOT_CONTAINS"}
OR_OPS = {"EQUALS", "CONTAINS"}


def ref_kind(value):
    if value is MISSING_VALUE:
        return "absent"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return "object"


def ref_scalar(op, target, value, kind):
    if kind == "string":
        t, v = target.lower(), value.lower()
        if op.startswith("SEMVER_"):
            if target not in VERSION_RANK or value not in VERSION_RANK:
                return False
            a, b = VERSION_RANK[value], VERSION_RANK[target]
            return {
                "SEMVER_EQUALS": a == b,
                "SEMVER_NOT_EQUALS": a != b,
                "SEMVER_GREATER_THAN": a > b,
                "SEMVER_LOWER_THAN": a < b,
                "SEMVER_GREATER_THAN_OR_EQUALS": a >= b,
                "SEMVER_LOWER_THAN_OR_EQUALS": a <= b,
            }[op]
        table = {
            "EQUALS": v == t,
            "NOT_EQUALS": v != t,
            "LOWER_THAN": v < t,
            "GREATER_THAN": v > t,
            "LOWER_THAN_OR_EQUALS": v <= t,
            "GREATER_THAN_OR_EQUALS": v >= t,
            "STARTS_WITH": v.startswith(t),
            "ENDS_WITH": v.endswith(t),
            "CONTAINS": t in v,
            "NOT_CONTAINS": t not in v,
        }
        return table.get(op, REF_ERROR)
    if kind == "number":
        t, v = float(target), float(value)
        table = {
            "EQUALS": v == t,
            "NOT_EQUALS": v != t,
            "LOWER_THAN": v < t,
            "GREATER_THAN": v > t,
            "LOWER_THAN_OR_EQUALS": v <= t,
            "GREATER_THAN_OR_EQUALS": v >= t,
        }
        return table.get(op, REF_ERROR)
    if kind == "bool":
        return {"EQUALS": value == target, "NOT_EQUALS": value != target}.get(op, REF_ERROR)
    return False  # null and object: no comparison


def ref_operator(op, target, value):
    if value is not REF_MISSING and ref_kind(value) == "list":
        if value and ref_kind(value[0]) != ref_kind(target):
            return REF_ERROR
        match = op in AND_OPS
        for item in value:
            sub = ref_operator(op, target, item)
            if sub is REF_ERROR:
                return False
            if op in AND_OPS:
                match = match and sub
            if op in OR_OPS:
                match = match or sub
        return match
    if op in ("EXISTS", "NOT_EXISTS"):
        wanted = target is True
        present = value is not REF_MISSING
        return present == wanted if op == "EXISTS" else present != wanted
    if ref_kind(target) != "list" and ref_kind(target) != ref_kind(value):
        return REF_ERROR
    if ref_kind(target) == "list":
        match = op in AND_OPS
        for item in target:
            sub = ref_operator(op, item, value)
            if op in AND_OPS:
                match = match and sub is True
            if op in OR_OPS:
                match = match or sub is True
        return match
    return ref_scalar(op, target, value, ref_kind(target))


def ref_matches(targeting, context, visitor_id):
    matched = False
    for group in targeting["targetingGroups"]:
        group_match = len(group["targetings"]) > 0
        for t in group["targetings"]:
            key = t.get("key", "")
            if key == "fs_all_users":
                continue
            if key == "fs_users":
                value = visitor_id
            elif t.get("provider"):
                value = REF_MISSING
            else:
                value = context.get(key, REF_MISSING)
            op = t.get("operator")
            op = op if op in OPERATORS else "NULL"
            if value is REF_MISSING and op not in ("EXISTS", "NOT_EXISTS"):
                group_match = False
                continue
            result = ref_operator(op, t.get("value", MISSING_VALUE), value)
            if result is REF_ERROR:
                return False
            group_match = group_match and result
        matched = matched or group_match
    return matched


MISSING_VALUE = object()  # a targeting without "value" (never put in the JSON)
STRINGS_POOL = ["abc", "ABC", "b", "", "ab", "x", "1.2.0", "1.10.0", "1.0.0-alpha", "v1.0.0", "1.2"]
VALUES_POOL = [
    *STRINGS_POOL,
    0,
    1,
    1.5,
    -2,
    2**53 + 1,
    True,
    False,
    None,
    {"k": 1},
    [],
    ["abc", "b"],
    ["ABC"],
    [1, 2.5],
    [1, "a"],
    [True],
    [[1]],
    [["abc"]],
]
OPERATOR_POOL = [*sorted(OPERATORS), "REGEX", None]


def random_targeting(rng):
    groups = []
    for _ in range(rng.randint(0, 3)):
        targetings = []
        for _ in range(rng.randint(0, 3)):
            t = {"key": rng.choice(["a", "b", "c", "fs_users", "fs_all_users"])}
            t["operator"] = rng.choice(OPERATOR_POOL)
            if rng.random() < 0.95:
                t["value"] = rng.choice(VALUES_POOL)
            if rng.random() < 0.05:
                t["provider"] = "crm"
            targetings.append(t)
        groups.append({"targetings": targetings})
    return {"targetingGroups": groups}


def random_context(rng):
    return {key: rng.choice(VALUES_POOL) for key in ("a", "b", "c") if rng.random() < 0.7}


def test_compiled_and_generated_code_agree_with_the_reference():
    rng = random.Random(99)
    seen = collections.Counter()
    for _ in range(4000):
        targeting = random_targeting(rng)
        compiled = compile_targeting(targeting)
        selector = compile_selector([[(compiled, "hit")]])
        for _ in range(3):
            context = random_context(rng)
            visitor_id = rng.choice(["abc", "ABC", "1.2.0", "v1.0.0", "zz"])
            expected = ref_matches(targeting, context, visitor_id)
            assert compiled.matches(context, visitor_id) is expected, (targeting, context)
            assert selector(context, visitor_id) == (["hit"] if expected else [])
            seen[expected] += 1
    assert seen[True] > 500  # both outcomes are well represented
    assert seen[False] > 5000


def test_selector_takes_the_first_matching_group_of_each_campaign():
    rng = random.Random(7)
    for _ in range(60):
        campaigns = [[random_targeting(rng) for _ in range(rng.randint(0, 3))] for _ in range(25)]
        selector = compile_selector(
            [
                [(compile_targeting(t), (c, g)) for g, t in enumerate(groups)]
                for c, groups in enumerate(campaigns)
            ]
        )
        for _ in range(10):
            context = random_context(rng)
            expected = []
            for c, groups in enumerate(campaigns):
                for g, targeting in enumerate(groups):
                    if ref_matches(targeting, context, "abc"):
                        expected.append((c, g))
                        break
            assert selector(context, "abc") == expected


def test_generated_code_does_not_execute_targeting_data():
    hostile = "x'); raise SystemExit(1); ('"
    targeting = {
        "targetingGroups": [
            {"targetings": [{"key": hostile, "operator": "EQUALS", "value": hostile + '"\\'}]}
        ]
    }
    selector = compile_selector([[(compile_targeting(targeting), "hit")]])
    assert selector({hostile: hostile.upper() + '"\\'}, "v") == ["hit"]
    assert selector({}, "v") == []
