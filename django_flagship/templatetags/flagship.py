"""``{% load flagship %}``: ``{% flag %}`` and ``{% ifflag %}``.

::

    {% flag "btn_color" "blue" %}                  the value, auto-escaped
    {% flag "btn_color" "blue" as color %}         stored in a variable
    {% ifflag "vip_feature" %}…{% else %}…{% endifflag %}
    {% ifflag "btn_color" "red" %}…{% endifflag %}  compared with a value

Names and defaults may be variables; literals are resolved once, when the
template is compiled, and the escaped form of a served string is kept: a
``{% flag %}`` costs about a third of reading the flag in the view and
rendering it from a variable (``benchmarks/tags.py``).
Reads go through ``request.flags``, so they follow its typing rules and
auto-activate the same way. Without a request
in the context the default is used and a warning logged.
"""

from __future__ import annotations

import html
from typing import Any

from django import template
from django.template.base import FilterExpression, Node, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString

from ..sdk.remembering import remembering
from ..templating import flag_matches, read_flag

__all__ = ["register"]

register = template.Library()

#: What :func:`constant` returns for an expression resolved at each render.
VARIABLE: Any = object()

ESCAPED_MAX_ENTRIES = 1024
ESCAPED_MAX_LENGTH = 256
#: Escaped flag values, by value: a site serves few distinct strings, and
#: escaping one costs about as much as reading the flag. Bounded in count and
#: in the length of what is kept, emptied when full: at most 1,024 values of
#: 256 characters and their escaped forms (up to 6 times longer), under 2 MB
#: for ASCII text and about 7 MB at worst.
_escaped: dict[str, SafeString] = {}


def escape_text(value: str) -> SafeString:
    """``value`` HTML-escaped as Django's ``escape`` does it (for a ``str``)."""
    return SafeString(html.escape(value))


#: :func:`escape_text`, kept for reuse in :data:`_escaped`.
escaped = remembering(
    escape_text, size=ESCAPED_MAX_ENTRIES, max_length=ESCAPED_MAX_LENGTH, cache=_escaped
)


def constant(expression: FilterExpression | None) -> Any:
    """The value of a literal without filters, known at parse time; else :data:`VARIABLE`.

    A quoted string (not a translated one: it depends on the language) or a
    number; ``None`` when there is no expression. Anything else, ``True``
    included (a name looked up in the context), is resolved at each render.
    """
    if expression is None:
        return None
    if expression.filters:
        return VARIABLE
    var = expression.var
    if not expression.is_var:
        return var if isinstance(var, str) else VARIABLE
    if var.lookups is None and not var.translate:
        return var.literal
    return VARIABLE


def _plain_copy(default: Any) -> Any:
    """What a constant default is read with: a ``str`` copy of a literal (a ``SafeString``).

    The copy has the class of the flag values it is checked against (a read
    then skips typing them), and, being the node's own object, tells a served
    default apart: :class:`FlagNode` serves the literal itself then, as it was
    written. A string of fewer than 2 characters may be a shared object in
    Python: it is read as it is.
    """
    if isinstance(default, SafeString) and len(default) >= 2:
        return str.__str__(default)
    return default


class FlagNode(Node):
    def __init__(
        self, key: FilterExpression, default: FilterExpression | None, asvar: str | None
    ) -> None:
        self.key = key
        self.default = default
        self.asvar = asvar
        # Literals are resolved once, here, rather than at each render.
        self.constant_key = constant(key)
        self.constant_default = constant(default)
        self.read_default = _plain_copy(self.constant_default)

    def __repr__(self) -> str:
        return f"<FlagNode {self.key.token!r}>"

    def render(self, context: Context) -> str:
        key = self.constant_key
        if key is VARIABLE:
            key = self.key.resolve(context)
        default = read_default = self.constant_default
        if default is VARIABLE:
            assert self.default is not None  # no expression is the constant None
            default = read_default = self.default.resolve(context)
        else:
            read_default = self.read_default
        value = read_flag(context.get("request"), key, read_default, where="{% flag %}")
        if value is read_default:
            value = default
        if self.asvar:
            context[self.asvar] = value
            return ""
        if value is None:
            return ""
        if value.__class__ is str:
            # What render_value_in_context does with a str (django.utils.html.escape
            # when autoescaping), without its checks for dates, numbers and lazy strings.
            return escaped(value) if context.autoescape else value
        return template.base.render_value_in_context(value, context)


@register.tag("flag")
def do_flag(parser: Parser, token: Token) -> FlagNode:
    bits = token.split_contents()
    tag = bits.pop(0)
    asvar = None
    if len(bits) >= 2 and bits[-2] == "as":
        asvar = bits.pop()
        bits.pop()
    if len(bits) not in (1, 2):
        raise template.TemplateSyntaxError(
            f"'{tag}' takes a flag name, an optional default and an optional 'as var': "
            f'{{% {tag} "name" default [as var] %}}'
        )
    key = parser.compile_filter(bits[0])
    default = parser.compile_filter(bits[1]) if len(bits) == 2 else None
    return FlagNode(key, default, asvar)


class IfFlagNode(Node):
    child_nodelists = ("nodelist_true", "nodelist_false")

    def __init__(
        self,
        key: FilterExpression,
        value: FilterExpression | None,
        nodelist_true: NodeList,
        nodelist_false: NodeList,
    ) -> None:
        self.key = key
        self.value = value
        self.nodelist_true = nodelist_true
        self.nodelist_false = nodelist_false
        self.constant_key = constant(key)
        self.constant_value = True if value is None else constant(value)

    def __repr__(self) -> str:
        return f"<IfFlagNode {self.key.token!r}>"

    def render(self, context: Context) -> SafeString | str:
        key = self.constant_key
        if key is VARIABLE:
            key = self.key.resolve(context)
        expected = self.constant_value
        if expected is VARIABLE:
            assert self.value is not None  # no expression is the constant True
            expected = self.value.resolve(context)
        request = context.get("request")
        if flag_matches(request, key, expected, where="{% ifflag %}"):
            return self.nodelist_true.render(context)
        return self.nodelist_false.render(context)


@register.tag("ifflag")
def do_ifflag(parser: Parser, token: Token) -> IfFlagNode:
    bits = token.split_contents()
    tag = bits.pop(0)
    if len(bits) not in (1, 2):
        raise template.TemplateSyntaxError(
            f"'{tag}' takes a flag name and an optional value to compare with: "
            f'{{% {tag} "name" [value] %}}…{{% else %}}…{{% end{tag} %}}'
        )
    key = parser.compile_filter(bits[0])
    value = parser.compile_filter(bits[1]) if len(bits) == 2 else None
    nodelist_true = parser.parse(("else", f"end{tag}"))
    token = parser.next_token()
    if token.contents == "else":
        nodelist_false = parser.parse((f"end{tag}",))
        parser.delete_first_token()
    else:
        nodelist_false = NodeList()
    return IfFlagNode(key, value, nodelist_true, nodelist_false)
