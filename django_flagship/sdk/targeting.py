"""Targeting: compile a variation group's ``targeting`` into a fast predicate.

The semantics are those of Flagship's decision engine (flagship-common, the
library behind the self-hosted Decision API), not those of the official
Python SDK:

* ``targetingGroups`` are ORed, the ``targetings`` of a group are ANDed. No
  group, or a group whose ``targetings`` list is empty, never matches.
* A targeting that *errors* makes the whole targeting false, whatever the
  other groups say. Errors are: the context value and the targeting value
  are of different JSON kinds (string, number, bool, list, null, object), or
  the operator does not apply to that kind (``CONTAINS`` on a number,
  ``GREATER_THAN`` on a bool, an unknown operator on any scalar).
* A key missing from the context makes its targeting false, without error,
  except for ``EXISTS``/``NOT_EXISTS``.
* ``fs_all_users`` targetings are skipped, whatever their operator.
  ``fs_users`` compares the visitor id (a string). A targeting with a
  non-empty ``provider`` reads an integration context that a local engine
  does not have: its key is always missing.
* Strings compare case-insensitively: ``EQUALS``/``NOT_EQUALS`` with Unicode
  simple case folding, the others on lower-cased strings (per character, as
  Go's ``strings.ToLower`` does). Numbers compare as float64. A Python
  ``bool`` is a bool, never a number.
* A list targeting value: ``EQUALS``/``CONTAINS`` need one element to match,
  ``NOT_EQUALS``/``NOT_CONTAINS`` need every element to match (an element of
  another kind counts as not matching), other operators are false.
* A list context value: its first element must be of the targeting value's
  kind (otherwise an error); ``EQUALS``/``CONTAINS`` need one element to
  match, ``NOT_*`` every element, other operators are false; an element of
  another kind makes the result false.
* ``EXISTS`` with ``true`` matches a present key, with anything else an
  absent key; ``NOT_EXISTS`` is the reverse.
* ``SEMVER_*`` compare strings as semantic versions with the rules of Go's
  ``golang.org/x/mod/semver``: a ``v`` is prefixed when missing, ``1`` and
  ``1.2`` are valid shorthands for ``1.0.0`` and ``1.2.0``, a pre-release
  needs all three numbers, build metadata is ignored. When either side is
  not a valid version the targeting is false.

Everything that does not depend on the visitor is done once, at compile time:
:func:`compile_targeting` turns one targeting into closures (its ``matches``
predicate and per-condition evaluators, used for explanations), and
:func:`compile_selector` generates the code of one function for a whole
bucketing file, which reads each context key once per decision and tests the
common cases inline. Both are checked against each other and against a plain
reference interpreter in the tests.
"""

from __future__ import annotations

import decimal
import numbers
import operator as _op
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OPERATORS",
    "CompiledTargeting",
    "Condition",
    "TargetingError",
    "compile_selector",
    "compile_targeting",
    "go_equal_fold",
    "go_lower",
    "parse_semver",
    "wire_field",
]

Predicate = Callable[[Mapping[str, Any], str], bool]
# An evaluator returns True or False, or None for an error.
Evaluator = Callable[[Any], "bool | None"]

OPERATORS = frozenset(
    {
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
        "EXISTS",
        "NOT_EXISTS",
        "SEMVER_EQUALS",
        "SEMVER_NOT_EQUALS",
        "SEMVER_GREATER_THAN",
        "SEMVER_LOWER_THAN",
        "SEMVER_GREATER_THAN_OR_EQUALS",
        "SEMVER_LOWER_THAN_OR_EQUALS",
    }
)

# Protobuf JSON also accepts an enum by number.
_OPERATOR_NUMBERS = {
    0: "NULL",
    1: "LOWER_THAN",
    2: "GREATER_THAN_OR_EQUALS",
    3: "LOWER_THAN_OR_EQUALS",
    4: "EQUALS",
    5: "NOT_EQUALS",
    6: "STARTS_WITH",
    7: "ENDS_WITH",
    8: "CONTAINS",
    9: "NOT_CONTAINS",
    10: "GREATER_THAN",
    11: "EXISTS",
    12: "NOT_EXISTS",
}

_ALL_USERS = "fs_all_users"
_USERS = "fs_users"

_AND_OPS = frozenset({"NOT_EQUALS", "NOT_CONTAINS"})
_OR_OPS = frozenset({"EQUALS", "CONTAINS"})
_EXISTS_OPS = frozenset({"EXISTS", "NOT_EXISTS"})


class TargetingError(ValueError):
    """The targeting JSON has a shape the engine cannot read."""


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_MISSING = _Sentinel("<missing>")  # the context has no such key
_ABSENT = _Sentinel("<absent>")  # the targeting has no value
_VISITOR = _Sentinel("<visitor id>")  # condition key standing for the visitor id

# JSON kinds. Two values can be compared only when their kinds are equal.
_STR, _NUM, _BOOL, _LIST, _NULL, _OBJ, _NOVALUE, _OTHER = range(8)

_KIND_BY_TYPE: dict[type, int] = {
    str: _STR,
    int: _NUM,
    float: _NUM,
    bool: _BOOL,
    list: _LIST,
    tuple: _LIST,
    type(None): _NULL,
    dict: _OBJ,
}


def _kind(value: Any) -> int:
    kind = _KIND_BY_TYPE.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, str):
        return _STR
    if isinstance(value, numbers.Real | decimal.Decimal):
        return _NUM
    if isinstance(value, list | tuple):
        return _LIST
    if isinstance(value, Mapping):
        return _OBJ
    if value is _ABSENT:
        return _NOVALUE
    return _OTHER


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


# --- Go string semantics --------------------------------------------------


class _LowerTable(dict[int, str]):
    """``str.translate`` table applying Go's per-rune ``unicode.ToLower``."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lowered = char.lower()
        if len(lowered) != 1:
            # Only U+0130 (capital I with dot) lower-cases to two characters
            # in Python; Go maps it to a plain "i".
            lowered = "i" if code == 0x130 else char
        if len(self) < 4096:
            self[code] = lowered
        return lowered


class _FoldTable(dict[int, str]):
    """``str.translate`` table applying Unicode simple case folding (Go's EqualFold)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = char.casefold()
        if len(folded) != 1:
            # Full folding expands it; the simple folding, when there is one,
            # is the lower-case form (U+1E9E, Greek with ypogegrammeni).
            lowered = char.lower()
            folded = lowered if len(lowered) == 1 else char
        if len(self) < 4096:
            self[code] = folded
        return folded


def _remembering(table: dict[int, str]) -> Callable[[str], str]:
    """Translate non-ASCII strings with ``table``, remembering recent results.

    One decision evaluates the same context values (and the visitor id)
    against many targetings; translating each long non-ASCII string once is
    what counts. The memory is small and simply emptied when full.
    """
    cache: dict[str, str] = {}

    def transform(value: str) -> str:
        result = cache.get(value)
        if result is None:
            result = value.translate(table)
            if len(cache) >= 256:
                cache.clear()
            cache[value] = result
        return result

    return transform


_lower_non_ascii = _remembering(_LowerTable())
_fold_non_ascii = _remembering(_FoldTable())


def go_lower(value: str) -> str:
    """Lower-case ``value`` rune by rune, like Go's ``strings.ToLower``."""
    if value.isascii():
        return value.lower()
    return _lower_non_ascii(value)


def _fold(value: str) -> str:
    if value.isascii():
        return value.lower()
    return _fold_non_ascii(value)


def go_equal_fold(a: str, b: str) -> bool:
    """Case-insensitive equality under simple case folding, like Go's ``strings.EqualFold``."""
    return _fold(a) == _fold(b)


# --- semantic versions (golang.org/x/mod/semver) ---------------------------

_SEMVER_RE = re.compile(
    r"v(0|[1-9][0-9]*)"
    r"(?:\.(0|[1-9][0-9]*)"
    r"(?:\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.\-]+))?(?:\+([0-9A-Za-z.\-]+))?)?)?"
)

SemVer = tuple[int, int, int, tuple[str, ...]]


def parse_semver(value: str) -> SemVer | None:
    """Parse a version the way the engine does, or return None when it is invalid.

    A missing leading ``v`` is added first. The result orders like
    ``semver.Compare`` only through :func:`_semver_cmp`.
    """
    if not value.startswith("v"):
        value = "v" + value
    match = _SEMVER_RE.fullmatch(value)
    if match is None:
        return None
    major, minor, patch, pre, build = match.groups()
    prerelease: tuple[str, ...] = ()
    if pre is not None:
        prerelease = tuple(pre.split("."))
        for ident in prerelease:
            if not ident or (ident.isdigit() and len(ident) > 1 and ident[0] == "0"):
                return None
    if build is not None and "" in build.split("."):
        return None
    return (int(major), int(minor or 0), int(patch or 0), prerelease)


def _cmp_ident(a: str, b: str) -> int:
    a_num, b_num = a.isdigit() and a.isascii(), b.isdigit() and b.isascii()
    if a_num and b_num:
        x, y = int(a), int(b)
    elif a_num != b_num:
        return -1 if a_num else 1
    else:
        x, y = a, b  # type: ignore[assignment]
    return (x > y) - (x < y)


def _semver_cmp(a: SemVer, b: SemVer) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    pa, pb = a[3], b[3]
    if pa == pb:
        return 0
    if not pa:
        return 1
    if not pb:
        return -1
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            return _cmp_ident(x, y)
    return -1 if len(pa) < len(pb) else 1


_SEMVER_TESTS: dict[str, Callable[[int], bool]] = {
    "SEMVER_EQUALS": lambda c: c == 0,
    "SEMVER_NOT_EQUALS": lambda c: c != 0,
    "SEMVER_GREATER_THAN": lambda c: c > 0,
    "SEMVER_LOWER_THAN": lambda c: c < 0,
    "SEMVER_GREATER_THAN_OR_EQUALS": lambda c: c >= 0,
    "SEMVER_LOWER_THAN_OR_EQUALS": lambda c: c <= 0,
}


# --- per-kind comparisons ---------------------------------------------------
# Each function takes (context value, targeting value), the context first.


def _not_contains(haystack: str, needle: str) -> bool:
    return needle not in haystack


_STRING_OPS: dict[str, tuple[bool, Callable[[str, str], bool]]] = {
    # operator: (compare folded rather than lower-cased strings, comparison)
    "EQUALS": (True, _op.eq),
    "NOT_EQUALS": (True, _op.ne),
    "LOWER_THAN": (False, _op.lt),
    "GREATER_THAN": (False, _op.gt),
    "LOWER_THAN_OR_EQUALS": (False, _op.le),
    "GREATER_THAN_OR_EQUALS": (False, _op.ge),
    "STARTS_WITH": (False, str.startswith),
    "ENDS_WITH": (False, str.endswith),
    "CONTAINS": (False, _op.contains),
    "NOT_CONTAINS": (False, _not_contains),
}

_NUMBER_OPS: dict[str, Callable[[float, float], bool]] = {
    "EQUALS": _op.eq,
    "NOT_EQUALS": _op.ne,
    "LOWER_THAN": _op.lt,
    "GREATER_THAN": _op.gt,
    "LOWER_THAN_OR_EQUALS": _op.le,
    "GREATER_THAN_OR_EQUALS": _op.ge,
}

_BOOL_OPS: dict[str, Callable[[bool, bool], bool]] = {
    "EQUALS": _op.eq,
    "NOT_EQUALS": _op.ne,
}


def _error(_value: Any) -> None:
    return None


def _false(_value: Any) -> bool:
    return False


def _string_parts(op: str, target: str) -> tuple[Any, Callable[[str], str], str] | None:
    """(comparison, non-ASCII transform, transformed target), or None if unsupported."""
    entry = _STRING_OPS.get(op)
    if entry is None:
        return None
    folded, compare = entry
    if folded:
        return compare, _fold_non_ascii, _fold(target)
    return compare, _lower_non_ascii, go_lower(target)


def _semver_base(op: str, target: str) -> Evaluator:
    test = _SEMVER_TESTS[op]
    target_version = parse_semver(target)
    if target_version is None:
        return _false

    def semver(value: Any) -> bool:
        version = parse_semver(str(value))
        return version is not None and test(_semver_cmp(version, target_version))

    return semver


def _scalar_evaluator(op: str, target: Any, kind: int) -> Evaluator:
    """Evaluator for a scalar (or null/object/absent) targeting value."""
    base: Evaluator
    if kind == _STR:
        if op in _SEMVER_TESTS:
            base = _semver_base(op, str(target))
        else:
            parts = _string_parts(op, str(target))
            if parts is None:
                base = _error
            else:
                str_compare, non_ascii, ref_str = parts

                def base(value: Any) -> bool:
                    value = str(value)
                    return str_compare(
                        value.lower() if value.isascii() else non_ascii(value), ref_str
                    )

    elif kind == _NUM:
        num_compare = _NUMBER_OPS.get(op)
        if num_compare is None:
            base = _error
        else:
            ref_num = _to_float(target)

            def base(value: Any) -> bool:
                return num_compare(_to_float(value), ref_num)

    elif kind == _BOOL:
        bool_compare = _BOOL_OPS.get(op)
        if bool_compare is None:
            base = _error
        else:
            ref_bool = bool(target)

            def base(value: Any) -> bool:
                return bool_compare(bool(value), ref_bool)

    else:
        # null and object values compare to nothing (false without error); a
        # missing value never has the context's kind (error).
        base = _false

    and_op = op in _AND_OPS
    or_op = op in _OR_OPS

    def over_list(values: Any) -> bool | None:
        if values and _kind(values[0]) != kind:
            return None
        if and_op:
            # An error (None) counts as a mismatch.
            return all(evaluate(item) for item in values)
        if or_op:
            found = False
            for item in values:
                result = evaluate(item)
                if result is None:
                    return False
                if result:
                    found = True
            return found
        return False

    def slow(value: Any) -> bool | None:
        if value is _MISSING:
            return False
        value_kind = _kind(value)
        if value_kind == _LIST:
            return over_list(value)
        if value_kind != kind:
            return None
        return base(value)

    # Fast paths for exact str, int, float and bool context values; anything
    # else (a missing key, a list, another kind, a subclass) takes slow().
    evaluate: Evaluator
    if kind == _STR and base is not _error and op not in _SEMVER_TESTS:

        def evaluate(value: Any) -> bool | None:
            if type(value) is str:
                return str_compare(value.lower() if value.isascii() else non_ascii(value), ref_str)
            return slow(value)

    elif kind == _NUM and num_compare is not None:  # i.e. base is not _error

        def evaluate(value: Any) -> bool | None:
            value_type = type(value)
            if value_type is float:
                return num_compare(value, ref_num)
            if value_type is int:
                return num_compare(_to_float(value), ref_num)
            return slow(value)

    elif kind == _BOOL and bool_compare is not None:  # i.e. base is not _error

        def evaluate(value: Any) -> bool | None:
            if type(value) is bool:
                return bool_compare(value, ref_bool)
            return slow(value)

    elif kind in (_STR, _NUM, _BOOL):
        exact = {_STR: str, _NUM: float, _BOOL: bool}[kind]

        def evaluate(value: Any) -> bool | None:
            value_type = type(value)
            if value_type is exact or (kind == _NUM and value_type is int):
                return base(value)
            return slow(value)

    else:
        evaluate = slow
    return evaluate


def _list_evaluator(op: str, targets: list[Any] | tuple[Any, ...]) -> Evaluator:
    """Evaluator for a list targeting value."""
    and_op = op in _AND_OPS
    or_op = op in _OR_OPS
    items = tuple(_value_evaluator(op, item) for item in targets)

    def over_targets(value: Any) -> bool:
        # Plain loops: the generator forms of all()/any() cost more here.
        if and_op:
            for item in items:
                if item(value) is not True:
                    break
            else:
                return True
        elif or_op:
            for item in items:
                if item(value) is True:
                    return True
        return False

    def over_context_list(values: Any) -> bool | None:
        if values and _kind(values[0]) != _LIST:
            return None
        if and_op:
            return all(evaluate(item) for item in values)
        if or_op:
            found = False
            for item in values:
                result = evaluate(item)
                if result is None:
                    return False
                if result:
                    found = True
            return found
        return False

    fast_str: Evaluator | None = None
    if targets and all(type(t) is str for t in targets) and (and_op or or_op):
        if op in ("EQUALS", "NOT_EQUALS"):
            folded = frozenset(_fold(t) for t in targets)
            if op == "EQUALS":

                def fast_str(value: str) -> bool:
                    return _fold(value) in folded

            else:

                def fast_str(value: str) -> bool:
                    return _fold(value) not in folded

        else:
            lowered = tuple(go_lower(t) for t in targets)
            if op == "CONTAINS":

                def fast_str(value: str) -> bool:
                    haystack = go_lower(value)
                    return any(t in haystack for t in lowered)

            else:

                def fast_str(value: str) -> bool:
                    haystack = go_lower(value)
                    return all(t not in haystack for t in lowered)

    def evaluate(value: Any) -> bool | None:
        if fast_str is not None and type(value) is str:
            return fast_str(value)
        if value is _MISSING:
            return False
        if _kind(value) == _LIST:
            return over_context_list(value)
        return over_targets(value)

    return evaluate


def _exists_evaluator(op: str, target: Any) -> Evaluator:
    wanted = target is True  # any other value reads as false
    if op == "NOT_EXISTS":
        wanted = not wanted
    target_kind = _kind(target)

    def evaluate(value: Any) -> bool | None:
        if value is _MISSING:
            return not wanted
        if _kind(value) == _LIST:
            # A list is walked like any other value, and these operators are
            # neither "any" nor "all": false, unless the first element is of
            # another kind than the targeting value, which is an error.
            if value and _kind(value[0]) != target_kind:
                return None
            return False
        return wanted

    return evaluate


def _value_evaluator(op: str, target: Any) -> Evaluator:
    if op in _EXISTS_OPS:
        return _exists_evaluator(op, target)
    kind = _kind(target)
    if kind == _LIST:
        return _list_evaluator(op, target)
    return _scalar_evaluator(op, target, kind)


# --- targeting structure ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled targeting: its key (or the visitor id), operator and evaluator."""

    key: str
    operator: str
    value: Any
    provider: str | None
    evaluate: Evaluator

    def test(self, context: Mapping[str, Any], visitor_id: str) -> bool | None:
        """True, False, or None when the engine would report an error."""
        if self.key == _USERS:
            return self.evaluate(visitor_id)
        if self.provider:
            return self.evaluate(_MISSING)
        return self.evaluate(context.get(self.key, _MISSING))


def wire_field(data: Mapping[str, Any], camel: str, snake: str) -> Any:
    """A field by its JSON name or its proto (snake_case) name; null reads as absent."""
    value = data.get(camel)
    if value is None:
        value = data.get(snake)
    return value


def _compile_condition(raw: Any, where: str) -> Condition | None:
    """Compile one targeting; None for an ``fs_all_users`` targeting (skipped)."""
    if not isinstance(raw, Mapping):
        raise TargetingError(f"{where} is not an object")
    key = raw.get("key")
    if key is None:
        key = ""
    elif not isinstance(key, str):
        raise TargetingError(f"{where}: key must be a string, got {type(key).__name__}")
    if key == _ALL_USERS:
        return None
    operator = raw.get("operator")
    if operator is None:
        operator = "NULL"
    elif isinstance(operator, int) and not isinstance(operator, bool):
        operator = _OPERATOR_NUMBERS.get(operator, f"#{operator}")
    elif not isinstance(operator, str):
        raise TargetingError(f"{where}: operator must be a string, got {type(operator).__name__}")
    provider = raw.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise TargetingError(f"{where}: provider must be a string")
    value = raw.get("value", _ABSENT)
    # An unknown operator reads as the NULL operator, which every comparison
    # rejects: an error as soon as the key is present.
    known = operator if operator in OPERATORS else "NULL"
    return Condition(key, operator, value, provider or None, _value_evaluator(known, value))


def _always(result: bool) -> Predicate:
    def predicate(context: Mapping[str, Any], visitor_id: str) -> bool:
        return result

    return predicate


# --- code generation --------------------------------------------------------
# Targetings become Python source built from fixed fragments only: context
# keys, targeting values and evaluators are bound to names (C4, C5, ...) in
# the generated module's own namespace, never written into the text. The
# generated function reads each
# context key once, with its type and its lower-cased and case-folded forms,
# then tests every condition on those, inline for the common cases (a str,
# int, float or bool context value of the targeting value's kind) and through
# the condition's evaluator for everything else.
#
# Within one variation group the engine's rule "an error anywhere means no
# match" is kept in two steps: the groups are tried with errors counting as
# false; only when one matches are all the conditions checked for errors.

_STR_TEMPLATES = {
    # operator: (string form, expression on S = that form, R = operand)
    "EQUALS": ("fold", "{S} == {R}"),
    "NOT_EQUALS": ("fold", "{S} != {R}"),
    "LOWER_THAN": ("lower", "{S} < {R}"),
    "GREATER_THAN": ("lower", "{S} > {R}"),
    "LOWER_THAN_OR_EQUALS": ("lower", "{S} <= {R}"),
    "GREATER_THAN_OR_EQUALS": ("lower", "{S} >= {R}"),
    "STARTS_WITH": ("lower", "{S}.startswith({R})"),
    "ENDS_WITH": ("lower", "{S}.endswith({R})"),
    "CONTAINS": ("lower", "{R} in {S}"),
    "NOT_CONTAINS": ("lower", "{R} not in {S}"),
}
_NUM_SYMBOLS = {
    "EQUALS": "==",
    "NOT_EQUALS": "!=",
    "LOWER_THAN": "<",
    "GREATER_THAN": ">",
    "LOWER_THAN_OR_EQUALS": "<=",
    "GREATER_THAN_OR_EQUALS": ">=",
}
# Integers up to 2**53 convert to float64 exactly, so comparing them to a
# float directly gives the engine's answer; larger ones take the evaluator.
_EXACT_INT = 2**53


def _inline(operator: str, value: Any) -> tuple[str, str, Any] | None:
    """How to test a condition inline: (form, expression, operand), or None.

    The form is "lower" or "fold" (a str context value, transformed), "num"
    (an int or float one) or "bool"; the expression uses S for the transformed
    string, V for the raw value and R for the operand.
    """
    if operator not in OPERATORS:
        return None
    value_type = type(value)
    if value_type is str and operator in _STR_TEMPLATES:
        form, expression = _STR_TEMPLATES[operator]
        return form, expression, _fold(value) if form == "fold" else go_lower(value)
    if value_type in (int, float) and operator in _NUM_SYMBOLS:
        return "num", f"{{V}} {_NUM_SYMBOLS[operator]} {{R}}", _to_float(value)
    if value_type is bool and operator in ("EQUALS", "NOT_EQUALS"):
        return "bool", "{V} is {R}" if operator == "EQUALS" else "{V} is not {R}", value
    if value_type not in (list, tuple) or not value:
        return None
    # Lists of one kind: a set lookup, or one regular expression search.
    item_types = {type(item) for item in value}
    membership = "in" if operator == "EQUALS" else "not in"
    if item_types == {str}:
        if operator in ("EQUALS", "NOT_EQUALS"):
            return "fold", f"{{S}} {membership} {{R}}", frozenset(_fold(v) for v in value)
        if operator in ("CONTAINS", "NOT_CONTAINS"):
            pattern = re.compile("|".join(re.escape(go_lower(item)) for item in value))
            found = "is not None" if operator == "CONTAINS" else "is None"
            return "lower", f"{{R}}.search({{S}}) {found}", pattern
    if operator in ("EQUALS", "NOT_EQUALS"):
        if item_types <= {int, float}:
            return "num", f"{{V}} {membership} {{R}}", frozenset(_to_float(v) for v in value)
        if item_types == {bool}:
            return "bool", f"{{V}} {membership} {{R}}", frozenset(value)
    return None


def _live_groups(
    groups: tuple[tuple[Condition, ...], ...],
) -> list[tuple[list[tuple[Any, Condition]], bool]]:
    """Per group: (conditions as (source, condition), blocked).

    The source is a context key or _VISITOR (fs_users). Conditions on a
    provider never see a value: a constant, dropped when true, and blocking
    their group when false.
    """
    result = []
    for group in groups:
        blocked = False
        live: list[tuple[Any, Condition]] = []
        for cond in group:
            if cond.key == _USERS:
                live.append((_VISITOR, cond))
            elif cond.provider:
                if not cond.evaluate(_MISSING):  # a missing key never errors
                    blocked = True
            else:
                live.append((cond.key, cond))
        result.append((live, blocked))
    return result


class _Source:
    """Accumulates the generated function: bound values, key reads, conditions."""

    def __init__(self) -> None:
        self.names = ["M", "LOW", "FOLD", "EXACT"]
        self.values: list[Any] = [_MISSING, _lower_non_ascii, _fold_non_ascii, _EXACT_INT]
        self.slots: dict[Any, int] = {}
        self.forms: dict[int, set[str]] = {}

    def bind(self, value: Any) -> str:
        name = f"C{len(self.values)}"
        self.names.append(name)
        self.values.append(value)
        return name

    def slot(self, source: Any, form: str | None) -> int:
        index = self.slots.get(source)
        if index is None:
            index = self.slots[source] = len(self.slots)
            self.forms[index] = set()
        if form is not None:
            self.forms[index].add(form)
        return index

    def condition(
        self, source: Any, cond: Condition, spec: tuple[str, str, Any] | None
    ) -> tuple[str, str]:
        """(match expression, no-error expression) of one condition."""
        evaluate = self.bind(cond.evaluate)
        index = self.slot(source, spec[0] if spec else None)
        v = f"v{index}"
        if spec is None:
            return f"{evaluate}({v})", f"({evaluate}({v}) is not None)"
        form, expression, operand = spec
        if form in ("lower", "fold"):
            test = f"s{index}"
            shown = expression.format(S=f"{form[0]}{index}", R=self.bind(operand))
        else:
            test = f"n{index}" if form == "num" else f"b{index}"
            shown = expression.format(V=v, R=self.bind(operand))
        fallback = f"{v} is not M and {evaluate}({v})"
        no_error = f"({test} or {v} is M or {evaluate}({v}) is not None)"
        return f"(({shown}) if {test} else ({fallback}))", no_error

    def variation_group(self, groups: tuple[tuple[Condition, ...], ...]) -> str:
        """An expression, truthy when the variation group's targeting matches."""
        live = _live_groups(groups)
        tried: list[str] = []
        checks: list[str] = []
        for conditions, blocked in live:
            # Inlined tests first: the order of an AND does not change its
            # result (errors are checked apart), and a cheap false skips the
            # evaluator calls.
            specs = [
                (source, cond, _inline(cond.operator, cond.value)) for source, cond in conditions
            ]
            specs.sort(key=lambda item: item[2] is None)
            parts = [self.condition(*item) for item in specs]
            checks.extend(no_error for _, no_error in parts)
            if not blocked:
                tried.append("(" + " and ".join(m for m, _ in parts) + ")" if parts else "True")
        if not tried:
            return "False"
        if len(live) == 1:
            return tried[0]
        return f"(({' or '.join(tried)}) and {' and '.join(checks) or 'True'})"

    def reads(self) -> list[str]:
        lines = []
        for source, index in self.slots.items():
            v, forms = f"v{index}", self.forms[index]
            if source is _VISITOR:
                lines.append(f"{v} = visitor_id")
            else:
                lines.append(f"{v} = get({self.bind(source)}, M)")
            lines.append(f"t{index} = type({v})")
            if forms & {"lower", "fold"}:
                lines.append(f"s{index} = t{index} is str")
            for form, name, transform in (("lower", "l", "LOW"), ("fold", "f", "FOLD")):
                if form in forms:
                    lines.append(
                        f"{name}{index} = ({v}.lower() if {v}.isascii() else {transform}({v})) "
                        f"if s{index} else None"
                    )
            if "num" in forms:
                lines.append(
                    f"n{index} = t{index} is float or (t{index} is int and -EXACT <= {v} <= EXACT)"
                )
            if "bool" in forms:
                lines.append(f"b{index} = t{index} is bool")
        return lines

    def build(self, statements: list[str], *, chosen: bool = False) -> Callable[..., Any]:
        head = (
            "def run(context, visitor_id, chosen):" if chosen else "def run(context, visitor_id):"
        )
        body = [head, "    get = context.get"]
        body += [f"    {line}" for line in self.reads() + statements]
        # The bound values are the globals of the generated module (a private
        # namespace): no closure cells, which compile slowly by the thousand.
        namespace: dict[str, Any] = dict(zip(self.names, self.values, strict=True))
        exec(compile("\n".join(body), "<flagship targeting>", "exec"), namespace)
        return namespace["run"]


def _build_predicate(groups: tuple[tuple[Condition, ...], ...]) -> Predicate:
    """The predicate of one variation group, from closures (nothing to compile).

    :func:`compile_selector` generates faster code for a whole bucket; this is
    for single targetings and for explanations, and must agree with it.
    """
    live = [
        (tuple((source, cond.evaluate) for source, cond in conditions), blocked)
        for conditions, blocked in _live_groups(groups)
    ]
    tried = tuple(conditions for conditions, blocked in live if not blocked)
    checks = tuple(check for conditions, _ in live for check in conditions)
    if not tried:
        return _always(False)

    def read(context: Mapping[str, Any], visitor_id: str, source: Any) -> Any:
        return visitor_id if source is _VISITOR else context.get(source, _MISSING)

    if len(live) == 1:
        [conditions] = tried

        def single_group(context: Mapping[str, Any], visitor_id: str) -> bool:
            # With one group, an error and a plain false end the same way.
            for source, evaluate in conditions:
                if not evaluate(read(context, visitor_id, source)):
                    return False
            return True

        return single_group

    def any_group(context: Mapping[str, Any], visitor_id: str) -> bool:
        for conditions in tried:
            for source, evaluate in conditions:
                if not evaluate(read(context, visitor_id, source)):
                    break
            else:
                break  # this group matches
        else:
            return False  # no group matches: an error elsewhere changes nothing
        # A group matches; the engine still says no if any targeting errors.
        for source, evaluate in checks:
            if evaluate(read(context, visitor_id, source)) is None:
                return False
        return True

    return any_group


#: The longest ``if``/``elif`` chain generated: Python's compiler recurses
#: once per ``elif``, and fails somewhere below a thousand or two depending on
#: the caller's stack. A campaign with more variation groups is written as
#: flat chains of this length, each tried when the previous one matched none.
SELECTOR_CHAIN = 50

#: Variation groups and conditions written into one generated function, at
#: most. Compiling costs about 20 KB of memory per condition while it lasts, so
#: a larger file is split into several functions compiled one after the other
#: (a real file, a few hundred campaigns, fits in one); a single campaign past
#: this is decided by its targetings' own predicates (the same answers, a
#: little slower).
SELECTOR_BUDGET = 5_000

_Part = Callable[[Mapping[str, Any], str, Callable[[Any], None]], None]


def compile_selector(
    campaigns: Sequence[Sequence[tuple[CompiledTargeting, Any]]],
) -> Callable[[Mapping[str, Any], str], list[Any]]:
    """One function choosing, in every campaign, the first matching variation group.

    ``campaigns`` lists, for each campaign, its variation groups in order as
    (targeting, item) pairs. The function returns the item of the first
    variation group whose targeting matches, campaign after campaign, leaving
    out the campaigns where none matches. It gives the same answers as calling
    each targeting's ``matches`` in turn, but reads each context key once per
    generated function. Should the generated code not compile all the same,
    that is what it does.
    """
    batches: list[list[Sequence[tuple[CompiledTargeting, Any]]] | _Part] = []
    batch: list[Sequence[tuple[CompiledTargeting, Any]]] = []
    spent = 0
    for options in campaigns:
        cost = sum(1 + sum(map(len, targeting.groups)) for targeting, _ in options)
        if cost > SELECTOR_BUDGET or spent + cost > SELECTOR_BUDGET:
            if batch:
                batches.append(batch)
            batch, spent = [], 0
        if cost > SELECTOR_BUDGET:
            batches.append(_first_match(options))
            continue
        batch.append(options)
        spent += cost
    if batch:
        batches.append(batch)
    if len(batches) == 1 and isinstance(batches[0], list):
        # The usual case: one function that returns the list itself.
        whole = _generate(batches[0], standalone=True)
        if whole is not None:
            return whole
    parts: list[_Part] = []
    for item in batches:
        if not isinstance(item, list):
            parts.append(item)
            continue
        part = _generate(item, standalone=False)
        parts += [part] if part is not None else [_first_match(options) for options in item]
    return _sequence(parts)


def _generate(
    campaigns: Sequence[Sequence[tuple[CompiledTargeting, Any]]], *, standalone: bool
) -> Any:
    """The generated function for ``campaigns``, or ``None`` when it does not compile.

    Standalone, ``run(context, visitor_id)`` returns the list; otherwise
    ``run(context, visitor_id, chosen)`` hands each choice to ``chosen``.
    """
    source = _Source()
    body: list[str] = []
    for options in campaigns:
        branches: list[tuple[str, str]] = []
        for targeting, item in options:
            expression = source.variation_group(targeting.groups)
            if expression == "False":
                continue
            branches.append((expression, f"chosen({source.bind(item)})"))
            if expression == "True":
                break  # the later variation groups are never reached
        body += _chains(branches)
    if not body:
        return (lambda context, visitor_id: []) if standalone else _nothing
    try:
        if standalone:
            return source.build(["result = []", "chosen = result.append", *body, "return result"])
        return source.build(body, chosen=True)
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError):
        return None


def _nothing(context: Mapping[str, Any], visitor_id: str, chosen: Callable[[Any], None]) -> None:
    return None


def _sequence(parts: Sequence[_Part]) -> Callable[[Mapping[str, Any], str], list[Any]]:
    parts = tuple(parts)

    def run(context: Mapping[str, Any], visitor_id: str) -> list[Any]:
        result: list[Any] = []
        chosen = result.append
        for part in parts:
            part(context, visitor_id, chosen)
        return result

    return run


def _chains(branches: list[tuple[str, str]]) -> list[str]:
    """``if``/``elif`` lines for one campaign, in chains of at most SELECTOR_CHAIN."""
    lines: list[str] = []
    chunks = [branches[i : i + SELECTOR_CHAIN] for i in range(0, len(branches), SELECTOR_CHAIN)]
    for number, chunk in enumerate(chunks):
        more = number < len(chunks) - 1
        indent = "    " if number else ""
        if number:
            lines.append("if not found:")
        if more:
            lines.append(f"{indent}found = True")
        keyword = "if"
        for expression, chosen in chunk:
            if expression == "True":
                if keyword == "if":
                    lines.append(f"{indent}{chosen}")
                else:
                    lines += [f"{indent}else:", f"{indent}    {chosen}"]
                break
            lines += [f"{indent}{keyword} {expression}:", f"{indent}    {chosen}"]
            keyword = "elif"
        else:
            if more:
                lines += [f"{indent}else:", f"{indent}    found = False"]
    return lines


def _first_match(
    options: Sequence[tuple[CompiledTargeting, Any]],
) -> Callable[[Mapping[str, Any], str, Callable[[Any], None]], None]:
    """One campaign decided by its targetings' predicates, not by generated code."""
    pairs = tuple((targeting.matches, item) for targeting, item in options)

    def pick(context: Mapping[str, Any], visitor_id: str, chosen: Callable[[Any], None]) -> None:
        for matches, item in pairs:
            if matches(context, visitor_id):
                chosen(item)
                return

    return pick


@dataclass(frozen=True, slots=True)
class CompiledTargeting:
    """A compiled targeting. ``matches(context, visitor_id)`` is the fast predicate."""

    groups: tuple[tuple[Condition, ...], ...]
    matches: Predicate

    def explain(self, context: Mapping[str, Any], visitor_id: str) -> str:
        """Say in words why the targeting matches or not (slow; for debugging)."""
        if not self.groups:
            return "no targeting group"
        matched = False
        for index, group in enumerate(self.groups):
            group_ok = True
            for cond in group:
                result = cond.test(context, visitor_id)
                if result is None:
                    return (
                        f"error in group {index + 1}: {cond.key!r} {cond.operator} "
                        f"{cond.value!r} (kinds differ or unsupported operator)"
                    )
                if not result:
                    group_ok = False
            matched = matched or group_ok
        return "matched" if matched else "no targeting group matched"


def compile_targeting(targeting: Mapping[str, Any] | None) -> CompiledTargeting:
    """Compile a variation group's ``targeting`` object.

    ``None`` (no targeting) compiles to a targeting that never matches. A shape
    the engine could not read raises :class:`TargetingError`.
    """
    if targeting is None:
        return CompiledTargeting((), _always(False))
    if not isinstance(targeting, Mapping):
        raise TargetingError("targeting is not an object")
    raw_groups = wire_field(targeting, "targetingGroups", "targeting_groups")
    if raw_groups is None:
        raw_groups = []
    if not isinstance(raw_groups, list | tuple):
        raise TargetingError("targetingGroups is not a list")
    groups: list[tuple[Condition, ...]] = []
    for g_index, raw_group in enumerate(raw_groups):
        where = f"targeting group {g_index + 1}"
        if not isinstance(raw_group, Mapping):
            raise TargetingError(f"{where} is not an object")
        raw_targetings = raw_group.get("targetings")
        if raw_targetings is None:
            raw_targetings = []
        if not isinstance(raw_targetings, list | tuple):
            raise TargetingError(f"{where}: targetings is not a list")
        if not raw_targetings:
            continue  # an empty group never matches and cannot error
        conditions = []
        for t_index, raw in enumerate(raw_targetings):
            cond = _compile_condition(raw, f"{where}, targeting {t_index + 1}")
            if cond is not None:
                conditions.append(cond)
        groups.append(tuple(conditions))
    frozen = tuple(groups)
    return CompiledTargeting(frozen, _build_predicate(frozen))
