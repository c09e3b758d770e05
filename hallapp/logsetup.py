"""Logging: a rotating file in the platform's log folder, and the console for the CLI.

The user sees a short message in Chinese; the full record (with tracebacks)
goes to the log file, whose path the crash dialog names.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
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


def log_file_path() -> Path:
    base = Path(os.environ[LOG_ENV]) if os.environ.get(LOG_ENV) else log_dir()
    return base / "hallapp.log"


def setup_logging(*, verbose: bool = False, console: bool = False) -> Path | None:
    """Configure logging once per process; returns the log file path if one is used."""
    global _configured
    root = logging.getLogger()
    if _configured:
        return log_file_path()
    _configured = True
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    path: Path | None = log_file_path()
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError:
        path = None  # a read-only home must not stop the window from working
    if console:
        stream = _StderrHandler()
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(stream)
    return path
