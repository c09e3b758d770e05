"""``hallapp projects``: 重点项目代办 at the central store, for 代办员 and supervisors.

Every action names who acts (``--staff``; the password from
``HALLAPP_PASSWORD`` or asked for) and works on the central store
(``--url``, default the config's ``store.central_url``; ``--hall``):

    hallapp projects add --name … --investor … --contact 王强 --phone 139… \\
        --leader 林国华 --leader-title 副县长 --lead-unit FGJ --accepted 2026-03-02 \\
        --second ZRJ=8101 --node "企业投资项目备案|FGJ|陈建国|2026-03-02|3" --staff 8001
    hallapp projects node PROJECT_NO --name … --unit ZRJ --person 李秀英 --starts D \
        (--days N | --due D)
    hallapp projects list | show PROJECT_NO | due
    hallapp projects step PROJECT_NO SEQ --kind done|progress|urged|problem|escalated --note …
    hallapp projects handover PROJECT_NO --recipient 王强 --recipient-phone 139…
    hallapp projects survey PROJECT_NO --answers 5,5,4,5,5,5,5 --respondent 王强 [--paper]
    hallapp projects print PROJECT_NO intake|record|handover --out FILE.pdf
    hallapp projects reprint DOC_NO --out FILE.pdf
    hallapp projects stuck | discipline
    hallapp projects report weekly|half-month [--on D] --out FILE.pdf|FILE.xlsx
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from hallapp.cli.common import EXIT_DENIED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, command_group

log = logging.getLogger(__name__)


def _echo(*values: object, file: Any = None) -> None:
    """``print``, with any hidden character of a stored value shown as U+FFFD:
    a project stored before such input was refused must not send an ESC
    sequence or a direction override to the terminal that lists it."""
    from hallapp.validation import visible_text

    print(*(visible_text(str(v)) for v in values), file=file)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(
        subparsers, "projects", "重点项目代办：登记、节点、督导代办记录、测评、文书、周报"
    )

    def add(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int], parent: Any = None
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = (parent or sub).add_parser(name, help=help_text)
        p.add_argument("--url", metavar="URL", help="中心库地址；默认配置文件中的 central_url")
        p.add_argument("--hall", metavar="CODE", help="大厅代码；默认配置文件中的 hall.code")
        p.add_argument(
            "--staff",
            metavar="STAFF_NO",
            required=True,
            help="操作人工号（代办员或监督管理人员），密码取自 HALLAPP_PASSWORD 或提示输入",
        )
        p.add_argument("--today", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
        p.set_defaults(func=lambda a: _run(func, a))
        return p

    p = add("add", "登记重点项目（代办受理）", _add)
    p.add_argument("--name", required=True, help="项目名称")
    p.add_argument("--investor", required=True, help="投资方（企业名称）")
    p.add_argument("--uscc", default="", help="统一社会信用代码")
    p.add_argument("--contact", required=True, help="企业联系人")
    p.add_argument("--phone", required=True, help="联系电话")
    p.add_argument("--leader", required=True, help="指挥长（县级领导）")
    p.add_argument("--leader-title", default="")
    p.add_argument("--lead-unit", required=True, metavar="DEPT", help="责任单位（部门代码）")
    p.add_argument("--agent", default="", metavar="STAFF_NO", help="一级代办员；默认本人")
    p.add_argument("--accepted", type=date.fromisoformat, default=None, help="受理日期")
    p.add_argument("--summary", default="", help="项目概况、代办事项")
    p.add_argument(
        "--second", action="append", default=[], metavar="DEPT=STAFF_NO", help="二级代办员，可多次"
    )
    p.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="名称|部门|责任人|起始日|工作日或截止日",
        help="审批节点，可多次；最后一栏为数字（工作日）或日期",
    )

    p = add("node", "为项目增加审批节点", _node)
    p.add_argument("project_no")
    p.add_argument("--name", required=True)
    p.add_argument("--unit", required=True, metavar="DEPT", help="责任单位")
    p.add_argument("--person", required=True, help="责任人")
    p.add_argument("--person-phone", default="")
    p.add_argument("--starts", type=date.fromisoformat, required=True)
    limit = p.add_mutually_exclusive_group(required=True)
    limit.add_argument("--days", type=int, help="办理时限（工作日）")
    limit.add_argument("--due", type=date.fromisoformat, help="截止日期")

    add("list", "列出我代办的项目（监督管理人员：全部）", _list)
    p = add("show", "查看项目的节点和督导代办记录", _show)
    p.add_argument("project_no")
    add("due", "我代办的项目中临期和逾期的节点", _due)

    p = add("step", "登记督导代办情况（节点序号）", _step)
    p.add_argument("project_no")
    p.add_argument("seq", type=int, help="节点序号")
    p.add_argument(
        "--kind", required=True, choices=["progress", "urged", "problem", "escalated", "done"]
    )
    p.add_argument("--note", default="")
    p.add_argument("--on", type=date.fromisoformat, default=None, help="发生日期；默认今天")

    p = add("handover", "手续代办移交（全部节点办结后）", _handover)
    p.add_argument("project_no")
    p.add_argument("--recipient", required=True, help="企业委托人")
    p.add_argument("--recipient-phone", default="")
    p.add_argument("--on", type=date.fromisoformat, default=None)

    p = add("survey", "录入代办员满意度测评表（纸质表用 --paper）", _survey)
    p.add_argument("project_no")
    p.add_argument(
        "--answers",
        required=True,
        help="七项的等次，依次为服务态度、办事效率、解答问题、着装挂牌、无乱收费、"
        "业务知识、遵纪守法；5 非常满意 … 1 非常不满意，逗号分隔",
    )
    p.add_argument("--respondent", required=True, help="填写人姓名")
    p.add_argument("--respondent-phone", default="")
    p.add_argument("--comment", default="")
    p.add_argument("--on", type=date.fromisoformat, default=None, help="填写日期")
    p.add_argument("--paper", action="store_true", help="纸质测评表，由操作人录入")

    p = add("print", "出具代办文书（PDF）", _print)
    p.add_argument("project_no")
    p.add_argument("form", choices=["intake", "record", "handover"])
    p.add_argument("--out", required=True, type=Path)
    p = add("reprint", "补打代办文书", _reprint)
    p.add_argument("doc_no")
    p.add_argument("--out", required=True, type=Path)

    add("stuck", "卡点考评：逾期节点的责任单位和责任人（倒查）", _stuck)
    add("discipline", "满意度测评的警告和诫勉谈话名单", _discipline)
    p = add("report", "代办员周报（每周四）或半月通报（12日、25日），PDF 或 xlsx", _report)
    p.add_argument("kind", choices=["weekly", "half-month"])
    p.add_argument("--on", type=date.fromisoformat, default=None, help="所在周/半月的任一天")
    p.add_argument("--out", required=True, type=Path, help="FILE.pdf 或 FILE.xlsx")


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from hallapp.cli.central import _Refused
    from hallapp.projects import ProjectError, ProjectNotAllowed

    try:
        return func(args)
    except ProjectNotAllowed as exc:
        log.warning("projects %s refused: %s", args.projects_command, exc)
        _echo(str(exc), file=sys.stderr)
        return EXIT_DENIED
    except ProjectError as exc:
        _echo(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except _Refused as exc:
        _echo(str(exc), file=sys.stderr)
        return exc.code


@contextmanager
def _session(
    args: argparse.Namespace, *, write: bool, clerk: bool = False
) -> Iterator[tuple[Any, str, Any]]:
    """(connection, hall, actor) on the central store, in one transaction."""
    from hallapp.cli.central import PASSWORD_ENV, _engine, _hall, _password
    from hallapp.projects.register import sign_in

    hall = _hall(args)
    engine = _engine(args)
    password = _password(f"工号 {args.staff} 的密码：", PASSWORD_ENV)
    try:
        with engine.connect() as c:
            actor = sign_in(c, hall, args.staff, password, clerk=clerk)
        with engine.begin() if write else engine.connect() as conn:
            yield conn, hall, actor
    finally:
        engine.dispose()


def _today(args: argparse.Namespace) -> date:
    return args.today or date.today()


def _config(args: argparse.Namespace) -> Any:
    from hallapp.config import load_config

    return load_config(getattr(args, "config", None))


def _parse_node(text: str, today: date) -> Any:
    from hallapp.projects import ProjectError
    from hallapp.projects.register import NodeInput

    parts = [p.strip() for p in text.split("|")]
    if len(parts) != 5:
        raise ProjectError(f"节点“{text}”应为 名称|部门代码|责任人|起始日期|工作日数或截止日期")
    name, unit, person, starts, limit = parts
    try:
        start = date.fromisoformat(starts) if starts else today
        if limit.isdigit():
            return NodeInput(name, unit, person, start, limit_days=int(limit))
        return NodeInput(name, unit, person, start, due_on=date.fromisoformat(limit))
    except ValueError as exc:
        raise ProjectError(f"节点“{text}”的日期格式不对（应为 2026-03-02）") from exc


def _add(args: argparse.Namespace) -> int:
    from hallapp.projects import ProjectError
    from hallapp.projects.register import ProjectInput, project_row, register_project

    today = _today(args)
    seconds: dict[str, str] = {}
    for item in args.second:
        dep, _, no = item.partition("=")
        if not dep or not no:
            raise ProjectError(f"二级代办员“{item}”应写作 部门代码=工号")
        seconds[dep.strip()] = no.strip()
    nodes = [_parse_node(n, today) for n in args.node]
    data = ProjectInput(
        name=args.name,
        investor=args.investor,
        investor_uscc=args.uscc,
        contact_name=args.contact,
        contact_phone=args.phone,
        leader_name=args.leader,
        leader_title=args.leader_title,
        lead_unit=args.lead_unit,
        accepted_on=args.accepted or today,
        summary=args.summary,
        agent_no=args.agent,
    )
    with _session(args, write=True) as (c, hall, actor):
        pid = register_project(c, hall, actor, data, nodes=nodes, second_agents=seconds)
        no = project_row(c, hall, pid).project_no
    _echo(f"已登记重点项目 {no} {args.name}（{len(nodes)} 个节点）")
    return EXIT_OK


def _node(args: argparse.Namespace) -> int:
    from hallapp.projects.register import NodeInput, add_node, project_by_no

    node = NodeInput(
        args.name,
        args.unit,
        args.person,
        args.starts,
        limit_days=args.days,
        due_on=args.due,
        responsible_phone=args.person_phone,
    )
    with _session(args, write=True) as (c, hall, actor):
        add_node(c, hall, actor, str(project_by_no(c, hall, args.project_no).id), node)
    _echo(f"已为项目 {args.project_no} 增加节点“{args.name}”")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from hallapp.projects.register import projects

    with _session(args, write=False) as (c, hall, actor):
        rows = projects(c, hall, actor, _today(args))
    for p in rows:
        _echo(
            f"{p.project_no}\t{p.name}\t{p.investor}\t代办员 {p.agent_name}\t"
            f"节点 {p.done}/{p.nodes} 办结\t临期 {p.due_soon}\t卡点 {p.late}\t{p.state.label}"
        )
    _echo(f"（共 {len(rows)} 个项目）", file=sys.stderr)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from hallapp.projects.register import detail, project_by_no

    today = _today(args)
    with _session(args, write=False) as (c, hall, actor):
        d = detail(c, hall, str(project_by_no(c, hall, args.project_no).id), today, actor=actor)
    p = d.project
    _echo(f"{p['project_no']} {p['name']}　投资方 {p['investor']}　指挥长 {p['leader_name']}")
    _echo(
        f"一级代办员 {d.agent_name}；二级代办员 "
        + ("；".join(f"{k} {v}" for k, v in d.second_agents.items()) or "—")
        + f"；状态 {d.state.label}"
    )
    for n in d.nodes:
        _echo(
            f"{n.seq}\t{n.name}\t{n.department_name}\t{n.responsible_name}\t"
            f"截止 {n.due_on}\t{n.state.label}"
            + (f"（逾期 {n.days_late} 个工作日）" if n.days_late else "")
        )
        for s in (s for s in d.steps if s.node_id == n.id):
            _echo(f"\t{s.happened_on}\t{s.kind.label}\t{s.note}\t{s.staff_name}")
    return EXIT_OK


def _due(args: argparse.Namespace) -> int:
    from hallapp.projects.register import NodeState, detail, projects

    today = _today(args)
    count = 0
    with _session(args, write=False) as (c, hall, actor):
        for p in projects(c, hall, actor, today):
            for n in detail(c, hall, p.id, today).nodes:
                if n.state in (NodeState.DUE_SOON, NodeState.LATE):
                    count += 1
                    _echo(
                        f"{p.project_no}\t{n.seq}\t{n.name}\t{n.department_name}\t"
                        f"{n.responsible_name}\t截止 {n.due_on}\t{n.state.label}"
                    )
    _echo(f"（临期和逾期节点共 {count} 个）", file=sys.stderr)
    return EXIT_OK


def _node_by_seq(c: Any, hall: str, project_no: str, seq: int, today: date) -> Any:
    from hallapp.projects import ProjectError
    from hallapp.projects.register import nodes_of, project_by_no

    project = project_by_no(c, hall, project_no)
    for n in nodes_of(c, hall, str(project.id), today):
        if n.seq == seq:
            return n
    raise ProjectError(f"项目 {project_no} 没有序号为 {seq} 的节点")


def _step(args: argparse.Namespace) -> int:
    from hallapp.projects.register import StepKind, record_step

    today = _today(args)
    with _session(args, write=True) as (c, hall, actor):
        node = _node_by_seq(c, hall, args.project_no, args.seq, today)
        record_step(
            c,
            hall,
            actor,
            node.id,
            kind=StepKind(args.kind),
            note=args.note,
            happened_on=args.on or today,
            today=today,
        )
    _echo(f"已登记：{args.project_no} 节点 {args.seq}“{node.name}” {StepKind(args.kind).label}")
    return EXIT_OK


def _handover(args: argparse.Namespace) -> int:
    from hallapp.projects.register import hand_over, project_by_no

    with _session(args, write=True) as (c, hall, actor):
        hand_over(
            c,
            hall,
            actor,
            str(project_by_no(c, hall, args.project_no).id),
            recipient=args.recipient,
            recipient_phone=args.recipient_phone,
            on=args.on or _today(args),
        )
    _echo(f"项目 {args.project_no} 已办理手续代办移交，接收人 {args.recipient}")
    return EXIT_OK


def _survey(args: argparse.Namespace) -> int:
    from hallapp.projects import ProjectError
    from hallapp.projects.register import project_by_no
    from hallapp.projects.survey import ITEM_KEYS, Channel, SurveyInput, record_survey

    try:
        levels = [int(v) for v in args.answers.replace("，", ",").split(",")]
    except ValueError as exc:
        raise ProjectError("测评等次应为 1–5 的数字，用逗号分隔，共七项") from exc
    if len(levels) != len(ITEM_KEYS):
        raise ProjectError(f"测评表有七项，给出了 {len(levels)} 项")
    survey = SurveyInput(
        answers=dict(zip(ITEM_KEYS, levels, strict=True)),
        respondent_name=args.respondent,
        respondent_phone=args.respondent_phone,
        comment=args.comment,
        filled_on=args.on or _today(args),
        channel=Channel.PAPER if args.paper else Channel.SCREEN,
    )
    with _session(args, write=True, clerk=args.paper) as (c, hall, actor):
        record_survey(
            c,
            hall,
            str(project_by_no(c, hall, args.project_no).id),
            survey,
            # The one signed in types the answers, paper form or not: he is
            # recorded, and refused if he is the 代办员 rated.
            entered_by=actor,
            today=_today(args),
        )
    _echo(f"已录入项目 {args.project_no} 的代办员满意度测评表（{survey.channel.label}）")
    return EXIT_OK


def _write_pdf(path: Path, pdf: bytes) -> None:
    path.write_bytes(pdf)
    _echo(f"已写入 {path}")


def _print(args: argparse.Namespace) -> int:
    from hallapp.printing.project_forms import render_form_pdf
    from hallapp.projects.forms import FormType, issue_form
    from hallapp.projects.register import project_by_no

    form = FormType(f"project_{args.form}")
    config = _config(args)
    with _session(args, write=True) as (c, hall, actor):
        issued = issue_form(
            c,
            hall,
            actor,
            str(project_by_no(c, hall, args.project_no).id),
            form,
            hall_name=config.hall_name,
            today=_today(args),
        )
    _write_pdf(
        args.out,
        render_form_pdf(issued.content, font_path=str(config.get("printing.font_path")) or None),
    )
    _echo(f"{form.label} {issued.doc_no}")
    return EXIT_OK


def _reprint(args: argparse.Namespace) -> int:
    from hallapp.printing.project_forms import render_form_pdf
    from hallapp.projects.forms import reprint

    with _session(args, write=False) as (c, hall, _actor):
        issued = reprint(c, hall, args.doc_no)
    _write_pdf(args.out, render_form_pdf(issued.content, reprint_at=issued.reprint_at))
    return EXIT_OK


def _stuck(args: argparse.Namespace) -> int:
    from hallapp.projects.register import stuck_points

    with _session(args, write=False) as (c, hall, actor):
        points = stuck_points(
            c, hall, _today(args), agent_id=None if actor.oversees else actor.staff_id
        )
    for p in points:
        _echo(
            f"{p.department_name or p.department_code}\t{p.responsible_name}\t{p.project_no}\t"
            f"{p.node_name}\t截止 {p.due_on}\t"
            + (f"{p.done_on} 办结" if p.done_on else "未办结")
            + f"\t逾期 {p.days_late} 个工作日"
        )
    _echo(f"（卡点共 {len(points)} 个）", file=sys.stderr)
    return EXIT_OK


def _discipline(args: argparse.Namespace) -> int:
    from hallapp.projects.survey import discipline_list

    with _session(args, write=False) as (c, hall, actor):
        if not actor.oversees:
            from hallapp.projects import ProjectNotAllowed

            raise ProjectNotAllowed("警告和诫勉谈话名单只供监督管理人员查看")
        entries = discipline_list(c, hall)
    for e in entries:
        _echo(
            f"{e.agent_no}\t{e.agent_name}\t{e.project_no}\t{e.filled_on}\t{e.channel.label}\t"
            f"连续第 {e.run} 次\t{e.consequence.label}"
        )
    _echo(f"（共 {len(entries)} 条）", file=sys.stderr)
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from hallapp.cli.central import _Refused
    from hallapp.reports.projects import build_report

    if args.out.suffix.lower() not in (".pdf", ".xlsx"):
        raise _Refused("--out 应为 .pdf 或 .xlsx 文件", EXIT_USAGE)
    config = _config(args)
    with _session(args, write=False) as (c, hall, actor):
        period, tables, title, subtitle = build_report(
            c, hall, actor, args.kind, args.on or _today(args), today=_today(args)
        )
    from hallapp.printing.publish import write_tables

    write_tables(tables, args.out, hall_name=config.hall_name, title=title, subtitle=subtitle)
    _echo(f"已写入 {args.out}（{title}，{period.label}）")
    return EXIT_OK
