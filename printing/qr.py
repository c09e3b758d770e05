"""The QR code on acceptance, conditional and one-time notices (progress query / 扫码评价).

Encoded with segno (masks chosen per the standard, error correction M so a worn
thermal slip still scans) and drawn as a single filled path, one rectangle per
run of dark modules: reportlab's own QR widget draws a node per module and
cost most of a notice's render time.
"""

from __future__ import annotations

from functools import lru_cache

import segno
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

#: Modules of white around the code that readers (zbarimg, phone cameras) need.
QUIET_ZONE = 4


@lru_cache(maxsize=64)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of ``data`` (True = dark), cached: the A4 and slip of one
    case, and its reprints, share the same code."""
    code = segno.make_qr(data, error="m", boost_error=False)
    return tuple(tuple(bool(v) for v in row) for row in code.matrix)


class QrCode(Flowable):
    """A square QR code of ``size_mm`` including its quiet zone."""

    def __init__(self, data: str, size_mm: float) -> None:
        super().__init__()
        self.data = data
        self.matrix = qr_matrix(data)
        self.width = self.height = size_mm * mm

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        n = len(self.matrix)
        module = self.width / (n + 2 * QUIET_ZONE)
        canv = self.canv
        canv.saveState()
        canv.setFillColor(colors.black)
        path = canv.beginPath()
        for r, row in enumerate(self.matrix):
            y = self.height - (r + QUIET_ZONE + 1) * module
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    path.rect((start + QUIET_ZONE) * module, y, (c - start) * module, module)
                else:
                    c += 1
        canv.drawPath(path, stroke=0, fill=1)
        canv.restoreState()


def qr_flowable(data: str, size_mm: float) -> QrCode:
    return QrCode(data, size_mm)
