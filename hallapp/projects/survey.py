"""代办员满意度测评表 (seed 002 附件3) and the rule it feeds (seed 002 六).

The form: seven items, each on five levels (非常满意, 满意, 一般, 不满意,
非常不满意 — the form's own words; 六 calls the middle one 基本满意), and the
enterprise's 意见和建议. It is filled in by the enterprise's representative:
on the citizen screen at the hand-over (channel ``screen``), or on the paper
form and entered by a clerk (channel ``paper``, with who entered it). Answers
typed in by someone (paper, or ``hallapp projects survey``) name who typed
them and are never typed by the rated 代办员 themself. Every item must be
answered: there is no default level, as for any evaluation (GLOSSARY: no
default good rating).

The rule, seed 002 六: "对于第一次被评议为‘非常不满意’的人员给予警告处理，连续两次
被评为‘非常不满意’的代办员，给予警告或进行诫勉谈话，并写出书面检查". What we
count, precisely:

- a survey *is rated 非常不满意* when at least one of its seven items is
  非常不满意 (the form rates the 代办员 item by item, and 六 says the 测评 is
  made "从服务态度、办事效率、业务知识、遵纪守法等方面": a 非常不满意 on any of them
  is one);
- *in a row* means consecutive surveys **of that 代办员** (all projects,
  both channels), in the order they were filled in (the date on the form,
  then the time it was recorded): a survey not rated 非常不满意 in between
  breaks the run; surveys of other 代办员 do not;
- the first 非常不满意 of a run → 警告; the second and every further one in
  the same run → 诫勉谈话 (with 书面检查). The list for supervisors holds
  every such survey with its consequence; it is derived from the surveys in
  SQL (a window function), never stored, so nothing can be forgotten or
  edited away.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from hallapp.projects import ProjectError, ProjectNotAllowed
from hallapp.projects.register import (
    ProjectActor,
    _as_date,
    _insert,
    _text,
    project_row,
    second_agents,
)
from hallapp.sync.schema import HALL, central_table
from hallapp.validation import validate_phone

# (key, label) in the form's order (附件3).
SURVEY_ITEMS: tuple[tuple[str, str], ...] = (
    ("attitude", "服务态度"),
    ("efficiency", "办事效率"),
    ("answers", "解答问题准确、耐心、细致"),
    ("appearance", "着装整洁、挂牌服务"),
    ("no_fees", "无乱收费、乱培训、乱摊派"),
    ("knowledge", "业务知识熟练、要求提供的材料一次性告知"),
    ("integrity", "遵纪守法、无吃拿卡要现象"),
)
ITEM_KEYS = tuple(k for k, _ in SURVEY_ITEMS)

# Level → the form's column heading, best first.
LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}
VERY_DISSATISFIED = 1


class Channel(enum.StrEnum):
    SCREEN = "screen"  # on the citizen screen at the hand-over
    PAPER = "paper"  # the paper form, entered by a clerk

    @property
    def label(self) -> str:
        return "现场屏幕填写" if self is Channel.SCREEN else "纸质测评表录入"


class Consequence(enum.StrEnum):
    WARNING = "warning"  # 警告
    ADMONITION = "admonition"  # 诫勉谈话、书面检查

    @property
    def label(self) -> str:
        return "警告" if self is Consequence.WARNING else "诫勉谈话（并写出书面检查）"


@dataclass(frozen=True)
class SurveyInput:
    answers: Mapping[str, int]
    respondent_name: str
    filled_on: date
    channel: Channel
    respondent_phone: str = ""
    comment: str = ""
    agent_id: str = ""  # empty: the project's 一级代办员


def check_answers(answers: Mapping[str, int]) -> dict[str, int]:
    """All seven items, each one of the five levels; the message names what is wrong."""
    unknown = sorted(set(answers) - set(ITEM_KEYS))
    if unknown:
        raise ProjectError(f"测评表没有这些项目：{'、'.join(unknown)}")
    missing = [label for key, label in SURVEY_ITEMS if key not in answers]
    if missing:
        raise ProjectError(f"还有测评项目未选择：{'、'.join(missing)}（每一项都要由企业代表选择）")
    out: dict[str, int] = {}
    labels = dict(SURVEY_ITEMS)
    for key in ITEM_KEYS:
        value = answers[key]
        if isinstance(value, bool) or not isinstance(value, int) or value not in LEVELS:
            raise ProjectError(f"“{labels[key]}”的测评等次无效：{value!r}")
        out[key] = value
    return out


def record_survey(
    conn: Connection,
    hall: str,
    project_id: str,
    survey: SurveyInput,
    *,
    entered_by: ProjectActor | None = None,
    today: date | None = None,
) -> str:
    """One 满意度测评表 of the project's 代办员, as the representative filled it."""
    project = project_row(conn, hall, project_id)
    answers = check_answers(survey.answers)
    agent_id = survey.agent_id or str(project.agent_id)
    if (
        agent_id != str(project.agent_id)
        and agent_id not in second_agents(conn, hall, project_id).values()
    ):
        raise ProjectError("被测评人不是本项目的代办员")
    today = today or date.today()
    if survey.filled_on > today:
        raise ProjectError(f"填写日期 {survey.filled_on.isoformat()} 在今天之后")
    if survey.channel is Channel.PAPER and entered_by is None:
        raise ProjectError("纸质测评表须记录录入人")
    # Whoever types the answers in (a paper form, or the command line) is
    # ``entered_by``, on either channel: the rated 代办员 typing his own would
    # break his 非常不满意 run (诫勉谈话 becoming a second 警告). Only the
    # citizen screen's own form (ui/projects_survey.py) records none.
    if entered_by is not None and entered_by.staff_id == agent_id:
        raise ProjectNotAllowed("被测评的代办员不能录入对自己的测评表，请由其他工作人员录入")
    phone = survey.respondent_phone.strip()
    if phone:
        checked = validate_phone(phone)
        if not checked:
            raise ProjectError(f"联系电话有误：{checked.reason}")
        phone = checked.value
    return _insert(
        conn,
        hall,
        "agent_surveys",
        {
            "project_id": project_id,
            "agent_id": agent_id,
            "answers": answers,
            "worst_level": min(answers.values()),
            "comment": survey.comment.strip()[:2000],
            "channel": survey.channel.value,
            "respondent_name": _text(survey.respondent_name, "填写人姓名", 50),
            "respondent_phone": phone,
            "filled_on": survey.filled_on,
            "entered_by": entered_by.staff_id if entered_by is not None else None,
        },
    )


@dataclass(frozen=True)
class DisciplineEntry:
    """One survey rated 非常不满意 and what seed 002 六 makes of it."""

    agent_id: str
    agent_name: str
    agent_no: str
    survey_id: str
    project_no: str
    project_name: str
    filled_on: date
    channel: Channel
    run: int  # 1 = first 非常不满意 of a run, 2 = second in a row...
    consequence: Consequence


def discipline_list(
    conn: Connection,
    hall: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[DisciplineEntry]:
    """警告 and 诫勉谈话 per seed 002 六, from every survey of the hall.

    Runs are counted over each agent's whole history (a run may start before
    ``since``); ``since``/``until`` only keep the entries filled in then.
    """
    sv = central_table("agent_surveys")
    very = case((sv.c.worst_level == VERY_DISSATISFIED, 1), else_=0)
    order = (sv.c.filled_on, sv.c.created_at, sv.c.id)
    # Island numbering: every survey that is not 非常不满意 starts a new group,
    # so within a group the 非常不满意 surveys are consecutive ones.
    grouped = (
        select(
            sv.c.id,
            sv.c.agent_id,
            sv.c.project_id,
            sv.c.filled_on,
            sv.c.channel,
            sv.c.created_at,
            very.label("very"),
            func.sum(1 - very).over(partition_by=sv.c.agent_id, order_by=order).label("grp"),
        )
        .where(sv.c[HALL] == hall)
        .subquery("g")
    )
    ranked = select(
        grouped,
        func.sum(grouped.c.very)
        .over(
            partition_by=(grouped.c.agent_id, grouped.c.grp),
            order_by=(grouped.c.filled_on, grouped.c.created_at, grouped.c.id),
        )
        .label("run"),
    ).subquery("r")
    kp = central_table("key_projects")
    st = central_table("staff")
    stmt = (
        select(
            ranked,
            kp.c.project_no,
            kp.c.name.label("project_name"),
            st.c.name.label("agent_name"),
            st.c.staff_no,
        )
        .select_from(
            ranked.join(kp, and_(kp.c[HALL] == hall, kp.c.id == ranked.c.project_id)).outerjoin(
                st, and_(st.c[HALL] == hall, st.c.id == ranked.c.agent_id)
            )
        )
        .where(ranked.c.very == 1)
        .order_by(ranked.c.filled_on, ranked.c.created_at)
    )
    if since is not None:
        stmt = stmt.where(ranked.c.filled_on >= since)
    if until is not None:
        stmt = stmt.where(ranked.c.filled_on <= until)
    out = []
    for r in conn.execute(stmt):
        filled = _as_date(r.filled_on)
        assert filled is not None
        run = int(r.run)
        out.append(
            DisciplineEntry(
                agent_id=str(r.agent_id),
                agent_name=str(r.agent_name or ""),
                agent_no=str(r.staff_no or ""),
                survey_id=str(r.id),
                project_no=str(r.project_no),
                project_name=str(r.project_name),
                filled_on=filled,
                channel=Channel(r.channel),
                run=run,
                consequence=Consequence.WARNING if run == 1 else Consequence.ADMONITION,
            )
        )
    return out


def admonition_list(conn: Connection, hall: str) -> list[DisciplineEntry]:
    """The 诫勉谈话 list: 代办员 rated 非常不满意 twice or more in a row."""
    return [e for e in discipline_list(conn, hall) if e.consequence is Consequence.ADMONITION]


def surveys_of(conn: Connection, hall: str, project_id: str) -> list[dict[str, Any]]:
    sv = central_table("agent_surveys")
    rows = conn.execute(
        select(sv)
        .where(sv.c[HALL] == hall, sv.c.project_id == project_id)
        .order_by(sv.c.filled_on, sv.c.created_at)
    )
    return [dict(r._mapping) for r in rows]
