"""Targeting: compile a variation group's ``targeting`` into a fast predicate.

What each condition means (the engine's rules, Go's text semantics) is in
:mod:`.conditions` and :mod:`.go_text`; this module turns conditions into code.
Everything that does not depend on the visitor is done once, at compile time:
:func:`compile_targeting` turns one targeting into closures (its ``matches``
predicate and per-condition evaluators, used for explanations), and
:func:`compile_selector` generates the code of one function for a whole
bucketing file, which reads each context key once per decision and tests the
common cases inline. Both are checked against each other and against a plain
reference interpreter in the tests. The module is over 500 lines because the
fragments of generated code and the generator that assembles them are read together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import (
    MISSING,
    OPERATORS,
    USERS_KEY,
    VISITOR_KEY,
    Condition,
    Predicate,
    TargetingError,
    compile_condition,
    constant_predicate,
    to_float,
    wire_field,
)
from .go_text import fold_non_ascii, go_equal_fold, go_fold, go_lower, lower_non_ascii, parse_semver

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
        return form, expression, go_fold(value) if form == "fold" else go_lower(value)
    if value_type in (int, float) and operator in _NUM_SYMBOLS:
        return "num", f"{{V}} {_NUM_SYMBOLS[operator]} {{R}}", to_float(value)
    if value_type is bool and operator in ("EQUALS", "NOT_EQUALS"):
        return "bool", "{V} is {R}" if operator == "EQUALS" else "{V} is not {R}", value
    if value_type not in (list, tuple) or not value:
        return None
    # Lists of one kind: a set lookup, or one regular expression search.
    item_types = {type(item) for item in value}
    membership = "in" if operator == "EQUALS" else "not in"
    if item_types == {str}:
        if operator in ("EQUALS", "NOT_EQUALS"):
            return "fold", f"{{S}} {membership} {{R}}", frozenset(go_fold(v) for v in value)
        if operator in ("CONTAINS", "NOT_CONTAINS"):
            pattern = re.compile("|".join(re.escape(go_lower(item)) for item in value))
            found = "is not None" if operator == "CONTAINS" else "is None"
            return "lower", f"{{R}}.search({{S}}) {found}", pattern
    if operator in ("EQUALS", "NOT_EQUALS"):
        if item_types <= {int, float}:
            return "num", f"{{V}} {membership} {{R}}", frozenset(to_float(v) for v in value)
        if item_types == {bool}:
            return "bool", f"{{V}} {membership} {{R}}", frozenset(value)
    return None


def _live_groups(
    groups: tuple[tuple[Condition, ...], ...],
) -> list[tuple[list[tuple[Any, Condition]], bool]]:
    """Per group: (conditions as (source, condition), blocked).

    The source is a context key or VISITOR_KEY (fs_users). Conditions on a
    provider never see a value: a constant, dropped when true, and blocking
    their group when false.
    """
    result = []
    for group in groups:
        blocked = False
        live: list[tuple[Any, Condition]] = []
        for cond in group:
            if cond.key == USERS_KEY:
                live.append((VISITOR_KEY, cond))
            elif cond.provider:
                if not cond.evaluate(MISSING):  # a missing key never errors
                    blocked = True
            else:
                live.append((cond.key, cond))
        result.append((live, blocked))
    return result


class _Source:
    """Accumulates the generated function: bound values, key reads, conditions."""

    def __init__(self) -> None:
        self.names = ["M", "LOW", "FOLD", "EXACT"]
        self.values: list[Any] = [MISSING, lower_non_ascii, fold_non_ascii, _EXACT_INT]
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
            if source is VISITOR_KEY:
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
        return constant_predicate(False)

    def read(context: Mapping[str, Any], visitor_id: str, source: Any) -> Any:
        return visitor_id if source is VISITOR_KEY else context.get(source, MISSING)

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
        return CompiledTargeting((), constant_predicate(False))
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
            cond = compile_condition(raw, f"{where}, targeting {t_index + 1}")
            if cond is not None:
                conditions.append(cond)
        groups.append(tuple(conditions))
    frozen = tuple(groups)
    return CompiledTargeting(frozen, _build_predicate(frozen))
