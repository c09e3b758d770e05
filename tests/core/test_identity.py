"""Applicants as they come: every identity document a hall sees, checked, stored and masked."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallapp.config import parse_config
from hallapp.identity import (
    IdType,
    mask_document_number,
    pr15_check_char,
    validate_document,
)
from hallapp.intake import ApplicantInput, Intake, IntakeError, check_applicant
from hallapp.models import Applicant, ApplicantKind
from hallapp.validation import id_check_char

TODAY = date(2026, 11, 20)
MONDAY = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)

#: Published examples: the 2023 permanent residence card (its adaptation notice)
#: and a 15-character one of the older cards.
PR_2023 = "932682198501010017"
PR_OLD = "KAZ110090123105"


def _gb(body17: str) -> str:
    return body17 + id_check_char(body17)


births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY).map(lambda d: d.strftime("%Y%m%d"))
seqs = st.integers(0, 999).map(lambda n: f"{n:03d}")


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        (IdType.RESIDENT_ID, _gb("35082519800101231")),
        (IdType.RESIDENCE_PERMIT, _gb("81000019940823002")),
        (IdType.RESIDENCE_PERMIT, _gb("82000020010101001")),
        (IdType.RESIDENCE_PERMIT, _gb("83000019751231004")),
        (IdType.HK_MACAO_PERMIT, "H12345678"),
        (IdType.HK_MACAO_PERMIT, "M8765432101"),
        (IdType.TAIWAN_PERMIT, "12345678"),
        (IdType.TAIWAN_PERMIT, "0123456789"),
        (IdType.FOREIGNER_PR, PR_2023),
        (IdType.FOREIGNER_PR, PR_OLD),
        (IdType.PASSPORT, "E12345678"),
        (IdType.PASSPORT, "C01X00T47"),
    ],
)
def test_documents_halls_see_are_accepted(id_type, number):
    result = validate_document(id_type, number, TODAY)
    assert result, result.reason
    # As typed at a counter: lower case, spaces, full-width digits.
    typed = number.lower()[:3] + " " + number[3:].replace("1", "１")
    assert validate_document(id_type, typed, TODAY).value == number


@pytest.mark.parametrize(
    ("id_type", "number", "reason"),
    [
        (IdType.HK_MACAO_PERMIT, "A12345678", "以 H（香港居民）或 M（澳门居民）开头"),
        (IdType.HK_MACAO_PERMIT, "H1234567", "H 或 M 加 8 位数字"),
        (IdType.TAIWAN_PERMIT, "1234567", "8 位数字"),
        (IdType.RESIDENCE_PERMIT, _gb("35082519800101231"), "以 810000（香港）"),
        (IdType.RESIDENCE_PERMIT, "810000199408230020", "校验位不符"),
        (IdType.FOREIGNER_PR, "932682198501010018", "校验位不符"),
        (IdType.FOREIGNER_PR, "832682198501010017", "以 9 开头"),
        (IdType.FOREIGNER_PR, "KAZ110090123106", "校验位不符"),
        (IdType.FOREIGNER_PR, "KAZ110090133105", "不是真实日期"),
        (IdType.FOREIGNER_PR, "KA1110090123105", "3 个字母"),
        (IdType.FOREIGNER_PR, "ABC123", "18 位（新版）或 15 位（旧版）"),
        (IdType.PASSPORT, "ABCDEFG", "应含有数字"),
        (IdType.PASSPORT, "E123", "5–17 位字母或数字"),
    ],
)
def test_wrong_numbers_say_why(id_type, number, reason):
    result = validate_document(id_type, number, TODAY)
    assert not result
    assert reason in result.reason


def test_a_permit_number_typed_as_an_id_card_names_the_right_type():
    permit = _gb("81000019940823002")
    assert "港澳台居民居住证" in validate_document(IdType.RESIDENT_ID, permit, TODAY).reason
    assert "外国人永久居留身份证" in validate_document(IdType.RESIDENT_ID, PR_2023, TODAY).reason


@pytest.mark.parametrize("prefix", ["810100", "830100", "710100", "829999", "710000"])
def test_an_id_card_of_71_81_82_83_other_than_a_permit_is_refused(prefix):
    """Only the residence permits carry 810000/820000/830000; no 居民身份证 is
    issued with 71/81/82/83, whatever its check digit."""
    number = _gb(prefix + "19900101001")
    result = validate_document(IdType.RESIDENT_ID, number, TODAY)
    assert not result
    assert "港澳台居民居住证" in result.reason and prefix in result.reason
    assert not validate_document(IdType.RESIDENCE_PERMIT, number, TODAY)


def test_a_permit_with_a_wrong_check_digit_under_id_card_still_names_the_permit():
    permit = _gb("82000019940823002")
    wrong = permit[:17] + ("0" if permit[17] != "0" else "1")
    assert "港澳台居民居住证" in validate_document(IdType.RESIDENT_ID, wrong, TODAY).reason


@pytest.mark.parametrize("yymmdd", ["261225", "240101", "231130", "050607", "991231", "000229"])
def test_an_old_permanent_residence_card_reads_the_century_before_its_issue(yymmdd):
    """The 15-character card was issued 2004–2023: a holder's YY 26 is 1926,
    never a birth in the future; 05 is a child born in 2005, and 00-02-29 is
    the leap day of 2000 (1900 had none)."""
    body = "USA1100" + yymmdd + "2"
    number = body + pr15_check_char(body)
    result = validate_document(IdType.FOREIGNER_PR, number, date(2026, 12, 3))
    assert result, result.reason


def test_an_old_permanent_residence_card_cannot_be_born_after_today_in_the_2000s():
    body = "USA1100" + "231202" + "2"  # 2023-12-02 read on 2023-12-01 → 1923
    number = body + pr15_check_char(body)
    assert validate_document(IdType.FOREIGNER_PR, number, date(2023, 12, 1))


@given(region=st.sampled_from(["810000", "820000", "830000"]), birth=births, seq=seqs)
def test_residence_permits_follow_gb_11643(region, birth, seq):
    number = _gb(region + birth + seq)
    assert validate_document(IdType.RESIDENCE_PERMIT, number, TODAY)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert not validate_document(IdType.RESIDENCE_PERMIT, wrong, TODAY)


@given(
    province=st.sampled_from(["11", "31", "35", "44", "65"]),
    nationality=st.integers(4, 894).map(lambda n: f"{n:03d}"),
    birth=births,
    seq=seqs,
)
def test_2023_permanent_residence_numbers_carry_the_mod_11_2_check(
    province, nationality, birth, seq
):
    number = _gb("9" + province + nationality + birth + seq)
    assert validate_document(IdType.FOREIGNER_PR, number, TODAY)
    for wrong in {c for c in "0123456789X"} - {number[17]}:
        assert not validate_document(IdType.FOREIGNER_PR, number[:17] + wrong, TODAY)


@given(
    nationality=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    place=st.sampled_from(["1100", "3100", "3501", "4401"]),
    birth=st.dates(min_value=date(1930, 1, 1), max_value=TODAY).map(lambda d: d.strftime("%y%m%d")),
    seq=st.integers(0, 9).map(str),
)
def test_old_permanent_residence_numbers_carry_the_7_3_1_check(nationality, place, birth, seq):
    body = nationality + place + birth + seq
    number = body + pr15_check_char(body)
    assert validate_document(IdType.FOREIGNER_PR, number, TODAY)
    wrong = body + str((int(number[-1]) + 1) % 10)
    assert not validate_document(IdType.FOREIGNER_PR, wrong, TODAY)


@given(
    id_type=st.sampled_from(list(IdType)),
    number=st.text("0123456789ABCDEFGHJKMNPQRSTUVWXYZ", min_size=5, max_size=18),
)
def test_a_mask_never_shows_most_of_a_number(id_type, number):
    masked = mask_document_number(number)
    assert len(masked) == len(number)
    shown = sum(1 for c in masked if c != "*")
    assert shown <= max(3, len(number) // 2)
    assert masked.count("*") >= len(number) - 8


def test_masks_of_each_kind():
    assert mask_document_number("H12345678") == "H******78"
    assert mask_document_number(PR_OLD) == "KAZ*********105"
    assert mask_document_number(PR_2023) == "9326**********0017"
    assert mask_document_number("12345678") == "1*****78"


# ---------------------------------------------------------------- at intake


def _intake(store) -> Intake:
    config = parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}})
    return Intake(store, config, clock=lambda: MONDAY)


def test_the_document_type_is_stored_and_printed_masked(store, reference):
    from hallapp.intake import Reject

    intake = _intake(store)
    applicant = ApplicantInput(
        kind=ApplicantKind.PERSON,
        name="陈家明",
        id_type=IdType.HK_MACAO_PERMIT,
        id_number="h 1234 5678",
        phone="13905971234",
    )
    case = intake.open_case(reference.clerk_id, reference.item_code, applicant)
    assert case.applicant_id_masked == "H******78"
    with store.session() as s:
        row = s.query(Applicant).one()
        assert (row.id_type, row.id_number) == ("hk_macao_permit", "H12345678")
    notice = intake.decide(
        case.id, reference.clerk_id, Reject(("不符合条件。",), "《建筑法》第八条")
    ).notice
    assert notice is not None
    assert notice.applicant.id_masked == "H******78"
    assert notice.applicant.id_label == "港澳居民来往内地通行证号码"
    # The archived content reads back with its label (reprints).
    again = type(notice).from_dict(notice.to_dict())
    assert again.applicant.id_label == "港澳居民来往内地通行证号码"


@pytest.mark.parametrize(
    ("id_type", "number", "phone", "stored"),
    [
        (IdType.HK_MACAO_PERMIT, "H12345678", "+852 9123 4567", "+85291234567"),
        (IdType.HK_MACAO_PERMIT, "M12345678", "+853 6612 3456", "+85366123456"),
        (IdType.TAIWAN_PERMIT, "12345678", "+886 912 345 678", "+886912345678"),
        (IdType.PASSPORT, "E12345678", "+1 650 253 0000", "+16502530000"),
        (IdType.RESIDENT_ID, _gb("35082519800101231"), "0597-8921003-1", "0597-8921003转1"),
    ],
)
def test_an_applicant_gives_his_own_number_and_it_is_stored_as_dialled(
    store, reference, id_type, number, phone, stored
):
    """港澳台 residents and foreigners give their own number (+852 …), and a
    承诺件 needs one; an extension after a dash stays an extension."""
    applicant = ApplicantInput(
        kind=ApplicantKind.PERSON, name="陈大文", id_type=id_type, id_number=number, phone=phone
    )
    assert check_applicant(applicant) == []
    _intake(store).open_case(reference.clerk_id, reference.item_code, applicant)
    with store.session() as s:
        assert s.query(Applicant).one().phone == stored


def test_a_number_abroad_without_its_plus_says_how_to_write_it():
    applicant = ApplicantInput(
        kind=ApplicantKind.PERSON, name="陈大文", id_type=IdType.HK_MACAO_PERMIT,
        id_number="H12345678", phone="85291234567",
    )  # fmt: skip
    (problem,) = check_applicant(applicant)
    assert "联系电话有误" in problem and "+852 9123 4567" in problem
    assert "只能包含数字" not in problem


def test_a_wrong_document_number_is_refused_with_its_name(store, reference):
    intake = _intake(store)
    bad = ApplicantInput(
        kind=ApplicantKind.PERSON,
        name="陈家明",
        id_type=IdType.FOREIGNER_PR,
        id_number="932682198501010018",
        phone="13905971234",
    )
    with pytest.raises(IntakeError, match=r"外国人永久居留身份证号码有误：.*校验位不符"):
        intake.open_case(reference.clerk_id, reference.item_code, bad)


def test_a_phone_is_needed_only_where_the_item_needs_one(store, reference):
    no_phone = ApplicantInput(
        kind=ApplicantKind.PERSON, name="林芳", id_type=IdType.PASSPORT, id_number="E12345678"
    )
    assert check_applicant(no_phone, phone_required=False) == []
    assert check_applicant(no_phone) == ["请填写联系电话，以便通知办理结果"]
    # A wrong number is still refused where none is needed.
    typo = ApplicantInput(
        kind=ApplicantKind.PERSON, name="林芳", id_number=_gb("35082519800101231"), phone="123"
    )
    assert any("联系电话有误" in p for p in check_applicant(typo, phone_required=False))
    intake = _intake(store)
    # 即办件: finished on the spot, nobody needs to call back.
    case = intake.open_case(reference.clerk_id, reference.instant_code, no_phone)
    assert case.applicant_id_masked == "E******78"
    # 承诺件: the result is ready later, the applicant must be reachable.
    with pytest.raises(IntakeError, match="请填写联系电话"):
        intake.open_case(reference.clerk_id, reference.item_code, no_phone)


def test_the_validate_command_checks_any_document(capsys):
    from hallapp.cli import main

    assert main(["validate", "document", "foreigner_pr", PR_OLD]) == 0
    assert capsys.readouterr().out == "有效 外国人永久居留身份证 KAZ*********105\n"
    assert main(["validate", "document", "residence_permit", "810000199408230020"]) == 1
    assert "校验位不符" in capsys.readouterr().out


def test_a_companys_credit_code_under_a_person_says_choose_unit() -> None:
    """A 统一社会信用代码 typed while the applicant is still 个人: the hint points
    to 单位, not to the foreigner's permanent residence card."""
    from hallapp.identity import IdType, validate_document

    check = validate_document(IdType.RESIDENT_ID, "91350825MA31K7XQ5P")
    assert not check and "统一社会信用代码" in check.reason and "单位" in check.reason
