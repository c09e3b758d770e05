"""Start the window client: ``hallapp-window`` / ``python -m hallapp.ui``.

    hallapp-window                      # the configured window (config file, local SQLite)
    hallapp-window --demo               # a fresh demo: sample catalog, demo staff,
                                        # the evaluator simulator on a pseudo-terminal
    hallapp-window --db PATH --config hallapp.toml

Start-up order: logging and the crash handler first (so even a failing start
is logged), then the QApplication and its CJK font, the store (migrated at
open), the citizen screen and the evaluator bridge, and the console. Demo data
are seeded in the background while the sign-in page waits.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
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
    cleanup: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Stop the devices and close the windows (idempotent)."""
        from hallapp.ui.ops import tracker

        if self.sim_panel is not None:
            self.sim_panel.close()
            self.sim_panel = None
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
) -> WindowApp:
    """The console wired to the citizen screen and the evaluator bridge (not yet shown)."""
    from hallapp.ui.citizen import CitizenScreen
    from hallapp.ui.console import ClerkConsole
    from hallapp.ui.context import WindowContext
    from hallapp.ui.evaluator_bridge import EvaluatorBridge

    ctx = WindowContext.create(store, config, printing=printing, demo=demo)
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
    bridge.start()
    # The bridge may report "connected" before the console listened.
    console._evaluator_connected(bridge.connected)
    sim_panel = None
    if (with_simulator_panel if with_simulator_panel is not None else demo) and bridge.simulator:
        from hallapp.ui.sim_panel import SimulatorPanel

        sim_panel = SimulatorPanel(bridge.simulator)
    return WindowApp(ctx=ctx, console=console, citizen=citizen, bridge=bridge, sim_panel=sim_panel)


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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)

    from hallapp.ui.errors import install_crash_handler

    from hallapp.logsetup import setup_logging

    log_file = setup_logging(verbose=args.verbose)
    install_crash_handler(log_file)
    log.info("window client starting (demo=%s)", args.demo)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "hallapp-window"])
    assert isinstance(app, QApplication)
    app.setApplicationName("HallApp")
    app.setApplicationDisplayName("政务服务大厅窗口客户端")
    _check_font(app)

    from hallapp.ui.errors import show_error

    from hallapp.config import ConfigError, load_config
    from hallapp.store import Store, StoreError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        log.error("config: %s", exc)
        show_error(None, str(exc))
        return 2

    cleanup: list[Any] = []
    try:
        if args.db:
            db_path = Path(args.db).expanduser()
        elif args.demo:
            demo_dir = Path(tempfile.mkdtemp(prefix="hallapp-demo-"))
            cleanup.append(lambda: shutil.rmtree(demo_dir, ignore_errors=True))
            db_path = demo_dir / "window-demo.sqlite3"
        else:
            db_path = config.local_db_path()
        store = Store.open_local(db_path)
        cleanup.append(store.dispose)
    except (StoreError, OSError) as exc:
        log.exception("store not opened")
        show_error(None, str(exc) if isinstance(exc, StoreError) else
                   f"无法创建数据库文件：{exc}。请检查磁盘空间和文件夹权限。")  # fmt: skip
        return 3
    log.info("local store: %s", db_path)

    window = build_window(store, config, demo=args.demo)
    window.cleanup.extend(cleanup)
    console = window.console
    if args.demo:
        console.signin.set_ready(False, "正在准备演示数据（示例事项、演示工作人员）…")
    console.showMaximized()
    if window.citizen is not None:
        from hallapp.ui.citizen import place_on_second_screen

        place_on_second_screen(window.citizen, str(config.get("ui.citizen_screen")))
    if window.sim_panel is not None:
        # Bottom right of the clerk's screen, out of the way of the forms.
        area = console.screen().availableGeometry()
        panel = window.sim_panel
        panel.adjustSize()
        panel.move(area.right() - panel.width() - 20, area.bottom() - panel.height() - 60)
        panel.show()
    console.raise_()
    console.activateWindow()
    if window.sim_panel is not None:
        window.sim_panel.raise_()  # a small tool window: keep it visible, focus stays put
    _quit_on_signals(app)
    log.info("console ready")
    if args.demo:
        # Once the windows are up: loading the catalog is the slowest part of a demo start.
        QTimer.singleShot(0, lambda: _seed_demo_in_background(window))
    try:
        rc = app.exec()
    finally:
        window.close()
    log.info("window client stopped (%s)", rc)
    return int(rc)


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


def _demo_ready(signin: Any) -> None:
    log.info("demo data ready")
    signin.set_ready(True)


def _seed_demo_in_background(window: WindowApp) -> None:
    """Load the sample catalog and demo staff while the sign-in page waits."""
    from hallapp.ui.ops import run_in_background

    from hallapp.demo import seed_demo

    signin = window.console.signin
    store = window.ctx.store
    run_in_background(
        window.console,
        lambda: seed_demo(store),
        success=lambda _summary: _demo_ready(signin),
        failure=lambda exc: signin.set_ready(False, f"演示数据准备失败：{exc}"),
        label="准备演示数据",
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
