"""重点项目代办 view, on the central store: a 代办员's projects, their nodes and
records, the forms of the workflow, the hand-over and the 满意度测评; for
supervisors also the 卡点 list (倒查) and the 警告 / 诫勉谈话 list.

Every database call runs in the background (ui/ops.py); widgets only show what
the domain (hallapp.projects) returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hallapp.ui.ops import Latest, run_in_background
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from hallapp.projects.register import (
    STEP_LABELS,
    NodeState,
    ProjectActor,
    ProjectDetail,
    ProjectState,
    ProjectSummary,
    StepKind,
    StuckPoint,
)
from hallapp.projects.survey import Channel, DisciplineEntry

log = logging.getLogger(__name__)

STATE_COLOURS = {
    NodeState.LATE: "#f8d7da",
    NodeState.DONE_LATE: "#fbe3c8",
    NodeState.DUE_SOON: "#fff3cd",
    NodeState.DONE: "#d4edda",
}


@dataclass
class ViewData:
    projects: list[ProjectSummary]
    detail: ProjectDetail | None
    stuck: list[StuckPoint] = field(default_factory=list)
    discipline: list[DisciplineEntry] = field(default_factory=list)


def load_view_data(
    engine: Engine, hall: str, actor: ProjectActor, today: date, selected: str | None
) -> ViewData:
    """Everything the view shows, in one read."""
    from hallapp.projects.register import detail, projects, stuck_points
    from hallapp.projects.survey import discipline_list

    with engine.connect() as c:
        rows = projects(c, hall, actor, today)
        ids = [p.id for p in rows]
        chosen = selected if selected in ids else (ids[0] if ids else None)
        d = detail(c, hall, chosen, today, actor=actor) if chosen else None
        stuck = stuck_points(c, hall, today, agent_id=None if actor.oversees else actor.staff_id)
        discipline = discipline_list(c, hall) if actor.oversees else []
    return ViewData(rows, d, stuck, discipline)


def _table(parent: QWidget, header: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(header), parent)
    t.setHorizontalHeaderLabels(header)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(
    t: QTableWidget,
    rows: list[list[Any]],
    colours: list[str | None] | None = None,
    keys: list[str] | None = None,
) -> None:
    t.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            item = QTableWidgetItem("" if value is None else str(value))
            if colours and colours[i]:
                item.setBackground(QBrush(QColor(colours[i])))
            if keys is not None and j == 0:
                item.setData(Qt.ItemDataRole.UserRole, keys[i])
            t.setItem(i, j, item)


def _qdate(d: date) -> QDate:
    return QDate(d.year, d.month, d.day)


def _pydate(q: QDate) -> date:
    return date(q.year(), q.month(), q.day())


def _date_edit(parent: QWidget, d: date) -> QDateEdit:
    edit = QDateEdit(_qdate(d), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


def _form(dialog: QDialog, rows: list[tuple[str, QWidget]]) -> None:
    """The dialog's fields, one a row, and OK / Cancel."""
    form = QFormLayout(dialog)
    for label, widget in rows:
        form.addRow(label, widget)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)


class StepDialog(QDialog):
    """督导代办情况记录: one step on one open node."""

    def __init__(self, detail: ProjectDetail, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("登记督导代办情况")
        self.node = QComboBox(self)
        for n in detail.nodes:
            if n.done_on is None:
                self.node.addItem(
                    f"{n.seq}. {n.name}（{n.department_name}，截止 {n.due_on}）", n.id
                )
        self.kind = QComboBox(self)
        for kind in StepKind:
            self.kind.addItem(STEP_LABELS[kind], kind.value)
        self.on = _date_edit(self, today)
        self.note = QPlainTextEdit(self)
        self.note.setPlaceholderText("做了什么、联系了谁、遇到什么问题（办结可不填）")
        _form(
            self,
            [("审批事项", self.node), ("情况", self.kind), ("日期", self.on), ("说明", self.note)],
        )

    def values(self) -> tuple[str, StepKind, date, str]:
        return (
            str(self.node.currentData()),
            StepKind(self.kind.currentData()),
            _pydate(self.on.date()),
            self.note.toPlainText(),
        )


class HandoverDialog(QDialog):
    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("手续代办移交")
        self.recipient = QLineEdit(self)
        self.phone = QLineEdit(self)
        self.on = _date_edit(self, today)
        _form(
            self, [("企业委托人", self.recipient), ("联系电话", self.phone), ("移交日期", self.on)]
        )


class ProjectsView(QWidget):
    """The 代办员's (or supervisor's) working view of key projects."""

    loaded = Signal(object)  # ViewData
    acted = Signal(str)  # what was done, for tests and the status line
    failed = Signal(str)

    def __init__(
        self,
        engine: Engine,
        hall: str,
        hall_name: str,
        actor: ProjectActor,
        parent: QWidget | None = None,
        *,
        today: Callable[[], date] = date.today,
    ) -> None:
        super().__init__(parent)
        self.engine, self.hall, self.hall_name, self.actor = engine, hall, hall_name, actor
        self.today = today
        self.data: ViewData | None = None
        self._latest = Latest()  # an act's own reload is not undone by an older one
        self.selected: str | None = None
        self.step_dialog: StepDialog | None = None
        self.survey_screen: QWidget | None = None

        who = "监督管理人员" if actor.oversees else "代办员"
        title = QLabel(
            f"<h2>重点项目代办</h2><p>{hall_name}　{who} {actor.name}（{actor.staff_no}）"
            "　项目化、清单化、节点化：每个节点明确责任单位、责任人和办理时限</p>",
            self,
        )
        self.status = QLabel(self)
        self.status.setStyleSheet("color: #1b4e8a;")
        bar = QHBoxLayout()
        self.refresh_button = QPushButton("刷新", self)
        self.step_button = QPushButton("登记督导代办情况", self)
        self.intake_button = QPushButton("代办受理表", self)
        self.record_button = QPushButton("督导代办情况记录表", self)
        self.handover_button = QPushButton("手续代办移交", self)
        self.handover_form_button = QPushButton("手续代办移交表", self)
        self.survey_button = QPushButton("满意度测评（企业代表填写）", self)
        self.paper_button = QPushButton("录入纸质测评表", self)
        # The buttons that act on the chosen project (off while there is none).
        self.project_buttons = (
            self.step_button,
            self.intake_button,
            self.record_button,
            self.handover_button,
            self.handover_form_button,
            self.survey_button,
            self.paper_button,
        )
        for b in (self.refresh_button, *self.project_buttons):
            bar.addWidget(b)
        bar.addStretch(1)
        # 代办员: the weekly report (每周四); supervisors: the half-monthly one.
        self.report_kind = "half-month" if actor.oversees else "weekly"
        self.report_button = QPushButton("导出半月通报" if actor.oversees else "导出本周周报", self)
        bar.addWidget(self.report_button)

        self.projects_table = _table(
            self,
            [
                "项目编号",
                "项目名称",
                "投资方",
                "一级代办员",
                "节点",
                "已办结",
                "临期",
                "卡点",
                "状态",
            ],
        )
        self.header = QLabel(self)
        self.header.setWordWrap(True)
        self.nodes_table = _table(
            self,
            [
                "序号",
                "审批事项（节点）",
                "责任单位",
                "责任人",
                "时限",
                "截止日期",
                "办结日期",
                "状态",
            ],
        )
        self.steps_table = _table(self, ["日期", "审批事项", "情况", "说明", "登记人"])
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.header)
        rl.addWidget(
            QLabel("<b>审批节点</b>（红：逾期卡点；橙：逾期办结；黄：临期；绿：已办结）", right)
        )
        rl.addWidget(self.nodes_table, 3)
        rl.addWidget(QLabel("<b>督导代办情况记录</b>", right))
        rl.addWidget(self.steps_table, 2)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.projects_table)
        split.addWidget(right)
        split.setSizes([520, 980])

        self.tabs = QTabWidget(self)
        self.tabs.addTab(split, "代办项目")
        self.stuck_table = _table(
            self,
            [
                "责任单位",
                "责任人",
                "项目",
                "审批事项",
                "截止日期",
                "办结",
                "逾期（工作日）",
                "代办员",
            ],
        )
        self.tabs.addTab(self.stuck_table, "卡点倒查")
        self.discipline_table = _table(
            self, ["代办员", "工号", "项目", "测评日期", "方式", "连续次数", "处理"]
        )
        if actor.oversees:
            self.tabs.addTab(self.discipline_table, "测评处理（警告 / 诫勉谈话）")
        else:  # the list is for supervisors
            self.discipline_table.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

        self.refresh_button.clicked.connect(self.reload)
        self.projects_table.itemSelectionChanged.connect(self._picked)
        self.step_button.clicked.connect(self.open_step_dialog)
        self.intake_button.clicked.connect(lambda: self.issue_form("project_intake"))
        self.record_button.clicked.connect(lambda: self.issue_form("project_record"))
        self.handover_form_button.clicked.connect(lambda: self.issue_form("project_handover"))
        self.handover_button.clicked.connect(self.open_handover)
        self.survey_button.clicked.connect(lambda: self.open_survey())  # noqa: PLW0108
        self.paper_button.clicked.connect(lambda: self.open_survey(paper=True))
        # clicked(bool) would hand its flag over as the path: ask for one instead.
        self.report_button.clicked.connect(lambda: self.export_report())  # noqa: PLW0108
        self.reload()

    # ------------------------------------------------------------ loading

    def reload(self) -> None:
        engine, hall, actor, today, selected = (
            self.engine,
            self.hall,
            self.actor,
            self.today(),
            self.selected,
        )
        run_in_background(
            self,
            lambda: load_view_data(engine, hall, actor, today, selected),
            success=self._latest.only(self._show),
            failure=self._failed,
            label="读取重点项目",
        )

    def _failed(self, exc: BaseException) -> None:
        from hallapp.ui.errors import user_message

        message = user_message(exc, "重点项目代办")
        self.status.setStyleSheet("color: #a61b1b;")
        self.status.setText(message)
        self.failed.emit(message)

    def _show(self, data: ViewData) -> None:
        self.data = data
        self.projects_table.blockSignals(True)
        _fill(
            self.projects_table,
            [
                [
                    p.project_no,
                    p.name,
                    p.investor,
                    p.agent_name,
                    p.nodes,
                    p.done,
                    p.due_soon,
                    p.late,
                    p.state.label,
                ]
                for p in data.projects
            ],
            ["#f8d7da" if p.late else ("#fff3cd" if p.due_soon else None) for p in data.projects],
            keys=[p.id for p in data.projects],
        )
        d = data.detail
        self.selected = str(d.project["id"]) if d else None
        for i, p in enumerate(data.projects):
            if p.id == self.selected:
                self.projects_table.selectRow(i)
        self.projects_table.blockSignals(False)
        self._show_detail(d)
        _fill(
            self.stuck_table,
            [
                [
                    p.department_name or p.department_code,
                    p.responsible_name,
                    p.project_name,
                    p.node_name,
                    p.due_on,
                    p.done_on or "未办结",
                    p.days_late,
                    p.agent_name,
                ]
                for p in data.stuck
            ],
            ["#f8d7da" if p.done_on is None else "#fbe3c8" for p in data.stuck],
        )
        _fill(
            self.discipline_table,
            [
                [
                    e.agent_name,
                    e.agent_no,
                    e.project_name,
                    e.filled_on,
                    e.channel.label,
                    e.run,
                    e.consequence.label,
                ]
                for e in data.discipline
            ],
            ["#f8d7da" if e.run > 1 else "#fff3cd" for e in data.discipline],
        )
        self.tabs.setTabText(1, f"卡点倒查（{len(data.stuck)}）")
        self.loaded.emit(data)

    def _show_detail(self, d: ProjectDetail | None) -> None:
        if d is None:
            for b in self.project_buttons:
                b.setEnabled(False)
            self.header.setText("还没有代办项目。")
            _fill(self.nodes_table, [])
            _fill(self.steps_table, [])
            return
        mine = self.actor.oversees or str(d.project["agent_id"]) == self.actor.staff_id
        self.step_button.setEnabled(d.state is not ProjectState.HANDED_OVER)
        self.intake_button.setEnabled(mine)
        self.record_button.setEnabled(mine)
        self.handover_button.setEnabled(mine and d.state is ProjectState.READY)
        self.handover_form_button.setEnabled(mine and d.state is ProjectState.HANDED_OVER)
        self.survey_button.setEnabled(True)
        # Never the rated 代办员 entering a paper survey of themself.
        self.paper_button.setEnabled(str(d.project["agent_id"]) != self.actor.staff_id)
        p = d.project
        seconds = "；".join(f"{k}：{v}" for k, v in d.second_agents.items()) or "—"
        leader = p["leader_name"] + (f"（{p['leader_title']}）" if p["leader_title"] else "")
        self.header.setText(
            f"<b>{p['project_no']}　{p['name']}</b>　{d.state.label}<br/>"
            f"投资方：{p['investor']}（联系人 {p['contact_name']} {p['contact_phone']}）　"
            f"指挥长：{leader}　"
            f"责任单位：{d.department_names.get(p['lead_unit'], p['lead_unit'])}<br/>"
            f"一级代办员：{d.agent_name}　二级代办员：{seconds}"
        )
        _fill(
            self.nodes_table,
            [
                [
                    n.seq,
                    n.name,
                    n.department_name or n.department_code,
                    n.responsible_name,
                    f"{n.limit_days}个工作日" if n.limit_days is not None else "限定日期",
                    n.due_on,
                    n.done_on or "",
                    n.state.label
                    + (
                        f"（{n.days_late}个工作日）"
                        if n.days_late
                        else (f"（剩{n.days_left}个工作日）" if n.done_on is None else "")
                    ),
                ]
                for n in d.nodes
            ],
            [STATE_COLOURS.get(n.state) for n in d.nodes],
        )
        names = {n.id: n.name for n in d.nodes}
        _fill(
            self.steps_table,
            [
                [s.happened_on, names.get(s.node_id, ""), s.kind.label, s.note, s.staff_name]
                for s in d.steps
            ],
        )

    def _picked(self) -> None:
        rows = self.projects_table.selectionModel().selectedRows()
        if not rows:
            return
        item = self.projects_table.item(rows[0].row(), 0)
        key = item.data(Qt.ItemDataRole.UserRole) if item else None
        if key and key != self.selected:
            self.selected = str(key)
            self.reload()

    # ------------------------------------------------------------ acting

    def _act(self, label: str, work: Callable[[], Any], done: str) -> None:
        def ok(_result: Any) -> None:
            self.status.setStyleSheet("color: #1b6e2a;")
            self.status.setText(done)
            self.acted.emit(done)
            self.reload()

        run_in_background(self, work, success=ok, failure=self._failed, label=label)

    def _ask_path(self, title: str, name: str, filters: str) -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(self, title, name, filters)
        return Path(chosen) if chosen else None

    def _context(self) -> tuple[Engine, str, ProjectActor, date, str]:
        """What a background job needs, read on the GUI thread (never from the worker)."""
        return self.engine, self.hall, self.actor, self.today(), self.hall_name

    def open_step_dialog(self) -> None:
        if self.data is None or self.data.detail is None:
            return
        dialog = StepDialog(self.data.detail, self.today(), self)
        self.step_dialog = dialog
        dialog.accepted.connect(lambda: self.record(*dialog.values()))
        dialog.open()

    def record(self, node_id: str, kind: StepKind, on: date, note: str) -> None:
        from hallapp.projects.register import record_step

        engine, hall, actor, today = self.engine, self.hall, self.actor, self.today()

        def work() -> None:
            with engine.begin() as c:
                record_step(
                    c, hall, actor, node_id, kind=kind, note=note, happened_on=on, today=today
                )

        self._act("登记督导代办情况", work, f"已登记：{kind.label}")

    def open_handover(self) -> None:
        if self.data is None or self.data.detail is None:
            return
        dialog = HandoverDialog(self.today(), self)
        dialog.accepted.connect(
            lambda: self.hand_over(
                dialog.recipient.text(), dialog.phone.text(), _pydate(dialog.on.date())
            )
        )
        dialog.open()

    def hand_over(self, recipient: str, phone: str, on: date) -> None:
        from hallapp.projects.register import hand_over

        engine, hall, actor = self.engine, self.hall, self.actor
        project_id = self.selected
        assert project_id is not None

        def work() -> None:
            with engine.begin() as c:
                hand_over(
                    c, hall, actor, project_id, recipient=recipient, recipient_phone=phone, on=on
                )

        self._act("手续代办移交", work, f"已办理手续代办移交，接收人 {recipient}")

    def issue_form(self, form: str, path: Path | None = None) -> None:
        """Number and store the form, then write its PDF where the user says."""
        from hallapp.printing.project_forms import render_form_pdf

        from hallapp.projects.forms import FormType, issue_form

        if self.selected is None:
            return
        kind = FormType(form)
        target = path or self._ask_path(f"保存{kind.label}", f"{kind.label}.pdf", "PDF (*.pdf)")
        if target is None:
            return
        engine, hall, actor, today, name = self._context()
        project_id = self.selected

        def work() -> str:
            with engine.begin() as c:
                issued = issue_form(c, hall, actor, project_id, kind, hall_name=name, today=today)
            target.write_bytes(render_form_pdf(issued.content))
            return issued.doc_no

        def ok(doc_no: str) -> None:
            done = f"已出具{kind.label} {doc_no}，已保存到 {target}"
            self.status.setStyleSheet("color: #1b6e2a;")
            self.status.setText(done)
            self.acted.emit(done)

        run_in_background(self, work, success=ok, failure=self._failed, label=kind.label)

    def open_survey(self, *, paper: bool = False) -> None:
        """The 测评表 on the citizen-facing screen, for the enterprise's representative
        (``paper``: here, to enter a paper form, marked as such)."""
        from hallapp.ui.projects_survey import SurveyScreen

        if self.data is None or self.data.detail is None:
            return
        d = self.data.detail
        screen = SurveyScreen(
            d.project["name"], d.agent_name, self.hall_name, today=self.today(), paper=paper
        )
        screen.submitted.connect(self.record_survey)
        self.survey_screen = screen
        if paper:
            screen.show()
            return
        from PySide6.QtGui import QGuiApplication

        screens = QGuiApplication.screens()
        if len(screens) > 1:  # the citizen screen is the second one, as at a window
            screen.setGeometry(screens[1].geometry())
            screen.showFullScreen()
        else:
            screen.show()

    def record_survey(self, survey: Any) -> None:
        from hallapp.projects.survey import record_survey

        engine, hall, today = self.engine, self.hall, self.today()
        project_id = self.selected
        assert project_id is not None

        entered_by = self.actor if survey.channel is Channel.PAPER else None

        def work() -> None:
            with engine.begin() as c:
                record_survey(c, hall, project_id, survey, entered_by=entered_by, today=today)

        def ok(_r: Any) -> None:
            if self.survey_screen is not None:
                self.survey_screen.thank()  # type: ignore[attr-defined]
            self.status.setStyleSheet("color: #1b6e2a;")
            self.status.setText("已收到企业代表的满意度测评")
            self.acted.emit("测评")
            self.reload()

        def bad(exc: BaseException) -> None:
            from hallapp.ui.errors import user_message

            if self.survey_screen is not None:
                self.survey_screen.refuse(user_message(exc, "满意度测评"))  # type: ignore[attr-defined]
            self._failed(exc)

        run_in_background(self, work, success=ok, failure=bad, label="满意度测评")

    def export_report(self, path: Path | None = None) -> None:
        """The weekly or half-monthly report as PDF or xlsx (by the file's suffix)."""
        from hallapp.printing.publish import write_tables

        from hallapp.reports.projects import build_report

        target = path or self._ask_path(
            "导出报表", "重点项目代办.pdf", "PDF (*.pdf);;Excel (*.xlsx)"
        )
        if target is None:
            return
        engine, hall, actor, today, name = self._context()
        kind = self.report_kind

        def work() -> str:
            with engine.connect() as c:
                period, tables, title, subtitle = build_report(
                    c, hall, actor, kind, today, today=today
                )
            write_tables(tables, target, hall_name=name, title=title, subtitle=subtitle)
            return f"已导出{title}（{period.label}）到 {target}"

        def ok(done: str) -> None:
            self.status.setStyleSheet("color: #1b6e2a;")
            self.status.setText(done)
            self.acted.emit(done)

        run_in_background(self, work, success=ok, failure=self._failed, label="导出报表")
