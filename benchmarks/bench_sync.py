"""Sync on the real PostgreSQL server: prints its figures, each next to its reference.

1. push: one window's 100,000 evaluations with their applicants, cases and
   events (600,000 rows) to PostgreSQL, rows/s — next to a raw psycopg COPY
   of the same rows into the same central tables (of a second central
   database), in the same run. Targets: ≥100,000 rows/s, within 2.5× of COPY.
2. twenty windows (separate processes) pushing at once: total rows/s and
   the slowest window's latency from its last commit to the centre.
3. pull of a 2,000-item catalog (10 materials each) onto an empty window
   (target ≤0.5 s).
4. one window's real daily load at 100 cases a day: rows and bytes per day,
   locally and at the centre (table + index sizes).

    .venv/bin/python benchmarks/bench_sync.py [EVALUATIONS] [CASES_PER_WINDOW]

Databases are made on 127.0.0.1:5432 (HALLAPP_TEST_PG) and dropped at the end.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hallapp.models import (
    Applicant,
    Case,
    CaseEvent,
    Department,
    DocumentPrint,
    DutyEvent,
    Evaluation,
    IssuedDocument,
    ItemKind,
    Role,
    ServiceItem,
    Staff,
    new_id,
)
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import bump_version, central_engine, init_central
from hallapp.sync.chain import GENESIS, row_hash
from hallapp.sync.pull import pull
from hallapp.sync.push import push
from hallapp.sync.schema import HALL, central_table, fact_tables

ADMIN = os.environ.get("HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HALL_CODE = "LC"


@contextmanager
def pg_database(tag: str) -> Iterator[str]:
    name = f"hallapp_bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def window_store(path: Path, code: str) -> tuple[Store, str]:
    store = Store.open(sqlite_url(path))
    with store.session() as s:
        s.add(Department(code="ZJJ", name="连城县住房和城乡建设局"))
        s.flush()
        clerk = Staff(staff_no="1001", name="张丽华", department_code="ZJJ", role=Role.CLERK,
                      password_hash="x")
        s.add_all([clerk, ServiceItem(code="ZJ-001", name="建筑工程施工许可证核发",
                                      department_code="ZJJ", kind=ItemKind.PROMISED,
                                      legal_days=20, promised_days=8)])
        s.flush()
        return store, clerk.id


def fill(store: Store, code: str, clerk: str, n: int, *, start: datetime, day: bool = False) -> int:
    """n cases, each with its applicant, events and one evaluation (a valid
    hash chain); with ``day``, also what a real day adds: a notice with its
    archived content and its print per case, duty events, audit entries.
    Written with Core executemany in one transaction; returns the row count."""
    from hallapp.documents import DocumentType, sample

    notice = sample(DocumentType.ACCEPTANCE).to_dict() if day else None
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (
        Applicant, Case, CaseEvent, Evaluation, IssuedDocument, DocumentPrint, DutyEvent)}
    with store.engine.connect() as c:
        head = c.exec_driver_sql(
            "SELECT chain_seq, chain_hash FROM evaluations WHERE origin_window = ? "
            "ORDER BY chain_seq DESC LIMIT 1", (code,)).first()
        counter = c.exec_driver_sql("SELECT count(*) FROM cases").scalar() or 0
    seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    for i in range(n):
        at = start + timedelta(seconds=30 * i)
        no = counter + i + 1
        ap, case, ev = new_id(), new_id(), new_id()
        base = {"origin_window": code}
        rows[Applicant].append({**base, "id": ap, "created_at": at, "kind": "person",
                                "name": "李明", "id_number": "350825199001011234", "phone": "",
                                "contact_name": "", "address": ""})
        case_no = f"{HALL_CODE}{code}{at:%Y%m%d}{no:06d}"
        rows[Case].append({**base, "id": case, "created_at": at, "case_no": case_no,
                           "item_code": "ZJ-001", "applicant_id": ap, "window_code": code,
                           "department_code": "ZJJ", "first_responder_id": clerk})
        kinds = ["received", "accepted", "evaluated"] if not day else [
            "received", "accepted", "evaluation_opened", "evaluated", "completed", "handed_over"]
        accepted = ""
        for k, kind in enumerate(kinds):
            event = new_id()
            accepted = event if kind == "accepted" else accepted
            rows[CaseEvent].append({**base, "id": event, "created_at": at, "case_id": case,
                                    "seq": k + 1, "kind": kind, "staff_id": clerk, "data": {}})
        seq += 1
        values = {**base, "id": ev, "created_at": at + timedelta(seconds=20), "case_id": case,
                  "case_no": case_no, "item_code": "ZJ-001", "window_code": code,
                  "staff_id": clerk, "department_code": "ZJJ", "channel": "window_evaluator",
                  "device": "framed:/dev/ttyUSB0", "level": 5 if i % 10 else 4, "reasons": [],
                  "applicant_kind": "person", "encounter": "acceptance",  # 一次一评: 受理
                  "encounter_event_id": accepted, "chain_seq": seq, "chain_prev": prev,
                  "chain_hash": None}
        values["chain_hash"] = prev = row_hash(values)
        rows[Evaluation].append(values)
        if day:
            doc = new_id()
            rows[IssuedDocument].append({**base, "id": doc, "created_at": at, "case_id": case,
                                         "doc_type": "acceptance", "doc_no": f"D{case_no}",
                                         "staff_id": clerk, "content": notice})
            rows[DocumentPrint].append({**base, "id": new_id(), "created_at": at,
                                        "document_id": doc, "staff_id": clerk, "reprint": False,
                                        "printer": "HallAppPDF", "size": "a4"})
    if day:
        shift = new_id()
        for k, kind in enumerate(("start", "pause", "resume", "end")):
            rows[DutyEvent].append({"origin_window": code, "id": new_id(),
                                    "created_at": start + timedelta(hours=k * 2),
                                    "shift_id": shift, "staff_id": clerk, "window_code": code,
                                    "kind": kind, "reason": "午休" if kind == "pause" else ""})
    total = 0
    with store.engine.begin() as c:
        for model, batch in rows.items():
            if batch:
                c.execute(sa.insert(model.__table__), batch)  # type: ignore[attr-defined]
                total += len(batch)
    return total


def local_rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact row as the centre stores it: (hall, origin_seq, columns...)."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as c:
        for t in fact_tables():
            cols = ", ".join(f'"{col.name}"' for col in t.columns)
            procs = [col.type.dialect_impl(dialect).result_processor(dialect, None)
                     for col in t.columns]
            raw = c.exec_driver_sql(f"SELECT rowid, {cols} FROM {t.name} ORDER BY rowid").all()
            out[t.name] = [
                (HALL_CODE, r[0], *[p(v) if p else v for p, v in zip(procs, r[1:], strict=True)])
                for r in raw
            ]
    return out


def raw_copy(url: str, data: dict[str, list[tuple[Any, ...]]], *, bare: bool = False) -> float:
    """The reference: psycopg COPY straight into the central tables, one transaction.

    ``bare``: into copies of them with no index, key, constraint or trigger
    (schema ``bare``): what this machine's server does with these rows at all,
    the floor under any push into tables a centre can query."""
    import psycopg
    from psycopg.types.json import Jsonb

    u = sa.engine.make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database) as conn:
        if bare:
            conn.execute("CREATE SCHEMA IF NOT EXISTS bare")
            for t in fact_tables():
                conn.execute(
                    f"CREATE TABLE bare.{t.name} (LIKE public.{t.name} INCLUDING DEFAULTS)"
                )
            conn.execute("SET search_path = bare")
            conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for t in fact_tables():
                rows = data[t.name]
                if not rows:
                    continue
                names = [HALL, "origin_seq", *[c.name for c in t.columns]]
                json_at = [i for i, n in enumerate(names)
                           if isinstance(central_table(t.name).c[n].type, sa.JSON)]
                cols = ", ".join(f'"{n}"' for n in names)
                with cur.copy(f"COPY {t.name} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(
                            tuple(Jsonb(v) if i in json_at else v for i, v in enumerate(row))
                            if json_at
                            else row
                        )
        conn.commit()
        return time.perf_counter() - started


def bench_push(n: int, tmp: Path) -> None:
    store, clerk = window_store(tmp / "push.sqlite3", "A05")
    t0 = time.perf_counter()
    rows = fill(store, "A05", clerk, n, start=datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    print(f"window store: {n:,} evaluations with cases and events = {rows:,} rows "
          f"(made in {time.perf_counter() - t0:.1f} s)")
    data = local_rows(store)
    with pg_database("push") as push_url, pg_database("copy") as copy_url:
        init_central(push_url)
        init_central(copy_url)
        engine = central_engine(push_url)
        started = time.perf_counter()
        result = push(store, engine, hall_code=HALL_CODE, window_code="A05")
        took = time.perf_counter() - started
        engine.dispose()
        assert result.pending == 0 and result.inserted == rows, result
        copy_took = raw_copy(copy_url, data)
        bare_took = raw_copy(copy_url, data, bare=True)
        print(f"push to PostgreSQL: {rows:,} rows in {took:.2f} s = {rows / took:,.0f} rows/s "
              f"(target ≥ 100,000 rows/s)")
        print(f"raw psycopg COPY, same rows, same tables: {copy_took:.2f} s = "
              f"{rows / copy_took:,.0f} rows/s; push/COPY = {took / copy_took:.2f}× "
              "(target ≤ 2.5×)")
        print(f"raw psycopg COPY, same rows, into bare copies of the tables (no index, key, "
              f"trigger): {bare_took:.2f} s = {rows / bare_took:,.0f} rows/s "
              f"(this machine's floor; load average {os.getloadavg()[0]:.1f})")
        if result.faults:
            print(f"  !! {len(result.faults)} chain faults reported")
    store.dispose()


def _window_worker(db: str, url: str, code: str, go: Any, out: Any) -> None:
    try:
        store = Store.open(sqlite_url(db), run_migrations=False)
        engine = central_engine(url)
        go.wait()
        started = time.time()
        result = push(store, engine, hall_code=HALL_CODE, window_code=code)
        out.put((code, started, time.time(), result.pushed, ""))
    except BaseException as exc:  # reported to the parent
        out.put((code, 0.0, 0.0, 0, repr(exc)))
    finally:
        out.close()
        out.join_thread()
        os._exit(0)


def bench_twenty(per_window: int, tmp: Path) -> None:
    ctx = mp.get_context("fork")
    codes = [f"A{i:02d}" for i in range(1, 21)]
    total = 0
    for code in codes:
        store, clerk = window_store(tmp / f"w{code}.sqlite3", code)
        total += fill(store, code, clerk, per_window, start=datetime(2026, 11, 3, 1, tzinfo=UTC))
        store.dispose()
    with pg_database("twenty") as url:
        init_central(url)
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_window_worker,
                             args=(str(tmp / f"w{c}.sqlite3"), url, c, go, out)) for c in codes]
        for p in procs:
            p.start()
        time.sleep(1.0)  # every child has its engine
        committed = time.time()  # every window's last commit is before this instant
        go.set()
        results = [out.get(timeout=600) for _ in codes]
        for p in procs:
            p.join(30)
        errors = [r for r in results if r[4]]
        if errors:
            print(f"twenty windows: {len(errors)} failed: {errors[:2]}")
            return
        first, last = min(r[1] for r in results), max(r[2] for r in results)
        pushed = sum(r[3] for r in results)
        assert pushed == total, (pushed, total)
        lat = sorted(r[2] - committed for r in results)
        print(f"twenty windows at once: {pushed:,} rows in {last - first:.2f} s = "
              f"{pushed / (last - first):,.0f} rows/s in total; commit → central latency "
              f"median {lat[len(lat) // 2]:.2f} s, slowest window {lat[-1]:.2f} s "
              f"({per_window:,} evaluations per window)")


def bench_pull(tmp: Path) -> None:
    with pg_database("pull") as url:
        init_central(url)
        md = sa.MetaData()
        engine = central_engine(url)
        md.reflect(engine)
        t = md.tables
        with engine.begin() as c:
            c.execute(t["departments"].insert(), [
                {HALL: HALL_CODE, "code": f"D{d:02d}", "name": f"部门{d}", "phone": "0597-8921234",
                 "address": "连城县莲峰镇", "duties": "负责本部门职责范围内的行政许可事项"}
                for d in range(20)])
            c.execute(t["windows"].insert(), [
                {HALL: HALL_CODE, "code": f"A{w:02d}", "name": f"{w} 号窗口",
                 "department_code": f"D{w % 20:02d}", "active": True} for w in range(1, 41)])
            c.execute(t["staff"].insert(), [
                {HALL: HALL_CODE, "id": new_id(), "staff_no": f"{1000 + s}", "name": "张丽华",
                 "title": "综合受理员", "phone": "", "department_code": f"D{s % 20:02d}",
                 "role": "clerk", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$" + "x" * 60,
                 "photo": None, "commitments": "首问负责\n一次告知\n限时办结", "active": True}
                for s in range(80)])
            c.execute(t["service_items"].insert(), [
                {HALL: HALL_CODE, "code": f"SX-{i:05d}",
                 "name": f"建设工程施工许可证核发（第{i}项）",
                 "department_code": f"D{i % 20:02d}", "kind": "promised", "legal_days": 20,
                 "promised_days": 8, "scope": "本县行政区域内的建设工程" * 3,
                 "procedure": "申请—受理—审查—决定—送达", "conditions": "符合法定条件" * 5,
                 "fees": "不收费", "legal_basis": "《中华人民共和国建筑法》第七条、第八条",
                 "pinyin": "jsgcsgxkzhf", "active": True} for i in range(2000)])
            c.execute(t["material_requirements"].insert(), [
                {HALL: HALL_CODE, "id": new_id(), "item_code": f"SX-{i:05d}", "seq": m + 1,
                 "name": f"申请材料第{m + 1}项（原件及复印件）", "form": "original_and_copy",
                 "copies": 1, "required": m < 7, "deferrable": m in (3, 4), "note": ""}
                for i in range(2000) for m in range(10)])
            bump_version(c, HALL_CODE)
        empty = Store.open(sqlite_url(tmp / "empty.sqlite3"))
        started = time.perf_counter()
        result = pull(empty, engine, hall_code=HALL_CODE, window_code="A01")
        took = time.perf_counter() - started
        with empty.engine.connect() as c:
            items = c.exec_driver_sql("SELECT count(*) FROM service_items").scalar()
            mats = c.exec_driver_sql("SELECT count(*) FROM material_requirements").scalar()
        print(f"pull onto an empty window: {items:,} items, {mats:,} materials, "
              f"{result.reference_rows:,} reference rows in {took:.3f} s (target ≤ 0.5 s)")
        empty.dispose()
        engine.dispose()


def checkpointed_size(store: Store, path: Path) -> int:
    """The window file's size with its write-ahead log folded in."""
    import sqlite3

    store.engine.dispose()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path.stat().st_size


def bench_daily(tmp: Path, days: int = 10) -> None:
    store, clerk = window_store(tmp / "daily.sqlite3", "A05")
    path = tmp / "daily.sqlite3"
    before_local = checkpointed_size(store, path)
    rows = 0
    for d in range(days):
        rows += fill(store, "A05", clerk, 100,
                     start=datetime(2026, 11, 2, 1, tzinfo=UTC) + timedelta(days=d), day=True)
    local_bytes = checkpointed_size(store, path) - before_local
    with pg_database("daily") as url:
        init_central(url)
        engine = central_engine(url)

        def size() -> int:
            with engine.connect() as c:
                return int(c.exec_driver_sql(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
                    f"AND c.relname IN ({', '.join(repr(t.name) for t in fact_tables())})"
                ).scalar() or 0)

        empty = size()
        push(store, engine, hall_code=HALL_CODE, window_code="A05")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")  # settle the free-space maps
        central_bytes = size() - empty
        engine.dispose()
    print(f"one window's day at 100 cases: {rows / days:,.0f} rows/day; "
          f"{local_bytes / days / 1024:,.0f} KiB/day in the window's file, "
          f"{central_bytes / days / 1024:,.0f} KiB/day at the centre (tables and indexes); "
          f"measured over {days} days")
    store.dispose()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_window = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    load = os.getloadavg()[0]
    print(f"bench_sync: {os.cpu_count()} cores, load average {load:.1f} at start")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_push(n, tmp)
        bench_twenty(per_window, tmp)
        bench_pull(tmp)
        bench_daily(tmp)


if __name__ == "__main__":
    main()
