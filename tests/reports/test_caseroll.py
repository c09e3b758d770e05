# ruff: noqa: E501 (SQL text)
"""The case counts, the overdue candidates and the open follow-ups, kept by
triggers, equal what the raw facts say, whatever order the facts arrive in.

Facts arrive in random batches: acceptances with a promised date, extensions
that move it (some arriving after the completion, as another window's batch
order can at the centre), completions on time and late, one-time notices and
violations, and follow-up steps (opened, called back, closed, upheld appeals)
in any order; at the centre some batches are sent again. The expected figures
are made in Python from the raw rows with the rules' own words, not with the
triggers' SQL: on time = completed on or before the latest promised date; 超期
未办结 at a period's end = accepted before it ended, not completed by then, the
promise in force then already passed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallapp.reports import case_figures, parse_month
from hallapp.reports.cases import overdue_open_cases
from tests.reports.test_rollup import HALL, TARGETS, Target, hall_day, make_target

BASE = datetime(2026, 9, 22, 2, 0, tzinfo=UTC)  # 10:00 in the hall
_serial = itertools.count(1)
PROMISING = ("accepted", "conditionally_accepted", "extended")


@pytest.fixture(scope="module", params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    yield from make_target(request, tmp_path_factory)


# ------------------------------------------------------------------ the facts

EVENT_KINDS = ["accepted", "conditionally_accepted", "extended", "completed", "completed",
               "supplement_requested", "one_time_violation"]  # fmt: skip
STEP_KINDS = ["opened", "opened", "called_back", "closed", "appeal_upheld", "verified"]

event = st.tuples(st.sampled_from(EVENT_KINDS), st.integers(0, 4), st.integers(0, 24 * 20),
                  st.integers(0, 12))  # fmt: skip  (kind, case, hours after BASE, promise days)
step = st.tuples(st.sampled_from(STEP_KINDS), st.integers(0, 4), st.integers(0, 24 * 20),
                 st.integers(-3, 12))  # fmt: skip  (kind, follow-up, hours, due in days)


@dataclass(frozen=True)
class Story:
    cases: list[tuple[int, int, int]]  # (window, clerk, item)
    batches: list[list[tuple[str, int, int, int]]]
    steps: list[list[tuple[str, int, int, int]]]
    again: list[bool]


stories = st.builds(
    Story,
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=5),
    st.lists(st.lists(event, max_size=8), min_size=1, max_size=4),
    st.lists(st.lists(step, max_size=6), max_size=3),
    st.lists(st.booleans(), min_size=4, max_size=4),
)


def play(target: Target, story: Story) -> tuple[list[str], str]:
    """Insert the story's facts; returns the example's window codes and its id prefix."""
    n = next(_serial)
    windows = [f"X{n:04d}a", f"X{n:04d}b"]
    cases = [
        dict(id=f"{n}-c{i}", origin_window=windows[w], created_at=BASE + timedelta(minutes=i),
             case_no=f"X{n}-{i}", item_code=target.items[it], applicant_id=target.applicant,
             window_code=windows[w], department_code=f"D{it}", first_responder_id=target.clerks[c])
        for i, (w, c, it) in enumerate(story.cases)
    ]  # fmt: skip
    target.insert("cases", cases)
    sent: list[tuple[str, list[dict[str, Any]]]] = []
    for b, batch in enumerate(story.batches):
        rows = []
        for j, (kind, ref, hours, days) in enumerate(batch):
            case = cases[ref % len(cases)]
            at = BASE + timedelta(hours=hours)
            data: dict[str, Any] = {}
            if kind in PROMISING:
                data["promised_date"] = (hall_date(at) + timedelta(days=days)).isoformat()
            rows.append(dict(id=f"{n}-e{b}-{j}", origin_window=case["window_code"], created_at=at,
                             case_id=case["id"], seq=j, kind=kind, staff_id=case["first_responder_id"],
                             data=data))  # fmt: skip
        sent.append(("case_events", rows))
    evaluations = [
        dict(id=f"{n}-v{i}", origin_window=c["window_code"], created_at=BASE, case_id=c["id"],
             encounter="acceptance", encounter_event_id=f"{n}-v{i}", case_no=c["case_no"],
             item_code=c["item_code"], window_code=c["window_code"], staff_id=c["first_responder_id"],
             department_code=c["department_code"], channel="window_evaluator", device="t",
             level=1, reasons=[], applicant_kind="person")
        for i, c in enumerate(cases)
    ]  # fmt: skip
    for b, batch in enumerate(story.steps):
        rows = []
        for j, (kind, ref, hours, days) in enumerate(batch):
            at = BASE + timedelta(hours=hours)
            due = hall_date(at) + timedelta(days=days) if kind == "opened" else None
            rows.append(dict(id=f"{n}-s{b}-{j}", origin_window="@centre", created_at=at,
                             evaluation_id=evaluations[ref % len(evaluations)]["id"], kind=kind,
                             staff_id=target.clerks[1], note="", due_on=due))  # fmt: skip
        sent.append(("follow_up_steps", rows))
    if target.central:
        # At the centre anything can come first: steps before their evaluation,
        # a batch of promises after the completions, a batch sent twice.
        order = sent[::-1] if story.again[0] else sent
        target.insert("evaluations", evaluations)
        for i, (table, rows) in enumerate(order):
            target.insert(table, rows)
            if story.again[(i + 1) % 4]:
                target.insert(table, rows)
    else:
        target.insert("evaluations", evaluations)
        for table, rows in sent:
            target.insert(table, rows)
    return windows, f"{n}-"


def hall_date(at: datetime) -> date:
    return date.fromisoformat(hall_day(at))


# ---------------------------------------------------------------- the oracle


@dataclass
class Raw:
    cases: dict[str, tuple[Any, ...]]  # id -> (created day, window, clerk, dept, item)
    events: dict[str, list[tuple[str, str, datetime, dict[str, Any]]]]  # case -> (id, kind, at, data)
    steps: dict[str, list[tuple[str, datetime, Any]]]  # evaluation -> (kind, at, due_on)


def _at(v: Any) -> datetime:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v if v.tzinfo else v.replace(tzinfo=UTC)


def read_raw(target: Target, prefix: str) -> Raw:
    import json

    with target.engine.connect() as conn:
        cases = {r[0]: (hall_day(r[1]), *r[2:]) for r in conn.execute(sa.text(
            "SELECT id, created_at, window_code, first_responder_id, department_code, item_code "
            "FROM cases WHERE id LIKE :p"), {"p": prefix + "%"})}  # fmt: skip
        events: dict[str, list[Any]] = {c: [] for c in cases}
        for id_, case_id, kind, at, data in conn.execute(sa.text(
                "SELECT id, case_id, kind, created_at, data FROM case_events WHERE case_id LIKE :p"),
                {"p": prefix + "%"}):  # fmt: skip
            events[case_id].append((id_, kind, _at(at), json.loads(data) if isinstance(data, str) else data))
        steps: dict[str, list[Any]] = {}
        for ev, kind, at, due in conn.execute(sa.text(
                "SELECT evaluation_id, kind, created_at, due_on FROM follow_up_steps "
                "WHERE evaluation_id LIKE :p"), {"p": prefix + "%"}):  # fmt: skip
            steps.setdefault(ev, []).append((kind, _at(at), due))
    return Raw(cases, events, steps)


COUNTED = {"accepted": "accepted", "conditionally_accepted": "accepted", "extended": "extensions",
           "supplement_requested": "one_time_notices", "one_time_violation": "violations"}  # fmt: skip


def expected_counts(raw: Raw) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for case_id, (day, *group) in raw.cases.items():
        out[(day, *group, "received")] += 1
        evs = raw.events[case_id]
        promises = [d["promised_date"] for _i, k, _a, d in evs if k in PROMISING]
        latest = max(promises) if promises else None
        for _id, kind, at, _data in evs:
            key = (hall_day(at), *group)
            if kind in COUNTED:
                out[(*key, COUNTED[kind])] += 1
            elif kind == "completed" and latest is not None and hall_day(at) <= latest:
                out[(*key, "on_time")] += 1
    return +out


def kept_counts(target: Target, windows: list[str]) -> Counter[tuple[Any, ...]]:
    hall = f" AND hall_code = '{HALL}'" if target.central else ""
    ws = ", ".join(f"'{w}'" for w in windows)
    names = ("received", "accepted", "on_time", "one_time_notices", "violations", "extensions")
    out: Counter[tuple[Any, ...]] = Counter()
    with target.engine.connect() as conn:
        for r in conn.execute(sa.text(
                f"SELECT day, window_code, first_responder_id, department_code, item_code, {', '.join(names)} "
                f"FROM case_tallies WHERE window_code IN ({ws}){hall}")):  # fmt: skip
            for name, v in zip(names, r[5:], strict=True):
                assert v >= 0, (r, name)
                if v:
                    out[(*r[:5], name)] += int(v)
    return out


def expected_overdue(raw: Raw, end: datetime, as_of: date) -> set[str]:
    out = set()
    for case_id, evs in raw.events.items():
        before = [(k, a, d) for _i, k, a, d in evs if a < end]
        if not any(k in ("accepted", "conditionally_accepted") for k, _a, _d in before):
            continue
        if any(k == "completed" for k, _a, _d in before):
            continue
        promises = [d["promised_date"] for k, _a, d in before if k in PROMISING]
        if promises and max(promises) < as_of.isoformat():
            out.add(case_id)
    return out


def expected_open(raw: Raw) -> dict[str, tuple[Any, bool]]:
    out = {}
    for ev, steps in raw.steps.items():
        kinds = {k for k, _a, _d in steps}
        if "opened" not in kinds or kinds & {"closed", "appeal_upheld"}:
            continue
        due = max((d for k, _a, d in steps if k == "opened" and d is not None), default=None)
        out[ev] = (str(due)[:10] if due is not None else None, "called_back" in kinds)
    return out


def kept_open(target: Target, prefix: str) -> dict[str, tuple[Any, bool]]:
    hall = f" AND hall_code = '{HALL}'" if target.central else ""
    with target.engine.connect() as conn:
        return {r[0]: (str(r[1])[:10] if r[1] is not None else None, bool(r[2])) for r in conn.execute(sa.text(
            f"SELECT evaluation_id, due_on, called_back FROM open_follow_ups WHERE evaluation_id LIKE :p{hall}"),
            {"p": prefix + "%"})}  # fmt: skip


# ------------------------------------------------------------------ the tests


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(story=stories)
def test_kept_case_counts_and_open_follow_ups_equal_the_raw_facts(target: Target, story: Story) -> None:
    windows, prefix = play(target, story)
    raw = read_raw(target, prefix)
    assert kept_counts(target, windows) == expected_counts(raw)
    assert kept_open(target, prefix) == expected_open(raw)
    hall = HALL if target.central else None
    with target.engine.connect() as conn:
        for month, now in (("2026-09", datetime(2026, 10, 20, tzinfo=UTC)),
                           ("2026-09", datetime(2026, 9, 27, tzinfo=UTC)),
                           ("2026-10", datetime(2026, 10, 8, tzinfo=UTC)),
                           ("2026-10", datetime(2026, 11, 3, tzinfo=UTC))):  # fmt: skip
            period = parse_month(month)
            as_of = period.as_of(now)
            found = {r[0] for r in conn.execute(overdue_open_cases(period, as_of, hall))}
            assert {c for c in found if c.startswith(prefix)} == expected_overdue(raw, period.end_utc, as_of)


def test_a_case_completed_in_time_leaves_the_overdue_candidates(target: Target) -> None:
    """The candidates stay few: a case done within its promise is not kept."""
    story = Story([(0, 0, 0), (0, 1, 1)],
                  [[("accepted", 0, 0, 5), ("accepted", 1, 0, 2)], [("completed", 0, 30, 0), ("completed", 1, 24 * 6, 0)]],
                  [], [False] * 4)  # fmt: skip
    _windows, prefix = play(target, story)
    with target.engine.connect() as conn:
        kept = {r[0] for r in conn.execute(sa.text("SELECT case_id FROM case_deadlines WHERE case_id LIKE :p"),
                                          {"p": prefix + "%"})}  # fmt: skip
    assert kept == {f"{prefix}c1"}  # completed four days after its promise: it was overdue


def test_figures_read_the_counts(target: Target) -> None:
    story = Story([(0, 0, 0)],
                  [[("accepted", 0, 0, 3), ("supplement_requested", 0, 1, 0), ("extended", 0, 2, 9),
                    ("completed", 0, 24 * 7, 0)]], [], [False] * 4)  # fmt: skip
    windows, _prefix = play(target, story)
    hall = HALL if target.central else None
    with target.engine.connect() as conn:
        got = {f.key: f for f in case_figures(conn, parse_month("2026-09"), "window", hall=hall,
                                               now=datetime(2026, 10, 5, tzinfo=UTC))}  # fmt: skip
    f = got[windows[0]]
    # Completed on 9-29: after the first promise (9-25), within the extended one (10-01).
    assert (f.received, f.accepted, f.one_time_notices, f.extensions, f.completed, f.on_time) == (1, 1, 1, 1, 1, 1)
