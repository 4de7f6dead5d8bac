"""``{% load flagship %}``: ``{% flag %}`` and ``{% ifflag %}``.

::

    {% flag "btn_color" "blue" %}                  the value, auto-escaped
    {% flag "btn_color" "blue" as color %}         stored in a variable
    {% ifflag "vip_feature" %}…{% else %}…{% endifflag %}
    {% ifflag "btn_color" "red" %}…{% endifflag %}  compared with a value

Names and defaults may be variables. Reads go through ``request.flags``, so
they follow its typing rules and auto-activate the same way. Without a request
in the context the default is used and a warning logged.
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, Node, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString

from ..templating import flag_matches, read_flag

__all__ = ["register"]

register = template.Library()


class FlagNode(Node):
    def __init__(
        self, key: FilterExpression, default: FilterExpression | None, asvar: str | None
    ) -> None:
        self.key = key
        self.default = default
        self.asvar = asvar

    def __repr__(self) -> str:
        return f"<FlagNode {self.key.token!r}>"

    def render(self, context: Context) -> str:
        key = self.key.resolve(context)
        default = self.default.resolve(context) if self.default is not None else None
        value = read_flag(context.get("request"), key, default, where="{% flag %}")
        if self.asvar:
            context[self.asvar] = value
            return ""
        if value is None:
            return ""
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

    def __repr__(self) -> str:
        return f"<IfFlagNode {self.key.token!r}>"

    def render(self, context: Context) -> SafeString | str:
        key = self.key.resolve(context)
        expected = self.value.resolve(context) if self.value is not None else True
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
