"""Tests of optbook.sharpness: SAM, IRE, AdaHessian, NoiseScaledSGD (the notes' variant), SGDHess.

First steps by hand on Quadratic(diag(1, 10)) (scalar arithmetic, coordinate by
coordinate); identities between code paths (IRE with κ = 0 is its base, the variant
with ρ = 0 is GD/SGD, SGDHess on a quadratic with full gradients is GD); SAM's second
gradient on the same mini-batch; reproducibility from run's seed; d = 10⁶ smoke tests;
the argument checks.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optbook as ob
from optbook import (
    GD,
    IRE,
    SAM,
    AdaHessian,
    Adam,
    LeastSquares,
    Momentum,
    NoiseScaledSGD,
    Quadratic,
    SGDHess,
    TwoLayerNet,
    run,
    toy_regression,
)
from optbook.sharpness import sam_perturbation
from optbook.toys import NoisyValley

H = np.diag([1.0, 10.0])
B = np.array([1.0, -2.0])
W0 = np.array([3.0, 1.0])
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)


def quadratic():
    return Quadratic(H, B)


def grad(w):
    """∇L by hand: (w1 - 1, 10 w2 + 2)."""
    return [w[0] - 1.0, 10.0 * w[1] + 2.0]


class DiagQuadratic:
    """L(w) = ½ Σ h_i w_i² - bᵀw without any d×d array (for d = 10⁶)."""

    def __init__(self, h, b):
        self.h, self.b, self.dim = h, b, h.size

    def loss(self, w):
        return float(0.5 * np.dot(self.h * w, w) - self.b @ w)

    def grad(self, w):
        return self.h * w - self.b

    def hvp(self, w, v):
        return self.h * v


class Counting:
    """Wraps a problem and counts Hessian-vector products."""

    def __init__(self, problem):
        self.p, self.dim, self.hvps = problem, problem.dim, 0

    def loss(self, w):
        return self.p.loss(w)

    def grad(self, w):
        return self.p.grad(w)

    def hvp(self, w, v):
        self.hvps += 1
        return self.p.hvp(w, v)


def least_squares(seed=0, d=4, n=12):
    rng = np.random.default_rng(seed)
    return LeastSquares(rng.standard_normal((d, n)), rng.standard_normal(n))


# --------------------------------------------------------------------------
# SAM
# --------------------------------------------------------------------------

def test_sam_first_steps_by_hand():
    lr, rho = 0.05, 0.5
    traj = run(SAM(lr, rho=rho), quadratic(), W0, steps=3)
    # step 0: g = (2, 12), ‖g‖ = √148, ε̂ = ρ g/‖g‖, g̃ = ∇L(w + ε̂) = g + ρ H g/‖g‖
    n = math.sqrt(148.0)
    g_sam = [2.0 + rho * 2.0 / n, 12.0 + rho * 10.0 * 12.0 / n]
    np.testing.assert_allclose(traj.w[1], [3.0 - lr * g_sam[0], 1.0 - lr * g_sam[1]],
                               rtol=1e-14)
    w = list(W0)
    for t in range(3):
        g = grad(w)
        norm = math.hypot(*g)
        e = [rho * gi / norm for gi in g]
        gs = grad([w[0] + e[0], w[1] + e[1]])
        w = [w[i] - lr * gs[i] for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_sam_with_zero_gradient_and_zero_radius():
    q = Quadratic(H, B)
    w_star = q.minimizer()
    traj = run(SAM(0.1, rho=0.05), q, w_star, steps=3)
    assert np.all(np.isfinite(traj.w)) and np.allclose(traj.w, w_star)  # ε̂ = 0, no NaN
    np.testing.assert_array_equal(sam_perturbation(np.zeros(3), 0.1, p=3.0), np.zeros(3))
    np.testing.assert_array_equal(run(SAM(0.05, rho=0.0), q, W0, 5).w,
                                  run(GD(0.05), q, W0, 5).w)


@given(d=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       p=st.sampled_from([1.5, 2.0, 3.0, 7.0, np.inf]), log_scale=st.floats(-150, 150))
@PROPERTY
def test_sam_perturbation_has_norm_rho_and_maximises_the_linear_model(d, seed, p, log_scale):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(d) * 10.0**log_scale  # huge and tiny scales: no overflow
    rho = 0.3
    e = sam_perturbation(g, rho, p)
    assert np.all(np.isfinite(e))
    assert np.isclose(np.linalg.norm(e, ord=p), rho, rtol=1e-9)
    # Hölder: max over ‖ε‖_p ≤ ρ of εᵀg is ρ‖g‖_q, attained at ε̂.
    q = 1.0 if np.isinf(p) else p / (p - 1.0)
    gs = g / np.max(np.abs(g))
    assert np.isclose(e @ gs, rho * np.linalg.norm(gs, ord=q), rtol=1e-9)
    if p == 2.0:
        np.testing.assert_allclose(e, rho * g / np.linalg.norm(g), rtol=1e-12)


def test_sam_wraps_a_base_optimiser():
    """SAM(base=Momentum) hands the gradient at w + ε̂ to the heavy ball, by hand."""
    lr, gamma, rho = 0.02, 0.9, 0.1
    traj = run(SAM(base=Momentum(lr, gamma), rho=rho), quadratic(), W0, steps=4)
    w, b = list(W0), [0.0, 0.0]
    for t in range(4):
        g = grad(w)
        norm = math.hypot(*g)
        gs = grad([w[i] + rho * g[i] / norm for i in range(2)])
        b = [gamma * b[i] + gs[i] for i in range(2)]
        w = [w[i] - lr * b[i] for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-13)
    assert run(SAM(base=Adam(0.1), rho=0.05), quadratic(), W0, 200).loss[-1] < 1e-3


def test_sam_second_gradient_uses_the_same_mini_batch():
    ls = least_squares()
    lr, rho, B_ = 0.01, 0.1, 3
    traj = run(SAM(lr, rho=rho), ls, np.zeros(4), 6, batch_size=B_,
               rng=np.random.default_rng(7))
    rng, w = np.random.default_rng(7), np.zeros(4)
    for t in range(6):
        batch = ls.subset(rng.choice(ls.n, size=B_, replace=False))
        g = batch.grad(w)
        w = w - lr * batch.grad(w + rho * g / np.linalg.norm(g))
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-13)

    class Recording(LeastSquares):
        calls = []

        def subset(self, idx):
            sub = super().subset(idx)
            sub.__class__ = Recording
            return sub

        def grad(self, w):
            Recording.calls.append(id(self))
            return super().grad(w)

    rec = Recording(ls.Phi, ls.y)
    run(SAM(lr, rho=rho), rec, np.zeros(4), 5, batch_size=B_, rng=np.random.default_rng(1))
    # per step: the full gradient (run's record), then batch g and batch g(w + ε̂)
    calls = Recording.calls
    assert len(calls) == 1 + 5 * 3
    for t in range(5):
        full, g1, g2 = calls[3 * t: 3 * t + 3]
        assert g1 == g2 != full


# --------------------------------------------------------------------------
# AdaHessian
# --------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1.0, 0.5, 0.0])
def test_adahessian_first_steps_by_hand_on_a_diagonal_quadratic(k):
    """z ⊙ Hz = diag H exactly for diagonal H, so the run is deterministic."""
    lr, b1, b2, eps = 0.15, 0.9, 0.999, 1e-4
    traj = run(AdaHessian(lr, b1, b2, eps, hessian_power=k), quadratic(), W0, steps=3,
               rng=np.random.default_rng(0))
    if k == 1.0:
        # step 0: m̂ = g = (2, 12), v̂ = D² = (1, 100): Δ = -0.15 (2/(1 + ε), 12/(10 + ε))
        np.testing.assert_allclose(traj.w[1], [3.0 - 0.3 / (1 + eps), 1.0 - 1.8 / (10 + eps)],
                                   rtol=1e-14)
    w, m, v, D = list(W0), [0.0, 0.0], [0.0, 0.0], [1.0, 10.0]
    for t in range(1, 4):
        g = grad(w)
        m = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        v = [b2 * v[i] + (1 - b2) * D[i] ** 2 for i in range(2)]
        mh = [m[i] / (1 - b1**t) for i in range(2)]
        vh = [v[i] / (1 - b2**t) for i in range(2)]
        w = [w[i] - lr * mh[i] / (math.sqrt(vh[i]) ** k + eps) for i in range(2)]
        np.testing.assert_allclose(traj.w[t], w, rtol=1e-13)


def test_adahessian_block_averaging_by_hand():
    """block = 2 on diag(1, 3, 4, 8): D^(s) = (2, 2, 6, 6); first step -η g/(D^(s) + ε)."""
    h = np.array([1.0, 3.0, 4.0, 8.0])
    q = Quadratic(np.diag(h))
    w0 = np.ones(4)
    traj = run(AdaHessian(0.1, block=2), q, w0, 1, rng=np.random.default_rng(0))
    np.testing.assert_allclose(traj.w[1], w0 - 0.1 * h / (np.array([2, 2, 6, 6]) + 1e-4),
                               rtol=1e-14)
    # the reference code's |z ⊙ Hz| before averaging: the same for block = 1
    rng_args = {"rng": np.random.default_rng(3)}
    ls = least_squares(2)
    a = run(AdaHessian(0.05), ls, np.zeros(4), 10, **rng_args).w
    b = run(AdaHessian(0.05, absolute=True), ls, np.zeros(4), 10,
            rng=np.random.default_rng(3)).w
    np.testing.assert_allclose(a, b, rtol=1e-14)


def test_adahessian_n_samples_averages_probes():
    """Many probes recover diag H of a dense H; the first step is then -η g/(|diag H| + ε)."""
    ls = least_squares(5)
    w0 = np.ones(4)
    traj = run(AdaHessian(0.1, n_samples=20000), ls, w0, 1, rng=np.random.default_rng(2))
    expected = w0 - 0.1 * ls.grad(w0) / (np.abs(np.diag(ls.hessian())) + 1e-4)
    np.testing.assert_allclose(traj.w[1], expected, rtol=0.05)


def test_adahessian_is_reproducible_and_needs_rng():
    Phi, y = toy_regression(10, 1, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, width=4)
    w0 = net.init(np.random.default_rng(1))
    a = run(AdaHessian(0.05), net, w0, 15, rng=np.random.default_rng(9))
    b = run(AdaHessian(0.05), net, w0, 15, rng=np.random.default_rng(9))
    c = run(AdaHessian(0.05), net, w0, 15, rng=np.random.default_rng(10))
    np.testing.assert_array_equal(a.w, b.w)
    assert not np.array_equal(a.w, c.w)
    sa = run(AdaHessian(0.05), net, w0, 8, batch_size=4, rng=np.random.default_rng(3))
    sb = run(AdaHessian(0.05), net, w0, 8, batch_size=4, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(sa.w, sb.w)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator.*AdaHessian"):
        run(AdaHessian(0.05), net, w0, 3)


# --------------------------------------------------------------------------
# IRE
# --------------------------------------------------------------------------

@pytest.mark.parametrize("make_base", [lambda: GD(0.05), lambda: SAM(0.05, rho=0.1),
                                       lambda: Adam(0.05)], ids=["GD", "SAM", "Adam"])
@pytest.mark.parametrize("curvature", ["fisher", "hutchinson", "gradient"])
def test_ire_with_kappa_zero_is_its_base(make_base, curvature):
    Phi, y = toy_regression(12, 1, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, width=5)
    w0 = net.init(np.random.default_rng(1))
    base = run(make_base(), net, w0, 25)
    ire = run(IRE(make_base(), kappa=0.0, curvature=curvature, K=3), net, w0, 25,
              rng=np.random.default_rng(2))
    np.testing.assert_array_equal(ire.w, base.w)
    sgd = run(make_base(), net, w0, 10, batch_size=4, rng=np.random.default_rng(5))
    ire_sgd = run(IRE(make_base(), kappa=0.0, curvature=curvature), net, w0, 10,
                  batch_size=4, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(ire_sgd.w, sgd.w)


@pytest.mark.parametrize("curvature", ["hutchinson", "gradient"])
def test_ire_first_steps_by_hand(curvature):
    """H = diag(1, 10), γ = 0.6 (⌊0.6·2⌋ = 1 flat coordinate): the flat coordinate is the
    first (h = 1 < 10, and |g_1| < |g_2| along the run); w ← w - η (g + κ n ⊙ g) with
    n = (1, 0)."""
    lr, kappa = 0.05, 2.0
    traj = run(IRE(lr, kappa, fraction=0.6, curvature=curvature), quadratic(), W0, 4,
               rng=np.random.default_rng(0))
    w = list(W0)
    for t in range(4):
        g = grad(w)
        w = [w[0] - lr * (1 + kappa) * g[0], w[1] - lr * g[1]]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-14)


def test_ire_is_reproducible_from_the_seed():
    Phi, y = toy_regression(10, 1, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, width=6)
    w0 = net.init(np.random.default_rng(1))

    def go(seed):
        return run(IRE(SAM(0.05), kappa=2.0, K=2), net, w0, 12, batch_size=5,
                   rng=np.random.default_rng(seed)).w

    np.testing.assert_array_equal(go(4), go(4))
    assert not np.array_equal(go(4), go(5))


def test_ire_warmup_and_refresh_interval():
    lr, kappa = 0.05, 1.0
    q = Counting(quadratic())
    traj = run(IRE(GD(lr), kappa, fraction=0.6, K=5, warmup=2, curvature="hutchinson"), q, W0, 13,
               rng=np.random.default_rng(0))
    assert q.hvps == 3  # refreshes at t = 2, 7, 12
    plain = run(GD(lr), quadratic(), W0, 2)
    np.testing.assert_array_equal(traj.w[:3], plain.w)  # warm-up: the base alone
    w = traj.w[2].copy()
    g = np.array(grad(w))
    np.testing.assert_allclose(traj.w[3], w - lr * np.array([1 + kappa, 1.0]) * g)


def test_ire_moves_faster_along_the_valley_of_the_toy():
    """L(u, v) = (1 + u²) v²/2: GD barely moves u; IRE (κ = 4) moves it further toward
    the flattest minimum u = 0, and ends with a smaller sharpness 1 + u²."""

    class Toy:
        dim = 2

        def loss(self, w):
            return 0.5 * (1 + w[0] ** 2) * w[1] ** 2

        def grad(self, w):
            return np.array([w[0] * w[1] ** 2, (1 + w[0] ** 2) * w[1]])

        def hvp(self, w, v):
            u, s = w
            Hm = np.array([[s**2, 2 * u * s], [2 * u * s, 1 + u**2]])
            return Hm @ v

    w0 = np.array([2.0, 1.0])
    eta = 0.1
    gd = run(SAM(eta, rho=0.1), Toy(), w0, 300).final
    ire = run(IRE(SAM(eta, rho=0.1), kappa=4.0, fraction=0.6, K=1, curvature="hutchinson"),
              Toy(), w0, 300,
              rng=np.random.default_rng(0)).final
    assert abs(ire[0]) < abs(gd[0]) < 2.0


def _fisher_direct(problem, w, rng):
    """The Fisher sample computed the long way: build the same problem with targets drawn
    from the model's predictive distribution, and square the gradient of its loss."""
    import copy

    if isinstance(problem, ob.LogisticRegression):
        p = 1.0 / (1.0 + np.exp(-(problem.Phi.T @ w)))
        labels = np.where(rng.random(problem.n) < p, 1.0, -1.0)
        return ob.LogisticRegression(problem.Phi, labels, weight=problem.weight).grad(w) ** 2
    if isinstance(problem, NoisyValley):
        F = np.sqrt(1 + w[0] ** 2) * w[1] * np.ones(problem.n)
        return NoisyValley(F + rng.standard_normal(problem.n)).grad(w) ** 2
    if isinstance(problem, ob.LeastSquares):
        F = problem.Phi.T @ w
        return ob.LeastSquares(problem.Phi, F + rng.standard_normal(problem.n),
                               weight=problem.weight).grad(w) ** 2
    sampled = copy.copy(problem)  # a TwoLayerNet: same weights, targets F(w) + ξ
    sampled.y = problem.outputs(w) + rng.standard_normal(problem.n)
    return sampled.grad(w) ** 2


def _fisher_problems():
    rng = np.random.default_rng(11)
    Phi, y = toy_regression(9, 1, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, width=4).subset(np.arange(5))  # a mini-batch, weight 9/5
    yield "net", net, net.init(np.random.default_rng(1))
    ls = ob.LeastSquares(rng.standard_normal((4, 6)), rng.standard_normal(6), weight=0.7)
    yield "least squares", ls, rng.standard_normal(4)
    yield "valley", NoisyValley.centred(8, rng=rng).subset(np.arange(3)), np.array([1.5, 0.3])
    yield "toy", NoisyValley(np.zeros(1)), np.array([1.0, 0.01])
    logit = ob.LogisticRegression(rng.standard_normal((3, 7)),
                                  rng.choice([-1.0, 1.0], size=7), weight=2.0)
    yield "logistic", logit, rng.standard_normal(3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ire_fisher_sample_is_the_squared_gradient_on_sampled_targets(seed):
    for name, problem, w in _fisher_problems():
        got = IRE.fisher_sample(problem, w, np.random.default_rng(seed))
        want = _fisher_direct(problem, w, np.random.default_rng(seed))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14, err_msg=name)


def test_ire_fisher_mean_is_the_gauss_newton_diagonal():
    """E[(c Jᵀξ)²] = c² diag(JᵀJ) for least squares (200 000 samples, 2% tolerance)."""
    rng = np.random.default_rng(3)
    ls = ob.LeastSquares(rng.standard_normal((3, 5)), rng.standard_normal(5), weight=0.5)
    w = rng.standard_normal(3)
    xi = np.random.default_rng(4).standard_normal((200_000, 5))
    mean = np.mean((0.5 * xi @ ls.Phi.T) ** 2, axis=0)
    np.testing.assert_allclose(mean, 0.25 * np.sum(ls.Phi**2, axis=1), rtol=0.02)
    one = IRE.fisher_sample(ls, w, np.random.default_rng(4))
    np.testing.assert_allclose(one, (0.5 * ls.Phi @ xi[0]) ** 2, rtol=1e-12)


def test_ire_default_mask_uses_the_fisher_sample():
    Phi, y = toy_regression(10, 1, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, width=6)
    w0 = net.init(np.random.default_rng(1))
    opt = IRE(GD(0.05), kappa=2.0, fraction=0.7)
    assert opt.curvature == "fisher"
    state = opt.init(w0, rng=np.random.default_rng(3))
    step = opt.update(net.grad(w0), state, w0, net)
    h = _fisher_direct(net, w0, np.random.default_rng(3))
    n_flat = int(0.7 * net.dim)
    assert state.mask.sum() == n_flat
    assert np.max(h[state.mask]) <= np.min(h[~state.mask])
    np.testing.assert_allclose(step, -0.05 * (1 + 2.0 * state.mask) * net.grad(w0))


def test_ire_fisher_on_the_toy_marks_u_and_needs_a_model():
    """L(u, v) = (1 + u²)v²/2 as one least-squares sample F = √(1+u²) v, y = 0: the Fisher
    sample is ξ²(uv/a, a)², so u is the flat coordinate whenever |uv| < 1 + u²."""
    toy = NoisyValley(np.zeros(1))
    opt = IRE(GD(0.1), kappa=1.0, fraction=0.6)
    state = opt.init(np.array([1.0, 0.01]), rng=np.random.default_rng(0))
    opt.update(toy.grad([1.0, 0.01]), state, np.array([1.0, 0.01]), toy)
    assert state.mask.tolist() == [True, False]
    with pytest.raises(ValueError, match="curvature='fisher' needs a model"):
        run(IRE(GD(0.1), 1.0), quadratic(), W0, 1, rng=np.random.default_rng(0))


# --------------------------------------------------------------------------
# NoiseScaledSGD (the notes' variant) and SGDHess
# --------------------------------------------------------------------------

def test_variant_with_rho_zero_is_gd_and_sgd():
    q = quadratic()
    np.testing.assert_array_equal(run(NoiseScaledSGD(0.05, rho=0.0), q, W0, 30).w,
                                  run(GD(0.05), q, W0, 30).w)
    ls = least_squares(3)
    a = run(NoiseScaledSGD(0.01, rho=0.0, centered=True), ls, np.zeros(4), 30,
            batch_size=2, rng=np.random.default_rng(4))
    b = run(GD(0.01), ls, np.zeros(4), 30, batch_size=2, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a.w, b.w)


@pytest.mark.parametrize("centered", [False, True])
def test_variant_first_steps_by_hand(centered):
    lr, rho, b1, b2 = 0.01, 2.0, 0.9, 0.99
    traj = run(NoiseScaledSGD(lr, rho, b1, b2, centered=centered), quadratic(), W0, 4)
    w, m, v, c = list(W0), [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    for t in range(4):
        g = grad(w)
        m = [b1 * m[i] + (1 - b1) * g[i] for i in range(2)]
        e = [g[i] - m[i] for i in range(2)]
        if centered:
            c = [b1 * c[i] + (1 - b1) * e[i] for i in range(2)]
            e = [c[i] - e[i] for i in range(2)]
        v = [b2 * v[i] + (1 - b2) * e[i] ** 2 for i in range(2)]
        w = [w[i] - lr * g[i] * (1 + rho * v[i]) for i in range(2)]
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-13)
    # step 0 explicitly: m = 0.1 g, ε̂ = 0.9 g, v = 0.01·0.81 g², g = (2, 12)
    if not centered:
        v0 = 0.01 * 0.81 * np.array([4.0, 144.0])
        np.testing.assert_allclose(traj.w[1], W0 - lr * np.array([2.0, 12.0]) * (1 + rho * v0))


def test_sgdhess_is_gd_on_a_quadratic_with_full_gradients():
    """m_t = (1-α)(m_{t-1} + H Δw) + α g_t = g_t exactly when g is affine (a quadratic)."""
    a = run(SGDHess(0.05, alpha=0.2), quadratic(), W0, 20).w
    np.testing.assert_allclose(a, run(GD(0.05), quadratic(), W0, 20).w, rtol=1e-12)
    np.testing.assert_array_equal(run(SGDHess(0.05, alpha=1.0), quadratic(), W0, 5).w,
                                  run(GD(0.05), quadratic(), W0, 5).w)


def test_sgdhess_by_hand_with_mini_batches():
    ls, lr, alpha = least_squares(6), 0.02, 0.3
    traj = run(SGDHess(lr, alpha), ls, np.zeros(4), 5, batch_size=3,
               rng=np.random.default_rng(8))
    rng, w, w_prev, m = np.random.default_rng(8), np.zeros(4), None, None
    for t in range(5):
        batch = ls.subset(rng.choice(ls.n, size=3, replace=False))
        g = batch.grad(w)
        m = g.copy() if m is None else (1 - alpha) * (m + batch.hvp(w, w - w_prev)) + alpha * g
        w_prev, w = w, w - lr * m
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------
# Scale and arguments
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_one_step_at_a_million_parameters():
    d = 10**6
    rng = np.random.default_rng(0)
    q = DiagQuadratic(rng.uniform(0.5, 2.0, d), rng.standard_normal(d))
    w0 = np.zeros(d)
    for opt in (SAM(0.1), AdaHessian(0.1), IRE(GD(0.1), 1.0, curvature="hutchinson"),
                NoiseScaledSGD(0.1, 1.0)):
        traj = run(opt, q, w0, 1, rng=np.random.default_rng(1))
        assert traj.loss[1] < traj.loss[0] and np.all(np.isfinite(traj.w[1]))
    # AdaHessian's first step on a diagonal quadratic: -η g/(h + ε)
    traj = run(AdaHessian(0.1), q, w0, 1, rng=np.random.default_rng(1))
    np.testing.assert_allclose(traj.w[1], 0.1 * q.b / (q.h + 1e-4), rtol=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: SAM(0.1, rho=-0.1), "rho must be non-negative"),
    (lambda: SAM(0.1, p=1.0), "p must be > 1"),
    (lambda: SAM(0.1, p="2"), "p must be a real number"),
    (lambda: SAM(), "lr must be given"),
    (lambda: SAM(0.1, base=GD(0.1)), "give lr or base, not both"),
    (lambda: SAM(base="GD"), "base must be an optimiser"),
    (lambda: SAM(-0.1), "lr must be positive"),
    (lambda: IRE(GD(0.1), kappa=-1.0), "kappa must be non-negative"),
    (lambda: IRE(GD(0.1), 1.0, fraction=1.0), r"fraction must be in the open interval \(0.5, 1\)"),
    (lambda: IRE(GD(0.1), 1.0, fraction=0.5), r"fraction must be in the open interval \(0.5, 1\)"),
    (lambda: IRE(GD(0.1), 1.0, fraction=0.3), r"fraction must be in the open interval \(0.5, 1\)"),
    (lambda: IRE(GD(0.1), 1.0, K=0), "K must be >= 1"),
    (lambda: IRE(GD(0.1), 1.0, warmup=-1), "warmup must be >= 0"),
    (lambda: IRE(GD(0.1), 1.0, curvature="newton"), "curvature must be"),
    (lambda: IRE(GD(0.1), 1.0, beta=1.0), "beta must be < 1"),
    (lambda: IRE(-0.1, 1.0), "base .* must be positive"),
    (lambda: AdaHessian(hessian_power=1.5), "hessian_power must be <= 1.0"),
    (lambda: AdaHessian(hessian_power=-0.5), "hessian_power must be non-negative"),
    (lambda: AdaHessian(eps=0.0), "eps must be positive"),
    (lambda: AdaHessian(beta2=1.0), "beta2 must be < 1"),
    (lambda: AdaHessian(block=0), "block must be >= 1"),
    (lambda: AdaHessian(n_samples=0), "n_samples must be >= 1"),
    (lambda: NoiseScaledSGD(0.1, rho=-1.0), "rho must be non-negative"),
    (lambda: NoiseScaledSGD(0.1, rho=1.0, beta1=1.2), "beta1 must be < 1"),
    (lambda: SGDHess(0.1, alpha=0.0), "alpha must be positive"),
    (lambda: SGDHess(0.1, alpha=1.5), "alpha must be <= 1.0"),
])
def test_bad_hyperparameters_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_block_must_divide_the_dimension_and_ire_needs_rng():
    with pytest.raises(ValueError, match="block must divide the dimension d = 2"):
        run(AdaHessian(block=3), quadratic(), W0, 1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng must be .*IRE"):
        run(IRE(GD(0.1), 1.0), quadratic(), W0, 1)
    run(IRE(GD(0.1), 1.0, curvature="gradient"), quadratic(), W0, 1)  # needs no rng


def test_divergence_is_reported_not_raised():
    for opt in (SAM(1.0), AdaHessian(50.0, hessian_power=0.0),
                IRE(GD(0.3), 5.0, curvature="hutchinson"),
                NoiseScaledSGD(0.19, rho=10.0)):
        traj = run(opt, quadratic(), W0, 200, rng=np.random.default_rng(0))
        assert traj.diverged, opt


# -- the preconditioner read after a run ----------------------------------------------------
def test_preconditioner_after_a_run():
    from optbook.sharpness import preconditioner

    problem = ob.Quadratic(np.diag([1.0, 10.0]))
    w0 = np.array([1.0, 1.0])

    def after(opt, steps=5):
        return preconditioner(opt, ob.run(opt, problem, w0, steps, rng=np.random.default_rng(0)))

    assert np.array_equal(after(ob.GD(0.1)), [1.0, 1.0])
    assert np.array_equal(after(ob.Nesterov(0.05, 0.9)), [1.0, 1.0])
    # AdaHessian on a diagonal quadratic: Hutchinson's z⊙Hz is diag H exactly, so P = 1/|diag H|.
    assert np.allclose(after(ob.AdaHessian(0.1)), [1.0, 0.1], rtol=1e-3)
    adam = ob.Adam(0.1)
    tr = ob.run(adam, problem, w0, 5)
    v_hat = tr.state.v / (1 - 0.999**5)
    assert np.allclose(preconditioner(adam, tr), 1 / (np.sqrt(v_hat) + 1e-8))
    assert np.allclose(after(ob.SAM(base=ob.Adam(0.1), rho=0.05)),
                       preconditioner(adam, ob.run(adam, problem, w0, 5)), rtol=0.5)
    ire = ob.IRE(ob.GD(0.05), kappa=2.0, fraction=0.6, K=2, curvature="hutchinson")
    assert np.array_equal(after(ire), [3.0, 1.0])  # flat coordinate sped up by 1 + κ
    variant = ob.NoiseScaledSGD(0.05, rho=1.0)
    tr = ob.run(variant, problem, w0, 5)
    assert np.array_equal(preconditioner(variant, tr), 1 + tr.state.v)


def test_preconditioner_rejects_what_it_cannot_read():
    from optbook.sharpness import preconditioner

    problem = ob.Quadratic(np.diag([1.0, 10.0]))
    tr = ob.run(ob.GD(0.1), problem, np.ones(2), 3)
    with pytest.raises(ValueError, match="no diagonal preconditioner"):
        preconditioner(ob.Newton(), tr)
    with pytest.raises(ValueError, match="what run\\(\\) returned"):
        preconditioner(ob.GD(0.1), np.ones((2, 2)))
    fresh = ob.run(ob.Adam(0.1), problem, np.ones(2), 1)
    fresh.state = ob.Adam(0.1).init(np.ones(2))  # as before the first step
    with pytest.raises(ValueError, match="no step"):
        preconditioner(ob.Adam(0.1), fresh)
