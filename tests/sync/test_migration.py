"""Revision 0006 on a window that already has evaluations: additive, guards intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command

from hallapp.store import alembic_config, make_engine, migrate, sqlite_url


def test_upgrade_keeps_the_evaluations_guards_and_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    engine = make_engine(sqlite_url(path))
    command.upgrade(alembic_config(engine), "0001")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute(
        "INSERT INTO evaluations (id, origin_window, created_at, case_id, case_no, item_code, "
        "window_code, staff_id, department_code, channel, device, level, reasons, "
        "applicant_kind) VALUES ('e1', 'A03', '2026-11-20 01:00:00.000000', 'c1', 'n', 'i', "
        "'A03', 's', 'd', 'window_evaluator', '', 5, '[]', 'person')"
    )
    raw.commit()
    migrate(engine)
    engine.dispose()
    row = raw.execute("SELECT level, chain_seq, chain_hash FROM evaluations").fetchone()
    assert row == (5, None, None)
    triggers = {r[0] for r in raw.execute(
        "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='evaluations'")}
    assert {"trg_evaluations_no_update", "trg_evaluations_no_delete"} <= triggers
    for sql in ("UPDATE evaluations SET level = 1", "DELETE FROM evaluations"):
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute(sql)
    raw.close()
