"""The key project register: projects, their 代办员, their nodes and the steps on them.

All of it is append-only facts at the central store. A node's state (办理中,
临期, 已办结, 逾期) and a project's (代办中, 待移交, 已移交) are derived from the
steps and events, never stored.

Who may do what (seed 002 三、四):

- register a project (受理代办项目, 填写代办受理表): a 代办员 — who becomes its
  一级代办员 — or a supervisor of the 重点办, who names the 一级代办员;
- add nodes, name 二级代办员, hand over: the project's 一级代办员 or a supervisor;
- record a step (督导代办情况记录): the 一级代办员, the 二级代办员 of the node's
  department, or a supervisor.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Date, Row, and_, func, literal, or_, select, text
from sqlalchemy.sql import ColumnElement

from hallapp.models import Role, new_id
from hallapp.projects import ProjectError, ProjectNotAllowed
from hallapp.security import verify_password
from hallapp.sync.schema import CENTRE_ORIGIN, HALL, central_table
from hallapp.validation import (
    hidden_character_problem,
    one_line_problem,
    validate_phone,
    validate_uscc,
)
from hallapp.workdays import (
    MAX_WORKING_DAYS,
    WorkCalendar,
    add_working_days,
    working_days_between,
)

log = logging.getLogger(__name__)

PROJECT_ROLES = frozenset({Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMINISTRATOR.value})
OVERSEEING_ROLES = frozenset({Role.SUPERVISOR.value, Role.ADMINISTRATOR.value})
DUE_SOON_DAYS = 2


class StepKind(enum.StrEnum):
    """What a 督导代办情况记录 line says happened on a node (seed 002 五.3–4)."""

    PROGRESS = "progress"  # 进展：联系部门、材料报送、现场踏勘…
    URGED = "urged"  # 督促：催促责任单位按时限办结
    PROBLEM = "problem"  # 问题：遇到的困难
    ESCALATED = "escalated"  # 移交重点办 / 重点项目周例会研究
    DONE = "done"  # 办结：手续办理完毕，登记

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS = {
    StepKind.PROGRESS: "进展",
    StepKind.URGED: "督促办理",
    StepKind.PROBLEM: "遇到问题",
    StepKind.ESCALATED: "移交重点办/周例会",
    StepKind.DONE: "办结",
}


class NodeState(enum.StrEnum):
    OPEN = "open"
    DUE_SOON = "due_soon"
    LATE = "late"  # past its limit and not done: a 卡点 now
    DONE = "done"
    DONE_LATE = "done_late"  # done after its limit: a 卡点 on record

    @property
    def label(self) -> str:
        return NODE_LABELS[self]

    @property
    def stuck(self) -> bool:
        return self in (NodeState.LATE, NodeState.DONE_LATE)


NODE_LABELS = {
    NodeState.OPEN: "办理中",
    NodeState.DUE_SOON: "临期",
    NodeState.LATE: "逾期（卡点）",
    NodeState.DONE: "已办结",
    NodeState.DONE_LATE: "逾期办结（卡点）",
}


class ProjectState(enum.StrEnum):
    WORKING = "working"
    READY = "ready"  # every node done: 待移交
    HANDED_OVER = "handed_over"

    @property
    def label(self) -> str:
        return {"working": "代办中", "ready": "待移交", "handed_over": "已移交"}[self.value]


# ------------------------------------------------------------------ who acts


@dataclass(frozen=True)
class ProjectActor:
    staff_id: str
    staff_no: str
    name: str
    role: str
    department_code: str

    @property
    def oversees(self) -> bool:
        return self.role in OVERSEEING_ROLES


def sign_in(
    conn: Connection, hall: str, staff_no: str, password: str, *, clerk: bool = False
) -> ProjectActor:
    """A 代办员, supervisor or administrator of the hall with the right password;
    ``clerk``: a 窗口工作人员 too (entering a paper 测评表, nothing else)."""
    st = central_table("staff")
    row = conn.execute(
        select(st).where(st.c[HALL] == hall, st.c.staff_no == staff_no.strip())
    ).first()
    if row is None or not row.active or not verify_password(row.password_hash, password):
        log.warning("project sign-in refused for staff_no=%r of hall %s", staff_no, hall)
        raise ProjectNotAllowed("工号或密码不正确")
    if row.role not in PROJECT_ROLES and not (clerk and row.role == Role.CLERK.value):
        raise ProjectNotAllowed(
            f"工号 {staff_no} 是{Role(row.role).label}，重点项目代办只供代办员和监督管理人员使用"
        )
    return _actor(row)


def actor_by_no(conn: Connection, hall: str, staff_no: str) -> ProjectActor:
    """The person behind a staff number, without a password (already signed in)."""
    st = central_table("staff")
    row = conn.execute(
        select(st).where(st.c[HALL] == hall, st.c.staff_no == staff_no.strip())
    ).first()
    if row is None or not row.active:
        raise ProjectError(f"大厅 {hall} 没有在岗的工号 {staff_no}")
    return _actor(row)


def _actor(row: Row[Any]) -> ProjectActor:
    return ProjectActor(
        staff_id=str(row.id),
        staff_no=str(row.staff_no),
        name=str(row.name),
        role=str(row.role),
        department_code=str(row.department_code),
    )


# ------------------------------------------------------------------ input


@dataclass(frozen=True)
class ProjectInput:
    """What the 代办受理表 asks (seed 002 五.1) and the register needs (seed 002 "五个一")."""

    name: str
    investor: str
    contact_name: str
    contact_phone: str
    leader_name: str  # 指挥长 / 县级领导
    lead_unit: str  # department code of the 责任单位
    accepted_on: date
    leader_title: str = ""
    investor_uscc: str = ""
    summary: str = ""
    agent_no: str = ""  # 一级代办员; empty: the registering 代办员 themself


@dataclass(frozen=True)
class NodeInput:
    """One approval node: 责任单位, 责任人 and a limit in working days or a date."""

    name: str
    department_code: str
    responsible_name: str
    starts_on: date
    limit_days: int | None = None
    due_on: date | None = None
    responsible_phone: str = ""
    item_code: str = ""


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    """A one-line field as typed: refused with a hidden character (an ESC
    sequence, a direction override, a zero-width space), which would be
    printed raw to the terminal and on the 代办受理表, read there otherwise
    than stored, and cannot be written to an .xlsx 通报 — as department and
    staff names are."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ProjectError(f"请填写{what}")
        return value
    if len(value) > limit:
        raise ProjectError(f"{what}过长（最多 {limit} 个字）")
    if hidden := one_line_problem(value):
        raise ProjectError(f"{what}{hidden}")
    return value


def _note(value: str, what: str) -> str:
    """A text of several lines (摘要, 情况说明): line breaks kept, hidden
    characters refused."""
    value = (value or "").strip()
    if hidden := hidden_character_problem(value):
        raise ProjectError(f"{what}{hidden}")
    return value


def _phone(value: str, what: str) -> str:
    """An optional phone, as the contact's is checked: stored as dialled."""
    if not (value or "").strip():
        return ""
    checked = validate_phone(value)
    if not checked:
        raise ProjectError(f"{what}有误：{checked.reason}")
    return checked.value


def node_due(node: NodeInput, calendar: WorkCalendar | None = None) -> date:
    """The last day of a node's limit: the N-th working day after it starts
    (行政许可法 art. 82; the start day is not counted), or the date given."""
    if (node.limit_days is None) == (node.due_on is None):
        raise ProjectError(f"节点“{node.name}”请填写办理时限：工作日数或截止日期，二选一")
    if node.due_on is not None:
        if node.due_on < node.starts_on:
            raise ProjectError(
                f"节点“{node.name}”的截止日期 {node.due_on.isoformat()} "
                f"早于起始日期 {node.starts_on.isoformat()}"
            )
        return node.due_on
    assert node.limit_days is not None
    if not 0 <= node.limit_days <= MAX_WORKING_DAYS:
        raise ProjectError(
            f"节点“{node.name}”的办理时限应为 0–{MAX_WORKING_DAYS} 个工作日，"
            f"而不是 {node.limit_days}"
        )
    return add_working_days(node.starts_on, node.limit_days, calendar).date


def _department(conn: Connection, hall: str, code: str, what: str) -> None:
    dep = central_table("departments")
    found = conn.scalar(
        select(func.count()).select_from(dep).where(dep.c[HALL] == hall, dep.c.code == code)
    )
    if not found:
        raise ProjectError(f"{what}“{code}”不是本大厅的部门，请先在中心库添加该部门")


def _staff_of_role(conn: Connection, hall: str, staff_no: str, what: str) -> Row[Any]:
    st = central_table("staff")
    row = conn.execute(
        select(st).where(st.c[HALL] == hall, st.c.staff_no == staff_no.strip())
    ).first()
    if row is None or not row.active:
        raise ProjectError(f"{what}工号 {staff_no} 不存在或已停用")
    if row.role != Role.AGENT.value:
        raise ProjectError(f"{what}工号 {staff_no}（{row.name}）不是代办员，请先以代办员角色添加")
    return row


def _insert(conn: Connection, hall: str, table: str, values: dict[str, Any]) -> str:
    row = {
        HALL: hall,
        "id": new_id(),
        "origin_window": CENTRE_ORIGIN,
        "created_at": datetime.now(UTC),
        **values,
    }
    conn.execute(central_table(table).insert().values(row))
    return str(row["id"])


def _next_project_no(conn: Connection, hall: str, year: int) -> str:
    """LCXM20260001: per hall and year. Central facts have no unique keys (they
    are partitioned), so numbering is serialised: an advisory lock on
    PostgreSQL, the write lock on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"project_no:{hall}"}
        )
    kp = central_table("key_projects")
    prefix = f"{hall}XM{year}"
    count = conn.scalar(
        select(func.count())
        .select_from(kp)
        .where(kp.c[HALL] == hall, kp.c.project_no.like(f"{prefix}%"))
    )
    return f"{prefix}{int(count or 0) + 1:04d}"


# ------------------------------------------------------------------ writing


def register_project(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    data: ProjectInput,
    *,
    nodes: Sequence[NodeInput] = (),
    second_agents: dict[str, str] | None = None,
    calendar: WorkCalendar | None = None,
) -> str:
    """受理代办项目: the project, its nodes and its 二级代办员 (department → staff_no)."""
    if actor.role not in PROJECT_ROLES:
        raise ProjectNotAllowed("只有代办员和监督管理人员可以登记重点项目")
    values = {
        "name": _text(data.name, "项目名称", 200),
        "investor": _text(data.investor, "投资方（企业名称）", 200),
        "contact_name": _text(data.contact_name, "企业联系人", 50),
        "contact_phone": _text(data.contact_phone, "联系电话", 40),
        "leader_name": _text(data.leader_name, "指挥长（县级领导）", 50),
        "leader_title": _text(data.leader_title, "指挥长职务", 50, required=False),
        "lead_unit": _text(data.lead_unit, "责任单位", 32),
        "investor_uscc": data.investor_uscc.strip().upper()[:18],
        "summary": _note(data.summary, "项目概况"),
        "accepted_on": data.accepted_on,
    }
    if values["investor_uscc"]:
        uscc = validate_uscc(str(values["investor_uscc"]))
        if not uscc:
            raise ProjectError(uscc.reason)
        values["investor_uscc"] = uscc.value
    phone = validate_phone(str(values["contact_phone"]))
    if not phone:
        raise ProjectError(f"企业联系人电话有误：{phone.reason}")
    values["contact_phone"] = phone.value
    _department(conn, hall, str(values["lead_unit"]), "责任单位")
    if data.agent_no.strip():
        if not actor.oversees and data.agent_no.strip() != actor.staff_no:
            raise ProjectNotAllowed("代办员只能登记由本人担任一级代办员的项目")
        agent_id = str(_staff_of_role(conn, hall, data.agent_no, "一级代办员").id)
    elif actor.role == Role.AGENT.value:
        agent_id = actor.staff_id
    else:
        raise ProjectError("请指定一级代办员（代办员工号）")
    project_no = _next_project_no(conn, hall, data.accepted_on.year)
    project_id = _insert(
        conn,
        hall,
        "key_projects",
        {**values, "project_no": project_no, "agent_id": agent_id, "registered_by": actor.staff_id},
    )
    for department, staff_no in (second_agents or {}).items():
        assign_second_agent(conn, hall, actor, project_id, department=department, staff_no=staff_no)
    for node in nodes:
        add_node(conn, hall, actor, project_id, node, calendar=calendar)
    log.info("key project %s registered by %s", project_no, actor.staff_no)
    return project_id


def project_row(conn: Connection, hall: str, project_id: str) -> Row[Any]:
    kp = central_table("key_projects")
    row = conn.execute(select(kp).where(kp.c[HALL] == hall, kp.c.id == project_id)).first()
    if row is None:
        raise ProjectError("没有这个重点项目（可能已被撤销或编号有误）")
    return row


def project_by_no(conn: Connection, hall: str, project_no: str) -> Row[Any]:
    kp = central_table("key_projects")
    row = conn.execute(
        select(kp).where(kp.c[HALL] == hall, kp.c.project_no == project_no.strip())
    ).first()
    if row is None:
        raise ProjectError(f"没有编号为 {project_no} 的重点项目")
    return row


def second_agents(conn: Connection, hall: str, project_id: str) -> dict[str, str]:
    """department → staff id of its 二级代办员 (the latest assignment wins)."""
    pa = central_table("project_agents")
    rows = conn.execute(
        select(pa.c.department_code, pa.c.staff_id)
        .where(pa.c[HALL] == hall, pa.c.project_id == project_id)
        .order_by(pa.c.created_at, pa.c.id)
    )
    return {str(d): str(s) for d, s in rows}


def _require_lead(conn: Connection, hall: str, actor: ProjectActor, project: Row[Any]) -> None:
    if actor.oversees or project.agent_id == actor.staff_id:
        return
    raise ProjectNotAllowed(
        f"项目 {project.project_no} 的一级代办员不是您，只有一级代办员和监督管理人员可以这样做"
    )


def _require_open(conn: Connection, hall: str, project: Row[Any]) -> None:
    if handed_over(conn, hall, str(project.id)) is not None:
        raise ProjectError(f"项目 {project.project_no} 已办理手续代办移交，不能再修改")


def _lead_project(conn: Connection, hall: str, actor: ProjectActor, project_id: str) -> Row[Any]:
    """The project, if the actor leads it (or oversees) and it is not handed over yet."""
    project = project_row(conn, hall, project_id)
    _require_lead(conn, hall, actor, project)
    _require_open(conn, hall, project)
    return project


def assign_second_agent(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    project_id: str,
    *,
    department: str,
    staff_no: str,
) -> str:
    _lead_project(conn, hall, actor, project_id)
    _department(conn, hall, department, "审批部门")
    staff = _staff_of_role(conn, hall, staff_no, "二级代办员")
    return _insert(
        conn,
        hall,
        "project_agents",
        {
            "project_id": project_id,
            "department_code": department,
            "staff_id": str(staff.id),
            "assigned_by": actor.staff_id,
        },
    )


def add_node(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    project_id: str,
    node: NodeInput,
    *,
    calendar: WorkCalendar | None = None,
) -> str:
    _lead_project(conn, hall, actor, project_id)
    calendar = calendar or hall_calendar(conn, hall)
    name = _text(node.name, "节点（审批事项）名称", 200)
    _department(conn, hall, node.department_code, f"节点“{name}”的责任单位")
    responsible = _text(node.responsible_name, f"节点“{name}”的责任人", 50)
    due = node_due(node, calendar)
    pn = central_table("project_nodes")
    seq = conn.scalar(
        select(func.coalesce(func.max(pn.c.seq), 0)).where(
            pn.c[HALL] == hall, pn.c.project_id == project_id
        )
    )
    return _insert(
        conn,
        hall,
        "project_nodes",
        {
            "project_id": project_id,
            "seq": int(seq or 0) + 1,
            "name": name,
            "item_code": _text(node.item_code, f"节点“{name}”的事项编码", 64, required=False),
            "department_code": node.department_code,
            "responsible_name": responsible,
            "responsible_phone": _phone(node.responsible_phone, f"节点“{name}”责任人电话"),
            "starts_on": node.starts_on,
            "limit_days": node.limit_days,
            "due_on": due,
            "added_by": actor.staff_id,
        },
    )


def hall_calendar(conn: Connection, hall: str) -> WorkCalendar:
    """The built-in schedules plus the hall's, as loaded at the centre
    (``hallapp central workdays load``): a node's due date is counted on it."""
    from hallapp.workdays import ScheduleError, parse_schedule

    hs = central_table("holiday_schedules")
    schedules = []
    for year, source in conn.execute(
        select(hs.c.year, hs.c.source_text).where(hs.c[HALL] == hall).order_by(hs.c.year)
    ):
        try:
            schedule = parse_schedule(source)
        except ScheduleError:
            log.exception("central holiday schedule %s of hall %s does not parse", year, hall)
            continue
        if schedule.year == year:
            schedules.append(schedule)
    return WorkCalendar(schedules)


def node_row(conn: Connection, hall: str, node_id: str) -> Row[Any]:
    pn = central_table("project_nodes")
    row = conn.execute(select(pn).where(pn.c[HALL] == hall, pn.c.id == node_id)).first()
    if row is None:
        raise ProjectError("没有这个节点")
    return row


def record_step(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    node_id: str,
    *,
    kind: StepKind,
    note: str,
    happened_on: date,
    today: date | None = None,
) -> str:
    """督导代办情况记录: one line on a node; DONE closes it (办结登记)."""
    node = node_row(conn, hall, node_id)
    project = project_row(conn, hall, str(node.project_id))
    if not (actor.oversees or project.agent_id == actor.staff_id):
        seconds = second_agents(conn, hall, str(project.id))
        if seconds.get(str(node.department_code)) != actor.staff_id:
            raise ProjectNotAllowed(
                f"您不是项目 {project.project_no} 的一级代办员，也不是“{node.name}”"
                "所在部门的二级代办员"
            )
    _require_open(conn, hall, project)
    today = today or date.today()
    if happened_on > today:
        raise ProjectError(f"日期 {happened_on.isoformat()} 还没到，请填写已发生的日期")
    if happened_on < node.starts_on:
        raise ProjectError(
            f"日期 {happened_on.isoformat()} 早于节点开始日期 {node.starts_on.isoformat()}"
        )
    if done_on(conn, hall, node_id) is not None:
        raise ProjectError(f"节点“{node.name}”已办结，不能再登记")
    note = _note(note, "情况说明")
    if kind is not StepKind.DONE and not note:
        raise ProjectError("请填写情况说明（做了什么、遇到什么问题）")
    return _insert(
        conn,
        hall,
        "project_steps",
        {
            "project_id": str(project.id),
            "node_id": node_id,
            "kind": kind.value,
            "staff_id": actor.staff_id,
            "happened_on": happened_on,
            "note": note,
        },
    )


def done_on(conn: Connection, hall: str, node_id: str) -> date | None:
    ps = central_table("project_steps")
    value = conn.scalar(
        select(func.min(ps.c.happened_on)).where(
            ps.c[HALL] == hall, ps.c.node_id == node_id, ps.c.kind == StepKind.DONE.value
        )
    )
    return _as_date(value)


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def handed_over(conn: Connection, hall: str, project_id: str) -> Row[Any] | None:
    pe = central_table("project_events")
    return conn.execute(
        select(pe)
        .where(pe.c[HALL] == hall, pe.c.project_id == project_id, pe.c.kind == "handed_over")
        .order_by(pe.c.created_at)
    ).first()


def hand_over(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    project_id: str,
    *,
    recipient: str,
    recipient_phone: str,
    on: date,
    note: str = "",
) -> str:
    """手续代办移交 (seed 002 五.5): every node done, the file goes to the
    enterprise's 委托人."""
    _lead_project(conn, hall, actor, project_id)
    open_nodes = [n for n in nodes_of(conn, hall, project_id, on) if n.done_on is None]
    if open_nodes:
        names = "、".join(n.name for n in open_nodes)
        raise ProjectError(f"还有节点未办结：{names}。全部手续办结后才能移交")
    if not list(nodes_of(conn, hall, project_id, on)):
        raise ProjectError("项目还没有任何审批节点，不能移交")
    return _insert(
        conn,
        hall,
        "project_events",
        {
            "project_id": project_id,
            "kind": "handed_over",
            "staff_id": actor.staff_id,
            "data": {
                "recipient": _text(recipient, "企业委托人", 50),
                "recipient_phone": _phone(recipient_phone, "企业委托人电话"),
                "on": on.isoformat(),
                "note": _note(note, "移交说明"),
            },
        },
    )


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class NodeView:
    id: str
    project_id: str
    seq: int
    name: str
    department_code: str
    department_name: str
    responsible_name: str
    responsible_phone: str
    starts_on: date
    limit_days: int | None
    due_on: date
    done_on: date | None
    state: NodeState
    # Working days: left until due (>= 0) or, for a 卡点, how late (> 0).
    days_left: int
    days_late: int


def _done_subquery(hall: str) -> Any:
    ps = central_table("project_steps")
    return (
        select(ps.c.node_id, func.min(ps.c.happened_on).label("done_on"))
        .where(ps.c[HALL] == hall, ps.c.kind == StepKind.DONE.value)
        .group_by(ps.c.node_id)
        .subquery("done")
    )


@lru_cache(maxsize=4096)
def _default_days_between(a: date, b: date) -> int:
    # Many nodes share a due date: the hall's calendar is walked once per pair.
    return working_days_between(a, b)


def _days_between(a: date, b: date, calendar: WorkCalendar | None) -> int:
    if calendar is None:
        return _default_days_between(a, b)
    return working_days_between(a, b, calendar)


def _node_view(row: Row[Any], today: date, calendar: WorkCalendar | None) -> NodeView:
    due = _as_date(row.due_on)
    finished = _as_date(row.done_on)
    assert due is not None
    late = 0
    left = 0
    if finished is not None:
        late = max(0, _days_between(due, finished, calendar))
        state = NodeState.DONE_LATE if finished > due else NodeState.DONE
    elif today > due:
        late = max(1, _days_between(due, today, calendar))
        state = NodeState.LATE
    else:
        left = _days_between(today, due, calendar)
        state = NodeState.DUE_SOON if left <= DUE_SOON_DAYS else NodeState.OPEN
    starts = _as_date(row.starts_on)
    assert starts is not None
    return NodeView(
        id=str(row.id),
        project_id=str(row.project_id),
        seq=int(row.seq),
        name=str(row.name),
        department_code=str(row.department_code),
        department_name=str(row.department_name or ""),
        responsible_name=str(row.responsible_name),
        responsible_phone=str(row.responsible_phone or ""),
        starts_on=starts,
        limit_days=row.limit_days,
        due_on=due,
        done_on=finished,
        state=state,
        days_left=left,
        days_late=late,
    )


def _nodes_select(hall: str) -> Any:
    pn = central_table("project_nodes")
    dep = central_table("departments")
    done = _done_subquery(hall)
    return (
        select(pn, done.c.done_on, dep.c.name.label("department_name"))
        .select_from(
            pn.outerjoin(done, done.c.node_id == pn.c.id).outerjoin(
                dep, and_(dep.c[HALL] == pn.c[HALL], dep.c.code == pn.c.department_code)
            )
        )
        .where(pn.c[HALL] == hall)
    )


def nodes_of(
    conn: Connection,
    hall: str,
    project_id: str,
    today: date,
    calendar: WorkCalendar | None = None,
) -> list[NodeView]:
    pn = central_table("project_nodes")
    rows = conn.execute(_nodes_select(hall).where(pn.c.project_id == project_id).order_by(pn.c.seq))
    return [_node_view(r, today, calendar) for r in rows]


@dataclass(frozen=True)
class StepView:
    id: str
    node_id: str
    kind: StepKind
    staff_name: str
    happened_on: date
    note: str


def steps_of(conn: Connection, hall: str, project_id: str) -> list[StepView]:
    ps = central_table("project_steps")
    st = central_table("staff")
    rows = conn.execute(
        select(ps, st.c.name.label("staff_name"))
        .select_from(ps.outerjoin(st, and_(st.c[HALL] == ps.c[HALL], st.c.id == ps.c.staff_id)))
        .where(ps.c[HALL] == hall, ps.c.project_id == project_id)
        .order_by(ps.c.happened_on, ps.c.created_at)
    )
    out = []
    for r in rows:
        happened = _as_date(r.happened_on)
        assert happened is not None
        out.append(
            StepView(
                id=str(r.id),
                node_id=str(r.node_id),
                kind=StepKind(r.kind),
                staff_name=str(r.staff_name or ""),
                happened_on=happened,
                note=str(r.note),
            )
        )
    return out


@dataclass(frozen=True)
class ProjectSummary:
    id: str
    project_no: str
    name: str
    investor: str
    agent_id: str
    agent_name: str
    leader_name: str
    lead_unit: str
    accepted_on: date
    nodes: int
    done: int
    late: int  # 卡点 now or on record
    due_soon: int
    state: ProjectState


def visible_to(actor: ProjectActor, hall: str) -> ColumnElement[bool]:
    """Projects an agent works: as 一级代办员 or as a 二级代办员; supervisors: all."""
    kp = central_table("key_projects")
    if actor.oversees:
        return literal(True)
    pa = central_table("project_agents")
    return or_(
        kp.c.agent_id == actor.staff_id,
        kp.c.id.in_(
            select(pa.c.project_id).where(pa.c[HALL] == hall, pa.c.staff_id == actor.staff_id)
        ),
    )


def projects(
    conn: Connection,
    hall: str,
    actor: ProjectActor | None,
    today: date,
    calendar: WorkCalendar | None = None,
) -> list[ProjectSummary]:
    """The register as an agent (their own projects) or a supervisor (all) sees it."""
    kp = central_table("key_projects")
    st = central_table("staff")
    pe = central_table("project_events")
    stmt = (
        select(kp, st.c.name.label("agent_name"))
        .select_from(kp.outerjoin(st, and_(st.c[HALL] == kp.c[HALL], st.c.id == kp.c.agent_id)))
        .where(kp.c[HALL] == hall)
        .order_by(kp.c.accepted_on.desc(), kp.c.project_no.desc())
    )
    if actor is not None:
        stmt = stmt.where(visible_to(actor, hall))
    rows = list(conn.execute(stmt))
    ids = [str(r.id) for r in rows]
    pn = central_table("project_nodes")
    by_project: dict[str, list[NodeView]] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(_nodes_select(hall).where(pn.c.project_id.in_(ids))):
            by_project[str(r.project_id)].append(_node_view(r, today, calendar))
    handed = set()
    if ids:
        handed = {
            str(p)
            for (p,) in conn.execute(
                select(pe.c.project_id).where(
                    pe.c[HALL] == hall, pe.c.kind == "handed_over", pe.c.project_id.in_(ids)
                )
            )
        }
    out = []
    for r in rows:
        nodes = by_project[str(r.id)]
        done = sum(1 for n in nodes if n.done_on is not None)
        if str(r.id) in handed:
            state = ProjectState.HANDED_OVER
        elif nodes and done == len(nodes):
            state = ProjectState.READY
        else:
            state = ProjectState.WORKING
        accepted = _as_date(r.accepted_on)
        assert accepted is not None
        out.append(
            ProjectSummary(
                id=str(r.id),
                project_no=str(r.project_no),
                name=str(r.name),
                investor=str(r.investor),
                agent_id=str(r.agent_id),
                agent_name=str(r.agent_name or ""),
                leader_name=str(r.leader_name),
                lead_unit=str(r.lead_unit),
                accepted_on=accepted,
                nodes=len(nodes),
                done=done,
                late=sum(1 for n in nodes if n.state.stuck),
                due_soon=sum(1 for n in nodes if n.state is NodeState.DUE_SOON),
                state=state,
            )
        )
    return out


@dataclass(frozen=True)
class StuckPoint:
    """卡点 (seed 000 §二): a node past its limit, held against its unit and person."""

    project_no: str
    project_name: str
    node_name: str
    department_code: str
    department_name: str
    responsible_name: str
    due_on: date
    done_on: date | None
    days_late: int
    agent_name: str


def stuck_points(
    conn: Connection,
    hall: str,
    today: date,
    *,
    since: date | None = None,
    calendar: WorkCalendar | None = None,
    agent_id: str | None = None,
) -> list[StuckPoint]:
    """Every node past its limit (still open, or done late), for 倒查.

    Found in SQL where the data is; a node done late stays on the list, so a
    卡点 is never wiped by finishing the node afterwards. ``since`` keeps the
    nodes whose limit ran out on or after that day.
    """
    kp = central_table("key_projects")
    st = central_table("staff")
    base = _nodes_select(hall).subquery("n")
    day = literal(today, Date)
    stmt = (
        select(
            base, kp.c.project_no, kp.c.name.label("project_name"), st.c.name.label("agent_name")
        )
        .select_from(
            base.join(kp, and_(kp.c[HALL] == base.c[HALL], kp.c.id == base.c.project_id)).outerjoin(
                st, and_(st.c[HALL] == kp.c[HALL], st.c.id == kp.c.agent_id)
            )
        )
        .where(func.coalesce(base.c.done_on, day) > base.c.due_on)
        .order_by(base.c.department_code, base.c.due_on, kp.c.project_no)
    )
    if since is not None:
        stmt = stmt.where(base.c.due_on >= since)
    if agent_id is not None:
        stmt = stmt.where(kp.c.agent_id == agent_id)
    out = []
    for r in conn.execute(stmt):
        view = _node_view(r, today, calendar)
        out.append(
            StuckPoint(
                project_no=str(r.project_no),
                project_name=str(r.project_name),
                node_name=view.name,
                department_code=view.department_code,
                department_name=view.department_name,
                responsible_name=view.responsible_name,
                due_on=view.due_on,
                done_on=view.done_on,
                days_late=view.days_late,
                agent_name=str(r.agent_name or ""),
            )
        )
    return out


@dataclass(frozen=True)
class StuckTally:
    department_code: str
    department_name: str
    responsible_name: str
    nodes: int
    open_now: int


def stuck_tally(points: Iterable[StuckPoint]) -> list[StuckTally]:
    """卡点 per responsible unit and person (倒查), most first."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for p in points:
        c = counts.setdefault((p.department_code, p.department_name, p.responsible_name), [0, 0])
        c[0] += 1
        c[1] += p.done_on is None
    return sorted(
        (StuckTally(d, n, r, c[0], c[1]) for (d, n, r), c in counts.items()),
        key=lambda t: (-t.nodes, t.department_code, t.responsible_name),
    )


@dataclass
class ProjectDetail:
    project: dict[str, Any]
    agent_name: str
    second_agents: dict[str, str]  # department name → agent name
    nodes: list[NodeView]
    steps: list[StepView]
    handed_over: dict[str, Any] | None
    state: ProjectState = ProjectState.WORKING
    department_names: dict[str, str] = field(default_factory=dict)


def detail(
    conn: Connection,
    hall: str,
    project_id: str,
    today: date,
    *,
    calendar: WorkCalendar | None = None,
    actor: ProjectActor | None = None,
) -> ProjectDetail:
    project = project_row(conn, hall, project_id)
    if actor is not None and not actor.oversees:
        kp = central_table("key_projects")
        mine = conn.scalar(
            select(func.count())
            .select_from(kp)
            .where(kp.c[HALL] == hall, kp.c.id == project_id, visible_to(actor, hall))
        )
        if not mine:
            raise ProjectNotAllowed(f"项目 {project.project_no} 不是您代办的项目")
    st = central_table("staff")
    dep = central_table("departments")
    names = {
        str(i): str(n)
        for i, n in conn.execute(select(st.c.id, st.c.name).where(st.c[HALL] == hall))
    }
    deps = {
        str(c): str(n)
        for c, n in conn.execute(select(dep.c.code, dep.c.name).where(dep.c[HALL] == hall))
    }
    nodes = nodes_of(conn, hall, project_id, today, calendar)
    event = handed_over(conn, hall, project_id)
    done = sum(1 for n in nodes if n.done_on is not None)
    if event is not None:
        state = ProjectState.HANDED_OVER
    elif nodes and done == len(nodes):
        state = ProjectState.READY
    else:
        state = ProjectState.WORKING
    return ProjectDetail(
        project=dict(project._mapping),
        agent_name=names.get(str(project.agent_id), ""),
        second_agents={
            deps.get(d, d): names.get(s, s)
            for d, s in second_agents(conn, hall, project_id).items()
        },
        nodes=nodes,
        steps=steps_of(conn, hall, project_id),
        handed_over=dict(event.data) if event is not None else None,
        state=state,
        department_names=deps,
    )


__all__ = [
    "NodeInput",
    "NodeState",
    "NodeView",
    "ProjectActor",
    "ProjectDetail",
    "ProjectInput",
    "ProjectState",
    "ProjectSummary",
    "StepKind",
    "StuckPoint",
    "add_node",
    "assign_second_agent",
    "detail",
    "hand_over",
    "node_due",
    "projects",
    "record_step",
    "register_project",
    "sign_in",
    "stuck_points",
    "stuck_tally",
]
