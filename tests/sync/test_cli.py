"""The commands a hall runs, as the README tells it: set up a centre, author its
reference data, join a window, sync; messages in Chinese, never a password."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hallapp.cli import main
from hallapp.cli.common import EXIT_INVALID
from hallapp.migrations import HEAD
from hallapp.models import ServiceItem
from hallapp.security import SignInError, authenticate
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import central_engine
from hallapp.sync.schema import central_table

SAMPLE_CATALOG = str(resources.files("hallapp.resources") / "catalog.toml")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def centre(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "central.sqlite3")
    # A password in the URL (trust auth ignores it) that must never be shown.
    url = str(request.getfixturevalue("pg_url"))
    return url.replace("postgres@", "postgres:Secret-Pw-42@")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def setup_hall(capsys: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert run(capsys, "central", "init", "--url", url)[0] == 0
    code, _out, err = run(capsys, "central", "departments", "add", "ZWZX", "--url", url,
                         "--hall", "LC", "--name", "行政服务中心管委会")
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "admin-pw-1")
    code, _out, err = run(capsys, "central", "staff", "add", "9901", "--url", url, "--hall", "LC",
                         "--name", "邱文杰", "--department", "ZWZX", "--role", "administrator")
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-1")
    code, _out, err = run(capsys, "central", "catalog", "import", SAMPLE_CATALOG, "--url", url,
                         "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "clerk-pw-1")
    code, _out, err = run(capsys, "central", "staff", "add", "1001", "--url", url, "--hall", "LC",
                         "--name", "王晓丽", "--department", "ZWZX", "--staff", "9901")
    assert code == 0, err
    code, _out, err = run(capsys, "central", "windows", "add", "A05", "--url", url, "--hall", "LC",
                         "--name", "综合窗口", "--department", "ZWZX", "--staff", "9901")
    assert code == 0, err


def test_a_new_window_joins_syncs_and_follows_the_centre(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    local = sqlite_url(tmp_path / "a05.sqlite3")
    code, out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05", "--db", local)
    assert code == 0, err
    assert "A05" in out and "可以登录" in out
    store = Store.open(local)
    try:
        with store.session() as s:
            assert authenticate(s, "1001", "clerk-pw-1").name == "王晓丽"
            assert int(s.scalar(select(func.count()).select_from(ServiceItem)) or 0) >= 16
        code, _out, err = run(capsys, "central", "staff", "disable", "1001", "--url", centre,
                             "--hall", "LC", "--staff", "9901")
        assert code == 0, err
        # The window joined: `sync` finds its centre without --central.
        code, out, err = run(capsys, "sync", "--db", local)
        assert code == 0, err
        assert out.startswith("同步完成：上传") and "待上传 0 条" in out
        with pytest.raises(SignInError), store.session() as s:
            authenticate(s, "1001", "clerk-pw-1")
        # A window attached to a centre: reference data is authored there.
        code, _out, err = run(capsys, "central", "verify", "--url", centre)
        assert code == 0, err
    finally:
        store.dispose()
    engine = central_engine(centre)
    try:
        with engine.connect() as c:
            audit = central_table("audit_entries")
            actions = c.execute(select(audit.c.action).order_by(audit.c.created_at)).scalars().all()
    finally:
        engine.dispose()
    assert actions == ["department.save", "staff.add", "catalog.import", "staff.add",
                       "window.save", "staff.disable"]
    assert "Secret-Pw-42" not in "".join([out, err])


def test_a_wrong_password_changes_nothing(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    monkeypatch.setenv("HALLAPP_PASSWORD", "wrong")
    code, _out, err = run(capsys, "central", "staff", "disable", "1001", "--url", centre,
                         "--hall", "LC", "--staff", "9901")
    assert code == 4 and "工号或密码不正确" in err
    monkeypatch.setenv("HALLAPP_PASSWORD", "clerk-pw-1")
    code, _out, err = run(capsys, "central", "staff", "disable", "9901", "--url", centre,
                         "--hall", "LC", "--staff", "1001")
    assert code == 4 and "不是监督管理人员或系统管理员" in err


def test_a_supervisor_cannot_add_disable_or_reset_staff_at_the_centre(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    """A supervisor who could add staff could make himself an administrator and
    lock out the hall's real one: staff changes are an administrator's, as
    without a centre (hallapp staff add --by)."""
    setup_hall(capsys, monkeypatch, centre)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "super-pw-1")
    code, _out, err = run(capsys, "central", "staff", "add", "9001", "--url", centre, "--hall",
                         "LC", "--name", "李督查", "--department", "ZWZX", "--role", "supervisor",
                         "--staff", "9901")
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_PASSWORD", "super-pw-1")
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "minted-pw-1")
    code, _out, err = run(capsys, "central", "staff", "add", "1026", "--url", centre, "--hall",
                         "LC", "--name", "督查加人", "--department", "ZWZX", "--role",
                         "administrator", "--staff", "9001")
    assert code == 4 and "不是系统管理员" in err
    for action in ("disable", "reset-password"):
        code, _out, err = run(capsys, "central", "staff", action, "9901", "--url", centre,
                             "--hall", "LC", "--staff", "9001")
        assert code == 4 and "不是系统管理员" in err, action
    code, out, _err = run(capsys, "central", "staff", "list", "--url", centre, "--hall", "LC")
    assert "1026" not in out
    # The administrator still signs in with his own password, still active.
    monkeypatch.setenv("HALLAPP_PASSWORD", "admin-pw-1")
    code, _out, err = run(capsys, "central", "staff", "disable", "1001", "--url", centre,
                         "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_PASSWORD", "super-pw-1")
    code, _out, err = run(capsys, "central", "staff", "enable", "1001", "--url", centre,
                         "--hall", "LC", "--staff", "9001")
    assert code == 4 and "不是系统管理员" in err


def test_join_of_an_unknown_window_says_where_to_add_it(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    setup_hall(capsys, monkeypatch, centre)
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "B09", "--db", sqlite_url(tmp_path / "b09.sqlite3"))
    assert code == 1 and "B09" in err and "central windows add" in err


def test_sync_to_an_unreachable_centre_fails_in_chinese_without_a_traceback(
    tmp_path: Path,
) -> None:
    local = sqlite_url(tmp_path / "w.sqlite3")
    url = "postgresql+psycopg://hall:Top-Secret-9@127.0.0.1:9/central?sslmode=disable"
    proc = subprocess.run(
        [sys.executable, "-m", "hallapp", "sync", "--central", url, "--db", local],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3  # the server cannot be reached (README: exit codes)
    assert "同步失败" in proc.stderr and "Traceback" not in proc.stderr
    assert "Top-Secret-9" not in proc.stderr + proc.stdout
    logs = "".join(p.read_text(encoding="utf-8", errors="replace")
                   for p in Path(os.environ["HALLAPP_LOG_DIR"]).rglob("*") if p.is_file())
    assert "Top-Secret-9" not in logs


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("127.0.0.1:9/central", "连接不上中心库服务器"),
        ("127.0.0.1:5432/hallapp_no_such_centre", "服务器上没有这个中心库"),
    ],
)
def test_why_the_centre_cannot_be_reached_is_told_in_chinese(
    capsys: Any, tmp_path: Path, where: str, reason: str
) -> None:
    """The driver's English stays in the log; the user reads what it means,
    and the URL is shown as written (no timeout of ours, no password)."""
    url = f"postgresql+psycopg://postgres:Top-Secret-9@{where}"
    code, out, err = run(capsys, "sync", "--central", url,
                         "--db", sqlite_url(tmp_path / "w.sqlite3"))
    assert code != 0
    assert reason in err, err
    assert "connect_timeout" not in err and "Top-Secret-9" not in err + out
    assert "failed" not in err and "FATAL" not in err


def test_schema_mismatch_at_sync_names_both_versions(
    capsys: Any, tmp_path: Path, centre: str
) -> None:
    assert run(capsys, "central", "init", "--url", centre)[0] == 0
    engine = central_engine(centre)
    with engine.begin() as c:
        c.execute(central_table("central_meta").update().values(value="0005"))
    engine.dispose()
    code, _out, err = run(capsys, "sync", "--central", centre,
                         "--db", sqlite_url(tmp_path / "w.sqlite3"))
    assert code == 1 and "0005" in err and HEAD in err


def test_a_joined_window_refuses_local_reference_edits_saying_where_to_make_them(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    centre = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, centre)
    local = sqlite_url(tmp_path / "a05.sqlite3")
    assert run(capsys, "window", "join", "--central", centre, "--hall", "LC", "--window", "A05",
               "--db", local)[0] == 0
    code, _out, err = run(capsys, "catalog", "import", SAMPLE_CATALOG, "--db", local)
    assert code == 4 and "hallapp central catalog import" in err
    schedule = tmp_path / "2027.txt"
    # Test data, made up (as tests/workdays/conftest.py FICTIONAL_2027): a whole
    # year, since a schedule missing statutory holidays is refused.
    schedule.write_text(
        "年份 2027\n元旦 2027-01-01~2027-01-03\n"
        "春节 2027-02-05~2027-02-13 调休上班 2027-01-31,2027-02-20\n清明节 2027-04-05\n"
        "劳动节 2027-05-01~2027-05-05 调休上班 2027-04-25\n端午节 2027-06-09\n"
        "中秋节 2027-09-15\n国庆节 2027-10-01~2027-10-07 调休上班 2027-09-26,2027-10-09\n",
        encoding="utf-8",
    )
    code, _out, err = run(capsys, "workdays", "load", str(schedule), "--staff", "9901",
                          "--db", local)
    assert code == 4 and "hallapp central workdays load" in err
    # At the centre, by a supervisor, it is accepted and reaches the window.
    code, _out, err = run(capsys, "central", "workdays", "load", str(schedule), "--url", centre,
                          "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    assert run(capsys, "sync", "--db", local)[0] == 0
    store = Store.open(local)
    try:
        from hallapp.models import HolidaySchedule

        with store.session() as s:
            assert s.get(HolidaySchedule, 2027) is not None
    finally:
        store.dispose()
    # Nor straight into the central store with the window's commands.
    code, _out, err = run(capsys, "catalog", "import", SAMPLE_CATALOG, "--db", centre)
    assert code == 4 and "是中心库" in err


def test_a_configured_centre_makes_local_catalog_import_refuse(
    capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "hallapp.toml"
    cfg.write_text('[store]\ncentral_url = "sqlite:////nonexistent/central.sqlite3"\n',
                   encoding="utf-8")
    code, _out, err = run(capsys, "--config", str(cfg), "catalog", "import", SAMPLE_CATALOG)
    assert code == 4 and "hallapp central catalog import" in err


@pytest.mark.postgres
def test_tls_options_in_the_url_reach_the_driver(capsys: Any, tmp_path: Path,
                                                 pg_url: str) -> None:
    # The test server speaks no TLS: a URL that requires it must fail, in
    # Chinese, naming the reason (proof that sslmode was passed through).
    code, _out, err = run(capsys, "sync", "--central", pg_url + "?sslmode=require",
                          "--db", sqlite_url(tmp_path / "w.sqlite3"))
    assert code == 3 and "同步失败" in err and "SSL" in err


def test_the_readme_way_join_then_sync_without_paths(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    centre = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, centre)
    cfg = tmp_path / "hallapp.toml"
    cfg.write_text('[hall]\ncode = "LC"\n[window]\ncode = "A05"\n', encoding="utf-8")
    monkeypatch.setenv("HALLAPP_CONFIG", str(cfg))
    code, out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05")
    assert code == 0 and "注意" not in err, err
    code, out, err = run(capsys, "sync")
    assert code == 0, err
    assert "待上传 0 条" in out


def test_a_refused_record_stops_the_push_but_not_the_pull(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sqlite3

    centre = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, centre)
    local = sqlite_url(tmp_path / "a05.sqlite3")
    assert run(capsys, "window", "join", "--central", centre, "--hall", "LC", "--window", "A05",
               "--db", local)[0] == 0
    raw = sqlite3.connect(tmp_path / "a05.sqlite3")
    raw.execute("PRAGMA foreign_keys=OFF")
    # Level 0 is no evaluation at all: the centre refuses it (level 1–5).
    raw.execute(
        "INSERT INTO evaluations (id, origin_window, created_at, case_id, case_no, item_code, "
        "window_code, staff_id, department_code, channel, device, level, reasons, "
        "applicant_kind) VALUES ('bad-1', 'A05', '2026-11-20 01:00:00.000000', 'c1', 'n', 'i', "
        "'A05', 's', 'd', 'window_evaluator', '', 0, '[]', 'person')"
    )
    raw.commit()
    raw.close()
    code, _out, err = run(capsys, "central", "staff", "disable", "1001", "--url", centre,
                          "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    code, _out, err = run(capsys, "sync", "--db", local)
    assert code == 1 and "evaluations" in err and "bad-1" in err
    store = Store.open(local)
    try:
        with pytest.raises(SignInError), store.session() as s:
            authenticate(s, "1001", "clerk-pw-1")
    finally:
        store.dispose()


def test_report_definitions_set_at_the_centre_are_the_halls_everywhere(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """满意率 has no national formula: the hall sets it once, at the centre,
    and the report made on the central store and a joined window's config
    both use it; a wrong value is refused in Chinese and changes nothing."""
    import csv

    from hallapp.config import parse_config
    from hallapp.sync.run import with_hall_settings

    setup_hall(capsys, monkeypatch, centre)
    code, _out, err = run(capsys, "central", "settings", "set", "reports.satisfied_levels",
                         "[5, 4]", "--url", centre, "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    code, _out, err = run(capsys, "central", "settings", "set", "follow_up.rectify_days", "10",
                         "--url", centre, "--hall", "LC", "--staff", "9901")
    assert code == 0, err
    code, _out, err = run(capsys, "central", "settings", "set", "reports.satisfied_levels",
                         "5, 4", "--url", centre, "--hall", "LC", "--staff", "9901")
    assert code != 0 and "JSON" in err and "Traceback" not in err
    code, _out, err = run(capsys, "central", "settings", "set", "follow_up.rectify_days", "30",
                         "--url", centre, "--hall", "LC", "--staff", "9901")
    assert code != 0 and "rectify_days" in err
    # The hall's code is the key of its rows at the centre, not a setting: a
    # window taking another code would number cases for a hall it does not push to.
    code, _out, err = run(capsys, "central", "settings", "set", "hall.code", "ZZ",
                         "--url", centre, "--hall", "LC", "--staff", "9901")  # fmt: skip
    assert code != 0 and "大厅代码" in err and "Traceback" not in err
    code, _out, err = run(capsys, "central", "settings", "set", "hall.name", " ",
                         "--url", centre, "--hall", "LC", "--staff", "9901")  # fmt: skip
    assert code != 0 and "不能为空" in err

    out_csv = tmp_path / "month.csv"
    code, _out, err = run(capsys, "report", "--month", "2026-11", "--format", "csv",
                         "--out", str(out_csv), "--db", centre, "--hall", "LC")
    assert code == 0, err
    text = out_csv.read_text(encoding="utf-8-sig")
    notes = " ".join(" ".join(r) for r in csv.reader(text.splitlines()))
    assert "满意率 =（非常满意＋满意）÷ 有效评价数" in notes
    assert "整改期限 10 个工作日" in notes
    # A text that looks like a number stays the text typed, read at the centre too.
    code, _out, err = run(capsys, "central", "settings", "set", "hall.complaint_hotline", "96345",
                          "--url", centre, "--hall", "LC", "--staff", "9901")  # fmt: skip
    assert code == 0, err
    at_centre = Store.open(centre)
    try:
        cfg = with_hall_settings(parse_config({"hall": {"code": "LC"}}), at_centre)
    finally:
        at_centre.dispose()
    assert cfg.get("hall.complaint_hotline") == "96345"
    assert cfg.get("reports.satisfied_levels") == [5, 4]

    local = sqlite_url(tmp_path / "a05.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05", "--db", local)
    assert code == 0, err
    store = Store.open(local)
    try:
        cfg = with_hall_settings(
            parse_config({"hall": {"code": "LC"}, "window": {"code": "A05"},
                          "follow_up": {"rectify_days": 5}}), store)
    finally:
        store.dispose()
    assert cfg.get("reports.satisfied_levels") == [5, 4]
    assert cfg.get("follow_up.rectify_days") == 10


def test_demo_data_is_refused_on_a_centre_and_on_a_joined_window(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """An invented history would be counted and published as the hall's own."""
    setup_hall(capsys, monkeypatch, centre)
    args = ("demo-data", "--windows", "1", "--months", "1", "--per-day", "2", "--seed", "7")
    code, _out, err = run(capsys, *args, "--db", centre)
    assert code == 4 and "不能写入中心库" in err
    local = sqlite_url(tmp_path / "a05.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05", "--db", local)
    assert code == 0, err
    code, _out, err = run(capsys, *args, "--db", local)
    assert code == 4 and "已加入中心库" in err
    code, out, err = run(capsys, "sync", "--db", local)
    assert code == 0, err
    assert "上传 0 条" in out
    # A hall without a centre keeps its real records in its window's file.
    from hallapp.staffing import create_first_administrator

    real = sqlite_url(tmp_path / "hall-a03.sqlite3")
    hall_store = Store.open(real)
    try:
        with hall_store.session() as s:
            create_first_administrator(s, staff_no="9901", name="邱文杰", password="admin-pw-1",
                                       department_code="ZWB", department_name="管委会")  # fmt: skip
            s.commit()
    finally:
        hall_store.dispose()
    code, _out, err = run(capsys, *args, "--db", real)
    assert code == 4 and "不是演示数据库" in err, err
    # A new empty file becomes a demo database and takes a second history too.
    demo = sqlite_url(tmp_path / "演示.sqlite3")
    assert run(capsys, *args, "--db", demo)[0] == 0
    assert run(capsys, *args[:-1], "8", "--db", demo)[0] in (0, 1)


@pytest.mark.postgres
def test_demo_data_then_a_report_on_a_fresh_postgresql_database(
    capsys: Any, tmp_path: Path, pg_url: str
) -> None:
    """The README's supervisor walk-through on PostgreSQL, not only on SQLite."""
    import csv

    future = ("demo-data", "--windows", "2", "--months", "1", "--end", "2999-01-31", "--db", pg_url)
    code, _out, err = run(capsys, *future)
    assert code == 2 and "应早于今天" in err  # no month published before it has begun
    code, _out, err = run(capsys, "demo-data", "--windows", "2", "--months", "1", "--per-day",
                          "3", "--seed", "7", "--end", "2026-09-30", "--db", pg_url)  # fmt: skip
    assert code == 0, err
    out_csv = tmp_path / "m.csv"
    code, _out, err = run(capsys, "report", "--month", "2026-09", "--format", "csv",
                          "--out", str(out_csv), "--db", pg_url)  # fmt: skip
    assert code == 0, err
    with out_csv.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    total = next(r for r in rows if r and r[0] == "合计")
    assert int(total[rows[0].index("有效评价数")]) > 0


@pytest.mark.parametrize(
    ("staff_no", "name", "password", "message"),
    [
        ("10 11", "张三", "clerk-pw-9", "工号应为"),
        ("../../etc", "张三", "clerk-pw-9", "工号应为"),
        ("1012\u200b", "张三", "clerk-pw-9", "工号应为"),
        ("2003", "", "clerk-pw-9", "请填写姓名"),
        ("2003", "   ", "clerk-pw-9", "请填写姓名"),
        ("2003", "王\u202e五", "clerk-pw-9", "文字方向控制符"),
        ("2003", "王" * 51, "clerk-pw-9", "超过上限 50 字"),
        ("2003", "张三", "11111111", "同一个数字的重复"),
        ("2003", "张三", "short", "密码至少 8 位"),
    ],
)
def test_central_staff_add_keeps_the_rules_of_a_local_staff_add(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    staff_no: str, name: str, password: str, message: str,
) -> None:  # fmt: skip
    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", password)
    code, out, err = run(capsys, "central", "staff", "add", staff_no, "--url", url, "--hall", "LC",
                         "--name", name, "--department", "ZWZX", "--staff", "9901")  # fmt: skip
    # Invalid input (exit 1), as the local staff add says it: not a wrong command line.
    assert code == EXIT_INVALID and message in err, err
    assert "Traceback" not in err
    code, out, _err = run(capsys, "central", "staff", "list", "--url", url, "--hall", "LC")
    assert code == 0 and "2003" not in out and "10 11" not in out


@pytest.mark.parametrize(
    ("phone", "stored"),
    [("电话没有", None), ("12345678901234", None), ("0597-8921003-1", "0597-8921003转1"),
     ("+852 9123 4567", "+85291234567")],
)
def test_central_staff_add_checks_the_phone_printed_on_every_notice(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, phone: str, stored: str | None
) -> None:
    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "clerk-pw-9")
    code, _out, err = run(capsys, "central", "staff", "add", "2003", "--url", url, "--hall", "LC",
                         "--name", "张三", "--department", "ZWZX", "--phone", phone,
                         "--staff", "9901")  # fmt: skip
    engine = central_engine(url)
    try:
        with engine.connect() as c:
            st = central_table("staff")
            row = c.execute(select(st.c.phone).where(st.c.staff_no == "2003")).first()
    finally:
        engine.dispose()
    if stored is None:
        assert code == EXIT_INVALID and "联系电话有误" in err and "Traceback" not in err
        assert row is None
    else:
        assert code == 0, err
        assert row is not None and row.phone == stored


def test_central_staff_add_takes_only_a_png_or_jpeg_photo_and_plain_commitments(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The photo and 服务承诺 go to every window and the citizen screen: 20 MB
    of random bytes, a GIF or an ESC sequence are refused; a real photo is kept."""
    import io

    from PIL import Image

    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "clerk-pw-9")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    junk = tmp_path / "junk.png"
    junk.write_bytes(os.urandom(4096))
    gif = tmp_path / "p.gif"
    Image.new("RGB", (30, 40)).save(gif, "GIF")
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buf, "JPEG")
    good = tmp_path / "p.jpg"
    good.write_bytes(buf.getvalue())
    staff = ["--url", url, "--hall", "LC", "--name", "张三", "--department", "ZWZX",
             "--staff", "9901"]  # fmt: skip
    for extra, message in (
        (["--photo", str(big)], "超过上限 2 MB"),
        (["--photo", str(junk)], "不是可以读取的 PNG 或 JPEG"),
        (["--photo", str(gif)], "此文件为 GIF"),
        (["--photo", str(tmp_path / "absent.jpg")], "无法读取"),
        (["--commitments", "承诺\x1b[2J\u202e"], "服务承诺含有不可见的控制字符"),
    ):
        code, _out, err = run(capsys, "central", "staff", "add", "2003", *staff, *extra)
        assert code == EXIT_INVALID and message in err, (extra, err)
        assert "Traceback" not in err
    code, _out, err = run(capsys, "central", "staff", "add", "2003", *staff, "--photo", str(good),
                          "--commitments", "一次告知\\n限时办结")  # fmt: skip
    assert code == 0, err
    engine = central_engine(url)
    try:
        with engine.connect() as c:
            st = central_table("staff")
            rows = c.execute(select(st.c.photo, st.c.commitments).where(st.c.staff_no == "2003"))
            ((photo, commitments),) = rows.all()
    finally:
        engine.dispose()
    assert photo == good.read_bytes() and commitments == "一次告知\n限时办结"


def test_a_full_width_staff_number_is_stored_as_sign_in_reads_it(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "central.sqlite3")
    setup_hall(capsys, monkeypatch, url)
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "clerk-pw-9")
    code, out, err = run(capsys, "central", "staff", "add", "１０１３", "--url", url,
                         "--hall", "LC", "--name", " 李娜 ", "--department", "ZWZX",
                         "--staff", "9901")  # fmt: skip
    assert code == 0, err
    assert "1013 李娜" in out
    code, out, _err = run(capsys, "central", "staff", "disable", "1013", "--url", url, "--hall",
                          "LC", "--staff", "9901")  # fmt: skip
    assert code == 0, _err


@pytest.mark.postgres
def test_a_login_the_server_does_not_know_is_told_as_refused_not_unreachable(
    capsys: Any, tmp_path: Path, pg_url: str
) -> None:
    """The server answered (role does not exist): not "network down", but
    "login refused", so the administrator grants it instead of calling IT."""
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(username="hallapp_no_such_login").render_as_string(False)
    code, _out, err = run(capsys, "sync", "--central", url,
                          "--db", sqlite_url(tmp_path / "w.sqlite3"))  # fmt: skip
    assert code == 3 and "拒绝登录" in err and "网络不通" not in err
    code, _out, err = run(capsys, "report", "--month", "2026-09", "--format", "csv",
                          "--out", str(tmp_path / "m.csv"), "--db", url)  # fmt: skip
    assert code == 3 and "拒绝登录" in err and "请检查网络" not in err


def test_sync_on_a_sqlite_centre_that_stops_answering_ends_within_the_stall_limit(
    tmp_path: Path, window: Any
) -> None:
    """A writer holding the central file stands for a share that stopped
    answering: `hallapp sync` must not wait for it beyond sync_stall_seconds
    (5 here, below SQLite's own 10 s busy wait), and the next pass loses
    and doubles nothing."""
    import sqlite3
    import time

    from hallapp.sync.centre import init_central

    central = tmp_path / "central.sqlite3"
    init_central(sqlite_url(central))
    window.new_case(level=1)
    config = tmp_path / "hallapp.toml"
    config.write_text('[hall]\ncode = "LC"\n[window]\ncode = "A03"\n'
                      "[store]\nsync_stall_seconds = 5\n", encoding="utf-8")  # fmt: skip
    argv = [sys.executable, "-m", "hallapp", "--config", str(config), "sync",
            "--central", sqlite_url(central), "--db", str(window.store.engine.url)]  # fmt: skip
    holder = sqlite3.connect(central, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 3, proc.stderr
    assert "超过 5 秒没有应答" in proc.stderr and "Traceback" not in proc.stderr
    assert took < 9.5  # not SQLite's 10 s busy wait, let alone forever
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(central) as c:
        counted = c.execute("SELECT count(*), count(DISTINCT id) FROM evaluations").fetchone()
    assert counted == (1, 1)


def test_a_combined_window_and_a_back_office_clerk_are_authored_at_the_centre(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """README "Windows, departments and who decides": a 综合窗口 is made with
    --department repeated (every one kept, not the last), and a department's
    back-office staff (role back_office) are added like any other staff."""
    setup_hall(capsys, monkeypatch, centre)
    code, out, err = run(capsys, "central", "windows", "add", "A01", "--url", centre,
                         "--hall", "LC", "--name", "工程建设项目审批综合窗口",
                         "--department", "ZJJ", "--department", "ZRJ", "--department", "HBJ",
                         "--staff", "9901")  # fmt: skip
    assert code == 0, err
    assert "综合窗口 A01" in out and "ZJJ、ZRJ、HBJ" in out
    code, _out, err = run(capsys, "central", "windows", "add", "A02", "--url", centre,
                          "--hall", "LC", "--name", "x", "--department", "ZJJ",
                          "--department", "NOPE", "--staff", "9901")  # fmt: skip
    assert code == 1 and "部门 NOPE 不存在" in err
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "back-office-1")
    code, _out, err = run(capsys, "central", "staff", "add", "2001", "--url", centre,
                          "--hall", "LC", "--name", "刘明", "--department", "ZJJ",
                          "--role", "back_office", "--staff", "9901")  # fmt: skip
    assert code == 0, err
    local = sqlite_url(tmp_path / "a01.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                          "--window", "A01", "--db", local)
    assert code == 0, err
    store = Store.open(local)
    try:
        from hallapp.models import Role, Staff, Window

        with store.read() as s:
            window = s.get(Window, "A01")
            assert window is not None
            assert sorted(wd.department_code for wd in window.served) == ["HBJ", "ZJJ", "ZRJ"]
            back = s.scalar(select(Staff).where(Staff.staff_no == "2001"))
            assert back is not None and back.role == Role.BACK_OFFICE
    finally:
        store.dispose()


@pytest.mark.postgres
def test_central_init_creates_a_missing_postgresql_database(
    capsys: Any, pg_url: str
) -> None:
    """README: `central init` creates or upgrades the centre — on a server
    where the database does not exist yet, too (it was: "找不到数据库 …
    请先运行 hallapp central init")."""
    import sqlalchemy as sa

    url = pg_url + "_new"
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        code, out, err = run(capsys, "central", "init", "--url", url)
        assert code == 0, err
        assert f"已建立数据库 {name}" in out and "中心库已建立" in out
        code, out, err = run(capsys, "central", "init", "--url", url)
        assert code == 0 and "已是最新结构" in out, err
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_central_init_refuses_a_windows_own_database(
    capsys: Any, tmp_path: Path
) -> None:
    """A window's local file given as the centre's URL is refused and left as it was
    (made central, it numbered no case again)."""
    path = tmp_path / "a05.sqlite3"
    Store.open(sqlite_url(path)).dispose()
    before = path.read_bytes()
    code, _out, err = run(capsys, "central", "init", "--url", sqlite_url(path))
    assert code == 1 and "是窗口的本地数据库，不能用作中心库" in err
    assert path.read_bytes() == before


def test_joining_a_window_that_another_pc_pushes_for_warns(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """A new file joining as A05 while the centre holds A05's pushes: a
    replaced PC, or a second PC on one window code; the join says so."""
    from datetime import UTC, datetime

    setup_hall(capsys, monkeypatch, centre)
    first = sqlite_url(tmp_path / "a05.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                          "--window", "A05", "--db", first)  # fmt: skip
    assert code == 0 and "注意：中心库已有窗口" not in err, err
    engine = central_engine(centre)
    try:
        ws = central_table("window_sync")
        with engine.begin() as c:  # what the first PC's pushes left
            c.execute(ws.insert().values(hall_code="LC", window_code="A05", local_revision=HEAD,
                                         last_push_at=datetime(2026, 12, 3, 1, 30, tzinfo=UTC)))
    finally:
        engine.dispose()
    second = sqlite_url(tmp_path / "a05-second.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                          "--window", "A05", "--db", second)  # fmt: skip
    assert code == 0, err
    assert "注意：中心库已有窗口 A05 的上传（最近一次 2026-12-03 09:30）" in err
    assert "两台电脑不能同时使用窗口编号 A05" in err


def test_a_joined_window_cannot_join_another_hall_or_push_into_another_centre(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """One window database, one hall and window of one centre: a second join
    (a hall the centre has not, another hall, another window) would send its
    whole history again, counted twice; a sync with --central naming another
    centre would leave its records where its window does not exist."""
    setup_hall(capsys, monkeypatch, centre)
    local = sqlite_url(tmp_path / "a05.sqlite3")
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05", "--db", local)
    assert code == 0, err
    assert run(capsys, "sync", "--db", local)[0] == 0
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "a09", "--db", sqlite_url(tmp_path / "a09.sqlite3"))
    assert code == 1 and "没有窗口 A09" in err and "a09" not in err, err  # as stored: A09
    for hall, window in (("ZZ", "A05"), ("LC", "A06")):
        code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", hall,
                             "--window", window, "--db", local)
        assert code == 1, err
        assert "已加入" in err and "大厅 LC 窗口 A05" in err and "--db 新文件" in err
    # A fresh database for a hall the centre does not have: named, with the halls it has.
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "ZZ",
                         "--window", "A05", "--db", sqlite_url(tmp_path / "zz.sqlite3"))
    assert code == 1 and "没有大厅 ZZ" in err and "LC" in err, err
    assert not (tmp_path / "zz.sqlite3").exists()
    # The same join again is harmless (a re-run after a failure).
    code, _out, err = run(capsys, "window", "join", "--central", centre, "--hall", "LC",
                         "--window", "A05", "--db", local)
    assert code == 0, err
    # Another centre, set up the same way: nothing is pushed into it.
    other = sqlite_url(tmp_path / "other-central.sqlite3")
    setup_hall(capsys, monkeypatch, other)
    code, _out, err = run(capsys, "sync", "--central", other, "--db", local)
    assert code == 1 and "不是本窗口加入的中心库" in err and "未上传任何记录" in err, err
    engine = central_engine(other)
    try:
        with engine.connect() as c:
            for name in ("cases", "evaluations", "audit_entries"):
                t = central_table(name)
                rows = c.execute(select(func.count()).select_from(t).where(
                    t.c.hall_code == "LC", t.c.origin_window != "@centre")).scalar()  # fmt: skip
                assert rows == 0, name
    finally:
        engine.dispose()
    assert run(capsys, "sync", "--db", local)[0] == 0  # its own centre still takes it


def test_a_centre_of_several_halls_reports_and_signs_in_one_hall_at_a_time(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, centre: str
) -> None:
    """Window codes and staff numbers repeat from hall to hall: a report without
    --hall merged LC's A05 and QX's A05 into one row, a mistyped hall published an
    empty 公示, and the supervisors' sign-in took the first 9901 of any hall."""
    from hallapp.ui.supervisor_app import authenticate_supervisor

    from hallapp.security import SignInError as Refused

    setup_hall(capsys, monkeypatch, centre)
    code, _out, err = run(capsys, "central", "departments", "add", "QZX", "--url", centre,
                         "--hall", "QX", "--name", "邻县行政服务中心")  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "qx-admin-pw")
    code, _out, err = run(capsys, "central", "staff", "add", "9901", "--url", centre,
                         "--hall", "QX", "--name", "邻县管理员", "--department", "QZX",
                         "--role", "administrator")  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("HALLAPP_PASSWORD", "qx-admin-pw")
    code, _out, err = run(capsys, "central", "windows", "add", "A05", "--url", centre,
                         "--hall", "QX", "--name", "邻县综合窗口", "--department", "QZX",
                         "--staff", "9901")  # fmt: skip
    assert code == 0, err
    out = str(tmp_path / "m.csv")
    base = ["report", "--month", "2026-11", "--format", "csv", "--out", out, "--db", centre]
    code, _out, err = run(capsys, *base)
    assert code == 2 and "2 个大厅（LC、QX）" in err and "--hall" in err, err
    for typed in ("ZZ", "L C"):
        code, _out, err = run(capsys, *base, "--hall", typed)
        assert code == 2 and f"没有大厅 {typed}" in err and "LC、QX" in err, err
    assert not Path(out).exists()  # nothing published for a hall that is not there
    for typed in ("lc", "ＬＣ", "QX"):
        code, _out, err = run(capsys, *base, "--hall", typed)
        assert code == 0, err
    code, _out, err = run(capsys, "central", "verify", "--url", centre, "--hall", "ZZ")
    assert code == 2 and "没有大厅 ZZ" in err
    for typed in ("lc", "ＬＣ"):
        code, _out, err = run(capsys, "central", "verify", "--url", centre, "--hall", typed)
        assert code == 0 and "核验通过" in _out, err
    store = Store.open(centre)
    try:
        assert authenticate_supervisor(store, "9901", "qx-admin-pw", hall="QX").name == "邻县管理员"
        assert authenticate_supervisor(store, "9901", "admin-pw-1", hall="LC").name == "邱文杰"
        with pytest.raises(Refused):
            authenticate_supervisor(store, "9901", "qx-admin-pw", hall="LC")
    finally:
        store.dispose()


def test_codes_that_differ_only_in_case_are_refused_and_a_rename_is_said(
    capsys: Any, monkeypatch: pytest.MonkeyPatch, centre: str
) -> None:
    """zjj beside ZJJ was a second 住建局 whose clerks could take none of its
    items, ab-1 beside AB-1 a second person; ＺＪＪ (full width) is ZJJ, and
    its "add" renamed the department without a word."""
    setup_hall(capsys, monkeypatch, centre)
    base = ["--url", centre, "--hall", "LC", "--staff", "9901"]
    code, _out, err = run(capsys, "central", "departments", "add", "zwzx", *base,
                         "--name", "小写管委会")  # fmt: skip
    assert code == 2 and "已有部门 ZWZX" in err and "大小写" in err, err
    code, out, err = run(capsys, "central", "departments", "add", "ＺＷＺＸ", *base,
                        "--name", "行政服务中心")  # fmt: skip
    assert code == 0, err
    assert "已修改部门 ZWZX：名称 行政服务中心管委会 → 行政服务中心" in out
    monkeypatch.setenv("HALLAPP_NEW_PASSWORD", "clerk-pw-2")
    code, _out, err = run(capsys, "central", "staff", "add", "AB-1", *base, "--name", "甲",
                         "--department", "ZWZX")  # fmt: skip
    assert code == 0, err
    code, _out, err = run(capsys, "central", "staff", "add", "ab-1", *base, "--name", "乙",
                         "--department", "ZWZX")  # fmt: skip
    assert code != 0 and "AB-1" in err and "大小写" in err, err
