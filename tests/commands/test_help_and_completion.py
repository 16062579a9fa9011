"""--help reads as CLI (flags without a value column, clean usage lines) and the completions offer
the fixed values of choice options and arguments, checked by running the bash script itself."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import typer

from vidact.cli import app
from vidact.commands._completion import command_tree

ROOT = Path(__file__).resolve().parents[2]
TREE = command_tree(typer.main.get_command(app))
LEAVES = [c.path for c in TREE if c.path and not c.subcommands]


@pytest.mark.parametrize("path", [(), *LEAVES], ids=lambda p: "/".join(p) or "vidact")
def test_help_shows_flags_as_flags_and_clean_usage(runner, path):
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "...}" not in usage and "}...." not in usage, usage


def test_extract_frames_usage_line(runner):
    result = runner.invoke(app, ["extract-frames", "--help"], terminal_width=200)
    assert "Usage: vidact extract-frames [OPTIONS] {VIDEOS}..." in result.output


def bash_complete(line: str) -> list[str]:
    """What `source completions/vidact.bash` offers for `line` (TAB at its end)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    script = (f"source {shlex.quote(str(ROOT / 'completions' / 'vidact.bash'))}\n"
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_vidact\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.parametrize(("line", "expected"), [
    ("vidact --log-level ", ["debug", "info", "warning", "error"]),
    ("vidact --log-level w", ["warning"]),
    ("vidact eval --metric ", ["top_k_accuracy", "mean_class_accuracy", "mean_average_precision",
                               "confusion_matrix", "AR@AN", "mAP"]),
    ("vidact eval -m AR", ["AR@AN"]),
    ("vidact eval --ann-format ", ["auto", "video", "rawframe"]),
    ("vidact test recipes/toy/tsm.yaml --eval ", ["top_k_accuracy", "mean_class_accuracy",
                                                  "mean_average_precision", "mAP"]),
    ("vidact dataset synth ", ["recognition", "localization"]),
    ("vidact dataset synth l", ["localization"]),
    ("vidact dataset build videos --split-kind ", ["ucf101", "hmdb51", "kinetics"]),
    ("vidact eval --topk ", []),  # a number: no file names
])
def test_bash_completes_choices(line, expected):
    assert bash_complete(line) == expected


def test_bash_after_the_synth_kind_completes_options_and_files():
    offered = bash_complete("vidact dataset synth recognition --")
    assert "--out" in offered and "recognition" not in offered
    assert "README.md" in bash_complete("vidact dataset synth recognition --out R")


def test_zsh_and_fish_scripts_carry_the_same_choices():
    zsh = (ROOT / "completions" / "_vidact").read_text()
    fish = (ROOT / "completions" / "vidact.fish").read_text()
    assert "--metric) compadd -- top_k_accuracy mean_class_accuracy" in zsh
    assert "--log-level) compadd -- debug info warning error" in zsh
    assert "compadd -- recognition localization" in zsh
    assert "-l log-level -x -a 'debug info warning error'" in fish
    assert "-a 'recognition localization'" in fish
    assert "-l metric -s m -x -a 'top_k_accuracy" in fish
