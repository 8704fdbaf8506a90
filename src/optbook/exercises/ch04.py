"""Public tests for the coding exercise of Chapter 4 (convergence rates).

``ex-rates-contraction``: ``gd_contraction(H, eta)`` returns
:math:`\\rho(\\eta) = \\max_i |1 - \\eta\\lambda_i(H)|`, the factor by which one step of
gradient descent can multiply the distance to the minimiser of a quadratic.
Expected values come from :mod:`optbook.bounds` where it has the formula
(:math:`1 - 1/\\kappa` at :math:`\\eta = 1/\\beta`, ``gd_rate`` at ``optimal_fixed_step``),
and from the eigenvalues (:mod:`optbook.spectral`) of the iteration matrix
:math:`I - \\eta H` elsewhere.
"""

from __future__ import annotations

import numpy as np

from ..bounds import gd_rate, max_stable_step, optimal_fixed_step
from ..problems import LeastSquares
from ..spectral import condition_number, eigenvalues, lambda_max
from . import Case, exercise


def _iteration_matrix_radius(H: np.ndarray, eta: float) -> float:
    """The spectral radius of :math:`I - \\eta H` (symmetric, so its largest |eigenvalue|)."""
    return float(np.max(np.abs(eigenvalues(np.eye(H.shape[0]) - eta * H))))


def _contraction_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    H2 = np.diag([10.0, 1.0])
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    H4 = (q * np.array([0.5, 1.0, 3.0, 8.0])) @ q.T
    H4 = 0.5 * (H4 + H4.T)
    H_iso = 4.0 * np.eye(3)
    H_ls = LeastSquares(rng.standard_normal((5, 3)), rng.standard_normal(3)).hessian()
    H_ls = 0.5 * (H_ls + H_ls.T)
    beta_ls = lambda_max(H_ls)
    return [
        Case("H = diag(10, 1) at η = 1/β: the slow mode (λ_min) decides, ρ = 1 − 1/κ",
             (H2, 0.1), 1 - 1 / condition_number(H2)),
        Case("H = diag(10, 1) at η* = 2/(λ_max + λ_min): ρ = (κ − 1)/(κ + 1)",
             (H2, optimal_fixed_step(H2)), gd_rate(H2)),
        Case("a 4×4 positive definite H (eigenvalues 0.5 to 8) at its η*",
             (H4, optimal_fixed_step(H4)), gd_rate(H4)),
        Case("H = diag(10, 1) at η = 2/λ_max, the stability limit: the fast mode is "
             "multiplied by 1 − 2 = −1",
             (H2, max_stable_step(H2)), _iteration_matrix_radius(H2, max_stable_step(H2))),
        Case("H = 4I at η = 1: every mode is multiplied by 1 − 4 = −3",
             (H_iso, 1.0), _iteration_matrix_radius(H_iso, 1.0)),
        Case("H = diag(10, 1) at η = 0.3 > 2/λ_max: the fast mode is multiplied by −2",
             (H2, 0.3), _iteration_matrix_radius(H2, 0.3)),
        Case("a singular least-squares Hessian ΦΦᵀ (n < d) at η = 1/β: λ_min = 0 gives ρ = 1",
             (H_ls, 1 / beta_ls), _iteration_matrix_radius(H_ls, 1 / beta_ls), atol=1e-10),
    ]


exercise("ex-rates-contraction", _contraction_cases())
