"""The evaluation rules on PostgreSQL (a central store, or a large hall's window store)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hallapp.evaluation import (
    EvaluationDesk,
    IgnoredDuplicate,
    Recorded,
    open_evaluation,
    record_evaluation,
)
from hallapp.models import CaseEventKind, FollowUpStep

pytestmark = pytest.mark.postgres


def test_desk_rules_on_postgresql(pg_hall, clock):
    desk = EvaluationDesk(pg_hall.store, "A03", clock=clock, auto_expire=False)
    try:
        good, bad, crashed = pg_hall.new_case(), pg_hall.new_case(), pg_hall.new_case()
        desk.open(good)
        assert isinstance(desk.press(5), Recorded)
        assert desk.press(4) == IgnoredDuplicate(good, 4)
        desk.open(bad)
        desk.press(1)
        assert isinstance(desk.submit_reasons(["服务态度差"]), Recorded)
        desk.open(crashed)
    finally:
        desk.close()
    restarted = EvaluationDesk(pg_hall.store, "A03", clock=clock, auto_expire=False)
    restarted.close()
    assert pg_hall.event_kinds(crashed)[-1] == CaseEventKind.EVALUATION_EXPIRED
    assert sorted(e.level for e in pg_hall.evaluations()) == [1, 5]
    with pg_hall.store.session() as s:
        (step,) = s.scalars(select(FollowUpStep))
        assert step.due_on is not None
        opened = open_evaluation(s, pg_hall.new_case(), "A03", 60)
        record_evaluation(s, opened, 3)
    with pytest.raises(IntegrityError), pg_hall.store.session() as s:
        record_evaluation(s, opened, 4)
