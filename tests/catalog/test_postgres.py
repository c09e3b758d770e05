"""The catalog and the demo seed on the real PostgreSQL server (a fresh database per test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from hallapp.catalog import (
    CatalogError,
    catalog_from_store,
    export_catalog_xlsx,
    import_catalog,
    search_items,
)
from hallapp.demo import seed_demo
from hallapp.models import ServiceItem
from hallapp.security import authenticate
from hallapp.store import Store

pytestmark = pytest.mark.postgres


def test_catalog_import_export_search_on_postgresql(
    pg_store: Store, store: Store, tmp_path: Path, sample_catalog: Path, snapshot: Any
) -> None:
    with pg_store.session() as s:
        summary = import_catalog(s, sample_catalog)
    assert len(summary.items_added) >= 12
    with pg_store.session() as s:
        # ILIKE on PostgreSQL: the code prefix and the name search ignore case too.
        assert search_items(s, "sgxk")[0].code == "ZJJ-XK-001"
        assert search_items(s, "zjj-xk-001")[0].code == "ZJJ-XK-001"
        assert [i.code for i in search_items(s, "施工许可")] == ["ZJJ-XK-001"]
        exported = export_catalog_xlsx(s, tmp_path / "pg.xlsx")

    # The PostgreSQL export imports into SQLite as the same catalog.
    with store.session() as s:
        import_catalog(s, tmp_path / "pg.xlsx")
    with store.session() as s:
        assert catalog_from_store(s) == exported

    # A bad file leaves PostgreSQL untouched too.
    wb = load_workbook(tmp_path / "pg.xlsx")
    ws = wb["事项"]
    ws.cell(row=2, column=6).value = 999
    ws.cell(row=3, column=2).value = "新名字"
    wb.save(tmp_path / "bad.xlsx")
    before = snapshot(pg_store)
    with pg_store.session() as s, pytest.raises(CatalogError) as info:
        import_catalog(s, tmp_path / "bad.xlsx")
    assert len(info.value.problems) == 1
    assert "工作表“事项”第 2 行，承诺时限(工作日)" in str(info.value.problems[0])
    assert snapshot(pg_store) == before


def test_seed_demo_on_postgresql(pg_store: Store, snapshot: Any) -> None:
    assert seed_demo(pg_store).changed
    first = snapshot(pg_store)
    assert not seed_demo(pg_store).changed
    assert snapshot(pg_store) == first
    with pg_store.session() as s:
        assert authenticate(s, "1001", "123456").name == "王晓丽"
        assert s.scalar(select(func.count()).select_from(ServiceItem)) >= 12
