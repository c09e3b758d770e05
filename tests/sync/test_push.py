"""Push window → centre: every fact once, in foreign-key order, resumable, exact pending."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from hallapp.sync.push import pending_count, push
from hallapp.sync.schema import HALL as HALL_COL
from hallapp.sync.schema import central_table, fact_tables

HALL = "LC"


def central_counts(central: Engine) -> dict[str, int]:
    with central.connect() as c:
        return {
            t.name: int(c.scalar(select(func.count()).select_from(central_table(t.name))) or 0)
            for t in fact_tables()
        }


def local_counts(window: Any) -> dict[str, int]:
    with window.store.engine.connect() as c:
        return {
            t.name: int(c.exec_driver_sql(f"SELECT count(*) FROM {t.name}").scalar() or 0)
            for t in fact_tables()
        }


def test_every_fact_arrives_once(window: Any, central: Engine) -> None:
    for level in (5, 4, 1, None):
        window.new_case(level=level)
    before = pending_count(window.store)
    assert before == sum(local_counts(window).values()) > 0
    result = push(window.store, central, hall_code=HALL, window_code="A03", batch_size=3)
    assert result.pushed == before and result.inserted == before
    assert result.pending == 0 and pending_count(window.store) == 0
    assert central_counts(central) == local_counts(window)
    again = push(window.store, central, hall_code=HALL, window_code="A03")
    assert again.pushed == 0
    assert central_counts(central) == local_counts(window)
    with central.connect() as c:
        halls = c.execute(select(central_table("cases").c[HALL_COL]).distinct()).scalars().all()
    assert halls == [HALL]
