"""The one background helper for every slow call: database, printing, serial, sync.

Usage (Anki's CollectionOp, reduced to a function)::

    from hallapp.ui.ops import run_in_background

    run_in_background(
        self,                                   # the widget that asked (the parent)
        lambda: intake.window_cases(),          # runs on a worker thread
        success=self._show_cases,               # runs on the GUI thread with the result
        failure=None,                           # default: show_error(parent, ...) + log
        label="刷新办件列表",
    )

WARNING: ``fn`` runs on a worker thread of a QThreadPool. It must never touch
a widget, a QPixmap or any other GUI object, and must not keep SQLAlchemy
objects beyond its own session: return plain values (the domain's *View
dataclasses, bytes, str). ``success`` and ``failure`` always run on the GUI
thread, and only while ``parent`` is still alive (a dialog closed meanwhile
just drops the result, after logging it).

Tests wait for every op to end with :func:`wait_idle` (or the ``idle`` signal
of :func:`tracker`); nothing here blocks the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
SuccessFn = Callable[[Any], None]
FailureFn = Callable[[BaseException], None]

# A handful of workers: SQLite serialises writers itself (BEGIN IMMEDIATE), and
# the printer, the database and the evaluator each want their own thread so a
# slow printer never delays a database read.
MAX_WORKERS = 4
#: A success callback (GUI thread) slower than this is logged as a warning.
SLOW_CALLBACK_S = 0.03


class _Delivered(QEvent):
    """An op's outcome, posted to the GUI thread (a posted event, not a signal emit)."""

    TYPE = QEvent.Type(QEvent.registerEventType())

    def __init__(self, result: object, exc: BaseException | None, tb: str) -> None:
        super().__init__(self.TYPE)
        self.result = result
        self.exc = exc
        self.tb = tb


class _Relay(QObject):
    """Lives on the GUI thread; the worker posts its outcome here.

    Results travel as posted events rather than queued signals: Qt hands a
    posted event to the receiver's thread just the same, and PySide6 6.12.0 on
    Python 3.11 loses a reference to ``True`` on every Python-side ``emit``
    (a long-running client would die with "bool_dealloc"); pyproject.toml
    pins PySide6 below 6.12 and tests/ui/test_pyside_sanity.py guards it.
    """

    def __init__(self, op: Op) -> None:
        super().__init__()
        self._op = op

    def post(self, result: object, exc: BaseException | None = None, tb: str = "") -> None:
        QCoreApplication.postEvent(self, _Delivered(result, exc, tb))

    def event(self, event: QEvent) -> bool:
        if isinstance(event, _Delivered):
            if event.exc is None:
                self._op._deliver_success(event.result)
            else:
                self._op._deliver_failure(event.exc, event.tb)
            return True
        return super().event(event)


class _Runnable(QRunnable):
    def __init__(self, op: Op) -> None:
        super().__init__()
        self._op = op
        self.setAutoDelete(True)

    def run(self) -> None:
        op = self._op
        started = time.perf_counter()
        try:
            result = op.fn()
        except BaseException as exc:
            tb = traceback.format_exc()
            op.elapsed = time.perf_counter() - started
            op.relay.post(None, exc, tb)
        else:
            op.elapsed = time.perf_counter() - started
            op.relay.post(result)


class Op:
    """One background call; keep it if you want to know when it is done (``done``)."""

    _ids = itertools.count(1)

    def __init__(
        self,
        parent: QObject | None,
        fn: Callable[[], Any],
        success: SuccessFn | None,
        failure: FailureFn | None,
        label: str,
    ) -> None:
        self.id = next(self._ids)
        self.parent = parent
        self.fn = fn
        self.success = success
        self.failure = failure
        self.label = label or getattr(fn, "__name__", "后台操作")
        self.done = False
        self.elapsed = 0.0
        self.relay = _Relay(self)

    def deliver(self, result: object) -> None:
        """For :func:`track`: the outcome arrived (GUI thread only)."""
        if not self.done:
            self._deliver_success(result)

    def fail(self, exc: BaseException) -> None:
        """For :func:`track`: the work failed (GUI thread only)."""
        if not self.done:
            self._deliver_failure(exc, "".join(traceback.format_exception(exc)))

    def drop(self) -> None:
        """For :func:`track`: end it without an outcome (the program is closing)."""
        if not self.done:
            log.info("op %d %s: dropped", self.id, self.label)
            self._finish()

    def _parent_alive(self) -> bool:
        return self.parent is None or shiboken6.isValid(self.parent)

    def _deliver_success(self, result: object) -> None:
        log.debug("op %d %s: done in %.3f s", self.id, self.label, self.elapsed)
        try:
            if self.success is not None and self._parent_alive():
                started = time.perf_counter()
                self.success(result)
                spent = time.perf_counter() - started
                if spent > SLOW_CALLBACK_S:
                    # The GUI thread was busy this long: the clerk saw a stutter.
                    log.warning("op %d %s: showing the result took %.0f ms on the GUI thread",
                                self.id, self.label, 1000 * spent)  # fmt: skip
        except Exception as exc:
            # A bug in a GUI callback: report it like any failure, never lose it.
            self._report(exc, traceback.format_exc())
        finally:
            self._finish()

    def _deliver_failure(self, exc: BaseException, tb: str) -> None:
        try:
            self._report(exc, tb)
        finally:
            self._finish()

    def _report(self, exc: BaseException, tb: str) -> None:
        from hallapp.ui.errors import is_expected, show_error, user_message

        if is_expected(exc):
            log.warning("op %d %s refused: %s", self.id, self.label, exc)
        else:
            log.error("op %d %s failed:\n%s", self.id, self.label, tb)
        if not self._parent_alive():
            return
        if self.failure is not None:
            self.failure(exc)
            return
        from PySide6.QtWidgets import QWidget

        widget = self.parent if isinstance(self.parent, QWidget) else None
        show_error(widget, user_message(exc, self.label), detail=None, logged=True)

    def _finish(self) -> None:
        self.done = True
        _tracker()._remove(self)


class OpsTracker(QObject):
    """Counts running ops; ``idle`` fires when the last one has delivered its result."""

    # Emitted only when the pool goes from idle to busy and back, not per op.
    idle = Signal()
    busy_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(MAX_WORKERS)
        self._running: dict[int, Op] = {}

    def pending(self) -> int:
        return len(self._running)

    def labels(self) -> list[str]:
        return [op.label for op in self._running.values()]

    def _add(self, op: Op) -> None:
        was_idle = not self._running
        self._running[op.id] = op
        if was_idle:
            self.busy_changed.emit(True)

    def _remove(self, op: Op) -> None:
        if self._running.pop(op.id, None) is None:
            return
        if not self._running:
            self.busy_changed.emit(False)
            self.idle.emit()


_the_tracker: OpsTracker | None = None


def _tracker() -> OpsTracker:
    global _the_tracker
    if _the_tracker is None or not shiboken6.isValid(_the_tracker):
        _the_tracker = OpsTracker()
    return _the_tracker


def tracker() -> OpsTracker:
    """The process-wide tracker (create it on the GUI thread, e.g. in main())."""
    return _tracker()


def run_in_background(
    parent: QObject | None,
    fn: Callable[[], T],
    *,
    success: Callable[[T], None] | None = None,
    failure: FailureFn | None = None,
    label: str = "",
) -> Op:
    """Run ``fn()`` on a worker thread; deliver its result or exception on the GUI thread.

    ``fn`` must not touch any widget (see the module docstring). Without
    ``failure`` an error shows as a Chinese message box on ``parent``; the full
    record always goes to the log. Call this from the GUI thread only.
    """
    t = _tracker()
    op = Op(parent, fn, success, failure, label)
    t._add(op)
    t.pool.start(_Runnable(op))
    return op


def track(
    parent: QObject | None,
    *,
    success: Callable[[Any], None] | None = None,
    failure: FailureFn | None = None,
    label: str = "",
) -> Op:
    """An op whose work runs elsewhere (a child process): finish it with
    :meth:`Op.deliver` or :meth:`Op.fail` on the GUI thread.

    It counts in :func:`pending` like any other, so tests and the exit path
    wait for it, and its outcome reaches ``success``/``failure`` the same way.
    """
    t = _tracker()
    op = Op(parent, lambda: None, success, failure, label)
    t._add(op)
    return op


class Latest:
    """A series of reads of the same view, of which only the newest is shown.

    A read started before an act may land after the read the act itself
    started (four workers, any order): shown last, it would undo the act on
    screen. ``run_in_background(self, read, success=latest.only(self._show))``.
    """

    def __init__(self) -> None:
        self._issued = 0

    def only(self, show: Callable[[T], None]) -> Callable[[T], None]:
        self._issued += 1
        mine = self._issued

        def deliver(result: T) -> None:
            if mine == self._issued:
                show(result)

        return deliver


def pending() -> int:
    """How many ops have not yet delivered their result."""
    return _tracker().pending()


def wait_idle(qtbot: Any, timeout: int = 10_000) -> None:
    """For tests: process events until every op has delivered its result."""
    qtbot.waitUntil(lambda: pending() == 0, timeout=timeout)
