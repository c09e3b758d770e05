"""Properties of working-day arithmetic, over official, loaded and provisional years."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hallapp.workdays import WorkCalendar, add_working_days, working_days_between

# Official years (2004-2026), a loaded one (2027, test data) and provisional ones;
# the calendars come from the session fixture ``calendars`` (conftest.py).
names = st.sampled_from(["builtin", "loaded"])
days = st.dates(min_value=date(2004, 1, 1), max_value=date(2040, 12, 31))
counts = st.integers(min_value=0, max_value=80)


@given(start=days, n=st.integers(min_value=1, max_value=80), name=names)
def test_result_is_a_working_day_after_the_start(
    start: date, n: int, name: str, calendars: dict[str, WorkCalendar]
) -> None:
    cal = calendars[name]
    result = add_working_days(start, n, cal)
    assert result.date > start
    assert cal.is_working_day(result.date)
    assert result.counted[-1] == result.date


@given(start=days, n=counts, name=names)
def test_counted_days_are_exactly_the_working_days_in_between(
    start: date, n: int, name: str, calendars: dict[str, WorkCalendar]
) -> None:
    cal = calendars[name]
    result = add_working_days(start, n, cal)
    span = [start + timedelta(days=k) for k in range(1, (result.date - start).days + 1)]
    assert list(result.counted) == [d for d in span if cal.is_working_day(d)]
    assert len(result.counted) == n
    assert working_days_between(start, result.date, cal) == n
    assert working_days_between(result.date, start, cal) == -n


@given(start=days, a=counts, b=counts, name=names)
def test_monotonic_in_n(
    start: date, a: int, b: int, name: str, calendars: dict[str, WorkCalendar]
) -> None:
    cal = calendars[name]
    first, second = add_working_days(start, a, cal), add_working_days(start, b, cal)
    if a < b:
        assert first.date < second.date
    elif a == b:
        assert first == second


@given(start=days, a=st.integers(min_value=1, max_value=60), b=counts, name=names)
def test_adding_in_two_steps_is_adding_once(
    start: date, a: int, b: int, name: str, calendars: dict[str, WorkCalendar]
) -> None:
    cal = calendars[name]
    # Anchored on a working day (a >= 1), two periods chain like one.
    mid = add_working_days(start, a, cal).date
    assert add_working_days(mid, b, cal).date == add_working_days(start, a + b, cal).date


@given(start=days, n=st.integers(min_value=1, max_value=80), name=names)
def test_provisional_exactly_when_a_day_looked_at_has_no_schedule(
    start: date, n: int, name: str, calendars: dict[str, WorkCalendar]
) -> None:
    cal = calendars[name]
    result = add_working_days(start, n, cal)
    looked_at = {(start + timedelta(days=k)).year for k in range(1, (result.date - start).days + 1)}
    assert result.provisional == any(not cal.is_known(y) for y in looked_at)


@settings(max_examples=50)
@given(start=st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 6, 30)), n=counts)
def test_a_loaded_schedule_only_changes_its_own_year(
    start: date, n: int, calendars: dict[str, WorkCalendar]
) -> None:
    # 80 working days from before July 2026 stay inside 2026.
    assert add_working_days(start, n, calendars["builtin"]) == add_working_days(
        start, n, calendars["loaded"]
    )
