"""``hallapp-supervisor``: the supervisor view on an office PC (no evaluator, no printer).

    hallapp-supervisor                          # the central store of the config
    hallapp-supervisor --db postgresql+psycopg://hall@central/hall [--hall LC]
    hallapp-supervisor --db /path/central.sqlite3

A supervisor or administrator signs in (a clerk is refused: the figures and
the follow-up work are theirs); then :class:`SupervisorWindow` shows the view.
At a window client the same window opens when a supervisor signs in there.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from hallapp.ui.ops import run_in_background
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hallapp.config import Config
from hallapp.duty import StaffView
from hallapp.store import Store

log = logging.getLogger(__name__)


class SupervisorWindow(QMainWindow):
    def __init__(
        self,
        store: Store,
        config: Config,
        supervisor: StaffView,
        *,
        hall: str | None = None,
        projects: bool = False,
    ) -> None:
        super().__init__()
        from hallapp.ui.supervisor import SupervisorView

        self.setWindowTitle(f"{config.hall_name} — 好差评统计与整改督办")
        self.view = SupervisorView(store, config, supervisor, self, hall=hall)
        self.projects: Any = None
        if not projects:
            self.setCentralWidget(self.view)
        else:
            # On the central store supervisors also see the key projects'
            # 卡点 (倒查) and the 测评 discipline list.
            from PySide6.QtWidgets import QTabWidget

            tabs = QTabWidget(self)
            tabs.addTab(self.view, "好差评统计与整改督办")
            self.projects = _projects_view(store, config, supervisor, hall, tabs)
            tabs.addTab(self.projects, "重点项目代办")
            self.setCentralWidget(tabs)
        self.resize(1500, 900)


def _projects_view(
    store: Store, config: Config, staff: StaffView, hall: str | None, parent: QWidget
) -> Any:
    from hallapp.ui.projects import ProjectsView

    from hallapp.projects.register import ProjectActor

    actor = ProjectActor(
        staff_id=staff.id, staff_no=staff.staff_no, name=staff.name, role=staff.role.value,
        department_code=staff.department_code,
    )
    return ProjectsView(store.engine, hall or config.hall_code, config.hall_name, actor, parent)


class ProjectsWindow(QMainWindow):
    """What a 代办员 signs in to: their key projects (重点项目代办)."""

    def __init__(
        self, store: Store, config: Config, agent: StaffView, *, hall: str | None = None
    ) -> None:
        super().__init__()
        self.setWindowTitle(f"{config.hall_name} — 重点项目代办")
        self.view = _projects_view(store, config, agent, hall, self)
        self.setCentralWidget(self.view)
        self.resize(1500, 900)


def is_central_store(store: Store) -> bool:
    """Whether ``store`` is a central store (key projects live only there)."""
    from hallapp.sync.centre import central_revision

    with store.engine.connect() as conn:
        return central_revision(conn) is not None


def _staff_view(staff: Any) -> StaffView:
    from hallapp.models import Role

    return StaffView(
        id=staff.id,
        staff_no=staff.staff_no,
        name=staff.name,
        title=staff.title,
        phone=staff.phone,
        role=Role(staff.role),
        department_code=staff.department_code,
        department_name=staff.department.name if staff.department else "",
    )


def authenticate_supervisor(
    store: Store, staff_no: str, password: str, *, hall: str | None = None
) -> StaffView:
    """Check the password and that the person is a supervisor or administrator
    (of ``hall`` on a central store, where staff numbers repeat from hall to hall)."""
    from hallapp import audit
    from hallapp.models import Role
    from hallapp.security import PermissionDenied, authenticate

    with store.session() as s:
        staff = authenticate(s, staff_no, password, hall_code=hall)
        if Role(staff.role) not in {*audit.audited_roles(), Role.AGENT}:
            raise PermissionDenied(
                "此处只供监督管理人员、系统管理员和重点项目代办员登录；"
                "窗口工作人员请在窗口客户端登录"
            )
        return _staff_view(staff)


class SupervisorSignIn(QWidget):
    signed_in = Signal(object)  # StaffView

    def __init__(
        self,
        store: Store,
        config: Config,
        parent: QWidget | None = None,
        *,
        hall: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.hall = store, hall
        self.setWindowTitle(f"{config.hall_name} — 监督管理登录")
        self.staff_no = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.button = QPushButton("登录", self)
        self.message = QLabel(self)
        self.message.setStyleSheet("color: #a61b1b;")
        form = QFormLayout()
        form.addRow("工号", self.staff_no)
        form.addRow("密码", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<h2>{config.hall_name}</h2><p>好差评统计与整改督办</p>", self))
        layout.addLayout(form)
        layout.addWidget(self.button)
        layout.addWidget(self.message)
        self.button.clicked.connect(self.submit)
        self.password.returnPressed.connect(self.submit)
        self.resize(420, 260)

    def submit(self) -> None:
        staff_no, password = self.staff_no.text().strip(), self.password.text()
        if not staff_no or not password:
            self.message.setText("请输入工号和密码")
            return
        self.button.setEnabled(False)
        store, hall = self.store, self.hall

        def failed(exc: BaseException) -> None:
            from hallapp.ui.errors import user_message

            self.button.setEnabled(True)
            self.password.clear()
            self.message.setText(user_message(exc, "登录"))

        def done(staff: StaffView) -> None:
            self.button.setEnabled(True)
            self.password.clear()
            self.signed_in.emit(staff)

        run_in_background(
            self,
            lambda: authenticate_supervisor(store, staff_no, password, hall=hall),
            success=done,
            failure=failed,
            label="登录",
        )


def _parser() -> argparse.ArgumentParser:
    from hallapp.cli import help_in_chinese

    help_in_chinese()
    p = argparse.ArgumentParser(
        prog="hallapp-supervisor", description="好差评统计与整改督办（监督管理人员）"
    )
    p.add_argument("--config", metavar="FILE", help="配置文件（TOML）")
    p.add_argument(
        "--db", metavar="URL", help="中心库地址或 SQLite 文件；默认配置 store.central_url"
    )
    p.add_argument("--hall", metavar="CODE", help="中心库中只看这个大厅")
    p.add_argument("--verbose", action="store_true", help="日志记录调试信息")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    from hallapp.ui.errors import install_crash_handler, show_error

    from hallapp.config import ConfigError, load_config
    from hallapp.logsetup import setup_logging
    from hallapp.store import StoreError, sqlite_url

    install_crash_handler(setup_logging(verbose=args.verbose))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(
        [sys.argv[0] if sys.argv else "hallapp-supervisor"]
    )
    assert isinstance(app, QApplication)
    app.setApplicationName("HallApp")
    app.setApplicationDisplayName("好差评统计与整改督办")
    from hallapp.ui.theme import apply_theme

    apply_theme(app)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        show_error(None, str(exc))
        return 2
    url = args.db or str(config.get("store.central_url")) or sqlite_url(config.local_db_path())
    if "://" not in url:
        url = sqlite_url(url)
    from hallapp.dberrors import missing_sqlite_file

    if missing := missing_sqlite_file(url):
        log.warning("supervisor view: no database file %s", missing)
        show_error(None, f"找不到数据库文件 {missing}：请检查 --db 的路径或配置文件中的中心库地址")
        return 3
    try:
        store = Store.open(url)
    except StoreError as exc:
        show_error(None, str(exc))
        return 3
    from hallapp.sync.run import HallChoiceError, hall_for, with_hall_settings

    try:
        # A window's own database: one hall, no hall code (None).
        args.hall = hall_for(store, args.hall)
    except HallChoiceError as exc:
        show_error(None, str(exc))
        store.dispose()
        return 2
    # The hall's definitions and limits as set at the centre (central settings).
    config = with_hall_settings(config, store, hall=args.hall)
    signin = SupervisorSignIn(store, config, hall=args.hall)
    windows: list[QMainWindow] = []
    try:
        central = is_central_store(store)
    except Exception as exc:  # a store that cannot be read: said once, at start
        log.exception("cannot tell whether %s is a central store", url)
        from hallapp.ui.errors import user_message

        show_error(None, user_message(exc, "打开数据库"))
        return 3

    def open_view(staff: StaffView) -> None:
        from hallapp.models import Role

        window: QMainWindow
        if staff.role is Role.AGENT:
            if not central:
                signin.message.setText("重点项目代办只在中心库上办理：请用 --db 指定中心库地址")
                return
            window = ProjectsWindow(store, config, staff, hall=args.hall)
        else:
            window = SupervisorWindow(store, config, staff, hall=args.hall, projects=central)
        windows.append(window)
        window.show()
        signin.close()

    signin.signed_in.connect(open_view)
    signin.show()
    try:
        return int(app.exec())
    finally:
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
