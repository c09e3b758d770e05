"""Connects an evaluator driver to a window's EvaluationDesk.

- key press (driver thread) → ``desk.press`` (commits) → ACK frame to the
  device, only after the commit returned: a device that got ACK OK holds an
  evaluation that is on disk.
- the desk opens an evaluation → PROMPT (case number, clerk's name, time);
  the desk expires or cancels it → CANCEL. A 差评 → ACK NEED_REASONS, and the
  citizen picks reasons on the screen (the UI calls ``desk.submit_reasons``).
- the device's own time-out (KEY 0) → ``desk.device_timed_out``: ACK OK when
  it closed the open evaluation as 未评价 (no CANCEL follows: the device is
  idle already), ACK IGNORED when nothing was open or a 差评 awaits reasons.
- number keys and the confirm key while a 差评 awaits reasons →
  ``desk.toggle_reason`` / ``desk.confirm_reasons``.
- a 差评 answered NEED_REASONS and then recorded (reasons chosen on the screen
  or on the device) → a second ACK OK for the same KEY SEQ, so the device
  shows its thanks; recorded on the screen without any device key → CANCEL.
- the device reconnects (replug) or restarts (SEQ 0) while an evaluation is
  open → its PROMPT again, with the seconds left.
- the database is locked by another writer: the desk keeps the press (Kept)
  and retries; the ACK waits until the retry commits (OK) or truly fails
  (ERROR). That is the ACK of the KEY that recorded it (a level key, or the
  confirm key of a 差评), or the second ACK of the 差评 KEY when its reasons
  were chosen on the screen; a screen-only evaluation gets its CANCEL at once.
  The device's retransmissions of that KEY meanwhile are not pressed again.

The UI listens to the desk (outcomes) and to the driver (connection state)
directly; this module adds no thread of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hallapp.devices import framed
from hallapp.devices.driver import (
    Connected,
    DeviceRestarted,
    DeviceTimedOut,
    DriverEvent,
    EvaluatorDriver,
    KeyPressed,
    ReasonKeyPressed,
)
from hallapp.devices.simulator import Simulator

from hallapp.config import Config
from hallapp.evaluation import (
    AwaitingReasons,
    Cancelled,
    DeskEvent,
    EvaluationDesk,
    Expired,
    Failed,
    IgnoredDuplicate,
    IgnoredNoOpen,
    Kept,
    KeptFailed,
    Opened,
    PressOutcome,
    Recorded,
)
from hallapp.store import Store

log = logging.getLogger(__name__)

_ACK_FOR: dict[type, framed.AckStatus] = {
    Recorded: framed.AckStatus.OK,
    AwaitingReasons: framed.AckStatus.NEED_REASONS,
    IgnoredNoOpen: framed.AckStatus.IGNORED,
    IgnoredDuplicate: framed.AckStatus.IGNORED,
    Expired: framed.AckStatus.IGNORED,
    Failed: framed.AckStatus.ERROR,
}


class EvaluatorBridge:
    def __init__(self, driver: EvaluatorDriver, desk: EvaluationDesk) -> None:
        self.driver = driver
        self.desk = desk
        self.last_outcome: PressOutcome | None = None
        # The driver thread while it hands a key to the desk: the desk's
        # events on that thread are answered by the key's own ACK (its SEQ in
        # ``seq``; Kept is announced inside the call, before a retry on
        # another thread can announce Recorded).
        self._from_key = threading.local()
        # SEQ of the device's 差评 KEY answered NEED_REASONS, until it is settled.
        self._held_seq: int | None = None
        # case_id → SEQ of the KEY whose ACK waits for the desk's kept press.
        self._unacked: dict[str, int | None] = {}
        driver.add_listener(self._on_driver_event)
        desk.add_listener(self._on_desk_event)

    def detach(self) -> None:
        self.driver.remove_listener(self._on_driver_event)
        self.desk.remove_listener(self._on_desk_event)

    # driver thread
    def _on_driver_event(self, event: DriverEvent) -> None:
        if isinstance(event, KeyPressed | ReasonKeyPressed) and self._is_kept_seq(event.seq):
            return  # the device resends a KEY whose press is kept: answered when written
        if isinstance(event, KeyPressed):
            outcome = self._handle_key(
                event.level,
                event.seq,
                lambda: self.desk.press(event.level, device=self.driver.device_id),
            )
            if isinstance(outcome, AwaitingReasons):
                self._held_seq = event.seq
            if isinstance(outcome, Kept):
                return  # ACKed when the retry has written it (see _on_desk_event)
            self.driver.ack(event.seq, _ACK_FOR[type(outcome)])
            self.desk.checkpoint()  # after the ACK: never in the way of a press
        elif isinstance(event, ReasonKeyPressed):
            if event.number == 0:
                outcome = self._handle_key(
                    0, event.seq, lambda: self.desk.confirm_reasons(device=self.driver.device_id)
                )
            else:
                outcome = self._handle_key(
                    0, event.seq, lambda: self.desk.toggle_reason(event.number)
                )
            if isinstance(outcome, Recorded | Kept):
                self._held_seq = None
            if isinstance(outcome, Kept):
                return  # ACKed when the retry has written it (see _on_desk_event)
            self.driver.ack(event.seq, _ACK_FOR[type(outcome)])
            if isinstance(outcome, Recorded):
                self.desk.checkpoint()
        elif isinstance(event, DeviceTimedOut):
            self._from_key.active = True
            try:
                expired = self.desk.device_timed_out()
            finally:
                self._from_key.active = False
            # ExpiryKept: the database is locked; the device is idle already
            # and the host closes the evaluation as soon as it can write.
            status = framed.AckStatus.OK if expired is not None else framed.AckStatus.IGNORED
            self.driver.ack(event.seq, status)
        elif isinstance(event, DeviceRestarted):
            # Powered up again, the device forgot the KEYs it sent: an ACK
            # for one of them would match nothing (or, as SEQs start again,
            # a later press). What the desk settles of them now ends the
            # device's prompt with a CANCEL instead (see _on_desk_event).
            self._held_seq = None
            self._unacked = dict.fromkeys(self._unacked)
            self._prompt_again()
        elif isinstance(event, Connected):
            self._prompt_again()

    def _is_kept_seq(self, seq: int | None) -> bool:
        return seq is not None and seq in self._unacked.values()

    def _handle_key(
        self, level: int, seq: int | None, call: Callable[[], PressOutcome]
    ) -> PressOutcome:
        self._from_key.active = True
        self._from_key.seq = seq
        try:
            outcome = call()
        except Exception:  # the device must get an answer even on a bug
            log.exception("处理评价按键失败")
            outcome = Failed(level, "评价处理失败（程序内部出错，已记入日志），请重新按键")
        finally:
            self._from_key.active = False
            self._from_key.seq = None
        self.last_outcome = outcome
        return outcome

    def _prompt_again(self) -> None:
        """A replugged or restarted device forgot its PROMPT: send it with the time left."""
        current, deadline = self.desk.current, self.desk.deadline
        if current is None or deadline is None:
            return
        left = int((deadline - datetime.now(UTC)).total_seconds())
        if left <= 0:
            return
        log.info("评价器重新连接，重发评价提示 办件 %s（剩余 %d 秒）", current.case_no, left)
        self.driver.prompt(current.case_no, current.staff_name, left)

    # any thread that changed the desk (under the desk's lock)
    def _on_desk_event(self, event: DeskEvent) -> None:
        from_key = getattr(self._from_key, "active", False)
        if isinstance(event, Opened):
            self._held_seq = None
            ev = event.evaluation
            self.driver.prompt(ev.case_no, ev.staff_name, ev.timeout_s)
        elif isinstance(event, Kept):
            held, self._held_seq = self._held_seq, None
            if from_key:
                # The key being handled now (a level key or the confirm key).
                self._unacked[event.case_id] = getattr(self._from_key, "seq", None)
            elif held is not None:
                # The 差评 pressed on the device, its reasons chosen on the
                # screen: its second ACK waits until the press is written.
                self._unacked[event.case_id] = held
            else:
                # Evaluated on the screen alone: the citizen is thanked now,
                # the device's prompt goes away now.
                self.driver.cancel()
        elif isinstance(event, Recorded | KeptFailed) and event.case_id in self._unacked:
            seq = self._unacked.pop(event.case_id)
            status = framed.AckStatus.OK if isinstance(event, Recorded) else framed.AckStatus.ERROR
            if seq is None:
                self.driver.cancel()  # its KEY is gone with a restart: end its prompt
            else:
                self.driver.ack(seq, status)
        elif isinstance(event, KeptFailed) or (isinstance(event, Recorded) and event.kept):
            # A kept press of a screen-only evaluation: the device was told
            # already (and may be prompting for the next one by now).
            return
        elif isinstance(event, Recorded):
            held, self._held_seq = self._held_seq, None
            if from_key:
                return  # the key's own ACK OK tells the device
            if held is not None:
                # The 差评 pressed on the device, its reasons chosen on the screen.
                self.driver.ack(held, framed.AckStatus.OK)
            else:
                # Evaluated on the screen alone: the device's prompt goes away.
                self.driver.cancel()
        elif isinstance(event, Expired | Cancelled):
            self._held_seq = None
            if isinstance(event, Expired) and (from_key or event.why == "device_timeout"):
                return  # KEY 0: the device timed out itself and is idle already
            self.driver.cancel()


@dataclass
class EvaluatorSetup:
    """Everything a window needs for its evaluator; ``simulator`` is set in demo mode."""

    driver: EvaluatorDriver
    desk: EvaluationDesk
    bridge: EvaluatorBridge
    simulator: Simulator | None = None

    def stop(self) -> None:
        self.bridge.detach()
        self.driver.stop()
        self.desk.close()
        if self.simulator is not None:
            self.simulator.stop()


def start_evaluator(
    config: Config, store: Store, *, demo_if_unconfigured: bool = True
) -> EvaluatorSetup:
    """Build and start driver, desk and bridge from the ``evaluator.*`` settings.

    With no ``evaluator.port`` configured and ``demo_if_unconfigured``, a
    simulator of the configured protocol is started on a pty and used as the
    port (the client's demo mode); the UI can press its keys through
    ``setup.simulator.press(level)``. Raises DriverError for a bad setting.
    """
    port = str(config.get("evaluator.port")).strip()
    protocol = str(config.get("evaluator.protocol"))
    keymap = config.get("evaluator.keymap") or None
    simulator: Simulator | None = None
    if not port and demo_if_unconfigured:
        simulator = Simulator(protocol, keymap=keymap, device_id="DEMO-EVALUATOR")
        port = simulator.start_pty()
        log.info("未配置评价器串口，使用模拟评价器：%s", port)
    driver = EvaluatorDriver(
        port,
        protocol=protocol,
        keymap=keymap,
        baudrate=int(config.get("evaluator.baudrate")),
    )
    desk = EvaluationDesk(
        store,
        config.window_code,
        timeout_s=int(config.get("evaluator.timeout_seconds")),
    )
    bridge = EvaluatorBridge(driver, desk)
    driver.start()
    return EvaluatorSetup(driver, desk, bridge, simulator)
