"""Regenerate the supervisor view's screenshots (supervisor-*.png) and the
published PDF's first page (docs/documents/report-month-a4-1.png).

Run under a real X server (Xvfb is enough)::

    xvfb-run -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/screenshots/supervisor_screenshots.py

It generates a hall history (`hallapp demo-data`: 8 windows, 6 months) on a
fresh SQLite store, opens the view as the demo supervisor on September 2026
and saves each tab, then exports the month's PDF and renders it with pdftoppm.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import qtwait
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent
DOCS = OUT.parent / "documents"


def pump(until: object, timeout: float = 60.0) -> None:
    qtwait.pump(until, timeout)  # the supervisor view's first load is a whole history


def settle(seconds: float = 0.5) -> None:
    qtwait.settle(seconds)


def main() -> int:
    app = QApplication(sys.argv[:1])
    import sqlalchemy as sa
    from hallapp.ui.supervisor_app import SupervisorWindow, _staff_view
    from hallapp.ui.theme import apply_theme

    from hallapp.config import parse_config
    from hallapp.demodata import HistoryParams, generate
    from hallapp.models import Role, Staff
    from hallapp.store import Store, sqlite_url

    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="hallapp-shots-"))
    store = Store.open(sqlite_url(tmp / "central.sqlite3"))
    # The history ends yesterday, so the queue shows today's work as it would be.
    generate(store, HistoryParams(windows=8, months=6, per_day=20, seed=2))
    today = date.today()
    last = date(today.year, today.month, 1) - timedelta(days=1)
    key = f"{last:%Y-%m}"
    with store.session() as s:
        person = s.scalar(sa.select(Staff).where(Staff.staff_no == "9001"))
        assert person is not None and Role(person.role) is Role.SUPERVISOR
        staff = _staff_view(person)
    config = parse_config({"hall": {"code": "LC"}, "window": {"code": "A01"}})
    window = SupervisorWindow(store, config, staff)
    view = window.view
    window.resize(1560, 940)
    window.show()
    loaded: list[object] = []
    view.loaded.connect(loaded.append)
    view.choose(key)
    pump(lambda: loaded and loaded[-1].period.key == key)  # type: ignore[attr-defined]
    settle()
    for index, name in ((0, "supervisor-tally"), (1, "supervisor-ranking"),
                        (2, "supervisor-charts"), (3, "supervisor-cases"),
                        (5, "supervisor-accountability"), (6, "supervisor-follow-up")):  # fmt: skip
        view.tabs.setCurrentIndex(index)
        if index == 6:
            view.follow_up.select(0)
            settle(1.0)
        settle()
        window.grab().save(str(OUT / f"{name}.png"))
    # The accountability list opens one clerk's 差评 with their follow-up state.
    view.tabs.setCurrentIndex(5)
    acc = view.accountability.model
    if acc.rowCount():
        view.accountability.view.doubleClicked.emit(acc.index(0, 0))
        pump(lambda: view.dialog is not None and view.dialog.isVisible())
        settle()
        assert view.dialog is not None
        view.dialog.grab().save(str(OUT / "supervisor-accountability-clerk.png"))
        view.dialog.close()
    # A drill-down: the 差评 of the window with most of them, and one case.
    view.tabs.setCurrentIndex(0)
    model = view.tally.model
    col = model.table.header.index("差评数")
    row = max(range(model.rowCount() - 1), key=lambda r: model.value(r, col))  # type: ignore[arg-type,return-value]
    view.tally.view.doubleClicked.emit(model.index(row, col))
    pump(lambda: view.dialog is not None and view.dialog.isVisible())
    settle()
    assert view.dialog is not None
    view.dialog.grab().save(str(OUT / "supervisor-drill-down.png"))
    view.dialog.open_case(0)
    pump(lambda: view.dialog.case_dialog is not None)  # type: ignore[union-attr]
    settle()
    view.dialog.case_dialog.grab().save(str(OUT / "supervisor-case.png"))  # type: ignore[union-attr]
    pdf = tmp / "report.pdf"
    done: list[str] = []
    view.exported.connect(done.append)
    view.export_to(pdf, "pdf")
    pump(lambda: done)
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", str(pdf),
                    str(DOCS / "report-month-a4")], check=True)  # fmt: skip
    window.close()
    store.dispose()
    print("saved to", OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
