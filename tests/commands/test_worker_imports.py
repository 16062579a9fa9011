"""Worker processes import the vidact the command runs, whatever the current directory holds.

Each command runs from a directory holding a folder named `vidact` (empty, as in the parent of a
clone, or with a bogus `__init__.py`), started the way the `vidact` console script starts it: a
script outside the current directory, with vidact found through an import hook appended to
`sys.meta_path`, as an editable install (`pip install -e .`) finds it. Before the fix the fork
server of extract-frames, started as `python -c ...` with the current directory first on
`sys.path`, imported that folder as `vidact` while preloading, and every worker forked from it
failed to unpickle its job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidact.parallel import installed_vidact_in_children

ROOT = Path(__file__).resolve().parents[2]

SITECUSTOMIZE = f"""
import importlib.machinery, importlib.util, sys

class _InstalledVidact:
    # An editable install's finder: it maps the top-level name to the source tree (and leaves the
    # submodules to the package's __path__).
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "vidact":
            return importlib.util.spec_from_file_location(
                name, {str(ROOT / "vidact" / "__init__.py")!r}, submodule_search_locations=[{str(ROOT / "vidact")!r}])
        return None

# it stands in for any editable install of vidact in this environment, after the path finder,
# where such finders sit
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable___vidact")]
sys.meta_path.insert(sys.meta_path.index(importlib.machinery.PathFinder) + 1, _InstalledVidact)
"""

LAUNCHER = "import sys\nfrom vidact.cli import main\n\nif __name__ == '__main__':\n    sys.exit(main())\n"

FORKSERVER_LOADER = """
import sys
import torch
from torch.utils.data import TensorDataset
from torch.utils.data.dataloader import default_collate

from vidact.data.build import build_dataloader

if __name__ == "__main__":
    loader = build_dataloader(TensorDataset(torch.arange(8)), 2, 2, dist=False, shuffle=False, seed=0,
                              multiprocessing_context="forkserver", collate_fn=default_collate,
                              persistent_workers=False)
    print(sorted(int(v) for batch in loader for v in batch[0]))
"""

BOGUS_INIT = """
import os
# a package named vidact that is not vidact: leave a mark when anything imports it
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "IMPORTED"), "a") as fh:
    fh.write(f"{os.getpid()}\\n")
"""


@pytest.fixture(params=["empty", "bogus"])
def shadowed_cwd(request, tmp_path: Path) -> Path:
    """A working directory whose `vidact` folder would shadow the installed package."""
    cwd = tmp_path / "cwd"
    (cwd / "vidact").mkdir(parents=True)
    if request.param == "bogus":
        (cwd / "vidact" / "__init__.py").write_text(BOGUS_INIT)
    return cwd


@pytest.fixture
def installed(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """(the command prefix of a console script, its environment): vidact comes from an import hook,
    not from a `sys.path` entry."""
    site, bin_dir = tmp_path / "site", tmp_path / "bin"
    site.mkdir()
    bin_dir.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (bin_dir / "vidact").write_text(LAUNCHER)
    (bin_dir / "forkserver_loader.py").write_text(FORKSERVER_LOADER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env.update(PYTHONPATH=str(site), OMP_NUM_THREADS="1", COLUMNS="200")
    return [sys.executable, str(bin_dir / "vidact")], env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _assert_not_shadowed(cwd: Path, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ModuleNotFoundError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not (cwd / "vidact" / "IMPORTED").exists(), "a worker imported the folder in the current directory"


@pytest.mark.slow
def test_dataset_and_extraction_workers(shadowed_cwd: Path, installed, tmp_path: Path):
    vidact, env = installed
    data, frames = tmp_path / "data", tmp_path / "frames"
    synth = _run([*vidact, "dataset", "synth", "recognition", "--out", str(data), "--videos-per-class", "2",
                  "--num-frames", "8", "--size", "32x32", "-j", "2", "--json"], shadowed_cwd, env)
    _assert_not_shadowed(shadowed_cwd, synth)
    check = _run([*vidact, "dataset", "check", str(data / "train_list_videos.txt"), "--data-prefix",
                   str(data), "-j", "2", "--json"], shadowed_cwd, env)
    _assert_not_shadowed(shadowed_cwd, check)
    extract = _run([*vidact, "extract-frames", str(data / "videos"), "-o", str(frames), "-j", "2", "--json"],
                   shadowed_cwd, env)
    _assert_not_shadowed(shadowed_cwd, extract)
    summary = json.loads(extract.stdout)
    videos = list((data / "videos").rglob("*.mp4"))
    assert len(videos) >= 4 and len(list(frames.rglob("manifest.json"))) == len(videos), summary


@pytest.mark.slow
def test_forkserver_loader_workers(shadowed_cwd: Path, installed, tmp_path: Path):
    # DataLoader workers under forkserver (Python 3.14's default start method on Linux); 3.11's
    # fork server preloads no vidact module itself, later versions may (the main script)
    vidact, env = installed
    proc = _run([sys.executable, str(Path(vidact[1]).parent / "forkserver_loader.py")], shadowed_cwd, env)
    _assert_not_shadowed(shadowed_cwd, proc)
    assert proc.stdout.strip() == str(list(range(8)))


def test_children_leave_the_current_directory_off_their_path(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    probe = [sys.executable, "-c", "import sys; print(repr(sys.path[0]))"]
    with installed_vidact_in_children():
        assert os.environ["PYTHONSAFEPATH"] == "1"
        first = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    assert "PYTHONSAFEPATH" not in os.environ  # only while starting the children
    if sys.version_info >= (3, 11):
        assert first != "''"  # `-c` would put '' (the current directory) first


def test_a_vidact_run_from_its_own_clone_keeps_the_current_directory(monkeypatch):
    # `python -m vidact` in a clone that is not installed: the children need the current directory
    monkeypatch.delenv("PYTHONSAFEPATH", raising=False)
    monkeypatch.chdir(ROOT)
    with installed_vidact_in_children():
        assert "PYTHONSAFEPATH" not in os.environ
