"""Demo reference data: the sample catalog, the hall's windows and demo staff.

``seed_demo(store)`` loads ``resources/catalog.toml`` (departments with their
contact directories, service items) and ``resources/demo.toml`` (the hall's
office, windows, staff with hashed demo passwords, photos and service
commitments). It writes reference data only, never facts, and is idempotent:
a second run changes nothing, and a changed file updates rows in place.

A demo database is marked as one: :func:`seed_demo` writes an audit entry
with the action ``demo.mark`` the first time, and only into a database that
holds nothing yet (no department, staff, item or case). It refuses any other
database (:class:`NotADemoDatabase`), so demo staff with the password 123456
can never be added to a hall's real data. Audit entries are append-only, so
the mark cannot be removed, and a demo database cannot pass for a real one.

The staff photos in ``resources/photos/`` are neutral generated avatars
(:func:`render_avatar_png`); regenerate them with
``python -c "from hallapp.demo import write_demo_avatars; write_demo_avatars()"``.
"""

from __future__ import annotations

import io
import logging
import os
import tomllib
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallapp.catalog import ImportSummary, import_catalog
from hallapp.models import (
    AuditEntry,
    Case,
    Department,
    Role,
    ServiceItem,
    Staff,
    Window,
    WindowDepartment,
)
from hallapp.security import hash_password, verify_password
from hallapp.store import Store

log = logging.getLogger(__name__)

DEMO_FILE = "demo.toml"
CATALOG_FILE = "catalog.toml"


class DemoDataError(Exception):
    """The demo file is unusable; ``problems`` lists every reason in Chinese."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = [f"演示数据 {source} 有 {len(problems)} 处问题，未写入任何内容："]
        lines += [f"  {i}. {p}" for i, p in enumerate(problems, 1)]
        super().__init__("\n".join(lines))


@dataclass
class SeedSummary:
    catalog: ImportSummary | None = None
    departments: ImportSummary | None = None
    windows_added: list[str] = field(default_factory=list)
    windows_updated: list[str] = field(default_factory=list)
    staff_added: list[str] = field(default_factory=list)
    staff_updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            (self.catalog and self.catalog.changed)
            or (self.departments and self.departments.changed)
            or self.windows_added
            or self.windows_updated
            or self.staff_added
            or self.staff_updated
        )

    def text(self) -> str:
        parts = []
        if self.catalog is not None:
            parts.append(self.catalog.text())
        parts.append(
            f"窗口新增 {len(self.windows_added)}、更新 {len(self.windows_updated)}；"
            f"工作人员新增 {len(self.staff_added)}、更新 {len(self.staff_updated)}"
        )
        return "\n".join(parts)


def resource(name: str) -> Traversable:
    """A file shipped in hallapp.resources (resources/ in the repository)."""
    return resources.files("hallapp.resources") / name


# --------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _WindowSpec:
    code: str
    name: str
    department: str
    #: every department served, the window's own first (several: 综合窗口)
    departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class _StaffSpec:
    staff_no: str
    name: str
    title: str
    phone: str
    department: str
    role: Role
    password: str
    photo: bytes | None
    commitments: str


def _load_toml(source: Traversable | Path) -> dict[str, Any]:
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        from hallapp.validation import toml_problem

        raise DemoDataError(source.name, [f"TOML 格式错误：{toml_problem(exc)}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DemoDataError(source.name, [f"无法读取文件：{exc}"]) from exc


def _str(entry: Mapping[str, Any], key: str, where: str, problems: list[str], *,
         required: bool = True) -> str:  # fmt: skip
    value = entry.get(key, "")
    if not isinstance(value, str):
        problems.append(f"{where}，{key}：应为文字")
        return ""
    if required and not value.strip():
        problems.append(f"{where}，{key}：不能为空")
    return value.strip()


def _code(entry: Mapping[str, Any], key: str, where: str, problems: list[str], what: str) -> str:
    """A window code or staff number: NFKC, no hidden characters (hallapp.codes)."""
    from hallapp.codes import CodeError, normalize_code

    value = _str(entry, key, where, problems)
    try:
        return normalize_code(value, what=what)
    except CodeError as exc:
        problems.append(f"{where}，{key}：{exc}")
        return ""


def _parse_demo(
    data: Mapping[str, Any], base: Traversable | Path, source: str
) -> tuple[list[_WindowSpec], list[_StaffSpec]]:
    problems: list[str] = []
    allowed = {"format", "version", "departments", "windows", "staff"}
    problems += [f"{source}，{k}：未知的字段" for k in data if k not in allowed]
    windows: list[_WindowSpec] = []
    seen: set[str] = set()
    for i, w in enumerate(data.get("windows", []), 1):
        where = f"窗口第 {i} 条"
        code = _code(w, "code", where, problems, "窗口编号")
        if code and not (len(code) <= 8 and code.isascii() and code.isalnum()):
            problems.append(f"{where}，code：窗口编号应为 1–8 位字母或数字，例如 A03")
        if code in seen:
            problems.append(f"{where}，code：窗口编号 {code} 重复")
        seen.add(code)
        department = _str(w, "department", where, problems)
        also = w.get("departments", [])
        if not isinstance(also, list) or not all(isinstance(d, str) for d in also):
            problems.append(f"{where}，departments：应为部门编码列表，例如 [\"ZJJ\", \"ZRJ\"]")
            also = []
        served = tuple(dict.fromkeys([department, *(d.strip() for d in also if d.strip())]))
        windows.append(_WindowSpec(code, _str(w, "name", where, problems), department, served))
    staff: list[_StaffSpec] = []
    seen = set()
    for i, st in enumerate(data.get("staff", []), 1):
        where = f"工作人员第 {i} 条"
        staff_no = _code(st, "staff_no", where, problems, "工号")
        if staff_no in seen:
            problems.append(f"{where}，staff_no：工号 {staff_no} 重复")
        seen.add(staff_no)
        role_text = _str(st, "role", where, problems)
        try:
            role = Role(role_text)
        except ValueError:
            problems.append(
                f"{where}，role：“{role_text}”无效，可选 clerk、supervisor、administrator"
            )
            role = Role.CLERK
        password = _str(st, "password", where, problems)
        if password and len(password) < 6:
            problems.append(f"{where}，password：密码至少 6 位")
        photo: bytes | None = None
        photo_name = _str(st, "photo", where, problems, required=False)
        if photo_name:
            target = base.joinpath(*photo_name.split("/"))
            if target.is_file():
                photo = target.read_bytes()
                from hallapp.staffing import photo_problem

                if problem := photo_problem(photo):
                    problems.append(f"{where}，photo：{photo_name}：{problem}")
            else:
                problems.append(f"{where}，photo：找不到照片文件 {photo_name}")
        commitments = st.get("commitments", [])
        if isinstance(commitments, str):
            commitments = commitments.splitlines()
        if not isinstance(commitments, list) or not all(isinstance(c, str) for c in commitments):
            problems.append(f"{where}，commitments：应为文字列表")
            commitments = []
        from hallapp.staffing import commitments_problem

        if problem := commitments_problem("\n".join(commitments)):
            problems.append(f"{where}，commitments：{problem}")
        staff.append(
            _StaffSpec(
                staff_no=staff_no,
                name=_str(st, "name", where, problems),
                title=_str(st, "title", where, problems, required=False),
                phone=_staff_phone(st, where, problems),
                department=_str(st, "department", where, problems),
                role=role,
                password=password,
                photo=photo,
                commitments="\n".join(c.strip() for c in commitments if c.strip()),
            )
        )
    if problems:
        raise DemoDataError(source, problems)
    return windows, staff


def _staff_phone(st: Mapping[str, Any], where: str, problems: list[str]) -> str:
    """A staff member's phone, checked as ``hallapp staff add`` checks it
    (it is printed on every notice) and stored normalised."""
    from hallapp.staffing import normal_phone, phone_problem

    phone = _str(st, "phone", where, problems, required=False)
    if phone and (problem := phone_problem(phone)):
        problems.append(f"{where}，phone：{problem}")
    return normal_phone(phone) if phone else phone


# --------------------------------------------------------------------- writing


def _hash_in_background(session: Session, staff: list[_StaffSpec]) -> dict[str, Future[str]]:
    """Fresh staff: hash their passwords on another thread while the catalog imports.

    argon2 runs in C without the GIL (cffi releases it), so on a fresh demo
    database its 0.1 s overlaps the catalog's import instead of following it.
    Staff already stored are checked, not hashed: nothing is started for them.
    """
    numbers = [sp.staff_no for sp in staff]
    if not numbers or session.scalar(select(Staff.id).where(Staff.staff_no.in_(numbers)).limit(1)):
        return {}
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-hash")
    try:
        return {pw: pool.submit(hash_password, pw) for pw in {sp.password for sp in staff}}
    finally:
        pool.shutdown(wait=False)  # the submitted hashes still run; results via the futures


def seed_reference_data(
    session: Session,
    *,
    demo_file: str | os.PathLike[str] | None = None,
    catalog_file: str | os.PathLike[str] | None = None,
) -> SeedSummary:
    """Load the catalog and the demo windows and staff into the caller's transaction.

    Defaults are the files shipped in hallapp.resources. Raises
    :class:`hallapp.catalog.CatalogError` or :class:`DemoDataError`, before
    writing anything that file holds, when a file is not valid.
    """
    summary = SeedSummary()
    # The demo file is checked first, so its problems show before any write.
    demo: Traversable | Path = resource(DEMO_FILE) if demo_file is None else Path(demo_file)
    base: Traversable | Path = (
        resources.files("hallapp.resources") if demo_file is None else Path(demo_file).parent
    )
    data = _load_toml(demo)
    windows, staff = _parse_demo(data, base, demo.name)
    prehashed = _hash_in_background(session, staff)

    if catalog_file is None:
        with resources.as_file(resource(CATALOG_FILE)) as path:
            summary.catalog = import_catalog(session, path)
    else:
        summary.catalog = import_catalog(session, catalog_file)
    if data.get("departments"):
        summary.departments = import_catalog(session, {"departments": data["departments"]})

    known = set(session.scalars(select(Department.code)))
    problems = [
        f"窗口 {w.code}，department：部门 {d} 不存在"
        for w in windows
        for d in w.departments
        if d not in known
    ] + [
        f"工作人员 {s.staff_no}，department：部门 {s.department} 不存在"
        for s in staff
        if s.department not in known
    ]
    if problems:
        raise DemoDataError(demo.name, problems)

    for w in windows:
        row = session.get(Window, w.code)
        if row is None:
            row = Window(code=w.code, name=w.name, department_code=w.department, active=True)
            row.served = [WindowDepartment(department_code=d) for d in w.departments]
            session.add(row)
            summary.windows_added.append(w.code)
            continue
        changed = (row.name, row.department_code, row.active) != (w.name, w.department, True)
        row.name, row.department_code, row.active = w.name, w.department, True
        have = {wd.department_code: wd for wd in row.served}
        for code, link in have.items():
            if code not in w.departments:
                row.served.remove(link)
                changed = True
        for code in w.departments:
            if code not in have:
                row.served.append(WindowDepartment(department_code=code))
                changed = True
        if changed:
            summary.windows_updated.append(w.code)

    # argon2 is slow on purpose (about 0.1–0.5 s a hash); demo staff share one
    # published demo password, so one hash and one check serve them all.
    hashes: dict[str, str] = {}
    checks: dict[tuple[str, str], bool] = {}

    def hashed(password: str) -> str:
        if password not in hashes:
            early = prehashed.get(password)
            hashes[password] = early.result() if early is not None else hash_password(password)
        return hashes[password]

    def verified(password_hash: str, password: str) -> bool:
        key = (password_hash, password)
        if key not in checks:
            checks[key] = verify_password(password_hash, password)
        return checks[key]

    for sp in staff:
        person = session.scalar(select(Staff).where(Staff.staff_no == sp.staff_no))
        if person is None:
            person = Staff(staff_no=sp.staff_no, password_hash=hashed(sp.password))
            session.add(person)
            summary.staff_added.append(sp.staff_no)
            changed = False
        else:
            changed = not verified(person.password_hash, sp.password)
            if changed:
                # Only when it differs: argon2 salts every hash, so rehashing an
                # unchanged password would still rewrite the row.
                person.password_hash = hashed(sp.password)
        wanted = (
            sp.name, sp.title, sp.phone, sp.department, sp.role.value, sp.photo,
            sp.commitments, True,
        )  # fmt: skip
        current = (
            person.name, person.title, person.phone, person.department_code,
            Role(person.role).value if person.role else None, person.photo,
            person.commitments, person.active,
        )  # fmt: skip
        if current != wanted:
            person.name, person.title, person.phone = sp.name, sp.title, sp.phone
            person.department_code, person.role, person.photo = sp.department, sp.role, sp.photo
            person.commitments, person.active = sp.commitments, True
            changed = True
        if changed and sp.staff_no not in summary.staff_added:
            summary.staff_updated.append(sp.staff_no)
    session.flush()
    log.info("demo reference data: %s", summary.text().replace("\n", " / "))
    return summary


DEMO_MARK_ACTION = "demo.mark"
#: Who wrote the mark: no staff exists in an empty database.
DEMO_MARK_ROLE = "system"


class NotADemoDatabase(Exception):
    """The database holds a hall's own data: demo data must not go into it."""


def is_demo_database(session: Session) -> bool:
    """True when :func:`seed_demo` marked this database as a demo database."""
    return (
        session.scalar(select(AuditEntry.id).where(AuditEntry.action == DEMO_MARK_ACTION).limit(1))
        is not None
    )


def is_empty_database(session: Session) -> bool:
    """No reference data and no case yet: a database just created."""
    columns = (Department.code, Staff.id, ServiceItem.code, Case.id, Window.code)
    return all(session.scalar(select(column).limit(1)) is None for column in columns)


def mark_demo_database(session: Session, *, window_code: str = "DEMO") -> None:
    """Mark an empty database as a demo database (in the caller's transaction)."""
    if is_demo_database(session):
        return
    if not is_empty_database(session):
        raise NotADemoDatabase(
            "这个数据库不是演示数据库：其中已有部门、工作人员、事项或办件。"
            "演示数据只能载入新建的空数据库或演示数据库，请用 --db 指定另一个文件"
        )
    session.add(
        AuditEntry(
            origin_window=window_code[:8] or "DEMO",
            staff_no="",
            role=DEMO_MARK_ROLE,
            action=DEMO_MARK_ACTION,
            target="",
            detail={"note": "演示数据库：示例事项、演示工作人员（密码 123456）"},
        )
    )
    session.flush()


def seed_demo(store: Store) -> SeedSummary:
    """Seed the sample catalog, windows and demo staff in one transaction.

    Only into an empty database (which is then marked as a demo database) or
    one already marked; NotADemoDatabase for any other.
    """
    with store.session() as s:
        mark_demo_database(s)
        return seed_reference_data(s)


# ---------------------------------------------------------------------- avatars

# Soft backgrounds and a neutral grey silhouette: clearly a placeholder, not
# anyone's portrait.
_BACKGROUNDS = ("#DCE9F5", "#E3F1E6", "#F5E9DA", "#ECE3F3", "#F3E1E4", "#E0EEF0")
_FIGURE = "#9AA5B1"


def render_avatar_png(seed: str, *, width: int = 240, height: int = 320) -> bytes:
    """A neutral avatar (head and shoulders silhouette) as PNG bytes, same seed same bytes."""
    from PIL import Image, ImageDraw

    bg = _BACKGROUNDS[zlib.crc32(seed.encode("utf-8")) % len(_BACKGROUNDS)]
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    cx = width / 2
    head_r = width * 0.2
    head_cy = height * 0.38
    draw.ellipse((cx - head_r, head_cy - head_r, cx + head_r, head_cy + head_r), fill=_FIGURE)
    shoulder_w = width * 0.42
    top = head_cy + head_r * 1.25
    draw.ellipse((cx - shoulder_w, top, cx + shoulder_w, top + height * 0.6), fill=_FIGURE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_demo_avatars(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write one avatar per demo staff member into resources/photos/ (or ``directory``)."""
    target = (
        Path(directory)
        if directory
        else Path(__file__).resolve().parent.parent / "resources" / "photos"
    )
    target.mkdir(parents=True, exist_ok=True)
    data = _load_toml(resource(DEMO_FILE))
    written = []
    for st in data.get("staff", []):
        path = target / f"{st['staff_no']}.png"
        path.write_bytes(render_avatar_png(str(st["staff_no"])))
        written.append(path)
    return written
