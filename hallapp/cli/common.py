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


def reference_edit_refusal(args: argparse.Namespace, central_command: str) -> str | None:
    """Why this window may not edit reference data here, or None.

    Reference data (catalog, staff, holiday schedules) is authored at the
    central store once a centre exists: a configured ``store.central_url``,
    a window that joined one, or ``--db`` naming a central store itself.
    """
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.config import load_config
    from hallapp.store import make_engine

    where = f"请在中心库上修改：{central_command} --url 中心库地址（各窗口下次同步时更新）"
    cfg = load_config(getattr(args, "config", None))
    if not getattr(args, "db", None) and str(cfg.get("store.central_url")):
        return f"本窗口已连接中心库，基础数据由中心统一维护。{where}"
    url = store_url(args, central_first=False, must_exist=True)
    if url is None:
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "central_meta" in tables:
                return f"{url.rsplit('/', 1)[-1]} 是中心库。{where}"
            if (
                "sync_state" in tables
                and conn.exec_driver_sql(
                    "SELECT 1 FROM sync_state WHERE key = 'central_url'"
                ).first()
            ):
                return f"本窗口已加入中心库，基础数据由中心统一维护。{where}"
    except SQLAlchemyError:
        return None  # the command itself reports a store it cannot open
    finally:
        engine.dispose()
    return None


#: What a central store's URL looks like, for messages.
CENTRAL_URL_EXAMPLES = (
    "postgresql+psycopg://用户@主机:5432/库名（PostgreSQL）"
    "或 sqlite:////路径/central.sqlite3（SQLite 文件，注意是四条斜线）"
)


def checked_central_url(url: str, *, create: bool = False) -> str:
    """The central store's URL, ready for an engine, or CommandRefused.

    ``postgres://`` and ``postgresql://`` (what PostgreSQL's own tools write)
    name the driver HallApp ships with. A SQLite file must exist, so that a
    typo never leaves an empty file behind, unless ``create`` (``central
    init``), whose folder must exist.
    """
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from hallapp.dberrors import display_url, unescaped_at

    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        raise CommandRefused(
            f"无法识别中心库地址：地址应写成例如 {CENTRAL_URL_EXAMPLES}", EXIT_USAGE
        ) from None
    if u.drivername in ("postgres", "postgresql"):
        u = u.set(drivername="postgresql+psycopg")
    if unescaped_at(url):
        # u:pa@ss@host: the password's tail would be taken for the host.
        raise CommandRefused(
            "中心库地址中有两个 @：密码中的 @ 须写成 %40。更好的做法是不把密码写进地址，"
            "而是放在环境变量 HALLAPP_CENTRAL_PASSWORD 或 pgpass 文件中"
            f"（地址：{display_url(url)}）",
            EXIT_USAGE,
        )
    shown = u.render_as_string(hide_password=True)
    try:
        # HallApp's central store is PostgreSQL or SQLite; any other (or an
        # unknown driver) would fail later with a class name for a message.
        supported = u.get_backend_name() in ("postgresql", "sqlite")
        u.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        supported = False
    if not supported:
        raise CommandRefused(
            f"中心库地址 {shown} 的数据库类型 {u.drivername} 不受支持："
            f"请写成例如 {CENTRAL_URL_EXAMPLES}",
            EXIT_USAGE,
        )
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise CommandRefused(
                f"中心库地址 {shown} 没有给出 SQLite 文件：请写成例如 {CENTRAL_URL_EXAMPLES}",
                EXIT_USAGE,
            )
        path = Path(database)
        if create and not path.parent.is_dir():
            raise CommandRefused(
                f"文件夹 {path.parent} 不存在：请先建立该文件夹，或把中心库放在已有的文件夹中",
                EXIT_STORE,
            )
        if not create and not path.is_file():
            raise CommandRefused(
                f"中心库文件 {path} 不存在：请检查地址；新的中心库请先运行 "
                f"hallapp central init --url {shown}",
                EXIT_STORE,
            )
    return u.render_as_string(hide_password=False)
