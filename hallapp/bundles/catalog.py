"""Bundles in the service catalog: their file format, their rules, their import.

A bundle is written next to the items of a catalog file. In TOML (likewise
YAML/JSON)::

    [[bundles]]
    code = "LC-YJS-001"
    name = "开办企业一件事"
    kind = "一件事"                 # or 联合审批
    lead_department = "SCJ"          # code or exact name; one of the members' departments
    form = "企业开办综合申请表（一表通）"
    promised_days = 1                # optional: the bundle's one deadline
    scope = "..."  procedure = "..."  conditions = "..."  fees = "..."  legal_basis = "..."
      [[bundles.members]]
      item = "SCJ-DJ-002"
      promised_days = 1              # optional: the member's limit inside the bundle
      [[bundles.materials]]          # optional: merged from the members when left out
      name = "..."  form = "原件"  items = ["SCJ-DJ-002", "SWJ-DJ-001"]

In .xlsx: sheets 一件事 (one row per bundle), 一件事成员 (one row per member)
and 一件事材料 (one row per material of the merged list). See
docs/catalog-format.md for the columns and the rules.

The rules come from seed 000 §七 (一窗受理制): one lead department, one form,
one guide, one set of materials, one window, one deadline; every 承诺时限 at
most 40% of the 法定时限. Members are of different departments (each gets
one sub-case, 抄告相关); a member's limit inside the bundle is never longer
than its own promise; the bundle's deadline is not before its slowest member
and within 40% of the longest legal period of its members (they run in
parallel: 同步审批).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

# The bundles build on the catalog's reading and checking; the catalog calls
# in here (late, inside its functions) for the bundles of a file.
from hallapp.catalog import (
    _FORM_WORDS,
    COPIES_MAX,
    MATERIAL_LINE_FIELDS,
    SHEET_BUNDLE_MATERIALS,
    SHEET_BUNDLES,
    SHEET_MEMBERS,
    CatalogProblem,
    ItemSpec,
    MaterialSpec,
    _cell_text,
    _Checker,
    _key,
    _RawCatalog,
    _read_sheet,
    _Record,
    _table_list,
    _text_labels,
    _unknown_keys,
    max_promised_days,
    pinyin_initials,
    update_lines,
)
from hallapp.models import Bundle, BundleKind, BundleMaterial, BundleMember, ItemKind, MaterialForm

MEMBERS_MAX = 20

# key -> (xlsx header, accepted header aliases)
BUNDLE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "code": ("一件事编码", ("编码", "联办编码", "主题编码")),
    "name": ("一件事名称", ("名称", "主题名称")),
    "kind": ("类型", ("办理方式", "联办类型")),
    "lead_department": ("牵头部门", ("牵头单位", "牵头部门编码")),
    "form": ("表单名称", ("申请表", "一张表单", "申请表名称")),
    "promised_days": ("整体承诺时限(工作日)", ("承诺时限", "整体承诺时限")),
    "scope": ("受理范围", ()),
    "procedure": ("办事程序", ("办理流程",)),
    "conditions": ("审批条件", ("办理条件",)),
    "fees": ("收费标准", ("收费",)),
    "legal_basis": ("法律依据", ("设定依据",)),
    "active": ("是否启用", ("启用",)),
    "pinyin": ("拼音简码", ("简拼", "助记码")),
}
BUNDLE_REQUIRED_COLUMNS = ("code", "name", "lead_department", "form")

MEMBER_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bundle": ("一件事编码", ("编码",)),
    "seq": ("序号", ()),
    "item": ("事项编码", ("成员事项",)),
    "promised_days": ("承诺时限(工作日)", ("部门承诺时限",)),
}
MEMBER_REQUIRED_COLUMNS = ("bundle", "item")

MATERIAL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bundle": ("一件事编码", ("编码",)),
    "seq": ("序号", ()),
    "name": ("材料名称", ("名称",)),
    "form": ("材料形式", ("形式",)),
    "copies": ("份数", ("数量",)),
    "required": ("是否必需", ("必需",)),
    "deferrable": ("是否容缺", ("容缺",)),
    "items": ("所需事项", ("用于事项", "对应事项")),
    "note": ("备注", ("说明",)),
}
MATERIAL_REQUIRED_COLUMNS = ("bundle", "name", "form")

BUNDLE_KEYS = set(BUNDLE_FIELDS) | {"members", "materials"}
MEMBER_KEYS = set(MEMBER_FIELDS) - {"bundle"}
MATERIAL_KEYS = set(MATERIAL_FIELDS) - {"bundle"}

_KIND_WORDS = {
    "一件事": BundleKind.ONE_THING,
    "one_thing": BundleKind.ONE_THING,
    "联合审批": BundleKind.JOINT,
    "并联审批": BundleKind.JOINT,
    "joint": BundleKind.JOINT,
}


# ------------------------------------------------------------------ the data


@dataclass(frozen=True)
class BundleMemberSpec:
    seq: int
    item_code: str
    promised_days: int


@dataclass(frozen=True)
class BundleMaterialSpec(MaterialSpec):
    """A material of the merged list, with the member items that need it."""

    item_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    kind: BundleKind
    lead_department_code: str
    form_name: str
    promised_days: int
    legal_days: int
    members: tuple[BundleMemberSpec, ...]
    materials: tuple[BundleMaterialSpec, ...]
    scope: str = ""
    procedure: str = ""
    conditions: str = ""
    fees: str = ""
    legal_basis: str = ""
    active: bool = True
    #: 拼音简码 as given; "" means computed from the name on import.
    pinyin: str = field(default="", compare=False)


@dataclass
class RawBundle:
    record: _Record
    members: list[_Record] = field(default_factory=list)
    materials: list[_Record] = field(default_factory=list)


def material_key(name: str) -> str:
    """The name two members' materials are the same material by (asked once)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


# ------------------------------------------------------------------ reading

_BUNDLE_LABELS = _text_labels(
    {k: v[0] for k, v in BUNDLE_FIELDS.items()} | {"members": "成员事项", "materials": "申请材料"}
)
_BUNDLE_MEMBER_LABELS = _text_labels({k: v[0] for k, v in MEMBER_FIELDS.items()})
_BUNDLE_MATERIAL_LABELS = _text_labels({k: v[0] for k, v in MATERIAL_FIELDS.items()})


def read_bundle_sheets(path: Path, sheets: Mapping[str, Any], raw: _RawCatalog) -> None:
    """Sheets 一件事, 一件事成员 and 一件事材料 (hallapp.bundles.catalog), when present."""
    if SHEET_BUNDLES not in sheets:
        for other in (SHEET_MEMBERS, SHEET_BUNDLE_MATERIALS):
            if other in sheets:
                raw.problems.append(
                    CatalogProblem(path.name, "", f"有“{other}”表但缺少“{SHEET_BUNDLES}”表")
                )
        return
    rows = _read_sheet(sheets[SHEET_BUNDLES], BUNDLE_FIELDS, BUNDLE_REQUIRED_COLUMNS, raw.problems)
    raw.bundles = [RawBundle(r) for r in rows]
    by_code: dict[str, RawBundle] = {}
    for b in raw.bundles:
        by_code.setdefault(_key(b.record.values.get("code")), b)
    parts = (
        (SHEET_MEMBERS, MEMBER_FIELDS, MEMBER_REQUIRED_COLUMNS, "members"),
        (SHEET_BUNDLE_MATERIALS, MATERIAL_FIELDS, MATERIAL_REQUIRED_COLUMNS, "materials"),
    )
    if SHEET_MEMBERS not in sheets:
        raw.problems.append(
            CatalogProblem(path.name, "", f"缺少工作表“{SHEET_MEMBERS}”（每行一个成员事项）")
        )
    for sheet, columns, required, attr in parts:
        if sheet not in sheets:
            continue
        for rec in _read_sheet(sheets[sheet], columns, required, raw.problems):
            code = _key(rec.values.get("bundle"))
            target = by_code.get(code)
            if target is None:
                raw.problems.append(
                    CatalogProblem(
                        rec.where,
                        rec.label("bundle"),
                        f"一件事编码 {code or '（空）'} 在“{SHEET_BUNDLES}”表中不存在",
                    )
                )
            else:
                getattr(target, attr).append(rec)


def bundles_from_mapping(value: Any, source: str, raw: _RawCatalog) -> None:
    """The ``bundles`` of a TOML/YAML/JSON catalog, as raw records."""
    for i, b in enumerate(_table_list(value, source, "bundles", raw.problems), 1):
        code = _cell_text(b.get("code"))
        where = f"一件事第 {i} 条" + (f"（编码 {code}）" if code else "")
        _unknown_keys(b, BUNDLE_KEYS, where, raw.problems)
        values = {k: v for k, v in b.items() if k not in ("members", "materials")}
        rb = RawBundle(_Record(where, _BUNDLE_LABELS, values))
        for attr, keys, labels, what in (
            ("members", MEMBER_KEYS, _BUNDLE_MEMBER_LABELS, "成员事项"),
            ("materials", MATERIAL_KEYS, _BUNDLE_MATERIAL_LABELS, "申请材料"),
        ):
            for j, m in enumerate(
                _table_list(b.get(attr), where, _BUNDLE_LABELS[attr], raw.problems), 1
            ):
                mwhere = f"一件事 {code or i} 的{what}第 {j} 条"
                _unknown_keys(m, keys, mwhere, raw.problems)
                getattr(rb, attr).append(_Record(mwhere, labels, {"seq": j, **m}))
        raw.bundles.append(rb)


def bundle_dict(b: BundleSpec) -> dict[str, Any]:
    """The text-format dict of a bundle (what a TOML/YAML/JSON file holds)."""
    return {
        "code": b.code,
        "name": b.name,
        "kind": b.kind.label,
        "lead_department": b.lead_department_code,
        "form": b.form_name,
        "promised_days": b.promised_days,
        "scope": b.scope,
        "procedure": b.procedure,
        "conditions": b.conditions,
        "fees": b.fees,
        "legal_basis": b.legal_basis,
        "active": b.active,
        "members": [{"item": m.item_code, "promised_days": m.promised_days} for m in b.members],
        "materials": [
            {
                "name": m.name,
                "form": m.form.value,
                "copies": m.copies,
                "required": m.required,
                "deferrable": m.deferrable,
                "note": m.note,
                "items": list(m.item_codes),
            }
            for m in b.materials
        ],
    }


# ------------------------------------------------------------------ checking


def merge_materials(
    members: Sequence[BundleMemberSpec], items: Mapping[str, ItemSpec]
) -> tuple[BundleMaterialSpec, ...]:
    """One list for the whole bundle: a material several members need, asked once.

    Same material = same name (NFKC, spaces ignored). It is required when any
    member requires it, 容缺 only when every member needing it allows that,
    in the most copies any member asks for, and as 原件及复印件 when members
    ask for different forms.
    """
    merged: dict[str, dict[str, Any]] = {}
    for member in members:
        for m in items[member.item_code].materials:
            key = material_key(m.name)
            entry = merged.get(key)
            if entry is None:
                merged[key] = {
                    "name": m.name,
                    "items": [member.item_code],
                    "forms": {m.form},
                    "copies": m.copies,
                    "required": m.required,
                    "deferrable": m.deferrable,
                    "notes": [m.note] if m.note else [],
                }
                continue
            if member.item_code not in entry["items"]:
                entry["items"].append(member.item_code)
            entry["forms"].add(m.form)
            entry["copies"] = max(entry["copies"], m.copies)
            entry["required"] = entry["required"] or m.required
            entry["deferrable"] = entry["deferrable"] and m.deferrable
            if m.note and m.note not in entry["notes"]:
                entry["notes"].append(m.note)
    out = []
    for seq, e in enumerate(merged.values(), 1):
        forms: set[MaterialForm] = e["forms"]
        form = next(iter(forms)) if len(forms) == 1 else MaterialForm.ORIGINAL_AND_COPY
        out.append(
            BundleMaterialSpec(
                seq,
                e["name"],
                form,
                e["copies"],
                e["required"],
                e["deferrable"] and e["required"],
                "；".join(e["notes"])[:500],
                item_codes=tuple(e["items"]),
            )
        )
    return tuple(out)


def check_bundles(
    c: _Checker,
    raws: Sequence[RawBundle],
    items: Mapping[str, ItemSpec],
    resolve_department: Mapping[str, str | None],
    *,
    flawed: Set[str] = frozenset(),
) -> list[BundleSpec]:
    """Validate every bundle of a file; problems go to ``c`` (all of them).

    ``flawed``: codes of the file's items refused for problems of their own
    (already reported): a member naming one is not reported again."""
    out: list[BundleSpec] = []
    seen: dict[str, str] = {}
    for raw in raws:
        rec = raw.record
        before = len(c.problems)
        code = c.code(rec, "code", what="一件事编码", max_len=64)
        if code and code in seen:
            c.add(rec, "code", f"一件事编码 {code} 与{seen[code]}重复")
            continue
        if code:
            seen[code] = rec.where
        name = c.text(rec, "name", required=True, max_len=200)
        kind_text = _cell_text(rec.values.get("kind")) or "一件事"
        kind = _KIND_WORDS.get(kind_text.lower())
        if kind is None:
            c.add(rec, "kind", f"“{kind_text}”无效，请填写“一件事”或“联合审批”")
        form_name = c.text(rec, "form", required=True, max_len=200)
        guide = {k: c.text(rec, k, max_len=4000) for k in ("scope", "procedure", "conditions")}
        fees = c.text(rec, "fees", max_len=1000)
        legal_basis = c.text(rec, "legal_basis", max_len=2000)
        active = c.boolean(rec, "active", True)
        pinyin = c.text(rec, "pinyin", max_len=200).lower()
        if pinyin and not re.fullmatch(r"[a-z0-9]+", pinyin):
            c.add(rec, "pinyin", f"“{pinyin}”无效：拼音简码只能由字母和数字组成")
        lead_text = _key(rec.values.get("lead_department"))
        lead = resolve_department.get(lead_text) if lead_text else None
        if not lead_text:
            c.add(rec, "lead_department", "不能为空，请填写牵头部门的编码或全称")
        elif lead is None:
            shared = lead_text in resolve_department
            c.add(
                rec,
                "lead_department",
                f"“{lead_text}”对应多个部门，请填写部门编码"
                if shared
                else f"部门“{lead_text}”不存在（不在“部门”表中，系统中也没有）",
            )

        members: list[BundleMemberSpec] = []
        seq_seen: dict[int, str] = {}
        dep_seen: dict[str, str] = {}
        item_seen: set[str] = set()
        flawed_member = False
        for i, mrec in enumerate(raw.members, 1):
            seq = c.integer(mrec, "seq", default=i, low=1, high=999)
            item_code = c.code(mrec, "item", what="事项编码", max_len=64)
            if not item_code:
                continue
            item = items.get(item_code)
            if item is None and item_code in flawed:
                flawed_member = True
                continue
            if item is None:
                c.add(mrec, "item", f"事项 {item_code} 不存在（不在本文件中，系统中也没有）")
                continue
            if not item.active:
                c.add(mrec, "item", f"事项 {item_code}（{item.name}）已停用，不能作为一件事的成员")
                continue
            if item_code in item_seen:
                c.add(mrec, "item", f"事项 {item_code} 在一件事 {code} 中重复")
                continue
            item_seen.add(item_code)
            dep = item.department_code
            if dep in dep_seen:
                c.add(
                    mrec,
                    "item",
                    f"事项 {item_code} 与{dep_seen[dep]}同属部门 {dep}：一件事的每个成员事项"
                    "由各自的部门办理（每个部门一个子件），同一部门的事项请合并为一个成员",
                )
                continue
            dep_seen[dep] = f"事项 {item_code}"
            own = item.promised_days
            limit = c.integer(
                mrec,
                "promised_days",
                default=own,
                low=0,
                high=own,
                unit=f" 个工作日（不超过该事项自身的承诺时限 {own} 个工作日）",
            )
            if seq is not None and seq in seq_seen:
                c.add(mrec, "seq", f"序号 {seq} 与{seq_seen[seq]}重复")
                continue
            if seq is not None:
                seq_seen[seq] = mrec.where
            if seq is not None and limit is not None:
                members.append(BundleMemberSpec(seq, item_code, limit))
        members.sort(key=lambda m: m.seq)
        if len(raw.members) < 2:
            c.add(
                rec,
                "",
                f"一件事 {code or name} 只有 {len(raw.members)} 个成员事项：一件事"
                "或联合审批至少包括两个部门的事项",
            )
        elif len(raw.members) > MEMBERS_MAX:
            c.add(rec, "", f"成员事项 {len(raw.members)} 个，超出允许范围 2–{MEMBERS_MAX} 个")
        if (
            lead
            and members
            and not flawed_member  # the lead may run the member refused for its own problem
            and lead not in {items[m.item_code].department_code for m in members}
        ):
            c.add(
                rec,
                "lead_department",
                f"牵头部门 {lead} 不办理其中任何一个成员事项：牵头部门应是成员事项的部门之一",
            )

        legal = max((items[m.item_code].legal_days for m in members), default=0)
        slowest = max((m.promised_days for m in members), default=0)
        cap = max_promised_days(legal)
        promised = c.integer(
            rec,
            "promised_days",
            default=slowest,
            low=slowest,
            high=max(slowest, cap),
            unit=f" 个工作日（不早于最慢的成员 {slowest} 个工作日，不超过"
            f"成员最长法定时限 {legal} 个工作日的 40%，即 {cap} 个）",
        )
        if promised is not None and promised > cap and members:
            c.add(
                rec,
                "promised_days",
                f"整体承诺时限 {promised} 个工作日超过成员最长法定时限 {legal} 个工作日的 40%"
                f"（最多 {cap} 个）：请缩短成员事项在一件事中的承诺时限",
            )

        materials = _check_materials(c, raw, code, items, members)
        if len(c.problems) > before or kind is None or lead is None or promised is None:
            continue
        out.append(
            BundleSpec(
                code=code,
                name=name,
                kind=kind,
                lead_department_code=lead,
                form_name=form_name,
                promised_days=promised,
                legal_days=legal,
                members=tuple(members),
                materials=materials,
                scope=guide["scope"],
                procedure=guide["procedure"],
                conditions=guide["conditions"],
                fees=fees,
                legal_basis=legal_basis,
                active=active,
                pinyin=pinyin,
            )
        )
    return out


def _item_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = "" if value is None else str(value)
    return [p.strip() for p in re.split(r"[、,，;；\s]+", text) if p.strip()]


def _check_materials(
    c: _Checker,
    raw: RawBundle,
    code: str,
    items: Mapping[str, ItemSpec],
    members: Sequence[BundleMemberSpec],
) -> tuple[BundleMaterialSpec, ...]:
    member_codes = {m.item_code for m in members}
    if not raw.materials:
        merged = merge_materials(members, items) if members else ()
        return merged
    out: list[BundleMaterialSpec] = []
    names: dict[str, str] = {}
    seqs: dict[int, str] = {}
    for i, rec in enumerate(raw.materials, 1):
        before = len(c.problems)
        seq = c.integer(rec, "seq", default=i, low=1, high=999)
        name = c.text(rec, "name", required=True, max_len=300)
        key = material_key(name)
        if key and key in names:
            c.add(
                rec,
                "name",
                f"材料“{name}”与{names[key]}重复：一件事的材料清单中同一材料"
                "只列一次（一套材料），在“所需事项”中列出需要它的全部成员事项",
            )
        elif key:
            names[key] = rec.where
        form_text = _cell_text(rec.values.get("form"))
        form = _FORM_WORDS.get(form_text.lower())
        if form is None:
            c.add(rec, "form", f"“{form_text}”无效，请填写原件、复印件、原件及复印件或电子材料")
        copies = c.integer(rec, "copies", default=1, low=1, high=COPIES_MAX, unit=" 份")
        required = c.boolean(rec, "required", True)
        deferrable = c.boolean(rec, "deferrable", False)
        note = c.text(rec, "note", max_len=500)
        needed = _item_list(rec.values.get("items"))
        if not needed:
            c.add(rec, "items", "不能为空：请列出需要这项材料的成员事项编码（用顿号分隔）")
        for item_code in needed:
            if item_code not in member_codes:
                c.add(rec, "items", f"事项 {item_code} 不是一件事 {code} 的成员事项")
        if deferrable and not required:
            c.add(rec, "deferrable", "只有必需材料才能容缺")
        if deferrable and any(
            items[x].kind is not ItemKind.PROMISED for x in needed if x in member_codes
        ):
            c.add(rec, "deferrable", "即办件当场办结，没有补交材料的期间，不能容缺")
        if seq is not None and seq in seqs:
            c.add(rec, "seq", f"序号 {seq} 与{seqs[seq]}重复")
        elif seq is not None:
            seqs[seq] = rec.where
        if len(c.problems) == before and seq is not None and form is not None and copies:
            out.append(
                BundleMaterialSpec(
                    seq, name, form, copies, required, deferrable, note, item_codes=tuple(needed)
                )
            )
    required_for = {x for m in out if m.required for x in m.item_codes}
    for member in members:
        if out and member.item_code not in required_for:
            c.add(
                raw.record,
                "",
                f"成员事项 {member.item_code} 在一件事的材料清单中没有任何必需材料："
                "一套材料应覆盖每个成员事项",
            )
    if out and all(m.deferrable or not m.required for m in out):
        c.add(raw.record, "", "一件事的必需材料全部可以容缺：至少保留一项不可容缺的必需材料")
    return tuple(sorted(out, key=lambda m: m.seq))


# ------------------------------------------------------------------ writing


@dataclass
class BundleSummary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _plain(row: Any, cls: type[Any], **given: Any) -> Any:
    """A spec of ``cls`` from a stored row: its same-named columns, and ``given``."""
    names = [f.name for f in fields(cls) if f.name not in given and f.name != "pinyin"]
    return cls(**{n: getattr(row, n) for n in names}, **given)


def bundle_spec(b: Bundle) -> BundleSpec:
    """A stored bundle as its spec (what an unchanged import compares with)."""
    spec: BundleSpec = _plain(
        b,
        BundleSpec,
        kind=BundleKind(b.kind),
        members=tuple(_plain(m, BundleMemberSpec) for m in b.members),
        materials=tuple(
            _plain(m, BundleMaterialSpec, form=MaterialForm(m.form), item_codes=tuple(m.item_codes))
            for m in b.materials
        ),
    )
    return spec


def apply_bundles(
    session: Session, specs: Iterable[BundleSpec], *, dry_run: bool = False
) -> BundleSummary:
    """Write validated bundles (by code; members and materials in place by 序号)."""
    summary = BundleSummary()
    stored = {
        b.code: b
        for b in session.scalars(
            select(Bundle).options(selectinload(Bundle.members), selectinload(Bundle.materials))
        )
    }
    for spec in specs:
        row = stored.get(spec.code)
        if (
            row is not None
            and bundle_spec(row) == spec
            and (not spec.pinyin or row.pinyin == spec.pinyin)
        ):
            summary.unchanged.append(spec.code)
            continue
        (summary.added if row is None else summary.updated).append(spec.code)
        if dry_run:
            continue
        if row is None:
            row = Bundle(code=spec.code)
            session.add(row)
        row.name, row.kind, row.form_name = spec.name, spec.kind, spec.form_name
        row.lead_department_code = spec.lead_department_code
        row.promised_days, row.legal_days = spec.promised_days, spec.legal_days
        row.scope, row.procedure, row.conditions = spec.scope, spec.procedure, spec.conditions
        row.fees, row.legal_basis, row.active = spec.fees, spec.legal_basis, spec.active
        # Given in the shipped sample, so that importing it needs no pinyin dictionary.
        row.pinyin = spec.pinyin or pinyin_initials(spec.name)
        update_lines(row.members, spec.members, BundleMember, ("item_code", "promised_days"))
        update_lines(
            row.materials, spec.materials, BundleMaterial, (*MATERIAL_LINE_FIELDS, "item_codes")
        )
    if not dry_run:
        session.flush()
    return summary


def bundles_from_store(session: Session) -> tuple[BundleSpec, ...]:
    rows = session.scalars(
        select(Bundle)
        .options(selectinload(Bundle.members), selectinload(Bundle.materials))
        .order_by(Bundle.code)
    )
    return tuple(bundle_spec(b) for b in rows)
