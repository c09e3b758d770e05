"""The whole window client on a real, migrated SQLite store seeded with the demo data.

``demo_app`` builds what ``hallapp-window --demo`` builds (console, citizen
screen, evaluator bridge with the simulator on a pseudo-terminal) and gives the
tests a keyboard-driving helper. Error dialogs are collected instead of shown
(modal boxes would stop the test), and a test fails on an unexpected one.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from hallapp.config import parse_config
from hallapp.demo import seed_demo
from hallapp.intake import MaterialStatus
from hallapp.store import Store
from hallapp.validation import id_check_char

CUPS_QUEUE = "HallAppPDF"
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform says this for every top-level window it shows;
    # it is not a problem of ours (xcb does not say it).
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(
                pytest.mark.qt_log_ignore(
                    r"This plugin does not support (propagateSizeHints|raise)"
                )
            )


def valid_id(body17: str = "35082519850312002") -> str:
    return body17 + id_check_char(body17)


def cups_available() -> bool:
    lpstat = shutil.which("lpstat")
    if not lpstat:
        return False
    res = subprocess.run([lpstat, "-p", CUPS_QUEUE], capture_output=True, check=False)
    return res.returncode == 0 and b"disabled" not in res.stdout


def cups_out_dir() -> Path:
    out = "/var/spool/cups-pdf/${USER}"
    if CUPS_PDF_CONF.exists():
        for line in CUPS_PDF_CONF.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"\s*Out\s+(\S.*)$", line)
            if m:
                out = m.group(1).strip()
    user = pwd.getpwuid(os.getuid())
    return Path(out.replace("${HOME}", user.pw_dir).replace("${USER}", user.pw_name))


def pdf_text(path: Path) -> str:
    res = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return res.stdout.decode("utf-8")


class Driver:
    """Drives the console from the keyboard, as a clerk would."""

    def __init__(self, qtbot: Any, window: Any, errors: list[str]) -> None:
        self.qtbot = qtbot
        self.window = window
        self.console = window.console
        self.intake = window.console.intake
        self.cases = window.console.cases
        self.bridge = window.bridge
        self.citizen = window.citizen
        self.errors = errors

    # -- basics

    def idle(self, timeout: int = 15_000) -> None:
        from hallapp.ui import ops

        ops.wait_idle(self.qtbot, timeout=timeout)

    def keys(self, widget: Any, text: str) -> None:
        """Type ``text``; Chinese arrives as an input-method commit, as from a real IME."""
        if text.isascii():
            self.qtbot.keyClicks(widget, text)
            return
        from PySide6.QtGui import QInputMethodEvent

        widget.setFocus()
        event = QInputMethodEvent("", [])
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)

    def key(self, widget: Any, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
        # Shortcuts need their window active: a window manager gives it back
        # after a dialog closes (or the citizen screen changes), offscreen does not.
        window = widget.window()
        if QApplication.activeModalWidget() is None and not window.isActiveWindow():
            window.activateWindow()
            self.qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
        self.qtbot.keyClick(widget, key, modifier)

    def shortcut(self, sequence: str) -> None:
        """Press a window shortcut (QTest delivers it through the shortcut map)."""
        from PySide6.QtGui import QKeySequence
        from PySide6.QtTest import QTest

        target = QApplication.activeModalWidget()
        if target is None:
            if not self.console.isActiveWindow():
                self.console.activateWindow()
                self.qtbot.waitUntil(self.console.isActiveWindow, timeout=5_000)
            target = QApplication.focusWidget() or self.console
        seq = QKeySequence(sequence)
        combo = seq[0]
        QTest.keyClick(target, combo.key(), combo.keyboardModifiers())

    # -- flows

    def sign_in(self, staff_no: str = "1003", password: str = "123456") -> None:
        page = self.console.signin
        self.qtbot.waitUntil(page.button.isEnabled, timeout=15_000)
        page.staff_no.clear()
        self.keys(page.staff_no, staff_no)
        self.key(page.staff_no, Qt.Key.Key_Return)
        self.keys(page.password, password)
        with self.qtbot.waitSignal(page.signed_in, timeout=15_000):
            self.key(page.password, Qt.Key.Key_Return)
        self.idle()
        assert self.console.signed_in

    def pick_item(self, query: str, code: str) -> None:
        view = self.intake
        view.search.setFocus()
        with self.qtbot.waitSignal(view.item_loaded, timeout=15_000) as blocker:
            self.keys(view.search, query)
            self.key(view.search, Qt.Key.Key_Return)
        assert blocker.args[0].code == code, blocker.args[0].code
        self.idle()

    def fill_person(self, name: str, id_number: str, phone: str) -> None:
        view = self.intake
        view.name.setFocus()
        self.keys(view.name, name)
        self.key(view.name, Qt.Key.Key_Tab)
        assert view.ident.hasFocus()
        self.keys(view.ident, id_number)
        self.key(view.ident, Qt.Key.Key_Tab)  # leaving the field masks the number
        assert view.phone.hasFocus()
        self.keys(view.phone, phone)
        self.key(view.phone, Qt.Key.Key_Tab)

    def mark(
        self, statuses: dict[int, MaterialStatus], notes: dict[int, str] | None = None
    ) -> None:
        """Set the checklist with the keyboard: Space cycles 缺少 → 已收 → 不符合要求."""
        view = self.intake
        view.table.setFocus()
        for row in range(view.table.rowCount()):
            view.table.selectRow(row)
            wanted = statuses.get(row, MaterialStatus.PRESENT)
            while view.checks()[row].status is not wanted:
                self.key(view.table, Qt.Key.Key_Space)
        for row, note in (notes or {}).items():
            self.keys(view._rows[row].note, note)

    def pending_act(self) -> Any:
        """The confirmation (or 出件 record) a numbered act waits on, or None."""
        return (
            self.intake.confirm_dialog
            or self.cases.confirm_dialog
            or self.cases.hand_over_dialog
        )

    def confirm(self) -> Any:
        """Enter on the act's confirmation, as the clerk does; returns the dialog."""
        self.qtbot.waitUntil(lambda: self.pending_act() is not None, timeout=5_000)
        dialog = self.pending_act()
        self.qtbot.waitUntil(dialog.isVisible, timeout=5_000)
        target = QApplication.focusWidget()
        if target is None or target.window() is not dialog:
            target = dialog
        self.qtbot.keyClick(target, Qt.Key.Key_Return)
        self.qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)
        # A window manager gives the focus back to the console; offscreen does not.
        if QApplication.activeModalWidget() is None and not self.console.isActiveWindow():
            self.console.activateWindow()
            self.qtbot.waitUntil(self.console.isActiveWindow, timeout=5_000)
        return dialog

    def act(self, sequence: str) -> Any:
        """F9 / F10: the shortcut, then Enter on its confirmation."""
        self.shortcut(sequence)
        return self.confirm()

    def decide(self, sequence: str) -> Any:
        """Press an outcome shortcut and confirm it with Enter; returns the DecisionResult."""
        with self.qtbot.waitSignal(self.intake.decided, timeout=20_000) as blocker:
            self.shortcut(sequence)
            self.confirm()
        return blocker.args[0]

    def decide_with_dialog(self, sequence: str, fill: Any) -> Any:
        self.shortcut(sequence)
        self.qtbot.waitUntil(lambda: self.intake.decision_dialog is not None, timeout=5_000)
        dialog = self.intake.decision_dialog
        self.qtbot.waitUntil(dialog.isVisible, timeout=5_000)
        fill(dialog)
        self.idle()
        with self.qtbot.waitSignal(self.intake.decided, timeout=20_000) as blocker:
            dialog._try_accept()
        return blocker.args[0]

    def wait_preview(self) -> Any:
        self.qtbot.waitUntil(lambda: self.console.preview is not None, timeout=10_000)
        preview = self.console.preview
        self.qtbot.waitUntil(preview.print_button.isEnabled, timeout=30_000)
        return preview

    def print_preview(self) -> Any:
        preview = self.wait_preview()
        with self.qtbot.waitSignal(preview.printed, timeout=60_000) as blocker:
            preview.print_now()
        self.idle()
        return blocker.args[0]

    def close_preview(self) -> None:
        if self.console.preview is not None:
            self.console.preview.reject()

    def select_case(self, case_id: str) -> None:
        self.console.show_cases()
        self.qtbot.waitUntil(lambda: self.cases.model.row_of(case_id) >= 0, timeout=10_000)
        self.cases.select(case_id)
        assert self.cases.current().id == case_id

    def case(self, case_id: str) -> Any:
        row = self.cases.model.row_of(case_id)
        return self.cases.model.cases[row]


def printed_qr(path: Path, tmp: Path) -> list[str]:
    """QR codes on the printed pages (the Qt print path prints images: no text layer)."""
    prefix = tmp / f"{path.stem}-page"
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(prefix)], check=True)
    found: list[str] = []
    for png in sorted(tmp.glob(f"{path.stem}-page*.png")):
        res = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, check=False)
        found += [line for line in res.stdout.decode().splitlines() if line]
    return found


def pdf_pages(path: Path) -> int:
    res = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
    m = re.search(r"^Pages:\s+(\d+)", res.stdout.decode(), re.M)
    return int(m.group(1)) if m else 0


def pdf_info(path: Path) -> dict[str, str]:
    res = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True)
    return {
        k.strip(): v.strip()
        for k, _, v in (line.partition(":") for line in res.stdout.decode().splitlines())
    }


class PdfCheck:
    info = staticmethod(pdf_info)
    text = staticmethod(pdf_text)
    qr = staticmethod(printed_qr)
    pages = staticmethod(pdf_pages)


@pytest.fixture
def pdf_check() -> PdfCheck:
    return PdfCheck()


@pytest.fixture
def error_log() -> Iterator[list[str]]:
    from hallapp.ui import errors

    shown: list[str] = []
    errors.set_error_sink(lambda _parent, message, _detail: shown.append(message))
    yield shown
    errors.set_error_sink(None)


@pytest.fixture
def ui_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open_local(tmp_path / "window.sqlite3")
    seed_demo(store)
    yield store
    store.dispose()


@pytest.fixture
def ui_config(tmp_path: Path) -> Any:
    return parse_config(
        {
            # A real hall names itself and its remedies' bodies (the sign-in
            # page warns a hall that has not).
            "hall": {
                "code": "LC",
                "name": "连城县行政服务中心",
                "review_body": "连城县人民政府",
                "court": "连城县人民法院",
            },
            "window": {"code": "A03"},
            "evaluator": {"timeout_seconds": 60},
            "ui": {"citizen_screen": "window"},
            "printing": {"qr_url_template": "https://zwfw.example.gov.cn/q?case={case_no}"},
        }
    )


@pytest.fixture
def print_settings(tmp_path: Path) -> Any:
    """The real CUPS queue when it runs; else PDF files through the same Qt print path."""
    from hallapp.ui.context import PrintSettings

    if cups_available():
        return PrintSettings(a4_printer=CUPS_QUEUE, slip_printer=CUPS_QUEUE, max_dpi=150)
    if os.environ.get("HALLAPP_REQUIRE_CUPS") == "1":
        pytest.fail(f"CUPS with the {CUPS_QUEUE} queue is required (run bash .ci/services)")
    return PrintSettings(output_dir=tmp_path / "printed", max_dpi=150)


@pytest.fixture
def demo_app(qtbot, ui_store, ui_config, print_settings, error_log) -> Iterator[Driver]:
    from hallapp.ui.app import build_window
    from hallapp.ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app)
    window = build_window(
        ui_store, ui_config, demo=True, printing=print_settings, citizen_mode="window"
    )
    qtbot.addWidget(window.console)
    if window.citizen is not None:
        window.citizen.show()
    window.console.show()
    window.console.activateWindow()
    qtbot.waitUntil(window.console.isActiveWindow, timeout=5_000)
    driver = Driver(qtbot, window, error_log)
    # The simulator's port must be open before a press can travel over it.
    qtbot.waitUntil(lambda: window.bridge.connected, timeout=15_000)
    yield driver
    window.close()
    from hallapp.ui import ops

    ops.wait_idle(qtbot, timeout=15_000)


@pytest.fixture
def printed_pdf(qtbot, print_settings) -> Any:
    """The PDF a print job produced: cups-pdf's output, or the file printed to directly."""

    def find(printed: Any, job_name: str, since: float, timeout_ms: int = 90_000) -> Path:
        if print_settings.output_dir is not None:
            return Path(printed.where)
        return wait(job_name, since, timeout_ms)

    def wait(job_name: str, since: float, timeout_ms: int = 90_000) -> Path:
        out_dir = cups_out_dir()
        found: list[Path] = []

        def ready() -> bool:
            hits = (
                sorted(p for p in out_dir.glob(f"{job_name}*.pdf") if p.stat().st_mtime >= since)
                if out_dir.exists()
                else []
            )
            if not hits or not hits[0].stat().st_size:
                return False
            ok = subprocess.run(["pdfinfo", str(hits[0])], capture_output=True, check=False)
            if ok.returncode == 0:
                found.append(hits[0])
                return True
            return False

        qtbot.waitUntil(ready, timeout=timeout_ms)
        return found[0]

    find.queue = None if print_settings.output_dir is not None else CUPS_QUEUE  # type: ignore[attr-defined]
    return find
