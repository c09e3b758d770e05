"""Catalog import/export/search on a county-sized catalog: prints the figures.

A county hall lists some 1,000–2,000 items. This builds N items (8 material
lines each) of 20 departments as an .xlsx, then times: reading and validating
the workbook, importing it into a fresh SQLite store (one transaction), the
same import again (nothing changes), exporting, and the clerk's search.

    .venv/bin/python benchmarks/bench_catalog.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hallapp.catalog import (
    CatalogData,
    DepartmentSpec,
    ItemSpec,
    MaterialSpec,
    export_catalog_xlsx,
    import_catalog,
    load_catalog,
    search_items,
    write_catalog_xlsx,
)
from hallapp.models import ItemKind, MaterialForm
from hallapp.store import Store, sqlite_url

WORDS = (
    "建筑工程施工许可证核发食品经营登记不动产首次转移环境影响评价审批规划道路运输卫生医疗机构执业"
)


def build(n: int) -> CatalogData:
    deps = tuple(DepartmentSpec(f"D{d:02d}", f"连城县第{d}局", "0597-8900000") for d in range(20))
    items = []
    for i in range(n):
        name = "".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(10)) + f"{i}"
        mats = tuple(
            MaterialSpec(j + 1, f"材料{j + 1}", MaterialForm.ORIGINAL, 1, True, j == 7)
            for j in range(8)
        )
        items.append(
            ItemSpec(f"LC-{i:05d}", name, f"D{i % 20:02d}", ItemKind.PROMISED, 20, 8,
                     "受理范围", "办事程序", "审批条件", "不收费", "《行政许可法》", True, mats)
        )  # fmt: skip
    return CatalogData(deps, tuple(items))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "catalog.xlsx"
        t = time.perf_counter()
        write_catalog_xlsx(build(n), src)
        print(f"write xlsx ({n} items, {n * 8} materials): {time.perf_counter() - t:.2f} s")

        t = time.perf_counter()
        load_catalog(src)
        print(f"read + validate xlsx: {time.perf_counter() - t:.2f} s")

        store = Store.open(sqlite_url(Path(tmp) / "b.sqlite3"))
        t = time.perf_counter()
        with store.session() as s:
            import_catalog(s, src)
        print(f"import into empty SQLite: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        with store.session() as s:
            summary = import_catalog(s, src)
        assert not summary.changed
        print(f"re-import, unchanged: {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        with store.session() as s:
            export_catalog_xlsx(s, Path(tmp) / "out.xlsx")
        print(f"export: {time.perf_counter() - t:.2f} s")
        queries = ["jzgc", "sgxk", "LC-001", "许可", "不动产", "zzz"]
        with store.session() as s:
            t = time.perf_counter()
            rounds = 20
            for _ in range(rounds):
                for q in queries:
                    search_items(s, q)
            per = (time.perf_counter() - t) / (rounds * len(queries)) * 1000
        print(f"search: {per:.1f} ms per query (mean of {rounds * len(queries)})")
        store.dispose()


if __name__ == "__main__":
    main()
