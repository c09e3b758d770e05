"""Pushes in processes of their own: killed with SIGKILL at random moments,
and twenty windows pushing at once — on PostgreSQL and on a SQLite central file.

Children are forked from the test process (the modules are already
imported, so a kill can land early in a pass rather than during imports);
each makes its own engines after the fork.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time

import sqlalchemy as sa

from hallapp.store import Store, sqlite_url
from hallapp.sync import BadRecord, CentreUnreachable
from hallapp.sync.centre import central_engine
from hallapp.sync.push import pending_count, push
from hallapp.sync.verify import verify_central

HALL = "LC"
FORK = mp.get_context("fork")


def _push_until_done(
    db: str, url: str, window: str, batch: int, deadline: float, out, report_batches=False
) -> None:
    """A child: push this window's store until nothing is pending (retrying
    while the centre is busy), then report. Runs after fork: fresh engines."""
    status = "timeout"
    try:
        store = Store.open(sqlite_url(db), run_migrations=False)
        engine = central_engine(url)
        out.put(("ready", window, os.getpid()))
        while time.monotonic() < deadline:
            try:
                result = push(
                    store,
                    engine,
                    hall_code=HALL,
                    window_code=window,
                    batch_size=batch,
                    # Each committed batch, so the parent can kill inside a pass.
                    on_batch=(lambda t, n: out.put(("batch", window, n)))
                    if report_batches
                    else None,
                )
            except CentreUnreachable:
                time.sleep(0.05)  # a SQLite centre locked by another window: retry
                continue
            except BadRecord as exc:
                status = f"bad:{exc.table}:{exc.record_id}"
                break
            if result.pending == 0:
                status = "done"
                break
        out.put((status, window, time.monotonic()))
    except BaseException as exc:
        out.put((f"error:{type(exc).__name__}:{exc}", window, 0.0))
    finally:
        # The queue's feeder thread must flush before the hard exit.
        out.close()
        out.join_thread()
        os._exit(0)


def _central_ids(engine: sa.Engine, ids_of, window: str):
    return ids_of(engine, hall=HALL, window=window)


def test_push_killed_at_random_moments_loses_and_duplicates_nothing(
    central_url, tmp_path, window_factory, ids_of
):
    window = window_factory(tmp_path / "a05.sqlite3", "A05")
    rng = random.Random(20261201)
    kills = 0
    try:
        for _ in range(60):
            window.new_case(level=rng.choice([5, 4, 3, 1, None]))
        window.store.dispose()  # no open connection crosses the fork
        db = window.store.engine.url.database
        rounds = mid_pass = 0
        before = pending_count(window.store)
        window.store.dispose()
        while kills < 30 and rounds < 80:
            rounds += 1
            # A queue per child: one killed while its feeder thread held the
            # queue's shared write lock would block every later child's
            # reports (and its exit) for good.
            queue = FORK.Queue()
            proc = FORK.Process(
                target=_push_until_done,
                args=(
                    db,
                    central_url,
                    "A05",
                    rng.choice([7, 13, 40]),
                    time.monotonic() + 30,
                    queue,
                    True,
                ),
            )
            proc.start()
            kind, *_ = queue.get(timeout=30)
            assert kind == "ready"
            # Anywhere from the start of a pass to well inside it: after 0–3
            # committed batches, then a few milliseconds more (between
            # batches, inside a COPY, inside the local cursor's commit).
            for _ in range(rng.choice([0, 0, 1, 2, 3])):
                try:
                    kind, *_ = queue.get(timeout=10)
                except Exception:
                    break
                if kind != "batch":
                    break  # the pass ended first
            time.sleep(rng.uniform(0, 0.03))
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.join(10)
            assert proc.exitcode is not None
            left = pending_count(window.store)
            if 0 < left < before:
                mid_pass += 1  # killed after some batches committed, before the end
            before = left
            queue.close()
            # The window keeps working between the kills, and always has more
            # than one batch waiting, so a kill after a batch lands inside a pass.
            if rounds % 3 == 0 or before < 150:
                for _ in range(15 if before < 150 else 1):
                    window.new_case(level=rng.choice([5, 2]))
                before = pending_count(window.store)
            window.store.dispose()
        assert kills >= 30, f"only {kills} pushes were still running when killed"
        assert mid_pass >= 5, f"only {mid_pass} kills landed inside a pass"
        print(f"kills {kills}, inside a pass {mid_pass}, rounds {rounds}")

        engine = central_engine(central_url)
        try:
            push(window.store, engine, hall_code=HALL, window_code="A05")
            assert pending_count(window.store) == 0
            local = ids_of(window.store.engine)
            assert _central_ids(engine, ids_of, "A05") == local
            with engine.connect() as c:
                for table, want in local.items():
                    n, distinct = c.exec_driver_sql(
                        f"SELECT count(*), count(DISTINCT id) FROM {table}"
                    ).one()
                    assert n == distinct == len(want), table
            report = verify_central(engine, hall_code=HALL)
            assert not report.faults, report.faults  # no chain break from a kill
        finally:
            engine.dispose()
    finally:
        window.store.dispose()


def test_twenty_windows_push_at_once(central_url, tmp_path, window_factory, ids_of):
    codes = [f"A{n:02d}" for n in range(1, 21)]
    rng = random.Random(7)
    expected: dict[str, dict[str, list[str]]] = {}
    for code in codes:
        w = window_factory(tmp_path / f"{code}.sqlite3", code)
        for _ in range(rng.randrange(8, 16)):
            w.new_case(level=rng.choice([5, 4, 1, None]))
        expected[code] = ids_of(w.store.engine)
        w.store.dispose()

    queue = FORK.Queue()
    deadline = time.monotonic() + 50
    procs = [
        FORK.Process(
            target=_push_until_done,
            args=(str(tmp_path / f"{code}.sqlite3"), central_url, code, 25, deadline, queue),
        )
        for code in codes
    ]
    for p in procs:
        p.start()
    results: dict[str, str] = {}
    while len(results) < len(codes):
        kind, code, _t = queue.get(timeout=60)
        if kind != "ready":
            results[code] = kind
    for p in procs:
        p.join(10)
    assert results == dict.fromkeys(codes, "done")

    engine = central_engine(central_url)
    try:
        with engine.connect() as c:
            for table in expected[codes[0]]:
                total = c.exec_driver_sql(
                    f"SELECT count(*) FROM {table} WHERE origin_window <> '@centre'"
                ).scalar()
                assert total == sum(len(expected[code][table]) for code in codes), table
        for code in codes:
            assert _central_ids(engine, ids_of, code) == expected[code], code
    finally:
        engine.dispose()


def test_a_bad_record_stops_its_window_only(central_url, tmp_path, window_factory, ids_of):
    import sqlite3

    good_codes = ["B01", "B02", "B03"]
    stores = {}
    for code in [*good_codes, "B09"]:
        w = window_factory(tmp_path / f"{code}.sqlite3", code)
        for _ in range(4):
            w.new_case(level=4)
        stores[code] = w
    bad = stores["B09"]
    bad_case = bad.new_case(level=5)
    bad.store.dispose()
    raw = sqlite3.connect(bad.store.engine.url.database)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    raw.execute("UPDATE evaluations SET level = 9 WHERE case_id = ?", (bad_case,))
    bad_id = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (bad_case,)).fetchone()[0]
    raw.commit()
    raw.close()
    for w in stores.values():
        w.store.dispose()

    queue = FORK.Queue()
    deadline = time.monotonic() + 40
    procs = [
        FORK.Process(
            target=_push_until_done,
            args=(str(tmp_path / f"{code}.sqlite3"), central_url, code, 5, deadline, queue),
        )
        for code in stores
    ]
    for p in procs:
        p.start()
    results: dict[str, str] = {}
    while len(results) < len(stores):
        kind, code, _t = queue.get(timeout=60)
        if kind != "ready":
            results[code] = kind
    for p in procs:
        p.join(10)
    assert results["B09"] == f"bad:evaluations:{bad_id}"
    assert all(results[c] == "done" for c in good_codes), results
    engine = central_engine(central_url)
    try:
        for code in good_codes:
            assert _central_ids(engine, ids_of, code) == ids_of(stores[code].store.engine)
        assert bad_id not in _central_ids(engine, ids_of, "B09")["evaluations"]
    finally:
        engine.dispose()
        for w in stores.values():
            w.store.dispose()
