"""Meta-tests of the app: help everywhere, README coverage, fresh completions, error boundary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vidact.cli import app
from vidact.commands._clicklib import is_group, make_context
from vidact.commands._completion import command_tree, render_all

ROOT = Path(__file__).resolve().parent.parent
CLICK_APP = typer.main.get_command(app)
LEAVES = [c.path for c in command_tree(CLICK_APP) if c.path and not c.subcommands]


@pytest.mark.parametrize("path", LEAVES, ids=["/".join(p) for p in LEAVES])
def test_every_command_has_help_and_example(runner, path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd = CLICK_APP
    for name in path:
        assert is_group(cmd)
        cmd = cmd.get_command(make_context(cmd), name)
    assert cmd.help and "vidact " + " ".join(path) in cmd.help, "docstring needs a runnable example"


@pytest.mark.parametrize("path", LEAVES, ids=["/".join(p) for p in LEAVES])
def test_every_command_is_in_readme(path):
    readme = (ROOT / "README.md").read_text()
    assert f"vidact {' '.join(path)}" in readme


def test_completions_are_fresh():
    for name, text in render_all(CLICK_APP).items():
        committed = (ROOT / "completions" / name).read_text()
        assert committed == text, f"completions/{name} is stale: run `make completions`"


def test_bash_completion_script_parses():
    script = ROOT / "completions" / "vidact.bash"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_version_and_no_args(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("vidact ")
    result = runner.invoke(app, [])
    assert "Usage" in result.output


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "vidact", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("vidact ")


def test_library_error_is_one_line_exit_2(tmp_path):
    """A VidactError becomes `error: ...` on stderr, exit 2, no traceback."""
    missing = tmp_path / "nope.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "vidact", "recipe", "show", str(missing)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert str(missing) in proc.stderr and proc.stderr.startswith("error:")


@pytest.mark.parametrize(("raised", "code", "stderr"), [
    (ValueError("boom"), 1, "internal error: ValueError: boom\nhint: rerun with --debug for the traceback and "
                            "report it\n"),
    (KeyboardInterrupt(), 130, "interrupted\n"),
    ("input", 2, "error: bad input\nhint: fix it\n"),
    (typer.Exit(3), 3, ""),  # the framework's own exits pass through
])
def test_the_error_boundary(monkeypatch: pytest.MonkeyPatch, raised, code: int, stderr: str):
    from typer.testing import CliRunner

    from vidact.cli import VidactGroup
    from vidact.errors import InputError

    def fail() -> None:
        raise InputError("bad input", hint="fix it") if raised == "input" else raised

    boundary = typer.Typer(cls=VidactGroup)
    boundary.command("fail")(fail)
    boundary.command("other")(lambda: None)
    monkeypatch.delenv("VIDACT_DEBUG", raising=False)
    result = CliRunner().invoke(boundary, ["fail"])
    assert (result.exit_code, result.stderr) == (code, stderr)
    if code == 1:
        monkeypatch.setenv("VIDACT_DEBUG", "1")
        result = CliRunner().invoke(boundary, ["fail"])
        assert isinstance(result.exception, ValueError)  # --debug: the traceback, not the message
