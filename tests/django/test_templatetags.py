import logging

import pytest
from django.template import Context, Template, TemplateSyntaxError, engines
from django.test import RequestFactory

from django_flagship.flags import RequestFlags
from django_flagship.testing import override_flags

pytestmark = [pytest.mark.urls("tests.django.urls"), pytest.mark.django_db]


def render(source, request=None, **context):
    if request is not None:
        context["request"] = request
    return Template("{% load flagship %}" + source).render(Context(context))


@pytest.fixture
def request_(rf: RequestFactory, configured):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore

    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    request.flags = RequestFlags(request)
    return request


def test_page_through_the_test_client(client, configured, tracker):
    html = client.get("/page/").content.decode()
    assert '<p class="color">red</p>' in html
    assert '<p class="var">red</p>' in html  # the name came from a variable
    assert '<p class="banner">&lt;b&gt;sale&lt;/b&gt;</p>' in html  # auto-escaped
    assert '<p class="items">5</p>' in html
    assert '<p class="vip">Welcome, VIP</p>' in html
    assert '<p class="red">red button</p>' in html
    assert '<p class="off">off</p>' in html
    assert len(tracker.activations) == 1  # all from one variation


def test_default_when_missing_and_variable_default(request_):
    assert render('{% flag "missing" fallback %}', request_, fallback="x<y") == "x&lt;y"
    assert render('{% flag "missing" %}', request_) == ""
    assert render('{% flag "missing" 3 as n %}{{ n|add:1 }}', request_) == "4"


def test_typing_applies_in_templates(request_):
    assert render('{% flag "max_items" False %}', request_) == "False"
    assert render('{% flag "btn_color" 0 %}', request_) == "0"


def test_autoescape_off_is_respected(request_):
    source = '{% autoescape off %}{% flag "banner" "" %}{% endautoescape %}'
    assert render(source, request_) == "<b>sale</b>"


def test_ifflag_comparisons(request_):
    assert render('{% ifflag "max_items" 5 %}yes{% endifflag %}', request_) == "yes"
    assert render('{% ifflag "max_items" "5" %}yes{% else %}no{% endifflag %}', request_) == "no"
    assert render('{% ifflag "vip_feature" 1 %}yes{% else %}no{% endifflag %}', request_) == "no"
    assert render('{% ifflag "max_items" %}yes{% else %}no{% endifflag %}', request_) == "no"
    assert render('{% ifflag "nothing" %}yes{% else %}no{% endifflag %}', request_) == "no"
    assert (
        render("{% ifflag key wanted %}yes{% endifflag %}", request_, key="btn_color", wanted="red")
        == "yes"
    )


def test_ifflag_without_else_renders_nothing(request_):
    assert render('{% ifflag "off_feature" %}on{% endifflag %}', request_) == ""


def test_no_request_serves_the_default_and_warns(configured, caplog):
    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert render('{% flag "btn_color" "blue" %}') == "blue"
        assert render('{% ifflag "vip_feature" %}on{% else %}off{% endifflag %}') == "off"
    messages = [r.getMessage() for r in caplog.records]
    assert any("{% flag %} has no request" in m for m in messages)
    assert any("{% ifflag %} has no request" in m for m in messages)


def test_request_without_middleware_serves_the_default(rf, configured, caplog):
    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert render('{% flag "btn_color" "blue" %}', rf.get("/")) == "blue"
    assert any("FlagshipMiddleware" in r.getMessage() for r in caplog.records)


def test_non_string_name_serves_the_default(request_):
    assert render('{% flag key "blue" %}', request_, key=42) == "blue"


@pytest.mark.parametrize(
    "source",
    [
        "{% flag %}",
        '{% flag "a" "b" "c" %}',
        "{% ifflag %}x{% endifflag %}",
        '{% ifflag "a" "b" "c" %}x{% endifflag %}',
    ],
)
def test_syntax_errors(source):
    with pytest.raises(TemplateSyntaxError):
        Template("{% load flagship %}" + source)


def test_override_flags_in_templates(request_):
    with override_flags({"btn_color": "purple"}):
        request_.flags = RequestFlags(request_)
        assert render('{% flag "btn_color" "blue" %}', request_) == "purple"


def test_jinja2_globals(settings, request_):
    settings.TEMPLATES = [
        *settings.TEMPLATES,
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "NAME": "jinja2",
            "OPTIONS": {"extensions": ["django_flagship.jinja2.FlagshipExtension"]},
        },
    ]
    engine = engines["jinja2"]
    source = (
        "{{ flag('banner', '') }}|{{ flag('missing', 'dflt') }}|"
        "{% set n = flag('max_items', 1) %}{{ n + 1 }}|"
        "{% if flag_is('vip_feature') %}vip{% else %}novip{% endif %}|"
        "{% if flag_is('btn_color', 'red') %}red{% endif %}|"
        "{% if flag_is('max_items') %}bool{% else %}notbool{% endif %}"
    )
    html = engine.from_string(source).render({}, request=request_)
    assert html == "&lt;b&gt;sale&lt;/b&gt;|dflt|6|vip|red|notbool"


def test_jinja2_environment_helper_and_no_request(configured, caplog):
    from django_flagship.jinja2 import environment

    env = environment(autoescape=True)
    with caplog.at_level(logging.WARNING, "django_flagship"):
        assert env.from_string("{{ flag('btn_color', 'blue') }}").render() == "blue"
        assert env.from_string("{{ flag_is('vip_feature') }}").render() == "False"
    assert any("flag() has no request" in r.getMessage() for r in caplog.records)


def test_literals_are_resolved_when_the_template_is_compiled():
    from django_flagship.templatetags.flagship import VARIABLE, FlagNode, IfFlagNode

    def node(source, kind):
        template = Template("{% load flagship %}" + source)
        (found,) = template.nodelist.get_nodes_by_type(kind)
        return found

    flag = node('{% flag "btn_color" "blue" %}', FlagNode)
    assert (flag.constant_key, flag.constant_default) == ("btn_color", "blue")
    assert node("{% flag 'n' 3 %}", FlagNode).constant_default == 3
    assert node("{% flag 'n' 2.5 %}", FlagNode).constant_default == 2.5
    assert node("{% flag 'n' %}", FlagNode).constant_default is None
    # Looked up at each render: names, filtered values, translations, True/False.
    for default in ("fallback", '"a"|upper', '_("Welcome")', "True"):
        assert node(f"{{% flag 'n' {default} %}}", FlagNode).constant_default is VARIABLE
    assert node("{% flag key 'x' %}", FlagNode).constant_key is VARIABLE
    ifflag = node('{% ifflag "btn_color" "red" %}{% endifflag %}', IfFlagNode)
    assert (ifflag.constant_key, ifflag.constant_value) == ("btn_color", "red")
    assert node('{% ifflag "vip" %}{% endifflag %}', IfFlagNode).constant_value is True
    assert node("{% ifflag 'vip' wanted %}{% endifflag %}", IfFlagNode).constant_value is VARIABLE


def test_a_literal_default_is_served_as_written_and_a_flag_equal_to_it_is_escaped(request_):
    # The literal is the template's own markup; a flag's value is data, even
    # when it equals the literal.
    assert render('{% flag "missing" "<i>new</i>" %}', request_) == "<i>new</i>"
    assert render('{% flag "missing" "<" %}', request_) == "<"
    assert render('{% flag "missing" "<i>" as v %}{{ v }}', request_) == "<i>"
    banner = "{% flag 'banner' '<b>sale</b>' %}"
    assert render(banner, request_) == "&lt;b&gt;sale&lt;/b&gt;"
    # A flag of another type than the literal: the literal, as written.
    assert render('{% flag "max_items" "<i>none</i>" %}', request_) == "<i>none</i>"


def test_variables_are_resolved_at_each_render(request_):
    template = Template("{% load flagship %}{% flag key fallback %}")
    for key, fallback, expected in (("btn_color", "x", "red"), ("missing", "a<b", "a&lt;b")):
        context = Context({"request": request_, "key": key, "fallback": fallback})
        assert template.render(context) == expected


def test_a_translated_default_follows_the_language(settings, request_):
    from django.utils import translation

    settings.USE_I18N = True
    template = Template('{% load flagship %}{% load i18n %}{% flag "missing" _("Yes") %}')
    with translation.override("fr"):
        french = template.render(Context({"request": request_}))
    with translation.override("en"):
        english = template.render(Context({"request": request_}))
    assert (english, french) == ("Yes", "Oui")  # translated at render time, not at compile time


def test_escaped_values_are_kept_within_bounds_and_match_djangos_escape():
    from django.utils.html import escape

    from django_flagship.sdk.remembering import remembering
    from django_flagship.templatetags import flagship as tags

    # Built as the module builds its own, with room for 3.
    kept: dict = {}
    escaped = remembering(tags.escape_text, size=3, max_length=tags.ESCAPED_MAX_LENGTH, cache=kept)
    samples = ["<b>", "a & b", "\"q\" 'q'", "plain", "é<€>"]
    for value in samples:
        assert escaped(value) == escape(value)
        assert escaped(value) == escape(value)  # the kept one, the same text
        assert len(kept) <= 3  # emptied when full, never past the bound
    assert tags.escaped("<b>") == escape("<b>")
    assert tags.escaped("<b>") is tags.escaped("<b>")
    long_value = "<" * (tags.ESCAPED_MAX_LENGTH + 1)
    assert tags.escaped(long_value) == escape(long_value)
    assert long_value not in tags._escaped  # long values are escaped, not kept
    assert "<b>" in tags._escaped


def test_a_flag_value_is_escaped_at_every_render_of_its_own_text(request_):
    # The kept escapes are by value: two flags, and a flag whose value equals a
    # kept string, each render their own text.
    assert render('{% flag "banner" "" %}{% flag "btn_color" "" %}', request_) == (
        "&lt;b&gt;sale&lt;/b&gt;red"
    )
    with override_flags(banner="<i>x</i>"):
        other = RequestFlags(request_)
        request_.flags = other
        assert render('{% flag "banner" "" %}', request_) == "&lt;i&gt;x&lt;/i&gt;"
