"""Key projects end to end, the real way: separate ``hallapp`` processes on the real
PostgreSQL (and on a SQLite central file), as the centre, a supervisor and two
代办员 run them.

The hall is set up with the central commands (departments, an administrator, a
supervisor, 一级 and 二级代办员); a 代办员 registers a key project with four
nodes; two 代办员 record steps at the same time; one node runs past its limit
and the supervisor's 卡点 list holds it against the right unit and person; the
enterprise's representative rates the 代办员 非常不满意 twice in a row and the
代办员 is on the 诫勉谈话 list; the half-month report opens in openpyxl and its
PDF reads back with pdftotext.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def central_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The real PostgreSQL server, and the SQLite central file a small hall uses."""
    if request.param == "sqlite":
        from hallapp.store import sqlite_url

        return sqlite_url(tmp_path / "central.sqlite3")
    return str(request.getfixturevalue("pg_url"))


PASSWORD = "daiban-2026"


def hallapp(*args: str, staff_password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HALLAPP_PASSWORD": staff_password, "HALLAPP_NEW_PASSWORD": PASSWORD}
    return subprocess.Popen(  # type: ignore[return-value]
        [sys.executable, "-m", "hallapp", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def ok(*args: str) -> str:
    proc = hallapp(*args)
    out, err = proc.communicate(timeout=120)  # type: ignore[attr-defined]
    assert proc.returncode == 0, f"hallapp {' '.join(args)} → {proc.returncode}: {err}"  # type: ignore[attr-defined]
    assert "Traceback" not in err
    return str(out)


def test_a_key_project_end_to_end_in_separate_processes(central_url: str, tmp_path: Path) -> None:
    pg_url = central_url
    c = ["--url", pg_url, "--hall", "LC"]
    ok("central", "init", "--url", pg_url)
    for code, name in (
        ("FGJ", "连城县发展和改革局"),
        ("ZRJ", "连城县自然资源局"),
        ("ZJJ", "连城县住房和城乡建设局"),
        ("HBJ", "龙岩市连城生态环境局"),
    ):
        ok("central", "departments", "add", code, "--name", name, *c)
    ok(
        "central",
        "staff",
        "add",
        "9901",
        "--name",
        "邱文杰",
        "--department",
        "FGJ",
        "--role",
        "administrator",
        *c,
    )
    for no, name, role, dep in (
        ("9001", "严志明", "supervisor", "FGJ"),
        ("8001", "罗建平", "agent", "FGJ"),
        ("8101", "吴志强", "agent", "ZRJ"),
        ("1001", "张丽华", "clerk", "ZJJ"),
    ):
        ok(
            "central",
            "staff",
            "add",
            no,
            "--name",
            name,
            "--department",
            dep,
            "--role",
            role,
            "--phone",
            "0597-8921234",
            *c,
            "--staff",
            "9901",
        )

    today = ["--today", "2026-03-02"]
    out = ok(
        "projects",
        "add",
        *c,
        "--staff",
        "8001",
        *today,
        "--name",
        "年产5万吨锂电池负极材料项目",
        "--investor",
        "福建连城新材料科技有限公司",
        "--contact",
        "王强",
        "--phone",
        "13905971234",
        "--leader",
        "林国华",
        "--leader-title",
        "副县长",
        "--lead-unit",
        "FGJ",
        "--second",
        "ZRJ=8101",
        "--node",
        "企业投资项目备案|FGJ|陈建国|2026-03-02|3",
        "--node",
        "用地预审与选址意见书|ZRJ|李秀英|2026-03-02|10",
        "--node",
        "环境影响评价审批|HBJ|周海涛|2026-03-02|15",
        "--node",
        "建筑工程施工许可|ZJJ|刘明|2026-03-02|2026-04-30",
    )
    assert "LCXM20260001" in out

    # The 一级 and the 二级代办员 record at the same time, each in their own process.
    later = ["--today", "2026-03-20"]
    procs = [
        hallapp(
            "projects",
            "step",
            "LCXM20260001",
            "1",
            "--kind",
            "done",
            "--on",
            "2026-03-04",
            *c,
            "--staff",
            "8001",
            *later,
        ),
        hallapp(
            "projects",
            "step",
            "LCXM20260001",
            "2",
            "--kind",
            "urged",
            "--note",
            "电话督促李秀英科长出具预审意见",
            "--on",
            "2026-03-13",
            *c,
            "--staff",
            "8101",
            *later,
        ),
        hallapp(
            "projects",
            "step",
            "LCXM20260001",
            "3",
            "--kind",
            "progress",
            "--note",
            "环评报告书已受理",
            "--on",
            "2026-03-10",
            *c,
            "--staff",
            "8001",
            *later,
        ),
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)  # type: ignore[attr-defined]
        assert p.returncode == 0, err  # type: ignore[attr-defined]
    # The 二级代办员 of 自然资源局 may not close 住建局's node: refused, nothing written.
    denied = hallapp(
        "projects", "step", "LCXM20260001", "4", "--kind", "done", *c, "--staff", "8101", *later
    )
    _, err = denied.communicate(timeout=120)  # type: ignore[attr-defined]
    assert denied.returncode == 4 and "二级代办员" in err and "Traceback" not in err  # type: ignore[attr-defined]

    # 用地预审 was due on 16 March: on the 20th it is a 卡点 of 自然资源局 / 李秀英.
    stuck = ok("projects", "stuck", *c, "--staff", "9001", *later)
    lines = [line.split("\t") for line in stuck.strip().splitlines()]
    assert [(ln[0], ln[1], ln[3]) for ln in lines] == [
        ("连城县自然资源局", "李秀英", "用地预审与选址意见书")
    ]
    assert "未办结" in lines[0][5] and "逾期 4 个工作日" in lines[0][6]
    due = ok("projects", "due", *c, "--staff", "8001", *later)
    assert "用地预审与选址意见书" in due and "逾期（卡点）" in due

    # The 代办员 rated never types in his own survey, paper form or not: a good
    # one would break his 非常不满意 run (诫勉谈话 becoming a second 警告).
    for paper in ([], ["--paper"]):
        own = hallapp("projects", "survey", "LCXM20260001", "--answers", "5,5,5,5,5,5,5",
                      "--respondent", "王强", "--on", "2026-03-18", *paper, *c,
                      "--staff", "8001", *later)
        _, err = own.communicate(timeout=120)  # type: ignore[attr-defined]
        assert own.returncode == 4 and "被测评的代办员不能录入对自己的测评表" in err, err  # type: ignore[attr-defined]
    # Two surveys rated 非常不满意 in a row (one typed in by a supervisor, one on
    # paper by a clerk).
    ok(
        "projects",
        "survey",
        "LCXM20260001",
        "--answers",
        "5,1,4,5,5,4,5",
        "--respondent",
        "王强",
        "--on",
        "2026-03-18",
        *c,
        "--staff",
        "9001",
        *later,
    )
    ok(
        "projects",
        "survey",
        "LCXM20260001",
        "--answers",
        "4,4,4,4,4,4,1",
        "--respondent",
        "王强",
        "--on",
        "2026-03-19",
        "--paper",
        *c,
        "--staff",
        "1001",
        *later,
    )
    listed = ok("projects", "discipline", *c, "--staff", "9001", *later)
    rows = [line.split("\t") for line in listed.strip().splitlines()]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        ("8001", "罗建平", "警告"),
        ("8001", "罗建平", "诫勉谈话（并写出书面检查）"),
    ]
    assert rows[1][4] == "纸质测评表录入"

    xlsx = tmp_path / "half.xlsx"
    pdf = tmp_path / "half.pdf"
    ok("projects", "report", "half-month", "--out", str(xlsx), *c, "--staff", "9001", *later)
    ok("projects", "report", "half-month", "--out", str(pdf), *c, "--staff", "9001", *later)
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert {"项目情况", "卡点倒查", "测评处理"} <= set(wb.sheetnames)
    stuck_rows = [[c.value for c in r] for r in wb["卡点倒查"].iter_rows(min_row=2)]
    assert stuck_rows[0][:4] == ["连城县自然资源局", "李秀英", 1, 1]
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "重点项目代办半月通报" in flat and "李秀英" in flat and "诫勉谈话" in flat

    record = tmp_path / "record.pdf"
    out = ok(
        "projects",
        "print",
        "LCXM20260001",
        "record",
        "--out",
        str(record),
        *c,
        "--staff",
        "8001",
        *later,
    )
    assert "LC代记字〔2026〕0001号" in out
    text = "".join(
        subprocess.run(
            ["pdftotext", str(record), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "电话督促李秀英科长出具预审意见" in text and "逾期（卡点）" in text
