"""Years with no schedule: never raise, never guess silently (provisional=True)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from hallapp.workdays import (
    WorkCalendar,
    add_working_days,
    builtin_years,
    default_calendar,
    statutory_holidays,
    working_days_between,
)

D = date.fromisoformat

# chinese_calendar 1.11 ends with 2026; a later release may learn 2027. The
# 2027 cases then stop being "no schedule" and are skipped; 2035 always is.
needs_unknown_2027 = pytest.mark.skipif(
    default_calendar().is_known(2027), reason="chinese_calendar now ships the 2027 schedule"
)


def test_builtin_years_match_the_library() -> None:
    years = builtin_years()
    assert 2004 in years and 2026 in years
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(years[-1] + 1, 6, 1))


@needs_unknown_2027
def test_2027_is_provisional_and_does_not_raise(calendar: WorkCalendar) -> None:
    assert not calendar.is_known(2027)
    result = add_working_days(D("2027-02-26"), 5, calendar)
    assert result.date == D("2027-03-05")
    assert result.provisional


@needs_unknown_2027
def test_2027_skips_weekends_and_statutory_holidays(calendar: WorkCalendar) -> None:
    # 2027: 除夕 Fri 2/5, 春节 Sat 2/6 to Mon 2/8 (初一 to 初三).
    assert add_working_days(D("2027-02-04"), 1, calendar).date == D("2027-02-09")
    # 元旦 Fri 1/1 then the weekend.
    crossing = add_working_days(D("2026-12-31"), 1, calendar)
    assert crossing.date == D("2027-01-04") and crossing.provisional
    # 劳动节 5/1-5/2 fall on the weekend: no shift is guessed.
    assert add_working_days(D("2027-04-30"), 1, calendar).date == D("2027-05-03")
    # 国庆 Fri 10/1 to Sun 10/3.
    assert add_working_days(D("2027-09-30"), 1, calendar).date == D("2027-10-04")
    # 清明 Mon 4/5, 端午 Wed 6/9, 中秋 Wed 9/15.
    assert add_working_days(D("2027-04-02"), 1, calendar).date == D("2027-04-06")
    assert add_working_days(D("2027-06-08"), 1, calendar).date == D("2027-06-10")
    assert add_working_days(D("2027-09-14"), 1, calendar).date == D("2027-09-16")


@needs_unknown_2027
def test_result_inside_a_known_year_is_not_provisional(calendar: WorkCalendar) -> None:
    assert not add_working_days(D("2026-12-30"), 1, calendar).provisional
    assert add_working_days(D("2026-12-31"), 1, calendar).provisional


def test_2035_spring_festival_and_reason(calendar: WorkCalendar) -> None:
    # 2035: 除夕 Wed 2/7, 春节 Thu 2/8 to Sat 2/10.
    result = add_working_days(D("2035-02-06"), 1, calendar)
    assert result.date == D("2035-02-12")
    assert result.provisional
    info = calendar.day_info(D("2035-02-08"))
    assert not info.working and info.provisional
    assert "春节" in info.reason and "未发布" in info.reason


def test_statutory_holidays_follow_the_2024_rules() -> None:
    days = statutory_holidays(2035)
    names = sorted(days.values())
    # 元旦 1, 春节 4 (除夕 to 初三), 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3: 13 days.
    assert len(days) == 13
    assert names.count("国庆节") == 3 and names.count("劳动节") == 2
    assert {D("2035-05-01"), D("2035-05-02"), D("2035-10-03")} <= set(days)
    assert days[D("2035-02-07")] == "农历除夕"


def test_without_builtin_data_2026_is_only_an_estimate() -> None:
    # The same Friday as in the official test: without the notice there is no
    # make-up Saturday and only 除夕 to 初三 are off, so the estimate differs.
    bare = WorkCalendar(builtin=False)
    result = add_working_days(D("2026-02-13"), 1, bare)
    assert result.date == D("2026-02-20")
    assert result.provisional


@pytest.mark.parametrize("year", [2030, 2045, 2060, 2099])
def test_far_years_never_raise(calendar: WorkCalendar, year: int) -> None:
    holidays = statutory_holidays(year)
    assert len(holidays) == 13  # the lunar dates are known up to 2099
    start, end = date(year - 1, 12, 31), date(year, 12, 31)
    weekdays = sum(
        1
        for k in range(1, 366 + 1)
        if (start + timedelta(days=k)).year == year and (start + timedelta(days=k)).weekday() < 5
    )
    off_on_weekdays = sum(1 for h in holidays if h.weekday() < 5)
    expected = weekdays - off_on_weekdays
    assert working_days_between(start, end, calendar) == expected
    result = add_working_days(start, expected, calendar)
    assert result.provisional
    assert result.date == max(d for d in result.counted)
    assert result.date.year == year and calendar.is_working_day(result.date)
