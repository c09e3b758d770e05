"""The `hallapp` command: one subcommand per module in this package.

This package is the program's entry: it may import every layer, but only
inside the subcommand that needs it, so `hallapp workdays ...` never loads Qt.
Each subcommand module exposes ``register(subparsers)`` and sets ``func`` on
its parser; ``func(args)`` returns the exit code.

One error path: whatever a command raises ends here (:func:`report_failure`)
as a Chinese message on stderr and an exit code (see hallapp.cli.common); the
traceback goes to the log file only, never to the terminal.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from hallapp.config import ConfigError

log = logging.getLogger(__name__)

# Order is the order shown in --help.
SUBCOMMAND_MODULES = (
    "hallapp.cli.db",
    "hallapp.cli.workdays",
    "hallapp.cli.validate",
    "hallapp.cli.catalog",
    "hallapp.cli.render",
    "hallapp.cli.evaluator",
    "hallapp.cli.staff",
    "hallapp.cli.central",
    "hallapp.cli.sync",
    "hallapp.cli.central_roles",  # after hallapp.cli.central: joins its group
    "hallapp.cli.report",
    "hallapp.cli.projects",
)


# argparse's own messages, in Chinese (Python ships no translation of them).
_ARGPARSE_MESSAGES = (
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (
        r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
        r"参数 \1 的值 \2 无效，可选：\3",
    ),
    (r"argument (\S+): invalid (\w+) value: (.*)", r"参数 \1 的值 \3 格式不对（应为\2）"),
    (r"argument (\S+): expected one argument", r"参数 \1 后面需要一个值"),
    (r"argument (\S+): not allowed with argument (\S+)", r"参数 \1 不能与 \2 同时使用"),
    (r"one of the arguments (.*) is required", r"需要给出其中一个参数：\1"),
    (r"ambiguous option: (.*)", r"参数不明确：\1"),
)


# The words argparse writes into every --help itself.
_HELP_WORDS = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
}


def help_in_chinese() -> None:
    """argparse looks its words up through gettext at the moment it writes a
    help text: answering that lookup in Chinese makes every --help Chinese,
    not only the descriptions we wrote (Python ships no translation)."""
    english = argparse._  # type: ignore[attr-defined]
    if getattr(english, "hallapp", False):
        return

    def chinese(text: str) -> str:
        return _HELP_WORDS.get(text) or english(text)

    chinese.hallapp = True  # type: ignore[attr-defined]
    argparse._ = chinese  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose complaints are Chinese, with the way to get help."""

    def error(self, message: str) -> NoReturn:
        import re

        kinds = {"int": "整数", "float": "数字"}
        for pattern, chinese in _ARGPARSE_MESSAGES:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, chinese, message)
                for english, word in kinds.items():
                    message = message.replace(f"应为{english}）", f"应为{word}）")
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"命令行有误：{message}。运行 {self.prog} --help 查看用法。\n")


def build_parser() -> argparse.ArgumentParser:
    help_in_chinese()
    parser = _Parser(prog="hallapp", description="HallApp 政务服务大厅窗口客户端 — 命令行工具")
    parser.add_argument("--config", help="配置文件 (TOML) 路径；默认在系统配置目录中查找")
    parser.add_argument("-v", "--verbose", action="store_true", help="输出调试日志")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a subcommand not built yet
        module.register(sub)
    return parser


def report_failure(exc: BaseException, command: str) -> int:
    """Tell the user what went wrong (Chinese, stderr), log the rest; the exit code."""
    from hallapp.cli.common import (
        EXIT_INTERNAL,
        EXIT_INTERRUPTED,
        EXIT_STORE,
        EXIT_USAGE,
        CommandRefused,
        current_store_shown,
    )
    from hallapp.dberrors import is_db_error, store_error
    from hallapp.logsetup import log_file_path

    if isinstance(exc, KeyboardInterrupt):
        print("已中断。", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        return _reader_gone(command)
    if isinstance(exc, CommandRefused):
        log.warning("hallapp %s refused: %s", command, exc)
        print(str(exc), file=sys.stderr)
        return exc.code
    if isinstance(exc, ConfigError):
        log.warning("hallapp %s: configuration error: %s", command, exc)
        print(f"配置错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    if is_db_error(exc):
        log.error("hallapp %s: database error", command, exc_info=exc)
        error = store_error(exc)
        message = str(error)
        if current_store_shown and current_store_shown not in message:
            message = f"{message}（数据库：{current_store_shown}）"
        print(message, file=sys.stderr)
        return EXIT_STORE
    log.critical("hallapp %s: internal error", command, exc_info=exc)
    if isinstance(exc, OSError):
        what = f"：{exc.filename}" if exc.filename else ""
        print(
            f"无法读写文件或设备{what}（{exc.strerror or '系统错误'}）。"
            "请检查路径、权限和磁盘空间后重试。",
            file=sys.stderr,
        )
        return EXIT_STORE
    print(
        f"程序内部错误，命令 hallapp {command} 没有完成；已经保存的数据不受影响。"
        f"详细记录已写入日志文件 {log_file_path()}，请联系技术支持。",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    from hallapp.logsetup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, console=True)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    command = " ".join(
        str(v)
        for k, v in vars(args).items()
        if (k == "command" or k.endswith("_command") or k == "validate_kind") and v
    )
    from hallapp.cli import common

    common.current_store_shown = ""  # named again by the command's store_url()
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # a reader gone (| head) is told here, not at exit
    except (Exception, KeyboardInterrupt) as exc:
        return report_failure(exc, command)
    return code


#: What a command exits with when the program reading its output stopped
#: early (``| head``): 128 + SIGPIPE, as any Unix tool that is cut off.
EXIT_PIPE = 141


def _reader_gone(command: str) -> int:
    """The reader of standard output went away (``hallapp … | head``): nothing
    is wrong with the data or the database; stop quietly, as grep or cat do."""
    log.info("hallapp %s: the reader of its output stopped early", command)
    import os

    # Python flushes stdout once more at exit: into nothing, not a second error.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE
