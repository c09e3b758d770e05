"""The counts the monthly figures read, kept by the database itself as facts arrive.

A month of a county's evaluations is some 440,000 rows; counting them (with
the upheld-appeal check and the 评价率's "has a counted evaluation" per case)
took seconds. Facts are append-only, so two small tables of counts can be
kept exactly, in the transaction that writes the facts, by the database's
own triggers (whoever writes: the clerk console, a pull from the centre, the
centre's bulk push, COPY):

``evaluation_tallies``
    counted evaluations per (hall day, window, clerk, department, item,
    level): +1 when an evaluation arrives that no upheld appeal excludes,
    −1 when the first upheld appeal (误评、恶意差评) of a stored evaluation
    arrives.
``completion_tallies``
    completed (办结) case events per (hall day of the event, window, first
    responder, department, item), and how many of them are of a case with at
    least one counted evaluation; ``evaluated`` moves when a case gains its
    first counted evaluation or loses its last one to an upheld appeal.

Each trigger looks at what is already stored, so the order in which the
facts arrive does not matter (a completion before or after its evaluation,
an upheld appeal before its evaluation), and a fact inserted twice is
inserted once (the idempotent push inserts only new ids: triggers see only
the rows really inserted). The counts are equal to a count over the raw
rows at every commit; tests/reports/test_rollup.py checks it against plain
SQL with hypothesis, on SQLite and PostgreSQL, local and central.

On PostgreSQL the triggers are per statement, over the statement's new rows
(transition tables), so a batch of 10,000 pushed rows costs one grouped
upsert, not 10,000; they run as the tables' owner (SECURITY DEFINER), so a
window's login that may only insert its facts still moves the counts. On
SQLite they are per row. The central store's tables carry ``hall_code``
first and its triggers match rows within a hall.

Concurrency: PostgreSQL's triggers see what is committed when they run. The
facts that interact (a case's completion and its evaluations, an evaluation
and its upheld appeal) are written in that order by one window's push, or
by a supervisor about an evaluation already stored, so none of them is
written while the other is still uncommitted.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hallapp.models import CaseEventKind, FollowUpStepKind

EVALUATION_TALLIES = "evaluation_tallies"
COMPLETION_TALLIES = "completion_tallies"
ROLLUP_TABLES = (EVALUATION_TALLIES, COMPLETION_TALLIES)  # caseroll.TABLES besides

#: The group columns (after the hall day) and the count columns of each table.
EVALUATION_KEYS = ("window_code", "staff_id", "department_code", "item_code", "level")
COMPLETION_KEYS = ("window_code", "first_responder_id", "department_code", "item_code")

UPHELD = FollowUpStepKind.APPEAL_UPHELD.value
COMPLETED = CaseEventKind.COMPLETED.value


def hall_day_sql(dialect: str, column: str) -> str:
    """The hall's day of a UTC time, as hallapp.reports.sql.hall_day writes it."""
    if dialect == "postgresql":
        return f"to_char(({column} AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')"
    # The seconds only: SQLite rounds a fraction to the millisecond, which
    # put 23:59:59.9995 (the hall's time) on the next day and month.
    return f"date(substr({column}, 1, 19), '+8 hours')"


class TallySql:
    """The trigger bodies' pieces for one store (local or central) and dialect."""

    def __init__(self, dialect: str, central: bool) -> None:
        self.dialect = dialect
        self.central = central
        self.hall = ["hall_code"] if central else []

    def same_hall(self, a: str, b: str) -> str:
        return f" AND {a}.hall_code = {b}.hall_code" if self.central else ""

    def cols(self, alias: str) -> str:
        return "".join(f"{alias}.{h}, " for h in self.hall)

    def names(self) -> str:
        return "".join(f"{h}, " for h in self.hall)

    def upheld(self, evaluation: str) -> str:
        """The evaluation (alias) has an upheld appeal stored."""
        return (
            f"EXISTS (SELECT 1 FROM follow_up_steps u WHERE u.evaluation_id = {evaluation}.id"
            f"{self.same_hall('u', evaluation)} AND u.kind = '{UPHELD}')"
        )

    def counted_of_case(self, case_ref: str, extra: str = "") -> str:
        """The case (alias with case_id/hall_code) has a counted evaluation stored."""
        return (
            f"EXISTS (SELECT 1 FROM evaluations x WHERE x.case_id = {case_ref}.case_id"
            f"{self.same_hall('x', case_ref)}{extra} AND NOT {self.upheld('x')})"
        )

    def upsert(self, table: str, keys: tuple[str, ...], counts: dict[str, str]) -> str:
        conflict = ", ".join([*self.hall, "day", *keys])
        sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
        return f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}"

    def evaluation_insert(self, source: str, sign: str) -> str:
        """Level counts of the evaluations in ``source`` (alias e), added or taken away."""
        day = hall_day_sql(self.dialect, "e.created_at")
        keys = ", ".join(f"e.{k}" for k in EVALUATION_KEYS)
        return (
            f"INSERT INTO {EVALUATION_TALLIES} "
            f"({self.names()}day, {', '.join(EVALUATION_KEYS)}, n) "
            f"SELECT {self.cols('e')}{day}, {keys}, {sign}count(*) FROM {source} "
            f"GROUP BY {self.cols('e')}{day}, {keys} "
            + self.upsert(EVALUATION_TALLIES, EVALUATION_KEYS, {"n": ""})
        )

    def excluded(self, gone: str) -> list[str]:
        """Take out the evaluations of ``gone`` (a subquery: their first upheld appeal
        just arrived) from the level counts, and from 评价率 the completions of a
        case that lost its last counted evaluation with them."""
        return [
            self.evaluation_insert(f"{gone} AS e WHERE true", "-"),
            self.completion_insert(
                f"(SELECT DISTINCT {self.cols('g')}g.case_id FROM {gone} AS g) AS k",
                f"NOT {self.counted_of_case('k')}",
                "0",
                "-count(*)",
            ),
        ]

    def completion_insert(self, cases: str, where: str, completed: str, evaluated: str) -> str:
        """Completion counts for the completed events (alias ev) of the cases in
        ``cases`` (alias k, with case_id and hall_code), joined to their case."""
        day = hall_day_sql(self.dialect, "ev.created_at")
        keys = ", ".join(f"c.{k}" for k in ("window_code", "first_responder_id",
                                             "department_code", "item_code"))  # fmt: skip
        return (
            f"INSERT INTO {COMPLETION_TALLIES} ({self.names()}day, {', '.join(COMPLETION_KEYS)}, "
            f"completed, evaluated) "
            f"SELECT {self.cols('c')}{day}, {keys}, {completed}, {evaluated} "
            f"FROM {cases} JOIN case_events ev "
            f"ON ev.case_id = k.case_id{self.same_hall('ev', 'k')} "
            f"JOIN cases c ON c.id = k.case_id{self.same_hall('c', 'k')} "
            f"WHERE ev.kind = '{COMPLETED}' AND {where} "
            f"GROUP BY {self.cols('c')}{day}, {keys} "
            + self.upsert(COMPLETION_TALLIES, COMPLETION_KEYS, {"completed": "", "evaluated": ""})
        )


# ------------------------------------------------------------------ PostgreSQL


def _pg_statements(sql: TallySql) -> list[str]:
    new_ids = "SELECT 1 FROM new_rows y WHERE y.id = x.id" + sql.same_hall("y", "x")
    fresh = f"(SELECT * FROM new_rows e WHERE NOT {sql.upheld('e')}) AS e"
    fresh_cases = (
        f"(SELECT DISTINCT {sql.cols('e')}e.case_id FROM new_rows e "
        f"WHERE NOT {sql.upheld('e')}) AS k"
    )
    on_evaluations = [
        sql.evaluation_insert(fresh, ""),
        # A case whose first counted evaluation this is: its completions become evaluated.
        sql.completion_insert(
            fresh_cases,
            f"NOT {sql.counted_of_case('k', f' AND NOT EXISTS ({new_ids})')}",
            "0",
            "count(*)",
        ),
    ]
    done = f"(SELECT {sql.cols('r')}r.case_id, r.id, r.kind, r.created_at FROM new_rows r) AS k"
    on_events = [
        # The new completions, joined to their case (aliases: k the new event row itself).
        sql.completion_insert(
            done,
            "ev.id = k.id" + sql.same_hall("ev", "k"),
            "count(*)",
            f"count(*) FILTER (WHERE {sql.counted_of_case('k')})",
        ),
    ]
    old_upheld = (
        "SELECT 1 FROM follow_up_steps o WHERE o.evaluation_id = f.evaluation_id"
        f"{sql.same_hall('o', 'f')} AND o.kind = '{UPHELD}' AND NOT EXISTS "
        f"(SELECT 1 FROM new_rows n WHERE n.id = o.id{sql.same_hall('n', 'o')})"
    )
    gone = (
        f"(SELECT e.* FROM evaluations e WHERE EXISTS (SELECT 1 FROM new_rows f "
        f"WHERE f.evaluation_id = e.id{sql.same_hall('f', 'e')} AND f.kind = '{UPHELD}' "
        f"AND NOT EXISTS ({old_upheld})))"
    )
    on_steps = sql.excluded(gone)
    out: list[str] = []
    for table, body in (
        ("evaluations", on_evaluations),
        ("case_events", on_events),
        ("follow_up_steps", on_steps),
    ):
        out += pg_statement_trigger(table, f"trg_{table}_tally", f"hallapp_tally_{table}", body)
    return out


# For every SECURITY DEFINER function: the central tables, then the session's
# temporary schema — never before them.
DEFINER_SEARCH_PATH = "public, pg_temp"


def pg_statement_trigger(table: str, trigger: str, fn: str, body: list[str]) -> list[str]:
    """A PostgreSQL AFTER INSERT trigger per statement over its new rows
    (``new_rows``), running ``body`` as the table's owner."""
    statements = "\n".join(f"    {s};" for s in body)
    return [
        f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql "
        # pg_temp named last: unnamed, it is searched first, and a login
        # with TEMPORARY (a window's, for its staging table) could shadow
        # the count tables with temporary ones of its own.
        f"SECURITY DEFINER SET search_path = {DEFINER_SEARCH_PATH} AS $$\nBEGIN\n"
        f"{statements}\n    RETURN NULL;\nEND\n$$",
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}",
        f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
        # ALWAYS: session_replication_role = replica must not silently stop the counts.
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}",
    ]


def sqlite_row_trigger(table: str, trigger: str, when: str, body: list[str]) -> list[str]:
    """A SQLite AFTER INSERT trigger per row (NEW) when ``when`` holds."""
    statements = " ".join(f"{s};" for s in body)
    return [
        f"DROP TRIGGER IF EXISTS {trigger}",
        f"CREATE TRIGGER {trigger} AFTER INSERT ON {table} "
        f"FOR EACH ROW WHEN {when} BEGIN {statements} END",
    ]


# ---------------------------------------------------------------------- SQLite


def sqlite_new_row(names: list[str]) -> str:
    """A SQLite trigger's NEW row as a one-row table (a trigger cannot select
    NEW.*): the columns named."""
    return "(SELECT " + ", ".join(f"NEW.{n} AS {n}" for n in names) + ")"


def _sqlite_new_evaluation(sql: TallySql) -> str:
    return sqlite_new_row([*sql.hall, "created_at", *EVALUATION_KEYS])


def _sqlite_statements(sql: TallySql) -> list[str]:
    new = "(SELECT NEW.case_id AS case_id" + (", NEW.hall_code AS hall_code" if sql.central else "")
    on_evaluation = [
        sql.completion_insert(
            f"{new}) AS k",
            f"NOT {sql.counted_of_case('k', ' AND x.id != NEW.id')}",
            "0",
            "count(*)",
        ),
        sql.evaluation_insert(f"{_sqlite_new_evaluation(sql)} AS e WHERE true", ""),
    ]
    on_event = [
        sql.completion_insert(
            f"{new}, NEW.id AS id) AS k",
            "ev.id = k.id",
            "count(*)",
            f"sum(CASE WHEN {sql.counted_of_case('k')} THEN 1 ELSE 0 END)",
        ),
    ]
    gone = (
        "(SELECT e.* FROM evaluations e WHERE e.id = NEW.evaluation_id"
        + (" AND e.hall_code = NEW.hall_code" if sql.central else "")
        + ")"
    )
    on_step = sql.excluded(gone)
    hall = " AND o.hall_code = NEW.hall_code" if sql.central else ""
    first_upheld = (
        f"NEW.kind = '{UPHELD}' AND NOT EXISTS (SELECT 1 FROM follow_up_steps o "
        f"WHERE o.evaluation_id = NEW.evaluation_id{hall} AND o.kind = '{UPHELD}' "
        "AND o.id != NEW.id)"
    )
    hall_u = " AND u.hall_code = NEW.hall_code" if sql.central else ""
    not_upheld = (
        f"NOT EXISTS (SELECT 1 FROM follow_up_steps u WHERE u.evaluation_id = NEW.id{hall_u} "
        f"AND u.kind = '{UPHELD}')"
    )
    out = []
    for table, when, body in (
        ("evaluations", not_upheld, on_evaluation),
        ("case_events", f"NEW.kind = '{COMPLETED}'", on_event),
        ("follow_up_steps", first_upheld, on_step),
    ):
        out += sqlite_row_trigger(table, f"trg_{table}_tally", when, body)
    return out


def trigger_statements(dialect: str, *, central: bool) -> list[str]:
    sql = TallySql(dialect, central)
    return _pg_statements(sql) if dialect == "postgresql" else _sqlite_statements(sql)


def install_triggers(conn: Connection, *, central: bool) -> None:
    """(Re)create the triggers that keep these two tables' counts (idempotent);
    :func:`hallapp.reports.caseroll.install_all` makes every counting trigger."""
    for statement in trigger_statements(conn.dialect.name, central=central):
        conn.exec_driver_sql(statement)


def drop_statements(dialect: str) -> list[str]:
    """What removes every counting trigger (a bulk load that counts afterwards)."""
    from hallapp.reports import caseroll

    on = dialect == "postgresql"
    return [
        f"DROP TRIGGER IF EXISTS trg_{t}_tally" + (f" ON {t}" if on else "")
        for t in ("evaluations", "case_events", "follow_up_steps")
    ] + caseroll.drop_statements(dialect)


def rebuild(conn: Connection, *, central: bool) -> None:
    """Fill the counts from the facts already stored (a store made before them)."""
    sql = TallySql(conn.dialect.name, central)
    conn.exec_driver_sql(f"DELETE FROM {EVALUATION_TALLIES}")
    conn.exec_driver_sql(f"DELETE FROM {COMPLETION_TALLIES}")
    conn.exec_driver_sql(sql.evaluation_insert(f"evaluations e WHERE NOT {sql.upheld('e')}", ""))
    evaluated = f"CASE WHEN {sql.counted_of_case('k')} THEN 1 ELSE 0 END"
    conn.exec_driver_sql(
        sql.completion_insert(
            f"(SELECT {sql.cols('r')}r.case_id, r.id FROM case_events r "
            f"WHERE r.kind = '{COMPLETED}') AS k",
            "ev.id = k.id" + sql.same_hall("ev", "k"),
            "count(*)",
            f"sum({evaluated})",
        )
    )
