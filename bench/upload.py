"""Upload path: accepting a 12-megapixel JPEG vs a bare Pillow open + save of the same file.

`claims.evidence.prepare` is what every upload goes through before it is stored: sniff the bytes, decode,
apply the EXIF orientation, re-encode without metadata (quality 90), make a 320 px thumbnail. The baseline
is what any image upload costs at the least: Pillow opens the same bytes and saves them as JPEG at the
same quality. Runs alternate (baseline, prepare, baseline, ...) in one process, after a warm-up of each,
and the medians are compared.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFilter

from .common import Log

WIDTH, HEIGHT = 4000, 3000  # 12 megapixels, a phone camera's 4:3 photo
GPS_IFD = 0x8825


def photo_12mp(seed: int = 12, orientation: int = 1) -> bytes:
    """A photo-like 12 MP JPEG (smooth shapes, texture and sensor noise, so it compresses like a photo) with
    camera EXIF including a GPS position, as phones write them."""
    rng = random.Random(seed)
    small = Image.new("RGB", (WIDTH // 8, HEIGHT // 8), (150, 140, 120))
    draw = ImageDraw.Draw(small)
    for _ in range(60):
        x, y = rng.randrange(small.width), rng.randrange(small.height)
        r = rng.randrange(10, 120)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(30, 230) for _ in range(3)))
    image = small.filter(ImageFilter.GaussianBlur(6)).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((WIDTH, HEIGHT), 40).convert("RGB")
    image = Image.blend(image, noise, 0.25)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "BenchPhone 12"  # Model
    exif[0x0112] = orientation  # Orientation
    exif[0x0132] = "2026:11:23 10:00:00"  # DateTime
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.5)
    gps[3], gps[4] = "E", (13.0, 24.0, 36.2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def _baseline(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.save(io.BytesIO(), format="JPEG", quality=90)


def _accept(data: bytes) -> None:
    from claims.evidence import prepare

    prepare(SimpleUploadedFile("IMG_0001.jpg", data, content_type="image/jpeg"), kind="photo")


def _check(data: bytes) -> dict[str, Any]:
    from claims.evidence import prepare

    prepared = prepare(SimpleUploadedFile("IMG_0001.jpg", data, content_type="image/jpeg"), kind="photo")
    cleaned = Image.open(io.BytesIO(prepared.content))
    thumb = Image.open(io.BytesIO(prepared.thumbnail or b""))
    return {"output_bytes": prepared.size, "output_size": list(cleaned.size), "thumbnail_size": list(thumb.size),
            "gps_removed": GPS_IFD not in cleaned.getexif() and not cleaned.getexif().get_ifd(GPS_IFD)}


def _time(function, data: bytes) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    function(data)
    return time.perf_counter() - started


def measure(data: bytes, repeats: int) -> dict[str, Any]:
    _baseline(data)
    _accept(data)
    base, accept = [], []
    for _ in range(repeats):
        base.append(_time(_baseline, data))
        accept.append(_time(_accept, data))
    base_ms, accept_ms = statistics.median(base) * 1000, statistics.median(accept) * 1000
    return {"baseline_ms": base_ms, "prepare_ms": accept_ms, "ratio": accept_ms / base_ms,
            "baseline_min_ms": min(base) * 1000, "prepare_min_ms": min(accept) * 1000, "repeats": repeats}


def run(*, repeats: int, goal: float, log: Log) -> dict[str, Any]:
    upright = photo_12mp()
    result = {"input_bytes": len(upright), "pixels": f"{WIDTH} x {HEIGHT}", **measure(upright, repeats),
              **_check(upright), "goal_ratio": goal}
    result["met"] = result["ratio"] <= goal
    log(f"upload: 12 MP JPEG ({len(upright) / 1e6:.1f} MB): prepare {result['prepare_ms']:.0f} ms vs Pillow "
        f"open+save {result['baseline_ms']:.0f} ms: ratio {result['ratio']:.2f}")
    rotated = measure(photo_12mp(orientation=6), repeats)
    result["rotated"] = rotated
    log(f"upload: same photo taken upright (EXIF orientation 6, prepare turns it): ratio {rotated['ratio']:.2f}")
    return result
