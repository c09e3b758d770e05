"""The schedule file a supervisor types from the State Council notice."""

from __future__ import annotations

from datetime import date
from importlib.resources import files

import pytest

from hallapp.workdays import (
    Schedule,
    ScheduleError,
    WorkCalendar,
    add_working_days,
    format_schedule,
    parse_schedule,
)

D = date.fromisoformat
# The installed package's copy (package data), as the application would read it.
RESOURCES = files("hallapp.resources") / "holidays"


def test_parse_fictional_2027(fictional_2027: Schedule) -> None:
    s = fictional_2027
    assert s.year == 2027
    assert D("2027-02-05") in s.holidays and D("2027-02-13") in s.holidays
    assert s.makeup_workdays == {
        D(x) for x in ("2027-01-31", "2027-02-20", "2027-04-25", "2027-09-26", "2027-10-09")
    }
    assert len(s.holidays) == 3 + 9 + 1 + 5 + 1 + 1 + 7
    assert s.names[D("2027-02-20")] == "春节"


def test_loaded_schedule_is_used_and_not_provisional(fictional_2027: Schedule) -> None:
    calendar = WorkCalendar([fictional_2027])
    assert calendar.is_known(2027)
    # The whole 9-day Spring Festival is skipped; Sunday 2/14 is a plain Sunday.
    result = add_working_days(D("2027-02-04"), 1, calendar)
    assert result.date == D("2027-02-15")
    assert not result.provisional
    # Saturday 2/20 is a make-up workday.
    assert add_working_days(D("2027-02-19"), 1, calendar).date == D("2027-02-20")
    # Sunday 1/31 too, before the holiday.
    assert add_working_days(D("2027-01-29"), 1, calendar).date == D("2027-01-31")
    assert calendar.day_info(D("2027-01-31")).reason == "调休上班（春节）"


def test_loaded_schedule_overrides_builtin_data() -> None:
    # A hall can correct a built-in year (e.g. an amended notice): test data.
    amended = parse_schedule("年份 2026\n春节 2026-02-15~2026-02-24\n")
    calendar = WorkCalendar([amended])
    assert not calendar.is_working_day(D("2026-02-24"))
    assert not calendar.is_working_day(D("2026-02-14"))  # no make-up day in this version


def test_with_schedule_replaces_the_same_year(fictional_2027: Schedule) -> None:
    other = parse_schedule("年份 2027\n元旦 2027-01-01\n")
    calendar = WorkCalendar([fictional_2027]).with_schedule(other)
    assert calendar.schedules[2027] is other
    assert calendar.is_working_day(D("2027-02-08"))


def test_format_round_trip(fictional_2027: Schedule) -> None:
    again = parse_schedule(format_schedule(fictional_2027))
    assert again.holidays == fictional_2027.holidays
    assert again.makeup_workdays == fictional_2027.makeup_workdays
    assert dict(again.names) == dict(fictional_2027.names)


def test_lenient_spellings() -> None:
    text = (
        "\ufeff年份：2028  # 年份行可以带冒号\n"
        "春节：2028-01-25 至 2028-01-31，调休上班 2028-01-29、2028-02-05\n"
        "国庆节\u30002028-10-01～2028-10-07 上班 2028-10-08\n"
    )
    with pytest.raises(ScheduleError, match="既列为假日又列为调休上班日"):
        parse_schedule(text)
    text = text.replace("2028-01-29、", "")
    s = parse_schedule(text)
    assert s.year == 2028
    assert D("2028-01-25") in s.holidays and D("2028-10-07") in s.holidays
    assert s.makeup_workdays == {D("2028-02-05"), D("2028-10-08")}


def test_year_defaults_to_where_the_holidays_fall() -> None:
    assert parse_schedule("元旦 2030-01-01\n国庆节 2030-10-01~2030-10-07\n").year == 2030


def test_dates_may_spill_into_the_previous_year() -> None:
    # The 2019 notice worked Saturday 2018-12-29 for New Year's Day 2019.
    s = parse_schedule("年份 2019\n元旦 2018-12-30~2019-01-01 调休上班 2018-12-29\n")
    assert D("2018-12-29") in s.makeup_workdays
    calendar = WorkCalendar([s], builtin=False)
    assert calendar.is_working_day(D("2018-12-29"))


def test_every_problem_is_reported_with_its_line_number() -> None:
    text = (
        "# 第 1 行是注释\n"
        "年份 20x7\n"
        "春节 2027-02-30~2027-02-01\n"
        "2027-05-01 劳动节\n"
        "国庆节 2027-10-07~2027-10-01\n"
        "中秋节 2027-09-15 调休上班 2027-09-13\n"
        "端午节\n"
        "元旦 2031-01-01\n"
    )
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    problems = caught.value.problems
    lines = {p.line for p in problems}
    assert lines == {2, 3, 4, 5, 6, 7, 8}
    message = str(caught.value)
    assert "第 2 行：年份“20x7”应为四位数字" in message
    assert "第 3 行：无法识别的日期“2027-02-30”" in message
    assert "第 4 行：每行应以节日名称开头" in message
    assert "第 5 行：区间“2027-10-07~2027-10-01”的结束日期早于开始日期" in message
    assert "第 6 行：调休上班日 2027-09-13 是星期一，本来就是工作日" in message
    assert "第 7 行：“端午节”后面缺少放假日期" in message
    # Without a usable year line, the year is where most days fall (2027).
    assert "第 8 行：日期 2031-01-01 不属于 2027 年" in message


def test_dates_outside_the_year_are_refused() -> None:
    with pytest.raises(ScheduleError, match="第 3 行：日期 2031-01-01 不属于 2027 年"):
        parse_schedule("年份 2027\n元旦 2027-01-01\n元旦 2031-01-01\n")


def test_duplicate_holiday_and_empty_file() -> None:
    with pytest.raises(ScheduleError, match="第 3 行：2027-01-01 已在第 2 行列为假日"):
        parse_schedule("年份 2027\n元旦 2027-01-01\n春节 2027-01-01\n")
    with pytest.raises(ScheduleError, match="没有任何放假安排"):
        parse_schedule("# 只有注释\n\n")
    with pytest.raises(ScheduleError, match="重复的年份行"):
        parse_schedule("年份 2027\n年份 2028\n元旦 2027-01-01\n")


def test_shipped_example_file_parses() -> None:
    shipped = sorted(
        (p for p in RESOURCES.iterdir() if p.name.endswith(".txt")), key=lambda p: p.name
    )
    assert shipped, "resources/holidays/ ships an example schedule"
    for path in shipped:
        schedule = parse_schedule(path.read_text(encoding="utf-8"))
        assert schedule.holidays


def test_shipped_2026_file_equals_the_builtin_schedule() -> None:
    # The sample is the real 2026 notice typed in the file format: read alone
    # (no built-in data), it must give exactly chinese_calendar's 2026.
    import chinese_calendar

    schedule = parse_schedule((RESOURCES / "2026.txt").read_text(encoding="utf-8"))
    typed = WorkCalendar([schedule], builtin=False)
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert typed.is_working_day(day) == chinese_calendar.is_workday(day), day
        assert not typed.day_info(day).provisional
        day = day.fromordinal(day.toordinal() + 1)


def test_format_writes_the_notice_back_in_its_order() -> None:
    text = (RESOURCES / "2026.txt").read_text(encoding="utf-8")
    typed = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert format_schedule(parse_schedule(text)).splitlines() == typed
