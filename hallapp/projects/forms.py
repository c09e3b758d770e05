"""The forms of seed 002's workflow (五、工作流程), issued, numbered and kept for 补打.

- 代办受理表 (``project_intake``, 五.1): the enterprise's request and what is
  to be done for it — the project, the investor and its contact, the
  指挥长, the 责任单位, the 一级 and 二级代办员, and the approvals as nodes with
  their unit, person and limit (五.2 分解、指定代办人员、建立代办档案);
- 督导代办情况记录表 (``project_record``, 五.3–4): every step recorded on
  every node, and each node's 办结 date, or its 卡点;
- 手续代办移交表 (``project_handover``, 五.5): every approval done, the file
  handed to the enterprise's 委托人.

A form's content is built from the facts when it is issued and stored as it
was (``project_documents``); a reprint renders the stored content again with
its 补打 mark, never a fresh picture of a project that has moved on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from hallapp.projects import ProjectError
from hallapp.projects.register import (
    STEP_LABELS,
    ProjectActor,
    ProjectState,
    StepKind,
    _insert,
    detail,
)
from hallapp.sync.schema import HALL, central_table
from hallapp.workdays import WorkCalendar


class FormType(enum.StrEnum):
    INTAKE = "project_intake"
    RECORD = "project_record"
    HANDOVER = "project_handover"

    @property
    def label(self) -> str:
        return FORM_TITLES[self]

    @property
    def prefix(self) -> str:
        return {"project_intake": "代受", "project_record": "代记", "project_handover": "代移"}[
            self.value
        ]


FORM_TITLES = {
    FormType.INTAKE: "代办受理表",
    FormType.RECORD: "督导代办情况记录表",
    FormType.HANDOVER: "手续代办移交表",
}


def _next_doc_no(conn: Connection, hall: str, form: FormType, year: int) -> str:
    """E.g. LC代受字〔2026〕0001号, per hall, form and year; serialised like project numbers."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"project_doc:{hall}"}
        )
    pd = central_table("project_documents")
    prefix = f"{hall}{form.prefix}字〔{year}〕"
    count = conn.scalar(
        select(func.count())
        .select_from(pd)
        .where(pd.c[HALL] == hall, pd.c.doc_no.like(f"{prefix}%"))
    )
    return f"{prefix}{int(count or 0) + 1:04d}号"


def _fmt(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def build_content(
    conn: Connection,
    hall: str,
    project_id: str,
    form: FormType,
    *,
    hall_name: str,
    today: date,
    calendar: WorkCalendar | None = None,
) -> dict[str, Any]:
    """What the form shows, from the project's facts as they are ``today``."""
    d = detail(conn, hall, project_id, today, calendar=calendar)
    p = d.project
    if form is FormType.HANDOVER and d.state is ProjectState.WORKING:
        open_nodes = "、".join(n.name for n in d.nodes if n.done_on is None)
        raise ProjectError(f"还有手续未办结（{open_nodes}），不能出具手续代办移交表")
    staff = central_table("staff")
    phone = conn.scalar(
        select(staff.c.phone).where(staff.c[HALL] == hall, staff.c.id == p["agent_id"])
    )
    steps_by_node: dict[str, list[dict[str, str]]] = {}
    for s in d.steps:
        steps_by_node.setdefault(s.node_id, []).append(
            {
                "on": _fmt(s.happened_on),
                "kind": STEP_LABELS[s.kind],
                "note": s.note or ("手续办理完毕" if s.kind is StepKind.DONE else ""),
                "by": s.staff_name,
            }
        )
    nodes = [
        {
            "seq": n.seq,
            "name": n.name,
            "unit": n.department_name or n.department_code,
            "person": n.responsible_name
            + (f"（{n.responsible_phone}）" if n.responsible_phone else ""),
            "limit": (f"{n.limit_days}个工作日" if n.limit_days is not None else "限定日期"),
            "due": _fmt(n.due_on),
            "done": _fmt(n.done_on),
            "state": n.state.label,
            "late_days": n.days_late,
            "steps": steps_by_node.get(n.id, []),
        }
        for n in d.nodes
    ]
    handed = d.handed_over or {}
    return {
        "form": form.value,
        "title": form.label,
        "hall_name": hall_name,
        "project_no": p["project_no"],
        "project_name": p["name"],
        "investor": p["investor"],
        "investor_uscc": p["investor_uscc"],
        "contact": f"{p['contact_name']}　{p['contact_phone']}",
        "leader": p["leader_name"] + (f"（{p['leader_title']}）" if p["leader_title"] else ""),
        "lead_unit": d.department_names.get(p["lead_unit"], p["lead_unit"]),
        "agent": d.agent_name + (f"　{phone}" if phone else ""),
        "second_agents": [f"{dep}：{name}" for dep, name in d.second_agents.items()],
        "summary": p["summary"],
        "accepted_on": _fmt(
            p["accepted_on"]
            if isinstance(p["accepted_on"], date)
            else date.fromisoformat(str(p["accepted_on"]))
        ),
        "as_of": _fmt(today),
        "nodes": nodes,
        "recipient": handed.get("recipient", ""),
        "recipient_phone": handed.get("recipient_phone", ""),
        "handed_on": _fmt(date.fromisoformat(handed["on"])) if handed.get("on") else "",
    }


@dataclass(frozen=True)
class IssuedForm:
    id: str
    doc_no: str
    content: dict[str, Any]
    reprint_at: datetime | None = None


def issue_form(
    conn: Connection,
    hall: str,
    actor: ProjectActor,
    project_id: str,
    form: FormType,
    *,
    hall_name: str,
    today: date,
    calendar: WorkCalendar | None = None,
) -> IssuedForm:
    """Number the form, store its content as issued, return it for printing."""
    content = build_content(
        conn, hall, project_id, form, hall_name=hall_name, today=today, calendar=calendar
    )
    doc_no = _next_doc_no(conn, hall, form, today.year)
    content["doc_no"] = doc_no
    doc_id = _insert(
        conn,
        hall,
        "project_documents",
        {
            "project_id": project_id,
            "doc_type": form.value,
            "doc_no": doc_no,
            "staff_id": actor.staff_id,
            "content": content,
        },
    )
    return IssuedForm(id=doc_id, doc_no=doc_no, content=content)


def issued_forms(conn: Connection, hall: str, project_id: str) -> list[IssuedForm]:
    pd = central_table("project_documents")
    rows = conn.execute(
        select(pd.c.id, pd.c.doc_no, pd.c.content)
        .where(pd.c[HALL] == hall, pd.c.project_id == project_id)
        .order_by(pd.c.created_at)
    )
    return [IssuedForm(id=str(r.id), doc_no=str(r.doc_no), content=dict(r.content)) for r in rows]


def reprint(conn: Connection, hall: str, doc_no: str) -> IssuedForm:
    """补打: the stored content, marked as a reprint now."""
    pd = central_table("project_documents")
    row = conn.execute(
        select(pd.c.id, pd.c.doc_no, pd.c.content).where(
            pd.c[HALL] == hall, pd.c.doc_no == doc_no.strip()
        )
    ).first()
    if row is None:
        raise ProjectError(f"没有编号为 {doc_no} 的代办文书")
    return IssuedForm(
        id=str(row.id),
        doc_no=str(row.doc_no),
        content=dict(row.content),
        reprint_at=datetime.now(UTC),
    )
