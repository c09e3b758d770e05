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
from dataclasses import dataclass
from typing import Any

from hallapp.ui.context import WindowContext
from hallapp.ui.intake_view import ConfirmActDialog, DecisionDialog, MaskedIdEdit
from hallapp.ui.ops import run_in_background
from hallapp.ui.theme import bind_key
from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QBrush, QColor, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hallapp.deadlines import DeadlineState
from hallapp.documents import Notice
from hallapp.evaluation import LEVEL_LABELS
from hallapp.identity import IdType
from hallapp.intake import (
    CaseStatus,
    CaseView,
    Collection,
    CollectionMethod,
    check_collection,
)
from hallapp.workdays import HALL_TZ

log = logging.getLogger(__name__)

#: The case list shows this window's latest cases, at most this many.
LIST_LIMIT = 300

COLUMNS = ("受理编号", "事项", "申请人", "状态", "承诺办结日", "倒计时", "评价")

_ROW_COLOURS = {
    DeadlineState.DUE_SOON: "#fff1d6",
    DeadlineState.OVERDUE: "#fddcdc",
    DeadlineState.COMPLETED_LATE: "#fddcdc",
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
    """The list's 评价 column: the latest encounter's evaluation, and how many (一次一评)."""
    state = {"open": "评价中…", "expired": "未评价", "cancelled": "已取消评价"}.get(
        case.evaluation_state, ""
    )
    if state:
        text = state
    elif case.evaluation_level is not None:
        text = f"{LEVEL_LABELS.get(case.evaluation_level, case.evaluation_level)}"
    else:
        return ""
    count = len(case.evaluations)
    return f"{text}（共 {count} 次评价）" if count > 1 else text


def _date(case: CaseView) -> str:
    d = case.promised_date
    if d is None:
        return ""
    return f"{d:%Y-%m-%d}" + ("*" if case.provisional else "")


@dataclass(frozen=True)
class CaseRow:
    """One case's cells as the list shows them: plain strings and colour names, no Qt.

    Computed once when the data arrives, on the worker thread that read it,
    never while the table paints.
    """

    case: CaseView
    texts: tuple[str, ...]
    tooltip: str
    background: str | None
    foregrounds: tuple[tuple[int, str], ...]  # (column, colour)

    def looks_like(self, other: CaseRow) -> bool:
        return (self.texts, self.tooltip, self.background, self.foregrounds) == (
            other.texts,
            other.tooltip,
            other.background,
            other.foregrounds,
        )


def case_row(case: CaseView) -> CaseRow:
    state = case.deadline_state
    background = _ROW_COLOURS.get(state) if state is not None and not case.status.closed else None
    foregrounds: list[tuple[int, str]] = []
    if state is DeadlineState.OVERDUE:
        foregrounds.append((5, "#b42318"))
    elif state is DeadlineState.DUE_SOON:
        foregrounds.append((5, "#8a4b00"))
    if case.evaluation_level:
        foregrounds.append((6, "#b42318" if case.evaluation_level <= 2 else "#1b6e2e"))
    return CaseRow(
        case=case,
        texts=(
            case.case_no,
            case.item_name,
            case.applicant_name,
            case.status.label,
            _date(case),
            countdown_text(case),
            evaluation_text(case),
        ),
        tooltip=f"{case.case_no} {case.item_name}",
        background=background,
        foregrounds=tuple(foregrounds),
    )


def case_rows(cases: list[CaseView]) -> list[CaseRow]:
    return [case_row(c) for c in cases]


Cells = list[dict[int, Any]]  # per column: role -> value, for QStandardItemModel.setItemData


def row_cells(row: CaseRow) -> Cells:
    """The row's cells as role maps (plain values and QBrush: made on any thread)."""
    background = QBrush(QColor(row.background)) if row.background else None
    foregrounds = dict(row.foregrounds)
    cells: Cells = []
    for col, text in enumerate(row.texts):
        roles: dict[int, Any] = {
            Qt.ItemDataRole.DisplayRole: text,
            Qt.ItemDataRole.ToolTipRole: row.tooltip,
        }
        if background is not None:
            roles[Qt.ItemDataRole.BackgroundRole] = background
        if col in foregrounds:
            roles[Qt.ItemDataRole.ForegroundRole] = QBrush(QColor(foregrounds[col]))
        cells.append(roles)
    return cells


def rows_cells(rows: list[CaseRow]) -> list[Cells]:
    """:func:`row_cells` of every row, for :meth:`CaseModel.set_cases` (the refresh's worker)."""
    return [row_cells(row) for row in rows]


class CaseModel(QStandardItemModel):
    """The case list, held by Qt itself.

    Why not a QAbstractTableModel with a Python ``data()``: the view asks for
    every role of every cell it paints or measures, and each of those calls
    has to take the GIL from whichever worker thread (the evaluator's driver,
    a database op) holds it; under load that made a single repaint of a row
    wait hundreds of milliseconds (see benchmarks/bench_ui.py). Here the
    strings are computed once when the data arrives (:func:`case_row`, on the
    worker thread) and painting never enters Python.
    """

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.cases: list[CaseView] = []
        self._rows: list[CaseRow] = []
        #: The rows the last :meth:`set_cases` changed (all of them after a rebuild).
        self.changed_rows: list[int] = []

    def set_cases(
        self,
        cases: list[CaseView],
        rows: list[CaseRow] | None = None,
        cells: list[Cells] | None = None,
    ) -> bool:
        """Show ``cases``; True when the list was rebuilt, False when only rows changed.

        The same cases in the same order (the periodic refresh, mostly)
        update just the rows that look different (:attr:`changed_rows`), so
        the selection and the scroll position stay where the clerk left them.
        ``cells``, made by :func:`rows_cells` on the worker that read the
        cases, spare the GUI thread building them when the list is rebuilt.

        The model's items are made by Qt itself (setItemData on empty rows),
        not as Python QStandardItem objects, each with a Python wrapper kept
        for as long as the row lives: half the time to build 300 rows.
        """
        new_rows = rows if rows is not None else case_rows(cases)
        if [r.case.id for r in new_rows] == [r.case.id for r in self._rows]:
            self.changed_rows = []
            for i, row in enumerate(new_rows):
                if not row.looks_like(self._rows[i]):
                    self._set_row(i, row)
                    self.changed_rows.append(i)
                else:
                    self._rows[i] = row
                    self.cases[i] = row.case
            return False
        if cells is None or len(cells) != len(new_rows):
            cells = rows_cells(new_rows)
        self.beginResetModel()
        # The view hears one reset instead of one insert per row.
        blocked = self.blockSignals(True)
        try:
            self.setRowCount(0)
            self.setRowCount(len(new_rows))
            for i, row_cells_ in enumerate(cells):
                self._put_row(i, row_cells_)
        finally:
            self.blockSignals(blocked)
        self._rows = list(new_rows)
        self.cases = [r.case for r in new_rows]
        self.changed_rows = list(range(len(new_rows)))
        self.endResetModel()
        return True

    def replace(self, case: CaseView, row_data: CaseRow | None = None) -> tuple[int, CaseRow]:
        """Update the case's row (a new case goes on top); returns its row."""
        new = row_data if row_data is not None else case_row(case)
        row = self.row_of(case.id)
        if row >= 0:
            self._set_row(row, new)
            return row, new
        self.insertRows(0, 1)
        self._put_row(0, row_cells(new))
        self._rows.insert(0, new)
        self.cases.insert(0, case)
        if len(self._rows) > LIST_LIMIT:
            # The list shows the latest LIST_LIMIT cases, as a refresh does;
            # without the cap a busy day grows it (and every rebuild) unbounded.
            extra = len(self._rows) - LIST_LIMIT
            self.removeRows(LIST_LIMIT, extra)
            del self._rows[LIST_LIMIT:]
            del self.cases[LIST_LIMIT:]
        return 0, new

    def _set_row(self, row: int, new: CaseRow) -> None:
        old = self._rows[row]
        self._rows[row] = new
        self.cases[row] = new.case
        if old.looks_like(new):
            return
        # One dataChanged for the row rather than one per cell and role.
        blocked = self.blockSignals(True)
        try:
            for col in range(len(COLUMNS)):
                self.clearItemData(self.index(row, col))
            self._put_row(row, row_cells(new))
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _put_row(self, row: int, cells: Cells) -> None:
        # Not made read-only cell by cell: the table has no edit triggers.
        for col, roles in enumerate(cells):
            self.setItemData(self.index(row, col), roles)

    def row_data(self, case_id: str) -> CaseRow | None:
        row = self.row_of(case_id)
        return self._rows[row] if row >= 0 else None

    def row_of(self, case_id: str) -> int:
        for row, c in enumerate(self.cases):
            if c.id == case_id:
                return row
        return -1

    def texts(self, row: int) -> tuple[str, ...]:
        return self._rows[row].texts


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
    if case.collection:
        rows.append(("出件", case.collection))
    if case.one_time_violations:
        rows.append(("一次性告知", f"违反 {case.one_time_violations} 次（后续告知新增了要求）"))
    # 一次一评: each encounter's evaluation, oldest first.
    for ev in case.evaluations:
        shown = f"{ev.encounter_label}：{LEVEL_LABELS.get(ev.level, ev.level)}"
        shown += f"（{ev.evaluated_at.astimezone(HALL_TZ):%Y-%m-%d %H:%M}）"
        rows.append(("评价", shown))
        if ev.reasons:
            rows.append(("差评原因", "、".join(ev.reasons)))
        if ev.follow_up:
            rows.append(("整改回访", ev.follow_up))
    pending = {"open": "评价中…", "expired": "本次服务未评价", "cancelled": "本次评价已取消"}
    if case.evaluation_state in pending:
        rows.append(("评价", pending[case.evaluation_state]))
    elif not case.evaluations:
        rows.append(("评价", "尚未评价"))
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
        #: 办结's confirmation and 出件's record, while open.
        self.confirm_dialog: ConfirmActDialog | None = None
        self.hand_over_dialog: DecisionDialog | None = None
        #: The case last acted on: a find or a refresh never drops it from the list.
        self.pinned_id: str | None = None
        self._refresh_generation = 0
        #: A tick per refresh started and per case shown changed; ``_touched``
        #: holds the tick each case last changed at, so a refresh that read the
        #: database before an act landed does not put back what the act changed.
        self._tick = 0
        self._touched: dict[str, int] = {}

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(32)
        header = self.table.horizontalHeader()
        # Sized to the contents when a list arrives (_fit_columns) and widened
        # when a row outgrows a column (_grow_columns), not by ResizeToContents.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # Sizing to the contents measures this many rows around the visible
        # ones, not all 300 (8 ms a column on the GUI thread); a longer text
        # further down widens its column when its row changes (_grow_columns).
        header.setResizeContentsPrecision(60)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())

        self.show_closed = QCheckBox("显示已出件/已结束的办件(&S)")
        self.show_closed.setChecked(True)
        self.show_closed.toggled.connect(lambda _c: self.refresh())
        self.legend = QLabel("  临期  ")
        self.legend.setStyleSheet("background:#fff1d6")
        overdue = QLabel("  超期  ")
        overdue.setStyleSheet("background:#fddcdc")
        # An applicant coming back days later: find the case by what they have
        # at hand, beyond the latest LIST_LIMIT the list shows.
        self.find_box = QLineEdit()
        self.find_box.setPlaceholderText(
            "查找办件：受理编号、申请人、手机号或证件号后 4 位  [Ctrl+F]"
        )
        self.find_box.setClearButtonEnabled(True)
        # Wide enough for the whole hint (it is the only help the box has).
        hint_width = self.find_box.fontMetrics().horizontalAdvance(self.find_box.placeholderText())
        self.find_box.setMinimumWidth(hint_width + 48)
        self.find_box.returnPressed.connect(self.apply_find)
        self.find_box.textChanged.connect(self._find_text_changed)
        # Esc clears the search only while typing in it, not anywhere in the window.
        esc = bind_key(self.find_box, "Esc", self.clear_find)
        esc.setContext(Qt.ShortcutContext.WidgetShortcut)  # type: ignore[attr-defined]
        self._focus_results = False
        self._query = ""
        top = QHBoxLayout()
        self.title = QLabel("本窗口办件")
        self.title.setObjectName("sectionTitle")
        top.addWidget(self.title)
        top.addWidget(self.find_box)
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

    def apply_find(self) -> None:
        """List the cases matching the find box (Enter); an empty box lists the latest."""
        self._query = self.find_box.text().strip()
        self._focus_results = bool(self._query)
        self.refresh()

    def _find_text_changed(self, text: str) -> None:
        if not text:  # the clear button, or the text deleted: back to the latest cases
            self.clear_find()

    def clear_find(self) -> None:
        """Back to the latest cases (Esc in the find box, or the box emptied)."""
        if self.find_box.text():
            self.find_box.clear()  # textChanged comes back here with an empty box
            return
        if self._query:
            self._query = ""
            self.refresh()
        self.focus_list()

    def refresh(self) -> None:
        self._refresh_generation += 1
        generation = self._refresh_generation
        self._tick += 1
        started = self._tick
        intake, closed = self.ctx.intake, self.show_closed.isChecked()
        query = self._query
        pinned = self.pinned_id

        def done(result: tuple[list[CaseRow], list[Cells], int]) -> None:
            if generation != self._refresh_generation:
                return
            rows, cells, kept = self._keep_newer(*result, started, on_top=not query)
            current = self.current()
            cases = [r.case for r in rows]
            if self.model.set_cases(cases, rows, cells):
                self._fit_columns()
                if current is not None:
                    self.select(current.id)
                elif cases:
                    self.table.selectRow(0)
                self._show_detail()
            else:
                for row in self.model.changed_rows:
                    self._grow_columns(row)
                if self.current() != current:
                    self._show_detail()
            if query and self._focus_results and len(cases) > kept:
                # Found: the clerk goes on with the keyboard (F9, F10, Ctrl+Shift+P).
                self._focus_results = False
                self.table.selectRow(0)
                self.table.setFocus()
            if query:
                matched = len(cases) - kept
                found = f"{matched} 件" if matched else "没有找到，请核对后重试"
                if kept:
                    found += "（另列出刚办理的办件）"
                self.title.setText(f"本窗口办件 · 查找“{query}”：{found}  [Esc 返回]")
            else:
                self.title.setText("本窗口办件")
            self.refreshed.emit(len(cases) - kept)

        def work() -> tuple[list[CaseRow], list[Cells], int]:
            # The cells' strings and role maps are made here on the worker,
            # not while painting or on the GUI thread.
            views = intake.window_cases(include_closed=closed, limit=LIST_LIMIT, query=query)
            kept = 0
            if pinned is not None and all(v.id != pinned for v in views):
                # The case being acted on stays in view whatever the filter (or
                # 显示已出件) says; last, so a find still selects its first match.
                views.append(intake.case_view(pinned))
                kept = 1
            rows = case_rows(views)
            return rows, rows_cells(rows), kept

        run_in_background(self, work, success=done, label="刷新办件列表")

    def _keep_newer(
        self, rows: list[CaseRow], cells: list[Cells], kept: int, started: int, *, on_top: bool
    ) -> tuple[list[CaseRow], list[Cells], int]:
        """The refresh's rows, except a case shown changed after the refresh began.

        The refresh read the database before that act's result arrived (办结
        while the list loads): its row would turn 已办结 back into 已受理, and a
        case decided meanwhile would drop out of the list. Those keep what
        the clerk was shown; a new one stays on top, as it was (last in the
        results of a find, like the case last acted on, so the find still
        selects its first match).
        """
        newer = {cid for cid, tick in self._touched.items() if tick > started}
        # Older marks serve no refresh to come: each starts after them.
        self._touched = {cid: self._touched[cid] for cid in newer}
        shown = {cid: r for cid in newer if (r := self.model.row_data(cid)) is not None}
        if not shown:
            return rows, cells, kept
        out_rows: list[CaseRow] = []
        out_cells: list[Cells] = []
        for row, row_cells_ in zip(rows, cells, strict=True):
            mine = shown.pop(row.case.id, None)
            out_rows.append(mine or row)
            out_cells.append(row_cells(mine) if mine is not None else row_cells_)
        extra = [shown[c.id] for c in self.model.cases if c.id in shown]
        extra_cells = [row_cells(r) for r in extra]
        if on_top:
            return extra + out_rows, extra_cells + out_cells, kept + len(extra)
        return out_rows + extra, out_cells + extra_cells, kept + len(extra)

    def _fit_columns(self) -> None:
        # Once per new list, not on every change: ResizeToContents would
        # measure every cell of every row again for each updated row.
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            if header.sectionResizeMode(col) != QHeaderView.ResizeMode.Stretch:
                self.table.resizeColumnToContents(col)

    def _grow_columns(self, row: int) -> None:
        """Widen a column when the row's new text no longer fits (never narrower)."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        margin = 2 * self.table.style().pixelMetric(
            QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table
        ) + 8  # fmt: skip
        for col, text in enumerate(self.model.texts(row)):
            if header.sectionResizeMode(col) == QHeaderView.ResizeMode.Stretch:
                continue
            needed = metrics.horizontalAdvance(text) + margin
            if needed > header.sectionSize(col):
                header.resizeSection(col, needed)

    def clear(self) -> None:
        """After the shift ends: nothing of the last clerk's list stays selectable."""
        self._refresh_generation += 1
        self.pinned_id = None
        self.model.set_cases([])
        self._show_detail()

    def update_case(self, case: CaseView, row_data: CaseRow | None = None) -> None:
        """Show a changed case (after a decision, an action or an evaluation).

        Only its row changes; the rest of the list is not touched.
        """
        row, _ = self.model.replace(case, row_data)
        self._tick += 1
        self._touched[case.id] = self._tick
        self._grow_columns(row)
        current = self.current()
        if current is not None and current.id == case.id:
            self._show_detail()
        self.case_updated.emit(case)

    def reload_case(self, case_id: str) -> None:
        intake = self.ctx.intake
        run_in_background(
            self, lambda: case_row(intake.case_view(case_id)),
            success=lambda row: self.update_case(row.case, row), label="读取办件",
        )  # fmt: skip

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
            self.show_acted(updated)
            if then is not None:
                then.emit(updated)

        run_in_background(self, lambda: fn(case_id, clerk_id), success=done, label=label)

    def show_acted(self, case: CaseView) -> None:
        """After an action on ``case``: it stays listed (whatever the filter) and selected."""
        self.pinned_id = case.id
        self.update_case(case)
        self.select(case.id)

    @staticmethod
    def _summary(case: CaseView, act: str) -> list[tuple[str, str]]:
        return [
            ("记录事项", act),
            ("办件", case.case_no),
            ("申请人", f"{case.applicant_name}  {case.applicant_id_masked}"),
            ("事项", f"{case.item_name}（{case.item_code}）"),
        ]

    def complete(self) -> None:
        """F9 办结, after a confirmation (Enter; Esc cancels)."""
        case = self.current()
        if case is None or not self.buttons["complete"].isEnabled():
            return
        if self.confirm_dialog is not None or self.hand_over_dialog is not None:
            return
        dialog = ConfirmActDialog("办结", self._summary(case, "办结（办理完毕）"), self)
        self.confirm_dialog = dialog
        dialog.accepted.connect(
            lambda: self._act("办结", self.ctx.intake.complete, self.completed)
        )
        dialog.finished.connect(lambda _r: self._closed("confirm_dialog", dialog))
        dialog.open()

    def _closed(self, name: str, dialog: QDialog) -> None:
        # Gone, not only hidden: the focus goes back to the list for the next key.
        setattr(self, name, None)
        dialog.deleteLater()
        # Without a window manager (a kiosk session) nobody gives the console
        # back its focus, and F10 after F9 went nowhere until a click.
        self.window().activateWindow()
        self.table.setFocus()

    def hand_over(self) -> None:
        """F10 出件: who collected (本人、代领人、邮寄); Enter records 本人领取 at once."""
        case = self.current()
        if case is None or not self.buttons["hand_over"].isEnabled():
            return
        if self.confirm_dialog is not None or self.hand_over_dialog is not None:
            return
        dialog = DecisionDialog(f"出件 — {case.case_no}", self)
        dialog.set_summary(self._summary(case, "出件（交付办理结果）"))
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("确定出件  [Enter]")
        ok.setDefault(True)
        method = QComboBox()
        for m in CollectionMethod:
            method.addItem(m.label, m.value)
        agent_name = QLineEdit()
        agent_name.setMaxLength(50)
        agent_name.setPlaceholderText("代领人姓名")
        agent_type = QComboBox()
        for doc in IdType:
            agent_type.addItem(doc.label, doc.value)
        agent_id = MaskedIdEdit()
        carrier = QComboBox()
        carrier.setEditable(True)
        carrier.addItems(["中国邮政EMS", "顺丰速运", "京东物流", "中通快递", "圆通速递"])
        tracking = QLineEdit()
        tracking.setMaxLength(40)
        tracking.setPlaceholderText("邮件单号，例如 1234567890123")
        dialog.add("method", "领取方式(&M)：", method)
        dialog.add("agent_name", "代领人姓名(&N)：", agent_name)
        dialog.add("agent_type", "代领人证件类型：", agent_type)
        dialog.add("agent_id", "代领人证件号码(&I)：", agent_id)
        dialog.add("carrier", "寄递企业(&C)：", carrier)
        dialog.add("tracking", "邮件单号(&T)：", tracking)

        def record() -> Collection:
            typed = agent_id.text().strip().upper()
            number = agent_id.value if agent_id.is_masked() or not typed else typed
            return Collection(
                method=CollectionMethod(method.currentData()),
                agent_name=agent_name.text().strip(),
                agent_id_type=IdType(agent_type.currentData()),
                agent_id_number=number,
                carrier=carrier.currentText().strip(),
                tracking_no=tracking.text().strip(),
            )

        def method_changed() -> None:
            m = CollectionMethod(method.currentData())
            for w in (agent_name, agent_type, agent_id):
                w.setEnabled(m is CollectionMethod.AGENT)
            for w2 in (carrier, tracking):
                w2.setEnabled(m is CollectionMethod.MAIL)
            agent_id.id_type = IdType(agent_type.currentData())
            dialog.error.clear()

        method.currentIndexChanged.connect(lambda _i: method_changed())
        agent_type.currentIndexChanged.connect(lambda _i: method_changed())
        method_changed()
        dialog.validator = lambda: "；".join(check_collection(record()))
        case_id, clerk_id, intake = case.id, self.ctx.clerk_id, self.ctx.intake

        def go() -> None:
            collection = record()

            def done(updated: CaseView) -> None:
                self.show_acted(updated)
                self.handed_over.emit(updated)

            run_in_background(
                self, lambda: intake.hand_over(case_id, clerk_id, collection),
                success=done, label="出件",
            )  # fmt: skip

        dialog.accepted.connect(go)
        dialog.finished.connect(lambda _r: self._closed("hand_over_dialog", dialog))
        self.hand_over_dialog = dialog
        dialog.open()
        method.setFocus()

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
                success=self.show_acted, label="延期",
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
    return (
        getattr(widget, "extend_dialog", None)
        or getattr(widget, "decision_dialog", None)
        or getattr(widget, "hand_over_dialog", None)
        or getattr(widget, "confirm_dialog", None)
    )
