"""The document content (hallapp.documents): archived as JSON, read back identical."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallapp.documents import (
    DocumentContentError,
    DocumentType,
    DutyCard,
    Notice,
    document_from_dict,
    qr_url_for,
    sample,
)


@pytest.mark.parametrize("long", [False, True])
@pytest.mark.parametrize("doc_type", list(DocumentType))
def test_samples_round_trip_through_json(doc_type: DocumentType, long: bool) -> None:
    doc = sample(doc_type, long=long)
    archived = json.loads(json.dumps(doc.to_dict(), ensure_ascii=False))
    assert document_from_dict(archived) == doc
    assert type(doc).from_dict(archived) == doc


def test_duty_card_photo_survives_the_archive() -> None:
    card = dataclasses.replace(sample(DocumentType.DUTY_CARD), photo=b"\x89PNG\r\n\x1a\n\x00\xff")
    back = document_from_dict(json.loads(json.dumps(card.to_dict())))
    assert isinstance(back, DutyCard)
    assert back.photo == card.photo


def test_reprint_changes_only_the_reprint_time() -> None:
    original = sample(DocumentType.ACCEPTANCE)
    reprint = original.as_reprint(datetime(2026, 11, 23, 14, 5))
    assert reprint.is_reprint and not original.is_reprint
    assert dataclasses.replace(reprint, reprint_at=None) == original
    assert Notice.from_dict(reprint.to_dict()).reprint_at == datetime(2026, 11, 23, 14, 5)


def test_long_samples_are_long() -> None:
    one_time = sample(DocumentType.ONE_TIME, long=True)
    assert isinstance(one_time, Notice)
    assert len(one_time.missing_materials) == 40
    assert len(one_time.applicant.name) == 60


def test_qr_only_on_acceptance_conditional_one_time() -> None:
    for doc_type in DocumentType:
        doc = sample(doc_type)
        if isinstance(doc, Notice):
            assert (doc.qr_url is not None) == doc_type.has_qr
            if doc.qr_url:
                assert doc.case_no in doc.qr_url


def test_qr_template_needs_the_placeholder() -> None:
    assert qr_url_for("https://x.gov.cn/q/{case_no}", "LC-1") == "https://x.gov.cn/q/LC-1"
    with pytest.raises(ValueError, match="case_no"):
        qr_url_for("https://x.gov.cn/q", "LC-1")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("doc_type", "bogus", "doc_type"),
        ("received_at", "yesterday", "received_at"),
        ("case_no", None, "case_no"),
        ("materials_received", [{"name": "x", "copies": -1}], "份数"),
        ("schema", 99, "版本"),
    ],
)
def test_damaged_archive_names_the_field(key: str, value: object, message: str) -> None:
    data = sample(DocumentType.ACCEPTANCE).to_dict()
    data[key] = value
    with pytest.raises(DocumentContentError, match=message):
        Notice.from_dict(data)


@given(
    name=st.text(min_size=1, max_size=80),
    reasons=st.lists(st.text(max_size=200), max_size=5),
    provisional=st.booleans(),
)
def test_any_text_round_trips(name: str, reasons: list[str], provisional: bool) -> None:
    base = sample(DocumentType.REJECTION)
    assert isinstance(base, Notice)
    doc = dataclasses.replace(
        base,
        applicant=dataclasses.replace(base.applicant, name=name),
        reasons=tuple(reasons),
        promised_provisional=provisional,
    )
    assert Notice.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc
