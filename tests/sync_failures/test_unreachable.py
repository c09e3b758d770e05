"""The centre unreachable for a long stretch: the window keeps working, and
when the centre is back everything arrives, once.

PostgreSQL: a refused port, a database that refuses connections, and a
proxy that resets the connection inside a batch (several times, at random
byte counts) and one that stalls. SQLite central file: the folder it lives
in gone (an unmounted share), and the file locked by another process.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from hallapp.store import sqlite_url
from hallapp.sync import CentreUnreachable
from hallapp.sync.centre import central_engine, init_central
from hallapp.sync.push import pending_count, push

HALL = "LC"


def local_total(ids: dict[str, list[str]]) -> int:
    return sum(len(v) for v in ids.values())


def assert_all_arrived_once(window, central: sa.Engine, ids_of) -> None:
    local = ids_of(window.store.engine)
    assert ids_of(central, hall=HALL, window=window.code) == local
    with central.connect() as c:
        for table, want in local.items():
            n, distinct = c.exec_driver_sql(
                f"SELECT count(*), count(DISTINCT id) FROM {table}"
            ).one()
            assert n == distinct == len(want), table
    assert pending_count(window.store) == 0


def assert_pending_exact(window, central: sa.Engine, ids_of) -> None:
    """What the window still has to send is exactly what the centre lacks."""
    local = ids_of(window.store.engine)
    at_centre = ids_of(central, hall=HALL, window=window.code)
    for table, want in local.items():
        assert set(at_centre[table]) <= set(want), table
    assert pending_count(window.store) == local_total(local) - local_total(at_centre)


@pytest.mark.postgres
def test_postgres_centre_away_for_a_long_stretch(
    tcp_proxy, pg_gate, pg_url, tmp_path, window_factory, ids_of
):
    init_central(pg_url)
    owner = central_engine(pg_url)
    window = window_factory(tmp_path / "a05.sqlite3", "A05")
    through = central_engine(tcp_proxy.url(pg_url))
    proxy = tcp_proxy.proxy
    rng = random.Random(11)
    try:
        for _ in range(30):
            window.new_case(level=rng.choice([5, 4, 3, 1, None]))

        # 1. The port refuses; the window keeps taking cases meanwhile.
        proxy.refuse()
        for _ in range(3):
            with pytest.raises(CentreUnreachable, match="无法连接中心库"):
                push(window.store, through, hall_code=HALL, window_code="A05")
            window.new_case(level=4)
        assert pending_count(window.store) == local_total(ids_of(window.store.engine))
        proxy.passing()

        # 2. The database refuses connections (taken offline).
        pg_gate.close()
        with pytest.raises(CentreUnreachable):
            push(window.store, through, hall_code=HALL, window_code="A05")
        window.new_case(level=2)
        pg_gate.open()

        # 3. The link drops inside a batch, again and again: each time the
        # committed batches stay, the cut one is resent next time.
        cuts = 0
        for _ in range(6):
            proxy.cut_after(rng.randrange(2_000, 30_000))
            try:
                push(window.store, through, hall_code=HALL, window_code="A05", batch_size=25)
            except CentreUnreachable:
                cuts += 1
                assert proxy.wait_cut(5)
            assert_pending_exact(window, owner, ids_of)
            window.new_case(level=rng.choice([5, 1]))
        assert cuts >= 3  # the test cut real batches, not idle links

        # 4. Back: everything arrives, once.
        proxy.cut_after(10**12)  # disarm
        result = push(window.store, through, hall_code=HALL, window_code="A05")
        assert result.pending == 0
        assert_all_arrived_once(window, owner, ids_of)
    finally:
        proxy.passing()
        through.dispose()
        owner.dispose()
        window.store.dispose()


def _outcome_despite_stall(proxy, fn, what: str) -> BaseException | object:
    """Run ``fn`` while ``proxy`` stalls; it must end by itself within 30 s.
    The proxy passes again afterwards (releasing a hung ``fn`` either way)."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    hung = worker.is_alive()
    proxy.passing()
    worker.join(30)
    assert not hung, f"{what} hung on a centre that stopped answering"
    return outcome[0]


@pytest.mark.postgres
@pytest.mark.parametrize("stall_at", [None, 2_000, 60_000, 250_000])
def test_a_centre_that_stops_answering_ends_the_pass(
    stall_at, tcp_proxy, pg_url, tmp_path, window_factory, ids_of
):
    """The centre stops answering (a hung server, a half-open VPN, a link
    that black-holes packets while both kernels keep the socket) before the
    connect (None) or with the session up and a batch on its way: the pass
    gives up in bounded time instead of hanging, the window keeps its
    records and the exact pending count, and the next pass sends
    everything, once."""
    init_central(pg_url)
    owner = central_engine(pg_url)
    window = window_factory(tmp_path / "a05.sqlite3", "A05")
    through = central_engine(tcp_proxy.url(pg_url))
    try:
        for _ in range(300):
            window.new_case()
        before = pending_count(window.store)
        if stall_at is None:
            tcp_proxy.proxy.stall()
        else:
            tcp_proxy.proxy.stall_after(stall_at)
        started = time.monotonic()
        outcome = _outcome_despite_stall(
            tcp_proxy.proxy,
            lambda: push(window.store, through, hall_code=HALL, window_code="A05",
                         batch_size=100, stall_seconds=3),
            "push",
        )
        assert isinstance(outcome, CentreUnreachable), outcome
        assert time.monotonic() - started < 20
        if stall_at is not None:
            assert tcp_proxy.proxy.wait_cut(0), "the proxy never stalled: the test proved nothing"
            assert "没有响应" in str(outcome)
        assert 0 < pending_count(window.store) <= before
        assert_pending_exact(window, owner, ids_of)
        push(window.store, through, hall_code=HALL, window_code="A05")
        assert_all_arrived_once(window, owner, ids_of)
    finally:
        tcp_proxy.proxy.passing()
        through.dispose()
        owner.dispose()
        window.store.dispose()


@pytest.mark.postgres
def test_a_centre_that_stops_answering_during_a_pull_ends_it(
    tcp_proxy, pg_url, tmp_path, window_factory
):
    """The pull's read is bounded the same way; the window keeps its last
    pulled reference data and its pull position."""
    from hallapp.sync.pull import pull

    init_central(pg_url)
    window = window_factory(tmp_path / "a05.sqlite3", "A05")
    through = central_engine(tcp_proxy.url(pg_url))
    try:
        first = pull(window.store, through, hall_code=HALL, window_code="A05")
        tcp_proxy.proxy.stall_after(200)
        outcome = _outcome_despite_stall(
            tcp_proxy.proxy,
            lambda: pull(window.store, through, hall_code=HALL, window_code="A05",
                         stall_seconds=3),
            "pull",
        )
        assert tcp_proxy.proxy.wait_cut(0), "the proxy never stalled: the test proved nothing"
        assert isinstance(outcome, CentreUnreachable), outcome
        assert "没有响应" in str(outcome)
        again = pull(window.store, through, hall_code=HALL, window_code="A05")
        assert again.version == first.version
    finally:
        tcp_proxy.proxy.passing()
        through.dispose()
        window.store.dispose()


def test_sqlite_centre_away_for_a_long_stretch(tmp_path, window_factory, ids_of):
    share = tmp_path / "share"
    share.mkdir()
    url = sqlite_url(share / "central.sqlite3")
    init_central(url)
    window = window_factory(tmp_path / "a05.sqlite3", "A05")
    try:
        for _ in range(20):
            window.new_case()

        # 1. The share is gone (unmounted): the file cannot be opened.
        os.rename(share, tmp_path / "share-offline")
        for _ in range(3):
            engine = central_engine(url)
            with pytest.raises(CentreUnreachable):
                push(window.store, engine, hall_code=HALL, window_code="A05")
            engine.dispose()
            window.new_case(level=1)
        assert pending_count(window.store) == local_total(ids_of(window.store.engine))
        os.rename(tmp_path / "share-offline", share)

        # 2. Another program holds the file locked past the busy timeout.
        locker = sqlite3.connect(share / "central.sqlite3", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        engine = central_engine(url)
        started = time.monotonic()
        with pytest.raises(CentreUnreachable):
            push(window.store, engine, hall_code=HALL, window_code="A05")
        assert time.monotonic() - started < 40
        locker.execute("ROLLBACK")
        locker.close()
        window.new_case(level=5)

        # 3. Back: everything arrives, once.
        result = push(window.store, engine, hall_code=HALL, window_code="A05")
        assert result.pending == 0
        assert_all_arrived_once(window, engine, ids_of)
        engine.dispose()
    finally:
        window.store.dispose()
