"""Every figure on a generated history against counts made independently (oracle.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from hallapp.reports import (
    Definitions,
    accountability,
    case_figures,
    follow_up_figures,
    parse_month,
    parse_quarter,
    tally,
)
from hallapp.reports.drill import cases_behind, evaluations_behind, follow_ups_behind
from hallapp.store import Store
from hallapp.workdays import calendar_from_store

from . import oracle

NOW = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
DEFS = Definitions(points={5: 10, 4: 8, 3: 6, 2: 3, 1: 0})
PERIODS = ["2026-09", "2026-10", "2026-Q3", "2026-Q4"]


def period_of(text: str):
    return parse_quarter(text) if "Q" in text else parse_month(text)


@pytest.fixture(scope="module")
def raw(history: Store) -> oracle.Raw:
    return oracle.load(history)


@pytest.mark.parametrize("by", ["window", "clerk", "department", "item"])
@pytest.mark.parametrize("text", PERIODS)
def test_tally_matches_independent_counts(history: Store, raw: oracle.Raw, by: str, text: str):
    period = period_of(text)
    expected = oracle.level_counts(raw, period.first, period.last, by)
    completed = oracle.completed_and_evaluated(raw, period.first, period.last, by)
    with history.engine.connect() as conn:
        t = tally(conn, period, by, definitions=DEFS)
    assert {r.key for r in t.rows} == set(expected) | set(completed)
    assert t.total.evaluations == sum(sum(c.values()) for c in expected.values()) > 0
    for row in t.rows:
        counts = expected.get(row.key, Counter())
        n = sum(counts.values())
        assert row.levels == {v: counts[v] for v in (5, 4, 3, 2, 1)}
        assert row.evaluations == n
        if n:
            assert row.satisfaction_rate == round(100 * (counts[5] + counts[4] + counts[3]) / n, 2)
            # Cut, not rounded: the accountability line is drawn on it.
            assert row.bad_rate == (10_000 * (counts[1] + counts[2]) // n) / 100
            pts = 10 * counts[5] + 8 * counts[4] + 6 * counts[3] + 3 * counts[2]
            assert row.score == round(pts / n, 2)
        done, evaluated = completed.get(row.key, (0, 0))
        assert (row.completed, row.evaluated_cases, row.unevaluated) == (
            done,
            evaluated,
            done - evaluated,
        )


def test_upheld_appeals_are_excluded_and_shown(history: Store, raw: oracle.Raw):
    period = parse_quarter("2026-Q3")
    excluded = [
        e for e in raw.evaluations
        if e.id in raw.excluded and oracle.within(e.created_at, period.first, period.last)
    ]  # fmt: skip
    assert excluded, "the history should hold upheld appeals"
    with history.engine.connect() as conn:
        t = tally(conn, period, "window")
        everything = sum(
            1 for e in raw.evaluations if oracle.within(e.created_at, period.first, period.last)
        )
        assert t.total.evaluations == everything - len(excluded)
        rows = evaluations_behind(conn, period, "window", None, "excluded")
    assert {r.id for r in rows} == {e.id for e in excluded}
    for r in rows:
        assert r.exclusion is not None
        assert r.exclusion.note and r.exclusion.staff_no and r.exclusion.decided_at
        # Reviewed by another person than the clerk who filed the appeal.
        assert r.exclusion.staff_name != r.staff_name


def test_a_satisfaction_formula_from_config(history: Store, raw: oracle.Raw):
    period = parse_month("2026-09")
    strict = Definitions(satisfied_levels=(5, 4))
    with history.engine.connect() as conn:
        t = tally(conn, period, "window", definitions=strict)
    expected = oracle.level_counts(raw, period.first, period.last, "window")
    for row in t.rows:
        c = expected[row.key]
        assert row.satisfaction_rate == round(100 * (c[5] + c[4]) / sum(c.values()), 2)
    assert "（非常满意＋满意）" in strict.satisfaction_formula()
    assert any("基本满意不属于差评" in n for n in t.notes())
    assert any("从不把未评价计为满意" in n for n in t.notes())


@pytest.mark.parametrize("text", PERIODS)
def test_case_figures_match_the_deadline_rules(history: Store, raw: oracle.Raw, text: str):
    period = period_of(text)
    as_of = period.as_of(NOW)
    with history.engine.connect() as conn:
        got = {f.key: f for f in case_figures(conn, period, "window", now=NOW)}
        from sqlalchemy.orm import Session

        with Session(conn) as s:
            calendar = calendar_from_store(s)
    expected = oracle.case_figures(raw, period.first, period.last, as_of, period.end_utc, calendar)
    assert set(got) == set(expected)
    names = ["received", "accepted", "completed", "on_time", "overdue_open", "one_time_notices",
             "violations", "extensions", "deferred_overdue"]  # fmt: skip
    for key, figures in got.items():
        assert {n: getattr(figures, n) for n in names} == {n: expected[key][n] for n in names}, key
    total = Counter()
    for f in got.values():
        total.update({n: getattr(f, n) for n in names})
    # The history has every kind of case in it.
    assert all(total[n] > 0 for n in names), total


@pytest.mark.parametrize("text", ["2026-09", "2026-10", "2026-Q3"])
def test_follow_up_figures_match(history: Store, raw: oracle.Raw, text: str):
    period = period_of(text)
    with history.engine.connect() as conn:
        got = {f.key: f for f in follow_up_figures(conn, period, "window", now=NOW)}
        from sqlalchemy.orm import Session

        with Session(conn) as s:
            calendar = calendar_from_store(s)
    expected = oracle.follow_up_figures(raw, period.first, period.last, NOW, 1, calendar)
    names = ["bad", "verified", "called_back", "rectified", "closed", "overdue",
             "call_back_overdue", "appeals_pending", "upheld"]  # fmt: skip
    assert set(got) == set(expected)
    for key, f in got.items():
        assert {n: getattr(f, n) for n in names} == {n: expected[key][n] for n in names}, key
        if f.bad:
            assert f.rectification_rate == round(100 * f.rectified / f.bad, 2)
            assert f.call_back_rate == round(100 * f.called_back / f.bad, 2)


@pytest.mark.parametrize("threshold", [1.0, "median"])
def test_quarterly_accountability(history: Store, raw: oracle.Raw, threshold: float | str):
    period = parse_quarter("2026-Q3")
    counts = oracle.level_counts(raw, period.first, period.last, "clerk")
    if threshold == "median":  # a line with clerks on both sides, whatever the seed
        rates = sorted(100 * (c[1] + c[2]) / sum(c.values()) for c in counts.values())
        threshold = rates[len(rates) // 2]
    assert isinstance(threshold, float)
    expected = {
        clerk for clerk, c in counts.items()
        if 100 * (c[1] + c[2]) >= threshold * sum(c.values())
    }  # fmt: skip
    with history.engine.connect() as conn:
        found = accountability(
            conn, period, definitions=Definitions(accountability_threshold_percent=threshold),
            now=NOW,
        )  # fmt: skip
    assert {a.staff_id for a in found} == expected
    assert 0 < len(expected) < len(counts)  # some clerks are below the line
    excluded = raw.excluded
    for a in found:
        c = counts[a.staff_id]
        assert (a.evaluations, a.bad) == (sum(c.values()), c[1] + c[2])
        assert len(a.reviews) == a.bad
        assert all(r.evaluation_id not in excluded and r.level <= 2 for r in a.reviews)
        assert all(r.state for r in a.reviews)
    rates = [a.bad_rate for a in found]
    assert rates == sorted(rates, reverse=True)


def test_drill_down_rows_are_the_numbers(history: Store):
    period = parse_month("2026-09")
    with history.engine.connect() as conn:
        t = tally(conn, period, "window")
        row = max(t.rows, key=lambda r: r.bad)
        assert len(evaluations_behind(conn, period, "window", row.key)) == row.evaluations
        assert len(evaluations_behind(conn, period, "window", row.key, "bad")) == row.bad
        assert len(evaluations_behind(conn, period, "window", row.key, "5")) == row.levels[5]
        figures = {f.key: f for f in case_figures(conn, period, "window", now=NOW)}[row.key]
        for name in ("received", "accepted", "completed", "on_time", "completed_late",
                     "overdue_open", "one_time_notices", "violations", "extensions",
                     "deferred_overdue"):  # fmt: skip
            rows = cases_behind(conn, period, "window", row.key, name, now=NOW)
            if name in ("received", "completed", "on_time", "completed_late", "overdue_open",
                        "deferred_overdue"):  # fmt: skip
                assert len(rows) == getattr(figures, name), name
            else:  # an event figure lists each case once
                assert len(rows) <= getattr(figures, name), name
                assert (len(rows) > 0) == (getattr(figures, name) > 0), name
        work = {f.key: f for f in follow_up_figures(conn, period, "window", now=NOW)}[row.key]
        for name in ("bad", "called_back", "rectified", "closed", "overdue"):
            assert len(follow_ups_behind(conn, period, "window", row.key, name, now=NOW)) == (
                getattr(work, name)
            )
