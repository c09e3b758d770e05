"""Fixtures for the catalog tests: the shipped sample, and a snapshot of the store.

The stores themselves (``store``: a fresh migrated SQLite file in tmp_path;
``pg_store``: a fresh PostgreSQL database, dropped after the test) come from
tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hallapp.models import (
    AuditEntry,
    Department,
    DepartmentContact,
    MaterialRequirement,
    ServiceItem,
    Staff,
    Window,
)
from hallapp.store import Store


@pytest.fixture
def sample_catalog() -> Path:
    path = Path(str(resources.files("hallapp.resources") / "catalog.toml"))
    assert path.is_file()
    return path


def _rows(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every reference row as plain tuples, including ids, hashes and photos."""
    with store.session() as s:
        return {
            "departments": [
                (d.code, d.name, d.phone, d.address, d.duties)
                for d in s.scalars(select(Department).order_by(Department.code))
            ],
            "contacts": [
                (c.id, c.department_code, c.seq, c.name, c.title, c.phone, c.matters)
                for c in s.scalars(select(DepartmentContact).order_by(DepartmentContact.id))
            ],
            "items": [
                (
                    i.code,
                    i.name,
                    i.department_code,
                    i.kind,
                    i.legal_days,
                    i.promised_days,
                    i.scope,
                    i.procedure,
                    i.conditions,
                    i.fees,
                    i.legal_basis,
                    i.pinyin,
                    i.active,
                )
                for i in s.scalars(select(ServiceItem).order_by(ServiceItem.code))
            ],
            "materials": [
                (
                    m.id,
                    m.item_code,
                    m.seq,
                    m.name,
                    m.form,
                    m.copies,
                    m.required,
                    m.deferrable,
                    m.note,
                )
                for m in s.scalars(select(MaterialRequirement).order_by(MaterialRequirement.id))
            ],
            "windows": [
                (w.code, w.name, w.department_code, w.active)
                for w in s.scalars(select(Window).order_by(Window.code))
            ],
            "staff": [
                (
                    p.id,
                    p.staff_no,
                    p.name,
                    p.title,
                    p.phone,
                    p.department_code,
                    p.role,
                    p.password_hash,
                    p.photo,
                    p.commitments,
                    p.active,
                )
                for p in s.scalars(select(Staff).order_by(Staff.staff_no))
            ],
            "audit": [
                (a.id, a.action) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ],
        }


@pytest.fixture
def snapshot() -> Callable[[Store], dict[str, list[tuple[Any, ...]]]]:
    return _rows
