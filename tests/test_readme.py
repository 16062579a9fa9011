"""The README's shell blocks run as written, in order, on the data the README itself creates.

Every ```bash block of README.md runs in a fresh working directory that holds the repository's
`recipes/` and `completions/` (so outputs never land in the checkout), with this interpreter's
`vidact` first on PATH. A block is skipped only when the line before its fence is the marker
`<!-- not run by tests/test_readme.py: REASON -->`: blocks about data the README does not
create (UCF101, ActivityNet, THUMOS files) or that act outside a project folder (`make`, installing
completions into $HOME). The test checks that set stays small.

Short settings: by default the commands run on a smaller dataset and fewer epochs, through the
rewrites in `FAST` (appended options; the README text is unchanged), so the test takes a few
minutes on 2 cores. `VIDACT_README_FULL=1` runs every command exactly as written. Run as a script,
`python tests/test_readme.py [--full] [--keep DIR]` prints the wall time of each command: that is
how the README's figures are measured.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP_MARKER = re.compile(r"<!-- not run by tests/test_readme.py: (.+?) -->")
MAX_SKIPPED_BLOCKS = 8  # user data the README cannot create (zoo checkpoints, ActivityNet files, ...)

# (command prefix, options appended in the short run). Later --set values win, so these override
# what the README line itself sets.
FAST = (
    ("vidact dataset synth recognition", "--videos-per-class 6 --num-frames 16"),
    # Fewer videos, same sizes: the toy localization recipes expect the sizes the README writes.
    ("vidact dataset synth localization", "--num-videos 8"),
    ("vidact train recipes/toy/", "--set total_epochs=1"),
    ("vidact proposals run recipes/toy/", "--set tem.total_epochs=1 --set pem.total_epochs=1"),
)


def readme_blocks(text: str) -> list[tuple[str, str | None]]:
    """(code, skip reason or None) for each ```bash block, in order."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = SKIP_MARKER.search(previous)
            end = lines.index("```", i + 1)
            blocks.append(("\n".join(lines[i + 1:end]), marker.group(1) if marker else None))
            i = end
        i += 1
    return blocks


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comment-only and blank lines dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def shorten(command: str) -> str:
    """The command with the FAST options appended (before any trailing comment or pipe)."""
    for prefix, extra in FAST:
        if command.startswith(prefix):
            head, sep, tail = command.partition(" #")
            head, pipe, rest = head.partition(" | ")
            return f"{head.rstrip()} {extra}{pipe}{rest}{sep}{tail}"
    return command


def prepare(workdir: Path) -> dict[str, str]:
    """A project folder with the repository's recipes and completions; the environment to run in."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("recipes", "completions", "benchmarks"):
        if not (workdir / name).exists():
            shutil.copytree(ROOT / name, workdir / name)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def run_readme(workdir: Path, *, full: bool, train_epochs: int | None = None, report=None) -> None:
    """Run every unmarked block's commands in order in `workdir`; fail on the first non-zero exit.

    `train_epochs` (with `full`): the README's data and commands, but toy trainings cut to that many
    epochs (for timing every other step at full scale)."""
    env = prepare(workdir)
    for block, skip in readme_blocks(README.read_text()):
        if skip:
            continue
        for command in commands(block):
            line = command if full else shorten(command)
            if full and train_epochs and command.startswith("vidact train recipes/toy/"):
                line = shorten(command).replace("--set total_epochs=1", f"--set total_epochs={train_epochs}")
            start = time.perf_counter()
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=workdir, env=env,
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if report is not None:
                report(line, seconds, proc.returncode)
            assert proc.returncode == 0, (
                f"README command failed (exit {proc.returncode}): {line}\n--- stdout\n{proc.stdout[-3000:]}"
                f"\n--- stderr\n{proc.stderr[-3000:]}")


def test_blocks_are_found_and_few_are_skipped():
    blocks = readme_blocks(README.read_text())
    skipped = [reason for _, reason in blocks if reason]
    assert len(blocks) >= 8 and len(skipped) <= MAX_SKIPPED_BLOCKS, skipped
    assert any("vidact dataset synth recognition" in b for b, reason in blocks if not reason)


def test_shorten_appends_before_comments_and_pipes():
    assert shorten("vidact train recipes/toy/tsm.yaml   # ~4 min") == \
        "vidact train recipes/toy/tsm.yaml --set total_epochs=1 # ~4 min"
    assert shorten("vidact eval --json x | jq .") == "vidact eval --json x | jq ."
    assert commands("a \\\n    b\n# note\n\nc") == ["a b", "c"]


def unignored(paths: list[str]) -> list[str]:
    """The paths (relative to the checkout; folders end in '/') that .gitignore does not cover."""
    proc = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(paths),
                          capture_output=True, text=True)
    ignored = set(proc.stdout.splitlines())
    return [p for p in paths if p not in ignored]


def test_gitignore_covers_the_usual_outputs():
    assert unignored(["runs/", "scores.json", "work_dirs/", "demo_out/", "data/", "rawframes/", "cm.png"]) == []
    assert unignored(["vidact/", "README.md", "recipes/tsm.yaml"]) == ["vidact/", "README.md", "recipes/tsm.yaml"]


@pytest.mark.slow
def test_readme_shell_blocks_run_in_order(tmp_path):
    project = tmp_path / "project"
    run_readme(project, full=os.environ.get("VIDACT_README_FULL", "") not in ("", "0"))
    created = [p.name + ("/" if p.is_dir() else "") for p in project.iterdir()
               if p.name not in ("recipes", "completions", "benchmarks")]
    assert unignored(created) == [], "add these README outputs to .gitignore"


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run every command exactly as written")
    parser.add_argument("--keep", type=Path, help="project folder to run in (kept afterwards)")
    parser.add_argument("--train-epochs", type=int, help="with --full: cut the toy trainings to N epochs")
    args = parser.parse_args()
    workdir = args.keep or Path(os.environ.get("TMPDIR", "/tmp")) / f"vidact_readme_{os.getpid()}"
    print(f"# load average at start: {os.getloadavg()[0]:.1f}, cores: {os.cpu_count()}, in {workdir}", flush=True)
    run_readme(workdir, full=args.full, train_epochs=args.train_epochs,
               report=lambda line, s, rc: print(f"{s:8.1f} s  rc={rc}  {line}", flush=True))
    print(f"# load average at end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    _main()
