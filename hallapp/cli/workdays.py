"""``hallapp workdays``: working-day arithmetic and the holiday schedules.

- ``add YYYY-MM-DD N [--explain]``: the N-th working day after the date;
- ``check FILE``: parse a schedule file and show what it says (stores nothing);
- ``load FILE --staff STAFF_NO [--override --reason TEXT]``: validate a schedule
  file and store it centrally (a supervisor's or administrator's password from
  the prompt or HALLAPP_PASSWORD; audited); a year that already has an official
  schedule (built in, or loaded before) needs ``--override``, which is audited;
- ``list`` (or ``status``): where each year's schedule comes from, with every
  manual override, who made it and when.

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
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    PASSWORD_ENV,
    authenticate_actor,
    command_group,
    reference_edit_refusal,
    store_url,
    window_code_for_audit,
)
from hallapp.config import os_reason

log = logging.getLogger(__name__)


class _UsageError(Exception):
    """The command cannot go on: print the message, exit ``code``: 2 for a
    wrong command line (the default), 1 for a file whose contents are wrong,
    3 for a file that cannot be read, 4 for a change refused here."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


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
        "--staff",
        metavar="STAFF_NO",
        help="操作人工号（监督管理人员或系统管理员）；"
        f"密码在提示时输入，或由环境变量 {PASSWORD_ENV} 给出",
    )
    load.add_argument(
        "--override",
        action="store_true",
        help="确认覆盖已有的放假安排（内置年份或已载入的年份），记入审计日志",
    )
    load.add_argument("--reason", default="", metavar="TEXT", help="覆盖的原因，例如更正通知的文号")
    load.add_argument("--db", metavar="URL", help="数据库（SQLAlchemy URL），默认为中心库或本地库")
    load.set_defaults(func=_cmd_load)

    status = sub.add_parser(
        "list", aliases=["status"], help="各年份放假安排的来源（内置、载入、人工覆盖）"
    )
    status.add_argument("--db", metavar="URL", help="数据库（SQLAlchemy URL），默认中心库或本地库")
    status.set_defaults(func=_cmd_list)


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
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise _UsageError(f"工作日数“{shown}”应为整数，例如 20")
    if len(text.strip().lstrip("+-").lstrip("0")) > 18:
        # Checked before int(), which refuses thousands of digits with a ValueError.
        raise _UsageError(f"工作日数有 {len(text.strip())} 位，过大，最多 {MAX_WORKING_DAYS}")
    n = int(text)
    if n < 0:
        raise _UsageError(f"工作日数不能为负数：{n}")
    if n > MAX_WORKING_DAYS:
        raise _UsageError(f"工作日数 {n} 过大，最多 {MAX_WORKING_DAYS}")
    return n


_MAX_SCHEDULE_BYTES = 256 * 1024


def _read_text(path_text: str) -> str:
    path = Path(path_text)
    try:
        # A year's notice is a dozen lines; a large file is the wrong file.
        if path.is_file() and path.stat().st_size > _MAX_SCHEDULE_BYTES:
            raise _UsageError(
                f"文件 {path} 有 {path.stat().st_size // 1024} KB，不像放假安排"
                f"（一年的通知只有十几行，上限 {_MAX_SCHEDULE_BYTES // 1024} KB），"
                "请检查是否选错了文件",
                EXIT_INVALID,
            )
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _UsageError(f"找不到文件 {path}") from None
    except UnicodeDecodeError:
        raise _UsageError(
            f"文件 {path} 不是 UTF-8 编码，请用记事本“另存为”UTF-8 后再试", EXIT_INVALID
        ) from None
    except OSError as exc:
        raise _UsageError(f"无法读取文件 {path}：{os_reason(exc)}", EXIT_STORE) from None


def _read_schedule(path_text: str, text: str | None = None) -> Schedule:
    from hallapp.workdays import ScheduleError, validate_schedule

    try:
        return validate_schedule(_read_text(path_text) if text is None else text)
    except ScheduleError as exc:
        raise _UsageError(f"放假安排文件 {path_text} 有错误：\n{exc}", EXIT_INVALID) from None


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #


def _run(func: object, args: argparse.Namespace) -> int:
    assert callable(func)
    try:
        code: int = func(args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
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
            with store.read() as session:
                return list(calendar_from_store(session).schedules.values())
        finally:
            store.dispose()
    except Exception as exc:
        from hallapp.dberrors import store_error

        log.warning("cannot read the stored holiday schedules; built-in ones only", exc_info=True)
        print(
            f"注意：无法读取数据库中的放假安排，仅使用内置安排。原因：{store_error(exc, url)}",
            file=sys.stderr,
        )
        return []


def _cmd_add(args: argparse.Namespace) -> int:
    return _run(_add, args)


def _add(args: argparse.Namespace) -> int:
    from hallapp.workdays import WEEKDAY_NAMES, CalendarRangeError, add_working_days, explain

    start = _parse_date(args.start)
    n = _parse_n(args.n)
    calendar = _calendar_for(args)
    try:
        result = add_working_days(start, n, calendar)
    except CalendarRangeError as exc:
        raise _UsageError(str(exc)) from None
    # The date first (scripts read it), then 暂定 for a year with no schedule.
    print(f"{result.date.isoformat()}{' 暂定' if result.provisional else ''}")
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
                "按周末和法定节假日估算，日期可能变动（暂定）"
            )
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from hallapp.workdays import ScheduleError, builtin_years, format_schedule, validate_schedule

    try:
        text = _read_text(args.file)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    try:
        schedule = validate_schedule(text)
    except ScheduleError as exc:
        print(f"放假安排文件 {args.file} 有错误：\n{exc}", file=sys.stderr)
        return EXIT_INVALID
    print(
        f"{schedule.year} 年放假安排：假日 {len(schedule.holidays)} 天，"
        f"调休上班 {len(schedule.makeup_workdays)} 天"
    )
    print(format_schedule(schedule), end="")
    if schedule.year in builtin_years():
        print(
            f"注意：{schedule.year} 年已有内置的国务院放假安排；载入本文件会覆盖它，"
            "须加 --override（记入审计日志）"
        )
    return EXIT_OK


def _cmd_load(args: argparse.Namespace) -> int:
    return _run(_load, args)


def _load(args: argparse.Namespace) -> int:
    from hallapp.store import Store
    from hallapp.workdays import ScheduleOverrideRequired, load_schedule

    # Where the schedule may be loaded at all comes before what is wrong with it.
    if refusal := reference_edit_refusal(args, f"hallapp central workdays load {args.file}"):
        raise _UsageError(refusal, EXIT_DENIED)
    text = _read_text(args.file)
    schedule = _read_schedule(args.file, text)  # reports errors before touching the store
    url = store_url(args, central_first=True, must_exist=False)
    assert url is not None
    window_code = window_code_for_audit(args)
    store = Store.open(url)  # a StoreError goes to the one error path (exit 3)
    try:
        with store.session() as session:
            actor = authenticate_actor(session, args, "载入放假安排")
            try:
                load_schedule(
                    session,
                    text,
                    actor,
                    window_code=window_code,
                    override=args.override,
                    reason=args.reason,
                )
            except (ScheduleOverrideRequired, ValueError) as exc:
                raise _UsageError(str(exc)) from None
    finally:
        store.dispose()
    print(
        f"已载入 {schedule.year} 年放假安排：假日 {len(schedule.holidays)} 天，"
        f"调休上班 {len(schedule.makeup_workdays)} 天"
        + ("（已人工覆盖原有安排，记入审计日志）" if args.override else "")
    )
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from hallapp.store import Store, StoreError
    from hallapp.workdays import builtin_years, schedule_status

    url = store_url(args, central_first=True, must_exist=True)
    statuses = []
    if url:
        try:
            store = Store.open(url)
        except StoreError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
        try:
            with store.session() as session:
                statuses = schedule_status(session)
        finally:
            store.dispose()
    else:
        print("注意：本窗口数据库尚未建立，只列出内置安排", file=sys.stderr)
    years = builtin_years()
    shown_builtin = False
    for status in statuses or []:
        if status.source == "builtin":
            if not shown_builtin:
                print(
                    f"{years.start}—{years.stop - 1} 年：内置安排（chinese_calendar），除下列年份外"
                )
                shown_builtin = True
            continue
        print(status.describe())
    if not statuses:
        print(f"{years.start}—{years.stop - 1} 年：内置安排（chinese_calendar）")
    last = max([years.stop - 1, *(s.year for s in statuses)])
    print(f"{last + 1} 年起：尚无放假安排，按周末和法定节假日暂定")
    return EXIT_OK
