"""The framed protocol's codec: round trips, corruption, noise, resynchronisation."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hallapp.devices import framed
from hallapp.devices.framed import (
    AckStatus,
    Command,
    Frame,
    FrameDecoder,
    ProtocolError,
    crc16,
    decode_device,
    decode_host,
    encode_device,
    encode_frame,
    encode_host,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

frames = st.builds(
    Frame,
    seq=st.integers(0, 255),
    cmd=st.integers(0, 255),
    payload=st.binary(max_size=framed.MAX_PAYLOAD),
)


def test_crc_is_ccitt_false_check_value():
    # The catalogue check value of CRC-16/CCITT-FALSE (CRC-16/IBM-3740).
    assert crc16(b"123456789") == 0x29B1


def test_worked_example_from_the_docs():
    # docs/evaluator-protocol.md: KEY level 5 with SEQ 0x01.
    data = encode_device(framed.Key(5), seq=1)
    assert data.hex(" ").upper() == "AA 55 01 FE 01 81 05 C9 76"
    assert crc16(bytes.fromhex("01FE018105")) == 0xC976


def _bitwise_crc(data: bytes) -> int:
    # The textbook shift-register form, independent of binascii.
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@given(st.binary(max_size=300))
def test_crc_matches_the_bitwise_definition(data: bytes):
    assert crc16(data) == _bitwise_crc(data)


@given(frames)
def test_encode_decode_identity(frame: Frame):
    assert FrameDecoder().feed(frame.encode()) == [frame]


@given(st.lists(frames, max_size=5), st.data())
def test_frames_split_anywhere_decode_the_same(items: list[Frame], data: st.DataObject):
    stream = b"".join(f.encode() for f in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    out: list[Frame] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        out += decoder.feed(stream[last:cut])
        last = cut
    assert out == items


@given(frames, st.data())
def test_any_single_bit_corruption_is_rejected(frame: Frame, data: st.DataObject):
    encoded = bytearray(frame.encode())
    bit = data.draw(st.integers(0, len(encoded) * 8 - 1))
    encoded[bit // 8] ^= 1 << (bit % 8)
    decoder = FrameDecoder()
    got = decoder.feed(bytes(encoded))
    got += decoder.expire_partial()  # the line goes quiet after the frame
    assert got == []


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.binary(max_size=4000))
@example(b"\xaa\x55")
@example(b"\xaa\x55\xff\x00" + b"\x00" * 300)
@example(b"\xaa" * 500)
def test_garbage_never_crashes_and_never_yields_a_key(garbage: bytes):
    decoder = FrameDecoder()
    frames_out = decoder.feed(garbage) + decoder.expire_partial()
    for frame in frames_out:
        # A frame out of garbage needs a matching length complement and CRC;
        # even then it must make sense as a key message to count.
        try:
            message = decode_device(frame)
        except ProtocolError:
            continue
        assert not isinstance(message, framed.Key), frame


@given(st.binary(max_size=300), frames, st.binary(max_size=300))
def test_a_frame_is_found_after_and_before_noise(before: bytes, frame: Frame, after: bytes):
    decoder = FrameDecoder()
    out = decoder.feed(before + frame.encode() + after) + decoder.expire_partial()
    assert frame in out


def test_a_false_start_claiming_a_long_payload_does_not_hold_back_the_next_frame():
    # AA 55 + a valid length pair claiming 200 bytes, then a real KEY frame.
    real = encode_device(framed.Key(4), seq=9)
    decoder = FrameDecoder()
    assert decoder.feed(b"\xaa\x55\xc8\x37" + real) == []  # still waiting for 200 bytes
    assert decoder.expire_partial() == [Frame(9, Command.KEY, b"\x04")]


def test_a_megabyte_of_random_bytes_yields_no_device_message():
    rng = random.Random(4)
    decoder = FrameDecoder()
    got: list[Frame] = []
    for _ in range(256):
        got += decoder.feed(rng.randbytes(4096))
    got += decoder.expire_partial()
    assert got == []
    assert decoder.stats.dropped_bytes > 1_000_000 - 16


@given(
    st.one_of(
        st.builds(framed.Prompt, st.text(max_size=30), st.text(max_size=20), st.integers(0, 65535)),
        st.just(framed.Cancel()),
        st.builds(
            framed.ShowDutyCard, st.text(max_size=20), st.text(max_size=20), st.text(max_size=8)
        ),
        st.just(framed.Heartbeat()),
        st.builds(framed.HostAck, st.integers(0, 255), st.sampled_from(AckStatus)),
    ),
    st.integers(0, 255),
)
def test_host_commands_round_trip(command: framed.HostCommand, seq: int):
    (frame,) = FrameDecoder().feed(encode_host(command, seq))
    assert frame.seq == seq
    assert decode_host(frame) == command


@given(
    st.one_of(
        st.builds(framed.Key, st.integers(0, 5)),
        st.builds(framed.DeviceAck, st.integers(0, 255), st.sampled_from(AckStatus)),
        st.builds(framed.DeviceHeartbeat, st.text(max_size=20)),
    ),
    st.integers(0, 255),
)
def test_device_messages_round_trip(message: framed.DeviceMessage, seq: int):
    (frame,) = FrameDecoder().feed(encode_device(message, seq))
    assert decode_device(frame) == message


def test_long_texts_are_cut_on_a_character_boundary():
    prompt = framed.Prompt("LC" + "9" * 70, "欧阳" * 40, 60)
    (frame,) = FrameDecoder().feed(encode_host(prompt, 1))
    got = decode_host(frame)
    assert isinstance(got, framed.Prompt)
    assert len(got.clerk_name.encode()) <= framed.MAX_TEXT_BYTES
    assert prompt.clerk_name.startswith(got.clerk_name)


@pytest.mark.parametrize(
    ("cmd", "payload"),
    [
        (Command.KEY, b""),  # no level
        (Command.KEY, b"\x05\x00"),  # trailing byte
        (Command.DEVICE_HEARTBEAT, b"\x05ab"),  # string runs past the payload
        (0x90, b""),  # unknown command
        (Command.PROMPT, b""),  # a host command is not a device message
    ],
)
def test_well_framed_nonsense_is_a_protocol_error(cmd: int, payload: bytes):
    (frame,) = FrameDecoder().feed(encode_frame(1, cmd, payload))
    with pytest.raises(ProtocolError):
        decode_device(frame)


def test_a_device_ack_with_a_status_the_host_does_not_know_is_a_refusal():
    """§5: a DEVICE_ACK that is not OK is a refusal, whatever its status (a
    vendor's own code too): the device answered; it did not carry it out."""
    for status in (0x05, 0x09, 0x80, 0xFF):
        (frame,) = FrameDecoder().feed(encode_frame(1, Command.DEVICE_ACK, bytes((7, status))))
        assert decode_device(frame) == framed.DeviceAck(7, framed.AckStatus.REJECTED)


def test_key_codes_levels_reasons_confirm_and_unknown_keys():
    def key(code: int) -> framed.Key:
        (frame,) = FrameDecoder().feed(encode_frame(1, Command.KEY, bytes((code,))))
        message = decode_device(frame)
        assert isinstance(message, framed.Key)
        return message

    assert [key(c).level for c in range(6)] == [0, 1, 2, 3, 4, 5]
    assert [key(framed.reason_key(n)).reason for n in range(1, 10)] == list(range(1, 10))
    assert key(0x1A).confirm and key(0x1A).level is None and key(0x1A).reason is None
    # A well-framed key the host does not know is still a KEY (answered IGNORED).
    unknown = key(0x06)
    assert (unknown.level, unknown.reason, unknown.confirm) == (None, None, False)
    with pytest.raises(ValueError):
        framed.reason_key(10)


def test_encode_refuses_oversized_payload():
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame(0, Command.KEY, b"x" * (framed.MAX_PAYLOAD + 1))


DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluator-protocol.md"


def test_every_hex_example_in_the_vendor_document_is_a_valid_frame():
    lines = [ln.strip() for ln in DOC.read_text(encoding="utf-8").splitlines()]
    examples = [bytes.fromhex(ln) for ln in lines if re.fullmatch(r"AA 55( [0-9A-F]{2})+", ln)]
    assert len(examples) >= 9
    for data in examples:
        (frame,) = FrameDecoder().feed(data)
        message = decode_device(frame) if frame.cmd & 0x80 else decode_host(frame)
        reencoded = (
            encode_device(message, frame.seq)  # type: ignore[arg-type]
            if frame.cmd & 0x80
            else encode_host(message, frame.seq)  # type: ignore[arg-type]
        )
        assert reencoded == data
    assert encode_host(framed.Prompt("LCA03202611200001", "张丽华", 60), 0x10) in examples


def test_an_identity_that_is_not_utf8_is_read_marked_not_dropped():
    """A heartbeat whose identity is not UTF-8 is still the device's
    heartbeat: the bytes it cannot read are marked (U+FFFD), not the frame lost."""
    (frame,) = FrameDecoder().feed(encode_frame(1, Command.DEVICE_HEARTBEAT, b"\x04EV\xff1"))
    assert decode_device(frame) == framed.DeviceHeartbeat("EV\ufffd1")
