"""Property-based tests for the statements Chapter 6 checks with SymPy at small sizes only.

The chapter proves, by enumerating every batch with symbolic per-sample gradients, that the
mini-batch gradient is unbiased (n = 2, 3) and that its variance is (n²/B)·c_B·σ² (n = 3, 4);
and (b)'s trace step at d = 2, 3. These tests check random sizes numerically, again by
enumerating every possible batch (no sampling).
"""

import itertools

import numpy as np
from helpers import SEEDS, examples
from hypothesis import given
from hypothesis import strategies as st

SETTINGS = examples(40)


@st.composite
def gradients_and_batch(draw):
    """Per-sample gradients g_i ∈ R^k for n samples, a batch size B and the sampling mode."""
    n = draw(st.integers(2, 6))
    replace = draw(st.booleans())
    B = draw(st.integers(1, 3 if replace else n))  # n^B lists: keep the enumeration small
    k = draw(st.integers(1, 3))
    seed = draw(SEEDS)
    G = np.random.default_rng(seed).standard_normal((n, k)) * draw(st.floats(0.1, 10.0))
    return G, B, replace


def every_estimate(G, B, replace):
    """ĝ_B = (n/B) Σ_{i∈B} g_i for every possible batch (each equally likely)."""
    n = G.shape[0]
    batches = (itertools.product(range(n), repeat=B) if replace
               else itertools.combinations(range(n), B))
    return np.array([n / B * G[list(b)].sum(axis=0) for b in batches])


@SETTINGS
@given(gradients_and_batch())
def test_minibatch_gradient_is_unbiased(case):
    G, B, replace = case
    estimates = every_estimate(G, B, replace)
    np.testing.assert_allclose(estimates.mean(axis=0), G.sum(axis=0),
                               rtol=1e-10, atol=1e-10 * np.abs(G).sum())


@SETTINGS
@given(gradients_and_batch())
def test_minibatch_variance_formula(case):
    G, B, replace = case
    n = G.shape[0]
    estimates = every_estimate(G, B, replace)
    measured = np.mean(np.sum((estimates - G.sum(axis=0)) ** 2, axis=1))
    tr_sigma = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
    factor = 1.0 if replace else (n - B) / (n - 1)
    expected = n**2 / B * factor * tr_sigma
    assert np.isclose(measured, expected, rtol=1e-9, atol=1e-9 * n**2 * tr_sigma + 1e-12)


@SETTINGS
@given(st.integers(1, 12), st.floats(0.0, 100.0), SEEDS)
def test_trace_against_isotropic_covariance(d, sigma2, seed):
    """½ tr(H E[δδᵀ]) = ½ σ² tr H when E[δδᵀ] = σ² I, for symmetric H of any size."""
    A = np.random.default_rng(seed).standard_normal((d, d))
    H = (A + A.T) / 2
    lhs = np.trace(H @ (sigma2 * np.eye(d))) / 2
    assert np.isclose(lhs, sigma2 * np.trace(H) / 2, rtol=1e-12, atol=1e-12 * (1 + sigma2))


def test_the_tests_can_fail():
    """The variance check rejects the formula without the finite-population factor."""
    G = np.arange(8.0).reshape(4, 2)
    estimates = every_estimate(G, 2, replace=False)
    measured = np.mean(np.sum((estimates - G.sum(axis=0)) ** 2, axis=1))
    tr_sigma = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
    assert not np.isclose(measured, 4**2 / 2 * tr_sigma)
    assert np.isclose(measured, 4**2 / 2 * (4 - 2) / 3 * tr_sigma)
