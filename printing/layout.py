"""What goes on the page: the story (reportlab flowables) of each document type.

One shared set of building blocks (title, number line, information table,
materials, first responder and QR, seal area) and one story function per
document type; the two sizes (A4, 80 mm slip) differ in the :class:`Metrics`
they are built with and in how tables are laid out. Page decorations (header,
page numbers, the 补打 mark) are drawn by :mod:`hallapp.printing.render`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, cast
from xml.sax.saxutils import escape

from hallapp.printing.fonts import FONT_NAME, fallback_markup
from hallapp.printing.qr import qr_flowable
from reportlab.lib import colors
from reportlab.lib import textsplit as _rl_textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import paragraph as _rl_paragraph
from reportlab.platypus.flowables import HRFlowable

from hallapp.documents import (
    ACCEPTANCE_BASIS,
    ONE_TIME_BASIS,
    ApplicantKind,
    DocumentType,
    DutyCard,
    MaterialLine,
    Notice,
    clause,
    join_sentences,
    sentence,
)
from hallapp.workdays import HALL_TZ

Size = Literal["a4", "slip"]

A4_MARGIN_X = 22 * mm
A4_MARGIN_TOP = 16 * mm
A4_MARGIN_BOTTOM = 18 * mm
SLIP_WIDTH = 80 * mm
SLIP_MARGIN_X = 4 * mm
SLIP_MARGIN_TOP = 4 * mm
SLIP_MARGIN_BOTTOM = 8 * mm

INK = colors.black
GREY = colors.Color(0.35, 0.35, 0.35)
RULE = colors.Color(0.55, 0.55, 0.55)
RED = colors.Color(0.78, 0.08, 0.08)

PROVISIONAL_NOTE = (
    "注：标“暂定”的日期所在年度的法定节假日安排尚未公布，"
    "按周末和法定节日推算，以正式公布的安排为准。"
)


# reportlab's CJK line breaking lets full-width punctuation start a line (its
# list lacks ，；：？！” and the closing brackets), which no Chinese document
# does. Both wrappers look the list up at call time, so extending it is enough.
_NO_LINE_START = "，；：？！”’》〉』」）〕］｝·…—"
for _module in (_rl_textsplit, _rl_paragraph):
    _known: str = getattr(_module, "ALL_CANNOT_START")  # noqa: B009 - untyped in the stubs
    _module.ALL_CANNOT_START = _known + "".join(  # type: ignore[attr-defined]
        c for c in _NO_LINE_START if c not in _known
    )


# Parsed paragraph text, shared between renders: a notice is mostly the same
# sentences and labels every time, and reportlab parses each paragraph's markup
# with an HTML parser (a sixth of a warm render). Keyed by the style object
# itself (kept alive here, so never confused with a later one at the same id).
_PARSED_MAX = 4096
_parsed: dict[tuple[str, ParagraphStyle], tuple[str, list[Any]]] = {}


class Paragraph(_rl_paragraph.Paragraph):
    """reportlab's Paragraph, parsing a given text in a given style only once.

    The fragments are only read when lines are broken and drawn (CJK lines
    are cloned from them), so one parsed list serves every render. Characters
    the document font lacks are set in a fallback font
    (:func:`~hallapp.printing.fonts.fallback_markup`): every paragraph of the
    documents is one of these.
    """

    def __init__(  # noqa: PLR0917 - reportlab's own signature, used by its split()
        self,
        text: str | None,
        style: ParagraphStyle,
        bulletText: str | None = None,
        frags: list[Any] | None = None,
        caseSensitive: int = 1,
        encoding: str = "utf8",
    ) -> None:
        if frags is not None or text is None or bulletText is not None or caseSensitive != 1:
            # reportlab's own calls (a paragraph split across pages) and anything unusual.
            # text is None for a split part: reportlab's stubs do not say so.
            if frags is None and text is not None and style.fontName == FONT_NAME:
                text = fallback_markup(text)
            super().__init__(cast(str, text), style, bulletText, frags, caseSensitive, encoding)
            return
        if style.fontName == FONT_NAME:
            # Before the parse cache: which characters are missing is told on every render.
            text = fallback_markup(text)
        key = (text, style)
        found = _parsed.get(key)
        if found is not None:
            cleaned, parsed = found
            super().__init__(cleaned, style, frags=parsed)
            return
        super().__init__(text, style)
        if self.style is style and not self.bulletText:
            if len(_parsed) >= _PARSED_MAX:
                _parsed.clear()
            _parsed[key] = (self.text, self.frags)


class RenderError(ValueError):
    """The content cannot be laid out (e.g. an unreadable photo); message in Chinese."""


@dataclass(frozen=True)
class Metrics:
    size: Size
    width: float  # usable frame width
    body: float
    leading: float
    small: float
    title: float
    subtitle: float
    qr_mm: float
    seal_space: float

    @property
    def slip(self) -> bool:
        return self.size == "slip"


A4 = Metrics("a4", 210 * mm - 2 * A4_MARGIN_X, 12, 18.5, 9.5, 22, 15, 25, 14 * mm)
SLIP = Metrics("slip", SLIP_WIDTH - 2 * SLIP_MARGIN_X, 9, 13, 7.5, 14, 10, 36, 12 * mm)


def metrics(size: Size) -> Metrics:
    if size == "a4":
        return A4
    if size == "slip":
        return SLIP
    raise ValueError(f"纸张规格 {size!r} 无效，可选 a4 或 slip")


# --- text helpers ---------------------------------------------------------------


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def cn_datetime(t: datetime) -> str:
    # Stored times are UTC; the applicant reads the hall's clock. A naive
    # time (hand-made samples) is taken as already local.
    if t.tzinfo is not None:
        t = t.astimezone(HALL_TZ)
    return f"{cn_date(t.date())} {t:%H:%M}"


def _dated(d: date | None, provisional: bool) -> str:
    if d is None:
        return ""
    return cn_date(d) + ("（暂定）" if provisional else "")


def _x(text: str) -> str:
    """Escape content for reportlab's paragraph markup."""
    return escape(text)


class Styles:
    """Paragraph styles for one size; Chinese text wraps at any character (CJK)."""

    def __init__(self, m: Metrics) -> None:
        base = ParagraphStyle(
            "body",
            fontName=FONT_NAME,
            fontSize=m.body,
            leading=m.leading,
            wordWrap="CJK",
            textColor=INK,
        )
        self.m = m
        self.body = ParagraphStyle(
            "bodyIndent", parent=base, firstLineIndent=2 * m.body, spaceAfter=m.leading * 0.25
        )
        self.plain = base
        self.salutation = ParagraphStyle("salutation", parent=base, spaceBefore=m.leading * 0.3)
        self.small = ParagraphStyle(
            "small", parent=base, fontSize=m.small, leading=m.small * 1.45, textColor=GREY
        )
        self.cell = ParagraphStyle(
            "cell", parent=base, fontSize=m.small + 1, leading=(m.small + 1) * 1.4
        )
        self.cell_label = ParagraphStyle(
            "cellLabel", parent=self.cell, textColor=GREY, fontSize=m.small, leading=m.small * 1.4
        )
        self.cell_center = ParagraphStyle("cellCenter", parent=self.cell, alignment=TA_CENTER)
        self.head = ParagraphStyle("head", parent=self.cell, alignment=TA_CENTER)
        self.section = ParagraphStyle(
            "section",
            parent=base,
            fontSize=m.body + (1 if m.slip else 1.5),
            leading=m.leading * 1.1,
            spaceBefore=m.leading * 0.5,
            spaceAfter=m.leading * 0.2,
        )
        self.center = ParagraphStyle("center", parent=base, alignment=TA_CENTER)
        self.small_center = ParagraphStyle("smallCenter", parent=self.small, alignment=TA_CENTER)
        self.right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
        self.title = ParagraphStyle(
            "title",
            parent=base,
            fontSize=m.title,
            leading=m.title * 1.35,
            alignment=TA_CENTER,
        )
        self.subtitle = ParagraphStyle(
            "subtitle",
            parent=base,
            fontSize=m.subtitle,
            leading=m.subtitle * 1.4,
            alignment=TA_CENTER,
        )
        self.number = ParagraphStyle(
            "number",
            parent=base,
            fontSize=m.body - (0 if m.slip else 1),
            leading=m.leading,
            alignment=TA_CENTER,
            spaceBefore=m.leading * 0.2,
        )
        self.hanging = ParagraphStyle(
            "hanging",
            parent=base,
            leftIndent=1.6 * m.body,
            firstLineIndent=-1.6 * m.body,
            spaceAfter=m.leading * 0.15,
        )
        self.note = ParagraphStyle(
            "note", parent=self.small, leftIndent=1.6 * m.body, textColor=INK, alignment=TA_LEFT
        )


class Heavy(Flowable):
    """A paragraph drawn with fill and stroke: the fonts here have no bold face."""

    def __init__(self, paragraph: Paragraph, weight: float = 0.45) -> None:
        super().__init__()
        self.paragraph = paragraph
        self.weight = weight

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        w, h = self.paragraph.wrap(availWidth, availHeight)
        self.width, self.height = w, h
        return w, h

    def getSpaceBefore(self) -> float:
        return float(self.paragraph.getSpaceBefore())

    def getSpaceAfter(self) -> float:
        return float(self.paragraph.getSpaceAfter())

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        parts = self.paragraph.split(availWidth, availHeight)
        return [Heavy(p, self.weight) for p in parts if isinstance(p, Paragraph)]

    def draw(self) -> None:
        canv = self.canv
        canv.saveState()
        canv.setLineWidth(self.weight)
        canv.setStrokeColor(INK)
        # Text render mode 2 = fill then stroke; it is part of the graphics state.
        canv.addLiteral("2 Tr")
        self.paragraph.drawOn(canv, 0, 0)
        canv.addLiteral("0 Tr")
        canv.restoreState()


# --- building blocks ----------------------------------------------------------------


def _heading(doc: Notice | DutyCard, s: Styles, department_line: bool) -> list[Flowable]:
    out: list[Flowable] = []
    if department_line:
        out.append(Heavy(Paragraph(_x(doc.department_name), s.subtitle), 0.25))
    title = doc.doc_type.heading
    # Letter-space short titles the way official documents are set.
    spaced = title if len(title) > 6 or s.m.slip else " ".join(title)
    out.append(Heavy(Paragraph(_x(spaced), s.title)))
    return out


def _number_line(notice: Notice, s: Styles) -> list[Flowable]:
    out: list[Flowable] = [Paragraph(_x(notice.doc_no), s.number)]
    out.append(
        HRFlowable(
            width="100%",
            thickness=1.2 if not s.m.slip else 0.8,
            color=RED if not s.m.slip else INK,
            spaceBefore=s.m.leading * 0.2,
            spaceAfter=s.m.leading * 0.4,
        )
    )
    return out


def _section(title: str, s: Styles, room: float) -> list[Flowable]:
    """A section heading that never ends a page: without ``room`` left below
    it, it starts the next page. (keepWithNext would move a whole long table.)"""
    heading = Paragraph(_x(title), s.section)
    return [heading] if s.m.slip else [CondPageBreak(room), heading]


def _info_rows(notice: Notice) -> list[tuple[str, str, bool]]:
    """(label, value, wide): wide values take a whole row of the A4 table."""
    a = notice.applicant
    rows: list[tuple[str, str, bool]] = [
        ("申请人", a.name, True),
        ("办件编号", notice.case_no, False),
        (a.id_label, a.id_masked, False),
    ]
    if a.agent_name:
        agent = "经办人" if a.kind is ApplicantKind.ORGANISATION else "代理人"
        rows.append((agent, a.agent_name, False))
    if a.phone:
        rows.append(("联系电话", a.phone, False))
    code = f"（事项编码 {notice.item_code}）" if notice.item_code else ""
    item = clause(notice.item_name) + code
    rows.append(("申请事项", item, True))
    rows.append(("收件时间", cn_datetime(notice.received_at), False))
    issued_label = {
        DocumentType.ACCEPTANCE: "受理日期",
        DocumentType.CONDITIONAL: "受理日期",
        DocumentType.ONE_TIME: "告知日期",
        DocumentType.REJECTION: "决定日期",
        DocumentType.REFERRAL: "告知日期",
        DocumentType.HAND_OVER: "出件日期",
    }[notice.doc_type]
    rows.append((issued_label, cn_date(notice.issued_on), False))
    if notice.counted_from and notice.counted_from != notice.issued_on:
        note = f"（{notice.counted_from_note}）" if notice.counted_from_note else ""
        rows.append(("期限起算日", f"{cn_date(notice.counted_from)}{note}", True))
    if notice.promised_date:
        promised = _dated(notice.promised_date, notice.promised_provisional)
        rows.append(("承诺办结日期", promised, False))
    if notice.legal_date:
        rows.append(("法定办结日期", _dated(notice.legal_date, notice.legal_provisional), False))
    if notice.supplement_date:
        supplement = _dated(notice.supplement_date, notice.supplement_provisional)
        rows.append(("容缺补齐期限", supplement, False))
    if notice.correction_deadline:
        rows.append(("补正期限", cn_date(notice.correction_deadline), False))
        # The 办结时限 a 补正 notice tells with the shortfalls (seed 000 §六:
        # 补正的全部手续和材料以及办结时限), beside the 补正期限.
        limits = [
            f"{label}{days}"
            for label, days in (("法定", notice.legal_days), ("承诺", notice.promised_days))
            if days is not None
        ]
        if limits:
            rows.append(("办理时限", "、".join(limits) + "个工作日", False))
    if notice.window_code:
        where = "出件窗口" if notice.doc_type is DocumentType.HAND_OVER else "受理窗口"
        rows.append((where, f"{notice.hall_name} {notice.window_code} 窗口", True))
    return rows


def _ts(commands: Sequence[tuple[Any, ...]]) -> TableStyle:
    # Every table names the font: a cell's default font is Helvetica, which
    # would put a non-embedded font into the PDF even when no cell uses it.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_NAME), *commands])


def _grid_style(extra: Sequence[tuple[Any, ...]] = ()) -> TableStyle:
    return _ts(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, RULE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            *extra,
        ]
    )


def _info_block(notice: Notice, s: Styles) -> list[Flowable]:
    rows = _info_rows(notice)
    if s.m.slip:
        rule = HRFlowable(
            width="100%", thickness=0.5, color=RULE, dash=(2, 2), spaceBefore=3, spaceAfter=3
        )
        return [rule, *(Paragraph(f"{_x(a)}：{_x(v)}", s.plain) for a, v, _ in rows)]
    # Two label/value pairs per row; wide values span the row.
    label_w = 30 * mm
    value_w = (s.m.width - 2 * label_w) / 2
    data: list[list[Flowable | str]] = []
    spans: list[tuple[Any, ...]] = []
    pending: list[tuple[str, str]] = []

    def flush() -> None:
        if pending:
            cells: list[Flowable | str] = []
            for label, value in pending:
                cells += [Paragraph(_x(label), s.cell_label), Paragraph(_x(value), s.cell)]
            if len(pending) == 1:
                spans.append(("SPAN", (1, len(data)), (3, len(data))))
                cells += ["", ""]
            data.append(cells)
            pending.clear()

    for label, value, wide in rows:
        if wide:
            flush()
            spans.append(("SPAN", (1, len(data)), (3, len(data))))
            data.append([Paragraph(_x(label), s.cell_label), Paragraph(_x(value), s.cell), "", ""])
        else:
            pending.append((label, value))
            if len(pending) == 2:
                flush()
    flush()
    shade = colors.Color(0.95, 0.95, 0.95)
    backgrounds: list[tuple[Any, ...]] = [("BACKGROUND", (0, 0), (0, -1), shade)]
    spanned = {span[1][1] for span in spans}
    backgrounds += [
        ("BACKGROUND", (2, row), (2, row), shade) for row in range(len(data)) if row not in spanned
    ]
    table = Table(
        data,
        colWidths=[label_w, value_w, label_w, value_w],
        style=_grid_style([*backgrounds, *spans]),
        hAlign="LEFT",
    )
    return [Spacer(1, s.m.leading * 0.6), table]


def _material_desc(m: MaterialLine) -> str:
    parts = [m.form] if m.form else []
    if m.copies:
        parts.append(f"{m.copies}份")
    return "".join(parts) if len(parts) < 2 else f"{parts[0]}{parts[1]}"


def _materials_block(
    heading: str,
    lines: Sequence[MaterialLine],
    s: Styles,
    *,
    problems: bool = False,
) -> list[Flowable]:
    if not lines:
        return []
    out: list[Flowable] = _section(heading, s, 28 * mm)
    if s.m.slip:
        for i, m in enumerate(lines, 1):
            desc = _material_desc(m)
            head = f"{i}. {_x(m.name)}" + (f"（{_x(desc)}）" if desc else "")
            out.append(Paragraph(head, s.hanging))
            detail = "；".join(p for p in ((m.status if problems else ""), m.note) if p)
            if detail:
                out.append(Paragraph(_x(detail), s.note))
        return out
    last = "问题及补正要求" if problems else "备注"
    header: list[Flowable] = [
        Paragraph(t, s.head) for t in ("序号", "材料名称", "形式", "份数", last)
    ]
    data: list[list[Flowable]] = [header]
    for i, m in enumerate(lines, 1):
        detail = "：".join(p for p in ((m.status if problems else ""), m.note) if p)
        data.append(
            [
                Paragraph(str(i), s.cell_center),
                Paragraph(_x(m.name), s.cell),
                Paragraph(_x(m.form), s.cell_center),
                Paragraph(str(m.copies) if m.copies else "", s.cell_center),
                Paragraph(_x(detail), s.cell),
            ]
        )
    fixed = [11 * mm, 0.0, 18 * mm, 11 * mm, (62 if problems else 34) * mm]
    fixed[1] = s.m.width - sum(fixed)
    table = Table(
        data,
        colWidths=fixed,
        repeatRows=1,
        style=_grid_style([("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93))]),
        hAlign="LEFT",
    )
    out.append(table)
    return out


def _responder_lines(notice: Notice) -> list[str]:
    r = notice.first_responder
    who = r.name + (f"（{r.title}）" if r.title else "")
    lines = [f"首办负责人：{who}"]
    if r.staff_no:
        lines.append(f"工号：{r.staff_no}")
    if r.phone:
        lines.append(f"联系电话：{r.phone}")
    lines.append(f"投诉监督电话：{notice.complaint_hotline}")
    return lines


def _responder_block(notice: Notice, s: Styles) -> list[Flowable]:
    """Slip only: the first responder's contact and the QR code, one under another."""
    out: list[Flowable] = [Spacer(1, s.m.leading * 0.3)]
    out += [Paragraph(_x(line), s.plain) for line in _responder_lines(notice)]
    if notice.qr_url:
        qr = qr_flowable(notice.qr_url, s.m.qr_mm)
        qr.hAlign = "CENTER"
        out += [Spacer(1, 2 * mm), qr, Paragraph(QR_CAPTION, s.small_center)]
    return out


QR_CAPTION = "扫码查询进度、评价服务"


def _seal_width(department: str, s: Styles) -> float:
    return float(min(s.m.width, max(58 * mm, (len(department) + 2) * s.m.body * 1.05)))


def _seal_block(department: str, on: date, s: Styles) -> Table:
    """落款: the agency's name and the date, with room above for the seal (印章)."""
    width = _seal_width(department, s)
    return Table(
        [
            [Paragraph("（印章）", s.small_center)],
            [Paragraph(_x(department), s.center)],
            [Paragraph(_x(cn_date(on)), s.center)],
        ],
        colWidths=[width],
        rowHeights=[s.m.seal_space, None, None],
        style=_ts(
            [
                ("VALIGN", (0, 0), (0, 0), "BOTTOM"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        ),
        hAlign="RIGHT",
    )


def _closing(notice: Notice, s: Styles, lines: Sequence[str] = ()) -> list[Flowable]:
    seal = _seal_block(notice.department_name, notice.issued_on, s)
    if s.m.slip:
        block: list[Flowable] = [*_responder_block(notice, s), Spacer(1, 2 * mm), seal]
    else:
        # One band at the foot: QR code, the first responder's contact, the seal.
        contact = [Paragraph(_x(line), s.cell) for line in _responder_lines(notice)]
        seal_w = _seal_width(notice.department_name, s)
        cells: list[Any] = [contact, seal]
        widths = [s.m.width - seal_w, seal_w]
        if notice.qr_url:
            qr_w = s.m.qr_mm * mm + 14 * mm
            qr_col = [qr_flowable(notice.qr_url, s.m.qr_mm), Paragraph(QR_CAPTION, s.small_center)]
            cells = [qr_col, *cells]
            widths = [qr_w, widths[0] - qr_w, seal_w]
        band = Table(
            [cells],
            colWidths=widths,
            style=_ts(
                [
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("LEFTPADDING", (-2, 0), (-2, 0), 4 * mm if notice.qr_url else 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ]
            ),
            hAlign="LEFT",
        )
        block = [Spacer(1, s.m.leading * 0.6), band]
    notes = list(lines)
    provisional = (
        notice.promised_provisional or notice.legal_provisional or notice.supplement_provisional
    )
    if provisional:
        notes.append(PROVISIONAL_NOTE)
    tail: list[Flowable] = [Spacer(1, s.m.leading * 0.4)]
    tail += [Paragraph(_x(n), s.small) for n in notes]
    if s.m.slip:
        tail.append(Spacer(1, 2 * mm))
        tail.append(Paragraph("－－－－ 请妥善保管本凭证 －－－－", s.small_center))
    # The seal stays with the responder's contact: never alone on a new page.
    return [KeepTogether(block), *tail]


def _para(text: str, s: Styles) -> Paragraph:
    return Paragraph(_x(text), s.body)


def _lead(notice: Notice, s: Styles) -> list[Flowable]:
    out: list[Flowable] = []
    if notice.reprint_at is not None and s.m.slip:
        out.append(
            Paragraph(
                f"【补打】补打时间：{_x(cn_datetime(notice.reprint_at))}",
                ParagraphStyle("reprint", parent=s.center, textColor=RED),
            )
        )
    out.append(Paragraph(_x(notice.hall_name), s.small_center))
    out += _heading(notice, s, department_line=True)
    out += _number_line(notice, s)
    out.append(Paragraph(f"{_x(notice.applicant.name)}：", s.salutation))
    return out


# --- one story per type ------------------------------------------------------------------


def _acceptance(n: Notice, s: Styles) -> list[Flowable]:
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}提交的{clause(n.item_name)}申请，经审查，"
            f"申请材料齐全、符合法定形式。根据{ACCEPTANCE_BASIS}的规定，本机关决定予以受理。",
            s,
        )
    )
    story.append(_para(_deadline_sentence(n), s))
    story += _info_block(n, s)
    story += _members_block(n, s)
    story += _materials_block("已收申请材料", n.materials_received, s)
    story += _remarks(n, s)
    story += _closing(n, s, ["本通知书一式两份，申请人和受理机关各执一份。"])
    return story


def _members_block(n: Notice, s: Styles, *, results: bool = False) -> list[Flowable]:
    """一件事: every member item with its department and limit (并联审批), or its result."""
    if not n.members:
        return []
    heading = (
        "各部门办理结果" if results else f"并联审批事项（共{len(n.members)}项，各部门同步办理）"
    )
    out: list[Flowable] = _section(heading, s, 28 * mm)
    if s.m.slip:
        for i, m in enumerate(n.members, 1):
            out.append(Paragraph(f"{i}. {_x(m.item_name)}（{_x(m.department)}）", s.hanging))
            detail = (
                "：".join(p for p in (m.result, m.note) if p)
                if results
                else f"{m.limit_days}个工作日，{cn_date(m.deadline)}前"
                if m.deadline
                else ""
            )
            if detail:
                out.append(Paragraph(_x(detail), s.note))
        return out
    last = ("办理结果", "说明") if results else ("时限", "办结期限")
    header: list[Flowable] = [Paragraph(t, s.head) for t in ("序号", "事项", "承办部门", *last)]
    data: list[list[Flowable]] = [header]
    for i, m in enumerate(n.members, 1):
        tail = (
            (m.result, m.note)
            if results
            else (f"{m.limit_days}个工作日", cn_date(m.deadline) if m.deadline else "")
        )
        data.append(
            [
                Paragraph(str(i), s.cell_center),
                Paragraph(_x(m.item_name), s.cell),
                Paragraph(_x(m.department), s.cell),
                Paragraph(_x(tail[0]), s.cell_center),
                Paragraph(_x(tail[1]), s.cell if results else s.cell_center),
            ]
        )
    fixed = [11 * mm, 0.0, 40 * mm, 20 * mm, (48 if results else 34) * mm]
    fixed[1] = s.m.width - sum(fixed)
    out.append(
        Table(
            data,
            colWidths=fixed,
            repeatRows=1,
            style=_grid_style([("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93))]),
            hAlign="LEFT",
        )
    )
    return out


def _hand_over(n: Notice, s: Styles) -> list[Flowable]:
    """一窗出件: the results of every member department, handed out at once."""
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}提交的{clause(n.item_name)}申请，"
            "由本窗口统一受理、抄告各相关部门同步审批，现已全部办结，办理结果一次交付如下。",
            s,
        )
    )
    if n.outcome:
        story.append(_para(f"办理结果：{sentence(n.outcome)}", s))
    story += _info_block(n, s)
    story += _members_block(n, s, results=True)
    if any(m.result == "不予许可" for m in n.members):
        story.append(
            _para(
                "对不予许可的决定不服的，可以依法申请行政复议或者提起行政诉讼；"
                "各部门的不予许可决定书随本告知书一并交付。",
                s,
            )
        )
    story += _remarks(n, s)
    story += _closing(
        n, s, ["申请人已领取上述全部办理结果。本告知书一式两份，申请人和窗口各执一份。"]
    )
    return story


def _deadline_sentence(n: Notice) -> str:
    parts = []
    if n.legal_days is not None:
        parts.append(f"本事项法定办理时限为{n.legal_days}个工作日")
    if n.promised_days is not None:
        parts.append(f"承诺办理时限为{n.promised_days}个工作日")
    if n.counted_from and n.counted_from != n.issued_on:
        parts.append(f"自{cn_date(n.counted_from)}起计算")
    if n.promised_date:
        parts.append(f"承诺办结日期为{_dated(n.promised_date, n.promised_provisional)}")
    where = f"{n.hall_name}{n.window_code}窗口" if n.window_code else n.hall_name
    # Only a notice that carries the code may send the applicant to scan it
    # (printing.qr_url_template unset: no code is printed).
    scan = "，或扫描本通知书上的二维码查询办理进度、评价服务" if n.qr_url else ""
    return join_sentences("，".join(parts), f"请凭本通知书到{where}领取办理结果{scan}")


def _conditional(n: Notice, s: Styles) -> list[Flowable]:
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}提交的{clause(n.item_name)}申请，经审查，"
            "主要申请材料齐全、符合法定形式，下列次要材料暂缺。根据容缺受理（先办后补）制度"
            "及你（单位）作出的书面承诺，本机关决定予以容缺受理。",
            s,
        )
    )
    if n.supplement_date:
        story.append(
            _para(
                f"请于{_dated(n.supplement_date, n.supplement_provisional)}前补齐下列容缺材料。"
                "逾期未补齐或补齐的材料与承诺不符的，本机关将终止办理。",
                s,
            )
        )
    story.append(_para(_deadline_sentence(n), s))
    story += _info_block(n, s)
    story += _materials_block("容缺材料（待补齐）", n.materials_owed, s)
    story += _materials_block("已收申请材料", n.materials_received, s)
    if n.commitment:
        story += _section("申请人承诺", s, 50 * mm)
        story.append(_boxed([_para(sentence(n.commitment), s), _signature_line(s)], s))
    story += _remarks(n, s)
    story += _closing(n, s, ["本通知书一式两份，申请人和受理机关各执一份。"])
    return story


def _signature_line(s: Styles) -> Paragraph:
    return Paragraph(
        "申请人（签字/盖章）：＿＿＿＿＿＿＿＿　日期：＿＿＿＿＿＿",
        ParagraphStyle("sign", parent=s.plain, spaceBefore=s.m.leading * 0.6, alignment=TA_RIGHT),
    )


def _boxed(content: list[Flowable], s: Styles) -> Table:
    return Table(
        [[content]],
        colWidths=[s.m.width],
        style=_ts(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 6 if not s.m.slip else 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6 if not s.m.slip else 3),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        ),
        hAlign="LEFT",
    )


def _one_time(n: Notice, s: Styles) -> list[Flowable]:
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}提交的{clause(n.item_name)}申请，经审查，"
            f"申请材料不齐全或者不符合法定形式。根据{ONE_TIME_BASIS}的规定，"
            f"现一次性告知你（单位）需要补正的全部材料（共{len(n.missing_materials)}项）如下。",
            s,
        )
    )
    story += _info_block(n, s)
    story += _members_block(n, s)
    story += _materials_block(
        f"需补正的全部材料（共{len(n.missing_materials)}项）",
        n.missing_materials,
        s,
        problems=True,
    )
    limit = ""
    if n.correction_deadline:
        # Intake counts the 补正 limit in working days (行政许可法 art. 82); say so.
        days = f"（{n.correction_days}个工作日内）" if n.correction_days else ""
        limit = f"请于{cn_date(n.correction_deadline)}前{days}补正上述全部材料，"
    else:
        limit = "请补正上述全部材料后，"
    story.append(Spacer(1, s.m.leading * 0.3))
    story.append(
        _para(
            f"{limit}到{n.hall_name}{n.window_code}窗口重新提交。补正后的材料齐全、"
            "符合法定形式的，本机关将予以受理。逾期未补正的，视为撤回本次申请，"
            "你（单位）可以重新提出申请。",
            s,
        )
    )
    story.append(
        _para(
            "本告知书已一次性列明需要补正的全部内容，本机关不再要求补正本告知书未列明的其他材料。",
            s,
        )
    )
    story += _remarks(n, s)
    story += _closing(n, s, ["本告知书一式两份，申请人和受理机关各执一份。"])
    return story


def _rejection(n: Notice, s: Styles) -> list[Flowable]:
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}提出的{clause(n.item_name)}申请，经审查，"
            "本机关决定不予受理。理由如下：",
            s,
        )
    )
    for i, reason in enumerate(n.reasons, 1):
        story.append(Paragraph(f"{i}. {_x(sentence(reason))}", s.hanging))
    if clause(n.legal_basis):
        story.append(_para(sentence(f"依据：{clause(n.legal_basis)}"), s))
    if n.remedies:
        # The remedies are one sentence in two halves ("…复议；或者…诉讼。").
        story.append(_para(sentence("".join(n.remedies)), s))
    story += _info_block(n, s)
    story += _remarks(n, s)
    story += _closing(n, s, ["本决定书一式两份，申请人和作出决定的机关各执一份。"])
    return story


def _referral(n: Notice, s: Styles) -> list[Flowable]:
    story = _lead(n, s)
    story.append(
        _para(
            f"你（单位）于{cn_datetime(n.received_at)}申请的{clause(n.item_name)}事项，"
            "经核实，不属于本部门职责范围。",
            s,
        )
    )
    for reason in n.reasons:
        if sentence(reason):
            story.append(_para(sentence(reason), s))
    target = n.referral
    if target:
        basis = f"根据{clause(n.legal_basis)}的规定，" if clause(n.legal_basis) else ""
        story.append(
            _para(f"{basis}请你（单位）向{clause(target.department)}申请办理。联系方式如下：", s)
        )
        rows = [("有权部门", target.department)]
        if target.person:
            rows.append(("联系人", target.person))
        if target.phone:
            rows.append(("联系电话", target.phone))
        if target.address:
            rows.append(("办理地点", target.address))
        if s.m.slip:
            story += [Paragraph(f"{_x(a)}：{_x(b)}", s.plain) for a, b in rows]
        else:
            label_w = 28 * mm
            story.append(
                Table(
                    [[Paragraph(a, s.cell_label), Paragraph(_x(b), s.cell)] for a, b in rows],
                    colWidths=[label_w, s.m.width - label_w],
                    style=_grid_style(
                        [("BACKGROUND", (0, 0), (0, -1), colors.Color(0.95, 0.95, 0.95))]
                    ),
                    hAlign="LEFT",
                )
            )
    story += _info_block(n, s)
    story += _remarks(n, s)
    story += _closing(n, s, ["本告知书一式两份，申请人和告知机关各执一份。"])
    return story


def _remarks(n: Notice, s: Styles) -> list[Flowable]:
    if not n.remarks:
        return []
    if not sentence(n.remarks):
        return []
    return [*_section("备注", s, 20 * mm), _para(sentence(n.remarks), s)]


# --- the duty card ----------------------------------------------------------------------


def _photo(card: DutyCard, w: float, h: float, s: Styles) -> Flowable:
    if card.photo:
        try:
            reader = ImageReader(io.BytesIO(card.photo))
            iw, ih = reader.getSize()
        except Exception as exc:
            raise RenderError(
                f"{card.name} 的照片无法读取（{exc}），请重新上传 JPG 或 PNG 照片"
            ) from exc
        scale = min(w / iw, h / ih)
        img = Image(io.BytesIO(card.photo), width=iw * scale, height=ih * scale)
        frame_content: Flowable = img
    else:
        frame_content = Paragraph("照片", s.small_center)
    return Table(
        [[frame_content]],
        colWidths=[w],
        rowHeights=[h],
        style=_ts(
            [
                ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )


def _duty_card(card: DutyCard, s: Styles) -> list[Flowable]:
    m = s.m
    # A4 is a poster for the counter: read from a step away, so everything is larger.
    scale = 1.0 if m.slip else 1.45
    story: list[Flowable] = []
    if card.reprint_at is not None and m.slip:
        story.append(
            Paragraph(
                f"【补打】补打时间：{_x(cn_datetime(card.reprint_at))}",
                ParagraphStyle("reprint", parent=s.center, textColor=RED),
            )
        )
    hall = ParagraphStyle(
        "cardHall", parent=s.subtitle, fontSize=m.subtitle * (1.2 if not m.slip else 0.9)
    )
    hall.leading = hall.fontSize * 1.4
    title = ParagraphStyle(
        "cardTitle", parent=s.title, fontSize=m.title * (1.45 if not m.slip else 1.0)
    )
    title.leading = title.fontSize * 1.35
    story.append(Paragraph(_x(card.hall_name), hall))
    story.append(Heavy(Paragraph(_x(card.doc_type.heading), title), 0.6 if not m.slip else 0.45))
    story.append(
        HRFlowable(
            width="100%",
            thickness=2 if not m.slip else 1.2,
            color=RED,
            spaceBefore=4,
            spaceAfter=m.leading * (1.4 if not m.slip else 1),
        )
    )
    rows = [
        ("姓　　名", card.name),
        ("职　　务", card.title),
        ("工　　号", card.staff_no),
        ("所属部门", card.department_name),
        ("服务窗口", f"{card.window_code} 窗口" if card.window_code else ""),
        ("联系电话", card.phone),
    ]
    if card.on_duty_since:
        rows.append(("当班时间", f"{cn_datetime(card.on_duty_since)} 起"))
    value_size = m.body + 1 if m.slip else 17
    big = ParagraphStyle(
        "cardValue", parent=s.plain, fontSize=value_size, leading=value_size * 1.45
    )
    name_style = ParagraphStyle(
        "cardName", parent=big, fontSize=value_size * 1.5, leading=value_size * 1.5 * 1.3
    )
    label = ParagraphStyle("cardLabel", parent=big, textColor=GREY)
    info: list[list[Flowable]] = []
    for a, b in rows:
        if b:
            value: Flowable = Paragraph(_x(b), big)
            if a.startswith("姓") and not m.slip:
                value = Heavy(Paragraph(_x(b), name_style), 0.5)
            info.append([Paragraph(_x(a), label), value])
    if m.slip:
        pw, ph = 26 * mm, 35 * mm
        photo = _photo(card, pw, ph, s)
        photo.hAlign = "CENTER"
        story += [photo, Spacer(1, 3 * mm)]
        story.append(
            Table(
                info,
                colWidths=[18 * mm, m.width - 18 * mm],
                style=_ts(
                    [
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
                    ]
                ),
                hAlign="LEFT",
            )
        )
    else:
        pw, ph = 48 * mm, 64 * mm  # a 二寸 photo's proportions
        gap = 10 * mm
        label_w = 34 * mm
        info_table = Table(
            info,
            colWidths=[label_w, m.width - pw - gap - label_w],
            style=_ts(
                [
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 2),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            ),
        )
        story.append(
            Table(
                [[_photo(card, pw, ph, s), info_table]],
                colWidths=[pw + gap, m.width - pw - gap],
                style=_ts(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ]
                ),
                hAlign="LEFT",
            )
        )
    section = ParagraphStyle(
        "cardSection",
        parent=s.section,
        fontSize=s.section.fontSize * scale,
        leading=s.section.leading * scale,
        spaceBefore=s.section.spaceBefore * scale,
        spaceAfter=s.section.spaceAfter * scale,
    )
    hanging = ParagraphStyle(
        "cardItem",
        parent=s.hanging,
        fontSize=m.body * scale * (0.95 if not m.slip else 1),
        leading=m.leading * scale * (0.95 if not m.slip else 1),
        leftIndent=s.hanging.leftIndent * scale,
        firstLineIndent=s.hanging.firstLineIndent * scale,
        spaceAfter=s.hanging.spaceAfter * scale,
    )
    if card.commitments:
        story.append(Spacer(1, m.leading * 0.8 * scale))
        story.append(Heavy(Paragraph("服务承诺", section), 0.4))
        story += [Paragraph(f"{i}. {_x(c)}", hanging) for i, c in enumerate(card.commitments, 1)]
    story.append(Spacer(1, m.leading * scale))
    note = ParagraphStyle(
        "cardNote",
        parent=s.center if not m.slip else s.small_center,
        fontSize=(m.body * 1.2) if not m.slip else m.small,
        leading=(m.body * 1.2 * 1.5) if not m.slip else m.small * 1.45,
    )
    story.append(Paragraph("办事遇到问题，请找当班首办负责人，首办负责人负责到底。", note))
    if card.complaint_hotline:
        hotline = ParagraphStyle(
            "hotline", parent=section, alignment=TA_CENTER, spaceBefore=m.leading * 0.3
        )
        story.append(Heavy(Paragraph(f"投诉监督电话：{_x(card.complaint_hotline)}", hotline), 0.4))
    return story


_BUILDERS: dict[DocumentType, Callable[[Notice, Styles], list[Flowable]]] = {
    DocumentType.ACCEPTANCE: _acceptance,
    DocumentType.CONDITIONAL: _conditional,
    DocumentType.ONE_TIME: _one_time,
    DocumentType.REJECTION: _rejection,
    DocumentType.REFERRAL: _referral,
    DocumentType.HAND_OVER: _hand_over,
}

_STYLES: dict[Size, Styles] = {}


def styles(size: Size) -> Styles:
    # Styles are immutable once built; reuse them across renders (cheap warm path).
    if size not in _STYLES:
        _STYLES[size] = Styles(metrics(size))
    return _STYLES[size]


def build_story(doc: Notice | DutyCard, size: Size) -> list[Flowable]:
    """The flowables of one document in one size (fonts must be registered)."""
    s = styles(size)
    if isinstance(doc, DutyCard):
        return _duty_card(doc, s)
    story = _BUILDERS[doc.doc_type](doc, s)
    return story if s.m.slip else _seal_with_body(story, s)


def _seal_with_body(story: list[Flowable], s: Styles) -> list[Flowable]:
    """The last piece of the body (a table with its heading, a paragraph)
    goes with the seal band: a page may not hold the seal, the date and the
    first responder alone, easily parted from the decision they sign."""
    at = max((i for i, f in enumerate(story) if isinstance(f, KeepTogether)), default=-1)
    if at <= 0:
        return story
    start = at - 1
    while start > 0 and isinstance(story[start], Spacer | CondPageBreak):
        start -= 1
    heading = story[start - 1] if start > 0 else None
    if isinstance(heading, Paragraph) and heading.style.name == s.section.name:
        start -= 1  # the table's heading too, so it does not end a page
    closing = story[at]
    assert isinstance(closing, KeepTogether)
    body = [f for f in story[start:at] if not isinstance(f, CondPageBreak)]
    # KeepTogether keeps what it holds in _content (ReportLab has no public reader).
    held: list[Flowable] = list(getattr(closing, "_content", [closing]))
    return [*story[:start], KeepTogether([*body, *held]), *story[at + 1:]]
