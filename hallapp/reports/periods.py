"""Report periods: a month (YYYY-MM) or a quarter (YYYY-Qn) on the hall's calendar.

Facts keep their time in UTC; a period is the hall's days (Asia/Shanghai), so
its bounds are turned into UTC instants once and the database filters with
plain comparisons on ``created_at`` (which its indexes serve), never with a
date function per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hallapp.workdays import HALL_TZ, hall_date


class PeriodError(ValueError):
    """The period text cannot be read; the message says the form wanted."""


@dataclass(frozen=True)
class Period:
    """The hall's days ``first`` .. ``last`` (inclusive), with a label."""

    first: date
    last: date
    label: str  # 2026年9月, 2026年第3季度
    key: str  # 2026-09, 2026-Q3

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.key

    @property
    def start_utc(self) -> datetime:
        return day_start_utc(self.first)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return day_start_utc(self.last + timedelta(days=1))

    def as_of(self, now: datetime) -> date:
        """The day the period's open matters are judged on: a date is past when
        it is before this day. For a period that has ended, the day after its
        last (at the period's end a promise of its last day has run out: a case
        promised for 9-30 and open on 10-01 is overdue in September); while it
        is still running, today (a promise of today has not run out yet)."""
        today = hall_date(now)
        return min(self.last + timedelta(days=1), today)

    def months(self) -> list[Period]:
        if not self.is_quarter:
            return [self]
        return [month(self.first.year, m) for m in range(self.first.month, self.first.month + 3)]


def cn_date(d: date) -> str:
    """A day as the hall writes it: 2026年12月2日."""
    return f"{d.year}年{d.month}月{d.day}日"


def cn_time(at: datetime) -> str:
    """An instant as the hall reads it (Beijing time): 2026年12月3日 10:15."""
    local = at.astimezone(HALL_TZ)
    return f"{cn_date(local.date())} {local:%H:%M}"


def running_note(period: Period, now: datetime) -> str | None:
    """What a report of ``period`` made at ``now`` must say because the
    period is not over (its figures will still change), or None.

    The hall's day (Beijing time) decides: at 07:00 on the 1st in Beijing the
    month before is over even though it is still the last day in UTC."""
    today = hall_date(now)
    word = "本季度" if period.is_quarter else "本月"
    if today < period.first:
        return f"{word}尚未开始（制表日 {cn_date(today)}）"
    if today <= period.last:
        return f"{word}尚未结束，数据截至 {cn_date(today)}"
    return None


def day_start_utc(d: date) -> datetime:
    """The UTC instant the hall's day ``d`` begins."""
    return datetime.combine(d, time.min, tzinfo=HALL_TZ).astimezone(UTC)


def month(year: int, number: int) -> Period:
    if not 1 <= number <= 12:
        raise PeriodError(f"月份应为 1–12，收到 {number}")
    first = date(year, number, 1)
    nxt = date(year + (number == 12), number % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1), f"{year}年{number}月", f"{year}-{number:02d}")


def quarter(year: int, number: int) -> Period:
    if not 1 <= number <= 4:
        raise PeriodError(f"季度应为 1–4，收到 {number}")
    first = date(year, 3 * number - 2, 1)
    last = month(year, 3 * number).last
    return Period(first, last, f"{year}年第{number}季度", f"{year}-Q{number}")


_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_QUARTER = re.compile(r"^\s*(\d{4})-?[Qq]([1-4])\s*$")


def parse_month(text: str) -> Period:
    m = _MONTH.match(text)
    if not m:
        raise PeriodError(f"月份格式应为 YYYY-MM（例如 2026-09），收到 {text!r}")
    if not 2000 <= int(m.group(1)) <= 2100:
        raise PeriodError(f"年份应在 2000–2100 之间，收到 {m.group(1)}（{text.strip()}）")
    return month(int(m.group(1)), int(m.group(2)))


def parse_quarter(text: str) -> Period:
    m = _QUARTER.match(text)
    if not m:
        raise PeriodError(f"季度格式应为 YYYY-Qn（例如 2026-Q3），收到 {text!r}")
    if not 2000 <= int(m.group(1)) <= 2100:
        raise PeriodError(f"年份应在 2000–2100 之间，收到 {m.group(1)}（{text.strip()}）")
    return quarter(int(m.group(1)), int(m.group(2)))


def parse_period(text: str) -> Period:
    """A month or a quarter, whichever the text is."""
    if "q" in text.lower():
        return parse_quarter(text)
    return parse_month(text)


def previous_months(period: Period, count: int) -> list[Period]:
    """The ``count`` months ending with the period's last month, oldest first (for trends)."""
    y, m = period.last.year, period.last.month
    out: list[Period] = []
    for _ in range(count):
        out.append(month(y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]
