"""Identifiers people type or paste: item codes, department codes, window codes, staff numbers.

A code is a key: two codes that look the same must be the same code. Text
pasted from a web page or a word processor carries characters that look like
nothing (a zero-width space, a byte-order mark, a bidi control) or like an
ordinary letter in another width (全角 ``ＬＣ－ＺＪＪ－００１``). Left in, an
item code with a zero-width space becomes a second item that looks exactly like
the first, and a clerk who types a full-width staff number cannot sign in.

So every code goes through :func:`normalize_code` where it enters: it is put
in Unicode NFKC form (full-width letters, digits and punctuation become
ASCII; ``①`` becomes ``1``), and a code that still holds an invisible, format,
control or space character anywhere is refused with a message naming the
character and its position. The same function is used when a code is looked
up, so what the user types finds what was stored.
"""

from __future__ import annotations

import unicodedata

# Unicode general categories no code may contain: Cc control, Cf format (zero-
# width space/joiners, BOM, bidi controls, soft hyphen), Cs surrogates, Co
# private use, Cn unassigned, and every separator (Zs spaces of every width,
# Zl line, Zp paragraph).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})

# What the user is told the character is, for the ones that actually turn up.
_CHARACTER_NAMES = {
    "\u200b": "零宽空格",
    "\u200c": "零宽不连字",
    "\u200d": "零宽连字",
    "\u2060": "零宽不换行空格",
    "\ufeff": "字节顺序标记（BOM）",
    "\u00ad": "软连字符",
    "\u00a0": "不换行空格",
    "\u3000": "全角空格",
    "\t": "制表符",
    "\n": "换行",
    "\r": "回车",
    " ": "空格",
    **{ch: "双向文字控制符" for ch in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"},
    **{ch: "双向文字控制符" for ch in "\u2066\u2067\u2068\u2069\u061c"},
}


#: What is trimmed from both ends: the whitespace a cell or a text box ends with.
#: Anything else at the ends (a control character, U+200B) is refused.
OUTER_WHITESPACE = " \t\r\n\u3000\u00a0"


class CodeError(ValueError):
    """A code holds a character it cannot hold; the message (Chinese) says which and where."""


def describe_character(ch: str) -> str:
    """``U+200B（零宽空格）``: how a message names an invisible character."""
    name = _CHARACTER_NAMES.get(ch) or unicodedata.name(ch, "").lower() or "不可见字符"
    return f"U+{ord(ch):04X}（{name}）"


def refused_character(text: str) -> tuple[int, str] | None:
    """The first (1-based position, character) no code may hold, or None."""
    for i, ch in enumerate(text, 1):
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return i, ch
    return None


def normalize_code(text: str, *, what: str = "编码") -> str:
    """NFKC form of a code, outer whitespace removed; CodeError on a hidden character.

    ``what`` names the code in the message ("事项编码", "工号" …).
    """
    # Outer whitespace is how a cell or a text box often ends; it is not part
    # of what the user meant. Inner whitespace, and every invisible character
    # wherever it is (str.strip() leaves U+200B and U+FEFF alone), is refused.
    # The original text is checked, so the message names what the user pasted.
    trimmed = text.strip(OUTER_WHITESPACE)
    for checked in (trimmed, unicodedata.normalize("NFKC", trimmed)):
        found = refused_character(checked)
        if found is not None:
            position, ch = found
            raise CodeError(
                f"{what}“{_visible(checked)}”第 {position} 个字符是{_kind(ch)} "
                f"{describe_character(ch)}，这样的编码看起来和别的编码一样却不相同。"
                "请删除这个字符（最好手工重新输入整个编码，不要从网页或文档中复制）"
            )
    return unicodedata.normalize("NFKC", trimmed)


def lookup_code(text: str) -> str:
    """The form to look a typed code up by: NFKC, outer whitespace removed, never refused.

    A look-up that finds nothing is its own answer ("不存在"), so a code with a
    hidden character is not an error here, it just finds nothing.
    """
    return unicodedata.normalize("NFKC", text).strip()


def _kind(ch: str) -> str:
    category = unicodedata.category(ch)
    if category.startswith("Z"):
        return "空白字符"
    if category == "Cc":
        return "控制字符"
    return "不可见的格式字符"


def _visible(text: str) -> str:
    # Show the hidden characters in the message itself, so the user sees where.
    return "".join(
        f"<U+{ord(ch):04X}>" if unicodedata.category(ch) in _REFUSED_CATEGORIES else ch
        for ch in text
    )
