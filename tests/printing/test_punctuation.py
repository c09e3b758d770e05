"""Every template joins sentences without doubled or dangling punctuation.

The refusal printed "…第 78 号）。。": a legal basis that already ends in a full
stop got another. The joining helpers (hallapp.documents.sentence, clause,
join_sentences) are checked over the sample catalog's own texts and over
arbitrary texts with any ending; the documents are checked as printed.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hallapp.printing.render import render_pdf
from hypothesis import given
from hypothesis import strategies as st

from hallapp import documents as docs
from hallapp.documents import clause, join_sentences, sentence

from .conftest import pdf_text, squash, write_pdf

#: Two marks in a row that no sentence of ours may contain.
BAD = re.compile(r"[。！？；，、：.,;:!?][。！？；，、：,;:]|[，、：；][。！？]|^[。！？；，、：]")
ENDINGS = "。！？；，、：.,;:!?… \n"


def _catalog_texts() -> list[str]:
    data = tomllib.loads(
        (resources.files("hallapp.resources") / "catalog.toml").read_text(encoding="utf-8")
    )
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value.strip():
                out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return out


CATALOG = _catalog_texts()


def _bad_joins(text: str) -> list[str]:
    return [m.group(0) for m in BAD.finditer(re.sub(r"\s+", "", text))]


def test_the_catalog_has_texts_to_check():
    assert len(CATALOG) > 100
    assert any(t.rstrip().endswith("。") for t in CATALOG)  # the case that doubled


@given(st.lists(st.sampled_from(CATALOG), min_size=1, max_size=4))
def test_catalog_texts_join_into_clean_sentences(parts):
    joined = join_sentences(*parts)
    # Whatever the texts hold inside, the joins add no doubled or dangling mark.
    inner = sum(len(_bad_joins(clause(p))) for p in parts)
    assert len(_bad_joins(joined)) == inner
    assert joined[-1] in "。！？…" or joined[-2:] in ("。”", "。）")


@given(st.sampled_from(CATALOG))
def test_a_catalog_text_as_a_clause_carries_no_end_mark(text):
    inside = f"根据{clause(text)}的规定，"
    assert not re.search(r"[。！？；，、：]的规定", inside)


bodies = st.text(
    st.characters(whitelist_categories=("Lo", "Lu", "Ll", "Nd"), max_codepoint=0x9FFF),
    min_size=1,
    max_size=30,
)
endings = st.text(ENDINGS, max_size=4)


@given(body=bodies, ending=endings)
def test_any_ending_becomes_exactly_one_end(body, ending):
    out = sentence(body + ending)
    assert out.startswith(body)
    end = out[len(body) :]
    assert end in ("。", "！", "？", "……")
    if "?" in ending or "？" in ending:
        assert end == "？"
    assert clause(body + ending) == body


@given(st.lists(st.tuples(bodies, endings), min_size=1, max_size=5))
def test_joined_arbitrary_texts_have_no_doubled_marks(pairs):
    joined = join_sentences(*(b + e for b, e in pairs))
    assert _bad_joins(joined) == []
    assert joined.count("。") + joined.count("！") + joined.count("？") + joined.count("……") == len(
        pairs
    )


@pytest.mark.parametrize("ending", ["。", "。。", "", "；", "，", ".", "！"])
def test_printed_documents_never_double_a_mark(ending, tmp_path: Path):
    basis = (
        "《中华人民共和国行政许可法》第三十二条第一款第（一）项；"
        "《建筑工程施工许可管理办法》（住房和城乡建设部令第 78 号）"
    )
    found: dict[str, list[str]] = {}
    for doc_type in docs.NOTICE_TYPES:
        notice = docs.sample(doc_type)
        notice = dataclasses.replace(
            notice,
            item_name=notice.item_name + ending,
            legal_basis=basis + ending
            if doc_type is not docs.DocumentType.REFERRAL
            else docs.REFERRAL_BASIS + ending,
            reasons=tuple(r.rstrip("。") + ending for r in notice.reasons),
            remarks="请携带原件核验" + ending,
            commitment=notice.commitment.rstrip("。") + ending if notice.commitment else "",
        )
        for size in ("a4", "slip"):
            text = squash(pdf_text(write_pdf(tmp_path, render_pdf(notice, size), "n.pdf")))
            bad = _bad_joins(text)
            if bad:
                found[f"{doc_type}/{size}"] = bad
    assert found == {}
    # The refusal as printed: the basis ends once, before the remedies.
    refusal = dataclasses.replace(
        docs.sample(docs.DocumentType.REJECTION), legal_basis=basis + ending
    )
    text = squash(pdf_text(write_pdf(tmp_path, render_pdf(refusal, "a4"), "r.pdf")))
    assert "第78号）。如不服" in text
