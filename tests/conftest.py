"""Shared fixtures: fixed seeds and a CliRunner for the root app; the settings of parallel runs."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no locking (no xdist workers sharing data there)
    fcntl = None

# Under pytest-xdist (`make test` runs `-n auto`) each worker takes one core: one torch/OpenMP thread,
# inherited by the `vidact` subprocesses and loader workers the tests start (vidact's own thread rule
# yields to OMP_NUM_THREADS). Set before numpy or torch load their thread pools.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from suite_order import spread_heavy
from typer.testing import CliRunner

# Timing-based health checks are flaky on shared 2-core CI machines; correctness checks stay on.
settings.register_profile(
    "vidact", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("vidact")


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], object]], Path]:
    """`shared_data(name, build)`: the folder `name`, filled by `build(folder)` once per test run, also
    when several xdist workers ask for it at once (the first builds it under a lock, the others wait).
    For read-only inputs that are expensive to make, such as the acceptance datasets."""

    # xdist: the run's folder, above each worker's own; else this run's folder
    base = tmp_path_factory.getbasetemp().parent if XDIST_WORKER else tmp_path_factory.getbasetemp()

    def get(name: str, build: Callable[[Path], object]) -> Path:
        root, done = base / name, base / f"{name}.done"
        with open(base / f"{name}.lock", "w") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                shutil.rmtree(root, ignore_errors=True)  # what a failed build left
                build(root)
                done.touch()
        return root

    return get


# Under xdist the slow end-to-end (and torchrun) tests are placed first, so the longest start at once
# on different workers: `--dist worksteal` first hands worker i the i-th of N equal slices of the
# collection, so the heavy units are spread over the slices (longest first, each to the slice with
# the least weight so far) and put at their heads; work stealing evens out the rest. A plain run
# keeps the collection order. A unit is a whole module holding a slow test (its module-scoped
# fixtures are built once) or a test listed here; weights are rough minutes on 2 idle cores, 1 for
# unlisted units.
HEAVY = {
    "tests/test_toy_acceptance.py::test_tsm_learns_the_direction_of_motion": 6.0,
    "tests/test_readme.py": 2.0,
    "tests/test_toy_acceptance.py::test_tsn_stays_at_chance": 1.5,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not XDIST_WORKER or workers < 2:
        return
    slow_modules = {item.nodeid.split("::")[0] for item in items
                    if item.get_closest_marker("slow") or item.get_closest_marker("distributed")}

    def unit(item: pytest.Item) -> tuple[str, float] | None:
        test, module = item.nodeid.split("[")[0], item.nodeid.split("::")[0]
        name = test if test in HEAVY else module
        return (name, HEAVY.get(name, 1.0)) if name in HEAVY or module in slow_modules else None

    items[:] = spread_heavy(items, unit, workers)
