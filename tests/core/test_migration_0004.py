"""Migration 0004 on a database with data: windows keep serving their department,
applicants get their document type, and the facts stay append-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from hallapp.store import alembic_config, make_engine, sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url = (
        sqlite_url(tmp_path / "old.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    eng = make_engine(url)
    yield eng
    eng.dispose()


def test_upgrade_keeps_windows_serving_and_facts_guarded(engine: sa.Engine) -> None:
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO departments (code, name, phone, address, duties) "
                             "VALUES ('SCJ', '市场监管局', '', '', '')"))  # fmt: skip
        conn.execute(sa.text("INSERT INTO windows (code, name, department_code, active) "
                             "VALUES ('A03', '企业开办窗口', 'SCJ', true)"))  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO applicants (id, origin_window, created_at, kind, name, id_number, "
                "phone, contact_name, address) VALUES ('a1', 'A03', CURRENT_TIMESTAMP, "
                "'person', '李明', '350825199001011234', '', '', '')"
            )
        )
    command.upgrade(cfg, "head")
    with engine.begin() as conn:
        served = conn.execute(
            sa.text("SELECT window_code, department_code FROM window_departments")
        )
        assert served.all() == [("A03", "SCJ")]
        assert conn.execute(sa.text("SELECT id_type FROM applicants")).scalar() == "resident_id"
    for statement in (
        "UPDATE applicants SET name = '王五'",
        "DELETE FROM applicants",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    # And back down: the column and the table go, the guards stay.
    command.downgrade(cfg, "0001")
    with engine.connect() as conn:
        assert "window_departments" not in sa.inspect(conn).get_table_names()
        assert "id_type" not in {c["name"] for c in sa.inspect(conn).get_columns("applicants")}
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM applicants"))
