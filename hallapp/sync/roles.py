"""Who may do what at a PostgreSQL central store: database roles, enforced by the server.

Two group roles per central database, both NOLOGIN, named after it so that
several central stores can share one PostgreSQL cluster (roles are
cluster-wide):

- ``<db>_window``: what every window login may do. It adds facts of its own
  hall and window only (row-level security checks ``hall_code``,
  ``origin_window`` and, where a table has one, ``window_code``), reads its
  own facts and those the centre wrote for it, reads the reference data of
  its own hall, and keeps its own sync bookkeeping rows. No UPDATE or DELETE
  of a fact or of reference data, no TRUNCATE, no DDL, nothing of another
  window or hall.
- ``<db>_supervisor``: reads every hall's data (or one hall's, if the login
  was granted for one), and adds what a supervisor's actions write: follow-up
  steps and appeal decisions, audit entries, and the outbox rows that carry
  them to the window (always as the centre, ``origin_window = '@centre'``).
- ``<db>_back_office``: a department's back office (并联审批, hallapp.bundles)
  of one hall. It reads the hall's reference data and, of the facts, only the
  sub-cases routed to its own department (``bundle_case_members``), their
  cases, case events, bundle cases and applicants; it adds case events on
  those cases only, as the centre, of the kinds a back office writes
  (decisions, material requests, the one-time violations they cause), and
  the outbox rows that carry them to the case's window.
- ``<db>_agent``: a 代办员 of key projects (hallapp.projects). Reads the
  reference data of its hall, and of the key projects' facts only those of
  the projects it works on (as 一级 or 二级代办员); adds steps and surveys to
  those, and registers, extends and hands over only the projects it leads
  (``agent_id``), always as the centre. Nothing of cases, evaluations or
  any window's facts. Windows get no privilege on the key projects' tables
  at all (they never write them).

Each login (``grant_window``, ``grant_supervisor``, ``grant_back_office``,
``grant_agent``) is a member of one group; the table ``central_logins`` maps
it to its hall and window (or department, or staff member), and the policies
look the current user up there (an uncorrelated sub-select, which
PostgreSQL evaluates once per statement, not once per row).

Passwords: the server only ever receives the SCRAM-SHA-256 verifier, which
libpq computes on this side (``PQencryptPasswordConn``), so the plain
password is in no statement, server log or error message.

SQLite central stores have no roles: whoever can open the file can write it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url

from hallapp.dberrors import url_without_password
from hallapp.reports.rollup import DEFINER_SEARCH_PATH

log = logging.getLogger(__name__)

HALL = "hall_code"
CENTRE_ORIGIN = "@centre"
LOGINS_TABLE = "central_logins"

# The key projects' facts (hallapp.projects), written at the centre only.
PROJECT_TABLES = (
    "key_projects",
    "project_agents",
    "project_nodes",
    "project_steps",
    "project_events",
    "agent_surveys",
    "project_documents",
)
# What only a project's 一级代办员 adds (the rest: any of its 代办员).
_LEAD_ONLY = ("project_agents", "project_nodes", "project_events", "project_documents")

# What a supervisor's actions write at the centre.
SUPERVISOR_INSERTS = ("follow_up_steps", "audit_entries", "centre_outbox", *PROJECT_TABLES)

# Central-only bookkeeping: (window may SELECT, window may write its own rows,
# column naming the window in it). Facts and reference data are recognised by
# their columns; a table in neither group nor here gets no privilege at all.
_BOOKKEEPING: dict[str, tuple[bool, tuple[str, ...], str | None]] = {
    "central_meta": (True, (), None),  # the schema version a window checks
    "ref_versions": (True, (), None),
    "centre_outbox": (True, (), "window_code"),
    "chain_heads": (True, ("INSERT", "UPDATE"), "window_code"),
    "chain_faults": (True, ("INSERT",), "window_code"),
    "window_sync": (True, ("INSERT", "UPDATE"), "window_code"),
    LOGINS_TABLE: (True, (), None),
}
# Alembic's version tables (the centre's own scripts may name theirs differently).
_VERSION_TABLE = re.compile(r"^\w*alembic_version$")

_CODE = re.compile(r"^[A-Za-z0-9]{1,8}$")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_OWN = f"(SELECT l.{{col}} FROM {LOGINS_TABLE} l WHERE l.role_name = current_user)"
OWN_HALL = _OWN.format(col=HALL)
OWN_WINDOW = _OWN.format(col="window_code")
OWN_KIND = _OWN.format(col="kind")
OWN_DEPARTMENT = _OWN.format(col="department_code")

#: What a back office may write at the centre (case events of these kinds).
BACK_OFFICE_EVENT_KINDS = (
    "department_approved",
    "department_refused",
    "material_requested",
    "one_time_violation",
)
OWN_STAFF = _OWN.format(col="staff_id")


def login_place(conn: Connection) -> tuple[str, str | None, str | None] | None:
    """(kind, hall, window) of the login ``conn`` runs as, if this centre
    granted it (None: the owner, or a SQLite centre)."""
    if conn.dialect.name != "postgresql" or not inspect(conn).has_table(LOGINS_TABLE):
        return None
    row = conn.execute(
        text(f"SELECT kind, {HALL}, window_code FROM {LOGINS_TABLE} WHERE role_name = current_user")
    ).first()
    return None if row is None else (str(row[0]), row[1], row[2])


class GrantError(Exception):
    """A login cannot be granted; the message says why in Chinese."""


@dataclass(frozen=True)
class Groups:
    window: str
    supervisor: str
    agent: str = ""
    back_office: str = ""


@dataclass(frozen=True)
class GrantedLogin:
    login: str
    group: str
    hall_code: str | None
    window_code: str | None


def _q(name: str) -> str:
    """A quoted SQL identifier (a database may be called ``hall-lc``)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def role_base(database: str) -> str:
    """The database's name as a role-name prefix (lower case, [a-z0-9_])."""
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())
    if not base or not base[0].isalpha():
        base = "c_" + base
    return base[:40]


def groups_for(database: str) -> Groups:
    base = role_base(database)
    return Groups(
        window=f"{base}_window",
        supervisor=f"{base}_supervisor",
        agent=f"{base}_agent",
        back_office=f"{base}_back_office",
    )


def default_window_login(database: str, hall_code: str, window_code: str) -> str:
    return f"{role_base(database)}_{hall_code.lower()}_{window_code.lower()}"


def _check_codes(hall_code: str, window_code: str | None) -> None:
    if not _CODE.match(hall_code):
        raise GrantError(f"大厅代码 {hall_code!r} 不合法：只能是 1–8 位字母或数字，例如 LC")
    if window_code is not None and not _CODE.match(window_code):
        raise GrantError(f"窗口编号 {window_code!r} 不合法：只能是 1–8 位字母或数字，例如 A05")


def _check_login_name(login: str) -> None:
    if not _ROLE.match(login):
        raise GrantError(
            f"登录名 {login!r} 不合法：以小写字母或下划线开头，只含小写字母、数字和下划线，"
            "最长 63 个字符（可用 --login 指定）"
        )


def _require_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise GrantError(
            "只有 PostgreSQL 中心库有数据库角色；SQLite 中心库靠文件权限保护，"
            "请只让中心电脑的管理员能写该文件"
        )


# ------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class TablePlan:
    facts: tuple[str, ...]
    reference: tuple[str, ...]
    bookkeeping: tuple[str, ...]
    versions: tuple[str, ...]
    columns: dict[str, frozenset[str]]


def table_plan(conn: Connection) -> TablePlan:
    """The central tables, sorted by what they are (recognised by their columns)."""
    insp = inspect(conn)
    facts, reference, books, versions = [], [], [], []
    columns: dict[str, frozenset[str]] = {}
    for name in sorted(insp.get_table_names()):
        cols = frozenset(c["name"] for c in insp.get_columns(name))
        columns[name] = cols
        if name in _BOOKKEEPING:
            books.append(name)
        elif _VERSION_TABLE.match(name):
            versions.append(name)
        elif HALL in cols and "origin_window" in cols:
            facts.append(name)
        elif HALL in cols:
            reference.append(name)
        else:
            log.info("central roles: table %s gets no privilege (not a known kind)", name)
    return TablePlan(tuple(facts), tuple(reference), tuple(books), tuple(versions), columns)


def _window_match(cols: frozenset[str]) -> str:
    """The row belongs to the current window login: its hall, origin and window."""
    conds = [f"{HALL} = {OWN_HALL}"]
    if "origin_window" in cols:
        conds.append(f"origin_window = {OWN_WINDOW}")
    if "window_code" in cols:
        conds.append(f"window_code = {OWN_WINDOW}")
    return " AND ".join(conds)


def _supervisor_hall() -> str:
    # NULL hall in central_logins: a county or province supervisor (every hall).
    return f"{OWN_KIND} = 'supervisor' AND {HALL} = coalesce({OWN_HALL}, {HALL})"


def _policy(conn: Connection, table: str, name: str, spec: str) -> None:
    conn.exec_driver_sql(f"DROP POLICY IF EXISTS {_q(name)} ON {_q(table)}")
    conn.exec_driver_sql(f"CREATE POLICY {_q(name)} ON {_q(table)} {spec}")


def prepare_roles(conn: Connection) -> Groups:
    """Create (or bring up to date) the group roles, the logins table, row-level
    security and every grant on the central store's tables. Idempotent: run it
    again after ``central init`` has added tables."""
    database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
    groups = groups_for(str(database))
    for role in (groups.window, groups.supervisor, groups.agent, groups.back_office):
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).scalar()
        if not exists:
            conn.exec_driver_sql(f"CREATE ROLE {_q(role)} NOLOGIN")
    conn.exec_driver_sql(
        f"""CREATE TABLE IF NOT EXISTS {LOGINS_TABLE} (
            role_name varchar(63) PRIMARY KEY,
            kind varchar(20) NOT NULL CHECK (kind IN ('window', 'supervisor')),
            {HALL} varchar(8),
            window_code varchar(8),
            granted_at timestamptz NOT NULL DEFAULT now(),
            CHECK (kind = 'supervisor' OR ({HALL} IS NOT NULL AND window_code IS NOT NULL))
        )"""
    )
    # Back-office logins (hallapp.bundles) are tied to a department of a hall,
    # agent logins (hallapp.projects) to a staff member: see _login_kinds.
    conn.exec_driver_sql(
        f"ALTER TABLE {LOGINS_TABLE} ADD COLUMN IF NOT EXISTS department_code varchar(32)"
    )
    _agent_logins(conn)
    w, s = _q(groups.window), _q(groups.supervisor)
    db = _q(str(database))
    # Only HallApp's own roles may connect to this database (superusers always can).
    conn.exec_driver_sql(f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC")
    # TEMPORARY: the bulk path COPYs into a temporary staging table.
    a = _q(groups.agent)
    conn.exec_driver_sql(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {w}, {s}")
    conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {db} TO {a}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {w}, {s}, {a}")

    plan = table_plan(conn)
    for table in (*plan.facts, *plan.reference, *plan.bookkeeping, *plan.versions):
        conn.exec_driver_sql(f"REVOKE ALL ON {_q(table)} FROM {w}, {s}, {a}")

    for table in plan.versions:
        conn.exec_driver_sql(f"GRANT SELECT ON {_q(table)} TO {w}, {s}, {a}")

    for table in plan.facts:
        t, cols = _q(table), plan.columns[table]
        conn.exec_driver_sql(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        if table in PROJECT_TABLES:
            _project_policies(conn, table, groups, supervisor_hall=_supervisor_hall())
            continue
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {t} TO {w}")
        mine = _window_match(cols)
        # What the centre wrote for this window (follow-up steps, appeal
        # decisions) is readable too: its outbox row names the window.
        for_me = (
            f"id IN (SELECT o.row_id FROM centre_outbox o WHERE o.{HALL} = {OWN_HALL} "
            f"AND o.window_code = {OWN_WINDOW} AND o.table_name = {_lit(table)})"
            if "centre_outbox" in plan.columns
            else "false"
        )
        _policy(conn, table, "hallapp_window_insert", f"FOR INSERT TO {w} WITH CHECK ({mine})")
        _policy(
            conn,
            table,
            "hallapp_window_select",
            f"FOR SELECT TO {w} USING (({mine}) OR ({HALL} = {OWN_HALL} AND {for_me}))",
        )
        conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {s}")
        _policy(
            conn,
            table,
            "hallapp_supervisor_select",
            f"FOR SELECT TO {s} USING ({_supervisor_hall()})",
        )
        if table in SUPERVISOR_INSERTS:
            conn.exec_driver_sql(f"GRANT INSERT ON {t} TO {s}")
            _policy(
                conn,
                table,
                "hallapp_supervisor_insert",
                f"FOR INSERT TO {s} WITH CHECK ({_supervisor_hall()} "
                f"AND origin_window = {_lit(CENTRE_ORIGIN)})",
            )

    for table in plan.reference:
        t = _q(table)
        conn.exec_driver_sql(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {w}, {s}, {a}")
        _policy(
            conn, table, "hallapp_window_select", f"FOR SELECT TO {w} USING ({HALL} = {OWN_HALL})"
        )
        _policy(
            conn, table, "hallapp_agent_select", f"FOR SELECT TO {a} USING ({HALL} = {OWN_HALL})"
        )
        _policy(
            conn,
            table,
            "hallapp_supervisor_select",
            f"FOR SELECT TO {s} USING ({_supervisor_hall()})",
        )

    for table in plan.bookkeeping:
        t, cols = _q(table), plan.columns[table]
        readable, writes, window_col = _BOOKKEEPING[table]
        if table == LOGINS_TABLE:
            # Each login reads its own row only (the policies look it up).
            conn.exec_driver_sql(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
            conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {w}, {s}, {a}")
            _policy(conn, table, "hallapp_own_login", "FOR SELECT USING (role_name = current_user)")
            continue
        if HALL not in cols:
            # Hall-less metadata (the schema version): readable, never writable.
            conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {w}, {s}, {a}")
            continue
        conn.exec_driver_sql(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
        mine = f"{HALL} = {OWN_HALL}" + (
            f" AND {window_col} = {OWN_WINDOW}" if window_col and window_col in cols else ""
        )
        privileges = ", ".join(("SELECT",) * readable + writes)
        conn.exec_driver_sql(f"GRANT {privileges} ON {t} TO {w}")
        _policy(
            conn, table, "hallapp_window_rows", f"FOR ALL TO {w} USING ({mine}) WITH CHECK ({mine})"
        )
        conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {s}")
        _policy(
            conn,
            table,
            "hallapp_supervisor_select",
            f"FOR SELECT TO {s} USING ({_supervisor_hall()})",
        )
        if table in SUPERVISOR_INSERTS:
            conn.exec_driver_sql(f"GRANT INSERT ON {t} TO {s}")
            _policy(
                conn,
                table,
                "hallapp_supervisor_insert",
                f"FOR INSERT TO {s} WITH CHECK ({_supervisor_hall()})",
            )

    _back_office_policies(conn, groups, plan)

    # Serial columns of what each group may insert into need their sequence.
    for table, group in [(t, w) for t in plan.facts + plan.bookkeeping] + [
        (t, s) for t in SUPERVISOR_INSERTS if t in plan.columns
    ]:
        for col in plan.columns[table]:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": col}
            ).scalar()
            if seq:
                conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {seq} TO {group}")
    return groups


def _back_office_policies(conn: Connection, groups: Groups, plan: TablePlan) -> None:
    """A department's back office: its own sub-cases only (see the module's docstring)."""
    b = _q(groups.back_office)
    db = _q(str(conn.exec_driver_sql("SELECT current_database()").scalar_one()))
    conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {db} TO {b}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {b}")
    for table in (*plan.facts, *plan.reference, *plan.bookkeeping, *plan.versions):
        conn.exec_driver_sql(f"REVOKE ALL ON {_q(table)} FROM {b}")
    for table in plan.versions:
        conn.exec_driver_sql(f"GRANT SELECT ON {_q(table)} TO {b}")
    if "bundle_case_members" not in plan.columns:
        return
    own_hall = f"{HALL} = {OWN_HALL} AND {OWN_KIND} = 'back_office'"
    members = (
        f"SELECT m.case_id FROM bundle_case_members m WHERE m.{HALL} = {OWN_HALL} "
        f"AND m.department_code = {OWN_DEPARTMENT}"
    )
    bundles = (
        f"SELECT m.bundle_case_id FROM bundle_case_members m WHERE m.{HALL} = {OWN_HALL} "
        f"AND m.department_code = {OWN_DEPARTMENT}"
    )
    readable = {
        "bundle_case_members": f"department_code = {OWN_DEPARTMENT}",
        "cases": f"id IN ({members})",
        "case_events": f"case_id IN ({members})",
        "bundle_cases": f"id IN ({bundles})",
        "applicants": (
            f"id IN (SELECT c.applicant_id FROM cases c WHERE c.{HALL} = {OWN_HALL} "
            f"AND c.id IN ({members}))"
        ),
    }
    for table, rows in readable.items():
        if table not in plan.columns:
            continue
        conn.exec_driver_sql(f"GRANT SELECT ON {_q(table)} TO {b}")
        _policy(
            conn,
            table,
            "hallapp_back_office_select",
            f"FOR SELECT TO {b} USING ({own_hall} AND {rows})",
        )
    kinds = ", ".join(_lit(k) for k in BACK_OFFICE_EVENT_KINDS)
    conn.exec_driver_sql(f"GRANT INSERT ON case_events TO {b}")
    _policy(
        conn,
        "case_events",
        "hallapp_back_office_insert",
        f"FOR INSERT TO {b} WITH CHECK ({own_hall} AND origin_window = {_lit(CENTRE_ORIGIN)} "
        f"AND kind IN ({kinds}) AND case_id IN ({members}))",
    )
    for table in plan.reference:
        conn.exec_driver_sql(f"GRANT SELECT ON {_q(table)} TO {b}")
        _policy(conn, table, "hallapp_back_office_select", f"FOR SELECT TO {b} USING ({own_hall})")
    conn.exec_driver_sql(f"GRANT SELECT ON {LOGINS_TABLE} TO {b}")
    if "centre_outbox" in plan.columns:
        # INSERT … RETURNING seq (SQLAlchemy) needs the new row readable too.
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON centre_outbox TO {b}")
        own_event = (
            f"{own_hall} AND table_name = 'case_events' AND row_id IN (SELECT e.id FROM "
            f"case_events e WHERE e.{HALL} = {OWN_HALL} AND e.case_id IN ({members}))"
        )
        _policy(
            conn,
            "centre_outbox",
            "hallapp_back_office_insert",
            f"FOR INSERT TO {b} WITH CHECK ({own_event})",
        )
        _policy(
            conn,
            "centre_outbox",
            "hallapp_back_office_select",
            f"FOR SELECT TO {b} USING ({own_event})",
        )
        for col in plan.columns["centre_outbox"]:
            seq = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": "centre_outbox", "c": col}
            ).scalar()
            if seq:
                conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {seq} TO {b}")


def grant_back_office(
    engine: Engine, hall_code: str, department_code: str, password: str, *, login: str | None = None
) -> GrantedLogin:
    """A login for one department's back office of one hall (hallapp.bundles)."""
    _require_postgres(engine)
    _check_codes(hall_code, None)
    if not re.fullmatch(r"[A-Za-z0-9_\-.]{1,32}", department_code):
        raise GrantError(f"部门编码 {department_code!r} 不合法")
    _check_password(password)
    database = str(engine.url.database)
    login = login or (
        f"{role_base(database)}_{hall_code.lower()}_bo_"
        + re.sub(r"[^a-z0-9_]", "_", department_code.lower())
    )
    _check_login_name(login)
    with engine.begin() as conn:
        if inspect(conn).has_table("departments"):
            known = conn.execute(
                text(f"SELECT 1 FROM departments WHERE {HALL} = :h AND code = :d"),
                {"h": hall_code, "d": department_code},
            ).scalar()
            if not known:
                raise GrantError(
                    f"中心库没有大厅 {hall_code} 的部门 {department_code}："
                    "请先导入事项清单（含部门）"
                )
        groups = prepare_roles(conn)
        _upsert_login(
            conn,
            login=login,
            group=groups.back_office,
            password=password,
            kind="back_office",
            hall_code=hall_code,
            window_code=None,
            department_code=department_code,
        )
        bound = conn.execute(
            text(f"SELECT department_code FROM {LOGINS_TABLE} WHERE role_name = :r"), {"r": login}
        ).scalar()
        if bound != department_code:
            raise GrantError(f"登录 {login} 已发给部门 {bound}，不能改发给别的部门")
    log.info(
        "central roles: back-office login %s granted for %s/%s", login, hall_code, department_code
    )
    return GrantedLogin(login, groups.back_office, hall_code, None)


def _agent_logins(conn: Connection) -> None:
    """central_logins also holds 代办员 logins (their hall and staff id, no
    window) and back-office logins (their hall and department)."""
    conn.exec_driver_sql(
        f"ALTER TABLE {LOGINS_TABLE} ADD COLUMN IF NOT EXISTS staff_id varchar(36)"
    )
    for name in ("central_logins_kind_check", "central_logins_check"):
        conn.exec_driver_sql(f"ALTER TABLE {LOGINS_TABLE} DROP CONSTRAINT IF EXISTS {name}")
    conn.exec_driver_sql(
        f"ALTER TABLE {LOGINS_TABLE} ADD CONSTRAINT central_logins_kind_check "
        "CHECK (kind IN ('window', 'supervisor', 'back_office', 'agent'))"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE {LOGINS_TABLE} ADD CONSTRAINT central_logins_check CHECK ("
        f"(kind <> 'window' OR ({HALL} IS NOT NULL AND window_code IS NOT NULL)) AND "
        f"(kind <> 'back_office' OR ({HALL} IS NOT NULL AND department_code IS NOT NULL)) AND "
        f"(kind <> 'agent' OR ({HALL} IS NOT NULL AND staff_id IS NOT NULL)))"
    )
    # The projects a 代办员 login works on. SECURITY DEFINER: a policy on
    # key_projects that read key_projects and project_agents under their own
    # policies would recurse. It answers only for the session's own login
    # (pg_has_role), so no login can ask about another agent's projects.
    if not inspect(conn).has_table("key_projects"):
        return
    conn.exec_driver_sql(
        f"""CREATE OR REPLACE FUNCTION hallapp_agent_projects(who name, lead_only boolean)
        RETURNS SETOF varchar LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = {DEFINER_SEARCH_PATH} AS $$
            SELECT k.id FROM key_projects k JOIN {LOGINS_TABLE} l
              ON l.role_name = who AND l.kind = 'agent' AND k.{HALL} = l.{HALL}
            WHERE pg_has_role(session_user, who, 'MEMBER')
              AND (k.agent_id = l.staff_id OR (NOT lead_only AND k.id IN (
                  SELECT p.project_id FROM project_agents p
                  WHERE p.{HALL} = l.{HALL} AND p.staff_id = l.staff_id)))
        $$"""
    )
    conn.exec_driver_sql("REVOKE ALL ON FUNCTION hallapp_agent_projects(name, boolean) FROM PUBLIC")


def _project_policies(
    conn: Connection, table: str, groups: Groups, *, supervisor_hall: str
) -> None:
    """Key projects' facts: supervisors read and add (as the centre), a 代办员
    reads its projects' rows and adds what its part allows; windows nothing."""
    t, s, a = _q(table), _q(groups.supervisor), _q(groups.agent)
    centre = f"origin_window = {_lit(CENTRE_ORIGIN)}"
    conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {t} TO {s}")
    _policy(
        conn, table, "hallapp_supervisor_select", f"FOR SELECT TO {s} USING ({supervisor_hall})"
    )
    _policy(
        conn,
        table,
        "hallapp_supervisor_insert",
        f"FOR INSERT TO {s} WITH CHECK ({supervisor_hall} AND {centre})",
    )
    conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {t} TO {a}")
    conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION hallapp_agent_projects(name, boolean) TO {a}")
    key = "id" if table == "key_projects" else "project_id"
    works_on = f"{key} IN (SELECT hallapp_agent_projects(current_user, false))"
    _policy(conn, table, "hallapp_agent_select", f"FOR SELECT TO {a} USING ({works_on})")
    if table == "key_projects":
        allowed = f"agent_id = {OWN_STAFF}"  # registers only as its 一级代办员
    elif table in _LEAD_ONLY:
        allowed = "project_id IN (SELECT hallapp_agent_projects(current_user, true))"
    else:
        allowed = works_on
    if table == "agent_surveys":
        # A paper survey is never entered by the 代办员 it rates.
        allowed += " AND (entered_by IS NULL OR entered_by IS DISTINCT FROM agent_id)"
    _policy(
        conn,
        table,
        "hallapp_agent_insert",
        f"FOR INSERT TO {a} WITH CHECK ({HALL} = {OWN_HALL} AND {centre} AND ({allowed}))",
    )


def refresh_roles(conn: Connection) -> bool:
    """Bring the grants and policies up to date if logins were ever granted
    here (``central init`` calls it after adding tables). False if not."""
    if conn.dialect.name != "postgresql":
        return False
    database = str(conn.exec_driver_sql("SELECT current_database()").scalar_one())
    exists = conn.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": groups_for(database).window}
    ).scalar()
    if not exists:
        return False
    prepare_roles(conn)
    return True


# ------------------------------------------------------------------- logins


def _verifier(conn: Connection, login: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of the password, computed here by libpq."""
    raw: Any = conn.connection.dbapi_connection
    pgconn = raw.pgconn
    return bytes(
        pgconn.encrypt_password(password.encode("utf-8"), login.encode("utf-8"), b"scram-sha-256")
    ).decode("ascii")


def _check_password(password: str) -> None:
    if len(password) < 12:
        raise GrantError("口令太短：至少 12 个字符（建议用随机生成的口令写入 pgpass 文件）")
    if any(ch in password for ch in "\r\n\0"):
        raise GrantError("口令不能含换行或空字符")


def _upsert_login(
    conn: Connection,
    *,
    login: str,
    group: str,
    password: str,
    kind: str,
    hall_code: str | None,
    window_code: str | None,
    department_code: str | None = None,
    staff_id: str | None = None,
) -> None:
    verifier = _verifier(conn, login, password)
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}).scalar()
    if exists:
        other = conn.execute(
            text(f"SELECT kind, {HALL}, window_code FROM {LOGINS_TABLE} WHERE role_name = :r"),
            {"r": login},
        ).first()
        if other is None:
            raise GrantError(
                f"数据库角色 {login} 已存在，但不是本中心库发放的登录；请换一个登录名（--login）"
            )
        if tuple(other) != (kind, hall_code, window_code):
            raise GrantError(
                f"登录 {login} 已发给 {other[1] or '全部大厅'} {other[2] or '监督'}，"
                "不能改发给别的窗口；请先收回（central revoke-login）或换一个登录名"
            )
        conn.exec_driver_sql(f"ALTER ROLE {_q(login)} LOGIN PASSWORD {_lit(verifier)}")
    else:
        conn.exec_driver_sql(
            f"CREATE ROLE {_q(login)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOREPLICATION NOBYPASSRLS PASSWORD {_lit(verifier)}"
        )
    conn.exec_driver_sql(f"GRANT {_q(group)} TO {_q(login)}")
    conn.execute(
        text(
            f"INSERT INTO {LOGINS_TABLE} (role_name, kind, {HALL}, window_code, "
            "department_code, staff_id) VALUES (:r, :k, :h, :w, :d, :s) "
            "ON CONFLICT (role_name) DO NOTHING"
        ),
        {
            "r": login,
            "k": kind,
            "h": hall_code,
            "w": window_code,
            "d": department_code,
            "s": staff_id,
        },
    )


def grant_window(
    engine: Engine,
    hall_code: str,
    window_code: str,
    password: str,
    *,
    login: str | None = None,
    require_known_window: bool = True,
) -> GrantedLogin:
    """A login for one window of one hall (created, or its password changed)."""
    _require_postgres(engine)
    _check_codes(hall_code, window_code)
    _check_password(password)
    database = str(engine.url.database)
    login = login or default_window_login(database, hall_code, window_code)
    _check_login_name(login)
    with engine.begin() as conn:
        if require_known_window and inspect(conn).has_table("windows"):
            known = conn.execute(
                text(f"SELECT 1 FROM windows WHERE {HALL} = :h AND code = :w"),
                {"h": hall_code, "w": window_code},
            ).scalar()
            if not known:
                raise GrantError(
                    f"中心库没有大厅 {hall_code} 的窗口 {window_code}：请先在中心库登记该窗口"
                    "（hallapp central windows add 窗口编号 --name 名称 --department 部门代码），"
                    "再发放登录"
                )
        groups = prepare_roles(conn)
        _upsert_login(
            conn,
            login=login,
            group=groups.window,
            password=password,
            kind="window",
            hall_code=hall_code,
            window_code=window_code,
        )
    log.info("central roles: login %s granted for hall %s window %s", login, hall_code, window_code)
    return GrantedLogin(login, groups.window, hall_code, window_code)


def grant_supervisor(
    engine: Engine, login: str, password: str, *, hall_code: str | None = None
) -> GrantedLogin:
    """A supervisors' login: reads (one hall, or every hall when none is given)
    and writes what supervisors' actions write."""
    _require_postgres(engine)
    if hall_code is not None:
        _check_codes(hall_code, None)
    _check_password(password)
    _check_login_name(login)
    with engine.begin() as conn:
        if hall_code is not None and not _hall_known(conn, hall_code):
            raise GrantError(
                f"中心库中没有大厅 {hall_code}：请检查大厅代码，"
                "或先为该大厅建立部门、工作人员和窗口（hallapp central …）"
            )
        groups = prepare_roles(conn)
        _upsert_login(
            conn,
            login=login,
            group=groups.supervisor,
            password=password,
            kind="supervisor",
            hall_code=hall_code,
            window_code=None,
        )
    log.info("central roles: supervisor login %s granted (hall %s)", login, hall_code or "all")
    return GrantedLogin(login, groups.supervisor, hall_code, None)


def _hall_known(conn: Connection, hall_code: str) -> bool:
    """Whether the centre holds anything of this hall."""
    return any(
        conn.execute(
            text(f"SELECT 1 FROM {table} WHERE {HALL} = :h LIMIT 1"), {"h": hall_code}
        ).first()
        for table in ("ref_versions", "staff", "windows", "departments")
    )


def grant_agent(
    engine: Engine, login: str, password: str, *, hall_code: str, staff_no: str
) -> GrantedLogin:
    """A login for one 代办员 (a staff member of the hall with the role ``agent``)."""
    _require_postgres(engine)
    _check_codes(hall_code, None)
    _check_password(password)
    _check_login_name(login)
    with engine.begin() as conn:
        staff_id = conn.execute(
            text(f"SELECT id FROM staff WHERE {HALL} = :h AND staff_no = :n AND role = 'agent'"),
            {"h": hall_code, "n": staff_no},
        ).scalar()
        if staff_id is None:
            raise GrantError(
                f"大厅 {hall_code} 没有工号为 {staff_no} 的代办员：请先在中心库以 agent 角色添加"
            )
        groups = prepare_roles(conn)
        _upsert_login(
            conn,
            login=login,
            group=groups.agent,
            password=password,
            kind="agent",
            hall_code=hall_code,
            window_code=None,
            staff_id=str(staff_id),
        )
        other = conn.execute(
            text(f"SELECT staff_id FROM {LOGINS_TABLE} WHERE role_name = :r"), {"r": login}
        ).scalar()
        if other != staff_id:
            raise GrantError(f"登录 {login} 已发给另一位代办员；请先收回或换一个登录名")
    log.info(
        "central roles: agent login %s granted (hall %s, staff %s)", login, hall_code, staff_no
    )
    return GrantedLogin(login, groups.agent, hall_code, None)


def revoke_login(engine: Engine, login: str) -> bool:
    """Remove a login granted here; False if there was none."""
    _require_postgres(engine)
    _check_login_name(login)
    with engine.begin() as conn:
        if not inspect(conn).has_table(LOGINS_TABLE):
            return False
        gone = conn.execute(
            text(f"DELETE FROM {LOGINS_TABLE} WHERE role_name = :r RETURNING role_name"),
            {"r": login},
        ).first()
        if gone is None:
            return False
        conn.exec_driver_sql(f"DROP OWNED BY {_q(login)}")
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {_q(login)}")
    log.info("central roles: login %s revoked", login)
    return True


def drop_all_roles(engine: Engine) -> list[str]:
    """Drop every login and group role this central store made (before dropping
    the database: roles outlive it). Returns the names dropped."""
    database = str(engine.url.database)
    groups = groups_for(database)
    dropped: list[str] = []
    with engine.begin() as conn:
        logins: list[str] = []
        if inspect(conn).has_table(LOGINS_TABLE):
            logins = list(conn.execute(text(f"SELECT role_name FROM {LOGINS_TABLE}")).scalars())
        for role in [*logins, groups.window, groups.supervisor, groups.agent, groups.back_office]:
            if conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).scalar():
                conn.exec_driver_sql(f"DROP OWNED BY {_q(role)}")
                conn.exec_driver_sql(f"DROP ROLE {_q(role)}")
                dropped.append(role)
    return dropped


def login_url(central_url: str, login: str) -> str:
    """The central URL a window or supervisor connects with: the login as the
    user and no password (libpq finds it in PGPASSWORD or the pgpass file)."""
    u = url_without_password(central_url).set(username=login)
    return u.render_as_string(hide_password=False)


def pgpass_line(central_url: str, login: str, password: str) -> str:
    """One line of a pgpass file for this login (``:`` and ``\\`` escaped)."""
    u = make_url(central_url)

    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace(":", "\\:")

    return ":".join(
        esc(v)
        for v in (u.host or "localhost", str(u.port or 5432), u.database or "*", login, password)
    )
