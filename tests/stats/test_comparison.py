"""Two-rater comparison against Krippendorff (2004, p.246) tables 4a and 4b."""

from __future__ import annotations

import csv

import krippendorff
import numpy as np
import pytest

from workbench.domain import Level
from workbench.stats.comparison import confusion_matrix, scotts_pi, two_rater_agreement

LETTERS = ("a", "b", "c")


def _units(reference_data, table: str) -> tuple[np.ndarray, np.ndarray]:
    """The published contingency table expanded back into one (coder 1, coder 2) pair per unit."""
    x, y = [], []
    with open(reference_data / "reliability" / "krippendorff-2004-p246-contingency.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["table"] == table:
                n = int(row["count"])
                x += [LETTERS.index(row["coder1"])] * n
                y += [LETTERS.index(row["coder2"])] * n
    return np.array(x), np.array(y)


@pytest.mark.parametrize(("table", "kappa"), [("4a", 0.186), ("4b", 0.258)])
def test_published_kappa_pi_and_agreement(reference_data, table, kappa):
    x, y = _units(reference_data, table)
    result = two_rater_agreement(x, y, range(3), Level.NOMINAL)
    assert result.n_units == 100
    assert result.percent_agreement == pytest.approx(0.460, abs=1e-3)
    assert result.kappa == pytest.approx(kappa, abs=1e-3)
    assert result.scotts_pi == pytest.approx(0.186, abs=1e-3)
    # The confusion matrix gives back the published table.
    if table == "4b":
        assert result.contingency.tolist() == [[12, 18, 18], [0, 14, 18], [0, 0, 20]]
    # Alpha agrees with the krippendorff package on the same data.
    expected = krippendorff.alpha(reliability_data=np.vstack([x, y]).astype(float), level_of_measurement="nominal")
    assert result.alpha == pytest.approx(expected, abs=1e-9)


def test_edge_cases():
    empty = two_rater_agreement([], [], range(3))
    assert (empty.n_units, empty.kappa, empty.percent_agreement, empty.alpha) == (0, None, None, None)
    same = two_rater_agreement([1, 1, 1], [1, 1, 1], range(3))
    assert same.percent_agreement == 1.0 and same.kappa is None and scotts_pi(same.contingency) is None
    perfect = two_rater_agreement([0, 1, 2, 1], [0, 1, 2, 1], range(3), "ordinal")
    assert perfect.kappa == pytest.approx(1.0) and perfect.alpha == pytest.approx(1.0)
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0], 3)
