"""A real central store (SQLite file or a fresh PostgreSQL database) with a hall's
departments, 代办员 and supervisors, authored there as the centre does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hallapp.models import new_id
from hallapp.projects.register import (
    NodeInput,
    ProjectActor,
    ProjectInput,
    StepKind,
    actor_by_no,
    detail,
    record_step,
    register_project,
)
from hallapp.security import hash_password
from hallapp.store import sqlite_url
from hallapp.sync.centre import central_engine, init_central
from hallapp.sync.schema import HALL, central_table

HALL_CODE = "LC"
PASSWORD = "daiban-2026"
CENTRAL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

DEPARTMENTS = {
    "FGJ": "连城县发展和改革局",
    "ZRJ": "连城县自然资源局",
    "ZJJ": "连城县住房和城乡建设局",
    "HBJ": "龙岩市连城生态环境局",
}
# staff_no → (name, role, department)
PEOPLE = {
    "8001": ("罗建平", "agent", "FGJ"),  # 一级代办员
    "8002": ("黄丽萍", "agent", "FGJ"),  # another 一级代办员
    "8101": ("吴志强", "agent", "ZRJ"),  # 二级代办员 of 自然资源局
    "8102": ("郑晓燕", "agent", "ZJJ"),  # 二级代办员 of 住建局
    "9001": ("邱文杰", "supervisor", "FGJ"),  # 重点办
    "1001": ("张丽华", "clerk", "ZJJ"),
}


def seed_hall(engine: Engine, hall: str = HALL_CODE) -> None:
    password_hash = hash_password(PASSWORD)
    with engine.begin() as c:
        for code, name in DEPARTMENTS.items():
            c.execute(
                central_table("departments")
                .insert()
                .values(
                    {
                        HALL: hall,
                        "code": code,
                        "name": name,
                        "phone": "0597-8921234",
                        "address": "",
                        "duties": "",
                    }
                )
            )
        for no, (name, role, dep) in PEOPLE.items():
            c.execute(
                central_table("staff")
                .insert()
                .values(
                    {
                        HALL: hall,
                        "id": new_id(),
                        "staff_no": no,
                        "name": name,
                        "title": "",
                        "phone": "",
                        "department_code": dep,
                        "role": role,
                        "password_hash": password_hash,
                        "commitments": "",
                        "active": True,
                    }
                )
            )


@pytest.fixture(params=CENTRAL_BACKENDS)
def central_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "central.sqlite3")
    else:
        url = str(request.getfixturevalue("pg_url"))
    init_central(url)
    engine = central_engine(url)
    seed_hall(engine)
    engine.dispose()
    return url


@pytest.fixture
def central(central_url: str) -> Iterator[Engine]:
    engine = central_engine(central_url)
    yield engine
    engine.dispose()


@dataclass
class Hall:
    engine: Engine
    people: dict[str, ProjectActor]

    def actor(self, staff_no: str) -> ProjectActor:
        # Read once up front: on SQLite a second connection inside a test's
        # write transaction would wait for its lock.
        return self.people[staff_no]

    def steps(
        self, project_id: str, today: date, *lines: tuple[str, int, StepKind, str, date]
    ) -> None:
        """Record (staff_no, node index, kind, note, day) lines in one transaction."""
        with self.engine.begin() as c:
            nodes = detail(c, HALL_CODE, project_id, today).nodes
            for staff_no, index, kind, note, day in lines:
                record_step(
                    c,
                    HALL_CODE,
                    self.people[staff_no],
                    nodes[index].id,
                    kind=kind,
                    note=note,
                    happened_on=day,
                    today=today,
                )


@pytest.fixture
def hall(central: Engine) -> Hall:
    with central.connect() as c:
        people = {no: actor_by_no(c, HALL_CODE, no) for no in PEOPLE}
    return Hall(central, people)


def sample_project(**over: object) -> ProjectInput:
    values: dict[str, object] = {
        "name": "年产5万吨锂电池负极材料项目",
        "investor": "福建连城新材料科技有限公司",
        "contact_name": "王强",
        "contact_phone": "13905971234",
        "leader_name": "林国华",
        "leader_title": "副县长",
        "lead_unit": "FGJ",
        "accepted_on": date(2026, 3, 2),
        "summary": "项目备案、用地预审、环评、规划许可、施工许可全程代办",
    }
    values.update(over)
    return ProjectInput(**values)  # type: ignore[arg-type]


def sample_nodes(start: date = date(2026, 3, 2)) -> list[NodeInput]:
    return [
        NodeInput("企业投资项目备案", "FGJ", "陈建国", start, limit_days=3),
        NodeInput("用地预审与选址意见书", "ZRJ", "李秀英", start, limit_days=10),
        NodeInput("环境影响评价审批", "HBJ", "周海涛", start, limit_days=15),
        NodeInput("建筑工程施工许可", "ZJJ", "刘明", start, due_on=date(2026, 4, 30)),
    ]


def register_sample(hall: Hall, agent_no: str = "8001", **over: object) -> str:
    actor = hall.actor(agent_no)
    with hall.engine.begin() as c:
        return register_project(
            c,
            HALL_CODE,
            actor,
            sample_project(**over),
            nodes=sample_nodes(),
            second_agents={"ZRJ": "8101", "ZJJ": "8102"},
        )
