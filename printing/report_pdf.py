"""The monthly publication (公示) for the hall's notice board, and the
quarterly accountability list: A4 landscape PDFs of the report's tables.

The tables come from :mod:`hallapp.reports.tables`, so the PDF shows the same
numbers as the workbook and the CSV. Chinese is drawn with the embedded
TrueType font of :mod:`hallapp.printing.fonts` (never a CID font).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, cast

from hallapp.printing.fonts import FONT_NAME, draw_string, register_fonts, text_width
from hallapp.printing.layout import Paragraph
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import (  # type: ignore[attr-defined]
    _listWrapOn,  # how KeepTogether measures a list: the frame places it the same way
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
        "status": ParagraphStyle(
            "status",
            parent=base,
            fontSize=11,
            leading=16,
            alignment=TA_CENTER,
            textColor=colors.Color(0.65, 0.1, 0.1),
        ),
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


def _table(
    t: ReportTable, s: dict[str, ParagraphStyle], width: float
) -> tuple[Paragraph, Table, list[Flowable]]:
    """The table's heading, the table, and its notes."""
    data: list[list[Paragraph | str]] = [[Paragraph(_x(h), s["cell"]) for h in t.header]]
    data += [
        [Paragraph(_x(_cell(v)), s["num" if isinstance(v, int | float) else "cell"]) for v in row]
        for row in t.rows
    ]
    if not t.rows:
        data.append([Paragraph("本期无数据", s["cell"])] + [""] * (len(t.header) - 1))
    widths = _column_widths(t, s["cell"], width)
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
    notes: list[Flowable] = [Spacer(1, 2 * mm)]
    notes += [
        Paragraph(_x("注：" + note if i == 0 else note), s["note"])
        for i, note in enumerate(t.notes)
    ]
    return Paragraph(_x(t.title), s["h"]), table, notes


#: A cell's left and right padding together (reportlab's default, 6 pt each).
_PADDING = 12.0


def _column_widths(t: ReportTable, style: ParagraphStyle, width: float) -> list[float]:
    """Each column as wide as its longest text on one line (a heading may take
    two), measured in the font: a 评价 column of 非常不满意 or a 工号 never
    wraps. When the table needs more than the page, only the widest columns
    (names, reasons) give way, all down to one common width, and wrap; room
    to spare is shared in proportion."""
    font, size = style.fontName, style.fontSize

    def one_line(text: str) -> float:
        return text_width(text, font, size)

    need = []
    for i, h in enumerate(t.header):
        body = max((one_line(_cell(row[i])) for row in t.rows), default=0.0)
        # A heading wraps at a character: half of it (its longer half) a line.
        half = max(one_line(h[: (len(h) + 1) // 2]), one_line(h[(len(h) + 1) // 2 :]))
        need.append(max(body, half, 2 * size) + _PADDING)
    total = sum(need)
    if total <= width:
        return [w * width / total for w in need]
    # The common width L of the columns that give way: sum(min(need, L)) = width.
    ordered = sorted(need)
    rest = width
    for k, w in enumerate(ordered):
        share = rest / (len(ordered) - k)
        if w > share:
            return [min(n, share) for n in need]
        rest -= w
    return need  # not reached: total > width means some column exceeds its share


#: Room kept spare when judging whether a block fits, so that rounding in the
#: frame's spacing never pushes its last line (the seal's date) over the page.
_SLACK = 3.0


class _TableBlock(Flowable):
    """A table with its heading before and its notes (and, for the last table,
    the seal place and date) after, laid out so that neither end is left alone
    on a page: the heading goes with the first rows, and the last ``keep_rows``
    rows go with what follows. A notice board sheet that holds only 盖章处 and
    the date, or only a 合计 row, reads as a page of its own and can be
    posted (or lost) apart from the figures it certifies.

    The block never draws itself: like reportlab's ``KeepTogether`` it asks to
    be split, and :meth:`split` hands the frame the real flowables, with the
    table cut where both ends stay attached.
    """

    def __init__(
        self, head: list[Flowable], table: Table, tail: list[Flowable], keep_rows: int
    ) -> None:
        super().__init__()
        self.head, self.table, self.tail = head, table, tail
        self.keep_rows = keep_rows
        # The frame measures the room it offers after our space before; the
        # heading's is the one it will really leave (measured as at the top below).
        self.spaceBefore = (head or [table])[0].getSpaceBefore()

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return availWidth, 0xFFFFFF  # always split (see the class doc)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        canv = self.canv
        whole = [*self.head, self.table, *self.tail]
        if _listWrapOn(whole, availWidth, canv)[1] <= availHeight - _SLACK:
            return whole
        head_h = _listWrapOn(self.head, availWidth, canv)[1] if self.head else 0.0
        self.table.wrapOn(canv, availWidth, availHeight)
        heights: list[float] = list(self.table._rowHeights)  # type: ignore[attr-defined]
        keep = min(self.keep_rows, len(heights) - 1)  # the header row repeats anyway
        # The part on this page must fit here and must leave the last ``keep``
        # rows to go on with the tail; the rest is judged again on the next page.
        before_kept = sum(heights[: len(heights) - keep])
        room = min(availHeight - head_h - _SLACK, before_kept + 0.01)
        parts = self.table.split(availWidth, room) if room > 0 else []
        if len(parts) != 2:
            # Not even the header and one row fit with the heading (or the table
            # is too short to cut): start the whole block on the next page.
            return []
        rest = cast(Table, parts[1])  # Table.split cuts a Table into Tables
        return [*self.head, parts[0], _TableBlock([], rest, self.tail, self.keep_rows)]


def _footer(hall_name: str, title: str) -> Any:
    def draw(canv: Canvas, doc: Any) -> None:
        canv.saveState()
        canv.setFont(FONT_NAME, 7.5)
        canv.setFillColor(colors.Color(0.4, 0.4, 0.4))
        draw_string(canv, MARGIN, 7 * mm, f"{hall_name}　{title}")
        draw_string(canv, PAGE[0] - MARGIN, 7 * mm, f"第 {doc.page} 页", "right")
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
    status: tuple[str, ...] | list[str] = (),
) -> bytes:
    """The PDF: title with the hall's name and period, ``status`` (what the
    reader must know before the figures, e.g. that the month is still
    running), the tables with their notes, and the place for the seal with the
    date, never on a page of its own."""
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
    story += [Paragraph(_x(line), s["status"]) for line in status]
    if status:
        story.append(Spacer(1, 2 * mm))
    local = made_at.astimezone(HALL_TZ)
    seal: list[Flowable] = [
        Spacer(1, 10 * mm),
        Paragraph(_x(f"{seal_holder or hall_name}（盖章）"), s["right"]),
        Spacer(1, 16 * mm),  # room for the seal
        Paragraph(f"{local.year}年{local.month}月{local.day}日", s["right"]),
    ]
    for i, t in enumerate(tables):
        heading, table, notes = _table(t, s, width)
        last = i == len(tables) - 1
        # The seal certifies the figures: it goes with the last table's end
        # (its last two rows, e.g. the last window and 合计) and its notes.
        story.append(_TableBlock([heading], table, notes + seal if last else notes, keep_rows=2))
    if not tables:
        story += seal
    # Every sheet of a running month says so, even one posted on its own.
    footer = _footer(hall_name, f"{title}（{'；'.join(status)}）" if status else title)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
