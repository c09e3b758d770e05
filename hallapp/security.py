"""Sign-in, roles and what each role may do."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hallapp.codes import lookup_code
from hallapp.models import Role, Staff

log = logging.getLogger(__name__)

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()


class PermissionDenied(Exception):
    """The signed-in staff member's role does not allow the action."""


class SignInError(Exception):
    """Wrong staff number or password; the message is safe to show."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session, staff_no: str, password: str, *, hall_code: str | None = None
) -> Staff:
    """The active staff member ``staff_no`` if ``password`` is theirs.

    ``hall_code``: on a central store (the supervisor view), where staff
    numbers repeat from hall to hall, the member of that hall only; without
    it the first row of any hall would be checked.
    """
    # NFKC: a staff number typed with the IME in 全角 (１００３) is still 1003.
    stmt = select(Staff).where(Staff.staff_no == lookup_code(staff_no))
    if hall_code is not None:
        stmt = stmt.where(text("staff.hall_code = :hall").bindparams(hall=hall_code))
    staff = session.scalar(stmt)
    # The same message either way, so the screen does not tell which staff
    # numbers exist.
    if staff is None or not staff.active or not verify_password(staff.password_hash, password):
        # Never the raw field: people type their password into it by mistake.
        # A number that exists is safe to name; anything else only by length.
        who = (
            f"staff_no {staff.staff_no}"
            if staff is not None
            else f"an unknown staff number ({len(staff_no.strip())} characters)"
        )
        log.warning("sign-in refused for %s", who)
        raise SignInError("工号或密码不正确，请重新输入")
    return staff


def authenticate_admin(session: Session, staff_no: str, password: str) -> Staff:
    """The supervisor or administrator ``staff_no`` if ``password`` is theirs.

    For every command that changes reference data (catalog, holiday schedules,
    staff, windows, demo data, the central store): raises SignInError for a
    wrong number or password and PermissionDenied for a clerk; the caller
    writes the audit entry with the returned actor in its own transaction.
    """
    if not staff_no.strip() or not password:
        raise SignInError("需要监督管理人员或系统管理员的工号和密码")
    staff = authenticate(session, staff_no, password)
    try:
        require_role(staff, (Role.SUPERVISOR, Role.ADMINISTRATOR))
    except PermissionDenied:
        log.warning("administrative command refused for clerk %s", staff.staff_no)
        raise
    return staff


def require_role(staff: Staff, roles: Iterable[Role]) -> None:
    allowed = set(roles)
    if Role(staff.role) not in allowed:
        names = "、".join(r.label for r in allowed)
        raise PermissionDenied(f"此操作需要{names}权限，当前登录为{Role(staff.role).label}")
