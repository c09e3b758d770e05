"""A hall with a 综合窗口 and two department back offices, authored at the centre.

Shared by the bundle tests (in-process and separate processes): the sample
catalog with its bundles, window B01 serving the five departments of the
开办企业一件事, a clerk, and back-office staff of 市场监管 (SCJ) and 公积金 (GJJ).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hallapp.catalog import import_catalog
from hallapp.config import Config, parse_config
from hallapp.models import Role, Staff, Window, WindowDepartment
from hallapp.security import hash_password

HALL = "LC"
WINDOW = "B01"
SAMPLE = Path(str(resources.files("hallapp.resources") / "catalog.toml"))
KAIBAN = "LC-YJS-001"
KAIBAN_DEPARTMENTS = ("SCJ", "GAJ", "SWJ", "RSJ", "GJJ")
CLERK_NO, SCJ_NO, GJJ_NO, PASSWORD = "2001", "5101", "5501", "Bk-2026-pw"
# Monday 16 November 2026, 09:00 in the hall (UTC+8).
START = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def at(days: int, hours: int = 0) -> datetime:
    return START + timedelta(days=days, hours=hours)


def config() -> Config:
    # The query address a hall configures: its notices carry the QR code.
    qr = {"qr_url_template": "https://zwfw.example.gov.cn/q?case={case_no}"}
    return parse_config({"hall": {"code": HALL}, "window": {"code": WINDOW}, "printing": qr})


def author_hall(central: Engine) -> None:
    from hallapp.sync.authoring import change_reference
    from hallapp.sync.centre import Actor

    def edit(s: Session) -> None:
        import_catalog(s, SAMPLE)
        s.flush()
        pw = hash_password(PASSWORD)
        s.add_all([
            Staff(staff_no="9901", name="邱文杰", department_code="SCJ",
                  role=Role.ADMINISTRATOR, password_hash=pw),
            Staff(staff_no=CLERK_NO, name="林晓燕", title="综合窗口受理员",
                  department_code="SCJ", role=Role.CLERK, password_hash=pw),
            Staff(staff_no=SCJ_NO, name="陈丽娟", title="登记注册股股长",
                  department_code="SCJ", role=Role.BACK_OFFICE, password_hash=pw),
            Staff(staff_no=GJJ_NO, name="温雅琴", title="归集科科长",
                  department_code="GJJ", role=Role.BACK_OFFICE, password_hash=pw),
        ])  # fmt: skip
        window = Window(code=WINDOW, name="开办企业综合窗口", department_code="SCJ")
        window.served = [WindowDepartment(department_code=d) for d in KAIBAN_DEPARTMENTS]
        s.add(window)

    change_reference(central, HALL, Actor("9901", "administrator"), "seed", edit)
