"""Regenerate the key projects' screenshots (projects-*.png) and the three forms of
seed 002's workflow (docs/documents/project-*.pdf and their first pages as PNG).

Run under a real X server (Xvfb is enough)::

    xvfb-run -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/screenshots/projects_screenshots.py

It makes a central store (a SQLite file) with one hall, registers a key
project with four nodes as its 代办员 would on 2 March 2026, records the steps
up to 20 March (one node late: a 卡点 of 自然资源局 / 李秀英), two surveys rated
非常不满意, and saves the agent's view, the survey on the citizen screen and the
supervisor's 卡点 and 诫勉谈话 tabs; then issues the three forms and renders them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

# The same event pump as the supervisor's screenshots (this folder is on sys.path).
from supervisor_screenshots import pump

OUT = Path(__file__).resolve().parent
DOCS = OUT.parent / "documents"
TODAY = date(2026, 3, 20)
HALL, HALL_NAME = "LC", "连城县行政服务中心"


def seed(url: str) -> tuple[object, dict[str, object], str]:
    from hallapp.models import new_id
    from hallapp.projects.register import (
        NodeInput,
        ProjectInput,
        StepKind,
        actor_by_no,
        detail,
        record_step,
        register_project,
    )
    from hallapp.projects.survey import ITEM_KEYS, Channel, SurveyInput, record_survey
    from hallapp.security import hash_password
    from hallapp.sync.centre import central_engine, init_central
    from hallapp.sync.schema import central_table

    init_central(url)
    engine = central_engine(url)
    pw = hash_password("daiban-2026")
    with engine.begin() as c:
        for code, name in (
            ("FGJ", "连城县发展和改革局"),
            ("ZRJ", "连城县自然资源局"),
            ("ZJJ", "连城县住房和城乡建设局"),
            ("HBJ", "龙岩市连城生态环境局"),
        ):
            c.execute(
                central_table("departments")
                .insert()
                .values(
                    hall_code=HALL,
                    code=code,
                    name=name,
                    phone="0597-8921234",
                    address="",
                    duties="",
                )
            )
        for no, name, role, dep, phone in (
            ("8001", "罗建平", "agent", "FGJ", "0597-8932101"),
            ("8101", "吴志强", "agent", "ZRJ", "0597-8932102"),
            ("8102", "郑晓燕", "agent", "ZJJ", "0597-8932103"),
            ("9001", "邱文杰", "supervisor", "FGJ", "0597-8932100"),
        ):
            c.execute(
                central_table("staff")
                .insert()
                .values(
                    hall_code=HALL,
                    id=new_id(),
                    staff_no=no,
                    name=name,
                    title="",
                    phone=phone,
                    department_code=dep,
                    role=role,
                    password_hash=pw,
                    commitments="",
                    active=True,
                )
            )
    with engine.connect() as c:
        people = {no: actor_by_no(c, HALL, no) for no in ("8001", "8101", "9001")}
    agent = people["8001"]
    start = date(2026, 3, 2)
    with engine.begin() as c:
        pid = register_project(
            c,
            HALL,
            agent,
            ProjectInput(
                name="年产5万吨锂电池负极材料项目",
                investor="福建连城新材料科技有限公司",
                contact_name="王强",
                contact_phone="13905971234",
                leader_name="林国华",
                leader_title="副县长",
                lead_unit="FGJ",
                accepted_on=start,
                investor_uscc="91350825MA31XFKY23",
                summary="项目备案、用地预审与选址、环境影响评价、建筑工程施工许可全程代办",
            ),
            nodes=[
                NodeInput(
                    "企业投资项目备案",
                    "FGJ",
                    "陈建国",
                    start,
                    limit_days=3,
                    responsible_phone="0597-8921101",
                ),
                NodeInput(
                    "用地预审与选址意见书",
                    "ZRJ",
                    "李秀英",
                    start,
                    limit_days=10,
                    responsible_phone="0597-8921202",
                ),
                NodeInput("环境影响评价审批", "HBJ", "周海涛", start, limit_days=15),
                NodeInput("建筑工程施工许可", "ZJJ", "刘明", start, due_on=date(2026, 4, 30)),
            ],
            second_agents={"ZRJ": "8101", "ZJJ": "8102"},
        )
        nodes = detail(c, HALL, pid, TODAY).nodes
        steps = [
            (agent, 0, StepKind.PROGRESS, "备案材料已在投资项目在线审批监管平台申报", 3),
            (agent, 0, StepKind.DONE, "取得项目备案证明", 4),
            (people["8101"], 1, StepKind.PROGRESS, "用地预审材料已报送自然资源局", 5),
            (agent, 1, StepKind.URGED, "电话督促李秀英科长按时出具预审意见", 13),
            (agent, 1, StepKind.ESCALATED, "逾期未办结，已报重点项目办，提交本周六周例会", 18),
            (agent, 2, StepKind.PROGRESS, "环评报告书已受理，等待专家评审", 10),
        ]
        for who, i, kind, note, day in steps:
            record_step(
                c,
                HALL,
                who,
                nodes[i].id,
                kind=kind,
                note=note,
                happened_on=date(2026, 3, day),
                today=TODAY,
            )
        bad = {**dict.fromkeys(ITEM_KEYS, 4), "efficiency": 1}
        for day in (16, 19):
            record_survey(
                c,
                HALL,
                pid,
                SurveyInput(bad, "王强", date(2026, 3, day), Channel.SCREEN, "13905971234"),
                today=TODAY,
            )
    return engine, people, pid


def forms(engine: object, people: dict[str, object], pid: str) -> None:
    from hallapp.printing.project_forms import render_form_pdf

    from hallapp.projects.forms import FormType, issue_form
    from hallapp.projects.register import StepKind, detail, hand_over, record_step

    agent = people["8001"]
    done_on = date(2026, 4, 28)
    with engine.begin() as c:  # type: ignore[attr-defined]
        intake = issue_form(c, HALL, agent, pid, FormType.INTAKE, hall_name=HALL_NAME, today=TODAY)
        record = issue_form(c, HALL, agent, pid, FormType.RECORD, hall_name=HALL_NAME, today=TODAY)
        for n in detail(c, HALL, pid, done_on).nodes:
            if n.done_on is None:
                record_step(
                    c,
                    HALL,
                    agent,
                    n.id,
                    kind=StepKind.DONE,
                    note="批复已取得",
                    happened_on=date(2026, 4, 27),
                    today=done_on,
                )
        hand_over(c, HALL, agent, pid, recipient="王强", recipient_phone="13905971234", on=done_on)
        handover = issue_form(
            c, HALL, agent, pid, FormType.HANDOVER, hall_name=HALL_NAME, today=done_on
        )
    DOCS.mkdir(exist_ok=True)
    for name, issued in (
        ("project-intake", intake),
        ("project-record", record),
        ("project-handover", handover),
    ):
        pdf = DOCS / f"{name}-a4.pdf"
        pdf.write_bytes(render_form_pdf(issued.content))
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(DOCS / f"{name}-a4"),
            ],
            check=True,
        )


def main() -> int:
    app = QApplication(sys.argv[:1])
    from hallapp.ui.projects import ProjectsView
    from hallapp.ui.theme import apply_theme

    from hallapp.store import sqlite_url

    apply_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        engine, people, pid = seed(sqlite_url(Path(tmp) / "central.sqlite3"))
        view = ProjectsView(
            engine,
            HALL,
            HALL_NAME,
            people["8001"],  # type: ignore[arg-type]
            today=lambda: TODAY,
        )
        view.resize(1500, 900)
        view.show()
        pump(lambda: view.data is not None)
        QCoreApplication.processEvents()
        view.grab().save(str(OUT / "projects-nodes.png"))

        view.open_survey()
        screen = view.survey_screen
        assert screen is not None
        for key, level in (
            ("attitude", 5),
            ("efficiency", 4),
            ("answers", 5),
            ("appearance", 5),
            ("no_fees", 5),
        ):
            screen.choose(key, level)  # type: ignore[attr-defined]
        screen.name.setText("王强")  # type: ignore[attr-defined]
        screen.submit()  # type: ignore[attr-defined]  # two items left: the screen says so
        QCoreApplication.processEvents()
        screen.grab().save(str(OUT / "projects-survey.png"))
        screen.close()

        sup = ProjectsView(
            engine,
            HALL,
            HALL_NAME,
            people["9001"],  # type: ignore[arg-type]
            today=lambda: TODAY,
        )
        sup.resize(1500, 700)
        sup.show()
        pump(lambda: sup.data is not None)
        sup.tabs.setCurrentIndex(1)
        QCoreApplication.processEvents()
        sup.grab().save(str(OUT / "projects-stuck.png"))
        sup.tabs.setCurrentIndex(2)
        QCoreApplication.processEvents()
        sup.grab().save(str(OUT / "projects-discipline.png"))
        forms(engine, people, pid)
        engine.dispose()  # type: ignore[attr-defined]
    print("saved to", OUT, "and", DOCS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
