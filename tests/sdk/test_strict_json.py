"""The one JSON decoder for outside input: depth, text and number bounds."""

import json

import pytest

from django_flagship.sdk.strict_json import (
    MAX_DEPTH,
    JsonDepthError,
    JsonError,
    JsonTextError,
    dumps,
    loads,
    nesting_depth,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_the_limit_itself_is_accepted_and_one_more_level_is_not():
    assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    with pytest.raises(JsonDepthError, match=f"deeper than {MAX_DEPTH} levels"):
        loads(nested(MAX_DEPTH + 1))
    mixed = '{"a":' * 40 + "[" * 24 + "]" * 24 + "}" * 40
    assert nesting_depth(mixed) == MAX_DEPTH
    loads(mixed)
    with pytest.raises(JsonDepthError):
        loads('{"a":' * 40 + "[" * 25 + "]" * 25 + "}" * 40)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deep_nesting_is_a_json_error_not_a_recursion_error(depth):
    for raw in ("[" * depth, nested(depth), '{"a":' * depth, ("[" * depth).encode()):
        with pytest.raises(JsonDepthError):
            loads(raw)


def test_the_bound_does_not_depend_on_the_callers_stack():
    # The decoder recurses; the check before it does not, so a caller already
    # deep in its own stack gets the same answers.
    def at_depth(frames: int):
        if frames:
            return at_depth(frames - 1)
        with pytest.raises(JsonDepthError):
            loads("[" * 50_000)
        return loads(nested(MAX_DEPTH))

    assert at_depth(700) == json.loads(nested(MAX_DEPTH))


def test_a_smaller_limit_can_be_asked_for():
    assert loads(nested(3), max_depth=3) == [[[]]]
    with pytest.raises(JsonDepthError, match="deeper than 3 levels"):
        loads(nested(4), max_depth=3)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[["', 0),
        ('{"a": "]]]][[[[", "b": [1, {"c": []}]}', 4),
        (r'["\"[[[", ["\\", [[]]]]', 4),
        ('["\\u005b\\u005b"]', 1),
    ],
)
def test_brackets_inside_strings_do_not_count(text, depth):
    assert nesting_depth(text) == depth
    json.loads(text)  # each is valid JSON


def test_an_unclosed_string_is_refused_without_rescanning_the_text():
    # Every quote of this text opens a string that the next escape keeps open:
    # scanning from each quote again would take minutes on 64 KiB.
    for raw in ('\\"' * 32_000, '["' + "\\[" * 30_000, '"' + "[" * 70):
        with pytest.raises(JsonError):
            loads(raw)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('"\\ud800"', "the JSON text"),
        ('{"visitor_id": "\\ud800x"}', "visitor_id"),
        ('{"visitorId": "\\udfff"}', "visitorId"),
        ('{"context": {"\\udfff": 1}}', "a key in context"),
        ('{"\\udfff": 1}', "a key"),
        ('{"context": {"k": ["ok", "\\uDBFF"]}}', "context.k[1]"),
        ('{"batch": [{"vid": "a"}, {"vid": "\\ude00\\ud83d"}]}', "batch[1].vid"),
        ('{"vid": "\\ud83d\\ud83d\\ude00"}', "vid"),
    ],
)
def test_a_lone_surrogate_is_refused_and_located(raw, where):
    with pytest.raises(JsonTextError) as info:
        loads(raw)
    assert info.value.where == where
    assert str(info.value) == f"{where} is not valid text: it holds a lone UTF-16 surrogate"
    # The message itself can always be encoded (into a response, a log line).
    str(info.value).encode("utf-8")


def test_a_surrogate_in_a_str_given_directly_is_refused():
    with pytest.raises(JsonTextError, match=r"^a is not valid text"):
        loads('{"a": "\ud800"}')


def test_a_surrogate_pair_and_other_text_are_accepted():
    assert loads('{"a": "\\ud83d\\ude00", "b": "\\u00e9t\\u00e9", "c": "été"}') == {
        "a": "😀",
        "b": "été",
        "c": "été",
    }


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"\xff\xfe[]", "not UTF-8"),
        ("[1]".encode("utf-16"), "not UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8"),  # a surrogate encoded as bytes
        ("[NaN]", "NaN is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ("1" * 5_000, "digits"),
        ("{", "line 1, column 2"),
        ("", "Expecting value"),
    ],
)
def test_what_protojson_refuses_is_refused(raw, needle):
    with pytest.raises(JsonError, match=needle):
        loads(raw)


def test_nan_can_be_let_through_for_callers_that_check_numbers_themselves():
    assert loads("[NaN, Infinity]", allow_nan=True)[1] == float("inf")


def test_errors_are_value_errors():
    # Callers that already catch ValueError keep working.
    assert issubclass(JsonError, ValueError)
    assert issubclass(JsonDepthError, JsonError)
    assert issubclass(JsonTextError, JsonError)


def test_dumps_writes_compact_text_keeps_non_ascii_and_refuses_nan():
    assert dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'
    assert loads(dumps({"a": [1.5, "é"]})) == {"a": [1.5, "é"]}
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="JSON compliant"):
            dumps({"x": value})
