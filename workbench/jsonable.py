"""Plain JSON values from what the statistics return (numpy values, dataclasses, enums)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as lists and numbers, dataclasses and dicts
    as objects, tuples as lists, enums as their values and NaN as None (JSON has no NaN)."""
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if hasattr(value, "value") and not isinstance(value, int | float | str):
        return value.value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
