"""Checks for the numbers an applicant gives at the window.

- 身份证号 (GB 11643-1999): 18 characters, ISO 7064 MOD 11-2 check character
  (0-9 or X), a real birth date not in the future, a valid province code.
  The residence permits of Hong Kong, Macao and Taiwan residents (81/82/83)
  follow the same standard and are accepted.
- 统一社会信用代码 (GB 32100-2015): 18 characters of 0-9 and A-Y without
  I O Z S V, a valid registration authority and organisation type, a valid
  province in the region code, and the MOD 31 check character.
- Mainland mobile and landline phone numbers (an extension after a dash is
  read as one), and numbers abroad in international form (E.164).

Each validator returns a :class:`Check` with the normalised value, or a
one-line reason in Chinese. ID numbers are personal data and are shown and
printed masked (:func:`mask_id_number`); credit codes identify organisations
and are public (they are printed on every business licence), so they are not
masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# GB/T 2260 province-level codes; 71 Taiwan, 81 Hong Kong, 82 Macao; 83 is the
# prefix of residence permits for Taiwan residents.
PROVINCE_CODES: dict[str, str] = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾（居住证）",
}  # fmt: skip

#: Prefixes of the residence permits of Hong Kong, Macao and Taiwan residents
#: (国办发〔2018〕81号). 居民身份证 are issued on the GB/T 2260 county of the
#: holder's 户口: never with 71, 81 or 82, and 83 is no GB/T 2260 code at all,
#: so a number of these provinces is an ID card only with exactly this prefix.
RESIDENCE_PERMIT_PREFIXES = {"810000": "香港", "820000": "澳门", "830000": "台湾"}
_PERMIT_ONLY_PROVINCES = frozenset({"71", "81", "82", "83"})

_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 ...
_ID_CHECK = "10X98765432"
_EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class Check:
    """The outcome of a validator: ``value`` normalised, or ``reason`` why not."""

    valid: bool
    value: str
    reason: str = ""

    def __bool__(self) -> bool:
        return self.valid


def _fail(value: str, reason: str) -> Check:
    return Check(False, value, reason)


def _clean(value: str) -> str:
    # People paste numbers with spaces, dashes or full-width digits.
    value = value.strip().translate(_FULLWIDTH)
    return re.sub(r"[\s\-—–－]", "", value)


def clean_number(value: str) -> str:
    """A number as typed, without spaces, dashes or full-width characters."""
    return _clean(value)


_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺｘ＋＃",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZx+#",
)


# --------------------------------------------------------------------------- #
# 身份证号
# --------------------------------------------------------------------------- #


def id_check_char(body17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of 17 digits."""
    if len(body17) != 17 or not body17.isdigit():
        raise ValueError("需要 17 位数字")
    total = sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_id_number(value: str, today: date | None = None) -> Check:
    """Check an 18-digit 居民身份证号码 (GB 11643)."""
    v = _clean(value).upper()
    if not v:
        return _fail(v, "身份证号为空")
    if hidden := hidden_character_problem(v):
        # Pasted with a zero-width space: "实际 19 位" of an 18-digit number puzzles.
        return _fail(v, f"身份证号{hidden}")
    if len(v) == 15 and v.isdigit():
        return _fail(v, "这是 15 位旧身份证号，请使用 18 位身份证号")
    if len(v) != 18:
        return _fail(v, f"身份证号应为 18 位，实际 {len(v)} 位")
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return _fail(v, "身份证号前 17 位应为数字，最后一位为数字或 X")
    if v[:2] not in PROVINCE_CODES:
        return _fail(v, f"身份证号前两位“{v[:2]}”不是有效的省级行政区划代码")
    if v[:2] in _PERMIT_ONLY_PROVINCES and v[:6] not in RESIDENCE_PERMIT_PREFIXES:
        return _fail(
            v,
            f"身份证号前六位“{v[:6]}”无效：以 {v[:2]} 开头的只有港澳台居民居住证"
            "（810000、820000、830000 开头），请核对号码或选择该证件类型",
        )
    try:
        birth = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return _fail(v, f"身份证号中的出生日期“{v[6:14]}”不是真实日期")
    if birth > (today or date.today()):
        return _fail(v, f"身份证号中的出生日期 {birth.isoformat()} 在今天之后")
    if birth < _EARLIEST_BIRTH:
        return _fail(v, f"身份证号中的出生日期 {birth.isoformat()} 早于 1900 年")
    expected = id_check_char(v[:17])
    if v[17] != expected:
        return _fail(v, "身份证号校验位不符，请核对号码是否抄错")
    return Check(True, v)


def id_birth_date(value: str) -> date:
    """The birth date in a valid ID number (ValueError otherwise)."""
    v = _clean(value)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def mask_id_number(value: str) -> str:
    """``350102199001011234`` → ``3501**********1234``: the first and last four kept.

    Anything short enough that eight visible characters would reveal most of it
    is masked completely.
    """
    v = _clean(value).upper()
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


# --------------------------------------------------------------------------- #
# 统一社会信用代码
# --------------------------------------------------------------------------- #

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I O Z S V
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1 3 9 27 19 26 16 17 20 ...

# GB 32100 登记管理部门码 → (部门, {机构类别码: 类别}), with the codes added since 2015.
USCC_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位",
                       "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所",
                       "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构",
                   "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织",
                   "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}  # fmt: skip

# Central-level organisations carry the national code 100000.
_USCC_REGIONS = {**PROVINCE_CODES, "10": "中央"}


def uscc_check_char(body17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    if len(body17) != 17 or any(c not in USCC_ALPHABET for c in body17):
        raise ValueError("需要 17 位代码字符")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> Check:
    """Check an 18-character 统一社会信用代码 (GB 32100)."""
    v = _clean(value).upper()
    if not v:
        return _fail(v, "统一社会信用代码为空")
    if len(v) != 18:
        return _fail(v, f"统一社会信用代码应为 18 位，实际 {len(v)} 位")
    bad = sorted({c for c in v if c not in USCC_ALPHABET})
    if bad:
        return _fail(v, f"统一社会信用代码含有不允许的字符“{''.join(bad)}”（不使用 I、O、Z、S、V）")
    authority = USCC_AUTHORITIES.get(v[0])
    if authority is None:
        return _fail(v, f"第 1 位登记管理部门代码“{v[0]}”无效")
    if v[1] not in authority[1]:
        return _fail(v, f"第 2 位机构类别代码“{v[1]}”不属于{authority[0]}登记的机构类别")
    if not v[2:8].isdigit() or v[2:4] not in _USCC_REGIONS:
        return _fail(v, f"第 3-8 位登记管理机关行政区划码“{v[2:8]}”无效")
    if v[17] != uscc_check_char(v[:17]):
        return _fail(v, "统一社会信用代码校验位不符，请核对代码是否抄错")
    return Check(True, v)


# --------------------------------------------------------------------------- #
# Phone numbers
# --------------------------------------------------------------------------- #

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# Area code 010, 02X or 0XXX (X not 0/1 at the second digit), then a 7-8 digit
# local number not starting with 0 or 1.
_LANDLINE_RE = re.compile(r"^(0(?:10|2\d|[3-9]\d{2}))([2-9]\d{6,7})$")
# An extension named as one: 0597-8921234转806, …分机806, …#806, …ext 806.
_EXTENSION_RE = re.compile(r"^(.*?)\s*(?:转|分机|#|,|，|ext\.?|x)\s*(\d{1,6})$")
# What people put between the groups of a number; a dash also separates the
# extension in the usual 区号-号码-分机, so groups are kept apart until read.
_GROUP_SPLIT_RE = re.compile(r"[\s\-—–－()（）]+")
# 400/800 numbers, the emergency numbers, 1XXXX public service lines (12345
# 政务服务便民热线, 12315, 10086…) and 95XXX/96XXX lines.
_SERVICE_RE = re.compile(r"^(?:400|800)\d{7}$|^1(?:10|19|20|22)$|^1[02]\d{3}$|^9[56]\d{3,4}$")
_ABROAD_HINT = "境外号码请以 + 加国家或地区代码填写，例如 +852 9123 4567"


def _strip_country(v: str) -> str:
    for prefix in ("+86", "0086", "86"):
        if v.startswith(prefix) and len(v) - len(prefix) >= 10:
            return v[len(prefix) :]
    return v


def validate_mobile(value: str) -> Check:
    """A mainland mobile number: 11 digits starting 13-19 (+86 allowed)."""
    v = _strip_country(re.sub(r"[()（）]", "", _clean(value)))
    if not v:
        return _fail(v, "手机号码为空")
    if not v.isdigit():
        return _fail(v, "手机号码只能包含数字")
    if len(v) != 11:
        return _fail(v, f"手机号码应为 11 位，实际 {len(v)} 位")
    if not _MOBILE_RE.match(v):
        return _fail(v, "手机号码应以 13-19 开头")
    return Check(True, v)


def _landline_problem(area: str, number: str) -> str:
    if (area == "010" or area.startswith("02")) and len(number) != 8:
        return f"区号 {area} 的电话号码应为 8 位"
    return ""


def _whole_landline(digits: str) -> tuple[str, str] | None:
    m = _LANDLINE_RE.match(digits)
    if m and not _landline_problem(m.group(1), m.group(2)):
        return m.group(1), m.group(2)
    return None


def _mainland_groups(groups: list[str]) -> list[str]:
    """The groups without a +86 / 0086 / 86 in front, with the trunk 0 that
    the international form leaves out (+86 597 … is 0597 …)."""
    if not groups:
        return groups
    first = groups[0]
    for prefix in ("+86", "0086", "86"):
        if first.startswith(prefix):
            rest = [first[len(prefix) :], *groups[1:]]
            rest = [g for g in rest if g]
            if rest and not rest[0].startswith("0"):
                rest[0] = "0" + rest[0]
            return rest
    return groups


def validate_landline(value: str) -> Check:
    """A landline with its area code, e.g. ``0597-5821234`` or ``010-65123456转123``.

    Also in international form (+86 597 8921234, 0086-10-65123456) and with
    its extension after a dash (0597-8921234-806, the usual 区号-号码-分机):
    a last group that follows a whole number is its extension, never glued
    onto the number (0597-8921003-1 is not 0597-89210031).
    """
    text = value.strip().translate(_FULLWIDTH).lower()
    ext = ""
    if m := _EXTENSION_RE.match(text):
        text, ext = m.group(1), m.group(2)
    groups = _mainland_groups([g for g in _GROUP_SPLIT_RE.split(text) if g])
    v = "".join(groups)
    if not v:
        return _fail(v, "固定电话为空")
    if not all(g.isdigit() for g in groups):
        return _fail(v, "固定电话格式不对，应为区号加 7-8 位号码，例如 0597-5821234")
    if not ext and len(groups) >= 2 and len(groups[-1]) <= 6:
        # The groups are how the number was written: after a whole number
        # (area code and local number) a short group is the extension, even
        # where the digits glued together would make another valid number.
        head = "".join(groups[:-1])
        if _whole_landline(head):
            ext, v = groups[-1], head
    m = _LANDLINE_RE.match(v)
    if not m:
        if v.isdigit() and 7 <= len(v) <= 8 and not v.startswith("0"):
            return _fail(v, "固定电话请带区号，例如 0597-5821234")
        return _fail(v, "固定电话格式不对，应为区号加 7-8 位号码，例如 0597-5821234")
    area, number = m.groups()
    if problem := _landline_problem(area, number):
        return _fail(v, problem)
    normalised = f"{area}-{number}" + (f"转{ext}" if ext else "")
    return Check(True, normalised)


def _abroad(value: str) -> str | None:
    """``value`` as +CC… when it is written in international form with a
    country or region code other than 86, else None."""
    text = value.strip().translate(_FULLWIDTH)
    if text.startswith("00") and not text.startswith("0086"):
        text = "+" + text[2:]
    if not text.startswith("+") or re.sub(r"[\s\-—–－()（）]", "", text).startswith("+86"):
        return None
    return text


def validate_international(value: str) -> Check:
    """A number abroad (香港 +852, 澳门 +853, 台湾 +886, any other +CC), checked
    against the numbering plan of that country or region and normalised to
    E.164 (+85291234567); an extension is kept as 转…"""
    # Imported here: its metadata is only needed for a number abroad, and
    # every CLI command imports this module.
    import phonenumbers

    text = _abroad(value)
    if text is None:
        return _fail(_clean(value), "境外电话请以 + 加国家或地区代码开头，例如 +852 9123 4567")
    shown = _clean(text)
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return _fail(
            shown, "境外电话号码格式不对，应为 + 加国家或地区代码和号码，例如 +852 9123 4567"
        )
    if not phonenumbers.is_valid_number(number):
        code = number.country_code or 0
        if phonenumbers.region_code_for_country_code(code) == "ZZ":
            return _fail(shown, f"“+{code}”不是有效的国家或地区代码")
        return _fail(shown, f"境外电话号码无效：不是 +{code} 地区使用的号码，请核对")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Check(True, e164 + (f"转{number.extension}" if number.extension else ""))


def validate_contact_phone(value: str) -> Check:
    """A number a person is called back on: a mainland mobile or landline, or
    a number abroad in international form (港澳台 residents and foreigners
    give their own). Never a short service number."""
    cleaned = _clean(value)
    if not cleaned:
        return _fail(cleaned, "电话号码为空")
    if hidden := hidden_character_problem(value):
        # phonenumbers would skip an ESC or a zero-width space and accept the rest.
        return _fail(cleaned, f"电话号码{hidden}")
    if _abroad(value) is not None:
        return validate_international(value)
    mobile = validate_mobile(value)
    if mobile:
        return mobile
    landline = validate_landline(value)
    if landline:
        return landline
    digits = re.sub(r"\D", "", cleaned)
    if not digits or (mobile.reason == "手机号码只能包含数字" and not landline.value.isdigit()):
        # Neither reading applies: "只能包含数字" would be wrong for +852 …
        return _fail(cleaned, f"不是电话号码：请填写手机号码或带区号的固定电话（{_ABROAD_HINT}）")
    result = mobile if _strip_country(digits).startswith("1") else landline
    if len(digits) >= 8 and validate_international("+" + digits):
        # 85291234567: a number abroad without its +.
        return _fail(result.value, f"“{value.strip()}”不是内地的电话号码；{_ABROAD_HINT}")
    return result


def validate_phone(value: str) -> Check:
    """Any number a citizen or a department can be called on: mobile, landline,
    a number abroad, 400/800 or a public service number such as 12345."""
    cleaned = _clean(value)
    if not cleaned:
        return _fail(cleaned, "电话号码为空")
    digits = re.sub(r"\D", "", cleaned)
    if _SERVICE_RE.match(digits) and digits == cleaned:
        return Check(True, digits)
    return validate_contact_phone(value)


# --------------------------------------------------------- text people type

# Control characters other than tab and line breaks (pasted from other
# systems: they print as garbage and cannot be written to .xlsx), and the
# invisible format characters — zero-width spaces and joiners, the bidi
# embeddings, overrides and isolates, the BOM — with which a name can be made
# to read differently from what it is (王\u202e五) or two names that look
# alike to differ.
# Also the C1 controls, the line and paragraph separators, and lone
# surrogates (a JSON file's "\ud800"), which no database or PDF can store.
_HIDDEN_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ud800-\udfff]"
)
_LINE_BREAK_RE = re.compile("[\t\n\r]")


def one_line_problem(text: str) -> str:
    """A Chinese reason if a one-line text (a name) holds a hidden character
    or a line break or tab, else ``""``."""
    if _LINE_BREAK_RE.search(text.strip()):
        return "含有换行符或制表符，请写在一行内"
    return hidden_character_problem(text)


def hidden_character_problem(text: str) -> str:
    """A Chinese reason if ``text`` holds an invisible character, else ``""``."""
    if _HIDDEN_RE.search(text):
        return (
            "含有不可见的控制字符或格式字符（如零宽字符、文字方向控制符），"
            "请删除后重新输入这段文字"
        )
    return ""


def visible_text(text: str) -> str:
    """``text`` with each hidden character as U+FFFD: what a terminal is sent
    of a stored value (a row stored before such input was refused), so that
    an ESC sequence in it cannot clear or recolour the screen."""
    return _HIDDEN_RE.sub("\ufffd", text)


# tomllib's messages, in the words of the person who edits the file.
_TOML_PROBLEMS = (
    ("Expected ']' at the end of a table declaration", "表头 [ … ] 缺少右方括号 ]"),
    ("Expected ']' at the end of an array declaration", "列表 [ … ] 缺少右方括号 ]"),
    ("Expected '=' after a key", "键名后面缺少等号 ="),
    ("Invalid value", "值无效（文字要加英文双引号，例如 name = \"连城县行政服务中心\"）"),
    ("Unterminated string", "字符串缺少结尾的英文双引号"),
    ("Cannot overwrite a value", "同一个键重复出现"),
    ("Cannot declare", "同一个表头重复出现"),
    ("Illegal character", "有不允许的字符（例如中文引号或制表符）"),
    ("Invalid statement", "这一行不是“键 = 值”或“[表头]”"),
    ("Invalid initial character for a key part", "键名含有不允许的字符（用字母、数字、下划线）"),
)


def toml_problem(exc: Exception) -> str:
    """A TOML parser error in Chinese: where it is (line, column) and what is
    wrong; the parser's English stays in the log."""
    import re

    text = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)", text)
    place = f"第 {where[1]} 行第 {where[2]} 列附近" if where else "某处"
    if "(at end of document)" in text:
        place = "文件末尾"
    what = next((zh for en, zh in _TOML_PROBLEMS if text.startswith(en)), "不符合 TOML 格式")
    return f"{place}{what}"
