"""Independent counts for the report tests: plain Python over every raw row.

Nothing here shares code with hallapp.reports: rows are read whole, days are
taken with hallapp.workdays.hall_date and deadlines judged with
hallapp.deadlines.compute_deadlines (the rules the console uses).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from hallapp.deadlines import DeadlineInputs, DeadlineState, Extension, compute_deadlines
from hallapp.models import Case, CaseEvent, Evaluation, FollowUpStep
from hallapp.store import Store
from hallapp.workdays import WorkCalendar, add_working_days, hall_date


@dataclass
class Raw:
    evaluations: list[Any]
    cases: dict[str, Any]
    events: dict[str, list[Any]]  # case id -> events in order
    steps: dict[str, list[Any]]  # evaluation id -> steps

    @property
    def excluded(self) -> set[str]:
        return {
            eid
            for eid, steps in self.steps.items()
            if any(s.kind == "appeal_upheld" for s in steps)
        }


def load(store: Store) -> Raw:
    with store.engine.connect() as conn:
        evaluations = conn.execute(sa.select(Evaluation.__table__)).all()
        cases = {r.id: r for r in conn.execute(sa.select(Case.__table__))}
        events: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(sa.select(CaseEvent.__table__)):
            events[r.case_id].append(r)
        steps: dict[str, list[Any]] = defaultdict(list)
        for r in conn.execute(sa.select(FollowUpStep.__table__)):
            steps[r.evaluation_id].append(r)
    for evs in events.values():
        evs.sort(key=lambda e: (e.created_at, e.seq))
    for st in steps.values():
        st.sort(key=lambda s: s.created_at)
    return Raw(evaluations, cases, events, steps)


def within(at: datetime, first: date, last: date) -> bool:
    return first <= hall_date(at) <= last


EVAL_KEY = {
    "window": "window_code",
    "clerk": "staff_id",
    "department": "department_code",
    "item": "item_code",
}
CASE_KEY = {
    "window": "window_code",
    "clerk": "first_responder_id",
    "department": "department_code",
    "item": "item_code",
}


def level_counts(raw: Raw, first: date, last: date, by: str) -> dict[str, Counter[int]]:
    out: dict[str, Counter[int]] = defaultdict(Counter)
    excluded = raw.excluded
    for e in raw.evaluations:
        if e.id not in excluded and within(e.created_at, first, last):
            out[getattr(e, EVAL_KEY[by])][e.level] += 1
    return out


def completed_and_evaluated(
    raw: Raw, first: date, last: date, by: str
) -> dict[str, tuple[int, int]]:
    excluded = raw.excluded
    evaluated_cases = {e.case_id for e in raw.evaluations if e.id not in excluded}
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case_id, evs in raw.events.items():
        for ev in evs:
            if ev.kind == "completed" and within(ev.created_at, first, last):
                key = getattr(raw.cases[case_id], CASE_KEY[by])
                out[key][0] += 1
                out[key][1] += case_id in evaluated_cases
    return {k: (v[0], v[1]) for k, v in out.items()}


def deadline_inputs(evs: list[Any], before: datetime) -> DeadlineInputs | None:
    accepted = None
    extensions = []
    received = completed = None
    for ev in evs:
        if ev.created_at >= before:
            break
        if ev.kind in ("accepted", "conditionally_accepted"):
            accepted = ev.data
        elif ev.kind == "extended":
            extensions.append(
                Extension(
                    hall_date(ev.created_at),
                    int(ev.data["days"]),
                    ev.data["reason"],
                    ev.data["approver"],
                )
            )
        elif ev.kind == "deferred_materials_received":
            received = hall_date(ev.created_at)
        elif ev.kind == "completed":
            completed = hall_date(ev.created_at)
    if accepted is None:
        return None
    return DeadlineInputs(
        accepted_on=date.fromisoformat(accepted["accepted_on"]),
        promised_days=int(accepted["promised_days"]),
        legal_days=int(accepted["legal_days"]),
        extensions=tuple(extensions),
        supplement_days=accepted.get("supplement_days"),
        supplement_received_on=received,
        completed_on=completed,
    )


def case_figures(
    raw: Raw, first: date, last: date, as_of: date, end_utc: datetime, calendar: WorkCalendar
) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for case_id, case in raw.cases.items():
        w = case.window_code
        evs = raw.events.get(case_id, [])
        if within(case.created_at, first, last):
            out[w]["received"] += 1
        for ev in evs:
            if not within(ev.created_at, first, last):
                continue
            kind = ev.kind
            if kind in ("accepted", "conditionally_accepted"):
                out[w]["accepted"] += 1
            elif kind == "completed":
                out[w]["completed"] += 1
                inputs = deadline_inputs(evs, end_utc)
                assert inputs is not None
                state = compute_deadlines(inputs, as_of, calendar).state
                out[w]["on_time"] += state is DeadlineState.COMPLETED
            elif kind == "supplement_requested":
                out[w]["one_time_notices"] += 1
            elif kind == "one_time_violation":
                out[w]["violations"] += 1
            elif kind == "extended":
                out[w]["extensions"] += 1
        inputs = deadline_inputs(evs, end_utc)
        if inputs is not None:
            d = compute_deadlines(inputs, as_of, calendar)
            if d.state is DeadlineState.OVERDUE:
                out[w]["overdue_open"] += 1
            if d.supplement is not None and first <= d.supplement.date < as_of:
                got = next(
                    (
                        hall_date(e.created_at)
                        for e in evs
                        if e.kind == "deferred_materials_received"
                    ),
                    None,
                )
                if got is None or got > d.supplement.date:
                    out[w]["deferred_overdue"] += 1
    return out


def follow_up_figures(
    raw: Raw, first: date, last: date, now: datetime, call_back_days: int, calendar: WorkCalendar
) -> dict[str, Counter[str]]:
    """Where the period's 差评 stood at ``now``: the steps taken before it; a
    回访 or 整改 done after its limit is late for good, as is one not done once
    the limit has passed (a 办结 does both)."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    today = hall_date(now)
    for e in raw.evaluations:
        if e.level > 2 or not within(e.created_at, first, last):
            continue
        f = out[e.window_code]
        if any(s.kind == "appeal_upheld" for s in raw.steps[e.id]):
            f["upheld"] += 1
            continue
        steps = [s for s in raw.steps[e.id] if s.created_at < now]
        kinds = [s.kind for s in steps]

        def done(*wanted: str, steps: list[Any] = steps) -> date | None:
            days = [hall_date(s.created_at) for s in steps if s.kind in wanted]
            return min(days) if days else None

        def late(day: date | None, due: date) -> bool:
            return day > due if day is not None else due < today

        opened = next(s for s in raw.steps[e.id] if s.kind == "opened")
        f["bad"] += 1
        f["verified"] += "verified" in kinds
        f["called_back"] += "called_back" in kinds
        f["rectified"] += "rectified" in kinds or "closed" in kinds
        f["closed"] += "closed" in kinds
        f["overdue"] += late(done("rectified", "closed"), opened.due_on)
        call_back_due = add_working_days(
            hall_date(opened.created_at), call_back_days, calendar
        ).date
        f["call_back_overdue"] += late(done("called_back", "closed"), call_back_due)
        f["appeals_pending"] += "appealed" in kinds and "appeal_rejected" not in kinds
    return out
