"""Public tests for the coding exercise of Chapter 7 (momentum and adaptive step sizes).

``ex-mom-rate``: ``momentum_rate(eta, gamma, lam)`` returns the spectral radius of the
heavy-ball iteration matrix of one eigen-direction,
:math:`T_\\lambda = \\begin{pmatrix} 1+\\gamma-\\eta\\lambda & -\\gamma \\\\ 1 & 0\\end{pmatrix}`,
i.e. the largest modulus of the roots of :math:`z^2 - (1+\\gamma-\\eta\\lambda)z + \\gamma`.

Expected values come from :mod:`optbook.bounds` where it has the formula (``gd_contraction``
at :math:`\\gamma = 0`, ``gd_rate`` through :math:`\\kappa`), from the closed forms the chapter
proves (:math:`\\sqrt\\gamma` in the complex band, :math:`(\\sqrt\\kappa-1)/(\\sqrt\\kappa+1)`
at Polyak's parameters), and otherwise from the roots of the characteristic polynomial.
"""

from __future__ import annotations

import numpy as np

from ..bounds import gd_contraction
from . import Case, exercise


def _root_radius(eta: float, gamma: float, lam: float) -> float:
    """Largest modulus of the roots of z^2 - (1 + gamma - eta lam) z + gamma."""
    return float(np.max(np.abs(np.roots([1.0, -(1.0 + gamma - eta * lam), gamma]))))


def _polyak(kappa: float) -> tuple[float, float, float]:
    """Polyak's (eta, gamma) for eigenvalues in [1/kappa, 1], and the rate."""
    s = np.sqrt(kappa)
    return 4.0 / (1.0 + 1.0 / s) ** 2, ((s - 1) / (s + 1)) ** 2, (s - 1) / (s + 1)


def _rate_cases() -> list[Case]:
    eta_p, gamma_p, rho_p = _polyak(100.0)
    return [
        Case("γ = 0 is gradient descent: ρ = |1 − ηλ| = gd_contraction (η = 0.5, λ = 1)",
             (0.5, 0.0, 1.0), gd_contraction(np.eye(1), 0.5)),
        Case("γ = 0, η = 1.5, λ = 1: the mode flips sign, ρ = |1 − 1.5| = 0.5",
             (1.5, 0.0, 1.0), gd_contraction(np.eye(1), 1.5)),
        Case("complex band (η = 1, γ = 0.64, λ = 1): ρ = √γ = 0.8",
             (1.0, 0.64, 1.0), float(np.sqrt(0.64))),
        Case("Polyak's parameters, κ = 100, λ = μ = 0.01 (a double root): ρ = (√κ−1)/(√κ+1)",
             (eta_p, gamma_p, 0.01), rho_p, 1e-6),
        Case("Polyak's parameters, κ = 100, λ = λ_max = 1 (a double root): ρ = (√κ−1)/(√κ+1)",
             (eta_p, gamma_p, 1.0), rho_p, 1e-6),
        Case("real roots, slow mode (η = 0.1, γ = 0.5, λ = 0.1): ρ is the larger root",
             (0.1, 0.5, 0.1), _root_radius(0.1, 0.5, 0.1)),
        Case("past the stability limit ηλ = 2(1+γ) (η = 3.5, γ = 0.5, λ = 1): ρ > 1, divergence",
             (3.5, 0.5, 1.0), _root_radius(3.5, 0.5, 1.0)),
        Case("inside the stability limit although ηλ > 2 (η = 2.8, γ = 0.5, λ = 1): ρ < 1",
             (2.8, 0.5, 1.0), _root_radius(2.8, 0.5, 1.0)),
    ]


exercise("ex-mom-rate", _rate_cases())
