"""The msgspec-backed JSON reading gives exactly what `json` gives, and falls back where they differ."""

from __future__ import annotations

import gc
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidact.errors import InputError
from vidact.io import files
from vidact.io.files import decode_json_as, parse_json, read_json

pytest.importorskip("msgspec")


def _identical(a: Any, b: Any) -> bool:
    """Equal values of equal types, floats bit for bit (signed zeros, NaN), keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b))
    return a == b


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # beyond 64 bits too: json keeps them exact
    | st.floats()  # NaN and infinities: written as NaN/Infinity, which json accepts and msgspec does not
    | st.text(),  # lone surrogates included: written as \ud800 escapes
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, ensure_ascii=st.booleans())
def test_parse_json_equals_json_loads(value, ensure_ascii):
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    source = text.encode() if ensure_ascii else text  # bytes from files, str (maybe with surrogates) from stdin
    assert _identical(parse_json(source, "x.json"), json.loads(text))


@settings(max_examples=500, deadline=None)
@given(
    sign=st.sampled_from(["", "-"]),
    integer=st.from_regex(r"\A(0|[1-9][0-9]{0,24})\Z"),
    fraction=st.from_regex(r"\A[0-9]{1,25}\Z") | st.none(),
    exponent=st.integers(-340, 320) | st.none(),
)
def test_numbers_round_like_json(sign, integer, fraction, exponent):
    """Decimal text to float must round correctly (as `float()` does), ints must stay exact."""
    text = sign + integer + ("" if fraction is None else "." + fraction) + ("" if exponent is None else f"e{exponent}")
    try:
        expected = json.loads(text)
    except (ValueError, OverflowError):
        return
    assert _identical(parse_json(text.encode(), "x.json"), expected)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN, "b": -Infinity}',  # json accepts these, msgspec does not
        '["\\ud800"]',  # lone surrogate escape
        "123456789012345678901234567890",  # beyond 64 bits
        '{"a": 1, "a": 2}',  # duplicate keys: the last wins
        "[1e400]",  # overflows to inf in json
    ],
)
def test_inputs_msgspec_refuses_or_treats_specially(text):
    assert _identical(parse_json(text.encode(), "x.json"), json.loads(text))


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"a": 1,\n "b": }', "line 2, column 7"),
        (b'{"a": 1,\r\n "b": }', "line 2, column 7"),  # CRLF files report the same position
        (b'{"a": 1,\r "b": }', "line 2, column 7"),  # as read_text's newline translation gives
        (b"[1, 2", "line 1, column 6"),
        (b"", "line 1, column 1"),
        (b'\xef\xbb\xbf{"a": 1}', "line 1, column 1"),  # a UTF-8 byte order mark
    ],
)
def test_malformed_json_names_file_line_and_column(tmp_path, raw, where):
    bad = tmp_path / "bad.json"
    bad.write_bytes(raw)
    with pytest.raises(InputError, match=rf"bad\.json: malformed JSON at {where}: "):
        read_json(bad)


def test_invalid_utf8_is_reported_with_its_offset(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match=r"bad\.json: not a UTF-8 text file \(invalid start byte at byte 7\)"):
        read_json(bad)


def test_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"a": [1, 2.5, "\\ud800"]}'))
    assert _identical(read_json("-"), {"a": [1, 2.5, "\ud800"]})
    monkeypatch.setattr("sys.stdin", io.StringIO("{"))
    with pytest.raises(InputError, match="<stdin>: malformed JSON at line 1, column 2"):
        read_json("-")


def test_without_msgspec_json_parses(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_msgspec", lambda: None)
    path = tmp_path / "a.json"
    path.write_text('{"a": [1, 2.5]}')
    assert read_json(path) == {"a": [1, 2.5]}
    assert decode_json_as(path.read_bytes(), dict) is None


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_state_is_restored(enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        parse_json(b"[1, 2]", "x.json")
        with pytest.raises(InputError):
            parse_json(b"[1, ", "x.json")
        decode_json_as(b'{"x": 1}', _Point)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@dataclass
class _Point:
    x: float
    y: float = 0.0


def test_decode_json_as_fits_or_returns_none():
    assert decode_json_as(b'{"x": 1, "z": [1, {"w": null}]}', _Point) == _Point(1.0, 0.0)
    assert decode_json_as('{"x": 2.5, "y": -1}', _Point) == _Point(2.5, -1.0)
    for raw in (b'{"x": "1"}', b'{"x": true}', b'{"y": 1}', b'{"x": NaN}', b'{"x": 1e400}', b"[1]", b'{"x": 1'):
        assert decode_json_as(raw, _Point) is None, raw


def test_decode_json_as_refuses_invalid_utf8_even_in_skipped_values():
    # msgspec skips unknown fields without decoding their strings; json would refuse the file.
    assert decode_json_as(b'{"x": 1, "note": "\xff"}', _Point) is None
    assert decode_json_as('{"x": 1, "note": "é"}'.encode(), _Point) == _Point(1.0)
