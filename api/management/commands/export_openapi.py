"""Write the API's OpenAPI schema to docs/openapi.json, or (--check) fail when the committed file is not the API's.

The file is what clients and reviewers read: a change to the API shows up in a pull request as a change to it, and
`make test` fails when someone changes the API and forgets the file. It is the schema /api/openapi.json serves,
written with sorted keys and two-space indents so that diffs are small and stable, in English whatever the
environment's language."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

CHANGED = "the API changed: run manage.py export_openapi and commit docs/openapi.json"
DIFF_LINES = 60  # enough of the difference to see what changed, not a wall of text


def schema_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "openapi.json"


def schema() -> dict[str, Any]:
    from ninja.responses import NinjaJSONEncoder

    from api.api import api

    with translation.override("en"):
        # Built from the routes alone (no request, no host, no SITE_URL), encoded as /api/openapi.json encodes it.
        return json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def difference(committed: str, current: str) -> list[str]:
    diff = difflib.unified_diff(committed.splitlines(), current.splitlines(), "docs/openapi.json (committed)",
                                "the API now", lineterm="", n=2)
    return list(diff)


class Command(BaseCommand):
    help = "Write the API's OpenAPI schema to docs/openapi.json; with --check, fail if the file is out of date."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Write nothing; exit with an error if docs/openapi.json is not the API's schema.")

    def handle(self, *args, check=False, **options):
        path = schema_path()
        current = render()
        if check:
            if not path.exists():
                raise CommandError(f"docs/openapi.json does not exist: {CHANGED}")
            committed = path.read_text(encoding="utf-8")
            if committed != current:
                lines = difference(committed, current)
                shown = "\n".join(lines[:DIFF_LINES])
                more = f"\n… and {len(lines) - DIFF_LINES} more lines" if len(lines) > DIFF_LINES else ""
                self.stderr.write(f"{shown}{more}")
                raise CommandError(CHANGED)
            self.stdout.write("docs/openapi.json is the API's schema.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.read_text(encoding="utf-8") == current:
            self.stdout.write("docs/openapi.json was already up to date.")
            return
        path.write_text(current, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
