"""模拟评价器: a keypad window for demo mode, standing in for the device at the counter.

Its keys do what a citizen's finger does on a real evaluator: the simulator
(hallapp.devices.simulator) writes a key frame into its pseudo-terminal, the
driver reads it from the other end like any serial port, and the desk decides
whether it counts. 断开 / 连接 makes the port vanish and come back, as pulling
and re-inserting the USB cable does. Writes to the pty run in the background.
"""

from __future__ import annotations

import logging

from hallapp.devices import framed
from hallapp.devices.simulator import Simulator
from hallapp.ui.citizen import LEVEL_COLOURS, LEVELS
from hallapp.ui.ops import run_in_background
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hallapp.evaluation import BAD_REVIEW_REASONS, LEVEL_LABELS

log = logging.getLogger(__name__)

_ACK_TEXT = {
    framed.AckStatus.OK: "主机已保存评价",
    framed.AckStatus.IGNORED: "主机忽略了按键（当前没有待评价的服务）",
    framed.AckStatus.NEED_REASONS: "差评：按原因键选择原因再按确认，或在群众屏上选择",
    framed.AckStatus.ERROR: "主机保存失败，请再按一次",
}


class _CommandRelay(QObject):
    """Brings the simulator's host commands (its reader thread) to the GUI thread."""

    received = Signal(object)


class SimulatorPanel(QWidget):
    """A small keypad window driving an in-process :class:`Simulator`."""

    def __init__(self, simulator: Simulator, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.simulator = simulator
        self.setWindowTitle("模拟评价器（演示）")
        self.setObjectName("simulatorPanel")
        layout = QVBoxLayout(self)
        hint = QLabel(
            "演示用：这些按键相当于窗口台面上的评价器（快捷键 1–5，0 为超时；"
            "差评原因 Alt+1…，确认 Alt+Enter）。"
            "按键后看群众屏和工作台的变化。"
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.display = QLabel("评价器待机")
        self.display.setObjectName("simDisplay")
        self.display.setWordWrap(True)
        self.display.setStyleSheet(
            "background: #10231a; color: #9cf0b8; font-size: 16px; padding: 8px;"
        )
        layout.addWidget(self.display)

        grid = QGridLayout()
        self.key_buttons: dict[int, QPushButton] = {}
        # One button group instead of a lambda per key: the id is the level
        # (a lambda capturing self in a connection crashed PySide 6.12 at exit).
        self._keys = QButtonGroup(self)
        self._keys.idClicked.connect(self.press)
        for column, level in enumerate(LEVELS):
            button = QPushButton(f"{LEVEL_LABELS[level]}\n（{level}）")
            button.setObjectName(f"simKey{level}")
            bg, fg = LEVEL_COLOURS[level]
            button.setStyleSheet(
                f"QPushButton {{ background: {bg}; color: {fg}; font-size: 16px;"
                " font-weight: bold; padding: 12px; border-radius: 8px; }"
            )
            button.setMinimumSize(96, 72)
            button.setShortcut(QKeySequence(str(level)))
            button.setToolTip(f"快捷键 {level}")
            self._keys.addButton(button, level)
            self.key_buttons[level] = button
            grid.addWidget(button, 0, column)
        layout.addLayout(grid)

        # The number keys and 确认 of a framed device: 差评 reasons (Alt+1…, Alt+Enter).
        self.reason_buttons: dict[int, QPushButton] = {}
        self._reason_keys = QButtonGroup(self)
        self._reason_keys.idClicked.connect(self.press_reason)
        reasons = QGridLayout()
        if simulator.protocol == "framed":
            for n in range(1, len(BAD_REVIEW_REASONS) + 1):
                button = QPushButton(f"原因 {n}")
                button.setObjectName(f"simReason{n}")
                button.setShortcut(QKeySequence(f"Alt+{n}"))
                button.setToolTip(f"{BAD_REVIEW_REASONS[n - 1]}（快捷键 Alt+{n}）")
                self._reason_keys.addButton(button, n)
                self.reason_buttons[n] = button
                reasons.addWidget(button, 0, n - 1)
            confirm = QPushButton("确认")
            confirm.setObjectName("simConfirm")
            confirm.setShortcut(QKeySequence("Alt+Return"))
            confirm.setToolTip("提交所选原因（快捷键 Alt+Enter）")
            self._reason_keys.addButton(confirm, 0)
            self.reason_buttons[0] = confirm
            reasons.addWidget(confirm, 0, len(BAD_REVIEW_REASONS))
        layout.addLayout(reasons)

        self.timeout_button = QPushButton("评价器超时（0）")
        self.timeout_button.setShortcut(QKeySequence("0"))
        self._keys.addButton(self.timeout_button, 0)
        self.plug_button = QPushButton("断开（模拟拔出 USB）")
        self.plug_button.setObjectName("simPlug")
        self.plug_button.setShortcut(QKeySequence("Ctrl+D"))
        self.plug_button.clicked.connect(self.toggle_plug)
        layout.addWidget(self.timeout_button)
        layout.addWidget(self.plug_button)
        self.status = QLabel("")
        self.status.setObjectName("simStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self._relay = _CommandRelay(self)
        self._relay.received.connect(self._on_command)
        simulator.add_listener(self._relay.received.emit)
        self._update_plug()

    # ----------------------------------------------------------------- actions

    def press(self, level: int) -> None:
        """Press a key on the simulated device (0: the device's own time-out)."""
        sim = self.simulator
        if not sim.plugged:
            self.status.setText("评价器已断开，请先点“连接”")
            return
        self.status.setText(f"已按下：{LEVEL_LABELS.get(level, '超时')}")

        def work() -> framed.AckStatus | None:
            sim.press(level)
            if sim.protocol != "framed":
                return None  # a key-code device hears no answer
            return sim.wait_ack(timeout=2.0)

        run_in_background(
            self, work, success=self._on_ack, failure=self._on_failure, label="模拟按键"
        )

    def press_reason(self, number: int) -> None:
        """A number key choosing reason ``number``; 0 is the confirm key."""
        sim = self.simulator
        if not sim.plugged:
            self.status.setText("评价器已断开，请先点“连接”")
            return
        self.status.setText("已按下：确认" if number == 0 else f"已按下：原因 {number}")

        def work() -> framed.AckStatus | None:
            if number == 0:
                sim.press_confirm()
            else:
                sim.press_reason(number)
            return sim.wait_ack(timeout=2.0)

        run_in_background(
            self, work, success=self._on_ack, failure=self._on_failure, label="模拟按键"
        )

    def toggle_plug(self) -> None:
        sim = self.simulator
        plugged = sim.plugged
        self.plug_button.setEnabled(False)

        def work() -> str:
            if plugged:
                sim.unplug()
                return ""
            return sim.replug()

        run_in_background(
            self,
            work,
            success=lambda _path: self._update_plug(),
            failure=self._on_failure,
            label="模拟插拔评价器",
        )

    # -------------------------------------------------------------- callbacks

    def _on_ack(self, status: framed.AckStatus | None) -> None:
        if status is None:
            if self.simulator.protocol == "framed":
                self.status.setText("主机没有应答（评价器未连接？）")
            return
        self.status.setText(_ACK_TEXT.get(status, f"主机应答：{status.name}"))

    def _on_failure(self, exc: BaseException) -> None:
        log.warning("simulator panel: %s", exc)
        self.status.setText(str(exc) or exc.__class__.__name__)
        self._update_plug()

    def _update_plug(self) -> None:
        plugged = self.simulator.plugged
        self.plug_button.setEnabled(True)
        self.plug_button.setText("断开（模拟拔出 USB）" if plugged else "连接（模拟插回 USB）")
        for button in [*self.key_buttons.values(), *self.reason_buttons.values()]:
            button.setEnabled(plugged)
        self.timeout_button.setEnabled(plugged)
        if not plugged:
            self.display.setText("评价器已断开")

    @Slot(object)
    def _on_command(self, command: object) -> None:
        if isinstance(command, framed.Prompt):
            self.display.setText(
                f"请评价：办件 {command.case_no}，经办人 {command.clerk_name}，"
                f"{command.timeout_s} 秒内按键"
            )
        elif isinstance(command, framed.Cancel):
            self.display.setText("评价器待机")
        elif isinstance(command, framed.ShowDutyCard):
            self.display.setText(f"当班：{command.window} 窗口 {command.name}（{command.title}）")
        elif isinstance(command, framed.HostAck) and command.status == framed.AckStatus.OK:
            self.display.setText("谢谢您的评价")
