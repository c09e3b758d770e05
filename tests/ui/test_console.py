"""The console around the intake: search, duty (pause, end), help, non-blocking work, start-up."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import time

from hallapp.ui.console import SHORTCUTS
from PySide6.QtCore import Qt, QTimer

from hallapp.intake import MaterialStatus

FOOD = "SCJ-XK-001"


def test_item_search_by_name_code_and_pinyin_initials(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    view = d.intake
    for query in ("食品经营", "SCJ-XK-001", "spjyxk"):
        view.search.clear()
        with qtbot.waitSignal(view.search_done, timeout=10_000):
            d.keys(view.search, query)
        first = view.results.item(0)
        assert first.data(Qt.ItemDataRole.UserRole) == FOOD, query
    # Down arrow moves into the results, Enter loads the guide.
    view.search.setFocus()
    d.key(view.search, Qt.Key.Key_Down)
    assert view.results.hasFocus()
    with qtbot.waitSignal(view.item_loaded, timeout=10_000):
        d.key(view.results, Qt.Key.Key_Return)
    assert "办事程序" in view.guide.toPlainText()
    assert view.table.rowCount() == 7
    # Nothing found: a hint, not an empty list.
    view.search.clear()
    with qtbot.waitSignal(view.search_done, timeout=10_000) as done:
        d.keys(view.search, "zzzzqqq")
    assert done.args == [0]
    assert "没有找到" in view.results.item(0).text()


def test_only_lawful_outcomes_follow_the_checklist(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    d.pick_item("spjy", FOOD)
    d.fill_person("吴敏", "350825199001011230", "13812345678")
    view = d.intake
    enabled = lambda: {o for o, b in view.outcome_buttons.items() if b.isEnabled()}  # noqa: E731
    # A fresh checklist starts with everything missing: only the one-time notice, refusal, referral.
    assert {o.value for o in enabled()} == {"one_time", "reject", "refer"}
    d.mark({})
    assert {o.value for o in enabled()} == {"accept", "reject", "refer"}
    d.mark({5: MaterialStatus.MISSING})  # only the 容缺 one
    assert {o.value for o in enabled()} == {"conditional", "one_time", "reject", "refer"}
    d.mark({5: MaterialStatus.NON_CONFORMING})  # a defective 容缺 material is not deferrable
    assert {o.value for o in enabled()} == {"one_time", "reject", "refer"}
    # A one-time notice needs the defect written down.
    d.shortcut("Ctrl+3")
    assert view.decision_dialog is None
    assert "写明问题" in view.outcome_hint.text()
    # The optional material does not matter.
    d.mark({6: MaterialStatus.MISSING})
    assert {o.value for o in enabled()} == {"accept", "reject", "refer"}
    # By key, an outcome that is not possible says so (there is no greyed
    # button under the clerk's eyes), and so does a missing phone, typed in
    # the phone field itself: the same answer as by mouse.
    d.shortcut("Ctrl+3")
    assert view.decision_dialog is None and "当前不能一次性告知" in view.outcome_hint.text()
    view.phone.setFocus()
    view.phone.clear()
    d.shortcut("Ctrl+1")
    assert view.confirm_dialog is None
    assert "联系电话" in view.applicant_problems.text() and view.phone.hasFocus()
    d.idle()
    assert "联系电话" in view.applicant_problems.text()


def test_pause_resume_and_end_duty_reach_the_citizen_screen(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    citizen = d.citizen
    qtbot.waitUntil(lambda: citizen.name_label.text() == "陈思雨", timeout=10_000)
    assert d.console.duty is not None
    assert d.console.duty_badge.text() == "当班中"
    d.shortcut("F11")
    qtbot.waitUntil(lambda: d.console.pause_dialog is not None)
    dialog = d.console.pause_dialog
    dialog.reason.setCurrentText("业务培训")
    dialog._try_accept()
    qtbot.waitUntil(lambda: d.console.duty is not None and d.console.duty.paused, timeout=10_000)
    assert "业务培训" in d.console.duty_badge.text()
    assert citizen.stack.currentIndex() == citizen.PAGE_PAUSED
    assert "恢复服务" in d.console.pause_button.text()
    d.shortcut("F11")
    qtbot.waitUntil(lambda: not d.console.duty.paused, timeout=10_000)
    assert citizen.stack.currentIndex() == citizen.PAGE_CARD
    d.shortcut("Ctrl+Shift+Q")
    qtbot.waitUntil(lambda: not d.console.signed_in, timeout=10_000)
    assert d.console.stack.currentIndex() == d.console.PAGE_SIGNIN
    assert d.window.ctx.duty.current() is None
    qtbot.waitUntil(citizen.no_duty_label.isVisible, timeout=10_000)
    # The case keys do nothing on the sign-in page (and the list is cleared).
    for key in ("F9", "F10", "Ctrl+E", "Ctrl+P", "F5", "F2"):
        d.shortcut(key)
    d.idle()
    assert not d.console.signed_in and d.cases.model.cases == []
    assert d.errors == []


def test_a_clerk_disabled_at_the_centre_leaves_duty_after_the_pull(demo_app, qtbot):
    """What a pull does to the staff row (active = 0), then the signal the
    background sync sends when reference data changed."""
    from sqlalchemy import select

    from hallapp.models import Staff

    d = demo_app
    d.sign_in()
    citizen = d.citizen
    qtbot.waitUntil(lambda: citizen.name_label.text() == "陈思雨", timeout=10_000)
    d.console.recheck_clerk()  # still active: nothing happens
    d.idle()
    assert d.console.signed_in and d.errors == []
    with d.window.ctx.store.session() as s:
        staff = s.scalar(select(Staff).where(Staff.staff_no == "1003"))
        staff.active = False
    d.console.recheck_clerk()
    qtbot.waitUntil(lambda: not d.console.signed_in, timeout=10_000)
    assert d.console.stack.currentIndex() == d.console.PAGE_SIGNIN
    assert d.window.ctx.duty.current() is None
    qtbot.waitUntil(citizen.no_duty_label.isVisible, timeout=10_000)
    assert len(d.errors) == 1 and "工号 1003（陈思雨）已在中心库停用" in d.errors[0]


def test_help_lists_every_shortcut(demo_app, qtbot):
    from hallapp.ui.console import SHORTCUTS

    d = demo_app
    d.sign_in()
    d.shortcut("F1")
    qtbot.waitUntil(lambda: d.console.help_dialog is not None and d.console.help_dialog.isVisible())
    text = d.console.help_dialog.findChild(type(d.intake.guide)).toPlainText()
    for key, _what in SHORTCUTS:
        assert key in text
    # Every button of the console shows its shortcut.
    for button in [*d.intake.outcome_buttons.values(), *d.cases.buttons.values()]:
        assert "[" in button.text()
    d.console.help_dialog.reject()


def test_printing_does_not_block_the_event_loop(demo_app, qtbot):
    """While the notice renders and prints, a 10 ms timer keeps firing on the GUI thread."""
    d = demo_app
    d.sign_in()
    d.pick_item("spjy", FOOD)
    d.fill_person("周平", "350825199001011230", "13812345678")
    d.mark({})
    d.decide("Ctrl+1")
    preview = d.wait_preview()
    d.window.ctx.printing.max_dpi = 300  # a heavier job than the other tests print
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    started = time.perf_counter()
    with qtbot.waitSignal(preview.printed, timeout=60_000):
        preview.print_now()
    took = time.perf_counter() - started
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    logging.getLogger(__name__).info("print took %.2f s, longest stall %.0f ms", took,
                                     max(gaps) * 1000)  # fmt: skip
    assert took > 0.15  # a real job, long enough to notice a frozen screen
    # Done on the GUI thread, the job would be one stall as long as the job.
    # In a worker thread it stalled 70-480 ms here (PySide6 keeps the GIL while
    # Qt paints a page band); in the child process the timer barely notices.
    assert len(ticks) >= took / 0.010 / 3
    assert max(gaps) < 0.15


def test_main_starts_the_demo_and_stops_on_sigterm(tmp_path):
    """``python -m hallapp.ui --demo`` in its own process: it starts, and SIGTERM ends it cleanly.

    A separate process, because QApplication.exec() can run once per process.
    """
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HALLAPP_LOG_DIR=str(tmp_path / "log"))
    config = tmp_path / "hallapp.toml"
    config.write_text('[window]\ncode = "A03"\n', encoding="utf-8")
    env["HALLAPP_CONFIG"] = str(config)
    log_file = tmp_path / "log" / "hallapp.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallapp.ui", "--demo"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and "demo data ready" not in text:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            text = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
            time.sleep(0.2)  # another process: there is no signal to wait on
        assert "console ready" in text and "demo data ready" in text
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log_file.read_text(encoding="utf-8")
    assert rc == 0, text[-3000:]
    assert "window client stopped" in text
    assert "Traceback" not in text


def test_crash_handler_logs_and_names_the_log_file(qtbot, tmp_path, monkeypatch):
    from hallapp.ui import errors

    log_file = tmp_path / "hallapp.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    import threading

    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    shown: list[str] = []
    errors.set_error_sink(lambda _p, m, _d: shown.append(m))
    monkeypatch.setattr(errors, "_crashing", False)
    exits: list[int] = []
    # The real one ends the event loop, and this test process needs it.
    monkeypatch.setattr(errors, "_exit", exits.append)
    try:
        errors.install_crash_handler(log_file)
        try:
            raise ValueError("boom in a slot")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        errors.set_error_sink(None)
        logging.getLogger().removeHandler(handler)
        handler.close()
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback" in text and "boom in a slot" in text
    assert len(shown) == 1 and str(log_file) in shown[0]
    assert "Traceback" not in shown[0]  # never a traceback on screen
    assert exits == [70]


def test_printer_failure_is_explained_and_nothing_is_lost(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    d.window.ctx.printing.a4_printer = "NoSuchPrinter"
    d.pick_item("spjy", FOOD)
    d.fill_person("冯军", "350825199001011230", "13812345678")
    d.mark({})
    result = d.decide("Ctrl+1")
    preview = d.wait_preview()
    preview.print_now()
    qtbot.waitUntil(lambda: bool(d.errors), timeout=30_000)
    d.idle()
    assert len(d.errors) == 1
    assert "找不到打印机 NoSuchPrinter" in d.errors[0] and "补打" in d.errors[0]
    assert preview.isVisible() and preview.print_button.isEnabled()  # try again
    # The decision and its numbered document are kept.
    assert d.window.ctx.intake.document(result.document_id).doc_no == result.notice.doc_no


def test_clerk_can_withdraw_an_open_evaluation(demo_app, qtbot):
    from hallapp.intake import CaseStatus

    d = demo_app
    d.sign_in()
    d.pick_item("SCJ-DJ", "SCJ-DJ-001")
    d.fill_person("蒋华", "350825199001011230", "13812345678")
    d.mark({})
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=20_000):
        result = d.decide("Ctrl+6")
    assert result.case.status is CaseStatus.COMPLETED
    qtbot.waitUntil(d.console.cancel_eval_button.isVisible)
    with qtbot.waitSignal(d.bridge.evaluation_cancelled, timeout=10_000):
        d.shortcut("Ctrl+Shift+X")
    qtbot.waitUntil(lambda: d.case(result.case.id).evaluation_state == "cancelled", timeout=10_000)
    assert d.case(result.case.id).evaluation_level is None  # never a default rating
    assert not d.console.cancel_eval_button.isVisible()
    assert not d.citizen.evaluating


def test_a_timed_out_invitation_is_offered_again_with_f8(demo_app, qtbot):
    """一次一评: the citizen did not press in time but is still at the window."""
    from hallapp.intake import CaseStatus

    d = demo_app
    d.sign_in()
    d.bridge.desk.timeout_s = 2  # the invitation runs out quickly here
    d.pick_item("SCJ-DJ", "SCJ-DJ-001")
    d.fill_person("蒋华", "350825199001011230", "13812345678")
    d.mark({})
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=20_000):
        result = d.decide("Ctrl+6")
    assert result.case.status is CaseStatus.COMPLETED
    assert not d.console.reoffer_button.isVisible()
    with qtbot.waitSignal(d.bridge.evaluation_expired, timeout=10_000):
        pass
    qtbot.waitUntil(d.console.reoffer_button.isVisible, timeout=5000)
    assert "F8" in d.console.reoffer_button.text()
    assert "F8" in d.console.statusBar().currentMessage()
    assert any(key == "F8" for key, _ in SHORTCUTS)
    qtbot.waitUntil(lambda: d.case(result.case.id).evaluation_state == "expired", timeout=10_000)
    d.bridge.desk.timeout_s = 30
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=10_000):
        d.shortcut("F8")
    assert d.citizen.evaluating and not d.console.reoffer_button.isVisible()
    with qtbot.waitSignal(d.bridge.evaluation_recorded, timeout=10_000) as recorded:
        d.bridge.simulator.press(4)
    assert recorded.args == [result.case.id, 4]
    qtbot.waitUntil(lambda: d.case(result.case.id).evaluation_level == 4, timeout=10_000)
    # Evaluated: F8 offers nothing more.
    d.shortcut("F8")
    d.idle()
    assert not d.citizen.evaluating and d.bridge.desk.current is None
    assert len(d.case(result.case.id).evaluations) == 1
    assert d.errors == []


def test_an_applicant_coming_back_is_found_with_ctrl_f(demo_app, qtbot):
    """Ctrl+F, part of the name or the number, Enter: the case is selected, F10 hands it over."""
    from hallapp.intake import ApplicantInput, CompleteInstantly, MaterialCheck
    from hallapp.models import ApplicantKind
    from hallapp.validation import id_check_char

    d = demo_app
    d.sign_in()
    intake, clerk = d.window.ctx.intake, d.window.ctx.clerk_id
    body = "35082519820716004"
    person = ApplicantInput(kind=ApplicantKind.PERSON, name="林秀英",
                            id_number=body + id_check_char(body), phone="13905970001")  # fmt: skip
    case = intake.open_case(clerk, "SCJ-DJ-001", person)
    item = intake.item("SCJ-DJ-001")
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    intake.decide(case.id, clerk, CompleteInstantly(present))
    for n in range(3):  # others at the window since
        other_body = f"3508251990010100{n}"
        other = ApplicantInput(
            kind=ApplicantKind.PERSON,
            name=f"王{n}",
            id_number=other_body + id_check_char(other_body),
            phone="13600000000",
        )
        intake.open_case(clerk, "SCJ-DJ-001", other)

    d.shortcut("Ctrl+F")
    cases = d.cases
    assert cases.find_box.hasFocus()
    with qtbot.waitSignal(cases.refreshed, timeout=15_000) as listed:
        d.keys(cases.find_box, "秀英")
        d.key(cases.find_box, Qt.Key.Key_Return)
    assert listed.args == [1]
    assert [c.id for c in cases.model.cases] == [case.id]
    assert "查找“秀英”：1 件" in cases.title.text()
    qtbot.waitUntil(cases.table.hasFocus)
    assert cases.current() is not None and cases.current().id == case.id
    d.act("F10")  # 出件, straight from the result (本人领取: Enter)
    qtbot.waitUntil(lambda: d.case(case.id).status.label == "已出件", timeout=15_000)

    # Nothing found is said; Esc brings the latest cases back.
    cases.find_box.setFocus()
    cases.find_box.selectAll()
    with qtbot.waitSignal(cases.refreshed, timeout=15_000) as listed:
        d.keys(cases.find_box, "不存在的人")
        d.key(cases.find_box, Qt.Key.Key_Return)
    assert listed.args == [0] and "没有找到" in cases.title.text()
    with qtbot.waitSignal(cases.refreshed, timeout=15_000) as listed:
        d.key(cases.find_box, Qt.Key.Key_Escape)
    assert listed.args[0] >= 4 and cases.title.text() == "本窗口办件"
    assert d.errors == []
