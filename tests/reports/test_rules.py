"""Rankings, definitions and the history generator's own rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hallapp.demodata import DemoHistoryError, HistoryParams, generate
from hallapp.documents import Notice
from hallapp.evaluation import encounter_of, validate_reasons
from hallapp.models import Case, CaseEvent, Evaluation, FollowUpStep, IssuedDocument
from hallapp.reports import Definitions, follow_up_figures, parse_quarter, ranking
from hallapp.reports.periods import PeriodError, parse_month, parse_period
from hallapp.reports.sql import DIMENSIONS
from hallapp.reports.tally import Tally, TallyRow
from hallapp.store import Store
from hallapp.sync.chain import ChainHead, check_links
from hallapp.workdays import add_working_days, hall_date


def row(key: str, levels: dict[int, int], defs: Definitions) -> TallyRow:
    full = {v: levels.get(v, 0) for v in (5, 4, 3, 2, 1)}
    return TallyRow(key, key, full, 0, 0, defs)


def window_tally(rows: list[TallyRow], defs: Definitions) -> Tally:
    total = row("", {}, defs)
    return Tally(parse_month("2026-09"), DIMENSIONS["window"], rows, total, defs)


def test_ranking_ties_share_a_rank_and_small_samples_are_not_ranked():
    defs = Definitions(ranking_min_evaluations=10, ranking_count=2)
    rows = [
        row("A01", {5: 20}, defs),  # 100%
        row("A02", {5: 9, 2: 1}, defs),  # 90%, but only 10 evaluations
        row("A03", {5: 18, 2: 2}, defs),  # 90%
        row("A04", {5: 27, 1: 3}, defs),  # 90%, more evaluations: listed first of the tie
        row("A05", {5: 8, 3: 1}, defs),  # 9 evaluations: not ranked
        row("A06", {5: 10, 1: 10}, defs),  # 50%
    ]
    r = ranking(window_tally(rows, defs))
    assert [(x.rank, x.row.key) for x in r.ranked] == [
        (1, "A01"), (2, "A04"), (2, "A03"), (2, "A02"), (5, "A06"),
    ]  # fmt: skip
    assert [x.key for x in r.unranked] == ["A05"]
    # The top 2 places reach into the tie: all three at rank 2 are shown.
    assert [x.row.key for x in r.best] == ["A01", "A04", "A03", "A02"]
    # The windows on the best list are not also published as the least
    # satisfactory: the bottom list draws from the rest.
    assert [x.row.key for x in r.worst] == ["A06"]
    text = "\n".join(defs.notes())
    assert "不少于 10 次" in text and "并列" in text


@pytest.mark.parametrize(
    ("rates", "best", "worst"),
    [
        ({"A01": 20}, ["A01"], []),  # a hall with one window
        ({"A01": 20, "A02": 20}, ["A01", "A02"], []),  # all tied
        # Fewer than twice the places: half each way, the middle one in neither
        # (3 windows, 3 places: the worst was published as 最高 第3名).
        ({"A01": 20, "A02": 19, "A03": 18}, ["A01"], ["A03"]),
        ({"A01": 20, "A02": 19}, ["A01"], ["A02"]),
        ({"A01": 20, "A02": 19, "A03": 18, "A04": 17, "A05": 16},
         ["A01", "A02"], ["A05", "A04"]),  # 5 windows: 2 each way
        ({"A01": 20, "A02": 19, "A03": 18, "A04": 17, "A05": 16, "A06": 15},
         ["A01", "A02", "A03"], ["A06", "A05", "A04"]),  # 6 windows: 3 each way
    ],
)
def test_no_window_is_both_the_most_and_the_least_satisfactory(rates, best, worst):
    defs = Definitions(ranking_min_evaluations=1, ranking_count=3)
    rows = [row(k, {5: n, 1: 20 - n}, defs) for k, n in rates.items()]
    r = ranking(window_tally(rows, defs))
    assert [x.row.key for x in r.best] == best
    assert [x.row.key for x in r.worst] == worst


def test_ranking_by_score():
    defs = Definitions(points={5: 10, 4: 8, 3: 6, 2: 3, 1: 0}, ranking_by="score",
                       ranking_min_evaluations=1)  # fmt: skip
    rows = [row("A01", {4: 10}, defs), row("A02", {5: 5, 3: 5}, defs)]
    r = ranking(window_tally(rows, defs))
    assert [(x.row.key, x.value) for x in r.ranked] == [("A01", 8.0), ("A02", 8.0)]
    assert r.ranked[0].rank == r.ranked[1].rank == 1
    assert r.basis == "评分"


def test_no_evaluation_no_rate():
    defs = Definitions()
    r = row("A01", {}, defs)
    assert r.satisfaction_rate is None and r.bad_rate is None and r.score is None
    assert r.evaluation_rate is None


@pytest.mark.parametrize("text", ["2026-13", "2026/09", "26-09", "2026-Q5", "", "2026-Q0"])
def test_bad_periods_are_refused_in_chinese(text: str):
    with pytest.raises(PeriodError, match=r"格式|应为"):
        parse_period(text)


def test_periods_are_the_halls_days():
    q = parse_quarter("2026-Q4")
    assert (q.first, q.last, q.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026年第4季度")
    # 00:00 in Beijing is 16:00 UTC the day before.
    assert q.start_utc == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert [m.key for m in q.months()] == ["2026-10", "2026-11", "2026-12"]


def test_history_follows_the_rules(small_store: Store):
    params = HistoryParams(windows=4, months=2, per_day=40, seed=3, end=date(2026, 10, 16))
    summary = generate(small_store, params)
    assert summary.rows["evaluations"] > 0
    with small_store.engine.connect() as conn:
        evaluations = conn.execute(sa.select(Evaluation.__table__)).all()
        events = conn.execute(sa.select(CaseEvent.__table__)).all()
        steps = conn.execute(sa.select(FollowUpStep.__table__)).all()
    # Every 差评 carries reasons the domain accepts and has a follow-up.
    opened = {s.evaluation_id: s for s in steps if s.kind == "opened"}
    for e in evaluations:
        assert validate_reasons(e.level, e.reasons) == list(e.reasons)
        assert (e.level <= 2) == (e.id in opened)
    # 未评价 is an event, never an evaluation row: an offer that expired has no
    # evaluation of its encounter (一次一评: the case's other encounters may have one).
    by_id = {ev.id: ev for ev in events}
    rated = {e.encounter_event_id for e in evaluations}
    expired = [ev for ev in events if ev.kind == "evaluation_expired"]
    assert expired
    for ev in expired:
        opened = by_id[ev.data["opened_event_id"]]
        assert opened.data["encounter_event_id"] not in rated
    # Each evaluation rates an encounter of its own case, of the kind it names;
    # some cases carry several (acceptance and hand-over, notice and hand-over).
    for e in evaluations:
        encounter = by_id[e.encounter_event_id]
        assert encounter.case_id == e.case_id
        assert encounter_of(encounter.kind, encounter.data) == e.encounter
    per_case = Counter(e.case_id for e in evaluations)
    assert max(per_case.values()) >= 2
    # Every written decision the law asks for (行政许可法 art. 32) was issued and
    # kept whole for 补打: its content reads back as the notice of its case.
    with small_store.engine.connect() as conn:
        documents = conn.execute(sa.select(IssuedDocument.__table__)).all()
    kept = Counter((d.case_id, d.doc_type) for d in documents)
    wanted = {"accepted": "acceptance", "conditionally_accepted": "conditional",
              "supplement_requested": "one-time", "rejected": "rejection",
              "referred": "referral"}  # fmt: skip
    needed = Counter((ev.case_id, wanted[ev.kind]) for ev in events
                     if ev.kind in wanted and not (ev.data or {}).get("instant"))  # fmt: skip
    assert kept == needed and len({d.doc_no for d in documents}) == len(documents)
    cases = {c.id: c.case_no for c in conn_rows(small_store, Case)}
    for d in documents:
        notice = Notice.from_dict(d.content)
        assert notice.doc_type.value == d.doc_type and notice.case_no == cases[d.case_id]
        assert notice.doc_no == d.doc_no and notice.applicant.id_masked.count("*") >= 8
    # A reprint (补打) of one of each type lays out and reads back (poppler).
    import subprocess

    from hallapp.printing.render import render_pdf

    for doc_type in sorted({d.doc_type for d in documents}):
        d = next(x for x in documents if x.doc_type == doc_type)
        pdf = render_pdf(Notice.from_dict(d.content).as_reprint(datetime.now(UTC)))
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()  # fmt: skip
        assert cases[d.case_id] in text and "补打" in text, doc_type
    # The windows' hash chains are whole: what `hallapp central verify` checks.
    chains: dict[str, list[Any]] = {}
    for e in sorted(evaluations, key=lambda e: e.chain_seq):
        chains.setdefault(e.origin_window, []).append(dict(e._mapping))
    assert len(chains) == 4
    for window, rows in chains.items():
        assert check_links(window, ChainHead(), rows) == []
    # Cases are received on working days only (National Day 2026 is not one).
    received = {hall_date(ev.created_at) for ev in events if ev.kind == "received"}
    assert date(2026, 10, 1) not in received and date(2026, 10, 5) not in received
    assert all(d.weekday() < 5 or d == date(2026, 9, 20) or d == date(2026, 10, 10)
               for d in received)  # fmt: skip
    # Every state of a follow-up occurs.
    kinds = {s.kind for s in steps}
    assert kinds >= {"opened", "verified", "called_back", "rectified", "closed", "appealed",
                     "appeal_upheld", "appeal_rejected"}  # fmt: skip
    # Appeals are reviewed by someone else than the clerk who filed them.
    filed = {s.evaluation_id: s.staff_id for s in steps if s.kind == "appealed"}
    for s in steps:
        if s.kind in ("appeal_upheld", "appeal_rejected"):
            assert s.staff_id != filed[s.evaluation_id]


def test_a_quarter_straddling_a_change_of_the_follow_up_rule(small_store: Store):
    """整改 due in 5 working days until August, 10 from September: each 差评 keeps the
    due date it was opened with, so the quarter's overdue count mixes both rules."""
    first = HistoryParams(windows=3, per_day=40, seed=5, start=date(2026, 7, 1),
                          end=date(2026, 8, 31), rectify_days=5)  # fmt: skip
    generate(small_store, first)
    generate(small_store, replace(first, seed=6, start=date(2026, 9, 1), end=date(2026, 9, 30),
                                  rectify_days=10))  # fmt: skip
    now = datetime(2026, 9, 30, 9, 0, tzinfo=UTC)
    with small_store.engine.connect() as conn:
        steps = conn.execute(sa.select(FollowUpStep.__table__)).all()
        figures = follow_up_figures(conn, parse_quarter("2026-Q3"), "window", now=now)
    rules = set()
    for s in steps:
        if s.kind == "opened":
            opened = hall_date(s.created_at)
            rules.add(next(n for n in (5, 10) if add_working_days(opened, n).date == s.due_on))
    assert rules == {5, 10}
    kinds: dict[str, set[str]] = {}
    for s in steps:
        kinds.setdefault(s.evaluation_id, set()).add(s.kind)
    as_of = date(2026, 9, 30)
    expected = sum(
        1 for s in steps
        if s.kind == "opened" and "closed" not in kinds[s.evaluation_id]
        and "rectified" not in kinds[s.evaluation_id]
        and "appeal_upheld" not in kinds[s.evaluation_id] and s.due_on < as_of
    )  # fmt: skip
    assert sum(f.overdue for f in figures) == expected > 0


def test_history_parameters_are_checked(small_store: Store):
    with pytest.raises(DemoHistoryError, match="窗口数"):
        generate(small_store, HistoryParams(windows=0))
    with pytest.raises(DemoHistoryError, match="每日办件数"):
        generate(small_store, HistoryParams(per_day=0))


def test_reading_figures_never_holds_the_windows_write_lock(small_store: Store):
    """A report reading on a window's SQLite store must not make a key press wait."""
    import sqlite3

    from hallapp.reports import tally as run_tally
    from hallapp.reports.sql import reading

    generate(small_store, HistoryParams(windows=1, months=1, per_day=5, end=date(2026, 9, 30)))
    path = small_store.engine.url.database
    assert path

    def write_now() -> None:
        raw = sqlite3.connect(path, timeout=0.3)
        try:
            raw.execute("INSERT INTO number_counters (scope, last) VALUES ('probe', 1)")
            raw.commit()
        finally:
            raw.close()

    with reading(small_store) as conn:
        assert run_tally(conn, parse_month("2026-09"), "window").total.evaluations > 0
        write_now()  # not blocked while the report's connection is open
    # The store's own connections take the write lock at BEGIN: that is what
    # the report must not use.
    with small_store.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            write_now()


def conn_rows(store: Store, model: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(model.__table__)).all())


def test_a_generated_history_pushed_to_a_centre_verifies(small_store: Store, tmp_path):
    from hallapp.sync.centre import init_central
    from hallapp.sync.push import push
    from hallapp.sync.verify import verify_central

    generate(small_store, HistoryParams(windows=3, months=1, per_day=20, seed=1,
                                        end=date(2026, 9, 30)))  # fmt: skip
    url = f"sqlite:///{tmp_path / 'centre.sqlite3'}"
    init_central(url)
    centre = sa.create_engine(url)
    result = push(small_store, centre, hall_code="LC", window_code="A01")
    assert result.inserted == result.pushed > 0 and result.faults == []
    report = verify_central(centre)
    assert report.chains == 3 and report.records > 0 and report.lines() == []
    # The centre's counts (its own triggers, per hall) give the window's figures.
    from hallapp.reports import accountability, tally

    month, q = parse_month("2026-09"), parse_quarter("2026-Q3")
    with small_store.engine.connect() as local, centre.connect() as conn:
        for by in ("window", "clerk", "department", "item"):
            here, there = tally(local, month, by), tally(conn, month, by, hall="LC")
            # Compared by key: rows come in 工号 order, and this centre holds
            # no staff (reference data is authored there, not pushed).
            def rows(t: Tally) -> dict[str, Any]:
                return {r.key: (r.levels, r.completed, r.evaluated_cases) for r in t.rows}

            assert rows(there) == rows(here) and len(there.rows) == len(here.rows)
            assert there.total.evaluations > 0
            assert tally(conn, month, by, hall="XX").rows == []
        assert [a.staff_id for a in accountability(conn, q, hall="LC")] == [
            a.staff_id for a in accountability(local, q)
        ]
    centre.dispose()


@pytest.mark.parametrize(
    ("now", "judged"),
    [
        # September has ended: a promise or due date of 9-30 has run out.
        (datetime(2026, 10, 20, 3, 0, tzinfo=UTC), date(2026, 10, 1)),
        # The hall's midnight (UTC+8): 10-01 00:30 there is still 9-30 16:30 UTC.
        (datetime(2026, 9, 30, 16, 30, tzinfo=UTC), date(2026, 10, 1)),
        # Still running: judged on today, and a date of today has not run out.
        (datetime(2026, 9, 30, 10, 0, tzinfo=UTC), date(2026, 9, 30)),
        (datetime(2026, 9, 12, 10, 0, tzinfo=UTC), date(2026, 9, 12)),
    ],
)
def test_a_date_on_the_last_day_of_an_ended_period_has_run_out(now: datetime, judged: date):
    """Overdue means "before the judging day": a 容缺 due date or a promise on
    the month's last day, unmet at the month's end, is overdue in that month
    (it fell out of both months when the judging day was the last day)."""
    period = parse_month("2026-09")
    assert period.as_of(now) == judged
    assert (date(2026, 9, 30) < period.as_of(now)) is (judged == date(2026, 10, 1))


def test_a_printed_bad_rate_reaches_the_line_exactly_when_the_true_rate_does():
    """2 差评 of 201 (0.995 %) printed as a rounded 1.00 beside a 1 % list that
    rightly left the clerk out: the sheet contradicted itself."""
    from hypothesis import given
    from hypothesis import strategies as st

    from hallapp.reports.tally import percent_down

    assert percent_down(2, 201) == 0.99 and percent_down(2, 200) == 1.0
    assert percent_down(0, 5) == 0.0 and percent_down(1, 0) is None

    @given(st.integers(0, 10_000), st.integers(1, 10_000), st.integers(0, 10_000))
    def check(part: int, whole: int, line_hundredths: int) -> None:
        part = min(part, whole)
        printed = percent_down(part, whole)
        assert printed is not None
        # The line in hundredths of a percent, compared in whole numbers.
        assert (round(printed * 100) >= line_hundredths) == (
            part * 10_000 >= line_hundredths * whole
        )

    check()


def test_a_window_whose_citizens_never_rated_is_still_in_the_table_and_the_ranking():
    """A05 served 3 applicants, each let the evaluation time out: it was missing
    from the 好差评 table and the ranking, as if it had not worked."""
    from hallapp.reports import with_served
    from hallapp.reports.cases import CaseFigures

    defs = Definitions(ranking_min_evaluations=1)
    t = window_tally([row("A03", {5: 20}, defs)], defs)
    served = with_served(t, [CaseFigures("A03", "A03", received=20),
                             CaseFigures("A05", "生态环境窗口", received=3, accepted=3),
                             CaseFigures("A09", "无人窗口")])  # fmt: skip
    assert [r.key for r in served.rows] == ["A03", "A05"]  # A09 did nothing: not listed
    a05 = served.rows[1]
    assert (a05.name, a05.evaluations, a05.satisfaction_rate) == ("生态环境窗口", 0, None)
    assert [r.key for r in ranking(served).unranked] == ["A05"]


def test_the_case_and_follow_up_tables_end_with_the_halls_line(tmp_path):
    """The hall's own 差评整改率, 回访率 and 按期办结率 were published nowhere."""
    from hallapp.reports import monthly_report
    from hallapp.reports.tables import monthly_tables
    from hallapp.store import sqlite_url

    store = Store.open(sqlite_url(tmp_path / "h.sqlite3"))
    try:
        generate(store, HistoryParams(windows=3, months=1, per_day=20, seed=5,
                                      end=date(2026, 10, 20)))  # fmt: skip
        with store.engine.connect() as conn:
            report = monthly_report(conn, parse_month("2026-10"),
                                    now=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
    finally:
        store.dispose()
    # Every window rated in the month has its 差评整改 line, 差评 or not.
    assert {f.key for f in report.follow_ups} >= {r.key for r in report.tally.rows if r.evaluations}
    tables = {t.key: t for t in monthly_tables(report)}
    for key, figures in (("办件", report.cases), ("差评整改", report.follow_ups)):
        assert figures, key  # the month has both
        table = tables[key]
        *body, total = table.rows
        assert total[0] == "合计" and total[1] == "" and table.row_keys[-1] is None
        for col in range(2, len(table.header)):
            if "率" in table.header[col]:
                continue
            assert total[col] == sum(int(r[col] or 0) for r in body), (key, table.header[col])
    bad = sum(f.bad for f in report.follow_ups)
    rectified = sum(f.rectified for f in report.follow_ups)
    rate = tables["差评整改"].header.index("差评整改率（%）")
    assert tables["差评整改"].rows[-1][rate] == round(100 * rectified / bad, 2)
