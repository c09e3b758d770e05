"""The publication read back the real way: pdftotext/pdffonts, openpyxl, csv."""

from __future__ import annotations

import csv
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from hallapp.printing.report_pdf import render_report_pdf

from hallapp.cli import main
from hallapp.demodata import HistoryParams, generate
from hallapp.reports import (
    Definitions,
    monthly_report,
    parse_month,
    parse_quarter,
    quarterly_report,
    tally,
)
from hallapp.reports.periods import running_note
from hallapp.reports.tables import ReportTable, monthly_tables
from hallapp.store import Store, sqlite_url
from hallapp.workdays import HALL_TZ


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("pub") / "central.sqlite3"
    store = Store.open(sqlite_url(path))
    generate(store, HistoryParams(windows=5, months=2, per_day=15, seed=11, end=date(2026, 10, 20)))
    store.dispose()
    return sqlite_url(path)


def run(*argv: str) -> int:
    return main(list(argv))


def window_tally(db: str, by: str = "window"):
    store = Store.open(db)
    try:
        with store.engine.connect() as conn:
            return tally(conn, parse_month("2026-09"), by)
    finally:
        store.dispose()


def test_pdf_for_the_notice_board(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "gs.pdf"
    assert (
        run("report", "--month", "2026-09", "--format", "pdf", "--out", str(out), "--db", db) == 0
    )
    assert "已生成" in capsys.readouterr().out
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    lines = fonts.stdout.splitlines()[2:]
    assert lines and all(" yes " in line for line in lines), fonts.stdout  # every font embedded
    assert "Helvetica" not in fonts.stdout
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "841.89 x 595.276" in info or "595.276 x 841.89" in info  # A4
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "连城县行政服务中心" in text and "2026年9月" in text
    assert "满意度排名" in text and "满意度最高" in text and "满意度最低" in text
    assert "（盖章）" in text
    assert "满意率 =" in text and "差评率 =" in text and "从不把未评价计为满意" in text
    t = window_tally(db)
    for row in t.rows:
        line = next(x for x in text.splitlines() if x.strip().startswith(row.key) and row.name in x
                    and f"{row.satisfaction_rate:.2f}" in x)  # fmt: skip
        numbers = line.split()
        assert str(row.evaluations) in numbers and str(row.levels[5]) in numbers


def test_xlsx_has_a_sheet_per_table_with_numbers(db: str, tmp_path: Path):
    out = tmp_path / "gs.xlsx"
    assert run("report", "--month", "2026-09", "--format", "xlsx", "--out", str(out), "--db", db,
               "--by", "clerk") == 0  # fmt: skip
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["好差评-工作人员", "排名", "办件", "差评整改"]
    ws = wb["好差评-工作人员"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:2] == ["工号", "姓名"] and "满意率（%）" in header
    t = window_tally(db, "clerk")
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    for row in t.rows:
        # A clerk is shown by 工号 and name, never by the internal staff id.
        assert row.code and row.code != row.key and row.key not in rows
        got = rows[row.code]
        assert got[header.index("姓名")] == row.name
        assert got[header.index("有效评价数")] == row.evaluations
        assert isinstance(got[header.index("有效评价数")], int)
        assert got[header.index("满意率（%）")] == row.satisfaction_rate
        assert got[header.index("非常不满意")] == row.levels[1]
    assert rows["合计"][header.index("有效评价数")] == t.total.evaluations
    # Clerks in 工号 order (not by the staff ids behind them), on every store.
    shown = [r[0] for r in ws.iter_rows(min_row=2, values_only=True) if r[0] and r[0] != "合计"]
    shown = shown[: len(t.rows)]
    assert shown == sorted(shown)
    notes = [r[0] for r in ws.iter_rows(values_only=True) if r[0] and "满意率 =" in str(r[0])]
    assert notes


def test_a_hall_without_its_name_is_told_the_report_is_headed_with_the_sample(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "gs.pdf"
    bare = tmp_path / "bare.toml"
    bare.write_text('[hall]\ncode = "LC"\n', encoding="utf-8")
    base = ["report", "--month", "2026-09", "--format", "pdf", "--out", str(out), "--db", db]
    assert run("--config", str(bare), *base) == 0
    assert "未设置大厅名称 hall.name" in capsys.readouterr().err
    named = tmp_path / "named.toml"
    named.write_text('[hall]\ncode = "LC"\nname = "新罗区行政服务中心"\n', encoding="utf-8")
    assert run("--config", str(named), *base) == 0
    assert "hall.name" not in capsys.readouterr().err
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True)
    assert "新罗区行政服务中心" in text.stdout


def test_csv_opens_in_excel_and_in_python(db: str, tmp_path: Path):
    out = tmp_path / "gs.csv"
    assert (
        run("report", "--month", "2026-09", "--format", "csv", "--out", str(out), "--db", db) == 0
    )
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[0] == "窗口" and "差评率（%）" in header
    t = window_tally(db)
    body = {r[0]: r for r in rows[1:] if len(r) == len(header)}
    for row in t.rows:
        assert int(body[row.key][header.index("有效评价数")]) == row.evaluations
        assert float(body[row.key][header.index("差评率（%）")]) == row.bad_rate
    assert any("满意率 =" in r[0] for r in rows if len(r) == 1)
    # One table a file: the month's other tables beside it, each a CSV of its own.
    for key, first in (("排名", "类别"), ("办件", "窗口"), ("差评整改", "窗口")):
        other = tmp_path / f"gs-{key}.csv"
        assert other.read_bytes().startswith(b"\xef\xbb\xbf"), key
        with other.open(encoding="utf-8-sig", newline="") as f:
            assert next(csv.reader(f))[0] == first, key


def test_quarterly_accountability_list(db: str, tmp_path: Path):
    out = tmp_path / "q.xlsx"
    assert run("report", "--quarter", "2026-Q3", "--format", "xlsx", "--out", str(out),
               "--db", db) == 0  # fmt: skip
    store = Store.open(db)
    with store.engine.connect() as conn:
        q = quarterly_report(conn, parse_quarter("2026-Q3"), definitions=Definitions(),
                             now=datetime(2026, 10, 20, tzinfo=UTC))  # fmt: skip
    store.dispose()
    ws = openpyxl.load_workbook(out)["问责"]
    listed = {r[0] for r in ws.iter_rows(min_row=2, values_only=True) if r[0] and r[1]}
    assert q.accountable and listed == {a.staff_no for a in q.accountable}
    pdf = tmp_path / "q.pdf"
    assert run("report", "--quarter", "2026-Q3", "--format", "pdf", "--out", str(pdf),
               "--db", db) == 0  # fmt: skip
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "问责" in text and q.accountable[0].name in text
    # Short columns are as wide as their text: a 评价 of 非常不满意 is read
    # on one line, not as 非常不满 with 意 below it.
    layout = "\n".join(pdf_pages(pdf))
    at = [c.value for c in ws[1]].index("评价")
    levels = [r[at] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert layout.count("非常不满意") >= levels.count("非常不满意") > 0
    assert re.search(r"非常不满(?!意)", layout) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--month", "2026-13"], "月份"),
        (["--quarter", "2026Q9"], "季度格式"),
        (["--month", "2026-09", "--out", "/nonexistent/dir/x.pdf"], "不存在"),
    ],
)
def test_bad_input_is_a_message(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                argv: list[str], message: str):  # fmt: skip
    args = ["report", "--format", "pdf", "--db", db, *argv]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "x.pdf")]
    assert run(*args) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


# ------------------------------------------------ the seal stays with the figures


def pdf_pages(path: Path) -> list[str]:
    """Each page's text, read back with pdftotext one page at a time."""
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(next(x for x in info.stdout.splitlines() if x.startswith("Pages:")).split()[1])
    return [
        subprocess.run(["pdftotext", "-layout", "-f", str(p), "-l", str(p), str(path), "-"],
                       capture_output=True, text=True, check=True).stdout
        for p in range(1, pages + 1)
    ]  # fmt: skip


HALL = "连城县行政服务中心"


def _content(page: str) -> list[str]:
    """A page's lines other than the footer, the seal line and the date."""
    return [
        line.strip()
        for line in page.splitlines()
        if line.strip()
        and HALL + "　" not in line
        and not line.strip().startswith(HALL + " ")
        and "（盖章）" not in line
        and line.strip() != "2026年10月5日"
    ]


def _tables(first_rows: int, last_rows: int) -> list[ReportTable]:
    def table(key: str, title: str, n: int, notes: list[str]) -> ReportTable:
        rows: list[list[str | int | float | None]] = [
            [f"{key}{i:02d}", f"窗口{key}{i}", i, 95.5] for i in range(n)
        ]
        return ReportTable(key, title, ["窗口", "名称", "有效评价数", "满意率（%）"],
                           [*rows, ["合计", "", n, 96.0]], notes=notes)  # fmt: skip

    return [
        table("A", "表一窗口满意度排名", first_rows, ["排名说明"]),
        table("B", "表二差评核实整改情况", last_rows, ["整改期限说明", "申诉说明", "第三条说明"]),
    ]


@pytest.mark.parametrize("first_rows", [12, 40])
def test_the_seal_and_date_never_stand_alone_on_a_page(tmp_path: Path, first_rows: int):
    """Whatever the length of the content (here: the last table grows one row
    at a time through the first page's end and the second's), the seal place
    and the date are on the page that ends the last table: with its last two
    rows (the last window and 合计) and its notes, never on a page of their own."""
    seen_pages: set[int] = set()
    for last_rows in range(0, 45):
        out = tmp_path / f"p{last_rows}.pdf"
        out.write_bytes(render_report_pdf(
            _tables(first_rows, last_rows), hall_name=HALL, title="测试公示",
            subtitle="统计期间：2026年9月1日至2026年9月30日",
            made_at=datetime(2026, 10, 5, 2, tzinfo=UTC),
        ))  # fmt: skip
        pages = pdf_pages(out)
        seen_pages.add(len(pages))
        sealed = [i for i, p in enumerate(pages) if "（盖章）" in p]
        assert sealed == [len(pages) - 1], (last_rows, sealed)
        last = pages[-1]
        assert "2026年10月5日" in last
        for i, page in enumerate(pages):
            assert _content(page), f"{last_rows} rows: page {i + 1} holds only the seal"
        body = _content(last)
        assert any(x.startswith("合计") for x in body), (last_rows, body)
        if last_rows:
            assert any(x.startswith(f"B{last_rows - 1:02d}") for x in body), (last_rows, body)
        assert "第三条说明" in last
        # A table's heading is never left at a page's foot without rows under it.
        for page in pages:
            lines = _content(page)
            for title, key in (("表一", "A"), ("表二", "B")):
                at = [j for j, x in enumerate(lines) if x.startswith(title)]
                if at:
                    after = lines[at[0] + 1 :]
                    assert any(x.startswith((key, "合计")) for x in after), (last_rows, lines)
    assert len(seen_pages) >= 2  # the range did cross a page's end


# ---------------------------------------------- a month still running, or empty


def test_a_running_month_says_so_on_every_output(db: str, tmp_path: Path):
    # 20 Oct 2026, 09:00 in Beijing: the month's figures are a draft.
    now = datetime(2026, 10, 20, 1, tzinfo=UTC)
    store = Store.open(db)
    try:
        with store.engine.connect() as conn:
            report = monthly_report(conn, parse_month("2026-10"), hall_name=HALL, now=now)
            done = monthly_report(conn, parse_month("2026-09"), hall_name=HALL, now=now)
    finally:
        store.dispose()
    note = "本月尚未结束，数据截至 2026年10月20日"
    assert report.status() == [note] and report.has_records
    assert done.status() == []  # September is over and had evaluations
    # The supervisor view shows each table's notes under it: the note leads them.
    assert all(t.notes[0] == note and t.rows for t in monthly_tables(report))
    assert all(note not in t.notes for t in monthly_tables(done))
    from hallapp.printing.publish import write_report

    pdf = write_report(report, "pdf", tmp_path / "m.pdf")
    pages = pdf_pages(pdf)
    # Under the title, above the first table (the ranking)...
    assert note in pages[0].split("统计期间")[1].split("满意度排名")[0]
    # ...and in every sheet's footer, so that a sheet posted alone says it too.
    for page in pages:
        footer = next(x for x in page.splitlines() if "页" in x and HALL in x)
        assert note in footer, footer
    wb = openpyxl.load_workbook(write_report(report, "xlsx", tmp_path / "m.xlsx"))
    for ws in wb.worksheets:
        assert note in [r[0] for r in ws.iter_rows(values_only=True)], ws.title
    with write_report(report, "csv", tmp_path / "m.csv").open(encoding="utf-8-sig") as f:
        assert [note] in list(csv.reader(f))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 1 Oct 00:30 in Beijing is still 30 Sep in UTC: September is over.
        (datetime(2026, 9, 30, 16, 30, tzinfo=UTC), None),
        (datetime(2026, 9, 30, 15, 30, tzinfo=UTC), "本月尚未结束，数据截至 2026年9月30日"),
        (datetime(2026, 8, 31, 16, 30, tzinfo=UTC), "本月尚未结束，数据截至 2026年9月1日"),
        (datetime(2026, 8, 31, 15, 30, tzinfo=UTC), "本月尚未开始（制表日 2026年8月31日）"),
    ],
)
def test_running_is_judged_on_the_halls_day(now: datetime, expected: str | None):
    assert running_note(parse_month("2026-09"), now) == expected


def test_a_month_before_the_first_record_is_not_published_as_a_result(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    empty = "本月没有评价和办件记录"
    for fmt in ("pdf", "xlsx", "csv"):
        out = tmp_path / f"may.{fmt}"
        code = run("report", "--month", "2026-05", "--format", fmt, "--out", str(out), "--db", db)
        assert code == 0 and out.is_file()
        assert empty in capsys.readouterr().out
    pages = pdf_pages(tmp_path / "may.pdf")
    assert len(pages) == 1 and empty in pages[0] and "（盖章）" in pages[0]
    assert "好差评统计" not in pages[0] and "合计" not in pages[0]  # no empty tables
    wb = openpyxl.load_workbook(tmp_path / "may.xlsx")
    for ws in wb.worksheets:
        cells = [r[0] for r in ws.iter_rows(values_only=True)]
        assert empty in cells and "合计" not in cells, ws.title
        assert [c.value for c in ws[2]] == [None] * ws.max_column  # no row of zeros
    with (tmp_path / "may.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "窗口" and rows[1] == [] and [empty] in rows


def test_the_cli_marks_the_current_month_as_a_draft(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The real clock: the month we are in is running (Beijing's day decides)."""
    days = set()
    days.add(datetime.now(HALL_TZ).date())
    month = f"{min(days).year}-{min(days).month:02d}"
    out = tmp_path / "now.csv"
    assert run("report", "--month", month, "--format", "csv", "--out", str(out), "--db", db) == 0
    days.add(datetime.now(HALL_TZ).date())
    printed = capsys.readouterr().out
    text = out.read_text(encoding="utf-8-sig")
    assert any(f"数据截至 {d.year}年{d.month}月{d.day}日" in printed for d in days), printed
    assert "本月尚未结束" in text and "Traceback" not in printed


FORMULAS = ['=HYPERLINK("http://evil.example/x","点击查看")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A9)", "\t=1+1"]  # fmt: skip


@pytest.mark.parametrize("name", FORMULAS)
def test_a_name_that_looks_like_a_formula_is_published_as_text(tmp_path: Path, name: str):
    """Names come from the catalog and the staff list: whatever was typed
    there, the published workbook and CSV show it and never run it."""
    from hallapp.reports.tables import csv_text, write_xlsx

    table = ReportTable(key="好差评", title="测试", header=["窗口", "名称", "有效评价数"],
                        rows=[["A05", name, 7], ["A06", "住建窗口", -1]])  # fmt: skip
    out = tmp_path / "t.xlsx"
    write_xlsx([table], out)
    ws = openpyxl.load_workbook(out)["好差评"]
    assert ws["B2"].data_type == "s" and ws["B2"].value == name
    assert ws["C2"].value == 7 and ws["C3"].value == -1  # numbers stay numbers
    rows = list(csv.reader(csv_text(table).splitlines()))
    assert rows[1][1] == "'" + name and rows[2][1] == "住建窗口" and rows[2][2] == "-1"


def test_a_mistyped_database_path_is_refused_not_published_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    missing = tmp_path / "mistyped.sqlite3"
    out = tmp_path / "m.pdf"
    code = run("report", "--month", "2026-09", "--format", "pdf", "--out", str(out),
               "--db", sqlite_url(missing))  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "找不到数据库文件" in err and str(missing) in err
    assert not missing.exists() and not out.exists()


def test_a_stored_control_character_never_stops_the_workbook(tmp_path: Path):
    """A row stored before such input was refused (an ESC in a project name)
    is written with U+FFFD in its place: the 通报 is still made, and the rest
    of the name is shown as stored."""
    from hallapp.reports.tables import write_xlsx

    name = "项目\u202e目项\x1b[2J\x07"
    table = ReportTable(key="通报", title="半月\x1b通报", header=["项目", "节点"],
                        rows=[[name, 3]], notes=["说明\x00"])  # fmt: skip
    out = tmp_path / "h.xlsx"
    write_xlsx([table], out)
    ws = openpyxl.load_workbook(out)["通报"]
    assert ws["A2"].value == "项目\u202e目项\ufffd[2J\ufffd"
    assert ws["B2"].value == 3
    assert ws["A4"].value == "半月\ufffd通报" and ws["A5"].value == "说明\ufffd"
