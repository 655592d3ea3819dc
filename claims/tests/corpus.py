"""The metadata corpus of issue 18 ("files without a trace"), built at test time: one file per accepted format with
every metadata block that format can carry, each block holding its own marker (`marker(fmt, block)`) and, where the
block has a place for one, the GPS position `LATITUDE`/`LONGITUDE`. Also the readers the tests check the stored
files with: JPEG segments, PNG chunks, WebP (RIFF) chunks, MP4 boxes and a PDF's objects, each walked by structure so
that a marker is looked for where a block would be, and no byte of compressed picture data passes for one.

Nothing here is committed as a binary: Pillow, pillow-heif, PyAV and pikepdf write the files, and the colour
profiles are ICC v2 matrix/TRC profiles assembled below (a few hundred bytes each)."""

from __future__ import annotations

import io
import struct
import zlib

import av
import pikepdf
import pillow_heif
from pikepdf import Array, Dictionary, Name, Stream, String
from PIL import Image, PngImagePlugin

from claims.tests.media import video_bytes

LATITUDE = ((52, 1), (31, 1), (1234, 100))  # 52° 31' 12.34" N
LONGITUDE = ((13, 1), (24, 1), (1800, 100))  # 13° 24' 18.00" E
ISO6709 = "+52.5201+013.4050+034.000/"  # the same place as a phone's video writes it

# What no stored file may contain: the markers' common prefix, and the signatures that open each metadata block.
MARKER_PREFIX = b"SECRET-MARKER"
SIGNATURES = {
    "EXIF": b"Exif\x00\x00", "XMP": b"http://ns.adobe.com/xap/1.0/", "IPTC": b"Photoshop 3.0", "ICC": b"ICC_PROFILE",
    "MPF": b"MPF\x00", "JUMBF": b"jumb", "FlashPix": b"FPXR",
}

# Red, green and blue: what the pictures are painted with (a big field and a small corner patch).
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def marker(fmt: str, block: str) -> str:
    return f"SECRET-MARKER-{fmt}-{block}"


# --- colour profiles ------------------------------------------------------------------------------------------

# The sRGB primaries adapted to D50, as the ICC profile connection space wants them.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _curve(gamma: float) -> bytes:
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(4 + 4 + 3 + 67)


def _profile(space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 display profile: header, tag table, tags (each 4-byte aligned)."""
    table, body = [], b""
    start = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table.append(signature + struct.pack(">II", start + len(body), len(data)))
        body += data
    header = (struct.pack(">I", start + len(body)) + bytes(4) + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
              + bytes(12) + b"acsp" + bytes(28) + _s15(D50[0]) + _s15(D50[1]) + _s15(D50[2]) + bytes(48))
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body


def rgb_profile(text: str, *, red=SRGB_RED, green=SRGB_GREEN, blue=SRGB_BLUE,  # type: ignore[no-untyped-def]
                gamma: float = 2.2) -> bytes:
    return _profile(b"RGB ", [
        (b"desc", _description(text)), (b"wtpt", _xyz(*D50)), (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)),
        (b"bXYZ", _xyz(*blue)), (b"rTRC", _curve(gamma)), (b"gTRC", _curve(gamma)), (b"bTRC", _curve(gamma)),
        (b"cprt", b"text" + bytes(4) + text.encode() + b"\x00")])


def swapped_profile(text: str) -> bytes:
    """A wide-of-the-mark RGB space whose red is sRGB's blue and whose blue is sRGB's red: converted to sRGB, a red
    pixel must come out blue. Nothing subtle to measure, and no colour that survives by chance."""
    return rgb_profile(text, red=SRGB_BLUE, blue=SRGB_RED)


def linear_profile(text: str) -> bytes:
    """sRGB's primaries with a linear tone curve: grey 128 is 50 % light, which sRGB writes as 188."""
    return rgb_profile(text, gamma=1.0)


def linear_grey_profile(text: str) -> bytes:
    return _profile(b"GRAY", [(b"desc", _description(text)), (b"wtpt", _xyz(*D50)), (b"kTRC", _curve(1.0)),
                              (b"cprt", b"text" + bytes(4) + text.encode() + b"\x00")])


# Grey 128 in a linear space, in sRGB: 255 * (1.055 * 0.502 ** (1 / 2.4) - 0.055).
LINEAR_GREY_128_IN_SRGB = 188


# --- EXIF, XMP, IPTC --------------------------------------------------------------------------------------------


def exif(fmt: str, *, orientation: int | None = None) -> Image.Exif:
    """EXIF as a phone writes it: make, model, the time, the GPS position and a MakerNote, each with a marker."""
    data = Image.Exif()
    data[0x010F] = marker(fmt, "EXIF-MAKE")  # Make
    data[0x0110] = marker(fmt, "EXIF-MODEL")  # Model
    data[0x010E] = marker(fmt, "EXIF-DESCRIPTION")  # ImageDescription
    data[0x0132] = "2026:03:01 10:00:00"  # DateTime
    if orientation:
        data[0x0112] = orientation
    details = data.get_ifd(0x8769)  # the Exif IFD
    details[0x927C] = b"Apple iOS\x00\x00\x01MM" + marker(fmt, "MAKERNOTE").encode()  # MakerNote
    details[0x9286] = b"ASCII\x00\x00\x00" + marker(fmt, "USERCOMMENT").encode()  # UserComment
    position = data.get_ifd(0x8825)  # the GPS IFD
    position[1], position[2] = "N", tuple(n / d for n, d in LATITUDE)
    position[3], position[4] = "E", tuple(n / d for n, d in LONGITUDE)
    position[0x1B] = b"ASCII\x00\x00\x00" + marker(fmt, "GPS").encode()  # GPSProcessingMethod
    return data


def xmp(fmt: str) -> bytes:
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="{marker(fmt, "XMP")}" '
            f'exif:GPSLatitude="52,31.2057N" exif:GPSLongitude="13,24.3000E">'
            f'<dc:creator><rdf:Seq><rdf:li>{marker(fmt, "XMP-CREATOR")}</rdf:li></rdf:Seq></dc:creator>'
            f'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def iptc_app13(fmt: str) -> bytes:
    """A Photoshop APP13 payload holding an IPTC-IIM block (8BIM resource 0x0404) with a caption and a city."""
    caption, city = marker(fmt, "IPTC").encode(), b"Berlin " + marker(fmt, "IPTC-CITY").encode()
    records = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    records += b"\x1c\x02\x5a" + struct.pack(">H", len(city)) + city
    records += bytes(len(records) % 2)
    return b"Photoshop 3.0\x00" + b"8BIM" + b"\x04\x04" + b"\x00\x00" + struct.pack(">I", len(records)) + records


# --- JPEG -----------------------------------------------------------------------------------------------------


def _segment(code: int, payload: bytes) -> bytes:
    return bytes([0xFF, code]) + struct.pack(">H", len(payload) + 2) + payload


def with_segments(jpeg: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """The JPEG with more marker segments right after its APP0 (or SOI)."""
    at = 2 + (struct.unpack(">H", jpeg[4:6])[0] + 2 if jpeg[2:4] == b"\xff\xe0" else 0)
    return jpeg[:at] + b"".join(_segment(code, payload) for code, payload in segments) + jpeg[at:]


def painted(size: tuple[int, int], field=RED, corner=GREEN, mode: str = "RGB") -> Image.Image:  # type: ignore[no-untyped-def]
    """A picture of one colour with a patch in its top-left quarter, to see which way is up."""
    image = Image.new(mode, size, field)
    image.paste(corner, (0, 0, size[0] // 4, size[1] // 4))
    return image


def jpeg(*, orientation: int | None = 6, profile: bytes | None = None) -> bytes:
    """A phone's JPEG: EXIF (GPS, MakerNote, orientation), XMP, an ICC profile (the swapped one: red is blue), a
    comment, IPTC, FlashPix (APP2), Ducky (APP12) and JUMBF/C2PA (APP11) segments, and a trailer after the picture,
    as some phones append a second picture or a clip there."""
    fmt = "JPEG"
    out = io.BytesIO()
    painted((64, 48)).save(out, format="JPEG", quality=95, exif=exif(fmt, orientation=orientation),
                           xmp=xmp(fmt), comment=marker(fmt, "COMMENT"),
                           icc_profile=profile if profile is not None else swapped_profile(marker(fmt, "ICC")))
    data = with_segments(out.getvalue(), [
        (0xED, iptc_app13(fmt)),
        (0xE2, b"FPXR\x00\x00" + marker(fmt, "APP2").encode()),
        (0xEC, b"Ducky\x00\x01\x00\x00\x00\x20" + marker(fmt, "APP12").encode()),
        (0xEB, b"JP\x00\x00\x00\x00\x00\x01\x00\x00\x00\x30jumb" + marker(fmt, "APP11").encode()),
        (0xFE, marker(fmt, "COMMENT-2").encode()),
    ])
    return data + marker(fmt, "TRAILER").encode()


def grey_jpeg() -> bytes:
    """A grey JPEG tagged with a linear grey profile: 128 must come out as sRGB's 188."""
    out = io.BytesIO()
    Image.new("L", (32, 24), 128).save(out, format="JPEG", quality=95, exif=exif("GREY"),
                                       icc_profile=linear_grey_profile(marker("GREY", "ICC")))
    return out.getvalue()


def cmyk_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (32, 24), (0, 255, 255, 0)).save(out, format="JPEG", quality=95, exif=exif("CMYK"),
                                                       comment=marker("CMYK", "COMMENT"))
    return out.getvalue()


def mpo() -> bytes:
    """A JPEG with a second picture behind it and an MPF index (APP2), as phones save depth maps and previews."""
    first, second = painted((48, 32)), painted((48, 32), field=BLUE)
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], exif=exif("MPO"),
               comment=marker("MPO", "COMMENT"))
    return out.getvalue()


# --- PNG ------------------------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*, orientation: int | None = 3) -> bytes:
    """A PNG with transparency and every chunk that carries metadata: tEXt, zTXt, iTXt (also XMP), eXIf (with the
    orientation), iCCP (linear: grey 128 is sRGB 188), tIME, gAMA, cHRM, pHYs and a private chunk."""
    fmt = "PNG"
    image = painted((40, 30), field=(128, 128, 128, 255), corner=(0, 0, 0, 0), mode="RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", marker(fmt, "TEXT"))
    info.add_text("Comment", marker(fmt, "ZTXT") + " " * 200, zip=True)
    info.add_itxt("Description", marker(fmt, "ITXT"), lang="en", tkey="Beschreibung")
    info.add_itxt("XML:com.adobe.xmp", xmp(fmt).decode())
    info.add(b"tIME", struct.pack(">HBBBBB", 2026, 3, 1, 10, 0, 0))
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000))
    info.add(b"prVt", marker(fmt, "PRIVATE").encode())
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, exif=exif(fmt, orientation=orientation),
               icc_profile=linear_profile(marker(fmt, "ICC")), dpi=(300, 300))
    return out.getvalue()


def palette_png() -> bytes:
    """A palette PNG with a transparent colour (tRNS), a text chunk and an sRGB chunk."""
    image = Image.new("P", (20, 10), 1)
    image.putpalette([0, 0, 0, *RED, *GREEN, *BLUE])
    image.paste(3, (0, 0, 10, 10))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", marker("PALETTE", "TEXT"))
    info.add(b"sRGB", b"\x00")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, transparency=3)
    return out.getvalue()


def deep_grey_png() -> bytes:
    """A 16-bit grey PNG (Pillow's "I;16"), with a text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", marker("GREY16", "TEXT"))
    out = io.BytesIO()
    Image.new("I;16", (20, 10), 40000).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# --- WebP, HEIC -------------------------------------------------------------------------------------------------


def webp() -> bytes:
    """A WebP with alpha, EXIF (GPS, orientation 8), XMP and an ICC profile (swapped: red is blue)."""
    fmt = "WEBP"
    out = io.BytesIO()
    image = painted((40, 30), field=(*RED, 255), corner=(*GREEN, 255), mode="RGBA")
    image.paste((0, 0, 0, 0), (30, 20, 40, 30))  # a transparent bottom-right corner
    image.save(out, format="WEBP", lossless=True, exif=exif(fmt, orientation=8), xmp=xmp(fmt),
               icc_profile=swapped_profile(marker(fmt, "ICC")))
    return out.getvalue()


def heic() -> bytes:
    """An iPhone's HEIC: EXIF (GPS, MakerNote, orientation 6), XMP and a colour profile (swapped: red is blue)."""
    fmt = "HEIC"
    out = io.BytesIO()
    pillow_heif.from_pillow(painted((64, 48))).save(
        out, quality=95, exif=exif(fmt, orientation=6).tobytes(), xmp=xmp(fmt),
        icc_profile=swapped_profile(marker(fmt, "ICC")))
    return out.getvalue()


# --- videos -----------------------------------------------------------------------------------------------------


def video_metadata(fmt: str) -> dict[str, str]:
    """What a phone writes into a clip: title, place, time, make, model, in the forms QuickTime and MP4 use."""
    return {
        "title": marker(fmt, "TITLE"), "comment": marker(fmt, "COMMENT"), "artist": marker(fmt, "ARTIST"),
        "location": ISO6709, "location-eng": ISO6709, "com.apple.quicktime.location.ISO6709": ISO6709,
        "make": marker(fmt, "MAKE"), "model": marker(fmt, "MODEL"),
        "com.apple.quicktime.make": marker(fmt, "QT-MAKE"), "com.apple.quicktime.model": marker(fmt, "QT-MODEL"),
        "com.apple.quicktime.software": marker(fmt, "SOFTWARE"), "creation_time": "2026-03-01T10:00:00Z",
        "encoder": marker(fmt, "ENCODER"),
    }


def clip(container: str) -> bytes:
    """A portrait clip (landscape pixels turned by the display matrix, as phones record) with sound and metadata."""
    return video_bytes(container=container, metadata=video_metadata(container.upper()), rotation=-90, sound=True)


# --- PDF --------------------------------------------------------------------------------------------------------

PDF_TEXT = b"(Invoice 4711 total 99.00 EUR) Tj"


def _javascript(pdf: pikepdf.Pdf, code: str) -> Dictionary:
    return pdf.make_indirect(Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(code)))


def pdf(*, encryption: pikepdf.Encryption | None = None, pages: int = 2) -> bytes:
    """A PDF with every place a PDF keeps traces: the document information (author, creator, producer, title,
    subject, keywords, dates), XMP on the catalog, a page and a picture, page-piece data and a modification date,
    scripts (on opening, as a named script, on a page's opening), an attached file and a file attachment
    annotation, a comment with its author, a link that launches a program, a page thumbnail, and a photo whose JPEG
    stream still carries EXIF with GPS and a comment. Its objects are packed into compressed object streams, as
    modern writers do, so nothing is readable in the raw bytes by chance."""
    fmt = "PDF"
    document = pikepdf.new()
    font = document.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    photo = io.BytesIO()
    painted((32, 24)).save(photo, format="JPEG", quality=90, exif=exif("PDF-PHOTO"),
                           comment=marker("PDF-PHOTO", "COMMENT"), xmp=xmp("PDF-PHOTO"))
    image = Stream(document, photo.getvalue())
    image.stream_dict = Dictionary(Type=Name.XObject, Subtype=Name.Image, Width=32, Height=24,
                                   ColorSpace=Name.DeviceRGB, BitsPerComponent=8, Filter=Name.DCTDecode,
                                   Metadata=document.make_stream(xmp("PDF-IMAGE")))
    image = document.make_indirect(image)
    for number in range(pages):
        document.add_blank_page(page_size=(595, 842))
        page = document.pages[number]
        page.obj.Resources = Dictionary(Font=Dictionary(F1=font), XObject=Dictionary(Im1=image))
        content = b"BT /F1 18 Tf 72 760 Td " + PDF_TEXT + b" ET q 96 0 0 72 72 600 cm /Im1 Do Q"
        page.obj.Contents = document.make_stream(content)
    first = document.pages[0].obj
    first.Metadata = document.make_stream(xmp("PDF-PAGE"))
    first.PieceInfo = Dictionary(Illustrator=Dictionary(LastModified=String("D:20260301100000Z"),
                                                        Private=String(marker(fmt, "PIECEINFO"))))
    first.LastModified = String("D:20260301100000Z")
    first.AA = Dictionary(O=_javascript(document, f"app.alert('{marker(fmt, 'PAGE-OPEN-JS')}')"))
    first.Thumb = document.make_stream(marker(fmt, "THUMB").encode())
    attachment = pikepdf.AttachedFileSpec(document, marker(fmt, "ATTACHED-FILE").encode(),
                                          filename=f"{marker(fmt, 'ATTACHMENT-NAME')}.txt")
    document.attachments["notes.txt"] = attachment
    annotation_file = pikepdf.AttachedFileSpec(document, marker(fmt, "ANNOTATION-FILE").encode(),
                                               filename="annotation.txt")
    first.Annots = document.make_indirect(Array([
        Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[20, 20, 40, 40], FS=annotation_file.obj,
                   T=String(marker(fmt, "ATTACHMENT-AUTHOR"))),
        Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=[50, 50, 70, 70], Contents=String("Checked."),
                   T=String(marker(fmt, "ANNOTATION-AUTHOR")), M=String("D:20260301100000Z"),
                   CreationDate=String("D:20260301100000Z")),
        Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[80, 80, 200, 100],
                   A=Dictionary(S=Name.Launch, F=String(marker(fmt, "LAUNCH")))),
    ]))
    document.Root.OpenAction = _javascript(document, f"app.alert('{marker(fmt, 'OPEN-JS')}')")
    document.Root.AA = Dictionary(WC=_javascript(document, f"app.alert('{marker(fmt, 'CLOSE-JS')}')"))
    document.Root.Names.JavaScript = Dictionary(Names=Array([
        String("startup"), _javascript(document, f"app.alert('{marker(fmt, 'NAMED-JS')}')")]))
    document.Root.PieceInfo = Dictionary(Word=Dictionary(Private=String(marker(fmt, "ROOT-PIECEINFO"))))
    document.Root.Metadata = document.make_stream(xmp(fmt), Type=Name.Metadata, Subtype=Name.XML)
    document.docinfo = document.make_indirect(Dictionary(
        Title=String(marker(fmt, "TITLE")), Author=String(marker(fmt, "AUTHOR")),
        Subject=String(marker(fmt, "SUBJECT")), Keywords=String(marker(fmt, "KEYWORDS")),
        Creator=String(marker(fmt, "CREATOR")), Producer=String(marker(fmt, "PRODUCER")),
        CreationDate=String("D:20260301100000Z"), ModDate=String("D:20260301100000Z")))
    out = io.BytesIO()
    document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, encryption=encryption or False)
    return out.getvalue()


def invoice_pdf(text: str = "Invoice 4711") -> bytes:
    """A plain one-page PDF, for tests that need a document the evidence checks accept."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(595, 842))
    page = document.pages[0].obj
    page.Resources = Dictionary(Font=Dictionary(F1=document.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))))
    page.Contents = document.make_stream(b"BT /F1 18 Tf 72 760 Td (" + text.encode("ascii") + b") Tj ET")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def empty_pdf() -> bytes:
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def expanded(pdf_bytes: bytes, *, password: str = "") -> bytes:
    """The PDF rewritten with every object outside object streams and every stream inflated (QDF), but pictures
    left as they are: what a reader of the file can find in it."""
    with pikepdf.open(io.BytesIO(pdf_bytes), password=password) as document:
        out = io.BytesIO()
        document.save(out, qdf=True, object_stream_mode=pikepdf.ObjectStreamMode.disable, encryption=False,
                      stream_decode_level=pikepdf.StreamDecodeLevel.generalized, compress_streams=False,
                      fix_metadata_version=False)
        return out.getvalue()


# --- readers ----------------------------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Every marker segment of a JPEG as (marker, payload), the scans' entropy-coded data skipped, and what follows
    the end-of-image marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    segments: list[tuple[int, bytes]] = [(0xD8, b"")]
    pos = 2
    while True:
        assert data[pos] == 0xFF, f"no marker at {pos}"
        code = data[pos + 1]
        if code == 0xD9:
            segments.append((code, b""))
            return segments, data[pos + 2:]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segments.append((code, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if code == 0xDA:  # skip the scan: 0xFF 0x00 is a stuffed byte, 0xFF 0xD0-0xD7 a restart marker
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", "not a WebP"
    chunks, pos = [], 12
    while pos < len(data):
        length = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((data[pos:pos + 4], data[pos + 8:pos + 8 + length]))
        pos += 8 + length + length % 2
    return chunks


# Boxes that hold other boxes (ISO BMFF); "meta" has 4 bytes of version and flags before its children.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"meta", b"ilst"}


def mp4_boxes(data: bytes, path: str = "") -> list[tuple[str, bytes]]:
    """Every box of an MP4/MOV as ("/moov/udta/meta", payload), containers walked into."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I", data[pos:pos + 4])[0], data[pos + 4:pos + 8]
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = len(data) - pos
        name = f"{path}/{kind.decode('latin-1')}"
        payload = data[pos + header:pos + size]
        boxes.append((name, payload))
        if kind in _CONTAINERS and path.count("/") < 8:
            boxes += mp4_boxes(payload[4:] if kind == b"meta" else payload, name)
        pos += size
    return boxes


# --- what hides inside the pictures of a clip and the corners of a PDF (issue 18, second round) -----------------

# An H.264 SEI "user data unregistered" message: a UUID and free bytes, where x264 writes its settings and cameras
# their model and GPS position (Sony's "MDPM").
SEI_UUID = "086f3693-b7b3-4f2c-9653-21492feee5b8"


def sei_clip() -> bytes:
    """An H.264 clip whose first picture carries an SEI user-data message with a marker."""
    from av.bitstream import BitStreamFilterContext

    source, out = io.BytesIO(video_bytes(sound=True)), io.BytesIO()
    note = f"h264_metadata=sei_user_data={SEI_UUID}+{marker('SEI', 'USER-DATA')}"
    with av.open(source) as clip_in, av.open(out, "w", format="mp4") as clip_out:
        copies = {s.index: clip_out.add_stream_from_template(s, opaque=True) for s in clip_in.streams}
        video = clip_in.streams.video[0]
        insert = BitStreamFilterContext(note, video, copies[video.index])
        for packet in clip_in.demux():
            if packet.dts is None:
                continue
            for kept in insert.filter(packet) if packet.stream.index == video.index else [packet]:
                kept.stream = copies[packet.stream.index]
                clip_out.mux(kept)
    return out.getvalue()


def mjpeg_clip() -> bytes:
    """A camera's Motion-JPEG MOV: every picture a JPEG with EXIF (GPS), XMP and a comment."""
    out = io.BytesIO()
    with av.open(out, "w", format="mov") as clip_out:
        stream = clip_out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        packets = []
        for index in range(5):
            picture = Image.new("RGB", (64, 48), ((index * 40) % 256, 80, 160))
            packets += stream.encode(av.VideoFrame.from_image(picture).reformat(format="yuvj420p"))
        packets += stream.encode()
        for packet in packets:
            data = with_segments(bytes(packet), [
                (0xE1, exif("MJPEG").tobytes()),  # "Exif\0\0" and the TIFF data
                (0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp("MJPEG")),
                (0xFE, marker("MJPEG", "COMMENT").encode())])
            dressed = av.Packet(data)
            dressed.pts, dressed.dts, dressed.time_base = packet.pts, packet.dts, packet.time_base
            dressed.is_keyframe, dressed.stream = True, stream
            clip_out.mux(dressed)
    return out.getvalue()


def _one_page(document: pikepdf.Pdf) -> pikepdf.Dictionary:
    document.add_blank_page(page_size=(200, 200))
    return document.pages[0].obj


def _with_picture(document: pikepdf.Pdf, page: pikepdf.Dictionary, data: bytes, **fields: object) -> None:
    picture = Stream(document, data)
    picture.stream_dict = Dictionary(Type=Name.XObject, Subtype=Name.Image, Width=32, Height=24, **fields)
    page.Resources = Dictionary(XObject=Dictionary(Im1=document.make_indirect(picture)))
    page.Contents = document.make_stream(b"q 96 0 0 72 20 20 cm /Im1 Do Q")


def jpx(fmt: str) -> bytes:
    """A JPEG 2000 (JP2) picture with a codestream comment, an XMP "xml " box and a UUID box after it."""
    out = io.BytesIO()
    painted((32, 24)).save(out, format="JPEG2000", no_jp2=False, comment=marker(fmt, "J2K-COMMENT"))
    packet, private = xmp(fmt), b"\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac" + xmp(fmt + "-UUID")
    return (out.getvalue() + struct.pack(">I", 8 + len(packet)) + b"xml " + packet
            + struct.pack(">I", 8 + len(private)) + b"uuid" + private)


def pdf_hiding(place: str) -> bytes:
    """A one-page PDF with a trace in one of the less travelled places:

    threads: an article thread's information dictionary (title, author, as the document's);
    flate-jpeg: a photo whose JPEG (EXIF, comment) is wrapped in a second filter, [/FlateDecode /DCTDecode];
    jpx: a JPEG 2000 photo (codestream comment, XMP box, UUID box);
    xfa: an XFA form whose XDP carries an XMP packet, as LiveCycle Designer writes it;
    signature: a signature's name, place, reason, contact, time, signing application and certificate;
    popup: a comment's popup with the author's name, and the comment's unique name."""
    fmt = f"PDF-{place.upper()}"
    document = pikepdf.new()
    page = _one_page(document)
    if place == "threads":
        bead = document.make_indirect(Dictionary(Type=Name.Bead, P=page, R=Array([0, 0, 100, 100])))
        bead.N = bead.V = bead
        info = Dictionary(Title=String(marker(fmt, "TITLE")), Author=String(marker(fmt, "AUTHOR")),
                          CreationDate=String("D:20260301100000Z"))
        thread = document.make_indirect(Dictionary(Type=Name.Thread, F=bead, I=info))
        bead.T = thread
        page.B = Array([bead])
        document.Root.Threads = Array([thread])
    elif place == "flate-jpeg":
        photo = io.BytesIO()
        painted((32, 24)).save(photo, format="JPEG", quality=90, exif=exif(fmt), comment=marker(fmt, "COMMENT"),
                               xmp=xmp(fmt))
        _with_picture(document, page, zlib.compress(photo.getvalue()), ColorSpace=Name.DeviceRGB,
                      BitsPerComponent=8, Filter=Array([Name.FlateDecode, Name.DCTDecode]))
    elif place == "jpx":
        _with_picture(document, page, jpx(fmt), Filter=Name.JPXDecode)
    elif place == "xfa":
        xdp = (b'<?xml version="1.0" encoding="UTF-8"?><xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/">' + xmp(fmt)
               + b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1">'
               + b'<field name="total"/></subform></template></xdp:xdp>')
        document.Root.AcroForm = Dictionary(Fields=Array([]), XFA=Array([
            String("xdp:xdp"), document.make_stream(xdp)]))
    elif place == "signature":
        signature = document.make_indirect(Dictionary(
            Type=Name.Sig, Filter=Name("/Adobe.PPKLite"), SubFilter=Name("/adbe.pkcs7.detached"),
            Name=String(marker(fmt, "NAME")), Location=String(marker(fmt, "LOCATION")),
            Reason=String(marker(fmt, "REASON")), ContactInfo=String(marker(fmt, "CONTACT")),
            M=String("D:20260301100000Z"), ByteRange=Array([0, 10, 20, 30]),
            Contents=String(b"0\x82\x01\x00" + marker(fmt, "CERTIFICATE").encode()),
            Prop_Build=Dictionary(App=Dictionary(Name=Name("/" + marker(fmt, "APP"))))))
        field = document.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig,
                                                  T=String("Signature1"), V=signature, Rect=Array([0, 0, 0, 0]),
                                                  P=page))
        page.Annots = Array([field])
        document.Root.AcroForm = Dictionary(Fields=Array([field]), SigFlags=3)
    elif place == "popup":
        note = document.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Text, Rect=Array([50, 50, 70, 70]), Contents=String("Checked."),
            NM=String(marker(fmt, "UNIQUE-NAME"))))
        popup = document.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Popup, Rect=Array([70, 50, 170, 100]), Parent=note,
            T=String(marker(fmt, "AUTHOR")), M=String("D:20260301100000Z")))
        note.Popup = popup
        page.Annots = Array([note, popup])
    else:
        raise ValueError(place)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PDF_HIDING_PLACES = ("threads", "flate-jpeg", "jpx", "xfa", "signature", "popup")


def pdf_pictures(pdf_bytes: bytes) -> list[bytes]:
    """The data of every picture in the PDF as a viewer's JPEG or JPEG 2000 decoder gets it (other filters undone)."""
    pictures = []
    with pikepdf.open(io.BytesIO(pdf_bytes)) as document:
        for obj in document.objects:
            if isinstance(obj, Stream) and obj.get("/Subtype") == Name.Image:
                filters = obj.get("/Filter")
                data = obj.read_raw_bytes()
                if isinstance(filters, Array) and filters and filters[0] == Name.FlateDecode:
                    data = zlib.decompress(data)
                pictures.append(data)
    return pictures
