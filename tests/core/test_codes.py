"""Look-alike identifiers: codes are NFKC-normalised, hidden characters refused.

Item, department and window codes and staff numbers are keys; a code with a
zero-width space or in full-width letters must never become a second key that
looks like the first.
"""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallapp.codes import OUTER_WHITESPACE, CodeError, lookup_code, normalize_code
from hallapp.security import SignInError, authenticate
from hallapp.store import Store

CODE_ALPHABET = string.ascii_letters + string.digits + "-_."
codes = st.text(alphabet=CODE_ALPHABET, min_size=1, max_size=30)

# Every character of the categories a code may not hold that Python knows.
HIDDEN = [
    chr(c)
    for c in range(0x110000)
    if unicodedata.category(chr(c)) in {"Cc", "Cf", "Zs", "Zl", "Zp"}
    # Trimmed at the ends: tested apart.
    and chr(c) not in OUTER_WHITESPACE
]


def _full_width(text: str) -> str:
    # U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E.
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@settings(max_examples=300, deadline=None)
@given(code=codes)
def test_full_width_forms_normalise_to_the_ascii_code(code: str) -> None:
    assert normalize_code(_full_width(code)) == code
    assert lookup_code(_full_width(code)) == code


@settings(max_examples=500, deadline=None)
@given(
    code=codes,
    hidden=st.sampled_from(HIDDEN),
    where=st.integers(min_value=0, max_value=30),
)
def test_a_hidden_character_anywhere_is_refused(code: str, hidden: str, where: int) -> None:
    where = min(where, len(code))
    tainted = code[:where] + hidden + code[where:]
    with pytest.raises(CodeError) as info:
        normalize_code(tainted, what="事项编码")
    message = str(info.value)
    assert message.startswith("事项编码“")
    assert f"U+{ord(hidden):04X}" in message  # what was pasted, not its NFKC form
    assert "请删除这个字符" in message


@settings(max_examples=300, deadline=None)
@given(code=codes, spaces=st.sampled_from(list(OUTER_WHITESPACE)))
def test_spaces_inside_are_refused_outside_trimmed(code: str, spaces: str) -> None:
    assert normalize_code(spaces + code + spaces) == code
    if len(code) > 1:
        with pytest.raises(CodeError, match=f"U\\+{ord(spaces):04X}"):
            normalize_code(code[:1] + spaces + code[1:])


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("LC-ZJJ-001\u200b", "零宽空格"),
        ("\ufeffLC-ZJJ-001", "字节顺序标记（BOM）"),
        ("LC-\u202eZJJ-001", "双向文字控制符"),
        ("LC-ZJJ\u00ad-001", "软连字符"),
        ("LC-ZJJ\u2060-001", "零宽不换行空格"),
    ],
)
def test_the_message_names_the_character(text: str, name: str) -> None:
    with pytest.raises(CodeError, match=name):
        normalize_code(text)


def test_nfkc_examples() -> None:
    assert normalize_code("ＬＣ－ＺＪＪ－００１") == "LC-ZJJ-001"
    assert normalize_code("Ａ０３") == "A03"
    assert normalize_code("①") == "1"


def test_a_full_width_staff_number_signs_in(store: Store, reference: object) -> None:
    with store.session() as s:
        assert authenticate(s, "１００１", "123456").staff_no == "1001"
        assert authenticate(s, " 1001\u3000", "123456").staff_no == "1001"
        # A hidden character finds nobody, with the usual message.
        with pytest.raises(SignInError, match="工号或密码不正确"):
            authenticate(s, "1001\u200b", "123456")
