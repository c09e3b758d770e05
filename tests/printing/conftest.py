"""Helpers for the document tests: read PDFs back with poppler, QR codes with zbar.

Everything here runs the real tools on real files; nothing is mocked.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CUPS_QUEUE = "HallAppPDF"
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} is required for the document tests (bash .ci/bootstrap installs it)")
    return path


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=data, capture_output=True, timeout=120, check=False)


def squash(text: str) -> str:
    """Text without any whitespace: CJK lines wrap anywhere, compare the characters."""
    return re.sub(r"\s+", "", text)


def write_pdf(tmp: Path, pdf: bytes, name: str = "doc.pdf") -> Path:
    path = tmp / name
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: Path) -> str:
    """Text in content order (-raw), so a wrapped paragraph stays together."""
    out = _run([_need("pdftotext"), "-raw", "-enc", "UTF-8", str(pdf), "-"])
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode("utf-8")


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    width_pt: float
    height_pt: float


def pdf_info(pdf: Path) -> PdfInfo:
    out = _run([_need("pdfinfo"), str(pdf)])
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    pages = int(re.search(r"^Pages:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", text, re.M)
    assert size, text
    return PdfInfo(pages, float(size.group(1)), float(size.group(2)))


@dataclass(frozen=True)
class FontRow:
    name: str
    type: str
    embedded: bool


def pdf_fonts(pdf: Path) -> list[FontRow]:
    out = _run([_need("pdffonts"), str(pdf)])
    assert out.returncode == 0, out.stderr.decode()
    rows = []
    for line in out.stdout.decode().splitlines()[2:]:
        parts = line.split()
        # name type [type2] encoding emb sub uni object ID
        emb = parts[-5]
        rows.append(FontRow(parts[0], " ".join(parts[1:-6]), emb == "yes"))
    return rows


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    page_w: float
    page_h: float


_WORD = re.compile(
    r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>'
)


def pdf_words(pdf: Path) -> list[Word]:
    """Every word with its box and its page's size (pdftotext -bbox)."""
    out = _run([_need("pdftotext"), "-bbox", str(pdf), "-"])
    assert out.returncode == 0, out.stderr.decode()
    html = out.stdout.decode("utf-8")
    words: list[Word] = []
    for page_no, page in enumerate(re.finditer(r"<page (.*?)</page>", html, re.S), 1):
        head = re.match(r'width="([\d.]+)" height="([\d.]+)"', page.group(1))
        assert head
        pw, ph = float(head.group(1)), float(head.group(2))
        for m in _WORD.finditer(page.group(1)):
            words.append(
                Word(page_no, m.group(5), *(float(m.group(i)) for i in range(1, 5)), pw, ph)
            )
    return words


def decode_qr(pdf: Path, tmp: Path, *, dpi: int = 200) -> list[str]:
    """All QR codes zbarimg finds on the pages of ``pdf``."""
    prefix = tmp / f"{pdf.stem}-qr"
    out = _run([_need("pdftoppm"), "-r", str(dpi), "-png", str(pdf), str(prefix)])
    assert out.returncode == 0, out.stderr.decode()
    found: list[str] = []
    for png in sorted(tmp.glob(f"{pdf.stem}-qr*.png")):
        res = _run([_need("zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)])
        # zbarimg exits 4 when it finds no code on the image.
        assert res.returncode in (0, 4), res.stderr.decode()
        found += [line for line in res.stdout.decode().splitlines() if line]
    return found


# --- CUPS ---------------------------------------------------------------------------------


def _cups_running() -> bool:
    lpstat = shutil.which("lpstat")
    if not lpstat:
        return False
    res = _run([lpstat, "-p", CUPS_QUEUE])
    return res.returncode == 0 and b"disabled" not in res.stdout


def cups_pdf_out_dir() -> Path:
    """Where cups-pdf writes this user's jobs (the Out setting of cups-pdf.conf)."""
    out = "/var/spool/cups-pdf/${USER}"
    if CUPS_PDF_CONF.exists():
        for line in CUPS_PDF_CONF.read_text(encoding="utf-8", errors="replace").splitlines():
            m = re.match(r"\s*Out\s+(\S.*)$", line)
            if m:
                out = m.group(1).strip()
    user = pwd.getpwuid(os.getuid())
    return Path(out.replace("${HOME}", user.pw_dir).replace("${USER}", user.pw_name))


@pytest.fixture
def cups_queue() -> str:
    """The real CUPS PDF queue; fails instead of skipping when CI requires CUPS."""
    if not _cups_running():
        if os.environ.get("HALLAPP_REQUIRE_CUPS") == "1":
            pytest.fail(f"CUPS with the {CUPS_QUEUE} queue is required (run bash .ci/services)")
        pytest.skip(f"no CUPS queue {CUPS_QUEUE} (run bash .ci/services)")
    return CUPS_QUEUE


def wait_for_cups_output(job_name: str, timeout: float = 90) -> Path:
    """The PDF cups-pdf wrote for the job titled ``job_name`` (complete and readable)."""
    out_dir = cups_pdf_out_dir()
    deadline = time.monotonic() + timeout
    last_size = -1
    while time.monotonic() < deadline:
        hits = sorted(out_dir.glob(f"{job_name}*.pdf")) if out_dir.exists() else []
        if hits:
            size = hits[0].stat().st_size
            if size and size == last_size and _run(["pdfinfo", str(hits[0])]).returncode == 0:
                return hits[0]
            last_size = size
        time.sleep(0.5)
    pytest.fail(f"cups-pdf wrote no file for job {job_name} in {out_dir} within {timeout:.0f} s")


def ocr_text(pdf: Path, tmp: Path, *, dpi: int = 200) -> str | None:
    """What tesseract reads at the top of page 1 (None when tesseract is not installed)."""
    tesseract = shutil.which("tesseract")
    if not tesseract:
        if os.environ.get("HALLAPP_REQUIRE_CUPS") == "1":
            pytest.fail("tesseract (tesseract-ocr-chi-sim) is required to read printed pages")
        return None
    prefix = tmp / f"{pdf.stem}-ocr"
    # Only the head of the first page (OCR of a whole page takes half a minute):
    # hall, department, title, number and the opening sentence are there.
    crop = ["-x", "0", "-y", "0", "-W", str(int(8.5 * dpi)), "-H", str(int(3.2 * dpi))]
    _run(
        [
            _need("pdftoppm"),
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            *crop,
            "-png",
            str(pdf),
            str(prefix),
        ]
    )
    png = sorted(tmp.glob(f"{pdf.stem}-ocr*.png"))[0]
    res = subprocess.run(
        [tesseract, str(png), "-", "-l", "chi_sim+eng"],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode("utf-8")


class PdfTools:
    """The helpers above, handed to tests as a fixture (tests cannot import conftest)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._n = 0

    def save(self, pdf: bytes, name: str | None = None) -> Path:
        self._n += 1
        return write_pdf(self.tmp, pdf, name or f"doc{self._n}.pdf")

    squash = staticmethod(squash)
    text = staticmethod(pdf_text)
    info = staticmethod(pdf_info)
    fonts = staticmethod(pdf_fonts)
    words = staticmethod(pdf_words)
    wait_for_cups_output = staticmethod(wait_for_cups_output)

    def qr(self, pdf: Path, dpi: int = 200) -> list[str]:
        return decode_qr(pdf, self.tmp, dpi=dpi)

    def ocr(self, pdf: Path, dpi: int = 200) -> str | None:
        return ocr_text(pdf, self.tmp, dpi=dpi)


@pytest.fixture
def tools(tmp_path: Path) -> PdfTools:
    return PdfTools(tmp_path)
