"""The client's interpreter, tuned so the GUI thread never waits long for the GIL.

Two knobs, both measured with benchmarks/bench_ui.py --trace-stalls:

Garbage collection:
A generation-2 collection walks every container object the collector tracks
and holds the GIL throughout. After start-up this client holds a few hundred
thousand long-lived ones (modules, classes, SQLAlchemy's mappers and compiled
statements, Qt wrappers), so a full collection triggered by a worker that
happens to allocate (a document rendering, a query) took 88 ms, and the GUI
thread, waiting for the GIL, froze for as long (benchmarks/bench_ui.py
``--trace-stalls``). ``gc.freeze()`` moves every object alive now to a
permanent generation the collector never walks: objects that live for the
whole session anyway. Later collections walk only what was made since.

Freezing is O(1) (lists are spliced) and safe to call from any thread. The
cost: garbage that happens to exist at the moment of freezing is never
reclaimed, so it is called at points where little garbage is pending (after
the window is built), not on a timer.

The GIL's switch interval. A thread that wants the GIL waits for the holder
to drop it at the next switch interval (Python's default: 5 ms), and when
several threads want it the GUI thread may lose a few rounds: with the
evaluator's driver, database workers and the citizen screen all busy, waits
of 50-60 ms were seen. At 1 ms the rounds are five times shorter; the
workers lose nothing that matters (3,442 evaluations in 90 s against 3,336
at 5 ms: within the noise).
"""

from __future__ import annotations

import gc
import logging
import sys

log = logging.getLogger(__name__)

#: sys.setswitchinterval for the client (seconds).
SWITCH_INTERVAL_S = 0.001


def prefer_gui_thread() -> None:
    """Shorten the GIL's switch interval (see the module docstring); idempotent.

    main() calls it once the console is on screen: during start-up the GUI
    thread is the one doing the work, and short rounds only hand the GIL to
    the threads starting beside it more often.
    """
    if sys.getswitchinterval() != SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        log.debug("GIL switch interval set to %.1f ms", 1000 * SWITCH_INTERVAL_S)


def freeze_long_lived() -> None:
    """Freeze what is alive now (build_window calls it once the window exists)."""
    # A young-generation pass first costs little and keeps the garbage of the
    # last moments (temporary lists of the imports) out of the freeze.
    gc.collect(0)
    gc.freeze()
    log.debug("gc: froze %d objects", gc.get_freeze_count())
