"""``hallapp central``: the central store, where reference data is authored.

- ``init --url URL``: create or upgrade a central store;
- ``catalog import FILE``, ``staff add|disable|reset-password|list``,
  ``windows [add]``, ``departments [add]``, ``workdays load FILE``,
  ``settings [set KEY VALUE]``: each change is made by a supervisor or an
  administrator of the hall (``--staff`` and the password from
  ``HALLAPP_PASSWORD`` or asked for; staff changes by an administrator only),
  audited at the centre and bumps the hall's reference-data version, which
  windows pull;
- ``verify``: recompute every window's evaluation hash chain.

``--url`` defaults to the config's ``store.central_url``; ``--hall`` to
``hall.code``. The first staff member of a hall is added without ``--staff``
and must be an administrator; so may one be while the hall has no active
administrator (a hall that locked itself out gets back in).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hallapp.cli.common import (
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    CommandRefused,
    checked_central_url,
    command_group,
)

log = logging.getLogger(__name__)

PASSWORD_ENV = "HALLAPP_PASSWORD"
NEW_PASSWORD_ENV = "HALLAPP_NEW_PASSWORD"
# Hall-wide settings the centre authors (the rest of the config is per window).
# The report definitions and follow-up limits are the hall's too: every
# supervisor's figures and every window's follow-up dates must agree.
CENTRAL_SETTING_SECTIONS = ("hall", "intake", "reports", "follow_up")


class _Refused(Exception):
    """A message for the user; exit code attached."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(subparsers, "central", "中心库：建立、基础数据维护、评价链核验")

    def add(
        name: str,
        help_text: str,
        func: Callable[[argparse.Namespace], int],
        parent: Any = None,
        *,
        actor: bool = True,
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = (parent or sub).add_parser(name, help=help_text)
        p.add_argument(
            "--url",
            metavar="URL",
            help="中心库地址（SQLAlchemy URL）；默认配置文件中的 central_url",
        )
        p.add_argument("--hall", metavar="CODE", help="大厅代码；默认配置文件中的 hall.code")
        if actor:
            p.add_argument(
                "--staff",
                metavar="STAFF_NO",
                help=f"操作人工号（监督管理人员或系统管理员），密码取自 {PASSWORD_ENV} 或提示输入",
            )
        p.set_defaults(func=lambda a: _run(func, a))
        return p

    add("init", "建立或升级中心库", _init, actor=False)
    add("verify", "核验各窗口评价记录的哈希链", _verify, actor=False)

    _, cat = command_group(sub, "catalog", "事项清单")
    imp = add("import", "导入事项清单到中心库（各窗口下次同步时更新）", _catalog_import, cat)
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--deactivate-missing", action="store_true", help="停用文件中没有的事项")

    _, staff = command_group(sub, "staff", "工作人员")
    sa = add("add", "新增工作人员（密码取自 HALLAPP_NEW_PASSWORD 或提示输入）", _staff_add, staff)
    sa.add_argument("staff_no", metavar="STAFF_NO")
    sa.add_argument("--name", required=True)
    sa.add_argument("--department", required=True, metavar="CODE")
    sa.add_argument(
        "--role",
        default="clerk",
        choices=["clerk", "supervisor", "administrator", "back_office", "agent"],
        help="clerk 窗口工作人员（默认）、supervisor 监督管理人员、administrator 系统管理员、"
        "back_office 部门后台审批人员（并联审批）、agent 重点项目代办员",
    )
    sa.add_argument("--title", default="")
    sa.add_argument("--phone", default="")
    sa.add_argument("--photo", metavar="FILE", help="照片（PNG 或 JPEG）")
    sa.add_argument("--commitments", default="", help="服务承诺，每行一条")
    sd = add("disable", "停用工作人员（各窗口下次同步后不能再登录）", _staff_disable, staff)
    sd.add_argument("staff_no", metavar="STAFF_NO")
    se = add("enable", "恢复已停用的工作人员（各窗口下次同步后可以登录）", _staff_enable, staff)
    se.add_argument("staff_no", metavar="STAFF_NO")
    sr = add("reset-password", "重置工作人员密码", _staff_reset, staff)
    sr.add_argument("staff_no", metavar="STAFF_NO")
    add("list", "列出工作人员", _staff_list, staff, actor=False)

    win_parser = add("windows", "列出窗口；windows add 新增或修改窗口", _windows_list, actor=False)
    wsub = win_parser.add_subparsers(dest="windows_command", metavar="ACTION")
    wa = add("add", "新增或修改窗口", _windows_add, wsub)
    wa.add_argument("code", metavar="CODE")
    wa.add_argument("--name", required=True)
    wa.add_argument(
        "--department",
        required=True,
        action="append",
        metavar="CODE",
        help="进驻部门编码；综合窗口重复本参数，第一个为窗口所属部门",
    )
    wa.add_argument("--inactive", action="store_true", help="停用该窗口")

    dep_parser = add(
        "departments", "列出进驻部门；departments add 新增或修改", _departments_list, actor=False
    )
    dsub = dep_parser.add_subparsers(dest="departments_command", metavar="ACTION")
    da = add("add", "新增或修改进驻部门", _departments_add, dsub)
    da.add_argument("code", metavar="CODE")
    da.add_argument("--name", required=True)
    da.add_argument("--phone", default="")
    da.add_argument("--address", default="")
    da.add_argument("--duties", default="")

    _, wd = command_group(sub, "workdays", "放假安排")
    wl = add("load", "载入一年的放假安排到中心库", _workdays_load, wd)
    wl.add_argument("file", metavar="FILE")
    add("list", "列出中心库中载入的放假安排（年份、载入人、时间）", _workdays_list, wd, actor=False)

    set_parser = add(
        "settings", "列出大厅设置；settings set KEY VALUE 修改", _settings_list, actor=False
    )
    ssub = set_parser.add_subparsers(dest="settings_command", metavar="ACTION")
    ss = add("set", "修改大厅设置，例如 hall.complaint_hotline 12345", _settings_set, ssub)
    ss.add_argument("key", metavar="KEY")
    ss.add_argument("value", metavar="VALUE")


# ---------------------------------------------------------------------- plumbing


def _url(args: argparse.Namespace, *, create: bool = False) -> str:
    from hallapp.config import load_config

    url = args.url or str(load_config(getattr(args, "config", None)).get("store.central_url"))
    if not url:
        raise _Refused(
            "请用 --url 给出中心库地址，或在配置文件 [store] 中设置 central_url", EXIT_USAGE
        )
    from hallapp.sync.run import with_password

    args.resolved_url = with_password(checked_central_url(url, create=create))
    return str(args.resolved_url)


def _hall(args: argparse.Namespace) -> str:
    import unicodedata

    from hallapp.config import load_config

    # NFKC: ＬＣ typed with the IME is LC.
    hall = unicodedata.normalize(
        "NFKC", args.hall or load_config(getattr(args, "config", None)).hall_code
    ).strip()
    if not (hall.isascii() and hall.isalnum() and 1 <= len(hall) <= 8):
        raise _Refused(f"大厅代码 {hall!r} 无效：应为 1–8 位字母或数字", EXIT_USAGE)
    return hall


def _password(prompt: str, env: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise _Refused(
            f"需要密码：请设置环境变量 {env}，或在终端中运行以便输入",
            EXIT_DENIED if env == PASSWORD_ENV else EXIT_USAGE,
        )
    value = getpass.getpass(prompt)
    if confirm and getpass.getpass("再次输入：") != value:
        raise _Refused("两次输入的密码不一致", EXIT_USAGE)
    return value


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.dberrors import store_error
    from hallapp.sync import CentreUnreachable, SyncError
    from hallapp.sync.authoring import NotAllowed
    from hallapp.sync.centre import shown_url_safe

    try:
        return func(args)
    except (_Refused, CommandRefused) as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except NotAllowed as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_DENIED
    except CentreUnreachable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_STORE
    except SyncError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except SQLAlchemyError as exc:
        # The class and the traceback go to the log; the user is told what
        # is wrong with the store (unreachable, no such database, locked…).
        url = getattr(args, "resolved_url", None)
        log.exception("central command failed on %s", shown_url_safe(url) if url else "?")
        # The advice is the local store's; a central store is made by central init.
        text = str(store_error(exc, url)).replace("hallapp db upgrade", "hallapp central init")
        print(text, file=sys.stderr)
        return EXIT_STORE


def _engine(args: argparse.Namespace) -> Any:
    from hallapp.migrations import HEAD
    from hallapp.sync.centre import central_engine, central_revision, shown_url

    engine = central_engine(_url(args))
    with engine.connect() as conn:
        revision = central_revision(conn)
    if revision != HEAD:
        engine.dispose()
        raise _Refused(
            f"中心库 {shown_url(engine)} 的结构版本为 {revision or '未建立'}，本程序为 {HEAD}："
            "请先运行 hallapp central init --url …"
        )
    return engine


def _actor(args: argparse.Namespace, engine: Any, hall: str) -> Any:
    from hallapp.sync.authoring import check_actor

    if not args.staff:
        raise _Refused(
            "此操作会更改中心库的基础数据，需要监督管理人员或系统管理员确认身份："
            f"请加上 --staff 工号，并输入密码（或设置环境变量 {PASSWORD_ENV}）",
            EXIT_DENIED,
        )
    return check_actor(
        engine, hall, args.staff, _password(f"工号 {args.staff} 的密码：", PASSWORD_ENV)
    )


def _change(
    args: argparse.Namespace,
    action: str,
    edit: Callable[[Any, Any], Any],
    *,
    target: str = "",
    bootstrap: bool | str = False,
) -> tuple[Any, Any]:
    """Check who acts, then run ``edit(session, actor)`` as one central change.

    ``bootstrap``: allowed without ``--staff`` while the hall has no staff
    at all (setting up a new hall: its departments and first administrator);
    ``"administrator"``: while it has no active administrator (adding one).
    """
    from hallapp.sync.authoring import change_reference, hall_has_administrator, hall_has_staff
    from hallapp.sync.centre import Actor

    hall = _hall(args)
    engine = _engine(args)
    try:
        no_staff = not args.staff and not hall_has_staff(engine, hall)
        if (
            bootstrap
            and not args.staff
            and (
                no_staff
                or (bootstrap == "administrator" and not hall_has_administrator(engine, hall))
            )
        ):
            actor = Actor(staff_no="(建库)", role="administrator")
        else:
            actor = _actor(args, engine, hall)
        return change_reference(
            engine, hall, actor, action, lambda s: edit(s, actor), target=target
        )
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- commands


def _init(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.dberrors import DbProblem, classify_db_error
    from hallapp.sync.centre import central_engine, central_revision, init_central, shown_url
    from hallapp.sync.schema import LOCAL_ONLY_TABLES

    url = _url(args, create=True)
    engine = central_engine(url)
    try:
        try:
            with engine.connect() as conn:
                before = central_revision(conn)
                tables = set(inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            if engine.dialect.name != "postgresql" or classify_db_error(exc) != DbProblem.MISSING:
                raise
            _create_pg_database(url)
            before, tables = None, set()
    finally:
        engine.dispose()
    if before is None and tables & set(LOCAL_ONLY_TABLES):
        # A window's own file (its numbering and sync cursors): made central,
        # it would number no case again. The centre is a database of its own.
        raise _Refused(
            f"{shown_url(url)} 是窗口的本地数据库，不能用作中心库，未作任何改动。"
            "中心库请另建：一个新的 SQLite 文件或 PostgreSQL 数据库",
            EXIT_INVALID,
        )
    revision = init_central(url)
    if before is None:
        done = f"中心库已建立（结构版本 {revision}）"
    elif before != revision:
        done = f"中心库已升级（结构版本 {before} → {revision}）"
    else:
        done = f"中心库已是最新结构（结构版本 {revision}）"
    print(f"{done}：{shown_url(url)}")
    return EXIT_OK


def _create_pg_database(url: str) -> None:
    """Create the central PostgreSQL database ``url`` names (`central init`
    creates or upgrades), through the server's maintenance database."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.sync.centre import central_engine, shown_url

    u = sa.engine.make_url(url)
    name = str(u.database or "")
    admin = central_engine(u.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        log.warning("cannot create central database %s: %s", shown_url(url), reason)
        raise _Refused(
            f"中心库 {shown_url(url)} 不存在，本程序也无法建立它（该用户可能没有建库权限）。"
            f"请数据库管理员先执行 createdb -h {u.host or '主机'} "
            f"-U {u.username or '用户'} {name}，"
            "再运行 hallapp central init",
            EXIT_STORE,
        ) from None
    finally:
        admin.dispose()
    log.info("created central database %s", shown_url(url))
    print(f"已建立数据库 {name}")


def _verify(args: argparse.Namespace) -> int:
    from hallapp.sync.authoring import hall_exists
    from hallapp.sync.verify import verify_central

    engine = _engine(args)
    try:
        hall = _hall(args) if args.hall else None
        if hall and not hall_exists(engine, hall) and hall_exists(engine, hall.upper()):
            hall = hall.upper()  # lc is LC, as `report --hall` reads it
        if hall and not hall_exists(engine, hall):
            # "核验通过：0 个窗口" for a mistyped hall would read as a clean chain.
            raise _Refused(f"中心库中没有大厅 {args.hall}，请核对 --hall", EXIT_USAGE)
        report = verify_central(engine, hall_code=hall)
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    if report.faults:
        print(
            f"评价链核验发现 {len(report.faults)} 处异常（{report.chains} 个窗口，"
            f"{report.records} 条评价）",
            file=sys.stderr,
        )
        return EXIT_INVALID
    print(f"评价链核验通过：{report.chains} 个窗口，{report.records} 条评价，无缺失、错序或改动")
    return EXIT_OK


def _catalog_import(args: argparse.Namespace) -> int:
    from hallapp.catalog import CatalogError, import_catalog

    path = Path(args.file)
    if path.is_dir():
        raise _Refused(f"{path} 是文件夹，请给出其中的事项清单文件（.xlsx 或 .toml）", EXIT_USAGE)
    if not path.is_file():
        raise _Refused(f"找不到文件 {path}", EXIT_USAGE)
    try:
        summary, change = _change(
            args,
            "catalog.import",
            lambda s, _actor: import_catalog(s, path, deactivate_missing=args.deactivate_missing),
            target=path.name,
        )
    except CatalogError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_INVALID
    print(summary.text())
    if change.upserted or change.deleted:
        print(f"中心库基础数据版本 {change.version}（写入 {change.upserted} 行）")
    else:
        print(f"事项清单与中心库相同，基础数据版本仍为 {change.version}，各窗口无需更新")
    return EXIT_OK


def _staff_add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hallapp.models import Department, Role, Staff
    from hallapp.security import hash_password
    from hallapp.staffing import (
        case_twin,
        commitments_problem,
        normal_phone,
        normal_staff_no,
        password_problem,
        person_problems,
        photo_problem,
        staff_no_problem,
    )

    # The rules of a local `hallapp staff add`: a number sign-in can match
    # (NFKC, as sign-in reads what is typed), a name that reads as it is.
    args.staff_no = normal_staff_no(args.staff_no)
    args.commitments = args.commitments.replace("\\n", "\n")
    found = [
        staff_no_problem(args.staff_no),
        *person_problems(args.name, args.title, args.phone),
        commitments_problem(args.commitments),
    ]
    photo: bytes | None = None
    if args.photo:
        try:
            photo = Path(args.photo).read_bytes()
        except OSError as exc:
            log.warning("photo %s cannot be read: %s", args.photo, exc)
            found.append(f"照片文件 {args.photo} 无法读取：{exc.strerror or exc}")
        else:
            # The help promises PNG or JPEG; 20 MB of anything would go to every window.
            found.append(photo_problem(photo))
    if problems := [p for p in found if p]:
        raise _Refused("；".join(problems))
    args.name, args.title = args.name.strip(), args.title.strip()
    args.phone = normal_phone(args.phone)
    password = _password(f"工号 {args.staff_no} 的新密码：", NEW_PASSWORD_ENV, confirm=True)
    if bad_password := password_problem(password):
        raise _Refused(bad_password)

    def edit(s: Any, actor: Any) -> None:
        _staff_administrator(actor)
        if actor.staff_no == "(建库)" and args.role != "administrator":
            raise _Refused(
                "本大厅还没有在用的系统管理员：不带 --staff 只能新增系统管理员"
                "（--role administrator）"
            )
        if s.get(Department, args.department) is None:
            raise _Refused(
                f"部门 {args.department} 不存在：请先运行 hallapp central departments add"
            )
        if s.scalar(select(Staff).where(Staff.staff_no == args.staff_no)) is not None:
            raise _Refused(f"工号 {args.staff_no} 已存在")
        if twin := case_twin(s, Staff.staff_no, args.staff_no):
            raise _Refused(
                f"工号 {args.staff_no} 与已有的工号 {twin} 只有大小写不同，容易认错人，请换一个"
            )
        s.add(
            Staff(
                staff_no=args.staff_no,
                name=args.name,
                department_code=args.department,
                role=Role(args.role),
                title=args.title,
                phone=args.phone,
                password_hash=hash_password(password),
                photo=photo,
                commitments=args.commitments,
            )
        )

    _, change = _change(args, "staff.add", edit, target=args.staff_no, bootstrap="administrator")
    print(f"已新增工作人员 {args.staff_no} {args.name}（基础数据版本 {change.version}）")
    return EXIT_OK


def _staff_administrator(actor: Any) -> None:
    """Staff changes are an administrator's, as on a hall without a centre
    (``hallapp staff add --by``): a supervisor who could add staff could make
    himself an administrator and then disable the hall's real one."""
    from hallapp.models import Role

    if actor.role != Role.ADMINISTRATOR.value:
        raise _Refused(
            f"工号 {actor.staff_no} 不是系统管理员：新增、停用、恢复工作人员和重置密码"
            "只能由本大厅的系统管理员操作",
            EXIT_DENIED,
        )


def _one_staff(s: Any, staff_no: str) -> Any:
    from sqlalchemy import select

    from hallapp.models import Staff
    from hallapp.staffing import normal_staff_no

    staff_no = normal_staff_no(staff_no)
    staff = s.scalar(select(Staff).where(Staff.staff_no == staff_no))
    if staff is None:
        raise _Refused(f"工号 {staff_no} 不存在")
    return staff


def _staff_disable(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from hallapp.models import Role, Staff

    def edit(s: Any, actor: Any) -> None:
        _staff_administrator(actor)
        staff = _one_staff(s, args.staff_no)
        if staff.staff_no == actor.staff_no:
            raise _Refused(
                f"不能停用自己（工号 {actor.staff_no}）：请由本大厅另一位系统管理员操作",
                EXIT_DENIED,
            )
        if not staff.active:
            raise _Refused(f"工号 {staff.staff_no} 已是停用状态")

        def others(role: Role) -> int:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Staff)
                    .where(
                        Staff.role == role,
                        Staff.active.is_(True),
                        Staff.staff_no != staff.staff_no,
                    )
                )
                or 0
            )

        if staff.role == Role.ADMINISTRATOR and not others(Role.ADMINISTRATOR):
            raise _Refused(
                f"工号 {staff.staff_no} 是本大厅唯一在用的系统管理员，停用后无人能维护基础数据："
                "请先新增另一位系统管理员（hallapp central staff add … --role administrator）",
                EXIT_DENIED,
            )
        if staff.role == Role.SUPERVISOR and not others(Role.SUPERVISOR):
            # Without a supervisor nobody verifies and closes 差评, reviews an
            # appeal or publishes the month (seed 000 §五): the hall's
            # accountability would stop without anyone noticing.
            raise _Refused(
                f"工号 {staff.staff_no} 是本大厅唯一在用的监督管理人员，停用后无人核实整改差评、"
                "审核申诉和发布月度公示：请先新增另一位监督管理人员"
                "（hallapp central staff add … --role supervisor），再停用该工号",
                EXIT_DENIED,
            )
        staff.active = False

    _, change = _change(args, "staff.disable", edit, target=args.staff_no)
    print(
        f"已停用工作人员 {args.staff_no}：各窗口下次同步后不能再登录"
        f"（基础数据版本 {change.version}）"
    )
    return EXIT_OK


def _staff_enable(args: argparse.Namespace) -> int:
    def edit(s: Any, actor: Any) -> None:
        _staff_administrator(actor)
        staff = _one_staff(s, args.staff_no)
        if staff.active:
            raise _Refused(f"工号 {staff.staff_no} 在用，无需恢复")
        staff.active = True

    _, change = _change(args, "staff.enable", edit, target=args.staff_no)
    print(
        f"已恢复工作人员 {args.staff_no}：各窗口下次同步后可以登录（基础数据版本 {change.version}）"
    )
    return EXIT_OK


def _staff_reset(args: argparse.Namespace) -> int:
    from hallapp.security import hash_password
    from hallapp.staffing import password_problem

    password = _password(f"工号 {args.staff_no} 的新密码：", NEW_PASSWORD_ENV, confirm=True)
    if bad_password := password_problem(password):
        raise _Refused(bad_password)

    def edit(s: Any, actor: Any) -> None:
        _staff_administrator(actor)
        _one_staff(s, args.staff_no).password_hash = hash_password(password)

    _, change = _change(args, "staff.reset_password", edit, target=args.staff_no)
    print(f"已重置工号 {args.staff_no} 的密码（基础数据版本 {change.version}）")
    return EXIT_OK


def _shown(value: Any) -> str:
    from hallapp.models import ROLE_TITLES

    if value is None:
        return ""
    if isinstance(value, bool):
        return "在用" if value else "已停用"
    return ROLE_TITLES.get(str(value), str(value))


def _rows(args: argparse.Namespace, table: str, columns: list[str]) -> tuple[str, list[Any]]:
    """The hall's rows of a central table; refuses a hall the centre knows nothing of."""
    from sqlalchemy import select

    from hallapp.sync.authoring import hall_exists
    from hallapp.sync.schema import HALL, central_table

    hall = _hall(args)
    engine = _engine(args)
    try:
        t = central_table(table)
        with engine.connect() as c:
            rows = list(
                c.execute(
                    select(*[t.c[n] for n in columns])
                    .where(t.c[HALL] == hall)
                    .order_by(t.c[columns[0]])
                ).all()
            )
        if not rows and not hall_exists(engine, hall):
            raise _Refused(f"中心库中没有大厅 {hall} 的任何数据：请检查大厅代码（--hall）")
    finally:
        engine.dispose()
    return hall, rows


def _list(
    args: argparse.Namespace, table: str, columns: list[str], *, readable: bool = False
) -> int:
    hall, rows = _rows(args, table, columns)
    for row in rows:
        # ``readable``: roles and the active flag as people read them, not as stored.
        print("\t".join(_shown(v) if readable else "" if v is None else str(v) for v in row))
    print(f"（大厅 {hall}，共 {len(rows)} 条）", file=sys.stderr)
    return EXIT_OK


def _staff_list(args: argparse.Namespace) -> int:
    return _list(
        args, "staff", ["staff_no", "name", "role", "department_code", "active"], readable=True
    )


def _windows_list(args: argparse.Namespace) -> int:
    return _list(args, "windows", ["code", "name", "department_code", "active"], readable=True)


def _departments_list(args: argparse.Namespace) -> int:
    return _list(args, "departments", ["code", "name", "phone"])


def _windows_add(args: argparse.Namespace) -> int:
    from hallapp.models import Department

    code = unicodedata.normalize("NFKC", args.code.strip()).upper()  # Ａ０８ is A08
    if not (code.isascii() and code.isalnum() and 1 <= len(code) <= 8):
        raise _Refused(f"窗口编号 {code!r} 无效：应为 1–8 位字母或数字，例如 A05", EXIT_USAGE)

    departments = [d.strip() for d in args.department]
    served: list[str] = []

    def edit(s: Any, _actor: Any) -> None:
        from hallapp.windows import WindowSetupError, set_window

        missing = [d for d in departments if s.get(Department, d) is None]
        if missing:
            raise _Refused(
                f"部门 {'、'.join(missing)} 不存在：请先运行 hallapp central departments add"
            )
        try:
            window, _created = set_window(
                s, code, args.name, departments, active=not args.inactive
            )
        except WindowSetupError as exc:
            raise _Refused(str(exc)) from None
        served[:] = [wd.department_code for wd in window.served]

    _, change = _change(args, "window.save", edit, target=code)
    kind = "综合窗口" if len(served) > 1 else "窗口"
    print(f"已保存{kind} {code} {args.name.strip()}，进驻部门：{'、'.join(served)}"
          f"（基础数据版本 {change.version}）")
    return EXIT_OK


def _departments_add(args: argparse.Namespace) -> int:
    from hallapp.codes import CodeError, normalize_code
    from hallapp.models import Department
    from hallapp.staffing import case_twin, name_problem

    try:
        # As a catalog's 部门编码 (NFKC: ＺＪＪ is ZJJ), no hidden or blank character.
        code = normalize_code(args.code, what="部门编码")
    except CodeError as exc:
        raise _Refused(str(exc), EXIT_USAGE) from None
    if not code or len(code) > 32:
        raise _Refused("部门代码应为 1–32 个字符", EXIT_USAGE)
    if problem := name_problem(args.name, "部门名称", 100):
        raise _Refused(problem, EXIT_USAGE)

    def edit(s: Any, _actor: Any) -> str | None:
        if twin := case_twin(s, Department.code, code):
            raise _Refused(
                f"已有部门 {twin}，与 {code} 只有大小写不同：修改该部门请写 {twin}，"
                "新部门请换一个编码", EXIT_USAGE,
            )  # fmt: skip
        d = s.get(Department, code)
        before = d.name if d is not None else None
        d = d or Department(code=code)
        d.name, d.phone, d.address, d.duties = args.name, args.phone, args.address, args.duties
        s.add(d)
        return before

    before, change = _change(args, "department.save", edit, target=code, bootstrap=True)
    if before is not None and before != args.name:
        # ＺＪＪ is ZJJ (NFKC): "add" changed an existing department; say so.
        print(f"已修改部门 {code}：名称 {before} → {args.name}（基础数据版本 {change.version}）")
        return EXIT_OK
    print(f"已保存部门 {code} {args.name}（基础数据版本 {change.version}）")
    return EXIT_OK


def _workdays_load(args: argparse.Namespace) -> int:
    from hallapp.cli.workdays import _read_text, _UsageError
    from hallapp.sync.authoring import scratch_staff
    from hallapp.sync.centre import Actor
    from hallapp.sync.schema import CENTRE_ORIGIN
    from hallapp.workdays import ScheduleError, load_schedule

    path = Path(args.file)
    try:
        # The same reading as a local `workdays load`: size, encoding, Chinese reasons.
        text = _read_text(args.file)
    except _UsageError as exc:
        raise _Refused(str(exc), EXIT_USAGE) from None

    def edit(s: Any, actor: Actor) -> Any:
        return load_schedule(s, text, scratch_staff(s, actor), window_code=CENTRE_ORIGIN)

    try:
        schedule, change = _change(args, "holiday_schedule.load", edit, target=path.name)
    except ScheduleError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    print(f"已载入 {schedule.year} 年放假安排（基础数据版本 {change.version}）")
    return EXIT_OK


def _workdays_list(args: argparse.Namespace) -> int:
    from hallapp.workdays import year_status

    hall, rows = _rows(
        args,
        "holiday_schedules",
        ["year", "loaded_by", "loaded_at", "override_of", "override_reason", "source_text"],
    )
    for row in rows:
        print(year_status(row).describe())
    if not rows:
        print("中心库中尚未载入放假安排：各窗口使用内置安排（chinese_calendar）")
    print(f"（大厅 {hall}，共 {len(rows)} 年）", file=sys.stderr)
    return EXIT_OK


def _settings_list(args: argparse.Namespace) -> int:
    return _list(args, "hall_settings", ["key", "value"])


def _settings_set(args: argparse.Namespace) -> int:
    from hallapp.config import SETTINGS, ConfigError, parse_config
    from hallapp.models import HallSetting

    key = args.key.strip()
    section = key.split(".")[0]
    # hall.code is not a setting at the centre: it is the key every row of
    # the hall is stored under (--hall), and a window taking another code
    # would number its cases for a hall it does not push to.
    known = {
        s.key: s
        for s in SETTINGS
        if s.key.split(".")[0] in CENTRAL_SETTING_SECTIONS and s.key != "hall.code"
    }
    if key == "hall.code":
        raise _Refused(
            "大厅代码是中心库中本大厅全部数据的键（--hall），不能作为大厅设置修改；"
            "各窗口的大厅代码在加入时（hallapp window join --hall …）确定"
        )
    if key not in known or section not in CENTRAL_SETTING_SECTIONS:
        raise _Refused(f"没有大厅设置 {key}。中心库可设置的大厅设置：{'、'.join(sorted(known))}")
    value: Any = args.value
    kind = known[key].type
    if kind is not str:
        # Numbers, lists and tables as JSON: 5, 1.5, [5, 4, 3], {"5": 10, …}.
        try:
            value = json.loads(value)
        except ValueError as exc:
            example = {
                int: "5",
                float: "1.5",
                list: "[5, 4, 3]",
                dict: '{"5": 10, "4": 8, "3": 6, "2": 3, "1": 0}',
            }.get(kind, "")
            raise _Refused(
                f"{key} 的值 {args.value!r} 不是 JSON，应写成例如 "
                f"hallapp central settings set {key} '{example}'"
            ) from exc
    try:
        parse_config({section: {key.split(".", 1)[1]: value}})
    except ConfigError as exc:
        # The config's message teaches the file's syntax (name = value); here
        # the example is the command itself.
        text = re.sub(
            r"(请(?:修)?改为例如) \S+ = (.+)$",
            lambda m: f"{m.group(1)} hallapp central settings set {key} {m.group(2)}",
            str(exc),
        )
        raise _Refused(text) from exc

    def edit(s: Any, _actor: Any) -> None:
        row = s.get(HallSetting, key) or HallSetting(key=key)
        row.value = value
        s.add(row)

    _, change = _change(args, "setting.set", edit, target=key)
    print(f"已设置 {key} = {value!r}（基础数据版本 {change.version}）")
    return EXIT_OK
