"""Start-up stays light: the CLI, every command's --help and recipe errors load no torch, cv2 or av.

Each check runs in a fresh interpreter, since the test process itself has long imported torch.
Timing targets (under 0.5 s warm) are measured by benchmarks/bench_startup.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HEAVY = ("torch", "cv2", "av", "decord")

_PROBE = textwrap.dedent("""
    import json, sys
    from typer.testing import CliRunner
    import typer
    from vidact.cli import app
    from vidact.commands._completion import command_tree

    loaded_by_import = [m for m in {heavy!r} if m in sys.modules]
    runner = CliRunner()
    failures = []
    paths = [c.path for c in command_tree(typer.main.get_command(app))]
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        if result.exit_code != 0 or "Usage:" not in result.output:
            failures.append([" ".join(path), result.exit_code, result.output[-300:]])
    extra = {extra!r}
    extra_result = runner.invoke(app, extra) if extra else None
    print(json.dumps({{
        "import": loaded_by_import,
        "after_help": [m for m in {heavy!r} if m in sys.modules],
        "paths": len(paths),
        "failures": failures,
        "extra_exit": extra_result.exit_code if extra_result else None,
        "extra_output": extra_result.output if extra_result else "",
        "after_extra": [m for m in {heavy!r} if m in sys.modules],
    }}))
""")


def _probe(extra: list[str] | None = None) -> dict:
    code = _PROBE.format(heavy=HEAVY, extra=extra or [])
    env = {**os.environ, "VIDACT_DEBUG": "0"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_and_every_help_load_no_heavy_module(tmp_path):
    missing = tmp_path / "nope.yaml"
    report = _probe(["train", str(missing)])
    assert report["import"] == [], f"importing vidact.cli loaded {report['import']}"
    assert report["paths"] > 10  # the walk saw the command tree
    assert report["failures"] == []
    assert report["after_help"] == [], f"--help loaded {report['after_help']}"
    assert report["extra_exit"] == 2 and "nope.yaml" in report["extra_output"]
    assert report["after_extra"] == [], f"a missing recipe loaded {report['after_extra']}"


def test_invalid_recipe_is_reported_before_torch(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {type: Recognizer2D}\ntotal_epochs: many\n")
    for command in (["train", str(bad)], ["test", str(bad), "--checkpoint", "x.pth", "--out", "s.json"]):
        report = _probe(command)
        assert report["extra_exit"] == 2, report["extra_output"]
        assert report["after_extra"] == [], f"{command[0]}: a bad recipe loaded {report['after_extra']}"


def test_omp_wait_policy_defaults_to_passive_and_respects_the_user():
    code = "import os, vidact; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.stdout.strip() == "PASSIVE"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert proc.stdout.strip() == "ACTIVE"


def test_importing_the_cli_loads_no_numpy():
    """Every command line pays for `import vidact.cli`: numpy (~0.1 s) loads only when a command runs."""
    code = "import sys, vidact.cli; print(sorted(m for m in ('numpy', 'yaml', 'pydantic') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_missing_predict_video_is_reported_before_torch(tmp_path):
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[1] / "recipes" / "toy" / "tsm.yaml"
    checkpoint = tmp_path / "best.pth"
    checkpoint.write_bytes(b"")
    missing = tmp_path / "nope.mp4"
    report = _probe(["predict", str(recipe), "--checkpoint", str(checkpoint), str(missing)])
    assert report["extra_exit"] == 2
    assert f"{missing}: no such video file" in report["extra_output"]
    assert report["after_extra"] == [], f"a missing video loaded {report['after_extra']}"


def test_an_extraction_run_s_parent_loads_no_decoder_or_opencv(tmp_path):
    # The parent of a run plans and hands out videos; OpenCV, NumPy and PyAV load in the workers
    # (their fork server preloads them), so the parent does not wait for them before starting.
    code = textwrap.dedent("""
        import json, sys
        import vidact.data.extract as extract
        from vidact.data.extract import ExtractOptions, discover_videos, extract_frames, read_manifest
        from vidact.data.extract.run import WORKER_PRELOAD
        print(json.dumps([m for m in ("cv2", "numpy", "av") if m in sys.modules]))
        extract.extract_video  # on first use
        print(json.dumps([m for m in ("cv2", "numpy", "av") if m in sys.modules]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    before, after = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert before == [] and "cv2" in after


def test_extract_frames_starts_its_workers_fork_server_from_the_raw_arguments(tmp_path):
    from vidact.commands._early import extract_workers_wanted

    video = tmp_path / "a.mp4"
    video.write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text("a.mp4\n")
    assert extract_workers_wanted(["extract-frames", str(tmp_path), "-o", "out", "--workers", "2"])
    assert extract_workers_wanted(["extract-frames", str(video), str(video), "--new-size", "8", "6", "--flow",
                                   "--workers=3", "-q", "90"])
    assert extract_workers_wanted(["extract-frames", str(listing), "-j", "2"])
    assert extract_workers_wanted(["extract-frames", "--", str(video), str(video), "-j", "2"])
    assert not extract_workers_wanted(["extract-frames", str(video), "--workers", "4"])  # one file: no pool
    assert not extract_workers_wanted(["extract-frames", str(tmp_path), "--workers", "1"])
    assert not extract_workers_wanted(["extract-frames", str(tmp_path), "--help"])
    assert not extract_workers_wanted(["extract-frames", str(tmp_path), "-j4"])  # not followed: the command decides
    assert not extract_workers_wanted(["extract-frames", str(tmp_path), "--workers", "x"])
    assert not extract_workers_wanted(["extract-frames", str(tmp_path), "--new-size", "8"])
    assert not extract_workers_wanted(["extract-frames", "-o", "out"])  # no input
    assert not extract_workers_wanted(["extract-features", str(tmp_path), "-j", "2"])
    assert not extract_workers_wanted([])


def test_the_early_reader_knows_every_extract_frames_option():
    # A new option the early reader does not list only turns the early start off (safe), but its
    # table must say how many values each option takes, as the command does.
    import typer

    from vidact.cli import app
    from vidact.commands._early import _EXTRACT_OPTIONS

    command = typer.main.get_command(app).commands["extract-frames"]
    declared = {}
    for param in command.params:
        if param.param_type_name == "option" and "--help" not in param.opts:
            for name in (*param.opts, *param.secondary_opts):
                declared[name] = 0 if param.is_flag else param.nargs
    assert declared == _EXTRACT_OPTIONS
