"""The three forms of seed 002's workflow: issued with a number, kept as issued,
reprinted with the 补打 mark; A4 PDFs checked with pdftotext and pdffonts."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from hallapp.printing.project_forms import render_form_pdf

from hallapp.projects import ProjectError
from hallapp.projects.forms import FormType, issue_form, issued_forms, reprint
from hallapp.projects.register import StepKind, detail, hand_over, record_step
from tests.projects.hallfixtures import HALL_CODE, Hall, register_sample

HALL_NAME = "连城县行政服务中心"
TODAY = date(2026, 3, 20)

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")


def _text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    # A cell's text wraps inside its column: read it without the line breaks.
    return "".join(out.split())


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout


def _worked(hall: Hall) -> str:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c:
        nodes = detail(c, HALL_CODE, pid, TODAY).nodes
        record_step(
            c,
            HALL_CODE,
            agent,
            nodes[0].id,
            kind=StepKind.PROGRESS,
            note="备案材料已网上申报",
            happened_on=date(2026, 3, 3),
            today=TODAY,
        )
        for n in nodes:
            record_step(
                c,
                HALL_CODE,
                agent,
                n.id,
                kind=StepKind.DONE,
                note="",
                happened_on=date(2026, 3, 19),
                today=TODAY,
            )
    return pid


def test_the_three_forms_carry_the_seeds_fields_with_an_embedded_font(
    hall: Hall, tmp_path: Path
) -> None:
    pid = _worked(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c:
        intake = issue_form(
            c, HALL_CODE, agent, pid, FormType.INTAKE, hall_name=HALL_NAME, today=TODAY
        )
        record = issue_form(
            c, HALL_CODE, agent, pid, FormType.RECORD, hall_name=HALL_NAME, today=TODAY
        )
        hand_over(
            c, HALL_CODE, agent, pid, recipient="王强", recipient_phone="13905971234", on=TODAY
        )
        handover = issue_form(
            c, HALL_CODE, agent, pid, FormType.HANDOVER, hall_name=HALL_NAME, today=TODAY
        )
    assert intake.doc_no == "LC代受字〔2026〕0001号"
    assert handover.doc_no == "LC代移字〔2026〕0001号"
    text = _text(render_form_pdf(intake.content), tmp_path, "intake")
    for field in (
        "代办受理表",
        "LC代受字〔2026〕0001号",
        "年产5万吨锂电池负极材料项目",
        "福建连城新材料科技有限公司",
        "林国华（副县长）",
        "连城县发展和改革局",
        "罗建平",
        "吴志强",
        "用地预审与选址意见书",
        "李秀英",
        "10个工作日",
        "2026年3月16日",
        "企业委托人（签字）",
    ):
        assert field in text, field
    text = _text(render_form_pdf(record.content), tmp_path, "record")
    for field in ("督导代办情况记录表", "备案材料已网上申报", "逾期办结（卡点）", "周海涛"):
        assert field in text, field
    text = _text(render_form_pdf(handover.content), tmp_path, "handover")
    for field in (
        "手续代办移交表",
        "代办档案已全部移交企业委托人",
        "王强",
        "13905971234",
        "接收人（企业委托人，签字）",
    ):
        assert field in text, field
    fonts = _fonts(render_form_pdf(handover.content), tmp_path)
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(" yes " in f" {line} " for line in rows), fonts
    assert "Type 3" not in fonts and "CID Type 0 " not in fonts


def test_a_reprint_is_the_stored_form_marked_as_such(hall: Hall, tmp_path: Path) -> None:
    pid = register_sample(hall)
    agent = hall.actor("8001")
    with hall.engine.begin() as c:
        first = issue_form(
            c, HALL_CODE, agent, pid, FormType.RECORD, hall_name=HALL_NAME, today=TODAY
        )
    with hall.engine.begin() as c:
        # The project moves on after the form was issued...
        node = detail(c, HALL_CODE, pid, TODAY).nodes[1]
        record_step(
            c,
            HALL_CODE,
            agent,
            node.id,
            kind=StepKind.URGED,
            note="督促尽快出具意见",
            happened_on=TODAY,
            today=TODAY,
        )
    with hall.engine.connect() as c:
        again = reprint(c, HALL_CODE, first.doc_no)
        assert [f.doc_no for f in issued_forms(c, HALL_CODE, pid)] == [first.doc_no]
    assert again.content == first.content  # ...the reprint is the form as issued
    text = _text(render_form_pdf(again.content, reprint_at=again.reprint_at), tmp_path, "again")
    assert "【补打】" in text and "督促尽快出具意见" not in text
    with hall.engine.connect() as c, pytest.raises(ProjectError, match="没有编号"):
        reprint(c, HALL_CODE, "LC代记字〔2026〕9999号")


def test_no_handover_form_while_approvals_are_open(hall: Hall) -> None:
    pid = register_sample(hall)
    with hall.engine.begin() as c, pytest.raises(ProjectError, match="还有手续未办结"):
        issue_form(
            c,
            HALL_CODE,
            hall.actor("8001"),
            pid,
            FormType.HANDOVER,
            hall_name=HALL_NAME,
            today=TODAY,
        )
