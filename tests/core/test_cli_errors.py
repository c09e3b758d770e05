"""Every `hallapp` command, given bad input, as a user's terminal shows it.

Each runs as a real process: no "Traceback" on stdout or stderr, a Chinese
message, the documented exit code (hallapp.cli.common), and the traceback,
where there is one, only in the log file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import pytest

from hallapp.demo import seed_demo
from hallapp.store import Store, sqlite_url

CJK = re.compile(r"[\u4e00-\u9fff]")


def _cases(tmp: Path) -> list[tuple[list[str], int, str]]:
    """(argv, exit code, a piece of the message) for each command and bad input."""
    real = tmp / "real.sqlite3"
    store = Store.open(sqlite_url(real))
    seed_demo(store)
    store.dispose()
    # A hall's real database: the same reference data, but never marked as demo.
    hall = tmp / "hall.sqlite3"
    store = Store.open(sqlite_url(hall))
    from tests.conftest import make_reference

    make_reference(store)
    store.dispose()
    corrupt = tmp / "corrupt.sqlite3"
    corrupt.write_bytes(b"SQLite format 3\0" + os.urandom(8192))
    binary = tmp / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 50)
    bad_schedule = tmp / "bad.txt"
    bad_schedule.write_text("这不是放假安排\n2027-13-45 放假\n", encoding="utf-8")
    fake_xlsx = tmp / "broken.xlsx"
    fake_xlsx.write_bytes(b"PK\x03\x04" + os.urandom(500))
    bad_json = tmp / "bad.json"
    bad_json.write_text('{"doc_type": "acceptance", "fields": [1, 2', encoding="utf-8")
    wrong_json = tmp / "wrong.json"
    wrong_json.write_text('{"doc_type": "nonsense"}', encoding="utf-8")
    broken_config = tmp / "broken.toml"
    broken_config.write_text("[window\ncode = A03\n", encoding="utf-8")
    not_pdf = tmp / "not.pdf"
    not_pdf.write_text("hello", encoding="utf-8")
    sample = str(resources.files("hallapp.resources") / "catalog.toml")
    db, hall_db = sqlite_url(real), sqlite_url(hall)
    # A path under a file: no folder can be made there, not even by root.
    nowhere = f"{not_pdf}/sub"
    return [
        (["db", "upgrade", "--db", f"sqlite:///{nowhere}/x.sqlite3"], 3, "找不到数据库"),
        (["db", "upgrade", "--db", "nosuchdriver://host/db"], 3, "数据库地址格式不正确"),
        (["db", "check", "--db", sqlite_url(corrupt)], 3, "已损坏"),
        (["db", "check", "--db", sqlite_url(tmp / "absent.sqlite3")], 1, "找不到数据库"),
        (["db", "seed-demo", "--db", hall_db], 4, "不是演示数据库"),
        (["db", "seed-demo", "--db", db], 4, "--staff"),
        (["db", "nope"], 2, "命令行有误"),
        (["workdays", "add", "2026-02-30", "3"], 2, "不存在"),
        (["workdays", "add", "2026-02-13", "9" * 40], 2, "过大"),
        (["workdays", "add", "2026-02-13", "三"], 2, "应为整数"),
        (["workdays", "add"], 2, "缺少必需的参数"),
        (["workdays", "check", str(binary)], 1, "UTF-8"),
        (["workdays", "check", str(bad_schedule)], 1, "有错误"),
        (["workdays", "check", str(tmp / "absent.txt")], 2, "找不到文件"),
        (["workdays", "load", str(bad_schedule), "--db", db], 1, "有错误"),
        (["validate", "id", "123"], 1, "无效"),
        (["validate", "id", "350825198001012319\u200b"], 1, "不可见"),  # not "实际 19 位"
        (["report", "--month", "9999-12", "--format", "csv", "--out", str(tmp / "r.csv")], 2,
         "年份应在 2000–2100 之间"),
        (["validate", "uscc", "91350825MA31K7XQ5X"], 1, "无效"),
        (["validate", "mobile", "1234"], 1, "无效"),
        (["catalog", "import", sample, "--db", db], 4, "--staff"),
        (["catalog", "import", sample, "--db", db, "--staff", "1001"], 4, "密码"),
        (["catalog", "import", str(tmp / "absent.xlsx"), "--db", db], 2, "找不到文件"),
        (["catalog", "validate", str(fake_xlsx)], 1, "xlsx"),
        (["catalog", "export", f"{not_pdf}/x.xlsx", "--db", db], 1, "无法写入"),
        (["catalog", "search", "sgxk", "--db", sqlite_url(corrupt)], 3, "已损坏"),
        (["catalog", "search", "sgxk", "--limit", "abc", "--db", db], 2, "的整数"),
        (
            ["render", "acceptance", "--json", str(tmp / "absent.json"), "--out", "a.pdf"],
            1,
            "找不到",
        ),
        (["render", "--json", str(bad_json), "--out", str(tmp / "a.pdf")], 1, "无法读取"),
        (["render", "--json", str(wrong_json), "--out", str(tmp / "a.pdf")], 1, "有误"),
        (["render", "acceptance", "--sample", "--out", f"{not_pdf}/a.pdf"], 1, "无法"),
        (["print", str(tmp / "absent.pdf")], 1, "找不到"),
        (["evaluator-sim", "--port", f"{nowhere}/ttyS9"], 1, "端口“"),
        (["evaluator-sim", "--pty", "--script", "noise:1000000000"], 2, "干扰字节最多"),
        (["evaluator-sim", "--pty", "--script", "wait:1e400"], 2, "等待最多"),
        (["evaluator-sim", "--pty", "--baudrate", "0"], 2, "1200–115200"),
        (["evaluator-sim", "--port", str(tmp / "ttyS9")], 1, "不存在"),
        # A file that is no serial port: said in Chinese, not pyserial's English.
        (["evaluator-sim", "--port", str(bad_json)], 1, "不是串口设备"),
        (["--config", str(broken_config), "db", "check"], 2, "配置"),
    ]


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hallapp", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_every_command_with_bad_input_says_what_in_chinese(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    env = {**os.environ, "HALLAPP_LOG_DIR": str(tmp_path / "log")}
    env.pop("HALLAPP_PASSWORD", None)
    # Two at a time: the machine is shared.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: _run(c[0], env, tmp_path), cases))
    problems = []
    for (argv, code, piece), result in zip(cases, results, strict=True):
        shown = result.stdout + result.stderr
        if "Traceback" in shown or 'File "' in shown:
            problems.append(f"{argv}: a traceback on the terminal:\n{shown}")
        elif not CJK.search(result.stderr + result.stdout):
            problems.append(f"{argv}: no Chinese message:\n{shown}")
        elif result.returncode != code or piece not in shown:
            problems.append(
                f"{argv}: exit {result.returncode}, wanted {code} and {piece!r}:\n{shown}"
            )
    assert not problems, "\n\n".join(problems)


def test_an_internal_error_goes_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    # A bug (here: a subcommand that raises) shows one Chinese line naming
    # the log; the traceback is in the log.
    script = (
        "import sys\n"
        "import hallapp.cli.validate as v\n"
        "def boom(args):\n"
        "    raise ValueError('a bug, with 350825199001011230 in it')\n"
        "v._cmd_validate = boom\n"
        "from hallapp.cli import main\n"
        "sys.exit(main(['validate', 'id', '1']))\n"
    )
    log_dir = tmp_path / "log"
    env = {**os.environ, "HALLAPP_LOG_DIR": str(log_dir)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 70, result
    assert "Traceback" not in result.stdout + result.stderr
    assert "程序内部错误" in result.stderr and str(log_dir / "hallapp.log") in result.stderr
    assert "ValueError" not in result.stderr
    logged = (log_dir / "hallapp.log").read_text(encoding="utf-8")
    assert "Traceback" in logged and "ValueError: a bug" in logged
    assert "350825199001011230" not in logged and "3508**********1230" in logged


@pytest.mark.parametrize("verbose", [False, True])
def test_a_database_error_prints_no_traceback_even_verbose(tmp_path: Path, verbose: bool) -> None:
    corrupt = tmp_path / "c.sqlite3"
    corrupt.write_bytes(b"not a database" * 100)
    argv = (["-v"] if verbose else []) + ["db", "upgrade", "--db", sqlite_url(corrupt)]
    result = _run(argv, {**os.environ, "HALLAPP_LOG_DIR": str(tmp_path / "log")}, tmp_path)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr and "已损坏" in result.stderr
    assert "Traceback" in (tmp_path / "log" / "hallapp.log").read_text(encoding="utf-8")


def test_a_database_password_is_never_printed_or_logged(tmp_path: Path) -> None:
    url = "postgresql+psycopg://hall:s3cret-pg-pw@127.0.0.1:1/hall"
    good = tmp_path / "c.toml"
    good.write_text('[[departments]]\ncode = "X"\nname = "某局"\n', encoding="utf-8")
    log_dir = tmp_path / "log"
    env = {**os.environ, "HALLAPP_LOG_DIR": str(log_dir)}
    for argv in (
        ["catalog", "validate", str(good), "--db", url],
        ["db", "check", "--db", url],
        ["-v", "workdays", "add", "2026-02-13", "1", "--db", url],
        ["catalog", "search", "x", "--db", url],
    ):
        result = _run(argv, env, tmp_path)
        shown = result.stdout + result.stderr
        assert "s3cret-pg-pw" not in shown and "Traceback" not in shown, (argv, shown)
    logged = (log_dir / "hallapp.log").read_text(encoding="utf-8")
    assert "s3cret-pg-pw" not in logged and "hall:***@127.0.0.1:1/hall" in logged


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    """`hallapp … | head -1`: the command stops quietly with 141 (128 +
    SIGPIPE), not "无法读写文件或设备…检查磁盘空间" (3) or an internal error."""
    env = {**os.environ, "HALLAPP_LOG_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hallapp", "workdays", "add", "2026-01-05", "2000", "--explain",
         "--no-db"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    # 170 KB of output, more than a pipe holds: the command is still writing.
    proc.stdout.close()  # the reader goes away, as head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == "", err


@pytest.mark.parametrize("argv", [["--help"], ["projects", "step", "--help"], ["sync", "--help"]])
def test_help_is_chinese_from_the_first_word(argv, capsys):
    """The messages point to --help, which printed argparse's English
    (usage:, positional arguments, show this help message and exit)."""
    from hallapp.cli import main

    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：") and "显示本帮助并退出" in out
    for english in ("usage:", "positional arguments", "options:", "show this help"):
        assert english not in out
