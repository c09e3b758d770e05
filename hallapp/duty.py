"""当班: who is on duty at this window, paused or not, and the duty card shown to citizens.

A shift is a run of append-only duty events (start, pause, resume, end); the
current state is derived from the newest shift's events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallapp import documents as docs
from hallapp.config import Config
from hallapp.models import DutyEvent, DutyEventKind, Role, Staff, new_id, utcnow
from hallapp.security import authenticate
from hallapp.store import Store
from hallapp.windows import window_info, windows_serving

log = logging.getLogger(__name__)


class DutyError(Exception):
    """The duty step is not possible now; the message is for the clerk."""


@dataclass(frozen=True)
class StaffView:
    id: str
    staff_no: str
    name: str
    title: str
    phone: str
    role: Role
    department_code: str
    department_name: str


@dataclass(frozen=True)
class DutyState:
    shift_id: str
    staff: StaffView
    window_code: str
    since: datetime
    paused: bool
    pause_reason: str


def _staff_view(s: Staff) -> StaffView:
    return StaffView(
        id=s.id,
        staff_no=s.staff_no,
        name=s.name,
        title=s.title,
        phone=s.phone,
        role=Role(s.role),
        department_code=s.department_code,
        department_name=s.department.name,
    )


class Duty:
    """Sign-in and the duty shift of one window."""

    def __init__(
        self, store: Store, config: Config, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.config = config
        self.window_code = config.window_code
        self.clock = clock

    def sign_in(self, staff_no: str, password: str) -> StaffView:
        """Check the staff number and password (SignInError with a safe message)."""
        with self.store.read() as s:
            return _staff_view(authenticate(s, staff_no, password))

    def _latest(self, s: Session) -> list[DutyEvent]:
        last_start = s.scalars(
            select(DutyEvent)
            .where(DutyEvent.window_code == self.window_code)
            .where(DutyEvent.kind == DutyEventKind.START)
            .order_by(DutyEvent.created_at.desc())
            .limit(1)
        ).first()
        if last_start is None:
            return []
        return list(
            s.scalars(
                select(DutyEvent)
                .where(DutyEvent.shift_id == last_start.shift_id)
                .order_by(DutyEvent.created_at)
            )
        )

    def _state(self, s: Session) -> DutyState | None:
        events = self._latest(s)
        if not events or events[-1].kind == DutyEventKind.END:
            return None
        start = events[0]
        paused, reason = False, ""
        for ev in events[1:]:
            if ev.kind == DutyEventKind.PAUSE:
                paused, reason = True, ev.reason
            elif ev.kind == DutyEventKind.RESUME:
                paused, reason = False, ""
        staff = s.get(Staff, start.staff_id)
        assert staff is not None
        return DutyState(
            shift_id=start.shift_id,
            staff=_staff_view(staff),
            window_code=self.window_code,
            since=start.created_at,
            paused=paused,
            pause_reason=reason,
        )

    def current(self) -> DutyState | None:
        with self.store.read() as s:
            return self._state(s)

    def _add(
        self, s: Session, shift_id: str, staff_id: str, kind: DutyEventKind, reason: str = ""
    ) -> None:
        s.add(
            DutyEvent(
                origin_window=self.window_code,
                created_at=self.clock(),
                shift_id=shift_id,
                staff_id=staff_id,
                window_code=self.window_code,
                kind=kind,
                reason=reason,
            )
        )
        s.flush()

    def check_may_serve(self, s: Session, staff: Staff) -> None:
        """Refuse (DutyError) anyone who may not go on duty at this window.

        Only clerks serve at a window, and only at one that serves their own
        department: citizens are told on the duty card whose staff serve them.
        """
        role = Role(staff.role)
        if role is Role.SUPERVISOR:
            raise DutyError(
                f"{staff.name}（工号 {staff.staff_no}）是监督管理人员，不在窗口当班。"
                "监督管理人员请在中心的监督管理端登录，查看统计、处理差评和回访；"
                "窗口客户端只供窗口工作人员当班"
            )
        if role is Role.ADMINISTRATOR:
            raise DutyError(
                f"{staff.name}（工号 {staff.staff_no}）是系统管理员，不在窗口当班。"
                "系统管理员请用 hallapp 命令维护窗口和工作人员"
                "（hallapp windows add、hallapp staff add）"
            )
        if role is Role.BACK_OFFICE:
            raise DutyError(
                f"{staff.name}（工号 {staff.staff_no}）是部门后台审批人员，不在窗口当班。"
                "请在部门后台审批端（hallapp-backoffice）登录，办理分送本部门的并联审批子件"
            )
        if role is Role.AGENT:
            raise DutyError(
                f"{staff.name}（工号 {staff.staff_no}）是重点项目代办员，不在窗口当班。"
                "代办员请在中心端（hallapp-supervisor）登录，办理重点项目代办"
            )
        window = window_info(s, self.window_code)
        if window is None:
            raise DutyError(
                f"本窗口 {self.window_code} 尚未登记，不能当班。"
                "请系统管理员先登记窗口及其进驻部门："
                f"hallapp windows add {self.window_code} 窗口名称 "
                "--department 部门编码 --by 管理员工号"
            )
        if not window.active:
            raise DutyError(f"{self.window_code} 窗口已停用，不能当班。请联系中心管理人员")
        if not window.serves(staff.department_code):
            elsewhere = windows_serving(s, staff.department_code)
            where = (
                f"请到本部门的窗口（{'、'.join(elsewhere)}）当班"
                if elsewhere
                else "本部门目前没有进驻窗口，请联系中心管理人员"
            )
            raise DutyError(
                f"{self.window_code} 窗口办理{window.departments_text()}的事项，"
                f"您属于{staff.department.name}，不能在本窗口当班。{where}"
            )

    def start(self, staff_id: str) -> DutyState:
        """Start a shift; a shift left open by someone else (a crash, a forgotten
        sign-out) is ended first, so the card never shows the wrong clerk.

        Refused (DutyError) for supervisors, administrators and clerks of a
        department this window does not serve (:meth:`check_may_serve`).
        """
        with self.store.session() as s:
            staff = s.get(Staff, staff_id)
            if staff is None or not staff.active:
                raise DutyError("当前登录的工作人员无效，请重新登录")
            self.check_may_serve(s, staff)
            current = self._state(s)
            if current is not None and current.staff.id == staff_id:
                return current
            if current is not None:
                self._add(s, current.shift_id, current.staff.id, DutyEventKind.END, "交接班")
            self._add(s, new_id(), staff_id, DutyEventKind.START)
            state = self._state(s)
            assert state is not None
            log.info("%s on duty at %s", state.staff.staff_no, self.window_code)
            return state

    def _require(self, s: Session, staff_id: str) -> DutyState:
        current = self._state(s)
        if current is None or current.staff.id != staff_id:
            raise DutyError("您当前不在本窗口当班，请先开始当班")
        return current

    def pause(self, staff_id: str, reason: str) -> DutyState:
        """暂停服务, with the reason shown to citizens."""
        with self.store.session() as s:
            current = self._require(s, staff_id)
            if current.paused:
                return current
            self._add(
                s, current.shift_id, staff_id, DutyEventKind.PAUSE, reason.strip() or "暂停服务"
            )
            state = self._state(s)
            assert state is not None
            return state

    def resume(self, staff_id: str) -> DutyState:
        with self.store.session() as s:
            current = self._require(s, staff_id)
            if not current.paused:
                return current
            self._add(s, current.shift_id, staff_id, DutyEventKind.RESUME)
            state = self._state(s)
            assert state is not None
            return state

    def end(self, staff_id: str) -> None:
        with self.store.session() as s:
            current = self._require(s, staff_id)
            self._add(s, current.shift_id, staff_id, DutyEventKind.END)

    def duty_card(self) -> docs.DutyCard | None:
        """The 当班首办负责人 card for the citizen screen and printing (None: nobody on duty)."""
        with self.store.read() as s:
            state = self._state(s)
            if state is None:
                return None
            staff = s.get(Staff, state.staff.id)
            assert staff is not None
            # The clerk's own department: at a 综合窗口 the window's would be several,
            # and citizens must see whose staff serves them.
            return docs.DutyCard(
                hall_name=self.config.hall_name,
                department_name=staff.department.name,
                window_code=self.window_code,
                name=staff.name,
                title=staff.title,
                staff_no=staff.staff_no,
                phone=staff.phone,
                commitments=tuple(staff.commitment_lines()) or docs.DEFAULT_COMMITMENTS,
                complaint_hotline=self.config.complaint_hotline,
                on_duty_since=state.since,
                photo=staff.photo,
            )
