"""Pull centre → window: reference data by version in one transaction; facts
written at the centre for the window; sign-in follows the centre's staff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hallapp.models import (
    Department,
    Evaluation,
    FollowUpStep,
    ItemKind,
    MaterialRequirement,
    Role,
    ServiceItem,
    Staff,
    Window,
)
from hallapp.security import SignInError, authenticate, hash_password
from hallapp.store import Store, sqlite_url
from hallapp.sync.authoring import change_reference
from hallapp.sync.centre import Actor, add_fact_for_window
from hallapp.sync.pull import local_ref_version, pull
from hallapp.sync.push import push
from hallapp.sync.schema import central_table

HALL = "LC"
ADMIN = Actor(staff_no="9901", role="administrator")


def seed_centre(central: Engine) -> None:
    def edit(s: Session) -> None:
        s.add(Department(code="ZJJ", name="连城县住房和城乡建设局"))
        s.flush()
        s.add_all([
            Staff(staff_no="9901", name="邱文杰", department_code="ZJJ",
                  role=Role.ADMINISTRATOR, password_hash=hash_password("admin-pw")),
            Staff(staff_no="1001", name="王晓丽", department_code="ZJJ", role=Role.CLERK,
                  password_hash=hash_password("123456"), photo=b"\x89PNG-photo"),
            Window(code="A05", name="住建窗口", department_code="ZJJ"),
        ])
        item = ServiceItem(code="ZJ-001", name="建筑工程施工许可证核发",
                           department_code="ZJJ", kind=ItemKind.PROMISED, legal_days=20,
                           promised_days=8)
        item.materials = [MaterialRequirement(seq=i, name=f"材料{i}") for i in range(1, 4)]
        s.add(item)

    change_reference(central, HALL, ADMIN, "seed", edit)


@pytest.fixture
def empty_window(tmp_path: Path):
    store = Store.open(sqlite_url(tmp_path / "window-A05.sqlite3"))
    yield store
    store.dispose()


def count(store: Store, model: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_new_window_pulls_everything_and_can_sign_in(empty_window: Store,
                                                       central: Engine) -> None:
    seed_centre(central)
    result = pull(empty_window, central, hall_code=HALL, window_code="A05")
    assert result.reference_changed and result.version == 1
    assert local_ref_version(empty_window) == 1
    assert count(empty_window, MaterialRequirement) == 3
    with empty_window.session() as s:
        staff = authenticate(s, "1001", "123456")
        assert staff.photo == b"\x89PNG-photo"
    again = pull(empty_window, central, hall_code=HALL, window_code="A05")
    assert not again.reference_changed and again.reference_rows == 0


def test_a_staff_member_disabled_centrally_cannot_sign_in_after_the_next_pull(
    empty_window: Store, central: Engine
) -> None:
    seed_centre(central)
    pull(empty_window, central, hall_code=HALL, window_code="A05")

    def disable(s: Session) -> None:
        s.scalars(select(Staff).where(Staff.staff_no == "1001")).one().active = False

    change_reference(central, HALL, ADMIN, "staff.disable", disable, target="1001")
    with empty_window.session() as s:
        authenticate(s, "1001", "123456")  # offline, the last pulled staff still holds
    pull(empty_window, central, hall_code=HALL, window_code="A05")
    with pytest.raises(SignInError), empty_window.session() as s:
        authenticate(s, "1001", "123456")


def test_catalog_changes_replace_the_material_list_whole(empty_window: Store,
                                                         central: Engine) -> None:
    seed_centre(central)
    pull(empty_window, central, hall_code=HALL, window_code="A05")

    def edit(s: Session) -> None:
        item = s.get(ServiceItem, "ZJ-001")
        assert item is not None
        item.materials = []
        s.flush()
        item.materials = [MaterialRequirement(seq=1, name="新的申请表")]
        item.name = "建筑工程施工许可证核发（新）"

    change_reference(central, HALL, ADMIN, "catalog.import", edit)
    pull(empty_window, central, hall_code=HALL, window_code="A05")
    with empty_window.session() as s:
        item = s.get(ServiceItem, "ZJ-001")
        assert item is not None and item.name.endswith("（新）")
        assert [m.name for m in item.materials] == ["新的申请表"]


def test_another_halls_reference_data_never_reaches_the_window(
    empty_window: Store, central: Engine
) -> None:
    seed_centre(central)

    def other(s: Session) -> None:
        s.add(Department(code="QT", name="另一个县的部门"))

    change_reference(central, "YA", Actor("1", "administrator"), "seed", other)
    pull(empty_window, central, hall_code=HALL, window_code="A05")
    with empty_window.session() as s:
        assert s.scalars(select(Department.code)).all() == ["ZJJ"]


def test_a_follow_up_written_at_the_centre_reaches_its_window(window: Any,
                                                              central: Engine) -> None:
    case_id = window.new_case(level=1)
    push(window.store, central, hall_code=HALL, window_code="A03")
    with window.store.session() as s:
        evaluation_id = s.scalars(select(Evaluation.id).where(Evaluation.case_id == case_id)).one()
    with central.begin() as c:
        add_fact_for_window(c, HALL, "A03", "follow_up_steps",
                            {"evaluation_id": evaluation_id, "kind": "called_back",
                             "note": "已电话回访", "staff_id": None, "due_on": None})
    before_pending = __import__("hallapp.sync.push", fromlist=["x"]).pending_count(window.store)
    result = pull(window.store, central, hall_code=HALL, window_code="A03")
    assert result.facts == 1
    with window.store.session() as s:
        notes = s.scalars(select(FollowUpStep.note).where(
            FollowUpStep.evaluation_id == evaluation_id)).all()
    assert "已电话回访" in notes
    # A fact from the centre is not sent back, and not counted as pending.
    from hallapp.sync.push import pending_count

    assert pending_count(window.store) == before_pending == 0
    assert pull(window.store, central, hall_code=HALL, window_code="A03").facts == 0
    with central.connect() as c:
        steps = central_table("follow_up_steps")
        n = c.scalar(select(func.count()).select_from(steps).where(steps.c.note == "已电话回访"))
    assert n == 1


def test_hall_settings_set_at_the_centre_apply_at_the_window(empty_window: Store,
                                                             central: Engine) -> None:
    from hallapp.config import parse_config
    from hallapp.models import HallSetting
    from hallapp.sync.run import with_hall_settings

    seed_centre(central)

    def edit(s: Session) -> None:
        s.add(HallSetting(key="hall.complaint_hotline", value="0597-12345"))
        s.add(HallSetting(key="intake.correction_days", value=5))
        s.add(HallSetting(key="intake.due_soon_days", value="not a number"))

    change_reference(central, HALL, ADMIN, "setting.set", edit)
    pull(empty_window, central, hall_code=HALL, window_code="A05")
    local = parse_config({"hall": {"code": "LC", "complaint_hotline": "12345"},
                          "window": {"code": "A05"}})
    cfg = with_hall_settings(local, empty_window)
    assert cfg.complaint_hotline == "0597-12345"
    assert cfg.get("intake.correction_days") == 5
    assert cfg.get("intake.due_soon_days") == 2  # refused by the config rules: default kept
    assert cfg.window_code == "A05"


def test_a_central_fact_the_window_cannot_hold_does_not_block_later_pulls(
    empty_window: Store, central: Engine
) -> None:
    seed_centre(central)
    with central.begin() as c:
        # A follow-up of an evaluation this window never had.
        add_fact_for_window(c, HALL, "A05", "follow_up_steps",
                            {"evaluation_id": "no-such-evaluation", "kind": "called_back",
                             "note": "", "staff_id": None, "due_on": None})
    result = pull(empty_window, central, hall_code=HALL, window_code="A05")
    assert result.facts == 0 and result.reference_changed
    with empty_window.session() as s:
        authenticate(s, "1001", "123456")


def test_a_supervisor_on_the_central_store_works_a_follow_up_for_the_window(
    window: Any, central_url: str, central: Engine
) -> None:
    """hallapp-supervisor on an office PC opens the central store itself: a
    step recorded there is keyed by the hall, audited at the centre, and
    reaches the clerk's case detail with the window's next pull."""
    from hallapp.followup import Action, act

    case_id = window.new_case(level=1)
    push(window.store, central, hall_code=HALL, window_code="A03")
    with window.store.session() as s:
        evaluation_id = s.scalars(select(Evaluation.id).where(Evaluation.case_id == case_id)).one()

    def edit(s: Session) -> None:
        s.add(Department(code="ZWZX", name="行政服务中心管委会"))
        s.flush()
        s.add(Staff(staff_no="9001", name="林海燕", department_code="ZWZX",
                    role=Role.SUPERVISOR, password_hash=hash_password("654321")))

    change_reference(central, HALL, ADMIN, "seed", edit)
    office = Store.open(central_url)  # as hallapp-supervisor --db opens it
    try:
        with office.session() as s:
            supervisor = s.scalars(select(Staff.id).where(Staff.staff_no == "9001")).one()
            act(s, evaluation_id, Action.VERIFY, staff_id=supervisor,
                note="已核实：等候时间过长", window_code="")
    finally:
        office.dispose()
    with central.connect() as c:
        steps = central_table("follow_up_steps")
        got = c.execute(select(steps.c.hall_code, steps.c.origin_window)
                        .where(steps.c.note == "已核实：等候时间过长")).all()
        audits = central_table("audit_entries")
        audited = c.execute(select(audits.c.hall_code, audits.c.staff_no)
                            .where(audits.c.action == "follow_up.verified")).all()
    assert [tuple(r) for r in got] == [(HALL, "@centre")]
    assert [tuple(r) for r in audited] == [(HALL, "9001")]
    assert pull(window.store, central, hall_code=HALL, window_code="A03").facts == 1
    with window.store.session() as s:
        notes = s.scalars(select(FollowUpStep.note).where(
            FollowUpStep.evaluation_id == evaluation_id)).all()
    assert "已核实：等候时间过长" in notes
