"""docs/differences.md: the tests it cites exist, and it covers the reference's AssertionError places."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "differences.md"


def test_every_cited_test_exists():
    text = DOC.read_text()
    cited = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    assert cited, "the doc should name the tests that state each behaviour"
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = sorted(name for name in cited if f"def {name}(" not in sources)
    assert missing == []


def test_names_the_porting_essentials():
    text = DOC.read_text()
    for phrase in ("AssertionError", "except ValueError", "TypeError", "efficient",
                   "calculate_overlap_self", "TSMOptimizerConstructor", "stable", "start_index", "io_backend"):
        assert phrase in text, phrase
