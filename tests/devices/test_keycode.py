"""The key-code protocol: mappings, presets, decoding."""

from __future__ import annotations

import pytest
from hallapp.devices.keycode import (
    PRESET_FIVE,
    PRESET_FOUR,
    KeyCode,
    KeyCodeDecoder,
    KeymapError,
    byte_for_level,
    parse_keymap,
)
from hypothesis import given
from hypothesis import strategies as st

from hallapp.config import parse_config


def test_presets():
    assert parse_keymap(None) == parse_keymap({}) == dict(PRESET_FIVE)
    # 1 满意, 2 一般, 3 不满意, 4 非常满意, 0 time-out
    assert parse_keymap("four") == {0: 0, 1: 4, 2: 3, 3: 2, 4: 5}
    assert parse_keymap("five_ascii")[ord("5")] == 5


def test_keymap_from_the_config_file():
    cfg = parse_config({"evaluator": {"keymap": {"49": 5, "50": 1, "48": 0}}})
    assert parse_keymap(cfg.get("evaluator.keymap")) == {49: 5, 50: 1, 48: 0}


@pytest.mark.parametrize("bad", [{"x": 1}, {"256": 1}, {"1": 6}, {"1": True}, "three"])
def test_bad_keymaps_are_refused_in_chinese(bad):
    with pytest.raises(KeymapError, match="按键映射"):
        parse_keymap(bad)


def test_decoder_maps_and_counts_unmapped_bytes():
    decoder = KeyCodeDecoder(dict(PRESET_FOUR))
    assert decoder.feed(b"\x04\x09\x01\x00") == [KeyCode(5, 4), KeyCode(4, 1), KeyCode(0, 0)]
    assert decoder.stats.unmapped_bytes == 1


@given(st.binary(max_size=500))
def test_only_mapped_bytes_become_keys(data):
    keys = KeyCodeDecoder(dict(PRESET_FOUR)).feed(data)
    assert [k.raw for k in keys] == [b for b in data if b in PRESET_FOUR]


def test_byte_for_level():
    assert byte_for_level(PRESET_FOUR, 5) == 4
    assert byte_for_level(PRESET_FOUR, 1) is None  # a four-key device has no 非常不满意
