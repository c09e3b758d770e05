"""A generated hall history shared by the report tests (made once per module and backend)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from hallapp.demodata import HistoryParams, generate
from hallapp.store import Store, sqlite_url

PG_ADMIN_URL = os.environ.get(
    "HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

#: Two quarters around National Day 2026 (holidays and make-up workdays).
HISTORY = HistoryParams(windows=5, months=4, per_day=12, seed=7, end=date(2026, 10, 23))


def _pg_admin() -> sa.Engine | None:
    try:
        eng = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        return eng
    except Exception:
        return None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        store = Store.open(sqlite_url(tmp_path_factory.mktemp("hist") / "central.sqlite3"))
        generate(store, HISTORY)
        yield store
        store.dispose()
        return
    admin = _pg_admin()
    if admin is None:
        if os.environ.get("HALLAPP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"hallapp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    store = Store.open(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        generate(store, HISTORY)
        yield store
    finally:
        store.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def small_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(sqlite_url(tmp_path / "small.sqlite3"))
    yield s
    s.dispose()
