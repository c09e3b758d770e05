"""``hallapp central grant-window | grant-supervisor | revoke-login`` as a person runs them.

The password must never show: not on the terminal, not in the log (also
with -v), not in an error. The server gets only its SCRAM verifier.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres

SECRET = "Zq8-very-secret-Window-pass"


def hallapp(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hallapp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def log_text() -> str:
    folder = Path(os.environ["HALLAPP_LOG_DIR"])
    return "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.log*"))


def no_secret_anywhere(proc: subprocess.CompletedProcess[str], secret: str = SECRET) -> None:
    assert secret not in proc.stdout
    assert secret not in proc.stderr
    assert secret not in log_text()
    assert "Traceback" not in proc.stderr


def verifier(url: str, login: str) -> str | None:
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return c.execute(
                sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": login}
            ).scalar()
    finally:
        eng.dispose()


def scram_matches(stored: str, password: str) -> bool:
    import base64
    import hashlib
    import hmac

    _scheme, rest = stored.split("$", 1)
    iter_salt, keys = rest.split("$")
    iterations, salt = iter_salt.split(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == base64.b64decode(keys.split(":")[0])


def test_grant_window_with_password_from_environment(seeded_central):
    proc = hallapp(
        "-v",
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A05",
        "--url",
        seeded_central,
        "--password-env",
        "WIN_PW",
        env={"WIN_PW": SECRET},
    )
    assert proc.returncode == 0, proc.stderr
    db = make_url(seeded_central).database
    login = f"{db}_lc_a05"
    assert f"已为大厅 LC 窗口 A05 发放中心库登录 {login}" in proc.stdout
    assert f"//{login}@127.0.0.1:5432/{db}" in proc.stdout  # the window's URL, no password
    no_secret_anywhere(proc)
    stored = verifier(seeded_central, login)
    assert stored and stored.startswith("SCRAM-SHA-256$") and scram_matches(stored, SECRET)


def test_grant_window_generates_a_pgpass_line(seeded_central, tmp_path):
    pgpass = tmp_path / "win" / "pgpass.conf"
    proc = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A06",
        "--url",
        seeded_central,
        "--pgpass",
        str(pgpass),
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600  # libpq ignores a readable one
    host, port, db, login, password = pgpass.read_text(encoding="utf-8").strip().split(":")
    assert (host, port, db) == ("127.0.0.1", "5432", make_url(seeded_central).database)
    assert len(password) >= 24
    no_secret_anywhere(proc, password)
    assert scram_matches(verifier(seeded_central, login) or "", password)
    # Granting again changes the password and keeps one line per login.
    again = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A06",
        "--url",
        seeded_central,
        "--pgpass",
        str(pgpass),
    )
    assert again.returncode == 0, again.stderr
    lines = pgpass.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].split(":")[4] != password


def test_unknown_window_is_refused_without_the_password(seeded_central):
    proc = hallapp(
        "-v",
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "Z99",
        "--url",
        seeded_central,
        "--password-env",
        "WIN_PW",
        env={"WIN_PW": SECRET},
    )
    assert proc.returncode == 1
    assert "中心库没有大厅 LC 的窗口 Z99" in proc.stderr
    no_secret_anywhere(proc)


def test_a_login_cannot_move_to_another_window(seeded_central):
    args = ("--url", seeded_central, "--password-env", "WIN_PW", "--login", "lc_front_desk")
    env = {"WIN_PW": SECRET}
    first = hallapp("central", "grant-window", "--hall", "LC", "--window", "A05", *args, env=env)
    assert first.returncode == 0, first.stderr
    moved = hallapp("central", "grant-window", "--hall", "LC", "--window", "A06", *args, env=env)
    assert moved.returncode == 1
    assert "不能改发给别的窗口" in moved.stderr
    no_secret_anywhere(moved)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hall", "L C", "--window", "A05"), "大厅代码 'L C' 不合法"),
        (("--hall", "LC", "--window", "A05;drop"), "窗口编号 'A05;drop' 不合法"),
        (("--hall", "LC", "--window", "A05", "--login", "Robert'); DROP"), "登录名"),
    ],
)
def test_bad_codes_are_refused(seeded_central, args, message):
    proc = hallapp(
        "central",
        "grant-window",
        *args,
        "--url",
        seeded_central,
        "--password-env",
        "WIN_PW",
        env={"WIN_PW": SECRET},
    )
    assert proc.returncode == 1
    assert message in proc.stderr
    no_secret_anywhere(proc)


def test_short_password_is_refused(seeded_central):
    proc = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A05",
        "--url",
        seeded_central,
        "--password-env",
        "WIN_PW",
        env={"WIN_PW": "short"},
    )
    assert proc.returncode == 1
    assert "口令太短" in proc.stderr


def test_a_password_source_is_required(seeded_central):
    proc = hallapp(
        "central", "grant-window", "--hall", "LC", "--window", "A05", "--url", seeded_central
    )
    assert proc.returncode == 2
    assert "--password-env" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_environment_variable_is_refused(seeded_central):
    proc = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A05",
        "--url",
        seeded_central,
        "--password-env",
        "NOT_SET_ANYWHERE_42",
    )
    assert proc.returncode == 2
    assert "环境变量 NOT_SET_ANYWHERE_42 没有设置或为空" in proc.stderr


def test_unreachable_centre_is_a_message_not_a_traceback(refused_url, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(SECRET + "\n", encoding="utf-8")
    proc = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A05",
        "--url",
        refused_url,
        "--password-file",
        str(pw),
    )
    assert proc.returncode == 1
    assert "无法连接中心库" in proc.stderr
    no_secret_anywhere(proc)


def test_sqlite_central_has_no_roles(tmp_path):
    proc = hallapp(
        "central",
        "grant-window",
        "--hall",
        "LC",
        "--window",
        "A05",
        "--url",
        f"sqlite:///{tmp_path / 'central.sqlite3'}",
        "--password-env",
        "WIN_PW",
        env={"WIN_PW": SECRET},
    )
    assert proc.returncode == 1
    assert "只有 PostgreSQL 中心库有数据库角色" in proc.stderr


def test_grant_supervisor_and_revoke(seeded_central):
    env = {"SUP_PW": SECRET}
    db = make_url(seeded_central).database
    login = f"{db}_sup"
    proc = hallapp(
        "central",
        "grant-supervisor",
        "--login",
        login,
        "--hall",
        "LC",
        "--url",
        seeded_central,
        "--password-env",
        "SUP_PW",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "监督管理人员（LC）" in proc.stdout
    no_secret_anywhere(proc)
    assert verifier(seeded_central, login)
    gone = hallapp("central", "revoke-login", login, "--url", seeded_central)
    assert gone.returncode == 0, gone.stderr
    assert verifier(seeded_central, login) is None
    eng = sa.create_engine(seeded_central)
    with eng.connect() as c:
        assert (
            c.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}).scalar()
            is None
        )
    eng.dispose()
    again = hallapp("central", "revoke-login", login, "--url", seeded_central)
    assert again.returncode == 1 and "没有发放过登录" in again.stderr


def _with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def test_the_owners_password_in_the_url_never_reaches_the_windows_address(
    seeded_central, tmp_path
):
    """The address printed for the window's PC carries the window's login and
    no password: the owner's, given in --url, must not ride along."""
    owner_secret = "OWNER-secret-in-url-77"
    for login_args in (
        ("grant-window", "--hall", "LC", "--window", "A05",
         "--pgpass", str(tmp_path / "a05.pgpass")),
        ("grant-supervisor", "--login", "lc_sup_url", "--hall", "LC",
         "--password-env", "SUP_PW"),
    ):  # fmt: skip
        owner_url = _with_password(seeded_central, owner_secret)
        proc = hallapp("central", *login_args, "--url", owner_url, env={"SUP_PW": SECRET})
        assert proc.returncode == 0, proc.stderr
        assert "连接地址" in proc.stdout or "登录" in proc.stdout
        no_secret_anywhere(proc, owner_secret)
        no_secret_anywhere(proc)


def test_a_join_with_a_password_in_the_url_keeps_no_password_at_the_window(
    seeded_central, tmp_path
):
    import sqlite3

    from hallapp.sync.centre import bump_version

    owner = sa.create_engine(seeded_central)
    with owner.begin() as c:
        bump_version(c, "LC")  # the seeded reference data, as authoring would
    owner.dispose()
    pgpass = tmp_path / "a05.pgpass"
    granted = hallapp("central", "grant-window", "--hall", "LC", "--window", "A05",
                      "--url", seeded_central, "--pgpass", str(pgpass))  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    host, port, db, login, password = pgpass.read_text(encoding="utf-8").strip().split(":")
    url = f"postgresql+psycopg://{login}:{password}@{host}:{port}/{db}"
    local = tmp_path / "a05.sqlite3"
    proc = hallapp("window", "join", "--central", url, "--hall", "LC", "--window", "A05",
                   "--db", f"sqlite:///{local}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "密码没有保存在本窗口" in proc.stderr
    no_secret_anywhere(proc, password)
    with sqlite3.connect(local) as c:
        kept = "".join(str(v) for (v,) in c.execute("SELECT value FROM sync_state"))
    assert password not in kept and f"//{login}@{host}:{port}/{db}" in kept
    # The next pass finds the password where the README says: the pgpass file.
    again = hallapp("sync", "--db", f"sqlite:///{local}", env={"PGPASSFILE": str(pgpass)})
    assert again.returncode == 0, again.stderr


def test_a_password_with_an_unescaped_at_sign_is_refused_and_not_shown(tmp_path):
    proc = hallapp("window", "join", "--central",
                   "postgresql+psycopg://u:SECRET@pw4@127.0.0.1:5432/db",
                   "--hall", "LC", "--window", "A05",
                   "--db", f"sqlite:///{tmp_path / 'w.sqlite3'}")  # fmt: skip
    assert proc.returncode != 0
    assert "%40" in proc.stderr
    for part in ("SECRET", "pw4"):
        assert part not in proc.stderr and part not in proc.stdout
    assert not (tmp_path / "w.sqlite3").exists()
