"""Krippendorff's alpha: published values, the ``krippendorff`` package, and the bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from workbench.domain import AlphaResult, Level
from workbench.stats.alpha import (
    _pattern_weights,
    _ResampleModel,
    _unique_rows,
    alpha_from_matrix,
    alpha_with_ci,
    krippendorff_alpha,
    value_counts_from_matrix,
)
from workbench.stats.reliability_table import parse_reliability_table

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reliability"
LEVELS = [level.value for level in Level]


def _published_cases() -> list:
    expected = REFERENCE / "expected.json"
    if not expected.is_file():
        return [pytest.param(None, None, None, id="reference-data-missing")]
    published = json.loads(expected.read_text(encoding="utf-8"))
    return [
        pytest.param(name, level, value, id=f"{name}-{level}")
        for name, entry in sorted(published.items())
        for level, value in sorted(entry["published_alpha"].items())
    ]


def _require_reference() -> None:
    if not (REFERENCE / "expected.json").is_file():
        pytest.fail(
            f"reference data not found at {REFERENCE}: the published Krippendorff values live in "
            "tests/data/reliability (see tests/data/SOURCES.md)"
        )


def _matrix(name: str) -> np.ndarray:
    _require_reference()
    return parse_reliability_table((REFERENCE / name).read_text(encoding="utf-8")).matrix


def _random_matrix(rng: np.random.Generator, domain, raters=5, units=40, missing=0.3) -> np.ndarray:
    data = rng.choice(np.asarray(domain, dtype=float), size=(raters, units))
    data[rng.random(data.shape) < missing] = np.nan
    return data


# --------------------------------------------------------------------------- published values


@pytest.mark.parametrize(("name", "level", "published"), _published_cases())
def test_reproduces_published_alpha(name, level, published):
    _require_reference()
    result = alpha_from_matrix(_matrix(name), level)
    assert result.alpha == pytest.approx(published, abs=1e-3)


def test_every_reference_table_has_published_values():
    _require_reference()
    listed = set(json.loads((REFERENCE / "expected.json").read_text(encoding="utf-8")))
    tables = {
        path.name
        for path in REFERENCE.glob("*.csv")
        if path.read_text(encoding="utf-8").lstrip("\ufeff").lower().startswith("rater,")
    }
    assert tables == listed


# --------------------------------------------------------------------------- krippendorff package


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(5))
def test_value_count_path_matches_reliability_data(level, seed):
    rng = np.random.default_rng(seed)
    matrix = _random_matrix(rng, [0, 1, 2.5, 4, 7, 11], raters=int(rng.integers(2, 7)), units=50)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    counts, domain = value_counts_from_matrix(matrix)
    assert krippendorff_alpha(counts, domain, level).alpha == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(5))
def test_resample_alphas_match_krippendorff_on_resampled_counts(level, seed):
    rng = np.random.default_rng(100 + seed)
    counts, domain = value_counts_from_matrix(_random_matrix(rng, [1, 2, 3, 5, 8], raters=4, units=60))
    counts = counts[counts.sum(axis=1) >= 2]
    patterns, _, _ = _unique_rows(counts)
    weights = rng.integers(0, 4, size=(8, len(patterns)))
    weights[:, 0] += 1  # never an empty resample
    got = _ResampleModel(patterns, domain, Level(level)).alphas(weights.astype(float))
    for row, value in zip(weights, got, strict=True):
        resampled = np.repeat(patterns, row, axis=0)
        if (resampled.sum(axis=0) > 0).sum() < 2:
            assert np.isnan(value)
        else:
            expected = krippendorff.alpha(value_counts=resampled, value_domain=domain, level_of_measurement=level)
            assert value == pytest.approx(expected, abs=1e-9)


def test_unique_rows_reconstructs_counts():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 3, size=(500, 4))
    patterns, inverse, freq = _unique_rows(counts)
    assert np.array_equal(patterns[inverse], counts)
    assert freq.sum() == 500 and len(np.unique(patterns, axis=0)) == len(patterns)
    wide = np.zeros((3, 40), dtype=np.int64)  # too wide to pack into one integer key
    wide[0, 0], wide[1, 0], wide[2, 39] = 5, 5, 9
    patterns, inverse, freq = _unique_rows(wide)
    assert np.array_equal(patterns[inverse], wide) and sorted(freq) == [1, 2]


@pytest.mark.parametrize("n_patterns", [5, 400], ids=["multinomial", "indices"])
def test_pattern_weights_resample_units_with_replacement(n_patterns):
    n_units = 800
    pattern_of_unit = np.arange(n_units) % n_patterns
    freq = np.bincount(pattern_of_unit)
    rows = np.concatenate(list(_pattern_weights(np.random.default_rng(0), pattern_of_unit, freq, 3000)))
    assert rows.shape == (3000, n_patterns)
    assert (rows.sum(axis=1) == n_units).all()
    assert np.allclose(rows.mean(axis=0), freq, rtol=0.1)


# --------------------------------------------------------------------------- units, values, undefined


def test_units_with_fewer_than_two_values_are_dropped_and_counted():
    counts = np.array([[2, 0, 0], [1, 1, 0], [0, 1, 2], [0, 0, 1], [0, 0, 0]])
    result = krippendorff_alpha(counts, [1, 2, 3], "interval")
    assert (result.n_units, result.n_units_dropped, result.n_values) == (3, 2, 7)
    expected = krippendorff.alpha(value_counts=counts[:3], value_domain=[1, 2, 3], level_of_measurement="interval")
    assert result.alpha == pytest.approx(expected)


def test_alpha_is_none_without_variation_or_pairable_units():
    one_value = krippendorff_alpha(np.array([[3, 0], [2, 0]]), [0, 1], "nominal")
    assert one_value.alpha is None and one_value.n_units == 2
    lonely = krippendorff_alpha(np.array([[1, 0], [0, 1]]), [0, 1], "nominal")
    assert lonely.alpha is None and (lonely.n_units, lonely.n_units_dropped) == (0, 2)
    empty = alpha_from_matrix(np.full((3, 4), np.nan), "interval")
    assert empty.alpha is None and empty.n_units_dropped == 4
    single_domain = krippendorff_alpha(np.array([[2], [3]]), ["x"], "nominal")
    assert single_domain.alpha is None


def test_perfect_agreement_is_one():
    assert krippendorff_alpha(np.array([[2, 0], [0, 3]]), [0, 1], "ratio").alpha == pytest.approx(1.0)


def test_ordinal_accepts_an_ordered_label_domain():
    matrix = _matrix("krippendorff-2018-p290.csv")
    counts, domain = value_counts_from_matrix(matrix)
    labels = np.array(["very low", "low", "mid", "high", "very high"], dtype=object)
    assert krippendorff_alpha(counts, labels, "ordinal").alpha == pytest.approx(0.815, abs=1e-3)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_point_estimate_on_published_data():
    result = alpha_with_ci(*value_counts_from_matrix(_matrix("hayes-krippendorff-2007.csv")), "ordinal")
    assert result.alpha == pytest.approx(0.7598, abs=1e-3)
    assert result.ci_low < result.alpha < result.ci_high
    assert (result.n_resamples, result.ci_level) == (1000, 0.95)
    assert "percentile bootstrap" in result.method and "seed 0" in result.method


@pytest.mark.parametrize("level", LEVELS)
def test_bootstrap_is_deterministic_for_a_seed(level):
    counts, domain = value_counts_from_matrix(_matrix("krippendorff-2018-p290.csv"))
    first = alpha_with_ci(counts, domain, level, n_resamples=300, seed=7)
    assert first == alpha_with_ci(counts, domain, level, n_resamples=300, seed=7)
    other = alpha_with_ci(counts, domain, level, n_resamples=300, seed=8)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.alpha == krippendorff_alpha(counts, domain, level).alpha


def test_bootstrap_interval_narrows_with_more_units():
    counts, domain = value_counts_from_matrix(_matrix("hayes-krippendorff-2007.csv"))
    small = alpha_with_ci(counts, domain, "ordinal")
    large = alpha_with_ci(np.tile(counts, (16, 1)), domain, "ordinal")
    assert large.alpha == pytest.approx(small.alpha, abs=0.01)  # only the small-sample correction moves
    assert large.ci_low < large.alpha < large.ci_high
    assert (large.ci_high - large.ci_low) < 0.5 * (small.ci_high - small.ci_low)


@pytest.mark.parametrize(
    ("raters", "domain", "units", "path"),
    [(2, [1, 2, 3], 200, "multinomial"), (6, [1, 2, 3, 4, 5, 6], 300, "indices")],
)
def test_bootstrap_matches_explicit_resampling_in_distribution(raters, domain, units, path):
    rng = np.random.default_rng(11)
    counts, domain = value_counts_from_matrix(_random_matrix(rng, domain, raters=raters, units=units, missing=0.2))
    pairable = counts[counts.sum(axis=1) >= 2]
    n_patterns = len(_unique_rows(pairable)[0])
    assert (8 * n_patterns <= len(pairable)) == (path == "multinomial")
    result = alpha_with_ci(counts, domain, "interval", n_resamples=1000, seed=1)
    explicit = [
        krippendorff.alpha(
            value_counts=pairable[rng.integers(0, len(pairable), len(pairable))],
            value_domain=domain,
            level_of_measurement="interval",
        )
        for _ in range(1000)
    ]
    low, high = np.quantile(explicit, [0.025, 0.975])
    width = high - low
    assert result.ci_low == pytest.approx(low, abs=0.15 * width)
    assert result.ci_high == pytest.approx(high, abs=0.15 * width)


def test_bootstrap_skips_resamples_without_variation():
    # Two units where everyone agrees on 0, one split unit: about 30% of resamples of
    # three units contain no split unit and so have no variation at all.
    counts = np.array([[3, 0], [3, 0], [2, 1]])
    with np.errstate(all="raise"):
        result = alpha_with_ci(counts, [0, 1], "nominal", n_resamples=1000, seed=3)
    skipped = 1000 - result.n_resamples
    assert 200 < skipped < 400
    assert f"{skipped} skipped as undefined" in result.method
    assert result.ci_low is not None and np.isfinite([result.ci_low, result.ci_high]).all()


def test_bootstrap_without_defined_alpha_has_no_interval():
    result = alpha_with_ci(np.array([[2, 0], [3, 0], [1, 0]]), [0, 1], "nominal")
    assert result.alpha is None and result.ci_low is None and result.ci_high is None
    assert result.n_resamples == 0 and (result.n_units, result.n_units_dropped) == (2, 1)


def test_alpha_from_matrix_with_resamples_reports_interval():
    result = alpha_from_matrix(_matrix("wikipedia.csv"), "interval", n_resamples=200, seed=2, ci_level=0.9)
    assert isinstance(result, AlphaResult) and result.level is Level.INTERVAL
    assert result.ci_level == 0.9 and result.n_resamples == 200 and result.ci_low <= result.ci_high


# --------------------------------------------------------------------------- building counts


def test_value_counts_from_numeric_matrix():
    counts, domain = value_counts_from_matrix([[1, 2.5, np.nan], [10, 2.5, np.nan]])
    assert domain.tolist() == [1.0, 2.5, 10.0]
    assert counts.tolist() == [[1, 0, 1], [0, 2, 0], [0, 0, 0]]


def test_value_counts_from_object_matrix():
    matrix = np.array([["b", None, "a"], ["b", "c", None]], dtype=object)
    counts, domain = value_counts_from_matrix(matrix)
    assert domain.tolist() == ["a", "b", "c"]
    assert counts.tolist() == [[0, 2, 0], [0, 0, 1], [1, 0, 0]]
    counts, domain = value_counts_from_matrix(np.array([[10, None], [9, 2]], dtype=object))
    assert domain.tolist() == [2.0, 9.0, 10.0] and counts.tolist() == [[0, 1, 1], [1, 0, 0]]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.array([1.0, 2.0]), "2-D"),
        (np.array([[1, "a"]], dtype=object), "mixes numbers and strings"),
        (np.array([[1.0, np.inf]]), "infinite"),
    ],
)
def test_value_counts_from_matrix_rejects(matrix, message):
    with pytest.raises(ValueError, match=message):
        value_counts_from_matrix(matrix)


def test_string_categories_are_nominal_only():
    matrix = np.array([["a", "b"], ["a", "a"]], dtype=object)
    assert alpha_from_matrix(matrix, "nominal").n_units == 2
    with pytest.raises(ValueError, match="use nominal"):
        alpha_from_matrix(matrix, "ordinal")


@pytest.mark.parametrize(
    ("counts", "domain", "level", "message"),
    [
        ([[1, 1]], [0, 1], "cardinal", "unknown level"),
        ([1, 1], [0, 1], "nominal", "2-D"),
        ([[1, 1]], [0, 1, 2], "nominal", "one entry per column"),
        ([[1, -1]], [0, 1], "nominal", "negative"),
        ([[1.5, 1]], [0, 1], "nominal", "whole numbers"),
        ([[np.inf, 1]], [0, 1], "nominal", "whole numbers"),
        ([["1", "1"]], [0, 1], "nominal", "whole numbers"),
        ([[1, 1]], [1, 1], "nominal", "duplicate"),
        ([[1, 1]], [2, 1], "ordinal", "strictly increasing"),
        ([[1, 1]], ["a", "b"], "interval", "numeric value_domain"),
        ([[1, 1]], [-1, 1], "ratio", "non-negative"),
    ],
)
def test_krippendorff_alpha_rejects_bad_input(counts, domain, level, message):
    with pytest.raises(ValueError, match=message):
        krippendorff_alpha(np.array(counts), domain, level)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"n_resamples": 0}, "n_resamples"), ({"n_resamples": 2.5}, "n_resamples"), ({"ci_level": 1.0}, "ci_level")],
)
def test_alpha_with_ci_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        alpha_with_ci(np.array([[1, 1]]), [0, 1], "nominal", **options)
