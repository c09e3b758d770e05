"""并联审批 by department: sub-cases on time and late, every 催办, and the 倒查 list.

A sub-case (hallapp.bundles) is on time when its department decided it by
its deadline (the decision event carries ``on_time``, judged where it was
written, with the count restarted after a material it asked for was
forwarded), late when it decided after, and overdue when still undecided
after the routed deadline (unless it asked for a material: then it is judged
at its decision). The month's 倒查 list names every sub-case a department
sat on past its limit (seed 000 §五: 每月…汇总、梳理、倒查; §七: 限时办结).

Grouped in the database, on the local or the central store alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, select

from hallapp.models import BundleCase, BundleCaseMember, CaseEventKind
from hallapp.reports.periods import Period
from hallapp.reports.sql import CASES, DEPARTMENTS, EVENTS, ITEMS, hall_column, in_hall, table
from hallapp.reports.tables import Cell, ReportTable

MEMBERS = table(BundleCaseMember)
BUNDLE_CASES = table(BundleCase)
DECISIONS = (CaseEventKind.DEPARTMENT_APPROVED.value, CaseEventKind.DEPARTMENT_REFUSED.value)


@dataclass(frozen=True)
class DepartmentBundleFigures:
    department_code: str
    department_name: str
    sub_cases: int
    on_time: int
    late: int  # decided after the deadline
    overdue: int  # undecided, past the deadline
    open: int  # undecided, still within it
    urges: int
    violations: int  # one-time rule broken (later demands not in the first notice)

    @property
    def past_limit(self) -> int:
        return self.late + self.overdue


@dataclass(frozen=True)
class LateSubCase:
    department_code: str
    department_name: str
    case_no: str
    bundle_no: str
    item_name: str
    deadline: date
    decided: bool
    urges: int


def _decided(hall: str | None, *, on_time: bool = False) -> Any:
    """The sub-case has its department's decision (made by its deadline, with ``on_time``)."""
    ev = EVENTS.alias("on_time" if on_time else "dec")
    conds = [ev.c.case_id == MEMBERS.c.case_id, ev.c.kind.in_(DECISIONS)]
    if hall is not None:
        conds.append(hall_column(ev) == hall_column(MEMBERS))
    if on_time:
        conds.append(ev.c.data["on_time"].as_boolean().is_(True))
    return exists().where(*conds)


def _asked_for_material(hall: str | None) -> Any:
    """The department asked for a material: its count restarts when the window forwards
    it, so an undecided sub-case is judged at its decision (``on_time``), not by the
    routed deadline."""
    ev = EVENTS.alias("asked")
    conds = [ev.c.case_id == MEMBERS.c.case_id, ev.c.kind == CaseEventKind.MATERIAL_REQUESTED.value]
    if hall is not None:
        conds.append(hall_column(ev) == hall_column(MEMBERS))
    return exists().where(*conds)


def _routed_in(period: Period, hall: str | None) -> list[Any]:
    return [
        MEMBERS.c.created_at >= period.start_utc,
        MEMBERS.c.created_at < period.end_utc,
        *in_hall(MEMBERS, hall),
    ]


def department_figures(
    conn: Connection, period: Period, *, as_of: date, hall: str | None = None
) -> list[DepartmentBundleFigures]:
    """Per department, the sub-cases routed to it in ``period``, judged on ``as_of``."""
    decided, on_time = _decided(hall), _decided(hall, on_time=True)
    overdue = and_(~decided, ~_asked_for_material(hall), MEMBERS.c.deadline < as_of)

    def count_if(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    main = (
        select(
            MEMBERS.c.department_code,
            func.count().label("sub_cases"),
            count_if(on_time).label("on_time"),
            count_if(and_(decided, ~on_time)).label("late"),
            count_if(overdue).label("overdue"),
            count_if(and_(~decided, ~overdue)).label("open"),
        )
        .where(*_routed_in(period, hall))
        .group_by(MEMBERS.c.department_code)
    )
    rows = {r.department_code: r for r in conn.execute(main)}
    extra: dict[str, dict[str, int]] = {}
    for kind, key in (
        (CaseEventKind.URGED, "urges"),
        (CaseEventKind.ONE_TIME_VIOLATION, "violations"),
    ):
        e = EVENTS.alias(key)
        join = [e.c.case_id == MEMBERS.c.case_id]
        if hall is not None:
            join.append(hall_column(e) == hall_column(MEMBERS))
        q = (
            select(MEMBERS.c.department_code, func.count(e.c.id))
            .select_from(MEMBERS.join(e, and_(*join)))
            .where(e.c.kind == kind.value, *_routed_in(period, hall))
            .group_by(MEMBERS.c.department_code)
        )
        for dep, n in conn.execute(q):
            extra.setdefault(dep, {})[key] = int(n)
    names = {
        code: name
        for code, name in conn.execute(
            select(DEPARTMENTS.c.code, DEPARTMENTS.c.name).where(*in_hall(DEPARTMENTS, hall))
        )
    }
    out = []
    for dep in sorted(set(rows) | set(extra)):
        r = rows.get(dep)
        more = extra.get(dep, {})
        out.append(
            DepartmentBundleFigures(
                department_code=dep,
                department_name=str(names.get(dep, dep)),
                sub_cases=int(r.sub_cases) if r else 0,
                on_time=int(r.on_time) if r else 0,
                late=int(r.late) if r else 0,
                overdue=int(r.overdue) if r else 0,
                open=int(r.open) if r else 0,
                urges=more.get("urges", 0),
                violations=more.get("violations", 0),
            )
        )
    return out


def late_list(
    conn: Connection, period: Period, *, as_of: date, hall: str | None = None
) -> list[LateSubCase]:
    """倒查: the month's sub-cases a department sat on past its limit."""
    decided, on_time = _decided(hall), _decided(hall, on_time=True)
    overdue = and_(~decided, ~_asked_for_material(hall), MEMBERS.c.deadline < as_of)
    u = EVENTS.alias("urge")
    urges = (
        select(func.count(u.c.id))
        .where(
            u.c.case_id == MEMBERS.c.case_id,
            u.c.kind == CaseEventKind.URGED.value,
            *([hall_column(u) == hall_column(MEMBERS)] if hall is not None else []),
        )
        .scalar_subquery()
    )
    case_join = [CASES.c.id == MEMBERS.c.case_id]
    bc_join = [BUNDLE_CASES.c.id == MEMBERS.c.bundle_case_id]
    item_join = [ITEMS.c.code == MEMBERS.c.item_code]
    dep_join = [DEPARTMENTS.c.code == MEMBERS.c.department_code]
    if hall is not None:
        case_join.append(hall_column(CASES) == hall_column(MEMBERS))
        bc_join.append(hall_column(BUNDLE_CASES) == hall_column(MEMBERS))
        item_join.append(hall_column(ITEMS) == hall_column(MEMBERS))
        dep_join.append(hall_column(DEPARTMENTS) == hall_column(MEMBERS))
    q = (
        select(
            MEMBERS.c.department_code,
            DEPARTMENTS.c.name,
            CASES.c.case_no,
            BUNDLE_CASES.c.bundle_no,
            ITEMS.c.name.label("item_name"),
            MEMBERS.c.deadline,
            decided.label("decided"),
            urges.label("urges"),
        )
        .select_from(
            MEMBERS.join(CASES, and_(*case_join))
            .join(BUNDLE_CASES, and_(*bc_join))
            .join(ITEMS, and_(*item_join))
            .join(DEPARTMENTS, and_(*dep_join))
        )
        .where(*_routed_in(period, hall))
        .where((decided & ~on_time) | overdue)
        .order_by(MEMBERS.c.department_code, MEMBERS.c.deadline, CASES.c.case_no)
    )
    return [
        LateSubCase(
            r.department_code,
            r.name,
            r.case_no,
            r.bundle_no,
            r.item_name,
            r.deadline,
            bool(r.decided),
            int(r.urges or 0),
        )
        for r in conn.execute(q)
    ]


def figures_table(rows: list[DepartmentBundleFigures]) -> ReportTable:
    """The per-department table as the supervisor view and the exports show it."""
    header = [
        "部门编码",
        "部门",
        "子件数",
        "按时办结",
        "超期办结",
        "超期未办",
        "办理中",
        "催办次数",
        "违反一次性告知",
    ]
    body: list[list[Cell]] = [
        [
            r.department_code,
            r.department_name,
            r.sub_cases,
            r.on_time,
            r.late,
            r.overdue,
            r.open,
            r.urges,
            r.violations,
        ]
        for r in rows
    ]
    return ReportTable(
        "并联审批",
        "并联审批分部门办理情况",
        header,
        body,
        [
            "子件：一件事受理后分送各部门的办件（抄告相关）；时限为该事项在一件事中的承诺时限，"
            "部门要求补充材料的，自窗口转交之日起重新计算。",
            "超期未办：截至统计日仍未作出决定且已过办结期限。",
        ],
    )


def late_table(rows: list[LateSubCase]) -> ReportTable:
    """倒查: the sub-cases departments sat on past their limit."""
    header = ["部门", "办件编号", "一件事编号", "事项", "办结期限", "现状", "催办次数"]
    body: list[list[Cell]] = [
        [
            r.department_name,
            r.case_no,
            r.bundle_no,
            r.item_name,
            r.deadline.isoformat(),
            "超期办结" if r.decided else "超期未办",
            r.urges,
        ]
        for r in rows
    ]
    return ReportTable(
        "倒查",
        "超期子件倒查名单",
        header,
        body,
        [
            "《连城县优化营商环境工作十项机制（试行）》五、首办负责制：“县行政服务中心每月"
            "对各窗口办理事项进行汇总、梳理、倒查”。"
        ],
    )
