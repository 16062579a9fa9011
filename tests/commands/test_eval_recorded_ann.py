"""`vidact eval RESULTS` without --ann: the ground truth is the annotation file the results record.

Writers stamp `annotation_record(ann)` into their protocol; `recorded_annotation` reads it back.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidact.cli import app
from vidact.errors import InputError
from vidact.io.provenance import annotation_record, recorded_annotation


def run(*args: object, input: str | None = None):
    return CliRunner().invoke(app, ["eval", *map(str, args), "--json"], input=input)


def stamped(name: str, document: dict, ann: Path) -> Path:
    path = Path(name)
    path.write_text(json.dumps({**document, "protocol": {"num_clips": 1, **annotation_record(ann)}}))
    return path


def test_annotation_record_names_the_file_and_its_hash(eval_files):
    record = annotation_record(eval_files["videos"])
    assert record == {"ann_file": str(eval_files["videos"].resolve()),
                      "ann_file_sha256": hashlib.sha256(eval_files["videos"].read_bytes()).hexdigest()}


def test_recognition_scores_find_their_list(eval_files):
    scores = stamped("s.json", json.loads(eval_files["scores_json"].read_text()), eval_files["videos"])
    result = run(scores)
    assert result.exit_code == 0, result.output
    given = run("--ann", eval_files["videos"], scores)
    assert json.loads(result.stdout)["metrics"] == json.loads(given.stdout)["metrics"]
    assert f"ground truth: {eval_files['videos'].resolve()} (recorded in s.json)" in result.stderr
    assert json.loads(result.stdout)["warnings"] == json.loads(given.stdout)["warnings"]  # hash agrees


def test_npy_scores_find_their_list_through_the_sidecar(eval_files):
    Path("scores.npy.protocol.json").write_text(json.dumps(annotation_record(eval_files["videos"])))
    assert recorded_annotation("scores.npy") == eval_files["videos"].resolve()
    result = run(eval_files["scores"])
    assert result.exit_code == 0, result.output


def test_ar_an_results_find_their_ground_truth(eval_files):
    """`vidact eval --metric AR@AN results.json`, as written in the docs."""
    results = stamped("results.json", json.loads(eval_files["proposals"].read_text()), eval_files["gt"])
    result = run("--metric", "AR@AN", results)
    assert result.exit_code == 0, result.output
    given = run("--metric", "AR@AN", "--ann", eval_files["gt"], results)
    assert json.loads(result.stdout)["metrics"] == json.loads(given.stdout)["metrics"]
    assert "gt.json (recorded in results.json)" in result.stderr


@pytest.mark.parametrize("case", ["none recorded", "gone", "npy without sidecar"])
def test_clear_errors_when_nothing_usable_is_recorded(eval_files, case):
    if case == "none recorded":
        target, fragment = eval_files["proposals"], "proposals.json: records no annotation file"
    elif case == "gone":
        target = stamped("r.json", json.loads(eval_files["proposals"].read_text()), eval_files["gt"])
        eval_files["gt"].unlink()
        fragment = "r.json: the annotation file it records"
    else:
        target, fragment = eval_files["scores"], "records no annotation file"
    result = run(target)
    assert result.exit_code == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and fragment in first, result.stderr
    assert "--ann" in result.stderr


def test_stdin_needs_ann(eval_files):
    with pytest.raises(InputError, match="--ann is needed"):
        recorded_annotation("-")
    result = run("-", input=eval_files["scores_json"].read_text())
    assert result.exit_code == 2 and "--ann is needed" in result.stderr


def test_test_protocol_records_the_annotation_file(tmp_path):
    """What `vidact test` stamps: the recipe's data.test.ann_file, resolved, with its hash."""
    from types import SimpleNamespace

    from vidact.engine.runs import test_protocol

    ann = tmp_path / "val.txt"
    ann.write_text("a.mp4 0\n")
    ckpt = tmp_path / "c.pth"
    ckpt.write_bytes(b"x")
    recipe = SimpleNamespace(data=SimpleNamespace(test=SimpleNamespace(ann_file=str(ann), pipeline=[])),
                             model=SimpleNamespace(test_cfg=None))
    protocol = test_protocol(recipe, [{"imgs": np.zeros((1, 3, 1, 8, 8))}], ckpt)
    assert protocol["ann_file"] == str(ann.resolve())
    assert protocol["ann_file_sha256"] == hashlib.sha256(b"a.mp4 0\n").hexdigest()
