"""Bad input is refused where it is entered: config ranges, codes, crash inputs.

Each case here crashed or was accepted before (a correction limit of 10^9
days, a time-out of 0 s, a full-width window code, a config with a number of
thousands of digits, a data folder that cannot be written), and now gets one
Chinese message naming the key, the value and the allowed range, and changes
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hallapp.cli import main
from hallapp.config import SETTINGS, ConfigError, load_config

SAMPLE = Path(__file__).parents[2] / "resources" / "catalog.toml"


@pytest.fixture
def sample_catalog() -> Path:
    return SAMPLE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hallapp.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "key", "value", "allowed"),
    [
        ("intake", "correction_days", "1000000000", "1–60"),
        ("intake", "correction_days", "0", "1–60"),
        ("intake", "supplement_days", "61", "1–60"),
        ("intake", "due_soon_days", "-1", "0–30"),
        ("evaluator", "timeout_seconds", "0", "1–600"),
        ("evaluator", "timeout_seconds", "86400", "1–600"),
        ("evaluator", "baudrate", "0", "1200–115200"),
    ],
)
def test_config_numbers_have_ranges(
    tmp_path: Path, section: str, key: str, value: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f"[{section}]\n{key} = {value}\n"))
    message = str(info.value)
    assert f"配置项 {section}.{key}" in message
    assert f"值 {value} 超出允许范围 {allowed}" in message


def test_every_number_setting_has_a_range() -> None:
    for setting in SETTINGS:
        if setting.type is int:
            assert setting.bounds is not None, setting.key
            low, high = setting.bounds
            assert low <= setting.default <= high


def test_config_text_lengths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hall\.name.*长度 5000 字，超出允许范围 0–100 字"):
        load_config(write(tmp_path, f'[hall]\nname = "{"厅" * 5000}"\n'))


def test_window_and_hall_codes_are_normalised_or_refused(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[window]\ncode = "Ａ０３"\n[hall]\ncode = "ＬＣ"\n'))
    assert (cfg.window_code, cfg.hall_code) == ("A03", "LC")
    with pytest.raises(ConfigError, match="U\\+200B（零宽空格）"):
        load_config(write(tmp_path, '[window]\ncode = "A03\u200b"\n'))
    # str.isalnum() says yes to 甲 and the Arabic-Indic ٣; a case number stays ASCII.
    for bad in ("甲03", "A-03", "٣"):
        with pytest.raises(ConfigError, match="1–8 位英文字母或数字"):
            load_config(write(tmp_path, f'[window]\ncode = "{bad}"\n'))


@pytest.mark.parametrize(
    "text",
    [
        "[intake]\ncorrection_days = " + "9" * 5000 + "\n",
        "[evaluator]\nkeymap = { a = " + "[" * 5000 + "]" * 5000 + " }\n",
    ],
    ids=["thousands-of-digits", "deeply-nested"],
)
def test_config_that_crashed_the_parser(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="配置文件"):
        load_config(path)
    # And through the command, without a traceback.
    assert main(["--config", str(path), "workdays", "add", "2026-02-13", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("配置错误：配置文件") and "Traceback" not in err


# ------------------------------------------------------------- the data folder


def _cli(tmp_path: Path, local_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "window.toml"
    config.write_text(f'[store]\nlocal_path = "{local_path}"\n', encoding="utf-8")
    env = {**os.environ, "HALLAPP_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "hallapp", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_data_folder_under_a_file(tmp_path: Path, sample_catalog: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    result = _cli(
        tmp_path, blocker / "data" / "w.sqlite3", "catalog", "import", str(sample_catalog)
    )
    assert result.returncode == 2
    assert "数据文件夹" in result.stderr and "路径中有一段是文件而不是文件夹" in result.stderr
    assert "local_path" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody may write: a read-only tmpfs as root, else chmod 555."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("running as root without the right to mount a read-only tmpfs")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_a_read_only_data_folder(
    tmp_path: Path, read_only_folder: Path, sample_catalog: Path
) -> None:
    for db in (read_only_folder / "w.sqlite3", read_only_folder / "sub" / "w.sqlite3"):
        result = _cli(tmp_path, db, "catalog", "import", str(sample_catalog))
        assert result.returncode == 2, result.stderr
        assert "数据文件夹" in result.stderr and "Traceback" not in result.stderr
        assert (
            "不可写" in result.stderr
            or "只读文件系统" in result.stderr
            or "没有权限" in result.stderr
        )
        assert not db.exists()
