"""Render a document to PDF bytes: A4 pages, or an 80 mm roll slip as long as its content.

``render_pdf(doc, "a4")`` / ``render_pdf(doc, "slip")`` is the one entry point;
the UI hands the bytes to :func:`hallapp.printing.printer.print_pdf`. The same
content renders to the same bytes (reportlab's invariant mode), so a reprint
differs from the original only by its 补打 mark. :func:`render_checked` also
tells which characters no installed font has (printed as □), for the warning
before printing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hallapp.printing import layout
from hallapp.printing.fonts import (
    FONT_NAME,
    collect_unprintable,
    draw_string,
    register_fonts,
    text_width,
    unprintable_message,
)
from hallapp.printing.layout import (
    A4_MARGIN_BOTTOM,
    A4_MARGIN_TOP,
    A4_MARGIN_X,
    GREY,
    RED,
    SLIP_MARGIN_BOTTOM,
    SLIP_MARGIN_TOP,
    SLIP_MARGIN_X,
    SLIP_WIDTH,
    RenderError,
    Size,
    cn_datetime,
)
from reportlab import rl_config
from reportlab.lib.pagesizes import A4 as A4_PAGE
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, KeepTogether, PageTemplate

from hallapp.documents import DutyCard, Notice

log = logging.getLogger(__name__)

# Streams are zlib-compressed already; ASCII85 on top only makes the file bigger
# and costs time on every render (reportlab enables it by default).
rl_config.useA85 = 0

__all__ = [
    "MAX_SLIP_HEIGHT",
    "SLIP_WIDTH",
    "RenderError",
    "RenderedPdf",
    "render_checked",
    "render_pdf",
    "warm_up",
]

#: A slip longer than this continues on a second slip (roll printers and CUPS
#: custom sizes both cope with far less than the PDF limit of 5 m).
MAX_SLIP_HEIGHT = 1200 * mm
# Measuring rounds a little differently from laying out; a few points of slack
# keep the last line from spilling onto a second slip.
_SLIP_SLACK = 3 * mm


def render_pdf(
    doc: Notice | DutyCard, size: Literal["a4", "slip"] = "a4", *, font_path: str | None = None
) -> bytes:
    """The PDF of ``doc`` in ``size``.

    ``font_path`` is config ``printing.font_path``; it only matters for the first
    render of the process, which registers the font. Raises
    :class:`~hallapp.printing.fonts.FontError` without a usable Chinese font and
    :class:`RenderError` for content that cannot be laid out.
    """
    layout.metrics(size)  # validates size with a Chinese message
    register_fonts(font_path)
    if size == "a4":
        return _build(doc, size, A4_PAGE, (A4_MARGIN_X, A4_MARGIN_TOP, A4_MARGIN_BOTTOM))
    story: list[Flowable] | None = layout.build_story(doc, "slip")
    assert story is not None
    height = _measure_slip(story)
    for _ in range(3):
        # The measured story is laid out as it is (paragraphs parsed once); a
        # retry after a mis-measure starts from a fresh one.
        pdf, pages = _build_counted(
            doc,
            size,
            (SLIP_WIDTH, height),
            (SLIP_MARGIN_X, SLIP_MARGIN_TOP, SLIP_MARGIN_BOTTOM),
            story,
        )
        story = None
        if pages == 1 or height >= MAX_SLIP_HEIGHT:
            return pdf
        log.warning("slip measured %.1f mm but overflowed; growing it", height / mm)
        height = min(MAX_SLIP_HEIGHT, height + 15 * mm)
    return pdf


@dataclass(frozen=True)
class RenderedPdf:
    """A document's PDF and what of it could not be printed."""

    pdf: bytes
    #: Characters no installed font has, in order of appearance; the PDF shows □.
    unprintable: str = ""

    @property
    def warning(self) -> str:
        """The Chinese warning for the clerk ("以下字符无法打印：…"), empty when all printed."""
        return unprintable_message(self.unprintable) if self.unprintable else ""


def render_checked(
    doc: Notice | DutyCard, size: Literal["a4", "slip"] = "a4", *, font_path: str | None = None
) -> RenderedPdf:
    """:func:`render_pdf`, telling also the characters that could not be printed."""
    with collect_unprintable() as missing:
        pdf = render_pdf(doc, size, font_path=font_path)
    if missing:
        what = doc.doc_no if isinstance(doc, Notice) else f"{doc.name} {doc.window_code}"
        log.warning(
            "%s (%s): no installed font has %s; printed as %s",
            what,
            size,
            " ".join(f"{c} U+{ord(c):04X}" for c in missing),
            "□",
        )
    return RenderedPdf(pdf, "".join(missing))


def warm_up(font_path: str | None = None) -> None:
    """Pay the one-off costs (font registration, reportlab's and segno's first use) now.

    The window client's document process (hallapp.ui.docworker) runs this when
    it starts, after sign-in, so the first notice a clerk previews comes out as
    fast as the others. Raises FontError like
    :func:`render_pdf`, which is also the earliest moment to tell the user.
    """
    from hallapp.documents import DocumentType, sample

    render_pdf(sample(DocumentType.ACCEPTANCE), "slip", font_path=font_path)


def _measure_slip(story: list[Flowable]) -> float:
    width = SLIP_WIDTH - 2 * SLIP_MARGIN_X
    # Some flowables measure against a canvas; a scratch one will do.
    scratch = Canvas(io.BytesIO(), initialFontName=FONT_NAME)  # type: ignore[arg-type]
    height = _stack_height(story, width, scratch)
    height += SLIP_MARGIN_TOP + SLIP_MARGIN_BOTTOM + _SLIP_SLACK
    return float(min(height, MAX_SLIP_HEIGHT))


def _stack_height(story: list[Flowable], width: float, canv: Canvas) -> float:
    total = 0.0
    for i, flowable in enumerate(story):
        if isinstance(flowable, KeepTogether):
            # KeepTogether reports a huge height on purpose (to force a split);
            # what it holds is what takes room.
            h = _stack_height(list(flowable._content), width, canv)  # type: ignore[attr-defined]
        else:
            _, h = flowable.wrapOn(canv, width, MAX_SLIP_HEIGHT)
        before = flowable.getSpaceBefore() if i else 0.0
        total += h + before + flowable.getSpaceAfter()
    return total


def _build(
    doc: Notice | DutyCard,
    size: Size,
    pagesize: tuple[float, float],
    margins: tuple[float, float, float],
) -> bytes:
    return _build_counted(doc, size, pagesize, margins)[0]


def _build_counted(
    doc: Notice | DutyCard,
    size: Size,
    pagesize: tuple[float, float],
    margins: tuple[float, float, float],
    story: list[Flowable] | None = None,
) -> tuple[bytes, int]:
    margin_x, margin_top, margin_bottom = margins
    width, height = pagesize
    buf = io.BytesIO()
    title = doc.doc_type.heading
    subject = doc.doc_no if isinstance(doc, Notice) else f"{doc.name} {doc.window_code}"
    template = BaseDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=margin_x,
        rightMargin=margin_x,
        topMargin=margin_top,
        bottomMargin=margin_bottom,
        title=f"{title} {subject}",
        author=doc.department_name,
        subject=subject,
        creator="HallApp",
        invariant=True,
        initialFontName=FONT_NAME,
        lang="zh-CN",
    )
    frame = Frame(
        margin_x,
        margin_bottom,
        width - 2 * margin_x,
        height - margin_top - margin_bottom,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    template.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    canvasmaker = _decorated_canvas(doc, size)
    if story is None:
        story = layout.build_story(doc, size)
    template.build(story, canvasmaker=canvasmaker)
    return buf.getvalue(), template.page


def _decorated_canvas(doc: Notice | DutyCard, size: Size) -> Callable[..., Canvas]:
    """A canvas that draws page numbers and the 补打 mark once the page count is known."""

    class DecoratedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                _decorate(self, doc, size, number, total)
                super().showPage()
            super().save()

    return DecoratedCanvas


def _decorate(canv: Canvas, doc: Notice | DutyCard, size: Size, number: int, total: int) -> None:
    width, height = canv._pagesize  # type: ignore[attr-defined]
    canv.saveState()
    if size == "a4" and isinstance(doc, DutyCard):
        # A poster for the counter: no page numbers, but a reprint is still marked.
        if doc.reprint_at is not None:
            _reprint_stamp(canv, width - A4_MARGIN_X, height - 5 * mm, doc)
    elif size == "a4":
        canv.setFont(FONT_NAME, 8.5)
        canv.setFillColor(GREY)
        y = A4_MARGIN_BOTTOM - 9 * mm
        draw_string(canv, width / 2, y, f"第 {number} 页  共 {total} 页", "centre")
        if isinstance(doc, Notice):
            draw_string(canv, A4_MARGIN_X, y, doc.doc_no)
            draw_string(canv, width - A4_MARGIN_X, y, f"办件编号 {doc.case_no}", "right")
        if doc.reprint_at is not None:
            _reprint_stamp(canv, width - A4_MARGIN_X, height - 5 * mm, doc)
    elif total > 1:
        canv.setFont(FONT_NAME, 7)
        canv.setFillColor(GREY)
        draw_string(canv, width / 2, 3 * mm, f"第 {number} 张  共 {total} 张", "centre")
    canv.restoreState()


def _reprint_stamp(canv: Canvas, right: float, top: float, doc: Notice | DutyCard) -> None:
    assert doc.reprint_at is not None
    when = f"补打时间：{cn_datetime(doc.reprint_at)}"
    w = max(text_width(when, FONT_NAME, 7.5) + 6 * mm, 30 * mm)
    h = 12.5 * mm
    x, y = right - w, top - h
    canv.setStrokeColor(RED)
    canv.setFillColor(RED)
    canv.setLineWidth(1)
    canv.roundRect(x, y, w, h, 1.5 * mm, stroke=1, fill=0)
    canv.setFont(FONT_NAME, 13)
    draw_string(canv, x + w / 2, y + h - 6 * mm, "补 打", "centre")
    canv.setFont(FONT_NAME, 7.5)
    draw_string(canv, x + w / 2, y + 2.2 * mm, when, "centre")
