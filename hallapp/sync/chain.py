"""The evaluations' hash chain: tamper evidence for 好差评.

Each evaluation carries ``chain_seq`` (1, 2, 3… per origin window),
``chain_prev`` (the previous evaluation's hash) and ``chain_hash``: SHA-256
over every column of the row but ``chain_hash`` itself, in a canonical form
(sorted names, UTC ISO times, JSON), so a column added to evaluations later
is covered without a change here. Columns whose value is NULL are left out,
so a nullable column added later does not change the hash of older rows.

:func:`seal` runs in the transaction that inserts the evaluation (SQLite's
BEGIN IMMEDIATE serialises the window's writers, so two evaluations never
take the same link). The centre checks each link as batches arrive and
``hallapp central verify`` recomputes every chain (:func:`verify_rows`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select

GENESIS = "0" * 64
EXCLUDED = frozenset({"chain_hash", "hall_code", "origin_seq"})


def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


# Values that _canon returns unchanged, by exact type: most of a row's, so
# they skip its isinstance checks (the push hashes 100,000 rows a pass).
_AS_IS = frozenset({str, int, float, bool, list, dict})
# json.dumps with these options would build a new encoder for every row.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_hash(row: Mapping[str, Any]) -> str:
    payload = {
        k: v if type(v) in _AS_IS else _canon(v)
        for k, v in row.items()
        if v is not None and k not in EXCLUDED
    }
    data = _ENCODER.encode(payload)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _evaluations() -> Table:
    from hallapp.models import Evaluation

    return Evaluation.__table__  # type: ignore[return-value]


def seal(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """Fill the chain columns of an evaluation about to be inserted on ``conn``.

    ``values`` holds the row's columns (defaults filled here when missing);
    it is changed in place and returned.
    """
    table = _evaluations()
    head = conn.execute(
        select(table.c.chain_seq, table.c.chain_hash)
        .where(table.c.origin_window == values["origin_window"], table.c.chain_seq.is_not(None))
        .order_by(table.c.chain_seq.desc())
        .limit(1)
    ).first()
    return link(values, ChainHead(int(head[0]), str(head[1])) if head else ChainHead())


def link(values: dict[str, Any], head: ChainHead) -> dict[str, Any]:
    """Make ``values`` the link after ``head`` (its window's last evaluation) and
    advance ``head`` to it. For writers that know the head already (the demo
    history writes a window's evaluations in bulk, in chain order)."""
    for col in _evaluations().columns:
        if col.name not in values and col.default is not None:
            arg = col.default.arg  # type: ignore[attr-defined]
            values[col.name] = arg(None) if callable(arg) else arg
    values["chain_seq"] = head.last_seq + 1
    values["chain_prev"] = head.last_hash
    values["chain_hash"] = None
    values["chain_hash"] = row_hash(values)
    head.last_seq, head.last_hash = values["chain_seq"], values["chain_hash"]
    return values


@dataclass(frozen=True)
class ChainFault:
    window_code: str
    record_id: str
    kind: str  # "gap", "reorder", "altered", "unchained", "forked", "missing", "mismatch",
    # "window_decision"
    detail: dict[str, Any]

    def text(self, hall_code: str) -> str:
        what = {
            "gap": "缺失记录",
            "reorder": "顺序错乱或链接断开",
            # A link the chain already has, claimed by a record of another id:
            # added to the file by hand, or from a second copy of the database.
            "forked": "与中心库已收到的另一条评价占用同一链序号"
            "（可能是手工加入的记录，或另一份本窗口数据库）",
            "altered": "记录内容被改动",
            # No window writes an evaluation without its link (seal()); one
            # without is from outside the chain (a tool, an edited file), so
            # nothing vouches for it.
            "unchained": "不在评价链中（无链序号，无法证明未被改动）",
            # Cross-checked with the case's 已评价 event (hallapp.sync.verify):
            # the last evaluation of a chain can be deleted without a gap.
            "missing": "办件事件记有这次评价，中心库却没有这条评价记录（可能在窗口被删除）",
            "mismatch": "评价等级与办件事件所记不符（记录可能被改动）",
            # hallapp.sync.verify._window_decisions: not an evaluation's
            # fault, but it takes one out of (or closes it in) the figures.
            "window_decision": "窗口上传的办结或申诉审核不是在中心库办理的（在窗口接入中心库之后，"
                               "或没有对应的审计记录；可能是在本程序之外写入窗口数据库的），"
                               "请核实后处理",
        }[self.kind]
        return (
            f"大厅 {hall_code} 窗口 {self.window_code} 评价记录 {self.record_id}："
            f"{what} {self.detail}"
        )


@dataclass
class ChainHead:
    last_seq: int = 0
    last_hash: str = GENESIS


def check_links(
    window_code: str,
    head: ChainHead,
    rows: Iterable[Mapping[str, Any]],
    hashes: Mapping[str, str] | None = None,
) -> list[ChainFault]:
    """Check rows (sorted by chain_seq, all after ``head``) against the chain;
    ``head`` advances to the last row. Rows without a chain (written before
    the chain existed) are skipped. ``hashes`` (id → :func:`row_hash`) may
    hold the rows' hashes computed beforehand (the push computes them off
    the central transaction)."""
    faults: list[ChainFault] = []
    for row in rows:
        seq = row.get("chain_seq")
        if seq is None:
            continue
        rid = str(row["id"])
        computed = hashes[rid] if hashes is not None and rid in hashes else row_hash(row)
        if computed != row.get("chain_hash"):
            faults.append(ChainFault(window_code, rid, "altered", {"chain_seq": seq}))
        if seq != head.last_seq + 1:
            kind = "gap" if seq > head.last_seq + 1 else "reorder"
            faults.append(
                ChainFault(window_code, rid, kind, {"expected": head.last_seq + 1, "got": seq})
            )
        elif row.get("chain_prev") != head.last_hash:
            faults.append(ChainFault(window_code, rid, "reorder", {"chain_seq": seq}))
        head.last_seq = int(seq)
        head.last_hash = str(row.get("chain_hash"))
    return faults
