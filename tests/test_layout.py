"""The layout rules the package keeps, read from its source.

The import contracts themselves (the core imports nothing of Django or of the Django
layer, the Django layer does not import the served Decision API, nothing imports the
example) are in ``setup.cfg`` and checked by ``lint-imports`` in ``make lint``; the
tests here check that those contracts cover every module, and the rules import-linter
cannot express: no private name imported across modules, a reason for every long
module, and one home for the pieces of logic that used to be repeated.
"""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_flagship"
LONG_MODULE_LINES = 500
LONG_MODULE_REASON = "over 500 lines because"
# Old import paths of the served Decision API's names, kept as re-exports of it.
SERVER_SHIMS = {
    "django_flagship.decision_server",
    "django_flagship.served_limits",
    "django_flagship.urls",
    "django_flagship.views",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def library_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield module_name(path), path


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


def listed(section: str, key: str) -> set[str]:
    return set(contracts()[section][key].split())


def top_level_modules() -> set[str]:
    names = set()
    for module, _ in library_modules():
        parts = module.split(".")
        if len(parts) >= 2:
            names.add(".".join(parts[:2]))
    return names


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_contract_forbids_every_django_layer_module() -> None:
    forbidden = listed("importlinter:contract:core", "forbidden_modules")
    django_layer = top_level_modules() - {"django_flagship.sdk"}
    missing = sorted(django_layer - forbidden)
    assert not missing, f"add to the core contract's forbidden_modules: {missing}"
    assert "django" in forbidden


def test_the_server_contract_covers_every_django_layer_module() -> None:
    section = "importlinter:contract:server"
    sources = listed(section, "source_modules")
    server = listed(section, "forbidden_modules")
    django_layer = top_level_modules() - {"django_flagship.sdk"} - server
    missing = sorted(django_layer - sources - SERVER_SHIMS)
    assert not missing, f"add to the server contract's source_modules: {missing}"


def private_imports(module: str, path: Path) -> Iterator[str]:
    tree = parse(path)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = resolve(module, path, node)
            if not source.startswith("django_flagship") or source == module:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield f"{module}:{node.lineno} imports {source}.{alias.name}"
                elif alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("django_flagship"):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr != "_meta"  # Django's documented model API
        ):
            yield f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}"


def test_no_private_name_is_imported_across_modules() -> None:
    offenders = [
        line for module, path in library_modules() for line in private_imports(module, path)
    ]
    assert not offenders, "\n".join(offenders)


def test_a_long_module_says_why() -> None:
    offenders = []
    for module, path in library_modules():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines <= LONG_MODULE_LINES:
            continue
        docstring = ast.get_docstring(parse(path)) or ""
        if LONG_MODULE_REASON not in " ".join(docstring.split()):
            offenders.append(f"{module}: {lines} lines, no '{LONG_MODULE_REASON} ...'")
    assert not offenders, "\n".join(offenders)


def definitions(name: str) -> list[str]:
    found = []
    for module, path in library_modules():
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                found.append(module)
    return found


@pytest.mark.parametrize("name", ["_field", "wire_field", "dumps", "_json", "dump_json"])
def test_one_home_for_each_helper(name: str) -> None:
    homes = definitions(name)
    assert len(homes) <= 1, f"{name} is defined in {homes}: keep one and import it"


FLAGSHIP_HOSTS = re.compile(r"""["']https://[a-z.]*(?:flagship\.io|abtasty\.com)[^"']*["']""")


def test_each_flagship_url_is_defined_once() -> None:
    homes: dict[str, list[str]] = {}
    for module, path in library_modules():
        for url in FLAGSHIP_HOSTS.findall(path.read_text(encoding="utf-8")):
            homes.setdefault(url.strip("\"'"), []).append(module)
    repeated = {url: mods for url, mods in homes.items() if len(mods) > 1}
    assert not repeated, repeated
    assert homes, "the Flagship URLs were not found: update the pattern"
