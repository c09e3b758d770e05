"""The 代办员's view and the 测评表 on the citizen screen, driven with pytest-qt on a
real central store: the nodes with their 卡点, a step recorded from the dialog,
a form saved as PDF, the survey refused until every item is chosen, and the
supervisor's 卡点 and 诫勉谈话 tabs."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hallapp.projects.register import StepKind, detail
from hallapp.projects.survey import ITEM_KEYS, Channel, SurveyInput, record_survey
from tests.projects.hallfixtures import HALL_CODE, Hall, register_sample

TODAY = date(2026, 3, 20)
# The offscreen platform says this for every top-level window it shows (xcb does not).
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise)")


@pytest.fixture
def error_log():
    from hallapp.ui import errors

    shown: list[str] = []
    errors.set_error_sink(lambda _parent, message, _detail: shown.append(message))
    yield shown
    errors.set_error_sink(None)


def shown(qtbot, hall: Hall, staff_no: str):
    from hallapp.ui.projects import ProjectsView

    v = ProjectsView(
        hall.engine, HALL_CODE, "连城县行政服务中心", hall.actor(staff_no), today=lambda: TODAY
    )
    qtbot.addWidget(v)
    v.resize(1500, 900)
    v.show()
    qtbot.waitUntil(lambda: v.data is not None, timeout=15_000)
    return v


def cells(table) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def test_the_agent_sees_the_nodes_with_their_stuck_point_and_records_a_step(
    qtbot, hall: Hall, error_log: list[str]
) -> None:
    pid = register_sample(hall)
    view = shown(qtbot, hall, "8001")
    nodes = cells(view.nodes_table)
    assert [n[1] for n in nodes] == [
        "企业投资项目备案",
        "用地预审与选址意见书",
        "环境影响评价审批",
        "建筑工程施工许可",
    ]
    # 备案 (due 5 March) and 用地预审 (due 16 March) are past their limits on the 20th.
    assert nodes[0][7].startswith("逾期（卡点）") and nodes[1][7].startswith("逾期（卡点）")
    assert nodes[1][2:4] == ["连城县自然资源局", "李秀英"]
    assert nodes[2][7].startswith("临期") or nodes[2][7].startswith("办理中")
    assert view.tabs.tabText(1) == "卡点倒查（2）"
    stuck = cells(view.stuck_table)
    assert [(r[0], r[1], r[3]) for r in stuck] == [
        ("连城县发展和改革局", "陈建国", "企业投资项目备案"),
        ("连城县自然资源局", "李秀英", "用地预审与选址意见书"),
    ]

    view.open_step_dialog()
    dialog = view.step_dialog
    assert dialog is not None
    dialog.node.setCurrentIndex(1)  # 用地预审
    dialog.kind.setCurrentIndex(list(StepKind).index(StepKind.URGED))
    dialog.note.setPlainText("电话督促李秀英科长")
    with qtbot.waitSignal(view.loaded, timeout=15_000):
        dialog.accept()
    assert [s[1:4] for s in cells(view.steps_table)] == [
        ["用地预审与选址意见书", "督促办理", "电话督促李秀英科长"]
    ]
    with hall.engine.connect() as c:
        assert len(detail(c, HALL_CODE, pid, TODAY).steps) == 1
    assert error_log == []


def test_a_refused_step_shows_the_reason_and_writes_nothing(qtbot, hall: Hall) -> None:
    pid = register_sample(hall)
    view = shown(qtbot, hall, "8001")
    with qtbot.waitSignal(view.failed, timeout=15_000) as blocker:
        view.record(view.data.detail.nodes[1].id, StepKind.PROGRESS, TODAY, "   ")
    assert "请填写情况说明" in blocker.args[0]
    assert "请填写情况说明" in view.status.text()
    with hall.engine.connect() as c:
        assert detail(c, HALL_CODE, pid, TODAY).steps == []


def test_a_form_is_saved_as_a_pdf_from_the_view(qtbot, hall: Hall, tmp_path: Path) -> None:
    register_sample(hall)
    view = shown(qtbot, hall, "8001")
    out = tmp_path / "intake.pdf"
    with qtbot.waitSignal(view.acted, timeout=15_000) as blocker:
        view.issue_form("project_intake", out)
    assert "LC代受字〔2026〕0001号" in blocker.args[0]
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "代办受理表" in text


def test_the_survey_on_the_citizen_screen_needs_every_item_and_is_recorded(
    qtbot, hall: Hall
) -> None:
    from hallapp.projects.survey import surveys_of

    pid = register_sample(hall)
    view = shown(qtbot, hall, "8001")
    view.open_survey()
    screen = view.survey_screen
    assert screen is not None
    qtbot.addWidget(screen)
    assert screen.answers() == {}  # nothing chosen for the representative
    for key in ITEM_KEYS[:5]:
        screen.choose(key, 5)
    screen.name.setText("王强")
    with qtbot.assertNotEmitted(screen.submitted):
        screen.submit()
    assert "还有 2 项未选择" in screen.message.text()
    screen.choose("knowledge", 4)
    screen.choose("integrity", 1)
    with qtbot.waitSignal(view.acted, timeout=15_000):
        screen.submit()
    assert "感谢" in screen.message.text()
    with hall.engine.connect() as c:
        (row,) = surveys_of(c, HALL_CODE, pid)
    assert row["worst_level"] == 1 and row["channel"] == "screen"
    assert row["answers"]["knowledge"] == 4


def test_supervisors_see_the_admonition_list(qtbot, hall: Hall) -> None:
    pid = register_sample(hall)
    bad = {**dict.fromkeys(ITEM_KEYS, 4), "attitude": 1}
    with hall.engine.begin() as c:
        for day in (date(2026, 3, 10), date(2026, 3, 11)):
            record_survey(
                c, HALL_CODE, pid, SurveyInput(bad, "王强", day, Channel.SCREEN), today=TODAY
            )
    view = shown(qtbot, hall, "9001")
    rows = cells(view.discipline_table)
    assert [(r[0], r[5], r[6]) for r in rows] == [
        ("罗建平", "1", "警告"),
        ("罗建平", "2", "诫勉谈话（并写出书面检查）"),
    ]
    assert view.tabs.count() == 3
    agent = shown(qtbot, hall, "8001")
    assert agent.tabs.count() == 2  # the list is for supervisors


def test_the_agent_exports_the_weekly_report_and_a_supervisor_the_half_month(
    qtbot, hall: Hall, tmp_path: Path
) -> None:
    import openpyxl

    register_sample(hall)
    agent = shown(qtbot, hall, "8001")
    pdf = tmp_path / "weekly.pdf"
    with qtbot.waitSignal(agent.acted, timeout=20_000) as blocker:
        agent.export_report(pdf)
    assert "代办员工作周报" in blocker.args[0]
    text = "".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    # Friday 20 March 2026 starts the week reported on Thursday 26 March.
    assert "2026年3月20日至2026年3月26日" in text and "用地预审与选址意见书" in text
    sup = shown(qtbot, hall, "9001")
    xlsx = tmp_path / "half.xlsx"
    with qtbot.waitSignal(sup.acted, timeout=20_000):
        sup.export_report(xlsx)
    wb = openpyxl.load_workbook(xlsx)
    rows = [[c.value for c in r] for r in wb["卡点倒查"].iter_rows(min_row=2, max_row=3)]
    assert rows[0][:4] == ["连城县发展和改革局", "陈建国", 1, 1]


def test_an_agent_signs_in_to_hallapp_supervisor_and_gets_the_projects_window(
    qtbot, hall: Hall, central_url: str
) -> None:
    from hallapp.ui.supervisor_app import (
        ProjectsWindow,
        SupervisorWindow,
        authenticate_supervisor,
        is_central_store,
    )

    from hallapp.config import parse_config
    from hallapp.store import Store
    from tests.projects.hallfixtures import PASSWORD

    register_sample(hall)
    store = Store.open(central_url, run_migrations=False)
    try:
        assert is_central_store(store)
        config = parse_config({"hall": {"code": "LC", "name": "连城县行政服务中心"}})
        agent = authenticate_supervisor(store, "8001", PASSWORD)
        window = ProjectsWindow(store, config, agent)
        qtbot.addWidget(window)
        qtbot.waitUntil(lambda: window.view.data is not None, timeout=15_000)
        assert [p.project_no for p in window.view.data.projects] == ["LCXM20260001"]
        with pytest.raises(Exception, match="窗口工作人员请在窗口客户端登录"):
            authenticate_supervisor(store, "1001", PASSWORD)
        supervisor = authenticate_supervisor(store, "9001", PASSWORD)
        sup = SupervisorWindow(store, config, supervisor, projects=True)
        qtbot.addWidget(sup)
        qtbot.waitUntil(lambda: sup.projects.data is not None, timeout=15_000)
        assert sup.centralWidget().tabText(1) == "重点项目代办"
        from hallapp.ui import ops

        ops.wait_idle(qtbot, timeout=15_000)
    finally:
        store.dispose()


def test_a_paper_survey_is_entered_by_someone_else_and_marked_as_paper(qtbot, hall: Hall) -> None:
    from hallapp.projects.survey import surveys_of

    pid = register_sample(hall)
    agent = shown(qtbot, hall, "8001")
    assert not agent.paper_button.isEnabled()  # the rated 代办员 may not enter it
    sup = shown(qtbot, hall, "9001")
    assert sup.paper_button.isEnabled()
    sup.open_survey(paper=True)
    screen = sup.survey_screen
    qtbot.addWidget(screen)
    assert "纸质测评表录入" in screen.windowTitle() or screen.paper
    for key in ITEM_KEYS:
        screen.choose(key, 3)
    screen.name.setText("王强")
    from PySide6.QtCore import QDate

    screen.filled_on.setDate(QDate(2026, 3, 18))
    with qtbot.waitSignal(sup.acted, timeout=15_000):
        screen.submit()
    with hall.engine.connect() as c:
        (row,) = surveys_of(c, HALL_CODE, pid)
    assert row["channel"] == "paper" and row["entered_by"] == hall.actor("9001").staff_id
    assert str(row["filled_on"]) == "2026-03-18"
