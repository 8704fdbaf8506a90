"""Public tests for the coding exercises of Chapter 7 (momentum and adaptive step sizes).

``ex-mom-rate``: ``momentum_rate(eta, gamma, lam)`` returns the spectral radius of the
heavy-ball iteration matrix of one eigen-direction,
:math:`T_\\lambda = \\begin{pmatrix} 1+\\gamma-\\eta\\lambda & -\\gamma \\\\ 1 & 0\\end{pmatrix}`,
i.e. the largest modulus of the roots of :math:`z^2 - (1+\\gamma-\\eta\\lambda)z + \\gamma`.

Expected values come from :mod:`optbook.bounds` where it has the formula (``gd_contraction``
at :math:`\\gamma = 0`, ``gd_rate`` through :math:`\\kappa`), from the closed forms the chapter
proves (:math:`\\sqrt\\gamma` in the complex band, :math:`(\\sqrt\\kappa-1)/(\\sqrt\\kappa+1)`
at Polyak's parameters), and otherwise from the roots of the characteristic polynomial.

``ex-mom-paired``: ``paired_interval(a, b, confidence=0.95)`` returns
``[mean, low, high]`` for the per-seed gaps :math:`d_i = a_i - b_i`: their mean and its
two-sided Student-t interval :math:`\\bar d \\pm t_{n-1,(1+c)/2}\\, s_d/\\sqrt n` (sample
standard deviation, ``ddof=1``), the interval of the book's paired verdicts. Expected values
come from :func:`optbook.stats.mean_interval` on the gaps.
"""

from __future__ import annotations

import numpy as np

from ..bounds import gd_contraction
from ..stats import mean_interval
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


def _paired(a, b, confidence: float = 0.95) -> np.ndarray:
    """[mean, low, high] of the gaps a - b (the reference values)."""
    gaps = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return np.array(mean_interval(gaps, confidence))


def _paired_cases() -> list[Case]:
    base = np.array([0.50, 0.55, 0.45, 0.60, 0.40])  # results that vary from seed to seed
    steady = base + np.array([0.02, 0.03, 0.01, 0.02, 0.02])  # ... and a steady gain on them
    ten_a = np.array([0.9, 1.1, 1.0, 1.3, 0.8, 1.2, 1.0, 0.95, 1.05, 1.1])
    ten_b = ten_a + np.array([0.1, -0.05, 0.2, 0.0, 0.15, 0.1, -0.1, 0.05, 0.12, 0.08])
    return [
        Case("two seeds, gaps 1 and 3 against a constant b: mean 2, ± t(0.975, 1 dof) = 12.71",
             (np.array([3.0, 5.0]), np.array([2.0, 2.0])),
             _paired([3.0, 5.0], [2.0, 2.0])),
        Case("the same gap 0.1 in every seed: an interval of zero width",
             (base + 0.1, base), np.array([0.1, 0.1, 0.1]), 1e-9, 1e-9),
        Case("both methods vary together from seed to seed: the gaps are steady (pair by seed)",
             (steady, base), _paired(steady, base)),
        Case("a below b in every seed: the gaps a − b are negative",
             (base, steady), _paired(base, steady)),
        Case("a 90 % interval (confidence = 0.9)", (steady, base, 0.9),
             _paired(steady, base, 0.9)),
        Case("ten seeds (9 degrees of freedom)", (ten_b, ten_a), _paired(ten_b, ten_a)),
    ]


exercise("ex-mom-paired", _paired_cases())
