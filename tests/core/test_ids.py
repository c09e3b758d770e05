"""Record ids: UUID version 7, so that every index keyed by them takes new
rows at its right edge (at the window and at a centre holding millions)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest

from hallapp import models
from hallapp.models import new_id


def test_an_id_is_a_version_7_uuid_carrying_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_id())
    after = time.time_ns() // 1_000_000
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after + 1


def test_ids_increase_in_the_order_they_are_made_even_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_a_clock_stepping_back_does_not_make_an_earlier_or_a_repeated_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A window PC's clock set back by an hour (a time server correcting it).
    first = new_id()
    back = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1e9)
    monkeypatch.setattr(models.time, "time_ns", lambda: back)
    later = [new_id() for _ in range(1_000)]
    assert later == sorted(later) and later[0] > first
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in later)


def test_ids_made_by_many_threads_at_once_are_all_different() -> None:
    out: list[list[str]] = [[] for _ in range(8)]

    def make(k: int) -> None:
        out[k].extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for chunk in out for i in chunk]
    assert len(set(every)) == len(every)
    assert all(chunk == sorted(chunk) for chunk in out)
