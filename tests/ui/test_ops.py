"""The background helper: results on the GUI thread, errors reported, the GUI never blocked."""

from __future__ import annotations

import itertools
import threading
import time

from hallapp.ui import errors, ops
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from hallapp.intake import IntakeError


def test_result_arrives_on_gui_thread(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: dict[str, object] = {}

    def work() -> int:
        seen["worker"] = threading.current_thread() is threading.main_thread()
        return 42

    def done(value: int) -> None:
        seen["gui"] = threading.current_thread() is threading.main_thread()
        seen["value"] = value

    ops.run_in_background(parent, work, success=done, label="测试")
    ops.wait_idle(qtbot)
    assert seen == {"worker": False, "gui": True, "value": 42}


def test_failure_goes_to_callback_or_show_error(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    got: list[BaseException] = []

    def boom() -> None:
        raise IntakeError("材料不齐，不能受理")

    ops.run_in_background(parent, boom, failure=got.append)
    ops.wait_idle(qtbot)
    assert isinstance(got[0], IntakeError)

    shown: list[str] = []
    errors.set_error_sink(lambda _p, msg, _d: shown.append(msg))
    try:
        ops.run_in_background(parent, boom)
        ops.run_in_background(parent, lambda: 1 / 0, label="计算")
        ops.wait_idle(qtbot)
    finally:
        errors.set_error_sink(None)
    assert "材料不齐，不能受理" in shown
    # A bug: what happened and what to do, never the exception's class name.
    bug = [m for m in shown if m.startswith("“计算”没有完成")]
    assert bug and "ZeroDivisionError" not in bug[0] and "日志" in bug[0]


def test_dead_parent_drops_result(qtbot):
    parent = QWidget()
    called: list[int] = []
    release = threading.Event()
    ops.run_in_background(parent, lambda: release.wait(5) and 1, success=called.append)
    parent.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(parent))
    release.set()
    ops.wait_idle(qtbot)
    assert called == []


def test_long_op_does_not_block_event_loop(qtbot):
    """While a 1 s call runs, a 20 ms timer keeps firing on the GUI thread."""
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    parent = QWidget()
    qtbot.addWidget(parent)
    with qtbot.waitSignal(ops.tracker().idle, timeout=5000):
        ops.run_in_background(parent, lambda: time.sleep(1.0))
    timer.stop()
    assert len(ticks) >= 20
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.2


def test_many_ops_do_not_drain_true_refcount(qtbot):
    """Results come back as posted events: no Python-side emit per op.

    (PySide6 6.12.0 on Python 3.11 drops a reference to True per emit; a
    client doing thousands of ops a day would abort with "bool_dealloc".)
    """
    import sys

    parent = QWidget()
    qtbot.addWidget(parent)
    got: list[int] = []
    # One busy period: the tracker emits twice (busy, idle) whatever the number of ops.
    before = sys.getrefcount(True)
    for i in range(200):
        ops.run_in_background(parent, lambda i=i: i, success=got.append)
    ops.wait_idle(qtbot)
    assert sorted(got) == list(range(200))
    assert before - sys.getrefcount(True) < 20


def test_only_the_latest_read_is_shown_whatever_order_they_land(qtbot):
    """Two reads of one view on the workers: the older one, landing last, is
    dropped (it read the database before the act the newer one shows)."""
    owner = QWidget()
    shown: list[str] = []
    latest = ops.Latest()
    gate = threading.Event()

    def older_read() -> str:
        gate.wait(10)
        return "before the act"

    ops.run_in_background(owner, older_read, success=latest.only(shown.append))
    ops.run_in_background(owner, lambda: "after the act", success=latest.only(shown.append))
    qtbot.waitUntil(lambda: shown == ["after the act"], timeout=5_000)
    gate.set()
    ops.wait_idle(qtbot)
    assert shown == ["after the act"]
    ops.run_in_background(owner, lambda: "next", success=latest.only(shown.append))
    ops.wait_idle(qtbot)
    assert shown == ["after the act", "next"]
