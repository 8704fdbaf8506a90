"""Tests of optbook.optimizers: gradient descent and the ``run`` loop.

The first steps are checked by hand, the recorded trajectory against the
problem, and the two regimes of gradient descent on a quadratic: convergence
for 0 < lr < 2/λmax and divergence, reported without any warning, above it.
(pyproject.toml turns every warning into an error, so "no warning" is checked
by every test here.)
"""

import numpy as np
import pytest

from optbook.optimizers import GD, Trajectory, learning_rate, run
from optbook.problems import LeastSquares, Quadratic, Rosenbrock

# λ = 1 and 10: GD converges iff 0 < lr < 2/10.
H = np.diag([1.0, 10.0])
B = np.array([1.0, -2.0])
LAMBDA_MAX = 10.0


def quadratic():
    """A quadratic with minimum value 0 at w* = H⁻¹b."""
    w_star = np.linalg.solve(H, B)
    return Quadratic(H, B, c=0.5 * B @ w_star), w_star


W0 = np.array([3.0, 1.0])


# --------------------------------------------------------------------------
# GD by hand
# --------------------------------------------------------------------------

def test_gd_first_step_by_hand():
    q, _ = quadratic()
    traj = run(GD(0.05), q, W0, steps=1)
    g0 = H @ W0 - B  # (2, 12)
    np.testing.assert_allclose(traj.w[1], W0 - 0.05 * g0)
    np.testing.assert_allclose(traj.w[1], [2.9, 0.4])


def test_gd_update_returns_minus_lr_times_gradient_and_counts_steps():
    gd = GD(0.5)
    state = gd.init(np.zeros(2))
    g = np.array([2.0, -4.0])
    np.testing.assert_array_equal(gd.update(g, state, np.zeros(2), None), [-1.0, 2.0])
    gd.update(g, state, np.zeros(2), None)
    assert state.t == 2


def test_run_does_not_modify_w0():
    q, _ = quadratic()
    w0 = W0.copy()
    run(GD(0.05), q, w0, steps=5)
    np.testing.assert_array_equal(w0, W0)


def test_run_accepts_a_list_as_w0():
    q, _ = quadratic()
    traj = run(GD(0.05), q, [3, 1], steps=2)
    np.testing.assert_array_equal(traj.w[0], W0)


# --------------------------------------------------------------------------
# The trajectory
# --------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 7, 50])
def test_trajectory_shapes_and_consistency(steps):
    rb = Rosenbrock()
    w0 = np.array([-1.2, 1.0])
    traj = run(GD(1e-4), rb, w0, steps=steps)
    assert isinstance(traj, Trajectory)
    assert traj.w.shape == (steps + 1, 2)
    assert traj.loss.shape == (steps + 1,)
    assert traj.grad_norm.shape == (steps + 1,)
    np.testing.assert_array_equal(traj.t, np.arange(steps + 1))
    np.testing.assert_array_equal(traj.w[0], w0)
    for t in range(steps + 1):
        assert traj.loss[t] == rb.loss(traj.w[t])
        assert traj.grad_norm[t] == pytest.approx(np.linalg.norm(rb.grad(traj.w[t])))
    for t in range(steps):
        np.testing.assert_allclose(traj.w[t + 1], traj.w[t] - 1e-4 * rb.grad(traj.w[t]),
                                   rtol=1e-15, atol=1e-15)
    assert not traj.diverged
    assert traj.diverged_at is None
    np.testing.assert_array_equal(traj.final, traj.w[-1])


def test_gd_converges_on_a_quadratic_below_two_over_lambda_max():
    q, w_star = quadratic()
    lr = 0.9 * 2 / LAMBDA_MAX
    traj = run(GD(lr), q, W0, steps=400)
    assert not traj.diverged
    # Monotone on a quadratic, up to the round-off of ½wᵀHw - bᵀw + c near the minimum.
    assert np.all(np.diff(traj.loss) <= 1e-14)
    assert traj.loss[0] > 1.0
    assert traj.loss[-1] == pytest.approx(0.0, abs=1e-14)
    np.testing.assert_allclose(traj.w[-1], w_star, atol=1e-10)
    assert traj.grad_norm[-1] < 1e-10


def test_gd_converges_on_least_squares():
    rng = np.random.default_rng(3)
    ls = LeastSquares(rng.standard_normal((3, 10)), rng.standard_normal(10))
    lam_max = np.linalg.eigvalsh(ls.hessian()).max()
    traj = run(GD(1.0 / lam_max), ls, np.zeros(3), steps=2000)
    w_ls = np.linalg.lstsq(ls.Phi.T, ls.y, rcond=None)[0]
    np.testing.assert_allclose(traj.w[-1], w_ls, atol=1e-8)


def test_gd_diverges_above_two_over_lambda_max():
    q, _ = quadratic()
    traj = run(GD(1.2 * 2 / LAMBDA_MAX), q, W0, steps=500)
    assert traj.diverged
    k = traj.diverged_at
    assert k is not None and 1 <= k < 500
    assert np.all(np.isfinite(traj.loss[:k]))
    assert np.all(np.isnan(traj.loss[k + 1:]))
    assert np.all(np.isnan(traj.grad_norm[k + 1:]))
    assert np.all(np.isnan(traj.w[k + 1:]))
    # It stopped because the loss exploded: above the threshold, or non-finite.
    assert not traj.loss[k] <= 1e8 * max(1.0, traj.loss[0])
    assert np.all(np.diff(traj.loss[:k]) > 0)
    assert np.all(np.isfinite(traj.final))


@pytest.mark.parametrize("lr", [1e10, 1e150, 1e300])
def test_overflowing_run_is_reported_without_warnings(lr):
    q, _ = quadratic()
    traj = run(GD(lr), q, W0, steps=20)
    assert traj.diverged
    assert traj.diverged_at is not None
    assert np.all(np.isnan(traj.loss[traj.diverged_at + 1:]))
    assert not np.isinf(traj.loss).any()  # a non-finite loss is recorded as NaN


def test_rosenbrock_with_a_large_step_diverges_quietly():
    traj = run(GD(0.1), Rosenbrock(), [-1.2, 1.0], steps=100)
    assert traj.diverged
    assert traj.diverged_at is not None


def test_divergence_threshold_is_relative_to_the_first_loss():
    q, _ = quadratic()
    lr = 1.2 * 2 / LAMBDA_MAX  # the loss grows by a factor 1.96 per step
    low = run(GD(lr), q, W0, steps=500, divergence_threshold=10.0)
    high = run(GD(lr), q, W0, steps=500, divergence_threshold=1e12)
    assert low.diverged and high.diverged
    assert low.diverged_at < high.diverged_at
    assert low.loss[low.diverged_at] > 10.0 * low.loss[0]
    assert low.loss[low.diverged_at - 1] <= 10.0 * low.loss[0]


# --------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------

def test_schedule_is_used_step_by_step():
    q, _ = quadratic()
    calls = []

    def schedule(t):
        calls.append(t)
        return 0.1 / (t + 1)

    traj = run(GD(schedule), q, W0, steps=3)
    assert calls == [0, 1, 2]
    w = W0.copy()
    for t in range(3):
        w = w - 0.1 / (t + 1) * (H @ w - B)
        np.testing.assert_allclose(traj.w[t + 1], w, rtol=1e-15)
    np.testing.assert_allclose(traj.w[1], [2.8, -0.2])  # g0 = (2, 12)


def test_learning_rate_of_number_and_schedule():
    assert learning_rate(0.3, 7) == 0.3
    assert learning_rate(lambda t: 1.0 / (t + 1), 3) == 0.25


# --------------------------------------------------------------------------
# keep_every
# --------------------------------------------------------------------------

def test_keep_every_thins_iterates_but_keeps_the_last_and_all_losses():
    q, _ = quadratic()
    full = run(GD(0.05), q, W0, steps=10)
    thin = run(GD(0.05), q, W0, steps=10, keep_every=3)
    np.testing.assert_array_equal(thin.t, [0, 3, 6, 9, 10])
    assert thin.w.shape == (5, 2)
    np.testing.assert_array_equal(thin.w, full.w[[0, 3, 6, 9, 10]])
    np.testing.assert_array_equal(thin.loss, full.loss)
    np.testing.assert_array_equal(thin.grad_norm, full.grad_norm)
    np.testing.assert_array_equal(thin.final, full.w[-1])


def test_keep_every_that_divides_steps_does_not_duplicate_the_last():
    q, _ = quadratic()
    thin = run(GD(0.05), q, W0, steps=10, keep_every=5)
    np.testing.assert_array_equal(thin.t, [0, 5, 10])
    assert thin.w.shape == (3, 2)


def test_keep_every_larger_than_steps_keeps_first_and_last():
    q, _ = quadratic()
    thin = run(GD(0.05), q, W0, steps=4, keep_every=100)
    np.testing.assert_array_equal(thin.t, [0, 4])
    np.testing.assert_array_equal(thin.w[0], W0)


# --------------------------------------------------------------------------
# A user-defined optimiser and problem (duck typing)
# --------------------------------------------------------------------------

def test_run_accepts_a_duck_typed_optimizer():
    class Momentum:
        def init(self, w):
            return {"v": np.zeros_like(w)}

        def update(self, g, state, w, problem):
            state["v"] = 0.5 * state["v"] - 0.1 * g
            return state["v"]

    q, _ = quadratic()
    traj = run(Momentum(), q, W0, steps=2)
    g0 = H @ W0 - B
    w1 = W0 - 0.1 * g0
    np.testing.assert_allclose(traj.w[1], w1)
    np.testing.assert_allclose(traj.w[2], w1 + 0.5 * (-0.1 * g0) - 0.1 * (H @ w1 - B))


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("lr", [0, 0.0, -1, np.nan, np.inf, "a", None, True, [0.1]])
def test_gd_rejects_bad_learning_rates(lr):
    with pytest.raises(ValueError, match=r"^lr\b"):
        GD(lr)


def test_gd_accepts_numpy_scalars():
    assert GD(np.float32(0.5)).lr == 0.5
    assert GD(np.int64(2)).lr == 2.0


@pytest.mark.parametrize("w0", [np.ones(3), np.ones(1), np.ones((2, 1)),
                                [np.nan, 1.0], [1.0, np.inf]],
                         ids=["too_long", "too_short", "column", "nan", "inf"])
def test_run_rejects_bad_w0(w0):
    q, _ = quadratic()
    with pytest.raises(ValueError, match=r"^w0\b"):
        run(GD(0.1), q, w0, steps=3)


@pytest.mark.parametrize("steps", [0, -1, 2.5, 3.0, "3", True, None])
def test_run_rejects_bad_steps(steps):
    q, _ = quadratic()
    with pytest.raises(ValueError, match=r"^steps\b"):
        run(GD(0.1), q, W0, steps=steps)


@pytest.mark.parametrize("keep_every", [0, 1.5])
def test_run_rejects_bad_keep_every(keep_every):
    q, _ = quadratic()
    with pytest.raises(ValueError, match=r"^keep_every\b"):
        run(GD(0.1), q, W0, steps=3, keep_every=keep_every)


@pytest.mark.parametrize("threshold", [0.0, -1.0, np.nan])
def test_run_rejects_bad_divergence_threshold(threshold):
    q, _ = quadratic()
    with pytest.raises(ValueError, match=r"^divergence_threshold\b"):
        run(GD(0.1), q, W0, steps=3, divergence_threshold=threshold)


def test_run_rejects_an_object_that_is_not_an_optimizer():
    class OnlyUpdate:
        def update(self, g, state, w, problem):
            return -g

    q, _ = quadratic()
    for opt in (OnlyUpdate(), object(), 0.1):
        with pytest.raises(ValueError, match=r"^optimizer\b"):
            run(opt, q, W0, steps=3)


def test_run_rejects_a_problem_without_grad():
    class NoGrad:
        dim = 2

        def loss(self, w):
            return 0.0

        def hvp(self, w, v):
            return v

    with pytest.raises(ValueError, match=r"^problem\b.*grad"):
        run(GD(0.1), NoGrad(), W0, steps=3)


def test_run_rejects_a_problem_without_integer_dim():
    class FloatDim:
        dim = 2.0

        def loss(self, w):
            return 0.0

        def grad(self, w):
            return w

        def hvp(self, w, v):
            return v

    with pytest.raises(ValueError, match=r"^problem\b.*dim"):
        run(GD(0.1), FloatDim(), W0, steps=3)


# --------------------------------------------------------------------------
# The loop and the in-place steps (issue #18): same numbers, no per-step cost
# --------------------------------------------------------------------------

def bare_gd_loop(H, b, w0, lr, steps):
    """What run(GD(lr), Quadratic(H, b), w0, steps) computes, as a bare NumPy loop."""
    w = np.array(w0, dtype=float)
    W, L, G = np.empty((steps + 1, w.size)), np.empty(steps + 1), np.empty(steps + 1)
    L[0] = 0.5 * w @ (H @ w) - b @ w
    for t in range(steps + 1):
        W[t] = w
        g = H @ w - b
        G[t] = np.linalg.norm(g)
        if t == steps:
            break
        w += -lr * g
        L[t + 1] = 0.5 * w @ (H @ w) - b @ w
    return W, L, G


def test_run_computes_the_bare_loop_bit_for_bit():
    W, L, G = bare_gd_loop(H, B, W0, 0.05, 500)
    traj = run(GD(0.05), Quadratic(H, B), W0, 500)
    assert np.array_equal(traj.w, W) and np.array_equal(traj.loss, L)
    assert np.array_equal(traj.grad_norm, G)


def all_optimizers():
    from optbook.optimizers import Adagrad, Adam, AdamW, Momentum, Nesterov, RMSProp
    from optbook.sharpness import SAM, AdaHessian, NoiseScaledSGD

    return {"gd": GD(0.05), "momentum": Momentum(0.05, 0.9),
            "dampened": Momentum(0.05, 0.5, dampening=0.3), "nesterov": Nesterov(0.05, 0.9),
            "adagrad": Adagrad(0.1), "rmsprop": RMSProp(0.01), "adam": Adam(0.05),
            "adam-l2": Adam(0.05, weight_decay=0.1), "adamw": AdamW(0.05, weight_decay=0.1),
            "sam": SAM(0.05, rho=0.1), "sam-adam": SAM(rho=0.1, base=Adam(0.05)),
            "sam-inf": SAM(0.05, rho=0.1, p=np.inf), "adahessian": AdaHessian(0.05),
            "noise-scaled": NoiseScaledSGD(0.05, rho=0.1)}


@pytest.mark.parametrize("name", sorted(all_optimizers()))
def test_step_in_place_equals_update_bit_for_bit(name):
    """``step`` (what run calls) and ``w + update(...)`` (the documented interface) give
    the same iterates, bit for bit, and the state evolves the same way."""
    from optbook.optimizers import init_state

    opt = all_optimizers()[name]
    q = Rosenbrock(b=2.0, dim=4)
    w_a, w_b = np.array([-1.2, 1.0, 0.5, 0.3]), np.array([-1.2, 1.0, 0.5, 0.3])
    s_a = init_state(opt, w_a, np.random.default_rng(0))
    s_b = init_state(opt, w_b, np.random.default_rng(0))
    for _ in range(20):
        delta = opt.update(q.grad(w_a), s_a, w_a, q)
        w_a = w_a + delta
        if callable(getattr(opt, "step", None)):
            opt.step(q.grad(w_b), s_b, w_b, q)
        else:
            w_b = w_b + opt.update(q.grad(w_b), s_b, w_b, q)
    if name == "adamw":  # step shrinks w first, as torch does; w + Δ rounds differently
        np.testing.assert_allclose(w_a, w_b, rtol=1e-14)
    else:
        assert np.array_equal(w_a, w_b)


@pytest.mark.parametrize("name", ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                                  "sam", "sam-adam"])
def test_steps_allocate_no_array_after_the_first(name):
    """After the first step (which creates the scratch buffers), a step of a d = 10⁵
    problem allocates nothing of the size of w (tracemalloc sees NumPy's buffers)."""
    import tracemalloc

    opt, d = all_optimizers()[name], 100_000
    h = np.linspace(0.1, 1.0, d)

    class Separable:  # L = ½ Σ h_i w_i², its gradient written into one reused array
        dim = d
        buf = np.empty(d)

        def loss(self, w):
            return 0.5 * float(w @ (h * w))

        def grad(self, w):
            return np.multiply(h, w, out=np.empty(d) if name.startswith("sam") else self.buf)

        def hvp(self, w, v):
            return h * v

    from optbook.optimizers import init_state, stepper

    p, w = Separable(), np.ones(d)
    state, step = init_state(opt, w), stepper(opt)
    g = p.grad(w)
    step(g, state, w, p)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step(p.grad(w), state, w, p)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # SAM's two gradients are new arrays (the problem's own); nothing else may be
    allowed = 2 * 8 * d if name.startswith("sam") else 0
    assert peak <= allowed + 10_000, f"a step allocated {peak} bytes (d = {d})"


def test_default_keeps_every_iterate_of_a_small_problem():
    traj = run(GD(0.05), Quadratic(H, B), W0, 1000)
    assert traj.w.shape == (1001, 2) and np.array_equal(traj.t, np.arange(1001))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_default_keeps_at_most_64_mib_of_iterates(dtype):
    from optbook.optimizers import TRAJECTORY_BYTES, default_keep_every

    d, steps = 1_000_000, 100
    w = np.zeros(d, dtype)
    k = default_keep_every(steps, w)
    rows = len(set(range(0, steps + 1, k)) | {steps})
    assert rows * w.nbytes <= TRAJECTORY_BYTES < (steps + 1) * w.nbytes
    assert default_keep_every(steps, w[:1000]) == 1
    huge = np.zeros(10 * TRAJECTORY_BYTES // 8)  # one iterate above the budget
    assert default_keep_every(steps, huge) == steps  # first and last only
    traj = run(GD(0.1), Quadratic(np.eye(3)), np.ones(3), 5, keep_every=None)
    assert traj.w.shape == (6, 3)


@pytest.mark.slow
def test_run_memory_is_bounded_for_a_large_model():
    """Adam at d = 10⁶, 100 steps: the run's peak memory stays near the 64 MiB budget
    (it was 818 MiB when every iterate was kept)."""
    import tracemalloc

    from optbook.optimizers import Adam

    d = 1_000_000
    h = np.linspace(0.1, 1.0, d)

    class Separable:
        dim = d

        def loss(self, w):
            return 0.5 * float(w @ (h * w))

        def grad(self, w):
            return h * w

        def hvp(self, w, v):
            return h * v

    tracemalloc.start()
    try:
        traj = run(Adam(1e-3), Separable(), np.ones(d), 100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert traj.w.nbytes <= 64 * 2**20
    assert peak <= 64 * 2**20 + 8 * (8 * d)  # + w, m, v, scratch, g, the loss's temporary


@pytest.mark.parametrize("name", sorted(all_optimizers()))
def test_float32_in_float32_out(name):
    """A float32 problem and w0: iterates, moments and scratch stay float32."""
    from dataclasses import fields

    opt = all_optimizers()[name]
    q = Quadratic(np.diag([1.0, 3.0, 0.5]).astype(np.float32), np.ones(3, np.float32))
    traj = run(opt, q, np.ones(3, np.float32), 30, rng=np.random.default_rng(0))
    assert traj.w.dtype == np.float32 and not traj.diverged

    def arrays(state):
        for f in fields(state):
            x = getattr(state, f.name)
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                yield f.name, x
            elif hasattr(x, "__dataclass_fields__"):
                yield from arrays(x)

    assert all(x.dtype == np.float32 for _, x in arrays(traj.state)), list(arrays(traj.state))


def test_a_gradient_of_the_wrong_length_is_reported_at_the_start():
    class Bad:
        dim = 2

        def loss(self, w):
            return 0.0

        def grad(self, w):
            return np.zeros(3)

        def hvp(self, w, v):
            return v

    with pytest.raises(ValueError, match=r"problem.grad\(w0\) must have length 2"):
        run(GD(0.1), Bad(), np.zeros(2), 3)


def test_a_gradient_returned_as_a_list_still_works():
    class ListGrad:
        dim = 2

        def loss(self, w):
            return float(w @ w)

        def grad(self, w):
            return [2 * w[0], 2 * w[1]]

        def hvp(self, w, v):
            return 2 * v

    traj = run(GD(0.1), ListGrad(), np.ones(2), 10)
    np.testing.assert_allclose(traj.final, 0.8**10 * np.ones(2))


def test_loss_every_measures_less_and_changes_no_iterate():
    """Full batch: the same iterates; the loss only at measured steps (and the last)."""
    q = Rosenbrock(b=2.0, dim=3)
    w0 = np.array([-1.2, 1.0, 0.5])
    every = run(GD(0.01), q, w0, 25, keep_every=1)
    thin = run(GD(0.01), q, w0, 25, keep_every=1, loss_every=10)
    assert np.array_equal(every.w, thin.w)
    measured = np.array([0, 10, 20, 25])
    np.testing.assert_array_equal(np.flatnonzero(np.isfinite(thin.loss)), measured)
    assert np.array_equal(thin.loss[measured], every.loss[measured])
    assert np.array_equal(thin.grad_norm, every.grad_norm)  # the step needs g anyway


def test_loss_every_with_mini_batches_skips_the_full_gradient():
    from optbook.networks import MLP

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 3, 40)

    class Counting(MLP):
        full = 0

        def loss_and_grad(self, w):
            if self.n == 40:
                Counting.full += 1
            return super().loss_and_grad(w)

    net = Counting(X, y, hidden=(5,))
    w0 = net.initial_weights(np.random.default_rng(1))
    runs = {}
    for k in (1, 10):
        Counting.full = 0
        runs[k] = run(GD(0.1), net, w0, 30, batch_size=4, rng=np.random.default_rng(2),
                      loss_every=k)
        runs[k].full = Counting.full
    assert np.array_equal(runs[1].w, runs[10].w)  # the same batches, the same steps
    assert runs[1].full == 31 and runs[10].full == 4  # t = 0, 10, 20, 30
    measured = np.isfinite(runs[10].loss)
    np.testing.assert_array_equal(np.flatnonzero(measured), [0, 10, 20, 30])
    assert np.array_equal(runs[10].loss[measured], runs[1].loss[measured])
    assert np.isnan(runs[10].grad_norm[~measured]).all()


def test_run_uses_loss_and_grad_when_a_problem_has_it():
    from optbook.networks import MLP

    rng = np.random.default_rng(0)
    net = MLP(rng.standard_normal((30, 4)), rng.integers(0, 2, 30), hidden=(6,))
    traj = run(GD(0.5), net, net.initial_weights(rng), 10, keep_every=1)
    np.testing.assert_array_equal(traj.loss, [net.loss(w) for w in traj.w])
    np.testing.assert_array_equal(traj.grad_norm,
                                  [np.linalg.norm(net.grad(w)) for w in traj.w])


def test_a_diverging_mini_batch_run_is_found_at_the_next_measured_step():
    from optbook.problems import LeastSquares

    rng = np.random.default_rng(0)
    ls = LeastSquares(rng.standard_normal((3, 20)), rng.standard_normal(20))
    traj = run(GD(5.0), ls, np.ones(3), 100, batch_size=5, rng=rng, loss_every=7)
    assert traj.diverged and traj.diverged_at % 7 == 0
