"""Evidence files: recognised by their bytes, cleaned of metadata, all refused cleanly.

Nothing here touches the database or the storage; `prepare` turns an upload into a checked, cleaned
`PreparedFile` (or raises ClaimError), and the services store it inside their transaction.

Issue 18, "files without a trace": every accepted format leaves here without its metadata blocks.

Photos (JPEG, PNG, WebP and the iPhone's HEIC) are turned upright, their colours converted to sRGB from an embedded
colour profile, and re-encoded from a new image that holds only the pixels; a HEIC photo is stored as JPEG, which
every browser shows. EXIF (GPS, MakerNotes), XMP, IPTC, comments, other APPn segments, PNG text, eXIf and tIME
chunks, colour profiles and anything appended after the picture stay behind, in the thumbnail too.

A video is opened with FFmpeg (PyAV): it is accepted only if a picture really decodes from it, it is no longer than
EVIDENCE_MAX_VIDEO_SECONDS, and it is copied packet by packet (never re-encoded) into a fresh MP4 that carries none
of the phone's metadata (location, make and model, creation time).

A PDF is opened with qpdf (pikepdf) and written anew without its document information (author, creator, producer,
title, dates), XMP, private application data, attachments, scripts, automatic actions and the metadata of the
photos inside it; its pages stay as they are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
import pillow_heif
from av.bitstream import BitStreamFilterContext
from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .choices import EvidenceKind
from .errors import ClaimError

if TYPE_CHECKING:
    import pikepdf
    from django.core.files.uploadedfile import UploadedFile
    from pikepdf.sanitize import Sanitizer

logger = logging.getLogger(__name__)

# HEIC/HEIF photos open through Pillow like any other image; only the primary image is read.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# The content type proven by the bytes -> the Pillow format that must read it.
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}
# A phone's JPEG with a second picture (depth map, preview: the APP2 "MPF" index) is read by Pillow as MPO; only
# its first picture is kept.
ALSO_READ_AS = {"JPEG": {"MPO"}}
# Browsers other than Safari cannot show HEIC: those photos are stored as JPEG.
STORED_IMAGE_TYPES = {"HEIF": ("JPEG", "image/jpeg")}
VIDEO_TYPES = {"video/mp4", "video/quicktime"}
DOCUMENT_TYPES = {"application/pdf"}
# What a PDF may be called; a photo is a photo and a video a video whatever the uploader picked.
DOCUMENT_KINDS = frozenset({EvidenceKind.INVOICE, EvidenceKind.PROOF_OF_SHIPMENT, EvidenceKind.CUSTOMS_FORM,
                            EvidenceKind.INSPECTION_REPORT, EvidenceKind.DOCUMENT})
THUMBNAIL_SIZE = (320, 320)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
# A clip the phone shows as 1:00 may last a few hundredths more: half a second over the limit still passes.
VIDEO_SECONDS_TOLERANCE = Fraction(1, 2)
# A decoder may need several packets before its first picture (B-frames, threads); garbage never gives one.
POSTER_MAX_PACKETS = 120
# A claim's documents are invoices, forms and reports: a few pages. The caps keep a crafted PDF (a "PDF bomb" of
# pages or objects within the byte limit) from tying up a worker; the byte limit stays EVIDENCE_MAX_DOCUMENT_BYTES.
PDF_MAX_PAGES = 500
PDF_MAX_OBJECTS = 200_000


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file prove, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    return None


def kind_for(content_type: str, chosen: str | None = None) -> str:
    """What a file is called follows what it is: a photo, a video, or a document of the kind chosen (a PDF sent as
    an invoice stays an invoice; a photo sent with "document" preselected is still a photo)."""
    if content_type.startswith("image/"):
        return EvidenceKind.PHOTO
    if content_type.startswith("video/"):
        return EvidenceKind.VIDEO
    return chosen if chosen in DOCUMENT_KINDS else EvidenceKind.DOCUMENT


@dataclasses.dataclass(frozen=True)
class PreparedFile:
    content: bytes
    content_type: str
    kind: str
    original_name: str
    thumbnail: bytes | None = None
    duration_seconds: Decimal | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def as_content_file(self) -> ContentFile:
        return ContentFile(self.content)


def _read_capped(upload: UploadedFile, cap: int, name: str) -> bytes:
    upload.seek(0)
    data = upload.read(cap + 1)
    if len(data) > cap:
        raise ClaimError(_("“%(name)s” is too large: the limit for this kind of file is %(cap)s.")
                         % {"name": name, "cap": filesizeformat(cap)})
    if not data:
        raise ClaimError(_("“%(name)s” is empty.") % {"name": name})
    return data


def prepare(upload: UploadedFile, *, kind: str | None = None) -> PreparedFile:
    """Check and clean one uploaded file. `kind` is what the uploader says a document is (invoice, ...)."""
    name = getattr(upload, "name", None) or _("file")
    upload.seek(0)
    content_type = sniff(upload.read(32))
    if content_type in IMAGE_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_IMAGE_BYTES, name)
        pil_format = IMAGE_TYPES[content_type]
        stored_format, stored_type = STORED_IMAGE_TYPES.get(pil_format, (pil_format, content_type))
        content, thumbnail = _clean_image(data, pil_format, name, stored_format)
        return PreparedFile(content, stored_type, kind_for(stored_type), name, thumbnail)
    if content_type in VIDEO_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_VIDEO_BYTES, name)
        content, poster, duration = _clean_video(data, name)
        return PreparedFile(content, "video/mp4", EvidenceKind.VIDEO, name, poster, duration)
    if content_type in DOCUMENT_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_DOCUMENT_BYTES, name)
        return PreparedFile(_clean_pdf(data, name), content_type, kind_for(content_type, kind), name)
    raise ClaimError(_("“%(name)s” is not a file we accept. Please send photos as JPEG, PNG, WebP or HEIC, a video "
                       "as MP4 or MOV, and documents as PDF.") % {"name": name})


# --- photos ---------------------------------------------------------------------------------------------------


def _too_many_pixels(name: str, width: int, height: int, what: str) -> ClaimError:
    if what == "video":
        text = _("“%(name)s” is %(w)d × %(h)d pixels, larger than we accept. Please send a smaller video.")
    else:
        text = _("“%(name)s” is %(w)d × %(h)d pixels, larger than we accept. Please send a smaller photo.")
    return ClaimError(text % {"name": name, "w": width, "h": height})


def _clean_image(data: bytes, pil_format: str, name: str, stored_format: str) -> tuple[bytes, bytes]:
    unreadable = ClaimError(_("“%(name)s” could not be read as an image; it may be damaged or incomplete.")
                            % {"name": name})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.format != pil_format and image.format not in ALSO_READ_AS.get(pil_format, ()):
                raise unreadable
            width, height = image.size
            if width * height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                raise _too_many_pixels(name, width, height, "photo")
            image.load()
            # The EXIF orientation is applied to the pixels before EXIF is left behind: the photo stays upright.
            image = ImageOps.exif_transpose(image)
            image = _pixels_only(_in_srgb(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ClaimError(_("“%(name)s” has too many pixels to be a photo.") % {"name": name}) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise unreadable from exc

    # `image` is a new image holding only pixels, so nothing of the upload's `info` (EXIF with GPS and MakerNotes,
    # XMP, IPTC, the JPEG comment, PNG text chunks, the colour profile) reaches the encoder; anything appended after
    # the picture was never read.
    if stored_format == "JPEG":
        image = _without_alpha(image)
    out = io.BytesIO()
    save_args = {"quality": 90} if stored_format in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=stored_format, **save_args)
    return out.getvalue(), _thumbnail(image)


def _plain_mode(image: Image.Image) -> Image.Image:
    """The image as grey, grey and alpha, RGB, RGB and alpha, or CMYK (for its profile): palettes expanded (their
    transparency kept as alpha), 16-bit grey scaled to 8 bits."""
    transparent = "transparency" in image.info
    if image.mode in ("L", "RGB"):
        return image.convert(image.mode + "A") if transparent else image
    if image.mode in ("LA", "RGBA", "CMYK"):
        return image
    if image.mode == "1":
        return image.convert("LA" if transparent else "L")
    if image.mode.startswith("I") or image.mode == "F":  # 16-bit grey PNG: 0-65535 onto 0-255
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    return image.convert("RGBA" if transparent or "A" in image.mode else "RGB")


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# The image mode a profile's colour space describes (the ICC header's data colour space).
_PROFILE_SPACES = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


def _in_srgb(image: Image.Image) -> Image.Image:
    """The pixels in sRGB (the web's default, so that no profile needs to travel with them), alpha kept.

    A photo with an embedded colour profile (an iPhone's Display P3, Adobe RGB from a camera, a printer's CMYK) is
    converted from it; a profile that cannot be read or does not fit the pixels is dropped, the photo kept."""
    icc = image.info.get("icc_profile")
    image = _plain_mode(image)
    converted = _profile_to_srgb(image, icc) if icc else None
    if converted is not None:
        return converted
    return image.convert("RGB") if image.mode == "CMYK" else image


def _profile_to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """The pixels converted from their profile to sRGB; None when the profile cannot be read or does not fit them
    (issue 18: a broken profile is dropped, never a reason to refuse the photo)."""
    try:
        return _convert_profile(image, icc)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, KeyError) as exc:
        logger.info("colour profile dropped, not converted: %s", exc)
        return None


def _convert_profile(image: Image.Image, icc: bytes) -> Image.Image:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    colour = image.convert(image.mode.rstrip("A")) if alpha is not None else image
    if profile.profile.xcolor_space.strip() != _PROFILE_SPACES[colour.mode]:
        raise ValueError("the profile describes other pixels")  # an RGB profile on a grey image, ...
    intent = ImageCms.Intent.PERCEPTUAL
    if colour.mode == "RGB":  # our own decoded copy: converted where it is, a third less time on a 12 MP photo
        ImageCms.profileToProfile(colour, profile, _srgb(), renderingIntent=intent, inPlace=True)
        converted = colour
    else:
        # Not in place: a new image (None only comes back from a conversion in place).
        converted = cast(Image.Image, ImageCms.profileToProfile(colour, profile, _srgb(), renderingIntent=intent,
                                                                outputMode="RGB"))
    if colour.mode == "L":
        converted = converted.convert("L")  # grey stays grey: R = G = B after the conversion
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding the pixels and nothing else: no `info` (comment, EXIF, XMP, ICC profile, text chunks)
    travels with it, whatever a Pillow encoder would copy from there."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image, (0, 0))
    return clean


def _without_alpha(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: transparent parts become white, as a browser shows them on this site."""
    if image.mode not in ("LA", "RGBA"):
        return image
    flat = Image.new(image.mode[0] if image.mode == "LA" else "RGB", image.size, "white")
    flat.paste(image, (0, 0), image.getchannel("A"))
    return flat


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG of at most THUMBNAIL_SIZE made from the pixels alone (a photo's or a video's first picture)."""
    thumb = _pixels_only(_without_alpha(image if image.mode in ("L", "LA", "RGB", "RGBA") else image.convert("RGB")))
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=80)
    return out.getvalue()


# --- videos ---------------------------------------------------------------------------------------------------


def _seconds_text(seconds: int) -> str:
    return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}


def video_limits() -> str:
    """The video field's help: the limits of the current settings."""
    return _("MP4 or MOV, up to %(size)s and %(length)s. Location and device data are removed.") % {
        "size": filesizeformat(settings.EVIDENCE_MAX_VIDEO_BYTES),
        "length": _seconds_text(settings.EVIDENCE_MAX_VIDEO_SECONDS)}


def _too_long(name: str, seconds: Fraction) -> ClaimError:
    limit = settings.EVIDENCE_MAX_VIDEO_SECONDS
    return ClaimError(_("“%(name)s” is %(length)s long; a video may be at most %(limit)s. Please trim it and send "
                        "it again.") % {"name": name, "length": _seconds_text(round(seconds)),
                                        "limit": _seconds_text(limit)})


def _check_length(name: str, seconds: Fraction) -> None:
    if seconds > settings.EVIDENCE_MAX_VIDEO_SECONDS + VIDEO_SECONDS_TOLERANCE:
        raise _too_long(name, seconds)


def _clean_video(data: bytes, name: str) -> tuple[bytes, bytes, Decimal]:
    """The video remuxed into a fresh MP4 without metadata, its poster (the first picture) as a JPEG thumbnail, and
    its length in seconds. Refused unless a picture decodes: an MP4 header in front of anything else is no video."""
    not_a_video = ClaimError(_("“%(name)s” is not a video we can play: no picture could be read from it. It may be "
                               "damaged or incomplete. Please send the video as your phone saved it (MP4 or MOV).")
                             % {"name": name})
    try:
        # "mov" is FFmpeg's MP4/MOV reader, named so that FFmpeg never guesses another format from the bytes.
        with av.open(io.BytesIO(data), "r", format="mov") as source:
            # best("video") is a video stream, when there is one
            video = cast("av.VideoStream | None", source.streams.best("video"))
            if video is None or video.codec_context is None:
                raise not_a_video
            width, height = video.codec_context.width, video.codec_context.height
            if width * height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                raise _too_many_pixels(name, width, height, "video")
            if source.duration:  # the header's claim, checked before any work; the packets are checked below
                _check_length(name, Fraction(source.duration, av.time_base))
            audio = source.streams.best("audio")
            with tempfile.TemporaryDirectory() as folder:
                target = Path(folder) / "video.mp4"
                poster, seconds = _remux(source, video, audio, target, name, not_a_video)
                content = target.read_bytes()
    except ClaimError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise not_a_video from exc
    duration = Decimal(seconds.numerator) / Decimal(seconds.denominator)
    return content, _thumbnail(poster), duration.quantize(Decimal("0.01"))


def _remux(source: av.container.InputContainer, video: av.VideoStream, audio: av.stream.Stream | None, target: Path,
           name: str, not_a_video: ClaimError) -> tuple[Image.Image, Fraction]:
    """Copy the video's (and its sound's) packets into a new MP4, decoding only until the first picture.

    Only the streams are copied: the container's and the streams' metadata (location ©xyz and
    com.apple.quicktime.location.ISO6709, make, model, creation time), timed-metadata and subtitle tracks stay behind.
    The display rotation travels with the stream's codec parameters, so a portrait clip stays upright."""
    poster: Image.Image | None = None
    tried = 0
    start: Fraction | None = None
    end = Fraction(0)
    # bitexact: no encoder version tag; faststart: the index first, so a browser starts playing at once.
    with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"}) as out:
        copies = {video.index: _StreamCopy(out, video, name)}
        if audio is not None:
            copies[audio.index] = _StreamCopy(out, audio, name)
        for packet in source.demux(*(s for s in (video, audio) if s is not None)):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            if packet.pts is not None:
                at = Fraction(packet.pts) * packet.time_base
                start = at if start is None else min(start, at)
                end = max(end, at + Fraction(packet.duration or 0) * packet.time_base)
            if poster is None and packet.stream.index == video.index and tried < POSTER_MAX_PACKETS:
                tried += 1
                poster = _first_picture(video, packet)
            copy = copies[packet.stream.index]
            for cleaned in copy.clean(packet):
                cleaned.stream = copy.stream
                out.mux(cleaned)
        if poster is None and tried:
            poster = _first_picture(video, None)  # whatever the decoder still holds
    if poster is None:
        raise not_a_video
    # What plays is what the packets span (a header may say less); the size cap bounds the copying before it.
    _check_length(name, end - (start or 0))
    return poster, end - (start or 0)


# What a decoder does not need from an H.264, HEVC or AV1 stream, by NAL unit (OBU) type: SEI messages and AV1's
# metadata OBUs (x264's settings, a camera's model and GPS position such as Sony's "MDPM" user data, mastering-display
# and caption hints), filler and padding, and the reserved and unspecified types, where anything can hide. HEVC's 62
# and 63 stay: Dolby Vision's reshaping data and enhancement layer, which iPhones record.
_IN_BAND_METADATA = {"h264": "6|12|16-18|22-31", "hevc": "38-61", "av1": "5|15"}


class _StreamCopy:
    """One stream of the new MP4 and how its packets are cleaned on the way: copied as they are, but without the
    in-band metadata of their codec (the packets' own SEI or the EXIF, XMP and comments of each Motion-JPEG
    picture); neither changes a pixel."""

    def __init__(self, out: av.container.OutputContainer, template: av.stream.Stream, name: str) -> None:
        codec = template.codec_context.name
        try:
            # opaque: the reader's codec description is enough for copying packets; no encoder is needed.
            self.stream = out.add_stream_from_template(template, opaque=True)
        except ValueError as exc:  # MP4 cannot carry this codec (ProRes, AMR, ...)
            raise ClaimError(_("“%(name)s” is recorded in a format we cannot store (%(codec)s). Please send it as "
                               "MP4 (H.264 or HEVC).") % {"name": name, "codec": codec}) from exc
        self.units: BitStreamFilterContext | None = None
        if codec in _IN_BAND_METADATA:
            # Also rewrites the stream's parameter sets (avcC, hvcC), where SEI can be kept too.
            self.units = BitStreamFilterContext(f"filter_units=remove_types={_IN_BAND_METADATA[codec]}", template,
                                                self.stream)
        self.motion_jpeg = codec == "mjpeg"
        if codec == "hevc":
            self.stream.codec_context.codec_tag = "hvc1"  # the tag Safari needs to play HEVC from an MP4

    def clean(self, packet: av.Packet) -> list[av.Packet]:
        if self.units is not None:
            return self.units.filter(packet)
        if self.motion_jpeg:
            picture = jpeg_without_metadata(bytes(packet))
            if picture is None:
                raise ValueError("a Motion-JPEG picture that is not a JPEG")
            cleaned = av.Packet(picture)
            cleaned.pts, cleaned.dts, cleaned.duration = packet.pts, packet.dts, packet.duration
            cleaned.time_base, cleaned.is_keyframe = packet.time_base, packet.is_keyframe
            return [cleaned]
        return [packet]


def _first_picture(video: av.VideoStream, packet: av.Packet | None) -> Image.Image | None:
    """The first decoded frame as an upright image, or None while the decoder has none yet (or only errors)."""
    try:
        frames = video.codec_context.decode(packet)
    except av.FFmpegError:
        return None
    for frame in frames:
        # The display matrix's angle is counter-clockwise, as Pillow's rotate.
        return frame.to_image().rotate(frame.rotation, expand=True) if frame.rotation else frame.to_image()
    return None


# --- documents ------------------------------------------------------------------------------------------------

# pikepdf (qpdf) is imported when the first PDF arrives, not by every process that imports this module: its import
# costs a fifth of a second and logs a line at start-up.

# Markup annotations (comments, highlights, stamps, ...) and their popups: their /T is the author's name, /M and
# /CreationDate when they wrote it, /NM the writer's unique name for the comment. A form field's /T is its name and
# stays.
_MARKUP_ANNOTATIONS = ("/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
                       "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/FileAttachment",
                       "/Sound", "/Redact", "/Popup")  # a popup, too: some writers repeat the author's name there
# Keys that mean one thing wherever they are, so they go from every dictionary (also where a damaged file hangs
# them): XMP streams (catalog, pages, pictures, fonts), private application data, modification dates, actions run
# on opening, closing, printing, ... (/AA, /OpenAction), page thumbnails of pages as they were, the document's
# named scripts and attached files, and a file specification's embedded file.
_PDF_TRACE_KEYS = ("/Metadata", "/PieceInfo", "/LastModified", "/AA", "/OpenAction", "/Thumb", "/JavaScript",
                   "/EmbeddedFiles", "/EF")
_PDF_SIGNATURE_TRACE_KEYS = ("/Name", "/Location", "/Reason", "/ContactInfo", "/M", "/Prop_Build", "/Prop_AuthTime",
                             "/Prop_AuthType", "/Contents", "/Cert", "/ByteRange", "/Reference", "/Changes")
# What a trailer needs to find the document (qpdf writes /Size and a new /ID itself, and no /Encrypt).
_PDF_TRAILER_KEYS = frozenset({"/Root", "/Size", "/ID", "/Encrypt", "/Prev", "/XRefStm"})


@functools.cache
def _pdf_sanitizer() -> Sanitizer:
    """Scripts, attachments, links to the network or the disk (also /Launch, /SubmitForm), media, thumbnails,
    Acrobat's search index, web capture addresses, the portfolio view: pikepdf's own sanitizer, which knows where
    each of them hangs in an intact file."""
    from pikepdf.sanitize import Sanitizer

    return (Sanitizer().remove_javascript().remove_attachments().remove_external_access().remove_multimedia()
            .remove_thumbnails().remove_search_index().remove_web_capture().remove_private_app_data()
            .remove_collection())


@functools.cache
def _markup_annotations() -> frozenset[pikepdf.Name]:
    from pikepdf import Name

    return frozenset(Name(subtype) for subtype in _MARKUP_ANNOTATIONS)


def _clean_pdf(data: bytes, name: str) -> bytes:
    """The PDF written anew by qpdf without its document information, XMP, attachments, scripts and automatic
    actions, and with the photos in it stripped of EXIF; refused if it cannot be read, needs a password, has no
    pages or is built to be too big to check."""
    import pikepdf

    unreadable = ClaimError(_("“%(name)s” could not be read as a PDF; it may be damaged or incomplete.")
                            % {"name": name})
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _check_pdf_size(pdf, name)
            _strip_pdf(pdf)
            out = io.BytesIO()
            # No encryption (an owner password only restricts printing or copying: the text is readable without
            # it, and our copy must be checkable); no XMP version fix-up and no Producer (qpdf adds none); the /ID
            # from the content, not from the time and the file name; streams copied as they are, never inflated.
            pdf.save(out, encryption=False, fix_metadata_version=False, deterministic_id=True, linearize=False,
                     stream_decode_level=pikepdf.StreamDecodeLevel.none, preserve_pdfa=False)
    except ClaimError:
        raise
    except pikepdf.PasswordError as exc:
        raise ClaimError(_("“%(name)s” is protected by a password, so we cannot check it. Please send it without "
                           "the password.") % {"name": name}) from exc
    except (pikepdf.PikepdfError, RuntimeError, ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        raise unreadable from exc
    return out.getvalue()


def _check_pdf_size(pdf: pikepdf.Pdf, name: str) -> None:
    # The trailer's count first (cheap, before qpdf reads every object), then what qpdf really found.
    declared = pdf.trailer.get("/Size")
    if (isinstance(declared, int) and declared > PDF_MAX_OBJECTS) or len(pdf.objects) > PDF_MAX_OBJECTS:
        raise ClaimError(_("“%(name)s” is built from too many parts to be checked. Please save or print it again "
                           "as a new PDF.") % {"name": name})
    pages = len(pdf.pages)
    if not pages:
        raise ClaimError(_("“%(name)s” is a PDF without any pages.") % {"name": name})
    if pages > PDF_MAX_PAGES:
        raise ClaimError(_("“%(name)s” has %(count)d pages, more than the %(limit)d we accept. Please send only the "
                           "pages that matter.") % {"name": name, "count": pages, "limit": PDF_MAX_PAGES})


def _strip_pdf(pdf: pikepdf.Pdf) -> None:
    from pikepdf import Array, Dictionary

    _pdf_sanitizer().apply(pdf)
    info = pdf.trailer.get("/Info")  # author, creator, producer, title, subject, keywords, dates
    if isinstance(info, Dictionary):
        for key in list(info.keys()):  # emptied too, in case something else still points at it
            del info[key]
    for key in set(pdf.trailer.keys()) - _PDF_TRAILER_KEYS:  # /Info, and whatever else hangs there
        del pdf.trailer[key]
    threads = pdf.Root.get("/Threads")
    for thread in threads if isinstance(threads, Array) else ():
        if isinstance(thread, Dictionary) and "/I" in thread:  # also a thread whose /Type was left out
            del thread["/I"]
    _strip_xfa(pdf)
    for obj in pdf.objects:
        for holder in _with_direct_children(obj):
            _strip_pdf_object(holder)
    # Objects no longer referenced (the XMP streams, the attached files, the scripts) are not written by qpdf.


# An XMP packet, with or without its xpacket wrapper (which exists so that a packet can be found in any file).
_XMP_PACKET = re.compile(rb"<\?xpacket\s+begin\b.*?<\?xpacket\s+end\b[^>]*>"
                         rb"|<([\w.-]+:)?x[ma]pmeta\b.*?</([\w.-]+:)?x[ma]pmeta\s*>", re.DOTALL)


def _strip_xfa(pdf: pikepdf.Pdf) -> None:
    """An XFA form (LiveCycle Designer's) keeps its XML in one stream or in packets; the XMP packet it carries (the
    form's author, dates, tool) goes, the form and its data stay."""
    from pikepdf import Array, Stream

    form = pdf.Root.get("/AcroForm")
    xfa = form.get("/XFA") if form is not None else None
    for packet in [xfa] if isinstance(xfa, Stream) else list(xfa) if isinstance(xfa, Array) else []:
        if not isinstance(packet, Stream):
            continue  # a packet's name
        xml = packet.read_bytes()
        cleaned = _XMP_PACKET.sub(b"", xml)
        if cleaned != xml:
            packet.write(cleaned)


def _with_direct_children(obj: pikepdf.Object) -> Iterator[pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array]:
    """`obj` and the dictionaries and arrays written inside it (an annotation inline in a page's /Annots, ...);
    indirect objects are visited on their own."""
    from pikepdf import Array, Dictionary, Stream

    stack = [obj]
    while stack:
        item = stack.pop()
        if not isinstance(item, Dictionary | Stream | Array):
            continue
        yield item
        # values(), not keys(): a name need not be UTF-8 (a font called in Shift JIS), its value is still there.
        values = list(item) if isinstance(item, Array) else list(item.values())
        stack.extend(v for v in values if isinstance(v, Dictionary | Array) and not v.is_indirect)


def _strip_pdf_object(obj: pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array) -> None:
    from pikepdf import Array, Name, Stream

    if isinstance(obj, Array):
        return
    if "/EF" in obj:  # an attached file's specification: its names and description go with the file
        for key in ("/F", "/UF", "/Desc", "/DOS", "/Mac", "/Unix"):
            if key in obj:
                del obj[key]
    for key in _PDF_TRACE_KEYS:
        if key in obj:
            del obj[key]
    if obj.get("/S") == Name.JavaScript and "/JS" in obj:  # a script, wherever its action still hangs
        del obj["/JS"]
    subtype = obj.get("/Subtype")
    if isinstance(subtype, Name) and subtype in _markup_annotations() and "/Rect" in obj:
        for key in ("/T", "/M", "/CreationDate", "/NM"):
            if key in obj:
                del obj[key]
    if obj.get("/Type") == Name.Thread and "/I" in obj:  # an article thread's own title, author, dates, ...
        del obj["/I"]
    if obj.get("/Type") in (Name.Sig, Name.DocTimeStamp) or ("/ByteRange" in obj and "/Contents" in obj):
        # A signature: it no longer matches the rewritten bytes, and it names the signer (the certificate in
        # /Contents, /Name, /ContactInfo), where and why they signed, when, and with which application.
        for key in _PDF_SIGNATURE_TRACE_KEYS:
            if key in obj:
                del obj[key]
    if isinstance(obj, Stream):
        if obj.get("/Type") in (Name.Metadata, Name.EmbeddedFile):
            obj.write(b"")  # an XMP packet or an attached file that something still points at
        else:
            _strip_photo(obj)


def _strip_photo(stream: pikepdf.Stream) -> None:
    """A picture stored as JPEG (a DCTDecode stream, or JPEG bytes behind a damaged filter name) loses what the
    camera wrote into it."""
    from pikepdf import Array, Name

    filters = stream.get("/Filter")
    if isinstance(filters, Array) and len(filters) > 1 and filters[-1] == Name.DCTDecode:
        _unwrap_jpeg(stream, filters)
    if _single_filter(stream) == Name.JPXDecode:
        picture = jp2_without_metadata(stream.read_raw_bytes())
        if picture is None:
            raise ValueError("a picture in the PDF is not a JPEG 2000 picture")
        stream.write(picture, filter=Name.JPXDecode)
        return
    raw = stream.read_raw_bytes()
    if _single_filter(stream) != Name.DCTDecode and not raw.startswith(b"\xff\xd8\xff"):
        return
    stripped = jpeg_without_metadata(raw)
    if stripped is None:  # no viewer can show it, and its EXIF would travel on: refused as damaged
        raise ValueError("a picture in the PDF is not a JPEG")
    if stripped != raw:
        # A stream's /Filter is a name or an array of names, its /DecodeParms a dictionary or an array of them.
        stream.write(stripped, filter=cast("pikepdf.Name | pikepdf.Array | None", stream.get("/Filter")),
                     decode_parms=cast("pikepdf.Dictionary | pikepdf.Array | None", stream.get("/DecodeParms")))


def _unwrap_jpeg(stream: pikepdf.Stream, filters: pikepdf.Array) -> None:
    """A JPEG wrapped in other filters as well ([/FlateDecode /DCTDecode]) becomes a plain DCTDecode stream, so that
    its segments can be walked like any other."""
    from pikepdf import Array, Dictionary, Name

    parms = stream.get("/DecodeParms")
    own = parms[-1] if isinstance(parms, Array) and len(parms) == len(filters) else None
    stream.Filter = Array(list(filters)[:-1])
    if isinstance(parms, Array):
        stream.DecodeParms = Array(list(parms)[:-1])
    jpeg = stream.read_bytes()  # the wrapping filters undone, the JPEG left as it is
    stream.write(jpeg, filter=Name.DCTDecode, decode_parms=own if isinstance(own, Dictionary) else None)


def _single_filter(stream: pikepdf.Stream) -> pikepdf.Object | None:
    from pikepdf import Array

    filters = stream.get("/Filter")
    if isinstance(filters, Array):
        return filters[0] if len(filters) == 1 else None
    return filters


# JPEG markers. What a decoder needs is kept: the frame (SOF0-SOF15 but DHT, JPG and DAC), Huffman and
# quantization tables, arithmetic conditioning, restart interval, line count, scans. Everything else is dropped:
# APP1-APP15 (EXIF, XMP, ICC, MPF, IPTC, JUMBF, ...) but the two kept below, COM, and whatever else is there.
_APP0, _APP14, _SOS, _EOI = 0xE0, 0xEE, 0xDA, 0xD9
_DECODER_NEEDS = {*range(0xC0, 0xD0), 0xDB, 0xDD, 0xDC, _SOS} - {0xC8}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def jpeg_without_metadata(data: bytes) -> bytes | None:
    """A JPEG's bytes without EXIF, XMP, ICC, IPTC and every other APPn segment, comments, unknown segments, a JFIF
    thumbnail, and anything after the end of the picture; the picture itself (tables, frames, scans) copied
    untouched, so that no quality is lost. Kept: the JFIF header and Adobe's APP14, which tells a decoder how the
    colours are stored. None if `data` is not a JPEG this walk understands (its headers do not add up).

    Used for the photos inside a PDF, which a PDF carries as JPEG streams with whatever the camera wrote."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out = bytearray(b"\xff\xd8")
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF or pos + 1 >= end:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in _STANDALONE:
            out += data[pos:pos + 2]
            pos += 2
            continue
        if pos + 4 > end:
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segment = data[pos:pos + 2 + length]
        if length < 2 or len(segment) < 2 + length:
            return None
        pos += 2 + length
        if marker == _APP0 and segment[4:9] == b"JFIF\x00" and length >= 16:
            out += b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"  # the header, without its thumbnail
        elif (marker == _APP14 and segment[4:9] == b"Adobe") or marker in _DECODER_NEEDS:
            out += segment
        if marker == _SOS:  # entropy-coded data up to the next marker (0xFF then neither 0x00 nor RSTn)
            scan = pos
            while True:
                scan = data.find(b"\xff", scan)
                if scan < 0 or scan + 1 >= end:  # cut off inside the picture: what there is, without the headers
                    return bytes(out + data[pos:])
                following = data[scan + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    scan += 1 if following == 0xFF else 2
                    continue
                break
            out += data[pos:scan]
            pos = scan
    return None


# JPEG 2000. Kept of a JP2 file: its signature, file type, header (size, colours, palette, resolution) and codestream;
# dropped: XML (XMP, GML with a position), UUID (XMP, GeoJP2), intellectual property and every other box. Kept of a
# codestream: every marker segment but comments (COM) and the tile-part length index (TLM), which dropping a
# tile-part's comment would make wrong.
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_JP2_KEPT_BOXES = {b"jP  ", b"ftyp", b"jp2h"}
_J2K_SOC_SIZ, _J2K_SOT, _J2K_SOD, _J2K_EOC = b"\xff\x4f\xff\x51", 0x90, 0x93, 0xD9
_J2K_DROPPED = {0x64, 0x55}  # COM, TLM


def jp2_without_metadata(data: bytes) -> bytes | None:
    """A JPEG 2000 picture (a JP2 file or a bare codestream, as a PDF's JPXDecode stream holds it) without its
    metadata boxes and comments; its coded picture copied untouched. None if its structure does not add up."""
    if data.startswith(_J2K_SOC_SIZ):
        return _j2k_without_comments(data)
    if not data.startswith(_JP2_SIGNATURE):
        return None
    out, pos, found = bytearray(), 0, False
    while pos + 8 <= len(data):
        length, kind, header = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8], 8
        if length == 1:
            length, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif length == 0:
            length = len(data) - pos
        if length < header or pos + length > len(data):
            return None
        if kind == b"jp2c":
            codestream = _j2k_without_comments(data[pos + header:pos + length])
            if codestream is None:
                return None
            out += (8 + len(codestream)).to_bytes(4, "big") + b"jp2c" + codestream
            found = True
        elif kind in _JP2_KEPT_BOXES:
            out += data[pos:pos + length]
        pos += length
    return bytes(out) if found else None


def _j2k_segment(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """The marker at `pos` and where its segment ends, or None if it does not fit before `end`."""
    if pos + 4 > end or data[pos] != 0xFF:
        return None
    length = int.from_bytes(data[pos + 2:pos + 4], "big")
    return (data[pos + 1], pos + 2 + length) if length >= 2 and pos + 2 + length <= end else None


def _j2k_kept_segments(data: bytes, pos: int, end: int, *, until: int) -> tuple[bytes, int] | None:
    """The marker segments from `pos` up to the marker `until` without the dropped ones, and where `until` is; None
    if they do not add up before `end`."""
    kept = bytearray()
    while data[pos:pos + 2] != bytes([0xFF, until]):
        segment = _j2k_segment(data, pos, end)
        if segment is None:
            return None
        marker, after = segment
        if marker not in _J2K_DROPPED:
            kept += data[pos:after]
        pos = after
    return bytes(kept), pos


def _j2k_without_comments(data: bytes) -> bytes | None:
    if not data.startswith(_J2K_SOC_SIZ):
        return None
    main = _j2k_kept_segments(data, 2, len(data), until=_J2K_SOT)  # the main header
    if main is None:
        return None
    kept, pos = main
    out = bytearray(data[:2] + kept)
    while pos < len(data):  # tile-parts: SOT, their own header up to SOD, then coded data (Psot bytes in all)
        if data[pos:pos + 2] == bytes([0xFF, _J2K_EOC]):
            return bytes(out + data[pos:pos + 2])
        if data[pos:pos + 2] != bytes([0xFF, _J2K_SOT]) or pos + 12 > len(data):
            return None
        declared = int.from_bytes(data[pos + 6:pos + 10], "big")
        end = pos + declared if declared else len(data)  # 0: the last tile-part, up to the end
        if end > len(data) or (declared and declared < 14):
            return None
        tile = _j2k_kept_segments(data, pos + 12, end, until=_J2K_SOD)
        if tile is None:
            return None
        kept, at = tile
        header, body = bytearray(data[pos:pos + 12] + kept), data[at:end]
        if declared:
            header[6:10] = (len(header) + len(body)).to_bytes(4, "big")
        out += header + body
        pos = end
    return bytes(out)  # cut off before the end-of-codestream marker: what there is
