"""The version lives in the core; the Django package re-exports it."""

import ast
import pathlib

import django_flagship
from django_flagship.sdk import constants, version

SDK = pathlib.Path(django_flagship.__file__).parent / "sdk"


def test_the_package_version_is_the_cores():
    assert django_flagship.__version__ is version.__version__
    assert version.__version__ == constants.SDK_VERSION


def test_the_version_is_a_literal_setup_cfg_reads_without_importing():
    tree = ast.parse((SDK / "version.py").read_text())
    [value] = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == "__version__"  # type: ignore[attr-defined]
    ]
    assert isinstance(value, ast.Constant)
    assert isinstance(value.value, str)
    setup = (SDK.parents[1] / "setup.cfg").read_text()
    assert "version = attr: django_flagship.sdk.version.__version__" in setup


def test_no_core_module_imports_django_or_the_django_package():
    for path in SDK.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                inside = name == "django_flagship.sdk" or name.startswith("django_flagship.sdk.")
                assert top != "django", f"{path.name} imports {name}"
                assert top != "django_flagship" or inside, f"{path.name} imports {name}"
