"""Plain JSON from the pipeline's results: numpy scalars and arrays, paths, NaN where a store refuses it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def json_default(value: object) -> object:
    """``json.dumps``' ``default``: paths as text, numpy arrays as lists, numpy scalars as Python numbers."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """Plain JSON: numpy scalars/arrays to Python, NaN/inf to None (PostgreSQL's jsonb refuses NaN)."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        if isinstance(obj, dict):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    return clean(json.loads(json.dumps(value, default=json_default, allow_nan=True)))
