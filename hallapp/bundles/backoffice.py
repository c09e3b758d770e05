"""A department's back office (并联审批) on the central store.

A back-office staff member (role ``back_office``, tied to a department)
signs in at the centre, sees the sub-cases of bundles routed to the
department with their working-day deadlines, and records its decision:
approve, refuse (with reasons) or ask for a material. The request goes back
through the window (the window stays the one door; the applicant is never
contacted from here). Each decision is a case event written at the centre
for the case's window (``centre_outbox``), which the window applies on its
next pull.

The one-time rule holds across departments (seed 000 §六; seed 002 追责 5):
a material the department asks for that the bundle's first 一次性告知书 did
not demand (or any, when the bundle was accepted as complete) is a
violation, recorded against that department.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from hallapp.bundles.catalog import material_key
from hallapp.bundles.state import SubCaseFacts, SubCaseState, is_late, sub_case_facts
from hallapp.models import CaseEventKind, Role
from hallapp.security import verify_password
from hallapp.sync.centre import add_fact_for_window, serialise
from hallapp.sync.schema import HALL, central_table
from hallapp.workdays import hall_date

log = logging.getLogger(__name__)

REASON_MAX = 500


class BackOfficeError(Exception):
    """A back-office step cannot be done; the message says why, in Chinese."""


@dataclass(frozen=True)
class BackOfficer:
    staff_id: str
    staff_no: str
    name: str
    department_code: str
    department_name: str


@dataclass(frozen=True)
class SubCase:
    case_id: str
    case_no: str
    bundle_no: str
    bundle_name: str
    item_code: str
    item_name: str
    applicant_name: str
    window_code: str
    limit_days: int
    deadline: date
    state: SubCaseState
    late: bool
    reasons: tuple[str, ...]
    requested: tuple[str, ...]
    urges: int
    last_urged_on: date | None


def sign_in(central: Engine, hall_code: str, staff_no: str, password: str) -> BackOfficer:
    """The back-office staff member, or BackOfficeError (never says which part was wrong)."""
    st, dep = central_table("staff"), central_table("departments")
    with central.connect() as c:
        row = c.execute(
            select(
                st.c.id,
                st.c.staff_no,
                st.c.name,
                st.c.role,
                st.c.password_hash,
                st.c.active,
                st.c.department_code,
                dep.c.name.label("dep_name"),
            )
            .join(dep, (dep.c[HALL] == st.c[HALL]) & (dep.c.code == st.c.department_code))
            .where(st.c[HALL] == hall_code, st.c.staff_no == staff_no.strip())
        ).first()
    if row is None or not row.active or not verify_password(row.password_hash, password):
        log.warning("back-office sign-in refused for staff_no=%r of hall %s", staff_no, hall_code)
        raise BackOfficeError("工号或密码不正确，请重新输入")
    if row.role != Role.BACK_OFFICE.value:
        raise BackOfficeError(
            f"工号 {row.staff_no} 不是部门后台审批人员，不能登录部门后台。"
            "窗口工作人员请在窗口客户端登录，监督管理人员请用监督管理端"
        )
    return BackOfficer(
        str(row.id), str(row.staff_no), str(row.name), str(row.department_code), str(row.dep_name)
    )


def _events(conn: Connection, hall_code: str, case_ids: Sequence[str]) -> dict[str, list[Any]]:
    ev = central_table("case_events")
    out: dict[str, list[Any]] = {cid: [] for cid in case_ids}
    if not case_ids:
        return out
    for row in conn.execute(
        select(ev.c.id, ev.c.case_id, ev.c.kind, ev.c.data, ev.c.created_at, ev.c.seq)
        .where(ev.c[HALL] == hall_code, ev.c.case_id.in_(list(case_ids)))
        .order_by(ev.c.created_at, ev.c.seq)
    ):
        out[str(row.case_id)].append(row)
    return out


def _sub_cases(
    conn: Connection, hall_code: str, department_code: str, today: date, case_id: str | None = None
) -> list[SubCase]:
    m, c = central_table("bundle_case_members"), central_table("cases")
    bc, b = central_table("bundle_cases"), central_table("bundles")
    it, ap = central_table("service_items"), central_table("applicants")
    q = (
        select(
            m.c.case_id,
            m.c.limit_days,
            m.c.deadline,
            m.c.item_code,
            c.c.case_no,
            c.c.window_code,
            bc.c.bundle_no,
            b.c.name.label("bundle_name"),
            it.c.name.label("item_name"),
            ap.c.name.label("applicant_name"),
        )
        .join(c, (c.c[HALL] == m.c[HALL]) & (c.c.id == m.c.case_id))
        .join(bc, (bc.c[HALL] == m.c[HALL]) & (bc.c.id == m.c.bundle_case_id))
        .join(b, (b.c[HALL] == m.c[HALL]) & (b.c.code == bc.c.bundle_code))
        .join(it, (it.c[HALL] == m.c[HALL]) & (it.c.code == m.c.item_code))
        .join(ap, (ap.c[HALL] == m.c[HALL]) & (ap.c.id == bc.c.applicant_id))
        .where(m.c[HALL] == hall_code, m.c.department_code == department_code)
        .order_by(m.c.deadline, c.c.case_no)
    )
    if case_id is not None:
        q = q.where(m.c.case_id == case_id)
    rows = conn.execute(q).all()
    events = _events(conn, hall_code, [str(r.case_id) for r in rows])
    out = []
    for r in rows:
        facts: SubCaseFacts = sub_case_facts(events[str(r.case_id)])
        deadline = r.deadline if isinstance(r.deadline, date) else date.fromisoformat(r.deadline)
        out.append(
            SubCase(
                case_id=str(r.case_id),
                case_no=r.case_no,
                bundle_no=r.bundle_no,
                bundle_name=r.bundle_name,
                item_code=r.item_code,
                item_name=r.item_name,
                applicant_name=r.applicant_name,
                window_code=r.window_code,
                limit_days=r.limit_days,
                deadline=facts.deadline(deadline),
                state=facts.state,
                late=is_late(deadline, facts, today),
                reasons=facts.reasons,
                requested=facts.requested,
                urges=facts.urges,
                last_urged_on=facts.last_urged_on,
            )
        )
    return out


def queue(
    central: Engine, hall_code: str, officer: BackOfficer, *, today: date | None = None
) -> list[SubCase]:
    """The sub-cases routed to the officer's department, soonest deadline first."""
    day = today or hall_date(datetime.now(UTC))
    with central.connect() as conn:
        return _sub_cases(conn, hall_code, officer.department_code, day)


def _decide(
    central: Engine,
    hall_code: str,
    officer: BackOfficer,
    case_id: str,
    *,
    kind: CaseEventKind,
    data: dict[str, Any],
    now: datetime | None,
) -> SubCase:
    at = now or datetime.now(UTC)
    with central.begin() as conn:
        # Two back-office PCs deciding one sub-case at once (准予 and 不予许可)
        # would each read it undecided on a PostgreSQL centre and both write:
        # the sub-case's lock, taken before it is read, makes the second wait
        # and then see the first decision.
        serialise(conn, "case", hall_code, case_id)
        found = _sub_cases(conn, hall_code, officer.department_code, hall_date(at), case_id)
        if not found:
            # Another department's sub-case, or none at all: the same answer.
            raise BackOfficeError("该子件不属于本部门，或已不存在，请刷新待办列表")
        sub = found[0]
        if sub.state.decided:
            raise BackOfficeError(f"该子件已{sub.state.label}，不能再作决定")
        if sub.state is SubCaseState.RECEIVED:
            raise BackOfficeError("该一件事尚未受理，不能办理")
        if (
            kind is CaseEventKind.MATERIAL_REQUESTED
            and sub.state is SubCaseState.MATERIAL_REQUESTED
        ):
            raise BackOfficeError("已要求补充材料，窗口尚未转来：请等待窗口转交后再办理")
        ev = central_table("case_events")
        seq = conn.scalar(
            select(func.coalesce(func.max(ev.c.seq), 0)).where(
                ev.c[HALL] == hall_code, ev.c.case_id == case_id
            )
        )
        base = {
            "department": officer.department_code,
            "department_name": officer.department_name,
            "staff_no": officer.staff_no,
            "on_time": not is_late(sub.deadline, _undecided(), hall_date(at)),
        }
        values = {
            "case_id": case_id,
            "seq": int(seq or 0) + 1,
            "kind": kind.value,
            "staff_id": officer.staff_id,
            "data": base | data,
            "created_at": at,
        }
        add_fact_for_window(conn, hall_code, sub.window_code, "case_events", values)
        if kind is CaseEventKind.MATERIAL_REQUESTED:
            new = _new_demands(conn, hall_code, case_id, data["materials"])
            if new:
                violation = {
                    "case_id": case_id,
                    "seq": int(seq or 0) + 2,
                    "kind": CaseEventKind.ONE_TIME_VIOLATION.value,
                    "staff_id": officer.staff_id,
                    "created_at": at,
                    "data": base | {"new_demands": new, "by": "back_office"},
                }
                add_fact_for_window(conn, hall_code, sub.window_code, "case_events", violation)
                log.warning(
                    "one-time rule broken by %s on %s: %d new demands",
                    officer.department_code,
                    sub.case_no,
                    len(new),
                )
        log.info("sub-case %s: %s by %s", sub.case_no, kind.value, officer.staff_no)
        return _sub_cases(conn, hall_code, officer.department_code, hall_date(at), case_id)[0]


def _undecided() -> SubCaseFacts:
    return SubCaseFacts(SubCaseState.PENDING, None, None, (), (), 0, None)


def _new_demands(
    conn: Connection, hall_code: str, case_id: str, materials: Sequence[str]
) -> list[str]:
    """Materials the bundle's first 一次性告知书 did not demand of this member."""
    ev = central_table("case_events")
    demanded: set[str] = set()
    for (data,) in conn.execute(
        select(ev.c.data).where(
            ev.c[HALL] == hall_code,
            ev.c.case_id == case_id,
            ev.c.kind == CaseEventKind.SUPPLEMENT_REQUESTED.value,
        )
    ):
        demanded.update((data or {}).get("demanded_names", ()))
    return [m for m in materials if material_key(m) not in demanded]


def _clean(texts: Sequence[str], what: str) -> list[str]:
    from hallapp.validation import hidden_character_problem

    out = [t.strip() for t in texts if t and t.strip()]
    for t in out:
        if len(t) > REASON_MAX:
            raise BackOfficeError(f"{what}“{t[:20]}…”有 {len(t)} 字，超过 {REASON_MAX} 字，请精简")
        # The reasons go onto the 一窗出件办理结果告知书 the applicant is handed
        # (行政许可法 第三十八条): a direction override or a terminal escape
        # would print something else than what the officer read.
        hidden = hidden_character_problem(t)
        if hidden:
            raise BackOfficeError(f"{what}{hidden}")
    return out


def approve(
    central: Engine,
    hall_code: str,
    officer: BackOfficer,
    case_id: str,
    *,
    note: str = "",
    now: datetime | None = None,
) -> SubCase:
    """准予许可."""
    data = {"note": note.strip()[:REASON_MAX]}
    return _decide(
        central,
        hall_code,
        officer,
        case_id,
        kind=CaseEventKind.DEPARTMENT_APPROVED,
        data=data,
        now=now,
    )


def refuse(
    central: Engine,
    hall_code: str,
    officer: BackOfficer,
    case_id: str,
    reasons: Sequence[str],
    *,
    now: datetime | None = None,
) -> SubCase:
    """不予许可, always with its reasons (行政许可法 第三十八条第二款)."""
    clean = _clean(reasons, "理由")
    if not clean:
        raise BackOfficeError("不予许可必须写明理由（《中华人民共和国行政许可法》第三十八条）")
    return _decide(
        central,
        hall_code,
        officer,
        case_id,
        kind=CaseEventKind.DEPARTMENT_REFUSED,
        data={"reasons": clean},
        now=now,
    )


def request_material(
    central: Engine,
    hall_code: str,
    officer: BackOfficer,
    case_id: str,
    materials: Sequence[str],
    *,
    reason: str = "",
    now: datetime | None = None,
) -> SubCase:
    """Ask for a material, through the window (it tells the applicant and forwards it)."""
    clean = _clean(materials, "材料")
    if not clean:
        raise BackOfficeError("请写明需要补充的材料名称")
    data = {"materials": clean, "reason": reason.strip()[:REASON_MAX]}
    return _decide(
        central,
        hall_code,
        officer,
        case_id,
        kind=CaseEventKind.MATERIAL_REQUESTED,
        data=data,
        now=now,
    )
