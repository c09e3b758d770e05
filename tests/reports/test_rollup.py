# ruff: noqa: E501 (SQL text)
"""The counts kept by triggers equal a count over the raw facts, at every commit.

Facts arrive in random batches: completions before or after their case's
evaluations, several evaluations per case (一次一评), upheld appeals (some
twice, some before their evaluation reaches the centre), rejected appeals
and other steps that change nothing, and at the centre batches sent again
(the push's own idempotent insert). The expected counts are made in Python
from the raw rows, not with the triggers' SQL. A transaction that is rolled
back, or a process killed with SIGKILL in the middle of one, leaves the
counts equal to the facts.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallapp.models import Applicant, Staff
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import init_central
from hallapp.sync.push import _insert
from tests.conftest import _fresh_pg_database, make_reference

UPHELD, REJECTED, OPENED = "appeal_upheld", "appeal_rejected", "opened"
BASE = datetime(2026, 9, 29, 14, 0, tzinfo=UTC)  # 22:00 in the hall: days straddle
_serial = itertools.count(1)


@dataclass
class Target:
    """Where facts go: a local store (Core insert) or a central one (the push's insert)."""

    engine: sa.Engine
    central: bool
    clerks: tuple[str, str]
    items: tuple[str, str]
    applicant: str

    def insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.engine.begin() as conn:
            if not self.central:
                # Several rows: one multi-row INSERT on PostgreSQL (insertmanyvalues).
                conn.execute(_local_table(table).insert(), rows)
                return
            local = _local_table(table)
            raw = [(i + 1, *(_raw(r.get(c.name), c) for c in local.columns))
                   for i, r in enumerate(rows)]  # fmt: skip
            _insert(conn, local, HALL, raw)


HALL = "T1"


def _local_table(name: str) -> sa.Table:
    from hallapp.models import Base

    return Base.metadata.tables[name]


def _raw(value: Any, col: sa.Column[Any]) -> Any:
    """A value as a window's SQLite store holds it (what a push sends)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _local(store: Store) -> Target:
    ref = make_reference(store)
    with store.session() as s:
        a = Applicant(kind="person", name="测试申请人", origin_window="A03")
        s.add(a)
        s.flush()
        applicant = a.id
        other = s.get(Staff, ref.supervisor_id)
        assert other is not None
    return Target(store.engine, False, (ref.clerk_id, ref.supervisor_id),
                  (ref.item_code, ref.instant_code), applicant)  # fmt: skip


TARGETS = ["local-sqlite", "local-pg", "central-sqlite", "central-pg"]


@pytest.fixture(scope="module", params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    yield from make_target(request, tmp_path_factory)


def make_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """A fresh store of the kind ``request.param`` names (one database each)."""
    kind = str(request.param)
    if kind.endswith("pg"):
        fresh = _fresh_pg_database()  # one database for each store: not shared
        url = next(fresh)
        request.addfinalizer(lambda: next(fresh, None))
    else:
        url = sqlite_url(tmp_path_factory.mktemp("rollup") / "store.sqlite3")
    if kind.startswith("local"):
        store = Store.open(url)
        yield _local(store)
        store.dispose()
        return
    init_central(url)
    engine = sa.create_engine(url)
    if kind.endswith("pg"):
        # The counts must hold for steps in any order, also ones the
        # follow-up rule refuses at a real centre (decisions without their
        # appeal: tests/central_roles/test_central_guards_postgres.py).
        with engine.begin() as c:
            c.exec_driver_sql(
                "DROP TRIGGER trg_follow_up_steps_appeal_check ON follow_up_steps"
            )
    yield Target(engine, True, ("s-1", "s-2"), ("I-1", "I-2"), "ap-1")
    engine.dispose()


# ------------------------------------------------------------------ the facts


@dataclass(frozen=True)
class Story:
    """One example's facts: cases, then batches of events, evaluations and steps."""

    cases: list[tuple[int, int, int]]  # (window 0/1, clerk 0/1, item 0/1)
    batches: list[list[tuple[str, int, int, int]]]  # (kind, case or evaluation, level, minutes)


fact = st.tuples(
    st.sampled_from(["complete", "evaluate", "evaluate", UPHELD, REJECTED, OPENED, "again"]),
    st.integers(0, 5),
    st.integers(1, 5),
    st.integers(0, 3000),
)
stories = st.builds(
    Story,
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=6
    ),
    st.lists(st.lists(fact, max_size=8), min_size=1, max_size=5),
)


def play(target: Target, story: Story) -> list[str]:
    """Insert the story's facts; returns the example's window codes."""
    n = next(_serial)
    windows = [f"W{n:04d}a", f"W{n:04d}b"]
    cases = []
    for i, (w, c, it) in enumerate(story.cases):
        cases.append(
            dict(
                id=f"{n}-c{i}",
                origin_window=windows[w],
                created_at=BASE,
                case_no=f"{n}-{i}",
                item_code=target.items[it],
                applicant_id=target.applicant,
                window_code=windows[w],
                department_code=f"D{it}",
                first_responder_id=target.clerks[c],
            )
        )
    target.insert("cases", cases)
    sent: dict[str, list[dict[str, Any]]] = {"case_events": [], "evaluations": [], "follow_up_steps": []}  # fmt: skip
    evaluations: list[dict[str, Any]] = []
    for b, batch in enumerate(story.batches):
        rows: dict[str, list[dict[str, Any]]] = {k: [] for k in sent}
        for j, (kind, ref, level, minutes) in enumerate(batch):
            at = BASE + timedelta(minutes=minutes)
            key = f"{n}-{b}-{j}"
            case = cases[ref % len(cases)]
            if kind == "complete":
                rows["case_events"].append(
                    dict(
                        id=key,
                        origin_window=case["window_code"],
                        created_at=at,
                        case_id=case["id"],
                        seq=5,
                        kind="completed",
                        staff_id=case["first_responder_id"],
                        data={},
                    )
                )
            elif kind == "evaluate":
                e = dict(id=key, origin_window=case["window_code"], created_at=at,
                         case_id=case["id"], encounter="handover", encounter_event_id=key,
                         case_no=case["case_no"], item_code=case["item_code"],
                         window_code=case["window_code"],
                         staff_id=target.clerks[level % 2],
                         department_code=case["department_code"], channel="window_evaluator",
                         device="t", level=level, reasons=[], applicant_kind="person")  # fmt: skip
                rows["evaluations"].append(e)
                evaluations.append(e)
            elif kind in (UPHELD, REJECTED, OPENED):
                # Locally a step follows its evaluation (a foreign key); the
                # centre may get it first (another window's batch order).
                pool = evaluations if not target.central else evaluations + [
                    dict(id=f"{n}-{b}-{k}") for k in range(len(batch))
                ]  # fmt: skip
                if not pool:
                    continue
                rows["follow_up_steps"].append(
                    dict(
                        id=key,
                        origin_window="@centre",
                        created_at=at,
                        evaluation_id=pool[ref % len(pool)]["id"],
                        kind=kind,
                        staff_id=target.clerks[1],
                        note="",
                        due_on=None,
                    )
                )
            elif kind == "again" and target.central:
                # A batch sent again (the cursor did not advance): nothing changes.
                for table, earlier in sent.items():
                    rows[table].extend(earlier[-3:])
        order = list(rows)
        if target.central and b % 2:
            order.reverse()  # steps, then evaluations, then completions
        for table in order:
            target.insert(table, rows[table])
            sent[table].extend(r for r in rows[table] if r not in sent[table])
    return windows


# ---------------------------------------------------------------- the oracle


def hall_day(at: Any) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at.astimezone(UTC) + timedelta(hours=8)).date().isoformat()


def raw_counts(target: Target, windows: list[str]) -> tuple[Counter[tuple[Any, ...]], ...]:
    """(level counts, completed, evaluated) from the raw facts, counted in Python."""
    hall = f" AND hall_code = '{HALL}'" if target.central else ""
    ws = ", ".join(f"'{w}'" for w in windows)
    with target.engine.connect() as conn:
        steps = conn.execute(sa.text(f"SELECT evaluation_id, kind FROM follow_up_steps WHERE true{hall}")).all()  # fmt: skip
        upheld = {e for e, k in steps if k == UPHELD}
        evals = conn.execute(sa.text(
            f"SELECT id, case_id, created_at, window_code, staff_id, department_code, item_code, level "
            f"FROM evaluations WHERE window_code IN ({ws}){hall}")).all()  # fmt: skip
        cases = {r[0]: r[1:] for r in conn.execute(sa.text(
            f"SELECT id, window_code, first_responder_id, department_code, item_code FROM cases "
            f"WHERE window_code IN ({ws}){hall}"))}  # fmt: skip
        done = conn.execute(sa.text(
            f"SELECT case_id, created_at FROM case_events WHERE kind = 'completed'{hall}")).all()  # fmt: skip
    levels: Counter[tuple[Any, ...]] = Counter()
    evaluated_cases = set()
    for id_, case_id, at, *dims in evals:
        if id_ in upheld:
            continue
        levels[(hall_day(at), *dims)] += 1
        evaluated_cases.add(case_id)
    completed: Counter[tuple[Any, ...]] = Counter()
    evaluated: Counter[tuple[Any, ...]] = Counter()
    for case_id, at in done:
        if case_id in cases:
            key = (hall_day(at), *cases[case_id])
            completed[key] += 1
            evaluated[key] += case_id in evaluated_cases
    return levels, completed, evaluated


def kept_counts(target: Target, windows: list[str]) -> tuple[Counter[tuple[Any, ...]], ...]:
    hall = f" AND hall_code = '{HALL}'" if target.central else ""
    ws = ", ".join(f"'{w}'" for w in windows)
    with target.engine.connect() as conn:
        levels = Counter({tuple(r[:-1]): int(r[-1]) for r in conn.execute(sa.text(
            "SELECT day, window_code, staff_id, department_code, item_code, level, n "
            f"FROM evaluation_tallies WHERE window_code IN ({ws}){hall}"))})  # fmt: skip
        rows = conn.execute(sa.text(
            "SELECT day, window_code, first_responder_id, department_code, item_code, "
            f"completed, evaluated FROM completion_tallies WHERE window_code IN ({ws}){hall}")).all()  # fmt: skip
    completed = Counter({tuple(r[:5]): int(r[5]) for r in rows})
    evaluated = Counter({tuple(r[:5]): int(r[6]) for r in rows})
    return levels, completed, evaluated


def positive(c: Counter[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    assert all(v >= 0 for v in c.values()), c
    return {k: v for k, v in c.items() if v}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(story=stories)
def test_kept_counts_equal_raw_counts(target: Target, story: Story) -> None:
    windows = play(target, story)
    for kept, raw in zip(kept_counts(target, windows), raw_counts(target, windows), strict=True):
        assert positive(kept) == positive(raw)


def test_rolled_back_facts_leave_no_count(target: Target) -> None:
    story = Story([(0, 0, 0)], [[("complete", 0, 1, 0), ("evaluate", 0, 2, 5)]])
    windows = play(target, story)
    before = kept_counts(target, windows)
    engine = target.engine
    with engine.connect() as conn:
        trans = conn.begin()
        hall = "hall_code, " if target.central else ""
        hv = f"'{HALL}', " if target.central else ""
        conn.execute(sa.text(
            f"INSERT INTO case_events ({hall}id, origin_window, created_at, case_id, seq, kind, data) "
            f"SELECT {hv}'rb-' || id, origin_window, created_at, case_id, 6, 'completed', data "
            f"FROM case_events WHERE case_id IN (SELECT id FROM cases WHERE window_code = '{windows[0]}')"))  # fmt: skip
        assert kept_counts_in(conn, target, windows) != before[1]
        trans.rollback()
    assert kept_counts(target, windows) == before


def kept_counts_in(conn: sa.Connection, target: Target, windows: list[str]) -> Counter[Any]:
    ws = ", ".join(f"'{w}'" for w in windows)
    return Counter({tuple(r[:5]): int(r[5]) for r in conn.execute(sa.text(
        "SELECT day, window_code, first_responder_id, department_code, item_code, completed "
        f"FROM completion_tallies WHERE window_code IN ({ws})"))})  # fmt: skip


# ------------------------------------------------------------------- SIGKILL

_WRITER = textwrap.dedent(
    """
    import sys, itertools
    from datetime import UTC, datetime, timedelta
    import sqlalchemy as sa
    url, case_id, clerk, item = sys.argv[1:5]
    engine = sa.create_engine(url)
    base = datetime(2026, 9, 1, 1, 0)
    for i in itertools.count():
        with engine.begin() as conn:
            for j in range(50):
                k = f"k{i}-{j}"
                at = (base + timedelta(minutes=i)).isoformat(sep=" ")
                conn.execute(sa.text(
                    "INSERT INTO evaluations (id, origin_window, created_at, case_id, encounter,"
                    " encounter_event_id, case_no, item_code, window_code, staff_id,"
                    " department_code, channel, device, level, reasons, applicant_kind)"
                    " VALUES (:k, 'KILL', :at, :c, 'handover', :k, 'n', :item, 'KILL', :s, 'D',"
                    " 'window_evaluator', 'd', :lv, '[]', 'person')"),
                    dict(k=k, at=at, c=case_id, item=item, s=clerk, lv=1 + (i + j) % 5))
                if j % 10 == 0:
                    conn.execute(sa.text(
                        "INSERT INTO follow_up_steps (id, origin_window, created_at, evaluation_id,"
                        " kind, note) VALUES (:k || 'u', 'KILL', :at, :k, 'appeal_upheld', '')"),
                        dict(k=k, at=at))
        print(i, flush=True)
    """
)


def test_sigkill_mid_transaction_keeps_counts_equal(tmp_path: Path) -> None:
    store = Store.open(sqlite_url(tmp_path / "kill.sqlite3"))
    target = _local(store)
    target.insert("cases", [dict(id="kc", origin_window="KILL", created_at=BASE, case_no="KC",
                                  item_code=target.items[0], applicant_id=target.applicant,
                                  window_code="KILL", department_code="D",
                                  first_responder_id=target.clerks[0])])  # fmt: skip
    url = str(store.engine.url)
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), url, "kc", target.clerks[0], target.items[0]],
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
        )  # fmt: skip
        assert proc.stdout is not None
        proc.stdout.readline()  # a transaction committed: the next ones are under way
        time.sleep(0.05 + 0.1 * _)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    levels, _c, _e = kept_counts(target, ["KILL"])
    raw, _c, _e = raw_counts(target, ["KILL"])
    assert sum(levels.values()) > 0
    assert positive(levels) == positive(raw)
    store.dispose()


def test_a_time_just_before_the_halls_midnight_is_counted_on_its_own_day(
    target: Target,
) -> None:
    """23:59:59.9999 hall time is still 9-30: SQLite's date() rounds a
    fraction to the millisecond, so the day is taken from the seconds."""
    windows = play(target, Story([(0, 0, 0)], [[("complete", 0, 1, 0)]]))
    with target.engine.connect() as conn:
        case = conn.execute(sa.text(
            "SELECT id, case_no, item_code, department_code FROM cases WHERE window_code = :w"),
            {"w": windows[0]}).one()  # fmt: skip
    at = datetime(2026, 9, 30, 15, 59, 59, 999900, tzinfo=UTC)
    target.insert("evaluations", [dict(
        id=f"{case[0]}-late", origin_window=windows[0], created_at=at, case_id=case[0],
        encounter="handover", encounter_event_id=f"{case[0]}-late", case_no=case[1],
        item_code=case[2], window_code=windows[0], staff_id=target.clerks[0],
        department_code=case[3], channel="window_evaluator", device="t", level=4, reasons=[],
        applicant_kind="person")])  # fmt: skip
    with target.engine.connect() as conn:
        days = conn.execute(sa.text(
            "SELECT day, sum(n) FROM evaluation_tallies WHERE window_code = :w GROUP BY day"),
            {"w": windows[0]}).all()  # fmt: skip
    assert [(str(d), int(n)) for d, n in days] == [("2026-09-30", 1)]
