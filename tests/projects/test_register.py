"""The key project register on a real central store (SQLite file and PostgreSQL):
nodes with working-day limits, steps, 卡点 against the right unit and person,
who may do what, and that the facts stay append-only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hallapp.projects import ProjectError, ProjectNotAllowed
from hallapp.projects.register import (
    NodeInput,
    NodeState,
    ProjectState,
    StepKind,
    add_node,
    detail,
    hand_over,
    node_due,
    projects,
    record_step,
    register_project,
    stuck_points,
    stuck_tally,
)
from hallapp.workdays import add_working_days, working_days_between
from tests.projects.hallfixtures import (
    HALL_CODE,
    Hall,
    register_sample,
    sample_nodes,
    sample_project,
)

TODAY = date(2026, 3, 20)


def test_a_registered_project_gets_a_number_nodes_with_limits_and_its_agents(hall: Hall) -> None:
    pid = register_sample(hall)
    with hall.engine.connect() as c:
        d = detail(c, HALL_CODE, pid, TODAY)
    assert d.project["project_no"] == "LCXM20260001"
    assert d.agent_name == "罗建平"
    assert d.second_agents == {"连城县自然资源局": "吴志强", "连城县住房和城乡建设局": "郑晓燕"}
    assert [n.name for n in d.nodes] == [
        "企业投资项目备案",
        "用地预审与选址意见书",
        "环境影响评价审批",
        "建筑工程施工许可",
    ]
    # 3 working days after Monday 2 March 2026: Thursday 5 March.
    assert d.nodes[0].due_on == date(2026, 3, 5)
    assert d.nodes[3].due_on == date(2026, 4, 30)
    assert d.state is ProjectState.WORKING
    second = register_sample(hall, name="第二个项目")
    with hall.engine.connect() as c:
        assert detail(c, HALL_CODE, second, TODAY).project["project_no"] == "LCXM20260002"


def test_a_node_past_its_limit_is_a_stuck_point_against_its_unit_and_person(hall: Hall) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c:
        nodes = detail(c, HALL_CODE, pid, TODAY).nodes
        # 备案 done on time, 环评 done late, 用地预审 still open and late.
        record_step(
            c,
            HALL_CODE,
            agent,
            nodes[0].id,
            kind=StepKind.DONE,
            note="",
            happened_on=date(2026, 3, 4),
            today=TODAY,
        )
        record_step(
            c,
            HALL_CODE,
            agent,
            nodes[1].id,
            kind=StepKind.URGED,
            note="电话督促李秀英科长",
            happened_on=date(2026, 3, 13),
            today=TODAY,
        )
        record_step(
            c,
            HALL_CODE,
            agent,
            nodes[2].id,
            kind=StepKind.DONE,
            note="批复已领取",
            happened_on=date(2026, 3, 24),
            today=date(2026, 3, 30),
        )
    with hall.engine.connect() as c:
        points = stuck_points(c, HALL_CODE, date(2026, 3, 30))
        states = {n.name: n.state for n in detail(c, HALL_CODE, pid, date(2026, 3, 30)).nodes}
    assert states == {
        "企业投资项目备案": NodeState.DONE,
        "用地预审与选址意见书": NodeState.LATE,
        "环境影响评价审批": NodeState.DONE_LATE,
        "建筑工程施工许可": NodeState.OPEN,
    }
    by_node = {p.node_name: p for p in points}
    assert set(by_node) == {"用地预审与选址意见书", "环境影响评价审批"}
    late = by_node["用地预审与选址意见书"]
    assert (late.department_code, late.department_name, late.responsible_name) == (
        "ZRJ",
        "连城县自然资源局",
        "李秀英",
    )
    assert late.due_on == date(2026, 3, 16)
    assert late.done_on is None
    assert late.days_late == working_days_between(date(2026, 3, 16), date(2026, 3, 30))
    assert late.agent_name == "罗建平"
    env = by_node["环境影响评价审批"]
    assert env.responsible_name == "周海涛" and env.done_on == date(2026, 3, 24)
    tally = {
        (t.department_code, t.responsible_name): (t.nodes, t.open_now) for t in stuck_tally(points)
    }
    assert tally == {("ZRJ", "李秀英"): (1, 1), ("HBJ", "周海涛"): (1, 0)}
    # On its due day an open node is not stuck yet (a node done late stays on record).
    with hall.engine.connect() as c:
        on_due_day = stuck_points(c, HALL_CODE, date(2026, 3, 16))
    assert [p.node_name for p in on_due_day] == ["环境影响评价审批"]


def test_what_is_due_soon_and_the_register_as_each_agent_sees_it(hall: Hall) -> None:
    mine = register_sample(hall)
    theirs = register_sample(hall, agent_no="8002", name="高端装备制造产业园")
    with hall.engine.connect() as c:
        seen = {p.id: p for p in projects(c, HALL_CODE, hall.actor("8001"), date(2026, 3, 4))}
        assert set(seen) == {mine}
        assert seen[mine].due_soon == 1  # 备案 due on the 5th
        # A 二级代办员 sees the projects they work in; a supervisor sees all.
        assert {p.id for p in projects(c, HALL_CODE, hall.actor("8101"), TODAY)} == {mine, theirs}
        assert {p.id for p in projects(c, HALL_CODE, hall.actor("9001"), TODAY)} == {mine, theirs}
        with pytest.raises(ProjectNotAllowed, match="不是您代办的项目"):
            detail(c, HALL_CODE, theirs, TODAY, actor=hall.actor("8001"))


def test_only_the_right_people_record_and_nodes_close_once(hall: Hall) -> None:
    pid = register_sample(hall)
    lead, zrj, other, clerk = (hall.actor(n) for n in ("8001", "8101", "8002", "1001"))
    with hall.engine.begin() as c:
        nodes = detail(c, HALL_CODE, pid, TODAY).nodes
        # 二级代办员 of 自然资源局 records on his department's node...
        record_step(
            c,
            HALL_CODE,
            zrj,
            nodes[1].id,
            kind=StepKind.PROGRESS,
            note="材料已报送",
            happened_on=date(2026, 3, 3),
            today=TODAY,
        )
    with hall.engine.begin() as c, pytest.raises(ProjectNotAllowed, match="二级代办员"):
        # ...but not on 住建局's.
        record_step(
            c,
            HALL_CODE,
            zrj,
            nodes[3].id,
            kind=StepKind.PROGRESS,
            note="越权",
            happened_on=date(2026, 3, 3),
            today=TODAY,
        )
    with hall.engine.begin() as c, pytest.raises(ProjectNotAllowed, match="一级代办员"):
        add_node(
            c, HALL_CODE, other, pid, NodeInput("消防设计审查", "ZJJ", "刘明", TODAY, limit_days=5)
        )
    with hall.engine.begin() as c:
        record_step(
            c,
            HALL_CODE,
            lead,
            nodes[0].id,
            kind=StepKind.DONE,
            note="",
            happened_on=date(2026, 3, 4),
            today=TODAY,
        )
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="已办结"):
        record_step(
            c,
            HALL_CODE,
            lead,
            nodes[0].id,
            kind=StepKind.PROGRESS,
            note="again",
            happened_on=date(2026, 3, 5),
            today=TODAY,
        )
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="还没到"):
        record_step(
            c,
            HALL_CODE,
            lead,
            nodes[1].id,
            kind=StepKind.PROGRESS,
            note="x",
            happened_on=TODAY + timedelta(days=1),
            today=TODAY,
        )
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="情况说明"):
        record_step(
            c,
            HALL_CODE,
            lead,
            nodes[1].id,
            kind=StepKind.PROGRESS,
            note=" ",
            happened_on=TODAY,
            today=TODAY,
        )
    with (
        hall.engine.begin() as c,
        pytest.raises(ProjectNotAllowed, match="只有代办员和监督管理人员"),
    ):
        register_project(c, HALL_CODE, clerk, sample_project())


def test_hand_over_needs_every_node_done_and_then_closes_the_project(hall: Hall) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="还有节点未办结"):
        hand_over(
            c, HALL_CODE, agent, pid, recipient="王强", recipient_phone="13905971234", on=TODAY
        )
    with hall.engine.begin() as c:
        for n in detail(c, HALL_CODE, pid, TODAY).nodes:
            record_step(
                c,
                HALL_CODE,
                agent,
                n.id,
                kind=StepKind.DONE,
                note="",
                happened_on=date(2026, 3, 19),
                today=TODAY,
            )
        assert detail(c, HALL_CODE, pid, TODAY).state is ProjectState.READY
        hand_over(
            c, HALL_CODE, agent, pid, recipient="王强", recipient_phone="13905971234", on=TODAY
        )
    with hall.engine.begin() as c:
        d = detail(c, HALL_CODE, pid, TODAY)
        assert d.state is ProjectState.HANDED_OVER
        assert d.handed_over is not None and d.handed_over["recipient"] == "王强"
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="已办理手续代办移交"):
        add_node(c, HALL_CODE, agent, pid, NodeInput("补充", "ZJJ", "刘明", TODAY, limit_days=1))


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"name": " "}, "请填写项目名称"),
        ({"lead_unit": "GTJ"}, "不是本大厅的部门"),  # no department of the hall has it
        ({"contact_phone": "1390597"}, "电话有误"),
        ({"investor_uscc": "91350825MA2Y0000X0"}, "统一社会信用代码"),
        ({"agent_no": "1001"}, "不是代办员"),
    ],
)
def test_bad_registrations_are_refused_with_a_message_and_nothing_written(
    hall: Hall, over: dict[str, object], message: str
) -> None:
    actor = hall.actor("9001")
    if "agent_no" not in over:
        over = {**over, "agent_no": "8001"}
    with hall.engine.begin() as c, pytest.raises(ProjectError, match=message):
        register_project(c, HALL_CODE, actor, sample_project(**over), nodes=sample_nodes())
    with hall.engine.connect() as c:
        assert projects(c, HALL_CODE, None, TODAY) == []


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("0597-8921003-1", "0597-8921003转1"),  # never 0597-89210031: another number
        ("010-65123456-8001", "010-65123456转8001"),
        ("+86-597-8921003", "0597-8921003"),
        ("+852 9123 4567", "+85291234567"),  # an investor from Hong Kong
    ],
)
def test_the_contact_phone_is_stored_as_the_agent_will_dial_it(
    hall: Hall, phone: str, stored: str
) -> None:
    pid = register_sample(hall, contact_phone=phone)
    with hall.engine.connect() as c:
        assert detail(c, HALL_CODE, pid, TODAY).project["contact_phone"] == stored


HIDDEN = ["\x1b[2J", "\u202e", "\u200b", "\x07"]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize(
    "field", ["name", "investor", "contact_name", "leader_name", "leader_title", "summary"]
)
def test_hidden_characters_in_a_project_are_refused_and_nothing_written(
    hall: Hall, field: str, hidden: str
) -> None:
    """An ESC clears the terminal that lists the project, U+202E makes
    福建\u202e司公限有 read 福建有限公司 on the signed 代办受理表: refused as in
    department and staff names."""
    actor = hall.actor("8001")
    over = {field: "福建" + hidden + "连城", "agent_no": "8001"}
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="不可见的控制字符"):
        register_project(c, HALL_CODE, actor, sample_project(**over), nodes=sample_nodes())
    with hall.engine.connect() as c:
        assert projects(c, HALL_CODE, None, TODAY) == []


@pytest.mark.parametrize("hidden", HIDDEN)
def test_hidden_characters_in_nodes_steps_and_hand_over_are_refused(
    hall: Hall, hidden: str
) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    for node in (
        NodeInput("补充" + hidden, "ZJJ", "刘明", TODAY, limit_days=1),
        NodeInput("补充", "ZJJ", "刘" + hidden + "明", TODAY, limit_days=1),
        NodeInput("补充", "ZJJ", "刘明", TODAY, limit_days=1, item_code="X" + hidden),
    ):
        with hall.engine.begin() as c, pytest.raises(ProjectError, match="不可见"):
            add_node(c, HALL_CODE, agent, pid, node)
    with hall.engine.connect() as c:
        first = detail(c, HALL_CODE, pid, TODAY).nodes[0]
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="不可见"):
        record_step(c, HALL_CODE, agent, first.id, kind=StepKind.URGED,
                    note="已催办" + hidden, happened_on=TODAY, today=TODAY)  # fmt: skip
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="电话有误"):
        add_node(c, HALL_CODE, agent, pid,
                 NodeInput("补充", "ZJJ", "刘明", TODAY, limit_days=1,
                           responsible_phone="电话没有"))  # fmt: skip
    with hall.engine.connect() as c:
        d = detail(c, HALL_CODE, pid, TODAY)
        assert len(d.nodes) == 4 and d.steps == []


def test_a_node_needs_exactly_one_kind_of_limit(hall: Hall) -> None:
    with pytest.raises(ProjectError, match="二选一"):
        node_due(NodeInput("x", "ZJJ", "刘明", TODAY))
    with pytest.raises(ProjectError, match="二选一"):
        node_due(NodeInput("x", "ZJJ", "刘明", TODAY, limit_days=3, due_on=TODAY))
    with pytest.raises(ProjectError, match="早于"):
        node_due(NodeInput("x", "ZJJ", "刘明", TODAY, due_on=TODAY - timedelta(days=1)))
    with pytest.raises(ProjectError, match="工作日"):
        node_due(NodeInput("x", "ZJJ", "刘明", TODAY, limit_days=-1))


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2004, 1, 1), date(2026, 10, 1)), days=st.integers(0, 60))
def test_a_node_limit_ends_on_the_nth_working_day_after_its_start(start: date, days: int) -> None:
    due = node_due(NodeInput("节点", "ZJJ", "刘明", start, limit_days=days))
    assert due == add_working_days(start, days).date
    assert working_days_between(start, due) == days
    assert due >= start
    # Late exactly from the day after the due date.
    from hallapp.projects.register import _node_view

    class Row:
        id = project_id = "n"
        seq = 1
        name = department_code = department_name = responsible_name = "x"
        responsible_phone = ""
        starts_on = start
        limit_days = days
        due_on = due
        done_on = None

    assert _node_view(Row(), due, None).state is not NodeState.LATE  # type: ignore[arg-type]
    assert _node_view(Row(), due + timedelta(days=1), None).state is NodeState.LATE  # type: ignore[arg-type]


def test_project_facts_cannot_be_changed_or_removed_at_the_centre(hall: Hall) -> None:
    register_sample(hall)
    for sql in (
        "UPDATE project_nodes SET due_on = starts_on",
        "DELETE FROM project_agents",
        "DELETE FROM key_projects",
        "UPDATE key_projects SET agent_id = 'x'",
    ):
        with hall.engine.begin() as c, pytest.raises(DBAPIError, match="append-only"):
            c.execute(text(sql))
    with hall.engine.connect() as c:
        assert (
            len(detail(c, HALL_CODE, projects(c, HALL_CODE, None, TODAY)[0].id, TODAY).nodes) == 4
        )


def test_a_nodes_limit_is_counted_on_the_halls_schedule_loaded_at_the_centre(
    hall: Hall,
) -> None:
    from hallapp.sync.schema import central_table

    # 2027 is not built in: the hall loaded its schedule (春节 8–14 Feb 2027 off,
    # Saturday 20 Feb a make-up workday).
    text_2027 = "年份 2027\n春节 2027-02-08~2027-02-14 调休上班 2027-02-20\n"
    from hallapp.workdays import parse_schedule

    parse_schedule(text_2027)  # the format the centre accepts
    from datetime import UTC, datetime

    with hall.engine.begin() as c:
        c.execute(
            central_table("holiday_schedules")
            .insert()
            .values(
                hall_code=HALL_CODE,
                year=2027,
                source_text=text_2027,
                loaded_at=datetime.now(UTC),
                loaded_by="9001",
                override_of="",
                override_reason="",
            )
        )
    pid = register_sample(hall, accepted_on=date(2027, 2, 5))
    with hall.engine.begin() as c:
        add_node(
            c,
            HALL_CODE,
            hall.actor("8001"),
            pid,
            NodeInput("春节后的节点", "ZJJ", "刘明", date(2027, 2, 5), limit_days=3),
        )
        node = detail(c, HALL_CODE, pid, date(2027, 2, 5)).nodes[-1]
    # Friday 5 Feb; 8–14 off; then 15, 16, 17 February.
    assert node.due_on == date(2027, 2, 17)
