"""The identity documents a person presents at the window, their numbers and masks.

Halls serve more than mainland residents. Each document type has its own
number format; where a check character is published it is verified:

======================  =========================================  ==========================
type                    number                                     check
======================  =========================================  ==========================
居民身份证               18: 6 region, 8 birth date, 3 seq, 1 check  GB 11643 (ISO 7064 MOD 11-2)
港澳台居民居住证         18: 810000 / 820000 / 830000, birth date…   GB 11643, as the ID card
港澳居民来往内地通行证   H or M + 8 digits (+ 2 digits of renewals)  none published
台湾居民来往大陆通行证   8 digits (2015 card); 10 on older permits   none published
外国人永久居留身份证     2023: 18 digits, 9 + 2 province + 3        GB 11643 MOD 11-2
                         nationality (ISO 3166 numeric) + 8 birth
                         + 3 seq + 1 check
                         2004/2017: 15 = 3 letters nationality      7-3-1 weights mod 10
                         (ISO 3166 alpha-3) + 4 place of
                         application + 6 birth (YYMMDD) + 1 seq +
                         1 check
护照                     5–17 letters and digits                    format only (the MRZ check
                                                                   is not part of the number)
======================  =========================================  ==========================

Every number is personal data: it is shown and printed masked
(:func:`mask_document_number`). Pure Python: no Qt.
"""

from __future__ import annotations

import enum
import re
from datetime import date

from hallapp.validation import (
    PROVINCE_CODES,
    RESIDENCE_PERMIT_PREFIXES,
    Check,
    clean_number,
    id_check_char,
    mask_id_number,
    validate_id_number,
)

_EARLIEST_BIRTH = date(1900, 1, 1)
#: The last day the 15-character 外国人永久居留证 was issued: the 18-digit
#: card replaced it from 2023-12-01 (国家移民管理局公告). Its holder was born
#: by then, so a YY that would put the birth after it is of the 1900s.
_LAST_PR15_ISSUE = date(2023, 12, 31)


class IdType(enum.StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    RESIDENCE_PERMIT = "residence_permit"  # 港澳台居民居住证
    FOREIGNER_PR = "foreigner_pr"  # 外国人永久居留身份证
    PASSPORT = "passport"  # 护照

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def hint(self) -> str:
        """What the number looks like, for the field's placeholder."""
        return _HINTS[self]


_LABELS = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    IdType.TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    IdType.RESIDENCE_PERMIT: "港澳台居民居住证",
    IdType.FOREIGNER_PR: "外国人永久居留身份证",
    IdType.PASSPORT: "护照",
}
_HINTS = {
    IdType.RESIDENT_ID: "18 位身份证号码",
    IdType.HK_MACAO_PERMIT: "H 或 M 加 8 位数字，例如 H12345678",
    IdType.TAIWAN_PERMIT: "8 位数字，例如 12345678",
    IdType.RESIDENCE_PERMIT: "18 位，以 810000、820000 或 830000 开头",
    IdType.FOREIGNER_PR: "18 位（以 9 开头）或旧版 15 位（3 个字母开头）",
    IdType.PASSPORT: "护照号码（字母和数字）",
}


def _fail(value: str, reason: str) -> Check:
    return Check(False, value, reason)


def _birth(text: str, label: str, today: date | None) -> str:
    """'' when ``text`` (YYYYMMDD) is a real birth date, else the reason."""
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return f"{label}中的出生日期“{text}”不是真实日期"
    if born > (today or date.today()):
        return f"{label}中的出生日期 {born.isoformat()} 在今天之后"
    if born < _EARLIEST_BIRTH:
        return f"{label}中的出生日期 {born.isoformat()} 早于 1900 年"
    return ""


def _alnum_value(c: str) -> int:
    # ICAO 9303 character values: digits as themselves, A=10 … Z=35.
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def pr15_check_char(body14: str) -> str:
    """The check digit of a 15-character 外国人永久居留证 number (weights 7, 3, 1; mod 10)."""
    if len(body14) != 14 or not body14.isalnum() or not body14.isascii():
        raise ValueError("需要 14 位字母或数字")
    total = sum(_alnum_value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(body14.upper()))
    return str(total % 10)


def validate_residence_permit(value: str, today: date | None = None) -> Check:
    """港澳台居民居住证: a GB 11643 number with the prefix 810000, 820000 or 830000."""
    v = clean_number(value).upper()
    if not v:
        return _fail(v, "居住证号码为空")
    if len(v) != 18:
        return _fail(v, f"港澳台居民居住证号码应为 18 位，实际 {len(v)} 位")
    if v[:6] not in RESIDENCE_PERMIT_PREFIXES:
        return _fail(
            v, "港澳台居民居住证号码应以 810000（香港）、820000（澳门）或 830000（台湾）开头"
        )
    result = validate_id_number(v, today)
    if not result:
        return _fail(v, result.reason.replace("身份证号", "居住证号码"))
    return Check(True, v)


def validate_hk_macao_permit(value: str) -> Check:
    """港澳居民来往内地通行证: H (Hong Kong) or M (Macao), 8 digits, and on the card
    2 more digits counting renewals, which some systems leave out."""
    v = clean_number(value).upper()
    if not v:
        return _fail(v, "通行证号码为空")
    if v[0] not in "HM":
        return _fail(v, "港澳居民来往内地通行证号码以 H（香港居民）或 M（澳门居民）开头")
    if not re.fullmatch(r"[HM]\d{8}(\d{2})?", v):
        return _fail(
            v, "港澳居民来往内地通行证号码应为 H 或 M 加 8 位数字（新版证件可加 2 位换证次数）"
        )
    return Check(True, v)


def validate_taiwan_permit(value: str) -> Check:
    """台湾居民来往大陆通行证: 8 digits since the 2015 card; older permits carry 10
    characters, some with a letter (written in brackets) at the end."""
    v = re.sub(r"[()（）]", "", clean_number(value).upper())
    if not v:
        return _fail(v, "通行证号码为空")
    if re.fullmatch(r"\d{8}", v) or re.fullmatch(r"\d{10}|\d{9}[A-Z]|\d{10}[A-Z]", v):
        return Check(True, v)
    return _fail(v, "台湾居民来往大陆通行证号码应为 8 位数字（旧版证件为 10 位）")


def validate_foreigner_pr(value: str, today: date | None = None) -> Check:
    """外国人永久居留身份证: the 2023 18-digit number or the older 15-character one."""
    v = clean_number(value).upper()
    if not v:
        return _fail(v, "永久居留身份证号码为空")
    if len(v) == 18:
        if not (v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")):
            return _fail(v, "新版永久居留身份证号码前 17 位应为数字，最后一位为数字或 X")
        if v[0] != "9":
            return _fail(v, "新版外国人永久居留身份证号码以 9 开头")
        if v[1:3] not in PROVINCE_CODES:
            return _fail(v, f"第 2–3 位受理地代码“{v[1:3]}”不是有效的省级行政区划代码")
        reason = _birth(v[6:14], "永久居留身份证号码", today)
        if reason:
            return _fail(v, reason)
        if v[17] != id_check_char(v[:17]):
            return _fail(v, "永久居留身份证号码校验位不符，请核对号码是否抄错")
        return Check(True, v)
    if len(v) == 15:
        if not re.fullmatch(r"[A-Z]{3}\d{12}", v):
            return _fail(v, "旧版永久居留证号码应为 3 个字母（国籍代码）加 12 位数字")
        if v[3:5] not in PROVINCE_CODES:
            return _fail(v, f"第 4–7 位受理地代码“{v[3:7]}”无效")
        yy, mm, dd = int(v[7:9]), int(v[9:11]), int(v[11:13])
        # YYMMDD has no century: the holder was born before the card was
        # issued (2004–2023), and so before today too.
        latest = min(today or date.today(), _LAST_PR15_ISSUE)
        century = 2000 if (2000 + yy, mm, dd) <= (latest.year, latest.month, latest.day) else 1900
        reason = _birth(f"{century + yy:04d}{mm:02d}{dd:02d}", "永久居留证号码", today)
        if reason:
            return _fail(v, reason)
        if v[14] != pr15_check_char(v[:14]):
            return _fail(v, "永久居留证号码校验位不符，请核对号码是否抄错")
        return Check(True, v)
    return _fail(v, f"外国人永久居留身份证号码应为 18 位（新版）或 15 位（旧版），实际 {len(v)} 位")


def validate_passport(value: str) -> Check:
    """护照: the format only (5–17 letters and digits, at least one digit)."""
    v = clean_number(value).upper()
    if not v:
        return _fail(v, "护照号码为空")
    if not re.fullmatch(r"[A-Z0-9]{5,17}", v):
        return _fail(v, "护照号码应为 5–17 位字母或数字")
    if not any(c.isdigit() for c in v):
        return _fail(v, "护照号码中应含有数字")
    return Check(True, v)


def validate_document(id_type: IdType | str, value: str, today: date | None = None) -> Check:
    """Check a document number of the given type (the reason names the document)."""
    kind = IdType(id_type)
    if kind is IdType.RESIDENT_ID:
        v = clean_number(value).upper()
        if v[:6] in RESIDENCE_PERMIT_PREFIXES and len(v) == 18:
            # Exactly the permits' prefixes: no 居民身份证 carries them.
            return _fail(v, "这是港澳台居民居住证号码：请将证件类型选为“港澳台居民居住证”")
        if v.startswith("9") and len(v) == 18:
            from hallapp.validation import validate_uscc

            if validate_uscc(v):
                # A company's 统一社会信用代码 typed while the type is still 个人.
                return _fail(v, "这是统一社会信用代码：单位申请请将申请人类型选为“单位”")
            return _fail(v, "以 9 开头的 18 位号码是外国人永久居留身份证：请选择该证件类型")
        return validate_id_number(value, today)
    if kind is IdType.RESIDENCE_PERMIT:
        return validate_residence_permit(value, today)
    if kind is IdType.HK_MACAO_PERMIT:
        return validate_hk_macao_permit(value)
    if kind is IdType.TAIWAN_PERMIT:
        return validate_taiwan_permit(value)
    if kind is IdType.FOREIGNER_PR:
        return validate_foreigner_pr(value, today)
    return validate_passport(value)


def mask_document_number(value: str) -> str:
    """The number as shown on screen and printed: only enough to recognise it.

    18 characters keep their first and last four (as the ID card always
    has), 15–17 their first and last three, shorter ones the first and the
    last two: never half of a number.
    """
    v = clean_number(value).upper()
    if len(v) >= 18:
        return mask_id_number(v)
    if len(v) >= 15:
        return v[:3] + "*" * (len(v) - 6) + v[-3:]
    if len(v) <= 4:
        return "*" * len(v)
    return v[0] + "*" * (len(v) - 3) + v[-2:]
