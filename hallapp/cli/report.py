"""``hallapp report`` and ``hallapp demo-data``: supervisors' figures from the command line.

- ``report --month YYYY-MM | --quarter YYYY-Qn --format pdf|xlsx|csv --out FILE
  [--by window|clerk|department|item] [--db URL] [--hall CODE]``: the month's
  publication (公示) or the quarter's accountability list;
- ``demo-data --windows N --months M --per-day K [--db URL] [--seed S]``: a
  realistic hall history for demos and benchmarks.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hallapp.cli.common import (
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    store_url,
)
from hallapp.config import os_reason

if TYPE_CHECKING:
    from hallapp.store import Store

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser(
        "report",
        help="好差评统计报表：月度公示（PDF/Excel/CSV）、季度问责名单",
        description="生成月度好差评统计公示或季度不满意率问责名单",
    )
    when = report.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="YYYY-MM", help="统计月份，例如 2026-09")
    when.add_argument("--quarter", metavar="YYYY-Qn", help="统计季度（问责名单），例如 2026-Q3")
    report.add_argument("--format", choices=("pdf", "xlsx", "csv"), required=True, help="输出格式")
    report.add_argument("--out", required=True, metavar="FILE", help="输出文件")
    report.add_argument(
        "--by",
        choices=("window", "clerk", "department", "item"),
        default="window",
        help="统计维度：窗口、工作人员、部门、事项（默认窗口）",
    )
    report.add_argument("--db", metavar="URL", help="数据库地址；默认中心库（已配置时）或本地库")
    report.add_argument("--hall", metavar="CODE", help="中心库中只统计这个大厅（大厅代码）")
    report.set_defaults(func=_cmd_report)

    demo = subparsers.add_parser(
        "demo-data",
        help="生成演示用的大厅办件与评价历史",
        description="按业务规则生成逼真的办件、评价、差评整改历史（演示、测试和性能测试用）",
    )
    demo.add_argument("--windows", type=int, default=8, help="窗口数（默认 8）")
    demo.add_argument("--months", type=int, default=3, help="月数，截至昨天（默认 3）")
    demo.add_argument("--per-day", type=int, default=20, help="每个窗口每个工作日的办件数")
    demo.add_argument("--seed", type=int, default=1, help="随机种子（相同种子生成相同历史）")
    demo.add_argument("--end", metavar="YYYY-MM-DD", help="最后一天（默认昨天）")
    demo.add_argument("--db", metavar="URL", help="数据库地址；默认本窗口的本地数据库")
    demo.set_defaults(func=_cmd_demo_data)


def _cmd_report(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.config import load_config
    from hallapp.dberrors import missing_sqlite_file
    from hallapp.reports import (
        Definitions,
        PeriodError,
        monthly_report,
        parse_month,
        parse_quarter,
        quarterly_report,
    )
    from hallapp.reports.sql import reading
    from hallapp.store import Store, StoreError
    from hallapp.sync.run import with_hall_settings

    cfg = load_config(getattr(args, "config", None))
    try:
        period = parse_month(args.month) if args.month else parse_quarter(args.quarter)
    except PeriodError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out)
    if not out.parent.exists():
        print(f"输出文件夹 {out.parent} 不存在，请先建立或换一个路径", file=sys.stderr)
        return EXIT_USAGE
    url = store_url(args, central_first=True, must_exist=True)
    if url is None:
        print("本窗口还没有数据库；请用 --db 指定中心库地址", file=sys.stderr)
        return EXIT_INVALID
    if missing := missing_sqlite_file(url):
        print(f"找不到数据库文件 {missing}：请检查 --db 的路径（SQLite 地址写成 "
              "sqlite:////绝对路径）", file=sys.stderr)  # fmt: skip
        return EXIT_STORE
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_STORE  # the README: 3, the database cannot be used
    from hallapp.sync.run import HallChoiceError, hall_for

    try:
        hall = hall_for(store, args.hall)
    except HallChoiceError as exc:
        print(str(exc), file=sys.stderr)
        store.dispose()
        return EXIT_USAGE
    if args.hall and hall is None:
        print(f"（该数据库不是中心库，只有一个大厅的数据：--hall {args.hall} 不适用，已忽略）",
              file=sys.stderr)  # fmt: skip
    args.hall = hall
    # The definitions the hall set at the centre win over this PC's config.
    cfg = with_hall_settings(cfg, store, hall=args.hall)
    if "hall.name" not in cfg.values:
        # The published report is headed with the hall's name: the sample
        # hall's default would head another county's figures.
        print(
            f"（未设置大厅名称 hall.name，报表标题使用示例值“{cfg.hall_name}”："
            "请在配置文件 [hall] 中设置，或由 hallapp central settings set hall.name 设置）",
            file=sys.stderr,
        )
    defs = Definitions.from_config(cfg)
    try:
        with reading(store) as conn:
            report = (
                monthly_report(
                    conn,
                    period,
                    by=args.by,
                    hall_name=cfg.hall_name,
                    definitions=defs,
                    hall=args.hall,
                )
                if args.month
                else quarterly_report(
                    conn, period, hall_name=cfg.hall_name, definitions=defs, hall=args.hall
                )
            )
    except SQLAlchemyError as exc:
        log.exception("report query failed on %s", store.engine.url.render_as_string())
        print(f"读取数据库失败（{exc.__class__.__name__}），详细信息见日志", file=sys.stderr)
        return EXIT_INVALID
    finally:
        store.dispose()
    from hallapp.printing.fonts import FontError
    from hallapp.printing.publish import write_report

    try:
        write_report(report, args.format, out, font_path=str(cfg.get("printing.font_path")) or None)
    except FontError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        log.exception("cannot write %s", out)
        print(f"无法写入 {out}：{os_reason(exc)}", file=sys.stderr)
        return EXIT_INVALID
    print(f"已生成{period.label}报表：{out}")
    if args.format == "csv":
        from hallapp.printing.publish import csv_companions

        for other in csv_companions(report, out):
            print(f"　另一表格：{other}")
    for line in report.status():
        # A mid-month draft is allowed, but whoever made it must know it is one.
        print(f"注意：{line}")
    return EXIT_OK


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from datetime import date

    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.config import load_config
    from hallapp.demodata import DemoHistoryError, HistoryParams, generate
    from hallapp.reports.definitions import Definitions
    from hallapp.store import Store, StoreError

    cfg = load_config(getattr(args, "config", None))
    try:
        end = date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print(f"--end 应为日期 YYYY-MM-DD，收到 {args.end!r}", file=sys.stderr)
        return EXIT_USAGE
    from hallapp.models import utcnow
    from hallapp.workdays import hall_date

    today = hall_date(utcnow())
    if end is not None and end >= today:
        # A history of days still to come would be published as a month's
        # figures before the month has begun.
        print(f"--end 应早于今天（{today.isoformat()}）：演示历史只生成已经过去的日子，"
              f"收到 {end.isoformat()}", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    defs = Definitions.from_config(cfg)
    params = HistoryParams(
        windows=args.windows,
        months=args.months,
        per_day=args.per_day,
        seed=args.seed,
        end=end,
        hall_code=cfg.hall_code,
        rectify_days=defs.rectify_days,
        call_back_days=defs.call_back_days,
    )
    try:
        params.check()
    except DemoHistoryError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    url = store_url(args, central_first=False)
    assert url is not None
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_STORE
    refusal = _not_for_demo_data(store)
    if refusal:
        store.dispose()
        print(refusal, file=sys.stderr)
        return EXIT_DENIED
    try:
        summary = generate(store, params, progress=lambda text: print(text, flush=True))
    except DemoHistoryError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except SQLAlchemyError:
        log.exception("demo-data failed on %s", store.engine.url.render_as_string())
        print(
            "写入数据库失败：该数据库可能已有同一时段的演示数据，"
            "请换一个空数据库或其他日期；详细信息见日志",
            file=sys.stderr,
        )
        return EXIT_INVALID
    finally:
        store.dispose()
    print(summary.text())
    return EXIT_OK


def _not_for_demo_data(store: Store) -> str | None:
    """Why ``store`` must not receive an invented history, or None.

    Invented cases and staff in a hall's central store, or in a window that
    pushes to one, would be counted and published as the hall's own."""
    from sqlalchemy import inspect

    from hallapp.sync.run import attached_url

    with store.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    if "central_meta" in tables:
        return ("演示数据不能写入中心库：生成的办件和人员会被当作大厅的真实数据统计和公示。"
                "请写入一个单独的空数据库，例如 --db sqlite:///演示.sqlite3")
    if "sync_state" in tables and attached_url(store):
        return ("本窗口已加入中心库，演示数据会随同步上传为大厅的真实数据，因此不予生成。"
                "请用 --db 写入一个单独的空数据库，例如 --db sqlite:///演示.sqlite3")
    from hallapp.demo import NotADemoDatabase, mark_demo_database

    # A hall without a centre keeps its real records in this very file: an
    # invented history there (append-only, staff whose passwords nobody
    # knows) would be counted as its own. Only a new empty database, which
    # is marked as a demo database now, or one already marked, takes it.
    try:
        with store.session() as s:
            mark_demo_database(s, window_code="DEMO")
            s.commit()
    except NotADemoDatabase as exc:
        return str(exc)
    return None
