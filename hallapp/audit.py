"""The audit log: every supervisor and administrator action is written here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hallapp.models import AuditEntry, Role, Staff


def record(
    session: Session,
    actor: Staff,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    *,
    window_code: str,
) -> AuditEntry:
    """Add an audit entry in the caller's transaction, so the action and its
    record commit or roll back together."""
    entry = AuditEntry(
        origin_window=window_code,
        staff_no=actor.staff_no,
        role=Role(actor.role).value,
        action=action,
        target=target,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def audited_roles() -> frozenset[Role]:
    return frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
