"""The 2026 official schedule (国办发明电〔2025〕7号), as built into chinese_calendar.

The notice: 元旦 1/1-1/3 off, Sun 1/4 worked; 春节 2/15-2/23 off (9 days), Sat 2/14
and Sat 2/28 worked; 清明 4/4-4/6; 劳动节 5/1-5/5, Sat 5/9 worked; 端午 6/19-6/21;
中秋 9/25-9/27; 国庆 10/1-10/7, Sun 9/20 and Sat 10/10 worked.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from hallapp.workdays import WorkCalendar, add_working_days, explain

D = date.fromisoformat

MAKEUP_2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
OFF_2026 = (
    ["2026-01-01", "2026-01-02", "2026-01-03"]
    + [f"2026-02-{day}" for day in range(15, 24)]
    + ["2026-04-04", "2026-04-05", "2026-04-06"]
    + [f"2026-05-0{day}" for day in range(1, 6)]
    + ["2026-06-19", "2026-06-20", "2026-06-21"]
    + ["2026-09-25", "2026-09-26", "2026-09-27"]
    + [f"2026-10-0{day}" for day in range(1, 8)]
)


def test_2026_is_known(calendar: WorkCalendar) -> None:
    assert calendar.is_known(2026)


@pytest.mark.parametrize("day", MAKEUP_2026)
def test_make_up_weekend_days_are_working_days(calendar: WorkCalendar, day: str) -> None:
    info = calendar.day_info(D(day))
    assert D(day).weekday() >= 5
    assert info.working and not info.provisional
    assert info.reason.startswith("调休上班")


@pytest.mark.parametrize("day", OFF_2026)
def test_holidays_are_off(calendar: WorkCalendar, day: str) -> None:
    assert not calendar.is_working_day(D(day))


def test_agrees_with_chinese_calendar_all_year(calendar: WorkCalendar) -> None:
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Spring Festival: Friday 2/13, then the make-up Saturday 2/14 is day 1,
        # the 9 days off are skipped, and Saturday 2/28 is worked again.
        ("2026-02-13", 1, "2026-02-14"),
        ("2026-02-13", 2, "2026-02-24"),
        ("2026-02-13", 5, "2026-02-27"),
        ("2026-02-13", 6, "2026-02-28"),
        ("2026-02-13", 7, "2026-03-02"),
        # New Year: Sunday 1/4 is worked.
        ("2025-12-31", 1, "2026-01-04"),
        # Labour Day: Saturday 5/9 is worked.
        ("2026-04-30", 1, "2026-05-06"),
        ("2026-05-08", 1, "2026-05-09"),
        # National Day: Sunday 9/20 and Saturday 10/10 are worked.
        ("2026-09-18", 1, "2026-09-20"),
        ("2026-09-30", 1, "2026-10-08"),
        ("2026-09-30", 3, "2026-10-10"),
        ("2026-09-30", 4, "2026-10-12"),
        # A 20-working-day legal limit across National Day.
        ("2026-09-28", 20, "2026-10-30"),
    ],
)
def test_add_across_2026_holidays(
    calendar: WorkCalendar, start: str, n: int, expected: str
) -> None:
    result = add_working_days(D(start), n, calendar)
    assert result.date == D(expected)
    assert not result.provisional
    assert len(result.counted) == n


def test_start_day_is_not_counted(calendar: WorkCalendar) -> None:
    # Accepted on Monday 2026-03-02: one working day later is Tuesday, not Monday.
    assert add_working_days(D("2026-03-02"), 1, calendar).date == D("2026-03-03")
    # Accepted on a Saturday: the next Monday is the first day counted.
    assert add_working_days(D("2026-03-07"), 1, calendar).date == D("2026-03-09")


def test_instant_item_is_due_the_same_day(calendar: WorkCalendar) -> None:
    result = add_working_days(D("2026-02-16"), 0, calendar)
    assert result.date == D("2026-02-16")
    assert result.counted == ()
    assert not result.provisional


def test_explain_lists_every_day_with_its_reason(calendar: WorkCalendar) -> None:
    result = add_working_days(D("2026-02-13"), 2, calendar)
    days = explain(D("2026-02-13"), result, calendar)
    assert [i.day for i in days] == [D("2026-02-14") + timedelta(days=k) for k in range(11)]
    assert [i.day for i in days if i.working] == list(result.counted)
    assert days[0].reason == "调休上班（春节）"
    assert days[1].reason == "春节"


def test_negative_days_are_refused(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="负数"):
        add_working_days(D("2026-03-02"), -1, calendar)
