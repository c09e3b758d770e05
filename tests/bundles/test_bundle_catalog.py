"""Bundles (一件事 / 联合审批) in the catalog: the sample's two, the rules, xlsx/JSON, the pull."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from hallapp.bundles.catalog import merge_materials
from hallapp.catalog import CatalogError, import_catalog, load_catalog, max_promised_days
from hallapp.models import Bundle, ServiceItem
from hallapp.store import Store, sqlite_url
from hallapp.sync.authoring import change_reference
from hallapp.sync.centre import Actor
from hallapp.sync.pull import pull

SAMPLE = Path(str(resources.files("hallapp.resources") / "catalog.toml"))


def _sample_dict() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def test_the_sample_has_the_two_bundles_with_lawful_limits() -> None:
    data = load_catalog(SAMPLE)
    items = {i.code: i for i in data.items}
    by_code = {b.code: b for b in data.bundles}
    kaiban, shigong = by_code["LC-YJS-001"], by_code["LC-LHSP-001"]
    assert kaiban.name == "开办企业一件事" and shigong.kind.label == "联合审批"
    # 营业执照, 公章刻制, 税务, 社保, 公积金: five departments, one sub-case each.
    deps = [items[m.item_code].department_code for m in kaiban.members]
    assert deps == ["SCJ", "GAJ", "SWJ", "RSJ", "GJJ"]
    for b in data.bundles:
        assert b.lead_department_code in {items[m.item_code].department_code for m in b.members}
        assert b.promised_days <= max_promised_days(b.legal_days)
        assert b.promised_days >= max(m.promised_days for m in b.members)
        for m in b.members:
            item = items[m.item_code]
            assert item.promised_days <= max_promised_days(item.legal_days)
    # A material several members need is asked for once.
    id_card = [m for m in kaiban.materials if m.name == "法定代表人居民身份证"]
    assert len(id_card) == 1 and set(id_card[0].item_codes) == {
        "SCJ-DJ-002",
        "GAJ-BA-001",
        "SWJ-DJ-001",
    }
    # The joint approval's list is merged from its members: the licence both
    # 生态环境 and 城管 ask for appears once, needed by both.
    licence = [m for m in shigong.materials if m.name == "建设单位营业执照或法人证书"]
    assert len(licence) == 1 and licence[0].item_codes == ("HBJ-XK-001", "CGJ-XK-001")
    names = [m.name for m in shigong.materials]
    assert len(names) == len(set(names))


def test_import_stores_bundles_and_a_second_import_changes_nothing(store: Store) -> None:
    with store.session() as s:
        first = import_catalog(s, SAMPLE)
    assert sorted(first.bundles_added) == ["LC-LHSP-001", "LC-YJS-001"]
    with store.session() as s:
        b = s.scalars(
            select(Bundle).where(Bundle.code == "LC-YJS-001").options(selectinload(Bundle.members))
        ).one()
        assert b.members[0].item_code == "SCJ-DJ-002"
        assert b.form_name == "企业开办综合申请表（一表通）" and b.pinyin == "kbqyyjs"
        again = import_catalog(s, SAMPLE)
    assert again.bundles_added == [] and sorted(again.bundles_unchanged) == [
        "LC-LHSP-001",
        "LC-YJS-001",
    ]
    assert "一件事新增 0、更新 0、未变 2" in again.text()


def _bad_bundle(**over: Any) -> dict[str, Any]:
    data = _sample_dict()
    bundle = {
        "code": "LC-T-001",
        "name": "测试一件事",
        "lead_department": "SCJ",
        "form": "一表通",
        "members": [{"item": "SCJ-DJ-002"}, {"item": "SWJ-DJ-001"}],
    }
    bundle.update(over)
    data["bundles"] = [bundle]
    return data


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"members": [{"item": "SCJ-DJ-002"}]}, "至少包括两个部门的事项"),
        ({"members": [{"item": "SCJ-DJ-002"}, {"item": "SCJ-DJ-001"}]}, "同属部门 SCJ"),
        ({"members": [{"item": "SCJ-DJ-002"}, {"item": "NO-SUCH"}]}, "事项 NO-SUCH 不存在"),
        (
            {"members": [{"item": "SCJ-DJ-002", "promised_days": 3}, {"item": "SWJ-DJ-001"}]},
            "3 超出允许范围 0–1 个工作日（不超过该事项自身的承诺时限 1 个工作日）",
        ),
        ({"promised_days": 5}, "不超过成员最长法定时限 5 个工作日的 40%，即 2 个"),
        ({"lead_department": "ZJJ"}, "牵头部门 ZJJ 不办理其中任何一个成员事项"),
        ({"lead_department": "NOPE"}, "部门“NOPE”不存在"),
        ({"kind": "随便"}, "请填写“一件事”或“联合审批”"),
        ({"form": ""}, "不能为空"),
        (
            {
                "materials": [
                    {"name": "一表通", "form": "原件", "items": ["SCJ-DJ-002", "SWJ-DJ-001"]},
                    {"name": "一 表通", "form": "原件", "items": ["SCJ-DJ-002"]},
                ]
            },
            "同一材料只列一次",
        ),
        (
            {
                "materials": [
                    {"name": "一表通", "form": "原件", "items": ["SCJ-DJ-002", "ZJJ-XK-001"]}
                ]
            },
            "事项 ZJJ-XK-001 不是一件事 LC-T-001 的成员事项",
        ),
        (
            {"materials": [{"name": "一表通", "form": "原件", "items": ["SCJ-DJ-002"]}]},
            "成员事项 SWJ-DJ-001 在一件事的材料清单中没有任何必需材料",
        ),
    ],
)
def test_a_wrong_bundle_is_refused_with_a_chinese_reason(
    over: dict[str, Any], expected: str
) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(_bad_bundle(**over))
    assert expected in err.value.report(), err.value.report()
    assert (
        "一件事第 1 条（编码 LC-T-001）" in err.value.report()
        or "一件事 LC-T-001 的" in err.value.report()
    )


def test_every_problem_of_a_bundle_is_listed_and_nothing_is_written(store: Store) -> None:
    data = _bad_bundle(
        kind="随便",
        lead_department="NOPE",
        members=[{"item": "SCJ-DJ-002"}, {"item": "SCJ-DJ-001"}],
    )
    with pytest.raises(CatalogError) as err, store.session() as s:
        import_catalog(s, data)
    report = err.value.report()
    assert "随便" in report and "NOPE" in report and "同属部门" in report
    with store.session() as s:
        assert s.scalars(select(ServiceItem)).first() is None


def test_members_may_be_items_already_in_the_store(store: Store) -> None:
    with store.session() as s:
        import_catalog(s, SAMPLE)
    only_bundle = {"bundles": [_bad_bundle()["bundles"][0]]}
    with store.session() as s:
        summary = import_catalog(s, only_bundle)
    assert summary.bundles_added == ["LC-T-001"]


def test_a_json_catalog_carries_bundles(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "清单.json"
    path.write_text(json.dumps(_bad_bundle(), ensure_ascii=False), encoding="utf-8")
    with store.session() as s:
        summary = import_catalog(s, path)
    assert summary.bundles_added == ["LC-T-001"]


def _xlsx(path: Path, *, member_rows: list[list[Any]]) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "事项"
    ws.append(
        [
            "事项编码",
            "事项名称",
            "实施部门",
            "办件类型",
            "法定时限(工作日)",
            "承诺时限(工作日)",
            "法律依据",
        ]
    )
    ws.append(["T-A", "甲事项", "SCJ", "承诺件", 10, 4, "《条例》"])
    ws.append(["T-B", "乙事项", "SWJ", "承诺件", 20, 8, "《条例》"])
    m = wb.create_sheet("申请材料")
    m.append(["事项编码", "材料名称", "材料形式"])
    m.append(["T-A", "申请书", "原件"])
    m.append(["T-A", "营业执照", "复印件"])
    m.append(["T-B", "营业执照", "原件"])
    d = wb.create_sheet("部门")
    d.append(["部门编码", "部门名称"])
    d.append(["SCJ", "连城县市场监督管理局"])
    d.append(["SWJ", "国家税务总局连城县税务局"])
    b = wb.create_sheet("一件事")
    b.append(["一件事编码", "一件事名称", "类型", "牵头部门", "表单名称", "整体承诺时限(工作日)"])
    b.append(["LC-X-1", "甲乙一件事", "联合审批", "连城县市场监督管理局", "甲乙联办申请表", 6])
    mem = wb.create_sheet("一件事成员")
    mem.append(["一件事编码", "序号", "事项编码", "承诺时限(工作日)"])
    for row in member_rows:
        mem.append(row)
    wb.save(path)


def test_an_xlsx_catalog_carries_bundles(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "清单.xlsx"
    _xlsx(path, member_rows=[["LC-X-1", 1, "T-A", None], ["LC-X-1", 2, "T-B", 5]])
    with store.session() as s:
        summary = import_catalog(s, path)
        b = s.get(Bundle, "LC-X-1")
        assert b is not None
        assert [(m.item_code, m.promised_days) for m in b.members] == [("T-A", 4), ("T-B", 5)]
        # Merged: 营业执照 asked once for both, as 原件及复印件 (the forms differ).
        licence = [m for m in b.materials if m.name == "营业执照"]
        assert len(licence) == 1 and licence[0].item_codes == ["T-A", "T-B"]
        assert licence[0].form == "original_and_copy"
        assert b.promised_days == 6 and b.legal_days == 20 and b.lead_department_code == "SCJ"
    assert summary.bundles_added == ["LC-X-1"]


def test_an_xlsx_member_row_names_its_sheet_and_row(tmp_path: Path) -> None:
    path = tmp_path / "清单.xlsx"
    _xlsx(path, member_rows=[["LC-X-1", 1, "T-A", 9], ["LC-X-9", 2, "T-B", None]])
    with pytest.raises(CatalogError) as err:
        load_catalog(path)
    report = err.value.report()
    assert "工作表“一件事成员”第 2 行，承诺时限(工作日)：9 超出允许范围 0–4" in report
    assert "工作表“一件事成员”第 3 行，一件事编码：一件事编码 LC-X-9 在“一件事”表中不存在" in report


def test_merging_keeps_the_strictest_need() -> None:
    data = load_catalog(SAMPLE)
    items = {i.code: i for i in data.items}
    kaiban = next(b for b in data.bundles if b.code == "LC-YJS-001")
    merged = merge_materials(kaiban.members, items)
    licence = [m for m in merged if m.name == "营业执照"]
    assert len(licence) == 1 and len(licence[0].item_codes) == 4


def test_bundles_travel_to_the_window_in_the_pull(tmp_path: Path, central: Engine) -> None:
    actor = Actor(staff_no="9901", role="administrator")

    def edit(s: Session) -> None:
        import_catalog(s, SAMPLE)

    change_reference(central, "LC", actor, "catalog.import", edit)
    window = Store.open(sqlite_url(tmp_path / "w.sqlite3"))
    try:
        pull(window, central, hall_code="LC", window_code="B01")
        with window.session() as s:
            b = s.get(Bundle, "LC-YJS-001")
            assert b is not None and len(b.members) == 5 and len(b.materials) == 4

        def drop_member(s: Session) -> None:
            data = _sample_dict()
            kb = next(x for x in data["bundles"] if x["code"] == "LC-YJS-001")
            kb["members"] = kb["members"][:2]
            kb["materials"] = [
                {
                    "name": "企业开办综合申请表（一表通）",
                    "form": "原件",
                    "items": ["SCJ-DJ-002", "GAJ-BA-001"],
                }
            ]
            import_catalog(s, data)

        change_reference(central, "LC", actor, "catalog.import", drop_member)
        pull(window, central, hall_code="LC", window_code="B01")
        with window.session() as s:
            b = s.get(Bundle, "LC-YJS-001")
            assert b is not None
            assert [m.item_code for m in b.members] == ["SCJ-DJ-002", "GAJ-BA-001"]
            assert [m.name for m in b.materials] == ["企业开办综合申请表（一表通）"]
    finally:
        window.dispose()


def test_an_exported_workbook_carries_the_bundles_and_imports_back_unchanged(
    tmp_path: Path,
) -> None:
    """catalog export left out the 一件事 sheets: a hall keeping its catalog in
    Excel could neither see nor edit its bundles."""
    from openpyxl import load_workbook

    from hallapp.catalog import export_catalog_xlsx

    store = Store.open_local(tmp_path / "w.sqlite3")
    try:
        with store.session() as s:
            import_catalog(s, SAMPLE)
            s.commit()
        out = tmp_path / "清单.xlsx"
        with store.session() as s:
            data = export_catalog_xlsx(s, out)
        assert {b.name for b in data.bundles} >= {"开办企业一件事"}
        sheets = load_workbook(out).sheetnames
        assert {"一件事", "一件事成员", "一件事材料"} <= set(sheets)
        assert load_catalog(out).bundles == data.bundles
        with store.session() as s:
            summary = import_catalog(s, out)
        assert not summary.items_added and not summary.items_updated
    finally:
        store.dispose()
