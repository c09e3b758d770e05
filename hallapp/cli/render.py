"""``hallapp render`` and ``hallapp print``: the printed documents from the command line.

- ``render TYPE --sample [--long] --size a4|slip --out FILE.pdf``: a realistic sample;
- ``render --json FILE [--reprint] --size ... --out ...``: archived content
  (IssuedDocument.content) rendered again, e.g. for a 补打 outside the window client;
- ``print FILE.pdf [--printer NAME] [--size a4|slip]``: through Qt printing;
  ``print --list`` shows the installed printers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from hallapp.config import Config

from hallapp.config import os_reason

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_TYPES = (
    "acceptance",
    "conditional",
    "one-time",
    "rejection",
    "referral",
    "hand-over",
    "duty-card",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = subparsers.add_parser(
        "render",
        help="生成文书 PDF（受理通知书、一次性告知书等）",
        description="生成文书 PDF：示例文书（--sample）或已存档的文书内容（--json）",
    )
    render.add_argument(
        "doc_type", nargs="?", choices=_TYPES, metavar="TYPE", help="文书类型：" + "、".join(_TYPES)
    )
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--sample", action="store_true", help="生成该类型的示例文书")
    source.add_argument("--json", metavar="FILE", help="已存档的文书内容（JSON）")
    render.add_argument(
        "--long", action="store_true", help="示例使用长内容（60 字单位名称、40 项补正材料）"
    )
    render.add_argument(
        "--reprint",
        nargs="?",
        const="now",
        metavar="YYYY-MM-DDTHH:MM",
        help="标注为补打；补打时间默认为当前时间",
    )
    render.add_argument(
        "--size",
        choices=("a4", "slip"),
        default=None,
        help="纸张：a4 或 slip（80mm 小票），默认取配置 printing.default_size",
    )
    render.add_argument("--out", required=True, metavar="FILE.pdf", help="输出的 PDF 文件")
    render.set_defaults(func=_cmd_render)

    printer = subparsers.add_parser(
        "print", help="打印 PDF 文书到打印机", description="通过系统打印（Qt）打印 PDF 文书"
    )
    printer.add_argument("file", nargs="?", metavar="FILE.pdf", help="要打印的 PDF 文件")
    printer.add_argument(
        "--printer",
        metavar="NAME",
        help="打印机名称，默认取配置 printing.a4_printer / slip_printer 或系统默认",
    )
    printer.add_argument(
        "--size",
        choices=("a4", "slip"),
        default=None,
        help="纸张：a4 或 slip（80mm 宽，长度随文书），默认按 PDF 页面",
    )
    printer.add_argument("--list", action="store_true", help="列出已安装的打印机")
    printer.set_defaults(func=_cmd_print)


def _config(args: argparse.Namespace) -> Config:
    from hallapp.config import load_config

    return load_config(getattr(args, "config", None))


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_FAILED


def _cmd_render(args: argparse.Namespace) -> int:
    from hallapp import documents
    from hallapp.printing.fonts import FontError
    from hallapp.printing.layout import RenderError
    from hallapp.printing.render import render_checked

    config = _config(args)
    size = cast(Literal["a4", "slip"], args.size or config.get("printing.default_size"))
    doc: documents.Notice | documents.DutyCard
    if args.sample:
        if not args.doc_type:
            print(
                "请给出文书类型，例如：hallapp render acceptance --sample --out a.pdf",
                file=sys.stderr,
            )
            return EXIT_USAGE
        doc = documents.sample(documents.DocumentType(args.doc_type), long=args.long)
    else:
        try:
            data = json.loads(Path(args.json).read_text(encoding="utf-8"))
            doc = documents.document_from_dict(data)
        except FileNotFoundError:
            return _fail(f"找不到文书内容文件 {args.json}")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.info("cannot read %s", args.json, exc_info=True)
            return _fail(f"文书内容文件 {args.json} 无法读取（{exc}），应为 UTF-8 编码的 JSON")
        except documents.DocumentContentError as exc:
            log.info("bad archived content in %s", args.json, exc_info=True)
            return _fail(f"文书内容文件 {args.json} 有误：{exc}")
        if args.doc_type and args.doc_type != doc.doc_type:
            return _fail(f"文书内容的类型是 {doc.doc_type}，与命令行给出的 {args.doc_type} 不一致")
    if args.reprint:
        try:
            at = (
                datetime.now().replace(second=0, microsecond=0)
                if args.reprint == "now"
                else datetime.fromisoformat(args.reprint)
            )
        except ValueError:
            print(f"补打时间 {args.reprint} 格式有误，应为例如 2026-11-23T14:05", file=sys.stderr)
            return EXIT_USAGE
        doc = doc.as_reprint(at)
    try:
        rendered = render_checked(
            doc, size, font_path=str(config.get("printing.font_path")) or None
        )
    except FontError as exc:
        return _fail(str(exc))
    except RenderError as exc:
        log.info("render failed", exc_info=True)
        return _fail(f"文书生成失败：{exc}")
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(rendered.pdf)
    except OSError as exc:
        log.info("cannot write %s", out, exc_info=True)
        return _fail(f"无法写入 {out}（{os_reason(exc)}），请检查路径和权限")
    print(f"已生成 {doc.doc_type.heading}（{'A4' if size == 'a4' else '80mm 小票'}）：{out}")
    if rendered.warning:
        # The PDF is written (□ in place of each such character), but a notice
        # naming a person must not go out with a character silently missing.
        print(f"注意：{rendered.warning}", file=sys.stderr)
    return EXIT_OK


def _cmd_print(args: argparse.Namespace) -> int:
    config = _config(args)
    from hallapp.printing.printer import (
        PrintError,
        available_printers,
        default_printer,
        ensure_gui_application,
        print_pdf,
    )

    ensure_gui_application()
    if args.list:
        names = available_printers()
        if not names:
            print("没有已安装的打印机")
            return EXIT_OK
        default = default_printer()
        for name in names:
            print(f"{name}{'（默认）' if name == default else ''}")
        return EXIT_OK
    if not args.file:
        print(
            "请给出要打印的 PDF 文件，例如：hallapp print a.pdf --printer HallAppPDF",
            file=sys.stderr,
        )
        return EXIT_USAGE
    path = Path(args.file)
    try:
        pdf = path.read_bytes()
    except FileNotFoundError:
        return _fail(f"找不到文件 {path}")
    except OSError as exc:
        log.info("cannot read %s", path, exc_info=True)
        return _fail(f"无法读取 {path}（{os_reason(exc)}）")
    if not pdf.startswith(b"%PDF"):
        return _fail(f"{path} 不是 PDF 文件")
    size = cast(Literal["a4", "slip"] | None, args.size)
    configured = config.get("printing.slip_printer" if size == "slip" else "printing.a4_printer")
    printer_name = args.printer or (str(configured) if configured else None)
    try:
        result = print_pdf(pdf, printer_name, size, job_name=path.stem)
    except PrintError as exc:
        log.info("print failed", exc_info=True)
        return _fail(f"打印失败：{exc}")
    w, h = result.paper_mm
    print(
        f"已发送到打印机 {result.printer_name}：{result.pages} 页，纸张 {w:g}×{h:g} mm，"
        f"{result.dpi} dpi"
    )
    return EXIT_OK
