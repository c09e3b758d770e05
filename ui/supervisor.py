"""The supervisor view: the month's (or quarter's) figures, drill-down, charts,
the accountability list and the 差评 follow-up queue, with export.

Every query runs in the background (ui/ops.py) behind a progress bar; the
widgets only show what :func:`load_view_data` returned. The tables show the
same :class:`hallapp.reports.tables.ReportTable` the exports write, so the
screen and the published figures cannot disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hallapp.ui.ops import run_in_background
from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hallapp.config import Config
from hallapp.duty import StaffView
from hallapp.evaluation import LEVEL_LABELS
from hallapp.followup import ACTION_LABELS, Action, QueueItem, QueueSize
from hallapp.models import utcnow
from hallapp.reports import (
    Definitions,
    MonthlyReport,
    Period,
    month,
    monthly_report,
    previous_months,
    quarter,
)
from hallapp.reports.followups import AccountableClerk
from hallapp.reports.periods import day_start_utc, running_note
from hallapp.reports.sql import reading
from hallapp.reports.tables import (
    Cell,
    ReportTable,
    accountability_summary_table,
    clerk_reviews_table,
    monthly_tables,
    with_status,
)
from hallapp.store import Store
from hallapp.workdays import hall_date

log = logging.getLogger(__name__)

TREND_MONTHS = 6
DIMENSION_CHOICES = (("window", "按窗口"), ("clerk", "按工作人员"), ("department", "按部门"),
                     ("item", "按事项"))  # fmt: skip
OVERDUE = QColor("#fde2e1")
OVERDUE_TEXT = QColor("#a61b1b")


@dataclass(frozen=True)
class ViewData:
    """Everything one choice of period and grouping shows (plain values)."""

    period: Period
    by: str
    report: MonthlyReport
    quarter: Period
    accountable: list[AccountableClerk]
    trend: list[tuple[str, float | None, int]]  # month label, 满意率, evaluations
    queue: list[QueueItem]
    queue_size: QueueSize | None = None  # all open follow-ups (the queue shows the first)


@dataclass(frozen=True)
class _Side:
    """What the second worker reads while the first computes the report."""

    quarter: Period
    accountable: list[AccountableClerk]
    trend: list[tuple[str, float | None, int]]
    queue: list[QueueItem]
    queue_size: QueueSize


#: The follow-up queue shows this many, the earliest due first; the count
#: above it is of all of them.
QUEUE_SHOWN = 500


def quarter_of(period: Period) -> Period:
    return quarter(period.first.year, (period.first.month - 1) // 3 + 1)


def load_report(
    store: Store,
    period: Period,
    by: str,
    definitions: Definitions,
    *,
    hall_name: str = "",
    hall: str | None = None,
    now: datetime | None = None,
) -> MonthlyReport:
    """The period's tables (runs on a worker thread); ``now``: the view's clock."""
    with reading(store) as conn:
        return monthly_report(
            conn, period, by=by, hall_name=hall_name, definitions=definitions, hall=hall, now=now
        )


def load_side(
    store: Store, period: Period, definitions: Definitions, *, hall: str | None = None
) -> _Side:
    """The trend, the quarter's accountability list and the queue (another worker)."""
    from hallapp.followup import queue, queue_size
    from hallapp.reports import accountability
    from hallapp.reports.tally import monthly_totals

    q = quarter_of(period)
    with reading(store) as conn:
        months = previous_months(period, TREND_MONTHS)
        totals = monthly_totals(conn, months, definitions=definitions, hall=hall)
        trend = [
            (f"{m.first.month}月", t.satisfaction_rate, t.evaluations)
            for m, t in zip(months, totals, strict=True)
        ]
        # The clerks and their counts; one clerk's 差评 are read when asked.
        found = accountability(conn, q, definitions=definitions, hall=hall, reviews=False)
        days = definitions.call_back_days
        work = queue(conn, hall=hall, call_back_days=days, limit=QUEUE_SHOWN)
        size = queue_size(conn, hall=hall, call_back_days=days)
    return _Side(q, found, trend, work, size)


def load_view_data(
    store: Store,
    period: Period,
    by: str,
    definitions: Definitions,
    *,
    hall_name: str = "",
    hall: str | None = None,
) -> ViewData:
    """Everything at once, on the calling thread (scripts and benchmarks)."""
    report = load_report(store, period, by, definitions, hall_name=hall_name, hall=hall)
    side = load_side(store, period, definitions, hall=hall)
    return ViewData(
        period, by, report, side.quarter, side.accountable, side.trend, side.queue, side.queue_size
    )


# --------------------------------------------------------------------- models


_ROOT = QModelIndex()


class ReportTableModel(QAbstractTableModel):
    """A ReportTable on screen: numbers right-aligned, '—' where nothing divides."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = ReportTable("", "", [], [])
        self.highlight: set[int] = set()

    def set_table(self, table: ReportTable, highlight: set[int] | None = None) -> None:
        self.beginResetModel()
        self.table = table
        self.highlight = highlight or set()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.table.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.table.header)

    def value(self, row: int, col: int) -> Cell:
        return self.table.rows[row][col]

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        v = self.table.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if v is None:
                return "—"
            return f"{v:.2f}" if isinstance(v, float) else str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(v, int | float):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if index.row() in self.highlight:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(OVERDUE)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(OVERDUE_TEXT)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.table.header[section]
        return str(section + 1)


def _table_view(parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # Sizing a column from every row of a long list costs the GUI thread; the
    # first rows say enough about the widths.
    header.setResizeContentsPrecision(40)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setVisible(False)
    return view


class TablePanel(QWidget):
    """A table with its definitions under it; double-click opens the rows behind a number."""

    activated = Signal(int, int)  # row, column

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ReportTableModel(self)
        self.view = _table_view(self)
        self.view.setModel(self.model)
        self.view.doubleClicked.connect(lambda i: self.activated.emit(i.row(), i.column()))
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.notes.setObjectName("reportNotes")
        self.notes.setStyleSheet("color: #555; font-size: 12px;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.notes)

    def set_table(self, table: ReportTable, highlight: set[int] | None = None) -> None:
        self.model.set_table(table, highlight)
        self.notes.setText("\n".join(table.notes))


# -------------------------------------------------------------- drill-down


_SELECTION_OF = {LEVEL_LABELS[v]: str(v) for v in LEVEL_LABELS} | {
    "有效评价数": "all",
    "满意率（%）": "satisfied",
    "差评数": "bad",
    "差评率（%）": "bad",
    "评分": "all",
}
_CASE_FIGURE_OF = {
    "收件": "received",
    "受理": "accepted",
    "办结": "completed",
    "办结件数": "completed",
    "已评价件数": "completed",
    "未评价": "completed",
    "评价率（%）": "completed",
    "按期办结": "on_time",
    "按期办结率（%）": "on_time",
    "超期办结": "completed_late",
    "超期未办结": "overdue_open",
    "一次性告知": "one_time_notices",
    "违反一次性告知（倒查）": "violations",
    "延期": "extensions",
    "容缺材料逾期": "deferred_overdue",
}
_FOLLOW_UP_FIGURE_OF = {
    "差评数": "bad",
    "已核实": "verified",
    "已回访": "called_back",
    "回访率（%）": "called_back",
    "已整改": "rectified",
    "差评整改率（%）": "rectified",
    "已办结": "closed",
    "整改超期": "overdue",
    "回访超期": "call_back_overdue",
    "申诉审核中": "appeals_pending",
}


def evaluation_table(rows: list[Any], title: str) -> ReportTable:
    return ReportTable(
        "评价",
        title,
        [
            "评价时间",
            "办件编号",
            "窗口",
            "工作人员",
            "评价",
            "原因",
            "整改状态",
            "剔除：决定、人员、时间",
        ],
        [
            [
                f"{r.created_at.astimezone(_tz()):%Y-%m-%d %H:%M}",
                r.case_no,
                r.window_code,
                r.staff_name,
                r.level_label,
                "、".join(r.reasons),
                r.follow_up,
                (
                    f"{r.exclusion.note}（{r.exclusion.staff_name} {r.exclusion.staff_no}，"
                    f"{r.exclusion.decided_at.astimezone(_tz()):%Y-%m-%d %H:%M}）"
                )
                if r.exclusion
                else "",
            ]
            for r in rows
        ],
    )


def case_table(rows: list[Any], title: str) -> ReportTable:
    return ReportTable(
        "办件",
        title,
        ["办件编号", "窗口", "事项", "首办负责人", "收件时间", "承诺日期", "办结日期"],
        [
            [
                r.case_no,
                r.window_code,
                r.item_name,
                r.first_responder,
                f"{r.received_at.astimezone(_tz()):%Y-%m-%d %H:%M}",
                r.promised_date,
                r.completed_on,
            ]
            for r in rows
        ],
    )


def _tz() -> Any:
    from hallapp.workdays import HALL_TZ

    return HALL_TZ


class DrillDialog(QDialog):
    """The rows behind a number; a case opens on double-click."""

    def __init__(
        self, store: Store, table: ReportTable, case_ids: list[str], parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(table.title)
        self.store = store
        self.case_ids = case_ids
        self.panel = TablePanel(self)
        self.panel.set_table(table)
        self.panel.activated.connect(self.open_case)
        count = QLabel(f"共 {len(table.rows)} 条", self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(table.title, self))
        layout.addWidget(self.panel, 1)
        layout.addWidget(count)
        self.resize(1100, 560)
        self.case_dialog: CaseDialog | None = None

    def open_case(self, row: int, _col: int = 0) -> None:
        if not 0 <= row < len(self.case_ids):
            return
        case_id = self.case_ids[row]
        from hallapp.reports.drill import case_detail

        def work() -> Any:
            with reading(self.store) as conn:
                return case_detail(conn, case_id)

        run_in_background(self, work, success=self._show_case, label="读取办件")

    def _show_case(self, detail: Any) -> None:
        self.case_dialog = CaseDialog(detail, self)
        self.case_dialog.open()


_EVENT_LABELS = {
    "received": "收件", "accepted": "受理", "conditionally_accepted": "容缺受理",
    "supplement_requested": "一次性告知", "supplement_received": "补正材料收到",
    "deferred_materials_received": "容缺材料补齐", "rejected": "不予受理",
    "referred": "非本部门职责告知", "extended": "延期", "completed": "办结",
    "handed_over": "出件", "evaluation_opened": "邀请评价", "evaluated": "评价",
    "evaluation_expired": "未评价", "evaluation_cancelled": "评价取消",
    "one_time_violation": "违反一次性告知",
}  # fmt: skip


class CaseDialog(QDialog):
    """A case's events, documents and evaluations: the last step of a drill-down."""

    def __init__(self, detail: Any, parent: QWidget | None) -> None:
        super().__init__(parent)
        case = detail.case
        self.setWindowTitle(f"办件 {case.case_no if case else ''}")
        head = QLabel(
            f"{case.case_no}　{case.item_name}　首办负责人：{case.first_responder}　"
            f"承诺日期：{case.promised_date or '—'}　办结：{case.completed_on or '未办结'}"
            if case
            else "找不到该办件",
            self,
        )
        head.setWordWrap(True)
        tabs = QTabWidget(self)
        self.events = TablePanel(self)
        self.events.set_table(
            ReportTable(
                "事件",
                "办件过程",
                ["时间", "环节", "人员", "内容"],
                [
                    [
                        f"{e.created_at.astimezone(_tz()):%Y-%m-%d %H:%M:%S}",
                        _EVENT_LABELS.get(e.kind, e.kind),
                        e.staff_name,
                        _describe(e.data),
                    ]
                    for e in detail.events
                ],
            )
        )
        self.documents = TablePanel(self)
        self.documents.set_table(
            ReportTable(
                "文书",
                "文书",
                ["出具时间", "文书类型", "文书编号"],
                [
                    [f"{d.created_at.astimezone(_tz()):%Y-%m-%d %H:%M}", d.doc_type, d.doc_no]
                    for d in detail.documents
                ],
            )
        )
        self.evaluations = TablePanel(self)
        self.evaluations.set_table(evaluation_table(detail.evaluations, "评价"))
        tabs.addTab(self.events, f"办件过程（{len(detail.events)}）")
        tabs.addTab(self.documents, f"文书（{len(detail.documents)}）")
        tabs.addTab(self.evaluations, f"评价（{len(detail.evaluations)}）")
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(tabs, 1)
        self.resize(980, 520)


def _describe(data: dict[str, Any]) -> str:
    keys = {"promised_date": "承诺日期", "reason": "原因", "days": "天数", "level": "等级",
            "reasons": "原因", "why": "原因", "supplement_date": "补齐期限",
            "new_demands": "新增要求"}  # fmt: skip
    parts = []
    for k, title in keys.items():
        if k in data and data[k] not in (None, "", []):
            v = data[k]
            parts.append(f"{title}：{'、'.join(map(str, v)) if isinstance(v, list) else v}")
    return "；".join(parts)


# --------------------------------------------------------------------- charts


class Charts(QWidget):
    """The monthly trend of 满意率 and the level distribution of the period."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trend_view = QChartView(self)
        self.levels_view = QChartView(self)
        for v in (self.trend_view, self.levels_view):
            v.setRenderHint(QPainter.RenderHint.Antialiasing)
            v.setMinimumHeight(280)
        layout = QHBoxLayout(self)
        layout.addWidget(self.trend_view, 1)
        layout.addWidget(self.levels_view, 1)
        self.trend_series: QLineSeries | None = None
        self.level_set: QBarSet | None = None

    def show_data(self, data: ViewData) -> None:
        trend = QChart()
        trend.setTitle(f"近{len(data.trend)}个月满意率趋势（%）")
        series = QLineSeries()
        series.setName("满意率")
        series.setPointsVisible(True)
        labels = []
        values = []
        for i, (label, rate, _n) in enumerate(data.trend):
            labels.append(label)
            if rate is not None:
                series.append(QPointF(i, rate))
                values.append(rate)
        trend.addSeries(series)
        x = QBarCategoryAxis()
        x.append(labels)
        y = QValueAxis()
        low = min(values, default=90.0)
        bottom = max(0, (int(low) // 5) * 5 - 5)
        # Gridlines on whole numbers: 90, 92 … 100, not 90, 92.5 … drawn as
        # "93" (97.63 % sat above the line labelled 98).
        step = next((k for k in (1, 5, 10, 20, 25, 50)
                     if (100 - bottom) % k == 0 and (100 - bottom) // k <= 10), 5)  # fmt: skip
        y.setRange(float(bottom), 100.0)
        y.setTickCount((100 - bottom) // step + 1)
        y.setLabelFormat("%.0f")
        # A category axis maps point i to the i-th label; values on the value axis.
        x_values = QValueAxis()
        x_values.setRange(-0.5, max(0, len(labels) - 1) + 0.5)
        x_values.setVisible(False)
        trend.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        trend.addAxis(x_values, Qt.AlignmentFlag.AlignBottom)
        trend.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x_values)
        series.attachAxis(y)
        trend.legend().hide()
        self.trend_view.setChart(trend)
        self.trend_series = series

        levels = QChart()
        levels.setTitle(f"{data.period.label}评价等级分布（次）")
        bar = QBarSet("有效评价")
        total = data.report.window_tally.total
        cats = []
        for v in (5, 4, 3, 2, 1):
            bar.append(total.levels.get(v, 0))
            cats.append(LEVEL_LABELS[v])
        bars = QBarSeries()
        bars.append(bar)
        bars.setLabelsVisible(True)
        # Above each bar, in the text colour: a bar of 29 差评 is too short to
        # hold its own number.
        bars.setLabelsPosition(QBarSeries.LabelsPosition.LabelsOutsideEnd)
        bar.setLabelColor(QColor("#1f2937"))
        levels.addSeries(bars)
        axis = QBarCategoryAxis()
        axis.append(cats)
        levels.addAxis(axis, Qt.AlignmentFlag.AlignBottom)
        bars.attachAxis(axis)
        count = QValueAxis()
        most = max(1, max(total.levels.values(), default=1))
        step = _nice_step(int(most * 1.15) + 1)
        top = -(-int(most * 1.15 + 1) // step) * step  # the next gridline above the tallest bar
        count.setRange(0, top)
        count.setTickCount(top // step + 1)
        count.setLabelFormat("%d")
        levels.addAxis(count, Qt.AlignmentFlag.AlignLeft)
        bars.attachAxis(count)
        levels.legend().hide()
        self.levels_view.setChart(levels)
        self.level_set = bar


def _nice_step(span: int) -> int:
    """A gridline step of 1, 2 or 5 × 10ⁿ giving at most 10 intervals over ``span``."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if span <= 10 * step * scale:
                return step * scale
        scale *= 10


# -------------------------------------------------------------- the queue


def queue_table(items: list[QueueItem]) -> ReportTable:
    return ReportTable(
        "整改",
        "差评整改工作",
        [
            "办件编号",
            "窗口",
            "工作人员",
            "评价",
            "原因",
            "评价时间",
            "状态",
            "回访期限",
            "整改期限",
            "超期",
        ],
        [
            [
                i.case_no,
                i.window_code,
                i.clerk_name,
                i.level_label,
                "、".join(i.reasons),
                f"{i.evaluated_at.astimezone(_tz()):%Y-%m-%d %H:%M}",
                i.state,
                i.call_back_due.isoformat(),
                i.due_on.isoformat() if i.due_on else None,
                "、".join(i.overdue_steps) + "超期" if i.overdue_steps else "",
            ]
            for i in items
        ],
        [
            "超期的回访、整改以红色标出；办结须先回访和整改；申诉由提出人以外的另一位监督管理人员审核"
        ],
    )


class FollowUpPanel(QWidget):
    """The follow-up queue with its actions and the steps of the chosen 差评."""

    acted = Signal(str)  # the action done

    def __init__(self, view: SupervisorView) -> None:
        super().__init__(view)
        self.owner = view
        self.items: list[QueueItem] = []
        self.table = TablePanel(self)
        self.table.view.selectionModel().selectionChanged.connect(self._selected)
        self.table.activated.connect(lambda row, _c: self.open_case(row))
        self.steps = TablePanel(self)
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("处理情况说明（必填）：做了什么、结果如何")
        self.buttons: dict[Action, QPushButton] = {}
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        for action in Action:
            b = QPushButton(ACTION_LABELS[action], self)
            b.setObjectName(f"followUp_{action.value}")
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, a=action: self.do(a))
            self.buttons[action] = b
            row.addWidget(b)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.steps)
        split.setSizes([420, 180])
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def show_items(self, items: list[QueueItem], total: int | None = None) -> None:
        selected = self.current()
        self.items = items
        table = queue_table(items)
        if total is not None and total > len(items):
            table.notes.insert(0, f"共 {total} 件待整改，此处列出最早到期的 {len(items)} 件")
        self.table.set_table(table, {i for i, it in enumerate(items) if it.overdue})
        if selected is not None:
            for i, it in enumerate(items):
                if it.evaluation_id == selected.evaluation_id:
                    self.table.view.selectRow(i)
        self._selected()

    def current(self) -> QueueItem | None:
        rows = self.table.view.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.items):
            return None
        return self.items[rows[0].row()]

    def select(self, row: int) -> None:
        self.table.view.selectRow(row)

    def _selected(self, *_args: object) -> None:
        item = self.current()
        allowed = set(item.allowed()) if item else set()
        for action, b in self.buttons.items():
            b.setEnabled(action in allowed)
        if item is None:
            self.steps.set_table(ReportTable("", "", ["时间", "步骤", "人员", "说明"], []))
            return
        from hallapp.followup import steps

        store, evaluation_id = self.owner.store, item.evaluation_id

        def work() -> list[Any]:
            with reading(store) as conn:
                return steps(conn, evaluation_id)

        run_in_background(self, work, success=self._show_steps, label="读取整改记录")

    def _show_steps(self, history: list[Any]) -> None:
        self.steps.set_table(
            ReportTable(
                "",
                "整改记录",
                ["时间", "步骤", "人员", "说明"],
                [
                    [
                        f"{h.at.astimezone(_tz()):%Y-%m-%d %H:%M}",
                        h.label,
                        f"{h.staff_name} {h.staff_no}".strip(),
                        h.note,
                    ]
                    for h in history
                ],
            )
        )

    def do(self, action: Action) -> None:
        item = self.current()
        supervisor = self.owner.supervisor
        if item is None or supervisor is None:
            return
        from hallapp.followup import act

        note = self.note.text()
        store, window = self.owner.store, self.owner.window_code

        def work() -> str:
            with store.session() as s:
                act(s, item.evaluation_id, action, staff_id=supervisor.id, note=note,
                    window_code=window)  # fmt: skip
            return action.value

        def done(value: str) -> None:
            self.note.clear()
            self.message.setStyleSheet("color: #1b6e2a;")
            self.message.setText(f"已记录：{item.case_no} {action.label}")
            self.acted.emit(value)
            self.owner.refresh()

        def failed(exc: BaseException) -> None:
            from hallapp.ui.errors import user_message

            self.message.setStyleSheet("color: #a61b1b;")
            self.message.setText(user_message(exc, action.label))

        run_in_background(self, work, success=done, failure=failed, label=action.label)

    def open_case(self, row: int) -> None:
        if 0 <= row < len(self.items):
            self.owner.open_rows(case_table([], ""), [self.items[row].case_id], open_first=True)


# ------------------------------------------------------------------ the view


class SupervisorView(QWidget):
    """The supervisors' screen. ``loaded`` fires each time the figures are on screen."""

    loaded = Signal(object)  # ViewData
    exported = Signal(str)  # the path written

    def __init__(
        self,
        store: Store,
        config: Config,
        supervisor: StaffView | None = None,
        parent: QWidget | None = None,
        *,
        hall: str | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("supervisorView")
        self.store = store
        self.config = config
        self.supervisor = supervisor
        self.hall = hall
        self.window_code = config.window_code
        self.definitions = Definitions.from_config(config)
        self.data: ViewData | None = None
        self.dialog: DrillDialog | None = None
        self._loading = 0
        self._generation = 0
        self._today = today or hall_date(utcnow())

        self.kind = QComboBox(self)
        self.kind.addItem("月度", "month")
        self.kind.addItem("季度", "quarter")
        self.period = QComboBox(self)
        self.period.setObjectName("periodChoice")
        self.by = QComboBox(self)
        for key, label in DIMENSION_CHOICES:
            self.by.addItem(label, key)
        self.refresh_button = QPushButton("刷新  [F5]", self)
        self.export_format = QComboBox(self)
        for fmt, label in (("pdf", "公示 PDF"), ("xlsx", "Excel 工作簿"), ("csv", "CSV")):
            self.export_format.addItem(label, fmt)
        self.export_button = QPushButton("导出…", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # busy
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel(self)
        who = f"{supervisor.name}（{supervisor.role.label}）" if supervisor else ""
        bar = QHBoxLayout()
        for w in (QLabel("统计期：", self), self.kind, self.period, self.by, self.refresh_button,
                  self.export_format, self.export_button, self.progress):  # fmt: skip
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(QLabel(f"{config.hall_name}　{who}", self))
        # On a line of its own, wrapped: a long state (a running month with no
        # records, a store's address) must not widen the view past a 1366 px
        # office screen.
        self.status.setWordWrap(True)

        self.tabs = QTabWidget(self)
        self.tally = TablePanel(self)
        self.ranking = TablePanel(self)
        self.cases = TablePanel(self)
        self.work = TablePanel(self)
        self.charts = Charts(self)
        self.accountability = TablePanel(self)
        self.follow_up = FollowUpPanel(self)
        # 并联审批 (hallapp.bundles): per department on time / late, 催办, and the 倒查 list.
        self.bundles = TablePanel(self)
        self.bundles_late = TablePanel(self)
        bundles_tab = QWidget(self)
        bundles_layout = QVBoxLayout(bundles_tab)
        bundles_layout.addWidget(self.bundles, 1)
        bundles_layout.addWidget(QLabel("超期子件倒查名单", bundles_tab))
        bundles_layout.addWidget(self.bundles_late, 1)
        self.tabs.addTab(self.tally, "好差评统计")
        self.tabs.addTab(self.ranking, "窗口排名")
        self.tabs.addTab(self.charts, "趋势与分布")
        self.tabs.addTab(self.cases, "办件情况")
        self.tabs.addTab(self.work, "差评整改统计")
        self.tabs.addTab(self.accountability, "季度问责名单")
        self.tabs.addTab(self.follow_up, "整改工作")
        self.tabs.addTab(bundles_tab, "并联审批")
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)

        self.tally.activated.connect(self._drill_tally)
        self.cases.activated.connect(self._drill_cases)
        self.work.activated.connect(self._drill_work)
        self.accountability.activated.connect(self._drill_accountability)
        self.kind.currentIndexChanged.connect(self._fill_periods)
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        self.by.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self._choose_export)
        from hallapp.ui.theme import bind_key

        bind_key(self, "F5", self.refresh)
        self._fill_periods()

    # -- choosing

    def _fill_periods(self) -> None:
        self.period.blockSignals(True)
        self.period.clear()
        y, m = self._today.year, self._today.month
        if self.kind.currentData() == "quarter":
            q = (m - 1) // 3 + 1
            for _ in range(8):
                p = quarter(y, q)
                self.period.addItem(p.label, p.key)
                y, q = (y - 1, 4) if q == 1 else (y, q - 1)
        else:
            for _ in range(24):
                p = month(y, m)
                self.period.addItem(p.label, p.key)
                y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        self.period.blockSignals(False)
        self.refresh()

    def choose(self, key: str, by: str | None = None) -> None:
        """Pick a period by its key (2026-09 or 2026-Q3) and a grouping, as the user would."""
        self.kind.setCurrentIndex(1 if "Q" in key else 0)
        if by is not None:
            self.by.blockSignals(True)
            self.by.setCurrentIndex([k for k, _ in DIMENSION_CHOICES].index(by))
            self.by.blockSignals(False)
        i = self.period.findData(key)
        if i < 0:
            from hallapp.reports import parse_period

            p = parse_period(key)
            self.period.addItem(p.label, p.key)
            i = self.period.count() - 1
        if i == self.period.currentIndex():
            self.refresh()
        else:
            self.period.setCurrentIndex(i)

    def selected_period(self) -> Period:
        from hallapp.reports import parse_period

        return parse_period(str(self.period.currentData()))

    # -- loading

    def refresh(self) -> None:
        if self.period.count() == 0:
            return
        period, by = self.selected_period(), str(self.by.currentData())
        store, defs, hall_name, hall = (
            self.store,
            self.definitions,
            self.config.hall_name,
            self.hall,
        )
        now = self._now()
        self._busy(+1, f"正在统计{period.label}…")
        # Two workers at once: the tables, and the trend/accountability/queue.
        parts: dict[str, Any] = {}
        self._generation += 1
        generation = self._generation

        def arrived(name: str, value: Any) -> None:
            parts[name] = value
            if "failed" in parts or len(parts) < 2:
                return  # the failure was shown (and ended the wait) already
            if generation != self._generation:
                self._busy(-1)  # a newer choice is on its way
                return
            side: _Side = parts["side"]
            report: MonthlyReport = parts["report"]
            self._show(
                ViewData(period, by, report, side.quarter, side.accountable, side.trend,
                         side.queue, side.queue_size)
            )

        def failed(exc: BaseException) -> None:
            if "failed" not in parts:
                parts["failed"] = exc
                self._failed(exc)

        run_in_background(
            self,
            lambda: load_report(store, period, by, defs, hall_name=hall_name, hall=hall,
                                now=now),
            success=lambda r: arrived("report", r),
            failure=failed,
            label=f"统计{period.label}",
        )
        today = self._today
        run_in_background(
            self,
            lambda: load_bundle_tables(store, period, as_of=min(period.last, today), hall=hall),
            success=self._show_bundles,
            label=f"统计{period.label}并联审批",
        )
        run_in_background(
            self,
            lambda: load_side(store, period, defs, hall=hall),
            success=lambda r: arrived("side", r),
            failure=failed,
            label=f"统计{period.label}趋势与整改",
        )

    def _show_bundles(self, tables: tuple[ReportTable, ReportTable]) -> None:
        figures, late = tables
        self.bundles.set_table(figures)
        self.bundles_late.set_table(late)

    def _now(self) -> datetime:
        """The view's clock: now, or midday of the day it was opened for (a
        benchmark's or a test's history), so a running month is judged on it."""
        now = utcnow()
        if self._today == hall_date(now):
            return now
        return day_start_utc(self._today) + timedelta(hours=12)

    def _busy(self, delta: int, text: str = "") -> None:
        self._loading = max(0, self._loading + delta)
        self.progress.setVisible(self._loading > 0)
        if text:
            self.status.setText(text)

    def _failed(self, exc: BaseException) -> None:
        from hallapp.ui.errors import user_message

        self._busy(-1, user_message(exc, "统计"))
        self.status.setStyleSheet("color: #a61b1b;")

    def _show(self, data: ViewData) -> None:
        self._busy(-1)
        # A slower, older load must not overwrite the choice now on screen.
        if (data.period.key, data.by) != (self.selected_period().key, self.by.currentData()):
            return
        self.data = data
        tables = monthly_tables(data.report)
        self.tally.set_table(tables[0])
        self.ranking.set_table(tables[1])
        self.cases.set_table(tables[2])
        overdue_rows = {
            i for i, f in enumerate(data.report.follow_ups) if f.overdue or f.call_back_overdue
        }
        self.work.set_table(tables[3], overdue_rows)
        q = accountability_summary_table(data.quarter, data.accountable, self.definitions)
        running = running_note(data.quarter, data.report.made_at)
        self.accountability.set_table(with_status([q], [running] if running else [])[0])
        self.charts.show_data(data)
        size = data.queue_size or QueueSize(
            len(data.queue), sum(1 for i in data.queue if i.overdue)
        )
        self.follow_up.show_items(data.queue, size.open)
        self.status.setStyleSheet("")
        status = "；".join(data.report.status())
        self.status.setText(
            (f"{status}。" if status else "")
            + f"{data.period.label}：有效评价 {data.report.tally.total.evaluations} 次，"
            f"待整改 {size.open} 件（超期 {size.overdue} 件）"
        )
        self.tabs.setTabText(6, f"整改工作（{size.open}）")
        self.loaded.emit(data)

    # -- drill-down

    def _key(self, table: ReportTable, row: int) -> str | None:
        if table.row_keys:
            return table.row_keys[row] if row < len(table.row_keys) else None
        key = table.rows[row][0]
        return None if key in ("合计", None) else str(key)

    def _drill_tally(self, row: int, col: int) -> None:
        if self.data is None:
            return
        table = self.tally.model.table
        header, key = table.header[col], self._key(table, row)
        by, period = self.data.by, self.data.period
        if header in _CASE_FIGURE_OF:
            self._drill_case_figure(
                by, key, _CASE_FIGURE_OF[header], f"{table.rows[row][1]}：{header}"
            )
            return
        selection = _SELECTION_OF.get(header, "all")
        store, defs, hall = self.store, self.definitions, self.hall
        from hallapp.reports.drill import evaluations_behind

        def work() -> list[Any]:
            with reading(store) as conn:
                return evaluations_behind(conn, period, by, key, selection, definitions=defs,
                                          hall=hall)  # fmt: skip

        title = f"{period.label} {table.rows[row][1]}：{header}"
        run_in_background(self, work, success=lambda rows: self._open_evaluations(rows, title),
                          label="读取评价明细")  # fmt: skip

    def _drill_cases(self, row: int, col: int) -> None:
        if self.data is None:
            return
        table = self.cases.model.table
        header = table.header[col]
        figure = _CASE_FIGURE_OF.get(header, "received")
        self._drill_case_figure(self.data.by, self._key(table, row), figure,
                                f"{table.rows[row][1]}：{header}")  # fmt: skip

    def _drill_case_figure(self, by: str, key: str | None, figure: str, title: str) -> None:
        assert self.data is not None
        period, store, hall = self.data.period, self.store, self.hall
        from hallapp.reports.drill import cases_behind

        def work() -> list[Any]:
            with reading(store) as conn:
                return cases_behind(conn, period, by, key, figure, hall=hall)

        run_in_background(
            self,
            work,
            success=lambda rows: self.open_rows(
                case_table(rows, f"{period.label} {title}"), [r.id for r in rows]
            ),
            label="读取办件明细",
        )

    def _drill_work(self, row: int, col: int) -> None:
        if self.data is None:
            return
        table = self.work.model.table
        header, key = table.header[col], self._key(table, row)
        by, period, store, defs, hall = (
            self.data.by,
            self.data.period,
            self.store,
            self.definitions,
            self.hall,
        )
        if header == "申诉成立已剔除":
            from hallapp.reports.drill import evaluations_behind

            def excluded() -> list[Any]:
                with reading(store) as conn:
                    return evaluations_behind(conn, period, by, key, "excluded", hall=hall)

            title = f"{period.label} 申诉成立已剔除的评价"
            run_in_background(
                self,
                excluded,
                success=lambda rows: self._open_evaluations(rows, title),
                label="读取剔除的评价",
            )
            return
        figure = _FOLLOW_UP_FIGURE_OF.get(header, "bad")
        from hallapp.reports.drill import follow_ups_behind

        def work() -> list[Any]:
            with reading(store) as conn:
                return follow_ups_behind(conn, period, by, key, figure, definitions=defs, hall=hall)

        title = f"{period.label} {table.rows[row][1]}：{header}"
        run_in_background(self, work, success=lambda rows: self._open_evaluations(rows, title),
                          label="读取差评明细")  # fmt: skip

    def _drill_accountability(self, row: int, _col: int) -> None:
        """One clerk of the list: the 差评 behind the rate, each with its follow-up state."""
        if self.data is None or not 0 <= row < len(self.data.accountable):
            return
        from hallapp.reports.followups import clerk_reviews

        clerk, quarter = self.data.accountable[row], self.data.quarter
        store, hall, defs = self.store, self.hall, self.definitions

        def work() -> AccountableClerk:
            with reading(store) as conn:
                found = clerk_reviews(conn, quarter, clerk.staff_id, hall=hall, definitions=defs)
                return replace(clerk, reviews=found)

        def show(found: AccountableClerk) -> None:
            table = clerk_reviews_table(quarter, found, defs)
            self.open_rows(table, [r.case_id for r in found.reviews])

        run_in_background(self, work, success=show, label="读取差评及整改状态")

    def _open_evaluations(self, rows: list[Any], title: str) -> None:
        self.open_rows(evaluation_table(rows, title), [r.case_id for r in rows])

    def open_rows(
        self, table: ReportTable, case_ids: list[str], *, open_first: bool = False
    ) -> None:
        self.dialog = DrillDialog(self.store, table, case_ids, self)
        if open_first:
            self.dialog.open_case(0)
            return
        self.dialog.open()

    # -- export

    def _choose_export(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        fmt = str(self.export_format.currentData())
        period = self.selected_period()
        suggested = str(Path.home() / f"好差评{period.key}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, "导出", suggested, f"*.{fmt}")
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write the figures on screen (PDF for the notice board, xlsx or CSV) in the background."""
        if self.data is None:
            return
        data = self.data
        report = data.report
        font = str(self.config.get("printing.font_path")) or None
        from hallapp.printing.publish import write_report

        store, hall, defs = self.store, self.hall, self.definitions
        self._busy(+1, f"正在导出 {path.name}…")

        def write() -> list[str]:
            out = report
            if data.period.is_quarter:
                from hallapp.reports import accountability

                # The quarter on screen shows its accountability list: the export
                # carries it with every clerk's 差评 (read here, in the background).
                with reading(store) as conn:
                    found = accountability(conn, data.period, definitions=defs, hall=hall)
                out = replace(report, accountable=found)
            write_report(out, fmt, path, font_path=font)
            if fmt != "csv":
                return []
            from hallapp.printing.publish import csv_companions

            return [p.name for p in csv_companions(out, path)]

        def done(others: list[str]) -> None:
            more = f"（另有表格：{'、'.join(others)}）" if others else ""
            self._busy(-1, f"已导出：{path}{more}")
            self.exported.emit(str(path))

        def failed(exc: BaseException) -> None:
            self._failed(exc)

        run_in_background(self, write, success=done, failure=failed, label="导出报表")


def load_bundle_tables(
    store: Store, period: Period, *, as_of: date, hall: str | None
) -> tuple[ReportTable, ReportTable]:
    """Worker thread: the 并联审批 figures and the 倒查 list of the period."""
    from hallapp.reports import bundles

    with store.read() as s:
        conn = s.connection()
        return (
            bundles.figures_table(bundles.department_figures(conn, period, as_of=as_of, hall=hall)),
            bundles.late_table(bundles.late_list(conn, period, as_of=as_of, hall=hall)),
        )
