"""What every subcommand shares: exit codes and which store a command uses."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def store_url(
    args: argparse.Namespace, *, central_first: bool, must_exist: bool = False
) -> str | None:
    """The store a command works on: ``--db``; else the central store when the
    command works on reference data (``central_first``) and one is configured;
    else this window's local database (None if it must exist and does not)."""
    from hallapp.config import load_config
    from hallapp.store import sqlite_url

    if getattr(args, "db", None):
        return str(args.db)
    cfg = load_config(getattr(args, "config", None))
    central = str(cfg.get("store.central_url"))
    if central_first and central:
        return central
    local = cfg.local_db_path()
    if must_exist and not local.exists():
        return None
    local.parent.mkdir(parents=True, exist_ok=True)
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
            if "sync_state" in tables and conn.exec_driver_sql(
                "SELECT 1 FROM sync_state WHERE key = 'central_url'"
            ).first():
                return f"本窗口已加入中心库，基础数据由中心统一维护。{where}"
    except SQLAlchemyError:
        return None  # the command itself reports a store it cannot open
    finally:
        engine.dispose()
    return None
