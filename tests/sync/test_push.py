"""Push window → centre: every fact once, in foreign-key order, resumable, exact pending."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Engine, func, select

from hallapp.sync.push import pending_count, push
from hallapp.sync.schema import HALL as HALL_COL
from hallapp.sync.schema import central_table, fact_tables

HALL = "LC"


def central_counts(central: Engine) -> dict[str, int]:
    with central.connect() as c:
        return {
            t.name: int(c.scalar(select(func.count()).select_from(central_table(t.name))) or 0)
            for t in fact_tables()
        }


def local_counts(window: Any) -> dict[str, int]:
    with window.store.engine.connect() as c:
        return {
            t.name: int(c.exec_driver_sql(f"SELECT count(*) FROM {t.name}").scalar() or 0)
            for t in fact_tables()
        }


def test_every_fact_arrives_once(window: Any, central: Engine) -> None:
    for level in (5, 4, 1, None):
        window.new_case(level=level)
    before = pending_count(window.store)
    assert before == sum(local_counts(window).values()) > 0
    result = push(window.store, central, hall_code=HALL, window_code="A03", batch_size=3)
    assert result.pushed == before and result.inserted == before
    assert result.pending == 0 and pending_count(window.store) == 0
    assert central_counts(central) == local_counts(window)
    again = push(window.store, central, hall_code=HALL, window_code="A03")
    assert again.pushed == 0
    assert central_counts(central) == local_counts(window)
    with central.connect() as c:
        halls = c.execute(select(central_table("cases").c[HALL_COL]).distinct()).scalars().all()
    assert halls == [HALL]


class Interrupted(Exception):
    pass


def test_an_interrupted_push_resumes_and_sends_nothing_twice(window: Any, central: Engine) -> None:
    for _ in range(7):
        window.new_case()
    total = pending_count(window.store)
    calls = []

    def stop_after_three(table: str, n: int) -> None:
        calls.append((table, n))
        if len(calls) == 3:
            raise Interrupted

    with contextlib.suppress(Interrupted):
        push(window.store, central, hall_code=HALL, window_code="A03", batch_size=2,
             on_batch=stop_after_three)
    # The batches acknowledged before the stop are not pending any more.
    assert pending_count(window.store) == total - sum(n for _, n in calls)
    result = push(window.store, central, hall_code=HALL, window_code="A03", batch_size=2)
    assert result.inserted == result.pushed == total - sum(n for _, n in calls)
    assert central_counts(central) == local_counts(window)


def test_a_batch_the_centre_committed_but_the_window_did_not_record_is_harmless(
    window: Any, central: Engine
) -> None:
    window.new_case()
    push(window.store, central, hall_code=HALL, window_code="A03")
    # As if the window died between the central commit and its cursor update.
    with window.store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM sync_state")
    assert pending_count(window.store) == sum(local_counts(window).values())
    again = push(window.store, central, hall_code=HALL, window_code="A03")
    assert again.inserted == 0 and again.pushed > 0
    assert central_counts(central) == local_counts(window)


def test_new_facts_after_a_push_are_pending_exactly(window: Any, central: Engine) -> None:
    window.new_case()
    push(window.store, central, hall_code=HALL, window_code="A03")
    window.new_case(level=None)  # applicant + case
    assert pending_count(window.store) == 2


def test_window_clock_hours_behind_loses_and_reorders_nothing(
    window: Any, central: Engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from hallapp.models import CaseEvent, CaseEventKind

    case_id = window.new_case(level=None)
    push(window.store, central, hall_code=HALL, window_code="A03")
    # The window's clock is then set back five hours: later events carry
    # earlier times than facts the centre already has.
    back = datetime.now(UTC) - timedelta(hours=5)
    with window.store.session() as s:
        for i, kind in enumerate((CaseEventKind.ACCEPTED, CaseEventKind.COMPLETED)):
            s.add(CaseEvent(origin_window="A03", case_id=case_id, seq=10 + i, kind=kind,
                            created_at=back + timedelta(seconds=i)))
    result = push(window.store, central, hall_code=HALL, window_code="A03")
    assert result.pushed == 2
    events = central_table("case_events")
    with central.connect() as c:
        kinds = c.execute(
            select(events.c.kind)
            .where(events.c.case_id == case_id)
            .order_by(events.c.origin_seq)
        ).scalars().all()
    assert kinds == ["accepted", "completed"]


def test_schema_mismatch_names_both_versions_and_writes_nothing(
    window: Any, central: Engine
) -> None:
    import pytest

    from hallapp.sync import SchemaMismatch

    window.new_case()
    with central.begin() as c:
        c.execute(
            central_table("central_meta").update().values(value="0099")
        )
    with pytest.raises(SchemaMismatch) as info:
        push(window.store, central, hall_code=HALL, window_code="A03")
    from hallapp.migrations import HEAD

    assert "0099" in str(info.value) and HEAD in str(info.value)
    assert sum(central_counts(central).values()) == 0
    assert pending_count(window.store) == sum(local_counts(window).values())


def test_a_record_the_centre_refuses_stops_the_push_naming_it(
    window: Any, central: Engine
) -> None:
    import sqlite3

    import pytest

    from hallapp.sync import BadRecord

    window.new_case()
    bad_case = window.new_case()
    # A level no evaluator can give, written around the application (and
    # its append-only guard) straight into the window's file.
    path = window.store.engine.url.database
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    raw.execute("UPDATE evaluations SET level = 7 WHERE case_id = ?", (bad_case,))
    bad_id = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (bad_case,)).fetchone()[0]
    raw.commit()
    raw.close()
    with pytest.raises(BadRecord) as info:
        push(window.store, central, hall_code=HALL, window_code="A03")
    assert info.value.table == "evaluations" and info.value.record_id == bad_id
    assert bad_id in str(info.value)
    counts = central_counts(central)
    assert counts["evaluations"] == 0  # the refused batch left nothing
    assert counts["cases"] == 2  # what came before it arrived
    assert pending_count(window.store) > 0


def test_the_cursor_never_moves_backwards(window: Any, central: Engine) -> None:
    from hallapp.sync.push import _set_cursor

    for _ in range(3):
        window.new_case()
    push(window.store, central, hall_code=HALL, window_code="A03")
    # A slower pass that started earlier finishes its first batch last.
    _set_cursor(window.store, "cases", 1)
    assert pending_count(window.store) == 0


def test_windows_of_two_halls_with_the_same_code_stay_apart(
    tmp_path, central: Engine, make_window_store
) -> None:
    from hallapp.sync.verify import verify_central

    _make_window = make_window_store
    # The same window code A03 in two halls sharing one central store.
    a = _make_window(tmp_path / "lc-a03.sqlite3")
    b = _make_window(tmp_path / "ya-a03.sqlite3")
    try:
        for _ in range(3):
            a.new_case()
        for _ in range(2):
            b.new_case()
        push(a.store, central, hall_code="LC", window_code="A03")
        push(b.store, central, hall_code="YA", window_code="A03")
        ev = central_table("evaluations")
        with central.connect() as c:
            by_hall = dict(c.execute(select(ev.c[HALL_COL], func.count())
                                     .group_by(ev.c[HALL_COL])).all())
        assert by_hall == {"LC": 3, "YA": 2}
        report = verify_central(central)
        assert report.faults == [] and report.chains == 2 and report.records == 5
        # Each hall's figures under its own window's name (LC's were published
        # under YA's name: names were looked up by code alone).
        from datetime import datetime

        from hallapp.reports import parse_month, tally
        from hallapp.workdays import HALL_TZ

        windows = central_table("windows")
        with central.begin() as c:
            c.execute(central_table("departments").insert(), [
                {HALL_COL: "LC", "code": "ZJ", "name": "连城县住建局"},
                {HALL_COL: "YA", "code": "ZJ", "name": "邻县住建局"},
            ])  # fmt: skip
            c.execute(windows.insert(), [
                {HALL_COL: "LC", "code": "A03", "name": "连城住建窗口", "department_code": "ZJ"},
                {HALL_COL: "YA", "code": "A03", "name": "邻县住建窗口", "department_code": "ZJ"},
            ])  # fmt: skip
        month = parse_month(datetime.now(HALL_TZ).strftime("%Y-%m"))
        with central.connect() as c:
            for hall, name, n in (("LC", "连城住建窗口", 3), ("YA", "邻县住建窗口", 2)):
                (row,) = tally(c, month, "window", hall=hall).rows
                assert (row.key, row.name, row.evaluations) == ("A03", name, n)
    finally:
        a.store.dispose()
        b.store.dispose()


def test_a_supervisors_decision_typed_into_a_joined_windows_file_is_refused_and_reported(
    window: Any, central: Engine
) -> None:
    """F16: an 申诉 and an 申诉成立 "by" supervisors, inserted with sqlite3 into
    the window's file after it joined, would take a 差评 out of every figure.
    The centre refuses the decision naming it; decisions of the hall's days
    without a centre (act() on the window's database, audited) pass; ``central
    verify`` reports the ones nothing vouches for."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    import pytest
    from sqlalchemy import text

    from hallapp.followup import Action, act
    from hallapp.models import Evaluation, Role, Staff
    from hallapp.security import hash_password
    from hallapp.sync import BadRecord
    from hallapp.sync.verify import verify_central

    with window.store.session() as s:
        sups = [Staff(staff_no=no, name=f"督查{no}", department_code="ZJJ", role=Role.SUPERVISOR,
                      password_hash=hash_password("654321")) for no in ("9001", "9002")]
        s.add_all(sups)
        s.flush()
        sup_ids = [x.id for x in sups]
    with central.begin() as c:  # the same staff, as the centre authors them once joined
        c.execute(central_table("departments").insert().values(
            {HALL_COL: HALL, "code": "ZJJ", "name": "连城县住房和城乡建设局"}))
        c.execute(central_table("staff").insert(), [
            {HALL_COL: HALL, "id": sid, "staff_no": no, "name": f"督查{no}",
             "department_code": "ZJJ", "role": "supervisor", "password_hash": "x",
             "active": True} for sid, no in zip(sup_ids, ("9001", "9002"), strict=True)])
    before, after = window.new_case(level=1), window.new_case(level=1)
    with window.store.read() as s:
        ev = {c: s.scalars(select(Evaluation.id).where(Evaluation.case_id == c)).one()
              for c in (before, after)}
    # The hall had no centre yet: its supervisor decided on the window's own database.
    with window.store.session() as s:
        act(s, ev[before], Action.APPEAL, staff_id=sup_ids[0], note="误评", window_code="A03")
        act(s, ev[before], Action.UPHOLD, staff_id=sup_ids[1], note="成立", window_code="A03")
    push(window.store, central, hall_code=HALL, window_code="A03")  # joins the centre
    st = central_table("follow_up_steps")
    with central.connect() as c:
        kinds = c.execute(select(st.c.kind).where(st.c.evaluation_id == ev[before])).scalars()
        assert "appeal_upheld" in list(kinds)

    path = window.store.engine.url.database
    raw = sqlite3.connect(path)
    now = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
    rows = [(ev[after], "appealed", sup_ids[0], "误评", "hand-0001", now),
            (ev[after], "appeal_upheld", sup_ids[1], "成立", "hand-0002",
             now + timedelta(seconds=1))]
    for e, kind, staff, note, sid, at in rows:
        raw.execute("INSERT INTO follow_up_steps (evaluation_id, kind, staff_id, note, id, "
                    "origin_window, created_at) VALUES (?, ?, ?, ?, ?, 'A03', ?)",
                    (e, kind, staff, note, sid, at.isoformat(sep=" ")))
    raw.commit()
    raw.close()
    with pytest.raises(BadRecord) as info:
        push(window.store, central, hall_code=HALL, window_code="A03")
    assert info.value.table == "follow_up_steps" and info.value.record_id == "hand-0002"
    assert "hand-0002" in str(info.value) and "监督管理人员在中心库的操作" in str(info.value)
    with central.connect() as c:
        assert c.execute(select(func.count()).select_from(st).where(
            st.c.evaluation_id == ev[after], st.c.kind == "appeal_upheld")).scalar_one() == 0

    # One stored before the centre refused them: verify names it; the
    # audited decision from before the centre is not reported.
    with central.begin() as c:
        if c.dialect.name == "sqlite":
            c.exec_driver_sql("DROP TRIGGER trg_follow_up_steps_aa_window_decision")
        else:
            c.exec_driver_sql("ALTER TABLE follow_up_steps DISABLE TRIGGER ALL")
        c.execute(st.insert().values({HALL_COL: HALL, "id": "old-0003", "origin_window": "A03",
                                      "created_at": now.replace(tzinfo=UTC),
                                      "evaluation_id": ev[after],
                                      "kind": "closed", "staff_id": sup_ids[1], "note": "办结"}))
        if c.dialect.name != "sqlite":
            c.execute(text("ALTER TABLE follow_up_steps ENABLE TRIGGER ALL"))
    report = verify_central(central)
    faults = [(f.record_id, f.kind, f.detail.get("step")) for _hall, f in report.faults]
    assert faults == [(ev[after], "window_decision", "old-0003")]
    assert "不是在中心库办理的" in report.lines()[0]


def test_a_replacement_pc_goes_on_from_the_numbers_the_old_one_issued(
    tmp_path, window: Any, central: Engine, make_window_store
) -> None:
    """The old PC of A03 issued cases …0001–0003 and 受理通知书 A03-0007 and
    pushed them; a new PC joining as A03 started its counters at 0 and issued
    LCA03…0001 again (its push then stopped for good on the clash)."""
    from datetime import date

    from hallapp.documents import DocumentType
    from hallapp.models import Case, IssuedDocument
    from hallapp.numbering import case_number, document_number
    from hallapp.sync.run import seed_numbers

    ids = [window.new_case() for _ in range(3)]
    with window.store.session() as s:
        case = s.get(Case, ids[-1])
        assert case is not None
        s.add(IssuedDocument(origin_window="A03", case_id=case.id, doc_type="acceptance",
                             doc_no="LC受字〔2026〕A03-0007号", staff_id=window.clerk_id,
                             content={}))  # fmt: skip
        s.commit()
    push(window.store, central, hall_code="LC", window_code="A03")
    fresh = make_window_store(tmp_path / "new-pc.sqlite3")
    try:
        assert seed_numbers(fresh.store, central, "LC", "A03") == 2
        assert case_number(fresh.store.engine, "LC", "A03", date(2026, 11, 20)) == (
            "LCA03202611200004"
        )
        assert document_number(
            fresh.store.engine, "LC", "A03", DocumentType.ACCEPTANCE, 2026
        ).endswith("A03-0008号")
        # Another day, type or window starts from 1 as before.
        assert case_number(fresh.store.engine, "LC", "A03", date(2026, 11, 21)).endswith("0001")
        # Seeding again never lowers a counter the new PC has moved on.
        seed_numbers(fresh.store, central, "LC", "A03")
        assert case_number(fresh.store.engine, "LC", "A03", date(2026, 11, 20)).endswith("0005")
    finally:
        fresh.store.dispose()
