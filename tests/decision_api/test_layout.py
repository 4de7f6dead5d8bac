"""The served Decision API's old import paths re-export the package's objects.

That the Django layer never imports the server is an import contract in
``setup.cfg``, checked by tests/test_layout.py.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import django_flagship
from django_flagship import decision_api

PACKAGE = Path(django_flagship.__file__).parent
SERVER = Path(decision_api.__file__).parent
#: The paths the server had before it became a package, re-exporting it.
OLD_PATHS: dict[str, tuple[str, ...]] = {
    "django_flagship.decision_server": (
        "django_flagship.decision_api",
        "django_flagship.served_conf",
    ),
    "django_flagship.views": ("django_flagship.decision_api.views",),
    "django_flagship.urls": ("django_flagship.decision_api.urls",),
    "django_flagship.served_limits": (
        "django_flagship.decision_api.limits",
        "django_flagship.served_conf",
    ),
}


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_the_old_paths_re_export_the_same_objects(old):
    module = importlib.import_module(old)
    homes = [importlib.import_module(home) for home in OLD_PATHS[old]]
    homes += [
        importlib.import_module(f"django_flagship.decision_api.{path.stem}")
        for path in SERVER.glob("*.py")
    ]
    assert module.__all__
    for name in module.__all__:
        value = getattr(module, name)
        assert any(getattr(home, name, None) is value for home in homes), name
