"""``hallapp-backoffice``: a department's back office for 并联审批, on the central store.

    hallapp-backoffice --db postgresql+psycopg://lc_bo_scj@central/hall --hall LC
    hallapp-backoffice --db /path/central.sqlite3 --hall LC

A back-office staff member (role 部门后台审批人员) signs in and sees the
sub-cases of bundles routed to the department, soonest deadline first, with
what the window urged; records 准予许可, 不予许可 (with reasons) or asks for
a material, which goes back through the window. Every call to the central
store runs in the background (hallapp.ui.ops).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from hallapp.ui.bundle_view import cn_date, fill_row, row_table
from hallapp.ui.errors import show_error
from hallapp.ui.ops import Latest, run_in_background
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from hallapp.bundles import backoffice
from hallapp.bundles.backoffice import BackOfficer, SubCase
from hallapp.bundles.state import SubCaseState

log = logging.getLogger(__name__)

COLUMNS = ("办件编号", "一件事", "事项", "申请人", "窗口", "时限", "办结期限", "状态", "催办")


class QueueView(QWidget):
    """The department's sub-cases and the three decisions."""

    changed = Signal()

    def __init__(
        self, central: Engine, hall: str, officer: BackOfficer, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.central, self.hall, self.officer = central, hall, officer
        self.rows: list[SubCase] = []
        self._latest = Latest()  # an act's own refresh is not undone by an older one
        self.title = QLabel(f"{officer.department_name} — 并联审批待办（{officer.name}）")
        self.title.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.table = row_table(COLUMNS)
        self.text = QLineEdit()
        self.text.setPlaceholderText("不予许可的理由，或需要补充的材料（多项用顿号分隔）")
        self.approve_button = QPushButton("准予许可")
        self.refuse_button = QPushButton("不予许可")
        self.request_button = QPushButton("要求补充材料（经窗口转告）")
        self.refresh_button = QPushButton("刷新")
        self.status = QLabel("")
        buttons = QHBoxLayout()
        for b in (self.approve_button, self.refuse_button, self.request_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.approve_button.clicked.connect(self._approve)
        self.refuse_button.clicked.connect(self._refuse)
        self.request_button.clicked.connect(self._request)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._enable)
        self._enable()

    def refresh(self) -> None:
        central, hall, officer = self.central, self.hall, self.officer
        run_in_background(
            self,
            lambda: backoffice.queue(central, hall, officer),
            success=self._latest.only(self._show),
            label="刷新并联审批待办",
        )

    def _show(self, rows: list[SubCase]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            urged = f"{r.urges} 次（{cn_date(r.last_urged_on)}）" if r.urges else ""
            state = r.state.label + ("，已超期" if r.late and not r.state.decided else "")
            if r.state is SubCaseState.MATERIAL_REQUESTED:
                state += "：" + "、".join(r.requested)
            values = (
                r.case_no,
                r.bundle_name,
                r.item_name,
                r.applicant_name,
                r.window_code,
                f"{r.limit_days} 个工作日",
                cn_date(r.deadline),
                state,
                urged,
            )
            fill_row(self.table, i, values, late=r.late and not r.state.decided)
        self.table.resizeColumnsToContents()
        late = sum(1 for r in rows if r.late and not r.state.decided)
        self.status.setText(
            f"共 {len(rows)} 件，待办 {sum(1 for r in rows if not r.state.decided)} 件"
            + (f"，超期 {late} 件" if late else "")
        )
        self._enable()

    def selected(self) -> SubCase | None:
        idx = self.table.currentRow()
        return self.rows[idx] if 0 <= idx < len(self.rows) and self.table.selectedItems() else None

    def _enable(self) -> None:
        sub = self.selected()
        open_ = sub is not None and sub.state is SubCaseState.PENDING
        for b in (self.approve_button, self.refuse_button, self.request_button):
            b.setEnabled(open_)

    def _texts(self) -> list[str]:
        import re

        return [t for t in re.split(r"[、,，;；]+", self.text.text()) if t.strip()]

    def _do(self, label: str, fn: Callable[[], SubCase]) -> None:
        def done(_: SubCase) -> None:
            self.text.clear()
            self.status.setText(f"已{label}")
            self.changed.emit()
            self.refresh()

        run_in_background(self, fn, success=done, label=label)

    def _approve(self) -> None:
        sub = self.selected()
        if sub is None:
            return
        c, h, o, cid = self.central, self.hall, self.officer, sub.case_id
        self._do("准予许可", lambda: backoffice.approve(c, h, o, cid))

    def _refuse(self) -> None:
        sub = self.selected()
        if sub is None:
            return
        reasons = [self.text.text().strip()] if self.text.text().strip() else []
        if not reasons:
            show_error(self, "不予许可必须写明理由：请在输入框中填写理由后再点“不予许可”")
            return
        c, h, o, cid = self.central, self.hall, self.officer, sub.case_id
        self._do("不予许可", lambda: backoffice.refuse(c, h, o, cid, reasons))

    def _request(self) -> None:
        sub = self.selected()
        if sub is None:
            return
        materials = self._texts()
        if not materials:
            show_error(self, "请在输入框中写明需要补充的材料名称")
            return
        c, h, o, cid = self.central, self.hall, self.officer, sub.case_id
        self._do("要求补充材料", lambda: backoffice.request_material(c, h, o, cid, materials))


class BackOfficeWindow(QMainWindow):
    """Sign-in, then the queue."""

    def __init__(self, central: Engine, hall: str, hall_name: str = "") -> None:
        super().__init__()
        self.central, self.hall = central, hall
        self.setWindowTitle("部门后台 — 并联审批")
        self.queue: QueueView | None = None
        # A panel in the middle, as at the window client: which hall and what
        # this sign-in is for, not two bare fields stretched across the screen.
        panel = QFrame()
        panel.setObjectName("panel")
        panel.setFixedWidth(460)
        box = QVBoxLayout(panel)
        box.setContentsMargins(32, 28, 32, 28)
        title = QLabel(f"{hall_name or '大厅 ' + hall}\n部门后台 · 并联审批登录")
        title.setObjectName("sectionTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        form = QFormLayout()
        self.staff_no = QLineEdit()
        self.staff_no.setPlaceholderText("部门审批人员的工号")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("登录  [Enter]")
        self.sign_in_button.setDefault(True)
        self.message = QLabel("")
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        form.addRow("工号：", self.staff_no)
        form.addRow("密码：", self.password)
        box.addLayout(form)
        box.addWidget(self.message)
        box.addWidget(self.sign_in_button)
        page = QWidget()
        outer = QVBoxLayout(page)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel)
        row.addStretch(1)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.setCentralWidget(page)
        self.sign_in_button.clicked.connect(self._sign_in)
        self.staff_no.returnPressed.connect(self.password.setFocus)
        self.password.returnPressed.connect(self._sign_in)
        self.resize(1280, 720)

    def _sign_in(self) -> None:
        c, h = self.central, self.hall
        no, pw = self.staff_no.text(), self.password.text()
        self.password.clear()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, backoffice.BackOfficeError):
                self.message.setText(str(exc))
            else:
                log.error("back-office sign-in failed: %s", type(exc).__name__)
                self.message.setText("无法连接中心库，请检查网络后重试；详细记录见日志")

        run_in_background(
            self,
            lambda: backoffice.sign_in(c, h, no, pw),
            success=self._open,
            failure=failed,
            label="部门后台登录",
        )

    def _open(self, officer: BackOfficer) -> None:
        self.queue = QueueView(self.central, self.hall, officer, self)
        self.setCentralWidget(self.queue)
        self.queue.refresh()


def main(argv: Sequence[str] | None = None) -> int:
    from hallapp.cli import help_in_chinese

    help_in_chinese()
    parser = argparse.ArgumentParser(prog="hallapp-backoffice", description="部门后台：并联审批")
    parser.add_argument("--db", help="中心库地址；默认配置中的 store.central_url")
    parser.add_argument("--hall", help="大厅代码；默认配置中的 hall.code")
    args = parser.parse_args(argv)
    from hallapp.config import load_config
    from hallapp.logsetup import setup_logging
    from hallapp.sync.centre import central_engine

    setup_logging()
    config = load_config()
    url = args.db or str(config.get("store.central_url"))
    if not url:
        print(
            "没有中心库地址：请用 --db 指定，或在配置文件 [store] central_url 中设置",
            file=sys.stderr,
        )
        return 2
    if "://" not in url:
        from hallapp.store import sqlite_url

        url = sqlite_url(url)
    app = QApplication(sys.argv[:1])
    from hallapp.ui.theme import apply_theme

    apply_theme(app)  # large CJK text, and Qt's own buttons in Chinese
    window = BackOfficeWindow(
        central_engine(url), args.hall or config.hall_code,
        config.hall_name if "hall.name" in config.values else "",
    )  # fmt: skip
    window.show()
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
