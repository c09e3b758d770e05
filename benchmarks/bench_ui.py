"""The window client's responsiveness: cold start, idle memory, event-loop stalls under load.

Three figures, each measured in a fresh process (so imports and fonts count):

1. Cold start to an interactive console, twice: the configured window on
   its own database (what a clerk starts every morning: migrated, the
   catalog, staff and 600 cases; prepared once by this script) and demo
   mode (``--demo``: a fresh database seeded by a child process). Measured
   from just before the process is spawned (this script, calling
   ``hallapp.ui.app.main``) to the first idle tick of the event loop after
   the console is shown (a zero-timer queued before ``exec`` runs only once
   the loop has processed the show and paint events), and to the moment no
   background work is pending (sign-in possible; in demo mode, the data
   seeded: a sign-in typed before then goes through at that moment).
   Target: interactive in 1.5 s or less.
2. Idle memory: the same process, 3 s after everything is ready; RSS (and
   USS) by psutil. Target: 150 MB or less.
3. The longest event-loop stall while documents print and the evaluator
   streams key frames: the demo app (console, citizen screen, keypad) is
   built as ``main`` builds it; a 5 ms precise QTimer records the gap between
   its ticks while
   - documents are printed through the app's own print path, one job after
     another (two in flight): as PreviewDialog does, the document process
     (hallapp.ui.docworker) lays out the PDF (reportlab) and draws its
     preview pages (QtPdf), then hallapp.ui.printjob.PrintProcess prints it
     in a child process, to a PDF file when the printing module supports it,
     else to a CUPS queue (cups-pdf) if one exists;
   - the simulator presses keys continuously on its pseudo-terminal (one
     frame every 10 ms), while the GUI opens the evaluation of the next case
     as soon as the last one is recorded, so the driver commits evaluations
     and the citizen screen changes page all the time.
   Target: the longest gap 50 ms or less.
   With ``--print-via both`` (the default) the run is repeated with printing
   in a worker thread of the client (preview.render_document and
   print_document, the same render_pdf and print_pdf), to show why the app
   lays out and prints in child processes: reportlab is pure Python and
   PySide6 keeps the GIL in QPdfDocument.render and QPainter.drawImage.

It also prints how a signal emit changes the reference count of True (a
PySide6 6.12.0 bug that makes a long-running client crash on Python 3.11).

    .venv/bin/python benchmarks/bench_ui.py [--runs 5] [--seconds 15]
    .venv/bin/python benchmarks/bench_ui.py --runs 0 --print-via app   # the stall figure only
    .venv/bin/python benchmarks/bench_ui.py --load print --print-via thread --trace-stalls

The load figures need the Chinese font and, for printing, a PDF-capable print
path; what was not available is said in the output.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

T_CHILD = time.time()  # as soon as this script runs (after the interpreter started)
HERE = Path(__file__).resolve().parent
PYTHON = sys.executable

STARTUP_TARGET_S = 1.5
RSS_TARGET_MB = 150.0
STALL_TARGET_MS = 50.0
TICK_MS = 5


# --------------------------------------------------------------- child: startup


def child_startup(t_spawn: float, settle_s: float, t_child: float, argv: list[str]) -> int:
    """Run the real main(argv) and report when it became interactive."""
    import psutil
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    # main() reuses an existing QApplication: creating it here lets the probe
    # be queued before main() runs; the probe fires only inside app.exec().
    marks: dict[str, float] = {"child_started": t_child}
    app = QApplication([sys.argv[0]])

    def console_visible() -> bool:
        return any(
            w.isVisible() and type(w).__name__ == "ClerkConsole" for w in app.topLevelWidgets()
        )

    def first_tick() -> None:
        # Queued again: the first zero-timer may run before pending paint
        # events of the just-shown windows; the second runs after them.
        QTimer.singleShot(0, second_tick)

    def second_tick() -> None:
        marks["interactive"] = time.time()
        # CPU seconds this process used until then (all threads): less skewed by
        # other processes than the wall clock on a shared machine.
        marks["interactive_cpu"] = time.process_time()
        marks["console_visible"] = float(console_visible())
        poll.start()

    def check_ready() -> None:
        from hallapp.ui import ops

        if ops.pending() == 0 and "ready" not in marks:
            marks["ready"] = time.time()
            poll.stop()
            QTimer.singleShot(int(settle_s * 1000), measure)

    def measure() -> None:
        info = psutil.Process().memory_full_info()
        marks["rss_mb"] = info.rss / 2**20
        marks["uss_mb"] = info.uss / 2**20
        app.quit()

    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(check_ready)
    QTimer.singleShot(0, first_tick)

    marks["qt_imported"] = time.time()
    from hallapp.ui.app import main

    marks["main_called"] = time.time()
    rc = main(argv)
    marks["spawn"] = t_spawn
    print("BENCH " + json.dumps(marks), flush=True)
    return rc


# ----------------------------------------------------------------- child: stall


def _make_cases(store, n: int) -> list[str]:
    from sqlalchemy import insert, select

    from hallapp.models import Applicant, Case, CaseEvent, CaseEventKind, ServiceItem, Staff, new_id

    with store.session() as s:
        clerk = s.scalars(select(Staff).where(Staff.staff_no == "1003")).one()
        item = s.scalars(
            select(ServiceItem).where(ServiceItem.department_code == clerk.department_code)
        ).first()
        assert item is not None
        applicant = Applicant(origin_window="A03", kind="person", name="李明")
        s.add(applicant)
        s.flush()
        ids = [new_id() for _ in range(n)]
        s.execute(
            insert(Case),
            [
                {
                    "id": cid,
                    "origin_window": "A03",
                    "case_no": f"LCA03BENCH{i:06d}",
                    "item_code": item.code,
                    "applicant_id": applicant.id,
                    "window_code": "A03",
                    "department_code": item.department_code,
                    "first_responder_id": clerk.id,
                }
                for i, cid in enumerate(ids)
            ],
        )
        # 一次一评: an evaluation follows an encounter at the window; here a
        # one-time notice, which keeps the case in the clerk's list.
        s.execute(
            insert(CaseEvent),
            [
                {
                    "id": new_id(),
                    "origin_window": "A03",
                    "case_id": cid,
                    "seq": 1,
                    "kind": CaseEventKind.SUPPLEMENT_REQUESTED.value,
                    "staff_id": clerk.id,
                    "data": {"demanded": []},
                }
                for cid in ids
            ],
        )
        return ids


def _print_settings(out_dir: Path):
    """The app's print settings for the benchmark: a PDF file, else a CUPS PDF queue."""
    import inspect

    from hallapp.printing.printer import available_printers, print_pdf
    from hallapp.ui.context import PrintSettings

    if "output_file" in inspect.signature(print_pdf).parameters:
        return PrintSettings(output_dir=out_dir), f"PDF 文件（{out_dir}）"
    pdf_queues = [p for p in available_printers() if "pdf" in p.lower()]
    if pdf_queues:
        return PrintSettings(a4_printer=pdf_queues[0]), f"CUPS 队列 {pdf_queues[0]}"
    return None, "无（打印模块不支持输出到文件，也没有 PDF 打印队列）"


class _Stamper:
    """The timer's slot (a bound method: lambdas in Qt connections upset PySide at exit)."""

    def __init__(self, stamps: list[float], dump_after_s: float = 0.0, dump_to=None) -> None:
        self.stamps = stamps
        self.dump_after_s = dump_after_s
        self.dump_to = dump_to
        #: In trace mode: the GUI thread's (on-CPU, waiting-for-CPU) seconds at each tick.
        self.sched: list[tuple[float, float]] | None = [] if dump_to is not None else None

    def tick(self) -> None:
        self.stamps.append(time.perf_counter())
        if self.sched is not None:
            self.sched.append(_thread_sched_s(threading.get_native_id()))
        if self.dump_to is not None:
            import faulthandler

            # faulthandler's watchdog is a C thread that needs no GIL: when the
            # GUI thread does not tick again in time it writes every thread's
            # Python stack, the one holding the GIL included.
            faulthandler.dump_traceback_later(self.dump_after_s, file=self.dump_to)


def _thread_sched_s(native_id: int | None) -> tuple[float, float]:
    """(time on a CPU, time runnable but waiting for a CPU) of a thread, from Linux schedstat."""
    try:
        ran, waited = Path(f"/proc/self/task/{native_id}/schedstat").read_text().split()[:2]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    return int(ran) / 1e9, int(waited) / 1e9


def _watch_stalls(stamps: list[float], stop: threading.Event, out: list[str]) -> None:
    """Where the GUI thread is while the 5 ms timer has not ticked for 40 ms.

    With how the GUI thread spent the gap (Linux schedstat): on a CPU,
    runnable but waiting for a CPU (the machine is busy), or the rest,
    blocked, which for a GUI thread with nothing else to wait for is the GIL.
    """
    import traceback

    main = threading.main_thread()
    main_id = main.ident
    reported_for = -1.0
    sched_at: dict[float, tuple[float, float]] = {}
    while not stop.wait(0.01):
        if not stamps:
            continue
        last = stamps[-1]
        if last not in sched_at:
            sched_at.clear()
            sched_at[last] = _thread_sched_s(main.native_id)
        gap = time.perf_counter() - last
        if gap > 0.04 and last != reported_for and len(out) < 20:
            reported_for = last
            frame = sys._current_frames().get(main_id or 0)
            stack = "".join(traceback.format_stack(frame, limit=12)) if frame else "?"
            ran, waited = _thread_sched_s(main.native_id)
            ran -= sched_at[last][0]
            waited -= sched_at[last][1]
            blocked = gap - ran - waited
            out.append(f"--- GUI thread {1000 * gap:.0f} ms after the last tick: "
                       f"{1000 * ran:.0f} ms on a CPU, {1000 * waited:.0f} ms waiting for "
                       f"a CPU, {1000 * blocked:.0f} ms blocked:\n{stack}")  # fmt: skip


def _watch_gc(out: list[tuple[float, int, str]]) -> None:
    """Record each garbage collection's length and thread: a collection holds the GIL."""
    import gc

    started: dict[int, float] = {}

    def callback(phase: str, info: dict[str, int]) -> None:
        tid = threading.get_ident()
        if phase == "start":
            started[tid] = time.perf_counter()
        elif tid in started:
            ms = (time.perf_counter() - started.pop(tid)) * 1000
            out.append((ms, info["generation"], threading.current_thread().name))

    gc.callbacks.append(callback)


def child_stall(
    seconds: float,
    key_interval_ms: int,
    trace_stalls: bool = False,
    loads: frozenset[str] = frozenset({"print", "keys"}),
    print_via: str = "app",
    switch_interval_ms: float | None = None,
    db: Path | None = None,
) -> int:
    from hallapp.ui import ops
    from hallapp.ui.app import build_window
    from hallapp.ui.citizen import place_on_second_screen
    from hallapp.ui.docworker import document_worker
    from hallapp.ui.preview import PREVIEW_WIDTH, job_name_for, print_document, render_document
    from hallapp.ui.printjob import JobRequest, PrintProcess
    from hallapp.ui.theme import apply_theme
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from hallapp import documents as docs
    from hallapp.config import parse_config
    from hallapp.store import Store

    if trace_stalls:
        import logging

        # The client's own warnings (a slow GUI callback, a slow op) beside the gaps.
        logging.basicConfig(
            level=logging.WARNING,
            stream=sys.stderr,
            format="--- log %(relativeCreated).0f ms %(name)s: %(message)s",
        )
    app = QApplication([sys.argv[0]])
    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="hallapp-bench-ui-"))
    # Prepared by the parent (seeding loads pypinyin and Alembic, which the
    # client never does: the memory figure would not be the client's).
    assert db is not None
    store = Store.open_local(db)
    cases = _bench_cases(store)
    config = parse_config({"window": {"code": "A03"}, "evaluator": {"timeout_seconds": 30}})
    settings, print_target = _print_settings(tmp / "printed")
    window = build_window(store, config, demo=True, printing=settings)
    from hallapp.ui.interpreter import prefer_gui_thread

    prefer_gui_thread()  # as main() does once the console is shown
    if switch_interval_ms:  # instead of the client's own (hallapp.ui.interpreter)
        sys.setswitchinterval(switch_interval_ms / 1000)
    window.console.show()
    if window.citizen is not None:
        place_on_second_screen(window.citizen, "window")
    if window.sim_panel is not None:
        window.sim_panel.show()
    bridge = window.bridge
    sim = bridge.simulator
    assert sim is not None

    # Wait in the event loop until the device is connected.
    waiting = QEventLoop()
    bridge.connected_changed.connect(waiting.quit)
    QTimer.singleShot(5000, waiting.quit)
    if not bridge.connected:
        waiting.exec()
    if not bridge.connected:
        print("evaluator did not connect", file=sys.stderr)
        return 1

    # The clerk on duty with the case list in front: the evaluations then
    # update rows of a 300-case list, as at a busy window.
    console = window.console
    console.signin.staff_no.setText("1003")
    console.signin.password.setText("123456")
    signed = QEventLoop()
    console.signin.signed_in.connect(signed.quit)
    QTimer.singleShot(15000, signed.quit)
    wait_ready = time.monotonic() + 15
    while not console.signin.button.isEnabled() and time.monotonic() < wait_ready:
        app.processEvents()
        time.sleep(0.01)
    console.signin.submit()
    signed.exec()
    if not console.signed_in:
        print("the clerk could not sign in", file=sys.stderr)
        return 1
    console.show_cases()
    listed = QEventLoop()
    console.cases.refreshed.connect(listed.quit)
    QTimer.singleShot(15000, listed.quit)
    console.cases.refresh()
    listed.exec()
    shown = console.cases.model.rowCount()

    def run(measure_load: bool, duration: float) -> dict[str, float]:
        stamps: list[float] = []
        stop = threading.Event()
        counts = {"printed": 0, "pages": 0, "recorded": 0, "keys": 0, "print_errors": 0}
        next_case = iter(cases)
        jobs: set[PrintProcess] = set()

        def open_next(*_args: object) -> None:
            if stop.is_set():
                return
            case_id = next(next_case, None)
            if case_id is not None:
                bridge.open_evaluation(case_id)

        def on_recorded(*_args: object) -> None:
            counts["recorded"] += 1
            open_next()

        def print_one() -> None:
            if stop.is_set() or settings is None:
                return
            notice = docs.sample(docs.DocumentType.ONE_TIME)

            def work():
                pdf = render_document(notice, "a4", None)
                return print_document(pdf, settings, "a4", job_name_for(notice))

            def done(printed) -> None:
                counts["printed"] += 1
                counts["pages"] += printed.pages
                print_one()

            def failed(exc: BaseException) -> None:
                counts["print_errors"] += 1
                print(f"print failed: {exc}", file=sys.stderr)

            if print_via == "app":
                # The app's own print path (PreviewDialog: the document process
                # lays out the PDF and draws its preview pages, then print_now
                # hands the PDF to a PrintProcess child on stdin).
                def spool(pdf: bytes) -> None:
                    if stop.is_set():
                        return
                    job = job_name_for(notice)
                    assert settings is not None
                    output = None
                    if settings.output_dir is not None:
                        settings.output_dir.mkdir(parents=True, exist_ok=True)
                        output = str(settings.output_dir / f"{job}-{time.monotonic_ns()}.pdf")
                    request = JobRequest(
                        printer=None if output else settings.printer_for("a4"), size="a4",
                        job_name=job, output_file=output, max_dpi=settings.max_dpi,
                    )  # fmt: skip

                    def spooled(answer: dict) -> None:
                        counts["printed"] += 1
                        counts["pages"] += int(answer["pages"])
                        jobs.discard(holder[0])
                        print_one()

                    def spool_failed(exc: BaseException) -> None:
                        jobs.discard(holder[0])
                        failed(exc)

                    holder = [PrintProcess(window.console, pdf, request, spooled, spool_failed)]
                    jobs.add(holder[0])  # kept alive until it answers
                    holder[0].start()

                document_worker().render(
                    window.console, notice, "a4", PREVIEW_WIDTH, None,
                    success=lambda rendered: spool(rendered.pdf), failure=failed,
                )  # fmt: skip
                return
            ops.run_in_background(window.console, work, success=done, failure=failed,
                                  label="bench print")  # fmt: skip

        def press_keys() -> None:
            rng = random.Random(7)
            while not stop.wait(key_interval_ms / 1000):
                try:
                    sim.press(rng.choice((3, 4, 5)))
                    counts["keys"] += 1
                except Exception as exc:  # the benchmark reports, never hides
                    print(f"press failed: {exc}", file=sys.stderr)

        ticker = QTimer()
        ticker.setTimerType(Qt.TimerType.PreciseTimer)
        ticker.setInterval(TICK_MS)
        stamper = _Stamper(stamps, 0.04, dump_file if measure_load else None)  # kept alive
        ticker.timeout.connect(stamper.tick)
        presser = threading.Thread(target=press_keys, name="bench-keys", daemon=True)
        if measure_load and "keys" in loads:
            bridge.evaluation_recorded.connect(on_recorded)
            bridge.evaluation_expired.connect(open_next)
            open_next()
            presser.start()
        if measure_load and "print" in loads:
            print_one()
            print_one()  # one job rendering while the other prints
        watchdog = (
            threading.Thread(
                target=_watch_stalls,
                args=(stamps, stop, stall_traces),
                name="bench-watchdog",
                daemon=True,
            )
            if trace_stalls
            else None
        )
        if watchdog is not None:
            watchdog.start()
        ticker.start()
        # A real event loop, as app.exec() runs it, for the whole duration.
        loop = QEventLoop()
        QTimer.singleShot(int(duration * 1000), loop.quit)
        loop.exec()
        ticker.stop()
        stop.set()
        if measure_load and "keys" in loads:
            presser.join(2)
            bridge.evaluation_recorded.disconnect(on_recorded)
            bridge.evaluation_expired.disconnect(open_next)
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]
        if stamper.sched:
            # How the GUI thread spent each long gap: on a CPU (its own work),
            # waiting for a CPU (the machine is busy) or blocked (the GIL).
            for i, gap in enumerate(gaps):
                if gap > 35 and i + 1 < len(stamper.sched):
                    ran = 1000 * (stamper.sched[i + 1][0] - stamper.sched[i][0])
                    waited = 1000 * (stamper.sched[i + 1][1] - stamper.sched[i][1])
                    stall_traces.append(
                        f"--- gap {gap:.1f} ms at {stamps[i] - stamps[0]:.2f} s: GUI thread "
                        f"{ran:.1f} ms on a CPU, {waited:.1f} ms waiting for a CPU, "
                        f"{gap - ran - waited:.1f} ms blocked")  # fmt: skip
        gaps.sort()
        result: dict[str, float] = {
            "ticks": len(stamps),
            "max_gap_ms": gaps[-1] if gaps else float("nan"),
            "p99_gap_ms": gaps[int(0.99 * (len(gaps) - 1))] if gaps else float("nan"),
            "median_gap_ms": statistics.median(gaps) if gaps else float("nan"),
            "gaps_over_50ms": sum(1 for g in gaps if g > STALL_TARGET_MS),
        }
        result.update(counts)
        return result

    stall_traces: list[str] = []
    # --trace-stalls with HALLAPP_BENCH_DUMP=FILE: every thread's stack at each long gap.
    dump_path = os.environ.get("HALLAPP_BENCH_DUMP") if trace_stalls else None
    dump_file = open(dump_path, "w") if dump_path else None  # noqa: SIM115
    gc_pauses: list[tuple[float, int, str]] = []
    if trace_stalls:
        _watch_gc(gc_pauses)
    idle = run(False, 3.0)
    load = run(True, seconds)
    if trace_stalls:
        gc_pauses.sort(reverse=True)
        for ms, generation, thread in gc_pauses[:8]:
            stall_traces.append(f"--- garbage collection: {ms:.1f} ms, generation {generation}, "
                                f"in thread {thread}")  # fmt: skip
    # Let the last ops deliver before closing.
    end = time.monotonic() + 15
    while ops.pending() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    from sqlalchemy import func, select

    from hallapp.models import Evaluation

    with store.session() as s:
        stored = s.scalar(select(func.count()).select_from(Evaluation)) or 0
    import psutil

    # Memory after a session of work: the client, and its document process.
    worker_pid = document_worker().pid()
    memory = {
        "client_rss_mb": psutil.Process().memory_info().rss / 2**20,
        "docworker_rss_mb": psutil.Process(worker_pid).memory_info().rss / 2**20
        if worker_pid else float("nan"),
    }  # fmt: skip
    window.close()
    store.dispose()
    for trace in stall_traces:
        print(trace, file=sys.stderr)
    print(
        "BENCH "
        + json.dumps(
            {
                "idle": idle,
                "load": load,
                "stored": stored,
                "print_target": print_target,
                "listed": shown,
                **memory,
            }
        ),
        flush=True,
    )
    return 0


# ---------------------------------------------------------------------- parent


def _spawn(args: list[str], timeout: float, echo_stderr: bool = False) -> tuple[dict, float]:
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    # Never the developer's own config or log folder: a minimal config of our own.
    home = Path(tempfile.mkdtemp(prefix="hallapp-bench-home-"))
    (home / "hallapp.toml").write_text('[window]\ncode = "A03"\n', encoding="utf-8")
    env["HALLAPP_CONFIG"] = str(home / "hallapp.toml")
    env["HALLAPP_LOG_DIR"] = str(home / "log")
    t_spawn = time.time()
    proc = subprocess.run(
        [PYTHON, str(Path(__file__)), *args, "--t-spawn", repr(t_spawn)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if echo_stderr and proc.stderr:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        print(f"  (the {args[1]} process exited with {proc.returncode}: {' | '.join(tail)})")
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"child {args[0]} failed (exit {proc.returncode})")
    return json.loads(line[len("BENCH ") :]), t_spawn


def _prepare_window_db(cases: int = 600) -> Path:
    """A window's database as a clerk finds it in the morning: migrated, seeded, busy.

    A busy window: ~30 matters a day, promised within 8 working days, so a few
    hundred in progress in its case list (it shows 300). The stall run uses
    one case per evaluation cycle (about 40 a second), so it asks for enough
    that a run does not run out.
    """
    from hallapp.demo import seed_demo
    from hallapp.store import Store

    db = Path(tempfile.mkdtemp(prefix="hallapp-bench-window-")) / "window.sqlite3"
    store = Store.open_local(db)
    seed_demo(store)
    _make_cases(store, cases)
    store.dispose()
    return db


def _bench_cases(store) -> list[str]:
    from sqlalchemy import select

    from hallapp.models import Case

    with store.session() as s:
        return list(
            s.scalars(
                select(Case.id).where(Case.case_no.like("LCA03BENCH%")).order_by(Case.case_no)
            )
        )


def _measure_startups(title: str, extra: list[str], runs: int, ready_means: str) -> None:
    interactive: list[float] = []
    ready: list[float] = []
    rss: list[float] = []
    uss: list[float] = []
    print(f"cold start, {title}:")
    for i in range(runs):
        marks, t_spawn = _spawn(["--child", "startup", *extra], timeout=120)
        if not marks.get("console_visible"):
            raise SystemExit("the console was not visible at the first idle tick")
        phases = (
            f"python up {marks['child_started'] - t_spawn:.2f}, "
            f"Qt {marks['qt_imported'] - t_spawn:.2f}, "
            f"app module imported {marks['main_called'] - t_spawn:.2f}"
        )
        interactive.append(marks["interactive"] - t_spawn)
        ready.append(marks["ready"] - t_spawn)
        rss.append(marks["rss_mb"])
        uss.append(marks["uss_mb"])
        print(f"  run {i + 1}: console interactive {interactive[-1]:.3f} s, {ready_means} "
              f"{ready[-1]:.3f} s, idle RSS {rss[-1]:.1f} MB (USS {uss[-1]:.1f} MB); "
              f"after spawn: {phases} s; CPU until interactive "
              f"{marks.get('interactive_cpu', 0.0):.2f} s")  # fmt: skip
    first, med, worst = interactive[0], statistics.median(interactive), max(interactive)
    print(f"  to an interactive console: first {first:.3f} s, median {med:.3f} s, "
          f"max {worst:.3f} s (target <= {STARTUP_TARGET_S} s: "
          f"{'met' if worst <= STARTUP_TARGET_S else 'NOT met'})")  # fmt: skip
    print(f"  {ready_means}: median {statistics.median(ready):.3f} s, max {max(ready):.3f} s "
          f"(target <= {STARTUP_TARGET_S} s: "
          f"{'met' if max(ready) <= STARTUP_TARGET_S else 'NOT met'})")  # fmt: skip
    print(f"  idle memory: RSS median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB "
          f"(USS {statistics.median(uss):.1f} MB) (target <= {RSS_TARGET_MB:.0f} MB: "
          f"{'met' if max(rss) <= RSS_TARGET_MB else 'NOT met'})")  # fmt: skip


def signal_refcount_drift(emits: int = 100) -> int:
    """How much one Python-side signal emit changes the reference count of True.

    0 is right. PySide6 6.12.0 on Python 3.11 loses one reference per emit
    (any signal, any arguments): a long-running client then dies with "Fatal
    Python error: bool_dealloc" once True's count reaches zero (Python 3.12+
    makes True immortal, PySide6 6.11 does not have the bug).
    """
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class _Emitter(QObject):
        ping = Signal(int)

    app = QCoreApplication.instance() or QCoreApplication([sys.argv[0]])
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for i in range(emits):
        emitter.ping.emit(i)
    drift = sys.getrefcount(True) - before
    if drift < 0:
        # Give back what the emits took, so this process can exit cleanly.
        import ctypes

        ctypes.c_ssize_t.from_address(id(True)).value -= drift
    del emitter, app
    return drift // emits if emits else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="cold starts to measure")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of the load run")
    ap.add_argument("--key-interval-ms", type=int, default=10)
    ap.add_argument("--load", default="print,keys",
                    help="what runs during the stall measurement: print, keys or both")  # fmt: skip
    ap.add_argument("--print-via", choices=("app", "thread", "both"), default="both",
                    help="print as the app does (a PrintProcess child), in a worker thread "
                         "of the client (for comparison), or measure both")  # fmt: skip
    ap.add_argument(
        "--switch-interval-ms",
        type=float,
        help="the stall child's sys.setswitchinterval (default: the client's, 1 ms)",
    )
    ap.add_argument("--trace-stalls", action="store_true",
                    help="where the GUI thread was in each stall (stderr)")  # fmt: skip
    ap.add_argument("--child", choices=("startup", "stall"), help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--t-spawn", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "startup":
        argv = ["--db", args.db] if args.db else ["--demo"]
        return child_startup(args.t_spawn, settle_s=3.0, t_child=T_CHILD, argv=argv)
    if args.child == "stall":
        loads = frozenset(x for x in args.load.split(",") if x)
        return child_stall(
            args.seconds,
            args.key_interval_ms,
            args.trace_stalls,
            loads,
            args.print_via,
            args.switch_interval_ms,
            Path(args.db) if args.db else None,
        )

    import PySide6

    drift = signal_refcount_drift()
    print(f"PySide6 {PySide6.__version__}: reference count of True per signal emit: {drift:+d} "
          f"({'OK' if drift == 0 else 'BUG: a long-running client will crash (bool_dealloc)'}); "
          f"True's count now {sys.getrefcount(True)}")  # fmt: skip
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes skew every figure), "
          f"QPA {'xcb (DISPLAY)' if os.environ.get('DISPLAY') else 'offscreen'}")  # fmt: skip
    if args.runs:
        window_db = _prepare_window_db()
        _measure_startups(
            "the configured window (its database: 16 items, 11 staff, 600 cases)",
            ["--db", str(window_db)], args.runs, ready_means="sign-in possible",
        )  # fmt: skip
        _measure_startups(
            "demo mode (hallapp-window --demo: a fresh database seeded in a child process)",
            [], args.runs, ready_means="demo data ready (a sign-in typed before goes through then)",
        )  # fmt: skip

    ways = ("app", "thread") if args.print_via == "both" else (args.print_via,)
    for way in ways:
        res, _ = _spawn(
            ["--child", "stall", "--seconds", str(args.seconds),
             "--db", str(_prepare_window_db(max(600, int(60 * args.seconds)))),
             "--key-interval-ms", str(args.key_interval_ms), "--load", args.load,
             "--print-via", way, *(["--trace-stalls"] if args.trace_stalls else []),
             *(["--switch-interval-ms", str(args.switch_interval_ms)]
               if args.switch_interval_ms else [])],
            timeout=args.seconds + 180,
            echo_stderr=args.trace_stalls,
        )  # fmt: skip
        idle, load = res["idle"], res["load"]
        title = {
            "app": "printing as the app does (preview in the document process, print in a "
            "PrintProcess child)",
            "thread": "printing in a worker thread of the client (print_document), for comparison",
        }[way]
        print(f"event loop, {title}:")
        print(f"  idle ({TICK_MS} ms timer): longest gap {idle['max_gap_ms']:.1f} ms, "
              f"p99 {idle['p99_gap_ms']:.1f} ms")  # fmt: skip
        print(f"  under load for {args.seconds:.0f} s: "
              f"longest gap {load['max_gap_ms']:.1f} ms, "
              f"p99 {load['p99_gap_ms']:.1f} ms, median {load['median_gap_ms']:.1f} ms, "
              f"{load['gaps_over_50ms']} gaps > 50 ms "
              f"(target longest <= {STALL_TARGET_MS:.0f} ms: "
              f"{'met' if load['max_gap_ms'] <= STALL_TARGET_MS else 'NOT met'})")  # fmt: skip
        print(f"  load: {load['printed']} documents printed ({load['pages']} pages) to "
              f"{res['print_target']}, {load['print_errors']} print errors; {load['keys']} key "
              f"frames sent, {load['recorded']} evaluations recorded "
              f"({res['stored']} in SQLite); {res['listed']} cases in the clerk's "
              "list")  # fmt: skip
        print(f"  memory after the run: client RSS {res['client_rss_mb']:.1f} MB, document "
              f"process RSS {res['docworker_rss_mb']:.1f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
