"""The central store: creating and upgrading it, and what is written there.

``init_central(url)`` runs the centre's Alembic scripts (their own script
location and version table) and then :func:`reconcile_on`, which creates the
mirrored tables and adds the columns that newer local migrations brought,
from the models (additive only), so columns other engineers add to a fact
flow through to the centre. The centre records the local schema revision it
mirrors; a window of another revision is refused before anything is written.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hallapp.models import new_id
from hallapp.reports.caseroll import install_all, rebuild_all
from hallapp.reports.rollup import DEFINER_SEARCH_PATH
from hallapp.store import make_engine
from hallapp.sync import CentreUnreachable, SchemaMismatch, SyncError
from hallapp.sync.schema import (
    CENTRE_ORIGIN,
    DERIVED_TABLES,
    HALL,
    central_metadata,
    central_table,
    fact_tables,
    retired_indexes,
)

log = logging.getLogger(__name__)

LOCAL_REVISION_KEY = "local_revision"
#: A random identity made once by ``central init``: a window remembers the
#: centre it joined by it, not by an address (which changes with a move, a
#: restored backup or a DNS name), and refuses to push into another.
CENTRE_ID_KEY = "centre_id"


def shown_url(url: str | Engine) -> str:
    """A URL fit for a message or a log line: never its password, nor the
    connect timeout this program adds to every central URL."""
    from sqlalchemy.engine import make_url

    from hallapp.dberrors import PASSWORD_PARAMS

    u = url.url if isinstance(url, Engine) else make_url(url)
    if u.query.get("connect_timeout") == str(CONNECT_TIMEOUT_SECONDS):
        u = u.difference_update_query(["connect_timeout"])
    # libpq also takes the password as a query parameter (?password=…).
    if any(k.lower() in PASSWORD_PARAMS for k in u.query):
        u = u.set(query={k: "***" if k.lower() in PASSWORD_PARAMS else v
                         for k, v in u.query.items()})
    return u.render_as_string(hide_password=True)


def central_engine(url: str) -> Engine:
    """An engine on the central store; sslmode/sslrootcert and the like pass
    through in the URL's query to the driver."""
    try:
        # No pre-ping: it would run before a pass's deadline (see
        # ``deadline``) and could hang on a centre that stopped answering.
        # The engines of a pass are short-lived, so a stale pooled
        # connection is rare, and one fails inside the deadline like a cut.
        engine = make_engine(_with_connect_timeout(url), pre_ping=False)
    except (SQLAlchemyError, ValueError) as exc:
        raise SyncError(f"中心库地址无效：{shown_url_safe(url)}（{type(exc).__name__}）") from exc
    return engine


# A centre that accepts the TCP connection and then answers nothing (a hung
# server, a half-open VPN) would otherwise hold a sync pass forever: libpq
# has no connect timeout of its own.
CONNECT_TIMEOUT_SECONDS = 10


def _with_connect_timeout(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "postgresql" or "connect_timeout" in u.query:
        return url
    u = u.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})
    return u.render_as_string(hide_password=False)


# A centre that stops answering once the session is up (a hung server, a
# link that black-holes packets while both kernels keep the socket open)
# would hold a statement in flight inside libpq forever: connect_timeout
# covers only the connect. So every central transaction of a sync pass runs
# under a deadline; when it passes, the socket is shut down under libpq,
# whose pending call fails as on a dropped link, and the transaction is
# lost whole. The local cursor has not moved, so nothing is lost: the next
# pass sends the batch again. Generous, because a slow link moving a whole
# batch must not be taken for a dead one.
STALL_SECONDS = 120.0


@contextmanager
def deadline(cconn: Connection, seconds: float | None, where: str) -> Iterator[None]:
    """Run the block on ``cconn`` within ``seconds`` or end it as unreachable.

    PostgreSQL only (a SQLite centre is a file: its waits are bounded by the
    busy timeout). Enter it after the connection is checked out and before
    the transaction begins, so that the commit is inside the deadline too.
    """
    pgconn = getattr(cconn.connection.dbapi_connection, "pgconn", None)
    if not seconds or pgconn is None:
        yield
        return
    fd = int(pgconn.socket)
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def cut() -> None:
        with lock:
            if state["done"]:
                return  # the block ended meanwhile: the fd may be another socket's now
            state["fired"] = True
            try:
                # shutdown acts on the socket, not the descriptor: a duplicate
                # ends the connection that libpq is waiting on.
                with socket.socket(fileno=os.dup(fd)) as sock:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        log.warning("centre %s: no answer within %.0f s; connection cut", where, seconds)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield
    except Exception as exc:
        if state["fired"]:
            raise CentreUnreachable(
                f"中心库 {where} 在 {seconds:.0f} 秒内没有响应，本次同步已中止；"
                "本窗口照常工作，稍后自动重试"
            ) from exc
        raise
    finally:
        with lock:
            state["done"] = True
        timer.cancel()
        if state["fired"]:
            cconn.invalidate()


def shown_url_safe(url: str) -> str:
    try:
        return shown_url(url)
    except Exception:
        return "<无法解析的地址>"


def _create_guards(conn: Connection) -> None:
    """The append-only guards on the central facts, as on the local store."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(
            text(
                """
            CREATE OR REPLACE FUNCTION hallapp_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END
            $$ LANGUAGE plpgsql
            """
            )
        )
    for table in fact_tables():
        name = table.name
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS trg_{name}_no_{action.lower()} "
                    f"BEFORE {action} ON {name} BEGIN SELECT "
                    f"RAISE(ABORT, 'append-only table {name}: {action} refused'); END"
                )
        elif dialect == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_{name}_append_only ON {name}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER trg_{name}_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION hallapp_refuse_change()"
            )
    _create_window_decision_guard(conn)
    if dialect == "postgresql":
        _create_appeal_guard(conn)
        _create_owner_checks(conn)


#: Follow-up steps only a supervisor takes (hallapp.followup.act): 办结 and the
#: decision on an appeal; an upheld appeal takes a 差评 out of every figure.
SUPERVISOR_STEPS = ("closed", "appeal_upheld", "appeal_rejected")

# A window joined to a centre has its supervisors decide there (the
# supervisor view on the central store writes them as '@centre', with the
# centre's audit entry). The same kinds arriving in a window's push, dated
# after the window first reached the centre, were not made by this program
# (sqlite3 on the window's file, say) and are refused, on either backend:
# the window's login could otherwise erase a 差评 from the figures. Those
# dated before are the hall's history from before it had a centre, when its
# supervisors worked on the window's own database: lawful then, and passed
# (``central verify`` still reports any that lack the window's audit entry).
# A row already here (a batch sent again) passes, for ON CONFLICT to skip.
_STEP_KINDS_SQL = ", ".join(f"'{k}'" for k in SUPERVISOR_STEPS)
_WINDOW_DECISION_GUARD_PG = f"""
CREATE OR REPLACE FUNCTION hallapp_check_window_decision() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM follow_up_steps WHERE {HALL} = NEW.{HALL} AND id = NEW.id) THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM window_sync WHERE {HALL} = NEW.{HALL}
                  AND window_code = NEW.origin_window AND joined_at <= NEW.created_at) THEN
        RAISE EXCEPTION 'supervisor decision % (%) of window % refused: made at the window '
            'after it joined the centre', NEW.id, NEW.kind, NEW.origin_window;
    END IF;
    RETURN NEW;
END
$$"""


def _create_window_decision_guard(conn: Connection) -> None:
    # PostgreSQL fires BEFORE triggers by name: this one before the appeal
    # check, whose refusal ("not a supervisor…") would hide the reason.
    name = "trg_follow_up_steps_aa_window_decision"
    when = f"NEW.kind IN ({_STEP_KINDS_SQL}) AND NEW.origin_window <> '{CENTRE_ORIGIN}'"
    if conn.dialect.name == "postgresql":
        conn.execute(text(_WINDOW_DECISION_GUARD_PG))
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON follow_up_steps")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE INSERT ON follow_up_steps FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION hallapp_check_window_decision()"
        )
        conn.exec_driver_sql(f"ALTER TABLE follow_up_steps ENABLE ALWAYS TRIGGER {name}")
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE INSERT ON follow_up_steps WHEN {when} "
            f"AND NOT EXISTS (SELECT 1 FROM follow_up_steps WHERE {HALL} = NEW.{HALL} "
            "AND id = NEW.id) "
            f"AND EXISTS (SELECT 1 FROM window_sync WHERE {HALL} = NEW.{HALL} "
            "AND window_code = NEW.origin_window AND joined_at <= NEW.created_at) "
            "BEGIN SELECT RAISE(ABORT, 'supervisor decision refused: made at the window "
            "after it joined the centre'); END"
        )


# An upheld appeal takes its evaluation out of every figure, so the rule of
# hallapp.followup (a pending appeal, decided by a supervisor who neither
# filed it nor is the clerk evaluated) is the server's too: a supervisor's
# login could otherwise write a decision with psql. A decision that is
# already there (a batch sent again) passes, for ON CONFLICT to skip.
_APPEAL_GUARD = f"""
CREATE OR REPLACE FUNCTION hallapp_check_appeal_decision() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$
DECLARE
    evaluated varchar;
    last_kind varchar;
    filer varchar;
BEGIN
    IF EXISTS (SELECT 1 FROM follow_up_steps WHERE {HALL} = NEW.{HALL} AND id = NEW.id) THEN
        RETURN NEW;
    END IF;
    SELECT staff_id INTO evaluated FROM evaluations
     WHERE {HALL} = NEW.{HALL} AND id = NEW.evaluation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'appeal decision % refused: evaluation % is not at the centre',
            NEW.id, NEW.evaluation_id;
    END IF;
    SELECT kind, staff_id INTO last_kind, filer FROM follow_up_steps
     WHERE {HALL} = NEW.{HALL} AND evaluation_id = NEW.evaluation_id
       AND kind IN ('appealed', 'appeal_upheld', 'appeal_rejected')
     ORDER BY created_at DESC, origin_seq DESC NULLS LAST LIMIT 1;
    IF last_kind IS DISTINCT FROM 'appealed' THEN
        RAISE EXCEPTION 'appeal decision % refused: no appeal pending on evaluation %',
            NEW.id, NEW.evaluation_id;
    END IF;
    IF NEW.staff_id IS NULL OR NEW.staff_id = filer OR NEW.staff_id = evaluated THEN
        RAISE EXCEPTION 'appeal decision % refused: decided by the one who filed it '
            'or by the clerk evaluated', NEW.id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM staff WHERE {HALL} = NEW.{HALL} AND id = NEW.staff_id
                   AND role IN ('supervisor', 'administrator')) THEN
        RAISE EXCEPTION 'appeal decision % refused: % is not a supervisor of hall %',
            NEW.id, NEW.staff_id, NEW.{HALL};
    END IF;
    RETURN NEW;
END
$$"""


def _create_appeal_guard(conn: Connection) -> None:
    conn.execute(text(_APPEAL_GUARD))
    conn.exec_driver_sql(
        "DROP TRIGGER IF EXISTS trg_follow_up_steps_appeal_check ON follow_up_steps"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER trg_follow_up_steps_appeal_check BEFORE INSERT ON follow_up_steps "
        "FOR EACH ROW WHEN (NEW.kind IN ('appeal_upheld', 'appeal_rejected')) "
        "EXECUTE FUNCTION hallapp_check_appeal_decision()"
    )
    conn.exec_driver_sql(
        "ALTER TABLE follow_up_steps ENABLE ALWAYS TRIGGER trg_follow_up_steps_appeal_check"
    )


# A window's login may add facts of its own window only (row-level security
# checks the row's own origin), and a fact names the record it is about: an
# event, an evaluation or a document names its case, a follow-up step its
# evaluation, a print its document. Those must be of the same window (or
# written at the centre), else a window's login could complete another
# window's overdue case, add 差评 against its clerk, or uphold an appeal on
# its evaluation. Checked once per statement over its new rows (a pushed
# batch is one join), as the tables' owner.
_OWNED_BY: tuple[tuple[str, str, str], ...] = (
    ("case_events", "cases", "case_id"),
    ("evaluations", "cases", "case_id"),
    ("issued_documents", "cases", "case_id"),
    ("follow_up_steps", "evaluations", "evaluation_id"),
    ("document_prints", "issued_documents", "document_id"),
)


def _create_owner_checks(conn: Connection) -> None:
    from hallapp.sync.schema import CENTRE_ORIGIN

    for child, parent, column in _OWNED_BY:
        fn, trigger = f"hallapp_owner_{child}", f"trg_{child}_owner"
        conn.execute(text(f"""
CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.id, n.origin_window AS mine, p.id AS parent_id, p.origin_window AS theirs
      INTO bad
      FROM new_rows n JOIN {parent} p ON p.{HALL} = n.{HALL} AND p.id = n.{column}
     WHERE n.origin_window <> '{CENTRE_ORIGIN}'
       AND p.origin_window NOT IN (n.origin_window, '{CENTRE_ORIGIN}')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '{child} % of window % refused: its {parent} % is of window %',
            bad.id, bad.mine, bad.parent_id, bad.theirs;
    END IF;
    RETURN NULL;
END
$$"""))
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON {child}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {trigger} AFTER INSERT ON {child} REFERENCING NEW TABLE AS "
            f"new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
        )
        conn.exec_driver_sql(f"ALTER TABLE {child} ENABLE ALWAYS TRIGGER {trigger}")


def reconcile_on(conn: Connection) -> None:
    """Create missing central tables, columns and indexes; drop the indexes
    this release retired (``schema.retired_indexes``), nothing else."""
    md = central_metadata()
    new_tallies = not all(inspect(conn).has_table(t) for t in DERIVED_TABLES)
    md.create_all(conn, checkfirst=True)
    insp = inspect(conn)
    for table in md.sorted_tables:
        have = {c["name"] for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name in have:
                continue
            # Rows already there have no value for a column added later:
            # nullable at the centre, whatever it is locally.
            ddl = col.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}')
            log.info("central store: added column %s.%s", table.name, col.name)
        # create_all makes indexes only with a new table: an index that a
        # later release adds to an existing table (a report's plan) is made
        # here, by name. One the centre has and the model dropped is kept,
        # unless this release retired it by name (below).
        have_ix = {ix["name"] for ix in insp.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have_ix:
                index.create(conn)
                log.info("central store: added index %s on %s", index.name, table.name)
        # An index an earlier release made and this one retired (redundant
        # or read by no central query) slows every push: dropped, by name.
        for name in retired_indexes(table):
            if name in have_ix:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
                log.info("central store: dropped index %s on %s", name, table.name)
    # A centre of an earlier release did not record when each window
    # joined: its last push stands for it (what came before is history).
    conn.exec_driver_sql(
        "UPDATE window_sync SET joined_at = last_push_at WHERE joined_at IS NULL"
    )
    _create_guards(conn)
    install_all(conn, central=True)
    if new_tallies:
        # A centre made before the counts: count what it already holds.
        rebuild_all(conn, central=True)


def init_central(url: str) -> str:
    """Create or upgrade the central store; returns the local revision it mirrors."""
    from alembic import command
    from alembic.config import Config

    from hallapp.migrations import HEAD

    engine = central_engine(url)
    try:
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(resources.files("hallapp.sync") / "migrations")
        )
        cfg.attributes["engine"] = engine
        try:
            command.upgrade(cfg, "head")
            with engine.begin() as conn:
                reconcile_on(conn)
                _set_meta(conn, LOCAL_REVISION_KEY, HEAD)
                if centre_id(conn) is None:
                    _set_meta(conn, CENTRE_ID_KEY, str(new_id()))
                # Tables added by this upgrade get the logins' grants and policies.
                from hallapp.sync.roles import refresh_roles

                refresh_roles(conn)
        except OperationalError as exc:
            log.exception("central init failed for %s", shown_url(engine))
            raise CentreUnreachable(
                f"无法连接中心库 {shown_url(engine)}：{unreachable_reason(exc)}"
            ) from exc
    finally:
        engine.dispose()
    return HEAD


def _reason(exc: BaseException) -> str:
    # The driver's first line only (it never holds the password: URLs are
    # not echoed by psycopg or sqlite3).
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:200]


# What a connect failure means, by the driver's words where the server sent
# no SQLSTATE (a refused port, a name that does not resolve, a timeout).
_UNREACHABLE_WORDS = ("connection refused", "could not connect", "timeout expired",
                      "no route to host", "name or service not known", "could not translate",
                      "server closed the connection", "network is unreachable",
                      "connection timed out", "temporary failure in name resolution")


def unreachable_reason(exc: BaseException) -> str:
    """Why the centre could not be used, in Chinese with what to do; the
    driver's own words go to the log (callers log ``exc``)."""
    from hallapp.dberrors import DbProblem, classify_db_error

    problem = classify_db_error(exc)
    first = _reason(exc).lower()
    if "ssl" in first or "certificate" in first:
        return ("中心库服务器与本窗口的加密连接（SSL）没有建立：请核对地址中的 sslmode、"
                "sslrootcert 等设置和服务器的证书")
    if problem is DbProblem.OTHER and any(w in first for w in _UNREACHABLE_WORDS):
        problem = DbProblem.UNREACHABLE
    if problem is DbProblem.OTHER and "role" in first and "does not exist" in first:
        problem = DbProblem.LOGIN_REFUSED
    return {
        DbProblem.UNREACHABLE: "连接不上中心库服务器（网络不通、服务器未开启，或地址、端口不对）",
        DbProblem.LOGIN_REFUSED: "中心库拒绝登录（登录名或密码不对，或该登录已被收回；"
                                 "请管理员用 hallapp central grant-window 重新发放）",
        DbProblem.MISSING: "服务器上没有这个中心库（数据库名不对，"
                           "或尚未建立：hallapp central init --url …）",
        DbProblem.LOCKED: "中心库正被占用（另一个窗口正在同步，或文件被其他程序锁定）",
        DbProblem.PERMISSION: "没有访问中心库的权限（共享文件夹只读，或登录没有授权）",
        DbProblem.DISK_FULL: "中心库所在的磁盘已满",
    }.get(problem, "连接中心库失败，详细信息见日志")


def _set_meta(conn: Connection, key: str, value: str) -> None:
    meta = central_table("central_meta")
    conn.execute(meta.delete().where(meta.c.key == key))
    conn.execute(meta.insert().values(key=key, value=value))


def centre_id(conn: Connection) -> str | None:
    """The centre's identity (None: a centre made before it had one, or not a centre)."""
    if not inspect(conn).has_table("central_meta"):
        return None
    meta = central_table("central_meta")
    return conn.scalar(select(meta.c.value).where(meta.c.key == CENTRE_ID_KEY))


def central_revision(conn: Connection) -> str | None:
    """The local schema revision the central store mirrors (None: not a central store)."""
    if not inspect(conn).has_table("central_meta"):
        return None
    meta = central_table("central_meta")
    return conn.scalar(select(meta.c.value).where(meta.c.key == LOCAL_REVISION_KEY))


def check_revision(conn: Connection, local_revision: str | None, where: str) -> None:
    """Refuse, before anything is written, a window whose schema differs from the centre's."""
    central = central_revision(conn)
    if central is None:
        raise SchemaMismatch(
            f"{where} 不是 HallApp 中心库（没有中心库结构）。"
            "请先在中心运行 hallapp central init --url …"
        )
    if central != local_revision:
        raise SchemaMismatch(
            f"数据库结构版本不一致：本窗口为 {local_revision or '未建立'}，"
            f"中心库 {where} 为 {central}，未写入任何数据。"
            "请把本窗口和中心库升级到同一版本（窗口：hallapp db upgrade；"
            "中心：hallapp central init --url …）"
        )


# ------------------------------------------------------------ reference version


def ref_version(conn: Connection, hall_code: str) -> int:
    rv = central_table("ref_versions")
    return int(conn.scalar(select(rv.c.version).where(rv.c[HALL] == hall_code)) or 0)


def bump_version(conn: Connection, hall_code: str) -> int:
    """One more reference-data version for the hall, in the caller's transaction.

    On PostgreSQL the row lock orders concurrent changes of one hall.
    """
    rv = central_table("ref_versions")
    now = datetime.now(UTC)
    current = conn.execute(
        select(rv.c.version).where(rv.c[HALL] == hall_code).with_for_update()
    ).scalar()
    if current is None:
        conn.execute(rv.insert().values({HALL: hall_code, "version": 1, "changed_at": now}))
        return 1
    conn.execute(
        rv.update()
        .where(rv.c[HALL] == hall_code)
        .values(version=current + 1, changed_at=now)
    )
    return int(current) + 1


def serialise(conn: Connection, *key: str) -> None:
    """Hold the centre's lock named by ``key`` until the caller's transaction ends.

    A decision at the centre reads what is there and then writes (the last
    administrator, a pending appeal, a sub-case not yet decided); on
    PostgreSQL two such transactions at once both read the state before
    either writes, and both go through. So the transactions that decide on
    one thing take its lock first, before they read: the second waits, then
    sees the first one's write and is refused by the ordinary rule. An
    advisory lock, because the thing is not always one row (a hall's staff),
    the row may not exist yet, and any login may take it (no UPDATE right is
    needed). A SQLite centre needs none: every write transaction of this
    program begins IMMEDIATE (hallapp.store), which serialises them whole.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": "hallapp:" + ":".join(key)},
    )


@dataclass(frozen=True)
class Actor:
    """Who acts at the centre: a supervisor or administrator of the hall."""

    staff_no: str
    role: str


def audit(
    conn: Connection,
    hall_code: str,
    actor: Actor,
    action: str,
    *,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> str:
    """An audit entry at the centre, in the caller's transaction."""
    row = {
        HALL: hall_code,
        "id": new_id(),
        "origin_window": CENTRE_ORIGIN,
        "created_at": datetime.now(UTC),
        "staff_no": actor.staff_no,
        "role": actor.role,
        "action": action,
        "target": target[:200],
        "detail": detail or {},
    }
    conn.execute(central_table("audit_entries").insert().values(row))
    return str(row["id"])


def add_fact_for_window(
    conn: Connection, hall_code: str, window_code: str, table: str, values: dict[str, Any]
) -> str:
    """Write a fact at the centre that the window ``window_code`` pulls next time
    (a supervisor's follow-up step, an appeal decision), in the caller's
    transaction. ``values`` are the local table's columns; id, origin and
    time are filled in when missing. Returns the fact's id."""
    t = central_table(table)
    if table not in {f.name for f in fact_tables()}:
        raise ValueError(f"{table} is not a fact table")
    row = {**values}
    row.setdefault("id", new_id())
    row.setdefault("origin_window", CENTRE_ORIGIN)
    row.setdefault("created_at", datetime.now(UTC))
    for col in t.columns:
        if col.name not in row and col.default is not None and col.name != "origin_seq":
            arg = col.default.arg  # type: ignore[attr-defined]
            row[col.name] = arg(None) if callable(arg) else arg
    row[HALL] = hall_code
    conn.execute(t.insert().values(row))
    conn.execute(
        central_table("centre_outbox")
        .insert()
        .values({HALL: hall_code, "window_code": window_code, "table_name": table,
                 "row_id": row["id"]})
    )
    return str(row["id"])
