"""Publish a report as PDF, xlsx or CSV (the `hallapp report` command and the
supervisor view's export both come here). It lives with printing because the
PDF layout does; the workbook and CSV are plain writers of the same tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hallapp.reports.tables import (
    ReportTable,
    monthly_tables,
    quarterly_tables,
    write_csv,
    write_xlsx,
)

if TYPE_CHECKING:
    from hallapp.reports import MonthlyReport, QuarterlyReport

FORMATS = ("pdf", "xlsx", "csv")


def tables_of(report: MonthlyReport | QuarterlyReport) -> list[ReportTable]:
    from hallapp.reports import MonthlyReport

    if isinstance(report, MonthlyReport):
        return monthly_tables(report)
    return quarterly_tables(report)


def titles(report: MonthlyReport | QuarterlyReport) -> tuple[str, str]:
    from hallapp.reports import MonthlyReport

    if isinstance(report, MonthlyReport):
        return (
            f"{report.period.label}窗口服务好差评情况公示",
            _span(report),
        )
    return (
        f"{report.period.label}窗口工作人员不满意率问责名单",
        _span(report),
    )


def _span(report: MonthlyReport | QuarterlyReport) -> str:
    a, b = report.period.first, report.period.last
    return f"统计期间：{a.year}年{a.month}月{a.day}日至{b.year}年{b.month}月{b.day}日"


def write_report(
    report: MonthlyReport | QuarterlyReport,
    fmt: str,
    path: Path,
    *,
    font_path: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write ``report`` to ``path`` in ``fmt``; returns the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"格式应为 {'、'.join(FORMATS)} 之一，收到 {fmt!r}")
    tables = tables_of(report)
    title, subtitle = titles(report)
    if fmt == "xlsx":
        write_xlsx(tables, path, title=f"{report.hall_name}{title}")
    elif fmt == "csv":
        # A CSV file holds one table: the main one at ``path`` (what a reader
        # of "the month's CSV" expects in it), each other beside it.
        write_csv(tables[0], path)
        for table, other in zip(tables[1:], csv_companions(report, path), strict=True):
            write_csv(table, other)
    else:
        from hallapp.printing.report_pdf import render_report_pdf

        from hallapp.reports import MonthlyReport
        from hallapp.reports.tables import tally_table, with_status

        pdf_tables = tables
        if isinstance(report, MonthlyReport):
            # The notice board shows the ranking first, then every window.
            windows = with_status([tally_table(report.window_tally)], report.status())
            pdf_tables = [tables[1], *windows, *tables[2:]]
            if report.tally.dimension.key != "window":
                pdf_tables.append(tables[0])
        if not report.has_records:
            # Nothing happened: the notice says so instead of showing empty tables.
            pdf_tables = []
        path.write_bytes(
            render_report_pdf(
                pdf_tables,
                hall_name=report.hall_name,
                title=title,
                subtitle=subtitle,
                made_at=now or report.made_at,
                font_path=font_path,
                status=report.status(),
            )
        )
    return path


def csv_companions(report: MonthlyReport | QuarterlyReport, path: Path) -> list[Path]:
    """The files a CSV export writes beside ``path`` for the report's other
    tables (ranking, cases, 差评 work…): ``<name>-<table>.csv``."""
    return [path.with_name(f"{path.stem}-{t.key}{path.suffix or '.csv'}")
            for t in tables_of(report)[1:]]  # fmt: skip


def write_tables(
    tables: list[ReportTable],
    path: Path,
    *,
    hall_name: str,
    title: str,
    subtitle: str,
    font_path: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Any report's tables (the key projects' weekly and half-monthly ones) as PDF
    or xlsx, by the file's suffix."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(tables, path, title=f"{hall_name}{title}")
        return path
    if path.suffix.lower() != ".pdf":
        raise ValueError(f"文件 {path.name} 应以 .pdf 或 .xlsx 结尾")
    from datetime import UTC

    from hallapp.printing.report_pdf import render_report_pdf

    path.write_bytes(
        render_report_pdf(
            tables,
            hall_name=hall_name,
            title=title,
            subtitle=subtitle,
            made_at=now or datetime.now(UTC),
            font_path=font_path,
        )
    )
    return path
