"""The key-code protocol of cheap evaluators: one byte per key, nothing else.

There is no framing, no checksum and no way to talk to the device, so a byte
of line noise that happens to be in the mapping *is* a key press. That is
acceptable only because the domain counts a press solely while an evaluation
is open at the window (hallapp.evaluation); bytes outside the mapping are
counted and dropped.

Level 0 in a mapping means "the device's own countdown ran out" (未评价).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

TIMEOUT_LEVEL = 0

# Devices that send 1..5 as raw bytes (1 = 非常不满意 ... 5 = 非常满意), 0 = time-out.
PRESET_FIVE: Mapping[int, int] = MappingProxyType({0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5})
# The same as ASCII digits '0'..'5' (what a terminal-like device sends).
PRESET_FIVE_ASCII: Mapping[int, int] = MappingProxyType(
    {0x30 + k: v for k, v in PRESET_FIVE.items()}
)
# Four-key devices labelled 1 满意, 2 一般, 3 不满意, 4 非常满意; 0 = time-out.
# 一般 is mapped to 基本满意 (3) and 不满意 to 不满意 (2): such a device has no
# 非常不满意 key.
PRESET_FOUR: Mapping[int, int] = MappingProxyType({0: 0, 1: 4, 2: 3, 3: 2, 4: 5})

PRESETS: Mapping[str, Mapping[int, int]] = MappingProxyType(
    {"five": PRESET_FIVE, "five_ascii": PRESET_FIVE_ASCII, "four": PRESET_FOUR}
)


class KeymapError(ValueError):
    """A key mapping that cannot be used; the message is in Chinese."""


def key_byte(key: int | str) -> int:
    """A keymap key as a byte value: an int, or a string in decimal ("49") or
    hexadecimal ("0x31"), as a vendor's manual may write it. "1" is the byte
    0x01, not the character '1' (that is "49" or "0x31")."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    text = str(key).strip()
    if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,2}", text):
        return int(text, 16)
    if re.fullmatch(r"[0-9]{1,3}", text):
        return int(text)
    raise ValueError(text)


def parse_keymap(
    config_value: Mapping[str, int] | Mapping[int, int] | str | None,
) -> dict[int, int]:
    """A byte→level mapping from the config (``evaluator.keymap``) or a preset name.

    An empty mapping or None means the "five" preset. Keys are byte values
    (ints, or strings of digits as TOML tables need), values 0..5.
    """
    if config_value is None or (not isinstance(config_value, str) and not config_value):
        return dict(PRESET_FIVE)
    if isinstance(config_value, str):
        try:
            return dict(PRESETS[config_value])
        except KeyError:
            raise KeymapError(
                f"未知的按键映射预设 {config_value!r}，可选：{'、'.join(PRESETS)}"
            ) from None
    result: dict[int, int] = {}
    for key, level in config_value.items():
        try:
            byte = key_byte(key)
        except (TypeError, ValueError):
            raise KeymapError(
                f"按键映射的键 {key!r} 不是 0–255 的字节值"
                "（十进制如 \"49\"，或十六进制如 \"0x31\"）"
            ) from None
        if not 0 <= byte <= 255:
            raise KeymapError(f"按键映射的键 {key!r} 不是 0–255 的字节值")
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 5:
            raise KeymapError(f"按键映射 {key!r} = {level!r} 无效：等级应为 1–5，0 表示超时")
        result[byte] = level
    return result


@dataclass(frozen=True)
class KeyCode:
    level: int  # 1..5, or 0 for the device's time-out
    raw: int


@dataclass
class KeyCodeStats:
    keys: int = 0
    unmapped_bytes: int = 0


@dataclass
class KeyCodeDecoder:
    keymap: Mapping[int, int] = field(default_factory=lambda: dict(PRESET_FIVE))
    stats: KeyCodeStats = field(default_factory=KeyCodeStats)

    def feed(self, data: bytes) -> list[KeyCode]:
        out: list[KeyCode] = []
        for byte in data:
            level = self.keymap.get(byte)
            if level is None:
                self.stats.unmapped_bytes += 1
                continue
            self.stats.keys += 1
            out.append(KeyCode(level=level, raw=byte))
        return out


def byte_for_level(keymap: Mapping[int, int], level: int) -> int | None:
    """The byte a device with this mapping sends for ``level`` (lowest byte wins)."""
    candidates = sorted(b for b, lv in keymap.items() if lv == level)
    return candidates[0] if candidates else None
