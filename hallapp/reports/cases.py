"""Case figures per window: received, accepted, completed, on time, overdue,
one-time notices, one-time-rule violations (倒查), extensions, 容缺 overdue.

A case's promised date in force is the latest ``promised_date`` written on
its acceptance and extension events (an extension only moves it later; 补正
happens before acceptance in HallApp, so no pause follows an acceptance).
Dates are the hall's days (:class:`hallapp.reports.sql.hall_day`); ISO date
texts compare in date order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, select

from hallapp.models import CaseEventKind, utcnow
from hallapp.reports.periods import Period
from hallapp.reports.sql import CASES, EVENTS, dimension, group_names, hall_day, in_hall
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


def promised_in_force(case_id: Any, before: datetime) -> Any:
    """The case's promised date (ISO text) as of ``before``."""
    x = EVENTS.alias("promise")
    return (
        select(func.max(x.c.data["promised_date"].as_string()))
        .where(x.c.case_id == case_id, x.c.kind.in_(PROMISING), x.c.created_at < before)
        .scalar_subquery()
    )


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


def overdue_open_condition(c: Any, period: Period, as_of: date) -> Any:
    """Accepted before the period ended, not completed by then, promised date passed."""
    end = period.end_utc
    acc, done = EVENTS.alias("acc"), EVENTS.alias("fin")
    accepted = exists().where(
        and_(acc.c.case_id == c.c.id, acc.c.kind.in_(ACCEPTING), acc.c.created_at < end)
    )
    completed = exists().where(
        and_(
            done.c.case_id == c.c.id,
            done.c.kind == CaseEventKind.COMPLETED.value,
            done.c.created_at < end,
        )
    )
    return and_(accepted, ~completed, promised_in_force(c.c.id, end) < as_of.isoformat())


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
    c, ev = CASES, EVENTS.alias("ev")
    group = c.c[dim.case_column]
    found: dict[str, dict[str, int]] = {}

    def add(stmt: Any) -> None:
        for row in conn.execute(stmt):
            bucket = found.setdefault(row[0], {})
            for name, value in row._mapping.items():
                if name != "key":
                    bucket[name] = bucket.get(name, 0) + int(value or 0)

    add(
        select(group.label("key"), func.count().label("received"))
        .where(*_in_period(c, period), *in_hall(c, hall))
        .group_by(group)
    )
    promised = promised_in_force(ev.c.case_id, period.end_utc)
    on_time = and_(
        ev.c.kind == CaseEventKind.COMPLETED.value, hall_day(ev.c.created_at) <= promised
    )
    add(
        select(
            group.label("key"),
            func.sum(case((ev.c.kind.in_(ACCEPTING), 1), else_=0)).label("accepted"),
            *[
                func.sum(case((ev.c.kind == kind, 1), else_=0)).label(name)
                for name, kind in EVENT_FIGURES.items()
                if name != "accepted"
            ],
            func.sum(case((on_time, 1), else_=0)).label("on_time"),
        )
        .select_from(ev.join(c, c.c.id == ev.c.case_id))
        .where(*_in_period(ev, period), *in_hall(ev, hall))
        .group_by(group)
    )
    add(
        select(group.label("key"), func.count().label("overdue_open"))
        .where(overdue_open_condition(c, period, as_of), *in_hall(c, hall))
        .group_by(group)
    )
    acc = EVENTS.alias("acc")
    add(
        select(group.label("key"), func.count().label("deferred_overdue"))
        .select_from(acc.join(c, c.c.id == acc.c.case_id))
        .where(deferred_overdue_condition(acc, period, as_of), *in_hall(acc, hall))
        .group_by(group)
    )
    keys = sorted(found)
    names = group_names(conn, dim, keys)
    return [CaseFigures(key=k, name=names[k][0], code=names[k][1], **found[k]) for k in keys]
