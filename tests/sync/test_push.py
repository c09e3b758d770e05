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
    finally:
        a.store.dispose()
        b.store.dispose()
