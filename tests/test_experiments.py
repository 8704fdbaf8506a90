"""Tests of optbook.experiments and of run's measurements along a run (record=)."""

import numpy as np
import pytest

from optbook.experiments import (
    IRE_FRACTION,
    METHODS,
    Summary,
    Tuning,
    distance_after_fit,
    final_flatness,
    gradient_noise,
    method,
    over_seeds,
    paired_runs,
    preconditioned_sharpness,
    run_seed,
    seeds,
    sharpness,
    summarize,
    sweep,
    tune,
)
from optbook.optimizers import GD, Adam, run
from optbook.problems import LeastSquares, Quadratic, Rosenbrock
from optbook.sharpness import IRE, SAM, AdaHessian, NoiseScaledSGD
from optbook.stats import t_quantile
from optbook.toys import NoisyValley


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


# ---- methods, paired runs, tuning, final measurements ------------------------------------


def _least_squares(seed=0, d=5, n=40):
    rng = np.random.default_rng(seed)
    return LeastSquares(rng.standard_normal((d, n)), rng.standard_normal(n), weight=1 / n)


def test_method_builds_each_optimiser_at_the_given_step():
    for name, kind in zip(METHODS, (GD, Adam, SAM, IRE, AdaHessian, NoiseScaledSGD),
                          strict=True):
        h = 0.5 if name in ("SAM", "IRE", "variant") else None
        opt = method(name, 0.03, h)
        assert isinstance(opt, kind)
    sam, ire = method("SAM", 0.03, 0.2), method("IRE", 0.03, 3.0)
    assert sam.rho == 0.2 and sam.base.lr == 0.03
    assert ire.kappa == 3.0 and ire.base.lr == 0.03 and ire.fraction == IRE_FRACTION
    assert method("IRE", 0.1, 1.0, curvature="hutchinson").curvature == "hutchinson"
    assert method("variant", 0.1, 10.0).rho == 10.0
    with pytest.raises(ValueError, match="one of"):
        method("Lion", 0.1)
    with pytest.raises(ValueError, match="second hyperparameter"):
        method("SAM", 0.1)
    with pytest.raises(ValueError, match="no second hyperparameter"):
        method("SGD", 0.1, 0.5)


def test_paired_runs_share_starts_and_batches_across_methods():
    """Same seed, same batches: SAM with rho = 0 is SGD exactly, run for run; another seed
    draws other batches. A diverged run is counted and not measured."""
    q = _least_squares()
    starts = [np.zeros(q.dim), np.ones(q.dim)]

    def final(p, t, o):
        return {"loss": p.loss(t.final), "w0": float(t.final[0])}

    sgd = paired_runs(lambda: GD(0.05), q, starts, [3, 4], steps=30, batch_size=8,
                      measure=final)
    sam0 = paired_runs(lambda: SAM(0.05, rho=0.0), q, starts, [3, 4], steps=30,
                       batch_size=8, measure=final)
    np.testing.assert_array_equal(sgd["w0"], sam0["w0"])
    np.testing.assert_array_equal(sgd["diverged"], [0.0, 0.0])
    other = paired_runs(lambda: GD(0.05), q, lambda s: starts[{5: 0, 4: 1}[s]], [5, 4], steps=30,
                        batch_size=8, measure=final)
    assert other["w0"][0] != sgd["w0"][0] and other["w0"][1] == sgd["w0"][1]
    traj, opt = run_seed(lambda: GD(0.05), q, starts[1], 4, steps=30, batch_size=8)
    assert traj.final[0] == sgd["w0"][1] and isinstance(opt, GD)
    big = 4.0 / np.linalg.eigvalsh(q.hessian(starts[0]))[-1]  # twice the stability limit
    boom = paired_runs(lambda: GD(big), q, starts, [0, 1], steps=200, measure=final)
    np.testing.assert_array_equal(boom["diverged"], [1.0, 1.0])
    assert list(boom) == ["diverged"]
    with pytest.raises(ValueError, match="one starting point per seed"):
        paired_runs(lambda: GD(0.05), q, starts, [0, 1, 2], steps=5, measure=final)
    with pytest.raises(ValueError, match="measure"):
        paired_runs(lambda: GD(0.05), q, starts, [0, 1], steps=5, measure=None)


def test_tune_chooses_the_best_median_and_keeps_the_whole_table():
    """On a quadratic with full gradients, GD's final loss after few steps falls with the
    step up to the stability limit and explodes beyond it: the choice is the largest
    stable step of the grid; the diverged setting scores inf; ties go to the later
    setting; maximising a score flips the choice."""
    q = Quadratic(np.diag([1.0, 4.0]))
    starts = [np.ones(2), np.array([1.0, -2.0])]
    grid = {"lr": [0.05, 0.1, 0.2, 0.9]}  # 2/λ_max = 0.5: 0.9 diverges

    def final_loss(p, t, o):
        return p.loss(t.final)

    t = tune(lambda lr: GD(lr), q, starts, grid, steps=30, seeds=[0, 1], score=final_loss)
    assert isinstance(t, Tuning) and t.best == {"lr": 0.2} and t.names == ("lr",)
    assert [row["lr"] for row in t.table] == grid["lr"]
    assert t.table[3]["diverged"] == 2 and np.all(np.isinf(t.table[3]["scores"]))
    medians = [row["median"] for row in t.table[:3]]
    assert medians[0] > medians[1] > medians[2]
    for row in t.table[:3]:
        assert row["median"] == pytest.approx(np.median(row["scores"]))
    md = t.markdown("final loss")
    assert md.count("\n") == 5 and "**0.2**" in md and "| diverged | diverged, diverged | 2 |" in md
    worst = tune(lambda lr: GD(lr), q, starts, {"lr": grid["lr"][:3]}, steps=30,
                 seeds=[0, 1], score=final_loss, minimize=False)
    assert worst.best == {"lr": 0.05}
    tie = tune(lambda lr: GD(0.1), q, starts[:1], {"lr": [1, 2, 3]}, steps=5, seeds=[0],
               score=final_loss)
    assert tie.best == {"lr": 3}  # every setting is the same run: the last one wins
    two = tune(lambda lr, rho: SAM(lr, rho=rho), q, starts[:1], {"lr": [0.1], "rho": [0.0, 0.1]},
               steps=5, seeds=[0], score=final_loss)
    assert [(r["lr"], r["rho"]) for r in two.table] == [(0.1, 0.0), (0.1, 0.1)]
    with pytest.raises(ValueError, match="grid"):
        tune(lambda lr: GD(lr), q, starts[:1], {"lr": []}, steps=5, seeds=[0], score=final_loss)


def test_final_flatness_on_the_valley_and_after_fit_distance():
    """On the valley ½(1 + u²)v² + L*, at the end of a run near the floor: λ_max ≈ 1 + u²,
    tr H ≈ 1 + u² + v², the loss above the floor ≈ 0; SGD's effective sharpness is
    η·λ_max; IRE's is at least that (its preconditioner is 1 + κ on the flat mask)."""
    valley = NoisyValley.centred(16, rng=np.random.default_rng(0))
    w0 = np.array([1.5, 0.5])
    traj, opt = run_seed(lambda: GD(0.1), valley, w0, 0, steps=300)
    m = final_flatness(valley, traj, opt)
    u, v = traj.final
    assert m["loss"] == pytest.approx(valley.loss(traj.final) - valley.floor)
    assert m["loss"] < 1e-8
    H = valley.hessian(traj.final)
    assert m["lam"] == pytest.approx(np.linalg.eigvalsh(H)[-1]) and m["tr"] == pytest.approx(
        np.trace(H))
    assert m["lam"] == pytest.approx(1 + u**2, rel=1e-6)
    assert m["eff"] == pytest.approx(0.1 * m["lam"])
    traj_i, ire = run_seed(lambda: method("IRE", 0.1, 2.0), valley, w0, 0, steps=300,
                           batch_size=4)
    mi = final_flatness(valley, traj_i, ire, travel=lambda t: abs(t.w[0, 0]) - abs(t.final[0]))
    assert mi["eff"] >= 0.1 * mi["lam"] * (1 - 1e-9) and mi["travel"] > 0
    # distance after fit: from the first step at which L fell below 1e-2 L(w_0)
    q = Quadratic(np.diag([1.0, 4.0]))
    fit = run(GD(0.1), q, np.ones(2), 100)
    s = int(np.flatnonzero(fit.loss <= 1e-2 * fit.loss[0])[0])
    assert 0 < s < 100
    assert distance_after_fit(fit) == pytest.approx(np.linalg.norm(fit.final - fit.w[s]))
    assert distance_after_fit(fit) < np.linalg.norm(fit.final - fit.w[s - 1])
    assert np.isnan(distance_after_fit(fit, fraction=1e-60))  # never that low
    sparse = run(GD(0.1), q, np.ones(2), 50, keep_every=10)
    with pytest.raises(ValueError, match="every iterate"):
        distance_after_fit(sparse)


def _exact_noise(problem, w, B):
    """E‖∇L_B − ∇L‖² for least squares without replacement (Chapter 6's proposition)."""
    G = problem.Phi * problem.residual(w) * problem.weight  # column i: g_i
    n = problem.n
    tr_sigma = np.mean(np.sum((G - G.mean(axis=1, keepdims=True)) ** 2, axis=0))
    return n**2 / B * (n - B) / (n - 1) * tr_sigma


def test_gradient_noise_estimates_the_exact_minibatch_variance():
    rng = np.random.default_rng(3)
    problem = LeastSquares(rng.standard_normal((3, 12)), rng.standard_normal(12), weight=1 / 12)
    w = rng.standard_normal(3)
    for B in (1, 4, 11):
        exact = _exact_noise(problem, w, B)
        estimate = gradient_noise(problem, B, rng=np.random.default_rng(0), draws=4000)(w)
        assert estimate == pytest.approx(exact, rel=0.08)
    full = gradient_noise(problem, 12, rng=np.random.default_rng(0), draws=3)(w)
    assert full == pytest.approx(0.0, abs=1e-20)  # the full batch has no noise


def test_gradient_noise_as_a_record_leaves_the_runs_batches_alone():
    rng = np.random.default_rng(4)
    problem = LeastSquares(rng.standard_normal((2, 10)), rng.standard_normal(10))
    plain = run(GD(0.01), problem, np.zeros(2), 20, batch_size=3, rng=np.random.default_rng(1))
    measured = run(GD(0.01), problem, np.zeros(2), 20, batch_size=3, rng=np.random.default_rng(1),
                   record={"noise": gradient_noise(problem, 3, rng=np.random.default_rng(2))},
                   record_every=5)
    assert np.array_equal(plain.w, measured.w)
    assert measured.records["noise"].shape == (5,) and np.all(measured.records["noise"] > 0)


def test_gradient_noise_rejects_bad_arguments():
    problem = LeastSquares(np.ones((2, 4)), np.ones(4))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        gradient_noise(problem, 5, rng=rng)
    with pytest.raises(ValueError, match="batch_size"):
        gradient_noise(problem, 0, rng=rng)
    with pytest.raises(ValueError, match="draws"):
        gradient_noise(problem, 2, rng=rng, draws=0)
    with pytest.raises(ValueError, match="rng must be"):
        gradient_noise(problem, 2, rng=0)
    with pytest.raises(ValueError, match="mini-batch problem"):
        gradient_noise(Quadratic(np.eye(2)), 1, rng=rng)
