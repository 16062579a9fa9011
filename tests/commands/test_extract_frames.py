"""`vidact extract-frames` end to end: layout, --json, --report, exit codes, stdout/stderr split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands.extract_frames import extract_frames_command

# The root app's error boundary around this command alone (plus a second command, so typer keeps
# the subcommand name); `vidact.cli.app` registers the same function.
APP_SOURCE = """
import typer
from vidact.cli import VidactGroup
from vidact.commands.extract_frames import extract_frames_command
app = typer.Typer(cls=VidactGroup, add_completion=False)
app.command("extract-frames")(extract_frames_command)
app.command("noop")(lambda: None)
app(prog_name="vidact")
"""
app = typer.Typer(cls=VidactGroup, add_completion=False)
app.command("extract-frames")(extract_frames_command)
app.command("noop")(lambda: None)


def write_video(path: Path, num_frames: int) -> Path:
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        for i in range(num_frames):
            img = np.full((24, 32, 3), 40, dtype=np.uint8)
            img[8:16, 2 + 2 * i:10 + 2 * i] = 220
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    write_video(root / "walk" / "a.mp4", 8)
    write_video(root / "run" / "b.mp4", 6)
    return root


def run(*args: object):
    return CliRunner().invoke(app, ["extract-frames", *map(str, args)])


def test_help_lists_the_options():
    result = CliRunner().invoke(app, ["extract-frames", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--out", "--short-side", "--new-size", "--every", "--quality", "--flow", "--flow-algo",
                   "--bound", "--workers", "--report", "--shard", "--json", "--overwrite"):
        assert option in result.stdout


def test_json_summary_and_layout(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run(videos, "--out", out, "--json", "-j", 1, "--short-side", 12, "--flow")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("videos", "extracted", "skipped", "failed", "frames", "flow_frames")} == {
        "videos": 2, "extracted": 2, "skipped": 0, "failed": 0, "frames": 14, "flow_frames": 12}
    assert summary["failures"] == [] and summary["shard"] is None
    assert len(list((out / "walk" / "a").glob("img_*.jpg"))) == 8
    assert len(list((out / "run" / "b").glob("x_*.jpg"))) == 5
    assert "extract-frames" in result.stderr and "frames" in result.stderr  # the summary table

    again = json.loads(run(videos, "--out", out, "--json", "-j", 1, "--short-side", 12, "--flow").stdout)
    assert (again["skipped"], again["extracted"], again["frames"]) == (2, 0, 0)


def test_every_and_new_size(videos: Path, tmp_path: Path):
    import cv2

    result = run(videos / "walk" / "a.mp4", "-o", tmp_path / "out", "--every", 3, "--new-size", 16, 10, "-j", 1)
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out" / "a").glob("img_*.jpg"))
    assert [f.name for f in files] == ["img_00001.jpg", "img_00002.jpg", "img_00003.jpg"]  # frames 0, 3, 6
    assert cv2.imread(str(files[0])).shape == (10, 16, 3)


def test_corrupt_video_exit_1_report_and_others_done(videos: Path, tmp_path: Path):
    (videos / "run" / "broken.mp4").write_bytes(b"not a video at all")
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = run(videos, "-o", out, "--report", report, "-j", 2)
    assert result.exit_code == 1, result.output
    assert "failed: " in result.stderr and "broken.mp4" in result.stderr
    data = json.loads(report.read_text())
    assert (data["videos"], data["extracted"], data["failed"]) == (3, 2, 1)
    assert data["failures"][0]["source"].endswith("run/broken.mp4")
    assert {r["status"] for r in data["results"]} == {"extracted", "failed"}
    assert (out / "walk" / "a" / "manifest.json").is_file() and not (out / "run" / "broken").exists()


def test_shard_splits_the_work(videos: Path, tmp_path: Path):
    firsts = [json.loads(run(videos, "-o", tmp_path / "out", "--shard", f"{i}/2", "--json", "-j", 1).stdout)
              for i in range(2)]
    assert [(s["shard"], s["videos"], s["extracted"]) for s in firsts] == [("0/2", 1, 1), ("1/2", 1, 1)]
    empty = json.loads(run(videos, "-o", tmp_path / "out", "--shard", "5/8", "--json").stdout)
    assert empty["videos"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--short-side", "8", "--new-size", "8", "8"], "--short-side and --new-size cannot be used together"),
    (["--shard", "2/2"], "--shard '2/2'"),
    (["--bound", "0", "--flow"], "--bound 0"),
])
def test_bad_arguments_exit_2(videos: Path, tmp_path: Path, args: list[str], message: str):
    result = run(videos, "-o", tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr.startswith("error: ") and message in result.stderr


def test_missing_input_and_option_validation_exit_2(tmp_path: Path):
    result = run(tmp_path / "nope.mp4", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "nope.mp4: no such file or folder" in result.stderr
    assert run(tmp_path, "-o", tmp_path / "out", "--every", 0).exit_code == 2


def test_changed_settings_need_overwrite(videos: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run(videos, "-o", out, "-j", 1).exit_code == 0
    result = run(videos, "-o", out, "-j", 1, "--quality", 50)
    assert result.exit_code == 2 and "extracted with other settings" in result.stderr
    assert "--overwrite" in result.stderr
    assert run(videos, "-o", out, "-j", 1, "--quality", 50, "--overwrite").exit_code == 0


def test_subprocess_stdout_is_one_json_object(videos: Path, tmp_path: Path):
    (videos / "bad.mp4").write_bytes(b"\x00" * 64)
    proc = subprocess.run([sys.executable, "-c", APP_SOURCE, "extract-frames", str(videos), "-o",
                           str(tmp_path / "out"), "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["extracted"], summary["failed"]) == (2, 1)
    assert "bad.mp4" in proc.stderr and "Traceback" not in proc.stderr


def test_without_out_frames_go_to_rawframes_beside_the_input(videos: Path, tmp_path: Path, monkeypatch):
    """`vidact extract-frames videos/` works as written: frames land in rawframes/ beside videos/."""
    from vidact.data.extract.inputs import default_out_dir

    monkeypatch.chdir(tmp_path)
    result = run("videos/", "-j", 1)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "rawframes" / "walk" / "a").glob("img_*.jpg"))) == 8
    assert "frames go to rawframes/" in result.stderr
    assert default_out_dir(["data/ucf101/videos"]) == Path("data/ucf101/rawframes")
    assert default_out_dir(["val_list_videos.txt", "other/"]) == Path("rawframes")
    assert default_out_dir(["."]) == Path("rawframes")


def test_the_early_fork_server_preloads_what_the_pool_asks_for():
    from vidact.commands._early import EXTRACT_WORKER_PRELOAD as WORKER_PRELOAD
    from vidact.data.extract.run import WORKER_PRELOAD as POOL_PRELOAD

    assert WORKER_PRELOAD == POOL_PRELOAD
    from vidact.commands._early import EXTRACT_WORKER_ENV
    from vidact.data.extract.run import WORKER_ENV

    assert EXTRACT_WORKER_ENV == WORKER_ENV


# `vidact` (vidact/__main__.py) runs a command line the early reader follows without Typer; say
# at exit whether the Typer app was imported.
MAIN_SOURCE = """
import atexit, sys
atexit.register(lambda: print("app imported:", "vidact.cli" in sys.modules, file=sys.stderr))
sys.argv = ["vidact", *sys.argv[1:]]
from vidact.__main__ import main
main()
"""


def _console_entry(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", MAIN_SOURCE, "extract-frames", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _typer_app(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", APP_SOURCE, "extract-frames", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _summary(stdout: str) -> dict:
    data = json.loads(stdout)
    for name in ("seconds", "frames_per_sec", "out_dir"):
        data.pop(name)
    for result in data.get("results", []):
        result.pop("seconds", None)
        result["output"] = Path(result["output"]).name
    return data


@pytest.mark.parametrize("workers", [1, 2])
def test_the_console_entry_runs_it_without_typer_as_typer_does(videos: Path, tmp_path: Path, workers: int):
    (videos / "run" / "broken.mp4").write_bytes(b"not a video at all")
    fast, typer_way = (run(videos, "-o", tmp_path / name, "--json", "-j", workers, "-q", "90")
                       for run, name in ((_console_entry, "fast"), (_typer_app, "typer")))
    assert fast.returncode == typer_way.returncode == 1, fast.stderr
    assert "app imported: False" in fast.stderr
    assert _summary(fast.stdout) == _summary(typer_way.stdout)
    assert "failed: " in fast.stderr and "broken.mp4" in fast.stderr
    assert sorted(p.name for p in (tmp_path / "fast" / "walk" / "a").iterdir()) == \
        sorted(p.name for p in (tmp_path / "typer" / "walk" / "a").iterdir())


def test_the_console_entry_reports_errors_as_the_app_does(videos: Path, tmp_path: Path):
    fast, typer_way = (run(tmp_path / "nope.mp4", "-o", tmp_path / "out") for run in (_console_entry, _typer_app))
    assert fast.returncode == typer_way.returncode == 2
    assert "app imported: False" in fast.stderr
    assert fast.stderr.split("app imported")[0] == typer_way.stderr
    # first line: no progress bar (nor the empty line it would leave) where stderr is not a terminal
    assert fast.stderr.startswith(f"error: {tmp_path / 'nope.mp4'}: no such file or folder\n")
    # what the reader does not follow goes to the app: its usage errors and --help
    fast, typer_way = (run(videos, "-o", tmp_path / "out", "--every", "0") for run in (_console_entry, _typer_app))
    assert fast.returncode == typer_way.returncode == 2 and "app imported: True" in fast.stderr
    assert "--every" in fast.stderr
