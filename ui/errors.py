"""What the clerk sees when something goes wrong, and the crash handler.

Two kinds of failure:

- expected ones (a refused decision, a wrong password, a printer that is
  off): the domain raises an exception whose message is already Chinese and
  says what to do; :func:`show_error` shows it and logs it.
- bugs: :func:`install_crash_handler` puts a ``sys.excepthook`` in place that
  writes the traceback to the log file, shows a short dialog naming that file
  and ends the program. A traceback is never shown on screen.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger(__name__)

_GENERIC_NEXT_STEP = "请重试；如果问题仍然存在，请联系技术支持并提供日志文件。"


def _expected_types() -> tuple[type[BaseException], ...]:
    # Imported lazily so that importing this module (early in main) stays cheap.
    from hallapp.catalog import CatalogError
    from hallapp.config import ConfigError
    from hallapp.deadlines import DeadlineError
    from hallapp.documents import DocumentContentError
    from hallapp.duty import DutyError
    from hallapp.evaluation import EvaluationError
    from hallapp.intake import IntakeError
    from hallapp.security import PermissionDenied, SignInError
    from hallapp.store import StoreError

    types: list[type[BaseException]] = [
        CatalogError,
        ConfigError,
        DeadlineError,
        DocumentContentError,
        DutyError,
        EvaluationError,
        IntakeError,
        PermissionDenied,
        SignInError,
        StoreError,
    ]
    from hallapp.projects import ProjectError
    from hallapp.staffing import StaffSetupError
    from hallapp.windows import WindowSetupError

    types += [ProjectError, StaffSetupError, WindowSetupError]
    try:
        from hallapp.printing.printer import PrintError

        types.append(PrintError)
    except ImportError:  # pragma: no cover - printing is part of the package
        pass
    return tuple(types)


def is_expected(exc: BaseException) -> bool:
    """True for the domain's refusals, whose message is written for the clerk."""
    return isinstance(exc, _expected_types())


def user_message(exc: BaseException, action: str = "") -> str:
    """The Chinese text for the clerk: what happened and what to do, never a class name.

    The domain's refusals carry their own message; database errors are told
    apart by the one classifier (hallapp.dberrors); file and device errors by
    their errno; anything else is a bug, logged with its traceback by the caller.
    """
    from hallapp.dberrors import DbProblem, classify_db_error, is_db_error, store_error

    if is_expected(exc) and str(exc):
        return str(exc)
    what = f"“{action}”" if action else "操作"
    if is_db_error(exc):
        return f"{what}没有完成：{store_error(exc)}"
    if isinstance(exc, OSError):
        name = f" {exc.filename} " if exc.filename else ""
        problem = classify_db_error(exc)
        if problem is DbProblem.DISK_FULL:
            return (
                f"{what}没有完成：磁盘空间已满，文件{name}无法写入。"
                "请清理磁盘后重试；已经保存的办件和评价不会丢失。"
            )
        if problem is DbProblem.PERMISSION:
            return (
                f"{what}没有完成：没有权限读写文件{name}。"
                "请让管理员检查这个文件和所在文件夹的权限后重试。"
            )
        if problem is DbProblem.MISSING:
            return f"{what}没有完成：找不到文件或设备{name}。请检查设备连接和配置中的路径后重试。"
        return (
            f"{what}没有完成：系统无法读写所需的文件或设备{name}。请检查磁盘空间和设备连接后重试。"
        )
    if isinstance(exc, MemoryError):
        return f"{what}没有完成：电脑内存不足。请关闭其他程序后重试。"
    where = f"（日志文件：{_log_file}）" if _log_file else ""
    return (
        f"{what}没有完成：程序内部出错，详细记录已写入日志{where}。"
        f"已经保存的办件和评价不会丢失。{_GENERIC_NEXT_STEP}"
    )


# Tests replace this to see what would have been shown without a modal dialog.
ErrorSink = Callable[[QWidget | None, str, str | None], None]
_sink: ErrorSink | None = None


def set_error_sink(sink: ErrorSink | None) -> None:
    """Route show_error to ``sink`` instead of a message box (tests, headless runs)."""
    global _sink
    _sink = sink


def show_error(
    parent: QWidget | None,
    message: str,
    detail: str | None = None,
    *,
    logged: bool = False,
) -> None:
    """Show a Chinese error message (with what to do next) and log it.

    ``detail`` is extra text for the "显示详细信息" area (no tracebacks).
    """
    if not logged:
        log.warning("shown to the clerk: %s%s", message, f" ({detail})" if detail else "")
    if _sink is not None:
        _sink(parent, message, detail)
        return
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("提示")
    box.setText(message)
    if detail:
        box.setDetailedText(detail)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


def show_info(parent: QWidget | None, message: str) -> None:
    log.info("told the clerk: %s", message)
    if _sink is not None:
        _sink(parent, message, None)
        return
    QMessageBox.information(parent, "提示", message)


# --- crash handler ---------------------------------------------------------

_log_file: Path | None = None
_crashing = False


def _crash_text(log_file: Path | None) -> str:
    where = f"\n\n详细记录已写入日志文件：\n{log_file}" if log_file else ""
    return (
        "程序遇到内部错误，需要关闭。已保存的办件和评价不会丢失。\n"
        "请重新打开程序；如果问题再次出现，请联系技术支持并提供日志文件。" + where
    )


def _excepthook(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
) -> None:
    global _crashing
    if issubclass(exc_type, KeyboardInterrupt):
        QApplication.quit()
        return
    log.critical("unhandled exception", exc_info=(exc_type, exc, tb))
    if _crashing:
        return
    _crashing = True
    app = QApplication.instance()
    if _sink is not None:  # tests: no modal dialog
        _sink(None, _crash_text(_log_file), None)
        _exit(70)
        return
    if isinstance(app, QApplication) and threading.current_thread() is threading.main_thread():
        try:
            box = QMessageBox()
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("程序错误")
            box.setText(_crash_text(_log_file))
            box.exec()
        except Exception:  # the dialog itself must never hide the first error
            log.exception("crash dialog failed")
        _exit(70)
    else:
        sys.stderr.write(_crash_text(_log_file) + "\n")
        sys.exit(70)


def _exit(code: int) -> None:
    """End the event loop with ``code`` (70 = EX_SOFTWARE); tests replace it."""
    app = QApplication.instance()
    if app is not None:
        app.exit(code)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    # A worker thread outside ops.py crashed: log it; the GUI keeps running,
    # the failure shows where that worker reports back.
    log.critical(
        "unhandled exception in thread %s",
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


def install_crash_handler(log_file: Path | None) -> None:
    """Log every uncaught exception and close with a short dialog naming ``log_file``."""
    global _log_file
    _log_file = log_file
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
