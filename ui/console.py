"""The clerk console: the main window of a service-hall window.

Sign-in page, then two pages: 收件受理 (F2/F3) and 本窗口办件 (F4). The header
shows the clerk on duty and the pause state (F11); the status bar shows the
evaluator, the printer and the clerk. Every slow call goes through ui.ops.

The citizen screen and the evaluator bridge (UI-B) are handed in; the console
tells them what happens at the window (duty card, pause, evaluation) and shows
what comes back (connected, evaluation recorded).
"""

from __future__ import annotations

import logging
from typing import Any

from hallapp.ui.cases_view import CasesView
from hallapp.ui.context import WindowContext
from hallapp.ui.errors import show_error
from hallapp.ui.intake_view import DecisionDialog, IntakeView
from hallapp.ui.ops import run_in_background, tracker
from hallapp.ui.preview import PreviewDialog, Printed
from hallapp.ui.theme import bind_key, repolish
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hallapp.documents import DutyCard, Notice
from hallapp.duty import DutyState, StaffView
from hallapp.intake import CaseView, DecisionResult

log = logging.getLogger(__name__)

PAUSE_REASONS = ("临时离开窗口", "系统故障，正在处理", "业务培训", "午间休息", "接待领导检查")

#: Every shortcut of the console, shown in the help panel (F1).
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("F1", "快捷键帮助"),
    ("F2", "新办件（清空表单）"),
    ("F3", "查找事项（名称、编码、拼音首字母）"),
    ("F4", "本窗口办件列表"),
    ("F5", "刷新办件列表"),
    ("Ctrl+F", "查找办件：受理编号、申请人、手机号或证件号后 4 位（Esc 返回）"),
    ("↓ / Enter", "在查找结果中选择事项"),
    ("Alt+L", "跳到材料核对表"),
    ("空格", "切换材料核对结果：缺少 → 已收 → 不符合要求"),
    ("Alt+A", "全部材料已收"),
    ("Ctrl+1", "受理（每个决定先确认：回车出具，Esc 取消）"),
    ("Ctrl+2", "容缺受理"),
    ("Ctrl+3", "一次性告知补正"),
    ("Ctrl+4", "不予受理"),
    ("Ctrl+5", "非本部门职责告知"),
    ("Ctrl+6", "即办办结"),
    ("Ctrl+Enter", "在对话框中确定"),
    ("F9", "办结（确认：回车，Esc 取消）"),
    ("F10", "出件：本人领取、代领人或邮寄（回车确定）"),
    ("Ctrl+E", "延期（理由、批准人）"),
    ("Ctrl+R", "登记补正材料"),
    ("Ctrl+D", "登记容缺材料补齐"),
    ("Ctrl+P", "打印文书（预览中：打印）"),
    ("Ctrl+Shift+P", "补打文书"),
    ("F11", "暂停服务 / 恢复服务"),
    ("F8", "再次邀请评价（评价超时、群众仍在窗口时）"),
    ("Ctrl+Shift+X", "取消正在进行的评价"),
    ("Ctrl+Shift+Q", "结束当班并退出登录"),
    ("Esc", "关闭对话框 / 预览"),
)


def help_html() -> str:
    rows = "".join(
        f"<tr><td style='padding:3px 18px 3px 0'><b>{k}</b></td><td>{v}</td></tr>"
        for k, v in SHORTCUTS
    )
    return f"<h3>键盘操作</h3><p>所有操作都可以不用鼠标完成。</p><table>{rows}</table>"


class ClerkConsole(QMainWindow):
    """The main window; see the module docstring."""

    evaluation_requested = Signal(str)  # case id handed to the evaluator bridge
    duty_changed = Signal(object)  # DutyState | None

    PAGE_SIGNIN, PAGE_WORK = 0, 1

    def __init__(
        self,
        ctx: WindowContext,
        *,
        bridge: Any | None = None,
        citizen: Any | None = None,
    ) -> None:
        super().__init__()
        from hallapp.ui.signin import SignInPage

        self.ctx = ctx
        self.bridge = bridge
        self.citizen = citizen
        self.duty: DutyState | None = None
        self.preview: PreviewDialog | None = None
        self.pause_dialog: DecisionDialog | None = None
        self.help_dialog: QDialog | None = None
        self.supervisor_window: QWidget | None = None
        self.last_printed: Printed | None = None
        self.setWindowTitle(f"{ctx.config.hall_name} · {ctx.config.window_code} 窗口")
        self.resize(1480, 900)

        self.signin = SignInPage(ctx)
        self.intake = IntakeView(ctx)
        self.cases = CasesView(ctx)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.intake, "收件受理  [F2]")
        self.tabs.addTab(self.cases, "本窗口办件  [F4]")
        # 一件事 (综合窗口 only): the tab appears once the window is seen to take bundles.
        from hallapp.ui.bundle_view import BundleView

        from hallapp.bundles.desk import BundleDesk

        self.bundles = BundleView(BundleDesk(ctx.intake), "")
        self.bundles.available.connect(self._bundles_available)
        self.bundles.notice_issued.connect(self._bundle_notice)

        work = QWidget()
        work_layout = QVBoxLayout(work)
        work_layout.setContentsMargins(8, 4, 8, 0)
        work_layout.addLayout(self._build_header())
        work_layout.addWidget(self.tabs, 1)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.signin)
        self.stack.addWidget(work)
        self.setCentralWidget(self.stack)
        self._build_status_bar()
        self._bind()
        self._clock = QTimer(self)
        self._clock.setInterval(60_000)  # countdowns change at midnight; keep the list fresh
        self._clock.timeout.connect(self._periodic)
        self._clock.start()
        self.stack.setCurrentIndex(self.PAGE_SIGNIN)
        self.signin.reset()

    # ------------------------------------------------------------------ layout

    def _build_header(self) -> QHBoxLayout:
        self.clerk_badge = QLabel("")
        self.clerk_badge.setObjectName("clerkBadge")
        self.duty_badge = QLabel("")
        self.pause_button = QPushButton("暂停服务  [F11]")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.end_button = QPushButton("结束当班  [Ctrl+Shift+Q]")
        self.end_button.clicked.connect(self.end_duty)
        self.cancel_eval_button = QPushButton("取消评价  [Ctrl+Shift+X]")
        self.cancel_eval_button.setToolTip("群众离开或不愿评价时撤回评价邀请（不记录任何评价）")
        self.cancel_eval_button.clicked.connect(self.cancel_evaluation)
        self.cancel_eval_button.hide()
        self.reoffer_button = QPushButton("再次邀请评价  [F8]")
        self.reoffer_button.setToolTip("评价超时而群众仍在窗口时，再请群众评价本次服务")
        self.reoffer_button.clicked.connect(self.reoffer_evaluation)
        self.reoffer_button.hide()
        self.help_button = QPushButton("快捷键  [F1]")
        self.help_button.clicked.connect(self.show_help)
        head = QHBoxLayout()
        head.addWidget(self.clerk_badge)
        head.addWidget(self.duty_badge)
        head.addStretch(1)
        head.addWidget(self.cancel_eval_button)
        head.addWidget(self.reoffer_button)
        head.addWidget(self.pause_button)
        head.addWidget(self.end_button)
        head.addWidget(self.help_button)
        return head

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.evaluator_status = QLabel("评价器：未连接")
        self.printer_status = QLabel(f"打印机：{self.ctx.printing.describe()}")
        self.clerk_status = QLabel("当班：无")
        self.busy_status = QLabel("")
        for label in (
            self.busy_status,
            self.evaluator_status,
            self.printer_status,
            self.clerk_status,
        ):
            bar.addPermanentWidget(label)
        # A bound method of this QObject: Qt drops the connection with the window.
        tracker().busy_changed.connect(self._show_busy)
        self.refresh_printer()

    def refresh_printer(self) -> None:
        """Find out which printer documents go to (asks CUPS: in the background)."""
        run_in_background(
            self,
            self.ctx.printing.resolve,
            success=self._show_printer,
            failure=lambda _e: self._show_printer("无法读取打印机列表"),
            label="检测打印机",
        )

    def _show_printer(self, text: str) -> None:
        self.printer_status.setText(f"打印机：{text}")

    def _show_busy(self, busy: bool) -> None:
        self.busy_status.setText("处理中…" if busy else "")

    def _bind(self) -> None:
        self.signin.signed_in.connect(self._signed_in)
        self.intake.decided.connect(self._decided)
        self.intake.case_opened.connect(self.cases.update_case)
        # 一次一评: 出件 is an encounter with the citizen; 办结 of a 承诺件 is
        # back-office work with the citizen absent, so it opens no evaluation.
        self.cases.completed.connect(self._completed_in_back_office)
        self.cases.handed_over.connect(self._offer_evaluation)
        self.cases.correction_requested.connect(self._continue_correction)
        self.cases.print_requested.connect(self._print_requested)
        self.cases.install_shortcuts(self, self._to_cases)
        for key, handler in (
            ("F1", self.show_help),
            ("F2", self.new_case),
            ("F3", self.find_item),
            ("F4", self.show_cases),
            ("Ctrl+F", self.find_case),
            ("F11", self.toggle_pause),
            ("Ctrl+Shift+Q", self.end_duty),
            ("Ctrl+Shift+X", self.cancel_evaluation),
            ("F8", self.reoffer_evaluation),
        ):
            bind_key(self, key, handler)
        if self.bridge is not None:
            self.bridge.connected_changed.connect(self._evaluator_connected)
            self.bridge.evaluation_opened.connect(self._evaluation_opened)
            self.bridge.evaluation_recorded.connect(self._evaluation_recorded)
            self.bridge.evaluation_expired.connect(self._evaluation_expired)
            self.bridge.evaluation_cancelled.connect(self._evaluation_cancelled)
            self.bridge.awaiting_reasons.connect(
                lambda _cid, level: self.statusBar().showMessage(
                    f"群众选择了{'非常不满意' if level == 1 else '不满意'}，正在选择原因…", 15000
                )
            )
            self.bridge.error.connect(self._evaluator_error)

    # ------------------------------------------------------------------ navigation

    @property
    def signed_in(self) -> bool:
        return self.ctx.clerk is not None and self.stack.currentIndex() == self.PAGE_WORK

    def new_case(self) -> None:
        if not self.signed_in:
            return
        self.tabs.setCurrentWidget(self.intake)
        self.intake.new_case()

    def find_item(self) -> None:
        if not self.signed_in:
            return
        self.tabs.setCurrentWidget(self.intake)
        self.intake.focus_search()

    def show_cases(self) -> None:
        if not self.signed_in:
            return
        if self.tabs.currentWidget() is not self.cases:
            self.tabs.setCurrentWidget(self.cases)
            self.cases.focus_list()

    def find_case(self) -> None:
        """Ctrl+F: the case list's find box (an applicant coming back, an older case)."""
        if not self.signed_in:
            return
        self.tabs.setCurrentWidget(self.cases)
        self.cases.find_box.setFocus()
        self.cases.find_box.selectAll()

    def _to_cases(self) -> bool:
        self.show_cases()
        return self.signed_in

    def show_help(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("快捷键帮助")
        text = QTextBrowser()
        text.setHtml(help_html())
        close = QPushButton("关闭  [Esc]")
        close.clicked.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(close)
        dialog.resize(520, 720)
        self.help_dialog = dialog
        dialog.open()

    # ------------------------------------------------------------------ duty

    def _signed_in(self, staff: StaffView) -> None:
        from hallapp.models import Role

        if staff.role is not Role.CLERK:
            self._open_supervisor_view(staff)
            return
        self.ctx.clerk = staff
        self.stack.setCurrentIndex(self.PAGE_WORK)
        self.tabs.setCurrentWidget(self.intake)
        self.intake.new_case()
        self.cases.refresh()
        self.bundles.clerk_id = staff.id
        self.bundles.refresh()
        self._load_duty()
        # The document process loads reportlab and the fonts while the clerk
        # greets the first applicant: the first preview is then as quick as any.
        from hallapp.ui.docworker import document_worker

        document_worker().warm_up(self.ctx.printing.font_path)

    def _open_supervisor_view(self, staff: StaffView) -> None:
        """Supervisors and administrators get their own window; the window stays
        at sign-in for the next clerk."""
        from hallapp.ui.supervisor_app import SupervisorWindow

        self.supervisor_window = SupervisorWindow(self.ctx.store, self.ctx.config, staff)
        self.supervisor_window.show()
        self.signin.reset()

    def _load_duty(self) -> None:
        duty = self.ctx.duty

        def work() -> tuple[DutyState | None, DutyCard | None]:
            return duty.current(), duty.duty_card()

        run_in_background(self, work, success=self._show_duty, label="读取当班信息")

    def _show_duty(self, result: tuple[DutyState | None, DutyCard | None]) -> None:
        state, card = result
        self.duty = state
        clerk = self.ctx.clerk
        if clerk is not None:
            title = f"，{clerk.title}" if clerk.title else ""
            self.clerk_badge.setText(f"{clerk.name}（工号 {clerk.staff_no}{title}）")
            self.clerk_status.setText(f"当班：{clerk.name}")
        paused = bool(state and state.paused)
        self.duty_badge.setObjectName("pausedBadge" if paused else "onDutyBadge")
        self.duty_badge.setText(f"暂停服务：{state.pause_reason}" if state and paused else "当班中")
        repolish(self.duty_badge)  # the style sheet keys on the object name
        self.pause_button.setText("恢复服务  [F11]" if paused else "暂停服务  [F11]")
        if self.bridge is not None:
            self.bridge.set_duty_card(card)  # the citizen screen and, if it can, the device
        elif self.citizen is not None:
            self.citizen.show_duty_card(card)
        if self.citizen is not None:
            self.citizen.show_paused(paused, state.pause_reason if state and paused else "")
        self.duty_changed.emit(state)

    def toggle_pause(self) -> None:
        """F11: pause service (with a reason for the citizens) or resume it."""
        if not self.signed_in or self.pause_dialog is not None:
            return
        duty, staff_id = self.ctx.duty, self.ctx.clerk_id
        if self.duty is not None and self.duty.paused:
            run_in_background(
                self,
                lambda: duty.resume(staff_id),
                success=lambda _s: self._load_duty(),
                label="恢复服务",
            )
            return
        dialog = DecisionDialog("暂停服务", self)
        dialog.buttons.buttons()[0].setText("暂停服务  [Ctrl+Enter]")
        reason = QComboBox()
        reason.setEditable(True)
        reason.addItems(PAUSE_REASONS)
        dialog.form.addRow(QLabel("暂停期间群众屏显示“暂停服务”和原因。"))
        dialog.add("reason", "原因(&R)：", reason)

        def go() -> None:
            text = reason.currentText().strip()
            run_in_background(
                self,
                lambda: duty.pause(staff_id, text),
                success=lambda _s: self._load_duty(),
                label="暂停服务",
            )

        dialog.accepted.connect(go)
        dialog.finished.connect(lambda _r: setattr(self, "pause_dialog", None))
        self.pause_dialog = dialog
        dialog.open()
        reason.setFocus()

    def recheck_clerk(self) -> None:
        """After a pull changed the staff: a clerk disabled at the centre
        leaves duty at once (the citizen screen must not show as first
        responder someone who may no longer serve; the domain refuses that
        person's decisions anyway), told why."""
        if not self.signed_in:
            return
        clerk = self.ctx.clerk
        assert clerk is not None
        store = self.ctx.store

        def still_active() -> bool:
            from hallapp.models import Staff

            with store.read() as s:
                staff = s.get(Staff, clerk.id)
                return staff is not None and bool(staff.active)

        def done(active: bool) -> None:
            if active or self.ctx.clerk is None or self.ctx.clerk.id != clerk.id:
                return
            log.warning("staff %s disabled at the centre: duty ended", clerk.staff_no)
            self.end_duty()
            show_error(
                self,
                f"工号 {clerk.staff_no}（{clerk.name}）已在中心库停用，本窗口已结束其当班。"
                "请由其他工作人员登录继续办理；如有疑问请联系本大厅系统管理员。",
                logged=True,
            )

        run_in_background(self, still_active, success=done, label="")

    def end_duty(self) -> None:
        """Ctrl+Shift+Q: end the shift; the citizen screen shows nobody on duty."""
        if not self.signed_in:
            return
        duty, staff_id = self.ctx.duty, self.ctx.clerk_id

        def done(_r: object) -> None:
            self.ctx.clerk = None
            self.duty = None
            self.clerk_status.setText("当班：无")
            if self.bridge is not None:
                self.bridge.set_duty_card(None)
            elif self.citizen is not None:
                self.citizen.show_duty_card(None)
            if self.citizen is not None:
                self.citizen.show_paused(False)
            self.cases.clear()
            self.intake.new_case()
            self.stack.setCurrentIndex(self.PAGE_SIGNIN)
            self.signin.reset()
            self.duty_changed.emit(None)

        run_in_background(self, lambda: duty.end(staff_id), success=done, label="结束当班")

    # ------------------------------------------------------------------ cases

    def _decided(self, result: DecisionResult) -> None:
        case = result.case
        # The decided case stays listed and selected, whatever the finder shows.
        self.cases.show_acted(case)
        self.statusBar().showMessage(f"{case.case_no}：{case.status.label}", 10000)
        if result.violations:
            show_error(
                self,
                "注意：本次补正告知新增了首次告知中没有的材料要求（"
                + "、".join(result.violations)
                + "），违反一次性告知规定，已记录。",
            )
        if result.notice is not None:
            self.open_preview(result.notice, result.document_id)
        # Every decision is an encounter at the window (受理, 容缺, 一次性告知,
        # 不予受理, 非本部门职责告知, 即办): the citizen is asked to evaluate it.
        self._offer_evaluation(case)

    def _bundles_available(self, available: bool) -> None:
        if available and self.tabs.indexOf(self.bundles) < 0:
            self.tabs.addTab(self.bundles, "一件事（综合窗口）")

    def _bundle_notice(self, notice: Notice, document_id: str, lead_case_id: str) -> None:
        """A bundle's notice: print it, and offer the evaluation of that encounter."""
        self.open_preview(notice, document_id)
        intake = self.ctx.intake
        run_in_background(
            self,
            lambda: intake.case_view(lead_case_id),
            success=self._offer_evaluation,
            label="读取一件事办件",
        )

    def _continue_correction(self, case: CaseView) -> None:
        self.tabs.setCurrentWidget(self.intake)
        self.intake.continue_correction(case)

    def _print_requested(self, notice: Notice, document_id: str, reprint: bool) -> None:
        self.open_preview(notice, document_id, reprint=reprint)

    def open_preview(
        self, notice: Notice | DutyCard, document_id: str | None, *, reprint: bool = False
    ) -> PreviewDialog:
        if self.preview is not None:
            self.preview.close()
        dialog = PreviewDialog(
            self.ctx, notice, document_id=document_id, reprint=reprint, parent=self
        )
        dialog.printed.connect(self._printed)
        dialog.finished.connect(lambda _r: self._preview_closed(dialog))
        self.preview = dialog
        dialog.open()
        return dialog

    def _preview_closed(self, dialog: PreviewDialog) -> None:
        if self.preview is dialog:
            self.preview = None

    def _printed(self, result: Printed) -> None:
        self.last_printed = result
        self.statusBar().showMessage(f"已打印（{result.pages} 页）：{result.where}", 10000)

    def _offer_evaluation(self, case: CaseView) -> None:
        """After an encounter at the window: invite the citizen to evaluate it (一次一评)."""
        if case.evaluation_state in ("evaluated", "open"):
            return
        if self.bridge is None:
            self.statusBar().showMessage("未配置评价器，本次无法评价", 10000)
            return
        log.info("evaluation opened for %s", case.case_no)
        self.reoffer_button.hide()
        self.evaluation_requested.emit(case.id)
        clerk = self.ctx.clerk
        self.bridge.open_evaluation(case.id, staff_id=clerk.id if clerk else None)
        self.statusBar().showMessage(f"{case.case_no}：请群众在评价器上评价", 15000)

    def _completed_in_back_office(self, case: CaseView) -> None:
        self.statusBar().showMessage(f"{case.case_no}：已办结。出件时请办事群众评价", 10000)

    def reoffer_evaluation(self) -> None:
        """F8: offer the invitation that timed out again (the citizen is still here)."""
        if self.bridge is None or not self.signed_in:
            return
        if not self.reoffer_button.isVisible():
            self.statusBar().showMessage("没有超时未评价的服务可以再次邀请", 8000)
            return
        self.reoffer_button.hide()
        self.bridge.reoffer()
        self.statusBar().showMessage("已再次邀请群众评价", 10000)

    # ------------------------------------------------------------------ evaluator

    def _evaluator_connected(self, connected: bool) -> None:
        text = "评价器：已连接" if connected else "评价器：未连接"
        if self.bridge is not None and hasattr(self.bridge, "status_text"):
            text = self.bridge.status_text()
        self.evaluator_status.setText(text)
        ok = connected and "无响应" not in text
        self.evaluator_status.setStyleSheet("" if ok else "color:#b42318")

    def _evaluation_opened(self, case_id: str) -> None:
        self.reoffer_button.hide()
        self.cancel_eval_button.show()
        self.cases.reload_case(case_id)

    def cancel_evaluation(self) -> None:
        """Ctrl+Shift+X: withdraw the open evaluation (nothing is recorded)."""
        if self.bridge is not None and self.cancel_eval_button.isVisible():
            self.bridge.cancel()

    def _evaluation_cancelled(self, case_id: str) -> None:
        self.cancel_eval_button.hide()
        self._show_reoffer()
        self.cases.reload_case(case_id)
        self.statusBar().showMessage("已取消本次评价（不记录评价）", 10000)

    def _evaluation_recorded(self, case_id: str, level: int) -> None:
        from hallapp.evaluation import LEVEL_LABELS

        self.cancel_eval_button.hide()
        self.reoffer_button.hide()
        self.cases.reload_case(case_id)
        self.statusBar().showMessage(f"收到评价：{LEVEL_LABELS.get(level, level)}", 10000)

    def _evaluation_expired(self, case_id: str) -> None:
        self.cancel_eval_button.hide()
        self.cases.reload_case(case_id)
        self._show_reoffer()
        self.statusBar().showMessage(
            "群众未评价（不计默认好评）。群众仍在窗口可按 F8 再次邀请评价", 15000
        )

    def _show_reoffer(self) -> None:
        bridge = self.bridge
        if bridge is not None and getattr(bridge, "can_reoffer", False):
            self.reoffer_button.show()

    def _evaluator_error(self, message: str) -> None:
        log.warning("evaluator: %s", message)
        self.statusBar().showMessage(f"评价器：{message}", 15000)

    # ------------------------------------------------------------------ misc

    def _periodic(self) -> None:
        if self.signed_in:
            self.cases.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        # The shift stays open on purpose: the next sign-in at this window ends
        # it, so a crash or a closed window never hides who was on duty.
        self._clock.stop()
        if self.bridge is not None:
            try:
                self.bridge.stop()
            except Exception:
                log.exception("evaluator bridge did not stop cleanly")
        if self.citizen is not None:
            self.citizen.close()
        from hallapp.ui.docworker import stop_document_worker

        stop_document_worker()
        super().closeEvent(event)
