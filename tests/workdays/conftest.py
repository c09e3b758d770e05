"""Fixtures for the working-day, deadline and validation tests."""

from __future__ import annotations

import pytest

from hallapp.workdays import Schedule, WorkCalendar, default_calendar, parse_schedule

# TEST DATA, MADE UP: not the State Council's arrangement for 2027 (not known
# when this was written). It has the shape of a real notice: a 9-day Spring
# Festival with two make-up workdays (a Sunday and a Saturday), and a 7-day
# National Day with two make-up workdays.
FICTIONAL_2027 = """\
# 测试数据（虚构）：不是国务院实际发布的 2027 年放假安排
年份 2027
元旦 2027-01-01~2027-01-03
春节 2027-02-05~2027-02-13 调休上班 2027-01-31,2027-02-20
清明节 2027-04-05
劳动节 2027-05-01~2027-05-05 调休上班 2027-04-25
端午节 2027-06-09
中秋节 2027-09-15
国庆节 2027-10-01~2027-10-07 调休上班 2027-09-26,2027-10-09
"""


@pytest.fixture
def fictional_2027_text() -> str:
    return FICTIONAL_2027


@pytest.fixture
def fictional_2027() -> Schedule:
    return parse_schedule(FICTIONAL_2027)


@pytest.fixture
def calendar() -> WorkCalendar:
    return default_calendar()


@pytest.fixture(scope="session")
def calendars() -> dict[str, WorkCalendar]:
    """Session-scoped (hypothesis tests cannot use function-scoped fixtures):
    the built-in schedules, and the same plus the fictional 2027 loaded."""
    return {
        "builtin": default_calendar(),
        "loaded": WorkCalendar([parse_schedule(FICTIONAL_2027)]),
    }
