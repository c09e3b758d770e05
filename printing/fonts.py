"""Chinese fonts for the documents: found on the system, embedded as TrueType subsets.

A non-embedded CID font (``UnicodeCIDFont('STSong-Light')``) is never used: it
prints as garbage on a machine or printer without the font. Without a usable
TrueType font we stop with a message that says how to install one.

Registering a TTC costs about 0.2 s, so it happens once per process.

One document font draws the text; a character it lacks (the rare characters
of names, CJK Extension A to H, which GB 18030-2022 requires) is drawn from
the first further font that has it (:func:`fallback_candidates`, then any font
fontconfig knows with that character), loaded the first time such a character
comes. Every text path of the documents goes through :func:`fallback_markup`
(paragraphs) or :func:`draw_string` (canvas text). A character no installed
font has prints as :data:`MISSING_MARK` and is reported to whoever renders
inside :func:`collect_unprintable`, so the clerk is told before printing.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import threading
import unicodedata
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
import reportlab
from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTEncoding, TTFError, TTFont, TTFontFace
from reportlab.pdfgen.canvas import Canvas

log = logging.getLogger(__name__)

#: The reportlab name every layout uses for body text and headings.
FONT_NAME = "HallSans"

# Characters every document prints; a font lacking any of them is no use.
_PROBE = "受理通知书补正材料一次性告知不予决定〔〕（）：；，。号年月日印章"


class FontError(RuntimeError):
    """No usable Chinese TrueType font; the message says how to fix it (in Chinese)."""


@dataclass(frozen=True)
class FontSpec:
    path: Path
    subfont_index: int = 0


def _windows_font_dir() -> Path:
    return Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"


def candidate_fonts() -> list[FontSpec]:
    """Known good TrueType CJK fonts, best first, for this platform."""
    return _platform_fonts(
        ("simhei.ttf", "msyh.ttc", "simsun.ttc", "simkai.ttf"),
        (
            "wqy/wqy-microhei.ttc",
            "wqy/wqy-zenhei.ttc",
            "arphic/uming.ttc",
            "arphic/ukai.ttc",
            "droid/DroidSansFallbackFull.ttf",
        ),
    )


def _platform_fonts(windows: Sequence[str], unix: Sequence[str]) -> list[FontSpec]:
    """These font files in this platform's font folders (macOS: its two CJK fonts)."""
    if sys.platform == "win32":
        d = _windows_font_dir()
        return [FontSpec(d / n) for n in windows]
    if sys.platform == "darwin":
        return [
            FontSpec(Path("/System/Library/Fonts/Supplemental/Songti.ttc")),
            FontSpec(Path("/Library/Fonts/Arial Unicode.ttf")),
        ]
    roots = (Path("/usr/share/fonts/truetype"), Path("/usr/local/share/fonts"))
    return [FontSpec(root / name) for root in roots for name in unix]


def _fontconfig_fonts() -> list[FontSpec]:
    """Any other Chinese TrueType font fontconfig knows (CFF/OTF ones are skipped)."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    return [FontSpec(Path(p)) for p in paths if p.lower().endswith((".ttf", ".ttc"))]


def _load(spec: FontSpec, name: str = FONT_NAME, probe: str = _PROBE) -> TTFont:
    font = _load_cached(spec, name)
    if font is None:
        font = TTFont(name, str(spec.path), subfontIndex=spec.subfont_index)
        _store_cached(spec, font)
    missing = [c for c in probe if ord(c) not in font.face.charToGlyph]
    if missing:
        raise TTFError(f"font lacks {''.join(missing)}")
    return font


# --- parsed-font cache ---------------------------------------------------------------
# reportlab parses the whole cmap and metrics of a CJK font in pure Python
# (~0.2-0.4 s for WenQuanYi), which dominated the first document of every
# process. The parsed tables are kept in the user's cache folder, keyed by the
# file's identity and reportlab's version; the font file itself is read again.
# Any problem with the cache falls back to parsing: it is only a speed-up.

_CACHE_ENV = "HALLAPP_FONT_CACHE"  # a folder, or "off"
_NOT_CACHED = ("_ttf_data", "_pdfScale", "makeSubset")  # makeSubset: the subset cache


def _cache_file(spec: FontSpec) -> Path | None:
    setting = os.environ.get(_CACHE_ENV, "")
    if setting == "off":
        return None
    try:
        st = spec.path.stat()
    except OSError:
        return None
    base = Path(setting) if setting else Path(platformdirs.user_cache_dir("HallApp", False))
    key = hashlib.sha256(
        f"{spec.path.resolve()}|{spec.subfont_index}|{st.st_size}|{st.st_mtime_ns}|"
        f"{reportlab.Version}|{sys.version_info[:2]}".encode()
    ).hexdigest()[:24]
    return base / "fonts" / f"{key}.pickle"


def _load_cached(spec: FontSpec, name: str = FONT_NAME) -> TTFont | None:
    path = _cache_file(spec)
    if path is None or not path.is_file():
        return None
    try:
        state = pickle.loads(path.read_bytes())
        face = TTFontFace.__new__(TTFontFace)
        face.__dict__.update(state)
        face._ttf_data = spec.path.read_bytes()  # type: ignore[attr-defined]
        per_em = face.unitsPerEm
        scale = 1000 / per_em
        # reportlab keeps this closure on the face; it cannot be pickled.
        face._pdfScale = _identity if per_em == 1000 else (lambda x: x * scale)  # type: ignore[attr-defined]
        font = TTFont.__new__(TTFont)
        # What TTFont.__init__ does after parsing the file (reportlab 4.x).
        font.fontName = name
        font.face = face
        font.encoding = TTEncoding()
        font.state = weakref.WeakKeyDictionary()
        font._asciiReadable = rl_config.ttfAsciiReadable  # type: ignore[attr-defined]
        font.shapable = True
        return font
    except Exception:  # a damaged or foreign cache must never stop printing
        log.info("font cache %s unusable; parsing the font", path, exc_info=True)
        return None


def _identity(x: float) -> float:
    return x


def _store_cached(spec: FontSpec, font: TTFont) -> None:
    path = _cache_file(spec)
    if path is None:
        return
    state = {k: v for k, v in vars(font.face).items() if k not in _NOT_CACHED}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)  # atomic: a concurrent process sees all or nothing
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        log.info("cannot write font cache %s", path, exc_info=True)


_lock = threading.Lock()
_registered: FontSpec | None = None


def registered_font() -> FontSpec | None:
    return _registered


def register_fonts(font_path: str | None = None) -> FontSpec:
    """Register the document font once per process and return which file it is.

    ``font_path`` (config ``printing.font_path``) wins when given; a TTC path may
    end in ``#N`` to pick its N-th face. Raises :class:`FontError` when nothing
    usable is found. Thread-safe; later calls return the first result.
    """
    with _lock:
        if _registered is not None:
            return _registered
        tried: list[str] = []
        if font_path:
            path, _, index = font_path.partition("#")
            spec = FontSpec(Path(path).expanduser(), int(index) if index.isdigit() else 0)
            try:
                font = _load(spec)
            except (OSError, TTFError, ValueError) as exc:
                log.info("configured font %s unusable: %s", font_path, exc)
                raise FontError(
                    f"配置的字体文件 {font_path} 无法使用（{_why(exc)}）。"
                    "请在配置 [printing] font_path 中指定一个 TrueType 中文字体（.ttf 或 .ttc），"
                    "例如 /usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
                    " 或 C:\\Windows\\Fonts\\simhei.ttf"
                ) from exc
            return _finish(font, spec)
        for spec in [*candidate_fonts(), *_fontconfig_fonts()]:
            if not spec.path.is_file():
                continue
            try:
                font = _load(spec)
            except (OSError, TTFError, ValueError) as exc:
                # Noto CJK (CFF outlines) lands here: reportlab refuses it.
                tried.append(f"{spec.path}: {exc}")
                log.info("font %s skipped: %s", spec.path, exc)
                continue
            return _finish(font, spec)
        log.info("no usable CJK TrueType font; tried: %s", tried or "nothing found")
        raise FontError(_no_font_message())


#: Subsets kept per process; each is the TrueType file of at most 256 glyphs
#: (tens of kB), so this bounds the cache to a few MB.
SUBSET_CACHE_SIZE = 64


class _FlateKeepingSubsets(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's FlateDecode filter, remembering what it made of our font subsets.

    Compressing the two subsets of a notice (~70 kB) is a fifth of a warm
    render; for a subset made before, the same zlib call would give the same
    bytes, so they are reused. Anything else is compressed as before.
    """

    def __init__(self) -> None:
        self.known: dict[bytes, bytes | None] = {}  # subset → its compressed form

    def remember(self, subset: bytes) -> None:
        if len(self.known) >= 2 * SUBSET_CACHE_SIZE:
            self.known.clear()  # rare; a miss only costs one compression
        self.known.setdefault(subset, None)

    def encode(self, text: str | bytes) -> bytes:
        if type(text) is bytes and text in self.known:
            done = self.known.get(text)
            if done is None:
                done = super().encode(text)
                self.known[text] = done
            return done
        return super().encode(text)


_FLATE = _FlateKeepingSubsets()


def _cache_subsets(font: TTFont) -> None:
    """Remember the font subsets made, keyed by the exact characters in them.

    Making a subset walks the font's composite glyphs in Python (several ms per
    subset, two per notice). It is a pure function of the characters, in
    order, so a document whose text repeats (the same kind of notice, a
    reprint, the fixed wording that fills most of the first subset) gets the
    very same bytes back, and so does their compression (see
    :class:`_FlateKeepingSubsets`, installed as reportlab's Flate filter).
    """
    face = font.face
    make = face.makeSubset

    @functools.lru_cache(maxsize=SUBSET_CACHE_SIZE)
    def cached(codes: tuple[int, ...]) -> bytes:
        return bytes(make(list(codes)))

    def make_subset(subset: Sequence[int]) -> bytes:
        data = cached(tuple(subset))
        _FLATE.remember(data)
        return data

    face.makeSubset = make_subset  # type: ignore[method-assign]
    # Font files are compressed through this module attribute (ttfonts reads
    # it for every subset); the filter writes the same FlateDecode stream.
    pdfdoc.PDFZCompress = _FLATE


def _finish(font: TTFont, spec: FontSpec) -> FontSpec:
    global _registered, _main
    _register(font)
    _main = font
    _plan.cache_clear()
    _markup.cache_clear()
    _registered = spec
    log.info("document font: %s (face %d)", spec.path, spec.subfont_index)
    return spec


def _register(font: TTFont) -> None:
    _cache_subsets(font)
    pdfmetrics.registerFont(font)
    # Bold/italic markup in paragraphs maps back to the same face: CJK fonts
    # here have no bold, headings are drawn heavier by the layout instead.
    name = font.fontName
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)


def _why(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    text = str(exc)
    if "postscript outlines" in text.lower() or "cff" in text.lower():
        return "该字体为 OpenType/CFF 格式，不支持嵌入，请改用 TrueType 字体"
    if "lacks" in text:
        return "字体缺少常用汉字"
    return text


def _no_font_message() -> str:
    if sys.platform == "win32":
        fix = (
            f"请确认 {_windows_font_dir()} 中有 黑体 simhei.ttf、微软雅黑 msyh.ttc"
            " 或 宋体 simsun.ttc，"
            "或在配置 [printing] font_path 中指定一个 TrueType 中文字体文件"
        )
    else:
        fix = (
            "请安装文泉驿字体：sudo apt-get install fonts-wqy-microhei，"
            "或在配置 [printing] font_path 中指定一个 TrueType 中文字体文件（.ttf/.ttc）"
        )
    return f"找不到可嵌入的中文 TrueType 字体，无法生成文书。{fix}。"


# --- characters the document font lacks ------------------------------------------------
# WenQuanYi Micro Hei or SimHei cover the common characters, but a name may hold
# a rare one (䶮 U+4DAE of Extension A, 𠈌 U+2020C of Extension B, ...): the
# public-security ID card prints it and GB 18030-2022 requires it, so a notice
# must too. One font with everything does not exist as TrueType (Noto CJK is
# CFF, which reportlab cannot embed), hence a list of further fonts, each
# character drawn from the first that has it: the choice depends only on the
# installed fonts, so the same content still gives the same PDF.

#: Printed where no installed font has the character: the mark Chinese
#: typesetting uses for a missing character (缺字), visible, unlike a blank.
MISSING_MARK = "□"

#: The name fallback fonts are registered under start with this.
FALLBACK_PREFIX = f"{FONT_NAME}-"

_main: TTFont | None = None
_fallback_lock = threading.Lock()
_fallbacks: dict[FontSpec, TTFont | None] = {}  # None: not loadable (CFF, damaged)
_glyph_font: dict[str, str | None] = {}  # character → font drawing it; None: no font has it


def fallback_candidates() -> list[FontSpec]:
    """Fonts for the characters the document font lacks, best first, for this platform.

    Sans fonts like the document font come first; then those covering the
    extensions: BabelStone Han (Chinese glyph forms, Extensions A–H) and
    HanaMin A/B (all of Extensions A–F). Fontconfig is asked for any
    character none of these has (:func:`_fontconfig_fonts_with`).
    """
    return _platform_fonts(
        ("simhei.ttf", "msyh.ttc", "simsun.ttc", "simsunb.ttf", "SimsunExtG.ttf", "mingliub.ttc"),
        (
            "wqy/wqy-microhei.ttc",
            "wqy/wqy-zenhei.ttc",
            "babelstone/BabelStoneHan.ttf",
            "hanazono/HanaMinA.ttf",
            "hanazono/HanaMinB.ttf",
            "arphic/uming.ttc",
            "droid/DroidSansFallbackFull.ttf",
        ),
    )


def _fontconfig_fonts_with(char: str) -> list[FontSpec]:
    """The TrueType fonts fontconfig knows that have ``char`` (e.g. one a hall installed)."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    try:
        out = subprocess.run(
            [fc_list, "--format", "%{file}\\t%{index}\\n", f":charset={ord(char):x}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    specs = set()
    for line in out.splitlines():
        path, _, index = line.partition("\t")
        if path.lower().endswith((".ttf", ".ttc", ".otf")):
            specs.add(FontSpec(Path(path), int(index) if index.isdigit() else 0))
    return sorted(specs, key=lambda s: (str(s.path), s.subfont_index))


def _fallback_specs(char: str) -> Iterator[FontSpec]:
    main = _registered
    seen: set[FontSpec] = set() if main is None else {main}
    for spec in fallback_candidates():
        if spec not in seen and spec.path.is_file():
            seen.add(spec)
            yield spec
    # Only now fontconfig (a process start): most rare characters are found above.
    for spec in _fontconfig_fonts_with(char):
        if spec not in seen:
            seen.add(spec)
            yield spec


def _fallback_font(spec: FontSpec) -> TTFont | None:
    """``spec`` loaded and registered (once); None when it cannot be used."""
    if spec in _fallbacks:
        return _fallbacks[spec]
    stem = re.sub(r"[^A-Za-z0-9]+", "", spec.path.stem) or "font"
    name = f"{FALLBACK_PREFIX}{stem}-{spec.subfont_index}"
    font: TTFont | None
    try:
        font = _load(spec, name, probe="")
    except Exception as exc:  # a broken extra font must never stop printing
        log.info("fallback font %s skipped: %s", spec.path, exc)
        font = None
    else:
        _register(font)
        log.info("fallback font: %s (face %d) as %s", spec.path, spec.subfont_index, name)
    _fallbacks[spec] = font
    return font


def loaded_fallbacks() -> list[FontSpec]:
    """The fallback fonts this process has loaded so far."""
    return [spec for spec, font in _fallbacks.items() if font is not None]


def _font_for(char: str) -> str | None:
    """The registered name of the first fallback font that has ``char``; None: none has it."""
    try:
        return _glyph_font[char]
    except KeyError:
        pass
    with _fallback_lock:
        if char in _glyph_font:
            return _glyph_font[char]
        code = ord(char)
        found: str | None = None
        for spec in _fallback_specs(char):
            font = _fallback_font(spec)
            if font is not None and code in font.face.charToGlyph:
                found = font.fontName
                break
        if found is None:
            log.warning("no installed font has %r (U+%04X): printed as %s", char, code,
                        MISSING_MARK)  # fmt: skip
        _glyph_font[char] = found
        return found


def _invisible(char: str) -> bool:
    """A format character or variation selector: nothing to draw, never a missing glyph."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Cf", "Cc")
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x180B <= code <= 0x180F
    )


Run = tuple[str, str]  # (font name, text)


@functools.lru_cache(maxsize=4096)
def _plan(text: str) -> tuple[tuple[Run, ...], str]:
    """``text`` cut into runs of one font each, and the characters no font has.

    Cached: a document is mostly the same labels and sentences every time.
    """
    main = _main
    if main is None:
        return ((FONT_NAME, text),), ""
    has = main.face.charToGlyph
    if all(ord(c) in has or c.isspace() for c in text):
        return ((FONT_NAME, text),), ""
    runs: list[list[str]] = []  # [font, text]
    missing: list[str] = []
    for char in text:
        drawn, font = char, FONT_NAME
        if ord(char) in has or char.isspace():
            pass
        elif _invisible(char):
            log.info("invisible U+%04X the font lacks left out of the print", ord(char))
            continue
        else:
            found = _font_for(char)
            if found is None:
                if char not in missing:
                    missing.append(char)
                drawn = MISSING_MARK
                found = FONT_NAME if ord(MISSING_MARK) in has else _font_for(MISSING_MARK)
                if found is None:  # not even □ anywhere: a space keeps the place
                    found, drawn = FONT_NAME, " "
            font = found
        if runs and runs[-1][0] == font:
            runs[-1][1] += drawn
        else:
            runs.append([font, drawn])
    return tuple((f, t) for f, t in runs), "".join(missing)


# Paragraph markup: tags and entities pass untouched, only text between them is cut.
_MARKUP_TOKEN = re.compile(r"(<[^>]*>|&#?\w+;)")


@functools.lru_cache(maxsize=4096)
def _markup(text: str) -> tuple[str, str]:
    if _main is None:
        return text, ""
    out: list[str] = []
    missing: list[str] = []
    for i, part in enumerate(_MARKUP_TOKEN.split(text)):
        if i % 2 or not part:
            out.append(part)
            continue
        runs, lacking = _plan(part)
        missing += [c for c in lacking if c not in missing]
        out += [t if f == FONT_NAME else f'<font face="{f}">{t}</font>' for f, t in runs]
    return "".join(out), "".join(missing)


def fallback_markup(text: str) -> str:
    """Paragraph markup whose characters the document font lacks are in ``<font>`` runs.

    For reportlab Paragraphs in :data:`FONT_NAME`. Characters no installed
    font has come back as :data:`MISSING_MARK` and are reported to
    :func:`collect_unprintable`.
    """
    marked, missing = _markup(text)
    if missing:
        _report(missing)
    return marked


def text_runs(text: str, font_name: str = FONT_NAME) -> tuple[Run, ...]:
    """``text`` cut into (font, text) runs: the fonts that draw it (reports what none can)."""
    if font_name != FONT_NAME:
        return ((font_name, text),)
    runs, missing = _plan(text)
    if missing:
        _report(missing)
    return runs


def text_width(text: str, font_name: str, size: float) -> float:
    """The width of ``text`` as :func:`draw_string` draws it."""
    return float(sum(pdfmetrics.stringWidth(t, f, size) for f, t in text_runs(text, font_name)))


def draw_string(
    canv: Canvas,
    x: float,
    y: float,
    text: str,
    align: Literal["left", "centre", "right"] = "left",
) -> None:
    """``canv.drawString`` (``drawCentredString``, ``drawRightString``) with fallback fonts."""
    font, size = canv._fontname, canv._fontsize  # type: ignore[attr-defined]
    runs = text_runs(text, font)
    if len(runs) == 1 and runs[0][0] == font:
        # Exactly what the canvas does itself (and the same PDF bytes as before).
        draw = {"left": canv.drawString, "centre": canv.drawCentredString,
                "right": canv.drawRightString}[align]  # fmt: skip
        draw(x, y, runs[0][1])
        return
    widths = [pdfmetrics.stringWidth(t, f, size) for f, t in runs]
    total = sum(widths)
    at = x - total if align == "right" else x - 0.5 * total if align == "centre" else x
    leading = canv._leading  # type: ignore[attr-defined]
    for (f, t), w in zip(runs, widths, strict=True):
        canv.setFont(f, size, leading)
        canv.drawString(at, y, t)
        at += w
    canv.setFont(font, size, leading)


# --- telling the caller ------------------------------------------------------------------

_unprintable: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "hallapp_unprintable", default=None
)


@contextlib.contextmanager
def collect_unprintable() -> Iterator[list[str]]:
    """Collect, in order of appearance, the characters no font could print while inside."""
    found: list[str] = []
    token = _unprintable.set(found)
    try:
        yield found
    finally:
        _unprintable.reset(token)


def _report(chars: str) -> None:
    found = _unprintable.get()
    if found is not None:
        found += [c for c in chars if c not in found]


def unprintable_message(chars: Iterable[str]) -> str:
    """What the clerk is told before printing (Chinese), naming each character and its code."""
    listed = "、".join(f"{c}（U+{ord(c):04X}）" for c in chars)
    if sys.platform == "win32":
        fix = "请安装收录这些字符的字体（如 SimSun-ExtB、SimSun-ExtG）"
    else:
        fix = "请安装收录这些字符的字体（如 fonts-hanazono、fonts-babelstone-han）"
    return (
        f"以下字符无法打印：{listed}。本机字体都没有这些字符，文书上印为“{MISSING_MARK}”；"
        f"{fix}后重新生成，或打印后在“{MISSING_MARK}”处手写补全并核对。"
    )


# --- text of characters beyond U+FFFF ----------------------------------------------------


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    """reportlab's ToUnicode CMap, with UTF-16 for characters beyond U+FFFF.

    reportlab writes ``<2020C>`` for 𠈌, which is not UTF-16: a PDF reader
    (pdftotext, copy and paste, the archive's full-text search) then reads
    another character than the one printed. The same text for all others.
    """
    pairs = []
    for i, v in enumerate(subset):
        dst = f"{v:04X}" if v <= 0xFFFF else chr(v).encode("utf-16-be").hex().upper()
        pairs.append(f"<{i:02X}> <{dst}>")
    cmap = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *pairs,
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(cmap)


# ttfonts looks the function up at call time (TTFont.addObjects).
ttfonts.makeToUnicodeCMap = _to_unicode_cmap
