"""A case's deadlines: promised and legal dates, 补正 pauses, extensions, states.

Dates are in March 2026 (official schedule, no holidays): accepted Monday
2026-03-02, promised 5 working days (Monday 3/9), legal 10 (Monday 3/16).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from hallapp.deadlines import (
    DeadlineError,
    DeadlineInputs,
    DeadlineState,
    Extension,
    ExtensionRefused,
    Pause,
    compute_deadlines,
    grant_extension,
    pause_for_correction,
    resume_after_correction,
    validate_inputs,
)

D = date.fromisoformat
CASE = DeadlineInputs(accepted_on=D("2026-03-02"), promised_days=5, legal_days=10)


def test_promised_and_legal_dates() -> None:
    result = compute_deadlines(CASE, today=D("2026-03-02"))
    assert result.promised is not None and result.legal is not None
    assert result.promised.date == D("2026-03-09")
    assert result.legal.date == D("2026-03-16")
    assert result.counting_from == D("2026-03-02")
    assert not result.provisional


def test_across_national_day() -> None:
    case = DeadlineInputs(accepted_on=D("2026-09-28"), promised_days=8, legal_days=20)
    result = compute_deadlines(case, today=D("2026-09-28"))
    assert result.promised is not None and result.legal is not None
    # 9/29, 9/30, (10/1-10/7 off), 10/8, 10/9, Sat 10/10 (make-up), 10/12, 10/13, 10/14.
    assert result.promised.date == D("2026-10-14")
    assert result.legal.date == D("2026-10-30")


@pytest.mark.parametrize(
    ("today", "state", "left"),
    [
        ("2026-03-03", DeadlineState.ON_TRACK, 4),
        ("2026-03-04", DeadlineState.ON_TRACK, 3),
        ("2026-03-05", DeadlineState.DUE_SOON, 2),
        ("2026-03-07", DeadlineState.DUE_SOON, 1),  # a Saturday
        ("2026-03-09", DeadlineState.DUE_SOON, 0),  # due today
        ("2026-03-10", DeadlineState.OVERDUE, -1),
        ("2026-03-13", DeadlineState.OVERDUE, -4),
    ],
)
def test_state_on_a_given_day(today: str, state: DeadlineState, left: int) -> None:
    result = compute_deadlines(CASE, today=D(today))
    assert result.state is state
    assert result.working_days_left == left
    assert not result.legal_overdue


def test_due_soon_threshold_is_configurable() -> None:
    assert compute_deadlines(CASE, D("2026-03-05"), due_soon_days=0).state is DeadlineState.ON_TRACK
    assert compute_deadlines(CASE, D("2026-03-04"), due_soon_days=3).state is DeadlineState.DUE_SOON


def test_past_the_legal_date() -> None:
    result = compute_deadlines(CASE, today=D("2026-03-17"))
    assert result.state is DeadlineState.OVERDUE and result.legal_overdue
    assert result.state.label == "超期"


def test_instant_item_is_due_the_same_day() -> None:
    case = DeadlineInputs(accepted_on=D("2026-03-10"), promised_days=0, legal_days=0)
    today = compute_deadlines(case, today=D("2026-03-10"))
    assert today.promised is not None and today.promised.date == D("2026-03-10")
    assert today.state is DeadlineState.DUE_SOON and today.working_days_left == 0
    assert compute_deadlines(case, today=D("2026-03-11")).state is DeadlineState.OVERDUE


def test_completed_on_time_and_late() -> None:
    on_time = compute_deadlines(replace(CASE, completed_on=D("2026-03-09")), D("2026-04-01"))
    assert on_time.state is DeadlineState.COMPLETED and on_time.working_days_left is None
    late = compute_deadlines(replace(CASE, completed_on=D("2026-03-10")), D("2026-04-01"))
    assert late.state is DeadlineState.COMPLETED_LATE and late.state.label == "超期办结"
    assert not late.legal_overdue


def test_conditional_acceptance_supplement_date() -> None:
    case = replace(CASE, supplement_days=5)
    result = compute_deadlines(case, today=D("2026-03-09"))
    assert result.supplement is not None and result.supplement.date == D("2026-03-09")
    assert not result.supplement_overdue
    assert compute_deadlines(case, today=D("2026-03-10")).supplement_overdue
    brought = replace(case, supplement_received_on=D("2026-03-06"))
    assert not compute_deadlines(brought, today=D("2026-03-20")).supplement_overdue
    brought_late = replace(case, supplement_received_on=D("2026-03-11"))
    assert compute_deadlines(brought_late, today=D("2026-03-20")).supplement_overdue


# --------------------------------------------------------------------------- #
# 补正: pause and restart
# --------------------------------------------------------------------------- #


def test_pause_then_restart_runs_the_full_period_again() -> None:
    paused = pause_for_correction(CASE, D("2026-03-04"))
    during = compute_deadlines(paused, today=D("2026-03-10"))
    assert during.state is DeadlineState.PAUSED and during.state.label == "补正中止计时"
    assert during.promised is None and during.working_days_left is None
    assert during.paused_since == D("2026-03-04")

    # Materials arrive Thursday 3/12: counting restarts on Friday 3/13.
    resumed = resume_after_correction(paused, D("2026-03-12"))
    assert resumed.pauses == (Pause(D("2026-03-04"), D("2026-03-12")),)
    after = compute_deadlines(resumed, today=D("2026-03-13"))
    assert after.counting_from == D("2026-03-12")
    assert after.promised is not None and after.legal is not None
    assert after.promised.date == D("2026-03-19")
    assert after.promised.counted[0] == D("2026-03-13")
    assert after.legal.date == D("2026-03-26")
    assert after.state is DeadlineState.ON_TRACK


def test_two_pauses() -> None:
    case = replace(
        CASE,
        pauses=(Pause(D("2026-03-03"), D("2026-03-05")), Pause(D("2026-03-09"), D("2026-03-10"))),
    )
    result = compute_deadlines(case, today=D("2026-03-11"))
    assert result.promised is not None and result.promised.date == D("2026-03-17")


def test_pause_rules() -> None:
    with pytest.raises(DeadlineError, match="超过承诺期限"):
        pause_for_correction(CASE, D("2026-03-10"))
    with pytest.raises(DeadlineError, match="早于受理"):
        pause_for_correction(CASE, D("2026-03-01"))
    paused = pause_for_correction(CASE, D("2026-03-04"))
    with pytest.raises(DeadlineError, match="不能早于补正通知日期"):
        resume_after_correction(paused, D("2026-03-03"))
    with pytest.raises(DeadlineError, match="尚未收到材料"):
        validate_inputs(replace(CASE, pauses=(Pause(D("2026-03-03")), Pause(D("2026-03-05")))))
    with pytest.raises(DeadlineError, match="没有处于补正"):
        resume_after_correction(CASE, D("2026-03-05"))


def test_completed_during_a_pause() -> None:
    case = replace(CASE, pauses=(Pause(D("2026-03-04")),), completed_on=D("2026-03-20"))
    assert compute_deadlines(case, D("2026-03-25")).state is DeadlineState.COMPLETED


# --------------------------------------------------------------------------- #
# Extensions
# --------------------------------------------------------------------------- #


def _extend(case: DeadlineInputs, on: str, days: int, **kw: str) -> DeadlineInputs:
    return grant_extension(
        case,
        requested_on=D(on),
        extra_days=days,
        reason=kw.get("reason", "需现场核查"),
        approver=kw.get("approver", "李局长"),
    )


def test_extension_moves_the_promised_date_up_to_the_legal_limit() -> None:
    once = _extend(CASE, "2026-03-06", 3)
    result = compute_deadlines(once, today=D("2026-03-10"))
    assert result.promised is not None and result.promised.date == D("2026-03-12")
    assert result.extension_days == 3
    assert result.state is DeadlineState.DUE_SOON
    assert once.extensions == (Extension(D("2026-03-06"), 3, "需现场核查", "李局长"),)
    # Requested on the new deadline day itself: still allowed, up to the legal date.
    twice = _extend(once, "2026-03-12", 2)
    assert (
        compute_deadlines(twice, D("2026-03-12")).promised
        == compute_deadlines(twice, D("2026-03-12")).legal
    )
    with pytest.raises(ExtensionRefused, match="已不能再延期"):
        _extend(twice, "2026-03-13", 1)


def test_extension_past_the_legal_limit_is_refused() -> None:
    with pytest.raises(ExtensionRefused) as caught:
        _extend(CASE, "2026-03-06", 6)
    message = str(caught.value)
    assert "超过法定期限（2026年3月16日）" in message
    assert "最多还能延期 5 个工作日" in message


def test_extension_after_the_deadline_is_refused() -> None:
    with pytest.raises(ExtensionRefused, match="已于2026年3月9日届满，延期须在期限届满前提出"):
        _extend(CASE, "2026-03-10", 1)


def test_extension_needs_reason_approver_and_days() -> None:
    with pytest.raises(ExtensionRefused, match="原因"):
        _extend(CASE, "2026-03-06", 1, reason=" ")
    with pytest.raises(ExtensionRefused, match="负责人"):
        _extend(CASE, "2026-03-06", 1, approver="")
    with pytest.raises(ExtensionRefused, match="至少为 1"):
        _extend(CASE, "2026-03-06", 0)
    with pytest.raises(ExtensionRefused, match="早于受理"):
        _extend(CASE, "2026-03-01", 1)


def test_no_extension_while_paused() -> None:
    paused = pause_for_correction(CASE, D("2026-03-04"))
    with pytest.raises(ExtensionRefused, match="补正期间"):
        _extend(paused, "2026-03-05", 2)
    resumed = resume_after_correction(paused, D("2026-03-12"))
    with pytest.raises(ExtensionRefused, match="补正期间"):
        _extend(resumed, "2026-03-06", 2)


def test_extension_lapses_when_counting_restarts() -> None:
    case = _extend(CASE, "2026-03-03", 3)
    case = pause_for_correction(case, D("2026-03-04"))
    case = resume_after_correction(case, D("2026-03-12"))
    result = compute_deadlines(case, D("2026-03-13"))
    assert result.extension_days == 0
    assert result.promised is not None and result.promised.date == D("2026-03-19")


def test_inconsistent_limits_are_refused() -> None:
    with pytest.raises(DeadlineError, match="不能超过法定时限"):
        validate_inputs(replace(CASE, promised_days=11))
    with pytest.raises(DeadlineError, match="负数"):
        validate_inputs(replace(CASE, promised_days=-1))
    with pytest.raises(DeadlineError, match="办结日期"):
        validate_inputs(replace(CASE, completed_on=D("2026-03-01")))


def test_dates_in_a_year_without_schedule_are_provisional() -> None:
    case = DeadlineInputs(accepted_on=D("2035-02-06"), promised_days=2, legal_days=20)
    result = compute_deadlines(case, today=D("2035-02-06"))
    assert result.provisional
    assert result.promised is not None and result.promised.provisional
    # 除夕 2/7 to 初三 2/10 and the weekend are skipped.
    assert result.promised.date == D("2035-02-13")
