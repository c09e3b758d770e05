"""Migrations: an empty database upgraded to head matches the models, on SQLite and
PostgreSQL; the append-only triggers refuse changes to facts even from raw SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hallapp.models import (
    APPEND_ONLY,
    Applicant,
    ApplicantKind,
    Base,
    Case,
    Evaluation,
    IssuedDocument,
)
from hallapp.store import Store, alembic_config, make_engine, migrate, schema_is_current, sqlite_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.sqlite3")
    else:
        # A fresh database on the shared server, dropped afterwards (tests/conftest.py).
        yield request.getfixturevalue("pg_url")


def _differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _triggers(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {row[0] for row in conn.execute(sa.text(sql))}


def test_empty_database_upgrades_to_the_models(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        assert not schema_is_current(engine)
        migrate(engine)
        assert schema_is_current(engine)
        assert _differences(engine) == []
        tables = set(sa.inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        facts = {cls.__tablename__ for cls in APPEND_ONLY}
        triggers = _triggers(engine)
        for table in facts:
            assert any(table in name for name in triggers), table
        # Running it again at start-up is a no-op.
        migrate(engine)
        assert _differences(engine) == []
        # And the comparison does see a schema that drifted from the models.
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_service_items_pinyin"))
        assert [d[0] for d in _differences(engine)] == ["add_index"]
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        command.downgrade(alembic_config(engine), "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        assert _triggers(engine) == set()
        migrate(engine)
        assert _differences(engine) == []
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest) -> Store:
    name = "store" if request.param == "sqlite" else "pg_store"
    store: Store = request.getfixturevalue(name)
    return store


def _write_facts(store: Store, make_reference: Callable[[Store], Any]) -> tuple[str, str]:
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
            case_no="LC-A03-20260105-0001",
            item_code=ref.item_code,
            applicant_id=applicant.id,
            window_code="A03",
            department_code="ZJJ",
            first_responder_id=ref.clerk_id,
        )
        s.add(case)
        s.flush()
        document = IssuedDocument(
            origin_window="A03",
            case_id=case.id,
            doc_type="acceptance",
            doc_no="LC-SL-2026-000001",
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
        s.add_all([document, evaluation])
        s.flush()
        return document.id, evaluation.id


@pytest.mark.parametrize(
    ("table", "update"),
    [
        ("evaluations", "UPDATE evaluations SET level = 5 WHERE id = :id"),
        ("issued_documents", "UPDATE issued_documents SET doc_no = 'X' WHERE id = :id"),
    ],
)
def test_raw_sql_cannot_change_or_delete_facts(
    any_store: Store, reference_factory: Callable[[Store], Any], table: str, update: str
) -> None:
    document_id, evaluation_id = _write_facts(any_store, reference_factory)
    row_id = evaluation_id if table == "evaluations" else document_id
    select_row = sa.text(f"SELECT * FROM {table} WHERE id = :id")
    with any_store.engine.connect() as conn:
        before = conn.execute(select_row, {"id": row_id}).one()
    for sql in (update, f"DELETE FROM {table} WHERE id = :id", f"DELETE FROM {table}"):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            any_store.engine.begin() as conn,
        ):
            conn.execute(sa.text(sql), {"id": row_id})
    with any_store.engine.connect() as conn:
        assert conn.execute(select_row, {"id": row_id}).one() == before
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_head_constant_names_the_newest_migration(tmp_path) -> None:
    # Start-up skips Alembic when the stored revision equals HEAD: a new
    # migration that forgets to update HEAD would never run.
    from alembic.script import ScriptDirectory

    from hallapp.migrations import HEAD
    from hallapp.store import alembic_config, make_engine, sqlite_url, stored_revision

    engine = make_engine(sqlite_url(tmp_path / "x.sqlite3"))
    assert ScriptDirectory.from_config(alembic_config(engine)).get_heads() == [HEAD]
    assert stored_revision(engine) is None
    migrate(engine)
    assert stored_revision(engine) == HEAD
    engine.dispose()


def revision_before(revision: str, engine: Any) -> str:
    """The revision a migration follows in the chain as merged (not as written)."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_upgrade_to_one_evaluation_per_encounter_keeps_data_and_guards(
    empty_url: str, reference_factory: Callable[[Store], Any]
) -> None:
    """0005 recreates ``evaluations`` on SQLite (dropping its triggers): existing
    evaluations get the encounter they followed, the guards are back, and a
    case may now carry one evaluation per encounter, never two for one."""
    engine = make_engine(empty_url)
    try:
        command.upgrade(alembic_config(engine), revision_before("0005", engine))
        store = Store(engine)
        ref = reference_factory(store)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO applicants (id, origin_window, created_at, kind, name, "
                    "id_number, uscc, phone, contact_name, address) VALUES "
                    "('a1', 'A03', '2026-01-05 02:00:00', 'person', '李明', NULL, NULL, '', '', '')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO cases (id, origin_window, created_at, case_no, item_code, "
                    "applicant_id, window_code, department_code, first_responder_id) VALUES "
                    "('c1', 'A03', '2026-01-05 02:00:00', 'LCA03202601050001', :item, 'a1', "
                    "'A03', 'ZJJ', :clerk)"
                ),
                {"item": ref.item_code, "clerk": ref.clerk_id},
            )
            for seq, (event_id, kind, data, at) in enumerate(
                [
                    ("e1", "received", "{}", "2026-01-05 02:00:00"),
                    ("e2", "accepted", "{}", "2026-01-05 02:05:00"),
                    ("e3", "completed", "{}", "2026-01-09 08:00:00"),
                    ("e4", "evaluation_opened", "{}", "2026-01-09 08:00:01"),
                ]
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO case_events (id, origin_window, created_at, case_id, seq, "
                        "kind, staff_id, data) VALUES (:id, 'A03', :at, 'c1', :seq, :kind, "
                        ":clerk, :data)"
                    ),
                    {"id": event_id, "at": at, "seq": seq, "kind": kind, "clerk": ref.clerk_id,
                     "data": data},
                )  # fmt: skip
            conn.execute(
                sa.text(
                    "INSERT INTO evaluations (id, origin_window, created_at, case_id, case_no, "
                    "item_code, window_code, staff_id, department_code, channel, device, level, "
                    "reasons, applicant_kind) VALUES ('v1', 'A03', '2026-01-09 08:00:05', 'c1', "
                    "'LCA03202601050001', :item, 'A03', :clerk, 'ZJJ', 'window_evaluator', "
                    "'EV-1', 2, '[\"服务态度差\"]', 'person')"
                ),
                {"item": ref.item_code, "clerk": ref.clerk_id},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO follow_up_steps (id, origin_window, created_at, evaluation_id, "
                    "kind, staff_id, note, due_on) VALUES ('f1', 'A03', '2026-01-09 08:00:05', "
                    "'v1', 'opened', NULL, '差评', '2026-01-16')"
                )
            )

        migrate(engine)
        assert _differences(engine) == []
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT encounter, encounter_event_id, level FROM evaluations")
            ).one()
            assert tuple(row) == ("completion", "e3", 2)
            # The follow-up still points at its evaluation.
            assert conn.execute(sa.text("SELECT evaluation_id FROM follow_up_steps")).scalar() == (
                "v1"
            )
        # The append-only guards survived the table's recreation.
        assert any("evaluations" in name for name in _triggers(engine))
        for sql in (
            "UPDATE evaluations SET level = 5 WHERE id = 'v1'",
            "DELETE FROM evaluations WHERE id = 'v1'",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(sa.text(sql))
        # One evaluation per encounter: another encounter of the case is fine,
        # the same one twice is refused by the database.
        insert = sa.text(
            "INSERT INTO evaluations (id, origin_window, created_at, case_id, encounter, "
            "encounter_event_id, case_no, item_code, window_code, staff_id, department_code, "
            "channel, device, level, reasons, applicant_kind) VALUES (:id, 'A03', "
            "'2026-01-10 02:00:00', 'c1', 'hand_over', :event, 'LCA03202601050001', :item, "
            "'A03', :clerk, 'ZJJ', 'window_evaluator', 'EV-1', 5, '[]', 'person')"
        )
        params = {"item": ref.item_code, "clerk": ref.clerk_id}
        with engine.begin() as conn:
            conn.execute(insert, {"id": "v2", "event": "e5", **params})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"id": "v3", "event": "e5", **params})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM evaluations")).scalar() == 2
    finally:
        engine.dispose()
