"""``hallapp db``: the window's database.

- ``upgrade``: create or migrate the database to the newest schema;
- ``check``: say whether the schema is current (exit 1 when it is not);
- ``seed-demo``: load the sample catalog, the demo windows and staff (idempotent).

All act on ``--db URL`` or, by default, the window's local SQLite database.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hallapp.cli.common import EXIT_INVALID, EXIT_OK, command_group, store_url

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(subparsers, "db", "数据库：升级、检查、载入演示数据")
    db_help = "数据库地址（SQLAlchemy URL）；默认本窗口的本地数据库"

    up = sub.add_parser("upgrade", help="建立或升级数据库到最新结构")
    up.add_argument("--db", metavar="URL", help=db_help)
    up.set_defaults(func=_cmd_upgrade)

    check = sub.add_parser("check", help="检查数据库结构是否为最新")
    check.add_argument("--db", metavar="URL", help=db_help)
    check.set_defaults(func=_cmd_check)

    seed = sub.add_parser("seed-demo", help="载入示例事项清单、演示窗口和工作人员（可重复运行）")
    seed.add_argument("--db", metavar="URL", help=db_help)
    seed.set_defaults(func=_cmd_seed_demo)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """The URL and how to name it to the user."""
    url = store_url(args, central_first=False)
    assert url is not None
    return url, str(args.db) if args.db else url.removeprefix("sqlite:///")


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from hallapp.store import Store, StoreError

    url, shown = _target(args)
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    store.dispose()
    print(f"数据库已是最新结构：{shown}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.store import make_engine, schema_is_current

    url, shown = _target(args)
    engine = make_engine(url)
    try:
        current = schema_is_current(engine)
    except SQLAlchemyError as exc:
        log.exception("schema check failed for %s", shown)
        print(f"无法连接数据库 {shown}：{exc.__class__.__name__}，详细信息见日志", file=sys.stderr)
        return EXIT_INVALID
    finally:
        engine.dispose()
    if current:
        print(f"数据库结构为最新：{shown}")
        return EXIT_OK
    print(f"数据库结构不是最新：{shown}。请运行 hallapp db upgrade", file=sys.stderr)
    return EXIT_INVALID


def _cmd_seed_demo(args: argparse.Namespace) -> int:
    from hallapp.catalog import CatalogError
    from hallapp.demo import DemoDataError, seed_demo
    from hallapp.store import Store, StoreError

    url, shown = _target(args)
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    try:
        summary = seed_demo(store)
    except CatalogError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_INVALID
    except DemoDataError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    finally:
        store.dispose()
    print(summary.text())
    print(f"演示数据已载入：{shown}" if summary.changed else f"演示数据已是最新，未作更改：{shown}")
    return EXIT_OK
