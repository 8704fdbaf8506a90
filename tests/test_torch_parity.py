"""Reference parity: optbook's optimisers against torch.optim, step by step, in float64
and in float32.

Each test runs an optimiser of ``optbook`` with :func:`optbook.run` and the
corresponding ``torch.optim`` class on the same problem, step by step: torch starts
each step from our iterate, with the gradient computed by the same NumPy code (the
problem's ``grad``) and its own optimiser state, so the two differ only in how the
optimisers do their arithmetic. Every step must agree to a few units in the last
place: torch computes some updates in a different order (``lerp`` for Adam's first
moment, ``addcmul`` for the second), so bit equality is not expected everywhere; an
error in a formula (a missing bias correction, ε inside the square root, a momentum
buffer started at 0 instead of g₀) moves a step by many orders of magnitude more than
the tolerance (``test_the_comparison_can_fail``).

torch is a test-only dependency (requirements-test.txt).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optbook import schedules
from optbook.optimizers import GD, Adagrad, Adam, AdamW, Momentum, Nesterov, RMSProp, run
from optbook.problems import LeastSquares, LogisticRegression, Quadratic, Rosenbrock

torch = pytest.importorskip("torch", reason="torch is a test dependency: "
                            "pip install -r requirements-test.txt")

STEPS = 60
#: per step, relative to the size of the iterate: 8 units in the last place (measured:
#: at most 2 on these problems; most steps agree bit for bit)
RTOL = 8 * np.finfo(float).eps


def torch_steps(make_opt, grad, ours, scheduler=None):
    """torch.optim's step from each of our iterates: row t + 1 is where torch goes from
    ``ours[t]`` with the gradient ``grad(ours[t])`` and its own state after t steps.

    Both optimisers see the same gradients and start every step from the same point, so
    an error in a formula shows at the step where it happens, and round-off does not
    accumulate through the gradient (Adam near a minimum amplifies it).
    """
    p = torch.tensor(ours[0], requires_grad=True)  # ours' dtype: float64 or float32
    opt = make_opt([p])
    sched = scheduler(opt) if scheduler else None
    out = np.empty_like(ours)
    out[0] = ours[0]
    for t in range(len(ours) - 1):
        with torch.no_grad():
            p.copy_(torch.from_numpy(ours[t]))
        p.grad = torch.from_numpy(np.asarray(grad(ours[t].copy()), dtype=ours.dtype))
        opt.step()
        if sched is not None:
            sched.step()
        out[t + 1] = p.detach().numpy()
    return out


def assert_same_steps(ours, theirs, rtol=RTOL):
    """Every step equal up to ``rtol`` times the size of the iterates."""
    assert ours.shape == theirs.shape
    assert np.all(np.isfinite(ours)) and np.all(np.isfinite(theirs))
    scale = np.maximum(1.0, np.max(np.abs(theirs), axis=1))
    err = np.max(np.abs(ours - theirs), axis=1) / scale
    worst = int(np.argmax(err))
    assert err[worst] <= rtol, f"step {worst} differs by {err[worst]:.3g} (> {rtol:g})"


def problems(dtype=np.float64):
    """Small problems of different kinds (seeded): quadratic, least squares
    (over-parameterised), logistic regression and Rosenbrock, with data and starting
    points in ``dtype``."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    H = (Q * np.array([0.05, 0.3, 1.0, 2.0, 4.0])) @ Q.T
    quad = Quadratic(((H + H.T) / 2).astype(dtype), rng.standard_normal(5).astype(dtype))
    Phi = rng.standard_normal((8, 5)) / np.sqrt(8)  # d = 8 > n = 5
    lsq = LeastSquares(Phi.astype(dtype), rng.standard_normal(5).astype(dtype))
    X = rng.standard_normal((4, 30))
    logit = LogisticRegression(X.astype(dtype), np.sign(rng.standard_normal(30)))
    rosen = Rosenbrock(dim=3)
    starts = [rng.standard_normal(5), rng.standard_normal(8), rng.standard_normal(4),
              np.array([-1.2, 1.0, 0.5])]
    return {name: (problem, w0.astype(dtype)) for name, problem, w0 in zip(
        ["quadratic", "least-squares", "logistic", "rosenbrock"], [quad, lsq, logit, rosen],
        starts, strict=True)}


PROBLEMS = problems()
PROBLEMS32 = problems(np.float32)
#: float32: the same 8 units in the last place, of float32
RTOL32 = 8 * np.finfo(np.float32).eps
# Step sizes that keep each problem's runs bounded for every optimiser below.
LR = {"quadratic": 0.1, "least-squares": 0.2, "logistic": 0.5, "rosenbrock": 2e-4}

# (name, optbook optimiser from lr, torch optimiser from (params, lr)); unusual settings
# included: γ = 0, β₁ = 0, a small β₂, a large ε.
CASES = [
    ("gd", lambda lr: GD(lr), lambda p, lr: torch.optim.SGD(p, lr=lr)),
    ("momentum", lambda lr: Momentum(lr, 0.9),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    ("momentum-0.5", lambda lr: Momentum(lr, 0.5),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.5)),
    ("momentum-0", lambda lr: Momentum(lr, 0.0),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.0)),
    ("momentum-dampened", lambda lr: Momentum(lr, 0.9, dampening=0.9),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, dampening=0.9)),
    ("momentum-dampening-0.3", lambda lr: Momentum(lr, 0.5, dampening=0.3),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.5, dampening=0.3)),
    ("nesterov", lambda lr: Nesterov(lr, 0.9),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    ("nesterov-0.3", lambda lr: Nesterov(lr, 0.3),
     lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.3, nesterov=True)),
    ("adagrad", lambda lr: Adagrad(lr),
     lambda p, lr: torch.optim.Adagrad(p, lr=lr)),
    ("adagrad-eps", lambda lr: Adagrad(lr, eps=0.5),
     lambda p, lr: torch.optim.Adagrad(p, lr=lr, eps=0.5)),
    ("rmsprop", lambda lr: RMSProp(lr),
     lambda p, lr: torch.optim.RMSprop(p, lr=lr)),
    ("rmsprop-small-beta2", lambda lr: RMSProp(lr, beta2=0.5, eps=1e-3),
     lambda p, lr: torch.optim.RMSprop(p, lr=lr, alpha=0.5, eps=1e-3)),
    ("adam", lambda lr: Adam(lr), lambda p, lr: torch.optim.Adam(p, lr=lr)),
    ("adam-beta1-0", lambda lr: Adam(lr, beta1=0.0),
     lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.0, 0.999))),
    ("adam-small-beta2", lambda lr: Adam(lr, beta1=0.5, beta2=0.6),
     lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.5, 0.6))),
    ("adam-large-eps", lambda lr: Adam(lr, eps=1.0),
     lambda p, lr: torch.optim.Adam(p, lr=lr, eps=1.0)),
    ("adam-l2", lambda lr: Adam(lr, weight_decay=0.3),
     lambda p, lr: torch.optim.Adam(p, lr=lr, weight_decay=0.3)),
    ("adamw", lambda lr: AdamW(lr, weight_decay=0.3),
     lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.3)),
    ("adamw-defaults", lambda lr: AdamW(lr), lambda p, lr: torch.optim.AdamW(p, lr=lr)),
]


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS))
@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_iterates_equal_torch(problem_name, name, ours, theirs):
    problem, w0 = PROBLEMS[problem_name]
    lr = _lr(problem_name, name)
    traj = run(ours(lr), problem, w0, STEPS)
    assert not traj.diverged
    assert_same_steps(traj.w, torch_steps(lambda p: theirs(p, lr), problem.grad, traj.w))


def _lr(problem_name, name):
    lr = LR[problem_name]
    if name.startswith(("adam", "rmsprop", "adagrad")):
        lr = lr / 10 if problem_name == "rosenbrock" else 0.05  # sign-like steps of size ≈ lr
    return lr


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS32))
@pytest.mark.parametrize("name,ours,theirs", CASES, ids=[c[0] for c in CASES])
def test_iterates_equal_torch_in_float32(problem_name, name, ours, theirs):
    """The same in float32: the problem, the iterates and the optimiser's state stay float32
    (none is promoted to float64), and every step agrees with torch's float32 step."""
    problem, w0 = PROBLEMS32[problem_name]
    lr = _lr(problem_name, name)
    traj = run(ours(lr), problem, w0, STEPS)
    assert not traj.diverged
    assert traj.w.dtype == np.float32 and problem.grad(w0).dtype == np.float32
    assert_same_steps(traj.w, torch_steps(lambda p: theirs(p, lr), problem.grad, traj.w),
                      rtol=RTOL32)


def test_the_comparison_can_fail():
    """The tolerance is far below the size of a real mistake: a β₂ off by 0.009 in Adam,
    RMSProp's missing bias correction, Nesterov's look-ahead, or ε moved by 1e-9."""
    problem, w0 = PROBLEMS["quadratic"]
    adam = lambda p: torch.optim.Adam(p, lr=0.05)  # noqa: E731
    for wrong in (Adam(0.05, beta2=0.99), RMSProp(0.05, beta2=0.999), Adam(0.05, eps=1e-9)):
        ours = run(wrong, problem, w0, 10).w
        with pytest.raises(AssertionError, match="differs by"):
            assert_same_steps(ours, torch_steps(adam, problem.grad, ours))
    ours = run(Nesterov(0.05, 0.9), problem, w0, 10).w
    with pytest.raises(AssertionError, match="differs by"):
        assert_same_steps(ours, torch_steps(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
                                            problem.grad, ours))


# Schedules: optbook.schedules against torch.optim.lr_scheduler (SGD, so w moves by η_t g_t).
SCHEDULES = [
    ("step", schedules.step(0.1, drop=0.5, every=7),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential", schedules.exponential(0.1, decay=0.95, decay_steps=1),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)),
    ("cosine", schedules.cosine(0.1, total_steps=40, lr_min=0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.01)),
    ("warmup", schedules.warmup(0.1, warmup_steps=10),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: min(1.0, (t + 1) / 10))),
]


@pytest.mark.parametrize("name,schedule,scheduler", SCHEDULES, ids=[s[0] for s in SCHEDULES])
@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_schedules_equal_torch_schedulers(name, schedule, scheduler, method):
    problem, w0 = PROBLEMS["quadratic"]
    steps = 40
    ours = {"gd": GD, "momentum": lambda lr: Momentum(lr, 0.9), "adam": Adam}[method]
    theirs = {"gd": lambda p: torch.optim.SGD(p, lr=0.1),
              "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
              "adam": lambda p: torch.optim.Adam(p, lr=0.1)}[method]
    traj = run(ours(schedule), problem, w0, steps)
    assert_same_steps(traj.w, torch_steps(theirs, problem.grad, traj.w, scheduler))


@settings(max_examples=25, deadline=None)
@given(beta1=st.floats(0.0, 0.99), beta2=st.floats(0.01, 0.9999),
       log_eps=st.floats(-10.0, 0.0), log_lr=st.floats(-3.0, -1.0),
       seed=st.integers(0, 2**16))
def test_adam_equals_torch_for_random_hyperparameters(beta1, beta2, log_eps, log_lr, seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    A = rng.standard_normal((d, d))
    problem = Quadratic(A @ A.T / d + 0.1 * np.eye(d), rng.standard_normal(d))
    w0 = rng.standard_normal(d)
    lr, eps = 10.0 ** log_lr, 10.0 ** log_eps
    traj = run(Adam(lr, beta1, beta2, eps), problem, w0, 30)
    reference = torch_steps(
        lambda p: torch.optim.Adam(p, lr=lr, betas=(beta1, beta2), eps=eps), problem.grad, traj.w)
    assert_same_steps(traj.w, reference)


@settings(max_examples=25, deadline=None)
@given(gamma=st.floats(0.0, 0.99), nesterov=st.booleans(), log_lr=st.floats(-3.0, -1.0),
       seed=st.integers(0, 2**16))
def test_momentum_equals_torch_for_random_hyperparameters(gamma, nesterov, log_lr, seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    A = rng.standard_normal((d, d))
    problem = Quadratic(A @ A.T / d + 0.1 * np.eye(d), rng.standard_normal(d))
    w0 = rng.standard_normal(d)
    lr = 10.0 ** log_lr
    ours = (Nesterov if nesterov else Momentum)(lr, gamma)
    traj = run(ours, problem, w0, 30)
    reference = torch_steps(
        lambda p: torch.optim.SGD(p, lr=lr, momentum=gamma, nesterov=nesterov and gamma > 0),
        problem.grad, traj.w)
    assert_same_steps(traj.w, reference)


def test_minibatch_sgd_with_momentum_equals_torch():
    """SGD: the same batches (drawn by run's rng, replayed for torch) give the same iterates."""
    problem, w0 = PROBLEMS["least-squares"]
    steps, B, seed = 40, 2, 3
    traj = run(Momentum(0.1, 0.9), problem, w0, steps, batch_size=B,
               rng=np.random.default_rng(seed))
    replay = np.random.default_rng(seed)
    batches = [problem.subset(replay.choice(problem.n, size=B, replace=False))
               for _ in range(steps)]
    grads = iter(batch.grad for batch in batches)
    theirs = torch_steps(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                         lambda w: next(grads)(w), traj.w)
    assert_same_steps(traj.w, theirs)
