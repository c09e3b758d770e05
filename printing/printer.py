"""Print a rendered document through Qt printing, to any installed printer.

QtPdf (PDFium) renders each page of our PDF at the printer's resolution onto
white, and QPainter paints it on a :class:`QPrinter`, so every printer Qt knows
(CUPS on Linux, the Windows spooler) works, and thermal slip printers get the
custom 80 mm × content-length paper.

Threads: :func:`print_pdf` needs a ``QGuiApplication`` to exist (create it with
:func:`ensure_gui_application` in a command-line program), but may run in a
worker thread: it only paints on a QPrinter and on QImages, which Qt allows off
the GUI thread, and it creates its own QPdfDocument. Tests run it from a Python
thread against the real CUPS queue. It blocks until the job is handed to the
spooler (about 0.1–1 s), so the UI should call it from its background helper.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRect, QSize, QSizeF
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

log = logging.getLogger(__name__)

#: Resolution cap: PDF/"virtual" printers report 1200 dpi; 600 dpi is more than
#: any office printer resolves and keeps each band's image small.
MAX_DPI = 600
# Pages are rendered in horizontal bands of at most this many pixel rows, so a
# 600 dpi A4 page needs ~12 MB of image memory instead of ~140 MB.
_BAND_ROWS = 1024
_A4_MM = (210.0, 297.0)


class PrintError(RuntimeError):
    """Printing failed; the message (Chinese) says what to check."""


@dataclass(frozen=True)
class PrintResult:
    printer_name: str
    pages: int
    dpi: int
    paper_mm: tuple[float, float]


def ensure_gui_application() -> QGuiApplication:
    """The process's QGuiApplication, created (offscreen when there is no display) if none."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        return app
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QGuiApplication(sys.argv[:1])


def available_printers() -> list[str]:
    """Names of the installed printers (CUPS queues, Windows printers)."""
    return [str(name) for name in QPrinterInfo.availablePrinterNames()]


def default_printer() -> str | None:
    name = QPrinterInfo.defaultPrinterName()
    return str(name) if name else None


def print_pdf(
    pdf: bytes,
    printer_name: str | None = None,
    size: Literal["a4", "slip"] | None = None,
    *,
    job_name: str = "HallApp 文书",
    copies: int = 1,
    max_dpi: int = MAX_DPI,
    output_file: str | None = None,
) -> PrintResult:
    """Print ``pdf`` on ``printer_name`` (the system default when None).

    ``size`` picks the paper: ``"a4"``, or ``"slip"`` (80 mm wide, as long as the
    PDF's page). None takes the paper from the PDF's first page. Pages are
    rendered at the printer's resolution, at most ``max_dpi``. With
    ``output_file`` the same path paints into that PDF file (QPrinter's PDF
    output format) instead of a printer: for machines without one, and tests.
    Raises :class:`PrintError` with a Chinese message on any failure.
    """
    if QGuiApplication.instance() is None:
        raise PrintError("打印需要先创建 QGuiApplication（程序内部错误）")
    if output_file is not None:
        return _print_to_file(pdf, size, output_file, job_name=job_name, max_dpi=max_dpi)
    name = printer_name or default_printer()
    installed = available_printers()
    if not name:
        raise PrintError(
            "没有指定打印机，系统也没有默认打印机。"
            + (f"可用的打印机：{'、'.join(installed)}" if installed else "请先安装打印机")
        )
    if name not in installed:
        listed = "、".join(installed) if installed else "（无）"
        raise PrintError(f"找不到打印机 {name}。可用的打印机：{listed}")

    # The buffer must outlive the document: QPdfDocument reads from it lazily.
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        log.info("PDF not loadable: status %s error %s", document.status(), document.error())
        raise PrintError("文书 PDF 无法读取，请重新生成后再打印")
    pages = document.pageCount()
    first = document.pagePointSize(0)
    paper_mm = _paper_mm(size, first.width(), first.height())

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPrinterName(name)
    if not printer.isValid():
        raise PrintError(
            f"打印机 {name} 当前不可用，请检查打印机是否开机、联网，或在系统中是否被停用"
        )
    printer.setDocName(job_name)
    printer.setCopyCount(max(1, copies))
    printer.setFullPage(True)
    page_size = (
        QPageSize(QPageSize.PageSizeId.A4)
        if paper_mm == _A4_MM
        else QPageSize(
            QSizeF(*paper_mm),
            QPageSize.Unit.Millimeter,
            "HallApp 80mm",
            QPageSize.SizeMatchPolicy.ExactMatch,
        )
    )
    layout = QPageLayout(
        page_size,
        QPageLayout.Orientation.Portrait,
        QMarginsF(0, 0, 0, 0),
        QPageLayout.Unit.Millimeter,
    )
    if not printer.setPageLayout(layout):
        log.warning("printer %s refused page layout %s; using its own", name, paper_mm)
    dpi = min(printer.resolution(), max_dpi)
    printer.setResolution(dpi)
    dpi = printer.resolution()

    painter = QPainter()
    if not painter.begin(printer):
        raise PrintError(f"无法开始打印到 {name}，请检查打印机状态和打印队列")
    try:
        for index in range(pages):
            if index and not printer.newPage():
                raise PrintError(f"打印到 {name} 时换页失败，请检查打印队列")
            target = printer.pageLayout().fullRectPixels(dpi)
            _paint_page(painter, document, index, target)
    finally:
        painter.end()
    document.close()
    buffer.close()
    log.info("printed %d page(s) on %s at %d dpi, paper %s mm", pages, name, dpi, paper_mm)
    return PrintResult(printer_name=name, pages=pages, dpi=dpi, paper_mm=paper_mm)


def _print_to_file(
    pdf: bytes, size: Literal["a4", "slip"] | None, path: str, *, job_name: str, max_dpi: int
) -> PrintResult:
    # Added by the UI helper (additive): the same band painting as print_pdf,
    # on a QPrinter whose output format is PDF.
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
        raise PrintError("文书 PDF 无法读取，请重新生成后再打印")
    pages = document.pageCount()
    first = document.pagePointSize(0)
    paper_mm = _paper_mm(size, first.width(), first.height())
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    printer.setDocName(job_name)
    printer.setFullPage(True)
    page_size = (
        QPageSize(QPageSize.PageSizeId.A4)
        if paper_mm == _A4_MM
        else QPageSize(
            QSizeF(*paper_mm),
            QPageSize.Unit.Millimeter,
            "HallApp 80mm",
            QPageSize.SizeMatchPolicy.ExactMatch,
        )
    )
    printer.setPageLayout(
        QPageLayout(
            page_size,
            QPageLayout.Orientation.Portrait,
            QMarginsF(0, 0, 0, 0),
            QPageLayout.Unit.Millimeter,
        )
    )
    printer.setResolution(min(printer.resolution(), max_dpi))
    dpi = printer.resolution()
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintError(f"无法写入文件 {path}，请检查文件夹是否存在、是否有写入权限")
    try:
        for index in range(pages):
            if index and not printer.newPage():
                raise PrintError(f"写入 {path} 时换页失败")
            _paint_page(painter, document, index, printer.pageLayout().fullRectPixels(dpi))
    finally:
        painter.end()
    document.close()
    buffer.close()
    log.info("printed %d page(s) to file %s at %d dpi, paper %s mm", pages, path, dpi, paper_mm)
    return PrintResult(printer_name=path, pages=pages, dpi=dpi, paper_mm=paper_mm)


def _paper_mm(size: str | None, width_pt: float, height_pt: float) -> tuple[float, float]:
    w_mm, h_mm = width_pt * 25.4 / 72, height_pt * 25.4 / 72
    if size == "a4":
        return _A4_MM
    if size == "slip":
        return (80.0, round(h_mm, 1))
    if size is not None:
        raise PrintError(f"纸张规格 {size!r} 无效，可选 a4 或 slip")
    if abs(w_mm - _A4_MM[0]) < 1 and abs(h_mm - _A4_MM[1]) < 1:
        return _A4_MM
    return (round(w_mm, 1), round(h_mm, 1))


def _paint_page(painter: QPainter, document: QPdfDocument, index: int, target: QRect) -> None:
    """Render page ``index`` at the target's pixel size in bands, each on white."""
    full = QSize(target.width(), target.height())
    for top in range(0, full.height(), _BAND_ROWS):
        rows = min(_BAND_ROWS, full.height() - top)
        options = QPdfDocumentRenderOptions()
        options.setScaledSize(full)
        options.setScaledClipRect(QRect(0, top, full.width(), rows))
        band = document.render(index, QSize(full.width(), rows), options)
        if band.isNull():
            raise PrintError("文书页面渲染失败（内存不足？），请关闭其他程序后重试")
        # QtPdf leaves the background transparent; printers need white paper.
        white = QImage(band.size(), QImage.Format.Format_RGB32)
        white.fill(QColor("white"))
        p = QPainter(white)
        p.drawImage(0, 0, band)
        p.end()
        painter.drawImage(QRect(target.x(), target.y() + top, full.width(), rows), white)
