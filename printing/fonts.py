"""Chinese fonts for the documents: found on the system, embedded as TrueType subsets.

A non-embedded CID font (``UnicodeCIDFont('STSong-Light')``) is never used: it
prints as garbage on a machine or printer without the font. Without a usable
TrueType font we stop with a message that says how to install one.

Registering a TTC costs about 0.2 s, so it happens once per process.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import reportlab
from reportlab import rl_config
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTEncoding, TTFError, TTFont, TTFontFace

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
    if sys.platform == "win32":
        d = _windows_font_dir()
        return [FontSpec(d / n) for n in ("simhei.ttf", "msyh.ttc", "simsun.ttc", "simkai.ttf")]
    if sys.platform == "darwin":
        return [
            FontSpec(Path("/System/Library/Fonts/Supplemental/Songti.ttc")),
            FontSpec(Path("/Library/Fonts/Arial Unicode.ttf")),
        ]
    roots = (Path("/usr/share/fonts/truetype"), Path("/usr/local/share/fonts"))
    names = (
        "wqy/wqy-microhei.ttc",
        "wqy/wqy-zenhei.ttc",
        "arphic/uming.ttc",
        "arphic/ukai.ttc",
        "droid/DroidSansFallbackFull.ttf",
    )
    return [FontSpec(root / name) for root in roots for name in names]


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


def _load(spec: FontSpec) -> TTFont:
    font = _load_cached(spec)
    if font is None:
        font = TTFont(FONT_NAME, str(spec.path), subfontIndex=spec.subfont_index)
        _store_cached(spec, font)
    missing = [c for c in _PROBE if ord(c) not in font.face.charToGlyph]
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


def _load_cached(spec: FontSpec) -> TTFont | None:
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
        font.fontName = FONT_NAME
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
    global _registered
    _cache_subsets(font)
    pdfmetrics.registerFont(font)
    # Bold/italic markup in paragraphs maps back to the same face: CJK fonts
    # here have no bold, headings are drawn heavier by the layout instead.
    pdfmetrics.registerFontFamily(
        FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME
    )
    _registered = spec
    log.info("document font: %s (face %d)", spec.path, spec.subfont_index)
    return spec


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
