"""``hallapp evaluator-sim``: a software satisfaction evaluator on a pty or a port.

    hallapp evaluator-sim --pty --link /tmp/evaluator            # keys 1–5, q quits
    hallapp evaluator-sim --protocol keycode --keymap four --pty
    hallapp evaluator-sim --port /dev/ttyUSB1                     # a null-modem cable
    hallapp evaluator-sim --pty --script "await_prompt:30,press:5,wait:1"

It prints the path to give the client (``evaluator.port``), the commands the
host sends (prompt, cancel, duty card, ACK) and what it presses.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallapp.devices.framed import HostCommand
    from hallapp.devices.simulator import Simulator

log = logging.getLogger(__name__)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

KEY_HELP = (
    "按 1–5 评价（5 非常满意 … 1 非常不满意），0 超时；差评原因键 a–g（原因 1–7），回车 确认；"
    "p 断电重启，u 拔出，r 插回，q 退出"
)
# The device's number keys for 差评 reasons 1–7 (1–5 are the level keys here).
REASON_LETTERS = "abcdefg"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "evaluator-sim",
        help="模拟满意度评价器（演示和测试用）",
        description="在伪终端或指定串口上模拟一台评价器，支持 framed 和 keycode 两种协议。",
    )
    p.add_argument(
        "--protocol", choices=("framed", "keycode"), help="协议（默认取配置 evaluator.protocol）"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--port", metavar="PATH", help="在已有串口上模拟（例如 socat 的一端）")
    where.add_argument("--pty", action="store_true", help="新建伪终端并打印其路径（默认）")
    p.add_argument("--link", metavar="PATH", help="在此路径建立指向伪终端的固定符号链接")
    p.add_argument(
        "--keymap",
        metavar="PRESET",
        help="keycode 协议的按键映射预设：five、five_ascii、four（默认取配置 evaluator.keymap）",
    )
    p.add_argument("--device-id", default="SIM-EVAL-0001", help="设备编号（心跳中上报）")
    p.add_argument("--baudrate", type=int, help="串口波特率（默认取配置 evaluator.baudrate）")
    p.add_argument(
        "--script",
        help='按脚本操作后退出，例如 "await_prompt:30,press:5,wait:1"；'
        "步骤：wait:秒、press:等级、timeout、noise:字节数、unplug、replug、await_prompt:秒",
    )
    p.add_argument("--stay", action="store_true", help="脚本执行完后继续接受键盘输入")
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(text, flush=True)


def _port_reason(exc: BaseException) -> str:
    """Why a port did not open, in Chinese: pyserial's text is English, and
    for a file that is no serial port the errno is on the termios error it
    wraps (ENOTTY), not on its own exception."""
    from hallapp.config import os_reason as reason

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return reason(seen)
        code = seen.args[0] if seen.args and isinstance(seen.args[0], int) else None
        if code:  # termios.error(errno, text)
            return reason(OSError(code, ""))
        seen = seen.__cause__ or seen.__context__
    return "详见日志"


def _describe(command: HostCommand) -> str:
    from hallapp.devices import framed

    if isinstance(command, framed.Prompt):
        return (
            f"请评价：办件 {command.case_no}，工作人员 {command.clerk_name}，"
            f"{command.timeout_s} 秒内有效"
        )
    if isinstance(command, framed.Cancel):
        return "评价已取消"
    if isinstance(command, framed.ShowDutyCard):
        return f"当班公示：{command.window} 窗口 {command.name}（{command.title}）"
    if isinstance(command, framed.HostAck):
        labels = {
            framed.AckStatus.OK: "评价已记录，谢谢",
            framed.AckStatus.IGNORED: "按键未计入（无待评价办件或已评价）",
            framed.AckStatus.NEED_REASONS: "请在屏幕上选择不满意的原因",
            framed.AckStatus.ERROR: "保存失败，请重新按键",
        }
        return labels.get(command.status, f"确认 {command.status.name}")
    return ""


def run(args: argparse.Namespace) -> int:
    from hallapp.config import load_config
    from hallapp.devices.keycode import KeymapError
    from hallapp.devices.simulator import Simulator, SimulatorError, parse_script, run_script

    cfg = load_config(args.config)
    if args.baudrate is not None:
        from hallapp.config import ConfigError, parse_config

        try:  # the configuration's own rule for evaluator.baudrate
            parse_config({"evaluator": {"baudrate": args.baudrate}})
        except ConfigError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return EXIT_USAGE
    protocol = args.protocol or str(cfg.get("evaluator.protocol"))
    keymap = args.keymap or cfg.get("evaluator.keymap") or None
    try:
        steps = parse_script(args.script) if args.script else None
        sim = Simulator(protocol, keymap=keymap, device_id=args.device_id)
    except (SimulatorError, KeymapError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_USAGE

    def on_command(command: HostCommand) -> None:
        text = _describe(command)
        if text:
            _say(f"← {text}")

    sim.add_listener(on_command)
    try:
        if args.port:
            baud = args.baudrate or int(cfg.get("evaluator.baudrate"))
            sim.attach(args.port, baudrate=baud)
            where = args.port
        else:
            where = sim.start_pty(link=args.link)
    except Exception as exc:
        log.exception("evaluator-sim could not start")
        why = _port_reason(exc)
        named = f"“{args.port}”" if args.port else "（模拟端口）"
        print(f"错误：无法打开评价器端口{named}：{why}。请检查路径和权限", file=sys.stderr)
        return EXIT_ERROR

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    previous_int = signal.signal(signal.SIGINT, on_signal)  # Ctrl+C ends it the same way
    try:
        _say(f"模拟评价器（{protocol} 协议）已就绪：{where}")
        if sim.path and args.link:
            _say(f"伪终端：{sim.path}")
        if steps is not None:
            run_script(sim, steps, stop, say=lambda m: _say(f"→ {m}"))
            if not args.stay:
                stop.wait(0.2)  # let the last ACK arrive and be shown
                return EXIT_OK
        _interactive(sim, stop)
        return EXIT_OK
    except SimulatorError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        sim.stop()


@contextlib.contextmanager
def _cbreak() -> Iterator[bool]:
    """Single key presses without Enter when stdin is a terminal."""
    if not sys.stdin.isatty():
        yield False
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _interactive(sim: Simulator, stop: threading.Event) -> None:
    _say(KEY_HELP)
    with _cbreak():
        fd = sys.stdin.fileno()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(fd, 64).decode("utf-8", errors="ignore")
            if not chunk:
                return  # end of input
            for ch in chunk:
                if _handle_key(sim, ch) is False:
                    return


def _handle_key(sim: Simulator, ch: str) -> bool | None:
    from hallapp.devices.simulator import SimulatorError

    try:
        if ch in "12345":
            sim.press(int(ch))
            _say(f"→ 按下 {ch}")
        elif ch == "0":
            sim.timeout()
            _say("→ 超时")
        elif ch in REASON_LETTERS:
            n = REASON_LETTERS.index(ch) + 1
            sim.press_reason(n)
            _say(f"→ 原因键 {n}")
        elif ch in "\r\n":
            sim.press_confirm()
            _say("→ 确认")
        elif ch == "p":
            sim.power_cycle()
            _say("→ 断电重启（下一帧 SEQ 0）")
        elif ch == "u":
            sim.unplug()
            _say("→ 已拔出")
        elif ch == "r":
            _say(f"→ 已重新插入：{sim.replug()}")
        elif ch in "qQ":
            return False
        elif not ch.isspace():
            _say(KEY_HELP)
    except SimulatorError as exc:
        _say(f"错误：{exc}")
    return None
