"""The config file: one TOML; a broken one names the key and the fix."""

from __future__ import annotations

import pytest

from hallapp.config import ConfigError, load_config


def write(tmp_path, text: str):
    path = tmp_path / "hallapp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_is_read(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            """
[hall]
code = "LC"
name = "连城县行政服务中心"
[window]
code = "B02"
[store]
central_url = "postgresql+psycopg://hall@10.0.0.5/hall"
[evaluator]
port = "/dev/ttyUSB0"
protocol = "keycode"
keymap = { "1" = 4, "2" = 3, "3" = 2, "4" = 5, "0" = 0 }
[printing]
a4_printer = "HP_LaserJet"
slip_printer = "XP-80C"
""",
        )
    )
    assert cfg.window_code == "B02"
    assert cfg.get("evaluator.protocol") == "keycode"
    assert cfg.get("evaluator.keymap")["4"] == 5
    assert cfg.get("printing.slip_printer") == "XP-80C"
    assert cfg.get("evaluator.baudrate") == 9600  # default
    assert cfg.local_db_path().name == "hallapp-B02.sqlite3"


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("HALLAPP_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_config().window_code == "A03"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[window]\ncode = 3\n", "window.code"),
        ('[window]\ncode = "A-03!"\n', "window.code"),
        ('[evaluator]\nprotocol = "bluetooth"\n', "framed、keycode"),
        ('[evaluator]\nbaudrate = "fast"\n', "evaluator.baudrate"),
        # In range but no device's rate: 评价器无响应 would point at the cable.
        ("[evaluator]\nbaudrate = 96000\n", "不是标准波特率"),
        ("[evaluator]\nbaudrate = 1234\n", "9600、14400、19200"),
        ('[evaluator]\nkeymap = { "1" = 9 }\n', "evaluator.keymap"),
        ('[printer]\nname = "x"\n', "[printer]"),
        ('[printing]\npaper = "a4"\n', "printing.paper"),
        ('[window\ncode = "A03"\n', "TOML"),
        # In Chinese, with where (the parser's English stays in the log).
        ('[window\ncode = "A03"\n', "第 1 行第 8 列附近表头 [ … ] 缺少右方括号"),
        ("[hall]\nname = 连城\n", "第 2 行第 8 列附近值无效（文字要加英文双引号"),
        # Every 受理 would fail on it later: refused where it is written.
        ('[printing]\nqr_url_template = "https://x/q"\n', "{case_no}"),
        ('[printing]\nqr_url_template = "x {case_no}"\n', "http"),
        ('[hall]\nname = "  "\n', "不能为空"),
        ('[hall]\ncomplaint_hotline = "123\u202e45"\n', "不可见"),
    ],
)
def test_a_broken_config_names_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert expected in str(err.value)


def test_an_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_config(tmp_path / "nope.toml")


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    # Notepad on Windows saves UTF-8 with a BOM.
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[window]\ncode = \"A07\"\n".encode())
    assert load_config(path).get("window.code") == "A07"


@pytest.mark.parametrize("rate", [1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200])
def test_every_standard_baud_rate_is_taken(tmp_path, rate):
    assert load_config(write(tmp_path, f"[evaluator]\nbaudrate = {rate}\n")).get(
        "evaluator.baudrate"
    ) == rate
