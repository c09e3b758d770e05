"""The forms of seed 002's 代办 workflow on A4: 代办受理表, 督导代办情况记录表, 手续代办移交表.

Drawn from a form's stored content (hallapp.projects.forms), with the embedded
TrueType font of :mod:`hallapp.printing.fonts` (never a CID font). A reprint
(补打) is the same content with its mark and time.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from hallapp.printing.fonts import FONT_NAME, draw_string, register_fonts
from hallapp.printing.layout import Paragraph, cn_datetime
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, SimpleDocTemplate, Spacer, Table, TableStyle

MARGIN = 16 * mm
GRID = colors.Color(0.35, 0.35, 0.35)
HEAD = colors.Color(0.92, 0.93, 0.95)
RED = colors.Color(0.7, 0.1, 0.1)


def _x(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("b", fontName=FONT_NAME, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "hall": ParagraphStyle("hall", parent=base, fontSize=12, leading=16, alignment=TA_CENTER),
        "title": ParagraphStyle("t", parent=base, fontSize=19, leading=26, alignment=TA_CENTER),
        "no": ParagraphStyle("no", parent=base, fontSize=9.5, alignment=TA_RIGHT),
        "reprint": ParagraphStyle("r", parent=base, fontSize=9.5, textColor=RED),
        "key": ParagraphStyle("k", parent=base, fontSize=9.5, leading=13),
        "cell": ParagraphStyle("c", parent=base, fontSize=9, leading=12.5),
        "body": base,
        "sign": ParagraphStyle("s", parent=base, fontSize=10.5, leading=20),
    }


def _grid(data: list[list[Any]], widths: list[float], *, head_row: bool) -> Table:
    t = Table(data, colWidths=widths, repeatRows=1 if head_row else 0)
    style: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.6, GRID),
        # Plain-string cells (a spanned one) are drawn in the table's font:
        # never the non-embedded Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if head_row:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEAD))
    else:
        style += [("BACKGROUND", (0, 0), (0, -1), HEAD), ("BACKGROUND", (2, 0), (2, -1), HEAD)]
    t.setStyle(TableStyle(style))
    return t


def _header(c: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> Table:
    def p(v: object, style: str = "cell") -> Paragraph:
        return Paragraph(_x(v) if v not in (None, "") else "—", s[style])

    rows: list[list[Any]] = [
        [p("项目编号", "key"), p(c["project_no"]), p("受理日期", "key"), p(c["accepted_on"])],
        [p("项目名称", "key"), p(c["project_name"]), p("指挥长", "key"), p(c["leader"])],
        [
            p("投资方（企业）", "key"),
            p(c["investor"]),
            p("统一社会信用代码", "key"),
            p(c["investor_uscc"]),
        ],
        [p("企业联系人", "key"), p(c["contact"]), p("责任单位", "key"), p(c["lead_unit"])],
        [
            p("一级代办员", "key"),
            p(c["agent"]),
            p("二级代办员", "key"),
            p("；".join(c["second_agents"])),
        ],
        [p("代办事项", "key"), p(c["summary"]), "", ""],
    ]
    t = _grid(rows, [0.16 * width, 0.34 * width, 0.18 * width, 0.32 * width], head_row=False)
    t.setStyle(TableStyle([("SPAN", (1, 5), (3, 5))]))
    return t


def _nodes_intake(c: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> Table:
    head = ["序号", "审批事项（节点）", "责任单位", "责任人", "办理时限", "截止日期"]
    data: list[list[Any]] = [[Paragraph(h, s["key"]) for h in head]]
    for n in c["nodes"]:
        data.append(
            [
                Paragraph(_x(v), s["cell"])
                for v in (n["seq"], n["name"], n["unit"], n["person"], n["limit"], n["due"])
            ]
        )
    return _grid(data, [w * width for w in (0.07, 0.27, 0.2, 0.16, 0.13, 0.17)], head_row=True)


def _nodes_record(c: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> Table:
    head = ["序号", "审批事项", "责任单位 / 责任人", "截止日期", "督导代办情况", "办结日期", "状态"]
    data: list[list[Any]] = [[Paragraph(h, s["key"]) for h in head]]
    for n in c["nodes"]:
        lines = (
            "<br/>".join(
                _x(f"{st['on']} {st['kind']}：{st['note']}（{st['by']}）") for st in n["steps"]
            )
            or "—"
        )
        state = n["state"] + (f"，逾期{n['late_days']}个工作日" if n["late_days"] else "")
        data.append(
            [
                Paragraph(_x(n["seq"]), s["cell"]),
                Paragraph(_x(n["name"]), s["cell"]),
                Paragraph(_x(f"{n['unit']} / {n['person']}"), s["cell"]),
                Paragraph(_x(n["due"]), s["cell"]),
                Paragraph(lines, s["cell"]),
                Paragraph(_x(n["done"] or "—"), s["cell"]),
                Paragraph(_x(state), s["cell"]),
            ]
        )
    return _grid(
        data, [w * width for w in (0.06, 0.15, 0.16, 0.12, 0.29, 0.11, 0.11)], head_row=True
    )


def _nodes_handover(c: dict[str, Any], s: dict[str, ParagraphStyle], width: float) -> Table:
    head = ["序号", "已办结的审批手续", "办理单位", "办结日期", "移交批文 / 证照"]
    data: list[list[Any]] = [[Paragraph(h, s["key"]) for h in head]]
    for n in c["nodes"]:
        data.append(
            [
                Paragraph(_x(v), s["cell"])
                for v in (
                    n["seq"],
                    n["name"],
                    n["unit"],
                    n["done"],
                    f"{n['name']}批复（证照）及办理档案",
                )
            ]
        )
    return _grid(data, [w * width for w in (0.07, 0.3, 0.22, 0.16, 0.25)], head_row=True)


def _signatures(c: dict[str, Any], s: dict[str, ParagraphStyle]) -> list[Any]:
    form = c["form"]
    blank = "＿" * 8
    if form == "project_intake":
        lines = [
            f"企业委托人（签字）：{blank}　　联系电话：{blank}",
            f"代办员（签字）：{blank}　　受理日期：{_x(c['accepted_on'])}",
        ]
    elif form == "project_record":
        lines = [
            f"代办员（签字）：{blank}　　记录截至：{_x(c['as_of'])}",
            f"重点项目办审核（签字）：{blank}",
        ]
    else:
        lines = [
            "以上行政审批手续已全部办理完毕，代办档案已全部移交企业委托人。",
            f"移交人（代办员，签字）：{blank}　　接收人（企业委托人，签字）：{blank}",
            f"接收人：{_x(c['recipient'])}　联系电话：{_x(c['recipient_phone'])}　"
            f"移交日期：{_x(c['handed_on'])}",
        ]
    return [KeepTogether([Spacer(1, 6 * mm), *[Paragraph(t, s["sign"]) for t in lines]])]


def render_form_pdf(
    content: dict[str, Any], *, reprint_at: datetime | None = None, font_path: str | None = None
) -> bytes:
    """The A4 PDF of one issued form."""
    register_fonts(font_path)
    s = _styles()
    buf = io.BytesIO()
    title = str(content["title"])
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"{title} {content.get('doc_no', '')}",
        author=str(content["hall_name"]),
        invariant=1,
        initialFontName=FONT_NAME,
    )
    width = A4[0] - 2 * MARGIN
    story: list[Any] = []
    if reprint_at is not None:
        story.append(Paragraph(f"【补打】补打时间：{_x(cn_datetime(reprint_at))}", s["reprint"]))
    story += [
        Paragraph(_x(content["hall_name"]), s["hall"]),
        Paragraph(_x(title), s["title"]),
        Paragraph(_x(content.get("doc_no", "")), s["no"]),
        Spacer(1, 3 * mm),
        _header(content, s, width),
        Spacer(1, 4 * mm),
    ]
    build = {
        "project_intake": _nodes_intake,
        "project_record": _nodes_record,
        "project_handover": _nodes_handover,
    }[str(content["form"])]
    story.append(build(content, s, width))
    story += _signatures(content, s)

    def footer(canv: Canvas, d: Any) -> None:
        canv.saveState()
        canv.setFont(FONT_NAME, 8)
        canv.setFillColor(colors.Color(0.4, 0.4, 0.4))
        line = f"{content['hall_name']}　{title}　{content['project_no']}"
        draw_string(canv, MARGIN, 9 * mm, line)
        draw_string(canv, A4[0] - MARGIN, 9 * mm, f"第 {d.page} 页", "right")
        canv.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
