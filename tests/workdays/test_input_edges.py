"""Dates at the end of the calendar, and codes typed in full width, at the command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from hallapp.cli import main
from hallapp.models import AuditEntry
from hallapp.store import Store
from hallapp.workdays import CalendarRangeError, add_working_days


def test_a_period_past_9999_is_a_message_not_a_crash() -> None:
    with pytest.raises(CalendarRangeError, match="超出了日历范围"):
        add_working_days(date(9999, 12, 30), 5)
    assert add_working_days(date(9999, 12, 31), 0).date == date(9999, 12, 31)


@pytest.mark.parametrize("argv", [["9999-12-30", "5"], ["9999-12-31", "1"], ["9999-12-20", "3660"]])
def test_workdays_add_at_the_end_of_the_calendar(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hallapp.logsetup

    monkeypatch.setattr(hallapp.logsetup, "_configured", True)
    assert main(["workdays", "add", *argv, "--no-db"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "超出了日历范围" in err and "请检查起算日期" in err
    assert "Traceback" not in err


def test_load_with_a_full_width_staff_number(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: Store,
    reference: object,
    fictional_2027_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hallapp.logsetup

    monkeypatch.setattr(hallapp.logsetup, "_configured", True)
    monkeypatch.setenv("HALLAPP_PASSWORD", "654321")  # supervisor 9001 proves who acts
    path = tmp_path / "2027.txt"
    path.write_text(fictional_2027_text, encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    assert main(["workdays", "load", str(path), "--staff", "９００１", "--db", url]) == 0
    with store.session() as s:
        assert [e.staff_no for e in s.scalars(select(AuditEntry))] == ["9001"]


def test_a_count_of_thousands_of_digits(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hallapp.logsetup

    monkeypatch.setattr(hallapp.logsetup, "_configured", True)
    assert main(["workdays", "add", "2026-01-01", "9" * 5000, "--no-db"]) == 2
    err = capsys.readouterr().err
    assert "工作日数有 5000 位，过大，最多 3660" in err and "Traceback" not in err
    assert main(["workdays", "add", "2026-01-01", "0003", "--no-db"]) == 0
    assert capsys.readouterr().out == "2026-01-06\n"


@pytest.mark.parametrize("limit", ["9" * 5000, "-5", "0", "501"])
def test_search_limit_has_a_range(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["catalog", "search", "x", "--limit", limit])
    assert info.value.code == 2
    assert "应为 1–500 的整数" in capsys.readouterr().err


def test_a_huge_schedule_file_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hallapp.logsetup

    monkeypatch.setattr(hallapp.logsetup, "_configured", True)
    path = tmp_path / "2027.txt"
    path.write_text("# 注释\n" * 100_000, encoding="utf-8")
    assert main(["workdays", "check", str(path)]) == 1
    assert "不像放假安排" in capsys.readouterr().err


_NOTICE_2027 = (
    "年份 2027\n元旦 2027-01-01~2027-01-03\n"
    "春节 2027-02-05~2027-02-13 调休上班 2027-01-31,2027-02-20\n清明节 2027-04-05\n"
    "劳动节 2027-05-01~2027-05-05 调休上班 2027-04-25\n端午节 2027-06-09\n"
    "中秋节 2027-09-15\n国庆节 2027-10-01~2027-10-07 调休上班 2027-09-26,2027-10-09\n"
)


def test_a_file_with_invented_holidays_is_not_a_notice() -> None:
    """Each extra line is bounded (3 days), but a notice has at most one day of
    commemoration besides the statutory holidays, and no year had more than
    33 days off: sixteen invented 纪念日 (75 days off) are refused."""
    from hallapp.workdays import ScheduleError, validate_schedule

    assert validate_schedule(_NOTICE_2027).year == 2027
    one = _NOTICE_2027 + "纪念日 2027-09-03\n"
    assert len(validate_schedule(one).holidays) == 28  # as 2015: one day of commemoration
    months = [(3, 1), (3, 15), (4, 12), (4, 26), (5, 17), (6, 1), (6, 21), (7, 5), (7, 19),
              (8, 2), (8, 16), (8, 23), (10, 18), (11, 1), (11, 15), (11, 22)]  # fmt: skip
    many = _NOTICE_2027 + "".join(
        f"纪念日{m:02d}{d:02d} 2027-{m:02d}-{d:02d}~2027-{m:02d}-{d + 2:02d}\n" for m, d in months
    )
    with pytest.raises(ScheduleError) as refused:
        validate_schedule(many)
    text = str(refused.value)
    assert "除法定节日外还有 16 个放假名目" in text and "全年放假共" in text


def test_a_holiday_name_with_a_direction_override_is_refused() -> None:
    from hallapp.workdays import ScheduleError, validate_schedule

    with pytest.raises(ScheduleError) as refused:
        validate_schedule(_NOTICE_2027.replace("清明节", "清\u202e明节"))
    assert "节日名称含有不可见的控制字符" in str(refused.value)
