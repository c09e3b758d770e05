"""Push and pull connected as the window's own login, not as the owner.

What sync does at the centre must fit inside the window's rights (COPY into
a temporary staging table, INSERT … ON CONFLICT DO NOTHING, the chain heads,
its sync row, the reference data and the outbox), and what it must not do
is refused by the server: a window configured with another window's or
another hall's code pushes nothing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from hallapp.sync import BadRecord
from hallapp.sync.centre import add_fact_for_window, bump_version, central_engine
from hallapp.sync.pull import pull
from hallapp.sync.push import pending_count, push
from hallapp.sync.roles import grant_window, login_url

pytestmark = pytest.mark.postgres

PASSWORD = "window-login-password-1"


def _sync_fixtures():
    # tests/sync/conftest.py builds a real window store with facts; tests
    # cannot import a conftest, so load it by path.
    path = Path(__file__).resolve().parent.parent / "sync" / "conftest.py"
    spec = importlib.util.spec_from_file_location("hallapp_tests_sync_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_window = _sync_fixtures().make_window


def counts(engine: sa.Engine, table: str, where: str = "true") -> int:
    with engine.connect() as c:
        return int(c.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE {where}").scalar() or 0)


@pytest.fixture
def a05(seeded_central, tmp_path):
    owner = central_engine(seeded_central)
    granted = grant_window(owner, "LC", "A05", PASSWORD)
    as_window = central_engine(login_url(seeded_central, granted.login))
    window = make_window(tmp_path / "a05.sqlite3", "A05")
    yield window, as_window, owner
    window.store.dispose()
    as_window.dispose()
    owner.dispose()


def test_push_as_the_window_login(a05):
    window, as_window, owner = a05
    for level in (5, 1, None):
        window.new_case(level=level)
    before = counts(owner, "cases")
    result = push(window.store, as_window, hall_code="LC", window_code="A05", batch_size=2)
    assert result.pending == 0 and pending_count(window.store) == 0
    assert counts(owner, "cases") == before + 3
    assert counts(owner, "evaluations", "origin_window = 'A05' AND hall_code = 'LC'") == 1 + 2
    assert counts(owner, "chain_heads", "window_code = 'A05'") == 1
    assert counts(owner, "window_sync", "window_code = 'A05'") == 1
    again = push(window.store, as_window, hall_code="LC", window_code="A05")
    assert again.pushed == 0


def test_pull_as_the_window_login(a05):
    window, as_window, owner = a05
    case_id = window.new_case(level=1)
    push(window.store, as_window, hall_code="LC", window_code="A05")
    with owner.begin() as c:
        ev = c.exec_driver_sql(
            f"SELECT id FROM evaluations WHERE case_id = '{case_id}'"
        ).scalar_one()
        add_fact_for_window(
            c,
            "LC",
            "A05",
            "follow_up_steps",
            {"evaluation_id": ev, "kind": "verified", "note": "已核实"},
        )
        bump_version(c, "LC")  # the seeded reference data, as authoring would
    result = pull(window.store, as_window, hall_code="LC", window_code="A05")
    assert result.facts == 1, result
    assert result.reference_changed, result
    with window.store.engine.connect() as c:
        assert (
            c.exec_driver_sql(
                "SELECT note FROM follow_up_steps WHERE origin_window = '@centre'"
            ).scalar()
            == "已核实"
        )
        # Only its own hall's reference data came down.
        assert c.exec_driver_sql("SELECT count(*) FROM windows").scalar() == 2


@pytest.mark.parametrize(("hall", "window_code"), [("LD", "A05"), ("LC", "A06")])
def test_a_window_cannot_push_as_another(a05, tmp_path, hall, window_code):
    """The A05 login pushes a store whose facts claim another hall or window."""
    _a05, as_window, owner = a05
    other = make_window(tmp_path / "other.sqlite3", window_code)
    try:
        other.new_case(level=4)
        before = counts(owner, "applicants")
        with pytest.raises(BadRecord) as info:
            push(other.store, as_window, hall_code=hall, window_code=window_code)
        assert info.value.table == "applicants" and info.value.record_id != "?"
        assert "row-level security" in str(info.value)
        # Said in Chinese too, with what to do.
        assert "记录不属于本窗口" in str(info.value) and "hallapp db check" in str(info.value)
        assert counts(owner, "applicants") == before
        assert pending_count(other.store) > 0  # nothing marked as sent
    finally:
        other.store.dispose()


def test_a_supervisors_follow_up_as_the_supervisor_login(a05, seeded_central):
    """sync's own centre-side writes (a follow-up step for a window, the audit
    entry) fit the supervisors' login, and reach the window on its next pull."""
    from hallapp.sync.centre import Actor, audit
    from hallapp.sync.roles import grant_supervisor

    window, as_window, owner = a05
    case_id = window.new_case(level=2)
    push(window.store, as_window, hall_code="LC", window_code="A05")
    login = grant_supervisor(owner, f"{owner.url.database}_sup", PASSWORD, hall_code="LC").login
    as_supervisor = central_engine(login_url(seeded_central, login))
    try:
        with as_supervisor.begin() as c:
            ev = c.exec_driver_sql(
                f"SELECT id FROM evaluations WHERE case_id = '{case_id}'"
            ).scalar_one()
            add_fact_for_window(
                c,
                "LC",
                "A05",
                "follow_up_steps",
                {"evaluation_id": ev, "kind": "called_back", "note": "已回访"},
            )
            audit(c, "LC", Actor("9001", "supervisor"), "follow_up", target=ev)
        # ... but it cannot write for another hall
        with (
            pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
            as_supervisor.begin() as c,
        ):
            audit(c, "LD", Actor("9001", "supervisor"), "follow_up", target=ev)
    finally:
        as_supervisor.dispose()
    result = pull(window.store, as_window, hall_code="LC", window_code="A05")
    assert result.facts == 1
    assert counts(owner, "audit_entries", "origin_window = '@centre' AND hall_code = 'LC'") == 1


def test_the_supervisor_view_works_a_follow_up_as_the_supervisor_login(a05, seeded_central):
    """What hallapp-supervisor does on an office PC (followup.act on the
    central store) fits the grant-supervisor login's row-level security."""
    from hallapp.followup import Action, act
    from hallapp.security import hash_password
    from hallapp.store import Store
    from hallapp.sync.roles import grant_supervisor
    from hallapp.sync.schema import central_table

    window, as_window, owner = a05
    case_id = window.new_case(level=1)
    push(window.store, as_window, hall_code="LC", window_code="A05")
    with owner.begin() as c:
        c.execute(central_table("staff").insert().values(
            hall_code="LC", id="sup-LC", staff_no="9001", name="林海燕", department_code="ZJJ",
            role="supervisor", password_hash=hash_password("654321"), active=True))
        bump_version(c, "LC")  # the window learns who the supervisor is
    login = grant_supervisor(owner, f"{owner.url.database}_sup", PASSWORD, hall_code="LC").login
    office = Store(central_engine(login_url(seeded_central, login)))
    try:
        with office.session() as s:
            ev = s.connection().exec_driver_sql(
                f"SELECT id FROM evaluations WHERE case_id = '{case_id}'").scalar_one()
            act(s, ev, Action.VERIFY, staff_id="sup-LC", note="已核实：材料退回两次",
                window_code="")
    finally:
        office.dispose()
    assert counts(owner, "follow_up_steps",
                  "note = '已核实：材料退回两次' AND origin_window = '@centre'") == 1
    assert counts(owner, "audit_entries", "action = 'follow_up.verified' AND hall_code = 'LC'") == 1
    assert pull(window.store, as_window, hall_code="LC", window_code="A05").facts == 1
    with window.store.session() as s:
        notes = s.connection().exec_driver_sql("SELECT note FROM follow_up_steps").scalars().all()
    assert "已核实：材料退回两次" in notes


def test_join_with_another_windows_login_is_refused_naming_whose_it_is(
    seeded_central, tmp_path, monkeypatch, capsys
):
    """Not accepted and then refused at every push, in English."""
    from hallapp.cli import main

    owner = central_engine(seeded_central)
    try:
        granted = grant_window(owner, "LC", "A05", PASSWORD)
    finally:
        owner.dispose()
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    local = tmp_path / "a01.sqlite3"
    code = main(["window", "join", "--central", login_url(seeded_central, granted.login),
                 "--hall", "LC", "--window", "A06", "--db", f"sqlite:///{local}"])
    err = capsys.readouterr().err
    assert code != 0
    assert f"登录 {granted.login} 是发给大厅 LC 窗口 A05 的" in err
    assert "grant-window --hall LC --window A06" in err


def test_a_windows_login_cannot_push_a_supervisors_decision_made_after_it_joined(a05) -> None:
    """A 办结 typed into the window's file with sqlite3 after the window joined:
    the server refuses it from the window's login, naming the record."""
    import sqlite3
    from datetime import UTC, datetime

    window, as_window, owner = a05
    case_id = window.new_case(level=1)
    push(window.store, as_window, hall_code="LC", window_code="A05")  # joined
    raw = sqlite3.connect(window.store.engine.url.database)
    ev = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (case_id,)).fetchone()[0]
    raw.execute(
        "INSERT INTO follow_up_steps (evaluation_id, kind, staff_id, note, id, origin_window, "
        "created_at) VALUES (?, 'closed', ?, '办结', 'hand-close-1', 'A05', ?)",
        (ev, window.clerk_id, datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")))
    raw.commit()
    raw.close()
    with pytest.raises(BadRecord) as info:
        push(window.store, as_window, hall_code="LC", window_code="A05")
    assert info.value.record_id == "hand-close-1"
    assert "监督管理人员在中心库的操作" in str(info.value)
    assert counts(owner, "follow_up_steps", "id = 'hand-close-1'") == 0
