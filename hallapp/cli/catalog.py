"""``hallapp catalog``: the service catalog (事项清单).

- ``import FILE --staff STAFF_NO [--dry-run] [--deactivate-missing]``: validate
  the whole file (.xlsx, .toml, .yaml, .json) and write it in one transaction;
  any problem lists every problem with its sheet/row and field and writes nothing.
  Writing needs a supervisor's or administrator's staff number and password
  (prompt, or HALLAPP_PASSWORD) and is audited; ``--dry-run`` writes nothing
  and needs neither;
- ``export FILE.xlsx``: the stored catalog as the hall's workbook;
- ``validate FILE``: only check, never write;
- ``search QUERY``: what the clerk's search box finds (code, pinyin initials, name).

The catalog is reference data authored centrally, so import, export and
validate use ``--db``, else the configured central store, else the window's
local database; search uses ``--db`` or the local database.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hallapp.store import Store

from hallapp.cli.common import (
    EXIT_DENIED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    add_staff_argument,
    authenticate_actor,
    command_group,
    reference_edit_refusal,
    store_url,
    window_code_for_audit,
)
from hallapp.config import os_reason

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _, sub = command_group(subparsers, "catalog", "事项清单：导入、导出、校验、查询")
    db_help = "数据库地址（SQLAlchemy URL）；默认中心库，未配置时用本窗口数据库"

    imp = sub.add_parser("import", help="导入事项清单（全部正确才写入）")
    imp.add_argument("file", metavar="FILE", help="事项清单文件：.xlsx、.toml、.yaml 或 .json")
    imp.add_argument("--dry-run", action="store_true", help="只校验并显示将要做的更改，不写入")
    imp.add_argument(
        "--deactivate-missing", action="store_true", help="文件中没有的事项标记为停用（不删除）"
    )
    add_staff_argument(imp)
    imp.add_argument("--db", metavar="URL", help=db_help)
    imp.set_defaults(func=_cmd_import)

    exp = sub.add_parser("export", help="导出事项清单为 Excel（.xlsx）")
    exp.add_argument("file", metavar="FILE.xlsx")
    exp.add_argument("--db", metavar="URL", help=db_help)
    exp.set_defaults(func=_cmd_export)

    val = sub.add_parser("validate", help="校验事项清单文件，不写入")
    val.add_argument("file", metavar="FILE")
    val.add_argument("--db", metavar="URL", help=db_help + "（用于核对部门是否存在）")
    val.set_defaults(func=_cmd_validate)

    search = sub.add_parser("search", help="按编码、拼音首字母或名称查找事项")
    search.add_argument("query", metavar="QUERY", help="例如 sgxk、ZJJ-XK、施工许可")
    search.add_argument("--all", action="store_true", help="包括已停用的事项")
    search.add_argument("--limit", type=_limit, default=30, help="最多显示条数（1–500，默认 30）")
    search.add_argument("--db", metavar="URL", help="数据库地址；默认本窗口数据库")
    search.set_defaults(func=_cmd_search)


def _limit(text: str) -> int:
    # argparse turns this ArgumentTypeError into a usage message and exit 2.
    if not re.fullmatch(r"\s*\d{1,3}\s*", text) or not 1 <= int(text) <= 500:
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise argparse.ArgumentTypeError(f"条数“{shown}”无效，应为 1–500 的整数")
    return int(text)


def _open(url: str) -> Store:
    """The store, migrated; a StoreError goes to the one error path (exit 3)."""
    from hallapp.store import Store

    return Store.open(url)


def _open_for_reading(url: str) -> Store | None:
    """The store as it is (never migrated), or None when it cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.dberrors import display_url
    from hallapp.store import Store, schema_is_current

    store = Store.open(url, run_migrations=False)
    try:
        if schema_is_current(store.engine):
            return store
        log.info(
            "store %s is not at the newest schema; validating the file alone", display_url(url)
        )
    except SQLAlchemyError:
        log.warning("cannot read the store for validation", exc_info=True)
    store.dispose()
    return None


def _check_file(path_text: str) -> Path | None:
    from hallapp.catalog import SUPPORTED_SUFFIXES

    path = Path(path_text)
    if path.is_dir():
        print(f"{path} 是文件夹，请给出其中的事项清单文件（.xlsx 或 .toml）", file=sys.stderr)
        return None
    if not path.is_file():
        print(f"找不到文件 {path}，请检查路径", file=sys.stderr)
        return None
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        print(
            f"不支持的文件类型 {path.suffix or '（无扩展名）'}；"
            "请使用 .xlsx、.toml、.yaml 或 .json",
            file=sys.stderr,
        )
        return None
    return path


def _cmd_import(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from hallapp.catalog import CatalogError, import_catalog
    from hallapp.dberrors import classify_db_error, problem_message
    from hallapp.security import PermissionDenied

    path = _check_file(args.file)
    if path is None:
        return EXIT_USAGE
    if refusal := reference_edit_refusal(args, f"hallapp central catalog import {args.file}"):
        print(refusal, file=sys.stderr)
        return EXIT_DENIED
    url = store_url(args, central_first=True, must_exist=False)
    assert url is not None
    store = _open(url)
    try:
        with store.session() as session:
            actor, window_code = None, ""
            # A dry run changes nothing; a real import deactivates and rewrites
            # items, so the one who does it proves who they are and is audited.
            if not args.dry_run or args.staff:
                actor = authenticate_actor(session, args, "导入事项清单")
                window_code = window_code_for_audit(args)
            summary = import_catalog(
                session,
                path,
                actor=actor,
                window_code=window_code,
                deactivate_missing=args.deactivate_missing,
                dry_run=args.dry_run,
            )
    except CatalogError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_INVALID
    except PermissionDenied as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except SQLAlchemyError as exc:
        # The import is one transaction, so a failed write (a full disk above
        # all: a county catalog is thousands of rows) has changed nothing.
        log.info("catalog import of %s failed", path, exc_info=True)
        print(
            f"事项清单 {path.name} 未导入，数据库没有任何改变："
            f"{problem_message(classify_db_error(exc))}",
            file=sys.stderr,
        )
        return EXIT_STORE  # the database could not be written, not a fault of the file
    finally:
        store.dispose()
    print(summary.text())
    for label, codes in (
        ("新增", summary.items_added),
        ("更新", summary.items_updated),
        ("停用", summary.items_deactivated),
    ):
        if codes:
            print(f"  {label}事项：{'、'.join(codes)}")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from hallapp.catalog import export_catalog_xlsx

    target = Path(args.file)
    if target.suffix.lower() != ".xlsx":
        print("导出文件应以 .xlsx 结尾，例如 事项清单.xlsx", file=sys.stderr)
        return EXIT_USAGE
    url = store_url(args, central_first=True, must_exist=False)
    assert url is not None
    store = _open(url)
    try:
        with store.read() as session:
            data = export_catalog_xlsx(session, target)
    except OSError as exc:
        log.exception("export to %s failed", target)
        print(
            f"无法写入 {target}：{os_reason(exc)}。请检查文件是否被 Excel 打开或目录权限",
            file=sys.stderr,
        )
        return EXIT_INVALID
    finally:
        store.dispose()
    materials = sum(len(i.materials) for i in data.items)
    print(
        f"已导出 {len(data.items)} 个事项、{materials} 项申请材料、"
        f"{len(data.departments)} 个部门到 {target}"
    )
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from hallapp.catalog import CatalogError, load_catalog

    path = _check_file(args.file)
    if path is None:
        return EXIT_USAGE
    url = store_url(args, central_first=True, must_exist=True)
    store = _open_for_reading(url) if url else None
    if store is None:
        print("注意：未连接数据库，只核对文件中登记的部门", file=sys.stderr)
    try:
        if store is None:
            data = load_catalog(path)
        else:
            # Read only: no migration, no transaction that could commit.
            with store.read() as session:
                data = load_catalog(path, session)
    except CatalogError as exc:
        print(exc.report(importing=False), file=sys.stderr)
        return EXIT_INVALID
    finally:
        if store is not None:
            store.dispose()
    kinds = sum(1 for i in data.items if i.kind == "instant")
    print(
        f"{path.name} 校验通过：{len(data.items)} 个事项（即办件 {kinds} 个）、"
        f"{sum(len(i.materials) for i in data.items)} 项申请材料、{len(data.departments)} 个部门"
    )
    return EXIT_OK


def _cmd_search(args: argparse.Namespace) -> int:
    from hallapp.catalog import KIND_LABELS, search_items
    from hallapp.models import ItemKind

    url = store_url(args, central_first=False, must_exist=True)
    if url is None:
        print(
            "本窗口数据库尚未建立，请先运行 hallapp db upgrade 和 hallapp catalog import",
            file=sys.stderr,
        )
        return EXIT_INVALID
    store = _open(url)
    try:
        with store.read() as session:
            items = search_items(session, args.query, limit=args.limit, include_inactive=args.all)
            if not items:
                print(f"没有找到与“{args.query}”相关的事项")
                return EXIT_INVALID
            for item in items:
                days = (
                    "当场办结"
                    if item.kind == ItemKind.INSTANT
                    else f"法定 {item.legal_days} / 承诺 {item.promised_days} 个工作日"
                )
                flag = "" if item.active else "（已停用）"
                print(
                    f"{item.code}\t{item.name}{flag}\t{item.department.name}\t"
                    f"{KIND_LABELS[ItemKind(item.kind)]}\t{days}"
                )
    finally:
        store.dispose()
    return EXIT_OK
