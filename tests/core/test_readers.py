"""Readers are never blocked by a writer: another process holds a write transaction on the
window's SQLite file (BEGIN IMMEDIATE + sleep) and the case list, the item search, the
case detail and the duty card still return at once; ``store.read()`` refuses writes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hallapp.catalog import search_items
from hallapp.config import Config
from hallapp.duty import Duty
from hallapp.intake import Accept, ApplicantInput, Intake, MaterialCheck, MaterialStatus
from hallapp.models import ApplicantKind, AuditEntry
from hallapp.store import ReadOnlyTransaction, Store, sqlite_url
from hallapp.validation import id_check_char

# What another program does to the window's file: a write transaction held
# for a while (a backup tool, a long import, a stuck sync).
_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO number_counters (scope, last) VALUES ('holder', 1)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """A real second process holds the write lock on ``path`` for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _lock_is_held(path: Path) -> bool:
    import sqlite3

    probe = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        probe.close()


def _person_id(body17: str = "35082519800101231") -> str:
    return body17 + id_check_char(body17)


@pytest.fixture
def window(store: Store, config: Config, reference: Any, tmp_path: Path) -> dict[str, Any]:
    clock = lambda: datetime(2026, 9, 28, 2, 0, tzinfo=UTC)  # noqa: E731
    intake = Intake(store, config, clock=clock)
    case = intake.open_case(
        reference.clerk_id,
        reference.item_code,
        ApplicantInput(
            kind=ApplicantKind.PERSON, name="陈志明", id_number=_person_id(), phone="13905971234"
        ),
    )
    checks = tuple(
        MaterialCheck(rid, MaterialStatus.PRESENT) for rid in reference.materials.values()
    )
    result = intake.decide(case.id, reference.clerk_id, Accept(checks))
    duty = Duty(store, config)
    duty.start(reference.clerk_id)
    return {
        "intake": intake,
        "duty": duty,
        "case_id": case.id,
        "document_id": result.document_id,
        "path": tmp_path / "window.sqlite3",
        "reference": reference,
    }


def _reads(store: Store, w: dict[str, Any]) -> dict[str, Callable[[], object]]:
    intake: Intake = w["intake"]
    duty: Duty = w["duty"]

    def item_search() -> object:
        with store.read() as s:
            return [i.code for i in search_items(s, "施工")]

    return {
        "case list": intake.window_cases,
        "case finder": lambda: intake.window_cases(query="陈志明"),
        "item search": item_search,
        "item guide": lambda: intake.item(w["reference"].item_code),
        "case detail": lambda: intake.case_view(w["case_id"]),
        "document preview": lambda: intake.document(w["document_id"]),
        "duty card": duty.duty_card,
        "duty state": duty.current,
        "sign-in": lambda: duty.sign_in("1001", "123456"),
    }


def test_reads_return_at_once_while_another_process_holds_the_write_lock(
    store: Store, window: dict[str, Any]
) -> None:
    reads = _reads(store, window)
    expected = {name: read() for name, read in reads.items()}  # also warms the pools
    # Held longer than the store's busy_timeout (10 s): before, each read
    # below waited the full 10 s and then failed with "database is locked".
    with write_lock_held(window["path"], 30):
        assert _lock_is_held(window["path"])
        for name, read in reads.items():
            started = time.perf_counter()
            got = read()
            took = time.perf_counter() - started
            assert took < 1.0, f"{name} waited {took:.1f} s for the writer"
            if name != "document preview":
                assert type(got) is type(expected[name]), name
        cases = window["intake"].window_cases()
        assert [c.id for c in cases] == [window["case_id"]]
        # A fresh read connection (the pool grows) is not blocked either.
        with store.read() as s1, store.read() as s2:
            assert s1.scalar(sa.text("SELECT count(*) FROM cases")) == 1
            assert s2.scalar(sa.text("SELECT count(*) FROM cases")) == 1


def test_a_read_sees_one_snapshot_and_not_the_uncommitted_write(
    store: Store, window: dict[str, Any]
) -> None:
    with write_lock_held(window["path"], 30), store.read() as s:
        scopes = s.scalars(sa.text("SELECT scope FROM number_counters")).all()
        assert "holder" not in scopes


def test_read_refuses_writes_on_sqlite(store: Store, reference: Any) -> None:
    with pytest.raises(ReadOnlyTransaction), store.read() as s:
        s.add(AuditEntry(origin_window="A03", staff_no="9001", role="supervisor", action="x"))
        s.flush()
    # Past the ORM too: the connection itself is query_only.
    with pytest.raises(sa.exc.OperationalError, match="readonly"), store.read() as s:
        s.execute(sa.text("INSERT INTO number_counters (scope, last) VALUES ('x', 1)"))
    with store.read() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM audit_entries")) == 0
        assert s.scalar(sa.text("SELECT count(*) FROM number_counters WHERE scope='x'")) == 0
    # The write path is unchanged.
    with store.session() as s:
        s.execute(sa.text("INSERT INTO number_counters (scope, last) VALUES ('x', 1)"))


@pytest.mark.postgres
def test_read_refuses_writes_on_postgresql(pg_store: Store) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"), pg_store.read() as s:
        s.execute(sa.text("INSERT INTO number_counters (scope, last) VALUES ('x', 1)"))
    with pg_store.read() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM number_counters")) == 0
    # The pooled connection is not left read-only for the next writer.
    with pg_store.session() as s:
        s.execute(sa.text("INSERT INTO number_counters (scope, last) VALUES ('x', 1)"))


def test_an_in_memory_store_reads_on_its_one_database() -> None:
    store = Store.open("sqlite://")
    try:
        assert store.read_engine is store.engine
        with store.read() as s:
            assert s.scalar(sa.text("SELECT count(*) FROM cases")) == 0
    finally:
        store.dispose()


def test_the_write_lock_holder_really_blocks_writers(tmp_path: Path) -> None:
    # The check behind the tests above: a write transaction does wait.
    store = Store.open(sqlite_url(tmp_path / "w.sqlite3"))
    try:
        with write_lock_held(tmp_path / "w.sqlite3", 1.5) as proc:
            started = time.perf_counter()
            with store.session() as s:
                s.execute(sa.text("INSERT INTO number_counters (scope, last) VALUES ('me', 1)"))
            assert time.perf_counter() - started > 1.0
            assert proc.stdout is not None and proc.stdout.readline().strip() == "released"
    finally:
        store.dispose()
