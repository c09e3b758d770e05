"""Start the window client: ``hallapp-window`` / ``python -m hallapp.ui``.

    hallapp-window                      # the configured window (config file, local SQLite)
    hallapp-window --demo               # a fresh demo: sample catalog, demo staff,
                                        # the evaluator simulator on a pseudo-terminal
    hallapp-window --db PATH --config hallapp.toml

Start-up order: logging and the crash handler first (so even a failing start
is logged), then the QApplication and its CJK font, the store (migrated at
open), the citizen screen and the evaluator bridge, and the console.

Demo mode creates, migrates and seeds its fresh database in a child process
(``python -m hallapp db seed-demo``) started before Qt is even imported: it
runs on the other core while the windows are built, and the catalog import's
pypinyin, Alembic and the TOML parsing never enter the client's memory
(about 80 MB of a 230 MB client). The client opens the database without
migrating; the evaluator bridge (whose first act is a query) and the keypad
simulator start, and sign-in is enabled, once the child has finished.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    from hallapp.cli import help_in_chinese

    help_in_chinese()
    p = argparse.ArgumentParser(
        prog="hallapp-window",
        description="政务服务大厅窗口客户端（工作人员工作台 + 群众评价屏）",
    )
    p.add_argument(
        "--config", metavar="FILE", help="配置文件（TOML），默认使用用户配置目录中的 hallapp.toml"
    )
    p.add_argument("--demo", action="store_true",
                   help="演示模式：临时数据库、示例事项和演示工作人员、模拟评价器")  # fmt: skip
    p.add_argument(
        "--db", metavar="PATH", help="本地 SQLite 数据库文件（默认见配置 store.local_path）"
    )
    p.add_argument("--verbose", action="store_true", help="日志记录调试信息")
    return p


@dataclass
class WindowApp:
    """Everything main() builds; tests build the same through :func:`build_window`."""

    ctx: Any  # WindowContext
    console: Any  # ClerkConsole
    citizen: Any | None = None  # CitizenScreen
    bridge: Any | None = None  # EvaluatorBridge
    sim_panel: Any | None = None  # SimulatorPanel (demo only)
    sync: Any | None = None  # SyncScheduler (hallapp.ui.syncstatus)
    cleanup: list[Any] = field(default_factory=list)
    demo: bool = False
    _devices_started: bool = field(default=False, repr=False)

    def start_devices(self, *, with_simulator_panel: bool | None = None) -> None:
        """Start the evaluator bridge (and, in demo mode, the keypad simulator's panel).

        The bridge's first act is a query: call this once the database is migrated.
        """
        if self.bridge is None or self._devices_started:
            return
        self._devices_started = True
        self.bridge.start()
        # The bridge may report "connected" before the console listened.
        self.console._evaluator_connected(self.bridge.connected)
        wanted = with_simulator_panel if with_simulator_panel is not None else self.demo
        if wanted and self.bridge.simulator and self.sim_panel is None:
            from hallapp.ui.sim_panel import SimulatorPanel

            self.sim_panel = SimulatorPanel(self.bridge.simulator)

    def close(self) -> None:
        """Stop the devices and close the windows (idempotent)."""
        from hallapp.ui.ops import tracker

        if self.sim_panel is not None:
            self.sim_panel.close()
            self.sim_panel = None
        if self.sync is not None:
            self.sync.stop()
        self.console.close()  # stops the bridge and closes the citizen screen
        tracker().pool.waitForDone(10_000)
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception:
                log.exception("clean-up step failed")
        self.cleanup.clear()


def build_window(
    store: Any,
    config: Any,
    *,
    demo: bool = False,
    printing: Any | None = None,
    citizen_mode: str | None = None,
    with_simulator_panel: bool | None = None,
    start_devices: bool = True,
    demo_kept: bool = False,
) -> WindowApp:
    """The console wired to the citizen screen and the evaluator bridge (not yet shown).

    ``start_devices=False`` leaves the bridge stopped until
    :meth:`WindowApp.start_devices` (the database is still being prepared).
    """
    from hallapp.ui.citizen import CitizenScreen
    from hallapp.ui.console import ClerkConsole
    from hallapp.ui.context import WindowContext
    from hallapp.ui.evaluator_bridge import EvaluatorBridge

    ctx = WindowContext.create(store, config, printing=printing, demo=demo)
    ctx.demo_kept = demo_kept
    mode = citizen_mode or str(config.get("ui.citizen_screen"))
    citizen = None
    if mode != "off":
        citizen = CitizenScreen(
            hall_name=config.hall_name,
            window_code=config.window_code,
            complaint_hotline=config.complaint_hotline,
        )
    bridge = EvaluatorBridge(store, config, citizen, demo=demo)
    console = ClerkConsole(ctx, bridge=bridge, citizen=citizen)
    window = WindowApp(ctx=ctx, console=console, citizen=citizen, bridge=bridge, demo=demo)
    if not demo:
        from hallapp.ui.syncstatus import start_sync

        window.sync = start_sync(console, store, config)
    if start_devices:
        window.start_devices(with_simulator_panel=with_simulator_panel)
    from hallapp.ui.interpreter import freeze_long_lived

    # Everything built so far lives as long as the window: keep it out of full collections.
    freeze_long_lived()
    return window


def _check_font(app: Any) -> str | None:
    from hallapp.ui.errors import show_error
    from hallapp.ui.theme import apply_theme

    family = apply_theme(app)
    if family is None:
        show_error(
            None,
            "系统中没有可显示中文的字体，界面文字会显示为方框。\n"
            "请安装中文字体（Linux：fonts-wqy-microhei 或 fonts-noto-cjk；"
            "Windows 自带微软雅黑）后重新打开程序。",
        )
    return family


def lighten_pyside_import_hook() -> bool:
    """Stop PySide6's import hook from keeping the source of every module in memory.

    Once PySide6 is loaded, each module imported afterwards passes through
    ``shibokensupport.feature.feature_imported``, which asks whether the module's
    source mentions "PySide6" (for ``from __feature__ import ...``) through
    ``inspect.getsource``: that reads the whole file into ``linecache`` and keeps
    it. For this client (SQLAlchemy, the domain, the console) that is about 25 MB
    of source lines held for the life of the process, and the reading costs
    start-up time. The replacement answers the same question from the file's
    bytes and caches nothing. Returns False (and changes nothing) when this
    PySide6 does not have the hook as expected.
    """
    try:
        import PySide6  # noqa: F401  (loads shibokensupport)
        from shibokensupport import feature  # type: ignore[import-not-found]
    except ImportError:
        return False
    if not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    if getattr(feature._mod_uses_pyside, "_hallapp", False):
        return True

    def mod_uses_pyside(module: object) -> bool:
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
        if not isinstance(origin, str) or not origin.endswith(".py"):
            return False  # built-in, extension or source-less: as PySide answers
        try:
            with open(origin, "rb") as f:
                return b"PySide6" in f.read()
        except OSError:
            return False

    mod_uses_pyside._hallapp = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)

    from hallapp.ui.errors import install_crash_handler

    from hallapp.logsetup import setup_logging

    log_file = setup_logging(verbose=args.verbose)
    install_crash_handler(log_file)
    log.info("window client starting (demo=%s)", args.demo)

    cleanup: list[Any] = []
    seeding: DemoSeeding | None = None
    demo_db: Path | None = None
    demo_error: OSError | None = None
    if args.demo:
        # First of all: the child prepares the database while Qt loads here.
        try:
            if args.db:
                demo_db = Path(args.db).expanduser()
            else:
                demo_dir = Path(tempfile.mkdtemp(prefix="hallapp-demo-"))
                cleanup.append(lambda: shutil.rmtree(demo_dir, ignore_errors=True))
                demo_db = demo_dir / "window-demo.sqlite3"
            demo_db.parent.mkdir(parents=True, exist_ok=True)
            seeding = DemoSeeding.start(demo_db)
            cleanup.append(seeding.stop)
        except OSError as exc:
            # Shown once Qt is up (below); the store cannot open either.
            log.exception("demo database not prepared")
            demo_error = exc

    lighten_pyside_import_hook()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "hallapp-window"])
    assert isinstance(app, QApplication)
    app.setApplicationName("HallApp")
    app.setApplicationDisplayName("政务服务大厅窗口客户端")
    _check_font(app)

    from hallapp.ui.errors import show_error

    from hallapp.config import ConfigError, load_config
    from hallapp.store import Store, StoreError, sqlite_url

    def run_cleanup() -> None:
        for fn in reversed(cleanup):
            fn()

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        log.error("config: %s", exc)
        show_error(None, str(exc))
        run_cleanup()
        return 2

    try:
        if args.demo:
            if demo_error is not None:
                raise demo_error
            assert demo_db is not None
            db_path = demo_db
            # The child migrates it; nothing here touches the database before it is done.
            store = Store.open(sqlite_url(db_path), run_migrations=False)
        else:
            db_path = Path(args.db).expanduser() if args.db else config.local_db_path()
            store = Store.open_local(db_path)
            from hallapp.sync.run import with_hall_settings

            # The hall-wide settings authored at the centre (last pulled).
            config = with_hall_settings(config, store)
        cleanup.append(store.dispose)
    except (StoreError, OSError) as exc:
        log.exception("store not opened")
        from hallapp.ui.errors import user_message

        show_error(None, str(exc) if isinstance(exc, StoreError) else
                   user_message(exc, "建立本窗口数据库"))  # fmt: skip
        run_cleanup()
        return 3
    log.info("local store: %s", db_path)

    window = build_window(
        store, config, demo=args.demo, start_devices=seeding is None,
        demo_kept=args.demo and bool(args.db),
    )  # fmt: skip
    window.cleanup.extend(cleanup)
    console = window.console
    if seeding is not None:
        console.signin.set_ready(False, "正在准备演示数据（示例事项、演示工作人员）…")
    console.showMaximized()
    if window.citizen is not None:
        from hallapp.ui.citizen import place_on_second_screen

        place_on_second_screen(window.citizen, str(config.get("ui.citizen_screen")))
    _show_sim_panel(window)
    console.raise_()
    console.activateWindow()
    _quit_on_signals(app)
    from hallapp.ui.interpreter import prefer_gui_thread
    from PySide6.QtCore import QTimer

    # Once the console is on screen (the first turn of the event loop): until
    # then the GUI thread does the work and gains nothing from short GIL rounds.
    QTimer.singleShot(0, prefer_gui_thread)
    log.info("console ready")
    if seeding is not None:
        _await_demo_seeding(window, seeding)
    try:
        rc = app.exec()
    finally:
        window.close()
    log.info("window client stopped (%s)", rc)
    return int(rc)


def _show_sim_panel(window: WindowApp) -> None:
    """Bottom right of the clerk's screen, out of the way of the forms."""
    panel = window.sim_panel
    if panel is None or panel.isVisible():
        return
    area = window.console.screen().availableGeometry()
    panel.adjustSize()
    panel.move(area.right() - panel.width() - 20, area.bottom() - panel.height() - 60)
    panel.show()
    panel.raise_()  # a small tool window: keep it visible, focus stays put


def _quit_on_signals(app: Any) -> None:
    """Ctrl+C in a terminal or SIGTERM (a shutdown) closes the windows cleanly."""
    import signal

    from PySide6.QtCore import QTimer

    def quit_app(signum: int, _frame: object) -> None:
        log.info("signal %d: closing", signum)
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, quit_app)
    # Python handles signals only when it runs: a light timer gives it the chance.
    ticker = QTimer(app)
    ticker.setInterval(300)
    ticker.timeout.connect(lambda: None)
    ticker.start()


class DemoSeedError(Exception):
    """The child process could not prepare the demo database (message in Chinese)."""


@dataclass
class DemoSeeding:
    """``python -m hallapp db seed-demo`` preparing the demo database in a child process."""

    db_path: Path
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, db_path: Path) -> DemoSeeding:
        # The URL as hallapp.store.sqlite_url spells it (importing the store
        # here would load SQLAlchemy before Qt, on the critical path).
        # Re-seeding a demo database is an administrative command like any
        # other: it signs in as the demo administrator (resources/demo.toml).
        command = [sys.executable, "-m", "hallapp", "db", "seed-demo",
                   "--db", f"sqlite:///{db_path}", "--staff", "9901"]  # fmt: skip
        log.info("demo: seeding %s in a child process", db_path)
        process = subprocess.Popen(
            command,
            env={**os.environ, "HALLAPP_PASSWORD": "123456"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        return cls(db_path=db_path, process=process)

    def wait(self) -> str:
        """Block until the child is done (background only); its summary, or DemoSeedError."""
        out, err = self.process.communicate()
        if self.process.returncode != 0:
            log.error("demo seeding exited with %s:\n%s%s", self.process.returncode, out, err)
            # The command's own message (Chinese) is its last line; a traceback,
            # if any, comes before it and goes to the log only.
            lines = [x.strip() for x in err.splitlines() if x.strip()]
            detail = lines[-1] if lines else f"退出码 {self.process.returncode}"
            raise DemoSeedError(
                detail if "日志" in detail else f"{detail.rstrip('。')}。详细信息见日志。"
            )
        log.info("demo seeding done: %s", out.strip().replace("\n", " | "))
        return out

    def stop(self) -> None:
        """At exit: end a child still running (its database is thrown away anyway)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def _await_demo_seeding(window: WindowApp, seeding: DemoSeeding) -> None:
    """Enable sign-in and start the devices once the child has prepared the database."""
    from hallapp.ui.ops import run_in_background

    signin = window.console.signin

    def ready(_summary: str) -> None:
        log.info("demo data ready")
        window.start_devices()
        _show_sim_panel(window)
        signin.set_ready(True)

    run_in_background(
        window.console,
        seeding.wait,
        success=ready,
        failure=lambda exc: signin.set_ready(False, f"演示数据准备失败：{exc}", failed=True),
        label="准备演示数据",
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
