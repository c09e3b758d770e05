"""一窗受理 of a bundle at a 综合窗口, its sub-cases' progress, 催办 and 一窗出件.

The clerk takes ONE intake for the whole bundle: one checklist (the
bundle's merged materials), then one 受理通知书 listing every member item
with its department and limit and the bundle's one promised date, or one
一次性告知书 covering every member at once (seed 000 §七 一窗受理制;
行政许可法 第三十二条). Acceptance fans out (抄告相关) one sub-case per member
department: an ordinary :class:`~hallapp.models.Case` of that department and a
:class:`~hallapp.models.BundleCaseMember` routing it, with its deadline;
they reach the centre in the push and the department's back office there
(:mod:`hallapp.bundles.backoffice`). The decisions come back in the pull.

When every member has decided, the window hands out all results at once
(一窗出件) with one document that states the bundle's outcome; the hand-over
is an encounter evaluated like any other (一次一评, on the lead case).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hallapp import documents as docs
from hallapp import numbering
from hallapp.bundles.catalog import material_key
from hallapp.bundles.state import SubCaseFacts, SubCaseState, is_late, sub_case_facts
from hallapp.identity import validate_document
from hallapp.intake import (
    ApplicantInput,
    Intake,
    IntakeError,
    MaterialStatus,
    applicant_ref,
    check_applicant,
    person_ref,
)
from hallapp.models import (
    Applicant,
    ApplicantKind,
    Bundle,
    BundleCase,
    BundleCaseMember,
    BundleMember,
    Case,
    CaseEvent,
    CaseEventKind,
    IssuedDocument,
    Staff,
)
from hallapp.workdays import add_working_days

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundleCheck:
    """The clerk's finding for one material of the bundle's list (by its id)."""

    material_id: str
    status: MaterialStatus
    note: str = ""


@dataclass(frozen=True)
class MemberView:
    case_id: str
    case_no: str
    item_code: str
    item_name: str
    department_code: str
    department_name: str
    limit_days: int
    deadline: date | None
    state: SubCaseState
    reasons: tuple[str, ...]
    requested: tuple[str, ...]
    urges: int
    late: bool


@dataclass(frozen=True)
class BundleCaseView:
    id: str
    bundle_no: str
    bundle_code: str
    bundle_name: str
    applicant_name: str
    lead_case_id: str
    accepted: bool
    awaiting_correction: bool
    promised_date: date | None
    members: tuple[MemberView, ...]
    violations: tuple[str, ...]  # "部门：材料", the one-time rule broken after the first notice

    @property
    def all_decided(self) -> bool:
        return all(m.state.decided for m in self.members)

    @property
    def handed_over(self) -> bool:
        return all(m.state is SubCaseState.HANDED_OVER for m in self.members)

    @property
    def status_label(self) -> str:
        if self.handed_over:
            return "已出件"
        if self.awaiting_correction:
            return "待补正"
        if not self.accepted:
            return "已收件"
        if self.all_decided:
            return "可出件"
        late = sum(1 for m in self.members if m.late and not m.state.decided)
        return f"并联审批中（{late} 个部门超期）" if late else "并联审批中"


def outcome_text(members: Sequence[MemberView]) -> str:
    """The bundle's outcome in words, for the hand-over document."""
    refused = [m for m in members if m.state is SubCaseState.REFUSED]
    if not refused:
        return f"全部办结：{len(members)} 个事项均准予许可"
    approved = len(members) - len(refused)
    who = "；".join(f"{m.item_name}：{m.department_name}" for m in refused)
    if not approved:
        return f"未能办结：{len(refused)} 个事项均不予许可（{who}）"
    return f"部分办结：{approved} 个事项准予许可，{len(refused)} 个事项不予许可（{who}）"


class BundleDesk:
    """The bundle use cases of one 综合窗口 (built on the window's :class:`Intake`)."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self.store = intake.store
        self.config = intake.config
        self.window_code = intake.window_code

    # -- reading

    def bundles_here(self) -> list[tuple[str, str]]:
        """(code, name) of the active bundles this window may take: a 综合窗口
        serving every member's department (统一收件)."""
        with self.store.read() as s:
            window = self.intake._window(s)
            if not window.combined:
                return []
            out = []
            for b in s.scalars(
                select(Bundle)
                .where(Bundle.active.is_(True))
                .options(selectinload(Bundle.members).selectinload(BundleMember.item))
                .order_by(Bundle.code)
            ):
                if all(window.serves(m.item.department_code) for m in b.members):
                    out.append((b.code, b.name))
            return out

    def _bundle(self, s: Session, code: str) -> Bundle:
        b = s.get(
            Bundle,
            code,
            options=[
                selectinload(Bundle.members).selectinload(BundleMember.item),
                selectinload(Bundle.materials),
            ],
        )
        if b is None or not b.active:
            raise IntakeError(f"一件事 {code} 不存在或已停用，请重新选择")
        return b

    def _bundle_case(self, s: Session, bundle_case_id: str) -> BundleCase:
        bc = s.get(BundleCase, bundle_case_id)
        if bc is None:
            raise IntakeError("找不到该一件事办件，请刷新办件列表")
        return bc

    def _member_cases(self, s: Session, bc: BundleCase, bundle: Bundle) -> list[Case]:
        """The member cases in the bundle's order (RECEIVED events name the bundle)."""
        rows = s.scalars(
            select(Case)
            .join(CaseEvent, CaseEvent.case_id == Case.id)
            .where(CaseEvent.kind == CaseEventKind.RECEIVED)
            .where(Case.applicant_id == bc.applicant_id)
            .options(selectinload(Case.events), selectinload(Case.item))
        ).all()
        mine = [c for c in rows if (c.events[0].data or {}).get("bundle_case_id") == bc.id]
        order = {m.item_code: m.seq for m in bundle.members}
        return sorted(mine, key=lambda c: order.get(c.item_code, 0))

    def view(self, bundle_case_id: str) -> BundleCaseView:
        with self.store.read() as s:
            return self._view(s, self._bundle_case(s, bundle_case_id))

    def _view(self, s: Session, bc: BundleCase) -> BundleCaseView:
        bundle = self._bundle(s, bc.bundle_code)
        cases = self._member_cases(s, bc, bundle)
        routed = {
            m.case_id: m
            for m in s.scalars(
                select(BundleCaseMember).where(BundleCaseMember.bundle_case_id == bc.id)
            )
        }
        limits = {m.item_code: m.promised_days for m in bundle.members}
        today = self.intake.today()
        members = []
        violations: list[str] = []
        for case in cases:
            facts: SubCaseFacts = sub_case_facts(case.events)
            route = routed.get(case.id)
            deadline = facts.deadline(route.deadline) if route else None
            dep = case.item.department
            members.append(
                MemberView(
                    case_id=case.id,
                    case_no=case.case_no,
                    item_code=case.item_code,
                    item_name=case.item.name,
                    department_code=dep.code,
                    department_name=dep.name,
                    limit_days=route.limit_days if route else limits.get(case.item_code, 0),
                    deadline=deadline,
                    state=facts.state,
                    reasons=facts.reasons,
                    requested=facts.requested,
                    urges=facts.urges,
                    late=route is not None and is_late(route.deadline, facts, today),
                )
            )
            for ev in case.events:
                if ev.kind == CaseEventKind.ONE_TIME_VIOLATION:
                    for name in ev.data.get("new_demands", ()):
                        violations.append(f"{ev.data.get('department_name', dep.name)}：{name}")
        lead_events = next((c.events for c in cases if c.id == bc.lead_case_id), [])
        accepted = any(ev.kind == CaseEventKind.ACCEPTED for ev in lead_events)
        waiting = False
        for ev in lead_events:
            if ev.kind == CaseEventKind.SUPPLEMENT_REQUESTED:
                waiting = True
            elif ev.kind in (CaseEventKind.SUPPLEMENT_RECEIVED, CaseEventKind.ACCEPTED):
                waiting = False
        promised = next(
            (
                date.fromisoformat(ev.data["promised_date"])
                for ev in lead_events
                if ev.kind == CaseEventKind.ACCEPTED and "promised_date" in ev.data
            ),
            None,
        )
        applicant = s.get(Applicant, bc.applicant_id)
        return BundleCaseView(
            id=bc.id,
            bundle_no=bc.bundle_no,
            bundle_code=bundle.code,
            bundle_name=bundle.name,
            applicant_name=applicant.name if applicant else "",
            lead_case_id=bc.lead_case_id,
            accepted=accepted,
            awaiting_correction=waiting,
            promised_date=promised,
            members=tuple(members),
            violations=tuple(violations),
        )

    def window_bundle_cases(self, limit: int = 200) -> list[BundleCaseView]:
        """This window's bundle cases, newest first."""
        with self.store.read() as s:
            rows = s.scalars(
                select(BundleCase)
                .where(BundleCase.window_code == self.window_code)
                .order_by(BundleCase.created_at.desc())
                .limit(limit)
            ).all()
            return [self._view(s, bc) for bc in rows]

    # -- 收件

    def open(self, clerk_id: str, bundle_code: str, applicant: ApplicantInput) -> BundleCaseView:
        """收件 for the whole bundle: one applicant, one member case per member item."""
        problems = check_applicant(applicant)
        if problems:
            raise IntakeError("；".join(problems))
        with self.store.read() as s:
            bundle = self._bundle(s, bundle_code)
            window = self.intake._window(s)
            if not window.combined:
                raise IntakeError(
                    f"{self.window_code} 窗口不是综合窗口，不能受理一件事。"
                    "请引导申请人到综合窗口办理"
                )
            missing = [
                m.item.department.name
                for m in bundle.members
                if not window.serves(m.item.department_code)
            ]
            if missing:
                raise IntakeError(
                    f"本窗口未登记为{'、'.join(missing)}收件，不能受理“{bundle.name}”。"
                    "请系统管理员为本综合窗口登记这些部门"
                )
            n_members = len(bundle.members)
        today = self.intake.today()
        hall, engine = self.config.hall_code, self.store.engine
        # Numbers are reserved first (see hallapp.numbering): a crash leaves gaps only.
        numbers = [
            numbering.case_number(engine, hall, self.window_code, today)
            for _ in range(n_members + 1)
        ]
        person = applicant.kind is ApplicantKind.PERSON
        number = validate_document(applicant.id_type, applicant.id_number).value if person else ""
        with self.store.session() as s:
            clerk = self.intake._staff(s, clerk_id)
            bundle = self._bundle(s, bundle_code)
            now = self.intake.clock()
            app = Applicant(
                origin_window=self.window_code,
                created_at=now,
                kind=applicant.kind,
                name=applicant.name.strip(),
                id_number=number or None,
                uscc=applicant.uscc.strip().upper() or None,
                phone=applicant.phone.strip(),
                contact_name=applicant.contact_name.strip(),
            )
            if person:
                app.id_type = str(applicant.id_type)
            s.add(app)
            s.flush()
            cases = []
            for member, case_no in zip(bundle.members, numbers[1:], strict=True):
                case = Case(
                    origin_window=self.window_code,
                    created_at=now,
                    case_no=case_no,
                    item_code=member.item_code,
                    applicant_id=app.id,
                    window_code=self.window_code,
                    department_code=member.item.department_code,
                    first_responder_id=clerk.id,
                    events=[],
                    documents=[],
                )
                s.add(case)
                cases.append(case)
            s.flush()
            lead = next(c for c in cases if c.department_code == bundle.lead_department_code)
            bc = BundleCase(
                origin_window=self.window_code,
                created_at=now,
                bundle_no=f"YJS{numbers[0]}",
                bundle_code=bundle.code,
                applicant_id=app.id,
                window_code=self.window_code,
                lead_case_id=lead.id,
                first_responder_id=clerk.id,
            )
            s.add(bc)
            s.flush()
            for case in cases:
                self.intake._event(
                    s,
                    case,
                    CaseEventKind.RECEIVED,
                    clerk,
                    {
                        "item_code": case.item_code,
                        "bundle_case_id": bc.id,
                        "bundle_no": bc.bundle_no,
                    },
                )
            s.flush()
            log.info(
                "bundle case %s (%s) opened at %s", bc.bundle_no, bundle.code, self.window_code
            )
            return self._view(s, bc)

    # -- the decision at the window

    def decide(
        self, bundle_case_id: str, clerk_id: str, checks: Sequence[BundleCheck]
    ) -> tuple[BundleCaseView, docs.Notice, str]:
        """受理 (every required material present) or 一次性告知 (what is missing, all of it).

        Returns the view, the notice and its document id. A second notice that
        demands a material the first did not is a one-time violation,
        attributed to the departments of the members needing it.
        """
        with self.store.read() as s:
            view = self._view(s, self._bundle_case(s, bundle_case_id))
        if view.accepted:
            raise IntakeError("该一件事已经受理，不能再作受理决定")
        if view.awaiting_correction:
            raise IntakeError("申请人尚未补正材料：请先登记补正材料收到，再作决定")
        with self.store.read() as s:
            bundle = self._bundle(s, view.bundle_code)
            by_id = {m.id: m for m in bundle.materials}
            unknown = [c.material_id for c in checks if c.material_id not in by_id]
            if unknown:
                raise IntakeError("材料清单已更新，请重新打开该一件事的收件清单")
            status = {c.material_id: c for c in checks}
            short = [
                m
                for m in bundle.materials
                if m.required
                and (status.get(m.id) is None or status[m.id].status is not MaterialStatus.PRESENT)
            ]
        doc_type = docs.DocumentType.ONE_TIME if short else docs.DocumentType.ACCEPTANCE
        today = self.intake.today()
        doc_no = numbering.document_number(
            self.store.engine, self.config.hall_code, self.window_code, doc_type, today.year
        )
        with self.store.session() as s:
            bc = self._bundle_case(s, bundle_case_id)
            bundle = self._bundle(s, bc.bundle_code)
            clerk = self.intake._staff(s, clerk_id)
            cases = self._member_cases(s, bc, bundle)
            cal = self.intake.calendar(s)
            deps = {c.id: c.item.department for c in cases}
            members_of = {m.item_code: m for m in bundle.members}
            if short:
                extra = self._one_time(s, cases=cases, clerk=clerk, short=short, status=status)
            else:
                extra = self._accept(
                    s,
                    bc,
                    bundle=bundle,
                    cases=cases,
                    clerk=clerk,
                    today=today,
                    cal=cal,
                    members_of=members_of,
                )
            lead = next(c for c in cases if c.id == bc.lead_case_id)
            member_lines = tuple(
                docs.MemberLine(
                    item_name=c.item.name,
                    department=deps[c.id].name,
                    limit_days=members_of[c.item_code].promised_days,
                    deadline=extra.pop(f"deadline:{c.id}", None),
                )
                for c in cases
            )
            notice = self._notice(
                lead, bundle, doc_type, doc_no=doc_no, members=member_lines, extra=extra
            )
            doc = IssuedDocument(
                origin_window=self.window_code,
                created_at=self.intake.clock(),
                case_id=lead.id,
                doc_type=doc_type.value,
                doc_no=doc_no,
                staff_id=clerk.id,
                content=notice.to_dict(),
            )
            s.add(doc)
            s.flush()
            log.info("bundle case %s: %s %s", bc.bundle_no, doc_type.value, doc_no)
            return self._view(s, bc), notice, doc.id

    def _accept(
        self,
        s: Session,
        bc: BundleCase,
        *,
        bundle: Bundle,
        cases: Sequence[Case],
        clerk: Staff,
        today: date,
        cal: Any,
        members_of: dict[str, BundleMember],
    ) -> dict[str, Any]:
        promised = add_working_days(today, bundle.promised_days, cal)
        legal = add_working_days(today, bundle.legal_days, cal)
        extra: dict[str, Any] = {
            "legal_days": bundle.legal_days,
            "promised_days": bundle.promised_days,
            "promised_date": promised.date,
            "promised_provisional": promised.provisional,
            "legal_date": legal.date,
            "legal_provisional": legal.provisional,
            "materials_received": tuple(
                docs.MaterialLine(m.name, m.form_label, m.copies, "已收")
                for m in _labelled(bundle.materials)
            ),
        }
        for seq, case in enumerate(cases, 1):
            member = members_of[case.item_code]
            due = add_working_days(today, member.promised_days, cal)
            self.intake._event(
                s,
                case,
                CaseEventKind.ACCEPTED,
                clerk,
                {
                    "accepted_on": today.isoformat(),
                    "promised_days": member.promised_days,
                    "legal_days": case.item.legal_days,
                    "promised_date": (
                        promised if case.id == bc.lead_case_id else due
                    ).date.isoformat(),
                    "legal_date": add_working_days(
                        today, case.item.legal_days, cal
                    ).date.isoformat(),
                    "provisional": due.provisional,
                    "bundle_case_id": bc.id,
                    "member_promised_date": due.date.isoformat(),
                },
            )
            # 抄告相关: the sub-case routed to its department, with its deadline.
            s.add(
                BundleCaseMember(
                    origin_window=self.window_code,
                    created_at=self.intake.clock(),
                    bundle_case_id=bc.id,
                    case_id=case.id,
                    seq=seq,
                    item_code=case.item_code,
                    department_code=case.item.department_code,
                    limit_days=member.promised_days,
                    deadline=due.date,
                )
            )
            extra[f"deadline:{case.id}"] = due.date
        return extra

    def _one_time(
        self,
        s: Session,
        *,
        cases: Sequence[Case],
        clerk: Staff,
        short: Sequence[Any],
        status: dict[str, BundleCheck],
    ) -> dict[str, Any]:
        demanded_before: set[str] = set()
        for case in cases:
            for ev in case.events:
                if ev.kind == CaseEventKind.SUPPLEMENT_REQUESTED:
                    demanded_before.update(ev.data.get("demanded_names", ()))
        dep_of_item = {c.item_code: c.item.department for c in cases}
        for case in cases:
            mine = [m for m in short if case.item_code in m.item_codes]
            self.intake._event(
                s,
                case,
                CaseEventKind.SUPPLEMENT_REQUESTED,
                clerk,
                {
                    "demanded": [m.id for m in mine],
                    "demanded_names": [material_key(m.name) for m in mine],
                    "bundle_notice": True,
                },
            )
            if demanded_before:
                new = [m.name for m in mine if material_key(m.name) not in demanded_before]
                if new:
                    dep = dep_of_item[case.item_code]
                    self.intake._event(
                        s,
                        case,
                        CaseEventKind.ONE_TIME_VIOLATION,
                        clerk,
                        {
                            "new_demands": new,
                            "department": dep.code,
                            "department_name": dep.name,
                            "by": "window",
                        },
                    )
        days = int(self.config.get("intake.correction_days"))
        deadline = add_working_days(self.intake.today(), days, self.intake.calendar(s))
        need = {
            m.id: "、".join(dep_of_item[x].name for x in m.item_codes if x in dep_of_item)
            for m in short
        }
        return {
            "missing_materials": tuple(
                docs.MaterialLine(
                    m.name,
                    m.form_label,
                    m.copies,
                    (status[m.id].status.label if m.id in status else MaterialStatus.MISSING.label),
                    "；".join(
                        p
                        for p in (status[m.id].note if m.id in status else "", f"{need[m.id]}需要")
                        if p
                    ),
                )
                for m in _labelled(short)
            ),
            "correction_days": days,
            "correction_deadline": deadline.date,
        }

    def _notice(
        self,
        lead: Case,
        bundle: Bundle,
        doc_type: docs.DocumentType,
        *,
        doc_no: str,
        members: tuple[docs.MemberLine, ...],
        extra: dict[str, Any],
    ) -> docs.Notice:
        template = str(self.config.get("printing.qr_url_template"))  # "": no code
        qr = docs.qr_url_for(template, lead.case_no) if doc_type.has_qr and template else None
        return docs.Notice(
            doc_type=doc_type,
            doc_no=doc_no,
            hall_name=self.config.hall_name,
            # A 综合窗口 issues in the hall's name; the lead department is named in the text.
            department_name=self.config.hall_name,
            case_no=lead.case_no,
            applicant=applicant_ref(lead.applicant),
            item_code=bundle.code,
            item_name=bundle.name,
            received_at=lead.created_at,
            issued_on=self.intake.today(),
            first_responder=person_ref(lead.first_responder),
            complaint_hotline=self.config.complaint_hotline,
            window_code=self.window_code,
            qr_url=qr,
            members=members,
            remarks=f"牵头部门：{bundle.lead_department.name}。申请表：{bundle.form_name}",
            **extra,
        )

    def record_correction(self, bundle_case_id: str, clerk_id: str) -> BundleCaseView:
        """补正材料收到 (for every member): the clerk then decides again."""
        with self.store.session() as s:
            bc = self._bundle_case(s, bundle_case_id)
            if not self._view(s, bc).awaiting_correction:
                raise IntakeError("该一件事没有待补正的材料")
            clerk = self.intake._staff(s, clerk_id)
            for case in self._member_cases(s, bc, self._bundle(s, bc.bundle_code)):
                self.intake._event(s, case, CaseEventKind.SUPPLEMENT_RECEIVED, clerk, {})
            s.flush()
            return self._view(s, bc)

    # -- while the departments work

    def _member(self, s: Session, bc: BundleCase, case_id: str) -> tuple[Case, MemberView]:
        view = self._view(s, bc)
        member = next((m for m in view.members if m.case_id == case_id), None)
        if member is None:
            raise IntakeError("该事项不属于这件一件事，请刷新")
        case = s.get(Case, case_id, options=[selectinload(Case.events)])
        assert case is not None
        return case, member

    def urge(self, bundle_case_id: str, case_id: str, clerk_id: str, note: str) -> BundleCaseView:
        """催办 a department: who (the clerk), when (now), what (the note, the deadline)."""
        text = note.strip()
        if not text:
            raise IntakeError("请写明催办内容（例如“已超过承诺时限，请于今日办结”）")
        if len(text) > 500:
            raise IntakeError(f"催办内容 {len(text)} 字，超过 500 字，请精简")
        with self.store.session() as s:
            bc = self._bundle_case(s, bundle_case_id)
            case, member = self._member(s, bc, case_id)
            if member.state.decided:
                raise IntakeError(f"{member.department_name}已作出决定，无需催办")
            if member.state is SubCaseState.RECEIVED:
                raise IntakeError("该一件事尚未受理，不能催办")
            clerk = self.intake._staff(s, clerk_id)
            today = self.intake.today()
            self.intake._event(
                s,
                case,
                CaseEventKind.URGED,
                clerk,
                {
                    "department": member.department_code,
                    "department_name": member.department_name,
                    "note": text,
                    "deadline": member.deadline.isoformat() if member.deadline else None,
                    "late": member.late,
                    "urged_on": today.isoformat(),
                },
            )
            s.flush()
            log.info(
                "bundle %s: %s urged by %s", bc.bundle_no, member.department_code, clerk.staff_no
            )
            return self._view(s, bc)

    def forward_material(self, bundle_case_id: str, case_id: str, clerk_id: str) -> BundleCaseView:
        """The applicant brought what a department asked for; the window passes it on."""
        with self.store.session() as s:
            bc = self._bundle_case(s, bundle_case_id)
            case, member = self._member(s, bc, case_id)
            if member.state is not SubCaseState.MATERIAL_REQUESTED:
                raise IntakeError(f"{member.department_name}没有待补充的材料")
            clerk = self.intake._staff(s, clerk_id)
            today = self.intake.today()
            restart = add_working_days(today, member.limit_days, self.intake.calendar(s))
            self.intake._event(
                s,
                case,
                CaseEventKind.MATERIAL_FORWARDED,
                clerk,
                {
                    "materials": list(member.requested),
                    "department": member.department_code,
                    "forwarded_on": today.isoformat(),
                    "deadline": restart.date.isoformat(),
                },
            )
            s.flush()
            return self._view(s, bc)

    # -- 一窗出件

    def hand_over(
        self, bundle_case_id: str, clerk_id: str
    ) -> tuple[BundleCaseView, docs.Notice, str]:
        """Every member decided: all results handed out at once, with one document."""
        with self.store.read() as s:
            view = self._view(s, self._bundle_case(s, bundle_case_id))
        if view.handed_over:
            raise IntakeError("该一件事已经出件")
        waiting = [m for m in view.members if not m.state.decided]
        if waiting:
            raise IntakeError(
                "尚有部门未办结，不能出件（一窗出件须全部办结后一次交付）："
                + "、".join(f"{m.department_name}（{m.state.label}）" for m in waiting)
            )
        doc_no = numbering.document_number(
            self.store.engine,
            self.config.hall_code,
            self.window_code,
            docs.DocumentType.HAND_OVER,
            self.intake.today().year,
        )
        with self.store.session() as s:
            bc = self._bundle_case(s, bundle_case_id)
            bundle = self._bundle(s, bc.bundle_code)
            clerk = self.intake._staff(s, clerk_id)
            cases = {c.id: c for c in self._member_cases(s, bc, bundle)}
            outcome = outcome_text(view.members)
            for m in view.members:
                self.intake._event(
                    s,
                    cases[m.case_id],
                    CaseEventKind.HANDED_OVER,
                    clerk,
                    {
                        "method": "in_person",
                        "bundle_case_id": bc.id,
                        "result": m.state.value,
                    },
                )
            lines = tuple(
                docs.MemberLine(
                    m.item_name,
                    m.department_name,
                    m.limit_days,
                    m.deadline,
                    m.state.label,
                    "；".join(m.reasons),
                )
                for m in view.members
            )
            lead = cases[bc.lead_case_id]
            notice = self._notice(
                lead,
                bundle,
                docs.DocumentType.HAND_OVER,
                doc_no=doc_no,
                members=lines,
                extra={"outcome": outcome},
            )
            doc = IssuedDocument(
                origin_window=self.window_code,
                created_at=self.intake.clock(),
                case_id=lead.id,
                doc_type=docs.DocumentType.HAND_OVER.value,
                doc_no=doc_no,
                staff_id=clerk.id,
                content=notice.to_dict(),
            )
            s.add(doc)
            s.flush()
            log.info("bundle case %s handed over: %s", bc.bundle_no, outcome)
            return self._view(s, bc), notice, doc.id


@dataclass(frozen=True)
class _Labelled:
    id: str
    name: str
    form_label: str
    copies: int


def _labelled(materials: Sequence[Any]) -> list[_Labelled]:
    from hallapp.models import MaterialForm

    return [_Labelled(m.id, m.name, MaterialForm(m.form).label, m.copies) for m in materials]


__all__ = ["BundleCaseView", "BundleCheck", "BundleDesk", "MemberView", "outcome_text"]
