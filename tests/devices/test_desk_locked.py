"""An evaluation press while another process holds the window database's write lock:
it commits within its time-out, or it is kept and retried — never lost."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hallapp.devices import framed
from sqlalchemy import select

import hallapp.evaluation as evaluation
from hallapp.evaluation import (
    PRESS_BUSY_TIMEOUT_MS,
    DeskEvent,
    EvaluationDesk,
    IgnoredDuplicate,
    Kept,
    KeptFailed,
    Recorded,
)
from hallapp.models import CaseEvent, CaseEventKind, Evaluation, FollowUpStep

from .conftest import WINDOW, Hall

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO number_counters (scope, last) VALUES ('holder', 1)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """A real second process holds the write lock on ``path`` for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _db(hall: Hall) -> Path:
    database = hall.store.engine.url.database
    assert database is not None
    return Path(database)


def _evaluations(hall: Hall) -> list[Evaluation]:
    with hall.store.read() as s:
        return list(s.scalars(select(Evaluation)))


@pytest.fixture
def desk(hall: Hall) -> Iterator[EvaluationDesk]:
    d = EvaluationDesk(hall.store, WINDOW, timeout_s=60)
    yield d
    d.close()


def test_press_commits_within_its_time_out_while_another_process_writes(
    hall: Hall, desk: EvaluationDesk
) -> None:
    case_id = hall.new_case()
    desk.open(case_id)
    with write_lock_held(_db(hall), 0.8):
        started = time.perf_counter()
        outcome = desk.press(5)
        took = time.perf_counter() - started
    assert isinstance(outcome, Recorded) and not outcome.kept
    assert 0.5 < took < PRESS_BUSY_TIMEOUT_MS / 1000
    assert [(e.case_id, e.level) for e in _evaluations(hall)] == [(case_id, 5)]


@pytest.mark.parametrize(("level", "reasons"), [(4, ()), (2, ("等候时间长",))])
def test_press_is_kept_and_written_once_the_lock_is_free(
    hall: Hall,
    desk: EvaluationDesk,
    until: Callable[..., bool],
    level: int,
    reasons: tuple[str, ...],
) -> None:
    case_id = hall.new_case()
    desk.open(case_id)
    events: list[DeskEvent] = []
    desk.add_listener(events.append)
    # Longer than the store's busy_timeout (10 s): before, the press failed
    # after 10 s ("评价保存失败（OperationalError），请重新按键") and was lost
    # if the citizen had left.
    with write_lock_held(_db(hall), 12) as holder:
        started = time.perf_counter()
        outcome = desk.press(level)
        if reasons:
            outcome = desk.submit_reasons(list(reasons))
        took = time.perf_counter() - started
        assert isinstance(outcome, Kept), outcome
        assert took < PRESS_BUSY_TIMEOUT_MS / 1000 + 1.0
        pressed_at = desk._kept[0].pressed_at
        assert desk.kept == 1 and _evaluations(hall) == []
        # The citizen's evaluation is over: more presses are not counted twice.
        assert desk.press(5) == IgnoredDuplicate(case_id, 5)
        holder.kill()
        holder.wait()
    assert until(lambda: desk.kept == 0, timeout=5)
    (stored,) = _evaluations(hall)
    assert (stored.case_id, stored.level, tuple(stored.reasons)) == (case_id, level, reasons)
    assert stored.created_at == pressed_at  # the time of the press, not of the retry
    recorded = [e for e in events if isinstance(e, Recorded)]
    assert len(recorded) == 1 and recorded[0].kept and recorded[0].level == level
    with hall.store.read() as s:
        kinds = s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        follow_ups = s.scalars(select(FollowUpStep)).all()
    assert kinds.count(CaseEventKind.EVALUATED) == 1
    assert len(follow_ups) == (1 if level <= 2 else 0)


def test_a_kept_press_that_truly_fails_is_said_and_logged(
    hall: Hall,
    desk: EvaluationDesk,
    until: Callable[..., bool],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(evaluation, "KEPT_GIVE_UP_S", 1.0)
    case_id = hall.new_case()
    opened = desk.open(case_id)
    events: list[DeskEvent] = []
    desk.add_listener(events.append)
    with write_lock_held(_db(hall), 30):
        assert isinstance(desk.press(3), Kept)
        assert until(lambda: any(isinstance(e, KeptFailed) for e in events), timeout=10)
    (failed,) = [e for e in events if isinstance(e, KeptFailed)]
    assert (failed.case_id, failed.level) == (case_id, 3) and opened.case_no in failed.message
    assert desk.kept == 0 and _evaluations(hall) == []
    # The whole record is in the log, to be entered by hand if need be.
    assert any(
        opened.case_no in r.getMessage() and "等级 3" in r.getMessage() for r in caplog.records
    )


def test_time_out_is_recorded_once_the_lock_is_free(hall: Hall, until: Callable[..., bool]) -> None:
    desk = EvaluationDesk(hall.store, WINDOW, timeout_s=1)
    try:
        case_id = hall.new_case()
        desk.open(case_id)
        # Longer than the store's busy_timeout (10 s): before, the expiry
        # failed once and the desk stayed open for ever.
        with write_lock_held(_db(hall), 11) as holder:
            time.sleep(1.5)  # the time-out passes while the lock is held
            assert desk.current is not None
            holder.wait()
        assert until(lambda: desk.current is None, timeout=8)
        with hall.store.read() as s:
            kinds = s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        assert CaseEventKind.EVALUATION_EXPIRED in kinds
    finally:
        desk.close()


def test_device_gets_its_ack_when_the_kept_press_is_written(
    hall: Hall, make_rig: Callable[..., object], until: Callable[..., bool]
) -> None:
    rig = make_rig("framed")
    case_id = hall.new_case()
    rig.desk.open(case_id)  # type: ignore[attr-defined]
    sim = rig.sim  # type: ignore[attr-defined]
    assert sim.wait_for_command(framed.Prompt, 2.0) is not None
    with write_lock_held(_db(hall), 12) as holder:
        sim.press(5)
        # No ACK OK before the evaluation is on disk (the device resends meanwhile).
        assert sim.wait_ack(timeout=PRESS_BUSY_TIMEOUT_MS / 1000 + 1.5) is None
        assert until(lambda: rig.desk.kept == 1, timeout=3)  # type: ignore[attr-defined]
        holder.kill()
        holder.wait()
    assert sim.wait_ack(timeout=5) == framed.AckStatus.OK
    assert [(e.case_id, e.level) for e in _evaluations(hall)] == [(case_id, 5)]


def test_the_devices_own_time_out_during_a_lock_is_answered_and_written_later(
    hall: Hall, make_rig: Callable[..., object], until: Callable[..., bool]
) -> None:
    """KEY 0 (the device's countdown ran out) while another process writes:
    the device gets its ACK OK within the press time-out (it is idle already,
    so no CANCEL follows), the heartbeats go on, and 未评价 is written once
    the lock is free — no traceback, no KEY left unanswered."""
    rig = make_rig("framed")
    case_id = hall.new_case()
    rig.desk.open(case_id)  # type: ignore[attr-defined]
    sim = rig.sim  # type: ignore[attr-defined]
    assert sim.wait_for_command(framed.Prompt, 2.0) is not None
    with write_lock_held(_db(hall), 8) as holder:
        sim.timeout()
        seq = sim.last_key_seq
        assert sim.wait_ack(seq, timeout=PRESS_BUSY_TIMEOUT_MS / 1000 + 1.5) == framed.AckStatus.OK
        assert rig.desk.current is not None  # type: ignore[attr-defined]
        # The reader goes on: heartbeats keep coming while the lock is held.
        since = len(sim.received)
        assert sim.wait_for_command(framed.Heartbeat, 3.0, since=since) is not None
        holder.kill()
        holder.wait()
    assert until(lambda: rig.desk.current is None, timeout=8)  # type: ignore[attr-defined]
    with hall.store.read() as s:
        events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
    expired = [e for e in events if e.kind == CaseEventKind.EVALUATION_EXPIRED]
    assert len(expired) == 1 and expired[0].data["why"] == "device_timeout"
    assert _evaluations(hall) == []
    time.sleep(0.3)
    assert not [c for c in sim.received if isinstance(c, framed.Cancel)]


def test_a_bad_review_confirmed_on_the_device_is_acked_when_written(
    hall: Hall, make_rig: Callable[..., object], until: Callable[..., bool]
) -> None:
    """差评 by the device's keys (level, reason, confirm) while another process
    writes: the confirm key's ACK OK waits until the kept press is on disk."""
    rig = make_rig("framed")
    case_id = hall.new_case()
    rig.desk.open(case_id)  # type: ignore[attr-defined]
    sim = rig.sim  # type: ignore[attr-defined]
    assert sim.wait_for_command(framed.Prompt, 2.0) is not None
    sim.press(2)
    assert sim.wait_ack() == framed.AckStatus.NEED_REASONS
    sim.press_reason(1)
    assert sim.wait_ack() == framed.AckStatus.NEED_REASONS
    with write_lock_held(_db(hall), 12) as holder:
        sim.press_confirm()
        confirm_seq = sim.last_key_seq
        assert sim.wait_ack(timeout=PRESS_BUSY_TIMEOUT_MS / 1000 + 1.5) is None
        assert until(lambda: rig.desk.kept == 1, timeout=3)  # type: ignore[attr-defined]
        holder.kill()
        holder.wait()
    assert sim.wait_ack(confirm_seq, timeout=5) == framed.AckStatus.OK
    (stored,) = _evaluations(hall)
    assert (stored.case_id, stored.level, len(stored.reasons)) == (case_id, 2, 1)
    assert stored.device == sim.device_id


def test_a_bad_review_with_reasons_on_the_screen_gets_its_second_ack_when_written(
    hall: Hall, make_rig: Callable[..., object], until: Callable[..., bool]
) -> None:
    """差评 pressed on the device, reasons chosen on the screen while another
    process writes: the 差评 KEY's second ACK OK waits for the kept press."""
    rig = make_rig("framed")
    case_id = hall.new_case()
    rig.desk.open(case_id)  # type: ignore[attr-defined]
    sim = rig.sim  # type: ignore[attr-defined]
    assert sim.wait_for_command(framed.Prompt, 2.0) is not None
    sim.press(1)
    key_seq = sim.last_key_seq
    assert sim.wait_ack() == framed.AckStatus.NEED_REASONS
    with write_lock_held(_db(hall), 12) as holder:
        outcome = rig.desk.submit_reasons(["服务态度差"], device="citizen-screen")  # type: ignore[attr-defined]
        assert isinstance(outcome, Kept)
        time.sleep(0.5)
        assert sim.acks.get(key_seq) == framed.AckStatus.NEED_REASONS  # not OK yet
        holder.kill()
        holder.wait()
    assert until(lambda: sim.acks.get(key_seq) == framed.AckStatus.OK, timeout=5)
    (stored,) = _evaluations(hall)
    assert (stored.case_id, stored.level, tuple(stored.reasons)) == (case_id, 1, ("服务态度差",))
    assert stored.device == sim.device_id
