"""Regenerate the console screenshots (console*.png, intake*.png, preview*.png).

Also the referral dialog for another department's item (intake-referral.png),
the confirmation before a numbered act (intake-confirm.png), the 出件 record
(console-hand-over.png, console-handed-over.png), an applicant returning after a
一次性告知 (intake-returning.png) and a second notice's new demand (intake-new-demand.png)
and the sign-in page of a new database (console-first-start.png).

Run under a real X server (Xvfb is enough)::

    Xvfb :97 -screen 0 1600x1000x24 &
    DISPLAY=:97 QT_QPA_PLATFORM=xcb .venv/bin/python docs/screenshots/console_screenshots.py

It builds the demo window on a fresh SQLite store, fills the case list with
cases in every state (one accepted days ago so that it is overdue), drives the
intake form, and saves what the clerk sees. Decisions are taken directly
through the domain here (a script may wait); the console itself is untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from PySide6.QtWidgets import QApplication
from qtwait import pump, settle

OUT = Path(__file__).resolve().parent


def root_shot(name: str) -> None:
    display = os.environ.get("DISPLAY")
    if display:
        subprocess.run(["import", "-window", "root", str(OUT / name)], check=False)


def main() -> int:
    app = QApplication(sys.argv[:1])
    from hallapp.ui.app import build_window
    from hallapp.ui.context import PrintSettings
    from hallapp.ui.theme import apply_theme

    from hallapp.config import parse_config
    from hallapp.demo import seed_demo
    from hallapp.intake import (
        Accept,
        ApplicantInput,
        CompleteInstantly,
        ConditionalAccept,
        Intake,
        MaterialCheck,
        MaterialStatus,
        OneTimeNotice,
        Outcome,
    )
    from hallapp.models import ApplicantKind, utcnow
    from hallapp.store import Store
    from hallapp.validation import id_check_char

    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="hallapp-shots-"))
    store = Store.open_local(tmp / "window.sqlite3")
    seed_demo(store)
    config = parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}})
    window = build_window(
        store, config, demo=True, printing=PrintSettings(a4_printer="HallAppPDF"),
        citizen_mode="off", with_simulator_panel=False,
    )  # fmt: skip
    console = window.console
    console.resize(1560, 940)
    console.move(20, 20)
    console.show()
    settle()
    pump(console.signin.button.isEnabled)
    console.signin.staff_no.setText("1003")
    console.signin.password.setText("123456")
    console.signin.grab().save(str(OUT / "console-signin.png"))
    console.signin.submit()
    pump(lambda: console.signed_in and console.ctx.clerk is not None)
    clerk = console.ctx.clerk.id

    def person(name: str, body: str, phone: str) -> ApplicantInput:
        return ApplicantInput(ApplicantKind.PERSON, name, body + id_check_char(body), phone=phone)

    def checks(intake: Intake, code: str, missing: tuple[int, ...] = ()) -> tuple:
        item = intake.item(code)
        return tuple(
            MaterialCheck(m.id, MaterialStatus.MISSING if i in missing else MaterialStatus.PRESENT)
            for i, m in enumerate(item.materials)
        )

    now = utcnow()
    # Accepted eight days ago: past its promised date (overdue); four days ago: due soon.
    for days_ago, name, body in ((8, "黄志强", "35082519780512003"),
                                 (4, "林秀英", "35082519820716004")):  # fmt: skip
        past = Intake(store, config, clock=lambda d=days_ago: now - timedelta(days=d))
        case = past.open_case(clerk, "SCJ-XK-001", person(name, body, "13905970001"))
        past.decide(case.id, clerk, Accept(checks(past, "SCJ-XK-001")))
    intake = console.ctx.intake
    c = intake.open_case(clerk, "SCJ-XK-001", person("郑海燕", "35082519900101001", "13905970002"))
    intake.decide(c.id, clerk, ConditionalAccept(checks(intake, "SCJ-XK-001", (5,))))
    c = intake.open_case(clerk, "SCJ-XK-002", person("吴建华", "35082519850312002", "13905970003"))
    item = intake.item("SCJ-XK-002")
    intake.decide(
        c.id, clerk,
        OneTimeNotice(tuple(
            MaterialCheck(m.id, MaterialStatus.MISSING if i in (1, 2) else MaterialStatus.PRESENT)
            for i, m in enumerate(item.materials)
        )),
    )  # fmt: skip
    c = intake.open_case(clerk, "SCJ-XK-001", person("陈丽", "35082519920220005", "13905970004"))
    intake.decide(c.id, clerk, Accept(checks(intake, "SCJ-XK-001")))
    intake.complete(c.id, clerk)
    # Two finished cases with their evaluations (as the evaluator records them),
    # one per encounter (一次一评).
    from hallapp.evaluation import BAD_REVIEW_REASONS, EvaluationDesk

    desk = EvaluationDesk(store, "A03", recover=False)
    for name, body, level in (("罗文", "35082519880808006", 5), ("许可", "35082519950505007", 2)):
        c = intake.open_case(clerk, "SCJ-DJ-001", person(name, body, "13905970005"))
        intake.decide(c.id, clerk, CompleteInstantly(checks(intake, "SCJ-DJ-001")))
        desk.open(c.id, staff_id=clerk)
        desk.press(level, device="demo")
        if level <= 2:
            desk.submit_reasons([BAD_REVIEW_REASONS[0]], device="demo")
        intake.hand_over(c.id, clerk)
        if level > 2:
            # 一次一评: the hand-over is an encounter of its own.
            desk.open(c.id, staff_id=clerk)
            desk.press(4, device="demo")
    desk.close()

    # The case list.
    console.show_cases()
    console.cases.refresh()
    pump(lambda: len(console.cases.model.cases) >= 7)
    console.cases.table.selectRow(0)
    settle(0.6)
    console.grab().save(str(OUT / "console-cases.png"))
    # The 差评 case: its reasons and where the follow-up stands, in the detail.
    bad = next(c for c in console.cases.model.cases if c.evaluation_level == 2)
    console.cases.select(bad.id)
    settle(0.6)
    console.grab().save(str(OUT / "console-bad-review.png"))

    # 出件 (F10) to an agent: name and ID (masked once entered), checked before it is recorded.
    done = next(c for c in console.cases.model.cases if c.applicant_name == "陈丽")
    console.cases.select(done.id)
    console.cases.hand_over()
    pump(lambda: console.cases.hand_over_dialog is not None)
    hand = console.cases.hand_over_dialog
    pump(hand.isVisible)
    hand.method.setCurrentIndex(hand.method.findData("agent"))
    hand.agent_name.setText("陈大明")
    hand.agent_id.setFocus()
    hand.agent_id.setText("35082519700202003" + id_check_char("35082519700202003"))
    hand.agent_id.editingFinished.emit()
    settle(0.3)
    hand.method.setFocus()  # leaving the field shows the number masked
    hand.move(560, 260)
    settle(0.6)
    root_shot("console-hand-over.png")
    hand._try_accept()
    pump(lambda: console.cases.current() is not None
         and console.cases.current().status.value == "handed_over")  # fmt: skip
    settle(0.6)
    console.grab().save(str(OUT / "console-handed-over.png"))
    console.cancel_evaluation()  # the shots below show the intake page, not an evaluation
    settle(0.6)
    console.statusBar().clearMessage()

    # The intake form: item found by pinyin initials, applicant masked, a gap marked.
    console.new_case()
    view = console.intake
    view.search.setText("spjy")
    view._run_search()
    pump(lambda: view.results.count() > 0)
    view._take_first()
    pump(lambda: view.item is not None)
    view.name.setText("李明")
    view.ident.setFocus()
    view.ident.setText("35082519850312002" + id_check_char("35082519850312002"))
    view.ident.editingFinished.emit()  # leaving the number masks it
    view.phone.setFocus()
    view.phone.setText("13905971234")
    view.mark_all_present()
    view.set_status(3, MaterialStatus.NON_CONFORMING, "平面图未标注各功能区面积")
    view.set_status(5, MaterialStatus.MISSING)
    view.table.setFocus()
    view.table.selectRow(3)
    settle(0.6)
    console.grab().save(str(OUT / "intake-form.png"))

    # The print preview of an acceptance notice.
    view.set_status(3, MaterialStatus.PRESENT)
    view.set_status(5, MaterialStatus.PRESENT)
    view.choose(Outcome.ACCEPT)
    # Every numbered act asks first: what, to whom, which item (Enter issues it).
    pump(lambda: view.confirm_dialog is not None and view.confirm_dialog.isVisible())
    view.confirm_dialog.move(560, 330)
    settle(0.6)
    root_shot("intake-confirm.png")
    view.confirm_dialog.accept()
    pump(lambda: console.preview is not None)
    preview = console.preview
    pump(preview.print_button.isEnabled, timeout=30)
    preview.move(300, 20)
    settle(0.6)
    preview.grab().save(str(OUT / "preview-acceptance.png"))
    root_shot("preview-screen.png")
    preview.reject()

    # Another department's item at this window: only a referral, issued by the window.
    console.new_case()
    view.search.setText("ZJJ-XK-001")
    view._run_search()
    pump(lambda: view.results.count() > 0)
    view._take_first()
    pump(lambda: view.item is not None)
    view.name.setText("赵强")
    view.ident.setText("35082519850312002" + id_check_char("35082519850312002"))
    view.ident.editingFinished.emit()
    view.mark_all_present()
    view.choose(Outcome.REFER)
    pump(lambda: view.decision_dialog is not None)
    dialog = view.decision_dialog
    pump(lambda: dialog.department.count() > 1)
    dialog.move(520, 260)
    settle(0.6)
    root_shot("intake-referral.png")
    dialog.reject()

    # The applicant of the 一次性告知 comes back (Ctrl+R): what was received stays 已收,
    # the rest is checked again; a demand the first notice did not make is named first.
    back = next(c for c in console.cases.model.cases if c.applicant_name == "吴建华")
    console.show_cases()
    console.cases.select(back.id)
    console.cases.record_correction()
    pump(lambda: view.correcting is not None and view.item is not None and view._rows != [])
    settle(0.6)
    console.grab().save(str(OUT / "intake-returning.png"))
    view.set_status(1, MaterialStatus.PRESENT)
    view.set_status(3, MaterialStatus.NON_CONFORMING, "章程未经全体股东签字")
    view.choose(Outcome.ONE_TIME)
    pump(lambda: view.decision_dialog is not None and view.decision_dialog.isVisible())
    view.decision_dialog.move(480, 200)
    settle(0.6)
    root_shot("intake-new-demand.png")
    view.decision_dialog.reject()
    window.close()
    store.dispose()

    # A first start: a new database with nobody in it shows the way on.
    empty = Store.open_local(tmp / "new.sqlite3")
    first = build_window(empty, config, citizen_mode="off", start_devices=False)
    first.console.resize(1560, 940)
    first.console.show()
    pump(first.console.signin.first_start.isVisible)
    settle(0.6)
    first.console.signin.grab().save(str(OUT / "console-first-start.png"))
    first.close()
    empty.dispose()
    print("saved to", OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
