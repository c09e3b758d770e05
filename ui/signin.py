"""Sign-in page: staff number and password, then the duty shift starts."""

from __future__ import annotations

import logging

from hallapp.ui.context import WindowContext
from hallapp.ui.ops import run_in_background
from hallapp.ui.theme import repolish
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hallapp.config import unset_hall_identity
from hallapp.duty import StaffView
from hallapp.security import SignInError

log = logging.getLogger(__name__)


FIRST_START_TEXT = (
    "本数据库中还没有任何工作人员，还不能登录。\n\n"
    "• 本大厅有中心数据库：在本机运行 hallapp window join 中心地址，"
    "加入中心后窗口、工作人员和事项清单从中心同步。\n"
    "• 本大厅没有中心：先创建第一位系统管理员（下方按钮，或命令 "
    "hallapp staff add 工号 姓名 --department 部门编码 --role administrator），"
    "再由管理员导入事项清单（hallapp catalog import）、登记窗口（hallapp windows add）"
    "和窗口工作人员（hallapp staff add）。系统管理员不在窗口当班，"
    "窗口工作人员登记后在此登录当班。"
)

#: Who may go on duty at each demo window (resources/demo.toml): a clerk only
#: serves at a window of their own department.
DEMO_CLERKS = {
    "A01": "1001、1002（住建局）、1005（生态环境局）、1006（自然资源局）",
    "A02": "1001、1002（住建局）",
    "A03": "1003、1004（市场监管局）",
    "A04": "1003、1004（市场监管局）",
    "A05": "1005（生态环境局）",
    "A06": "1006（自然资源局）",
    "B01": "1007（不动产登记中心）",
    "B02": "1008（交通运输局）",
    "B03": "1009（人社局）",
}


def demo_hint(window_code: str, *, kept: bool) -> str:
    """The demo's sign-in hint: who can sign in here, and what happens to the data."""
    who = DEMO_CLERKS.get(window_code)
    staff = f"{window_code} 窗口可用工号 {who}" if who else f"{window_code} 不是演示窗口"
    data = (
        "演示数据保存在 --db 指定的文件中，退出后保留。"
        if kept
        else "演示数据在退出时丢弃；要保留，请用 hallapp-window --demo --db 文件路径 启动。"
    )
    return f"演示模式：{staff}，密码均为 123456。\n{data}"


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
            hint = QLabel(demo_hint(ctx.config.window_code, kept=ctx.demo_kept))
            hint.setObjectName("hint")
            hint.setWordWrap(True)
            hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
            box.addWidget(hint)
            self.demo_hint = hint
        #: Set on a real database whose hall has not named itself (see below).
        self.identity_warning: QLabel | None = None
        unset = [] if ctx.demo else unset_hall_identity(ctx.config)
        if unset:
            # Every notice names the hall, and a 不予受理决定书 the review body and
            # the court: with the sample hall's defaults it would send an
            # applicant to another county's government and court.
            shown = "；".join(f"{s.title.split('（')[0]}“{s.default}”" for s in unset)
            log.warning("hall identity not configured: %s", ", ".join(s.key for s in unset))
            warning = QLabel(
                f"本大厅尚未设置：{shown}（示例值，文书上会照印）。请系统管理员在配置文件 "
                "hallapp.toml 的 [hall] 中设置 name、review_body、court；接入中心库的窗口由 "
                "hallapp central settings set 统一设置。"
            )
            warning.setObjectName("error")
            warning.setWordWrap(True)
            box.addWidget(warning)
            self.identity_warning = warning

        # A new database with nobody in it: the way on, instead of a sign-in
        # that can only fail (shown by check_first_start).
        self.first_start = QFrame()
        self.first_start.setObjectName("panel")
        self.first_start.setFixedWidth(620)
        first = QVBoxLayout(self.first_start)
        first.setContentsMargins(28, 20, 28, 20)
        self.first_start_text = QLabel(FIRST_START_TEXT)
        self.first_start_text.setWordWrap(True)
        self.first_start_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        first.addWidget(self.first_start_text)
        self.create_admin_button = QPushButton("创建第一位系统管理员…")
        self.create_admin_button.clicked.connect(self.create_first_administrator)
        first.addWidget(self.create_admin_button)
        self.first_start.hide()

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        # Centred by stretches, not added with an alignment: an aligned widget
        # gets its size hint's height, and wrapped text would be cut off.
        for box_widget in (panel, self.first_start):
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(box_widget)
            row.addStretch(1)
            outer.addLayout(row)
            outer.addSpacing(16)
        outer.addStretch(2)
        self.admin_dialog: QDialog | None = None
        if not ctx.demo:
            # The demo seeds its staff in a child process; a real database is ready now.
            self.check_first_start()

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
        if isinstance(exc, SignInError):
            self.check_first_start()  # "wrong password" on an empty database: say why

    # ------------------------------------------------------------------ first start

    def check_first_start(self) -> None:
        """Show the way on when the database holds no staff (background query)."""
        store = self.ctx.store

        def work() -> bool:
            from hallapp.staffing import has_staff

            with store.session() as s:
                return not has_staff(s)

        run_in_background(self, work, success=self._show_first_start, label="检查工作人员")

    def _show_first_start(self, empty: bool) -> None:
        self.first_start.setVisible(empty)
        if empty:
            self._show("本数据库中还没有工作人员，见下方说明", hint=True)

    def create_first_administrator(self) -> None:
        """A small form; the administrator is created in the background."""
        dialog = QDialog(self)
        dialog.setWindowTitle("创建第一位系统管理员")
        form = QFormLayout(dialog)
        fields = {
            "staff_no": QLineEdit(),
            "name": QLineEdit(),
            "department": QLineEdit("ZWB"),
            "department_name": QLineEdit(f"{self.ctx.config.hall_name}管理委员会"),
            "password": QLineEdit(),
            "again": QLineEdit(),
        }
        for key in ("password", "again"):
            fields[key].setEchoMode(QLineEdit.EchoMode.Password)
        labels = {
            "staff_no": "工号(&N)：",
            "name": "姓名(&M)：",
            "department": "部门编码(&D)：",
            "department_name": "部门名称：",
            "password": "密码（至少 8 位）(&W)：",
            "again": "再输入一次(&A)：",
        }
        for key, field in fields.items():
            form.addRow(labels[key], field)
        error = QLabel("")
        error.setObjectName("error")
        error.setWordWrap(True)
        form.addRow(error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        form.addRow(buttons)
        buttons.rejected.connect(dialog.reject)
        store, window = self.ctx.store, self.ctx.config.window_code

        def submit() -> None:
            values = {k: f.text().strip() for k, f in fields.items()}
            values["password"] = fields["password"].text()
            if values["password"] != fields["again"].text():
                error.setText("两次输入的密码不一致")
                return

            def work() -> str:
                from hallapp import audit
                from hallapp.staffing import create_first_administrator

                with store.session() as s:
                    person = create_first_administrator(
                        s,
                        staff_no=values["staff_no"],
                        name=values["name"],
                        password=values["password"],
                        department_code=values["department"],
                        department_name=values["department_name"],
                    )
                    audit.record(s, person, "staff.first_administrator", person.staff_no,
                                 window_code=window)  # fmt: skip
                    return person.staff_no

            def done(staff_no: str) -> None:
                dialog.accept()
                self.first_start_text.setText(admin_created_text(staff_no, window))
                self.create_admin_button.hide()
                self._show(f"已创建系统管理员（工号 {staff_no}）", hint=True)

            def failed(exc: BaseException) -> None:
                from hallapp.ui.errors import user_message

                error.setText(user_message(exc, "创建管理员"))

            run_in_background(dialog, work, success=done, failure=failed, label="创建管理员")

        buttons.accepted.connect(submit)
        self.admin_dialog = dialog
        dialog.open()


def admin_created_text(staff_no: str, window: str) -> str:
    """What comes after the first administrator, in the order it must be done."""
    return (
        f"系统管理员已创建（工号 {staff_no}）。管理员不在窗口当班，请接着在本机命令行中：\n\n"
        "1. 导入事项清单：hallapp catalog import 事项清单.xlsx\n"
        f"2. 登记本窗口及其进驻部门：hallapp windows add {window} 窗口名称 "
        f"--department 部门编码 --by {staff_no}\n"
        "3. 登记窗口工作人员：hallapp staff add 工号 姓名 "
        f"--department 部门编码 --by {staff_no}\n\n"
        "窗口工作人员登记后，在上方用自己的工号登录当班。"
    )
