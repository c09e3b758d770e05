"""Database errors told apart, each with its advice, on real files and processes.

A corrupted file, a lock held by another process, a database stamped by a
newer HallApp, a read-only file (as another user: root ignores permissions)
and a full disk (a small tmpfs) are each produced for real; the CLI is run as
a process, so what the user sees is exactly what a terminal shows.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hallapp.dberrors import (
    DbProblem,
    NewerSchemaError,
    classify_db_error,
    short_label,
    store_error,
)
from hallapp.store import Store, StoreError, integrity_problems, make_engine, sqlite_url

NEWER = "9999_from_the_future"


def hallapp(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 120, **kw: object
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hallapp", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **kw,  # type: ignore[call-overload]
    )
    both = result.stdout + result.stderr
    assert "Traceback" not in both, both
    assert 'File "' not in both, both
    return result  # type: ignore[no-any-return]


def _seeded(path: Path) -> Path:
    """A real window database with the sample catalog (a few hundred KB)."""
    from hallapp.demo import seed_demo

    store = Store.open(sqlite_url(path))
    seed_demo(store)
    store.dispose()  # the last connection checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


# ------------------------------------------------------------------ corrupt


def _corrupt_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 3)
        f.write(os.urandom(size // 3))


def test_db_check_runs_an_integrity_check_and_reports_a_corrupt_file(tmp_path: Path) -> None:
    path = _seeded(tmp_path / "window.sqlite3")
    url = sqlite_url(path)
    ok = hallapp("db", "check", "--db", url)
    assert ok.returncode == 0 and "integrity_check 通过" in ok.stdout

    _corrupt_middle(path)
    before = path.read_bytes()
    for quick in ([], ["--quick"]):
        bad = hallapp("db", "check", "--db", url, *quick)
        assert bad.returncode == 3, bad
        assert "已损坏" in bad.stderr and "不要删除或改动" in bad.stderr and "备份" in bad.stderr
    assert path.read_bytes() == before  # the check changed nothing

    # In-process: the check either lists the damage or cannot even read the
    # file; both are told as CORRUPT.
    engine = make_engine(url)
    try:
        assert integrity_problems(engine)
    except sa.exc.DatabaseError as exc:
        assert classify_db_error(exc) is DbProblem.CORRUPT
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["window", "central"])
def test_db_check_reports_a_dropped_or_rewritten_guard_trigger(tmp_path: Path, kind: str) -> None:
    """A file sound for integrity_check whose append-only guard or counting
    trigger was dropped, rewritten or joined by a stranger (sqlite3 shell):
    its facts are no longer protected, and the check says so."""
    path = tmp_path / f"{kind}.sqlite3"
    if kind == "window":
        _seeded(path)
    else:
        from hallapp.sync.centre import init_central

        init_central(sqlite_url(path))
    url = sqlite_url(path)
    ok = hallapp("db", "check", "--db", url)
    assert ok.returncode == 0 and "结构为最新" in ok.stdout, ok
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TRIGGER trg_evaluations_no_update;"
        "DROP TRIGGER trg_evaluations_tally;"
        "CREATE TRIGGER trg_cases_no_delete_x AFTER INSERT ON cases BEGIN SELECT 1; END;"
    )
    # Rewritten: same name, a body that lets the delete through.
    conn.executescript(
        "DROP TRIGGER trg_cases_no_delete;"
        "CREATE TRIGGER trg_cases_no_delete BEFORE DELETE ON cases BEGIN SELECT 1; END;"
    )
    conn.close()
    bad = hallapp("db", "check", "--db", url)
    assert bad.returncode == 3, bad
    assert "保护触发器被删除或改动" in bad.stderr
    assert "缺少触发器 trg_evaluations_no_update" in bad.stderr
    assert "缺少触发器 trg_evaluations_tally" in bad.stderr
    assert "触发器 trg_cases_no_delete 已被改动" in bad.stderr
    assert "多出未知的触发器 trg_cases_no_delete_x" in bad.stderr


def test_a_file_that_is_not_a_database_is_corrupt_for_every_command(tmp_path: Path) -> None:
    path = tmp_path / "window.sqlite3"
    path.write_bytes(b"this is a spreadsheet, not a database\n" * 200)
    url = sqlite_url(path)
    for argv in (
        ["db", "upgrade", "--db", url],
        ["db", "check", "--db", url],
        ["catalog", "search", "sgxk", "--db", url],
        ["catalog", "export", str(tmp_path / "x.xlsx"), "--db", url],
    ):
        result = hallapp(*argv)
        assert result.returncode == 3, (argv, result)
        assert "已损坏" in result.stderr, (argv, result.stderr)
    assert path.read_bytes().startswith(b"this is a spreadsheet")


# ------------------------------------------------------------------- locked

_LOCKER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("CREATE TABLE lock_probe (x INTEGER)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("ROLLBACK")
    """
)


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "window.sqlite3"
    store = Store.open(sqlite_url(path))
    store.dispose()
    locker = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    yield path
    locker.kill()
    locker.wait()


def test_a_lock_held_by_another_process_is_named(locked_db: Path) -> None:
    # The driver's own error, as the window's code meets it.
    conn = sqlite3.connect(locked_db, timeout=0.2)
    with pytest.raises(sqlite3.OperationalError) as info:
        conn.execute("BEGIN IMMEDIATE")
    conn.close()
    assert classify_db_error(info.value) is DbProblem.LOCKED
    assert "另一个程序占用" in str(store_error(info.value, sqlite_url(locked_db)))
    assert short_label(info.value) == "数据库被其他程序占用"  # the evaluator's Failed text

    # The command line waits its busy time-out (10 s), then says what to do.
    started = time.monotonic()
    result = hallapp("db", "seed-demo", "--db", sqlite_url(locked_db), timeout=60)
    assert time.monotonic() - started < 40
    assert result.returncode == 3, result
    assert "正被另一个程序占用" in result.stderr and "关闭" in result.stderr


# ------------------------------------------------------------ newer schema


def _stamp(path: Path, revision: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.commit()
    conn.close()


def test_a_database_from_a_newer_hallapp_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "window.sqlite3"
    Store.open(sqlite_url(path)).dispose()
    _stamp(path, NEWER)
    url = sqlite_url(path)

    with pytest.raises(NewerSchemaError) as info:
        Store.open(url)
    assert info.value.revision == NEWER and "请升级 HallApp，不要改动数据库" in str(info.value)
    assert classify_db_error(info.value) is DbProblem.NEWER_SCHEMA

    for argv in (
        ["db", "upgrade", "--db", url],
        ["db", "check", "--db", url],
        ["catalog", "search", "sgxk", "--db", url],
        ["db", "seed-demo", "--db", url],
    ):
        result = hallapp(*argv)
        assert result.returncode == 3, (argv, result)
        assert "请升级 HallApp，不要改动数据库" in result.stderr, (argv, result.stderr)
        assert NEWER in result.stderr

    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(NEWER,)]
    conn.close()


# -------------------------------------------------------------- permission


def _mount_tmpfs(mount: Path, size: str) -> None:
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr!r}")


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder whose file system is mounted read-only: even root cannot write."""
    mount = tmp_path / "ro"
    _mount_tmpfs(mount, "16m")
    try:
        _seeded(mount / "window.sqlite3")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_database_says_permission(read_only_folder: Path, tmp_path: Path) -> None:
    url = sqlite_url(read_only_folder / "window.sqlite3")
    for argv in (
        ["db", "upgrade", "--db", url],
        ["db", "seed-demo", "--db", url, "--staff", "9901"],
        ["db", "upgrade", "--db", sqlite_url(read_only_folder / "new.sqlite3")],
    ):
        result = hallapp(*argv, env={"HALLAPP_PASSWORD": "123456"})
        assert result.returncode == 3, (argv, result)
        assert "没有权限读写数据库" in result.stderr, (argv, result.stderr)
    conn = sqlite3.connect(f"file:{read_only_folder / 'window.sqlite3'}?immutable=1", uri=True)
    assert conn.execute("SELECT count(*) FROM staff").fetchone()[0] == 11
    conn.close()


# --------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    _mount_tmpfs(mount, "2m")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_named_and_nothing_saved_is_lost(
    small_disk: Path, reference_factory: Callable[[Store], Any]
) -> None:
    path = small_disk / "window.sqlite3"
    store = Store.open(sqlite_url(path))
    reference_factory(store)  # supervisor 9001, password 654321; item ZJ-001
    store.dispose()
    # Fill the disk to the last byte, then free 16 KB: room to open, not to import.
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - 16 * 1024))

    # The log is on the full disk too: logging must fail quietly.
    env = {"HALLAPP_LOG_DIR": str(small_disk / "log"), "HALLAPP_PASSWORD": "654321"}
    catalog = str(resources.files("hallapp.resources") / "catalog.toml")
    result = hallapp(
        "catalog", "import", catalog, "--staff", "9001", "--db", sqlite_url(path), env=env
    )
    assert result.returncode == 3, result
    assert "磁盘空间已满" in result.stderr and "清理磁盘" in result.stderr
    assert "Logging error" not in result.stderr

    filler.unlink()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT code FROM service_items").fetchall() == [("RS-009",), ("ZJ-001",)]
    conn.close()


# ------------------------------------------------------------- PostgreSQL


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = "postgresql+psycopg://hall:s3cret-pg-pw@127.0.0.1:1/hall"
    result = hallapp("db", "upgrade", "--db", url)
    assert result.returncode == 3
    assert "无法连接数据库服务器" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "s3cret-pg-pw" not in result.stdout + result.stderr
    with pytest.raises(StoreError) as info:
        Store.open(url)
    assert info.value.problem is DbProblem.UNREACHABLE and "s3cret-pg-pw" not in str(info.value)


@pytest.mark.postgres
def test_a_missing_postgres_database_and_a_newer_one(pg_url: str) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/hallapp_no_such_database"
    with pytest.raises(StoreError) as info:
        Store.open(missing)
    assert info.value.problem is DbProblem.MISSING

    Store.open(pg_url).dispose()
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": NEWER})
    engine.dispose()
    result = hallapp("db", "check", "--db", pg_url)
    assert result.returncode == 3 and "请升级 HallApp，不要改动数据库" in result.stderr


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        # A write past the limit fails with EFBIG instead of killing the
        # process (SIGXFSZ ignored, which exec keeps).
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_file_size_limit_is_told_as_a_write_failure(
    tmp_path: Path, reference_factory: Callable[[Store], Any]
) -> None:
    # Where no tmpfs can be mounted, RLIMIT_FSIZE makes the disk "full" for
    # one process: SQLite reports an I/O error on write.
    path = tmp_path / "window.sqlite3"
    store = Store.open(sqlite_url(path))
    reference_factory(store)
    store.dispose()
    catalog = str(resources.files("hallapp.resources") / "catalog.toml")
    result = hallapp(
        "catalog", "import", catalog, "--staff", "9001", "--db", sqlite_url(path),
        env={"HALLAPP_PASSWORD": "654321", "HALLAPP_LOG_DIR": str(tmp_path / "log")},
        preexec_fn=_limit_file_size(64 * 1024),  # the journal (WAL) outgrows it
    )  # fmt: skip
    assert result.returncode == 3, result
    assert "文件超出大小限制" in result.stderr and "重试" in result.stderr, result.stderr
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT count(*) FROM service_items").fetchone()[0] == 2
    conn.close()
