"""Shared fixtures: fixed seeds and a CliRunner for the root app."""

from __future__ import annotations

import random

import numpy as np
import pytest
from typer.testing import CliRunner


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
