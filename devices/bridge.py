"""Connects an evaluator driver to a window's EvaluationDesk.

- key press (driver thread) → ``desk.press`` (commits) → ACK frame to the
  device, only after the commit returned: a device that got ACK OK holds an
  evaluation that is on disk.
- the desk opens an evaluation → PROMPT (case number, clerk's name, time);
  the desk expires or cancels it → CANCEL. A 差评 → ACK NEED_REASONS, and the
  citizen picks reasons on the screen (the UI calls ``desk.submit_reasons``).
- the device's own time-out (level 0) → ``desk.device_timed_out``.
- the database is locked by another writer: the desk keeps the press (Kept)
  and retries; the ACK waits until the retry commits (OK) or truly fails
  (ERROR). The device's retransmissions of that KEY meanwhile are not pressed
  again.

The UI listens to the desk (outcomes) and to the driver (connection state)
directly; this module adds no thread of its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from hallapp.devices import framed
from hallapp.devices.driver import (
    DeviceTimedOut,
    DriverEvent,
    EvaluatorDriver,
    KeyPressed,
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
        # case_id → SEQ of the KEY whose press the desk kept (framed protocol).
        self._unacked: dict[str, int | None] = {}
        # (thread, SEQ) of the KEY being pressed now: the desk announces Kept
        # inside press(), before a retry (another thread) can announce Recorded.
        self._pressing: tuple[int, int | None] | None = None
        driver.add_listener(self._on_driver_event)
        desk.add_listener(self._on_desk_event)

    def detach(self) -> None:
        self.driver.remove_listener(self._on_driver_event)
        self.desk.remove_listener(self._on_desk_event)

    # driver thread
    def _on_driver_event(self, event: DriverEvent) -> None:
        if isinstance(event, KeyPressed):
            if event.seq is not None and event.seq in self._unacked.values():
                return  # the device resends a KEY whose press is kept: answered when written
            self._pressing = (threading.get_ident(), event.seq)
            try:
                outcome: PressOutcome = self.desk.press(event.level, device=self.driver.device_id)
            except Exception as exc:  # the device must get an answer even on a bug
                log.exception("处理评价按键失败")
                outcome = Failed(event.level, f"评价处理失败（{exc.__class__.__name__}）")
            finally:
                self._pressing = None
            self.last_outcome = outcome
            if isinstance(outcome, Kept):
                return  # ACKed when the retry has written it (see _on_desk_event)
            self.driver.ack(event.seq, _ACK_FOR[type(outcome)])
            self.desk.checkpoint()  # after the ACK: never in the way of a press
        elif isinstance(event, DeviceTimedOut):
            self.desk.device_timed_out()
            self.driver.ack(event.seq, framed.AckStatus.OK)

    # any thread that changed the desk (under the desk's lock)
    def _on_desk_event(self, event: DeskEvent) -> None:
        if isinstance(event, Opened):
            ev = event.evaluation
            self.driver.prompt(ev.case_no, ev.staff_name, ev.timeout_s)
        elif isinstance(event, Expired | Cancelled):
            self.driver.cancel()
        elif isinstance(event, Kept):
            pressing = self._pressing
            if pressing is not None and pressing[0] == threading.get_ident():
                self._unacked[event.case_id] = pressing[1]
        elif isinstance(event, Recorded | KeptFailed) and event.case_id in self._unacked:
            seq = self._unacked.pop(event.case_id)
            status = framed.AckStatus.OK if isinstance(event, Recorded) else framed.AckStatus.ERROR
            self.driver.ack(seq, status)


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
