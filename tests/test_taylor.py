"""Tests of optbook.taylor: the first- and second-order Taylor models.

The order-2 model is exact on quadratic losses (random quadratics and random
least-squares problems), the order-1 model is L + gᵀΔ, and on Rosenbrock the
model errors shrink like h² (order 1) and h³ (order 2), which the tests read
off the slope of a log-log fit.
"""

import numpy as np
import pytest
from helpers import PROPERTY, SEEDS, random_least_squares, random_symmetric
from hypothesis import given
from hypothesis import strategies as st

from optbook.problems import Quadratic, Rosenbrock
from optbook.taylor import TaylorModel, along, taylor_model


def random_quadratic(d, seed):
    rng = np.random.default_rng(seed)
    return Quadratic(random_symmetric(d, rng), rng.uniform(-2, 2, d), rng.uniform(-2, 2)), rng


def assert_model_exact(problem, rng, k):
    """m2(Δ) = L(w + Δ) for one displacement and for a stack of k of them."""
    d = problem.dim
    w = rng.uniform(-2, 2, d)
    m2 = taylor_model(problem, w, order=2)
    delta = rng.uniform(-2, 2, d)
    stack = rng.uniform(-2, 2, (k, d))
    true_one = problem.loss(w + delta)
    true_stack = np.array([problem.loss(w + s) for s in stack])
    scale = 1.0 + abs(true_one) + np.abs(true_stack).max()
    assert m2(delta) == pytest.approx(true_one, rel=1e-10, abs=1e-10 * scale)
    out = m2(stack)
    assert out.shape == (k,)
    np.testing.assert_allclose(out, true_stack, rtol=1e-10, atol=1e-10 * scale)


# --------------------------------------------------------------------------
# Exactness on quadratic losses
# --------------------------------------------------------------------------

@PROPERTY
@given(d=st.integers(1, 8), k=st.integers(1, 5), seed=SEEDS)
def test_order_2_model_is_exact_on_random_quadratics(d, k, seed):
    q, rng = random_quadratic(d, seed)
    assert_model_exact(q, rng, k)


@PROPERTY
@given(d=st.integers(1, 8), n=st.integers(1, 8), k=st.integers(1, 5),
       seed=SEEDS)
def test_order_2_model_is_exact_on_random_least_squares(d, n, k, seed):
    ls, rng = random_least_squares(d, n, seed)
    assert_model_exact(ls, rng, k)


@PROPERTY
@given(d=st.integers(2, 8), seed=SEEDS)
def test_order_1_model_is_value_plus_gradient_term(d, seed):
    rng = np.random.default_rng(seed)
    rb = Rosenbrock(dim=d)
    w, delta = rng.uniform(-2, 2, d), rng.uniform(-2, 2, d)
    m1 = taylor_model(rb, w, order=1)
    expected = rb.loss(w) + rb.grad(w) @ delta
    assert m1(delta) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    stack = rng.uniform(-2, 2, (3, d))
    np.testing.assert_allclose(m1(stack), rb.loss(w) + stack @ rb.grad(w), rtol=1e-12)


def test_order_2_model_by_hand_on_rosenbrock():
    rb = Rosenbrock()
    w = np.array([-1.2, 1.0])
    m2 = taylor_model(rb, w)
    assert m2.order == 2  # the default
    delta = np.array([0.01, -0.02])
    g = np.array([-215.6, -88.0])
    H = np.array([[1330.0, 480.0], [480.0, 200.0]])
    assert m2(delta) == pytest.approx(24.2 + g @ delta + 0.5 * delta @ H @ delta, rel=1e-12)


def test_model_at_zero_displacement_is_the_loss():
    rb = Rosenbrock(dim=3)
    w = np.array([0.3, -0.7, 1.1])
    for order in (1, 2):
        assert taylor_model(rb, w, order)(np.zeros(3)) == pytest.approx(rb.loss(w))


def test_model_records_value_gradient_and_a_copy_of_w():
    rb = Rosenbrock()
    w = np.array([-1.2, 1.0])
    m = taylor_model(rb, w)
    assert isinstance(m, TaylorModel)
    assert m.value == pytest.approx(24.2)
    np.testing.assert_allclose(m.g, [-215.6, -88.0])
    w[0] = 5.0  # the model must not see later changes of the caller's array
    np.testing.assert_array_equal(m.w, [-1.2, 1.0])
    assert m(np.zeros(2)) == pytest.approx(24.2)


def test_model_returns_python_float_for_one_displacement():
    m = taylor_model(Rosenbrock(), [0.0, 0.0])
    assert isinstance(m([0.1, 0.1]), float)


# --------------------------------------------------------------------------
# Error orders on Rosenbrock
# --------------------------------------------------------------------------

def loglog_slope(order):
    rb = Rosenbrock()
    w = np.array([-1.2, 1.0])
    u = np.array([0.6, 0.8])
    h = np.logspace(-3, -1, 9)
    model = taylor_model(rb, w, order)
    errors = [abs(rb.loss(w + hi * u) - model(hi * u)) for hi in h]
    return np.polyfit(np.log(h), np.log(errors), 1)[0]


def test_order_2_error_scales_like_h_cubed():
    assert loglog_slope(2) == pytest.approx(3.0, abs=0.15)


def test_order_1_error_scales_like_h_squared():
    assert loglog_slope(1) == pytest.approx(2.0, abs=0.15)


# --------------------------------------------------------------------------
# along
# --------------------------------------------------------------------------

@pytest.mark.parametrize("s", [np.linspace(-0.1, 0.1, 7), np.linspace(-1, 1, 12).reshape(3, 4),
                               0.05, [0.01, 0.02]], ids=["1d", "2d", "scalar", "list"])
def test_along_has_the_shape_of_s_and_agrees_with_taylor_model(s):
    rb = Rosenbrock(dim=3)
    w = np.array([-1.2, 1.0, 0.5])
    u = np.array([0.3, -0.2, 1.0])
    true, m1, m2 = along(rb, w, u, s)
    s = np.asarray(s, dtype=float)
    for arr in (true, m1, m2):
        assert np.shape(arr) == s.shape
    flat = s.ravel()
    np.testing.assert_allclose(np.ravel(true), [rb.loss(w + si * u) for si in flat])
    model1, model2 = taylor_model(rb, w, 1), taylor_model(rb, w, 2)
    np.testing.assert_allclose(np.ravel(m1), model1(np.outer(flat, u)), rtol=1e-12)
    np.testing.assert_allclose(np.ravel(m2), model2(np.outer(flat, u)), rtol=1e-12)


def test_along_on_a_quadratic_the_order_2_model_is_the_loss():
    q, rng = random_quadratic(4, 7)
    s = np.linspace(-3, 3, 11)
    true, _, m2 = along(q, rng.uniform(-2, 2, 4), rng.uniform(-2, 2, 4), s)
    np.testing.assert_allclose(m2, true, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("order", [0, 3, -1, 1.5, "2", None])
def test_taylor_model_rejects_bad_orders(order):
    with pytest.raises(ValueError, match=r"^order\b"):
        taylor_model(Rosenbrock(), [0.0, 0.0], order)


@pytest.mark.parametrize("w", [np.ones(3), [np.nan, 0.0], np.ones((2, 1))])
def test_taylor_model_rejects_bad_points(w):
    with pytest.raises(ValueError, match=r"^w\b"):
        taylor_model(Rosenbrock(), w)


def test_taylor_model_rejects_a_non_problem():
    with pytest.raises(ValueError, match=r"^problem\b"):
        taylor_model(object(), [0.0, 0.0])


@pytest.mark.parametrize("delta", [np.ones(3), np.ones(1), np.ones((4, 3)), np.ones((2, 2, 2)),
                                   1.0, [np.nan, 0.0]],
                         ids=["long", "short", "stack_of_long", "3d", "scalar", "nan"])
def test_model_rejects_deltas_of_the_wrong_shape(delta):
    m = taylor_model(Rosenbrock(), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"^delta\b"):
        m(delta)


def test_along_rejects_bad_arguments():
    rb = Rosenbrock()
    with pytest.raises(ValueError, match=r"^u\b"):
        along(rb, [0.0, 0.0], [1.0, 0.0, 0.0], [0.1])
    with pytest.raises(ValueError, match=r"^w\b"):
        along(rb, [0.0], [1.0, 0.0], [0.1])
    with pytest.raises(ValueError, match=r"^s\b"):
        along(rb, [0.0, 0.0], [1.0, 0.0], [0.1, np.nan])
