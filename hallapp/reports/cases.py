"""Case figures per window: received, accepted, completed, on time, overdue,
one-time notices, one-time-rule violations (倒查), extensions, 容缺 overdue.

A case's promised date in force is the latest ``promised_date`` written on
its acceptance and extension events (an extension only moves it later; 补正
happens before acceptance in HallApp, so no pause follows an acceptance).
Dates are the hall's days (:class:`hallapp.reports.sql.hall_day`); ISO date
texts compare in date order.

The counts are read from the tables the database keeps as facts arrive
(hallapp.reports.caseroll): a month's figures read some thousand rows of
counts, not every event of the month; the 超期未办结 count checks exactly,
against the events, only the cases that can be overdue at all (accepted and
not completed within their earliest promise).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from hallapp.models import CaseEventKind, utcnow
from hallapp.reports.caseroll import COUNTS
from hallapp.reports.periods import Period
from hallapp.reports.sql import (
    CASE_DEADLINES,
    CASE_TALLIES,
    CASES,
    COMPLETION_TALLIES,
    EVENTS,
    dimension,
    group_names,
    hall_day,
    in_days,
    in_hall,
    in_shown_order,
)
from hallapp.reports.tally import percent

ACCEPTING = (CaseEventKind.ACCEPTED.value, CaseEventKind.CONDITIONALLY_ACCEPTED.value)
PROMISING = (*ACCEPTING, CaseEventKind.EXTENDED.value)

#: The counted event kinds: figure name -> event kind.
EVENT_FIGURES: dict[str, str] = {
    "accepted": "accepted",  # both kinds of acceptance, see below
    "completed": CaseEventKind.COMPLETED.value,
    "one_time_notices": CaseEventKind.SUPPLEMENT_REQUESTED.value,
    "violations": CaseEventKind.ONE_TIME_VIOLATION.value,
    "extensions": CaseEventKind.EXTENDED.value,
}

CASE_FIGURE_TITLES: dict[str, str] = {
    "received": "收件",
    "accepted": "受理",
    "completed": "办结",
    "on_time": "按期办结",
    "on_time_rate": "按期办结率",
    "completed_late": "超期办结",
    "overdue_open": "超期未办结",
    "one_time_notices": "一次性告知",
    "violations": "违反一次性告知（倒查）",
    "extensions": "延期",
    "deferred_overdue": "容缺材料逾期",
}


def promised_in_force(case_id: Any, before: datetime | None = None) -> Any:
    """The case's promised date (ISO text) as of ``before`` (default: the latest
    written, which is what a completion is judged on time against)."""
    x = EVENTS.alias("promise")
    conds = [x.c.case_id == case_id, x.c.kind.in_(PROMISING)]
    if before is not None:
        conds.append(x.c.created_at < before)
    return select(func.max(x.c.data["promised_date"].as_string())).where(*conds).scalar_subquery()


@dataclass(frozen=True)
class CaseFigures:
    key: str
    name: str
    code: str = ""  # what a table shows for the key (a clerk's 工号)
    received: int = 0
    accepted: int = 0
    completed: int = 0
    on_time: int = 0
    overdue_open: int = 0
    one_time_notices: int = 0
    violations: int = 0
    extensions: int = 0
    deferred_overdue: int = 0

    @property
    def completed_late(self) -> int:
        return self.completed - self.on_time

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.on_time, self.completed)

    @property
    def overdue(self) -> int:
        return self.completed_late + self.overdue_open


def _in_period(t: Any, period: Period) -> list[Any]:
    return [t.c.created_at >= period.start_utc, t.c.created_at < period.end_utc]


def overdue_open_condition(case_id: Any, period: Period, as_of: date) -> Any:
    """Accepted before the period ended, not completed by then, promised date
    passed (``case_id``: the case's id column)."""
    end = period.end_utc
    acc, done = EVENTS.alias("acc"), EVENTS.alias("fin")
    accepted = exists().where(
        and_(acc.c.case_id == case_id, acc.c.kind.in_(ACCEPTING), acc.c.created_at < end)
    )
    completed = exists().where(
        and_(
            done.c.case_id == case_id,
            done.c.kind == CaseEventKind.COMPLETED.value,
            done.c.created_at < end,
        )
    )
    return and_(accepted, ~completed, promised_in_force(case_id, end) < as_of.isoformat())


def overdue_candidates(d: Any, period: Period, as_of: date) -> list[Any]:
    """The rows of ``case_deadlines`` (alias ``d``) that can be overdue at the
    period's end: accepted by then, not completed by then, earliest promise
    before ``as_of``. Every overdue case passes (see hallapp.reports.caseroll);
    :func:`overdue_open_condition` then decides exactly."""
    last = period.last.isoformat()
    return [
        or_(d.c.accepted_day.is_(None), d.c.accepted_day <= last),
        or_(d.c.done_day.is_(None), d.c.done_day > last),
        or_(d.c.promised_min.is_(None), d.c.promised_min < as_of.isoformat()),
    ]


def overdue_open_cases(period: Period, as_of: date, hall: str | None = None) -> Any:
    """The ids of the cases overdue and not completed at the period's end."""
    d = CASE_DEADLINES
    return select(d.c.case_id).where(
        *overdue_candidates(d, period, as_of),
        overdue_open_condition(d.c.case_id, period, as_of),
        *in_hall(d, hall),
    )


def deferred_overdue_condition(acc: Any, period: Period, as_of: date) -> Any:
    """A 容缺 acceptance whose materials were due in the period (before ``as_of``)
    and had not arrived by the due date."""
    due = acc.c.data["supplement_date"].as_string()
    got = EVENTS.alias("got")
    arrived = exists().where(
        and_(
            got.c.case_id == acc.c.case_id,
            got.c.kind == CaseEventKind.DEFERRED_MATERIALS_RECEIVED.value,
            hall_day(got.c.created_at) <= due,
        )
    )
    return and_(
        acc.c.kind == CaseEventKind.CONDITIONALLY_ACCEPTED.value,
        due >= period.first.isoformat(),
        due < as_of.isoformat(),
        ~arrived,
    )


def case_figures(
    conn: Connection,
    period: Period,
    by: str = "window",
    *,
    hall: str | None = None,
    now: datetime | None = None,
) -> list[CaseFigures]:
    """The case figures of the period per group (default: per window)."""
    dim = dimension(by)
    as_of = period.as_of(now or utcnow())
    c = CASES
    group = c.c[dim.case_column]
    found: dict[str, dict[str, int]] = {}

    def add(stmt: Any) -> None:
        for row in conn.execute(stmt):
            bucket = found.setdefault(row[0], {})
            for name, value in row._mapping.items():
                if name != "key":
                    bucket[name] = bucket.get(name, 0) + int(value or 0)

    t = CASE_TALLIES
    g = t.c[dim.case_column]
    sums = [func.sum(t.c[n]).label(n) for n in COUNTS]
    add(
        select(g.label("key"), *sums)
        .where(*in_days(t, period.first, period.last), *in_hall(t, hall))
        .group_by(g)
        .having(or_(*[func.sum(t.c[n]) != 0 for n in COUNTS]))
    )
    ct = COMPLETION_TALLIES
    add(
        select(ct.c[dim.case_column].label("key"), func.sum(ct.c.completed).label("completed"))
        .where(*in_days(ct, period.first, period.last), *in_hall(ct, hall))
        .group_by(ct.c[dim.case_column])
        .having(func.sum(ct.c.completed) != 0)
    )
    d = CASE_DEADLINES
    add(
        select(d.c[dim.case_column].label("key"), func.count().label("overdue_open"))
        .where(
            *overdue_candidates(d, period, as_of),
            overdue_open_condition(d.c.case_id, period, as_of),
            *in_hall(d, hall),
        )
        .group_by(d.c[dim.case_column])
    )
    # 容缺 acceptances first, alone (their partial index), then their cases'
    # groups: joined in one statement, SQLite walked every case of the history.
    acc = EVENTS.alias("acc")
    late = Counter(
        conn.execute(
            select(acc.c.case_id).where(
                deferred_overdue_condition(acc, period, as_of), *in_hall(acc, hall)
            )
        ).scalars()
    )
    ids = sorted(late)
    for i in range(0, len(ids), 1000):
        for case_id, key in conn.execute(
            select(c.c.id, group).where(c.c.id.in_(ids[i : i + 1000]), *in_hall(c, hall))
        ):
            bucket = found.setdefault(key, {})
            bucket["deferred_overdue"] = bucket.get("deferred_overdue", 0) + late[case_id]
    keys = sorted(found)
    names = group_names(conn, dim, keys, hall)
    return in_shown_order(
        [CaseFigures(key=k, name=names[k][0], code=names[k][1], **found[k]) for k in keys]
    )
