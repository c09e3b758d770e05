"""`hallapp render` and `hallapp print`, run as a user runs them (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from hallapp.documents import DocumentType, sample

SLIP_WIDTH_PT = 80 / 25.4 * 72


def hallapp(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "hallapp", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("size", ["a4", "slip"])
@pytest.mark.parametrize("doc_type", [t.value for t in DocumentType])
def test_render_sample(tools, tmp_path, doc_type, size) -> None:
    out = tmp_path / f"{doc_type}.pdf"
    res = hallapp("render", doc_type, "--sample", "--size", size, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "已生成" in res.stdout
    info = tools.info(out)
    if size == "slip":
        assert info.width_pt == pytest.approx(SLIP_WIDTH_PT, abs=0.1)
    text = tools.squash(tools.text(out))
    assert DocumentType(doc_type).heading in text


def test_render_long_sample(tools, tmp_path) -> None:
    out = tmp_path / "long.pdf"
    res = hallapp("render", "one-time", "--sample", "--long", "--size", "a4", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert tools.info(out).pages >= 2
    assert "共40项" in tools.squash(tools.text(out))


def test_render_archived_content_as_a_reprint(tools, tmp_path) -> None:
    archived = tmp_path / "issued.json"
    archived.write_text(
        json.dumps(sample(DocumentType.REFERRAL).to_dict(), ensure_ascii=False), encoding="utf-8"
    )
    out = tmp_path / "again.pdf"
    res = hallapp("render", "--json", str(archived), "--reprint", "--size", "a4", "--out", str(out))
    assert res.returncode == 0, res.stderr
    text = tools.squash(tools.text(out))
    assert "补打时间" in text and "非本部门职责告知书" in text
    at = "2026-11-23T14:05"
    res = hallapp("render", "--json", str(archived), "--reprint", at, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "补打时间：2026年11月23日14:05" in tools.squash(tools.text(out))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "无法读取"),
        (json.dumps({"doc_type": "acceptance"}), "缺少字段"),
        (json.dumps({**sample(DocumentType.ACCEPTANCE).to_dict(), "doc_type": "x"}), "无效"),
    ],
)
def test_render_bad_archive_is_a_chinese_message(tmp_path, content, message) -> None:
    archived = tmp_path / "bad.json"
    archived.write_text(content, encoding="utf-8")
    res = hallapp("render", "--json", str(archived), "--out", str(tmp_path / "x.pdf"))
    assert res.returncode == 1
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "x.pdf").exists()


def test_render_needs_a_type_for_a_sample(tmp_path) -> None:
    res = hallapp("render", "--sample", "--out", str(tmp_path / "x.pdf"))
    assert res.returncode == 2 and "文书类型" in res.stderr


def test_render_to_an_unwritable_place(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = hallapp("render", "rejection", "--sample", "--out", str(blocker / "x.pdf"))
    assert res.returncode == 1 and "无法写入" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [("missing", "找不到文件"), ("not-pdf", "不是 PDF")],
)
def test_print_bad_file(tmp_path, setup, message) -> None:
    path = tmp_path / "doc.pdf"
    if setup == "not-pdf":
        path.write_text("hello")
    res = hallapp("print", str(path), "--printer", "HallAppPDF")
    assert res.returncode == 1 and message in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.cups
def test_print_to_unknown_printer(tmp_path, cups_queue) -> None:
    out = tmp_path / "a.pdf"
    assert hallapp("render", "rejection", "--sample", "--out", str(out)).returncode == 0
    res = hallapp("print", str(out), "--printer", "不存在的打印机")
    assert res.returncode == 1
    assert "找不到打印机 不存在的打印机" in res.stderr and cups_queue in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.cups
@pytest.mark.slow
def test_print_slip_through_cups(tools, tmp_path, cups_queue) -> None:
    job = f"hallapp-cli-{uuid.uuid4().hex[:10]}"
    out = tmp_path / f"{job}.pdf"
    assert (
        hallapp("render", "acceptance", "--sample", "--size", "slip", "--out", str(out)).returncode
        == 0
    )
    assert cups_queue in hallapp("print", "--list").stdout
    res = hallapp("print", str(out), "--printer", cups_queue, "--size", "slip")
    assert res.returncode == 0, res.stderr
    assert "已发送到打印机" in res.stdout
    printed = tools.wait_for_cups_output(job)
    info = tools.info(printed)
    assert info.width_pt == pytest.approx(SLIP_WIDTH_PT, abs=1.5)
    assert info.height_pt == pytest.approx(tools.info(out).height_pt, abs=1.5)
