"""一次一评: every service encounter at the window can be evaluated once, and only those.

Real intake decisions on a real SQLite store, then the evaluation desk: each
of acceptance, 容缺 acceptance, one-time notice, refusal, referral, instant
completion and hand-over opens an evaluation of its own; 办结 of a 承诺件 (in
the back office, the citizen absent) opens none; a timed-out invitation can be
offered again while the encounter is still the case's latest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hallapp.config import Config
from hallapp.evaluation import (
    BAD_REVIEW_REASONS,
    REOFFER_WITHIN_S,
    AlreadyEvaluated,
    AwaitingReasons,
    EvaluationDesk,
    EvaluationError,
    Expired,
    IgnoredNoOpen,
    NoOpenEvaluation,
    ReasonsChanged,
    Recorded,
    open_evaluation,
    record_evaluation,
)
from hallapp.intake import (
    Accept,
    ApplicantInput,
    CompleteInstantly,
    ConditionalAccept,
    Intake,
    MaterialCheck,
    MaterialStatus,
    OneTimeNotice,
    Refer,
    Reject,
)
from hallapp.models import ApplicantKind, CaseEvent, CaseEventKind, Encounter, Evaluation
from hallapp.store import Store
from hallapp.validation import id_check_char

START = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
BODY = "35082519800101231"
APPLICANT = ApplicantInput(
    kind=ApplicantKind.PERSON,
    name="陈志明",
    id_number=BODY + id_check_char(BODY),
    phone="13905971234",
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def intake(store: Store, config: Config, clock: Clock) -> Intake:
    return Intake(store, config, clock=clock)


@pytest.fixture
def desk(store: Store, config: Config, clock: Clock):
    d = EvaluationDesk(store, config.window_code, timeout_s=60, clock=clock, auto_expire=False)
    yield d
    d.close()


def checks(ref, **statuses: MaterialStatus) -> tuple[MaterialCheck, ...]:
    return tuple(
        MaterialCheck(rid, statuses.get(name, MaterialStatus.PRESENT))
        for name, rid in ref.materials.items()
    )


def evaluations(store: Store, case_id: str) -> list[Evaluation]:
    with store.session() as s:
        return list(
            s.scalars(
                select(Evaluation)
                .where(Evaluation.case_id == case_id)
                .order_by(Evaluation.created_at)
            )
        )


def _decisions(ref):
    reject = Reject(
        reasons=("不属于许可范围",), legal_basis="《中华人民共和国行政许可法》第三十二条"
    )
    return {
        Encounter.ACCEPTANCE: (ref.item_code, Accept(checks(ref))),
        Encounter.CONDITIONAL_ACCEPTANCE: (
            ref.item_code,
            ConditionalAccept(checks(ref, 安全施工措施资料=MaterialStatus.MISSING)),
        ),
        Encounter.ONE_TIME_NOTICE: (
            ref.item_code,
            OneTimeNotice(checks(ref, 施工合同=MaterialStatus.MISSING)),
        ),
        Encounter.REFUSAL: (ref.item_code, reject),
        Encounter.REFERRAL: (
            ref.item_code,
            Refer(ref.other_department, ref.contact_id, "申请人所办属自然资源部门职责"),
        ),
    }


@pytest.mark.parametrize(
    "encounter",
    [
        Encounter.ACCEPTANCE,
        Encounter.CONDITIONAL_ACCEPTANCE,
        Encounter.ONE_TIME_NOTICE,
        Encounter.REFUSAL,
        Encounter.REFERRAL,
    ],
)
def test_every_decision_at_the_window_can_be_evaluated(
    intake, desk, reference, clock, store, encounter
):
    item_code, decision = _decisions(reference)[encounter]
    case = intake.open_case(reference.clerk_id, item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, decision)
    clock.advance(2)
    opened = desk.open(case.id)
    assert opened.encounter is encounter
    clock.advance(3)
    assert isinstance(desk.press(4, device="EV-2000-0042"), Recorded)
    (ev,) = evaluations(store, case.id)
    assert (ev.encounter, ev.encounter_event_id, ev.level) == (
        encounter.value,
        opened.encounter_event_id,
        4,
    )
    view = intake.case_view(case.id)
    assert [(e.encounter_label, e.level) for e in view.evaluations] == [(encounter.label, 4)]
    assert view.evaluation_state == "evaluated"


def test_instant_completion_and_hand_over_are_two_encounters(intake, desk, reference, clock, store):
    case = intake.open_case(reference.clerk_id, reference.instant_code, APPLICANT)
    item = intake.item(reference.instant_code)
    present = tuple(MaterialCheck(m.id, MaterialStatus.PRESENT) for m in item.materials)
    intake.decide(case.id, reference.clerk_id, CompleteInstantly(present))
    clock.advance(1)
    assert desk.open(case.id).encounter is Encounter.INSTANT_COMPLETION
    assert isinstance(desk.press(5), Recorded)
    # The same encounter is not evaluated twice.
    with pytest.raises(AlreadyEvaluated):
        desk.open(case.id)
    clock.advance(60)
    intake.hand_over(case.id, reference.clerk_id)
    clock.advance(1)
    assert desk.open(case.id).encounter is Encounter.HAND_OVER
    assert isinstance(desk.press(3), Recorded)
    assert [e.encounter for e in evaluations(store, case.id)] == ["instant_completion", "hand_over"]
    view = intake.case_view(case.id)
    assert len(view.evaluations) == 2 and view.evaluation_level == 3


def test_back_office_completion_of_a_promised_case_opens_no_evaluation(
    intake, desk, reference, clock, store
):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    clock.advance(1)
    desk.open(case.id)
    clock.advance(60)
    assert isinstance(desk.expire_due(), Expired)  # the citizen left without rating
    clock.advance(3 * 86400)
    intake.complete(case.id, reference.clerk_id)
    clock.advance(1)
    # 办结 in the back office: the citizen is absent; neither a new evaluation
    # nor the acceptance's, offered again days later.
    with pytest.raises(EvaluationError, match="出件时再请群众评价"):
        desk.open(case.id)
    with pytest.raises(EvaluationError):
        desk.reoffer()
    assert desk.current is None
    assert evaluations(store, case.id) == []
    view = intake.case_view(case.id)
    # The list says the acceptance was not evaluated (never a default rating).
    assert view.evaluation_state == "expired" and view.evaluation_level is None
    # Nothing decided yet (a case just received) cannot be evaluated either.
    fresh = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    with pytest.raises(EvaluationError, match="没有可评价"):
        desk.open(fresh.id)


def test_the_database_keeps_one_evaluation_per_encounter(intake, reference, clock, store, config):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    with store.session() as s:
        opened = open_evaluation(s, case.id, config.window_code, 60)
        record_evaluation(s, opened, 5)
    with pytest.raises(IntegrityError), store.session() as s:
        record_evaluation(s, opened, 4)
    assert len(evaluations(store, case.id)) == 1


def test_a_timed_out_invitation_is_offered_again_while_the_citizen_is_there(
    intake, desk, reference, clock, store
):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    with pytest.raises(NoOpenEvaluation):
        desk.reoffer()  # nothing timed out yet
    clock.advance(1)
    first = desk.open(case.id)
    with pytest.raises(EvaluationError):
        desk.reoffer()  # still open
    clock.advance(61)
    assert isinstance(desk.expire_due(), Expired)
    assert desk.reofferable is not None
    clock.advance(5)
    again = desk.reoffer()
    assert again.encounter_event_id == first.encounter_event_id
    assert again.deadline == clock.now + timedelta(seconds=60)
    clock.advance(2)
    assert isinstance(desk.press(2), AwaitingReasons)
    assert isinstance(desk.submit_reasons(["一次性告知不到位"]), Recorded)
    (ev,) = evaluations(store, case.id)
    assert ev.encounter == "one_time_notice" and ev.level == 2
    # Evaluated: nothing left to offer again.
    assert desk.reofferable is None
    with pytest.raises(NoOpenEvaluation):
        desk.reoffer()
    with store.session() as s:
        kinds = list(
            s.scalars(
                select(CaseEvent.kind)
                .where(CaseEvent.case_id == case.id)
                .order_by(CaseEvent.created_at, CaseEvent.seq)
            )
        )
    assert kinds[-4:] == [
        CaseEventKind.EVALUATION_OPENED,
        CaseEventKind.EVALUATION_EXPIRED,  # the first invitation: 未评价, no default rating
        CaseEventKind.EVALUATION_OPENED,
        CaseEventKind.EVALUATED,
    ]


def test_a_reoffer_is_refused_once_the_citizen_has_left(intake, desk, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    clock.advance(1)
    desk.open(case.id)
    clock.advance(61)
    desk.expire_due()
    clock.advance(REOFFER_WITHIN_S + 1)
    assert desk.reofferable is None
    with pytest.raises(EvaluationError, match="已离开窗口"):
        desk.reoffer()
    assert desk.current is None


def test_a_reoffer_is_refused_once_the_case_moved_on(intake, desk, reference, clock):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(
        case.id,
        reference.clerk_id,
        OneTimeNotice(checks(reference, 施工合同=MaterialStatus.MISSING)),
    )
    clock.advance(1)
    desk.open(case.id)
    clock.advance(61)
    desk.expire_due()
    clock.advance(60)
    intake.record_correction(case.id, reference.clerk_id, checks(reference))
    with pytest.raises(EvaluationError, match=r"没有可评价|新的办理环节"):
        desk.reoffer()
    assert desk.current is None


def test_a_bad_review_keeps_the_identity_of_the_device_that_pressed_it(
    intake, desk, reference, clock, store
):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    clock.advance(1)
    desk.open(case.id)
    assert isinstance(desk.press(1, device="EV-2000-0042"), AwaitingReasons)
    # The reasons come from the citizen screen.
    assert isinstance(desk.submit_reasons(["服务态度差"], device="citizen-screen"), Recorded)
    (ev,) = evaluations(store, case.id)
    assert ev.device == "EV-2000-0042"


def test_reasons_chosen_by_the_device_number_keys(intake, desk, reference, clock, store):
    case = intake.open_case(reference.clerk_id, reference.item_code, APPLICANT)
    intake.decide(case.id, reference.clerk_id, Accept(checks(reference)))
    seen: list[ReasonsChanged] = []
    desk.add_listener(lambda e: seen.append(e) if isinstance(e, ReasonsChanged) else None)
    assert desk.toggle_reason(1) == IgnoredNoOpen(0)  # no 差评 awaits reasons
    clock.advance(1)
    desk.open(case.id)
    assert desk.toggle_reason(1) == IgnoredNoOpen(0)  # no level pressed yet
    desk.press(2, device="EV-2000-0042")
    assert isinstance(desk.confirm_reasons(), AwaitingReasons)  # none chosen: nothing stored
    assert isinstance(desk.toggle_reason(3), AwaitingReasons)
    assert isinstance(desk.toggle_reason(1), AwaitingReasons)
    assert isinstance(desk.toggle_reason(2), AwaitingReasons)
    assert isinstance(desk.toggle_reason(2), AwaitingReasons)  # chosen twice: unchosen
    assert desk.toggle_reason(len(BAD_REVIEW_REASONS) + 1) == IgnoredNoOpen(0)
    assert desk.chosen_reasons == (BAD_REVIEW_REASONS[0], BAD_REVIEW_REASONS[2])
    # What the screen touched continues on the device, and the other way round.
    assert desk.choose_reasons([BAD_REVIEW_REASONS[5]]) == (BAD_REVIEW_REASONS[5],)
    desk.toggle_reason(1)
    assert seen[-1].chosen == (BAD_REVIEW_REASONS[0], BAD_REVIEW_REASONS[5])
    outcome = desk.confirm_reasons(device="EV-2000-0042")
    assert isinstance(outcome, Recorded)
    (ev,) = evaluations(store, case.id)
    assert ev.reasons == [BAD_REVIEW_REASONS[0], BAD_REVIEW_REASONS[5]]
    assert ev.device == "EV-2000-0042" and ev.level == 2
