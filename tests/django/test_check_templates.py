"""``django_flagship.W009``: the flag tags without the request context processor."""

import pytest
from django.core.management import call_command
from django.template import TemplateSyntaxError, engines
from django.template.backends.django import DjangoTemplates

from django_flagship.checks import REQUEST_PROCESSOR, check_templates

FLAG_TAGS = "django_flagship.templatetags.flagship"
HINT_LINE = '"django.template.context_processors.request",'


class ProjectTemplates(DjangoTemplates):
    """A project's own DjangoTemplates subclass."""


def django_backend(processors=(), **extra):
    options = extra.pop("OPTIONS", {})
    options.setdefault("context_processors", list(processors))
    return {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": options,
        **extra,
    }


def renders_a_flag(alias: str = "django") -> bool:
    """Whether the engine really offers ``{% load flagship %}``."""
    try:
        engines[alias].from_string('{% load flagship %}{% flag "x" "d" %}')
    except TemplateSyntaxError:
        return False
    return True


def test_the_request_processor_silences_it(settings):
    settings.TEMPLATES = [django_backend([REQUEST_PROCESSOR, "x.y"])]
    assert check_templates() == []


def test_a_backend_without_it_is_warned_with_the_line_to_add(settings):
    settings.TEMPLATES = [
        django_backend(["django.contrib.auth.context_processors.auth"], NAME="django")
    ]
    (warning,) = check_templates()
    assert warning.id == "django_flagship.W009"
    assert "TEMPLATES[0] (NAME 'django')" in warning.msg
    assert "{% flag %}" in warning.msg
    assert warning.hint == (
        f'Add the line {HINT_LINE} to TEMPLATES[0]["OPTIONS"]["context_processors"].'
    )
    assert renders_a_flag()


def test_without_app_dirs_or_options_the_installed_app_still_offers_the_tags(settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": False,
            "NAME": "django",
        }
    ]
    assert renders_a_flag()  # Django offers installed apps' libraries to every backend
    (warning,) = check_templates()
    assert warning.id == "django_flagship.W009"
    assert 'TEMPLATES[0]["OPTIONS"]["context_processors"]' in warning.hint


def test_the_second_backend_is_named_by_its_index(settings):
    settings.TEMPLATES = [
        django_backend([REQUEST_PROCESSOR], NAME="site"),
        django_backend([], NAME="emails"),
    ]
    (warning,) = check_templates()
    assert "TEMPLATES[1] (NAME 'emails')" in warning.msg
    assert 'TEMPLATES[1]["OPTIONS"]' in warning.hint


def test_a_subclass_of_django_templates_is_checked(settings):
    backend = django_backend([])
    backend["BACKEND"] = f"{__name__}.ProjectTemplates"
    settings.TEMPLATES = [backend]
    assert [w.id for w in check_templates()] == ["django_flagship.W009"]


def test_a_backend_whose_library_names_point_elsewhere_is_left_alone(settings):
    settings.TEMPLATES = [
        django_backend(
            [],
            NAME="django",
            OPTIONS={
                "libraries": {
                    "flagship": "django.templatetags.static",
                    "flagship_browser": "django.templatetags.static",
                }
            },
        )
    ]
    assert not renders_a_flag()
    assert check_templates() == []


def test_jinja2_backends_are_not_concerned(settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.jinja2.Jinja2",
            "DIRS": [],
            "APP_DIRS": False,
            "OPTIONS": {"extensions": ["django_flagship.jinja2.FlagshipExtension"]},
        }
    ]
    assert check_templates() == []


@pytest.mark.parametrize(
    "options",
    [
        {"builtins": [FLAG_TAGS]},
        {"libraries": {"flags": FLAG_TAGS}},
    ],
    ids=["builtins", "libraries"],
)
def test_builtins_or_libraries_reach_the_tags_without_the_app(settings, options):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django_flagship"]
    settings.TEMPLATES = [django_backend([], NAME="django", OPTIONS=dict(options))]
    assert [w.id for w in check_templates()] == ["django_flagship.W009"]


def test_without_the_app_or_a_library_nothing_is_reachable(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django_flagship"]
    settings.TEMPLATES = [django_backend([], NAME="django")]
    assert not renders_a_flag()
    assert check_templates() == []


@pytest.mark.parametrize(
    "templates",
    [None, "nonsense", ["nonsense"], [{"BACKEND": "no.such.Backend"}], [{"OPTIONS": 3}]],
)
def test_malformed_templates_are_left_to_django(settings, templates):
    settings.TEMPLATES = templates
    assert check_templates() == []


def test_manage_py_check_runs_it(settings, capsys):
    settings.FLAGSHIP_ENV_ID = "env"
    settings.TEMPLATES = [django_backend([])]
    call_command("check")
    err = capsys.readouterr().err
    assert "django_flagship.W009" in err
    assert HINT_LINE in err
