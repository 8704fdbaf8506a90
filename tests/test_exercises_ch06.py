"""Tests of the public checks of Chapter 6's coding exercise (ex-minibatch-variance).

The reference answer must pass every case; typical wrong answers must fail, each
with a hint that points at the mistake.
"""

import numpy as np
import pytest

from optbook import LeastSquares, check
from optbook.exercises import EXERCISES, _load_all
from optbook.exercises.ch06 import exact_minibatch_variance

LABEL = "ex-minibatch-variance"


def _tr_sigma(problem, w):
    G = problem.Phi * problem.residual(w) * problem.weight
    return np.mean(np.sum((G - G.mean(axis=1, keepdims=True)) ** 2, axis=0))


def reference(problem, w, B, replace):
    n = problem.n
    factor = 1.0 if replace else (n - B) / (n - 1)
    return n**2 / B * factor * _tr_sigma(problem, w)


def no_population_factor(problem, w, B, replace):
    """Slip: forgets (n - B)/(n - 1) without replacement."""
    return problem.n**2 / B * _tr_sigma(problem, w)


def divides_by_b_squared(problem, w, B, replace):
    """Slip: (1/B²) instead of 1/B."""
    return reference(problem, w, B, replace) / B


def forgets_n_squared(problem, w, B, replace):
    """Slip: the variance of the mean-scaled estimate (drops the factor n²)."""
    return reference(problem, w, B, replace) / problem.n**2


def stub(problem, w, B, replace):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_cases_cover_both_sampling_modes_and_the_full_batch():
    cases = EXERCISES[LABEL]
    assert len(cases) >= 8
    assert any(c.args[3] for c in cases) and any(not c.args[3] for c in cases)
    full = [c for c in cases if not c.args[3] and c.args[2] == c.args[0].n]
    assert full and all(c.expected == pytest.approx(0, abs=1e-20) for c in full)


def test_brute_force_matches_the_formula_on_random_instances():
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, n = rng.integers(1, 4), rng.integers(2, 6)
        problem = LeastSquares(rng.standard_normal((d, n)), rng.standard_normal(n))
        w = rng.standard_normal(d)
        for B in range(1, n + 1):
            for replace in (False, True):
                if replace and B > 3:
                    continue
                assert exact_minibatch_variance(problem, w, B, replace) == pytest.approx(
                    reference(problem, w, B, replace), rel=1e-9, abs=1e-12)


def test_reference_passes():
    result = check(LABEL, reference)
    assert result and result.score == 1.0


@pytest.mark.parametrize("wrong", [no_population_factor, divides_by_b_squared, forgets_n_squared])
def test_typical_mistakes_fail_with_a_hint(wrong):
    result = check(LABEL, wrong)
    assert not result
    assert result.failed
    report = result.report()
    assert "✘" in report and len(report.splitlines()) > 1
    assert all("expected" in line for line in result.failed)


def test_missing_population_factor_fails_only_without_replacement_and_says_so():
    result = check(LABEL, no_population_factor)
    assert result.failed and all("without replacement" in line for line in result.failed)
    assert all("(n−B)/(n−1)" in line or "exactly 0" in line for line in result.failed)
    assert any("with replacement" in line for line in result.passed)


def test_b_squared_slip_gets_the_factor_two_hint_at_b_2():
    result = check(LABEL, divides_by_b_squared)
    assert any("B=2" in line and "half the expected value" in line for line in result.failed)
    # it agrees only where 1/B² = 1/B (B = 1) or where the noise is 0 (full batch)
    assert all("B=1," in line or "exactly 0" in line for line in result.passed)


def test_stub_is_not_attempted():
    result = check(LABEL, stub)
    assert not result and not result.attempted
