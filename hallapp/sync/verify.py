"""``hallapp central verify``: recompute every window's evaluation chain at the centre.

Reads each (hall, window)'s evaluations in chain order, a window at a time,
and reports every gap (a link missing), reordering (a link that does not
follow its predecessor) and altered record (a hash that no longer matches
the row), naming hall, window and record. Each evaluation is also held
against its case's 已评价 event (which records its id and level): the last
evaluation of a chain, deleted at the window before it was pushed, leaves no
gap, but its event arrives all the same ("missing", once a later evaluation
of the window shows the push got past it), and a level that differs from
the event's is reported ("mismatch"). An evaluation that carries no
link at all is reported too: every window seals each evaluation it writes,
so one without a link did not come through a window's chain, and a check
that skipped it would pass what it never checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from hallapp.sync.chain import ChainFault, ChainHead, check_links
from hallapp.sync.schema import HALL, central_table


@dataclass(frozen=True)
class VerifyReport:
    chains: int  # windows whose chain was checked
    records: int
    faults: list[tuple[str, ChainFault]]  # (hall_code, fault)

    def lines(self) -> list[str]:
        return [fault.text(hall) for hall, fault in self.faults]


def verify_central(engine: Engine, *, hall_code: str | None = None) -> VerifyReport:
    ev = central_table("evaluations")
    faults: list[tuple[str, ChainFault]] = []
    records = 0
    with engine.connect() as conn:
        q = select(ev.c[HALL], ev.c.origin_window).where(ev.c.chain_seq.is_not(None)).distinct()
        if hall_code:
            q = q.where(ev.c[HALL] == hall_code)
        chains = sorted((str(h), str(w)) for h, w in conn.execute(q))
        for hall, window in chains:
            rows = conn.execute(
                select(ev)
                .where(ev.c[HALL] == hall, ev.c.origin_window == window,
                       ev.c.chain_seq.is_not(None))
                .order_by(ev.c.chain_seq, ev.c.created_at)
            ).mappings()
            head = ChainHead()
            batch = [dict(r) for r in rows]
            records += len(batch)
            faults += [(hall, f) for f in check_links(window, head, batch)]
            faults += [(hall, f) for f in _against_events(conn, hall, window, batch)]
        outside = select(ev.c[HALL], ev.c.origin_window, ev.c.id).where(
            ev.c.chain_seq.is_(None)
        )
        if hall_code:
            outside = outside.where(ev.c[HALL] == hall_code)
        for found in conn.execute(
            outside.order_by(ev.c[HALL], ev.c.origin_window, ev.c.created_at)
        ):
            records += 1
            faults.append(
                (str(found[0]), ChainFault(str(found[1]), str(found[2]), "unchained", {}))
            )
    return VerifyReport(chains=len(chains), records=records, faults=faults)


def _against_events(
    conn: Connection, hall: str, window: str, evaluations: list[dict[str, Any]]
) -> list[ChainFault]:
    """The window's evaluations held against its 已评价 events."""
    if not evaluations:
        return []
    ce, ev = central_table("case_events"), central_table("evaluations")
    # All of the window's evaluations, those from before the chain too.
    level_of: dict[str, int] = {}
    latest = max(e["created_at"] for e in evaluations)
    for eid, level, at in conn.execute(
        select(ev.c.id, ev.c.level, ev.c.created_at)
        .where(ev.c[HALL] == hall, ev.c.origin_window == window)
    ):
        level_of[str(eid)] = int(level)
        latest = max(latest, at)
    faults: list[ChainFault] = []
    events = conn.execute(
        select(ce.c.id, ce.c.case_id, ce.c.data, ce.c.created_at)
        .where(ce.c[HALL] == hall, ce.c.origin_window == window, ce.c.kind == "evaluated")
        .order_by(ce.c.created_at)
    )
    for event_id, case_id, data, at in events:
        info = data if isinstance(data, dict) else {}
        eid, level = info.get("evaluation_id"), info.get("level")
        if not eid:
            continue
        if str(eid) not in level_of:
            # Not yet arrived (the push sends events before evaluations), or
            # gone: only once a later evaluation of this window is here.
            if at < latest:
                faults.append(ChainFault(window, str(eid), "missing",
                                         {"case_id": str(case_id), "event": str(event_id)}))
        elif level is not None and int(level) != level_of[str(eid)]:
            faults.append(ChainFault(window, str(eid), "mismatch",
                                     {"event_level": int(level), "level": level_of[str(eid)]}))
    return faults
