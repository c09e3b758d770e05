"""Logging: a rotating file in the platform's log folder, and the console for the CLI.

The user sees a short message in Chinese; the full record (with tracebacks)
goes to the log file, whose path the crash dialog names. The console (CLI)
gets messages only, never a traceback.

Every handler masks personal numbers (:class:`MaskingFilter`): resident ID
numbers, other identity document numbers and phone numbers are replaced in the
message, its arguments and the exception text before anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hallapp.config import log_dir

LOG_ENV = "HALLAPP_LOG_DIR"
_configured = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is now, not the one at set-up time (tests
    and embedding programs replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# --------------------------------------------------------------- masking

# Digits on neither side: a number inside a longer run (a case number, a
# hash) is not an ID number.
_ID_18 = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ID_15 = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(\d{6})(\d{3})(?![0-9A-Za-z])")
# Other identity documents: passports (E/G + 8 digits, E + letter + 7 digits,
# D/S/P + 7–8 digits), mainland travel permits for HK/Macao residents (H/M +
# 8 or 10 digits), exit-entry permits (C + letter/digit + 7 digits), and the
# foreigners' permanent residence ID (3 letters + 12 digits).
_DOCUMENTS = re.compile(
    r"(?<![0-9A-Za-z])("
    r"[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7}|[HM]\d{8}(?:\d{2})?|C[0-9A-Z]\d{7}"
    r"|[A-Z]{3}\d{12}"
    r")(?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<![0-9A-Za-z])((?:\+?86[- ]?)?1[3-9]\d)(\d{4})(\d{4})(?![0-9A-Za-z])")
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(\(?0\d{2,3}\)?[- ]?)(\d{3,4})(\d{4})(?:-\d{1,5})?(?![0-9A-Za-z])"
)


# A run of digits longer than an ID number may hold one (a 19-digit value a
# database refused, quoted in its error): its middle is masked as well.
_LONG_DIGITS = re.compile(r"(?<![0-9])(\d{4})(\d{11,})(\d{3}[0-9Xx])(?![0-9])")


# An ID or mobile number written in groups (139-0597-1234, 350825 19800101
# 2319) or in full-width digits, as people type them into free text: the
# patterns above see only unbroken ASCII runs.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")
_GROUPED = re.compile(
    r"(?<![0-9０-９A-Za-z])[0-9０-９](?:[ \-－]?[0-9０-９]){10,16}(?:[ \-－]?[0-9０-９XxｘＸ])?"
    r"(?![0-9０-９A-Za-z])"
)


def _grouped(m: re.Match[str]) -> str:
    digits = re.sub(r"[ \-－]", "", m[0].translate(_FULL_WIDTH_DIGITS))
    if len(digits) == 18 and digits[:17].isdigit() and digits[0] != "0":
        return digits[:4] + "*" * 10 + digits[-4:]
    if len(digits) == 11 and digits.isdigit() and digits[0] == "1" and digits[1] in "3456789":
        return digits[:3] + "****" + digits[-4:]
    return m[0]


def mask_personal(text: str) -> str:
    """``text`` with ID numbers, identity document numbers and phones masked."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = _GROUPED.sub(_grouped, text)
    text = _ID_18.sub(lambda m: m[1][:4] + "*" * 10 + m[3][-4:], text)
    text = _ID_15.sub(lambda m: m[1][:4] + "*" * 8 + m[3][-3:], text)
    text = _LONG_DIGITS.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)
    text = _DOCUMENTS.sub(lambda m: m[1][0] + "*" * (len(m[1]) - 1), text)
    text = _MOBILE.sub(lambda m: m[1] + "****" + m[3], text)
    return _LANDLINE.sub(lambda m: m[1] + "*" * len(m[2]) + m[3], text)


def masked_texts(texts: Iterable[object] | None) -> tuple[str, ...]:
    """Texts shown or printed with personal numbers masked: a 差评's reason of
    its own ("其他：…", from a channel with a keyboard) may carry a citizen's
    phone or ID number, and the 问责 list goes to departments."""
    return tuple(mask_personal(str(t)) for t in texts or ())


class MaskingFilter(logging.Filter):
    """Masks personal numbers in a record's message, arguments and exception text.

    A handler filter (a logger's filter would miss records of child loggers);
    the record is rewritten in place, so every later handler sees the masked
    text too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be kept
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = mask_personal(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal(record.stack_info)
        return True


class _ConsoleFormatter(logging.Formatter):
    """Message only: a traceback never reaches the terminal (it is in the file)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname}: {record.getMessage()}"


def log_file_path() -> Path:
    base = Path(os.environ[LOG_ENV]) if os.environ.get(LOG_ENV) else log_dir()
    return base / "hallapp.log"


class _PrivateFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file (and each one a rotation starts) readable by its owner
    only: masked as the numbers are, the log still names people, cases and
    hosts, and a window PC has other accounts."""

    def _open(self) -> Any:
        stream = super()._open()
        with contextlib.suppress(OSError):
            os.chmod(self.baseFilename, 0o600)
        return stream


def file_handler(path: Path) -> logging.Handler:
    """The log file's handler: rotating, UTF-8, personal numbers masked, owner-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _PrivateFileHandler(
        path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    return handler


def setup_logging(*, verbose: bool = False, console: bool = False) -> Path | None:
    """Configure logging once per process; returns the log file path if one is used."""
    global _configured
    root = logging.getLogger()
    if _configured:
        return log_file_path()
    _configured = True
    # A failing handler (disk full, a log file removed) must not print its own
    # traceback on the terminal: logging is best effort.
    logging.raiseExceptions = False
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    path: Path | None = log_file_path()
    try:
        assert path is not None
        root.addHandler(file_handler(path))
    except OSError:
        path = None  # a read-only home must not stop the window from working
    if console and verbose:
        # The CLI prints its own Chinese messages; log lines on the terminal
        # are for --verbose only.
        stream = _StderrHandler()
        stream.setLevel(logging.DEBUG)
        stream.setFormatter(_ConsoleFormatter())
        stream.addFilter(MaskingFilter())
        root.addHandler(stream)
    if not root.handlers:
        # Without any handler, logging's last resort prints warnings and their
        # tracebacks on stderr.
        root.addHandler(logging.NullHandler())
    return path
