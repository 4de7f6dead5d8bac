"""The served Decision API is a layer of its own: the Django layer never imports it.

The app's runtime tells the server it was reset through a signal
(``runtime_reset``) instead of calling into it, and the server's settings are
read by ``served_conf`` in the Django layer, which the system checks use.
Only the old module paths, kept as thin re-exports, import the package.
"""

from __future__ import annotations

import ast
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


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, source: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """``(module, names)`` of each import of ``path``, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    text = path.read_text(encoding="utf-8") if source is None else source
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            names = tuple(alias.name for alias in node.names)
            found.append((base, names))
            found += [(f"{base}.{n}", ()) for n in names]  # ``from . import views``
    return found


def django_layer() -> list[Path]:
    return [
        path
        for path in PACKAGE.rglob("*.py")
        if SERVER not in path.parents
        and module_name(path) not in OLD_PATHS
        and "sdk" not in path.relative_to(PACKAGE).parts
    ]


def test_the_django_layer_never_imports_the_server():
    offenders = {
        module_name(path): module
        for path in django_layer()
        for module, _ in imports(path)
        if module == "django_flagship.decision_api"
        or module.startswith("django_flagship.decision_api.")
        or module in OLD_PATHS
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from .decision_api.trackers import close_served_trackers\n",
        "from . import decision_api\n",
        "def reset():\n    from .decision_server import close_served_trackers\n",
        "import django_flagship.decision_api.views\n",
    ],
)
def test_the_scan_sees_each_way_of_importing_the_server(source):
    """The check above can fail: each form of import names a server module."""
    found = {module for module, _ in imports(PACKAGE / "client.py", source)}
    assert any(m.startswith("django_flagship.decision") for m in found), found


def test_no_private_name_crosses_the_server_modules():
    crossing = [
        (module_name(path), module, name)
        for path in [*SERVER.glob("*.py"), PACKAGE / "served_conf.py"]
        for module, names in imports(path)
        if module.startswith("django_flagship")
        for name in names
        if name.startswith("_") and name != "__version__"
    ]
    assert crossing == []


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


def test_every_server_module_stays_under_500_lines():
    sizes = {path.name: len(path.read_text().splitlines()) for path in SERVER.glob("*.py")}
    assert max(sizes.values()) <= 500, sizes
