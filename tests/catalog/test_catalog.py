"""The catalog: sample content, validation, all-or-nothing import, xlsx round trip, search."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from hallapp.catalog import (
    LEGAL_DAYS_MAX,
    CatalogError,
    catalog_from_store,
    export_catalog_xlsx,
    import_catalog,
    load_catalog,
    max_promised_days,
    pinyin_initials,
    search_items,
)
from hallapp.models import (
    AuditEntry,
    ItemKind,
    MaterialRequirement,
    Role,
    ServiceItem,
    Staff,
)
from hallapp.security import PermissionDenied, hash_password
from hallapp.store import Store, sqlite_url


def minimal(**item: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "T-001",
        "name": "测试许可",
        "department": "D1",
        "kind": "承诺件",
        "legal_days": 20,
        "promised_days": 8,
        "legal_basis": "《中华人民共和国行政许可法》",
        "materials": [
            {"name": "申请书", "form": "原件"},
            {"name": "营业执照", "form": "复印件"},
        ],
    }
    base.update(item)
    return {"departments": [{"code": "D1", "name": "测试局"}], "items": [base]}


def problems_of(source: Any, session: Any = None) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(source, session)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------ the sample


def test_sample_catalog_is_realistic_and_lawful(store: Store, sample_catalog: Path) -> None:
    with store.session() as s:
        summary = import_catalog(s, sample_catalog)
    assert len(summary.items_added) >= 12
    with store.session() as s:
        items = s.scalars(select(ServiceItem)).all()
        departments_with_items = {i.department_code for i in items}
        assert len(items) >= 12
        assert len(departments_with_items) >= 5
        names = " ".join(i.name for i in items)
        for kind in (
            "施工许可",
            "食品经营许可",
            "个体工商户",
            "环境影响评价",
            "规划许可",
            "不动产",
        ):
            assert kind in names
        for item in items:
            # The 40% rule, computed independently of the code under test.
            if item.kind == ItemKind.PROMISED:
                assert item.promised_days >= 1
                assert item.promised_days * 5 <= item.legal_days * 2, item.code
            else:
                assert item.promised_days == 0
            assert 4 <= len(item.materials) <= 10, item.code
            assert any(m.required and not m.deferrable for m in item.materials)
            assert re.search(r"《[^》]+》", item.legal_basis), item.code
            for text in (item.scope, item.procedure, item.conditions, item.fees):
                assert text.strip(), item.code
            assert item.pinyin == pinyin_initials(item.name)
        assert any(m.deferrable for i in items for m in i.materials)
        assert any(i.kind == ItemKind.INSTANT for i in items)
        laws = " ".join(i.legal_basis for i in items)
        for law in (
            "《中华人民共和国建筑法》",
            "《建筑工程施工许可管理办法》",
            "《中华人民共和国食品安全法》",
            "《食品经营许可和备案管理办法》",
            "《促进个体工商户发展条例》",
            "《中华人民共和国环境影响评价法》",
            "《中华人民共和国城乡规划法》",
            "《不动产登记暂行条例》",
        ):
            assert law in laws


def test_pinyin_initials() -> None:
    assert pinyin_initials("建筑工程施工许可证核发") == "jzgcsgxkzhf"
    assert pinyin_initials("城镇污水排入排水管网许可") == "czwsprpsgwxk"
    assert pinyin_initials("《食品》经营（新办）") == "spjyxb"


def test_text_formats_give_the_same_catalog(tmp_path: Path, sample_catalog: Path) -> None:
    from_toml = load_catalog(sample_catalog)
    as_dict = from_toml.to_dict()
    (tmp_path / "c.json").write_text(json.dumps(as_dict, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(as_dict, allow_unicode=True), encoding="utf-8")
    assert load_catalog(tmp_path / "c.json") == from_toml
    assert load_catalog(tmp_path / "c.yaml") == from_toml
    assert load_catalog(as_dict) == from_toml


# ------------------------------------------------------------------- round trip


def test_xlsx_round_trip(store: Store, tmp_path: Path, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
    target = tmp_path / "事项清单.xlsx"
    with store.session() as s:
        exported = export_catalog_xlsx(s, target)

    wb = load_workbook(target)
    assert wb.sheetnames[:4] == ["事项", "申请材料", "部门", "部门联系人"]
    headers = [c.value for c in wb["事项"][1]]
    assert headers[:11] == [
        "事项编码", "事项名称", "实施部门", "办件类型", "法定时限(工作日)", "承诺时限(工作日)",
        "受理范围", "办事程序", "审批条件", "收费标准", "法律依据",
    ]  # fmt: skip
    assert [c.value for c in wb["申请材料"][1]] == [
        "事项编码", "序号", "材料名称", "材料形式", "份数", "是否必需", "是否容缺", "备注",
    ]  # fmt: skip
    kinds = {row[3] for row in wb["事项"].iter_rows(min_row=2, values_only=True)}
    assert kinds == {"即办件", "承诺件"}

    other = Store.open(sqlite_url(tmp_path / "other.sqlite3"))
    try:
        with other.session() as s:
            summary = import_catalog(s, target)
        assert len(summary.items_added) == len(exported.items)
        with other.session() as s:
            assert catalog_from_store(s) == exported
    finally:
        other.dispose()

    # Importing the export into the store it came from changes nothing.
    with store.session() as s:
        again = import_catalog(s, target)
    assert not again.changed
    assert len(again.items_unchanged) == len(exported.items)


def test_reimport_updates_in_place(store: Store, sample_catalog: Path) -> None:
    data = tomllib.loads(sample_catalog.read_text(encoding="utf-8"))
    with store.session() as s:
        import_catalog(s, data)
        first = s.get(ServiceItem, "ZJJ-XK-002")
        assert first is not None
        ids_before = {m.seq: m.id for m in first.materials}

    changed = copy.deepcopy(data)
    item = next(i for i in changed["items"] if i["code"] == "ZJJ-XK-002")
    item["promised_days"] = 4
    item["materials"] = item["materials"][:-1]  # drop the last (optional) line
    item["materials"][0]["note"] = "可在线填报"
    with store.session() as s:
        summary = import_catalog(s, changed)
    assert summary.items_updated == ["ZJJ-XK-002"]
    assert len(summary.items_unchanged) == len(data["items"]) - 1
    with store.session() as s:
        row = s.get(ServiceItem, "ZJJ-XK-002")
        assert row is not None
        assert row.promised_days == 4
        assert [m.seq for m in row.materials] == sorted(ids_before)[:-1]
        assert row.materials[0].note == "可在线填报"
        # Lines keep their ids, so checklists that refer to them stay valid.
        assert {m.seq: m.id for m in row.materials} == {
            k: v for k, v in ids_before.items() if k in {m.seq for m in row.materials}
        }
        assert (
            s.scalar(
                select(func.count())
                .select_from(MaterialRequirement)
                .where(MaterialRequirement.item_code == "ZJJ-XK-002")
            )
            == len(ids_before) - 1
        )


def test_deactivate_missing(store: Store, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
    with store.session() as s:
        summary = import_catalog(s, minimal(), deactivate_missing=True)
    assert summary.items_added == ["T-001"]
    assert len(summary.items_deactivated) >= 12
    with store.session() as s:
        active = s.scalars(select(ServiceItem.code).where(ServiceItem.active.is_(True))).all()
        assert active == ["T-001"]
        assert search_items(s, "sgxk") == []
        assert [i.code for i in search_items(s, "sgxk", include_inactive=True)] == ["ZJJ-XK-001"]


# ------------------------------------------------------------------- validation


def _set(ws: Any, row: int, header: str, value: Any) -> None:
    col = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row=row, column=col).value = value


def test_invalid_xlsx_reports_every_problem_and_writes_nothing(
    store: Store, tmp_path: Path, sample_catalog: Path, snapshot: Any
) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        good = tmp_path / "good.xlsx"
        export_catalog_xlsx(s, good)
    before = snapshot(store)

    wb = load_workbook(good)
    items, materials = wb["事项"], wb["申请材料"]
    codes = [r[0] for r in items.iter_rows(min_row=2, values_only=True)]
    legal = {r[0]: r[4] for r in items.iter_rows(min_row=2, values_only=True)}
    # Every other item gets a new name, so a partial write would show.
    for row in range(2, items.max_row + 1):
        _set(items, row, "事项名称", f"改名{row}")
    _set(items, 2, "承诺时限(工作日)", legal[codes[0]])  # 100% of the legal limit
    _set(items, 3, "事项名称", None)
    _set(items, 4, "实施部门", "连城县不存在局")
    _set(items, 5, "法定时限(工作日)", "二十天")
    _set(items, 6, "办件类型", "特急件")
    _set(materials, 2, "材料形式", "传真件")
    _set(materials, 3, "份数", 0)
    _set(materials, 4, "是否必需", "否")
    _set(materials, 4, "是否容缺", "是")
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)

    with store.session() as s, pytest.raises(CatalogError) as info:
        import_catalog(s, bad)
    found = [str(p) for p in info.value.problems]
    limit = max_promised_days(legal[codes[0]])
    expected = [
        ("工作表“事项”第 2 行，承诺时限(工作日)", f"最多可承诺 {limit} 个工作日"),
        ("工作表“事项”第 3 行，事项名称", "不能为空"),
        ("工作表“事项”第 4 行，实施部门", "连城县不存在局"),
        ("工作表“事项”第 5 行，法定时限(工作日)", "不是整数"),
        ("工作表“事项”第 6 行，办件类型", "即办件"),
        ("工作表“申请材料”第 2 行，材料形式", "传真件"),
        ("工作表“申请材料”第 3 行，份数", "至少为 1"),
        ("工作表“申请材料”第 4 行，是否容缺", "非必需材料"),
    ]
    for where, text in expected:
        assert any(p.startswith(where) and text in p for p in found), (where, found)
    assert len(found) == len(expected)
    assert "未导入任何内容" in info.value.report()
    assert snapshot(store) == before

    # Into an empty store: nothing at all appears.
    empty = Store.open(sqlite_url(tmp_path / "empty.sqlite3"))
    try:
        with empty.session() as s, pytest.raises(CatalogError):
            import_catalog(s, bad)
        with empty.session() as s:
            assert s.scalar(select(func.count()).select_from(ServiceItem)) == 0
    finally:
        empty.dispose()


def test_missing_sheet_and_columns(tmp_path: Path, store: Store, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        good = tmp_path / "good.xlsx"
        export_catalog_xlsx(s, good)
    wb = load_workbook(good)
    del wb["申请材料"]
    ws = wb["事项"]
    ws.delete_cols([c.value for c in ws[1]].index("承诺时限(工作日)") + 1)
    wb.save(tmp_path / "broken.xlsx")
    found = problems_of(tmp_path / "broken.xlsx")
    assert any("缺少工作表“申请材料”" in p for p in found)
    assert any("第 1 行（表头），承诺时限(工作日)" in p and "缺少这一列" in p for p in found)

    (tmp_path / "not.xlsx").write_bytes(b"this is not a workbook")
    assert any("无法读取 Excel 文件" in p for p in problems_of(tmp_path / "not.xlsx"))


def test_promised_over_40_percent_is_refused_with_the_limit() -> None:
    found = problems_of(minimal(legal_days=15, promised_days=7))
    assert len(found) == 1
    assert "事项第 1 条（编码 T-001），promised_days（承诺时限(工作日)）" in found[0]
    assert "超过法定时限 15 个工作日的 40%" in found[0]
    assert "最多可承诺 6 个工作日" in found[0]
    # Exactly 40% is allowed.
    assert load_catalog(minimal(legal_days=15, promised_days=6)).items[0].promised_days == 6
    assert load_catalog(minimal(legal_days=20, promised_days=8)).items[0].legal_days == 20
    # A limit too short for any promise: the item must be instant.
    assert any("改为即办件" in p for p in problems_of(minimal(legal_days=2, promised_days=1)))
    assert any("至少 1 个工作日" in p for p in problems_of(minimal(promised_days=0)))


@settings(max_examples=200, deadline=None)
@given(legal=st.integers(min_value=1, max_value=LEGAL_DAYS_MAX), promised=st.integers(1, 400))
def test_forty_percent_rule_property(legal: int, promised: int) -> None:
    lawful = promised * 5 <= legal * 2  # promised / legal <= 40 %, without floats
    if lawful:
        assert load_catalog(minimal(legal_days=legal, promised_days=promised)).items
    else:
        found = problems_of(minimal(legal_days=legal, promised_days=promised))
        assert len(found) == 1
        assert (
            "即办件" in found[0]
            or f"最多可承诺 {legal * 2 // 5} 个工作日" in found[0]
            or f"{promised} 超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日" in found[0]
        )


def test_instant_items() -> None:
    one = load_catalog(minimal(kind="即办件", legal_days=0, promised_days=0)).items[0]
    assert one.kind == ItemKind.INSTANT and one.promised_days == 0
    # The law's period may be kept; an empty promised cell means on the spot.
    two = load_catalog(minimal(kind="instant", legal_days=3, promised_days="")).items[0]
    assert (two.legal_days, two.promised_days) == (3, 0)
    assert any("承诺时限应为 0" in p for p in problems_of(minimal(kind="即办件", promised_days=2)))
    mats = [
        {"name": "申请书", "form": "原件"},
        {"name": "照片", "form": "原件", "deferrable": True},
    ]
    found = problems_of(minimal(kind="即办件", legal_days=0, promised_days=0, materials=mats))
    assert any("不适用容缺受理" in p for p in found)


def test_material_rules() -> None:
    mats = [
        {"name": "申请书", "form": "原件", "deferrable": True},
        {"name": "", "form": "原件"},
        {"name": "营业执照", "form": "扫描件", "copies": 0},
        {"name": "营业执照", "form": "复印件", "required": "可能"},
        {"name": "委托书", "form": "原件", "required": False, "deferrable": True},
    ]
    found = problems_of(minimal(materials=mats))
    assert any("申请材料第 2 条，name（材料名称）：不能为空" in p for p in found)
    assert any("申请材料第 3 条，form（材料形式）" in p and "扫描件" in p for p in found)
    assert any("申请材料第 3 条，copies（份数）：份数至少为 1" in p for p in found)
    assert any("申请材料第 4 条，name（材料名称）" in p and "重复" in p for p in found)
    assert any("申请材料第 4 条，required（是否必需）" in p and "是”或“否" in p for p in found)
    assert any("申请材料第 5 条，deferrable（是否容缺）" in p for p in found)
    assert len(found) == 6
    # The only required line is deferrable: 主要材料 would not be complete.
    only = [{"name": "申请书", "form": "原件", "deferrable": True},
            {"name": "委托书", "form": "原件", "required": False}]  # fmt: skip
    assert any("不符合“主要申请材料齐全”" in p for p in problems_of(minimal(materials=only)))
    assert any("没有申请材料" in p for p in problems_of(minimal(materials=[])))


def test_every_problem_of_a_text_file(tmp_path: Path) -> None:
    data = minimal()
    data["items"].append(dict(data["items"][0]))  # duplicate code
    data["items"].append({**data["items"][0], "code": "T-002", "promised_days": 9, "foo": 1})
    data["departments"].append({"code": "D 2", "name": "", "phone": "请拨总机"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    found = problems_of(path)
    assert any(p.startswith("事项第 2 条（编码 T-001），code") and "重复" in p for p in found)
    assert any(p.startswith("事项第 3 条（编码 T-002），promised_days") for p in found)
    assert any(p.startswith("事项第 3 条（编码 T-002），foo：未知的字段") for p in found)
    assert any(p.startswith("部门第 2 条（编码 D 2），code") for p in found)
    assert any(p.startswith("部门第 2 条（编码 D 2），name") for p in found)
    assert any(p.startswith("部门第 2 条（编码 D 2），phone") for p in found)
    assert len(found) == 6

    (tmp_path / "broken.toml").write_text("[[items]\ncode = 1", encoding="utf-8")
    assert any("TOML 格式错误" in p for p in problems_of(tmp_path / "broken.toml"))
    (tmp_path / "x.csv").write_text("事项编码,事项名称\n", encoding="utf-8")
    assert any("不支持的文件类型 .csv" in p for p in problems_of(tmp_path / "x.csv"))
    assert any("文件不存在" in p for p in problems_of(tmp_path / "absent.xlsx"))


def test_department_from_the_store_by_code_or_name(store: Store) -> None:
    with store.session() as s:
        import_catalog(s, minimal())
    other = minimal(code="T-009", department="测试局")
    del other["departments"]
    with store.session() as s:
        import_catalog(s, other)
        row = s.get(ServiceItem, "T-009")
        assert row is not None and row.department_code == "D1"
    # Without the store the department is unknown.
    assert any("部门“测试局”不存在" in p for p in problems_of(other))


def test_too_long_text_is_reported_not_truncated() -> None:
    found = problems_of(minimal(name="许" * 201))
    assert any("name（事项名称）：长度 201 字超过上限 200 字" in p for p in found)


# ----------------------------------------------------------------- audit, roles


def _staff(store: Store, staff_no: str, role: Role) -> Staff:
    with store.session() as s:
        if s.get(ServiceItem, "T-001") is None:
            import_catalog(s, minimal())
        person = Staff(
            staff_no=staff_no,
            name="测试",
            department_code="D1",
            role=role,
            password_hash=hash_password("123456"),
        )
        s.add(person)
    return person


def test_import_by_supervisor_is_audited(store: Store, sample_catalog: Path) -> None:
    supervisor = _staff(store, "9001", Role.SUPERVISOR)
    with store.session() as s:
        actor = s.get(Staff, supervisor.id)
        assert actor is not None
        summary = import_catalog(s, sample_catalog, actor=actor, window_code="A01")
    with store.session() as s:
        entries = s.scalars(select(AuditEntry)).all()
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.staff_no, entry.role, entry.action) == (
            "9001",
            "supervisor",
            "catalog.import",
        )
        assert entry.origin_window == "A01"
        assert entry.target == "catalog.toml"
        assert entry.detail["items_added"] == summary.items_added


def test_clerk_may_not_import(store: Store, sample_catalog: Path, snapshot: Any) -> None:
    clerk = _staff(store, "1001", Role.CLERK)
    before = snapshot(store)
    with store.session() as s, pytest.raises(PermissionDenied):
        actor = s.get(Staff, clerk.id)
        assert actor is not None
        import_catalog(s, sample_catalog, actor=actor, window_code="A01")
    assert snapshot(store) == before


def test_dry_run_writes_nothing(store: Store, sample_catalog: Path, snapshot: Any) -> None:
    before = snapshot(store)
    with store.session() as s:
        summary = import_catalog(s, sample_catalog, dry_run=True)
    assert summary.dry_run and len(summary.items_added) >= 12
    assert snapshot(store) == before


# ----------------------------------------------------------------------- search


def test_search(store: Store, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        import_catalog(
            s,
            {"items": [{**minimal()["items"][0], "code": "SGXK", "name": "其他事项",
                        "department": "ZJJ"}]},
        )  # fmt: skip
        codes = lambda q: [i.code for i in search_items(s, q)]  # noqa: E731
        assert codes("sgxk")[:2] == ["SGXK", "ZJJ-XK-001"]  # exact code, then initials
        assert codes("SGXK")[0] == "SGXK"
        assert codes("jzgc") == ["ZJJ-XK-001"]  # initials prefix
        assert codes("施工许可") == ["ZJJ-XK-001"]
        assert set(codes("zjj-xk")) == {"ZJJ-XK-001", "ZJJ-XK-002", "ZJJ-XK-003"}
        assert codes("ZJJ-XK-002") == ["ZJJ-XK-002"]
        # Initials prefix ranks above a name that only contains the text.
        ranked = codes("bdc")
        assert set(ranked[:2]) == {"BDC-DJ-001", "BDC-DJ-002"}
        found = codes("许可")
        names = s.scalars(select(ServiceItem.name).where(ServiceItem.code.in_(found))).all()
        assert len(found) >= 8 and all("许可" in n for n in names)
        assert codes("") == [] and codes("   ") == []
        assert codes("%") == [] and codes("_") == []  # LIKE wildcards are literal
        assert codes("不存在的事项") == []


def test_day_counts_as_guides_write_them() -> None:
    item = load_catalog(minimal(legal_days="20个工作日", promised_days=" 8 ")).items[0]
    assert (item.legal_days, item.promised_days) == (20, 8)
    # Calendar days or words are not working days: refused, not guessed.
    for text in ("20天", "20日", "二十", "-3", "8.5"):
        assert any("不是整数" in p for p in problems_of(minimal(legal_days=text))), text
    assert any("不能为负数" in p for p in problems_of(minimal(legal_days=-3)))


def test_template_rows_with_only_a_number_are_skipped(
    store: Store, tmp_path: Path, sample_catalog: Path
) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        path = tmp_path / "t.xlsx"
        exported = export_catalog_xlsx(s, path)
    wb = load_workbook(path)
    ws = wb["申请材料"]
    for n in range(1, 6):
        ws.append([None, n])  # a pre-numbered template row left empty
    ws.append([])
    wb.save(path)
    assert load_catalog(path) == exported


def test_sheets_as_halls_keep_them(store: Store, tmp_path: Path, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        path = tmp_path / "hall.xlsx"
        exported = export_catalog_xlsx(s, path)
    wb = load_workbook(path)
    items = wb["事项"]
    items.title = "事项清单"
    items.insert_rows(1, amount=2)  # a title and a blank line above the headers
    items.cell(row=1, column=1).value = "连城县政务服务事项清单（2026 年版）"
    wb.save(path)
    assert load_catalog(path) == exported

    # Row numbers in messages are the sheet's own, title rows included.
    items.cell(row=5, column=6).value = 99
    wb.save(path)
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith("工作表“事项清单”第 5 行，承诺时限(工作日)")

    # A missing column is reported once, not as a problem on every material row.
    items.delete_cols(1)  # 事项编码
    wb.save(path)
    found = problems_of(path)
    # (The 一件事 sheets then name items the file no longer has: said on their rows.)
    assert [f for f in found if "一件事" not in f] == [
        "工作表“事项清单”第 3 行（表头），事项编码：缺少这一列，请按导出模板补上"
    ]


def test_a_bad_department_row_does_not_cascade_to_its_items() -> None:
    data = minimal()
    data["departments"][0]["phone"] = "总机转"
    found = problems_of(data)
    assert len(found) == 1 and "phone" in found[0]


def test_search_with_several_words(store: Store, sample_catalog: Path) -> None:
    with store.session() as s:
        import_catalog(s, sample_catalog)
        codes = lambda q: [i.code for i in search_items(s, q)]  # noqa: E731
        assert codes("不动产 转移") == ["BDC-DJ-002"]
        assert codes("zjj 许可") == ["ZJJ-XK-001", "ZJJ-XK-002", "ZJJ-XK-003"]
        assert codes("食品 bdc") == []


def test_control_characters_refused_on_import_dropped_on_export(
    store: Store, tmp_path: Path
) -> None:
    assert any("控制字符" in p for p in problems_of(minimal(name="测试\x07许可")))
    # Invisible format characters: a name that reads otherwise than it is.
    for hidden in ("\u202e", "\u200b", "\u2066", "\ufeff"):
        assert any("文字方向控制符" in p for p in problems_of(minimal(name=f"测试{hidden}许可")))
    with store.session() as s:
        import_catalog(s, minimal())
        row = s.get(ServiceItem, "T-001")
        assert row is not None
        row.scope = "范围\x0b说明"  # written by some other tool
    with store.session() as s:
        export_catalog_xlsx(s, tmp_path / "x.xlsx")
    assert load_catalog(tmp_path / "x.xlsx").items[0].scope == "范围说明"


# Text as a hall might type it: Chinese, digits, punctuation, several lines;
# already normalised the way an import leaves it (stripped, no control chars).
_text = st.text(
    alphabet=st.sampled_from(
        list("事项许可证申请材料原件复印件0123456789-=+《》（）、，。 \nAbc%_")
    ),
    max_size=40,
).map(lambda s: s.strip())
_name = _text.filter(bool)


@st.composite
def catalogs(draw: Any) -> Any:
    from hallapp.catalog import CatalogData, ContactSpec, DepartmentSpec, ItemSpec, MaterialSpec
    from hallapp.models import MaterialForm

    dep_codes = draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9]{1,5}", fullmatch=True),
                              min_size=1, max_size=3, unique=True))  # fmt: skip
    deps = tuple(
        DepartmentSpec(
            code,
            f"部门{i}{draw(_text)}".strip(),
            draw(st.sampled_from(["", "0597-8931234", "12345"])),
            draw(_text),
            draw(_text),
            tuple(
                ContactSpec(
                    j + 1, draw(_name)[:50], "0597-89000" + str(j), draw(_text)[:50], draw(_text)
                )
                for j in range(draw(st.integers(0, 2)))
            ),
        )
        for i, code in enumerate(dep_codes)
    )
    items = []
    codes = draw(st.lists(st.from_regex(r"[0-9A-Z][0-9A-Z\-]{0,10}", fullmatch=True),
                          min_size=1, max_size=4, unique=True))  # fmt: skip
    for code in codes:
        instant = draw(st.booleans())
        legal = draw(st.integers(0, 60)) if instant else draw(st.integers(3, 60))
        promised = 0 if instant else draw(st.integers(1, legal * 2 // 5))
        n = draw(st.integers(1, 5))
        mats = []
        for j in range(n):
            required = j == 0 or draw(st.booleans())
            deferrable = j > 0 and required and not instant and draw(st.booleans())
            mats.append(
                MaterialSpec(j + 1, f"材料{j}{draw(_text)}".strip(),
                             draw(st.sampled_from(list(MaterialForm))), draw(st.integers(1, 5)),
                             required, deferrable, draw(_text))
            )  # fmt: skip
        items.append(
            ItemSpec(code, draw(_name), draw(st.sampled_from(dep_codes)),
                     ItemKind.INSTANT if instant else ItemKind.PROMISED, legal, promised,
                     draw(_text), draw(_text), draw(_text), draw(_text), draw(_name),
                     draw(st.booleans()), tuple(mats))
        )  # fmt: skip
    return CatalogData(deps, tuple(items))


@settings(max_examples=40, deadline=None)
@given(data=catalogs())
def test_xlsx_round_trip_property(data: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from hallapp.catalog import write_catalog_xlsx

    path = tmp_path_factory.mktemp("rt") / "c.xlsx"
    write_catalog_xlsx(data, path)
    assert load_catalog(path) == data
    assert load_catalog(data.to_dict()) == data


def test_a_hall_gives_its_own_pinyin_initials(store: Store, tmp_path: Path) -> None:
    """拼音简码: a hall's own (a short alias clerks use), else computed from the name."""
    with store.session() as s:
        import_catalog(s, {
            "departments": [{"code": "D1", "name": "测试局"}],
            "items": [
                {**minimal()["items"][0], "code": "T-1", "name": "社会保障卡申领",
                 "pinyin": "SBK SL"},
                {**minimal()["items"][0], "code": "T-2", "name": "测试许可", "pinyin": "csxk"},
                {**minimal()["items"][0], "code": "T-3", "name": "其他许可"},
            ],
        })  # fmt: skip
        assert [i.code for i in search_items(s, "sbk")] == ["T-1"]
        assert search_items(s, "shbz") == []  # the hall's own replaces the computed one
        stored = {i.code: i.pinyin for i in s.scalars(select(ServiceItem))}
        assert stored == {"T-1": "sbksl", "T-2": "csxk", "T-3": "qtxk"}
        # Exported only where it is the hall's own: a name edited in the
        # exported file then gets fresh initials on the next import.
        exported = {i["code"]: i.get("pinyin") for i in catalog_from_store(s).to_dict()["items"]}
        assert exported == {"T-1": "sbksl", "T-2": None, "T-3": None}
        path = tmp_path / "c.xlsx"
        export_catalog_xlsx(s, path)
        again = {i.code: i.pinyin for i in load_catalog(path).items}
        assert again == {"T-1": "sbksl", "T-2": "", "T-3": ""}


def test_pinyin_initials_must_be_letters_and_digits() -> None:
    problems = problems_of(minimal(pinyin="建筑-gc"))
    assert len(problems) == 1
    assert "拼音简码" in problems[0] and "字母和数字" in problems[0]


def test_the_sample_catalog_imports_without_the_pinyin_dictionary(
    tmp_path: Path, sample_catalog: Path
) -> None:
    """It gives every item's 拼音简码, so the demo's seeding skips pypinyin (55 MB, 0.3 s)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from hallapp.store import Store, sqlite_url\n"
        "from hallapp.catalog import import_catalog\n"
        f"store = Store.open(sqlite_url({str(tmp_path / 'x.sqlite3')!r}))\n"
        "with store.session() as s:\n"
        f"    summary = import_catalog(s, {str(sample_catalog)!r})\n"
        "print(len(summary.items_added), 'pypinyin' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["22", "False"]
