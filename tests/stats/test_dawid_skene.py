"""Dawid & Skene (1979) EM: the published patient data, a crowd-kit reference, synthetic raters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.stats.dawid_skene import DawidSkeneResult, dawid_skene

DATA = Path(__file__).resolve().parents[1] / "data" / "calibration" / "dawid-skene-1979"


def _patients() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    path = DATA / "patients_long.csv"
    if not path.is_file():
        pytest.fail(f"reference data not found at {path}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64)
    assert table.shape == (315, 4)
    patient, observer, repeat, label = table.T
    return patient, observer, repeat, label


def _reference() -> dict:
    return json.loads((DATA / "crowdkit-reference.json").read_text(encoding="utf-8"))


def _reference_priors(ref: dict) -> np.ndarray:
    return np.array([ref["class_priors"][str(k)] for k in range(1, 5)])


def _reference_labels(ref: dict, patients: np.ndarray) -> np.ndarray:
    return np.array([ref["labels"][str(p)] for p in patients.tolist()])


def _three_readings_as_raters(observer, repeat) -> np.ndarray:
    """Observer 1's readings become raters 11, 12, 13; observers 2-5 become 21..51 (sparse ids)."""
    return np.where(observer == 1, 10 + repeat, 10 * observer + 1)


# --------------------------------------------------------------------------- reference data


def test_matches_crowdkit_reference_at_its_stopping_point():
    """crowd-kit 1.4.2 stops after 3 EM rounds on this data.

    Its stopping rule compares an "ELBO" that adds log prior once per *rating* rather than
    once per item; that quantity is not monotone under EM and falls at round 3, so the
    reference is the state after three rounds (its posteriors agree with ours after three
    rounds to 5e-5). We converge on the true log-likelihood instead; see the next tests.
    """
    patient, observer, repeat, label = _patients()
    ref = _reference()
    fit = dawid_skene(patient, _three_readings_as_raters(observer, repeat), label - 1, 4, max_iter=3, accelerate=False)
    assert fit.iterations == 3
    np.testing.assert_allclose(fit.priors, _reference_priors(ref), atol=0.01)
    np.testing.assert_allclose(fit.posteriors.mean(axis=0), _reference_priors(ref), atol=2e-4)
    np.testing.assert_array_equal(fit.labels + 1, _reference_labels(ref, fit.item_ids))
    reference_max = np.array([ref["posterior_max"][str(p)] for p in fit.item_ids.tolist()])
    np.testing.assert_allclose(fit.posteriors.max(axis=1), reference_max, atol=1e-3)


def test_paper_setup_converges_to_the_reference_priors_and_labels():
    """Dawid & Skene's own setup: observer 1 is one rater whose three readings all count."""
    patient, observer, _, label = _patients()
    ref = _reference()
    fit = dawid_skene(patient, observer, label - 1, 4)
    assert fit.converged and fit.iterations < 100
    np.testing.assert_array_equal(fit.item_ids, np.arange(1, 46))
    np.testing.assert_array_equal(fit.rater_ids, np.arange(1, 6))
    np.testing.assert_allclose(fit.priors, _reference_priors(ref), atol=0.01)
    np.testing.assert_array_equal(fit.labels + 1, _reference_labels(ref, fit.item_ids))
    np.testing.assert_allclose(fit.confusion.sum(axis=2), 1.0)


def test_three_raters_converged_differs_from_crowdkit_only_on_its_least_certain_patient():
    """Run to convergence, the three-reading setup moves patient 3 (crowd-kit: 0.64 for class 2).

    Patient 3 was read 1, 1, 2 by observer 1, 2 by observer 2 and 1, 2, 2 by observers 3-5;
    with observer 1 split into three raters its two readings of 1 weigh as two witnesses.
    """
    patient, observer, repeat, label = _patients()
    ref = _reference()
    fit = dawid_skene(patient, _three_readings_as_raters(observer, repeat), label - 1, 4)
    assert fit.converged
    differ = set(fit.item_ids[fit.labels + 1 != _reference_labels(ref, fit.item_ids)].tolist())
    assert differ == {3}
    assert ref["posterior_max"]["3"] < 0.65
    np.testing.assert_allclose(fit.priors, _reference_priors(ref), atol=0.02)


def test_log_likelihood_never_decreases():
    patient, observer, repeat, label = _patients()
    raters = _three_readings_as_raters(observer, repeat)
    values = [dawid_skene(patient, raters, label - 1, 4, max_iter=n, tol=0).log_likelihood for n in range(1, 16)]
    assert np.all(np.diff(values) >= -1e-9)


def test_converged_fit_is_a_fixed_point():
    patient, observer, _, label = _patients()
    fit = dawid_skene(patient, observer, label - 1, 4, tol=1e-10, max_iter=1000)
    longer = dawid_skene(patient, observer, label - 1, 4, tol=0, max_iter=fit.iterations + 20)
    np.testing.assert_allclose(longer.posteriors, fit.posteriors, atol=1e-6)
    np.testing.assert_allclose(longer.confusion, fit.confusion, atol=1e-6)


# --------------------------------------------------------------------------- synthetic raters


def _simulate(rng, confusions, priors, n_items):
    truth = rng.choice(len(priors), size=n_items, p=priors)
    items, raters, labels = [], [], []
    for r, confusion in enumerate(confusions):
        said = np.array([rng.choice(len(priors), p=confusion[t]) for t in truth])
        items.append(np.arange(n_items))
        raters.append(np.full(n_items, r))
        labels.append(said)
    return truth, np.concatenate(items), np.concatenate(raters), np.concatenate(labels)


def _symmetric(accuracy: float, k: int) -> np.ndarray:
    off = (1.0 - accuracy) / (k - 1)
    return np.full((k, k), off) + np.eye(k) * (accuracy - off)


def test_competence_ordering_and_confusion_recovery():
    rng = np.random.default_rng(11)
    priors = np.array([0.5, 0.3, 0.2])
    accuracies = [0.9, 0.8, 0.7, 0.6, 0.45]
    confusions = [_symmetric(a, 3) for a in accuracies]
    biased = np.array([[0.6, 0.4, 0.0], [0.0, 0.9, 0.1], [0.0, 0.3, 0.7]])  # over-uses class 1
    confusions.append(biased)
    truth, items, raters, labels = _simulate(rng, confusions, priors, 2000)
    fit = dawid_skene(items, raters, labels, 3)
    assert fit.converged
    expected = np.array([priors @ np.diag(c) for c in confusions])
    np.testing.assert_allclose(fit.competence, expected, atol=0.03)
    assert list(np.argsort(-fit.competence[:5])) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(fit.priors, priors, atol=0.03)
    np.testing.assert_allclose(fit.confusion[5], biased, atol=0.06)
    assert (fit.labels == truth).mean() > 0.95


def test_arbitrary_ids_give_the_same_fit_as_codes():
    rng = np.random.default_rng(3)
    _, items, raters, labels = _simulate(rng, [_symmetric(a, 2) for a in (0.9, 0.7, 0.6)], [0.6, 0.4], 200)
    plain = dawid_skene(items, raters, labels, 2)
    sparse = dawid_skene(items * 7 + 1000, np.array([42, -5, 900])[raters], labels, 2)
    np.testing.assert_array_equal(sparse.item_ids, np.arange(200) * 7 + 1000)
    np.testing.assert_array_equal(sparse.rater_ids, [-5, 42, 900])
    np.testing.assert_allclose(sparse.posteriors, plain.posteriors)
    np.testing.assert_allclose(sparse.confusion, plain.confusion[[1, 0, 2]])


def test_repeated_ratings_each_count():
    """Two identical ratings by one rater weigh as much as that rating by two identical raters
    in the E-step; the first M-step gives the closed form on a tiny case."""
    items = np.array([0, 0, 0, 1, 1])
    raters = np.array([0, 0, 1, 0, 1])
    labels = np.array([1, 1, 0, 0, 0])
    fit = dawid_skene(items, raters, labels, 2, max_iter=1)
    # majority-vote start: item 0 = (1/3, 2/3), item 1 = (1, 0); priors = mean
    np.testing.assert_allclose(fit.priors, [2 / 3, 1 / 3])
    # rater 0, true class 0: labels 1,1 on item 0 (weight 1/3 each) and 0 on item 1 (weight 1)
    np.testing.assert_allclose(fit.confusion[0, 0], [1 / (1 + 2 / 3), (2 / 3) / (1 + 2 / 3)])
    np.testing.assert_allclose(fit.confusion[0, 1], [0.0, 1.0])
    assert isinstance(fit, DawidSkeneResult)


@pytest.mark.parametrize(
    "items, raters, labels, k",
    [
        ([0, 1], [0, 0], [0, 2], 2),  # label out of range
        ([0, 1], [0], [0, 1], 2),  # lengths differ
        ([], [], [], 2),  # nothing to fit
        ([0.5, 1], [0, 0], [0, 1], 2),  # non-integer ids
    ],
)
def test_rejects_bad_input(items, raters, labels, k):
    with pytest.raises(ValueError):
        dawid_skene(np.array(items), np.array(raters), np.array(labels), k)


def _crowd(n_items=1000, n_raters=30, k=3, seed=1):
    """Three ratings per item from raters of accuracy 0.55..0.95 who err uniformly."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    accuracy = rng.uniform(0.55, 0.95, n_raters)
    items = np.repeat(np.arange(n_items), 3)
    raters = np.concatenate([rng.choice(n_raters, 3, replace=False) for _ in range(n_items)])
    correct = rng.random(items.size) < accuracy[raters]
    labels = np.where(correct, truth[items], (truth[items] + rng.integers(1, k, items.size)) % k)
    return items, raters, labels


def test_default_fit_reaches_the_fixed_point_of_plain_em():
    """The accelerated default against plain EM run for 20,000 rounds (no stopping rule)."""
    items, raters, labels = _crowd(n_items=500, n_raters=20)
    fit = dawid_skene(items, raters, labels, 3)
    plain = dawid_skene(items, raters, labels, 3, accelerate=False, max_iter=20_000, tol=0)
    assert fit.converged and fit.iterations < 1000
    assert fit.log_likelihood == pytest.approx(plain.log_likelihood, abs=1e-5)
    np.testing.assert_allclose(fit.competence, plain.competence, atol=1e-4)
    np.testing.assert_allclose(fit.posteriors, plain.posteriors, atol=1e-3)
    short = dawid_skene(items, raters, labels, 3, accelerate=False, max_iter=100, tol=1e-5)  # the old default
    assert np.abs(short.competence - plain.competence).max() > 1e-3  # which stopped short


def test_acceleration_never_lowers_the_log_likelihood():
    items, raters, labels = _crowd(n_items=300, n_raters=60, seed=2)
    previous = -np.inf
    for rounds in range(1, 60, 3):
        fit = dawid_skene(items, raters, labels, 3, max_iter=rounds, tol=0)
        assert fit.log_likelihood >= previous - 1e-9
        previous = fit.log_likelihood
