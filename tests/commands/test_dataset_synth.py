"""`vidact dataset synth`: --json output, files written, refusal to overwrite, option checks.

The command is registered here on a fresh app with the root app's error boundary, so these tests
do not depend on cli.py listing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vidact.cli import VidactGroup
from vidact.commands import dataset

app = typer.Typer(cls=VidactGroup, add_completion=False)
app.add_typer(dataset.app, name="dataset")

TINY_REC = ["--videos-per-class", "2", "--num-frames", "4", "--size", "16x16"]
TINY_LOC = ["--num-videos", "4", "--temporal-scale", "10", "--feature-dim", "8"]


def run(*args: object):
    return CliRunner().invoke(app, ["dataset", "synth", *map(str, args)])


def assert_input_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_recognition_json_lists_the_files_and_counts(tmp_path):
    out = tmp_path / "synth"
    result = run("recognition", "--out", out, *TINY_REC, "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["kind"] == "recognition"
    assert summary["counts"] == {"videos": 8, "train": 4, "val": 4, "classes": 4}
    for role in ("train_list", "val_list", "classes", "manifest", "videos"):
        assert Path(summary["files"][role]).exists(), role
    lines = Path(summary["files"]["train_list"]).read_text().splitlines()
    assert len(lines) == 4 and all((out / line.split()[0]).is_file() for line in lines)
    assert "synthetic recognition dataset" in result.stderr  # the summary table


def test_localization_with_videos(tmp_path):
    result = run("localization", "--out", tmp_path / "anet", *TINY_LOC, "--with-videos", "--fps", "8",
                 "--size", "16x16", "--seed", "2", "--workers", "2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["videos"] == 4 and summary["counts"]["train"] + summary["counts"]["val"] == 4
    features = sorted(Path(summary["files"]["features"]).iterdir())
    videos = sorted(Path(summary["files"]["videos"]).iterdir())
    assert [p.stem for p in features] == [p.stem for p in videos] and len(videos) == 4
    assert Path(summary["files"]["features"]).name == "csv_mean_10"
    gt = json.loads(Path(summary["files"]["activitynet"]).read_text())
    assert sorted(gt["database"]) == [p.stem for p in features]


def test_same_seed_same_annotations(tmp_path):
    for name in ("a", "b"):
        assert run("localization", "--out", tmp_path / name, *TINY_LOC, "--seed", "9", "-j", "1").exit_code == 0
    for name in ("activity_net.json", "anet_anno_train.json", "anet_anno_val.json", "dataset.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_refuses_a_non_empty_directory_unless_force(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    result = run("recognition", "--out", tmp_path, *TINY_REC)
    assert_input_error(result, "not empty")
    assert "pass --force" in result.stderr and "overwrite" not in result.stderr  # CLI words, not Python's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    result = run("recognition", "--out", tmp_path, *TINY_REC, "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me" and (tmp_path / "classes.txt").exists()


@pytest.mark.parametrize("args, fragment", [
    (["localization", *TINY_LOC, "--num-frames", "8"], "--num-frames: only for `dataset synth recognition`"),
    (["recognition", *TINY_REC, "--with-videos"], "--with-videos: only for `dataset synth localization`"),
    (["recognition", *TINY_REC[:-1], "31x16"], "even"),
])
def test_input_errors(tmp_path, args, fragment):
    assert_input_error(run(*args, "--out", tmp_path / "x"), fragment)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_bad_size_and_kind_are_usage_errors(tmp_path):
    assert run("recognition", "--out", tmp_path, "--size", "64").exit_code == 2
    assert run("detection", "--out", tmp_path).exit_code == 2


def test_help_has_examples():
    result = CliRunner().invoke(app, ["dataset", "synth", "--help"])
    assert result.exit_code == 0
    assert "vidact dataset synth recognition --out data/synth" in result.output


def test_synth_and_build_number_classes_alike(tmp_path):
    """One rule: classes sorted by name (unless a class list is given); both write classes.txt."""
    out = tmp_path / "synth"
    assert run("recognition", "--out", out, *TINY_REC, "--val-ratio", "0.5", "--workers", "1").exit_code == 0
    synth_classes = (out / "classes.txt").read_text().split()
    assert synth_classes == sorted(synth_classes) == ["down", "left", "right", "up"]
    result = CliRunner().invoke(app, ["dataset", "build", str(out / "videos"), "--out", str(tmp_path / "built")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "built" / "classes.txt").read_text().split() == synth_classes
    synth_labels = {}
    for name in ("train_list_videos.txt", "val_list_videos.txt"):
        synth_labels.update(line.rsplit(" ", 1) for line in (out / name).read_text().splitlines())
    built_labels = {}
    for name in ("train_list_videos.txt", "val_list_videos.txt"):
        built_labels.update(line.rsplit(" ", 1) for line in (tmp_path / "built" / name).read_text().splitlines())
    assert {f"videos/{path}": label for path, label in built_labels.items()} == synth_labels
