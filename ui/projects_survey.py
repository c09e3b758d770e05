"""代办员满意度测评表 (seed 002 附件3) on the citizen-facing screen.

The enterprise's representative fills it in at the hand-over: seven items,
each on the form's five levels, the 意见和建议, name and phone. No level is
pre-selected (no default good rating); the form is only sent when every item
has one, otherwise the screen says which are missing.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from hallapp.projects.survey import LEVELS, SURVEY_ITEMS, Channel, SurveyInput

STYLE = """
QWidget#survey { background: #f4f7fb; }
QLabel { font-size: 19px; }
QLabel#title { font-size: 30px; font-weight: bold; color: #123a6b; }
QLabel#item { font-size: 20px; }
QLabel#level { font-size: 17px; color: #123a6b; font-weight: bold; }
QRadioButton { font-size: 18px; }
QRadioButton::indicator { width: 26px; height: 26px; }
QPushButton#send { font-size: 22px; padding: 10px 40px; background: #1b5fa8; color: white;
                   border-radius: 6px; }
QLabel#message { color: #a61b1b; font-size: 20px; }
QLabel#thanks { color: #1b6e2a; font-size: 26px; }
"""


class SurveyScreen(QWidget):
    submitted = Signal(object)  # SurveyInput

    def __init__(
        self,
        project_name: str,
        agent_name: str,
        hall_name: str,
        *,
        today: date,
        paper: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("survey")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(f"{hall_name} — 代办员满意度测评表")
        self.today = today
        # A paper form entered by a clerk: marked so, with the date on the form.
        self.paper = paper
        title = QLabel("代办员满意度测评表" + ("（纸质测评表录入）" if paper else ""), self)
        title.setObjectName("title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        intro = QLabel(
            f"为了进一步提高代办员的服务质量和水平，请您对我们的工作提出宝贵意见和建议。<br/>"
            f"项目：<b>{project_name}</b>　代办员：<b>{agent_name}</b>",
            self,
        )
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid = QGridLayout()
        grid.addWidget(QLabel("测评项目", self), 0, 0)
        levels = sorted(LEVELS, reverse=True)
        for j, level in enumerate(levels, start=1):
            head = QLabel(LEVELS[level], self)
            head.setObjectName("level")
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, j)
        self.groups: dict[str, QButtonGroup] = {}
        for i, (key, label) in enumerate(SURVEY_ITEMS, start=1):
            name = QLabel(label, self)
            name.setObjectName("item")
            grid.addWidget(name, i, 0)
            group = QButtonGroup(self)
            group.setExclusive(True)
            for j, level in enumerate(levels, start=1):
                button = QRadioButton(self)
                button.setAccessibleName(f"{label}：{LEVELS[level]}")
                group.addButton(button, level)
                grid.addWidget(button, i, j, alignment=Qt.AlignmentFlag.AlignCenter)
            self.groups[key] = group
        self.comment = QPlainTextEdit(self)
        self.comment.setPlaceholderText("对“代办员”工作的意见和建议（可不填）")
        self.comment.setFixedHeight(90)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("填写人姓名")
        self.phone = QLineEdit(self)
        self.phone.setPlaceholderText("联系电话")
        who = QHBoxLayout()
        who.addWidget(QLabel("填写人姓名：", self))
        who.addWidget(self.name)
        who.addWidget(QLabel("联系电话：", self))
        who.addWidget(self.phone)
        self.filled_on = QDateEdit(QDate(today.year, today.month, today.day), self)
        self.filled_on.setDisplayFormat("yyyy年M月d日")
        self.filled_on.setEnabled(paper)  # on the screen it is today
        who.addWidget(QLabel("日期：", self))
        who.addWidget(self.filled_on)
        self.message = QLabel(self)
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.send = QPushButton("提交测评", self)
        self.send.setObjectName("send")
        self.send.clicked.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(60, 30, 60, 30)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(10)
        layout.addLayout(grid)
        layout.addWidget(self.comment)
        layout.addLayout(who)
        layout.addWidget(self.message)
        layout.addWidget(self.send, alignment=Qt.AlignmentFlag.AlignCenter)
        self.resize(1280, 800)

    def choose(self, key: str, level: int) -> None:
        """Press a level (what a finger on the touch screen does)."""
        button = self.groups[key].button(level)
        assert button is not None
        button.click()

    def answers(self) -> dict[str, int]:
        return {k: g.checkedId() for k, g in self.groups.items() if g.checkedId() in LEVELS}

    def submit(self) -> None:
        answers = self.answers()
        missing = [label for key, label in SURVEY_ITEMS if key not in answers]
        if missing:
            self.message.setText(f"还有 {len(missing)} 项未选择：{'、'.join(missing)}")
            return
        if not self.name.text().strip():
            self.message.setText("请填写填写人姓名")
            return
        self.message.clear()
        self.send.setEnabled(False)
        self.submitted.emit(
            SurveyInput(
                answers=answers,
                respondent_name=self.name.text(),
                filled_on=self._filled_on(),
                channel=Channel.PAPER if self.paper else Channel.SCREEN,
                respondent_phone=self.phone.text(),
                comment=self.comment.toPlainText(),
            )
        )

    def _filled_on(self) -> date:
        d = self.filled_on.date()
        return date(d.year(), d.month(), d.day())

    def thank(self) -> None:
        self.message.setObjectName("thanks")
        self.message.setStyleSheet("color: #1b6e2a; font-size: 26px;")
        self.message.setText("感谢您的评价！测评已提交。")

    def refuse(self, message: str) -> None:
        self.send.setEnabled(True)
        self.message.setText(message)
