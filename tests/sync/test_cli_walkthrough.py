"""What a new user met walking the README's ``hallapp central …`` commands:
a hall that could lock itself out, refusals with the wrong exit code, URLs
and files the messages did not explain, English or class names on screen,
lists in database words. Each is checked on the SQLite and the PostgreSQL
central store where it lives there."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hallapp.cli.common import EXIT_DENIED, EXIT_INVALID, EXIT_STORE, EXIT_USAGE
from hallapp.store import sqlite_url
from hallapp.sync.centre import central_engine
from hallapp.sync.schema import central_table
from tests.sync.test_cli import SAMPLE_CATALOG, centre, run, setup_hall

__all__ = ["centre"]  # the fixture, shared with test_cli

# Test data, made up (as tests/workdays/conftest.py FICTIONAL_2027).
FICTIONAL_2027 = (
    "年份 2027\n元旦 2027-01-01~2027-01-03\n"
    "春节 2027-02-05~2027-02-13 调休上班 2027-01-31,2027-02-20\n清明节 2027-04-05\n"
    "劳动节 2027-05-01~2027-05-05 调休上班 2027-04-25\n端午节 2027-06-09\n"
    "中秋节 2027-09-15\n国庆节 2027-10-01~2027-10-07 调休上班 2027-09-26,2027-10-09\n"
)


def central(capsys: Any, url: str, *argv: str, staff: str | None = "9901") -> tuple[int, str, str]:
    extra = ["--staff", staff] if staff else []
    return run(capsys, "central", *argv, "--url", url, "--hall", "LC", *extra)


def version(url: str) -> int:
    engine = central_engine(url)
    try:
        rv = central_table("ref_versions")
        with engine.connect() as c:
            return int(c.scalar(select(rv.c.version).where(rv.c.hall_code == "LC")) or 0)
    finally:
        engine.dispose()


def audited(url: str, action: str) -> int:
    engine = central_engine(url)
    try:
        au = central_table("audit_entries")
        with engine.connect() as c:
            return int(
                c.scalar(select(func.count()).select_from(au).where(au.c.action == action)) or 0
            )
    finally:
        engine.dispose()


def test_two_administrators_disabling_each_other_at_once_leave_one_in_office(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    """Two PCs at the same moment: 9901 disables 9902 and 9902 disables 9901.
    One goes through; the other is refused, and the hall keeps an administrator."""
    import hallapp.sync.authoring as authoring
    from hallapp.cli import main

    setup_hall(capsys, monkeypatch, centre)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "admin-pw-1")  # both sign in with it
    assert central(capsys, centre, "staff", "add", "9902", "--name", "郑", "--department",
                   "ZWZX", "--role", "administrator")[0] == 0
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-1")
    # Both have checked the hall's staff before either writes its change,
    # unless one holds the hall until it is done (then the wait times out).
    both_checked = threading.Barrier(2)
    write = authoring._upsert

    def write_once_both_checked(*args: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=2)
        write(*args)

    monkeypatch.setattr(authoring, "_upsert", write_once_both_checked)
    # Two PCs are two processes; here they are two threads of one, and
    # Alembic's upgrade of the two scratch copies must not run at once.
    one_upgrade = threading.Lock()
    store = authoring.Store

    class Scratch(store):  # type: ignore[valid-type,misc]
        @classmethod
        def open(cls, *args: Any, **kwargs: Any) -> Any:
            with one_upgrade:
                return store.open(*args, **kwargs)

    monkeypatch.setattr(authoring, "Store", Scratch)
    codes: dict[str, int] = {}

    def disable(target: str, me: str) -> None:
        codes[me] = main(["central", "staff", "disable", target, "--url", centre,
                          "--hall", "LC", "--staff", me])

    pcs = [threading.Thread(target=disable, args=("9902", "9901")),
           threading.Thread(target=disable, args=("9901", "9902"))]
    for pc in pcs:
        pc.start()
    for pc in pcs:
        pc.join(timeout=60)
    err = capsys.readouterr().err
    assert sorted(codes.values()) == [0, EXIT_DENIED], (codes, err)
    assert "已被停用" in err or "唯一在用的系统管理员" in err
    engine = central_engine(centre)
    try:
        st = central_table("staff")
        with engine.connect() as c:
            active = c.execute(select(st.c.staff_no).where(
                st.c.role == "administrator", st.c.active.is_(True))).scalars().all()
    finally:
        engine.dispose()
    assert active == [next(me for me, code in codes.items() if code == 0)]
    assert audited(centre, "staff.disable") == 1


def test_a_hall_cannot_lock_itself_out_and_gets_back_in(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    before = version(centre)
    code, _out, err = central(capsys, centre, "staff", "disable", "9901")
    assert code == EXIT_DENIED and "不能停用自己" in err
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "super-pw-1")
    assert (
        central(
            capsys,
            centre,
            "staff",
            "add",
            "8801",
            "--name",
            "林",
            "--department",
            "ZWZX",
            "--role",
            "supervisor",
        )[0]
        == 0
    )
    # A supervisor may not change staff at all (least of all the only administrator).
    monkeypatch.setenv("HALLAPP_PASSWORD", "super-pw-1")
    code, _out, err = central(capsys, centre, "staff", "disable", "9901", staff="8801")
    assert code == EXIT_DENIED and "不是系统管理员" in err
    assert version(centre) == before + 1  # only the supervisor was added
    # With a second administrator the first may go, and come back (audited, versioned).
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "admin-pw-2")
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-1")
    assert (
        central(
            capsys,
            centre,
            "staff",
            "add",
            "9902",
            "--name",
            "郑",
            "--department",
            "ZWZX",
            "--role",
            "administrator",
        )[0]
        == 0
    )
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-2")
    code, out, err = central(capsys, centre, "staff", "disable", "9901", staff="9902")
    assert code == 0, err
    code, out, err = central(capsys, centre, "staff", "enable", "9901", staff="9902")
    assert code == 0 and "已恢复工作人员 9901" in out, err
    assert audited(centre, "staff.enable") == 1 and version(centre) == before + 4
    code, _out, err = central(capsys, centre, "staff", "enable", "9901", staff="9902")
    assert code == EXIT_INVALID and "在用" in err
    # Locked out all the same (the other administrator disabled too): an
    # administrator may be added without --staff, and only then; nobody else.
    assert central(capsys, centre, "staff", "disable", "9901", staff="9902")[0] == 0
    code, _out, err = central(
        capsys,
        centre,
        "staff",
        "add",
        "9903",
        "--name",
        "冯",
        "--department",
        "ZWZX",
        "--role",
        "administrator",
        staff=None,
    )
    assert code == EXIT_DENIED and "--staff" in err
    engine = central_engine(centre)
    st = central_table("staff")
    with engine.begin() as c:  # 9902 leaves: no active administrator remains
        c.execute(st.update().where(st.c.staff_no == "9902").values(active=False))
    engine.dispose()
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "admin-pw-3")
    code, _out, err = central(
        capsys, centre, "staff", "add", "1020", "--name", "冯", "--department", "ZWZX", staff=None
    )
    assert code == EXIT_INVALID and "--role administrator" in err
    code, out, err = central(
        capsys,
        centre,
        "staff",
        "add",
        "9903",
        "--name",
        "冯",
        "--department",
        "ZWZX",
        "--role",
        "administrator",
        staff=None,
    )
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-3")
    assert central(capsys, centre, "staff", "enable", "9901", staff="9903")[0] == 0


def test_the_hall_keeps_a_supervisor(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    """Disabling the last active supervisor would leave 差评 unverified, appeals
    unreviewed and the month unpublished: refused like the last administrator."""
    setup_hall(capsys, monkeypatch, centre)

    def add_supervisor(staff_no: str, name: str) -> None:
        monkeypatch.setenv("HALLAPP_NEW_PASSWORD", f"super-pw-{staff_no}")
        code, _out, err = central(capsys, centre, "staff", "add", staff_no, "--name", name,
                                  "--department", "ZWZX", "--role", "supervisor")  # fmt: skip
        assert code == 0, err

    add_supervisor("8801", "林")
    before = version(centre)
    code, out, err = central(capsys, centre, "staff", "disable", "8801")
    assert code == EXIT_DENIED and not out
    assert "唯一在用的监督管理人员" in err and "--role supervisor" in err
    assert "Traceback" not in err
    assert version(centre) == before and audited(centre, "staff.disable") == 0
    # A clerk or a second supervisor is no obstacle; only the last one stays.
    assert central(capsys, centre, "staff", "disable", "1001")[0] == 0
    add_supervisor("8802", "蔡")
    code, _out, err = central(capsys, centre, "staff", "disable", "8801")
    assert code == 0, err
    code, _out, err = central(capsys, centre, "staff", "disable", "8802")
    assert code == EXIT_DENIED and "8802" in err and "唯一在用的监督管理人员" in err
    # A disabled supervisor is not counted: 8801 comes back, then 8802 may go.
    assert central(capsys, centre, "staff", "enable", "8801")[0] == 0
    assert central(capsys, centre, "staff", "disable", "8802")[0] == 0


def test_refusals_and_bad_values_exit_as_the_readme_says(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    code, _out, err = central(capsys, centre, "staff", "disable", "1001", staff=None)
    assert code == EXIT_DENIED and "--staff" in err
    monkeypatch.delenv("HALLAPP_PASSWORD")
    code, _out, err = central(capsys, centre, "staff", "disable", "1001")
    assert code == EXIT_DENIED and "HALLAPP_PASSWORD" in err
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-1")
    code, _out, err = central(capsys, centre, "settings", "set", "follow_up.rectify_days", "30")
    assert code == EXIT_INVALID
    assert "例如 hallapp central settings set follow_up.rectify_days 5" in err
    assert "rectify_days = " not in err
    code, _out, err = central(capsys, centre, "settings", "set", "reports.satisfied_levels", "5,4")
    assert code == EXIT_INVALID and "JSON" in err and "[5, 4, 3]" in err
    code, _out, err = central(capsys, centre, "settings", "set", "nope.key", "1")
    assert code == EXIT_INVALID and "hall.complaint_hotline" in err


def test_central_urls_are_explained_and_missing_files_are_not_made(
    capsys: Any, tmp_path: Path
) -> None:
    code, _out, err = run(capsys, "central", "verify", "--url", "127.0.0.1:5432/walk_hall")
    assert code == EXIT_USAGE
    assert "postgresql+psycopg://" in err and "sqlite:////" in err and "Error" not in err
    code, _out, err = run(capsys, "central", "verify", "--url", "mysql://u@h/db")
    assert code == EXIT_USAGE and "postgresql+psycopg://" in err and "Error" not in err
    nope = tmp_path / "nope.sqlite3"
    code, _out, err = run(capsys, "central", "verify", "--url", sqlite_url(nope))
    assert code == EXIT_STORE and "不存在" in err and "central init" in err
    assert not nope.exists()
    for argv in (
        ["--hall", "LC", "--window", "A09"],
        ["--hall", "LC", "--window", "A09", "--db", sqlite_url(tmp_path / "w.sqlite3")],
    ):
        code, _out, err = run(capsys, "window", "join", "--central", sqlite_url(nope), *argv)
        assert code == EXIT_STORE and "不存在" in err
    assert not nope.exists() and not (tmp_path / "w.sqlite3").exists()
    missing = tmp_path / "nodir" / "c.sqlite3"
    code, _out, err = run(capsys, "central", "init", "--url", sqlite_url(missing))
    assert code == EXIT_STORE and str(missing.parent) in err and "unable" not in err
    assert not missing.parent.exists()


def test_a_failed_join_leaves_no_window_database(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    local = tmp_path / "a09.sqlite3"
    code, _out, err = run(
        capsys,
        "window",
        "join",
        "--central",
        url,
        "--hall",
        "LC",
        "--window",
        "A09",
        "--db",
        sqlite_url(local),
    )
    assert code == EXIT_INVALID and "A09" in err
    assert not local.exists() and not list(tmp_path.glob("a09.sqlite3*"))
    # One that joins says how many of its staff can take duty.
    code, out, err = run(
        capsys,
        "window",
        "join",
        "--central",
        url,
        "--hall",
        "LC",
        "--window",
        "A05",
        "--db",
        sqlite_url(tmp_path / "a05.sqlite3"),
    )
    assert code == 0 and "工作人员 2 名，其中窗口人员 1 名" in out, err


@pytest.mark.postgres
def test_postgres_urls_and_owner_only_grants(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    plain = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    code, out, err = run(capsys, "central", "init", "--url", plain)
    assert code == 0 and "已建立（结构版本" in out, err
    code, out, err = run(
        capsys, "central", "init", "--url", plain.replace("postgresql://", "postgres://", 1)
    )
    assert code == 0 and "已是最新结构（结构版本" in out, err
    setup_hall(capsys, monkeypatch, pg_url)
    monkeypatch.setenv("WALK_LOGIN_PW", "a-long-login-password-1")
    code, _out, err = run(
        capsys,
        "central",
        "grant-supervisor",
        "--login",
        "walk_sup_zz",
        "--hall",
        "ZZ",
        "--url",
        pg_url,
        "--password-env",
        "WALK_LOGIN_PW",
    )
    assert code == EXIT_INVALID and "没有大厅 ZZ" in err
    code, _out, err = run(
        capsys,
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "B01",
        "--url",
        pg_url,
        "--password-env",
        "WALK_LOGIN_PW",
    )
    assert code == EXIT_INVALID and "hallapp central windows add" in err
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    login = f"walk_nobody_{make_url(pg_url).database}"[:60]
    with admin.connect() as c:
        c.execute(text(f'CREATE ROLE "{login}" LOGIN'))
    try:
        other = make_url(pg_url).set(username=login, password=None)
        code, _out, err = run(
            capsys,
            "central",
            "grant-window",
            "--hall",
            "LC",
            "--window",
            "A05",
            "--url",
            other.render_as_string(hide_password=False),
            "--password-env",
            "WALK_LOGIN_PW",
        )
        assert code == EXIT_STORE and "所有者" in err and "permission denied" not in err
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP OWNED BY "{login}"'))
            c.execute(text(f'DROP ROLE "{login}"'))
        admin.dispose()


def test_init_says_built_then_current(capsys: Any, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "c.sqlite3")
    code, out, _err = run(capsys, "central", "init", "--url", url)
    assert code == 0 and "中心库已建立（结构版本" in out and "窗口数据库" not in out
    code, out, _err = run(capsys, "central", "init", "--url", url)
    assert code == 0 and "已是最新结构（结构版本" in out


def test_lists_read_as_people_say_them(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    assert central(capsys, centre, "staff", "disable", "1001")[0] == 0
    code, out, err = central(capsys, centre, "staff", "list", staff=None)
    assert code == 0, err
    assert "1001\t王晓丽\t窗口工作人员\tZWZX\t已停用" in out.splitlines()
    assert "9901\t邱文杰\t系统管理员\tZWZX\t在用" in out.splitlines()
    assert "True" not in out and "clerk" not in out
    code, out, err = run(capsys, "central", "staff", "list", "--url", centre, "--hall", "XX")
    assert code == EXIT_INVALID and "没有大厅 XX" in err and out == ""


def test_central_workdays_list_names_who_loaded_when_in_hall_time(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str, tmp_path: Path
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    code, out, _err = central(capsys, centre, "workdays", "list", staff=None)
    assert code == 0 and "尚未载入" in out
    schedule = tmp_path / "2027.txt"
    schedule.write_text(FICTIONAL_2027, encoding="utf-8")
    assert central(capsys, centre, "workdays", "load", str(schedule))[0] == 0
    engine = central_engine(centre)
    hs = central_table("holiday_schedules")
    with engine.connect() as c:
        at = c.scalar(select(hs.c.loaded_at).where(hs.c.year == 2027))
    engine.dispose()
    assert at is not None
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    shown = at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    code, out, err = central(capsys, centre, "workdays", "list", staff=None)
    assert code == 0, err
    assert f"2027 年：由 9901 于 {shown} 载入" in out and " by " not in out


def test_an_unchanged_catalog_keeps_the_version(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    before, tries = version(centre), audited(centre, "catalog.import")
    code, out, err = central(capsys, centre, "catalog", "import", SAMPLE_CATALOG)
    assert code == 0, err
    assert f"基础数据版本仍为 {before}" in out and "写入 0 行" not in out
    assert version(centre) == before
    assert audited(centre, "catalog.import") == tries + 1  # the attempt is audited


def test_a_corrupt_workbook_is_named_without_a_class_name(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "清单.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    code, _out, err = run(capsys, "catalog", "validate", str(bad))
    assert code == EXIT_INVALID and "不是有效的 .xlsx 工作簿" in err
    assert "BadZipFile" not in err and "未导入" not in err
    local = sqlite_url(tmp_path / "w.sqlite3")
    code, _out, err = run(capsys, "catalog", "import", str(bad), "--dry-run", "--db", local)
    assert code == EXIT_INVALID and "损坏或不是 Excel 文件" in err and "BadZipFile" not in err
    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    code, _out, err = central(capsys, url, "catalog", "import", str(bad))
    assert code == EXIT_INVALID and "不是有效的 .xlsx 工作簿" in err and "BadZipFile" not in err
