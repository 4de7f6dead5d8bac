"""The metadata is in setup.cfg; this file only adapts the README for a package index.

The README links to docs/ and CHANGELOG.md by relative paths: they resolve in a
checkout and in the sdist, which ships those files (MANIFEST.in), but on an
index page they would point at pages that do not exist. There, each such link
becomes the file's path in the sdist.
"""

import re
from pathlib import Path

from setuptools import setup

#: ``[text](target)`` whose target is a file of the sdist: not a URL, not an anchor.
RELATIVE_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s]+)\)")


def _as_path(match: re.Match) -> str:
    text, target = match.group(1), match.group(2)
    if text.strip("`") == target:
        return f"`{target}` (in the sdist)"
    return f"{text} (`{target}` in the sdist)"


def index_description(readme: str) -> str:
    """The README with its relative links turned into the paths they name."""
    return RELATIVE_LINK.sub(_as_path, readme)


if __name__ == "__main__":
    setup(
        long_description=index_description(Path(__file__).with_name("README.md").read_text("utf-8"))
    )
