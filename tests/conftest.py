"""Shared fixtures: fixed seeds and a CliRunner for the root app."""

from __future__ import annotations

import random

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
