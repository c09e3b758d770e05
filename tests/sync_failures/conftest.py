"""Fixtures for the failure tests of sync: a centre that cannot be reached.

- ``tcp_proxy``: a TcpProxy (tcpproxy.py) in front of the real PostgreSQL
  server, which the test makes pass, refuse, stall or cut mid-stream; its
  ``url(database)`` is a SQLAlchemy URL that goes through it.
- ``pg_gate``: a fresh database whose door the test closes and opens
  (``ALLOW_CONNECTIONS false``, which binds superusers too, unlike
  ``CONNECTION LIMIT 0``; closing also ends the sessions already in it).
- ``refused_pg_url``: a PostgreSQL URL on a loopback port where nothing listens.

Test modules here ``import tcpproxy`` (this folder is put on sys.path: with
``--import-mode=importlib`` tests cannot import each other's modules).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import tcpproxy  # noqa: E402  (needs the path above)

# The same server and admin login as tests/conftest.py's pg_url.
PG_ADMIN_URL = os.environ.get(
    "HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class ProxiedServer:
    proxy: tcpproxy.TcpProxy

    def url(self, through: str) -> str:
        """``through`` (a URL to the real server) rewritten to pass the proxy."""
        u = make_url(through).set(host=self.proxy.host, port=self.proxy.port)
        return u.render_as_string(hide_password=False)


@pytest.fixture
def tcp_proxy(pg_url: str) -> Iterator[ProxiedServer]:
    real = make_url(pg_url)
    with tcpproxy.TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        yield ProxiedServer(proxy)


@dataclass
class PgGate:
    url: str
    admin: sa.Engine
    database: str

    def close(self) -> None:
        """From now on every connection to the database is refused, and the
        open ones are ended (as when the database is taken offline)."""
        with self.admin.connect() as c:
            c.execute(sa.text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false'))
            c.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": self.database},
            )

    def open(self) -> None:
        with self.admin.connect() as c:
            c.execute(sa.text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true'))


@pytest.fixture
def pg_gate(pg_url: str) -> Iterator[PgGate]:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    gate = PgGate(pg_url, admin, make_url(pg_url).database or "")
    try:
        yield gate
    finally:
        gate.open()
        admin.dispose()


@pytest.fixture
def refused_pg_url() -> str:
    return (
        f"postgresql+psycopg://postgres@127.0.0.1:{tcpproxy.free_port()}/hallapp?connect_timeout=3"
    )


def _load_sync_fixtures():
    # tests/sync/conftest.py builds a real window store with facts; tests
    # cannot import a conftest, so load it by path.
    import importlib.util

    path = HERE.parent / "sync" / "conftest.py"
    spec = importlib.util.spec_from_file_location("hallapp_tests_sync_fixtures", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


make_window = _load_sync_fixtures().make_window


@pytest.fixture
def window_factory():
    """make_window(path, code) of tests/sync: a window store that makes cases."""
    return make_window


def fact_ids(engine: sa.Engine, *, hall: str | None = None, window: str | None = None):
    """{table: sorted list of ids} of every fact table, local or central."""
    from hallapp.sync.schema import CENTRE_ORIGIN, fact_tables

    out: dict[str, list[str]] = {}
    with engine.connect() as c:
        for t in fact_tables():
            where = [f"origin_window <> '{CENTRE_ORIGIN}'"]
            if hall:
                where.append(f"hall_code = '{hall}'")
            if window:
                where.append(f"origin_window = '{window}'")
            out[t.name] = sorted(
                c.exec_driver_sql(f"SELECT id FROM {t.name} WHERE {' AND '.join(where)}").scalars()
            )
    return out


@pytest.fixture
def ids_of():
    return fact_ids
