"""The rendered documents, read back with poppler and zbar: what a citizen holds in hand."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime
from typing import Literal

import pytest
from hallapp.printing.layout import RenderError
from hallapp.printing.render import render_pdf

from hallapp.documents import DocumentType, DutyCard, Notice, document_from_dict, sample

SIZES: tuple[Literal["a4", "slip"], ...] = ("a4", "slip")
NOTICE_TYPES = [t for t in DocumentType if t is not DocumentType.DUTY_CARD]
A4_PT = (595.28, 841.89)
SLIP_WIDTH_PT = 80 / 25.4 * 72


def cn(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def expected_fields(n: Notice) -> list[str]:
    """Everything the issue says a notice carries, plus what its type must say."""
    r = n.first_responder
    fields = [
        n.hall_name,
        n.department_name,
        n.doc_type.heading,
        n.doc_no,
        n.case_no,
        n.applicant.name,
        n.applicant.id_masked,
        n.item_name,
        cn(n.received_at.date()),
        n.received_at.strftime("%H:%M"),
        cn(n.issued_on),
        r.name,
        r.title,
        r.phone,
        n.complaint_hotline,
        "印章",
    ]
    if n.promised_date:
        fields.append(cn(n.promised_date))
    if n.legal_date:
        fields.append(cn(n.legal_date))
    fields += [m.name for m in n.materials_received + n.materials_owed + n.missing_materials]
    fields += [m.note for m in n.missing_materials + n.materials_owed if m.note]
    if n.doc_type is DocumentType.CONDITIONAL:
        assert n.supplement_date
        fields += [n.commitment, cn(n.supplement_date), "容缺"]
    if n.doc_type is DocumentType.ONE_TIME:
        assert n.correction_deadline
        fields += [cn(n.correction_deadline), "不再要求补正", "一次性告知"]
    if n.doc_type is DocumentType.REJECTION:
        fields += [*n.reasons, n.legal_basis, *n.remedies, "行政复议", "行政诉讼"]
    if n.doc_type is DocumentType.REFERRAL:
        assert n.referral
        fields += [n.referral.department, n.referral.person, n.referral.phone, n.referral.address]
    return [f for f in fields if f]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("doc_type", NOTICE_TYPES)
def test_every_field_is_printed(tools, doc_type: DocumentType, size) -> None:
    notice = sample(doc_type)
    assert isinstance(notice, Notice)
    text = tools.squash(tools.text(tools.save(render_pdf(notice, size))))
    missing = [f for f in expected_fields(notice) if tools.squash(f) not in text]
    assert not missing, f"not on the {size} {doc_type}: {missing}"
    # The ID is printed masked, never in full.
    assert "**********" in notice.applicant.id_masked or notice.applicant.kind == "organisation"


@pytest.mark.parametrize("size", SIZES)
def test_duty_card_fields(tools, size) -> None:
    card = sample(DocumentType.DUTY_CARD)
    assert isinstance(card, DutyCard)
    text = tools.squash(tools.text(tools.save(render_pdf(card, size))))
    for field in (
        card.hall_name,
        card.department_name,
        card.name,
        card.title,
        card.staff_no,
        card.phone,
        card.window_code,
        card.complaint_hotline,
        "当班首办负责人",
        *card.commitments,
    ):
        assert tools.squash(field) in text, field


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("doc_type", list(DocumentType))
def test_fonts_are_embedded_truetype(tools, doc_type, size) -> None:
    fonts = tools.fonts(tools.save(render_pdf(sample(doc_type, long=True), size)))
    assert fonts, "no font at all?"
    for font in fonts:
        assert font.embedded, f"{font.name} is not embedded"
        assert font.type == "TrueType", f"{font.name} is {font.type}"
        assert "CID" not in font.type


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("doc_type", list(DocumentType))
def test_qr_code_decodes_to_the_case_url(tools, doc_type, size) -> None:
    doc = sample(doc_type)
    codes = tools.qr(tools.save(render_pdf(doc, size)))
    if doc_type.has_qr:
        assert isinstance(doc, Notice)
        assert codes == [doc.qr_url]
        assert doc.case_no in codes[0]
    else:
        assert codes == []


@pytest.mark.parametrize("size", SIZES)
def test_without_a_code_the_notice_does_not_say_to_scan_one(tools, size) -> None:
    """qr_url_template unset (the default): no code is printed, and the
    受理通知书 no longer tells the applicant to scan the code on it."""
    notice = sample(DocumentType.ACCEPTANCE)
    assert isinstance(notice, Notice)
    with_code = tools.text(tools.save(render_pdf(notice, size)))
    without = tools.save(render_pdf(dataclasses.replace(notice, qr_url=""), size))
    assert tools.qr(without) == []
    text = tools.text(without)
    assert "二维码" not in text.replace("\n", "") and "二维码" in with_code
    assert "领取办理结果" in text.replace("\n", "")


def test_qr_follows_the_configured_template(tools) -> None:
    notice = sample(DocumentType.ONE_TIME)
    assert isinstance(notice, Notice)
    url = f"https://zwfw.longyan.gov.cn/pj/{notice.case_no}?src=window"
    codes = tools.qr(tools.save(render_pdf(dataclasses.replace(notice, qr_url=url), "slip")))
    assert codes == [url]


@pytest.mark.parametrize("doc_type", list(DocumentType))
def test_slip_is_80mm_wide_and_as_long_as_its_content(tools, doc_type) -> None:
    short = tools.info(tools.save(render_pdf(sample(doc_type), "slip")))
    long = tools.info(tools.save(render_pdf(sample(doc_type, long=True), "slip")))
    for info in (short, long):
        assert info.pages == 1
        assert info.width_pt == pytest.approx(SLIP_WIDTH_PT, abs=0.1)
    assert long.height_pt > short.height_pt


@pytest.mark.parametrize("size", SIZES)
def test_long_content_flows_and_nothing_is_clipped(tools, size) -> None:
    notice = sample(DocumentType.ONE_TIME, long=True)
    assert isinstance(notice, Notice)
    assert len(notice.missing_materials) == 40 and len(notice.applicant.name) == 60
    path = tools.save(render_pdf(notice, size))
    info = tools.info(path)
    if size == "a4":
        assert info.pages >= 2
        assert (info.width_pt, info.height_pt) == pytest.approx(A4_PT, abs=0.1)
    else:
        assert info.pages == 1 and info.height_pt > 1500  # far longer than a normal slip
    text = tools.squash(tools.text(path))
    assert tools.squash(notice.applicant.name) in text
    for m in notice.missing_materials:  # all 40, the last one included
        assert tools.squash(m.name) in text
    assert "共40项" in text
    # Every word lies inside its page: nothing runs off the paper.
    words = tools.words(path)
    assert len(words) > 100
    for w in words:
        assert w.x_min >= 0 and w.x_max <= w.page_w + 0.5, w
        assert w.y_min >= 0 and w.y_max <= w.page_h + 0.5, w
    # The seal and the date close the document on its last page.
    last_page = max(w.page for w in words)
    assert any("印章" in w.text for w in words if w.page == last_page)


def test_a4_pages_are_numbered(tools) -> None:
    path = tools.save(render_pdf(sample(DocumentType.CONDITIONAL, long=True), "a4"))
    pages = tools.info(path).pages
    text = tools.squash(tools.text(path))
    for i in range(1, pages + 1):
        assert f"第{i}页共{pages}页" in text


@pytest.mark.parametrize("size", SIZES)
def test_provisional_dates_are_marked(tools, size) -> None:
    notice = sample(DocumentType.ACCEPTANCE)
    assert isinstance(notice, Notice)
    plain = tools.squash(tools.text(tools.save(render_pdf(notice, size))))
    assert "暂定" not in plain
    provisional = dataclasses.replace(
        notice, promised_date=date(2027, 1, 8), promised_provisional=True
    )
    text = tools.squash(tools.text(tools.save(render_pdf(provisional, size))))
    assert "2027年1月8日（暂定）" in text
    assert "尚未公布" in text


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("doc_type", [DocumentType.ACCEPTANCE, DocumentType.DUTY_CARD])
def test_reprint_is_the_same_document_with_a_mark(tools, doc_type, size) -> None:
    original = sample(doc_type)
    at = datetime(2026, 11, 23, 14, 5)
    # A reprint renders the archived JSON, as the window client does.
    archived = json.loads(json.dumps(original.to_dict()))
    reprint = document_from_dict(archived).as_reprint(at)
    orig_text = tools.squash(tools.text(tools.save(render_pdf(original, size))))
    re_text = tools.squash(tools.text(tools.save(render_pdf(reprint, size))))
    mark = "补打时间：2026年11月23日14:05"
    assert mark in re_text and "补打" not in orig_text
    assert re_text.replace(mark, "").replace("【补打】", "").replace("补打", "") == orig_text


def test_same_content_renders_to_the_same_bytes() -> None:
    notice = sample(DocumentType.REJECTION)
    assert render_pdf(notice, "a4") == render_pdf(notice, "a4")
    back = document_from_dict(json.loads(json.dumps(notice.to_dict())))
    assert render_pdf(back, "slip") == render_pdf(notice, "slip")


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (70, 110, 160)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("size", SIZES)
def test_duty_card_photo_is_printed(tools, size) -> None:
    card = dataclasses.replace(sample(DocumentType.DUTY_CARD), photo=_png(295, 413))
    path = tools.save(render_pdf(card, size))
    res = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True)
    assert res.returncode == 0
    assert len(res.stdout.splitlines()) == 3  # header, rule, one image
    assert "照片" not in tools.squash(tools.text(path))  # the empty frame's label is gone


def test_unreadable_photo_is_a_clear_error() -> None:
    card = dataclasses.replace(sample(DocumentType.DUTY_CARD), photo=b"not an image")
    with pytest.raises(RenderError, match="照片无法读取"):
        render_pdf(card, "a4")


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="纸张规格"):
        render_pdf(sample(DocumentType.ACCEPTANCE), "a5")  # type: ignore[arg-type]


_NO_FONT = """
import sys
from hallapp.printing import fonts
fonts.candidate_fonts = lambda: []
fonts._fontconfig_fonts = lambda: []
from hallapp.documents import sample
from hallapp.printing.render import render_pdf
try:
    render_pdf(sample("acceptance"), "a4", font_path=sys.argv[1] or None)
except fonts.FontError as exc:
    print(exc)
    sys.exit(3)
"""


def test_without_a_font_the_message_says_how_to_fix_it() -> None:
    # A fresh process: fonts are registered once per process. The machine has
    # fonts installed, so the search is emptied to stand for one that has none.
    res = subprocess.run(
        [sys.executable, "-c", _NO_FONT, ""], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 3, res.stderr
    assert "fonts-wqy-microhei" in res.stdout and "font_path" in res.stdout


def test_a_configured_font_that_is_not_truetype_is_refused(tmp_path) -> None:
    bogus = tmp_path / "broken.ttf"
    bogus.write_bytes(b"\x00" * 64)
    res = subprocess.run(
        [sys.executable, "-c", _NO_FONT, str(bogus)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 3, res.stderr
    assert str(bogus) in res.stdout and "TrueType" in res.stdout


def test_a_configured_font_is_used(tools, tmp_path) -> None:
    script = (
        "import sys\n"
        "from hallapp.documents import sample\n"
        "from hallapp.printing.render import render_pdf\n"
        "sys.stdout.buffer.write(render_pdf(sample('referral'), 'a4', font_path=sys.argv[1]))\n"
    )
    zenhei = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
    res = subprocess.run([sys.executable, "-c", script, zenhei], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    names = {f.name.split("+")[1] for f in tools.fonts(tools.save(res.stdout))}
    assert names == {"WenQuanYiZenHei-0"}, names


_RENDER = (
    "import sys\n"
    "from hallapp.documents import sample\n"
    "from hallapp.printing.render import render_pdf\n"
    "sys.stdout.buffer.write(render_pdf(sample('one-time'), 'a4'))\n"
)


def _render_in_fresh_process(cache: str) -> bytes:
    env = {**os.environ, "HALLAPP_FONT_CACHE": cache}
    res = subprocess.run([sys.executable, "-c", _RENDER], capture_output=True, env=env, timeout=90)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def test_the_parsed_font_cache_changes_nothing_in_the_pdf(tmp_path) -> None:
    cache = tmp_path / "cache"
    uncached = _render_in_fresh_process("off")
    first = _render_in_fresh_process(str(cache))  # parses the font, writes the cache
    written = list(cache.glob("fonts/*.pickle"))
    assert len(written) == 1
    second = _render_in_fresh_process(str(cache))  # loads it
    assert first == uncached and second == uncached
    # A damaged cache is ignored: the font is parsed again and the PDF is the same.
    written[0].write_bytes(b"garbage")
    assert _render_in_fresh_process(str(cache)) == uncached


def test_warm_up_registers_the_font() -> None:
    from hallapp.printing.fonts import registered_font
    from hallapp.printing.render import warm_up

    warm_up()
    spec = registered_font()
    assert spec is not None and spec.path.is_file()


def test_times_are_printed_on_the_halls_clock(tools):
    # Facts are stored in UTC; 03:19 UTC is 11:19 in the hall (Asia/Shanghai).
    import dataclasses
    from datetime import UTC, datetime

    from hallapp.printing.render import render_pdf

    from hallapp.documents import sample

    notice = dataclasses.replace(
        sample("acceptance"), received_at=datetime(2026, 11, 22, 3, 19, tzinfo=UTC)
    )
    text = tools.squash(tools.text(tools.save(render_pdf(notice, "a4"))))
    assert "2026年11月22日11:19" in text
    assert "03:19" not in text
