"""The `hallapp` command: one subcommand per module in this package.

This package is the program's entry: it may import every layer, but only
inside the subcommand that needs it, so `hallapp workdays ...` never loads Qt.
Each subcommand module exposes ``register(subparsers)`` and sets ``func`` on
its parser; ``func(args)`` returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

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
    "hallapp.cli.report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallapp", description="HallApp 政务服务大厅窗口客户端 — 命令行工具"
    )
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


def main(argv: Sequence[str] | None = None) -> int:
    from hallapp.logsetup import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose, console=True)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
