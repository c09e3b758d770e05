"""On PostgreSQL a back-office login sees and adds only its own department's sub-case facts.

The server refuses the rest (row-level security and grants), whatever the
client: checked with statements sent as the login itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hallapp.bundles import backoffice
from hallapp.bundles.backoffice import BackOfficeError
from hallapp.bundles.desk import BundleCheck, BundleDesk
from hallapp.intake import ApplicantInput, Intake, MaterialStatus
from hallapp.models import ApplicantKind, Bundle, Staff
from hallapp.store import Store, sqlite_url
from hallapp.sync import roles
from hallapp.sync.centre import central_engine, init_central
from hallapp.sync.pull import pull
from hallapp.sync.push import push
from tests.bundles.flow import (
    CLERK_NO,
    GJJ_NO,
    HALL,
    KAIBAN,
    PASSWORD,
    SCJ_NO,
    WINDOW,
    at,
    author_hall,
    config,
)

pytestmark = pytest.mark.postgres
LOGIN_PW = "Back-office-pw-2026"


@pytest.fixture
def centre(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, sa.Engine, dict[str, str]]]:
    """A PostgreSQL centre with one accepted 开办企业一件事 and logins for 市场监管 and 公积金."""
    init_central(pg_url)
    engine = central_engine(pg_url)
    try:
        author_hall(engine)
        store = Store.open(sqlite_url(tmp_path / "w.sqlite3"))
        pull(store, engine, hall_code=HALL, window_code=WINDOW)
        desk = BundleDesk(Intake(store, config(), clock=lambda: at(0)))
        with store.read() as s:
            me = s.scalars(sa.select(Staff.id).where(Staff.staff_no == CLERK_NO)).one()
            b = s.get(Bundle, KAIBAN)
            assert b is not None
            checks = [BundleCheck(m.id, MaterialStatus.PRESENT) for m in b.materials]
        company = ApplicantInput(
            kind=ApplicantKind.ORGANISATION,
            name="连城县冠豸山文旅发展有限公司",
            uscc="91350825MA31K7XQ5P",
            phone="13905971234",
        )
        opened = desk.open(me, KAIBAN, company)
        view, _, _ = desk.decide(opened.id, me, checks)
        push(store, engine, hall_code=HALL, window_code=WINDOW)
        store.dispose()
        cases = {m.department_code: m.case_id for m in view.members}
        scj = roles.grant_back_office(engine, HALL, "SCJ", LOGIN_PW)
        gjj = roles.grant_back_office(engine, HALL, "GJJ", LOGIN_PW)
        logins = {"SCJ": scj.login, "GJJ": gjj.login, **{f"case:{k}": v for k, v in cases.items()}}
        yield pg_url, engine, logins
    finally:
        roles.drop_all_roles(engine)
        engine.dispose()


def as_login(url: str, login: str) -> sa.Engine:
    u = make_url(url).set(username=login, password=None)
    return sa.create_engine(u, hide_parameters=True)


def test_a_back_office_login_decides_its_own_sub_case_and_nothing_else(
    centre: tuple[str, sa.Engine, dict[str, str]],
) -> None:
    url, _, logins = centre
    scj_engine = as_login(url, logins["SCJ"])
    try:
        officer = backoffice.sign_in(scj_engine, HALL, SCJ_NO, PASSWORD)
        queue = backoffice.queue(scj_engine, HALL, officer)
        assert [s.item_code for s in queue] == ["SCJ-DJ-002"]
        backoffice.approve(scj_engine, HALL, officer, queue[0].case_id, now=at(0, 3))
        # Another department's sub-case is not there for this login at all.
        with pytest.raises(BackOfficeError, match="不属于本部门"):
            backoffice.approve(scj_engine, HALL, officer, logins["case:GJJ"], now=at(0, 3))
        other = logins["case:GJJ"]
        with scj_engine.connect() as c:
            seen = c.execute(sa.text("SELECT count(*) FROM case_events WHERE case_id = :c"),
                             {"c": other}).scalar()  # fmt: skip
            assert seen == 0
            assert c.execute(sa.text("SELECT count(*) FROM bundle_case_members")).scalar() == 1
            assert c.execute(sa.text("SELECT count(*) FROM cases")).scalar() == 1
        refused = [
            # a decision on another department's sub-case
            ("INSERT INTO case_events (hall_code, id, origin_window, created_at, case_id, seq,"
             " kind, data) VALUES ('LC', 'x1', '@centre', now(), :other, 9,"
             " 'department_approved', '{}')", "row-level security"),
            # a kind a back office does not write, on its own case
            ("INSERT INTO case_events (hall_code, id, origin_window, created_at, case_id, seq,"
             " kind, data) VALUES ('LC', 'x2', '@centre', now(), :mine, 9, 'handed_over', '{}')",
             "row-level security"),
            # as if it were the window
            ("INSERT INTO case_events (hall_code, id, origin_window, created_at, case_id, seq,"
             " kind, data) VALUES ('LC', 'x3', 'B01', now(), :mine, 9, 'department_approved',"
             " '{}')", "row-level security"),
            ("UPDATE case_events SET data = '{}' WHERE case_id = :mine", "permission denied"),
            ("DELETE FROM bundle_case_members", "permission denied"),
            ("SELECT count(*) FROM evaluations", "permission denied"),
            ("INSERT INTO centre_outbox (hall_code, window_code, table_name, row_id)"
             " VALUES ('LC', 'B01', 'evaluations', 'x4')", "row-level security"),
        ]  # fmt: skip
        for sql, why in refused:
            with pytest.raises(sa.exc.DBAPIError, match=why), scj_engine.begin() as c:
                c.execute(sa.text(sql), {"other": other, "mine": queue[0].case_id})
    finally:
        scj_engine.dispose()
    # The other department's login sees its own, and the first's decision not at all.
    gjj_engine = as_login(url, logins["GJJ"])
    try:
        officer = backoffice.sign_in(gjj_engine, HALL, GJJ_NO, PASSWORD)
        (sub,) = backoffice.queue(gjj_engine, HALL, officer)
        assert sub.item_code == "GJJ-DJ-001"
        backoffice.request_material(gjj_engine, HALL, officer, sub.case_id, ["职工花名册"],
                                    now=at(0, 4))  # fmt: skip
        with gjj_engine.connect() as c:
            kinds = c.execute(sa.text("SELECT kind FROM case_events ORDER BY seq")).scalars().all()
        assert "department_approved" not in kinds
        assert kinds[-2:] == ["material_requested", "one_time_violation"]
    finally:
        gjj_engine.dispose()
