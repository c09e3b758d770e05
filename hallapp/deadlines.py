"""A case's deadlines: dates in, dates out, in working days (see hallapp.workdays).

- promised date: ``promised_days`` working days after acceptance (承诺时限);
- legal date: ``legal_days`` working days after acceptance (法定时限);
- conditional acceptance (容缺): the applicant brings the missing materials
  within ``supplement_days`` working days after acceptance;
- 补正: a notice pauses the clock; when the materials arrive, counting restarts
  from the day after, and the full period runs again (extensions granted
  before the pause belonged to the old period and lapse with it);
- extension (延期): before the deadline in force, with a reason and the
  head's sign-off, never past the legal limit (seed 003 §六.3);
- states for a given "today": on track, due soon, overdue, paused, completed.

Instant items (即办件, ``promised_days == 0``) are due the day they are accepted.
Every date carries the provisional flag of hallapp.workdays.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import date

from hallapp.workdays import (
    WorkCalendar,
    WorkdayResult,
    add_working_days,
    default_calendar,
    working_days_between,
)

log = logging.getLogger(__name__)

DEFAULT_DUE_SOON_DAYS = 2


class DeadlineError(ValueError):
    """The case's dates are inconsistent; the message says what, in Chinese."""


class ExtensionRefused(DeadlineError):
    """An extension that the rules do not allow (after the deadline, past the legal limit…)."""


class DeadlineState(enum.StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    PAUSED = "paused"
    COMPLETED = "completed"
    COMPLETED_LATE = "completed_late"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    DeadlineState.ON_TRACK: "正常",
    DeadlineState.DUE_SOON: "临期",
    DeadlineState.OVERDUE: "超期",
    DeadlineState.PAUSED: "补正中止计时",
    DeadlineState.COMPLETED: "按期办结",
    DeadlineState.COMPLETED_LATE: "超期办结",
}


@dataclass(frozen=True)
class Pause:
    """A 补正 notice (``paused_on``) and the day the materials arrived (``resumed_on``)."""

    paused_on: date
    resumed_on: date | None = None


@dataclass(frozen=True)
class Extension:
    requested_on: date
    extra_days: int
    reason: str
    approver: str


@dataclass(frozen=True)
class DeadlineInputs:
    accepted_on: date
    promised_days: int
    legal_days: int
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()
    # 容缺受理: working days the applicant has to bring the missing materials.
    supplement_days: int | None = None
    supplement_received_on: date | None = None
    completed_on: date | None = None


@dataclass(frozen=True)
class CaseDeadlines:
    counting_from: date  # the acceptance day, or the day the last 补正 materials arrived
    # The dates in force; None while the clock is paused for 补正 (the restart is unknown).
    promised: WorkdayResult | None
    legal: WorkdayResult | None
    supplement: WorkdayResult | None
    state: DeadlineState
    # Working days after today up to the promised date: 0 = due today, < 0 = overdue.
    working_days_left: int | None
    extension_days: int  # granted in the current period
    paused_since: date | None
    legal_overdue: bool
    supplement_overdue: bool

    @property
    def provisional(self) -> bool:
        return any(r.provisional for r in (self.promised, self.legal, self.supplement) if r)


@dataclass
class _Clock:
    """The counting period in force at some point of the case's history."""

    anchor: date
    extra: int
    paused_since: date | None = None


def _fmt(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _check_basics(inputs: DeadlineInputs) -> None:
    if inputs.promised_days < 0 or inputs.legal_days < 0:
        raise DeadlineError("时限不能为负数")
    if inputs.promised_days > inputs.legal_days:
        raise DeadlineError(
            f"承诺时限（{inputs.promised_days} 个工作日）"
            f"不能超过法定时限（{inputs.legal_days} 个工作日）"
        )
    if inputs.supplement_days is not None and inputs.supplement_days < 1:
        raise DeadlineError("容缺材料的补交期限至少为 1 个工作日")
    if inputs.completed_on is not None and inputs.completed_on < inputs.accepted_on:
        raise DeadlineError("办结日期不能早于受理日期")


def _apply_extension(
    inputs: DeadlineInputs, clock: _Clock, ext: Extension, cal: WorkCalendar
) -> None:
    if not ext.reason.strip():
        raise ExtensionRefused("延期必须写明原因")
    if not ext.approver.strip():
        raise ExtensionRefused("延期必须由部门负责人签署意见（缺少审批人）")
    if ext.extra_days < 1:
        raise ExtensionRefused("延期天数至少为 1 个工作日")
    if ext.requested_on < inputs.accepted_on:
        raise ExtensionRefused("延期申请日期不能早于受理日期")
    due = add_working_days(clock.anchor, inputs.promised_days + clock.extra, cal).date
    if ext.requested_on > due:
        raise ExtensionRefused(f"办理期限已于{_fmt(due)}届满，延期须在期限届满前提出")
    room = inputs.legal_days - inputs.promised_days - clock.extra
    if ext.extra_days > room:
        legal = add_working_days(clock.anchor, inputs.legal_days, cal).date
        raise ExtensionRefused(
            f"延期 {ext.extra_days} 个工作日将超过法定期限（{_fmt(legal)}），"
            + (f"最多还能延期 {room} 个工作日" if room > 0 else "已不能再延期")
        )
    clock.extra += ext.extra_days


def _replay(inputs: DeadlineInputs, cal: WorkCalendar) -> _Clock:
    """Walk the case's pauses and extensions in order, checking each against the
    period in force when it happened."""
    _check_basics(inputs)
    clock = _Clock(anchor=inputs.accepted_on, extra=0)
    extensions = sorted(inputs.extensions, key=lambda e: e.requested_on)
    pauses = sorted(inputs.pauses, key=lambda p: p.paused_on)
    i = 0
    for n, pause in enumerate(pauses):
        while i < len(extensions) and extensions[i].requested_on <= pause.paused_on:
            _apply_extension(inputs, clock, extensions[i], cal)
            i += 1
        if pause.paused_on < clock.anchor:
            raise DeadlineError(
                f"补正通知日期（{_fmt(pause.paused_on)}）早于受理或上次恢复计时的日期"
                f"（{_fmt(clock.anchor)}）"
            )
        due = add_working_days(clock.anchor, inputs.promised_days + clock.extra, cal).date
        if pause.paused_on > due:
            raise DeadlineError(
                f"办件已于{_fmt(due)}超过承诺期限，补正通知（{_fmt(pause.paused_on)}）不能再中止计时"
            )
        if pause.resumed_on is None:
            if n != len(pauses) - 1:
                raise DeadlineError("上一次补正尚未收到材料，不能再次中止计时")
            if i < len(extensions):
                raise ExtensionRefused("补正期间计时已中止，无需延期")
            clock.paused_since = pause.paused_on
            return clock
        if pause.resumed_on < pause.paused_on:
            raise DeadlineError("补正材料收到日期不能早于补正通知日期")
        if i < len(extensions) and extensions[i].requested_on < pause.resumed_on:
            raise ExtensionRefused("补正期间计时已中止，无需延期")
        # The full period runs again from the day after the materials arrived.
        clock.anchor, clock.extra = pause.resumed_on, 0
    for ext in extensions[i:]:
        _apply_extension(inputs, clock, ext, cal)
    return clock


def validate_inputs(inputs: DeadlineInputs, calendar: WorkCalendar | None = None) -> None:
    """Raise DeadlineError (or ExtensionRefused) when the case's dates break a rule."""
    _replay(inputs, calendar or default_calendar())


def grant_extension(
    inputs: DeadlineInputs,
    *,
    requested_on: date,
    extra_days: int,
    reason: str,
    approver: str,
    calendar: WorkCalendar | None = None,
) -> DeadlineInputs:
    """The inputs with one more extension, or ExtensionRefused with the reason."""
    ext = Extension(requested_on, extra_days, reason, approver)
    updated = replace(inputs, extensions=(*inputs.extensions, ext))
    try:
        _replay(updated, calendar or default_calendar())
    except ExtensionRefused:
        log.info("延期被拒绝：%s", ext, exc_info=True)
        raise
    return updated


def pause_for_correction(
    inputs: DeadlineInputs, paused_on: date, calendar: WorkCalendar | None = None
) -> DeadlineInputs:
    """The inputs with the clock paused by a 补正 notice (DeadlineError if not allowed)."""
    updated = replace(inputs, pauses=(*inputs.pauses, Pause(paused_on)))
    _replay(updated, calendar or default_calendar())
    return updated


def resume_after_correction(
    inputs: DeadlineInputs, resumed_on: date, calendar: WorkCalendar | None = None
) -> DeadlineInputs:
    """The inputs with the open 补正 pause closed on the day the materials arrived."""
    if not inputs.pauses or inputs.pauses[-1].resumed_on is not None:
        raise DeadlineError("该办件没有处于补正中止计时状态")
    last = replace(inputs.pauses[-1], resumed_on=resumed_on)
    updated = replace(inputs, pauses=(*inputs.pauses[:-1], last))
    _replay(updated, calendar or default_calendar())
    return updated


def compute_deadlines(
    inputs: DeadlineInputs,
    today: date,
    calendar: WorkCalendar | None = None,
    *,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> CaseDeadlines:
    """The case's dates and its state on ``today``.

    Due soon means at most ``due_soon_days`` working days left (0 = due today).
    """
    cal = calendar or default_calendar()
    clock = _replay(inputs, cal)
    supplement = (
        add_working_days(inputs.accepted_on, inputs.supplement_days, cal)
        if inputs.supplement_days is not None
        else None
    )
    supplement_overdue = supplement is not None and (
        (inputs.supplement_received_on or today) > supplement.date
    )
    if clock.paused_since is not None:
        state = DeadlineState.COMPLETED if inputs.completed_on else DeadlineState.PAUSED
        return CaseDeadlines(
            counting_from=clock.anchor,
            promised=None,
            legal=None,
            supplement=supplement,
            state=state,
            working_days_left=None,
            extension_days=clock.extra,
            paused_since=clock.paused_since,
            legal_overdue=False,
            supplement_overdue=supplement_overdue,
        )
    promised = add_working_days(clock.anchor, inputs.promised_days + clock.extra, cal)
    legal = add_working_days(clock.anchor, inputs.legal_days, cal)
    end = inputs.completed_on or today
    left: int | None
    if inputs.completed_on is not None:
        late = inputs.completed_on > promised.date
        state = DeadlineState.COMPLETED_LATE if late else DeadlineState.COMPLETED
        left = None
    else:
        left = working_days_between(today, promised.date, cal)
        if today > promised.date:
            state = DeadlineState.OVERDUE
        elif left <= due_soon_days:
            state = DeadlineState.DUE_SOON
        else:
            state = DeadlineState.ON_TRACK
    return CaseDeadlines(
        counting_from=clock.anchor,
        promised=promised,
        legal=legal,
        supplement=supplement,
        state=state,
        working_days_left=left,
        extension_days=clock.extra,
        paused_since=None,
        legal_overdue=end > legal.date,
        supplement_overdue=supplement_overdue,
    )
