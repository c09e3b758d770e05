"""The whole 一件事 with separate processes on the real PostgreSQL, each with its own login.

The 综合窗口 (its SQLite store, its window login) takes a bundle; two
department back offices (市场监管, late; 公积金, asking for a material) decide
in parallel, each in its own process and PostgreSQL login; the window urges
the late one, gets the answers in its pull and hands out once; the
supervisors' tally shows the late department.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hallapp.bundles import backoffice
from hallapp.bundles.desk import BundleCheck, BundleDesk
from hallapp.bundles.state import SubCaseState
from hallapp.intake import ApplicantInput, Intake, MaterialStatus
from hallapp.models import ApplicantKind, Bundle, Staff
from hallapp.reports.bundles import department_figures, late_list
from hallapp.reports.periods import month
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
FORK = mp.get_context("fork")
LOGIN_PW = "Process-login-pw-2026"


def _as(url: str, login: str) -> sa.Engine:
    return sa.create_engine(make_url(url).set(username=login, password=None),
                            hide_parameters=True)  # fmt: skip


def _run(target: Callable[..., None], *args: Any) -> mp.Process:
    def guarded() -> None:
        try:
            target(*args)
        except BaseException:
            traceback.print_exc()
            raise SystemExit(1) from None

    p = FORK.Process(target=guarded)
    p.start()
    return p


def _join(*procs: mp.Process) -> None:
    for p in procs:
        p.join(120)
        assert p.exitcode == 0, f"{p.name} failed ({p.exitcode})"


def _desk(db: Path, when: Any, central: sa.Engine) -> tuple[Store, BundleDesk, str]:
    """The window's store after a pull (what the centre wrote for it is in)."""
    store = Store.open(sqlite_url(db))
    pull(store, central, hall_code=HALL, window_code=WINDOW)
    desk = BundleDesk(Intake(store, config(), clock=lambda: when))
    with store.read() as s:
        me = s.scalars(sa.select(Staff.id).where(Staff.staff_no == CLERK_NO)).one()
    return store, desk, me


def window_takes(db: str, url: str, login: str, out: Any) -> None:
    central = _as(url, login)
    store, desk, me = _desk(Path(db), at(0), central)
    with store.read() as s:
        b = s.get(Bundle, KAIBAN)
        assert b is not None
        checks = [BundleCheck(m.id, MaterialStatus.PRESENT) for m in b.materials]
    company = ApplicantInput(kind=ApplicantKind.ORGANISATION, name="连城县冠豸山文旅发展有限公司",
                             uscc="91350825MA31K7XQ5P", phone="13905971234")  # fmt: skip
    opened = desk.open(me, KAIBAN, company)
    view, _, _ = desk.decide(opened.id, me, checks)
    push(store, central, hall_code=HALL, window_code=WINDOW)
    out.put(view.id)


def window_urges(db: str, url: str, login: str, bundle_case_id: str) -> None:
    central = _as(url, login)
    store, desk, me = _desk(Path(db), at(2), central)
    by_dep = {m.department_code: m for m in desk.view(bundle_case_id).members}
    assert by_dep["SCJ"].late and by_dep["SCJ"].state is SubCaseState.PENDING
    assert by_dep["GJJ"].state is SubCaseState.MATERIAL_REQUESTED
    desk.urge(bundle_case_id, by_dep["SCJ"].case_id, me, "已超过承诺时限，请今日办结")
    desk.forward_material(bundle_case_id, by_dep["GJJ"].case_id, me)
    push(store, central, hall_code=HALL, window_code=WINDOW)


def window_hands_over(db: str, url: str, login: str, bundle_case_id: str) -> None:
    central = _as(url, login)
    store, desk, me = _desk(Path(db), at(2, 8), central)
    view, notice, _ = desk.hand_over(bundle_case_id, me)
    assert view.handed_over and notice.outcome.startswith("全部办结")
    push(store, central, hall_code=HALL, window_code=WINDOW)


def back_office(url: str, login: str, staff_no: str, step: str) -> None:
    central = _as(url, login)
    officer = backoffice.sign_in(central, HALL, staff_no, PASSWORD)
    (sub,) = backoffice.queue(central, HALL, officer)
    if step == "ask":
        backoffice.request_material(central, HALL, officer, sub.case_id, ["职工花名册"],
                                    now=at(1, 1))  # fmt: skip
    elif step == "wait":
        assert sub.state is SubCaseState.PENDING  # 市场监管 sits on it
    elif step == "late":
        assert sub.urges == 1
        backoffice.approve(central, HALL, officer, sub.case_id, now=at(2, 3))
    else:
        assert sub.state is SubCaseState.PENDING and sub.deadline == date(2026, 11, 19)
        backoffice.approve(central, HALL, officer, sub.case_id, now=at(2, 4))


def test_window_and_two_back_offices_in_their_own_processes(pg_url: str, tmp_path: Path) -> None:
    init_central(pg_url)
    owner = central_engine(pg_url)
    db = tmp_path / "window-B01.sqlite3"
    try:
        author_hall(owner)
        Store.open(sqlite_url(db)).dispose()
        w = roles.grant_window(owner, HALL, WINDOW, LOGIN_PW).login
        scj = roles.grant_back_office(owner, HALL, "SCJ", LOGIN_PW).login
        gjj = roles.grant_back_office(owner, HALL, "GJJ", LOGIN_PW).login
        out = FORK.Queue()
        p = _run(window_takes, str(db), pg_url, w, out)
        _join(p)
        bundle_case_id = out.get(timeout=5)
        # In parallel: 公积金 asks for a material, 市场监管 lets its deadline pass.
        _join(_run(back_office, pg_url, gjj, GJJ_NO, "ask"),
              _run(back_office, pg_url, scj, SCJ_NO, "wait"))  # fmt: skip
        # The three other departments decide on time (as the centre's owner here).
        me = backoffice.sign_in(owner, HALL, SCJ_NO, PASSWORD)
        for dep in ("GAJ", "SWJ", "RSJ"):
            officer = backoffice.BackOfficer(me.staff_id, me.staff_no, me.name, dep, dep)
            (sub,) = backoffice.queue(owner, HALL, officer)
            backoffice.approve(owner, HALL, officer, sub.case_id, now=at(1, 2))
        _join(_run(window_urges, str(db), pg_url, w, bundle_case_id))
        _join(_run(back_office, pg_url, scj, SCJ_NO, "late"),
              _run(back_office, pg_url, gjj, GJJ_NO, "approve"))  # fmt: skip
        _join(_run(window_hands_over, str(db), pg_url, w, bundle_case_id))

        with owner.connect() as c:
            figs = {f.department_code: f for f in department_figures(
                c, month(2026, 11), as_of=date(2026, 11, 30), hall=HALL)}  # fmt: skip
            listed = late_list(c, month(2026, 11), as_of=date(2026, 11, 30), hall=HALL)
            handed = c.execute(sa.text(
                "SELECT count(*) FROM case_events WHERE hall_code = 'LC' AND kind = 'handed_over'"
            )).scalar()  # fmt: skip
        assert (figs["SCJ"].late, figs["SCJ"].urges) == (1, 1)
        assert (figs["GJJ"].on_time, figs["GJJ"].late, figs["GJJ"].violations) == (1, 0, 1)
        assert [r.department_code for r in listed] == ["SCJ"]
        assert handed == 5  # handed out once: one hand-over per member, in one step
    finally:
        roles.drop_all_roles(owner)
        owner.dispose()
