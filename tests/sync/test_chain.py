"""The evaluations' hash chain: sealed at the window, checked at the centre."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, select

from hallapp.models import Evaluation
from hallapp.sync.chain import GENESIS, row_hash
from hallapp.sync.push import CURSOR_PREFIX, push
from hallapp.sync.schema import central_table
from hallapp.sync.verify import verify_central

HALL = "LC"


def _raw(window: Any) -> sqlite3.Connection:
    return sqlite3.connect(window.store.engine.url.database)


def test_each_evaluation_carries_the_hash_of_the_previous_one(window: Any) -> None:
    for level in (5, 1, 3):
        window.new_case(level=level)
    with window.store.session() as s:
        evs = list(s.scalars(select(Evaluation).order_by(Evaluation.chain_seq)))
    assert [e.chain_seq for e in evs] == [1, 2, 3]
    assert evs[0].chain_prev == GENESIS
    assert [e.chain_prev for e in evs[1:]] == [e.chain_hash for e in evs[:-1]]
    for e in evs:
        cols = {c.name: getattr(e, c.key) for c in Evaluation.__table__.columns}
        assert row_hash(cols) == e.chain_hash


def test_a_clean_chain_verifies(window: Any, central: Engine) -> None:
    for level in (5, 4, 2):
        window.new_case(level=level)
    result = push(window.store, central, hall_code=HALL, window_code="A03")
    assert result.faults == []
    report = verify_central(central)
    assert report.faults == [] and report.records == 3 and report.chains == 1


def test_an_altered_record_in_the_window_file_is_reported(window: Any, central: Engine) -> None:
    ids = [window.new_case(level=lv) for lv in (5, 1, 4)]
    raw = _raw(window)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    # A 非常不满意 turned into 满意 by someone with the file.
    raw.execute("UPDATE evaluations SET level = 4, reasons = '[]' WHERE case_id = ?", (ids[1],))
    altered = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (ids[1],)).fetchone()[0]
    raw.commit()
    raw.close()
    result = push(window.store, central, hall_code=HALL, window_code="A03")
    assert [(f.record_id, f.kind) for f in result.faults] == [(altered, "altered")]
    report = verify_central(central)
    # The hash no longer matches, and the level is not the one the case's
    # 已评价 event recorded.
    assert [(h, f.window_code, f.record_id, f.kind) for h, f in report.faults] == [
        ("LC", "A03", altered, "altered"), ("LC", "A03", altered, "mismatch")
    ]
    line = report.lines()[0]
    assert "LC" in line and "A03" in line and altered in line
    with central.connect() as c:
        recorded = c.execute(select(central_table("chain_faults"))).mappings().all()
    assert [(r["record_id"], r["kind"]) for r in recorded] == [(altered, "altered")]
    # The month's publication says so, on every output (status lines).
    from datetime import datetime

    from hallapp.reports import monthly_report, parse_month
    from hallapp.workdays import HALL_TZ

    period = parse_month(datetime.now(HALL_TZ).strftime("%Y-%m"))
    with central.connect() as c:
        report = monthly_report(c, period, hall="LC")
    assert report.chain_faults == 1
    assert any("1 条评价记录与其窗口的评价链不符" in line for line in report.status())


def test_a_deleted_record_is_a_gap(window: Any, central: Engine) -> None:
    ids = [window.new_case(level=lv) for lv in (5, 5, 5)]
    raw = _raw(window)
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("DROP TRIGGER trg_evaluations_no_delete")
    gone = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (ids[1],)).fetchone()[0]
    raw.execute("DELETE FROM evaluations WHERE case_id = ?", (ids[1],))
    after = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (ids[2],)).fetchone()[0]
    raw.commit()
    raw.close()
    push(window.store, central, hall_code=HALL, window_code="A03")
    report = verify_central(central)
    assert [(f.record_id, f.kind) for _, f in report.faults] == [(after, "gap"), (gone, "missing")]


def test_the_last_evaluation_deleted_before_the_push_is_found_by_its_event(
    window: Any, central: Engine
) -> None:
    """No gap: the next evaluation links to the one before the deleted. The
    case's 已评价 event still names it, and once a later evaluation of the
    window is at the centre, verify reports it."""
    window.new_case(level=5)
    bad = window.new_case(level=1)
    raw = _raw(window)
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("DROP TRIGGER trg_evaluations_no_delete")
    gone = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (bad,)).fetchone()[0]
    raw.execute("DELETE FROM evaluations WHERE id = ?", (gone,))
    raw.commit()
    raw.close()
    push(window.store, central, hall_code=HALL, window_code="A03")
    # Its event is at the centre, no later evaluation yet: maybe still on its way.
    assert verify_central(central).faults == []
    window.new_case(level=5)
    push(window.store, central, hall_code=HALL, window_code="A03")
    report = verify_central(central)
    assert [(h, f.record_id, f.kind) for h, f in report.faults] == [("LC", gone, "missing")]
    assert "可能在窗口被删除" in report.lines()[0] and "A03" in report.lines()[0]


def test_an_evaluation_taken_out_of_the_chain_is_reported_not_passed(
    window: Any, central: Engine
) -> None:
    """The last 非常不满意 turned into 非常满意 and its link erased (no later
    link would show a gap): verify must not pass what it could not check."""
    ids = [window.new_case(level=lv) for lv in (5, 4, 1)]
    raw = _raw(window)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    raw.execute(
        "UPDATE evaluations SET level = 5, reasons = '[]', chain_seq = NULL, "
        "chain_prev = NULL, chain_hash = NULL WHERE case_id = ?", (ids[2],))
    erased = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (ids[2],)).fetchone()[0]
    raw.commit()
    raw.close()
    push(window.store, central, hall_code=HALL, window_code="A03")
    report = verify_central(central)
    # Out of the chain, and its level is not the one its 已评价 event recorded.
    assert sorted((h, f.window_code, f.record_id, f.kind) for h, f in report.faults) == [
        ("LC", "A03", erased, "mismatch"), ("LC", "A03", erased, "unchained")
    ]
    assert report.records == 3
    assert any("不在评价链中" in line for line in report.lines())


def test_swapped_records_are_reported_as_reordered(window: Any, central: Engine) -> None:
    ids = [window.new_case(level=lv) for lv in (5, 4, 3)]
    raw = _raw(window)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    # Swap the places of the first two in the chain, hashes and all.
    a = raw.execute("SELECT chain_seq, chain_prev, chain_hash FROM evaluations WHERE case_id=?",
                    (ids[0],)).fetchone()
    b = raw.execute("SELECT chain_seq, chain_prev, chain_hash FROM evaluations WHERE case_id=?",
                    (ids[1],)).fetchone()
    raw.execute("UPDATE evaluations SET chain_seq=?, chain_prev=?, chain_hash=? WHERE case_id=?",
                (*b, ids[0]))
    raw.execute("UPDATE evaluations SET chain_seq=?, chain_prev=?, chain_hash=? WHERE case_id=?",
                (*a, ids[1]))
    raw.commit()
    raw.close()
    push(window.store, central, hall_code=HALL, window_code="A03")
    kinds = {f.kind for _, f in verify_central(central).faults}
    assert "altered" in kinds


def test_central_verify_command_names_hall_window_and_record(
    window: Any, central: Engine, central_url: str, capsys: Any
) -> None:
    from hallapp.cli import main

    ids = [window.new_case(level=lv) for lv in (5, 2)]
    raw = _raw(window)
    raw.execute("DROP TRIGGER trg_evaluations_no_update")
    raw.execute("UPDATE evaluations SET level = 5, reasons = '[]' WHERE case_id = ?", (ids[1],))
    altered = raw.execute("SELECT id FROM evaluations WHERE case_id = ?", (ids[1],)).fetchone()[0]
    raw.commit()
    raw.close()
    push(window.store, central, hall_code=HALL, window_code="A03")
    assert main(["central", "verify", "--url", central_url]) == 1
    out, err = capsys.readouterr()
    assert "大厅 LC 窗口 A03" in out and altered in out and "记录内容被改动" in out
    assert "2 处异常" in err and "与办件事件所记不符" in out  # the hash, and the level


def test_a_record_added_at_a_link_already_pushed_is_caught_on_arrival(
    window: Any, central: Engine
) -> None:
    """INSERT is no UPDATE: a copy of a pushed 差评 added to the file under a
    new id (or a second copy of the window's database writing its own records
    at links the centre has) claims a link the centre has already checked.
    It was counted unflagged; a batch sent again (the same records) is not."""
    from datetime import datetime

    from hallapp.reports import monthly_report, parse_month
    from hallapp.workdays import HALL_TZ

    for level in (5, 1, 4):
        window.new_case(level=level)
    assert push(window.store, central, hall_code=HALL, window_code="A03").faults == []
    raw = _raw(window)
    cols = [r[1] for r in raw.execute("PRAGMA table_info(evaluations)")]
    picked = ", ".join(
        {"id": "'forged-0000-0000-0000-000000000001'", "encounter_event_id": "'forged-enc-1'",
         "level": "1"}.get(c, c)
        for c in cols
    )  # fmt: skip
    raw.execute(f"INSERT INTO evaluations ({', '.join(cols)}) "
                f"SELECT {picked} FROM evaluations WHERE chain_seq = 1")  # fmt: skip
    raw.commit()
    raw.close()
    result = push(window.store, central, hall_code=HALL, window_code="A03")
    forged = [f for f in result.faults if f.record_id == "forged-0000-0000-0000-000000000001"]
    assert [f.kind for f in forged][:1] == ["forked"], result.faults
    assert forged[0].detail["chain_seq"] == 1
    assert "同一链序号" in forged[0].text(HALL)
    period = parse_month(datetime.now(HALL_TZ).strftime("%Y-%m"))
    with central.connect() as c:
        assert monthly_report(c, period, hall="LC").chain_faults == 1
    # The same records again (a lost answer, cursors set back): nothing new.
    raw = _raw(window)
    raw.execute("UPDATE sync_state SET value = '0' WHERE key = ?", (CURSOR_PREFIX + "evaluations",))
    raw.commit()
    raw.close()
    again = push(window.store, central, hall_code=HALL, window_code="A03")
    assert [f for f in again.faults if f.record_id != "forged-0000-0000-0000-000000000001"] == []
