"""A realistic hall history for demos, tests and the benchmark (`hallapp demo-data`).

Made through the domain's own rules, not by typing numbers in:

- the sample catalog and demo staff (hallapp.demo), plus generated windows and
  clerks when more windows are asked for, and three more supervisors, so an
  appeal is always reviewed by another person than the clerk who filed it;
- every case starts on a working day of the hall's calendar; its promised and
  legal dates come from ``add_working_days`` with the item's limits, as
  intake writes them (same event kinds and data);
- outcomes: acceptance, 容缺 acceptance (materials on time, late or never),
  one-time notices (some followed by a second notice with a new demand: a
  violation of the one-time rule), refusals, referrals, instant completions;
  completions on time, after an approved extension, or late; some cases
  still open (and some of those overdue);
- one evaluation offer per case, at the last encounter: the citizen evaluates
  or does not (未评价, an EVALUATION_EXPIRED event, never a rating); levels
  vary by clerk; every 差评 carries reasons checked by ``validate_reasons`` and
  opens a follow-up due in the configured working days, which then stands in
  every state (open, verified, called back, rectified, closed, appealed,
  upheld, refused), reviewers being supervisors other than the filer;
- supervisor actions are written to the audit log, as the domain does.

Rows are written in bulk: COPY on PostgreSQL, executemany elsewhere, at
most FLUSH_ROWS at a time so memory stays flat.
"""

from __future__ import annotations

import json
import logging
import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.orm import Session

from hallapp import documents as docs
from hallapp.config import parse_config
from hallapp.evaluation import BAD_REVIEW_REASONS, OTHER_REASON, validate_reasons
from hallapp.identity import mask_document_number
from hallapp.models import (
    Applicant,
    AuditEntry,
    Case,
    CaseEvent,
    CaseEventKind,
    Department,
    Encounter,
    Evaluation,
    FollowUpStep,
    FollowUpStepKind,
    IssuedDocument,
    ItemKind,
    NumberCounter,
    Role,
    ServiceItem,
    Staff,
    Window,
)
from hallapp.numbering import document_counter, format_document_number
from hallapp.store import Store
from hallapp.sync.chain import ChainHead, link
from hallapp.validation import id_check_char
from hallapp.workdays import HALL_TZ, WorkCalendar, add_working_days, calendar_from_store

log = logging.getLogger(__name__)

EV = CaseEventKind
FK = FollowUpStepKind


class DemoHistoryError(ValueError):
    """The parameters cannot make a history; the message says which, in Chinese."""


@dataclass(frozen=True)
class HistoryParams:
    windows: int = 8
    months: int = 3
    per_day: int = 20  # cases received per window and working day
    seed: int = 1
    end: date | None = None  # the last day generated (default: yesterday)
    start: date | None = None  # the first day (default: the first of ``months`` months back)
    hall_code: str = "LC"
    rectify_days: int = 5
    call_back_days: int = 1

    def check(self) -> None:
        if not 1 <= self.windows <= 999:
            raise DemoHistoryError(f"窗口数应为 1–999，收到 {self.windows}")
        if not 1 <= self.months <= 36:
            raise DemoHistoryError(f"月数应为 1–36，收到 {self.months}")
        if not 1 <= self.per_day <= 1000:
            raise DemoHistoryError(f"每日办件数应为 1–1000，收到 {self.per_day}")


@dataclass
class HistorySummary:
    windows: int = 0
    first_day: date | None = None
    last_day: date | None = None
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def text(self) -> str:
        parts = "，".join(f"{_TABLE_LABELS.get(k, k)} {v} 条" for k, v in self.rows.items())
        return (
            f"已生成 {self.windows} 个窗口 {self.first_day} 至 {self.last_day} 的办件历史：{parts}"
            f"（用时 {self.seconds:.1f} 秒）"
        )


# -------------------------------------------------------------- reference data

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕晓东思雨雅琴晨曦子涵浩然欣怡俊杰"  # noqa: E501


@dataclass(frozen=True)
class _Clerk:
    id: str
    window: str
    department: str
    #: How this clerk's reviews lean: a few clerks draw more 差评.
    bad_share: float


@dataclass(frozen=True)
class _Item:
    code: str
    department: str
    instant: bool
    legal_days: int
    promised_days: int


@dataclass
class _Reference:
    windows: list[str]
    clerks: dict[str, list[_Clerk]]  # window -> clerks
    items: dict[str, list[_Item]]  # department -> items
    supervisors: list[str]  # staff ids
    supervisor_nos: dict[str, str]
    staff_nos: dict[str, str]
    # What the notices print: each clerk, department and item by name.
    people: dict[str, docs.PersonRef] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    item_names: dict[str, str] = field(default_factory=dict)
    doc_numbers: dict[str, int] = field(default_factory=dict)


def _reference(session: Session, params: HistoryParams, rng: random.Random) -> _Reference:
    """The demo catalog and staff, plus generated windows and clerks up to ``params.windows``."""
    from hallapp.demo import seed_reference_data

    if session.scalar(select(ServiceItem.code).limit(1)) is None:
        seed_reference_data(session)
    items: dict[str, list[_Item]] = {}
    for it in session.scalars(select(ServiceItem).where(ServiceItem.active.is_(True))):
        items.setdefault(it.department_code, []).append(
            _Item(
                it.code,
                it.department_code,
                ItemKind(it.kind) is ItemKind.INSTANT or it.promised_days == 0,
                it.legal_days,
                it.promised_days,
            )
        )
    if not items:
        raise DemoHistoryError("事项清单为空：请先导入事项清单（hallapp catalog import）")
    departments = sorted(items)
    existing = {
        w.code: w.department_code
        for w in session.scalars(
            select(Window).where(Window.active.is_(True)).order_by(Window.code)
        )
        if w.department_code in items
    }
    windows = sorted(existing)[: params.windows]
    n = 0
    while len(windows) < params.windows:
        n += 1
        code = f"G{n:03d}"
        if code in existing:
            continue
        dept = departments[(n - 1) % len(departments)]
        if session.get(Window, code) is None:
            name = session.get(Department, dept)
            session.add(
                Window(
                    code=code,
                    name=f"{name.name if name else dept}第{n}窗口",
                    department_code=dept,
                    active=True,
                )
            )
        existing[code] = dept
        windows.append(code)
    session.flush()
    staff = list(session.scalars(select(Staff).where(Staff.active.is_(True))))
    a_hash = staff[0].password_hash if staff else ""
    by_dept: dict[str, list[Staff]] = {}
    for person in staff:
        if Role(person.role) is Role.CLERK:
            by_dept.setdefault(person.department_code, []).append(person)
    supervisors = [p for p in staff if Role(p.role) is Role.SUPERVISOR]
    hall_office = supervisors[0].department_code if supervisors else departments[0]
    for i in range(max(0, 4 - len(supervisors))):
        no = f"98{i + 1:02d}"
        found = session.scalar(select(Staff).where(Staff.staff_no == no))
        if found is None:
            found = Staff(
                staff_no=no,
                name=_person_name(rng),
                title="督查科科员",
                department_code=hall_office,
                role=Role.SUPERVISOR,
                password_hash=a_hash,
            )
            session.add(found)
        supervisors.append(found)
    clerks: dict[str, list[_Clerk]] = {}
    used: dict[str, int] = {}
    next_no = 20000
    for w in windows:
        dept = existing[w]
        pool = by_dept.get(dept, [])
        chosen: list[Staff] = []
        for person in pool:
            if used.get(person.id, 0) == 0 and len(chosen) < 2:
                chosen.append(person)
                used[person.id] = 1
        while len(chosen) < 2:
            next_no += 1
            no = str(next_no)
            clerk = session.scalar(select(Staff).where(Staff.staff_no == no))
            if clerk is None:
                clerk = Staff(
                    staff_no=no,
                    name=_person_name(rng),
                    title="综合受理员",
                    phone=f"0597-89{next_no % 100000:05d}",
                    department_code=dept,
                    role=Role.CLERK,
                    password_hash=a_hash,
                    commitments="首问负责\n一次告知\n限时办结",
                )
                session.add(clerk)
            chosen.append(clerk)
        session.flush()
        clerks[w] = [
            _Clerk(p.id, w, dept, rng.choice((0.002, 0.004, 0.006, 0.008, 0.03, 0.06)))
            for p in chosen
        ]
    session.flush()
    all_staff = {p.id: p.staff_no for p in session.scalars(select(Staff))}
    return _Reference(
        windows=windows,
        clerks=clerks,
        items=items,
        supervisors=[p.id for p in supervisors],
        supervisor_nos={p.id: p.staff_no for p in supervisors},
        staff_nos=all_staff,
        people={
            p.id: docs.PersonRef(p.name, p.title, p.staff_no, p.phone)
            for p in session.scalars(select(Staff))
        },
        departments={d.code: d for d in session.scalars(select(Department))},
        item_names={it.code: it.name for it in session.scalars(select(ServiceItem))},
        doc_numbers={
            str(c.scope): int(c.last)
            for c in session.scalars(select(NumberCounter).where(NumberCounter.scope.like("doc:%")))
        },
    )


def _person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"350825{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + id_check_char(body)


# ------------------------------------------------------------------ the writer


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_ORDER = (Applicant, Case, CaseEvent, IssuedDocument, Evaluation, FollowUpStep, AuditEntry)
_TABLE_LABELS = {
    "applicants": "申请人", "cases": "办件", "case_events": "办件过程记录",
    "issued_documents": "文书", "evaluations": "评价", "follow_up_steps": "差评整改步骤",
    "audit_entries": "审计记录",
}  # fmt: skip


#: Rows held before they are written (about 150 MB of Python objects).
FLUSH_ROWS = 200_000


class _Writer:
    """Collects rows per table and writes them in bulk (COPY on PostgreSQL)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, list[dict[str, Any]]] = {_table(m).name: [] for m in _ORDER}
        self.counts: dict[str, int] = {_table(m).name: 0 for m in _ORDER}

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.rows[_table(model).name].append(row)

    def pending(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def flush(self) -> None:
        for model in _ORDER:
            t = _table(model)
            rows = self.rows[t.name]
            if not rows:
                continue
            if self.conn.dialect.name == "postgresql":
                self._copy(t, rows)
            else:
                self.conn.execute(insert(t), rows)
            self.counts[t.name] += len(rows)
            rows.clear()

    def _copy(self, t: Table, rows: list[dict[str, Any]]) -> None:
        # The columns the rows give; the others take the table's own defaults
        # (COPY writes NULL into a listed column, never its DEFAULT).
        given = set().union(*(row.keys() for row in rows))
        cols = [c.name for c in t.c if c.name in given]
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {t.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(_copy_value(row.get(c)) for c in cols))


def _copy_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


# ---------------------------------------------------------------- the history


def _at(day: date, minutes: int) -> datetime:
    """An instant of the hall's working hours (minutes after 08:30)."""
    local = datetime.combine(day, time(8, 30), tzinfo=HALL_TZ) + timedelta(minutes=minutes)
    return local.astimezone(UTC)


class _Days:
    """Working-day arithmetic on the hall's calendar, memoised (it is called millions of times)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self._add: dict[tuple[date, int], date] = {}

    def add(self, d: date, n: int) -> date:
        key = (d, n)
        found = self._add.get(key)
        if found is None:
            found = add_working_days(d, n, self.calendar).date
            self._add[key] = found
        return found

    def is_working(self, d: date) -> bool:
        return self.calendar.is_working_day(d)


_LEVEL_WEIGHTS_GOOD = ((5, 0.72), (4, 0.19), (3, 0.09))


class _Case:
    """One case's events, written in order with their sequence numbers."""

    def __init__(
        self, gen: _Generator, window: str, clerk: _Clerk, item: _Item, at: datetime
    ) -> None:
        self.gen, self.window, self.clerk, self.item = gen, window, clerk, item
        self.received_at = at
        self.id = gen.uuid(at)
        self.case_no = ""
        self.applicant = docs.ApplicantRef(name="")
        self.seq = 0
        self.last_at = at

    def event(
        self, kind: CaseEventKind, at: datetime, data: dict[str, Any], staff: str | None = ""
    ) -> str:
        at = max(at, self.last_at)
        self.last_at = at
        event_id = self.gen.uuid(at)
        self.gen.w.add(
            CaseEvent,
            {
                "id": event_id,
                "origin_window": self.window,
                "created_at": at,
                "case_id": self.id,
                "seq": self.seq,
                "kind": kind.value,
                "staff_id": self.clerk.id if staff == "" else staff,
                "data": data,
            },
        )
        self.seq += 1
        return event_id


class _Generator:
    def __init__(
        self, conn: Connection, ref: _Reference, params: HistoryParams, days: _Days
    ) -> None:
        self.w = _Writer(conn)
        self.ref, self.params, self.days = ref, params, days
        self.rng = random.Random(params.seed)
        self.end = params.end or (datetime.now(HALL_TZ).date() - timedelta(days=1))
        self.chains: dict[str, ChainHead] = {}
        self.config = parse_config({})
        # number_counters scope -> last document number, continuing the store's own.
        self.doc_numbers = dict(ref.doc_numbers)

    def uuid(self, at: datetime) -> str:
        # Version 7 like the app's own ids (hallapp.models.new_id), from the
        # record's time, so the history's indexes grow as a real hall's do;
        # the rest from the seed, so that a history is reproducible.
        ms = int(at.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
        return "%08x-%04x-7%03x-%04x-%012x" % (  # noqa: UP031
            ms >> 16,
            ms & 0xFFFF,
            self.rng.getrandbits(12),
            0x8000 | self.rng.getrandbits(14),
            self.rng.getrandbits(48),
        )

    # -- one day of one window

    def day(self, window: str, day: date, counter: list[int]) -> None:
        rng = self.rng
        clerks = self.ref.clerks[window]
        items = self.ref.items[clerks[0].department]
        for n in range(self.params.per_day):
            clerk = clerks[n % len(clerks)]
            item = rng.choice(items)
            minutes = int(n * 450 / self.params.per_day) + rng.randrange(0, 10)
            counter[0] += 1
            self.case(window, clerk, item, day, minutes, counter[0])

    def case(  # noqa: PLR0917 (one call site, each argument a different thing)
        self, window: str, clerk: _Clerk, item: _Item, day: date, minutes: int, number: int
    ) -> None:
        rng, p = self.rng, self.params
        at = _at(day, minutes)
        applicant = self.uuid(at)
        name, id_number = _person_name(rng), _id_number(rng)
        self.w.add(
            Applicant,
            {
                "id": applicant,
                "origin_window": window,
                "created_at": at,
                "kind": "person",
                "name": name,
                "id_number": id_number,
                "uscc": None,
                "phone": f"13{rng.randrange(0, 10**9):09d}",
                "contact_name": "",
                "address": "",
            },
        )
        c = _Case(self, window, clerk, item, at)
        c.case_no = f"{p.hall_code}{window}{day:%Y%m%d}{number:04d}"
        c.applicant = docs.ApplicantRef(name=name, id_masked=mask_document_number(id_number))
        self.w.add(
            Case,
            {
                "id": c.id,
                "origin_window": window,
                "created_at": at,
                "case_no": c.case_no,
                "item_code": item.code,
                "applicant_id": applicant,
                "window_code": window,
                "department_code": item.department,
                "first_responder_id": clerk.id,
            },
        )
        c.event(EV.RECEIVED, at, {"item_code": item.code})
        roll = rng.random()
        decided = at + timedelta(minutes=rng.randrange(5, 25))
        if item.instant:
            if roll < 0.06:
                return self.closing(c, EV.REJECTED, decided)
            self.accept(c, day, decided, instant=True)
            completed = c.event(EV.COMPLETED, decided, {"instant": True})
            return self.offer(c, decided, Encounter.INSTANT_COMPLETION, completed)
        if roll < 0.04:
            return self.closing(c, EV.REJECTED, decided)
        if roll < 0.07:
            return self.closing(c, EV.REFERRED, decided)
        accept_day, accept_at = day, decided
        if roll < 0.17:
            # 一次性告知; the applicant comes back with the materials, or not.
            notice = self.one_time_notice(c, day, decided, ["material-1", "material-2"])
            if rng.random() < 0.12:
                second = day + timedelta(days=1)
                if self.days.is_working(second) and second <= self.end:
                    self.one_time_notice(
                        c, second, _at(second, rng.randrange(0, 400)), ["material-1", "material-3"]
                    )
                    c.event(
                        EV.ONE_TIME_VIOLATION,
                        _at(second, 401),
                        {"new_demands": ["material-3"]},
                    )
            back = self.days.add(day, rng.randrange(1, 6))
            if rng.random() < 0.2 or back > self.end:
                # evaluated at the notice's encounter
                return self.offer(c, decided, Encounter.ONE_TIME_NOTICE, notice)
            if rng.random() < 0.3:
                # 一次一评: the notice's encounter was rated too, before the applicant came back.
                self.offer(c, decided, Encounter.ONE_TIME_NOTICE, notice)
            accept_day, accept_at = back, _at(back, rng.randrange(0, 420))
            c.event(EV.SUPPLEMENT_RECEIVED, accept_at, {"checks": []})
        conditional = rng.random() < 0.1
        accepted = self.accept(c, accept_day, accept_at, conditional=conditional)
        if rng.random() < 0.3:
            # Some citizens rate the acceptance too; the hand-over gets its own offer.
            encounter = Encounter.CONDITIONAL_ACCEPTANCE if conditional else Encounter.ACCEPTANCE
            self.offer(c, accept_at + timedelta(seconds=30), encounter, accepted)
        promised = self.days.add(accept_day, item.promised_days)
        if conditional:
            due = self.days.add(accept_day, 5)
            r = rng.random()
            if r < 0.8:
                got = self.days.add(accept_day, rng.randrange(1, 6))
            elif r < 0.95:
                got = self.days.add(due, rng.randrange(1, 4))
            else:
                got = None  # never brought: the case cannot be completed
            if got is None or got > self.end:
                return
            c.event(EV.DEFERRED_MATERIALS_RECEIVED, _at(got, rng.randrange(0, 420)), {})
            promised = max(promised, got)
        r = rng.random()
        if r < 0.86:
            done = self.days.add(accept_day, rng.randint(1, max(1, item.promised_days)))
            done = max(done, promised if conditional else done)
        elif r < 0.93 and item.legal_days > item.promised_days and not conditional:
            extra = rng.randrange(1, min(5, item.legal_days - item.promised_days) + 1)
            asked = self.days.add(accept_day, max(1, item.promised_days - 1))
            new = self.days.add(accept_day, item.promised_days + extra)
            if asked <= self.end:
                c.event(
                    EV.EXTENDED,
                    _at(asked, rng.randrange(0, 420)),
                    {
                        "days": extra,
                        "reason": "需现场核查",
                        "approver": "分管负责人",
                        "promised_date": new.isoformat(),
                        "provisional": False,
                    },
                )
            done = new
        else:
            done = self.days.add(promised, rng.randrange(1, 4))  # late
        if done > self.end:
            return  # still open on the last day generated
        done_at = _at(done, rng.randrange(0, 420))
        c.event(EV.COMPLETED, done_at, {})
        handed = done_at + timedelta(minutes=rng.randrange(10, 120))
        if handed.astimezone(HALL_TZ).date() != done:
            # Finished late in the day: the applicant collects it the next working day.
            next_day = self.days.add(done, 1)
            if next_day > self.end:
                return
            handed = _at(next_day, rng.randrange(0, 420))
        # 办结 of a 承诺件 happens in the back office; the encounter is the hand-over (出件).
        over = c.event(EV.HANDED_OVER, handed, {})
        self.offer(c, handed, Encounter.HAND_OVER, over)

    def accept(
        self, c: _Case, day: date, at: datetime, *, instant: bool = False, conditional: bool = False
    ) -> str:
        item = c.item
        promised = day if instant else self.days.add(day, item.promised_days)
        legal = day if instant else self.days.add(day, item.legal_days)
        data: dict[str, Any] = {
            "accepted_on": day.isoformat(),
            "promised_days": 0 if instant else item.promised_days,
            "legal_days": item.legal_days,
            "promised_date": promised.isoformat(),
            "legal_date": legal.isoformat(),
            "provisional": False,
            "checks": [],
        }
        if instant:
            data["instant"] = True
        kind = EV.ACCEPTED
        if conditional:
            kind = EV.CONDITIONALLY_ACCEPTED
            supplement = self.days.add(day, 5)
            data |= {
                "supplement_days": 5,
                "supplement_date": supplement.isoformat(),
                "owed": ["容缺材料"],
                "commitment": "本人承诺在期限内补齐容缺材料",
            }
        if not instant:
            # 即办件 hand over the result itself; the others get their written notice.
            fields: dict[str, Any] = {
                "legal_days": item.legal_days,
                "promised_days": item.promised_days,
                "promised_date": promised,
                "legal_date": legal,
            }
            if conditional:
                fields |= {
                    "materials_owed": (docs.MaterialLine(name="容缺材料", status="容缺"),),
                    "supplement_date": self.days.add(day, 5),
                    "commitment": "本人承诺在期限内补齐容缺材料",
                }
            self.document(
                c,
                docs.DocumentType.CONDITIONAL if conditional else docs.DocumentType.ACCEPTANCE,
                at,
                **fields,
            )
        return c.event(kind, at, data)

    def one_time_notice(self, c: _Case, day: date, at: datetime, demanded: list[str]) -> str:
        deadline = self.days.add(day, 10)
        self.document(
            c,
            docs.DocumentType.ONE_TIME,
            at,
            missing_materials=tuple(docs.MaterialLine(name=m, status="缺少") for m in demanded),
            correction_days=10,
            correction_deadline=deadline,
        )
        return c.event(
            EV.SUPPLEMENT_REQUESTED,
            at,
            {
                "checks": [],
                "demanded": demanded,
                "correction_days": 10,
                "correction_deadline": deadline.isoformat(),
            },
        )

    def closing(self, c: _Case, kind: CaseEventKind, at: datetime) -> None:
        reasons = ["申请事项不符合受理条件"]
        event = c.event(kind, at, {"reasons": reasons} if kind is EV.REJECTED else {})
        if kind is EV.REJECTED:
            self.document(
                c,
                docs.DocumentType.REJECTION,
                at,
                reasons=tuple(reasons),
                legal_basis="《中华人民共和国行政许可法》第三十二条第一款第（一）项",
                remedies=docs.default_remedies(
                    str(self.config.get("hall.review_body")), str(self.config.get("hall.court"))
                ),
            )
        else:
            self.document(c, docs.DocumentType.REFERRAL, at, referral=self.referral_target(c))
        self.offer(c, at, Encounter.REFUSAL if kind is EV.REJECTED else Encounter.REFERRAL, event)

    # -- the written decision of the encounter

    def document(self, c: _Case, doc_type: docs.DocumentType, at: datetime, **fields: Any) -> None:
        """The numbered written decision handed over at the encounter (行政许可法
        第三十二条), kept with its full content for 补打, as intake writes it."""
        day = at.astimezone(HALL_TZ).date()
        key = document_counter(doc_type, c.window, day.year)
        self.doc_numbers[key] = seq = self.doc_numbers.get(key, 0) + 1
        doc_no = format_document_number(self.params.hall_code, c.window, doc_type, day.year, seq)
        dept = self.ref.departments.get(c.item.department)
        qr = str(self.config.get("printing.qr_url_template"))
        notice = docs.Notice(
            doc_type=doc_type,
            doc_no=doc_no,
            hall_name=self.config.hall_name,
            department_name=dept.name if dept else c.item.department,
            case_no=c.case_no,
            applicant=c.applicant,
            item_code=c.item.code,
            item_name=self.ref.item_names.get(c.item.code, c.item.code),
            received_at=c.received_at,
            issued_on=day,
            first_responder=self.ref.people[c.clerk.id],
            complaint_hotline=self.config.complaint_hotline,
            window_code=c.window,
            qr_url=docs.qr_url_for(qr, c.case_no) if doc_type.has_qr and qr else None,
            **fields,
        )
        self.w.add(
            IssuedDocument,
            {
                "id": self.uuid(at),
                "origin_window": c.window,
                "created_at": at,
                "case_id": c.id,
                "doc_type": doc_type.value,
                "doc_no": doc_no,
                "staff_id": c.clerk.id,
                "content": notice.to_dict(),
            },
        )

    def referral_target(self, c: _Case) -> docs.ReferralTarget:
        """Another department with a phone: the competent one the notice names."""
        others = [d for code, d in sorted(self.ref.departments.items())
                  if code != c.item.department and d.phone]  # fmt: skip
        d = self.rng.choice(others) if others else None
        if d is None:
            return docs.ReferralTarget(department="有权部门", phone=self.config.complaint_hotline)
        return docs.ReferralTarget(department=d.name, phone=d.phone, address=d.address)

    # -- the evaluation of the encounter

    def offer(self, c: _Case, at: datetime, encounter: Encounter, encounter_event_id: str) -> None:
        """The evaluator asks about one encounter (一次一评); the citizen presses a key or not."""
        rng = self.rng
        opened = c.event(
            EV.EVALUATION_OPENED,
            at,
            {"timeout_s": 60, "encounter": encounter.value,
             "encounter_event_id": encounter_event_id},
            staff=c.clerk.id,
        )  # fmt: skip
        when = at + timedelta(seconds=rng.randrange(3, 50))
        if rng.random() < 0.12:
            data: dict[str, Any] = {"why": "timeout", "opened_event_id": opened}
            c.event(EV.EVALUATION_EXPIRED, at + timedelta(seconds=60), data)
            return
        if rng.random() < c.clerk.bad_share:
            level = 1 if rng.random() < 0.4 else 2
            reasons = rng.sample(BAD_REVIEW_REASONS[:-1], rng.choice((1, 1, 2)))
            if rng.random() < 0.1:
                reasons = [f"{OTHER_REASON}：窗口午休时无人"]
        else:
            level = rng.choices(
                [lv for lv, _ in _LEVEL_WEIGHTS_GOOD], [w for _, w in _LEVEL_WEIGHTS_GOOD]
            )[0]
            reasons = []
        cleaned = validate_reasons(level, reasons)
        evaluation_id = self.uuid(when)
        row: dict[str, Any] = {
            "id": evaluation_id,
            "origin_window": c.window,
            "created_at": when,
            "case_id": c.id,
            "encounter": encounter.value,
            "encounter_event_id": encounter_event_id,
            "case_no": c.case_no,
            "item_code": c.item.code,
            "window_code": c.window,
            "staff_id": c.clerk.id,
            "department_code": c.item.department,
            "channel": "window_evaluator",
            "device": "demo-data",
            "level": level,
            "reasons": cleaned,
            "applicant_kind": "person",
        }
        # The window's hash chain, in the order the rows are written (as
        # chain.seal does at a window), so `hallapp central verify` passes.
        link(row, self.chains.setdefault(c.window, ChainHead()))
        self.w.add(Evaluation, row)
        c.event(
            EV.EVALUATED,
            when,
            {"evaluation_id": evaluation_id, "level": level, "reasons": cleaned},
        )
        if level <= 2:
            self.follow_up(c, evaluation_id, c.case_no, level, cleaned, when)

    def follow_up(  # noqa: PLR0917 (one call site)
        self,
        c: _Case,
        evaluation_id: str,
        case_no: str,
        level: int,
        reasons: list[str],
        when: datetime,
    ) -> None:
        rng, days, p = self.rng, self.days, self.params
        opened_day = when.astimezone(HALL_TZ).date()
        due = days.add(opened_day, p.rectify_days)
        label = {1: "非常不满意", 2: "不满意"}[level]

        def step(kind: FollowUpStepKind, on: date, staff: str | None, note: str) -> bool:
            if on > self.end:
                return False
            at = _at(on, rng.randrange(0, 420))
            at = max(at, when + timedelta(minutes=1))
            self.w.add(
                FollowUpStep,
                {
                    "id": self.uuid(at),
                    "origin_window": c.window,
                    "created_at": at,
                    "evaluation_id": evaluation_id,
                    "kind": kind.value,
                    "staff_id": staff,
                    "note": note,
                    "due_on": due if kind is FK.OPENED else None,
                },
            )
            if staff in self.ref.supervisor_nos and kind in (
                FK.CLOSED,
                FK.APPEAL_UPHELD,
                FK.APPEAL_REJECTED,
            ):
                self.w.add(
                    AuditEntry,
                    {
                        "id": self.uuid(at),
                        "origin_window": c.window,
                        "created_at": at,
                        "staff_no": self.ref.supervisor_nos[staff],
                        "role": Role.SUPERVISOR.value,
                        "action": f"follow_up.{kind.value}",
                        "target": evaluation_id,
                        "detail": {"case_no": case_no, "note": note},
                    },
                )
            return True

        self.w.add(
            FollowUpStep,
            {
                "id": self.uuid(when),
                "origin_window": c.window,
                "created_at": when,
                "evaluation_id": evaluation_id,
                "kind": FK.OPENED.value,
                "staff_id": None,
                "note": f"差评（{label}）：{'、'.join(reasons)}",
                "due_on": due,
            },
        )
        supervisor = rng.choice(self.ref.supervisors)
        if rng.random() < 0.15:
            # 申诉 by the clerk evaluated, reviewed by a supervisor (never the filer).
            filed = days.add(opened_day, 1)
            if not step(FK.APPEALED, filed, c.clerk.id, "办事群众误按评价键，申请复核"):
                return
            r = rng.random()
            if r < 0.2 and (self.end - opened_day).days <= 14:
                return  # still pending (only the recent ones)
            decided = days.add(filed, rng.randrange(1, 3))
            if r < 0.6:
                step(FK.APPEAL_UPHELD, decided, supervisor, "调取监控核实系误评，申诉成立")
                return
            step(FK.APPEAL_REJECTED, decided, supervisor, "经核实评价属实，申诉不成立")
        progress = rng.random()
        plan = [
            (FK.VERIFIED, 0, c.clerk.id, "已调取记录核实情况"),
            (FK.CALLED_BACK, p.call_back_days if rng.random() < 0.85 else p.call_back_days + 2,
             supervisor, "已电话回访办事群众"),
            (FK.RECTIFIED, rng.randrange(2, p.rectify_days + 1), c.clerk.id,
             "已对窗口人员进行提醒谈话并改进"),
            (FK.CLOSED, p.rectify_days if rng.random() < 0.8 else p.rectify_days + 3,
             supervisor, "整改到位，同意办结"),
        ]  # fmt: skip
        # Some follow-ups stop at each state, so the queue has work in every
        # state; old ones mostly reached the end (a few are stuck: overdue).
        recent = (self.end - opened_day).days <= 21
        edges = ((4, 0.6), (3, 0.7), (2, 0.8), (1, 0.9)) if recent else ((4, 0.96), (3, 0.98))
        stop = next((n for n, edge in edges if progress < edge), 0)
        for kind, after, staff, note in plan[:stop]:
            if not step(kind, days.add(opened_day, after) if after else opened_day, staff, note):
                return


def _months_back(end: date, months: int) -> date:
    y, m = end.year, end.month - (months - 1)
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def generate(
    store: Store,
    params: HistoryParams,
    *,
    progress: Callable[[str], None] | None = None,
) -> HistorySummary:
    """Fill ``store`` with ``params.months`` months of history ending on ``params.end``."""
    params.check()
    started = _time.perf_counter()
    rng = random.Random(params.seed)
    with store.session() as s:
        ref = _reference(s, params, rng)
        calendar = calendar_from_store(s)
    days = _Days(calendar)
    summary = HistorySummary(windows=len(ref.windows))
    gen: _Generator | None = None
    with store.engine.connect() as conn:
        gen = _Generator(conn, ref, params, days)
        first = params.start or _months_back(gen.end, params.months)
        if first > gen.end:
            raise DemoHistoryError(f"开始日期 {first} 晚于结束日期 {gen.end}")
        summary.first_day, summary.last_day = first, gen.end
        counters = {w: [0] for w in ref.windows}
        d = first
        month_of = (d.year, d.month)
        with conn.begin():
            while d <= gen.end:
                if days.is_working(d):
                    for w in ref.windows:
                        counters[w][0] = 0
                        gen.day(w, d, counters[w])
                d += timedelta(days=1)
                if gen.w.pending() > FLUSH_ROWS:
                    gen.w.flush()  # a county's month is millions of rows: memory stays flat
                if (d.year, d.month) != month_of or d > gen.end:
                    gen.w.flush()
                    if progress:
                        progress(f"{month_of[0]}年{month_of[1]}月已写入")
                    month_of = (d.year, d.month)
        summary.rows = dict(gen.w.counts)
        with conn.begin():
            # A window working on this store numbers its next documents after these.
            for scope, last in gen.doc_numbers.items():
                conn.execute(delete(NumberCounter).where(NumberCounter.scope == scope))
                conn.execute(insert(NumberCounter).values(scope=scope, last=last))
    # Fresh statistics, so the planner picks the per-case indexes for the
    # figures' correlated lookups (SQLite without them chose a range scan).
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    summary.seconds = _time.perf_counter() - started
    log.info(summary.text())
    return summary


__all__ = ["DemoHistoryError", "HistoryParams", "HistorySummary", "generate"]
