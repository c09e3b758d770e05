"""What the append-only guards cost an evaluation's INSERTs on SQLite, without the disk.

The same database twice: with every guard of migration 0002 (the BEFORE INSERT
check of the primary key, the unique keys and the rowid; the AFTER INSERT rowid
check) and, as the reference measured in the same run, with only the UPDATE /
DELETE triggers of 0001. Each sample is one transaction like a key press (an
evaluation and its EVALUATED event), with synchronous=OFF so that the figure is
the guards' CPU time, not the fsync that dominates bench_evaluator.py. The two
databases are measured in alternating rounds, so the machine's load falls on
both alike.

    .venv/bin/python benchmarks/bench_guards.py [--presses 5000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from hallapp.migrations.guards import drop_guards
from hallapp.models import Applicant, Case, Department, ServiceItem, Staff, new_id
from hallapp.store import Store, make_engine, sqlite_url

WINDOW = "A03"


def prepare(path: Path, cases: int) -> list[str]:
    store = Store.open(sqlite_url(path))
    with store.session() as s:
        s.add(Department(code="ZJJ", name="连城县住房和城乡建设局"))
        s.flush()
        clerk = Staff(staff_no="1001", name="张丽华", department_code="ZJJ", password_hash="-")
        s.add(clerk)
        s.add(
            ServiceItem(
                code="ZJ-001",
                name="施工许可",
                department_code="ZJJ",
                legal_days=20,
                promised_days=8,
            )
        )
        s.flush()
        applicant = Applicant(origin_window=WINDOW, kind="person", name="李明")
        s.add(applicant)
        s.flush()
        ids = [new_id() for _ in range(cases)]
        s.execute(
            sa.insert(Case),
            [
                {
                    "id": cid,
                    "origin_window": WINDOW,
                    "case_no": f"LC{WINDOW}20261201{i:06d}",
                    "item_code": "ZJ-001",
                    "applicant_id": applicant.id,
                    "window_code": WINDOW,
                    "department_code": "ZJJ",
                    "first_responder_id": clerk.id,
                }
                for i, cid in enumerate(ids)
            ],
        )
        staff_id = clerk.id
    store.dispose()
    return [f"{cid}|{staff_id}" for cid in ids]


def press(conn: sqlite3.Connection, case_id: str, staff_id: str) -> float:
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    evaluation_id = new_id()
    now = "2026-12-01 02:00:00.000000"
    conn.execute(
        "INSERT INTO evaluations (id, origin_window, created_at, case_id, case_no, item_code, "
        "window_code, staff_id, department_code, channel, device, level, reasons, "
        "applicant_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (evaluation_id, WINDOW, now, case_id, "LC", "ZJ-001", WINDOW, staff_id, "ZJJ",
         "window_evaluator", "bench", 5, "[]", "person"),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO case_events (id, origin_window, created_at, case_id, seq, kind, staff_id, "
        "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id(), WINDOW, now, case_id, 2, "evaluated", staff_id,
         json.dumps({"evaluation_id": evaluation_id, "level": 5})),
    )  # fmt: skip
    conn.execute("COMMIT")
    return (time.perf_counter() - t) * 1e6


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hallapp-bench-guards-") as tmp:
        guarded = Path(tmp) / "guarded.sqlite3"
        pairs = [p.split("|") for p in prepare(guarded, args.presses)]
        reference = Path(tmp) / "reference.sqlite3"
        shutil.copy(guarded, reference)
        engine = make_engine(sqlite_url(reference))
        with engine.begin() as c:
            drop_guards(c, kinds=("replace", "rowid"))
        engine.dispose()

        conns = {}
        for name, path in (("guarded", guarded), ("reference", reference)):
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA foreign_keys=ON")
            conns[name] = conn
        samples: dict[str, list[float]] = {"guarded": [], "reference": []}
        per_round = max(1, len(pairs) // args.rounds)
        for r in range(args.rounds):
            chunk = pairs[r * per_round : (r + 1) * per_round]
            order = ("guarded", "reference") if r % 2 == 0 else ("reference", "guarded")
            for name in order:
                samples[name] += [press(conns[name], cid, sid) for cid, sid in chunk]
        for conn in conns.values():
            conn.close()

    load = os.getloadavg()[0]
    print(f"machine     {os.cpu_count()} CPUs, load average {load:.2f}")
    print(f"presses     {len(samples['guarded'])} per database, {args.rounds} alternating rounds")
    for name in ("reference", "guarded"):
        v = samples[name]
        print(
            f"{name:<11} median {statistics.median(v):7.1f} µs  p90 {percentile(v, 90):7.1f} µs  "
            f"p99 {percentile(v, 99):7.1f} µs   (one transaction: evaluation + event)"
        )
    extra = statistics.median(samples["guarded"]) - statistics.median(samples["reference"])
    print(f"guards cost {extra:+.1f} µs a press (median), with the disk left out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
