"""`vidact proposals pgm` and `vidact proposals bsp`: outputs equal the library's, resume, shards, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidact.cli import app
from vidact.io.proposals import read_pgm_proposals, write_csv, write_tem_results
from vidact.localization import generate_bsp_feature, generate_candidate_proposals

SCALE = 20


@pytest.fixture
def bsn_inputs(tmp_path: Path) -> Path:
    """Four videos: TEM results at temporal scale 20 and a per-video annotation file."""
    rng = np.random.default_rng(0)
    ann = {}
    for i, name in enumerate(["v_a", "v_b", "v_c", "v_d"]):
        t = np.arange(SCALE) / SCALE
        write_tem_results(tmp_path / "tem" / f"{name}.csv",
                          np.column_stack([rng.random((SCALE, 3)), t, t + 1 / SCALE]))
        ann[name] = {"duration_second": 10.0 + i, "duration_frame": 300 + 30 * i, "feature_frame": 288 + 30 * i,
                     "fps": 30.0, "annotations": [{"segment": [1.0 + i, 6.0], "label": "x"}]}
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    return tmp_path


def _infos(root: Path) -> list[dict]:
    return [dict(v, video_name=k) for k, v in json.loads((root / "ann.json").read_text()).items()]


def _pgm(runner, root: Path, *extra: str):
    return runner.invoke(app, ["proposals", "pgm", str(root / "tem"), "--ann", str(root / "ann.json"),
                               "--out", str(root / "pgm"), "--temporal-scale", str(SCALE), *extra])


def _bsp(runner, root: Path, *extra: str):
    return runner.invoke(app, ["proposals", "bsp", str(root / "tem"), str(root / "pgm"), "--ann",
                               str(root / "ann.json"), "--out", str(root / "bsp"), *extra])


def test_pgm_then_bsp_write_what_the_library_computes(runner, bsn_inputs):
    root = bsn_inputs
    result = _pgm(runner, root, "--peak-threshold", "0.6", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["videos"] == summary["written"] == 4 and summary["failed"] == []
    expected = generate_candidate_proposals(range(4), _infos(root), root / "tem", SCALE, 0.6)
    assert summary["rows"] == sum(len(p) for p in expected.values())
    for name, proposals in expected.items():
        np.testing.assert_array_equal(read_pgm_proposals(root / "pgm" / f"{name}.csv"),
                                      proposals.astype(np.float32))

    result = _bsp(runner, root, "--top-k", "7", "--num-sample-action", "4", "--json")
    assert result.exit_code == 0, result.output
    features = generate_bsp_feature(range(4), _infos(root), root / "tem", root / "pgm", top_k=7,
                                     num_sample_action=4)
    for name, feature in features.items():
        saved = np.load(root / "bsp" / f"{name}.npy")
        assert saved.shape == (7, 20)
        np.testing.assert_array_equal(saved, feature)


def test_reruns_skip_finished_videos_and_shards_partition(runner, bsn_inputs):
    root = bsn_inputs
    first = json.loads(_pgm(runner, root, "--shard", "1/2", "--json").stdout)
    assert first["videos"] == 2 and first["shard"] == [1, 2]
    assert sorted(p.name for p in (root / "pgm").iterdir()) == ["v_b.csv", "v_d.csv"]
    (root / "pgm" / "v_b.csv").write_text("kept\n")  # a finished video is not recomputed
    second = json.loads(_pgm(runner, root, "--json").stdout)
    assert (second["videos"], second["written"], second["existing"]) == (4, 2, 2)
    assert (root / "pgm" / "v_b.csv").read_text() == "kept\n"
    assert not [p for p in (root / "pgm").iterdir() if p.name.endswith(".tmp")]


def test_workers_give_the_same_files(runner, bsn_inputs, tmp_path):
    root = bsn_inputs
    assert _pgm(runner, root, "--workers", "2").exit_code == 0
    assert _bsp(runner, root, "--workers", "2").exit_code == 0
    assert runner.invoke(app, ["proposals", "pgm", str(root / "tem"), "--ann", str(root / "ann.json"), "--out",
                               str(root / "pgm1"), "--temporal-scale", str(SCALE)]).exit_code == 0
    for name in ("v_a", "v_b", "v_c", "v_d"):
        assert (root / "pgm" / f"{name}.csv").read_bytes() == (root / "pgm1" / f"{name}.csv").read_bytes()
        assert (root / "bsp" / f"{name}.npy").exists()


def test_bad_videos_are_reported_skipped_and_exit_2(runner, bsn_inputs):
    root = bsn_inputs
    (root / "tem" / "v_b.csv").unlink()  # an annotation whose video has no TEM file
    write_csv(root / "tem" / "v_c.csv", ["action", "start", "tmin", "tmax"], np.zeros((SCALE, 4)))
    ann = json.loads((root / "ann.json").read_text())
    ann["v_d"]["duration_frame"] = 0  # zero duration
    (root / "ann.json").write_text(json.dumps(ann))
    result = _pgm(runner, root, "--json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["written"] == 1
    errors = {f["video"]: f["error"] for f in summary["failed"]}
    assert "v_b.csv: no such file" in errors["v_b"]
    assert "v_c.csv: missing column 'end'" in errors["v_c"]
    assert "'v_d': zero duration" in errors["v_d"]
    assert "skipped:" in result.stderr and "v_c.csv" in result.stderr


def test_bad_annotation_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "tem").mkdir()
    (tmp_path / "ann.json").write_text(json.dumps({"v_a": {"duration_second": 1.0, "annotations": []}}))
    proc = subprocess.run([sys.executable, "-m", "vidact", "proposals", "pgm", str(tmp_path / "tem"), "--ann",
                           str(tmp_path / "ann.json"), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error:") and "ann.json: ['v_a']: missing 'duration_frame'" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "ann.json").write_text(json.dumps({"v_a": {"duration_second": 1.0, "duration_frame": 30,
                                                          "feature_frame": 16, "annotations": []}}))
    proc = subprocess.run([sys.executable, "-m", "vidact", "proposals", "bsp", str(tmp_path / "nope"),
                           str(tmp_path / "tem"), "--ann", str(tmp_path / "ann.json"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and "nope: no such folder" in proc.stderr


def test_bad_shard_is_exit_2(runner, bsn_inputs):
    result = _pgm(runner, bsn_inputs, "--shard", "2/2")
    assert result.exit_code == 2 and "--shard" in result.output
