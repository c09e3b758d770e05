"""差评 follow-up work: the supervisors' queue and its actions.

Every 差评 opens a follow-up (evaluation.py writes its OPENED step, due in
``follow_up.rectify_days`` working days). Here the work is done on it:

- 核实 verify, 回访 call back (due ``follow_up.call_back_days`` working days
  after the 差评, sooner than 整改), 整改 rectify, 办结 close — each with who,
  when and what was done (the note); close needs the call-back and the
  rectification, and is a supervisor's;
- 申诉 appeal: filed by the clerk evaluated or by a supervisor on the
  clerk's behalf; reviewed (成立 upheld / 不成立 refused) by a supervisor who
  is neither the one who filed it nor the clerk evaluated. An upheld appeal
  takes the evaluation out of every figure and ends the follow-up;
- overdue steps stand out in the queue (:attr:`QueueItem.overdue_steps`);
- every action is written to the audit log in its own transaction.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hallapp import audit
from hallapp.evaluation import LEVEL_LABELS, FollowUpError
from hallapp.logsetup import masked_texts
from hallapp.models import (
    Evaluation,
    FollowUpStep,
    FollowUpStepKind,
    Role,
    Staff,
    new_id,
    utcnow,
)
from hallapp.reports.followups import call_back_cutoff, describe_flags, step_flags
from hallapp.reports.sql import CASES, EVALUATIONS, ITEMS, OPEN_FOLLOW_UPS, STAFF, STEPS, in_hall
from hallapp.workdays import WorkCalendar, add_working_days, calendar_from_store, hall_date

log = logging.getLogger(__name__)

K = FollowUpStepKind
MAX_NOTE = 1000


class Action(enum.StrEnum):
    VERIFY = "verified"
    CALL_BACK = "called_back"
    RECTIFY = "rectified"
    CLOSE = "closed"
    APPEAL = "appealed"
    UPHOLD = "appeal_upheld"
    REFUSE = "appeal_rejected"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.VERIFY: "核实",
    Action.CALL_BACK: "回访",
    Action.RECTIFY: "整改",
    Action.CLOSE: "办结",
    Action.APPEAL: "申诉",
    Action.UPHOLD: "申诉成立",
    Action.REFUSE: "申诉不成立",
}


@dataclass(frozen=True)
class StepView:
    kind: str
    label: str
    staff_no: str
    staff_name: str
    at: datetime
    note: str


@dataclass(frozen=True)
class QueueItem:
    evaluation_id: str
    case_id: str
    case_no: str
    window_code: str
    item_name: str
    clerk_id: str
    clerk_name: str
    level: int
    reasons: tuple[str, ...]
    evaluated_at: datetime
    state: str
    due_on: date | None  # 整改 due
    call_back_due: date
    verified: bool
    called_back: bool
    rectified: bool
    closed: bool
    appeal_pending: bool
    upheld: bool
    today: date

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def overdue(self) -> bool:
        return bool(self.overdue_steps)

    @property
    def overdue_steps(self) -> tuple[str, ...]:
        """The steps whose due date has passed: these stand out in the queue."""
        if self.closed or self.upheld:
            return ()
        out = []
        if not self.called_back and self.today > self.call_back_due:
            out.append("回访")
        # 整改 done (a rectified step) is not late while the supervisor's
        # close is still to come: the queue says 已整改，待办结.
        if self.due_on is not None and self.today > self.due_on and not self.rectified:
            out.append("整改")
        return tuple(out)

    def allowed(self) -> tuple[Action, ...]:
        """The actions that make sense now (the rules are checked again on writing)."""
        if self.closed or self.upheld:
            return ()
        if self.appeal_pending:
            return (Action.UPHOLD, Action.REFUSE, Action.VERIFY, Action.CALL_BACK)
        acts = [Action.VERIFY, Action.CALL_BACK, Action.RECTIFY]
        if self.called_back and self.rectified:
            acts.append(Action.CLOSE)
        acts.append(Action.APPEAL)
        return tuple(acts)


def queue(
    conn: Connection,
    *,
    include_closed: bool = False,
    window: str | None = None,
    hall: str | None = None,
    call_back_days: int = 1,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
    limit: int = 2000,
) -> list[QueueItem]:
    """The 差评 follow-ups, overdue first, then by due date; at most ``limit``,
    the earliest due (:func:`queue_size` counts them all)."""
    day = today or hall_date(utcnow())
    if calendar is None:
        with Session(conn) as s:
            calendar = calendar_from_store(s)
    # Open follow-ups only: the first ``limit`` by due date from the table the
    # database keeps of them (hallapp.reports.caseroll), so the queue groups
    # the steps of those only, not of every follow-up still open.
    e = EVALUATIONS
    if include_closed:
        f = step_flags(None)
    else:
        o = OPEN_FOLLOW_UPS
        first = select(o.c.evaluation_id).where(*in_hall(o, hall))
        if window:
            w = EVALUATIONS.alias("w")
            first = first.join(w, w.c.id == o.c.evaluation_id).where(
                w.c.window_code == window, *in_hall(w, hall)
            )
        first = first.order_by(o.c.due_on.asc().nulls_last(), o.c.opened_at).limit(limit)
        f = step_flags(first)
    conds: list[Any] = [e.c.level <= 2, *in_hall(e, hall)]
    if not include_closed:
        conds += [f.c.closed == 0, f.c.upheld == 0]
    if window:
        conds.append(e.c.window_code == window)
    rows = conn.execute(
        select(e, f, STAFF.c.name.label("clerk_name"), ITEMS.c.name.label("item_name"))
        .select_from(
            e.join(f, f.c.evaluation_id == e.c.id)
            .outerjoin(STAFF, STAFF.c.id == e.c.staff_id)
            .outerjoin(ITEMS, ITEMS.c.code == e.c.item_code)
        )
        .where(*conds)
        .order_by(f.c.due_on, e.c.created_at)
        .limit(limit)
    ).all()
    items = []
    for r in rows:
        opened_day = hall_date(r.opened_at or r.created_at)
        items.append(
            QueueItem(
                evaluation_id=r.id,
                case_id=r.case_id,
                case_no=r.case_no,
                window_code=r.window_code,
                item_name=r.item_name or r.item_code,
                clerk_id=r.staff_id,
                clerk_name=r.clerk_name or "",
                level=r.level,
                reasons=masked_texts(r.reasons),
                evaluated_at=r.created_at,
                state="申诉成立，不计入统计" if r.upheld else describe_flags(r),
                due_on=r.due_on,
                call_back_due=add_working_days(opened_day, call_back_days, calendar).date,
                verified=bool(r.verified),
                called_back=bool(r.called_back),
                rectified=bool(r.rectified),
                closed=bool(r.closed),
                appeal_pending=bool(r.appealed) and not r.appeal_rejected and not r.upheld,
                upheld=bool(r.upheld),
                today=day,
            )
        )
    items.sort(key=lambda i: (not i.overdue, i.due_on or date.max, i.evaluated_at))
    return items


@dataclass(frozen=True)
class QueueSize:
    open: int  # follow-ups open (neither closed nor ended by an upheld appeal)
    overdue: int  # of which a step is past its due date (回访 or 整改)


def queue_size(
    conn: Connection,
    *,
    hall: str | None = None,
    call_back_days: int = 1,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
) -> QueueSize:
    """How many follow-ups are open and how many of them are overdue, the way
    :attr:`QueueItem.overdue` says (counted in the database, all of them)."""
    day = today or hall_date(utcnow())
    if calendar is None:
        with Session(conn) as s:
            calendar = calendar_from_store(s)
    o = OPEN_FOLLOW_UPS
    r = STEPS.alias("rectified")
    rectified = (
        select(r.c.evaluation_id)
        .where(
            r.c.kind == K.RECTIFIED.value,
            r.c.evaluation_id == o.c.evaluation_id,
            *in_hall(r, hall),
        )
        .exists()
    )
    late = or_(
        and_(o.c.due_on < day, ~rectified),  # as QueueItem.overdue_steps: 整改 not yet done
        and_(~o.c.called_back, o.c.opened_at < call_back_cutoff(day, call_back_days, calendar)),
    )
    row = conn.execute(
        select(func.count(), func.sum(case((late, 1), else_=0))).where(*in_hall(o, hall))
    ).one()
    return QueueSize(int(row[0]), int(row[1] or 0))


def steps(conn: Connection, evaluation_id: str) -> list[StepView]:
    """Every step of one follow-up with who, when and what."""
    s = STEPS
    return [
        StepView(
            kind=r.kind,
            label={K.OPENED.value: "开启"}.get(r.kind, "")
            or ACTION_LABELS.get(Action(r.kind), r.kind),
            staff_no=r.staff_no or "",
            staff_name=r.name or "系统",
            at=r.created_at,
            note=r.note,
        )
        for r in conn.execute(
            select(s.c.kind, s.c.created_at, s.c.note, STAFF.c.staff_no, STAFF.c.name)
            .select_from(s.outerjoin(STAFF, STAFF.c.id == s.c.staff_id))
            .where(s.c.evaluation_id == evaluation_id)
            .order_by(s.c.created_at)
        )
    ]


def act(
    session: Session,
    evaluation_id: str,
    action: Action | str,
    *,
    staff_id: str,
    note: str,
    window_code: str,
    now: datetime | None = None,
) -> FollowUpStep:
    """One action on a follow-up, checked against the steps before it, and audited.

    Raises :class:`hallapp.evaluation.FollowUpError` with the reason in Chinese.
    """
    try:
        action = Action(action)
    except ValueError:
        raise FollowUpError(f"未知的整改操作：{action}") from None
    text = note.strip()
    if not text:
        raise FollowUpError(f"请填写{action.label}情况说明（做了什么、结果如何）")
    if len(text) > MAX_NOTE:
        raise FollowUpError(f"说明过长（最多 {MAX_NOTE} 字）")
    central = _central_place(session, evaluation_id)
    if central is not None:
        from hallapp.sync.centre import serialise

        # Two supervisors deciding one appeal (or closing one follow-up) at
        # once on a PostgreSQL centre would each read the steps before the
        # other's and both write: the evaluation's lock, taken before the
        # steps are read, makes the second see the first and be refused.
        serialise(session.connection(), "follow_up", central[0], evaluation_id)
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise FollowUpError("找不到该评价，请刷新整改列表")
    actor = session.get(Staff, staff_id)
    if actor is None or not actor.active:
        raise FollowUpError("当前登录的人员无效，请重新登录")
    history = list(
        session.scalars(
            select(FollowUpStep)
            .where(FollowUpStep.evaluation_id == evaluation_id)
            .order_by(FollowUpStep.created_at)
        )
    )
    kinds = [K(s.kind) for s in history]
    if K.OPENED not in kinds:
        raise FollowUpError("该评价不是差评，没有整改跟踪")
    supervisor = Role(actor.role) in audit.audited_roles()
    if K.APPEAL_UPHELD in kinds:
        raise FollowUpError("申诉已成立，该评价不计入统计，整改跟踪已结束")
    if K.CLOSED in kinds:
        raise FollowUpError("整改跟踪已办结")
    pending = _pending_appeal(history)
    if action in (Action.CLOSE, Action.UPHOLD, Action.REFUSE) and not supervisor:
        raise FollowUpError("只有监督管理人员可以办结整改或审核申诉")
    if action in (Action.CLOSE, Action.UPHOLD, Action.REFUSE) and central is None \
            and _joined(session):
        # The centre refuses these from a joined window's push (they would
        # stop its upload): made at the centre, they carry its audit entry.
        raise FollowUpError(
            f"本窗口已接入中心库：{action.label}请在连接中心库的监督管理端办理"
        )
    if action is Action.CLOSE:
        if pending is not None:
            raise FollowUpError("申诉正在审核，审核后才能办结")
        missing = [
            label
            for kind, label in ((K.CALLED_BACK, "回访"), (K.RECTIFIED, "整改"))
            if kind not in kinds
        ]
        if missing:
            raise FollowUpError(f"尚未{'、'.join(missing)}，不能办结")
    if action is Action.APPEAL:
        if pending is not None:
            raise FollowUpError("该差评已有申诉在审核")
        if actor.id != evaluation.staff_id and not supervisor:
            raise FollowUpError("只有被评价的工作人员本人或监督管理人员可以提出申诉")
    if action in (Action.UPHOLD, Action.REFUSE):
        if pending is None:
            raise FollowUpError("没有待审核的申诉")
        if pending.staff_id == actor.id:
            raise FollowUpError("申诉须由提出申诉以外的另一位监督管理人员审核")
        if actor.id == evaluation.staff_id:
            raise FollowUpError("不能审核对自己的评价提出的申诉")
    when = now or utcnow()
    if history and when <= history[-1].created_at:
        # Steps are ordered by time: a clock behind the last step must not reorder them.
        when = history[-1].created_at
    step = FollowUpStep(
        id=new_id(),
        origin_window=window_code,
        created_at=when,
        evaluation_id=evaluation_id,
        kind=K(action.value),
        staff_id=actor.id,
        note=text,
    )
    detail = {"case_no": evaluation.case_no, "note": text, "level": evaluation.level}
    if central is not None:
        try:
            _act_at_centre(session, central, step, actor, action=action, detail=detail)
        except DBAPIError as exc:
            if getattr(getattr(exc, "orig", None), "sqlstate", None) != "P0001":
                raise
            # A server guard (trg_follow_up_steps_appeal_check, the owner
            # checks) refused the step: its words are English and for the
            # log; the supervisor is told what to do.
            log.warning("follow-up %s on %s refused by the centre: %s",
                        action.value, evaluation.case_no, exc.orig)
            raise FollowUpError(
                f"中心库拒绝了该{action.label}：该评价的整改跟踪刚被他人更改，请刷新整改列表后再办理"
            ) from None
    else:
        session.add(step)
        audit.record(session, actor, f"follow_up.{action.value}", evaluation_id, detail,
                     window_code=window_code)
    session.flush()
    log.info(
        "follow-up %s on %s by %s (%s)", action.value, evaluation.case_no, actor.staff_no, text
    )
    return step


def _joined(session: Session) -> bool:
    """Whether this window's own store has joined a centre (``window join``)."""
    from sqlalchemy import inspect, text

    from hallapp.sync.run import CENTRAL_URL_KEY

    conn = session.connection()
    if not inspect(conn).has_table("sync_state"):
        return False
    return conn.execute(
        text("SELECT 1 FROM sync_state WHERE key = :key AND value <> ''"),
        {"key": CENTRAL_URL_KEY},
    ).first() is not None


def _central_place(session: Session, evaluation_id: str) -> tuple[str, str] | None:
    """(hall, window) of the evaluation if ``session`` is on the central store
    (the supervisor view on an office PC), else None (a window's own store)."""
    from sqlalchemy import inspect, text

    conn = session.connection()
    if "hall_code" not in {c["name"] for c in inspect(conn).get_columns("evaluations")}:
        return None
    row = conn.execute(
        text("SELECT hall_code, origin_window FROM evaluations WHERE id = :id"),
        {"id": evaluation_id},
    ).first()
    return None if row is None else (str(row[0]), str(row[1]))


def _act_at_centre(
    session: Session,
    place: tuple[str, str],
    step: FollowUpStep,
    actor: Staff,
    *,
    action: Action,
    detail: dict[str, Any],
) -> None:
    """Write the step at the centre for the evaluation's window (it arrives
    there with the next pull, so the clerk's case detail shows it) and the
    audit entry as the centre's own, keyed by the hall as every central fact."""
    from hallapp.sync.centre import Actor, add_fact_for_window, audit
    from hallapp.sync.schema import CENTRE_ORIGIN

    hall, window = place
    conn = session.connection()
    step.origin_window = CENTRE_ORIGIN
    add_fact_for_window(conn, hall, window, "follow_up_steps", {
        "id": step.id, "created_at": step.created_at, "origin_window": CENTRE_ORIGIN,
        "evaluation_id": step.evaluation_id, "kind": K(step.kind).value,
        "staff_id": step.staff_id, "note": step.note,
    })
    audit(conn, hall, Actor(actor.staff_no, Role(actor.role).value),
          f"follow_up.{action.value}", target=step.evaluation_id, detail=detail)


def _pending_appeal(history: list[FollowUpStep]) -> FollowUpStep | None:
    pending: FollowUpStep | None = None
    for s in history:
        if s.kind == K.APPEALED:
            pending = s
        elif s.kind in (K.APPEAL_UPHELD, K.APPEAL_REJECTED):
            pending = None
    return pending


def case_ids(conn: Connection, evaluation_ids: list[str]) -> dict[str, str]:
    """evaluation id -> case id (for opening the case from the queue)."""
    if not evaluation_ids:
        return {}
    e = EVALUATIONS
    return {
        r.id: r.case_id
        for r in conn.execute(
            select(e.c.id, e.c.case_id)
            .select_from(e.join(CASES, CASES.c.id == e.c.case_id))
            .where(e.c.id.in_(evaluation_ids))
        )
    }
