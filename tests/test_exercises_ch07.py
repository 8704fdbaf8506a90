"""Tests of Chapter 7: the public checks of its coding exercise (ex-mom-rate), and
property tests of the chapter's statements that SymPy checks only symbolically or for
small cases (stability interval, Polyak's rate, the t·ρ^t bound, Nesterov's rate).

The reference answer must pass every case; typical wrong answers must fail, with a
hint that points at the mistake.
"""

import numpy as np
import pytest
from helpers import SEEDS, examples, from_spectrum, random_orthogonal
from hypothesis import given
from hypothesis import strategies as st

from optbook import Momentum, Nesterov, Quadratic, check, run
from optbook.exercises import EXERCISES, _load_all

LABEL = "ex-mom-rate"


def momentum_rate(eta, gamma, lam):
    """The reference answer: spectral radius of [[1 + γ − ηλ, −γ], [1, 0]]."""
    T = np.array([[1.0 + gamma - eta * lam, -gamma], [1.0, 0.0]])
    return float(np.max(np.abs(np.linalg.eigvals(T))))


def without_absolute_value(eta, gamma, lam):
    """Slip: the largest real part instead of the largest modulus."""
    T = np.array([[1.0 + gamma - eta * lam, -gamma], [1.0, 0.0]])
    return float(np.max(np.linalg.eigvals(T).real))


def wrong_sign_of_gamma(eta, gamma, lam):
    """Slip: +γ in the corner, i.e. e_{t+1} = ... + γ e_{t-1}."""
    T = np.array([[1.0 + gamma - eta * lam, gamma], [1.0, 0.0]])
    return float(np.max(np.abs(np.linalg.eigvals(T))))


def moving_average_step(eta, gamma, lam):
    """Slip: the moving-average form's step η(1 − γ) in place of η."""
    return momentum_rate(eta * (1 - gamma), gamma, lam)


def squared_modulus(eta, gamma, lam):
    """Slip: |z|² (e.g. the product of the roots) instead of |z|."""
    return momentum_rate(eta, gamma, lam) ** 2


def stub(eta, gamma, lam):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_there_are_cases_of_every_kind():
    descriptions = " ".join(c.description for c in EXERCISES[LABEL])
    assert len(EXERCISES[LABEL]) >= 6
    for kind in ("γ = 0", "complex band", "Polyak", "double root", "stability limit"):
        assert kind in descriptions, kind


def test_expected_values_agree_with_the_closed_forms():
    for case in EXERCISES[LABEL]:
        eta, gamma, lam = case.args
        assert case.expected == pytest.approx(momentum_rate(eta, gamma, lam), rel=1e-6)
        if gamma == 0:
            assert case.expected == pytest.approx(abs(1 - eta * lam))
        if "complex band" in case.description:
            assert case.expected == pytest.approx(np.sqrt(gamma))
        if "past the stability limit" in case.description:
            assert eta * lam > 2 * (1 + gamma) and case.expected > 1


def test_reference_solution_passes(capsys):
    result = check(LABEL, momentum_rate)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_forgetting_the_absolute_value_fails_on_complex_and_flipping_modes():
    result = check(LABEL, without_absolute_value)
    assert not result
    assert any("complex band" in line for line in result.failed)
    assert any("flips sign" in line for line in result.failed)
    # at λ_max with Polyak's parameters the double root is negative: the hint is a sign
    negative = [line for line in result.failed if "λ = λ_max" in line]
    assert negative and "minus" in negative[0] and "sign" in negative[0], negative
    assert any("slow mode" in line for line in result.passed)  # a positive real root


def test_the_wrong_sign_of_gamma_fails():
    result = check(LABEL, wrong_sign_of_gamma)
    assert not result
    assert any("Polyak" in line for line in result.failed)
    assert any("γ = 0 is gradient descent" in line for line in result.passed)  # no γ, no slip


def test_the_moving_average_step_fails_with_momentum_only():
    result = check(LABEL, moving_average_step)
    assert not result
    assert all(any(k in line for k in ("γ = 0", "complex band", "λ = λ_max", "inside"))
               for line in result.passed)  # where ρ does not depend on η, or by luck
    assert any("λ = μ" in line for line in result.failed)
    assert any("past the stability limit" in line for line in result.failed)


def test_the_squared_modulus_fails():
    result = check(LABEL, squared_modulus)
    assert not result
    assert any("largest difference" in line for line in result.failed)


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Property tests of the chapter's statements
# --------------------------------------------------------------------------

@examples(200)
@given(x=st.floats(-1.0, 5.0), gamma=st.floats(0.0, 0.99))
def test_stability_interval(x, gamma):
    """Theorem thm-mom-stability: ρ(T) < 1 iff 0 < ηλ < 2(1 + γ) (away from the boundary)."""
    if min(abs(x), abs(x - 2 * (1 + gamma))) < 1e-6:
        return
    assert (momentum_rate(x, gamma, 1.0) < 1) == (0 < x < 2 * (1 + gamma))


def _quadratic(d, log_kappa, seed):
    rng = np.random.default_rng(seed)
    Q = random_orthogonal(d, rng)
    lam = np.r_[1.0, rng.uniform(10**-log_kappa, 1.0, d - 2), 10**-log_kappa]
    return from_spectrum(Q, lam), lam, rng


@examples(40)
@given(d=st.integers(2, 15), log_kappa=st.floats(0.3, 3.0), seed=SEEDS)
def test_polyak_rate_and_the_t_rho_t_bound(d, log_kappa, seed):
    """Theorem thm-mom-optimal and Corollary cor-mom-bound, for random sizes and spectra."""
    H, lam, rng = _quadratic(d, log_kappa, seed)
    kappa = lam.max() / lam.min()
    s = np.sqrt(kappa)
    eta = 4 / (np.sqrt(lam.max()) + np.sqrt(lam.min())) ** 2
    gamma = ((s - 1) / (s + 1)) ** 2
    rho = (s - 1) / (s + 1)
    radii = [momentum_rate(eta, gamma, x) for x in lam]
    assert max(radii) == pytest.approx(rho, abs=1e-6)
    w0 = rng.standard_normal(d)
    traj = run(Momentum(eta, gamma), Quadratic(H), w0, steps=200)  # w* = 0
    c = np.max(np.abs(1 - eta * lam))
    t = np.arange(201)
    bound = np.where(t == 0, 1.0, ((c / rho + 1) * t - 1) * rho**t) * np.linalg.norm(w0)
    assert np.all(np.linalg.norm(traj.w, axis=1) <= bound * (1 + 1e-9) + 1e-14)


@examples(40)
@given(log_kappa=st.floats(0.2, 4.0), frac=st.floats(0.0, 1.0))
def test_nesterov_rate(log_kappa, frac):
    """Proposition prop-mom-nesterov-rate: with η = 1/β, γ = (√κ−1)/(√κ+1), every mode in
    [μ, β] has spectral radius <= 1 − 1/√κ."""
    kappa = 10**log_kappa
    gamma = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    lam = 1 / kappa + frac * (1 - 1 / kappa)  # beta = 1
    q = 1 - lam
    T = np.array([[(1 + gamma) * q, -gamma * q], [1.0, 0.0]])
    assert np.max(np.abs(np.linalg.eigvals(T))) <= 1 - 1 / np.sqrt(kappa) + 1e-6


@examples(20)
@given(d=st.integers(2, 10), log_kappa=st.floats(0.3, 2.0), seed=SEEDS)
def test_nesterov_iterates_follow_the_two_term_recursion(d, log_kappa, seed):
    """On a quadratic the look-ahead iterates satisfy
    u_{t+1} = (1+γ)(I − ηH) u_t − γ (I − ηH) u_{t−1} (checked in the chapter for t <= 3)."""
    H, lam, rng = _quadratic(d, log_kappa, seed)
    eta, gamma = 1 / lam.max(), 0.7
    U = run(Nesterov(eta, gamma), Quadratic(H), rng.standard_normal(d), steps=30).w
    M = np.eye(d) - eta * H
    pred = (1 + gamma) * U[1:-1] @ M.T - gamma * U[:-2] @ M.T
    assert np.allclose(U[2:], pred, atol=1e-10 * max(1.0, np.abs(U).max()))


@examples(50)
@given(d=st.integers(1, 20), seed=SEEDS, log_scale=st.floats(-4.0, 4.0),
       lr=st.floats(1e-4, 1.0))
def test_adams_first_step_is_a_sign_step_and_scale_invariant(d, seed, log_scale, lr):
    """Section sec-mom-bias: Adam's first step is exactly -η g/(|g| + ε) (ε outside the
    root), so it is ≈ -η sign(g) and unchanged, up to ε, when the loss is multiplied by c."""
    from optbook import Adam

    rng = np.random.default_rng(seed)
    H = np.diag(rng.uniform(0.1, 10.0, d))
    w0 = rng.standard_normal(d)
    c = 10.0**log_scale
    steps = []
    for scale in (1.0, c):
        traj = run(Adam(lr), Quadratic(scale * H), w0, steps=1)
        g = scale * H @ w0
        step = traj.w[1] - w0
        assert np.allclose(step, -lr * g / (np.abs(g) + 1e-8), rtol=1e-10, atol=1e-15)
        steps.append(step)
    small = np.min(np.abs(H @ w0)) * min(1.0, c)
    if small > 1e-3:  # ε = 1e-8 is negligible next to |g|
        assert np.allclose(steps[0], steps[1], rtol=1e-4)


# --------------------------------------------------------------------------
# ex-mom-paired: the paired interval of the network section's verdicts
# --------------------------------------------------------------------------

PAIRED = "ex-mom-paired"


def paired_interval(a, b, confidence=0.95):
    """The reference answer: mean of a − b and its Student-t interval, written out."""
    from optbook.stats import t_quantile

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = t_quantile(0.5 + confidence / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return np.array([d.mean(), d.mean() - half, d.mean() + half])


def unpaired_interval(a, b, confidence=0.95):
    """Slip: the two methods as independent samples (the seeds' pairing ignored)."""
    from optbook.stats import t_quantile

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = a.size
    half = t_quantile(0.5 + confidence / 2, n - 1) * np.sqrt(
        a.var(ddof=1) / n + b.var(ddof=1) / n)
    diff = a.mean() - b.mean()
    return np.array([diff, diff - half, diff + half])


def normal_quantile_interval(a, b, confidence=0.95):
    """Slip: 1.96 (the normal quantile) in place of Student's t with n − 1 dof."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = 1.959963984540054 * d.std(ddof=1) / np.sqrt(d.size)
    return np.array([d.mean(), d.mean() - half, d.mean() + half])


def population_std_interval(a, b, confidence=0.95):
    """Slip: the standard deviation with ddof = 0."""
    from optbook.stats import t_quantile

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = t_quantile(0.5 + confidence / 2, d.size - 1) * d.std() / np.sqrt(d.size)
    return np.array([d.mean(), d.mean() - half, d.mean() + half])


def reversed_gaps(a, b, confidence=0.95):
    """Slip: the gaps b − a."""
    return paired_interval(b, a, confidence)


def test_paired_reference_passes_and_matches_the_verdicts_interval(capsys):
    from optbook.stats import mean_interval

    result = check(PAIRED, paired_interval)
    assert result and result.score == 1.0
    n = len(EXERCISES[PAIRED])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out
    for case in EXERCISES[PAIRED]:  # the expected values are optbook's own interval
        gaps = np.asarray(case.args[0], float) - np.asarray(case.args[1], float)
        assert np.allclose(case.expected, mean_interval(gaps, *case.args[2:]), atol=1e-9)


def test_ignoring_the_pairing_fails_where_the_methods_vary_together():
    result = check(PAIRED, unpaired_interval)
    assert not result
    assert any("vary together" in line for line in result.failed)
    assert any("zero width" in line for line in result.failed)
    assert any("two seeds" in line for line in result.passed)  # b constant: no covariance


def test_the_normal_quantile_and_ddof_0_fail():
    for slip in (normal_quantile_interval, population_std_interval):
        result = check(PAIRED, slip)
        assert not result
        assert any("zero width" in line for line in result.passed)  # s_d = 0: no difference
        assert len(result.failed) == len(EXERCISES[PAIRED]) - 1


def test_reversed_gaps_fail():
    result = check(PAIRED, reversed_gaps)
    assert not result and not result.passed


def test_paired_stub_is_not_attempted(capsys):
    result = check(PAIRED, stub)
    assert not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Proposition prop-mom-weight-decay on optbook's Adam and AdamW
# --------------------------------------------------------------------------

@examples(40)
@given(d=st.integers(1, 12), steps=st.integers(0, 6), seed=SEEDS,
       lam=st.floats(1e-4, 1.0), lr=st.floats(1e-4, 0.1), beta1=st.sampled_from([0.0, 0.5, 0.9]))
def test_adam_l2_step_divides_the_decay_and_adamw_does_not(d, steps, seed, lam, lr, beta1):
    """One step of Adam(weight_decay=λ) after `steps` random steps is
    w − η m̂ᵍ/(√v̂ + ε) − ηλ c_t w/(√v̂ + ε), c_t = (1 − β₁)/(1 − β₁ᵗ), with v̂ the second
    moment of g + λw; one step of AdamW is w − ηλw − η m̂/(√v̂ + ε) with moments of g alone."""
    from optbook import Adam
    from optbook.optimizers import AdamW

    rng = np.random.default_rng(seed)
    beta2, eps = 0.999, 1e-8
    for opt in (Adam(lr, beta1, beta2, eps, weight_decay=lam),
                AdamW(lr, beta1, beta2, eps, weight_decay=lam)):
        w = rng.standard_normal(d)
        state = opt.init(w)
        for _ in range(steps):
            opt.step(rng.standard_normal(d), state, w, None)
        g = rng.standard_normal(d)
        m_prev, v_prev, t = state.m.copy(), state.v.copy(), state.t + 1
        g_moments = g if opt.decoupled else g + lam * w
        v_hat = (beta2 * v_prev + (1 - beta2) * g_moments**2) / (1 - beta2**t)
        root = np.sqrt(v_hat) + eps
        m_hat_g = (beta1 * m_prev + (1 - beta1) * g) / (1 - beta1**t)
        if opt.decoupled:
            decay = lr * lam * w
        else:
            decay = lr * lam * (1 - beta1) / (1 - beta1**t) * w / root
        expected = -lr * m_hat_g / root - decay
        assert np.allclose(opt.update(g, state, w.copy(), None), expected, rtol=1e-9, atol=1e-14)
