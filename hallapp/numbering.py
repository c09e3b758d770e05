"""Case and document numbers: unique in the whole hall, never reused.

Uniqueness without a round-trip to the centre comes from the window code in
every number: each window counts only its own. A number is reserved in its
own committed transaction before it is used, so a crash after the
reservation leaves a gap, never a second document with the same number.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hallapp.documents import DocumentType
from hallapp.models import NumberCounter


def reserve(engine: Engine, scope: str) -> int:
    """Reserve and return the next number of a scope, committed before return."""
    dialect = engine.dialect.name
    upsert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        upsert = postgresql.insert(NumberCounter)
    elif dialect == "sqlite":
        upsert = sqlite.insert(NumberCounter)
    else:  # pragma: no cover - only the two stores we support
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = (
        upsert.values(scope=scope, last=1)
        .on_conflict_do_update(index_elements=["scope"], set_={"last": NumberCounter.last + 1})
        .returning(NumberCounter.last)
    )
    # A separate short transaction: the reservation survives whatever happens
    # to the caller's transaction afterwards.
    with Session(engine) as s, s.begin():
        value = s.execute(stmt).scalar_one()
    return int(value)


def case_number(engine: Engine, hall_code: str, window_code: str, on: date) -> str:
    day = on.strftime("%Y%m%d")
    seq = reserve(engine, f"case:{window_code}:{day}")
    return f"{hall_code}{window_code}{day}{seq:04d}"


def document_number(
    engine: Engine, hall_code: str, window_code: str, doc_type: DocumentType, year: int
) -> str:
    """E.g. LC受字〔2026〕A03-0001号: per type, window and year."""
    seq = reserve(engine, document_counter(doc_type, window_code, year))
    return format_document_number(hall_code, window_code, doc_type, year, seq)


def document_counter(doc_type: DocumentType, window_code: str, year: int) -> str:
    """The number_counters key of a document type's numbers at a window in a year."""
    return f"doc:{doc_type.value}:{window_code}:{year}"


def format_document_number(
    hall_code: str, window_code: str, doc_type: DocumentType, year: int, seq: int
) -> str:
    return f"{hall_code}{doc_type.number_prefix}字〔{year}〕{window_code}-{seq:04d}号"
