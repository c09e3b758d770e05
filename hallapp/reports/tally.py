"""好差评 figures: levels, 满意率, 差评率, 评价率, 未评价 and the score, by group.

One GROUP BY over the evaluations of the period and one over the cases
completed in it; the rates are arithmetic on those grouped counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, func, select

from hallapp.models import utcnow
from hallapp.reports.definitions import BAD_LEVELS, LEVELS, Definitions
from hallapp.reports.periods import Period
from hallapp.reports.sql import (
    COMPLETION_TALLIES,
    EVALUATION_TALLIES,
    Dimension,
    dimension,
    group_names,
    in_days,
    in_hall,
    in_shown_order,
)


def percent(part: int, whole: int) -> float | None:
    """A rate in percent with two decimals; None when there is nothing to divide."""
    return None if whole == 0 else round(100.0 * part / whole, 2)


def percent_down(part: int, whole: int) -> float | None:
    """A rate in percent cut (not rounded) to two decimals, in whole numbers.

    For 差评率 / 不满意率, which the accountability line is drawn on: 2 差评
    of 201 evaluations (0.995 %) printed as a rounded 1.00 beside a 1 % list
    that rightly leaves the clerk out contradicted itself. Cut, a printed
    rate reaches a line of two decimals exactly when the true rate does."""
    return None if whole == 0 else (10_000 * part // whole) / 100


@dataclass(frozen=True)
class TallyRow:
    key: str
    name: str
    levels: dict[int, int]  # level -> count of counted evaluations
    completed: int  # cases completed in the period
    evaluated_cases: int  # of those, with at least one counted evaluation
    definitions: Definitions = field(repr=False, compare=False, default_factory=Definitions)
    code: str = ""  # what a table shows for the key (a clerk's 工号)

    @property
    def evaluations(self) -> int:
        return sum(self.levels.values())

    @property
    def satisfied(self) -> int:
        return sum(self.levels.get(v, 0) for v in self.definitions.satisfied_levels)

    @property
    def bad(self) -> int:
        return sum(self.levels.get(v, 0) for v in BAD_LEVELS)

    @property
    def satisfaction_rate(self) -> float | None:
        return percent(self.satisfied, self.evaluations)

    @property
    def bad_rate(self) -> float | None:
        return percent_down(self.bad, self.evaluations)

    @property
    def evaluation_rate(self) -> float | None:
        return percent(self.evaluated_cases, self.completed)

    @property
    def unevaluated(self) -> int:
        return self.completed - self.evaluated_cases

    @property
    def score(self) -> float | None:
        if not self.definitions.scored or not self.evaluations:
            return None
        total = sum(self.definitions.points.get(v, 0.0) * n for v, n in self.levels.items())
        return round(total / self.evaluations, 2)


@dataclass(frozen=True)
class Tally:
    period: Period
    dimension: Dimension
    rows: list[TallyRow]
    total: TallyRow
    definitions: Definitions
    hall: str | None = None
    made_at: datetime = field(default_factory=utcnow)

    def notes(self) -> list[str]:
        return self.definitions.notes()


def evaluation_counts_statement(
    dim: Dimension, period: Period, hall: str | None = None
) -> Select[Any]:
    """Counted evaluations by level, from the counts the triggers keep
    (hallapp.reports.rollup): upheld appeals are already taken out."""
    t = EVALUATION_TALLIES
    group = t.c[dim.evaluation_column]
    columns = [func.sum(case((t.c.level == v, t.c.n), else_=0)).label(f"l{v}") for v in LEVELS]
    return (
        select(group.label("key"), *columns)
        .where(*in_days(t, period.first, period.last), *in_hall(t, hall))
        .group_by(group)
        # A group whose every evaluation was excluded since is not shown.
        .having(func.sum(t.c.n) != 0)
    )


def completed_counts_statement(
    dim: Dimension, period: Period, hall: str | None = None
) -> Select[Any]:
    """Cases completed (办结) in the period, and how many of them were evaluated."""
    t = COMPLETION_TALLIES
    group = t.c[dim.case_column]
    return (
        select(
            group.label("key"),
            func.sum(t.c.completed).label("completed"),
            func.sum(t.c.evaluated).label("evaluated"),
        )
        .where(*in_days(t, period.first, period.last), *in_hall(t, hall))
        .group_by(group)
        .having(func.sum(t.c.completed) != 0)
    )


def tally(
    conn: Connection,
    period: Period,
    by: str = "window",
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
) -> Tally:
    """The 好差评 figures of the period per window / clerk / department / item."""
    defs = definitions or Definitions()
    dim = dimension(by)
    levels: dict[str, dict[int, int]] = {}
    for row in conn.execute(evaluation_counts_statement(dim, period, hall)):
        levels[row.key] = {v: int(getattr(row, f"l{v}") or 0) for v in LEVELS}
    completed: dict[str, tuple[int, int]] = {}
    for row in conn.execute(completed_counts_statement(dim, period, hall)):
        completed[row.key] = (int(row.completed), int(row.evaluated or 0))
    keys = sorted(set(levels) | set(completed))
    names = group_names(conn, dim, keys, hall)
    rows = [
        TallyRow(
            key=k,
            name=names[k][0],
            code=names[k][1],
            levels=levels.get(k, dict.fromkeys(LEVELS, 0)),
            completed=completed.get(k, (0, 0))[0],
            evaluated_cases=completed.get(k, (0, 0))[1],
            definitions=defs,
        )
        for k in keys
    ]
    rows = in_shown_order(rows)
    total = TallyRow(
        key="",
        name="合计",
        levels={v: sum(r.levels.get(v, 0) for r in rows) for v in LEVELS},
        completed=sum(r.completed for r in rows),
        evaluated_cases=sum(r.evaluated_cases for r in rows),
        definitions=defs,
    )
    return Tally(period, dim, rows, total, defs, hall)


def monthly_totals(
    conn: Connection,
    months: list[Period],
    *,
    definitions: Definitions | None = None,
    hall: str | None = None,
) -> list[TallyRow]:
    """The whole hall's level counts of each of ``months`` in one scan (for trends).

    Case figures (办结, 评价率) are not part of it: a trend of 满意率 needs levels only.
    """
    defs = definitions or Definitions()
    if not months:
        return []
    t = EVALUATION_TALLIES
    # Months are calendar months: a count row's month is its day's first seven
    # characters (YYYY-MM), grouped with its level — no per-row CASE over the
    # months (that was half the trend's time on a year of a county's counts).
    month_of = func.substr(t.c.day, 1, 7).label("month")
    counts: dict[tuple[str, int], int] = {}
    for row in conn.execute(
        select(month_of, t.c.level, func.sum(t.c.n).label("n"))
        .where(
            t.c.day >= min(m.first for m in months).isoformat(),
            t.c.day <= max(m.last for m in months).isoformat(),
            *in_hall(t, hall),
        )
        .group_by(month_of, t.c.level)
    ):
        counts[(str(row.month), int(row.level))] = int(row.n or 0)
    found = {
        i: {v: sum(counts.get((f"{x.first:%Y-%m}", v), 0) for x in m.months()) for v in LEVELS}
        for i, m in enumerate(months)
    }
    return [
        TallyRow(m.key, m.label, found.get(i, dict.fromkeys(LEVELS, 0)), 0, 0, defs)
        for i, m in enumerate(months)
    ]


# ----------------------------------------------------------------- rankings


@dataclass(frozen=True)
class RankedWindow:
    rank: int
    row: TallyRow
    value: float


@dataclass(frozen=True)
class Ranking:
    period: Period
    ranked: list[RankedWindow]  # every window with enough evaluations, best first
    unranked: list[TallyRow]  # too few evaluations to be ranked (stated)
    count: int
    basis: str  # 满意率 or 评分
    min_evaluations: int

    @property
    def _places(self) -> int:
        """How many places each list names: ``count``, or half the ranked
        windows when there are fewer than twice as many. With 3 windows and
        3 places the worst window was published as 满意度最高 第3名 and no
        最低 list at all; halved, 1 is named best, 1 worst, the middle one
        neither (it is in the table above)."""
        n = len(self.ranked)
        return self.count if n >= 2 * self.count else max(1, n // 2)

    @property
    def best(self) -> list[RankedWindow]:
        """The top places (ties at the edge included)."""
        if not self.ranked:
            return []
        edge = self.ranked[min(self._places, len(self.ranked)) - 1].rank
        return [r for r in self.ranked if r.rank <= edge]

    @property
    def worst(self) -> list[RankedWindow]:
        """The bottom ``count`` places, worst first (ties at the edge included),
        among the windows not already on the best list: with few windows (or
        all tied) no window is published as both the most and the least
        satisfactory."""
        best = {r.row.key for r in self.best}
        backwards = [r for r in self.ranked[::-1] if r.row.key not in best]
        places = min(self._places, len(self.ranked) // 2)
        if not backwards or places == 0:
            return []
        edge_value = backwards[min(places, len(backwards)) - 1].value
        return [r for r in backwards if r.value <= edge_value]


def ranking(window_tally: Tally) -> Ranking:
    """Windows by 满意率 (or score), competition ranking: equal values share a
    rank and the next rank is skipped (1, 2, 2, 4)."""
    defs = window_tally.definitions
    by_score = defs.ranking_by == "score" and defs.scored
    eligible: list[tuple[float, TallyRow]] = []
    unranked: list[TallyRow] = []
    for row in window_tally.rows:
        value = row.score if by_score else row.satisfaction_rate
        if row.evaluations < defs.ranking_min_evaluations or value is None:
            unranked.append(row)
        else:
            eligible.append((value, row))
    eligible.sort(key=lambda vr: (-vr[0], -vr[1].evaluations, vr[1].key))
    ranked: list[RankedWindow] = []
    for i, (value, row) in enumerate(eligible):
        rank = ranked[-1].rank if ranked and ranked[-1].value == value else i + 1
        ranked.append(RankedWindow(rank, row, value))
    return Ranking(
        window_tally.period,
        ranked,
        unranked,
        defs.ranking_count,
        "评分" if by_score else "满意率",
        defs.ranking_min_evaluations,
    )
