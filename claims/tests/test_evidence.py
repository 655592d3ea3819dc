"""Evidence is recognised by its bytes, cleaned of metadata, and refused whole when anything is wrong."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from claims import evidence, services
from claims.errors import ClaimError
from claims.models import Claim, Evidence
from claims.tests.factories import delivered_order, open_defective_claim, photo
from claims.tests.media import video

pytestmark = pytest.mark.django_db


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files] if os.path.exists(root) else []


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)  # latitude
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def upload(name, data, content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def test_sniffing_reads_bytes_not_names():
    assert evidence.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert evidence.sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert evidence.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert evidence.sniff(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert evidence.sniff(b"\x00\x00\x00\x14ftypqt  ") == "video/quicktime"
    assert evidence.sniff(b"\x00\x00\x00\x18ftypheic") == "image/heic"
    assert evidence.sniff(b"%PDF-1.7\n") == "application/pdf"
    assert evidence.sniff(b"<html><script>") is None


def test_gps_and_other_exif_are_stripped_and_a_thumbnail_is_made(settings):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()
    claim = open_defective_claim(evidence=[upload("holiday.jpg", original)])
    item = claim.evidence.get()
    with item.file.open("rb") as fh:
        cleaned = fh.read()
    assert not Image.open(io.BytesIO(cleaned)).getexif()
    assert b"PhoneMaker" not in cleaned
    assert (item.kind, item.content_type, item.party) == ("photo", "image/jpeg", "buyer")
    assert item.thumbnail and Image.open(item.thumbnail.open("rb")).size[0] <= 320
    # Stored under a random name: nothing of the uploader's name or the claim number.
    assert "holiday" not in item.file.name and claim.number not in item.file.name
    assert item.original_name == "holiday.jpg"


def test_a_png_named_jpg_is_stored_as_what_it_is():
    claim = open_defective_claim(evidence=[photo("really-a-png.jpg", fmt="PNG")])
    item = claim.evidence.get()
    assert item.content_type == "image/png" and item.file.name.endswith(".png")


def test_script_appended_to_a_png_is_dropped_by_reencoding():
    polyglot = photo(fmt="PNG").read() + b"<script>alert(1)</script>"
    claim = open_defective_claim(evidence=[upload("x.png", polyglot)])
    with claim.evidence.get().file.open("rb") as fh:
        assert b"<script>" not in fh.read()


@pytest.mark.parametrize("name, data, message", [
    ("page.jpg", b"<html><body>hello</body></html>", "not a file we accept"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', "not a file we accept"),
    ("empty.jpg", b"", "not a file we accept"),
    ("cut.jpg", photo(size=(400, 300)).read()[:300], "could not be read"),
    ("phone.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "could not be read"),
])
def test_hostile_or_broken_files_are_refused_and_nothing_is_stored(settings, name, data, message):
    order = delivered_order()
    with pytest.raises(ClaimError, match=message):
        services.open_claim(order=order, buyer=order.buyer, reason="defective", description="Broken",
                            desired_outcome="repair", discovered_on=order.placed_at.date(),
                            evidence=[photo(), upload(name, data)])
    assert not Claim.objects.exists() and not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_decompression_bomb_is_refused(settings):
    settings.EVIDENCE_MAX_IMAGE_PIXELS = 1_000_000
    bomb = photo(size=(2000, 2000))  # 4 megapixels of one colour: tiny file, too many pixels
    with pytest.raises(ClaimError, match="pixels"):
        evidence.prepare(bomb)


def test_oversize_files_are_refused_before_being_read_whole(settings):
    settings.EVIDENCE_MAX_IMAGE_BYTES = 1000
    with pytest.raises(ClaimError, match="too large"):
        evidence.prepare(photo(size=(300, 300)))
    settings.EVIDENCE_MAX_VIDEO_BYTES = 100
    with pytest.raises(ClaimError, match="too large"):
        evidence.prepare(upload("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "video/mp4"))


def test_one_video_at_most():
    with pytest.raises(ClaimError, match="one video"):
        open_defective_claim(evidence=[photo(), video("a.mp4"), video("b.mov", container="mov")])


def test_a_failed_transaction_removes_the_files_it_wrote(settings, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.ClaimTransition.objects, "create", explode)
    with pytest.raises(RuntimeError):
        open_defective_claim()
    assert stored_files(settings) == []
