"""Tests of optbook.exercises: automatic feedback on the coding exercises.

``check`` runs an exercise's public cases on a student's function and must
give useful feedback for typical mistakes (a factor of 2, a wrong shape, a
stub, a crash) without ever crashing itself; ``diagnose`` produces the hints.
"""

import numpy as np
import pytest

from optbook import check as check_from_package
from optbook.exercises import EXERCISES, Case, Result, check, diagnose, exercise

LABEL = "ex-hessian-fd"


def hessian_fd(grad, w, r):
    """A correct answer: column i is [g(w + r e_i) - g(w - r e_i)] / (2r)."""
    d = len(w)
    H = np.empty((d, d))
    for i in range(d):
        e = np.zeros(d)
        e[i] = r
        H[:, i] = (grad(w + e) - grad(w - e)) / (2 * r)
    return H


def hessian_fd_over_r(grad, w, r):
    """The classic slip: dividing by r instead of 2r."""
    return 2 * hessian_fd(grad, w, r)


def hessian_fd_flat(grad, w, r):
    return hessian_fd(grad, w, r).ravel()


def hessian_fd_only_2d(grad, w, r):
    """Hard-codes d = 2: crashes on the larger problems."""
    H = np.empty((2, 2))
    for i in range(2):
        e = np.zeros(2)
        e[i] = r
        H[:, i] = (grad(w + e) - grad(w - e)) / (2 * r)
    return H


def stub(grad, w, r):
    raise NotImplementedError


# --------------------------------------------------------------------------
# check on the Chapter 1 exercise
# --------------------------------------------------------------------------

def test_exercise_is_exported_at_package_level():
    assert check_from_package is check


def test_correct_answer_passes(capsys):
    result = check(LABEL, hessian_fd)
    assert isinstance(result, Result)
    assert result
    assert result.attempted
    assert result.score == 1.0
    assert result.failed == []
    assert len(result.passed) == len(EXERCISES[LABEL]) >= 3
    out = capsys.readouterr().out
    n = len(result.passed)
    assert f"{n} of {n} checks passed" in out
    assert "✘" not in out


def test_dividing_by_r_instead_of_2r_gets_a_factor_of_2_hint(capsys):
    result = check(LABEL, hessian_fd_over_r)
    assert not result
    assert result.score == 0.0
    assert result.failed
    for line in result.failed:
        assert "factor of 2" in line, line
    assert "factor of 2" in capsys.readouterr().out


def test_wrong_shape_is_reported(capsys):
    result = check(LABEL, hessian_fd_flat)
    assert not result
    for line in result.failed:
        assert "shape" in line, line
    assert "shape (4,), expected (2, 2)" in capsys.readouterr().out


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted
    assert not result
    assert result.score == 0.0
    out = capsys.readouterr().out
    assert "not attempted yet" in out
    assert LABEL in out


def test_other_exceptions_are_reported_not_raised(capsys):
    def crashes(grad, w, r):
        return 1 / 0

    result = check(LABEL, crashes)
    assert result.attempted
    assert not result
    assert len(result.failed) == len(EXERCISES[LABEL])
    assert all("raised ZeroDivisionError" in line for line in result.failed)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_partly_correct_answer_gets_a_partial_score():
    result = check(LABEL, hessian_fd_only_2d)
    assert not result
    assert 0 < result.score < 1
    assert result.score == len(result.passed) / len(EXERCISES[LABEL])
    assert any("Rosenbrock at" in line for line in result.passed)


def test_numpy_warnings_in_an_answer_become_feedback():
    def divides_by_zero(grad, w, r):
        return hessian_fd(grad, w, r) / 0.0  # inf, and a RuntimeWarning if not silenced

    result = check(LABEL, divides_by_zero)
    assert not result
    assert all("NaN or inf" in line for line in result.failed)


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="ex-no-such"):
        check("ex-no-such", hessian_fd)


def test_non_callable_answer_raises():
    with pytest.raises(ValueError, match="function"):
        check(LABEL, np.eye(2))


# --------------------------------------------------------------------------
# check on an exercise registered by the test
# --------------------------------------------------------------------------

@pytest.fixture
def doubling(monkeypatch):
    """Register a tiny exercise 'ex-double' for the duration of a test."""
    cases = [Case("x = 1", (1.0,), 2.0), Case("x = 3", (3.0,), 6.0),
             Case("a vector", (np.array([1.0, -2.0]),), np.array([2.0, -4.0]))]
    monkeypatch.setitem(EXERCISES, "ex-double", cases)
    return "ex-double"


def test_report_lists_passed_and_failed_cases(doubling, capsys):
    result = check(doubling, lambda x: 2 * x if np.ndim(x) == 0 else x)
    assert result.passed == ["x = 1", "x = 3"]
    assert len(result.failed) == 1 and result.failed[0].startswith("a vector: ")
    assert result.score == pytest.approx(2 / 3)
    out = capsys.readouterr().out
    assert "2 of 3 checks passed" in out
    assert "  ✔ x = 1" in out
    assert "  ✘ a vector" in out
    assert repr(result) == result.report()


def test_stub_raising_later_still_counts_as_not_attempted(doubling):
    def partial(x):
        if np.ndim(x):
            raise NotImplementedError("vectors")
        return 2 * x

    assert not check(doubling, partial).attempted


def test_registering_a_label_twice_raises(doubling):
    with pytest.raises(ValueError, match="twice"):
        exercise(doubling, [])


# --------------------------------------------------------------------------
# diagnose
# --------------------------------------------------------------------------

A = np.array([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("answer, expected", [
    (1.0, 1.0),
    (A, A),
    (A + 1e-9, A),
    ([1, 2], np.array([1.0, 2.0])),
    (np.float32(0.5), 0.5),
])
def test_diagnose_returns_none_on_a_match(answer, expected):
    assert diagnose(answer, expected) is None


def test_diagnose_respects_tolerances():
    assert diagnose(1.001, 1.0) is not None
    assert diagnose(1.001, 1.0, rtol=1e-2) is None
    assert diagnose(1e-9, 0.0, atol=1e-8) is None


def test_diagnose_shape():
    assert diagnose(np.ones(3), np.ones(2)) == "shape (3,), expected (2,)"
    assert diagnose(np.ones((2, 2)), 1.0) == "shape (2, 2), expected ()"


def test_diagnose_transposed_shape():
    hint = diagnose(np.ones((3, 2)), np.ones((2, 3)))
    assert "shape (3, 2), expected (2, 3)" in hint
    assert "transpose" in hint


def test_diagnose_transposed_values():
    assert "transpose" in diagnose(A.T, A)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_diagnose_nan_and_inf(bad):
    answer = A.copy()
    answer[0, 1] = bad
    assert "NaN or inf" in diagnose(answer, A)


@pytest.mark.parametrize("factor, word", [(2.0, "twice"), (0.5, "half")])
def test_diagnose_factor_of_2(factor, word):
    hint = diagnose(factor * A, A)
    assert word in hint
    assert "factor of 2" in hint


def test_diagnose_sign():
    hint = diagnose(-A, A)
    assert "minus" in hint
    assert "sign" in hint


def test_diagnose_other_differences_give_the_largest_difference():
    hint = diagnose(A + np.array([[0.0, 0.5], [0.0, 0.0]]), A)
    assert "largest difference 0.5" in hint


def test_diagnose_no_factor_hint_for_a_zero_expected_value():
    hint = diagnose(np.ones(2), np.zeros(2))
    assert "factor" not in hint and "largest difference 1" in hint


def test_diagnose_non_numbers():
    assert diagnose("abc", 1.0) == "expected a number or an array, got str"
    assert "got dict" in diagnose({"a": 1}, 1.0)


@pytest.mark.parametrize("expected", [1.0, A], ids=["scalar", "matrix"])
def test_diagnose_names_a_missing_return_value(expected):
    # A function without `return` gives None: the hint should say so, not "NaN".
    hint = diagnose(None, expected)
    assert "None" in hint, hint
