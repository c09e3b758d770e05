"""Fixtures shared by every test folder: real stores and minimal reference data.

PostgreSQL tests use the real server on 127.0.0.1:5432, each in a database of
its own created and dropped around the test. With HALLAPP_REQUIRE_POSTGRES=1
(as in CI) a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from hallapp.config import Config, parse_config
from hallapp.models import (
    Department,
    DepartmentContact,
    ItemKind,
    MaterialForm,
    MaterialRequirement,
    Role,
    ServiceItem,
    Staff,
    Window,
    WindowDepartment,
)
from hallapp.security import hash_password
from hallapp.store import Store, sqlite_url
from hallapp.sync.centre import central_engine, init_central

PG_ADMIN_URL = os.environ.get(
    "HALLAPP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# ------------------------------------------------ no secret in any log file

#: The test data's passwords (demo staff, make_reference) and database passwords.
TEST_PASSWORDS = ("123456", "654321", "s3cret-pg-pw")
_TESTS = Path(__file__).resolve().parent


def test_personal_numbers() -> set[str]:
    """Every valid resident ID number and mobile number written in the tests and
    the shipped resources: none may appear in a log."""
    from hallapp.validation import validate_id_number

    found: set[str] = set()
    roots = (_TESTS, _TESTS.parent / "resources")
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix not in {".py", ".toml", ".json", ".yaml", ".txt"} or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in re.finditer(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])", text):
                if validate_id_number(m[0]):
                    found.add(m[0].upper())
            found.update(re.findall(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])", text))
    return found


test_personal_numbers.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def find_leaks(files: Iterable[Path], needles: Iterable[str]) -> list[str]:
    """``file: needle`` for every needle found (as a whole token) in a file."""
    patterns = [
        (n, re.compile(r"(?<![0-9A-Za-z])" + re.escape(n) + r"(?![0-9A-Za-z])", re.IGNORECASE))
        for n in needles
    ]
    leaks = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaks += [f"{path}: {n}" for n, pattern in patterns if pattern.search(text)]
    return leaks


@pytest.fixture(scope="session", autouse=True)
def _logs_hold_no_secrets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every record logged in this process goes to a real log file through the
    production handler; at the end, that file and every log the tests' child
    processes wrote are scanned for the test data's ID numbers, phones and
    passwords."""
    import hallapp.logsetup as logsetup

    base = tmp_path_factory.getbasetemp()
    root = logging.getLogger()
    handler = logsetup.file_handler(base / "session-log" / "hallapp.log")
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logsetup._configured = True  # main() in-process must not add a second file
    yield
    root.removeHandler(handler)
    handler.close()
    files = [p for p in base.rglob("*.log*") if p.is_file()]
    leaks = find_leaks(files, [*TEST_PASSWORDS, *test_personal_numbers()])
    assert not leaks, "secrets or personal numbers in log files:\n" + "\n".join(leaks[:50])


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    # Never read the developer's own config or write into their log folder.
    base = tmp_path_factory.mktemp("hallapp-home")
    monkeypatch.setenv("HALLAPP_LOG_DIR", str(base / "log"))
    cfg = base / "hallapp.toml"
    cfg.write_text('[hall]\ncode = "LC"\n[window]\ncode = "A03"\n', encoding="utf-8")
    monkeypatch.setenv("HALLAPP_CONFIG", str(cfg))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))


#: The progress-query address a hall configures (none by default: no code printed).
QR = {"qr_url_template": "https://zwfw.example.gov.cn/q?case={case_no}"}


@pytest.fixture
def config() -> Config:
    return parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}, "printing": QR})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(sqlite_url(tmp_path / "window.sqlite3"))
    yield s
    s.dispose()


def _pg_available() -> bool:
    try:
        eng = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from _fresh_pg_database()


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by the tests of one module."""
    yield from _fresh_pg_database()


def _fresh_pg_database() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("HALLAPP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"hallapp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    s = Store.open(pg_url)
    yield s
    s.dispose()


@dataclass
class Reference:
    """Ids of the minimal reference data made by :func:`make_reference`."""

    clerk_id: str
    clerk_no: str
    supervisor_id: str
    item_code: str  # promised item: legal 20, promised 8
    instant_code: str  # instant item
    other_department: str  # for referrals
    contact_id: str
    materials: dict[str, str]  # material name -> requirement id (item_code)


def make_reference(store: Store) -> Reference:
    with store.session() as s:
        s.add_all(
            [
                Department(code="ZJJ", name="连城县住房和城乡建设局", phone="0597-8921234"),
                Department(
                    code="ZRZY",
                    name="连城县自然资源局",
                    phone="0597-8935678",
                    address="连城县莲峰镇北大东路 8 号",
                ),
            ]
        )
        s.flush()
        # The configured window (A03) serves the clerk's department: clerks go
        # on duty only at a window of their own department.
        s.add(
            Window(
                code="A03",
                name="住房和城乡建设窗口",
                department_code="ZJJ",
                served=[WindowDepartment(department_code="ZJJ")],
            )
        )
        contact = DepartmentContact(
            department_code="ZRZY", name="林晓东", title="用地股股长", phone="0597-8935601"
        )
        clerk = Staff(
            staff_no="1001",
            name="张丽华",
            title="综合受理员",
            phone="0597-8921001",
            department_code="ZJJ",
            role=Role.CLERK,
            password_hash=hash_password("123456"),
            commitments="首问负责\n一次告知\n限时办结",
        )
        supervisor = Staff(
            staff_no="9001",
            name="王建国",
            title="中心督查科科长",
            department_code="ZJJ",
            role=Role.SUPERVISOR,
            password_hash=hash_password("654321"),
        )
        item = ServiceItem(
            code="ZJ-001",
            name="建筑工程施工许可证核发",
            department_code="ZJJ",
            kind=ItemKind.PROMISED,
            legal_days=20,
            promised_days=8,
            legal_basis="《中华人民共和国建筑法》第七条、第八条",
        )
        names = [
            ("建筑工程施工许可申请表", MaterialForm.ORIGINAL, True, False),
            ("建设工程规划许可证", MaterialForm.ORIGINAL_AND_COPY, True, False),
            ("施工合同", MaterialForm.COPY, True, False),
            ("安全施工措施资料", MaterialForm.ORIGINAL, True, True),
            ("建设资金已落实承诺书", MaterialForm.ORIGINAL, True, True),
            ("授权委托书", MaterialForm.ORIGINAL, False, False),
        ]
        item.materials = [
            MaterialRequirement(seq=i + 1, name=n, form=f, required=r, deferrable=d)
            for i, (n, f, r, d) in enumerate(names)
        ]
        instant = ServiceItem(
            code="RS-009",
            name="社会保障卡申领",
            department_code="ZJJ",
            kind=ItemKind.INSTANT,
            legal_days=0,
            promised_days=0,
        )
        instant.materials = [
            MaterialRequirement(seq=1, name="居民身份证", form=MaterialForm.ORIGINAL)
        ]
        s.add_all([contact, clerk, supervisor, item, instant])
        s.flush()
        return Reference(
            clerk_id=clerk.id,
            clerk_no=clerk.staff_no,
            supervisor_id=supervisor.id,
            item_code=item.code,
            instant_code=instant.code,
            other_department="ZRZY",
            contact_id=contact.id,
            materials={m.name: m.id for m in item.materials},
        )


@pytest.fixture
def reference(store: Store) -> Reference:
    return make_reference(store)


@pytest.fixture(scope="session")
def reference_factory():
    """make_reference, for tests that build reference data in another store."""
    return make_reference


# The central store, on each backend: a SQLite file, and a fresh PostgreSQL
# database (tests of sync, of bundles...).
CENTRAL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=CENTRAL_BACKENDS)
def central_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "central.sqlite3")
    else:
        url = str(request.getfixturevalue("pg_url"))
    init_central(url)
    return url


@pytest.fixture
def central(central_url: str) -> Iterator[sa.Engine]:
    engine = central_engine(central_url)
    yield engine
    engine.dispose()
