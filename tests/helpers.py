"""Helpers shared by optbook's tests: hypothesis settings and strategies, random matrices
and problems, finite differences.

Every helper that draws random numbers takes the generator (or its seed) and draws in a
fixed, documented order, so that a seed names the same matrix or problem in every file.
Hypothesis' profiles (``ci``: a fixed set of examples) are loaded in ``conftest.py``,
before any test module builds its settings.
"""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from optbook import LeastSquares, LogisticRegression

#: seeds for ``np.random.default_rng``: hypothesis draws the problem's seed
SEEDS = st.integers(0, 2**32 - 1)


def examples(n: int) -> settings:
    """Hypothesis settings for ``n`` examples and no deadline (the tests run on shared,
    noisy machines: a slow example is not a failure)."""
    return settings(max_examples=n, deadline=None)


#: the usual budget of a property test
PROPERTY = examples(30)


# -- random matrices ---------------------------------------------------------------------

def random_symmetric(d, rng):
    """A symmetric d×d matrix (A + Aᵀ)/2 with A's entries uniform in [-2, 2]: indefinite
    in general."""
    A = rng.uniform(-2, 2, (d, d))
    return (A + A.T) / 2


def random_orthogonal(d, rng):
    """A random orthogonal d×d matrix: the Q of the QR factorisation of a Gaussian matrix."""
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return Q


def from_spectrum(Q, lam):
    """H = Q diag(λ) Qᵀ, symmetrised against round-off: eigenvalues λ, eigenvectors Q's
    columns."""
    H = Q @ np.diag(lam) @ Q.T
    return (H + H.T) / 2


def random_spd(d, rng, lo=0.5, hi=5.0):
    """A symmetric positive definite H = Q diag(λ) Qᵀ with λ uniform in [lo, hi], sorted
    increasing; draws Q (``random_orthogonal``) then λ. Returns H, λ, Q."""
    Q = random_orthogonal(d, rng)
    lam = np.sort(rng.uniform(lo, hi, d))
    return from_spectrum(Q, lam), lam, Q


# -- random problems ---------------------------------------------------------------------

def random_least_squares(d, n, seed):
    """L(w) = ½‖Φᵀw − y‖² with Φ (d×n) and y uniform in [-2, 2]; returns it and the
    generator, to draw points from."""
    rng = np.random.default_rng(seed)
    return LeastSquares(rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, n)), rng


def non_separable_logistic(d, extra, rng, scale=1.0):
    """Logistic regression with a unique minimiser: d spanning samples appear twice with
    opposite labels (so no w != 0 has all margins >= 0), plus ``extra`` samples labelled
    by a logistic model with weights ``scale``·N(0, I)."""
    base = rng.normal(size=(d, d)) + 2 * np.eye(d)
    w_true = scale * rng.normal(size=d)
    more = rng.normal(size=(d, extra))
    labels = np.where(rng.uniform(size=extra) < 1 / (1 + np.exp(-more.T @ w_true)), 1.0, -1.0)
    Phi = np.hstack([base, base, more])
    return LogisticRegression(Phi, np.r_[np.ones(d), -np.ones(d), labels])


# -- comparisons and derivatives ---------------------------------------------------------

def close_to_scale(a, b, scale, rtol=1e-9):
    """|a − b| <= rtol·max(1, scale): equality up to round-off in terms of size ``scale``."""
    return abs(a - b) <= rtol * max(1.0, scale)


def central_differences(f, w, r):
    """(f(w + r eᵢ) − f(w − r eᵢ)) / 2r for each coordinate i, stacked along the last axis:
    the gradient of a scalar f, the Jacobian (column i = ∂f/∂wᵢ) of a vector f."""
    return np.stack([(f(w + r * e) - f(w - r * e)) / (2 * r) for e in np.eye(w.size)], axis=-1)
