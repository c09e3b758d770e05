"""The citizen screen (群众屏): the duty card from the real duty shift, the pause state,
the evaluation pages, and type large enough for elderly citizens."""

from __future__ import annotations

import io

import pytest
from hallapp.ui.citizen import (
    LEVELS,
    NOT_EVALUATED,
    CitizenScreen,
    place_on_second_screen,
)
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from hallapp.config import parse_config
from hallapp.duty import Duty
from hallapp.evaluation import BAD_REVIEW_REASONS
from hallapp.models import Staff

MIN_BODY_PX = 28
MIN_HEADING_PX = 48


@pytest.fixture
def duty(store, reference):
    config = parse_config(
        {
            "hall": {"code": "LC", "name": "连城县行政服务中心", "complaint_hotline": "0597-12345"},
            "window": {"code": "A03"},
        }
    )
    return Duty(store, config)


@pytest.fixture
def screen(qtbot):
    w = CitizenScreen()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def visible_texts(widget) -> list[str]:
    return [
        w.text()
        for w in widget.findChildren(QLabel) + widget.findChildren(QPushButton)
        if w.isVisible() and w.text()
    ]


def test_duty_card_shows_the_clerk_on_duty(screen, duty, reference):
    duty.start(reference.clerk_id)
    card = duty.duty_card()
    assert card is not None
    screen.show_duty_card(card)

    assert screen.page == CitizenScreen.PAGE_CARD
    assert screen.card_title.isVisible() and screen.card_title.text() == "当班首办负责人"
    assert screen.name_label.text() == "张丽华"
    assert screen.title_label.text() == "综合受理员"
    assert screen.staff_no_label.text() == "工号：1001"
    assert screen.duty_window_label.text() == "窗口：A03"
    assert screen.department_label.text() == "部门：连城县住房和城乡建设局"
    assert screen.phone_label.text() == "电话：0597-8921001"
    # The clerk's own commitments, one a line.
    assert screen.commitments_label.text().splitlines() == [
        "· 首问负责",
        "· 一次告知",
        "· 限时办结",
    ]
    assert screen.hall_label.text() == "连城县行政服务中心"
    assert screen.window_label.text() == "A03 号窗口"
    assert screen.hotline_label.text() == "投诉监督电话：0597-12345"
    assert screen.photo_label.text() == "暂无照片"
    assert not screen.no_duty_label.isVisible()


def test_photo_is_shown_when_the_clerk_has_one(screen, duty, store, reference):
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 30, 30)).save(buf, "PNG")
    with store.session() as s:
        s.get(Staff, reference.clerk_id).photo = buf.getvalue()
    duty.start(reference.clerk_id)
    screen.show_duty_card(duty.duty_card())
    pixmap = screen.photo_label.pixmap()
    assert not pixmap.isNull()
    colour = pixmap.toImage().pixelColor(pixmap.width() // 2, pixmap.height() // 2)
    assert (colour.red(), colour.green(), colour.blue()) == (200, 30, 30)


def test_nobody_on_duty(screen, duty):
    assert duty.duty_card() is None
    screen.show_duty_card(None)
    assert screen.page == CitizenScreen.PAGE_CARD
    assert screen.no_duty_label.isVisible()
    assert "暂无工作人员当班" in screen.no_duty_label.text()
    assert not screen.card_title.isVisible()


def test_pause_state_is_shown_big_with_its_reason(screen, duty, reference):
    duty.start(reference.clerk_id)
    screen.show_duty_card(duty.duty_card())
    state = duty.pause(reference.clerk_id, "窗口人员临时离开，约 10 分钟后恢复")
    screen.show_paused(state.paused, state.pause_reason)

    assert screen.page == CitizenScreen.PAGE_PAUSED
    assert screen.paused_title.text() == "暂停服务"
    assert screen.paused_reason.text() == "窗口人员临时离开，约 10 分钟后恢复"
    assert screen.paused_title.font().pixelSize() >= 96
    assert "张丽华" in screen.paused_staff.text()

    state = duty.resume(reference.clerk_id)
    screen.show_paused(state.paused, state.pause_reason)
    assert screen.page == CitizenScreen.PAGE_CARD


def test_an_open_evaluation_stays_in_front_of_a_pause(screen):
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
    screen.show_paused(True, "午休")
    assert screen.page == CitizenScreen.PAGE_EVALUATE
    screen.close_evaluation(NOT_EVALUATED, "评价时间已到")
    assert screen.page == CitizenScreen.PAGE_MESSAGE
    screen._message_timer.timeout.emit()  # the message's time is up
    assert screen.page == CitizenScreen.PAGE_PAUSED


def test_five_buttons_report_the_level_once(qtbot, screen):
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
    assert screen.page == CitizenScreen.PAGE_EVALUATE
    assert list(screen.level_buttons) == list(LEVELS) == [5, 4, 3, 2, 1]
    assert "剩余 60 秒" in screen.eval_countdown.text()
    with qtbot.waitSignal(screen.level_chosen) as chosen:
        qtbot.mouseClick(screen.level_buttons[3], Qt.MouseButton.LeftButton)
    assert chosen.args == [3]
    # Until the bridge answers, a second tap sends nothing.
    assert not any(b.isEnabled() for b in screen.level_buttons.values())
    with qtbot.assertNotEmitted(screen.level_chosen):
        qtbot.mouseClick(screen.level_buttons[5], Qt.MouseButton.LeftButton)
    screen.show_notice("评价未能保存，请再按一次")
    assert all(b.isEnabled() for b in screen.level_buttons.values())


def test_countdown_counts_down(qtbot, screen):
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 3)
    qtbot.waitUntil(lambda: "剩余 1 秒" in screen.eval_countdown.text(), timeout=3000)


def test_reasons_need_at_least_one_choice(qtbot, screen):
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
    screen.ask_reasons(1, 45)
    assert screen.page == CitizenScreen.PAGE_REASONS
    assert "非常不满意" in screen.reasons_title.text()
    assert "剩余 45 秒" in screen.reasons_countdown.text()
    assert list(screen.reason_buttons) == list(BAD_REVIEW_REASONS)
    assert not screen.submit_button.isEnabled()
    qtbot.mouseClick(screen.reason_buttons["服务态度差"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.reason_buttons["其他"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.reason_buttons["其他"], Qt.MouseButton.LeftButton)  # un-chosen
    with qtbot.waitSignal(screen.reasons_chosen) as chosen:
        qtbot.mouseClick(screen.submit_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [["服务态度差"]]


def test_type_is_large_for_elderly_citizens(screen, duty, reference):
    duty.start(reference.clerk_id)
    screen.show_duty_card(duty.duty_card())

    def check_page() -> None:
        widgets = [
            w
            for w in screen.findChildren(QLabel) + screen.findChildren(QPushButton)
            if w.isVisible() and w.text()
        ]
        assert widgets
        for w in widgets:
            w.ensurePolished()
            assert w.font().pixelSize() >= MIN_BODY_PX, (w.objectName(), w.text())

    check_page()
    assert screen.hall_label.font().pixelSize() >= MIN_HEADING_PX
    assert screen.name_label.font().pixelSize() >= MIN_HEADING_PX
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
    check_page()
    assert screen.eval_prompt.font().pixelSize() >= MIN_HEADING_PX
    assert all(b.height() >= 200 for b in screen.level_buttons.values())
    screen.ask_reasons(2, 60)
    check_page()
    assert all(b.height() >= 90 for b in screen.reason_buttons.values())
    screen.close_evaluation("感谢您的评价！", "您的评价：满意")
    check_page()


def test_a_bigger_screen_scales_the_type_up(qtbot, screen):
    small = screen.hall_label.font().pixelSize()
    screen.resize(1920, 1080)
    qtbot.waitUntil(lambda: screen.hall_label.font().pixelSize() > small)
    assert screen.photo_label.height() > 300


def test_without_a_second_monitor_it_is_a_normal_window(qtbot):
    w = CitizenScreen()
    qtbot.addWidget(w)
    place_on_second_screen(w)
    assert w.isVisible()
    assert not w.isFullScreen()
    place_on_second_screen(w, "off")
    assert not w.isVisible()


def test_the_console_theme_does_not_shrink_the_citizen_type(qtbot, qapp):
    from hallapp.ui.theme import apply_theme

    from hallapp.documents import DocumentType, sample

    before = qapp.styleSheet(), qapp.font()
    apply_theme(qapp)  # 15 px for the clerk's console, for every widget
    try:
        w = CitizenScreen()
        qtbot.addWidget(w)
        w.resize(1280, 800)
        w.show()
        w.show_duty_card(sample(DocumentType.DUTY_CARD))
        for label in (w.hall_label, w.name_label, w.staff_no_label, w.commitments_label):
            label.ensurePolished()
            assert label.font().pixelSize() >= MIN_BODY_PX, label.objectName()
        w.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
        assert all(b.font().pixelSize() >= MIN_HEADING_PX for b in w.level_buttons.values())
    finally:
        qapp.setStyleSheet(before[0])
        qapp.setFont(before[1])


def test_not_evaluated_is_not_shown_as_a_good_result(screen):
    def title_colour() -> str:
        label = screen.message_title
        return label.palette().color(label.foregroundRole()).name()

    screen.close_evaluation("感谢您的评价！", "您的评价：满意")
    assert title_colour() == "#1b6e2e"
    screen.close_evaluation(NOT_EVALUATED, "评价时间已到")
    assert screen.message_title.text() == "本次未评价"
    assert title_colour() == "#333333"


_PLACE_SCRIPT = """
import json, sys
from PySide6.QtWidgets import QApplication
from hallapp.ui.citizen import CitizenScreen, place_on_second_screen
app = QApplication(sys.argv[:1])
w = CitizenScreen()
place_on_second_screen(w, sys.argv[1])
app.processEvents()
g = w.geometry()
print(json.dumps({"full": w.isFullScreen(), "screen": w.screen().name(),
                  "geometry": [g.x(), g.y(), g.width(), g.height()]}))
"""


@pytest.mark.parametrize("mode", ["auto", "window"])
def test_full_screen_on_the_second_monitor(tmp_path, mode):
    import json
    import os
    import subprocess
    import sys

    # Qt's offscreen platform with two monitors: the console's and the citizens'.
    screens = {
        "screens": [
            {"name": "1-console", "x": 0, "y": 0, "width": 1280, "height": 800,
             "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1},
            {"name": "2-citizen", "x": 1280, "y": 0, "width": 1920, "height": 1080,
             "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1},
        ]
    }  # fmt: skip
    config = tmp_path / "screens.json"
    config.write_text(json.dumps(screens), encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    out = subprocess.run(
        [sys.executable, "-c", _PLACE_SCRIPT, mode],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    placed = json.loads(out.stdout.strip().splitlines()[-1])
    if mode == "auto":
        assert placed == {"full": True, "screen": "2-citizen", "geometry": [1280, 0, 1920, 1080]}
    else:  # ui.citizen_screen = "window": a normal window, even with two monitors
        assert placed["full"] is False
        assert placed["screen"] == "1-console"


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_reasons_carry_the_device_key_numbers_in_large_type(qtbot, screen, size):
    """差评 reasons numbered as the evaluator's number keys (1 = 0x11 …), readable at 2 m."""
    screen.resize(*size)
    screen.set_device_keys(True)
    screen.open_evaluation("LCA03202611220001", "社会保障卡申领", "张丽华", 60)
    screen.ask_reasons(1, 60)
    qtbot.wait(50)
    numbers = [screen.reason_numbers[r] for r in BAD_REVIEW_REASONS]
    assert [n.text() for n in numbers] == [str(i) for i in range(1, len(BAD_REVIEW_REASONS) + 1)]
    for label in numbers:
        label.ensurePolished()
        assert label.isVisible() and label.font().pixelSize() >= 60
    for button in screen.reason_buttons.values():
        assert button.height() >= 90 and button.isVisible()
    assert "数字键" in screen.reasons_hint.text() and "确认" in screen.reasons_hint.text()
    # Chosen by the device's keys (the desk tells the screen): shown, not echoed back.
    with qtbot.assertNotEmitted(screen.reasons_changed):
        screen.set_chosen_reasons([BAD_REVIEW_REASONS[1]])
    assert screen.chosen_reasons() == [BAD_REVIEW_REASONS[1]]
    # Touched on the screen: reported, so the device's keys continue from it.
    with qtbot.waitSignal(screen.reasons_changed) as changed:
        qtbot.mouseClick(screen.reason_buttons[BAD_REVIEW_REASONS[2]], Qt.MouseButton.LeftButton)
    assert changed.args == [[BAD_REVIEW_REASONS[1], BAD_REVIEW_REASONS[2]]]
    screen.set_device_keys(False)
    assert "数字键" not in screen.reasons_hint.text()


def _luminance(colour: str) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(fg: str, bg: str) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_reasons_page_has_high_contrast_in_both_states():
    """Readable at 2 m: every text of the reasons page at least 7:1 (WCAG AAA)."""
    import re

    from hallapp.ui import citizen

    style = citizen._STYLE

    def rule(selector: str) -> dict[str, str]:
        m = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", style)
        assert m is not None, selector
        return dict(
            (k.strip(), v.strip())
            for k, _, v in (d.partition(":") for d in m.group(1).split(";"))
            if v.strip()
        )

    page = rule("QWidget#citizenScreen")["background"]
    button, checked = rule("QPushButton.reason")["background"], rule("QPushButton.reason:checked")
    pairs = [
        (rule("QLabel.reasonText")["color"], button),
        (rule('QLabel.reasonText[on="true"]')["color"], checked["background"]),
        (rule("QLabel.reasonNumber")["color"], rule("QLabel.reasonNumber")["background"]),
        (rule('QLabel.reasonNumber[on="true"]')["color"],
         rule('QLabel.reasonNumber[on="true"]')["background"]),
        (rule("QLabel#reasonsHint")["color"], page),
        (rule("QLabel#status")["color"], page),
    ]  # fmt: skip
    for fg, bg in pairs:
        assert _contrast(fg, bg) >= 7.0, (fg, bg)
