"""What the console's widgets share: the window's store, config and use cases.

Handed to each widget explicitly (no global main-window object). Every method
here that touches the database or a printer is slow: call it through
:func:`hallapp.ui.ops.run_in_background`, never directly on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hallapp.config import Config
from hallapp.duty import Duty, StaffView
from hallapp.intake import Intake
from hallapp.store import Store

PaperSize = Literal["a4", "slip"]


@dataclass(frozen=True)
class ItemHit:
    """One search result (plain values: safe to hand from a worker to the GUI)."""

    code: str
    name: str
    department_name: str
    instant: bool
    #: Handled at this window; otherwise it can only be referred (非本部门职责告知).
    served_here: bool = True


@dataclass
class PrintSettings:
    """Where documents go: the configured printers, or a PDF file (tests, no printer)."""

    a4_printer: str | None = None
    slip_printer: str | None = None
    size: PaperSize = "a4"
    #: When set, print through the Qt print path into PDF files in this folder
    #: instead of a printer (QPrinter output format PDF).
    output_dir: Path | None = None
    font_path: str | None = None
    #: Cap on the print resolution (None: the printing module's default).
    max_dpi: int | None = None

    #: Demo mode: without a configured or default printer, use the first installed one.
    fallback_to_any: bool = False
    #: What :meth:`resolve` found (None until it ran).
    resolved: str | None = field(default=None, compare=False)

    def printer_for(self, size: PaperSize) -> str | None:
        chosen = (self.slip_printer if size == "slip" else self.a4_printer) or None
        return chosen or self.resolved or None

    def resolve(self) -> str:
        """Ask the system which printer will be used (slow: it asks CUPS; background only)."""
        if self.output_dir is not None:
            return self.describe()
        from hallapp.printing.printer import available_printers, default_printer

        name = (self.slip_printer if self.size == "slip" else self.a4_printer) or default_printer()
        if not name and self.fallback_to_any:
            installed = available_printers()
            name = installed[0] if installed else None
        self.resolved = name or ""
        return self.describe()

    def describe(self) -> str:
        """A short text for the status bar (never asks the system)."""
        if self.output_dir is not None:
            return f"PDF 文件（{self.output_dir}）"
        configured = (self.slip_printer if self.size == "slip" else self.a4_printer) or None
        if configured:
            return configured
        if self.resolved is None:
            return "正在检测…"
        return self.resolved or "未配置打印机"

    @classmethod
    def from_config(cls, config: Config) -> PrintSettings:
        size = str(config.get("printing.default_size"))
        return cls(
            a4_printer=str(config.get("printing.a4_printer")) or None,
            slip_printer=str(config.get("printing.slip_printer")) or None,
            size="slip" if size == "slip" else "a4",
            font_path=str(config.get("printing.font_path")) or None,
        )


@dataclass
class WindowContext:
    store: Store
    config: Config
    intake: Intake
    duty: Duty
    printing: PrintSettings
    demo: bool = False
    #: Demo on a database file given with --db: kept after exit (else thrown away).
    demo_kept: bool = False
    #: The clerk signed in at this window (set by the console on sign-in).
    clerk: StaffView | None = field(default=None)

    @classmethod
    def create(
        cls, store: Store, config: Config, *, printing: PrintSettings | None = None,
        demo: bool = False,
    ) -> WindowContext:  # fmt: skip
        settings = printing or PrintSettings.from_config(config)
        if demo:
            settings.fallback_to_any = True
        return cls(
            store=store,
            config=config,
            intake=Intake(store, config),
            duty=Duty(store, config),
            printing=settings,
            demo=demo,
        )

    @property
    def clerk_id(self) -> str:
        if self.clerk is None:
            from hallapp.intake import IntakeError

            raise IntakeError("请先登录")
        return self.clerk.id

    def search_items(self, query: str, limit: int = 30) -> list[ItemHit]:
        """Items by name, code or pinyin initials (slow: background only)."""
        from hallapp.catalog import search_items
        from hallapp.models import ItemKind
        from hallapp.windows import window_info

        with self.store.read() as s:
            window = window_info(s, self.config.window_code)
            hits = [
                ItemHit(
                    code=i.code,
                    name=i.name,
                    department_name=i.department.name,
                    instant=ItemKind(i.kind) is ItemKind.INSTANT,
                    served_here=window is None or window.serves(i.department_code),
                )
                for i in search_items(s, query, limit=limit)
            ]
        # This window's own items first (the search's ranking kept within each group);
        # the others stay findable, for a referral.
        return sorted(hits, key=lambda h: not h.served_here)
