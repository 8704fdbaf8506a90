"""The toy problems of Chapter 8: derivatives against finite differences, the minima
where the docstrings put them, and unbiased mini-batches."""

import numpy as np
import pytest
from helpers import central_differences, examples
from hypothesis import given
from hypothesis import strategies as st

from optbook import finite_difference_hvp
from optbook.toys import NoisyValley, TwoBasins

coords = st.floats(-2.5, 2.5, allow_nan=False)


def valley():
    return NoisyValley(np.random.default_rng(0).standard_normal(16))


@examples(40)
@given(coords, coords)
def test_valley_derivatives(u, v):
    val, w = valley(), np.array([u, v])
    fd_g = central_differences(val.loss, w, r=1e-6)
    np.testing.assert_allclose(val.grad(w), fd_g, rtol=1e-5, atol=1e-6)
    fd_H = np.column_stack([finite_difference_hvp(val.grad, w, e) for e in np.eye(2)])
    np.testing.assert_allclose(val.hessian(w), fd_H, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(val.hvp(w, np.array([1.0, -2.0])),
                               val.hessian(w) @ np.array([1.0, -2.0]))


@examples(40)
@given(coords, coords)
def test_two_basins_derivatives(x, y):
    tb, w = TwoBasins(), np.array([x, y])
    fd_g = central_differences(tb.loss, w, r=1e-6)
    np.testing.assert_allclose(tb.grad(w), fd_g, rtol=1e-5, atol=1e-5)
    fd_H = np.column_stack([finite_difference_hvp(tb.grad, w, e) for e in np.eye(2)])
    np.testing.assert_allclose(tb.hessian(w), fd_H, rtol=1e-4, atol=1e-4)
    assert tb.grid(np.array(x), np.array(y)) == pytest.approx(tb.loss(w))


def test_valley_minima_and_sharpness():
    val = NoisyValley.centred(32, rng=np.random.default_rng(1))
    assert val.ybar == pytest.approx(0, abs=1e-12)
    for u in (-1.0, 0.0, 2.0):
        w = np.array([u, 0.0])
        assert val.loss(w) == pytest.approx(val.floor)
        np.testing.assert_allclose(val.grad(w), 0, atol=1e-12)
        np.testing.assert_allclose(val.hessian(w), np.diag([0.0, 1 + u * u]), atol=1e-12)
    w = np.array([0.7, -0.4])
    assert val.loss(w) == pytest.approx(0.5 * (1 + 0.49) * 0.16 + val.floor)


def test_valley_minibatches_are_unbiased():
    val, w = valley(), np.array([0.8, 0.3])
    pairs = [(i, j) for i in range(val.n) for j in range(i + 1, val.n)]
    mean = np.mean([val.subset(np.array(p)).grad(w) for p in pairs], axis=0)
    np.testing.assert_allclose(mean, val.grad(w), atol=1e-12)


def test_two_basins_minima():
    tb = TwoBasins(sharp=16.0, flat=1.0)
    for centre, k in zip(tb.centres, (16.0, 1.0), strict=True):
        w = centre.copy()
        for _ in range(50):  # Newton's method from the centre
            w = w - np.linalg.solve(tb.hessian(w), tb.grad(w))
        assert np.linalg.norm(tb.grad(w)) < 1e-10
        assert np.linalg.norm(w - centre) < 1e-3
        assert abs(tb.loss(w)) < 1e-3
        np.testing.assert_allclose(np.linalg.eigvalsh(tb.hessian(w)), [k, k], rtol=2e-2)
    with pytest.raises(ValueError, match="larger"):
        TwoBasins(sharp=1.0, flat=2.0)


def test_saddle_sum_is_the_saddle_and_its_batches_are_unbiased():
    from optbook.toys import SaddleSum

    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=8)
    saddle = SaddleSum(np.r_[signs, -signs] / 64)
    for w in (np.array([0.3, -0.7]), np.array([1.5, 0.0]), np.array([-2.0, 1.2])):
        w1, w2 = w
        assert saddle.loss(w) == pytest.approx(0.5 * w1**2 - 0.5 * w2**2 + 0.25 * w2**4)
        assert np.allclose(saddle.grad(w), [w1, w2**3 - w2])
        assert np.allclose(saddle.hvp(w, np.array([1.0, 2.0])),
                           finite_difference_hvp(saddle.grad, w, np.array([1.0, 2.0])), atol=1e-6)
        # every batch of size 2 without replacement, averaged: the full gradient
        pairs = [(i, j) for i in range(16) for j in range(16) if i != j]
        mean = np.mean([saddle.subset(list(p)).grad(w) for p in pairs], axis=0)
        assert np.allclose(mean, saddle.grad(w))
    assert saddle.subset([0]).grad(np.zeros(2))[1] != 0  # batches see the offsets


def test_saddle_sum_rejects_offsets_that_do_not_cancel():
    from optbook.toys import SaddleSum

    with pytest.raises(ValueError, match="sum to 0"):
        SaddleSum([0.1, 0.2])
