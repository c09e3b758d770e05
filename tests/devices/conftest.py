"""Fixtures for the evaluator tests: a real SQLite store, reference rows, real ptys."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hallapp.devices.bridge import EvaluatorBridge
from hallapp.devices.driver import DriverEvent, DriverState, EvaluatorDriver
from hallapp.devices.simulator import Simulator
from sqlalchemy import func, select

from hallapp.evaluation import EvaluationDesk
from hallapp.models import (
    Applicant,
    ApplicantKind,
    Case,
    CaseEvent,
    CaseEventKind,
    Department,
    Evaluation,
    Role,
    ServiceItem,
    Staff,
)
from hallapp.store import Store, sqlite_url

WINDOW = "A03"


@dataclass
class Hall:
    """Reference rows for evaluation tests and a factory of fresh cases."""

    store: Store
    clerk_id: str
    clerk_name: str
    supervisor_id: str
    other_clerk_id: str
    item_code: str
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_case(
        self,
        *,
        organisation: bool = False,
        encounter: CaseEventKind | None = CaseEventKind.HANDED_OVER,
    ) -> str:
        """A case whose last service event is ``encounter`` (the citizen is at the window)."""
        n = next(self._counter)
        with self.store.session() as s:
            applicant = Applicant(
                origin_window=WINDOW,
                kind=ApplicantKind.ORGANISATION if organisation else ApplicantKind.PERSON,
                name="连城县翔宇建筑有限公司" if organisation else "李明",
                uscc="91350825MA2YH1X0XK" if organisation else None,
                id_number=None if organisation else "350825199001011234",
            )
            s.add(applicant)
            s.flush()
            case = Case(
                origin_window=WINDOW,
                case_no=f"LC{WINDOW}20261120{n:04d}",
                item_code=self.item_code,
                applicant_id=applicant.id,
                window_code=WINDOW,
                department_code="ZJJ",
                first_responder_id=self.clerk_id,
            )
            s.add(case)
            s.flush()
            if encounter is not None:
                s.add(
                    CaseEvent(
                        origin_window=WINDOW,
                        # Before any clock of the tests: the evaluations follow it.
                        created_at=datetime(2026, 1, 5, 2, 0, tzinfo=UTC),
                        case_id=case.id,
                        seq=1,
                        kind=encounter,
                        staff_id=self.clerk_id,
                        data={},
                    )
                )
                s.flush()
            return case.id

    # ---------------------------------------------------------------- queries

    def evaluations(self) -> list[Evaluation]:
        with self.store.session() as s:
            return list(s.scalars(select(Evaluation).order_by(Evaluation.created_at)))

    def evaluation_count(self) -> int:
        with self.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(Evaluation)) or 0)

    def events(self, case_id: str) -> list[CaseEvent]:
        with self.store.session() as s:
            return list(
                s.scalars(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case_id)
                    .order_by(CaseEvent.created_at, CaseEvent.seq)
                )
            )

    def event_kinds(self, case_id: str) -> list[CaseEventKind]:
        return [CaseEventKind(e.kind) for e in self.events(case_id)]


def make_hall(store: Store) -> Hall:
    with store.session() as s:
        s.add(Department(code="ZJJ", name="连城县住房和城乡建设局", phone="0597-8921234"))
        s.flush()
        clerk = Staff(
            staff_no="1001",
            name="张丽华",
            title="综合受理员",
            department_code="ZJJ",
            role=Role.CLERK,
            password_hash="not-used-here",
        )
        other = Staff(
            staff_no="1002",
            name="陈志强",
            title="综合受理员",
            department_code="ZJJ",
            role=Role.CLERK,
            password_hash="not-used-here",
        )
        supervisor = Staff(
            staff_no="9001",
            name="王建国",
            title="中心督查科科长",
            department_code="ZJJ",
            role=Role.SUPERVISOR,
            password_hash="not-used-here",
        )
        item = ServiceItem(
            code="ZJ-001",
            name="建筑工程施工许可证核发",
            department_code="ZJJ",
            legal_days=20,
            promised_days=8,
        )
        s.add_all([clerk, other, supervisor, item])
        s.flush()
        return Hall(
            store=store,
            clerk_id=clerk.id,
            clerk_name=clerk.name,
            supervisor_id=supervisor.id,
            other_clerk_id=other.id,
            item_code=item.code,
        )


@pytest.fixture
def eval_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(sqlite_url(tmp_path / "window.sqlite3"))
    yield store
    store.dispose()


@pytest.fixture
def hall(eval_store: Store) -> Hall:
    return make_hall(eval_store)


class FakeClock:
    """A settable clock for the desk (aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 10:00 in China

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class Rig:
    """A window: simulator on a real pty ↔ driver ↔ bridge ↔ desk ↔ SQLite."""

    hall: Hall
    sim: Simulator
    driver: EvaluatorDriver
    desk: EvaluationDesk
    bridge: EvaluatorBridge
    port: str
    events: list[DriverEvent]


@pytest.fixture
def make_rig(hall: Hall, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(protocol: str = "framed", *, timeout_s: int = 30, **driver_kw: object) -> Rig:
        sim = Simulator(protocol, keymap=driver_kw.pop("keymap", None))  # type: ignore[arg-type]
        port = sim.start_pty(link=tmp_path / f"evaluator-{len(rigs)}")
        events: list[DriverEvent] = []
        driver = EvaluatorDriver(
            port,
            protocol=protocol,
            keymap=sim.keymap,
            on_event=events.append,
            **driver_kw,  # type: ignore[arg-type]
        )
        desk = EvaluationDesk(hall.store, WINDOW, timeout_s=timeout_s)
        bridge = EvaluatorBridge(driver, desk)
        driver.start()
        assert driver.wait_for_state(DriverState.CONNECTED, 3)
        rig = Rig(hall, sim, driver, desk, bridge, port, events)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.driver.stop()
        rig.desk.close()
        rig.sim.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0, step: float = 0.01) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture
def until() -> Callable[..., bool]:
    return wait_until


@pytest.fixture
def pg_hall(pg_store: Store) -> Hall:
    """The same reference rows in a fresh PostgreSQL database (the root conftest's pg_store)."""
    return make_hall(pg_store)
