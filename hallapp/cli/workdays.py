"""``hallapp workdays``: working-day arithmetic and the holiday schedules.

- ``add YYYY-MM-DD N [--explain]``: the N-th working day after the date;
- ``check FILE``: parse a schedule file and show what it says (stores nothing);
- ``load FILE --staff STAFF_NO``: validate a schedule file and store it centrally.

``add`` uses the built-in schedules, the schedules stored in the database
(``--db``, else the configured central store, else the local database when it
exists) and any ``--schedule FILE`` given.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallapp.workdays import Schedule, WorkCalendar

from hallapp.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    command_group,
    reference_edit_refusal,
    store_url,
)

log = logging.getLogger(__name__)


class _UsageError(Exception):
    """Bad input on the command line: print the message, exit 2."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(subparsers, "workdays", "工作日计算与放假安排")

    add = sub.add_parser("add", help="计算某日之后第 N 个工作日（起算日不计入）")
    add.add_argument("start", metavar="YYYY-MM-DD", help="起算日，例如受理日期")
    add.add_argument("n", metavar="N", help="工作日数（0 表示当日，即办件）")
    add.add_argument("--explain", action="store_true", help="逐日列出计入和跳过的日期")
    add.add_argument(
        "--schedule",
        action="append",
        default=[],
        metavar="FILE",
        help="另外使用的放假安排文件（可多次给出，不写入数据库）",
    )
    add.add_argument("--db", metavar="URL", help="读取放假安排的数据库（SQLAlchemy URL）")
    add.add_argument(
        "--no-db", action="store_true", help="不读数据库，只用内置和 --schedule 的放假安排"
    )
    add.set_defaults(func=_cmd_add)

    check = sub.add_parser("check", help="检查放假安排文件的格式并显示内容（不保存）")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(func=_cmd_check)

    load = sub.add_parser("load", help="载入放假安排文件到中心库（同一年份替换原有安排）")
    load.add_argument("file", metavar="FILE")
    load.add_argument(
        "--staff", required=True, metavar="STAFF_NO", help="操作人工号（监督或管理员）"
    )
    load.add_argument("--db", metavar="URL", help="数据库（SQLAlchemy URL），默认为中心库或本地库")
    load.set_defaults(func=_cmd_load)


# --------------------------------------------------------------------------- #
# Argument parsing
# --------------------------------------------------------------------------- #


def _parse_date(text: str) -> date:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
    if not m:
        raise _UsageError(f"日期“{text}”格式不对，请写作 YYYY-MM-DD，例如 2026-02-13")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _UsageError(f"日期“{text}”不存在，请检查月份和日期") from None


def _parse_n(text: str) -> int:
    from hallapp.workdays import MAX_WORKING_DAYS

    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise _UsageError(f"工作日数“{text}”应为整数，例如 20")
    n = int(text)
    if n < 0:
        raise _UsageError(f"工作日数不能为负数：{n}")
    if n > MAX_WORKING_DAYS:
        raise _UsageError(f"工作日数 {n} 过大，最多 {MAX_WORKING_DAYS}")
    return n


def _read_text(path_text: str) -> str:
    path = Path(path_text)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _UsageError(f"找不到文件 {path}") from None
    except UnicodeDecodeError:
        raise _UsageError(f"文件 {path} 不是 UTF-8 编码，请用记事本“另存为”UTF-8 后再试") from None
    except OSError as exc:
        raise _UsageError(f"无法读取文件 {path}：{exc.strerror or exc}") from None


def _read_schedule(path_text: str, text: str | None = None) -> Schedule:
    from hallapp.workdays import ScheduleError, parse_schedule

    try:
        return parse_schedule(_read_text(path_text) if text is None else text)
    except ScheduleError as exc:
        raise _UsageError(f"放假安排文件 {path_text} 有错误：\n{exc}") from None


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #


def _run(func: object, args: argparse.Namespace) -> int:
    assert callable(func)
    try:
        code: int = func(args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return code


def _calendar_for(args: argparse.Namespace) -> WorkCalendar:
    from hallapp.workdays import WorkCalendar

    stored: list[Schedule] = []
    if not args.no_db:
        url = store_url(args, central_first=True, must_exist=True)
        if url:
            stored = _stored_schedules(url)
    calendar = WorkCalendar(stored)
    for path_text in args.schedule:
        calendar = calendar.with_schedule(_read_schedule(path_text))
    return calendar


def _stored_schedules(url: str) -> list[Schedule]:
    # The window must keep counting when the store is unreachable: warn, and
    # fall back to the built-in schedules (results then say provisional).
    from hallapp.store import Store
    from hallapp.workdays import calendar_from_store

    try:
        store = Store.open(url, run_migrations=False)
        try:
            with store.session() as session:
                return list(calendar_from_store(session).schedules.values())
        finally:
            store.dispose()
    except Exception as exc:
        log.warning("无法从数据库读取放假安排（%s），仅使用内置安排", exc, exc_info=True)
        print("注意：无法读取数据库中的放假安排，仅使用内置安排", file=sys.stderr)
        return []


def _cmd_add(args: argparse.Namespace) -> int:
    return _run(_add, args)


def _add(args: argparse.Namespace) -> int:
    from hallapp.workdays import WEEKDAY_NAMES, add_working_days, explain

    start = _parse_date(args.start)
    n = _parse_n(args.n)
    calendar = _calendar_for(args)
    result = add_working_days(start, n, calendar)
    print(str(result))
    if args.explain:
        print(f"起算日 {start.isoformat()} {WEEKDAY_NAMES[start.weekday()]}（不计入）")
        number = 0
        for info in explain(start, result, calendar):
            weekday = WEEKDAY_NAMES[info.day.weekday()]
            mark = "（暂定）" if info.provisional else ""
            if info.working:
                number += 1
                print(f"{info.day.isoformat()} {weekday} 第 {number} 个工作日 {info.reason}{mark}")
            else:
                print(f"{info.day.isoformat()} {weekday} 跳过 {info.reason}{mark}")
        if n == 0:
            print("0 个工作日：当日办结（即办件）")
        if result.provisional:
            years = sorted(
                {d.year for d in (*result.counted, result.date) if not calendar.is_known(d.year)}
            )
            print(
                f"注意：{'、'.join(str(y) for y in years)} 年的放假安排尚未发布或未载入，"
                "按周末和法定节假日估算，日期可能变动（provisional）"
            )
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from hallapp.workdays import ScheduleError, format_schedule, parse_schedule

    try:
        text = _read_text(args.file)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        schedule = parse_schedule(text)
    except ScheduleError as exc:
        print(f"放假安排文件 {args.file} 有错误：\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    print(
        f"{schedule.year} 年放假安排：假日 {len(schedule.holidays)} 天，"
        f"调休上班 {len(schedule.makeup_workdays)} 天"
    )
    print(format_schedule(schedule), end="")
    return EXIT_OK


def _cmd_load(args: argparse.Namespace) -> int:
    return _run(_load, args)


def _load(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hallapp.audit import audited_roles
    from hallapp.config import load_config
    from hallapp.models import Role, Staff
    from hallapp.store import Store, StoreError
    from hallapp.workdays import load_schedule

    text = _read_text(args.file)
    schedule = _read_schedule(args.file, text)  # reports errors before touching the store
    if refusal := reference_edit_refusal(args, f"hallapp central workdays load {args.file}"):
        raise _UsageError(refusal)
    url = store_url(args, central_first=True, must_exist=False)
    assert url is not None
    window_code = load_config(getattr(args, "config", None)).window_code
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        with store.session() as session:
            actor = session.scalars(select(Staff).where(Staff.staff_no == args.staff)).first()
            if actor is None:
                raise _UsageError(f"找不到工号为 {args.staff} 的工作人员")
            if Role(actor.role) not in audited_roles():
                raise _UsageError("只有监督人员或管理员可以载入放假安排")
            load_schedule(session, text, actor, window_code=window_code)
    finally:
        store.dispose()
    print(
        f"已载入 {schedule.year} 年放假安排：假日 {len(schedule.holidays)} 天，"
        f"调休上班 {len(schedule.makeup_workdays)} 天"
    )
    return EXIT_OK
