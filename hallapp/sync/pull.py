"""Pull: the centre's reference data, by version, and the facts written there for this window.

Reference data (departments and contacts, windows, staff with password
hashes and photos, the catalog, holiday schedules, settings) is read from
the centre when the hall's version differs from the one this window last
applied, and applied in ONE local transaction with the facts written at the
centre for this window (``centre_outbox``: a supervisor's follow-up step, an
appeal decision): the window never sees half a catalog, and a follow-up
never arrives without the staff member who wrote it.

Applying keeps what facts refer to: rows of a table that other tables refer
to (staff, service items, departments) are updated in place and never
deleted; one the centre no longer has is made inactive where the table has
``active``. Leaf tables (contacts, materials, windows, schedules, settings)
become exactly the centre's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hallapp.models import Base
from hallapp.store import Store, stored_revision
from hallapp.sync import CentreUnreachable, SyncError
from hallapp.sync.centre import (
    STALL_SECONDS,
    check_revision,
    deadline,
    ref_version,
    shown_url,
    unreachable_reason,
)
from hallapp.sync.schema import HALL, central_table, fact_tables, reference_tables

log = logging.getLogger(__name__)

REF_VERSION_KEY = "pull:ref_version"
OUTBOX_KEY = "pull:centre_outbox"


@dataclass(frozen=True)
class PullResult:
    version: int  # the hall's reference-data version now applied
    reference_changed: bool
    reference_rows: int
    facts: int  # facts written at the centre for this window, now local


def _state(conn: Connection, key: str) -> str | None:
    value = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = ?", (key,)).scalar()
    return None if value is None else str(value)


def _set_state(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def local_ref_version(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(_state(conn, REF_VERSION_KEY) or 0)


def _referenced_tables() -> set[str]:
    return {
        fk.column.table.name for t in Base.metadata.sorted_tables for fk in t.foreign_keys
    }


def _read_reference(cconn: Connection, hall_code: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for local in reference_tables():
        ct = central_table(local.name)
        cols = [ct.c[c.name] for c in local.columns]
        keys = [c.name for c in local.columns]
        out[local.name] = [dict(zip(keys, r, strict=True)) for r in cconn.execute(
            select(*cols).where(ct.c[HALL] == hall_code))]
    return out


def _read_outbox(
    cconn: Connection, hall_code: str, window_code: str, after: int
) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    ob = central_table("centre_outbox")
    entries = cconn.execute(
        select(ob.c.seq, ob.c.table_name, ob.c.row_id)
        .where(ob.c[HALL] == hall_code, ob.c.window_code == window_code, ob.c.seq > after)
        .order_by(ob.c.seq)
    ).all()
    if not entries:
        return [], after
    wanted: dict[str, list[str]] = {}
    for _, table, rid in entries:
        wanted.setdefault(str(table), []).append(str(rid))
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    local_tables = {t.name: t for t in fact_tables()}
    for table, ids in wanted.items():
        local = local_tables.get(table)
        if local is None:
            raise SyncError(f"中心库为本窗口写入了未知类型的记录：{table}")
        ct = central_table(table)
        cols = [ct.c[c.name] for c in local.columns]
        for r in cconn.execute(
            select(*cols).where(ct.c[HALL] == hall_code, ct.c.id.in_(ids))
        ).mappings():
            rows[(table, str(r["id"]))] = dict(r)
    ordered = [(str(t), rows[(str(t), str(rid))]) for _, t, rid in entries
               if (str(t), str(rid)) in rows]
    return ordered, int(entries[-1][0])


def _pk(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _write_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], pk: Sequence[str]
) -> None:
    """Insert or update rows by primary key, straight through the driver: a
    county's catalog is tens of thousands of rows and the window is waiting."""
    names = [c.name for c in table.columns]
    procs = [c.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
             for c in table.columns]
    quoted = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    others = [n for n in names if n not in pk]
    sets = ", ".join(f'"{n}" = excluded."{n}"' for n in others)
    conflict = f"DO UPDATE SET {sets}" if others else "DO NOTHING"
    sql = (f"INSERT INTO {table.name} ({quoted}) VALUES ({marks}) "
           f"ON CONFLICT ({', '.join(pk)}) {conflict}")
    values = [
        tuple(p(r[n]) if p is not None else r[n] for n, p in zip(names, procs, strict=True))
        for r in rows
    ]
    cur = conn.connection.cursor()
    try:
        cur.executemany(sql, values)
    finally:
        cur.close()


def _apply_reference(conn: Connection, data: dict[str, list[dict[str, Any]]]) -> int:
    referenced = _referenced_tables()
    tables = reference_tables()
    # Leaf tables first, children before parents, so a re-numbered material
    # or contact never meets its old row's unique key.
    for table in reversed(tables):
        if table.name in referenced:
            continue
        pk = _pk(table)
        keep = {tuple(r[k] for k in pk) for r in data[table.name]}
        have = [tuple(r) for r in conn.execute(select(*[table.c[k] for k in pk]))]
        gone = [key for key in have if key not in keep]
        for start in range(0, len(gone), 500):
            chunk = gone[start:start + 500]
            if len(pk) == 1:
                conn.execute(delete(table).where(table.c[pk[0]].in_([k[0] for k in chunk])))
            else:
                conn.execute(delete(table).where(
                    tuple_(*[table.c[k] for k in pk]).in_(chunk)))
    total = 0
    for table in tables:
        rows = data[table.name]
        total += len(rows)
        pk = _pk(table)
        if rows:
            _write_rows(conn, table, rows, pk)
        if table.name in referenced and "active" in table.c:
            keep = {tuple(r[k] for k in pk) for r in rows}
            have = [tuple(r) for r in conn.execute(
                select(*[table.c[k] for k in pk]).where(table.c.active.is_(True)))]
            gone = [key for key in have if key not in keep]
            if gone and len(pk) == 1:
                conn.execute(update(table).where(
                    table.c[pk[0]].in_([k[0] for k in gone])).values(active=False))
    return total


def _apply_facts(conn: Connection, facts: Sequence[tuple[str, dict[str, Any]]]) -> int:
    tables = {t.name: t for t in fact_tables()}
    added = 0
    for name, row in facts:
        table = tables[name]
        if conn.execute(select(table.c.id).where(table.c.id == row["id"])).first():
            continue
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(row))
        except IntegrityError:
            # It stays at the centre, where it counts; one record this
            # window cannot hold (what it refers to is not here) must not
            # keep every later pull, staff changes included, from applying.
            log.exception("fact %s %s from the centre does not fit this window; skipped",
                          name, row["id"])
            continue
        added += 1
    return added


def pull(
    store: Store,
    central: Engine,
    *,
    hall_code: str,
    window_code: str,
    stall_seconds: float | None = STALL_SECONDS,
) -> PullResult:
    """One pull pass; see the module's docstring. Raises SyncError subclasses.

    The central read must finish within ``stall_seconds`` (see
    :func:`hallapp.sync.centre.deadline`)."""
    if store.engine.dialect.name != "sqlite":
        raise SyncError("只有窗口的本地 SQLite 数据库可以从中心库下载")
    where = shown_url(central)
    revision = stored_revision(store.engine)
    with store.engine.connect() as lconn:
        have_version = int(_state(lconn, REF_VERSION_KEY) or 0)
        outbox_after = int(_state(lconn, OUTBOX_KEY) or 0)
    try:
        # One snapshot for the version and the rows it stands for.
        level = "REPEATABLE READ" if central.dialect.name == "postgresql" else None
        opts = {"isolation_level": level} if level else {}
        with (
            central.connect().execution_options(**opts) as cconn,
            deadline(cconn, stall_seconds, where),
            cconn.begin(),
        ):
            check_revision(cconn, revision, where)
            version = ref_version(cconn, hall_code)
            data = _read_reference(cconn, hall_code) if version != have_version else None
            facts, outbox_to = _read_outbox(cconn, hall_code, window_code, outbox_after)
    except SyncError:
        raise
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        log.warning("centre %s unreachable: %s",
                    where, (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200])
        raise CentreUnreachable(f"无法连接中心库 {where}：{unreachable_reason(exc)}") from exc
    rows = 0
    added = 0
    try:
        with store.engine.begin() as lconn:
            if data is not None:
                rows = _apply_reference(lconn, data)
                _set_state(lconn, REF_VERSION_KEY, str(version))
            if facts:
                added = _apply_facts(lconn, facts)
            if outbox_to != outbox_after:
                _set_state(lconn, OUTBOX_KEY, str(outbox_to))
    except IntegrityError as exc:
        log.exception("pulled reference data does not fit the local store")
        raise SyncError(
            "中心库的基础数据与本窗口已有数据冲突（例如同一工号对应不同人员），未作任何更改。"
            "请联系管理员核对，详细信息见日志"
        ) from exc
    return PullResult(version=version, reference_changed=data is not None,
                      reference_rows=rows, facts=added)
