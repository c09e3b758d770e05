"""Keep Python's full garbage collections short, so no thread holds the GIL for long.

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
start-up, after the printing modules' first load), not on a timer.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_done: set[str] = set()


def freeze_long_lived(milestone: str) -> bool:
    """Freeze what is alive now, once per ``milestone``; True when it froze this time."""
    with _lock:
        if milestone in _done:
            return False
        _done.add(milestone)
        # A young-generation pass first costs little and keeps the garbage of
        # the last moments (temporary lists of the imports) out of the freeze.
        gc.collect(0)
        gc.freeze()
        log.debug("gc: froze %d objects after %s", gc.get_freeze_count(), milestone)
        return True
