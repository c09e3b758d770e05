"""What the clerk reads when something fails: a Chinese cause and what to do.

Database errors go through the one classifier (hallapp.dberrors), the same
the CLI uses; a bug never shows its exception's class name.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from hallapp.ui import errors, ops

from hallapp.store import Store, sqlite_url


def _real_lock_error(tmp_path: Path) -> BaseException:
    """The exception a window's write meets while another process holds the lock."""
    path = tmp_path / "w.sqlite3"
    Store.open(sqlite_url(path)).dispose()
    locker = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3,sys,time\n"
         "c=sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); c.execute('CREATE TABLE probe (x)')\n"
         "print('locked', flush=True); time.sleep(30)\n", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        engine = sa.create_engine(sqlite_url(path), connect_args={"timeout": 0.1})
        try:
            with engine.begin() as c:
                c.execute(sa.text("CREATE TABLE other (x)"))
        except sa.exc.OperationalError as exc:
            return exc
        finally:
            engine.dispose()
        raise AssertionError("the write was not blocked")
    finally:
        locker.kill()
        locker.wait()


def test_a_locked_database_is_named_with_advice(tmp_path: Path) -> None:
    message = errors.user_message(_real_lock_error(tmp_path), "保存评价")
    assert message.startswith("“保存评价”没有完成")
    assert "另一个程序占用" in message and "OperationalError" not in message


@pytest.mark.parametrize(
    ("exc", "piece"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/data/x.pdf"), "磁盘空间已满"),
        (PermissionError(errno.EACCES, "Permission denied", "/data/x.pdf"), "没有权限"),
        (FileNotFoundError(errno.ENOENT, "No such file", "/dev/ttyUSB0"), "找不到文件或设备"),
        (sqlite3.DatabaseError("database disk image is malformed"), "已损坏"),
        (MemoryError(), "内存不足"),
    ],
)
def test_each_class_of_failure_has_its_own_advice(exc: BaseException, piece: str) -> None:
    message = errors.user_message(exc, "打印")
    assert piece in message and type(exc).__name__ not in message


def test_a_bug_reaches_the_clerk_without_its_class_name(qtbot) -> None:
    shown: list[str] = []
    errors.set_error_sink(lambda _p, msg, _d: shown.append(msg))
    try:
        ops.run_in_background(None, lambda: int("十"), label="刷新办件列表")
        ops.wait_idle(qtbot)
    finally:
        errors.set_error_sink(None)
    assert len(shown) == 1
    assert shown[0].startswith("“刷新办件列表”没有完成：程序内部出错")
    assert "ValueError" not in shown[0] and "不会丢失" in shown[0]


def test_qt_s_own_buttons_speak_chinese(qtbot) -> None:
    """A message box's button (the supervisor's error dialog said "OK")."""
    from hallapp.ui.theme import apply_theme
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app)
    buttons = QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel
    box = QMessageBox(QMessageBox.Icon.Critical, "出错", "数据库操作失败", buttons)
    qtbot.addWidget(box)
    assert box.button(QMessageBox.StandardButton.Ok).text() == "确定"
    assert box.button(QMessageBox.StandardButton.Cancel).text() == "取消"
