"""Printing through the real CUPS spooler (queue HallAppPDF, cups-pdf) with our Qt print path.

The print path rasterises each page (QtPdf) at the printer's resolution, so the
PDF cups-pdf writes holds images, not text: the tests read it back the way a
person would, with OCR (tesseract) and a QR reader, and check its paper size.
"""

from __future__ import annotations

import threading
import uuid
from typing import Literal

import pytest
from hallapp.printing.printer import PrintError, PrintResult, available_printers, print_pdf
from hallapp.printing.render import render_pdf

from hallapp.documents import DocumentType, Notice, sample

A4_PT = (595.0, 842.0)
SLIP_WIDTH_PT = 80 / 25.4 * 72


def _print_in_worker(pdf: bytes, printer: str, size, job: str) -> PrintResult:
    """Print from a plain worker thread, as the window client does."""
    results: list[PrintResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            # 300 dpi keeps the suite quick; the window prints at up to 600.
            results.append(print_pdf(pdf, printer, size, job_name=job, max_dpi=300))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "printing hung"
    if errors:
        raise errors[0]
    return results[0]


@pytest.mark.cups
@pytest.mark.slow
@pytest.mark.parametrize(
    ("doc_type", "size", "long"),
    [
        (DocumentType.ACCEPTANCE, "a4", False),
        (DocumentType.ONE_TIME, "slip", False),
        (DocumentType.CONDITIONAL, "a4", True),
    ],
)
def test_prints_through_cups(
    qapp, tools, cups_queue, doc_type, size: Literal["a4", "slip"], long: bool
) -> None:
    assert cups_queue in available_printers()
    notice = sample(doc_type, long=long)
    assert isinstance(notice, Notice)
    pdf = render_pdf(notice, size)
    source = tools.info(tools.save(pdf, "source.pdf"))
    job = f"hallapp-test-{uuid.uuid4().hex[:10]}"

    result = _print_in_worker(pdf, cups_queue, size, job)

    assert result.printer_name == cups_queue and result.pages == source.pages
    assert result.dpi == 300
    printed = tools.wait_for_cups_output(job)
    info = tools.info(printed)
    assert info.pages == source.pages
    if size == "a4":
        assert (info.width_pt, info.height_pt) == pytest.approx(A4_PT, abs=1.5)
    else:
        assert info.width_pt == pytest.approx(SLIP_WIDTH_PT, abs=1.5)
        assert info.height_pt == pytest.approx(source.height_pt, abs=1.5)
    # What came out of the spooler is the document: its QR code reads back...
    assert tools.qr(printed, dpi=200)[:1] == [notice.qr_url]
    # ...and its words can be read off the printed page.
    text = tools.ocr(printed)
    if text is not None:
        seen = tools.squash(text)
        for word in (notice.doc_type.heading, "连城县住房和城乡建设局", "2026"):
            assert word in seen, f"{word!r} not read on the printed page: {seen[:400]}"


@pytest.mark.cups
def test_unknown_printer_is_named_in_the_error(qapp, cups_queue) -> None:
    pdf = render_pdf(sample(DocumentType.REJECTION), "a4")
    with pytest.raises(PrintError, match="找不到打印机 没有这台") as err:
        print_pdf(pdf, "没有这台", "a4")
    assert cups_queue in str(err.value)  # and the message lists what there is


def test_a_broken_pdf_is_refused(qapp) -> None:
    names = available_printers()
    if not names:
        pytest.skip("no printer installed")
    with pytest.raises(PrintError, match="无法读取"):
        print_pdf(b"%PDF-1.4 garbage", names[0], "a4")
