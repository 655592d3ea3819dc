"""The committed schema (docs/openapi.json) is the API's.

`make test` runs `manage.py export_openapi --check` too; this test makes CI fail the same way when the API changes
without the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from api.management.commands import export_openapi

MANAGE = str(settings.BASE_DIR / "manage.py")


def test_the_committed_schema_is_the_apis():
    path = export_openapi.schema_path()
    assert path.exists(), export_openapi.CHANGED
    committed = path.read_text(encoding="utf-8")
    current = export_openapi.render()
    assert committed == current, export_openapi.CHANGED + "\n" + "\n".join(
        export_openapi.difference(committed, current)[:60])
    assert committed.endswith("}\n") and json.loads(committed)["openapi"].startswith("3.1")


@pytest.mark.django_db
def test_the_served_schema_is_the_committed_one(client):
    served = client.get("/api/openapi.json", HTTP_HOST="127.0.0.1").json()
    assert served == json.loads(export_openapi.schema_path().read_text(encoding="utf-8"))


def test_the_check_fails_with_what_to_do_when_the_file_differs(tmp_path, monkeypatch):
    stale = tmp_path / "openapi.json"
    stale.write_text(export_openapi.render().replace('"3.1.0"', '"3.0.0"'), encoding="utf-8")
    monkeypatch.setattr(export_openapi, "schema_path", lambda: stale)
    with pytest.raises(CommandError, match="the API changed: run manage.py export_openapi and commit "
                                           "docs/openapi.json"):
        call_command("export_openapi", "--check")
    call_command("export_openapi")  # writes the file…
    assert stale.read_text(encoding="utf-8") == export_openapi.render()
    call_command("export_openapi", "--check")  # …and then it is the API's
    stale.unlink()
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_openapi", "--check")


def test_the_schema_does_not_depend_on_the_environment():
    """Another site address and name, other limits, the development settings: the same file."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local",
                   "SITE_URL": "https://support.example.invalid", "API_PAGE_SIZE": "7", "API_MAX_PAGE_SIZE": "9",
                   "API_RATE_LIMIT": "3", "API_RATE_WINDOW_SECONDS": "7", "API_IDEMPOTENCY_HOURS": "1",
                   "DJANGO_ALLOWED_HOSTS": "support.example.invalid", "MARKETPLACE_NAME": "Another help centre",
                   "WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "true"}
    result = subprocess.run([sys.executable, MANAGE, "export_openapi", "--check"], env=environment,  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
