"""Property tests (Hypothesis) of the statements that Chapter 3 checks in SymPy only at a
few explicit sizes: here they are checked numerically on random problems of every size.

* the least-squares gradient difference is linear: ∇L(u) − ∇L(v) = ΦΦᵀ(u − v);
* the Hessian of logistic regression, L(w) = Σᵢ ℓ(φᵢᵀw) with ℓ(x) = log(1 + e⁻ˣ), is
  ΦDΦᵀ with D = diagᵢ(σ(φᵢᵀw)(1 − σ(φᵢᵀw))) (one sample: ℓ″(φᵀw)φφᵀ);
* ΦDΦᵀ + ΦD̃Φᵀ = ¼ΦΦᵀ for D = diagᵢ(sᵢ(1 − sᵢ)), D̃ = diagᵢ((sᵢ − ½)²), any s;
* the step Δ = −ηg substituted in the second-order and in the upper model;
* ‖∇L(w)‖² = 2βL(w) for L(w) = β‖w‖²/2.
"""

import numpy as np
from helpers import SEEDS, central_differences, examples
from hypothesis import given
from hypothesis import strategies as st

from optbook import LeastSquares, LogisticRegression

PROPERTY = examples(40)
DIMS = st.integers(1, 8)
SAMPLES = st.integers(1, 12)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def close(a, b, scale=1.0):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * (1 + scale))


@PROPERTY
@given(d=DIMS, n=SAMPLES, seed=SEEDS)
def test_least_squares_gradient_difference_is_linear(d, n, seed):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(d, n))
    problem = LeastSquares(Phi, rng.normal(size=n))
    u, v = rng.normal(scale=3.0, size=(2, d))
    close(problem.grad(u) - problem.grad(v), Phi @ Phi.T @ (u - v),
          np.abs(Phi).max() ** 2 * np.abs(u - v).max())


@PROPERTY
@given(d=DIMS, n=SAMPLES, seed=SEEDS)
def test_logistic_hessian_is_phi_d_phi_transpose(d, n, seed):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(d, n))
    labels = rng.choice([-1.0, 1.0], n)
    problem = LogisticRegression(Phi, labels)
    w = rng.normal(scale=2.0, size=d)
    absorbed = Phi * labels  # φᵢ ← yᵢφᵢ: the chapter's L(w) = Σᵢ ℓ(φᵢᵀw)
    s = sigmoid(absorbed.T @ w)
    formula = absorbed @ np.diag(s * (1 - s)) @ absorbed.T
    # central differences of the gradient, column by column
    columns = central_differences(problem.grad, w, r=1e-5)
    scale = np.abs(Phi).max() ** 2 * n
    np.testing.assert_allclose(columns, formula, rtol=1e-6, atol=1e-7 * scale)
    close(problem.hessian(w), formula, scale)
    # the loss is Σᵢ ℓ(φᵢᵀw)
    close(problem.loss(w), np.sum(np.log1p(np.exp(-(absorbed.T @ w)))), problem.loss(w))


@PROPERTY
@given(d=DIMS, n=SAMPLES, seed=SEEDS)
def test_logistic_hessian_gap_is_a_sum_of_squares(d, n, seed):
    rng = np.random.default_rng(seed)
    Phi, s, v = rng.normal(size=(d, n)), rng.normal(size=n), rng.normal(size=d)
    D, D_tilde = np.diag(s * (1 - s)), np.diag((s - 0.5) ** 2)
    scale = np.abs(Phi).max() ** 2 * n * (1 + np.abs(s).max() ** 2)
    close(Phi @ D @ Phi.T + Phi @ D_tilde @ Phi.T, Phi @ Phi.T / 4, scale)
    close(v @ Phi @ D_tilde @ Phi.T @ v, np.sum((s - 0.5) ** 2 * (Phi.T @ v) ** 2),
          scale * (v @ v))


@PROPERTY
@given(d=DIMS, seed=SEEDS, eta=st.floats(1e-3, 10.0), beta=st.floats(1e-3, 100.0))
def test_descent_step_substitution(d, seed, eta, beta):
    rng = np.random.default_rng(seed)
    g, A = rng.normal(size=d), rng.normal(size=(d, d))
    H = (A + A.T) / 2
    delta = -eta * g
    scale = (1 + eta) ** 2 * (1 + beta) * (1 + g @ g) * (1 + np.abs(H).max())
    close(g @ delta + delta @ H @ delta / 2, -eta * g @ g + eta**2 / 2 * g @ H @ g, scale)
    close(g @ delta + beta / 2 * delta @ delta, -eta * (1 - beta * eta / 2) * g @ g, scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS, beta=st.floats(1e-3, 100.0))
def test_gradient_bound_is_attained_by_the_quadratic(d, seed, beta):
    w = np.random.default_rng(seed).normal(scale=3.0, size=d)
    grad = beta * w  # ∇(β‖w‖²/2)
    close(grad @ grad, 2 * beta * (beta / 2 * w @ w), beta**2 * (w @ w))
