"""Tests of Chapter 4: the public checks of its coding exercise (ex-rates-contraction),
and property tests of the chapter's statements that SymPy checks only in small dimensions.

The reference answer must pass every case; typical wrong answers must fail, with a
hint that points at the mistake.
"""

import numpy as np
import pytest
from helpers import SEEDS, examples, from_spectrum, random_orthogonal
from hypothesis import given
from hypothesis import strategies as st

from optbook import GD, LogisticRegression, Quadratic, check, run
from optbook.bounds import gd_rate, max_stable_step, optimal_fixed_step
from optbook.exercises import EXERCISES, _load_all
from optbook.spectral import condition_number, eigenvalues, lambda_max

LABEL = "ex-rates-contraction"


def gd_contraction(H, eta):
    """The reference answer: max_i |1 - eta lambda_i(H)|."""
    return float(np.max(np.abs(1 - eta * np.linalg.eigvalsh(H))))


def without_absolute_value(H, eta):
    """Slip: max_i (1 - eta lambda_i), forgetting that a mode can flip sign."""
    return float(np.max(1 - eta * np.linalg.eigvalsh(H)))


def only_lambda_max(H, eta):
    """Slip: only the sharpest direction, |1 - eta lambda_max|."""
    return float(abs(1 - eta * np.linalg.eigvalsh(H)[-1]))


def only_lambda_min(H, eta):
    """Slip: only the flattest direction, |1 - eta lambda_min|."""
    return float(abs(1 - eta * np.linalg.eigvalsh(H)[0]))


def squared(H, eta):
    """Slip: the contraction of the loss (rho^2) instead of the distance (rho)."""
    return gd_contraction(H, eta) ** 2


def eigenvalues_of_the_wrong_matrix(H, eta):
    """Slip: the spectral radius of eta H instead of I - eta H."""
    return float(np.max(np.abs(eta * np.linalg.eigvalsh(H))))


def stub(H, eta):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def cases_by(word):
    return [c for c in EXERCISES[LABEL] if word in c.description]


# --------------------------------------------------------------------------
# The public cases
# --------------------------------------------------------------------------

def test_there_are_cases_of_every_kind():
    descriptions = " ".join(c.description for c in EXERCISES[LABEL])
    assert len(EXERCISES[LABEL]) >= 6
    for kind in ("η = 1/β", "η*", "stability limit", "singular", "4I"):
        assert kind in descriptions, kind


def test_expected_values_agree_with_optbooks_formulas():
    by_1_over_beta = cases_by("η = 1/β: the slow mode")[0]
    H, eta = by_1_over_beta.args
    assert eta == pytest.approx(1 / lambda_max(H))
    assert by_1_over_beta.expected == pytest.approx(1 - 1 / condition_number(H))
    for case in cases_by("η*"):
        H, eta = case.args
        assert eta == pytest.approx(optimal_fixed_step(H))
        assert case.expected == pytest.approx(gd_rate(H), rel=1e-12)
    limit = cases_by("stability limit")[0]
    assert limit.args[1] == pytest.approx(max_stable_step(limit.args[0]))
    assert limit.expected == pytest.approx(1.0)
    assert cases_by("singular")[0].expected == pytest.approx(1.0)
    assert cases_by("4I")[0].expected == pytest.approx(3.0)
    for case in EXERCISES[LABEL]:
        H, eta = case.args
        assert case.expected == pytest.approx(np.max(np.abs(1 - eta * eigenvalues(H))), abs=1e-12)


def test_reference_solution_passes(capsys):
    result = check(LABEL, gd_contraction)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_the_notebooks_solution_passes():
    from optbook.spectral import eigenvalues as eig

    def notebook_solution(H, eta):  # as in book/ch04_rates.ipynb
        return float(np.max(np.abs(1 - eta * eig(H))))

    assert check(LABEL, notebook_solution).score == 1.0


def test_forgetting_the_absolute_value_gets_a_sign_hint():
    result = check(LABEL, without_absolute_value)
    assert not result and 0 < result.score < 1
    flipped = [line for line in result.failed if "4I" in line]
    assert flipped and "minus" in flipped[0] and "sign" in flipped[0], flipped
    assert any("stability limit" in line for line in result.failed)
    # small steps, where no mode flips sign, are right: the hint is about large steps
    assert any("η = 1/β" in line for line in result.passed)


def test_only_the_sharpest_direction_fails_where_the_slow_mode_decides():
    result = check(LABEL, only_lambda_max)
    assert not result
    slow = [line for line in result.failed if "slow mode" in line]
    assert slow and "largest difference" in slow[0]
    assert any("singular" in line and "ρ = 1" in line for line in result.failed)


def test_only_the_flattest_direction_fails_for_large_steps():
    result = check(LABEL, only_lambda_min)
    assert not result
    assert any("η = 1/β" in line for line in result.passed)
    assert any("multiplied by" in line for line in result.failed)


def test_the_loss_rate_instead_of_the_distance_rate_fails():
    result = check(LABEL, squared)
    assert not result
    assert any("4I" in line for line in result.failed)


def test_the_wrong_matrix_fails_everywhere_but_by_chance():
    result = check(LABEL, eigenvalues_of_the_wrong_matrix)
    assert not result and result.score < 0.5


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Property tests of the chapter's statements, for random sizes
# --------------------------------------------------------------------------

DIMS = st.integers(1, 30)


@examples(50)
@given(d=DIMS, seed=SEEDS)
def test_cauchy_schwarz_and_the_gap_lemma(d, seed):
    """(a^T b)^2 <= |a|^2 |b|^2 in every dimension (the chapter checks d = 2, 3 in SymPy)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, d))
    assert (a @ b) ** 2 <= (a @ a) * (b @ b) * (1 + 1e-12)
    assert a @ b <= np.linalg.norm(a) * np.linalg.norm(b) * (1 + 1e-12)


def _logistic(d, extra, seed):
    rng = np.random.default_rng(seed)
    n = d + extra
    X = rng.standard_normal((d, n))
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    y[: min(n, 2)] = (1.0, -1.0)[: min(n, 2)]
    return LogisticRegression(X, y), rng


@pytest.mark.slow
@examples(30)
@given(d=st.integers(1, 6), extra=st.integers(2, 20), seed=SEEDS,
       eta_frac=st.floats(0.05, 2.0))
def test_distance_to_the_minimiser_and_gradient_norm_never_grow(d, extra, seed, eta_frac):
    """Proposition prop-rates-distance and Exercise ex-rates-monotone-grad, for 0 < η <= 2/β,
    on logistic regression (convex, β-smooth), measured against a point w_ref where the
    gradient is tiny (Newton's method is not needed: a long GD run)."""
    problem, rng = _logistic(d, extra, seed)
    beta = problem.smoothness()
    w0 = rng.standard_normal(d)
    traj = run(GD(eta_frac / beta), problem, w0, steps=200)
    assert np.all(np.diff(traj.grad_norm) <= 1e-12 * max(1.0, traj.grad_norm[0]))
    w_ref = run(GD(1 / beta), problem, traj.final, steps=2000).final
    if np.linalg.norm(problem.grad(w_ref)) > 1e-9:  # separable or slow: no minimiser at hand
        return
    dist = np.linalg.norm(traj.w - w_ref, axis=1)
    # w_ref is within ~|g|/μ of the minimiser; allow for that offset
    assert np.all(np.diff(dist) <= 1e-6 * max(1.0, dist[0]))


@examples(40)
@given(d=st.integers(2, 12), seed=SEEDS, log_kappa=st.floats(0.1, 3.0),
       which=st.sampled_from(["1/beta", "opt"]))
def test_linear_rate_on_quadratics(d, seed, log_kappa, which):
    """Proposition prop-rates-linear: |w_t - w*| <= rho^t |w_0 - w*| at every step."""
    rng = np.random.default_rng(seed)
    lam = np.logspace(0, -log_kappa, d)
    H = from_spectrum(random_orthogonal(d, rng), lam)
    eta = 1 / lam[0] if which == "1/beta" else optimal_fixed_step(H)
    rho = gd_contraction(H, eta)
    expected_rho = 1 - 1 / condition_number(H) if which == "1/beta" else gd_rate(H)
    assert rho == pytest.approx(expected_rho, rel=1e-9, abs=1e-12)
    w0 = rng.standard_normal(d)
    traj = run(GD(eta), Quadratic(H), w0, steps=100)  # w* = 0
    dist = np.linalg.norm(traj.w, axis=1)
    assert np.all(dist <= rho ** np.arange(101) * dist[0] * (1 + 1e-9) + 1e-14)
