"""Tests of the public checks of Chapter 8's coding exercise (ex-sam-gradient).

The reference answer must pass every case; typical wrong answers must fail, each on a
case whose description points at the mistake.
"""

import numpy as np
import pytest

from optbook import check
from optbook.exercises import EXERCISES, _load_all
from optbook.exercises.ch08 import sam_reference

LABEL = "ex-sam-gradient"


def reference(grad, w, rho):
    g = grad(w)
    norm = np.linalg.norm(g)
    return grad(w + rho * g / norm) if norm > 0 else g


def unnormalised(grad, w, rho):
    """Slip: ε = ρ∇L, the notes' 'without loss of generality' version."""
    return grad(w + rho * grad(w))


def gradient_at_w(grad, w, rho):
    """Slip: forgets to move to the perturbed point."""
    return grad(w)


def descends_first(grad, w, rho):
    """Slip: the perturbation goes downhill, w − δ̂."""
    g = grad(w)
    norm = np.linalg.norm(g)
    return grad(w - rho * g / norm) if norm > 0 else g


def divides_by_zero(grad, w, rho):
    """Slip: no special case for ∇L(w) = 0 (0/0 gives NaN)."""
    g = grad(w)
    with np.errstate(all="ignore"):
        return grad(w + rho * g / np.linalg.norm(g))


def stub(grad, w, rho):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_cases_are_computed_by_optbook():
    for case in EXERCISES[LABEL]:
        grad, w, rho = case.args
        np.testing.assert_allclose(case.expected, sam_reference(grad, w, rho))


def test_reference_passes(capsys):
    result = check(LABEL, reference)
    assert result and result.score == 1.0


@pytest.mark.parametrize("wrong, words", [
    (unnormalised, "normalised to length ρ"),
    (gradient_at_w, "evaluated at w + δ̂"),
    (descends_first, "not at w − δ̂"),
    (divides_by_zero, "contains NaN"),
])
def test_typical_mistakes_fail_with_a_pointer(wrong, words, capsys):
    result = check(LABEL, wrong)
    assert not result
    assert any(words in line for line in result.failed), result.failed
    assert 0 < result.score < 1  # some cases pass: the feedback localises the mistake


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted and result.score == 0.0
