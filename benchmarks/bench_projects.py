"""Key projects at county scale: the 卡点 list, the 诫勉谈话 list and one agent's
register, computed in SQL at the centre. Prints the figures next to a reference
measured in the same run: a plain COUNT(*) over the same node table.

N projects (default 2,000; a county has a few hundred a year) of 8 nodes each,
two steps per node, 40 代办员 and three surveys per project, on a SQLite
central file, or on PostgreSQL with ``--url``:

    .venv/bin/python benchmarks/bench_projects.py [N] [--url postgresql+psycopg://…/db]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from hallapp.models import new_id
from hallapp.projects.register import ProjectActor, projects, stuck_points
from hallapp.projects.survey import ITEM_KEYS, discipline_list
from hallapp.store import sqlite_url
from hallapp.sync.centre import central_engine, init_central
from hallapp.sync.schema import central_table
from hallapp.workdays import add_working_days

HALL = "LC"
TODAY = date(2026, 11, 20)


def build(engine: object, n: int) -> list[str]:
    rng = random.Random(7)
    agents = [new_id() for _ in range(40)]
    now = datetime.now(UTC)
    base = {"hall_code": HALL, "origin_window": "@centre", "created_at": now}
    rows: dict[str, list[dict[str, object]]] = {
        t: []
        for t in (
            "departments",
            "staff",
            "key_projects",
            "project_nodes",
            "project_steps",
            "agent_surveys",
        )
    }
    for d in range(10):
        rows["departments"].append(
            {
                "hall_code": HALL,
                "code": f"D{d}",
                "name": f"第{d}局",
                "phone": "",
                "address": "",
                "duties": "",
            }
        )
    for i, a in enumerate(agents):
        rows["staff"].append(
            {
                "hall_code": HALL,
                "id": a,
                "staff_no": f"8{i:03d}",
                "name": f"代办员{i}",
                "title": "",
                "phone": "",
                "department_code": "D0",
                "role": "agent",
                "password_hash": "x",
                "commitments": "",
                "active": True,
            }
        )
    for p in range(n):
        pid, agent = new_id(), agents[p % len(agents)]
        start = date(2026, 1, 5) + timedelta(days=rng.randrange(300))
        rows["key_projects"].append({**base, "id": pid, "project_no": f"LCXM2026{p:05d}",
            "name": f"项目{p}", "investor": "某公司", "investor_uscc": "", "contact_name": "王",
            "contact_phone": "13905971234", "leader_name": "林", "leader_title": "",
            "lead_unit": "D0", "agent_id": agent, "registered_by": agent, "accepted_on": start,
            "summary": ""})  # fmt: skip
        for k in range(8):
            nid, days = new_id(), rng.randrange(3, 30)
            due = add_working_days(start, days).date
            rows["project_nodes"].append({**base, "id": nid, "project_id": pid, "seq": k + 1,
                "name": f"节点{k}", "item_code": "", "department_code": f"D{k}",
                "responsible_name": f"责任人{k}", "responsible_phone": "", "starts_on": start,
                "limit_days": days, "due_on": due, "added_by": agent})  # fmt: skip
            done = due + timedelta(days=rng.randrange(-10, 6))
            for kind in ("progress", "done"):
                if kind == "done" and done > TODAY:
                    continue
                rows["project_steps"].append({**base, "id": new_id(), "project_id": pid,
                    "node_id": nid, "kind": kind, "staff_id": agent,
                    "happened_on": max(start, min(done, TODAY)), "note": "x"})  # fmt: skip
        for s in range(3):
            answers = {k: rng.choice((1, 3, 4, 5, 5, 5)) for k in ITEM_KEYS}
            rows["agent_surveys"].append({**base, "id": new_id(), "project_id": pid,
                "agent_id": agent, "answers": answers, "worst_level": min(answers.values()),
                "comment": "", "channel": "screen", "respondent_name": "王",
                "respondent_phone": "", "filled_on": start + timedelta(days=30 * s),
                "entered_by": None})  # fmt: skip
    with engine.begin() as c:  # type: ignore[attr-defined]
        for table, values in rows.items():
            for i in range(0, len(values), 2000):
                c.execute(central_table(table).insert(), values[i : i + 2000])
    return agents


def timed(label: str, fn: object, reference: float) -> None:
    t = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - t
    print(
        f"{label:<34} {took * 1000:8.1f} ms  ({took / reference:5.1f}× the reference)"
        f"  rows: {len(result)}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("n", nargs="?", type=int, default=2000)
    p.add_argument("--url", default="")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or sqlite_url(Path(tmp) / "central.sqlite3")
        init_central(url)
        engine = central_engine(url)
        agents = build(engine, args.n)
        # Statistics as autovacuum would have them on a centre in use (a bulk
        # load leaves the planner guessing: nested loops over 16,000 nodes).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
        with engine.connect() as c:
            nodes = central_table("project_nodes")
            t = time.perf_counter()
            count = c.scalar(select(func.count()).select_from(nodes))
            reference = time.perf_counter() - t
            print(f"{engine.dialect.name}: {args.n} projects, {count} nodes")
            print(f"{'reference: COUNT(*) of the nodes':<34} {reference * 1000:8.1f} ms")
            timed("卡点 list (all, as of today)", lambda: stuck_points(c, HALL, TODAY), reference)
            timed("警告 / 诫勉谈话 list", lambda: discipline_list(c, HALL), reference)
            me = ProjectActor(agents[0], "8000", "代办员0", "agent", "D0")
            timed("one agent's register", lambda: projects(c, HALL, me, TODAY), reference)
        engine.dispose()


if __name__ == "__main__":
    main()
