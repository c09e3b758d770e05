"""出件 records who collected: the applicant, an agent (name and masked ID) or a delivery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallapp.config import Config
from hallapp.identity import IdType
from hallapp.intake import (
    CaseStatus,
    Collection,
    CollectionMethod,
    CompleteInstantly,
    Intake,
    IntakeError,
    MaterialCheck,
    MaterialStatus,
    check_collection,
    describe_collection,
)
from hallapp.store import Store
from hallapp.validation import id_check_char

from .test_intake import APPLICANT, MONDAY, Clock


@pytest.fixture
def intake(store: Store, config: Config) -> Intake:
    return Intake(store, config, clock=Clock(MONDAY))


AGENT_ID = "35082519700202003" + id_check_char("35082519700202003")


def _completed(intake, reference):  # type: ignore[no-untyped-def]
    case = intake.open_case(reference.clerk_id, reference.instant_code, APPLICANT)
    item = intake.item(reference.instant_code)
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    intake.decide(case.id, reference.clerk_id, CompleteInstantly(present))
    return case


def test_agent_is_recorded_with_a_masked_number_only(intake, reference, store):
    case = _completed(intake, reference)
    agent = Collection(CollectionMethod.AGENT, agent_name="陈大明", agent_id_number=AGENT_ID)
    view = intake.hand_over(case.id, reference.clerk_id, agent)
    assert view.status is CaseStatus.HANDED_OVER
    assert view.collection.startswith("代领人 陈大明（居民身份证 ")
    assert AGENT_ID[-4:] in view.collection and AGENT_ID not in view.collection
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        dumped = str(conn.execute(sa.text("SELECT data FROM case_events")).all())
    assert AGENT_ID not in dumped


def test_a_wrong_agent_id_is_refused_and_nothing_is_recorded(intake, reference):
    case = _completed(intake, reference)
    wrong = AGENT_ID[:-1] + ("1" if AGENT_ID[-1] != "1" else "2")
    with pytest.raises(IntakeError, match="代领人证件号码有误"):
        intake.hand_over(case.id, reference.clerk_id, Collection(
            CollectionMethod.AGENT, agent_name="陈大明", agent_id_number=wrong))  # fmt: skip
    assert intake.case_view(case.id).status is CaseStatus.COMPLETED


def test_mail_keeps_carrier_and_normalised_tracking_number(intake, reference):
    case = _completed(intake, reference)
    mail = Collection(CollectionMethod.MAIL, carrier="顺丰速运", tracking_no="sf 1234-5678 9012")
    view = intake.hand_over(case.id, reference.clerk_id, mail)
    assert view.collection == "邮寄送达：顺丰速运，邮件单号 SF123456789012"


def test_default_is_the_applicant_in_person(intake, reference):
    case = _completed(intake, reference)
    assert intake.hand_over(case.id, reference.clerk_id).collection == "申请人本人领取"


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (Collection(CollectionMethod.AGENT, agent_id_number=AGENT_ID), "代领人姓名"),
        (Collection(CollectionMethod.AGENT, agent_name="陈大明"), "居民身份证号码"),
        (Collection(CollectionMethod.AGENT, agent_name="X", agent_id_type=IdType.PASSPORT,
                    agent_id_number="!!"), "代领人证件号码有误"),
        (Collection(CollectionMethod.MAIL, tracking_no="1234567890"), "寄递企业"),
        (Collection(CollectionMethod.MAIL, carrier="EMS"), "请填写邮件单号"),
        (Collection(CollectionMethod.MAIL, carrier="EMS", tracking_no="12#4"), "8–30 位"),
    ],
)
def test_incomplete_records_say_what_is_missing(record: Collection, says: str) -> None:
    assert any(says in p for p in check_collection(record))


@given(st.dictionaries(st.sampled_from(["method", "agent_name", "agent_id_type", "carrier"]),
                       st.text(max_size=20)))  # fmt: skip
def test_describe_never_fails_on_stored_data(data: dict[str, str]) -> None:
    assert isinstance(describe_collection(data), str)


def test_a_returning_applicant_sees_what_was_found_and_what_would_be_new(intake, reference):
    from hallapp.intake import OneTimeNotice, new_demands

    from .test_intake import checks

    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    first = checks(reference, 施工合同=MaterialStatus.MISSING)
    view = intake.decide(case.id, reference.clerk_id, OneTimeNotice(first)).case
    # What the notice found is kept for the applicant's return.
    assert view.previous_checks == first
    assert view.demanded_before == (reference.materials["施工合同"],)
    assert view.applicant_phone == APPLICANT.phone and view.applicant_kind == "person"
    item = intake.item(reference.item_code)
    # The same demand again is no new demand; one more material is, by name.
    assert new_demands(item, first, view.demanded_before) == ()
    again = checks(reference, 施工合同=MaterialStatus.MISSING,
                   建设工程规划许可证=MaterialStatus.NON_CONFORMING)  # fmt: skip
    assert new_demands(item, again, view.demanded_before) == ("建设工程规划许可证",)
    # The first notice has nothing before it.
    assert new_demands(item, again, ()) == ()
