"""`vidact recipe import`: an MMAction config in, a validated recipe out (and nothing run)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.schemas.test_mmconfig_import import BASE_1X, CHILD_1X, write_config
from vidact.schemas.load import load_recipe, recipe_problems


@pytest.fixture
def app():
    from vidact.cli import app

    return app


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X})


def test_import_writes_a_recipe_that_validates(app, runner, config, tmp_path):
    out = tmp_path / "my.yaml"
    result = runner.invoke(app, ["recipe", "import", str(config), "--out", str(out), "--video-decoder", "pyav"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "skipped default_hooks.visualization: 'VisualizationHook': vidact has no such hook" in result.stderr
    assert f"wrote {out}" in result.stderr
    assert recipe_problems(out) == []
    text = out.read_text()
    assert text.startswith("# Imported from child.py by `vidact recipe import`.")
    assert "#   custom_hooks[0]: 'EMAHook': vidact has no such hook" in text
    validated = runner.invoke(app, ["recipe", "validate", str(out)])
    assert validated.exit_code == 0 and f"ok {out}" in validated.stderr
    assert load_recipe(out).model.cls_head.num_classes == 7


def test_import_json_and_set(app, runner, config, tmp_path):
    out = tmp_path / "my.yaml"
    result = runner.invoke(app, ["recipe", "import", str(config), "-o", str(out), "--json",
                                 "--set", "model.cls_head.num_classes=12"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(out) and summary["files"][-1] == str(config)
    assert {"config": "train_cfg.max_epochs", "recipe": "total_epochs"} in summary["translated"]
    assert {s["path"] for s in summary["skipped"]} == {
        "default_hooks.visualization", "custom_hooks[0]", "train_dataloader.persistent_workers"}
    assert load_recipe(out).model.cls_head.num_classes == 12


def test_syntax_error_is_one_line_exit_2_and_writes_nothing(app, runner, tmp_path):
    config = tmp_path / "broken.py"
    config.write_text("model = dict(type='Recognizer2D'\noptimizer = 1\n")
    out = tmp_path / "out.yaml"
    result = runner.invoke(app, ["recipe", "import", str(config), "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {config}:1: invalid Python:")


def test_untranslatable_config_exits_2_listing_problems(app, runner, tmp_path):
    config = tmp_path / "gcn.py"
    config.write_text("model = dict(type='RecognizerGCN', backbone=dict(type='STGCN'))\n")
    out = tmp_path / "out.yaml"
    result = runner.invoke(app, ["recipe", "import", str(config), "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "model: skipped: type 'RecognizerGCN' has no vidact counterpart" in result.stderr


def test_real_process_runs_no_config_code(tmp_path):
    marker = tmp_path / "ran"
    config = write_config(tmp_path, {"base.py": BASE_1X, "child.py": CHILD_1X + textwrap.dedent(f"""
        import os
        os.system('touch {marker}')
        hook = os.system('touch {marker}')
    """)})
    script = Path(sys.executable).with_name("vidact")
    vidact = [str(script)] if script.exists() else [sys.executable, "-m", "vidact"]
    out = tmp_path / "r.yaml"
    done = subprocess.run([*vidact, "recipe", "import", str(config), "--out", str(out), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    summary = json.loads(done.stdout)
    assert any(n.endswith("import of os not run") for n in summary["notes"])
    assert {"path": "hook", "reason": next(s["reason"] for s in summary["skipped"] if s["path"] == "hook")} \
        in summary["skipped"]
    assert recipe_problems(out) == []
