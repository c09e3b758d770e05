"""A report as plain tables (title, header, rows of numbers and text, notes).

One shape for every output: the workbook (one sheet per table), the CSV and
the PDF for the notice board all lay out these tables, so they always agree.
Rates are numbers in percent (98.41 for 98.41 %), None where nothing divides.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hallapp.evaluation import LEVEL_LABELS
from hallapp.reports.cases import CaseFigures
from hallapp.reports.definitions import LEVELS
from hallapp.reports.followups import FollowUpFigures
from hallapp.reports.periods import cn_time

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from hallapp.reports import MonthlyReport, QuarterlyReport
    from hallapp.reports.definitions import Definitions
    from hallapp.reports.followups import AccountableClerk
    from hallapp.reports.periods import Period
    from hallapp.reports.tally import Tally, TallyRow

Cell = str | int | float | None
F = TypeVar("F", CaseFigures, FollowUpFigures)


@dataclass(frozen=True)
class ReportTable:
    key: str  # sheet name, short
    title: str
    header: list[str]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    #: Each row's group key for the drill-down (a clerk's staff id), where the
    #: first column shows something else (the 工号); None for the total.
    row_keys: list[str | None] = field(default_factory=list)


def tally_table(t: Tally, key: str = "好差评") -> ReportTable:
    scored = t.definitions.scored
    header = [
        *t.dimension.headings, *[LEVEL_LABELS[v] for v in LEVELS], "有效评价数",
        "满意率（%）", "差评数", "差评率（%）", "办结件数", "已评价件数", "未评价", "评价率（%）",
    ]  # fmt: skip
    if scored:
        header.append("评分")

    def line(r: TallyRow) -> list[Cell]:
        out: list[Cell] = [
            # The total's first cell says 合计; its name cell stays empty.
            (r.code or r.key) or "合计", r.name if r.key else "",
            *[r.levels.get(v, 0) for v in LEVELS],
            r.evaluations,
            r.satisfaction_rate, r.bad, r.bad_rate, r.completed, r.evaluated_cases,
            r.unevaluated, r.evaluation_rate,
        ]  # fmt: skip
        if scored:
            out.append(r.score)
        return out

    return ReportTable(
        key=f"{key}-{t.dimension.title}",
        title=f"{t.period.label}好差评统计（按{t.dimension.title}）",
        header=header,
        rows=[line(r) for r in t.rows] + [line(t.total)],
        notes=t.notes(),
        row_keys=[r.key for r in t.rows] + [None],
    )


def with_status(
    tables: list[ReportTable], status: list[str], *, has_records: bool = True
) -> list[ReportTable]:
    """The report's status (see :meth:`MonthlyReport.status`) as the first note
    of every table, so that no output, sheet or screen shows a running month's
    figures as final; a period with no records at all keeps the headers and the
    note but no rows (a 合计 of zeros would read as a real result)."""
    if not status and has_records:
        return tables
    return [
        replace(
            t,
            notes=[*status, *t.notes],
            rows=t.rows if has_records else [],
            row_keys=t.row_keys if has_records else [],
        )
        for t in tables
    ]


def monthly_tables(report: MonthlyReport) -> list[ReportTable]:
    return with_status(_monthly_tables(report), report.status(), has_records=report.has_records)


def _monthly_tables(report: MonthlyReport) -> list[ReportTable]:
    defs = report.definitions
    tables = [tally_table(report.tally)]
    rk = report.ranking
    basis = f"{rk.basis}{'（%）' if rk.basis == '满意率' else ''}"
    ranking_rows: list[list[Cell]] = []
    for title, entries in (("满意度最高", rk.best), ("满意度最低", rk.worst)):
        for x in entries:
            ranking_rows.append([title, x.rank, x.row.key, x.row.name, x.value, x.row.evaluations])
    for row in rk.unranked:
        ranking_rows.append(["不参加排名", None, row.key, row.name, None, row.evaluations])
    tables.append(
        ReportTable(
            key="排名",
            title=f"{report.period.label}窗口满意度排名",
            header=["类别", "名次", "窗口", "名称", basis, "有效评价数"],
            rows=ranking_rows,
            notes=[
                f"按{rk.basis}由高到低；有效评价少于 {rk.min_evaluations} 次的窗口不参加排名；"
                "数值相同者并列同一名次，其后名次顺延；前后各公布 "
                f"{rk.count} 名（参加排名的窗口不足 {2 * rk.count} 个时，前后各公布其半数，"
                "取整），并列者一并列出；已列入最高的窗口不再列入最低"
            ],
        )
    )
    dim_title = report.tally.dimension.title
    tables.append(
        ReportTable(
            key="办件",
            title=f"{report.period.label}办件情况（按{dim_title}）",
            header=[
                *report.tally.dimension.headings,
                "收件",
                "受理",
                "办结",
                "按期办结",
                "按期办结率（%）",
                "超期办结",
                "超期未办结",
                "一次性告知",
                "违反一次性告知（倒查）",
                "延期",
                "容缺材料逾期",
            ],
            rows=[
                [
                    (c.code or c.key) or "合计",
                    c.name if c.key else "",
                    c.received,
                    c.accepted,
                    c.completed,
                    c.on_time,
                    c.on_time_rate,
                    c.completed_late,
                    c.overdue_open,
                    c.one_time_notices,
                    c.violations,
                    c.extensions,
                    c.deferred_overdue,
                ]
                for c in [*report.cases, *_total(report.cases, CaseFigures)]
            ],
            row_keys=[c.key for c in report.cases] + [None] * bool(report.cases),
            notes=[
                "收件、受理、办结、一次性告知、违反一次性告知、延期：统计期内发生的次数",
                "按期办结：办结日不晚于承诺日期（含批准的延期）；超期未办结：到统计期末（进行中的统计期：到今天）承诺日期已过仍未办结",
                "容缺材料逾期：承诺补齐日期在统计期内、到期未补齐的容缺受理办件",
            ],
        )
    )
    tables.append(
        ReportTable(
            key="差评整改",
            title=f"{report.period.label}差评核实整改情况（按{dim_title}）",
            header=[
                *report.tally.dimension.headings,
                "差评数",
                "已核实",
                "已回访",
                "回访率（%）",
                "已整改",
                "差评整改率（%）",
                "已办结",
                "整改超期",
                "回访超期",
                "申诉审核中",
                "申诉成立已剔除",
            ],
            rows=[
                [
                    (f.code or f.key) or "合计",
                    f.name if f.key else "",
                    f.bad,
                    f.verified,
                    f.called_back,
                    f.call_back_rate,
                    f.rectified,
                    f.rectification_rate,
                    f.closed,
                    f.overdue,
                    f.call_back_overdue,
                    f.appeals_pending,
                    f.upheld,
                ]
                for f in [*report.follow_ups, *_total(report.follow_ups, FollowUpFigures)]
            ],
            row_keys=[f.key for f in report.follow_ups] + [None] * bool(report.follow_ups),
            notes=[
                # The follow-up goes on after the month: the sheet says when it
                # was taken (its counts only grow, and a breach stays counted).
                f"核实、回访、整改、办结数据截至 {cn_time(report.made_at)}（制表时）",
                f"整改期限 {defs.rectify_days} 个工作日，"
                f"首次回访期限 {defs.call_back_days} 个工作日",
                "申诉成立（误评、恶意差评）的评价不计入任何统计，此处列出件数以备核查",
            ],
        )
    )
    if report.accountable is not None:
        # A quarter's figures come with its accountability list (seed 000 §五).
        tables.append(
            accountability_table(report.period, report.accountable, defs, made_at=report.made_at)
        )
    return tables


def _total(rows: Sequence[F], kind: type[F]) -> list[F]:
    """The hall's line under a table of counts (its rates computed from the
    sums, never averaged): the hall's own 差评整改率, 回访率 and 按期办结率
    were published nowhere. None for an empty table."""
    if not rows:
        return []
    sums = {
        f.name: sum(getattr(r, f.name) for r in rows)
        for f in fields(kind)
        if f.type in ("int", int)
    }
    return [kind(key="", name="合计", **sums)]


def quarterly_tables(report: QuarterlyReport) -> list[ReportTable]:
    tables = [
        accountability_table(
            report.period, report.accountable, report.definitions, made_at=report.made_at
        ),
        tally_table(report.tally),
    ]
    return with_status(tables, report.status(), has_records=report.has_records)


def accountability_table(
    period: Period,
    accountable: list[AccountableClerk],
    defs: Definitions,
    *,
    made_at: datetime | None = None,
) -> ReportTable:
    rows: list[list[Cell]] = []
    for a in accountable:
        for r in a.reviews:
            rows.append([
                a.staff_no, a.name, a.evaluations, a.bad, a.bad_rate, r.case_no, r.window_code,
                LEVEL_LABELS[r.level], "、".join(r.reasons), r.state,
                r.due_on.isoformat() if r.due_on else None, "是" if r.overdue else "",
            ])  # fmt: skip
    return ReportTable(
        key="问责",
        title=f"{period.label}不满意率达到 {defs.accountability_threshold_percent:g}% 的工作人员",
        header=[
            "工号",
            "姓名",
            "有效评价数",
            "差评数",
            "不满意率（%）",
            "办件编号",
            "窗口",
            "评价",
            "差评原因",
            "整改状态",
            "整改期限",
            "超期",
        ],
        rows=rows,
        notes=[
            f"不满意率 =（不满意＋非常不满意）÷ 有效评价数；达到 "
            f"{defs.accountability_threshold_percent:g}% 的列入问责（中心制度第五条）",
            *(
                [
                    f"整改状态、超期数据截至 {cn_time(made_at)}（制表时）；"
                    "超过整改期限才整改的也计为超期"
                ]
                if made_at is not None
                else []
            ),
            *defs.notes()[:1],
        ],
    )


def clerk_reviews_table(
    period: Period, clerk: AccountableClerk, defs: Definitions
) -> ReportTable:
    """One clerk of the accountability list: the 差评 behind the rate, each with
    its follow-up state (the clerk is named in the title, not on every row)."""
    full = accountability_table(period, [clerk], defs)
    return ReportTable(
        key="问责明细",
        title=f"{period.label} {clerk.staff_no} {clerk.name}：有效评价 {clerk.evaluations} 次，"
        f"差评 {clerk.bad} 次，不满意率 {clerk.bad_rate:.2f}%",
        header=full.header[5:],
        rows=[r[5:] for r in full.rows],
        notes=full.notes,
    )


def accountability_summary_table(
    period: Period, accountable: list[AccountableClerk], defs: Definitions
) -> ReportTable:
    """The clerks of the accountability list, one row each (the view's list;
    a row opens that clerk's 差评 with their follow-up state)."""
    rows: list[list[Cell]] = [
        [a.staff_no, a.name, a.evaluations, a.bad, a.bad_rate] for a in accountable
    ]
    keys: list[str | None] = [a.staff_id for a in accountable]
    return ReportTable(
        key="问责",
        title=f"{period.label}不满意率达到 {defs.accountability_threshold_percent:g}% 的工作人员",
        header=["工号", "姓名", "有效评价数", "差评数", "不满意率（%）"],
        rows=rows,
        notes=[
            f"不满意率 =（不满意＋非常不满意）÷ 有效评价数；达到 "
            f"{defs.accountability_threshold_percent:g}% 的列入问责（中心制度第五条）",
            "双击一行查看该工作人员的差评及整改状态",
            *defs.notes()[:1],
        ],
        row_keys=keys,
    )


# ------------------------------------------------------------------ outputs


# A text that a spreadsheet would run as a formula (a name imported into the
# catalog as =HYPERLINK(…), say): the published file must show it, not run it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and len(value) > 1 and value.startswith(_FORMULA_START)


def _csv_cell(value: object) -> object:
    # OWASP's advice for CSV: a leading apostrophe, which Excel shows as text.
    if value is None:
        return ""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def _xlsx_safe(value: Any, replaced: list[str]) -> Any:
    """A stored text as an .xlsx cell can hold it: a control character (an
    ESC pasted into a project name before such input was refused) becomes
    U+FFFD, so that one old row never makes the whole 通报 impossible."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        replaced.append(value)
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def write_xlsx(tables: list[ReportTable], path: Path, *, title: str = "") -> None:
    """One sheet per table, header row frozen, numbers as numbers, notes under it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    replaced: list[str] = []
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for table in tables:
        ws = wb.create_sheet(table.key[:31])
        ws.append([_xlsx_safe(v, replaced) for v in table.header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in table.rows:
            ws.append([_xlsx_safe(v, replaced) for v in row])
            for cell in ws[ws.max_row]:
                if _formula_like(cell.value):
                    cell.data_type = "s"  # a string cell: shown as typed, never evaluated
        ws.freeze_panes = "A2"
        ws.append([])
        ws.append([_xlsx_safe(table.title, replaced)])
        for note in table.notes:
            ws.append([_xlsx_safe(note, replaced)])
        for i, name in enumerate(table.header, start=1):
            letter = ws.cell(row=1, column=i).column_letter
            ws.column_dimensions[letter].width = max(8, min(30, 2 * len(name) + 2))
    wb.properties.title = _xlsx_safe(title or (tables[0].title if tables else ""), replaced)
    if replaced:
        log.warning(
            "xlsx %s: %d cell(s) held control characters, written as U+FFFD: %r",
            path, len(replaced), replaced[:5],
        )  # fmt: skip
    wb.save(path)


def csv_text(table: ReportTable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(table.header)
    for row in table.rows:
        w.writerow([_csv_cell(v) for v in row])
    w.writerow([])
    for note in [table.title, *table.notes]:
        w.writerow([note])
    return buf.getvalue()


def write_csv(table: ReportTable, path: Path) -> None:
    """UTF-8 with a BOM, so that Excel on Windows reads the Chinese right."""
    path.write_text(csv_text(table), encoding="utf-8-sig", newline="")
