"""The evaluator in the window client: device driver + EvaluationDesk → Qt signals.

Who runs where:

- the driver's reader thread (hallapp.devices.driver) reads the serial port;
  a key press goes through hallapp.devices.bridge to ``desk.press``, which
  commits the evaluation on that thread, then the device gets its ACK;
- the desk's own expiry timer thread records 未评价 when time runs out;
- presses and reasons from the citizen screen, opening and cancelling go
  through :func:`hallapp.ui.ops.run_in_background` (the desk commits there);
- the desk and the driver report to this object from those threads by
  emitting private signals; Qt queues them to the GUI thread, where the
  public signals are emitted and the citizen screen is updated.

So the GUI thread never waits on the database or the port. The rules of
好差评 (what counts, reasons, time-out, one per case) are the desk's alone: a
press on the screen and a press on the device take the same path.

Demo mode (``demo=True`` and no ``evaluator.port`` configured): the device
simulator of hallapp.devices runs in-process on a pseudo-terminal and the
driver connects to it like to a real port; :attr:`EvaluatorBridge.simulator`
gives the keypad (ui/sim_panel.py) something to press.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import shiboken6
from hallapp.devices.bridge import EvaluatorBridge as DeviceBridge
from hallapp.devices.driver import (
    Connected,
    DeviceError,
    DeviceRestarted,
    DriverError,
    DriverEvent,
    DriverState,
    EvaluatorDriver,
    KeyPressed,
    Lost,
    Responding,
)
from hallapp.devices.simulator import Simulator
from hallapp.ui.citizen import NOT_EVALUATED, THANKS, CitizenScreen
from hallapp.ui.errors import user_message
from hallapp.ui.ops import run_in_background
from PySide6.QtCore import QObject, Signal, Slot

from hallapp.config import Config
from hallapp.documents import DutyCard
from hallapp.evaluation import (
    LEVEL_LABELS,
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
    OpenEvaluation,
    PressOutcome,
    ReasonsChanged,
    Recorded,
    expire_unfinished,
)
from hallapp.models import Case, ServiceItem
from hallapp.store import Store

log = logging.getLogger(__name__)

#: ``Evaluation.device`` of a press made on the citizen screen's buttons.
SCREEN_DEVICE = "citizen-screen"


class EvaluatorBridge(QObject):
    """One window's evaluator: see the module docstring for the threads."""

    connected_changed = Signal(bool)  # device connected / lost (status bar)
    evaluation_opened = Signal(str)  # case_id
    evaluation_recorded = Signal(str, int)  # case_id, level (committed in the DB)
    awaiting_reasons = Signal(str, int)  # case_id, level (1 or 2)
    evaluation_expired = Signal(str)  # case_id: not evaluated (no default rating)
    evaluation_cancelled = Signal(str)  # case_id: withdrawn by the clerk
    press_ignored = Signal(int)  # a key with no open evaluation (logged, not counted)
    error = Signal(str)  # Chinese message for the clerk

    # Emitted from worker threads; delivered (queued) on the GUI thread.
    _desk_event = Signal(object)
    _driver_event = Signal(object)

    def __init__(
        self,
        store: Store,
        config: Config,
        citizen: CitizenScreen | None,
        parent: QObject | None = None,
        *,
        demo: bool = False,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.config = config
        self.citizen = citizen
        self.demo = demo
        timeout = int(config.get("evaluator.timeout_seconds"))
        # recover=False: the start-up recovery writes to the database, so it
        # runs in the background from start(), not here on the GUI thread.
        self.desk = EvaluationDesk(
            store,
            config.window_code,
            timeout_s=timeout,
            reasons_timeout_s=timeout,
            recover=False,
            rectify_days=int(config.get("follow_up.rectify_days")),
        )
        self._driver: EvaluatorDriver | None = None
        self._device_bridge: DeviceBridge | None = None
        self._simulator: Simulator | None = None
        self._sim_dir: Path | None = None
        self._connected = False
        self._started = False
        self._stopped = False
        # Set once evaluations left open by a crash are expired: an evaluation
        # opened now must not be caught by that clean-up.
        self._recovered = threading.Event()
        self._duty_card: DutyCard | None = None
        # Filled on a worker thread before desk.open, read on the GUI thread
        # when the (queued) Opened event arrives.
        self._item_names: dict[str, str] = {}
        self._desk_event.connect(self._on_desk_event)
        self._driver_event.connect(self._on_driver_event)
        self.desk.add_listener(self._desk_listener)
        if citizen is not None:
            citizen.level_chosen.connect(self.press_on_screen)
            citizen.reasons_chosen.connect(self.submit_reasons)
            citizen.reasons_changed.connect(self.choose_reasons)

    # ------------------------------------------------------------------ state

    @property
    def simulator(self) -> Simulator | None:
        """Demo only: the in-process device (``press(level)``, ``unplug()``, ``replug()``)."""
        return self._simulator

    @property
    def driver(self) -> EvaluatorDriver | None:
        return self._driver

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def port(self) -> str:
        return self._driver.port_name if self._driver is not None else ""

    def status_text(self) -> str:
        """A short Chinese line for the status bar."""
        if self._driver is None:
            return "评价器：未配置（可在群众屏上评价）"
        state = self._driver.state
        suffix = "（模拟）" if self._simulator is not None else ""
        if state == DriverState.CONNECTED and not self._driver.status().responding:
            # The port is open but the device says nothing (power, cable).
            return f"评价器{suffix}：无响应"
        return f"评价器{suffix}：{state.label}"

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Recover evaluations left open by a crash and open the port (all in the background)."""
        if self._started or self._stopped:
            return
        self._started = True
        window = self.config.window_code

        def recover() -> int:
            try:
                with self.store.session() as s:
                    return expire_unfinished(s, window)
            finally:
                self._recovered.set()

        run_in_background(self, recover, failure=self._report_failure, label="恢复未完成的评价")
        port = str(self.config.get("evaluator.port")).strip()
        protocol = str(self.config.get("evaluator.protocol"))
        keymap = self.config.get("evaluator.keymap") or None
        if not port and self.demo:
            port = self._start_simulator(protocol, keymap)
        if not port:
            log.info("no evaluator port configured; evaluations only on the citizen screen")
            self.connected_changed.emit(False)
            return
        try:
            driver = EvaluatorDriver(
                port,
                protocol=protocol,
                keymap=keymap,
                baudrate=int(self.config.get("evaluator.baudrate")),
                name=f"{window}",
            )
        except DriverError as exc:
            log.error("evaluator driver not started: %s", exc)
            self.error.emit(f"评价器无法启动：{exc}。请检查配置中的 [evaluator] 设置")
            return
        self._device_bridge = DeviceBridge(driver, self.desk)
        # Added after the device bridge: on a key press it runs after the
        # press has been recorded and acknowledged, and can read the outcome.
        driver.add_listener(self._driver_listener)
        self._driver = driver
        driver.start()  # the reader thread opens the port; nothing blocks here

    def _start_simulator(self, protocol: str, keymap: object) -> str:
        self._sim_dir = Path(tempfile.mkdtemp(prefix="hallapp-evaluator-"))
        sim = Simulator(protocol, keymap=keymap if isinstance(keymap, dict) else None)
        path = sim.start_pty(link=self._sim_dir / "evaluator")
        self._simulator = sim
        log.info("demo: evaluator simulator (%s) on %s", protocol, path)
        return path

    def stop(self) -> None:
        """Stop the timer, the driver and the simulator (at shutdown; joins their threads).

        Final and idempotent: the console and the app may both call it.
        """
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(ValueError):
            self.desk.remove_listener(self._desk_listener)
        self.desk.close()
        if self._driver is not None:
            with contextlib.suppress(ValueError):
                self._driver.remove_listener(self._driver_listener)
            if self._device_bridge is not None:
                self._device_bridge.detach()
                self._device_bridge = None
            self._driver.stop()
        if self._simulator is not None:
            self._simulator.stop()
        if self._sim_dir is not None:
            shutil.rmtree(self._sim_dir, ignore_errors=True)
            self._sim_dir = None

    # ----------------------------------------------------------------- actions

    def open_evaluation(self, case_id: str, staff_id: str | None = None) -> None:
        """Open the evaluation of a completed / handed-over case (after 办结/出件)."""

        def work() -> OpenEvaluation:
            if self._started:
                self._recovered.wait(10)
            with self.store.read() as s:
                case = s.get(Case, case_id)
                item = s.get(ServiceItem, case.item_code) if case is not None else None
                self._item_names[case_id] = item.name if item is not None else ""
            return self.desk.open(case_id, staff_id=staff_id)

        run_in_background(self, work, failure=self._report_failure, label="开始评价")

    @property
    def can_reoffer(self) -> bool:
        """An invitation timed out (or was withdrawn) and may be offered again (F8)."""
        return self.desk.current is None and self.desk.reofferable is not None

    def reoffer(self) -> None:
        """Offer the timed-out invitation again while the citizen is still at the window."""

        def work() -> OpenEvaluation:
            last = self.desk.reofferable
            if last is not None:
                with self.store.read() as s:
                    item = s.get(ServiceItem, last.item_code)
                    self._item_names[last.case_id] = item.name if item is not None else ""
            return self.desk.reoffer()

        run_in_background(self, work, failure=self._report_failure, label="再次邀请评价")

    @Slot(list)
    def choose_reasons(self, reasons: Sequence[str]) -> None:
        """Reasons touched on the screen: the device's number keys continue from them."""
        chosen = [str(r) for r in reasons]
        run_in_background(
            self,
            lambda: self.desk.choose_reasons(chosen),
            failure=self._report_failure,
            label="选择评价原因",
        )

    def cancel(self, reason: str = "工作人员取消评价") -> None:
        """Withdraw the open evaluation (nothing is recorded for the case)."""
        run_in_background(
            self,
            lambda: self.desk.cancel(reason=reason),
            failure=self._report_failure,
            label="取消评价",
        )

    @Slot(int)
    def press_on_screen(self, level: int) -> None:
        """A level pressed on the citizen screen: the same rules as a key on the device."""
        run_in_background(
            self,
            lambda: self.desk.press(level, device=SCREEN_DEVICE),
            success=self._on_screen_outcome,
            failure=self._on_screen_failure,
            label="保存评价",
        )

    @Slot(list)
    def submit_reasons(self, reasons: Sequence[str]) -> None:
        """The 差评 reasons chosen on the citizen screen."""
        chosen = [str(r) for r in reasons]
        run_in_background(
            self,
            lambda: self.desk.submit_reasons(chosen, device=SCREEN_DEVICE),
            success=self._on_screen_outcome,
            failure=self._on_screen_failure,
            label="保存评价原因",
        )

    def set_duty_card(self, card: DutyCard | None) -> None:
        """Show the duty card on the citizen screen and, if it can, on the device."""
        self._duty_card = card
        if self.citizen is not None:
            self.citizen.show_duty_card(card)
        self._send_duty_card()

    def _send_duty_card(self) -> None:
        driver, card = self._driver, self._duty_card
        if driver is None or card is None or not driver.supports_commands:
            return
        if driver.state != DriverState.CONNECTED:
            return  # sent again when the device connects
        name, title, window = card.name, card.title, card.window_code
        run_in_background(
            self,
            lambda: driver.show_duty_card(name, title, window),
            failure=self._report_failure,
            label="评价器显示当班人员",
        )

    # ----------------------------------------------- worker threads → signals

    def _desk_listener(self, event: DeskEvent) -> None:
        # Called under the desk's lock on whichever thread changed it: only
        # queue the event, never wait here.
        if shiboken6.isValid(self):
            self._desk_event.emit(event)

    def _driver_listener(self, event: DriverEvent) -> None:
        # On the driver's reader thread.
        if not shiboken6.isValid(self):
            return
        if isinstance(event, KeyPressed):
            bridge = self._device_bridge
            outcome = bridge.last_outcome if bridge is not None else None
            if isinstance(outcome, IgnoredNoOpen | IgnoredDuplicate | Failed):
                self._driver_event.emit(outcome)
            return
        if isinstance(event, Connected | Lost | DeviceError | DeviceRestarted | Responding):
            self._driver_event.emit(event)

    # ---------------------------------------------------------- the GUI thread

    @Slot(object)
    def _on_driver_event(self, event: object) -> None:
        if isinstance(event, Connected):
            self._set_connected(True)
            self._send_duty_card()
            if self.citizen is not None and self._driver is not None:
                # Only a framed device has number keys for the reasons.
                self.citizen.set_device_keys(self._driver.supports_commands)
        elif isinstance(event, DeviceRestarted):
            # Power came back with the port open (SEQ 0): the device forgot the
            # duty card as well as the PROMPT (the PROMPT is sent again by
            # the device bridge).
            self._send_duty_card()
        elif isinstance(event, Lost):
            self._set_connected(False)
        elif isinstance(event, Responding):
            self.connected_changed.emit(self._connected)  # the status line again
        elif isinstance(event, DeviceError):
            self.error.emit(event.message)
            if event.prompt_refused and self.citizen is not None:
                # "请按评价器上的按键" would send the citizen to unlit keys.
                self.citizen.device_cannot_prompt()
            # The status line reads the driver (已连接 → 无响应 after silence).
            self.connected_changed.emit(self._connected)
        elif isinstance(event, IgnoredNoOpen | IgnoredDuplicate):
            self.press_ignored.emit(event.level)
        elif isinstance(event, Failed):
            self.error.emit(event.message)
            if self.citizen is not None:
                self.citizen.show_notice("评价未能保存，请再按一次")

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected:
            self._connected = connected
            self.connected_changed.emit(connected)

    @Slot(object)
    def _on_desk_event(self, event: object) -> None:
        citizen = self.citizen
        if isinstance(event, Opened):
            ev = event.evaluation
            if citizen is not None:
                citizen.open_evaluation(
                    ev.case_no,
                    self._item_names.pop(ev.case_id, ""),
                    ev.staff_name,
                    ev.timeout_s,
                    ev.encounter.label,
                )
            self.evaluation_opened.emit(ev.case_id)
        elif isinstance(event, AwaitingReasons):
            if citizen is not None:
                left = (event.deadline - datetime.now(UTC)).total_seconds()
                citizen.ask_reasons(event.level, max(0, round(left)))
            self.awaiting_reasons.emit(event.case_id, event.level)
        elif isinstance(event, ReasonsChanged):
            if citizen is not None:
                citizen.set_chosen_reasons(event.chosen)
        elif isinstance(event, Kept):
            # Another program holds the database: the press is kept and
            # written as soon as it can be, so the citizen is thanked now.
            if citizen is not None:
                citizen.close_evaluation(
                    THANKS, f"您的评价：{LEVEL_LABELS[event.level]}\n评价已收到，正在保存"
                )
        elif isinstance(event, KeptFailed):
            self.error.emit(event.message)
            if citizen is not None and not citizen.evaluating:
                citizen.close_evaluation("评价未能保存", "请向窗口工作人员说明您的评价，谢谢")
        elif isinstance(event, Recorded) and event.kept:
            self.evaluation_recorded.emit(event.case_id, event.level)
        elif isinstance(event, Recorded):
            if citizen is not None:
                detail = f"您的评价：{LEVEL_LABELS[event.level]}"
                if event.follow_up_due is not None:
                    # The hall's own limits (follow_up.*), never a number of ours.
                    days = int(self.config.get("follow_up.call_back_days"))
                    due = event.follow_up_due
                    detail += (f"\n我们将在 {days} 个工作日内回访您，"
                               f"并于 {due.month} 月 {due.day} 日前核实整改")
                citizen.close_evaluation(THANKS, detail)
            self.evaluation_recorded.emit(event.case_id, event.level)
        elif isinstance(event, Expired):
            if citizen is not None:
                citizen.close_evaluation(NOT_EVALUATED, "评价时间已到")
            self.evaluation_expired.emit(event.case_id)
        elif isinstance(event, Cancelled):
            if citizen is not None:
                citizen.close_evaluation("")
            self.evaluation_cancelled.emit(event.case_id)

    def _on_screen_outcome(self, outcome: PressOutcome) -> None:
        # Recorded / AwaitingReasons / Expired reach the screen through the
        # desk's events; only what the desk does not announce is handled here.
        # The device is told by hallapp.devices.bridge (a second ACK or a CANCEL).
        if isinstance(outcome, Failed):
            self.error.emit(outcome.message)
            if self.citizen is not None:
                self.citizen.show_notice("评价未能保存，请再按一次")
        elif isinstance(outcome, IgnoredNoOpen | IgnoredDuplicate):
            self.press_ignored.emit(outcome.level)
            if self.citizen is not None and self.citizen.evaluating:
                self.citizen.close_evaluation("")

    def _on_screen_failure(self, exc: BaseException) -> None:
        message = user_message(exc, "保存评价")
        if self.citizen is not None:
            self.citizen.show_notice(message)
        self.error.emit(message)

    def _report_failure(self, exc: BaseException) -> None:
        self.error.emit(user_message(exc))
