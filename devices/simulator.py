"""A software evaluator, for demos and tests: speaks either protocol on a pty or a port.

In-process use (the UI's demo mode)::

    sim = Simulator("framed")
    path = sim.start_pty()          # give ``path`` to the driver as its port
    sim.press(5)                    # a citizen presses 非常满意
    sim.stop()

The simulator owns the *master* side of a pseudo-terminal and hands out the
slave path, which pyserial opens like any serial port. ``link`` keeps a stable
symlink to the slave (ptys get a new /dev/pts/N each time); ``unplug()`` and
``replug()`` make the port vanish and come back at the same link, as pulling
and re-inserting a USB adapter does.

A reader thread (``evaluator-sim``) answers host commands the way a framed
device must (docs/evaluator-protocol.md: ACK each command, a heartbeat for a
heartbeat, a retransmitted command re-ACKed but not run again; SEQ 0 for the
first frame after power-up, then 1..255, 1...) and records them;
``on_command`` callbacks run on that thread. A key-code device cannot hear the
host, so in that mode incoming bytes are read and dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import random
import select
import threading
import time
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import serial
from hallapp.devices import framed
from hallapp.devices.driver import ACK_TIMEOUT_S, PROTOCOLS, SerialPort, open_serial
from hallapp.devices.keycode import byte_for_level, parse_keymap

log = logging.getLogger(__name__)

KEY_RETRIES = 2  # a framed KEY is sent again this often when no ACK comes


class SimulatorError(Exception):
    """The simulator cannot do what was asked; the message is in Chinese."""


@dataclass
class _PendingKey:
    frame: bytes
    sent_at: float
    tries: int = 1


CommandListener = Callable[[framed.HostCommand], None]


class Simulator:
    def __init__(
        self,
        protocol: str = "framed",
        *,
        keymap: Mapping[str, int] | Mapping[int, int] | str | None = None,
        device_id: str = "SIM-EVAL-0001",
        retransmit: bool = True,
        on_command: CommandListener | None = None,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise SimulatorError(f"未知的评价器协议 {protocol!r}，可选：framed、keycode")
        self.protocol = protocol
        self.keymap = parse_keymap(keymap)
        self.device_id = device_id
        self.retransmit = retransmit
        self._listeners: list[CommandListener] = [on_command] if on_command else []
        self._lock = threading.Lock()  # guards the I/O handles and the write side
        self._cond = threading.Condition()  # guards the records below
        self._master: int | None = None
        self._slave: int | None = None
        self._port: SerialPort | None = None
        self.link: Path | None = None
        self.path: str | None = None
        self._seq = -1  # the first frame after power-up carries SEQ 0
        self._last_key_seq = 0
        # (SEQ, frame bytes, status) of the last host command answered: the
        # same frame again is a retransmission, re-ACKed, not run again.
        self._last_command: tuple[int, bytes, framed.AckStatus] | None = None
        self.retransmissions_seen = 0
        #: How the device answers a PROMPT: REJECTED plays a unit that cannot
        #: show it (a model without the feature, a broken display).
        self.prompt_status = framed.AckStatus.OK
        #: What the device's own screen shows: idle, prompt, need_reasons, thanks, retry.
        self.display = "idle"
        self._pending: dict[int, _PendingKey] = {}
        self.acks: dict[int, framed.AckStatus] = {}
        self.received: list[framed.HostCommand] = []
        self.current_prompt: framed.Prompt | None = None
        self.duty_card: framed.ShowDutyCard | None = None
        self._decoder = framed.FrameDecoder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start_pty(self, link: str | os.PathLike[str] | None = None) -> str:
        """Create a pseudo-terminal; returns the path for the host (the link if given)."""
        self.link = Path(link) if link is not None else None
        self._open_pty()
        self._start_thread()
        return str(self.link) if self.link else str(self.path)

    def attach(self, port: str | serial.SerialBase | SerialPort, baudrate: int = 9600) -> None:
        """Act as the device on an existing port (a socat pty end, a null-modem cable)."""
        opened = (
            open_serial(port, baudrate, 0.05) if isinstance(port, str) else cast(SerialPort, port)
        )
        with self._lock:
            self._port = opened
        self.path = str(opened.port or "")
        self._start_thread()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None
        self._close_pty()
        if self.link is not None:
            self._remove_link()
        with self._lock:
            port, self._port = self._port, None
        if port is not None:
            port.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def add_listener(self, listener: CommandListener) -> None:
        self._listeners.append(listener)

    # ------------------------------------------------------- unplug and re-plug

    def unplug(self) -> None:
        """The port disappears: the pty is closed and the link removed."""
        if self._port is not None:
            raise SimulatorError("只有自建的伪终端可以模拟拔出")
        self._close_pty()
        if self.link is not None:
            self._remove_link()

    def replug(self) -> str:
        """A new pty appears at the same link (a new /dev/pts number)."""
        self._open_pty()
        return str(self.link) if self.link else str(self.path)

    @property
    def plugged(self) -> bool:
        return self._master is not None or self._port is not None

    def _open_pty(self) -> None:
        master, slave = pty.openpty()
        # Raw from the start: otherwise the line discipline echoes and
        # translates bytes until the host opens the port and sets raw itself.
        tty.setraw(slave)
        tty.setraw(master)
        path = os.ttyname(slave)
        with self._lock:
            self._master, self._slave = master, slave
            self._decoder = framed.FrameDecoder()
            self._pending.clear()
        self.path = path
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            os.symlink(path, tmp)
            os.replace(tmp, self.link)  # atomic: the host never sees a half-made link
        log.info("模拟评价器（%s 协议）在 %s", self.protocol, self.link or path)

    def _close_pty(self) -> None:
        with self._lock:
            master, slave = self._master, self._slave
            self._master = self._slave = None
        for fd in (master, slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _remove_link(self) -> None:
        assert self.link is not None
        try:
            if self.link.is_symlink():
                self.link.unlink()
        except OSError as exc:
            log.debug("removing %s: %s", self.link, exc)

    # ------------------------------------------------------------- the device

    def _next_seq_locked(self) -> int:
        # 0 only for the first frame after power-up; then 1..255, 1, 2...
        self._seq = 0 if self._seq < 0 else (self._seq % 255) + 1
        return self._seq

    def power_cycle(self) -> None:
        """The device is switched off and on: it forgets its prompt and starts at SEQ 0."""
        with self._lock:
            self._seq = -1
            self._pending.clear()
            self._last_command = None
        with self._cond:
            self.current_prompt = None
            self.duty_card = None  # a real screen device forgets it too
            self.display = "idle"
            self._cond.notify_all()

    def press_reason(self, number: int) -> float:
        """A number key choosing 差评 reason ``number`` (1..9)."""
        return self._press_code(framed.reason_key(number))

    def press_confirm(self) -> float:
        """The confirm key (确认): submit the chosen reasons."""
        return self._press_code(framed.KEY_CONFIRM)

    def press(self, level: int) -> float:
        """Press a key (1..5; 0 = the device's time-out). Returns perf_counter() at the write.

        For the framed protocol the KEY's SEQ is remembered; :meth:`wait_ack`
        waits for the host's answer, and without one the KEY is sent again
        (``retransmit``).
        """
        if not 0 <= level <= 5:
            raise SimulatorError(f"评价等级应为 1–5（0 表示超时），收到 {level}")
        if self.protocol == "keycode":
            byte = byte_for_level(self.keymap, level)
            if byte is None:
                raise SimulatorError(f"按键映射中没有等级 {level} 对应的按键")
            return self._write(bytes((byte,)))
        return self._press_code(level)

    def _press_code(self, code: int) -> float:
        if self.protocol == "keycode":
            raise SimulatorError("按键码协议的评价器没有原因键和确认键")
        with self._lock:
            seq = self._next_seq_locked()
            self._last_key_seq = seq
            data = framed.encode_device(framed.Key(code), seq)
            with self._cond:
                self.acks.pop(seq, None)
            if self.retransmit:
                self._pending[seq] = _PendingKey(data, time.monotonic())
            return self._write_locked(data)

    @property
    def last_key_seq(self) -> int:
        """SEQ of the last KEY frame sent."""
        return self._last_key_seq

    def timeout(self) -> float:
        return self.press(0)

    def send_raw(self, data: bytes) -> float:
        """Write arbitrary bytes (noise) to the host."""
        return self._write(data)

    def send_noise(self, n: int, rng: random.Random | None = None) -> float:
        r = rng or random.Random()
        return self._write(r.randbytes(n))

    def wait_ack(self, seq: int | None = None, timeout: float = 2.0) -> framed.AckStatus | None:
        """The host's ACK status for a KEY (the last one by default), or None on time-out."""
        key = self._last_key_seq if seq is None else seq
        with self._cond:
            self._cond.wait_for(lambda: key in self.acks, timeout)
            return self.acks.get(key)

    def wait_for_command(
        self, kind: type, timeout: float = 2.0, since: int = 0
    ) -> framed.HostCommand | None:
        """The first command of type ``kind`` received at index >= ``since``."""

        def find() -> framed.HostCommand | None:
            for command in self.received[since:]:
                if isinstance(command, kind):
                    return command
            return None

        with self._cond:
            self._cond.wait_for(lambda: find() is not None, timeout)
            return find()

    def _write(self, data: bytes) -> float:
        with self._lock:
            return self._write_locked(data)

    def _write_locked(self, data: bytes) -> float:
        # The time is taken just before the write that hands the last byte to
        # the kernel: taken after it, a reader thread on the other side may
        # already have processed the bytes before this thread runs again.
        if self._port is not None:
            stamp = time.perf_counter()
            self._port.write(data)
            self._port.flush()
            return stamp
        if self._master is None:
            raise SimulatorError("模拟评价器已拔出或未启动")
        view = memoryview(data)
        while True:
            stamp = time.perf_counter()
            n = os.write(self._master, view)
            view = view[n:]
            if not view:
                return stamp

    # -------------------------------------------------------------- the thread

    def _start_thread(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="evaluator-sim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._read()
            except OSError as exc:
                log.debug("simulator read: %s", exc)
                self._stop.wait(0.05)
                continue
            if data and self.protocol == "framed":
                for frame in self._decoder.feed(data):
                    self._on_frame(frame)
            self._resend_keys()

    def _read(self) -> bytes:
        port = self._port
        if port is not None:
            data = port.read(1)
            if data and port.in_waiting:
                data += port.read(port.in_waiting)
            return bytes(data)
        master = self._master
        if master is None:
            self._stop.wait(0.05)
            return b""
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            return b""
        try:
            return os.read(master, 4096)
        except OSError:
            if self._master != master:
                return b""  # unplugged while we waited
            raise

    def _on_frame(self, frame: framed.Frame) -> None:
        last = self._last_command
        if last is not None and last[0] == frame.seq and last[1] == frame.encode():
            # The host did not hear our DEVICE_ACK: answer again, do not run it again.
            self.retransmissions_seen += 1
            self._reply(framed.DeviceAck(frame.seq, last[2]))
            return
        try:
            command = framed.decode_host(frame)
        except framed.ProtocolError as exc:
            log.warning("模拟评价器收到无效命令：%s", exc)
            self._reply(framed.DeviceAck(frame.seq, framed.AckStatus.REJECTED))
            return
        with self._cond:
            self.received.append(command)
            if isinstance(command, framed.HostAck):
                self.acks[command.acked_seq] = command.status
                self.display = {
                    framed.AckStatus.OK: "thanks",
                    framed.AckStatus.NEED_REASONS: "need_reasons",
                    framed.AckStatus.ERROR: "retry",
                }.get(command.status, "idle")
            elif isinstance(command, framed.Prompt):
                self.current_prompt = command
                self.display = "prompt"
            elif isinstance(command, framed.Cancel):
                self.current_prompt = None
                self.display = "idle"
            elif isinstance(command, framed.ShowDutyCard):
                self.duty_card = command
            self._cond.notify_all()
        if isinstance(command, framed.HostAck):
            with self._lock:
                self._pending.pop(command.acked_seq, None)
            if command.status in (framed.AckStatus.OK, framed.AckStatus.NEED_REASONS):
                with self._cond:
                    self.current_prompt = None
        elif isinstance(command, framed.Heartbeat):
            self._reply(framed.DeviceHeartbeat(self.device_id))
        else:
            status = (
                self.prompt_status if isinstance(command, framed.Prompt) else framed.AckStatus.OK
            )
            self._last_command = (frame.seq, frame.encode(), status)
            self._reply(framed.DeviceAck(frame.seq, status))
        for listener in list(self._listeners):
            try:
                listener(command)
            except Exception:
                log.exception("simulator listener failed")

    def _reply(self, message: framed.DeviceMessage) -> None:
        with self._lock:
            seq = self._next_seq_locked()
            try:
                self._write_locked(framed.encode_device(message, seq))
            except (OSError, SimulatorError, serial.SerialException) as exc:
                log.debug("simulator reply lost: %s", exc)

    def _resend_keys(self) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        with self._lock:
            for seq, pending in list(self._pending.items()):
                if now - pending.sent_at < ACK_TIMEOUT_S:
                    continue
                if pending.tries > KEY_RETRIES:
                    del self._pending[seq]
                    log.warning("模拟评价器：按键 seq=%d 未获确认", seq)
                    continue
                pending.tries += 1
                pending.sent_at = now
                try:
                    self._write_locked(pending.frame)
                except (OSError, SimulatorError, serial.SerialException):
                    del self._pending[seq]


# ------------------------------------------------------------------ scripts


@dataclass(frozen=True)
class Step:
    # wait | press | reason | confirm | power_cycle | timeout | noise | unplug | replug
    # | await_prompt
    action: str
    value: float = 0.0


_ACTIONS = {
    "wait",
    "press",
    "reason",
    "confirm",
    "power_cycle",
    "timeout",
    "noise",
    "unplug",
    "replug",
    "await_prompt",
}


# A script waits at most a day and sends at most 10 MB of noise: a larger
# number is a typo (and overflows the clock or the buffer).
_MAX_SCRIPT_WAIT_S = 86_400
_MAX_SCRIPT_NOISE = 10_000_000


def parse_script(text: str) -> list[Step]:
    """``"wait:1,press:5"`` → steps. Raises SimulatorError with a Chinese message."""
    steps: list[Step] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        action, _, arg = part.partition(":")
        action = action.strip().lower()
        if action not in _ACTIONS:
            raise SimulatorError(
                f"脚本步骤 {part!r} 无效：可用 wait:秒、press:等级、reason:原因序号、confirm、"
                "power_cycle、timeout、noise:字节数、unplug、replug、await_prompt:秒"
            )
        try:
            value = float(arg) if arg.strip() else 0.0
        except ValueError:
            raise SimulatorError(f"脚本步骤 {part!r} 的参数不是数字") from None
        if action == "press" and (value != int(value) or not 1 <= value <= 5):
            raise SimulatorError(f"脚本步骤 {part!r}：评价等级应为 1–5")
        if action == "reason" and (value != int(value) or not 1 <= value <= framed.MAX_REASON_KEYS):
            raise SimulatorError(f"脚本步骤 {part!r}：原因序号应为 1–{framed.MAX_REASON_KEYS}")
        if action in ("wait", "noise", "await_prompt") and value < 0:
            raise SimulatorError(f"脚本步骤 {part!r}：参数不能为负数")
        if action in ("wait", "await_prompt") and not value <= _MAX_SCRIPT_WAIT_S:
            raise SimulatorError(
                f"脚本步骤 {part!r}：等待最多 {_MAX_SCRIPT_WAIT_S} 秒（一天）"
            )
        if action == "noise" and not value <= _MAX_SCRIPT_NOISE:
            raise SimulatorError(f"脚本步骤 {part!r}：干扰字节最多 {_MAX_SCRIPT_NOISE:,} 个")
        steps.append(Step(action, value))
    return steps


def run_script(
    sim: Simulator,
    steps: list[Step],
    stop: threading.Event | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> None:
    halt = stop or threading.Event()
    for step in steps:
        if halt.is_set():
            return
        if step.action == "wait":
            halt.wait(step.value)
        elif step.action == "press":
            sim.press(int(step.value))
            say(f"按下 {int(step.value)}")
        elif step.action == "reason":
            sim.press_reason(int(step.value))
            say(f"按下原因键 {int(step.value)}")
        elif step.action == "confirm":
            sim.press_confirm()
            say("按下确认键")
        elif step.action == "power_cycle":
            sim.power_cycle()
            say("已断电重启")
        elif step.action == "timeout":
            sim.timeout()
            say("发送超时（0）")
        elif step.action == "noise":
            sim.send_noise(int(step.value))
            say(f"发送 {int(step.value)} 字节随机噪声")
        elif step.action == "unplug":
            sim.unplug()
            say("已拔出")
        elif step.action == "replug":
            say(f"已重新插入：{sim.replug()}")
        elif step.action == "await_prompt":
            since = len(sim.received)
            # In short slices, so that SIGTERM (the stop event) ends a long wait.
            until = time.monotonic() + (step.value or 3600.0)
            got = None
            while got is None and not halt.is_set() and time.monotonic() < until:
                got = sim.wait_for_command(
                    framed.Prompt, min(0.2, max(0.0, until - time.monotonic())), since
                )
            if halt.is_set() and got is None:
                return
            say("收到评价提示" if got else "等待评价提示超时")
