"""The supervisor view driven as a supervisor would: pick a month, drill down,
work a follow-up, export; and the route to it from the window's sign-in."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from PySide6.QtCore import Qt

from hallapp.config import parse_config
from hallapp.demodata import HistoryParams, generate
from hallapp.duty import StaffView
from hallapp.followup import Action
from hallapp.models import AuditEntry, Role, Staff
from hallapp.reports import parse_month, tally
from hallapp.store import Store, sqlite_url

TODAY = date(2026, 10, 20)


@pytest.fixture
def history(tmp_path: Path) -> Store:
    store = Store.open(sqlite_url(tmp_path / "central.sqlite3"))
    generate(store, HistoryParams(windows=4, months=3, per_day=15, seed=4, end=TODAY))
    yield store
    store.dispose()


def supervisor(store: Store, n: int = 0) -> StaffView:
    with store.session() as s:
        p = s.scalars(
            sa.select(Staff).where(Staff.role == Role.SUPERVISOR).order_by(Staff.staff_no)
        ).all()[n]
        return StaffView(p.id, p.staff_no, p.name, p.title, p.phone, Role(p.role),
                         p.department_code, "")  # fmt: skip


@pytest.fixture
def view(qtbot, history: Store, error_log):
    from hallapp.ui.supervisor import SupervisorView

    config = parse_config({"hall": {"code": "LC"}, "window": {"code": "A01"}})
    v = SupervisorView(history, config, supervisor(history), today=TODAY)
    qtbot.addWidget(v)
    v.resize(1500, 900)
    v.show()
    yield v
    from hallapp.ui import ops

    ops.wait_idle(qtbot, timeout=15_000)


def choose(qtbot, view, key: str, by: str = "window"):
    with qtbot.waitSignal(view.loaded, timeout=20_000) as blocker:
        view.choose(key, by)
    return blocker.args[0]


def column(panel, name: str) -> int:
    return panel.model.table.header.index(name)


def test_pick_a_month_and_the_tables_and_charts_show_it(qtbot, view, history: Store):
    data = choose(qtbot, view, "2026-09")
    with history.engine.connect() as conn:
        expected = tally(conn, parse_month("2026-09"), "window")
    model = view.tally.model
    assert model.rowCount() == len(expected.rows) + 1  # and the total
    col = column(view.tally, "有效评价数")
    for i, row in enumerate(expected.rows):
        assert model.value(i, 0) == row.key and model.value(i, col) == row.evaluations
        text = model.data(model.index(i, column(view.tally, "满意率（%）")))
        assert text == f"{row.satisfaction_rate:.2f}"
    assert "满意率 =" in view.tally.notes.text()
    # Charts: the trend has a point per month with evaluations, the bars the levels.
    assert view.charts.trend_series is not None and view.charts.trend_series.count() >= 2
    bars = view.charts.level_set
    assert [int(bars.at(i)) for i in range(5)] == [
        expected.total.levels[v] for v in (5, 4, 3, 2, 1)
    ]
    # Every gridline on a whole number (labels rounded from 92.5 misplaced a month).
    from PySide6.QtCharts import QValueAxis

    for chart in (view.charts.trend_view.chart(), view.charts.levels_view.chart()):
        for axis in chart.axes():
            if isinstance(axis, QValueAxis) and axis.isVisible():
                span, ticks = axis.max() - axis.min(), axis.tickCount()
                assert ticks >= 2 and (span / (ticks - 1)).is_integer(), (axis.min(), axis.max())
    # By clerk: another grouping, same total.
    data = choose(qtbot, view, "2026-09", "clerk")
    assert data.report.tally.dimension.key == "clerk"
    assert view.tally.model.table.header[:2] == ["工号", "姓名"]
    assert data.report.tally.total.evaluations == expected.total.evaluations
    # The month changes: the figures on screen follow.
    data = choose(qtbot, view, "2026-08")
    assert data.period.key == "2026-08" and "2026年8月" in view.status.text()


def test_drill_down_from_a_number_to_the_case_and_its_events(qtbot, view):
    choose(qtbot, view, "2026-09")
    model = view.tally.model
    col = column(view.tally, "差评数")
    row = max(range(model.rowCount() - 1), key=lambda r: model.value(r, col))
    with qtbot.waitSignal(view.tally.activated):
        view.tally.view.doubleClicked.emit(model.index(row, col))
    qtbot.waitUntil(lambda: view.dialog is not None and view.dialog.isVisible(), timeout=10_000)
    dialog = view.dialog
    assert dialog.panel.model.rowCount() == model.value(row, col)
    assert {dialog.panel.model.value(r, 4) for r in range(dialog.panel.model.rowCount())} <= {
        "不满意", "非常不满意",
    }  # fmt: skip
    dialog.panel.view.doubleClicked.emit(dialog.panel.model.index(0, 0))
    qtbot.waitUntil(lambda: dialog.case_dialog is not None, timeout=10_000)
    events = dialog.case_dialog.events.model
    steps = [events.value(r, 1) for r in range(events.rowCount())]
    assert steps[0] == "收件" and "评价" in steps
    # From the case figures too: overdue cases.
    view.tabs.setCurrentWidget(view.cases)
    cmodel = view.cases.model
    ccol = column(view.cases, "收件")
    view.cases.view.doubleClicked.emit(cmodel.index(0, ccol))
    qtbot.waitUntil(lambda: view.dialog is not dialog and view.dialog.isVisible(), timeout=10_000)
    assert view.dialog.panel.model.rowCount() == cmodel.value(0, ccol)


def test_work_a_follow_up_from_the_queue(qtbot, view, history: Store):
    data = choose(qtbot, view, "2026-09")
    panel = view.follow_up
    view.tabs.setCurrentWidget(panel)
    assert panel.items == data.queue and panel.items
    # Overdue ones first, and they stand out.
    assert panel.items[0].overdue
    assert panel.table.model.data(panel.table.model.index(0, 0), Qt.ItemDataRole.BackgroundRole)
    # The first open 差评 with a step still to do (核实, 回访 or 整改).
    todo = [(Action.VERIFY, "verified", "核实"), (Action.CALL_BACK, "called_back", "回访"),
            (Action.RECTIFY, "rectified", "整改")]  # fmt: skip
    row, action, flag, label = next(
        (i, a, f, lb)
        for i, it in enumerate(panel.items)
        if not it.appeal_pending
        for a, f, lb in todo
        if not getattr(it, f)
    )
    item = panel.items[row]
    panel.select(row)
    button = panel.buttons[action]
    assert button.isEnabled()
    assert panel.buttons[Action.CLOSE].isEnabled() == (item.called_back and item.rectified)
    # No note: refused with a message, nothing written.
    with qtbot.waitSignal(view.loaded, timeout=3_000, raising=False) as nothing:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "请填写" in panel.message.text(), timeout=10_000)
    assert not nothing.signal_triggered
    panel.note.insert("调取排队记录核实，等候 50 分钟属实")  # typed through an input method
    with (
        qtbot.waitSignal(panel.acted, timeout=10_000),
        qtbot.waitSignal(view.loaded, timeout=20_000),
    ):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    again = next(i for i in panel.items if i.evaluation_id == item.evaluation_id)
    assert getattr(again, flag)
    qtbot.waitUntil(
        lambda: (
            panel.steps.model.rowCount() >= 2
            and panel.steps.model.value(panel.steps.model.rowCount() - 1, 1) == label
        ),
        timeout=10_000,
    )
    with history.engine.connect() as conn:
        audited = conn.execute(
            sa.select(AuditEntry.__table__).where(AuditEntry.target == item.evaluation_id)
        ).all()
    assert [a.action for a in audited][-1] == f"follow_up.{action.value}"


def test_export_the_month(qtbot, view, tmp_path: Path):
    data = choose(qtbot, view, "2026-09")
    out = tmp_path / "公示.xlsx"
    with qtbot.waitSignal(view.exported, timeout=20_000):
        view.export_to(out, "xlsx")
    ws = openpyxl.load_workbook(out).worksheets[0]
    total = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "合计")
    assert total[7] == data.report.tally.total.evaluations
    pdf = tmp_path / "公示.pdf"
    with qtbot.waitSignal(view.exported, timeout=30_000):
        view.export_to(pdf, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_export_the_quarter_writes_its_accountability_list(qtbot, view, tmp_path: Path):
    import subprocess

    data = choose(qtbot, view, "2026-Q3")
    assert data.period.is_quarter and data.accountable, "the generated quarter has clerks to hold"
    out = tmp_path / "季度.xlsx"
    with qtbot.waitSignal(view.exported, timeout=20_000):
        view.export_to(out, "xlsx")
    wb = openpyxl.load_workbook(out)
    assert "问责" in wb.sheetnames
    rows = list(wb["问责"].iter_rows(min_row=2, values_only=True))
    # The list on screen is of clerks; the export carries each one's 差评, counted
    # here from the raw rows (levels 1–2 of the quarter, upheld appeals left out).
    clerks = {a.staff_id: a.staff_no for a in data.accountable}
    with view.store.engine.connect() as conn:
        bad = conn.execute(sa.text(
            "SELECT e.staff_id, e.case_no FROM evaluations e WHERE e.level <= 2 "
            "AND e.created_at >= :a AND e.created_at < :b AND NOT EXISTS (SELECT 1 FROM "
            "follow_up_steps u WHERE u.evaluation_id = e.id AND u.kind = 'appeal_upheld')"),
            {"a": data.period.start_utc.replace(tzinfo=None).isoformat(sep=" "),
             "b": data.period.end_utc.replace(tzinfo=None).isoformat(sep=" ")}).all()  # fmt: skip
    expected = sorted((clerks[s], no) for s, no in bad if s in clerks)
    assert sorted((str(r[0]), r[5]) for r in rows if r[5]) == expected and expected
    pdf = tmp_path / "季度.pdf"
    with qtbot.waitSignal(view.exported, timeout=30_000):
        view.export_to(pdf, "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    # Narrow columns wrap names in the PDF; the staff number stays whole.
    assert "不满意率达到" in text and data.accountable[0].staff_no in text


def test_a_supervisor_signing_in_at_a_window_gets_the_supervisor_view(demo_app):
    console = demo_app.console
    page = console.signin
    demo_app.qtbot.waitUntil(page.button.isEnabled, timeout=15_000)
    page.staff_no.clear()
    demo_app.keys(page.staff_no, "9001")
    demo_app.key(page.staff_no, Qt.Key.Key_Return)
    demo_app.keys(page.password, "123456")
    with demo_app.qtbot.waitSignal(page.signed_in, timeout=15_000):
        demo_app.key(page.password, Qt.Key.Key_Return)
    demo_app.idle()
    assert console.supervisor_window is not None and console.supervisor_window.isVisible()
    assert not console.signed_in  # nobody went on duty at the window
    assert console.ctx.duty.current() is None
    console.supervisor_window.close()


def test_a_clerk_on_the_accountability_list_opens_with_every_bad_review(qtbot, view):
    data = choose(qtbot, view, "2026-Q3")
    clerk = data.accountable[0]
    model = view.accountability.model
    assert [model.value(0, c) for c in range(4)] == [clerk.staff_no, clerk.name,
                                                     clerk.evaluations, clerk.bad]  # fmt: skip
    view.tabs.setCurrentWidget(view.accountability)
    view.accountability.view.doubleClicked.emit(model.index(0, 0))
    qtbot.waitUntil(lambda: view.dialog is not None and view.dialog.isVisible(), timeout=10_000)
    shown = view.dialog.panel.model
    # One row per 差评 behind the rate, each with where its follow-up stands.
    assert shown.rowCount() == clerk.bad
    header = shown.table.header
    states = {shown.value(r, header.index("整改状态")) for r in range(shown.rowCount())}
    assert states and all(states)
    assert clerk.staff_no in shown.table.title and header[0] == "办件编号"


def test_an_empty_or_running_month_is_not_shown_as_a_result(qtbot, view):
    """Under every table, the view says when the month has no records at all
    (no rows of zeros) and when it is still running (on the view's clock: the
    day it was opened for)."""
    choose(qtbot, view, "2026-05")  # before the hall's first record
    for panel in (view.tally, view.ranking, view.cases, view.work):
        assert panel.notes.text().startswith("本月没有评价和办件记录"), panel.notes.text()
        assert panel.model.rowCount() == 0
    today = view._today
    choose(qtbot, view, f"{today.year}-{today.month:02d}")
    for panel in (view.tally, view.ranking, view.cases, view.work):
        assert panel.notes.text().startswith(
            f"本月尚未结束，数据截至 {today.year}年{today.month}月{today.day}日"
        ), panel.notes.text()
    assert view.status.text().startswith("本月尚未结束")
    choose(qtbot, view, "2026-09")
    assert "本月" not in view.tally.notes.text().split("\n")[0]
