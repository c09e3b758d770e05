"""The whole window flow, driven from the keyboard on the real demo data.

sign in → intake with missing materials → one-time notice (evaluated: 差评
with reasons chosen on the device's number keys) printed → materials brought →
acceptance notice (evaluated) → completion in the back office (not evaluated)
→ hand-over (evaluated), all pressed on the simulated device over a
pseudo-terminal → each encounter's evaluation shows in the case.
"""

from __future__ import annotations

import time

from hallapp.devices import framed
from PySide6.QtCore import Qt
from sqlalchemy import select

from hallapp.intake import CaseStatus, MaterialStatus, Outcome
from hallapp.models import Evaluation

FOOD = "SCJ-XK-001"  # 食品经营许可（新办）: 5 required, #6 容缺, #7 optional
INSTANT = "SCJ-DJ-001"  # 个体工商户设立登记: 即办件


def _id() -> str:
    from hallapp.validation import id_check_char

    body = "35082519850312002"
    return body + id_check_char(body)


def test_sign_in_rejects_wrong_password_then_signs_in(demo_app, qtbot):
    page = demo_app.console.signin
    qtbot.waitUntil(page.button.isEnabled, timeout=15_000)
    qtbot.keyClicks(page.staff_no, "1003")
    qtbot.keyClicks(page.password, "wrong")
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    demo_app.idle()
    assert not demo_app.console.signed_in
    assert page.message.text() == "工号或密码不正确，请重新输入"  # on the page, no dialog
    assert page.message.objectName() == "error"  # in red
    assert page.password.text() == "" and page.password.hasFocus()
    assert page.button.isEnabled()
    demo_app.sign_in()
    assert "陈思雨" in demo_app.console.clerk_badge.text()
    assert "陈思雨" in demo_app.console.clerk_status.text()
    assert demo_app.citizen is not None


def test_whole_flow_one_time_notice_to_evaluation(
    demo_app, qtbot, printed_pdf, pdf_check, tmp_path
):
    d = demo_app
    d.sign_in()
    d.pick_item("spjy", FOOD)
    view = d.intake
    assert "食品经营许可" in view.guide.toPlainText()
    assert "承诺 3 个工作日" in view.guide.toPlainText()
    d.fill_person("李明", _id(), "13905971234")
    # The number is masked on screen once entered.
    assert "*" in view.ident.text() and _id() not in view.ident.text()
    # Two main materials missing, one non-conforming with a note.
    d.mark(
        {1: MaterialStatus.MISSING, 3: MaterialStatus.NON_CONFORMING, 5: MaterialStatus.MISSING,
         6: MaterialStatus.MISSING},
        notes={3: "平面图未标注面积"},
    )  # fmt: skip
    assert view.lawful() == {Outcome.ONE_TIME, Outcome.REJECT, Outcome.REFER}
    assert not view.outcome_buttons[Outcome.ACCEPT].isEnabled()
    assert not view.outcome_buttons[Outcome.CONDITIONAL].isEnabled()
    assert view.outcome_buttons[Outcome.ONE_TIME].isEnabled()

    def one_time(dialog):
        dialog.days.setValue(10)

    result = d.decide_with_dialog("Ctrl+3", one_time)
    case = result.case
    assert case.status is CaseStatus.AWAITING_CORRECTION
    assert result.notice is not None and result.document_id
    names = [m.name for m in result.notice.missing_materials]
    assert len(names) == 3 and any("平面图" in n for n in names)

    # 一次一评: the citizen given a one-time notice is asked too. 不满意 on the
    # device, the reasons chosen with its number keys, confirmed with its key.
    qtbot.waitUntil(lambda: d.citizen.evaluating, timeout=15_000)
    assert "本次服务：一次性告知" in d.citizen.eval_case.text()
    sim = d.bridge.simulator
    with qtbot.waitSignal(d.bridge.awaiting_reasons, timeout=15_000):
        sim.press(2)
    qtbot.waitUntil(lambda: d.citizen.page == d.citizen.PAGE_REASONS)
    sim.press_reason(1)
    sim.press_reason(4)
    names = list(d.citizen.reason_buttons)
    qtbot.waitUntil(lambda: d.citizen.chosen_reasons() == [names[0], names[3]], timeout=5000)
    assert d.citizen.reason_numbers[names[3]].text() == "4"  # the key that chose it
    with qtbot.waitSignal(d.bridge.evaluation_recorded, timeout=15_000) as recorded:
        sim.press_confirm()
    assert recorded.args == [case.id, 2]
    assert sim.wait_ack() == framed.AckStatus.OK

    # The one-time notice is previewed and printed through the Qt print path.
    preview = d.wait_preview()
    assert preview.images and preview.images[0].width() > 500
    since = time.time()
    printed = d.print_preview()
    assert printed.pages >= 1
    assert printed.where == (printed_pdf.queue or printed.where)  # the CUPS queue when there is one
    out = printed_pdf(printed, f"{case.case_no}-one-time", since)
    assert pdf_check.pages(out) == printed.pages
    # The printed page carries the notice's QR code with the case number.
    assert any(case.case_no in code for code in pdf_check.qr(out, tmp_path))

    # The applicant comes back with everything: 登记补正 (Ctrl+R) continues the case.
    d.close_preview()
    d.select_case(case.id)
    assert d.cases.buttons["correction"].isEnabled()
    d.shortcut("Ctrl+R")
    qtbot.waitUntil(lambda: d.intake.item is not None and d.intake.correcting is not None)
    assert d.console.tabs.currentWidget() is d.intake
    assert case.case_no in d.intake.mode_label.text()
    d.mark({})  # all present now
    assert Outcome.ACCEPT in view.lawful()
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=15_000):
        result = d.decide("Ctrl+1")
    assert result.case.id == case.id
    assert result.case.status is CaseStatus.ACCEPTED
    assert result.notice.doc_type.value == "acceptance"
    assert result.case.promised_date is not None
    preview = d.wait_preview()
    assert "受理通知书" in preview.windowTitle()
    d.close_preview()

    # The acceptance is a second encounter: evaluated on its own.
    assert d.citizen.evaluating
    with qtbot.waitSignal(d.bridge.evaluation_recorded, timeout=15_000) as recorded:
        sim.press(5)
    assert recorded.args == [case.id, 5]
    qtbot.waitUntil(lambda: d.case(case.id).evaluation_level == 5, timeout=10_000)
    row = d.cases.model.row_of(case.id)
    assert d.cases.model.index(row, 6).data().startswith("非常满意")

    # 办结 (F9) of a 承诺件 is back-office work, the citizen absent: no evaluation.
    d.select_case(case.id)
    d.act("F9")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.COMPLETED, timeout=10_000)
    d.idle()
    assert not d.citizen.evaluating and d.bridge.desk.current is None
    # 出件 (F10): the citizen collects the result and is asked again.
    d.select_case(case.id)
    with qtbot.waitSignal(d.bridge.evaluation_opened, timeout=15_000):
        d.act("F10")
    qtbot.waitUntil(lambda: d.case(case.id).status is CaseStatus.HANDED_OVER, timeout=10_000)
    with qtbot.waitSignal(d.bridge.evaluation_recorded, timeout=15_000):
        sim.press(4)
    d.idle()
    assert not d.citizen.evaluating
    # Read back once the third evaluation is visible to a reader (the signal
    # comes with the commit; a reader's snapshot may lag it by a beat).
    qtbot.waitUntil(lambda: len(d.case(case.id).evaluations) == 3, timeout=10_000)
    evaluated = d.case(case.id)
    assert [(e.encounter_label, e.level) for e in evaluated.evaluations] == [
        ("一次性告知", 2),
        ("受理", 5),
        ("出件", 4),
    ]
    assert evaluated.evaluations[0].reasons == (names[0], names[3])
    detail = d.cases.detail.toPlainText()
    assert "一次性告知" in detail and "出件" in detail and "非常满意" in detail
    with d.window.ctx.store.session() as s:
        devices = set(s.scalars(select(Evaluation.device)))
    assert devices == {sim.device_id}  # the identity from DEVICE_HEARTBEAT, every time
    assert d.errors == []


def test_notices_printed_to_pdf_files_through_the_qt_print_path(
    demo_app, qtbot, tmp_path, pdf_check
):
    """No printer needed: QPrinter's PDF output, A4 and the 80 mm slip."""
    d = demo_app
    out = tmp_path / "printed"
    d.window.ctx.printing.output_dir = out
    d.sign_in()
    d.console.refresh_printer()
    d.idle()
    assert "PDF 文件" in d.console.printer_status.text()
    d.pick_item("spjy", FOOD)
    d.fill_person("何静", _id(), "13905971235")
    d.mark({5: MaterialStatus.MISSING})

    def fill(dialog):
        dialog.days.setValue(5)

    result = d.decide_with_dialog("Ctrl+2", fill)
    case = result.case
    printed = d.print_preview()
    path = out / f"{case.case_no}-conditional.pdf"
    assert printed.where == str(path) and path.exists()
    assert pdf_check.pages(path) == printed.pages
    assert "595" in pdf_check.info(path)["Page size"]  # A4: 595 x 842 pt
    assert any(case.case_no in code for code in pdf_check.qr(path, tmp_path))
    # The same notice again as an 80 mm slip (补打 from the case list).
    d.select_case(case.id)
    d.shortcut("Ctrl+Shift+P")
    preview = d.wait_preview()
    with qtbot.waitSignal(preview.pages_ready, timeout=30_000):
        preview.slip.setChecked(True)
    assert preview.images[0].width() < 500
    printed = d.print_preview()
    slip = out / f"{case.case_no}-conditional-reprint.pdf"
    assert printed.where == str(slip) and printed.size == "slip"
    width_pt = float(pdf_check.info(slip)["Page size"].split()[0])
    assert abs(width_pt - 80 / 25.4 * 72) < 2  # 80 mm wide
    assert d.errors == []
