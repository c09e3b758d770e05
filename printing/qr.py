"""The QR code on acceptance, conditional and one-time notices (progress query / 扫码评价)."""

from __future__ import annotations

from hallapp.printing.fonts import FONT_NAME
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm


def qr_drawing(url: str, size_mm: float) -> Drawing:
    """A square drawing of ``size_mm`` holding the QR code of ``url``.

    Error correction M survives a worn thermal slip; the 4-module quiet zone
    (barBorder) is what readers (zbarimg, phone cameras) need around the code.
    """
    side = size_mm * mm
    widget = QrCodeWidget(url, barLevel="M", barBorder=4, barWidth=side, barHeight=side)
    drawing = Drawing(side, side)
    # The renderer starts from Helvetica unless told otherwise, which would put a
    # non-embedded font into the PDF although the code has no text at all.
    drawing.initialFontName = FONT_NAME  # type: ignore[attr-defined]
    drawing.add(widget)
    return drawing
