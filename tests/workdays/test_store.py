"""Loading schedules into the store, and the calendar read back from it.

Uses the real SQLite store (and the real PostgreSQL server where reachable).
"""

from __future__ import annotations

import logging
from datetime import date

import pytest
from sqlalchemy import select

from hallapp.models import AuditEntry, Department, HolidaySchedule, Role, Staff
from hallapp.security import hash_password
from hallapp.store import Store
from hallapp.workdays import (
    ScheduleError,
    ScheduleOverrideRequired,
    add_working_days,
    calendar_from_store,
    load_schedule,
)

D = date.fromisoformat


def _supervisor(store: Store) -> None:
    with store.session() as s:
        s.add(Department(code="ZX", name="连城县行政服务中心"))
        s.flush()
        s.add(
            Staff(
                staff_no="9001",
                name="王建国",
                department_code="ZX",
                role=Role.SUPERVISOR,
                password_hash=hash_password("654321"),
            )
        )


def _load(store: Store, text: str, *, override: bool = False, reason: str = "") -> None:
    with store.session() as s:
        actor = s.scalars(select(Staff).where(Staff.staff_no == "9001")).one()
        load_schedule(s, text, actor, window_code="A03", override=override, reason=reason)


def _check_round_trip(store: Store, fictional_2027_text: str) -> None:
    with store.session() as s:
        assert not calendar_from_store(s).schedules
    _load(store, fictional_2027_text)
    with store.session() as s:
        row = s.get(HolidaySchedule, 2027)
        assert row is not None and row.loaded_by == "9001"
        assert row.source_text == fictional_2027_text
        calendar = calendar_from_store(s)
    assert calendar.is_known(2027)
    result = add_working_days(D("2027-02-04"), 1, calendar)
    assert result.date == D("2027-02-15") and not result.provisional

    # A corrected notice replaces the year (test data) only with the explicit
    # override, and the audit says so.
    corrected = fictional_2027_text.replace("2027-02-05~2027-02-13", "2027-02-05~2027-02-11")
    with pytest.raises(ScheduleOverrideRequired, match=r"已由 9001 于 .* 载入"):
        _load(store, corrected)
    _load(store, corrected, override=True, reason="更正通知")
    with store.session() as s:
        calendar = calendar_from_store(s)
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.created_at)).all()
        entries = s.scalars(select(AuditEntry)).all()
    assert add_working_days(D("2027-02-04"), 1, calendar).date == D("2027-02-12")
    assert list(actions) == ["holiday_schedule.load", "holiday_schedule.replace"]
    assert all(e.staff_no == "9001" and e.target == "2027" for e in entries)


def test_load_and_read_back_sqlite(store: Store, fictional_2027_text: str) -> None:
    _supervisor(store)
    _check_round_trip(store, fictional_2027_text)


@pytest.mark.postgres
def test_load_and_read_back_postgres(pg_store: Store, fictional_2027_text: str) -> None:
    _supervisor(pg_store)
    _check_round_trip(pg_store, fictional_2027_text)


def test_a_bad_file_stores_nothing(store: Store) -> None:
    _supervisor(store)
    with pytest.raises(ScheduleError, match="第 2 行"):
        _load(store, "年份 2027\n春节 2027-02-30\n")
    with store.session() as s:
        assert s.scalars(select(HolidaySchedule)).all() == []
        assert s.scalars(select(AuditEntry)).all() == []


def test_a_damaged_row_is_skipped_not_fatal(
    store: Store, fictional_2027_text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with store.session() as s:
        s.add(HolidaySchedule(year=2027, source_text="年份 2027\n春节 坏数据\n", loaded_by="x"))
        s.add(HolidaySchedule(year=2028, source_text=fictional_2027_text, loaded_by="x"))
    with caplog.at_level(logging.ERROR), store.session() as s:
        calendar = calendar_from_store(s)
    assert not calendar.schedules
    assert "2027 年的放假安排无法解析" in caplog.text
    assert "2028 年的放假安排写的是 2027 年" in caplog.text
    assert add_working_days(D("2035-02-06"), 1, calendar).provisional
