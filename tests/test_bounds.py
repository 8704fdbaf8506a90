"""Tests of optbook.bounds: the step-size bounds and convergence rates.

Each formula is checked by hand on a small example and then, by property-based
tests over random problems of dimension 1..8, against what it claims: the exact
change of a quadratic loss after a gradient step, the interval of decreasing
steps, the line-search step (against a fine grid), the stability threshold of
gradient descent (converges just below it, keeps the top mode's amplitude at
it, diverges just above), the optimal fixed step and its rate (against a grid
and against the measured contraction), and the descent-lemma bounds along
real gradient-descent runs. Bad arguments must raise a ``ValueError`` naming them.
"""

import numpy as np
import pytest
from helpers import (
    PROPERTY,
    SEEDS,
    from_spectrum,
    non_separable_logistic,
    random_orthogonal,
    random_spd,
    random_symmetric,
)
from hypothesis import given
from hypothesis import strategies as st

from optbook import GD, LeastSquares, LogisticRegression, Newton, Quadratic, bounds, run
from optbook.bounds import (
    best_step,
    convex_gap_bound,
    descent_lemma_decrease,
    gd_rate,
    iterations_for_tolerance,
    max_decreasing_step,
    max_stable_step,
    min_grad_norm_bound,
    optimal_fixed_step,
    step_change,
)
from optbook.spectral import condition_number

DIMS = st.integers(1, 8)


# --------------------------------------------------------------------------
# Random problems
# --------------------------------------------------------------------------

def pd_with_kappa(d, rng, kappa):
    """A positive definite H with eigenvalues 1 and kappa (and others in between)."""
    Q = random_orthogonal(d, rng)
    lam = np.sort(np.r_[1.0, kappa, rng.uniform(1.0, kappa, d - 2)])[:d]
    return from_spectrum(Q, lam), lam, Q


def newton_minimizer(problem, steps=40):
    traj = run(Newton(), problem, np.zeros(problem.dim), steps)
    w_star = traj.final
    assert np.linalg.norm(problem.grad(w_star)) < 1e-9
    return w_star


# --------------------------------------------------------------------------
# By hand
# --------------------------------------------------------------------------

H2 = np.diag([1.0, 4.0])
G2 = np.array([1.0, 1.0])  # gᵀg = 2, gᵀHg = 5


def test_step_change_by_hand():
    # -η·2 + ½η²·5 at η = 0.2: -0.4 + 0.1
    assert step_change(G2, H2, 0.2) == pytest.approx(-0.3)


def test_max_decreasing_and_best_step_by_hand():
    assert max_decreasing_step(G2, H2) == pytest.approx(0.8)
    assert best_step(G2, H2) == pytest.approx(0.4)


def test_max_stable_and_optimal_fixed_step_by_hand():
    assert max_stable_step(H2) == pytest.approx(0.5)
    assert optimal_fixed_step(H2) == pytest.approx(0.4)


def test_gd_rate_by_hand():
    assert gd_rate(H2) == pytest.approx(3 / 5)
    assert gd_rate(kappa=4.0) == pytest.approx(3 / 5)
    assert gd_rate(kappa=1) == 0.0


def test_descent_lemma_and_bounds_by_hand():
    assert descent_lemma_decrease(2.0, 0.25) == pytest.approx(0.25 * (1 - 0.25))
    assert min_grad_norm_bound(2.0, 3.0, 4) == pytest.approx(3.0)
    assert convex_gap_bound(2.0, 3.0, 4) == pytest.approx(2.0 * 9.0 / 8)


def test_iterations_for_tolerance_by_hand():
    assert iterations_for_tolerance(0.5, 0.1) == 4  # 0.5**3 = 0.125 > 0.1 >= 0.0625
    assert iterations_for_tolerance(0.5, 0.125) == 3
    assert iterations_for_tolerance(0.9, 1.0) == 0


# --------------------------------------------------------------------------
# One gradient step on a quadratic
# --------------------------------------------------------------------------

@PROPERTY
@given(d=DIMS, seed=SEEDS, log_eta=st.floats(-3, 1))
def test_step_change_is_the_exact_change_of_a_quadratic(d, seed, log_eta):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    q = Quadratic(H, rng.uniform(-2, 2, d), rng.uniform(-2, 2))
    w = rng.uniform(-2, 2, d)
    g = q.grad(w)
    eta = 10.0**log_eta
    before, after = q.loss(w), q.loss(w - eta * g)
    gHg_abs = np.abs(g) @ np.abs(H) @ np.abs(g)
    scale = 1 + abs(before) + abs(after) + eta * (g @ g) + eta**2 * gHg_abs
    assert step_change(g, H, eta) == pytest.approx(after - before, abs=1e-12 * scale)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_a_step_decreases_a_quadratic_iff_it_is_below_max_decreasing_step(d, seed):
    rng = np.random.default_rng(seed)
    H, g = random_symmetric(d, rng), rng.uniform(-2, 2, d)
    gg, gHg = g @ g, g @ H @ g
    m = max_decreasing_step(g, H)
    # A negative step never decreases: the change is |η| gᵀg + ... > 0 for small |η|.
    assert step_change(g, H, -1e-6) > 0
    if gHg <= 0:
        assert m == np.inf
        for eta in np.logspace(-4, 4, 17):
            assert step_change(g, H, eta) < 0
        return
    assert m == pytest.approx(2 * gg / gHg, rel=1e-12)
    for frac in (1e-6, 0.5, 1 - 1e-6):
        assert step_change(g, H, frac * m) < 0, frac
    for frac in (1 + 1e-6, 2.0, 10.0):
        assert step_change(g, H, frac * m) > 0, frac
    assert abs(step_change(g, H, m)) <= 1e-12 * m * gg


def test_max_decreasing_step_is_inf_when_g_is_in_a_flat_or_concave_direction():
    H = np.diag([0.0, 1.0, -1.0])
    assert max_decreasing_step([1.0, 0.0, 0.0], H) == np.inf
    assert max_decreasing_step([0.0, 0.0, 1.0], H) == np.inf
    assert best_step([1.0, 0.0, 0.0], H) == np.inf
    assert best_step([0.0, 0.0, 1.0], H) == np.inf


def test_steps_are_nan_when_the_gradient_is_zero():
    assert np.isnan(max_decreasing_step(np.zeros(2), H2))
    assert np.isnan(best_step(np.zeros(2), H2))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_best_step_minimises_the_change_and_is_half_the_max_decreasing_step(d, seed):
    rng = np.random.default_rng(seed)
    H, g = random_symmetric(d, rng), rng.uniform(-2, 2, d)
    s, m = best_step(g, H), max_decreasing_step(g, H)
    if g @ H @ g <= 0:
        assert s == np.inf
        changes = [step_change(g, H, eta) for eta in np.logspace(-2, 3, 11)]
        assert np.all(np.diff(changes) < 0)  # unbounded below along -g
        return
    assert s == pytest.approx(m / 2, rel=1e-14)
    grid = np.linspace(0, m, 801)
    on_grid = np.array([step_change(g, H, eta) for eta in grid])
    best = step_change(g, H, s)
    assert best <= on_grid.min() + 1e-12 * abs(best)
    assert abs(grid[np.argmin(on_grid)] - s) <= grid[1]
    assert best == pytest.approx(-0.5 * (g @ g) ** 2 / (g @ H @ g), rel=1e-10)


# --------------------------------------------------------------------------
# Gradient descent on a positive definite quadratic
# --------------------------------------------------------------------------

def pd_quadratic(d, seed):
    rng = np.random.default_rng(seed)
    H, lam, Q = random_spd(d, rng)
    q = Quadratic(H, rng.uniform(-2, 2, d))
    w_star = np.linalg.solve(H, q.b)
    # A start with a unit component along the top eigenvector, plus a random part.
    w0 = w_star + Q[:, -1] + rng.uniform(-1, 1, d)
    return q, w_star, w0, lam, Q


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_gd_converges_just_below_max_stable_step(d, seed):
    q, w_star, w0, lam, _ = pd_quadratic(d, seed)
    eta = 0.99 * max_stable_step(q.H)
    assert max_stable_step(q.H) == pytest.approx(2 / lam[-1], rel=1e-12)
    traj = run(GD(eta), q, w0, 1500)
    assert not traj.diverged
    # Worst contraction max(0.98, 1 - 1.98/κ) with κ <= 10: 0.98**1500 < 1e-13.
    assert np.linalg.norm(traj.w[-1] - w_star) <= 1e-9 * (1 + np.linalg.norm(w0 - w_star))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_gd_at_max_stable_step_keeps_the_top_mode_amplitude(d, seed):
    q, w_star, w0, _, Q = pd_quadratic(d, seed)
    traj = run(GD(max_stable_step(q.H)), q, w0, 300)
    assert not traj.diverged
    top = (traj.w - w_star) @ Q[:, -1]
    np.testing.assert_allclose(np.abs(top), abs(top[0]), rtol=1e-8)
    # It alternates in sign (factor 1 - 2 = -1) and the distance never shrinks below it.
    assert np.all(np.sign(top[1:]) == -np.sign(top[:-1]))
    dist = np.linalg.norm(traj.w - w_star, axis=1)
    assert np.all(dist >= abs(top[0]) * (1 - 1e-8))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_gd_diverges_just_above_max_stable_step(d, seed):
    q, w_star, w0, _, Q = pd_quadratic(d, seed)
    traj = run(GD(1.01 * max_stable_step(q.H)), q, w0, 5000)
    assert traj.diverged
    # Before the stop, the top mode grows by |1 - 2.02| = 1.02 per step.
    top = np.abs((traj.w[:200] - w_star) @ Q[:, -1])
    np.testing.assert_allclose(top[1:] / top[:-1], 1.02, rtol=1e-8)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_optimal_fixed_step_minimises_the_worst_contraction(d, seed):
    rng = np.random.default_rng(seed)
    H, lam, _ = random_spd(d, rng, lo=0.1, hi=10.0)
    eta = optimal_fixed_step(H)
    assert eta == pytest.approx(2 / (lam[0] + lam[-1]), rel=1e-12)

    def worst(e):
        return np.max(np.abs(1 - np.multiply.outer(e, lam)), axis=-1)

    grid = np.linspace(0, max_stable_step(H), 20001)
    on_grid = worst(grid)
    assert worst(eta) <= on_grid.min() + 1e-12
    assert abs(grid[np.argmin(on_grid)] - eta) <= 2 * grid[1]
    assert worst(eta) == pytest.approx(gd_rate(H), abs=1e-12)


@PROPERTY
@given(d=st.integers(2, 8), seed=SEEDS, kappa=st.floats(2.0, 20.0))
def test_measured_contraction_at_optimal_step_is_gd_rate(d, seed, kappa):
    rng = np.random.default_rng(seed)
    H, _, Q = pd_with_kappa(d, rng, kappa)
    q = Quadratic(H, rng.uniform(-2, 2, d))
    w_star = np.linalg.solve(H, q.b)
    rate = gd_rate(H)
    assert rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-10)
    steps = 10  # rate**10 >= (1/3)**10 ~ 2e-5, far above round-off
    # Tight start: components only on the extreme eigenvectors, which contract by `rate`.
    traj = run(GD(optimal_fixed_step(H)), q, w_star + Q[:, 0] - 2 * Q[:, -1], steps)
    dist = np.linalg.norm(traj.w - w_star, axis=1)
    np.testing.assert_allclose(dist[1:] / dist[:-1], rate, rtol=1e-7)
    # Any start: the distance contracts at least that fast.
    w0 = w_star + rng.uniform(-2, 2, d)
    traj = run(GD(optimal_fixed_step(H)), q, w0, steps)
    dist = np.linalg.norm(traj.w - w_star, axis=1)
    assert np.all(dist[1:] <= rate * dist[:-1] * (1 + 1e-7) + 1e-13)


def test_gd_at_optimal_step_solves_a_one_dimensional_quadratic_in_one_step():
    q = Quadratic([[3.0]], [6.0])
    assert gd_rate(q.H) == 0.0
    traj = run(GD(optimal_fixed_step(q.H)), q, [10.0], 1)
    assert traj.w[1, 0] == pytest.approx(2.0, abs=1e-14)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_gd_rate_from_kappa_agrees_with_gd_rate_from_H(d, seed):
    rng = np.random.default_rng(seed)
    H, _, _ = random_spd(d, rng, lo=0.01, hi=10.0)
    assert gd_rate(kappa=condition_number(H)) == pytest.approx(gd_rate(H), rel=1e-14)


def test_gd_rate_of_a_singular_hessian_agrees_with_kappa_inf():
    # condition_number returns inf for a singular PSD H, and gd_rate(H) is then 1;
    # feeding that condition number back as kappa should give the same rate.
    H = np.diag([0.0, 2.0])
    assert condition_number(H) == np.inf
    assert gd_rate(H) == 1.0
    assert gd_rate(kappa=condition_number(H)) == 1.0


# --------------------------------------------------------------------------
# Descent lemma and the sublinear bounds
# --------------------------------------------------------------------------

@PROPERTY
@given(log_beta=st.floats(-3, 3))
def test_descent_lemma_decrease_is_maximal_at_one_over_beta(log_beta):
    beta = 10.0**log_beta
    best = descent_lemma_decrease(beta, 1 / beta)
    assert best == pytest.approx(1 / (2 * beta), rel=1e-14)
    grid = np.linspace(1e-3, 2, 2001) / beta
    values = np.array([descent_lemma_decrease(beta, eta) for eta in grid])
    assert values.max() <= best * (1 + 1e-14)
    # Positive exactly on (0, 2/β).
    assert descent_lemma_decrease(beta, 2 / beta) == pytest.approx(0, abs=1e-14 / beta)
    assert descent_lemma_decrease(beta, 2.01 / beta) < 0


@PROPERTY
@given(d=DIMS, n=st.integers(1, 12), seed=SEEDS)
def test_min_grad_norm_bound_holds_along_gd_on_logistic_regression(d, n, seed):
    rng = np.random.default_rng(seed)
    problem = LogisticRegression(rng.normal(size=(d, n)), rng.choice([-1.0, 1.0], n))
    beta = problem.smoothness()
    w0 = rng.uniform(-3, 3, d)
    traj = run(GD(1 / beta), problem, w0, 200)
    assert not traj.diverged
    running_min = np.minimum.accumulate(traj.grad_norm**2)
    for t in range(1, 201):
        # L* >= 0 for logistic regression, so L(w0) - 0 is a valid gap...
        assert running_min[t - 1] <= min_grad_norm_bound(beta, traj.loss[0], t) * (1 + 1e-12)
        # ... and the telescoped descent lemma gives it with L(w_t) in place of L*.
        gap = max(traj.loss[0] - traj.loss[t], 0.0)
        assert running_min[t - 1] <= (min_grad_norm_bound(beta, gap, t) * (1 + 1e-9)
                                      + 1e-12 * beta * traj.loss[0] / t)


@PROPERTY
@given(d=DIMS, n=st.integers(1, 8), seed=SEEDS)
def test_convex_gap_bound_holds_along_gd_on_least_squares(d, n, seed):
    rng = np.random.default_rng(seed)
    Phi, y = rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, n)
    problem = LeastSquares(Phi, y)
    w_star = np.linalg.lstsq(Phi.T, y, rcond=None)[0]
    l_star = problem.loss(w_star)
    beta = float(np.linalg.eigvalsh(Phi @ Phi.T)[-1])
    w0 = rng.uniform(-2, 2, d)
    traj = run(GD(1 / beta), problem, w0, 300)
    assert not traj.diverged
    dist0 = float(np.linalg.norm(w0 - w_star))
    tol = 1e-10 * (1 + abs(l_star) + traj.loss[0])
    for t in range(1, 301):
        assert traj.loss[t] - l_star <= convex_gap_bound(beta, dist0, t) + tol, t


@PROPERTY
@given(d=st.integers(1, 5), extra=st.integers(0, 10), seed=SEEDS)
def test_convex_gap_bound_holds_along_gd_on_logistic_regression(d, extra, seed):
    rng = np.random.default_rng(seed)
    problem = non_separable_logistic(d, extra, rng)
    w_star = newton_minimizer(problem)
    l_star = problem.loss(w_star)
    beta = problem.smoothness()
    w0 = w_star + rng.uniform(-3, 3, d)
    traj = run(GD(1 / beta), problem, w0, 300)
    dist0 = float(np.linalg.norm(w0 - w_star))
    for t in range(1, 301):
        assert traj.loss[t] - l_star <= convex_gap_bound(beta, dist0, t) + 1e-10 * l_star, t


# --------------------------------------------------------------------------
# iterations_for_tolerance
# --------------------------------------------------------------------------

@PROPERTY
@given(rate=st.floats(0.01, 0.999), log_ratio=st.floats(-12, -1e-6))
def test_iterations_for_tolerance_is_the_smallest_sufficient_t(rate, log_ratio):
    # Up to round-off (a ratio within 1e-9 of a power of the rate counts as reached).
    ratio = 10.0**log_ratio
    t = iterations_for_tolerance(rate, ratio)
    assert isinstance(t, int)
    assert t >= 1
    assert rate**t <= ratio * (1 + 1e-9)
    assert rate ** (t - 1) > ratio * (1 - 1e-9)


@pytest.mark.parametrize("rate, k", [(0.5, 1), (0.5, 3), (0.25, 10), (0.5, 40), (0.9, 50),
                                     (0.99, 1000)])
def test_iterations_for_tolerance_at_an_exact_power(rate, k):
    # ratio = rate**k: k steps suffice and k - 1 do not (exact for powers of two).
    assert iterations_for_tolerance(rate, rate**k) == k


@pytest.mark.parametrize("rate, ratio, t", [(0.5, 0.1, 4), (0.9, 0.5, 7), (0.99, 0.01, 459),
                                            (0.999, 1e-6, 13809)])
def test_iterations_for_tolerance_between_powers(rate, ratio, t):
    assert rate**t <= ratio < rate ** (t - 1)
    assert iterations_for_tolerance(rate, ratio) == t


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------

NON_SYMMETRIC = np.array([[1.0, 2.0], [0.0, 1.0]])


@pytest.mark.parametrize("fn", [max_decreasing_step, best_step,
                                lambda g, H: step_change(g, H, 0.1)])
def test_g_and_H_functions_reject_bad_input(fn):
    with pytest.raises(ValueError, match=r"^H must be symmetric"):
        fn([1.0, 1.0], NON_SYMMETRIC)
    with pytest.raises(ValueError, match=r"^H must be square"):
        fn([1.0, 1.0], np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^H\b"):
        fn([1.0, 1.0], np.ones(2))
    with pytest.raises(ValueError, match=r"^g must have length 2"):
        fn([1.0, 1.0, 1.0], H2)
    with pytest.raises(ValueError, match=r"^g\b"):
        fn([[1.0, 1.0]], H2)
    with pytest.raises(ValueError, match=r"^g\b"):
        fn([np.nan, 1.0], H2)


def test_step_change_rejects_a_bad_eta():
    for eta in (np.nan, np.inf, "0.1", None):
        with pytest.raises(ValueError, match=r"^eta\b"):
            step_change(G2, H2, eta)


@pytest.mark.parametrize("fn", [max_stable_step, optimal_fixed_step, gd_rate])
def test_H_only_functions_reject_non_symmetric_or_non_square_H(fn):
    with pytest.raises(ValueError, match=r"^H must be symmetric"):
        fn(NON_SYMMETRIC)
    with pytest.raises(ValueError, match=r"^H must be square"):
        fn(np.ones((2, 3)))


def test_max_stable_step_needs_a_positive_eigenvalue():
    with pytest.raises(ValueError, match=r"^H\b"):
        max_stable_step(-np.eye(2))
    with pytest.raises(ValueError, match=r"^H\b"):
        max_stable_step(np.zeros((3, 3)))


def test_optimal_fixed_step_needs_positive_definite_H():
    with pytest.raises(ValueError, match=r"^H must be positive definite"):
        optimal_fixed_step(np.diag([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"^H must be positive definite"):
        optimal_fixed_step(np.diag([-1.0, 1.0]))


def test_gd_rate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of H and kappa"):
        gd_rate()
    with pytest.raises(ValueError, match="exactly one of H and kappa"):
        gd_rate(H2, kappa=4.0)
    with pytest.raises(ValueError, match=r"^kappa must be >= 1"):
        gd_rate(kappa=0.5)
    with pytest.raises(ValueError, match=r"^kappa\b"):
        gd_rate(kappa=np.nan)
    with pytest.raises(ValueError, match=r"^H must be positive semi-definite"):
        gd_rate(np.diag([-1.0, 1.0]))


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan, np.inf])
def test_beta_must_be_positive_and_finite(beta):
    with pytest.raises(ValueError, match=r"^beta\b"):
        descent_lemma_decrease(beta, 0.1)
    with pytest.raises(ValueError, match=r"^beta\b"):
        min_grad_norm_bound(beta, 1.0, 1)
    with pytest.raises(ValueError, match=r"^beta\b"):
        convex_gap_bound(beta, 1.0, 1)


def test_descent_lemma_decrease_rejects_non_positive_eta():
    for eta in (0.0, -0.1):
        with pytest.raises(ValueError, match=r"^eta\b"):
            descent_lemma_decrease(1.0, eta)


@pytest.mark.parametrize("t", [0, -1, 1.5, 2.0, True, "3"])
def test_bounds_reject_a_bad_t(t):
    with pytest.raises(ValueError, match=r"^t\b"):
        min_grad_norm_bound(1.0, 1.0, t)
    with pytest.raises(ValueError, match=r"^t\b"):
        convex_gap_bound(1.0, 1.0, t)


def test_bounds_reject_negative_gap_or_distance():
    with pytest.raises(ValueError, match=r"^gap0\b"):
        min_grad_norm_bound(1.0, -1e-3, 1)
    with pytest.raises(ValueError, match=r"^dist0\b"):
        convex_gap_bound(1.0, -1e-3, 1)
    assert min_grad_norm_bound(1.0, 0.0, 1) == 0.0
    assert convex_gap_bound(1.0, 0.0, 1) == 0.0


@pytest.mark.parametrize("rate", [0.0, 1.0, 1.5, -0.5, np.nan])
def test_iterations_for_tolerance_rejects_a_rate_outside_0_1(rate):
    with pytest.raises(ValueError, match=r"^rate\b"):
        iterations_for_tolerance(rate, 0.1)


@pytest.mark.parametrize("ratio", [0.0, 1.0 + 1e-9, 2.0, -0.1, np.nan])
def test_iterations_for_tolerance_rejects_a_ratio_outside_0_1(ratio):
    with pytest.raises(ValueError, match=r"^ratio\b"):
        iterations_for_tolerance(0.5, ratio)


# --------------------------------------------------------------------------
# gd_contraction
# --------------------------------------------------------------------------

@PROPERTY
@given(DIMS, SEEDS)
def test_gd_contraction_is_below_one_exactly_inside_the_stable_range(d, seed):
    rng = np.random.default_rng(seed)
    H, _, _ = random_spd(d, rng, lo=0.1, hi=10.0)
    two_over = bounds.max_stable_step(H)
    etas = two_over * np.array([0.01, 0.5, 0.99, 1.0, 1.01])
    q = bounds.gd_contraction(H, etas)
    assert q.shape == etas.shape
    assert np.all(q[:3] < 1) and np.isclose(q[3], 1.0) and q[4] > 1
    assert np.isclose(bounds.gd_contraction(H, bounds.optimal_fixed_step(H)), bounds.gd_rate(H))


def test_gd_contraction_matches_one_step_of_gd_on_the_top_mode():
    H = np.diag([1.0, 4.0])
    w0 = np.array([0.0, 1.0])  # on the top eigenvector
    eta = 0.45
    w1 = w0 - eta * (H @ w0)
    assert np.isclose(np.linalg.norm(w1) / np.linalg.norm(w0), bounds.gd_contraction(H, eta))


def test_gd_contraction_rejects_bad_input():
    with pytest.raises(ValueError, match="eta"):
        bounds.gd_contraction(np.eye(2), np.nan)
    with pytest.raises(ValueError, match="H"):
        bounds.gd_contraction(np.array([[1.0, 2.0], [0.0, 1.0]]), 0.1)


# --------------------------------------------------------------------------
# PL* (Chapter 5): the loss bound holds along GD on over-parameterised least squares
# --------------------------------------------------------------------------

@PROPERTY
@given(d=st.integers(2, 8), extra=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_pl_loss_bound_holds_for_gd_on_overparameterised_least_squares(d, extra, seed):
    from optbook.spectral import lambda_max, lambda_min

    rng = np.random.default_rng(seed)
    n = max(1, d - extra)  # n < d: H singular, K = ΦᵀΦ invertible (a.s.)
    problem = LeastSquares(rng.standard_normal((d + n, n)), rng.standard_normal(n))
    beta, mu = lambda_max(problem.hessian()), lambda_min(problem.kernel())
    w0 = rng.standard_normal(d + n)
    traj = run(GD(1 / beta), problem, w0, 50)
    bound = bounds.pl_loss_bound(traj.loss[0], 1 / beta, mu, np.arange(51))
    assert np.all(traj.loss <= bound * (1 + 1e-9) + 1e-12)
    assert np.linalg.norm(traj.final - w0) <= bounds.pl_radius(beta, mu, traj.loss[0])


def test_pl_bounds_reject_bad_input():
    with pytest.raises(ValueError, match="eta \\* mu"):
        bounds.pl_loss_bound(1.0, 2.0, 1.0, 3)
    with pytest.raises(ValueError, match="t must"):
        bounds.pl_loss_bound(1.0, 0.1, 1.0, -1)
    with pytest.raises(ValueError, match="mu"):
        bounds.pl_radius(1.0, 0.0, 1.0)
    assert bounds.pl_loss_bound(2.0, 0.5, 1.0, 3) == pytest.approx(2.0 * 0.5**3)
    assert bounds.pl_radius(2.0, 0.5, 1.0) == pytest.approx(8.0)
