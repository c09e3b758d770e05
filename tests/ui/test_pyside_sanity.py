"""Guards against a PySide6 release that would crash the window client mid-shift.

PySide6 6.12.0 on Python 3.11 dropped a reference to ``True`` on every
``Signal.emit``; after a few thousand emits the interpreter aborted with
"bool_dealloc". The client emits on every background op and evaluator event,
so such a release must never be installed (see the pin in pyproject.toml).
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    value = Signal(int)
    flag = Signal(bool)
    bare = Signal()


def test_emitting_signals_leaves_reference_counts_alone(qapp):
    emitter = _Emitter()
    seen: list[object] = []
    emitter.value.connect(seen.append)
    emitter.flag.connect(seen.append)
    emitter.bare.connect(lambda: seen.append(None))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.value.emit(i)
        emitter.flag.emit(i % 2 == 0)
        emitter.bare.emit()
    seen.clear()
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert abs(after[0] - before[0]) < 20 and abs(after[1] - before[1]) < 20, (before, after)


def test_qtpdf_is_available(qapp):
    # The print path renders PDFs with QtPdf: it must come with the pinned packages.
    from PySide6.QtPdf import QPdfDocument

    assert QPdfDocument() is not None
