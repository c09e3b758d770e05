"""窗口 and the departments each serves: who a window speaks for.

A window serves one department, or several (综合窗口, 一窗受理). That decides
three things at the counter:

- who may go on duty there: a clerk of a department the window serves
  (:mod:`hallapp.duty`);
- which items are handled there: those of the departments it serves; for any
  other item the only lawful decision is to refer the applicant to the
  competent department (:mod:`hallapp.intake`);
- who issues a 非本部门职责告知书: the window's department, or the hall for a
  综合窗口, which speaks for no single department.

Pure Python: no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hallapp.models import Department, Window, WindowDepartment

WINDOW_CODE_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")


class WindowSetupError(Exception):
    """A window cannot be registered as asked; the message says why, in Chinese."""


@dataclass(frozen=True)
class WindowInfo:
    """A window as the domain needs it (plain values, safe on any thread)."""

    code: str
    name: str
    active: bool
    #: the departments served, the window's own first
    department_codes: tuple[str, ...]
    department_names: tuple[str, ...]

    @property
    def combined(self) -> bool:
        """综合窗口: several departments are served here."""
        return len(self.department_codes) > 1

    def serves(self, department_code: str) -> bool:
        return department_code in self.department_codes

    def issuer_name(self, hall_name: str) -> str:
        """Who issues the window's own notices (a referral): its department, or the hall."""
        return hall_name if self.combined else self.department_names[0]

    def issuer_code(self) -> str | None:
        """The issuing department's code; None when the hall issues (综合窗口)."""
        return None if self.combined else self.department_codes[0]

    def departments_text(self) -> str:
        return "、".join(self.department_names)


def window_info(session: Session, code: str) -> WindowInfo | None:
    """The window registered under ``code`` (None when the hall has not registered it)."""
    window = session.get(
        Window, code, options=[selectinload(Window.served), selectinload(Window.department)]
    )
    if window is None:
        return None
    codes = window.served_codes()
    # The window's own department first: it is the issuer of a one-department window.
    if window.department_code in codes:
        codes = [window.department_code, *(c for c in codes if c != window.department_code)]
    names = {
        d.code: d.name
        for d in session.scalars(select(Department).where(Department.code.in_(codes)))
    }
    return WindowInfo(
        code=window.code,
        name=window.name,
        active=window.active,
        department_codes=tuple(codes),
        department_names=tuple(names.get(c, c) for c in codes),
    )


def set_window(
    session: Session, code: str, name: str, departments: Sequence[str], *, active: bool = True
) -> tuple[Window, bool]:
    """Register a window (or change it) with the departments it serves.

    The first department is the window's own. Returns the window and whether it
    was new. Raises :class:`WindowSetupError` before writing anything when the
    code, the name or a department is wrong.
    """
    code = code.strip().upper()
    name = name.strip()
    wanted = list(dict.fromkeys(d.strip() for d in departments if d.strip()))
    problems = []
    if not WINDOW_CODE_RE.match(code):
        problems.append(f"窗口编号“{code}”无效：应为 1–8 位字母或数字，例如 A03")
    if not name:
        problems.append("请填写窗口名称，例如 企业开办窗口")
    elif len(name) > 100:
        problems.append(f"窗口名称最多 100 字（现为 {len(name)} 字）")
    else:
        from hallapp.validation import one_line_problem

        if hidden := one_line_problem(name):
            problems.append(f"窗口名称{hidden}")
    if not wanted:
        problems.append("请至少指定一个进驻部门（部门编码，例如 SCJ）")
    known = set(session.scalars(select(Department.code).where(Department.code.in_(wanted))))
    missing = [d for d in wanted if d not in known]
    if missing:
        problems.append(
            f"部门 {'、'.join(missing)} 不存在：请先导入事项清单（hallapp catalog import）"
        )
    if problems:
        raise WindowSetupError("；".join(problems))
    window = session.get(Window, code, options=[selectinload(Window.served)])
    created = window is None
    if window is None:
        window = Window(code=code, name=name, department_code=wanted[0], active=active)
        session.add(window)
    else:
        window.name, window.department_code, window.active = name, wanted[0], active
    have = {wd.department_code: wd for wd in window.served}
    for dept, row in have.items():
        if dept not in wanted:
            window.served.remove(row)
    for dept in wanted:
        if dept not in have:
            window.served.append(WindowDepartment(department_code=dept))
    session.flush()
    return window, created


def windows_serving(session: Session, department_code: str) -> list[str]:
    """Codes of the active windows where a department's clerks may go on duty."""
    rows = session.scalars(
        select(WindowDepartment.window_code)
        .join(Window, Window.code == WindowDepartment.window_code)
        .where(WindowDepartment.department_code == department_code)
        .where(Window.active.is_(True))
        .order_by(WindowDepartment.window_code)
    )
    return list(rows)
