"""Background sync in the client: off the GUI thread, its state in the status bar,
back-off while the centre is unreachable, 已同步 again when it returns."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from hallapp.ui.syncstatus import SyncScheduler
from PySide6.QtWidgets import QLabel, QWidget

from hallapp.config import parse_config
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import init_central
from hallapp.sync.run import attach

_KEEP: list[QWidget] = []  # the parents must outlive each test's scheduler


def _scheduler(qtbot, tmp_path: Path, central_url: str) -> tuple[SyncScheduler, QLabel, Store]:
    store = Store.open(sqlite_url(tmp_path / "window.sqlite3"))
    attach(store, central_url, "LC", "A03")
    parent = QWidget()
    qtbot.addWidget(parent)
    label = QLabel()
    cfg = parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"},
                        "store": {"sync_interval_seconds": 5}})
    scheduler = SyncScheduler(parent, store, cfg, label)
    _KEEP.append(parent)
    return scheduler, label, store


def test_sync_runs_off_the_gui_thread_and_shows_synced(qtbot, tmp_path: Path) -> None:
    central = sqlite_url(tmp_path / "central.sqlite3")
    init_central(central)
    scheduler, label, store = _scheduler(qtbot, tmp_path, central)
    threads: list[bool] = []
    original = scheduler._work

    def spy():
        threads.append(threading.current_thread() is threading.main_thread())
        return original()

    scheduler._work = spy  # type: ignore[method-assign]
    try:
        scheduler.sync_now()
        qtbot.waitUntil(lambda: label.text().startswith("已同步 "), timeout=20_000)
        assert threads == [False]
        assert scheduler.next_delay_s == 5
    finally:
        scheduler.stop()
        store.dispose()


def test_an_unreachable_centre_backs_off_and_says_since_when(qtbot, tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback: the connection is refused.
    scheduler, label, store = _scheduler(
        qtbot, tmp_path, "postgresql+psycopg://hall@127.0.0.1:9/central?connect_timeout=3"
    )
    try:
        scheduler.sync_now()
        qtbot.waitUntil(lambda: label.text().startswith("中心库不可达（自 "), timeout=20_000)
        assert "待上传 0 条" in label.text()
        assert scheduler.next_delay_s == 10
        scheduler.stop()
        scheduler.sync_now()
        qtbot.waitUntil(lambda: scheduler.failures == 2, timeout=20_000)
        assert scheduler.next_delay_s == 20
        since = label.text()
        assert since.startswith("中心库不可达（自 ")
    finally:
        scheduler.stop()
        store.dispose()


def test_after_the_centre_returns_the_interval_is_back(qtbot, tmp_path: Path) -> None:
    central = sqlite_url(tmp_path / "central.sqlite3")
    scheduler, label, store = _scheduler(qtbot, tmp_path, central)
    try:
        scheduler.sync_now()  # not a central store yet: refused, not unreachable
        qtbot.waitUntil(lambda: scheduler.failures == 1, timeout=20_000)
        assert "同步已停止" in label.text() and "central init" in label.toolTip()
        scheduler.stop()
        init_central(central)
        scheduler.sync_now()
        qtbot.waitUntil(lambda: label.text().startswith("已同步 "), timeout=20_000)
        assert scheduler.failures == 0 and scheduler.next_delay_s == 5
    finally:
        scheduler.stop()
        store.dispose()


def test_a_centre_that_stops_answering_is_shown_and_the_pass_goes_on_after(
    qtbot, tmp_path: Path
) -> None:
    # A SQLite central file whose writer never lets go stands for a share
    # that stopped answering: the pass waits with no error to report.
    from tests.sync.conftest import make_window

    central = sqlite_url(tmp_path / "central.sqlite3")
    init_central(central)
    window = make_window(tmp_path / "window.sqlite3")
    window.new_case()
    window.store.dispose()
    store = Store.open(sqlite_url(tmp_path / "window.sqlite3"))
    attach(store, central, "LC", "A03")
    parent = QWidget()
    qtbot.addWidget(parent)
    _KEEP.append(parent)
    label = QLabel()
    cfg = parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"},
                        "store": {"sync_interval_seconds": 5, "sync_stall_seconds": 5}})
    scheduler = SyncScheduler(parent, store, cfg, label)
    holder = sqlite3.connect(tmp_path / "central.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        scheduler.sync_now()
        qtbot.waitUntil(lambda: label.text().startswith("中心库无响应（自 "), timeout=9_000)
        assert scheduler.running and "照常工作" in label.toolTip()
        scheduler.sync_now()  # no second pass on top of the waiting one
        holder.execute("ROLLBACK")
        qtbot.waitUntil(lambda: label.text().startswith("已同步 "), timeout=20_000)
        assert scheduler.hung_since is None and not scheduler.running
        with Store.open(central).engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM evaluations").scalar() == 1
    finally:
        holder.close()
        scheduler.stop()
        store.dispose()


def test_a_pass_that_pulled_reference_data_says_so(qtbot, tmp_path: Path) -> None:
    """The console rechecks its clerk on this signal (a staff member disabled
    at the centre leaves duty: tests/ui/test_console.py)."""
    from sqlalchemy import create_engine

    from hallapp.sync.centre import bump_version

    central = sqlite_url(tmp_path / "central.sqlite3")
    init_central(central)
    scheduler, _label, store = _scheduler(qtbot, tmp_path, central)
    changed: list[bool] = []
    scheduler.reference_changed.connect(lambda: changed.append(True))
    try:
        scheduler.sync_now()
        qtbot.waitUntil(lambda: not scheduler.running, timeout=20_000)
        first = len(changed)
        scheduler.sync_now()  # nothing new at the centre: no signal
        qtbot.waitUntil(lambda: not scheduler.running, timeout=20_000)
        assert len(changed) == first
        engine = create_engine(central)
        with engine.begin() as c:
            bump_version(c, "LC")
        engine.dispose()
        scheduler.sync_now()
        qtbot.waitUntil(lambda: len(changed) == first + 1, timeout=20_000)
    finally:
        scheduler.stop()
        store.dispose()


def test_status_times_are_the_halls_as_on_the_notices(monkeypatch) -> None:
    """A PC left on UTC must not show 06:13 where the notice says 14:13."""
    import time
    from datetime import UTC, datetime

    from hallapp.ui.syncstatus import _hhmm

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert _hhmm(datetime(2026, 12, 2, 6, 13, tzinfo=UTC)) == "14:13"
    finally:
        monkeypatch.undo()
        time.tzset()
