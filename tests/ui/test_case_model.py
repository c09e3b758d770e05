"""The case list's model: what a row shows, and that a change touches only its row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hallapp.ui.cases_view import COLUMNS, CaseModel, case_row, case_rows
from PySide6.QtCore import Qt

from hallapp.intake import CaseStatus, CaseView


def _case(n: int, **changes: object) -> CaseView:
    case = CaseView(
        id=f"case-{n}",
        case_no=f"LCA03TEST{n:06d}",
        item_code="ITEM",
        item_name="个体工商户设立登记",
        applicant_name="李明",
        applicant_id_masked="1101**********1234",
        window_code="A03",
        first_responder_name="王芳",
        received_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
        status=CaseStatus.ACCEPTED,
        accepted_on=None,
        deadlines=None,
        owed_materials=(),
        evaluation_level=None,
        evaluation_state="",
        documents=(),
        one_time_violations=0,
    )
    return replace(case, **changes)  # type: ignore[arg-type]


def _shown(model: CaseModel, row: int) -> list[str]:
    return [model.index(row, col).data() for col in range(len(COLUMNS))]


def test_rows_show_the_strings_made_for_them(qapp: object) -> None:
    model = CaseModel()
    cases = [_case(i) for i in range(5)]
    model.set_cases(cases, case_rows(cases))
    assert model.rowCount() == 5 and model.columnCount() == len(COLUMNS)
    assert _shown(model, 2) == list(case_row(cases[2]).texts)
    assert model.headerData(6, Qt.Orientation.Horizontal) == "评价"
    assert model.index(2, 0).data(Qt.ItemDataRole.ToolTipRole) == (
        "LCA03TEST000002 个体工商户设立登记"
    )
    assert model.row_of("case-3") == 3 and model.row_of("nope") == -1


def test_an_evaluation_changes_only_its_row(qtbot: object, qapp: object) -> None:
    model = CaseModel()
    cases = [_case(i) for i in range(300)]
    model.set_cases(cases)
    changed: list[tuple[int, int, int, int]] = []
    resets: list[int] = []
    model.dataChanged.connect(
        lambda a, b, _roles=None: changed.append((a.row(), a.column(), b.row(), b.column()))
    )
    model.modelReset.connect(lambda: resets.append(1))

    evaluated = replace(cases[7], evaluation_level=1, evaluation_state="evaluated")
    row, _ = model.replace(evaluated)
    assert row == 7
    assert changed == [(7, 0, 7, len(COLUMNS) - 1)] and not resets
    assert model.index(7, 6).data() == "非常不满意"
    assert model.index(7, 6).data(Qt.ItemDataRole.ForegroundRole).color().name() == "#b42318"
    assert model.cases[7] is evaluated

    # The same case again: nothing to repaint.
    model.replace(evaluated)
    assert len(changed) == 1


def test_refreshing_the_same_list_updates_rows_in_place(qapp: object) -> None:
    model = CaseModel()
    cases = [_case(i) for i in range(10)]
    assert model.set_cases(cases) is True
    resets: list[int] = []
    changed: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, _b, _roles=None: changed.append(a.row()))

    again = list(cases)
    again[4] = replace(cases[4], status=CaseStatus.COMPLETED)
    assert model.set_cases(again) is False
    assert not resets and changed == [4]
    assert model.changed_rows == [4]  # only that row's column widths are re-measured
    assert model.index(4, 3).data() == CaseStatus.COMPLETED.label

    # A different list (a case more) is rebuilt.
    assert model.set_cases([_case(99), *again]) is True
    assert resets == [1] and model.rowCount() == 11 and model.row_of("case-99") == 0


def test_a_new_case_goes_on_top(qapp: object) -> None:
    model = CaseModel()
    model.set_cases([_case(1), _case(2)])
    row, _ = model.replace(_case(3))
    assert row == 0 and model.rowCount() == 3
    assert model.index(0, 0).data() == "LCA03TEST000003"


def test_cells_made_on_a_worker_thread_show_the_same_list(qapp: object) -> None:
    """The refresh makes the cells where it read the cases, off the GUI thread."""
    import threading

    from hallapp.ui.cases_view import rows_cells

    cases = [_case(i, evaluation_level=(i % 5) + 1) for i in range(300)]
    made: list[object] = []
    worker = threading.Thread(target=lambda: made.append(rows_cells(case_rows(cases))))
    worker.start()
    worker.join(30)
    on_worker, here = CaseModel(), CaseModel()
    assert on_worker.set_cases(cases, case_rows(cases), made[0]) is True  # type: ignore[arg-type]
    here.set_cases(cases)
    for row in (0, 17, 299):
        assert _shown(on_worker, row) == _shown(here, row)
        for col in range(len(COLUMNS)):
            for role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole):
                assert on_worker.index(row, col).data(role) == here.index(row, col).data(role)


def test_the_list_keeps_the_latest_cases_only(qapp: object) -> None:
    """Cases joining on top push the oldest out, as a refresh would show it."""
    from hallapp.ui.cases_view import LIST_LIMIT

    model = CaseModel()
    model.set_cases([_case(i) for i in range(LIST_LIMIT)])
    for n in range(1000, 1005):
        row, _ = model.replace(_case(n))
        assert row == 0
    assert model.rowCount() == LIST_LIMIT == len(model.cases)
    assert model.index(0, 0).data() == "LCA03TEST001004"
    assert model.row_of("case-0") == 5
    assert model.row_of(f"case-{LIST_LIMIT - 6}") == LIST_LIMIT - 1
    assert model.row_of(f"case-{LIST_LIMIT - 5}") == -1  # the oldest five are no longer listed
