"""The client and the law of the window: who may serve here, who issues a referral,
the documents applicants bring, and a first start that leads somewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from hallapp.identity import IdType
from hallapp.intake import CaseStatus, Outcome

BUILDING = "ZJJ-XK-001"  # 建筑工程施工许可: 住建局's item, not served at A03 (市场监管局)


def _id() -> str:
    from hallapp.validation import id_check_char

    body = "35082519850312002"
    return body + id_check_char(body)


def _try_sign_in(d, staff_no: str) -> str:
    page = d.console.signin
    d.qtbot.waitUntil(page.button.isEnabled, timeout=15_000)
    page.staff_no.clear()
    d.keys(page.staff_no, staff_no)
    d.keys(page.password, "123456")
    d.key(page.password, Qt.Key.Key_Return)
    d.qtbot.waitUntil(lambda: page.message.text() != "" and page.button.isEnabled(),
                      timeout=15_000)  # fmt: skip
    d.idle()
    return str(page.message.text())


def test_a_clerk_of_another_department_cannot_go_on_duty_here(demo_app):
    # 1001 is 住建局 staff; A03 is the 市场监管局 window.
    message = _try_sign_in(demo_app, "1001")
    assert not demo_app.console.signed_in
    assert "不能在本窗口当班" in message and "A01、A02" in message
    assert demo_app.console.signin.message.objectName() == "error"
    assert demo_app.window.ctx.duty.current() is None


@pytest.mark.parametrize("staff_no", ["9001", "9901"])
def test_supervisors_and_administrators_are_sent_to_their_own_views(demo_app, staff_no):
    d = demo_app
    page = d.console.signin
    d.qtbot.waitUntil(page.button.isEnabled, timeout=15_000)
    page.staff_no.clear()
    d.keys(page.staff_no, staff_no)
    d.keys(page.password, "123456")
    d.key(page.password, Qt.Key.Key_Return)
    d.qtbot.waitUntil(
        lambda: d.console.supervisor_window is not None and d.console.supervisor_window.isVisible(),
        timeout=15_000,
    )
    # The supervisor view, never a duty shift at the window (the domain refuses it too).
    assert not d.console.signed_in
    assert d.window.ctx.duty.current() is None
    d.console.supervisor_window.close()


def test_the_duty_card_shows_the_clerks_own_department(demo_app):
    d = demo_app
    d.sign_in("1004")
    label = d.citizen.department_label
    d.qtbot.waitUntil(lambda: label.text() != "", timeout=10_000)
    assert label.text() == "部门：连城县市场监督管理局"


def test_another_departments_item_defaults_the_referral_to_its_department(demo_app, qtbot):
    d = demo_app
    d.sign_in()
    d.pick_item(BUILDING, BUILDING)
    view = d.intake
    assert not view.item.served_here
    assert "只能告知" in view.results.item(0).text()
    d.fill_person("赵强", _id(), "13812345678")
    d.mark({})
    assert view.lawful() == {Outcome.REFER}
    assert "非本部门职责告知" in view.outcome_hint.text()
    assert not view.outcome_buttons[Outcome.REJECT].isEnabled()

    def fill(dialog):
        qtbot.waitUntil(lambda: dialog.department.count() > 1, timeout=10_000)
        # Issued by this window's department; the catalog's department is the default.
        assert dialog.issuer.text() == "连城县市场监督管理局"
        assert dialog.department.currentText() == "连城县住房和城乡建设局"
        names = [dialog.department.itemText(i) for i in range(dialog.department.count())]
        assert "连城县市场监督管理局" not in names
        assert "连城县卫生健康局" in names  # every other department of the directory

    result = d.decide_with_dialog("Ctrl+5", fill)
    assert result.case.status is CaseStatus.REFERRED
    assert result.notice.department_name == "连城县市场监督管理局"
    assert result.notice.referral.department == "连城县住房和城乡建设局"
    d.wait_preview()
    d.close_preview()


def test_a_hong_kong_applicant_with_no_phone_for_an_instant_item(demo_app):
    d = demo_app
    d.sign_in()
    d.pick_item("SCJ-DJ", "SCJ-DJ-001")
    view = d.intake
    view.id_type.setCurrentIndex(view.id_type.findData(IdType.HK_MACAO_PERMIT.value))
    assert view.ident.placeholderText().startswith("H 或 M")
    view.name.setFocus()
    d.keys(view.name, "陈家明")
    view.ident.setFocus()
    d.keys(view.ident, "H12345678")
    d.key(view.ident, Qt.Key.Key_Tab)
    assert view.ident.text() == "H******78"  # masked on screen
    d.mark({})
    result = d.decide("Ctrl+6")
    assert result.case.status is CaseStatus.COMPLETED
    assert result.case.applicant_id_masked == "H******78"


def test_demo_says_its_data_is_discarded_and_how_to_keep_it(demo_app):
    hint = demo_app.console.signin.demo_hint.text()
    assert "退出时丢弃" in hint and "--demo --db" in hint
    assert "1003、1004" in hint  # who can sign in at A03


def test_a_hall_that_has_not_named_itself_is_told_on_the_sign_in_page(
    qtbot, tmp_path: Path, ui_config, error_log, caplog
):
    """A hall that set no [hall] name, review body or court would print the
    sample county's on every notice and send a refused applicant to another
    county's government and court: the sign-in page says so, naming what is
    unset and where to set it; a hall that set them (in the file or at the
    centre, pulled) sees nothing."""
    from hallapp.ui.app import build_window

    from hallapp.config import parse_config
    from hallapp.models import HallSetting
    from hallapp.store import Store
    from hallapp.sync.run import with_hall_settings

    store = Store.open_local(tmp_path / "hall.sqlite3")
    bare = parse_config({"hall": {"code": "XL", "name": "新罗区行政服务中心"}})

    def warning(config: object) -> str | None:
        window = build_window(store, config, citizen_mode="off", start_devices=False)
        qtbot.addWidget(window.console)
        label = window.console.signin.identity_warning
        return None if label is None else label.text()

    text = warning(bare)
    assert text is not None
    assert "行政复议机关“连城县人民政府”" in text and "行政诉讼管辖法院“连城县人民法院”" in text
    assert "大厅名称" not in text  # set in the file
    assert "review_body" in text and "hallapp central settings set" in text
    assert "hall identity not configured: hall.review_body, hall.court" in caplog.text
    assert error_log == []
    assert warning(ui_config) is None
    # Authored at the centre and pulled: the window's own file need not say it.
    with store.session() as s:
        s.add(HallSetting(key="hall.review_body", value="龙岩市新罗区人民政府"))
        s.add(HallSetting(key="hall.court", value="龙岩市新罗区人民法院"))
        s.commit()
    assert warning(with_hall_settings(bare, store)) is None


def test_a_new_database_leads_to_a_first_administrator(qtbot, tmp_path: Path, ui_config, error_log):
    from hallapp.ui.app import build_window
    from hallapp.ui.ops import wait_idle

    from hallapp.store import Store

    store = Store.open_local(tmp_path / "new.sqlite3")
    window = build_window(store, ui_config, citizen_mode="off", start_devices=False)
    try:
        page = window.console.signin
        qtbot.addWidget(window.console)
        window.console.show()
        qtbot.waitUntil(page.first_start.isVisible, timeout=10_000)
        text = page.first_start_text.text()
        assert "hallapp window join" in text and "hallapp staff add" in text
        page.create_admin_button.click()
        dialog = page.admin_dialog
        assert dialog is not None
        edits = dialog.findChildren(type(page.staff_no))
        staff_no, name, _dept, _dept_name, password, again = edits
        staff_no.setText("9901")
        name.setText("邱文杰")
        password.setText("abc12345")
        again.setText("abc12345")
        from PySide6.QtWidgets import QDialogButtonBox

        box = dialog.findChild(QDialogButtonBox)
        box.button(QDialogButtonBox.StandardButton.Ok).click()
        qtbot.waitUntil(lambda: not page.create_admin_button.isVisible(), timeout=15_000)
        assert "hallapp windows add A03" in page.first_start_text.text()
        from hallapp.models import Role, Staff

        with store.session() as s:
            admin = s.query(Staff).one()
            assert (admin.staff_no, admin.role) == ("9901", Role.ADMINISTRATOR)
        # The administrator does not go on duty at the window.
        page.staff_no.setText("9901")
        page.password.setText("abc12345")
        page.submit()
        console = window.console
        qtbot.waitUntil(
            lambda: console.supervisor_window is not None and console.supervisor_window.isVisible(),
            timeout=15_000,
        )
        assert not console.signed_in
        console.supervisor_window.close()
        assert error_log == []
    finally:
        window.close()
        wait_idle(qtbot, timeout=15_000)
        store.dispose()
