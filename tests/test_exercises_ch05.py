"""Tests of the public checks of Chapter 5's coding exercise (ex-pl-constant).

The reference answer must pass every case; typical wrong answers must fail,
with a hint that points at the mistake.
"""

import numpy as np
import pytest

from optbook import check
from optbook.exercises import EXERCISES, _load_all

LABEL = "ex-pl-constant"


def pl_star_mu(DF):
    """The reference answer: the smallest eigenvalue of the tangent kernel DF DFᵀ."""
    return float(np.linalg.eigvalsh(DF @ DF.T)[0])


def notes_factor_two(DF):
    """Slip (the notes' normalisation): 2 λ_min(K), the constant of ‖∇L‖² ≥ μ L."""
    return 2 * pl_star_mu(DF)


def transposed_kernel(DF):
    """Slip: λ_min of DFᵀ DF (d × d, singular when d > n) instead of DF DFᵀ."""
    return float(np.linalg.eigvalsh(DF.T @ DF)[0])


def largest_eigenvalue(DF):
    """Slip: λ_max(K), the smoothness-like constant, instead of λ_min."""
    return float(np.linalg.eigvalsh(DF @ DF.T)[-1])


def stub(DF):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def _registered():
    _load_all()
    assert LABEL in EXERCISES


def test_cases_cover_linear_and_network_models():
    cases = EXERCISES[LABEL]
    assert len(cases) >= 4
    text = " ".join(c.description for c in cases)
    assert "least squares" in text and "network" in text
    for case in cases:
        (DF,) = case.args
        assert DF.shape[0] < DF.shape[1]  # overparameterized: n < d
        assert case.expected > 1e-8  # PL* holds: K is positive definite


def test_reference_solution_passes(capsys):
    result = check(LABEL, pl_star_mu)
    assert result and result.score == 1.0
    n = len(EXERCISES[LABEL])
    assert f"{n} of {n} checks passed" in capsys.readouterr().out


def test_factor_two_fails_with_a_factor_two_hint(capsys):
    result = check(LABEL, notes_factor_two)
    assert not result and result.score == 0.0
    assert "factor of 2" in capsys.readouterr().out


def test_transposed_kernel_fails(capsys):
    result = check(LABEL, transposed_kernel)
    assert not result and result.score == 0.0
    assert "values differ" in capsys.readouterr().out


def test_largest_eigenvalue_fails(capsys):
    result = check(LABEL, largest_eigenvalue)
    assert not result and result.score == 0.0
    assert "values differ" in capsys.readouterr().out


def test_stub_is_not_attempted(capsys):
    result = check(LABEL, stub)
    assert not result.attempted
    assert "not attempted" in capsys.readouterr().out
