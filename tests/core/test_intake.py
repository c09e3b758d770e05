"""Intake: only lawful outcomes, every decision a numbered document, the one-time rule."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from hallapp import documents as docs
from hallapp.config import Config
from hallapp.deadlines import DeadlineState
from hallapp.intake import (
    Accept,
    ApplicantInput,
    CaseStatus,
    CompleteInstantly,
    ConditionalAccept,
    Intake,
    IntakeError,
    ItemView,
    MaterialCheck,
    MaterialStatus,
    MaterialView,
    OneTimeNotice,
    Outcome,
    Refer,
    Reject,
    lawful_outcomes,
)
from hallapp.models import (
    AppendOnlyViolation,
    ApplicantKind,
    Case,
    CaseEvent,
    CaseEventKind,
    IssuedDocument,
)
from hallapp.store import Store, sqlite_url
from hallapp.validation import id_check_char

# Monday 28 September 2026, 10:00 in the hall: National Day (1–7 October) and
# its make-up Saturday (10 October) lie inside the promised period.
MONDAY = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)


def person_id(body17: str = "35082519800101231") -> str:
    return body17 + id_check_char(body17)


APPLICANT = ApplicantInput(
    kind=ApplicantKind.PERSON, name="陈志明", id_number=person_id(), phone="13905971234"
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
def intake(store: Store, config: Config, clock: Clock) -> Intake:
    return Intake(store, config, clock=clock)


def checks(ref, **statuses: MaterialStatus) -> tuple[MaterialCheck, ...]:
    """All required materials present, except those named (by their name)."""
    out = []
    for name, rid in ref.materials.items():
        status = statuses.get(name, MaterialStatus.PRESENT)
        note = "缺少项目负责人签字" if status is MaterialStatus.NON_CONFORMING else ""
        out.append(MaterialCheck(rid, status, note))
    return tuple(out)


def test_accept_issues_numbered_notice_with_promised_date_across_national_day(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    assert case.status is CaseStatus.RECEIVED
    assert case.case_no == "LCA03202609280001"
    assert case.applicant_id_masked == "3508**********" + person_id()[-4:]
    assert case.first_responder_name == "张丽华"

    result = intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))

    assert result.case.status is CaseStatus.ACCEPTED
    # 8 working days after Monday 28 Sep 2026: 29, 30 Sep, 8, 9, 10 (make-up
    # Saturday), 12, 13, 14 Oct.
    assert str(result.case.promised_date) == "2026-10-14"
    assert str(result.case.legal_date) == "2026-10-30"
    assert not result.case.provisional
    notice = result.notice
    assert notice is not None
    assert notice.doc_type is docs.DocumentType.ACCEPTANCE
    assert notice.doc_no == "LC受字〔2026〕A03-0001号"
    assert notice.first_responder.name == "张丽华"
    assert notice.applicant.id_masked.startswith("3508****")
    assert notice.qr_url is not None and case.case_no in notice.qr_url
    assert len(notice.materials_received) == 6
    # The archived content is exactly the notice, for reprints.
    assert intake.document(result.document_id) == notice


def test_accept_refused_while_a_required_material_is_missing(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="施工合同"):
        intake.decide(
            case.id,
            reference.clerk_id,
            Accept(checks(reference, 施工合同=MaterialStatus.MISSING)),
        )
    assert intake.case_view(case.id).status is CaseStatus.RECEIVED
    assert intake.case_view(case.id).documents == ()


def test_one_time_notice_lists_every_missing_and_non_conforming_material(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    result = intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(
            checks(
                reference,
                施工合同=MaterialStatus.MISSING,
                建设工程规划许可证=MaterialStatus.NON_CONFORMING,
                安全施工措施资料=MaterialStatus.MISSING,
            )
        ),
    )
    notice = result.notice
    assert notice is not None and notice.doc_type is docs.DocumentType.ONE_TIME
    listed = {m.name: m for m in notice.missing_materials}
    assert set(listed) == {"施工合同", "建设工程规划许可证", "安全施工措施资料"}
    assert listed["建设工程规划许可证"].status == "不符合要求"
    assert listed["建设工程规划许可证"].note == "缺少项目负责人签字"
    assert notice.correction_days == 10
    assert str(notice.correction_deadline) == "2026-10-16"
    assert result.case.status is CaseStatus.AWAITING_CORRECTION
    assert result.violations == ()


def test_materials_brought_then_acceptance_restarts_counting(intake, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    with pytest.raises(IntakeError, match="补正"):
        intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    clock.now = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # the materials arrive
    assert intake.record_correction(case.id, reference.clerk_id, checks(reference)).status is (
        CaseStatus.RECEIVED
    )
    result = intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    # Counted from the day the materials arrived: 8 working days after 12 Oct.
    assert str(result.case.promised_date) == "2026-10-22"
    assert [d.doc_type for d in result.case.documents] == ["one-time", "acceptance"]


def test_after_correction_the_limits_count_from_the_day_the_materials_arrived(
    intake, reference, clock, tmp_path
):
    # GLOSSARY / 行政许可法 art. 32: counting restarts from the day after the
    # materials arrive, not from the day the clerk gets round to deciding.
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    clock.now = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)  # Friday: the materials arrive
    intake.record_correction(case.id, reference.clerk_id, checks(reference))
    clock.now = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # Monday: the decision
    result = intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    # 8 working days after Friday 9 October (Saturday 10 October is a make-up workday).
    assert str(result.case.promised_date) == "2026-10-20"
    notice = result.notice
    assert notice is not None and str(notice.issued_on) == "2026-10-12"
    assert str(notice.counted_from) == "2026-10-09" and "补正材料收到" in notice.counted_from_note
    # The archived content keeps it, and the printed notice says it.
    assert docs.Notice.from_dict(notice.to_dict()) == notice
    from hallapp.printing.render import render_pdf

    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(render_pdf(notice))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())
    assert "期限起算日" in flat and "2026年10月9日（补正材料收到之日）" in flat
    assert "自2026年10月9日起计算" in flat and "2026年10月20日" in flat


def test_a_decision_past_five_working_days_counts_from_receipt(intake, reference, clock):
    # Received Monday 28 September; its fifth working day after is Saturday
    # 10 October (National Day 1–7 October off, the 10th worked). A decision on
    # the 9th counts from that day; on Monday the 12th (the sixth) the
    # application counts as accepted from receipt.
    on_time = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    late = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    clock.now = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
    first = intake.decide(on_time.id, reference.clerk_id, Accept(checks(reference)))
    assert first.notice is not None and first.notice.counted_from is None
    assert str(first.case.promised_date) == "2026-10-20"
    clock.now = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
    with pytest.raises(IntakeError, match="第三十二条") as refused:
        intake.decide(
            late.id,
            reference.clerk_id,
            OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
        )
    assert "2026-09-28" in str(refused.value) and "6 个工作日" in str(refused.value)
    assert intake.case_view(late.id).status is CaseStatus.RECEIVED  # nothing issued
    second = intake.decide(late.id, reference.clerk_id, Accept(checks(reference)))
    # 8 working days after 28 September.
    assert str(second.case.promised_date) == "2026-10-14"
    assert second.notice is not None and str(second.notice.counted_from) == "2026-09-28"
    assert "视为自收件之日起受理" in second.notice.counted_from_note


def test_a_second_notice_with_new_demands_is_recorded_as_a_violation(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    intake.record_correction(case.id, reference.clerk_id, checks(reference))
    # The clerk now finds fault with a material that was there the first time.
    second = intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 建设工程规划许可证=MaterialStatus.NON_CONFORMING)),
    )
    assert second.violations == ("建设工程规划许可证",)
    assert second.case.one_time_violations == 1
    with intake.store.session() as s:
        kinds = s.scalars(sa.select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert CaseEventKind.ONE_TIME_VIOLATION in kinds


def test_a_new_demand_caused_by_new_materials_is_not_a_violation(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    intake.record_correction(case.id, reference.clerk_id, checks(reference))
    rid = reference.materials["建设工程规划许可证"]
    new_checks = tuple(
        MaterialCheck(
            c.requirement_id,
            MaterialStatus.NON_CONFORMING,
            "新提交的规划许可证变更了建设单位名称",
            new_demand_reason="申请人新提交的合同更换了建设单位，规划许可证需同步变更",
        )
        if c.requirement_id == rid
        else c
        for c in checks(reference)
    )
    second = intake.decide(case.id, reference.clerk_id, OneTimeNotice(new_checks))
    assert second.violations == ()
    assert second.case.one_time_violations == 0


def test_owed_materials_are_never_due_after_the_promised_date(intake, reference):
    # The case cannot be completed while a 容缺 material is owed: a supplement
    # date after the promised date would make the promise one the applicant's
    # lawful delay breaks. Promised here: 8 working days.
    missing = checks(reference, 安全施工措施资料=MaterialStatus.MISSING)
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="最长 8 个工作日"):
        intake.decide(case.id, reference.clerk_id, ConditionalAccept(missing, 10))
    assert intake.case_view(case.id).status is CaseStatus.RECEIVED
    intake.config.values["intake.supplement_days"] = 15  # the hall's default, too long here
    result = intake.decide(case.id, reference.clerk_id, ConditionalAccept(missing))
    assert result.notice is not None
    assert result.notice.supplement_date == result.notice.promised_date == result.case.promised_date
    assert result.case.supplement_date == result.case.promised_date


def test_conditional_acceptance_owes_deferrable_materials_until_brought(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    missing = checks(reference, 安全施工措施资料=MaterialStatus.MISSING)
    assert lawful_outcomes(intake.item(reference.item_code), missing) >= {
        Outcome.CONDITIONAL,
        Outcome.ONE_TIME,
    }
    result = intake.decide(case.id, reference.clerk_id, ConditionalAccept(missing))
    notice = result.notice
    assert notice is not None and notice.doc_type is docs.DocumentType.CONDITIONAL
    assert [m.name for m in notice.materials_owed] == ["安全施工措施资料"]
    # 5 working days: 29, 30 Sep, 8, 9 Oct and the make-up Saturday 10 Oct.
    assert str(notice.supplement_date) == "2026-10-10"
    assert "承诺" in notice.commitment and "陈志明" in notice.commitment
    assert result.case.status is CaseStatus.CONDITIONALLY_ACCEPTED
    assert result.case.owed_materials == ("安全施工措施资料",)
    with pytest.raises(IntakeError, match="容缺材料尚未补齐"):
        intake.complete(case.id, reference.clerk_id)
    view = intake.record_deferred_materials(case.id, reference.clerk_id)
    assert view.status is CaseStatus.ACCEPTED and view.owed_materials == ()
    assert intake.complete(case.id, reference.clerk_id).status is CaseStatus.COMPLETED


def test_a_main_material_cannot_be_deferred(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="施工合同"):
        intake.decide(
            case.id,
            reference.clerk_id,
            ConditionalAccept(checks(reference, 施工合同=MaterialStatus.MISSING)),
        )


def test_rejection_needs_reasons_and_tells_the_remedies(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="理由"):
        intake.decide(case.id, reference.clerk_id, Reject(reasons=(" ",), legal_basis="x"))
    result = intake.decide(
        case.id,
        reference.clerk_id,
        Reject(
            reasons=("申请的工程位于生态保护红线内，依法不得建设",),
            legal_basis="《中华人民共和国城乡规划法》第四十条",
        ),
    )
    notice = result.notice
    assert notice is not None and notice.doc_type is docs.DocumentType.REJECTION
    assert notice.reasons == ("申请的工程位于生态保护红线内，依法不得建设",)
    remedies = "".join(notice.remedies)
    assert "六十日内" in remedies and "行政复议" in remedies
    assert "六个月内" in remedies and "行政诉讼" in remedies
    assert result.case.status is CaseStatus.REJECTED and result.case.status.closed


def test_referral_names_department_person_and_phone(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    result = intake.decide(
        case.id,
        reference.clerk_id,
        Refer(
            department_code=reference.other_department,
            contact_id=reference.contact_id,
            note="申请人所办为建设用地规划许可，属自然资源部门职责",
        ),
    )
    notice = result.notice
    assert notice is not None and notice.referral is not None
    assert notice.referral.department == "连城县自然资源局"
    assert "林晓东" in notice.referral.person
    assert notice.referral.phone == "0597-8935601"
    assert result.case.status is CaseStatus.REFERRED


def test_an_own_matter_is_not_sent_elsewhere_without_a_written_reason(intake, reference):
    # Seed 003 §四.3: no "不归我管" for one's own duties. The window's own item
    # may only be referred when the case is not its department's after all,
    # and the notice then names the person who will handle it.
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="是本窗口办理的事项"):
        intake.decide(case.id, reference.clerk_id, Refer(reference.other_department))
    assert intake.case_view(case.id).status is CaseStatus.RECEIVED
    result = intake.decide(
        case.id, reference.clerk_id, Refer(reference.other_department, note="属省级审批权限")
    )
    assert result.notice is not None and result.notice.referral is not None
    # No contact chosen: the department's first, a person, not only a phone.
    assert "林晓东" in result.notice.referral.person


def test_instant_item_is_completed_on_the_spot(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.instant_code, APPLICANT)
    item = intake.item(reference.instant_code)
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    assert Outcome.INSTANT in lawful_outcomes(item, present)
    assert Outcome.ACCEPT not in lawful_outcomes(item, present)
    result = intake.decide(case.id, reference.clerk_id, CompleteInstantly(present))
    assert result.case.status is CaseStatus.COMPLETED
    assert result.notice is None
    assert intake.hand_over(case.id, reference.clerk_id).status is CaseStatus.HANDED_OVER


def test_extension_never_passes_the_legal_limit(intake, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    with pytest.raises(IntakeError):
        intake.extend(case.id, reference.clerk_id, 30, "需要现场踏勘", "李局长")
    with pytest.raises(IntakeError, match="理由"):
        intake.extend(case.id, reference.clerk_id, 3, "", "李局长")
    view = intake.extend(case.id, reference.clerk_id, 5, "需要组织专家评审", "李局长")
    assert str(view.promised_date) == "2026-10-21"
    assert view.extensions and "专家评审" in view.extensions[0]


def test_due_soon_and_overdue(intake, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    assert intake.case_view(case.id).deadline_state is DeadlineState.ON_TRACK
    clock.now = datetime(2026, 10, 13, 2, 0, tzinfo=UTC)
    assert intake.case_view(case.id).deadline_state is DeadlineState.DUE_SOON
    clock.now = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    assert intake.case_view(case.id).deadline_state is DeadlineState.OVERDUE
    assert [c.case_no for c in intake.window_cases()] == [case.case_no]


def test_reprint_reproduces_the_archived_document_marked(intake, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    result = intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    clock.now = datetime(2026, 10, 20, 1, 30, tzinfo=UTC)
    reprint = intake.reprint(result.document_id, reference.clerk_id)
    assert reprint.reprint_at == clock.now
    assert reprint.as_reprint(None) == result.notice  # type: ignore[arg-type]


def test_issued_documents_and_events_cannot_be_changed(intake, reference):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    result = intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    with pytest.raises(AppendOnlyViolation), intake.store.session() as s:
        doc = s.get(IssuedDocument, result.document_id)
        assert doc is not None
        doc.doc_no = "changed"
    with pytest.raises(AppendOnlyViolation), intake.store.session() as s:
        s.delete(s.get(Case, case.id))
    # Not even raw SQL gets past the database's own triggers.
    with pytest.raises(sa.exc.DatabaseError), intake.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE issued_documents SET doc_no = 'x'"))
    with pytest.raises(sa.exc.DatabaseError), intake.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM case_events"))
    assert intake.case_view(case.id).documents[0].doc_no == result.notice.doc_no


def test_bad_applicant_data_is_refused_with_every_problem(intake, reference):
    bad = ApplicantInput(
        kind=ApplicantKind.PERSON, name="", id_number="350825198001012310", phone="123"
    )
    with pytest.raises(IntakeError) as err:
        intake.open_case(reference.clerk_id, reference.item_code, bad)
    message = str(err.value)
    assert "姓名" in message and "身份证" in message and "电话" in message


def test_case_numbers_are_never_reused_after_a_crash(tmp_path: Path, config: Config):
    db = tmp_path / "w.sqlite3"
    Store.open(sqlite_url(db)).dispose()
    # A process reserves a number, then dies before it writes the case.
    crash = (
        "import os\n"
        "from datetime import date\n"
        "from hallapp.store import Store, sqlite_url\n"
        "from hallapp.numbering import case_number\n"
        f"s = Store.open(sqlite_url({str(db)!r}))\n"
        "print(case_number(s.engine, 'LC', 'A03', date(2026, 9, 28)), flush=True)\n"
        "os._exit(9)\n"
    )
    out = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True)
    assert out.returncode == 9, out.stderr
    assert out.stdout.strip() == "LCA03202609280001"
    from datetime import date

    from hallapp.numbering import case_number

    store = Store.open(sqlite_url(db))
    assert case_number(store.engine, "LC", "A03", date(2026, 9, 28)) == "LCA03202609280002"
    store.dispose()


@pytest.mark.postgres
def test_the_whole_intake_flow_on_postgresql(pg_store, config, clock, reference_factory):
    ref = reference_factory(pg_store)
    intake = Intake(pg_store, config, clock=clock)
    case = intake.open_case(ref.clerk_id, ref.item_code, APPLICANT)
    intake.decide(
        case.id, ref.clerk_id, OneTimeNotice(checks(ref, 施工合同=MaterialStatus.MISSING))
    )
    intake.record_correction(case.id, ref.clerk_id, checks(ref))
    accepted = intake.decide(case.id, ref.clerk_id, Accept(checks(ref)))
    assert str(accepted.case.promised_date) == "2026-10-14"
    assert intake.complete(case.id, ref.clerk_id).status is CaseStatus.COMPLETED
    view = intake.hand_over(case.id, ref.clerk_id)
    assert view.status is CaseStatus.HANDED_OVER
    assert [d.doc_no for d in view.documents] == [
        "LC补字〔2026〕A03-0001号",
        "LC受字〔2026〕A03-0001号",
    ]
    with pytest.raises(sa.exc.DatabaseError), pg_store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE issued_documents SET doc_no = 'x'"))


# ----------------------------------------------------------------- properties

_materials = st.lists(
    st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=12
)  # (required, deferrable)


@given(_materials, st.data())
def test_lawful_outcomes_follow_the_checklist(spec, data):
    materials = tuple(
        MaterialView(f"m{i}", i, f"材料{i}", "原件", 1, req, defer, "")
        for i, (req, defer) in enumerate(spec)
    )
    item = ItemView("X", "事项", "D", "部门", False, 20, 8, "", "", "", "", "", materials)
    statuses = data.draw(
        st.lists(st.sampled_from(MaterialStatus), min_size=len(spec), max_size=len(spec))
    )
    checks_ = tuple(MaterialCheck(m.id, s) for m, s in zip(materials, statuses, strict=True))
    outcomes = lawful_outcomes(item, checks_)
    short = [
        (m, s)
        for m, s in zip(materials, statuses, strict=True)
        if m.required and s is not MaterialStatus.PRESENT
    ]
    assert {Outcome.REJECT, Outcome.REFER} <= outcomes
    assert (Outcome.ACCEPT in outcomes) == (not short)
    assert (Outcome.ONE_TIME in outcomes) == bool(short)
    assert (Outcome.CONDITIONAL in outcomes) == (
        bool(short) and all(m.deferrable and s is MaterialStatus.MISSING for m, s in short)
    )


def test_an_older_case_is_found_by_what_the_applicant_has_at_hand(intake, reference):
    """受理编号 (part), name, phone, the last digits of the ID; nothing else matches."""
    first = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    other = ApplicantInput(
        kind=ApplicantKind.PERSON,
        name="林秀英",
        id_number=person_id("35082519820716004"),
        phone="13800000000",
    )
    second = intake.open_case(reference.clerk_id, reference.item_code, other)

    def found(query: str) -> list[str]:
        return [c.case_no for c in intake.window_cases(include_closed=True, query=query)]

    assert found(first.case_no) == [first.case_no]
    assert found(first.case_no[-4:].lower()) == [first.case_no]  # the tail of the number
    assert found("陈志") == [first.case_no]
    assert found("1234") == [first.case_no]  # the phone's last digits
    assert found(person_id()[-4:]) == [first.case_no]
    assert found(person_id("35082519820716004")[-6:]) == [second.case_no]
    assert found("LCA03") == [second.case_no, first.case_no]  # newest first
    assert found("王") == [] and found("%") == [] and found("99999") == []
    assert len(found("")) == 2  # no query: the latest cases


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("张\u202e三丰", "不可见"),  # a direction override: the paper would read 张 三丰 reversed
        ("张\u200b三", "不可见"),  # a zero-width space
        ("张三\n李四", "换行符"),  # two names on two lines of the notice
        ("张\x85三", "不可见"),  # a C1 control (NEL)
        ("张\ud800三", "不可见"),  # a lone surrogate: no database or PDF can hold it
        ("陈" * 101, "最多 100 字"),
    ],
)
def test_an_applicant_name_that_would_print_otherwise_is_refused(intake, reference, name, expected):
    with pytest.raises(IntakeError, match=expected):
        intake.open_case(
            reference.clerk_id,
            reference.item_code,
            ApplicantInput(
                kind=ApplicantKind.PERSON, name=name, id_number=person_id(), phone="13905971234"
            ),
        )
    with intake.store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_a_notice_prints_no_catalog_remark_that_contradicts_its_decision(intake, reference):
    """The catalog's remarks for the clerk (可容缺…10 个工作日内补交, 免予提交) never
    reach the applicant's notice beside a decision they contradict: a received
    material says nothing, an owed one says the one date of the notice, and a
    demanded one keeps only remarks on how to bring it."""
    from hallapp.models import MaterialRequirement

    notes = {
        "安全施工措施资料": "可容缺受理，申请人书面承诺后于 10 个工作日内补交",
        "建设资金已落实承诺书": "已通过数据共享获取的免予提交",
        "施工合同": "须加盖建设单位公章",
    }
    with intake.store.session() as s:
        for m in s.scalars(sa.select(MaterialRequirement)):
            m.note = notes.get(m.name, m.note)
    accepted = intake.decide(
        intake.open_case(reference.clerk_id, reference.item_code, APPLICANT).id,
        reference.clerk_id,
        Accept(checks(reference)),
    ).notice
    assert accepted is not None and all(not m.note for m in accepted.materials_received)
    owed = intake.decide(
        intake.open_case(reference.clerk_id, reference.item_code, APPLICANT).id,
        reference.clerk_id,
        ConditionalAccept(checks(reference, 安全施工措施资料=MaterialStatus.MISSING)),
    ).notice
    assert owed is not None and owed.supplement_date is not None
    (line,) = owed.materials_owed
    d = owed.supplement_date
    assert line.note == f"{d.year}年{d.month}月{d.day}日前补齐"
    told = intake.decide(
        intake.open_case(reference.clerk_id, reference.item_code, APPLICANT).id,
        reference.clerk_id,
        OneTimeNotice(
            checks(
                reference,
                安全施工措施资料=MaterialStatus.MISSING,
                施工合同=MaterialStatus.MISSING,
            )
        ),
    ).notice
    assert told is not None
    assert {m.name: m.note for m in told.missing_materials} == {
        "施工合同": "须加盖建设单位公章",
        "安全施工措施资料": "",
    }


def test_without_a_configured_query_address_a_notice_has_no_qr_code(store, clock, reference):
    """printing.qr_url_template unset: no code to a made-up address on the
    applicant's notice (the README walker decoded zwfw.example.gov.cn)."""
    from hallapp.config import parse_config

    plain = Intake(store, parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}}),
                   clock=clock)  # fmt: skip
    case = plain.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    notice = plain.decide(case.id, reference.clerk_id, Accept(checks(reference))).notice
    assert notice is not None and notice.qr_url is None
