"""How the window client starts: demo data prepared in a child process, no source kept in memory.

Each test runs the client in a fresh interpreter: what is imported, and what
PySide6's import hook keeps, depends on everything imported before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str, tmp_path: Path, timeout: float = 120) -> dict[str, object]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    (tmp_path / "hallapp.toml").write_text('[window]\ncode = "A03"\n', encoding="utf-8")
    env["HALLAPP_CONFIG"] = str(tmp_path / "hallapp.toml")
    env["HALLAPP_LOG_DIR"] = str(tmp_path / "log")
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(line[len("RESULT ") :])
    return result


def test_pyside_import_hook_keeps_no_source(tmp_path: Path) -> None:
    (tmp_path / "uses_qt.py").write_text("from PySide6 import QtCore\n", encoding="utf-8")
    (tmp_path / "plain_module.py").write_text("VALUE = 1\n", encoding="utf-8")
    result = _run(
        """
        import json, linecache
        import PySide6.QtCore
        from hallapp.ui.app import lighten_pyside_import_hook
        from shibokensupport import feature

        ok = lighten_pyside_import_hook()
        import sqlalchemy.orm
        import uses_qt, plain_module
        full = [k for k, v in linecache.cache.items()
                if len(v) > 1 and k.endswith(".py") and "sqlalchemy" in k]
        print("RESULT " + json.dumps({
            "ok": ok,
            "again": lighten_pyside_import_hook(),
            "cached_sqlalchemy_files": len(full),
            "sqlalchemy_flag": feature.pyside_feature_dict.get("sqlalchemy"),
            "uses_qt_flag": feature.pyside_feature_dict.get("uses_qt"),
            "plain_flag": feature.pyside_feature_dict.get("plain_module"),
        }))
        """,
        tmp_path,
    )
    assert result["ok"] is True and result["again"] is True
    assert result["cached_sqlalchemy_files"] == 0
    # PySide still tells modules that use it (0) from those that do not (-1).
    assert result["sqlalchemy_flag"] == -1
    assert result["plain_flag"] == -1
    assert result["uses_qt_flag"] == 0


def test_demo_start_seeds_in_a_child_process(tmp_path: Path) -> None:
    """A sign-in typed early goes through once the child seeded; pypinyin and Alembic never
    load here."""
    result = _run(
        """
        import json, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        app = QApplication([sys.argv[0]])
        seen = {}

        def check():
            consoles = [w for w in app.topLevelWidgets() if type(w).__name__ == "ClerkConsole"]
            if not consoles:
                return
            console = consoles[0]
            poll.stop()
            # The clerk types at once and presses Enter while the data is
            # still being prepared: the sign-in goes through when it is ready.
            seen["disabled_at_first"] = not console.signin.button.isEnabled()
            console.signin.staff_no.setText("1003")
            console.signin.password.setText("123456")
            console.signin.submit()
            seen["early_message"] = console.signin.message.text()
            seen["early_style"] = console.signin.message.objectName()  # grey, not red
            waiting.start()

        def signed_in():
            console = [w for w in app.topLevelWidgets() if type(w).__name__ == "ClerkConsole"][0]
            if console.ctx.clerk is None:
                return
            waiting.stop()
            seen["clerk"] = console.ctx.clerk.staff_no
            seen["loaded"] = sorted(
                m for m in ("pypinyin", "alembic", "openpyxl", "yaml", "reportlab")
                if m in sys.modules
            )
            import gc
            seen["frozen"] = gc.get_freeze_count()
            seen["switch_interval"] = sys.getswitchinterval()
            app.quit()

        poll = QTimer(); poll.setInterval(20); poll.timeout.connect(check); poll.start()
        waiting = QTimer(); waiting.setInterval(20); waiting.timeout.connect(signed_in)
        QTimer.singleShot(60_000, app.quit)
        from hallapp.ui.app import main
        rc = main(["--demo"])
        print("RESULT " + json.dumps({"rc": rc, **seen}))
        """,
        tmp_path,
    )
    assert result["rc"] == 0
    assert result["disabled_at_first"] is True
    assert "自动登录" in str(result["early_message"])
    assert result["early_style"] == "hint"
    assert result["clerk"] == "1003"
    # reportlab too: documents are laid out in the document process.
    assert result["loaded"] == []
    # The interpreter is tuned for the GUI thread (hallapp.ui.interpreter): the
    # objects of start-up are out of the collector's walks, GIL rounds are short.
    assert int(result["frozen"]) > 50_000  # type: ignore[call-overload]
    assert result["switch_interval"] == 0.001


def test_demo_seeding_failure_is_said_in_chinese(tmp_path: Path) -> None:
    """A database that cannot be created: sign-in stays closed, with the reason."""
    (tmp_path / "taken.sqlite3").mkdir()  # a folder where the database file should go
    result = _run(
        f"""
        import json, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        app = QApplication([sys.argv[0]])
        seen = {{}}

        def check():
            consoles = [w for w in app.topLevelWidgets() if type(w).__name__ == "ClerkConsole"]
            if consoles and "失败" in consoles[0].signin.message.text():
                seen["message"] = consoles[0].signin.message.text()
                seen["enabled"] = consoles[0].signin.button.isEnabled()
                app.quit()

        poll = QTimer(); poll.setInterval(20); poll.timeout.connect(check); poll.start()
        QTimer.singleShot(60_000, app.quit)
        from hallapp.ui.app import main
        rc = main(["--demo", "--db", {str(tmp_path / "taken.sqlite3")!r}])
        print("RESULT " + json.dumps({{"rc": rc, **seen}}))
        """,
        tmp_path,
    )
    assert result["enabled"] is False
    message = str(result["message"])
    assert message.startswith("演示数据准备失败：数据库")
    assert "Traceback" not in message and "sqlalchemy" not in message
