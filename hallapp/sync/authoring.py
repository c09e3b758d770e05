"""Reference data is authored at the centre, and only there.

Each change runs the domain's own code (catalog import and its checks,
holiday schedule parsing, the Staff model and password hashing) on a
*scratch* local store holding a copy of the hall's reference data; what
changed is then written back to the centre in one central transaction,
together with an audit entry and a new reference-data version. So the
centre's rules are exactly the window's, and nothing is half-written.

Who acts is checked against the centre's staff table: a supervisor or an
administrator of the hall with the right password. The very first staff
member of a hall (an empty staff table) can be added without one, and must
then be an administrator.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hallapp.models import Role, Staff
from hallapp.security import verify_password
from hallapp.store import Store, sqlite_url
from hallapp.sync import SyncError
from hallapp.sync.centre import Actor, audit, bump_version, serialise
from hallapp.sync.pull import _apply_reference, _read_reference, _referenced_tables
from hallapp.sync.schema import HALL, central_table, reference_tables

log = logging.getLogger(__name__)

T = TypeVar("T")
RefData = dict[str, list[dict[str, Any]]]

ACTING_ROLES = frozenset({Role.SUPERVISOR.value, Role.ADMINISTRATOR.value})


class NotAllowed(SyncError):
    """The acting staff member is unknown, has the wrong password or role."""


def hall_has_staff(central: Engine, hall_code: str) -> bool:
    st = central_table("staff")
    with central.connect() as c:
        return bool(c.scalar(select(func.count()).select_from(st).where(st.c[HALL] == hall_code)))


def hall_has_administrator(central: Engine, hall_code: str) -> bool:
    """Whether the hall has an active administrator (else one may be added
    without ``--staff``: a hall that locked itself out gets back in)."""
    st = central_table("staff")
    with central.connect() as c:
        return bool(
            c.scalar(
                select(func.count())
                .select_from(st)
                .where(
                    st.c[HALL] == hall_code,
                    st.c.role == Role.ADMINISTRATOR.value,
                    st.c.active.is_(True),
                )
            )
        )


def hall_exists(central: Engine, hall_code: str) -> bool:
    """Whether the centre holds anything of this hall (staff, windows, departments
    or a reference-data version)."""
    with central.connect() as c:
        for name in ("ref_versions", "staff", "windows", "departments"):
            t = central_table(name)
            if c.execute(select(t.c[HALL]).where(t.c[HALL] == hall_code).limit(1)).first():
                return True
    return False


def check_actor(central: Engine, hall_code: str, staff_no: str, password: str) -> Actor:
    """The supervisor or administrator acting at the centre, or NotAllowed."""
    st = central_table("staff")
    with central.connect() as c:
        row = c.execute(
            select(st.c.staff_no, st.c.role, st.c.password_hash, st.c.active).where(
                st.c[HALL] == hall_code, st.c.staff_no == staff_no.strip()
            )
        ).first()
    if row is None or not row.active or not verify_password(row.password_hash, password):
        log.warning("central action refused for staff_no=%r of hall %s", staff_no, hall_code)
        raise NotAllowed(f"大厅 {hall_code} 的工号或密码不正确")
    if row.role not in ACTING_ROLES:
        raise NotAllowed(f"工号 {staff_no} 不是监督管理人员或系统管理员，不能修改中心库的基础数据")
    return Actor(staff_no=str(row.staff_no), role=str(row.role))


@dataclass(frozen=True)
class Change:
    version: int
    upserted: int
    deleted: int
    audit_id: str


def _key(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c.name] for c in table.primary_key.columns)


def _upsert(conn: Connection, table: Table, hall_code: str, rows: list[dict[str, Any]]) -> None:
    ct = central_table(table.name)
    pk = [HALL, *[c.name for c in table.primary_key.columns]]
    values = [{HALL: hall_code, **r} for r in rows]
    others = [c.name for c in table.columns if c.name not in pk]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(ct)
        stmt: Any = (
            pg.on_conflict_do_update(index_elements=pk, set_={n: pg.excluded[n] for n in others})
            if others
            else pg.on_conflict_do_nothing(index_elements=pk)
        )
    else:
        sq = sqlite.insert(ct)
        stmt = (
            sq.on_conflict_do_update(index_elements=pk, set_={n: sq.excluded[n] for n in others})
            if others
            else sq.on_conflict_do_nothing(index_elements=pk)
        )
    conn.execute(stmt, values)


@contextmanager
def _scratch(cconn: Connection, hall_code: str) -> Iterator[tuple[Store, RefData]]:
    with tempfile.TemporaryDirectory(prefix="hallapp-central-") as tmp:
        store = Store.open(sqlite_url(Path(tmp) / "scratch.sqlite3"))
        try:
            before = _read_reference(cconn, hall_code)
            with store.engine.begin() as lconn:
                _apply_reference(lconn, before)
            yield store, before
        finally:
            store.dispose()


def change_reference(
    central: Engine,
    hall_code: str,
    actor: Actor,
    action: str,
    edit: Callable[[Session], T],
    *,
    target: str = "",
    detail: Callable[[T], dict[str, Any]] | None = None,
) -> tuple[T, Change]:
    """Run ``edit`` on a scratch copy of the hall's reference data, then write
    what changed to the centre with an audit entry and a version bump.

    The whole of it (reading the hall's data, the edit's checks, the write)
    holds the hall's reference lock: two administrators disabling each other
    at once would otherwise each check a copy where the other is still
    active, and the hall would be left with none; any two changes of one
    hall would each write back the copy it read, the second undoing the first.
    """
    with central.begin() as cconn:
        serialise(cconn, "reference", hall_code)
        with _scratch(cconn, hall_code) as (store, before):
            # Checked again under the lock: the one acting may have been
            # disabled by a change that went through while he signed in.
            if any(
                r["staff_no"] == actor.staff_no and not r["active"] for r in before["staff"]
            ):
                raise NotAllowed(f"工号 {actor.staff_no} 已被停用，不能修改中心库的基础数据")
            with store.session() as s:
                outcome = edit(s)
            with store.engine.connect() as lconn:
                after = {
                    t.name: [dict(r) for r in lconn.execute(select(t)).mappings()]
                    for t in reference_tables()
                }
        referenced = _referenced_tables()
        upserted = deleted = 0
        for table in reversed(reference_tables()):
            if table.name in referenced:
                continue
            keep = {_key(table, r) for r in after[table.name]}
            gone = [_key(table, r) for r in before[table.name] if _key(table, r) not in keep]
            ct = central_table(table.name)
            for key in gone:
                cond = [ct.c[HALL] == hall_code] + [
                    ct.c[c.name] == v for c, v in zip(table.primary_key.columns, key, strict=True)
                ]
                cconn.execute(delete(ct).where(*cond))
                deleted += 1
        for table in reference_tables():
            old = {_key(table, r): r for r in before[table.name]}
            changed = [r for r in after[table.name] if old.get(_key(table, r)) != r]
            if changed:
                _upsert(cconn, table, hall_code, changed)
                upserted += len(changed)
        # Nothing changed (say the same catalog imported again): the version
        # stays, so windows do not pull for nothing; the attempt is audited.
        version = (
            bump_version(cconn, hall_code)
            if upserted or deleted
            else _current_version(cconn, hall_code)
        )
        info = {"version": version, "upserted": upserted, "deleted": deleted}
        if detail is not None:
            info.update(detail(outcome))
        audit_id = audit(cconn, hall_code, actor, action, target=target, detail=info)
    log.info("central %s for hall %s by %s: %s", action, hall_code, actor.staff_no, info)
    return outcome, Change(version=version, upserted=upserted, deleted=deleted, audit_id=audit_id)


def _current_version(conn: Connection, hall_code: str) -> int:
    rv = central_table("ref_versions")
    return int(conn.scalar(select(rv.c.version).where(rv.c[HALL] == hall_code)) or 0)


def scratch_staff(session: Session, actor: Actor) -> Staff:
    """The acting staff member inside the scratch store (for domain functions
    that take one, e.g. holiday schedules)."""
    staff = session.scalar(select(Staff).where(Staff.staff_no == actor.staff_no))
    if staff is None:
        raise NotAllowed(f"工号 {actor.staff_no} 不在本大厅的工作人员中")
    return staff


def now_utc() -> datetime:
    return datetime.now(UTC)
