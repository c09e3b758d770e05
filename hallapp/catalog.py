"""The service catalog (事项清单): import, validation, export and the clerk's search.

A hall keeps its catalog in Excel, so ``.xlsx`` is the main exchange format;
the same content can be written as TOML (the format of the shipped sample),
YAML or JSON, all with one dict structure::

    [[departments]]                 # optional: departments may already be in the store
    code = "ZJJ"
    name = "连城县住房和城乡建设局"
    phone = "0597-8931234"
    address = "..."
    duties = "..."
      [[departments.contacts]]      # optional; when given it replaces the directory
      name = "..."  title = "..."  phone = "..."  matters = "..."

    [[items]]
    code = "LC-ZJJ-001"
    name = "建筑工程施工许可证核发"
    department = "ZJJ"              # department code or its exact name
    kind = "promised"               # or instant / 承诺件 / 即办件
    legal_days = 7
    promised_days = 2
    scope = "..."  procedure = "..."  conditions = "..."  fees = "..."  legal_basis = "..."
    pinyin = "jzgcsgxkzhf"          # optional 拼音简码; computed from the name when left out
      [[items.materials]]
      name = "..."  form = "原件"  copies = 1  required = true  deferrable = false  note = ""

The xlsx layout (see :func:`write_catalog_xlsx`): sheet 事项 (one row per
item), sheet 申请材料 (one row per material, keyed by 事项编码 and 序号),
and optionally 部门 and 部门联系人.

Rules checked on import (every problem is reported, with its sheet and row or
its item and key, never only the first one):

- required fields present, texts within the column lengths, codes unique;
- 承诺件 (promised items): legal_days ≥ 1 and 1 ≤ promised_days ≤ 40% of
  legal_days, rounded down (seed 000 §七: 承诺时限一律压缩至法定时限的 40% 以内);
  the message gives the computed maximum;
- 即办件 (instant items) are finished on the spot (seed 000 §七: 即办件当场办结):
  promised_days must be 0 (an empty cell means 0). legal_days may be 0 (the
  law sets no period) or any number of days (the law's period still stands;
  finishing on the spot is within 40% of it by definition);
- every item has at least one material line; a material has a name, a valid
  form (原件/复印件/原件及复印件/电子材料) and at least one copy;
- 容缺 (deferrable) is only allowed on a *required* material of a *promised*
  item, and at least one required material of the item must stay
  non-deferrable (容缺受理 presupposes 主要申请材料齐全, seed 004 §二.3); an
  instant item has no period in which to bring a material later;
- the department exists, in the file or already in the store.

The import is all-or-nothing: nothing is written unless the whole file is
valid, and the caller's transaction holds the whole write. Items are updated
in place by code; items missing from the file are left alone (or marked
inactive with ``deactivate_missing``), never deleted, since cases refer to them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from hallapp import audit
from hallapp.codes import CodeError, lookup_code, normalize_code
from hallapp.models import (
    Department,
    DepartmentContact,
    ItemKind,
    MaterialForm,
    MaterialRequirement,
    ServiceItem,
    Staff,
)
from hallapp.security import require_role
from hallapp.validation import hidden_character_problem

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from hallapp.bundles.catalog import BundleSpec, RawBundle

# openpyxl (12 MB), pypinyin (55 MB) and PyYAML are imported where they are
# used: the window client only searches the stored catalog, and loading them
# at start-up cost it 0.7 s and most of its memory.

log = logging.getLogger(__name__)

# 承诺时限 may be at most 40% of 法定时限 (seed 000 §七), as a fraction.
PROMISE_RATIO_NUM, PROMISE_RATIO_DEN = 2, 5

SHEET_ITEMS = "事项"
SHEET_MATERIALS = "申请材料"
SHEET_DEPARTMENTS = "部门"
SHEET_CONTACTS = "部门联系人"
SHEET_HELP = "填写说明"
# 一件事 / 联合审批: read and checked by hallapp.bundles.catalog.
SHEET_BUNDLES = "一件事"
SHEET_MEMBERS = "一件事成员"
SHEET_BUNDLE_MATERIALS = "一件事材料"

KIND_LABELS = {ItemKind.INSTANT: "即办件", ItemKind.PROMISED: "承诺件"}
_KIND_WORDS = {
    "即办件": ItemKind.INSTANT,
    "即办": ItemKind.INSTANT,
    "instant": ItemKind.INSTANT,
    "承诺件": ItemKind.PROMISED,
    "承诺": ItemKind.PROMISED,
    "promised": ItemKind.PROMISED,
}
_FORM_WORDS = {
    "原件": MaterialForm.ORIGINAL,
    "复印件": MaterialForm.COPY,
    "原件及复印件": MaterialForm.ORIGINAL_AND_COPY,
    "原件和复印件": MaterialForm.ORIGINAL_AND_COPY,
    "原件、复印件": MaterialForm.ORIGINAL_AND_COPY,
    "电子材料": MaterialForm.ELECTRONIC,
    "电子版": MaterialForm.ELECTRONIC,
    **{f.value: f for f in MaterialForm},
}
_YES = {"是", "y", "yes", "true", "1", "√"}
_NO = {"否", "n", "no", "false", "0", "×"}


def max_promised_days(legal_days: int) -> int:
    """The longest promise the hall may make: 40% of the legal limit, rounded down."""
    return legal_days * PROMISE_RATIO_NUM // PROMISE_RATIO_DEN


def pinyin_initials(text: str) -> str:
    """Lower-case initials of the Chinese characters (and the letters and digits) of ``text``.

    建筑工程施工许可证核发 → jzgcsgxkzhf. Punctuation is dropped, so 《》 and
    brackets in a name do not break a search.
    """
    from pypinyin import Style, lazy_pinyin

    parts = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default")
    return "".join(ch for ch in "".join(parts).lower() if ch.isascii() and ch.isalnum())


def effective_pinyin(spec: ItemSpec) -> str:
    """The item's 拼音简码: the catalog's own when given, else from the name.

    A hall gives its own where the guess from the name is wrong for how
    clerks say it (a polyphonic character: 重, 行, 单) or to add a short alias;
    a catalog that gives it for every item also imports without loading
    pypinyin's dictionaries (55 MB, a third of a second).
    """
    return spec.pinyin or pinyin_initials(spec.name)


# ------------------------------------------------------------------ the data


@dataclass(frozen=True)
class MaterialSpec:
    seq: int
    name: str
    form: MaterialForm = MaterialForm.ORIGINAL
    copies: int = 1
    required: bool = True
    deferrable: bool = False
    note: str = ""


@dataclass(frozen=True)
class ContactSpec:
    seq: int
    name: str
    phone: str
    title: str = ""
    matters: str = ""


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    phone: str = ""
    address: str = ""
    duties: str = ""
    # None: the source says nothing about contacts (leave the directory alone).
    contacts: tuple[ContactSpec, ...] | None = None


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name: str
    department_code: str
    kind: ItemKind
    legal_days: int
    promised_days: int
    scope: str = ""
    procedure: str = ""
    conditions: str = ""
    fees: str = ""
    legal_basis: str = ""
    active: bool = True
    materials: tuple[MaterialSpec, ...] = ()
    #: 拼音简码 as the catalog gives it; "" means computed from the name
    #: (:func:`pinyin_initials`). Compared apart from the rest: see _upsert_item.
    pinyin: str = field(default="", compare=False)


@dataclass(frozen=True)
class CatalogData:
    """A validated catalog, independent of where it came from."""

    departments: tuple[DepartmentSpec, ...] = ()
    items: tuple[ItemSpec, ...] = ()
    #: 一件事 / 联合审批 (hallapp.bundles.catalog.BundleSpec)
    bundles: tuple[BundleSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The text-format dict structure (what a TOML/YAML/JSON file holds)."""

        def clean(d: dict[str, Any]) -> dict[str, Any]:
            return {
                k: (v.value if isinstance(v, ItemKind | MaterialForm) else v) for k, v in d.items()
            }

        deps = []
        for dep in self.departments:
            d = clean({k: v for k, v in asdict(dep).items() if k != "contacts"})
            if dep.contacts is not None:
                d["contacts"] = [clean(asdict(c)) for c in dep.contacts]
            deps.append(d)
        items = []
        for item in self.items:
            d = clean({k: v for k, v in asdict(item).items()
                       if k != "materials" and not (k == "pinyin" and not v)})  # fmt: skip
            d["department"] = d.pop("department_code")
            d["materials"] = [clean(asdict(m)) for m in item.materials]
            items.append(d)
        out: dict[str, Any] = {"departments": deps, "items": items}
        if self.bundles:
            from hallapp.bundles.catalog import bundle_dict

            out["bundles"] = [bundle_dict(b) for b in self.bundles]
        return out


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in a catalog file: where, which field, what (in Chinese)."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.where}，{self.field}：{self.message}"
            if self.field
            else (f"{self.where}：{self.message}")
        )


class CatalogError(Exception):
    """The catalog cannot be imported; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: Sequence[CatalogProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self, *, importing: bool = True) -> str:
        """``importing``: say that nothing was imported (a check imports nothing anyway)."""
        done = "，未导入任何内容" if importing else ""
        head = f"事项清单 {self.source} 有 {len(self.problems)} 处问题{done}："
        return "\n".join([head, *(f"  {i}. {p}" for i, p in enumerate(self.problems, 1))])


@dataclass
class ImportSummary:
    source: str
    departments_added: list[str] = field(default_factory=list)
    departments_updated: list[str] = field(default_factory=list)
    items_added: list[str] = field(default_factory=list)
    items_updated: list[str] = field(default_factory=list)
    items_unchanged: list[str] = field(default_factory=list)
    items_deactivated: list[str] = field(default_factory=list)
    bundles_added: list[str] = field(default_factory=list)
    bundles_updated: list[str] = field(default_factory=list)
    bundles_unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.departments_added
            or self.departments_updated
            or self.items_added
            or self.items_updated
            or self.items_deactivated
            or self.bundles_added
            or self.bundles_updated
        )

    def text(self) -> str:
        verb = "校验通过（试导入，未写入）" if self.dry_run else "导入完成"
        return (
            f"事项清单 {self.source} {verb}：部门新增 {len(self.departments_added)}、"
            f"更新 {len(self.departments_updated)}；事项新增 {len(self.items_added)}、"
            f"更新 {len(self.items_updated)}、未变 {len(self.items_unchanged)}、"
            f"停用 {len(self.items_deactivated)}"
            + (
                f"；一件事新增 {len(self.bundles_added)}、更新 {len(self.bundles_updated)}、"
                f"未变 {len(self.bundles_unchanged)}"
                if self.bundles_added or self.bundles_updated or self.bundles_unchanged
                else ""
            )
        )

    def as_detail(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "departments_added": self.departments_added,
            "departments_updated": self.departments_updated,
            "items_added": self.items_added,
            "items_updated": self.items_updated,
            "items_deactivated": self.items_deactivated,
            "bundles_added": self.bundles_added,
            "bundles_updated": self.bundles_updated,
        }


# ------------------------------------------------------------- field tables

# key -> (xlsx header, accepted header aliases (normalised), Chinese name)
_ITEM_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "code": ("事项编码", ("编码", "事项代码", "实施编码")),
    "name": ("事项名称", ("名称",)),
    "department": ("实施部门", ("实施主体", "部门", "部门编码", "实施部门编码")),
    "kind": ("办件类型", ("事项类型", "类型")),
    "legal_days": ("法定时限(工作日)", ("法定办结时限",)),
    "promised_days": ("承诺时限(工作日)", ("承诺办结时限",)),
    "scope": ("受理范围", ()),
    "procedure": ("办事程序", ("办理流程", "办理程序")),
    "conditions": ("审批条件", ("受理条件", "办理条件")),
    "fees": ("收费标准", ("收费", "收费依据及标准")),
    "legal_basis": ("法律依据", ("设定依据", "实施依据")),
    "active": ("是否启用", ("启用",)),
    "pinyin": ("拼音简码", ("简拼", "助记码", "拼音首字母")),
}
_ITEM_REQUIRED_COLUMNS = ("code", "name", "department", "kind", "legal_days", "promised_days")

_MATERIAL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "item": ("事项编码", ("编码",)),
    "seq": ("序号", ()),
    "name": ("材料名称", ("名称",)),
    "form": ("材料形式", ("形式", "材料类型")),
    "copies": ("份数", ("数量",)),
    "required": ("是否必需", ("是否必要", "必需", "必要性")),
    "deferrable": ("是否容缺", ("容缺",)),
    "note": ("备注", ("说明", "填报须知")),
}
_MATERIAL_REQUIRED_COLUMNS = ("item", "name", "form")

_DEPARTMENT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "code": ("部门编码", ("编码",)),
    "name": ("部门名称", ("名称",)),
    "phone": ("电话", ("联系电话", "咨询电话")),
    "address": ("地址", ("办公地址",)),
    "duties": ("职责", ("主要职责", "职能")),
}
_DEPARTMENT_REQUIRED_COLUMNS = ("code", "name")

_CONTACT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "department": ("部门编码", ("部门",)),
    "seq": ("序号", ()),
    "name": ("姓名", ("联系人",)),
    "title": ("职务", ()),
    "phone": ("电话", ("联系电话",)),
    "matters": ("承办事项", ("负责事项",)),
}
_CONTACT_REQUIRED_COLUMNS = ("department", "name", "phone")

# Chinese names of the text-format keys, shown next to the key in messages.
_KEY_NAMES = {
    **{k: v[0] for k, v in _ITEM_FIELDS.items()},
    "materials": "申请材料",
    "contacts": "联系人",
    "departments": "部门",
    "items": "事项",
}
_MATERIAL_KEY_NAMES = {k: v[0] for k, v in _MATERIAL_FIELDS.items()}
_DEPARTMENT_KEY_NAMES = {k: v[0] for k, v in _DEPARTMENT_FIELDS.items()}
_CONTACT_KEY_NAMES = {k: v[0] for k, v in _CONTACT_FIELDS.items()}

# Ranges of the numbers a catalog gives (docs/catalog-format.md). No approval
# law in a county hall's catalog sets a period near a year of working days; a
# larger figure is a typo (days for hours, an extra zero) that would make every
# acceptance of the item fail at the window. 20 copies is more than any guide
# asks for one material; 100 materials is well above the longest item known
# (the 40-material stress case).
LEGAL_DAYS_MAX = 250
COPIES_MAX = 20
SEQ_MAX = 999
MATERIALS_MAX = 100

# Text lengths: the model's column where it has one (a longer text would fail
# on PostgreSQL), else what a printed guide or notice can carry.
_MAX_LEN = {
    "item.scope": 4000,
    "item.procedure": 4000,
    "item.conditions": 4000,
    "item.fees": 1000,
    "item.legal_basis": 2000,
    "material.note": 500,
    "department.duties": 2000,
    "contact.matters": 500,
    "item.code": 64,
    "item.name": 200,
    "item.pinyin": 200,
    "department.code": 32,
    "department.name": 100,
    "department.phone": 40,
    "department.address": 200,
    "contact.name": 50,
    "contact.title": 50,
    "contact.phone": 40,
    "material.name": 300,
}
# The control characters an xlsx file cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
_CONTROL_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_PHONE_RE = re.compile(r"^[0-9+\-()（）\s转/、,，]+$")


# --------------------------------------------------------------- raw records


@dataclass
class _Record:
    """One record as read from a source, before validation."""

    where: str
    labels: Mapping[str, str]  # key -> how this source names the field
    values: dict[str, Any]

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


@dataclass
class _RawItem:
    record: _Record
    materials: list[_Record] = field(default_factory=list)


@dataclass
class _RawDepartment:
    record: _Record
    contacts: list[_Record] | None = None


@dataclass
class _RawCatalog:
    source: str
    departments: list[_RawDepartment] = field(default_factory=list)
    items: list[_RawItem] = field(default_factory=list)
    problems: list[CatalogProblem] = field(default_factory=list)
    bundles: list[RawBundle] = field(default_factory=list)


def _norm_header(text: Any) -> str:
    s = str(text or "").strip().replace("（", "(").replace("）", ")")
    s = re.sub(r"\(.*?\)", "", s)
    return re.sub(r"[\s*＊]", "", s)


def _header_map(fields: Mapping[str, tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, (header, aliases) in fields.items():
        out[_norm_header(header)] = key
        for alias in aliases:
            out.setdefault(_norm_header(alias), key)
    return out


# ------------------------------------------------------------------ reading xlsx


def _read_sheet(
    ws: Any,
    fields: Mapping[str, tuple[str, tuple[str, ...]]],
    required_columns: Iterable[str],
    problems: list[CatalogProblem],
) -> list[_Record]:
    title = f"工作表“{ws.title}”"
    names = _header_map(fields)
    # Sheets kept by hand often carry a title row or two above the headers:
    # the header is the first row that names at least two known columns.
    rows = enumerate(ws.iter_rows(values_only=True), start=1)
    header: Sequence[Any] | None = None
    header_rowno = 0
    for rowno, row in rows:
        if sum(1 for cell in row if _norm_header(cell) in names) >= 2:
            header, header_rowno = row, rowno
            break
        if rowno >= _HEADER_SEARCH_ROWS:
            break
    if header is None:
        problems.append(
            CatalogProblem(
                title,
                "",
                f"前 {_HEADER_SEARCH_ROWS} 行中找不到表头（例如“{next(iter(fields.values()))[0]}”"
                f"“{list(fields.values())[1][0]}”等列名），请按导出模板填写",
            )
        )
        return []
    head_where = f"{title}第 {header_rowno} 行（表头）"
    columns: dict[int, str] = {}
    labels: dict[str, str] = {}
    for idx, cell in enumerate(header):
        key = names.get(_norm_header(cell))
        if key is None:
            if cell not in (None, ""):
                log.info("sheet %s: column %r ignored", ws.title, cell)
            continue
        if key in labels:
            problems.append(CatalogProblem(head_where, str(cell), f"与“{labels[key]}”重复"))
            continue
        columns[idx] = key
        labels[key] = str(cell).strip()
    missing = [k for k in required_columns if k not in labels]
    for key in missing:
        problems.append(CatalogProblem(head_where, fields[key][0], "缺少这一列，请按导出模板补上"))
    if missing:
        return []
    records = []
    for rowno, row in rows:
        values = {key: row[idx] for idx, key in columns.items() if idx < len(row)}
        # Blank lines between blocks, and template rows with only a 序号, are
        # common in hand-kept sheets.
        if all(
            v is None or (isinstance(v, str) and not v.strip())
            for k, v in values.items()
            if k != "seq"
        ):
            continue
        records.append(_Record(f"{title}第 {rowno} 行", labels, values))
    return records


_HEADER_SEARCH_ROWS = 10
# Names halls give their sheets, besides ours.
_SHEET_ALIASES = {
    SHEET_ITEMS: ("事项", "事项清单", "政务服务事项", "事项目录"),
    SHEET_MATERIALS: ("申请材料", "材料", "材料清单", "申请材料清单"),
    SHEET_DEPARTMENTS: ("部门", "部门信息", "实施部门"),
    SHEET_CONTACTS: ("部门联系人", "联系人", "联系人名录"),
    SHEET_BUNDLES: ("一件事", "一件事清单", "联合审批", "主题事项"),
    SHEET_MEMBERS: ("一件事成员", "一件事成员事项", "联合审批成员"),
    SHEET_BUNDLE_MATERIALS: ("一件事材料", "一件事申请材料", "联合审批材料"),
}


def _find_sheets(worksheets: Iterable[Any]) -> dict[str, Any]:
    by_title = {ws.title.strip(): ws for ws in worksheets}
    found: dict[str, Any] = {}
    for sheet, aliases in _SHEET_ALIASES.items():
        for alias in aliases:
            if alias in by_title:
                found[sheet] = by_title[alias]
                break
    return found


def _unreadable(path: Path, message: str) -> _RawCatalog:
    """A file that could not be read at all: one problem for the whole file."""
    return _RawCatalog(path.name, problems=[CatalogProblem(path.name, "", message)])


def _read_xlsx(path: Path) -> _RawCatalog:
    try:
        return _read_xlsx_unguarded(path)
    except Exception:
        # A damaged file fails inside openpyxl or the XML parser with whatever
        # error the damage leads to (ParseError, KeyError, ValueError, zlib.error,
        # EOFError …), often only when a sheet is streamed. The file is the
        # problem, not the program: report it, keep the details in the log.
        log.info("cannot read %s", path, exc_info=True)
        return _unreadable(
            path,
            "Excel 文件已损坏，无法读取。"
            "请用 Excel 或 WPS 打开后“另存为”.xlsx 再导入；打不开时请用导出的模板重新填写",
        )


def _read_xlsx_unguarded(path: Path) -> _RawCatalog:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    raw = _RawCatalog(source=path.name)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        # The class is for the log; the user is told what is wrong with the file.
        log.info("cannot read %s: %s: %s", path, exc.__class__.__name__, exc)
        what = (
            "无法读取 Excel 文件：没有读取该文件的权限"
            if isinstance(exc, PermissionError)
            else "无法读取 Excel 文件：文件无法打开"
            if isinstance(exc, OSError)
            else "无法读取 Excel 文件：不是有效的 .xlsx 工作簿（文件已损坏或不是 Excel 文件）"
        )
        raw.problems.append(
            CatalogProblem(
                path.name,
                "",
                f"{what}，请用 Excel 以 .xlsx 格式另存后重试",
            )
        )
        return raw
    try:
        # A read-only workbook gives ReadOnlyWorksheet objects (same iter_rows).
        sheets = _find_sheets(wb.worksheets)
        if SHEET_ITEMS not in sheets:
            raw.problems.append(
                CatalogProblem(path.name, "", f"缺少工作表“{SHEET_ITEMS}”（每行一个事项）")
            )
            return raw
        before = len(raw.problems)
        item_rows = _read_sheet(
            sheets[SHEET_ITEMS], _ITEM_FIELDS, _ITEM_REQUIRED_COLUMNS, raw.problems
        )
        raw.items = [_RawItem(r) for r in item_rows]
        # When the item sheet itself is unreadable, every material row would
        # also "miss" its item: report the cause, not a flood of consequences.
        items_readable = len(raw.problems) == before
        if SHEET_MATERIALS not in sheets:
            raw.problems.append(
                CatalogProblem(path.name, "", f"缺少工作表“{SHEET_MATERIALS}”（每行一项申请材料）")
            )
        else:
            by_code: dict[str, _RawItem] = {}
            for it in raw.items:
                by_code.setdefault(_key(it.record.values.get("code")), it)
            for rec in _read_sheet(
                sheets[SHEET_MATERIALS], _MATERIAL_FIELDS, _MATERIAL_REQUIRED_COLUMNS, raw.problems
            ):
                code = _key(rec.values.get("item"))
                if not code:
                    raw.problems.append(CatalogProblem(rec.where, rec.label("item"), "不能为空"))
                elif code not in by_code and not items_readable:
                    continue
                elif code not in by_code:
                    raw.problems.append(
                        CatalogProblem(
                            rec.where,
                            rec.label("item"),
                            f"事项编码 {code} 在“{SHEET_ITEMS}”表中不存在",
                        )
                    )
                else:
                    by_code[code].materials.append(rec)
        if SHEET_DEPARTMENTS in sheets:
            dep_rows = _read_sheet(
                sheets[SHEET_DEPARTMENTS],
                _DEPARTMENT_FIELDS,
                _DEPARTMENT_REQUIRED_COLUMNS,
                raw.problems,
            )
            raw.departments = [_RawDepartment(r) for r in dep_rows]
            if SHEET_CONTACTS in sheets:
                by_dep: dict[str, _RawDepartment] = {}
                for dep in raw.departments:
                    dep.contacts = []
                    by_dep.setdefault(_key(dep.record.values.get("code")), dep)
                for rec in _read_sheet(
                    sheets[SHEET_CONTACTS], _CONTACT_FIELDS, _CONTACT_REQUIRED_COLUMNS, raw.problems
                ):
                    code = _key(rec.values.get("department"))
                    target = by_dep.get(code)
                    if target is None or target.contacts is None:
                        raw.problems.append(
                            CatalogProblem(
                                rec.where,
                                rec.label("department"),
                                f"部门编码 {code or '（空）'} 在“{SHEET_DEPARTMENTS}”表中不存在",
                            )
                        )
                    else:
                        target.contacts.append(rec)
        elif SHEET_CONTACTS in sheets:
            raw.problems.append(
                CatalogProblem(
                    path.name, "", f"有“{SHEET_CONTACTS}”表但缺少“{SHEET_DEPARTMENTS}”表"
                )
            )
        from hallapp.bundles.catalog import read_bundle_sheets

        read_bundle_sheets(path, sheets, raw)
    finally:
        wb.close()
    return raw


# ------------------------------------------------------------ reading text


def _text_labels(names: Mapping[str, str]) -> dict[str, str]:
    return {k: f"{k}（{v}）" for k, v in names.items()}


_ITEM_LABELS = _text_labels(_KEY_NAMES)
_MATERIAL_LABELS = _text_labels(_MATERIAL_KEY_NAMES)
_DEPARTMENT_LABELS = _text_labels({**_DEPARTMENT_KEY_NAMES, "contacts": "联系人"})
_CONTACT_LABELS = _text_labels(_CONTACT_KEY_NAMES)

_ITEM_KEYS = set(_ITEM_FIELDS) | {"materials"}
_MATERIAL_KEYS = set(_MATERIAL_FIELDS) - {"item"}
_DEPARTMENT_KEYS = set(_DEPARTMENT_FIELDS) | {"contacts"}
_CONTACT_KEYS = set(_CONTACT_FIELDS) - {"department"}
_TOP_KEYS = {"departments", "items", "bundles", "format", "version", "title", "description"}


def _table_list(
    value: Any, where: str, label: str, problems: list[CatalogProblem]
) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(CatalogProblem(where, label, "应为表的列表（TOML 中写作 [[...]]）"))
        return []
    out = []
    for i, entry in enumerate(value, 1):
        if isinstance(entry, Mapping):
            out.append(entry)
        else:
            problems.append(CatalogProblem(f"{where}第 {i} 条", label, "应为一个表（键 = 值）"))
    return out


def _unknown_keys(
    entry: Mapping[str, Any], allowed: set[str], where: str, problems: list[CatalogProblem]
) -> None:
    for key in entry:
        if key not in allowed:
            problems.append(
                CatalogProblem(
                    where, str(key), f"未知的字段；可用字段：{'、'.join(sorted(allowed))}"
                )
            )


def _from_mapping(data: Any, source: str) -> _RawCatalog:
    raw = _RawCatalog(source=source)
    if not isinstance(data, Mapping):
        raw.problems.append(
            CatalogProblem(source, "", "文件内容应为一个表，包含 departments 和 items")
        )
        return raw
    _unknown_keys(data, _TOP_KEYS, source, raw.problems)
    for i, dep in enumerate(
        _table_list(data.get("departments"), source, "departments", raw.problems), 1
    ):
        code = _cell_text(dep.get("code"))
        where = f"部门第 {i} 条" + (f"（编码 {code}）" if code else "")
        _unknown_keys(dep, _DEPARTMENT_KEYS, where, raw.problems)
        values = {k: v for k, v in dep.items() if k != "contacts"}
        rd = _RawDepartment(_Record(where, _DEPARTMENT_LABELS, values))
        if "contacts" in dep:
            rd.contacts = []
            for j, c in enumerate(
                _table_list(dep["contacts"], where, _DEPARTMENT_LABELS["contacts"], raw.problems), 1
            ):
                cwhere = f"部门 {code or i} 的联系人第 {j} 条"
                _unknown_keys(c, _CONTACT_KEYS, cwhere, raw.problems)
                rd.contacts.append(_Record(cwhere, _CONTACT_LABELS, {"seq": j, **c}))
        raw.departments.append(rd)
    items = _table_list(data.get("items"), source, "items", raw.problems)
    for i, it in enumerate(items, 1):
        code = _cell_text(it.get("code"))
        where = f"事项第 {i} 条" + (f"（编码 {code}）" if code else "")
        _unknown_keys(it, _ITEM_KEYS, where, raw.problems)
        values = {k: v for k, v in it.items() if k != "materials"}
        ri = _RawItem(_Record(where, _ITEM_LABELS, values))
        for j, m in enumerate(
            _table_list(it.get("materials"), where, _ITEM_LABELS["materials"], raw.problems), 1
        ):
            mwhere = f"事项 {code or i} 的申请材料第 {j} 条"
            _unknown_keys(m, _MATERIAL_KEYS, mwhere, raw.problems)
            ri.materials.append(_Record(mwhere, _MATERIAL_LABELS, {"seq": j, **m}))
        raw.items.append(ri)
    if "bundles" in data:
        from hallapp.bundles.catalog import bundles_from_mapping

        bundles_from_mapping(data["bundles"], source, raw)
    return raw


def _read_text_file(path: Path) -> _RawCatalog:
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return _unreadable(path, "文件不是 UTF-8 编码，请另存为 UTF-8")
    except OSError as exc:
        return _unreadable(path, f"无法读取文件：{exc}")
    import yaml

    fmt = {".toml": "TOML", ".yaml": "YAML", ".yml": "YAML"}.get(suffix, "JSON")
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        log.info("cannot parse %s: %s", path, exc)
        from hallapp.validation import toml_problem

        problem = toml_problem(exc) if isinstance(exc, tomllib.TOMLDecodeError) else str(exc)
        return _unreadable(path, f"{fmt} 格式错误：{problem}")
    except RecursionError:
        # The parsers recurse per level; a catalog is four levels deep at most.
        log.info("cannot parse %s: nested too deeply", path)
        return _unreadable(
            path,
            f"{fmt} 内容嵌套层数过多（事项清单只有 items → materials → 字段 几层），"
            "文件不是事项清单或已损坏，请用导出的模板重新生成",
        )
    except ValueError as exc:
        # Python refuses int() of more than 4300 digits (CVE-2020-10735); the
        # parsers let that ValueError through.
        log.info("cannot parse %s: %s", path, exc)
        return _unreadable(
            path,
            f"{fmt} 文件中有一个数字位数过多（数千位），不可能是时限或份数；"
            "请找到并改正这个数字（各项的允许范围见 docs/catalog-format.md）",
        )
    depth, nodes = _shape(data)
    if depth > _MAX_DEPTH:
        return _unreadable(
            path,
            f"{fmt} 内容嵌套超过 {_MAX_DEPTH} 层，事项清单用不到这么多层；"
            "文件不是事项清单或已损坏，请用导出的模板重新生成",
        )
    if nodes > _MAX_NODES:
        # YAML anchors and aliases let a small file stand for billions of
        # values ("billion laughs"): counted as read, it is refused here.
        log.info("cannot read %s: more than %d values once aliases are expanded", path, nodes)
        return _unreadable(
            path,
            f"{fmt} 内容展开后超过 {_MAX_NODES:,} 个值（YAML 的锚点与别名 &/* 会成倍展开），"
            "远多于任何事项清单；文件不是事项清单或已损坏，请用导出的模板重新生成",
        )
    return _from_mapping(data, path.name)


# A catalog is: top table → items list → item table → materials list →
# material table → a value; some room for a list value a hall adds.
_MAX_DEPTH = 8


# Values (tables, lists and scalars) a catalog may hold once read: 10,000
# items of 30 materials of 15 fields is 4.5 million.
_MAX_NODES = 5_000_000


def _shape(data: Any, limit: int = _MAX_DEPTH + 1) -> tuple[int, int]:
    """How deeply lists and tables nest (counted up to ``limit``) and how many
    values the data holds as the import will walk it, shared (aliased) parts
    counted each time they occur, stopping past ``_MAX_NODES``; no recursion."""
    deepest = 0
    nodes = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack and nodes <= _MAX_NODES:
        value, level = stack.pop()
        nodes += 1
        if isinstance(value, Mapping | list):
            deepest = max(deepest, level)
            if level < limit:
                children = value.values() if isinstance(value, Mapping) else value
                stack.extend((child, level + 1) for child in children)
    return deepest, nodes


SUPPORTED_SUFFIXES = (".xlsx", ".toml", ".yaml", ".yml", ".json")
#: A county's catalog of a few thousand items is a few MB, as text or as xlsx.
MAX_FILE_BYTES = 50 * 1024 * 1024


def _read_source(source: str | os.PathLike[str] | Mapping[str, Any]) -> _RawCatalog:
    if isinstance(source, Mapping):
        return _from_mapping(source, "（数据）")
    path = Path(source)
    if not path.exists():
        return _RawCatalog(path.name, problems=[CatalogProblem(str(path), "", "文件不存在")])
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _unreadable(path, f"无法读取文件：{exc.strerror}")
    if size > MAX_FILE_BYTES:
        return _unreadable(
            path,
            f"文件大小 {size // (1024 * 1024)} MB，超出事项清单允许的 "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB；请检查是否选错了文件",
        )
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix in SUPPORTED_SUFFIXES:
        return _read_text_file(path)
    return _unreadable(
        path, f"不支持的文件类型 {suffix or '（无扩展名）'}；请使用 .xlsx、.toml、.yaml 或 .json"
    )


# ------------------------------------------------------------------ validation


# More digits than any range here allows; checked before int() is tried.
_MAX_DIGITS = 9


def _show_int(n: int) -> str:
    # str() of an int of thousands of digits raises in Python 3.11+.
    return str(n) if n.bit_length() <= 64 else f"一个约 {int(n.bit_length() * 0.30103)} 位的数"


def _key(value: Any) -> str:
    """A cell as a code to match rows by: the form :func:`normalize_code` gives."""
    return lookup_code(_cell_text(value))


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class _Checker:
    """Turns raw values into typed ones, collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[CatalogProblem] = []

    def add(self, rec: _Record, key: str, message: str) -> None:
        self.problems.append(CatalogProblem(rec.where, rec.label(key) if key else "", message))

    def text(
        self, rec: _Record, key: str, *, required: bool = False, max_len: int = 0,
        hidden_checked: bool = True,
    ) -> str:  # fmt: skip
        value = rec.values.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            self.add(rec, key, "应为文字")
            return ""
        s = _cell_text(value)
        # Excel keeps CRLF from pasted text; the documents want plain lines.
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        if required and not s:
            self.add(rec, key, "不能为空")
        if max_len and len(s) > max_len:
            self.add(rec, key, f"长度 {len(s)} 字超过上限 {max_len} 字")
        hidden = hidden_character_problem(s) if hidden_checked else ""
        if hidden:
            self.add(rec, key, hidden)
        return s

    def integer(
        self,
        rec: _Record,
        key: str,
        *,
        default: int | None = None,
        low: int = 0,
        high: int,
        unit: str = "",
    ) -> int | None:
        """An integer in ``low..high``; the message names the value and the range."""
        value = rec.values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if default is None:
                self.add(rec, key, "不能为空，请填写工作日数（整数）")
            return default
        n: int | None = None
        if isinstance(value, bool):
            n = None
        elif isinstance(value, int):
            n = value
        elif isinstance(value, float) and value.is_integer():
            n = int(value)
        elif isinstance(value, str):
            # "20个工作日" is how guides write it; the column is in working days
            # already. "20天"/"20日" could mean calendar days, so they are refused.
            m = re.fullmatch(r"\s*(\d+)\s*(?:个?工作日)?\s*", value)
            if m and len(m.group(1).lstrip("0")) > _MAX_DIGITS:
                # int() of thousands of digits is refused by Python itself
                # (and is a typo anyway): say so without converting.
                self.add(
                    rec,
                    key,
                    f"数值有 {len(m.group(1))} 位，超出允许范围 {low}–{high}{unit}，请检查是否写错",
                )
                return None
            n = int(m.group(1)) if m else None
        if n is None:
            shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
            self.add(rec, key, f"“{shown}”不是整数，请只填写数字，例如 20")
            return None
        if n < 0:
            self.add(rec, key, f"不能为负数（{n}）")
            return None
        if not low <= n <= high:
            self.add(rec, key, f"{_show_int(n)} 超出允许范围 {low}–{high}{unit}")
            return None
        return n

    def code(self, rec: _Record, key: str, *, what: str, max_len: int) -> str:
        """A code (NFKC, no hidden characters; see hallapp.codes)."""
        # normalize_code names the hidden character itself (U+…).
        s = self.text(rec, key, required=True, max_len=max_len, hidden_checked=False)
        if not s:
            return s
        try:
            return normalize_code(s, what=what)
        except CodeError as exc:
            self.add(rec, key, str(exc))
            return ""

    def boolean(self, rec: _Record, key: str, default: bool) -> bool:
        value = rec.values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            return value
        word = _cell_text(value).lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        self.add(rec, key, f"“{value}”无效，请填写“是”或“否”")
        return default

    def phone(self, rec: _Record, key: str, *, required: bool, max_len: int) -> str:
        s = self.text(rec, key, required=required, max_len=max_len)
        if s and (not _PHONE_RE.match(s) or sum(ch.isdigit() for ch in s) < 5):
            self.add(rec, key, f"“{s}”不像电话号码，请填写例如 0597-8931234 或 13905971234")
        return s


def _check_department(c: _Checker, raw: _RawDepartment) -> DepartmentSpec | None:
    rec = raw.record
    before = len(c.problems)
    code = c.code(rec, "code", what="部门编码", max_len=_MAX_LEN["department.code"])
    if code and not re.fullmatch(r"[A-Za-z0-9_\-.]+", code):
        c.add(rec, "code", f"“{code}”无效：部门编码只能由字母、数字、-、_ 组成")
    name = c.text(rec, "name", required=True, max_len=_MAX_LEN["department.name"])
    phone = c.phone(rec, "phone", required=False, max_len=_MAX_LEN["department.phone"])
    address = c.text(rec, "address", max_len=_MAX_LEN["department.address"])
    duties = c.text(rec, "duties", max_len=_MAX_LEN["department.duties"])
    contacts: tuple[ContactSpec, ...] | None = None
    if raw.contacts is not None:
        out: list[ContactSpec] = []
        seen: dict[int, str] = {}
        for i, crec in enumerate(raw.contacts, 1):
            seq = c.integer(crec, "seq", default=i, high=SEQ_MAX)
            cname = c.text(crec, "name", required=True, max_len=_MAX_LEN["contact.name"])
            ctitle = c.text(crec, "title", max_len=_MAX_LEN["contact.title"])
            cphone = c.phone(crec, "phone", required=True, max_len=_MAX_LEN["contact.phone"])
            matters = c.text(crec, "matters", max_len=_MAX_LEN["contact.matters"])
            if seq is not None and seq in seen:
                c.add(crec, "seq", f"序号 {seq} 与{seen[seq]}重复")
            elif seq is not None:
                seen[seq] = crec.where
            if seq is not None:
                out.append(ContactSpec(seq, cname, cphone, ctitle, matters))
        contacts = tuple(sorted(out, key=lambda x: x.seq))
    if len(c.problems) > before:
        return None
    return DepartmentSpec(code, name, phone, address, duties, contacts)


def _check_item(
    c: _Checker, raw: _RawItem, resolve_department: Mapping[str, str | None]
) -> ItemSpec | None:
    rec = raw.record
    before = len(c.problems)
    code = c.code(rec, "code", what="事项编码", max_len=_MAX_LEN["item.code"])
    if code and re.search(r"\s", code):
        c.add(rec, "code", f"“{code}”中不能有空格或换行")
    name = c.text(rec, "name", required=True, max_len=_MAX_LEN["item.name"])
    dep_ref = c.text(rec, "department", required=True)
    department_code = ""
    if dep_ref:
        # By exact name, else as a code typed in another width (ＺＪＪ).
        department_code = resolve_department.get(dep_ref) or (
            resolve_department.get(lookup_code(dep_ref), "") or ""
        )
        if dep_ref in resolve_department and not department_code:
            c.add(rec, "department", f"有多个部门名为“{dep_ref}”，请改填部门编码")
        elif not department_code:
            c.add(
                rec,
                "department",
                f"部门“{dep_ref}”不存在：请先在“{SHEET_DEPARTMENTS}”表（或 departments）中登记，"
                "或填写已有部门的编码或全称",
            )
    kind_text = c.text(rec, "kind", required=True)
    kind: ItemKind | None = None
    if kind_text:
        kind = _KIND_WORDS.get(kind_text.lower())
        if kind is None:
            c.add(rec, "kind", f"“{kind_text}”无效，请填写“即办件”或“承诺件”")
    legal = promised = None
    if kind is ItemKind.INSTANT:
        legal = c.integer(rec, "legal_days", default=0, high=LEGAL_DAYS_MAX, unit=" 个工作日")
        promised = c.integer(rec, "promised_days", default=0, high=LEGAL_DAYS_MAX, unit=" 个工作日")
        if promised:
            c.add(
                rec,
                "promised_days",
                f"即办件当场办结，承诺时限应为 0，不能是 {promised} 个工作日；"
                "需要若干工作日办结的事项请填写为承诺件",
            )
    elif kind is ItemKind.PROMISED:
        legal = c.integer(rec, "legal_days", high=LEGAL_DAYS_MAX, unit=" 个工作日")
        promised = c.integer(rec, "promised_days", high=LEGAL_DAYS_MAX, unit=" 个工作日")
        if legal == 0:
            c.add(
                rec,
                "legal_days",
                "承诺件的法定时限应至少 1 个工作日；法律未规定时限、当场办结的请填写为即办件",
            )
        if promised == 0:
            c.add(
                rec,
                "promised_days",
                "承诺件的承诺时限应至少 1 个工作日；当场办结的事项请填写为即办件",
            )
        if legal and promised:
            limit = max_promised_days(legal)
            if limit == 0:
                c.add(
                    rec,
                    "promised_days",
                    f"法定时限 {legal} 个工作日的 40% 不足 1 个工作日，承诺件无法满足；"
                    "请改为即办件（当场办结）",
                )
            elif promised > limit:
                c.add(
                    rec,
                    "promised_days",
                    f"承诺时限 {promised} 个工作日超过法定时限 {legal} 个工作日的 40%，"
                    f"最多可承诺 {limit} 个工作日（承诺时限一律压缩至法定时限的 40% 以内）",
                )
    scope = c.text(rec, "scope", max_len=_MAX_LEN["item.scope"])
    procedure = c.text(rec, "procedure", max_len=_MAX_LEN["item.procedure"])
    conditions = c.text(rec, "conditions", max_len=_MAX_LEN["item.conditions"])
    fees = c.text(rec, "fees", max_len=_MAX_LEN["item.fees"])
    legal_basis = c.text(rec, "legal_basis", required=True, max_len=_MAX_LEN["item.legal_basis"])
    active = c.boolean(rec, "active", True)
    pinyin = c.text(rec, "pinyin", max_len=_MAX_LEN["item.pinyin"]).lower().replace(" ", "")
    if pinyin and not re.fullmatch(r"[a-z0-9]+", pinyin):
        c.add(rec, "pinyin", f"“{pinyin}”无效：拼音简码只能由字母和数字组成，如 jzgcsgxkzhf；"
                             "留空则按事项名称自动生成")  # fmt: skip

    materials: list[MaterialSpec] = []
    if len(raw.materials) > MATERIALS_MAX:
        c.add(
            rec,
            "",
            f"申请材料有 {len(raw.materials)} 项，超出允许范围 1–{MATERIALS_MAX} 项，"
            "请检查是否把别的事项的材料也填在了这个事项下",
        )
    if not raw.materials:
        c.add(rec, "", f"没有申请材料：请在“{SHEET_MATERIALS}”表（或 materials）中至少列出一项")
    seen_seq: dict[int, str] = {}
    seen_name: dict[str, str] = {}
    for i, mrec in enumerate(raw.materials, 1):
        seq = c.integer(mrec, "seq", default=i, high=SEQ_MAX)
        if seq == 0:
            c.add(mrec, "seq", "序号应从 1 开始")
        mname = c.text(mrec, "name", required=True, max_len=_MAX_LEN["material.name"])
        form_text = c.text(mrec, "form", required=True)
        form = _FORM_WORDS.get(form_text.replace(" ", "")) if form_text else None
        if form_text and form is None:
            c.add(mrec, "form", f"“{form_text}”无效，请填写 原件、复印件、原件及复印件 或 电子材料")
        copies = c.integer(mrec, "copies", default=1, high=COPIES_MAX, unit=" 份")
        if copies == 0:
            c.add(mrec, "copies", "份数至少为 1")
        required = c.boolean(mrec, "required", True)
        deferrable = c.boolean(mrec, "deferrable", False)
        note = c.text(mrec, "note", max_len=_MAX_LEN["material.note"])
        if deferrable and not required:
            c.add(mrec, "deferrable", "非必需材料不存在容缺，“是否容缺”应为“否”")
        if deferrable and kind is ItemKind.INSTANT:
            c.add(mrec, "deferrable", "即办件当场办结，不适用容缺受理，“是否容缺”应为“否”")
        if seq:
            if seq in seen_seq:
                c.add(mrec, "seq", f"序号 {seq} 与{seen_seq[seq]}重复")
            else:
                seen_seq[seq] = mrec.where
        if mname:
            if mname in seen_name:
                c.add(mrec, "name", f"材料“{mname}”与{seen_name[mname]}重复")
            else:
                seen_name[mname] = mrec.where
        if seq and form is not None and copies:
            materials.append(MaterialSpec(seq, mname, form, copies, required, deferrable, note))
    required_lines = [m for m in materials if m.required]
    if materials and not required_lines:
        c.add(rec, "", "申请材料中没有必需材料，至少应有一项“是否必需”为“是”")
    elif required_lines and all(m.deferrable for m in required_lines):
        c.add(
            rec,
            "",
            "所有必需材料都允许容缺，不符合“主要申请材料齐全”的容缺受理条件；"
            "请至少保留一项必需材料为不可容缺",
        )
    if len(c.problems) > before or kind is None or legal is None or promised is None:
        return None
    return ItemSpec(
        code=code,
        name=name,
        department_code=department_code,
        kind=kind,
        legal_days=legal,
        promised_days=promised,
        scope=scope,
        procedure=procedure,
        conditions=conditions,
        fees=fees,
        legal_basis=legal_basis,
        active=active,
        materials=tuple(sorted(materials, key=lambda m: m.seq)),
        pinyin=pinyin,
    )


def _validate(raw: _RawCatalog, session: Session | None) -> CatalogData:
    c = _Checker()
    c.problems.extend(raw.problems)
    # Codes that differ from another only in letter case: zjj-xk-002 beside
    # ZJJ-XK-002 was a second copy of the item, zjj a second 住建局.
    stored_items: dict[str, str] = {}
    stored_deps: dict[str, str] = {}
    if session is not None:
        stored_items = {str(x).upper(): str(x) for x in session.scalars(select(ServiceItem.code))}
        stored_deps = {str(x).upper(): str(x) for x in session.scalars(select(Department.code))}

    folded: dict[str, dict[str, str]] = {"部门编码": {}, "事项编码": {}}  # upper → as written

    def case_twin(code: str, seen: dict[str, str], stored: dict[str, str], what: str) -> str:
        other = folded[what].setdefault(code.upper(), code)
        if other != code:
            return f"{what} {code} 与{seen[other]}的 {other} 只有大小写不同，请统一写法"
        known = stored.get(code.upper())
        if known is not None and known != code:
            return (
                f"{what} {code} 与已有的 {known} 只有大小写不同："
                f"修改它请写 {known}，新的请换一个编码"
            )
        return ""

    departments: list[DepartmentSpec] = []
    seen_dep: dict[str, str] = {}
    for rd in raw.departments:
        spec = _check_department(c, rd)
        code = _key(rd.record.values.get("code"))
        if code:
            if code in seen_dep:
                c.add(rd.record, "code", f"部门编码 {code} 与{seen_dep[code]}重复")
                continue
            if twin := case_twin(code, seen_dep, stored_deps, "部门编码"):
                c.add(rd.record, "code", twin)
                continue
            seen_dep[code] = rd.record.where
        if spec is not None:
            departments.append(spec)

    # A department can be named by its code or its exact name, from the file
    # first and then from the store.
    known: dict[str, str] = {}
    if session is not None:
        for code, name in session.execute(select(Department.code, Department.name)):
            known[code] = name
    # Departments of the file count even when a row has a problem of its own,
    # so their items are not also reported as naming an unknown department.
    for rd in raw.departments:
        dep_code = _key(rd.record.values.get("code"))
        if dep_code and seen_dep.get(dep_code) == rd.record.where:  # first row of that code
            known[dep_code] = _cell_text(rd.record.values.get("name"))
    # None marks a name shared by several departments.
    resolve: dict[str, str | None] = {}
    for code, name in known.items():
        if name not in known:
            resolve[name] = None if resolve.get(name, code) != code else code
    resolve.update({code: code for code in known})

    items: list[ItemSpec] = []
    seen_item: dict[str, str] = {}
    for ri in raw.items:
        item = _check_item(c, ri, resolve)
        code = _key(ri.record.values.get("code"))
        if code:
            if code in seen_item:
                c.add(ri.record, "code", f"事项编码 {code} 与{seen_item[code]}重复")
                continue
            if twin := case_twin(code, seen_item, stored_items, "事项编码"):
                c.add(ri.record, "code", twin)
                continue
            seen_item[code] = ri.record.where
        if item is not None:
            items.append(item)
    bundles: list[BundleSpec] = []
    if raw.bundles:
        # Members may be items of the file or items already in the store.
        known_items: dict[str, ItemSpec] = {}
        if session is not None:
            for stored in session.scalars(
                select(ServiceItem).options(selectinload(ServiceItem.materials))
            ):
                known_items[stored.code] = _item_spec(stored)
        known_items.update({i.code: i for i in items})
        from hallapp.bundles.catalog import check_bundles

        # Items of the file refused for a problem of their own are reported
        # once, not again as unknown members of a bundle.
        flawed = set(seen_item) - set(known_items)
        bundles = check_bundles(c, raw.bundles, known_items, resolve, flawed=flawed)
    if not raw.items and not raw.departments and not raw.bundles and not raw.problems:
        c.problems.append(CatalogProblem(raw.source, "", "文件中没有任何部门或事项"))
    if c.problems:
        log.info("catalog %s refused: %d problems", raw.source, len(c.problems))
        for p in c.problems:
            log.info("catalog problem: %s", p)
        raise CatalogError(raw.source, c.problems)
    return CatalogData(tuple(departments), tuple(items), tuple(bundles))


def load_catalog(
    source: str | os.PathLike[str] | Mapping[str, Any], session: Session | None = None
) -> CatalogData:
    """Read and validate a catalog (.xlsx, .toml, .yaml/.yml, .json, or the dict itself).

    Raises :class:`CatalogError` listing every problem. With a session,
    departments may also be ones already in the store.
    """
    return _validate(_read_source(source), session)


# --------------------------------------------------------------------- writing


def _upsert_department(
    session: Session, dep: Department | None, spec: DepartmentSpec, summary: ImportSummary
) -> None:
    if dep is None:
        dep = Department(code=spec.code)
        session.add(dep)
        summary.departments_added.append(spec.code)
        before = None
    else:
        before = _department_spec(dep, with_contacts=spec.contacts is not None)
    dep.name, dep.phone, dep.address, dep.duties = spec.name, spec.phone, spec.address, spec.duties
    if spec.contacts is not None:
        existing = {c.seq: c for c in dep.contacts}
        wanted = {c.seq for c in spec.contacts}
        for seq, row in existing.items():
            if seq not in wanted:
                dep.contacts.remove(row)
                session.delete(row)
        for cs in spec.contacts:
            crow = existing.get(cs.seq)
            if crow is None:
                crow = DepartmentContact(department_code=spec.code, seq=cs.seq)
                dep.contacts.append(crow)
            row = crow
            row.name, row.title, row.phone, row.matters = cs.name, cs.title, cs.phone, cs.matters
    if before is not None and before != spec:
        summary.departments_updated.append(spec.code)


def _upsert_item(
    session: Session, item: ServiceItem | None, spec: ItemSpec, summary: ImportSummary
) -> None:
    if item is None:
        item = ServiceItem(code=spec.code)
        session.add(item)
        summary.items_added.append(spec.code)
    elif _item_spec(item) == spec and item.pinyin == effective_pinyin(spec):
        summary.items_unchanged.append(spec.code)
        return
    else:
        summary.items_updated.append(spec.code)
    item.name = spec.name
    item.department_code = spec.department_code
    item.kind = spec.kind
    item.legal_days = spec.legal_days
    item.promised_days = spec.promised_days
    item.scope, item.procedure, item.conditions = spec.scope, spec.procedure, spec.conditions
    item.fees, item.legal_basis, item.active = spec.fees, spec.legal_basis, spec.active
    item.pinyin = effective_pinyin(spec)
    update_lines(item.materials, spec.materials, MaterialRequirement, MATERIAL_LINE_FIELDS)


#: What a stored material line takes from its MaterialSpec.
MATERIAL_LINE_FIELDS = ("name", "form", "copies", "required", "deferrable", "note")


def update_lines(
    rows: list[Any], specs: Sequence[Any], new: Callable[..., Any], fields: Sequence[str]
) -> None:
    """Make a list of numbered lines (materials, members) what ``specs`` say.

    Lines are updated in place by 序号 (``seq``), so an (owner, seq) unique key
    never collides and unchanged lines keep their ids; lines no longer given
    leave the list (the relationship deletes orphans).
    """
    existing = {r.seq: r for r in rows}
    wanted = {sp.seq for sp in specs}
    for seq, row in existing.items():
        if seq not in wanted:
            rows.remove(row)
    for sp in specs:
        row = existing.get(sp.seq)
        if row is None:
            row = new(seq=sp.seq)
            rows.append(row)
        for name in fields:
            value = getattr(sp, name)
            setattr(row, name, list(value) if isinstance(value, tuple) else value)


def apply_catalog(
    session: Session,
    data: CatalogData,
    *,
    source: str = "",
    deactivate_missing: bool = False,
    dry_run: bool = False,
) -> ImportSummary:
    """Write validated catalog data into the session (the caller commits)."""
    summary = ImportSummary(source=source, dry_run=dry_run)
    # The whole stored catalog in three queries (a county's catalog is a few
    # thousand rows), instead of two queries per item.
    stored_deps = {
        d.code: d
        for d in session.scalars(select(Department).options(selectinload(Department.contacts)))
    }
    stored_items = {
        i.code: i
        for i in session.scalars(select(ServiceItem).options(selectinload(ServiceItem.materials)))
    }
    if dry_run:
        # Same bookkeeping, computed against the store without writing.
        for dspec in data.departments:
            dep = stored_deps.get(dspec.code)
            if dep is None:
                summary.departments_added.append(dspec.code)
            elif _department_spec(dep, with_contacts=dspec.contacts is not None) != dspec:
                summary.departments_updated.append(dspec.code)
        for ispec in data.items:
            item = stored_items.get(ispec.code)
            if item is None:
                summary.items_added.append(ispec.code)
            elif _item_spec(item) == ispec:
                summary.items_unchanged.append(ispec.code)
            else:
                summary.items_updated.append(ispec.code)
    else:
        for dspec in data.departments:
            _upsert_department(session, stored_deps.get(dspec.code), dspec, summary)
        session.flush()
        for ispec in data.items:
            _upsert_item(session, stored_items.get(ispec.code), ispec, summary)
    if deactivate_missing:
        in_file = {i.code for i in data.items}
        for item in stored_items.values():
            if item.active and item.code not in in_file:
                summary.items_deactivated.append(item.code)
                if not dry_run:
                    item.active = False
    if not dry_run:
        session.flush()
    if data.bundles:
        from hallapp.bundles.catalog import apply_bundles

        bs = apply_bundles(session, data.bundles, dry_run=dry_run)
        summary.bundles_added, summary.bundles_updated = bs.added, bs.updated
        summary.bundles_unchanged = bs.unchanged
    return summary


def import_catalog(
    session: Session,
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    actor: Staff | None = None,
    window_code: str = "",
    deactivate_missing: bool = False,
    dry_run: bool = False,
) -> ImportSummary:
    """Validate a whole catalog file and write it into the caller's transaction.

    Raises :class:`CatalogError` (listing every problem) before writing
    anything. ``actor`` is the signed-in supervisor or administrator; the
    import is then written to the audit log (``window_code`` is where it was
    done). ``actor=None`` is for the command line and demo seeding.
    """
    if actor is not None:
        require_role(actor, audit.audited_roles())
        if not window_code:
            raise ValueError("window_code is required with an actor")
    data = load_catalog(source, session)
    name = source.get("title", "（数据）") if isinstance(source, Mapping) else Path(source).name
    summary = apply_catalog(
        session, data, source=str(name), deactivate_missing=deactivate_missing, dry_run=dry_run
    )
    log.info("%s", summary.text())
    if actor is not None and not dry_run:
        audit.record(
            session,
            actor,
            "catalog.import",
            str(name),
            summary.as_detail(),
            window_code=window_code,
        )
    return summary


# ------------------------------------------------------------------- reading back


def _department_spec(dep: Department, *, with_contacts: bool = True) -> DepartmentSpec:
    contacts = (
        tuple(
            ContactSpec(c.seq, c.name, c.phone, c.title, c.matters)
            for c in sorted(dep.contacts, key=lambda c: c.seq)
        )
        if with_contacts
        else None
    )
    return DepartmentSpec(dep.code, dep.name, dep.phone, dep.address, dep.duties, contacts)


def _item_spec(item: ServiceItem) -> ItemSpec:
    return ItemSpec(
        code=item.code,
        name=item.name,
        department_code=item.department_code,
        kind=ItemKind(item.kind),
        legal_days=item.legal_days,
        promised_days=item.promised_days,
        scope=item.scope,
        procedure=item.procedure,
        conditions=item.conditions,
        fees=item.fees,
        legal_basis=item.legal_basis,
        active=item.active,
        materials=tuple(
            MaterialSpec(
                m.seq, m.name, MaterialForm(m.form), m.copies, m.required, m.deferrable, m.note
            )
            for m in sorted(item.materials, key=lambda m: m.seq)
        ),
    )


def catalog_from_store(session: Session) -> CatalogData:
    """The whole catalog as stored: every department (with contacts) and item."""
    deps = session.scalars(
        select(Department).options(selectinload(Department.contacts)).order_by(Department.code)
    ).all()
    items = session.scalars(
        select(ServiceItem).options(selectinload(ServiceItem.materials)).order_by(ServiceItem.code)
    ).all()
    # A stored 拼音简码 is exported only where it is not what the name gives
    # (the hall's own): a name edited in the file then gets a fresh one.
    specs = tuple(
        replace(spec, pinyin=i.pinyin) if i.pinyin and i.pinyin != pinyin_initials(i.name) else spec
        for i in items
        for spec in (_item_spec(i),)
    )
    from hallapp.bundles.catalog import bundles_from_store

    return CatalogData(
        tuple(_department_spec(d) for d in deps), specs, bundles_from_store(session)
    )


# ----------------------------------------------------------------------- export

_WIDTHS = {
    "code": 22, "name": 36, "department": 26, "kind": 10, "legal_days": 12,
    "promised_days": 12, "scope": 40, "procedure": 50, "conditions": 50, "fees": 24,
    "legal_basis": 50, "active": 10, "pinyin": 18, "item": 22, "seq": 6, "form": 14, "copies": 6,
    "required": 10, "deferrable": 10, "note": 40, "phone": 18, "address": 36, "duties": 50,
    "title": 16, "matters": 40,
}  # fmt: skip


def _write_sheet(
    ws: Worksheet,
    fields: Mapping[str, tuple[str, tuple[str, ...]]],
    rows: Iterable[Sequence[Any]],
    *,
    text_columns: Iterable[str] = (),
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill, header_font = PatternFill("solid", fgColor="DDEBF7"), Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    keys = list(fields)
    ws.append([fields[k][0] for k in keys])
    for cell in ws[1]:
        cell.font, cell.fill = header_font, header_fill
    count = 0
    for row in rows:
        # Stored text from outside this module's import may hold characters
        # xlsx cannot carry: drop them rather than fail the whole export.
        ws.append([_CONTROL_RE.sub("", v) if isinstance(v, str) else v for v in row])
        count += 1
        for cell in ws[ws.max_row]:
            # openpyxl takes any text starting with "=" for a formula, which
            # would come back empty: keep it text.
            if cell.data_type == "f":
                cell.data_type = "s"
    text_idx = {keys.index(k) + 1 for k in text_columns}
    for col, key in enumerate(keys, 1):
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = _WIDTHS.get(key, 14)
        for r in range(2, count + 2):
            cell = ws.cell(row=r, column=col)
            cell.alignment = wrap
            if col in text_idx:
                # Codes like 001 must stay text, not become the number 1.
                cell.number_format = "@"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{max(count + 1, 1)}"


def _add_choice(ws: Worksheet, fields: Mapping[str, Any], key: str, choices: Sequence[str]) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    col = get_column_letter(list(fields).index(key) + 1)
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(choices) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="输入无效",
        error="请从下拉列表中选择：" + "、".join(choices),
    )
    dv.add(f"{col}2:{col}1048576")
    ws.add_data_validation(dv)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


def write_catalog_xlsx(data: CatalogData, path: str | os.PathLike[str]) -> None:
    """Write the catalog as the hall's workbook (the layout :func:`load_catalog` reads)."""
    dep_names = {d.code: d.name for d in data.departments}
    names_count: dict[str, int] = {}
    for d in data.departments:
        names_count[d.name] = names_count.get(d.name, 0) + 1

    def dep_ref(code: str) -> str:
        # People read names; a name used twice would be ambiguous, so write the code.
        name = dep_names.get(code)
        return name if name and names_count[name] == 1 and name not in dep_names else code

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET_ITEMS
    _write_sheet(
        ws,
        _ITEM_FIELDS,
        (
            [
                i.code, i.name, dep_ref(i.department_code), KIND_LABELS[i.kind], i.legal_days,
                i.promised_days, i.scope, i.procedure, i.conditions, i.fees, i.legal_basis,
                _yes_no(i.active), i.pinyin,
            ]
            for i in data.items
        ),
        text_columns=("code",),
    )  # fmt: skip
    _add_choice(ws, _ITEM_FIELDS, "kind", list(KIND_LABELS.values()))
    _add_choice(ws, _ITEM_FIELDS, "active", ["是", "否"])

    ws = wb.create_sheet(SHEET_MATERIALS)
    _write_sheet(
        ws,
        _MATERIAL_FIELDS,
        (
            [i.code, m.seq, m.name, m.form.label, m.copies, _yes_no(m.required),
             _yes_no(m.deferrable), m.note]
            for i in data.items
            for m in i.materials
        ),
        text_columns=("item",),
    )  # fmt: skip
    _add_choice(ws, _MATERIAL_FIELDS, "form", [f.label for f in MaterialForm])
    _add_choice(ws, _MATERIAL_FIELDS, "required", ["是", "否"])
    _add_choice(ws, _MATERIAL_FIELDS, "deferrable", ["是", "否"])

    ws = wb.create_sheet(SHEET_DEPARTMENTS)
    _write_sheet(
        ws,
        _DEPARTMENT_FIELDS,
        ([d.code, d.name, d.phone, d.address, d.duties] for d in data.departments),
        text_columns=("code", "phone"),
    )
    ws = wb.create_sheet(SHEET_CONTACTS)
    _write_sheet(
        ws,
        _CONTACT_FIELDS,
        (
            [d.code, c.seq, c.name, c.title, c.phone, c.matters]
            for d in data.departments
            for c in (d.contacts or ())
        ),
        text_columns=("department", "phone"),
    )
    if data.bundles:
        _write_bundle_sheets(wb, data, dep_ref)
    ws = wb.create_sheet(SHEET_HELP)
    for line in _HELP_LINES:
        ws.append([line])
    ws.column_dimensions["A"].width = 110
    wb.save(Path(path))


def _write_bundle_sheets(wb: Any, data: CatalogData, dep_ref: Callable[[str], str]) -> None:
    """一件事, 一件事成员, 一件事材料, as docs/catalog-format.md lays them out: a
    hall keeping its catalog in Excel edits its bundles there too (an export
    without them left them invisible, and an import of it unchanged)."""
    from hallapp.bundles.catalog import BUNDLE_FIELDS, MATERIAL_FIELDS, MEMBER_FIELDS

    ws = wb.create_sheet(SHEET_BUNDLES)
    _write_sheet(
        ws,
        BUNDLE_FIELDS,
        (
            [b.code, b.name, b.kind.label, dep_ref(b.lead_department_code), b.form_name,
             b.promised_days, b.scope, b.procedure, b.conditions, b.fees, b.legal_basis,
             _yes_no(b.active), b.pinyin]
            for b in data.bundles
        ),
        text_columns=("code",),
    )  # fmt: skip
    ws = wb.create_sheet(SHEET_MEMBERS)
    _write_sheet(
        ws,
        MEMBER_FIELDS,
        ([b.code, m.seq, m.item_code, m.promised_days] for b in data.bundles for m in b.members),
        text_columns=("bundle", "item"),
    )
    ws = wb.create_sheet(SHEET_BUNDLE_MATERIALS)
    _write_sheet(
        ws,
        MATERIAL_FIELDS,
        (
            [b.code, m.seq, m.name, m.form.label, m.copies, _yes_no(m.required),
             _yes_no(m.deferrable), "、".join(m.item_codes), m.note]
            for b in data.bundles
            for m in b.materials
        ),
        text_columns=("bundle",),
    )  # fmt: skip
    _add_choice(ws, MATERIAL_FIELDS, "form", [f.label for f in MaterialForm])


_HELP_LINES = (
    "事项清单填写说明",
    "1. “事项”表每行一个事项；“申请材料”表每行一项材料，"
    "用“事项编码”对应到事项，“序号”决定材料顺序。",
    "2. 办件类型：即办件（当场办结，承诺时限填 0）或 承诺件（承诺时限至少 1 个工作日）。",
    "3. 承诺时限不得超过法定时限的 40%（向下取整），"
    "例如法定 20 个工作日最多承诺 8 个工作日，法定 15 个工作日最多承诺 6 个工作日。",
    "4. 时限均按工作日计算，只填数字。",
    "5. 材料形式：原件、复印件、原件及复印件、电子材料；份数至少 1。",
    "6. 是否容缺：只有必需材料、且是承诺件时才可填“是”；每个事项至少保留一项不可容缺的必需材料。",
    "7. 实施部门填写部门全称或部门编码；部门须已在“部门”表中登记或已在系统中存在。",
    "8. “部门联系人”表用于非本部门职责告知（转介），填写后将整体替换该部门原有的联系人。",
    "9. 导入时会检查全部内容，有任何问题都不会写入，并逐条列出问题所在的工作表、行和列。",
)


def export_catalog_xlsx(session: Session, path: str | os.PathLike[str]) -> CatalogData:
    """Export the stored catalog to an .xlsx that imports back to the same catalog."""
    data = catalog_from_store(session)
    write_catalog_xlsx(data, path)
    return data


# ----------------------------------------------------------------------- search


def search_items(
    session: Session, query: str, *, limit: int = 30, include_inactive: bool = False
) -> list[ServiceItem]:
    """Find items for the clerk: by code prefix, pinyin initials or part of the name.

    Ranked: exact code, code prefix, initials prefix, name prefix, name
    contains, initials contains; code matches in code order, the others
    shortest name first.
    """
    # Full-width letters and digits (an IME left in 全角) find the ASCII codes.
    terms = lookup_code(query).lower().split()
    if not terms:
        return []
    # Several words narrow the search ("施工 许可", "zjj 许可"): each must match.
    ql = terms[0]

    def matches(term: str) -> ColumnElement[bool]:
        conditions = [
            func.lower(ServiceItem.code).startswith(term, autoescape=True),
            ServiceItem.name.icontains(term, autoescape=True),
        ]
        if term.isascii() and term.isalnum():
            conditions.append(ServiceItem.pinyin.contains(term, autoescape=True))
        return or_(*conditions)

    stmt = select(ServiceItem).where(and_(*(matches(t) for t in terms)))
    if not include_inactive:
        stmt = stmt.where(ServiceItem.active.is_(True))
    found = session.scalars(stmt).all()

    def rank(item: ServiceItem) -> tuple[int, int, str]:
        code, name, py = item.code.lower(), item.name.lower(), item.pinyin
        if code == ql:
            r = 0
        elif code.startswith(ql):
            r = 1
        elif py.startswith(ql):
            r = 2
        elif name.startswith(ql):
            r = 3
        elif ql in name:
            r = 4
        else:
            r = 5
        # Typing a code lists codes in order; for names the closest (shortest) first.
        return (r, 0 if r <= 1 else len(item.name), item.code)

    return sorted(found, key=rank)[:limit]
