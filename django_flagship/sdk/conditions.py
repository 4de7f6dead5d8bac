"""What one targeting condition means: operators, JSON kinds, and their evaluators.

The module is over 500 lines because it states the engine's rules in full, below,
next to the evaluators that implement them, one per operator and kind.

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

:mod:`.targeting` compiles these conditions into the predicates a decision runs.
"""

from __future__ import annotations

import decimal
import numbers
import operator as _op
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .go_text import (
    SEMVER_TESTS,
    compare_semver,
    fold_non_ascii,
    go_fold,
    go_lower,
    lower_non_ascii,
    parse_semver,
)

__all__ = [
    "MISSING",
    "OPERATORS",
    "USERS_KEY",
    "VISITOR_KEY",
    "Condition",
    "Evaluator",
    "Predicate",
    "TargetingError",
    "compile_condition",
    "constant_predicate",
    "to_float",
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
USERS_KEY = "fs_users"

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


MISSING = _Sentinel("<missing>")  # the context has no such key
_ABSENT = _Sentinel("<absent>")  # the targeting has no value
VISITOR_KEY = _Sentinel("<visitor id>")  # condition key standing for the visitor id

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


def to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


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
        return compare, fold_non_ascii, go_fold(target)
    return compare, lower_non_ascii, go_lower(target)


def _semver_base(op: str, target: str) -> Evaluator:
    test = SEMVER_TESTS[op]
    target_version = parse_semver(target)
    if target_version is None:
        return _false

    def semver(value: Any) -> bool:
        version = parse_semver(str(value))
        return version is not None and test(compare_semver(version, target_version))

    return semver


def _scalar_evaluator(op: str, target: Any, kind: int) -> Evaluator:
    """Evaluator for a scalar (or null/object/absent) targeting value."""
    base: Evaluator
    if kind == _STR:
        if op in SEMVER_TESTS:
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
            ref_num = to_float(target)

            def base(value: Any) -> bool:
                return num_compare(to_float(value), ref_num)

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
        if value is MISSING:
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
    if kind == _STR and base is not _error and op not in SEMVER_TESTS:

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
                return num_compare(to_float(value), ref_num)
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
            folded = frozenset(go_fold(t) for t in targets)
            if op == "EQUALS":

                def fast_str(value: str) -> bool:
                    return go_fold(value) in folded

            else:

                def fast_str(value: str) -> bool:
                    return go_fold(value) not in folded

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
        if value is MISSING:
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
        if value is MISSING:
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
        if self.key == USERS_KEY:
            return self.evaluate(visitor_id)
        if self.provider:
            return self.evaluate(MISSING)
        return self.evaluate(context.get(self.key, MISSING))


def wire_field(data: Mapping[str, Any], camel: str, snake: str) -> Any:
    """A field by its JSON name or its proto (snake_case) name; null reads as absent."""
    value = data.get(camel)
    if value is None:
        value = data.get(snake)
    return value


def compile_condition(raw: Any, where: str) -> Condition | None:
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


def constant_predicate(result: bool) -> Predicate:
    def predicate(context: Mapping[str, Any], visitor_id: str) -> bool:
        return result

    return predicate
