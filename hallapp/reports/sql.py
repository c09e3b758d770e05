"""The SQL pieces every figure shares, in SQLAlchemy Core.

The same statements run on a window's local SQLite store and on the central
store (SQLite or PostgreSQL), whose fact tables have the same names and
columns plus ``hall_code``: pass ``hall`` to keep one hall's rows. Everything
is grouped and filtered in the database; Python only sees the grouped rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
    and_,
    exists,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from hallapp.models import (
    Case,
    CaseDeadline,
    CaseEvent,
    CaseTally,
    CompletionTally,
    Department,
    Evaluation,
    EvaluationTally,
    FollowUpStep,
    FollowUpStepKind,
    OpenFollowUp,
    ServiceItem,
    Staff,
    Window,
)
from hallapp.store import Store


def table(model: Any) -> Table:
    return cast(Table, model.__table__)


EVALUATIONS = table(Evaluation)
CASES = table(Case)
EVENTS = table(CaseEvent)
STEPS = table(FollowUpStep)
STAFF = table(Staff)
WINDOWS = table(Window)
DEPARTMENTS = table(Department)
ITEMS = table(ServiceItem)
# The counts kept by triggers (hallapp.reports.rollup): what the tallies read.
EVALUATION_TALLIES = table(EvaluationTally)
COMPLETION_TALLIES = table(CompletionTally)
CASE_TALLIES = table(CaseTally)
CASE_DEADLINES = table(CaseDeadline)
OPEN_FOLLOW_UPS = table(OpenFollowUp)


def hall_column(t: FromClause) -> ColumnElement[str]:
    """The ``hall_code`` of a central fact table (the local tables have none)."""
    if "hall_code" in t.c:
        return cast(ColumnElement[str], t.c.hall_code)
    return literal_column(f"{t.name}.hall_code", String)  # type: ignore[attr-defined]


def in_hall(t: FromClause, hall: str | None) -> list[ColumnElement[bool]]:
    return [] if hall is None else [hall_column(t) == hall]


def in_days(t: FromClause, first: date, last: date) -> list[ColumnElement[bool]]:
    """A tally table's rows of the hall days ``first`` to ``last`` (ISO texts
    compare in date order)."""
    return [t.c.day >= first.isoformat(), t.c.day <= last.isoformat()]


def counted(evaluations: FromClause) -> ColumnElement[bool]:
    """Not excluded by an upheld appeal (误评、恶意差评 found so on review)."""
    steps = STEPS.alias("upheld")
    return ~exists().where(
        and_(
            steps.c.evaluation_id == evaluations.c.id,
            steps.c.kind == FollowUpStepKind.APPEAL_UPHELD.value,
        )
    )


class hall_day(FunctionElement[str]):
    """The hall's calendar day of a UTC timestamp column, as 'YYYY-MM-DD' text.

    China keeps no daylight saving time, so the hall's day is UTC + 8 hours on
    every date the law cares about.
    """

    type = String()
    inherit_cache = True


@compiles(hall_day, "sqlite")
def _hall_day_sqlite(element: hall_day, compiler: Any, **kw: Any) -> str:
    (arg,) = list(element.clauses)
    # substr: the seconds only, as hallapp.reports.rollup.hall_day_sql (SQLite
    # rounds a fraction to the millisecond: 23:59:59.9995 became the next day).
    return f"date(substr({compiler.process(arg, **kw)}, 1, 19), '+8 hours')"


@compiles(hall_day, "postgresql")
def _hall_day_pg(element: hall_day, compiler: Any, **kw: Any) -> str:
    (arg,) = list(element.clauses)
    return f"to_char(({compiler.process(arg, **kw)} AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')"


@compiles(hall_day)
def _hall_day_default(element: hall_day, compiler: Any, **kw: Any) -> str:
    (arg,) = list(element.clauses)
    return f"CAST({compiler.process(arg, **kw)} AS DATE)"


@dataclass(frozen=True)
class Dimension:
    """What a table is grouped by, on evaluations and on cases."""

    key: str  # window, clerk, department, item
    title: str  # 窗口
    evaluation_column: str
    case_column: str
    #: The two first columns' headings: what the code is, what the name is
    #: (a clerk row shows the 工号 and the 姓名).
    code_heading: str = ""
    name_heading: str = "名称"

    @property
    def headings(self) -> list[str]:
        return [self.code_heading or self.title, self.name_heading]


DIMENSIONS: dict[str, Dimension] = {
    "window": Dimension("window", "窗口", "window_code", "window_code"),
    "clerk": Dimension("clerk", "工作人员", "staff_id", "first_responder_id", "工号", "姓名"),
    "department": Dimension("department", "部门", "department_code", "department_code"),
    "item": Dimension("item", "事项", "item_code", "item_code"),
}


def dimension(key: str) -> Dimension:
    try:
        return DIMENSIONS[key]
    except KeyError:
        raise ValueError(f"统计维度应为 {'、'.join(DIMENSIONS)} 之一，收到 {key!r}") from None


def names_statement(dim: Dimension, keys: list[str], hall: str | None = None) -> Any:
    """(key, display name, shown code) of the groups found, from the reference
    data (of ``hall`` at a centre, where window, department and item codes
    repeat from hall to hall). A clerk's key is the staff id (what the facts
    hold); what a table shows is the 工号, never the id."""
    if dim.key == "window":
        t, key, name, code = WINDOWS, WINDOWS.c.code, WINDOWS.c.name, WINDOWS.c.code
    elif dim.key == "clerk":
        t, key, name, code = STAFF, STAFF.c.id, STAFF.c.name, STAFF.c.staff_no
    elif dim.key == "department":
        t, key, name, code = DEPARTMENTS, DEPARTMENTS.c.code, DEPARTMENTS.c.name, DEPARTMENTS.c.code
    else:
        t, key, name, code = ITEMS, ITEMS.c.code, ITEMS.c.name, ITEMS.c.code
    return select(key, name, code).where(key.in_(keys), *in_hall(t, hall))


def in_shown_order(rows: list[Any]) -> list[Any]:
    """Figures rows (with ``key`` and ``code``) in the order people read them:
    by the code a table shows (a clerk's 工号, not the staff id behind it),
    the same on every store."""
    return sorted(rows, key=lambda r: (r.code or r.key, r.key))


def group_names(
    conn: Connection, dim: Dimension, keys: list[str], hall: str | None = None
) -> dict[str, tuple[str, str]]:
    """key → (name, shown code) for ``keys`` (of ``hall`` at a centre); a key
    unknown to the reference data shows as itself."""
    found = {
        str(k): (str(n), str(c)) for k, n, c in conn.execute(names_statement(dim, keys, hall))
    } if keys else {}
    return {k: found.get(k, (k, k)) for k in keys}


# ------------------------------------------------------------------ reading


@contextmanager
def reading(store: Store) -> Iterator[Connection]:
    """A connection for the figures: the store's read transaction (Store.read).

    One consistent snapshot for all the statements of a report, on a
    connection that never blocks the window's writers (SQLite: a deferred
    BEGIN on a query_only connection in WAL mode; PostgreSQL: READ ONLY),
    and a write through it is refused by the database.
    """
    with store.read() as session:
        yield session.connection()
