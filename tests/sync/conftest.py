"""Fixtures for sync: a window's real SQLite store with facts, and a central store
that is a real SQLite file or a fresh database on the real PostgreSQL server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hallapp.evaluation import open_evaluation, record_evaluation
from hallapp.models import (
    Applicant,
    ApplicantKind,
    Case,
    CaseEvent,
    CaseEventKind,
    Department,
    ItemKind,
    Role,
    ServiceItem,
    Staff,
)
from hallapp.security import hash_password
from hallapp.store import Store, sqlite_url

HALL = "LC"
PASSWORD_HASH = hash_password("123456")


@dataclass
class WindowFixture:
    """One window's local store with reference rows and a factory of facts."""

    store: Store
    code: str
    clerk_id: str
    item_code: str
    _n: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_case(self, *, level: int | None = 5) -> str:
        """A case with its applicant, an opened evaluation event and (unless
        ``level`` is None) an evaluation of that level."""
        n = next(self._n)
        with self.store.session() as s:
            applicant = Applicant(
                origin_window=self.code,
                kind=ApplicantKind.PERSON,
                name="李明",
                id_number="350825199001011234",
            )
            s.add(applicant)
            s.flush()
            case = Case(
                origin_window=self.code,
                case_no=f"{HALL}{self.code}20261120{n:04d}",
                item_code=self.item_code,
                applicant_id=applicant.id,
                window_code=self.code,
                department_code="ZJJ",
                first_responder_id=self.clerk_id,
            )
            s.add(case)
            s.flush()
            if level is not None:
                # 一次一评: the evaluation follows a service at the window (出件 here).
                s.add(
                    CaseEvent(
                        origin_window=self.code,
                        case_id=case.id,
                        seq=1,
                        kind=CaseEventKind.HANDED_OVER,
                        staff_id=self.clerk_id,
                        data={},
                    )
                )
                s.flush()
                opened = open_evaluation(s, case.id, self.code, 60)
                reasons = ["服务态度差"] if level <= 2 else []
                record_evaluation(s, opened, level, reasons)
            return case.id


def make_window(path: Path, code: str = "A03") -> WindowFixture:
    """A window's store with the reference rows its facts refer to."""
    store = Store.open(sqlite_url(path))
    with store.session() as s:
        s.add(Department(code="ZJJ", name="连城县住房和城乡建设局", phone="0597-8921234"))
        s.flush()
        clerk = Staff(staff_no="1001", name="张丽华", title="综合受理员", department_code="ZJJ",
                      role=Role.CLERK, password_hash=PASSWORD_HASH)
        item = ServiceItem(code="ZJ-001", name="建筑工程施工许可证核发", department_code="ZJJ",
                           kind=ItemKind.PROMISED, legal_days=20, promised_days=8)
        s.add_all([clerk, item])
        s.flush()
        clerk_id = clerk.id
    return WindowFixture(store=store, code=code, clerk_id=clerk_id, item_code="ZJ-001")


@pytest.fixture
def make_window_store():
    """make_window(path, code) for tests that need more than one window."""
    return make_window


@pytest.fixture
def window(tmp_path: Path) -> Iterator[WindowFixture]:
    w = make_window(tmp_path / "window-A03.sqlite3")
    yield w
    w.store.dispose()
