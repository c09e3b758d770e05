"""群众屏: the citizen-facing screen of a window.

A separate top-level window, full screen on a second monitor when one is
present. It shows, by priority:

1. an open evaluation (请对本次服务进行评价): five large buttons mirroring the
   evaluator, a countdown, and for 不满意 / 非常不满意 the reasons to choose;
2. a short closing message (感谢您的评价 / 本次未评价);
3. 暂停服务 with its reason, when the clerk paused service;
4. otherwise the 当班首办负责人 card (DutyCard) filling the screen.

The screen holds no rules: a press on its buttons is only reported
(``level_chosen`` / ``reasons_chosen``); the EvaluatorBridge sends it through
the same EvaluationDesk as a press on the device and tells the screen what to
show next. Type is large (body ≥ 34 px, headings ≥ 48 px at 1280×800, scaled
up on larger screens) and dark on light, so the screen reads at 2 m as at
50 cm. The 差评 reasons carry large numbers: a framed evaluator's number keys
choose them and its confirm key submits (docs/evaluator-protocol.md §3).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from hallapp.documents import DutyCard
from hallapp.evaluation import BAD_REVIEW_REASONS, LEVEL_LABELS

log = logging.getLogger(__name__)

#: Levels left to right, as on the evaluator: best first.
LEVELS: tuple[int, ...] = (5, 4, 3, 2, 1)

# Green to red; each background paired with the text colour that keeps a
# contrast ratio of at least 4.5:1 (WCAG AA for normal text, more than the
# 3:1 that large bold text needs).
LEVEL_COLOURS: dict[int, tuple[str, str]] = {
    5: ("#1b6e2e", "#ffffff"),
    4: ("#3f7d1c", "#ffffff"),
    3: ("#f2c94c", "#1a1a1a"),
    2: ("#c2410c", "#ffffff"),
    1: ("#a11d21", "#ffffff"),
}

#: Seconds the closing message stays before the screen returns to the card.
MESSAGE_SECONDS = 6

THANKS = "感谢您的评价！"
NOT_EVALUATED = "本次未评价"

_STYLE = """
QWidget#citizenScreen { background: #f4f6f8; }
QLabel { color: #111111; font-size: 30px; }
QFrame#header { background: #0b3d91; }
QFrame#header QLabel { color: #ffffff; }
QLabel#hallName { font-size: 48px; font-weight: bold; }
QLabel#windowCode { font-size: 48px; font-weight: bold; }
QFrame#footer { background: #e3e8ef; }
QLabel#hotline { font-size: 32px; }
QLabel#cardTitle { font-size: 48px; font-weight: bold; color: #ffe08a; }
QLabel#dutyName { font-size: 80px; }
QLabel#dutyTitle { font-size: 44px; color: #0b3d91; }
QLabel.field { font-size: 38px; }
QFrame#commitmentsBox { background: #ffffff; border: 2px solid #c5ced9; border-radius: 12px; }
QLabel#commitmentsTitle { font-size: 36px; font-weight: bold; color: #0b3d91; }
QLabel#commitments { font-size: 30px; }
QLabel#commitmentsSmall { font-size: 28px; }
QLabel#photo { background: #dde3ea; border: 3px solid #9aa7b5; color: #555555; font-size: 30px; }
QLabel#noDuty { font-size: 56px; font-weight: bold; }
QLabel#pausedTitle { font-size: 120px; color: #a11d21; }
QLabel#pausedReason { font-size: 56px; font-weight: bold; }
QLabel#pausedHint { font-size: 36px; }
QLabel#evalPrompt { font-size: 60px; font-weight: bold; color: #0b3d91; }
QLabel#evalCase { font-size: 36px; }
QLabel#countdown { font-size: 40px; font-weight: bold; color: #a11d21; }
QLabel#status { font-size: 38px; font-weight: bold; color: #a11d21; }
QLabel#reasonsTitle { font-size: 52px; font-weight: bold; color: #a11d21; }
QLabel#reasonsHint { font-size: 36px; color: #111111; }
QLabel#messageTitle { font-size: 96px; color: #333333; }
QLabel#messageTitle[good="true"] { color: #1b6e2e; }
QLabel#messageDetail { font-size: 44px; }
QPushButton.level { font-size: 48px; font-weight: bold; border-radius: 18px;
    border: 4px solid #222222; padding: 12px; }
QPushButton.level:disabled { background: #b8bec6; color: #4a4a4a; border-color: #8a9099; }
QPushButton.reason { background: #ffffff; border: 4px solid #5b6675; border-radius: 14px;
    padding: 6px 14px; }
QPushButton.reason:checked { background: #a11d21; border-color: #5a0d10; }
QLabel.reasonNumber { font-size: 68px; color: #ffffff; background: #0b3d91;
    border-radius: 12px; padding: 0px 12px; }
QLabel.reasonNumber[on="true"] { color: #a11d21; background: #ffffff; }
QLabel.reasonText { font-size: 38px; font-weight: bold; color: #111111; }
QLabel.reasonText[on="true"] { color: #ffffff; }
QPushButton#submit { font-size: 48px; background: #0b3d91; color: #ffffff;
    border-radius: 14px; padding: 10px 40px; border: 4px solid #06245a; }
QPushButton#submit:disabled { background: #b8bec6; color: #4a4a4a; border-color: #8a9099; }
QPushButton#reconsider { font-size: 36px; background: #ffffff; color: #0b3d91;
    border: 4px solid #0b3d91; border-radius: 14px; padding: 10px 30px; }
"""


#: The layout is designed for 1280×800; a larger screen scales every size up.
DESIGN_SIZE = (1280, 800)
MAX_SCALE = 2.0
MAX_BOLD_PX = 62


def scaled_style(scale: float) -> str:
    """The stylesheet with every pixel size multiplied (never below the design size)."""
    factor = max(1.0, scale)

    def rule(match: re.Match[str]) -> str:
        body = match.group(2)
        # Qt draws glyphs above ~64 px as outlines, which lose the synthetic
        # bold of fonts without a bold face (WenQuanYi): bold stays below it.
        limit = MAX_BOLD_PX if "bold" in body else 10_000
        body = re.sub(
            r"(\d+)px", lambda m: f"{min(limit, round(int(m.group(1)) * factor))}px", body
        )
        return f"{match.group(1)}{{{body}}}"

    return re.sub(r"([^{}]+)\{([^}]*)\}", rule, _STYLE)


def _label(text: str = "", name: str = "", *, wrap: bool = False, cls: str = "") -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    if cls:
        label.setProperty("class", cls)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


class _Countdown:
    """Seconds left until a deadline, shown once a second in a label."""

    def __init__(self, label: QLabel, parent: QWidget) -> None:
        self.label = label
        self.deadline = 0.0
        self.timer = QTimer(parent)
        self.timer.setInterval(250)  # a quarter second: the number never lags visibly
        self.timer.timeout.connect(self._tick)

    def start(self, seconds: int) -> None:
        self.deadline = time.monotonic() + max(0, seconds)
        self._tick()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def remaining(self) -> int:
        return max(0, round(self.deadline - time.monotonic()))

    def _tick(self) -> None:
        self.label.setText(f"剩余 {self.remaining()} 秒")


class CitizenScreen(QWidget):
    """The citizen-facing window; see the module docstring."""

    level_chosen = Signal(int)  # a level pressed on the screen's buttons (mirrors the device)
    reasons_chosen = Signal(list)  # list[str]: the 差评 reasons submitted on screen
    reasons_changed = Signal(list)  # list[str]: reasons touched on screen (not yet submitted)

    PAGE_CARD, PAGE_PAUSED, PAGE_EVALUATE, PAGE_REASONS, PAGE_MESSAGE = range(5)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        hall_name: str = "",
        window_code: str = "",
        complaint_hotline: str = "",
        reasons: Sequence[str] = BAD_REVIEW_REASONS,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("citizenScreen")
        self.setWindowTitle("群众评价屏")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._scale = 1.0
        self.setStyleSheet(scaled_style(self._scale))
        self.setMinimumSize(1024, 720)
        self._card: DutyCard | None = None
        self._paused = False
        self._pause_reason = ""
        self._evaluating = False
        self._pending_level: int | None = None
        # Whether the evaluator has number keys for the reasons (a framed device).
        self._device_keys = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_header(hall_name, window_code))
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        outer.addWidget(self._build_footer(complaint_hotline))

        self.stack.addWidget(self._build_card_page())
        self.stack.addWidget(self._build_paused_page())
        self.stack.addWidget(self._build_evaluate_page())
        self.stack.addWidget(self._build_reasons_page(reasons))
        self.stack.addWidget(self._build_message_page())
        self.stack.currentChanged.connect(self._update_header)

        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self._show_base)
        self._show_card_fields(None)
        self._show_base()

    # ------------------------------------------------------------------ layout

    def _build_header(self, hall_name: str, window_code: str) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        row.setContentsMargins(36, 8, 36, 8)
        self.hall_label = _label(hall_name, "hallName")
        self.window_label = _label(self._window_text(window_code), "windowCode")
        # The card's title sits in the header, so the card itself keeps the
        # height for the photo and the commitments in a 1280×800 window.
        self.card_title = _label("当班首办负责人", "cardTitle")
        row.addWidget(self.hall_label)
        row.addStretch(1)
        row.addWidget(self.card_title)
        row.addStretch(1)
        row.addWidget(self.window_label)
        return header

    def _build_footer(self, hotline: str) -> QFrame:
        footer = QFrame()
        footer.setObjectName("footer")
        row = QHBoxLayout(footer)
        row.setContentsMargins(36, 8, 36, 8)
        self.hotline_label = _label(self._hotline_text(hotline), "hotline")
        row.addWidget(self.hotline_label)
        row.addStretch(1)
        return footer

    def _build_card_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(48, 20, 48, 20)
        self.card_body = QWidget()
        body = QVBoxLayout(self.card_body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(20)
        person = QHBoxLayout()
        person.setSpacing(56)
        person.addStretch(1)
        self.photo_label = _label("暂无照片", "photo")
        self.photo_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo_label.setFixedSize(300, 400)
        person.addWidget(self.photo_label, 0, Qt.AlignmentFlag.AlignVCenter)

        info = QVBoxLayout()
        info.setSpacing(8)
        info.addStretch(1)
        self.name_label = _label("", "dutyName")
        self.title_label = _label("", "dutyTitle", wrap=True)
        self.staff_no_label = _label("", "staffNo", cls="field")
        self.duty_window_label = _label("", "dutyWindow", cls="field")
        self.department_label = _label("", "department", cls="field")
        self.phone_label = _label("", "phone", cls="field")
        info.addWidget(self.name_label)
        info.addWidget(self.title_label)
        ids = QHBoxLayout()
        ids.setSpacing(48)
        ids.addWidget(self.staff_no_label)
        ids.addWidget(self.duty_window_label)
        ids.addStretch(1)
        info.addLayout(ids)
        info.addWidget(self.department_label)
        info.addWidget(self.phone_label)
        info.addStretch(1)
        person.addLayout(info)
        person.addStretch(1)
        body.addLayout(person, 3)

        commitments = QFrame()
        commitments.setObjectName("commitmentsBox")
        box = QVBoxLayout(commitments)
        box.setContentsMargins(32, 16, 32, 16)
        box.addWidget(_label("服务承诺", "commitmentsTitle"))
        self.commitments_label = _label("", "commitments", wrap=True)
        self.commitments_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        box.addWidget(self.commitments_label)
        body.addWidget(commitments, 0)
        layout.addWidget(self.card_body, 1)

        self.no_duty_label = _label("本窗口暂无工作人员当班\n请到其他窗口办理", "noDuty", wrap=True)
        self.no_duty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.no_duty_label, 1)
        return page

    def _build_paused_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.addStretch(1)
        self.paused_title = _label("暂停服务", "pausedTitle")
        self.paused_reason = _label("", "pausedReason", wrap=True)
        self.paused_hint = _label(
            "给您带来不便，敬请谅解。请稍候或到其他窗口办理。", "pausedHint", wrap=True
        )
        self.paused_staff = _label("", "pausedStaff", wrap=True)
        for w in (self.paused_title, self.paused_reason, self.paused_hint, self.paused_staff):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(w)
            layout.addSpacing(16)
        layout.addStretch(1)
        return page

    def _build_evaluate_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(40, 20, 40, 20)
        layout.setSpacing(14)
        self.eval_prompt = _label("请对本次服务进行评价", "evalPrompt")
        self.eval_prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.eval_case = _label("", "evalCase", wrap=True)
        self.eval_case.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.eval_prompt)
        layout.addWidget(self.eval_case)

        row = QHBoxLayout()
        row.setSpacing(20)
        self.level_buttons: dict[int, QPushButton] = {}
        # A button group, not a lambda per button: it reports the level as the id.
        self._level_group = QButtonGroup(self)
        self._level_group.idClicked.connect(self._on_level)
        for level in LEVELS:
            button = QPushButton(LEVEL_LABELS[level])
            button.setObjectName(f"level{level}")
            button.setProperty("class", "level")
            bg, fg = LEVEL_COLOURS[level]
            button.setStyleSheet(f"QPushButton:enabled {{ background: {bg}; color: {fg}; }}")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setMinimumSize(180, 240)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self._level_group.addButton(button, level)
            self.level_buttons[level] = button
            row.addWidget(button)
        layout.addLayout(row, 1)

        bottom = QHBoxLayout()
        self.eval_status = _label("", "status")
        self.eval_countdown = _label("", "countdown")
        bottom.addWidget(self.eval_status, 1)
        bottom.addWidget(self.eval_countdown)
        layout.addLayout(bottom)
        self._eval_clock = _Countdown(self.eval_countdown, self)
        return page

    def _build_reasons_page(self, reasons: Sequence[str]) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(40, 20, 40, 20)
        layout.setSpacing(14)
        self.reasons_title = _label("", "reasonsTitle", wrap=True)
        self.reasons_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reasons_hint = _label("", "reasonsHint", wrap=True)
        self._update_reasons_hint()
        self.reasons_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.reasons_title)
        layout.addWidget(self.reasons_hint)

        grid = QGridLayout()
        grid.setSpacing(18)
        self.reason_buttons: dict[str, QPushButton] = {}
        self.reason_numbers: dict[str, QLabel] = {}
        self._reason_texts: dict[str, QLabel] = {}
        columns = 3
        for i, reason in enumerate(reasons):
            # The number is the device's key (reason n = number key n), in
            # large type, so a citizen who cannot touch the screen can choose.
            button = QPushButton()
            button.setCheckable(True)
            button.setProperty("class", "reason")
            button.setAccessibleName(f"{i + 1} {reason}")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setMinimumHeight(96)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            inner = QHBoxLayout(button)
            inner.setContentsMargins(10, 4, 10, 4)
            inner.setSpacing(20)
            number = _label(str(i + 1), cls="reasonNumber")
            number.setAlignment(Qt.AlignmentFlag.AlignCenter)
            text = _label(reason, cls="reasonText", wrap=True)
            for child in (number, text):
                child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
            inner.addWidget(number)
            inner.addWidget(text, 1)
            button.toggled.connect(self._update_submit)
            button.clicked.connect(self._reasons_touched)
            self.reason_buttons[reason] = button
            self.reason_numbers[reason] = number
            self._reason_texts[reason] = text
            grid.addWidget(button, i // columns, i % columns)
        layout.addLayout(grid, 1)

        bottom = QHBoxLayout()
        bottom.setSpacing(24)
        self.reconsider_button = QPushButton("重新选择评价")
        self.reconsider_button.setObjectName("reconsider")
        self.reconsider_button.setMinimumHeight(96)
        self.reconsider_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reconsider_button.clicked.connect(self._reconsider)
        self.submit_button = QPushButton("提交")
        self.submit_button.setObjectName("submit")
        self.submit_button.setMinimumSize(320, 96)
        self.submit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.submit_button.clicked.connect(self._submit_reasons)
        self.reasons_status = _label("", "status", wrap=True)
        self.reasons_countdown = _label("", "countdown")
        bottom.addWidget(self.reconsider_button)
        bottom.addWidget(self.reasons_status, 1)
        bottom.addWidget(self.reasons_countdown)
        bottom.addWidget(self.submit_button)
        layout.addLayout(bottom)
        self._reasons_clock = _Countdown(self.reasons_countdown, self)
        return page

    def _build_message_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        self.message_title = _label("", "messageTitle", wrap=True)
        self.message_detail = _label("", "messageDetail", wrap=True)
        for w in (self.message_title, self.message_detail):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(w)
            layout.addSpacing(20)
        layout.addStretch(1)
        return page

    # ---------------------------------------------------------------- the API

    def set_hall(self, hall_name: str, window_code: str, complaint_hotline: str) -> None:
        """The header and footer when no duty card is known yet (nobody on duty)."""
        self.hall_label.setText(hall_name)
        self.window_label.setText(self._window_text(window_code))
        self.hotline_label.setText(self._hotline_text(complaint_hotline))

    def show_duty_card(self, card: DutyCard | None) -> None:
        """The 当班首办负责人 card; None: nobody on duty at this window."""
        self._card = card
        self._show_card_fields(card)
        if self.stack.currentIndex() in (self.PAGE_CARD, self.PAGE_PAUSED):
            self._show_base()

    def show_paused(self, paused: bool, reason: str = "") -> None:
        """暂停服务 with its reason (an open evaluation stays in front until it closes)."""
        self._paused = paused
        self._pause_reason = reason.strip() if paused else ""
        self.paused_reason.setText(self._pause_reason or "")
        self.paused_reason.setVisible(bool(self._pause_reason))
        if self.stack.currentIndex() in (self.PAGE_CARD, self.PAGE_PAUSED):
            self._show_base()

    def open_evaluation(
        self,
        case_no: str,
        item_name: str,
        clerk_name: str,
        timeout_s: int,
        encounter_label: str = "",
    ) -> None:
        """Show the five buttons and the countdown; ``encounter_label``: what is rated
        (受理, 一次性告知, 出件…: 一次一评)."""
        self._message_timer.stop()
        self._reasons_clock.stop()
        self._evaluating = True
        self._pending_level = None
        parts = [f"办件编号：{case_no}"]
        if item_name:
            parts.append(f"办理事项：{item_name}")
        if encounter_label:
            parts[-1] += f"（本次服务：{encounter_label}）"
        if clerk_name:
            parts.append(f"经办人：{clerk_name}")
        self.eval_case.setText("\n".join(parts))
        self.eval_status.setText("请按评价器上的按键，或直接点击上面的按钮")
        self._set_levels_enabled(True)
        self._eval_clock.start(timeout_s)
        self.stack.setCurrentIndex(self.PAGE_EVALUATE)

    def device_cannot_prompt(self) -> None:
        """The evaluator refused this evaluation's prompt: the screen's buttons only."""
        if self._evaluating and self.stack.currentIndex() == self.PAGE_EVALUATE:
            self.eval_status.setText("请直接点击上面的按钮评价（评价器暂不能使用）")

    def ask_reasons(self, level: int, timeout_s: int | None = None) -> None:
        """The 差评 reasons for ``level`` (1 or 2); ``timeout_s``: time left to choose."""
        self._message_timer.stop()
        self._evaluating = True
        self._pending_level = level
        label = LEVEL_LABELS.get(level, str(level))
        self.reasons_title.setText(f"您选择了“{label}”，请告诉我们原因")
        for button in self.reason_buttons.values():
            button.blockSignals(True)
            button.setChecked(False)
            button.setEnabled(True)
            button.blockSignals(False)
        self.reasons_status.setText("")
        self.reconsider_button.setEnabled(True)
        self._update_submit()
        seconds = timeout_s if timeout_s is not None else self._eval_clock.remaining()
        self._eval_clock.stop()
        self._reasons_clock.start(seconds)
        self.stack.setCurrentIndex(self.PAGE_REASONS)

    def set_device_keys(self, available: bool) -> None:
        """Whether the evaluator's number keys choose reasons (said in the hint)."""
        self._device_keys = available
        self._update_reasons_hint()

    def set_chosen_reasons(self, chosen: Sequence[str]) -> None:
        """The reasons chosen so far, as the desk knows them (e.g. by the device's keys)."""
        if self.stack.currentIndex() != self.PAGE_REASONS:
            return
        for reason, button in self.reason_buttons.items():
            button.blockSignals(True)
            button.setChecked(reason in chosen)
            button.blockSignals(False)
        self._update_submit()

    def close_evaluation(self, message: str, detail: str = "") -> None:
        """Leave the evaluation: a short message (感谢您的评价 / 本次未评价), then the card."""
        self._evaluating = False
        self._pending_level = None
        self._eval_clock.stop()
        self._reasons_clock.stop()
        if not message:
            self._show_base()
            return
        self.message_title.setText(message)
        # A property the style sheet matches, not a new style sheet: parsing
        # one per evaluation showed up in the event loop's time under load.
        good = message == THANKS
        if self.message_title.property("good") != good:
            self.message_title.setProperty("good", good)
            self.message_title.style().unpolish(self.message_title)
            self.message_title.style().polish(self.message_title)
        self.message_detail.setText(detail)
        self.message_detail.setVisible(bool(detail))
        self.stack.setCurrentIndex(self.PAGE_MESSAGE)
        self._message_timer.start(MESSAGE_SECONDS * 1000)

    def show_notice(self, text: str) -> None:
        """A problem while the evaluation stays open (e.g. 保存失败): buttons usable again."""
        if self.stack.currentIndex() == self.PAGE_REASONS:
            self.reasons_status.setText(text)
            for button in self.reason_buttons.values():
                button.setEnabled(True)
            self.reconsider_button.setEnabled(True)
            self._update_submit()
        else:
            self.eval_status.setText(text)
            self._set_levels_enabled(self._evaluating)

    @property
    def evaluating(self) -> bool:
        return self._evaluating

    @property
    def page(self) -> int:
        """The page shown (PAGE_CARD, PAGE_PAUSED, ...), for the app and tests."""
        return self.stack.currentIndex()

    def chosen_reasons(self) -> list[str]:
        return [r for r, b in self.reason_buttons.items() if b.isChecked()]

    # --------------------------------------------------------------- internals

    @staticmethod
    def _window_text(window_code: str) -> str:
        return f"{window_code} 号窗口" if window_code else ""

    @staticmethod
    def _hotline_text(hotline: str) -> str:
        return f"投诉监督电话：{hotline}" if hotline else ""

    def _update_header(self) -> None:
        on_card = self.stack.currentIndex() == self.PAGE_CARD
        self.card_title.setVisible(on_card and self._card is not None)

    def _show_card_fields(self, card: DutyCard | None) -> None:
        self._update_header()
        self.card_body.setVisible(card is not None)
        self.no_duty_label.setVisible(card is None)
        if card is None:
            self.paused_staff.setText("")
            return
        self.set_hall(card.hall_name, card.window_code, card.complaint_hotline)
        self.name_label.setText(card.name)
        self.title_label.setText(card.title)
        self.title_label.setVisible(bool(card.title))
        self.staff_no_label.setText(f"工号：{card.staff_no}")
        self.duty_window_label.setText(f"窗口：{card.window_code}")
        self.department_label.setText(f"部门：{card.department_name}")
        self.phone_label.setText(f"电话：{card.phone}" if card.phone else "电话：—")
        self.commitments_label.setText("\n".join(f"· {c}" for c in card.commitments))
        self._set_photo(card.photo)
        self.paused_staff.setText(f"当班：{card.name}（工号 {card.staff_no}）")

    def _set_photo(self, photo: bytes | None) -> None:
        pixmap = QPixmap()
        if photo and pixmap.loadFromData(QByteArray(photo)):
            scaled = pixmap.scaled(
                self.photo_label.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.photo_label.setPixmap(scaled)
            return
        if photo:
            log.warning("duty card photo could not be decoded (%d bytes)", len(photo))
        self.photo_label.setPixmap(QPixmap())
        self.photo_label.setText("暂无照片")

    def _show_base(self) -> None:
        if self._evaluating:
            return
        self.stack.setCurrentIndex(self.PAGE_PAUSED if self._paused else self.PAGE_CARD)
        self._update_header()

    def _set_levels_enabled(self, enabled: bool) -> None:
        for button in self.level_buttons.values():
            button.setEnabled(enabled)

    def _on_level(self, level: int) -> None:
        if not self._evaluating:
            return
        # Until the bridge answers, a second tap must not send a second press.
        self._set_levels_enabled(False)
        self.eval_status.setText("正在提交，请稍候……")
        self.level_chosen.emit(level)

    def _update_reasons_hint(self) -> None:
        # One line at 1280×800: the reason buttons keep the height.
        if self._device_keys:
            text = "请按评价器上的数字键选择原因（可多选），再按“确认”键；也可直接点选"
        else:
            text = "请点选原因（可多选），再按“提交”"
        self.reasons_hint.setText(text)

    def _update_submit(self) -> None:
        for reason, button in self.reason_buttons.items():
            on = button.isChecked()
            # A mark as well as the colour, for citizens who cannot tell red.
            text = self._reason_texts[reason]
            text.setText(f"✓ {reason}" if on else reason)
            for label in (text, self.reason_numbers[reason]):
                if label.property("on") != on:
                    label.setProperty("on", on)
                    label.style().unpolish(label)
                    label.style().polish(label)
        self.submit_button.setEnabled(bool(self.chosen_reasons()))

    def _reasons_touched(self) -> None:
        self.reasons_changed.emit(self.chosen_reasons())

    def _submit_reasons(self) -> None:
        reasons = self.chosen_reasons()
        if not reasons:
            self.reasons_status.setText("请至少选择一项原因")
            return
        self.submit_button.setEnabled(False)
        self.reconsider_button.setEnabled(False)
        for button in self.reason_buttons.values():
            button.setEnabled(False)
        self.reasons_status.setText("正在提交，请稍候……")
        self.reasons_chosen.emit(reasons)

    def _reconsider(self) -> None:
        # Back to the five buttons: the next press (screen or device) replaces
        # the unfinished 差评 in the desk; nothing was recorded yet.
        seconds = self._reasons_clock.remaining()
        self._reasons_clock.stop()
        self.eval_status.setText("请重新选择评价")
        self._set_levels_enabled(True)
        self._eval_clock.start(seconds)
        self.stack.setCurrentIndex(self.PAGE_EVALUATE)

    def resizeEvent(self, event: QResizeEvent) -> None:
        # The photo takes what the height allows: large on a 1080p monitor,
        # smaller in a 1280×800 window, where the text keeps its size.
        scale = min(
            MAX_SCALE,
            max(1.0, min(self.width() / DESIGN_SIZE[0], self.height() / DESIGN_SIZE[1])),
        )
        if abs(scale - self._scale) > 0.04:
            self._scale = scale
            self.setStyleSheet(scaled_style(scale))
        height = max(240, int(self.height() * 0.34))
        if height != self.photo_label.height():
            self.photo_label.setFixedSize(height * 3 // 4, height)
            if self._card is not None:
                self._set_photo(self._card.photo)
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._eval_clock.stop()
        self._reasons_clock.stop()
        self._message_timer.stop()
        super().closeEvent(event)


def place_on_second_screen(widget: QWidget, mode: str = "auto") -> None:
    """Show ``widget`` full screen on a second monitor when one is present, else as a window.

    ``mode`` is the ``ui.citizen_screen`` setting: ``auto`` (second monitor if
    any), ``window`` (always a normal window), ``off`` (not shown).
    """
    if mode == "off":
        widget.hide()
        return
    primary = QGuiApplication.primaryScreen()
    others = [s for s in QGuiApplication.screens() if s is not primary and s != primary]
    if mode == "auto" and others:
        screen = others[0]
        # Place first, then go full screen: the window manager full-screens a
        # window on the screen it is on.
        widget.setScreen(screen)
        widget.setGeometry(screen.geometry())
        widget.showFullScreen()
        log.info("citizen screen full screen on %s", screen.name())
        return
    # One monitor (a demo, a laptop): a window at the right edge, so the
    # console, which opens at the left, stays usable beside it.
    widget.resize(*DESIGN_SIZE)
    if primary is not None:
        area = primary.availableGeometry()
        widget.move(
            max(area.left(), area.right() - DESIGN_SIZE[0] + 1),
            area.top(),
        )
    widget.showNormal()


def save_screenshots(out_dir: str, width: int = 1920, height: int = 1080) -> list[str]:
    """Render every page with the demo data (a window on duty, with photo) into PNG files.

    ``python -m hallapp.ui.citizen docs/screenshots`` regenerates the images in
    the docs; run it under Xvfb (or offscreen) with the Chinese fonts installed.
    """
    import tempfile
    from pathlib import Path

    from sqlalchemy import select

    from hallapp.config import parse_config
    from hallapp.demo import seed_demo
    from hallapp.duty import Duty
    from hallapp.models import Staff
    from hallapp.store import Store, sqlite_url

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(sqlite_url(Path(tmp) / "demo.sqlite3"))
        try:
            seed_demo(store)
            config = parse_config({"window": {"code": "A03"}})
            with store.read() as s:
                clerk_id = s.scalars(select(Staff.id).where(Staff.staff_no == "1003")).one()
            duty = Duty(store, config)
            duty.start(clerk_id)
            card = duty.duty_card()
        finally:
            store.dispose()
    screen = CitizenScreen()
    screen.resize(width, height)
    screen.show()
    screen.show_duty_card(card)
    clerk = card.name if card is not None else ""

    def paused() -> None:
        screen.show_paused(True, "窗口人员临时离开，约 10 分钟后恢复")

    def evaluate() -> None:
        screen.show_paused(False)
        screen.open_evaluation("LCA03202611220007", "食品经营许可证核发", clerk, 60, "受理")

    def reasons() -> None:
        screen.set_device_keys(True)  # the demo's framed evaluator has number keys
        screen.ask_reasons(2, 58)
        screen.reason_buttons["等候时间长"].setChecked(True)
        screen.reason_buttons["一次性告知不到位"].setChecked(True)

    shots: list[tuple[str, Callable[[], None]]] = [
        ("citizen-idle.png", lambda: None),
        ("citizen-paused.png", paused),
        ("citizen-evaluate.png", evaluate),
        ("citizen-reasons.png", reasons),
        ("citizen-thanks.png", lambda: screen.close_evaluation(THANKS, "您的评价：非常满意")),
        (
            "citizen-not-evaluated.png",
            lambda: screen.close_evaluation(NOT_EVALUATED, "评价时间已到"),
        ),
    ]
    app = QGuiApplication.instance()
    saved: list[str] = []
    for name, step in shots:
        step()
        if app is not None:
            app.processEvents()
        path = out / name
        screen.grab().save(str(path))
        saved.append(str(path))
    screen.close()
    return saved


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    _app = QApplication(sys.argv[:1])
    for _path in save_screenshots(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"):
        print(_path)
