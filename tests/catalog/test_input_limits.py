"""Bad catalog input is refused where it is entered, and nothing changes.

Ranges on every number and text, look-alike codes, and the files that crashed
a parser (a corrupt xlsx, a number of thousands of digits, deep nesting, a full
disk): each gets a Chinese message naming the row or key, the value and what
to do, and the store keeps exactly what it had.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import string
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from hallapp.catalog import (
    COPIES_MAX,
    LEGAL_DAYS_MAX,
    MATERIALS_MAX,
    CatalogError,
    export_catalog_xlsx,
    import_catalog,
    load_catalog,
    search_items,
)
from hallapp.models import Department, Role, ServiceItem, Staff
from hallapp.security import hash_password
from hallapp.store import Store, sqlite_url

Snapshot = Callable[[Store], dict[str, list[tuple[Any, ...]]]]


def minimal(**item: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "T-001",
        "name": "测试许可",
        "pinyin": "csxk",
        "department": "D1",
        "kind": "承诺件",
        "legal_days": 20,
        "promised_days": 8,
        "legal_basis": "《中华人民共和国行政许可法》",
        "materials": [
            {"name": "申请书", "form": "原件"},
            {"name": "营业执照", "form": "复印件"},
        ],
    }
    base.update(item)
    return {"departments": [{"code": "D1", "name": "测试局"}], "items": [base]}


def problems_of(source: Any) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(source)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"legal_days": 5000},
            f"法定时限(工作日)）：5000 超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日",
        ),
        ({"legal_days": 10**30}, f"超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日"),
        ({"legal_days": "9" * 5000}, f"数值有 5000 位，超出允许范围 0–{LEGAL_DAYS_MAX}"),
        ({"promised_days": 100000}, f"100000 超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日"),
        ({"legal_days": 1e300}, f"超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日"),
        (
            {"kind": "即办件", "legal_days": 99999, "promised_days": 0},
            f"99999 超出允许范围 0–{LEGAL_DAYS_MAX} 个工作日",
        ),
    ],
)
def test_day_counts_have_a_range(item: dict[str, Any], expected: str) -> None:
    found = problems_of(minimal(**item))
    assert any(expected in p and "事项第 1 条（编码 T-001）" in p for p in found), found


def test_copies_and_materials_have_a_range() -> None:
    mats = [{"name": "申请书", "form": "原件", "copies": 10_000_000}]
    (found,) = problems_of(minimal(materials=mats))
    assert "申请材料第 1 条" in found and "copies（份数）" in found
    assert f"10000000 超出允许范围 0–{COPIES_MAX} 份" in found
    many = [{"name": f"材料{i}", "form": "原件"} for i in range(MATERIALS_MAX + 1)]
    assert any(
        f"超出允许范围 1–{MATERIALS_MAX} 项" in p for p in problems_of(minimal(materials=many))
    )
    assert load_catalog(minimal(materials=many[:MATERIALS_MAX])).items


@pytest.mark.parametrize(
    ("key", "limit"),
    [
        ("scope", 4000),
        ("procedure", 4000),
        ("conditions", 4000),
        ("fees", 1000),
        ("legal_basis", 2000),
    ],
)
def test_texts_have_a_length(key: str, limit: int) -> None:
    assert load_catalog(minimal(**{key: "字" * limit})).items
    (found,) = problems_of(minimal(**{key: "字" * 1_000_000}))
    assert f"{key}（" in found and f"长度 1000000 字超过上限 {limit} 字" in found


def test_material_note_and_department_texts_have_a_length() -> None:
    mats = [{"name": "申请书", "form": "原件", "note": "注" * 501}]
    assert any("长度 501 字超过上限 500 字" in p for p in problems_of(minimal(materials=mats)))
    data = minimal()
    data["departments"][0]["duties"] = "职" * 2001
    assert any("长度 2001 字超过上限 2000 字" in p for p in problems_of(data))


def test_an_item_in_range_imports_and_accepts(store: Store) -> None:
    with store.session() as s:
        import_catalog(s, minimal(legal_days=LEGAL_DAYS_MAX, promised_days=100))
    with store.session() as s:
        item = s.get(ServiceItem, "T-001")
        assert item is not None and item.legal_days == LEGAL_DAYS_MAX


# ------------------------------------------------------------- look-alikes


@pytest.mark.parametrize("hidden", ["\u200b", "\ufeff", "\u202e", "\u00ad", "\u3000"])
def test_a_code_with_a_hidden_character_is_refused(hidden: str) -> None:
    (found,) = problems_of(minimal(code=f"T-{hidden}001"))
    assert "code（事项编码）" in found and f"U+{ord(hidden):04X}" in found
    data = minimal()
    data["departments"][0]["code"] = f"D{hidden}1"
    data["items"][0]["department"] = "D1"
    assert any("code（部门编码）" in p and f"U+{ord(hidden):04X}" in p for p in problems_of(data))


def test_a_full_width_code_is_the_same_item(store: Store) -> None:
    with store.session() as s:
        import_catalog(s, minimal())
    # The same item typed with the IME in 全角, naming its department in 全角 too.
    again = minimal(code="Ｔ－００１", department="Ｄ１", name="测试许可（更新）")
    again["departments"] = []
    with store.session() as s:
        summary = import_catalog(s, again)
    assert summary.items_updated == ["T-001"] and not summary.items_added
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ServiceItem)) == 1
        assert [i.code for i in search_items(s, "ｔ－００")] == ["T-001"]


def test_look_alike_codes_in_one_file_are_duplicates() -> None:
    data = minimal()
    data["items"].append({**data["items"][0], "code": "Ｔ-001"})
    assert any("事项编码 T-001 与事项第 1 条" in p for p in problems_of(data))


def test_codes_differing_only_in_case_are_refused_in_the_file_and_against_the_store(
    store: Store,
) -> None:
    """zjj-xk-002 beside ZJJ-XK-002 was added as a second copy of the item."""
    data = minimal()
    data["items"].append({**data["items"][0], "code": "t-001"})
    found = problems_of(data)
    assert any("事项编码 t-001 与事项第 1 条" in p and "只有大小写不同" in p for p in found)
    with store.session() as s:
        import_catalog(s, minimal())
    later = minimal()
    later["items"][0] = {**later["items"][0], "code": "t-001"}
    with store.session() as s, pytest.raises(CatalogError) as refused:
        import_catalog(s, later)
    assert "与已有的 T-001 只有大小写不同" in str(refused.value)
    with store.session() as s:
        assert [i.code for i in s.scalars(select(ServiceItem))] == ["T-001"]


def test_xlsx_materials_find_their_item_across_widths(tmp_path: Path, store: Store) -> None:
    with store.session() as s:
        import_catalog(s, minimal())
        path = tmp_path / "清单.xlsx"
        export_catalog_xlsx(s, path)
    wb = load_workbook(path)
    wb["申请材料"]["A2"] = "Ｔ－００１"
    wb.save(path)
    data = load_catalog(path)
    assert [m.name for m in data.items[0].materials] == ["申请书", "营业执照"]


# -------------------------------------------------- inputs that crashed a parser


def _broken_sheet(tmp_path: Path, good: Path) -> Path:
    target = tmp_path / "broken-sheet.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet1"):
                data = data[: len(data) // 2]  # cut in the middle of the XML
            zout.writestr(info, data)
    return target


def _crash_files(tmp_path: Path, good_xlsx: Path) -> dict[str, tuple[Path, str]]:
    files: dict[str, tuple[Path, str]] = {}

    def put(name: str, text: str, expected: str) -> None:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        files[name] = (path, expected)

    digits = "9" * 5000
    put("huge.json", '{"items": [{"code": "X", "legal_days": ' + digits + "}]}", "数字位数过多")
    put("huge.toml", '[[items]]\ncode = "X"\nlegal_days = ' + digits + "\n", "数字位数过多")
    put("huge.yaml", "items:\n- code: X\n  legal_days: " + digits + "\n", "数字位数过多")
    deep = "[" * 100_000 + "]" * 100_000
    put("deep.json", '{"items": ' + deep + "}", "嵌套层数过多")
    put("deep.yaml", "items: " + deep + "\n", "嵌套层数过多")
    put("deep.toml", "items = " + deep + "\n", "嵌套层数过多")
    # Below the parsers' recursion limit, and still no catalog.
    put("deep-500.json", '{"items": ' + "[" * 500 + "]" * 500 + "}", "嵌套超过 8 层")
    # "Billion laughs": 1.3 KB of YAML aliases, six levels deep (within the
    # depth rule), standing for 60^5 values.
    bomb = ["a: &a [" + ", ".join(["x"] * 60) + "]"]
    for name, prev in zip("bcd", "abc", strict=True):
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 60) + "]")
    bomb.append("items: [" + ", ".join(["*d"] * 60) + "]")
    put("laughs.yaml", "\n".join(bomb) + "\n", "展开后超过")
    (tmp_path / "zip.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    files["zip.xlsx"] = (tmp_path / "zip.xlsx", "无法读取 Excel 文件")
    files["sheet.xlsx"] = (_broken_sheet(tmp_path, good_xlsx), "Excel 文件已损坏")
    return files


@pytest.fixture
def loaded(store: Store, sample_catalog: Path, tmp_path: Path) -> Path:
    """The store with the sample catalog; returns a good export of it."""
    with store.session() as s:
        import_catalog(s, sample_catalog)
        good = tmp_path / "good.xlsx"
        export_catalog_xlsx(s, good)
    return good


def test_files_that_crashed_a_parser_change_nothing(
    store: Store, loaded: Path, tmp_path: Path, snapshot: Snapshot
) -> None:
    before = snapshot(store)
    for name, (path, expected) in _crash_files(tmp_path, loaded).items():
        with pytest.raises(CatalogError) as info, store.session() as s:
            import_catalog(s, path)
        assert expected in info.value.report(), (name, info.value.report())
        assert "未导入任何内容" in info.value.report()
    assert snapshot(store) == before


def test_the_command_shows_no_traceback(
    store: Store,
    loaded: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hallapp.logsetup
    from hallapp.cli import main

    # In one process, main() must not bind a console handler to pytest's capture.
    monkeypatch.setattr(hallapp.logsetup, "_configured", True)
    db = store.engine.url.render_as_string(hide_password=False)
    files = _crash_files(tmp_path, loaded)
    for name, (path, expected) in files.items():
        # A real import first asks who is acting (tests/core/test_admin_commands.py);
        # a dry run reads and checks the file the same way without that.
        for action in (["import", "--dry-run"], ["validate"]):
            assert main(["catalog", *action, str(path), "--db", db]) == 1, name
            err = capsys.readouterr().err
            assert expected in err and "Traceback" not in err, name
    # And once as the user runs it, a process of its own with its console log.
    path, expected = files["sheet.xlsx"]
    result = subprocess.run(
        [sys.executable, "-m", "hallapp", "catalog", "import", "--dry-run", str(path), "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ disk full


def _big_catalog(path: Path) -> Path:
    """About 15 MB of valid catalog: more than the disk below has left."""
    items = [
        {**minimal(code=f"BIG-{i:04d}", pinyin=f"big{i}", scope="范围" * 1500)["items"][0]}
        for i in range(1200)
    ]
    path.write_text(
        json.dumps({"departments": [{"code": "D1", "name": "测试局"}], "items": items}),
        encoding="utf-8",
    )
    return path


@pytest.fixture(params=["tmpfs", "rlimit"])
def small_disk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, Callable[[], None] | None]]:
    """A real 3 MB tmpfs where the machine lets us mount one (else skipped), and
    a plain folder with a file-size limit (RLIMIT_FSIZE) that runs anywhere."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if request.param == "tmpfs":
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("mounting a tmpfs needs root")
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            pytest.skip("this machine does not let us mount a tmpfs")
        yield folder, None
        subprocess.run(["umount", str(folder)], check=False)
        return

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    yield folder, limit


def test_a_full_disk_stops_the_import_and_changes_nothing(
    small_disk: tuple[Path, Callable[[], None] | None],
    sample_catalog: Path,
    tmp_path: Path,
    snapshot: Snapshot,
) -> None:
    folder, preexec = small_disk
    url = sqlite_url(folder / "window.sqlite3")
    store = Store.open(url)
    with store.session() as s:
        import_catalog(s, sample_catalog)
        # A real import is made by a supervisor who proves who they are.
        s.add(
            Staff(
                staff_no="9001",
                name="监督员",
                department_code=s.scalars(select(Department.code)).first(),
                role=Role.SUPERVISOR,
                password_hash=hash_password("654321"),
            )
        )
    before = snapshot(store)
    store.dispose()
    big = _big_catalog(tmp_path / "big.json")

    result = subprocess.run(
        [
            *[sys.executable, "-m", "hallapp", "catalog", "import", str(big)],
            *["--db", url, "--staff", "9001"],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=preexec,  # only a resource limit, set before exec
        env={**os.environ, "HALLAPP_PASSWORD": "654321"},
    )
    assert result.returncode == 3, result.stderr  # the database cannot be written
    assert "未导入，数据库没有任何改变" in result.stderr
    assert "磁盘空间已满" in result.stderr or "磁盘出错" in result.stderr
    assert "Traceback" not in result.stderr

    store = Store.open(url, run_migrations=False)
    try:
        assert snapshot(store) == before
    finally:
        store.dispose()


@settings(max_examples=150, deadline=None)
@given(
    code=st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=20),
    hidden=st.sampled_from(
        [
            "\u200b",
            "\u200c",
            "\u200d",
            "\u2060",
            "\ufeff",
            "\u00ad",
            "\u200e",
            "\u202a",
            "\u202e",
            "\u2066",
            "\x07",
            "\u3000",
            "\u2002",
        ]
    ),
    where=st.integers(min_value=0, max_value=20),
)
def test_no_hidden_character_makes_a_second_item(code: str, hidden: str, where: int) -> None:
    """Property: a code with a hidden character is refused wherever it sits (the
    ends included; outer whitespace of a cell is trimmed to the same code); a
    full-width code is the ASCII one. Either way there is never a second item."""
    where = min(where, len(code))
    tainted = code[:where] + hidden + code[where:]
    if hidden.isspace() and where in (0, len(code)):  # a cell's outer whitespace
        assert load_catalog(minimal(code=tainted)).items[0].code == code
    else:
        found = problems_of(minimal(code=tainted))
        assert any("code（事项编码）" in p and f"U+{ord(hidden):04X}" in p for p in found)
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code)
    assert load_catalog(minimal(code=wide)).items[0].code == code


def test_a_lone_surrogate_is_refused_once_by_validate_and_import(tmp_path: Path) -> None:
    """A JSON file's "\\ud800" (a lone surrogate: no database, log or PDF can
    hold it) is one problem of its item, found by `catalog validate` as by
    `catalog import` (which ended in an internal error), and the sample's
    一件事 naming that item is not reported as naming an unknown one."""
    import tomllib
    from importlib import resources

    data = tomllib.loads((resources.files("hallapp.resources") / "catalog.toml").read_text())
    data["items"][0]["procedure"] = "\ud800"
    path = tmp_path / "surrogate.json"
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
    (problem,) = problems_of(path)
    assert "procedure" in problem and "不可见" in problem
    from hallapp.demo import seed_demo

    db = tmp_path / "w.sqlite3"
    store = Store.open(sqlite_url(db))
    seed_demo(store)  # its supervisor 9001 signs the import (password 123456)
    store.dispose()
    commands = (
        ["catalog", "validate", str(path)],
        ["catalog", "import", str(path), "--db", sqlite_url(db), "--staff", "9001"],
    )
    for argv in commands:
        result = subprocess.run(
            [sys.executable, "-m", "hallapp", *argv], capture_output=True, text=True,
            env={**os.environ, "HALLAPP_PASSWORD": "123456", "HALLAPP_LOG_DIR": str(tmp_path)},
            stdin=subprocess.DEVNULL, timeout=120,
        )  # fmt: skip
        assert result.returncode == 1, result
        assert "不可见" in result.stderr and "不存在" not in result.stderr
        assert "内部错误" not in result.stderr
