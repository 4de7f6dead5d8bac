"""``manage.py flagship_campaigns``: the authored campaigns in and out, in Flagship's format.

::

    manage.py flagship_campaigns import bucketing.json            # replaces every campaign
    manage.py flagship_campaigns import more.json --append        # adds to them
    manage.py flagship_campaigns export [bucketing.json] [--all]  # the file (stdout by default)
    manage.py flagship_campaigns export-flagship DIRECTORY        # bucketing.json + campaigns.txt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ... import document
from ...platform import plain_list
from ...transfer import export_document, import_document

__all__ = ["Command"]

#: A bucketing file larger than this is refused before it is read.
MAX_FILE_BYTES = 16 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Import or export the campaigns authored in Django as a bucketing file in "
        "Flagship's format, or write them for re-creating in Flagship's platform. An "
        "import is all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        load = actions.add_parser("import", help="read a bucketing file ('-' for stdin)")
        load.add_argument("path")
        load.add_argument(
            "--append", action="store_true", help="add to the campaigns instead of replacing"
        )
        save = actions.add_parser("export", help="write the bucketing file ('-' or none: stdout)")
        save.add_argument("path", nargs="?", default="-")
        save.add_argument("--all", action="store_true", help="disabled campaigns too")
        save.add_argument("--indent", type=int, default=2)
        platform = actions.add_parser(
            "export-flagship",
            help="write DIRECTORY/bucketing.json and DIRECTORY/campaigns.txt for Flagship",
        )
        platform.add_argument("directory")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "import":
                self._import(options["path"], append=options["append"])
            elif action == "export":
                self._export(options["path"], options["all"], options["indent"])
            else:
                self._export_flagship(Path(options["directory"]))
        except DatabaseError as exc:
            raise CommandError(
                f"The database could not be used ({type(exc).__name__}: {exc}). Has "
                "'manage.py migrate' run since 'django_flagship.authoring' was installed?"
            ) from None

    def _import(self, path: str, *, append: bool) -> None:
        try:
            if path == "-":
                raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            else:
                with open(path, "rb") as fh:
                    raw = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path!r}: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise CommandError(f"{path!r} is larger than {MAX_FILE_BYTES:,} bytes")
        try:
            data = document.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise CommandError(f"{path!r} is not JSON: {exc}") from None
        try:
            result = import_document(data, replace=not append)
        except document.DocumentError as exc:
            raise CommandError(
                f"Nothing was imported; {len(exc.problems)} problem(s) in {path!r}:\n"
                + "\n".join(f"  {p}" for p in exc.problems[:50])
                + ("\n  ..." if len(exc.problems) > 50 else "")
            ) from None
        self.stdout.write(f"Imported {result.summary()}.")

    def _write(self, path: str, text: str) -> None:
        if path == "-":
            self.stdout.write(text, ending="")
            return
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {path!r}: {exc.strerror or exc}") from None

    def _export(self, path: str, everything: bool, indent: int) -> None:
        data = export_document(include_disabled=everything)
        self._write(path, json.dumps(data, indent=indent or None, ensure_ascii=False) + "\n")
        if path != "-":
            self.stdout.write(f"Wrote {len(data['campaigns'])} campaigns to {path}.")

    def _export_flagship(self, directory: Path) -> None:
        if not directory.is_dir():
            raise CommandError(f"{str(directory)!r} is not a directory")
        data = export_document()
        everything = export_document(include_disabled=True)
        enabled = {c["id"] for c in data["campaigns"]}
        disabled = [c for c in everything["campaigns"] if c["id"] not in enabled]
        self._write(
            str(directory / "bucketing.json"), json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        )
        self._write(str(directory / "campaigns.txt"), plain_list(data, disabled))
        self.stdout.write(
            f"Wrote {directory / 'bucketing.json'} and {directory / 'campaigns.txt'} "
            f"({len(data['campaigns'])} campaigns)."
        )
