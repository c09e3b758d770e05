"""A 代办员's own PostgreSQL login at the central store (hallapp.sync.roles): it
sees and adds only its own projects' facts, and the server refuses the rest —
whatever client sends the statement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import errors
from sqlalchemy.engine import make_url

from hallapp.projects import ProjectNotAllowed
from hallapp.projects.register import (
    NodeInput,
    StepKind,
    actor_by_no,
    add_node,
    detail,
    projects,
    record_step,
)
from hallapp.sync import roles
from hallapp.sync.centre import central_engine, init_central
from tests.projects.hallfixtures import HALL_CODE, PEOPLE, Hall, register_sample, seed_hall

pytestmark = pytest.mark.postgres
TODAY = date(2026, 3, 20)
LOGIN_PW = "agent-login-pw-2026"


@pytest.fixture
def pg_central(pg_url: str) -> Iterator[tuple[str, sa.Engine]]:
    init_central(pg_url)
    engine = central_engine(pg_url)
    seed_hall(engine)
    try:
        yield pg_url, engine
    finally:
        roles.drop_all_roles(engine)
        engine.dispose()


def login_engine(url: str, login: str) -> sa.Engine:
    return central_engine(make_url(url).set(username=login).render_as_string(False))


def raw(url: str, login: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, dbname=u.database, user=login, connect_timeout=5
    )


def test_an_agent_login_sees_and_adds_only_its_own_projects_facts(pg_central) -> None:
    url, admin = pg_central
    with admin.connect() as c:
        people = {no: actor_by_no(c, HALL_CODE, no) for no in PEOPLE}
    hall = Hall(admin, people)
    mine = register_sample(hall, "8001")
    theirs = register_sample(hall, "8002", name="冷链物流园")
    roles.grant_agent(admin, "lc_agent_8001", LOGIN_PW, hall_code=HALL_CODE, staff_no="8001")
    roles.grant_agent(admin, "lc_agent_8101", LOGIN_PW, hall_code=HALL_CODE, staff_no="8101")
    with admin.connect() as c:
        other_node = detail(c, HALL_CODE, theirs, TODAY).nodes[0].id
        my_node = detail(c, HALL_CODE, mine, TODAY).nodes[0].id

    agent = login_engine(url, "lc_agent_8001")
    try:
        with agent.connect() as c:
            # Even with a supervisor's view of the register, the server shows only its own.
            assert [p.id for p in projects(c, HALL_CODE, people["9001"], TODAY)] == [mine]
            assert c.execute(sa.text("SELECT count(*) FROM project_nodes")).scalar() == 4
        with agent.begin() as c:
            record_step(
                c,
                HALL_CODE,
                people["8001"],
                my_node,
                kind=StepKind.DONE,
                note="",
                happened_on=TODAY,
                today=TODAY,
            )
        with agent.begin() as c:
            add_node(
                c,
                HALL_CODE,
                people["8001"],
                mine,
                NodeInput("消防设计审查", "ZJJ", "刘明", TODAY, limit_days=5),
            )
    finally:
        agent.dispose()

    second = login_engine(url, "lc_agent_8101")
    try:
        with second.connect() as c:
            # The 二级代办员 sees both projects he works in (8002's names him too).
            assert sorted(p.id for p in projects(c, HALL_CODE, people["8101"], TODAY)) == sorted(
                [mine, theirs]
            )
        with second.begin() as c, pytest.raises(ProjectNotAllowed):
            add_node(
                c,
                HALL_CODE,
                people["8101"],
                mine,
                NodeInput("越权节点", "ZRJ", "李秀英", TODAY, limit_days=5),
            )
    finally:
        second.dispose()

    step_cols = (
        "INSERT INTO project_steps (hall_code, id, origin_window, created_at, project_id, "
        "node_id, kind, staff_id, happened_on, note) VALUES "
    )
    me = people["8001"].staff_id
    refused = {
        "a step on another agent's project": (
            f"{step_cols}('LC', 'x1', '@centre', now(), '{theirs}', '{other_node}', 'done', "
            f"'{me}', '2026-03-20', '')"
        ),
        "a project registered for another agent": (
            "INSERT INTO key_projects (hall_code, id, origin_window, created_at, project_no, "
            "name, investor, investor_uscc, contact_name, contact_phone, leader_name, "
            "leader_title, lead_unit, agent_id, registered_by, accepted_on, summary) VALUES "
            "('LC', 'x2', '@centre', now(), 'LCXM20269999', 'x', 'x', '', 'x', 'x', 'x', '', "
            f"'FGJ', '{people['8002'].staff_id}', '{me}', '2026-03-20', '')"
        ),
        "a step written as a window": (
            f"{step_cols}('LC', 'x3', 'A03', now(), '{mine}', '{my_node}', 'progress', "
            f"'{me}', '2026-03-20', 'x')"
        ),
        "changing a node's limit": "UPDATE project_nodes SET due_on = '2026-12-31'",
        "removing a step": "DELETE FROM project_steps",
        "truncating surveys": "TRUNCATE agent_surveys",
        "reading cases": "SELECT count(*) FROM cases",
        "adding an evaluation": "INSERT INTO evaluations (hall_code, id) VALUES ('LC', 'x')",
        "changing a password": "UPDATE staff SET password_hash = 'x'",
    }
    with raw(url, "lc_agent_8001") as conn:
        for _what, sql in refused.items():
            with pytest.raises(
                (errors.InsufficientPrivilege, errors.CheckViolation),
                match=r"permission denied|row-level security|policy",
            ):
                conn.execute(sql)
            conn.rollback()
        # Nothing of another agent's project is visible, even by id.
        assert conn.execute(
            "SELECT count(*) FROM project_nodes WHERE project_id = %s", (theirs,)
        ).fetchone() == (0,)
        # …nor can it ask the helper about another login's projects.
        assert conn.execute(
            "SELECT count(*) FROM hallapp_agent_projects('lc_agent_8101', false)"
        ).fetchone() == (0,)


def test_windows_get_nothing_of_the_key_projects(pg_central) -> None:
    url, admin = pg_central
    with admin.connect() as c:
        people = {no: actor_by_no(c, HALL_CODE, no) for no in PEOPLE}
    register_sample(Hall(admin, people), "8001")
    with admin.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO windows (hall_code, code, name, department_code, active) "
                "VALUES ('LC', 'A03', '综合窗口', 'ZJJ', true)"
            )
        )
    granted = roles.grant_window(admin, HALL_CODE, "A03", "window-login-pw-2026")
    with raw(url, granted.login) as conn:
        for table in ("key_projects", "project_nodes", "agent_surveys"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"SELECT count(*) FROM {table}")
            conn.rollback()


def _grant(url: str, staff_no: str, login: str):
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "hallapp", "central", "grant-agent", staff_no, "--login", login,
         "--hall", "LC", "--url", url, "--password-env", "AGENT_LOGIN_PW"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "AGENT_LOGIN_PW": LOGIN_PW},
    )  # fmt: skip


def test_grant_agent_from_the_command_line(pg_central) -> None:
    url, _admin = pg_central
    proc = _grant(url, "8001", "lc_agent_cli")
    assert proc.returncode == 0, proc.stderr
    assert "lc_agent_cli" in proc.stdout and LOGIN_PW not in proc.stdout + proc.stderr
    refused = _grant(url, "1001", "lc_agent_clerk")
    assert refused.returncode == 1 and "没有工号为 1001 的代办员" in refused.stderr
