"""Sign-in page: staff number and password, then the duty shift starts."""

from __future__ import annotations

import logging

from hallapp.ui.context import WindowContext
from hallapp.ui.ops import run_in_background
from hallapp.ui.theme import repolish
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hallapp.duty import StaffView

log = logging.getLogger(__name__)


class SignInPage(QWidget):
    """Emits ``signed_in`` once the password is checked and the shift has started."""

    signed_in = Signal(object)  # StaffView

    def __init__(self, ctx: WindowContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._busy = False
        self._ready = True
        self._queued = False  # Enter pressed before the store was ready
        self._unprepared = False  # the store could not be prepared

        panel = QFrame()
        panel.setObjectName("panel")
        panel.setFixedWidth(460)
        box = QVBoxLayout(panel)
        box.setContentsMargins(32, 28, 32, 28)
        box.setSpacing(14)
        title = QLabel(f"{ctx.config.hall_name}\n{ctx.config.window_code} 窗口 · 工作人员登录")
        title.setObjectName("sectionTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.staff_no = QLineEdit()
        self.staff_no.setPlaceholderText("例如 1003")
        self.staff_no.setMaxLength(20)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(64)
        form.addRow("工号(&N)：", self.staff_no)
        form.addRow("密码(&W)：", self.password)
        for label, field in ((form.labelForField(self.staff_no), self.staff_no),
                             (form.labelForField(self.password), self.password)):  # fmt: skip
            if isinstance(label, QLabel):
                label.setBuddy(field)
        box.addLayout(form)

        self.message = QLabel("")
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        box.addWidget(self.message)

        self.button = QPushButton("登录并开始当班  [Enter]")
        self.button.setDefault(True)
        self.button.clicked.connect(self.submit)
        box.addWidget(self.button)
        if ctx.demo:
            hint = QLabel("演示模式：工号 1003（或 1001–1005），密码 123456")
            hint.setObjectName("hint")
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(hint)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

        self.staff_no.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self.submit)

    def set_ready(self, ready: bool, message: str = "", *, failed: bool = False) -> None:
        """Hold sign-in while the store is being prepared (demo data, migrations).

        The fields stay open meanwhile: a clerk who types the staff number and
        password and presses Enter early is signed in as soon as the store is
        ready, without pressing again. ``failed``: it will not become ready
        (the message says why); nothing typed is kept waiting.
        """
        self._ready = ready
        self._unprepared = failed
        self.button.setEnabled(ready and not self._busy)
        self._show(message, hint=not ready and not failed and bool(message))
        if not ready:
            if failed:
                self._queued = False
            return
        if self._queued:
            self._queued = False
            self.submit()
        elif not self.staff_no.text():
            self.staff_no.setFocus()

    def _show(self, message: str, *, hint: bool) -> None:
        """A message under the fields: grey while waiting, red for a problem."""
        self.message.setObjectName("hint" if hint else "error")
        repolish(self.message)  # the style sheet picks colours by object name
        self.message.setText(message)

    def reset(self) -> None:
        self.password.clear()
        self.message.clear()
        self._set_busy(False)
        self.staff_no.setFocus()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.button.setEnabled(not busy and self._ready)
        self.button.setText("正在登录…" if busy else "登录并开始当班  [Enter]")

    def submit(self) -> None:
        if self._busy:
            return
        staff_no = self.staff_no.text().strip()
        password = self.password.text()
        if not staff_no or not password:
            self._show("请输入工号和密码", hint=False)
            (self.staff_no if not staff_no else self.password).setFocus()
            return
        if not self._ready:
            if self._unprepared:
                return  # the store will not become ready: its message stays
            self._queued = True
            self._show("正在准备数据，准备好后自动登录…", hint=True)
            return
        self._set_busy(True)
        self.message.clear()
        duty = self.ctx.duty

        def work() -> StaffView:
            from hallapp.models import Role

            staff = duty.sign_in(staff_no, password)
            # A supervisor or administrator does not go on duty: the console
            # opens the supervisor view for them instead.
            if staff.role is Role.CLERK:
                duty.start(staff.id)
            return staff

        run_in_background(self, work, success=self._done, failure=self._failed, label="登录")

    def _done(self, staff: StaffView) -> None:
        self._set_busy(False)
        self.password.clear()
        log.info("signed in: %s", staff.staff_no)
        self.signed_in.emit(staff)

    def _failed(self, exc: BaseException) -> None:
        from hallapp.ui.errors import user_message

        self._set_busy(False)
        self.password.clear()
        self._show(user_message(exc, "登录"), hint=False)
        self.password.setFocus()
