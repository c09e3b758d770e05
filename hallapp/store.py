"""The stores: the window's local SQLite database and the central store.

One engine and one sessionmaker per store, made at start-up; each use case
opens a transaction on the thread it runs on: ``with store.session() as s:``
when it writes, ``with store.read() as s:`` when it only reads. On SQLite a
write transaction takes the write lock at BEGIN (BEGIN IMMEDIATE); a read
takes none (a deferred BEGIN on a connection with ``PRAGMA query_only``), so
WAL lets it read its snapshot beside a writer in any process instead of
waiting for it. Migrations (Alembic, shipped in hallapp.migrations) run at
open time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

# The classifier lives in its own module; re-exported so callers find it here.
from hallapp.dberrors import (
    DbProblem,
    NewerSchemaError,
    StoreError,
    classify_db_error,
    display_url,
    problem_message,
    store_error,
)

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)


__all__ = [
    "DbProblem",
    "NewerSchemaError",
    "Store",
    "StoreError",
    "classify_db_error",
    "display_url",
    "integrity_problems",
    "store_error",
]


class ReadOnlyTransaction(RuntimeError):
    """Something tried to write in a ``store.read()`` transaction (a bug: use session())."""


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path)}"


def _on_sqlite_connect(dbapi_conn: Any, _record: object) -> None:
    # WAL lets the UI read while a background thread writes; synchronous=FULL
    # makes a commit durable before we acknowledge an evaluation or print a
    # number; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # A migration's batch mode drops a fact table and renames its copy into
    # place; the tally triggers of other tables name it (hallapp.reports.rollup)
    # and a checked rename would refuse them as dangling. The table ends with
    # its own name, so the references are right again once it is renamed.
    cur.execute("PRAGMA legacy_alter_table=ON")
    cur.close()


def _on_sqlite_connect_read_only(dbapi_conn: Any, record: object) -> None:
    _on_sqlite_connect(dbapi_conn, record)
    # The database refuses any write on this connection, whatever the code
    # above it does (SQLITE_READONLY: "attempt to write a readonly database").
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at BEGIN, so two writers never deadlock on an
    # upgrade from a read lock (pysqlite's default defers it).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_read(conn: Any) -> None:
    # Deferred: the transaction takes a WAL read snapshot at its first
    # SELECT and no lock a writer holds can make it wait.
    conn.exec_driver_sql("BEGIN")


def make_engine(
    url: str, *, echo: bool = False, read_only: bool = False, pre_ping: bool = True
) -> Engine:
    """The engine of a store; ``read_only`` (SQLite): connections for ``Store.read``."""
    if url.startswith("sqlite"):
        # A connection pool (SQLAlchemy's default QueuePool): each session
        # checks out a connection of its own, so threads never share one,
        # and the PRAGMAs run once per connection, not once per use case.
        # hide_parameters: SQL parameters carry ID numbers and phones; they must
        # never reach an exception's text, hence never a log or a screen.
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "isolation_level": None},
        )
        if read_only:
            event.listen(engine, "connect", _on_sqlite_connect_read_only)
            event.listen(engine, "begin", _sqlite_begin_read)
        else:
            event.listen(engine, "connect", _on_sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=pre_ping, hide_parameters=True)


def _is_file_database(engine: Engine) -> bool:
    database = engine.url.database
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")


def _refuse_flush(session: Session, _ctx: object, _instances: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyTransaction("只读事务中不能写入数据（程序错误，请使用 store.session()）")


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    script_location = resources.files("hallapp") / "migrations"
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["engine"] = engine
    return cfg


def stored_revision(engine: Engine) -> str | None:
    """The schema revision the database says it has (None for a new database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema."""
    from hallapp.migrations import HEAD

    # Alembic costs a window's start-up 0.2 s and 12 MB: only load it when
    # there is something to upgrade.
    stored = stored_revision(engine)
    if stored == HEAD:
        return
    if stored is None and _open_central(engine, HEAD):
        return
    from alembic import command

    cfg = alembic_config(engine)
    check_known_revision(engine, stored)
    command.upgrade(cfg, "head")


def _open_central(engine: Engine, head: str) -> bool:
    """True if ``engine`` is a central store (``hallapp central init``) that
    mirrors this release. A central store has a schema of its own (hall_code
    in every key) and is upgraded by that command, never by the local
    migrations: the supervisor view and ``hallapp report`` read it as it is.
    One that mirrors another release is refused with the command to run."""
    from hallapp.sync.centre import central_revision

    with engine.connect() as conn:
        if not inspect(conn).has_table("central_meta"):
            return False
        mirrored = central_revision(conn)
    if mirrored != head:
        raise StoreError(
            f"中心库的结构版本为 {mirrored or '未记录'}，本程序为 {head}：请先在中心运行 "
            "hallapp central init --url … 升级中心库，再打开"
        )
    return True


def check_known_revision(engine: Engine, stored: str | None) -> None:
    """Refuse a database stamped by a newer HallApp: upgrading it from here
    would fail half-way or, worse, "downgrade" what this code cannot read."""
    if stored is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        known = script.get_revision(stored) is not None
    except CommandError:
        known = False
    if not known:
        raise NewerSchemaError(
            problem_message(DbProblem.NEWER_SCHEMA, display_url(engine.url), revision=stored),
            stored,
        )


def integrity_problems(engine: Engine, *, quick: bool = False) -> list[str]:
    """What SQLite's integrity check finds ([] when the file is sound).

    ``quick_check`` skips the index-to-table cross check (seconds instead of
    minutes on a large file). Other databases check their own pages: [].
    """
    if engine.dialect.name != "sqlite":
        return []
    pragma = "quick_check" if quick else "integrity_check"
    with engine.connect() as conn:
        rows = [str(r[0]) for r in conn.exec_driver_sql(f"PRAGMA {pragma}(100)")]
    return [] if rows == ["ok"] else rows


def _triggers(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).all()
    # Whitespace aside: the same statement, however it was laid out.
    return {str(name): " ".join(str(sql or "").split()) for name, sql in rows}


def _local_triggers() -> dict[str, str]:
    reference = make_engine("sqlite://")
    try:
        migrate(reference)
        return _triggers(reference)
    finally:
        reference.dispose()


def _central_triggers() -> dict[str, str]:
    import tempfile

    from hallapp.sync.centre import init_central

    # init_central opens its own engine: a file, not a memory database.
    with tempfile.TemporaryDirectory(prefix="hallapp-check-") as tmp:
        url = sqlite_url(Path(tmp) / "reference.sqlite3")
        init_central(url)
        reference = make_engine(url)
        try:
            return _triggers(reference)
        finally:
            reference.dispose()


def guard_problems(engine: Engine, *, central: bool) -> list[str]:
    """Triggers of a current SQLite store that differ from those its schema makes.

    The append-only guards (a fact cannot be changed or deleted) and the
    counting triggers (the monthly figures) live in the file itself, and
    anyone with the file and the sqlite3 shell can drop or rewrite them:
    the file stays sound for integrity_check while its records lose their
    protection. A fresh in-memory store of the same revision says what
    should be there (``central``: a central SQLite file, made by central
    init). Other databases: [].
    """
    if engine.dialect.name != "sqlite":
        return []
    expected = _central_triggers() if central else _local_triggers()
    found = _triggers(engine)
    problems = [f"缺少触发器 {name}（事实记录的防改写保护或统计计数）"
                for name in sorted(expected) if name not in found]
    problems += [f"触发器 {name} 已被改动" for name in sorted(expected)
                 if name in found and found[name] != expected[name]]
    problems += [f"多出未知的触发器 {name}" for name in sorted(found) if name not in expected]
    return problems


def schema_is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    for revision in current:
        check_known_revision(engine, revision)
    return set(current) == set(script.get_heads())


class Store:
    """A database with its sessionmaker."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)
        # Reads on SQLite get a pool of their own: query_only connections
        # whose BEGIN is deferred (see the module docstring). An in-memory
        # database is one per connection, so it reads on the writer's engine.
        self.read_engine = engine
        if engine.dialect.name == "sqlite" and _is_file_database(engine):
            self.read_engine = make_engine(
                engine.url.render_as_string(hide_password=False),
                echo=bool(engine.echo),
                read_only=True,
            )
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)
        event.listen(self.read_sessionmaker, "before_flush", _refuse_flush)

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Store:
        try:
            engine = make_engine(url)
        except Exception as exc:
            log.exception("cannot make an engine for %s", display_url(url))
            raise store_error(exc, url) from exc
        if run_migrations:
            try:
                migrate(engine)
            except Exception as exc:
                log.exception("opening or upgrading %s failed", display_url(engine.url))
                engine.dispose()
                raise store_error(exc, engine.url) from exc
        return cls(engine)

    @classmethod
    def open_local(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls.open(sqlite_url(path))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error.

        On SQLite it waits for the write lock at its start (busy_timeout):
        use :meth:`read` for anything that only reads.
        """
        with self.sessionmaker.begin() as s:
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, never blocked by a writer.

        Writes are refused: by the session (ReadOnlyTransaction on flush) and
        by the database (SQLite ``query_only``, PostgreSQL ``READ ONLY``).
        """
        with self.read_sessionmaker.begin() as s:
            if self.read_engine.dialect.name == "postgresql":
                s.execute(text("SET TRANSACTION READ ONLY"))
                # The figures' statements take milliseconds, but a plan that
                # looks up a few thousand candidates by index is estimated
                # as a scan of the whole history, and PostgreSQL then spends
                # ~270 ms compiling it (JIT) to save nothing.
                s.execute(text("SET LOCAL jit = off"))
            yield s

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
