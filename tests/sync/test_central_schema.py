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


def test_no_central_fact_index_is_a_prefix_of_another_key() -> None:
    """Each index costs every pushed row a B-tree insert: one whose columns
    lead another index or the primary key of its table is never made
    (a partial index, small on purpose, is neither dropped nor counted)."""
    md = central_metadata()
    for local in fact_tables():
        table = md.tables[local.name]
        full = [ix for ix in table.indexes if ix.dialect_kwargs.get("postgresql_where") is None]
        keys = [tuple(c.name for c in ix.columns) for ix in full]
        keys.append(tuple(c.name for c in table.primary_key.columns))
        for ix in full:
            key = tuple(c.name for c in ix.columns)
            longer = [k for k in keys if len(k) > len(key) and k[: len(key)] == key]
            assert not longer, (ix.name, longer)
            assert "origin_seq" not in key, ix.name
    evaluations = md.tables["evaluations"]
    names = {ix.name for ix in evaluations.indexes}
    # What the counts' triggers, the chain check and the reports look up stays.
    assert {"ix_evaluations_case_id_encounter_event_id_hall",
            "ix_evaluations_origin_window_chain_seq_hall",
            "ix_evaluations_created_at_window_code_staff_id_level_hall"} <= names
    assert "ix_case_events_case_id_hall" in {ix.name for ix in md.tables["case_events"].indexes}


def test_init_again_drops_the_indexes_this_release_retired(central_url: str,
                                                           central: Engine) -> None:
    """A centre made by an earlier release has the redundant and unused
    indexes (a prefix of another, origin order): `central init` drops those,
    by name, and keeps an index its administrator added by hand, the rows
    and every index this release wants."""
    from hallapp.sync.centre import add_fact_for_window
    from hallapp.sync.schema import retired_indexes

    old = {
        "evaluations": [("ix_evaluations_case_id_hall", "hall_code, case_id"),
                        ("ix_evaluations_created_at_hall", "hall_code, created_at"),
                        ("ix_evaluations_origin_window_origin_seq_hall",
                         "hall_code, origin_window, origin_seq")],
        "case_events": [("ix_case_events_origin_window_origin_seq_hall",
                         "hall_code, origin_window, origin_seq")],
    }
    with central.begin() as c:
        add_fact_for_window(c, "LC", "A03", "audit_entries",
                            {"staff_no": "9001", "role": "supervisor", "action": "kept"})
        for table, indexes in old.items():
            for name, cols in indexes:
                assert name in retired_indexes(central_metadata().tables[table])
                c.execute(text(f"CREATE INDEX {name} ON {table} ({cols})"))
        c.execute(text("CREATE INDEX ix_by_hand ON evaluations (hall_code, device)"))
    have = {ix["name"] for ix in inspect(central).get_indexes("evaluations")}
    assert {name for name, _ in old["evaluations"]} | {"ix_by_hand"} <= have
    init_central(central_url)
    central.dispose()
    for table, indexes in old.items():
        have = {ix["name"] for ix in inspect(central).get_indexes(table)}
        assert not have & {name for name, _ in indexes}, table
        assert {ix.name for ix in central_metadata().tables[table].indexes} <= have
    assert "ix_by_hand" in {ix["name"] for ix in inspect(central).get_indexes("evaluations")}
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
