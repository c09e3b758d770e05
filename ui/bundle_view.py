"""The 综合窗口's bundle view: 一窗受理, every member's state and deadline, 催办, 一窗出件.

Left: this window's bundle cases. Right: the selected one's members (the
department, its limit and deadline, its state as the pull brought it, the
urges), and the steps the window takes: forward a material a department
asked for, urge a late department (what is said is recorded), hand out all
results at once. Below: a new intake (the bundle, the applicant, one
checklist of the bundle's merged materials). Every call runs in the
background (hallapp.ui.ops); documents come back as notices for printing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from hallapp.ui.errors import show_error
from hallapp.ui.ops import Latest, run_in_background
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import selectinload

from hallapp import documents as docs
from hallapp.bundles.desk import BundleCaseView, BundleCheck, BundleDesk, MemberView
from hallapp.bundles.state import SubCaseState
from hallapp.intake import ApplicantInput, IntakeError, MaterialStatus
from hallapp.models import ApplicantKind, Bundle

log = logging.getLogger(__name__)

MEMBER_COLUMNS = ("事项", "承办部门", "时限", "办结期限", "状态", "催办", "说明")
LATE = QColor(200, 40, 40)


def cn_date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def row_table(columns: tuple[str, ...]) -> QTableWidget:
    """A read-only table of whole-row single selection (the bundle views' lists)."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def fill_row(table: QTableWidget, row: int, values: tuple[str, ...], *, late: bool) -> None:
    for j, v in enumerate(values):
        item = QTableWidgetItem(v)
        if late:
            item.setForeground(LATE)
        table.setItem(row, j, item)


def bundle_materials(desk: BundleDesk, code: str) -> list[tuple[str, str, bool]]:
    """(id, text, required) of a bundle's merged list (worker thread: plain values)."""
    with desk.store.read() as s:
        b = s.get(Bundle, code, options=[selectinload(Bundle.materials)])
        if b is None:
            raise IntakeError(f"一件事 {code} 不存在，请重新选择")
        return [
            (
                m.id,
                f"{m.name}（{len(m.item_codes)} 个事项共用）" if len(m.item_codes) > 1 else m.name,
                m.required,
            )
            for m in b.materials
        ]


class BundleView(QWidget):
    """The window's bundle cases and their steps.

    ``notice_issued`` (notice, document id, lead case id) carries each
    document to print, and the case whose encounter the citizen may evaluate;
    ``available`` says whether this window takes bundles at all.
    """

    notice_issued = Signal(object, str, str)
    available = Signal(bool)

    def __init__(self, desk: BundleDesk, clerk_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk, self.clerk_id = desk, clerk_id
        self.cases: list[BundleCaseView] = []
        self.current: BundleCaseView | None = None
        self.confirm_dialog: QDialog | None = None
        self._latest = Latest()  # an act's own refresh is not undone by an older one

        self.case_list = QListWidget()
        self.case_list.setMinimumWidth(300)
        self.heading = QLabel("")
        self.heading.setStyleSheet("font-size: 17px; font-weight: bold;")
        self.summary = QLabel("")
        self.members = row_table(MEMBER_COLUMNS)
        self.urge_text = QLineEdit()
        self.urge_text.setPlaceholderText("催办内容，例如：已超过承诺时限，请今日办结")
        self.urge_button = QPushButton("催办")
        self.forward_button = QPushButton("转交补充材料")
        self.hand_over_button = QPushButton("一窗出件")
        self.refresh_button = QPushButton("刷新")
        steps = QHBoxLayout()
        steps.addWidget(self.urge_text, 1)
        for b in (
            self.urge_button,
            self.forward_button,
            self.hand_over_button,
            self.refresh_button,
        ):
            steps.addWidget(b)

        # 一窗受理: the bundle, the applicant, one checklist.
        self.bundle_combo = QComboBox()
        self.applicant = QLineEdit()
        self.applicant.setPlaceholderText("企业名称")
        self.uscc = QLineEdit()
        self.uscc.setPlaceholderText("统一社会信用代码（18 位）")
        self.phone = QLineEdit()
        self.contact = QLineEdit()
        self.checklist = QListWidget()
        self.checklist.setMaximumHeight(140)
        self.open_button = QPushButton("收件")
        self.decide_button = QPushButton("受理 / 一次性告知")
        form = QFormLayout()
        form.addRow("一件事", self.bundle_combo)
        form.addRow("申请人", self.applicant)
        form.addRow("统一社会信用代码", self.uscc)
        form.addRow("联系电话", self.phone)
        form.addRow("经办人", self.contact)
        form.addRow("收件清单（勾选已收）", self.checklist)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.decide_button)
        row.addStretch(1)
        form.addRow(row)
        intake_box = QGroupBox("一窗受理")
        intake_box.setLayout(form)

        right = QVBoxLayout()
        right.addWidget(self.heading)
        right.addWidget(self.summary)
        right.addWidget(self.members, 1)
        right.addLayout(steps)
        right.addWidget(intake_box)
        left = QVBoxLayout()
        left.addWidget(QLabel("本窗口的一件事"))
        left.addWidget(self.case_list, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)

        self.case_list.currentRowChanged.connect(self._select)
        self.members.itemSelectionChanged.connect(self._enable)
        self.urge_button.clicked.connect(self._urge)
        self.forward_button.clicked.connect(self._forward)
        self.hand_over_button.clicked.connect(self._hand_over)
        self.refresh_button.clicked.connect(self.refresh)
        self.bundle_combo.currentIndexChanged.connect(self._load_checklist)
        self.open_button.clicked.connect(self._open)
        self.decide_button.clicked.connect(self._decide)
        self._enable()

    # -- loading

    def refresh(self) -> None:
        desk = self.desk
        run_in_background(
            self,
            lambda: (desk.bundles_here(), desk.window_bundle_cases()),
            success=self._latest.only(self._show),
            label="刷新一件事",
        )

    def _show(self, result: tuple[list[tuple[str, str]], list[BundleCaseView]]) -> None:
        bundles, cases = result
        self.available.emit(bool(bundles or cases))
        if self.bundle_combo.count() != len(bundles):
            self.bundle_combo.clear()
            for code, name in bundles:
                self.bundle_combo.addItem(name, code)
        keep = self.current.id if self.current else None
        self.cases = cases
        self.case_list.blockSignals(True)
        self.case_list.clear()
        for c in cases:
            self.case_list.addItem(
                f"{c.bundle_name}  {c.applicant_name}\n{c.bundle_no}  {c.status_label}"
            )
        self.case_list.blockSignals(False)
        idx = next((i for i, c in enumerate(cases) if c.id == keep), 0 if cases else -1)
        self.case_list.setCurrentRow(idx)
        self._select(idx)

    def _select(self, idx: int) -> None:
        self.current = self.cases[idx] if 0 <= idx < len(self.cases) else None
        c = self.current
        self.heading.setText(f"{c.bundle_name}（{c.bundle_no}）" if c else "")
        if c is None:
            self.summary.setText("")
            self.members.setRowCount(0)
            self._enable()
            return
        promised = f"，承诺办结 {cn_date(c.promised_date)}" if c.promised_date else ""
        broken = f"；违反一次性告知：{'；'.join(c.violations)}" if c.violations else ""
        self.summary.setText(f"申请人：{c.applicant_name}；{c.status_label}{promised}{broken}")
        self.members.setRowCount(len(c.members))
        for i, m in enumerate(c.members):
            note = "；".join(m.reasons) or (
                "需补：" + "、".join(m.requested)
                if m.state is SubCaseState.MATERIAL_REQUESTED
                else ""
            )
            state = m.state.label + ("，已超期" if m.late and not m.state.decided else "")
            values = (
                m.item_name,
                m.department_name,
                f"{m.limit_days} 个工作日",
                cn_date(m.deadline),
                state,
                f"{m.urges} 次" if m.urges else "",
                note,
            )
            fill_row(self.members, i, values, late=m.late and not m.state.decided)
        self.members.resizeColumnsToContents()
        self._enable()

    def selected_member(self) -> MemberView | None:
        idx = self.members.currentRow()
        c = self.current
        if c is None or not self.members.selectedItems() or not 0 <= idx < len(c.members):
            return None
        return c.members[idx]

    def _enable(self) -> None:
        m, c = self.selected_member(), self.current
        self.urge_button.setEnabled(m is not None and m.state is SubCaseState.PENDING)
        self.forward_button.setEnabled(m is not None and m.state is SubCaseState.MATERIAL_REQUESTED)
        self.hand_over_button.setEnabled(c is not None and c.all_decided and not c.handed_over)
        self.decide_button.setEnabled(c is not None and not c.accepted)

    # -- steps

    def _after(self, label: str) -> Callable[[Any], None]:
        def done(result: object) -> None:
            if isinstance(result, tuple) and len(result) == 3:
                view, notice, document_id = result
                self.notice_issued.emit(notice, document_id, view.lead_case_id)
            self.summary.setText(self.summary.text() + f"（已{label}）")
            self.refresh()

        return done

    def _urge(self) -> None:
        m, c = self.selected_member(), self.current
        if m is None or c is None:
            return
        note = self.urge_text.text()
        if not note.strip():
            show_error(self, "请写明催办内容（例如“已超过承诺时限，请今日办结”）")
            return
        desk, clerk, bid, cid = self.desk, self.clerk_id, c.id, m.case_id
        run_in_background(
            self,
            lambda: desk.urge(bid, cid, clerk, note),
            success=self._after("催办"),
            label="催办",
        )
        self.urge_text.clear()

    def _forward(self) -> None:
        m, c = self.selected_member(), self.current
        if m is None or c is None:
            return
        desk, clerk, bid, cid = self.desk, self.clerk_id, c.id, m.case_id
        run_in_background(
            self,
            lambda: desk.forward_material(bid, cid, clerk),
            success=self._after("转交补充材料"),
            label="转交补充材料",
        )

    def _hand_over(self) -> None:
        c = self.current
        if c is None:
            return
        desk, clerk, bid = self.desk, self.clerk_id, c.id
        run_in_background(
            self,
            lambda: desk.hand_over(bid, clerk),
            success=self._after("一窗出件"),
            label="一窗出件",
        )

    def _load_checklist(self) -> None:
        code = self.bundle_combo.currentData()
        if not code:
            return
        desk = self.desk

        def show(rows: list[tuple[str, str, bool]]) -> None:
            self.checklist.clear()
            for mid, text, required in rows:
                item = QListWidgetItem(text + ("" if required else "（非必需）"))
                item.setData(Qt.ItemDataRole.UserRole, mid)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
                self.checklist.addItem(item)

        run_in_background(
            self, lambda: bundle_materials(desk, code), success=show, label="读取一件事材料清单"
        )

    def _open(self) -> None:
        code = self.bundle_combo.currentData()
        if not code:
            show_error(self, "本窗口没有可受理的一件事（须为综合窗口，并登记了全部成员部门）")
            return
        applicant = ApplicantInput(
            kind=ApplicantKind.ORGANISATION,
            name=self.applicant.text(),
            uscc=self.uscc.text(),
            phone=self.phone.text(),
            contact_name=self.contact.text(),
        )
        desk, clerk = self.desk, self.clerk_id

        def opened(view: BundleCaseView) -> None:
            self.current = view
            self.refresh()

        run_in_background(
            self, lambda: desk.open(clerk, code, applicant), success=opened, label="一件事收件"
        )

    def checks(self) -> list[BundleCheck]:
        out = []
        for i in range(self.checklist.count()):
            item = self.checklist.item(i)
            present = item.checkState() == Qt.CheckState.Checked
            out.append(
                BundleCheck(
                    str(item.data(Qt.ItemDataRole.UserRole)),
                    MaterialStatus.PRESENT if present else MaterialStatus.MISSING,
                )
            )
        return out

    def _decide(self) -> None:
        """受理 or 一次性告知, after the confirmation every numbered act asks for."""
        c = self.current
        if c is None:
            return
        from hallapp.ui.intake_view import ConfirmActDialog

        checks = self.checks()
        missing = sum(1 for k in checks if k.status is MaterialStatus.MISSING)
        act = (f"出具一次性告知书（补正材料 {missing} 项）" if missing
               else "受理并出具受理通知书")  # fmt: skip
        lead = next((m.case_no for m in c.members if m.case_id == c.lead_case_id), "")
        rows = [("记录事项", act), ("一件事", f"{c.bundle_name}（{c.bundle_no}）"),
                ("申请人", c.applicant_name)]  # fmt: skip
        if lead:
            rows.append(("通知书上的办件编号", lead))  # the lead member's case number
        dialog = ConfirmActDialog(act, rows, self)
        self.confirm_dialog = dialog
        dialog.accepted.connect(lambda: self._issue(c, checks))
        dialog.finished.connect(lambda _r: setattr(self, "confirm_dialog", None))
        dialog.open()

    def _issue(self, c: BundleCaseView, checks: list[BundleCheck]) -> None:
        desk, clerk, bid = self.desk, self.clerk_id, c.id

        def run() -> tuple[BundleCaseView, docs.Notice, str]:
            view = desk.view(bid)
            if view.awaiting_correction:
                desk.record_correction(bid, clerk)
            return desk.decide(bid, clerk, checks)

        run_in_background(self, run, success=self._after("出具通知书"), label="一件事受理决定")
