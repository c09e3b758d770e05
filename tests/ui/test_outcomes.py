"""The other decisions at the window, and 差评 with a reason chosen on the citizen screen."""

from __future__ import annotations

import pytest
from hallapp.devices import framed
from PySide6.QtCore import Qt
from sqlalchemy import select

from hallapp.intake import CaseStatus, MaterialStatus, Outcome
from hallapp.models import Evaluation

FOOD = "SCJ-XK-001"  # 5 required (#6 容缺), #7 optional
INSTANT = "SCJ-DJ-001"  # 个体工商户设立登记: 即办件


def _id(body: str = "35082519900101123") -> str:
    from hallapp.validation import id_check_char

    return body + id_check_char(body)


def _uscc(body: str = "91350825MA2Y0A1B2") -> str:
    from hallapp.validation import uscc_check_char

    return body + uscc_check_char(body)


def _start(d, query: str, code: str, name: str = "王芳") -> None:
    d.sign_in()
    d.pick_item(query, code)
    d.fill_person(name, _id(), "13812345678")


def test_bad_review_with_reason_chosen_on_citizen_screen(demo_app, qtbot):
    d = demo_app
    _start(d, "SCJ-DJ", INSTANT)
    d.mark({})
    assert d.intake.lawful() == {Outcome.INSTANT, Outcome.REJECT, Outcome.REFER}
    assert not d.intake.outcome_buttons[Outcome.ACCEPT].isEnabled()
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=20_000):
        result = d.decide("Ctrl+6")
    case = result.case
    assert case.status is CaseStatus.COMPLETED
    assert result.notice is None  # an instant case hands over the result, no notice
    assert d.console.preview is None
    # 不满意 on the device: the citizen screen asks why.
    with qtbot.waitSignal(d.bridge.awaiting_reasons, timeout=15_000) as waiting:
        d.bridge.simulator.press(2)
    assert waiting.args == [case.id, 2]
    qtbot.waitUntil(lambda: d.citizen.stack.currentIndex() == d.citizen.PAGE_REASONS)
    reason = next(iter(d.citizen.reason_buttons))
    with qtbot.waitSignal(d.bridge.evaluation_recorded, timeout=15_000) as recorded:
        qtbot.mouseClick(d.citizen.reason_buttons[reason], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(d.citizen.submit_button, Qt.MouseButton.LeftButton)
    assert recorded.args == [case.id, 2]
    # The level came from the device: the evaluation carries the identity from
    # its DEVICE_HEARTBEAT, though the reasons were chosen on the screen; and
    # the device, answered NEED_REASONS before, now gets ACK OK: it thanks.
    sim = d.bridge.simulator
    with d.window.ctx.store.session() as s:
        (device,) = s.scalars(select(Evaluation.device).where(Evaluation.case_id == case.id))
    assert device == sim.device_id
    qtbot.waitUntil(lambda: sim.display == "thanks", timeout=5000)
    assert sim.acks[sim.last_key_seq] == framed.AckStatus.OK
    qtbot.waitUntil(lambda: d.cases.model.row_of(case.id) >= 0)
    qtbot.waitUntil(lambda: d.case(case.id).evaluation_level == 2, timeout=10_000)
    row = d.cases.model.row_of(case.id)
    assert d.cases.model.index(row, 6).data() == "不满意"
    # The case's detail says why, and that the 差评 goes to follow-up.
    evaluated = d.case(case.id)
    assert evaluated.evaluation_reasons == (reason,)
    assert evaluated.follow_up.startswith("待核实，") and "前办结" in evaluated.follow_up
    d.console.show_cases()
    d.cases.select(case.id)
    detail = d.cases.detail.toPlainText()
    assert "差评原因" in detail and reason in detail
    assert "整改回访" in detail and "待核实" in detail
    from hallapp.evaluation import EvaluationDesk  # noqa: F401  (the record is the desk's)

    with d.window.ctx.store.session() as s:
        ev = s.query(Evaluation).filter_by(case_id=case.id).one()
        assert ev.level == 2
        assert reason in str(ev.reasons)
    assert d.errors == []


def test_conditional_acceptance_then_deferred_materials(demo_app, qtbot):
    d = demo_app
    _start(d, "食品经营", FOOD)
    d.mark({5: MaterialStatus.MISSING, 6: MaterialStatus.MISSING})
    assert d.intake.lawful() == {Outcome.CONDITIONAL, Outcome.ONE_TIME, Outcome.REJECT,
                                 Outcome.REFER}  # fmt: skip

    def fill(dialog):
        dialog.days.setValue(5)

    result = d.decide_with_dialog("Ctrl+2", fill)
    case = result.case
    assert case.status is CaseStatus.CONDITIONALLY_ACCEPTED
    assert case.owed_materials and "健康证明" in case.owed_materials[0]
    assert result.notice.doc_type.value == "conditional"
    assert result.notice.commitment  # the standard written commitment
    d.wait_preview()
    d.close_preview()
    d.select_case(case.id)
    assert not d.cases.buttons["complete"].isEnabled()  # not before the owed materials
    assert d.cases.buttons["deferred"].isEnabled()
    assert "容缺待补" in d.cases.detail.toPlainText()
    d.shortcut("Ctrl+D")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.ACCEPTED, timeout=10_000)
    d.cases.select(case.id)
    assert d.cases.buttons["complete"].isEnabled()
    # 延期 (Ctrl+E): reason and approver are required.
    d.shortcut("Ctrl+E")
    qtbot.waitUntil(lambda: d.cases.extend_dialog is not None)
    dialog = d.cases.extend_dialog
    dialog._try_accept()
    assert "理由" in dialog.error.text() and dialog.isVisible()
    dialog.days.setValue(2)
    dialog.reason.setText("需现场核查经营场所")
    dialog.approver.setText("陈局长")
    before = d.case(case.id).promised_date
    dialog._try_accept()
    qtbot.waitUntil(lambda: bool(d.case(case.id).extensions), timeout=10_000)
    assert d.case(case.id).promised_date > before
    assert "陈局长" in d.cases.detail.toPlainText()
    assert d.errors == []


def test_refusal_with_reasons_and_legal_basis(demo_app, qtbot):
    d = demo_app
    _start(d, "spjy", FOOD, name="赵强")
    d.mark({})

    def fill(dialog):
        dialog._try_accept()  # empty reasons are refused in the dialog
        assert "理由" in dialog.error.text()
        dialog.reasons.setPlainText("申请人仅销售预包装食品，依法实行备案，不需要取得食品经营许可")
        assert "食品安全法" in dialog.basis.text()  # the item's legal basis, prefilled

    result = d.decide_with_dialog("Ctrl+4", fill)
    assert result.case.status is CaseStatus.REJECTED
    notice = result.notice
    assert notice.doc_type.value == "rejection"
    assert "预包装食品" in notice.reasons[0]
    assert any("行政复议" in r for r in notice.remedies)
    preview = d.wait_preview()
    assert "不予受理决定书" in preview.windowTitle()
    d.close_preview()
    d.select_case(result.case.id)
    assert not d.cases.buttons["complete"].isEnabled()
    assert not d.cases.buttons["extend"].isEnabled()


def test_referral_to_the_competent_department(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    d.pick_item("spjy", FOOD)
    view = d.intake
    view.kind.setCurrentIndex(1)  # 单位
    assert "信用代码" in view.ident_label.text()
    d.keys(view.name, "连城县好味道餐饮有限公司")
    view.ident.setFocus()
    d.keys(view.ident, _uscc())
    d.key(view.ident, Qt.Key.Key_Tab)
    assert view.ident.text() == _uscc()  # a credit code is public: not masked
    view.phone.setFocus()
    d.keys(view.phone, "0597-8921234")
    d.mark({})

    def fill(dialog):
        qtbot.waitUntil(lambda: dialog.department.count() > 0, timeout=10_000)
        names = [dialog.department.itemText(i) for i in range(dialog.department.count())]
        assert "连城县市场监督管理局" not in names  # never the item's own department
        index = next(i for i, n in enumerate(names) if "卫生健康" in n)
        dialog.department.setCurrentIndex(index)
        assert dialog.contact.count() >= 1
        dialog.contact.setCurrentIndex(dialog.contact.count() - 1)
        dialog.note.setText("公共场所卫生许可请到卫健窗口办理")

    result = d.decide_with_dialog("Ctrl+5", fill)
    assert result.case.status is CaseStatus.REFERRED
    referral = result.notice.referral
    assert "卫生健康" in referral.department and referral.phone
    assert result.case.applicant_id_masked == _uscc()
    d.wait_preview()
    d.close_preview()


def test_reprint_is_marked_and_recorded(demo_app, qtbot):
    d = demo_app
    _start(d, "spjy", FOOD, name="孙丽")
    d.mark({})
    result = d.decide("Ctrl+1")
    d.wait_preview()
    d.close_preview()
    d.select_case(result.case.id)
    d.shortcut("Ctrl+Shift+P")
    preview = d.wait_preview()
    assert preview.reprint and preview.doc.reprint_at is not None
    assert preview.document_id == result.document_id
    assert "补打" in preview.status.text()
    printed = d.print_preview()
    where = printed.where
    from hallapp.models import DocumentPrint

    with d.window.ctx.store.session() as s:
        rows = s.query(DocumentPrint).filter_by(document_id=result.document_id).all()
        assert [r.reprint for r in rows] == [True]
        assert rows[0].printer == where


@pytest.mark.parametrize("bad_id", ["350825199001011231", "12345"])
def test_wrong_id_number_blocks_the_decision(demo_app, qtbot, bad_id):
    d = demo_app
    d.sign_in()
    d.pick_item("spjy", FOOD)
    d.fill_person("钱多", bad_id, "13812345678")
    view = d.intake
    assert view.ident.property("invalid") is True
    assert "身份证" in view.applicant_problems.text()
    assert bad_id in view.ident.text()  # a wrong number stays visible for correction
    d.mark({})
    d.shortcut("Ctrl+1")
    d.idle()
    assert view.case_id is None  # nothing was registered
    assert "身份证号码有误" in view.applicant_problems.text()
