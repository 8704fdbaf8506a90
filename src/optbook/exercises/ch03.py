"""Public tests for the coding exercises of Chapter 3 (β-smoothness and the descent lemma)."""

from __future__ import annotations

import numpy as np

from ..problems import LogisticRegression, Quadratic, Rosenbrock
from ..spectral import rayleigh_quotient
from ..taylor import taylor_model
from . import Case, exercise


def _secant(problem, w, delta) -> float:
    r""":math:`2(L(w+\Delta) - m_1(\Delta))/\|\Delta\|^2`, from optbook's first-order model."""
    m1 = taylor_model(problem, w, order=1)
    return float(2 * (problem.loss(w + delta) - m1(delta)) / (delta @ delta))


def _secant_curvature_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    cases = []
    # On a quadratic the secant curvature is the Rayleigh quotient of H, whatever w.
    A = rng.standard_normal((3, 3))
    indefinite = Quadratic((A + A.T) / 2, rng.standard_normal(3))
    convex = Quadratic(np.array([[4.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0]))
    quadratics = (("indefinite quadratic, d = 3", indefinite), ("convex quadratic, d = 2", convex))
    for name, q in quadratics:
        w, delta = rng.standard_normal(q.dim), rng.standard_normal(q.dim)
        cases.append(Case(f"{name} (q̄ = ΔᵀHΔ/‖Δ‖²)", (q, w, delta),
                          rayleigh_quotient(q, w, delta), rtol=1e-6, atol=1e-9))
    logistic = LogisticRegression(rng.standard_normal((3, 40)), rng.choice([-1.0, 1.0], 40))
    for scale in (0.3, 2.0):
        w, delta = rng.standard_normal(3), scale * rng.standard_normal(3)
        cases.append(Case(f"logistic regression, d = 3, |Δ| ≈ {scale}", (logistic, w, delta),
                          _secant(logistic, w, delta), rtol=1e-6, atol=1e-9))
    rosenbrock = Rosenbrock()
    w, delta = np.array([-1.2, 1.0]), np.array([0.1, -0.05])
    cases.append(Case("Rosenbrock at w = [-1.2, 1.0]", (rosenbrock, w, delta),
                      _secant(rosenbrock, w, delta), rtol=1e-6, atol=1e-9))
    return cases


exercise("ex-secant-curvature", _secant_curvature_cases())
