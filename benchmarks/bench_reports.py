# ruff: noqa: E501 (SQL text)
"""Supervisors' figures at county scale: prints the figures, each next to hand SQL.

    .venv/bin/python benchmarks/bench_reports.py [--windows 200] [--months 12]
        [--per-day 100] [--backend postgresql|sqlite|both] [--keep NAME]
        [--keep-sqlite FILE]

Default: 200 windows × 12 months × 100 evaluations a working day (about 5
million evaluations, each with its case and completion event; 差评 open their
follow-ups, some appeals upheld). The rows are made in the database itself
(generate_series on PostgreSQL, a recursive CTE on SQLite) from the working
days of the hall's calendar, with the tally triggers dropped for the bulk
statements and the counts made afterwards by hallapp.reports.caseroll.rebuild_all
(the path of a store upgraded with its history), then ANALYZE. Timed,
median of 5 after a warm-up:

- the monthly tally per window and per clerk (hallapp.reports.tally, which
  reads the counts the triggers keep) and the best hand-written SQL over the
  raw facts for the same numbers (FILTER counts, anti-join on upheld
  appeals, the same indexes);
- the quarterly accountability list (hallapp.reports.accountability: the
  clerks at or over the threshold with their counts, what the view lists at
  once) and its hand SQL (GROUP BY staff HAVING over the raw evaluations);
  then one clerk opened from the list (its 差评 with their follow-up state,
  hallapp.reports.followups.clerk_reviews) and the whole list with every
  clerk's 差评 (the quarter's export), each next to its hand SQL;
- on SQLite the same (a small hall's central store);
- the supervisor view: from choosing a month to tables and charts on screen.

Targets: ≤ 300 ms and ≤ 1.5× hand SQL on PostgreSQL; ≤ 1 s on SQLite; the
view ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hallapp.demodata import HistoryParams, _reference
from hallapp.reports import (
    Definitions,
    accountability,
    caseroll,
    parse_month,
    parse_quarter,
    rollup,
    tally,
)
from hallapp.reports.followups import clerk_reviews
from hallapp.store import Store, sqlite_url
from hallapp.workdays import calendar_from_store

PG_ADMIN = os.environ.get(
    "HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
END = date(2026, 9, 30)


def median_ms(fn: Callable[[], Any], runs: int = 5) -> float:
    fn()  # warm-up (plans, caches)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def working_days(store: Store, months: int) -> list[date]:
    with store.session() as s:
        cal = calendar_from_store(s)
    first = date(END.year, END.month, 1)
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    days, d = [], first
    while d <= END:
        if cal.is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def fill(store: Store, windows: int, months: int, per_day: int) -> int:
    import random

    with store.session() as s:
        ref = _reference(s, HistoryParams(windows=windows), random.Random(1))
        item_of = {w: ref.items[ref.clerks[w][0].department][0].code for w in ref.windows}
        dept_of = {w: ref.clerks[w][0].department for w in ref.windows}
        from hallapp.models import Applicant

        applicant = Applicant(id=str(uuid.uuid4()), origin_window="B", kind="person",
                              name="基准测试申请人", created_at=datetime.now(UTC))  # fmt: skip
        s.add(applicant)
        applicant_id = applicant.id
    days = working_days(store, months)
    pg = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        for statement in rollup.drop_statements(store.engine.dialect.name):
            conn.exec_driver_sql(statement)
        conn.execute(
            sa.text(
                "CREATE TEMP TABLE bw (n integer, code text, item text, dept text, c0 text, c1 text)"
            )
        )
        conn.execute(sa.text("CREATE TEMP TABLE bd (n integer, d text)"))
        conn.execute(sa.text("INSERT INTO bw VALUES (:n, :code, :item, :dept, :c0, :c1)"), [
            {"n": i, "code": w, "item": item_of[w], "dept": dept_of[w], "c0": ref.clerks[w][0].id,
             "c1": ref.clerks[w][1].id} for i, w in enumerate(ref.windows)
        ])  # fmt: skip
        conn.execute(sa.text("INSERT INTO bd VALUES (:n, :d)"),
                     [{"n": i, "d": d.isoformat()} for i, d in enumerate(days)])  # fmt: skip
        if pg:
            seq = f"generate_series(1, {per_day})"
            at = "(bd.d::date + time '09:00' + (k * interval '4 minutes')) AT TIME ZONE 'Asia/Shanghai'"
            cid = "format('%s-%s-%s', bw.code, bd.n, k)"
            rnd = "(('x' || substr(md5(bw.code || bd.n || '-' || k), 1, 7))::bit(28)::int % 1000)"
            src = f"FROM bw CROSS JOIN bd CROSS JOIN {seq} AS k"
        else:
            conn.execute(sa.text("CREATE TEMP TABLE bk (k integer)"))
            conn.execute(
                sa.text("INSERT INTO bk VALUES (:k)"), [{"k": k} for k in range(1, per_day + 1)]
            )
            at = "datetime(bd.d || ' 01:00:00', '+' || (k * 4) || ' minutes')"
            cid = "bw.code || '-' || bd.n || '-' || k"
            rnd = "(abs(random()) % 1000)"
            src = "FROM bw CROSS JOIN bd CROSS JOIN bk"
        clerk = "CASE WHEN k % 2 = 0 THEN bw.c0 ELSE bw.c1 END"
        conn.execute(
            sa.text(f"""
            INSERT INTO cases (id, origin_window, created_at, case_no, item_code, applicant_id,
                               window_code, department_code, first_responder_id)
            SELECT {cid}, bw.code, {at}, 'B' || {cid}, bw.item, '{applicant_id}', bw.code,
                   bw.dept, {clerk} {src}""")
        )
        # Every case is accepted with a promised date five days on; one in twenty is
        # completed three days late, the rest within 0–3 days; a completion that
        # would fall after the last day is not there (the case is still open).
        late = "((k + bw.n + bd.n) % 20 = 0)"
        offset = f"(CASE WHEN {late} THEN 8 ELSE k % 4 END)"
        if pg:
            promised = "json_build_object('promised_date', to_char(bd.d::date + 5, 'YYYY-MM-DD'))"
            done_at = f"({at}) + ({offset} * interval '1 day')"
            done_ok = f"bd.d::date + {offset} <= DATE '{END.isoformat()}'"
        else:
            promised = "json_object('promised_date', date(bd.d, '+5 days'))"
            done_at = f"datetime({at}, '+' || {offset} || ' days')"
            done_ok = f"date(bd.d, '+' || {offset} || ' days') <= '{END.isoformat()}'"
        conn.execute(
            sa.text(f"""
            INSERT INTO case_events (id, origin_window, created_at, case_id, seq, kind, staff_id, data)
            SELECT {cid} || '-a', bw.code, {at}, {cid}, 1, 'accepted', {clerk}, {promised} {src}""")
        )
        conn.execute(
            sa.text(f"""
            INSERT INTO case_events (id, origin_window, created_at, case_id, seq, kind, staff_id, data)
            SELECT {cid} || '-c', bw.code, {done_at}, {cid}, 5, 'completed', {clerk},
                   CAST('{{}}' AS {"json" if pg else "text"}) {src} WHERE {done_ok}""")
        )
        level = (
            "CASE WHEN r < 15 THEN 1 WHEN r < 35 THEN 2 WHEN r < 120 THEN 3 "
            "WHEN r < 300 THEN 4 ELSE 5 END"
        )
        conn.execute(
            sa.text(f"""
            INSERT INTO evaluations (id, origin_window, created_at, case_id, case_no, item_code,
                window_code, staff_id, department_code, channel, device, level, reasons,
                applicant_kind)
            SELECT id || '-e', code, at, id, 'B' || id, item, code, clerk, dept,
                   'window_evaluator', 'bench', {level},
                   CAST(CASE WHEN r < 35 THEN '["等候时间长"]' ELSE '[]' END AS {"json" if pg else "text"}),
                   'person'
            FROM (SELECT {cid} AS id, bw.code AS code, {at} AS at, bw.item AS item,
                         {clerk} AS clerk, bw.dept AS dept, {rnd} AS r {src}) AS g
            WHERE r >= 50 OR r < 35""")
        )  # r in 35..50: 未评价
        conn.execute(
            sa.text("""
            INSERT INTO follow_up_steps (id, origin_window, created_at, evaluation_id, kind,
                                         staff_id, note, due_on)
            SELECT id || '-o', origin_window, created_at, id, 'opened', NULL, '差评', NULL
            FROM evaluations WHERE level <= 2""")
        )
        sup = ref.supervisors[0]
        conn.execute(
            sa.text(f"""
            INSERT INTO follow_up_steps (id, origin_window, created_at, evaluation_id, kind,
                                         staff_id, note, due_on)
            SELECT id || '-u', origin_window, created_at, id, 'appeal_upheld', '{sup}', '误评', NULL
            FROM evaluations WHERE level = 1 AND length(id) % 3 = 0""")
        )
        n = conn.execute(sa.text("SELECT count(*) FROM evaluations")).scalar_one()
        t = time.perf_counter()
        caseroll.install_all(conn, central=False)
        caseroll.rebuild_all(conn, central=False)
        print(f"{'PostgreSQL' if pg else 'SQLite'}: tallies counted from the facts in "
              f"{time.perf_counter() - t:.0f} s")  # fmt: skip
    with store.engine.connect() as conn:
        if pg:
            conn.execute(sa.text("ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return int(n)


def hand_tally(conn: sa.Connection, column: str, period: Any) -> list[Any]:
    pg = conn.dialect.name == "postgresql"
    counts = ", ".join(
        (f"count(*) FILTER (WHERE level = {v})" if pg else f"sum(level = {v})")
        for v in (5, 4, 3, 2, 1)
    )
    params = {"a": period.start_utc, "b": period.end_utc}
    if not pg:
        params = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in params.items()}
    evals = conn.execute(
        sa.text(f"""
        SELECT e.{column}, {counts} FROM evaluations e
        WHERE e.created_at >= :a AND e.created_at < :b
          AND NOT EXISTS (SELECT 1 FROM follow_up_steps f
                          WHERE f.evaluation_id = e.id AND f.kind = 'appeal_upheld')
        GROUP BY e.{column}"""),
        params,
    ).all()
    case_col = {"window_code": "window_code", "staff_id": "first_responder_id"}[column]
    done = conn.execute(
        sa.text(f"""
        SELECT c.{case_col}, count(*),
               sum(CASE WHEN EXISTS (SELECT 1 FROM evaluations x WHERE x.case_id = c.id
                    AND NOT EXISTS (SELECT 1 FROM follow_up_steps f WHERE f.evaluation_id = x.id
                                    AND f.kind = 'appeal_upheld')) THEN 1 ELSE 0 END)
        FROM case_events ev JOIN cases c ON c.id = ev.case_id
        WHERE ev.kind = 'completed' AND ev.created_at >= :a AND ev.created_at < :b
        GROUP BY c.{case_col}"""),
        params,
    ).all()
    return evals + done


def _params(conn: sa.Connection, period: Any) -> dict[str, Any]:
    params = {"a": period.start_utc, "b": period.end_utc}
    if conn.dialect.name != "postgresql":
        params = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in params.items()}
    return params


def hand_accountability(conn: sa.Connection, period: Any) -> list[Any]:
    """The clerks whose 不满意率 reached 1 %, with their counts, from the raw facts."""
    return list(conn.execute(sa.text("""
        SELECT staff_id, count(*), sum(CASE WHEN level <= 2 THEN 1 ELSE 0 END) FROM evaluations e
        WHERE created_at >= :a AND created_at < :b
          AND NOT EXISTS (SELECT 1 FROM follow_up_steps f
                          WHERE f.evaluation_id = e.id AND f.kind = 'appeal_upheld')
        GROUP BY staff_id
        HAVING 100.0 * sum(CASE WHEN level <= 2 THEN 1 ELSE 0 END) >= 1.0 * count(*)"""),
        _params(conn, period)).all())  # fmt: skip


def hand_reviews(conn: sa.Connection, period: Any, ids: list[str]) -> list[Any]:
    """The clerks' 差评 with where each follow-up stands, as the list shows them."""
    if not ids:
        return []
    quoted = ", ".join(f"'{i}'" for i in ids)
    return list(conn.execute(sa.text(f"""
        SELECT e.id, e.staff_id, e.case_no, e.level, e.created_at,
               max(CASE WHEN f.kind = 'verified' THEN 1 ELSE 0 END),
               max(CASE WHEN f.kind = 'called_back' THEN 1 ELSE 0 END),
               max(CASE WHEN f.kind = 'rectified' THEN 1 ELSE 0 END),
               max(CASE WHEN f.kind = 'closed' THEN 1 ELSE 0 END),
               max(f.due_on)
        FROM evaluations e LEFT JOIN follow_up_steps f ON f.evaluation_id = e.id
        WHERE e.staff_id IN ({quoted}) AND e.level <= 2
          AND e.created_at >= :a AND e.created_at < :b
          AND NOT EXISTS (SELECT 1 FROM follow_up_steps u
                          WHERE u.evaluation_id = e.id AND u.kind = 'appeal_upheld')
        GROUP BY e.id, e.staff_id, e.case_no, e.level, e.created_at
        ORDER BY e.created_at"""), _params(conn, period)).all())  # fmt: skip


def measure(store: Store, label: str) -> dict[str, float]:
    m, q = parse_month("2026-09"), parse_quarter("2026-Q3")
    defs = Definitions()
    out: dict[str, float] = {}
    from hallapp.reports.sql import reading

    # Ours on the store's read transaction (as the view and the CLI read);
    # the hand SQL on a plain connection with the server's defaults (JIT on),
    # so nothing of ours slows it.
    with reading(store) as conn, store.engine.connect() as raw:
        for by, column in (("window", "window_code"), ("clerk", "staff_id")):
            ours = median_ms(lambda by=by: tally(conn, m, by, definitions=defs))
            hand = median_ms(lambda column=column: hand_tally(raw, column, m))
            t = tally(conn, m, by, definitions=defs)
            rows = hand_tally(raw, column, m)
            hand_total = sum(int(x) for r in rows if len(r) == 6 for x in r[1:6])
            assert t.total.evaluations == hand_total, (t.total.evaluations, hand_total)
            out[f"tally_{by}"] = ours
            print(f"{label}: monthly tally per {by:6}: {ours:7.1f} ms   hand SQL {hand:7.1f} ms   "
                  f"ratio {ours / hand:4.2f}   ({len(t.rows)} groups, {t.total.evaluations} evaluations)")  # fmt: skip
        # The list: the clerks at or over the threshold with their counts (what
        # the view shows at once, and the figure the target is about).
        ours = median_ms(lambda: accountability(conn, q, definitions=defs, reviews=False))
        hand = median_ms(lambda: hand_accountability(raw, q))
        found = accountability(conn, q, definitions=defs, reviews=False)
        hand_rows = hand_accountability(raw, q)
        assert {(a.staff_id, a.evaluations, a.bad) for a in found} == {
            (r[0], int(r[1]), int(r[2])) for r in hand_rows
        }
        out["accountability"] = ours
        print(f"{label}: quarterly accountability list: {ours:7.1f} ms   hand SQL {hand:7.1f} ms   "
              f"ratio {ours / hand:4.2f}   ({len(found)} clerks with their counts)")  # fmt: skip
        # One clerk opened from the list: the 差评 behind the rate and their state.
        worst = found[0].staff_id
        ours = median_ms(lambda: clerk_reviews(conn, q, worst))
        hand = median_ms(lambda: hand_reviews(raw, q, [worst]))
        n = len(clerk_reviews(conn, q, worst))
        assert n == len(hand_reviews(raw, q, [worst])) == found[0].bad
        print(f"{label}: one clerk's 差评 with state:   {ours:7.1f} ms   hand SQL {hand:7.1f} ms   "
              f"ratio {ours / hand:4.2f}   ({n} 差评)")  # fmt: skip
        # The whole list with every clerk's 差评 (the quarter's export).
        ids = [a.staff_id for a in found]
        ours = median_ms(lambda: accountability(conn, q, definitions=defs), runs=3)
        hand = median_ms(lambda: (hand_accountability(raw, q), hand_reviews(raw, q, ids)), runs=3)
        total = sum(len(a.reviews) for a in accountability(conn, q, definitions=defs))
        print(f"{label}: accountability export (all 差评): {ours:7.1f} ms   hand SQL {hand:7.1f} ms   "
              f"ratio {ours / hand:4.2f}   ({total} 差评)")  # fmt: skip
    return out


def view_month_change(store: Store) -> float:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from hallapp.ui.supervisor import SupervisorView
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from hallapp.config import parse_config

    app = QApplication.instance() or QApplication([])
    view = SupervisorView(store, parse_config({}), None, today=END)
    view.resize(1500, 900)
    view.show()
    loaded: list[Any] = []
    view.loaded.connect(loaded.append)

    def wait(n: int) -> None:
        # A load that failed never emits `loaded`: give up instead of spinning forever.
        deadline = time.monotonic() + 300
        while len(loaded) < n:
            QCoreApplication.processEvents()
            time.sleep(0.001)
            if time.monotonic() > deadline:
                raise TimeoutError("the supervisor view did not finish loading in 300 s")

    wait(1)  # the first load at start
    times = []
    for key in ("2026-08", "2026-09", "2026-07", "2026-09"):
        t = time.perf_counter()
        view.choose(key)
        wait(len(loaded) + 1)
        QCoreApplication.processEvents()
        times.append((time.perf_counter() - t) * 1000)
    view.close()
    del app
    return statistics.median(times)


def view_parts(store: Store) -> None:
    """Where a month change spends its time: each query of the view, alone."""
    from hallapp.ui.supervisor import QUEUE_SHOWN

    from hallapp.followup import queue, queue_size
    from hallapp.reports import case_figures, follow_up_figures
    from hallapp.reports.periods import previous_months
    from hallapp.reports.sql import reading
    from hallapp.reports.tally import monthly_totals

    m, q, defs = parse_month("2026-09"), parse_quarter("2026-Q3"), Definitions()
    now = datetime(2026, 10, 1, tzinfo=UTC)
    parts: dict[str, Callable[[sa.Connection], Any]] = {
        "tally": lambda c: tally(c, m, "window", definitions=defs),
        "case figures": lambda c: case_figures(c, m, "window", now=now),
        "follow-up figures": lambda c: follow_up_figures(c, m, "window", definitions=defs, now=now),
        "trend (12 months)": lambda c: monthly_totals(c, previous_months(m, 12), definitions=defs),
        "quarter accountability": lambda c: accountability(c, q, definitions=defs, now=now,
                                                           reviews=False),
        "follow-up queue": lambda c: queue(c, today=END, limit=QUEUE_SHOWN),
        "follow-up queue size": lambda c: queue_size(c, today=END),
    }
    name = "PostgreSQL" if store.engine.dialect.name == "postgresql" else "SQLite"
    with reading(store) as conn:
        for part, fn in parts.items():
            print(f"{name}: view part {part:24}: {median_ms(lambda fn=fn: fn(conn), runs=3):7.1f} ms")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--windows", type=int, default=200)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--per-day", type=int, default=100)
    p.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    p.add_argument("--keep", metavar="NAME", help="PostgreSQL: keep the database NAME (made "
                   "and filled if missing, reused as it is if there) and do not drop it")  # fmt: skip
    p.add_argument("--keep-sqlite", metavar="FILE", type=Path, help="SQLite: the central "
                   "file (made and filled if missing, reused as it is if there), kept")  # fmt: skip
    args = p.parse_args()
    print(f"scale: {args.windows} windows × {args.months} months × {args.per_day} a working day")
    print("hand SQL: the best hand-written SQL over the raw facts (evaluations, case events, "
          "upheld appeals) for the same figures, using the same indexes")  # fmt: skip
    if args.backend in ("postgresql", "both"):
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = args.keep or f"hallapp_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            there = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            reuse = there.scalar() is not None
            if not reuse:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            store = Store.open(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
            if reuse:
                with store.engine.begin() as conn:
                    n = conn.execute(sa.text("SELECT count(*) FROM evaluations")).scalar_one()
                    conn.exec_driver_sql("ANALYZE")
                print(f"PostgreSQL: reusing {name} with {n} evaluations")
            else:
                t = time.perf_counter()
                n = fill(store, args.windows, args.months, args.per_day)
                print(f"PostgreSQL: {n} evaluations made in {time.perf_counter() - t:.0f} s")
            measure(store, "PostgreSQL")
            view_parts(store)
            print(
                f"PostgreSQL: view month change to tables + charts: {view_month_change(store):.0f} ms"
            )
            store.dispose()
        finally:
            if not args.keep:
                with admin.connect() as c:
                    c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.keep_sqlite or Path(tmp) / "central.sqlite3"
            reuse = path.exists()
            store = Store.open(sqlite_url(path))
            if reuse:
                with store.engine.begin() as conn:
                    n = conn.execute(sa.text("SELECT count(*) FROM evaluations")).scalar_one()
                print(f"SQLite: reusing {path} with {n} evaluations")
            else:
                t = time.perf_counter()
                n = fill(store, args.windows, args.months, args.per_day)
                print(f"SQLite: {n} evaluations made in {time.perf_counter() - t:.0f} s")
            measure(store, "SQLite")
            view_parts(store)
            if args.backend == "sqlite":
                print(
                    f"SQLite: view month change to tables + charts: {view_month_change(store):.0f} ms"
                )
            store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
