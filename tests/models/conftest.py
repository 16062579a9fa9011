"""Model tests: one intra-op thread and a fixed torch seed.

Tiny convolutions gain nothing from a second thread, and on a shared 2-core machine two threads per
process oversubscribe the cores and run several times slower.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="package", autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _torch_seed() -> None:
    torch.manual_seed(0)
