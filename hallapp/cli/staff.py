"""``hallapp staff`` and ``hallapp windows``: a hall without a centre registers its
people and windows on the window's own database (local only).

- ``staff add STAFF_NO NAME --department CODE [--role clerk|supervisor|administrator]``:
  on a new database with nobody in it, the first person must be an
  administrator (``--role administrator``; ``--department-name`` creates the
  hall's office when no catalog is imported yet). After that, an
  administrator signs for every addition with ``--by STAFF_NO`` and their
  password.
- ``staff list``;
- ``windows add CODE NAME --department CODE [--department CODE ...] --by STAFF_NO``:
  the first department is the window's own; several make a 综合窗口;
- ``windows list``.

Passwords are asked for on the terminal (never on the command line); with
``--password-stdin`` they are read from standard input, one a line: the new
person's first (``staff add``), then the administrator's.

A window joined to a centre gets its staff and windows from the centre
(``hallapp window join``); these commands are for a hall that has none.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Iterator

from hallapp.cli.common import (
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    PASSWORD_ENV,
    command_group,
    reference_edit_refusal,
    store_url,
)

log = logging.getLogger(__name__)

DB_HELP = "数据库地址（SQLAlchemy URL）；默认本窗口的本地数据库"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(
        subparsers, "staff", "工作人员：登记第一位系统管理员、新增和查看工作人员"
    )
    add = sub.add_parser("add", help="新增工作人员（新数据库上的第一位必须是系统管理员）")
    add.add_argument("staff_no", metavar="STAFF_NO", help="工号，例如 1003")
    add.add_argument("name", metavar="NAME", help="姓名")
    add.add_argument("--department", required=True, metavar="CODE", help="所属部门编码")
    add.add_argument(
        "--department-name",
        default="",
        metavar="NAME",
        help="部门不存在时一并新建（仅用于第一位管理员，例如 行政服务中心管理委员会）",
    )
    add.add_argument(
        "--role",
        default="clerk",
        choices=["clerk", "supervisor", "administrator"],
        help="clerk 窗口工作人员（默认）、supervisor 监督管理人员、administrator 系统管理员",
    )
    add.add_argument("--title", default="", help="职务，例如 窗口负责人")
    add.add_argument("--phone", default="", help="联系电话（显示在当班公示卡上）")
    add.add_argument("--by", metavar="STAFF_NO", help="操作的系统管理员工号（第一位管理员不需要）")
    add.add_argument("--password-stdin", action="store_true",
                     help="从标准输入读密码：第一行新人员的密码，第二行管理员的密码")  # fmt: skip
    add.add_argument("--db", metavar="URL", help=DB_HELP)
    add.set_defaults(func=_cmd_staff_add)

    ls = sub.add_parser("list", help="列出工作人员")
    ls.add_argument("--db", metavar="URL", help=DB_HELP)
    ls.set_defaults(func=_cmd_staff_list)

    _, wsub = command_group(
        subparsers, "windows", "窗口：登记窗口及其进驻部门（综合窗口可有多个部门）"
    )
    wadd = wsub.add_parser("add", help="登记或修改窗口")
    wadd.add_argument("code", metavar="CODE", help="窗口编号，例如 A03")
    wadd.add_argument("name", metavar="NAME", help="窗口名称，例如 企业开办窗口")
    wadd.add_argument("--department", action="append", required=True, metavar="CODE",
                      help="进驻部门编码；第一个为本窗口的部门，可重复（综合窗口）")  # fmt: skip
    wadd.add_argument("--by", required=True, metavar="STAFF_NO", help="操作的系统管理员工号")
    wadd.add_argument("--password-stdin", action="store_true", help="从标准输入读管理员密码")
    wadd.add_argument("--update", action="store_true",
                      help="窗口已登记时：改名或改进驻部门")  # fmt: skip
    wadd.add_argument("--db", metavar="URL", help=DB_HELP)
    wadd.set_defaults(func=_cmd_windows_add)

    wls = wsub.add_parser("list", help="列出窗口及其进驻部门")
    wls.add_argument("--db", metavar="URL", help=DB_HELP)
    wls.set_defaults(func=_cmd_windows_list)


def _passwords(args: argparse.Namespace) -> Iterator[str]:
    """The passwords as they are asked for, from stdin or the terminal."""
    if args.password_stdin:
        for line in sys.stdin:
            yield line.rstrip("\r\n")


def _ask(
    source: Iterator[str], prompt: str, *, stdin: bool, confirm: bool = False,
    env: str | None = None,
) -> str | None:  # fmt: skip
    """A password: from stdin (--password-stdin), from ``env`` (scripts, as
    every other command takes the administrator's), or at a hidden prompt."""
    if stdin:
        return next(source, None)
    if env and os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        # getpass would fall back to an echoing prompt with an English warning.
        print(f"{prompt.rstrip('：')}：没有终端可输入密码；请用 --password-stdin"
              + (f" 或环境变量 {env}" if env else ""), file=sys.stderr)  # fmt: skip
        return None
    try:
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("再输入一次：") != first:
            print("两次输入的密码不一致，未作更改", file=sys.stderr)
            return None
    except (EOFError, KeyboardInterrupt):
        return None
    return first


def _open(args: argparse.Namespace) -> object | None:
    from hallapp.store import Store, StoreError

    url = store_url(args, central_first=False)
    assert url is not None
    try:
        return Store.open(url)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return None


def _administrator(session: object, staff_no: str | None, password: str | None) -> object:
    """The signed administrator, or PermissionError with the reason in Chinese."""
    from sqlalchemy.orm import Session

    from hallapp.models import Role
    from hallapp.security import SignInError, authenticate

    assert isinstance(session, Session)
    if not staff_no:
        raise PermissionError("请用 --by 指明操作的系统管理员工号")
    if password is None:
        raise PermissionError("未输入管理员密码，未作更改")
    try:
        actor = authenticate(session, staff_no, password)
    except SignInError as exc:
        raise PermissionError(f"管理员身份核对失败：{exc}") from exc
    if Role(actor.role) is not Role.ADMINISTRATOR:
        raise PermissionError(f"工号 {staff_no} 不是系统管理员，不能登记工作人员和窗口")
    return actor


def _run(args: argparse.Namespace, work: Callable[[object, Iterator[str]], str]) -> int:
    from hallapp.staffing import StaffSetupError
    from hallapp.store import Store
    from hallapp.windows import WindowSetupError

    store = _open(args)
    if store is None:
        return EXIT_STORE
    assert isinstance(store, Store)
    source = _passwords(args)
    try:
        with store.session() as s:
            message = work(s, source)
    except (StaffSetupError, WindowSetupError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except PermissionError as exc:
        # No administrator's valid staff number and password: refused (README).
        print(str(exc), file=sys.stderr)
        return EXIT_DENIED
    finally:
        store.dispose()
    print(message)
    return EXIT_OK


def _cmd_staff_add(args: argparse.Namespace) -> int:
    from hallapp import audit
    from hallapp.config import load_config
    from hallapp.models import Role
    from hallapp.staffing import NewStaff, add_staff, create_first_administrator, has_staff

    if refusal := reference_edit_refusal(args, "hallapp central staff add …"):
        print(refusal, file=sys.stderr)
        return EXIT_DENIED
    role = Role(args.role)
    window = load_config(getattr(args, "config", None)).window_code

    def work(s: object, source: Iterator[str]) -> str:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        first = not has_staff(s)
        if first and role is not Role.ADMINISTRATOR:
            raise PermissionError(
                "数据库中还没有任何工作人员：请先登记第一位系统管理员（--role administrator），"
                "再由他登记窗口和其他工作人员"
            )
        password = _ask(source, f"{args.name} 的密码（至少 8 位）：", stdin=args.password_stdin,
                        confirm=True)  # fmt: skip
        if password is None:
            raise PermissionError("未输入密码，未作更改")
        if first:
            person = create_first_administrator(
                s, staff_no=args.staff_no, name=args.name, password=password,
                department_code=args.department, department_name=args.department_name,
            )  # fmt: skip
            audit.record(s, person, "staff.first_administrator", person.staff_no,
                         window_code=window)  # fmt: skip
            return (
                f"已登记第一位系统管理员：{person.name}（工号 {person.staff_no}）。\n"
                "下一步：导入事项清单（含进驻部门）hallapp catalog import 清单文件 "
                f"--staff {person.staff_no}；再登记窗口 hallapp windows add 窗口编号 窗口名称 "
                f"--department 部门编码 --by {person.staff_no}；再登记窗口工作人员 "
                f"hallapp staff add 工号 姓名 --department 部门编码 --phone 联系电话 "
                f"--by {person.staff_no}。系统管理员不在窗口当班。"
            )
        admin_password = _ask(source, f"管理员 {args.by} 的密码：", stdin=args.password_stdin,
                              env=PASSWORD_ENV)  # fmt: skip
        actor = _administrator(s, args.by, admin_password)
        person = add_staff(
            s,
            NewStaff(
                staff_no=args.staff_no,
                name=args.name,
                department_code=args.department,
                role=role,
                title=args.title,
                phone=args.phone,
            ),
            password,
        )
        from hallapp.models import Staff

        assert isinstance(actor, Staff)
        detail = {"role": role.value, "department": person.department_code}
        audit.record(s, actor, "staff.add", person.staff_no, detail, window_code=window)
        return (
            f"已登记{role.label}：{person.name}"
            f"（工号 {person.staff_no}，部门 {person.department_code}）"
        )

    return _run(args, work)


def _cmd_staff_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hallapp.models import Role, Staff

    def work(s: object, _source: Iterator[str]) -> str:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        rows = s.scalars(select(Staff).order_by(Staff.staff_no)).all()
        if not rows:
            return (
                "还没有任何工作人员。加入中心：hallapp window join；没有中心的大厅："
                "hallapp staff add 工号 姓名 --department 部门编码 --role administrator"
            )
        return "\n".join(
            f"{p.staff_no}\t{p.name}\t{Role(p.role).label}\t{p.department_code}"
            + ("" if p.active else "\t（已停用）")
            for p in rows
        )

    return _run(args, work)


def _cmd_windows_add(args: argparse.Namespace) -> int:
    from hallapp import audit
    from hallapp.config import load_config
    from hallapp.models import Staff
    from hallapp.windows import set_window

    if refusal := reference_edit_refusal(args, "hallapp central windows add …"):
        print(refusal, file=sys.stderr)
        return EXIT_DENIED
    window_code = load_config(getattr(args, "config", None)).window_code

    def work(s: object, source: Iterator[str]) -> str:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        from hallapp.models import Window
        from hallapp.windows import WindowSetupError

        known = s.get(Window, args.code.strip())
        if known is not None and known.name != args.name.strip() and not args.update:
            # One typo in the code would rename a window in service.
            raise WindowSetupError(
                f"窗口 {known.code} 已登记为“{known.name}”。如确要改名为“{args.name.strip()}”"
                "或改进驻部门，请加 --update 再运行"
            )
        password = _ask(source, f"管理员 {args.by} 的密码：", stdin=args.password_stdin,
                        env=PASSWORD_ENV)  # fmt: skip
        actor = _administrator(s, args.by, password)
        assert isinstance(actor, Staff)
        window, created = set_window(s, args.code, args.name, args.department)
        audit.record(s, actor, "windows.add" if created else "windows.change", window.code,
                     {"departments": window.served_codes()}, window_code=window_code)  # fmt: skip
        kind = "综合窗口" if window.is_combined else "窗口"
        verb = "已登记" if created else "已修改"
        served = "、".join(window.served_codes())
        return f"{verb}{kind} {window.code} {window.name}，进驻部门：{served}"

    return _run(args, work)


def _cmd_windows_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from hallapp.models import Window

    def work(s: object, _source: Iterator[str]) -> str:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        rows = s.scalars(select(Window).order_by(Window.code)).all()
        if not rows:
            return (
                "还没有登记窗口："
                "hallapp windows add 窗口编号 窗口名称 --department 部门编码 --by 管理员工号"
            )
        return "\n".join(
            f"{w.code}\t{w.name}\t{'、'.join(w.served_codes())}"
            + ("\t综合窗口" if w.is_combined else "")
            + ("" if w.active else "\t（已停用）")
            for w in rows
        )

    return _run(args, work)
