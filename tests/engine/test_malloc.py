"""`keep_freed_memory`: applied once on glibc, left alone when the user tunes malloc."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = "from vidact.engine.malloc import keep_freed_memory as k; print(k(), k())"


def _run(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", SCRIPT], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_applies_on_glibc_and_respects_malloc_env():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert subprocess.run([sys.executable, "-c", SCRIPT], env=clean, capture_output=True, text=True,
                          check=True).stdout.strip() == "True True"
    assert _run({"MALLOC_MMAP_MAX_": "0"}) == "False False"
