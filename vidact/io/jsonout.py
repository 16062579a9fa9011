"""The one JSON object a command prints on stdout with --json (numpy values converted, NaN/inf as null).

Kept apart from `vidact.commands._common` (which needs Typer) so the Typer-free `vidact eval` path
prints through the same code.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if type(obj).__module__ == "numpy":  # arrays and scalars; numpy is not imported for plain values
        return _jsonable(obj.tolist() if hasattr(obj, "shape") and obj.shape else obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    """Write one JSON object to stdout (numpy values converted, NaN/inf as null)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()
