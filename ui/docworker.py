"""Documents are laid out and drawn in a child process that stays up.

``python -m hallapp.ui.docworker``, started by :class:`DocumentWorker`.

Why a process: laying out a notice is pure Python (reportlab, 10-30 ms of CPU
each, 400 ms for the first with its imports and fonts) and drawing its
preview pages runs in QtPdf calls during which PySide6 keeps the GIL. In a
worker thread of the client every stretch of that is a stretch in which the
GUI thread cannot run Python, and on a two-core window PC the waits reached
40-90 ms while documents printed and the evaluator streamed
(benchmarks/bench_ui.py --trace-stalls). In a process of its own it costs
the clerk's screen nothing, reportlab and the font subsets never enter the
client's memory, and a crash in the PDF code cannot take the client down.

Why one that stays up: starting Python with reportlab, Qt and the fonts
takes about half a second; the console starts it in the background after
sign-in (:meth:`DocumentWorker.warm_up`), so the first preview costs what
the hundredth does.

Protocol (stdin/stdout of the child, binary): one request per line, JSON::

    {"id": 7, "kind": "notice" | "duty_card", "doc": {...to_dict()...},
     "size": "a4" | "slip", "font_path": null, "width": 820}

and per request, in order, one header line and then the bytes it announces::

    RESULT {"id": 7, "pdf": 52311, "pages": [[820, 1160, 3280], ...],
            "unprintable": "", "warning": ""}\\n
    <the PDF><page 1: height x bytes-per-line bytes, QImage Format_RGB32>...
    ERROR {"id": 7, "message": "…Chinese…"}\\n

``unprintable``: the characters no installed font has (printed as □);
``warning``: the Chinese message naming them, which the preview shows.

A request ``{"id": 0, "kind": "warm_up"}`` only loads and registers
everything; it is answered with ``RESULT {"id": 0, "pdf": 0, "pages": []}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtPdf import QPdfDocument

log = logging.getLogger(__name__)

#: A request that takes longer than this (a wedged child) is failed and the child restarted.
REQUEST_TIMEOUT_MS = 60_000
#: The child's nice value: below the clerk's GUI for the CPU (it only computes).
WORKER_NICENESS = 5

_CRASHED = "生成文书的程序意外退出，请重新预览；若仍失败，请联系技术支持（详见日志）"
_TIMED_OUT = "生成文书超过 1 分钟仍未完成，已取消。请重新预览；若仍失败，请联系技术支持"
_NOT_STARTED = "无法启动生成文书的程序，请检查程序安装是否完整"


# ------------------------------------------------------------------ drawing


def render_pages(pdf: bytes, width: int) -> list[QImage]:
    """Each page as an image ``width`` pixels wide, on white (the child's work)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(pdf))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    document.load(buffer)
    images: list[QImage] = []
    try:
        if document.status() != QPdfDocument.Status.Ready:
            from hallapp.printing.printer import PrintError

            raise PrintError("文书 PDF 无法读取，请重新生成后再预览")
        for index in range(document.pageCount()):
            pt = document.pagePointSize(index)
            height = max(1, round(width * pt.height() / pt.width()))
            # QtPdf leaves the background transparent; paper is white.
            white = QImage(QSize(width, height), QImage.Format.Format_RGB32)
            white.fill(QColor("white"))
            painter = QPainter(white)
            try:
                # One call per page: in this process no GUI thread waits for
                # the GIL that PySide6 keeps during the render.
                painter.drawImage(0, 0, document.render(index, QSize(width, height)))
            finally:
                painter.end()
            images.append(white)
    finally:
        document.close()
        buffer.close()
    return images


def _document(kind: str, data: dict[str, Any]) -> Any:
    from hallapp.documents import DutyCard, Notice

    if kind == "notice":
        return Notice.from_dict(data)
    if kind == "duty_card":
        return DutyCard.from_dict(data)
    raise ValueError(f"unknown document kind {kind!r}")


def _expected_message(exc: BaseException) -> str | None:
    """The exception's own Chinese message when it was written for the clerk."""
    from hallapp.printing.fonts import FontError
    from hallapp.printing.layout import RenderError
    from hallapp.printing.printer import PrintError

    from hallapp.documents import DocumentContentError

    if isinstance(exc, FontError | RenderError | PrintError | DocumentContentError) and str(exc):
        return str(exc)
    return None


def handle(request: dict[str, Any], out: BinaryIO) -> None:
    """Answer one request on ``out`` (the child's loop body; also used by tests in-process)."""
    rid = int(request.get("id", -1))
    try:
        from hallapp.printing.render import render_checked, warm_up

        if request.get("kind") == "warm_up":
            warm_up(request.get("font_path"))
            _write(out, {"id": rid, "pdf": 0, "pages": []}, [])
            return
        doc = _document(str(request["kind"]), request["doc"])
        rendered = render_checked(doc, request["size"], font_path=request.get("font_path"))
        pdf = rendered.pdf
        images = render_pages(pdf, int(request["width"]))
    except Exception as exc:
        message = _expected_message(exc)
        if message is None:
            traceback.print_exc(file=sys.stderr)
            # The traceback went to stderr, which the parent writes to its log.
            message = ("生成文书失败：程序内部出错，详细记录已写入日志。"
                       "请重试；若仍失败，请联系技术支持并提供日志文件")  # fmt: skip
        header = json.dumps({"id": rid, "message": message}, ensure_ascii=False)
        out.write(b"ERROR " + header.encode("utf-8") + b"\n")
        out.flush()
        return
    pages = [[img.width(), img.height(), img.bytesPerLine()] for img in images]
    answer = {"id": rid, "pdf": len(pdf), "pages": pages,
              "unprintable": rendered.unprintable, "warning": rendered.warning}  # fmt: skip
    _write(out, answer, [pdf, *images])


def _write(out: BinaryIO, header: dict[str, Any], payload: list[Any]) -> None:
    out.write(b"RESULT " + json.dumps(header).encode("ascii") + b"\n")
    for part in payload:
        if isinstance(part, QImage):
            out.write(bytes(part.constBits()))
        else:
            out.write(part)
    out.flush()


def main() -> int:
    """The child's loop: requests on stdin until it closes."""
    from hallapp.printing.printer import ensure_gui_application

    ensure_gui_application()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing else may write to stdout: it carries the answers' bytes.
    sys.stdout = sys.stderr
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:
            print(f"docworker: not a request: {line[:200]!r}", file=sys.stderr)
            continue
        handle(request, stdout)
    return 0


# ------------------------------------------------------------------ client


@dataclass
class Rendered:
    """What a preview shows and prints: the PDF and its pages as images."""

    pdf: bytes
    images: list[QImage] = field(default_factory=list)
    #: Characters no installed font has (printed as □), and the Chinese
    #: warning naming them (made in the child: no reportlab here).
    unprintable: str = ""
    warning: str = ""


@dataclass
class _Pending:
    rid: int
    op: Any  # hallapp.ui.ops.Op
    header: dict[str, Any] | None = None


class DocumentWorker(QObject):
    """The GUI side: sends requests to the child, delivers results on the GUI thread.

    Requests are answered in order, one at a time (the child has one thread:
    renders would only take turns on the GIL anyway). The child starts on the
    first request, or ahead of it with :meth:`warm_up`; if it dies or hangs,
    the requests waiting on it fail with a Chinese message and the next one
    starts a new child.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtCore import QTimer

        self._process: Any = None  # QProcess
        self._pending: deque[_Pending] = deque()
        self._buffer = bytearray()
        self._ids = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REQUEST_TIMEOUT_MS)
        self._timer.timeout.connect(self._on_timeout)
        self.starts = 0  # how many children were started (tests, the log)

    # -- public

    def render(
        self,
        parent: QObject | None,
        doc: Any,
        size: str,
        width: int,
        font_path: str | None,
        *,
        success: Callable[[Rendered], None],
        failure: Callable[[BaseException], None] | None = None,
        label: str = "生成打印预览",
    ) -> Any:
        """Lay out ``doc`` (Notice or DutyCard) and draw its pages ``width`` px wide."""
        from hallapp.documents import DutyCard

        kind = "duty_card" if isinstance(doc, DutyCard) else "notice"
        request = {"kind": kind, "doc": doc.to_dict(), "size": size, "font_path": font_path,
                   "width": width}  # fmt: skip
        return self._send(parent, request, success, failure, label)

    def warm_up(self, font_path: str | None = None) -> Any:
        """Start the child now and load what the first document needs."""
        return self._send(None, {"kind": "warm_up", "font_path": font_path},
                          None, lambda exc: None, "准备文书打印")  # fmt: skip

    def pid(self) -> int:
        """The child's process id, 0 when none runs."""
        return int(self._process.processId()) if self._process is not None else 0

    def stop(self) -> None:
        """Close the child (at exit); what waited on it fails quietly."""
        process, self._process = self._process, None
        if process is not None:
            process.closeWriteChannel()
            if not process.waitForFinished(3000):
                process.kill()
                process.waitForFinished(1000)
        self._fail_all(None)

    # -- the child

    def _send(self, parent: QObject | None, request: dict[str, Any],
              success: Callable[[Any], None] | None, failure: Any, label: str) -> Any:  # fmt: skip
        from hallapp.ui.ops import track

        op = track(parent, success=success, failure=failure, label=label)
        self._ids += 1
        request["id"] = self._ids
        self._ensure_started()
        self._pending.append(_Pending(self._ids, op))
        line = json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n"
        if self._process is not None:  # None: it failed to start meanwhile (op failed)
            self._process.write(line)
        if not self._timer.isActive():
            self._timer.start()
        return op

    def _ensure_started(self) -> None:
        from PySide6.QtCore import QProcess

        if self._process is not None:
            return
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "hallapp.ui.docworker"])
        # C++ signals into Python slots: no Python-side emit involved.
        process.readyReadStandardOutput.connect(self._on_output)
        process.readyReadStandardError.connect(self._on_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        process.started.connect(self._on_started)
        self._process = process
        self._buffer.clear()
        # Asynchronous: what is written before the child runs waits in QProcess's buffer.
        process.start()
        self.starts += 1

    def _on_started(self) -> None:
        if self._process is None:
            return
        pid = int(self._process.processId())
        if hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, pid, WORKER_NICENESS)
            except OSError as exc:
                log.info("docworker %d: priority not lowered (%s)", pid, exc)
        log.info("docworker started (pid %d)", pid)

    def _on_error(self, error: object) -> None:
        from PySide6.QtCore import QProcess

        if self._process is None or self.sender() is not self._process:
            return
        if error == QProcess.ProcessError.FailedToStart:
            log.error("docworker did not start: %s", self._process.errorString())  # type: ignore[attr-defined]
            self._process.deleteLater()
            self._process = None
            self._fail_all(_NOT_STARTED)

    def _on_stderr(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        if text.strip():
            log.info("docworker: %s", text.strip()[-4000:])

    def _on_output(self) -> None:
        if self._process is None:
            return
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        while self._pending and self._take_one():
            pass
        if self._pending:
            self._timer.start()  # progress: the next answer gets the full time
        else:
            self._timer.stop()

    def _take_one(self) -> bool:
        """Deliver the oldest request if its whole answer has arrived."""
        from hallapp.printing.printer import PrintError

        head = self._pending[0]
        buf = self._buffer
        if head.header is None:
            end = buf.find(b"\n")
            if end < 0:
                return False
            line = bytes(buf[:end])
            del buf[: end + 1]
            kind, _, body = line.partition(b" ")
            data = json.loads(body)
            if int(data.get("id", -1)) != head.rid:
                log.error("docworker answered %s for request %s", data.get("id"), head.rid)
                self._restart(_CRASHED)
                return False
            if kind == b"ERROR":
                self._pending.popleft()
                head.op.fail(PrintError(str(data.get("message") or _CRASHED)))
                return True
            head.header = data
        header = head.header
        pages = [(int(w), int(h), int(bpl)) for w, h, bpl in header["pages"]]
        need = int(header["pdf"]) + sum(h * bpl for _w, h, bpl in pages)
        if len(buf) < need:
            return False
        pdf = bytes(buf[: int(header["pdf"])])
        at = int(header["pdf"])
        images: list[QImage] = []
        for w, h, bpl in pages:
            chunk = bytes(buf[at : at + h * bpl])
            at += h * bpl
            # copy(): the image owns its pixels, not the bytes object.
            images.append(QImage(chunk, w, h, bpl, QImage.Format.Format_RGB32).copy())
        del buf[:need]
        self._pending.popleft()
        unprintable, warning = header.get("unprintable") or "", header.get("warning") or ""
        head.op.deliver(Rendered(pdf, images, str(unprintable), str(warning)))
        return True

    def _on_finished(self, code: int, _status: object) -> None:
        if self._process is None or self.sender() is not self._process:
            return
        log.error("docworker exited (%s) with %d request(s) waiting", code, len(self._pending))
        self._process.deleteLater()
        self._process = None
        self._fail_all(_CRASHED)

    def _on_timeout(self) -> None:
        if self._pending:
            log.error("docworker: no answer in %d ms; restarting it", REQUEST_TIMEOUT_MS)
            self._restart(_TIMED_OUT)

    def _restart(self, message: str) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.finished.disconnect(self._on_finished)
            process.kill()
            process.waitForFinished(1000)
            process.deleteLater()
        self._fail_all(message)

    def _fail_all(self, message: str | None) -> None:
        from hallapp.printing.printer import PrintError

        self._timer.stop()
        self._buffer.clear()
        while self._pending:
            op = self._pending.popleft().op
            if message is None:
                op.drop()  # closing down: nobody is waiting for the page images
            else:
                op.fail(PrintError(message))


_the_worker: DocumentWorker | None = None


def document_worker() -> DocumentWorker:
    """The process-wide worker (create it on the GUI thread)."""
    global _the_worker
    import shiboken6

    if _the_worker is None or not shiboken6.isValid(_the_worker):
        _the_worker = DocumentWorker()
    return _the_worker


def stop_document_worker() -> None:
    if _the_worker is not None:
        import shiboken6

        if shiboken6.isValid(_the_worker):
            _the_worker.stop()


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
