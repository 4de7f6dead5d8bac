"""The sdist and the wheel, built offline from a copy of the source tree.

``python -m build --no-isolation`` uses the setuptools and wheel of this
environment (the test extra), so no package index is needed. The copy keeps
the checkout free of build output.
"""

import configparser
import email.parser
import importlib.util
import itertools
import os
import re
import runpy
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What a checkout may hold that is not source: the copy leaves it out.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    "test-artifacts",
    ".cache",
    ".flagship-spool",
    "db.sqlite3",
    ".env",
)


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the packaging must be tested", pytrace=False)
    pytest.skip(reason)


def package_files() -> set[str]:
    """Every file of the package in the checkout, as a path inside a wheel."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "django_flagship").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


class Built:
    def __init__(self, output: str, sdist: Path, wheel: Path) -> None:
        self.output = output
        with tarfile.open(sdist) as archive:
            top = archive.getnames()[0].split("/")[0]
            self.sdist = {
                name.removeprefix(f"{top}/")
                for name in archive.getnames()
                if archive.getmember(name).isfile()
            }
        with zipfile.ZipFile(wheel) as archive:
            self.wheel = set(archive.namelist())
            metadata = next(name for name in self.wheel if name.endswith(".dist-info/METADATA"))
            self.metadata = email.parser.Parser().parsestr(archive.read(metadata).decode())
            licenses = [n for n in self.wheel if n.endswith("/LICENSE") and ".dist-info/" in n]
            license_file = licenses[0] if licenses else None
            self.license = archive.read(license_file).decode() if license_file else None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    for module in ("build", "setuptools", "wheel"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed: pip install -e '.[test]'")
    work = tmp_path_factory.mktemp("packaging")
    source, out = work / "source", work / "dist"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    # The environment's own setting would add "byte-compiling is disabled" warnings.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Built(output, sdist, wheel)


def test_the_build_gives_no_warning(built):
    warnings = [
        line for line in built.output.splitlines() if re.search(r"warn|deprecat", line, re.I)
    ]
    assert warnings == [], built.output[-6000:]


def test_the_sdist_carries_the_package_its_docs_and_its_license(built):
    docs = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").glob("*.md")}
    expected = {
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "setup.cfg",
        "setup.py",
        "pyproject.toml",
        *docs,
        *package_files(),
    }
    assert expected - built.sdist == set()


def test_every_relative_link_of_the_readme_is_in_the_sdist(built):
    readme = (ROOT / "README.md").read_text("utf-8")
    targets = {
        match.group(2).split("#")[0]
        for match in runpy.run_path(str(ROOT / "setup.py"))["RELATIVE_LINK"].finditer(readme)
    }
    assert targets  # the README does link to the docs
    assert targets - built.sdist == set()


def test_the_wheel_holds_the_package_and_its_license(built):
    assert {name for name in built.wheel if name.startswith("django_flagship/")} == (
        package_files()
    )
    assert {name.split("/")[0] for name in built.wheel} == {
        "django_flagship",
        f"django_flagship-{built.metadata['Version']}.dist-info",
    }
    assert "django_flagship/py.typed" in built.wheel
    assert "django_flagship/static/django_flagship/flagship.js" in built.wheel
    assert built.license == (ROOT / "LICENSE").read_text("utf-8")
    assert "MIT License" in built.license


def test_the_metadata_says_what_is_supported(built):
    metadata = built.metadata
    assert metadata["License"] == "MIT" or metadata["License-Expression"] == "MIT"
    classifiers = metadata.get_all("Classifier")
    assert python_versions(classifiers) == ["3.10", "3.11", "3.12", "3.13"]
    assert django_versions(classifiers) == ["4.2", "5.2"]
    assert metadata["Requires-Python"] == ">=3.10"
    assert "Typing :: Typed" in classifiers


def test_the_index_page_has_no_relative_link(built):
    description = built.metadata.get_payload()
    pattern = runpy.run_path(str(ROOT / "setup.py"))["RELATIVE_LINK"]
    assert pattern.findall(description) == []
    # Each one names the file the sdist holds instead.
    assert "`docs/settings.md` (in the sdist)" in description
    # Links to the web and within the page are kept.
    assert "(#settings)" in description


# -- one list of supported versions --------------------------------------------------


def python_versions(classifiers: list[str]) -> list[str]:
    found = (re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c) for c in classifiers)
    return sorted((m.group(1) for m in found if m), key=lambda v: tuple(map(int, v.split("."))))


def django_versions(classifiers: list[str]) -> list[str]:
    found = (re.fullmatch(r"Framework :: Django :: (\d+\.\d+)", c) for c in classifiers)
    return sorted(m.group(1) for m in found if m)


def tox_pairs() -> set[tuple[str, str]]:
    """(Python, Django) of each ``pyXY-djangoXY`` environment in tox.ini's envlist."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tox.ini")
    pairs = set()
    for line in config["tox"]["envlist"].split():
        # Expand tox's braces: py{310,311}-django42 -> py310-django42, py311-django42.
        parts = re.split(r"\{([^}]*)\}", line)
        choices = [part.split(",") if index % 2 else [part] for index, part in enumerate(parts)]
        for name in map("".join, itertools.product(*choices)):
            match = re.fullmatch(r"py3(\d+)-django(\d)(\d)", name)
            if match:
                pairs.add((f"3.{match.group(1)}", f"{match.group(2)}.{match.group(3)}"))
    return pairs


def compat_settings() -> dict[str, str]:
    text = (ROOT / "scripts" / "compat.sh").read_text()
    return dict(re.findall(r"^((?:OLDEST|NEWEST)_(?:PYTHON|DJANGO))=(\S+)$", text, re.M))


def test_the_classifiers_tox_and_make_test_name_the_same_versions():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    classifiers = setup["metadata"]["classifiers"].split("\n")
    pythons, djangos = python_versions(classifiers), django_versions(classifiers)
    pairs = tox_pairs()
    assert {python for python, _ in pairs} == set(pythons)
    assert {django for _, django in pairs} == set(djangos)
    # Django 4.2 supports Python 3.8 to 3.12; 5.2 supports 3.10 to 3.13 (and later).
    assert ("3.13", "4.2") not in pairs
    assert setup["options"]["python_requires"] == f">={pythons[0]}"
    assert compat_settings() == {
        "OLDEST_PYTHON": pythons[0],
        "NEWEST_PYTHON": pythons[-1],
        "OLDEST_DJANGO": djangos[0],
        "NEWEST_DJANGO": djangos[-1],
    }
    assert {(pythons[0], djangos[0]), (pythons[-1], djangos[-1])} <= pairs
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'\npython_version = "{pythons[0]}"\n' in pyproject  # mypy
    assert f'\ntarget-version = "py{pythons[0].replace(".", "")}"\n' in pyproject  # ruff
