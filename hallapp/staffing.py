"""Staff on a hall's own database: the first administrator, then clerks and supervisors.

A window joined to a centre pulls its staff with the reference data (the sync
engineer's ``hallapp window join``). A hall without a centre keeps them
locally: on a new database with nobody in it, the first person registered is
the administrator (:func:`create_first_administrator`), who then registers
windows (:func:`hallapp.windows.set_window`) and staff (:func:`add_staff`),
from the client or the CLI (``hallapp staff add``, ``hallapp windows add``).

Pure Python: no Qt.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallapp.models import Department, Role, Staff
from hallapp.security import hash_password
from hallapp.validation import hidden_character_problem, one_line_problem, validate_phone

log = logging.getLogger(__name__)

STAFF_NO_RE = re.compile(r"^[A-Za-z0-9-]{1,20}$")
MIN_PASSWORD = 8


class StaffSetupError(Exception):
    """Staff cannot be registered as asked; the message says why, in Chinese."""


@dataclass(frozen=True)
class NewStaff:
    staff_no: str
    name: str
    department_code: str
    role: Role = Role.CLERK
    title: str = ""
    phone: str = ""


def has_staff(session: Session) -> bool:
    """Whether anyone can sign in yet (a new database has nobody)."""
    return bool(session.scalar(select(func.count()).select_from(Staff)))


def has_administrator(session: Session) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Staff)
            .where(Staff.role == Role.ADMINISTRATOR, Staff.active.is_(True))
        )
    )


def normal_staff_no(raw: str) -> str:
    """The staff number as stored and as sign-in compares it (NFKC: 全角
    １００３ is 1003)."""
    return unicodedata.normalize("NFKC", raw).strip()


def staff_no_problem(staff_no: str) -> str:
    if not STAFF_NO_RE.match(normal_staff_no(staff_no)):
        return "工号应为 1–20 位字母、数字或连字符，例如 1003"
    return ""


def name_problem(name: str, what: str = "姓名", max_len: int = 50) -> str:
    text = name.strip()
    if not text:
        return f"请填写{what}"
    if len(text) > max_len:
        return f"{what}长度 {len(text)} 字超过上限 {max_len} 字"
    hidden = one_line_problem(text)
    return f"{what}{hidden}" if hidden else ""


def person_problems(name: str, title: str = "", phone: str = "") -> list[str]:
    """What is wrong with a person's name, title and phone (title and phone may be empty)."""
    found = [name_problem(name)]
    if title.strip():
        found.append(name_problem(title, "职务"))
    if phone.strip():
        # Printed as 首办负责人 联系电话 on every notice and shown on the
        # citizen screen: it must be a number that can be dialled.
        found.append(name_problem(phone, "电话", 40) or phone_problem(phone))
    return [p for p in found if p]


def phone_problem(phone: str) -> str:
    checked = validate_phone(phone)
    return "" if checked else f"联系电话有误：{checked.reason}"


def normal_phone(phone: str) -> str:
    """The phone as stored: as :func:`validate_phone` normalises it
    (0597-8921003-1 → 0597-8921003转1), or empty."""
    checked = validate_phone(phone) if phone.strip() else None
    return checked.value if checked else phone.strip()


#: A duty-card photo is shown 300×400 on the citizen screen and goes to
#: every window with the reference data: a few hundred KB is plenty.
MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_PHOTO_SIDE = 4000


def photo_problem(data: bytes) -> str:
    """A Chinese reason unless ``data`` is a PNG or JPEG image of sane size."""
    import io

    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        return (
            f"照片文件 {len(data) / 1024 / 1024:.1f} MB，"
            f"超过上限 {MAX_PHOTO_BYTES // 1024 // 1024} MB："
            "请缩小后再登记（公示卡上显示为 300×400）"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            image.verify()  # a truncated or corrupt file fails here, not on the citizen screen
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return "照片不是可以读取的 PNG 或 JPEG 图片"
    if kind not in ("PNG", "JPEG"):
        return f"照片应为 PNG 或 JPEG 图片（此文件为 {kind}）"
    if max(width, height) > MAX_PHOTO_SIDE:
        return f"照片 {width}×{height} 像素过大：请缩小到 {MAX_PHOTO_SIDE} 像素以内"
    return ""


def commitments_problem(text: str) -> str:
    """服务承诺 are shown on the citizen screen: one per line, nothing hidden."""
    hidden = hidden_character_problem(text)
    return f"服务承诺{hidden}" if hidden else ""


def password_problem(password: str) -> str:
    """The same rule wherever a staff password is set (locally or at the centre)."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if password.isdigit() and len(set(password)) == 1:
        return "密码不能是同一个数字的重复"
    return ""


def case_twin(session: Session, column: Any, value: str) -> str | None:
    """An existing code (staff number, department code) equal to ``value`` but
    for letter case: ``zjj`` beside ``ZJJ`` made a second 住建局 whose clerks
    could take none of its items, ``ab-1`` beside ``AB-1`` a second person."""
    found = session.scalar(
        select(column).where(func.upper(column) == value.upper(), column != value).limit(1)
    )
    return None if found is None else str(found)


def _problems(session: Session, person: NewStaff, password: str) -> list[str]:
    problems = []
    number = normal_staff_no(person.staff_no)
    if bad_number := staff_no_problem(number):
        problems.append(bad_number)
    elif session.scalar(select(Staff.id).where(Staff.staff_no == number)):
        problems.append(f"工号 {number} 已被使用，请换一个")
    elif twin := case_twin(session, Staff.staff_no, number):
        problems.append(f"工号 {number} 与已有的工号 {twin} 只有大小写不同，容易认错人，请换一个")
    problems += person_problems(person.name, person.title, person.phone)
    if bad_password := password_problem(password):
        problems.append(bad_password)
    if session.get(Department, person.department_code.strip()) is None:
        problems.append(
            f"部门 {person.department_code.strip() or '（空）'} 不存在：请先导入事项清单"
            "（hallapp catalog import）或新增部门"
        )
    return problems


def add_staff(session: Session, person: NewStaff, password: str) -> Staff:
    """Register one staff member (StaffSetupError lists every problem, nothing written)."""
    problems = _problems(session, person, password)
    if problems:
        raise StaffSetupError("；".join(problems))
    staff = Staff(
        staff_no=normal_staff_no(person.staff_no),
        name=person.name.strip(),
        title=person.title.strip(),
        phone=normal_phone(person.phone),
        department_code=person.department_code.strip(),
        role=person.role,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(staff)
    session.flush()
    log.info("staff %s added (%s)", staff.staff_no, Role(staff.role).value)
    return staff


def create_first_administrator(
    session: Session,
    *,
    staff_no: str,
    name: str,
    password: str,
    department_code: str,
    department_name: str = "",
) -> Staff:
    """The first person on a new database: an administrator.

    Only while nobody is registered (a second call is refused). The hall's own
    office is created as a department when ``department_name`` is given and
    the code is new, since a new database may not hold any department yet.
    """
    if has_staff(session):
        raise StaffSetupError(
            "数据库中已有工作人员，不能再创建第一位管理员："
            "请由现有系统管理员用 hallapp staff add 新增"
        )
    code = department_code.strip()
    if code and session.get(Department, code) is None and department_name.strip():
        session.add(Department(code=code, name=department_name.strip()))
        session.flush()
    return add_staff(
        session,
        NewStaff(
            staff_no=staff_no,
            name=name,
            department_code=code,
            role=Role.ADMINISTRATOR,
            title="系统管理员",
        ),
        password,
    )
