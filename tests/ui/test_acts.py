"""Numbered acts are never one stray keystroke; 出件 records who collected; the finder keeps
the case being acted on (issue 10, "Numbered acts are never one stray keystroke")."""

from __future__ import annotations

import threading
from typing import Any

from hallapp.ui import ops
from hallapp.ui.intake_view import ConfirmActDialog
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from hallapp.intake import (
    ApplicantInput,
    CaseStatus,
    CollectionMethod,
    CompleteInstantly,
    MaterialCheck,
    MaterialStatus,
)
from hallapp.models import ApplicantKind, Case, CaseEvent, IssuedDocument, NumberCounter
from hallapp.validation import id_check_char

FOOD = "SCJ-XK-001"  # 食品经营许可: 承诺件
INSTANT = "SCJ-DJ-001"  # 个体工商户设立登记: 即办件


def _id(body: str = "35082519900101123") -> str:
    return body + id_check_char(body)


def _counters(store: Any) -> dict[str, int]:
    with store.session() as s:
        return {c.scope: c.last for c in s.scalars(select(NumberCounter))}


def _count(store: Any, model: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _esc(d: Any) -> None:
    dialog = d.pending_act()
    d.qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    target = dialog.focusWidget() or dialog
    d.qtbot.keyClick(target, Qt.Key.Key_Escape)
    d.qtbot.waitUntil(lambda: d.pending_act() is None, timeout=5_000)


def _ready(d: Any, code: str = FOOD, name: str = "王芳") -> None:
    d.sign_in()
    d.pick_item(code.split("-0", maxsplit=1)[0], code)
    d.fill_person(name, _id(), "13812345678")
    d.mark({})


def test_stray_ctrl1_consumes_no_number_enter_issues(demo_app, qtbot, ui_store):
    d = demo_app
    _ready(d)
    before = _counters(ui_store)
    cases_before, docs_before = _count(ui_store, Case), _count(ui_store, IssuedDocument)
    d.shortcut("Ctrl+1")
    qtbot.waitUntil(lambda: d.intake.confirm_dialog is not None, timeout=5_000)
    dialog = d.intake.confirm_dialog
    assert isinstance(dialog, ConfirmActDialog)
    shown = dialog.summary.text()
    # What will be issued, to whom, for which item; the number is masked.
    assert "受理通知书" in shown and "王芳" in shown and FOOD in shown
    assert _id() not in shown and _id()[-4:] in shown
    _esc(d)
    d.idle()
    assert _counters(ui_store) == before
    assert _count(ui_store, Case) == cases_before
    assert _count(ui_store, IssuedDocument) == docs_before
    assert d.intake.case_id is None  # the form is still there, nothing was opened
    # The same key and Enter issue it.
    result = d.decide("Ctrl+1")
    assert result.case.status is CaseStatus.ACCEPTED
    assert result.notice is not None and result.notice.doc_type.value == "acceptance"
    assert _count(ui_store, IssuedDocument) == docs_before + 1
    assert _counters(ui_store) != before
    d.close_preview()
    assert d.errors == []


def test_stray_ctrl6_and_dialog_outcomes_consume_nothing(demo_app, qtbot, ui_store):
    d = demo_app
    _ready(d, INSTANT)
    before = _counters(ui_store)
    events = _count(ui_store, CaseEvent)
    d.shortcut("Ctrl+6")
    qtbot.waitUntil(lambda: d.intake.confirm_dialog is not None, timeout=5_000)
    assert "即办办结" in d.intake.confirm_dialog.summary.text()
    _esc(d)
    # Ctrl+4 opens its dialog with the same summary; Esc there issues nothing either.
    d.shortcut("Ctrl+4")
    qtbot.waitUntil(lambda: d.intake.decision_dialog is not None, timeout=5_000)
    summary = d.intake.decision_dialog.summary.text()
    assert "不予受理决定书" in summary and "王芳" in summary and INSTANT in summary
    d.qtbot.keyClick(d.intake.decision_dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: d.intake.decision_dialog is None, timeout=5_000)
    d.idle()
    assert _counters(ui_store) == before
    assert _count(ui_store, CaseEvent) == events
    assert d.errors == []


def _instant_case(d: Any, name: str, body: str) -> Any:
    intake, clerk = d.window.ctx.intake, d.window.ctx.clerk_id
    person = ApplicantInput(kind=ApplicantKind.PERSON, name=name, id_number=_id(body),
                            phone="13905970001")  # fmt: skip
    case = intake.open_case(clerk, INSTANT, person)
    item = intake.item(INSTANT)
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    return intake.decide(case.id, clerk, CompleteInstantly(present)).case


def test_f9_asks_first_and_enter_completes(demo_app, qtbot, ui_store):
    d = demo_app
    _ready(d)
    case = d.decide("Ctrl+1").case
    d.close_preview()
    d.select_case(case.id)
    d.shortcut("F9")
    qtbot.waitUntil(lambda: d.cases.confirm_dialog is not None, timeout=5_000)
    text = d.cases.confirm_dialog.summary.text()
    assert "办结" in text and case.case_no in text and "王芳" in text and FOOD in text
    _esc(d)
    d.idle()
    assert d.window.ctx.intake.case_view(case.id).status is CaseStatus.ACCEPTED
    d.act("F9")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.COMPLETED, timeout=10_000)
    assert d.errors == []


def test_f10_records_an_agent_with_a_valid_masked_id(demo_app, qtbot, ui_store):
    d = demo_app
    d.sign_in()
    case = _instant_case(d, "林秀英", "35082519820716004")
    d.cases.refresh()
    d.select_case(case.id)
    d.shortcut("F10")
    qtbot.waitUntil(lambda: d.cases.hand_over_dialog is not None, timeout=5_000)
    dialog = d.cases.hand_over_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    assert "林秀英" in dialog.summary.text()
    dialog.activateWindow()  # as the window manager does when it opens
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5_000)
    dialog.method.setCurrentIndex(dialog.method.findData(CollectionMethod.AGENT.value))
    d.keys(dialog.agent_name, "陈大明")
    agent = _id("35082519700202003")
    wrong = agent[:-1] + ("0" if agent[-1] != "0" else "1")
    dialog.agent_id.setFocus()
    d.keys(dialog.agent_id, wrong)
    d.key(dialog.agent_id, Qt.Key.Key_Tab)
    dialog._try_accept()
    assert dialog.isVisible() and "代领人证件号码有误" in dialog.error.text()
    dialog.agent_id.setFocus()
    dialog.agent_id.selectAll()
    d.keys(dialog.agent_id, agent)
    d.key(dialog.agent_id, Qt.Key.Key_Tab)
    assert dialog.agent_id.is_masked()  # the number is hidden on screen once entered
    dialog._try_accept()
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.HANDED_OVER, timeout=10_000)
    d.idle()
    detail = d.cases.detail.toPlainText()
    assert "代领人 陈大明" in detail and agent[-4:] in detail and agent not in detail
    with ui_store.session() as s:
        ev = s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "handed_over")
        ).one()
        # Only the masked number is kept.
        assert ev.data["method"] == "agent" and agent not in str(ev.data)
    assert d.errors == []


def test_f10_records_a_delivery_with_its_tracking_number(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    case = _instant_case(d, "林秀英", "35082519820716004")
    d.cases.refresh()
    d.select_case(case.id)
    d.shortcut("F10")
    qtbot.waitUntil(lambda: d.cases.hand_over_dialog is not None, timeout=5_000)
    dialog = d.cases.hand_over_dialog
    dialog.method.setCurrentIndex(dialog.method.findData(CollectionMethod.MAIL.value))
    d.keys(dialog.tracking, "12#4")
    dialog._try_accept()
    assert dialog.isVisible() and "邮件单号" in dialog.error.text()
    dialog.tracking.clear()
    d.keys(dialog.tracking, "sf 1234 5678 9012")
    dialog._try_accept()
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.HANDED_OVER, timeout=10_000)
    d.idle()
    detail = d.cases.detail.toPlainText()
    assert "邮寄送达" in detail and "中国邮政EMS" in detail and "SF123456789012" in detail
    assert d.errors == []


def test_f10_enter_is_collected_by_the_applicant(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    case = _instant_case(d, "林秀英", "35082519820716004")
    d.cases.refresh()
    d.select_case(case.id)
    d.act("F10")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.HANDED_OVER, timeout=10_000)
    d.idle()
    assert "申请人本人领取" in d.cases.detail.toPlainText()
    assert d.errors == []


def test_finder_never_hides_the_case_acted_on(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    other = _instant_case(d, "林秀英", "35082519820716004")
    cases = d.cases
    # The finder shows someone else's case while the next applicant is served.
    d.shortcut("Ctrl+F")
    with qtbot.waitSignal(cases.refreshed, timeout=15_000):
        d.keys(cases.find_box, "秀英")
        d.key(cases.find_box, Qt.Key.Key_Return)
    assert [c.id for c in cases.model.cases] == [other.id]
    d.shortcut("F2")
    d.pick_item("SCJ-XK", FOOD)
    d.fill_person("王芳", _id(), "13812345678")
    d.mark({})
    acted = d.decide("Ctrl+1").case
    d.close_preview()
    d.shortcut("F4")
    # A refresh under the same filter keeps the decided case, selected.
    with qtbot.waitSignal(cases.refreshed, timeout=15_000):
        cases.refresh()
    assert cases.model.row_of(acted.id) >= 0
    assert cases.current() is not None and cases.current().id == acted.id
    # 显示已出件 off: the case handed over stays listed and selected after the refresh.
    with qtbot.waitSignal(cases.refreshed, timeout=15_000):
        cases.show_closed.setChecked(False)
    d.select_case(other.id)
    d.act("F10")
    qtbot.waitUntil(lambda: d.case(other.id).status is CaseStatus.HANDED_OVER, timeout=10_000)
    d.idle()
    with qtbot.waitSignal(cases.refreshed, timeout=15_000):
        cases.refresh()
    d.idle()
    assert cases.model.row_of(other.id) >= 0
    assert cases.current() is not None and cases.current().id == other.id
    assert d.errors == []


def test_returning_applicant_keeps_what_was_received_and_is_warned_of_new_demands(
    demo_app, qtbot, ui_store
):
    d = demo_app
    d.sign_in()
    d.pick_item("SCJ-XK", FOOD)
    d.fill_person("王芳", _id(), "13812345678")
    d.mark({0: MaterialStatus.MISSING, 1: MaterialStatus.NON_CONFORMING},
           notes={1: "复印件不清晰"})  # fmt: skip
    first = d.decide_with_dialog("Ctrl+3", lambda dialog: None).case
    assert first.status is CaseStatus.AWAITING_CORRECTION
    d.close_preview()
    # The applicant comes back: 登记补正 (Ctrl+R).
    d.select_case(first.id)
    d.shortcut("Ctrl+R")
    view = d.intake
    qtbot.waitUntil(lambda: view.correcting is not None and view._rows != [], timeout=10_000)
    d.idle()
    statuses = [c.status for c in view.checks()]
    # Only the missing and non-conforming materials are to be checked again.
    assert statuses[0] is MaterialStatus.MISSING and statuses[1] is MaterialStatus.MISSING
    assert all(s is MaterialStatus.PRESENT for s in statuses[2:5])
    assert "复印件不清晰" in view._rows[1].note.placeholderText()
    # The applicant's details stay.
    assert view.name.text() == "王芳" and view.phone.text() == "13812345678"
    assert _id()[-4:] in view.ident.text() and _id() not in view.ident.text()
    # Material 3 (received last time) is now found wanting: a new demand.
    d.mark({0: MaterialStatus.PRESENT, 1: MaterialStatus.PRESENT, 2: MaterialStatus.MISSING})
    new_name = view.item.materials[2].name
    d.shortcut("Ctrl+3")
    qtbot.waitUntil(lambda: view.decision_dialog is not None, timeout=5_000)
    dialog = view.decision_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    warned = dialog.findChildren(type(dialog.summary))
    assert any("首次一次性告知中没有要求" in w.text() and new_name in w.text() for w in warned)
    counters = _counters(ui_store)
    d.qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # the clerk thinks again: nothing recorded
    qtbot.waitUntil(lambda: view.decision_dialog is None, timeout=5_000)
    d.idle()
    assert _counters(ui_store) == counters
    assert d.window.ctx.intake.case_view(first.id).one_time_violations == 0

    def with_reason(dialog: Any) -> None:
        d.keys(dialog.new_reason, "新提交的平面图与申请地址不一致")

    result = d.decide_with_dialog("Ctrl+3", with_reason)
    d.close_preview()
    # With the reason given, the new demand is explained, not a violation.
    assert result.violations == ()
    assert result.case.one_time_violations == 0
    assert d.errors == []


def test_f10_right_after_f9_hands_the_completed_case_over(demo_app, qtbot, ui_store):
    """The keyboard flow the README promises: F9, Enter (办结), then F10 at once
    opens 出件 for the same case (it did nothing until the row was clicked)."""
    d = demo_app
    _ready(d)
    case = d.decide("Ctrl+1").case
    d.close_preview()
    d.select_case(case.id)
    d.act("F9")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.COMPLETED, timeout=10_000)
    d.idle()
    d.shortcut("F10")
    qtbot.waitUntil(lambda: d.cases.hand_over_dialog is not None, timeout=5_000)
    assert case.case_no in d.cases.hand_over_dialog.summary.text()
    assert d.errors == []


def test_a_list_read_before_an_act_does_not_undo_it(demo_app, qtbot, ui_store, monkeypatch):
    """The list reloads while the clerk works (opening the page, the periodic
    refresh). A reload that read the database before 办结 landed put the row
    back to 已受理 (F10 then did nothing), and one that read before a decision
    dropped the new case from the list."""
    d = demo_app
    _ready(d)
    case = d.decide("Ctrl+1").case
    d.close_preview()
    # The next applicant's form is ready before the list starts loading.
    d.console.new_case()
    _ready_again(d, "李明")
    d.select_case(case.id)
    d.idle()
    intake = d.cases.ctx.intake
    real = intake.window_cases
    read, release = threading.Event(), threading.Event()

    def slow_list(*args: Any, **kwargs: Any) -> Any:
        views = real(*args, **kwargs)
        read.set()
        release.wait(30)
        return views

    monkeypatch.setattr(intake, "window_cases", slow_list)
    d.cases.refresh()
    assert read.wait(10)  # the list is read: 已受理, and no second case yet
    d.act("F9")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.COMPLETED, timeout=10_000)
    # The second applicant is decided while the stale list is still on its way.
    d.console.tabs.setCurrentWidget(d.intake)
    second = d.decide("Ctrl+1").case
    d.close_preview()
    qtbot.waitUntil(lambda: d.cases.model.row_of(second.id) >= 0, timeout=10_000)
    monkeypatch.setattr(intake, "window_cases", real)
    # Only the stale list is still out (the evaluations' own reloads have landed).
    qtbot.waitUntil(lambda: ops.pending() == 1, timeout=15_000)
    with qtbot.waitSignal(d.cases.refreshed, timeout=10_000):
        release.set()
    assert d.case(case.id).status is CaseStatus.COMPLETED
    assert d.cases.model.row_of(second.id) == 0  # the newest case, on top
    assert "已办结" in d.cases.model.texts(d.cases.model.row_of(case.id))
    d.idle()
    # The next refresh reads the database itself again.
    with qtbot.waitSignal(d.cases.refreshed, timeout=10_000):
        d.cases.refresh()
    assert d.case(case.id).status is CaseStatus.COMPLETED
    assert d.cases.model.row_of(second.id) >= 0
    d.select_case(case.id)
    d.shortcut("F10")
    qtbot.waitUntil(lambda: d.cases.hand_over_dialog is not None, timeout=5_000)
    assert d.errors == []


def _ready_again(d: Any, name: str) -> None:
    """The next applicant at a signed-in window (the item search, the person, all materials)."""
    d.pick_item(FOOD.split("-0", maxsplit=1)[0], FOOD)
    d.fill_person(name, _id("35082519850202123"), "13912345678")
    d.mark({})


def test_an_instant_item_with_every_material_points_to_ctrl6_not_a_contradiction(demo_app):
    """即办件 with all materials: the hint said 当前不能受理：材料齐全：可以受理并当场办结."""
    d = demo_app
    _ready(d, INSTANT)
    view = d.intake
    assert view.outcome_hint.text() == "材料齐全：即办件，请当场办结（Ctrl+6）"
    d.shortcut("Ctrl+1")
    assert view.confirm_dialog is None
    text = view.outcome_hint.text()
    assert "Ctrl+6" in text and "可以受理" not in text
    assert d.errors == []
