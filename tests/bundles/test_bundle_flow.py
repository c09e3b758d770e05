"""一窗受理 → 抄告相关 → 并联审批 → 催办 → 一窗出件, through a real central store.

The window works on its own SQLite store and talks to the centre only by
push and pull; the back offices work on the centre. Runs against a SQLite
central file and a fresh PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from hallapp.bundles import backoffice
from hallapp.bundles.backoffice import BackOfficeError
from hallapp.bundles.desk import BundleCheck, BundleDesk
from hallapp.bundles.state import SubCaseState
from hallapp.documents import Notice
from hallapp.evaluation import open_evaluation, record_evaluation
from hallapp.intake import ApplicantInput, Intake, IntakeError, MaterialStatus
from hallapp.models import ApplicantKind, Bundle, Evaluation, IssuedDocument, Staff
from hallapp.reports.bundles import department_figures, late_list
from hallapp.reports.periods import month
from hallapp.store import Store, sqlite_url
from hallapp.sync.pull import pull
from hallapp.sync.push import push
from hallapp.sync.schema import central_table
from tests.bundles.flow import (
    CLERK_NO,
    GJJ_NO,
    HALL,
    KAIBAN,
    PASSWORD,
    SCJ_NO,
    WINDOW,
    at,
    author_hall,
    config,
)

COMPANY = ApplicantInput(
    kind=ApplicantKind.ORGANISATION, name="连城县冠豸山文旅发展有限公司",
    uscc="91350825MA31K7XQ5P", phone="13905971234", contact_name="罗建华",
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def hall(tmp_path: Path, central: Engine) -> Iterator[tuple[Store, Engine, Clock]]:
    author_hall(central)
    store = Store.open(sqlite_url(tmp_path / "window-B01.sqlite3"))
    pull(store, central, hall_code=HALL, window_code=WINDOW)
    yield store, central, Clock()
    store.dispose()


def sync(store: Store, central: Engine) -> None:
    push(store, central, hall_code=HALL, window_code=WINDOW)
    pull(store, central, hall_code=HALL, window_code=WINDOW)


def clerk_id(store: Store) -> str:
    with store.read() as s:
        return s.scalars(select(Staff.id).where(Staff.staff_no == CLERK_NO)).one()


def checks(store: Store, *, missing: tuple[str, ...] = ()) -> list[BundleCheck]:
    with store.read() as s:
        b = s.get(Bundle, KAIBAN)
        assert b is not None
        return [
            BundleCheck(
                m.id, MaterialStatus.MISSING if m.name in missing else MaterialStatus.PRESENT
            )
            for m in b.materials
        ]


def check_pdfs(tmp_path: Path, accepted: Notice, handed: Notice) -> None:
    """The real notices as printed: every member and department in the text, fonts embedded."""
    from hallapp.printing.render import render_pdf

    for name, notice, needles in (
        ("acceptance", accepted, ["受理通知书", "并联审批事项（共5项", "连城县公安局",
                                  "国家税务总局", "2026年11月17日", "开办企业一件事"]),
        ("hand-over", handed, ["一窗出件办理结果告知书", "部分办结", "不予许可",
                               "单位尚未招用职工", "龙岩市住房公积金中心连城管理部"]),
    ):  # fmt: skip
        for size in ("a4", "slip"):
            path = tmp_path / f"{name}-{size}.pdf"
            path.write_bytes(render_pdf(notice, size))  # type: ignore[arg-type]
            if os.environ.get("HALLAPP_BUNDLE_DOCS"):  # docs/documents/make.sh
                shutil.copy(path, Path(os.environ["HALLAPP_BUNDLE_DOCS"]) / f"bundle-{path.name}")
            text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                  text=True, check=True).stdout  # fmt: skip
            flat = "".join(text.split())
            for needle in needles:
                assert needle in flat, (name, size, needle)
            fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                                   check=True).stdout.splitlines()[2:]  # fmt: skip
            assert fonts and all(" yes " in f for f in fonts), fonts


def test_one_window_takes_the_bundle_departments_decide_in_parallel_one_hand_over(
    hall: tuple[Store, Engine, Clock], tmp_path: Path
) -> None:
    store, central, clock = hall
    intake = Intake(store, config(), clock=clock)
    desk = BundleDesk(intake)
    me = clerk_id(store)
    assert (KAIBAN, "开办企业一件事") in desk.bundles_here()

    # 一次收件, and a first 一次性告知书 for every member at once.
    opened = desk.open(me, KAIBAN, COMPANY)
    assert [m.department_code for m in opened.members] == ["SCJ", "GAJ", "SWJ", "RSJ", "GJJ"]
    view, notice, _ = desk.decide(opened.id, me, checks(store, missing=("公司章程",)))
    assert view.awaiting_correction and notice.title == "补正材料一次性告知书"
    assert [m.name for m in notice.missing_materials] == ["公司章程"]
    assert len(notice.members) == 5
    with pytest.raises(IntakeError, match="尚未补正"):
        desk.decide(opened.id, me, checks(store))
    desk.record_correction(opened.id, me)
    view, notice, doc_id = desk.decide(opened.id, me, checks(store))
    assert view.accepted and notice.title == "受理通知书"
    accepted_notice = notice
    # One notice: every member with its department and limit, one promised date.
    assert [(m.department, m.limit_days) for m in notice.members][:2] == [
        ("连城县市场监督管理局", 1),
        ("连城县公安局", 1),
    ]
    assert notice.promised_date == date(2026, 11, 17)
    assert all(m.deadline == date(2026, 11, 17) for m in notice.members)
    sync(store, central)

    # Two back offices at the centre, each sees only its own department's sub-case.
    scj = backoffice.sign_in(central, HALL, SCJ_NO, PASSWORD)
    gjj = backoffice.sign_in(central, HALL, GJJ_NO, PASSWORD)
    with pytest.raises(BackOfficeError, match="不是部门后台审批人员"):
        backoffice.sign_in(central, HALL, CLERK_NO, PASSWORD)
    with pytest.raises(BackOfficeError, match="工号或密码不正确"):
        backoffice.sign_in(central, HALL, SCJ_NO, "wrong")
    q_scj = backoffice.queue(central, HALL, scj, today=date(2026, 11, 16))
    q_gjj = backoffice.queue(central, HALL, gjj, today=date(2026, 11, 16))
    assert [s.item_code for s in q_scj] == ["SCJ-DJ-002"]
    assert [s.item_code for s in q_gjj] == ["GJJ-DJ-001"]
    assert q_scj[0].deadline == date(2026, 11, 17) and q_scj[0].state is SubCaseState.PENDING
    with pytest.raises(BackOfficeError, match="不属于本部门"):
        backoffice.approve(central, HALL, scj, q_gjj[0].case_id, now=at(0, 3))

    # 公积金 asks for a material the first notice did not demand: a violation, its own.
    backoffice.request_material(central, HALL, gjj, q_gjj[0].case_id, ["职工花名册"],
                                reason="核定缴存人数", now=at(1, 1))  # fmt: skip
    # The other three departments decide on time.
    for no, dep in (("GAJ-BA-001", "GAJ"), ("SWJ-DJ-001", "SWJ"), ("RSJ-DJ-001", "RSJ")):
        officer = backoffice.BackOfficer(scj.staff_id, scj.staff_no, scj.name, dep, dep)
        (sub,) = backoffice.queue(central, HALL, officer, today=date(2026, 11, 16))
        assert sub.item_code == no
        backoffice.approve(central, HALL, officer, sub.case_id, now=at(1, 2))
    sync(store, central)

    clock.now = at(2)  # Wednesday: 市场监管 is past its Tuesday deadline
    view = desk.view(opened.id)
    by_dep = {m.department_code: m for m in view.members}
    assert by_dep["GJJ"].state is SubCaseState.MATERIAL_REQUESTED
    assert by_dep["GJJ"].requested == ("职工花名册",)
    assert by_dep["SCJ"].late and not by_dep["GAJ"].late
    assert view.violations == ("龙岩市住房公积金中心连城管理部：职工花名册",)
    with pytest.raises(IntakeError, match="尚有部门未办结"):
        desk.hand_over(opened.id, me)
    with pytest.raises(IntakeError, match="请写明催办内容"):
        desk.urge(opened.id, by_dep["SCJ"].case_id, me, "  ")
    desk.urge(opened.id, by_dep["SCJ"].case_id, me, "已超过承诺时限，请今日办结")
    desk.forward_material(opened.id, by_dep["GJJ"].case_id, me)
    sync(store, central)

    (late,) = backoffice.queue(central, HALL, scj, today=date(2026, 11, 18))
    assert late.late and late.urges == 1 and late.last_urged_on == date(2026, 11, 18)
    backoffice.approve(central, HALL, scj, late.case_id, now=at(2, 3))
    (pending,) = backoffice.queue(central, HALL, gjj, today=date(2026, 11, 18))
    assert pending.state is SubCaseState.PENDING
    with pytest.raises(BackOfficeError, match="必须写明理由"):
        backoffice.refuse(central, HALL, gjj, pending.case_id, ["  "], now=at(2, 4))
    # Reasons printed on the applicant's 告知书: no direction override, no escape.
    for hidden in ("单位尚未\u202e招用职工", "单位尚未招用职工\x1b[2J"):
        with pytest.raises(BackOfficeError, match="不可见的控制字符"):
            backoffice.refuse(central, HALL, gjj, pending.case_id, [hidden], now=at(2, 4))
    backoffice.refuse(central, HALL, gjj, pending.case_id,
                      ["单位尚未招用职工，暂不具备缴存登记条件"], now=at(2, 4))  # fmt: skip
    with pytest.raises(BackOfficeError, match="已不予许可"):
        backoffice.approve(central, HALL, gjj, pending.case_id, now=at(2, 5))
    sync(store, central)

    # 一窗出件: all at once, the refusal explicit on the one document.
    clock.now = at(2, 6)
    view, notice, doc_id = desk.hand_over(opened.id, me)
    assert view.handed_over and notice.title == "一窗出件办理结果告知书"
    assert notice.outcome.startswith("部分办结：4 个事项准予许可，1 个事项不予许可")
    assert [m.result for m in notice.members].count("不予许可") == 1
    with pytest.raises(IntakeError, match="已经出件"):
        desk.hand_over(opened.id, me)
    check_pdfs(tmp_path, accepted_notice, notice)
    # The evaluation follows as for any hand-over (一次一评).
    with store.session() as s:
        opened_ev = open_evaluation(s, view.lead_case_id, WINDOW, 60)
        record_evaluation(s, opened_ev, 5, [])
    with store.read() as s:
        ev = s.scalars(select(Evaluation).where(Evaluation.case_id == view.lead_case_id)).one()
        assert ev.encounter == "hand_over"
        doc = s.get(IssuedDocument, doc_id)
        assert doc is not None and doc.doc_type == "hand-over"
    sync(store, central)

    # Supervisors: per department on time / late, every 催办, and the 倒查 list.
    with central.connect() as c:
        figs = {f.department_code: f for f in department_figures(
            c, month(2026, 11), as_of=date(2026, 11, 30), hall=HALL)}  # fmt: skip
        late_rows = late_list(c, month(2026, 11), as_of=date(2026, 11, 30), hall=HALL)
    assert (figs["SCJ"].sub_cases, figs["SCJ"].late, figs["SCJ"].on_time) == (1, 1, 0)
    assert figs["SCJ"].urges == 1 and figs["SCJ"].violations == 0
    # 公积金 asked for a material: its count restarted when the window forwarded it.
    assert (figs["GJJ"].on_time, figs["GJJ"].late, figs["GJJ"].violations) == (1, 0, 1)
    assert all(figs[d].on_time == 1 for d in ("GAJ", "SWJ", "RSJ"))
    assert [(r.department_code, r.urges, r.decided) for r in late_rows] == [("SCJ", 1, True)]
    # The window's own store gives the same figures (the same SQL, no hall column).
    with store.read() as s:
        local = {f.department_code: f for f in department_figures(
            s.connection(), month(2026, 11), as_of=date(2026, 11, 30))}  # fmt: skip
    assert local == figs


def test_two_back_office_pcs_deciding_one_sub_case_at_once_only_the_first_stands(
    hall: tuple[Store, Engine, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """准予 and 不予许可 clicked at the same moment on two PCs: one decision is
    recorded, the other PC is told it is decided, and the window hands out that one."""
    store, central, clock = hall
    desk = BundleDesk(Intake(store, config(), clock=clock))
    me = clerk_id(store)
    opened = desk.open(me, KAIBAN, COMPANY)
    desk.decide(opened.id, me, checks(store))
    sync(store, central)
    gjj = backoffice.sign_in(central, HALL, GJJ_NO, PASSWORD)
    (sub,) = backoffice.queue(central, HALL, gjj, today=date(2026, 11, 16))

    # Both PCs have read the sub-case before either writes its decision,
    # unless one holds the sub-case until it is done (then the wait times out).
    both_read = threading.Barrier(2)
    write = backoffice.add_fact_for_window

    def write_once_both_read(*args: object, **kwargs: object) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=2)
        return write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backoffice, "add_fact_for_window", write_once_both_read)
    outcome: dict[str, str] = {}

    def click(name: str, decide: object) -> None:
        try:
            decide()  # type: ignore[operator]
            outcome[name] = "ok"
        except BackOfficeError as exc:
            outcome[name] = str(exc)

    pcs = [
        threading.Thread(target=click, args=("approve", lambda: backoffice.approve(
            central, HALL, gjj, sub.case_id, now=at(1, 1)))),
        threading.Thread(target=click, args=("refuse", lambda: backoffice.refuse(
            central, HALL, gjj, sub.case_id, ["单位尚未招用职工"], now=at(1, 1)))),
    ]
    for pc in pcs:
        pc.start()
    for pc in pcs:
        pc.join(timeout=60)
    assert sorted(outcome) == ["approve", "refuse"]
    winner = [n for n, r in outcome.items() if r == "ok"]
    assert len(winner) == 1, outcome
    (loser,) = set(outcome) - set(winner)
    assert outcome[loser] in ("该子件已准予许可，不能再作决定", "该子件已不予许可，不能再作决定")
    ev = central_table("case_events")
    with central.connect() as c:
        kinds = c.execute(select(ev.c.kind).where(ev.c.case_id == sub.case_id)).scalars().all()
    decisions = [k for k in kinds if k in ("department_approved", "department_refused")]
    assert decisions == [{"approve": "department_approved", "refuse": "department_refused"}[
        winner[0]]]
    sync(store, central)
    view = desk.view(opened.id)
    gjj_member = next(m for m in view.members if m.department_code == "GJJ")
    assert gjj_member.state is (
        SubCaseState.APPROVED if winner == ["approve"] else SubCaseState.REFUSED
    )


def test_a_window_that_is_not_combined_cannot_take_a_bundle(
    hall: tuple[Store, Engine, Clock],
) -> None:
    store, _, clock = hall
    cfg = config()
    with store.session() as s:
        from hallapp.models import Window

        w = s.get(Window, WINDOW)
        assert w is not None
        w.served = [w.served[0]]
    desk = BundleDesk(Intake(store, cfg, clock=clock))
    assert desk.bundles_here() == []
    with pytest.raises(IntakeError, match="不是综合窗口"):
        desk.open(clerk_id(store), KAIBAN, COMPANY)
