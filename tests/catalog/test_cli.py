"""`hallapp catalog ...` and `hallapp db ...` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy import select

from hallapp.catalog import catalog_from_store, load_catalog
from hallapp.cli import main
from hallapp.models import AuditEntry
from hallapp.store import Store, sqlite_url


def _sample_items() -> int:
    from importlib import resources

    return len(load_catalog(Path(str(resources.files("hallapp.resources") / "catalog.toml"))).items)


SAMPLE_ITEMS = _sample_items()


@pytest.fixture(autouse=True)
def _no_console_log_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() installs a console handler bound to the sys.stderr of the moment;
    # in one process across tests that stream is pytest's closed capture. The
    # real entry point is run as a process in test_real_command_has_no_traceback.
    import hallapp.logsetup

    monkeypatch.setattr(hallapp.logsetup, "_configured", True)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "cli.sqlite3")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every demo password is 123456 (README, Demo staff); scripts give it here.
    monkeypatch.setenv("HALLAPP_PASSWORD", "123456")


def test_seed_demo_twice(db: str, capsys: pytest.CaptureFixture[str], demo_password: None) -> None:
    code, out, _ = run(capsys, "db", "seed-demo", "--db", db)
    assert code == 0 and "演示数据已载入" in out and "工作人员新增 11" in out
    # The demo staff now exist: re-seeding is an administrative command.
    code, _, err = run(capsys, "db", "seed-demo", "--db", db)
    assert code == 4 and "--staff" in err
    code, out, _ = run(capsys, "db", "seed-demo", "--db", db, "--staff", "9901")
    assert code == 0 and "未作更改" in out


def test_export_validate_search(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert run(capsys, "db", "seed-demo", "--db", db)[0] == 0
    target = tmp_path / "清单.xlsx"
    code, out, _ = run(capsys, "catalog", "export", str(target), "--db", db)
    assert code == 0 and f"已导出 {SAMPLE_ITEMS} 个事项" in out and target.is_file()
    code, out, _ = run(capsys, "catalog", "validate", str(target), "--db", db)
    assert code == 0 and "校验通过" in out
    code, out, _ = run(capsys, "catalog", "search", "sgxk", "--db", db)
    assert code == 0 and out.splitlines()[0].startswith("ZJJ-XK-001\t建筑工程施工许可证核发")
    code, out, _ = run(capsys, "catalog", "search", "没有这个", "--db", db)
    assert code == 1 and "没有找到" in out
    code, _, err = run(capsys, "catalog", "export", str(tmp_path / "x.csv"), "--db", db)
    assert code == 2 and ".xlsx" in err


def test_bad_file_lists_every_problem_and_writes_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_password: None
) -> None:
    assert run(capsys, "db", "seed-demo", "--db", db)[0] == 0
    good = tmp_path / "good.xlsx"
    assert run(capsys, "catalog", "export", str(good), "--db", db)[0] == 0
    wb = load_workbook(good)
    ws = wb["事项"]
    ws.cell(row=2, column=6).value = 100  # 承诺时限
    ws.cell(row=3, column=2).value = None  # 事项名称
    ws.cell(row=4, column=2).value = "只改这一个名字"  # valid alone, must not be written
    wb["申请材料"].cell(row=2, column=4).value = "传真件"
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)

    store = Store.open(db)
    with store.session() as s:
        before = catalog_from_store(s)
    for action in (["import", "--staff", "9001"], ["validate"]):
        code, out, err = run(capsys, "catalog", *action, str(bad), "--db", db)
        assert code == 1, (out, err)
        assert "有 3 处问题" in err
        # Only an import says it imported nothing: a check never imports.
        assert ("未导入任何内容" in err) == (action[0] == "import")
        assert "工作表“事项”第 2 行，承诺时限(工作日)" in err and "最多可承诺" in err
        assert "工作表“事项”第 3 行，事项名称：不能为空" in err
        assert "工作表“申请材料”第 2 行，材料形式" in err
        assert "Traceback" not in err
    with store.session() as s:
        assert catalog_from_store(s) == before
    store.dispose()


def test_import_as_supervisor_is_audited(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], demo_password: None
) -> None:
    cfg = tmp_path / "hallapp.toml"
    cfg.write_text('[window]\ncode = "B02"\n', encoding="utf-8")
    assert run(capsys, "db", "seed-demo", "--db", db)[0] == 0
    from importlib import resources

    sample = str(resources.files("hallapp.resources") / "catalog.toml")
    code, out, _ = run(capsys, "--config", str(cfg), "catalog", "import", sample,
                       "--db", db, "--staff", "9001")  # fmt: skip
    assert code == 0 and f"未变 {SAMPLE_ITEMS}" in out
    code, _, err = run(capsys, "--config", str(cfg), "catalog", "import", sample,
                       "--db", db, "--staff", "1001")  # fmt: skip
    assert code == 4 and "只有监督管理人员或系统管理员" in err
    code, out, _ = run(capsys, "catalog", "import", sample, "--db", db, "--dry-run")
    assert code == 0 and "未写入" in out
    store = Store.open(db)
    with store.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action != "demo.mark")).all()
        assert [(e.staff_no, e.action, e.origin_window) for e in entries] == [
            ("9001", "catalog.import", "B02")
        ]
    store.dispose()


def test_db_upgrade_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "window" / "local.sqlite3"
    cfg = tmp_path / "hallapp.toml"
    cfg.write_text(f'[store]\nlocal_path = "{path.as_posix()}"\n', encoding="utf-8")
    code, _, err = run(capsys, "--config", str(cfg), "db", "check")
    assert code == 1 and "hallapp db upgrade" in err
    code, out, _ = run(capsys, "--config", str(cfg), "db", "upgrade")
    assert code == 0 and str(path) in out and path.is_file()
    code, out, _ = run(capsys, "--config", str(cfg), "db", "check")
    assert code == 0 and "最新" in out


def test_real_command_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[items]]\ncode = "X-1"\nname = "测试"\ndepartment = "无"\nkind = "承诺件"\n'
        'legal_days = 10\npromised_days = 5\nlegal_basis = "《行政许可法》"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "hallapp", "catalog", "validate", str(bad),
         "--db", sqlite_url(tmp_path / "v.sqlite3")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "最多可承诺 4 个工作日" in result.stderr
    assert "部门“无”不存在" in result.stderr
    assert "没有申请材料" in result.stderr
    assert "Traceback" not in result.stderr
    # Validation never writes, not even a schema into an empty database.
    engine = sa.create_engine(sqlite_url(tmp_path / "v.sqlite3"))
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
