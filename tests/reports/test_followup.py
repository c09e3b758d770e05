"""差评 follow-up work: the queue, each action with who/when/what, the appeal rules, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from hallapp.demodata import HistoryParams, generate
from hallapp.evaluation import FollowUpError, open_evaluation, record_evaluation
from hallapp.followup import Action, act, queue, steps
from hallapp.models import AuditEntry, Case, CaseEvent, Evaluation, FollowUpStep, Role, Staff
from hallapp.reports import parse_month, tally
from hallapp.store import Store
from hallapp.workdays import add_working_days, hall_date

TODAY = date(2026, 10, 16)
NOW = datetime(2026, 10, 16, 3, 0, tzinfo=UTC)


@pytest.fixture
def hall(small_store: Store) -> Store:
    # The seed gives a 差评 not yet verified among the month's (with the sample
    # catalog as it is: its 一件事 member items changed what seed 21 drew).
    generate(small_store, HistoryParams(windows=3, months=1, per_day=30, seed=24, end=TODAY))
    return small_store


def people(store: Store) -> tuple[list[str], dict[str, str]]:
    with store.session() as s:
        sups = [p.id for p in s.scalars(sa.select(Staff).where(Staff.role == Role.SUPERVISOR))]
        names = {p.id: p.staff_no for p in s.scalars(sa.select(Staff))}
    return sups, names


def fresh_item(store: Store):
    with store.engine.connect() as conn:
        items = queue(conn, today=TODAY)
    return next(i for i in items if not i.verified and not i.appeal_pending)


def test_queue_puts_overdue_first_and_says_which_step(hall: Store):
    with hall.engine.connect() as conn:
        items = queue(conn, today=TODAY)
    assert items and all(not i.closed and not i.upheld for i in items)
    flags = [i.overdue for i in items]
    assert flags == sorted(flags, reverse=True)  # overdue ones first
    late = [i for i in items if i.overdue]
    assert late
    for i in late:
        assert i.overdue_steps
        if "回访" in i.overdue_steps:
            assert not i.called_back and i.call_back_due < TODAY
        if "整改" in i.overdue_steps:
            assert i.due_on is not None and i.due_on < TODAY
    # 回访 is due sooner than 整改.
    assert all(i.call_back_due < i.due_on for i in items if i.due_on)


def test_queue_size_counts_what_the_whole_queue_shows(hall: Store):
    """The count above the queue is of every open follow-up, overdue as the rows say,
    and a queue cut to its first rows keeps the earliest due."""
    from hallapp.followup import queue_size

    with hall.engine.connect() as conn:
        items = queue(conn, today=TODAY)
        size = queue_size(conn, today=TODAY)
        first = queue(conn, today=TODAY, limit=3)
        closed = conn.execute(sa.text(
            "SELECT count(DISTINCT evaluation_id) FROM follow_up_steps WHERE kind = 'closed'"
        )).scalar_one()  # fmt: skip
    assert closed > 0, "the history has closed follow-ups, which are not counted"
    assert (size.open, size.overdue) == (len(items), sum(1 for i in items if i.overdue))
    assert len(first) == 3
    cut = max(i.due_on or date.max for i in first)
    assert all((i.due_on or date.max) >= cut for i in items if i not in first)


def _unrated_case(s: Any, window: str | None = None) -> str:
    """A case of the history whose evaluation timed out and that has none."""
    evaluated = {e.case_id for e in s.scalars(sa.select(Evaluation))}
    stmt = (
        sa.select(CaseEvent.case_id)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.kind == "evaluation_expired")
    )
    if window is not None:
        stmt = stmt.where(Case.window_code == window)
    return next(c for c in s.scalars(stmt) if c not in evaluated)


def test_the_steps_in_order_with_who_when_what_and_audit(hall: Store):
    sups, _ = people(hall)
    item = fresh_item(hall)
    clerk, sup = item.clerk_id, sups[0]
    with hall.session() as s, pytest.raises(FollowUpError, match="尚未回访、整改"):
        act(s, item.evaluation_id, Action.CLOSE, staff_id=sup, note="想直接办结", window_code="A01")
    with hall.session() as s, pytest.raises(FollowUpError, match="只有监督管理人员"):
        act(s, item.evaluation_id, Action.CLOSE, staff_id=clerk, note="办结", window_code="A01")
    with hall.session() as s, pytest.raises(FollowUpError, match="请填写"):
        act(s, item.evaluation_id, Action.VERIFY, staff_id=sup, note="  ", window_code="A01")
    for action, who, note in [
        (Action.VERIFY, sup, "调取录像核实，等候约 40 分钟"),
        (Action.CALL_BACK, sup, "电话回访申请人，已致歉"),
        (Action.RECTIFY, clerk, "增开午间窗口"),
        (Action.CLOSE, sup, "整改到位"),
    ]:
        with hall.session() as s:
            act(s, item.evaluation_id, action, staff_id=who, note=note, window_code="A01", now=NOW)
    with hall.engine.connect() as conn:
        history = steps(conn, item.evaluation_id)
        assert [h.label for h in history][-4:] == ["核实", "回访", "整改", "办结"]
        assert history[-1].note == "整改到位" and history[-1].staff_no
        audits = conn.execute(
            sa.select(AuditEntry.__table__).where(AuditEntry.target == item.evaluation_id)
        ).all()
        assert [a.action for a in audits][-4:] == [
            "follow_up.verified", "follow_up.called_back", "follow_up.rectified",
            "follow_up.closed",
        ]  # fmt: skip
        assert all(a.detail["note"] for a in audits)
        assert item.evaluation_id not in {i.evaluation_id for i in queue(conn, today=TODAY)}
    with hall.session() as s, pytest.raises(FollowUpError, match="已办结"):
        act(s, item.evaluation_id, Action.VERIFY, staff_id=sup, note="再核实", window_code="A01")


def test_appeal_is_reviewed_by_another_supervisor_and_leaves_every_figure(hall: Store):
    sups, _ = people(hall)
    item = fresh_item(hall)
    period = parse_month(f"{hall_date(item.evaluated_at):%Y-%m}")
    with hall.engine.connect() as conn:
        before = tally(conn, period, "window")
    filer, reviewer = sups[0], sups[1]
    with hall.session() as s:
        act(s, item.evaluation_id, Action.APPEAL, staff_id=filer, note="群众来电称误按",
            window_code="A01")  # fmt: skip
    with hall.session() as s, pytest.raises(FollowUpError, match="另一位监督管理人员"):
        act(s, item.evaluation_id, Action.UPHOLD, staff_id=filer, note="成立", window_code="A01")
    with hall.session() as s, pytest.raises(FollowUpError, match="审核后才能办结"):
        act(s, item.evaluation_id, Action.CLOSE, staff_id=reviewer, note="办结", window_code="A01")
    with hall.session() as s, pytest.raises(FollowUpError, match="只有监督管理人员"):
        act(s, item.evaluation_id, Action.UPHOLD, staff_id=item.clerk_id, note="成立",
            window_code="A01")  # fmt: skip
    with hall.session() as s:
        act(s, item.evaluation_id, Action.UPHOLD, staff_id=reviewer,
            note="调取监控确认系误按", window_code="A01")  # fmt: skip
    with hall.engine.connect() as conn:
        after = tally(conn, period, "window")
        rows = {r.key: r for r in after.rows}
        was = {r.key: r for r in before.rows}
        w = item.window_code
        assert rows[w].evaluations == was[w].evaluations - 1
        assert rows[w].levels[item.level] == was[w].levels[item.level] - 1
        assert item.evaluation_id not in {i.evaluation_id for i in queue(conn, today=TODAY)}
    with hall.session() as s, pytest.raises(FollowUpError, match="申诉已成立"):
        act(s, item.evaluation_id, Action.VERIFY, staff_id=reviewer, note="x", window_code="A01")


def test_a_joined_windows_database_takes_no_supervisors_decision(hall: Store):
    """Once the window joined a centre, 办结 and 申诉审核 are made there (the
    centre refuses them from the window's push): on the window's own
    database they are refused in Chinese, the other steps go on."""
    from hallapp.sync.run import attach

    sups, _ = people(hall)
    item = fresh_item(hall)
    attach(hall, "sqlite:////srv/hall/central.sqlite3", "LC", "A01")
    with hall.session() as s:
        act(s, item.evaluation_id, Action.APPEAL, staff_id=sups[0], note="群众来电称误按",
            window_code="A01")  # fmt: skip
    for action in (Action.UPHOLD, Action.REFUSE):
        with hall.session() as s, pytest.raises(FollowUpError, match="本窗口已接入中心库"):
            act(s, item.evaluation_id, action, staff_id=sups[1], note="审核", window_code="A01")
    with hall.session() as s:
        kinds = s.scalars(sa.select(FollowUpStep.kind).where(
            FollowUpStep.evaluation_id == item.evaluation_id)).all()
    assert "appeal_upheld" not in kinds and "appeal_rejected" not in kinds


def test_a_refused_appeal_keeps_the_review_and_the_work_goes_on(hall: Store):
    sups, _ = people(hall)
    item = fresh_item(hall)
    with hall.session() as s:
        act(s, item.evaluation_id, Action.APPEAL, staff_id=item.clerk_id, note="认为评价不实",
            window_code="A01")  # fmt: skip
    with hall.session() as s, pytest.raises(FollowUpError, match="已有申诉"):
        act(s, item.evaluation_id, Action.APPEAL, staff_id=sups[0], note="再申诉",
            window_code="A01")  # fmt: skip
    with hall.session() as s:
        act(s, item.evaluation_id, Action.REFUSE, staff_id=sups[0], note="评价属实",
            window_code="A01")  # fmt: skip
    with hall.engine.connect() as conn:
        found = next(i for i in queue(conn, today=TODAY) if i.evaluation_id == item.evaluation_id)
    assert found.state.startswith("申诉未成立") and Action.RECTIFY in found.allowed()


def test_rectify_days_come_from_the_config(hall: Store):
    """A 差评 recorded with follow_up.rectify_days = 10 is due 10 working days later."""
    with hall.session() as s:
        case_id = _unrated_case(s)
        opened = open_evaluation(s, case_id, "A01", now=NOW)
        record_evaluation(s, opened, 2, ["办事效率低"], now=NOW + timedelta(seconds=5),
                          rectify_days=10)  # fmt: skip
        step = s.scalars(
            sa.select(FollowUpStep)
            .join(Evaluation, Evaluation.id == FollowUpStep.evaluation_id)
            .where(Evaluation.case_id == case_id)
        ).one()
    assert step.due_on == add_working_days(hall_date(NOW), 10).date


def _figures(store: Store, period, now: datetime, window: str):
    from hallapp.reports import follow_up_figures

    with store.engine.connect() as conn:
        rows = {f.key: f for f in follow_up_figures(conn, period, "window", now=now)}
    return rows[window]


def test_a_breach_stays_counted_and_a_month_end_review_falls_due_in_its_month(hall: Store):
    """回访超期 of a month is not wiped by a call-back made late, after the month
    was published; a 差评 of the month's last minute, whose limits fall in the
    next month, is overdue in its own month once they pass; and a figure made
    as of an earlier instant counts only the steps taken by then."""
    sups, _ = people(hall)
    with hall.session() as s:
        case_id = _unrated_case(s, "A01")
        last_minute = datetime(2026, 9, 30, 15, 59, 0, tzinfo=UTC)  # 23:59 in Beijing
        opened = open_evaluation(s, case_id, "A01", now=last_minute)
        evaluation = record_evaluation(
            s, opened, 1, ["办事效率低"], now=last_minute + timedelta(seconds=30)
        )
        s.commit()
        evaluation_id = evaluation.id
    september = parse_month("2026-09")
    # 回访 is due 1 working day after 09-30: after 国庆 (10-09); 整改 5 working days.
    call_back_due = add_working_days(date(2026, 9, 30), 1).date
    rectify_due = add_working_days(date(2026, 9, 30), 5).date
    assert call_back_due.month == 10 and rectify_due > call_back_due
    on_the_1st = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    before = _figures(hall, september, on_the_1st, "A01")
    # Two days after the 回访 limit, with nothing done: overdue in September's table.
    late_day = datetime.combine(call_back_due + timedelta(days=2), datetime.min.time(), UTC)
    overdue = _figures(hall, september, late_day + timedelta(hours=2), "A01")
    assert overdue.call_back_overdue == before.call_back_overdue + 1
    assert overdue.bad == before.bad  # the same 差评, now past its limit
    # Called back late: 已回访 grows, the breach stays.
    with hall.session() as s:
        act(s, evaluation_id, Action.VERIFY, staff_id=sups[0], note="调取录像核实",
            window_code="A01", now=late_day + timedelta(hours=3))  # fmt: skip
        act(s, evaluation_id, Action.CALL_BACK, staff_id=sups[0], note="电话回访，已致歉",
            window_code="A01", now=late_day + timedelta(hours=4))  # fmt: skip
    after = _figures(hall, september, late_day + timedelta(hours=5), "A01")
    assert after.called_back == overdue.called_back + 1
    assert after.call_back_overdue == overdue.call_back_overdue
    # As of an instant before the call-back, it was not yet called back.
    again = _figures(hall, september, late_day + timedelta(hours=2), "A01")
    assert (again.called_back, again.call_back_overdue) == (
        overdue.called_back, overdue.call_back_overdue
    )
    # 整改 on its last day is on time: not counted as 整改超期 ever after.
    on_time = datetime.combine(rectify_due, datetime.min.time(), UTC) + timedelta(hours=1)
    with hall.session() as s:
        act(s, evaluation_id, Action.RECTIFY, staff_id=sups[0], note="增开午间窗口",
            window_code="A01", now=on_time)  # fmt: skip
    weeks_later = on_time + timedelta(days=30)
    done = _figures(hall, september, weeks_later, "A01")
    assert done.rectified == after.rectified + 1
    assert done.overdue == _figures(hall, september, on_time, "A01").overdue


def test_a_reason_with_a_phone_or_id_number_is_masked_wherever_shown(hall: Store):
    """A reason of the citizen's own ("其他：…") with a phone and an ID number:
    the 问责 list (printed for the departments), the drill-down and the queue
    show them masked, as the README promises for every number."""
    from hallapp.reports import accountability
    from hallapp.reports.definitions import Definitions
    from hallapp.reports.drill import evaluations_behind
    from hallapp.reports.periods import parse_quarter
    from hallapp.reports.tables import accountability_table

    phone, id_number = "13905971234", "350825198001012319"
    with hall.session() as s:
        case_id = _unrated_case(s)
        opened = open_evaluation(s, case_id, "A01", now=NOW)
        record_evaluation(s, opened, 1, [f"其他：联系 {phone}，身份证{id_number}"],
                          now=NOW + timedelta(seconds=5))  # fmt: skip
        s.commit()
    quarter = parse_quarter("2026-Q4")
    with hall.engine.connect() as conn:
        found = accountability(conn, quarter, definitions=Definitions(
            accountability_threshold_percent=0.0), now=NOW + timedelta(minutes=1))  # fmt: skip
        behind = evaluations_behind(conn, parse_month("2026-10"), "window", None, "bad")
        items = queue(conn, today=TODAY)
    table = accountability_table(quarter, found, Definitions())
    printed = "\n".join(str(cell) for row in table.rows for cell in row)
    shown = [" ".join(r.reasons) for r in behind] + [" ".join(i.reasons) for i in items]
    mine = [t for t in shown if "联系" in t]
    assert "联系" in printed and mine
    for text in [printed, *mine]:
        assert phone not in text and id_number not in text
    assert "139****1234" in printed and "3508**********2319" in printed
