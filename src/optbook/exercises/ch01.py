"""Public tests for the coding exercises of Chapter 1 (the second-order model)."""

from __future__ import annotations

import numpy as np

from ..problems import LeastSquares, Rosenbrock
from . import Case, exercise


def _hessian_cases() -> list[Case]:
    rng = np.random.default_rng(1)
    ls = LeastSquares(rng.standard_normal((3, 5)), rng.standard_normal(5))
    rb = Rosenbrock()
    rb4 = Rosenbrock(dim=4)
    cases = []
    for w in (np.array([-1.2, 1.0]), np.array([1.0, 1.0]), np.array([0.3, -0.4])):
        cases.append(Case(f"Rosenbrock at w = {w.tolist()}", (rb.grad, w, 1e-5),
                          rb.hessian(w), rtol=1e-5, atol=1e-4))
    w4 = np.array([0.5, -0.2, 0.9, 1.1])
    cases.append(Case("Rosenbrock in 4 dimensions", (rb4.grad, w4, 1e-5), rb4.hessian(w4),
                      rtol=1e-5, atol=1e-4))
    w3 = rng.standard_normal(3)
    cases.append(Case("least squares (H = ΦΦᵀ)", (ls.grad, w3, 1e-5), ls.hessian(w3),
                      rtol=1e-6, atol=1e-6))
    return cases


exercise("ex-hessian-fd", _hessian_cases())
