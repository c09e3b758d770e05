"""Sign-in, roles and what each role may do."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
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


def authenticate(session: Session, staff_no: str, password: str) -> Staff:
    # NFKC: a staff number typed with the IME in 全角 (１００３) is still 1003.
    staff = session.scalar(select(Staff).where(Staff.staff_no == lookup_code(staff_no)))
    # The same message either way, so the screen does not tell which staff
    # numbers exist.
    if staff is None or not staff.active or not verify_password(staff.password_hash, password):
        log.warning("sign-in refused for staff_no=%r", staff_no)
        raise SignInError("工号或密码不正确，请重新输入")
    return staff


def require_role(staff: Staff, roles: Iterable[Role]) -> None:
    allowed = set(roles)
    if Role(staff.role) not in allowed:
        names = "、".join(r.label for r in allowed)
        raise PermissionDenied(f"此操作需要{names}权限，当前登录为{Role(staff.role).label}")
