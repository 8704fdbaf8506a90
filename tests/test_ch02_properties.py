"""Property tests for the statements Chapter 2 checks in SymPy at small sizes only.

Chapter 2 (book/ch02_step_size.ipynb) proves its matrix identities with explicit
matrices of symbolic entries for d = 1, 2, 3 (or a few shapes (d, n)); each such
check names the test below that covers it, which checks the same statement in
floating point on random problems of every size from 1 to 12 (hypothesis).
Tolerances are relative to the size of the terms involved.
"""

import numpy as np
from helpers import SEEDS, central_differences, examples, random_spd, random_symmetric
from hypothesis import given
from hypothesis import strategies as st

PROPERTY = examples(40)
DIMS = st.integers(1, 12)
RTOL = 1e-10


def loss(H, b, w):
    """L(w) = ½ wᵀHw − bᵀw, the chapter's quadratic without the constant."""
    return 0.5 * w @ H @ w - b @ w


def close(a, b, scale):
    return abs(a - b) <= RTOL * (1.0 + scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_gradient_of_the_quadratic_is_Hw_minus_b(d, seed):
    """∇L(w) = Hw − b: central differences are exact for a quadratic, up to round-off."""
    rng = np.random.default_rng(seed)
    H, b, w = random_symmetric(d, rng), rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    fd = central_differences(lambda v: loss(H, b, v), w, r=1e-3)
    np.testing.assert_allclose(fd, H @ w - b, rtol=1e-7, atol=1e-7)


@PROPERTY
@given(d=DIMS, seed=SEEDS, eta=st.floats(-3, 3))
def test_one_step_change_of_a_quadratic(d, seed, eta):
    """L(w − ηg) − L(w) = −η gᵀg + ½η² gᵀHg with g = Hw − b, for every η."""
    rng = np.random.default_rng(seed)
    H, b, w = random_symmetric(d, rng), rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    g = H @ w - b
    change = loss(H, b, w - eta * g) - loss(H, b, w)
    formula = -eta * g @ g + 0.5 * eta**2 * g @ H @ g
    scale = abs(loss(H, b, w)) + abs(eta) * g @ g + eta**2 * np.abs(g) @ np.abs(H) @ np.abs(g)
    assert close(change, formula, scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS, eta=st.floats(-3, 3))
def test_change_along_any_direction(d, seed, eta):
    """L(w + ηp) − L(w) = η gᵀp + ½η² pᵀHp (exercise ex-direction-step)."""
    rng = np.random.default_rng(seed)
    H, b = random_symmetric(d, rng), rng.uniform(-2, 2, d)
    w, p = rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    g = H @ w - b
    change = loss(H, b, w + eta * p) - loss(H, b, w)
    formula = eta * g @ p + 0.5 * eta**2 * p @ H @ p
    scale = abs(loss(H, b, w)) + abs(eta) * np.abs(g) @ np.abs(p) \
        + eta**2 * np.abs(p) @ np.abs(H) @ np.abs(p)
    assert close(change, formula, scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_loss_gap_is_half_the_error_in_the_H_norm(d, seed):
    """With b = Hw*: L(w) − L(w*) = ½ (w − w*)ᵀH(w − w*)."""
    rng = np.random.default_rng(seed)
    H, w_star, w = random_symmetric(d, rng), rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    b = H @ w_star
    e = w - w_star
    gap = loss(H, b, w) - loss(H, b, w_star)
    scale = abs(loss(H, b, w)) + abs(loss(H, b, w_star))
    assert close(gap, 0.5 * e @ H @ e, scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS, eta=st.floats(0, 2))
def test_error_of_a_gd_step_is_multiplied_by_I_minus_eta_H(d, seed, eta):
    """e_{t+1} = w − ηg − w* equals (I − ηH) e_t, with g = Hw − b and b = Hw*."""
    rng = np.random.default_rng(seed)
    H, w_star, w = random_symmetric(d, rng), rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    g = H @ w - H @ w_star
    np.testing.assert_allclose(w - eta * g - w_star, (np.eye(d) - eta * H) @ (w - w_star),
                               rtol=RTOL, atol=RTOL * (1 + eta * np.abs(H).sum()))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_newton_step_zeroes_the_model_gradient_and_the_loss_gradient(d, seed):
    """δ = −H⁻¹g gives g + Hδ = 0, and w⁺ = w − H⁻¹(Hw − b) gives Hw⁺ − b = 0."""
    rng = np.random.default_rng(seed)
    H, b, w = random_spd(d, rng)[0], rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    g = H @ w - b
    delta = -np.linalg.solve(H, g)
    atol = 1e-9 * (1 + np.abs(g).max() + np.abs(b).max())
    np.testing.assert_allclose(g + H @ delta, 0, atol=atol)
    np.testing.assert_allclose(H @ (w + delta) - b, 0, atol=atol)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_newton_direction_has_best_step_one(d, seed):
    """p = −H⁻¹g gives −gᵀp = pᵀHp (= gᵀH⁻¹g), so the best step along p is 1."""
    rng = np.random.default_rng(seed)
    H, g = random_spd(d, rng)[0], rng.uniform(-2, 2, d)
    p = -np.linalg.solve(H, g)
    assert close(-g @ p, p @ H @ p, abs(g @ p))


@PROPERTY
@given(d=DIMS, n=DIMS, seed=SEEDS)
def test_quadratic_form_of_phi_phi_transpose_is_a_squared_norm(d, n, seed):
    """vᵀΦΦᵀv = uᵀu with u = Φᵀv."""
    rng = np.random.default_rng(seed)
    Phi, v = rng.normal(size=(d, n)), rng.normal(size=d)
    u = Phi.T @ v
    assert close(v @ Phi @ Phi.T @ v, u @ u, u @ u)


@PROPERTY
@given(n=st.integers(1, 8), extra=st.integers(1, 6), seed=SEEDS)
def test_least_squares_hessian_is_singular_when_n_is_below_d(n, extra, seed):
    """For Φ ∈ R^{d×n} with n < d, H = ΦΦᵀ has rank ≤ n < d: a nonzero v with Hv = 0."""
    d = n + extra
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(d, n))
    H = Phi @ Phi.T
    assert np.linalg.matrix_rank(H) <= n < d
    # an exact null vector: orthogonal to the columns of Φ
    q, _ = np.linalg.qr(np.c_[Phi, rng.normal(size=(d, 1))])
    v = q[:, -1]
    np.testing.assert_allclose(H @ v, 0, atol=1e-10 * (1 + np.abs(H).max()))
