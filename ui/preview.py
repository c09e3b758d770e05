"""Print preview of a document: its PDF drawn page by page on white, then printed.

Rendering the PDF (reportlab) and drawing its pages (QtPdf) run in the
document process (ui.docworker), printing in a print job's process
(ui.printjob); the dialog only shows the finished page images.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shiboken6
from hallapp.ui.context import PaperSize, PrintSettings, WindowContext
from hallapp.ui.docworker import Rendered, document_worker
from hallapp.ui.ops import run_in_background
from hallapp.ui.printjob import JobRequest, PrintProcess
from hallapp.ui.theme import bind_key
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from hallapp.documents import DutyCard, Notice

log = logging.getLogger(__name__)

#: Width of a page image in the preview, in device-independent pixels.
PREVIEW_WIDTH = 820


@dataclass(frozen=True)
class Printed:
    where: str  # printer name or file path
    pages: int
    size: PaperSize


def render_document(doc: Notice | DutyCard, size: PaperSize, font_path: str | None) -> bytes:
    """The PDF of ``doc`` (slow: background only)."""
    from hallapp.printing.render import render_pdf

    return render_pdf(doc, size, font_path=font_path)


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w\-]+", "_", text).strip("_") or "document"


def _print_pdf_options() -> set[str]:
    import inspect

    from hallapp.printing.printer import print_pdf

    return set(inspect.signature(print_pdf).parameters)


def print_document(pdf: bytes, settings: PrintSettings, size: PaperSize, job_name: str) -> Printed:
    """Print in this process through the Qt print path (slow: background only).

    The console prints through :class:`hallapp.ui.printjob.PrintProcess`
    instead (a child process: no GIL held against the GUI); this in-process
    variant serves scripts and the UI benchmark's comparison.

    With ``settings.output_dir`` the same path writes a PDF file there
    (QPrinter output format PDF) instead of sending the job to a printer, when
    the printing module offers it (``print_pdf(..., output_file=...)``).
    """
    from hallapp.printing.printer import PrintError, print_pdf

    options = _print_pdf_options()
    extra: dict[str, Any] = {}
    if settings.max_dpi and "max_dpi" in options:
        extra["max_dpi"] = settings.max_dpi
    if settings.output_dir is not None:
        if "output_file" not in options:
            raise PrintError("当前打印模块不支持输出到 PDF 文件，请在配置中指定打印机")
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        target = settings.output_dir / f"{_safe_name(job_name)}.pdf"
        extra["output_file"] = str(target)
        result = print_pdf(pdf, None, size, job_name=job_name, **extra)
        return Printed(str(target), result.pages, size)
    result = print_pdf(pdf, settings.printer_for(size), size, job_name=job_name, **extra)
    return Printed(result.printer_name, result.pages, size)


def job_name_for(doc: Notice | DutyCard, *, reprint: bool = False) -> str:
    """The spooler's job title: ASCII, so every driver keeps it (e.g. for cups-pdf file names)."""
    if isinstance(doc, Notice):
        name = f"{doc.case_no}-{doc.doc_type.value}"
    else:
        name = f"dutycard-{doc.window_code}-{doc.staff_no}"
    return name + ("-reprint" if reprint else "")


class PreviewDialog(QDialog):
    """Shows a document as it will print; Ctrl+P prints it and closes the dialog.

    ``document_id`` (an issued document) is recorded as printed; a reprint
    (补打) passes the content already marked by ``Notice.as_reprint``.
    """

    printed = Signal(object)  # Printed
    pages_ready = Signal(int)

    def __init__(
        self,
        ctx: WindowContext,
        doc: Notice | DutyCard,
        *,
        document_id: str | None = None,
        reprint: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.doc = doc
        self.document_id = document_id
        self.reprint = reprint
        self.pdf: bytes | None = None
        self.images: list[QImage] = []
        self.size_: PaperSize = ctx.printing.size
        self._printing = False
        self._job: PrintProcess | None = None
        self._generation = 0
        title = doc.doc_type.heading if isinstance(doc, Notice) else "当班首办负责人公示"
        number = getattr(doc, "doc_no", "")
        self.setWindowTitle(f"打印预览 — {title}" + (f"（{number}）" if number else ""))
        self.resize(920, 960)

        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.scroll_area.setStyleSheet("QScrollArea { background: #5b6675; }")
        self.pages_box = QWidget()
        self.pages_box.setStyleSheet("background: #5b6675;")
        self.pages_layout = QVBoxLayout(self.pages_box)
        self.pages_layout.setSpacing(16)
        self.pages_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.scroll_area.setWidget(self.pages_box)

        self.status = QLabel("正在生成文书…")
        self.status.setObjectName("hint")
        # Characters no installed font has print as □: the clerk reads which
        # before printing a notice that names a person.
        self.unprintable = QLabel()
        self.unprintable.setObjectName("error")
        self.unprintable.setWordWrap(True)
        self.unprintable.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.unprintable.hide()
        self.unprintable_warning = ""
        self.a4 = QRadioButton("A4 纸(&4)")
        self.slip = QRadioButton("80mm 小票(&8)")
        group = QButtonGroup(self)
        group.addButton(self.a4)
        group.addButton(self.slip)
        (self.slip if self.size_ == "slip" else self.a4).setChecked(True)
        self.a4.toggled.connect(self._size_changed)
        self.print_button = QPushButton("打印  [Ctrl+P]")
        self.print_button.setEnabled(False)
        self.print_button.setDefault(True)
        self.print_button.clicked.connect(self.print_now)
        self.close_button = QPushButton("关闭  [Esc]")
        self.close_button.clicked.connect(self.reject)
        bind_key(self, "Ctrl+P", self.print_now)

        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(QLabel(f"打印机：{ctx.printing.describe()}"))
        bar.addWidget(self.a4)
        bar.addWidget(self.slip)
        bar.addWidget(self.print_button)
        bar.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.unprintable)
        layout.addWidget(self.scroll_area, 1)
        layout.addLayout(bar)
        self._render()

    # -- rendering

    def _size_changed(self) -> None:
        size: PaperSize = "a4" if self.a4.isChecked() else "slip"
        if size != self.size_:
            self.size_ = size
            self._render()

    def _render(self) -> None:
        self._generation += 1
        generation = self._generation
        self.print_button.setEnabled(False)
        self.status.setText("正在生成文书…")
        doc, size, font = self.doc, self.size_, self.ctx.printing.font_path
        width = PREVIEW_WIDTH if size == "a4" else 420

        def done(result: Rendered) -> None:
            if generation != self._generation:
                return  # the clerk switched the paper size meanwhile
            self.pdf, self.images = result.pdf, result.images
            self.unprintable_warning = result.warning
            self._show_pages()

        def failed(exc: BaseException) -> None:
            from hallapp.ui.errors import user_message

            self.status.setText(user_message(exc, "生成文书"))

        # In the document process (hallapp.ui.docworker): nothing of the
        # layout or the drawing holds this process's GIL.
        document_worker().render(self, doc, size, width, font, success=done, failure=failed)

    def _show_pages(self) -> None:
        while self.pages_layout.count():
            item = self.pages_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for image in self.images:
            page = QLabel()
            page.setPixmap(QPixmap.fromImage(image))
            page.setStyleSheet("background: white; border: 1px solid #333;")
            self.pages_layout.addWidget(page, 0, Qt.AlignmentFlag.AlignHCenter)
        n = len(self.images)
        warning = self.unprintable_warning
        self.unprintable.setText(warning)
        self.unprintable.setVisible(bool(warning))
        self.status.setText(
            f"共 {n} 页"
            + ("（补打）" if self.reprint else "")
            + ("，有字符无法打印（见上方提示）" if warning else "")
        )
        self.print_button.setEnabled(True)
        self.print_button.setFocus()
        self.pages_ready.emit(n)

    # -- printing

    def print_now(self) -> None:
        if self.pdf is None or self._printing:
            return
        self._printing = True
        self.print_button.setEnabled(False)
        self.status.setText("正在打印…")
        pdf, settings, size = self.pdf, self.ctx.printing, self.size_
        job_name = job_name_for(self.doc, reprint=self.reprint)
        output_file = None
        if settings.output_dir is not None:
            settings.output_dir.mkdir(parents=True, exist_ok=True)
            output_file = str(settings.output_dir / f"{_safe_name(job_name)}.pdf")
        request = JobRequest(
            printer=None if output_file else settings.printer_for(size),
            size=size,
            job_name=job_name,
            output_file=output_file,
            max_dpi=settings.max_dpi,
        )

        intake, document_id, reprint = self.ctx.intake, self.document_id, self.reprint
        clerk_id = self.ctx.clerk.id if self.ctx.clerk else None
        # The job outlives this dialog if the clerk closes it: the process
        # belongs to the main window, and the print is recorded either way.
        owner = self.parent() or self

        def done(answer: dict[str, Any]) -> None:
            result = Printed(str(answer["printer"]), int(answer["pages"]), size)

            def work() -> Printed:
                if document_id and clerk_id:
                    intake.record_print(
                        document_id, clerk_id, printer=result.where, size=size, reprint=reprint
                    )
                return result

            run_in_background(owner, work, success=self._printed_if_open, label="登记打印")

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                self._print_failed(exc)
            else:
                from hallapp.ui.errors import show_error, user_message

                widget = owner if isinstance(owner, QWidget) else None
                show_error(widget, user_message(exc, "打印"), logged=True)

        # The page painting runs in a child process: see hallapp.ui.printjob.
        self._job = PrintProcess(owner, pdf, request, done, failed)
        self._job.start()

    def _printed_if_open(self, result: Printed) -> None:
        if shiboken6.isValid(self):
            self._printed(result)

    def _printed(self, result: Printed) -> None:
        self._printing = False
        log.info("printed %s to %s", getattr(self.doc, "doc_no", ""), result.where)
        self.status.setText(
            f"已打印到 {Path(result.where).name if self.ctx.printing.output_dir else result.where}"
        )
        self.printed.emit(result)
        self.accept()

    def _print_failed(self, exc: BaseException) -> None:
        from hallapp.ui.errors import show_error, user_message

        self._printing = False
        self.print_button.setEnabled(True)
        message = user_message(exc, "打印")
        self.status.setText(message)
        show_error(self, message + "\n可以检查打印机后按 Ctrl+P 重新打印，或稍后在办件列表中补打。",
                   logged=True)  # fmt: skip
