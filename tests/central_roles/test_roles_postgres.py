"""A window's and a supervisor's logins at a real PostgreSQL central store.

Every test connects as the login under test (not as the owner) and runs one
statement in a transaction that is rolled back: what is allowed succeeds,
each forbidden statement is refused by the server. The positive controls
matter: a refusal only means something if the same login can do what it
should.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import psycopg
import pytest
from psycopg import errors

pytestmark = pytest.mark.postgres

CASE_COLS = (
    "hall_code, id, origin_window, created_at, case_no, item_code, applicant_id, "
    "window_code, department_code, first_responder_id"
)


def _case(hall: str, origin: str, window: str, tag: str) -> str:
    return (
        f"INSERT INTO cases ({CASE_COLS}) VALUES ('{hall}', 'new-{tag}', '{origin}', "
        f"'2026-11-21T10:00:00Z', 'new-{tag}', 'ZJ-001', 'ap-LC-A05', '{window}', 'ZJJ', "
        f"'staff-{hall}')"
    )


def _follow_up(origin: str, hall: str = "LC", evaluation: str = "ev-LC-A05") -> str:
    return (
        "INSERT INTO follow_up_steps (hall_code, id, origin_window, created_at, evaluation_id, "
        f"kind, staff_id, note, due_on) VALUES ('{hall}', 'fu-{origin}-{hall}', '{origin}', now(), "
        f"'{evaluation}', 'verified', NULL, '核实', NULL)"
    )


def _event(case_id: str, kind: str = "completed") -> str:
    return (
        "INSERT INTO case_events (hall_code, id, origin_window, created_at, case_id, seq, kind, "
        f"staff_id, data) VALUES ('LC', 'ce-{case_id}', 'A05', now(), '{case_id}', 9, '{kind}', "
        "'staff-LC', '{}')"
    )


def _bad_review(case_id: str) -> str:
    return (
        "INSERT INTO evaluations (hall_code, id, origin_window, created_at, case_id, case_no, "
        "item_code, window_code, staff_id, department_code, channel, device, level, reasons, "
        f"applicant_kind) VALUES ('LC', 'ev-x-{case_id}', 'A05', now(), '{case_id}', 'x', "
        "'ZJ-001', 'A05', 'staff-LC', 'ZJJ', 'window_evaluator', '', 1, '[\"态度\"]', 'person')"
    )


def _run(central, login: str, sql: str) -> list[tuple]:
    """Run one statement as ``login`` in a transaction that is rolled back."""
    with central.connect(login) as conn:
        try:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []
        finally:
            conn.rollback()


# --------------------------------------------------------------- a window: allowed


def test_window_adds_its_own_facts(central):
    _run(central, central.window.login, _case("LC", "A05", "A05", "own"))
    # What names a record names one of its own window.
    _run(central, central.window.login, _event("case-LC-A05"))
    _run(central, central.window.login, _bad_review("case-LC-A05"))
    _run(central, central.window.login, _follow_up("A05"))


def test_window_retried_batch_is_a_no_op(central):
    sql = _case("LC", "A05", "A05", "dup")
    with central.connect(central.window.login) as conn:
        conn.execute(sql)
        conn.execute(sql + " ON CONFLICT DO NOTHING")
        assert conn.execute("SELECT count(*) FROM cases WHERE id = 'new-dup'").fetchone() == (1,)
        conn.rollback()


def test_window_bulk_path_copy_to_staging_then_insert_select(central):
    with central.connect(central.window.login) as conn:
        conn.execute("CREATE TEMP TABLE stage (LIKE cases INCLUDING DEFAULTS) ON COMMIT DROP")
        with conn.cursor().copy(f"COPY stage ({CASE_COLS}) FROM STDIN") as copy:
            for i in range(100):
                copy.write_row(
                    (
                        "LC",
                        f"bulk-{i}",
                        "A05",
                        "2026-11-21T10:00:00Z",
                        f"bulk-{i}",
                        "ZJ-001",
                        "ap-LC-A05",
                        "A05",
                        "ZJJ",
                        "staff-LC",
                    )
                )
        n = conn.execute("INSERT INTO cases SELECT * FROM stage ON CONFLICT DO NOTHING").rowcount
        assert n == 100
        conn.rollback()


def test_window_reads_its_own_facts_only(central):
    rows = _run(central, central.window.login, "SELECT hall_code, origin_window FROM cases")
    assert rows == [("LC", "A05")]
    rows = _run(central, central.window.login, "SELECT id FROM evaluations")
    assert rows == [("ev-LC-A05",)]


def test_window_reads_the_reference_data_of_its_hall_only(central):
    rows = _run(central, central.window.login, "SELECT hall_code, code FROM windows ORDER BY code")
    assert rows == [("LC", "A05"), ("LC", "A06")]
    assert _run(central, central.window.login, "SELECT hall_code FROM staff") == [("LC",)]
    assert _run(central, central.window.login, "SELECT count(*) FROM service_items") == [(1,)]


def test_window_reads_the_schema_version(central):
    rows = _run(central, central.window.login, "SELECT value FROM central_meta")
    assert rows


def test_window_sees_what_the_centre_wrote_for_it(central):
    # A supervisor's follow-up step for A05's evaluation, with its outbox row.
    with central.admin.begin() as c:
        c.exec_driver_sql(_follow_up("@centre"))
        c.exec_driver_sql(
            "INSERT INTO centre_outbox (hall_code, window_code, table_name, row_id) "
            "VALUES ('LC', 'A05', 'follow_up_steps', 'fu-@centre-LC')"
        )
    try:
        assert _run(central, central.window.login, "SELECT id FROM follow_up_steps") == [
            ("fu-@centre-LC",)
        ]
        assert _run(central, central.other_window.login, "SELECT id FROM follow_up_steps") == []
    finally:
        # Clean up as the owner (the append-only guard, if any, is the
        # centre's own; the owner's test cleanup goes around it).
        with central.admin.begin() as c:
            c.exec_driver_sql("SET session_replication_role = replica")
            c.exec_driver_sql("DELETE FROM follow_up_steps WHERE id = 'fu-@centre-LC'")
            c.exec_driver_sql("DELETE FROM centre_outbox WHERE row_id = 'fu-@centre-LC'")


# ------------------------------------------------------------ a window: forbidden

FORBIDDEN_FOR_WINDOW = {
    "update own case": (
        "UPDATE cases SET item_code = 'X' WHERE id = 'case-LC-A05'",
        errors.InsufficientPrivilege,
    ),
    "update own evaluation level": (
        "UPDATE evaluations SET level = 5 WHERE id = 'ev-LC-A05'",
        errors.InsufficientPrivilege,
    ),
    "delete own evaluation": (
        "DELETE FROM evaluations WHERE id = 'ev-LC-A05'",
        errors.InsufficientPrivilege,
    ),
    "delete own case": ("DELETE FROM cases", errors.InsufficientPrivilege),
    "truncate facts": ("TRUNCATE evaluations", errors.InsufficientPrivilege),
    "truncate reference": ("TRUNCATE staff CASCADE", errors.InsufficientPrivilege),
    "insert fact of another window": (
        _case("LC", "A06", "A06", "other"),
        errors.InsufficientPrivilege,
    ),
    "insert fact of another hall": (
        _case("LD", "A05", "A05", "hall"),
        errors.InsufficientPrivilege,
    ),
    "insert own origin for another window's counter": (
        _case("LC", "A05", "A06", "mixed"),
        errors.InsufficientPrivilege,
    ),
    "insert as the centre": (_follow_up("@centre"), errors.InsufficientPrivilege),
    "insert reference data": (
        "INSERT INTO departments (hall_code, code, name, phone, address, duties) "
        "VALUES ('LC', 'NEW', '新部门', '', '', '')",
        errors.InsufficientPrivilege,
    ),
    "update staff password hash": (
        "UPDATE staff SET password_hash = 'mine'",
        errors.InsufficientPrivilege,
    ),
    "enable a disabled clerk": ("UPDATE staff SET active = true", errors.InsufficientPrivilege),
    "delete catalog": ("DELETE FROM service_items", errors.InsufficientPrivilege),
    "write the schema version": (
        "UPDATE central_meta SET value = 'x'",
        errors.InsufficientPrivilege,
    ),
    "write the reference version": (
        "UPDATE ref_versions SET version = 0",
        errors.InsufficientPrivilege,
    ),
    "address a fact to a window": (
        "INSERT INTO centre_outbox (hall_code, window_code, table_name, row_id) "
        "VALUES ('LC', 'A05', 'cases', 'x')",
        errors.InsufficientPrivilege,
    ),
    "grant itself another window": (
        "INSERT INTO central_logins (role_name, kind, hall_code, window_code) "
        "VALUES ('x', 'window', 'LC', 'A06')",
        errors.InsufficientPrivilege,
    ),
    "move its login to another window": (
        "UPDATE central_logins SET window_code = 'A06'",
        errors.InsufficientPrivilege,
    ),
    "copy straight into a fact table": (
        f"COPY cases ({CASE_COLS}) FROM STDIN",
        errors.FeatureNotSupported,  # COPY FROM under row-level security
    ),
    "create a table": ("CREATE TABLE mine (x int)", errors.InsufficientPrivilege),
    "drop a fact table": ("DROP TABLE cases", errors.InsufficientPrivilege),
    "turn row security off": (
        "ALTER TABLE cases DISABLE ROW LEVEL SECURITY",
        errors.InsufficientPrivilege,
    ),
    "turn the guards off": (
        "ALTER TABLE evaluations DISABLE TRIGGER ALL",
        errors.InsufficientPrivilege,
    ),
    "drop a policy": (
        "DROP POLICY hallapp_window_insert ON cases",
        errors.InsufficientPrivilege,
    ),
    # A fact of its own origin about another window's record: completing its
    # overdue case, a 差评 against its clerk, a follow-up on its evaluation.
    "complete another window's case": (_event("case-LC-A06"), errors.RaiseException),
    "a bad review on another window's case": (
        _bad_review("case-LC-A06"),
        errors.RaiseException,
    ),
    "a follow-up step on another window's evaluation": (
        _follow_up("A05", evaluation="ev-LC-A06"),
        errors.RaiseException,
    ),
    "become a supervisor": (None, errors.InsufficientPrivilege),  # SET ROLE, below
    "create a role": ("CREATE ROLE intruder", errors.InsufficientPrivilege),
    "read password verifiers": ("SELECT rolpassword FROM pg_authid", errors.InsufficientPrivilege),
}

# Why each is refused: row security for a row of someone else, ownership for
# DDL, missing privileges for everything else.
_REASON = {
    what: (
        "violates row-level security policy"
        if what
        in {
            "insert as the centre",
            "insert fact of another hall",
            "insert fact of another window",
            "insert own origin for another window's counter",
        }
        else "must be owner"
        if what
        in {"drop a fact table", "drop a policy", "turn row security off", "turn the guards off"}
        else "COPY FROM not supported with row-level security"
        if what == "copy straight into a fact table"
        else "is of window A06"
        if what
        in {
            "complete another window's case",
            "a bad review on another window's case",
            "a follow-up step on another window's evaluation",
        }
        else "permission denied"
    )
    for what in FORBIDDEN_FOR_WINDOW
}


@pytest.mark.parametrize("what", sorted(FORBIDDEN_FOR_WINDOW))
def test_window_is_refused(central, what):
    sql, error = FORBIDDEN_FOR_WINDOW[what]
    if sql is None:
        sql = f'SET ROLE "{central.supervisor.group}"'
    # The reason, not just the class: a refusal for another cause (a typo,
    # a missing column) would prove nothing.
    with pytest.raises(error, match=_REASON[what]):
        _run(central, central.window.login, sql)


def test_window_cannot_see_other_windows_facts(central):
    for table in ("cases", "evaluations", "applicants"):
        rows = _run(
            central,
            central.window.login,
            f"SELECT count(*) FROM {table} WHERE origin_window <> 'A05' OR hall_code <> 'LC'",
        )
        assert rows == [(0,)], table


def test_window_cannot_see_other_logins(central):
    rows = _run(central, central.window.login, "SELECT role_name FROM central_logins")
    assert rows == [(central.window.login,)]


def test_window_group_role_itself_can_add_nothing(central):
    # SET ROLE to the group drops the login's identity: the policies find no
    # hall or window for it and refuse.
    with central.connect(central.window.login) as conn:
        conn.execute(f'SET ROLE "{central.window.group}"')
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(_case("LC", "A05", "A05", "asgroup"))
        conn.rollback()


def test_a_role_not_granted_here_cannot_connect(central):
    import uuid

    stranger = f"stranger_{uuid.uuid4().hex[:10]}"
    with central.admin.connect() as c:
        c.exec_driver_sql(f'CREATE ROLE "{stranger}" LOGIN')
        c.commit()
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            central.connect(stranger)
    finally:
        with central.admin.connect() as c:
            c.exec_driver_sql(f'DROP ROLE "{stranger}"')
            c.commit()


# ------------------------------------------------------------------ supervisors


def test_supervisor_reads_every_hall(central):
    rows = _run(
        central,
        central.supervisor.login,
        "SELECT hall_code, origin_window FROM cases ORDER BY 1, 2",
    )
    assert rows == [("LC", "A05"), ("LC", "A06"), ("LD", "A05")]


def test_hall_supervisor_reads_one_hall(central):
    rows = _run(
        central, central.hall_supervisor.login, "SELECT DISTINCT hall_code FROM evaluations"
    )
    assert rows == [("LC",)]
    assert _run(central, central.hall_supervisor.login, "SELECT DISTINCT hall_code FROM staff") == [
        ("LC",)
    ]


def test_supervisor_records_follow_up_and_audit(central):
    with central.connect(central.supervisor.login) as conn:
        conn.execute(_follow_up("@centre", hall="LD", evaluation="ev-LD-A05"))
        conn.execute(
            "INSERT INTO audit_entries (hall_code, id, origin_window, created_at, staff_no, role, "
            "action, target, detail) VALUES ('LD', 'au-1', '@centre', now(), '9001', "
            "'supervisor', 'follow_up', 'ev-LD-A05', '{}')"
        )
        conn.execute(
            "INSERT INTO centre_outbox (hall_code, window_code, table_name, row_id) "
            "VALUES ('LD', 'A05', 'follow_up_steps', 'fu-@centre-LD')"
        )
        conn.rollback()


FORBIDDEN_FOR_SUPERVISOR = {
    "forge a window's fact": (_follow_up("A05"), errors.InsufficientPrivilege),
    "add a case": (_case("LC", "A05", "A05", "sup"), errors.InsufficientPrivilege),
    "change an evaluation": ("UPDATE evaluations SET level = 5", errors.InsufficientPrivilege),
    "delete an evaluation": ("DELETE FROM evaluations", errors.InsufficientPrivilege),
    "truncate": ("TRUNCATE follow_up_steps", errors.InsufficientPrivilege),
    "write reference data": ("UPDATE staff SET active = false", errors.InsufficientPrivilege),
    "grant a login": (
        "INSERT INTO central_logins (role_name, kind) VALUES ('x', 'supervisor')",
        errors.InsufficientPrivilege,
    ),
}


@pytest.mark.parametrize("what", sorted(FORBIDDEN_FOR_SUPERVISOR))
def test_supervisor_is_refused(central, what):
    sql, error = FORBIDDEN_FOR_SUPERVISOR[what]
    with pytest.raises(
        error,
        match="row-level security" if what == "forge a window's fact" else "permission denied",
    ):
        _run(central, central.supervisor.login, sql)


@pytest.mark.parametrize("what", ["forge a window's fact", "change an evaluation"])
def test_a_refusal_by_the_server_is_told_as_a_login_without_the_grant(central, what):
    """Not as a read-only file: the user is told which login to have checked."""
    from hallapp.dberrors import store_error

    sql, error = FORBIDDEN_FOR_SUPERVISOR[what]
    with pytest.raises(error) as refused:
        _run(central, central.supervisor.login, sql)
    text = str(store_error(refused.value))
    assert "数据库服务器拒绝了这项操作" in text and "grant-supervisor" in text
    assert "文件" not in text


def test_hall_supervisor_cannot_act_in_another_hall(central):
    with pytest.raises(errors.InsufficientPrivilege):
        _run(central, central.hall_supervisor.login, _follow_up("@centre", hall="LD"))


# ------------------------------------------------------------------- passwords


def scram_matches(verifier: str, password: str) -> bool:
    """Check a stored SCRAM-SHA-256 verifier against a password (RFC 5802)."""
    scheme, rest = verifier.split("$", 1)
    iter_salt, keys = rest.split("$")
    iterations, salt = iter_salt.split(":")
    stored, _server = keys.split(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return scheme == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(
        stored
    )


def test_login_has_the_given_password(central):
    with central.admin.connect() as c:
        verifier = c.exec_driver_sql(
            f"SELECT rolpassword FROM pg_authid WHERE rolname = '{central.window.login}'"
        ).scalar()
    assert verifier.startswith("SCRAM-SHA-256$")
    assert scram_matches(verifier, central.password)
    assert not scram_matches(verifier, central.password + "x")


def test_central_init_brings_the_grants_up_to_date(seeded_central):
    """A table that an upgrade adds has no grants until the roles are refreshed:
    ``central init`` does it (here the window's grants on cases are taken
    away, as for a table that did not exist when the login was granted)."""
    import sqlalchemy as sa

    from hallapp.sync.centre import init_central
    from hallapp.sync.roles import grant_window

    owner = sa.create_engine(seeded_central)
    granted = grant_window(owner, "LC", "A05", "a-long-enough-password")
    with owner.begin() as c:
        c.exec_driver_sql(f'REVOKE ALL ON cases FROM "{granted.group}"')
        c.exec_driver_sql("DROP POLICY hallapp_window_insert ON cases")
    u = sa.engine.make_url(seeded_central)

    def insert_case() -> None:
        with psycopg.connect(
            host=u.host, port=u.port, dbname=u.database, user=granted.login
        ) as conn:
            conn.execute(_case("LC", "A05", "A05", "upgrade"))
            conn.rollback()

    with pytest.raises(errors.InsufficientPrivilege):
        insert_case()
    init_central(seeded_central)
    insert_case()
    owner.dispose()


def test_a_central_database_with_a_hyphen_in_its_name(central):
    """Database names are identifiers too: ``hall-lc`` must be quoted, and the
    role names derived from it stay plain."""
    import uuid

    import sqlalchemy as sa

    from hallapp.sync.centre import init_central
    from hallapp.sync.roles import drop_all_roles, grant_window

    name = f"hallapp-test-{uuid.uuid4().hex[:8]}"
    admin_url = central.url.rsplit("/", 1)[0] + "/postgres"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = central.url.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url)
    try:
        init_central(url)
        granted = grant_window(
            engine, "LC", "A05", "a-long-enough-password", require_known_window=False
        )
        assert granted.login == f"{name.replace('-', '_')}_lc_a05"
        u = sa.engine.make_url(url)
        with psycopg.connect(host=u.host, port=u.port, dbname=name, user=granted.login) as conn:
            assert conn.execute("SELECT count(*) FROM cases").fetchone() == (0,)
    finally:
        drop_all_roles(engine)
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
