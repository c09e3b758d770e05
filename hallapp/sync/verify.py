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
        faults += _window_decisions(conn, hall_code)
    return VerifyReport(chains=len(chains), records=records, faults=faults)


def _window_decisions(conn: Connection, hall_code: str | None) -> list[tuple[str, ChainFault]]:
    """Supervisors' decisions (办结, 申诉成立/不成立) that came in a window's push
    and nothing vouches for: dated after the window joined this centre
    (stored before the centre refused them), or without the audit entry the
    program writes with each (act() on the window's own database, before the
    hall had a centre). The hash chain covers evaluations only, and an upheld
    appeal takes a 差评 out of every figure."""
    from hallapp.sync.centre import SUPERVISOR_STEPS
    from hallapp.sync.schema import CENTRE_ORIGIN

    st, ws, au = (central_table(t) for t in ("follow_up_steps", "window_sync", "audit_entries"))
    audited = (
        select(au.c.id)
        .where(au.c[HALL] == st.c[HALL], au.c.origin_window == st.c.origin_window,
               au.c.action == "follow_up." + st.c.kind, au.c.target == st.c.evaluation_id)
        .exists()
    )
    q = (
        select(st.c[HALL], st.c.origin_window, st.c.evaluation_id, st.c.id, st.c.kind,
               st.c.created_at, ws.c.joined_at, audited.label("audited"))
        .select_from(st.outerjoin(ws, (ws.c[HALL] == st.c[HALL])
                                  & (ws.c.window_code == st.c.origin_window)))
        .where(st.c.kind.in_(SUPERVISOR_STEPS), st.c.origin_window != CENTRE_ORIGIN)
        .order_by(st.c[HALL], st.c.origin_window, st.c.created_at)
    )
    if hall_code:
        q = q.where(st.c[HALL] == hall_code)
    out = []
    for r in conn.execute(q):
        late = r.joined_at is not None and _naive(r.created_at) >= _naive(r.joined_at)
        if late or not r.audited:
            out.append((str(r[0]), ChainFault(str(r.origin_window), str(r.evaluation_id),
                                              "window_decision",
                                              {"step": str(r.id), "kind": str(r.kind)})))
    return out


def _naive(at: Any) -> Any:
    # A SQLite centre gives strings or naive UTC times; PostgreSQL aware ones.
    from datetime import datetime

    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=None) if at.tzinfo is not None else at


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
