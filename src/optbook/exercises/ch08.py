"""Public tests for the coding exercise of Chapter 8 (sharpness-aware methods).

``ex-sam-gradient``: the SAM gradient :math:`\\nabla L(w + \\hat\\delta)`,
:math:`\\hat\\delta = \\rho\\,\\nabla L(w)/\\|\\nabla L(w)\\|` (0 when the gradient is 0).
Every expected value is computed by optbook: the gradient of the problem at
``w + optbook.sharpness.sam_perturbation(grad(w), rho)``. The descriptions say what each
case tests, so a failing line points at the mistake.
"""

from __future__ import annotations

import numpy as np

from ..problems import Quadratic, Rosenbrock
from ..sharpness import sam_perturbation
from ..toys import TwoBasins
from . import Case, exercise


def sam_reference(grad, w, rho) -> np.ndarray:
    """The expected answer, from optbook's SAM perturbation."""
    w = np.asarray(w, dtype=float)
    return np.asarray(grad(w + sam_perturbation(grad(w), rho)), dtype=float)


def _cases() -> list[Case]:
    rb = Rosenbrock()
    quad = Quadratic(np.diag([10.0, 1.0]), b=np.zeros(2))
    basins = TwoBasins()
    rng = np.random.default_rng(8)
    A = rng.standard_normal((3, 3))
    quad3 = Quadratic(A @ A.T + np.eye(3), b=rng.standard_normal(3))
    unit = np.array([0.06, 0.8])  # ∇L = (0.6, 0.8): norm exactly 1
    cases = [
        (rb, np.array([-1.2, 1.0]), 0.05,
         "Rosenbrock at (-1.2, 1), ρ = 0.05: ‖∇L(w)‖ ≈ 232, so the perturbation must be "
         "normalised to length ρ (not ρ∇L)"),
        (quad, unit, 0.1,
         "quadratic with ‖∇L(w)‖ = 1, ρ = 0.1 (normalised and unnormalised agree here)"),
        (quad, np.array([1.0, -2.0]), 0.0, "ρ = 0: the SAM gradient is ∇L(w) itself"),
        (quad, np.zeros(2), 0.3,
         "at a minimum, ∇L(w) = 0: then δ̂ = 0 and the answer is ∇L(w) = 0 "
         "(no division by zero)"),
        (basins, np.array([-0.8, 0.3]), 0.3,
         "two basins, ρ = 0.3: the gradient is evaluated at w + δ̂ (not at w, not at w − δ̂)"),
        (quad3, rng.standard_normal(3), 0.2, "a 3-dimensional quadratic, ρ = 0.2"),
    ]
    return [Case(text, (problem.grad, w, rho), sam_reference(problem.grad, w, rho),
                 rtol=1e-8, atol=1e-10) for problem, w, rho, text in cases]


exercise("ex-sam-gradient", _cases())
