"""Tests of the finite-difference Hessian-vector product and ``with_fd_hvp``.

The difference quotients are compared with exact Hessian-vector products (Rosenbrock,
the two-layer network, random quartics): exact on a quadratic, error ratio ≈ 4 (central)
and ≈ 2 (forward) when ``r`` halves, in the range where truncation dominates round-off,
and the default step is accurate to about ε^{2/3} (central) and ε^{1/2} (forward).
``with_fd_hvp`` gives a problem with only a gradient an ``hvp`` that the Hessian tools,
``run`` with mini-batches, and AdaHessian accept.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optbook import AdaHessian, LeastSquares, Quadratic, Rosenbrock, run, toy_regression
from optbook.hessian import (
    finite_difference_hvp,
    hutchinson_diagonal,
    top_eigenvalue,
    with_fd_hvp,
)
from optbook.networks import TwoLayerNet

PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)
SEEDS = st.integers(0, 2**32 - 1)


class Quartic:
    r"""L(w) = Σ_i a_i w_i⁴/4 + ½ wᵀ A w: a random problem with a nonzero third
    derivative, exact gradient and Hessian."""

    def __init__(self, d, rng):
        self.dim = d
        self.a = rng.uniform(0.5, 2.0, d)
        M = rng.standard_normal((d, d))
        self.A = M @ M.T / d

    def loss(self, w):
        return float(np.sum(self.a * w**4) / 4 + 0.5 * w @ self.A @ w)

    def grad(self, w):
        return self.a * w**3 + self.A @ w

    def hvp(self, w, v):
        return 3 * self.a * w**2 * v + self.A @ v


class GradOnly:
    """Least squares with only dim, n, loss, grad and subset (no hvp)."""

    def __init__(self, ls):
        self.ls, self.dim, self.n = ls, ls.dim, ls.n

    def loss(self, w):
        return self.ls.loss(w)

    def grad(self, w):
        return self.ls.grad(w)

    def subset(self, idx):
        return GradOnly(self.ls.subset(idx))


def error(problem, w, v, **kw):
    return np.linalg.norm(finite_difference_hvp(problem.grad, w, v, **kw) - problem.hvp(w, v))


# --------------------------------------------------------------------------
# Accuracy and error order
# --------------------------------------------------------------------------

@given(d=st.integers(1, 12), seed=SEEDS)
@PROPERTY
def test_exact_on_a_quadratic_up_to_round_off(d, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, d))
    q = Quadratic(M @ M.T, rng.standard_normal(d))
    w, v = rng.standard_normal(d), rng.standard_normal(d)
    exact = q.hvp(w, v)
    scale = np.linalg.norm(M @ M.T, 2) * np.linalg.norm(v) + 1.0
    for scheme in ("central", "forward"):
        for r in (1e-1, 1.0, 10.0):  # no truncation error: any r works
            got = finite_difference_hvp(q.grad, w, v, r=r, scheme=scheme)
            np.testing.assert_allclose(got, exact, atol=1e-11 * scale * (1 + np.abs(w).sum()))


@given(d=st.integers(1, 10), seed=SEEDS)
@PROPERTY
def test_central_error_is_second_order(d, seed):
    """Halving r divides the central error by ≈ 4 (r ∈ [1e-2, 4e-2], far above round-off)."""
    rng = np.random.default_rng(seed)
    p = Quartic(d, rng)
    w = rng.uniform(0.5, 1.5, d) * rng.choice([-1, 1], d)
    v = rng.standard_normal(d)
    v /= np.linalg.norm(v)
    e = [error(p, w, v, r=r) for r in (4e-2, 2e-2, 1e-2)]
    assert 3.9 < e[0] / e[1] < 4.1 and 3.9 < e[1] / e[2] < 4.1, e


@given(d=st.integers(1, 10), seed=SEEDS)
@PROPERTY
def test_forward_error_is_first_order(d, seed):
    """Halving r divides the forward error by ≈ 2."""
    rng = np.random.default_rng(seed)
    p = Quartic(d, rng)
    w = rng.uniform(0.5, 1.5, d) * rng.choice([-1, 1], d)
    v = rng.standard_normal(d)
    v /= np.linalg.norm(v)
    e = [error(p, w, v, r=r, scheme="forward") for r in (4e-3, 2e-3, 1e-3)]
    assert 1.9 < e[0] / e[1] < 2.1 and 1.9 < e[1] / e[2] < 2.1, e


def test_central_error_order_on_rosenbrock_and_the_network():
    rng = np.random.default_rng(0)
    Phi, y = toy_regression(8, 2, rng=rng)
    net = TwoLayerNet(Phi, y, width=5, activation="tanh")
    for problem, w in ((Rosenbrock(dim=4), np.array([0.3, -0.2, 1.1, 0.5])),
                       (net, net.init(rng))):
        v = rng.standard_normal(problem.dim)
        e = [error(problem, w, v, r=r) for r in (2e-2, 1e-2, 5e-3)]
        assert 3.8 < e[0] / e[1] < 4.2 and 3.8 < e[1] / e[2] < 4.2, e


def test_default_step_balances_truncation_and_round_off():
    rng = np.random.default_rng(1)
    for _ in range(5):
        p = Quartic(6, rng)
        w, v = rng.standard_normal(6), rng.standard_normal(6)
        exact = np.linalg.norm(p.hvp(w, v))
        assert error(p, w, v) < 1e-8 * (1 + exact)  # ε^{2/3} ≈ 4e-11, with room
        assert error(p, w, v, scheme="forward") < 1e-5 * (1 + exact)  # ε^{1/2} ≈ 1.5e-8
    # The default scales with ‖v‖: the estimate is linear in v, to round-off.
    p, w, v = Quartic(4, rng), rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(finite_difference_hvp(p.grad, w, 1e6 * v),
                               1e6 * finite_difference_hvp(p.grad, w, v), rtol=1e-6)


def test_zero_direction_gives_zero_without_gradient_calls():
    calls = []

    def grad(w):
        calls.append(1)
        return w

    out = finite_difference_hvp(grad, np.ones(3), np.zeros(3))
    assert np.array_equal(out, np.zeros(3)) and not calls


@pytest.mark.parametrize("kw, match", [
    ({"r": 0.0}, "r must be positive"),
    ({"r": -1e-3}, "r must be positive"),
    ({"scheme": "backward"}, "scheme must be"),
])
def test_bad_arguments_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        finite_difference_hvp(Rosenbrock().grad, np.zeros(2), np.ones(2), **kw)


def test_bad_vectors_and_grad_are_rejected():
    with pytest.raises(ValueError, match="v must have length 2"):
        finite_difference_hvp(Rosenbrock().grad, np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="grad must be a function"):
        finite_difference_hvp(None, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="w must contain only finite"):
        finite_difference_hvp(Rosenbrock().grad, [np.nan, 0.0], np.ones(2))


# --------------------------------------------------------------------------
# with_fd_hvp
# --------------------------------------------------------------------------

def test_with_fd_hvp_matches_the_exact_product_and_passes_attributes_through():
    rng = np.random.default_rng(2)
    Phi, y = toy_regression(10, 1, rng=rng)
    net = TwoLayerNet(Phi, y, width=6)
    fd = with_fd_hvp(net)
    w, v = net.init(rng), rng.standard_normal(net.dim)
    np.testing.assert_allclose(fd.hvp(w, v), net.hvp(w, v), rtol=1e-6, atol=1e-8)
    assert fd.dim == net.dim and fd.n == net.n and fd.loss(w) == net.loss(w)
    np.testing.assert_array_equal(fd.grad(w), net.grad(w))
    sub = fd.subset([0, 3, 4])
    np.testing.assert_allclose(sub.hvp(w, v), net.subset([0, 3, 4]).hvp(w, v),
                               rtol=1e-6, atol=1e-8)
    assert "with_fd_hvp" in repr(fd)


def test_hessian_tools_run_on_a_gradient_only_problem():
    rng = np.random.default_rng(3)
    ls = LeastSquares(rng.standard_normal((5, 8)), rng.standard_normal(8))
    fd = with_fd_hvp(GradOnly(ls))
    w = rng.standard_normal(5)
    lam = top_eigenvalue(lambda v: fd.hvp(w, v), 5, rng=rng, tol=1e-10)
    assert np.isclose(lam.value, np.linalg.eigvalsh(ls.hessian()).max(), rtol=1e-6)
    diag = hutchinson_diagonal(lambda v: fd.hvp(w, v), 5, n_samples=4000, rng=rng)
    np.testing.assert_allclose(diag, np.diag(ls.hessian()), rtol=0.3)


def test_minibatch_adahessian_runs_on_a_gradient_only_problem():
    rng = np.random.default_rng(4)
    ls = LeastSquares(rng.standard_normal((4, 12)), rng.standard_normal(12))
    exact = run(AdaHessian(0.1), ls, np.zeros(4), 20, batch_size=4,
                rng=np.random.default_rng(5))
    fd = run(AdaHessian(0.1), with_fd_hvp(GradOnly(ls)), np.zeros(4), 20, batch_size=4,
             rng=np.random.default_rng(5))
    np.testing.assert_allclose(fd.w, exact.w, rtol=1e-6, atol=1e-8)


def test_with_fd_hvp_rejects_a_problem_without_grad_or_dim():
    class NoGrad:
        dim = 2

        def loss(self, w):
            return 0.0

    with pytest.raises(ValueError, match="lacks grad"):
        with_fd_hvp(NoGrad())
    with pytest.raises(ValueError, match="r must be positive"):
        with_fd_hvp(Rosenbrock(), r=-1.0)
    with pytest.raises(ValueError, match="scheme must be"):
        with_fd_hvp(Rosenbrock(), scheme="side")
    with pytest.raises(AttributeError):
        with_fd_hvp(Rosenbrock()).subset  # noqa: B018 (Rosenbrock has no samples)
