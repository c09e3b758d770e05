"""Working days as the law counts them (行政许可法 art. 82).

A period of N working days does not count the day it starts: N working days
after acceptance is the N-th working day after that date. Saturdays, Sundays
and statutory holidays are off; the make-up workdays (调休上班) that the State
Council announces each year are working days.

Where a day's status comes from, strongest first:

1. a schedule loaded by a supervisor (the State Council notice typed into a
   small text file, see ``docs/holiday-schedule-format.md``). A loaded schedule
   wins over the built-in data so that a hall can correct or amend a year;
2. the schedules built into ``chinese_calendar`` (2004 to its last known year);
3. for a year with no schedule at all: weekends plus the statutory holidays of
   全国年节及纪念日放假办法 (lunar dates from the ``holidays`` package). Such a
   day is *provisional*: the result is still computed (a window must never
   stop working), but it carries ``provisional=True`` so that the UI and the
   documents can say the date may change when the notice is published.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import chinese_calendar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallapp.models import Staff

log = logging.getLogger(__name__)

WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# The make-up workday marker in a schedule file, and its accepted spellings.
_MAKEUP_WORDS = ("调休上班", "上班")
_YEAR_WORDS = ("年份", "年度")
# A schedule may mention days of the neighbouring years (e.g. the 2019 notice
# moved 2018-12-29 to a workday for New Year's Day 2019).
_SPILL_DAYS = 31


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class DayInfo:
    """One day as the calendar sees it, with the reason in Chinese."""

    day: date
    working: bool
    reason: str  # e.g. "工作日", "周六", "春节", "调休上班（春节）"
    provisional: bool  # no schedule is known for this day's year


@dataclass(frozen=True)
class WorkdayResult:
    """A computed due date.

    ``counted`` lists the working days counted, in order (its last element is
    ``date`` when n >= 1). ``provisional`` is true when any day looked at lies
    in a year with no schedule.
    """

    date: dt.date
    provisional: bool
    counted: tuple[dt.date, ...] = ()

    def __str__(self) -> str:
        text = self.date.isoformat()
        return f"{text} provisional" if self.provisional else text


# --------------------------------------------------------------------------- #
# Schedules (the State Council notice as a small text file)
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Schedule:
    """One year's official arrangement: days off and make-up workdays."""

    year: int
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    # The holiday each day belongs to, for holidays and make-up workdays alike.
    names: Mapping[date, str] = field(default_factory=dict)
    source_text: str = ""
    #: The line of the file each holiday name stands on, for the checks' messages.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)


def _shown(text: str) -> str:
    """Text from a file as a message may quote it: invisible characters as U+…"""
    return "".join(
        c if c.isprintable() or c == " " else f"U+{ord(c):04X}" for c in text
    )


@dataclass(frozen=True)
class ScheduleProblem:
    line: int  # 1-based; 0 when the problem concerns the whole file
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message}" if self.line else self.message


class ScheduleError(ValueError):
    """A schedule text cannot be used; carries every problem found, with line numbers."""

    def __init__(self, problems: Iterable[ScheduleProblem]) -> None:
        self.problems: tuple[ScheduleProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Range and list separators: ASCII and the full-width forms people type.
_RANGE_RE = re.compile(r"\s*(?:~|～|至|—|--)\s*")
_HEAD_RE = re.compile(r"^([^\s:：]+)[\s:：]+(.*)$")
_LIST_RE = re.compile(r"\s*[,，、;；]\s*|\s+")


def _parse_date(token: str) -> date | None:
    m = _DATE_RE.match(token.strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _parse_days(text: str, line: int, problems: list[ScheduleProblem]) -> list[date]:
    """Parse ``2027-02-06~2027-02-13,2027-02-20`` into the list of days."""
    days: list[date] = []
    # Normalise range separators first so a range with spaces stays one token.
    text = _RANGE_RE.sub("~", text.strip())
    for token in (t for t in _LIST_RE.split(text) if t):
        if "~" in token:
            first_text, _, last_text = token.partition("~")
            first, last = _parse_date(first_text), _parse_date(last_text)
            bad = [t for t, d in ((first_text, first), (last_text, last)) if d is None]
            if bad or first is None or last is None:
                for t in bad:
                    problems.append(
                        ScheduleProblem(line, f"无法识别的日期“{_shown(t)}”，请写作 YYYY-MM-DD")
                    )
                continue
            if last < first:
                problems.append(ScheduleProblem(line, f"区间“{token}”的结束日期早于开始日期"))
                continue
            if (last - first).days > 60:
                problems.append(
                    ScheduleProblem(line, f"区间“{token}”超过 60 天，请检查日期是否写错")
                )
                continue
            days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            d = _parse_date(token)
            if d is None:
                problems.append(
                    ScheduleProblem(line, f"无法识别的日期“{_shown(token)}”，请写作 YYYY-MM-DD")
                )
            else:
                days.append(d)
    return days


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule file (format in docs/holiday-schedule-format.md).

    ::

        # 国务院办公厅关于2027年部分节假日安排的通知
        年份 2027
        元旦 2027-01-01
        春节 2027-02-05~2027-02-11 调休上班 2027-02-14,2027-02-20

    Raises :class:`ScheduleError` listing every problem with its line number.
    """
    problems: list[ScheduleProblem] = []
    year: int | None = None
    year_line = 0
    holidays: dict[date, tuple[str, int]] = {}
    makeup: dict[date, tuple[str, int]] = {}

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().lstrip("\ufeff")
        if not line:
            continue
        # The name runs to the first space (full-width too) or colon.
        head = _HEAD_RE.match(line)
        name, rest = (head[1], head[2].strip()) if head else (line, "")
        if name in _YEAR_WORDS:
            if year is not None:
                problems.append(
                    ScheduleProblem(number, f"重复的年份行（第 {year_line} 行已写年份）")
                )
                continue
            if not re.fullmatch(r"\d{4}", rest):
                problems.append(ScheduleProblem(number, f"年份“{rest}”应为四位数字，例如 2027"))
                continue
            year, year_line = int(rest), number
            continue
        if _parse_date(name) is not None or not name:
            problems.append(
                ScheduleProblem(number, "每行应以节日名称开头，例如“春节 2027-02-05~2027-02-11”")
            )
            continue
        if not rest:
            problems.append(ScheduleProblem(number, f"“{name}”后面缺少放假日期"))
            continue
        from hallapp.validation import hidden_character_problem

        if hidden := hidden_character_problem(name):
            # A direction override would print the name otherwise than it is.
            problems.append(ScheduleProblem(number, f"节日名称{hidden}"))
            continue
        holiday_text, makeup_text = rest, ""
        for word in _MAKEUP_WORDS:
            if word in rest:
                holiday_text, _, makeup_text = rest.partition(word)
                if not makeup_text.strip():
                    problems.append(ScheduleProblem(number, f"“{word}”后面缺少日期"))
                break
        for d in _parse_days(holiday_text, number, problems):
            if d in holidays and holidays[d][1] != number:
                problems.append(
                    ScheduleProblem(
                        number, f"{d.isoformat()} 已在第 {holidays[d][1]} 行列为假日，重复"
                    )
                )
            holidays[d] = (name, number)
        for d in _parse_days(makeup_text, number, problems):
            if d.weekday() < 5:
                problems.append(
                    ScheduleProblem(
                        number,
                        f"调休上班日 {d.isoformat()} 是{WEEKDAY_NAMES[d.weekday()]}，"
                        "本来就是工作日，请检查日期",
                    )
                )
            makeup[d] = (name, number)

    for d in sorted(set(holidays) & set(makeup)):
        problems.append(
            ScheduleProblem(makeup[d][1], f"{d.isoformat()} 既列为假日又列为调休上班日")
        )
    if not holidays and not problems:
        problems.append(ScheduleProblem(0, "文件中没有任何放假安排"))
    if year is None and holidays:
        # Without a year line, the year is the one most holidays fall in.
        years = [d.year for d in holidays]
        year = max(set(years), key=years.count)
    if year is not None and year not in SCHEDULE_YEARS:
        # Also keeps the date arithmetic below inside 0001–9999.
        problems.append(
            ScheduleProblem(
                year_line,
                f"年份 {year} 超出范围：放假安排只能录入 {SCHEDULE_YEARS.start}—"
                f"{SCHEDULE_YEARS.stop - 1} 年",
            )
        )
    elif year is not None:
        for d, (_, number) in sorted({**holidays, **makeup}.items()):
            if (
                not date(year, 1, 1) - timedelta(days=_SPILL_DAYS)
                <= d
                <= date(year, 12, 31) + timedelta(days=_SPILL_DAYS)
            ):
                problems.append(
                    ScheduleProblem(number, f"日期 {d.isoformat()} 不属于 {year} 年的放假安排")
                )
    if problems or year is None:
        raise ScheduleError(sorted(problems, key=lambda p: p.line))
    names = {d: n for d, (n, _) in holidays.items()} | {d: n for d, (n, _) in makeup.items()}
    lines: dict[str, int] = {}
    for n, number in sorted({*holidays.values(), *makeup.values()}, key=lambda x: x[1]):
        lines.setdefault(n, number)
    return Schedule(
        year=year,
        holidays=frozenset(holidays),
        makeup_workdays=frozenset(makeup),
        names=names,
        source_text=text,
        lines=lines,
    )


# --------------------------------------------------------------------------- #
# Is the schedule plausible as a State Council notice?
# --------------------------------------------------------------------------- #

#: The statutory holidays every year's notice arranges (全国年节及纪念日放假办法).
STATUTORY_NAMES = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
# How people (and the notices of different years) write them.
_NAME_ALIASES = {
    "元旦": "元旦",
    "新年": "元旦",
    "春节": "春节",
    "除夕": "春节",
    "农历除夕": "春节",
    "清明": "清明节",
    "清明节": "清明节",
    "劳动节": "劳动节",
    "五一": "劳动节",
    "五一劳动节": "劳动节",
    "国际劳动节": "劳动节",
    "端午": "端午节",
    "端午节": "端午节",
    "中秋": "中秋节",
    "中秋节": "中秋节",
    "国庆": "国庆节",
    "国庆节": "国庆节",
}
_NAME_SPLIT_RE = re.compile(r"[、,，/和及与]")
# The longest block of days off a notice has given each holiday, with room to
# spare: 春节 10 (2020), 国庆节 8 together with 中秋节 (2017, 2020, 2023, 2025),
# 劳动节 5 since 2008 (7 before), the one-day holidays 3 with their weekend.
_MAX_DAYS = {
    "元旦": 3,
    "春节": 10,
    "清明节": 3,
    "劳动节": 5,
    "端午节": 3,
    "中秋节": 3,
    "国庆节": 8,
}
_MAX_DAYS_OTHER = 3  # a one-off day of commemoration (e.g. 2015-09-03)
# A notice lists the statutory holidays and at most one day of commemoration
# (2015's 抗战胜利纪念日), and no year 2004–2026 gave more than 33 days off in
# all (2026): a file past these is not a State Council notice.
_MAX_OTHER_LINES = 1
_MAX_DAYS_IN_YEAR = 40
# A make-up workday lies next to its holiday (2026: 国庆 10-01, 上班 09-20).
_MAKEUP_REACH_DAYS = 21
#: The years a schedule may be written for (the lunar tables and the format's four digits).
SCHEDULE_YEARS = range(2000, 2100)


def canonical_holidays(name: str) -> tuple[str, ...]:
    """The statutory holidays a line's name stands for: 国庆节、中秋节 → both."""
    parts = [p.strip() for p in _NAME_SPLIT_RE.split(name) if p.strip()]
    found = [_NAME_ALIASES[p] for p in parts if p in _NAME_ALIASES]
    return tuple(dict.fromkeys(found))


def check_schedule(schedule: Schedule) -> list[ScheduleProblem]:
    """Every reason ``schedule`` cannot be the State Council's notice for its year.

    The statutory days of 全国年节及纪念日放假办法 (as it applied that year: the
    2024 amendment gives 春节 4 days and 劳动节 2) are off in every notice, so
    each must be a holiday of the schedule; make-up workdays are weekend days
    near their holiday; no holiday runs longer than any notice has made it;
    every date lies in the year (元旦 may begin in the last days of December
    before). Checked against every built-in year 2004–2026 by the tests.
    """
    problems: list[ScheduleProblem] = []
    year = schedule.year
    if year not in SCHEDULE_YEARS:
        return [
            ScheduleProblem(
                0,
                f"年份 {year} 超出范围：放假安排只能录入 {SCHEDULE_YEARS.start}—"
                f"{SCHEDULE_YEARS.stop - 1} 年",
            )
        ]
    lines = schedule.lines

    def line_of(d: date) -> int:
        return lines.get(schedule.names.get(d, ""), 0)

    for d in sorted(schedule.holidays | schedule.makeup_workdays):
        name = schedule.names.get(d, "")
        early_new_year = date(year - 1, 12, 25) <= d < date(
            year, 1, 1
        ) and "元旦" in canonical_holidays(name)
        if d.year != year and not early_new_year:
            problems.append(
                ScheduleProblem(
                    line_of(d),
                    f"日期 {d.isoformat()} 不在 {year} 年内"
                    "（只有元旦假期可以从上一年 12 月下旬开始）",
                )
            )
    missing: dict[str, list[date]] = {}
    for d, statutory in sorted(statutory_holidays(year).items()):
        if d not in schedule.holidays:
            names = "、".join(dict.fromkeys(_NAME_ALIASES.get(n, n) for n in statutory.split("、")))
            missing.setdefault(names, []).append(d)
    line_of_name = {c: n for name, n in lines.items() for c in canonical_holidays(name)}
    for names, days in missing.items():
        problems.append(
            ScheduleProblem(
                min((line_of_name.get(n, 0) for n in names.split("、")), default=0),
                f"缺少{names}的法定假日 {'、'.join(d.isoformat() for d in days)}："
                "按《全国年节及纪念日放假办法》这些日子每年都放假，国务院通知一定包含，"
                f"请对照通知补全{names}的放假日期",
            )
        )
    by_name: dict[str, list[date]] = {}
    for d in schedule.holidays:
        by_name.setdefault(schedule.names.get(d, ""), []).append(d)
    for name, days in sorted(by_name.items(), key=lambda x: lines.get(x[0], 0)):
        canon = canonical_holidays(name)
        limit = max((_MAX_DAYS[c] for c in canon), default=_MAX_DAYS_OTHER)
        if "劳动节" in canon and year < 2008:
            limit = max(limit, 7)  # the 黄金周 of 2000–2007
        if len(days) > limit:
            problems.append(
                ScheduleProblem(
                    lines.get(name, 0),
                    f"“{name}”放假 {len(days)} 天，超过历年通知中最长的 {limit} 天，请核对日期",
                )
            )
    others = sorted((lines.get(n, 0), n) for n in by_name if not canonical_holidays(n))
    if len(others) > _MAX_OTHER_LINES:
        problems.append(
            ScheduleProblem(
                others[_MAX_OTHER_LINES][0],
                f"除法定节日外还有 {len(others)} 个放假名目（{'、'.join(n for _, n in others)}）："
                f"国务院通知除法定节日外至多另有 {_MAX_OTHER_LINES} 个纪念日放假，请核对",
            )
        )
    if len(schedule.holidays) > _MAX_DAYS_IN_YEAR:
        problems.append(
            ScheduleProblem(
                0,
                f"全年放假共 {len(schedule.holidays)} 天：历年国务院通知最多 33 天（2026 年），"
                f"超过 {_MAX_DAYS_IN_YEAR} 天的文件不像放假通知，请核对是否重复或多列了假期",
            )
        )
    for d in sorted(schedule.makeup_workdays):
        name = schedule.names.get(d, "")
        own = by_name.get(name, [])
        if own and min(abs((d - h).days) for h in own) > _MAKEUP_REACH_DAYS:
            problems.append(
                ScheduleProblem(
                    line_of(d),
                    f"调休上班日 {d.isoformat()} 离“{name}”假期超过 {_MAKEUP_REACH_DAYS} 天，"
                    "调休上班日应紧邻所调的假期，请核对",
                )
            )
    return sorted(problems, key=lambda p: p.line)


def validate_schedule(text: str) -> Schedule:
    """Parse a schedule file and check it (:func:`check_schedule`); raises ScheduleError."""
    schedule = parse_schedule(text)
    problems = check_schedule(schedule)
    if problems:
        raise ScheduleError(problems)
    return schedule


def format_schedule(schedule: Schedule) -> str:
    """Write a schedule back in the file format (one line per holiday name)."""
    by_name: dict[str, tuple[list[date], list[date]]] = {}
    # Lines in the order of the holidays themselves, as in the notice.
    for d in sorted(schedule.holidays):
        by_name.setdefault(schedule.names.get(d, "假日"), ([], []))[0].append(d)
    for d in sorted(schedule.makeup_workdays):
        by_name.setdefault(schedule.names.get(d, "假日"), ([], []))[1].append(d)
    lines = [f"年份 {schedule.year}"]
    for name, (off, work) in by_name.items():
        parts = [name, _format_days(off)] if off else [name]
        if work:
            parts += ["调休上班", ",".join(d.isoformat() for d in work)]
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


def _format_days(days: list[date]) -> str:
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and d - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return ",".join(
        a.isoformat() if a == b else f"{a.isoformat()}~{b.isoformat()}" for a, b in runs
    )


# --------------------------------------------------------------------------- #
# Built-in and provisional sources
# --------------------------------------------------------------------------- #


@functools.cache
def builtin_years() -> range:
    """The years chinese_calendar knows, probed through its public API."""
    known = [y for y in range(2000, 2101) if _builtin_knows(y)]
    return range(known[0], known[-1] + 1) if known else range(0)


def _builtin_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@functools.lru_cache(maxsize=16384)
def _builtin_day(d: date) -> tuple[bool, str]:
    # Cached: chinese_calendar scans its whole table to check the year on every call.
    working = bool(chinese_calendar.is_workday(d))
    _, english = chinese_calendar.get_holiday_detail(d)
    name = _builtin_name(english) if english else ""
    if working:
        return True, f"调休上班（{name}）" if d.weekday() >= 5 and name else "工作日"
    return False, name or _weekend_name(d)


def _builtin_name(english: str) -> str:
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return english


def _weekend_name(d: date) -> str:
    return "周六" if d.weekday() == 5 else "周日"


@functools.cache
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The statutory holidays of a year without the State Council's shifts.

    全国年节及纪念日放假办法 (revised 2024): 元旦 1 day, 春节 4 days (除夕 to
    正月初三), 清明 1, 劳动节 2 (5/1-5/2), 端午 1, 中秋 1, 国庆 3 (10/1-10/3).
    The lunar dates come from the ``holidays`` package, which also applies the
    older rules for past years.
    """
    from holidays import country_holidays

    try:
        table = country_holidays("CN", years=year, observed=False, language="zh_CN")
    except Exception:  # pragma: no cover - beyond the lunar tables of the library
        log.exception("无法计算 %s 年的法定节假日（农历换算失败），只按周末和公历节日估算", year)
        return {
            date(year, 1, 1): "元旦",
            date(year, 5, 1): "劳动节",
            date(year, 5, 2): "劳动节",
            date(year, 10, 1): "国庆节",
            date(year, 10, 2): "国庆节",
            date(year, 10, 3): "国庆节",
        }
    statutory: dict[date, str] = {}
    for d, joined in sorted(table.items()):
        # The library also knows some years' shifted days off ("休息日（由 … 调休）");
        # those belong to a notice, so a provisional estimate leaves them out.
        names = [n for n in str(joined).split("; ") if "调休" not in n]
        if names:
            statutory[d] = "、".join(names)
    return statutory


# --------------------------------------------------------------------------- #
# The calendar
# --------------------------------------------------------------------------- #


class WorkCalendar:
    """Which days are working days: loaded schedules, built-in data, else provisional."""

    def __init__(self, schedules: Iterable[Schedule] = (), *, builtin: bool = True) -> None:
        self._builtin = builtin
        self._schedules: dict[int, Schedule] = {}
        # A loaded schedule's explicit days, which may spill into a neighbouring year.
        self._explicit: dict[date, tuple[bool, str]] = {}
        for schedule in sorted(schedules, key=lambda s: s.year):
            self._add(schedule)

    def _add(self, schedule: Schedule) -> None:
        self._schedules[schedule.year] = schedule
        for d in schedule.holidays:
            self._explicit[d] = (False, schedule.names.get(d, "假日"))
        for d in schedule.makeup_workdays:
            self._explicit[d] = (True, f"调休上班（{schedule.names.get(d, '假日')}）")

    def with_schedule(self, schedule: Schedule) -> WorkCalendar:
        """A new calendar with ``schedule`` added (replacing the same year)."""
        kept = [s for y, s in self._schedules.items() if y != schedule.year]
        return WorkCalendar([*kept, schedule], builtin=self._builtin)

    @property
    def schedules(self) -> Mapping[int, Schedule]:
        return dict(self._schedules)

    def is_known(self, year: int) -> bool:
        """True when an official schedule (loaded or built in) covers ``year``."""
        return year in self._schedules or (self._builtin and year in builtin_years())

    def day_info(self, d: date) -> DayInfo:
        if d in self._explicit:
            working, reason = self._explicit[d]
            return DayInfo(d, working, reason, provisional=False)
        if d.year in self._schedules:
            working = d.weekday() < 5
            return DayInfo(d, working, "工作日" if working else _weekend_name(d), False)
        if self._builtin and d.year in builtin_years():
            working, reason = _builtin_day(d)
            return DayInfo(d, working, reason, provisional=False)
        holiday = statutory_holidays(d.year).get(d)
        if holiday:
            return DayInfo(d, False, f"{holiday}（法定节假日，未发布调休安排）", provisional=True)
        working = d.weekday() < 5
        return DayInfo(d, working, "工作日" if working else _weekend_name(d), provisional=True)

    def is_working_day(self, d: date) -> bool:
        return self.day_info(d).working


@functools.cache
def _builtin_calendar() -> WorkCalendar:
    return WorkCalendar()


def default_calendar() -> WorkCalendar:
    """The built-in schedules only (no store); shared, since it is immutable."""
    return _builtin_calendar()


# --------------------------------------------------------------------------- #
# Arithmetic
# --------------------------------------------------------------------------- #

# No period in an approval law runs anywhere near this long; a bound keeps a
# typo (say 2000000) from spinning through centuries of days.
MAX_WORKING_DAYS = 3660

#: Periods are counted on the hall's calendar days, whatever zone the machine is set to.
HALL_TZ = ZoneInfo("Asia/Shanghai")


def hall_date(at: dt.datetime) -> date:
    """The hall's calendar day of an aware instant."""
    return at.astimezone(HALL_TZ).date()


class CalendarRangeError(ValueError):
    """A period would end after 9999-12-31, the last day Python's dates can hold."""


def add_working_days(start: date, n: int, calendar: WorkCalendar | None = None) -> WorkdayResult:
    """The N-th working day after ``start`` (the start day is not counted).

    ``n == 0`` is an instant item: due on ``start`` itself. Raises ValueError for
    a negative or absurdly large ``n``.
    """
    if n < 0:
        raise ValueError(f"工作日数不能为负数：{n}")
    if n > MAX_WORKING_DAYS:
        raise ValueError(f"工作日数 {n} 过大（最多 {MAX_WORKING_DAYS}）")
    cal = calendar or default_calendar()
    counted: list[date] = []
    provisional = False
    d = start
    while len(counted) < n:
        if d == date.max:
            raise CalendarRangeError(
                f"从 {start.isoformat()} 起算第 {n} 个工作日超出了日历范围"
                "（最晚到公元 9999 年 12 月 31 日），请检查起算日期是否写错"
            )
        d += timedelta(days=1)
        info = cal.day_info(d)
        provisional = provisional or info.provisional
        if info.working:
            counted.append(d)
    return WorkdayResult(date=d, provisional=provisional, counted=tuple(counted))


def working_days_between(a: date, b: date, calendar: WorkCalendar | None = None) -> int:
    """Working days after ``a`` up to and including ``b``; negative when b < a.

    So ``working_days_between(d, add_working_days(d, n).date) == n``, and the
    working days left until a due date, seen from today, is
    ``working_days_between(today, due)`` (0 = due today, < 0 = overdue).
    """
    cal = calendar or default_calendar()
    if b < a:
        return -working_days_between(b, a, cal)
    return sum(1 for i in range(1, (b - a).days + 1) if cal.is_working_day(a + timedelta(days=i)))


def explain(
    start: date, result: WorkdayResult, calendar: WorkCalendar | None = None
) -> list[DayInfo]:
    """Every day from the day after ``start`` to the result, with why it counted or not."""
    cal = calendar or default_calendar()
    return [
        cal.day_info(start + timedelta(days=i)) for i in range(1, (result.date - start).days + 1)
    ]


# --------------------------------------------------------------------------- #
# The central store
# --------------------------------------------------------------------------- #


class ScheduleOverrideRequired(ValueError):
    """A load would replace an official year (built in, or loaded before) without ``override``."""


def load_schedule(
    session: Session,
    text: str,
    actor: Staff,
    *,
    window_code: str,
    override: bool = False,
    reason: str = "",
) -> Schedule:
    """Validate a schedule text and store it.

    The text must parse and pass :func:`check_schedule`. A year that already
    has an official schedule — built into chinese_calendar, or loaded before —
    is replaced only with ``override=True`` and a written reason (the
    supervisor's explicit choice): a short file must never silently erase National
    Day from a year the calendar already knows. Every load is written to the
    audit log in the caller's transaction, with the days whose status changed.
    Raises :class:`ScheduleError` or :class:`ScheduleOverrideRequired` before
    touching the store.
    """
    from hallapp import audit
    from hallapp.models import HolidaySchedule, utcnow
    from hallapp.security import require_role
    from hallapp.validation import hidden_character_problem

    require_role(actor, audit.audited_roles())
    schedule = validate_schedule(text)
    reason = reason.strip()
    if len(reason) > 500:
        raise ValueError(f"覆盖原因长度 {len(reason)} 字超过上限 500 字")
    row = session.get(HolidaySchedule, schedule.year)
    # A built-in year stays an override of the built-in data however often it
    # is corrected; otherwise a second load of a year replaces the first.
    override_of = (
        "builtin" if schedule.year in builtin_years() else ("loaded" if row is not None else "")
    )
    if override_of and not override:
        what = (
            f"{schedule.year} 年已由 {row.loaded_by} 于 {_local(row.loaded_at)} 载入放假安排"
            if row is not None
            else f"{schedule.year} 年已有内置的国务院放假安排（chinese_calendar）"
        )
        raise ScheduleOverrideRequired(
            f"{what}，本次未载入。确需更正时，请加 --override 并用 --reason 写明依据"
            "（例如更正通知的文号）；覆盖会记入审计日志并向监督人员显示"
        )
    if override_of and (hidden := hidden_character_problem(reason)):
        raise ValueError(f"覆盖原因{hidden}")
    if override_of and not reason:
        # Replacing the State Council's schedule is answered for in writing.
        raise ScheduleOverrideRequired(
            f"覆盖 {schedule.year} 年已有的放假安排须用 --reason 写明依据（例如更正通知的文号），"
            "本次未载入"
        )
    before = calendar_from_store(session)
    after = before.with_schedule(schedule)
    changed = _changed_days(before, after, schedule)
    if row is None:
        row = HolidaySchedule(year=schedule.year, source_text=text, loaded_by=actor.staff_no)
        session.add(row)
    row.source_text = text
    row.loaded_by = actor.staff_no
    row.loaded_at = utcnow()
    row.override_of = override_of
    row.override_reason = reason
    action = {
        "": "holiday_schedule.load",
        "loaded": "holiday_schedule.replace",
        "builtin": "holiday_schedule.override",
    }[override_of]
    audit.record(
        session,
        actor,
        action,
        target=str(schedule.year),
        detail={
            "year": schedule.year,
            "holidays": len(schedule.holidays),
            "makeup_workdays": sorted(d.isoformat() for d in schedule.makeup_workdays),
            "override_of": override_of,
            "reason": reason,
            "changed_days": changed,
        },
        window_code=window_code,
    )
    session.flush()
    log.info(
        "已载入 %s 年放假安排（%s 个假日，%s 个调休上班日），操作人 %s%s，%s 天的工作日状态改变",
        schedule.year,
        len(schedule.holidays),
        len(schedule.makeup_workdays),
        actor.staff_no,
        {"": "", "loaded": "，替换了原有载入的安排", "builtin": "，人工覆盖了内置安排"}[
            override_of
        ],
        len(changed),
    )
    return schedule


_STATE = {True: "工作日", False: "休息"}


def _changed_days(before: WorkCalendar, after: WorkCalendar, schedule: Schedule) -> list[str]:
    """The days whose working status a load changes, as "2026-10-02 休息→工作日"."""
    first = min((*schedule.holidays, *schedule.makeup_workdays, date(schedule.year, 1, 1)))
    last = date(schedule.year, 12, 31)
    out = []
    d = first
    while d <= last:
        was, now = before.is_working_day(d), after.is_working_day(d)
        if was != now:
            out.append(f"{d.isoformat()} {_STATE[was]}→{_STATE[now]}")
        d += timedelta(days=1)
    return out


def _local(at: dt.datetime) -> str:
    # SQLite hands back naive UTC; PostgreSQL an aware instant.
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class YearStatus:
    """Where a year's working days come from, as supervisors are shown it."""

    year: int
    source: str  # "builtin", "loaded", "override" (a loaded year replacing an official one)
    loaded_by: str = ""
    loaded_at: dt.datetime | None = None
    override_of: str = ""
    reason: str = ""
    damaged: bool = False  # the stored text no longer parses; the year falls back
    #: Why a stored schedule fails today's checks (it was loaded before they
    #: existed, or straight into the table); it is still used, and flagged.
    problems: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.source == "builtin":
            return f"{self.year} 年：内置安排（chinese_calendar）"
        when = _local(self.loaded_at) if self.loaded_at else "?"
        if self.source == "override":
            what = "内置安排" if self.override_of == "builtin" else "原先载入的安排"
            text = f"{self.year} 年：由 {self.loaded_by} 于 {when} 人工覆盖（替换了{what}）"
            if self.reason:
                text += f"，原因：{self.reason}"
        else:
            text = f"{self.year} 年：由 {self.loaded_by} 于 {when} 载入"
        if self.damaged:
            text += "；【存储的安排已损坏，该年按内置或暂定计算，请重新载入】"
        elif self.problems:
            more = f"等 {len(self.problems)} 处" if len(self.problems) > 1 else ""
            text += f"；【未通过检查：{self.problems[0]}{more}。"
            text += "请对照通知更正后用 --override 重新载入】"
        return text


def year_status(row: Any) -> YearStatus:
    """A stored schedule's status; ``row`` is a HolidaySchedule or a central
    row with the same columns (year, loaded_by, loaded_at, override_of,
    override_reason, source_text)."""
    problems: tuple[str, ...] = ()
    try:
        parsed = parse_schedule(row.source_text)
        damaged = parsed.year != row.year
        if not damaged:
            problems = tuple(str(p) for p in check_schedule(parsed))
    except ScheduleError:
        damaged = True
    overrides = row.override_of or ("builtin" if row.year in builtin_years() else "")
    return YearStatus(
        year=row.year,
        source="override" if overrides else "loaded",
        loaded_by=row.loaded_by,
        loaded_at=row.loaded_at,
        override_of=overrides,
        reason=row.override_reason,
        damaged=damaged,
        problems=problems,
    )


def schedule_status(session: Session) -> list[YearStatus]:
    """Every year with an official schedule, stored or built in, oldest first."""
    from sqlalchemy import select

    from hallapp.models import HolidaySchedule

    stored = {
        row.year: year_status(row)
        for row in session.scalars(select(HolidaySchedule).order_by(HolidaySchedule.year))
    }
    years = sorted({*builtin_years(), *stored})
    return [stored.get(y) or YearStatus(year=y, source="builtin") for y in years]


def calendar_from_store(session: Session) -> WorkCalendar:
    """The built-in schedules plus every schedule stored centrally.

    A stored text that no longer parses (it was valid when loaded, so this
    means a damaged row) is logged and skipped: that year falls back to the
    built-in data or to provisional dates rather than stopping the window.
    """
    from sqlalchemy import select

    from hallapp.models import HolidaySchedule

    schedules: list[Schedule] = []
    # Only the columns every schema version has, so a window can still count
    # on a database one migration behind.
    rows = session.execute(
        select(HolidaySchedule.year, HolidaySchedule.source_text).order_by(HolidaySchedule.year)
    )
    for row in rows:
        try:
            schedule = parse_schedule(row.source_text)
        except ScheduleError as exc:
            log.error("中心库中 %s 年的放假安排无法解析，已忽略：%s", row.year, exc)
            continue
        if schedule.year != row.year:
            log.error("中心库中 %s 年的放假安排写的是 %s 年，已忽略", row.year, schedule.year)
            continue
        schedules.append(schedule)
    return WorkCalendar(schedules)
