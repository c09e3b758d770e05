"""The monthly publication (公示) for the hall's notice board, and the
quarterly accountability list: A4 landscape PDFs of the report's tables.

The tables come from :mod:`hallapp.reports.tables`, so the PDF shows the same
numbers as the workbook and the CSV. Chinese is drawn with the embedded
TrueType font of :mod:`hallapp.printing.fonts` (never a CID font).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from hallapp.printing.fonts import FONT_NAME, register_fonts
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from hallapp.reports.tables import Cell, ReportTable
from hallapp.workdays import HALL_TZ

PAGE = landscape(A4)
MARGIN = 12 * mm
GRID = colors.Color(0.6, 0.6, 0.6)
HEAD = colors.Color(0.9, 0.92, 0.95)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT_NAME, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=24, alignment=TA_CENTER),
        "sub": ParagraphStyle("sub", parent=base, fontSize=10, leading=14, alignment=TA_CENTER),
        "h": ParagraphStyle("h", parent=base, fontSize=12, leading=17, spaceBefore=8, spaceAfter=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "num": ParagraphStyle("num", parent=base, fontSize=7.5, leading=9.5, alignment=TA_RIGHT),
        "note": ParagraphStyle(
            "note", parent=base, fontSize=7.5, leading=10.5, textColor=colors.Color(0.3, 0.3, 0.3)
        ),
        "body": base,
        "right": ParagraphStyle(
            "right", parent=base, fontSize=10.5, leading=16, alignment=TA_RIGHT
        ),
    }


def _cell(value: Cell) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(t: ReportTable, s: dict[str, ParagraphStyle], width: float) -> list[Any]:
    data: list[list[Paragraph | str]] = [[Paragraph(_x(h), s["cell"]) for h in t.header]]
    data += [
        [Paragraph(_x(_cell(v)), s["num" if isinstance(v, int | float) else "cell"]) for v in row]
        for row in t.rows
    ]
    if not t.rows:
        data.append([Paragraph("本期无数据", s["cell"])] + [""] * (len(t.header) - 1))
    # Each column's share of the width follows its longest text (within bounds),
    # so names get room and counts do not.
    weights = []
    for i, h in enumerate(t.header):
        longest = max([len(h) / 2, *(len(_cell(row[i])) for row in t.rows)], default=2)
        weights.append(min(max(longest, 3.0), 16.0))
    widths = [width * w / sum(weights) for w in weights]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                # A cell's default font is Helvetica (not embedded): name ours.
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    out: list[Any] = [Paragraph(_x(t.title), s["h"]), table, Spacer(1, 2 * mm)]
    out += [
        Paragraph(_x("注：" + note if i == 0 else note), s["note"])
        for i, note in enumerate(t.notes)
    ]
    return out


def _footer(hall_name: str, title: str) -> Any:
    def draw(canv: Canvas, doc: Any) -> None:
        canv.saveState()
        canv.setFont(FONT_NAME, 7.5)
        canv.setFillColor(colors.Color(0.4, 0.4, 0.4))
        canv.drawString(MARGIN, 7 * mm, f"{hall_name}　{title}")
        canv.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"第 {doc.page} 页")
        canv.restoreState()

    return draw


def render_report_pdf(
    tables: list[ReportTable],
    *,
    hall_name: str,
    title: str,
    subtitle: str,
    made_at: datetime,
    font_path: str | None = None,
    seal_holder: str = "",
) -> bytes:
    """The PDF: title with the hall's name and period, the tables with their
    notes, and the place for the seal with the date."""
    register_fonts(font_path)
    s = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=14 * mm,
        title=f"{hall_name}{title}",
        author=hall_name,
        invariant=1,
        initialFontName=FONT_NAME,  # else every page names Helvetica (not embedded)
    )
    width = PAGE[0] - 2 * MARGIN
    story: list[Any] = [
        Paragraph(_x(f"{hall_name}{title}"), s["title"]),
        Paragraph(_x(subtitle), s["sub"]),
        Spacer(1, 4 * mm),
    ]
    for t in tables:
        story += _table(t, s, width)
    local = made_at.astimezone(HALL_TZ)
    seal = [
        Spacer(1, 10 * mm),
        Paragraph(_x(f"{seal_holder or hall_name}（盖章）"), s["right"]),
        Spacer(1, 16 * mm),  # room for the seal
        Paragraph(f"{local.year}年{local.month}月{local.day}日", s["right"]),
    ]
    story.append(KeepTogether(seal))
    footer = _footer(hall_name, title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
