"""A loaded holiday schedule is checked as a State Council notice, and replacing
an official year (built in or loaded) takes an audited override.

The rules are checked both ways: every built-in year 2004–2026, rebuilt from
chinese_calendar as a schedule file would give it, passes; each kind of wrong
file is refused with its line and what to do.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from sqlalchemy import select

from hallapp.cli import main
from hallapp.models import AuditEntry, HolidaySchedule, Staff
from hallapp.store import Store
from hallapp.workdays import (
    Schedule,
    ScheduleError,
    ScheduleOverrideRequired,
    add_working_days,
    builtin_years,
    calendar_from_store,
    check_schedule,
    load_schedule,
    parse_schedule,
    schedule_status,
    validate_schedule,
)

D = date.fromisoformat
SAMPLE_2026 = Path(__file__).parents[2] / "resources" / "holidays" / "2026.txt"
# The file: two lines that would erase National Day and most of the
# Spring Festival from a year the calendar already knows.
TWO_LINES_2026 = "年份 2026\n春节 2026-02-15~2026-02-16\n"


def _builtin_schedule(year: int) -> Schedule:
    """The built-in year as a schedule file states it: each holiday's whole block."""
    first = date(year - 1, 12, 20) if year > builtin_years().start else date(year, 1, 1)
    named: dict[date, str] = {}
    makeup: set[date] = set()
    d = first
    while d <= date(year, 12, 24):
        _, english = chinese_calendar.get_holiday_detail(d)
        if english:
            name = chinese_calendar.Holiday(english).chinese
            if d.year == year or name == "元旦":
                if not chinese_calendar.is_workday(d):
                    named[d] = name
                elif d.weekday() >= 5:
                    makeup.add(d)
                    named[d] = name
        d += timedelta(days=1)
    holidays = {h for h in named if h not in makeup}
    names = dict(named)
    # chinese_calendar names only the shifted days of a block; the weekend inside
    # it is part of the block in the notice ("6月22日至24日放假公休，共3天").
    for name in set(named.values()):
        own = sorted(h for h in holidays if named.get(h) == name)
        d = own[0] if own else date.max
        while own and d < own[-1]:
            if d not in names and not chinese_calendar.is_workday(d):
                holidays.add(d)
                names[d] = name
            d += timedelta(days=1)
    return Schedule(year, frozenset(holidays), frozenset(makeup), names)


@pytest.mark.parametrize("year", list(builtin_years()))
def test_every_builtin_year_passes_the_checks(year: int) -> None:
    assert [str(p) for p in check_schedule(_builtin_schedule(year))] == []


def test_the_shipped_2026_file_and_the_test_2027_pass(fictional_2027_text: str) -> None:
    validate_schedule(SAMPLE_2026.read_text(encoding="utf-8"))
    validate_schedule(fictional_2027_text)


def test_a_two_line_file_names_every_missing_statutory_holiday() -> None:
    parse_schedule(TWO_LINES_2026)  # well-formed, so only the checks can stop it
    with pytest.raises(ScheduleError) as info:
        validate_schedule(TWO_LINES_2026)
    text = str(info.value)
    for name in ("元旦", "清明节", "劳动节", "端午节", "中秋节", "国庆节"):
        assert f"缺少{name}的法定假日" in text
    # 春节 is there but too short: 02-17..02-19 (初一 to 初三 after 除夕 02-16) are missing.
    assert "第 2 行：缺少春节的法定假日 2026-02-17、2026-02-18" in text
    assert "2026-10-01、2026-10-02、2026-10-03" in text


def _replace_line(text: str, name: str, line: str) -> str:
    return "\n".join(line if row.startswith(name + " ") else row for row in text.splitlines())


@pytest.mark.parametrize(
    ("name", "line", "expected"),
    [
        # Longer than any notice has made the Spring Festival or National Day.
        ("春节", "春节 2027-02-01~2027-02-15", "“春节”放假 15 天，超过历年通知中最长的 10 天"),
        ("国庆节", "国庆节 2027-10-01~2027-10-10", "“国庆节”放假 10 天，超过历年通知中最长的 8 天"),
        ("清明节", "清明节 2027-04-01~2027-04-07", "“清明节”放假 7 天，超过历年通知中最长的 3 天"),
        # A make-up workday on a Monday, and one on the holiday itself.
        ("劳动节", "劳动节 2027-05-01~2027-05-05 调休上班 2027-05-10", "是星期一，本来就是工作日"),
        ("劳动节", "劳动节 2027-05-01~2027-05-05 调休上班 2027-05-01", "既列为假日又列为调休"),
        # A make-up day far from its holiday.
        ("劳动节", "劳动节 2027-05-01~2027-05-05 调休上班 2027-07-03", "超过 21 天"),
        # Dates outside the year: only 元旦 may start in late December before.
        ("国庆节", "国庆节 2027-10-01~2027-10-07 调休上班 2028-01-08", "不在 2027 年内"),
        ("春节", "春节 2027-02-05~2027-02-11 调休上班 2026-12-26", "不在 2027 年内"),
    ],
)
def test_implausible_lines_are_refused_with_their_line(
    fictional_2027_text: str, name: str, line: str, expected: str
) -> None:
    text = _replace_line(fictional_2027_text, name, line)
    with pytest.raises(ScheduleError) as info:
        validate_schedule(text)
    assert expected in str(info.value)
    row = text.splitlines().index(line) + 1
    assert any(p.line == row and expected in p.message for p in info.value.problems)


def test_new_year_may_start_in_december_and_lines_may_be_combined() -> None:
    # 2028 (test data): 中秋 falls on 10-03, inside National Day, written as one
    # line the way the notices of 2020 and 2025 wrote it; 元旦 starts 12-30.
    text = (
        "年份 2028\n"
        "元旦 2027-12-30~2028-01-01 调休上班 2027-12-25\n"
        "春节 2028-01-25~2028-02-01 调休上班 2028-01-23,2028-02-12\n"
        "清明节 2028-04-02~2028-04-04\n"
        "劳动节 2028-05-01~2028-05-05 调休上班 2028-04-29\n"
        "端午节 2028-05-27~2028-05-29\n"
        "国庆节、中秋节 2028-10-01~2028-10-08 调休上班 2028-09-30,2028-10-14\n"
    )
    schedule = validate_schedule(text)
    assert D("2027-12-30") in schedule.holidays


@pytest.mark.parametrize(
    "text",
    [
        "年份 2150\n元旦 2150-01-01\n",
        # At the ends of the calendar: these crashed with OverflowError.
        "年份 9999\n元旦 9999-01-01\n",
        "年份 0001\n元旦 0001-01-01\n",
        "元旦 9999-12-31\n",
        "国庆节 0001-01-01~0001-01-03\n",
    ],
)
def test_a_year_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(ScheduleError, match="超出范围：放假安排只能录入 2000—2099 年"):
        validate_schedule(text)
    with pytest.raises(ScheduleError, match="超出范围"):
        parse_schedule(text)


# --------------------------------------------------------------- the store


@pytest.fixture
def supervisor(store: Store, reference: object) -> Staff:
    with store.session() as s:
        return s.scalars(select(Staff).where(Staff.staff_no == "9001")).one()


def _load(store: Store, text: str, **kwargs: object) -> None:
    with store.session() as s:
        actor = s.scalars(select(Staff).where(Staff.staff_no == "9001")).one()
        load_schedule(s, text, actor, window_code="A03", **kwargs)  # type: ignore[arg-type]


def test_a_builtin_year_is_not_replaced_without_override(store: Store, supervisor: Staff) -> None:
    text = SAMPLE_2026.read_text(encoding="utf-8")
    with pytest.raises(ScheduleOverrideRequired, match="2026 年已有内置的国务院放假安排"):
        _load(store, text)
    with pytest.raises(ScheduleError):
        _load(store, TWO_LINES_2026, override=True)  # the override never skips the checks
    with store.session() as s:
        assert s.scalars(select(HolidaySchedule)).all() == []
        assert s.scalars(select(AuditEntry)).all() == []
        assert add_working_days(D("2026-09-30"), 1, calendar_from_store(s)).date == D("2026-10-08")


def test_an_override_is_audited_and_shown(store: Store, supervisor: Staff) -> None:
    # A correction of 2026 (test data): National Day one day longer.
    corrected = SAMPLE_2026.read_text(encoding="utf-8").replace(
        "2026-10-01~2026-10-07 调休上班 2026-09-20,2026-10-10",
        "2026-10-01~2026-10-08 调休上班 2026-09-20",
    )
    _load(store, corrected, override=True, reason="国办发明电〔2026〕99号（测试）")
    with store.session() as s:
        calendar = calendar_from_store(s)
        (entry,) = s.scalars(select(AuditEntry)).all()
        statuses = {st.year: st for st in schedule_status(s)}
    assert not calendar.is_working_day(D("2026-10-08"))
    assert calendar.is_working_day(D("2026-10-10")) is False  # a Saturday again
    assert entry.action == "holiday_schedule.override" and entry.staff_no == "9001"
    assert entry.detail["override_of"] == "builtin"
    assert entry.detail["reason"] == "国办发明电〔2026〕99号（测试）"
    assert "2026-10-08 工作日→休息" in entry.detail["changed_days"]
    assert "2026-10-10 工作日→休息" in entry.detail["changed_days"]
    shown = statuses[2026].describe()
    assert shown.startswith("2026 年：由 9001 于 ")
    assert "替换了内置安排" in shown and "国办发明电〔2026〕99号（测试）" in shown
    assert statuses[2025].describe() == "2025 年：内置安排（chinese_calendar）"

    # Correcting it again goes the same audited way.
    with pytest.raises(ScheduleOverrideRequired, match="已由 9001 于"):
        _load(store, SAMPLE_2026.read_text(encoding="utf-8"))
    with pytest.raises(ScheduleOverrideRequired, match="--reason"):
        _load(store, SAMPLE_2026.read_text(encoding="utf-8"), override=True, reason="  ")
    text = SAMPLE_2026.read_text(encoding="utf-8")
    _load(store, text, override=True, reason="国办发明电〔2025〕7号")
    with store.session() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.created_at)).all()
        assert list(actions) == ["holiday_schedule.override", "holiday_schedule.override"]
        assert s.get(HolidaySchedule, 2026).override_of == "builtin"  # type: ignore[union-attr]


def test_cli_load_needs_override_and_list_shows_it(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: Store,
    supervisor: Staff,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "hallapp.toml"
    config.write_text('[window]\ncode = "A03"\n', encoding="utf-8")
    monkeypatch.setenv("HALLAPP_CONFIG", str(config))
    monkeypatch.setenv("HALLAPP_PASSWORD", "654321")  # supervisor 9001 proves who acts
    url = store.engine.url.render_as_string(hide_password=False)

    code = main(["workdays", "load", str(SAMPLE_2026), "--staff", "9001", "--db", url])
    _, err = capsys.readouterr()
    assert code == 2 and "2026 年已有内置的国务院放假安排" in err and "--override" in err
    assert "Traceback" not in err

    code = main(["workdays", "check", str(SAMPLE_2026)])
    out, _ = capsys.readouterr()
    assert code == 0 and "须加 --override" in out

    argv = ["workdays", "load", str(SAMPLE_2026), "--staff", "9001", "--db", url]
    assert main([*argv, "--override", "--reason", "测试"]) == 0
    out, _ = capsys.readouterr()
    assert "已人工覆盖原有安排" in out

    assert main(["workdays", "list", "--db", url]) == 0
    out, _ = capsys.readouterr()
    assert "2004—2026 年：内置安排（chinese_calendar）" in out
    assert "2026 年：由 9001 于 " in out and "原因：测试" in out
    assert "2027 年起：尚无放假安排" in out
    assert main(["workdays", "status", "--db", url]) == 0
    assert "由 9001 于 " in capsys.readouterr()[0]


def test_a_stored_year_that_fails_the_checks_is_flagged(store: Store) -> None:
    # Loaded before the checks existed (or written into the table directly).
    with store.session() as s:
        s.add(
            HolidaySchedule(
                year=2027, source_text="年份 2027\n春节 2027-02-05~2027-02-11\n", loaded_by="9001"
            )
        )
    with store.session() as s:
        (status,) = [st for st in schedule_status(s) if st.year == 2027]
        assert calendar_from_store(s).is_known(2027)  # still used: the window keeps counting
    shown = status.describe()
    assert shown.startswith("2027 年：由 9001 于 ")
    assert "【未通过检查：缺少元旦的法定假日 2027-01-01" in shown and "--override 重新载入" in shown
