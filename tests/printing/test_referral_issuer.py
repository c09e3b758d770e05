"""非本部门职责告知书: issued by the window's department (or the hall for a 综合窗口),
naming the competent department; read back from the printed PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hallapp.printing.render import render_pdf

from hallapp.config import parse_config
from hallapp.intake import (
    Accept,
    ApplicantInput,
    Intake,
    IntakeError,
    MaterialCheck,
    MaterialStatus,
    Outcome,
    Refer,
    Reject,
    lawful_outcomes,
)
from hallapp.models import (
    ApplicantKind,
    Department,
    DepartmentContact,
    ItemKind,
    MaterialRequirement,
    ServiceItem,
)
from hallapp.validation import id_check_char
from hallapp.windows import set_window

from .conftest import pdf_text, squash, write_pdf

MONDAY = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
APPLICANT = ApplicantInput(
    kind=ApplicantKind.PERSON,
    name="陈志明",
    id_number="35082519800101231" + id_check_char("35082519800101231"),
    phone="13905971234",
)
ZJJ = "连城县住房和城乡建设局"
ZRZY = "连城县自然资源局"
HALL = "连城县行政服务中心"


@pytest.fixture
def land_item(store, reference) -> str:
    """An item the catalog puts under 自然资源局, which window A03 (住建局) does not serve."""
    with store.session() as s:
        s.add(Department(code="SCJ", name="连城县市场监督管理局", phone="0597-8922000"))
        s.add(DepartmentContact(department_code="SCJ", name="罗晓梅", phone="0597-8922017"))
        item = ServiceItem(
            code="ZR-001",
            name="建设用地规划许可证核发",
            department_code="ZRZY",
            kind=ItemKind.PROMISED,
            legal_days=20,
            promised_days=5,
        )
        item.materials = [MaterialRequirement(seq=1, name="建设用地规划许可申请表")]
        s.add(item)
    return "ZR-001"


def _intake(store, window: str = "A03") -> Intake:
    config = parse_config({"hall": {"code": "LC", "name": HALL}, "window": {"code": window}})
    return Intake(store, config, clock=lambda: MONDAY)


def test_the_notice_is_issued_by_the_window_not_the_competent_department(
    store, reference, land_item, tmp_path: Path
):
    intake = _intake(store)
    choices = intake.referral_choices(land_item)
    # The catalog names the competent department: it is the default.
    assert choices.issuer_name == ZJJ
    assert choices.default_code == "ZRZY"
    offered = {code for code, _name, _contacts in choices.departments}
    assert offered == {"ZRZY", "SCJ"}  # every department of the directory but the issuer

    case = intake.open_case(reference.clerk_id, land_item, APPLICANT)
    result = intake.decide(
        case.id, reference.clerk_id, Refer("ZRZY", reference.contact_id, "请携带用地批准文件")
    )
    notice = result.notice
    assert notice is not None and notice.referral is not None
    assert notice.department_name == ZJJ
    assert notice.referral.department == ZRZY
    assert notice.department_name != notice.referral.department

    text = pdf_text(write_pdf(tmp_path, render_pdf(notice, "a4")))
    flat = squash(text)
    lines = [squash(line) for line in text.splitlines() if line.strip()]
    # The department line under the hall's name, above the title, is the issuer.
    title_at = lines.index("非本部门职责告知书")
    assert lines[title_at - 1] == ZJJ
    assert f"请你（单位）向{ZRZY}申请办理" in flat
    assert f"有权部门{ZRZY}" in flat
    assert "林晓东" in flat and "0597-8935601" in flat
    # The seal (the last department name on the page) is the issuer's, never the competent one.
    assert flat.rfind(ZJJ) > flat.rfind(f"有权部门{ZRZY}")
    assert flat.count(ZRZY) == 2  # only the sentence and the table name it


def test_a_combined_window_refers_in_the_halls_name(store, reference, land_item, tmp_path):
    with store.session() as s:
        set_window(s, "A01", "工程建设项目审批综合窗口", ["ZJJ", "SCJ"])
    intake = _intake(store, "A01")
    choices = intake.referral_choices(land_item)
    assert choices.issuer_name == HALL
    # The hall issues: every department of the directory may be named.
    assert {code for code, _n, _c in choices.departments} == {"ZJJ", "SCJ", "ZRZY"}
    assert choices.default_code == "ZRZY"
    case = intake.open_case(reference.clerk_id, land_item, APPLICANT)
    notice = intake.decide(case.id, reference.clerk_id, Refer("ZRZY")).notice
    assert notice is not None and notice.department_name == HALL
    flat = squash(pdf_text(write_pdf(tmp_path, render_pdf(notice, "slip"))))
    assert flat.count(HALL) >= 2 and ZJJ not in flat


def test_an_item_of_another_department_can_only_be_referred(store, reference, land_item):
    intake = _intake(store)
    item = intake.item(land_item)
    assert not item.served_here
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    assert lawful_outcomes(item, present) == frozenset({Outcome.REFER})
    case = intake.open_case(reference.clerk_id, land_item, APPLICANT)
    # The case belongs to the window that handles (refers) it, not to 自然资源局.
    with store.session() as s:
        from hallapp.models import Case

        row = s.get(Case, case.id)
        assert row is not None and row.department_code == "ZJJ"
    for decision in (Accept(present), Reject(("不符合条件",), "某法第一条")):
        with pytest.raises(IntakeError, match="请作非本部门职责告知"):
            intake.decide(case.id, reference.clerk_id, decision)


def test_a_referral_to_the_issuing_department_is_refused(store, reference, land_item):
    intake = _intake(store)
    # An own item: no default (the clerk chooses), and the own department is never offered.
    choices = intake.referral_choices(reference.item_code)
    assert choices.default_code is None
    assert "ZJJ" not in {code for code, _n, _c in choices.departments}
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(IntakeError, match="有权部门不能是连城县住房和城乡建设局本身"):
        intake.decide(case.id, reference.clerk_id, Refer("ZJJ"))
