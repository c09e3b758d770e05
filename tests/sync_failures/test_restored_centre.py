"""A centre restored from a backup lost what the windows sent after it: the
windows' next pushes send it again (docs/sync.md, "Back-up"), on PostgreSQL
(a copy made with CREATE DATABASE … TEMPLATE) and on a SQLite centre file."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from hallapp.sync.centre import central_engine
from hallapp.sync.push import pending_count, push
from hallapp.sync.verify import verify_central


def _backup_and_restore(url: str, tmp: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """(take a backup, restore it) of the central store at ``url``."""
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite":
        live, saved = Path(str(u.database)), tmp / "central-backup.sqlite3"
        return (lambda: shutil.copy(live, saved)), (lambda: shutil.copy(saved, live))
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    copy = f"hallapp_test_backup_{uuid.uuid4().hex[:8]}"

    def backup() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{copy}" TEMPLATE "{u.database}"')

    def restore() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE "{u.database}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{u.database}" TEMPLATE "{copy}"')
            c.exec_driver_sql(f'DROP DATABASE "{copy}"')
        admin.dispose()

    return backup, restore


def _cases_at(url: str) -> set[str]:
    engine = central_engine(url)
    try:
        with engine.connect() as c:
            return {str(r[0]) for r in c.exec_driver_sql("SELECT case_no FROM cases")}
    finally:
        engine.dispose()


def test_a_centre_restored_from_a_backup_is_refilled_by_the_next_push(
    central_url, tmp_path, window_factory
):
    window = window_factory(tmp_path / "a03.sqlite3", "A03")
    backup, restore = _backup_and_restore(central_url, tmp_path)
    for _ in range(3):
        window.new_case(level=5)
    engine = central_engine(central_url)
    assert push(window.store, engine, hall_code="LC", window_code="A03").pending == 0
    engine.dispose()
    backup()
    # After the backup: three more cases, one of them a 差评, reach the centre...
    for level in (4, 1, 5):
        window.new_case(level=level)
    engine = central_engine(central_url)
    assert push(window.store, engine, hall_code="LC", window_code="A03").pending == 0
    engine.dispose()
    assert len(_cases_at(central_url)) == 6
    # ...and the centre's disk fails: last night's backup is restored.
    restore()
    assert len(_cases_at(central_url)) == 3
    engine = central_engine(central_url)
    try:
        result = push(window.store, engine, hall_code="LC", window_code="A03")
        assert result.inserted > 0 and result.pending == 0
        assert "cases" in result.resent_from and "evaluations" in result.resent_from
        with window.store.engine.connect() as c:
            local = {str(r[0]) for r in c.exec_driver_sql("SELECT case_no FROM cases")}
        assert _cases_at(central_url) == local and len(local) == 6
        # Every fact once, the evaluations' chain whole again.
        with engine.connect() as c:
            for table in ("applicants", "cases", "case_events", "evaluations"):
                central_n = c.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                with window.store.engine.connect() as lc:
                    local_n = lc.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                assert central_n == local_n, table
        assert verify_central(engine).faults == []
        # A pass after that sends nothing again.
        again = push(window.store, engine, hall_code="LC", window_code="A03")
        assert again.pushed == 0 and again.resent_from == {}
        assert pending_count(window.store) == 0
    finally:
        engine.dispose()
