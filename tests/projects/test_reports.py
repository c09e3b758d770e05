"""The key projects' reporting periods (seed 002 八.2 每周四; "五个一" 三 12日、25日) and
the weekly report's tables on a real central store, exported to PDF and xlsx."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

from hallapp.printing.publish import write_tables
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from hallapp.projects.register import StepKind
from hallapp.reports.projects import build_report, half_month_of, week_of
from hallapp.workdays import default_calendar
from tests.projects.hallfixtures import HALL_CODE, Hall, register_sample


@given(st.dates(date(2005, 1, 1), date(2026, 11, 30)))
def test_every_day_is_in_one_week_reported_on_its_thursday(day: date) -> None:
    week = week_of(day)
    assert week.start <= day <= week.end
    assert week.end.weekday() == 3 and week.due == week.end
    assert (week.end - week.start).days == 6
    assert week_of(week.end + timedelta(days=1)).start == week.end + timedelta(days=1)


@given(st.dates(date(2005, 1, 1), date(2026, 11, 30)))
def test_every_day_is_in_one_half_month_due_on_the_12th_or_25th_or_earlier(day: date) -> None:
    half = half_month_of(day)
    assert half.start <= day <= half.end
    assert half.end.day in (12, 25)
    assert half.start.day == (13 if half.end.day == 25 else 26)
    # 遇节假日提前: due on the last working day not after the 12th / 25th.
    assert half.due <= half.end and default_calendar().is_working_day(half.due)
    assert all(
        not default_calendar().is_working_day(half.due + timedelta(days=i))
        for i in range(1, (half.end - half.due).days + 1)
    )
    nxt = half_month_of(half.end + timedelta(days=1))
    assert nxt.start == half.end + timedelta(days=1)


def test_a_half_month_whose_day_is_a_holiday_is_due_earlier() -> None:
    # 25 January 2026 is a Sunday: the report is due on Friday the 23rd.
    assert half_month_of(date(2026, 1, 20)).due == date(2026, 1, 23)
    assert half_month_of(date(2026, 1, 28)).start == date(2026, 1, 26)


def test_the_weekly_report_holds_the_weeks_records_problems_and_stuck_points(
    hall: Hall, tmp_path: Path
) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    today = date(2026, 3, 19)  # a Thursday
    hall.steps(
        pid, today,
        ("8001", 1, StepKind.PROBLEM, "选址与规划红线冲突", date(2026, 3, 17)),
        ("8001", 0, StepKind.DONE, "", date(2026, 3, 12)),  # the week before
    )  # fmt: skip
    with hall.engine.connect() as c:
        period, tables, title, subtitle = build_report(
            c, HALL_CODE, agent, "weekly", today, today=today
        )
    assert (period.start, period.end) == (date(2026, 3, 13), date(2026, 3, 19))
    progress, record, issues = tables
    # nodes, done, done this week, 临期 (环评, due the 23rd), 卡点 (备案 done late, 用地预审)
    assert progress.rows[0][4:9] == [4, 1, 0, 1, 2]
    assert [r[3] for r in record.rows] == ["用地预审与选址意见书"]
    assert [r[0] for r in issues.rows] == ["问题", "卡点", "卡点"]
    xlsx, pdf = tmp_path / "w.xlsx", tmp_path / "w.pdf"
    for out in (xlsx, pdf):
        write_tables(tables, out, hall_name="连城县行政服务中心", title=title, subtitle=subtitle)
    assert load_workbook(xlsx)["遇到的问题"]["G2"].value == "选址与规划红线冲突"
    text = "".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "代办员工作周报" in text and "罗建平（8001）" in text and "选址与规划红线冲突" in text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all(" yes " in f" {line} " for line in fonts)


def test_a_project_stored_with_control_characters_still_reports_and_shows_clean(
    hall: Hall, central_url: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    """A project stored before hidden characters were refused (hostile F5/F17):
    the half-month 通报 as xlsx is still written (it crashed with exit 70),
    and `projects show` sends no ESC sequence to the terminal."""
    import hallapp.projects.register as register_module
    from hallapp.cli import main

    name = "项目\u202e目项\x1b[2J"
    with monkeypatch.context() as m:  # as the old code stored it: unchecked
        m.setattr(register_module, "one_line_problem", lambda _text: "")
        register_sample(hall, name=name)
    monkeypatch.setenv("HALLAPP_PASSWORD", "daiban-2026")
    out = tmp_path / "h.xlsx"
    cli = ["--staff", "9001", "--url", central_url, "--hall", HALL_CODE, "--today", "2026-03-20"]
    assert main(["projects", "report", "half-month", "--out", str(out), *cli]) == 0
    cells = [c.value for ws in load_workbook(out) for row in ws.iter_rows() for c in row]
    assert any(isinstance(v, str) and "项目\u202e目项\ufffd[2J" in v for v in cells)
    capsys.readouterr()
    assert main(["projects", "show", "LCXM20260001", *cli]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\u202e" not in shown and "项目\ufffd目项\ufffd[2J" in shown
    # And the same name typed now is refused, with a message, not stored.
    code = main(["projects", "add", "--name", name, "--investor", "福建连城新材料科技有限公司",
                 "--contact", "王强", "--phone", "13905971234", "--leader", "林国华",
                 "--lead-unit", "FGJ", "--agent", "8001", *cli])  # fmt: skip
    assert code == 1 and "不可见的控制字符" in capsys.readouterr().err
