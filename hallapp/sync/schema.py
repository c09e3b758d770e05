"""Which tables sync moves, and the central store's tables derived from the models.

Every table of the local schema is one of three kinds:

- a *fact* (``hallapp.models.APPEND_ONLY``): pushed window → centre, once;
- *reference data* (:data:`REFERENCE_TABLES`): authored at the centre, pulled;
- *local only* (:data:`LOCAL_ONLY_TABLES`): never leaves the window.

A test fails on a table of none of them, so a new table is classified on
purpose, not synced (or wiped by a pull) by accident.

The central tables have the same names and columns as the local ones, plus
``hall_code`` first: many halls share one central store and window codes are
unique only inside a hall, and SQL written for reports runs on both stores
(filtering by ``hall_code`` at the centre). Keys are chosen for partitioning
by month and distribution by hall (Citus), whose primary and unique keys must
include those columns:

- a fact's primary key is ``(hall_code, id, created_at)``; its local unique
  constraints (case_no, doc_no...) become plain indexes led by hall_code
  (their uniqueness comes from the window code inside each number), and there
  are no foreign keys between central facts (a partitioned table cannot be
  referenced by a key without its partition column); the push order keeps
  every referenced fact ahead of what refers to it;
- reference tables are small (Citus "reference tables"): primary key
  ``(hall_code, <local key>)``, unique keys and foreign keys likewise led by
  ``hall_code``.

Central facts carry one more column, ``origin_seq``: the row's insertion
order at its window (the local rowid), so a window's facts can be read back
in the order they were written whatever the window's clock said.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem

from hallapp.models import APPEND_ONLY, NAMING_CONVENTION, Base

# Reference data, authored at the centre and pulled by every window of a hall.
REFERENCE_TABLES: tuple[str, ...] = (
    "departments",
    "department_contacts",
    "windows",
    # Which departments a window serves (window-law, on main): authored
    # centrally with the windows. Listed before it exists here; names not in
    # the models are ignored.
    "window_departments",
    "staff",
    "service_items",
    "material_requirements",
    # The catalog's bundles (一件事 / 联合审批, hallapp.bundles), with the catalog.
    "bundles",
    "bundle_members",
    "bundle_materials",
    "holiday_schedules",
    "hall_settings",
)

# Never synced: per-window counters and the sync bookkeeping itself.
LOCAL_ONLY_TABLES: tuple[str, ...] = ("number_counters", "sync_state")

# Never synced either: counts each store derives from its own facts with
# its own triggers (hallapp.reports.rollup); the centre's carry hall_code.
DERIVED_TABLES: tuple[str, ...] = (
    "evaluation_tallies",
    "completion_tallies",
    "case_tallies",
    "case_deadlines",
    "open_follow_ups",
)

# Facts written at the centre (a supervisor's follow-up step, an appeal
# decision) carry this origin: not a window code (those are alphanumeric),
# so it never collides with one.
CENTRE_ORIGIN = "@centre"

HALL = "hall_code"


def fact_tables() -> list[Table]:
    """The local fact tables in foreign-key order (what is referenced first)."""
    names = {m.__table__.name for m in APPEND_ONLY}  # type: ignore[attr-defined]
    return [t for t in Base.metadata.sorted_tables if t.name in names]


def reference_tables() -> list[Table]:
    """The local reference tables in foreign-key order."""
    return [t for t in Base.metadata.sorted_tables if t.name in REFERENCE_TABLES]


def unclassified_tables() -> list[str]:
    known = (
        {t.name for t in fact_tables()}
        | set(REFERENCE_TABLES)
        | set(LOCAL_ONLY_TABLES)
        | set(DERIVED_TABLES)
    )
    return sorted(t.name for t in Base.metadata.sorted_tables if t.name not in known)


def _copy_column(col: Column[object]) -> Column[object]:
    # The defaults' arguments, not the default objects: a ColumnDefault belongs
    # to one column, and a copied one never fires on the central table.
    default = getattr(col.default, "arg", None)
    server_default = getattr(col.server_default, "arg", None)
    return Column(
        col.name,
        col.type,
        nullable=col.nullable if not col.primary_key else False,
        default=default,
        server_default=server_default,
    )


def _name(kind: str, table: str, columns: list[str]) -> str:
    name = f"{kind}_{table}_{'_'.join(columns)}_hall"
    if len(name) <= 63:  # PostgreSQL's limit on names
        return name
    import hashlib

    return f"{name[:54]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _central_table(md: MetaData, local: Table, *, fact: bool) -> Table:
    cols: list[SchemaItem] = [Column(HALL, String(8), nullable=False)]
    info: dict[str, object] = {}
    cols += [_copy_column(c) for c in local.columns]
    pk_local = [c.name for c in local.primary_key.columns]
    # Names spelled out: the naming convention would name every key after
    # its first column, hall_code, and two keys of one table would collide.
    seen: set[tuple[str, ...]] = set()

    def index(names: list[str], partial: Index | None = None) -> None:
        # A partial index keeps its WHERE (and its own name: the same columns
        # with and without a WHERE are two indexes).
        where = {k: v for k, v in (partial.dialect_kwargs if partial is not None else {}).items()
                 if k.endswith("_where") and v is not None}  # fmt: skip
        key = (HALL, *names, *(str(v) for v in where.values()))
        if key not in seen:
            seen.add(key)
            name = str(partial.name) + "_hall" if where and partial is not None else None
            cols.append(Index(name or _name("ix", local.name, names), HALL, *names, **where))

    if fact:
        cols.append(Column("origin_seq", BigInteger, nullable=True))
        pk = [HALL, *pk_local, "created_at"] if "created_at" not in pk_local else [HALL, *pk_local]
        cols.append(PrimaryKeyConstraint(*pk))
        # Every index costs each pushed row a B-tree insert, so a central
        # fact gets only the indexes a central query can use. None on
        # origin_window, nor (origin_window, origin_seq) as earlier releases
        # made: no central query looks a window's facts up by origin alone
        # or reads them in origin order (the chain check and verify use
        # evaluations' (origin_window, chain_seq)); origin_seq is still
        # stored. And none that is a leading prefix of another key of the
        # table: the longer B-tree answers every lookup and range scan the
        # prefix would. `central init` drops these from an existing centre
        # (retired_indexes).
        retired = [_name("ix", local.name, ["origin_window", "origin_seq"])]
        wanted: list[tuple[list[str], Index | None]] = []
        for uc in local.constraints:
            if isinstance(uc, UniqueConstraint):
                wanted.append(([c.name for c in uc.columns], None))
        wanted += [([c.name for c in ix.columns], ix) for ix in local.indexes]

        def partial(ix: Index | None) -> bool:
            return ix is not None and any(
                k.endswith("_where") and v is not None for k, v in ix.dialect_kwargs.items()
            )

        # A partial index is kept (small on purpose), and covers too few rows
        # to stand in for a shorter full one.
        keys = [[HALL, *w] for w, ix in wanted if not partial(ix)] + [pk]
        for names, ix in wanted:
            key = [HALL, *names]
            if not partial(ix) and (names == ["origin_window"] or any(
                len(other) > len(key) and other[: len(key)] == key for other in keys
            )):
                retired.append(_name("ix", local.name, names))
                continue
            index(names, ix)
        info["retired_indexes"] = tuple(retired)
    else:
        cols.append(PrimaryKeyConstraint(HALL, *pk_local))
        for uc in local.constraints:
            if isinstance(uc, UniqueConstraint):
                names = [c.name for c in uc.columns]
                cols.append(UniqueConstraint(HALL, *names, name=_name("uq", local.name, names)))
        for fk in local.foreign_key_constraints:
            if fk.referred_table.name in REFERENCE_TABLES:
                names = [c.name for c in fk.columns]
                cols.append(
                    ForeignKeyConstraint(
                        [HALL, *names],
                        [f"{fk.referred_table.name}.{HALL}"]
                        + [f"{e.column.table.name}.{e.column.name}" for e in fk.elements],
                        name=_name("fk", local.name, [*names, fk.referred_table.name]),
                    )
                )
        for ix in local.indexes:
            index([c.name for c in ix.columns], ix)
    if local.name == "evaluations":
        # Nothing counts as an evaluation unless the citizen gave one of the
        # five levels (no default rating): the centre refuses anything else.
        cols.append(CheckConstraint("level BETWEEN 1 AND 5", name="level_range"))
    return Table(local.name, md, *cols, info=info)


def retired_indexes(table: Table) -> tuple[str, ...]:
    """Indexes that earlier releases made on this central table and this one
    does not (see ``_central_table``): `hallapp central init` drops them from
    an existing centre, by these names only, so an index an administrator
    added by hand stays."""
    names = table.info.get("retired_indexes", ())
    wanted = {ix.name for ix in table.indexes}
    return tuple(n for n in names if n not in wanted)


def _central_only(md: MetaData) -> None:
    Table(
        "central_meta",
        md,
        Column("key", String(100), primary_key=True),
        Column("value", Text, nullable=False),
    )
    # The reference-data version of each hall, bumped by every change there.
    Table(
        "ref_versions",
        md,
        Column(HALL, String(8), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False),
    )
    # Facts written at the centre for one window, in the order it pulls them.
    Table(
        "centre_outbox",
        md,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column(HALL, String(8), nullable=False),
        Column("window_code", String(8), nullable=False),
        Column("table_name", String(60), nullable=False),
        Column("row_id", String(36), nullable=False),
        Index("ix_centre_outbox_window", HALL, "window_code", "seq"),
    )
    # Where each window's evaluation chain stands at the centre.
    Table(
        "chain_heads",
        md,
        Column(HALL, String(8), primary_key=True),
        Column("window_code", String(8), primary_key=True),
        Column("last_seq", Integer, nullable=False),
        Column("last_hash", String(64), nullable=False),
    )
    # Breaks of a chain seen as batches arrived (``central verify`` recomputes).
    Table(
        "chain_faults",
        md,
        Column("id", String(36), primary_key=True),
        Column(HALL, String(8), nullable=False),
        Column("window_code", String(8), nullable=False),
        Column("record_id", String(36), nullable=False),
        Column("kind", String(20), nullable=False),
        Column("detail", JSON, nullable=False),
        Column("found_at", DateTime(timezone=True), nullable=False),
    )
    # Each window's last push and pull, for the supervisors' view of sync.
    Table(
        "window_sync",
        md,
        Column(HALL, String(8), primary_key=True),
        Column("window_code", String(8), primary_key=True),
        Column("local_revision", String(32), nullable=False),
        Column("last_push_at", DateTime(timezone=True), nullable=True),
        Column("last_pull_at", DateTime(timezone=True), nullable=True),
        # {fact table: highest local rowid committed here}, written in the
        # transaction of each batch: a centre restored from a backup holds
        # the marks of what it holds, and the window sends the rest again.
        Column("push_marks", JSON, nullable=True),
        # When the window first reached this centre. From then on its
        # supervisors' decisions (办结, 申诉成立/不成立) are made at the centre;
        # one arriving in the window's push dated after it is refused
        # (hallapp.sync.centre: trg_follow_up_steps_aa_window_decision).
        Column("joined_at", DateTime(timezone=True), nullable=True),
    )


@cache
def central_metadata() -> MetaData:
    """The central store's tables, from the models as they are now."""
    md = MetaData(naming_convention=NAMING_CONVENTION)
    facts = {t.name for t in fact_tables()}
    for table in Base.metadata.sorted_tables:
        if table.name in facts:
            _central_table(md, table, fact=True)
        elif table.name in REFERENCE_TABLES or table.name in DERIVED_TABLES:
            _central_table(md, table, fact=False)
    _central_only(md)
    return md


def central_table(name: str) -> Table:
    return central_metadata().tables[name]


CENTRAL_ONLY = ("central_meta", "ref_versions", "centre_outbox", "chain_heads", "chain_faults",
                "window_sync")
__all__ = [
    "CENTRAL_ONLY",
    "CENTRE_ORIGIN",
    "DERIVED_TABLES",
    "HALL",
    "LOCAL_ONLY_TABLES",
    "REFERENCE_TABLES",
    "central_metadata",
    "central_table",
    "fact_tables",
    "reference_tables",
    "retired_indexes",
    "unclassified_tables",
]

