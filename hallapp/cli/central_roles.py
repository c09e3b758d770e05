"""``hallapp central grant-window | grant-supervisor | grant-back-office | grant-agent |
revoke-login``: logins.

On a PostgreSQL central store (hallapp.sync.roles): a login for one window
that adds facts of its own hall and window and reads reference data, a
supervisors' login, and taking one back. The administrator runs these with
the central store's owner URL (``--url``, else ``store.central_url``).

The new login's password comes from an environment variable
(``--password-env NAME``), a file (``--password-file FILE``, its first line),
or is generated and written as a pgpass line (``--pgpass FILE``, mode 600) to
copy onto the window's PC. It is never printed, logged or sent to the server
(only its SCRAM verifier is).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

from hallapp.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    CommandRefused,
    checked_central_url,
    command_group,
)

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The `central` group is hallapp.cli.central's; join it when it is there.
    parser = subparsers.choices.get("central")
    if parser is None:
        _, sub = command_group(subparsers, "central", "中心库：建立、参考数据、登录权限")
    else:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    add_role_commands(sub)


def _password_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--password-env", metavar="NAME", help="从这个环境变量读取口令")
    g.add_argument("--password-file", metavar="FILE", help="从这个文件的第一行读取口令")
    p.add_argument(
        "--pgpass",
        metavar="FILE",
        help="把登录写成 pgpass 文件的一行（权限 600）；未给口令时自动生成随机口令",
    )
    p.add_argument(
        "--url", metavar="URL", help="中心库地址（所有者账号）；默认配置中的 store.central_url"
    )


def add_role_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gw = sub.add_parser(
        "grant-window", help="为一个窗口发放中心库登录：只能新增本大厅本窗口的记录、读取参考数据"
    )
    gw.add_argument("--hall", required=True, help="大厅代码，例如 LC")
    gw.add_argument("--window", required=True, help="窗口编号，例如 A05")
    gw.add_argument("--login", help="登录名；默认 <中心库名>_<大厅>_<窗口>")
    _password_options(gw)
    gw.set_defaults(func=_cmd_grant_window)

    gs = sub.add_parser(
        "grant-supervisor", help="发放监督管理人员的中心库登录：查询，并记录跟踪处理"
    )
    gs.add_argument("--login", required=True, help="登录名，例如 lc_supervisor")
    gs.add_argument("--hall", help="只看这个大厅；不填则可看全部大厅（县、市、省级）")
    _password_options(gs)
    gs.set_defaults(func=_cmd_grant_supervisor)

    gb = sub.add_parser(
        "grant-back-office",
        help="为一个部门的后台发放中心库登录：只能查看、办理分送本部门的并联审批子件",
    )
    gb.add_argument("--hall", required=True, help="大厅代码，例如 LC")
    gb.add_argument("--department", required=True, help="部门编码，例如 SCJ")
    gb.add_argument("--login", help="登录名；默认 <中心库名>_<大厅>_bo_<部门>")
    _password_options(gb)
    gb.set_defaults(func=_cmd_grant_back_office)

    ga = sub.add_parser(
        "grant-agent", help="发放重点项目代办员的中心库登录：只看、只写本人代办的项目"
    )
    ga.add_argument("staff_no", help="代办员工号（中心库中角色为 agent）")
    ga.add_argument("--login", required=True, help="登录名，例如 lc_agent_8001")
    ga.add_argument("--hall", required=True, help="大厅代码")
    _password_options(ga)
    ga.set_defaults(func=lambda a: _run(a, "agent"))

    rv = sub.add_parser("revoke-login", help="收回一个中心库登录")
    rv.add_argument("login", help="登录名")
    rv.add_argument(
        "--url", metavar="URL", help="中心库地址（所有者账号）；默认配置中的 store.central_url"
    )
    rv.set_defaults(func=_cmd_revoke)


class _Refused(Exception):
    """A bad option; the message is for the user."""


def _central_url(args: argparse.Namespace) -> str:
    from hallapp.config import load_config

    url = str(args.url or load_config(getattr(args, "config", None)).get("store.central_url"))
    if not url:
        raise _Refused("没有中心库地址：请用 --url 指定，或在配置文件的 [store] central_url 中设置")
    if url.startswith("sqlite"):
        # No SQLite centre has logins: that is what to say (roles.py refuses
        # it before connecting), not that the file is missing.
        return url
    return checked_central_url(url)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password, and whether it was generated here."""
    if args.password_env:
        value = os.environ.get(args.password_env, "")
        if not value:
            raise _Refused(f"环境变量 {args.password_env} 没有设置或为空")
        return value, False
    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise _Refused(
                f"口令文件 {args.password_file} 不是 UTF-8 编码：请用记事本“另存为”UTF-8 后再试"
            ) from exc
        except OSError as exc:
            from hallapp.config import os_reason

            raise _Refused(f"无法读取口令文件 {args.password_file}：{os_reason(exc)}") from exc
        if not lines or not lines[0]:
            raise _Refused(f"口令文件 {args.password_file} 的第一行是空的")
        return lines[0], False
    if not args.pgpass:
        raise _Refused(
            "请给出口令来源：--password-env、--password-file，或用 --pgpass 写入自动生成的口令"
        )
    return secrets.token_urlsafe(24), True


def _write_pgpass(path: Path, line: str) -> None:
    """Add or replace this login's line; the file is readable by its owner only
    (libpq ignores a pgpass file that others can read)."""
    key = line.rsplit(":", 1)[0] + ":"
    kept: list[str] = []
    if path.exists():
        kept = [
            ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith(key)
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join([*kept, line]) + "\n")
    os.chmod(path, 0o600)


def _run(args: argparse.Namespace, kind: str) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

    from hallapp.sync.roles import (
        GrantError,
        grant_agent,
        grant_back_office,
        grant_supervisor,
        grant_window,
        login_url,
        pgpass_line,
    )

    try:
        url = _central_url(args)
        password, generated = _password(args)
    except CommandRefused as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except _Refused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        # hide_parameters: a failing statement's parameters never reach a message or the log.
        engine = create_engine(url, hide_parameters=True)
    except (ArgumentError, ValueError) as exc:
        print(f"中心库地址无效（{type(exc).__name__}）", file=sys.stderr)
        return EXIT_USAGE
    shown = engine.url.render_as_string(hide_password=True)
    try:
        if kind == "window":
            granted = grant_window(
                engine, args.hall, args.window, password, login=args.login or None
            )
            whom = f"大厅 {granted.hall_code} 窗口 {granted.window_code} "
        elif kind == "back_office":
            granted = grant_back_office(
                engine, args.hall, args.department, password, login=args.login or None
            )
            whom = f"大厅 {granted.hall_code} 部门 {args.department} 的后台"
        elif kind == "agent":
            granted = grant_agent(
                engine, args.login, password, hall_code=args.hall, staff_no=args.staff_no
            )
            whom = f"大厅 {granted.hall_code} 代办员 {args.staff_no} "
        else:
            granted = grant_supervisor(engine, args.login, password, hall_code=args.hall or None)
            whom = f"监督管理人员（{granted.hall_code or '全部大厅'}）"
    except GrantError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except OperationalError as exc:
        log.error("central roles: cannot reach %s: %s", shown, _first_line(exc))
        print(f"无法连接中心库 {shown}：{_first_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except SQLAlchemyError as exc:
        # Only the server's message: the statement may carry the password's verifier.
        log.error("central roles: %s refused on %s: %s", kind, shown, _first_line(exc))
        if _permission_denied(exc):
            print(_owner_needed(engine.url.username, f"grant-{kind}"), file=sys.stderr)
            return EXIT_STORE
        print(f"中心库拒绝了操作：{_first_line(exc)}（详见日志）", file=sys.stderr)
        return EXIT_INVALID
    finally:
        engine.dispose()
    print(f"已为{whom}发放中心库登录 {granted.login}")
    print(f"连接地址：{login_url(url, granted.login)}")
    if args.pgpass:
        path = Path(args.pgpass)
        try:
            _write_pgpass(path, pgpass_line(url, granted.login, password))
        except OSError as exc:
            print(f"无法写入 pgpass 文件 {path}：{type(exc).__name__}", file=sys.stderr)
            return EXIT_INVALID
        note = "（自动生成）" if generated else ""
        print(f"口令{note}已写入 {path}（权限 600）：复制到该电脑，设置 PGPASSFILE 指向它")
    return EXIT_OK


def _permission_denied(exc: BaseException) -> bool:
    """PostgreSQL's insufficient_privilege (42501): the login is not the store's owner."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42501" or "permission denied" in str(orig)


def _owner_needed(user: str | None, command: str) -> str:
    return (
        f"登录 {user or '（未指定）'} 没有权限建立或修改中心库登录：hallapp central {command} "
        "须用中心库所有者的登录运行（即运行 hallapp central init 的那个登录），例如 "
        "--url postgresql+psycopg://所有者@主机:5432/库名"
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return (text.splitlines()[0] if text else type(orig).__name__)[:300]


def _cmd_grant_window(args: argparse.Namespace) -> int:
    return _run(args, "window")


def _cmd_grant_supervisor(args: argparse.Namespace) -> int:
    return _run(args, "supervisor")


def _cmd_grant_back_office(args: argparse.Namespace) -> int:
    return _run(args, "back_office")


def _cmd_revoke(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.sync.roles import GrantError, revoke_login

    try:
        url = _central_url(args)
    except CommandRefused as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    except _Refused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    engine = create_engine(url, hide_parameters=True)
    try:
        done = revoke_login(engine, args.login)
    except GrantError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except SQLAlchemyError as exc:
        log.error("central roles: revoke %s failed: %s", args.login, _first_line(exc))
        if _permission_denied(exc):
            print(_owner_needed(engine.url.username, "revoke-login"), file=sys.stderr)
            return EXIT_STORE
        if "depend on it" in str(exc):
            # DROP OWNED runs in the centre's database only: objects the login
            # made in another database of the server (a copy of the centre)
            # keep it alive.
            print(
                f"收回登录失败：登录 {args.login} 在本服务器的其他数据库中还拥有对象"
                "（例如中心库的副本或备份库）。请数据库管理员在那些数据库中执行 "
                f'DROP OWNED BY "{args.login}";，再运行本命令（中心库原文：{_first_line(exc)}）',
                file=sys.stderr,
            )
            return EXIT_STORE
        print(f"收回登录失败：{_first_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        engine.dispose()
    if not done:
        print(f"本中心库没有发放过登录 {args.login}", file=sys.stderr)
        return EXIT_INVALID
    print(f"已收回中心库登录 {args.login}")
    return EXIT_OK
