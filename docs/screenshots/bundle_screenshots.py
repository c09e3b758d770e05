"""Regenerate the bundle screenshots: the 综合窗口's bundle view and a back office's queue.

Run under a real X server (Xvfb is enough)::

    xvfb-run -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python docs/screenshots/bundle_screenshots.py

It builds the hall of the bundle tests (tests/bundles/flow.py: the sample
catalog, 综合窗口 B01, back offices of 市场监管 and 公积金) on a fresh SQLite
central store, takes a 开办企业一件事, lets 公积金 ask for a material and 市场监管
run past its deadline, urges it, and saves the two views.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

OUT = Path(__file__).resolve().parent
ROOT = OUT.parents[1]
sys.path.insert(0, str(ROOT))


def pump(until: object, timeout: float = 30.0) -> None:
    from hallapp.ui.ops import pending

    deadline = time.monotonic() + timeout
    while not until() or pending():  # type: ignore[operator]
        QCoreApplication.processEvents()
        time.sleep(0.01)
        if time.monotonic() > deadline:
            raise TimeoutError(str(until))
    for _ in range(30):
        QCoreApplication.processEvents()
        time.sleep(0.01)


def main() -> int:
    app = QApplication(sys.argv[:1])
    import sqlalchemy as sa

    from hallapp.bundles import backoffice
    from hallapp.bundles.desk import BundleCheck, BundleDesk
    from hallapp.intake import ApplicantInput, Intake, MaterialStatus
    from hallapp.models import ApplicantKind, Bundle, Staff
    from hallapp.store import Store, sqlite_url
    from hallapp.sync.centre import central_engine, init_central
    from hallapp.sync.pull import pull
    from hallapp.sync.push import push
    from hallapp.ui.backoffice import QueueView
    from hallapp.ui.bundle_view import BundleView
    from hallapp.ui.theme import apply_theme
    from tests.bundles.flow import (
        CLERK_NO, GJJ_NO, HALL, KAIBAN, PASSWORD, SCJ_NO, WINDOW, at, author_hall, config,
    )  # fmt: skip

    apply_theme(app)
    tmp = Path(tempfile.mkdtemp())
    url = sqlite_url(tmp / "central.sqlite3")
    init_central(url)
    central = central_engine(url)
    author_hall(central)
    store = Store.open(sqlite_url(tmp / "window.sqlite3"))

    def sync() -> None:
        push(store, central, hall_code=HALL, window_code=WINDOW)
        pull(store, central, hall_code=HALL, window_code=WINDOW)

    pull(store, central, hall_code=HALL, window_code=WINDOW)
    now = [at(0)]
    desk = BundleDesk(Intake(store, config(), clock=lambda: now[0]))
    with store.read() as s:
        me = s.scalars(sa.select(Staff.id).where(Staff.staff_no == CLERK_NO)).one()
        b = s.get(Bundle, KAIBAN)
        assert b is not None
        checks = [BundleCheck(m.id, MaterialStatus.PRESENT) for m in b.materials]
    company = ApplicantInput(kind=ApplicantKind.ORGANISATION, name="连城县冠豸山文旅发展有限公司",
                             uscc="91350825MA31K7XQ5P", phone="13905971234",
                             contact_name="罗建华")  # fmt: skip
    opened = desk.open(me, KAIBAN, company)
    desk.decide(opened.id, me, checks)
    sync()
    gjj = backoffice.sign_in(central, HALL, GJJ_NO, PASSWORD)
    (sub,) = backoffice.queue(central, HALL, gjj)
    backoffice.request_material(central, HALL, gjj, sub.case_id, ["职工花名册"], now=at(1, 1))
    scj = backoffice.sign_in(central, HALL, SCJ_NO, PASSWORD)
    for dep in ("GAJ", "SWJ"):
        officer = backoffice.BackOfficer(scj.staff_id, scj.staff_no, scj.name, dep, dep)
        (sub,) = backoffice.queue(central, HALL, officer)
        backoffice.approve(central, HALL, officer, sub.case_id, now=at(1, 2))
    sync()
    now[0] = at(2)
    members = {m.department_code: m for m in desk.view(opened.id).members}
    desk.urge(opened.id, members["SCJ"].case_id, me, "已超过承诺时限，请今日办结")
    sync()

    view = BundleView(desk, me)
    view.resize(1500, 900)
    view.show()
    view.refresh()
    pump(lambda: view.members.rowCount() == 5)
    view.members.selectRow(0)
    pump(lambda: True)
    view.grab().save(str(OUT / "bundle-window.png"))

    queue = QueueView(central, HALL, scj)
    queue.resize(1300, 520)
    queue.show()
    queue.refresh()
    pump(lambda: queue.table.rowCount() == 1)
    queue.table.selectRow(0)
    pump(lambda: True)
    queue.grab().save(str(OUT / "bundle-back-office.png"))
    print("saved", OUT / "bundle-window.png", OUT / "bundle-back-office.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
