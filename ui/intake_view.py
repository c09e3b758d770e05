"""收件受理: find the item, register the applicant, check the materials, decide.

Only the outcomes the law allows for the current checklist are enabled
(:func:`hallapp.intake.lawful_outcomes`, a pure function, so it runs on every
change without touching the database). Every database call goes through
ui.ops; the decision's document is then previewed and printed by the console.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hallapp.ui.context import ItemHit, WindowContext
from hallapp.ui.ops import run_in_background
from hallapp.ui.theme import bind_key, repolish
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hallapp.documents import DocumentType
from hallapp.identity import IdType, mask_document_number, validate_document
from hallapp.intake import (
    Accept,
    ApplicantInput,
    CaseView,
    CompleteInstantly,
    ConditionalAccept,
    Decision,
    DecisionResult,
    ItemView,
    MaterialCheck,
    MaterialStatus,
    OneTimeNotice,
    Outcome,
    Refer,
    ReferralChoices,
    Reject,
    check_applicant,
    lawful_outcomes,
    new_demands,
    phone_required_for,
)
from hallapp.models import ApplicantKind
from hallapp.validation import validate_uscc

log = logging.getLogger(__name__)

#: Outcome buttons in shortcut order (Ctrl+1 … Ctrl+6) with their colour weight.
OUTCOME_ORDER: tuple[tuple[Outcome, str, str], ...] = (
    (Outcome.ACCEPT, "Ctrl+1", "good"),
    (Outcome.CONDITIONAL, "Ctrl+2", "warn"),
    (Outcome.ONE_TIME, "Ctrl+3", "warn"),
    (Outcome.REJECT, "Ctrl+4", "bad"),
    (Outcome.REFER, "Ctrl+5", "neutral"),
    (Outcome.INSTANT, "Ctrl+6", "good"),
)

#: The document each outcome issues (即办 issues none: the result itself is handed over).
_OUTCOME_DOCUMENTS: dict[Outcome, str] = {
    Outcome.ACCEPT: DocumentType.ACCEPTANCE.heading,
    Outcome.CONDITIONAL: DocumentType.CONDITIONAL.heading,
    Outcome.ONE_TIME: DocumentType.ONE_TIME.heading,
    Outcome.REJECT: DocumentType.REJECTION.heading,
    Outcome.REFER: DocumentType.REFERRAL.heading,
}

_STATUS_CYCLE = (MaterialStatus.MISSING, MaterialStatus.PRESENT, MaterialStatus.NON_CONFORMING)
_SEARCH_DELAY_MS = 150


def guide_html(item: ItemView) -> str:
    """The item's guide (办事指南) as the clerk reads it beside the form."""
    e = html.escape
    kind = (
        "即办件（当场办结）"
        if item.instant
        else f"承诺件：承诺 {item.promised_days} 个工作日，法定 {item.legal_days} 个工作日"
    )
    parts = [
        f"<h3 style='margin:0'>{e(item.name)}</h3>",
        f"<p style='color:#5b6675'>事项编码 {e(item.code)} · {e(item.department_name)}</p>",
        f"<p><b>办理时限：</b>{e(kind)}</p>",
    ]
    for title, text in (
        ("受理范围", item.scope),
        ("办事程序", item.procedure),
        ("审批条件", item.conditions),
        ("收费标准", item.fees or "不收费"),
        ("法律依据", item.legal_basis),
    ):
        if text:
            body = "<br>".join(e(line) for line in text.splitlines())
            parts.append(f"<p><b>{title}：</b><br>{body}</p>")
    rows = []
    for m in item.materials:
        tags = ["必需" if m.required else "可选"]
        if m.deferrable:
            tags.append("可容缺")
        note = f"<br><span style='color:#5b6675'>{e(m.note)}</span>" if m.note else ""
        rows.append(f"<li>{e(m.name)}（{e(m.form)} {m.copies} 份；{'、'.join(tags)}）{note}</li>")
    parts.append(f"<p><b>申请材料（{len(item.materials)} 项）：</b></p><ol>{''.join(rows)}</ol>")
    return "".join(parts)


@dataclass
class _Row:
    requirement_id: str
    status: QComboBox
    note: QLineEdit


class MaskedIdEdit(QLineEdit):
    """An ID number or credit code field that hides a person's ID number once entered.

    The full value is kept in :attr:`value`; the screen shows the masked form
    (e.g. ``350881********1234``). Focusing the field again clears it for
    re-entry; leaving it empty restores the kept value.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = ""
        self.masking = True
        self._masked = False
        #: The document whose number this is (a person's): decides what is valid.
        self.id_type = IdType.RESIDENT_ID
        self.setMaxLength(24)  # room for spaces and brackets as people type them
        self.editingFinished.connect(self._finish)
        # The masked form is ours (set with signals blocked): any other change
        # of the text (a paste or a drop without focus, an input tool) is a
        # new number, and the kept one must not stand behind it.
        self.textChanged.connect(self._edited)

    def set_masking(self, on: bool) -> None:
        self.masking = on
        if not on and self._masked:
            self._masked = False
            self.setText(self.value)

    def clear_value(self) -> None:
        self.value = ""
        self._masked = False
        self.clear()

    def _edited(self, _text: str) -> None:
        if self._masked:
            self._masked = False
            self.value = ""

    def _finish(self) -> None:
        if self._masked:
            return
        text = self.text().strip().upper()
        if not text and self.value:
            self._show_masked()
            return
        self.value = text
        if self.masking and validate_document(self.id_type, text):
            self._show_masked()

    def _show_masked(self) -> None:
        self._masked = True
        self.blockSignals(True)
        self.setText(mask_document_number(self.value))
        self.blockSignals(False)

    def focusInEvent(self, event: QFocusEvent) -> None:
        if self._masked:
            self._masked = False
            self.blockSignals(True)
            self.clear()
            self.blockSignals(False)
            self.setPlaceholderText("已录入（已隐藏）；重新输入可更正，直接离开保留原号码")
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        # Left without typing: Qt sends no editingFinished, so restore the mask here.
        super().focusOutEvent(event)
        if not self._masked and not self.text().strip() and self.value:
            self._show_masked()

    def is_masked(self) -> bool:
        return self._masked


class DecisionDialog(QDialog):
    """The extra facts a decision needs: reasons, legal basis, department, days."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.form = QFormLayout()
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("确定并出具文书  [Ctrl+Enter]")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消  [Esc]")
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        bind_key(self, "Ctrl+Return", self._try_accept)
        layout = QVBoxLayout(self)
        self.summary_box = QVBoxLayout()
        layout.addLayout(self.summary_box)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.validator: Callable[[], str] = lambda: ""
        self.fields: dict[str, QWidget] = {}

    def set_summary(self, rows: list[tuple[str, str]]) -> None:
        """What the dialog will issue (document type, applicant, item), above its fields."""
        self.summary = summary_label(rows)
        self.summary_box.addWidget(self.summary)

    def add(self, name: str, label: str, widget: QWidget) -> None:
        """A labelled field, reachable as ``dialog.<name>`` (tests drive it without a mouse)."""
        self.form.addRow(label, widget)
        self.fields[name] = widget

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def _try_accept(self) -> None:
        problem = self.validator()
        if problem:
            self.error.setText(problem)
            return
        self.accept()


class ConfirmActDialog(QDialog):
    """Asks before a numbered act: what will be issued, to whom, for which item.

    Enter issues it, Esc cancels: the keyboard stays fast, and a stray F9,
    F10 or Ctrl+1…6 alone consumes no number and records no fact.
    """

    def __init__(
        self, title: str, rows: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"确认：{title}")
        self.setMinimumWidth(480)
        head = QLabel(f"即将{title}，请核对：")
        head.setObjectName("sectionTitle")
        self.summary = summary_label(rows)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("确定  [Enter]")
        ok.setDefault(True)
        ok.setAutoDefault(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消  [Esc]")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        ok.setFocus()

    def text(self) -> str:
        return self.summary.text()


def summary_label(rows: list[tuple[str, str]]) -> QLabel:
    """文书/事实, 申请人, 事项 … as a two-column table the clerk reads at a glance."""
    e = html.escape
    body = "".join(
        f"<tr><td style='color:#5b6675;padding-right:12px'>{e(k)}</td><td><b>{e(v)}</b></td></tr>"
        for k, v in rows
    )
    label = QLabel(f"<table>{body}</table>")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


class IntakeView(QWidget):
    """The intake page; ``decided`` carries each DecisionResult to the console."""

    decided = Signal(object)  # DecisionResult
    case_opened = Signal(object)  # CaseView
    busy_changed = Signal(bool)
    item_loaded = Signal(object)  # ItemView
    search_done = Signal(int)  # number of hits

    def __init__(self, ctx: WindowContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.item: ItemView | None = None
        self.case_id: str | None = None
        self.correcting: CaseView | None = None  # a 待补正 case being continued
        self.decision_dialog: DecisionDialog | None = None
        #: The confirmation a numbered act waits on (Ctrl+1, Ctrl+6), while open.
        self.confirm_dialog: ConfirmActDialog | None = None
        self._rows: list[_Row] = []
        self._search_generation = 0
        self._busy = False
        self._build()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        # Left: search and guide.
        self.search = QLineEdit()
        self.search.setPlaceholderText("事项名称、编码或拼音首字母，例如 spjy")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setMaximumHeight(190)
        self.guide = QTextBrowser()
        self.guide.setOpenExternalLinks(False)
        self.guide.setHtml("<p style='color:#5b6675'>按 F3 查找事项，回车选中后显示办事指南。</p>")
        left = QVBoxLayout()
        left.addWidget(self._title("查找事项  [F3]"))
        left.addWidget(self.search)
        left.addWidget(self.results)
        left.addWidget(self._title("办事指南"))
        left.addWidget(self.guide, 1)
        left_box = QFrame()
        left_box.setObjectName("panel")
        left_box.setLayout(left)

        # Right: applicant, materials, outcomes.
        self.mode_label = QLabel("新办件")
        self.mode_label.setObjectName("sectionTitle")
        self.kind = QComboBox()
        self.kind.addItem("个人", ApplicantKind.PERSON)
        self.kind.addItem("单位（法人或其他组织）", ApplicantKind.ORGANISATION)
        self.id_type = QComboBox()
        for doc in IdType:
            self.id_type.addItem(doc.label, doc.value)
        self.name = QLineEdit()
        self.name.setMaxLength(100)
        self.ident = MaskedIdEdit()
        self.phone = QLineEdit()
        self.phone.setMaxLength(20)
        self.phone.setPlaceholderText("手机或固定电话（即办件可不填）")
        self.contact = QLineEdit()
        self.contact.setMaxLength(50)
        self.contact.setPlaceholderText("单位办件时填写经办人")
        self.ident_label = QLabel("身份证号(&I)：")
        self.ident_label.setBuddy(self.ident)
        grid = QGridLayout()
        pairs: list[tuple[str | QLabel, QWidget]] = [
            ("申请人类型(&K)：", self.kind),
            ("证件类型(&Z)：", self.id_type),
            ("姓名/名称(&M)：", self.name),
            (self.ident_label, self.ident),
            ("联系电话(&T)：", self.phone),
            ("经办人(&J)：", self.contact),
        ]
        for i, (label, field) in enumerate(pairs):
            lab = label if isinstance(label, QLabel) else QLabel(label)
            lab.setBuddy(field)
            grid.addWidget(lab, i // 2, (i % 2) * 2, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(field, i // 2, (i % 2) * 2 + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.applicant_problems = QLabel("")
        self._live_problem = ""  # what the ID field's own check last said there
        self.applicant_problems.setObjectName("error")
        self.applicant_problems.setWordWrap(True)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["材料名称", "形式/份数", "要求", "核对结果", "说明（不符合时必填）"]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(4, 300)
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.installEventFilter(self)
        self.all_present = QPushButton("全部已收  [Alt+A]")
        self.all_present.clicked.connect(self.mark_all_present)
        bind_key(self, "Alt+A", self.mark_all_present)
        materials_bar = QHBoxLayout()
        materials_bar.addWidget(self._title("材料核对  [Alt+L]"))
        hint = QLabel("空格键切换：缺少 → 已收 → 不符合要求")
        hint.setObjectName("hint")
        materials_bar.addWidget(hint, 1)
        materials_bar.addWidget(self.all_present)
        bind_key(self, "Alt+L", self._focus_table)

        self.outcome_buttons: dict[Outcome, QPushButton] = {}
        outcomes = QGridLayout()
        for i, (outcome, key, weight) in enumerate(OUTCOME_ORDER):
            button = QPushButton(f"{outcome.label}\n[{key}]")
            button.setProperty("outcome", True)
            button.setProperty("weight", weight)
            button.setToolTip(f"{outcome.label}（{key}）")
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, o=outcome: self.choose(o))
            bind_key(self, key, lambda o=outcome: self.choose(o))
            outcomes.addWidget(button, 0, i)
            self.outcome_buttons[outcome] = button
        self.outcome_hint = QLabel("请先选择事项")
        self.outcome_hint.setObjectName("hint")
        self.outcome_hint.setWordWrap(True)

        right = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(self.mode_label, 1)
        self.new_button = QPushButton("新办件  [F2]")
        self.new_button.clicked.connect(self.new_case)
        head.addWidget(self.new_button)
        right.addLayout(head)
        right.addWidget(self._title("申请人"))
        right.addLayout(grid)
        right.addWidget(self.applicant_problems)
        right.addLayout(materials_bar)
        right.addWidget(self.table, 1)
        right.addWidget(self._title("受理决定（只可选择依法可作出的决定）"))
        right.addLayout(outcomes)
        right.addWidget(self.outcome_hint)
        right_box = QFrame()
        right_box.setObjectName("panel")
        right_box.setLayout(right)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_box)
        splitter.addWidget(right_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([460, 1000])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._search_enter)
        self.search.installEventFilter(self)
        self.results.itemActivated.connect(self._result_chosen)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.id_type.currentIndexChanged.connect(self._kind_changed)
        for field in (self.name, self.ident, self.phone, self.contact):
            field.editingFinished.connect(self._check_applicant_live)
        self._kind_changed()
        self.setTabOrder(self.search, self.results)
        self.setTabOrder(self.results, self.kind)
        self.setTabOrder(self.kind, self.id_type)
        self.setTabOrder(self.id_type, self.name)
        self.setTabOrder(self.name, self.ident)
        self.setTabOrder(self.ident, self.phone)
        self.setTabOrder(self.phone, self.contact)
        self.setTabOrder(self.contact, self.table)

    @staticmethod
    def _title(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("sectionTitle")
        return label

    # ------------------------------------------------------------------ state

    def new_case(self) -> None:
        """F2: clear everything for the next applicant."""
        self.case_id = None
        self.correcting = None
        self.item = None
        self.mode_label.setText("新办件")
        for field in (self.name, self.phone, self.contact):
            field.clear()
            field.setEnabled(True)
        self.ident.clear_value()
        self.ident.setEnabled(True)
        self.kind.setEnabled(True)
        self.kind.setCurrentIndex(0)
        self.id_type.setCurrentIndex(0)
        self.applicant_problems.clear()
        self.search.setEnabled(True)
        self.search.clear()
        self.results.clear()
        self.guide.setHtml("<p style='color:#5b6675'>按 F3 查找事项，回车选中后显示办事指南。</p>")
        self.table.setRowCount(0)
        self._rows = []
        self._update_outcomes()
        self.focus_search()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _focus_table(self) -> None:
        self.table.setFocus()
        if self.table.rowCount() and self.table.currentRow() < 0:
            self.table.selectRow(0)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_outcomes()
        self.busy_changed.emit(busy)

    @property
    def busy(self) -> bool:
        return self._busy

    def continue_correction(self, case: CaseView) -> None:
        """登记补正: the applicant brought the materials for a 待补正 case."""
        self.new_case()
        self.correcting = case
        self.case_id = case.id
        self.mode_label.setText(f"补正材料：{case.case_no}  {case.applicant_name}")
        # The applicant's details stay as registered (shown, not editable).
        self.kind.setCurrentIndex(max(0, self.kind.findData(case.applicant_kind)))
        self.id_type.setCurrentIndex(max(0, self.id_type.findData(case.applicant_id_type)))
        self.name.setText(case.applicant_name)
        self.phone.setText(case.applicant_phone)
        self.contact.setText(case.applicant_contact)
        self.ident.value = case.applicant_id_masked
        self.ident.setText(case.applicant_id_masked)
        for field in (self.name, self.ident, self.phone, self.contact, self.kind, self.id_type,
                      self.search):  # fmt: skip
            field.setEnabled(False)
        self.load_item(case.item_code)

    # ------------------------------------------------------------------ search

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if watched is self.search and key == Qt.Key.Key_Down and self.results.count():
                self.results.setFocus()
                self.results.setCurrentRow(0)
                return True
            if watched is self.table and key == Qt.Key.Key_Space:
                self.cycle_status(self.table.currentRow())
                return True
            if watched is self.table and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                row = self.table.currentRow()
                if 0 <= row < len(self._rows):
                    self._rows[row].note.setFocus()
                return True
        return super().eventFilter(watched, event)

    def _run_search(self) -> None:
        query = self.search.text().strip()
        self._search_generation += 1
        generation = self._search_generation
        if not query:
            self.results.clear()
            return
        ctx = self.ctx

        def done(hits: list[ItemHit]) -> None:
            if generation == self._search_generation:
                self._show_hits(hits)

        run_in_background(self, lambda: ctx.search_items(query), success=done, label="查找事项")

    def _show_hits(self, hits: list[ItemHit]) -> None:
        self.results.clear()
        for hit in hits:
            tag = "即办" if hit.instant else "承诺"
            if not hit.served_here:
                tag = "非本窗口事项，只能告知"
            entry = QListWidgetItem(f"{hit.name}\n    {hit.code} · {hit.department_name} · {tag}")
            if not hit.served_here:
                entry.setForeground(QColor("#8a6d3b"))
            entry.setData(Qt.ItemDataRole.UserRole, hit.code)
            self.results.addItem(entry)
        if not hits:
            entry = QListWidgetItem("没有找到匹配的事项，请换个关键词或拼音首字母")
            entry.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(entry)
        self.search_done.emit(len(hits))

    def _search_enter(self) -> None:
        # Enter right after typing: search now, then take the first hit.
        if self._search_timer.isActive():
            self._search_timer.stop()
            self._run_search()
            self.search_done.connect(self._take_first, Qt.ConnectionType.SingleShotConnection)
            return
        self._take_first()

    def _take_first(self, _n: int = 0) -> None:
        if self.results.count() and self.results.item(0).data(Qt.ItemDataRole.UserRole):
            self.results.setCurrentRow(0)
            self._result_chosen(self.results.item(0))

    def _result_chosen(self, entry: QListWidgetItem) -> None:
        code = entry.data(Qt.ItemDataRole.UserRole)
        if code:
            self.load_item(str(code))

    def load_item(self, code: str) -> None:
        intake = self.ctx.intake
        run_in_background(self, lambda: intake.item(code), success=self._item_loaded,
                          label="读取办事指南")  # fmt: skip

    def _item_loaded(self, item: ItemView) -> None:
        self.item = item
        self.guide.setHtml(guide_html(item))
        self._fill_checklist(item)
        if self.correcting is not None:
            self._apply_previous(self.correcting.previous_checks)
        self._update_outcomes()
        self.item_loaded.emit(item)
        if self.correcting is not None:
            self._focus_table()
        else:
            self.name.setFocus()

    # ------------------------------------------------------------------ applicant

    def _kind_changed(self) -> None:
        person = self._kind() is ApplicantKind.PERSON
        doc = self._id_type()
        self.id_type.setEnabled(person)
        self.ident.id_type = doc
        label = "身份证号" if doc is IdType.RESIDENT_ID else "证件号码"
        label = label if person else "统一社会信用代码"
        self.ident_label.setText(f"{label}(&I)：")
        self.ident.setPlaceholderText(doc.hint if person else "18 位统一社会信用代码")
        self.ident.set_masking(person)
        self.contact.setEnabled(not person)
        if self.ident.value or self.ident.text():
            self._check_applicant_live()

    def _id_type(self) -> IdType:
        return IdType(self.id_type.currentData())

    def _kind(self) -> ApplicantKind:
        # QComboBox hands enum data back as its plain value.
        return ApplicantKind(self.kind.currentData())

    def applicant(self) -> ApplicantInput:
        kind = self._kind()
        typed = self.ident.text().strip().upper()
        ident = self.ident.value if self.ident.is_masked() or not typed else typed
        return ApplicantInput(
            kind=kind,
            name=self.name.text().strip(),
            id_number=ident if kind is ApplicantKind.PERSON else "",
            uscc=ident if kind is ApplicantKind.ORGANISATION else "",
            phone=self.phone.text().strip(),
            contact_name=self.contact.text().strip(),
            id_type=self._id_type(),
        )

    def _check_applicant_live(self) -> None:
        """Mark the ID field as soon as it is wrong, before the clerk decides."""
        a = self.applicant()
        ident = a.id_number if a.kind is ApplicantKind.PERSON else a.uscc
        bad = bool(ident) and not (
            validate_document(a.id_type, ident)
            if a.kind is ApplicantKind.PERSON
            else validate_uscc(ident)
        )
        self.ident.setProperty("invalid", bad)
        repolish(self.ident)
        if bad:
            problems = [p for p in check_applicant(a) if "号码" in p or "代码" in p]
            self._live_problem = "；".join(problems)
            self.applicant_problems.setText(self._live_problem)
        elif self.applicant_problems.text() == self._live_problem:
            # Only what this check said: a refusal of a decision (a missing
            # phone after Ctrl+3) stays until the clerk has read it.
            self.applicant_problems.clear()

    # ------------------------------------------------------------------ materials

    def _fill_checklist(self, item: ItemView) -> None:
        self.table.setRowCount(0)
        self._rows = []
        self.table.setRowCount(len(item.materials))
        for r, m in enumerate(item.materials):
            name = QTableWidgetItem(f"{m.seq}. {m.name}")
            name.setToolTip(m.note or m.name)
            self.table.setItem(r, 0, name)
            self.table.setItem(r, 1, QTableWidgetItem(f"{m.form} {m.copies} 份"))
            tags = "必需" if m.required else "可选"
            if m.deferrable:
                tags += "·可容缺"
            self.table.setItem(r, 2, QTableWidgetItem(tags))
            status = QComboBox()
            for s in _STATUS_CYCLE:
                status.addItem(s.label, s)
            status.setCurrentIndex(0)
            status.currentIndexChanged.connect(lambda _i, row=r: self._status_changed(row))
            note = QLineEdit()
            note.setPlaceholderText("例如：复印件不清晰，需加盖公章")
            note.setMaxLength(200)
            note.textEdited.connect(lambda _t: self._update_outcomes())
            note.returnPressed.connect(self._focus_table)
            self.table.setCellWidget(r, 3, status)
            self.table.setCellWidget(r, 4, note)
            self._rows.append(_Row(m.id, status, note))
            self._paint_row(r)

    def _apply_previous(self, previous: tuple[MaterialCheck, ...]) -> None:
        """A returning applicant: what was received stays 已收; the rest is checked again."""
        by_id = {c.requirement_id: c for c in previous}
        first_to_check = -1
        for i, r in enumerate(self._rows):
            before = by_id.get(r.requirement_id)
            if before is not None and before.status is MaterialStatus.PRESENT:
                r.status.blockSignals(True)
                r.status.setCurrentIndex(_STATUS_CYCLE.index(MaterialStatus.PRESENT))
                r.status.blockSignals(False)
                r.note.setPlaceholderText("上次已收")
                self._paint_row(i)
                continue
            if before is not None:
                # Still 缺少 until the clerk checks what was brought.
                said = f"上次告知：{before.status.label}"
                said += f"，{before.note}" if before.note else ""
                r.note.setPlaceholderText(said)
                r.status.setToolTip(said)
                # Marked in the 要求 column: the name goes into the notice as it is.
                cell = self.table.item(i, 2)
                if cell is not None:
                    cell.setText(cell.text() + "·再次核对")
                    cell.setToolTip(said)
            if first_to_check < 0:
                first_to_check = i
        if first_to_check >= 0:
            self.table.selectRow(first_to_check)

    def _name(self, row: int) -> str:
        cell = self.table.item(row, 0)
        return cell.text() if cell is not None else ""

    def cycle_status(self, row: int) -> None:
        if 0 <= row < len(self._rows):
            combo = self._rows[row].status
            combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())

    def set_status(self, row: int, status: MaterialStatus, note: str = "") -> None:
        """Set one row's finding (the keyboard does the same with Space)."""
        r = self._rows[row]
        r.status.setCurrentIndex(_STATUS_CYCLE.index(status))
        if note:
            r.note.setText(note)
        self._update_outcomes()

    def mark_all_present(self) -> None:
        for r in self._rows:
            r.status.blockSignals(True)
            r.status.setCurrentIndex(_STATUS_CYCLE.index(MaterialStatus.PRESENT))
            r.status.blockSignals(False)
        for i in range(len(self._rows)):
            self._paint_row(i)
        self._update_outcomes()

    def _status_changed(self, row: int) -> None:
        self._paint_row(row)
        self._update_outcomes()

    def _paint_row(self, row: int) -> None:
        from PySide6.QtGui import QColor

        status = MaterialStatus(self._rows[row].status.currentData())
        colour = {
            MaterialStatus.PRESENT: QColor("#e6f4ea"),
            MaterialStatus.MISSING: QColor("#fff4e5"),
            MaterialStatus.NON_CONFORMING: QColor("#fde8e8"),
        }[status]
        for col in range(3):
            cell = self.table.item(row, col)
            if cell is not None:
                cell.setBackground(colour)

    def checks(self) -> tuple[MaterialCheck, ...]:
        return tuple(
            MaterialCheck(
                r.requirement_id, MaterialStatus(r.status.currentData()), r.note.text().strip()
            )
            for r in self._rows
        )

    # ------------------------------------------------------------------ outcomes

    def lawful(self) -> frozenset[Outcome]:
        if self.item is None:
            return frozenset()
        return lawful_outcomes(self.item, self.checks())

    def _update_outcomes(self) -> None:
        allowed = self.lawful()
        for outcome, button in self.outcome_buttons.items():
            button.setEnabled(outcome in allowed and not self._busy)
        if self.item is None:
            self.outcome_hint.setText("请先选择事项")
        elif not self.item.served_here:
            self.outcome_hint.setText(
                f"本事项由{self.item.department_name}办理，不在本窗口办理范围："
                "请作非本部门职责告知（Ctrl+5），告诉申请人有权部门、联系人和电话"
            )
        elif Outcome.INSTANT in allowed:
            self.outcome_hint.setText("材料齐全：即办件，请当场办结（Ctrl+6）")
        elif Outcome.ACCEPT in allowed:
            self.outcome_hint.setText("材料齐全：可以受理（Ctrl+1）")
        elif Outcome.CONDITIONAL in allowed:
            self.outcome_hint.setText(
                "仅缺可容缺材料：可容缺受理（申请人书面承诺限期补齐），或一次性告知补正"
            )
        else:
            self.outcome_hint.setText("材料不齐全或不符合要求：请一次性告知需要补正的全部材料")

    def choose(self, outcome: Outcome) -> None:
        """Take ``outcome`` (Ctrl+1…6): ask what it needs, then decide in the background."""
        if self._busy:
            self.outcome_hint.setText("正在处理上一步，请稍候")
            return
        if self.item is None:
            self.outcome_hint.setText("请先选择事项")
            return
        if outcome not in self.lawful():
            # By key the clerk sees no disabled button: say why, then what is possible.
            self._update_outcomes()
            if outcome is Outcome.ACCEPT and Outcome.INSTANT in self.lawful():
                # "当前不能受理：材料齐全：可以受理…" read as a contradiction.
                self.outcome_hint.setText("即办件不另作受理：材料齐全，请当场办结（Ctrl+6）")
            else:
                self.outcome_hint.setText(f"当前不能{outcome.label}：{self.outcome_hint.text()}")
            return
        if self.correcting is None:
            problems = check_applicant(
                self.applicant(), phone_required=phone_required_for(self.item)
            )
            if problems:
                # Focus first (leaving a field re-checks it), then the message,
                # on the field it is about: the same by key as by mouse.
                text = "；".join(problems)
                if not self.name.text().strip():
                    self.name.setFocus()
                elif "号码" in text or "代码" in text:
                    self.ident.setFocus()
                elif "电话" in problems[0]:
                    self.phone.setFocus()
                self.applicant_problems.setText(text)
                return
        checks = self.checks()
        if outcome is Outcome.ONE_TIME:
            unexplained = [
                self._name(i)
                for i, c in enumerate(checks)
                if c.status is MaterialStatus.NON_CONFORMING and not c.note
            ]
            if unexplained:
                self.outcome_hint.setText(
                    "请为不符合要求的材料写明问题（一次性告知须说清楚）：" + "、".join(unexplained)
                )
                return
        if outcome is Outcome.ACCEPT:
            self._confirm(outcome, lambda: self._decide(Accept(checks)))
        elif outcome is Outcome.INSTANT:
            self._confirm(outcome, lambda: self._decide(CompleteInstantly(checks)))
        elif outcome is Outcome.CONDITIONAL:
            self._ask_conditional(checks)
        elif outcome is Outcome.ONE_TIME:
            self._ask_one_time(checks)
        elif outcome is Outcome.REJECT:
            self._ask_reject()
        elif outcome is Outcome.REFER:
            self._ask_refer()

    def act_summary(self, outcome: Outcome) -> list[tuple[str, str]]:
        """What ``outcome`` will issue, to whom and for which item (the confirmation's rows)."""
        heading = _OUTCOME_DOCUMENTS.get(outcome)
        rows = [
            ("出具文书", f"{heading}（确定后编号）")
            if heading
            else ("记录事项", f"{outcome.label}（当场办结，结果交申请人）")
        ]
        if self.correcting is not None:
            who = f"{self.correcting.applicant_name}  {self.correcting.applicant_id_masked}"
            rows.append(("办件", self.correcting.case_no))
        else:
            a = self.applicant()
            ident = (
                mask_document_number(a.id_number)
                if a.kind is ApplicantKind.PERSON
                else a.uscc
            )
            who = f"{a.name}  {ident}".strip()
            rows.append(("办件", "新办件（确定后登记受理编号）"))
        rows.append(("申请人", who))
        if self.item is not None:
            rows.append(("事项", f"{self.item.name}（{self.item.code}）"))
        return rows

    def _confirm(self, outcome: Outcome, go: Callable[[], None]) -> None:
        """Ask before an act without a dialog of its own; Enter issues, Esc cancels."""
        if self.confirm_dialog is not None:
            return
        dialog = ConfirmActDialog(outcome.label, self.act_summary(outcome), self)
        self.confirm_dialog = dialog
        dialog.accepted.connect(go)
        dialog.finished.connect(lambda _r: setattr(self, "confirm_dialog", None))
        dialog.open()

    def _open_dialog(self, dialog: DecisionDialog, make: Callable[[], Decision]) -> None:
        self.decision_dialog = dialog
        dialog.accepted.connect(lambda: self._decide(make()))
        dialog.finished.connect(lambda _r: setattr(self, "decision_dialog", None))
        dialog.open()

    def _ask_conditional(self, checks: tuple[MaterialCheck, ...]) -> None:
        dialog = DecisionDialog("容缺受理", self)
        dialog.set_summary(self.act_summary(Outcome.CONDITIONAL))
        days = QSpinBox()
        # Owed materials are due by the promised date (the case cannot be
        # completed without them): the field offers no longer period.
        longest = max(1, self.item.promised_days) if self.item else 60
        days.setRange(1, longest)
        days.setValue(min(int(self.ctx.config.get("intake.supplement_days")), longest))
        days.setSuffix(" 个工作日")
        days.setToolTip(f"最长 {longest} 个工作日：办结前须补齐容缺材料")
        commitment = QPlainTextEdit()
        commitment.setPlaceholderText("留空使用标准承诺书文字")
        commitment.setMaximumHeight(90)
        owed = [
            self._name(i)
            for i, c in enumerate(checks)
            if c.status is MaterialStatus.MISSING and self.item and self.item.materials[i].required
        ]
        dialog.form.addRow(QLabel("容缺材料：" + "、".join(owed)))
        dialog.add("days", "补齐期限(&D)：", days)
        dialog.add("commitment", "申请人承诺(&C)：", commitment)
        self._open_dialog(
            dialog,
            lambda: ConditionalAccept(checks, days.value(), commitment.toPlainText().strip()),
        )

    def _ask_one_time(self, checks: tuple[MaterialCheck, ...]) -> None:
        dialog = DecisionDialog("一次性告知补正", self)
        dialog.set_summary(self.act_summary(Outcome.ONE_TIME))
        days = QSpinBox()
        days.setRange(1, 60)
        days.setValue(int(self.ctx.config.get("intake.correction_days")))
        days.setSuffix(" 个工作日")
        short = [
            self._name(i) + (f"（{c.note}）" if c.note else "")
            for i, c in enumerate(checks)
            if c.status is not MaterialStatus.PRESENT
            and self.item
            and self.item.materials[i].required
        ]
        listing = QLabel("需补正的全部材料：\n" + "\n".join(short))
        listing.setWordWrap(True)
        dialog.form.addRow(listing)
        dialog.add("days", "补正期限(&D)：", days)
        new = (
            new_demands(self.item, checks, self.correcting.demanded_before)
            if self.correcting is not None and self.item is not None
            else ()
        )
        if not new:
            self._open_dialog(dialog, lambda: OneTimeNotice(checks, days.value()))
            return
        # 一次性告知: a later notice may not demand what the first did not,
        # unless the materials just brought caused it. Say so before it is recorded.
        warning = QLabel(
            "注意：以下材料首次一次性告知中没有要求：" + "、".join(new) + "。"
            "一次性告知只能告知一次；如确因申请人本次新提交的材料引起，请写明原因，"
            "否则出具后将记为违反一次性告知规定。"
        )
        warning.setObjectName("error")
        warning.setWordWrap(True)
        reason = QLineEdit()
        reason.setMaxLength(200)
        reason.setPlaceholderText("例如：新提交的租赁合同载明的地址与营业执照不一致")
        dialog.form.addRow(warning)
        dialog.add("new_demands", "新增要求：", QLabel("、".join(new)))
        dialog.add("new_reason", "新增原因(&W)：", reason)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)

        def relabel() -> None:
            ok.setText(
                "确定并出具文书  [Ctrl+Enter]"
                if reason.text().strip()
                else "仍然出具（记为违反一次性告知）  [Ctrl+Enter]"
            )

        reason.textChanged.connect(lambda _t: relabel())
        relabel()
        demanded_before = set(self.correcting.demanded_before) if self.correcting else set()
        new_ids = {
            m.id
            for m in (self.item.materials if self.item else ())
            if m.name in set(new) and m.id not in demanded_before
        }

        def make() -> OneTimeNotice:
            why = reason.text().strip()
            if not why:
                return OneTimeNotice(checks, days.value())
            marked = tuple(
                MaterialCheck(c.requirement_id, c.status, c.note, why)
                if c.requirement_id in new_ids
                else c
                for c in checks
            )
            return OneTimeNotice(marked, days.value())

        self._open_dialog(dialog, make)

    def _ask_reject(self) -> None:
        dialog = DecisionDialog("不予受理", self)
        dialog.set_summary(self.act_summary(Outcome.REJECT))
        reasons = QPlainTextEdit()
        reasons.setPlaceholderText("每行一条理由，例如：申请事项依法不需要取得行政许可")
        basis = QLineEdit(self.item.legal_basis if self.item else "")
        dialog.add("reasons", "不予受理理由(&R)：", reasons)
        dialog.add("basis", "法律依据(&B)：", basis)

        def lines() -> tuple[str, ...]:
            return tuple(x.strip() for x in reasons.toPlainText().splitlines() if x.strip())

        dialog.validator = lambda: (
            "请写明不予受理的理由"
            if not lines()
            else ("请写明法律依据" if not basis.text().strip() else "")
        )
        self._open_dialog(dialog, lambda: Reject(lines(), basis.text().strip()))
        reasons.setFocus()

    def _ask_refer(self) -> None:
        dialog = DecisionDialog("非本部门职责告知", self)
        dialog.set_summary(self.act_summary(Outcome.REFER))
        department = QComboBox()
        contact = QComboBox()
        note = QLineEdit()
        own = bool(self.item and self.item.served_here)
        note.setPlaceholderText(
            "本窗口的事项：写明为何不属于本部门职责（例如属上级机关权限）"
            if own
            else "告知申请人的补充说明（可选）"
        )
        issuer = QLabel("正在读取…")
        issuer.setWordWrap(True)
        dialog.add("issuer", "告知机关（出具并盖章）：", issuer)
        dialog.add("department", "有权办理的部门(&D)：", department)
        dialog.add("contact", "联系人(&P)：", contact)
        dialog.add("note", "说明(&N)：", note)
        item_code = self.item.code if self.item else None
        directory: dict[str, list[tuple[str, str, str, str]]] = {}

        def fill_contacts() -> None:
            # The notice names the person who will handle it (seed 000 §六):
            # the department's people only, the first chosen.
            contact.clear()
            for cid, name, title, phone in directory.get(department.currentData(), []):
                contact.addItem(f"{name} {title} {phone}".strip(), cid)
            if not contact.count() and department.currentData():
                contact.addItem("（该部门通讯录中没有联系人）", None)

        def loaded(choices: ReferralChoices) -> None:
            # The notice says the matter is not the *issuer's* duty: the issuer
            # (this window's department, or the hall) is never in the list.
            issuer.setText(choices.issuer_name)
            department.blockSignals(True)
            department.addItem("（请选择有权办理的部门）", None)
            for code, name, contacts in choices.departments:
                directory[code] = contacts
                department.addItem(name, code)
            if choices.default_code is not None:
                department.setCurrentIndex(max(0, department.findData(choices.default_code)))
            department.blockSignals(False)
            fill_contacts()

        department.currentIndexChanged.connect(lambda _i: fill_contacts())
        def problem() -> str:
            if not department.currentData():
                return "请选择有权办理的部门"
            if contact.currentData() is None:
                return "该部门通讯录中没有联系人：告知书须写明承办的具体工作人员及联系电话"
            if own and not note.text().strip():
                return "本窗口办理的事项：请在“说明”中写明为何不属于本部门职责"
            return ""

        dialog.validator = problem
        intake = self.ctx.intake
        run_in_background(dialog, lambda: intake.referral_choices(item_code), success=loaded,
                          label="读取部门通讯录")  # fmt: skip
        self._open_dialog(
            dialog,
            lambda: Refer(department.currentData(), contact.currentData(), note.text().strip()),
        )

    # ------------------------------------------------------------------ deciding

    def _decide(self, decision: Decision) -> None:
        if self._busy:
            return
        self._set_busy(True)
        intake, clerk_id = self.ctx.intake, self.ctx.clerk_id
        if self.case_id is None:
            assert self.item is not None
            code, applicant = self.item.code, self.applicant()

            def opened(case: CaseView) -> None:
                # Keep the case: if the decision fails now, a retry decides on it.
                self.case_id = case.id
                self.mode_label.setText(f"办件 {case.case_no}")
                self.case_opened.emit(case)
                self._set_busy(False)
                self._decide(decision)

            run_in_background(
                self, lambda: intake.open_case(clerk_id, code, applicant),
                success=opened, failure=self._failed, label="收件登记",
            )  # fmt: skip
            return
        case_id, correcting = self.case_id, self.correcting
        checks = getattr(decision, "checks", None)

        def work() -> DecisionResult:
            if correcting is not None and checks is not None:
                # The materials arrived; record them first (the clock restarts).
                current = intake.case_view(case_id)
                if current.status.value == "awaiting_correction":
                    intake.record_correction(case_id, clerk_id, checks)
            return intake.decide(case_id, clerk_id, decision)

        run_in_background(self, work, success=self._decided, failure=self._failed,
                          label="作出受理决定")  # fmt: skip

    def _decided(self, result: DecisionResult) -> None:
        self._set_busy(False)
        log.info("decided %s: %s", result.case.case_no, result.case.status)
        self.decided.emit(result)
        self.new_case()

    def _failed(self, exc: BaseException) -> None:
        from hallapp.ui.errors import show_error, user_message

        self._set_busy(False)
        show_error(self, user_message(exc, "受理决定"), logged=True)
