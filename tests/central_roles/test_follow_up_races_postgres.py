"""Two supervisors acting on one 差评 follow-up at the same moment on a
PostgreSQL centre (two office PCs, two connections): the second sees the
first one's step and gets the ordinary Chinese refusal; only one decision is
recorded, so an appeal is never both 申诉成立 and 申诉不成立."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import hallapp.followup as followup
from hallapp.evaluation import FollowUpError
from hallapp.followup import Action, act
from hallapp.security import hash_password
from hallapp.store import Store
from hallapp.sync.centre import bump_version, central_engine
from hallapp.sync.push import push
from hallapp.sync.roles import grant_window, login_url
from hallapp.sync.schema import central_table
from tests.central_roles.test_sync_as_window_login import PASSWORD, make_window

pytestmark = pytest.mark.postgres

SUPERVISORS = (("sup-1", "9001"), ("sup-2", "9002"), ("sup-3", "9004"))


@pytest.fixture
def centre(seeded_central: str, tmp_path: Any) -> Iterator[tuple[Any, str]]:
    """Window A05 with a 差评 pushed to the centre; three supervisors there."""
    owner = central_engine(seeded_central)
    as_window = central_engine(login_url(seeded_central, grant_window(
        owner, "LC", "A05", PASSWORD).login))
    window = make_window(tmp_path / "a05.sqlite3", "A05")
    try:
        with owner.begin() as c:
            for sid, no in SUPERVISORS:
                c.execute(central_table("staff").insert().values(
                    hall_code="LC", id=sid, staff_no=no, name=f"督查{no}",
                    department_code="ZJJ", role="supervisor",
                    password_hash=hash_password("654321"), active=True))
            bump_version(c, "LC")
        case_id = window.new_case(level=1)
        push(window.store, as_window, hall_code="LC", window_code="A05")
        with owner.connect() as c:
            ev = c.execute(sa.text("SELECT id FROM evaluations WHERE case_id = :c"),
                           {"c": case_id}).scalar_one()
        yield owner, str(ev)
    finally:
        window.store.dispose()
        as_window.dispose()
        owner.dispose()


def _one(owner: sa.Engine, ev: str, action: Action, staff_id: str) -> None:
    office = Store(central_engine(owner.url.render_as_string(hide_password=False)))
    try:
        with office.session() as s:
            act(s, ev, action, staff_id=staff_id, note=f"{action.label}：已查明", window_code="")
    finally:
        office.dispose()


def _at_once(
    monkeypatch: pytest.MonkeyPatch, owner: sa.Engine, ev: str,
    clicks: list[tuple[Action, str]],
) -> list[str]:
    """Each (action, supervisor) from its own thread and connection; both read
    the steps before either writes, unless the first holds the follow-up
    until it is done (then the wait below times out)."""
    both_read = threading.Barrier(len(clicks))
    real: Callable[..., Any] = followup._pending_appeal

    def pending_then_wait(history: Any) -> Any:
        out = real(history)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=2)
        return out

    monkeypatch.setattr(followup, "_pending_appeal", pending_then_wait)
    outcome: list[str] = ["" for _ in clicks]

    def click(i: int, action: Action, staff_id: str) -> None:
        try:
            _one(owner, ev, action, staff_id)
            outcome[i] = "ok"
        except FollowUpError as exc:
            outcome[i] = str(exc)
        except Exception as exc:  # what the supervisor must never see
            outcome[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=click, args=(i, a, s))
               for i, (a, s) in enumerate(clicks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    monkeypatch.setattr(followup, "_pending_appeal", real)
    return outcome


def _kinds(owner: sa.Engine, ev: str) -> list[str]:
    with owner.connect() as c:
        return list(c.execute(sa.text(
            "SELECT kind FROM follow_up_steps WHERE evaluation_id = :e ORDER BY created_at"),
            {"e": ev}).scalars())


def test_two_supervisors_deciding_one_appeal_at_once_only_one_decision_stands(
    centre: tuple[sa.Engine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, ev = centre
    _one(owner, ev, Action.APPEAL, "sup-1")
    outcome = _at_once(monkeypatch, owner, ev, [(Action.UPHOLD, "sup-2"),
                                                (Action.REFUSE, "sup-3")])
    # The second is told what the first did: upheld ends the follow-up, a
    # rejection leaves no appeal to decide.
    assert outcome in (["ok", "申诉已成立，该评价不计入统计，整改跟踪已结束"],
                       ["没有待审核的申诉", "ok"]), outcome
    decisions = [k for k in _kinds(owner, ev) if k in ("appeal_upheld", "appeal_rejected")]
    assert decisions == (["appeal_upheld"] if outcome[0] == "ok" else ["appeal_rejected"])
    with owner.connect() as c:
        audited = c.execute(sa.text(
            "SELECT count(*) FROM audit_entries WHERE action IN "
            "('follow_up.appeal_upheld', 'follow_up.appeal_rejected')")).scalar_one()
    assert audited == 1


def test_two_supervisors_closing_one_follow_up_at_once_close_it_once(
    centre: tuple[sa.Engine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, ev = centre
    _one(owner, ev, Action.CALL_BACK, "sup-1")
    _one(owner, ev, Action.RECTIFY, "sup-1")
    outcome = _at_once(monkeypatch, owner, ev, [(Action.CLOSE, "sup-2"),
                                                (Action.CLOSE, "sup-3")])
    assert sorted(outcome) == ["ok", "整改跟踪已办结"], outcome
    assert _kinds(owner, ev).count("closed") == 1
