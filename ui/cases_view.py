"""本窗口办件: the window's cases with their deadlines, and what comes after the decision.

The list shows status, the promised date with a countdown in working days,
due-soon and overdue rows highlighted, and the evaluation once it arrives.
Actions: 办结 (F9), 出件 (F10), 延期 (Ctrl+E), 打印 (Ctrl+P), 补打
(Ctrl+Shift+P), 登记补正 (Ctrl+R), 容缺补齐 (Ctrl+D), 刷新 (F5).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from hallapp.ui.context import WindowContext
from hallapp.ui.intake_view import DecisionDialog
from hallapp.ui.ops import run_in_background
from hallapp.ui.theme import bind_key
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hallapp.deadlines import DeadlineState
from hallapp.documents import Notice
from hallapp.evaluation import LEVEL_LABELS
from hallapp.intake import CaseStatus, CaseView
from hallapp.workdays import HALL_TZ

log = logging.getLogger(__name__)

COLUMNS = ("受理编号", "事项", "申请人", "状态", "承诺办结日", "倒计时", "评价")

_ROW_COLOURS = {
    DeadlineState.DUE_SOON: QColor("#fff1d6"),
    DeadlineState.OVERDUE: QColor("#fddcdc"),
    DeadlineState.COMPLETED_LATE: QColor("#fddcdc"),
}


def countdown_text(case: CaseView) -> str:
    """The countdown the clerk reads: working days left, due today, or overdue."""
    d = case.deadlines
    if d is None:
        return "补正中" if case.status is CaseStatus.AWAITING_CORRECTION else ""
    if d.state in (DeadlineState.COMPLETED, DeadlineState.COMPLETED_LATE, DeadlineState.PAUSED):
        return d.state.label
    left = d.working_days_left
    if left is None:
        return d.state.label
    if left > 0:
        text = f"剩 {left} 个工作日"
    elif left == 0:
        text = "今日到期"
    else:
        text = f"超期 {-left} 个工作日"
    return text + ("（临期）" if d.state is DeadlineState.DUE_SOON and left > 0 else "")


def evaluation_text(case: CaseView) -> str:
    if case.evaluation_level is not None:
        return f"{LEVEL_LABELS.get(case.evaluation_level, case.evaluation_level)}"
    return {"open": "评价中…", "expired": "未评价", "cancelled": "已取消评价"}.get(
        case.evaluation_state, ""
    )


def _date(case: CaseView) -> str:
    d = case.promised_date
    if d is None:
        return ""
    return f"{d:%Y-%m-%d}" + ("*" if case.provisional else "")


class CaseModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.cases: list[CaseView] = []

    def set_cases(self, cases: list[CaseView]) -> None:
        self.beginResetModel()
        self.cases = list(cases)
        self.endResetModel()

    def replace(self, case: CaseView) -> None:
        for row, existing in enumerate(self.cases):
            if existing.id == case.id:
                self.cases[row] = case
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.cases.insert(0, case)
        self.endInsertRows()

    def row_of(self, case_id: str) -> int:
        for row, c in enumerate(self.cases):
            if c.id == case_id:
                return row
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.cases)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        case = self.cases[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                case.case_no,
                case.item_name,
                case.applicant_name,
                case.status.label,
                _date(case),
                countdown_text(case),
                evaluation_text(case),
            )[col]
        if role == Qt.ItemDataRole.BackgroundRole:
            state = case.deadline_state
            if state in _ROW_COLOURS and not case.status.closed:
                return QBrush(_ROW_COLOURS[state])
        if role == Qt.ItemDataRole.ForegroundRole and col == 5:
            if case.deadline_state is DeadlineState.OVERDUE:
                return QBrush(QColor("#b42318"))
            if case.deadline_state is DeadlineState.DUE_SOON:
                return QBrush(QColor("#8a4b00"))
        if role == Qt.ItemDataRole.ForegroundRole and col == 6 and case.evaluation_level:
            return QBrush(QColor("#b42318" if case.evaluation_level <= 2 else "#1b6e2e"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{case.case_no} {case.item_name}"
        if role == Qt.ItemDataRole.UserRole:
            return case
        return None


def case_html(case: CaseView) -> str:
    e = html.escape
    rows: list[tuple[str, str]] = [
        ("受理编号", case.case_no),
        ("事项", f"{case.item_name}（{case.item_code}）"),
        ("申请人", f"{case.applicant_name}  {case.applicant_id_masked}"),
        ("首办负责人", case.first_responder_name),
        ("收件时间", f"{case.received_at.astimezone(HALL_TZ):%Y-%m-%d %H:%M}"),
        ("状态", case.status.label),
    ]
    if case.accepted_on:
        rows.append(("受理日期", f"{case.accepted_on:%Y-%m-%d}"))
    if case.promised_date:
        rows.append(
            (
                "承诺办结日",
                _date(case) + ("（*假期安排未公布，暂按常规推算）" if case.provisional else ""),
            )
        )
    if case.legal_date:
        rows.append(("法定期限", f"{case.legal_date:%Y-%m-%d}"))
    if countdown_text(case):
        rows.append(("倒计时", countdown_text(case)))
    if case.owed_materials:
        due = f"，{case.supplement_date:%Y-%m-%d} 前补齐" if case.supplement_date else ""
        rows.append(("容缺待补", "、".join(case.owed_materials) + due))
    for ext in case.extensions:
        rows.append(("延期", ext))
    if case.one_time_violations:
        rows.append(("一次性告知", f"违反 {case.one_time_violations} 次（后续告知新增了要求）"))
    rows.append(("评价", evaluation_text(case) or "尚未评价"))
    body = "".join(
        f"<tr><td style='color:#5b6675;padding-right:12px'>{e(k)}</td><td>{e(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


class CasesView(QWidget):
    """The window's case list and its actions."""

    completed = Signal(object)  # CaseView, after 办结
    handed_over = Signal(object)  # CaseView, after 出件
    correction_requested = Signal(object)  # CaseView: continue in the intake page
    print_requested = Signal(object, str, bool)  # Notice, document id, reprint
    refreshed = Signal(int)
    case_updated = Signal(object)  # CaseView

    def __init__(self, ctx: WindowContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = CaseModel()
        self.extend_dialog: DecisionDialog | None = None
        self._refresh_generation = 0

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(32)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())

        self.show_closed = QCheckBox("显示已出件/已结束的办件(&S)")
        self.show_closed.setChecked(True)
        self.show_closed.toggled.connect(lambda _c: self.refresh())
        self.legend = QLabel("  临期  ")
        self.legend.setStyleSheet("background:#fff1d6")
        overdue = QLabel("  超期  ")
        overdue.setStyleSheet("background:#fddcdc")
        top = QHBoxLayout()
        title = QLabel("本窗口办件")
        title.setObjectName("sectionTitle")
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.legend)
        top.addWidget(overdue)
        top.addWidget(self.show_closed)

        self.detail = QTextBrowser()
        self.documents = QListWidget()
        self.documents.setMaximumHeight(140)

        self.buttons: dict[str, QPushButton] = {}
        actions: list[tuple[str, str, str, Callable[[], None]]] = [
            ("refresh", "刷新", "F5", self.refresh),
            ("complete", "办结", "F9", self.complete),
            ("hand_over", "出件", "F10", self.hand_over),
            ("extend", "延期", "Ctrl+E", self.extend),
            ("correction", "登记补正", "Ctrl+R", self.record_correction),
            ("deferred", "容缺补齐", "Ctrl+D", self.record_deferred),
            ("print", "打印文书", "Ctrl+P", lambda: self.print_document(reprint=False)),
            ("reprint", "补打", "Ctrl+Shift+P", lambda: self.print_document(reprint=True)),
        ]
        #: (key, label, shortcut, handler): the console binds the shortcuts on the
        #: main window, so F9/F10 work from every page.
        self.action_specs = actions
        bar = QHBoxLayout()
        for key, label, shortcut, handler in actions:
            button = QPushButton(f"{label}  [{shortcut}]")
            button.setToolTip(f"{label}（{shortcut}）")
            button.clicked.connect(handler)
            bar.addWidget(button)
            self.buttons[key] = button
        bar.addStretch(1)

        right = QVBoxLayout()
        doc_title = QLabel("办件详情")
        doc_title.setObjectName("sectionTitle")
        right.addWidget(doc_title)
        right.addWidget(self.detail, 1)
        docs_title = QLabel("已出具文书（选中后 Ctrl+P 打印 / Ctrl+Shift+P 补打）")
        docs_title.setObjectName("hint")
        right.addWidget(docs_title)
        right.addWidget(self.documents)
        right_box = QWidget()
        right_box.setLayout(right)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(bar)
        self._update_buttons()

    # ------------------------------------------------------------------ data

    def refresh(self) -> None:
        self._refresh_generation += 1
        generation = self._refresh_generation
        intake, closed = self.ctx.intake, self.show_closed.isChecked()

        def done(cases: list[CaseView]) -> None:
            if generation != self._refresh_generation:
                return
            current = self.current()
            self.model.set_cases(cases)
            if current is not None:
                self.select(current.id)
            elif cases:
                self.table.selectRow(0)
            self._show_detail()
            self.refreshed.emit(len(cases))

        run_in_background(
            self, lambda: intake.window_cases(include_closed=closed, limit=300),
            success=done, label="刷新办件列表",
        )  # fmt: skip

    def clear(self) -> None:
        """After the shift ends: nothing of the last clerk's list stays selectable."""
        self._refresh_generation += 1
        self.model.set_cases([])
        self._show_detail()

    def update_case(self, case: CaseView) -> None:
        """Show a changed case (after a decision, an action or an evaluation)."""
        self.model.replace(case)
        current = self.current()
        if current is not None and current.id == case.id:
            self._show_detail()
        self.case_updated.emit(case)

    def reload_case(self, case_id: str) -> None:
        intake = self.ctx.intake
        run_in_background(self, lambda: intake.case_view(case_id), success=self.update_case,
                          label="读取办件")  # fmt: skip

    def select(self, case_id: str) -> None:
        row = self.model.row_of(case_id)
        if row >= 0:
            self.table.selectRow(row)
            self._show_detail()

    def current(self) -> CaseView | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.cases):
            return None
        return self.model.cases[index.row()]

    def focus_list(self) -> None:
        self.table.setFocus()
        if self.model.cases and not self.table.currentIndex().isValid():
            self.table.selectRow(0)

    def install_shortcuts(self, window: QWidget, before: Callable[[], bool]) -> None:
        """Bind the actions' shortcuts on ``window``.

        ``before`` shows this page first and says whether the actions may run
        (not on the sign-in page).
        """
        for _key, _label, shortcut, handler in self.action_specs:

            def run(h: Callable[[], None] = handler) -> None:
                if before():
                    h()

            bind_key(window, shortcut, run)

    def _show_detail(self) -> None:
        case = self.current()
        self.documents.clear()
        if case is None:
            self.detail.setHtml("<p style='color:#5b6675'>选择一个办件查看详情。</p>")
        else:
            self.detail.setHtml(case_html(case))
            for doc in case.documents:
                entry = QListWidgetItem(
                    f"{doc.title}  {doc.doc_no}  {doc.issued_at.astimezone(HALL_TZ):%m-%d %H:%M}"
                )
                entry.setData(Qt.ItemDataRole.UserRole, doc.id)
                self.documents.addItem(entry)
            if case.documents:
                self.documents.setCurrentRow(self.documents.count() - 1)
        self._update_buttons()

    def _update_buttons(self) -> None:
        case = self.current()
        status = case.status if case else None
        enabled = {
            "refresh": True,
            "complete": status is CaseStatus.ACCEPTED,
            "hand_over": status is CaseStatus.COMPLETED,
            "extend": bool(status and status.in_progress),
            "correction": status is CaseStatus.AWAITING_CORRECTION,
            "deferred": status is CaseStatus.CONDITIONALLY_ACCEPTED,
            "print": bool(case and case.documents),
            "reprint": bool(case and case.documents),
        }
        for key, button in self.buttons.items():
            button.setEnabled(enabled[key])

    # ------------------------------------------------------------------ actions

    def _act(
        self, label: str, fn: Callable[[str, str], CaseView], then: SignalInstance | None = None
    ) -> None:
        case = self.current()
        if case is None:
            return
        case_id, clerk_id = case.id, self.ctx.clerk_id

        def done(updated: CaseView) -> None:
            self.update_case(updated)
            if then is not None:
                then.emit(updated)

        run_in_background(self, lambda: fn(case_id, clerk_id), success=done, label=label)

    def complete(self) -> None:
        """F9 办结."""
        if self.buttons["complete"].isEnabled():
            self._act("办结", self.ctx.intake.complete, self.completed)

    def hand_over(self) -> None:
        """F10 出件."""
        if self.buttons["hand_over"].isEnabled():
            self._act("出件", self.ctx.intake.hand_over, self.handed_over)

    def record_deferred(self) -> None:
        """Ctrl+D 容缺材料补齐."""
        if self.buttons["deferred"].isEnabled():
            self._act("登记容缺材料补齐", self.ctx.intake.record_deferred_materials)

    def record_correction(self) -> None:
        """Ctrl+R: continue a 待补正 case in the intake page with the new materials."""
        case = self.current()
        if case is not None and case.status is CaseStatus.AWAITING_CORRECTION:
            self.correction_requested.emit(case)

    def extend(self) -> None:
        """Ctrl+E 延期: days, reason and the approving head."""
        case = self.current()
        if case is None or not self.buttons["extend"].isEnabled():
            return
        dialog = DecisionDialog(f"延期 — {case.case_no}", self)
        dialog.buttons.buttons()[0].setText("确定延期  [Ctrl+Enter]")
        days = QSpinBox()
        days.setRange(1, 60)
        days.setValue(5)
        days.setSuffix(" 个工作日")
        reason = QLineEdit()
        reason.setPlaceholderText("例如：需现场踏勘，涉及多部门会审")
        approver = QLineEdit()
        approver.setPlaceholderText("批准延期的负责人姓名")
        dialog.form.addRow(
            QLabel(f"当前承诺办结日：{_date(case)}（不得超过法定期限 {case.legal_date}）")
        )
        dialog.add("days", "延长(&D)：", days)
        dialog.add("reason", "延期理由(&R)：", reason)
        dialog.add("approver", "批准人(&A)：", approver)
        dialog.validator = lambda: (
            "请写明延期理由" if not reason.text().strip()
            else ("延期须经负责人批准，请填写批准人" if not approver.text().strip() else "")
        )  # fmt: skip
        case_id, clerk_id, intake = case.id, self.ctx.clerk_id, self.ctx.intake

        def go() -> None:
            n, why, who = days.value(), reason.text().strip(), approver.text().strip()
            run_in_background(
                self, lambda: intake.extend(case_id, clerk_id, n, why, who),
                success=self.update_case, label="延期",
            )  # fmt: skip

        dialog.accepted.connect(go)
        dialog.finished.connect(lambda _r: setattr(self, "extend_dialog", None))
        self.extend_dialog = dialog
        dialog.open()
        reason.setFocus()

    def print_document(self, *, reprint: bool) -> None:
        """Ctrl+P prints the selected document as issued; Ctrl+Shift+P 补打 (marked)."""
        case = self.current()
        if case is None or not case.documents:
            return
        entry = self.documents.currentItem()
        document_id = str(entry.data(Qt.ItemDataRole.UserRole)) if entry else case.documents[-1].id
        intake, clerk_id = self.ctx.intake, self.ctx.clerk_id

        def work() -> Notice:
            return (
                intake.reprint(document_id, clerk_id) if reprint else intake.document(document_id)
            )

        run_in_background(
            self, work,
            success=lambda notice: self.print_requested.emit(notice, document_id, reprint),
            label="补打文书" if reprint else "读取文书",
        )  # fmt: skip


def dialog_of(widget: QWidget) -> QDialog | None:
    """The dialog a view has open (tests drive it without a mouse)."""
    return getattr(widget, "extend_dialog", None) or getattr(widget, "decision_dialog", None)
