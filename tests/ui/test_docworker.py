"""The document process: previews come back complete, failures come back as Chinese messages.

Everything here goes through the real child process (``python -m hallapp.ui.docworker``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hallapp.printing.printer import PrintError
from hallapp.ui import ops
from hallapp.ui.docworker import DocumentWorker, Rendered
from PySide6.QtGui import QImage

from hallapp import documents as docs


@pytest.fixture
def worker(qapp: Any) -> Iterator[DocumentWorker]:
    w = DocumentWorker()
    yield w
    w.stop()
    w.deleteLater()


def _render(
    qtbot: Any,
    worker: DocumentWorker,
    doc: Any,
    size: str = "a4",
    width: int = 820,
    font_path: str | None = None,
) -> Rendered | BaseException:
    got: list[Any] = []
    worker.render(None, doc, size, width, font_path, success=got.append, failure=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=60_000)
    return got[0]


def _text(pdf: bytes) -> str:
    res = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return res.stdout.decode("utf-8")


def _dark_share(image: QImage) -> float:
    """Share of sampled pixels that are clearly not white (text, lines, the QR code)."""
    dark = total = 0
    for y in range(0, image.height(), 7):
        for x in range(0, image.width(), 7):
            total += 1
            if image.pixelColor(x, y).lightness() < 128:
                dark += 1
    return dark / total


def test_a_notice_comes_back_as_its_pdf_and_page_images(qtbot: Any, worker: DocumentWorker) -> None:
    notice = docs.sample(docs.DocumentType.ONE_TIME)
    result = _render(qtbot, worker, notice)
    assert isinstance(result, Rendered)
    assert result.pdf.startswith(b"%PDF")
    text = _text(result.pdf)
    assert notice.doc_no in text and notice.case_no in text
    assert len(result.images) == 1
    page = result.images[0]
    assert page.width() == 820 and 1100 < page.height() < 1200  # A4 proportions
    assert page.pixelColor(3, 3).name() == "#ffffff"  # paper is white
    assert 0.005 < _dark_share(page) < 0.5  # something is printed on it, not a black page
    assert ops.pending() == 0


def test_a_long_notice_and_a_slip_and_a_duty_card(qtbot: Any, worker: DocumentWorker) -> None:
    long = _render(qtbot, worker, docs.sample(docs.DocumentType.ONE_TIME, long=True))
    assert isinstance(long, Rendered) and len(long.images) >= 2
    slip = _render(qtbot, worker, docs.sample(docs.DocumentType.ACCEPTANCE), "slip", 420)
    assert isinstance(slip, Rendered)
    assert slip.images[0].width() == 420 and slip.images[0].height() > 420
    card = docs.sample(docs.DocumentType.DUTY_CARD)
    result = _render(qtbot, worker, card)
    assert isinstance(result, Rendered)
    assert card.name in _text(result.pdf)
    # One child served all of them, in order.
    assert worker.starts == 1


def test_a_reprint_keeps_its_mark(qtbot: Any, worker: DocumentWorker) -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 2, 3, tzinfo=UTC)
    notice = docs.sample(docs.DocumentType.ACCEPTANCE).as_reprint(at)
    result = _render(qtbot, worker, notice)
    assert isinstance(result, Rendered)
    assert "补 打" in _text(result.pdf) or "补打" in _text(result.pdf)


def test_a_missing_font_is_told_in_chinese(
    qtbot: Any, worker: DocumentWorker, tmp_path: Any
) -> None:
    result = _render(qtbot, worker, docs.sample(docs.DocumentType.ACCEPTANCE),
                     font_path=str(tmp_path / "no-such-font.ttf"))  # fmt: skip
    assert isinstance(result, PrintError)
    assert "字体" in str(result)
    # The child survived a refused document and serves the next one.
    assert isinstance(_render(qtbot, worker, docs.sample(docs.DocumentType.REFERRAL)), Rendered)
    assert worker.starts == 1


def test_a_child_that_dies_fails_the_waiting_preview_and_the_next_one_works(
    qtbot: Any, worker: DocumentWorker
) -> None:
    first = _render(qtbot, worker, docs.sample(docs.DocumentType.ACCEPTANCE))
    assert isinstance(first, Rendered)
    got: list[Any] = []
    worker.render(None, docs.sample(docs.DocumentType.ONE_TIME, long=True), "a4", 820, None,
                  success=got.append, failure=got.append)  # fmt: skip
    os.kill(worker.pid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(got), timeout=30_000)
    assert isinstance(got[0], PrintError)
    assert "意外退出" in str(got[0]) and "重新预览" in str(got[0])
    assert ops.pending() == 0
    again = _render(qtbot, worker, docs.sample(docs.DocumentType.ACCEPTANCE))
    assert isinstance(again, Rendered)
    assert worker.starts == 2


def test_the_client_never_loads_reportlab_to_preview(tmp_path: Any) -> None:
    """The layout runs in the child: the client's memory and GIL stay free of it."""
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from hallapp import documents as docs
        from hallapp.ui.docworker import document_worker, stop_document_worker
        got = []
        document_worker().render(None, docs.sample(docs.DocumentType.ACCEPTANCE), "a4", 820,
                                 None, success=got.append, failure=got.append)
        from PySide6.QtCore import QTimer
        t = QTimer(); t.timeout.connect(lambda: got and app.quit()); t.start(20)
        QTimer.singleShot(60000, app.quit)
        app.exec()
        stop_document_worker()
        print(type(got[0]).__name__ if got else "nothing",
              any(m.startswith("reportlab") for m in sys.modules))
        """
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["Rendered", "False"]


# U+2EBF0, the first of CJK Extension I: a name character no font installed here has.
_NO_FONT_HAS = "\U0002ebf0"


def _with_agent(name: str) -> docs.Notice:
    import dataclasses

    notice = docs.sample(docs.DocumentType.ACCEPTANCE)
    return dataclasses.replace(notice, applicant=dataclasses.replace(notice.applicant,
                                                                     agent_name=name))  # fmt: skip


def test_characters_no_font_has_come_back_with_the_preview(
    qtbot: Any, worker: DocumentWorker
) -> None:
    result = _render(qtbot, worker, _with_agent(f"欧阳{_NO_FONT_HAS}"))
    assert isinstance(result, Rendered)
    assert result.unprintable == _NO_FONT_HAS
    assert result.warning.startswith("以下字符无法打印：") and "U+2EBF0" in result.warning
    assert "欧阳□" in _text(result.pdf)
    # A rare character a fallback font has (𠈌, Extension B) prints and warns of nothing.
    rare = _render(qtbot, worker, _with_agent("欧阳\U0002020c"))
    assert isinstance(rare, Rendered)
    assert rare.unprintable == "" and rare.warning == ""
    assert "欧阳\U0002020c" in _text(rare.pdf)


def test_the_print_preview_warns_before_printing(qtbot: Any, qapp: Any, tmp_path: Any) -> None:
    from types import SimpleNamespace

    from hallapp.ui.context import PrintSettings
    from hallapp.ui.docworker import stop_document_worker
    from hallapp.ui.preview import PreviewDialog

    # The dialog reads only the print settings of the window's context.
    ctx: Any = SimpleNamespace(printing=PrintSettings(output_dir=tmp_path))
    try:
        dialog = PreviewDialog(ctx, _with_agent(f"欧阳{_NO_FONT_HAS}"))
        qtbot.addWidget(dialog)
        qtbot.waitUntil(dialog.print_button.isEnabled, timeout=60_000)
        assert dialog.unprintable.isVisibleTo(dialog)
        assert f"以下字符无法打印：{_NO_FONT_HAS}（U+2EBF0）" in dialog.unprintable.text()
        assert "有字符无法打印" in dialog.status.text()
        # Switching to the slip renders again: still told; a clean document is not.
        dialog.slip.setChecked(True)
        qtbot.waitUntil(dialog.print_button.isEnabled, timeout=60_000)
        assert dialog.unprintable.isVisibleTo(dialog)
        clean = PreviewDialog(ctx, docs.sample(docs.DocumentType.ACCEPTANCE))
        qtbot.addWidget(clean)
        qtbot.waitUntil(clean.print_button.isEnabled, timeout=60_000)
        assert not clean.unprintable.isVisibleTo(clean)
        assert clean.status.text() == "共 1 页"
    finally:
        stop_document_worker()
