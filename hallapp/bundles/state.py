"""A sub-case's state, derived from its case events (never stored).

The same derivation serves the window (its local events, with what the
centre wrote pulled in) and a department's back office (the central events).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from hallapp.models import CaseEventKind


class SubCaseState(enum.StrEnum):
    RECEIVED = "received"  # 已收件，尚未受理
    PENDING = "pending"  # 审批中
    MATERIAL_REQUESTED = "material_requested"  # 部门要求补充材料，待申请人补交
    APPROVED = "approved"  # 准予许可（办结）
    REFUSED = "refused"  # 不予许可
    HANDED_OVER = "handed_over"  # 已一窗出件

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def decided(self) -> bool:
        return self in (SubCaseState.APPROVED, SubCaseState.REFUSED, SubCaseState.HANDED_OVER)


_LABELS = {
    SubCaseState.RECEIVED: "待受理",
    SubCaseState.PENDING: "审批中",
    SubCaseState.MATERIAL_REQUESTED: "待补充材料",
    SubCaseState.APPROVED: "准予许可",
    SubCaseState.REFUSED: "不予许可",
    SubCaseState.HANDED_OVER: "已出件",
}


@dataclass(frozen=True)
class SubCaseFacts:
    """What a sub-case's events say, in the order they were written."""

    state: SubCaseState
    outcome: SubCaseState | None  # APPROVED or REFUSED once the department decided
    decided_on: date | None
    reasons: tuple[str, ...]
    requested: tuple[str, ...]  # materials the department asked for (the last request)
    urges: int
    last_urged_on: date | None
    #: 补正 restarts the count (行政许可法): the deadline from the day the
    #: window forwarded what the department asked for, if it did.
    restarted_deadline: date | None = None

    def deadline(self, routed: date) -> date:
        return self.restarted_deadline or routed


def _day(value: Any) -> date:
    from hallapp.workdays import hall_date

    return hall_date(value)


def sub_case_facts(events: Iterable[Any]) -> SubCaseFacts:
    """``events`` each with ``seq``, ``kind``, ``data`` and ``created_at``.

    Replayed in ``seq`` order: each side numbers an event after the ones it
    has seen (the window after what it pulled, the centre after what was
    pushed), so the order is what each writer knew, whatever the clocks of
    the window and the centre say; the time only breaks ties.
    """
    events = sorted(events, key=lambda ev: (ev.seq, ev.created_at))
    state = SubCaseState.RECEIVED
    outcome: SubCaseState | None = None
    decided_on: date | None = None
    reasons: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    urges = 0
    last_urged: date | None = None
    handed_over = False
    restarted: date | None = None
    for ev in events:
        kind = CaseEventKind(ev.kind)
        data = ev.data or {}
        if kind is CaseEventKind.ACCEPTED:
            state = SubCaseState.PENDING
        elif kind is CaseEventKind.MATERIAL_REQUESTED and outcome is None:
            state = SubCaseState.MATERIAL_REQUESTED
            requested = tuple(data.get("materials", ()))
        elif kind is CaseEventKind.MATERIAL_FORWARDED and outcome is None:
            state = SubCaseState.PENDING
            if data.get("deadline"):
                restarted = date.fromisoformat(str(data["deadline"]))
        elif kind in (CaseEventKind.DEPARTMENT_APPROVED, CaseEventKind.DEPARTMENT_REFUSED):
            if outcome is None:  # the first decision stands
                outcome = (
                    SubCaseState.APPROVED
                    if kind is CaseEventKind.DEPARTMENT_APPROVED
                    else SubCaseState.REFUSED
                )
                state = outcome
                decided_on = _day(ev.created_at)
                reasons = tuple(data.get("reasons", ()))
        elif kind is CaseEventKind.HANDED_OVER:
            handed_over = True
        elif kind is CaseEventKind.URGED:
            urges += 1
            last_urged = _day(ev.created_at)
    # Final whatever the clocks of the window and the centre said: the window
    # hands over only what every department had decided.
    if handed_over:
        state = SubCaseState.HANDED_OVER
    return SubCaseFacts(
        state, outcome, decided_on, reasons, requested, urges, last_urged, restarted
    )


def is_late(routed: date, facts: SubCaseFacts, today: date) -> bool:
    """Past its limit: decided after the deadline, or still undecided after it.

    Not while the department waits for a material it asked for (the
    applicant's time), and counted again from its forwarding.
    """
    deadline = facts.deadline(routed)
    if facts.decided_on is not None:
        return facts.decided_on > deadline
    if facts.state is SubCaseState.MATERIAL_REQUESTED:
        return False
    return today > deadline
