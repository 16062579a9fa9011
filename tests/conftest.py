"""Shared fixtures: fixed seeds and a CliRunner for the root app; the settings of parallel runs."""

from __future__ import annotations

import os
import random

# Under pytest-xdist (`make test` runs `-n auto`) each worker takes one core: one torch/OpenMP thread,
# inherited by the `vidact` subprocesses and loader workers the tests start (vidact's own thread rule
# yields to OMP_NUM_THREADS). Set before numpy or torch load their thread pools.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
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


# Under xdist the slow end-to-end modules run first, longest first, so the longest ones start at once
# and the work-stealing scheduler (`--dist worksteal`) evens out the rest; a plain run keeps the
# collection order. Weights: rough CPU minutes on 2 cores; unlisted slow modules weigh 1.
SLOW_FIRST = {
    "tests/test_toy_acceptance.py": 8,
    "tests/test_toy_bmn_acceptance.py": 4,
    "tests/test_readme.py": 3,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not XDIST_WORKER:
        return

    def weight(item: pytest.Item) -> float:
        if item.get_closest_marker("slow") is None:
            return 0.0
        return SLOW_FIRST.get(item.nodeid.split("::")[0], 1.0)

    items.sort(key=weight, reverse=True)  # stable: within a module and among the fast tests, the order stays
