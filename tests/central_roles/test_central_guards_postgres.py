"""What a login cannot do to the figures, whatever SQL it types.

The counts (evaluation_tallies, open_follow_ups…) are kept by SECURITY
DEFINER triggers; a login with TEMPORARY (every window's, for its staging
table) must not be able to point them at temporary tables of its own. An
upheld appeal takes a 差评 out of every figure, so the server holds the
follow-up rule too: a pending appeal, decided by neither its filer nor the
clerk evaluated, on an evaluation that is at the centre.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

pytestmark = pytest.mark.postgres

EVAL_COLS = (
    "hall_code, id, origin_window, created_at, case_id, encounter, case_no, item_code, "
    "window_code, staff_id, department_code, channel, device, level, reasons, applicant_kind"
)
SHADOWS = ("evaluation_tallies", "completion_tallies", "case_tallies", "open_follow_ups")


def _evaluation(tag: str, level: int) -> str:
    return (
        f"INSERT INTO evaluations ({EVAL_COLS}) VALUES ('LC', 'ev-{tag}', 'A05', "
        f"'2026-11-21T10:00:00Z', 'case-LC-A05', 'handover', 'LC-A05-0001', 'ZJ-001', 'A05', "
        f"'staff-LC', 'ZJJ', 'window_evaluator', '', {level}, '[\"态度\"]', 'person')"
    )


def _step(tag: str, kind: str, staff: str | None, evaluation: str = "ev-LC-A05",
          at: str = "now()") -> str:  # fmt: skip
    who = "NULL" if staff is None else f"'{staff}'"
    return (
        "INSERT INTO follow_up_steps (hall_code, id, origin_window, created_at, evaluation_id, "
        f"kind, staff_id, note, due_on) VALUES ('LC', 'st-{tag}', '@centre', {at}, "
        f"'{evaluation}', '{kind}', {who}, '', NULL)"
    )


def test_a_windows_temporary_tables_do_not_catch_its_counts(central) -> None:
    with central.connect(central.window.login) as conn:
        for name in SHADOWS:
            conn.execute(f"CREATE TEMP TABLE {name} (LIKE public.{name} INCLUDING ALL)")
        conn.execute(_evaluation("hidden-1", 1))
        for name in SHADOWS:
            assert conn.execute(f"SELECT count(*) FROM pg_temp.{name}").fetchone() == (0,), name
        conn.rollback()
    # And counted where the figures are read (committed, then seen by the owner).
    with central.connect(central.window.login) as conn:
        for name in SHADOWS:
            conn.execute(f"CREATE TEMP TABLE {name} (LIKE public.{name} INCLUDING ALL)")
        conn.execute(_evaluation("hidden-2", 1))
        conn.commit()
    with central.admin.connect() as c:
        counted = c.exec_driver_sql(
            "SELECT coalesce(sum(n), 0) FROM evaluation_tallies "
            "WHERE hall_code = 'LC' AND window_code = 'A05' AND level = 1"
        ).scalar()
    assert counted == 1


def _refused(conn: psycopg.Connection, sql: str, why: str) -> None:
    with pytest.raises(errors.RaiseException, match=why), conn.transaction():
        conn.execute(sql)


def test_an_appeal_decision_must_follow_a_pending_appeal_of_a_real_evaluation(central) -> None:
    with psycopg.connect(central.url.replace("+psycopg", "")) as conn:
        for n, role in ((1, "supervisor"), (2, "supervisor")):
            conn.execute(
                "INSERT INTO staff (hall_code, id, staff_no, name, title, phone, department_code, "
                "role, password_hash, commitments, active) VALUES "
                f"('LC', 'sup-{n}', '900{n}', '督查{n}', '', '', 'ZJJ', '{role}', 'x', '', true)"
            )
        _refused(conn, _step("ph", "appeal_upheld", "sup-1", evaluation="ev-none"),
                 "is not at the centre")  # fmt: skip
        _refused(conn, _step("np", "appeal_upheld", "sup-1"), "no appeal pending")
        conn.execute(_step("ap", "appealed", "sup-1", at="now() - interval '1 hour'"))
        _refused(conn, _step("self", "appeal_upheld", "sup-1"), "the one who filed it")
        _refused(conn, _step("clerk", "appeal_upheld", "staff-LC"), "the clerk evaluated")
        _refused(conn, _step("anon", "appeal_rejected", None), "the one who filed it")
        conn.execute(_step("ok", "appeal_upheld", "sup-2"))
        _refused(conn, _step("twice", "appeal_rejected", "sup-2"), "no appeal pending")
        # The same decision sent again (a retried batch) changes nothing and is no error.
        conn.execute(_step("ok", "appeal_upheld", "sup-2") + " ON CONFLICT DO NOTHING")
        conn.rollback()


def test_a_supervisor_login_cannot_uphold_an_appeal_of_nothing(central) -> None:
    with central.connect(central.supervisor.login) as conn:
        conn.execute("CREATE TEMP TABLE evaluations (LIKE public.evaluations INCLUDING ALL)")
        conn.execute(_evaluation("phantom", 2))
        _refused(conn, _step("phantom", "appeal_upheld", "staff-LC", evaluation="ev-phantom"),
                 "is not at the centre")  # fmt: skip
        conn.rollback()
