"""`vidact extract-frames` without Typer: `vidact.commands._early.read_extract_frames` gives the
command exactly the arguments Typer's parse gives it, or leaves the command line to Typer."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from vidact.commands import extract_frames
from vidact.commands._early import _EXTRACT_PARAMS, read_extract_frames


def typer_parse(argv: list[str]) -> dict | None:
    """The keyword arguments Typer passes extract_frames_command for `argv` (its defaults left
    out), or None where it refuses the command line or shows help."""
    seen: list[dict] = []

    @functools.wraps(extract_frames.extract_frames_command)
    def record(**kwargs):
        seen.append(kwargs)

    app = typer.Typer()
    app.command("extract-frames")(record)
    app.command("other")(lambda: None)  # a group, so the command name is part of argv as in vidact
    result = CliRunner().invoke(app, argv)
    if result.exit_code != 0 or not seen:
        return None
    return _given(seen[0])


def reader_parse(argv: list[str]) -> dict | None:
    values = read_extract_frames(argv)
    if values is None:
        return None
    values = dict(values)
    if "flow_algo" in values:
        values["flow_algo"] = extract_frames.FlowAlgo(values["flow_algo"])
    return _given(values)


def _given(values: dict) -> dict:
    """`values` less the parameters at their default (Typer passes them all, the reader only the
    options on the command line)."""
    params = inspect.signature(extract_frames.extract_frames_command).parameters
    return {name: value for name, value in values.items() if value != params[name].default}


@pytest.mark.parametrize("argv", [
    ["extract-frames", "videos/"],
    ["extract-frames", "a.mp4", "b.mp4", "-o", "out", "--workers", "2", "-q", "94"],
    ["extract-frames", "a.mp4", "--new-size", "340", "256", "--flow", "--flow-algo", "farneback", "--bound", "15.5"],
    ["extract-frames", "--quality=80", "list.txt", "--shard", "3/8", "--report", "r.json", "--json", "--overwrite"],
    ["extract-frames", "--", "-odd-name.mp4", "--flow"],
    ["extract-frames", "a.mp4", "-q", "10", "-q", "20"],  # the last one wins, as in click
    ["extract-frames", "a.mp4", "--short-side", "256", "--every", "2", "-j", "0", "--bound", ".5"],
    ["extract-frames", "-", "--workers=3"],
])
def test_the_reader_gives_what_typer_gives(argv: list[str]):
    assert typer_parse(argv) is not None
    assert reader_parse(argv) == typer_parse(argv)


@pytest.mark.parametrize("argv", [
    ["extract-frames"],                               # no input: Typer's usage error
    ["extract-frames", "a.mp4", "--help"],
    ["extract-frames", "a.mp4", "-h"],
    ["extract-frames", "a.mp4", "-j4"],               # short options run together: not followed
    ["extract-frames", "a.mp4", "-q", "101"],         # out of range: Typer's message
    ["extract-frames", "a.mp4", "--every", "0"],
    ["extract-frames", "a.mp4", "--short-side", "0"],
    ["extract-frames", "a.mp4", "--workers", "x"],
    ["extract-frames", "a.mp4", "--new-size", "8"],
    ["extract-frames", "a.mp4", "--flow-algo", "DIS"],
    ["extract-frames", "a.mp4", "--bound", "nan"],
    ["extract-frames", "a.mp4", "--flow=yes"],
    ["extract-frames", "a.mp4", "--new-size=8", "6"],
    ["extract-frames", "a.mp4", "-o", "-x"],
    ["extract-frames", "a.mp4", "--unknown"],
    ["extract-features", "a.mp4"],
    [],
])
def test_the_reader_leaves_the_rest_to_typer(argv: list[str]):
    assert read_extract_frames(argv) is None


def test_the_reader_knows_the_command_s_parameters():
    import inspect

    params = set(inspect.signature(extract_frames.extract_frames_command).parameters) - {"videos"}
    assert {param for param, _ in _EXTRACT_PARAMS.values()} == params


_VALUES = st.sampled_from(["0", "1", "2", "7", "94", "100", "101", "-1", "x", "1.5", ".5", "2.", "nan", "dis",
                           "farneback", "3/8", "out", "", "=", "a.mp4", "٣"])
_TOKENS = st.one_of(
    st.sampled_from([*_EXTRACT_PARAMS, "--", "-h", "--help", "-j4", "-", "--bogus"]),
    st.builds(lambda name, value: f"{name}={value}", st.sampled_from(list(_EXTRACT_PARAMS)), _VALUES),
    _VALUES,
    st.sampled_from(["v1.mp4", "dir/", "list.txt"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=8))
def test_the_reader_never_disagrees_with_typer(tokens: list[str]):
    argv = ["extract-frames", *tokens]
    mine = reader_parse(argv)
    if mine is not None:
        assert mine == typer_parse(argv)


def test_values_are_paths_and_numbers():
    values = read_extract_frames(["extract-frames", "a.mp4", "-o", "out", "--new-size", "8", "6", "--bound", "3"])
    assert values == {"videos": [Path("a.mp4")], "out": Path("out"), "new_size": (8, 6), "bound": 3.0}
