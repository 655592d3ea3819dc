"""The printable return slip (PDF, A4) the buyer puts in the return parcel: the return number (RMA) as a Code 128
barcode the seller's warehouse scans, a QR code with the return and claim numbers, the address, who pays the postage,
the ship deadline and the claimed items. Written in the order's language, the buyer's.

What the codes carry is decided here alone (`barcode_value`, `qr_payload`), so a test can build the same barcode."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from . import presenters

if TYPE_CHECKING:
    from .models import ReturnAuthorization

# A font with the letters of every market's language (Slovak "ľ", "č", Portuguese "ç", German "ß"): Debian's DejaVu
# where it is installed, else Bitstream Vera, which reportlab ships (Western European letters only).
_REPORTLAB_FONTS = Path(cast(str, __import__("reportlab").__file__)).parent / "fonts"  # an installed package's file
FONT_FILES = [
    ("Slip", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("Slip", str(_REPORTLAB_FONTS / "Vera.ttf")),
]
FONT_BOLD_FILES = [
    ("Slip-Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("Slip-Bold", str(_REPORTLAB_FONTS / "VeraBd.ttf")),
]
MARGIN = 18 * mm


def barcode_value(ret: ReturnAuthorization) -> str:
    """What the Code 128 barcode encodes: the return number, as the seller's warehouse looks it up."""
    return ret.rma_number


def qr_payload(ret: ReturnAuthorization) -> str:
    """What the QR code encodes: the return number and the claim number."""
    return f"RMA:{ret.rma_number}\nCLAIM:{ret.claim.number}"


def barcode(ret: ReturnAuthorization) -> code128.Code128:
    return code128.Code128(barcode_value(ret), barHeight=18 * mm, barWidth=0.42 * mm, humanReadable=True)


def _font(files: list[tuple[str, str]]) -> str:
    for name, path in files:
        if name in pdfmetrics.getRegisteredFontNames():
            return name
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(name, path))
            return name
    return "Helvetica"  # pragma: no cover - reportlab always ships Vera


def render(ret: ReturnAuthorization) -> bytes:
    """The slip of one return as PDF bytes."""
    claim = ret.claim
    with translation.override(claim.order.language or settings.LANGUAGE_CODE):
        return _draw(ret)


def _draw(ret: ReturnAuthorization) -> bytes:
    claim, order = ret.claim, ret.claim.order
    regular, bold = _font(FONT_FILES), _font(FONT_BOLD_FILES)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle(_("Return slip %(rma)s") % {"rma": ret.rma_number})
    pdf.setSubject(_("Claim %(number)s, order %(order)s") % {"number": claim.number, "order": order.number})
    width, height = A4
    y = height - MARGIN

    pdf.setFont(bold, 20)
    pdf.drawString(MARGIN, y - 20, _("Return slip"))
    pdf.setFont(regular, 10)
    pdf.drawString(MARGIN, y - 36, _("Put this slip in the parcel, on top of the item."))

    # The QR code at the top right: the return and the claim numbers.
    size = 34 * mm
    widget = qr.QrCodeWidget(qr_payload(ret), barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, width - MARGIN - size, y - size)

    # The return number, readable and as a Code 128 barcode.
    y -= 58
    pdf.setFont(regular, 10)
    pdf.drawString(MARGIN, y, _("Return number (RMA)"))
    pdf.setFont(bold, 22)
    pdf.drawString(MARGIN, y - 24, ret.rma_number)
    bars = barcode(ret)
    bars_y = y - 24 - 14 - 18 * mm  # under the number; its digits are printed under the bars
    bars.drawOn(pdf, MARGIN - bars.lquiet, bars_y)
    y = bars_y - 36

    facts = [
        (_("Send to"), ret.address or _("Ask the seller for the return address in a message on the claim page.")),
        (_("From"), order.delivery_address),
        (_("Claim"), f"{claim.number} · {_('Order %(number)s') % {'number': order.number}}"),
        (_("Postage"), presenters.postage_words(ret.postage_paid_by, to_buyer=True)),
    ]
    if claim.return_due_at is not None:
        facts.append((_("Send by"), presenters.return_moment(claim.return_due_at, claim)))
    items = [f"{item.quantity} × {item.order_item.title}"
             + (f" ({_('serial')} {item.order_item.serial_number})" if item.order_item.serial_number else "")
             for item in claim.items.select_related("order_item").order_by("pk")]
    facts.append((_("Items"), "\n".join(items)))
    label_width, text_width = 32 * mm, width - 2 * MARGIN - 32 * mm
    for label, text in facts:
        lines = [line for paragraph in text.splitlines() or [""]
                 for line in (simpleSplit(paragraph, regular, 11, text_width) or [""])]
        pdf.setFont(bold, 11)
        pdf.drawString(MARGIN, y, label)
        pdf.setFont(regular, 11)
        for line in lines:
            if y < MARGIN + 48:  # a long list of items goes on over the next page, above the footer
                pdf.showPage()
                pdf.setFont(regular, 11)
                y = height - MARGIN
            pdf.drawString(MARGIN + label_width, y, line)
            y -= 15
        y -= 8

    pdf.setFont(regular, 9)
    note = _("Once the parcel is sent, enter the carrier and the tracking number on the claim page: the seller is told "
             "and the deadline to send it stops.")
    footer_y = MARGIN + 12
    for line in simpleSplit(note, regular, 9, width - 2 * MARGIN):
        pdf.drawString(MARGIN, footer_y, line)
        footer_y -= 12
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
