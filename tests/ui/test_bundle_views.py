"""The 综合窗口's bundle view and a department back office's queue, driven with pytest-qt.

Real stores: the window's SQLite file and a SQLite central store between
them; the window syncs by push and pull as it does in the hall.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hallapp.ui.backoffice import BackOfficeWindow, QueueView
from hallapp.ui.bundle_view import BundleView
from hallapp.ui.ops import wait_idle
from PySide6.QtCore import Qt
from sqlalchemy import Engine, select

from hallapp.bundles import backoffice
from hallapp.bundles.desk import BundleDesk
from hallapp.intake import Intake
from hallapp.models import Staff
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import central_engine, init_central
from hallapp.sync.pull import pull
from hallapp.sync.push import push
from tests.bundles.flow import (
    CLERK_NO,
    GJJ_NO,
    HALL,
    PASSWORD,
    SCJ_NO,
    WINDOW,
    at,
    author_hall,
    config,
)


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[tuple[Store, Engine, Clock]]:
    url = sqlite_url(tmp_path / "central.sqlite3")
    init_central(url)
    central = central_engine(url)
    author_hall(central)
    store = Store.open(sqlite_url(tmp_path / "window.sqlite3"))
    pull(store, central, hall_code=HALL, window_code=WINDOW)
    yield store, central, Clock()
    store.dispose()
    central.dispose()


def sync(store: Store, central: Engine) -> None:
    push(store, central, hall_code=HALL, window_code=WINDOW)
    pull(store, central, hall_code=HALL, window_code=WINDOW)


def test_window_and_back_office_views_take_decide_urge_and_hand_over(
    qtbot: Any, hall: tuple[Store, Engine, Clock], error_log: list[str]
) -> None:
    store, central, clock = hall
    with store.read() as s:
        clerk = s.scalars(select(Staff.id).where(Staff.staff_no == CLERK_NO)).one()
    view = BundleView(BundleDesk(Intake(store, config(), clock=clock)), clerk)
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    view.refresh()
    wait_idle(qtbot)
    assert view.bundle_combo.currentText() == "开办企业一件事"
    wait_idle(qtbot)
    assert view.checklist.count() == 4
    view.applicant.setText("连城县冠豸山文旅发展有限公司")
    view.uscc.setText("91350825MA31K7XQ5P")
    view.phone.setText("13905971234")
    qtbot.mouseClick(view.open_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    assert view.members.rowCount() == 5 and "已收件" in view.summary.text()
    for i in range(view.checklist.count()):
        view.checklist.item(i).setCheckState(Qt.CheckState.Checked)
    # A numbered notice only after the confirmation (Esc: nothing issued).
    qtbot.mouseClick(view.decide_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.confirm_dialog is not None, timeout=5_000)
    dialog = view.confirm_dialog
    assert "受理并出具受理通知书" in dialog.text() and "通知书上的办件编号" in dialog.text()
    dialog.reject()
    wait_idle(qtbot)
    assert "已收件" in view.summary.text()
    qtbot.mouseClick(view.decide_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.confirm_dialog is not None, timeout=5_000)
    with qtbot.waitSignal(view.notice_issued, timeout=10_000) as issued:
        view.confirm_dialog.accept()
    assert issued.args[0].title == "受理通知书"
    wait_idle(qtbot)
    assert view.members.item(0, 3).text() == "2026年11月17日"
    assert "承诺办结 2026年11月17日" in view.summary.text()
    sync(store, central)

    # 市场监管's back office: signs in, sees its one sub-case, lets it run late.
    window = BackOfficeWindow(central, HALL)
    qtbot.addWidget(window)
    window.staff_no.setText(SCJ_NO)
    window.password.setText("wrong")
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    assert "工号或密码不正确" in window.message.text() and window.queue is None
    window.password.setText(PASSWORD)
    qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    assert window.queue is not None and window.queue.table.rowCount() == 1
    assert window.queue.table.item(0, 2).text() == "企业设立登记（有限责任公司）"

    # 公积金 asks for a material from its own queue; refusing without a reason is refused.
    gjj = QueueView(central, HALL, backoffice.sign_in(central, HALL, GJJ_NO, PASSWORD))
    qtbot.addWidget(gjj)
    gjj.refresh()
    wait_idle(qtbot)
    gjj.table.selectRow(0)
    qtbot.mouseClick(gjj.refuse_button, Qt.MouseButton.LeftButton)
    assert error_log and "必须写明理由" in error_log[-1]
    gjj.text.setText("职工花名册")
    qtbot.mouseClick(gjj.request_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    assert "待补充材料：职工花名册" in gjj.table.item(0, 7).text()
    for dep in ("GAJ", "SWJ", "RSJ"):
        me = backoffice.sign_in(central, HALL, SCJ_NO, PASSWORD)
        officer = backoffice.BackOfficer(me.staff_id, me.staff_no, me.name, dep, dep)
        (sub,) = backoffice.queue(central, HALL, officer)
        backoffice.approve(central, HALL, officer, sub.case_id, now=at(1, 2))
    sync(store, central)

    clock.now = at(2)
    view.refresh()
    wait_idle(qtbot)
    assert "已超期" in view.members.item(0, 4).text()
    assert "违反一次性告知" in view.summary.text()
    view.members.selectRow(0)
    view.urge_text.setText("已超过承诺时限，请今日办结")
    qtbot.mouseClick(view.urge_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    view.members.selectRow(4)
    assert view.forward_button.isEnabled()
    qtbot.mouseClick(view.forward_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    assert not view.hand_over_button.isEnabled()
    sync(store, central)

    queue = window.queue
    queue.refresh()
    wait_idle(qtbot)
    assert queue.table.item(0, 8).text().startswith("1 次")
    queue.table.selectRow(0)
    qtbot.mouseClick(queue.approve_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    gjj.refresh()
    wait_idle(qtbot)
    gjj.table.selectRow(0)
    qtbot.mouseClick(gjj.approve_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot)
    sync(store, central)

    clock.now = at(2, 8)
    view.refresh()
    wait_idle(qtbot)
    assert view.hand_over_button.isEnabled(), [view.members.item(i, 4).text() for i in range(5)]
    with qtbot.waitSignal(view.notice_issued, timeout=10_000) as issued:
        qtbot.mouseClick(view.hand_over_button, Qt.MouseButton.LeftButton)
    assert issued.args[0].outcome.startswith("全部办结")
    wait_idle(qtbot)
    assert "已出件" in view.summary.text()
    sync(store, central)

    # The supervisors' tab. The back offices here decided on the real clock,
    # after the deadlines of November 2026: both are late, 市场监管 urged.
    from hallapp.ui.supervisor import SupervisorView

    sv = SupervisorView(store, config(), None, today=date(2026, 11, 30))
    qtbot.addWidget(sv)
    sv.choose("2026-11")
    wait_idle(qtbot, timeout=30_000)
    rows = {r[0]: r for r in sv.bundles.model.table.rows}
    assert rows["SCJ"][4] == 1 and rows["SCJ"][7] == 1, rows  # 超期办结, 催办次数
    assert rows["GJJ"][4] == 1 and rows["GJJ"][8] == 1  # 超期办结, 违反一次性告知
    assert sorted(rows) == ["GAJ", "GJJ", "RSJ", "SCJ", "SWJ"]
    assert all(r[2] == 1 for r in rows.values())  # one sub-case each
    assert all(rows[d][3] == 1 for d in ("GAJ", "SWJ", "RSJ"))  # decided by their deadline
    late = sv.bundles_late.model.table.rows
    assert [(r[0], r[5], r[6]) for r in late] == [
        ("龙岩市住房公积金中心连城管理部", "超期办结", 0),
        ("连城县市场监督管理局", "超期办结", 1),
    ]
