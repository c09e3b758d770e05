"""The console's look: a CJK-capable font, readable sizes, one style sheet.

The clerk reads all day: body text 15 px, the outcome buttons large and
coloured by weight (accept green, refusal red), shortcuts on every button.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

#: Families that carry Simplified Chinese, best first (Linux, then Windows).
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "Microsoft YaHei UI",
    "SimHei",
    "SimSun",
    "PingFang SC",
)

BASE_PX = 15

STYLE = """
QWidget { font-size: %(base)dpx; }
QMainWindow, QDialog { background: #f4f6f9; }
QLabel#sectionTitle { font-size: %(title)dpx; font-weight: bold; color: #1f3a5f; }
QLabel#hint { color: #5b6675; }
QLabel#error { color: #b42318; }
QLabel#clerkBadge { font-weight: bold; color: #1f3a5f; }
QLabel#pausedBadge { color: #ffffff; background: #b42318; padding: 2px 8px; border-radius: 4px; }
QLabel#onDutyBadge { color: #ffffff; background: #1b6e2e; padding: 2px 8px; border-radius: 4px; }
QFrame#panel { background: #ffffff; border: 1px solid #d5dbe3; border-radius: 6px; }
QPushButton { padding: 6px 12px; min-height: 26px; }
QPushButton:focus { border: 2px solid #2f6fdb; }
QPushButton[outcome="true"] { font-size: %(big)dpx; font-weight: bold; min-height: 40px; }
QPushButton[outcome="true"]:enabled[weight="good"] { background: #1b6e2e; color: white; }
QPushButton[outcome="true"]:enabled[weight="warn"] { background: #b25e09; color: white; }
QPushButton[outcome="true"]:enabled[weight="bad"] { background: #a11d21; color: white; }
QPushButton[outcome="true"]:enabled[weight="neutral"] { background: #2f5d8a; color: white; }
QPushButton[outcome="true"]:disabled { background: #e3e7ec; color: #9aa4b1; }
QLineEdit[invalid="true"] { border: 2px solid #b42318; }
QTableView { background: #ffffff; alternate-background-color: #f7f9fb; gridline-color: #e3e7ec; }
QTableView::item:selected { background: #2f6fdb; color: white; }
QHeaderView::section { background: #e8edf3; padding: 4px; border: none;
                       border-right: 1px solid #d5dbe3; font-weight: bold; }
QTabBar::tab { padding: 8px 18px; font-size: %(big)dpx; }
QTabBar::tab:selected { background: #ffffff; border-bottom: 3px solid #2f6fdb; }
QStatusBar QLabel { padding: 0 8px; }
QTextBrowser { background: #ffffff; }
"""


def cjk_family() -> str | None:
    """The first installed family that can show Chinese, or None (boxes on screen)."""
    installed = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    for family in sorted(installed):
        if QFontDatabase.WritingSystem.SimplifiedChinese in QFontDatabase.writingSystems(family):
            return family
    return None


_translators: list[QTranslator] = []


def install_qt_chinese(app: QApplication) -> bool:
    """Qt's own texts in Chinese (a message box's 确定/取消, a line edit's
    context menu): PySide6 ships them; without them those buttons say OK."""
    if any(t.parent() is app for t in _translators):
        return True  # once per application
    translator = QTranslator(app)
    where = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load(QLocale(QLocale.Language.Chinese, QLocale.Country.China), "qtbase",
                           "_", where):  # fmt: skip
        log.warning("Qt's Chinese translations not found in %s", where)
        return False
    app.installTranslator(translator)
    _translators.append(translator)  # kept alive for the application's life
    return True


def apply_theme(app: QApplication) -> str | None:
    """Set the font and style sheet; returns the CJK family used (None if there is none)."""
    install_qt_chinese(app)
    family = cjk_family()
    font = QFont(family) if family else QFont()
    font.setPixelSize(BASE_PX)
    app.setFont(font)
    app.setStyleSheet(STYLE % {"base": BASE_PX, "title": BASE_PX + 3, "big": BASE_PX + 1})
    if family is None:
        log.warning("no font with Simplified Chinese installed: the window will show boxes")
    else:
        log.info("UI font: %s", family)
    return family


def repolish(widget: object) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    from PySide6.QtWidgets import QWidget

    if isinstance(widget, QWidget):
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)


def bind_key(parent: object, key: str, handler: object) -> object:
    """A keyboard shortcut on ``parent``'s window that calls ``handler``."""
    from PySide6.QtGui import QKeySequence, QShortcut
    from PySide6.QtWidgets import QWidget

    assert isinstance(parent, QWidget) and callable(handler)
    shortcut = QShortcut(QKeySequence(key), parent)
    shortcut.activated.connect(handler)
    return shortcut
