"""Tests of optbook.experiments and of run's measurements along a run (record=)."""

import numpy as np
import pytest

from optbook.experiments import (
    Summary,
    over_seeds,
    preconditioned_sharpness,
    seeds,
    sharpness,
    summarize,
    sweep,
)
from optbook.optimizers import GD, Adam, run
from optbook.problems import Quadratic, Rosenbrock
from optbook.stats import t_quantile


def test_seeds_are_consecutive_and_checked():
    assert seeds(3) == [0, 1, 2] and seeds(2, start=100) == [100, 101]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n must be"):
            seeds(bad)
    with pytest.raises(ValueError, match="start"):
        seeds(2, start=-1)


def test_summarize_is_the_student_t_interval():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    s = summarize(x)
    half = t_quantile(0.975, 3) * x.std(ddof=1) / 2
    assert isinstance(s, Summary) and s.n == 4 and s.mean == pytest.approx(3.5)
    assert (s.low, s.high) == pytest.approx((3.5 - half, 3.5 + half))
    assert s.half_width == pytest.approx(half)
    assert "3.5 [" in str(s) and "95% interval, 4 seeds" in str(s)
    assert summarize(x, 0.5).half_width < s.half_width
    with pytest.raises(ValueError, match="at least 2"):
        summarize([1.0])
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, np.nan])


def test_over_seeds_and_sweep_collect_every_run_in_order():
    def fn(seed, scale=1.0):
        return {"x": scale * np.random.default_rng(seed).standard_normal(), "seed": seed}

    out = over_seeds(fn, [3, 1, 2])
    np.testing.assert_array_equal(out["seed"], [3, 1, 2])
    assert out["x"][0] == np.random.default_rng(3).standard_normal()
    rows = sweep(fn, {"scale": [1.0, 2.0]}, [0, 1])
    assert [r["scale"] for r in rows] == [1.0, 2.0]
    np.testing.assert_allclose(rows[1]["x"], 2 * rows[0]["x"])
    with pytest.raises(ValueError, match="dict of numbers"):
        over_seeds(lambda s: s, [0])
    with pytest.raises(ValueError, match="same names"):
        over_seeds(lambda s: {"a": 1.0} if s else {"b": 1.0}, [0, 1])
    with pytest.raises(ValueError, match="seeds"):
        over_seeds(fn, [])
    with pytest.raises(ValueError, match="grid"):
        sweep(fn, {"scale": []}, [0])


def test_run_records_the_sharpness_along_a_run():
    """On Rosenbrock the Hessian changes along the path: each recorded value equals the
    dense λ_max at the iterate of that step; records end at a divergence."""
    q = Rosenbrock()
    traj = run(GD(1e-3), q, np.array([-1.2, 1.0]), 50, keep_every=1,
               record={"sharpness": sharpness(q, rng=np.random.default_rng(0), tol=1e-10)},
               record_every=10)
    np.testing.assert_array_equal(traj.record_t, [0, 10, 20, 30, 40, 50])
    dense = [np.linalg.eigvalsh(q.hessian(traj.w[t]))[-1] for t in traj.record_t]
    np.testing.assert_allclose(traj.records["sharpness"], dense, rtol=1e-8)
    # GD above 2/λ on a quadratic diverges: measurements after it stay nan
    quad = Quadratic(np.diag([1.0, 10.0]))
    diverging = run(GD(0.5), quad, np.ones(2), 100, divergence_threshold=1e3,
                    record={"s": sharpness(quad, rng=np.random.default_rng(0))})
    assert diverging.diverged
    assert np.isnan(diverging.records["s"][diverging.diverged_at + 1:]).all()
    np.testing.assert_allclose(diverging.records["s"][:diverging.diverged_at], 10.0, rtol=1e-3)


def test_preconditioned_sharpness_of_adam_is_that_of_p_half_h_p_half():
    H = np.diag([1.0, 4.0, 9.0])
    q = Quadratic(H, np.ones(3))
    opt = Adam(0.01)
    traj = run(opt, q, np.zeros(3), 5, record={
        "pre": preconditioned_sharpness(q, opt, rng=np.random.default_rng(0), tol=1e-10)})
    assert np.isnan(traj.records["pre"][0])  # no preconditioner before the first step
    from optbook.sharpness import preconditioner

    P = preconditioner(opt, traj)  # at the end: the last record is taken at t = 5
    np.testing.assert_allclose(traj.records["pre"][-1], np.max(P * np.diag(H)), rtol=1e-8)


def test_record_rejects_bad_arguments():
    q = Quadratic(np.eye(2))
    for bad in ({}, {"a": 1.0}, [lambda w, s: 0.0]):
        with pytest.raises(ValueError, match="record must be"):
            run(GD(0.1), q, np.ones(2), 3, record=bad)
    with pytest.raises(ValueError, match="record_every"):
        run(GD(0.1), q, np.ones(2), 3, record={"a": lambda w, s: 0.0}, record_every=0)
    with pytest.raises(ValueError, match="rng"):
        sharpness(q, rng=0)


def test_a_warm_start_needs_fewer_products_and_finds_the_same_eigenvalue():
    from optbook.hessian import top_eigenvalue

    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    lam = np.r_[10.0, 9.0, np.linspace(0.0, 8.0, 298)]
    H = (Q * lam) @ Q.T
    cold = top_eigenvalue(lambda v: H @ v, 300, rng=np.random.default_rng(1), tol=1e-8)
    H2 = H + 1e-3 * np.outer(Q[:, 0], Q[:, 0])  # the next measurement: H moved a little
    warm = top_eigenvalue(lambda v: H2 @ v, 300, rng=np.random.default_rng(1), tol=1e-8,
                          v0=cold.vector)
    fresh = top_eigenvalue(lambda v: H2 @ v, 300, rng=np.random.default_rng(1), tol=1e-8)
    assert warm.value == pytest.approx(10.001, rel=1e-8) == fresh.value
    assert warm.iterations < fresh.iterations
    for bad in (np.zeros(300), np.ones(3), [np.nan] * 300):
        with pytest.raises(ValueError, match="v0"):
            top_eigenvalue(lambda v: H @ v, 300, rng=rng, v0=bad)
