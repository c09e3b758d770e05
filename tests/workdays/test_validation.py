"""ID numbers (GB 11643), unified social credit codes (GB 32100) and phone numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallapp.validation import (
    PROVINCE_CODES,
    USCC_ALPHABET,
    USCC_AUTHORITIES,
    id_check_char,
    mask_id_number,
    uscc_check_char,
    validate_contact_phone,
    validate_id_number,
    validate_international,
    validate_landline,
    validate_mobile,
    validate_phone,
    validate_uscc,
)

TODAY = date(2026, 11, 22)

# --------------------------------------------------------------------------- #
# 身份证号
# --------------------------------------------------------------------------- #

# 81/82/83 exist only as the residence permits' 810000/820000/830000; 71 not at all.
id_bodies = st.builds(
    lambda province, rest, birth, seq: (
        f"{province}{0 if province in ('81', '82', '83') else rest:04d}"
        f"{birth:%Y%m%d}{seq:03d}"
    ),
    st.sampled_from(sorted(set(PROVINCE_CODES) - {"71"})),
    st.integers(min_value=0, max_value=9999),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.integers(min_value=0, max_value=999),
)


@given(body=id_bodies)
def test_any_body_with_its_check_digit_is_valid(body: str) -> None:
    number = body + id_check_char(body)
    result = validate_id_number(number, today=TODAY)
    assert result.valid, result.reason
    assert result.value == number


@given(body=id_bodies, data=st.data())
def test_a_wrong_check_digit_is_invalid(body: str, data: st.DataObject) -> None:
    right = id_check_char(body)
    wrong = data.draw(st.sampled_from([c for c in "0123456789X" if c != right]))
    result = validate_id_number(body + wrong, today=TODAY)
    assert not result.valid
    assert result.reason == "身份证号校验位不符，请核对号码是否抄错"


@given(body=id_bodies, position=st.integers(min_value=0, max_value=16), data=st.data())
def test_one_mistyped_digit_is_caught(body: str, position: int, data: st.DataObject) -> None:
    # MOD 11-2 detects every single-digit error.
    number = body + id_check_char(body)
    digit = data.draw(st.sampled_from([c for c in "0123456789" if c != number[position]]))
    typo = number[:position] + digit + number[position + 1 :]
    assert not validate_id_number(typo, today=TODAY).valid


def test_the_standard_example() -> None:
    # GB 11643-1999's own example number.
    assert validate_id_number("11010519491231002X").valid
    lower = validate_id_number(" 11010519491231002x ")
    assert lower.valid and lower.value == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "身份证号为空"),
        ("110105491231002", "这是 15 位旧身份证号，请使用 18 位身份证号"),
        ("11010519491231002", "身份证号应为 18 位，实际 17 位"),
        ("1101051949123100X2", "身份证号前 17 位应为数字，最后一位为数字或 X"),
        ("99010519491231002X", "身份证号前两位“99”不是有效的省级行政区划代码"),
        ("110105194902300021", "身份证号中的出生日期“19490230”不是真实日期"),
    ],
)
def test_invalid_id_numbers_have_a_reason(value: str, reason: str) -> None:
    result = validate_id_number(value, today=TODAY)
    assert not result.valid
    assert result.reason == reason
    assert "\n" not in result.reason


def test_birth_date_in_the_future_or_too_early() -> None:
    body = "350102" + "20261123" + "123"
    result = validate_id_number(body + id_check_char(body), today=TODAY)
    assert not result.valid and "在今天之后" in result.reason
    body = "350102" + "18991231" + "123"
    assert "早于 1900" in validate_id_number(body + id_check_char(body), today=TODAY).reason


def test_mask_id_number() -> None:
    assert mask_id_number("350102199001011234") == "3501**********1234"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_id_number("1234") == "****"


@given(body=id_bodies)
def test_mask_hides_the_birth_date(body: str) -> None:
    number = body + id_check_char(body)
    masked = mask_id_number(number)
    assert len(masked) == 18 and masked[4:14] == "*" * 10
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:]


# --------------------------------------------------------------------------- #
# 统一社会信用代码
# --------------------------------------------------------------------------- #

authority_and_type = st.sampled_from(
    sorted((a, t) for a, (_, types) in USCC_AUTHORITIES.items() for t in types)
)
uscc_bodies = st.builds(
    lambda at, province, rest, org: f"{at[0]}{at[1]}{province}{rest:04d}{org}",
    authority_and_type,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(min_value=0, max_value=9999),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@given(body=uscc_bodies)
def test_any_uscc_body_with_its_check_character_is_valid(body: str) -> None:
    code = body + uscc_check_char(body)
    result = validate_uscc(code)
    assert result.valid, result.reason


@given(body=uscc_bodies, data=st.data())
def test_a_wrong_uscc_check_character_is_invalid(body: str, data: st.DataObject) -> None:
    right = uscc_check_char(body)
    wrong = data.draw(st.sampled_from([c for c in USCC_ALPHABET if c != right]))
    result = validate_uscc(body + wrong)
    assert not result.valid
    assert "校验位不符" in result.reason


@pytest.mark.parametrize(
    "code",
    [
        "914403001922038216",  # 华为技术有限公司
        "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    ],
)
def test_real_credit_codes(code: str) -> None:
    assert validate_uscc(code).valid
    assert validate_uscc(code.lower()).value == code


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "统一社会信用代码为空"),
        ("91440300192203821", "统一社会信用代码应为 18 位，实际 17 位"),
        ("9I4403001922038216", "统一社会信用代码含有不允许的字符“I”（不使用 I、O、Z、S、V）"),
        ("91440300192203821S", "统一社会信用代码含有不允许的字符“S”（不使用 I、O、Z、S、V）"),
        ("B14403001922038216", "第 1 位登记管理部门代码“B”无效"),
        ("954403001922038216", "第 2 位机构类别代码“5”不属于工商登记的机构类别"),
        ("919903001922038216", "第 3-8 位登记管理机关行政区划码“990300”无效"),
        ("914403001922038217", "统一社会信用代码校验位不符，请核对代码是否抄错"),
    ],
)
def test_invalid_credit_codes_have_a_reason(value: str, reason: str) -> None:
    result = validate_uscc(value)
    assert not result.valid
    assert result.reason == reason


def test_central_organisations_use_region_100000() -> None:
    body = "11100000" + "000013338"
    assert validate_uscc(body + uscc_check_char(body)).valid


# --------------------------------------------------------------------------- #
# Phones
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("１９９１２３４５６７８", "19912345678"),
    ],
)
def test_mobiles(value: str, normalised: str) -> None:
    result = validate_mobile(value)
    assert result.valid and result.value == normalised


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1381234567", "手机号码应为 11 位，实际 10 位"),
        ("12812345678", "手机号码应以 13-19 开头"),
        ("138abc45678", "手机号码只能包含数字"),
    ],
)
def test_bad_mobiles(value: str, reason: str) -> None:
    assert validate_mobile(value).reason == reason


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("0597-8921234", "0597-8921234"),
        ("0817—5158929", "0817-5158929"),  # the em dash of a printed notice
        ("(0597)89212345", "0597-89212345"),
        ("010-65123456", "010-65123456"),
        ("021 6512 3456", "021-65123456"),
        ("0597-8921234转806", "0597-8921234转806"),
    ],
)
def test_landlines(value: str, normalised: str) -> None:
    result = validate_landline(value)
    assert result.valid, result.reason
    assert result.value == normalised


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("8921234", "固定电话请带区号，例如 0597-5821234"),
        ("010-6512345", "区号 010 的电话号码应为 8 位"),
        ("0597-0921234", "固定电话格式不对，应为区号加 7-8 位号码，例如 0597-5821234"),
    ],
)
def test_bad_landlines(value: str, reason: str) -> None:
    assert validate_landline(value).reason == reason


@pytest.mark.parametrize(
    "value", ["13812345678", "0597-8921234", "12345", "400-820-8820", "110", "95588"]
)
def test_any_phone(value: str) -> None:
    assert validate_phone(value).valid


@pytest.mark.parametrize("value", ["", "123", "1381234567", "0597-12", "abc"])
def test_not_a_phone(value: str) -> None:
    result = validate_phone(value)
    assert not result.valid and result.reason


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        # 区号-号码-分机: the last group is the extension, never glued on.
        ("0597-8921003-1", "0597-8921003转1"),
        ("0597-8921003-123", "0597-8921003转123"),
        ("010-65123456-8001", "010-65123456转8001"),
        ("0597 8921003 分机 5", "0597-8921003转5"),
        ("0597-8921003 ext. 12", "0597-8921003转12"),
        ("０５９７－８９２１００３－１", "0597-8921003转1"),
        # The local number written in groups is still one number.
        ("0591 8765 4321", "0591-87654321"),
        ("0597-892-1003", "0597-8921003"),
        # International form: no trunk 0 after +86.
        ("+86-597-8921003", "0597-8921003"),
        ("0086 10 65123456", "010-65123456"),
        ("86-10-65123456", "010-65123456"),
        ("+86 10 6512 3456", "010-65123456"),
        ("+86 (0)597 8921003", "0597-8921003"),
        ("+86-597-8921003-806", "0597-8921003转806"),
    ],
)
def test_landlines_as_people_write_them(value: str, normalised: str) -> None:
    result = validate_landline(value)
    assert result.valid, result.reason
    assert result.value == normalised
    # The same wherever a phone is checked (projects, surveys, staff, intake).
    assert validate_phone(value).value == normalised
    assert validate_contact_phone(value).value == normalised


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+852 9123 4567", "+85291234567"),
        ("+853 6612 3456", "+85366123456"),
        ("+886 912 345 678", "+886912345678"),
        ("00852 9123-4567", "+85291234567"),
        ("+1 650-253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("＋８５２ ９１２３ ４５６７", "+85291234567"),
    ],
)
def test_numbers_abroad_in_international_form(value: str, e164: str) -> None:
    result = validate_contact_phone(value)
    assert result.valid, result.reason
    assert result.value == e164
    assert validate_phone(value).value == e164


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("+852 123", "不是 +852 地区使用的号码"),
        ("+999 1234567", "境外电话号码格式不对"),
        ("85291234567", "境外号码请以 + 加国家或地区代码填写"),
        ("电话没有", "不是电话号码"),
        ("12345678901234", "手机号码应为 11 位，实际 14 位"),
        ("+852 9123 4567\x1b", "不可见的控制字符"),
        ("+852\u200b9123 4567", "不可见的控制字符"),
    ],
)
def test_contact_phones_refused_say_why(value: str, reason: str) -> None:
    result = validate_contact_phone(value)
    assert not result.valid
    assert reason in result.reason
    assert "只能包含数字" not in result.reason


def test_a_mainland_number_is_not_taken_as_abroad() -> None:
    assert not validate_international("+86 138 0013 8000")
    assert validate_contact_phone("+86 138 0013 8000").value == "13800138000"
    # A short service number is no number to call an applicant back on.
    assert not validate_contact_phone("12345") and validate_phone("12345")
