"""Demo reference data: windows, staff, photos, idempotent seeding, sign-in."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from hallapp.catalog import CatalogError
from hallapp.demo import DemoDataError, render_avatar_png, seed_demo, seed_reference_data
from hallapp.models import (
    Department,
    DepartmentContact,
    Role,
    ServiceItem,
    Staff,
    Window,
)
from hallapp.security import SignInError, authenticate
from hallapp.store import Store


def test_seed_demo_is_idempotent(store: Store, snapshot: Any) -> None:
    first = seed_demo(store)
    assert first.changed
    assert len(first.windows_added) >= 9 and len(first.staff_added) >= 11
    after_first = snapshot(store)
    second = seed_demo(store)
    assert not second.changed
    assert snapshot(store) == after_first  # same ids, hashes, photos: nothing rewritten


def test_seed_updates_in_place(store: Store, tmp_path: Path, snapshot: Any) -> None:
    seed_demo(store)
    with store.session() as s:
        person = s.scalar(select(Staff).where(Staff.staff_no == "1001"))
        assert person is not None
        staff_id = person.id
        person.title = "临时岗位"
        person.active = False
        window = s.get(Window, "A01")
        assert window is not None
        window.name = "改过的名字"
    summary = seed_demo(store)
    assert summary.staff_updated == ["1001"] and summary.windows_updated == ["A01"]
    with store.session() as s:
        person = s.scalar(select(Staff).where(Staff.staff_no == "1001"))
        assert person is not None and person.id == staff_id
        assert person.title == "首席代表" and person.active


def test_demo_staff_can_sign_in(store: Store) -> None:
    seed_demo(store)
    with store.session() as s:
        clerk = authenticate(s, "1001", "123456")
        assert clerk.role == Role.CLERK and clerk.name == "王晓丽"
        assert authenticate(s, "9001", "123456").role == Role.SUPERVISOR
        assert authenticate(s, "9901", "123456").role == Role.ADMINISTRATOR
        with pytest.raises(SignInError):
            authenticate(s, "1001", "654321")
        roles = {Role(p.role) for p in s.scalars(select(Staff))}
        assert roles == {Role.CLERK, Role.SUPERVISOR, Role.ADMINISTRATOR}


def test_demo_staff_have_photos_and_commitments(store: Store) -> None:
    seed_demo(store)
    with store.session() as s:
        staff = s.scalars(select(Staff)).all()
        for person in staff:
            assert person.photo is not None and person.photo.startswith(b"\x89PNG\r\n\x1a\n")
            with Image.open(io.BytesIO(person.photo)) as img:
                assert img.size == (240, 320)
            assert 3 <= len(person.commitment_lines()) <= 5, person.staff_no
            assert person.phone and person.title
        assert any("首问负责" in line for p in staff for line in p.commitment_lines())


def test_windows_and_referral_departments(store: Store) -> None:
    seed_demo(store)
    with store.session() as s:
        windows = s.scalars(select(Window)).all()
        codes = {w.code for w in windows}
        assert {"A01", "A02", "A03", "A04", "A05", "A06", "B01", "B02", "B03"} <= codes
        at_windows = {w.department_code for w in windows}
        # Every window's department has items it handles there.
        for dep in at_windows:
            assert s.scalar(
                select(func.count())
                .select_from(ServiceItem)
                .where(ServiceItem.department_code == dep)
            )
        # Departments no window hosts still have a directory for referrals.
        elsewhere = [d for d in s.scalars(select(Department)) if d.code not in at_windows]
        names = {d.name for d in elsewhere}
        assert {"连城县卫生健康局", "连城县消防救援大队"} <= names
        for dep in elsewhere:
            assert dep.contacts, dep.code
            for contact in dep.contacts:
                assert contact.name and contact.title and contact.phone
        assert s.scalar(select(func.count()).select_from(DepartmentContact)) >= 15


def test_avatar_is_deterministic_and_neutral() -> None:
    a, b = render_avatar_png("1001"), render_avatar_png("1001")
    assert a == b
    with Image.open(io.BytesIO(a)) as img:
        # Two flat colours at most besides anti-aliasing: a placeholder, not a photo.
        colours = img.convert("RGB").getcolors(maxcolors=4096)
        assert colours is not None and len(colours) < 300


def test_shipped_photos_match_the_generator() -> None:
    from importlib import resources

    folder = resources.files("hallapp.resources") / "photos"
    for name in ("1001", "9001", "9901"):
        assert (folder / f"{name}.png").read_bytes() == render_avatar_png(name)


def _write_demo(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_bad_demo_file_writes_nothing(store: Store, tmp_path: Path, snapshot: Any) -> None:
    demo = _write_demo(
        tmp_path,
        """
[[windows]]
code = "A-01"
name = "窗口"
department = "ZJJ"

[[staff]]
staff_no = "2001"
name = "测试"
department = "NOPE"
role = "boss"
password = "123"
photo = "photos/absent.png"
""",
    )
    before = snapshot(store)
    with pytest.raises(DemoDataError) as info, store.session() as s:
        seed_reference_data(s, demo_file=demo)
    text = str(info.value)
    assert "窗口第 1 条，code" in text
    assert "工作人员第 1 条，role" in text
    assert "工作人员第 1 条，password：密码至少 6 位" in text
    assert "找不到照片文件 photos/absent.png" in text
    assert snapshot(store) == before

    # A department that does not exist is caught too, and the catalog
    # imported in the same transaction is rolled back with it.
    demo = _write_demo(
        tmp_path,
        '[[staff]]\nstaff_no = "2001"\nname = "测试"\ndepartment = "NOPE"\n'
        'role = "clerk"\npassword = "123456"\n',
    )
    with pytest.raises(DemoDataError, match="部门 NOPE 不存在"), store.session() as s:
        seed_reference_data(s, demo_file=demo)
    assert snapshot(store) == before


def test_demo_staff_photo_phone_and_commitments_are_checked(
    store: Store, tmp_path: Path, snapshot: Any
) -> None:
    """As `central staff add` checks them: a photo that is no PNG or JPEG, a
    phone that cannot be dialled and a hidden character in 服务承诺 stop the seed."""
    (tmp_path / "photos").mkdir(exist_ok=True)
    (tmp_path / "photos" / "junk.png").write_bytes(os.urandom(4096))
    demo = _write_demo(
        tmp_path,
        '[[staff]]\nstaff_no = "2001"\nname = "测试"\ndepartment = "ZJJ"\n'
        'role = "clerk"\npassword = "123456"\nphoto = "photos/junk.png"\n'
        'phone = "电话没有"\ncommitments = ["承诺\\u001b[2J\\u202e"]\n',
    )
    before = snapshot(store)
    with pytest.raises(DemoDataError) as info, store.session() as s:
        seed_reference_data(s, demo_file=demo)
    text = str(info.value)
    assert "photo：photos/junk.png：照片不是可以读取的 PNG 或 JPEG 图片" in text
    assert "phone：联系电话有误" in text
    assert "commitments：服务承诺含有不可见的控制字符" in text
    assert snapshot(store) == before


def test_bad_catalog_file_stops_the_seed(store: Store, tmp_path: Path, snapshot: Any) -> None:
    bad = tmp_path / "catalog.toml"
    bad.write_text('[[items]]\ncode = "X"\n', encoding="utf-8")
    before = snapshot(store)
    with pytest.raises(CatalogError), store.session() as s:
        seed_reference_data(s, catalog_file=bad)
    assert snapshot(store) == before


def test_demo_windows_serve_their_departments_and_every_clerk_has_one(
    store: Store, tmp_path: Path
) -> None:
    import shutil

    from hallapp.windows import window_info, windows_serving

    seed_demo(store)
    with store.session() as s:
        a01 = window_info(s, "A01")
        a03 = window_info(s, "A03")
        assert a01 is not None and a01.combined
        assert a01.department_codes == ("ZJJ", "HBJ", "ZRJ")  # its own first
        assert a03 is not None and a03.department_codes == ("SCJ",) and not a03.combined
        for clerk in s.scalars(select(Staff).where(Staff.role == Role.CLERK)):
            assert windows_serving(s, clerk.department_code), clerk.staff_no
    # A department taken off a window in the file is taken off in the store.
    shipped = Path(__file__).parents[2] / "resources"
    demo = (shipped / "demo.toml").read_text(encoding="utf-8")
    changed = demo.replace('departments = ["ZJJ", "ZRJ", "HBJ"]', 'departments = ["ZJJ", "ZRJ"]')
    assert changed != demo
    shutil.copytree(shipped / "photos", tmp_path / "photos")
    path = _write_demo(tmp_path, changed)
    with store.session() as s:
        summary = seed_reference_data(s, demo_file=path)
    assert summary.windows_updated == ["A01"]
    with store.session() as s:
        a01 = window_info(s, "A01")
        assert a01 is not None and a01.department_codes == ("ZJJ", "ZRJ")


def test_a_window_serving_an_unknown_department_is_refused(store: Store, tmp_path: Path) -> None:
    demo = _write_demo(
        tmp_path,
        '[[windows]]\ncode = "A01"\nname = "综合窗口"\ndepartment = "ZJJ"\n'
        'departments = ["ZJJ", "NOPE"]\n',
    )
    with (
        pytest.raises(DemoDataError, match="窗口 A01，department：部门 NOPE 不存在"),
        store.session() as s,
    ):
        seed_reference_data(s, demo_file=demo)
