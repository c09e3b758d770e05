"""What every subcommand shares: exit codes and which store a command uses."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def store_url(
    args: argparse.Namespace, *, central_first: bool, must_exist: bool = False
) -> str | None:
    """The store a command works on: ``--db``; else the central store when the
    command works on reference data (``central_first``) and one is configured;
    else this window's local database (None if it must exist and does not)."""
    from hallapp.config import load_config, prepare_data_folder
    from hallapp.store import sqlite_url

    if getattr(args, "db", None):
        return str(args.db)
    cfg = load_config(getattr(args, "config", None))
    central = str(cfg.get("store.central_url"))
    if central_first and central:
        return central
    local = cfg.local_db_path()
    if must_exist and not local.exists():
        return None
    prepare_data_folder(local.parent)
    return sqlite_url(local)


def command_group(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]]:
    """A subcommand with actions of its own; without an action it prints its help."""
    parser = subparsers.add_parser(name, help=help_text)
    sub = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def show_help(_args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    parser.set_defaults(func=show_help)
    return parser, sub
