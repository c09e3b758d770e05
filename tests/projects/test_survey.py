"""代办员满意度测评表 (seed 002 附件3) and seed 002 六's rule on a real central store:
a first 非常不满意 → 警告, two in a row (consecutive surveys of that agent) → 诫勉谈话."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallapp.projects import ProjectError, ProjectNotAllowed
from hallapp.projects.survey import (
    ITEM_KEYS,
    Channel,
    Consequence,
    SurveyInput,
    admonition_list,
    check_answers,
    discipline_list,
    record_survey,
    surveys_of,
)
from tests.projects.hallfixtures import HALL_CODE, Hall, register_sample

GOOD = dict.fromkeys(ITEM_KEYS, 5)


def very_bad(item: str = "efficiency") -> dict[str, int]:
    return {**GOOD, item: 1}


def survey(answers: dict[str, int], day: date, channel: Channel = Channel.SCREEN) -> SurveyInput:
    return SurveyInput(
        answers=answers,
        respondent_name="王强",
        filled_on=day,
        channel=channel,
        respondent_phone="13905971234",
        comment="",
    )


def test_two_very_dissatisfied_in_a_row_put_the_agent_on_the_admonition_list(hall: Hall) -> None:
    first = register_sample(hall)
    second = register_sample(hall, name="高端装备制造产业园")
    other = register_sample(hall, agent_no="8002", name="冷链物流园")
    clerk = hall.actor("1001")
    with hall.engine.begin() as c:
        record_survey(c, HALL_CODE, first, survey(very_bad(), date(2026, 3, 10)))
        # Another agent's survey in between does not break 罗建平's run.
        record_survey(c, HALL_CODE, other, survey(GOOD, date(2026, 3, 11)))
        record_survey(
            c,
            HALL_CODE,
            second,
            survey(very_bad("integrity"), date(2026, 3, 12), Channel.PAPER),
            entered_by=clerk,
        )
    with hall.engine.connect() as c:
        entries = discipline_list(c, HALL_CODE)
        listed = admonition_list(c, HALL_CODE)
    assert [(e.agent_name, e.run, e.consequence) for e in entries] == [
        ("罗建平", 1, Consequence.WARNING),
        ("罗建平", 2, Consequence.ADMONITION),
    ]
    assert [(e.agent_no, e.project_name, e.channel) for e in listed] == [
        ("8001", "高端装备制造产业园", Channel.PAPER)
    ]


def test_a_survey_without_very_dissatisfied_breaks_the_run(hall: Hall) -> None:
    pid = register_sample(hall)
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(5)]
    with hall.engine.begin() as c:
        record_survey(c, HALL_CODE, pid, survey(very_bad(), days[0]))
        record_survey(c, HALL_CODE, pid, survey({**GOOD, "attitude": 2}, days[1]))  # 不满意
        record_survey(c, HALL_CODE, pid, survey(very_bad(), days[2]))
        record_survey(c, HALL_CODE, pid, survey(very_bad(), days[3]))
        record_survey(c, HALL_CODE, pid, survey(very_bad(), days[4]))
    with hall.engine.connect() as c:
        entries = discipline_list(c, HALL_CODE)
        recent = discipline_list(c, HALL_CODE, since=days[3])
    assert [(e.filled_on, e.consequence) for e in entries] == [
        (days[0], Consequence.WARNING),
        (days[2], Consequence.WARNING),
        (days[3], Consequence.ADMONITION),
        (days[4], Consequence.ADMONITION),
    ]
    # A period's list still counts the run from before it.
    assert [e.run for e in recent] == [2, 3]


def test_paper_surveys_name_their_clerk_and_the_agent_cannot_enter_their_own(hall: Hall) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="录入人"):
        record_survey(c, HALL_CODE, pid, survey(GOOD, date(2026, 3, 2), Channel.PAPER))
    with hall.engine.begin() as c, pytest.raises(ProjectNotAllowed, match="不能录入对自己"):
        record_survey(
            c, HALL_CODE, pid, survey(GOOD, date(2026, 3, 2), Channel.PAPER), entered_by=agent
        )
    # Typed in as if from the screen (the command line without --paper): the same.
    with hall.engine.begin() as c, pytest.raises(ProjectNotAllowed, match="不能录入对自己"):
        record_survey(
            c, HALL_CODE, pid, survey(GOOD, date(2026, 3, 2), Channel.SCREEN), entered_by=agent
        )
    with hall.engine.connect() as c:
        assert not surveys_of(c, HALL_CODE, pid)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({k: 5 for k in ITEM_KEYS[:6]}, "未选择：遵纪守法"),
        ({**GOOD, "efficiency": 0}, "办事效率”的测评等次无效"),
        ({**GOOD, "efficiency": 6}, "等次无效"),
        ({**GOOD, "tea": 5}, "没有这些项目"),
    ],
)
def test_every_item_must_be_answered_with_one_of_the_five_levels(
    answers: dict[str, int], message: str
) -> None:
    with pytest.raises(ProjectError, match=message):
        check_answers(answers)


def _expected(levels: list[int]) -> list[Consequence]:
    out, run = [], 0
    for worst in levels:
        run = run + 1 if worst == 1 else 0
        if worst == 1:
            out.append(Consequence.WARNING if run == 1 else Consequence.ADMONITION)
    return out


@settings(max_examples=15, deadline=None)
@given(levels=st.lists(st.integers(1, 5), min_size=1, max_size=8))
def test_the_sql_rule_matches_the_seed_for_any_sequence_of_surveys(
    tmp_path_factory: pytest.TempPathFactory, levels: list[int]
) -> None:
    from hallapp.store import sqlite_url
    from hallapp.sync.centre import central_engine, init_central
    from tests.projects.hallfixtures import seed_hall

    url = sqlite_url(tmp_path_factory.mktemp("survey") / "central.sqlite3")
    init_central(url)
    engine = central_engine(url)
    try:
        seed_hall(engine)
        from hallapp.projects.register import actor_by_no
        from tests.projects.hallfixtures import PEOPLE
        from tests.projects.hallfixtures import Hall as H

        with engine.connect() as c:
            people = {no: actor_by_no(c, HALL_CODE, no) for no in PEOPLE}
        h = H(engine, people)
        pid = register_sample(h)
        with engine.begin() as c:
            for i, worst in enumerate(levels):
                record_survey(
                    c,
                    HALL_CODE,
                    pid,
                    survey({**GOOD, "answers": worst}, date(2026, 1, 1) + timedelta(days=i)),
                )
        with engine.connect() as c:
            got = [e.consequence for e in discipline_list(c, HALL_CODE)]
    finally:
        engine.dispose()
    assert got == _expected(levels)
