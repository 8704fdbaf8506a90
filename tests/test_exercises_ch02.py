"""Tests of the public checks of Chapter 2's coding exercise (ex-best-step-hvp).

The reference answer must pass every case; typical wrong answers must fail
every case, each with a hint that points at the mistake.
"""

import numpy as np
import pytest

from optbook import LeastSquares, Quadratic, Rosenbrock, check
from optbook.bounds import best_step
from optbook.exercises import EXERCISES, _load_all
from optbook.exercises.ch02 import MatrixFree

LABEL = "ex-best-step-hvp"


def best_step_hvp(problem, w):
    """The reference answer: g^T g / g^T H g with one Hessian-vector product."""
    g = problem.grad(w)
    return float(g @ g) / float(g @ problem.hvp(w, g))


def largest_decreasing_step(problem, w):
    """Slip: 2 g^T g / g^T H g, the end of the decreasing interval, not its middle."""
    return 2 * best_step_hvp(problem, w)


def negative_step(problem, w):
    """Slip: a sign error, -g^T g / g^T H g."""
    return -best_step_hvp(problem, w)


def returns_the_update(problem, w):
    """Slip: returns the step vector -eta g instead of the step size eta."""
    return -best_step_hvp(problem, w) * problem.grad(w)


def uses_the_hessian(problem, w):
    """Forms the Hessian, which a matrix-free problem does not have."""
    g = problem.grad(w)
    return float(g @ g) / float(g @ problem.hessian(w) @ g)


def inverted(problem, w):
    """Slip: the Rayleigh quotient g^T H g / g^T g instead of its inverse."""
    return 1.0 / best_step_hvp(problem, w)


def stub(problem, w):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_there_are_enough_cases_of_several_kinds():
    cases = EXERCISES[LABEL]
    assert len(cases) >= 5
    descriptions = " ".join(c.description for c in cases)
    for kind in ("quadratic", "least squares", "logistic", "Rosenbrock"):
        assert kind in descriptions


def test_expected_values_are_optbooks_best_step():
    for case in EXERCISES[LABEL]:
        problem, w = case.args
        expected = best_step(problem.grad(w), problem._problem.hessian(w))
        assert case.expected == pytest.approx(expected, rel=1e-12)
        assert np.isfinite(case.expected) and case.expected > 0


def test_reference_solution_passes(capsys):
    result = check(LABEL, best_step_hvp)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_factor_of_two_is_named(capsys):
    result = check(LABEL, largest_decreasing_step)
    assert not result and result.score == 0.0
    assert all("twice" in line and "factor of 2" in line for line in result.failed)
    assert "factor of 2" in capsys.readouterr().out


def test_sign_error_is_named():
    result = check(LABEL, negative_step)
    assert not result and result.score == 0.0
    assert all("minus" in line and "sign" in line for line in result.failed)


def test_returning_the_update_vector_gets_a_shape_hint():
    result = check(LABEL, returns_the_update)
    assert not result and result.score == 0.0
    assert all("shape" in line and "expected ()" in line for line in result.failed)


def test_forming_the_hessian_is_explained():
    result = check(LABEL, uses_the_hessian)
    assert not result and result.attempted
    assert all("matrix-free" in line and "hvp" in line for line in result.failed)


def test_inverted_quotient_fails_with_the_size_of_the_error():
    result = check(LABEL, inverted)
    assert not result and result.score == 0.0
    assert all("largest difference" in line for line in result.failed)


def test_stub_is_not_attempted():
    result = check(LABEL, stub)
    assert not result.attempted and not result


def test_matrix_free_wrapper_forwards_and_hides_the_hessian():
    rng = np.random.default_rng(0)
    problem = LeastSquares(rng.standard_normal((3, 4)), rng.standard_normal(4))
    wrapped = MatrixFree(problem, "ls")
    w, v = rng.standard_normal(3), rng.standard_normal(3)
    assert wrapped.dim == 3
    assert wrapped.loss(w) == problem.loss(w)
    np.testing.assert_array_equal(wrapped.grad(w), problem.grad(w))
    np.testing.assert_array_equal(wrapped.hvp(w, v), problem.hvp(w, v))
    with pytest.raises(AttributeError, match="matrix-free"):
        wrapped.hessian(w)
    with pytest.raises(AttributeError, match="no attribute"):
        wrapped.kernel()
    assert "ls" in repr(wrapped)


@pytest.mark.parametrize("problem, w", [
    (Quadratic(np.diag([1.0, 4.0])), np.array([1.0, 1.0])),
    (Rosenbrock(), np.array([-1.2, 1.0])),
])
def test_reference_answer_is_the_minimiser_along_minus_g(problem, w):
    """The best step minimises the quadratic model of the loss along -g."""
    eta = best_step_hvp(MatrixFree(problem, "p"), w)
    g = problem.grad(w)
    model = [-e * g @ g + 0.5 * e**2 * g @ problem.hvp(w, g) for e in (0.9 * eta, eta, 1.1 * eta)]
    assert model[1] < model[0] and model[1] < model[2]
