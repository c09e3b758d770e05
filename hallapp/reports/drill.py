"""Drill-down: the rows behind any number of a report, and on to a case's
events and documents.

Each function takes the same period, grouping and key as the figure it opens,
and filters with the same conditions, so the rows are exactly those counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from hallapp.evaluation import LEVEL_LABELS
from hallapp.logsetup import masked_texts
from hallapp.models import CaseEventKind, FollowUpStepKind, utcnow
from hallapp.reports.cases import (
    ACCEPTING,
    EVENT_FIGURES,
    deferred_overdue_condition,
    overdue_open_cases,
    promised_in_force,
)
from hallapp.reports.definitions import BAD_LEVELS, Definitions
from hallapp.reports.followups import (
    bad_in_period,
    describe_flags,
    follow_up_states,
    step_flags,
)
from hallapp.reports.periods import Period
from hallapp.reports.sql import (
    CASES,
    EVALUATIONS,
    EVENTS,
    ITEMS,
    STAFF,
    STEPS,
    counted,
    dimension,
    hall_day,
    in_hall,
)
from hallapp.workdays import WorkCalendar

LIMIT = 5000


@dataclass(frozen=True)
class Exclusion:
    """An upheld appeal: the decision, who made it and when."""

    note: str
    staff_no: str
    staff_name: str
    decided_at: datetime


@dataclass(frozen=True)
class EvaluationRow:
    id: str
    case_id: str
    case_no: str
    window_code: str
    staff_name: str
    item_code: str
    level: int
    reasons: tuple[str, ...]
    created_at: datetime
    follow_up: str  # "" for a good review
    due_on: date | None
    exclusion: Exclusion | None

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]


#: What part of an evaluation group a number stands for.
EVALUATION_SELECTIONS = ("all", "satisfied", "bad", "1", "2", "3", "4", "5", "excluded")


def evaluations_behind(
    conn: Connection,
    period: Period,
    by: str = "window",
    key: str | None = None,
    selection: str = "all",
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
    limit: int = LIMIT,
) -> list[EvaluationRow]:
    """The evaluations behind a tally number (``key`` None: every group).

    ``selection``: all counted ones, the satisfied, the 差评, one level, or
    ``excluded`` (upheld appeals, with the decision, who and when).
    """
    if selection not in EVALUATION_SELECTIONS:
        raise ValueError(f"selection must be one of {EVALUATION_SELECTIONS}")
    defs = definitions or Definitions()
    dim = dimension(by)
    e = EVALUATIONS
    f = step_flags(bad_in_period(period, hall))
    conds: list[Any] = [
        e.c.created_at >= period.start_utc,
        e.c.created_at < period.end_utc,
        *in_hall(e, hall),
    ]
    if key is not None:
        conds.append(e.c[dim.evaluation_column] == key)
    if selection == "excluded":
        conds.append(~counted(e))
    else:
        conds.append(counted(e))
    if selection == "satisfied":
        conds.append(e.c.level.in_(defs.satisfied_levels))
    elif selection == "bad":
        conds.append(e.c.level.in_(BAD_LEVELS))
    elif selection.isdigit():
        conds.append(e.c.level == int(selection))
    rows = conn.execute(
        select(e, f, STAFF.c.name.label("staff_name"))
        .select_from(
            e.outerjoin(f, f.c.evaluation_id == e.c.id).outerjoin(STAFF, STAFF.c.id == e.c.staff_id)
        )
        .where(*conds)
        .order_by(e.c.created_at, e.c.id)
        .limit(limit)
    ).all()
    exclusions = _exclusions(conn, [r.id for r in rows]) if selection == "excluded" else {}
    return [
        EvaluationRow(
            id=r.id,
            case_id=r.case_id,
            case_no=r.case_no,
            window_code=r.window_code,
            staff_name=r.staff_name or "",
            item_code=r.item_code,
            level=r.level,
            reasons=masked_texts(r.reasons),
            created_at=r.created_at,
            follow_up=describe_flags(r) if r.evaluation_id else "",
            due_on=r.due_on,
            exclusion=exclusions.get(r.id),
        )
        for r in rows
    ]


def _exclusions(conn: Connection, ids: list[str]) -> dict[str, Exclusion]:
    if not ids:
        return {}
    s = STEPS
    out: dict[str, Exclusion] = {}
    for r in conn.execute(
        select(s.c.evaluation_id, s.c.note, s.c.created_at, STAFF.c.staff_no, STAFF.c.name)
        .select_from(s.outerjoin(STAFF, STAFF.c.id == s.c.staff_id))
        .where(s.c.kind == FollowUpStepKind.APPEAL_UPHELD.value, s.c.evaluation_id.in_(ids))
    ):
        out[r.evaluation_id] = Exclusion(r.note, r.staff_no or "", r.name or "", r.created_at)
    return out


def follow_ups_behind(
    conn: Connection,
    period: Period,
    by: str = "window",
    key: str | None = None,
    figure: str = "bad",
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> list[EvaluationRow]:
    """The 差评 behind a follow-up figure (bad, called_back, rectified, closed,
    overdue, call_back_overdue, appeals_pending)."""
    defs = definitions or Definitions()
    if figure not in FOLLOW_UP_SELECTIONS:
        raise ValueError(f"figure must be one of {sorted(FOLLOW_UP_SELECTIONS)}")
    rows = evaluations_behind(
        conn, period, by, key, "bad", definitions=defs, hall=hall, limit=LIMIT
    )
    # The same states as the figures (followups.follow_up_figures), so the
    # rows behind a number are that number.
    states = follow_up_states(
        conn, [r.id for r in rows], definitions=defs, hall=hall, now=now, calendar=calendar
    )
    return [
        r
        for r in rows
        if (f := states.get(r.id)) is not None
        and not f.upheld
        and (figure == "bad" or bool(getattr(f, figure)))
    ]


FOLLOW_UP_SELECTIONS = (
    "bad",
    "verified",
    "called_back",
    "rectified",
    "closed",
    "overdue",
    "call_back_overdue",
    "appeals_pending",
)


@dataclass(frozen=True)
class CaseRow:
    id: str
    case_no: str
    window_code: str
    item_code: str
    item_name: str
    first_responder: str
    received_at: datetime
    promised_date: str | None  # in force at the period's end
    completed_on: str | None


CASE_SELECTIONS = (
    "received",
    "accepted",
    "completed",
    "on_time",
    "completed_late",
    "overdue_open",
    "one_time_notices",
    "violations",
    "extensions",
    "deferred_overdue",
)


def cases_behind(
    conn: Connection,
    period: Period,
    by: str = "window",
    key: str | None = None,
    figure: str = "received",
    *,
    hall: str | None = None,
    now: datetime | None = None,
    limit: int = LIMIT,
) -> list[CaseRow]:
    """The cases behind a case figure, each once (an event figure lists its cases)."""
    if figure not in CASE_SELECTIONS:
        raise ValueError(f"figure must be one of {CASE_SELECTIONS}")
    dim = dimension(by)
    as_of = period.as_of(now or utcnow())
    c = CASES
    ev = EVENTS.alias("ev")
    in_period = [ev.c.created_at >= period.start_utc, ev.c.created_at < period.end_utc]
    if figure == "received":
        cond: Any = and_(c.c.created_at >= period.start_utc, c.c.created_at < period.end_utc)
    elif figure == "overdue_open":
        cond = c.c.id.in_(overdue_open_cases(period, as_of, hall))
    elif figure == "deferred_overdue":
        cond = exists().where(
            and_(ev.c.case_id == c.c.id, deferred_overdue_condition(ev, period, as_of))
        )
    else:
        if figure == "accepted":
            kind: Any = ev.c.kind.in_(ACCEPTING)
        elif figure in ("on_time", "completed_late"):
            kind = ev.c.kind == CaseEventKind.COMPLETED.value
            promised = promised_in_force(ev.c.case_id)
            day = hall_day(ev.c.created_at)
            kind = and_(kind, day <= promised if figure == "on_time" else day > promised)
        else:
            kind = ev.c.kind == EVENT_FIGURES[figure]
        cond = exists().where(and_(ev.c.case_id == c.c.id, kind, *in_period))
    done = EVENTS.alias("done")
    completed_day = (
        select(hall_day(done.c.created_at))
        .where(done.c.case_id == c.c.id, done.c.kind == CaseEventKind.COMPLETED.value)
        .limit(1)
        .scalar_subquery()
    )
    conds = [cond, *in_hall(c, hall)]
    if key is not None:
        conds.append(c.c[dim.case_column] == key)
    rows = conn.execute(
        select(
            c.c.id,
            c.c.case_no,
            c.c.window_code,
            c.c.item_code,
            ITEMS.c.name.label("item_name"),
            STAFF.c.name.label("staff_name"),
            c.c.created_at,
            promised_in_force(c.c.id, period.end_utc).label("promised"),
            completed_day.label("completed_on"),
        )
        .select_from(
            c.outerjoin(ITEMS, ITEMS.c.code == c.c.item_code).outerjoin(
                STAFF, STAFF.c.id == c.c.first_responder_id
            )
        )
        .where(*conds)
        .order_by(c.c.created_at, c.c.case_no)
        .limit(limit)
    ).all()
    return [
        CaseRow(
            id=r.id,
            case_no=r.case_no,
            window_code=r.window_code,
            item_code=r.item_code,
            item_name=r.item_name or "",
            first_responder=r.staff_name or "",
            received_at=r.created_at,
            promised_date=r.promised,
            completed_on=r.completed_on,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class EventRow:
    created_at: datetime
    kind: str
    staff_name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class DocumentRow:
    id: str
    doc_type: str
    doc_no: str
    created_at: datetime


@dataclass(frozen=True)
class CaseDetail:
    case: CaseRow | None
    events: list[EventRow]
    documents: list[DocumentRow]
    evaluations: list[EvaluationRow]


def case_detail(conn: Connection, case_id: str) -> CaseDetail:
    """A case's events, documents and evaluations, for the last step of a drill-down."""
    from hallapp.models import IssuedDocument
    from hallapp.reports.sql import table

    docs_t = table(IssuedDocument)
    c = CASES
    head = conn.execute(
        select(
            c.c.id,
            c.c.case_no,
            c.c.window_code,
            c.c.item_code,
            ITEMS.c.name,
            STAFF.c.name,
            c.c.created_at,
        )
        .select_from(
            c.outerjoin(ITEMS, ITEMS.c.code == c.c.item_code).outerjoin(
                STAFF, STAFF.c.id == c.c.first_responder_id
            )
        )
        .where(c.c.id == case_id)
    ).first()
    events = [
        EventRow(r.created_at, r.kind, r.name or "", dict(r.data or {}))
        for r in conn.execute(
            select(EVENTS.c.created_at, EVENTS.c.kind, EVENTS.c.data, STAFF.c.name)
            .select_from(EVENTS.outerjoin(STAFF, STAFF.c.id == EVENTS.c.staff_id))
            .where(EVENTS.c.case_id == case_id)
            .order_by(EVENTS.c.created_at, EVENTS.c.seq)
        )
    ]
    promised = max(
        (str(ev.data["promised_date"]) for ev in events if "promised_date" in ev.data),
        default=None,
    )
    completed = next(
        (ev.created_at for ev in events if ev.kind == CaseEventKind.COMPLETED.value), None
    )
    documents = [
        DocumentRow(r.id, r.doc_type, r.doc_no, r.created_at)
        for r in conn.execute(
            select(docs_t.c.id, docs_t.c.doc_type, docs_t.c.doc_no, docs_t.c.created_at)
            .where(docs_t.c.case_id == case_id)
            .order_by(docs_t.c.created_at)
        )
    ]
    e = EVALUATIONS
    mine = EVALUATIONS.alias("mine")
    f = step_flags(select(mine.c.id).where(mine.c.case_id == case_id))
    evaluations = [
        EvaluationRow(
            id=r.id,
            case_id=r.case_id,
            case_no=r.case_no,
            window_code=r.window_code,
            staff_name="",
            item_code=r.item_code,
            level=r.level,
            reasons=masked_texts(r.reasons),
            created_at=r.created_at,
            follow_up=describe_flags(r) if r.evaluation_id else "",
            due_on=r.due_on,
            exclusion=None,
        )
        for r in conn.execute(
            select(e, f)
            .select_from(e.outerjoin(f, f.c.evaluation_id == e.c.id))
            .where(e.c.case_id == case_id)
            .order_by(e.c.created_at)
        )
    ]
    exclusions = _exclusions(conn, [x.id for x in evaluations])
    evaluations = [
        EvaluationRow(**{**x.__dict__, "exclusion": exclusions.get(x.id)}) for x in evaluations
    ]
    row = None
    if head is not None:
        from hallapp.workdays import hall_date

        row = CaseRow(
            id=head[0],
            case_no=head[1],
            window_code=head[2],
            item_code=head[3],
            item_name=head[4] or "",
            first_responder=head[5] or "",
            received_at=head[6],
            promised_date=promised,
            completed_on=hall_date(completed).isoformat() if completed else None,
        )
    return CaseDetail(row, events, documents, evaluations)
