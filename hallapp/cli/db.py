"""``hallapp db``: the window's database.

- ``upgrade``: create or migrate the database to the newest schema;
- ``check [--quick]``: is the file sound (SQLite ``PRAGMA integrity_check``, or
  ``quick_check``) and is its schema the one this HallApp knows and the newest;
  exit 0 when both, 1 when the schema is old or the file missing, 3 when the database cannot be
  used (corrupt, from a newer HallApp, locked, unreadable);
- ``seed-demo``: load the sample catalog, the demo windows and staff
  (idempotent), only into a new empty database, which it marks as a demo
  database, or one already marked; re-seeding a demo database takes a
  supervisor's or administrator's ``--staff`` and password, like every
  command that changes reference data.

All act on ``--db URL`` or, by default, the window's local SQLite database.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from hallapp.cli.common import (
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    CommandRefused,
    add_staff_argument,
    authenticate_actor,
    command_group,
    store_url,
    window_code_for_audit,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(subparsers, "db", "数据库：升级、检查、载入演示数据")
    db_help = "数据库地址（SQLAlchemy URL）；默认本窗口的本地数据库"

    up = sub.add_parser("upgrade", help="建立或升级数据库到最新结构")
    up.add_argument("--db", metavar="URL", help=db_help)
    up.set_defaults(func=_cmd_upgrade)

    check = sub.add_parser("check", help="检查数据库文件是否完好、结构是否为最新")
    check.add_argument("--db", metavar="URL", help=db_help)
    check.add_argument(
        "--quick", action="store_true", help="快速检查（quick_check，不核对索引），适合大文件"
    )
    check.set_defaults(func=_cmd_check)

    seed = sub.add_parser(
        "seed-demo", help="载入示例事项清单、演示窗口和工作人员（只用于演示数据库，可重复运行）"
    )
    seed.add_argument("--db", metavar="URL", help=db_help)
    add_staff_argument(seed)
    seed.set_defaults(func=_cmd_seed_demo)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """The URL and how to name it to the user (never with a password)."""
    from hallapp.dberrors import display_url

    url = store_url(args, central_first=False)
    assert url is not None
    return url, display_url(url)


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from hallapp.store import Store

    url, shown = _target(args)
    store = Store.open(url)  # a StoreError reaches the one error path (exit 3)
    store.dispose()
    print(f"数据库已是最新结构：{shown}")
    return EXIT_OK


def central_mirror(engine: Engine) -> str | None:
    """The local revision a central store mirrors; None for any other database."""
    from hallapp.sync.centre import central_revision

    with engine.connect() as conn:
        return central_revision(conn)


def _cmd_check(args: argparse.Namespace) -> int:
    from hallapp.dberrors import DbProblem, problem_message, sqlite_path, store_error
    from hallapp.migrations import HEAD
    from hallapp.store import (
        guard_problems,
        integrity_problems,
        make_engine,
        schema_is_current,
    )

    url, shown = _target(args)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        # Connecting would create an empty file: a check must change nothing.
        print(problem_message(DbProblem.MISSING, shown), file=sys.stderr)
        return EXIT_INVALID
    engine = make_engine(url)
    try:
        problems = integrity_problems(engine, quick=args.quick)
        if problems:
            log.error("integrity check of %s failed: %s", shown, problems)
            print(problem_message(DbProblem.CORRUPT, shown), file=sys.stderr)
            for line in problems[:10]:
                print(f"  {line}", file=sys.stderr)
            if len(problems) > 10:
                print(f"  ……共 {len(problems)} 处问题，详见日志", file=sys.stderr)
            return EXIT_STORE
        central = central_mirror(engine)
        # A central store has a schema of its own (`hallapp central init`):
        # current when it mirrors this release's local schema.
        current = schema_is_current(engine) if central is None else central == HEAD
        guards = guard_problems(engine, central=central is not None) if current else []
        if guards:
            log.error("trigger check of %s failed: %s", shown, guards)
            print(f"数据库 {shown} 的保护触发器被删除或改动，事实记录可能已被改写或删除：",
                  file=sys.stderr)
            for line in guards:
                print(f"  {line}", file=sys.stderr)
            print("请停止使用此数据库并联系管理员：从备份恢复，或在中心库核对"
                  "（hallapp central verify）", file=sys.stderr)
            return EXIT_STORE
    except Exception as exc:
        log.exception("db check of %s failed", shown)
        print(str(store_error(exc, url)), file=sys.stderr)
        return EXIT_STORE
    finally:
        engine.dispose()
    checked = "文件完好（" + ("quick_check" if args.quick else "integrity_check") + " 通过），"
    checked = checked if path is not None else ""
    if current:
        print(f"{checked}数据库结构为最新：{shown}")
        return EXIT_OK
    if central is not None:
        print(f"{checked}中心库结构版本 {central}，本程序为 {HEAD}：{shown}。"
              "请运行 hallapp central init --url 升级中心库", file=sys.stderr)
        return EXIT_INVALID
    print(f"{checked}数据库结构不是最新：{shown}。请运行 hallapp db upgrade", file=sys.stderr)
    return EXIT_INVALID


def _cmd_seed_demo(args: argparse.Namespace) -> int:
    from hallapp import audit
    from hallapp.catalog import CatalogError
    from hallapp.demo import (
        DemoDataError,
        NotADemoDatabase,
        is_demo_database,
        mark_demo_database,
        seed_reference_data,
    )
    from hallapp.store import Store

    url, shown = _target(args)
    store = Store.open(url)
    try:
        with store.session() as session:
            window_code = window_code_for_audit(args)
            actor = None
            if is_demo_database(session):
                # The demo staff exist: the one who re-seeds proves who they are.
                actor = authenticate_actor(session, args, "载入演示数据")
            else:
                mark_demo_database(session, window_code=window_code)
            summary = seed_reference_data(session)
            if actor is not None:
                audit.record(
                    session,
                    actor,
                    "demo.seed",
                    target=shown,
                    detail={"changed": summary.changed},
                    window_code=window_code,
                )
    except CatalogError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_INVALID
    except DemoDataError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except NotADemoDatabase as exc:
        raise CommandRefused(str(exc), EXIT_DENIED) from None
    finally:
        store.dispose()
    print(summary.text())
    print(f"演示数据已载入：{shown}" if summary.changed else f"演示数据已是最新，未作更改：{shown}")
    return EXIT_OK
