"""The append-only guards (hallapp.migrations.guards): for every fact table and every way
SQL has to change or remove a row, on SQLite (from a plain sqlite3 connection, with
whatever PRAGMAs) and on the real PostgreSQL (also with session_replication_role =
replica), the statement is refused and the row is unchanged."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from hallapp.migrations.guards import (
    CORE_FACT_TABLES,
    FACT_TABLES,
    install_guards,
    missing_guards,
    unique_keys,
)
from hallapp.models import (
    APPEND_ONLY,
    AgentSurvey,
    Applicant,
    ApplicantKind,
    AuditEntry,
    Base,
    Bundle,
    BundleCase,
    BundleCaseMember,
    Case,
    CaseEvent,
    CaseEventKind,
    DocumentPrint,
    DutyEvent,
    DutyEventKind,
    Evaluation,
    FollowUpStep,
    FollowUpStepKind,
    IssuedDocument,
    KeyProject,
    ProjectAgent,
    ProjectDocument,
    ProjectEvent,
    ProjectNode,
    ProjectStep,
    new_id,
)
from hallapp.store import Store, alembic_config, make_engine, sqlite_url

TABLES = [cls.__tablename__ for cls in APPEND_ONLY]


def test_the_guard_module_names_every_fact_table() -> None:
    # A new fact model must be guarded too.
    assert set(FACT_TABLES) == set(TABLES)


def _secondary_keys(table: str) -> list[tuple[str, ...]]:
    """Unique keys other than the primary key, from the models."""
    t = Base.metadata.tables[table]
    keys = [
        tuple(c.name for c in con.columns)
        for con in t.constraints
        if isinstance(con, sa.UniqueConstraint)
    ]
    keys += [tuple(c.name for c in ix.columns) for ix in t.indexes if ix.unique]
    return keys


def _foreign_key_columns(table: str) -> set[str]:
    return {fk.parent.name for fk in Base.metadata.tables[table].foreign_keys}


def make_facts(
    store: Store, make_reference: Callable[[Store], Any], *, with_projects: bool = True
) -> dict[str, str]:
    """One row in every fact table (the key projects' only from 0009 on); returns table → id."""
    ref = make_reference(store)
    with store.session() as s:
        applicant = Applicant(
            origin_window="A03",
            kind=ApplicantKind.PERSON,
            name="李明",
            id_number="11010519491231002X",
        )
        s.add(applicant)
        s.flush()
        case = Case(
            origin_window="A03",
            case_no="LCA03202601050001",
            item_code=ref.item_code,
            applicant_id=applicant.id,
            window_code="A03",
            department_code="ZJJ",
            first_responder_id=ref.clerk_id,
        )
        s.add(case)
        s.flush()
        event = CaseEvent(
            origin_window="A03", case_id=case.id, seq=1, kind=CaseEventKind.ACCEPTED, data={"a": 1}
        )
        document = IssuedDocument(
            origin_window="A03",
            case_id=case.id,
            doc_type="acceptance",
            doc_no="LC受字〔2026〕A03-0001号",
            staff_id=ref.clerk_id,
            content={"title": "受理通知书", "case_no": case.case_no},
        )
        evaluation = Evaluation(
            origin_window="A03",
            case_id=case.id,
            case_no=case.case_no,
            item_code=ref.item_code,
            window_code="A03",
            staff_id=ref.clerk_id,
            department_code="ZJJ",
            level=2,
            reasons=["等待时间长"],
        )
        duty = DutyEvent(
            origin_window="A03",
            shift_id=new_id(),
            staff_id=ref.clerk_id,
            window_code="A03",
            kind=DutyEventKind.START,
        )
        audit = AuditEntry(
            origin_window="A03", staff_no="9001", role="supervisor", action="catalog.import"
        )
        s.add_all([event, document, evaluation, duty, audit])
        s.flush()
        printed = DocumentPrint(
            origin_window="A03",
            document_id=document.id,
            staff_id=ref.clerk_id,
            printer="HallAppPDF",
        )
        follow = FollowUpStep(
            origin_window="A03", evaluation_id=evaluation.id, kind=FollowUpStepKind.OPENED
        )
        s.add_all([printed, follow])
        s.flush()
        ids = {
            "applicants": applicant.id,
            "cases": case.id,
            "case_events": event.id,
            "issued_documents": document.id,
            "evaluations": evaluation.id,
            "duty_events": duty.id,
            "audit_entries": audit.id,
            "document_prints": printed.id,
            "follow_up_steps": follow.id,
        }
        # The bundles' facts (0008) exist only from that revision on.
        if sa.inspect(s.connection()).has_table("bundle_cases"):
            bundle = Bundle(
                code="B-1",
                name="一件事",
                lead_department_code="ZJJ",
                form_name="一表通",
                promised_days=2,
                legal_days=7,
            )
            s.add(bundle)
            s.flush()
            bcase = BundleCase(
                origin_window="A03",
                bundle_no="LCA03202601050001Y",
                bundle_code="B-1",
                applicant_id=applicant.id,
                window_code="A03",
                lead_case_id=case.id,
                first_responder_id=ref.clerk_id,
            )
            s.add(bcase)
            s.flush()
            member = BundleCaseMember(
                origin_window="A03",
                bundle_case_id=bcase.id,
                case_id=case.id,
                seq=1,
                item_code=ref.item_code,
                department_code="ZJJ",
                limit_days=2,
                deadline=date(2026, 1, 7),
            )
            s.add(member)
            s.flush()
            ids |= {"bundle_cases": bcase.id, "bundle_case_members": member.id}
        if not with_projects:
            return ids
        project = KeyProject(
            origin_window="@centre",
            project_no="LCXM20260001",
            name="年产5万吨新材料项目",
            investor="连城新材料有限公司",
            contact_name="王强",
            contact_phone="13905971234",
            leader_name="林副县长",
            lead_unit="FGJ",
            agent_id=ref.supervisor_id,
            registered_by=ref.supervisor_id,
            accepted_on=date(2026, 3, 2),
        )
        s.add(project)
        s.flush()
        node = ProjectNode(
            origin_window="@centre",
            project_id=project.id,
            seq=1,
            name="项目备案",
            department_code="FGJ",
            responsible_name="陈科长",
            starts_on=date(2026, 3, 2),
            limit_days=5,
            due_on=date(2026, 3, 9),
            added_by=ref.supervisor_id,
        )
        s.add(node)
        s.flush()
        project_facts: list[Any] = [
            ProjectAgent(
                origin_window="@centre",
                project_id=project.id,
                department_code="ZJJ",
                staff_id=ref.clerk_id,
                assigned_by=ref.supervisor_id,
            ),
            ProjectStep(
                origin_window="@centre",
                project_id=project.id,
                node_id=node.id,
                kind="progress",
                staff_id=ref.supervisor_id,
                happened_on=date(2026, 3, 3),
            ),
            ProjectEvent(
                origin_window="@centre",
                project_id=project.id,
                kind="handed_over",
                staff_id=ref.supervisor_id,
                data={"recipient": "王强"},
            ),
            AgentSurvey(
                origin_window="@centre",
                project_id=project.id,
                agent_id=ref.supervisor_id,
                answers={"attitude": 5},
                worst_level=5,
                channel="screen",
                respondent_name="王强",
                filled_on=date(2026, 3, 20),
            ),
            ProjectDocument(
                origin_window="@centre",
                project_id=project.id,
                doc_type="project_intake",
                doc_no="LC代受字〔2026〕0001号",
                staff_id=ref.supervisor_id,
                content={"title": "代办受理表"},
            ),
        ]
        s.add_all(project_facts)
        s.flush()
        return {
            **ids,
            "key_projects": project.id,
            "project_nodes": node.id,
            **{type(f).__table__.name: f.id for f in project_facts},
        }


def _columns(table: str) -> list[str]:
    return [c.name for c in Base.metadata.tables[table].columns]


def _copy_select(table: str, replace: dict[str, str]) -> tuple[str, str]:
    """``(cols)`` and ``SELECT …`` copying the row :id, with some columns replaced by SQL."""
    cols = _columns(table)
    return ", ".join(cols), ", ".join(replace.get(c, c) for c in cols)


def _bypasses(dialect: str, table: str) -> list[tuple[str, str]]:
    """(name, SQL with :id and :new_id) of every way to rewrite or remove the row :id."""
    cols, same = _copy_select(table, {"origin_window": "'HACK'"})
    copy = f"INSERT {{verb}} INTO {table} ({cols}) SELECT {same} FROM {table} WHERE id = :id"
    found = [
        ("update", f"UPDATE {table} SET origin_window = 'HACK' WHERE id = :id"),
        ("delete", f"DELETE FROM {table} WHERE id = :id"),
        ("delete all", f"DELETE FROM {table}"),
    ]
    upsert = (
        f"INSERT INTO {table} ({cols}) SELECT {same} FROM {table} WHERE id = :id "
        "ON CONFLICT (id) DO UPDATE SET origin_window = excluded.origin_window"
    )
    if dialect == "sqlite":
        found += [
            ("insert or replace", copy.format(verb="OR REPLACE")),
            ("replace", copy.format(verb="").replace("INSERT  INTO", "REPLACE INTO")),
            ("upsert", upsert),
            (
                "upsert without target",
                upsert.replace("ON CONFLICT (id)", "ON CONFLICT"),
            ),
            (
                "update or replace",
                f"UPDATE OR REPLACE {table} SET origin_window = 'x' WHERE id = :id",
            ),
        ]
        for key in _secondary_keys(table):
            # A new id, the same unique key: REPLACE would delete the old row.
            _, other = _copy_select(table, {"id": ":new_id", "origin_window": "'HACK'"})
            found.append(
                (
                    f"replace on unique {'+'.join(key)}",
                    f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {other} FROM {table} "
                    "WHERE id = :id",
                )
            )
        fk = _foreign_key_columns(table)
        if not any(set(key) & fk for key in _secondary_keys(table)):
            # The hidden rowid is a unique key too: a new id and new unique
            # values, only the rowid the same.
            changed = {"id": ":new_id", "origin_window": "'HACK'"}
            for key in _secondary_keys(table):
                changed.update({c: f"{c} || '-forged'" for c in key})
            _, other = _copy_select(table, changed)
            found.append(
                (
                    "replace on rowid",
                    f"INSERT OR REPLACE INTO {table} (rowid, {cols}) SELECT rowid, {other} "
                    f"FROM {table} WHERE id = :id",
                )
            )
    else:
        referenced = {
            fk.column.table.name for t in Base.metadata.tables.values() for fk in t.foreign_keys
        }
        if table not in referenced:
            # (a referenced table refuses a plain TRUNCATE already; CASCADE below)
            found.append(("truncate", f"TRUNCATE {table}"))
        found += [
            ("upsert", upsert),
            ("truncate cascade", f"TRUNCATE {table} CASCADE"),
            ("truncate a reference table cascade", "TRUNCATE departments CASCADE"),
            (
                "merge update",
                f"MERGE INTO {table} t USING (SELECT CAST(:id AS varchar) AS id) s "
                "ON t.id = s.id WHEN MATCHED THEN UPDATE SET origin_window = 'HACK'",
            ),
            (
                "merge delete",
                f"MERGE INTO {table} t USING (SELECT CAST(:id AS varchar) AS id) s "
                "ON t.id = s.id WHEN MATCHED THEN DELETE",
            ),
        ]
    return found


def _cases(dialect: str) -> list[Any]:
    return [
        pytest.param(table, name, sql, id=f"{table}-{name.replace(' ', '_')}")
        for table in TABLES
        for name, sql in _bypasses(dialect, table)
    ]


# ---------------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def sqlite_facts(
    tmp_path_factory: pytest.TempPathFactory, reference_factory: Callable[[Store], Any]
) -> Iterator[tuple[Path, dict[str, str]]]:
    path = tmp_path_factory.mktemp("guards") / "window.sqlite3"
    store = Store.open(sqlite_url(path))
    try:
        yield path, make_facts(store, reference_factory)
    finally:
        store.dispose()


SQLITE_PRAGMAS = {
    "defaults": [],
    "recursive_triggers": ["PRAGMA recursive_triggers = ON"],
    "no_foreign_keys": ["PRAGMA foreign_keys = OFF"],
}


def _sqlite_row(conn: sqlite3.Connection, table: str, row_id: str) -> Any:
    return conn.execute(f"SELECT rowid, * FROM {table} WHERE id = ?", (row_id,)).fetchall()


@pytest.mark.parametrize("pragmas", list(SQLITE_PRAGMAS))
@pytest.mark.parametrize(("table", "name", "sql"), _cases("sqlite"))
def test_sqlite_refuses_every_rewrite(
    sqlite_facts: tuple[Path, dict[str, str]], pragmas: str, table: str, name: str, sql: str
) -> None:
    path, ids = sqlite_facts
    # Another program on the window's file: no HallApp code, no ORM.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in SQLITE_PRAGMAS[pragmas]:
            conn.execute(pragma)
        before = _sqlite_row(conn, table, ids[table])
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert before
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql, {"id": ids[table], "new_id": new_id()})
        assert _sqlite_row(conn, table, ids[table]) == before
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count
    finally:
        conn.close()


def test_sqlite_new_facts_insert_and_a_rowid_below_1_is_refused(
    store: Store, reference_factory: Callable[[Store], Any], tmp_path: Path
) -> None:
    ids = make_facts(store, reference_factory)
    conn = sqlite3.connect(tmp_path / "window.sqlite3", isolation_level=None)
    try:
        cols, other = _copy_select("audit_entries", {"id": "?"})
        copy = f"SELECT {other} FROM audit_entries WHERE id = ?"
        conn.execute(f"INSERT INTO audit_entries ({cols}) {copy}", (new_id(), ids["audit_entries"]))
        # -1 is what SQLite shows as NEW.rowid before it picks one: a stored
        # row with it would let a later insert slip past the rowid check.
        for rowid in (-1, 0):
            with pytest.raises(sqlite3.DatabaseError, match="rowid below 1"):
                conn.execute(
                    f"INSERT INTO audit_entries (rowid, {cols}) SELECT {rowid}, {other} "
                    "FROM audit_entries WHERE id = ?",
                    (new_id(), ids["audit_entries"]),
                )
        # ON CONFLICT DO NOTHING aborts on SQLite; the idempotent insert of a
        # sync filters the ids that are already there.
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(
                f"INSERT INTO audit_entries ({cols}) {copy} ON CONFLICT DO NOTHING",
                (ids["audit_entries"], ids["audit_entries"]),
            )
        conn.execute(
            f"INSERT INTO audit_entries ({cols}) SELECT {other} FROM audit_entries "
            "WHERE id = ? AND NOT EXISTS (SELECT 1 FROM audit_entries WHERE id = ?)",
            (ids["audit_entries"], ids["audit_entries"], ids["audit_entries"]),
        )
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 2
    finally:
        conn.close()


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture(scope="module")
def pg_facts(
    pg_module_url: str, reference_factory: Callable[[Store], Any]
) -> Iterator[tuple[str, dict[str, str]]]:
    # Module scope: one database for all the statements (each runs in a
    # transaction that fails, so nothing changes between them).
    store = Store.open(pg_module_url)
    try:
        yield pg_module_url, make_facts(store, reference_factory)
    finally:
        store.dispose()


PG_SETTINGS = {
    "defaults": [],
    # Disables every trigger that is not ENABLE ALWAYS (a superuser can set it).
    "replica": ["SET session_replication_role = replica"],
}


@pytest.mark.postgres
@pytest.mark.parametrize("settings", list(PG_SETTINGS))
@pytest.mark.parametrize(("table", "name", "sql"), _cases("postgresql"))
def test_postgresql_refuses_every_rewrite(
    pg_facts: tuple[str, dict[str, str]], settings: str, table: str, name: str, sql: str
) -> None:
    url, ids = pg_facts
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    select_row = sa.text(f"SELECT * FROM {table} WHERE id = :id")
    try:
        with engine.connect() as conn:
            before = conn.execute(select_row, {"id": ids[table]}).all()
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        assert before
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            for setting in PG_SETTINGS[settings]:
                conn.execute(sa.text(setting))
            conn.execute(sa.text(sql), {"id": ids[table], "new_id": new_id()})
        with engine.connect() as conn:
            assert conn.execute(select_row, {"id": ids[table]}).all() == before
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == count
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_on_conflict_do_nothing_stays_usable(
    pg_store: Store, reference_factory: Callable[[Store], Any]
) -> None:
    # The sync's idempotent bulk insert: a retried batch changes nothing.
    ids = make_facts(pg_store, reference_factory)
    cols, same = _copy_select("evaluations", {})
    with pg_store.engine.begin() as conn:
        result = conn.execute(
            sa.text(
                f"INSERT INTO evaluations ({cols}) SELECT {same} FROM evaluations "
                "WHERE id = :id ON CONFLICT DO NOTHING"
            ),
            {"id": ids["evaluations"]},
        )
        assert result.rowcount == 0


# ------------------------------------------------------------ after migrations

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        sqlite_url(tmp_path / "m.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "head")
    yield engine
    engine.dispose()


def test_every_fact_table_has_all_its_guards_at_head(migrated: sa.Engine) -> None:
    # Catches a later migration that recreates a fact table (batch mode on
    # SQLite drops its triggers) or changes a unique key without calling
    # install_guards at its end.
    with migrated.connect() as conn:
        assert missing_guards(conn) == []
        assert set(FACT_TABLES) <= set(sa.inspect(conn).get_table_names())


def test_missing_guards_sees_a_dropped_or_disabled_or_stale_guard(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sa.text("DROP TRIGGER trg_cases_no_replace"))
            # A new unique key the evaluations guard does not know yet.
            conn.execute(
                sa.text("CREATE UNIQUE INDEX ux_evaluations_device ON evaluations (id, device)")
            )
            problems = missing_guards(conn)
            assert "cases: trigger trg_cases_no_replace missing" in problems
            assert any("trg_evaluations_no_replace does not match" in p for p in problems)
        else:
            conn.execute(sa.text("ALTER TABLE cases DISABLE TRIGGER trg_cases_no_truncate"))
            conn.execute(
                sa.text("ALTER TABLE evaluations ENABLE TRIGGER trg_evaluations_append_only")
            )
            problems = missing_guards(conn)
            assert "cases: trigger trg_cases_no_truncate is not ENABLE ALWAYS (D)" in problems
            assert (
                "evaluations: trigger trg_evaluations_append_only is not ENABLE ALWAYS (O)"
                in problems
            )
        install_guards(conn)
        assert missing_guards(conn) == []
        if conn.dialect.name == "sqlite":
            assert ("id", "device") in unique_keys(conn, "evaluations")


def test_guards_come_back_after_a_table_is_recreated(tmp_path: Path) -> None:
    # What a later migration does on SQLite: batch mode recreates the table
    # (and drops its triggers); install_guards at its end puts them back.
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    engine = make_engine(sqlite_url(tmp_path / "r.sqlite3"))
    try:
        command.upgrade(alembic_config(engine), "head")
        with engine.begin() as conn:
            op = Operations(MigrationContext.configure(conn))
            with op.batch_alter_table("evaluations", recreate="always") as batch:
                batch.add_column(sa.Column("extra_note", sa.String(20), nullable=True))
            assert any("evaluations" in p for p in missing_guards(conn))
            install_guards(conn, ["evaluations"])
            assert missing_guards(conn) == []
    finally:
        engine.dispose()


def revision_before(revision: str, engine: Any) -> str:
    """The revision a migration follows in the chain as merged (not as written)."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_downgrade_of_0002_leaves_0001s_guards(migrated: sa.Engine) -> None:
    command.downgrade(alembic_config(migrated), revision_before("0002", migrated))
    with migrated.connect() as conn:
        # The key projects' tables (0009) are gone at that revision.
        problems = missing_guards(conn, CORE_FACT_TABLES)
    if migrated.dialect.name == "sqlite":
        assert sorted(p.split(": ")[1] for p in problems if p.startswith("cases")) == [
            "trigger trg_cases_no_replace missing",
            "trigger trg_cases_rowid_positive missing",
        ]
    else:
        assert any("trg_cases_no_truncate missing" in p for p in problems)
        assert any("trg_cases_append_only is not ENABLE ALWAYS (O)" in p for p in problems)
    command.upgrade(alembic_config(migrated), "head")
    with migrated.connect() as conn:
        assert missing_guards(conn) == []


@pytest.fixture(params=BACKENDS)
def at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        sqlite_url(tmp_path / "old.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = make_engine(url)
    # The revision 0002 follows in the merged chain (its facts' schema).
    command.upgrade(alembic_config(engine), revision_before("0002", engine))
    yield engine
    engine.dispose()


def test_0002_guards_an_existing_database_with_its_facts(
    at_0001: sa.Engine, reference_factory: Callable[[Store], Any]
) -> None:
    # A window that already has facts: before 0002 a REPLACE rewrote them.
    ids = make_facts(Store(at_0001), reference_factory, with_projects=False)
    cols, same = _copy_select("evaluations", {"origin_window": "'HACK'"})
    verb = "INSERT OR REPLACE" if at_0001.dialect.name == "sqlite" else "INSERT"
    tail = "" if at_0001.dialect.name == "sqlite" else " ON CONFLICT (id) DO NOTHING"
    rewrite = sa.text(
        f"{verb} INTO evaluations ({cols}) SELECT {same} FROM evaluations WHERE id = :id{tail}"
    )
    command.upgrade(alembic_config(at_0001), "head")
    with at_0001.connect() as conn:
        assert missing_guards(conn) == []
    if at_0001.dialect.name == "sqlite":
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), at_0001.begin() as conn:
            conn.execute(rewrite, {"id": ids["evaluations"]})
    else:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), at_0001.begin() as conn:
            conn.execute(sa.text("TRUNCATE evaluations CASCADE"))
    with at_0001.connect() as conn:
        for table, row_id in ids.items():
            origin = conn.execute(
                sa.text(f"SELECT origin_window FROM {table} WHERE id = :id"), {"id": row_id}
            ).scalar()
            assert origin == "A03", table
