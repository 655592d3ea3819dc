"""Small generated files for the demo: photos of devices with a visible flaw, one-page PDFs, valid IMEIs."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw


def imei(body14: str) -> str:
    """A 15-digit IMEI with a valid Luhn check digit."""
    total = 0
    for index, char in enumerate(body14):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return body14 + str((10 - total % 10) % 10)


def photo(name: str, caption: str, *, device: str = "phone", tint: tuple[int, int, int] = (40, 40, 48),
          flaw: str = "crack") -> SimpleUploadedFile:
    """A small JPEG that looks like a photo of a device with a visible flaw and a caption."""
    image = Image.new("RGB", (480, 360), (214, 208, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, 480, 360), fill=(160, 128, 96))  # the table
    if device == "laptop":
        draw.rounded_rectangle((90, 60, 390, 230), radius=8, fill=tint)
        screen = (104, 74, 376, 216)
        draw.rectangle(screen, fill=(70, 96, 140))
        draw.polygon([(60, 232), (420, 232), (450, 262), (30, 262)], fill=(150, 150, 156))
    elif device == "headphones":
        draw.arc((140, 40, 340, 240), start=180, end=360, fill=tint, width=16)
        draw.rounded_rectangle((118, 130, 178, 230), radius=20, fill=tint)
        draw.rounded_rectangle((302, 130, 362, 230), radius=20, fill=tint)
        screen = (302, 130, 362, 230)  # the right ear cup
    else:
        draw.rounded_rectangle((180, 30, 300, 270), radius=16, fill=tint)
        screen = (190, 50, 290, 250)
        draw.rectangle(screen, fill=(20, 24, 32))
    left, top, right, bottom = screen
    width, height = right - left, bottom - top
    if flaw == "crack":
        points = [(left + width * fx, top + height * fy) for fx, fy in ((0.1, 0.1), (0.5, 0.4), (0.4, 0.6), (0.8, 0.9))]
        draw.line(points, fill=(235, 235, 235), width=2)
        draw.line([points[1], (left + width * 0.9, top + height * 0.35)], fill=(235, 235, 235), width=2)
    elif flaw == "dent":
        draw.ellipse((right - 30, top - 6, right + 6, top + 26), outline=(250, 210, 60), width=4)
    elif flaw == "lines":
        for x in range(left + 8, right - 4, 12):
            draw.line([(x, top + 2), (x, bottom - 2)], fill=(60, 200, 90), width=2)
    elif flaw == "liquid":
        draw.ellipse((left + width * 0.3, top + height * 0.6, left + width * 0.7, top + height * 0.85),
                     fill=(90, 140, 60))
    draw.rectangle((0, 330, 480, 360), fill=(255, 255, 255))
    draw.text((10, 338), caption[:70], fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def pdf(name: str, title: str, lines: list[str]) -> SimpleUploadedFile:
    """A one-page PDF (Helvetica, ASCII text) such as a proof of shipment or an inspection report."""

    def escape(text: str) -> str:
        return text.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = ["BT", "/F1 16 Tf", "56 780 Td", f"({escape(title)}) Tj", "/F1 11 Tf", "0 -30 Td"]
    for line in lines:
        text += [f"({escape(line)}) Tj", "0 -16 Td"]
    text.append("ET")
    stream = "\n".join(text).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return SimpleUploadedFile(name, bytes(out), content_type="application/pdf")
