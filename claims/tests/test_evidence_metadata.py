"""Issue 18, files without a trace: the corpus (claims.tests.corpus) proves per format that no metadata block of an
upload reaches the stored file or its thumbnail, while the picture, the clip or the pages stay what they were:
upright, in sRGB colours, transparent where they were, with their sound and rotation, text and pictures."""

from __future__ import annotations

import io
import os

import av
import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from claims import evidence, services
from claims.errors import ClaimError
from claims.models import Claim, Evidence
from claims.tests import corpus
from claims.tests.corpus import BLUE, GREEN, MARKER_PREFIX, RED, SIGNATURES
from claims.tests.factories import claim_world, delivered_order, open_defective_claim, photo

pytestmark = pytest.mark.django_db

# What a clean stored JPEG may hold: start, JFIF header, quantization and Huffman tables, frame, restart interval,
# scan, end. No APP1-APP15 (EXIF, XMP, ICC, MPF, IPTC, Ducky, JUMBF), no COM.
JPEG_ALLOWED = {0xD8, 0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA, 0xD9}
JFIF_WITHOUT_THUMBNAIL = b"JFIF\x00"
PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
WEBP_ALLOWED = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
WEBP_METADATA_FLAGS = 0x20 | 0x08 | 0x04  # VP8X: ICC profile, EXIF, XMP present
PDF_TRACES = (b"/Author", b"/Creator", b"/Producer", b"/Title", b"/CreationDate", b"/ModDate", b"/Metadata",
              b"/JavaScript", b"/JS", b"/EmbeddedFile", b"/OpenAction", b"/AA", b"/PieceInfo", b"/LastModified",
              b"/Launch", b"/Thumb", b"/FS", b"pikepdf", b"qpdf")


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def read(field) -> bytes:  # type: ignore[no-untyped-def]
    with field.open("rb") as fh:
        return fh.read()


def stored_files(settings) -> list[str]:  # type: ignore[no-untyped-def]
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files] if os.path.exists(root) else []


def near(actual, expected, tolerance: int = 12) -> bool:  # type: ignore[no-untyped-def]
    """Colours compared within what a lossy encoder moves them."""
    actual = actual if isinstance(actual, tuple) else (actual,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    return len(actual) == len(expected) and all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def assert_no_marker_or_signature(data: bytes) -> None:
    assert MARKER_PREFIX not in data
    for block, signature in SIGNATURES.items():
        assert signature not in data, block
    assert corpus.ISO6709.encode() not in data and b"GPSLatitude" not in data


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """Walked marker by marker (never a byte search through the compressed picture): only what a decoder needs."""
    segments, after_end = corpus.jpeg_segments(data)
    codes = [code for code, _payload in segments]
    assert set(codes) <= JPEG_ALLOWED, [hex(code) for code in codes]
    assert codes.count(0xDA) >= 1 and codes[-1] == 0xD9 and after_end == b""
    for code, payload in segments:
        if code == 0xE0:  # the JFIF header alone: 14 bytes, no thumbnail
            assert payload.startswith(JFIF_WITHOUT_THUMBNAIL) and len(payload) == 14 and payload[12:] == b"\x00\x00"
    assert_no_marker_or_signature(data)
    return assert_no_info(data, "JPEG")


def assert_clean_png(data: bytes) -> Image.Image:
    kinds = [kind for kind, _payload in corpus.png_chunks(data)]
    assert set(kinds) <= PNG_ALLOWED, kinds  # no tEXt, zTXt, iTXt, eXIf, iCCP, sRGB, gAMA, cHRM, tIME, pHYs, ...
    for signature in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME"):
        assert signature not in kinds
    assert_no_marker_or_signature(data)
    return assert_no_info(data, "PNG")


def assert_clean_webp(data: bytes) -> Image.Image:
    chunks = corpus.riff_chunks(data)
    assert {kind for kind, _payload in chunks} <= WEBP_ALLOWED, chunks  # no EXIF, XMP or ICCP chunk
    for kind, payload in chunks:
        if kind == b"VP8X":
            assert payload[0] & WEBP_METADATA_FLAGS == 0
    assert_no_marker_or_signature(data)
    return assert_no_info(data, "WEBP")


def assert_no_info(data: bytes, fmt: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop", "mp", "dpi"} & set(image.info), image.info
    image.load()
    return image


def assert_original_carries(data: bytes, *signatures: bytes) -> None:
    """The corpus file really holds what the stored one must not (a fixture that lost a block proves nothing)."""
    assert MARKER_PREFIX in data
    for signature in signatures:
        assert signature in data, signature


# --- JPEG -----------------------------------------------------------------------------------------------------


def test_a_jpeg_loses_every_block_through_the_service_and_stays_upright_in_srgb(settings):
    original = corpus.jpeg()
    assert_original_carries(original, *(v for k, v in SIGNATURES.items() if k != "MPF"), b"GPSLatitude")
    codes = [code for code, _payload in corpus.jpeg_segments(original)[0]]
    assert {0xE1, 0xE2, 0xEB, 0xEC, 0xED, 0xFE} <= set(codes)  # EXIF/XMP, ICC/FlashPix, JUMBF, Ducky, IPTC, COM
    source = Image.open(io.BytesIO(original))
    assert source.getexif().get_ifd(0x8825) and source.getexif()[0x0112] == 6 and source.info["comment"]

    claim = open_defective_claim(evidence=[upload("IMG_0001.JPG", original, "image/jpeg")])
    item = claim.evidence.get()
    for data in (read(item.file), read(item.thumbnail)):
        image = assert_clean_jpeg(data).convert("RGB")
        # Orientation 6 (turn 90° clockwise): 64 × 48 stored as 48 × 64, the top-left patch now top right.
        assert image.size == (48, 64)
        width, height = image.size
        # The swapped profile's red is sRGB's blue; its green stays green.
        assert near(image.getpixel((width // 2, height // 2)), BLUE)
        assert near(image.getpixel((width - 3, 3)), GREEN)
        assert near(image.getpixel((2, height - 3)), BLUE)
    assert (item.content_type, item.kind) == ("image/jpeg", "photo")


def test_a_broken_colour_profile_is_dropped_and_the_photo_kept():
    prepared = evidence.prepare(upload("x.jpg", corpus.jpeg(orientation=None, profile=b"acsp" + b"\x07" * 300)))
    image = assert_clean_jpeg(prepared.content).convert("RGB")
    assert image.size == (64, 48) and near(image.getpixel((32, 24)), RED)  # no conversion: the colours as sent
    assert_clean_jpeg(prepared.thumbnail)


def test_a_profile_for_other_pixels_is_dropped():
    """An RGB profile on a grey photo cannot describe it: dropped, the grey kept as it is."""
    out = io.BytesIO()
    Image.new("L", (20, 10), 128).save(out, format="JPEG", icc_profile=corpus.swapped_profile("SECRET-MARKER-X"))
    image = assert_clean_jpeg(evidence.prepare(upload("grey.jpg", out.getvalue())).content)
    assert image.mode == "L" and near(image.getpixel((5, 5)), 128, 2)


def test_a_grey_jpeg_is_converted_from_its_grey_profile():
    original = corpus.grey_jpeg()
    assert_original_carries(original, SIGNATURES["ICC"], SIGNATURES["EXIF"])
    image = assert_clean_jpeg(evidence.prepare(upload("scan.jpg", original)).content)
    assert image.mode == "L" and near(image.getpixel((10, 10)), corpus.LINEAR_GREY_128_IN_SRGB, 3)


def test_a_cmyk_jpeg_is_stored_as_rgb():
    original = corpus.cmyk_jpeg()
    assert Image.open(io.BytesIO(original)).mode == "CMYK"
    stored = evidence.prepare(upload("print.jpg", original)).content
    image = assert_clean_jpeg(stored)  # no Adobe APP14 either: the pixels are RGB now
    assert image.mode == "RGB" and near(image.getpixel((10, 10)), RED)


def test_a_jpeg_with_a_second_picture_keeps_only_the_first():
    """Phones store depth maps and previews as a second picture behind the first (MPO, an APP2 MPF index)."""
    original = corpus.mpo()
    assert Image.open(io.BytesIO(original)).format == "MPO" and SIGNATURES["MPF"] in original
    prepared = evidence.prepare(upload("portrait.jpg", original, "image/jpeg"))
    image = assert_clean_jpeg(prepared.content).convert("RGB")
    assert (prepared.content_type, image.size) == ("image/jpeg", (48, 32))
    assert near(image.getpixel((30, 20)), RED)  # the first picture; the second one was blue
    assert getattr(image, "n_frames", 1) == 1


# --- PNG ------------------------------------------------------------------------------------------------------


def test_a_png_loses_its_chunks_and_keeps_its_transparency_upright_in_srgb():
    original = corpus.png()
    kinds = {kind for kind, _payload in corpus.png_chunks(original)}
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"tIME", b"gAMA", b"cHRM", b"pHYs", b"prVt"} <= kinds
    prepared = evidence.prepare(upload("screen.png", original, "image/png"))
    assert prepared.content_type == "image/png"
    image = assert_clean_png(prepared.content)
    # Orientation 3 (turn 180°): the transparent top-left patch is now bottom right; grey 128 in the linear profile
    # is sRGB's 188.
    assert image.mode == "RGBA" and image.size == (40, 30)
    assert image.getpixel((38, 28))[3] == 0 and image.getpixel((1, 1))[3] == 255
    assert near(image.getpixel((20, 15)), (188, 188, 188, 255), 2)
    thumbnail = assert_clean_jpeg(prepared.thumbnail).convert("RGB")
    assert near(thumbnail.getpixel((38, 28)), (255, 255, 255))  # transparent shows white
    assert near(thumbnail.getpixel((20, 15)), (188, 188, 188))


def test_a_palette_png_keeps_its_transparent_colour():
    original = corpus.palette_png()
    assert {b"tEXt", b"sRGB", b"tRNS", b"PLTE"} <= {kind for kind, _payload in corpus.png_chunks(original)}
    image = assert_clean_png(evidence.prepare(upload("icon.png", original)).content)
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0 and image.getpixel((15, 5)) == (*RED, 255)


@pytest.mark.parametrize("mode, key, field", [("RGB", RED, BLUE), ("L", 0, 200)])
def test_a_png_with_a_transparent_colour_keeps_it_transparent(mode, key, field):
    """An RGB or grey PNG whose tRNS chunk names one transparent colour: stored with an alpha channel instead."""
    image = Image.new(mode, (20, 10), field)
    image.paste(key, (0, 0, 10, 10))
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=key)
    assert b"tRNS" in out.getvalue()
    stored = assert_clean_png(evidence.prepare(upload("key.png", out.getvalue())).content)
    assert stored.mode == mode + "A"
    assert stored.getpixel((2, 2))[-1] == 0 and stored.getpixel((15, 5))[-1] == 255


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped():
    image = assert_clean_png(evidence.prepare(upload("scan.png", corpus.deep_grey_png())).content)
    assert image.mode == "L" and near(image.getpixel((5, 5)), 40000 // 257, 1)


# --- WebP -----------------------------------------------------------------------------------------------------


def test_a_webp_loses_exif_xmp_and_its_profile_and_keeps_its_transparency():
    original = corpus.webp()
    assert {b"EXIF", b"XMP ", b"ICCP"} <= {kind for kind, _payload in corpus.riff_chunks(original)}
    prepared = evidence.prepare(upload("shot.webp", original, "image/webp"))
    assert prepared.content_type == "image/webp"
    image = assert_clean_webp(prepared.content)
    # Orientation 8 (turn 90° counter-clockwise): 40 × 30 stored as 30 × 40; the green top-left patch now bottom
    # left, the transparent bottom-right corner now top right; red in the swapped profile is blue.
    assert image.mode == "RGBA" and image.size == (30, 40)
    assert near(image.getpixel((15, 20)), (*BLUE, 255))
    assert near(image.getpixel((2, 37))[:3], GREEN)
    assert image.getpixel((28, 2))[3] == 0
    assert_clean_jpeg(prepared.thumbnail)


# --- HEIC -----------------------------------------------------------------------------------------------------


def test_a_heic_is_stored_as_a_clean_jpeg_upright_in_srgb():
    original = corpus.heic()
    assert_original_carries(original, SIGNATURES["XMP"], b"GPSLatitude")
    assert Image.open(io.BytesIO(original)).info["icc_profile"]
    prepared = evidence.prepare(upload("IMG_0002.HEIC", original, "image/heic"))
    assert prepared.content_type == "image/jpeg"
    for data in (prepared.content, prepared.thumbnail):
        image = assert_clean_jpeg(data).convert("RGB")
        assert image.size == (48, 64)  # orientation 6 applied
        assert near(image.getpixel((24, 32)), BLUE, 16) and near(image.getpixel((45, 3)), GREEN, 16)


# --- every photo format: the thumbnail too -------------------------------------------------------------------

PHOTOS = {
    "jpeg": corpus.jpeg, "grey jpeg": corpus.grey_jpeg, "cmyk jpeg": corpus.cmyk_jpeg, "mpo": corpus.mpo,
    "png": corpus.png, "palette png": corpus.palette_png, "16-bit png": corpus.deep_grey_png, "webp": corpus.webp,
    "heic": corpus.heic,
}


@pytest.mark.parametrize("name", list(PHOTOS))
def test_no_marker_reaches_the_stored_photo_or_its_thumbnail(name):
    original = PHOTOS[name]()
    assert MARKER_PREFIX in original
    prepared = evidence.prepare(upload(name, original))
    check = {"image/jpeg": assert_clean_jpeg, "image/png": assert_clean_png, "image/webp": assert_clean_webp}
    stored = check[prepared.content_type](prepared.content)
    thumbnail = assert_clean_jpeg(prepared.thumbnail)
    assert max(thumbnail.size) <= max(evidence.THUMBNAIL_SIZE) and stored.size[0] * stored.size[1] > 0
    assert prepared.size == len(prepared.content) and prepared.kind == "photo"


# --- videos ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_a_video_loses_title_place_time_and_phone_and_keeps_its_rotation_and_sound(container):
    original = corpus.clip(container)
    with av.open(io.BytesIO(original)) as source:  # the phone's file carries them
        assert source.metadata["title"] == corpus.marker(container.upper(), "TITLE")
        assert corpus.ISO6709 in source.metadata.values() and "creation_time" in source.metadata
    assert corpus.ISO6709.encode() in original and MARKER_PREFIX in original
    assert {"/moov/udta/meta/keys", "/moov/udta/loci"} <= {path for path, _payload in corpus.mp4_boxes(original)}

    prepared = evidence.prepare(upload(f"IMG_0003.{container.upper()}", original))
    stored = prepared.content
    assert prepared.content_type == "video/mp4"
    assert MARKER_PREFIX not in stored and corpus.ISO6709.encode() not in stored and b"+52.52" not in stored
    assert b"2026-03-01" not in stored
    boxes = dict(corpus.mp4_boxes(stored))
    for path, payload in corpus.mp4_boxes(stored):
        name = path.rsplit("/", 1)[1]
        assert name not in {"keys", "loci", "\xa9xyz", "\xa9nam", "\xa9day", "\xa9mak", "\xa9mod", "\xa9cmt", "name",
                            "XMP_", "uuid"}, path
        if name == "ilst":
            assert payload == b"", path  # the empty item list FFmpeg always writes
    # Created and modified "1904-01-01": the movie header's times are zero (bitexact), not the recording's.
    assert boxes["/moov/mvhd"][4:12] == bytes(8)
    with av.open(io.BytesIO(stored)) as kept:
        tags = {key.lower() for key in kept.metadata} | {key.lower() for s in kept.streams for key in s.metadata}
        assert not tags - {"major_brand", "minor_version", "compatible_brands", "language", "handler_name",
                           "vendor_id"}, tags
        assert [s.type for s in kept.streams] == ["video", "audio"]
        assert next(kept.decode(video=0)).rotation == -90
    poster = assert_clean_jpeg(prepared.thumbnail)
    assert poster.size == (48, 64)  # the first picture, turned upright


# --- PDF ------------------------------------------------------------------------------------------------------


def test_a_pdf_loses_its_metadata_scripts_and_attachments_and_keeps_its_pages(settings):
    original = corpus.pdf()
    readable = corpus.expanded(original)
    for trace in PDF_TRACES[:-2]:
        assert trace in readable, trace
    assert readable.count(MARKER_PREFIX) > 20 and b"Exif" in readable

    claim = claim_world().claim
    services.post_message(claim=claim, by=claim.buyer, body="The invoice.",
                          attachments=[upload("invoice.pdf", original, "application/pdf")])
    item = claim.evidence.get(message__isnull=False)
    assert (item.content_type, item.kind, item.thumbnail.name) == ("application/pdf", "document", "")
    stored = read(item.file)
    expanded = corpus.expanded(stored)
    for data in (stored, expanded):
        assert MARKER_PREFIX not in data
        for trace in PDF_TRACES:
            assert trace not in data, trace
        assert SIGNATURES["XMP"] not in data and SIGNATURES["EXIF"] not in data

    with pikepdf.open(io.BytesIO(stored)) as kept:
        assert "/Info" not in kept.trailer and not kept.is_encrypted and len(kept.pages) == 2
        assert not kept.attachments and "/JavaScript" not in kept.Root.get("/Names", {})
        for page in kept.pages:
            assert corpus.PDF_TEXT in page.Contents.read_bytes()  # the text is still there to read
            photo_in_page = page.Resources.XObject.Im1
            picture = pikepdf.PdfImage(photo_in_page).as_pil_image()
            assert picture.size == (32, 24) and near(picture.convert("RGB").getpixel((20, 16)), RED)
            segments, after_end = corpus.jpeg_segments(photo_in_page.read_raw_bytes())
            assert {code for code, _payload in segments} <= JPEG_ALLOWED | {0xEE} and after_end == b""
        annotations = {str(a.Subtype): a for a in kept.pages[0].Annots}
        assert set(annotations) == {"/FileAttachment", "/Text", "/Link"}  # kept where they were, defused
        assert str(annotations["/Text"].Contents) == "Checked." and "/T" not in annotations["/Text"]
        assert "/A" not in annotations["/Link"] and "/FS" not in annotations["/FileAttachment"]


def test_a_pdf_is_cleaned_the_same_way_every_time():
    """The /ID comes from the content, not the clock: the same upload gives the same stored bytes."""
    original = corpus.pdf(pages=1)
    first, again = (evidence.prepare(upload("a.pdf", original)).content for _ in range(2))
    assert first == again


def test_a_pdf_with_only_an_owner_password_is_stored_unencrypted_and_clean():
    """An owner password only restricts printing or copying; anyone can read the pages, and so can we."""
    original = corpus.pdf(encryption=pikepdf.Encryption(owner="owner-secret", user=""))
    with pikepdf.open(io.BytesIO(original)) as locked:
        assert locked.is_encrypted
    stored = evidence.prepare(upload("locked.pdf", original)).content
    with pikepdf.open(io.BytesIO(stored)) as kept:
        assert not kept.is_encrypted and len(kept.pages) == 2
    assert MARKER_PREFIX not in corpus.expanded(stored) and b"/Encrypt" not in stored


def refused_whole(settings, bad: SimpleUploadedFile, message: str) -> None:  # type: ignore[no-untyped-def]
    """Opening a claim with a good photo and `bad` is refused with `message`; nothing is stored."""
    order = delivered_order()
    with pytest.raises(ClaimError, match=message):
        services.open_claim(order=order, buyer=order.buyer, reason="defective", description="Broken",
                            desired_outcome="repair", discovered_on=order.placed_at.date(),
                            evidence=[photo(), bad])
    assert not Claim.objects.exists() and not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_a_pdf_that_needs_a_password_is_refused_clearly(settings):
    locked = corpus.pdf(encryption=pikepdf.Encryption(owner="owner-secret", user="user-secret"))
    refused_whole(settings, upload("locked.pdf", locked, "application/pdf"),
                  r"“locked.pdf” is protected by a password, so we cannot check it\. Please send it without")


@pytest.mark.parametrize("data, message", [
    # The tests' stand-in for a PDF before issue 18: a header, an empty object, no catalog.
    (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "“x.pdf” could not be read as a PDF"),
    (corpus.empty_pdf(), "“x.pdf” is a PDF without any pages"),
    (b"%PDF-1.7\n" + bytes(range(256)) * 4, "“x.pdf” could not be read as a PDF; it may be damaged or incomplete"),
    (b"%PDF-", "“x.pdf” could not be read as a PDF"),
])
def test_a_pdf_without_pages_or_structure_is_refused(settings, data, message):
    refused_whole(settings, upload("x.pdf", data, "application/pdf"), message)


def test_a_pdf_with_more_pages_than_the_cap_is_refused(settings, monkeypatch):
    monkeypatch.setattr(evidence, "PDF_MAX_PAGES", 2)
    assert evidence.prepare(upload("two.pdf", corpus.pdf(pages=2))).content
    refused_whole(settings, upload("three.pdf", corpus.pdf(pages=3), "application/pdf"),
                  r"“three.pdf” has 3 pages, more than the 2 we accept\. Please send only the pages that matter")


def test_a_pdf_built_from_too_many_objects_is_refused(settings, monkeypatch):
    monkeypatch.setattr(evidence, "PDF_MAX_OBJECTS", 10)
    refused_whole(settings, upload("bomb.pdf", corpus.pdf(pages=1), "application/pdf"),
                  "“bomb.pdf” is built from too many parts to be checked")


def test_a_pdf_over_the_size_cap_is_refused_before_it_is_opened(settings, monkeypatch):
    data = corpus.pdf(pages=1)
    settings.EVIDENCE_MAX_DOCUMENT_BYTES = len(data) - 1
    monkeypatch.setattr(pikepdf, "open", lambda *a, **k: pytest.fail("a too large file must not be parsed"))
    with pytest.raises(ClaimError, match="too large"):
        evidence.prepare(upload("big.pdf", data))
    settings.EVIDENCE_MAX_DOCUMENT_BYTES = len(data)
    monkeypatch.undo()
    assert evidence.prepare(upload("big.pdf", data)).content


# --- the JPEG walk inside PDFs ---------------------------------------------------------------------------------


def test_the_jpeg_walk_drops_every_extra_segment_and_loses_no_pixel():
    original = corpus.jpeg(orientation=None)
    stripped = evidence.jpeg_without_metadata(original)
    assert stripped is not None and len(stripped) < len(original)
    segments, after_end = corpus.jpeg_segments(stripped)
    assert {code for code, _payload in segments} <= JPEG_ALLOWED and after_end == b""
    assert_no_marker_or_signature(stripped)
    # The compressed picture is copied byte for byte: the same pixels decode from both.
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_the_jpeg_walk_keeps_a_progressive_picture_whole():
    out = io.BytesIO()
    corpus.painted((64, 48)).save(out, format="JPEG", progressive=True, comment="SECRET-MARKER-PROGRESSIVE")
    original = corpus.with_segments(out.getvalue(), [(0xE1, b"Exif\x00\x00SECRET-MARKER-EXIF")])
    stripped = evidence.jpeg_without_metadata(original)
    assert stripped is not None and MARKER_PREFIX not in stripped
    assert [code for code, _payload in corpus.jpeg_segments(stripped)[0]].count(0xDA) > 1  # every scan kept
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_the_jpeg_walk_drops_segments_it_does_not_know_and_keeps_a_cut_off_picture_without_its_headers():
    plain = corpus.jpeg(orientation=None)
    original = corpus.with_segments(plain, [(0xF0, b"SECRET-MARKER-JPG0"), (0xAB, b"SECRET-MARKER-RESERVED")])
    stripped = evidence.jpeg_without_metadata(original)
    assert stripped is not None and MARKER_PREFIX not in stripped
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(plain)).tobytes()
    end = original.index(corpus.marker("JPEG", "TRAILER").encode()) - 2  # where the end-of-image marker is
    cut = evidence.jpeg_without_metadata(original[:end - 40])  # no end marker: the scan runs to the end of the data
    assert cut is not None and MARKER_PREFIX not in cut and not cut.endswith(b"\xff\xd9")
    assert cut.startswith(stripped[:stripped.index(b"\xff\xda")])  # the same headers as the whole picture


@pytest.mark.parametrize("data", [b"", b"not a jpeg", b"\xff\xd8\xff\xe1\x00", b"\xff\xd8\xff\xe1\x00\x40short",
                                  b"\xff\xd8\xff\xdb\x00\x01", b"\xff\xd8\x00\x00", b"\xff\xd8\xff\xdb\x00\x02"])
def test_the_jpeg_walk_leaves_what_it_does_not_understand(data):
    """Headers that do not add up (a length past the end or below 2, bytes where a marker belongs, no picture)."""
    assert evidence.jpeg_without_metadata(data) is None


def test_a_pdf_whose_photo_is_no_jpeg_is_refused(settings):
    """A DCTDecode stream no walk can read: no viewer shows it, and what it carries would travel on."""
    document = pikepdf.new()
    document.add_blank_page()
    page = document.pages[0].obj
    picture = pikepdf.Stream(document, b"\xff\xd8\xff\xe1\x00\x40SECRET-MARKER-BROKEN")
    picture.stream_dict = pikepdf.Dictionary(Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1,
                                             Height=1, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                                             Filter=pikepdf.Name.DCTDecode)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im1=document.make_indirect(picture)))
    out = io.BytesIO()
    document.save(out)
    refused_whole(settings, upload("scan.pdf", out.getvalue(), "application/pdf"), "could not be read as a PDF")


# --- second round: what hides inside a clip's pictures and in a PDF's less travelled corners --------------------


def test_an_sei_message_inside_the_pictures_does_not_reach_the_stored_video():
    """Packets are copied, not re-encoded, so what an encoder or camera writes into the H.264 stream itself (SEI
    user data: x264's settings, a camera's model and GPS position) would travel with them."""
    original = corpus.sei_clip()
    assert corpus.marker("SEI", "USER-DATA").encode() in original
    prepared = evidence.prepare(upload("clip.mp4", original))
    stored = prepared.content
    assert MARKER_PREFIX not in stored and b"x264" not in stored
    with av.open(io.BytesIO(stored)) as kept:
        assert [s.type for s in kept.streams] == ["video", "audio"]
        video = kept.streams.video[0]
        assert MARKER_PREFIX not in bytes(video.codec_context.extradata or b"")
        assert sum(1 for _frame in kept.decode(video=0)) == 10  # every picture still decodes
    assert_clean_jpeg(prepared.thumbnail)


def test_a_motion_jpeg_clip_loses_what_each_picture_carries():
    """A camera's Motion-JPEG MOV: every picture is a JPEG, each with its own EXIF, XMP and comment."""
    original = corpus.mjpeg_clip()
    assert original.count(SIGNATURES["EXIF"]) == 5 and corpus.marker("MJPEG", "COMMENT").encode() in original
    prepared = evidence.prepare(upload("MVI_0001.MOV", original))
    stored = prepared.content
    assert_no_marker_or_signature(stored)
    with av.open(io.BytesIO(stored)) as kept:
        assert kept.streams.video[0].codec_context.name == "mjpeg"
        frames = list(kept.decode(video=0))
        assert len(frames) == 5 and frames[0].width == 64
        for packet in kept.demux(video=0):
            if packet.size:
                assert_clean_jpeg(bytes(packet))
    assert_clean_jpeg(prepared.thumbnail)


@pytest.mark.parametrize("place", corpus.PDF_HIDING_PLACES)
def test_a_pdf_loses_what_hides_in_its_less_travelled_places(place):
    original = corpus.pdf_hiding(place)
    marker = f"SECRET-MARKER-PDF-{place.upper()}".encode()
    pictures = corpus.pdf_pictures(original)
    assert marker in corpus.expanded(original) or any(marker in picture for picture in pictures)
    stored = evidence.prepare(upload(f"{place}.pdf", original)).content
    expanded = corpus.expanded(stored)
    assert MARKER_PREFIX not in stored and MARKER_PREFIX not in expanded
    assert SIGNATURES["XMP"] not in expanded and SIGNATURES["EXIF"] not in expanded
    for picture in corpus.pdf_pictures(stored):
        assert MARKER_PREFIX not in picture and SIGNATURES["XMP"] not in picture and SIGNATURES["EXIF"] not in picture
    with pikepdf.open(io.BytesIO(stored)) as kept:
        assert len(kept.pages) == 1
        for name, picture in kept.pages[0].get_images().items():
            # Still a picture a viewer shows: red, as it was painted.
            shown = pikepdf.PdfImage(picture).as_pil_image().convert("RGB")
            assert shown.size == (32, 24) and near(shown.getpixel((20, 16)), RED), name
