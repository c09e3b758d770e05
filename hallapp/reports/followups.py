"""差评 work: the follow-up of every 差评, its figures and the quarterly accountability list.

A follow-up's state is read from its steps (append-only) in one grouped
subquery: which steps exist, when it was opened and when 整改 is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, select

from hallapp.logsetup import masked_texts
from hallapp.models import FollowUpStepKind, utcnow
from hallapp.reports.definitions import BAD_LEVELS, Definitions
from hallapp.reports.periods import Period, day_start_utc
from hallapp.reports.sql import (
    EVALUATION_TALLIES,
    EVALUATIONS,
    STAFF,
    STEPS,
    counted,
    dimension,
    group_names,
    in_days,
    in_hall,
    in_shown_order,
)
from hallapp.reports.tally import percent, percent_down
from hallapp.workdays import WorkCalendar, add_working_days, default_calendar, hall_date

K = FollowUpStepKind


def _has(kind: FollowUpStepKind) -> Any:
    return func.max(case((STEPS.c.kind == kind.value, 1), else_=0))


def bad_in_period(period: Period, hall: str | None = None, *extra: Any) -> Any:
    """The ids of the period's 差评 (to keep step_flags to the follow-ups wanted)."""
    x = EVALUATIONS.alias("bad_ev")
    conds = [cond(x) for cond in extra]
    return select(x.c.id).where(
        x.c.level.in_(BAD_LEVELS),
        x.c.created_at >= period.start_utc,
        x.c.created_at < period.end_utc,
        *in_hall(x, hall),
        *conds,
    )


def _flag_columns() -> list[Any]:
    """A follow-up's flags, aggregated over its steps (``STEPS`` rows of one group)."""
    s = STEPS
    return [
        _has(K.VERIFIED).label("verified"),
        _has(K.CALLED_BACK).label("called_back"),
        _has(K.RECTIFIED).label("rectified"),
        _has(K.CLOSED).label("closed"),
        _has(K.APPEALED).label("appealed"),
        _has(K.APPEAL_UPHELD).label("upheld"),
        _has(K.APPEAL_REJECTED).label("appeal_rejected"),
        func.max(case((s.c.kind == K.OPENED.value, s.c.due_on))).label("due_on"),
        func.min(case((s.c.kind == K.OPENED.value, s.c.created_at))).label("opened_at"),
    ]


def step_flags(restrict: Any | None = None, hall: str | None = None) -> Any:
    """One row per follow-up: which steps it has, its opening and its due date.

    ``restrict``: a SELECT (or a list) of the evaluation ids wanted; the
    database cannot push a join's condition into a grouped subquery, so
    without it every follow-up of the store is grouped. ``hall``: that hall's
    steps only (at the centre, where ids are unique per hall).
    """
    s = STEPS
    stmt = select(s.c.evaluation_id.label("evaluation_id"), *_flag_columns()).group_by(
        s.c.evaluation_id
    )
    if restrict is not None:
        stmt = stmt.where(s.c.evaluation_id.in_(restrict))
    if hall is not None:
        stmt = stmt.where(*in_hall(s, hall))
    return stmt.subquery("flags")


def call_back_cutoff(as_of: date, days: int, calendar: WorkCalendar | None = None) -> datetime:
    """Follow-ups opened before this instant have their 回访 due before ``as_of``.

    The due date (``days`` working days after the opening day) never moves
    back when the opening day moves forward, so "due before as_of" is "opened
    on or before some day D": found here, on the hall's calendar.
    """
    cal = calendar or default_calendar()
    d = as_of
    while add_working_days(d, days, cal).date >= as_of:
        d -= timedelta(days=1)
    return day_start_utc(d + timedelta(days=1))


def _state_columns(cutoff: datetime) -> list[Any]:
    """A follow-up's state as of ``cutoff``, aggregated over its steps: which
    were taken before it, and when 回访 and 整改 were first done (a 办结 does
    both: a follow-up closed without them is not late for them)."""
    s = STEPS
    before = s.c.created_at < cutoff

    def has(kind: FollowUpStepKind) -> Any:
        return func.max(case((and_(s.c.kind == kind.value, before), 1), else_=0))

    def first(*kinds: FollowUpStepKind) -> Any:
        return func.min(
            case((and_(s.c.kind.in_([k.value for k in kinds]), before), s.c.created_at))
        )

    return [
        has(K.VERIFIED).label("verified"),
        has(K.CALLED_BACK).label("called_back"),
        first(K.CALLED_BACK, K.CLOSED).label("called_back_at"),
        first(K.RECTIFIED, K.CLOSED).label("rectified_at"),
        has(K.CLOSED).label("closed"),
        has(K.APPEALED).label("appealed"),
        # Whenever upheld: the counts (kept by the database) leave it out for good.
        _has(K.APPEAL_UPHELD).label("upheld"),
        has(K.APPEAL_REJECTED).label("appeal_rejected"),
        func.max(case((s.c.kind == K.OPENED.value, s.c.due_on))).label("due_on"),
        func.min(case((s.c.kind == K.OPENED.value, s.c.created_at))).label("opened_at"),
    ]


@dataclass(frozen=True)
class FollowUpState:
    """Where one 差评's follow-up stood at the report's cut-off.

    A breach is for good: 回访 or 整改 done after its time limit is as late as
    one still not done once the limit has passed. Counting only the latter let
    a late call-back, made after the month was published, wipe that month's
    回访超期 (and a 差评 of the month's last days, due in the next month, was
    overdue in no month's table at all).
    """

    verified: bool
    called_back: bool
    rectified: bool  # rectified or closed
    closed: bool
    appealed: bool
    appeal_rejected: bool
    upheld: bool
    due_on: date | None  # 整改 due
    call_back_due: date | None
    overdue: bool  # 整改 late, or not done with its due date passed
    call_back_overdue: bool  # 回访 likewise

    @property
    def appeals_pending(self) -> bool:
        return self.appealed and not self.appeal_rejected

    @property
    def state(self) -> str:
        return describe_flags(self)


class _Clock:
    """Due dates of 回访 from the opening day, each day worked out once."""

    def __init__(self, days: int, calendar: WorkCalendar | None) -> None:
        self.days, self.calendar = days, calendar or default_calendar()
        self._due: dict[date, date] = {}

    def call_back_due(self, opened_day: date) -> date:
        due = self._due.get(opened_day)
        if due is None:
            due = add_working_days(opened_day, self.days, self.calendar).date
            self._due[opened_day] = due
        return due


def _state(row: Any, today: date, clock: _Clock) -> FollowUpState:
    def late(done_at: datetime | None, due: date | None) -> bool:
        if due is None:
            return False
        return hall_date(done_at) > due if done_at is not None else due < today

    opened = row.opened_at
    call_back_due = clock.call_back_due(hall_date(opened)) if opened is not None else None
    return FollowUpState(
        verified=bool(row.verified),
        called_back=bool(row.called_back),
        rectified=row.rectified_at is not None,
        closed=bool(row.closed),
        appealed=bool(row.appealed),
        appeal_rejected=bool(row.appeal_rejected),
        upheld=bool(row.upheld),
        due_on=row.due_on,
        call_back_due=call_back_due,
        overdue=late(row.rectified_at, row.due_on),
        call_back_overdue=late(row.called_back_at, call_back_due),
    )


def follow_up_states(
    conn: Connection,
    ids: list[str],
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> dict[str, FollowUpState]:
    """The follow-ups of these 差评 (by evaluation id) as of ``now``."""
    defs = definitions or Definitions()
    cutoff = now or utcnow()
    clock = _Clock(defs.call_back_days, calendar)
    today = hall_date(cutoff)
    s = STEPS
    out: dict[str, FollowUpState] = {}
    for i in range(0, len(ids), 1000):
        stmt = (
            select(s.c.evaluation_id, *_state_columns(cutoff))
            .where(s.c.evaluation_id.in_(ids[i : i + 1000]), *in_hall(s, hall))
            .group_by(s.c.evaluation_id)
        )
        out.update((r.evaluation_id, _state(r, today, clock)) for r in conn.execute(stmt))
    return out


@dataclass(frozen=True)
class FollowUpFigures:
    key: str
    name: str
    code: str = ""  # what a table shows for the key (a clerk's 工号)
    bad: int = 0  # counted 差评 of the period
    verified: int = 0
    called_back: int = 0
    rectified: int = 0  # rectified or closed
    closed: int = 0
    overdue: int = 0  # neither rectified nor closed, 整改 due date passed
    call_back_overdue: int = 0  # not called back, 回访 due date passed
    appeals_pending: int = 0
    upheld: int = 0  # excluded: shown so that the exclusion is visible

    @property
    def rectification_rate(self) -> float | None:
        return percent(self.rectified, self.bad)

    @property
    def call_back_rate(self) -> float | None:
        return percent(self.called_back, self.bad)


def follow_up_figures(
    conn: Connection,
    period: Period,
    by: str = "window",
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> list[FollowUpFigures]:
    """The period's 差评 by group and where their follow-ups stood at ``now``
    (the report's cut-off, printed with it; see :class:`FollowUpState`)."""
    defs = definitions or Definitions()
    dim = dimension(by)
    cutoff = now or utcnow()
    clock = _Clock(defs.call_back_days, calendar)
    today = hall_date(cutoff)
    e, st = EVALUATIONS, STEPS
    # Each 差评 of the period with its steps' state and its group, in one
    # grouped join (found by the (level, created_at) index; no second look-up
    # of the evaluation per follow-up). Counted here: the late ones need each
    # opening day's due date on the hall's calendar.
    stmt = (
        select(e.c[dim.evaluation_column].label("key"), *_state_columns(cutoff))
        .select_from(e.join(st, st.c.evaluation_id == e.c.id))
        .where(
            e.c.level.in_(BAD_LEVELS),
            e.c.created_at >= period.start_utc,
            e.c.created_at < period.end_utc,
            *in_hall(e, hall),
            *in_hall(st, hall),
        )
        .group_by(e.c[dim.evaluation_column], e.c.id)
    )
    counts: dict[str, dict[str, int]] = {}
    for r in conn.execute(stmt):
        c = counts.setdefault(r.key, dict.fromkeys(_COUNTED, 0))
        f = _state(r, today, clock)
        if f.upheld:
            c["upheld"] += 1
            continue
        c["bad"] += 1
        for name in _COUNTED[1:-1]:
            c[name] += bool(getattr(f, name))
    keys = sorted(counts)
    names = group_names(conn, dim, keys, hall)
    return in_shown_order([
        FollowUpFigures(key=k, name=names[k][0], code=names[k][1], **counts[k]) for k in keys
    ])  # fmt: skip


#: FollowUpFigures' counts: 差评, the state's flags, and the excluded.
_COUNTED = ("bad", "verified", "called_back", "rectified", "closed", "overdue",
            "call_back_overdue", "appeals_pending", "upheld")  # fmt: skip


# ------------------------------------------------------------ accountability


@dataclass(frozen=True)
class BadReview:
    """One 差评 behind an accountability entry, with its follow-up state."""

    evaluation_id: str
    case_id: str
    case_no: str
    window_code: str
    level: int
    reasons: tuple[str, ...]
    created_at: datetime
    state: str  # 待核实 / 已核实 / 已回访 / 已整改 / 已办结, with appeal
    due_on: date | None
    overdue: bool


@dataclass(frozen=True)
class AccountableClerk:
    staff_id: str
    staff_no: str
    name: str
    evaluations: int
    bad: int
    reviews: tuple[BadReview, ...]

    @property
    def bad_rate(self) -> float:
        return percent_down(self.bad, self.evaluations) or 0.0


def describe_flags(row: Any) -> str:
    if row.closed:
        state = "已办结"
    elif row.rectified:
        state = "已整改，待办结"
    elif row.called_back:
        state = "已回访，待整改"
    elif row.verified:
        state = "已核实，待回访"
    else:
        state = "待核实"
    if row.appealed and not row.appeal_rejected:
        state = "申诉审核中；" + state
    elif row.appeal_rejected:
        state = "申诉未成立；" + state
    return state


def accountability_statement(
    period: Period, threshold_percent: float, hall: str | None = None
) -> Select[Any]:
    """Clerks whose 不满意率 in the period reached the threshold (in the database: HAVING)."""
    t = EVALUATION_TALLIES
    bad = func.sum(case((t.c.level.in_(BAD_LEVELS), t.c.n), else_=0))
    total = func.sum(t.c.n)
    return (
        select(t.c.staff_id, total.label("evaluations"), bad.label("bad"))
        .where(*in_days(t, period.first, period.last), *in_hall(t, hall))
        .group_by(t.c.staff_id)
        .having(and_(total > 0, bad * 100.0 >= total * threshold_percent))
    )


def accountability(
    conn: Connection,
    period: Period,
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
    reviews: bool = True,
) -> list[AccountableClerk]:
    """The quarter's clerks to be held to account (seed 000 §五), worst first,
    each with the 差评 behind it and where their follow-up stands.

    ``reviews=False``: the clerks and their counts only, from the counts the
    database keeps (the supervisor view lists them at once and reads one
    clerk's 差评 with :func:`clerk_reviews` when asked; a county's quarter is
    tens of thousands of 差评)."""
    defs = definitions or Definitions()
    threshold = defs.accountability_threshold_percent
    found = conn.execute(accountability_statement(period, threshold, hall)).all()
    if not found:
        return []
    ids = [r.staff_id for r in found]
    staff = {
        r.id: (r.staff_no, r.name)
        for r in conn.execute(
            select(STAFF.c.id, STAFF.c.staff_no, STAFF.c.name).where(STAFF.c.id.in_(ids))
        )
    }
    behind = _reviews(conn, period, ids, hall, now, definitions=defs) if reviews else {}
    out = [
        AccountableClerk(
            staff_id=r.staff_id,
            staff_no=staff.get(r.staff_id, ("", ""))[0],
            name=staff.get(r.staff_id, ("", r.staff_id))[1],
            evaluations=int(r.evaluations),
            bad=int(r.bad),
            reviews=tuple(behind.get(r.staff_id, ())),
        )
        for r in found
    ]
    return sorted(out, key=lambda a: (-a.bad_rate, -a.bad, a.staff_no))


def clerk_reviews(
    conn: Connection,
    period: Period,
    staff_id: str,
    *,
    hall: str | None = None,
    now: datetime | None = None,
    definitions: Definitions | None = None,
) -> tuple[BadReview, ...]:
    """One clerk's counted 差评 of the period with where each follow-up stands."""
    found = _reviews(conn, period, [staff_id], hall, now, definitions=definitions)
    return tuple(found.get(staff_id, ()))


def _reviews(
    conn: Connection,
    period: Period,
    ids: list[str],
    hall: str | None,
    now: datetime | None,
    *,
    definitions: Definitions | None = None,
) -> dict[str, list[BadReview]]:
    e = EVALUATIONS
    shown = [e.c[n] for n in ("id", "case_id", "case_no", "window_code", "staff_id", "level",
                              "reasons", "created_at")]  # fmt: skip
    # The columns the list shows, not the whole row (hashes, device…), found by
    # the (staff, time) index; then the steps of those 差评 only, by their ids
    # (a join on a grouped subquery of steps would group every step of the period).
    rows = conn.execute(
        select(*shown)
        .where(
            e.c.staff_id.in_(ids),
            e.c.level.in_(BAD_LEVELS),
            e.c.created_at >= period.start_utc,
            e.c.created_at < period.end_utc,
            counted(e),
            *in_hall(e, hall),
        )
    ).all()
    # Sorted here, not in SQL: an ORDER BY created_at led SQLite to walk the
    # whole period by its time index instead of the clerk's rows (0.5–0.8 s).
    rows = sorted(rows, key=lambda r: (r.created_at, r.id))
    states = follow_up_states(
        conn, [r.id for r in rows], definitions=definitions, hall=hall, now=now
    )
    reviews: dict[str, list[BadReview]] = {i: [] for i in ids}
    for row in rows:
        state = states.get(row.id)
        reviews[row.staff_id].append(
            BadReview(
                evaluation_id=row.id,
                case_id=row.case_id,
                case_no=row.case_no,
                window_code=row.window_code,
                level=row.level,
                reasons=masked_texts(row.reasons),
                created_at=row.created_at,
                state=state.state if state is not None else "未开启整改跟踪",
                due_on=state.due_on if state is not None else None,
                overdue=bool(state is not None and state.overdue),
            )
        )
    return reviews
