"""Property tests of Chapter 5's statements that SymPy checks only at small sizes.

Each test is named by a check of ``book/ch05_pl.ipynb`` (its ``covered_by``): the chapter
proves the identity with explicit matrices of symbolic entries for a few sizes, and these
tests check it numerically for random sizes and entries.
"""

import numpy as np
from helpers import SEEDS, close_to_scale, examples
from hypothesis import given
from hypothesis import strategies as st

from optbook import LeastSquares

DIMS = st.integers(1, 30)


@examples(50)
@given(n=DIMS, d=DIMS, seed=SEEDS)
def test_grad_norm_is_the_kernel_form(n, d, seed):
    """gᵀg = rᵀKr for g = DFᵀr and K = DF DFᵀ, and rᵀKr ≥ 2λ_min(K)·½‖r‖² (PL*)."""
    rng = np.random.default_rng(seed)
    DF, r = rng.standard_normal((n, d)), rng.standard_normal(n)
    g, K = DF.T @ r, DF @ DF.T
    assert close_to_scale(g @ g, r @ K @ r, np.sum(DF**2) * (r @ r))
    lam_min = np.linalg.eigvalsh(K)[0]
    assert r @ K @ r >= 2 * lam_min * (r @ r) / 2 - 1e-9 * max(1.0, np.sum(DF**2) * (r @ r))


@examples(50)
@given(d=DIMS, n=DIMS, seed=SEEDS)
def test_least_squares_pl_identity(d, n, seed):
    """∇L(w)ᵀ∇L(w) = rᵀΦᵀΦr for L(w) = ½‖Φᵀw − y‖², r = Φᵀw − y (optbook's gradient)."""
    rng = np.random.default_rng(seed)
    Phi, y, w = rng.standard_normal((d, n)), rng.standard_normal(n), rng.standard_normal(d)
    problem = LeastSquares(Phi, y)
    g, r = problem.grad(w), Phi.T @ w - y
    assert close_to_scale(g @ g, r @ Phi.T @ Phi @ r, np.sum(Phi**2) ** 2 * (r @ r))


@examples(50)
@given(d=DIMS, n=DIMS, seed=SEEDS, eta=st.floats(0.0, 2.0), data=st.data())
def test_sgd_step_residual(d, n, seed, eta, data):
    """One SGD step on sample i (B = 1, optbook's n/B scaling) maps the residual r to
    (I − ηnΦᵀΦeᵢeᵢᵀ) r."""
    rng = np.random.default_rng(seed)
    Phi, y, w = rng.standard_normal((d, n)), rng.standard_normal(n), rng.standard_normal(d)
    i = data.draw(st.integers(0, n - 1))
    problem = LeastSquares(Phi, y)
    w_plus = w - eta * problem.subset(np.array([i])).grad(w)
    e_i = np.eye(n)[:, i]
    lhs = Phi.T @ w_plus - y
    rhs = (np.eye(n) - eta * n * Phi.T @ Phi @ np.outer(e_i, e_i)) @ (Phi.T @ w - y)
    scale = (1 + eta * n * np.sum(Phi**2)) * np.linalg.norm(Phi.T @ w - y) + 1
    assert np.allclose(lhs, rhs, atol=1e-9 * scale, rtol=1e-9)
