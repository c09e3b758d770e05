"""Commands that change reference data prove who is acting, and are audited.

The password comes from a real terminal (a pty: getpass reads /dev/tty) or
from HALLAPP_PASSWORD; without either, or for a clerk, the command is refused
and changes nothing.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from hallapp.models import AuditEntry, Role, ServiceItem, Staff
from hallapp.security import PermissionDenied, SignInError, authenticate_admin, hash_password
from hallapp.store import Store, sqlite_url
from tests.conftest import Reference

SAMPLE = str(resources.files("hallapp.resources") / "catalog.toml")


def _env(tmp_path: Path, password: str | None = None) -> dict[str, str]:
    env = {**os.environ, "HALLAPP_LOG_DIR": str(tmp_path / "log")}
    env.pop("HALLAPP_PASSWORD", None)
    if password is not None:
        env["HALLAPP_PASSWORD"] = password
    return env


def _hallapp(
    tmp_path: Path, *argv: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hallapp", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path, password),
        stdin=subprocess.DEVNULL,
    )


def _audit(store: Store) -> list[tuple[str, str]]:
    with store.session() as s:
        return [(e.staff_no, e.action) for e in s.scalars(sql_select(AuditEntry))]


def test_authenticate_admin(store: Store, reference: Reference) -> None:
    with store.session() as s:
        s.add(
            Staff(
                staff_no="9901",
                name="管理员",
                department_code="ZJJ",
                role=Role.ADMINISTRATOR,
                password_hash=hash_password("admin-pw-1"),
            )
        )
    with store.session() as s:
        assert authenticate_admin(s, "9001", "654321").staff_no == "9001"
        assert authenticate_admin(s, " 9901 ", "admin-pw-1").role == Role.ADMINISTRATOR
        with pytest.raises(PermissionDenied):
            authenticate_admin(s, "1001", "123456")  # a clerk, right password
        for staff_no, password in (("9001", "123456"), ("0000", "654321"), ("9001", ""), ("", "x")):
            with pytest.raises(SignInError):
                authenticate_admin(s, staff_no, password)


def test_catalog_import_without_staff_deactivates_nothing(
    tmp_path: Path, store: Store, reference: Reference
) -> None:
    one = tmp_path / "one.toml"
    one.write_text(
        '[[departments]]\ncode = "ZJJ"\nname = "连城县住房和城乡建设局"\n'
        '[[items]]\ncode = "ZJ-001"\nname = "建筑工程施工许可证核发"\ndepartment = "ZJJ"\n'
        'kind = "承诺件"\nlegal_days = 20\npromised_days = 8\n'
        'legal_basis = "《中华人民共和国建筑法》第七条"\n'
        '[[items.materials]]\nname = "申请表"\nform = "原件"\n',
        encoding="utf-8",
    )
    url = str(store.engine.url.render_as_string(hide_password=False))
    refused = [
        ([], None, "--staff"),
        (["--staff", "9001"], None, "HALLAPP_PASSWORD"),  # no terminal, no variable
        (["--staff", "9001"], "wrong-password", "工号或密码不正确"),
        (["--staff", "1001"], "123456", "只有监督管理人员或系统管理员"),
    ]
    for extra, password, piece in refused:
        result = _hallapp(
            tmp_path, "catalog", "import", str(one), "--deactivate-missing", "--db", url, *extra,
            password=password,
        )  # fmt: skip
        assert result.returncode == 4, (extra, result)
        assert piece in result.stderr and "Traceback" not in result.stderr
    with store.session() as s:
        assert s.get(ServiceItem, "RS-009").active  # type: ignore[union-attr]
    assert _audit(store) == []

    done = _hallapp(
        tmp_path, "catalog", "import", str(one), "--deactivate-missing", "--db", url,
        "--staff", "9001", password="654321",
    )  # fmt: skip
    assert done.returncode == 0, done
    with store.session() as s:
        assert not s.get(ServiceItem, "RS-009").active  # type: ignore[union-attr]
    assert _audit(store) == [("9001", "catalog.import")]


def _run_on_a_terminal(argv: list[str], env: dict[str, str], typed: str) -> tuple[int, str]:
    """Run ``hallapp argv`` with a pty as its controlling terminal; type at the prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        os.execve(sys.executable, [sys.executable, "-m", "hallapp", *argv], env)
    output = b""
    typed_yet = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not typed_yet and "密码：".encode() in output:
            os.write(fd, typed.encode() + b"\n")
            typed_yet = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", errors="replace")


def test_the_password_is_asked_on_the_terminal_and_not_echoed(
    tmp_path: Path, store: Store, reference: Reference
) -> None:
    url = str(store.engine.url.render_as_string(hide_password=False))
    env = _env(tmp_path)
    argv = ["catalog", "import", SAMPLE, "--db", url, "--staff", "9001"]
    code, shown = _run_on_a_terminal(argv, env, "not-the-password")
    assert code == 4 and "工号 9001 的密码" in shown and "工号或密码不正确" in shown, shown
    assert "not-the-password" not in shown  # getpass turned echo off
    code, shown = _run_on_a_terminal(argv, env, "654321")
    assert code == 0, shown
    assert "654321" not in shown and "Traceback" not in shown
    assert _audit(store) == [("9001", "catalog.import")]


def test_seed_demo_marks_a_new_database_and_refuses_a_halls_own(
    tmp_path: Path, store: Store, reference: Reference
) -> None:
    hall_url = str(store.engine.url.render_as_string(hide_password=False))
    refused = _hallapp(tmp_path, "db", "seed-demo", "--db", hall_url, "--staff", "9001",
                       password="654321")  # fmt: skip
    assert refused.returncode == 4 and "不是演示数据库" in refused.stderr
    with store.session() as s:
        assert s.scalars(sql_select(Staff.staff_no).order_by(Staff.staff_no)).all() == [
            "1001",
            "9001",
        ]
    assert _audit(store) == []

    demo = Store.open(sqlite_url(tmp_path / "demo.sqlite3"))
    demo_url = sqlite_url(tmp_path / "demo.sqlite3")
    first = _hallapp(tmp_path, "db", "seed-demo", "--db", demo_url)
    assert first.returncode == 0, first
    assert _audit(demo) == [("", "demo.mark")]
    again = _hallapp(tmp_path, "db", "seed-demo", "--db", demo_url, "--staff", "9901",
                     password="123456")  # fmt: skip
    assert again.returncode == 0 and "未作更改" in again.stdout, again
    assert _audit(demo) == [("", "demo.mark"), ("9901", "demo.seed")]
    demo.dispose()
