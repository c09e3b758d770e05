"""One sync pass of a window (push, then pull) and where the window is attached.

Used by ``hallapp sync`` and by the window client's background sync. The
centre's URL comes from ``--central``, else the config's
``store.central_url``, else the one ``hallapp window join`` recorded in the
local store (kept there without its password). A password missing from the
URL comes from the environment (``HALLAPP_CENTRAL_PASSWORD``) or, for
PostgreSQL, from the user's pgpass file (libpq reads it itself).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.engine import make_url

from hallapp.config import Config
from hallapp.dberrors import url_without_password
from hallapp.store import Store
from hallapp.sync.centre import STALL_SECONDS, central_engine
from hallapp.sync.pull import PullResult, pull
from hallapp.sync.push import PushResult, pending_count, push

CENTRAL_URL_KEY = "central_url"
HALL_KEY = "hall_code"
WINDOW_KEY = "window_code"
#: The identity of the centre this window joined (central_meta's centre_id).
CENTRE_KEY = "centre_id"
PASSWORD_ENV = "HALLAPP_CENTRAL_PASSWORD"


@dataclass(frozen=True)
class SyncSummary:
    pushed: int
    pulled: int  # reference rows applied plus facts from the centre
    pending: int
    version: int
    finished_at: datetime
    push: PushResult
    pull: PullResult

    def line(self) -> str:
        faults = f"，评价链异常 {len(self.push.faults)} 处" if self.push.faults else ""
        return (
            f"同步完成：上传 {self.pushed} 条，下载 {self.pulled} 条，"
            f"待上传 {self.pending} 条，基础数据版本 {self.version}{faults}"
        )


def with_password(url: str) -> str:
    """The URL with the password from the environment when it has none."""
    u = make_url(url)
    password = os.environ.get(PASSWORD_ENV)
    if u.password is None and password and not u.drivername.startswith("sqlite"):
        u = u.set(password=password)
    return u.render_as_string(hide_password=False)


def without_password(url: str) -> str:
    """The URL as a window keeps it: the password stays in the environment or
    the pgpass file, never in the window's database."""
    return url_without_password(url).render_as_string(hide_password=False)


def _state(store: Store, key: str) -> str | None:
    with store.engine.connect() as conn:
        # Named parameters: a supervisor's store may be PostgreSQL (hallapp report --db).
        value = conn.execute(
            text("SELECT value FROM sync_state WHERE key = :key"), {"key": key}
        ).scalar()
    return None if value is None else str(value)


def attached_url(store: Store) -> str | None:
    """The centre this window joined (without its password), if any."""
    return _state(store, CENTRAL_URL_KEY)


def attach(
    store: Store, url: str, hall_code: str, window_code: str, centre: str | None = None
) -> None:
    pairs = [(CENTRAL_URL_KEY, without_password(url)), (HALL_KEY, hall_code),
             (WINDOW_KEY, window_code)]  # fmt: skip
    if centre is not None:
        pairs.append((CENTRE_KEY, centre))
    _set_state(store, pairs)


def _set_state(store: Store, pairs: list[tuple[str, str]]) -> None:
    with store.engine.begin() as conn:
        for key, value in pairs:
            conn.exec_driver_sql(
                "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def sync_once(
    store: Store,
    url: str,
    *,
    hall_code: str,
    window_code: str,
    stall_seconds: float | None = STALL_SECONDS,
    on_progress: Callable[[], None] | None = None,
) -> SyncSummary:
    """Push everything pending, then pull; raises SyncError subclasses.

    ``stall_seconds`` bounds each central transaction (a centre that stops
    answering ends the pass; the next one resumes). ``on_progress`` is
    called (from this thread) after every batch the centre committed: a
    caller watching for a centre that hangs without an error (a SQLite file
    on a share that stopped answering) measures the silence between calls."""
    from hallapp.sync import BadRecord

    engine = central_engine(with_password(url))
    try:
        _check_same_centre(store, engine, url, hall_code, window_code)
        refused: BadRecord | None = None
        try:
            pushed = push(store, engine, hall_code=hall_code, window_code=window_code,
                          stall_seconds=stall_seconds,
                          on_batch=(lambda _t, _n: on_progress()) if on_progress else None)
        except BadRecord as exc:
            # One refused record must not keep the window on stale staff and
            # catalog: pull all the same, then report the record.
            refused = exc
        pulled = pull(store, engine, hall_code=hall_code, window_code=window_code,
                      stall_seconds=stall_seconds)
        if refused is not None:
            raise refused
    finally:
        engine.dispose()
    return SyncSummary(
        pushed=pushed.pushed,
        pulled=pulled.reference_rows + pulled.facts,
        pending=pending_count(store),
        version=pulled.version,
        finished_at=datetime.now(UTC),
        push=pushed,
        pull=pulled,
    )


def centre_and_window(
    conn: Connection, hall_code: str, window_code: str
) -> tuple[str | None, bool]:
    """The centre's identity and whether it holds this hall's window (join and every pass)."""
    from hallapp.sync.centre import centre_id
    from hallapp.sync.schema import central_table

    windows = central_table("windows")
    known = conn.execute(
        select(windows.c.code).where(
            windows.c.hall_code == hall_code, windows.c.code == window_code
        )
    ).first()
    return centre_id(conn), known is not None


def _check_same_centre(
    store: Store, engine: Engine, url: str, hall_code: str, window_code: str
) -> None:
    """Refuse, before anything is written, a centre this window did not join.

    ``--central`` (or a changed config) can name any centre: pushed there,
    the window's records would sit in a store where its window does not
    exist, counted by nobody or twice. A window joined before centres had an
    identity learns it on its first pass (its window must exist there)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.store import stored_revision
    from hallapp.sync import SyncError
    from hallapp.sync.centre import check_revision, shown_url

    try:
        with engine.connect() as conn:
            # A centre of another schema is told as such first (both versions named).
            check_revision(conn, stored_revision(store.engine), shown_url(engine))
            theirs, known = centre_and_window(conn, hall_code, window_code)
    except SQLAlchemyError:
        return  # unreachable or not a centre: the push says so in its own words
    mine = _state(store, CENTRE_KEY)
    joined = attached_url(store)
    if theirs is not None and mine is not None and theirs != mine:
        raise SyncError(
            f"中心库 {shown_url(engine)} 不是本窗口加入的中心库（本窗口加入的是 "
            f"{joined or '另一个中心库'}），未上传任何记录。"
            "请检查 --central 或配置文件中的中心库地址"
        )
    if mine is not None or joined is None:
        return  # the same centre; or a window set up by its config alone (no join)
    if without_password(url) != joined and not known:
        # Joined before centres had an identity, now pointed elsewhere.
        raise SyncError(
            f"中心库 {shown_url(engine)} 的大厅 {hall_code} 中没有窗口 {window_code}，"
            f"未上传任何记录：本窗口加入的是 {joined}。请检查 --central 或配置文件中的中心库地址"
        )
    if theirs is not None and known:
        _set_state(store, [(CENTRE_KEY, theirs)])


def seed_numbers(store: Store, engine: Engine, hall_code: str, window_code: str) -> int:
    """Raise the window's number counters to the highest case and document
    numbers the centre holds for this window; returns how many were raised.

    A window's numbers are unique because each window counts its own, on its
    PC. A replacement PC joining as the same window started its counters at
    0 again: its first 受理 was LCA05…0001 / LC受字〔2026〕A05-0001号 a second
    time, and its push then stopped for good on the clash.
    """
    import re

    from hallapp.sync.schema import HALL, central_table

    cases, docs = central_table("cases"), central_table("issued_documents")
    prefix = f"{hall_code}{window_code}"
    doc_re = re.compile(r"〔(\d{4})〕" + re.escape(window_code) + r"-(\d+)号$")
    counters: dict[str, int] = {}

    def keep(scope: str, seq: int) -> None:
        counters[scope] = max(counters.get(scope, 0), seq)

    with engine.connect() as conn:
        for (case_no,) in conn.execute(
            select(cases.c.case_no).where(
                cases.c[HALL] == hall_code, cases.c.window_code == window_code
            )
        ):
            rest = str(case_no)[len(prefix):] if str(case_no).startswith(prefix) else ""
            if len(rest) > 8 and rest.isdigit():
                keep(f"case:{window_code}:{rest[:8]}", int(rest[8:]))
        for doc_type, doc_no in conn.execute(
            select(docs.c.doc_type, docs.c.doc_no).where(
                docs.c[HALL] == hall_code, docs.c.origin_window == window_code
            )
        ):
            if m := doc_re.search(str(doc_no)):
                keep(f"doc:{doc_type}:{window_code}:{m[1]}", int(m[2]))
    with store.engine.begin() as conn:
        for scope, last in counters.items():
            conn.exec_driver_sql(
                "INSERT INTO number_counters (scope, last) VALUES (?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET last = max(last, excluded.last)",
                (scope, last),
            )
    return len(counters)


class HallChoiceError(ValueError):
    """``--hall`` names no hall of the central store, or it holds several and
    none was named; the message (Chinese) lists the halls it holds."""


def central_halls(store: Store) -> list[str] | None:
    """The halls a central store holds (those with windows authored there),
    or None for a window's own database (one hall, no hall codes)."""
    from sqlalchemy import inspect

    from hallapp.sync.schema import central_table

    with store.engine.connect() as conn:
        if not inspect(conn).has_table("central_meta"):
            return None
        windows = central_table("windows")
        return sorted({str(r[0]) for r in conn.execute(select(windows.c.hall_code).distinct())})


def hall_for(store: Store, hall: str | None) -> str | None:
    """The hall whose figures are read from ``store``: on a central store the
    one ``hall`` names (as typed: ``lc`` or full-width ``ＬＣ`` is LC), or its
    only hall; None on a window's own database, whose rows carry no hall code.

    Raises :class:`HallChoiceError` for a hall the centre does not hold (it
    would publish an empty 公示 for a hall with thousands of records) and for
    a centre of several halls with none named (its windows' codes repeat from
    hall to hall: one table would merge them under one hall's names)."""
    import logging

    from hallapp.codes import CodeError, normalize_code

    halls = central_halls(store)
    if halls is None:
        if hall:
            logging.getLogger(__name__).info(
                "--hall %s ignored: %s is not a central store", hall,
                store.engine.url.render_as_string(hide_password=True))  # fmt: skip
        return None
    held = "、".join(halls) if halls else "（尚无）"
    if hall:
        try:
            code = normalize_code(hall)
        except CodeError:
            code = hall.strip()
        for candidate in (code, code.upper()):
            if candidate in halls:
                return candidate
        raise HallChoiceError(f"中心库中没有大厅 {hall}（中心库中的大厅：{held}），请核对 --hall")
    if len(halls) > 1:
        raise HallChoiceError(
            f"中心库中有 {len(halls)} 个大厅（{held}）：请用 --hall 指定要统计的大厅"
        )
    return halls[0] if halls else None


def with_hall_settings(config: Config, store: Store, *, hall: str | None = None) -> Config:
    """The config with the hall-wide settings authored at the centre on top
    (``hallapp central settings set``): the hall's name, hotline, review
    body, court, intake limits, the report definitions and the follow-up
    limits are the same at every window and in every supervisor's figures.

    ``store`` is a window's store (its pulled copy) or the central store
    itself (the supervisor view, ``hallapp report --db``), where the rows
    of ``hall`` (default: the config's hall code) are read. A value the
    config rules refuse is left out, with a warning in the log."""
    import logging

    from sqlalchemy import inspect

    from hallapp.config import ConfigError, parse_config

    log = logging.getLogger(__name__)
    with store.engine.connect() as conn:
        insp = inspect(conn)
        if not insp.has_table("hall_settings"):
            return config
        central = "hall_code" in {c["name"] for c in insp.get_columns("hall_settings")}
        if central:
            rows = conn.execute(
                text("SELECT key, value FROM hall_settings WHERE hall_code = :hall"),
                {"hall": hall or config.hall_code},
            ).all()
        else:
            rows = conn.exec_driver_sql("SELECT key, value FROM hall_settings").all()
        # A JSON column: SQLite hands back its text, psycopg the decoded value
        # (decoding that again read the hotline "12345" as the number 12345).
        encoded = conn.dialect.name == "sqlite"
    values = dict(config.values)
    for key, raw in rows:
        section, _, name = str(key).partition(".")
        if key == "hall.code":
            # The hall this window joined (an older centre let it be set).
            log.warning("pulled hall setting hall.code ignored: the hall is the one joined")
            continue
        try:
            value = json.loads(raw) if encoded and isinstance(raw, str) else raw
            checked = parse_config({section: {name: value}})
        except (ConfigError, ValueError) as exc:
            log.warning("pulled hall setting %s ignored: %s", key, exc)
            continue
        values.update(checked.values)
    return Config(values=values, path=config.path)
