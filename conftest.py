import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence goes to a per-test folder, never into the repository."""
    settings.MEDIA_ROOT = tmp_path / "media"
