"""Tests of optbook.problems.LogisticRegression and optbook.taylor.upper_model.

Logistic regression: the loss and gradient by hand on a tiny example, the
gradient against central finite differences, hvp against the Hessian, the
Hessian symmetric positive semi-definite with λ_max(H(w)) <= smoothness()
everywhere (equality at w = 0), no warning and no NaN at huge w, bad labels and
shapes rejected.

upper_model: with β = smoothness() it lies above the loss at every displacement,
it equals L(w) at Δ = 0, accepts one displacement or a stack of them, and
with a β well below the true smoothness it stops being an upper bound.
"""

import math

import numpy as np
import pytest
from helpers import PROPERTY, SEEDS, central_differences
from hypothesis import given
from hypothesis import strategies as st

from optbook.problems import LogisticRegression, Quadratic
from optbook.taylor import upper_model

DIMS = st.integers(1, 8)

# d = 2 features, n = 2 samples (one column each): φ_1 = (1, 2), φ_2 = (-1, 0).
PHI = np.array([[1.0, -1.0],
                [2.0, 0.0]])
Y = np.array([1.0, -1.0])
W = np.array([0.5, -1.0])  # φ_1ᵀw = -1.5, φ_2ᵀw = -0.5: margins z = (-1.5, 0.5)


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def random_logistic(d, seed, n=None):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12)) if n is None else n
    problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
    return problem, rng


# --------------------------------------------------------------------------
# By hand
# --------------------------------------------------------------------------

def test_logistic_loss_by_hand():
    p = LogisticRegression(PHI, Y)
    assert p.dim == 2
    assert p.n == 2
    expected = math.log(1 + math.exp(1.5)) + math.log(1 + math.exp(-0.5))
    assert p.loss(W) == pytest.approx(expected, rel=1e-14)
    assert isinstance(p.loss(W), float)
    assert p.loss(np.zeros(2)) == pytest.approx(2 * math.log(2), rel=1e-14)


def test_logistic_grad_and_hessian_by_hand():
    p = LogisticRegression(PHI, Y)
    # ∇L = -Σ y_i σ(-z_i) φ_i
    s1, s2 = sigmoid(1.5), sigmoid(-0.5)
    expected = -(1.0 * s1 * np.array([1.0, 2.0]) + (-1.0) * s2 * np.array([-1.0, 0.0]))
    np.testing.assert_allclose(p.grad(W), expected, rtol=1e-14)
    # ∇²L = Σ σ(z_i)(1 - σ(z_i)) φ_i φ_iᵀ
    a, b = sigmoid(-1.5) * sigmoid(1.5), sigmoid(0.5) * sigmoid(-0.5)
    H = a * np.outer([1.0, 2.0], [1.0, 2.0]) + b * np.outer([-1.0, 0.0], [-1.0, 0.0])
    np.testing.assert_allclose(p.hessian(W), H, rtol=1e-14)
    # smoothness = λ_max(ΦΦᵀ)/4
    assert p.smoothness() == pytest.approx(np.linalg.eigvalsh(PHI @ PHI.T)[-1] / 4)


def test_logistic_with_one_sample_and_one_feature():
    p = LogisticRegression([[2.0]], [-1.0])
    assert p.loss([0.25]) == pytest.approx(math.log(1 + math.exp(0.5)))
    assert p.smoothness() == pytest.approx(1.0)


# --------------------------------------------------------------------------
# Derivatives
# --------------------------------------------------------------------------

@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_logistic_grad_matches_central_differences(d, seed):
    p, rng = random_logistic(d, seed)
    w = rng.uniform(-2, 2, d)
    fd = central_differences(p.loss, w, r=1e-5)
    scale = 1 + np.abs(p.grad(w)).max() + p.loss(w)
    np.testing.assert_allclose(p.grad(w), fd, rtol=1e-6, atol=1e-7 * scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_logistic_hessian_matches_differences_of_the_gradient(d, seed):
    p, rng = random_logistic(d, seed)
    w, r = rng.uniform(-2, 2, d), 1e-5
    np.testing.assert_allclose(p.hessian(w), central_differences(p.grad, w, r), rtol=1e-6,
                               atol=1e-7 * (1 + p.smoothness()))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_logistic_hvp_is_hessian_times_v(d, seed):
    p, rng = random_logistic(d, seed)
    w, v = rng.uniform(-3, 3, d), rng.normal(size=d)
    H = p.hessian(w)
    np.testing.assert_allclose(p.hvp(w, v), H @ v, rtol=1e-12,
                               atol=1e-12 * (1 + np.abs(H).max() * np.abs(v).max()))


@PROPERTY
@given(d=DIMS, seed=SEEDS, scale=st.floats(0.0, 20.0))
def test_logistic_hessian_is_symmetric_psd_and_below_smoothness(d, seed, scale):
    p, rng = random_logistic(d, seed)
    w = scale * rng.normal(size=d)
    H = p.hessian(w)
    beta = p.smoothness()
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14 * (1 + beta))
    lam = np.linalg.eigvalsh(H)
    assert lam[0] >= -1e-12 * (1 + beta)
    assert lam[-1] <= beta * (1 + 1e-12)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_logistic_smoothness_is_attained_at_zero(d, seed):
    # σ(0)(1 - σ(0)) = 1/4: H(0) = ΦΦᵀ/4 and λ_max(H(0)) = smoothness().
    p, _ = random_logistic(d, seed)
    assert np.linalg.eigvalsh(p.hessian(np.zeros(d)))[-1] == pytest.approx(p.smoothness(),
                                                                         rel=1e-12)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_logistic_loss_is_positive_and_convex_along_a_line(d, seed):
    p, rng = random_logistic(d, seed)
    a, b = rng.uniform(-3, 3, d), rng.uniform(-3, 3, d)
    for s in np.linspace(0, 1, 11):
        mix = p.loss((1 - s) * a + s * b)
        assert mix > 0
        assert mix <= (1 - s) * p.loss(a) + s * p.loss(b) + 1e-12 * (1 + p.loss(a) + p.loss(b))


# --------------------------------------------------------------------------
# Huge and non-finite points
# --------------------------------------------------------------------------

def test_logistic_at_huge_w_by_hand():
    # One feature, margins ±inf after overflow: no warning, losses 0 and inf.
    p = LogisticRegression([[2.0, 2.0]], [1.0, 1.0])
    assert p.loss([1e308]) == 0.0
    assert p.loss([-1e308]) == np.inf
    np.testing.assert_array_equal(p.grad([1e308]), [0.0])
    np.testing.assert_array_equal(p.grad([-1e308]), [-4.0])


def test_logistic_loss_at_huge_w_is_finite_or_inf_without_warning():
    # At a finite w the loss is a sum of non-negative terms: after overflow it may be
    # +inf, never NaN; the gradient -Φ(y ⊙ σ(-z)) has |σ| <= 1 and stays finite.
    rng = np.random.default_rng(0)
    for _ in range(40):
        d, n = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        p = LogisticRegression(rng.uniform(-2, 2, (d, n)), rng.choice([-1.0, 1.0], n))
        for w in (np.full(d, 1e308), np.full(d, -1e308),
                  rng.choice([-1e308, 1e308], d) * rng.uniform(0.5, 1.0, d)):
            loss = p.loss(w)
            assert not np.isnan(loss), (p.Phi, p.y, w)
            assert loss >= 0
            assert np.all(np.isfinite(p.grad(w))), (p.Phi, p.y, w)


def test_logistic_at_a_non_finite_w_returns_without_raising():
    # Divergence is a result, not an error: no exception and no warning.
    p = LogisticRegression(PHI, Y)
    assert isinstance(p.loss([np.inf, 0.0]), float)
    assert np.isnan(p.loss([np.nan, 0.0]))
    assert p.grad([np.nan, 0.0]).shape == (2,)
    assert p.hessian([np.inf, 0.0]).shape == (2, 2)
    assert p.hvp([np.inf, 0.0], [1.0, 0.0]).shape == (2,)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------

@pytest.mark.parametrize("y", [[1.0, 0.0], [2.0, 1.0], [1.0, 0.5], [-1.0, -2.0]])
def test_logistic_rejects_labels_other_than_plus_minus_one(y):
    with pytest.raises(ValueError, match=r"^y must contain only the labels -1 and \+1"):
        LogisticRegression(PHI, y)


def test_logistic_accepts_integer_labels():
    p = LogisticRegression(PHI, [1, -1])
    assert p.loss(W) == LogisticRegression(PHI, Y).loss(W)


def test_logistic_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"^Phi must be a 2-D matrix"):
        LogisticRegression([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match=r"^y must have length 2, got length 3"):
        LogisticRegression(PHI, [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"^y must be a 1-D vector"):
        LogisticRegression(PHI, [[1.0, -1.0]])
    with pytest.raises(ValueError, match=r"^y\b"):
        LogisticRegression(PHI, [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"^Phi\b"):
        LogisticRegression([[np.inf, 1.0], [0.0, 1.0]], Y)
    p = LogisticRegression(PHI, Y)
    with pytest.raises(ValueError, match=r"^w must have length 2"):
        p.loss([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^w\b"):
        p.grad([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"^w\b"):
        p.hessian([1.0])
    with pytest.raises(ValueError, match=r"^v must have length 2"):
        p.hvp(W, [1.0])


# --------------------------------------------------------------------------
# upper_model
# --------------------------------------------------------------------------

@PROPERTY
@given(d=DIMS, seed=SEEDS, log_size=st.floats(-4, 1.5))
def test_upper_model_with_smoothness_is_above_the_logistic_loss(d, seed, log_size):
    p, rng = random_logistic(d, seed)
    w = rng.uniform(-3, 3, d)
    u = upper_model(p, w, p.smoothness())
    deltas = 10.0**log_size * rng.normal(size=(20, d))
    upper = u(deltas)
    true = np.array([p.loss(w + delta) for delta in deltas])
    assert np.all(true <= upper + 1e-12 * (1 + np.abs(upper) + np.abs(true)))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_upper_model_with_lambda_max_is_above_a_convex_quadratic(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    q = Quadratic(A @ A.T, rng.uniform(-2, 2, d))
    w = rng.uniform(-2, 2, d)
    u = upper_model(q, w, float(np.linalg.eigvalsh(q.H)[-1]))
    deltas = rng.normal(size=(20, d))
    true = np.array([q.loss(w + delta) for delta in deltas])
    upper = u(deltas)
    assert np.all(true <= upper + 1e-12 * (1 + np.abs(upper) + np.abs(true)))


def test_upper_model_by_hand():
    p = LogisticRegression(PHI, Y)
    u = upper_model(p, W, 2.0)
    delta = np.array([0.3, -0.4])
    assert u(delta) == pytest.approx(p.loss(W) + p.grad(W) @ delta + 1.0 * 0.25)


@PROPERTY
@given(d=DIMS, seed=SEEDS, beta=st.floats(1e-3, 1e3))
def test_upper_model_at_zero_displacement_is_the_loss(d, seed, beta):
    p, rng = random_logistic(d, seed)
    w = rng.uniform(-3, 3, d)
    u = upper_model(p, w, beta)
    assert u(np.zeros(d)) == p.loss(w)
    np.testing.assert_array_equal(u(np.zeros((3, d))), [p.loss(w)] * 3)


@PROPERTY
@given(d=DIMS, k=st.integers(1, 6), seed=SEEDS)
def test_upper_model_accepts_one_displacement_or_a_stack(d, k, seed):
    p, rng = random_logistic(d, seed)
    w = rng.uniform(-2, 2, d)
    u = upper_model(p, w, p.smoothness())
    stack = rng.normal(size=(k, d))
    out = u(stack)
    assert np.shape(out) == (k,)
    for row, value in zip(stack, out, strict=True):
        one = u(row)
        assert np.ndim(one) == 0
        assert one == pytest.approx(value, rel=1e-14, abs=1e-14)
    # Lists work as well as arrays.
    assert u(list(stack[0])) == pytest.approx(out[0], rel=1e-14, abs=1e-14)


def test_upper_model_rejects_bad_shapes():
    p = LogisticRegression(PHI, Y)
    u = upper_model(p, W, p.smoothness())
    for bad in (np.zeros(3), np.zeros(1), np.zeros((4, 3)), np.zeros((2, 4, 2)), 0.0,
                np.zeros((2, 1))):
        with pytest.raises(ValueError, match=r"^delta must have shape"):
            u(bad)


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan, np.inf, "1"])
def test_upper_model_rejects_a_bad_beta(beta):
    with pytest.raises(ValueError, match=r"^beta\b"):
        upper_model(LogisticRegression(PHI, Y), W, beta)


def test_upper_model_rejects_a_bad_point_or_problem():
    p = LogisticRegression(PHI, Y)
    with pytest.raises(ValueError, match=r"^w\b"):
        upper_model(p, [1.0], 1.0)
    with pytest.raises(ValueError, match=r"^w\b"):
        upper_model(p, [np.nan, 1.0], 1.0)
    with pytest.raises(ValueError, match=r"^problem\b"):
        upper_model(object(), W, 1.0)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_upper_model_with_too_small_beta_fails_somewhere(d, seed):
    # At w = 0 the Hessian ΦΦᵀ/4 has top eigenvalue smoothness(): along that eigenvector
    # a small step rises faster than a model with β = smoothness()/4 allows.
    p, _ = random_logistic(d, seed)
    w = np.zeros(d)
    u = upper_model(p, w, p.smoothness() / 4)
    top = np.linalg.eigh(p.hessian(w))[1][:, -1]
    deltas = np.outer(np.logspace(-3, 0, 13), top)
    deltas = np.vstack([deltas, -deltas])
    true = np.array([p.loss(w + delta) for delta in deltas])
    assert np.any(true > u(deltas))


def test_upper_model_with_too_small_beta_fails_on_a_quadratic():
    q = Quadratic(np.diag([1.0, 4.0]))
    u = upper_model(q, np.zeros(2), 1.0)  # true smoothness 4
    delta = np.array([0.0, 1.0])
    assert q.loss(delta) == pytest.approx(2.0)
    assert u(delta) == pytest.approx(0.5)
    assert q.loss(delta) > u(delta)
