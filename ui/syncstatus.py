"""Background sync with the central store, and its state in the status bar.

A single-shot timer starts one pass (:func:`hallapp.sync.run.sync_once`) on a
worker thread through :func:`hallapp.ui.ops.run_in_background`; the next pass
is planned when it ends, so passes never overlap. While the centre cannot be
reached the delay doubles each time, up to :data:`MAX_DELAY_S`, and returns
to the configured interval after the first success. The label shows
已同步 HH:MM, 待上传 N 条, or 中心库不可达（自 HH:MM）, in the hall's local time.

A centre can also hang without an error: a SQLite central file on a network
share that stopped answering blocks its reader inside the kernel, where no
timeout of the database's reaches it (a PostgreSQL centre is cut by the
pass's own deadline). A watchdog on the GUI thread measures the silence since
the pass started or the centre last committed a batch; past
``store.sync_stall_seconds`` the label says 中心库无响应（自 HH:MM）, the
clerk works on, and no second pass is started on top of the stuck one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hallapp.ui.ops import run_in_background
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

log = logging.getLogger(__name__)

MAX_DELAY_S = 30 * 60


@dataclass(frozen=True)
class _Outcome:
    attached: bool
    summary: Any = None  # SyncSummary
    error: BaseException | None = None
    unreachable: bool = False
    pending: int = 0


def _hhmm(when: datetime | None = None) -> str:
    # The hall's time, as on every notice, whatever zone the PC is set to.
    from hallapp.workdays import HALL_TZ

    return (when or datetime.now(HALL_TZ)).astimezone(HALL_TZ).strftime("%H:%M")


class SyncScheduler(QObject):
    """Runs sync in the background every ``interval_s`` seconds (with back-off)."""

    #: A pass pulled new reference data (staff, catalog…): the console checks
    #: that its clerk is still active.
    reference_changed = Signal()

    def __init__(
        self,
        parent: QObject,
        store: Any,
        config: Any,
        label: QLabel,
        *,
        interval_s: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.config = config
        self.label = label
        self.interval_s = max(5, int(interval_s or config.get("store.sync_interval_seconds")))
        self.failures = 0
        self.unreachable_since: datetime | None = None
        self.running = False
        self.stall_s = float(config.get("store.sync_stall_seconds"))
        self.hung_since: datetime | None = None
        self.last_pending = 0
        # Written by the worker thread (one float: no lock needed), read here.
        self._beat = time.monotonic()
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(int(max(0.5, min(self.stall_s / 4, 10.0)) * 1000))
        self._watchdog.timeout.connect(self._watch)
        self.next_delay_s: float = self.interval_s
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.sync_now)
        self.label.setText("")
        self.label.hide()

    def start(self, first_delay_s: float = 3.0) -> None:
        self._timer.start(int(first_delay_s * 1000))

    def stop(self) -> None:
        self._timer.stop()
        self._watchdog.stop()

    def sync_now(self) -> None:
        if self.running:
            return
        self.running = True
        self._beat = time.monotonic()
        self._watchdog.start()
        run_in_background(self, self._work, success=self._done,
                          failure=self._crashed, label="")

    # ------------------------------------------------------------ worker thread

    def _work(self) -> _Outcome:
        from hallapp.sync import CentreUnreachable, SyncError
        from hallapp.sync.push import pending_count
        from hallapp.sync.run import HALL_KEY, WINDOW_KEY, _state, attached_url, sync_once

        url = str(self.config.get("store.central_url")) or attached_url(self.store)
        if not url:
            return _Outcome(attached=False)
        hall = _state(self.store, HALL_KEY) or self.config.hall_code
        window = _state(self.store, WINDOW_KEY) or self.config.window_code
        try:
            return _Outcome(attached=True,
                            summary=sync_once(
                                self.store, url, hall_code=hall, window_code=window,
                                stall_seconds=self.stall_s, on_progress=self._alive))
        except SyncError as exc:
            log.warning("background sync: %s", exc)
            return _Outcome(attached=True, error=exc,
                            unreachable=isinstance(exc, CentreUnreachable),
                            pending=pending_count(self.store))

    def _alive(self) -> None:
        self._beat = time.monotonic()

    # --------------------------------------------------------------- GUI thread

    def _watch(self) -> None:
        if not self.running or self.hung_since is not None:
            return
        if time.monotonic() - self._beat < self.stall_s:
            return
        self.hung_since = datetime.now()
        log.warning("background sync: no answer from the centre for %.0f s; "
                    "the pass is still waiting", self.stall_s)
        self.label.show()
        # The last count known: counting now would read the store here, on the GUI thread.
        self.label.setText(f"中心库无响应（自 {_hhmm(self.hung_since)}）"
                           f" · 待上传 {self.last_pending} 条")
        self.label.setToolTip(
            f"中心库超过 {self.stall_s:.0f} 秒没有应答（例如中心库文件所在的共享目录无法访问）。"
            "本窗口照常工作，数据保存在本机；中心库恢复后自动继续上传"
        )
        self.label.setStyleSheet("color: #b00020;")

    def _plan(self, delay_s: float) -> None:
        self.next_delay_s = delay_s
        self._timer.start(int(delay_s * 1000))

    def _finished(self) -> None:
        self.running = False
        self.hung_since = None
        self._watchdog.stop()

    def _done(self, outcome: _Outcome) -> None:
        self._finished()
        if not outcome.attached:
            self.label.hide()
            self._plan(self.interval_s)
            return
        self.label.show()
        if outcome.error is None:
            s = outcome.summary
            self.last_pending = s.pending
            self.failures = 0
            self.unreachable_since = None
            at = _hhmm(s.finished_at)
            self.label.setText(f"已同步 {at}" if s.pending == 0
                               else f"待上传 {s.pending} 条（已同步 {at}）")
            self.label.setToolTip(s.line())
            self.label.setStyleSheet("")
            self._plan(self.interval_s)
            if s.pull.reference_changed:
                self.reference_changed.emit()
            return
        self.last_pending = outcome.pending
        self.failures += 1
        delay = min(self.interval_s * 2 ** self.failures, MAX_DELAY_S)
        if outcome.unreachable:
            if self.unreachable_since is None:
                self.unreachable_since = datetime.now()
            self.label.setText(
                f"中心库不可达（自 {_hhmm(self.unreachable_since)}）· 待上传 {outcome.pending} 条"
            )
        else:
            # Refused by the centre (a record, a schema version): the clerk
            # works on; the tooltip carries the reason for the administrator.
            self.label.setText(f"同步已停止 · 待上传 {outcome.pending} 条")
        self.label.setToolTip(str(outcome.error))
        self.label.setStyleSheet("color: #b00020;")
        self._plan(delay)

    def _crashed(self, exc: BaseException) -> None:
        # Not a SyncError: logged by ops; keep trying, slowly, never a dialog.
        self._finished()
        log.error("background sync failed: %r", exc)
        self.failures += 1
        self.label.setText("同步出错（详见日志）")
        self._plan(min(self.interval_s * 2 ** self.failures, MAX_DELAY_S))


def start_sync(console: Any, store: Any, config: Any) -> SyncScheduler:
    """Put the sync state in the console's status bar and start syncing."""
    label = QLabel("")
    console.statusBar().addPermanentWidget(label)
    scheduler = SyncScheduler(console, store, config, label)
    scheduler.reference_changed.connect(console.recheck_clerk)
    scheduler.start()
    return scheduler
