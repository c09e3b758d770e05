"""Rare characters of names (CJK Extensions A–H, GB 18030-2022) print, or the clerk is told.

The document font (WenQuanYi Micro Hei) lacks them; each is drawn from an
installed fallback font (WenQuanYi Zen Hei, BabelStone Han, HanaMin). Checked
on the real PDFs: pdffonts (embedded TrueType), pdftotext (the characters come
back) and pdftoppm (they are drawn: ink where they stand).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hallapp.printing.fonts import MISSING_MARK
from hallapp.printing.render import render_checked, render_pdf

from hallapp.documents import ApplicantKind, DocumentType, Notice, sample

SIZES = ["a4", "slip"]

# 𠈌 U+2020C (Extension B), 䶮 U+4DAE (Extension A), 𬱟 U+2CC5F (Extension E),
# 𰻝 U+30EDD (Extension G): none is in WenQuanYi Micro Hei.
AGENT = "欧阳\U0002020c\u4dae"
RESPONDER = "司马\U0002cc5f\U00030edd"
RARE = "\U0002020c\u4dae\U0002cc5f\U00030edd"
# U+2EBF0, the first of Extension I (Unicode 15.1): no font installed here has it.
NO_FONT_HAS = "\U0002ebf0"


def _rare_notice(agent: str = AGENT, responder: str = RESPONDER, rare: str = RARE) -> Notice:
    n = sample(DocumentType.ACCEPTANCE)
    applicant = dataclasses.replace(
        n.applicant,
        name="阿依古丽·买买提",
        kind=ApplicantKind.PERSON,
        id_masked="350825********2319",
        agent_name=agent,
    )
    materials = [dataclasses.replace(n.materials_received[0], name=f"{rare}申请表"),
                 *n.materials_received[1:]]  # fmt: skip
    return dataclasses.replace(
        n,
        applicant=applicant,
        first_responder=dataclasses.replace(n.first_responder, name=responder),
        item_name=rare + n.item_name,
        materials_received=materials,
    )


def _no_font_has(char: str) -> None:
    fc_list = shutil.which("fc-list")
    assert fc_list, "fc-list (fontconfig) is needed"
    out = subprocess.run(
        [fc_list, f":charset={ord(char):x}", "file"], capture_output=True, text=True, check=True
    ).stdout
    assert not out.strip(), f"U+{ord(char):04X} is no longer missing here ({out}): pick another"


def _ink(pdf: Path, tmp: Path, dpi: int = 150) -> int:
    """How many pixels of the first page are dark (pdftoppm, greyscale)."""
    prefix = tmp / f"{pdf.stem}-ink"
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-gray", str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    (pgm,) = tmp.glob(f"{pdf.stem}-ink*.pgm")
    data = pgm.read_bytes()
    # P5 <w> <h> <max>\n then one byte a pixel.
    fields = data.split(maxsplit=4)
    assert fields[0] == b"P5" and fields[3] == b"255", fields[:4]
    w, h = int(fields[1]), int(fields[2])
    pixels = data[len(data) - w * h :]
    return sum(1 for p in pixels if p < 128)


@pytest.mark.parametrize("size", SIZES)
def test_rare_name_characters_are_printed_from_a_fallback_font(tools, size) -> None:
    result = render_checked(_rare_notice(), size)
    assert result.unprintable == "" and result.warning == ""
    path = tools.save(result.pdf)
    text = tools.squash(tools.text(path))
    assert f"代理人{AGENT}" in text.replace("：", "")  # not "欧阳": another person
    assert f"首办负责人：{RESPONDER}（窗口首席代表）" in text
    assert f"提交的{RARE}建筑工程施工许可证核发" in text
    assert f"{RARE}申请表" in text
    fonts = tools.fonts(path)
    assert all(f.embedded and f.type == "TrueType" for f in fonts), fonts
    names = {f.name.split("+")[1] for f in fonts}
    assert "WenQuanYiMicroHei-0" in names and len(names) > 1, names


@pytest.mark.parametrize("size", SIZES)
def test_the_rare_characters_are_drawn_not_left_blank(tools, tmp_path, size) -> None:
    # The same notice without and with the four characters in three places:
    # the page must carry the ink of the glyphs (a missing glyph draws nothing).
    plain = tools.save(render_pdf(_rare_notice("欧阳", "司马", "工程"), size), "plain.pdf")
    rare = tools.save(render_pdf(_rare_notice(), size), "rare.pdf")
    # 14 rare glyphs against 8 common ones at 150 dpi: a glyph is ~40-150 dark pixels.
    assert _ink(rare, tmp_path) - _ink(plain, tmp_path) > 14 * 25


def test_a_character_no_font_has_prints_as_a_mark_and_is_told(tools) -> None:
    _no_font_has(NO_FONT_HAS)
    notice = _rare_notice(agent=f"欧阳{NO_FONT_HAS}䶮")
    for size in SIZES:
        result = render_checked(notice, size)
        assert result.unprintable == NO_FONT_HAS
        assert result.warning.startswith("以下字符无法打印：")
        assert "U+2EBF0" in result.warning and MISSING_MARK in result.warning
        text = tools.squash(tools.text(tools.save(result.pdf)))
        # Never a silent blank: the place shows □, the rest of the name is there.
        assert f"欧阳{MISSING_MARK}䶮" in text
        assert RESPONDER in text
    # Outside a check nothing is kept: the next document starts clean.
    assert render_checked(sample(DocumentType.ACCEPTANCE), "a4").unprintable == ""


def test_without_any_fallback_font_the_document_still_renders_and_tells_each_character(
    tools, tmp_path
) -> None:
    # A machine with only the document font (no extra font packages): a fresh
    # process, with the search for further fonts emptied.
    archived = tmp_path / "n.json"
    archived.write_text(json.dumps(_rare_notice().to_dict(), ensure_ascii=False), "utf-8")
    script = (
        "import json, sys\n"
        "from hallapp.printing import fonts\n"
        "fonts.fallback_candidates = lambda: []\n"
        "fonts._fontconfig_fonts_with = lambda char: []\n"
        "from hallapp.documents import document_from_dict\n"
        "from hallapp.printing.render import render_checked\n"
        "doc = document_from_dict(json.loads(open(sys.argv[1], encoding='utf-8').read()))\n"
        "r = render_checked(doc, 'a4')\n"
        "open(sys.argv[2], 'wb').write(r.pdf)\n"
        "print(json.dumps([r.unprintable, r.warning]))\n"
    )
    out = tmp_path / "n.pdf"
    res = subprocess.run(
        [sys.executable, "-c", script, str(archived), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    unprintable, warning = json.loads(res.stdout)
    assert set(unprintable) == set(RARE) and len(unprintable) == 4
    for char in RARE:
        assert f"U+{ord(char):04X}" in warning
    text = tools.squash(tools.text(out))
    assert f"欧阳{MISSING_MARK * 2}" in text and f"司马{MISSING_MARK * 2}" in text


def test_page_footers_drawn_on_the_canvas_print_rare_characters(tools) -> None:
    # The number and the 补打 mark are drawn on the canvas, not as paragraphs.
    doc_no = f"连{RARE[:2]}受〔2026〕1287号"
    notice = dataclasses.replace(sample(DocumentType.ACCEPTANCE), doc_no=doc_no)
    reprint = notice.as_reprint(datetime(2026, 11, 23, 6, 5, tzinfo=UTC))
    result = render_checked(reprint, "a4")
    assert result.unprintable == ""
    text = tools.squash(tools.text(tools.save(result.pdf)))
    assert text.count(doc_no) == 2, text  # the number line and the page footer
    assert "补打" in text


def test_report_and_project_forms_print_rare_characters(tools) -> None:
    from hallapp.printing.report_pdf import render_report_pdf

    hall = f"{RARE}行政服务中心"
    pdf = render_report_pdf(
        [],
        hall_name=hall,
        title="窗口服务情况公示",
        subtitle="2026年11月",
        made_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
    )
    path = tools.save(pdf)
    text = tools.squash(tools.text(path))
    # The title, the seal line and the page footer (drawn on the canvas).
    assert text.count(hall) == 3, text
    assert all(f.embedded and f.type == "TrueType" for f in tools.fonts(path))


def test_the_cli_tells_which_characters_cannot_be_printed(tools, tmp_path) -> None:
    _no_font_has(NO_FONT_HAS)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

    def render(notice: Notice, name: str) -> subprocess.CompletedProcess[str]:
        archived = tmp_path / f"{name}.json"
        archived.write_text(json.dumps(notice.to_dict(), ensure_ascii=False), "utf-8")
        out = tmp_path / f"{name}.pdf"
        args = ["render", "--json", str(archived), "--size", "slip", "--out", str(out)]
        return subprocess.run([sys.executable, "-m", "hallapp", *args], capture_output=True,
                              text=True, timeout=180, env=env, check=False)  # fmt: skip

    printable = render(_rare_notice(), "rare")
    assert printable.returncode == 0, printable.stderr
    assert "已生成" in printable.stdout and "无法打印" not in printable.stderr
    assert AGENT in tools.squash(tools.text(tmp_path / "rare.pdf"))

    missing = render(_rare_notice(agent=f"欧阳{NO_FONT_HAS}"), "missing")
    assert missing.returncode == 0, missing.stderr  # the PDF is there, with □
    assert "已生成" in missing.stdout
    assert f"以下字符无法打印：{NO_FONT_HAS}（U+2EBF0）" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert f"欧阳{MISSING_MARK}" in tools.squash(tools.text(tmp_path / "missing.pdf"))


def test_common_documents_load_no_fallback_font() -> None:
    # Speed: a notice without rare characters never loads a further font.
    script = (
        "from hallapp.documents import sample, DocumentType\n"
        "from hallapp.printing import fonts\n"
        "from hallapp.printing.render import render_checked\n"
        "for t in DocumentType:\n"
        "    for size in ('a4', 'slip'):\n"
        "        assert render_checked(sample(t, long=True), size).unprintable == ''\n"
        "print(len(fonts.loaded_fallbacks()))\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0"
