"""Tests of the momentum and adaptive optimisers: Momentum, Nesterov, Adagrad, RMSProp, Adam.

The first steps are checked by hand (scalar arithmetic, coordinate by coordinate,
on Quadratic(diag(1, 10))), then the equivalences between methods, the in-place
state, convergence on a quadratic, schedules passed as ``lr``, a d = 10⁶ smoke
test and the argument checks.
"""

import math
import time

import numpy as np
import pytest

from optbook.optimizers import GD, Adagrad, Adam, Momentum, Nesterov, RMSProp, run
from optbook.problems import Quadratic

H = np.diag([1.0, 10.0])
B = np.array([1.0, -2.0])
W0 = np.array([3.0, 1.0])
W_STAR = np.linalg.solve(H, B)  # (1, -0.2)


def quadratic():
    return Quadratic(H, B, c=0.5 * B @ W_STAR)


def grad(w):
    """∇L by hand: (w1 - 1, 10 w2 + 2)."""
    return [w[0] - 1.0, 10.0 * w[1] + 2.0]


# --------------------------------------------------------------------------
# First steps by hand
# --------------------------------------------------------------------------

def test_momentum_first_steps_by_hand():
    lr, gamma = 0.05, 0.9
    traj = run(Momentum(lr, gamma), quadratic(), W0, steps=3)
    # step 0: b = g0 = (2, 12), w1 = (3, 1) - 0.05 (2, 12) = (2.9, 0.4)
    np.testing.assert_allclose(traj.w[1], [2.9, 0.4])
    w, b = list(W0), [0.0, 0.0]
    for t in range(3):
        g = grad(w)
        b = [gamma * b[i] + g[i] for i in range(2)]
        w = [w[i] - lr * b[i] for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)
    # step 1 explicitly: g1 = (1.9, 6), b = (3.7, 16.8), w2 = (2.715, -0.44)
    np.testing.assert_allclose(traj.w[2], [2.715, -0.44])


def test_nesterov_first_steps_by_hand():
    lr, gamma = 0.05, 0.9
    traj = run(Nesterov(lr, gamma), quadratic(), W0, steps=3)
    # step 0: b = g0, Δ = -η (1 + γ) g0 = -0.095 (2, 12)
    np.testing.assert_allclose(traj.w[1], [3.0 - 0.19, 1.0 - 1.14])
    w, b = list(W0), [0.0, 0.0]
    for t in range(3):
        g = grad(w)
        b = [gamma * b[i] + g[i] for i in range(2)]
        w = [w[i] - lr * (g[i] + gamma * b[i]) for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_adagrad_first_steps_by_hand():
    lr, eps = 0.1, 1e-10
    traj = run(Adagrad(lr, eps), quadratic(), W0, steps=3)
    # step 0: G = g0², Δ = -η g0/(|g0| + ε) ≈ -η sign(g0)
    np.testing.assert_allclose(traj.w[1], [2.9, 0.9], rtol=1e-9)
    w, G = list(W0), [0.0, 0.0]
    for t in range(3):
        g = grad(w)
        G = [G[i] + g[i] ** 2 for i in range(2)]
        w = [w[i] - lr * g[i] / (math.sqrt(G[i]) + eps) for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_rmsprop_first_steps_by_hand():
    lr, beta2, eps = 0.01, 0.99, 1e-8
    traj = run(RMSProp(lr, beta2, eps), quadratic(), W0, steps=3)
    # step 0: v = 0.01 g0², Δ = -η g0/(0.1 |g0| + ε) ≈ -10 η sign(g0)
    np.testing.assert_allclose(traj.w[1], [2.9, 0.9], rtol=1e-7)
    w, v = list(W0), [0.0, 0.0]
    for t in range(3):
        g = grad(w)
        v = [beta2 * v[i] + (1 - beta2) * g[i] ** 2 for i in range(2)]
        w = [w[i] - lr * g[i] / (math.sqrt(v[i]) + eps) for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_adam_first_steps_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    traj = run(Adam(lr, b1, b2, eps), quadratic(), W0, steps=3)
    w, m, v = list(W0), [0.0, 0.0], [0.0, 0.0]
    for t in range(1, 4):  # t starts at 1 in the bias corrections
        g = grad(w)
        m = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        v = [b2 * v[i] + (1 - b2) * g[i] ** 2 for i in range(2)]
        mhat = [m[i] / (1 - b1 ** t) for i in range(2)]
        vhat = [v[i] / (1 - b2 ** t) for i in range(2)]
        w = [w[i] - lr * mhat[i] / (math.sqrt(vhat[i]) + eps) for i in range(2)]
        np.testing.assert_allclose(traj.w[t], w, rtol=1e-13)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adam_first_step_is_about_lr_times_sign(scale):
    lr, eps = 0.01, 1e-8
    g = scale * np.array([2.0, -12.0, 0.5])
    opt = Adam(lr, eps=eps)
    delta = opt.update(g, opt.init(np.zeros(3)), np.zeros(3), None)
    np.testing.assert_allclose(delta, -lr * g / (np.abs(g) + eps), rtol=1e-12)
    np.testing.assert_allclose(delta, -lr * np.sign(g), rtol=1e-4)


# --------------------------------------------------------------------------
# Equivalences
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Momentum, Nesterov])
def test_zero_momentum_is_gd(cls):
    q = quadratic()
    a = run(cls(0.05, gamma=0.0), q, W0, steps=20)
    b = run(GD(0.05), q, W0, steps=20)
    np.testing.assert_array_equal(a.w, b.w)


def test_momentum_is_heavy_ball():
    """PyTorch's form equals w_{t+1} = w_t - η g_t + γ (w_t - w_{t-1})."""
    lr, gamma = 0.05, 0.9
    traj = run(Momentum(lr, gamma), quadratic(), W0, steps=10)
    prev, w = W0.copy(), W0.copy()
    for t in range(10):
        prev, w = w, w - lr * (H @ w - B) + gamma * (w - prev)
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-12, atol=1e-14)


def test_nesterov_is_sutskever_after_change_of_variable():
    """Sutskever et al. (2013): v ← γv − η∇L(θ + γv), θ ← θ + v; torch's iterates are
    the look-ahead points w = θ + γv."""
    lr, gamma = 0.05, 0.9
    traj = run(Nesterov(lr, gamma), quadratic(), W0, steps=10)
    theta, v = W0.copy(), np.zeros(2)  # w0 = θ0 + γ v0 = θ0
    for t in range(10):
        v = gamma * v - lr * (H @ (theta + gamma * v) - B)
        theta = theta + v
        np.testing.assert_allclose(traj.w[t + 1], theta + gamma * v, rtol=1e-12, atol=1e-14)


def test_rmsprop_and_adam_with_beta1_zero_differ_by_bias_correction():
    lr, b2, eps = 0.01, 0.9, 1e-8
    rms, adam = RMSProp(lr, b2, eps), Adam(lr, beta1=0.0, beta2=b2, eps=eps)
    w = np.zeros(3)
    s_r, s_a = rms.init(w), adam.init(w)
    rng = np.random.default_rng(0)
    for t in range(1, 6):
        g = rng.normal(size=3)
        d_r = rms.update(g, s_r, w, None)
        d_a = adam.update(g, s_a, w, None)
        np.testing.assert_array_equal(s_r.buf, s_a.v)  # same second moment
        np.testing.assert_array_equal(s_a.m, g)  # β₁ = 0: m = g, m̂ = g
        c = math.sqrt(1 - b2 ** t)
        sqrt_v = np.sqrt(s_r.buf)
        # Adam divides √v by √(1 - β₂ᵗ) before adding ε; RMSProp does not.
        np.testing.assert_allclose(d_a, d_r * (sqrt_v + eps) / (sqrt_v / c + eps), rtol=1e-13)
        np.testing.assert_allclose(d_a, d_r * c, rtol=1e-6)


# --------------------------------------------------------------------------
# State updated in place
# --------------------------------------------------------------------------

@pytest.mark.parametrize("opt", [Momentum(0.05, 0.9), Nesterov(0.05, 0.9), Adagrad(0.1),
                                 RMSProp(0.01), Adam(0.1)], ids=repr)
def test_state_arrays_keep_their_identity(opt):
    q = quadratic()
    w = W0.copy()
    state = opt.init(w)
    arrays = {k: v for k, v in vars(state).items() if isinstance(v, np.ndarray)}
    assert arrays
    ids = {k: id(v) for k, v in arrays.items()}
    for _ in range(3):
        delta = opt.update(q.grad(w), state, w, q)
        assert not any(delta is a for a in arrays.values())
        w = w + delta
    assert state.t == 3
    assert {k: id(getattr(state, k)) for k in arrays} == ids
    assert all(np.any(getattr(state, k) != 0) for k in arrays)


def test_update_does_not_modify_w_or_g():
    q = quadratic()
    w = W0.copy()
    for opt in [Momentum(0.05, 0.9), Nesterov(0.05, 0.9), Adagrad(0.1), RMSProp(0.01),
                Adam(0.1)]:
        g = q.grad(w)
        g_copy = g.copy()
        opt.update(g, opt.init(w), w, q)
        np.testing.assert_array_equal(w, W0)
        np.testing.assert_array_equal(g, g_copy)


# --------------------------------------------------------------------------
# Convergence
# --------------------------------------------------------------------------

@pytest.mark.parametrize("opt", [Momentum(0.05, 0.9), Nesterov(0.05, 0.9), Adagrad(1.0),
                                 RMSProp(0.01), Adam(0.05)], ids=repr)
def test_converges_on_a_quadratic(opt):
    traj = run(opt, quadratic(), W0, steps=1000)
    assert not traj.diverged
    np.testing.assert_allclose(traj.final, W_STAR, atol=1e-6)
    assert traj.loss[-1] < 1e-10


def test_momentum_faster_than_gd_on_ill_conditioned_quadratic():
    """κ = 100: heavy ball with the optimal parameters needs ~√κ times fewer steps."""
    lam = np.array([1.0, 100.0])
    q = Quadratic(np.diag(lam), np.zeros(2))
    kappa = lam[1] / lam[0]
    lr = 4 / (np.sqrt(lam[1]) + np.sqrt(lam[0])) ** 2
    gamma = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    hb = run(Momentum(lr, gamma), q, [1.0, 1.0], steps=200)
    gd = run(GD(2 / (lam[0] + lam[1])), q, [1.0, 1.0], steps=200)
    assert hb.loss[-1] < 1e-12 < gd.loss[-1]


# --------------------------------------------------------------------------
# Schedules as lr
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Momentum, Nesterov, Adagrad, RMSProp, Adam])
def test_schedule_is_called_once_per_step(cls):
    calls = []

    def schedule(t):
        calls.append(t)
        return 0.01 / (t + 1)

    run(cls(schedule), quadratic(), W0, steps=4)
    assert calls == [0, 1, 2, 3]


def test_momentum_with_schedule_uses_eta_t():
    lrs = [0.1, 0.05, 0.02]
    traj = run(Momentum(lambda t: lrs[t], 0.5), quadratic(), W0, steps=3)
    w, b = list(W0), [0.0, 0.0]
    for t in range(3):
        g = grad(w)
        b = [0.5 * b[i] + g[i] for i in range(2)]
        w = [w[i] - lrs[t] * b[i] for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_adam_with_schedule_first_step():
    traj = run(Adam(lambda t: 0.3 if t == 0 else 1e-3), quadratic(), W0, steps=2)
    np.testing.assert_allclose(traj.w[1], W0 - 0.3 * np.sign([2.0, 12.0]), rtol=1e-7)


def test_schedules_module_with_optimizer():
    from optbook.schedules import cosine
    a = run(Adam(cosine(0.1, 50)), quadratic(), W0, steps=50)
    s = cosine(0.1, 50)
    lrs = iter([s(t) for t in range(50)])
    b = run(Adam(lambda t: next(lrs)), quadratic(), W0, steps=50)
    np.testing.assert_array_equal(a.w, b.w)


# --------------------------------------------------------------------------
# Large d
# --------------------------------------------------------------------------

class DiagonalQuadratic:
    """L(w) = ½ Σ h_i w_i², with vector operations only (no d × d matrix)."""

    def __init__(self, h):
        self.h = h
        self.dim = h.size

    def loss(self, w):
        return 0.5 * float(np.dot(self.h * w, w))

    def grad(self, w):
        return self.h * w

    def hvp(self, w, v):
        return self.h * v


def test_adam_large_d_smoke():
    d = 10 ** 6
    rng = np.random.default_rng(0)
    problem = DiagonalQuadratic(rng.uniform(1.0, 10.0, size=d))
    w = rng.normal(size=d)
    opt = Adam(1e-2)
    state = opt.init(w)
    m_id, v_id = id(state.m), id(state.v)
    loss0 = problem.loss(w)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        w += opt.update(problem.grad(w), state, w, problem)
        times.append(time.perf_counter() - start)
    assert max(times) < 0.5
    assert id(state.m) == m_id and id(state.v) == v_id
    assert problem.loss(w) < loss0


def test_run_large_d_with_keep_every():
    d = 10 ** 6
    problem = DiagonalQuadratic(np.linspace(1.0, 10.0, d))
    traj = run(Nesterov(0.05, 0.9), problem, np.ones(d), steps=4, keep_every=4)
    assert traj.w.shape == (2, d)
    assert not traj.diverged and traj.loss[-1] < 0.2 * traj.loss[0]


# --------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("make, name", [
    (lambda: Momentum(0.1, gamma=1.0), "gamma"),
    (lambda: Momentum(0.1, gamma=-0.1), "gamma"),
    (lambda: Nesterov(0.1, gamma=1.5), "gamma"),
    (lambda: Momentum(0.0, 0.9), "lr"),
    (lambda: Nesterov(-1.0, 0.9), "lr"),
    (lambda: Adagrad(0.1, eps=0.0), "eps"),
    (lambda: Adagrad("0.1"), "lr"),
    (lambda: RMSProp(0.1, beta2=1.0), "beta2"),
    (lambda: RMSProp(0.1, eps=-1e-8), "eps"),
    (lambda: Adam(beta1=1.0), "beta1"),
    (lambda: Adam(beta1=-0.5), "beta1"),
    (lambda: Adam(beta2=1.0), "beta2"),
    (lambda: Adam(eps=0.0), "eps"),
    (lambda: Adam(lr=float("nan")), "lr"),
    (lambda: Adam(beta1=True), "beta1"),
])
def test_bad_hyperparameters(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_repr():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
    assert repr(Momentum(0.1, 0.9)) == "Momentum(lr=0.1, gamma=0.9)"


def test_dampening_scales_every_gradient_but_the_first():
    """b_0 = g_0, then b_t = γ b_{t-1} + (1 − τ) g_t (PyTorch's dampening)."""
    problem = quadratic()
    lr, gamma, tau = 0.05, 0.9, 0.9
    traj = run(Momentum(lr, gamma, dampening=tau), problem, W0, steps=3)
    b = np.zeros(2)
    w = W0.copy()
    for t in range(3):
        g = np.asarray(grad(w))
        b = g if t == 0 else gamma * b + (1 - tau) * g
        w = w - lr * b
        assert np.allclose(traj.w[t + 1], w, rtol=1e-14, atol=0)
    assert np.allclose(run(Momentum(lr, gamma, dampening=0.0), problem, W0, 5).w,
                       run(Momentum(lr, gamma), problem, W0, 5).w, rtol=0, atol=0)


def test_dampening_outside_its_range_is_rejected():
    with pytest.raises(ValueError, match="dampening"):
        Momentum(0.1, 0.9, dampening=1.5)
    with pytest.raises(ValueError, match="dampening"):
        Momentum(0.1, 0.9, dampening=-0.1)
    with pytest.raises(TypeError):
        Nesterov(0.1, 0.9, dampening=0.5)  # PyTorch forbids it too


# -- the two pieces every adaptive method shares ------------------------------------------
def test_ema_update_is_in_place_and_is_the_moving_average():
    from optbook.optimizers import ema_update

    rng = np.random.default_rng(0)
    avg, x = rng.standard_normal(5), rng.standard_normal(5)
    expected = 0.9 * avg + 0.1 * x
    buf = avg.copy()
    ema_update(buf, x, 0.9)
    assert np.allclose(buf, expected, rtol=1e-12, atol=1e-15)
    ema_update(buf, x, 0.0)  # β = 0: the newest value only
    assert np.array_equal(buf, x)


@pytest.mark.parametrize("bias2, power", [(1.0, 1.0), (0.19, 1.0), (0.5, 0.5), (0.3, 2.0)])
def test_adaptive_step_is_the_formula(bias2, power):
    from optbook.optimizers import adaptive_step

    rng = np.random.default_rng(1)
    num, v = rng.standard_normal(7), rng.random(7)
    v[0] = 0.0  # where v vanishes, ε keeps the step finite
    got = adaptive_step(num, v, 1e-3, 0.2, bias2=bias2, power=power)
    want = -0.2 * num / ((np.sqrt(v) / np.sqrt(bias2)) ** power + 1e-3)
    assert np.allclose(got, want, rtol=1e-14, atol=0)
    assert got is not num and got is not v and np.all(np.isfinite(got))
