"""Evidence on S3-compatible storage (django-storages), against moto's in-process S3."""

import boto3
import pytest
from django.urls import reverse
from moto import mock_aws

from claims.tests.factories import claim_world

BUCKET = "evidence-test"
S3 = {
    "default": {"BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "region_name": "eu-central-1", "default_acl": "private",
                            "querystring_auth": True, "file_overwrite": False}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@pytest.fixture
def s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="eu-central-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        settings.STORAGES = S3
        yield client


@pytest.mark.django_db
def test_evidence_goes_to_a_private_bucket_and_is_served_through_the_app(s3, client):
    world = claim_world("awaiting_seller")
    evidence = world.claim.evidence.get()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {evidence.file.name, evidence.thumbnail.name} <= keys
    grants = s3.get_object_acl(Bucket=BUCKET, Key=evidence.file.name)["Grants"]
    assert all(g["Grantee"].get("URI") is None for g in grants)  # no AllUsers / AuthenticatedUsers grant
    client.force_login(world.buyer)
    response = client.get(reverse("claims:evidence", kwargs={"pk": evidence.pk}))
    assert response.status_code == 200 and b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    client.force_login(world.other_buyer)
    assert client.get(reverse("claims:evidence", kwargs={"pk": evidence.pk})).status_code == 404


def test_the_s3_backend_is_chosen_by_the_environment(monkeypatch):
    import importlib

    import config.settings.base as base

    monkeypatch.setenv("DJANGO_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "claims-evidence")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    try:
        reloaded = importlib.reload(base)
        assert reloaded.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
        assert reloaded.STORAGES["default"]["OPTIONS"]["bucket_name"] == "claims-evidence"
        assert reloaded.STORAGES["default"]["OPTIONS"]["default_acl"] == "private"
    finally:
        monkeypatch.delenv("DJANGO_STORAGE_BACKEND")
        importlib.reload(base)


@pytest.mark.django_db
def test_a_range_of_evidence_on_s3_is_served(s3, client):
    """Videos are played in ranges (core.ranges): the S3 file is read from the offset asked for."""
    world = claim_world("awaiting_seller")
    evidence = world.claim.evidence.get()
    whole = evidence.file.open("rb").read()
    client.force_login(world.buyer)
    response = client.get(reverse("claims:evidence", kwargs={"pk": evidence.pk}), HTTP_RANGE="bytes=10-29")
    assert response.status_code == 206 and response["Content-Range"] == f"bytes 10-29/{len(whole)}"
    assert b"".join(response.streaming_content) == whole[10:30]
