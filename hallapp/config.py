"""The window's configuration: one TOML file, every setting declared once.

The file is found with ``--config`` or in the platform's config folder
(platformdirs). Every setting is declared in :data:`SETTINGS` with its type,
default and Chinese title, so a broken file gets a message that names the key,
what is wrong, and how to fix it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from hallapp.codes import CodeError, normalize_code
from hallapp.validation import hidden_character_problem

APP_NAME = "HallApp"
CONFIG_ENV = "HALLAPP_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and the fix."""


@dataclass(frozen=True)
class Setting:
    key: str  # "section.name"
    type: type
    default: Any
    title: str
    choices: tuple[str, ...] = ()
    #: Inclusive range of an integer setting (README, Configuration).
    bounds: tuple[int, int] | None = None
    #: Longest text a text setting may hold (0: no limit beyond the file's).
    max_len: int = 0


# Ranges that make sense to a hall. 补正 and 容缺 limits are a few working
# days to a few weeks in every local rule (60 is two and a half months);
# 临期 is a warning a few days ahead. An evaluation waits for a citizen at the
# counter: 0 s would never open one (hence at least 1 s), and beyond 10
# minutes the citizen has long gone.
SETTINGS: tuple[Setting, ...] = (
    Setting("hall.code", str, "LC", "大厅代码（用于办件编号，字母或数字）"),
    Setting("hall.name", str, "连城县行政服务中心", "大厅名称", max_len=100),
    Setting("hall.complaint_hotline", str, "12345", "投诉监督电话", max_len=40),
    Setting(
        "hall.review_body",
        str,
        "连城县人民政府",
        "行政复议机关（写在不予受理决定书上）",
        max_len=100,
    ),
    Setting(
        "hall.court", str, "连城县人民法院", "行政诉讼管辖法院（写在不予受理决定书上）", max_len=100
    ),
    Setting("intake.correction_days", int, 10, "补正材料期限（工作日）", bounds=(1, 60)),
    Setting("intake.supplement_days", int, 5, "容缺材料补齐期限（工作日）", bounds=(1, 60)),
    Setting("intake.due_soon_days", int, 2, "临期提醒（剩余工作日）", bounds=(0, 30)),
    Setting("window.code", str, "A03", "本窗口编号，例如 A03"),
    Setting("store.local_path", str, "", "本地数据库文件路径（留空使用默认位置）", max_len=1000),
    Setting("store.central_url", str, "", "中心库地址（SQLAlchemy URL，留空不同步）", max_len=2000),
    Setting(
        "store.sync_interval_seconds",
        int,
        60,
        "与中心库同步的间隔（秒，中心库不可达时自动延长）",
        bounds=(5, 86400),
    ),
    Setting(
        "store.sync_stall_seconds",
        int,
        120,
        "中心库无响应多久后中止本次同步并在状态栏提示（秒，下次自动重试，不丢数据）",
        bounds=(5, 3600),
    ),
    Setting(
        "evaluator.port",
        str,
        "",
        "评价器串口，例如 /dev/ttyUSB0、COM3 或 pyserial URL",
        max_len=500,
    ),
    Setting("evaluator.protocol", str, "framed", "评价器协议", ("framed", "keycode")),
    Setting("evaluator.baudrate", int, 9600, "评价器波特率", bounds=(1200, 115200)),
    Setting("evaluator.timeout_seconds", int, 60, "等待评价的时间（秒）", bounds=(1, 600)),
    Setting("evaluator.keymap", dict, {}, "按键码协议：字节值到评价等级的映射"),
    Setting("printing.a4_printer", str, "", "A4 打印机名称（留空使用系统默认）", max_len=200),
    Setting("printing.slip_printer", str, "", "80mm 小票打印机名称", max_len=200),
    Setting("printing.default_size", str, "a4", "默认纸张", ("a4", "slip")),
    Setting(
        "printing.font_path", str, "", "中文字体文件（TTF/TTC）路径，留空自动查找", max_len=1000
    ),
    Setting(
        "printing.qr_url_template",
        str,
        # None until the hall sets its own: a code to a made-up address would
        # send every applicant to a dead page.
        "",
        "二维码网址模板，{case_no} 处填入办件编号；留空则文书不印二维码",
        max_len=500,
    ),
    Setting("ui.citizen_screen", str, "auto", "群众屏", ("auto", "window", "off")),
    # Supervisors' figures: provinces define them differently, so the report
    # prints whatever is configured here under every table.
    Setting("reports.satisfied_levels", list, [5, 4, 3], "计入满意率的评价等级（1–5）"),
    Setting(
        "reports.points", dict, {}, '评分：各等级的分值，例如 {"5" = 10, "4" = 8}（留空不评分）'
    ),
    Setting("reports.accountability_threshold_percent", float, 1.0, "季度不满意率问责阈值（%）"),
    Setting(
        "reports.ranking_min_evaluations",
        int,
        20,
        "参加月度排名的最少有效评价数",
        bounds=(0, 100_000),
    ),
    Setting("reports.ranking_count", int, 3, "月度排名公布的前后窗口数", bounds=(1, 50)),
    Setting(
        "reports.ranking_by", str, "satisfaction_rate", "排名依据", ("satisfaction_rate", "score")
    ),
    Setting(
        "follow_up.rectify_days", int, 5, "差评整改反馈期限（工作日，5–15）", bounds=(5, 15)
    ),
    Setting("follow_up.call_back_days", int, 1, "差评首次回访期限（工作日）", bounds=(1, 15)),
)

_BY_KEY = {s.key: s for s in SETTINGS}
#: The serial rates evaluator devices are built for (docs/evaluator-protocol.md §0).
STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)
_TYPE_NAMES = {str: "文本", int: "整数", dict: "表", bool: "是/否", list: "列表", float: "数值"}


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def get(self, key: str) -> Any:
        if key not in _BY_KEY:
            raise KeyError(key)
        return self.values.get(key, _BY_KEY[key].default)

    # Typed shortcuts for the settings every layer reads.
    @property
    def hall_code(self) -> str:
        return str(self.get("hall.code"))

    @property
    def hall_name(self) -> str:
        return str(self.get("hall.name"))

    @property
    def window_code(self) -> str:
        return str(self.get("window.code"))

    @property
    def complaint_hotline(self) -> str:
        return str(self.get("hall.complaint_hotline"))

    def local_db_path(self) -> Path:
        configured = str(self.get("store.local_path"))
        if configured:
            return Path(configured).expanduser()
        return data_dir() / f"hallapp-{self.window_code}.sqlite3"


#: What a 不予受理决定书 and every notice print as the issuer's hall and the
#: remedies' bodies. Their defaults are the sample hall's (连城县): a hall
#: that has not set them would print another county's review body and court.
HALL_IDENTITY = ("hall.name", "hall.review_body", "hall.court")


def unset_hall_identity(config: Config) -> list[Setting]:
    """The identity settings neither the file nor the centre's hall settings set."""
    return [_BY_KEY[key] for key in HALL_IDENTITY if key not in config.values]


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def prepare_data_folder(folder: Path) -> None:
    """Create the folder the window keeps its database in, or say why it cannot be used.

    Raises ConfigError naming the folder, the cause and the fix (the folder is
    a setting, ``store.local_path``): a missing folder that cannot be created,
    a path through a file, a read-only disk or folder.
    """
    fix = "请在配置文件 [store] 中把 local_path 改到可写的位置，或请管理员开放这个文件夹的写权限"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"数据文件夹 {folder} 已被同名文件占用，无法保存数据库。{fix}") from None
    except NotADirectoryError:
        raise ConfigError(
            f"数据文件夹 {folder} 无法建立：路径中有一段是文件而不是文件夹。{fix}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"数据文件夹 {folder} 无法建立（{os_reason(exc)}）。{fix}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"数据文件夹 {folder} 不可写（只读磁盘或没有写权限）。{fix}")


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in Chinese (the system's strerror is English)."""
    import errno

    return {
        errno.EROFS: "只读文件系统",
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.ENOSPC: "磁盘已满",
        errno.EDQUOT: "超出磁盘配额",
        errno.ENOENT: "文件或文件夹不存在",
        errno.ENOTDIR: "路径中有一段不是文件夹",
        errno.EISDIR: "这是一个文件夹，不是文件",
        errno.EBUSY: "文件正被占用",
        errno.ETXTBSY: "文件正被占用",
        errno.ENAMETOOLONG: "文件名太长",
        errno.EINVAL: "文件名无效",
        errno.EIO: "磁盘读写错误",
        errno.ENOTTY: "不是串口设备",
    }.get(exc.errno or 0, exc.strerror or exc.__class__.__name__)



def default_config_path() -> Path:
    return config_dir() / "hallapp.toml"


def _check(key: str, value: Any) -> Any:
    setting = _BY_KEY[key]
    expected = setting.type
    # TOML has no int/bool confusion, but bool is an int subclass in Python.
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise ConfigError(
            f"配置项 {key}（{setting.title}）应为{_TYPE_NAMES.get(expected, expected.__name__)}，"
            f"实际为 {value!r}。请修改为例如 {key.split('.')[1]} = {_example(setting)}"
        )
    if setting.bounds is not None:
        low, high = setting.bounds
        if not low <= value <= high:
            shown = str(value) if value.bit_length() <= 64 else f"一个 {len(str(value))} 位的数"
            raise ConfigError(
                f"配置项 {key}（{setting.title}）的值 {shown} 超出允许范围 {low}–{high}，"
                f"请改为例如 {key.split('.')[1]} = {setting.default}"
            )
    if key == "evaluator.baudrate" and value not in STANDARD_BAUDRATES:
        # A UART set to 96000 or 1234 talks to no device: the clerk would see
        # only 评价器无响应 (power, cable?) and never the setting that is wrong.
        raise ConfigError(
            f"配置项 evaluator.baudrate（评价器波特率）的值 {value} 不是标准波特率，"
            f"可选值为：{'、'.join(str(b) for b in STANDARD_BAUDRATES)}（评价器说明书上写明的那个）"
        )
    if setting.max_len and len(value) > setting.max_len:
        raise ConfigError(
            f"配置项 {key}（{setting.title}）长度 {len(value)} 字，超出允许范围 "
            f"0–{setting.max_len} 字，请改短"
        )
    if (
        isinstance(value, str)
        and key not in ("window.code", "hall.code")  # normalize_code names the character
        and (hidden := hidden_character_problem(value))
    ):
        # A hall name or hotline with a direction override prints otherwise
        # than it reads on screen.
        raise ConfigError(f"配置项 {key}（{setting.title}）{hidden}")
    if key == "hall.name" and not value.strip():
        raise ConfigError("配置项 hall.name（大厅名称）不能为空：它印在每一份文书和公示上")
    if key == "printing.qr_url_template" and value and not (
        re.fullmatch(r"https?://\S+", value) and "{case_no}" in value
    ):
        raise ConfigError(
            f"配置项 printing.qr_url_template 的值 {value!r} 无效：应为 http:// 或 https:// "
            "开头、不含空格的网址，并含有 {case_no}（填入办件编号），例如 "
            'qr_url_template = "https://zwfw.example.gov.cn/q?case={case_no}"'
        )
    if setting.choices and value not in setting.choices:
        raise ConfigError(
            f"配置项 {key}（{setting.title}）的值 {value!r} 无效，"
            f"可选值为：{'、'.join(setting.choices)}"
        )
    if key in ("window.code", "hall.code"):
        # Both go into every case and document number: NFKC (ＡＯ３ → A03),
        # then ASCII letters and digits only (str.isalnum() would also pass 甲 and ³).
        what = "窗口编号" if key == "window.code" else "大厅代码"
        try:
            value = normalize_code(value, what=f"配置项 {key}（{what}）")
        except CodeError as exc:
            raise ConfigError(str(exc)) from None
        if not re.fullmatch(r"[A-Za-z0-9]{1,8}", value):
            example = "，例如 A03" if key == "window.code" else "，例如 LC"
            raise ConfigError(
                f"配置项 {key} 的值 {value!r} 无效：{what}应为 1–8 位英文字母或数字{example}"
            )
    if key == "evaluator.keymap":
        for byte, level in value.items():
            text = str(byte).strip()
            # Decimal ("49") or hexadecimal ("0x31"), as hallapp.devices.keycode reads it.
            as_hex = re.fullmatch(r"0[xX][0-9A-Fa-f]{1,2}", text)
            as_dec = re.fullmatch(r"[0-9]{1,3}", text)
            if not (as_hex or (as_dec and int(text) <= 255)) or level not in range(0, 6):
                raise ConfigError(
                    f"配置项 evaluator.keymap 中 {byte!r} = {level!r} 无效：键为 0–255 的字节值，"
                    "写成十进制字符串（如 \"49\"）或十六进制（如 \"0x31\"），"
                    "值为 1–5 的评价等级，0 表示超时"
                )
    if key.startswith(("reports.", "follow_up.")):
        _check_reports(key, value)
    return value


def _check_reports(key: str, value: Any) -> None:
    """The ranges of the supervisors' settings (local rules: 整改 in 5–15 working days)."""
    if key == "reports.satisfied_levels" and (
        not value
        or any(isinstance(v, bool) or v not in range(1, 6) for v in value)
        or len(set(value)) != len(value)
    ):
        raise ConfigError(
            f"配置项 reports.satisfied_levels 的值 {value!r} 无效：应为不重复的评价等级 1–5，"
            "例如 [5, 4, 3]"
        )
    if key == "reports.points":
        for level, points in value.items():
            number = isinstance(points, int | float) and not isinstance(points, bool)
            if str(level) not in {"1", "2", "3", "4", "5"} or not number or not 0 <= points <= 100:
                raise ConfigError(
                    f"配置项 reports.points 中 {level!r} = {points!r} 无效：键为评价等级 "
                    '"1"–"5"，值为 0–100 的分值，例如 points = { "5" = 10, "4" = 8, '
                    '"3" = 6, "2" = 3, "1" = 0 }'
                )
        if value and len(value) != 5:
            raise ConfigError("配置项 reports.points 须为全部五个等级（1–5）各给一个分值")
    limits = {
        "reports.accountability_threshold_percent": (0.0, 100.0),
        "reports.ranking_min_evaluations": (1, 100000),
        "reports.ranking_count": (1, 50),
        "follow_up.rectify_days": (5, 15),
        "follow_up.call_back_days": (1, 5),
    }
    if key in limits:
        low, high = limits[key]
        if not low <= value <= high or (key.endswith("percent") and value <= 0):
            raise ConfigError(
                f"配置项 {key}（{_BY_KEY[key].title}）的值 {value!r} 超出范围，"
                f"应在 {low}–{high} 之间"
            )


def _example(setting: Setting) -> str:
    if setting.type is str:
        return f'"{setting.choices[0] if setting.choices else setting.default or "..."}"'
    return repr(setting.default)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    values: dict[str, Any] = {}
    known_sections = {k.split(".")[0] for k in _BY_KEY}
    for section, content in data.items():
        if section not in known_sections:
            raise ConfigError(
                f"未知的配置节 [{section}]；可用的配置节：{'、'.join(sorted(known_sections))}"
            )
        if not isinstance(content, dict):
            raise ConfigError(f"配置节 [{section}] 应为一个表，例如 [{section}] 后逐行写 键 = 值")
        for name, value in content.items():
            key = f"{section}.{name}"
            if key not in _BY_KEY:
                names = "、".join(k.split(".")[1] for k in _BY_KEY if k.startswith(section + "."))
                raise ConfigError(f"未知的配置项 {key}；[{section}] 中可用的配置项：{names}")
            values[key] = _check(key, value)
    return Config(values=values, path=path)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config; a missing default file means all defaults."""
    explicit = path or os.environ.get(CONFIG_ENV)
    cfg_path = Path(explicit) if explicit else default_config_path()
    if not cfg_path.exists():
        if explicit:
            raise ConfigError(f"找不到配置文件 {cfg_path}，请检查路径或去掉 --config 使用默认配置")
        return Config(path=None)
    try:
        # utf-8-sig: Notepad saves UTF-8 with a byte-order mark.
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        from hallapp.validation import toml_problem

        raise ConfigError(
            f"配置文件 {cfg_path} 格式错误：{toml_problem(exc)}，请按 TOML 格式修改"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"配置文件 {cfg_path} 不是 UTF-8 编码，请另存为 UTF-8") from exc
    except RecursionError:
        raise ConfigError(
            f"配置文件 {cfg_path} 中的数组或表嵌套层数过多，不是 HallApp 的配置；"
            "请按 README 的“Configuration”一节重写"
        ) from None
    except ValueError:
        # tomllib lets int()'s refusal of thousands of digits through.
        raise ConfigError(
            f"配置文件 {cfg_path} 中有一个数字位数过多（数千位），请改为允许范围内的值"
            "（见 README 的“Configuration”一节）"
        ) from None
    except OSError as exc:
        raise ConfigError(f"无法读取配置文件 {cfg_path}（{os_reason(exc)}）") from None
    return parse_config(data, cfg_path)
