"""Real phone files made on the spot: HEIC photos (pillow-heif's encoder) and small videos (PyAV), with the
metadata phones write into them, so the tests check what an iPhone really sends."""

from __future__ import annotations

import io

import av
import pillow_heif
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

# Where the photo or video was taken, as an iPhone writes it (ISO 6709), and the phone that took it.
LOCATION = "+52.5200+013.4050+034.000/"
PHONE_METADATA = {
    "location": LOCATION, "com.apple.quicktime.location.ISO6709": LOCATION,
    "make": "Apple", "model": "iPhone 15 Pro", "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 15 Pro", "creation_time": "2026-03-01T10:00:00Z",
}


def video_codec() -> str:
    """An H.264 encoder if this build of FFmpeg has one, else MPEG-4 part 2 (every build has it)."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def video_bytes(*, seconds: float = 1, fps: int = 10, size: tuple[int, int] = (64, 48), container: str = "mp4",
                metadata: dict[str, str] | None = None, rotation: int | None = None, sound: bool = False,
                codec: str | None = None) -> bytes:
    """A short clip of coloured frames; with `metadata` written where iPhones write it (QuickTime mdta keys)."""
    buffer = io.BytesIO()
    options = {"movflags": "use_metadata_tags"} if metadata else {}
    with av.open(buffer, "w", format=container, options=options) as out:
        out.metadata.update(metadata or {})
        stream = out.add_stream(codec or video_codec(), rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.metadata.update(metadata or {})
        if rotation is not None:
            stream.set_display_rotation(rotation)
        audio = out.add_stream("aac", rate=44100, layout="mono") if sound else None
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, ((index * 20) % 256, 80, 160)))
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        if audio is not None:
            for start in range(0, round(44100 * seconds), 1024):
                silence = av.AudioFrame(format="fltp", layout="mono", samples=1024)
                silence.planes[0].update(bytes(silence.planes[0].buffer_size))
                silence.sample_rate, silence.pts = 44100, start
                out.mux(audio.encode(silence))
            out.mux(audio.encode())
    return buffer.getvalue()


def video(name: str = "clip.mp4", **kwargs) -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    content_type = "video/quicktime" if kwargs.get("container") == "mov" else "video/mp4"
    return SimpleUploadedFile(name, video_bytes(**kwargs), content_type=content_type)


def heic_bytes(*, size: tuple[int, int] = (40, 30), orientation: int | None = None, gps: bool = True) -> bytes:
    """A HEIC photo as an iPhone saves it: EXIF with the camera and the GPS position, and XMP."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((0, 0, 255), (0, 0, size[0] // 4, size[1] // 4))  # a blue corner, to see which way is up
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15 Pro"  # Make, Model
    if orientation:
        exif[0x0112] = orientation
    if gps:
        position = exif.get_ifd(0x8825)
        position[1], position[2] = "N", (52.0, 31.0, 12.0)
        position[3], position[4] = "E", (13.0, 24.0, 18.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>HomeAddressXMP</rdf:Description></x:xmpmeta>'
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=80, exif=exif.tobytes(), xmp=xmp)
    return buffer.getvalue()


def heic(name: str = "IMG_0001.HEIC", **kwargs) -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    return SimpleUploadedFile(name, heic_bytes(**kwargs), content_type="image/heic")
