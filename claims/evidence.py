"""Evidence files: recognised by their bytes, cleaned of metadata, all refused cleanly.

Nothing here touches the database or the storage; `prepare` turns an upload into a checked, cleaned
`PreparedFile` (or raises ClaimError), and the services store it inside their transaction.

Photos (JPEG, PNG, WebP and the iPhone's HEIC) are re-encoded from their pixels; a HEIC photo is stored as JPEG,
which every browser shows. A video is opened with FFmpeg (PyAV): it is accepted only if a picture really decodes
from it, it is no longer than EVIDENCE_MAX_VIDEO_SECONDS, and it is copied packet by packet (never re-encoded) into
a fresh MP4 that carries none of the phone's metadata (location, make and model, creation time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tempfile
import warnings
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import av
import pillow_heif
from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

from .choices import EvidenceKind
from .errors import ClaimError

# HEIC/HEIF photos open through Pillow like any other image; only the primary image is read.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# The content type proven by the bytes -> the Pillow format that must read it.
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}
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


def _read_capped(upload, cap: int, name: str) -> bytes:  # type: ignore[no-untyped-def]
    upload.seek(0)
    data = upload.read(cap + 1)
    if len(data) > cap:
        raise ClaimError(_("“%(name)s” is too large: the limit for this kind of file is %(cap)s.")
                         % {"name": name, "cap": filesizeformat(cap)})
    if not data:
        raise ClaimError(_("“%(name)s” is empty.") % {"name": name})
    return data


def prepare(upload, *, kind: str | None = None) -> PreparedFile:  # type: ignore[no-untyped-def]
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
        return PreparedFile(data, content_type, kind_for(content_type, kind), name)
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
            image = Image.open(io.BytesIO(data))
            if image.format != pil_format:
                raise unreadable
            width, height = image.size
            if width * height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                raise _too_many_pixels(name, width, height, "photo")
            image.load()
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ClaimError(_("“%(name)s” has too many pixels to be a photo.") % {"name": name}) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise unreadable from exc

    # Only the pixels are written out: EXIF (GPS), XMP, comments and anything appended after the image end
    # are left behind.
    if stored_format == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    out = io.BytesIO()
    save_args = {"quality": 90} if stored_format in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=stored_format, **save_args)
    return out.getvalue(), _thumbnail(image)


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
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
        with av.open(io.BytesIO(data), format="mov") as source:
            video = source.streams.best("video")
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


def _remux(source, video, audio, target: Path, name: str,  # type: ignore[no-untyped-def]
           not_a_video: ClaimError) -> tuple[Image.Image, Fraction]:
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
        copies = {video.index: _copy_stream(out, video, name)}
        if audio is not None:
            copies[audio.index] = _copy_stream(out, audio, name)
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
            packet.stream = copies[packet.stream.index]
            out.mux(packet)
        if poster is None and tried:
            poster = _first_picture(video, None)  # whatever the decoder still holds
    if poster is None:
        raise not_a_video
    # What plays is what the packets span (a header may say less); the size cap bounds the copying before it.
    _check_length(name, end - (start or 0))
    return poster, end - (start or 0)


def _copy_stream(out, template, name: str):  # type: ignore[no-untyped-def]
    try:
        # opaque: the reader's codec description is enough for copying packets; no encoder is needed.
        stream = out.add_stream_from_template(template, opaque=True)
    except ValueError as exc:  # MP4 cannot carry this codec (ProRes, AMR, ...)
        raise ClaimError(_("“%(name)s” is recorded in a format we cannot store (%(codec)s). Please send it as MP4 "
                           "(H.264 or HEVC).") % {"name": name, "codec": template.codec_context.name}) from exc
    if template.codec_context.name == "hevc":
        stream.codec_context.codec_tag = "hvc1"  # the tag Safari needs to play HEVC from an MP4
    return stream


def _first_picture(video, packet) -> Image.Image | None:  # type: ignore[no-untyped-def]
    """The first decoded frame as an upright image, or None while the decoder has none yet (or only errors)."""
    try:
        frames = video.codec_context.decode(packet)
    except av.FFmpegError:
        return None
    for frame in frames:
        # The display matrix's angle is counter-clockwise, as Pillow's rotate.
        return frame.to_image().rotate(frame.rotation, expand=True) if frame.rotation else frame.to_image()
    return None
