"""The 好差评 rules of hallapp.evaluation, on a real SQLite store (no device)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hallapp.evaluation import (
    BAD_REVIEW_REASONS,
    AlreadyEvaluated,
    AppealState,
    AwaitingReasons,
    Cancelled,
    EvaluationDesk,
    Expired,
    FollowUpError,
    IgnoredDuplicate,
    IgnoredNoOpen,
    InvalidReason,
    Level,
    NoOpenEvaluation,
    Opened,
    ReasonRequired,
    Recorded,
    add_follow_up_step,
    excluded_evaluation_ids,
    follow_up_state,
    open_evaluation,
    record_evaluation,
    validate_reasons,
)
from hallapp.models import CaseEventKind, Evaluation, FollowUpStep, FollowUpStepKind
from hallapp.workdays import add_working_days

WINDOW = "A03"


@pytest.fixture
def desk(hall, clock):
    d = EvaluationDesk(hall.store, WINDOW, timeout_s=60, clock=clock, auto_expire=False)
    yield d
    d.close()


def test_levels_and_labels():
    assert [lv.label for lv in sorted(Level, reverse=True)] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert Level.VERY_SATISFIED == 5 and Level.VERY_DISSATISFIED == 1
    assert [lv for lv in Level if lv.is_bad] == [Level.VERY_DISSATISFIED, Level.DISSATISFIED]


def test_press_without_open_evaluation_is_ignored(hall, desk):
    assert desk.press(5) == IgnoredNoOpen(5)
    assert hall.evaluation_count() == 0


def test_press_records_everything_the_report_needs(hall, desk, clock):
    case_id = hall.new_case(organisation=True)
    opened = desk.open(case_id)
    assert hall.event_kinds(case_id) == [CaseEventKind.HANDED_OVER, CaseEventKind.EVALUATION_OPENED]
    clock.advance(5)
    outcome = desk.press(4, device="EV-A03-0001")
    assert isinstance(outcome, Recorded) and outcome.level == 4
    (ev,) = hall.evaluations()
    assert (ev.case_id, ev.case_no, ev.item_code) == (case_id, opened.case_no, "ZJ-001")
    assert (ev.window_code, ev.staff_id, ev.department_code) == (WINDOW, hall.clerk_id, "ZJJ")
    assert (ev.channel, ev.device, ev.level, ev.reasons) == (
        "window_evaluator",
        "EV-A03-0001",
        4,
        [],
    )
    assert ev.applicant_kind == "organisation"
    assert ev.created_at == clock.now
    assert hall.event_kinds(case_id) == [
        CaseEventKind.HANDED_OVER,
        CaseEventKind.EVALUATION_OPENED,
        CaseEventKind.EVALUATED,
    ]
    assert (ev.encounter, ev.encounter_event_id) == ("hand_over", hall.events(case_id)[0].id)
    assert desk.current is None


def test_second_press_is_ignored_one_evaluation_per_case(hall, desk):
    case_id = hall.new_case()
    desk.open(case_id)
    assert isinstance(desk.press(5), Recorded)
    assert desk.press(1) == IgnoredDuplicate(case_id, 1)
    assert desk.press(3) == IgnoredDuplicate(case_id, 3)
    assert [e.level for e in hall.evaluations()] == [5]


def test_the_database_backs_one_evaluation_per_case(hall):
    case_id = hall.new_case()
    with hall.store.session() as s:
        opened = open_evaluation(s, case_id, WINDOW, 60)
        record_evaluation(s, opened, 5)
    with pytest.raises(IntegrityError), hall.store.session() as s:
        record_evaluation(s, opened, 4)
    with pytest.raises(AlreadyEvaluated), hall.store.session() as s:
        open_evaluation(s, case_id, WINDOW, 60)
    assert hall.evaluation_count() == 1


def test_time_out_is_not_evaluated_never_a_default_rating(hall, desk, clock):
    case_id = hall.new_case()
    desk.open(case_id)
    clock.advance(59)
    assert desk.expire_due() is None
    clock.advance(1)
    outcome = desk.expire_due()
    assert outcome == Expired(case_id, outcome.case_no, None) if outcome else False
    assert hall.evaluation_count() == 0
    assert hall.event_kinds(case_id)[-1] == CaseEventKind.EVALUATION_EXPIRED
    # A late press after the time-out is not counted either.
    assert desk.press(5) == IgnoredNoOpen(5)
    assert hall.evaluation_count() == 0


def test_a_press_after_the_deadline_expires_instead_of_recording(hall, desk, clock):
    case_id = hall.new_case()
    desk.open(case_id)
    clock.advance(61)
    assert isinstance(desk.press(5), Expired)
    assert hall.evaluation_count() == 0


def test_bad_review_without_reason_is_refused(hall, desk):
    case_id = hall.new_case()
    desk.open(case_id)
    outcome = desk.press(2)
    assert isinstance(outcome, AwaitingReasons) and outcome.level == 2
    assert hall.evaluation_count() == 0
    with pytest.raises(ReasonRequired):
        desk.submit_reasons([])
    with pytest.raises(ReasonRequired):
        desk.submit_reasons(["  "])
    with pytest.raises(InvalidReason):
        desk.submit_reasons(["随便写的"])
    assert hall.evaluation_count() == 0
    # And the domain function refuses it too, whoever calls it.
    with pytest.raises(ReasonRequired), hall.store.session() as s:
        record_evaluation(s, desk.current, 1, [])  # type: ignore[arg-type]


def test_bad_review_with_reason_is_recorded_and_opens_a_follow_up(hall, desk, clock):
    case_id = hall.new_case()
    desk.open(case_id)
    desk.press(1)
    outcome = desk.submit_reasons(["等候时间长", "其他：窗口无人"])
    assert isinstance(outcome, Recorded)
    (ev,) = hall.evaluations()
    assert ev.level == 1 and ev.reasons == ["等候时间长", "其他：窗口无人"]
    with hall.store.session() as s:
        (step,) = s.scalars(select(FollowUpStep))
    assert step.kind == FollowUpStepKind.OPENED
    # 5 working days after Friday 2026-11-20: Friday 2026-11-27.
    expected = add_working_days(date(2026, 11, 20), 5).date
    assert step.due_on == expected == date(2026, 11, 27) == outcome.follow_up_due


def test_bad_review_whose_reasons_never_come_is_not_evaluated(hall, desk, clock):
    case_id = hall.new_case()
    desk.open(case_id)
    desk.press(2)
    clock.advance(desk.reasons_timeout_s)
    outcome = desk.expire_due()
    assert outcome is not None and outcome.pressed_level == 2
    assert hall.evaluation_count() == 0
    last = hall.events(case_id)[-1]
    assert last.kind == CaseEventKind.EVALUATION_EXPIRED
    assert last.data["pressed_level"] == 2  # kept for supervisors
    with pytest.raises(NoOpenEvaluation):
        desk.submit_reasons(["服务态度差"])


def test_good_press_while_awaiting_reasons_replaces_the_unfinished_bad_review(hall, desk):
    case_id = hall.new_case()
    desk.open(case_id)
    desk.press(2)
    assert isinstance(desk.press(4), Recorded)
    assert [e.level for e in hall.evaluations()] == [4]


def test_opening_the_next_case_cancels_the_open_one(hall, desk):
    seen: list[object] = []
    desk.add_listener(seen.append)
    first, second = hall.new_case(), hall.new_case()
    desk.open(first)
    desk.open(second)
    assert hall.event_kinds(first)[-1] == CaseEventKind.EVALUATION_CANCELLED
    assert [type(e) for e in seen] == [Opened, Cancelled, Opened]
    assert isinstance(desk.press(5), Recorded)
    assert [e.case_id for e in hall.evaluations()] == [second]


def test_a_failed_open_leaves_the_open_evaluation_alone(hall, desk):
    done, waiting = hall.new_case(), hall.new_case()
    desk.open(done)
    desk.press(5)
    desk.open(waiting)
    with pytest.raises(AlreadyEvaluated):
        desk.open(done)
    assert desk.current is not None and desk.current.case_id == waiting
    assert hall.event_kinds(waiting) == [CaseEventKind.HANDED_OVER, CaseEventKind.EVALUATION_OPENED]


def test_cancel(hall, desk):
    case_id = hall.new_case()
    desk.open(case_id)
    assert isinstance(desk.cancel(staff_id=hall.clerk_id, reason="开错办件"), Cancelled)
    assert desk.cancel() is None
    assert desk.press(5) == IgnoredNoOpen(5)
    last = hall.events(case_id)[-1]
    assert (last.kind, last.data["reason"]) == (CaseEventKind.EVALUATION_CANCELLED, "开错办件")


def test_an_evaluation_left_open_by_a_crash_is_expired_at_the_next_start(hall, clock):
    case_id = hall.new_case()
    crashed = EvaluationDesk(hall.store, WINDOW, clock=clock, auto_expire=False)
    crashed.open(case_id)
    crashed.close()  # no expiry happened: the program died
    restarted = EvaluationDesk(hall.store, WINDOW, clock=clock, auto_expire=False)
    try:
        last = hall.events(case_id)[-1]
        assert (last.kind, last.data["why"]) == (CaseEventKind.EVALUATION_EXPIRED, "restart")
        assert restarted.press(5) == IgnoredNoOpen(5)
        # And it does not expire it twice.
        EvaluationDesk(hall.store, WINDOW, clock=clock, auto_expire=False).close()
        assert hall.event_kinds(case_id).count(CaseEventKind.EVALUATION_EXPIRED) == 1
    finally:
        restarted.close()


def test_the_real_timer_expires_the_evaluation(hall):
    desk = EvaluationDesk(hall.store, WINDOW, timeout_s=1)
    expired = threading.Event()
    desk.add_listener(lambda e: expired.set() if isinstance(e, Expired) else None)
    try:
        case_id = hall.new_case()
        desk.open(case_id)
        assert expired.wait(3)
        assert hall.event_kinds(case_id)[-1] == CaseEventKind.EVALUATION_EXPIRED
        assert hall.evaluation_count() == 0
    finally:
        desk.close()


def test_concurrent_presses_give_exactly_one_evaluation(hall, desk):
    case_id = hall.new_case()
    desk.open(case_id)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def press(level: int) -> None:
        barrier.wait()
        results.append(desk.press(level))

    threads = [threading.Thread(target=press, args=(3 + i % 3,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Recorded) for r in results) == 1
    assert sum(isinstance(r, IgnoredDuplicate) for r in results) == 7
    assert hall.evaluation_count() == 1


def test_reasons_validation():
    assert validate_reasons(5, []) == []
    assert validate_reasons(2, ["服务态度差", "服务态度差"]) == ["服务态度差"]
    assert "其他" in BAD_REVIEW_REASONS
    with pytest.raises(InvalidReason):
        validate_reasons(1, ["其他" + "很" * 300])


# ------------------------------------------------------------------ follow-ups


def _bad_review(hall, desk) -> str:
    desk.open(hall.new_case())
    desk.press(1)
    outcome = desk.submit_reasons(["服务态度差"])
    assert isinstance(outcome, Recorded)
    return outcome.evaluation_id


def test_follow_up_steps_and_close(hall, desk):
    ev_id = _bad_review(hall, desk)
    with hall.store.session() as s:
        # What the case's detail says at each step.
        opened = follow_up_state(s, ev_id)
        assert opened.describe() == f"待核实，{opened.due_on:%Y-%m-%d} 前办结"
        add_follow_up_step(
            s,
            ev_id,
            FollowUpStepKind.VERIFIED,
            staff_id=hall.supervisor_id,
            note="调取录像核实",
            window_code=WINDOW,
        )
        add_follow_up_step(
            s,
            ev_id,
            FollowUpStepKind.CALLED_BACK,
            staff_id=hall.supervisor_id,
            note="电话回访",
            window_code=WINDOW,
        )
        assert follow_up_state(s, ev_id).describe().startswith("已回访，待整改，")
        with pytest.raises(FollowUpError, match="监督"):
            add_follow_up_step(
                s,
                ev_id,
                FollowUpStepKind.CLOSED,
                staff_id=hall.clerk_id,
                note="自己办结",
                window_code=WINDOW,
            )
        add_follow_up_step(
            s,
            ev_id,
            FollowUpStepKind.CLOSED,
            staff_id=hall.supervisor_id,
            note="已整改",
            window_code=WINDOW,
        )
    with hall.store.session() as s:
        state = follow_up_state(s, ev_id)
        assert state.closed and state.counts_in_tallies
        assert state.describe() == "整改回访已办结"
        assert not state.overdue(date(2027, 1, 1))
        with pytest.raises(FollowUpError, match="已办结"):
            add_follow_up_step(
                s,
                ev_id,
                FollowUpStepKind.RECTIFIED,
                staff_id=hall.supervisor_id,
                note="再整改",
                window_code=WINDOW,
            )


def test_appeal_upheld_excludes_the_evaluation_from_tallies(hall, desk):
    ev_id = _bad_review(hall, desk)
    with hall.store.session() as s:
        with pytest.raises(FollowUpError, match="本人"):
            add_follow_up_step(
                s,
                ev_id,
                FollowUpStepKind.APPEALED,
                staff_id=hall.other_clerk_id,
                note="误评",
                window_code=WINDOW,
            )
        add_follow_up_step(
            s,
            ev_id,
            FollowUpStepKind.APPEALED,
            staff_id=hall.clerk_id,
            note="群众误按",
            window_code=WINDOW,
        )
        assert follow_up_state(s, ev_id).appeal == AppealState.PENDING
        assert follow_up_state(s, ev_id).describe().startswith("申诉审核中；待核实，")
        add_follow_up_step(
            s,
            ev_id,
            FollowUpStepKind.APPEAL_UPHELD,
            staff_id=hall.supervisor_id,
            note="经回访，群众确认误按",
            window_code=WINDOW,
        )
    with hall.store.session() as s:
        assert not follow_up_state(s, ev_id).counts_in_tallies
        assert follow_up_state(s, ev_id).describe() == "申诉成立，不计入统计"
        assert excluded_evaluation_ids(s) == {ev_id}
        # The evaluation itself is never changed or deleted.
        assert s.scalar(select(func.count()).select_from(Evaluation)) == 1


def test_follow_up_is_only_for_bad_reviews_and_overdue_is_visible(hall, desk):
    desk.open(hall.new_case())
    good = desk.press(5)
    assert isinstance(good, Recorded)
    with hall.store.session() as s, pytest.raises(FollowUpError, match="不是差评"):
        add_follow_up_step(
            s,
            good.evaluation_id,
            FollowUpStepKind.VERIFIED,
            staff_id=hall.supervisor_id,
            note="核实",
            window_code=WINDOW,
        )
    bad = _bad_review(hall, desk)
    with hall.store.session() as s:
        state = follow_up_state(s, bad)
        assert state.overdue(date(2026, 11, 30)) and not state.overdue(date(2026, 11, 27))


def test_the_case_list_shows_each_evaluation_as_the_case_view_does(hall, desk):
    """The list reads every case's evaluation in one query: it agrees with the one-case view."""
    from hallapp.config import parse_config
    from hallapp.intake import Intake

    _bad_review(hall, desk)
    desk.open(hall.new_case())
    desk.press(5)
    hall.new_case()  # not evaluated
    intake = Intake(hall.store, parse_config({"window": {"code": WINDOW}}))
    listed = intake.window_cases(include_closed=True)
    assert sorted(c.evaluation_level or 0 for c in listed) == [0, 1, 5]
    for case in listed:
        single = intake.case_view(case.id)
        shown = ("evaluation_level", "evaluation_state", "evaluation_reasons", "evaluated_at",
                 "follow_up")  # fmt: skip
        assert [getattr(case, f) for f in shown] == [getattr(single, f) for f in shown]
    bad = next(c for c in listed if c.evaluation_level == 1)
    assert bad.evaluation_reasons == ("服务态度差",) and bad.follow_up.startswith("待核实")
