"""The content of the printed documents (受理通知书, 一次性告知书 …), without any layout.

Every decision at the window is a written, numbered document (行政许可法 art. 32).
What a document *says* is fixed here as frozen dataclasses; how it looks on A4
or on an 80 mm slip is :mod:`hallapp.printing`'s business. Intake builds a
:class:`Notice` from the database and archives ``notice.to_dict()`` as JSON in
the issued document, so a reprint (补打) re-renders exactly what was issued:
``Notice.from_dict(archived).as_reprint(now)``.

This module is part of the domain: no Qt, no reportlab.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, Self, TypeVar, overload

#: Version of the archived JSON layout; bump it (and teach ``from_dict`` the old
#: one) when a field changes meaning, so old archives still reprint.
CONTENT_SCHEMA = 1

#: The legal basis quoted on every acceptance (行政许可法 art. 32 para 1 item 5).
ACCEPTANCE_BASIS = "《中华人民共和国行政许可法》第三十二条第一款第（五）项"
ONE_TIME_BASIS = "《中华人民共和国行政许可法》第三十二条第一款第（四）项"
REFERRAL_BASIS = "《中华人民共和国行政许可法》第三十二条第一款第（二）项"


class DocumentContentError(ValueError):
    """Archived content cannot be read back; the message says which field (in Chinese)."""


class DocumentType(StrEnum):
    ACCEPTANCE = "acceptance"
    CONDITIONAL = "conditional"
    ONE_TIME = "one-time"
    REJECTION = "rejection"
    REFERRAL = "referral"
    #: 一窗出件: every member's result of a bundle, handed out at once
    HAND_OVER = "hand-over"
    DUTY_CARD = "duty-card"

    @property
    def heading(self) -> str:
        """The title printed centred at the top of the document (str.title is taken)."""
        return _TITLES[self]

    @property
    def number_prefix(self) -> str:
        """The short word in the document number, e.g. 受 in 连住建受〔2026〕12号."""
        return _PREFIXES[self]

    @property
    def has_qr(self) -> bool:
        """Documents that carry the progress / evaluation QR code."""
        return self in (DocumentType.ACCEPTANCE, DocumentType.CONDITIONAL, DocumentType.ONE_TIME)


_TITLES: dict[DocumentType, str] = {
    DocumentType.ACCEPTANCE: "受理通知书",
    DocumentType.CONDITIONAL: "容缺受理通知书",
    DocumentType.ONE_TIME: "补正材料一次性告知书",
    DocumentType.REJECTION: "不予受理决定书",
    DocumentType.REFERRAL: "非本部门职责告知书",
    DocumentType.HAND_OVER: "一窗出件办理结果告知书",
    DocumentType.DUTY_CARD: "当班首办负责人公示",
}

_PREFIXES: dict[DocumentType, str] = {
    DocumentType.ACCEPTANCE: "受",
    DocumentType.CONDITIONAL: "容",
    DocumentType.ONE_TIME: "补",
    DocumentType.REJECTION: "不受",
    DocumentType.REFERRAL: "告",
    DocumentType.HAND_OVER: "出",
    DocumentType.DUTY_CARD: "岗",
}

NOTICE_TYPES: tuple[DocumentType, ...] = tuple(t for t in DocumentType if t != "duty-card")


class ApplicantKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"

    @property
    def id_label(self) -> str:
        return "身份证号码" if self is ApplicantKind.PERSON else "统一社会信用代码"


# --- small parts -----------------------------------------------------------------


@dataclass(frozen=True)
class PersonRef:
    """A clerk as printed on a document (the first responder, 首办负责人)."""

    name: str
    title: str = ""
    staff_no: str = ""
    phone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            name=_str(data, "name", required=True),
            title=_str(data, "title"),
            staff_no=_str(data, "staff_no"),
            phone=_str(data, "phone"),
        )


@dataclass(frozen=True)
class ApplicantRef:
    """The applicant as printed: the identifier is already masked for a person."""

    name: str
    kind: ApplicantKind = ApplicantKind.PERSON
    #: masked ID number (3508**********2310) for a person, the USCC for an organisation
    id_masked: str = ""
    phone: str = ""
    #: 经办人 of an organisation (or the proxy of a person); empty when none
    agent_name: str = ""
    #: The document a person presented (护照, 港澳居民来往内地通行证 …); empty: the ID card
    id_type_label: str = ""

    @property
    def id_label(self) -> str:
        """The label printed before the number."""
        return f"{self.id_type_label}号码" if self.id_type_label else self.kind.id_label

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": str(self.kind),
            "id_masked": self.id_masked,
            "phone": self.phone,
            "agent_name": self.agent_name,
            "id_type_label": self.id_type_label,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            name=_str(data, "name", required=True),
            kind=_enum(ApplicantKind, data, "kind", ApplicantKind.PERSON),
            id_masked=_str(data, "id_masked"),
            phone=_str(data, "phone"),
            agent_name=_str(data, "agent_name"),
            id_type_label=_str(data, "id_type_label"),
        )


@dataclass(frozen=True)
class MaterialLine:
    """One material on a notice: received, owed (容缺) or missing / non-conforming (补正)."""

    name: str
    form: str = ""  # 原件 / 复印件 / 原件及复印件 / 电子件
    copies: int = 1
    status: str = ""  # 已收 / 容缺 / 缺少 / 不符合要求
    note: str = ""  # for 补正: what exactly is wrong or what must be brought

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        copies = data.get("copies", 1)
        if not isinstance(copies, int) or isinstance(copies, bool) or copies < 0:
            raise DocumentContentError(f"材料份数应为非负整数，实际为 {copies!r}")
        return cls(
            name=_str(data, "name", required=True),
            form=_str(data, "form"),
            copies=copies,
            status=_str(data, "status"),
            note=_str(data, "note"),
        )


@dataclass(frozen=True)
class MemberLine:
    """One member item of a bundle (一件事) on its notices: who decides it, by when, how."""

    item_name: str
    department: str
    limit_days: int
    deadline: date | None = None
    result: str = ""  # on the hand-over: 准予许可 / 不予许可
    note: str = ""  # the reasons of a refusal; what a material is needed for

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "deadline": _iso(self.deadline)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            item_name=_str(data, "item_name", required=True),
            department=_str(data, "department", required=True),
            limit_days=_opt_int(data, "limit_days") or 0,
            deadline=_date(data, "deadline"),
            result=_str(data, "result"),
            note=_str(data, "note"),
        )


@dataclass(frozen=True)
class ReferralTarget:
    """The competent department a 非本部门职责 matter is referred to."""

    department: str
    person: str = ""
    phone: str = ""
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            department=_str(data, "department", required=True),
            person=_str(data, "person"),
            phone=_str(data, "phone"),
            address=_str(data, "address"),
        )


# --- the notices --------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A numbered written decision handed to the applicant.

    One class for the five notice types: each type uses the fields that belong
    to it (the layouts say which), the rest stay empty. Dates that came from a
    year without an official holiday schedule carry ``*_provisional = True`` and
    are printed with 暂定.
    """

    doc_type: DocumentType
    doc_no: str
    hall_name: str
    department_name: str
    case_no: str
    applicant: ApplicantRef
    item_code: str
    item_name: str
    received_at: datetime
    issued_on: date
    first_responder: PersonRef
    complaint_hotline: str
    window_code: str = ""
    # deadlines (acceptance, conditional)
    legal_days: int | None = None
    promised_days: int | None = None
    promised_date: date | None = None
    promised_provisional: bool = False
    legal_date: date | None = None
    legal_provisional: bool = False
    #: The day the limits count from when it is not the day of the decision
    #: (行政许可法 art. 32): the day 补正 materials arrived, or the day of
    #: receipt when the decision came more than 5 working days after it;
    #: with why, in words, for the notice.
    counted_from: date | None = None
    counted_from_note: str = ""
    materials_received: tuple[MaterialLine, ...] = ()
    # 容缺受理: what is still owed, by when, on what written commitment
    materials_owed: tuple[MaterialLine, ...] = ()
    supplement_date: date | None = None
    supplement_provisional: bool = False
    commitment: str = ""
    # 一次性告知: every missing or non-conforming material, and the time limit
    missing_materials: tuple[MaterialLine, ...] = ()
    correction_days: int | None = None  # working days
    correction_deadline: date | None = None
    # 不予受理
    reasons: tuple[str, ...] = ()
    legal_basis: str = ""
    remedies: tuple[str, ...] = ()
    # 非本部门职责
    referral: ReferralTarget | None = None
    # progress query / evaluation link printed as a QR code
    qr_url: str | None = None
    remarks: str = ""
    # 一件事 / 联合审批 (hallapp.bundles): the member items, and on the hand-over
    # the bundle's outcome in words (every member approved, or which refused).
    members: tuple[MemberLine, ...] = ()
    outcome: str = ""
    #: set only on a reprint (补打): when it was reprinted
    reprint_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.doc_type is DocumentType.DUTY_CARD:
            raise ValueError("当班首办负责人公示卡请使用 DutyCard")

    @property
    def title(self) -> str:
        return self.doc_type.heading

    @property
    def is_reprint(self) -> bool:
        return self.reprint_at is not None

    def as_reprint(self, at: datetime) -> Notice:
        """The same notice, marked as reprinted (补打) at ``at``; nothing else changes."""
        return dataclasses.replace(self, reprint_at=at)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content for the archive (IssuedDocument.content)."""
        return {
            "schema": CONTENT_SCHEMA,
            "doc_type": str(self.doc_type),
            "doc_no": self.doc_no,
            "hall_name": self.hall_name,
            "department_name": self.department_name,
            "case_no": self.case_no,
            "applicant": self.applicant.to_dict(),
            "item_code": self.item_code,
            "item_name": self.item_name,
            "received_at": self.received_at.isoformat(),
            "issued_on": self.issued_on.isoformat(),
            "first_responder": self.first_responder.to_dict(),
            "complaint_hotline": self.complaint_hotline,
            "window_code": self.window_code,
            "legal_days": self.legal_days,
            "promised_days": self.promised_days,
            "promised_date": _iso(self.promised_date),
            "promised_provisional": self.promised_provisional,
            "legal_date": _iso(self.legal_date),
            "legal_provisional": self.legal_provisional,
            "counted_from": _iso(self.counted_from),
            "counted_from_note": self.counted_from_note,
            "materials_received": [m.to_dict() for m in self.materials_received],
            "materials_owed": [m.to_dict() for m in self.materials_owed],
            "supplement_date": _iso(self.supplement_date),
            "supplement_provisional": self.supplement_provisional,
            "commitment": self.commitment,
            "missing_materials": [m.to_dict() for m in self.missing_materials],
            "correction_days": self.correction_days,
            "correction_deadline": _iso(self.correction_deadline),
            "reasons": list(self.reasons),
            "legal_basis": self.legal_basis,
            "remedies": list(self.remedies),
            "referral": self.referral.to_dict() if self.referral else None,
            "qr_url": self.qr_url,
            "remarks": self.remarks,
            "members": [m.to_dict() for m in self.members],
            "outcome": self.outcome,
            "reprint_at": self.reprint_at.isoformat() if self.reprint_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        _check_schema(data)
        doc_type = _enum(DocumentType, data, "doc_type", None)
        referral = data.get("referral")
        return cls(
            doc_type=doc_type,
            doc_no=_str(data, "doc_no", required=True),
            hall_name=_str(data, "hall_name", required=True),
            department_name=_str(data, "department_name", required=True),
            case_no=_str(data, "case_no", required=True),
            applicant=ApplicantRef.from_dict(_map(data, "applicant")),
            item_code=_str(data, "item_code"),
            item_name=_str(data, "item_name", required=True),
            received_at=_req(_datetime(data, "received_at"), "received_at"),
            issued_on=_req(_date(data, "issued_on"), "issued_on"),
            first_responder=PersonRef.from_dict(_map(data, "first_responder")),
            complaint_hotline=_str(data, "complaint_hotline"),
            window_code=_str(data, "window_code"),
            legal_days=_opt_int(data, "legal_days"),
            promised_days=_opt_int(data, "promised_days"),
            promised_date=_date(data, "promised_date"),
            promised_provisional=_bool(data, "promised_provisional"),
            legal_date=_date(data, "legal_date"),
            legal_provisional=_bool(data, "legal_provisional"),
            counted_from=_date(data, "counted_from"),
            counted_from_note=_str(data, "counted_from_note"),
            materials_received=_materials(data, "materials_received"),
            materials_owed=_materials(data, "materials_owed"),
            supplement_date=_date(data, "supplement_date"),
            supplement_provisional=_bool(data, "supplement_provisional"),
            commitment=_str(data, "commitment"),
            missing_materials=_materials(data, "missing_materials"),
            correction_days=_opt_int(data, "correction_days"),
            correction_deadline=_date(data, "correction_deadline"),
            reasons=_strs(data, "reasons"),
            legal_basis=_str(data, "legal_basis"),
            remedies=_strs(data, "remedies"),
            referral=ReferralTarget.from_dict(referral) if referral else None,
            qr_url=data.get("qr_url") or None,
            remarks=_str(data, "remarks"),
            members=tuple(MemberLine.from_dict(m) for m in data.get("members") or ()),
            outcome=_str(data, "outcome"),
            reprint_at=_datetime(data, "reprint_at"),
        )


@dataclass(frozen=True)
class DutyCard:
    """当班首办负责人公示: the clerk on duty, shown to citizens and printed for the window."""

    hall_name: str
    department_name: str
    window_code: str
    name: str
    title: str
    staff_no: str
    phone: str
    commitments: tuple[str, ...] = ()
    complaint_hotline: str = ""
    on_duty_since: datetime | None = None
    #: PNG or JPEG bytes of the clerk's photo; None prints an empty photo frame
    photo: bytes | None = field(default=None, repr=False)
    reprint_at: datetime | None = None

    doc_type: Literal[DocumentType.DUTY_CARD] = field(default=DocumentType.DUTY_CARD, init=False)

    @property
    def is_reprint(self) -> bool:
        return self.reprint_at is not None

    def as_reprint(self, at: datetime) -> DutyCard:
        return dataclasses.replace(self, reprint_at=at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": CONTENT_SCHEMA,
            "doc_type": str(self.doc_type),
            "hall_name": self.hall_name,
            "department_name": self.department_name,
            "window_code": self.window_code,
            "name": self.name,
            "title": self.title,
            "staff_no": self.staff_no,
            "phone": self.phone,
            "commitments": list(self.commitments),
            "complaint_hotline": self.complaint_hotline,
            "on_duty_since": self.on_duty_since.isoformat() if self.on_duty_since else None,
            "photo": base64.b64encode(self.photo).decode("ascii") if self.photo else None,
            "reprint_at": self.reprint_at.isoformat() if self.reprint_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        _check_schema(data)
        if data.get("doc_type", "duty-card") != "duty-card":
            raise DocumentContentError(f"不是当班首办负责人公示卡：{data.get('doc_type')!r}")
        photo = data.get("photo")
        try:
            photo_bytes = base64.b64decode(photo, validate=True) if photo else None
        except (ValueError, TypeError) as exc:
            raise DocumentContentError("照片数据已损坏（不是 base64 编码）") from exc
        return cls(
            hall_name=_str(data, "hall_name", required=True),
            department_name=_str(data, "department_name", required=True),
            window_code=_str(data, "window_code"),
            name=_str(data, "name", required=True),
            title=_str(data, "title"),
            staff_no=_str(data, "staff_no"),
            phone=_str(data, "phone"),
            commitments=_strs(data, "commitments"),
            complaint_hotline=_str(data, "complaint_hotline"),
            on_duty_since=_datetime(data, "on_duty_since"),
            photo=photo_bytes,
            reprint_at=_datetime(data, "reprint_at"),
        )


Document = Notice | DutyCard


def document_from_dict(data: Mapping[str, Any]) -> Document:
    """Read archived content of any type back (dispatch on ``doc_type``)."""
    if data.get("doc_type") == DocumentType.DUTY_CARD:
        return DutyCard.from_dict(data)
    return Notice.from_dict(data)


# --- joining text into sentences ---------------------------------------------------------
#
# Texts reach a document from people and files (a legal basis from the
# catalog, reasons typed by the clerk) with or without their own end
# punctuation: "…第 78 号）。" and "…第 78 号）" both occur. Every template
# joins them through these helpers, so a sentence ends exactly once and a
# clause never carries a full stop into the middle of a sentence.

#: Marks that end a sentence (ASCII ones as typed on a Latin keyboard).
_ENDS = "。！？…!?."
#: Marks that only pause: at the end of a sentence they are dangling.
_PAUSES = "，、：；,:;"
#: Closing brackets and quotes: a full stop may stand inside them ("……。”").
_CLOSERS = "）)”’》」』】〕]"
_TRAILING = _ENDS + _PAUSES + " \t\r\n\u3000"


def _split_end(text: str) -> tuple[str, str]:
    """(the text without its trailing run of punctuation and spaces, that run)."""
    t = text.strip()
    i = len(t)
    while i > 0 and t[i - 1] in _TRAILING:
        i -= 1
    return t[:i], t[i:]


def clause(text: str) -> str:
    """``text`` to stand inside a sentence: without end or pause marks of its own.

    ``clause("《某法》第八条。") == "《某法》第八条"`` (then "根据…的规定，" reads right).
    """
    return _split_end(text)[0]


def sentence(text: str) -> str:
    """``text`` as one sentence that ends exactly once.

    Its own question or exclamation mark is kept (full-width), an ellipsis
    stays an ellipsis, anything else (none, a comma, a semicolon, a doubled
    full stop, an ASCII full stop) becomes one 。. A text already closed inside
    a quote or bracket ("……。”") is left as it is. Empty text stays empty.
    """
    body, run = _split_end(text)
    if not body:
        return ""
    if len(body) >= 2 and body[-1] in _CLOSERS and body[-2] in "。！？…":
        return body
    if "？" in run or "?" in run:
        return body + "？"
    if "！" in run or "!" in run:
        return body + "！"
    if "…" in run:
        return body + "……"
    return body + "。"


def join_sentences(*parts: str) -> str:
    """Several texts as consecutive sentences (empty ones left out), each ended once."""
    return "".join(filter(None, (sentence(p) for p in parts)))


# --- helpers intake uses to fill the text fields --------------------------------------


def qr_url_for(template: str, case_no: str) -> str:
    """The progress-query / evaluation URL for a case (config printing.qr_url_template)."""
    if "{case_no}" not in template:
        raise ValueError(
            "二维码网址模板中缺少 {case_no}，例如 https://zwfw.example.gov.cn/q?case={case_no}"
        )
    return template.replace("{case_no}", case_no)


def default_remedies(review_body: str, court: str) -> tuple[str, str]:
    """The remedies sentence of a 不予受理决定书 (行政复议法 art. 20, 行政诉讼法 art. 46)."""
    return (
        f"如不服本决定，可以自收到本决定书之日起六十日内向{review_body}申请行政复议；",
        f"或者自收到本决定书之日起六个月内直接向{court}提起行政诉讼。",
    )


def default_commitment(applicant_name: str, supplement_date: date) -> str:
    """The written commitment of a 容缺受理 (先办后补) applicant."""
    return (
        f"申请人{applicant_name}承诺：所提交材料真实、合法、有效，并于"
        f"{supplement_date.year}年{supplement_date.month}月{supplement_date.day}日前补齐"
        "上列容缺材料。逾期未补齐或补齐材料与承诺不符的，同意终止办理，由此产生的责任由本人（单位）承担。"
    )


DEFAULT_COMMITMENTS: tuple[str, ...] = (
    "首问负责：首位接待的工作人员负责到底，不推诿、不敷衍。",
    "一次告知：材料不全的，一次性书面告知需补正的全部内容。",
    "限时办结：在承诺时限内办结，不超期、不拖延。",
    "文明服务：着装规范、亮证上岗、热情礼貌、耐心解答。",
    "廉洁办事：不收受礼品礼金，不吃拿卡要。",
)


# --- samples -------------------------------------------------------------------------

_HALL = "连城县行政服务中心"
_DEPT = "连城县住房和城乡建设局"
_ITEM_CODE = "350825-ZJ-XK-0012"
_ITEM = "建筑工程施工许可证核发（“五合一”）"
_HOTLINE = "0597-12345"
_SAMPLE_QR_TEMPLATE = "https://zwfw.example.gov.cn/q?case={case_no}"
_RESPONDER = PersonRef(
    name="林晓燕", title="窗口首席代表", staff_no="LC-ZJ-0317", phone="0597-8923156"
)
_COMPANY = ApplicantRef(
    name="福建冠豸山建设工程有限公司",
    kind=ApplicantKind.ORGANISATION,
    id_masked="91350825MA31K7XQ5P",
    phone="138****6621",
    agent_name="吴建华",
)
#: exactly 60 characters: long names must wrap, never be clipped
_LONG_COMPANY_NAME = (
    "福建省龙岩市连城县冠豸山文化旅游综合开发建设投资集团有限公司"
    "暨冠豸山生态康养旅游度假区一二期项目建设指挥部联合体牵头单位"
)
_RECEIVED_MATERIALS = (
    MaterialLine("建筑工程施工许可证申请表", "原件", 1, "已收"),
    MaterialLine("建设工程规划许可证", "复印件", 1, "已收"),
    MaterialLine("施工合同（含中标通知书）", "复印件", 1, "已收"),
    MaterialLine("监理合同", "复印件", 1, "已收"),
    MaterialLine("施工图设计文件审查合格书", "复印件", 1, "已收"),
    MaterialLine("建设资金已落实承诺书", "原件", 1, "已收"),
    MaterialLine("工程质量安全监督登记表", "原件", 1, "已收"),
    MaterialLine("农民工工资保证金缴存凭证", "复印件", 1, "已收"),
)
_OWED_MATERIALS = (
    MaterialLine("施工现场安全文明施工措施费支付计划", "原件", 1, "容缺", "正在办理盖章手续"),
    MaterialLine("危险性较大的分部分项工程清单及安全管理措施", "原件", 1, "容缺"),
)
_MISSING_MATERIALS = (
    MaterialLine("施工图设计文件审查合格书", "复印件", 1, "缺少", "未提交"),
    MaterialLine("建设工程规划许可证", "复印件", 1, "不符合要求", "复印件未加盖建设单位公章"),
    MaterialLine(
        "建设资金已落实承诺书",
        "原件",
        1,
        "不符合要求",
        "法定代表人未签字，承诺金额与施工合同价款不一致",
    ),
    MaterialLine("工程质量安全监督登记表", "原件", 1, "缺少", "未提交"),
)
_BUILDINGS = (
    "1#住宅楼",
    "2#住宅楼",
    "3#住宅楼",
    "4#商业楼",
    "5#商业楼",
    "地下车库",
    "幼儿园",
    "配电房",
)
_PER_BUILDING = (
    ("施工图设计文件审查合格书", "复印件", "未提交"),
    ("消防设计审查意见书", "复印件", "审查意见书中的建筑面积与规划许可不一致，请提交更正后的文件"),
    ("人防工程设计审查意见", "复印件", "未提交"),
    ("危险性较大的分部分项工程清单", "原件", "未加盖施工单位公章"),
    ("节能设计审查备案表", "原件", "未提交"),
)


def _status_of(note: str) -> str:
    return "缺少" if note == "未提交" else "不符合要求"


def _long_missing() -> tuple[MaterialLine, ...]:
    lines = [
        MaterialLine(f"{building}{name}", form, 1, _status_of(note), note)
        for building in _BUILDINGS
        for name, form, note in _PER_BUILDING
    ]
    assert len(lines) == 40
    return tuple(lines)


@overload
def sample(
    doc_type: Literal[
        DocumentType.ACCEPTANCE,
        DocumentType.CONDITIONAL,
        DocumentType.ONE_TIME,
        DocumentType.REJECTION,
        DocumentType.REFERRAL,
        DocumentType.HAND_OVER,
    ],
    *,
    long: bool = False,
) -> Notice: ...
@overload
def sample(doc_type: Literal[DocumentType.DUTY_CARD], *, long: bool = False) -> DutyCard: ...
@overload
def sample(doc_type: DocumentType | str, *, long: bool = False) -> Notice | DutyCard: ...
def sample(doc_type: DocumentType | str, *, long: bool = False) -> Notice | DutyCard:
    """A realistic document of the given type, for ``hallapp render --sample`` and tests.

    ``long=True`` gives the stress variant: a 60-character company name, and for
    the one-time notice 40 missing or non-conforming materials (for every type
    the lists and texts are longer), so layouts must wrap and flow.
    """
    kind = DocumentType(doc_type)
    if kind is DocumentType.DUTY_CARD:
        return DutyCard(
            hall_name=_HALL,
            department_name=_DEPT,
            window_code="A03",
            name=_RESPONDER.name,
            title=_RESPONDER.title,
            staff_no=_RESPONDER.staff_no,
            phone=_RESPONDER.phone,
            commitments=DEFAULT_COMMITMENTS * (3 if long else 1),
            complaint_hotline=_HOTLINE,
            on_duty_since=datetime(2026, 11, 20, 8, 30),
        )
    applicant = dataclasses.replace(_COMPANY, name=_LONG_COMPANY_NAME) if long else _COMPANY
    year = 2026
    serial = {
        DocumentType.ACCEPTANCE: 1287,
        DocumentType.CONDITIONAL: 86,
        DocumentType.ONE_TIME: 342,
        DocumentType.REJECTION: 17,
        DocumentType.REFERRAL: 29,
        DocumentType.HAND_OVER: 7,
    }[kind]
    case_no = "LC-A03-20261120-0042"
    base = Notice(
        doc_type=kind,
        doc_no=f"连住建{kind.number_prefix}〔{year}〕{serial}号",
        hall_name=_HALL,
        department_name=_DEPT,
        case_no=case_no,
        applicant=applicant,
        item_code=_ITEM_CODE,
        item_name=_ITEM,
        received_at=datetime(2026, 11, 20, 9, 32),
        issued_on=date(2026, 11, 20),
        first_responder=_RESPONDER,
        complaint_hotline=_HOTLINE,
        window_code="A03",
        qr_url=qr_url_for(_SAMPLE_QR_TEMPLATE, case_no) if kind.has_qr else None,
    )
    received = _RECEIVED_MATERIALS * (5 if long else 1)
    if kind is DocumentType.ACCEPTANCE:
        return dataclasses.replace(
            base,
            legal_days=15,
            promised_days=5,
            promised_date=date(2026, 11, 27),
            legal_date=date(2026, 12, 11),
            materials_received=received,
        )
    if kind is DocumentType.CONDITIONAL:
        supplement = date(2026, 11, 25)
        return dataclasses.replace(
            base,
            legal_days=15,
            promised_days=5,
            promised_date=date(2026, 11, 27),
            legal_date=date(2026, 12, 11),
            materials_received=received[:6] if not long else received,
            materials_owed=_OWED_MATERIALS * (6 if long else 1),
            supplement_date=supplement,
            commitment=default_commitment(applicant.name, supplement),
        )
    if kind is DocumentType.ONE_TIME:
        return dataclasses.replace(
            base,
            missing_materials=_long_missing() if long else _MISSING_MATERIALS,
            correction_days=20,
            correction_deadline=date(2026, 12, 18),
            legal_days=15,
            promised_days=5,
        )
    if kind is DocumentType.HAND_OVER:
        members = (
            MemberLine(
                "企业设立登记（有限责任公司）",
                "连城县市场监督管理局",
                1,
                date(2026, 11, 23),
                "准予许可",
                "核发营业执照",
            ),
            MemberLine(
                "印章刻制备案（新办企业公章）",
                "连城县公安局",
                1,
                date(2026, 11, 23),
                "准予许可",
                "公章、财务专用章、发票专用章各一枚",
            ),
            MemberLine(
                "单位住房公积金缴存登记",
                "龙岩市住房公积金中心连城管理部",
                1,
                date(2026, 11, 23),
                "不予许可",
                "单位未招用职工，暂不具备缴存登记条件；招用职工后可以另行申请",
            ),
        ) * (4 if long else 1)
        return dataclasses.replace(
            base,
            item_code="LC-YJS-001",
            item_name="开办企业一件事",
            members=members,
            outcome=(
                "部分办结：2 个事项准予许可，1 个事项不予许可"
                "（单位住房公积金缴存登记：龙岩市住房公积金中心连城管理部）"
            ),
        )
    if kind is DocumentType.REJECTION:
        reasons: tuple[str, ...] = (
            "申请的工程为投资额 26 万元、建筑面积 210 平方米的附属用房，低于施工许可证办理限额，"
            "依法可以不申请办理施工许可证。",
        )
        if long:
            reasons = reasons * 6
        return dataclasses.replace(
            base,
            reasons=reasons,
            legal_basis=(
                "《建筑工程施工许可管理办法》第二条第二款；"
                "《中华人民共和国行政许可法》第三十二条第一款第（一）项"
            ),
            remedies=default_remedies("连城县人民政府", "连城县人民法院"),
        )
    # REFERRAL
    return dataclasses.replace(
        base,
        item_code="350825-SJ-XK-0003",
        item_name="食品经营许可（餐饮服务）",
        applicant=ApplicantRef(
            name="罗志明" if not long else _LONG_COMPANY_NAME,
            kind=ApplicantKind.PERSON if not long else ApplicantKind.ORGANISATION,
            id_masked="3508**********2310" if not long else "91350825MA8U2D4H10",
            phone="159****3087",
        ),
        reasons=("食品经营许可不属于本部门职责，由县市场监督管理局依法受理。",),
        legal_basis=REFERRAL_BASIS,
        referral=ReferralTarget(
            department="连城县市场监督管理局",
            person="罗晓梅（食品经营许可窗口）",
            phone="0597-8922017",
            address="连城县行政服务中心二楼 B05 窗口",
        ),
    )


# --- JSON reading helpers (strict: a damaged archive says which field) ------------------


def _check_schema(data: Mapping[str, Any]) -> None:
    schema = data.get("schema", CONTENT_SCHEMA)
    if schema != CONTENT_SCHEMA:
        raise DocumentContentError(
            f"文书内容版本 {schema!r} 无法识别（本程序支持版本 {CONTENT_SCHEMA}）"
        )


def _str(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise DocumentContentError(f"文书内容缺少字段 {key}")
        return ""
    if not isinstance(value, str):
        raise DocumentContentError(f"文书内容字段 {key} 应为文本，实际为 {value!r}")
    return value


def _strs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise DocumentContentError(f"文书内容字段 {key} 应为文本列表")
    if not all(isinstance(v, str) for v in value):
        raise DocumentContentError(f"文书内容字段 {key} 应为文本列表")
    return tuple(value)


def _map(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise DocumentContentError(f"文书内容缺少字段 {key}")
    return value


def _materials(data: Mapping[str, Any], key: str) -> tuple[MaterialLine, ...]:
    value: Iterable[Any] = data.get(key) or []
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            raise DocumentContentError(f"文书内容字段 {key} 中的材料格式错误：{item!r}")
        out.append(MaterialLine.from_dict(item))
    return tuple(out)


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise DocumentContentError(f"文书内容字段 {key} 应为 true/false，实际为 {value!r}")
    return value


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise DocumentContentError(f"文书内容字段 {key} 应为整数，实际为 {value!r}")
    return value


def _date(data: Mapping[str, Any], key: str) -> date | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise DocumentContentError(f"文书内容字段 {key} 的日期 {value!r} 无效") from exc


def _datetime(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise DocumentContentError(f"文书内容字段 {key} 的时间 {value!r} 无效") from exc


_E = TypeVar("_E", bound=StrEnum)


def _enum(enum: type[_E], data: Mapping[str, Any], key: str, default: _E | None) -> _E:
    value = data.get(key)
    if value is None:
        if default is None:
            raise DocumentContentError(f"文书内容缺少字段 {key}")
        return default
    try:
        return enum(value)
    except ValueError as exc:
        allowed = "、".join(str(m) for m in enum)
        raise DocumentContentError(
            f"文书内容字段 {key} 的值 {value!r} 无效，可选：{allowed}"
        ) from exc


_T = TypeVar("_T")


def _req(value: _T | None, key: str) -> _T:
    if value is None:
        raise DocumentContentError(f"文书内容缺少字段 {key}")
    return value


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
