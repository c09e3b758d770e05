"""``hallapp central verify``: recompute every window's evaluation chain at the centre.

Reads each (hall, window)'s evaluations in chain order, a window at a time,
and reports every gap (a link missing), reordering (a link that does not
follow its predecessor) and altered record (a hash that no longer matches
the row), naming hall, window and record. An evaluation that carries no
link at all is reported too: every window seals each evaluation it writes,
so one without a link did not come through a window's chain, and a check
that skipped it would pass what it never checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

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
        outside = select(ev.c[HALL], ev.c.origin_window, ev.c.id).where(
            ev.c.chain_seq.is_(None)
        )
        if hall_code:
            outside = outside.where(ev.c[HALL] == hall_code)
        for hall, window, rid in conn.execute(
            outside.order_by(ev.c[HALL], ev.c.origin_window, ev.c.created_at)
        ).tuples():
            records += 1
            faults.append((str(hall), ChainFault(str(window), str(rid), "unchained", {})))
    return VerifyReport(chains=len(chains), records=records, faults=faults)
