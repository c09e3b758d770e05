# ruff: noqa: E501 (SQL text)
"""Case figures and the open follow-ups, kept by the database as facts arrive.

The monthly case figures (收件、受理、按期办结、一次性告知、倒查、延期) and the
超期未办结 list looked at every case event of the month, and the overdue
list at every case of the history; the follow-up queue grouped the steps of
every open follow-up. On a county's store that took seconds. Like the
evaluation counts (hallapp.reports.rollup), three derived tables are kept by
AFTER INSERT triggers in the transaction that writes the facts:

``case_tallies``
    per (hall day, window, first responder, department, item): cases
    received (the case's own day), and by the event's day: accepted (受理,
    容缺受理), completed on time, one-time notices, violations, extensions.
    *On time*: the completion's day is on or before the latest promised date
    written by the case's acceptance and extension events. A promise that
    arrives after the completion (another window's batch order at the
    centre) corrects the count then.
``case_deadlines``
    the accepted cases that could be 超期未办结 at the end of some month: a
    case enters with its acceptance (first accepted day, earliest promised
    date) and leaves when it is completed on or before that earliest
    promised date — such a case was never overdue at any month's end. What
    stays is the open cases and those completed late. It is a superset: the
    figures check its cases exactly against their events
    (:func:`hallapp.reports.cases.overdue_open_condition`), so an unusual
    arrival order can only leave a case in it, never wrongly out of it.
``open_follow_ups``
    the 差评 follow-ups opened and neither closed nor ended by an upheld
    appeal, with their due date and opening time: the queue's rows.

Append-only facts make this exact: each trigger looks at what is stored, a
fact inserted twice is inserted once (the push inserts only new ids), and a
rolled-back transaction takes its counts with it. tests/reports/test_caseroll.py
compares every figure with a count over the raw rows made in Python.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hallapp.models import CaseEventKind, FollowUpStepKind
from hallapp.reports import rollup
from hallapp.reports.rollup import TallySql, hall_day_sql

CASE_TALLIES = "case_tallies"
CASE_DEADLINES = "case_deadlines"
OPEN_FOLLOW_UPS = "open_follow_ups"
TABLES = (CASE_TALLIES, CASE_DEADLINES, OPEN_FOLLOW_UPS)

GROUP = ("window_code", "first_responder_id", "department_code", "item_code")
COUNTS = ("received", "accepted", "on_time", "one_time_notices", "violations", "extensions")

K = CaseEventKind
ACCEPTING = (K.ACCEPTED.value, K.CONDITIONALLY_ACCEPTED.value)
PROMISING = (*ACCEPTING, K.EXTENDED.value)
COMPLETED = K.COMPLETED.value
#: event kind -> the count it moves (completions move on_time, judged below)
EVENT_COUNTS = {
    **dict.fromkeys(ACCEPTING, "accepted"),
    K.SUPPLEMENT_REQUESTED.value: "one_time_notices",
    K.ONE_TIME_VIOLATION.value: "violations",
    K.EXTENDED.value: "extensions",
}
COUNTED_EVENTS = (*EVENT_COUNTS, COMPLETED)
ENDING_STEPS = (FollowUpStepKind.CLOSED.value, FollowUpStepKind.APPEAL_UPHELD.value)
OPENED = FollowUpStepKind.OPENED.value
CALLED_BACK = FollowUpStepKind.CALLED_BACK.value

#: (table, trigger name) of every trigger this module installs.
TRIGGERS = (
    ("cases", "trg_cases_case_tally"),
    ("case_events", "trg_case_events_case_tally"),
    ("follow_up_steps", "trg_follow_up_steps_open"),
)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class _CaseSql:
    def __init__(self, dialect: str, central: bool) -> None:
        self.t = TallySql(dialect, central)
        self.pg = dialect == "postgresql"
        self.dialect = dialect

    def day(self, column: str) -> str:
        return hall_day_sql(self.dialect, column)

    def promised(self, alias: str) -> str:
        if self.pg:
            return f"({alias}.data ->> 'promised_date')"
        return f"json_extract({alias}.data, '$.promised_date')"

    def least(self, a: str, b: str) -> str:
        # PostgreSQL's LEAST skips NULLs; SQLite's min(a, b) is NULL if either is.
        if self.pg:
            return f"LEAST({a}, {b})"
        return f"min(coalesce({a}, {b}), coalesce({b}, {a}))"

    def latest_promise(self, case_ref: str, extra: str = "") -> str:
        """The latest promised date stored for the case of ``case_ref``
        (an alias with case_id and, at the centre, hall_code)."""
        return (
            f"(SELECT max({self.promised('p')}) FROM case_events p "
            f"WHERE p.case_id = {case_ref}.case_id{self.t.same_hall('p', case_ref)} "
            f"AND p.kind IN {_in(PROMISING)}{extra})"
        )

    def upsert_counts(self, select_from: str, day: str, counts: dict[str, str]) -> str:
        """INSERT … SELECT the ``counts`` (name -> aggregate) per day and group of
        the case alias c, added to what is there."""
        hall = self.t.names()
        keys = ", ".join(f"c.{k}" for k in GROUP)
        values = ", ".join(counts.get(name, "0") for name in COUNTS)
        conflict = ", ".join([*self.t.hall, "day", *GROUP])
        sets = ", ".join(f"{n} = {CASE_TALLIES}.{n} + excluded.{n}" for n in COUNTS)
        return (
            f"INSERT INTO {CASE_TALLIES} ({hall}day, {', '.join(GROUP)}, {', '.join(COUNTS)}) "
            f"SELECT {self.t.cols('c')}{day}, {keys}, {values} FROM {select_from} "
            f"GROUP BY {self.t.cols('c')}{day}, {keys} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
        )

    def event_counts(self, events: str, on_time_extra: str = "") -> dict[str, str]:
        """The aggregates of the events ``ev`` (their case c)."""
        out: dict[str, str] = {}
        for name in sorted(set(EVENT_COUNTS.values())):
            kinds = tuple(k for k, n in EVENT_COUNTS.items() if n == name)
            out[name] = f"sum(CASE WHEN {events}.kind IN {_in(kinds)} THEN 1 ELSE 0 END)"
        out["on_time"] = (
            f"sum(CASE WHEN {events}.kind = '{COMPLETED}' AND {self.day(f'{events}.created_at')} "
            f"<= {self.latest_promise(events, on_time_extra)} THEN 1 ELSE 0 END)"
        )
        return out

    def corrected(self, completions: str, not_new_promise: str) -> str:
        """Completions stored before (``completions``: case_events ``ev`` rows with
        their WHERE) of a case that just got a promise, judged again with all the
        promises and without the new ones (``not_new_promise``, a condition on p)."""
        judged_all = f"{self.day('ev.created_at')} <= {self.latest_promise('ev')}"
        judged_old = f"{self.day('ev.created_at')} <= {self.latest_promise('ev', not_new_promise)}"
        return self.upsert_counts(
            f"case_events ev {self.join_case('ev')} WHERE ev.kind = '{COMPLETED}' {completions}",
            self.day("ev.created_at"),
            {
                "on_time": f"sum((CASE WHEN {judged_all} THEN 1 ELSE 0 END) "
                f"- (CASE WHEN {judged_old} THEN 1 ELSE 0 END))"
            },
        )

    def new_event_counts(self, events: str) -> str:
        """The counts of the new events ``ev`` (``events``: a FROM item aliased ev)."""
        return self.upsert_counts(
            f"{events} {self.join_case('ev')} WHERE ev.kind IN {_in(COUNTED_EVENTS)}",
            self.day("ev.created_at"),
            self.event_counts("ev"),
        )

    def join_case(self, events: str) -> str:
        return f"JOIN cases c ON c.id = {events}.case_id{self.t.same_hall('c', events)}"

    def deadline_upsert(self, source: str, where: str) -> str:
        """Enter the cases of the promising events ``ev`` in ``source``, unless a
        completion stored is on or before their earliest new promise."""
        hall = self.t.names()
        cols = ("case_id", *GROUP, "accepted_day", "promised_min")
        accepted = f"min(CASE WHEN ev.kind IN {_in(ACCEPTING)} THEN {self.day('ev.created_at')} END)"
        keys = ", ".join(f"c.{k}" for k in GROUP)
        grouped = (
            f"SELECT {self.t.cols('c')}c.id AS case_id, {keys}, {accepted} AS accepted_day, "
            f"min({self.promised('ev')}) AS promised_min "
            f"FROM {source} {self.join_case('ev')} WHERE ev.kind IN {_in(PROMISING)}{where} "
            f"GROUP BY {self.t.cols('c')}c.id, {keys}"
        )
        done = (
            f"SELECT 1 FROM case_events d WHERE d.case_id = g.case_id{self.t.same_hall('d', 'g')} "
            f"AND d.kind = '{COMPLETED}' AND {self.day('d.created_at')} <= g.promised_min"
        )
        t = CASE_DEADLINES
        return (
            f"INSERT INTO {t} ({hall}{', '.join(cols)}) "
            f"SELECT {', '.join(f'g.{c}' for c in [*self.t.hall, *cols])} FROM ({grouped}) AS g "
            f"WHERE NOT EXISTS ({done}) "
            f"ON CONFLICT ({', '.join([*self.t.hall, 'case_id'])}) DO UPDATE SET "
            f"accepted_day = {self.least(f'{t}.accepted_day', 'excluded.accepted_day')}, "
            f"promised_min = {self.least(f'{t}.promised_min', 'excluded.promised_min')}"
        )


# ------------------------------------------------------------------ PostgreSQL


def _pg_functions(q: _CaseSql) -> list[tuple[str, str, list[str]]]:
    t = q.t
    received = q.upsert_counts(
        "new_rows c", q.day("c.created_at"), {"received": "count(*)"}
    )
    counts = q.new_event_counts("new_rows ev")
    # Completions stored before this statement, of a case that just got a
    # promise: judged again with and without the new promises.
    corrected = q.corrected(
        f"AND EXISTS (SELECT 1 FROM new_rows n WHERE n.case_id = ev.case_id"
        f"{t.same_hall('n', 'ev')} AND n.kind IN {_in(PROMISING)}) "
        f"AND NOT EXISTS (SELECT 1 FROM new_rows y WHERE y.id = ev.id{t.same_hall('y', 'ev')})",
        f" AND NOT EXISTS (SELECT 1 FROM new_rows y WHERE y.id = p.id{t.same_hall('y', 'p')})",
    )
    enter = q.deadline_upsert("new_rows ev", "")
    hall_k = t.cols("r")
    done = (
        f"(SELECT {hall_k}r.case_id, min({q.day('r.created_at')}) AS dd FROM new_rows r "
        f"WHERE r.kind = '{COMPLETED}' GROUP BY {hall_k}r.case_id) AS k"
    )
    match = f"d.case_id = k.case_id{t.same_hall('d', 'k')}"
    leave = (
        f"DELETE FROM {CASE_DEADLINES} d USING {done} WHERE {match} "
        "AND d.promised_min IS NOT NULL AND k.dd <= d.promised_min"
    )
    mark = (
        f"UPDATE {CASE_DEADLINES} d SET done_day = LEAST(d.done_day, k.dd) FROM {done} "
        f"WHERE {match}"
    )
    ended = (
        f"SELECT 1 FROM follow_up_steps x WHERE x.evaluation_id = n.evaluation_id"
        f"{t.same_hall('x', 'n')} AND x.kind IN {_in(ENDING_STEPS)}"
    )
    hall_n = t.cols("n")
    called = (
        f"EXISTS (SELECT 1 FROM follow_up_steps b WHERE b.evaluation_id = n.evaluation_id"
        f"{t.same_hall('b', 'n')} AND b.kind = '{CALLED_BACK}')"
    )
    open_ = (
        f"INSERT INTO {OPEN_FOLLOW_UPS} ({t.names()}evaluation_id, due_on, opened_at, called_back) "
        f"SELECT {hall_n}n.evaluation_id, max(n.due_on), min(n.created_at), bool_or({called}) "
        f"FROM new_rows n WHERE n.kind = '{OPENED}' AND NOT EXISTS ({ended}) "
        f"GROUP BY {hall_n}n.evaluation_id ON CONFLICT ({t.names()}evaluation_id) DO UPDATE SET "
        # A second opening (it does not happen, but facts are what they are):
        # the later due date and the first opening, as the queue's flags say.
        f"due_on = GREATEST({OPEN_FOLLOW_UPS}.due_on, excluded.due_on), "
        f"opened_at = LEAST({OPEN_FOLLOW_UPS}.opened_at, excluded.opened_at), "
        f"called_back = {OPEN_FOLLOW_UPS}.called_back OR excluded.called_back"
    )
    of_new = (
        f"EXISTS (SELECT 1 FROM new_rows n WHERE n.evaluation_id = o.evaluation_id"
        f"{t.same_hall('n', 'o')} AND n.kind IN {{kinds}})"
    )
    close = f"DELETE FROM {OPEN_FOLLOW_UPS} o WHERE " + of_new.format(kinds=_in(ENDING_STEPS))
    call = (
        f"UPDATE {OPEN_FOLLOW_UPS} o SET called_back = true WHERE NOT o.called_back AND "
        + of_new.format(kinds=_in((CALLED_BACK,)))
    )
    return [
        ("cases", "hallapp_case_tally_cases", [received]),
        ("case_events", "hallapp_case_tally_case_events", [counts, corrected, enter, leave, mark]),
        ("follow_up_steps", "hallapp_open_follow_ups", [open_, close, call]),
    ]


def _pg_statements(q: _CaseSql) -> list[str]:
    out: list[str] = []
    names = dict(TRIGGERS)
    for table, fn, body in _pg_functions(q):
        out += rollup.pg_statement_trigger(table, names[table], fn, body)
    return out


# ---------------------------------------------------------------------- SQLite


def _sqlite_statements(q: _CaseSql) -> list[str]:
    t = q.t
    central = t.central
    hall_new = " AND {a}.hall_code = NEW.hall_code" if central else ""

    def same(alias: str) -> str:
        return hall_new.format(a=alias)

    new_case = rollup.sqlite_new_row([*t.hall, "id", "created_at", *GROUP]) + " AS c WHERE true"
    received = q.upsert_counts(new_case, q.day("c.created_at"), {"received": "count(*)"})
    new_ev = rollup.sqlite_new_row([*t.hall, "id", "case_id", "kind", "created_at", "data"]) + " AS ev"
    counts = q.new_event_counts(new_ev)
    corrected = q.corrected(
        f"AND ev.case_id = NEW.case_id{same('ev')} AND ev.id != NEW.id "
        f"AND NEW.kind IN {_in(PROMISING)}",
        " AND p.id != NEW.id",
    )
    enter = q.deadline_upsert(new_ev, "")
    day_new = q.day("NEW.created_at")
    of_case = f"case_id = NEW.case_id{' AND hall_code = NEW.hall_code' if central else ''}"
    leave = (
        f"DELETE FROM {CASE_DEADLINES} WHERE {of_case} AND NEW.kind = '{COMPLETED}' "
        f"AND promised_min IS NOT NULL AND {day_new} <= promised_min"
    )
    mark = (
        f"UPDATE {CASE_DEADLINES} SET done_day = {q.least('done_day', day_new)} "
        f"WHERE {of_case} AND NEW.kind = '{COMPLETED}'"
    )
    of_eval = (
        f"evaluation_id = NEW.evaluation_id{' AND hall_code = NEW.hall_code' if central else ''}"
    )
    open_ = (
        f"INSERT INTO {OPEN_FOLLOW_UPS} ({t.names()}evaluation_id, due_on, opened_at, called_back) "
        f"SELECT {''.join('NEW.' + h + ', ' for h in t.hall)}NEW.evaluation_id, NEW.due_on, "
        f"NEW.created_at, EXISTS (SELECT 1 FROM follow_up_steps b WHERE b.{of_eval} "
        f"AND b.kind = '{CALLED_BACK}') WHERE NEW.kind = '{OPENED}' AND NOT EXISTS (SELECT 1 FROM "
        f"follow_up_steps x WHERE x.{of_eval} AND x.kind IN {_in(ENDING_STEPS)}) "
        # A second opening (it does not happen, but facts are what they are):
        # the later due date and the first opening, as the queue's flags say.
        f"ON CONFLICT ({t.names()}evaluation_id) DO UPDATE SET due_on = max(coalesce({OPEN_FOLLOW_UPS}.due_on, "
        f"excluded.due_on), coalesce(excluded.due_on, {OPEN_FOLLOW_UPS}.due_on)), "
        f"opened_at = min({OPEN_FOLLOW_UPS}.opened_at, excluded.opened_at)"
    )
    close = (
        f"DELETE FROM {OPEN_FOLLOW_UPS} WHERE {of_eval} AND NEW.kind IN {_in(ENDING_STEPS)}"
    )
    call = (
        f"UPDATE {OPEN_FOLLOW_UPS} SET called_back = true WHERE {of_eval} "
        f"AND NEW.kind = '{CALLED_BACK}'"
    )
    bodies = {
        "cases": ("true", [received]),
        "case_events": (
            f"NEW.kind IN {_in(COUNTED_EVENTS)}",
            [counts, corrected, enter, leave, mark],
        ),
        "follow_up_steps": (
            f"NEW.kind IN {_in((OPENED, CALLED_BACK, *ENDING_STEPS))}",
            [open_, close, call],
        ),
    }
    out = []
    for table, trigger in TRIGGERS:
        when, body = bodies[table]
        out += rollup.sqlite_row_trigger(table, trigger, when, body)
    return out


def trigger_statements(dialect: str, *, central: bool) -> list[str]:
    q = _CaseSql(dialect, central)
    return _pg_statements(q) if q.pg else _sqlite_statements(q)


def drop_statements(dialect: str) -> list[str]:
    """What removes the triggers (a bulk load that counts afterwards, a downgrade)."""
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {trg} ON {table}" for table, trg in TRIGGERS]
    return [f"DROP TRIGGER IF EXISTS {trg}" for _table, trg in TRIGGERS]


def rebuild(conn: Connection, *, central: bool) -> None:
    """Fill the three tables from the facts already stored."""
    q = _CaseSql(conn.dialect.name, central)
    t = q.t
    for name in TABLES:
        conn.exec_driver_sql(f"DELETE FROM {name}")
    conn.exec_driver_sql(
        q.upsert_counts("cases c WHERE true", q.day("c.created_at"), {"received": "count(*)"})
    )
    # The latest and earliest promise of every case, once (not once per completion).
    hall_p = t.cols("p")
    promises = (
        f"(SELECT {hall_p}p.case_id, max({q.promised('p')}) AS latest, "
        f"min({q.promised('p')}) AS earliest, "
        f"min(CASE WHEN p.kind IN {_in(ACCEPTING)} THEN {q.day('p.created_at')} END) AS accepted "
        f"FROM case_events p WHERE p.kind IN {_in(PROMISING)} GROUP BY {hall_p}p.case_id)"
    )
    counts = q.event_counts("ev")
    counts["on_time"] = (
        f"sum(CASE WHEN ev.kind = '{COMPLETED}' AND {q.day('ev.created_at')} <= pr.latest "
        "THEN 1 ELSE 0 END)"
    )
    conn.exec_driver_sql(
        q.upsert_counts(
            f"case_events ev {q.join_case('ev')} LEFT JOIN {promises} pr "
            f"ON pr.case_id = ev.case_id{t.same_hall('pr', 'ev')} "
            f"WHERE ev.kind IN {_in(COUNTED_EVENTS)}",
            q.day("ev.created_at"),
            counts,
        )
    )
    hall_d = t.cols("d")
    done = (
        f"(SELECT {hall_d}d.case_id, min({q.day('d.created_at')}) AS dd FROM case_events d "
        f"WHERE d.kind = '{COMPLETED}' GROUP BY {hall_d}d.case_id)"
    )
    keys = ", ".join(f"c.{k}" for k in GROUP)
    conn.exec_driver_sql(
        f"INSERT INTO {CASE_DEADLINES} ({t.names()}case_id, {', '.join(GROUP)}, accepted_day, "
        f"promised_min, done_day) "
        f"SELECT {t.cols('c')}c.id, {keys}, pr.accepted, pr.earliest, dn.dd "
        f"FROM {promises} pr JOIN cases c ON c.id = pr.case_id{t.same_hall('c', 'pr')} "
        f"LEFT JOIN {done} dn ON dn.case_id = pr.case_id{t.same_hall('dn', 'pr')} "
        "WHERE dn.dd IS NULL OR pr.earliest IS NULL OR dn.dd > pr.earliest"
    )
    hall_o = t.cols("o")
    conn.exec_driver_sql(
        f"INSERT INTO {OPEN_FOLLOW_UPS} ({t.names()}evaluation_id, due_on, opened_at, called_back) "
        f"SELECT {hall_o}o.evaluation_id, max(o.due_on), min(o.created_at), EXISTS ("
        f"SELECT 1 FROM follow_up_steps b WHERE b.evaluation_id = o.evaluation_id"
        f"{t.same_hall('b', 'o')} AND b.kind = '{CALLED_BACK}') "
        f"FROM follow_up_steps o WHERE o.kind = '{OPENED}' AND NOT EXISTS ("
        f"SELECT 1 FROM follow_up_steps x WHERE x.evaluation_id = o.evaluation_id"
        f"{t.same_hall('x', 'o')} AND x.kind IN {_in(ENDING_STEPS)}) "
        f"GROUP BY {hall_o}o.evaluation_id"
    )


def install_all(conn: Connection, *, central: bool) -> None:
    """Every counting trigger: the evaluation counts' and this module's."""
    rollup.install_triggers(conn, central=central)
    for statement in trigger_statements(conn.dialect.name, central=central):
        conn.exec_driver_sql(statement)


def rebuild_all(conn: Connection, *, central: bool) -> None:
    """Every derived table from the facts stored."""
    rollup.rebuild(conn, central=central)
    rebuild(conn, central=central)
