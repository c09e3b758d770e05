"""``hallapp sync`` and ``hallapp window join``: this window and the central store.

- ``sync [--central URL]``: one pass (push every pending fact, pull reference
  data and the facts written centrally for this window); exit 0 with a
  one-line summary, 1 with the reason in Chinese;
- ``window join --central URL --hall LC --window A05``: a brand-new window
  pulls the hall's reference data and is ready to sign in.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    sync = subparsers.add_parser("sync", help="与中心库同步一次：上传本窗口记录，下载基础数据")
    sync.add_argument("--central", metavar="URL", help="中心库地址；默认配置文件或加入时的地址")
    sync.add_argument("--db", metavar="URL", help="本窗口数据库（默认本地数据库）")
    sync.set_defaults(func=_cmd_sync)

    _, sub = command_group(subparsers, "window", "本窗口：加入中心库")
    join = sub.add_parser("join", help="新窗口加入中心库：下载基础数据，之后即可登录")
    join.add_argument("--central", metavar="URL", required=True, help="中心库地址")
    join.add_argument("--hall", metavar="CODE", required=True, help="大厅代码，例如 LC")
    join.add_argument("--window", metavar="CODE", required=True, help="窗口编号，例如 A05")
    join.add_argument("--db", metavar="URL", help="本窗口数据库（默认本地数据库）")
    join.set_defaults(func=_cmd_join)


def _local_url(args: argparse.Namespace, window_code: str | None = None) -> str:
    from hallapp.config import load_config
    from hallapp.store import sqlite_url

    if args.db:
        return str(args.db)
    cfg = load_config(getattr(args, "config", None))
    path = cfg.local_db_path()
    if window_code and not str(cfg.get("store.local_path")):
        path = path.with_name(f"hallapp-{window_code}.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite_url(path)


def _cmd_sync(args: argparse.Namespace) -> int:
    from hallapp.config import load_config
    from hallapp.store import Store, StoreError
    from hallapp.sync import CentreUnreachable, SyncError
    from hallapp.sync.run import HALL_KEY, WINDOW_KEY, _state, attached_url, sync_once

    cfg = load_config(getattr(args, "config", None))
    try:
        store = Store.open(_local_url(args))
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_STORE  # the README: 3, the window's own database cannot be used
    try:
        url = args.central or str(cfg.get("store.central_url")) or attached_url(store)
        if not url:
            print(
                "本窗口尚未连接中心库：请用 hallapp window join --central URL --hall 大厅代码 "
                "--window 窗口编号 加入，或在配置文件 [store] 中设置 central_url",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            url = checked_central_url(url)
        except CommandRefused as exc:
            print(f"同步失败：{exc}", file=sys.stderr)
            return exc.code
        hall = _state(store, HALL_KEY) or cfg.hall_code
        window = _state(store, WINDOW_KEY) or cfg.window_code
        summary = _watched(
            lambda beat: sync_once(
                store,
                url,
                hall_code=hall,
                window_code=window,
                stall_seconds=float(cfg.get("store.sync_stall_seconds")),
                on_progress=beat,
            ),
            float(cfg.get("store.sync_stall_seconds")),
            url,
        )
    except SyncError as exc:
        log.warning("sync failed: %s", exc)
        print(f"同步失败：{exc}", file=sys.stderr)
        # 3: the server cannot be reached (the README's exit codes); 1: refused data.
        return EXIT_STORE if isinstance(exc, CentreUnreachable) else EXIT_INVALID
    finally:
        store.dispose()
    print(summary.line())
    return EXIT_OK


def _watched(run: Any, stall_seconds: float, url: str) -> Any:
    """``run(beat)`` on a thread of its own, ended if it hears nothing from the
    centre for ``stall_seconds`` (between start and a committed batch, or two
    batches). SQLite centres only: a PostgreSQL one is cut by the pass's own
    deadline, while a SQLite central file on a share that stopped answering
    blocks its reader in the kernel, where nothing else reaches it. The window's own file is safe:
    the local cursor moves only after the centre committed, and SQLite rolls
    back what an ended process left open."""
    import os
    import threading
    import time

    from hallapp.dberrors import sqlite_path
    from hallapp.sync.centre import shown_url_safe

    if sqlite_path(url) is None:
        return run(lambda: None)  # PostgreSQL: the pass's own deadline cuts the socket
    last = [time.monotonic()]
    outcome: dict[str, Any] = {}

    def beat() -> None:
        last[0] = time.monotonic()

    def work() -> None:
        try:
            outcome["value"] = run(beat)
        except BaseException as exc:  # re-raised on the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="sync-pass", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)
        if worker.is_alive() and time.monotonic() - last[0] > stall_seconds:
            log.error("sync: no answer from %s for %.0f s; ending the process",
                      shown_url_safe(url), stall_seconds)  # fmt: skip
            print(
                f"同步中止：中心库 {shown_url_safe(url)} 超过 {stall_seconds:.0f} 秒没有应答"
                "（例如中心库文件所在的共享目录无法访问）。本窗口的数据未受影响，"
                "下次同步从中断处继续",
                file=sys.stderr,
            )
            sys.stderr.flush()
            logging.shutdown()
            # The stuck thread cannot be stopped, and interpreter exit would wait on it.
            os._exit(EXIT_STORE)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _cmd_join(args: argparse.Namespace) -> int:
    import unicodedata

    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.models import Role, Staff, Window
    from hallapp.store import Store, StoreError
    from hallapp.sync import CentreUnreachable, SyncError
    from hallapp.sync.centre import central_engine, shown_url_safe
    from hallapp.sync.pull import pull
    from hallapp.sync.run import attach, seed_numbers, with_password

    # As everywhere else a window code is typed: ａ06 and a06 are A06.
    hall = args.hall.strip()
    window = unicodedata.normalize("NFKC", args.window).strip().upper()
    if not (hall.isalnum() and window.isalnum() and len(hall) <= 8 and len(window) <= 8):
        print(
            "大厅代码和窗口编号应为 1–8 位字母或数字，例如 --hall LC --window A05", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        # Before the window's database exists: a wrong address leaves nothing behind.
        central_url = checked_central_url(args.central)
    except CommandRefused as exc:
        print(f"加入失败：{exc}", file=sys.stderr)
        return exc.code
    local = _local_url(args, window)
    created = _new_sqlite_file(local)
    joined = False
    try:
        store = Store.open(local)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    engine = None
    try:
        engine = central_engine(with_password(central_url))
        _check_login_is_for(engine, hall, window)
        centre = _check_joinable(store, engine, hall, window, args.central)
        result = pull(store, engine, hall_code=hall, window_code=window)
        with store.session() as s:
            known = s.get(Window, window)
            active = Staff.active.is_(True)
            staff = int(s.scalar(select(func.count()).select_from(Staff).where(active)) or 0)
            clerks = int(
                s.scalar(
                    select(func.count()).select_from(Staff).where(active, Staff.role == Role.CLERK)
                )
                or 0
            )
        if known is None:
            print(
                f"中心库 {shown_url_safe(args.central)} 的大厅 {hall} 中没有窗口 {window}："
                f"请先在中心运行 hallapp central windows add {window} --name … --department …",
                file=sys.stderr,
            )
            return EXIT_INVALID
        pushed_before = _last_push(engine, hall, window)
        try:
            # A replacement PC goes on from the numbers the old one issued.
            seed_numbers(store, engine, hall, window)
        except SQLAlchemyError as exc:
            log.warning("join: numbers of %s/%s not read from the centre: %s", hall, window, exc)
            print(
                "注意：未能从中心库读取本窗口已用的办件和文书编号（详见日志）；"
                "若本窗口以前在别的电脑上办过件，请先联系管理员再受理",
                file=sys.stderr,
            )
        attach(store, central_url, hall, window, centre)
        joined = True
    except SyncError as exc:
        print(f"加入失败：{exc}", file=sys.stderr)
        return EXIT_STORE if isinstance(exc, CentreUnreachable) else EXIT_INVALID
    finally:
        if engine is not None:
            engine.dispose()
        store.dispose()
        if created is not None and not joined:
            _remove_sqlite_file(created)
    print(
        f"窗口 {window} 已加入大厅 {hall}（基础数据版本 {result.version}，"
        f"工作人员 {staff} 名，其中窗口人员 {clerks} 名），可以登录。"
    )
    from sqlalchemy.engine import make_url

    if make_url(central_url).password is not None:
        # attach() kept the address without it: later passes must find it elsewhere.
        print(
            "注意：地址中的密码没有保存在本窗口。以后同步时请把密码放在环境变量 "
            "HALLAPP_CENTRAL_PASSWORD 或 pgpass 文件（PGPASSFILE）中",
            file=sys.stderr,
        )
    if pushed_before is not None and created is not None:
        from hallapp.workdays import HALL_TZ

        # A new file for a window that has pushed: a replaced PC (fine once
        # the old one is off), or a second PC on one window code (its case
        # numbers would clash with the first's, and its pushes be refused).
        print(
            f"注意：中心库已有窗口 {window} 的上传（最近一次 "
            f"{pushed_before.astimezone(HALL_TZ):%Y-%m-%d %H:%M}）。如果这台电脑替换了原来的"
            f"窗口电脑，请确认原电脑已停用；两台电脑不能同时使用窗口编号 {window}"
            "（办件编号会重复，中心库将拒收后上传的一台）",
            file=sys.stderr,
        )
    from hallapp.config import load_config

    cfg = load_config(getattr(args, "config", None))
    if (cfg.hall_code, cfg.window_code) != (hall, window):
        print(
            f"注意：配置文件中为大厅 {cfg.hall_code}、窗口 {cfg.window_code}，"
            f'请改为 [hall] code = "{hall}"、[window] code = "{window}"，'
            "窗口客户端和 hallapp sync 才会使用这个数据库",
            file=sys.stderr,
        )
    return EXIT_OK


def _last_push(engine: Any, hall: str, window: str) -> datetime | None:
    """When the centre last took a push of this window, if ever."""
    from sqlalchemy import select

    from hallapp.sync.schema import HALL, central_table

    ws = central_table("window_sync")
    with engine.connect() as conn:
        got = conn.execute(
            select(ws.c.last_push_at).where(ws.c[HALL] == hall, ws.c.window_code == window)
        ).first()
    if got is None or got[0] is None:
        return None
    at: datetime = got[0]
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file this URL names if it does not exist yet (join creates it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError:
        return None
    database = u.database or ""
    if u.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def _remove_sqlite_file(path: Path) -> None:
    """A failed join leaves no half-made window database to be mistaken for a real one."""
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            log.warning("cannot remove %s after a failed join", p, exc_info=True)


def _check_joinable(store: Any, engine: Any, hall: str, window: str, url: str) -> str | None:
    """Refuse, before anything is pulled or written, a join that would give one
    window database two identities: one already joined elsewhere (another
    centre, hall or window: its next push would copy its whole history there,
    counted twice), or a hall and window the centre does not have. Returns the
    centre's identity (None for a centre made before centres had one)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.sync import CentreUnreachable, SyncError
    from hallapp.sync.centre import shown_url, shown_url_safe, unreachable_reason
    from hallapp.sync.run import (
        CENTRE_KEY,
        HALL_KEY,
        WINDOW_KEY,
        _state,
        attached_url,
        centre_and_window,
    )
    from hallapp.sync.schema import central_table

    try:
        with engine.connect() as conn:
            theirs, known = centre_and_window(conn, hall, window)
            windows = central_table("windows")
            halls = sorted({r[0] for r in conn.execute(select(windows.c.hall_code).distinct())})
    except SQLAlchemyError as exc:
        log.warning("join: centre unreachable: %s", exc)
        raise CentreUnreachable(
            f"无法连接中心库 {shown_url(engine)}：{unreachable_reason(exc)}"
        ) from exc
    joined_hall, joined_window = _state(store, HALL_KEY), _state(store, WINDOW_KEY)
    joined_centre = _state(store, CENTRE_KEY)
    if joined_hall is not None and (
        (joined_hall, joined_window) != (hall, window)
        or (theirs is not None and joined_centre is not None and theirs != joined_centre)
    ):
        raise SyncError(
            f"本窗口数据库已加入 {attached_url(store) or '中心库'} 的大厅 {joined_hall} 窗口 "
            f"{joined_window}，不能再加入大厅 {hall} 窗口 {window}（或另一个中心库）："
            "一个窗口数据库只属于一个大厅的一个窗口，否则它的全部记录会再上传一遍、重复统计。"
            "新的窗口请用新的数据库文件（--db 新文件）加入"
        )
    if not known:
        where = f"中心库 {shown_url_safe(url)}"
        if hall not in halls:
            have = "、".join(halls) if halls else "（还没有任何大厅的窗口）"
            raise SyncError(
                f"{where} 没有大厅 {hall}（中心库中的大厅：{have}）。请核对 --hall；"
                f"新大厅请先在中心运行 hallapp central windows add {window} --name … "
                f"--department … --hall {hall}"
            )
        raise SyncError(
            f"{where} 的大厅 {hall} 中没有窗口 {window}：请先在中心运行 "
            f"hallapp central windows add {window} --name … --department … --hall {hall}"
        )
    return theirs


def _check_login_is_for(engine: Any, hall: str, window: str) -> None:
    """A window login granted for another window would join and then have
    every push refused: refuse the join instead, naming whose login it is."""
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.sync import CentreUnreachable, SyncError
    from hallapp.sync.centre import shown_url, unreachable_reason
    from hallapp.sync.roles import login_place

    try:
        with engine.connect() as conn:
            place = login_place(conn)
            user = conn.exec_driver_sql("SELECT current_user").scalar() if place else None
    except SQLAlchemyError as exc:
        log.warning("join: centre unreachable: %s", exc)
        raise CentreUnreachable(
            f"无法连接中心库 {shown_url(engine)}：{unreachable_reason(exc)}"
        ) from exc
    if place is None:
        return
    kind, login_hall, login_window = place
    if kind != "window" or (login_hall, login_window) != (hall, window):
        from hallapp.models import ROLE_TITLES

        whose = (
            f"大厅 {login_hall} 窗口 {login_window}"
            if kind == "window"
            else ROLE_TITLES.get(kind, kind)
        )
        raise SyncError(
            f"登录 {user} 是发给{whose} 的，不能用来加入大厅 {hall} 窗口 {window}。"
            f"请管理员为本窗口发放登录：hallapp central grant-window --hall {hall} "
            f"--window {window}"
        )
