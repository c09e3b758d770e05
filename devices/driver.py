"""The evaluator driver: a thread that owns a serial port and reports typed events.

Threads (read this before connecting a UI):

- One reader thread per driver (named ``evaluator-<name>``) opens the port,
  reads, parses, sends heartbeats and reconnects. **Every listener callback
  runs on that thread**, synchronously: a callback that takes long delays the
  next frame, and a callback must not touch Qt widgets (post to the GUI
  thread, e.g. through a Qt signal, which queues across threads).
- The ``send``/``prompt``/``cancel``/``show_duty_card``/``ack`` methods may be
  called from any thread; writes are serialised by a lock.
- ``state``, ``status()`` and ``wait_for_state()`` may be read from any thread.

The port may be given as a device name (``/dev/ttyUSB0``, ``COM3``), a pyserial
URL (``loop://``, ``rfc2217://host:port``...) or an already open pyserial
object. When the port fails (unplugged: reads raise, the path disappears), the
driver closes it and tries to open it again every ``reconnect_interval``
seconds, so a re-plugged device is back well within 2 s.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

import serial
from hallapp.devices import framed
from hallapp.devices.keycode import TIMEOUT_LEVEL, KeyCodeDecoder, parse_keymap

log = logging.getLogger(__name__)

PROTOCOLS = ("framed", "keycode")


class SerialPort(Protocol):
    """The part of a pyserial port the driver and the simulator use."""

    port: str | None
    name: str | None
    timeout: float | None
    write_timeout: float | None

    @property
    def is_open(self) -> bool: ...
    @property
    def in_waiting(self) -> int: ...
    def open(self) -> None: ...
    def close(self) -> None: ...
    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes, /) -> int | None: ...
    def flush(self) -> None: ...


def printable_identity(text: str) -> str:
    """A device's identity as stored with its evaluations: without control,
    format or other invisible characters (a NUL cannot be stored centrally,
    and stopped the window's push for good), outer spaces removed."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()


def open_serial(url: str, baudrate: int, timeout: float) -> SerialPort:
    """A device name or a pyserial URL, opened."""
    port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=1.0)
    return cast(SerialPort, port)


# Timing of the framed protocol (docs/evaluator-protocol.md, "Timing").
HEARTBEAT_INTERVAL_S = 2.0
SILENCE_LIMIT_S = 3 * HEARTBEAT_INTERVAL_S  # no frame for this long: device not responding
ACK_TIMEOUT_S = 0.5  # device must ACK a host command within this time
COMMAND_RETRIES = 2  # host command retransmissions before a DeviceError
KEY_DEDUP_WINDOW_S = 2.0  # a KEY with the SEQ just acknowledged is a retransmission
FRAME_GAP_S = 0.05  # a partial frame with no new byte for this long is noise
# A KEY that told of a restart waits this long for the DEVICE_HEARTBEAT asked
# for at once (the device answers within 200 ms), well before its resend.
KEY_HOLD_S = 0.25
RECONNECT_INTERVAL_S = 0.2


class DriverState(enum.StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"  # started, port not open yet
    CONNECTED = "connected"
    LOST = "lost"  # was connected, port failed; reopening

    @property
    def label(self) -> str:
        return {
            "stopped": "未启动",
            "connecting": "正在连接",
            "connected": "已连接",
            "lost": "连接中断，正在重连",
        }[self.value]


# ------------------------------------------------------------------------ events


@dataclass(frozen=True)
class KeyPressed:
    level: int  # 1..5
    raw: bytes  # the frame or the key byte as received
    seq: int | None = None  # framed protocol: the frame's SEQ, to ACK
    received_at: float = 0.0  # time.perf_counter() when the last byte was parsed


@dataclass(frozen=True)
class ReasonKeyPressed:
    """A number key while a 差评 awaits reasons: ``number`` chooses / unchooses reason n;
    ``number`` 0 is the confirm key (确认)."""

    number: int
    raw: bytes
    seq: int | None = None


@dataclass(frozen=True)
class DeviceRestarted:
    """The device's frame with SEQ 0: it was powered up again and forgot its state."""

    port: str


@dataclass(frozen=True)
class DeviceTimedOut:
    """The device reports its own countdown ran out (level 0)."""

    raw: bytes
    seq: int | None = None


@dataclass(frozen=True)
class Connected:
    port: str


@dataclass(frozen=True)
class Lost:
    port: str
    reason: str


@dataclass(frozen=True)
class Responding:
    """A framed device that had gone silent (DeviceError "无响应") is heard again."""

    port: str


@dataclass(frozen=True)
class DeviceError:
    message: str  # Chinese, for the clerk
    detail: str = ""  # for the log
    #: The device refused the PROMPT: its keys are not lit for this evaluation.
    prompt_refused: bool = False


DriverEvent = (
    KeyPressed
    | ReasonKeyPressed
    | DeviceTimedOut
    | DeviceRestarted
    | Connected
    | Lost
    | Responding
    | DeviceError
)
Listener = Callable[[DriverEvent], None]


@dataclass(frozen=True)
class DriverStatus:
    state: DriverState
    port: str
    protocol: str
    device_id: str
    responding: bool  # framed: a frame was heard within SILENCE_LIMIT_S
    last_heard: float | None  # time.monotonic() of the last byte parsed into a message
    connects: int
    losses: int
    noise_bytes: int
    resends: int = 0  # host commands sent again because no DEVICE_ACK came in time


@dataclass
class _Pending:
    frame: bytes
    sent_at: float
    tries: int = 1


@dataclass
class _Counters:
    connects: int = 0
    losses: int = 0
    extra_noise: int = 0
    resends: int = 0
    pending: dict[int, _Pending] = field(default_factory=dict)


class DriverError(Exception):
    """The driver cannot be set up (bad arguments); the message is in Chinese."""


class EvaluatorDriver:
    """Reads one evaluator; see the module docstring for the threading rules."""

    def __init__(
        self,
        port: str | serial.SerialBase | SerialPort,
        *,
        protocol: str = "framed",
        keymap: Mapping[str, int] | Mapping[int, int] | str | None = None,
        baudrate: int = 9600,
        device_id: str = "",
        on_event: Listener | None = None,
        reconnect_interval: float = RECONNECT_INTERVAL_S,
        heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
        read_timeout: float = 0.05,
        silence_limit: float = SILENCE_LIMIT_S,
        ack_timeout: float = ACK_TIMEOUT_S,
        name: str = "",
    ) -> None:
        # Arguments are checked before any I/O, so a bad config fails at once.
        if protocol not in PROTOCOLS:
            raise DriverError(f"未知的评价器协议 {protocol!r}，可选：framed、keycode")
        if isinstance(port, str) and not port.strip():
            raise DriverError("未配置评价器串口")
        if baudrate <= 0:
            raise DriverError(f"波特率 {baudrate} 无效")
        self.protocol = protocol
        self._keymap = parse_keymap(keymap)
        self._given_port = port
        self.port_name = port if isinstance(port, str) else str(port.port or port.name or "")
        self.baudrate = baudrate
        self._configured_device_id = device_id
        self._device_id = device_id
        #: Raw identities already seen (each odd one is logged once).
        self._told_identities: set[str] = set()
        self.reconnect_interval = reconnect_interval
        self.heartbeat_interval = heartbeat_interval
        self.read_timeout = read_timeout
        self.silence_limit = silence_limit
        self.ack_timeout = ack_timeout
        self.name = name or self.port_name
        self._listeners: list[Listener] = [on_event] if on_event else []
        self._serial: SerialPort | None = None
        self._write_lock = threading.Lock()
        self._state = DriverState.STOPPED
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._counters = _Counters()
        self._frames = framed.FrameDecoder()
        self._keys = KeyCodeDecoder(self._keymap)
        self._last_heard: float | None = None
        self._last_rx_byte = 0.0
        self._connected_at = 0.0
        self._next_heartbeat = 0.0
        self._reported_silent = False
        # (seq, monotonic time, status, payload) of the last KEY acknowledged.
        self._last_key_ack: tuple[int, float, framed.AckStatus, bytes] | None = None
        self._last_key_payload = b""
        # Set by the first device frame after the port opened: a later SEQ 0
        # means the device restarted.
        self._device_started = False
        # A KEY with SEQ 0 after a restart, until the device says who it is.
        self._held_key: tuple[framed.Frame, framed.Key, float] | None = None

    # ----------------------------------------------------------------- lifecycle

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def start(self) -> None:
        if self._thread is not None:
            raise DriverError("评价器驱动已启动")
        self._stop.clear()
        self._set_state(DriverState.CONNECTING)
        self._thread = threading.Thread(
            target=self._run, name=f"evaluator-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._close_port()
        self._set_state(DriverState.STOPPED)

    def __enter__(self) -> EvaluatorDriver:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------------- state

    @property
    def state(self) -> DriverState:
        return self._state

    @property
    def device_id(self) -> str:
        """The device's identity: from its heartbeat (framed), else as configured, else the port."""
        return self._device_id or self.port_name

    @property
    def supports_commands(self) -> bool:
        """Whether the device can be prompted (only the framed protocol talks back)."""
        return self.protocol == "framed"

    def status(self) -> DriverStatus:
        last = self._last_heard
        # Silent for a whole silence limit, counted from the port's opening
        # when nothing was heard since, as the "无响应" report counts it: a
        # replugged device is 已连接 before its first answer arrives, and no
        # event would come to correct a 无响应 shown then.
        heard = last if last is not None else self._connected_at
        responding = self._state == DriverState.CONNECTED and (
            self.protocol == "keycode" or time.monotonic() - heard < self.silence_limit
        )
        noise = self._frames.stats.dropped_bytes + self._keys.stats.unmapped_bytes
        return DriverStatus(
            state=self._state,
            port=self.port_name,
            protocol=self.protocol,
            device_id=self.device_id,
            responding=responding,
            last_heard=last,
            connects=self._counters.connects,
            losses=self._counters.losses,
            noise_bytes=noise + self._counters.extra_noise,
            resends=self._counters.resends,
        )

    def wait_for_state(self, state: DriverState, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._state == state, timeout)

    def _set_state(self, state: DriverState) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()

    # ------------------------------------------------------------- host commands

    def send(self, command: framed.HostCommand) -> int | None:
        """Send a host command; returns its SEQ, or None if not sent (keycode, port down)."""
        if not self.supports_commands:
            return None
        tracked = isinstance(command, framed.Prompt | framed.Cancel | framed.ShowDutyCard)
        with self._write_lock:
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
            data = framed.encode_host(command, seq)
            if isinstance(command, framed.Prompt | framed.Cancel):
                # A newer PROMPT or CANCEL decides what the device shows: an
                # older one still awaiting its DEVICE_ACK is never sent again
                # (resent after it, a CANCEL would clear the newer prompt).
                self._drop_pending(framed.Command.PROMPT, framed.Command.CANCEL)
            # Pending *before* the bytes leave: a device that answers within
            # microseconds has its DEVICE_ACK handled by the reader thread
            # while this thread still returns from write(); recorded after,
            # the command would wait for an ACK already gone, and be resent.
            if tracked:
                self._counters.pending[seq] = _Pending(data, time.monotonic())
            if not self._write_locked(data):
                if tracked:
                    self._counters.pending.pop(seq, None)
                return None
        return seq

    def _drop_pending(self, *commands: int) -> None:
        for seq, pending in list(self._counters.pending.items()):
            # The frame's CMD byte (AA 55 LEN ~LEN SEQ CMD …).
            if len(pending.frame) > 5 and pending.frame[5] in commands:
                self._counters.pending.pop(seq, None)

    def prompt(self, case_no: str, clerk_name: str, timeout_s: int = 60) -> int | None:
        return self.send(framed.Prompt(case_no, clerk_name, timeout_s))

    def cancel(self) -> int | None:
        return self.send(framed.Cancel())

    def show_duty_card(self, name: str, title: str, window: str) -> int | None:
        return self.send(framed.ShowDutyCard(name, title, window))

    def ack(self, seq: int | None, status: framed.AckStatus = framed.AckStatus.OK) -> bool:
        """Acknowledge a KEY (call after the evaluation is committed). No-op for keycode.

        Called again for the same SEQ (a 差评 answered NEED_REASONS whose
        reasons were then recorded), it tells the device the final outcome.
        """
        if seq is None or not self.supports_commands:
            return False
        self._last_key_ack = (seq, time.monotonic(), status, self._last_key_payload)
        return self.send(framed.HostAck(seq, status)) is not None

    def _write_locked(self, data: bytes) -> bool:
        port = self._serial
        if port is None:
            return False
        try:
            port.write(data)
            return True
        except (serial.SerialException, OSError) as exc:
            # The reader thread notices the failure on its next read and reconnects.
            log.warning("评价器 %s 写入失败：%s", self.port_name, exc)
            return False

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._serial is None and not self._open():
                self._stop.wait(self.reconnect_interval)
                continue
            try:
                self._poll_once()
            except (serial.SerialException, OSError) as exc:
                if self._stop.is_set():
                    break
                self._close_port()
                self._counters.losses += 1
                self._set_state(DriverState.LOST)
                log.warning("评价器 %s 连接中断：%s", self.port_name, exc)
                self._emit(Lost(self.port_name, str(exc)))
            except Exception:  # a bug must not kill the only reader of the device
                log.exception("评价器 %s 处理数据出错", self.port_name)
                self._emit(DeviceError("评价器数据处理出错，详见日志", "unexpected exception"))

    def _open(self) -> bool:
        try:
            port = self._open_port()
        except (serial.SerialException, OSError, ValueError) as exc:
            log.debug("评价器 %s 打开失败：%s", self.port_name, exc)
            return False
        with self._write_lock:
            self._serial = port
        self._frames = framed.FrameDecoder()
        self._keys = KeyCodeDecoder(self._keymap)
        self._counters.pending.clear()
        self._device_started = False
        self._held_key = None
        self._last_key_ack = None
        self._reported_silent = False
        self._last_heard = None
        self._connected_at = time.monotonic()
        self._counters.connects += 1
        if self.supports_commands:
            # Ask for the device's identity at once, before anyone is told the
            # port is up, so its answer precedes the answers to later commands.
            self._next_heartbeat = time.monotonic() + self.heartbeat_interval
            with self._write_lock:
                self._seq = (self._seq + 1) & 0xFF
                self._write_locked(framed.encode_host(framed.Heartbeat(), self._seq))
        self._set_state(DriverState.CONNECTED)
        log.info("评价器 %s 已连接（%s 协议）", self.port_name, self.protocol)
        self._emit(Connected(self.port_name))
        return True

    def _open_port(self) -> SerialPort:
        if isinstance(self._given_port, str):
            return open_serial(self._given_port, self.baudrate, self.read_timeout)
        given = cast(SerialPort, self._given_port)
        given.timeout = self.read_timeout
        if given.write_timeout is None:
            given.write_timeout = 1.0
        if not given.is_open:
            given.open()
        return given

    def _close_port(self) -> None:
        with self._write_lock:
            port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("closing %s: %s", self.port_name, exc)

    def _poll_once(self) -> None:
        port = self._serial
        assert port is not None
        data = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        now = time.monotonic()
        if data:
            self._last_rx_byte = now
            self._handle_bytes(data)
        elif (
            self.protocol == "framed"
            and self._frames.pending
            and (now - self._last_rx_byte > FRAME_GAP_S)
        ):
            self._handle_frames(self._frames.expire_partial())
        if self.supports_commands:
            self._housekeeping(now)

    def _send_heartbeat(self, now: float) -> None:
        self._next_heartbeat = now + self.heartbeat_interval
        with self._write_lock:
            self._seq = (self._seq + 1) & 0xFF
            self._write_locked(framed.encode_host(framed.Heartbeat(), self._seq))

    def _housekeeping(self, now: float) -> None:
        if self._held_key is not None and now - self._held_key[2] > KEY_HOLD_S:
            self._release_held_key()  # no identity came: the press must not wait longer
        if now >= self._next_heartbeat:
            self._send_heartbeat(now)
        for seq, pending in list(self._counters.pending.items()):
            if now - pending.sent_at < self.ack_timeout:
                continue
            if pending.tries > COMMAND_RETRIES:
                del self._counters.pending[seq]
                log.warning("评价器 %s 未确认命令 seq=%d", self.port_name, seq)
                self._emit(DeviceError("评价器未响应命令，请检查连接", f"no ACK for seq {seq}"))
                continue
            pending.tries += 1
            pending.sent_at = now
            self._counters.resends += 1
            log.info("评价器 %s 未及时确认命令 seq=%d，重发", self.port_name, seq)
            with self._write_lock:
                self._write_locked(pending.frame)
        heard = self._last_heard if self._last_heard is not None else self._connected_at
        if now - heard > self.silence_limit and not self._reported_silent:
            self._reported_silent = True
            log.warning("评价器 %s 无响应（无心跳）", self.port_name)
            self._emit(DeviceError("评价器无响应，请检查电源和连线", "no heartbeat"))

    def _handle_bytes(self, data: bytes) -> None:
        if self.protocol == "framed":
            self._handle_frames(self._frames.feed(data))
            return
        for key in self._keys.feed(data):
            self._last_heard = time.monotonic()
            raw = bytes((key.raw,))
            if key.level == TIMEOUT_LEVEL:
                self._emit(DeviceTimedOut(raw))
            else:
                self._emit(KeyPressed(key.level, raw, None, time.perf_counter()))

    def _handle_frames(self, frames: list[framed.Frame]) -> None:
        for frame in frames:
            try:
                message = framed.decode_device(frame)
            except framed.ProtocolError as exc:
                self._counters.extra_noise += len(frame.payload) + framed.OVERHEAD
                log.warning("评价器 %s 发来无法识别的数据帧：%s（%s）", self.port_name, exc, frame)
                if frame.cmd == framed.Command.KEY:
                    # A well-framed KEY the host cannot read (a payload of the
                    # wrong length: a vendor's flags byte) is answered, never
                    # counted: the device keeps a KEY until its ACK comes, and
                    # silence would leave it showing 正在提交… for good.
                    self._last_heard = time.monotonic()
                    self.ack(frame.seq, framed.AckStatus.IGNORED)
                continue
            self._last_heard = time.monotonic()
            if self._reported_silent:
                self._reported_silent = False
                log.info("评价器 %s 恢复响应", self.port_name)
                self._emit(Responding(self.port_name))
            self._on_message(frame, message)

    def _on_message(self, frame: framed.Frame, message: framed.DeviceMessage) -> None:
        held = self._held_key
        if held is not None and frame.seq == held[0].seq and frame.payload == held[0].payload:
            return  # the device resends the KEY held for its identity: answered with it
        last = self._last_key_ack
        retransmitted = (
            isinstance(message, framed.Key)
            and last is not None
            and last[0] == frame.seq
            and last[3] == frame.payload
            and time.monotonic() - last[1] < KEY_DEDUP_WINDOW_S
        )
        if frame.seq == 0 and self._device_started and not retransmitted:
            # SEQ 0 only in the first frame after power-up (the device then
            # counts 1..255, 1...): the device restarted and forgot its
            # state. The KEY acknowledged last is forgotten too, so a new
            # press that reuses its SEQ is not taken for a retransmission.
            log.info("评价器 %s 已重新上电", self.port_name)
            self._last_key_ack = None
            # Who it is now (another unit may have been put on the port): a
            # HEARTBEAT at once, and a key that told of the restart waits for
            # its answer (at most KEY_HOLD_S), so the press is stored with
            # the identity of the unit that sent it.
            self._send_heartbeat(time.monotonic())
            self._emit(DeviceRestarted(self.port_name))
            if isinstance(message, framed.Key):
                self._held_key = (frame, message, time.monotonic())
                return
        self._device_started = True
        if isinstance(message, framed.DeviceHeartbeat):
            identity = printable_identity(message.device_id)
            # Said once per identity a unit sends, not on every heartbeat
            # (one every 2 s: 14,000 lines a day for one odd unit).
            tell = message.device_id not in self._told_identities
            if tell and len(self._told_identities) < 16:
                self._told_identities.add(message.device_id)
            if tell and identity != message.device_id:
                log.warning("评价器 %s 的设备标识含有不可显示的字符，已去除：%r",
                            self.port_name, message.device_id)
            if len(identity.encode("utf-8")) > framed.MAX_TEXT_BYTES:
                # §3: at most 60 bytes; the rest is not stored (cut at a character).
                cut = identity.encode("utf-8")[: framed.MAX_TEXT_BYTES]
                identity = cut.decode("utf-8", errors="ignore")
                if tell:
                    log.warning(
                        "评价器 %s 的设备标识超过 %d 字节，只保存前面部分：%r",
                        self.port_name, framed.MAX_TEXT_BYTES, message.device_id,
                    )  # fmt: skip
            if tell and "\ufffd" in identity:
                log.warning("评价器 %s 的设备标识不是 UTF-8，无法识别的字节保存为 �：%r",
                            self.port_name, message.device_id)
            if tell and not identity:
                log.warning("评价器 %s 的设备标识为空：评价记录以串口名 %s 标识设备",
                            self.port_name, self.port_name)
            if identity and not self._configured_device_id:
                self._device_id = identity
            self._release_held_key()
            return
        if isinstance(message, framed.DeviceAck):
            sent = self._counters.pending.pop(message.acked_seq, None)
            if message.status != framed.AckStatus.OK:
                log.warning(
                    "评价器 %s 拒绝命令 seq=%d（%s）",
                    self.port_name,
                    message.acked_seq,
                    message.status,
                )
                # The frame's CMD byte (AA 55 LEN ~LEN SEQ CMD …).
                cmd = sent.frame[5] if sent is not None and len(sent.frame) > 5 else None
                if cmd == framed.Command.PROMPT:
                    # Its keys are not lit: the clerk must know, and the
                    # citizen can still rate on the screen.
                    self._emit(DeviceError(
                        "评价器拒绝了本次评价提示，评价器上不能评价：请群众在屏幕上评价，"
                        "并请管理员检查评价器的型号和设置",
                        f"DEVICE_ACK {framed.AckStatus(message.status).name} for PROMPT "
                        f"seq={message.acked_seq}",
                        prompt_refused=True,
                    ))  # fmt: skip
            return
        if self._held_key is not None:
            # Keys in the order pressed: the one held for the identity first.
            self._release_held_key()
        self._on_key(frame, message, retransmitted)

    def _release_held_key(self) -> None:
        held, self._held_key = self._held_key, None
        if held is not None:
            self._on_key(held[0], held[1], False)

    def _on_key(self, frame: framed.Frame, message: framed.Key, retransmitted: bool) -> None:
        last = self._last_key_ack
        # The device shows the prompt it is answering: no need to send it again.
        self._drop_pending(framed.Command.PROMPT)
        if retransmitted and last is not None:
            # The device did not hear our ACK and sent the same KEY again.
            log.info("评价器 %s 重发按键 seq=%d，重新确认", self.port_name, frame.seq)
            with self._write_lock:
                self._seq = (self._seq + 1) & 0xFF
                self._write_locked(
                    framed.encode_host(framed.HostAck(frame.seq, last[2]), self._seq)
                )
            return
        raw = frame.encode()
        self._last_key_payload = frame.payload
        if message.level == TIMEOUT_LEVEL:
            self._emit(DeviceTimedOut(raw, frame.seq))
        elif message.level is not None:
            self._emit(KeyPressed(message.level, raw, frame.seq, time.perf_counter()))
        elif message.reason is not None:
            self._emit(ReasonKeyPressed(message.reason, raw, frame.seq))
        elif message.confirm:
            self._emit(ReasonKeyPressed(0, raw, frame.seq))
        else:
            # A key the host does not know: answered, never counted.
            log.info("评价器 %s 未知按键码 0x%02X，已忽略", self.port_name, message.code)
            self.ack(frame.seq, framed.AckStatus.IGNORED)

    def _emit(self, event: DriverEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("评价器事件处理出错：%s", event)
