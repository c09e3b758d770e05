"""The data model: reference data authored centrally, and append-only facts.

Facts (cases, case events, issued documents, evaluations, follow-up steps,
audit entries, duty events...) carry a UUID, the window they were made at and
their time, and are never updated or deleted: a status is derived from
events. That is what lets every window work offline and push its facts to the
central store without conflicts (idempotent by UUID).

Reference data (departments, windows, staff, the catalog, holiday schedules)
is authored centrally and pulled by the windows.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
)

# A naming convention keeps constraint names stable across SQLite (batch
# migrations recreate tables) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_id_lock = threading.Lock()
_last_id = 0


def new_id() -> str:
    """A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, 12 bits of
    sub-millisecond time (the RFC's method 3), 62 random bits.

    Time-ordered on purpose: every fact's primary key (and the case_id that
    events, evaluations and documents are indexed by) is this id, at the
    window and at the centre, and a B-tree takes time-ordered keys at its
    right edge, where the pages are in memory, instead of at a random leaf
    of an index that outgrows memory (measured on a push of 600,000 rows
    into an empty centre: 10.5-11.5 s of COPY with uuid4, 8.7-9.2 s with
    these). Within a process the ids strictly increase, even when the clock
    steps back. Python 3.14 has uuid.uuid7; this runs on 3.11.
    """
    global _last_id
    ms, sub = divmod(time.time_ns(), 1_000_000)
    # The 122 bits that are not version or variant, as one number: a tie
    # or a step back becomes one past the last id, carrying from the random
    # bits into the time bits as numbers do.
    bits = (ms & 0xFFFF_FFFF_FFFF) << 74 | (sub * 4096 // 1_000_000) << 62 | secrets.randbits(62)
    with _id_lock:
        if bits <= _last_id:
            bits = _last_id + 1
        _last_id = bits
    value = (
        (bits >> 74) << 80
        | 0x7 << 76
        | ((bits >> 62) & 0xFFF) << 64
        | 0b10 << 62
        | (bits & (1 << 62) - 1)
    )
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy's declared hook)
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime,
        date: Date,
        bytes: LargeBinary,
    }


# --------------------------------------------------------------------------- enums


class Role(enum.StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    # A department's back office (并联审批): decides the sub-cases of bundles
    # routed to its department, on the central store; never serves at a window.
    BACK_OFFICE = "back_office"
    # 代办员 of key projects (seed 002): works the projects assigned to them
    # at the central store, never at a window.
    AGENT = "agent"

    @property
    def label(self) -> str:
        return ROLE_TITLES[self.value]


ROLE_TITLES = {
    "clerk": "窗口工作人员",
    "supervisor": "监督管理人员",
    "administrator": "系统管理员",
    "back_office": "部门后台审批人员",
    "agent": "代办员",
}


class ItemKind(enum.StrEnum):
    INSTANT = "instant"  # 即办件
    PROMISED = "promised"  # 承诺件


class MaterialForm(enum.StrEnum):
    ORIGINAL = "original"
    COPY = "copy"
    ORIGINAL_AND_COPY = "original_and_copy"
    ELECTRONIC = "electronic"

    @property
    def label(self) -> str:
        return {
            "original": "原件",
            "copy": "复印件",
            "original_and_copy": "原件及复印件",
            "electronic": "电子材料",
        }[self.value]


class ApplicantKind(enum.StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class CaseEventKind(enum.StrEnum):
    RECEIVED = "received"  # 收件
    ACCEPTED = "accepted"  # 受理
    CONDITIONALLY_ACCEPTED = "conditionally_accepted"  # 容缺受理
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 一次性告知 (补正)
    SUPPLEMENT_RECEIVED = "supplement_received"  # 补正材料收到
    DEFERRED_MATERIALS_RECEIVED = "deferred_materials_received"  # 容缺材料补齐
    REJECTED = "rejected"  # 不予受理
    REFERRED = "referred"  # 非本部门职责告知
    EXTENDED = "extended"  # 延期
    COMPLETED = "completed"  # 办结
    HANDED_OVER = "handed_over"  # 出件
    EVALUATION_OPENED = "evaluation_opened"
    EVALUATED = "evaluated"
    EVALUATION_EXPIRED = "evaluation_expired"  # 未评价 (never a default rating)
    EVALUATION_CANCELLED = "evaluation_cancelled"
    ONE_TIME_VIOLATION = "one_time_violation"  # 二次告知 (breaks the one-time rule)
    # Sub-cases of a bundle (并联审批, hallapp.bundles): written by a
    # department's back office at the centre, or by the 综合窗口.
    DEPARTMENT_APPROVED = "department_approved"  # 部门审批通过
    DEPARTMENT_REFUSED = "department_refused"  # 部门不予许可（附理由）
    MATERIAL_REQUESTED = "material_requested"  # 部门要求补充材料（经窗口转告）
    MATERIAL_FORWARDED = "material_forwarded"  # 窗口已将补充材料转交部门
    URGED = "urged"  # 催办


class Encounter(enum.StrEnum):
    """一次一评: the service encounters at the window, with the citizen present, that can be
    evaluated (each at most once). 办结 of a 承诺件 happens in the back office: not one."""

    ACCEPTANCE = "acceptance"  # 受理
    CONDITIONAL_ACCEPTANCE = "conditional_acceptance"  # 容缺受理
    ONE_TIME_NOTICE = "one_time_notice"  # 一次性告知
    REFUSAL = "refusal"  # 不予受理
    REFERRAL = "referral"  # 非本部门职责告知
    INSTANT_COMPLETION = "instant_completion"  # 即办
    HAND_OVER = "hand_over"  # 出件

    @property
    def label(self) -> str:
        return ENCOUNTER_LABELS[self.value]


ENCOUNTER_LABELS = {
    "acceptance": "受理",
    "conditional_acceptance": "容缺受理",
    "one_time_notice": "一次性告知",
    "refusal": "不予受理",
    "referral": "非本部门职责告知",
    "instant_completion": "即办",
    "hand_over": "出件",
    # Only evaluations recorded before 一次一评, when 办结 opened one too.
    "completion": "办结",
}


class DutyEventKind(enum.StrEnum):
    START = "start"
    PAUSE = "pause"  # 暂停服务
    RESUME = "resume"
    END = "end"


class FollowUpStepKind(enum.StrEnum):
    OPENED = "opened"
    VERIFIED = "verified"  # 核实
    CALLED_BACK = "called_back"  # 回访
    RECTIFIED = "rectified"  # 整改
    CLOSED = "closed"
    APPEALED = "appealed"  # 申诉
    APPEAL_UPHELD = "appeal_upheld"  # 申诉成立：不计入统计
    APPEAL_REJECTED = "appeal_rejected"


# ------------------------------------------------------------------ reference data


class Department(Base):
    """进驻部门: the agency that staffs a window."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    # Shown on referral notices: what this department handles, in plain words.
    duties: Mapped[str] = mapped_column(Text, default="")

    contacts: Mapped[list[DepartmentContact]] = relationship(
        back_populates="department", order_by="DepartmentContact.seq"
    )


class DepartmentContact(Base):
    """The contact directory used for referrals (非本部门职责告知)."""

    __tablename__ = "department_contacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(40))
    matters: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department] = relationship(back_populates="contacts")


class Window(Base):
    """窗口. ``department_code`` is the window's own (first) department; the
    departments it serves are ``departments`` (several for a 综合窗口)."""

    __tablename__ = "windows"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship()
    departments: Mapped[list[Department]] = relationship(
        secondary="window_departments", order_by="Department.code", viewonly=True
    )
    served: Mapped[list[WindowDepartment]] = relationship(
        back_populates="window", cascade="all, delete-orphan"
    )

    def served_codes(self) -> list[str]:
        """The departments whose items this window handles (at least its own)."""
        codes = sorted({wd.department_code for wd in self.served})
        if self.department_code in codes:  # the window's own first
            codes.remove(self.department_code)
            codes.insert(0, self.department_code)
        return codes or [self.department_code]

    @property
    def is_combined(self) -> bool:
        """综合窗口: it serves several departments, so the hall issues its documents."""
        return len(self.served_codes()) > 1


class WindowDepartment(Base):
    """A department served at a window (one row per department; several for a 综合窗口)."""

    __tablename__ = "window_departments"

    window_code: Mapped[str] = mapped_column(ForeignKey("windows.code"), primary_key=True)
    department_code: Mapped[str] = mapped_column(
        ForeignKey("departments.code"), primary_key=True, index=True
    )

    window: Mapped[Window] = relationship(back_populates="served")


class Staff(Base):
    """窗口工作人员 and supervisors; the password is stored as an argon2 hash."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    staff_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    role: Mapped[Role] = mapped_column(String(20), default=Role.CLERK)
    password_hash: Mapped[str] = mapped_column(String(200))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # One commitment a line, shown on the duty card (服务承诺).
    commitments: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship()

    def commitment_lines(self) -> list[str]:
        return [line.strip() for line in self.commitments.splitlines() if line.strip()]


class ServiceItem(Base):
    """政务服务事项 with its 办事指南 (guide) fields."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    kind: Mapped[ItemKind] = mapped_column(String(20), default=ItemKind.PROMISED)
    legal_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(Text, default="")  # 受理范围
    procedure: Mapped[str] = mapped_column(Text, default="")  # 办事程序
    conditions: Mapped[str] = mapped_column(Text, default="")  # 审批条件
    fees: Mapped[str] = mapped_column(Text, default="")  # 收费
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # 法律依据
    # Pinyin initials of the name, for the clerk's quick search (e.g. sgxk).
    pinyin: Mapped[str] = mapped_column(String(200), default="", index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship()
    materials: Mapped[list[MaterialRequirement]] = relationship(
        back_populates="item", order_by="MaterialRequirement.seq", cascade="all, delete-orphan"
    )


class MaterialRequirement(Base):
    """申请材料: one line of an item's material list."""

    __tablename__ = "material_requirements"
    __table_args__ = (UniqueConstraint("item_code", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    form: Mapped[MaterialForm] = mapped_column(String(20), default=MaterialForm.ORIGINAL)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    deferrable: Mapped[bool] = mapped_column(Boolean, default=False)  # 容缺
    note: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[ServiceItem] = relationship(back_populates="materials")


class BundleKind(enum.StrEnum):
    ONE_THING = "one_thing"  # 一件事
    JOINT = "joint"  # 联合审批

    @property
    def label(self) -> str:
        return {"one_thing": "一件事", "joint": "联合审批"}[self.value]


class Bundle(Base):
    """一件事 / 联合审批: member items of several departments taken at one window.

    One lead department, one guide (the guide fields), one form, one merged
    materials list (seed 000 §七 "七个一"); ``promised_days`` is the bundle's one
    deadline, counted like an item's.
    """

    __tablename__ = "bundles"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[BundleKind] = mapped_column(String(20), default=BundleKind.ONE_THING)
    lead_department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    form_name: Mapped[str] = mapped_column(String(200))  # 一张表单
    promised_days: Mapped[int] = mapped_column(Integer)
    legal_days: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(Text, default="")
    procedure: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    fees: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    pinyin: Mapped[str] = mapped_column(String(200), default="", index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    lead_department: Mapped[Department] = relationship()
    members: Mapped[list[BundleMember]] = relationship(
        back_populates="bundle", order_by="BundleMember.seq", cascade="all, delete-orphan"
    )
    materials: Mapped[list[BundleMaterial]] = relationship(
        back_populates="bundle", order_by="BundleMaterial.seq", cascade="all, delete-orphan"
    )


class BundleMember(Base):
    """A member item of a bundle, with its limit inside the bundle (working days)."""

    __tablename__ = "bundle_members"
    __table_args__ = (
        UniqueConstraint("bundle_code", "seq"),
        UniqueConstraint("bundle_code", "item_code", name="uq_bundle_members_bundle_item"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundles.code"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), index=True)
    promised_days: Mapped[int] = mapped_column(Integer)

    bundle: Mapped[Bundle] = relationship(back_populates="members")
    item: Mapped[ServiceItem] = relationship()


class BundleMaterial(Base):
    """One line of a bundle's merged materials list: asked once for every member needing it."""

    __tablename__ = "bundle_materials"
    __table_args__ = (UniqueConstraint("bundle_code", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundles.code"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    form: Mapped[MaterialForm] = mapped_column(String(20), default=MaterialForm.ORIGINAL)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    deferrable: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # The member items (codes) that need this material.
    item_codes: Mapped[list[str]] = mapped_column(JSON, default=list)

    bundle: Mapped[Bundle] = relationship(back_populates="materials")


class HolidaySchedule(Base):
    """A year's holidays and make-up workdays, loaded by a supervisor from the notice."""

    __tablename__ = "holiday_schedules"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(20))
    # What a load replaced, so supervisors see a hand-made override of an
    # official year: "builtin" (chinese_calendar's year), "loaded" (an earlier
    # load of the same year) or "" (a year no schedule covered). Kept on the
    # row, not only in the audit log, because the row is what windows pull.
    override_of: Mapped[str] = mapped_column(String(10), default="", server_default="")
    override_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class NumberCounter(Base):
    """Local, monotonic counters for case and document numbers (never reused)."""

    __tablename__ = "number_counters"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------- facts


class Fact:
    """Mixin for append-only records: UUID, origin window, creation time."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    origin_window: Mapped[str] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DutyEvent(Fact, Base):
    """当班: a clerk starts, pauses, resumes or ends a shift at a window."""

    __tablename__ = "duty_events"

    shift_id: Mapped[str] = mapped_column(String(36), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    window_code: Mapped[str] = mapped_column(String(8))
    kind: Mapped[DutyEventKind] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")


class Applicant(Fact, Base):
    __tablename__ = "applicants"

    kind: Mapped[ApplicantKind] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # The document a person presented (hallapp.identity.IdType); id_number holds its number.
    id_type: Mapped[str] = mapped_column(
        String(20), default="resident_id", server_default="resident_id"
    )
    id_number: Mapped[str | None] = mapped_column(String(18), nullable=True, index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True, index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")  # 经办人 for organisations
    address: Mapped[str] = mapped_column(String(200), default="")


class Case(Fact, Base):
    """办件: one application at a window. Its status is derived from its events."""

    __tablename__ = "cases"

    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"))
    window_code: Mapped[str] = mapped_column(String(8), index=True)
    department_code: Mapped[str] = mapped_column(String(32))
    first_responder_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))  # 首办负责人

    item: Mapped[ServiceItem] = relationship()
    applicant: Mapped[Applicant] = relationship()
    first_responder: Mapped[Staff] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="(CaseEvent.created_at, CaseEvent.seq)"
    )
    documents: Mapped[list[IssuedDocument]] = relationship(
        back_populates="case", order_by="IssuedDocument.created_at"
    )


#: 容缺 acceptances, the few events the 容缺材料逾期 figure reads (a partial
#: index: only those rows are in it, so it costs the other events nothing).
DEFERRED_WHERE = "kind = 'conditionally_accepted'"


class CaseEvent(Fact, Base):
    __tablename__ = "case_events"
    __table_args__ = (
        Index(
            "ix_case_events_deferred_created_at",
            "created_at",
            postgresql_where=text(DEFERRED_WHERE),
            sqlite_where=text(DEFERRED_WHERE),
        ),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    # Orders events written in the same instant.
    seq: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[CaseEventKind] = mapped_column(String(40))
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class IssuedDocument(Fact, Base):
    """A numbered document handed to the applicant; kept for 补打 (reprint)."""

    __tablename__ = "issued_documents"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(20))
    doc_no: Mapped[str] = mapped_column(String(60), unique=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    # The document's full content (hallapp.documents.Notice.to_dict()):
    # a reprint re-renders exactly this.
    content: Mapped[dict[str, Any]] = mapped_column()

    case: Mapped[Case] = relationship(back_populates="documents")


class DocumentPrint(Fact, Base):
    """Each time a document is printed; reprint=True for 补打."""

    __tablename__ = "document_prints"

    document_id: Mapped[str] = mapped_column(ForeignKey("issued_documents.id"), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)
    printer: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[str] = mapped_column(String(10), default="a4")


class Evaluation(Fact, Base):
    """好差评: one per service encounter (一次一评), only as the citizen gave it."""

    __tablename__ = "evaluations"
    # A case carries one evaluation per encounter (acceptance, notice, hand-over...);
    # the window's last link of the hash chain is found at every evaluation.
    __table_args__ = (
        UniqueConstraint("case_id", "encounter_event_id", name="uq_evaluations_case_encounter"),
        Index("ix_evaluations_chain", "origin_window", "chain_seq"),
        # Supervisors' figures: a period's evaluations grouped by window or clerk
        # read from the index alone (migration 0007).
        Index("ix_evaluations_period", "created_at", "window_code", "staff_id", "level"),
        # A period's 差评 (levels 1 and 2) without the other 95 % of the period:
        # the accountability list and the follow-up figures (migration 0010).
        Index("ix_evaluations_level_created_at", "level", "created_at"),
    )

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    # Which encounter it rates (an Encounter value) and the case event it follows.
    encounter: Mapped[str] = mapped_column(String(40), default="", server_default="")
    encounter_event_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    case_no: Mapped[str] = mapped_column(String(40))
    item_code: Mapped[str] = mapped_column(String(64))
    window_code: Mapped[str] = mapped_column(String(8), index=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20), default="window_evaluator")
    device: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    applicant_kind: Mapped[str] = mapped_column(String(20), default="person")
    # Tamper evidence (hallapp.sync.chain): the window's evaluations form a
    # hash chain, sealed in the transaction that inserts each one.
    chain_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chain_prev: Mapped[str | None] = mapped_column(String(64), nullable=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FollowUpStep(Fact, Base):
    """差评 follow-up: opened, verified, called back, rectified, closed; appeals."""

    __tablename__ = "follow_up_steps"
    # Upheld appeals are looked up by kind for every figure (migration 0007).
    __table_args__ = (Index("ix_follow_up_steps_kind_evaluation_id", "kind", "evaluation_id"),)

    evaluation_id: Mapped[str] = mapped_column(ForeignKey("evaluations.id"), index=True)
    kind: Mapped[FollowUpStepKind] = mapped_column(String(20))
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None] = mapped_column(nullable=True)


class AuditEntry(Fact, Base):
    """Every supervisor and administrator action."""

    __tablename__ = "audit_entries"

    staff_no: Mapped[str] = mapped_column(String(20), index=True)
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BundleCase(Fact, Base):
    """一窗受理 of a bundle: one intake at a 综合窗口, fanned out to member cases (抄告相关).

    Each member item gets an ordinary :class:`Case` of its own department
    (the sub-case); ``lead_case_id`` is the lead department's, which carries
    the bundle's documents and its evaluations.
    """

    __tablename__ = "bundle_cases"

    bundle_no: Mapped[str] = mapped_column(String(40), unique=True)
    bundle_code: Mapped[str] = mapped_column(ForeignKey("bundles.code"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"))
    window_code: Mapped[str] = mapped_column(String(8), index=True)
    lead_case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    first_responder_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))


class BundleCaseMember(Fact, Base):
    """A sub-case of a bundle case, routed to one member department."""

    __tablename__ = "bundle_case_members"

    bundle_case_id: Mapped[str] = mapped_column(ForeignKey("bundle_cases.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(64))
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    limit_days: Mapped[int] = mapped_column(Integer)
    # The department's deadline (limit_days working days after acceptance),
    # fixed when the sub-case is routed: the bundle promised one date.
    deadline: Mapped[date] = mapped_column(Date)


# ------------------------------------------------------ key projects (hallapp.projects)
#
# 重点项目代办 (seed 000 §二 §三, seed 002): facts written at the central store
# by 代办员 and supervisors (origin ``@centre``); a window never writes them.
# They are facts like the rest (append-only, central twins, guards), so the
# register's history is kept and every status is derived from events.


class KeyProject(Fact, Base):
    """A key project's registration (代办受理表): who invests, who leads, who runs it."""

    __tablename__ = "key_projects"

    project_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    investor: Mapped[str] = mapped_column(String(200))
    investor_uscc: Mapped[str] = mapped_column(String(18), default="")
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(40))
    leader_name: Mapped[str] = mapped_column(String(50))  # 指挥长 / 县级领导
    leader_title: Mapped[str] = mapped_column(String(50), default="")
    lead_unit: Mapped[str] = mapped_column(String(32))  # 责任单位 (department code)
    agent_id: Mapped[str] = mapped_column(String(36), index=True)  # 一级代办员
    registered_by: Mapped[str] = mapped_column(String(36))
    accepted_on: Mapped[date] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")  # 项目概况 / 代办事项


class ProjectAgent(Fact, Base):
    """二级代办员 of one approving department for a project; a later row replaces it."""

    __tablename__ = "project_agents"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    department_code: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[str] = mapped_column(String(36), index=True)
    assigned_by: Mapped[str] = mapped_column(String(36))


class ProjectNode(Fact, Base):
    """One node of a project's approvals: its unit, its person, its time limit."""

    __tablename__ = "project_nodes"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    item_code: Mapped[str] = mapped_column(String(64), default="")
    department_code: Mapped[str] = mapped_column(String(32), index=True)  # 责任单位
    responsible_name: Mapped[str] = mapped_column(String(50))  # 责任人
    responsible_phone: Mapped[str] = mapped_column(String(40), default="")
    starts_on: Mapped[date] = mapped_column()
    # Working days after starts_on (hallapp.workdays), or None when a date was set.
    limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_on: Mapped[date] = mapped_column(index=True)
    added_by: Mapped[str] = mapped_column(String(36))


class ProjectStep(Fact, Base):
    """督导代办情况记录: one step an agent records on a node (or the project)."""

    __tablename__ = "project_steps"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    node_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # hallapp.projects.register.StepKind
    staff_id: Mapped[str] = mapped_column(String(36))
    happened_on: Mapped[date] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")


class ProjectEvent(Fact, Base):
    """A project-level event: 手续代办移交 (handed over), 撤销 (withdrawn)."""

    __tablename__ = "project_events"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[str] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentSurvey(Fact, Base):
    """代办员满意度测评表 (seed 002 附件3), as the enterprise's representative filled it."""

    __tablename__ = "agent_surveys"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    agent_id: Mapped[str] = mapped_column(String(36), index=True)
    # Item key -> level 1..5 (hallapp.projects.survey.SURVEY_ITEMS), all seven.
    answers: Mapped[dict[str, Any]] = mapped_column()
    # The lowest of the seven: 1 = rated 非常不满意 (seed 002 六).
    worst_level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))  # "screen" or "paper"
    respondent_name: Mapped[str] = mapped_column(String(50))
    respondent_phone: Mapped[str] = mapped_column(String(40), default="")
    filled_on: Mapped[date] = mapped_column()
    entered_by: Mapped[str | None] = mapped_column(String(36), nullable=True)  # paper: the clerk


class ProjectDocument(Fact, Base):
    """A numbered form of the 代办 workflow, kept as issued for 补打."""

    __tablename__ = "project_documents"

    project_id: Mapped[str] = mapped_column(String(36), index=True)
    doc_type: Mapped[str] = mapped_column(String(30))
    doc_no: Mapped[str] = mapped_column(String(60), unique=True)
    staff_id: Mapped[str] = mapped_column(String(36))
    content: Mapped[dict[str, Any]] = mapped_column()


class HallSetting(Base):
    """A hall-wide setting authored at the central store and pulled (central settings)."""

    __tablename__ = "hall_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class EvaluationTally(Base):
    """Counted evaluations per hall day, window, clerk, department, item and level.

    Derived, not a fact: the database's triggers keep it equal to the count
    over ``evaluations`` less upheld appeals (hallapp.reports.rollup); never
    synced, each store keeps its own.
    """

    __tablename__ = "evaluation_tallies"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # hall day, YYYY-MM-DD
    window_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class CompletionTally(Base):
    """Completed (办结) case events per hall day, window, first responder,
    department and item, and how many are of a case with a counted evaluation
    (the 评价率's numerator). Derived like :class:`EvaluationTally`."""

    __tablename__ = "completion_tallies"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    window_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    first_responder_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    evaluated: Mapped[int] = mapped_column(Integer, default=0)


class CaseTally(Base):
    """Case figures per hall day, window, first responder, department and item:
    cases received (by the case's day), and case events by their own day —
    accepted (受理 and 容缺受理), completed on time (on or before the latest
    promised date the case's acceptance and extension events wrote), one-time
    notices, one-time-rule violations, extensions. Derived like
    :class:`EvaluationTally` (hallapp.reports.caseroll)."""

    __tablename__ = "case_tallies"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    window_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    first_responder_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    one_time_notices: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)
    extensions: Mapped[int] = mapped_column(Integer, default=0)


class CaseDeadline(Base):
    """The accepted cases that can be 超期未办结 at some month's end: every case
    accepted and not completed within its earliest promised date (open ones,
    and those completed late). A case completed in time leaves it. Derived
    (hallapp.reports.caseroll): a superset the figures check exactly against
    the events, so a month's overdue list looks at these cases only, not at
    the whole history."""

    __tablename__ = "case_deadlines"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    window_code: Mapped[str] = mapped_column(String(8))
    first_responder_id: Mapped[str] = mapped_column(String(36))
    department_code: Mapped[str] = mapped_column(String(32))
    item_code: Mapped[str] = mapped_column(String(64))
    accepted_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    promised_min: Mapped[str | None] = mapped_column(String(10), nullable=True)
    done_day: Mapped[str | None] = mapped_column(String(10), nullable=True)


class OpenFollowUp(Base):
    """The 差评 follow-ups opened and neither closed nor ended by an upheld
    appeal, with their due date and whether the 回访 is done: the follow-up
    queue's rows and its overdue count, found without grouping every step
    ever kept. Derived (hallapp.reports.caseroll)."""

    __tablename__ = "open_follow_ups"
    # The queue's order: by due date, then by when the follow-up opened.
    __table_args__ = (Index("ix_open_follow_ups_due_on_opened_at", "due_on", "opened_at"),)

    evaluation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    due_on: Mapped[date | None] = mapped_column(nullable=True)
    opened_at: Mapped[datetime] = mapped_column()
    called_back: Mapped[bool] = mapped_column(Boolean, default=False)  # 回访 done


class SyncState(Base):
    """This window's side of sync (hallapp.sync): push cursors, pull versions, status.

    ``push:<table>`` holds the last local rowid of that fact table the centre
    has committed; rowids grow with every insert and facts are never deleted,
    so the cursor follows commit order whatever the window's clock says.
    """

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# ------------------------------------------------------------ append-only guard

APPEND_ONLY: tuple[type[Base], ...] = (
    DutyEvent,
    Applicant,
    Case,
    CaseEvent,
    IssuedDocument,
    DocumentPrint,
    Evaluation,
    FollowUpStep,
    AuditEntry,
    BundleCase,
    BundleCaseMember,
    KeyProject,
    ProjectAgent,
    ProjectNode,
    ProjectStep,
    ProjectEvent,
    AgentSurvey,
    ProjectDocument,
)


class AppendOnlyViolation(Exception):
    """Raised when code tries to change or delete a fact."""


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_facts(session: Session, _ctx: object, _instances: object) -> None:
    # The database triggers (see the migrations) refuse the same for any
    # client; this catches it earlier, with a clear message, in our own code.
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise AppendOnlyViolation(f"{type(obj).__name__} 记录只能新增，不能删除")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__name__} 记录只能新增，不能修改")
