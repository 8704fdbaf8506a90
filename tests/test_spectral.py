"""Tests of optbook.spectral: eigenvalues, the condition number, the Rayleigh quotient.

Eigenvalues are compared with ``numpy.linalg.eigvalsh`` on random symmetric
matrices; the condition number is checked by hand, on singular positive
semi-definite matrices (inf) and on indefinite ones (an error); the Rayleigh
quotient against vᵀH(w)v/vᵀv, and it must lie between the extreme eigenvalues
of H(w), on random quadratics and logistic-regression problems.
"""

import numpy as np
import pytest
from helpers import PROPERTY, SEEDS, from_spectrum, random_orthogonal, random_symmetric
from hypothesis import given
from hypothesis import strategies as st

from optbook.problems import LogisticRegression, Quadratic
from optbook.spectral import (
    condition_number,
    eigenvalues,
    lambda_max,
    lambda_min,
    rayleigh_quotient,
)

DIMS = st.integers(1, 8)


def random_problem(kind, d, seed):
    """A random Quadratic (indefinite in general) or LogisticRegression and a random point."""
    rng = np.random.default_rng(seed)
    if kind == "quadratic":
        problem = Quadratic(random_symmetric(d, rng), rng.uniform(-2, 2, d))
    else:
        n = int(rng.integers(1, 10))
        problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
    return problem, rng.uniform(-2, 2, d), rng


# --------------------------------------------------------------------------
# Eigenvalues
# --------------------------------------------------------------------------

def test_eigenvalues_by_hand():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])  # eigenvalues 1 and 3
    np.testing.assert_allclose(eigenvalues(H), [1.0, 3.0])
    assert lambda_max(H) == pytest.approx(3.0)
    assert lambda_min(H) == pytest.approx(1.0)
    assert condition_number(H) == pytest.approx(3.0)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_eigenvalues_are_sorted_and_match_eigvalsh(d, seed):
    H = random_symmetric(d, np.random.default_rng(seed))
    lam = eigenvalues(H)
    assert lam.shape == (d,)
    assert np.all(np.diff(lam) >= 0)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(H), rtol=0, atol=1e-13)
    assert isinstance(lambda_max(H), float)
    assert isinstance(lambda_min(H), float)
    assert lambda_max(H) == lam[-1]
    assert lambda_min(H) == lam[0]


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_extreme_eigenvalues_bound_the_quadratic_form(d, seed):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    V = rng.normal(size=(20, d))
    quotients = np.einsum("ki,ij,kj->k", V, H, V) / np.einsum("ki,ki->k", V, V)
    assert np.all(quotients <= lambda_max(H) + 1e-12)
    assert np.all(quotients >= lambda_min(H) - 1e-12)


def test_eigenvalues_accept_nested_lists():
    np.testing.assert_allclose(eigenvalues([[0.0, 1.0], [1.0, 0.0]]), [-1.0, 1.0])


# --------------------------------------------------------------------------
# Condition number
# --------------------------------------------------------------------------

@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_condition_number_of_a_positive_definite_matrix(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    H = A @ A.T + 0.1 * np.eye(d)
    lam = np.linalg.eigvalsh(H)
    kappa = condition_number(H)
    assert kappa == pytest.approx(lam[-1] / lam[0], rel=1e-8)
    assert kappa >= 1.0
    assert condition_number(3.0 * H) == pytest.approx(kappa, rel=1e-8)


def test_condition_number_of_a_multiple_of_the_identity_is_one():
    assert condition_number(5.0 * np.eye(4)) == pytest.approx(1.0)


@PROPERTY
@given(d=st.integers(2, 8), seed=SEEDS, data=st.data())
def test_condition_number_of_a_singular_psd_matrix_is_inf(d, seed, data):
    rng = np.random.default_rng(seed)
    rank = data.draw(st.integers(1, d - 1))
    Phi = rng.normal(size=(d, rank))
    H = Phi @ Phi.T  # rank < d: its smallest eigenvalue is zero up to round-off
    assert condition_number(H) == np.inf


def test_condition_number_of_exactly_singular_matrices_is_inf():
    assert condition_number(np.diag([0.0, 1.0, 2.0])) == np.inf
    assert condition_number(np.zeros((3, 3))) == np.inf


@pytest.mark.parametrize("H", [np.diag([-1.0, 1.0]), -np.eye(3),
                               np.array([[0.0, 1.0], [1.0, 0.0]]),
                               np.diag([-1e-6, 1.0])])
def test_condition_number_rejects_an_indefinite_matrix(H):
    with pytest.raises(ValueError, match=r"^H must be positive semi-definite"):
        condition_number(H)


@PROPERTY
@given(d=st.integers(2, 8), seed=SEEDS)
def test_condition_number_rejects_random_indefinite_matrices(d, seed):
    rng = np.random.default_rng(seed)
    Q = random_orthogonal(d, rng)
    lam = np.r_[-rng.uniform(0.1, 1.0), rng.uniform(0.1, 5.0, d - 1)]
    with pytest.raises(ValueError, match=r"^H\b"):
        condition_number(from_spectrum(Q, lam))


# --------------------------------------------------------------------------
# Rayleigh quotient
# --------------------------------------------------------------------------

@PROPERTY
@given(kind=st.sampled_from(["quadratic", "logistic"]), d=DIMS, seed=SEEDS)
def test_rayleigh_quotient_is_vHv_over_vv_and_lies_between_extreme_eigenvalues(kind, d, seed):
    problem, w, rng = random_problem(kind, d, seed)
    v = rng.normal(size=d)
    H = problem.hessian(w)
    r = rayleigh_quotient(problem, w, v)
    assert isinstance(r, float)
    scale = 1.0 + np.abs(H).max()
    assert r == pytest.approx(v @ H @ v / (v @ v), rel=1e-12, abs=1e-12 * scale)
    lam = np.linalg.eigvalsh(H)
    assert lam[0] - 1e-12 * scale <= r <= lam[-1] + 1e-12 * scale


@PROPERTY
@given(kind=st.sampled_from(["quadratic", "logistic"]), d=DIMS, seed=SEEDS,
       c=st.floats(-1e3, 1e3).filter(lambda c: abs(c) > 1e-3))
def test_rayleigh_quotient_is_scale_invariant(kind, d, seed, c):
    problem, w, rng = random_problem(kind, d, seed)
    v = rng.normal(size=d)
    scale = 1.0 + np.abs(problem.hessian(w)).max()
    assert rayleigh_quotient(problem, w, c * v) == pytest.approx(
        rayleigh_quotient(problem, w, v), rel=1e-12, abs=1e-12 * scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_rayleigh_quotient_at_eigenvectors_is_the_eigenvalue(d, seed):
    problem, w, _ = random_problem("quadratic", d, seed)
    lam, Q = np.linalg.eigh(problem.H)
    for i in range(d):
        assert rayleigh_quotient(problem, w, Q[:, i]) == pytest.approx(lam[i], abs=1e-12)


def test_rayleigh_quotient_by_hand():
    q = Quadratic(np.diag([1.0, 3.0]))
    assert rayleigh_quotient(q, [0.0, 0.0], [1.0, 1.0]) == pytest.approx(2.0)
    assert rayleigh_quotient(q, [5.0, -1.0], [0.0, 2.0]) == pytest.approx(3.0)


def test_rayleigh_quotient_rejects_bad_input():
    q = Quadratic(np.diag([1.0, 3.0]))
    with pytest.raises(ValueError, match=r"^v must be nonzero"):
        rayleigh_quotient(q, [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"^v\b"):
        rayleigh_quotient(q, [0.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"^v\b"):
        rayleigh_quotient(q, [0.0, 0.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"^w\b"):
        rayleigh_quotient(q, [0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"^w\b"):
        rayleigh_quotient(q, [np.inf, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"^problem\b"):
        rayleigh_quotient(object(), [0.0, 0.0], [1.0, 0.0])


# --------------------------------------------------------------------------
# Bad matrices
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [eigenvalues, lambda_max, lambda_min, condition_number])
def test_matrix_functions_reject_bad_matrices(fn):
    with pytest.raises(ValueError, match=r"^H must be symmetric"):
        fn(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"^H must be square"):
        fn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^H must be a 2-D matrix"):
        fn(np.ones(3))
    with pytest.raises(ValueError, match=r"^H must contain only finite"):
        fn(np.array([[np.nan, 0.0], [0.0, 1.0]]))
