import json
from dataclasses import dataclass

import numpy as np

from workbench.domain import Role
from workbench.jsonable import jsonable


@dataclass
class Point:
    x: float
    tags: tuple


def test_numpy_dataclasses_enums_and_nan_become_plain_json():
    value = {
        "array": np.array([1.5, np.nan]),
        "scalar": np.int64(3),
        "point": Point(np.float64(0.25), ("a", Role.RATER)),
        "missing": float("nan"),
    }
    out = jsonable(value)
    assert out == {"array": [1.5, None], "scalar": 3, "point": {"x": 0.25, "tags": ["a", "rater"]}, "missing": None}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert type(out["scalar"]) is int
