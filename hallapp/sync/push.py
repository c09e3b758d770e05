"""Push: every fact of this window reaches the centre once.

The cursor is the local SQLite rowid of each fact table, kept in
``sync_state`` (``push:<table>``): facts are never deleted, so rowids grow
with every insert, in commit order (SQLite has one writer at a time), and
nothing depends on the window's clock. A pass

1. checks that the centre mirrors this window's schema revision (else
   nothing is written, :class:`~hallapp.sync.SchemaMismatch`);
2. takes, in one read, the highest rowid of every fact table: everything a
   fact refers to is then inside the same snapshot;
3. sends the tables in foreign-key order (applicants before cases before
   case events...), in batches; each batch is one central transaction that
   inserts idempotently by key (PostgreSQL: COPY into a temporary staging
   table, then one INSERT … SELECT … ON CONFLICT DO NOTHING; SQLite: INSERT …
   SELECT … WHERE NOT EXISTS), and only after it committed does the local
   cursor advance. A pass killed anywhere resumes at the last committed
   batch; a batch sent twice changes nothing.

A batch the centre refuses (a constraint) is narrowed down to its first bad
record, and the push stops with :class:`~hallapp.sync.BadRecord` naming it.
Facts pulled from the centre (origin ``@centre``) are not sent back.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, UniqueConstraint, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from hallapp.models import new_id
from hallapp.store import Store, stored_revision
from hallapp.sync import BadRecord, CentreUnreachable, SyncError
from hallapp.sync.centre import (
    STALL_SECONDS,
    check_revision,
    deadline,
    shown_url,
    unreachable_reason,
)
from hallapp.sync.chain import ChainFault, ChainHead, check_links, row_hash
from hallapp.sync.schema import CENTRE_ORIGIN, HALL, central_table, fact_tables

log = logging.getLogger(__name__)

CURSOR_PREFIX = "push:"
# Rows per central transaction: large enough that COPY, not the round trips,
# sets the pace; small enough that a retried batch costs little.
DEFAULT_BATCH = 10_000


@dataclass
class PushResult:
    pushed: int = 0  # rows acknowledged by the centre in this pass
    inserted: int = 0  # of them, rows new at the centre
    pending: int = 0  # rows still to send after the pass
    by_table: dict[str, int] = field(default_factory=dict)
    faults: list[ChainFault] = field(default_factory=list)
    # Tables whose rows past what the centre holds were sent again: {table: from rowid}.
    resent_from: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ local side


def _require_sqlite(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        raise SyncError("只有窗口的本地 SQLite 数据库可以向中心库上传")


def _cursors(conn: Connection) -> dict[str, int]:
    rows = conn.exec_driver_sql(
        "SELECT key, value FROM sync_state WHERE key LIKE ?", (CURSOR_PREFIX + "%",)
    ).all()
    return {str(k)[len(CURSOR_PREFIX):]: int(v or 0) for k, v in rows}


def _set_cursor(store: Store, table: str, rowid: int) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            # Never backwards: two passes at once (the client's and `hallapp
            # sync`) may finish their batches in either order.
            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
            "WHERE CAST(excluded.value AS INTEGER) > CAST(sync_state.value AS INTEGER)",
            (CURSOR_PREFIX + table, str(rowid)),
        )


def _snapshot(conn: Connection) -> dict[str, int]:
    return {
        t.name: int(conn.exec_driver_sql(f"SELECT coalesce(max(rowid), 0) FROM {t.name}").scalar()
                    or 0)
        for t in fact_tables()
    }


def pending_count(store: Store) -> int:
    """Exactly the facts not yet committed at the centre."""
    _require_sqlite(store)
    with store.engine.connect() as conn:
        cursors = _cursors(conn)
        total = 0
        for t in fact_tables():
            total += int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM {t.name} WHERE rowid > ? AND origin_window != ?",
                    (cursors.get(t.name, 0), CENTRE_ORIGIN),
                ).scalar()
                or 0
            )
        return total


def _read_batch(
    store: Store, table: Table, after: int, upto: int, limit: int
) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    with store.engine.connect() as conn:
        # The driver's own cursor: rows go to the centre as stored, unconverted.
        cur = conn.connection.cursor()
        try:
            cur.execute(
                f"SELECT rowid, {cols} FROM {table.name} "
                "WHERE rowid > ? AND rowid <= ? AND origin_window != ? ORDER BY rowid LIMIT ?",
                (after, upto, CENTRE_ORIGIN, limit),
            )
            return list(cur.fetchall())
        finally:
            cur.close()


# ---------------------------------------------------------------- central side


def _insert_pg(cconn: Connection, table: Table, hall: str, rows: Sequence[tuple[Any, ...]]) -> int:
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    pk = ", ".join(f'"{c.name}"' for c in central_table(table.name).primary_key.columns)
    cur = cconn.connection.cursor()
    try:
        # For this transaction only, in one round trip:
        # - the local store keeps UTC times without a zone: read them as UTC;
        # - joins by nested loop over indexes. The counts' triggers
        #   (hallapp.reports.rollup) join each batch's new rows (≤ one batch)
        #   to the facts already stored, by indexed keys. On a table growing
        #   faster than autovacuum analyses it (a window's first push of its
        #   history) the planner, believing it small, sorted or hashed the
        #   whole table for every batch: 0.8 s of a 1.3 s evaluations batch
        #   at 90,000 stored rows, growing with each batch. Index probes
        #   cost the same whatever the table's size.
        cur.execute(
            "SELECT set_config('TimeZone', 'UTC', true), "
            "set_config('enable_hashjoin', 'off', true), "
            "set_config('enable_mergejoin', 'off', true)"
        )
        cur.execute(
            f"CREATE TEMP TABLE _hallapp_stage ON COMMIT DROP AS "
            f"SELECT origin_seq, {cols} FROM {table.name} WITH NO DATA"
        )
        with cur.copy(f"COPY _hallapp_stage (origin_seq, {cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO {table.name} ({HALL}, origin_seq, {cols}) "
            f"SELECT %s, origin_seq, {cols} FROM _hallapp_stage ON CONFLICT ({pk}) DO NOTHING",
            (hall,),
        )
        inserted = int(cur.rowcount)
        for names in _numbers(table):
            # Driven from the staged rows, one index probe each (LATERAL … LIMIT
            # 1 cannot be flattened into a join the planner might drive from
            # the stored table: on a first push, with the table's statistics
            # behind, it scanned the stored rows for every batch, 28 s instead
            # of 3 s for 120,000 rows). After the INSERT, so that two new rows
            # of one batch with one number are caught too.
            own = ", ".join(f's."{n}"' for n in names)
            on = " AND ".join(f'c."{n}" = s."{n}"' for n in names)
            cur.execute(
                f"SELECT s.id, {own} FROM _hallapp_stage s CROSS JOIN LATERAL "
                f"(SELECT 1 FROM {table.name} c WHERE c.{HALL} = %s AND {on} "
                "AND c.id <> s.id LIMIT 1) AS clash LIMIT 1",
                (hall,),
            )
            clash = cur.fetchone()
            if clash is not None:
                raise _number_clash(table, names, clash)
        cur.execute("DROP TABLE _hallapp_stage")
        return inserted
    finally:
        cur.close()


def _numbers(table: Table) -> list[list[str]]:
    """The table's local unique keys other than its id (a case's 办件编号, a
    document's 文书编号, an evaluation's encounter): the centre keeps them as
    plain indexes (a partitioned table's unique key must hold the month), so
    the push holds each batch against them itself."""
    return [
        [c.name for c in uc.columns]
        for uc in table.constraints
        if isinstance(uc, UniqueConstraint) and [c.name for c in uc.columns] != ["id"]
    ]


#: What a number is called on screen.
_NUMBER_NAMES = {"case_no": "办件编号", "doc_no": "文书编号", "bundle_no": "一件事编号",
                 "project_no": "项目编号", "case_id": "办件", "encounter_event_id": "服务环节"}


def _number_clash(table: Table, names: list[str], clash: Sequence[Any]) -> BadRecord:
    """Two records of one hall with one number: a second copy of a window's
    database (a copied file, a backup restored on another PC, two PCs set to
    one window code) is numbering what the centre already holds."""
    values = dict(zip(names, clash[1:], strict=True))
    shown = "、".join(f"{_NUMBER_NAMES.get(n, n)} {v}" for n, v in values.items())
    log.error("push refused: %s %s already at the centre under another id (record %s)",
              table.name, values, clash[0])
    return BadRecord(
        f"中心库已有同一编号的另一条记录：表 {table.name}，{shown}（本窗口的记录 {clash[0]}）。"
        "可能是另一份以本窗口身份工作的数据库（复制的数据库文件、在另一台电脑上恢复的备份，"
        "或两台电脑设置了同一个窗口编号）。本窗口的上传已停止，这一批没有写入；"
        "请联系管理员核对是哪一份数据库在使用本窗口编号",
        table=table.name,
        record_id=str(clash[0]),
    )


def _insert_sqlite(
    cconn: Connection, table: Table, hall: str, rows: Sequence[tuple[Any, ...]]
) -> int:
    names = [c.name for c in table.columns]
    cols = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    id_at = names.index("id") + 1
    sql = (
        f"INSERT INTO {table.name} ({HALL}, origin_seq, {cols}) SELECT ?, ?, {marks} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table.name} WHERE {HALL} = ? AND id = ?)"
    )
    cur = cconn.connection.cursor()
    try:
        cur.executemany(sql, [(hall, *row, hall, row[id_at]) for row in rows])
        # The rows this statement inserted: sqlite3_changes, summed over the
        # batch, leaves out what triggers wrote (the tallies), unlike total_changes.
        inserted = int(cur.rowcount)
        for keys in _numbers(table):
            at = [names.index(n) + 1 for n in keys]
            where = " AND ".join(f'"{n}" = ?' for n in keys)
            probe = f"SELECT 1 FROM {table.name} WHERE {HALL} = ? AND {where} AND id <> ? LIMIT 1"
            for row in rows:
                values = [row[i] for i in at]
                if None in values:
                    continue  # no number, nothing to clash with
                if cur.execute(probe, (hall, *values, row[id_at])).fetchone():
                    raise _number_clash(table, keys, (row[id_at], *values))
        return inserted
    finally:
        cur.close()


def _insert(cconn: Connection, table: Table, hall: str, rows: Sequence[tuple[Any, ...]]) -> int:
    if cconn.dialect.name == "postgresql":
        return _insert_pg(cconn, table, hall, rows)
    if cconn.dialect.name == "sqlite":
        return _insert_sqlite(cconn, table, hall, rows)
    raise SyncError(f"不支持的中心库类型：{cconn.dialect.name}")


def _typed(table: Table, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Raw local rows as Python values (the chain hashes typed values)."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    procs = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in table.columns]
    names = [c.name for c in table.columns]
    out = []
    for row in rows:
        values = row[1:]
        out.append(
            {
                n: (p(v) if p is not None else v)
                for n, p, v in zip(names, procs, values, strict=True)
            }
        )
    return out


@dataclass
class _Batch:
    """Rows read from one fact table, ready for the centre.

    ``rows`` empty: only facts pulled from the centre remain up to ``upto``.
    ``typed`` and ``hashes`` (evaluations only): the rows as Python values
    and their chain hashes, computed while the previous batch was at the
    centre."""

    table: Table
    rows: list[tuple[Any, ...]]
    upto: int
    typed: list[dict[str, Any]] | None = None
    hashes: dict[str, str] | None = None


def _batches(
    store: Store, snapshot: dict[str, int], cursors: dict[str, int], batch_size: int
) -> Iterator[_Batch]:
    """Every batch of the pass, tables in foreign-key order."""
    for table in fact_tables():
        after, upto = cursors.get(table.name, 0), snapshot[table.name]
        while after < upto:
            rows = _read_batch(store, table, after, upto, batch_size)
            if not rows:
                yield _Batch(table, [], upto)
                break
            batch = _Batch(table, rows, upto)
            if table.name == "evaluations":
                batch.typed = _typed(table, rows)
                batch.hashes = {str(t["id"]): row_hash(t) for t in batch.typed
                                if t.get("chain_seq") is not None}
            yield batch
            after = int(rows[-1][0])


_DONE = object()


def _prefetched(batches: Iterator[_Batch], depth: int = 2) -> Iterator[_Batch]:
    """``batches``, read ahead in a thread of its own.

    The next batch is read from the window's file and hashed while the
    centre works on the current one (the GIL is free while this thread waits
    on the socket), so the pass takes about as long as the central writes
    alone. At most ``depth`` batches wait in memory; the local cursor is
    still moved by the caller only after each commit.
    """
    out: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    reader = threading.Thread(target=produce, name="push-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()


def _check_chain(
    cconn: Connection, hall: str, batch: _Batch, taken: list[ChainFault]
) -> list[ChainFault]:
    heads = central_table("chain_heads")
    faults_t = central_table("chain_faults")
    by_window: dict[str, list[dict[str, Any]]] = {}
    for r in batch.typed or ():
        if r.get("chain_seq") is not None:
            by_window.setdefault(str(r["origin_window"]), []).append(r)
    found: list[ChainFault] = []
    for window, wrows in by_window.items():
        q = select(heads.c.last_seq, heads.c.last_hash).where(
            heads.c[HALL] == hall, heads.c.window_code == window
        )
        if cconn.dialect.name == "postgresql":
            q = q.with_for_update()
        got = cconn.execute(q).first()
        head = ChainHead(int(got[0]), str(got[1])) if got else ChainHead()
        # Links the centre has already checked are not checked again (a batch
        # sent again after a lost answer); a new record at one of them was
        # found before the insert (_taken_links).
        faults = [f for f in taken if f.window_code == window]
        fresh = sorted((r for r in wrows if int(r["chain_seq"]) > head.last_seq),
                       key=lambda r: int(r["chain_seq"]))
        if not fresh and not faults:
            continue
        faults += check_links(window, head, fresh, batch.hashes)
        if got:
            cconn.execute(
                heads.update()
                .where(heads.c[HALL] == hall, heads.c.window_code == window)
                .values(last_seq=head.last_seq, last_hash=head.last_hash)
            )
        else:
            cconn.execute(
                heads.insert().values(
                    {HALL: hall, "window_code": window, "last_seq": head.last_seq,
                     "last_hash": head.last_hash}
                )
            )
        now = datetime.now(UTC)
        for f in faults:
            cconn.execute(
                faults_t.insert().values(
                    {"id": new_id(), HALL: hall, "window_code": f.window_code,
                     "record_id": f.record_id, "kind": f.kind, "detail": f.detail,
                     "found_at": now}
                )
            )
            log.warning("hash chain fault: %s", f.text(hall))
        found += faults
    return found


def _taken_links(cconn: Connection, hall: str, batch: _Batch) -> list[ChainFault]:
    """Records of this batch, new to the centre, at links of their window's
    chain that another record already holds: added to the file by hand (an
    INSERT is no UPDATE, the guards let it pass), or written by a second copy
    of the window's database. Run before the batch is inserted: a record the
    centre already holds (a batch sent again) is no new claim."""
    heads = central_table("chain_heads")
    ev = central_table("evaluations")
    faults: list[ChainFault] = []
    by_window: dict[str, list[dict[str, Any]]] = {}
    for r in batch.typed or ():
        if r.get("chain_seq") is not None:
            by_window.setdefault(str(r["origin_window"]), []).append(r)
    for window, wrows in by_window.items():
        last = cconn.execute(
            select(heads.c.last_seq).where(heads.c[HALL] == hall, heads.c.window_code == window)
        ).scalar()
        stale = [r for r in wrows if last is not None and int(r["chain_seq"]) <= int(last)]
        for start in range(0, len(stale), 500):
            chunk = stale[start : start + 500]
            holders: dict[int, set[str]] = {}
            for seq, rid in cconn.execute(
                select(ev.c.chain_seq, ev.c.id).where(
                    ev.c[HALL] == hall,
                    ev.c.origin_window == window,
                    ev.c.chain_seq.in_({int(r["chain_seq"]) for r in chunk}),
                )
            ):
                holders.setdefault(int(seq), set()).add(str(rid))
            for r in chunk:
                seq, rid = int(r["chain_seq"]), str(r["id"])
                held = holders.get(seq, set())
                if held and rid not in held:
                    detail = {"chain_seq": seq, "held_by": sorted(held)}
                    faults.append(ChainFault(window, rid, "forked", detail))
    return faults


def _record_window(
    cconn: Connection,
    hall: str,
    window: str,
    revision: str | None,
    mark: tuple[str, int] | None = None,
) -> None:
    """The window's last push, and (``mark``) how far a table of it has
    arrived here, in the batch's own transaction."""
    ws = central_table("window_sync")
    now = datetime.now(UTC)
    where = (ws.c[HALL] == hall) & (ws.c.window_code == window)
    q = select(ws.c.push_marks).where(where)
    if cconn.dialect.name == "postgresql":
        q = q.with_for_update()
    got = cconn.execute(q).first()
    marks = dict(got[0] or {}) if got is not None else {}
    if mark is not None:
        # Never backwards: two passes of one window may commit in either order.
        marks[mark[0]] = max(int(marks.get(mark[0], 0)), mark[1])
    values = {"last_push_at": now, "local_revision": revision or "", "push_marks": marks}
    if got is not None:
        cconn.execute(ws.update().where(where).values(values))
    else:
        cconn.execute(ws.insert().values({HALL: hall, "window_code": window, **values,
                                          "joined_at": now}))


def _seed_marks(cconn: Connection, hall: str, window: str, cursors: dict[str, int]) -> None:
    ws = central_table("window_sync")
    cconn.execute(
        ws.update()
        .where(ws.c[HALL] == hall, ws.c.window_code == window)
        .values(push_marks={k: v for k, v in cursors.items() if v})
    )


def _central_marks(cconn: Connection, hall: str, window: str) -> dict[str, int] | None:
    """How far each fact table of this window has arrived at the centre;
    None when the centre does not know (a centre of an earlier release)."""
    ws = central_table("window_sync")
    got = cconn.execute(
        select(ws.c.push_marks).where(ws.c[HALL] == hall, ws.c.window_code == window)
    ).first()
    if got is None:
        return {}  # nothing of this window has ever arrived here
    if got[0] is None:
        return None
    return {str(k): int(v) for k, v in dict(got[0]).items()}


def _rewind(
    store: Store, cursors: dict[str, int], marks: dict[str, int], where: str
) -> dict[str, int]:
    """Move back the cursors that are past what the centre holds (a centre
    restored from a backup): what it lost is sent again (idempotent by key).
    A range that holds only facts pulled from the centre is no loss.
    Returns {table: rowid sent again from}."""
    rewound: dict[str, int] = {}
    with store.engine.connect() as conn:
        for t in fact_tables():
            local, central = cursors.get(t.name, 0), marks.get(t.name, 0)
            if central >= local:
                continue
            lost = conn.exec_driver_sql(
                f"SELECT count(*) FROM {t.name} WHERE rowid > ? AND rowid <= ? "
                "AND origin_window != ?",
                (central, local, CENTRE_ORIGIN),
            ).scalar()
            if not lost:
                continue
            log.warning(
                "centre %s holds %s of this window only up to rowid %d (the window had sent "
                "up to %d: %d rows lost there, a centre restored from a backup?); sending again",
                where, t.name, central, local, lost,
            )
            rewound[t.name] = central
    if rewound:
        with store.engine.begin() as conn:
            for name, rowid in rewound.items():
                conn.exec_driver_sql(
                    "UPDATE sync_state SET value = ? WHERE key = ?",
                    (str(rowid), CURSOR_PREFIX + name),
                )
                cursors[name] = rowid
    return rewound


@contextmanager
def central_transaction(central: Engine, stall_seconds: float | None) -> Iterator[Connection]:
    """One central transaction, commit included, under the pass's deadline."""
    where = shown_url(central)
    with central.connect() as cconn, deadline(cconn, stall_seconds, where), cconn.begin():
        yield cconn


def _find_bad_record(
    central: Engine,
    table: Table,
    hall: str,
    rows: Sequence[tuple[Any, ...]],
    stall_seconds: float | None,
) -> tuple[str, str] | None:
    """The first row of a refused batch that the centre refuses alone, and why."""
    id_at = [c.name for c in table.columns].index("id") + 1
    with central_transaction(central, stall_seconds) as cconn:
        for row in rows:
            sp = cconn.begin_nested()
            try:
                _insert(cconn, table, hall, [row])
            except (DBAPIError, central.dialect.loaded_dbapi.Error) as exc:
                sp.rollback()
                return str(row[id_at]), _first_line(exc)
            sp.rollback()
    return None


#: What the centre's refusals mean, for the administrator (the server speaks English).
_REFUSALS = (
    ("NUL (0x00)", "内容含有空字符（0x00），中心库不能保存"),
    ("row-level security", "记录不属于本窗口（中心库的权限规则只允许写入本窗口自己的记录）"),
    ("is of window", "记录涉及另一个窗口的办件、评价或文书"),
    ("supervisor decision", "办结、申诉成立或申诉不成立是监督管理人员在中心库的操作，"
                            "窗口接入中心库之后不能从窗口上传（这条记录不是在中心库办理的）"),
    ("invalid input syntax for type json", "附加数据不是有效的 JSON"),
    ("value too long", "内容超过中心库允许的长度"),
    ("violates", "违反中心库的数据约束"),
    ("out of range", "数值或日期超出中心库允许的范围"),
    ("invalid input syntax", "数据格式无效"),
)


def _refusal_in_words(why: str) -> str:
    for marker, words in _REFUSALS:
        if marker in why:
            return f"原因：{words}"
    return "原因：数据不符合中心库的要求"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return (text.splitlines()[0] if text else type(orig).__name__)[:300]


def _is_connection_error(exc: BaseException, central: Engine) -> bool:
    dbapi = central.dialect.loaded_dbapi
    orig = getattr(exc, "orig", None) or exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if central.dialect.name == "sqlite":
        # A locked or unopenable central file is "unreachable", not bad data.
        return isinstance(orig, sqlite3.OperationalError)
    return isinstance(orig, (dbapi.OperationalError, dbapi.InterfaceError))


def push(
    store: Store,
    central: Engine,
    *,
    hall_code: str,
    window_code: str,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[str, int], None] | None = None,
    stall_seconds: float | None = STALL_SECONDS,
) -> PushResult:
    """One push pass; see the module's docstring. Raises SyncError subclasses.

    Each central transaction must finish within ``stall_seconds`` (None: no
    limit), else the pass ends with CentreUnreachable and resumes next time.
    """
    _require_sqlite(store)
    result = PushResult()
    revision = stored_revision(store.engine)
    where = shown_url(central)
    with store.engine.connect() as conn:
        cursors = _cursors(conn)
    try:
        with central_transaction(central, stall_seconds) as cconn:
            check_revision(cconn, revision, where)
            marks = _central_marks(cconn, hall_code, window_code)
            if marks is None:
                # A centre of an earlier release, which kept no marks: it holds
                # what this window's cursors say; from now on it knows.
                _seed_marks(cconn, hall_code, window_code, cursors)
    except SQLAlchemyError as exc:
        log.warning("centre %s unreachable: %s", where, _first_line(exc))
        raise CentreUnreachable(f"无法连接中心库 {where}：{unreachable_reason(exc)}") from exc
    with store.engine.connect() as conn:
        snapshot = _snapshot(conn)
        cursors = _cursors(conn)
    if marks is not None:
        result.resent_from = _rewind(store, cursors, marks, where)
    for batch in _prefetched(_batches(store, snapshot, cursors, batch_size)):
        table, rows = batch.table, batch.rows
        if not rows:
            # Only facts pulled from the centre remain in the range.
            _set_cursor(store, table.name, batch.upto)
            continue
        try:
            with central_transaction(central, stall_seconds) as cconn:
                taken = _taken_links(cconn, hall_code, batch) if table.name == "evaluations" else []
                inserted = _insert(cconn, table, hall_code, rows)
                if table.name == "evaluations":
                    result.faults += _check_chain(cconn, hall_code, batch, taken)
                _record_window(cconn, hall_code, window_code, revision,
                               (table.name, int(rows[-1][0])))
        except (SQLAlchemyError, central.dialect.loaded_dbapi.Error) as exc:
            if _is_connection_error(exc, central):
                log.warning("centre unreachable during push: %s", _first_line(exc))
                raise CentreUnreachable(
                    f"中心库 {where} 不可达：{unreachable_reason(exc)}；"
                    "本窗口照常工作，稍后自动重试"
                ) from exc
            log.exception("centre refused a batch of %s", table.name)
            bad = _find_bad_record(central, table, hall_code, rows, stall_seconds)
            rid, why = bad if bad else ("?", _first_line(exc))
            raise BadRecord(
                f"中心库拒收本窗口的记录：表 {table.name}，记录 {rid}，{_refusal_in_words(why)}"
                f"（中心库原文：{why}）。本窗口的上传已停止，其他窗口不受影响，本窗口照常办件，"
                "新记录都留在本机等待上传。请管理员对照日志核查这条记录（它可能是在本程序之外"
                "写入或改动的），用 hallapp db check 检查本窗口数据库，处理后再运行 hallapp sync",
                table=table.name,
                record_id=rid,
            ) from exc
        _set_cursor(store, table.name, int(rows[-1][0]))
        result.pushed += len(rows)
        result.inserted += inserted
        result.by_table[table.name] = result.by_table.get(table.name, 0) + len(rows)
        if on_batch is not None:
            on_batch(table.name, len(rows))
    result.pending = pending_count(store)
    return result
