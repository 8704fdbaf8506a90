"""Property tests of Chapter 4's statements that SymPy checks only at small sizes.

Each test is named by a check of ``book/ch04_rates.ipynb`` (its ``covered_by``): the
chapter proves the identity with explicit matrices of symbolic entries for d <= 3, and
these tests check it numerically for random sizes and entries. A last test checks the
bound of Proposition prop-rates-last-grad along gradient descent on random least squares.
"""

import numpy as np
from helpers import SEEDS, close_to_scale, examples
from hypothesis import given
from hypothesis import strategies as st

from optbook import GD, LeastSquares, run
from optbook.spectral import lambda_max

DIMS = st.integers(1, 40)


@examples(50)
@given(d=DIMS, n=DIMS, seed=SEEDS)
def test_least_squares_first_order_error(d, n, seed):
    """L(v) - L(u) = grad L(u)^T (v - u) + ½ ‖Φ^T (v - u)‖² for L(w) = ½‖Φ^T w − y‖²."""
    rng = np.random.default_rng(seed)
    Phi, y = rng.standard_normal((d, n)), rng.standard_normal(n)
    u, v = rng.standard_normal((2, d))
    problem = LeastSquares(Phi, y)
    lhs = problem.loss(v) - problem.loss(u)
    rhs = problem.grad(u) @ (v - u) + 0.5 * np.sum((Phi.T @ (v - u)) ** 2)
    assert close_to_scale(lhs, rhs, abs(problem.loss(v)) + abs(problem.loss(u)))


@examples(50)
@given(d=DIMS, seed=SEEDS)
def test_lagrange_identity(d, seed):
    """‖a‖²‖b‖² − (aᵀb)² = ½ tr((abᵀ − baᵀ)ᵀ(abᵀ − baᵀ)) (so Cauchy–Schwarz holds)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, d))
    wedge = np.outer(a, b) - np.outer(b, a)
    lhs = (a @ a) * (b @ b) - (a @ b) ** 2
    rhs = 0.5 * np.trace(wedge.T @ wedge)
    assert close_to_scale(lhs, rhs, (a @ a) * (b @ b))
    assert rhs >= 0


@examples(50)
@given(d=DIMS, seed=SEEDS, eta=st.floats(0.0, 10.0))
def test_three_point_identity(d, seed, eta):
    """‖w − ηg − w*‖² = ‖w − w*‖² − 2η gᵀ(w − w*) + η²‖g‖² for any vectors."""
    rng = np.random.default_rng(seed)
    w, w_star, g = rng.standard_normal((3, d))
    lhs = np.sum((w - eta * g - w_star) ** 2)
    rhs = np.sum((w - w_star) ** 2) - 2 * eta * g @ (w - w_star) + eta**2 * g @ g
    assert close_to_scale(lhs, rhs, np.sum((w - w_star) ** 2) + eta**2 * g @ g)


@examples(50)
@given(d=DIMS, seed=SEEDS, eta=st.floats(0.0, 10.0))
def test_gd_error_recursion(d, seed, eta):
    """One GD step on ½(w − w*)ᵀH(w − w*): w − ηH(w − w*) − w* = (I − ηH)(w − w*)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    H = A @ A.T
    w, w_star = rng.standard_normal((2, d))
    lhs = w - eta * H @ (w - w_star) - w_star
    rhs = (np.eye(d) - eta * H) @ (w - w_star)
    assert np.allclose(lhs, rhs, rtol=1e-9, atol=1e-9 * max(1.0, eta * np.abs(H).max()))


@examples(20)
@given(d=st.integers(1, 15), extra=st.integers(0, 15), seed=SEEDS)
def test_last_gradient_of_least_squares(d, extra, seed):
    """Proposition prop-rates-last-grad on least squares (n ≥ d, a unique minimiser):
    the gradient norm never increases and ‖g_t‖ ≤ 2β‖w_0 − w*‖/t."""
    rng = np.random.default_rng(seed)
    n = d + extra
    Phi = rng.standard_normal((d, n)) * np.logspace(0, -1, d)[:, None]
    problem = LeastSquares(Phi, rng.standard_normal(n))
    beta = lambda_max(problem.hessian())
    w_star = np.linalg.lstsq(Phi.T, problem.y, rcond=None)[0]
    w0 = rng.standard_normal(d)
    traj = run(GD(1 / beta), problem, w0, steps=200)
    norms = traj.grad_norm
    assert np.all(np.diff(norms) <= 1e-10 * max(1.0, norms[0]))
    t = np.arange(1, norms.size)
    bound = 2 * beta * np.linalg.norm(w0 - w_star) / t
    assert np.all(norms[1:] <= bound * (1 + 1e-9) + 1e-12)
