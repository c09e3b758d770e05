"""The publication read back the real way: pdftotext/pdffonts, openpyxl, csv."""

from __future__ import annotations

import csv
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from hallapp.cli import main
from hallapp.demodata import HistoryParams, generate
from hallapp.reports import Definitions, parse_month, parse_quarter, quarterly_report, tally
from hallapp.store import Store, sqlite_url


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
    assert header[:2] == ["工作人员", "名称"] and "满意率（%）" in header
    t = window_tally(db, "clerk")
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    for row in t.rows:
        # A clerk is shown by 工号 and name, never by the internal staff id.
        assert row.code and row.code != row.key and row.key not in rows
        got = rows[row.code]
        assert got[header.index("名称")] == row.name
        assert got[header.index("有效评价数")] == row.evaluations
        assert isinstance(got[header.index("有效评价数")], int)
        assert got[header.index("满意率（%）")] == row.satisfaction_rate
        assert got[header.index("非常不满意")] == row.levels[1]
    assert rows["合计"][header.index("有效评价数")] == t.total.evaluations
    notes = [r[0] for r in ws.iter_rows(values_only=True) if r[0] and "满意率 =" in str(r[0])]
    assert notes


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
