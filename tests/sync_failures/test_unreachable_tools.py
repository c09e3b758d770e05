"""The tools of the failure tests do what they say, on the real server.

The proxy passes a real PostgreSQL session, refuses connections, stalls and
cuts inside a COPY; the gate closes a database to everyone (superusers too)
and opens it again. If these drift, the failure tests built on them would
pass without testing anything.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
import tcpproxy
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres


def _dsn(sa_url: str) -> str:
    u = make_url(sa_url)
    return f"host={u.host} port={u.port} user={u.username} dbname={u.database} connect_timeout=3"


def test_proxy_passes_a_real_session(tcp_proxy, pg_url):
    with psycopg.connect(_dsn(tcp_proxy.url(pg_url))) as conn:
        assert conn.execute("select 40 + 2").fetchone() == (42,)
    assert tcp_proxy.proxy.counters.accepted == 1
    assert tcp_proxy.proxy.counters.to_server > 0
    assert tcp_proxy.proxy.counters.to_client > 0


def test_proxy_url_works_for_sqlalchemy(tcp_proxy, pg_url):
    eng = sa.create_engine(tcp_proxy.url(pg_url))
    try:
        with eng.connect() as c:
            assert (
                c.execute(sa.text("select current_database()")).scalar()
                == make_url(pg_url).database
            )
    finally:
        eng.dispose()


def test_refuse_is_a_refused_port_and_passing_listens_again(tcp_proxy, pg_url):
    p = tcp_proxy.proxy
    p.refuse()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((p.host, p.port), timeout=2)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_dsn(tcp_proxy.url(pg_url)))
    p.passing()
    with psycopg.connect(_dsn(tcp_proxy.url(pg_url))) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_refuse_ends_open_sessions(tcp_proxy, pg_url):
    conn = psycopg.connect(_dsn(tcp_proxy.url(pg_url)))
    try:
        conn.execute("select 1")
        tcp_proxy.proxy.refuse()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("select 1")
    finally:
        conn.close()


def test_stall_holds_traffic_until_passing(tcp_proxy, pg_url):
    conn = psycopg.connect(_dsn(tcp_proxy.url(pg_url)), autocommit=True)
    try:
        tcp_proxy.proxy.stall()
        result: list[object] = []
        worker = threading.Thread(
            target=lambda: result.append(conn.execute("select 7").fetchone()), daemon=True
        )
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not result  # the query hangs: nothing got through
        tcp_proxy.proxy.passing()
        worker.join(5.0)
        assert result == [(7,)]
    finally:
        conn.close()


def test_cut_after_resets_inside_a_copy_and_the_server_keeps_nothing(tcp_proxy, pg_url):
    with psycopg.connect(_dsn(pg_url), autocommit=True) as direct:
        direct.execute("create table t (id int primary key, pad text)")
    p = tcp_proxy.proxy
    conn = psycopg.connect(_dsn(tcp_proxy.url(pg_url)))
    start = p.counters.to_server
    p.cut_after(200_000)
    with pytest.raises(psycopg.OperationalError):
        with conn.cursor() as cur, cur.copy("copy t (id, pad) from stdin") as copy:
            for i in range(100_000):
                copy.write_row((i, "x" * 20))
        conn.commit()
    conn.close()
    assert p.wait_cut(5)
    sent = p.counters.to_server - start
    assert 200_000 - 70_000 < sent <= 200_000  # cut inside the stream, not before it
    assert p.counters.cut >= 1
    with psycopg.connect(_dsn(pg_url)) as direct:
        assert direct.execute("select count(*) from t").fetchone() == (0,)
    # after the cut the proxy passes again (the default "then")
    with psycopg.connect(_dsn(tcp_proxy.url(pg_url))) as conn2:
        assert conn2.execute("select 1").fetchone() == (1,)


def test_cut_after_then_refuse(tcp_proxy, pg_url):
    p = tcp_proxy.proxy
    p.cut_after(10, then=tcpproxy.Mode.REFUSE)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_dsn(tcp_proxy.url(pg_url)))
    assert p.wait_cut(5)
    assert p.mode is tcpproxy.Mode.REFUSE
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((p.host, p.port), timeout=2)


def test_proxy_is_bounded():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        with tcpproxy.TcpProxy("127.0.0.1", srv.getsockname()[1], max_connections=2) as p:
            socks = [socket.create_connection((p.host, p.port), timeout=2) for _ in range(3)]
            try:
                deadline = time.monotonic() + 5
                while p.counters.refused < 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert p.counters.accepted == 2
                assert p.counters.refused == 1
                assert p.open_connections == 2
                # the one over the cap was reset, not left hanging
                socks[2].settimeout(2)
                with contextlib.suppress(ConnectionResetError):
                    assert socks[2].recv(1) == b""
            finally:
                for s in socks:
                    s.close()


def test_proxy_forwards_to_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        tcpproxy.TcpProxy("192.0.2.1", 5432)  # TEST-NET-1: never contacted, refused up front


def test_stop_closes_everything():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        p = tcpproxy.TcpProxy("127.0.0.1", srv.getsockname()[1]).start()
        c = socket.create_connection((p.host, p.port), timeout=2)
        server_side, _ = srv.accept()
        p.stop()
        server_side.settimeout(2)
        # the proxy's side of the server connection is gone: EOF or reset
        with contextlib.suppress(ConnectionResetError):
            assert server_side.recv(1) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p.port), timeout=2)
        c.close()
        server_side.close()


def test_refused_pg_url_is_refused(refused_pg_url):
    eng = sa.create_engine(refused_pg_url)
    try:
        with pytest.raises(sa.exc.OperationalError, match="refused"):
            eng.connect()
    finally:
        eng.dispose()


def test_gate_refuses_everyone_then_lets_in(pg_gate):
    eng = sa.create_engine(pg_gate.url, pool_pre_ping=True)
    try:
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        held = eng.connect()
        pg_gate.close()
        # the open session was ended ...
        with pytest.raises(sa.exc.OperationalError):
            held.execute(sa.text("select 1"))
        held.close()
        # ... and the superuser we connect as cannot get in either
        with (
            pytest.raises(sa.exc.OperationalError, match="not currently accepting connections"),
            eng.connect() as c,
        ):
            c.execute(sa.text("select 1"))
        pg_gate.open()
        with eng.connect() as c:
            assert c.execute(sa.text("select 1")).scalar() == 1
    finally:
        eng.dispose()
