"""Duty shifts: sign-in, start, pause, resume, hand-over, and the duty card."""

from __future__ import annotations

import pytest

from hallapp.config import parse_config
from hallapp.duty import Duty, DutyError
from hallapp.models import Department, DutyEvent, Role, Staff, Window, WindowDepartment
from hallapp.security import SignInError
from hallapp.windows import WindowSetupError, set_window, window_info


def _clerk(store, staff_no: str, department: str, role: Role = Role.CLERK) -> str:
    with store.session() as s:
        person = Staff(
            staff_no=staff_no,
            name=f"职员{staff_no}",
            department_code=department,
            role=role,
            password_hash="x",
        )
        s.add(person)
        s.flush()
        return person.id


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
    colleague = _clerk(duty.store, "1002", "ZJJ")
    state = duty.start(colleague)
    assert state.staff.staff_no == "1002"
    with duty.store.session() as s:
        kinds = [e.kind for e in s.query(DutyEvent).order_by(DutyEvent.created_at)]
    assert kinds == ["start", "end", "start"]


def test_a_clerk_of_another_department_is_refused_at_this_window(duty, reference):
    # A03 serves 住建局 only: a 自然资源局 clerk would be shown to citizens as 住建局 staff.
    other = _clerk(duty.store, "2001", "ZRZY")
    with pytest.raises(DutyError, match="您属于连城县自然资源局，不能在本窗口当班") as info:
        duty.start(other)
    assert "连城县住房和城乡建设局" in str(info.value)
    assert duty.current() is None
    # Told where to go instead, once the department has a window.
    with duty.store.session() as s:
        set_window(s, "B07", "自然资源窗口", ["ZRZY"])
    with pytest.raises(DutyError, match="请到本部门的窗口（B07）当班"):
        duty.start(other)


@pytest.mark.parametrize(
    ("role", "where"),
    [(Role.SUPERVISOR, "监督管理端"), (Role.ADMINISTRATOR, "hallapp windows add")],
)
def test_supervisors_and_administrators_never_go_on_duty(duty, reference, role, where):
    # Even of the window's own department.
    person = _clerk(duty.store, "9100", "ZJJ", role)
    with pytest.raises(DutyError, match=where):
        duty.start(person)
    with pytest.raises(DutyError, match="监督管理人员"):
        duty.start(reference.supervisor_id)
    assert duty.current() is None


def test_an_unregistered_window_says_how_to_register_it(store, reference):
    duty = Duty(store, parse_config({"hall": {"code": "LC"}, "window": {"code": "C09"}}))
    with pytest.raises(DutyError, match="hallapp windows add C09"):
        duty.start(reference.clerk_id)


def test_a_combined_window_takes_clerks_of_each_department_and_cards_show_their_own(
    store, reference
):
    with store.session() as s:
        set_window(s, "A01", "工程建设项目审批综合窗口", ["ZJJ", "ZRZY"])
    duty = Duty(store, parse_config({"hall": {"code": "LC"}, "window": {"code": "A01"}}))
    with store.session() as s:
        info = window_info(s, "A01")
        assert info is not None and info.combined
        assert info.issuer_name("连城县行政服务中心") == "连城县行政服务中心"
    zr = _clerk(store, "2001", "ZRZY")
    duty.start(zr)
    card = duty.duty_card()
    assert card is not None and card.department_name == "连城县自然资源局"
    duty.start(reference.clerk_id)
    card = duty.duty_card()
    assert card is not None and card.department_name == "连城县住房和城乡建设局"


def test_duty_card_names_the_clerks_department_not_the_windows(store, reference):
    # A window whose own department differs from the clerk's, but serves both.
    with store.session() as s:
        s.add(Department(code="SCJ", name="连城县市场监督管理局"))
        s.flush()
        w = s.get(Window, "A03")
        assert w is not None
        w.department_code = "SCJ"
        w.served.append(WindowDepartment(department_code="SCJ"))
    duty = Duty(store, parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}}))
    duty.start(reference.clerk_id)
    card = duty.duty_card()
    assert card is not None and card.department_name == "连城县住房和城乡建设局"


def test_set_window_refuses_bad_input_before_writing(store, reference):
    with store.session() as s:
        with pytest.raises(WindowSetupError, match="部门 NOPE 不存在") as info:
            set_window(s, "a 1", "", ["NOPE"])
        text = str(info.value)
        assert "窗口编号“A 1”无效" in text and "请填写窗口名称" in text
        assert s.get(Window, "A 1") is None
