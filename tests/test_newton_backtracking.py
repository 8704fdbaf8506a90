"""Tests of optbook.optimizers: Newton's method and backtracking gradient descent.

Newton: one step lands on the minimiser of a positive definite quadratic (also
for a duck-typed problem with no ``hessian`` method), the pseudo-inverse step
gives the minimum-norm least-squares solution, damping gives the
Levenberg–Marquardt step, a singular system without either is an error, and on
logistic regression the error obeys the quadratic-convergence bound
e_{t+1} <= M/(2 λ_min(H_t)) e_t² (M the Lipschitz constant of the Hessian).

BacktrackingGD: every accepted step is the largest of lr0·shrink^k satisfying
the Armijo condition (recomputed from the trajectory), one step size is recorded
per iteration, it solves Rosenbrock, and on a β-smooth loss no accepted step is
below min(lr0, shrink·2(1 - c)/β).
"""

import numpy as np
import pytest
from helpers import PROPERTY, SEEDS, non_separable_logistic, random_spd
from hypothesis import given
from hypothesis import strategies as st

from optbook import BacktrackingGD, LeastSquares, LogisticRegression, Newton, Quadratic, run
from optbook.problems import Rosenbrock

DIMS = st.integers(1, 8)


def random_pd_quadratic(d, seed):
    rng = np.random.default_rng(seed)
    H, _, _ = random_spd(d, rng, lo=0.1, hi=10.0)
    q = Quadratic(H, rng.uniform(-2, 2, d), rng.uniform(-2, 2))
    return q, np.linalg.solve(q.H, q.b), rng


class HvpOnly:
    """A problem with only the duck-typed interface: no ``hessian`` method."""

    def __init__(self, inner):
        self._inner = inner
        self.dim = inner.dim

    def loss(self, w):
        return self._inner.loss(w)

    def grad(self, w):
        return self._inner.grad(w)

    def hvp(self, w, v):
        return self._inner.hvp(w, v)


# --------------------------------------------------------------------------
# Newton
# --------------------------------------------------------------------------

@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_one_newton_step_reaches_the_minimiser_of_a_quadratic(d, seed):
    q, w_star, rng = random_pd_quadratic(d, seed)
    traj = run(Newton(), q, rng.uniform(-5, 5, d), 1)
    assert np.linalg.norm(traj.w[1] - w_star) <= 1e-10 * (1 + np.linalg.norm(w_star))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_newton_works_without_a_hessian_method(d, seed):
    q, w_star, rng = random_pd_quadratic(d, seed)
    problem = HvpOnly(q)
    assert not hasattr(problem, "hessian")
    w0 = rng.uniform(-5, 5, d)
    traj = run(Newton(), problem, w0, 1)
    assert np.linalg.norm(traj.w[1] - w_star) <= 1e-10 * (1 + np.linalg.norm(w_star))
    np.testing.assert_allclose(traj.w[1], run(Newton(), q, w0, 1).w[1], rtol=1e-10, atol=1e-12)


def test_newton_step_by_hand():
    # H = diag(2, 4), b = (2, 4): w* = (1, 1). From w = (3, 3), g = (4, 8), H⁻¹g = (2, 2).
    q = Quadratic(np.diag([2.0, 4.0]), [2.0, 4.0])
    newton = Newton(lr=0.5)
    w = np.array([3.0, 3.0])
    state = newton.init(w)
    np.testing.assert_allclose(newton.update(q.grad(w), state, w, q), [-1.0, -1.0])
    assert state.t == 1
    np.testing.assert_allclose(run(Newton(), q, w, 1).w[1], [1.0, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_plain_newton_on_underdetermined_least_squares_raises(seed):
    # n < d: H = ΦΦᵀ has rank n < d, so the Newton system is singular.
    rng = np.random.default_rng(seed)
    problem = LeastSquares(rng.normal(size=(5, 2)), rng.normal(size=2))
    with pytest.raises(ValueError, match=r"damping.*pinv"):
        run(Newton(), problem, np.zeros(5), 1)


def test_plain_newton_on_an_exactly_singular_hessian_raises():
    # A zero feature row makes H have an exactly zero row and column.
    problem = LeastSquares([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"damping.*pinv"):
        run(Newton(), problem, np.zeros(3), 1)


@PROPERTY
@given(d=st.integers(2, 8), seed=SEEDS, data=st.data())
def test_pinv_newton_gives_the_minimum_norm_least_squares_solution(d, seed, data):
    n = data.draw(st.integers(1, d - 1))
    rng = np.random.default_rng(seed)
    Phi, y = rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, n)
    traj = run(Newton(pinv=True), LeastSquares(Phi, y), np.zeros(d), 1)
    w1 = traj.w[1]
    ref = np.linalg.lstsq(Phi.T, y, rcond=None)[0]
    scale = 1 + np.linalg.norm(ref)
    assert np.linalg.norm(w1 - ref) <= 1e-9 * scale
    assert np.linalg.norm(w1 - np.linalg.pinv(Phi.T) @ y) <= 1e-9 * scale
    # It interpolates (n < d) and lies in the row space of Φᵀ (minimum norm).
    np.testing.assert_allclose(Phi.T @ w1, y, atol=1e-9 * scale)
    coef = np.linalg.lstsq(Phi, w1, rcond=None)[0]
    np.testing.assert_allclose(Phi @ coef, w1, atol=1e-9 * scale)


@PROPERTY
@given(d=DIMS, n=st.integers(1, 8), seed=SEEDS, damping=st.floats(1e-3, 10.0),
       lr=st.floats(0.1, 1.0))
def test_damped_newton_is_the_levenberg_marquardt_step(d, n, seed, damping, lr):
    rng = np.random.default_rng(seed)
    Phi = rng.uniform(-2, 2, (d, n))
    problem = LeastSquares(Phi, rng.uniform(-2, 2, n))
    w0 = rng.uniform(-2, 2, d)
    expected = w0 - lr * np.linalg.solve(Phi @ Phi.T + damping * np.eye(d), problem.grad(w0))
    traj = run(Newton(lr=lr, damping=damping), problem, w0, 1)
    scale = 1 + np.linalg.norm(expected) + np.linalg.norm(w0)
    assert np.linalg.norm(traj.w[1] - expected) <= 1e-9 * scale


@PROPERTY
@given(d=st.integers(1, 5), extra=st.integers(3, 30), seed=SEEDS)
def test_newton_converges_quadratically_on_logistic_regression(d, extra, seed):
    rng = np.random.default_rng(seed)
    problem = non_separable_logistic(d, extra, rng, scale=2.0)
    traj = run(Newton(), problem, np.zeros(d), 40)
    assert not traj.diverged
    w_star = traj.final
    assert np.linalg.norm(problem.grad(w_star)) < 1e-9
    err = np.linalg.norm(traj.w - w_star, axis=1)
    # The Hessian Φ diag(σ'(z)) Φᵀ is M-Lipschitz with M = max|σ''| Σ‖φ_i‖³, and
    # ‖w_{t+1} - w*‖ <= ‖H_t⁻¹‖ (M/2) ‖w_t - w*‖² (Nocedal & Wright 2006, Thm 3.5).
    M = np.sum(np.linalg.norm(problem.Phi, axis=0) ** 3) / (6 * np.sqrt(3))
    floor = 1e-12 * (1 + np.linalg.norm(w_star))
    checked = 0
    for t in range(40):
        if err[t + 1] <= floor:
            break
        lam_min = np.linalg.eigvalsh(problem.hessian(traj.w[t]))[0]
        assert err[t + 1] <= M / (2 * lam_min) * err[t] ** 2 * (1 + 1e-6), t
        checked += 1
    assert checked >= 1
    # Superlinear at the end: the last error above round-off is far below the one before.
    assert err[checked] <= 1e-2 * err[checked - 1]


@pytest.mark.parametrize("damping", [-1e-3, -1.0, np.nan, np.inf])
def test_newton_rejects_a_bad_damping(damping):
    with pytest.raises(ValueError, match=r"^damping\b"):
        Newton(damping=damping)


@pytest.mark.parametrize("lr", [0.0, -1.0, np.nan])
def test_newton_rejects_a_non_positive_lr(lr):
    with pytest.raises(ValueError, match=r"^lr\b"):
        Newton(lr=lr)


# --------------------------------------------------------------------------
# BacktrackingGD
# --------------------------------------------------------------------------

def trial_steps(opt):
    """lr0, lr0·shrink, lr0·shrink², ... computed as BacktrackingGD does (repeated products)."""
    steps, eta = [], opt.lr0
    for _ in range(opt.max_trials):
        steps.append(eta)
        eta *= opt.shrink
    return steps


def armijo(problem, w, g, eta, c):
    """The sufficient-decrease test, with the same floating-point operations as the optimiser."""
    return problem.loss(w - eta * g) <= problem.loss(w) - c * eta * float(g @ g)


def check_backtracking_trajectory(opt, problem, traj):
    """Every step of ``traj`` is w - η g with η the first trial lr0·shrink^k that passes the
    Armijo test (so no larger trial would have passed), and the loss never increases."""
    trials = trial_steps(opt)
    for t in range(traj.w.shape[0] - 1):
        w, w_next = traj.w[t], traj.w[t + 1]
        g = problem.grad(w)
        if opt.c * trials[0] * float(g @ g) < 1e-9 * max(1.0, abs(traj.loss[t])):
            break  # converged: the sufficient decrease is below the round-off of L
        passing = [k for k, eta in enumerate(trials) if armijo(problem, w, g, eta, opt.c)]
        assert passing, t  # the tests stay clear of max_trials rejections
        eta = trials[passing[0]]
        np.testing.assert_array_equal(w_next, w + (-eta * g), err_msg=f"step {t}")
        # The same condition recomputed from the recorded trajectory.
        gg = float(g @ g)
        assert traj.loss[t + 1] <= traj.loss[t] - opt.c * eta * gg, t


@pytest.mark.parametrize("lr0, shrink, c", [(1.0, 0.5, 1e-4), (0.5, 0.7, 0.3), (2.0, 0.2, 0.5)])
def test_backtracking_steps_are_the_first_armijo_trials_on_rosenbrock(lr0, shrink, c):
    opt = BacktrackingGD(lr0, shrink, c)
    problem = Rosenbrock()
    traj = run(opt, problem, np.array([-1.2, 1.0]), 200)
    check_backtracking_trajectory(opt, problem, traj)


@pytest.mark.slow
@PROPERTY
@given(d=DIMS, n=st.integers(1, 10), seed=SEEDS, shrink=st.floats(0.1, 0.9),
       c=st.floats(1e-4, 0.9), log_lr0=st.floats(-2, 2))
def test_backtracking_steps_are_the_first_armijo_trials_on_logistic_regression(
        d, n, seed, shrink, c, log_lr0):
    rng = np.random.default_rng(seed)
    problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
    opt = BacktrackingGD(10.0**log_lr0, shrink, c)
    traj = run(opt, problem, rng.uniform(-2, 2, d), 30)
    check_backtracking_trajectory(opt, problem, traj)


def test_backtracking_records_one_step_size_per_iteration():
    problem = Rosenbrock()
    opt = BacktrackingGD()
    w = np.array([-1.2, 1.0])
    state = opt.init(w)
    assert state.t == 0
    assert state.lrs == []
    for t in range(25):
        g = problem.grad(w)
        delta = opt.update(g, state, w, problem)
        assert state.t == t + 1
        assert len(state.lrs) == t + 1
        np.testing.assert_array_equal(delta, -state.lrs[-1] * g)
        w = w + delta
    assert all(0 < eta <= opt.lr0 for eta in state.lrs)
    assert len(set(state.lrs)) > 1  # it really backtracks on Rosenbrock


def test_backtracking_update_does_not_modify_w():
    problem = Rosenbrock()
    opt = BacktrackingGD()
    w = np.array([-1.2, 1.0])
    opt.update(problem.grad(w), opt.init(w), w, problem)
    np.testing.assert_array_equal(w, [-1.2, 1.0])


def test_backtracking_solves_rosenbrock():
    traj = run(BacktrackingGD(), Rosenbrock(), np.array([-1.2, 1.0]), 5000)
    assert not traj.diverged
    assert np.all(np.isfinite(traj.loss))
    assert traj.loss[-1] < 1e-6
    assert np.all(np.diff(traj.loss) <= 0)
    np.testing.assert_allclose(traj.w[-1], [1.0, 1.0], atol=1e-2)


def smooth_problem(kind, d, n, rng):
    if kind == "logistic":
        problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
        return problem, problem.smoothness()
    problem = LeastSquares(rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, n))
    return problem, float(np.linalg.eigvalsh(problem.Phi @ problem.Phi.T)[-1])


@PROPERTY
@given(kind=st.sampled_from(["logistic", "least_squares"]), d=DIMS, n=st.integers(1, 10),
       seed=SEEDS, shrink=st.floats(0.1, 0.9), c=st.floats(1e-4, 0.9),
       lr0_beta=st.floats(0.05, 50.0))
def test_backtracking_step_is_at_least_shrink_times_2_1_minus_c_over_beta(
        kind, d, n, seed, shrink, c, lr0_beta):
    rng = np.random.default_rng(seed)
    problem, beta = smooth_problem(kind, d, n, rng)
    opt = BacktrackingGD(lr0_beta / beta, shrink, c)
    lowest = min(opt.lr0, shrink * 2 * (1 - c) / beta)
    w = rng.uniform(-2, 2, d)
    state = opt.init(w)
    checked = 0
    for _ in range(30):
        g = problem.grad(w)
        loss = problem.loss(w)
        w = w + opt.update(g, state, w, problem)
        # Only while the guaranteed decrease c·η·‖g‖² is far above the round-off of L.
        if lowest * (g @ g) > 1e-8 * (1 + abs(loss)):
            assert state.lrs[-1] >= lowest * (1 - 1e-12)
            checked += 1
    assert checked >= 1


@PROPERTY
@given(d=DIMS, n=st.integers(1, 10), seed=SEEDS, frac=st.floats(0.01, 0.9))
def test_backtracking_takes_lr0_when_it_is_below_2_1_minus_c_over_beta(d, n, seed, frac):
    # lr0 <= 2(1 - c)/β passes the Armijo test at once (descent lemma): no backtracking.
    rng = np.random.default_rng(seed)
    problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
    c, beta = 0.5, problem.smoothness()
    opt = BacktrackingGD(frac * 2 * (1 - c) / beta, c=c)
    w = rng.uniform(-2, 2, d)
    state = opt.init(w)
    for _ in range(10):
        g, loss = problem.grad(w), problem.loss(w)
        w = w + opt.update(g, state, w, problem)
        # The Armijo margin η‖g‖²(1 - c - βη/2) must be far above the round-off of L.
        margin = opt.lr0 * (g @ g) * (1 - c - beta * opt.lr0 / 2)
        if margin > 1e-8 * (1 + abs(loss)):
            assert state.lrs[-1] == opt.lr0


@pytest.mark.parametrize("shrink", [0.0, 1.0, 1.5, -0.5, np.nan])
def test_backtracking_rejects_a_bad_shrink(shrink):
    with pytest.raises(ValueError, match=r"^shrink\b"):
        BacktrackingGD(shrink=shrink)


@pytest.mark.parametrize("c", [0.0, 1.0, 2.0, -0.1, np.inf])
def test_backtracking_rejects_a_bad_c(c):
    with pytest.raises(ValueError, match=r"^c\b"):
        BacktrackingGD(c=c)


@pytest.mark.parametrize("lr0", [0.0, -1.0, np.nan])
def test_backtracking_rejects_a_non_positive_lr0(lr0):
    with pytest.raises(ValueError, match=r"^lr0\b"):
        BacktrackingGD(lr0=lr0)


@pytest.mark.parametrize("max_trials", [0, -1, 2.5])
def test_backtracking_rejects_a_bad_max_trials(max_trials):
    with pytest.raises(ValueError, match=r"^max_trials\b"):
        BacktrackingGD(max_trials=max_trials)
