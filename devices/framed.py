"""The framed evaluator protocol (our own; docs/evaluator-protocol.md is the vendor's copy).

Frame layout (every multi-byte integer is big-endian)::

    AA 55 | LEN | ~LEN | SEQ | CMD | PAYLOAD (LEN bytes) | CRC16 (2 bytes)

- ``AA 55``: two start bytes. Two rather than one make a false start in line
  noise 256 times rarer, so the parser spends less time on false candidates.
- ``LEN``: payload length, 0..MAX_PAYLOAD; ``~LEN`` is its one's complement
  (``LEN ^ 0xFF``). The complement rejects a corrupted length at once, before
  the parser waits for bytes of a frame that does not exist, and makes every
  single-bit error in the length detectable without relying on the CRC.
- ``SEQ``: sequence number chosen by the sender (0..255, wrapping); an ACK
  names the SEQ it acknowledges, and a retransmitted frame keeps its SEQ.
- ``CMD``: command code; host → device codes are 0x01..0x7F, device → host
  codes have the high bit set.
- ``CRC16``: CRC-16/CCITT-FALSE (also called CRC-16/IBM-3740: polynomial
  0x1021, initial value 0xFFFF, no reflection, no final XOR; check value
  ``0x29B1`` for ASCII "123456789") over LEN, ~LEN, SEQ, CMD and PAYLOAD.
  It is computed with the standard library's :func:`binascii.crc_hqx` (a C
  implementation of exactly this CRC), so no third-party CRC package is needed.

Strings in payloads are "str8": one length byte, then that many bytes of UTF-8.
"""

from __future__ import annotations

import binascii
import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass

SOF = b"\xaa\x55"
HEADER_SIZE = 6  # AA 55 LEN ~LEN SEQ CMD
CRC_SIZE = 2
OVERHEAD = HEADER_SIZE + CRC_SIZE
MAX_PAYLOAD = 250
MAX_TEXT_BYTES = 60  # per str8 field, so that a PROMPT or duty card always fits


class Command(enum.IntEnum):
    # host -> device
    PROMPT = 0x01
    CANCEL = 0x02
    SHOW_DUTY_CARD = 0x03
    HEARTBEAT = 0x04
    ACK = 0x05
    # device -> host
    KEY = 0x81
    DEVICE_ACK = 0x82
    DEVICE_HEARTBEAT = 0x83


class AckStatus(enum.IntEnum):
    """Status byte of an ACK (both directions)."""

    OK = 0x00  # host: evaluation recorded and committed; device: command done
    IGNORED = 0x01  # host: no open evaluation, duplicate or too late; not recorded
    NEED_REASONS = 0x02  # host: 差评 held until the citizen picks reasons on the screen
    REJECTED = 0x03  # device: command not supported or payload invalid
    ERROR = 0x04  # host: could not be stored; the device should say "please retry"


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data``."""
    return binascii.crc_hqx(data, 0xFFFF)


class ProtocolError(ValueError):
    """A frame with a valid CRC whose content does not make sense."""


@dataclass(frozen=True)
class Frame:
    seq: int
    cmd: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.seq, self.cmd, self.payload)


def encode_frame(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    if not 0 <= seq <= 0xFF or not 0 <= cmd <= 0xFF:
        raise ValueError(f"seq and cmd must be bytes, got seq={seq} cmd={cmd}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((len(payload), len(payload) ^ 0xFF, seq, cmd)) + payload
    return SOF + body + struct.pack(">H", crc16(body))


@dataclass
class DecoderStats:
    frames: int = 0
    crc_errors: int = 0
    length_errors: int = 0
    dropped_bytes: int = 0
    stale_partials: int = 0


class FrameDecoder:
    """Incremental frame parser with resynchronisation.

    Feed it whatever the port gives; it returns the complete frames with a good
    CRC. On a bad length or CRC it drops only the first start byte and scans
    again from the next byte, so a real frame that follows (or hides inside)
    noise is still found. A partial frame that stops growing (see
    :meth:`expire_partial`) is treated as noise too, so a false start that
    claims a long payload cannot hold back the frames after it.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecoderStats()

    @property
    def pending(self) -> int:
        """Bytes held that may be the start of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        return list(self._drain())

    def expire_partial(self) -> list[Frame]:
        """The line went quiet: a held partial frame is noise; rescan past it."""
        frames: list[Frame] = []
        while self._buf:
            # After a drain, whatever is held is one incomplete candidate (or
            # a lone first start byte); it will not grow, so skip its start.
            self.stats.stale_partials += 1
            self.stats.dropped_bytes += 1
            del self._buf[0]
            frames.extend(self._drain())
        return frames

    def _drain(self) -> Iterator[Frame]:
        buf = self._buf
        while True:
            start = buf.find(SOF)
            if start < 0:
                # Keep a trailing first start byte: its partner may come next.
                keep = 1 if buf[-1:] == SOF[:1] else 0
                self.stats.dropped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return
            if start:
                self.stats.dropped_bytes += start
                del buf[:start]
            if len(buf) < 4:
                return
            length = buf[2]
            if buf[3] != length ^ 0xFF or length > MAX_PAYLOAD:
                self.stats.length_errors += 1
                self.stats.dropped_bytes += 1
                del buf[0]
                continue
            total = OVERHEAD + length
            if len(buf) < total:
                return
            body = bytes(buf[2 : HEADER_SIZE + length])
            (crc,) = struct.unpack_from(">H", buf, HEADER_SIZE + length)
            if crc != crc16(body):
                self.stats.crc_errors += 1
                self.stats.dropped_bytes += 1
                del buf[0]
                continue
            del buf[:total]
            self.stats.frames += 1
            yield Frame(seq=body[2], cmd=body[3], payload=body[4:])


# ------------------------------------------------------------------ payload helpers


def _str8(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > MAX_TEXT_BYTES:
        # Cut on a character boundary: a device must never get broken UTF-8.
        raw = raw[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore").encode("utf-8")
    return bytes((len(raw),)) + raw


class _Reader:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.pos = 0

    def u8(self) -> int:
        if self.pos >= len(self.payload):
            raise ProtocolError("payload too short")
        value = self.payload[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        return (self.u8() << 8) | self.u8()

    def str8(self, *, lenient: bool = False) -> str:
        """A length-prefixed UTF-8 text; ``lenient``: bytes that are not UTF-8
        become U+FFFD instead of a ProtocolError (a device's identity: better
        a marked serial number than none)."""
        n = self.u8()
        raw = self.payload[self.pos : self.pos + n]
        if len(raw) != n:
            raise ProtocolError("string runs past the payload")
        self.pos += n
        try:
            return raw.decode("utf-8", errors="replace" if lenient else "strict")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    def end(self) -> None:
        if self.pos != len(self.payload):
            raise ProtocolError(f"{len(self.payload) - self.pos} unexpected payload bytes")


# --------------------------------------------------------------- host -> device


@dataclass(frozen=True)
class Prompt:
    """Ask the citizen to evaluate: case number, clerk's name, seconds allowed."""

    case_no: str
    clerk_name: str
    timeout_s: int = 60

    def payload(self) -> bytes:
        return struct.pack(">H", max(0, min(self.timeout_s, 0xFFFF))) + (
            _str8(self.case_no) + _str8(self.clerk_name)
        )


@dataclass(frozen=True)
class Cancel:
    def payload(self) -> bytes:
        return b""


@dataclass(frozen=True)
class ShowDutyCard:
    name: str
    title: str
    window: str

    def payload(self) -> bytes:
        return _str8(self.name) + _str8(self.title) + _str8(self.window)


@dataclass(frozen=True)
class Heartbeat:
    def payload(self) -> bytes:
        return b""


@dataclass(frozen=True)
class HostAck:
    """The host acknowledges a device frame (a KEY: after the evaluation is committed)."""

    acked_seq: int
    status: AckStatus = AckStatus.OK

    def payload(self) -> bytes:
        return bytes((self.acked_seq, int(self.status)))


HostCommand = Prompt | Cancel | ShowDutyCard | Heartbeat | HostAck

_HOST_CODES: dict[type, Command] = {
    Prompt: Command.PROMPT,
    Cancel: Command.CANCEL,
    ShowDutyCard: Command.SHOW_DUTY_CARD,
    Heartbeat: Command.HEARTBEAT,
    HostAck: Command.ACK,
}


def encode_host(command: HostCommand, seq: int) -> bytes:
    return encode_frame(seq, _HOST_CODES[type(command)], command.payload())


def decode_host(frame: Frame) -> HostCommand:
    """A host command from a frame (the device side: the simulator, a vendor's firmware)."""
    r = _Reader(frame.payload)
    cmd = frame.cmd
    result: HostCommand
    if cmd == Command.PROMPT:
        timeout_s = r.u16()
        result = Prompt(case_no=r.str8(), clerk_name=r.str8(), timeout_s=timeout_s)
    elif cmd == Command.CANCEL:
        result = Cancel()
    elif cmd == Command.SHOW_DUTY_CARD:
        result = ShowDutyCard(name=r.str8(), title=r.str8(), window=r.str8())
    elif cmd == Command.HEARTBEAT:
        result = Heartbeat()
    elif cmd == Command.ACK:
        seq = r.u8()
        result = HostAck(acked_seq=seq, status=_ack_status(r.u8()))
    else:
        raise ProtocolError(f"unknown host command 0x{cmd:02X}")
    r.end()
    return result


# --------------------------------------------------------------- device -> host


#: KEY codes (docs/evaluator-protocol.md §3, "Key codes").
KEY_TIMEOUT = 0x00  # the device's own countdown ran out
KEY_LEVELS = range(1, 6)  # 0x01..0x05: the five level keys, 1 = 非常不满意 … 5 = 非常满意
KEY_REASON_BASE = 0x10  # 0x11..0x19: number key n chooses / unchooses 差评 reason n
MAX_REASON_KEYS = 9
KEY_CONFIRM = 0x1A  # 确认: record the 差评 with the reasons chosen


def reason_key(number: int) -> int:
    """The KEY code of reason number ``number`` (1..9)."""
    if not 1 <= number <= MAX_REASON_KEYS:
        raise ValueError(f"reason number {number} out of range 1..{MAX_REASON_KEYS}")
    return KEY_REASON_BASE + number


@dataclass(frozen=True)
class Key:
    """A key press, by key code: 0 = time-out, 1..5 = levels, 0x11..0x19 reasons, 0x1A confirm.

    Any other code is a valid frame of a key the host does not know: it is
    answered ACK IGNORED, never counted.
    """

    code: int

    def payload(self) -> bytes:
        return bytes((self.code,))

    @property
    def level(self) -> int | None:
        """The level of a level key (1..5), 0 for the time-out, else None."""
        return self.code if self.code <= 5 else None

    @property
    def reason(self) -> int | None:
        """The reason number of a reason key (1..9), else None."""
        n = self.code - KEY_REASON_BASE
        return n if 1 <= n <= MAX_REASON_KEYS else None

    @property
    def confirm(self) -> bool:
        return self.code == KEY_CONFIRM


@dataclass(frozen=True)
class DeviceAck:
    acked_seq: int
    status: AckStatus = AckStatus.OK

    def payload(self) -> bytes:
        return bytes((self.acked_seq, int(self.status)))


@dataclass(frozen=True)
class DeviceHeartbeat:
    """The device's answer to a heartbeat; carries its identity (model/serial)."""

    device_id: str = ""

    def payload(self) -> bytes:
        return _str8(self.device_id)


DeviceMessage = Key | DeviceAck | DeviceHeartbeat

_DEVICE_CODES: dict[type, Command] = {
    Key: Command.KEY,
    DeviceAck: Command.DEVICE_ACK,
    DeviceHeartbeat: Command.DEVICE_HEARTBEAT,
}


def encode_device(message: DeviceMessage, seq: int) -> bytes:
    return encode_frame(seq, _DEVICE_CODES[type(message)], message.payload())


def decode_device(frame: Frame) -> DeviceMessage:
    """A device message from a frame (the host side); ProtocolError if it makes no sense."""
    r = _Reader(frame.payload)
    cmd = frame.cmd
    result: DeviceMessage
    if cmd == Command.KEY:
        result = Key(code=r.u8())
    elif cmd == Command.DEVICE_ACK:
        seq = r.u8()
        value = r.u8()
        # Any status but OK is a refusal (§5), a status this host does not
        # know too: the device answered, it did not carry the command out.
        known = value in AckStatus._value2member_map_
        result = DeviceAck(acked_seq=seq, status=AckStatus(value) if known else AckStatus.REJECTED)
    elif cmd == Command.DEVICE_HEARTBEAT:
        result = DeviceHeartbeat(device_id=r.str8(lenient=True))
    else:
        raise ProtocolError(f"unknown device command 0x{cmd:02X}")
    r.end()
    return result


def _ack_status(value: int) -> AckStatus:
    try:
        return AckStatus(value)
    except ValueError as exc:
        raise ProtocolError(f"unknown ack status 0x{value:02X}") from exc
