"""The database's own guards that keep facts append-only, for SQLite and PostgreSQL.

A fact (models.APPEND_ONLY) is written once and never changed or removed, by
any client of the database, not only ours. Row triggers against UPDATE and
DELETE are not enough on their own:

SQLite
    ``INSERT OR REPLACE``/``REPLACE`` (and a REPLACE that hits a secondary
    UNIQUE key, or the hidden ``rowid``) delete the old row without firing
    DELETE triggers unless ``recursive_triggers`` is on, which it is not by
    default. So a BEFORE INSERT trigger refuses any insert whose primary key,
    unique key or rowid already exists, and an AFTER INSERT trigger refuses
    rowids below 1 (so the ``-1`` SQLite shows as NEW.rowid for a rowid not
    yet chosen can never name a stored row). Consequence: on SQLite an
    insert of an existing fact ABORTS even with ``INSERT OR IGNORE`` or
    ``ON CONFLICT DO NOTHING``; an idempotent insert filters existing ids
    itself (``INSERT … SELECT … WHERE NOT EXISTS``).

PostgreSQL
    Row triggers do not fire on TRUNCATE (a statement trigger does), and
    ``SET session_replication_role = replica`` silently disables ordinary
    triggers: every guard is ``ENABLE ALWAYS``. ``ON CONFLICT DO UPDATE`` and
    ``MERGE`` fire the UPDATE row trigger. ``ON CONFLICT DO NOTHING`` stays
    usable (the sync's bulk path).

The guards are generated from what the database says about each table (its
primary key, unique constraints and unique indexes), so a later migration
that alters a fact table (``batch_alter_table`` on SQLite recreates the table
and drops its triggers) calls :func:`install_guards` for that table at its end,
and the guards follow the new keys. :func:`missing_guards` says what is
missing or out of date; a test checks it after every migration to head.

The owner of the tables (or a superuser) can still drop a trigger: guards
stop clients, not the database's administrator. That is what database roles
are for (a window's login owns nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: The fact tables (models.APPEND_ONLY), named here so that a migration keeps
#: meaning what it meant when it was written even if the models change.
CORE_FACT_TABLES: tuple[str, ...] = (
    "duty_events",
    "applicants",
    "cases",
    "case_events",
    "issued_documents",
    "document_prints",
    "evaluations",
    "follow_up_steps",
    "audit_entries",
    "bundle_cases",
    "bundle_case_members",
)
#: Key projects' facts (migration 0009).
PROJECT_FACT_TABLES: tuple[str, ...] = (
    "key_projects",
    "project_agents",
    "project_nodes",
    "project_steps",
    "project_events",
    "agent_surveys",
    "project_documents",
)
FACT_TABLES: tuple[str, ...] = CORE_FACT_TABLES + PROJECT_FACT_TABLES

PG_FUNCTION = "hallapp_refuse_change"


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def unique_keys(conn: Connection, table: str) -> list[tuple[str, ...]]:
    """The table's primary key and every unique key (constraint or index), as column tuples."""
    insp = sa.inspect(conn)
    keys: list[tuple[str, ...]] = []
    pk = tuple(insp.get_pk_constraint(table).get("constrained_columns") or ())
    if pk:
        keys.append(pk)
    for uq in insp.get_unique_constraints(table):
        keys.append(tuple(c for c in uq["column_names"] if c is not None))
    for ix in insp.get_indexes(table):
        if ix.get("unique"):
            cols = tuple(c for c in ix["column_names"] if c is not None)
            # An expression index has no plain columns to compare.
            if len(cols) == len(ix["column_names"]):
                keys.append(cols)
    seen: set[tuple[str, ...]] = set()
    unique: list[tuple[str, ...]] = []
    for key in keys:
        if key and key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


# ----------------------------------------------------------------------- SQLite


def _sqlite_names(table: str) -> dict[str, str]:
    # no_update / no_delete keep the names migration 0001 gave them.
    return {
        "update": f"trg_{table}_no_update",
        "delete": f"trg_{table}_no_delete",
        "replace": f"trg_{table}_no_replace",
        "rowid": f"trg_{table}_rowid_positive",
    }


def _sqlite_ddl(conn: Connection, table: str) -> dict[str, str]:
    names = _sqlite_names(table)
    t = _quote(conn, table)
    exists = [f"EXISTS (SELECT 1 FROM {t} WHERE rowid = NEW.rowid)"]
    for key in unique_keys(conn, table):
        match = " AND ".join(f"{_quote(conn, c)} = NEW.{_quote(conn, c)}" for c in key)
        exists.append(f"EXISTS (SELECT 1 FROM {t} WHERE {match})")
    refused = f"append-only table {table}"
    return {
        "update": (
            f"CREATE TRIGGER {names['update']} BEFORE UPDATE ON {t} "
            f"BEGIN SELECT RAISE(ABORT, '{refused}: UPDATE refused'); END"
        ),
        "delete": (
            f"CREATE TRIGGER {names['delete']} BEFORE DELETE ON {t} "
            f"BEGIN SELECT RAISE(ABORT, '{refused}: DELETE refused'); END"
        ),
        "replace": (
            f"CREATE TRIGGER {names['replace']} BEFORE INSERT ON {t} "
            f"WHEN {' OR '.join(exists)} "
            f"BEGIN SELECT RAISE(ABORT, '{refused}: INSERT over an existing row refused'); END"
        ),
        "rowid": (
            f"CREATE TRIGGER {names['rowid']} AFTER INSERT ON {t} WHEN NEW.rowid < 1 "
            f"BEGIN SELECT RAISE(ABORT, '{refused}: rowid below 1 refused'); END"
        ),
    }


def _sqlite_installed(conn: Connection) -> dict[str, str]:
    rows = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    return {name: sql for name, sql in rows}


def _normalise(sql: str) -> str:
    return " ".join(sql.split())


# ------------------------------------------------------------------- PostgreSQL


def _pg_names(table: str) -> dict[str, str]:
    # append_only keeps the name migration 0001 gave it.
    return {"row": f"trg_{table}_append_only", "truncate": f"trg_{table}_no_truncate"}


def _pg_function_ddl() -> str:
    return f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
        END
        $$ LANGUAGE plpgsql
    """


def _pg_ddl(conn: Connection, table: str) -> dict[str, str]:
    names = _pg_names(table)
    t = _quote(conn, table)
    return {
        "row": (
            f"CREATE TRIGGER {names['row']} BEFORE UPDATE OR DELETE ON {t} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
        ),
        "truncate": (
            f"CREATE TRIGGER {names['truncate']} BEFORE TRUNCATE ON {t} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        ),
    }


def _pg_installed(conn: Connection) -> dict[tuple[str, str], str]:
    """(table, trigger) → tgenabled ('A' = always, 'O' = origin, 'D' = disabled...)."""
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = to_regnamespace(current_schema())"
        )
    )
    return {(rel, name): str(enabled) for rel, name, enabled in rows}


# ------------------------------------------------------------------- interface


def install_guards(conn: Connection, tables: Iterable[str] = FACT_TABLES) -> None:
    """(Re)create every guard of the given fact tables, from their current keys.

    Idempotent. Call it at the end of any migration that alters a fact table.
    """
    dialect = conn.dialect.name
    tables = list(tables)
    if dialect == "sqlite":
        for table in tables:
            for kind, ddl in _sqlite_ddl(conn, table).items():
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {_sqlite_names(table)[kind]}"))
                conn.execute(sa.text(ddl))
    elif dialect == "postgresql":
        conn.execute(sa.text(_pg_function_ddl()))
        for table in tables:
            t = _quote(conn, table)
            for kind, ddl in _pg_ddl(conn, table).items():
                name = _pg_names(table)[kind]
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON {t}"))
                conn.execute(sa.text(ddl))
                # Fires also with session_replication_role = replica (or local).
                conn.execute(sa.text(f"ALTER TABLE {t} ENABLE ALWAYS TRIGGER {name}"))
    else:
        raise NotImplementedError(f"no append-only guards for the {dialect} dialect")


def drop_guards(
    conn: Connection, tables: Iterable[str] = FACT_TABLES, *, kinds: Sequence[str] | None = None
) -> None:
    """Drop guards (all, or only ``kinds``: sqlite update/delete/replace/rowid, pg row/truncate)."""
    dialect = conn.dialect.name
    for table in tables:
        names = _sqlite_names(table) if dialect == "sqlite" else _pg_names(table)
        for kind, name in names.items():
            if kinds is not None and kind not in kinds:
                continue
            if dialect == "sqlite":
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
            else:
                conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON {_quote(conn, table)}"))


def missing_guards(conn: Connection, tables: Iterable[str] = FACT_TABLES) -> list[str]:
    """What is missing or out of date, one line each (empty when every guard is in place).

    On SQLite a guard is out of date when its SQL is not what the table's
    current keys give (a migration changed a unique key without reinstalling
    the guards); on PostgreSQL when a trigger is not ENABLE ALWAYS.
    """
    dialect = conn.dialect.name
    problems: list[str] = []
    # A database at an older revision has not got the later fact tables yet:
    # their guards come with the migration that creates them.
    present = set(sa.inspect(conn).get_table_names())
    tables = [t for t in tables if t in present]
    if dialect == "sqlite":
        installed = _sqlite_installed(conn)
        for table in tables:
            for kind, ddl in _sqlite_ddl(conn, table).items():
                name = _sqlite_names(table)[kind]
                if name not in installed:
                    problems.append(f"{table}: trigger {name} missing")
                elif _normalise(installed[name]) != _normalise(ddl):
                    problems.append(f"{table}: trigger {name} does not match the table's keys")
    elif dialect == "postgresql":
        pg_installed = _pg_installed(conn)
        for table in tables:
            for name in _pg_names(table).values():
                state = pg_installed.get((table, name))
                if state is None:
                    problems.append(f"{table}: trigger {name} missing")
                elif state != "A":
                    problems.append(f"{table}: trigger {name} is not ENABLE ALWAYS ({state})")
    return problems
