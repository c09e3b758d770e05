"""`hallapp workdays …` and `hallapp validate …`, through the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hallapp.cli import main
from hallapp.models import AuditEntry, HolidaySchedule
from hallapp.store import Store
from hallapp.workdays import default_calendar

pytestmark = pytest.mark.usefixtures("cli_config")


@pytest.fixture
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The local database named by the config does not exist: `add` then uses
    # the built-in schedules only.
    path = tmp_path / "hallapp.toml"
    path.write_text(
        f'[window]\ncode = "A03"\n[store]\nlocal_path = "{tmp_path / "none.sqlite3"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HALLAPP_CONFIG", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_prints_the_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "workdays", "add", "2026-02-13", "2") == (0, "2026-02-24\n", "")
    assert run(capsys, "workdays", "add", "2026-02-13", "0")[1] == "2026-02-13\n"


@pytest.mark.skipif(default_calendar().is_known(2027), reason="2027 is built in now")
def test_add_provisional_2027(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "workdays", "add", "2027-02-26", "5") == (0, "2027-03-05 暂定\n", "")


def test_add_provisional_far_year(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "workdays", "add", "2035-02-06", "1")[1] == "2035-02-12 暂定\n"


def test_explain_lists_the_days(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "workdays", "add", "2026-02-13", "2", "--explain")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "2026-02-24"
    assert lines[1] == "起算日 2026-02-13 星期五（不计入）"
    assert lines[2] == "2026-02-14 星期六 第 1 个工作日 调休上班（春节）"
    assert lines[3] == "2026-02-15 星期日 跳过 春节"
    assert lines[-1] == "2026-02-24 星期二 第 2 个工作日 工作日"
    assert len(lines) == 2 + 11


def test_explain_says_why_a_date_is_provisional(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "workdays", "add", "2035-02-06", "1", "--explain")
    assert out.splitlines()[0] == "2035-02-12 暂定"
    assert "2035-02-08 星期四 跳过 春节（法定节假日，未发布调休安排）（暂定）" in out
    assert out.splitlines()[-1].startswith("注意：2035 年的放假安排尚未发布或未载入")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["2026-13-01", "3"], "日期“2026-13-01”不存在"),
        (["2026/02/13", "3"], "日期“2026/02/13”格式不对，请写作 YYYY-MM-DD"),
        (["2026-02-13", "-3"], "工作日数不能为负数：-3"),
        (["2026-02-13", "三"], "工作日数“三”应为整数"),
        (["2026-02-13", "99999"], "工作日数 99999 过大"),
    ],
)
def test_bad_input_exits_2_with_a_chinese_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "workdays", "add", *argv)
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err


def test_add_with_a_schedule_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fictional_2027_text: str
) -> None:
    path = tmp_path / "2027.txt"
    path.write_text(fictional_2027_text, encoding="utf-8")
    assert run(capsys, "workdays", "add", "2027-02-04", "1", "--schedule", str(path))[1] == (
        "2027-02-15\n"
    )


def test_check_a_schedule_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fictional_2027_text: str
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(fictional_2027_text, encoding="utf-8")
    code, out, _ = run(capsys, "workdays", "check", str(good))
    assert code == 0
    assert out.startswith("2027 年放假安排：假日 27 天，调休上班 5 天\n")
    assert "春节 2027-02-05~2027-02-13 调休上班 2027-01-31,2027-02-20" in out

    bad = tmp_path / "bad.txt"
    bad.write_text("年份 2027\n春节 2027-02-30\n", encoding="utf-8")
    code, out, err = run(capsys, "workdays", "check", str(bad))
    assert code == 1 and "第 2 行：无法识别的日期“2027-02-30”" in err

    latin1 = tmp_path / "gbk.txt"
    latin1.write_bytes("年份 2027\n春节 2027-02-05\n".encode("gbk"))
    code, _, err = run(capsys, "workdays", "check", str(latin1))
    assert code == 1 and "不是 UTF-8 编码" in err
    code, _, err = run(capsys, "workdays", "check", str(tmp_path / "missing.txt"))
    assert code == 2 and "找不到文件" in err


def test_load_then_add_reads_the_store(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: Store,
    reference: object,
    fictional_2027_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    path = tmp_path / "2027.txt"
    path.write_text(fictional_2027_text, encoding="utf-8")

    monkeypatch.setenv("HALLAPP_PASSWORD", "123456")  # the clerk's own, right password
    code, _, err = run(capsys, "workdays", "load", str(path), "--staff", "1001", "--db", url)
    assert code == 4 and "只有监督管理人员或系统管理员可以执行此操作" in err
    code, _, err = run(capsys, "workdays", "load", str(path), "--staff", "0000", "--db", url)
    assert code == 4 and "工号或密码不正确" in err
    code, _, err = run(capsys, "workdays", "load", str(path), "--staff", "9001", "--db", url)
    assert code == 4 and "工号或密码不正确" in err  # 9001's password is 654321
    monkeypatch.setenv("HALLAPP_PASSWORD", "654321")

    code, out, _ = run(capsys, "workdays", "load", str(path), "--staff", "9001", "--db", url)
    assert (code, out) == (0, "已载入 2027 年放假安排：假日 27 天，调休上班 5 天\n")
    with store.session() as s:
        assert s.get(HolidaySchedule, 2027) is not None
        assert [e.action for e in s.scalars(select(AuditEntry))] == ["holiday_schedule.load"]

    assert run(capsys, "workdays", "add", "2027-02-04", "1", "--db", url)[1] == "2027-02-15\n"
    # --no-db ignores the store.
    no_db = run(capsys, "workdays", "add", "2035-02-06", "1", "--db", url, "--no-db")
    assert no_db[1] == "2035-02-12 暂定\n"


def test_add_uses_the_configured_local_database(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: Store,
    reference: object,
    fictional_2027_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "2027.txt"
    path.write_text(fictional_2027_text, encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("HALLAPP_PASSWORD", "654321")
    assert run(capsys, "workdays", "load", str(path), "--staff", "9001", "--db", url)[0] == 0
    config = tmp_path / "window.toml"
    database = store.engine.url.database
    config.write_text(f'[store]\nlocal_path = "{database}"\n', encoding="utf-8")
    monkeypatch.setenv("HALLAPP_CONFIG", str(config))
    assert run(capsys, "workdays", "add", "2027-02-04", "1")[1] == "2027-02-15\n"


def test_unreachable_store_falls_back_to_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    code, out, err = run(capsys, "workdays", "add", "2026-02-13", "1", "--db", url)
    assert (code, out) == (0, "2026-02-14\n")
    assert "无法读取数据库中的放假安排" in err


# --------------------------------------------------------------------------- #
# validate
# --------------------------------------------------------------------------- #


def test_validate_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", "id", "11010519491231002X") == (
        0,
        "有效 1101**********002X\n",
        "",
    )
    code, out, _ = run(capsys, "validate", "id", "110105194912310021")
    assert code == 1
    assert out == "无效：身份证号校验位不符，请核对号码是否抄错\n"


def test_validate_uscc_and_phone(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", "uscc", "914403001922038216")[:2] == (
        0,
        "有效 914403001922038216\n",
    )
    code, out, _ = run(capsys, "validate", "uscc", "9I4403001922038216")
    assert code == 1 and out.count("\n") == 1 and "不允许的字符" in out
    assert run(capsys, "validate", "phone", "0597-8921234")[:2] == (0, "有效 0597-8921234\n")
    assert run(capsys, "validate", "phone", "12")[0] == 1


def test_the_installed_command(tmp_path: Path) -> None:
    env = {**os.environ, "HALLAPP_LOG_DIR": str(tmp_path)}

    def hallapp(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hallapp", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    ok = hallapp("workdays", "add", "2026-09-30", "3", "--no-db")
    assert (ok.returncode, ok.stdout) == (0, "2026-10-10\n")
    bad = hallapp("workdays", "add", "2026-02-30", "1", "--no-db")
    assert bad.returncode == 2 and "不存在" in bad.stderr and "Traceback" not in bad.stderr
    invalid = hallapp("validate", "id", "350102199001011234")
    assert invalid.returncode == 1 and invalid.stdout.startswith("无效：")
