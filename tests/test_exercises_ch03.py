"""Tests for Chapter 3 (β-smoothness and the descent lemma).

Two parts:

* the automatic check of the coding exercise ``ex-secant-curvature``: the reference
  solution passes, typical wrong answers fail with a helpful hint;
* property-based tests (Hypothesis) of the chapter's claims on random problems of every
  size, which SymPy checks in the chapter only for a few explicit sizes: the gradients of
  least squares and logistic regression are β-Lipschitz with the β that optbook computes,
  the Hessian bound is attained at w = 0 for logistic regression, the quadratic upper
  model and the descent lemma hold, and backtracking never accepts a step below
  min(η₀, 2τ(1 − c)/β).
"""

import numpy as np
from helpers import SEEDS, examples, random_least_squares
from hypothesis import given
from hypothesis import strategies as st

from optbook import BacktrackingGD, LogisticRegression
from optbook.bounds import descent_lemma_decrease
from optbook.exercises import EXERCISES, _load_all, check
from optbook.spectral import lambda_max
from optbook.taylor import upper_model

LABEL = "ex-secant-curvature"
PROPERTY = examples(40)


# --------------------------------------------------------------------------
# The coding exercise
# --------------------------------------------------------------------------

def secant_curvature(problem, w, delta):
    """The reference answer: 2 (L(w + Δ) − L(w) − gᵀΔ) / ‖Δ‖²."""
    w, delta = np.asarray(w, dtype=float), np.asarray(delta, dtype=float)
    linear = problem.loss(w) + problem.grad(w) @ delta
    return float(2 * (problem.loss(w + delta) - linear) / (delta @ delta))


def forgets_the_two(problem, w, delta):
    """The model's ½ forgotten: (L(w + Δ) − L(w) − gᵀΔ) / ‖Δ‖²."""
    return secant_curvature(problem, w, delta) / 2


def model_minus_loss(problem, w, delta):
    """The difference taken the wrong way round: 2 (L(w) + gᵀΔ − L(w + Δ)) / ‖Δ‖²."""
    return -secant_curvature(problem, w, delta)


def divides_by_the_norm(problem, w, delta):
    """‖Δ‖ instead of ‖Δ‖² in the denominator."""
    return secant_curvature(problem, w, delta) * np.linalg.norm(delta)


def stub(problem, w, delta):
    raise NotImplementedError


def test_there_are_enough_public_cases():
    _load_all()
    assert len(EXERCISES[LABEL]) >= 4


def test_reference_solution_passes(capsys):
    result = check(LABEL, secant_curvature)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_forgetting_the_factor_two_gets_a_factor_hint(capsys):
    result = check(LABEL, forgets_the_two)
    assert not result and result.score == 0.0
    for line in result.failed:
        assert "half the expected value" in line and "factor of 2" in line, line
    assert "factor of 2" in capsys.readouterr().out


def test_wrong_order_of_the_difference_gets_a_sign_hint(capsys):
    result = check(LABEL, model_minus_loss)
    assert not result and result.score == 0.0
    for line in result.failed:
        assert "minus the expected value" in line and "sign" in line, line
    capsys.readouterr()


def test_wrong_power_of_the_norm_fails(capsys):
    result = check(LABEL, divides_by_the_norm)
    assert not result
    assert result.score < 1.0
    assert any("values differ" in line for line in result.failed)
    capsys.readouterr()


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted and not result
    assert "not attempted yet" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Property tests of the chapter's claims
# --------------------------------------------------------------------------

def random_logistic(d, n, seed):
    rng = np.random.default_rng(seed)
    Phi = rng.uniform(-2, 2, (d, n)) * rng.uniform(0.1, 3.0, (d, 1))
    return LogisticRegression(Phi, rng.choice([-1.0, 1.0], n)), rng


sizes = {"d": st.integers(1, 8), "n": st.integers(1, 12), "seed": SEEDS}


@PROPERTY
@given(**sizes)
def test_logistic_gradient_is_beta_lipschitz(d, n, seed):
    problem, rng = random_logistic(d, n, seed)
    beta = problem.smoothness()
    for _ in range(5):
        u, v = rng.normal(scale=3.0, size=(2, d))
        lhs = np.linalg.norm(problem.grad(u) - problem.grad(v))
        assert lhs <= beta * np.linalg.norm(u - v) * (1 + 1e-10) + 1e-12


@PROPERTY
@given(**sizes)
def test_logistic_hessian_is_bounded_by_beta_and_attains_it_at_zero(d, n, seed):
    problem, rng = random_logistic(d, n, seed)
    beta = problem.smoothness()
    assert np.isclose(lambda_max(problem.hessian(np.zeros(d))), beta, rtol=1e-10)
    for _ in range(5):
        H = problem.hessian(rng.normal(scale=3.0, size=d))
        assert np.linalg.norm(H, 2) <= beta * (1 + 1e-10) + 1e-12


@PROPERTY
@given(**sizes)
def test_least_squares_gradient_is_lambda_max_lipschitz(d, n, seed):
    problem, rng = random_least_squares(d, n, seed)
    beta = lambda_max(problem.hessian())
    for _ in range(5):
        u, v = rng.normal(scale=3.0, size=(2, d))
        lhs = np.linalg.norm(problem.grad(u) - problem.grad(v))
        assert lhs <= beta * np.linalg.norm(u - v) * (1 + 1e-10) + 1e-12


@PROPERTY
@given(**sizes, kind=st.sampled_from(["logistic", "least squares"]))
def test_quadratic_upper_model_is_above_the_loss(d, n, seed, kind):
    if kind == "logistic":
        problem, rng = random_logistic(d, n, seed)
        beta = problem.smoothness()
    else:
        problem, rng = random_least_squares(d, n, seed)
        beta = max(lambda_max(problem.hessian()), 1e-12)
    w = rng.normal(scale=2.0, size=d)
    deltas = rng.normal(size=(20, d)) * rng.uniform(1e-3, 5.0, (20, 1))
    true = np.array([problem.loss(w + dl) for dl in deltas])
    model = upper_model(problem, w, beta)(deltas)
    assert np.all(true <= model + 1e-9 * (1 + np.abs(true)))


@PROPERTY
@given(**sizes, ratio=st.floats(0.01, 3.0))
def test_descent_lemma_holds_on_logistic_regression(d, n, seed, ratio):
    problem, rng = random_logistic(d, n, seed)
    beta = problem.smoothness()
    eta = ratio / beta
    w = rng.normal(scale=2.0, size=d)
    g = problem.grad(w)
    bound = problem.loss(w) - descent_lemma_decrease(beta, eta) * (g @ g)
    assert problem.loss(w - eta * g) <= bound + 1e-9 * (1 + abs(bound))


@PROPERTY
@given(**sizes)
def test_secant_curvature_is_at_most_beta(d, n, seed):
    problem, rng = random_logistic(d, n, seed)
    beta = problem.smoothness()
    w = rng.normal(scale=2.0, size=d)
    delta = rng.normal(size=d) * rng.uniform(0.05, 5.0)
    assert secant_curvature(problem, w, delta) <= beta * (1 + 1e-6) + 1e-9


@PROPERTY
@given(**sizes, lr0_ratio=st.floats(0.5, 300.0), shrink=st.floats(0.2, 0.9),
       c=st.floats(1e-4, 0.9))
def test_backtracking_never_accepts_less_than_the_floor(d, n, seed, lr0_ratio, shrink, c):
    problem, rng = random_logistic(d, n, seed)
    beta = problem.smoothness()
    search = BacktrackingGD(lr0=lr0_ratio / beta, shrink=shrink, c=c)
    state, w = search.init(None), rng.normal(scale=2.0, size=d)
    floor = min(search.lr0, 2 * shrink * (1 - c) / beta)
    for _ in range(5):
        g = problem.grad(w)
        # Near the minimum the sufficient decrease c·η·‖g‖² drowns in the round-off of L,
        # and the bound (exact arithmetic) no longer applies to floating point.
        if c * floor * (g @ g) < 1e-9 * max(1.0, problem.loss(w)):
            break
        w = w + search.update(g, state, w, problem)
    assert not state.lrs or min(state.lrs) >= floor * (1 - 1e-12)


def test_the_best_guaranteed_step_is_one_over_beta():
    for beta in (0.25, 1.0, 229.0):
        etas = np.linspace(0.01, 2.0, 400) / beta
        values = [descent_lemma_decrease(beta, e) for e in etas]
        assert np.isclose(etas[int(np.argmax(values))] * beta, 1.0, atol=0.01)
        assert np.isclose(descent_lemma_decrease(beta, 1 / beta), 1 / (2 * beta))
        assert descent_lemma_decrease(beta, 2 / beta) == 0.0
