"""A second copy of a window's database (a copied file, a backup restored on
another PC, two PCs set to one window code) numbers cases and documents the
centre already holds under other records: its push is refused, naming the
number, and the centre keeps one record per number."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from hallapp.store import Store, sqlite_url
from hallapp.sync import BadRecord
from hallapp.sync.centre import central_engine
from hallapp.sync.push import pending_count, push
from hallapp.sync.verify import verify_central


def test_a_copied_window_database_is_refused_by_number(central_url, tmp_path, window_factory):
    original = window_factory(tmp_path / "a03.sqlite3", "A03")
    for _ in range(3):
        original.new_case(level=5)
    engine = central_engine(central_url)
    try:
        assert push(original.store, engine, hall_code="LC", window_code="A03").pending == 0
        original.store.dispose()
        shutil.copy(tmp_path / "a03.sqlite3", tmp_path / "copy.sqlite3")
        # Both go on working as A03: the copy continues the same numbering.
        copy = type(original)(
            store=Store.open(sqlite_url(tmp_path / "copy.sqlite3")),
            code="A03",
            clerk_id=original.clerk_id,
            item_code=original.item_code,
        )
        original = type(original)(
            store=Store.open(sqlite_url(tmp_path / "a03.sqlite3")),
            code="A03",
            clerk_id=original.clerk_id,
            item_code=original.item_code,
        )
        for w in (original, copy):
            for _ in range(3):
                next(w._n)  # past the numbers of the first three cases
            w.new_case(level=4)
        assert push(original.store, engine, hall_code="LC", window_code="A03").pending == 0
        with pytest.raises(BadRecord) as refused:
            push(copy.store, engine, hall_code="LC", window_code="A03")
        message = str(refused.value)
        assert "LCA03202611200004" in message and "另一份以本窗口身份工作的数据库" in message
        assert refused.value.table == "cases"
        # Nothing of the copy's batch was written; it keeps its facts to push.
        assert pending_count(copy.store) > 0
        with engine.connect() as c:
            numbers = c.execute(
                sa.text(
                    "SELECT case_no, count(*) FROM cases WHERE hall_code = 'LC' GROUP BY case_no"
                )
            ).all()
        assert len(numbers) == 4 and all(n == 1 for _no, n in numbers)
        assert verify_central(engine).faults == []
    finally:
        engine.dispose()
