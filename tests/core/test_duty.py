"""Duty shifts: sign-in, start, pause, resume, hand-over, and the duty card."""

from __future__ import annotations

import pytest

from hallapp.duty import Duty, DutyError
from hallapp.models import DutyEvent
from hallapp.security import SignInError


@pytest.fixture
def duty(store, config) -> Duty:
    return Duty(store, config)


def test_sign_in_checks_the_password(duty, reference):
    assert duty.sign_in("1001", "123456").name == "张丽华"
    with pytest.raises(SignInError, match="工号或密码不正确"):
        duty.sign_in("1001", "wrong")
    with pytest.raises(SignInError, match="工号或密码不正确"):
        duty.sign_in("no-such", "123456")


def test_shift_start_pause_resume_end(duty, reference):
    assert duty.current() is None and duty.duty_card() is None
    state = duty.start(reference.clerk_id)
    assert state.staff.name == "张丽华" and not state.paused
    card = duty.duty_card()
    assert card is not None
    assert (card.name, card.title, card.window_code) == ("张丽华", "综合受理员", "A03")
    assert card.commitments == ("首问负责", "一次告知", "限时办结")
    paused = duty.pause(reference.clerk_id, "业务培训，10:30 恢复")
    assert paused.paused and paused.pause_reason == "业务培训，10:30 恢复"
    assert not duty.resume(reference.clerk_id).paused
    duty.end(reference.clerk_id)
    assert duty.current() is None
    with pytest.raises(DutyError):
        duty.pause(reference.clerk_id, "x")


def test_a_new_clerk_taking_over_ends_the_old_shift(duty, reference):
    duty.start(reference.clerk_id)
    state = duty.start(reference.supervisor_id)
    assert state.staff.staff_no == "9001"
    with duty.store.session() as s:
        kinds = [e.kind for e in s.query(DutyEvent).order_by(DutyEvent.created_at)]
    assert kinds == ["start", "end", "start"]
