"""What went wrong with a database, told apart, with the advice that fits.

One classifier serves the CLI and the window client: whatever a database call
raised (SQLAlchemy's wrapper, the sqlite3 or psycopg error under it, an
OSError, an Alembic revision it does not know), :func:`classify_db_error`
names the problem and :func:`store_error` turns it into a :class:`StoreError`
whose message is Chinese and says what to do. The exception itself, with its
traceback, goes to the log only.

Database URLs are shown with :func:`display_url`, which never shows a password.
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


class DbProblem(enum.StrEnum):
    CORRUPT = "corrupt"
    LOCKED = "locked"
    NEWER_SCHEMA = "newer_schema"
    OLDER_SCHEMA = "older_schema"
    DISK_FULL = "disk_full"
    IO_ERROR = "io_error"
    PERMISSION = "permission"
    MISSING = "missing"
    NOT_A_FILE = "not_a_file"
    UNREACHABLE = "unreachable"
    LOGIN_REFUSED = "login_refused"
    BAD_URL = "bad_url"
    OTHER = "other"


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do, in Chinese."""

    def __init__(self, message: str, problem: DbProblem = DbProblem.OTHER) -> None:
        super().__init__(message)
        self.problem = problem


class NewerSchemaError(StoreError):
    """The database was written by a newer HallApp (its revision is unknown here)."""

    def __init__(self, message: str, revision: str) -> None:
        super().__init__(message, DbProblem.NEWER_SCHEMA)
        self.revision = revision


# --------------------------------------------------------------------- URLs


PASSWORD_PARAMS = frozenset({"password", "passwd", "pwd"})


def _unmixed(parsed: URL) -> URL:
    """A URL whose password held an unescaped ``@`` (``u:pa@ss@host``) parses
    with the password's tail in the host: move that tail out of sight."""
    host = parsed.host or ""
    if "@" in host:
        return parsed._replace(password="***", host=host.rsplit("@", 1)[1])
    return parsed


def unescaped_at(url: str) -> bool:
    """Whether a URL has more than one @ before its query: a password with an
    unescaped @ (which must be written %40)."""
    _, _, rest = url.partition("://")
    # Up to the query after the last @: an unescaped ? in the password must
    # not hide the second @ (u:00@?x@host).
    last = rest.rfind("@")
    query = rest.find("?", last) if last >= 0 else -1
    return (rest if query < 0 else rest[:query]).count("@") > 1


def url_without_password(url: str | URL) -> URL:
    """The URL with no password at all (nor one given as a query parameter).

    Not ``URL.set(password=None)``: ``set`` treats None as "leave as it is"
    and keeps the password."""
    parsed = _unmixed(url if isinstance(url, URL) else make_url(str(url)))
    secret = [k for k in parsed.query if k.lower() in PASSWORD_PARAMS]
    return parsed.difference_update_query(secret)._replace(password=None)


def display_url(url: str | URL | None) -> str:
    """The URL to show a person or a log: the password (also one given as a
    query parameter) replaced by ``***``; a SQLite URL as its file path."""
    if url is None:
        return ""
    if not isinstance(url, URL) and unescaped_at(str(url)):
        # u:pa@ss/x@host: no parser knows where the password ends; show the
        # user and what follows the last @ only.
        text = str(url)
        scheme, _, rest = text.partition("://")
        user = rest.split(":", 1)[0].split("@", 1)[0]
        return f"{scheme}://{user}:***@{rest.rsplit('@', 1)[1]}"
    try:
        parsed = url if isinstance(url, URL) else make_url(str(url))
    except (ArgumentError, ValueError):
        # Not a URL we can parse: it may still hold a password, so show none of it.
        return "（无法识别的数据库地址）"
    parsed = _unmixed(parsed)
    if parsed.query:
        hidden = {
            k: "***" if k.lower() in PASSWORD_PARAMS else v
            for k, v in parsed.query.items()
        }
        parsed = parsed.set(query=hidden)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "（内存数据库）"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str | URL | None) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if url is None:
        return None
    try:
        parsed = url if isinstance(url, URL) else make_url(str(url))
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def missing_sqlite_file(url: str | URL | None) -> Path | None:
    """The file a SQLite URL names if it does not exist (opening it would make
    an empty store: a report on a mistyped path would publish "no records")."""
    path = sqlite_path(url)
    return path if path is not None and not path.is_file() else None


# --------------------------------------------------------------- classifier

# SQLite primary result codes (https://sqlite.org/rescode.html).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26

_SQLITE_CODES = {
    _SQLITE_CORRUPT: DbProblem.CORRUPT,
    _SQLITE_NOTADB: DbProblem.CORRUPT,
    _SQLITE_BUSY: DbProblem.LOCKED,
    _SQLITE_LOCKED: DbProblem.LOCKED,
    _SQLITE_FULL: DbProblem.DISK_FULL,
    _SQLITE_IOERR: DbProblem.IO_ERROR,
    _SQLITE_READONLY: DbProblem.PERMISSION,
    _SQLITE_PERM: DbProblem.PERMISSION,
    _SQLITE_AUTH: DbProblem.PERMISSION,
    _SQLITE_CANTOPEN: DbProblem.PERMISSION,
}

# The same, by message, for drivers that do not expose the code.
_SQLITE_MESSAGES = (
    ("malformed", DbProblem.CORRUPT),
    ("file is not a database", DbProblem.CORRUPT),
    ("file is encrypted", DbProblem.CORRUPT),
    ("database is locked", DbProblem.LOCKED),
    ("database table is locked", DbProblem.LOCKED),
    ("disk is full", DbProblem.DISK_FULL),
    ("disk i/o error", DbProblem.IO_ERROR),
    ("readonly database", DbProblem.PERMISSION),
    ("unable to open database file", DbProblem.PERMISSION),
)

# PostgreSQL SQLSTATE codes (appendix A of its manual), exact and by class.
_PG_STATES = {
    "53100": DbProblem.DISK_FULL,
    "42501": DbProblem.PERMISSION,
    "25006": DbProblem.PERMISSION,
    "55P03": DbProblem.LOCKED,
    "40P01": DbProblem.LOCKED,
    "57014": DbProblem.LOCKED,  # statement/lock timeout cancelled the query
    "XX001": DbProblem.CORRUPT,
    "XX002": DbProblem.CORRUPT,
    "28P01": DbProblem.LOGIN_REFUSED,
    "28000": DbProblem.LOGIN_REFUSED,
    "3D000": DbProblem.MISSING,
}
_PG_CLASSES = {"08": DbProblem.UNREACHABLE, "57": DbProblem.UNREACHABLE}

_OS_ERRNOS = {
    errno.ENOSPC: DbProblem.DISK_FULL,
    errno.EDQUOT: DbProblem.DISK_FULL,
    errno.EFBIG: DbProblem.DISK_FULL,
    errno.EACCES: DbProblem.PERMISSION,
    errno.EPERM: DbProblem.PERMISSION,
    errno.EROFS: DbProblem.PERMISSION,
    errno.ENOENT: DbProblem.MISSING,
    errno.EIO: DbProblem.IO_ERROR,
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver error SQLAlchemy wraps, and their causes."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)
        for nxt in (orig, e.__cause__, e.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _classify_one(e: BaseException) -> DbProblem | None:
    if isinstance(e, StoreError):
        return e.problem if e.problem is not DbProblem.OTHER else None
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE_CODES:
            return _SQLITE_CODES[code & 0xFF]
        text = str(e).lower()
        for needle, problem in _SQLITE_MESSAGES:
            if needle in text:
                return problem
        return None
    state = getattr(e, "sqlstate", None)
    if isinstance(state, str) and state:
        return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
    module = type(e).__module__
    if module.startswith("psycopg") and type(e).__name__ == "OperationalError":
        # No SQLSTATE: the server was never reached (refused, timed out, no such host).
        text = str(e).lower()
        if "password authentication failed" in text or "no password supplied" in text:
            return DbProblem.LOGIN_REFUSED
        if "fatal:" in text and "role" in text and "does not exist" in text:
            # The server answered: the login is unknown (not granted yet, or revoked).
            return DbProblem.LOGIN_REFUSED
        if "fatal:" in text and "permission denied for database" in text:
            return DbProblem.LOGIN_REFUSED
        if "does not exist" in text and "database" in text:
            return DbProblem.MISSING
        return DbProblem.UNREACHABLE
    if isinstance(e, OSError) and e.errno in _OS_ERRNOS:
        return _OS_ERRNOS[e.errno]
    if isinstance(e, ArgumentError):
        return DbProblem.BAD_URL
    if module.startswith("alembic") and "can't locate revision" in str(e).lower():
        return DbProblem.NEWER_SCHEMA
    return None


def classify_db_error(exc: BaseException) -> DbProblem:
    """The kind of database problem behind ``exc`` (OTHER when none is recognised)."""
    for e in _chain(exc):
        problem = _classify_one(e)
        if problem is not None:
            return problem
    return DbProblem.OTHER


def is_db_error(exc: BaseException) -> bool:
    """True when ``exc`` came from a database (driver, SQLAlchemy, Alembic or our store)."""
    for e in _chain(exc):
        if isinstance(e, (StoreError, sqlite3.Error)):
            return True
        module = type(e).__module__
        if module.startswith(("sqlalchemy", "psycopg", "alembic")):
            return True
    return False


# ----------------------------------------------------------------- messages


def _refine(problem: DbProblem, path: Path | None) -> DbProblem:
    """Look at the file when SQLite's code alone is ambiguous."""
    if path is None:
        return problem
    if problem is DbProblem.PERMISSION and path.is_dir():
        return DbProblem.NOT_A_FILE
    if problem is DbProblem.PERMISSION and not path.exists() and not path.parent.is_dir():
        return DbProblem.MISSING
    if problem is DbProblem.IO_ERROR:
        folder = path.parent if path.parent.is_dir() else Path.cwd()
        try:
            if shutil.disk_usage(folder).free < 1_000_000:
                return DbProblem.DISK_FULL
        except OSError:
            pass
    return problem


def problem_message(problem: DbProblem, shown: str = "", *, revision: str = "") -> str:
    """The Chinese text for a problem: what happened and what to do."""
    name = f" {shown} " if shown else ""
    from hallapp.migrations import HEAD

    messages = {
        DbProblem.CORRUPT: (
            f"数据库文件{name}无法读取：它不是可用的 HallApp 数据库——地址指错了文件，或文件已损坏。"
            "请先核对地址；地址无误、这是本窗口的数据库时，请不要删除或改动这个文件，"
            "停止在本机登记新的办件，并联系技术支持从备份恢复（可运行 hallapp db check 查看详情）。"
        ),
        DbProblem.LOCKED: (
            f"数据库{name}正被另一个程序占用（已锁定）。请关闭正在使用它的其他 HallApp "
            "窗口或程序（例如备份、同步或杀毒软件），稍后重试。"
        ),
        DbProblem.NEWER_SCHEMA: (
            f"数据库{name}由更新版本的 HallApp 建立（结构版本 {revision or '未知'}，"
            f"本程序只认识到 {HEAD}）。请升级 HallApp，不要改动数据库。"
        ),
        DbProblem.OLDER_SCHEMA: (f"数据库{name}的结构不是最新版本。请运行 hallapp db upgrade。"),
        DbProblem.DISK_FULL: (
            f"磁盘空间已满，数据库{name}无法写入。请清理磁盘或换一块有空间的磁盘后重试；"
            "已经保存的记录不会丢失。"
        ),
        DbProblem.IO_ERROR: (
            f"读写数据库{name}时磁盘出错（磁盘可能已满、文件超出大小限制或磁盘故障）。"
            "请检查磁盘空间和磁盘状态后重试；已经保存的记录不会丢失。"
        ),
        DbProblem.PERMISSION: (
            f"没有权限读写数据库{name}（文件或所在文件夹是只读的，或属于其他用户）。"
            "请让管理员给当前用户读写这个文件和文件夹的权限，或在配置中换一个可写的位置。"
        ),
        DbProblem.MISSING: (
            f"找不到数据库{name}（文件夹或数据库不存在）。请检查地址，"
            "或先运行 hallapp db upgrade 建立数据库。"
        ),
        DbProblem.NOT_A_FILE: (
            f"数据库位置{name}是一个文件夹，不是数据库文件。"
            "请在配置中换一个文件路径（例如 …/window.sqlite3），或移走这个文件夹。"
        ),
        DbProblem.UNREACHABLE: (
            f"无法连接数据库服务器{name}。请检查网络、服务器是否开启以及地址和端口是否正确，"
            "稍后重试。"
        ),
        DbProblem.LOGIN_REFUSED: (
            f"数据库服务器拒绝登录{name}：用户名或密码不正确，或没有登录权限。"
            "请核对配置中的数据库地址和账号。"
        ),
        DbProblem.BAD_URL: (
            "数据库地址格式不正确。请写作 sqlite:///文件路径 或 "
            "postgresql+psycopg://用户@服务器/数据库。"
        ),
        DbProblem.OTHER: (
            f"数据库{name}操作失败。请重试；如果问题仍然存在，请联系技术支持并提供日志文件。"
        ),
    }
    return messages[problem]


_SHORT = {
    DbProblem.CORRUPT: "数据库文件损坏",
    DbProblem.LOCKED: "数据库被其他程序占用",
    DbProblem.NEWER_SCHEMA: "数据库版本比程序新",
    DbProblem.OLDER_SCHEMA: "数据库结构需要升级",
    DbProblem.DISK_FULL: "磁盘已满",
    DbProblem.IO_ERROR: "磁盘读写出错",
    DbProblem.PERMISSION: "没有写入权限",
    DbProblem.MISSING: "找不到数据库",
    DbProblem.NOT_A_FILE: "数据库位置是文件夹",
    DbProblem.UNREACHABLE: "无法连接数据库",
    DbProblem.LOGIN_REFUSED: "数据库拒绝登录",
    DbProblem.BAD_URL: "数据库地址有误",
    DbProblem.OTHER: "数据库暂时无法写入",
}


def short_label(exc: BaseException) -> str:
    """A few words for a small screen (the citizen screen, a status line)."""
    return _SHORT[classify_db_error(exc)]


def store_error(exc: BaseException, url: str | URL | None = None) -> StoreError:
    """``exc`` as a StoreError with the right advice (``exc`` itself if it already is one)."""
    if isinstance(exc, StoreError):
        return exc
    problem = _refine(classify_db_error(exc), sqlite_path(url))
    if problem is DbProblem.PERMISSION and _from_server(exc):
        # A server's refusal (a role without the grant, a row-level security
        # policy) is not a file permission: say which login to check.
        return StoreError(
            "数据库服务器拒绝了这项操作：当前登录没有相应的权限。"
            "请联系管理员核对这个中心库登录的授权（hallapp central grant-window / "
            "grant-supervisor），详细信息见日志。",
            problem,
        )
    revision = ""
    if problem is DbProblem.NEWER_SCHEMA:
        revision = next((str(e.revision) for e in _chain(exc) if hasattr(e, "revision")), "")
    return StoreError(problem_message(problem, display_url(url), revision=revision), problem)


def _from_server(exc: BaseException) -> bool:
    return any(type(e).__module__.startswith("psycopg") for e in _chain(exc))


def writable_problem(path: Path) -> DbProblem | None:
    """Why SQLite could not write ``path`` and its journal, before trying (None: it can)."""
    folder = path.parent
    if not folder.is_dir():
        return DbProblem.MISSING
    if path.exists() and not os.access(path, os.W_OK):
        return DbProblem.PERMISSION
    if not os.access(folder, os.W_OK | os.X_OK):
        return DbProblem.PERMISSION
    return None
