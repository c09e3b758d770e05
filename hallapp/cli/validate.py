"""``hallapp validate id|uscc|phone|mobile|landline VALUE``, and
``hallapp validate document TYPE VALUE`` for any identity document
(resident_id, hk_macao_permit, taiwan_permit, residence_permit, foreigner_pr,
passport; see hallapp.identity).

Exit 0 and print 有效 (with the normalised value, an ID number masked) when
valid; exit 1 with a one-line reason in Chinese when not.
"""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_INVALID = 0, 1

_KINDS = {
    "id": "身份证号（GB 11643，18 位）",
    "uscc": "统一社会信用代码（GB 32100，18 位）",
    "phone": "电话号码（手机、固定电话或服务热线）",
    "mobile": "手机号码",
    "landline": "固定电话（带区号）",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("validate", help="校验身份证号、统一社会信用代码、电话号码")
    sub = parser.add_subparsers(dest="validate_kind", metavar="KIND")

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
    for kind, title in _KINDS.items():
        p = sub.add_parser(kind, help=f"校验{title}")
        p.add_argument("value", metavar="VALUE")
        p.set_defaults(func=_cmd_validate, kind=kind)
    from hallapp.identity import IdType

    doc = sub.add_parser(
        "document", help="按证件类型校验证件号码（通行证、居住证、永居证、护照等）"
    )
    doc.add_argument(
        "id_type",
        metavar="TYPE",
        choices=[t.value for t in IdType],
        help="；".join(f"{t.value} {t.label}" for t in IdType),
    )
    doc.add_argument("value", metavar="VALUE")
    doc.set_defaults(func=_cmd_validate_document)


def _cmd_validate_document(args: argparse.Namespace) -> int:
    from hallapp.identity import IdType, mask_document_number, validate_document

    result = validate_document(IdType(args.id_type), args.value)
    if not result:
        print(f"无效：{result.reason}")
        return EXIT_INVALID
    # Personal data: never echoed in full.
    print(f"有效 {IdType(args.id_type).label} {mask_document_number(result.value)}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from hallapp import validation

    checks = {
        "id": validation.validate_id_number,
        "uscc": validation.validate_uscc,
        "phone": validation.validate_phone,
        "mobile": validation.validate_mobile,
        "landline": validation.validate_landline,
    }
    result = checks[args.kind](args.value)
    if not result:
        # The verdict is the command's output, so it goes to stdout like 有效.
        print(f"无效：{result.reason}")
        return EXIT_INVALID
    # ID numbers are personal data: never echoed in full (terminals get logged).
    shown = validation.mask_id_number(result.value) if args.kind == "id" else result.value
    print(f"有效 {shown}")
    return EXIT_OK
