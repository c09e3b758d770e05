"""Intake at the window (收件, 受理, 容缺, 补正, 不予受理, 告知, 办结): the use cases.

Given an item, an applicant and the materials checklist, only the lawful
outcomes are offered (:func:`lawful_outcomes`), and each decision is recorded
as case events plus a numbered document whose full content is archived for
reprints. Every use case is one transaction on the window's store and returns
plain views, never ORM objects, so the UI can use them on any thread.

Pure Python: no Qt.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from hallapp import documents as docs
from hallapp import numbering
from hallapp.config import Config
from hallapp.deadlines import (
    CaseDeadlines,
    DeadlineInputs,
    DeadlineState,
    Extension,
    ExtensionRefused,
    compute_deadlines,
    grant_extension,
)
from hallapp.evaluation import encounter_of
from hallapp.identity import IdType, mask_document_number, validate_document
from hallapp.logsetup import masked_texts
from hallapp.models import (
    ENCOUNTER_LABELS,
    Applicant,
    ApplicantKind,
    Case,
    CaseEvent,
    CaseEventKind,
    Department,
    DepartmentContact,
    DocumentPrint,
    Evaluation,
    IssuedDocument,
    ItemKind,
    MaterialForm,
    ServiceItem,
    Staff,
    utcnow,
)
from hallapp.store import Store
from hallapp.validation import (
    one_line_problem,
    validate_contact_phone,
    validate_uscc,
)
from hallapp.windows import WindowInfo, window_info
from hallapp.workdays import (
    WorkCalendar,
    add_working_days,
    calendar_from_store,
    hall_date,
    working_days_between,
)

log = logging.getLogger(__name__)

#: Working days after receipt within which a window must accept, refuse or
#: tell every shortfall at once (行政许可法 art. 32: 当场或者在五日内; art. 82:
#: working days); after them the application counts as accepted from receipt.
DECISION_DAYS = 5


class IntakeError(Exception):
    """The requested step is not lawful or the input is wrong; the message is for the clerk."""


# ----------------------------------------------------------------- the checklist


class MaterialStatus(enum.StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    NON_CONFORMING = "non_conforming"

    @property
    def label(self) -> str:
        return {"present": "已收", "missing": "缺少", "non_conforming": "不符合要求"}[self.value]


@dataclass(frozen=True)
class MaterialCheck:
    """The clerk's finding for one required material."""

    requirement_id: str
    status: MaterialStatus
    note: str = ""
    #: On a later 补正 notice only: why this demand is new, namely caused by
    #: the materials the applicant has just brought. Without it a new demand
    #: breaks the one-time rule.
    new_demand_reason: str = ""


@dataclass(frozen=True)
class MaterialView:
    id: str
    seq: int
    name: str
    form: str  # Chinese label
    copies: int
    required: bool
    deferrable: bool
    note: str


@dataclass(frozen=True)
class ItemView:
    code: str
    name: str
    department_code: str
    department_name: str
    instant: bool
    legal_days: int
    promised_days: int
    scope: str
    procedure: str
    conditions: str
    fees: str
    legal_basis: str
    materials: tuple[MaterialView, ...]
    #: The item's department is served at this window; when not, the only
    #: lawful decision here is a referral (非本部门职责告知).
    served_here: bool = True


class Outcome(enum.StrEnum):
    ACCEPT = "accept"
    CONDITIONAL = "conditional"
    ONE_TIME = "one_time"
    REJECT = "reject"
    REFER = "refer"
    INSTANT = "instant"

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    Outcome.ACCEPT: "受理",
    Outcome.CONDITIONAL: "容缺受理",
    Outcome.ONE_TIME: "一次性告知补正",
    Outcome.REJECT: "不予受理",
    Outcome.REFER: "非本部门职责告知",
    Outcome.INSTANT: "即办办结",
}


def _shortfalls(
    materials: Sequence[MaterialView], checks: Sequence[MaterialCheck]
) -> tuple[list[MaterialView], list[MaterialView]]:
    """(all required materials not in order, of which those that may be deferred)."""
    by_id = {c.requirement_id: c for c in checks}
    short: list[MaterialView] = []
    for m in materials:
        check = by_id.get(m.id)
        ok = check is not None and check.status is MaterialStatus.PRESENT
        if m.required and not ok:
            short.append(m)
    deferrable = [
        m
        for m in short
        if m.deferrable
        # A non-conforming main material cannot be deferred: 容缺 covers a
        # secondary material that is missing, not a defective one.
        and by_id.get(m.id, MaterialCheck(m.id, MaterialStatus.MISSING)).status
        is MaterialStatus.MISSING
    ]
    return short, deferrable


def lawful_outcomes(item: ItemView, checks: Sequence[MaterialCheck]) -> frozenset[Outcome]:
    """The decisions the law allows for this checklist.

    Refusal and referral are always open (eligibility and competence are the
    clerk's judgement, and each needs its written reasons). Acceptance needs
    every required material in order; 容缺 acceptance needs the only gaps to
    be missing 容缺-allowed materials; otherwise the applicant is told, once,
    everything that must be corrected.
    """
    known = {m.id for m in item.materials}
    unknown = [c.requirement_id for c in checks if c.requirement_id not in known]
    if unknown:
        raise IntakeError("材料清单与事项不一致，请重新选择事项后再核对材料")
    if not item.served_here:
        # Another department's item: this window cannot accept, correct or
        # refuse it on that department's behalf, only tell who can.
        return frozenset({Outcome.REFER})
    short, deferrable = _shortfalls(item.materials, checks)
    outcomes = {Outcome.REJECT, Outcome.REFER}
    if not short:
        outcomes.add(Outcome.INSTANT if item.instant else Outcome.ACCEPT)
    else:
        outcomes.add(Outcome.ONE_TIME)
        if len(deferrable) == len(short) and not item.instant:
            outcomes.add(Outcome.CONDITIONAL)
    return frozenset(outcomes)


# ------------------------------------------------------------------- applicants


@dataclass(frozen=True)
class ApplicantInput:
    kind: ApplicantKind
    name: str
    id_number: str = ""  # person: the number of the document in id_type
    uscc: str = ""  # organisation
    phone: str = ""
    contact_name: str = ""  # 经办人
    #: The document a person presented (居民身份证, 通行证, 居住证, 永居证, 护照).
    id_type: IdType = IdType.RESIDENT_ID


#: The console's field lengths (the columns hold more: 200 and 50).
APPLICANT_NAME_MAX = 100
CONTACT_NAME_MAX = 50


def check_applicant(a: ApplicantInput, *, phone_required: bool = True) -> list[str]:
    """Every problem with the applicant's data, in Chinese (empty when fine).

    ``phone_required``: the item needs a way to tell the applicant the result
    later (a 承诺件); for an item finished on the spot, or a referral, a phone
    number is optional but still checked when given.
    """
    problems: list[str] = []
    if not a.name.strip():
        problems.append("请填写申请人姓名或单位名称")
    # The same limits wherever an applicant enters (console, scripts): what the
    # column holds, and no invisible character that would print otherwise
    # than the screen shows (a direction override reverses part of a name).
    for label, text, longest in (
        ("申请人姓名或单位名称", a.name, APPLICANT_NAME_MAX),
        ("经办人姓名", a.contact_name, CONTACT_NAME_MAX),
    ):
        if len(text.strip()) > longest:
            problems.append(f"{label}最多 {longest} 字（现为 {len(text.strip())} 字）")
        if hidden := one_line_problem(text):
            problems.append(f"{label}{hidden}")
    if a.kind is ApplicantKind.PERSON:
        try:
            id_type = IdType(a.id_type)
        except ValueError:
            problems.append(f"证件类型“{a.id_type}”无效，请重新选择")
        else:
            result = validate_document(id_type, a.id_number.strip().upper())
            if not result.valid:
                problems.append(f"{id_type.label}号码有误：{result.reason}")
    else:
        result = validate_uscc(a.uscc.strip().upper())
        if not result.valid:
            problems.append(f"统一社会信用代码有误：{result.reason}")
    if a.phone.strip():
        # An applicant is called back on a mobile or a landline, or on his
        # own number abroad (港澳台 residents, foreigners), never on a short
        # service number such as 12345.
        checked = validate_contact_phone(a.phone)
        if not checked:
            problems.append(f"联系电话有误：{checked.reason}")
    elif phone_required:
        problems.append("请填写联系电话，以便通知办理结果")
    return problems


def _stored_phone(phone: str) -> str:
    checked = validate_contact_phone(phone) if phone.strip() else None
    return checked.value if checked else phone.strip()


def phone_required_for(item: ItemView) -> bool:
    """Only a 承诺件 handled here is finished later and needs a number to call."""
    return item.served_here and not item.instant


# ------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Accept:
    checks: tuple[MaterialCheck, ...]


@dataclass(frozen=True)
class ConditionalAccept:
    checks: tuple[MaterialCheck, ...]
    supplement_days: int | None = None  # working days; the configured default if None
    commitment: str = ""  # the written commitment; the standard text if empty


@dataclass(frozen=True)
class OneTimeNotice:
    checks: tuple[MaterialCheck, ...]
    correction_days: int | None = None


@dataclass(frozen=True)
class Reject:
    reasons: tuple[str, ...]
    legal_basis: str


@dataclass(frozen=True)
class Refer:
    department_code: str
    contact_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class CompleteInstantly:
    checks: tuple[MaterialCheck, ...]


Decision = Accept | ConditionalAccept | OneTimeNotice | Reject | Refer | CompleteInstantly


# ------------------------------------------------------------------------ views


class CaseStatus(enum.StrEnum):
    RECEIVED = "received"
    AWAITING_CORRECTION = "awaiting_correction"
    ACCEPTED = "accepted"
    CONDITIONALLY_ACCEPTED = "conditionally_accepted"
    COMPLETED = "completed"
    HANDED_OVER = "handed_over"
    REJECTED = "rejected"
    REFERRED = "referred"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def closed(self) -> bool:
        return self in (CaseStatus.HANDED_OVER, CaseStatus.REJECTED, CaseStatus.REFERRED)

    @property
    def in_progress(self) -> bool:
        return self in (CaseStatus.ACCEPTED, CaseStatus.CONDITIONALLY_ACCEPTED)


_STATUS_LABELS = {
    CaseStatus.RECEIVED: "已收件",
    CaseStatus.AWAITING_CORRECTION: "待补正",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.CONDITIONALLY_ACCEPTED: "容缺受理",
    CaseStatus.COMPLETED: "已办结",
    CaseStatus.HANDED_OVER: "已出件",
    CaseStatus.REJECTED: "不予受理",
    CaseStatus.REFERRED: "已告知转办",
}


@dataclass(frozen=True)
class DocumentView:
    id: str
    doc_type: str
    doc_no: str
    title: str
    issued_at: datetime


@dataclass(frozen=True)
class EvaluationView:
    """One evaluation of a case: the encounter it rates (一次一评) and what the citizen gave."""

    id: str
    encounter: str  # an Encounter value
    encounter_label: str  # 受理, 一次性告知, 出件...
    level: int
    reasons: tuple[str, ...]
    evaluated_at: datetime
    follow_up: str = ""  # a 差评's follow-up in words


@dataclass(frozen=True)
class CaseView:
    """A case as the console shows it; status and deadlines are derived from events."""

    id: str
    case_no: str
    item_code: str
    item_name: str
    applicant_name: str
    applicant_id_masked: str
    window_code: str
    first_responder_name: str
    received_at: datetime
    status: CaseStatus
    accepted_on: date | None
    deadlines: CaseDeadlines | None  # None before acceptance
    owed_materials: tuple[str, ...]  # 容缺 materials still owed
    evaluation_level: int | None
    evaluation_state: str  # "", "open", "evaluated", "expired", "cancelled"
    documents: tuple[DocumentView, ...]
    one_time_violations: int
    extensions: tuple[str, ...] = field(default=())
    #: The citizen's reasons for a 差评 (不满意 / 非常不满意), as chosen on the screen.
    evaluation_reasons: tuple[str, ...] = field(default=())
    evaluated_at: datetime | None = None
    #: A 差评's follow-up (核实、回访、整改) in words; "" when there is none.
    follow_up: str = ""
    #: Every evaluation of the case, one per encounter, oldest first. The
    #: ``evaluation_*`` fields above describe the latest encounter (its state)
    #: and the latest evaluation (level, reasons, time, follow-up).
    evaluations: tuple[EvaluationView, ...] = field(default=())
    #: 出件: who collected the result or how it was sent (""  before 出件).
    collection: str = ""
    #: The checklist as the last 一次性告知 found it: an applicant coming back
    #: has only the missing and non-conforming materials checked again.
    previous_checks: tuple[MaterialCheck, ...] = field(default=())
    #: Requirement ids every earlier 一次性告知 demanded (a new demand breaks the rule).
    demanded_before: tuple[str, ...] = field(default=())
    applicant_kind: str = ApplicantKind.PERSON.value
    applicant_id_type: str = IdType.RESIDENT_ID.value
    applicant_phone: str = ""
    applicant_contact: str = ""

    @property
    def promised_date(self) -> date | None:
        d = self.deadlines
        return d.promised.date if d and d.promised else None

    @property
    def legal_date(self) -> date | None:
        d = self.deadlines
        return d.legal.date if d and d.legal else None

    @property
    def supplement_date(self) -> date | None:
        d = self.deadlines
        return d.supplement.date if d and d.supplement and self.owed_materials else None

    @property
    def provisional(self) -> bool:
        return bool(self.deadlines and self.deadlines.provisional)

    @property
    def deadline_state(self) -> DeadlineState | None:
        return self.deadlines.state if self.deadlines else None

    @property
    def working_days_left(self) -> int | None:
        return self.deadlines.working_days_left if self.deadlines else None


@dataclass(frozen=True)
class DecisionResult:
    case: CaseView
    notice: docs.Notice | None
    document_id: str | None
    #: Materials a later 补正 notice demanded that the first did not (one-time rule).
    violations: tuple[str, ...] = ()


# ------------------------------------------------------------- 出件: who collected


class CollectionMethod(enum.StrEnum):
    """How the result left the window at 出件."""

    APPLICANT = "applicant"  # 申请人本人领取
    AGENT = "agent"  # 代领人领取 (name and ID shown)
    MAIL = "mail"  # 邮寄送达 (carrier and tracking number)

    @property
    def label(self) -> str:
        return {"applicant": "申请人本人领取", "agent": "代领人领取", "mail": "邮寄送达"}[
            self.value
        ]


#: A waybill number as carriers print them (EMS EA123456789CN, SF1234567890123,
#: JD…): letters and digits once spaces and dashes are taken out.
_TRACKING_RE = re.compile(r"^[A-Z0-9]{8,30}$")


@dataclass(frozen=True)
class Collection:
    """Who collected the result at 出件, or how it was sent."""

    method: CollectionMethod = CollectionMethod.APPLICANT
    agent_name: str = ""
    agent_id_type: IdType = IdType.RESIDENT_ID
    agent_id_number: str = ""
    carrier: str = ""
    tracking_no: str = ""


def check_collection(c: Collection) -> list[str]:
    """What is wrong with a 出件 record, in words for the clerk (empty: it is complete)."""
    problems: list[str] = []
    if c.method is CollectionMethod.AGENT:
        name = c.agent_name.strip()
        if not name:
            problems.append("请填写代领人姓名")
        elif len(name) > 50:
            problems.append("代领人姓名过长（最多 50 个字）")
        elif hidden := one_line_problem(name):
            problems.append(f"代领人姓名{hidden}")
        if not c.agent_id_number.strip():
            problems.append(f"请填写代领人的{IdType(c.agent_id_type).label}号码")
        else:
            result = validate_document(c.agent_id_type, c.agent_id_number.strip().upper())
            if not result:
                problems.append(f"代领人证件号码有误：{result.reason}")
    elif c.method is CollectionMethod.MAIL:
        carrier = c.carrier.strip()
        if not carrier:
            problems.append("请填写寄递企业（例如 中国邮政EMS）")
        elif len(carrier) > 30:
            problems.append("寄递企业名称过长（最多 30 个字）")
        tracking = _clean_tracking(c.tracking_no)
        if not tracking:
            problems.append("请填写邮件单号")
        elif not _TRACKING_RE.match(tracking):
            problems.append("邮件单号应为 8–30 位字母或数字，请核对运单")
    return problems


def _clean_tracking(value: str) -> str:
    return re.sub(r"[\s\-－—]", "", value).upper()


def _collection_data(c: Collection) -> dict[str, str]:
    """The 出件 event's data: the agent's number only masked (it is kept nowhere else)."""
    data = {"method": c.method.value}
    if c.method is CollectionMethod.AGENT:
        number = validate_document(c.agent_id_type, c.agent_id_number.strip().upper()).value
        data |= {
            "agent_name": c.agent_name.strip(),
            "agent_id_type": IdType(c.agent_id_type).value,
            "agent_id_masked": mask_document_number(number),
        }
    elif c.method is CollectionMethod.MAIL:
        data |= {"carrier": c.carrier.strip(), "tracking_no": _clean_tracking(c.tracking_no)}
    return data


def describe_collection(data: dict[str, Any]) -> str:
    """The 出件 record in words, as the case detail and documents show it."""
    try:
        method = CollectionMethod(data.get("method", CollectionMethod.APPLICANT.value))
    except ValueError:
        return ""
    if method is CollectionMethod.AGENT:
        try:
            doc = IdType(data.get("agent_id_type", IdType.RESIDENT_ID.value)).label
        except ValueError:
            doc = "证件"
        return f"代领人 {data.get('agent_name', '')}（{doc} {data.get('agent_id_masked', '')}）"
    if method is CollectionMethod.MAIL:
        return f"邮寄送达：{data.get('carrier', '')}，邮件单号 {data.get('tracking_no', '')}"
    return method.label


# ----------------------------------------------------------------------- service


def _item_view(item: ServiceItem, window: WindowInfo | None = None) -> ItemView:
    return ItemView(
        code=item.code,
        name=item.name,
        department_code=item.department_code,
        department_name=item.department.name,
        instant=ItemKind(item.kind) is ItemKind.INSTANT,
        legal_days=item.legal_days,
        promised_days=item.promised_days,
        scope=item.scope,
        procedure=item.procedure,
        conditions=item.conditions,
        fees=item.fees,
        legal_basis=item.legal_basis,
        materials=tuple(
            MaterialView(
                id=m.id,
                seq=m.seq,
                name=m.name,
                form=MaterialForm(m.form).label,
                copies=m.copies,
                required=m.required,
                deferrable=m.deferrable,
                note=m.note,
            )
            for m in item.materials
        ),
        served_here=window is None or window.serves(item.department_code),
    )


@dataclass(frozen=True)
class ReferralChoices:
    """What the referral dialog offers: who issues, whom to default to, and the directory."""

    #: The issuer of the notice: the window's department, or the hall for a 综合窗口.
    issuer_name: str
    #: The item's department when it is not served here (the catalog names it), else None.
    default_code: str | None
    #: (department code, name, [(contact id, name, title, phone)]), the issuer's left out.
    departments: list[tuple[str, str, list[tuple[str, str, str, str]]]]


def _checks_data(checks: Iterable[MaterialCheck]) -> list[dict[str, str]]:
    return [
        {
            "requirement_id": c.requirement_id,
            "status": c.status.value,
            "note": c.note,
            "new_demand_reason": c.new_demand_reason,
        }
        for c in checks
    ]


def _checks_from(data: Iterable[dict[str, str]]) -> tuple[MaterialCheck, ...]:
    """The checks as :func:`_checks_data` stored them (unknown statuses: 缺少)."""
    found = []
    for d in data:
        try:
            status = MaterialStatus(d.get("status", MaterialStatus.MISSING.value))
        except ValueError:
            status = MaterialStatus.MISSING
        found.append(
            MaterialCheck(
                str(d.get("requirement_id", "")),
                status,
                str(d.get("note", "")),
                str(d.get("new_demand_reason", "")),
            )
        )
    return tuple(found)


def new_demands(
    item: ItemView, checks: Sequence[MaterialCheck], demanded_before: Iterable[str]
) -> tuple[str, ...]:
    """Materials a later 一次性告知 would demand that no earlier one did (names).

    Empty on a first notice (nothing demanded before). A check with a
    ``new_demand_reason`` (the new materials caused it) is not counted.
    """
    before = set(demanded_before)
    if not before:
        return ()
    short, _ = _shortfalls(item.materials, checks)
    reasons = {c.requirement_id: c.new_demand_reason.strip() for c in checks}
    return tuple(m.name for m in short if m.id not in before and not reasons.get(m.id))


@dataclass(frozen=True)
class _Step:
    """What every decision works on, inside its one transaction."""

    session: Session
    case: Case
    clerk: Staff
    item: ItemView
    today: date
    calendar: WorkCalendar

    def materials_arrived(self) -> tuple[date, bool]:
        """The day the materials now decided on arrived: the last 补正, or the
        case's receipt; and whether it was a 补正."""
        corrections = [
            ev for ev in self.case.events if ev.kind == CaseEventKind.SUPPLEMENT_RECEIVED.value
        ]
        if corrections:
            return hall_date(max(ev.created_at for ev in corrections)), True
        return hall_date(self.case.created_at), False

    def counting_start(self) -> tuple[date, str]:
        """The day a 受理's limits count from (行政许可法 art. 32, 82), and why
        in words when it is not today: after 补正, the day the materials
        arrived; a decision more than DECISION_DAYS working days after the
        receipt, the receipt (the application counts as accepted from it)."""
        arrived, corrected = self.materials_arrived()
        if corrected and arrived < self.today:
            return arrived, "补正材料收到之日"
        if working_days_between(arrived, self.today, self.calendar) > DECISION_DAYS:
            return (
                arrived,
                f"收件之日：收件后 {DECISION_DAYS} 个工作日内未作决定，依法视为自收件之日起受理",
            )
        return self.today, ""


_OUTCOME_OF: dict[type, Outcome] = {
    Accept: Outcome.ACCEPT,
    ConditionalAccept: Outcome.CONDITIONAL,
    OneTimeNotice: Outcome.ONE_TIME,
    CompleteInstantly: Outcome.INSTANT,
}


#: _view's marker for "the evaluation was not read yet".
_LOOK_UP: Any = object()
#: What a case view shows of its evaluation.
_EVALUATION_COLUMNS = select(
    Evaluation.case_id,
    Evaluation.id,
    Evaluation.level,
    Evaluation.reasons,
    Evaluation.created_at,
    Evaluation.encounter,
    Evaluation.encounter_event_id,
).order_by(Evaluation.created_at)


class Intake:
    """The intake use cases of one window."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        calendar: WorkCalendar | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.window_code = config.window_code
        self._calendar = calendar
        self.clock = clock

    # -- helpers

    def calendar(self, session: Session) -> WorkCalendar:
        # Loaded schedules live in the store; read them per use case so a
        # schedule loaded by a supervisor takes effect without a restart.
        return self._calendar or calendar_from_store(session)

    def today(self) -> date:
        return hall_date(self.clock())

    def _staff(self, session: Session, staff_id: str) -> Staff:
        staff = session.get(Staff, staff_id)
        if staff is None or not staff.active:
            raise IntakeError("当前登录的工作人员无效，请重新登录")
        return staff

    def _case(self, session: Session, case_id: str) -> Case:
        case = session.get(
            Case,
            case_id,
            options=[selectinload(Case.events), selectinload(Case.documents)],
        )
        if case is None:
            raise IntakeError("找不到该办件，请刷新办件列表")
        return case

    def _event(
        self,
        session: Session,
        case: Case,
        kind: CaseEventKind,
        staff: Staff | None,
        data: dict[str, Any] | None = None,
    ) -> CaseEvent:
        seq = len(case.events)
        ev = CaseEvent(
            case_id=case.id,
            seq=seq,
            kind=kind,
            staff_id=staff.id if staff else None,
            data=data or {},
            origin_window=self.window_code,
            created_at=self.clock(),
        )
        session.add(ev)
        case.events.append(ev)
        return ev

    # -- reading

    def item(self, code: str) -> ItemView:
        with self.store.read() as s:
            item = s.get(ServiceItem, code, options=[selectinload(ServiceItem.materials)])
            if item is None or not item.active:
                raise IntakeError(f"事项 {code} 不存在或已停用，请重新选择")
            return _item_view(item, self._window(s))

    def _window(self, session: Session) -> WindowInfo:
        window = window_info(session, self.window_code)
        if window is None:
            raise IntakeError(
                f"本窗口 {self.window_code} 尚未登记进驻部门，不能收件。请系统管理员先登记："
                f"hallapp windows add {self.window_code} 窗口名称 "
                "--department 部门编码 --by 管理员工号"
            )
        return window

    def referral_choices(self, item_code: str | None = None) -> ReferralChoices:
        """The departments a matter can be referred to from this window.

        Every department of the directory except the issuing one (the
        window's department; a 综合窗口 issues in the hall's name, so it may
        refer to any department, its own among them when a matter belongs to
        that department's own window); the item's department is the default
        when the catalog puts the item under a department not served here.
        """
        with self.store.session() as s:
            window = self._window(s)
            item = s.get(ServiceItem, item_code) if item_code else None
            default = (
                item.department_code
                if item is not None and not window.serves(item.department_code)
                else None
            )
            rows = s.scalars(
                select(Department)
                .options(selectinload(Department.contacts))
                .order_by(Department.code)
            ).all()
            return ReferralChoices(
                issuer_name=window.issuer_name(self.config.hall_name),
                default_code=default,
                departments=[
                    (d.code, d.name, [(c.id, c.name, c.title, c.phone) for c in d.contacts])
                    for d in rows
                    if d.code != window.issuer_code()
                ],
            )

    def case_view(self, case_id: str) -> CaseView:
        with self.store.read() as s:
            return self._view(s, self._case(s, case_id))

    def window_cases(
        self, *, include_closed: bool = False, limit: int = 500, query: str = ""
    ) -> list[CaseView]:
        """This window's cases, newest first; ``query`` finds older ones too.

        ``query`` matches part of the 受理编号, part of the applicant's name
        or phone, the last digits of a citizen ID (4 or more), or part of a
        credit code: what an applicant coming back usually has at hand.
        """
        stmt = select(Case).where(Case.window_code == self.window_code)
        q = query.strip()
        if q:
            up = q.upper()
            matches = [
                Case.case_no.contains(up, autoescape=True),
                Applicant.name.contains(q, autoescape=True),
                Applicant.uscc.contains(up, autoescape=True),
            ]
            if q.isdigit() and len(q) >= 4:
                matches.append(Applicant.phone.contains(q, autoescape=True))
            if len(q) >= 4 and up.rstrip("X").isdigit():
                matches.append(Applicant.id_number.endswith(up, autoescape=True))
            stmt = stmt.join(Case.applicant).where(or_(*matches))
        with self.store.read() as s:
            cases = s.scalars(
                stmt.options(
                    selectinload(Case.events),
                    selectinload(Case.documents),
                    selectinload(Case.item),
                    selectinload(Case.applicant),
                    selectinload(Case.first_responder),
                )
                # Same instant (a batch, a test clock): the later number first.
                .order_by(Case.created_at.desc(), Case.case_no.desc())
                .limit(limit)
            ).all()
            # One query for the evaluations of the whole list, not one per case
            # (300 round trips were most of a refresh's 80 ms).
            evaluations: dict[str, list[Any]] = {}
            for row in s.execute(
                _EVALUATION_COLUMNS.where(Evaluation.case_id.in_([c.id for c in cases]))
            ):
                evaluations.setdefault(row.case_id, []).append(row)
            views = [self._view(s, c, evaluations=evaluations.get(c.id, [])) for c in cases]
        return [v for v in views if include_closed or not v.status.closed]

    def _deadline_inputs(self, case: Case) -> DeadlineInputs | None:
        """The deadline facts of a case, read from its events (None before acceptance)."""
        accepted: dict[str, Any] | None = None
        extensions: list[Extension] = []
        supplement_received: date | None = None
        completed: date | None = None
        for ev in case.events:
            kind = CaseEventKind(ev.kind)
            if kind in (CaseEventKind.ACCEPTED, CaseEventKind.CONDITIONALLY_ACCEPTED):
                accepted = ev.data
            elif kind is CaseEventKind.EXTENDED:
                extensions.append(
                    Extension(
                        requested_on=hall_date(ev.created_at),
                        extra_days=int(ev.data["days"]),
                        reason=str(ev.data["reason"]),
                        approver=str(ev.data["approver"]),
                    )
                )
            elif kind is CaseEventKind.DEFERRED_MATERIALS_RECEIVED:
                supplement_received = hall_date(ev.created_at)
            elif kind is CaseEventKind.COMPLETED:
                completed = hall_date(ev.created_at)
        if accepted is None:
            return None
        return DeadlineInputs(
            accepted_on=date.fromisoformat(accepted["accepted_on"]),
            # The limits in force when the case was accepted, not today's catalog.
            promised_days=int(accepted["promised_days"]),
            legal_days=int(accepted["legal_days"]),
            extensions=tuple(extensions),
            supplement_days=accepted.get("supplement_days"),
            supplement_received_on=supplement_received,
            completed_on=completed,
        )

    def _view(self, session: Session, case: Case, *, evaluations: Any = _LOOK_UP) -> CaseView:
        """The case as the console shows it; ``evaluations``: its rows (oldest first)
        when already read, else they are looked up here."""
        status = CaseStatus.RECEIVED
        owed: tuple[str, ...] = ()
        evaluation_state = ""
        violations = 0
        extensions: list[str] = []
        collection = ""
        previous: tuple[MaterialCheck, ...] = ()
        demanded: list[str] = []
        for ev in case.events:
            kind = CaseEventKind(ev.kind)
            d = ev.data
            if kind is CaseEventKind.SUPPLEMENT_REQUESTED:
                status = CaseStatus.AWAITING_CORRECTION
                previous = _checks_from(d.get("checks", ()))
                demanded.extend(r for r in d.get("demanded", ()) if r not in demanded)
            elif kind is CaseEventKind.SUPPLEMENT_RECEIVED:
                status = CaseStatus.RECEIVED
            elif kind is CaseEventKind.ACCEPTED:
                status = CaseStatus.ACCEPTED
            elif kind is CaseEventKind.CONDITIONALLY_ACCEPTED:
                status = CaseStatus.CONDITIONALLY_ACCEPTED
                owed = tuple(d.get("owed", ()))
            elif kind is CaseEventKind.DEFERRED_MATERIALS_RECEIVED:
                owed = ()
                status = CaseStatus.ACCEPTED
            elif kind is CaseEventKind.EXTENDED:
                extensions.append(
                    f"延期{d['days']}个工作日：{d['reason']}（批准：{d['approver']}）"
                )
            elif kind is CaseEventKind.REJECTED:
                status = CaseStatus.REJECTED
            elif kind is CaseEventKind.REFERRED:
                status = CaseStatus.REFERRED
            elif kind is CaseEventKind.COMPLETED:
                status = CaseStatus.COMPLETED
            elif kind is CaseEventKind.HANDED_OVER:
                status = CaseStatus.HANDED_OVER
                collection = describe_collection(d or {})
            if encounter_of(kind, d) is not None:
                # 一次一评: the evaluation state is the latest encounter's.
                evaluation_state = ""
            if kind is CaseEventKind.EVALUATION_OPENED:
                evaluation_state = "open"
            elif kind is CaseEventKind.EVALUATED:
                evaluation_state = "evaluated"
            elif kind is CaseEventKind.EVALUATION_EXPIRED:
                evaluation_state = "expired"
            elif kind is CaseEventKind.EVALUATION_CANCELLED:
                evaluation_state = "cancelled"
            elif kind is CaseEventKind.ONE_TIME_VIOLATION:
                violations += 1
        if evaluations is _LOOK_UP:
            evaluations = list(
                session.execute(_EVALUATION_COLUMNS.where(Evaluation.case_id == case.id))
            )
        rated: list[EvaluationView] = []
        for row in evaluations:
            follow_up_text = ""
            if row.level <= 2:
                from hallapp.evaluation import follow_up_state

                follow_up_text = follow_up_state(session, row.id).describe()
            rated.append(
                EvaluationView(
                    id=row.id,
                    encounter=row.encounter,
                    encounter_label=ENCOUNTER_LABELS.get(row.encounter, row.encounter),
                    level=int(row.level),
                    reasons=masked_texts(row.reasons),
                    evaluated_at=row.created_at,
                    follow_up=follow_up_text,
                )
            )
        level: int | None = None
        reasons: tuple[str, ...] = ()
        evaluated_at: datetime | None = None
        follow_up = ""
        if rated:
            latest = rated[-1]
            level, reasons = latest.level, latest.reasons
            evaluated_at, follow_up = latest.evaluated_at, latest.follow_up
        inputs = self._deadline_inputs(case)
        deadlines = (
            compute_deadlines(
                inputs,
                self.today(),
                self.calendar(session),
                due_soon_days=int(self.config.get("intake.due_soon_days")),
            )
            if inputs is not None
            else None
        )
        applicant = case.applicant
        ident = (
            mask_document_number(applicant.id_number or "")
            if ApplicantKind(applicant.kind) is ApplicantKind.PERSON
            else applicant.uscc or ""
        )
        return CaseView(
            id=case.id,
            case_no=case.case_no,
            item_code=case.item_code,
            item_name=case.item.name,
            applicant_name=applicant.name,
            applicant_id_masked=ident,
            window_code=case.window_code,
            first_responder_name=case.first_responder.name,
            received_at=case.created_at,
            status=status,
            accepted_on=inputs.accepted_on if inputs else None,
            deadlines=deadlines,
            owed_materials=owed,
            evaluation_level=level,
            evaluation_state=evaluation_state,
            evaluation_reasons=reasons,
            evaluated_at=evaluated_at,
            follow_up=follow_up,
            evaluations=tuple(rated),
            documents=tuple(
                DocumentView(
                    id=doc.id,
                    doc_type=doc.doc_type,
                    doc_no=doc.doc_no,
                    title=docs.DocumentType(doc.doc_type).heading,
                    issued_at=doc.created_at,
                )
                for doc in case.documents
            ),
            one_time_violations=violations,
            extensions=tuple(extensions),
            collection=collection,
            previous_checks=previous,
            demanded_before=tuple(demanded),
            applicant_kind=str(applicant.kind),
            applicant_id_type=str(applicant.id_type or IdType.RESIDENT_ID.value),
            applicant_phone=applicant.phone or "",
            applicant_contact=applicant.contact_name or "",
        )

    # -- receiving

    def open_case(self, clerk_id: str, item_code: str, applicant: ApplicantInput) -> CaseView:
        """收件: register the applicant and the matter; the clerk is its first responder."""
        with self.store.read() as s:
            found = s.get(ServiceItem, item_code)
            phone_required = (
                phone_required_for(_item_view(found, self._window(s)))
                if found is not None
                else True
            )
        problems = check_applicant(applicant, phone_required=phone_required)
        if problems:
            raise IntakeError("；".join(problems))
        person = applicant.kind is ApplicantKind.PERSON
        number = validate_document(applicant.id_type, applicant.id_number).value if person else ""
        # Reserve the number first, in its own transaction: a crash later
        # leaves a gap, never a reused number.
        case_no = numbering.case_number(
            self.store.engine, self.config.hall_code, self.window_code, self.today()
        )
        with self.store.session() as s:
            clerk = self._staff(s, clerk_id)
            item = s.get(ServiceItem, item_code)
            if item is None or not item.active:
                raise IntakeError(f"事项 {item_code} 不存在或已停用，请重新选择")
            window = self._window(s)
            # A case belongs to the department that handles it here: the item's
            # when served at this window, else the window's (which refers it).
            handling = (
                item.department_code
                if window.serves(item.department_code)
                else window.department_codes[0]
            )
            now = self.clock()
            app = Applicant(
                origin_window=self.window_code,
                created_at=now,
                kind=applicant.kind,
                name=applicant.name.strip(),
                id_type=str(IdType(applicant.id_type)) if person else IdType.RESIDENT_ID.value,
                id_number=number or None,
                uscc=applicant.uscc.strip().upper() or None,
                # As checked: 0597-8921003-1 is stored as 0597-8921003转1,
                # +852 9123 4567 as +85291234567, so a call-back dials it.
                phone=_stored_phone(applicant.phone),
                contact_name=applicant.contact_name.strip(),
            )
            s.add(app)
            s.flush()
            case = Case(
                origin_window=self.window_code,
                created_at=now,
                case_no=case_no,
                item_code=item.code,
                applicant_id=app.id,
                window_code=self.window_code,
                department_code=handling,
                first_responder_id=clerk.id,
                events=[],
                documents=[],
            )
            s.add(case)
            s.flush()
            self._event(s, case, CaseEventKind.RECEIVED, clerk, {"item_code": item.code})
            s.flush()
            log.info("case %s opened at %s by %s", case_no, self.window_code, clerk.staff_no)
            return self._view(s, case)

    # -- deciding

    def decide(self, case_id: str, clerk_id: str, decision: Decision) -> DecisionResult:
        """Record a decision and issue its numbered document (one transaction)."""
        with self.store.read() as s:
            case = self._case(s, case_id)
            status = self._view(s, case).status
            if status not in (CaseStatus.RECEIVED, CaseStatus.AWAITING_CORRECTION):
                raise IntakeError(f"该办件当前状态为“{status.label}”，不能再作受理决定")
            if status is CaseStatus.AWAITING_CORRECTION and not isinstance(
                decision, Reject | Refer
            ):
                raise IntakeError("申请人尚未补正材料：请先登记补正材料，再作决定")
        # The document number is reserved outside the decision's transaction
        # (see numbering); the decision itself is then one transaction.
        doc_type = _doc_type_for(decision)
        doc_no = (
            numbering.document_number(
                self.store.engine,
                self.config.hall_code,
                self.window_code,
                doc_type,
                self.today().year,
            )
            if doc_type
            else None
        )
        with self.store.session() as s:
            case = self._case(s, case_id)
            clerk = self._staff(s, clerk_id)
            window = self._window(s)
            item = _item_view(case.item, window)
            if not item.served_here and not isinstance(decision, Refer):
                raise IntakeError(
                    f"“{item.name}”由{item.department_name}办理，{self.window_code} 窗口"
                    f"只办理{window.departments_text()}的事项：请作非本部门职责告知，"
                    "告诉申请人到有权部门办理"
                )
            result = self._decide(
                s,
                case=case,
                clerk=clerk,
                item=item,
                decision=decision,
                doc_no=doc_no,
                window=window,
            )
            s.flush()
            return result

    def _decide(
        self,
        s: Session,
        *,
        case: Case,
        clerk: Staff,
        item: ItemView,
        decision: Decision,
        doc_no: str | None,
        window: WindowInfo,
    ) -> DecisionResult:
        if isinstance(decision, Accept | ConditionalAccept | OneTimeNotice | CompleteInstantly):
            wanted = _OUTCOME_OF[type(decision)]
            if wanted not in lawful_outcomes(item, decision.checks):
                raise IntakeError(_why_not(wanted, item, decision.checks))
        step = _Step(s, case, clerk, item, self.today(), self.calendar(s))
        violations: tuple[str, ...] = ()
        if isinstance(decision, Accept | ConditionalAccept):
            notice_kw = self._accept(step, decision)
        elif isinstance(decision, OneTimeNotice):
            notice_kw, violations = self._one_time_notice(step, decision)
        elif isinstance(decision, Reject):
            notice_kw = self._reject(step, decision)
        elif isinstance(decision, Refer):
            notice_kw = self._refer(step, decision, window)
        else:
            notice_kw = self._complete_instantly(step, decision)

        notice: docs.Notice | None = None
        document_id: str | None = None
        doc_type = _doc_type_for(decision)
        if doc_type and doc_no:
            notice = self._notice(
                case, item=item, doc_type=doc_type, doc_no=doc_no, extra=notice_kw
            )
            doc = IssuedDocument(
                origin_window=self.window_code,
                created_at=self.clock(),
                case_id=case.id,
                doc_type=doc_type.value,
                doc_no=doc_no,
                staff_id=clerk.id,
                content=notice.to_dict(),
            )
            s.add(doc)
            case.documents.append(doc)
            s.flush()
            document_id = doc.id
        log.info(
            "case %s: %s by %s%s",
            case.case_no,
            type(decision).__name__,
            clerk.staff_no,
            f", document {doc_no}" if doc_no else "",
        )
        return DecisionResult(self._view(s, case), notice, document_id, violations)

    def _accept(self, step: _Step, decision: Accept | ConditionalAccept) -> dict[str, Any]:
        """受理 or 容缺受理: the promised and legal dates count from the day of
        the decision, or from the day art. 32 says (:meth:`_Step.counting_start`)."""
        item, today, cal = step.item, step.today, step.calendar
        start, why = step.counting_start()
        promised = add_working_days(start, item.promised_days, cal)
        legal = add_working_days(start, item.legal_days, cal)
        by_id = {m.id: m for m in item.materials}
        event_data: dict[str, Any] = {
            # The day the periods count from (the deadlines' anchor).
            "accepted_on": start.isoformat(),
            "promised_days": item.promised_days,
            "legal_days": item.legal_days,
            "promised_date": promised.date.isoformat(),
            "legal_date": legal.date.isoformat(),
            "provisional": promised.provisional or legal.provisional,
            "checks": _checks_data(decision.checks),
        }
        notice_kw: dict[str, Any] = {
            "legal_days": item.legal_days,
            "promised_days": item.promised_days,
            "counted_from": start if start != today else None,
            "counted_from_note": why,
            "promised_date": promised.date,
            "promised_provisional": promised.provisional,
            "legal_date": legal.date,
            "legal_provisional": legal.provisional,
            "materials_received": tuple(
                _line(by_id[c.requirement_id], "已收", c.note)
                for c in decision.checks
                if c.status is MaterialStatus.PRESENT
            ),
        }
        kind = CaseEventKind.ACCEPTED
        if isinstance(decision, ConditionalAccept):
            kind = CaseEventKind.CONDITIONALLY_ACCEPTED
            days = decision.supplement_days or int(self.config.get("intake.supplement_days"))
            if days <= 0:
                raise IntakeError("容缺材料补齐期限应为正整数（工作日）")
            # The case cannot be completed while a 容缺 material is owed, so
            # the materials are due by the promised date at the latest: a
            # later one would make a promise the applicant's lawful delay
            # breaks. The hall's default gives way; a period the clerk typed
            # is refused with the longest that fits.
            if days > item.promised_days:
                if decision.supplement_days:
                    raise IntakeError(
                        f"容缺材料补齐期限 {days} 个工作日晚于承诺办结日期 "
                        f"{promised.date:%Y-%m-%d}（承诺时限 {item.promised_days} 个工作日）："
                        f"办结前须补齐容缺材料，补齐期限最长 {item.promised_days} 个工作日"
                    )
                days = item.promised_days
            supplement = add_working_days(start, days, cal)
            _, deferrable = _shortfalls(item.materials, decision.checks)
            commitment = decision.commitment.strip() or docs.default_commitment(
                step.case.applicant.name, supplement.date
            )
            event_data |= {
                "supplement_days": days,
                "supplement_date": supplement.date.isoformat(),
                "owed": [m.name for m in deferrable],
                "commitment": commitment,
            }
            notice_kw |= {
                # The one date the notice gives, beside each owed material.
                "materials_owed": tuple(
                    _line(
                        m,
                        "容缺",
                        f"{supplement.date.year}年{supplement.date.month}月"
                        f"{supplement.date.day}日前补齐",
                    )
                    for m in deferrable
                ),
                "supplement_date": supplement.date,
                "supplement_provisional": supplement.provisional,
                "commitment": commitment,
            }
        self._event(step.session, step.case, kind, step.clerk, event_data)
        return notice_kw

    def _one_time_notice(
        self, step: _Step, decision: OneTimeNotice
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """一次性告知: every shortfall at once; a new demand later is a violation."""
        arrived, corrected = step.materials_arrived()
        late = working_days_between(arrived, step.today, step.calendar)
        if late > DECISION_DAYS:
            what = "补正材料" if corrected else "申请材料"
            raise IntakeError(
                f"{what}于 {arrived:%Y-%m-%d} 收到，已过 {late} 个工作日：依法应当场或者在 "
                f"{DECISION_DAYS} 个工作日内一次告知补正，逾期不告知的，自收到材料之日起即为受理"
                "（《中华人民共和国行政许可法》第三十二条）。不能再出具补正告知书；"
                "请受理（期限自收到材料之日起计算），或依法作不予受理决定"
            )
        days = decision.correction_days or int(self.config.get("intake.correction_days"))
        if days <= 0:
            raise IntakeError("补正期限应为正整数（工作日）")
        deadline = add_working_days(step.today, days, step.calendar)
        short, _ = _shortfalls(step.item.materials, decision.checks)
        checks_by_id = {c.requirement_id: c for c in decision.checks}
        missing = []
        for m in short:
            check = checks_by_id.get(m.id)
            found = check.status if check else MaterialStatus.MISSING
            missing.append(
                _line(m, found.label, check.note if check else "", catalog_note=True)
            )
        violations = self._one_time_violations(step.case, decision.checks, short)
        self._event(
            step.session,
            step.case,
            CaseEventKind.SUPPLEMENT_REQUESTED,
            step.clerk,
            {
                "checks": _checks_data(decision.checks),
                "demanded": [m.id for m in short],
                "correction_days": days,
                "correction_deadline": deadline.date.isoformat(),
            },
        )
        if violations:
            self._event(
                step.session,
                step.case,
                CaseEventKind.ONE_TIME_VIOLATION,
                step.clerk,
                {"new_demands": list(violations)},
            )
            log.warning(
                "one-time rule broken on case %s by %s: %s",
                step.case.case_no,
                step.clerk.staff_no,
                violations,
            )
        notice_kw = {
            "missing_materials": tuple(missing),
            "correction_days": days,
            "correction_deadline": deadline.date,
            # 办结时限, told with the shortfalls (seed 000 §六).
            "legal_days": step.item.legal_days,
            "promised_days": step.item.promised_days,
        }
        return notice_kw, violations

    def _reject(self, step: _Step, decision: Reject) -> dict[str, Any]:
        """不予受理: written reasons, the legal basis and the remedies."""
        reasons = tuple(r.strip() for r in decision.reasons if r.strip())
        if not reasons:
            raise IntakeError("不予受理必须写明理由")
        basis = decision.legal_basis.strip() or step.item.legal_basis
        if not basis:
            raise IntakeError("不予受理必须写明法律依据")
        self._event(
            step.session,
            step.case,
            CaseEventKind.REJECTED,
            step.clerk,
            {"reasons": list(reasons), "legal_basis": basis},
        )
        return {
            "reasons": reasons,
            "legal_basis": basis,
            "remedies": docs.default_remedies(
                str(self.config.get("hall.review_body")), str(self.config.get("hall.court"))
            ),
        }

    def _refer(self, step: _Step, decision: Refer, window: WindowInfo) -> dict[str, Any]:
        """非本部门职责: name the competent department, the person and the phone.

        The notice is issued by this window's department (the hall for a
        综合窗口): it says the matter is not *its* duty, so the competent
        department is never one this window speaks for.
        """
        s = step.session
        dept = s.get(Department, decision.department_code)
        if dept is None:
            raise IntakeError("请选择有权办理该事项的部门")
        if dept.code == window.issuer_code():
            raise IntakeError(
                f"本告知书由{dept.name}出具，有权部门不能是{dept.name}本身；请选择其他有权部门"
            )
        if step.item.served_here and not decision.note.strip():
            # Seed 003 §四.3: no "不归我管" for a matter of one's own duties.
            # Only a case that is not this department's after all (another
            # level's competence, say) may be sent on, with the reason in writing.
            raise IntakeError(
                f"“{step.item.name}”是本窗口办理的事项。只有申请人的情形确实不属于本部门职责"
                "（例如属上级机关权限）时，才能告知其到其他部门办理：请在“说明”中写明理由"
            )
        contact = s.get(DepartmentContact, decision.contact_id) if decision.contact_id else None
        if contact is not None and contact.department_code != dept.code:
            raise IntakeError("联系人不属于所选部门，请重新选择")
        if contact is None:
            # The notice names the person who will handle it (seed 000 §六:
            # 承办的部门、具体工作人员及联系电话): the department's first contact
            # when the clerk chose none.
            contact = s.scalars(
                select(DepartmentContact)
                .where(DepartmentContact.department_code == dept.code)
                .order_by(DepartmentContact.seq, DepartmentContact.name)
                .limit(1)
            ).first()
        if contact is None:
            raise IntakeError(
                f"{dept.name} 的通讯录中没有联系人：告知书须写明承办的具体工作人员及联系电话，"
                "请先补充该部门的联系人（中心库：hallapp central departments）"
            )
        target = docs.ReferralTarget(
            department=dept.name,
            person=f"{contact.name}（{contact.title}）" if contact.title else contact.name,
            # A contact without a phone of their own is reached on the office's.
            phone=contact.phone or dept.phone,
            address=dept.address,
        )
        if not target.phone:
            raise IntakeError(f"{dept.name} 没有联系电话，请先在部门通讯录中补充")
        self._event(
            s,
            step.case,
            CaseEventKind.REFERRED,
            step.clerk,
            {
                "department_code": dept.code,
                "contact_id": contact.id,
                "note": decision.note,
            },
        )
        return {
            "referral": target,
            "remarks": decision.note,
            "department_name": window.issuer_name(self.config.hall_name),
        }

    def _complete_instantly(self, step: _Step, decision: CompleteInstantly) -> dict[str, Any]:
        """即办件: accepted and completed on the spot; the result is the document."""
        today = step.today.isoformat()
        self._event(
            step.session,
            step.case,
            CaseEventKind.ACCEPTED,
            step.clerk,
            {
                "accepted_on": today,
                "promised_days": 0,
                "legal_days": step.item.legal_days,
                "promised_date": today,
                "legal_date": today,
                "provisional": False,
                "instant": True,
                "checks": _checks_data(decision.checks),
            },
        )
        self._event(step.session, step.case, CaseEventKind.COMPLETED, step.clerk, {"instant": True})
        return {}

    def _one_time_violations(
        self, case: Case, checks: Sequence[MaterialCheck], short: Sequence[MaterialView]
    ) -> tuple[str, ...]:
        """New demands in a later 补正 notice that the first notice did not make."""
        earlier = [ev for ev in case.events if ev.kind == CaseEventKind.SUPPLEMENT_REQUESTED]
        if not earlier:
            return ()
        demanded_before: set[str] = set()
        for ev in earlier:
            demanded_before.update(ev.data.get("demanded", ()))
        reasons = {c.requirement_id: c.new_demand_reason.strip() for c in checks}
        return tuple(m.name for m in short if m.id not in demanded_before and not reasons.get(m.id))

    def _notice(
        self,
        case: Case,
        *,
        item: ItemView,
        doc_type: docs.DocumentType,
        doc_no: str,
        extra: dict[str, Any],
    ) -> docs.Notice:
        applicant = case.applicant
        # No template configured: no code (a made-up address helps nobody).
        template = str(self.config.get("printing.qr_url_template"))
        qr = docs.qr_url_for(template, case.case_no) if doc_type.has_qr and template else None
        fields: dict[str, Any] = {"department_name": item.department_name} | extra
        return docs.Notice(
            doc_type=doc_type,
            doc_no=doc_no,
            hall_name=self.config.hall_name,
            case_no=case.case_no,
            applicant=applicant_ref(applicant),
            item_code=item.code,
            item_name=item.name,
            received_at=case.created_at,
            issued_on=self.today(),
            first_responder=person_ref(case.first_responder),
            complaint_hotline=self.config.complaint_hotline,
            window_code=self.window_code,
            qr_url=qr,
            **fields,
        )

    # -- after the decision

    @contextmanager
    def _on_case(
        self, case_id: str, clerk_id: str
    ) -> Iterator[tuple[Session, Case, Staff, CaseView]]:
        """One step on an existing case: its transaction, the case, the clerk and its view now."""
        with self.store.session() as s:
            case = self._case(s, case_id)
            clerk = self._staff(s, clerk_id)
            yield s, case, clerk, self._view(s, case)

    def _record(
        self,
        case_id: str,
        clerk_id: str,
        kind: CaseEventKind,
        allowed: Callable[[CaseView], dict[str, Any]],
    ) -> CaseView:
        """Add one event after ``allowed`` has checked the case (it raises IntakeError
        when the step is not possible, else returns the event's data)."""
        with self._on_case(case_id, clerk_id) as (s, case, clerk, view):
            self._event(s, case, kind, clerk, allowed(view))
            s.flush()
            return self._view(s, case)

    def record_correction(
        self, case_id: str, clerk_id: str, checks: Sequence[MaterialCheck]
    ) -> CaseView:
        """补正材料收到: counting will restart from the decision taken on them."""

        def allowed(view: CaseView) -> dict[str, Any]:
            if view.status is not CaseStatus.AWAITING_CORRECTION:
                raise IntakeError("该办件没有待补正的材料")
            return {"checks": _checks_data(checks)}

        return self._record(case_id, clerk_id, CaseEventKind.SUPPLEMENT_RECEIVED, allowed)

    def record_deferred_materials(self, case_id: str, clerk_id: str) -> CaseView:
        """容缺材料补齐."""

        def allowed(view: CaseView) -> dict[str, Any]:
            if view.status is not CaseStatus.CONDITIONALLY_ACCEPTED:
                raise IntakeError("该办件不是容缺受理，或容缺材料已补齐")
            return {"materials": list(view.owed_materials)}

        return self._record(case_id, clerk_id, CaseEventKind.DEFERRED_MATERIALS_RECEIVED, allowed)

    def complete(self, case_id: str, clerk_id: str) -> CaseView:
        """办结."""

        def allowed(view: CaseView) -> dict[str, Any]:
            if view.status is CaseStatus.CONDITIONALLY_ACCEPTED:
                raise IntakeError(
                    "容缺材料尚未补齐（" + "、".join(view.owed_materials) + "），请先登记补齐"
                )
            if view.status is not CaseStatus.ACCEPTED:
                raise IntakeError(f"该办件当前状态为“{view.status.label}”，不能办结")
            return {}

        return self._record(case_id, clerk_id, CaseEventKind.COMPLETED, allowed)

    def hand_over(
        self, case_id: str, clerk_id: str, collection: Collection | None = None
    ) -> CaseView:
        """出件: the result goes to the applicant, an agent (代领) or by post (邮寄).

        Without ``collection`` the applicant collected it in person.
        """
        record = collection if collection is not None else Collection()
        problems = check_collection(record)
        if problems:
            raise IntakeError("；".join(problems))

        def allowed(view: CaseView) -> dict[str, Any]:
            if view.status is not CaseStatus.COMPLETED:
                raise IntakeError(f"该办件当前状态为“{view.status.label}”，办结后才能出件")
            return _collection_data(record)

        return self._record(case_id, clerk_id, CaseEventKind.HANDED_OVER, allowed)

    def extend(
        self, case_id: str, clerk_id: str, days: int, reason: str, approver: str
    ) -> CaseView:
        """延期: before the deadline, signed off, never past the legal limit."""
        if days <= 0:
            raise IntakeError("延期天数应为正整数（工作日）")
        if not reason.strip():
            raise IntakeError("延期必须写明理由")
        if not approver.strip():
            raise IntakeError("延期必须经负责人批准，请填写批准人")
        with self._on_case(case_id, clerk_id) as (s, case, clerk, view):
            inputs = self._deadline_inputs(case)
            if not view.status.in_progress or inputs is None:
                raise IntakeError("只有已受理、未办结的办件可以延期")
            cal = self.calendar(s)
            try:
                updated = grant_extension(
                    inputs,
                    requested_on=self.today(),
                    extra_days=days,
                    reason=reason.strip(),
                    approver=approver.strip(),
                    calendar=cal,
                )
            except ExtensionRefused as exc:
                raise IntakeError(str(exc)) from exc
            new = compute_deadlines(updated, self.today(), cal).promised
            assert new is not None
            self._event(
                s,
                case,
                CaseEventKind.EXTENDED,
                clerk,
                {
                    "days": days,
                    "reason": reason.strip(),
                    "approver": approver.strip(),
                    "promised_date": new.date.isoformat(),
                    "provisional": new.provisional,
                },
            )
            s.flush()
            return self._view(s, case)

    # -- documents

    def document(self, document_id: str) -> docs.Notice:
        with self.store.read() as s:
            doc = s.get(IssuedDocument, document_id)
            if doc is None:
                raise IntakeError("找不到该文书")
            return docs.Notice.from_dict(doc.content)

    def reprint(self, document_id: str, clerk_id: str) -> docs.Notice:
        """补打: the archived content, exactly, marked as a reprint with its time."""
        with self.store.read() as s:
            doc = s.get(IssuedDocument, document_id)
            if doc is None:
                raise IntakeError("找不到该文书，无法补打")
            self._staff(s, clerk_id)
            return docs.Notice.from_dict(doc.content).as_reprint(self.clock())

    def record_print(
        self, document_id: str, clerk_id: str, *, printer: str, size: str, reprint: bool
    ) -> None:
        with self.store.session() as s:
            s.add(
                DocumentPrint(
                    origin_window=self.window_code,
                    created_at=self.clock(),
                    document_id=document_id,
                    staff_id=clerk_id,
                    printer=printer,
                    size=size,
                    reprint=reprint,
                )
            )


def applicant_ref(applicant: Applicant) -> docs.ApplicantRef:
    """The applicant as a notice names them (the ID number masked)."""
    person = ApplicantKind(applicant.kind) is ApplicantKind.PERSON
    return docs.ApplicantRef(
        name=applicant.name,
        kind=docs.ApplicantKind(applicant.kind),
        id_masked=mask_document_number(applicant.id_number or "")
        if person
        else (applicant.uscc or ""),
        id_type_label=_id_type_label(applicant) if person else "",
        phone=applicant.phone,
        agent_name=applicant.contact_name,
    )


def person_ref(staff: Staff) -> docs.PersonRef:
    """The first responder as a notice names them."""
    return docs.PersonRef(
        name=staff.name, title=staff.title, staff_no=staff.staff_no, phone=staff.phone
    )


def _id_type_label(applicant: Applicant) -> str:
    """The document's name for the notice; empty for the ID card (the default label)."""
    try:
        kind = IdType(applicant.id_type or IdType.RESIDENT_ID)
    except ValueError:
        return ""
    return "" if kind is IdType.RESIDENT_ID else kind.label


# Catalog remarks that tell the clerk how the material may be handled (容缺,
# 免予提交 by data sharing): on the applicant's notice they would contradict
# the decision printed (a received material "to be handed in later", a
# demanded one "可容缺", a 容缺 date beside the notice's own).
_CLERK_ONLY_NOTE = re.compile(r"容缺|免[予于]?提交|免交|告知承诺")


def _line(
    m: MaterialView, status: str, note: str = "", *, catalog_note: bool = False
) -> docs.MaterialLine:
    """A notice's line: the clerk's note; with ``catalog_note`` (a material the
    applicant must still bring), else the catalog's remark on how to bring it,
    unless it is one for the clerk."""
    shown = note.strip()
    if not shown and catalog_note and not _CLERK_ONLY_NOTE.search(m.note):
        shown = m.note
    return docs.MaterialLine(name=m.name, form=m.form, copies=m.copies, status=status, note=shown)


def _doc_type_for(decision: Decision) -> docs.DocumentType | None:
    if isinstance(decision, Accept):
        return docs.DocumentType.ACCEPTANCE
    if isinstance(decision, ConditionalAccept):
        return docs.DocumentType.CONDITIONAL
    if isinstance(decision, OneTimeNotice):
        return docs.DocumentType.ONE_TIME
    if isinstance(decision, Reject):
        return docs.DocumentType.REJECTION
    if isinstance(decision, Refer):
        return docs.DocumentType.REFERRAL
    return None  # instant completion hands over the result, not a notice


def _why_not(wanted: Outcome, item: ItemView, checks: Sequence[MaterialCheck]) -> str:
    short, deferrable = _shortfalls(item.materials, checks)
    names = "、".join(m.name for m in short)
    if wanted in (Outcome.ACCEPT, Outcome.INSTANT):
        if wanted is Outcome.INSTANT and not item.instant:
            return "该事项不是即办件，请按受理办理"
        if wanted is Outcome.ACCEPT and item.instant:
            return "该事项是即办件，请直接办结"
        return f"材料不齐全或不符合要求（{names}），不能受理：请一次性告知补正，或在允许时容缺受理"
    if wanted is Outcome.CONDITIONAL:
        if item.instant:
            return "即办件不适用容缺受理"
        if not short:
            return "材料已齐全，请直接受理"
        hard = [m.name for m in short if m not in deferrable]
        return f"以下材料不允许容缺：{'、'.join(hard)}，请一次性告知补正"
    if wanted is Outcome.ONE_TIME:
        return "材料已齐全，无需补正，请直接受理"
    return "该决定不适用于当前材料情况"
