"""Key projects' reports: the weekly report of each 代办员, the half-monthly project
status, the 卡点 list (倒查) and the 警告 / 诫勉谈话 list — as report tables, so
they export to PDF and xlsx like every other report.

The periods come from the seeds:

- weekly (seed 002 八.2): "代办员每周四下午向发改局重点办上报本周工作进展情况，包括
  代办项目审批进度和项目进展过程中遇到的问题". The week reported on a Thursday
  runs from the Friday before through that Thursday;
- half-monthly (seed 002, 五个一分包制度 三): "各指挥部于每月12日、25日（遇节假日
  提前）……报送上半月及当月项目建设进展情况". The periods are the 26th of the
  month before through the 12th, and the 13th through the 25th; the report
  is due on the 12th / 25th, or the last working day before it when that day
  is not a working day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, and_, select

from hallapp.projects.register import (
    STEP_LABELS,
    ProjectActor,
    StepKind,
    projects,
    stuck_points,
    stuck_tally,
)
from hallapp.projects.survey import discipline_list
from hallapp.reports.tables import Cell, ReportTable
from hallapp.sync.schema import HALL, central_table
from hallapp.workdays import WorkCalendar, default_calendar

THURSDAY = 3


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    due: date  # when the report is handed in

    @property
    def label(self) -> str:
        return f"{_cn(self.start)}至{_cn(self.end)}"


def _cn(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def week_of(on: date) -> Period:
    """The reporting week containing ``on``: Friday through Thursday, due that Thursday."""
    end = on + timedelta(days=(THURSDAY - on.weekday()) % 7)
    return Period(start=end - timedelta(days=6), end=end, due=end)


def _on_or_before_working(d: date, calendar: WorkCalendar) -> date:
    while not calendar.is_working_day(d):
        d -= timedelta(days=1)
    return d


def half_month_of(on: date, calendar: WorkCalendar | None = None) -> Period:
    """The half-month containing ``on``: 26th (month before) – 12th, or 13th – 25th."""
    cal = calendar or default_calendar()
    if 13 <= on.day <= 25:
        start, end = on.replace(day=13), on.replace(day=25)
    else:
        end_month = on if on.day <= 12 else (on.replace(day=28) + timedelta(days=7))
        end = end_month.replace(day=12)
        start = (end.replace(day=1) - timedelta(days=1)).replace(day=26)
    return Period(start=start, end=end, due=_on_or_before_working(end, cal))


def _steps_in(
    conn: Connection, hall: str, period: Period, project_ids: list[str]
) -> list[list[Cell]]:
    ps = central_table("project_steps")
    pn = central_table("project_nodes")
    kp = central_table("key_projects")
    st = central_table("staff")
    if not project_ids:
        return []
    rows = conn.execute(
        select(
            ps.c.happened_on,
            kp.c.project_no,
            kp.c.name,
            pn.c.name.label("node"),
            ps.c.kind,
            ps.c.note,
            st.c.name.label("by"),
        )
        .select_from(
            ps.join(pn, and_(pn.c[HALL] == ps.c[HALL], pn.c.id == ps.c.node_id))
            .join(kp, and_(kp.c[HALL] == ps.c[HALL], kp.c.id == ps.c.project_id))
            .outerjoin(st, and_(st.c[HALL] == ps.c[HALL], st.c.id == ps.c.staff_id))
        )
        .where(
            ps.c[HALL] == hall,
            ps.c.project_id.in_(project_ids),
            ps.c.happened_on >= period.start,
            ps.c.happened_on <= period.end,
        )
        .order_by(ps.c.happened_on, kp.c.project_no, pn.c.seq, ps.c.created_at)
    )
    return [
        [
            str(r.happened_on),
            r.project_no,
            r.name,
            r.node,
            STEP_LABELS[StepKind(r.kind)],
            r.note,
            r.by or "",
        ]
        for r in rows
    ]


def weekly_report(
    conn: Connection,
    hall: str,
    agent: ProjectActor,
    on: date,
    calendar: WorkCalendar | None = None,
    *,
    today: date | None = None,
) -> tuple[Period, list[ReportTable]]:
    """代办员周报 (seed 002 八.2): progress of each project, this week's records, problems.

    States are as at the period's end, or as today while the period runs.
    """
    period = week_of(on)
    as_of = min(period.end, today or date.today())
    mine = [
        p
        for p in projects(conn, hall, agent, as_of, calendar)
        if agent.oversees or p.agent_id == agent.staff_id
    ]
    ids = [p.id for p in mine]
    steps = _steps_in(conn, hall, period, ids)
    done_this_week: dict[str, int] = {}
    for row in steps:
        if row[4] == STEP_LABELS[StepKind.DONE]:
            done_this_week[str(row[1])] = done_this_week.get(str(row[1]), 0) + 1
    progress = ReportTable(
        key="审批进度",
        title=f"代办项目审批进度（截至{_cn(as_of)}）",
        header=[
            "项目编号",
            "项目名称",
            "投资方",
            "指挥长",
            "节点数",
            "已办结",
            "本周办结",
            "临期",
            "卡点",
            "状态",
        ],
        rows=[
            [
                p.project_no,
                p.name,
                p.investor,
                p.leader_name,
                p.nodes,
                p.done,
                done_this_week.get(p.project_no, 0),
                p.due_soon,
                p.late,
                p.state.label,
            ]
            for p in mine
        ],
        notes=[
            "卡点：超过办理时限的节点（未办结的，或逾期办结的），按责任单位和责任人倒查。",
            "临期：未办结且距截止日期不超过 2 个工作日。",
        ],
    )
    record = ReportTable(
        key="本周督导代办",
        title=f"本周督导代办情况（{period.label}）",
        header=["日期", "项目编号", "项目名称", "审批事项", "情况", "说明", "登记人"],
        rows=steps,
    )
    problems = [
        r for r in steps if r[4] in (STEP_LABELS[StepKind.PROBLEM], STEP_LABELS[StepKind.ESCALATED])
    ]
    points = stuck_points(
        conn,
        hall,
        as_of,
        calendar=calendar,
        agent_id=None if agent.oversees else agent.staff_id,
    )
    issues = ReportTable(
        key="遇到的问题",
        title="项目进展过程中遇到的问题与卡点",
        header=["类别", "日期", "项目", "审批事项", "责任单位", "责任人", "说明"],
        rows=[["问题", r[0], r[2], r[3], "", "", r[5]] for r in problems]
        + [
            [
                "卡点",
                str(p.due_on),
                p.project_name,
                p.node_name,
                p.department_name or p.department_code,
                p.responsible_name,
                f"截止{_cn(p.due_on)}，"
                + (f"{_cn(p.done_on)}办结，" if p.done_on else "仍未办结，")
                + f"逾期{p.days_late}个工作日",
            ]
            for p in points
            if p.project_no in {m.project_no for m in mine}
        ],
    )
    return period, [progress, record, issues]


def half_month_status(
    conn: Connection,
    hall: str,
    on: date,
    calendar: WorkCalendar | None = None,
    *,
    today: date | None = None,
) -> tuple[Period, list[ReportTable]]:
    """半月通报: every project's status, the period's records, 卡点 by unit (倒查), discipline.

    States are as at the period's end, or as today while the period runs.
    """
    period = half_month_of(on, calendar)
    as_of = min(period.end, today or date.today())
    everything = projects(conn, hall, None, as_of, calendar)
    steps = _steps_in(conn, hall, period, [p.id for p in everything])
    status = ReportTable(
        key="项目情况",
        title=f"重点项目代办情况（截至{_cn(as_of)}）",
        header=[
            "项目编号",
            "项目名称",
            "投资方",
            "指挥长",
            "一级代办员",
            "受理日期",
            "节点数",
            "已办结",
            "临期",
            "卡点",
            "状态",
        ],
        rows=[
            [
                p.project_no,
                p.name,
                p.investor,
                p.leader_name,
                p.agent_name,
                str(p.accepted_on),
                p.nodes,
                p.done,
                p.due_soon,
                p.late,
                p.state.label,
            ]
            for p in everything
        ],
        notes=[f"本期：{period.label}；报送日 {_cn(period.due)}（每月12日、25日，遇节假日提前）。"],
    )
    record = ReportTable(
        key="本期督导代办",
        title=f"本期督导代办情况（{period.label}）",
        header=["日期", "项目编号", "项目名称", "审批事项", "情况", "说明", "登记人"],
        rows=steps,
    )
    return period, [
        status,
        record,
        stuck_table(conn, hall, as_of, calendar),
        discipline_table(conn, hall),
    ]


def stuck_table(
    conn: Connection,
    hall: str,
    today: date,
    calendar: WorkCalendar | None = None,
) -> ReportTable:
    """卡点考评 (seed 000 §二): per responsible unit and person, and each node behind it."""
    points = stuck_points(conn, hall, today, calendar=calendar)
    tally = stuck_tally(points)
    rows: list[list[Cell]] = [
        [
            t.department_name or t.department_code,
            t.responsible_name,
            t.nodes,
            t.open_now,
            "",
            "",
            "",
            "",
        ]
        for t in tally
    ]
    rows += [
        [
            p.department_name or p.department_code,
            p.responsible_name,
            "",
            "",
            p.project_name,
            p.node_name,
            str(p.due_on),
            (str(p.done_on) if p.done_on else f"未办结（逾期{p.days_late}个工作日）"),
        ]
        for p in points
    ]
    return ReportTable(
        key="卡点倒查",
        title=f"卡点考评：逾期节点的责任单位和责任人（截至{_cn(today)}）",
        header=[
            "责任单位",
            "责任人",
            "卡点数",
            "其中未办结",
            "项目",
            "审批事项",
            "截止日期",
            "办结",
        ],
        rows=rows,
        notes=[
            "在哪个节点超过规定时限，即由这一“卡”点的责任单位和责任人承担（倒查）；"
            "逾期后办结的节点仍记为卡点。"
        ],
    )


def discipline_table(conn: Connection, hall: str) -> ReportTable:
    entries = discipline_list(conn, hall)
    return ReportTable(
        key="测评处理",
        title="代办员满意度测评：非常不满意的处理（警告 / 诫勉谈话）",
        header=["代办员", "工号", "项目", "测评日期", "方式", "连续次数", "处理"],
        rows=[
            [
                e.agent_name,
                e.agent_no,
                e.project_name,
                str(e.filled_on),
                e.channel.label,
                e.run,
                e.consequence.label,
            ]
            for e in entries
        ],
        notes=[
            "测评表七项中任一项为“非常不满意”，即为该次测评“非常不满意”。",
            "“连续”指同一代办员按填写先后的相邻测评（不论项目和方式）；"
            "第一次给予警告，连续两次及以上给予诫勉谈话并写出书面检查（示范区代办员制度 六）。",
        ],
    )


def build_report(
    conn: Connection, hall: str, actor: ProjectActor, kind: str, on: date, *, today: date
) -> tuple[Period, list[ReportTable], str, str]:
    """``weekly`` (the actor's own 周报) or ``half-month`` (半月通报): the period, the
    tables, the title and the subtitle, as the CLI and the view export them."""
    if kind == "weekly":
        period, tables = weekly_report(conn, hall, actor, on, today=today)
        return (
            period,
            tables,
            "代办员工作周报",
            (f"代办员 {actor.name}（{actor.staff_no}）　{period.label}　报送日 {_cn(period.due)}"),
        )
    if kind == "half-month":
        period, tables = half_month_status(conn, hall, on, today=today)
        return period, tables, "重点项目代办半月通报", (f"{period.label}　报送日 {_cn(period.due)}")
    raise ValueError(f"unknown report kind {kind!r}")
