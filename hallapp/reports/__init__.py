"""Supervisors' figures (no Qt): monthly tallies, rankings, case figures,
差评 work and the quarterly accountability list, with their drill-downs.

Everything is computed where the data is (SQL grouped and filtered in the
database), on a window's local store or on the central store (``hall``
keeps one hall's rows there). :func:`monthly_report` and
:func:`quarterly_report` gather what a published report shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import Connection, column, literal_column

from hallapp.models import utcnow
from hallapp.reports.cases import CASE_FIGURE_TITLES, CaseFigures, case_figures
from hallapp.reports.definitions import BAD_LEVELS, LEVELS, Definitions
from hallapp.reports.followups import (
    AccountableClerk,
    BadReview,
    FollowUpFigures,
    accountability,
    follow_up_figures,
)
from hallapp.reports.periods import (
    Period,
    PeriodError,
    month,
    parse_month,
    parse_period,
    parse_quarter,
    previous_months,
    quarter,
    running_note,
)
from hallapp.reports.sql import DIMENSIONS
from hallapp.reports.tally import RankedWindow, Ranking, Tally, TallyRow, ranking, tally

__all__ = [
    "BAD_LEVELS",
    "CASE_FIGURE_TITLES",
    "DIMENSIONS",
    "LEVELS",
    "AccountableClerk",
    "BadReview",
    "CaseFigures",
    "Definitions",
    "FollowUpFigures",
    "MonthlyReport",
    "Period",
    "PeriodError",
    "QuarterlyReport",
    "RankedWindow",
    "Ranking",
    "Tally",
    "TallyRow",
    "accountability",
    "case_figures",
    "follow_up_figures",
    "month",
    "monthly_report",
    "parse_month",
    "parse_period",
    "parse_quarter",
    "previous_months",
    "quarter",
    "quarterly_report",
    "ranking",
    "tally",
]


@dataclass(frozen=True)
class MonthlyReport:
    """What a month's publication (公示) shows."""

    hall_name: str
    period: Period
    tally: Tally  # by the chosen dimension
    window_tally: Tally
    ranking: Ranking
    cases: list[CaseFigures]
    follow_ups: list[FollowUpFigures]
    definitions: Definitions
    made_at: datetime = field(default_factory=utcnow)
    # A quarter's report carries its accountability list (None: not asked for).
    accountable: list[AccountableClerk] | None = None
    # Evaluations of the period the centre found out of their window's hash
    # chain as they arrived (altered, missing before, reordered): told on
    # every output, since the figures count them as they arrived.
    chain_faults: int = 0

    def notes(self) -> list[str]:
        return self.definitions.notes()

    @property
    def has_records(self) -> bool:
        """Whether anything at all happened in the period (an evaluation, a
        case event, an open case judged, a follow-up): a month before the
        hall's first fact, or one not begun, has nothing to publish."""
        return (
            _tally_has_records(self.window_tally)
            or _tally_has_records(self.tally)
            or any(_counts(c) for c in self.cases)
            or any(_counts(f) for f in self.follow_ups)
        )

    def status(self) -> list[str]:
        """What every output says before the figures: that the month is still
        running (figures will change), that it has no records at all, or that
        it has cases but no evaluation. Empty for a finished month with data."""
        return _status(
            self.period,
            self.made_at,
            has_records=self.has_records,
            has_evaluations=self.window_tally.total.evaluations > 0,
            chain_faults=self.chain_faults,
        )


def _counts(figures: CaseFigures | FollowUpFigures) -> bool:
    """Whether any count of a figures row is non-zero (names and codes are text)."""
    values = [getattr(figures, f.name) for f in fields(figures)]
    return any(isinstance(v, int) and v != 0 for v in values)


def _tally_has_records(t: Tally) -> bool:
    return t.total.evaluations > 0 or t.total.completed > 0 or bool(t.rows)


def _status(
    period: Period, made_at: datetime, *, has_records: bool, has_evaluations: bool,
    chain_faults: int = 0,
) -> list[str]:  # fmt: skip
    word = "本季度" if period.is_quarter else "本月"
    out = [note] if (note := running_note(period, made_at)) else []
    if not has_records:
        out.append(f"{word}没有评价和办件记录")
    elif not has_evaluations:
        out.append(f"{word}没有评价记录")
    if chain_faults:
        out.append(
            f"评价链核验：{word}有 {chain_faults} 条评价记录与其窗口的评价链不符"
            "（可能在窗口被改动），已按收到的内容统计；公示前请核查（hallapp central verify）"
        )
    return out


def chain_fault_count(conn: Connection, period: Period, hall: str | None) -> int:
    """Evaluations of ``period`` (of ``hall``) with a hash chain fault recorded
    at the centre; 0 on a window's own store, which has no chain_faults."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy import table as sql_table

    from hallapp.reports.sql import EVALUATIONS, in_hall

    if not inspect(conn).has_table("chain_faults"):
        return 0
    faults = sql_table("chain_faults", column("hall_code"), column("record_id"))
    ev = EVALUATIONS
    q = (
        select(func.count(func.distinct(faults.c.record_id)))
        .select_from(faults.join(ev, ev.c.id == faults.c.record_id))
        .where(ev.c.created_at >= period.start_utc, ev.c.created_at < period.end_utc,
               faults.c.hall_code == literal_column("evaluations.hall_code"),
               *in_hall(ev, hall))
    )  # fmt: skip
    return int(conn.execute(q).scalar() or 0)


@dataclass(frozen=True)
class QuarterlyReport:
    hall_name: str
    period: Period
    tally: Tally  # by clerk
    accountable: list[AccountableClerk]
    definitions: Definitions
    made_at: datetime = field(default_factory=utcnow)
    chain_faults: int = 0  # as MonthlyReport.chain_faults

    def notes(self) -> list[str]:
        return self.definitions.notes()

    @property
    def has_records(self) -> bool:
        return _tally_has_records(self.tally) or bool(self.accountable)

    def status(self) -> list[str]:
        """As :meth:`MonthlyReport.status`, for the quarter."""
        return _status(
            self.period,
            self.made_at,
            has_records=self.has_records,
            has_evaluations=self.tally.total.evaluations > 0,
            chain_faults=self.chain_faults,
        )


def with_served(t: Tally, cases: list[CaseFigures]) -> Tally:
    """The tally with a row for every group that served applicants in the
    period, evaluated or not: a window whose citizens all let the evaluation
    time out was missing from the 好差评 table and the ranking, as if it had
    not worked (the hall publishes every window's results)."""
    from dataclasses import replace as _replace

    from hallapp.reports.sql import in_shown_order

    have = {r.key for r in t.rows}
    extra = [
        TallyRow(key=c.key, name=c.name, code=c.code, levels=dict.fromkeys(LEVELS, 0),
                 completed=0, evaluated_cases=0, definitions=t.definitions)
        for c in cases
        if c.key not in have and _counts(c)
    ]  # fmt: skip
    if not extra:
        return t
    return _replace(t, rows=in_shown_order([*t.rows, *extra]))


def monthly_report(
    conn: Connection,
    period: Period,
    *,
    by: str = "window",
    hall_name: str = "",
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
) -> MonthlyReport:
    defs = definitions or Definitions()
    cases = case_figures(conn, period, by, hall=hall, now=now)
    window_cases = (
        cases if by == "window" else case_figures(conn, period, "window", hall=hall, now=now)
    )
    windows = with_served(tally(conn, period, "window", definitions=defs, hall=hall), window_cases)
    chosen = (
        windows
        if by == "window"
        else with_served(tally(conn, period, by, definitions=defs, hall=hall), cases)
    )
    return MonthlyReport(
        hall_name=hall_name,
        period=period,
        tally=chosen,
        window_tally=windows,
        ranking=ranking(windows),
        cases=cases,
        follow_ups=_with_rated(
            follow_up_figures(conn, period, by, definitions=defs, hall=hall, now=now), chosen
        ),
        definitions=defs,
        made_at=now or utcnow(),
        chain_faults=chain_fault_count(conn, period, hall),
    )


def _with_rated(figures: list[FollowUpFigures], t: Tally) -> list[FollowUpFigures]:
    """A 差评整改 line for every group rated in the period: one without a 差评
    was missing from the table, which read as if it had not been counted."""
    from hallapp.reports.sql import in_shown_order

    have = {f.key for f in figures}
    extra = [FollowUpFigures(key=r.key, name=r.name, code=r.code)
             for r in t.rows if r.key not in have and r.evaluations]  # fmt: skip
    return in_shown_order([*figures, *extra]) if extra else figures


def quarterly_report(
    conn: Connection,
    period: Period,
    *,
    hall_name: str = "",
    definitions: Definitions | None = None,
    hall: str | None = None,
    now: datetime | None = None,
) -> QuarterlyReport:
    defs = definitions or Definitions()
    return QuarterlyReport(
        hall_name=hall_name,
        period=period,
        tally=tally(conn, period, "clerk", definitions=defs, hall=hall),
        accountable=accountability(conn, period, definitions=defs, hall=hall, now=now),
        definitions=defs,
        made_at=now or utcnow(),
        chain_faults=chain_fault_count(conn, period, hall),
    )
