"""Property-based tests of the statements Chapter 1 checks symbolically at a few sizes.

SymPy proves each statement with explicit matrices of symbolic entries at the sizes
listed in the chapter; these tests check the same statements numerically for random
sizes ``d, n`` up to 8 and random data. The least-squares loss is quadratic, so central
differences are exact up to round-off.
"""

import numpy as np
from helpers import PROPERTY, SEEDS, central_differences
from hypothesis import given
from hypothesis import strategies as st

SIZES = dict(d=st.integers(1, 8), n=st.integers(1, 8), seed=SEEDS)


def data(d, n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, d), rng.uniform(-2, 2, n), rng


def loss(Phi, w, y):
    r = Phi.T @ w - y
    return 0.5 * r @ r


def tol(*arrays):
    return 1e-8 * max(1.0, *(np.abs(a).max() for a in arrays))


@PROPERTY
@given(**SIZES)
def test_least_squares_gradient(d, n, seed):
    """∇L(w) = Φ(Φᵀw − y)."""
    Phi, w, y, _ = data(d, n, seed)
    g = Phi @ (Phi.T @ w - y)
    fd = central_differences(lambda v: loss(Phi, v, y), w, r=1e-3)
    np.testing.assert_allclose(fd, g, atol=tol(g))


@PROPERTY
@given(**SIZES)
def test_least_squares_hessian(d, n, seed):
    """∇²L(w) = ΦΦᵀ: the columns of the Hessian are central differences of the gradient."""
    Phi, w, y, _ = data(d, n, seed)
    grad = lambda v: Phi @ (Phi.T @ v - y)  # noqa: E731
    cols = central_differences(grad, w, r=1.0)  # exact: the gradient is affine
    np.testing.assert_allclose(cols, Phi @ Phi.T, atol=tol(Phi @ Phi.T))


@PROPERTY
@given(**SIZES)
def test_least_squares_model_is_exact(d, n, seed):
    """L(w + Δ) − L(w) = gᵀΔ + ½ΔᵀHΔ for every Δ."""
    Phi, w, y, rng = data(d, n, seed)
    delta = rng.uniform(-2, 2, d)
    g, H = Phi @ (Phi.T @ w - y), Phi @ Phi.T
    lhs = loss(Phi, w + delta, y) - loss(Phi, w, y)
    rhs = g @ delta + 0.5 * delta @ H @ delta
    assert abs(lhs - rhs) <= tol(lhs, rhs, H)


@PROPERTY
@given(**SIZES)
def test_one_gradient_step_is_exact(d, n, seed):
    """L(w − ηg) − L(w) = −ηgᵀg + ½η²gᵀHg."""
    Phi, w, y, rng = data(d, n, seed)
    eta = rng.uniform(0, 1)
    g, H = Phi @ (Phi.T @ w - y), Phi @ Phi.T
    lhs = loss(Phi, w - eta * g, y) - loss(Phi, w, y)
    rhs = -eta * g @ g + 0.5 * eta**2 * g @ H @ g
    assert abs(lhs - rhs) <= tol(lhs, rhs, g @ H @ g)


@PROPERTY
@given(**SIZES)
def test_gradient_of_the_gradient(d, n, seed):
    """∇_w(cᵀg(w)) = Hc for every fixed c (with c = 1: H·1)."""
    Phi, w, y, rng = data(d, n, seed)
    c = rng.uniform(-2, 2, d)
    H = Phi @ Phi.T
    f = lambda v: c @ (Phi @ (Phi.T @ v - y))  # noqa: E731
    np.testing.assert_allclose(central_differences(f, w, r=1e-3), H @ c, atol=tol(H @ c))
    ones = np.ones(d)
    f1 = lambda v: ones @ (Phi @ (Phi.T @ v - y))  # noqa: E731
    np.testing.assert_allclose(central_differences(f1, w, r=1e-3), H @ ones, atol=tol(H))


@PROPERTY
@given(**SIZES, k=st.integers(1, 4))
def test_power_traces_agree(d, n, seed, k):
    """tr((ΦΦᵀ)^k) = tr((ΦᵀΦ)^k), so H and K share their nonzero eigenvalues."""
    Phi, *_ = data(d, n, seed)
    a = np.trace(np.linalg.matrix_power(Phi @ Phi.T, k))
    b = np.trace(np.linalg.matrix_power(Phi.T @ Phi, k))
    assert abs(a - b) <= 1e-10 * max(1.0, abs(a))


@PROPERTY
@given(**SIZES, lam=st.floats(0.01, 10))
def test_ridge_gradient_hessian_model(d, n, seed, lam):
    """Ridge: ∇L_λ = Φ(Φᵀw − y) + λw, ∇²L_λ = ΦΦᵀ + λI, exact model, vᵀ∇²L_λ v ≥ λ‖v‖²."""
    Phi, w, y, rng = data(d, n, seed)
    ridge = lambda v: loss(Phi, v, y) + lam / 2 * v @ v  # noqa: E731
    g = Phi @ (Phi.T @ w - y) + lam * w
    H = Phi @ Phi.T + lam * np.eye(d)
    np.testing.assert_allclose(central_differences(ridge, w, r=1e-3), g, atol=tol(g, H))
    delta = rng.uniform(-2, 2, d)
    lhs = ridge(w + delta) - ridge(w)
    assert abs(lhs - (g @ delta + 0.5 * delta @ H @ delta)) <= tol(lhs, H)
    v = rng.uniform(-2, 2, d)
    assert np.isclose(v @ H @ v, (Phi.T @ v) @ (Phi.T @ v) + lam * v @ v)
    assert v @ H @ v >= lam * v @ v - tol(H)
