"""`vidact doctor` reports each check; --json is one object; a required failure exits 1."""

from __future__ import annotations

import json

from vidact import system
from vidact.cli import app


def test_doctor_json_lists_all_checks(runner, tmp_path):
    result = runner.invoke(app, ["doctor", "--work-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    names = [c["name"] for c in data["checks"]]
    assert names == ["python", "torch", "pyav", "opencv", "decord", "cores", "disk", "work_dir"]
    assert data["ok"] is True
    pyav = next(c for c in data["checks"] if c["name"] == "pyav")
    assert pyav["details"]["h264_decode"] is True


def test_doctor_fails_with_fix(runner, tmp_path, monkeypatch):
    broken = system.Check("torch", "fail", "not importable", fix="pip install torch==2.13.0")
    monkeypatch.setattr(system, "check_torch", lambda: broken)
    result = runner.invoke(app, ["doctor", "--work-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install torch==2.13.0" in result.stderr
