"""The ID number field: masked on screen once entered, never lost, correctable."""

from __future__ import annotations

from hallapp.ui.intake_view import MaskedIdEdit
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from hallapp.validation import id_check_char

VALID = "35082519850312002" + id_check_char("35082519850312002")


def _form(qtbot):
    box = QWidget()
    layout = QVBoxLayout(box)
    field, other = MaskedIdEdit(), QLineEdit()
    layout.addWidget(field)
    layout.addWidget(other)
    qtbot.addWidget(box)
    box.show()
    box.activateWindow()
    qtbot.waitUntil(box.isActiveWindow)
    return field, other, box


def test_valid_number_is_masked_after_entry_and_kept(qtbot):
    field, other, _box = _form(qtbot)
    field.setFocus()
    qtbot.keyClicks(field, VALID)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert other.hasFocus()
    assert field.text() == "3508**********0029" and field.value == VALID
    # Tabbing through the field does not lose or reveal the number.
    qtbot.keyClick(other, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert field.hasFocus() and field.text() == ""
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert field.text() == "3508**********0029" and field.value == VALID
    # Typing a new number replaces it.
    field.setFocus()
    other_valid = "35082519900101123" + id_check_char("35082519900101123")
    qtbot.keyClicks(field, other_valid)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert field.value == other_valid and "*" in field.text()


def test_wrong_number_stays_visible_for_correction(qtbot):
    field, _other, _box = _form(qtbot)
    field.setFocus()
    qtbot.keyClicks(field, VALID[:-1] + ("0" if VALID[-1] != "0" else "1"))
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert "*" not in field.text()


def test_credit_codes_are_not_masked(qtbot):
    field, _other, _box = _form(qtbot)
    field.set_masking(False)
    field.setFocus()
    qtbot.keyClicks(field, VALID)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert field.text() == VALID


def test_a_number_put_in_without_focus_replaces_the_kept_one(qtbot):
    # A paste, a drop or an input tool changes the text while the field shows
    # the masked number: the new text counts, the kept number does not stand
    # behind it (a notice would carry the previous applicant's number).
    field, other, _box = _form(qtbot)
    field.setFocus()
    qtbot.keyClicks(field, VALID)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert field.is_masked() and other.hasFocus()
    wrong = "350825198503120020"  # wrong check digit
    field.setText(wrong)
    assert not field.is_masked() and field.value == ""
    assert field.text() == wrong
    # The same through a drop onto the masked text: the mix is no number at all.
    field.setFocus()
    field.clear()
    qtbot.keyClicks(field, VALID)
    qtbot.keyClick(field, Qt.Key.Key_Tab)
    field.insert("3508")  # what a drop into the masked text does
    assert not field.is_masked() and field.value == "" and "3508" in field.text()

