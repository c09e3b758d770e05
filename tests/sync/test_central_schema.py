"""The central store's schema: the local tables plus hall_code, partition-ready keys,
append-only guards, and additive upgrades when the local schema grows."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from hallapp.models import Base
from hallapp.sync.centre import init_central
from hallapp.sync.schema import (
    CENTRAL_ONLY,
    DERIVED_TABLES,
    HALL,
    REFERENCE_TABLES,
    central_metadata,
    fact_tables,
    unclassified_tables,
)


def test_every_local_table_is_a_fact_reference_data_or_local_only() -> None:
    # A new table must be classified in hallapp/sync/schema.py on purpose.
    assert unclassified_tables() == []


def test_central_tables_are_the_local_ones_plus_hall_code() -> None:
    md = central_metadata()
    facts = {t.name for t in fact_tables()}
    for local in Base.metadata.sorted_tables:
        if local.name in DERIVED_TABLES:
            # Counts the centre keeps from its own facts, per hall.
            assert md.tables[local.name].primary_key.columns.keys()[0] == HALL
        elif local.name not in facts and local.name not in REFERENCE_TABLES:
            assert local.name not in md.tables
            continue
        central = md.tables[local.name]
        extra = {"hall_code", "origin_seq"} if local.name in facts else {"hall_code"}
        assert {c.name for c in central.columns} == {c.name for c in local.columns} | extra
        pk = [c.name for c in central.primary_key.columns]
        assert pk[0] == "hall_code"  # distribution by hall
        if local.name in facts:
            assert "created_at" in pk  # partitioning by month
            # Every unique key of a partitioned, distributed table must hold both.
            for uc in central.constraints:
                cols = {c.name for c in getattr(uc, "columns", [])}
                if uc.__class__.__name__ == "UniqueConstraint":
                    assert {"hall_code", "created_at"} <= cols
            assert not central.foreign_keys
    assert set(CENTRAL_ONLY) <= set(md.tables)


def test_central_facts_are_append_only(central: Engine) -> None:
    from hallapp.sync.centre import add_fact_for_window

    with central.begin() as c:
        add_fact_for_window(c, "LC", "A03", "audit_entries",
                            {"staff_no": "9001", "role": "supervisor", "action": "test"})
    for sql in ("UPDATE audit_entries SET action = 'changed'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError), central.begin() as c:
            c.execute(text(sql))
    with central.connect() as c:
        assert c.execute(text("SELECT action FROM audit_entries")).scalars().all() == ["test"]


def test_init_again_adds_a_column_the_local_schema_gained(central_url: str,
                                                          central: Engine) -> None:
    with central.begin() as c:
        c.execute(text("ALTER TABLE evaluations DROP COLUMN device"))
    assert "device" not in {col["name"] for col in inspect(central).get_columns("evaluations")}
    init_central(central_url)
    central.dispose()
    assert "device" in {col["name"] for col in inspect(central).get_columns("evaluations")}
    # …and keeps the guards (SQLite recreates nothing: ALTER TABLE ADD COLUMN).
    from hallapp.sync.centre import add_fact_for_window

    with central.begin() as c:
        add_fact_for_window(c, "LC", "A03", "audit_entries",
                            {"staff_no": "9001", "role": "supervisor", "action": "test"})
    with pytest.raises(DBAPIError), central.begin() as c:
        c.execute(text("DELETE FROM audit_entries"))


def test_init_again_adds_an_index_a_later_release_brought(central_url: str,
                                                           central: Engine) -> None:
    """A report's index added to an existing fact table reaches a centre
    that was made before it; the rows already there stay."""
    from hallapp.sync.centre import add_fact_for_window

    with central.begin() as c:
        add_fact_for_window(c, "LC", "A03", "audit_entries",
                            {"staff_no": "9001", "role": "supervisor", "action": "kept"})
    wanted = {ix.name for ix in central_metadata().tables["evaluations"].indexes}
    dropped = sorted(wanted)[0]
    with central.begin() as c:
        c.execute(text(f"DROP INDEX {dropped}"))
    assert dropped not in {ix["name"] for ix in inspect(central).get_indexes("evaluations")}
    init_central(central_url)
    central.dispose()
    assert wanted <= {ix["name"] for ix in inspect(central).get_indexes("evaluations")}
    with central.connect() as c:
        assert c.execute(text("SELECT action FROM audit_entries")).scalars().all() == ["kept"]


def test_the_supervisor_side_opens_a_central_store_as_it_is(central_url: str,
                                                           central: Engine) -> None:
    """``hallapp-supervisor --db`` and ``hallapp report --db`` open the
    central store: no local migration is run on it, and a centre that
    mirrors another release is refused with the command that upgrades it."""
    from hallapp.store import Store, StoreError

    store = Store.open(central_url)
    store.dispose()
    assert not inspect(central).has_table("alembic_version")
    with central.begin() as c:
        c.execute(text("UPDATE central_meta SET value = '0001' WHERE key = 'local_revision'"))
    with pytest.raises(StoreError, match="hallapp central init"):
        Store.open(central_url)
