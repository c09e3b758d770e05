"""A real PostgreSQL central store with logins for the role tests.

One database per test module (the statements under test each run in a
transaction that is rolled back, so the tests do not disturb each other),
dropped afterwards together with every role it made: roles are
cluster-wide and outlive the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hallapp.sync import roles

PG_ADMIN_URL = os.environ.get(
    "HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "s3cret-Window-pw-0042"


def _central_schema(engine: sa.Engine) -> None:
    from hallapp.sync.centre import init_central

    init_central(engine.url.render_as_string(hide_password=False))


@dataclass
class Central:
    url: str
    admin: sa.Engine
    database: str
    window: roles.GrantedLogin  # LC A05
    other_window: roles.GrantedLogin  # LC A06
    supervisor: roles.GrantedLogin  # every hall
    hall_supervisor: roles.GrantedLogin  # LC only
    password: str  # the window login's

    def connect(self, login: str) -> psycopg.Connection:
        u = make_url(self.url)
        return psycopg.connect(
            host=u.host, port=u.port, dbname=u.database, user=login, connect_timeout=5
        )


NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _seed(engine: sa.Engine) -> None:
    """Reference data of two halls and facts of three windows."""
    md = sa.MetaData()
    md.reflect(engine)
    t = md.tables
    with engine.begin() as c:
        for hall in ("LC", "LD"):
            c.execute(
                t["departments"].insert(),
                [
                    {
                        "hall_code": hall,
                        "code": "ZJJ",
                        "name": f"{hall} 住建局",
                        "phone": "",
                        "address": "",
                        "duties": "",
                    }
                ],
            )
            c.execute(
                t["windows"].insert(),
                [
                    {
                        "hall_code": hall,
                        "code": w,
                        "name": f"{w} 窗口",
                        "department_code": "ZJJ",
                        "active": True,
                    }
                    for w in ("A05", "A06")
                ],
            )
            c.execute(
                t["staff"].insert(),
                [
                    {
                        "hall_code": hall,
                        "id": f"staff-{hall}",
                        "staff_no": "2001",
                        "name": "张丽华",
                        "title": "",
                        "phone": "",
                        "department_code": "ZJJ",
                        "role": "clerk",
                        "password_hash": "x",
                        "commitments": "",
                        "active": True,
                    }
                ],
            )
            c.execute(
                t["service_items"].insert(),
                [
                    {
                        "hall_code": hall,
                        "code": "ZJ-001",
                        "name": "施工许可",
                        "department_code": "ZJJ",
                        "kind": "promised",
                        "legal_days": 20,
                        "promised_days": 8,
                        "scope": "",
                        "procedure": "",
                        "conditions": "",
                        "fees": "",
                        "legal_basis": "",
                        "pinyin": "",
                        "active": True,
                    }
                ],
            )
        for hall, window in (("LC", "A05"), ("LC", "A06"), ("LD", "A05")):
            fact(c, t, hall, window, f"{hall}-{window}")


def fact(c: sa.Connection, t: dict[str, sa.Table], hall: str, window: str, tag: str) -> str:
    """An applicant, a case and its evaluation of one window; returns the case id."""
    common = {"hall_code": hall, "origin_window": window, "created_at": NOW}
    c.execute(
        t["applicants"].insert(),
        [
            {
                **common,
                "id": f"ap-{tag}",
                "kind": "person",
                "name": "李四",
                "id_number": None,
                "uscc": None,
                "phone": "",
                "contact_name": "",
                "address": "",
            }
        ],
    )
    c.execute(
        t["cases"].insert(),
        [
            {
                **common,
                "id": f"case-{tag}",
                "case_no": f"{tag}-0001",
                "item_code": "ZJ-001",
                "applicant_id": f"ap-{tag}",
                "window_code": window,
                "department_code": "ZJJ",
                "first_responder_id": f"staff-{hall}",
            }
        ],
    )
    c.execute(
        t["evaluations"].insert(),
        [
            {
                **common,
                "id": f"ev-{tag}",
                "case_id": f"case-{tag}",
                "case_no": f"{tag}-0001",
                "item_code": "ZJ-001",
                "window_code": window,
                "staff_id": f"staff-{hall}",
                "department_code": "ZJJ",
                "channel": "window_evaluator",
                "device": "",
                "level": 2,
                "reasons": ["态度"],
                "applicant_kind": "person",
            }
        ],
    )
    return f"case-{tag}"


@pytest.fixture(scope="module")
def central() -> Iterator[Central]:
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception:
        if os.environ.get("HALLAPP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"hallapp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url, hide_parameters=True)
    try:
        _central_schema(engine)
        _seed(engine)
        yield Central(
            url=url,
            admin=engine,
            database=name,
            window=roles.grant_window(engine, "LC", "A05", PASSWORD),
            other_window=roles.grant_window(engine, "LC", "A06", PASSWORD + "x"),
            supervisor=roles.grant_supervisor(engine, f"{name}_sup", PASSWORD),
            hall_supervisor=roles.grant_supervisor(
                engine, f"{name}_lcsup", PASSWORD, hall_code="LC"
            ),
            password=PASSWORD,
        )
    finally:
        roles.drop_all_roles(engine)
        engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            left = (
                c.execute(
                    sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": f"{name}%"}
                )
                .scalars()
                .all()
            )
        admin.dispose()
        assert not left, f"roles left behind: {left}"


@pytest.fixture
def seeded_central(pg_url: str) -> Iterator[str]:
    """A fresh central store (the test's own database) with two halls' windows;
    every role granted on it is dropped afterwards."""
    engine = sa.create_engine(pg_url, hide_parameters=True)
    _central_schema(engine)
    _seed(engine)
    try:
        yield pg_url
    finally:
        roles.drop_all_roles(engine)
        engine.dispose()


@pytest.fixture
def refused_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/central?connect_timeout=3"
