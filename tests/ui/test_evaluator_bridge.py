"""The evaluator in the client: citizen screen + simulated device over a real pty + SQLite.

Each test runs the bridge in demo mode: the device simulator on a pseudo-
terminal, the real driver reading it on its own thread, the EvaluationDesk
committing to a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hallapp.devices import framed
from hallapp.ui import ops
from hallapp.ui.citizen import NOT_EVALUATED, THANKS, CitizenScreen
from hallapp.ui.evaluator_bridge import SCREEN_DEVICE, EvaluatorBridge
from PySide6.QtCore import Qt
from sqlalchemy import select

from hallapp.config import Config, parse_config
from hallapp.evaluation import BAD_REVIEW_REASONS, LEVEL_LABELS
from hallapp.intake import ApplicantInput, CompleteInstantly, Intake, MaterialCheck, MaterialStatus
from hallapp.models import (
    ApplicantKind,
    CaseEvent,
    CaseEventKind,
    Evaluation,
    FollowUpStep,
    FollowUpStepKind,
)
from hallapp.store import Store
from hallapp.validation import id_check_char


def _person_id(body17: str = "35082519800101231") -> str:
    return body17 + id_check_char(body17)


APPLICANT = ApplicantInput(
    kind=ApplicantKind.PERSON, name="陈志明", id_number=_person_id(), phone="13905971234"
)


def make_config(timeout_s: int = 30, protocol: str = "framed") -> Config:
    return parse_config(
        {
            "hall": {"code": "LC"},
            "window": {"code": "A03"},
            "evaluator": {"timeout_seconds": timeout_s, "protocol": protocol},
        }
    )


def finished_case(store: Store, config: Config, reference) -> str:
    """An instant matter completed on the spot: ready to be evaluated."""
    intake = Intake(store, config)
    case = intake.open_case(reference.clerk_id, reference.instant_code, APPLICANT)
    item = intake.item(reference.instant_code)
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    intake.decide(case.id, reference.clerk_id, CompleteInstantly(present))
    return case.id


def start_bridge(qtbot, store: Store, config: Config) -> tuple[EvaluatorBridge, CitizenScreen]:
    citizen = CitizenScreen(hall_name="连城县行政服务中心", window_code="A03")
    qtbot.addWidget(citizen)
    citizen.show()
    bridge = EvaluatorBridge(store, config, citizen, demo=True)
    with qtbot.waitSignal(bridge.connected_changed, timeout=3000) as connected:
        bridge.start()
    assert connected.args == [True]
    assert bridge.simulator is not None
    return bridge, citizen


@pytest.fixture
def demo(qtbot, store, reference) -> Iterator[tuple[EvaluatorBridge, CitizenScreen, str]]:
    config = make_config()
    case_id = finished_case(store, config, reference)
    bridge, citizen = start_bridge(qtbot, store, config)
    yield bridge, citizen, case_id
    ops.wait_idle(qtbot)
    bridge.stop()


def evaluations(store: Store) -> list[Evaluation]:
    with store.session() as s:
        return list(s.scalars(select(Evaluation)))


def open_and_wait(qtbot, bridge: EvaluatorBridge, case_id: str) -> None:
    with qtbot.waitSignal(bridge.evaluation_opened, timeout=3000) as opened:
        bridge.open_evaluation(case_id)
    assert opened.args == [case_id]
    sim = bridge.simulator
    assert sim is not None
    # The device shows the prompt before the citizen can press.
    qtbot.waitUntil(lambda: sim.current_prompt is not None, timeout=3000)


def test_device_press_records_the_evaluation(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)

    assert citizen.page == CitizenScreen.PAGE_EVALUATE
    assert [b.text() for b in citizen.level_buttons.values()] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert all(b.isVisible() and b.isEnabled() for b in citizen.level_buttons.values())
    assert "请对本次服务进行评价" in citizen.eval_prompt.text()
    assert "社会保障卡申领" in citizen.eval_case.text()
    assert "张丽华" in citizen.eval_case.text()
    sim = bridge.simulator
    assert sim is not None and sim.current_prompt is not None
    assert sim.current_prompt.clerk_name == "张丽华"

    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        sim.press(4)
    assert recorded.args == [case_id, 4]
    # Committed before the device was acknowledged.
    assert sim.wait_ack(timeout=2.0) == framed.AckStatus.OK
    [row] = evaluations(store)
    assert (row.case_id, row.level, row.reasons, row.window_code) == (case_id, 4, [], "A03")
    assert row.device != SCREEN_DEVICE
    assert citizen.page == CitizenScreen.PAGE_MESSAGE
    assert citizen.message_title.text() == THANKS
    assert LEVEL_LABELS[4] in citizen.message_detail.text()

    # 一次一评: a second press on the device is ignored.
    with qtbot.waitSignal(bridge.press_ignored, timeout=3000):
        sim.press(1)
    assert len(evaluations(store)) == 1


def test_bad_review_on_the_device_asks_for_reasons_on_the_screen(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    sim = bridge.simulator
    assert sim is not None

    with qtbot.waitSignal(bridge.awaiting_reasons, timeout=3000) as awaiting:
        sim.press(2)
    assert awaiting.args == [case_id, 2]
    assert sim.wait_ack(timeout=2.0) == framed.AckStatus.NEED_REASONS
    assert evaluations(store) == []  # nothing without a reason
    assert citizen.page == CitizenScreen.PAGE_REASONS
    assert "不满意" in citizen.reasons_title.text()
    assert list(citizen.reason_buttons) == list(BAD_REVIEW_REASONS)
    assert not citizen.submit_button.isEnabled()

    qtbot.mouseClick(citizen.reason_buttons["等候时间长"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(citizen.reason_buttons["政策解释不清"], Qt.MouseButton.LeftButton)
    assert citizen.submit_button.isEnabled()
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        qtbot.mouseClick(citizen.submit_button, Qt.MouseButton.LeftButton)
    assert recorded.args == [case_id, 2]

    [row] = evaluations(store)
    assert row.level == 2
    assert row.reasons == ["等候时间长", "政策解释不清"]
    with store.session() as s:
        steps = list(s.scalars(select(FollowUpStep).where(FollowUpStep.evaluation_id == row.id)))
    assert [st.kind for st in steps] == [FollowUpStepKind.OPENED]
    due = steps[0].due_on
    assert due is not None
    assert citizen.message_title.text() == THANKS
    # What the citizen is promised is the hall's own limits (follow_up.*).
    qtbot.waitUntil(lambda: "回访" in citizen.message_detail.text(), timeout=3000)
    promise = citizen.message_detail.text()
    assert "1 个工作日内回访" in promise
    assert f"{due.month} 月 {due.day} 日前核实整改" in promise


def test_a_press_on_the_screen_counts_like_a_press_on_the_device(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        qtbot.mouseClick(citizen.level_buttons[5], Qt.MouseButton.LeftButton)
    assert recorded.args == [case_id, 5]
    [row] = evaluations(store)
    assert (row.level, row.device) == (5, SCREEN_DEVICE)
    # The device's prompt is withdrawn once the case is evaluated.
    sim = bridge.simulator
    assert sim is not None
    qtbot.waitUntil(lambda: sim.current_prompt is None, timeout=3000)


def test_bad_review_on_the_screen_needs_a_reason_too(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    with qtbot.waitSignal(bridge.awaiting_reasons, timeout=3000):
        qtbot.mouseClick(citizen.level_buttons[1], Qt.MouseButton.LeftButton)
    assert citizen.page == CitizenScreen.PAGE_REASONS
    # The citizen changes their mind: back to the five buttons, 满意 instead.
    qtbot.mouseClick(citizen.reconsider_button, Qt.MouseButton.LeftButton)
    assert citizen.page == CitizenScreen.PAGE_EVALUATE
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        qtbot.mouseClick(citizen.level_buttons[4], Qt.MouseButton.LeftButton)
    assert recorded.args == [case_id, 4]
    assert [r.level for r in evaluations(store)] == [4]


def test_time_out_is_not_evaluated_and_never_a_default_rating(qtbot, store, reference):
    config = make_config(timeout_s=1)
    case_id = finished_case(store, config, reference)
    bridge, citizen = start_bridge(qtbot, store, config)
    try:
        with qtbot.waitSignal(bridge.evaluation_expired, timeout=5000) as expired:
            bridge.open_evaluation(case_id)
        assert expired.args == [case_id]
        assert citizen.page == CitizenScreen.PAGE_MESSAGE
        assert citizen.message_title.text() == NOT_EVALUATED
        assert evaluations(store) == []
        with store.session() as s:
            kinds = list(s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)))
        assert kinds[-2:] == [CaseEventKind.EVALUATION_OPENED, CaseEventKind.EVALUATION_EXPIRED]
        # A press after the time-out does not count either.
        sim = bridge.simulator
        assert sim is not None
        with qtbot.waitSignal(bridge.press_ignored, timeout=3000):
            sim.press(5)
        assert evaluations(store) == []
    finally:
        ops.wait_idle(qtbot)
        bridge.stop()


def test_a_press_with_nothing_open_is_ignored(qtbot, demo, store):
    bridge, citizen, _case_id = demo
    sim = bridge.simulator
    assert sim is not None
    with qtbot.waitSignal(bridge.press_ignored, timeout=3000) as ignored:
        sim.press(5)
    assert ignored.args == [5]
    assert sim.wait_ack(timeout=2.0) == framed.AckStatus.IGNORED
    assert evaluations(store) == []
    assert citizen.page == CitizenScreen.PAGE_CARD


def test_unplug_and_replug_is_seen_on_screen(qtbot, demo):
    # The 2 s target is benchmarks/bench_evaluator.py's replug figure; the
    # waits here only keep a broken reconnect from hanging the suite.
    bridge, _citizen, case_id = demo
    sim = bridge.simulator
    assert sim is not None
    with qtbot.waitSignal(bridge.connected_changed, timeout=10_000) as lost:
        sim.unplug()
    assert lost.args == [False]
    assert not bridge.connected
    assert "中断" in bridge.status_text()
    with qtbot.waitSignal(bridge.connected_changed, timeout=10_000) as back:
        sim.replug()
    assert back.args == [True]
    assert bridge.connected
    # And it works again after the re-plug.
    open_and_wait(qtbot, bridge, case_id)
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        sim.press(3)
    assert recorded.args == [case_id, 3]


def test_a_device_restarted_with_the_port_open_gets_its_duty_card_again(qtbot, demo):
    """docs/evaluator-protocol.md §5: after a frame with SEQ 0 (power came
    back, the port stayed open) the host sends SHOW_DUTY_CARD again."""
    from hallapp.documents import DutyCard

    bridge, _citizen, _case = demo
    sim = bridge.simulator
    assert sim is not None
    card = DutyCard(hall_name="连城县行政服务中心", department_name="市场监管局",
                    window_code="A03", name="陈思雨", title="窗口负责人", staff_no="1003",
                    phone="")  # fmt: skip
    bridge.set_duty_card(card)
    qtbot.waitUntil(lambda: sim.duty_card is not None, timeout=5000)
    sim.power_cycle()
    assert sim.duty_card is None
    sim.press(0)  # any frame: the first after power-up carries SEQ 0
    qtbot.waitUntil(lambda: sim.duty_card is not None, timeout=5000)
    assert sim.duty_card.name == "陈思雨"


def test_keycode_device_works_through_the_same_rules(qtbot, store, reference):
    config = make_config(protocol="keycode")
    case_id = finished_case(store, config, reference)
    bridge, _citizen = start_bridge(qtbot, store, config)
    try:
        sim = bridge.simulator
        assert sim is not None and sim.protocol == "keycode"
        with qtbot.waitSignal(bridge.evaluation_opened, timeout=3000):
            bridge.open_evaluation(case_id)
        with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
            sim.press(5)
        assert recorded.args == [case_id, 5]
        assert [r.level for r in evaluations(store)] == [5]
    finally:
        ops.wait_idle(qtbot)
        bridge.stop()


def test_opening_an_evaluated_case_again_reports_a_chinese_error(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000):
        qtbot.mouseClick(citizen.level_buttons[5], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(bridge.error, timeout=3000) as error:
        bridge.open_evaluation(case_id)
    assert "已经评价过" in error.args[0]
    assert len(evaluations(store)) == 1


def test_cancel_returns_the_screen_to_the_card(qtbot, demo, store):
    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    with qtbot.waitSignal(bridge.evaluation_cancelled, timeout=3000) as cancelled:
        bridge.cancel()
    assert cancelled.args == [case_id]
    assert citizen.page == CitizenScreen.PAGE_CARD
    assert evaluations(store) == []


# The offscreen platform warns when a shown window's size hints change.
@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_demo_keypad_walks_the_whole_flow(qtbot, demo, store):
    from hallapp.ui.sim_panel import SimulatorPanel

    bridge, citizen, case_id = demo
    assert bridge.simulator is not None
    panel = SimulatorPanel(bridge.simulator)
    qtbot.addWidget(panel)
    panel.show()
    open_and_wait(qtbot, bridge, case_id)
    qtbot.waitUntil(lambda: "请评价" in panel.display.text(), timeout=3000)

    with qtbot.waitSignal(bridge.awaiting_reasons, timeout=3000):
        qtbot.mouseClick(panel.key_buttons[1], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "选择原因" in panel.status.text(), timeout=3000)
    qtbot.mouseClick(citizen.reason_buttons["办事效率低"], Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        qtbot.mouseClick(citizen.submit_button, Qt.MouseButton.LeftButton)
    assert recorded.args == [case_id, 1]
    assert [(r.level, r.reasons) for r in evaluations(store)] == [(1, ["办事效率低"])]

    with qtbot.waitSignal(bridge.connected_changed, timeout=2000) as lost:
        qtbot.mouseClick(panel.plug_button, Qt.MouseButton.LeftButton)
    assert lost.args == [False]
    qtbot.waitUntil(lambda: "连接" in panel.plug_button.text() and panel.plug_button.isEnabled())
    assert not panel.key_buttons[5].isEnabled()
    with qtbot.waitSignal(bridge.connected_changed, timeout=2000) as back:
        qtbot.mouseClick(panel.plug_button, Qt.MouseButton.LeftButton)
    assert back.args == [True]


def test_the_gui_thread_never_touches_the_database(qtbot, demo, store):
    import threading

    from sqlalchemy import event

    bridge, citizen, case_id = demo
    threads: list[str] = []

    def on_execute(*_args) -> None:
        threads.append(threading.current_thread().name)

    # Every statement, on the thread that runs it.
    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        open_and_wait(qtbot, bridge, case_id)
        with qtbot.waitSignal(bridge.awaiting_reasons, timeout=3000):
            qtbot.mouseClick(citizen.level_buttons[2], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(citizen.reason_buttons["服务态度差"], Qt.MouseButton.LeftButton)
        with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000):
            qtbot.mouseClick(citizen.submit_button, Qt.MouseButton.LeftButton)
        ops.wait_idle(qtbot)
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert threads, "the flow used the database"
    assert threading.main_thread().name not in threads


def test_reasons_not_given_in_time_is_not_evaluated(qtbot, store, reference):
    config = make_config(timeout_s=2)
    case_id = finished_case(store, config, reference)
    bridge, citizen = start_bridge(qtbot, store, config)
    try:
        open_and_wait(qtbot, bridge, case_id)
        sim = bridge.simulator
        assert sim is not None
        with qtbot.waitSignal(bridge.awaiting_reasons, timeout=3000):
            sim.press(1)
        assert citizen.page == CitizenScreen.PAGE_REASONS
        # The citizen walks away without choosing a reason.
        with qtbot.waitSignal(bridge.evaluation_expired, timeout=5000) as expired:
            pass
        assert expired.args == [case_id]
        assert citizen.message_title.text() == NOT_EVALUATED
        assert evaluations(store) == []
        with store.session() as s:
            last = s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id)
                .order_by(CaseEvent.seq.desc())
                .limit(1)
            ).one()
        # Not evaluated, but the pressed 差评 is kept for the supervisors.
        assert last.kind == CaseEventKind.EVALUATION_EXPIRED
        assert last.data["pressed_level"] == 1
    finally:
        ops.wait_idle(qtbot)
        bridge.stop()


def test_a_configured_port_connects_when_the_device_appears(qtbot, store, reference, tmp_path):
    from hallapp.devices.simulator import Simulator

    link = tmp_path / "ttyEVAL"
    config = parse_config(
        {
            "hall": {"code": "LC"},
            "window": {"code": "A03"},
            "evaluator": {"port": str(link), "protocol": "framed", "timeout_seconds": 30},
        }
    )
    case_id = finished_case(store, config, reference)
    citizen = CitizenScreen()
    qtbot.addWidget(citizen)
    # demo=True, but a port is configured: the real port is used, no simulator.
    bridge = EvaluatorBridge(store, config, citizen, demo=True)
    bridge.start()
    sim = Simulator("framed")
    try:
        assert bridge.simulator is None
        assert not bridge.connected
        assert "连接" in bridge.status_text()
        with qtbot.waitSignal(bridge.connected_changed, timeout=2000) as connected:
            sim.start_pty(link=link)  # the device is plugged in
        assert connected.args == [True]
        with qtbot.waitSignal(bridge.evaluation_opened, timeout=3000):
            bridge.open_evaluation(case_id)
        qtbot.waitUntil(lambda: sim.current_prompt is not None, timeout=3000)
        with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
            sim.press(5)
        assert recorded.args == [case_id, 5]
    finally:
        ops.wait_idle(qtbot)
        bridge.stop()
        sim.stop()


def test_without_a_citizen_screen_the_device_still_evaluates(qtbot, store, reference):
    config = make_config()
    case_id = finished_case(store, config, reference)
    bridge = EvaluatorBridge(store, config, None, demo=True)
    with qtbot.waitSignal(bridge.connected_changed, timeout=3000):
        bridge.start()
    try:
        open_and_wait(qtbot, bridge, case_id)
        sim = bridge.simulator
        assert sim is not None
        with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
            sim.press(5)
        assert recorded.args == [case_id, 5]
    finally:
        ops.wait_idle(qtbot)
        bridge.stop()
        bridge.stop()  # the console and the app may both stop it
    assert bridge.driver is not None and bridge.driver.state.value == "stopped"
    assert "未启动" in bridge.status_text()


def test_a_press_while_another_program_writes_is_kept_and_the_citizen_thanked(qtbot, demo, store):
    # Another process holds the database's write lock longer than a press may
    # wait: the press is kept (the citizen is thanked, not asked to press
    # again), written when the lock is free, and the device ACKed then.
    import subprocess
    import sys

    bridge, citizen, case_id = demo
    open_and_wait(qtbot, bridge, case_id)
    sim = bridge.simulator
    assert sim is not None
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(store.engine.url.database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        sim.press(5)
        qtbot.waitUntil(lambda: citizen.page == CitizenScreen.PAGE_MESSAGE, timeout=5000)
        assert citizen.message_title.text() == THANKS
        assert "评价已收到" in citizen.message_detail.text()
        assert bridge.desk.kept == 1
        assert sim.wait_ack(timeout=0.2) is None
    finally:
        holder.kill()
        holder.wait()
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=5000) as recorded:
        pass
    assert recorded.args == [case_id, 5]
    assert sim.wait_ack(timeout=3.0) == framed.AckStatus.OK
    [row] = evaluations(store)
    assert (row.case_id, row.level) == (case_id, 5)


def test_a_device_that_refuses_the_prompt_sends_the_citizen_to_the_screen(qtbot, demo, store):
    """The clerk is told the device refused the prompt; the citizen screen no
    longer says to press the evaluator's keys, and the screen's buttons rate."""
    bridge, citizen, case_id = demo
    sim = bridge.simulator
    assert sim is not None
    sim.prompt_status = framed.AckStatus.REJECTED
    with qtbot.waitSignal(bridge.error, timeout=3000) as told:
        bridge.open_evaluation(case_id)
    assert "评价器拒绝了本次评价提示" in told.args[0]
    qtbot.waitUntil(lambda: "评价器暂不能使用" in citizen.eval_status.text(), timeout=3000)
    assert "请按评价器上的按键" not in citizen.eval_status.text()
    with qtbot.waitSignal(bridge.evaluation_recorded, timeout=3000) as recorded:
        citizen.level_buttons[5].click()
    assert recorded.args == [case_id, 5]
