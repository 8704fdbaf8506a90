"""Tests of the public checks of Chapter 9's coding exercise (ex-eos-edge).

The reference answer must pass every case; typical wrong answers must fail, each with a
hint that points at the mistake.
"""

import numpy as np
import pytest

import optbook as ob
from optbook import check
from optbook.eos import iteration_matrix, threshold
from optbook.exercises import EXERCISES, _load_all
from optbook.exercises.ch09 import IterationMatrix

LABEL = "ex-eos-edge"


def _radius(M):
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _bisect(stable, lam_hi, iterations=200):
    lo, hi = 0.0, float(lam_hi)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if stable(mid) else (lo, mid)
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


def stability_edge(T, lam_hi):
    """The reference answer: bisection on ρ(T(λ)) < 1."""
    return _bisect(lambda lam: _radius(T(lam)) < 1, lam_hi)


def real_part(T, lam_hi):
    """Slip: the largest real part instead of the largest modulus (misses the root < −1)."""
    return _bisect(lambda lam: np.max(np.linalg.eigvals(T(lam)).real) < 1, lam_hi)


def determinant(T, lam_hi):
    """Slip: |det T| < 1, the product of the roots, instead of each root."""
    return _bisect(lambda lam: abs(np.linalg.det(T(lam))) < 1, lam_hi)


def half(T, lam_hi):
    """Slip: half the edge (the best step of Chapter 2 is half the largest)."""
    return stability_edge(T, lam_hi) / 2


def coarse(T, lam_hi):
    """Slip: ten bisection steps, a relative accuracy of 1e-3 only."""
    return _bisect(lambda lam: _radius(T(lam)) < 1, lam_hi, iterations=10)


def stub(T, lam_hi):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_cases_cover_the_three_methods_and_expect_the_proven_thresholds():
    cases = EXERCISES[LABEL]
    assert len(cases) >= 6
    text = " ".join(c.description for c in cases)
    for kind in ("gradient descent", "heavy ball", "dampening", "Adam"):
        assert kind in text
    for case in cases:
        T, lam_hi = case.args
        assert lam_hi > case.expected > 0
        assert _radius(T(0.999 * case.expected)) < 1 < _radius(T(1.001 * case.expected))


def test_reference_solution_passes(capsys):
    result = check(LABEL, stability_edge)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_real_part_fails_everywhere():
    result = check(LABEL, real_part)
    assert not result and result.score == 0.0
    assert all("largest difference" in line for line in result.failed)


def test_determinant_passes_only_gradient_descent():
    result = check(LABEL, determinant)
    assert not result
    assert all("gradient descent" in p for p in result.passed) and len(result.passed) == 2
    assert not any("gradient descent" in f for f in result.failed)


def test_half_is_named():
    result = check(LABEL, half)
    assert not result and result.score == 0.0
    assert all("half the expected value" in line for line in result.failed)


def test_a_coarse_bisection_is_not_accurate_enough():
    result = check(LABEL, coarse)
    assert not result and result.score == 0.0


def test_stub_is_not_attempted():
    result = check(LABEL, stub)
    assert not result.attempted and not result


def test_iteration_matrix_wrapper_forwards_and_names_the_method():
    T = IterationMatrix(ob.Momentum(0.1, 0.5), "heavy ball")
    np.testing.assert_array_equal(T(3.0), iteration_matrix(ob.Momentum(0.1, 0.5), 3.0))
    assert "heavy ball" in repr(T)
    assert stability_edge(T, 100.0) == pytest.approx(threshold(ob.Momentum(0.1, 0.5)), rel=1e-9)
