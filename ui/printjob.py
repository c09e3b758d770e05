"""One print job in a child process: ``python -m hallapp.ui.printjob`` (the PDF on stdin).

Why a process: painting a page for the printer (QtPdf render, QPainter on a
QPrinter) runs in C++ calls during which PySide6 keeps Python's GIL, for tens
to hundreds of milliseconds each at printer resolution. In a worker thread of
the client that freezes the GUI thread's Python code (timers, the evaluator's
events) for as long; in a child process it costs the clerk's screen nothing.

The child imports only the printing module (no widgets) and answers with one
line on stdout: ``RESULT {json}`` or ``ERROR {json}`` (a Chinese message).
:class:`PrintProcess` runs it from the GUI with QProcess, asynchronously.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: A stuck driver must not keep the job (and the dialog) waiting forever.
TIMEOUT_MS = 120_000


#: The print child's nice value. Painting pages at printer resolution takes
#: a CPU for a second or more; on a two-core window PC the clerk's GUI thread
#: otherwise queues behind it for the CPU (tens of milliseconds a time, seen
#: with benchmarks/bench_ui.py --trace-stalls). The job only finishes a little
#: later on a busy machine, never slower on an idle one.
PRINT_NICENESS = 10


def _lower_priority(pid: int) -> None:
    if pid <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, PRINT_NICENESS)
    except OSError as exc:  # the job still prints, only at normal priority
        log.info("print job %d: priority not lowered (%s)", pid, exc)


@dataclass(frozen=True)
class JobRequest:
    printer: str | None
    size: str
    job_name: str
    output_file: str | None = None
    max_dpi: int | None = None

    def argv(self) -> list[str]:
        args = ["--size", self.size, "--job", self.job_name]
        if self.printer:
            args += ["--printer", self.printer]
        if self.output_file:
            args += ["--output", self.output_file]
        if self.max_dpi:
            args += ["--max-dpi", str(self.max_dpi)]
        return args


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hallapp-printjob")
    p.add_argument("--printer")
    p.add_argument("--size", choices=("a4", "slip"), default="a4")
    p.add_argument("--job", default="HallApp 文书")
    p.add_argument("--output")
    p.add_argument("--max-dpi", type=int)
    args = p.parse_args(argv)
    from hallapp.printing.printer import PrintError, ensure_gui_application, print_pdf

    pdf = sys.stdin.buffer.read()
    try:
        ensure_gui_application()
        extra: dict[str, Any] = {}
        if args.max_dpi:
            extra["max_dpi"] = args.max_dpi
        if args.output:
            extra["output_file"] = args.output
        result = print_pdf(pdf, args.printer, args.size, job_name=args.job, **extra)
    except PrintError as exc:
        print("ERROR " + json.dumps({"message": str(exc)}, ensure_ascii=False), flush=True)
        return 1
    except Exception:  # reported to the parent, which logs our stderr and shows the message
        traceback.print_exc(file=sys.stderr)
        message = "打印程序内部出错，详细记录已写入日志。请重试，或检查打印机设置"
        print("ERROR " + json.dumps({"message": message}, ensure_ascii=False), flush=True)
        return 1
    answer = {
        "printer": result.printer_name,
        "pages": result.pages,
        "dpi": result.dpi,
        "paper_mm": list(result.paper_mm),
    }
    print("RESULT " + json.dumps(answer, ensure_ascii=False), flush=True)
    return 0


def parse_answer(stdout: str) -> dict[str, Any]:
    """The child's answer; raises PrintError with its message, or if it said nothing."""
    from hallapp.printing.printer import PrintError

    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            data: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return data
        if line.startswith("ERROR "):
            raise PrintError(str(json.loads(line[len("ERROR ") :])["message"]))
    raise PrintError("打印程序没有返回结果，请重试；若仍失败，请联系技术支持（详见日志）")


class PrintProcess:
    """Run one job in a child process; ``done(answer)`` or ``failed(exc)`` on the GUI thread."""

    def __init__(
        self,
        parent: Any,
        pdf: bytes,
        request: JobRequest,
        done: Callable[[dict[str, Any]], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        from PySide6.QtCore import QProcess, QTimer

        self.request = request
        self._done, self._failed = done, failed
        self._finished = False
        self.process = QProcess(parent)
        self.process.setProgram(sys.executable)
        self.process.setArguments(["-m", "hallapp.ui.printjob", *request.argv()])
        # A C++ signal into a Python slot: no Python-side emit involved.
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TIMEOUT_MS)
        self._timer.timeout.connect(self._on_timeout)
        self._pdf = pdf

    def start(self) -> None:
        self.process.start()
        _lower_priority(int(self.process.processId()))
        self.process.write(self._pdf)
        self.process.closeWriteChannel()
        self._timer.start()

    def _on_finished(self, code: int, _status: object) -> None:
        import shiboken6

        if self._finished or not shiboken6.isValid(self.process):
            return
        self._finished = True
        self._timer.stop()
        out = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        err = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        if err.strip():
            log.info("print job %s stderr: %s", self.request.job_name, err.strip()[-2000:])
        try:
            answer = parse_answer(out)
        except Exception as exc:
            log.warning("print job %s failed (exit %s)", self.request.job_name, code)
            self._failed(exc)
            return
        self._done(answer)

    def _on_error(self, error: object) -> None:
        from PySide6.QtCore import QProcess

        if error == QProcess.ProcessError.FailedToStart and not self._finished:
            log.error("print job %s: the child process did not start", self.request.job_name)
            from hallapp.printing.printer import PrintError

            self._finished = True
            self._timer.stop()
            self._failed(PrintError("无法启动打印程序，请检查程序安装是否完整"))

    def _on_timeout(self) -> None:
        if self._finished:
            return
        from hallapp.printing.printer import PrintError

        self._finished = True
        self.process.kill()
        self._failed(
            PrintError("打印超过 2 分钟仍未完成，已取消。请检查打印机和打印队列后重新打印")
        )


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
