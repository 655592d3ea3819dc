"""Evidence files: recognised by their bytes, images re-encoded without metadata, all refused cleanly.

Nothing here touches the database or the storage; `prepare` turns an upload into a checked, cleaned
`PreparedFile` (or raises ClaimError), and the services store it inside their transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .choices import EvidenceKind
from .errors import ClaimError

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
VIDEO_TYPES = {"video/mp4", "video/quicktime"}
DOCUMENT_TYPES = {"application/pdf"}
THUMBNAIL_SIZE = (320, 320)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


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
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    return None


@dataclasses.dataclass(frozen=True)
class PreparedFile:
    content: bytes
    content_type: str
    kind: str
    original_name: str
    thumbnail: bytes | None = None

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
    """Check and clean one uploaded file. `kind` is what the uploader says it is (photo, invoice, ...)."""
    name = getattr(upload, "name", None) or _("file")
    upload.seek(0)
    content_type = sniff(upload.read(32))
    if content_type == "image/heic":
        raise ClaimError(_("“%(name)s” is a HEIC photo, which we cannot read yet. Please send it as JPEG "
                           "(on iPhone: Settings → Camera → Formats → Most Compatible).") % {"name": name})
    if content_type in IMAGE_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_IMAGE_BYTES, name)
        content, thumbnail = _clean_image(data, IMAGE_TYPES[content_type], name)
        return PreparedFile(content, content_type, EvidenceKind.PHOTO if kind in (None, EvidenceKind.VIDEO) else kind,
                            name, thumbnail)
    if content_type in VIDEO_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_VIDEO_BYTES, name)
        return PreparedFile(data, content_type, EvidenceKind.VIDEO, name)
    if content_type in DOCUMENT_TYPES:
        data = _read_capped(upload, settings.EVIDENCE_MAX_DOCUMENT_BYTES, name)
        document_kind = kind if kind not in (None, EvidenceKind.PHOTO, EvidenceKind.VIDEO) else EvidenceKind.DOCUMENT
        return PreparedFile(data, content_type, document_kind, name)
    raise ClaimError(_("“%(name)s” is not a file we accept. Please send photos as JPEG, PNG or WebP, a video as "
                       "MP4 or MOV, and documents as PDF.") % {"name": name})


def _clean_image(data: bytes, pil_format: str, name: str) -> tuple[bytes, bytes]:
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
                raise ClaimError(_("“%(name)s” is %(w)d × %(h)d pixels, larger than we accept. Please send a smaller "
                                   "photo.") % {"name": name, "w": width, "h": height})
            image.load()
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ClaimError(_("“%(name)s” has too many pixels to be a photo.") % {"name": name}) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise unreadable from exc

    # Only the pixels are written out: EXIF (GPS), XMP, comments and anything appended after the image end
    # are left behind.
    if pil_format == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    out = io.BytesIO()
    save_args = {"quality": 90} if pil_format in ("JPEG", "WEBP") else {"optimize": True}
    image.save(out, format=pil_format, **save_args)

    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return out.getvalue(), thumb_out.getvalue()
