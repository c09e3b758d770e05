"""``hallapp staff`` / ``hallapp windows``: a hall without a centre sets up its own
database, first administrator first, then windows and clerks, each change signed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hallapp.cli import main
from hallapp.config import parse_config
from hallapp.duty import Duty
from hallapp.models import AuditEntry, Role, Staff
from hallapp.store import Store, sqlite_url


@pytest.fixture
def url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "hall.sqlite3")


def run(capsys, monkeypatch, stdin: str, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_new_database_says_how_to_begin(capsys, monkeypatch, url):
    code, out, _ = run(capsys, monkeypatch, "", "staff", "list", "--db", url)
    assert code == 0
    assert "hallapp window join" in out and "--role administrator" in out


def test_first_administrator_then_windows_then_clerks(capsys, monkeypatch, url):
    # Nobody yet: a clerk cannot be the first.
    code, _, err = run(
        capsys,
        monkeypatch,
        "abcdefgh\n",
        "staff",
        "add",
        "1003",
        "陈思雨",
        "--department",
        "SCJ",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 4 and "请先登记第一位系统管理员" in err
    code, out, _ = run(
        capsys,
        monkeypatch,
        "secret123\n",
        "staff",
        "add",
        "9901",
        "邱文杰",
        "--department",
        "ZWB",
        "--department-name",
        "连城县行政服务中心管理委员会",
        "--role",
        "administrator",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 0, out
    assert "hallapp windows add" in out and "--by 9901" in out
    # Reference data changes are signed by the administrator (issue 9).
    monkeypatch.setenv("HALLAPP_PASSWORD", "secret123")
    assert main(["catalog", "import", str(_catalog()), "--db", url, "--staff", "9901"]) == 0
    monkeypatch.delenv("HALLAPP_PASSWORD")
    capsys.readouterr()

    # Windows: signed by the administrator; a wrong password changes nothing.
    code, _, err = run(
        capsys,
        monkeypatch,
        "wrong\n",
        "windows",
        "add",
        "A03",
        "企业开办窗口",
        "--department",
        "SCJ",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 4 and "管理员身份核对失败" in err
    code, out, _ = run(
        capsys,
        monkeypatch,
        "secret123\n",
        "windows",
        "add",
        "a01",
        "综合窗口",
        "--department",
        "ZJJ",
        "--department",
        "HBJ",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 0 and "综合窗口 A01" in out and "ZJJ、HBJ" in out
    code, out, _ = run(
        capsys,
        monkeypatch,
        "secret123\n",
        "windows",
        "add",
        "A03",
        "企业开办窗口",
        "--department",
        "SCJ",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 0
    code, _, err = run(
        capsys,
        monkeypatch,
        "secret123\n",
        "windows",
        "add",
        "A09",
        "无部门窗口",
        "--department",
        "NOPE",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 1 and "部门 NOPE 不存在" in err
    # The same code with another name (a typo) does not rename a window in
    # service; --update does. The password from HALLAPP_PASSWORD, as for
    # every other signed command, and no prompt without a terminal.
    rename = ("windows", "add", "A03", "企业登记窗口", "--department", "SCJ", "--by", "9901",
              "--db", url)  # fmt: skip
    code, _, err = run(capsys, monkeypatch, "", *rename)
    assert code == 1 and "已登记为“企业开办窗口”" in err and "--update" in err
    code, _, err = run(capsys, monkeypatch, "", *rename, "--update")
    assert code == 4 and "没有终端可输入密码" in err and "HALLAPP_PASSWORD" in err
    assert "Warning" not in err
    monkeypatch.setenv("HALLAPP_PASSWORD", "secret123")
    code, out, _ = run(capsys, monkeypatch, "", *rename, "--update")
    monkeypatch.delenv("HALLAPP_PASSWORD")
    assert code == 0 and "已修改窗口 A03 企业登记窗口" in out

    # A clerk: their password first, then the administrator's.
    code, out, _ = run(
        capsys,
        monkeypatch,
        "pass12345\nsecret123\n",
        "staff",
        "add",
        "1003",
        "陈思雨",
        "--department",
        "SCJ",
        "--title",
        "窗口负责人",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 0 and "陈思雨" in out
    code, _, err = run(
        capsys,
        monkeypatch,
        "short\nsecret123\n",
        "staff",
        "add",
        "1004",
        "林志华",
        "--department",
        "SCJ",
        "--by",
        "9901",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 1 and "密码至少 8 位" in err
    # A clerk cannot register staff.
    code, _, err = run(
        capsys,
        monkeypatch,
        "pass12345\npass12345\n",
        "staff",
        "add",
        "1005",
        "张雅琴",
        "--department",
        "SCJ",
        "--by",
        "1003",
        "--password-stdin",
        "--db",
        url,
    )
    assert code == 4 and "不是系统管理员" in err

    code, out, _ = run(capsys, monkeypatch, "", "windows", "list", "--db", url)
    assert "A01\t综合窗口\tZJJ、HBJ\t综合窗口" in out
    store = Store.open(url)
    try:
        with store.session() as s:
            assert {p.staff_no: Role(p.role) for p in s.query(Staff)} == {
                "9901": Role.ADMINISTRATOR,
                "1003": Role.CLERK,
            }
            actions = sorted(e.action for e in s.query(AuditEntry))
            assert actions == [
                "catalog.import",  # signed by the administrator (issue 9)
                "staff.add",
                "staff.first_administrator",
                "windows.add",
                "windows.add",
                "windows.change",  # the rename with --update, signed too
            ]
        # And the clerk registered so goes on duty at the window registered so.
        duty = Duty(store, parse_config({"hall": {"code": "LC"}, "window": {"code": "A03"}}))
        clerk = duty.sign_in("1003", "pass12345")
        assert duty.start(clerk.id).staff.staff_no == "1003"
    finally:
        store.dispose()


def test_a_second_first_administrator_is_refused(capsys, monkeypatch, url):
    args = (
        "staff",
        "add",
        "9901",
        "邱文杰",
        "--department",
        "ZWB",
        "--department-name",
        "管委会",
        "--role",
        "administrator",
        "--password-stdin",
        "--db",
        url,
    )
    assert run(capsys, monkeypatch, "secret123\n", *args)[0] == 0
    code, _, err = run(capsys, monkeypatch, "secret123\n", *args[:2], "9902", *args[3:])
    # Now it needs an administrator's signature like any other addition.
    assert code == 4 and "请用 --by 指明" in err


def _catalog() -> Path:
    from importlib import resources

    return Path(str(resources.files("hallapp.resources") / "catalog.toml"))


def _hall_with_administrator(capsys, monkeypatch, url: str) -> None:
    code, out, _ = run(
        capsys, monkeypatch, "secret123\n", "staff", "add", "9901", "邱文杰",
        "--department", "ZWB", "--department-name", "连城县行政服务中心管理委员会",
        "--role", "administrator", "--password-stdin", "--db", url,
    )  # fmt: skip
    assert code == 0, out
    monkeypatch.setenv("HALLAPP_PASSWORD", "secret123")
    assert main(["catalog", "import", str(_catalog()), "--db", url, "--staff", "9901"]) == 0
    monkeypatch.delenv("HALLAPP_PASSWORD")
    capsys.readouterr()


@pytest.mark.parametrize(
    "phone", ["电话没有", "12345678901234", "0597-12", "+852 123", "1381234567"]
)
def test_a_staff_phone_that_cannot_be_dialled_is_refused(capsys, monkeypatch, url, phone):
    """The phone is printed as 首办负责人 联系电话 on every notice and shown on
    the citizen screen: it is checked like an applicant's."""
    _hall_with_administrator(capsys, monkeypatch, url)
    code, _out, err = run(
        capsys, monkeypatch, "pass12345\nsecret123\n", "staff", "add", "1005", "张雅琴",
        "--department", "SCJ", "--phone", phone, "--by", "9901", "--password-stdin", "--db", url,
    )  # fmt: skip
    assert code != 0 and "联系电话有误" in err and "Traceback" not in err
    store = Store.open(url)
    try:
        with store.session() as s:
            assert s.query(Staff).filter_by(staff_no="1005").first() is None
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("0597-8921003-1", "0597-8921003转1"),
        ("+86 597 8921003", "0597-8921003"),
        ("139 0597 1234", "13905971234"),
        ("+852 9123 4567", "+85291234567"),
    ],
)
def test_a_staff_phone_is_stored_as_it_is_dialled(capsys, monkeypatch, url, phone, stored):
    _hall_with_administrator(capsys, monkeypatch, url)
    code, _out, err = run(
        capsys, monkeypatch, "pass12345\nsecret123\n", "staff", "add", "1005", "张雅琴",
        "--department", "SCJ", "--phone", phone, "--by", "9901", "--password-stdin", "--db", url,
    )  # fmt: skip
    assert code == 0, err
    store = Store.open(url)
    try:
        with store.session() as s:
            assert s.query(Staff).filter_by(staff_no="1005").one().phone == stored
    finally:
        store.dispose()
