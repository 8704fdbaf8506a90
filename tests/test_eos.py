"""Tests of optbook.eos: the thresholds against the spectral radius of the iteration matrix
and against runs of the optimisers, the self-stabilisation toy's derivatives and two-cycle,
and the plateau statistic."""

import numpy as np
import pytest

import optbook as ob
from optbook.eos import SharpeningToy, edge_ratio, iteration_matrix, threshold
from optbook.optimizers import Trajectory

OPTIMIZERS = [
    ob.GD(0.1),
    ob.GD(0.013),
    ob.Momentum(0.1, 0.5),
    ob.Momentum(0.02, 0.9),
    ob.Momentum(0.05, 0.9, dampening=0.9),
    ob.Momentum(0.1, 0.0),
    ob.Adam(4e-3, 0.9, 0.999),
    ob.Adam(1e-3, 0.99, 0.999),
]


def radius(T):
    return float(np.max(np.abs(np.linalg.eigvals(T))))


def test_threshold_formulas():
    assert threshold(ob.GD(0.1)) == pytest.approx(20.0)
    assert threshold(ob.Momentum(0.1, 0.5)) == pytest.approx(30.0)
    assert threshold(ob.Momentum(0.1, 0.9)) == pytest.approx(38.0)
    assert threshold(ob.Adam(4e-3, 0.9)) == pytest.approx(9500.0)
    # Adam's threshold is the EMA heavy ball's: γ = τ = β₁
    assert threshold(ob.Adam(0.01, 0.8)) == pytest.approx(
        threshold(ob.Momentum(0.01, 0.8, dampening=0.8)))
    # heavy ball with γ = 0 is gradient descent
    assert threshold(ob.Momentum(0.3, 0.0)) == pytest.approx(threshold(ob.GD(0.3)))


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
def test_spectral_radius_crosses_one_at_the_threshold(opt):
    edge = threshold(opt)
    below = [radius(iteration_matrix(opt, f * edge)) for f in (1e-3, 0.3, 0.9, 0.999)]
    above = [radius(iteration_matrix(opt, f * edge)) for f in (1.001, 1.1, 2.0)]
    assert all(r < 1 for r in below), below
    assert all(r > 1 for r in above), above
    assert radius(iteration_matrix(opt, edge)) == pytest.approx(1.0, abs=1e-9)
    # at the edge the root is −1: the mode flips sign with constant amplitude
    assert np.min(np.abs(np.linalg.eigvals(iteration_matrix(opt, edge)) + 1)) < 1e-6


@pytest.mark.parametrize("opt", [o for o in OPTIMIZERS if not isinstance(o, ob.Adam)], ids=repr)
def test_iteration_matrix_is_the_optimizer_on_a_one_dimensional_quadratic(opt):
    lam = 0.7 * threshold(opt)
    tr = ob.run(opt, ob.Quadratic(np.array([[lam]])), np.array([1.0]), 30)
    w = tr.w[:, 0]
    if isinstance(opt, ob.GD):
        T = iteration_matrix(opt, lam)[0, 0]
        np.testing.assert_allclose(w[1:], T * w[:-1], rtol=1e-12, atol=1e-300)
        return
    # state (w_t, b_{t-1}) from the run: b_0 = g_0 (the first buffer), then the matrix
    T = iteration_matrix(opt, lam)
    b0 = lam * w[0]
    state = np.array([w[1], b0])
    for t in range(1, 30):
        state = T @ state
        assert state[0] == pytest.approx(w[t + 1], rel=1e-9, abs=1e-12)


def test_adam_matrix_is_adam_with_a_frozen_preconditioner():
    """Adam without bias correction and with v frozen is the matrix's iteration, in the
    variables u = P^(-1/2) w, n = P^(1/2) m, on a diagonal quadratic."""
    rng = np.random.default_rng(0)
    h = rng.uniform(0.5, 3.0, 4)  # H = diag(h)
    p = rng.uniform(0.1, 2.0, 4)  # frozen P = diag(p)
    opt = ob.Adam(0.05, 0.9)
    w, m = rng.standard_normal(4), np.zeros(4)
    u, n = w / np.sqrt(p), np.zeros(4)
    for _ in range(40):
        m = opt.beta1 * m + (1 - opt.beta1) * h * w
        w = w - opt.lr * p * m
        for i in range(4):  # mode i of P^(1/2) H P^(1/2) = diag(p h)
            u[i], n[i] = iteration_matrix(opt, p[i] * h[i]) @ np.array([u[i], n[i]])
        np.testing.assert_allclose(u, w / np.sqrt(p), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(n, np.sqrt(p) * m, rtol=1e-10, atol=1e-12)


def test_gd_on_a_quadratic_diverges_just_above_the_threshold():
    for f, diverges in ((0.98, False), (1.02, True)):
        H = np.diag([f * threshold(ob.Momentum(0.1, 0.5)), 1.0])
        tr = ob.run(ob.Momentum(0.1, 0.5), ob.Quadratic(H), np.ones(2), 3000)
        assert tr.diverged == diverges


def test_threshold_rejects_what_it_does_not_cover():
    with pytest.raises(ValueError, match="constant step"):
        threshold(ob.GD(lambda t: 0.1))
    with pytest.raises(ValueError, match="GD, Momentum"):
        threshold(ob.Nesterov(0.1, 0.9))
    with pytest.raises(ValueError, match="GD, Momentum"):
        threshold(ob.RMSProp(0.1))
    with pytest.raises(ValueError, match="lam"):
        iteration_matrix(ob.GD(0.1), "big")


# --- the toy -------------------------------------------------------------------------

def test_toy_derivatives_match_central_differences():
    toy = SharpeningToy(mu=0.3, s_star=2.5)
    rng = np.random.default_rng(1)
    for _ in range(5):
        w = rng.standard_normal(2) * [1.0, 2.0]
        r = 1e-6
        fd = np.array([(toy.loss(w + r * e) - toy.loss(w - r * e)) / (2 * r) for e in np.eye(2)])
        np.testing.assert_allclose(toy.grad(w), fd, rtol=1e-7, atol=1e-8)
        fdH = np.column_stack([(toy.grad(w + r * e) - toy.grad(w - r * e)) / (2 * r)
                               for e in np.eye(2)])
        np.testing.assert_allclose(toy.hessian(w), fdH, rtol=1e-6, atol=1e-7)
        v = rng.standard_normal(2)
        np.testing.assert_allclose(toy.hvp(w, v), toy.hessian(w) @ v)
    assert toy.grid(np.array([0.5]), np.array([1.0]))[0] == pytest.approx(
        toy.loss([0.5, 1.0]))


def test_toy_two_cycle_is_a_period_two_orbit_of_gd():
    toy, eta = SharpeningToy(mu=0.1, s_star=2.2), 1.0
    a, b = toy.two_cycle(eta)
    np.testing.assert_allclose(a - eta * toy.grad(a), b, atol=1e-14)
    np.testing.assert_allclose(b - eta * toy.grad(b), a, atol=1e-14)
    assert a[1] == b[1] == 2 / eta


@pytest.mark.parametrize("ratio, settles", [(1.1, True), (1.2, True), (1.3, False)])
def test_gd_settles_on_the_two_cycle_iff_s_star_is_below_5_over_2_eta(ratio, settles):
    """The chapter proves the cycle is stable iff 2/η < s_star < 5/(2η) (for ημ < 2)."""
    eta = 1.0
    toy = SharpeningToy(mu=0.1, s_star=ratio * 2 / eta)
    tr = ob.run(ob.GD(eta), toy, np.array([0.01, 1.5]), 4000)
    assert not tr.diverged
    end = tr.w[-2:]
    cycle = toy.two_cycle(eta)
    near = min(np.abs(end - cycle).max(), np.abs(end - cycle[::-1]).max())
    assert (near < 1e-6) == settles


def test_gd_below_the_edge_converges_to_the_minimum():
    toy = SharpeningToy(mu=0.1, s_star=1.8)
    tr = ob.run(ob.GD(1.0), toy, np.array([0.5, 1.0]), 3000)
    np.testing.assert_allclose(tr.final, [0.0, 1.8], atol=1e-8)
    with pytest.raises(ValueError, match="no two-cycle"):
        toy.two_cycle(1.0)


def test_toy_validates_its_arguments():
    with pytest.raises(ValueError, match="mu"):
        SharpeningToy(mu=0.0)
    with pytest.raises(ValueError, match="s_star"):
        SharpeningToy(s_star=-1.0)
    with pytest.raises(ValueError, match="length 2"):
        SharpeningToy().loss(np.zeros(3))
    assert "SharpeningToy" in repr(SharpeningToy())


# --- the plateau statistic ---------------------------------------------------------------

def _trajectory(values, steps, every, diverged=False):
    t = np.arange(0, steps + 1, every)
    return Trajectory(w=np.zeros((2, 1)), loss=np.zeros(steps + 1), grad_norm=np.zeros(steps + 1),
                      t=np.array([0, steps]), diverged=diverged,
                      diverged_at=5 if diverged else None,
                      records={"sharpness": np.asarray(values, float)}, record_t=t)


def test_edge_ratio_averages_the_second_half():
    tr = _trajectory([1, 2, 3, 4, 20, 22, 18, 20, 20], steps=80, every=10)
    assert edge_ratio(tr, 20.0) == pytest.approx(1.0)  # steps 40..80
    assert edge_ratio(tr, 10.0, start=0.75) == pytest.approx((18 + 20 + 20) / 3 / 10)
    assert edge_ratio(tr, 20.0, start=0.0) == pytest.approx(np.mean(tr.records["sharpness"]) / 20)


def test_edge_ratio_on_a_network_run_at_the_edge():
    """A small real run: GD on a tanh network hovers at 2/η (ratio within 10% of 1)."""
    from optbook.experiments import sharpness
    from optbook.networks import MLP

    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5))
    y = (X[:, 0] > 0).astype(int)
    net = MLP(X, y, hidden=(16,), activation="tanh", loss="mse")
    w0 = net.initial_weights(np.random.default_rng(0))
    lam0 = sharpness(net, rng=np.random.default_rng(1))(w0)
    opt = ob.GD(2.0 / (0.6 * lam0))  # 2/η well below the initial sharpness
    tr = ob.run(opt, net, w0, 400, record={"sharpness": sharpness(net, rng=rng)},
                record_every=20)
    assert abs(edge_ratio(tr, threshold(opt)) - 1) < 0.1


def test_edge_ratio_refuses_bad_input():
    tr = _trajectory(np.arange(9.0), steps=80, every=10)
    with pytest.raises(ValueError, match="no measurement 'lam'"):
        edge_ratio(tr, 1.0, name="lam")
    with pytest.raises(ValueError, match="threshold"):
        edge_ratio(tr, 0.0)
    with pytest.raises(ValueError, match="start"):
        edge_ratio(tr, 1.0, start=1.0)
    with pytest.raises(ValueError, match="diverged"):
        edge_ratio(_trajectory(np.arange(9.0), 80, 10, diverged=True), 1.0)
    with pytest.raises(ValueError, match="finite"):
        edge_ratio(_trajectory([np.nan] * 9, 80, 10), 1.0)
