"""The host's rules of docs/evaluator-protocol.md, each as an independent device sees it.

Real pseudo-terminals: a device in another process that answers at once, the
simulator, or raw frames written by the test.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import subprocess
import sys
import threading
import time
import tomllib
import tty
from pathlib import Path

import pytest
import serial
from hallapp.devices import framed
from hallapp.devices.driver import DriverState, EvaluatorDriver
from hallapp.devices.keycode import PRESET_FIVE, parse_keymap
from hallapp.devices.simulator import Simulator, SimulatorError, parse_script, run_script

from hallapp.evaluation import BAD_REVIEW_REASONS
from hallapp.models import CaseEventKind

from .conftest import wait_until

AckStatus = framed.AckStatus
ROOT = Path(__file__).resolve().parents[2]

# A device that answers every command the moment its bytes arrive: in its own
# process, so its answer does not wait for the host's GIL (as a fast USB
# adapter or a virtual port answers). It reports each command SEQ it got.
INSTANT_DEVICE = r"""
import os, sys
from hallapp.devices import framed
fd = int(sys.argv[1])
decoder = framed.FrameDecoder()
seq = 0
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    for frame in decoder.feed(data):
        seq = seq % 255 + 1
        if frame.cmd == framed.Command.HEARTBEAT:
            os.write(fd, framed.encode_device(framed.DeviceHeartbeat("FAST-1"), seq))
        elif frame.cmd in (framed.Command.PROMPT, framed.Command.CANCEL):
            os.write(fd, framed.encode_device(framed.DeviceAck(frame.seq), seq))
            print(frame.seq, flush=True)
"""


def test_a_command_acknowledged_at_once_is_never_sent_again():
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    device = subprocess.Popen(
        [sys.executable, "-c", INSTANT_DEVICE, str(master)],
        pass_fds=(master,),
        stdout=subprocess.PIPE,
        text=True,
    )
    stop = threading.Event()

    def busy() -> None:  # the client's GUI thread, drawing and laying out
        while not stop.is_set():
            sum(i * i for i in range(2000))

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # as the window client runs (ui/interpreter.py)
    worker = threading.Thread(target=busy, daemon=True)
    # A generous ACK time-out: a device starved of CPU on a loaded machine still
    # answers in time, so a resend can only be an ACK the host lost.
    driver = EvaluatorDriver(os.ttyname(slave), ack_timeout=2.0)
    try:
        worker.start()
        driver.start()
        assert driver.wait_for_state(DriverState.CONNECTED, 3)
        sent = []
        for i in range(150):
            seq = (
                driver.prompt(f"LCA0320261120{i:04d}", "张丽华") if i % 2 == 0 else driver.cancel()
            )
            assert seq is not None
            sent.append(seq)
            time.sleep(0.003)
        # Past the ACK time-out: an unacknowledged command would have gone again.
        time.sleep(2.6)
        assert driver.status().resends == 0
    finally:
        stop.set()
        driver.stop()
        os.close(slave)
        device.kill()
        out, _ = device.communicate(timeout=5)
        os.close(master)
        sys.setswitchinterval(old_interval)
    received = [int(x) for x in out.split()]
    assert sorted(received) == sorted(sent)  # each exactly once


def test_a_resent_command_is_acknowledged_again_not_run_again(tmp_path):
    """The device's side of §5: the same SEQ and bytes again is a retransmission."""
    sim = Simulator("framed")
    port_path = sim.start_pty(link=tmp_path / "ev")
    port = serial.serial_for_url(port_path, timeout=0.5)
    try:
        frame = framed.encode_host(framed.Prompt("LCA03202611200001", "张丽华", 60), 0x21)
        decoder = framed.FrameDecoder()
        acks: list[framed.DeviceAck] = []
        for _ in range(2):
            port.write(frame)
            deadline = time.monotonic() + 2
            got: list[framed.DeviceAck] = []
            while not got and time.monotonic() < deadline:
                for f in decoder.feed(port.read(64)):
                    message = framed.decode_device(f)
                    if isinstance(message, framed.DeviceAck):
                        got.append(message)
            acks.extend(got)
        assert [(a.acked_seq, a.status) for a in acks] == [(0x21, AckStatus.OK)] * 2
        assert [c for c in sim.received if isinstance(c, framed.Prompt)] == [
            framed.Prompt("LCA03202611200001", "张丽华", 60)
        ]
        assert sim.retransmissions_seen == 1
        # A new command with the same SEQ but other bytes is a new command.
        port.write(framed.encode_host(framed.Cancel(), 0x21))
        assert wait_until(lambda: sim.current_prompt is None and sim.display == "idle")
    finally:
        port.close()
        sim.stop()


def test_the_device_starts_at_seq_0_after_power_up_then_counts_1_to_255():
    sim = Simulator("framed")
    with sim._lock:
        assert [sim._next_seq_locked() for _ in range(3)] == [0, 1, 2]
        sim._seq = 254
        assert [sim._next_seq_locked() for _ in range(3)] == [255, 1, 2]  # never 0 again


def _key(code: int, seq: int) -> bytes:
    return framed.encode_device(framed.Key(code), seq)


def test_a_seq_reused_after_a_power_cycle_is_a_new_press(make_rig, hall):
    rig = make_rig()
    first, second = hall.new_case(), hall.new_case()
    rig.desk.open(first)
    rig.sim.send_raw(_key(5, 7))
    assert rig.sim.wait_ack(7) == AckStatus.OK
    rig.desk.open(second)
    # Power cycle: the device's first frame carries SEQ 0, and within 2 s its
    # count reaches 7 again with the same key.
    rig.sim.acks.pop(7, None)
    rig.sim.send_raw(framed.encode_device(framed.DeviceHeartbeat(rig.sim.device_id), 0))
    rig.sim.send_raw(_key(5, 7))
    assert rig.sim.wait_ack(7) == AckStatus.OK
    assert wait_until(lambda: hall.evaluation_count() == 2)
    assert {e.case_id for e in hall.evaluations()} == {first, second}


def test_the_same_seq_with_another_key_is_a_new_press(make_rig, hall):
    rig = make_rig()
    first, second = hall.new_case(), hall.new_case()
    rig.desk.open(first)
    rig.sim.send_raw(_key(4, 50))
    assert rig.sim.wait_ack(50) == AckStatus.OK
    rig.desk.open(second)
    rig.sim.acks.pop(50, None)
    rig.sim.send_raw(_key(3, 50))  # not a retransmission: another frame
    assert rig.sim.wait_ack(50) == AckStatus.OK
    assert sorted(e.level for e in hall.evaluations()) == [3, 4]


def test_key_0_is_acked_ok_when_it_closes_the_evaluation_and_ignored_otherwise(make_rig, hall):
    rig = make_rig()
    rig.sim.timeout()
    assert rig.sim.wait_ack() == AckStatus.IGNORED  # nothing was open
    case_id = hall.new_case()
    rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    since = len(rig.sim.received)
    rig.sim.timeout()
    assert rig.sim.wait_ack() == AckStatus.OK
    assert hall.event_kinds(case_id)[-1] == CaseEventKind.EVALUATION_EXPIRED
    # The device timed out itself: no CANCEL follows.
    assert rig.sim.wait_for_command(framed.Cancel, 0.8, since) is None
    assert hall.evaluation_count() == 0


def test_every_ignored_key_is_acknowledged_ignored(make_rig, hall):
    rig = make_rig()
    for code in (0x06, 0x7F, 0xFF, framed.reason_key(1), framed.KEY_CONFIRM, 5):
        rig.sim.send_raw(_key(code, 100 + code % 100))
        assert rig.sim.wait_ack(100 + code % 100) == AckStatus.IGNORED, code
    rig.desk.open(hall.new_case())
    rig.sim.send_raw(_key(0x06, 99))  # an unknown key while open: not counted either
    assert rig.sim.wait_ack(99) == AckStatus.IGNORED
    rig.sim.send_raw(_key(framed.reason_key(2), 98))  # no 差评 awaits reasons yet
    assert rig.sim.wait_ack(98) == AckStatus.IGNORED
    assert hall.evaluation_count() == 0 and rig.desk.current is not None


def test_reasons_chosen_with_the_device_keys(make_rig, hall):
    rig = make_rig()
    case_id = hall.new_case()
    rig.desk.open(case_id)
    rig.sim.press(1)
    assert rig.sim.wait_ack() == AckStatus.NEED_REASONS
    assert rig.sim.display == "need_reasons"
    rig.sim.press_confirm()
    assert rig.sim.wait_ack() == AckStatus.NEED_REASONS  # nothing chosen yet
    for n in (2, 7, 2, 3):  # 2 chosen, 7 chosen, 2 unchosen, 3 chosen
        rig.sim.press_reason(n)
        assert rig.sim.wait_ack() == AckStatus.NEED_REASONS
    rig.sim.press_confirm()
    assert rig.sim.wait_ack() == AckStatus.OK
    assert wait_until(lambda: rig.sim.display == "thanks")
    (ev,) = hall.evaluations()
    assert ev.level == 1 and ev.reasons == [BAD_REVIEW_REASONS[2], BAD_REVIEW_REASONS[6]]
    assert ev.device == rig.sim.device_id


def test_after_reasons_chosen_on_the_screen_the_device_gets_ack_ok(make_rig, hall):
    rig = make_rig()
    rig.desk.open(hall.new_case())
    rig.sim.press(2)
    key_seq = rig.sim.last_key_seq
    assert rig.sim.wait_ack() == AckStatus.NEED_REASONS
    since = len(rig.sim.received)
    rig.desk.submit_reasons(["服务态度差"], device="citizen-screen")
    assert wait_until(lambda: rig.sim.acks.get(key_seq) == AckStatus.OK)
    assert rig.sim.display == "thanks"
    assert rig.sim.wait_for_command(framed.Cancel, 0.5, since) is None
    (ev,) = hall.evaluations()
    assert ev.device == rig.sim.device_id  # the identity from DEVICE_HEARTBEAT
    # Evaluated on the screen alone (no device key): the device's prompt is cancelled.
    rig.desk.open(hall.new_case())
    since = len(rig.sim.received)
    rig.desk.press(5, device="citizen-screen")
    assert rig.sim.wait_for_command(framed.Cancel, 2, since) is not None
    assert rig.sim.display == "idle"


def test_an_open_evaluation_is_prompted_again_after_a_replug(make_rig, hall):
    rig = make_rig()
    case_id = hall.new_case()
    opened = rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    rig.sim.unplug()
    assert rig.driver.wait_for_state(DriverState.LOST, 3)
    time.sleep(1.1)
    since = len(rig.sim.received)
    rig.sim.replug()
    assert rig.driver.wait_for_state(DriverState.CONNECTED, 3)
    prompt = rig.sim.wait_for_command(framed.Prompt, 3, since)
    assert isinstance(prompt, framed.Prompt)
    assert prompt.case_no == opened.case_no and prompt.clerk_name == hall.clerk_name
    assert 0 < prompt.timeout_s < 30  # the seconds left, not the full time again
    rig.sim.press(4)
    assert rig.sim.wait_ack() == AckStatus.OK


def test_an_open_evaluation_is_prompted_again_after_a_power_cycle(make_rig, hall):
    rig = make_rig()
    opened = rig.desk.open(hall.new_case())
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    rig.sim.power_cycle()
    since = len(rig.sim.received)
    # The device's first frame after power-up (here its heartbeat answer) has SEQ 0.
    prompt = rig.sim.wait_for_command(framed.Prompt, 4, since)
    assert isinstance(prompt, framed.Prompt) and prompt.case_no == opened.case_no
    assert rig.sim.current_prompt is not None


def test_the_readme_keymap_example_is_the_documented_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", readme, re.S)
    assert block is not None
    config = tomllib.loads(block.group(1))
    example = parse_keymap(config["evaluator"]["keymap"])
    doc = (ROOT / "docs" / "evaluator-protocol.md").read_text(encoding="utf-8")
    assert "`five` (default)" in doc
    assert example == dict(PRESET_FIVE) == parse_keymap({})


def test_simulator_script_steps_for_reasons_and_power_cycle(make_rig, hall):
    rig = make_rig()
    rig.desk.open(hall.new_case())
    steps = parse_script("press:2, wait:0.3, reason:3, wait:0.3, reason:5, wait:0.3, confirm")
    run_script(rig.sim, steps)
    assert wait_until(lambda: hall.evaluation_count() == 1)
    (ev,) = hall.evaluations()
    assert ev.reasons == [BAD_REVIEW_REASONS[2], BAD_REVIEW_REASONS[4]]
    run_script(rig.sim, parse_script("power_cycle"))
    assert rig.sim.display == "idle"
    for bad in ("reason:0", "reason:10", "reason:x"):
        with pytest.raises(SimulatorError):
            parse_script(bad)


def test_a_bad_review_held_over_a_restart_and_finished_on_the_screen_ends_with_cancel(
    make_rig, hall
):
    """The device restarts while its 差评 awaits reasons; the citizen picks them
    on the screen. The KEY answered NEED_REASONS is gone with the restart, so
    the device gets no ACK for it (SEQs start again: it could match a new
    press) but a CANCEL, and stops prompting for a closed evaluation."""
    rig = make_rig()
    case_id = hall.new_case()
    rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    rig.sim.press(2)
    assert rig.sim.wait_ack() == AckStatus.NEED_REASONS
    rig.sim.power_cycle()
    since = len(rig.sim.received)
    assert rig.sim.wait_for_command(framed.Prompt, 4, since) is not None  # prompted again
    rig.desk.submit_reasons([BAD_REVIEW_REASONS[0]], device="citizen-screen")
    assert rig.sim.wait_for_command(framed.Cancel, 2, since) is not None
    assert wait_until(lambda: rig.sim.display == "idle")
    assert not [c for c in rig.sim.received[since:] if isinstance(c, framed.HostAck)]
    (stored,) = hall.evaluations()
    assert (stored.case_id, stored.level) == (case_id, 2)


def test_a_newer_prompt_stops_the_resends_of_an_older_cancel():
    """A CANCEL whose DEVICE_ACK is lost, then the next case's PROMPT: the host
    never sends that CANCEL again after the PROMPT (a device that takes it for
    a new command would clear the newer prompt), nor the PROMPT once the
    device answers it with a key."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    driver = EvaluatorDriver(os.ttyname(slave), ack_timeout=0.1, heartbeat_interval=60)
    try:
        driver.start()
        assert driver.wait_for_state(DriverState.CONNECTED, 2)
        os.set_blocking(master, False)
        driver.cancel()
        time.sleep(0.05)
        prompt_seq = driver.prompt("LCA03202611200002", "张丽华")
        decoder, frames = framed.FrameDecoder(), []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                frames += decoder.feed(os.read(master, 256))
        cmds = [f.cmd for f in frames]
        after = cmds[cmds.index(framed.Command.PROMPT):]
        assert framed.Command.CANCEL not in after
        assert after.count(framed.Command.PROMPT) == 3  # the PROMPT and its 2 resends
        # A key from the device: it shows the prompt; no more resends of it.
        driver.prompt("LCA03202611200003", "张丽华")
        os.write(master, framed.encode_device(framed.Key(5), 1))
        time.sleep(0.05)
        decoder.feed(os.read(master, 4096))  # the PROMPT and the key's ACK
        time.sleep(0.4)
        try:
            later = decoder.feed(os.read(master, 4096))
        except BlockingIOError:
            later = []
        assert framed.Command.PROMPT not in [f.cmd for f in later]
        assert prompt_seq is not None
    finally:
        driver.stop()
        os.close(master)
        os.close(slave)


def test_a_unit_swapped_on_the_port_has_its_first_press_stored_under_its_own_identity(
    make_rig, hall
):
    """A restart seen first as a KEY with SEQ 0 (another unit put on a plain
    RS-232 port): the host asks for a HEARTBEAT at once and stores the press
    with the identity of the unit that sent it, not the previous one's."""
    rig = make_rig()
    case_id = hall.new_case()
    rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    assert wait_until(lambda: rig.driver.device_id == rig.sim.device_id)
    rig.sim.device_id = "SIM-EVAL-0999"  # the new unit answers heartbeats with its own
    rig.sim.send_raw(_key(5, 0))
    assert rig.sim.wait_ack(0) == AckStatus.OK
    (stored,) = hall.evaluations()
    assert (stored.case_id, stored.level, stored.device) == (case_id, 5, "SIM-EVAL-0999")


def test_an_identity_with_invisible_characters_is_stored_without_them(make_rig, hall):
    """A device whose identity holds a NUL (or another control character):
    the evaluation stores it without them (a NUL cannot reach the centre)."""
    rig = make_rig()
    rig.sim.device_id = "EV\x00-00\u200b42\x07"
    since = len(rig.sim.received)
    assert rig.sim.wait_for_command(framed.Heartbeat, 3, since) is not None
    assert wait_until(lambda: rig.driver.device_id == "EV-0042")
    case_id = hall.new_case()
    rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    rig.sim.press(5)
    assert rig.sim.wait_ack() == AckStatus.OK
    (stored,) = hall.evaluations()
    assert stored.device == "EV-0042"


def test_a_key_the_host_cannot_read_is_answered_ignored_not_left_waiting(make_rig, hall):
    """§5: every KEY is answered. A well-framed KEY with a payload of the wrong
    length (a vendor's extra flags byte) got no ACK at all, and a device that
    keeps a KEY until its ACK would show 正在提交… for good."""
    rig = make_rig()
    case_id = hall.new_case()
    rig.desk.open(case_id)
    assert rig.sim.wait_for_command(framed.Prompt, 2) is not None
    rig.sim.send_raw(framed.encode_frame(7, framed.Command.KEY, b"\x05\x05"))
    assert rig.sim.wait_ack(7) == AckStatus.IGNORED
    rig.sim.send_raw(framed.encode_frame(8, framed.Command.KEY, b""))
    assert rig.sim.wait_ack(8) == AckStatus.IGNORED
    assert hall.evaluations() == []  # never counted
    rig.sim.press(4)
    assert rig.sim.wait_ack() == AckStatus.OK
    assert [e.level for e in hall.evaluations()] == [4]


def test_an_identity_too_long_or_not_utf8_is_kept_as_far_as_it_goes(make_rig, hall, caplog):
    """§3: an identity is at most 60 bytes; bytes that are not UTF-8 were taken
    for noise and the evaluation was stored under the port's name instead.
    Each is logged once, not with every heartbeat (one every 2 s)."""
    import logging

    caplog.set_level(logging.WARNING)
    rig = make_rig()
    long_id = ("EV-" + "9" * 70).encode()
    for seq in (10, 11):  # sent twice: logged once
        since = len(rig.sim.received)
        assert rig.sim.wait_for_command(framed.Heartbeat, 3, since) is not None
        rig.sim.send_raw(framed.encode_frame(seq, framed.Command.DEVICE_HEARTBEAT,
                                             bytes([len(long_id)]) + long_id))  # fmt: skip
        assert wait_until(lambda: rig.driver.device_id == ("EV-" + "9" * 70)[:60], timeout=1.5)
    assert caplog.text.count("超过 60 字节") == 1
    since = len(rig.sim.received)
    assert rig.sim.wait_for_command(framed.Heartbeat, 3, since) is not None
    raw = b"EV-\xff\xfe-0042"
    rig.sim.send_raw(framed.encode_frame(9, framed.Command.DEVICE_HEARTBEAT,
                                         bytes([len(raw)]) + raw))  # fmt: skip
    assert wait_until(lambda: rig.driver.device_id == "EV-\ufffd\ufffd-0042", timeout=1.5)
