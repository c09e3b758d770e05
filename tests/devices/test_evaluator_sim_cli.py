"""`hallapp evaluator-sim` as its own process, driven by a script, against the client side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hallapp.devices.bridge import EvaluatorBridge
from hallapp.devices.driver import DriverState, EvaluatorDriver
from hallapp.devices.simulator import SimulatorError, parse_script

from hallapp.evaluation import EvaluationDesk

HALLAPP = [sys.executable, "-m", "hallapp"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    config = tmp_path / "hallapp.toml"
    config.write_text('[evaluator]\nprotocol = "framed"\n', encoding="utf-8")
    env["HALLAPP_CONFIG"] = str(config)
    env["HALLAPP_LOG_DIR"] = str(tmp_path / "log")
    return env


def test_scripted_simulator_evaluates_an_open_case(tmp_path, hall):
    link = tmp_path / "evaluator"
    proc = subprocess.Popen(
        [
            *HALLAPP,
            "evaluator-sim",
            "--pty",
            "--link",
            str(link),
            "--script",
            "await_prompt:20,press:5,wait:0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
    )
    desk = EvaluationDesk(hall.store, "A03", timeout_s=30)
    driver = EvaluatorDriver(str(link))
    EvaluatorBridge(driver, desk)
    try:
        deadline = time.monotonic() + 20
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        driver.start()
        assert driver.wait_for_state(DriverState.CONNECTED, 5)
        case_id = hall.new_case()
        desk.open(case_id)
        out, err = proc.communicate(timeout=30)
    finally:
        driver.stop()
        desk.close()
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert f"模拟评价器（framed 协议）已就绪：{link}" in text
    assert "请评价：办件 LCA03" in text and "工作人员 张丽华" in text
    assert "评价已记录，谢谢" in text
    (ev,) = hall.evaluations()
    assert (ev.case_id, ev.level, ev.device) == (case_id, 5, "SIM-EVAL-0001")
    assert not link.exists()  # the simulator removes its link when it quits


def test_bad_script_is_refused_with_a_chinese_message(tmp_path):
    proc = subprocess.run(
        [*HALLAPP, "evaluator-sim", "--pty", "--script", "press:9"],
        capture_output=True,
        env=_env(tmp_path),
        timeout=30,
    )
    assert proc.returncode == 2
    assert "评价等级应为 1–5" in proc.stderr.decode()


def test_parse_script():
    steps = parse_script("wait:1, press:5 ,timeout,noise:100,unplug,replug,await_prompt:3")
    assert [s.action for s in steps] == [
        "wait",
        "press",
        "timeout",
        "noise",
        "unplug",
        "replug",
        "await_prompt",
    ]
    for bad in ("jump:1", "press:x", "wait:-1", "press:2.5"):
        with pytest.raises(SimulatorError):
            parse_script(bad)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_simulator_while_its_script_waits(tmp_path, sig):
    # A script waiting 15 minutes for a prompt must still stop when told to.
    link = tmp_path / "evaluator"
    proc = subprocess.Popen(
        [*HALLAPP, "evaluator-sim", "--pty", "--link", str(link), "--script",
         "await_prompt:900,press:5", "--stay"],
        env=_env(tmp_path), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert link.exists()
        time.sleep(0.5)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
