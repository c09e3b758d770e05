"""What every subcommand shares: exit codes, which store a command uses, and
who is acting when a command changes reference data.

Exit codes: 0 done; 1 the input or the data is not valid; 2 a wrong command
line; 3 the database cannot be used (corrupt, locked, newer, full, no
permission, unreachable); 4 refused: no valid supervisor's or administrator's
staff number and password; 70 an internal error (the log has the traceback);
130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallapp.models import Staff

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_STORE, EXIT_DENIED, EXIT_INTERNAL, EXIT_INTERRUPTED = 3, 4, 70, 130

#: Scripts give the password here instead of at the prompt.
PASSWORD_ENV = "HALLAPP_PASSWORD"

#: The store the running command works on, as shown to a person (no password):
#: the error path names it when a database error surfaces mid-command.
current_store_shown = ""


class CommandRefused(Exception):
    """The command cannot go on; the message (Chinese) says why, ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def add_staff_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staff",
        metavar="STAFF_NO",
        help="操作人工号（监督管理人员或系统管理员）；"
        f"密码在提示时输入，或由环境变量 {PASSWORD_ENV} 给出",
    )


def admin_password(staff_no: str) -> str:
    """The password from the environment (scripts) or a hidden prompt (a person)."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CommandRefused(
            f"需要工号 {staff_no} 的密码：请在终端中运行以便输入密码，"
            f"或在脚本中用环境变量 {PASSWORD_ENV} 给出",
            EXIT_DENIED,
        )
    try:
        return getpass.getpass(f"工号 {staff_no} 的密码：")
    except EOFError:
        raise CommandRefused("没有输入密码，已取消", EXIT_DENIED) from None


def authenticate_actor(session: Session, args: argparse.Namespace, what: str) -> Staff:
    """The supervisor or administrator named by ``--staff`` whose password was given.

    Refuses (CommandRefused, exit 4) without ``--staff``, with a wrong number
    or password, and for a clerk. ``what`` names the action for the message.
    """
    from hallapp.security import PermissionDenied, SignInError, authenticate_admin

    staff_no = str(getattr(args, "staff", None) or "").strip()
    if not staff_no:
        raise CommandRefused(
            f"{what}会更改基础数据，需要监督管理人员或系统管理员确认身份："
            f"请加上 --staff 工号，并输入密码（或设置环境变量 {PASSWORD_ENV}）",
            EXIT_DENIED,
        )
    password = admin_password(staff_no)
    try:
        return authenticate_admin(session, staff_no, password)
    except SignInError as exc:
        raise CommandRefused(f"{what}被拒绝：{exc}", EXIT_DENIED) from None
    except PermissionDenied:
        raise CommandRefused(
            f"{what}被拒绝：只有监督管理人员或系统管理员可以执行此操作", EXIT_DENIED
        ) from None


def window_code_for_audit(args: argparse.Namespace) -> str:
    """Where an administrative command was run, for its audit entry."""
    from hallapp.config import load_config

    return load_config(getattr(args, "config", None)).window_code or "CLI"


def store_url(
    args: argparse.Namespace, *, central_first: bool, must_exist: bool = False
) -> str | None:
    """The store a command works on: ``--db``; else the central store when the
    command works on reference data (``central_first``) and one is configured;
    else this window's local database (None if it must exist and does not)."""
    from hallapp.config import load_config, prepare_data_folder
    from hallapp.dberrors import display_url
    from hallapp.store import sqlite_url

    global current_store_shown
    if getattr(args, "db", None):
        current_store_shown = display_url(str(args.db))
        return str(args.db)
    cfg = load_config(getattr(args, "config", None))
    central = str(cfg.get("store.central_url"))
    if central_first and central:
        current_store_shown = display_url(central)
        return central
    local = cfg.local_db_path()
    current_store_shown = str(local)
    if must_exist and not local.exists():
        return None
    prepare_data_folder(local.parent)
    return sqlite_url(local)


def command_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """A subcommand with actions of its own; without an action it prints its help."""
    parser = subparsers.add_parser(name, help=help_text)
    sub = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    parser.set_defaults(func=show_help)
    return parser, sub
