"""好差评: the evaluation rules, independent of any device.

The rules (GLOSSARY.md, seed 000 §五):

- 一次一评: an evaluation is *open* for a case at a window only right after a
  service encounter there with the citizen present (:class:`Encounter`:
  acceptance, 容缺 acceptance, one-time notice, refusal, referral, instant
  completion, hand-over), never after 办结 of a 承诺件 in the back office
  (:func:`open_evaluation`, called by the UI). It stays open for
  ``timeout_s`` seconds; one that timed out may be offered again while the
  encounter is still the case's latest (:meth:`EvaluationDesk.reoffer`).
- A key press counts only while an evaluation is open at that window and in
  time. A press with nothing open is logged and ignored, so nobody can rate
  themselves between citizens.
- One evaluation per encounter (a case may carry several): a second press is
  ignored and logged; the unique (``evaluations.case_id``,
  ``evaluations.encounter_event_id``) constraint backs it in the database.
- No default good rating: when time runs out the case is recorded as not
  evaluated (CaseEvent EVALUATION_EXPIRED), never as 满意.
- 差评 (levels 1–2) needs at least one reason chosen by the citizen: the press
  puts the evaluation in "awaiting reasons"; :meth:`EvaluationDesk.submit_reasons`
  records it. If time runs out first, the case is not evaluated and the
  pressed level is kept in the event's data for supervisors.
- A recorded 差评 opens a follow-up (FollowUpStep OPENED, due in 5 working
  days): verify, call back (回访), rectify (整改), close; the clerk may appeal
  (申诉), and an upheld appeal excludes the evaluation from the tallies.
- Each evaluation is committed (SQLite WAL, synchronous=FULL) before the call
  that records it returns, so a caller acknowledges the device only after the
  evaluation is durable.

:class:`EvaluationDesk` holds the open evaluation of one window and is safe to
call from several threads (the driver thread presses, the UI opens/cancels, a
timer expires).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Dialect,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from hallapp import audit
from hallapp.dberrors import short_label
from hallapp.models import (
    Applicant,
    Base,
    Case,
    CaseEvent,
    CaseEventKind,
    Encounter,
    Evaluation,
    FollowUpStep,
    FollowUpStepKind,
    Role,
    Staff,
    new_id,
    utcnow,
)
from hallapp.store import Store
from hallapp.sync.chain import seal as seal_chain

log = logging.getLogger(__name__)

CHANNEL_WINDOW_EVALUATOR = "window_evaluator"
FOLLOW_UP_WORKING_DAYS = 5
DEFAULT_TIMEOUT_S = 60
DEFAULT_REASONS_TIMEOUT_S = 60
# A timed-out invitation can be offered again this long: the citizen is still
# at the window (later, the clerk is serving someone else).
REOFFER_WITHIN_S = 300
CHECKPOINT_EVERY_WRITES = 50
CHECKPOINT_FORCE_WRITES = 1000  # when nobody calls checkpoint(): SQLite's own default
# A press waits this long for the write lock (another program writing the
# window's database) before it is kept in memory and retried in the
# background: the citizen is answered at once, the evaluation is written as
# soon as the lock is free, with the time of the press.
PRESS_BUSY_TIMEOUT_MS = 2000
KEPT_RETRY_S = 0.5
KEPT_GIVE_UP_S = 3600  # then it truly failed: said on the citizen screen, logged in full
MAX_REASON_CHARS = 200

# The standard 差评 reasons shown on the citizen screen. "其他" may carry the
# citizen's own words after a full-width colon: "其他：……".
BAD_REVIEW_REASONS: tuple[str, ...] = (
    "等候时间长",
    "服务态度差",
    "办事效率低",
    "一次性告知不到位",
    "要求提供不必要材料",
    "政策解释不清",
    "其他",
)
OTHER_REASON = "其他"


class Level(enum.IntEnum):
    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    BASICALLY_SATISFIED = 3
    SATISFIED = 4
    VERY_SATISFIED = 5

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.value]

    @property
    def is_bad(self) -> bool:
        """差评: needs reasons and opens a follow-up."""
        return self.value <= 2


LEVEL_LABELS: dict[int, str] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}


# ---------------------------------------------------------------------- errors


class EvaluationError(Exception):
    """A rule of 好差评 refused the request; the message is in Chinese."""


class ReasonRequired(EvaluationError):
    pass


class InvalidReason(EvaluationError):
    pass


class AlreadyEvaluated(EvaluationError):
    pass


class NoOpenEvaluation(EvaluationError):
    pass


class FollowUpError(EvaluationError):
    pass


def parse_level(value: int) -> Level:
    try:
        return Level(value)
    except ValueError:
        raise EvaluationError(f"评价等级应为 1–5，收到 {value!r}") from None


def validate_reasons(level: int, reasons: Iterable[str]) -> list[str]:
    """The cleaned reasons; a 差评 needs at least one, each from the standard list."""
    cleaned: list[str] = []
    for reason in reasons:
        text = str(reason).strip()
        if not text:
            continue
        if len(text) > MAX_REASON_CHARS:
            raise InvalidReason(f"原因过长（最多 {MAX_REASON_CHARS} 字）")
        if text not in BAD_REVIEW_REASONS and not text.startswith(OTHER_REASON + "："):
            raise InvalidReason(
                f"不是标准的差评原因：{text}（可选：{'、'.join(BAD_REVIEW_REASONS)}）"
            )
        if text not in cleaned:
            cleaned.append(text)
    if parse_level(level).is_bad and not cleaned:
        raise ReasonRequired("差评（不满意、非常不满意）须至少选择一项原因")
    return cleaned


# ---------------------------------------------------------------- the records


# ------------------------------------------------------------------ encounters

#: The case events that are service encounters at the window (citizen present).
_ENCOUNTER_OF_EVENT: dict[CaseEventKind, Encounter] = {
    CaseEventKind.ACCEPTED: Encounter.ACCEPTANCE,
    CaseEventKind.CONDITIONALLY_ACCEPTED: Encounter.CONDITIONAL_ACCEPTANCE,
    CaseEventKind.SUPPLEMENT_REQUESTED: Encounter.ONE_TIME_NOTICE,
    CaseEventKind.REJECTED: Encounter.REFUSAL,
    CaseEventKind.REFERRED: Encounter.REFERRAL,
    CaseEventKind.HANDED_OVER: Encounter.HAND_OVER,
}

#: Events about the evaluation itself, or written together with an encounter:
#: they do not end it (the citizen is still at the window).
_NOT_SERVICE_EVENTS = frozenset(
    {
        CaseEventKind.EVALUATION_OPENED,
        CaseEventKind.EVALUATED,
        CaseEventKind.EVALUATION_EXPIRED,
        CaseEventKind.EVALUATION_CANCELLED,
        CaseEventKind.ONE_TIME_VIOLATION,
        # A bundle's sub-case moving in a department's back office, or the
        # window urging it: no service to the citizen at the window.
        CaseEventKind.DEPARTMENT_APPROVED,
        CaseEventKind.DEPARTMENT_REFUSED,
        CaseEventKind.MATERIAL_REQUESTED,
        CaseEventKind.MATERIAL_FORWARDED,
        CaseEventKind.URGED,
    }
)


def encounter_of(kind: CaseEventKind | str, data: dict[str, Any] | None = None) -> Encounter | None:
    """The encounter a case event is, or None (办结 of a 承诺件 happens in the back office)."""
    kind = CaseEventKind(kind)
    if kind is CaseEventKind.COMPLETED:
        return Encounter.INSTANT_COMPLETION if (data or {}).get("instant") else None
    if kind is CaseEventKind.ACCEPTED and (data or {}).get("instant"):
        # 即办: accepted and completed at once; the completion is the encounter.
        return None
    return _ENCOUNTER_OF_EVENT.get(kind)


@dataclass(frozen=True)
class EncounterRef:
    event_id: str
    encounter: Encounter


def current_encounter(events: Iterable[Any]) -> EncounterRef | None:
    """The encounter the citizen is at now: the case's last service event, if it is one.

    ``events`` in order (created_at, seq), with ``id``, ``kind`` and ``data``.
    None when the last service event is not an encounter (say 办结 of a 承诺件).
    """
    found: EncounterRef | None = None
    for ev in events:
        kind = CaseEventKind(ev.kind)
        if kind in _NOT_SERVICE_EVENTS:
            continue
        if kind is CaseEventKind.ACCEPTED and (ev.data or {}).get("instant"):
            continue  # its COMPLETED (instant) follows in the same step
        encounter = encounter_of(kind, ev.data)
        found = EncounterRef(ev.id, encounter) if encounter is not None else None
    return found


def _case_events(session: Session, case_id: str) -> list[Any]:
    return list(
        session.execute(
            select(CaseEvent.id, CaseEvent.kind, CaseEvent.data)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.created_at, CaseEvent.seq)
        )
    )


@dataclass(frozen=True)
class OpenEvaluation:
    """What is known about the case being evaluated, read once when it opens."""

    case_id: str
    case_no: str
    item_code: str
    department_code: str
    window_code: str
    staff_id: str
    staff_name: str
    applicant_kind: str
    opened_at: datetime
    deadline: datetime
    timeout_s: int
    event_id: str
    #: The encounter rated and the case event it follows (一次一评).
    encounter: Encounter = Encounter.HAND_OVER
    encounter_event_id: str = ""


def _next_seq(session: Session, case_id: str) -> int:
    # Events still pending in this session (not flushed yet) count too.
    pending = [
        obj.seq
        for obj in session.new
        if isinstance(obj, CaseEvent) and obj.case_id == case_id and obj.seq is not None
    ]
    # On the connection: no autoflush, and none of the ORM's statement machinery.
    current = session.connection().scalar(
        select(func.coalesce(func.max(CaseEvent.seq), 0)).where(CaseEvent.case_id == case_id)
    )
    return max([int(current or 0), *pending]) + 1


def _add_event(
    session: Session,
    case_id: str,
    kind: CaseEventKind,
    *,
    window_code: str,
    now: datetime,
    staff_id: str | None,
    data: dict[str, Any],
) -> CaseEvent:
    event = CaseEvent(
        id=new_id(),
        origin_window=window_code,
        created_at=now,
        case_id=case_id,
        seq=_next_seq(session, case_id),
        kind=kind,
        staff_id=staff_id,
        data=data,
    )
    session.add(event)
    return event


def open_evaluation(
    session: Session,
    case_id: str,
    window_code: str,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    *,
    staff_id: str | None = None,
    now: datetime | None = None,
    encounter_event_id: str | None = None,
) -> OpenEvaluation:
    """Open the evaluation of the encounter just served (writes EVALUATION_OPENED).

    The encounter is the case's latest service event (:func:`current_encounter`);
    raises EvaluationError when that is not an encounter with the citizen
    present (办结 of a 承诺件, nothing decided yet), AlreadyEvaluated when this
    encounter has its evaluation. ``staff_id`` is the clerk being evaluated
    (default: the case's first responder). ``encounter_event_id``: the
    encounter expected (a re-offer); EvaluationError if the case moved on.
    """
    if timeout_s <= 0:
        raise EvaluationError(f"评价等待时间应大于 0 秒，收到 {timeout_s}")
    when = now or utcnow()
    case = session.get(Case, case_id)
    if case is None:
        raise EvaluationError(f"办件 {case_id} 不存在")
    events = _case_events(session, case_id)
    current = current_encounter(events)
    if current is None:
        last = next(
            (CaseEventKind(e.kind) for e in reversed(events) if e.kind not in _NOT_SERVICE_EVENTS),
            None,
        )
        if last is CaseEventKind.COMPLETED:
            raise EvaluationError(
                f"办件 {case.case_no} 在后台办结，办事群众不在窗口：出件时再请群众评价"
            )
        raise EvaluationError(f"办件 {case.case_no} 当前没有可评价的窗口服务")
    if encounter_event_id is not None and encounter_event_id != current.event_id:
        raise EvaluationError(f"办件 {case.case_no} 已有新的办理环节，原评价邀请不能再发出")
    if session.scalar(
        select(
            exists().where(
                Evaluation.case_id == case_id,
                Evaluation.encounter_event_id == current.event_id,
            )
        )
    ):
        raise AlreadyEvaluated(
            f"办件 {case.case_no} 的本次服务（{current.encounter.label}）已经评价过，一次一评"
        )
    clerk_id = staff_id or case.first_responder_id
    clerk = session.get(Staff, clerk_id)
    if clerk is None:
        raise EvaluationError(f"工作人员 {clerk_id} 不存在")
    applicant = session.get(Applicant, case.applicant_id)
    deadline = when + timedelta(seconds=timeout_s)
    event = _add_event(
        session,
        case_id,
        CaseEventKind.EVALUATION_OPENED,
        window_code=window_code,
        now=when,
        staff_id=clerk.id,
        data={
            "timeout_s": timeout_s,
            "deadline": deadline.isoformat(),
            "encounter": current.encounter.value,
            "encounter_event_id": current.event_id,
        },
    )
    return OpenEvaluation(
        case_id=case.id,
        case_no=case.case_no,
        item_code=case.item_code,
        department_code=case.department_code,
        window_code=window_code,
        staff_id=clerk.id,
        staff_name=clerk.name,
        applicant_kind=str(applicant.kind) if applicant else "person",
        opened_at=when,
        deadline=deadline,
        timeout_s=timeout_s,
        event_id=event.id,
        encounter=current.encounter,
        encounter_event_id=current.event_id,
    )


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True)
class RecordedEvaluation:
    """What :func:`record_evaluation` wrote."""

    id: str
    level: int
    reasons: tuple[str, ...]
    follow_up_due: date | None


class _Prepared:
    """A statement compiled once for a dialect, run on the driver with its bind processors.

    A key press waits for its INSERTs: compiling (even from SQLAlchemy's
    cache), the execution context and the ORM session were most of the
    press's CPU time. The SQL and the type conversions (UTC datetimes, JSON)
    are exactly SQLAlchemy's own, taken from the compiled statement.
    """

    def __init__(
        self, stmt: Any, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        self.order: tuple[str, ...] = tuple(compiled.positiontup or ())
        escaped = compiled.escaped_bind_names or {}
        self.names = {name: escaped.get(name, name) for name in compiled.binds}
        self.processors = {
            name: proc
            for name, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

    def params(self, values: dict[str, Any]) -> Any:
        if values.keys() != self.names.keys():
            raise ValueError(f"parameters {sorted(values)} != {sorted(self.names)}")
        for name, proc in self.processors.items():
            values[name] = proc(values[name])
        if self.positional:
            return tuple(values[name] for name in self.order)
        return {self.names[name]: value for name, value in values.items()}

    def execute(self, conn: Connection, values: dict[str, Any]) -> None:
        self._run(conn, values).close()

    def scalar(self, conn: Connection, values: dict[str, Any]) -> Any:
        cursor = self._run(conn, values)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row[0] if row else None

    def _run(self, conn: Connection, values: dict[str, Any]) -> Any:
        """Execute on the DBAPI cursor, in the transaction begun on ``conn``.

        Returns the cursor. A driver error is raised as SQLAlchemy's own
        exception (IntegrityError for the unique case, and so on), as
        ``conn.execute`` would: the callers handle only those.
        """
        params = self.params(values)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(
                self.sql, params, exc, conn.dialect.loaded_dbapi.Error
            ) from exc
        return cursor


class _Statements:
    """The statements of a key press, prepared once per dialect."""

    def __init__(self, dialect: Dialect) -> None:
        def insert_all(model: type[Base]) -> _Prepared:
            table = _table(model)
            return _Prepared(insert(table), dialect, [c.key for c in table.c])

        self.insert_evaluation = insert_all(Evaluation)
        self.insert_event = insert_all(CaseEvent)
        self.insert_follow_up = insert_all(FollowUpStep)
        self.max_seq = _Prepared(
            select(func.coalesce(func.max(CaseEvent.seq), literal_column("0"))).where(
                CaseEvent.case_id == bindparam("case_id")
            ),
            dialect,
        )


_STATEMENTS: dict[str, _Statements] = {}
_STATEMENTS_LOCK = threading.Lock()


def _statements(dialect: Dialect) -> _Statements:
    key = f"{dialect.name}+{dialect.driver}"
    found = _STATEMENTS.get(key)
    if found is None:
        with _STATEMENTS_LOCK:
            found = _STATEMENTS.get(key) or _Statements(dialect)
            _STATEMENTS[key] = found
    return found


def _write_evaluation(
    conn: Connection,
    opened: OpenEvaluation,
    lv: Level,
    cleaned: list[str],
    *,
    due: date | None,
    seq: int | None,
    device: str,
    channel: str,
    when: datetime,
) -> RecordedEvaluation:
    """The INSERTs of an evaluation, in the transaction open on ``conn``.

    Plain INSERTs rather than the ORM unit of work: the rows are facts,
    written once, never loaded back here.
    """
    st = _statements(conn.dialect)
    if seq is None:
        seq = int(st.max_seq.scalar(conn, {"case_id": opened.case_id}) or 0) + 1
    evaluation_id = new_id()
    st.insert_evaluation.execute(
        conn,
        seal_chain(conn, {
            "id": evaluation_id,
            "origin_window": opened.window_code,
            "created_at": when,
            "case_id": opened.case_id,
            "encounter": opened.encounter.value,
            "encounter_event_id": opened.encounter_event_id,
            "case_no": opened.case_no,
            "item_code": opened.item_code,
            "window_code": opened.window_code,
            "staff_id": opened.staff_id,
            "department_code": opened.department_code,
            "channel": channel,
            "device": device[:100],
            "level": int(lv),
            "reasons": cleaned,
            "applicant_kind": opened.applicant_kind,
        }),
    )
    st.insert_event.execute(
        conn,
        {
            "id": new_id(),
            "origin_window": opened.window_code,
            "created_at": when,
            "case_id": opened.case_id,
            "seq": seq,
            "kind": CaseEventKind.EVALUATED.value,
            "staff_id": opened.staff_id,
            "data": {
                "evaluation_id": evaluation_id,
                "level": int(lv),
                "reasons": cleaned,
                "encounter": opened.encounter.value,
                "encounter_event_id": opened.encounter_event_id,
            },
        },
    )
    if lv.is_bad:
        st.insert_follow_up.execute(
            conn,
            {
                "id": new_id(),
                "origin_window": opened.window_code,
                "created_at": when,
                "evaluation_id": evaluation_id,
                "kind": FollowUpStepKind.OPENED.value,
                "staff_id": None,
                "note": f"差评（{lv.label}）：{'、'.join(cleaned)}",
                "due_on": due,
            },
        )
    return RecordedEvaluation(evaluation_id, int(lv), tuple(cleaned), due)


def record_evaluation(
    session: Session,
    opened: OpenEvaluation,
    level: int,
    reasons: Sequence[str] = (),
    *,
    device: str = "",
    channel: str = CHANNEL_WINDOW_EVALUATOR,
    now: datetime | None = None,
    rectify_days: int = FOLLOW_UP_WORKING_DAYS,
) -> RecordedEvaluation:
    """Write the evaluation, its EVALUATED event and (for a 差评) the follow-up.

    In the caller's transaction: the caller's commit makes it durable. Raises
    ReasonRequired/InvalidReason; the unique (case, encounter) constraint
    raises IntegrityError for a second evaluation of the same encounter.
    """
    lv = parse_level(level)
    cleaned = validate_reasons(lv, reasons)
    when = now or utcnow()
    due = follow_up_due(session, _local_date(when), rectify_days) if lv.is_bad else None
    return _write_evaluation(
        session.connection(),
        opened,
        lv,
        cleaned,
        due=due,
        seq=_next_seq(session, opened.case_id),
        device=device,
        channel=channel,
        when=when,
    )


def expire_evaluation(
    session: Session,
    opened: OpenEvaluation,
    *,
    pressed_level: int | None = None,
    why: str = "timeout",
    now: datetime | None = None,
) -> CaseEvent:
    """Not evaluated (未评价), never a default rating; keeps a pressed 差评 level."""
    data: dict[str, Any] = {"why": why, "opened_event_id": opened.event_id}
    if pressed_level is not None:
        data["pressed_level"] = pressed_level
    return _add_event(
        session,
        opened.case_id,
        CaseEventKind.EVALUATION_EXPIRED,
        window_code=opened.window_code,
        now=now or utcnow(),
        staff_id=opened.staff_id,
        data=data,
    )


def cancel_evaluation(
    session: Session,
    opened: OpenEvaluation,
    *,
    staff_id: str | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> CaseEvent:
    return _add_event(
        session,
        opened.case_id,
        CaseEventKind.EVALUATION_CANCELLED,
        window_code=opened.window_code,
        now=now or utcnow(),
        staff_id=staff_id,
        data={"reason": reason, "opened_event_id": opened.event_id},
    )


_CLOSING_KINDS = (
    CaseEventKind.EVALUATED,
    CaseEventKind.EVALUATION_EXPIRED,
    CaseEventKind.EVALUATION_CANCELLED,
)


def expire_unfinished(session: Session, window_code: str, *, now: datetime | None = None) -> int:
    """After a crash or restart: evaluations left open at this window become 未评价.

    Returns how many were closed. Safe to call at every start-up.
    """
    opened = aliased(CaseEvent)
    later = aliased(CaseEvent)
    closed_after = (
        select(later.id)
        .where(
            later.case_id == opened.case_id,
            later.kind.in_([k.value for k in _CLOSING_KINDS]),
            (later.created_at > opened.created_at)
            | ((later.created_at == opened.created_at) & (later.seq > opened.seq)),
        )
        .exists()
    )
    rows = session.execute(
        select(opened.id, opened.case_id, opened.staff_id).where(
            opened.kind == CaseEventKind.EVALUATION_OPENED.value,
            opened.origin_window == window_code,
            ~closed_after,
        )
    ).all()
    when = now or utcnow()
    done: set[str] = set()
    for event_id, case_id, staff_id in rows:
        if case_id in done:
            continue
        done.add(case_id)
        _add_event(
            session,
            case_id,
            CaseEventKind.EVALUATION_EXPIRED,
            window_code=window_code,
            now=when,
            staff_id=staff_id,
            data={"why": "restart", "opened_event_id": event_id},
        )
    if done:
        log.warning("窗口 %s 有 %d 个评价因程序重启未完成，记为未评价", window_code, len(done))
    return len(done)


# ------------------------------------------------------------------ follow-ups


def _local_date(when: datetime) -> date:
    from hallapp.workdays import hall_date

    return hall_date(when)


def follow_up_due(session: Session, on: date, days: int = FOLLOW_UP_WORKING_DAYS) -> date:
    """``days`` working days after ``on`` (config follow_up.rectify_days, local rules
    5–15; default 5) on the hall's calendar (loaded schedules included)."""
    from hallapp.workdays import add_working_days, calendar_from_store

    return add_working_days(on, days, calendar_from_store(session)).date


class AppealState(enum.StrEnum):
    NONE = "none"
    PENDING = "pending"
    UPHELD = "upheld"  # excluded from tallies
    REJECTED = "rejected"


@dataclass(frozen=True)
class FollowUpState:
    evaluation_id: str
    opened: bool
    due_on: date | None
    closed: bool
    appeal: AppealState
    steps: tuple[FollowUpStepKind, ...]

    @property
    def counts_in_tallies(self) -> bool:
        return self.appeal != AppealState.UPHELD

    def overdue(self, today: date) -> bool:
        return self.opened and not self.closed and self.due_on is not None and today > self.due_on

    def describe(self) -> str:
        """Where the 差评's follow-up stands, in words for the case detail."""
        if self.appeal is AppealState.UPHELD:
            return "申诉成立，不计入统计"
        if self.closed:
            return "整改回访已办结"
        if not self.opened:
            return ""
        done = {
            FollowUpStepKind.RECTIFIED: "已整改，待办结",
            FollowUpStepKind.CALLED_BACK: "已回访，待整改",
            FollowUpStepKind.VERIFIED: "已核实，待回访",
        }
        progress = next((done[k] for k in reversed(self.steps) if k in done), "待核实")
        if self.appeal is AppealState.PENDING:
            progress = "申诉审核中；" + progress
        elif self.appeal is AppealState.REJECTED:
            progress = "申诉未成立；" + progress
        due = f"，{self.due_on:%Y-%m-%d} 前办结" if self.due_on else ""
        return progress + due


def follow_up_state(session: Session, evaluation_id: str) -> FollowUpState:
    steps = list(
        session.scalars(
            select(FollowUpStep)
            .where(FollowUpStep.evaluation_id == evaluation_id)
            .order_by(FollowUpStep.created_at)
        )
    )
    kinds = tuple(FollowUpStepKind(s.kind) for s in steps)
    appeal = AppealState.NONE
    for kind in kinds:
        if kind == FollowUpStepKind.APPEALED:
            appeal = AppealState.PENDING
        elif kind == FollowUpStepKind.APPEAL_UPHELD:
            appeal = AppealState.UPHELD
        elif kind == FollowUpStepKind.APPEAL_REJECTED:
            appeal = AppealState.REJECTED
    due = next((s.due_on for s in steps if s.kind == FollowUpStepKind.OPENED), None)
    return FollowUpState(
        evaluation_id=evaluation_id,
        opened=FollowUpStepKind.OPENED in kinds,
        due_on=due,
        closed=FollowUpStepKind.CLOSED in kinds,
        appeal=appeal,
        steps=kinds,
    )


_SUPERVISOR_STEPS = {
    FollowUpStepKind.CLOSED,
    FollowUpStepKind.APPEAL_UPHELD,
    FollowUpStepKind.APPEAL_REJECTED,
}
_WORK_STEPS = {FollowUpStepKind.VERIFIED, FollowUpStepKind.CALLED_BACK, FollowUpStepKind.RECTIFIED}


def add_follow_up_step(
    session: Session,
    evaluation_id: str,
    kind: FollowUpStepKind,
    *,
    staff_id: str,
    note: str,
    window_code: str,
    now: datetime | None = None,
) -> FollowUpStep:
    """One step of a 差评's follow-up, checked against the steps before it.

    verify / call back / rectify: while open. close: by a supervisor, once.
    appeal (申诉): once, by the clerk evaluated, while no appeal is pending or
    upheld. review (upheld / rejected): by a supervisor, of a pending appeal.
    Supervisor steps are also written to the audit log.
    """
    kind = FollowUpStepKind(kind)
    if kind == FollowUpStepKind.OPENED:
        raise FollowUpError("整改跟踪由差评自动开启，不能手动开启")
    if not note.strip():
        raise FollowUpError("请填写处理情况说明")
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise FollowUpError(f"评价 {evaluation_id} 不存在")
    actor = session.get(Staff, staff_id)
    if actor is None:
        raise FollowUpError(f"工作人员 {staff_id} 不存在")
    state = follow_up_state(session, evaluation_id)
    if not state.opened:
        raise FollowUpError("该评价不是差评，没有整改跟踪")
    is_supervisor = Role(actor.role) in audit.audited_roles()
    if kind in _SUPERVISOR_STEPS and not is_supervisor:
        raise FollowUpError("只有监督管理人员可以办结整改或审核申诉")
    if (kind in _WORK_STEPS or kind == FollowUpStepKind.CLOSED) and state.closed:
        raise FollowUpError("整改跟踪已办结")
    if kind == FollowUpStepKind.APPEALED:
        if actor.id != evaluation.staff_id:
            raise FollowUpError("只有被评价的工作人员本人可以申诉")
        if state.appeal in (AppealState.PENDING, AppealState.UPHELD):
            raise FollowUpError("该差评已有申诉在审核或已成立")
    if kind in (FollowUpStepKind.APPEAL_UPHELD, FollowUpStepKind.APPEAL_REJECTED):
        if state.appeal != AppealState.PENDING:
            raise FollowUpError("没有待审核的申诉")
        if actor.id == evaluation.staff_id:
            raise FollowUpError("不能审核自己的申诉")
    when = now or utcnow()
    step = FollowUpStep(
        id=new_id(),
        origin_window=window_code,
        created_at=when,
        evaluation_id=evaluation_id,
        kind=kind,
        staff_id=actor.id,
        note=note.strip(),
    )
    session.add(step)
    if is_supervisor and kind in _SUPERVISOR_STEPS:
        audit.record(
            session,
            actor,
            f"follow_up.{kind.value}",
            evaluation_id,
            {"case_no": evaluation.case_no, "note": note.strip()},
            window_code=window_code,
        )
    return step


def excluded_evaluation_ids(session: Session) -> set[str]:
    """Evaluations whose appeal was upheld: left out of every tally."""
    return set(
        session.scalars(
            select(FollowUpStep.evaluation_id).where(
                FollowUpStep.kind == FollowUpStepKind.APPEAL_UPHELD.value
            )
        )
    )


# -------------------------------------------------------------------- the desk


class DeskPhase(enum.StrEnum):
    IDLE = "idle"
    OPEN = "open"
    AWAITING_REASONS = "awaiting_reasons"


@dataclass(frozen=True)
class Opened:
    evaluation: OpenEvaluation


@dataclass(frozen=True)
class Recorded:
    evaluation_id: str
    case_id: str
    case_no: str
    level: int
    reasons: tuple[str, ...]
    follow_up_due: date | None
    committed_at: float  # time.perf_counter() right after the commit
    kept: bool = False  # written by a retry after the press was kept (see Kept)


@dataclass(frozen=True)
class Kept:
    """The press could not be written yet (the database is locked by another writer).

    It is kept and retried in the background until it commits (then a
    Recorded with ``kept=True`` follows) or truly fails (KeptFailed). The
    citizen's evaluation is over: further presses for the case are ignored.
    """

    case_id: str
    case_no: str
    level: int


@dataclass(frozen=True)
class KeptFailed:
    """A kept press could not be written after all; the log has the whole record."""

    case_id: str
    case_no: str
    level: int
    message: str


@dataclass(frozen=True)
class AwaitingReasons:
    case_id: str
    case_no: str
    level: int
    deadline: datetime


@dataclass(frozen=True)
class IgnoredNoOpen:
    level: int


@dataclass(frozen=True)
class IgnoredDuplicate:
    case_id: str
    level: int


@dataclass(frozen=True)
class Expired:
    case_id: str
    case_no: str
    pressed_level: int | None
    why: str = "timeout"  # "device_timeout": the device's own countdown (KEY 0)


@dataclass(frozen=True)
class ExpiryKept:
    """The device's countdown ran out (KEY 0) while another program held the
    database: 未评价 is written as soon as the lock is free (Expired then)."""

    case_id: str
    case_no: str


@dataclass(frozen=True)
class Cancelled:
    case_id: str
    case_no: str
    reason: str


@dataclass(frozen=True)
class Failed:
    """The evaluation could not be stored; it stays open so the citizen can press again."""

    level: int
    message: str


@dataclass(frozen=True)
class ReasonsChanged:
    """The 差评 reasons chosen so far (by the device's number keys or on the screen)."""

    case_id: str
    level: int
    chosen: tuple[str, ...]


PressOutcome = (
    Recorded | AwaitingReasons | IgnoredNoOpen | IgnoredDuplicate | Expired | Failed | Kept
)
DeskEvent = (
    Opened | Recorded | AwaitingReasons | ReasonsChanged | Expired | Cancelled | Kept | KeptFailed
)


def is_lock_error(exc: BaseException) -> bool:
    """The database is busy with another writer: worth retrying, nothing is wrong with it."""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    # SQLITE_BUSY / SQLITE_LOCKED (and their extended codes).
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (5, 6):
        return True
    # PostgreSQL: lock_not_available, serialization_failure, deadlock_detected.
    if getattr(orig, "sqlstate", None) in {"55P03", "40001", "40P01"}:
        return True
    return "database is locked" in str(orig)


@dataclass
class _KeptPress:
    evaluation: OpenEvaluation
    level: Level
    reasons: list[str]
    device: str
    pressed_at: datetime
    kept_at: float  # time.monotonic()


DeskListener = Callable[[DeskEvent], None]
Clock = Callable[[], datetime]


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    # On the driver connection itself: pysqlite is in autocommit mode, so
    # this runs outside any transaction (a checkpoint cannot run inside one).
    raw = conn.connection.driver_connection
    if raw is not None:
        raw.execute(pragma)


class EvaluationDesk:
    """The evaluation state of one window.

    Thread-safe: every method takes one re-entrant lock. Listeners (see
    :meth:`add_listener`) are called *while the lock is held*, on the thread
    that caused the change (the caller of open/press/submit_reasons/cancel, or
    the expiry timer thread), so they see changes in order; they must be quick
    and must not wait for another thread that uses the desk.
    """

    def __init__(
        self,
        store: Store,
        window_code: str,
        *,
        timeout_s: int = DEFAULT_TIMEOUT_S,
        reasons_timeout_s: int = DEFAULT_REASONS_TIMEOUT_S,
        device: str = "",
        clock: Clock = utcnow,
        auto_expire: bool = True,
        recover: bool = True,
        rectify_days: int = FOLLOW_UP_WORKING_DAYS,
    ) -> None:
        self.store = store
        self.rectify_days = rectify_days
        self.window_code = window_code
        self.timeout_s = timeout_s
        self.reasons_timeout_s = reasons_timeout_s
        self.device = device
        self._clock = clock
        self._auto_expire = auto_expire
        # Why the timer will close the open evaluation: its deadline, or the
        # device's KEY 0 that came while the database was locked.
        self._expire_why = "timeout"
        self._lock = threading.RLock()
        self._listeners: list[DeskListener] = []
        self._current: OpenEvaluation | None = None
        self._phase = DeskPhase.IDLE
        self._pending_level: int | None = None
        # The identity of the device (or "citizen-screen") that pressed the
        # pending 差评: the evaluation is keyed on it, wherever the reasons come from.
        self._pending_device: str | None = None
        self._chosen: list[str] = []
        self._deadline: datetime | None = None
        self._last_recorded_case: str | None = None
        # The last evaluation that closed without a rating: it may be offered again.
        self._reofferable: OpenEvaluation | None = None
        self._reoffer_until: datetime | None = None
        self._timer: threading.Timer | None = None
        self._conn: Connection | None = None
        self._writes = 0
        self._kept: list[_KeptPress] = []
        self._kept_timer: threading.Timer | None = None
        if recover:
            with self._transaction() as s:
                expire_unfinished(s, window_code, now=self._now())

    # ------------------------------------------------------------------- state

    def add_listener(self, listener: DeskListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: DeskListener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    @property
    def current(self) -> OpenEvaluation | None:
        return self._current

    @property
    def phase(self) -> DeskPhase:
        return self._phase

    @property
    def pending_level(self) -> int | None:
        """The 差评 level pressed while reasons are awaited."""
        return self._pending_level

    @property
    def deadline(self) -> datetime | None:
        return self._deadline

    @property
    def chosen_reasons(self) -> tuple[str, ...]:
        """The 差评 reasons chosen so far while reasons are awaited."""
        return tuple(self._chosen)

    @property
    def reofferable(self) -> OpenEvaluation | None:
        """The invitation that timed out (or was withdrawn) and may be offered again."""
        until = self._reoffer_until
        if self._reofferable is None or until is None or self._now() >= until:
            return None
        return self._reofferable

    @property
    def kept(self) -> int:
        """Presses kept in memory, not written yet (the database was locked)."""
        return len(self._kept)

    def close(self) -> None:
        """Stop the expiry timer and release the connection (at shutdown).

        An evaluation still open is expired at the next start (``recover``).
        """
        with self._lock:
            self._cancel_timer()
            if self._kept_timer is not None:
                self._kept_timer.cancel()
                self._kept_timer = None
            if self._kept:
                self._retry_kept_locked()
            for kept in self._kept:
                log.error(
                    "评价未能保存（程序退出）：办件 %s 等级 %d 原因 %s 按键时间 %s 设备 %s",
                    kept.evaluation.case_no,
                    int(kept.level),
                    "、".join(kept.reasons),
                    kept.pressed_at.isoformat(),
                    kept.device,
                )
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ----------------------------------------------------------------- actions

    def open(
        self,
        case_id: str,
        *,
        staff_id: str | None = None,
        timeout_s: int | None = None,
        encounter_event_id: str | None = None,
    ) -> OpenEvaluation:
        """Open the evaluation of the encounter just served; a still-open one is cancelled first."""
        with self._lock:
            previous = self._current
            reason = "下一位办事群众的评价已开始"
            now = self._now()
            # One transaction: if the new one cannot open (say the case is
            # already evaluated), the previous one stays open, unchanged.
            with self._transaction() as s:
                if previous is not None:
                    cancel_evaluation(s, previous, staff_id=staff_id, reason=reason, now=now)
                opened = open_evaluation(
                    s,
                    case_id,
                    self.window_code,
                    timeout_s or self.timeout_s,
                    staff_id=staff_id,
                    now=now,
                    encounter_event_id=encounter_event_id,
                )
            if previous is not None:
                log.info(
                    "窗口 %s 办件 %s 评价已取消：%s", self.window_code, previous.case_no, reason
                )
                self._finish(recorded_case=None)
                self._emit(Cancelled(previous.case_id, previous.case_no, reason))
            self._current = opened
            self._phase = DeskPhase.OPEN
            self._pending_level = None
            self._pending_device = None
            self._chosen = []
            self._deadline = opened.deadline
            self._last_recorded_case = None
            self._reofferable = None
            self._schedule()
            log.info("窗口 %s 开始评价 办件 %s", self.window_code, opened.case_no)
            self._emit(Opened(opened))
            return opened

    def reoffer(self, *, timeout_s: int | None = None) -> OpenEvaluation:
        """Offer the invitation that timed out again (the citizen is still at the window).

        Only the same encounter, only while it is still the case's latest and
        not evaluated, and only when no other evaluation is open.
        """
        with self._lock:
            if self._current is not None:
                raise EvaluationError("评价正在进行中，无需重新邀请")
            last = self._reofferable
            if last is None:
                raise NoOpenEvaluation("没有可以重新邀请评价的服务")
            if self.reofferable is None:
                minutes = REOFFER_WITHIN_S // 60
                raise EvaluationError(
                    f"评价超时已超过 {minutes} 分钟，办事群众已离开窗口，不能再次邀请"
                )
            opened = self.open(
                last.case_id,
                staff_id=last.staff_id,
                timeout_s=timeout_s or self.timeout_s,
                encounter_event_id=last.encounter_event_id,
            )
            log.info("窗口 %s 重新邀请评价 办件 %s", self.window_code, opened.case_no)
            return opened

    def press(self, level: int, *, device: str | None = None) -> PressOutcome:
        """A key press from the evaluator; returns only after a recording is committed."""
        lv = int(level)
        with self._lock:
            current = self._current
            if current is None:
                if self._last_recorded_case is not None:
                    log.info("窗口 %s 重复按键 %d 已忽略（办件已评价）", self.window_code, lv)
                    return IgnoredDuplicate(self._last_recorded_case, lv)
                log.info("窗口 %s 无待评价办件，按键 %d 已忽略", self.window_code, lv)
                return IgnoredNoOpen(lv)
            if not 1 <= lv <= 5:
                log.warning("窗口 %s 收到无效评价等级 %r，已忽略", self.window_code, level)
                return IgnoredNoOpen(lv)
            now = self._now()
            assert self._deadline is not None
            if now >= self._deadline:
                log.info("窗口 %s 按键 %d 晚于评价时限", self.window_code, lv)
                return self._expire_locked(now)
            if Level(lv).is_bad:
                if self._phase == DeskPhase.AWAITING_REASONS:
                    log.info("窗口 %s 等待原因时改按 %d", self.window_code, lv)
                self._phase = DeskPhase.AWAITING_REASONS
                self._pending_level = lv
                self._pending_device = device
                self._chosen = []
                # The citizen now needs time to pick reasons on the screen.
                self._deadline = now + timedelta(seconds=self.reasons_timeout_s)
                self._schedule()
                outcome = AwaitingReasons(current.case_id, current.case_no, lv, self._deadline)
                self._emit(outcome)
                return outcome
            # A good level pressed while reasons were awaited replaces the
            # unfinished 差评: nothing had been recorded yet.
            return self._record_locked(current, lv, (), device)

    def submit_reasons(self, reasons: Sequence[str], *, device: str | None = None) -> PressOutcome:
        """The citizen's reasons for the 差评 just pressed (from the citizen screen).

        The evaluation is stored with the identity of the device whose key gave
        the level; ``device`` only when the level itself came from elsewhere.
        """
        with self._lock:
            current = self._current
            if current is None or self._phase != DeskPhase.AWAITING_REASONS:
                raise NoOpenEvaluation("当前没有等待选择原因的差评")
            assert self._pending_level is not None and self._deadline is not None
            cleaned = validate_reasons(self._pending_level, reasons)  # raises ReasonRequired
            now = self._now()
            if now >= self._deadline:
                return self._expire_locked(now)
            return self._record_locked(
                current, self._pending_level, cleaned, self._pending_device or device
            )

    def choose_reasons(self, reasons: Sequence[str]) -> tuple[str, ...]:
        """The reasons chosen so far on the screen (so the device's keys continue from them)."""
        with self._lock:
            if self._current is None or self._phase != DeskPhase.AWAITING_REASONS:
                return ()
            chosen = [r for r in BAD_REVIEW_REASONS if r in reasons]
            if chosen != self._chosen:
                self._chosen = chosen
                self._emit_reasons_locked()
            return tuple(self._chosen)

    def toggle_reason(self, number: int) -> PressOutcome:
        """A reason key on the device: number n (1-based) chooses or unchooses reason n.

        Returns AwaitingReasons (the device is answered NEED_REASONS: still
        choosing), or IgnoredNoOpen when no 差评 awaits reasons or n is not a reason.
        """
        with self._lock:
            current = self._current
            if current is None or self._phase != DeskPhase.AWAITING_REASONS:
                log.info("窗口 %s 无等待原因的差评，原因键 %d 已忽略", self.window_code, number)
                return IgnoredNoOpen(0)
            assert self._pending_level is not None and self._deadline is not None
            if not 1 <= number <= len(BAD_REVIEW_REASONS):
                log.info("窗口 %s 原因键 %d 无对应原因，已忽略", self.window_code, number)
                return IgnoredNoOpen(0)
            now = self._now()
            if now >= self._deadline:
                return self._expire_locked(now)
            reason = BAD_REVIEW_REASONS[number - 1]
            if reason in self._chosen:
                self._chosen.remove(reason)
            else:
                self._chosen.append(reason)
            self._chosen = [r for r in BAD_REVIEW_REASONS if r in self._chosen]
            self._emit_reasons_locked()
            return AwaitingReasons(
                current.case_id, current.case_no, self._pending_level, self._deadline
            )

    def confirm_reasons(self, *, device: str | None = None) -> PressOutcome:
        """The device's confirm key: record the 差评 with the reasons chosen so far.

        With none chosen yet nothing is recorded (AwaitingReasons).
        """
        with self._lock:
            current = self._current
            if current is None or self._phase != DeskPhase.AWAITING_REASONS:
                log.info("窗口 %s 无等待原因的差评，确认键已忽略", self.window_code)
                return IgnoredNoOpen(0)
            assert self._pending_level is not None and self._deadline is not None
            if not self._chosen:
                return AwaitingReasons(
                    current.case_id, current.case_no, self._pending_level, self._deadline
                )
            return self.submit_reasons(list(self._chosen), device=device)

    def _emit_reasons_locked(self) -> None:
        current = self._current
        assert current is not None and self._pending_level is not None
        self._emit(ReasonsChanged(current.case_id, self._pending_level, tuple(self._chosen)))

    def cancel(self, *, staff_id: str | None = None, reason: str = "") -> Cancelled | None:
        """The clerk withdraws the open evaluation (e.g. opened for the wrong case)."""
        with self._lock:
            if self._current is None:
                return None
            return self._close_current_cancelled(staff_id, reason)

    def expire_due(self) -> Expired | None:
        """Expire the open evaluation if its time is up (the timer calls this)."""
        with self._lock:
            if self._current is None or self._deadline is None:
                return None
            now = self._now()
            if now < self._deadline:
                self._schedule()
                return None
            return self._expire_locked(now, why=self._expire_why)

    def device_timed_out(self) -> Expired | ExpiryKept | None:
        """The device's own countdown ran out: its prompt is gone, so expire now.

        Ignored while reasons are awaited (the key was already pressed).
        """
        with self._lock:
            current = self._current
            if current is None or self._phase != DeskPhase.OPEN:
                return None
            now = self._now()
            try:
                return self._expire_locked(now, why="device_timeout")
            except Exception as exc:
                if not is_lock_error(exc):
                    raise
                # The device is idle already: the evaluation is over, only its
                # 未评价 waits for the lock (the timer writes it, as for the
                # desk's own deadline); the citizen may still rate on the screen.
                log.warning("数据库正被其他程序写入，评价器超时稍后记录（窗口 %s 办件 %s）",
                            self.window_code, current.case_no)
                self._expire_why = "device_timeout"
                self._deadline = now
                self._schedule()
                return ExpiryKept(current.case_id, current.case_no)

    # --------------------------------------------------------------- internals

    def _connection(self) -> Connection:
        """The desk's own connection, kept for its lifetime (used under its lock only).

        A fresh SQLite connection per key press would re-read the schema and
        redo the PRAGMAs, which costs more than the commit itself.
        """
        if self._conn is None:
            self._conn = self.store.engine.connect()
            if self._conn.dialect.name == "sqlite":
                # Not the store's 10 s: a citizen does not wait that long; a
                # press that cannot get the lock sooner is kept and retried.
                _sqlite_pragma(self._conn, f"PRAGMA busy_timeout={PRESS_BUSY_TIMEOUT_MS}")
                # A checkpoint copies WAL pages into the database file, with
                # fsyncs of its own. On this connection it must not happen
                # inside the commit of a key press: it runs in checkpoint(),
                # after the device has its ACK.
                _sqlite_pragma(self._conn, "PRAGMA wal_autocheckpoint=0")
        self._writes += 1
        if self._writes > CHECKPOINT_FORCE_WRITES:
            self._checkpoint_locked()
        return self._conn

    def _drop_failed_connection(self, exc: SQLAlchemyError) -> None:
        # A failed connection is dropped and a new one made next time; a
        # constraint violation leaves it usable.
        if getattr(exc, "connection_invalidated", False) or not isinstance(exc, IntegrityError):
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One committed transaction on the desk's own connection."""
        conn = self._connection()
        try:
            with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                yield s
        except SQLAlchemyError as exc:
            self._drop_failed_connection(exc)
            raise

    def _write_locked(
        self, current: OpenEvaluation, lv: Level, cleaned: list[str], device: str, now: datetime
    ) -> RecordedEvaluation:
        """The evaluation committed in one transaction, without the ORM session.

        Everything the rows need was read when the evaluation opened; the
        press only inserts (a 差评 also reads the calendar for the due date).
        """
        conn = self._connection()
        try:
            with conn.begin():
                due = None
                if lv.is_bad:
                    with Session(bind=conn) as s:
                        due = follow_up_due(s, _local_date(now), self.rectify_days)
                return _write_evaluation(
                    conn,
                    current,
                    lv,
                    cleaned,
                    due=due,
                    seq=None,
                    device=device,
                    channel=CHANNEL_WINDOW_EVALUATOR,
                    when=now,
                )
        except SQLAlchemyError as exc:
            self._drop_failed_connection(exc)
            raise

    def checkpoint(self) -> None:
        """Housekeeping once a press is answered (the bridge calls it after the ACK).

        Moves the write-ahead log into the database file every
        CHECKPOINT_EVERY_WRITES transactions, so the log stays small.
        """
        with self._lock:
            if self._writes >= CHECKPOINT_EVERY_WRITES:
                self._checkpoint_locked()

    def _checkpoint_locked(self) -> None:
        self._writes = 0
        if self._conn is None or self._conn.dialect.name != "sqlite":
            return
        try:
            _sqlite_pragma(self._conn, "PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the data is safe in the WAL; retried next time
            log.warning("评价库检查点失败，稍后重试", exc_info=True)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the desk's clock must return aware datetimes")
        return now.astimezone(UTC)

    def _record_locked(
        self, current: OpenEvaluation, level: int, reasons: Sequence[str], device: str | None
    ) -> PressOutcome:
        now = self._now()
        lv = parse_level(level)
        cleaned = validate_reasons(lv, reasons)
        try:
            written = self._write_locked(current, lv, cleaned, device or self.device, now)
        except OperationalError as exc:
            if not is_lock_error(exc):
                log.exception("评价保存失败：办件 %s 等级 %d", current.case_no, level)
                return Failed(level, f"评价保存失败（{exc.__class__.__name__}），请重新按键")
            return self._keep_locked(current, lv, cleaned, device or self.device, now)
        except IntegrityError as exc:
            if self._has_evaluation(current):
                # Another channel already recorded this encounter: the
                # unique constraint keeps it to one.
                log.warning("办件 %s 已有评价，按键 %d 已忽略", current.case_no, level)
                self._finish(recorded_case=current.case_id)
                return IgnoredDuplicate(current.case_id, level)
            log.exception("评价保存失败：办件 %s 等级 %d", current.case_no, level)
            return Failed(level, f"评价保存失败（{short_label(exc)}），请重新按键")
        except (SQLAlchemyError, OSError) as exc:
            log.exception("评价保存失败：办件 %s 等级 %d", current.case_no, level)
            return Failed(level, f"评价保存失败（{short_label(exc)}），请重新按键")
        committed_at = time.perf_counter()
        outcome = Recorded(
            evaluation_id=written.id,
            case_id=current.case_id,
            case_no=current.case_no,
            level=level,
            reasons=written.reasons,
            follow_up_due=written.follow_up_due,
            committed_at=committed_at,
        )
        log.info("窗口 %s 办件 %s 评价：%s", self.window_code, current.case_no, LEVEL_LABELS[level])
        self._finish(recorded_case=current.case_id)
        self._emit(outcome)
        return outcome

    def _keep_locked(
        self, current: OpenEvaluation, lv: Level, cleaned: list[str], device: str, now: datetime
    ) -> Kept:
        # The whole record in the log: if the program is killed before the
        # retry commits, the press can still be found there.
        log.warning(
            "数据库正被其他程序写入，评价暂存稍后保存：办件 %s 等级 %d 原因 %s 按键时间 %s 设备 %s",
            current.case_no,
            int(lv),
            "、".join(cleaned),
            now.isoformat(),
            device,
        )
        self._kept.append(_KeptPress(current, lv, cleaned, device, now, time.monotonic()))
        self._finish(recorded_case=current.case_id)
        outcome = Kept(current.case_id, current.case_no, int(lv))
        self._emit(outcome)
        self._schedule_kept()
        return outcome

    def _schedule_kept(self) -> None:
        if self._kept_timer is not None or not self._kept:
            return
        timer = threading.Timer(KEPT_RETRY_S, self._on_kept_timer)
        timer.daemon = True
        timer.name = f"evaluation-kept-{self.window_code}"
        self._kept_timer = timer
        timer.start()

    def _on_kept_timer(self) -> None:
        with self._lock:
            self._kept_timer = None
            try:
                self._retry_kept_locked()
            except Exception:
                log.exception("暂存评价重试出错（窗口 %s）", self.window_code)
            self._schedule_kept()

    def _retry_kept_locked(self) -> None:
        """Write the kept presses in the order they were made; stop at the first lock."""
        while self._kept:
            kept = self._kept[0]
            ev = kept.evaluation
            try:
                written = self._write_locked(
                    ev, kept.level, kept.reasons, kept.device, kept.pressed_at
                )
            except SQLAlchemyError as exc:
                if is_lock_error(exc) and time.monotonic() - kept.kept_at < KEPT_GIVE_UP_S:
                    return
                self._kept.pop(0)
                if isinstance(exc, IntegrityError) and self._has_evaluation(ev):
                    log.warning("办件 %s 已有评价，暂存的按键 %d 已忽略", ev.case_no, kept.level)
                    continue
                log.exception(
                    "暂存评价保存失败：办件 %s 等级 %d 原因 %s 按键时间 %s 设备 %s",
                    ev.case_no,
                    int(kept.level),
                    "、".join(kept.reasons),
                    kept.pressed_at.isoformat(),
                    kept.device,
                )
                self._emit(
                    KeptFailed(
                        ev.case_id,
                        ev.case_no,
                        int(kept.level),
                        f"办件 {ev.case_no} 的评价未能保存（{exc.__class__.__name__}），详见日志",
                    )
                )
                continue
            self._kept.pop(0)
            log.info("窗口 %s 办件 %s 暂存评价已保存", self.window_code, ev.case_no)
            self._emit(
                Recorded(
                    evaluation_id=written.id,
                    case_id=ev.case_id,
                    case_no=ev.case_no,
                    level=int(kept.level),
                    reasons=written.reasons,
                    follow_up_due=written.follow_up_due,
                    committed_at=time.perf_counter(),
                    kept=True,
                )
            )

    def _has_evaluation(self, opened: OpenEvaluation) -> bool:
        try:
            with self._transaction() as s:
                return bool(
                    s.scalar(
                        select(
                            exists().where(
                                Evaluation.case_id == opened.case_id,
                                Evaluation.encounter_event_id == opened.encounter_event_id,
                            )
                        )
                    )
                )
        except SQLAlchemyError:
            return False

    def _expire_locked(self, now: datetime, why: str = "timeout") -> Expired:
        current = self._current
        assert current is not None
        pressed = self._pending_level
        with self._transaction() as s:
            expire_evaluation(s, current, pressed_level=pressed, why=why, now=now)
        log.info("窗口 %s 办件 %s 未评价（%s）", self.window_code, current.case_no, why)
        self._finish(recorded_case=None)
        outcome = Expired(current.case_id, current.case_no, pressed, why)
        self._emit(outcome)
        return outcome

    def _close_current_cancelled(self, staff_id: str | None, reason: str) -> Cancelled:
        current = self._current
        assert current is not None
        with self._transaction() as s:
            cancel_evaluation(s, current, staff_id=staff_id, reason=reason, now=self._now())
        log.info("窗口 %s 办件 %s 评价已取消：%s", self.window_code, current.case_no, reason)
        self._finish(recorded_case=None)
        outcome = Cancelled(current.case_id, current.case_no, reason)
        self._emit(outcome)
        return outcome

    def _finish(self, *, recorded_case: str | None) -> None:
        self._cancel_timer()
        # Closed without a rating (timed out, withdrawn): it may be offered again.
        self._reofferable = self._current if recorded_case is None else None
        self._reoffer_until = self._now() + timedelta(seconds=REOFFER_WITHIN_S)
        self._current = None
        self._phase = DeskPhase.IDLE
        self._pending_level = None
        self._pending_device = None
        self._chosen = []
        self._deadline = None
        self._expire_why = "timeout"
        self._last_recorded_case = recorded_case

    def _schedule(self) -> None:
        self._cancel_timer()
        if not self._auto_expire or self._deadline is None:
            return
        delay = max(0.0, (self._deadline - self._now()).total_seconds()) + 0.005
        timer = threading.Timer(delay, self._on_timer)
        timer.daemon = True
        timer.name = f"evaluation-expiry-{self.window_code}"
        self._timer = timer
        timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        try:
            self.expire_due()
        except Exception as exc:
            if is_lock_error(exc):
                # The desk stays open until 未评价 is written: try again soon.
                log.warning("数据库正被其他程序写入，评价超时稍后记录（窗口 %s）", self.window_code)
                with self._lock:
                    if self._current is not None and self._deadline is not None:
                        self._schedule()
                return
            log.exception("评价超时处理失败（窗口 %s）", self.window_code)

    def _emit(self, event: DeskEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("评价事件处理出错：%s", event)
