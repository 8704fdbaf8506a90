"""Public tests for the coding exercise of Chapter 9 (the edge of stability).

``ex-eos-edge``: ``stability_edge(T, lam_hi)`` takes a function ``T(lam)`` returning the
matrix of a method's linear iteration on :math:`L(w) = \\tfrac12\\lambda w^2` and a
:math:`\\lambda_{hi}` at which the method is unstable, and returns the largest stable
sharpness, :math:`\\sup\\{\\lambda\\in(0,\\lambda_{hi}) : \\rho(T(\\lambda)) < 1\\}`.

The expected values are the thresholds the chapter proves (:func:`optbook.eos.threshold`):
:math:`2/\\eta`, :math:`(2+2\\gamma)/\\eta`, :math:`(2+2\\gamma)/((1-\\tau)\\eta)` and
:math:`(2+2\\beta_1)/((1-\\beta_1)\\eta)`.
"""

from __future__ import annotations

from functools import partial

from ..eos import iteration_matrix, threshold
from ..optimizers import GD, Adam, Momentum
from . import Case, exercise


class IterationMatrix:
    """``T(lam)`` for one optimiser, named after it (the feedback shows the name)."""

    def __init__(self, optimizer, name: str):
        self._T = partial(iteration_matrix, optimizer)
        self.name = name

    def __call__(self, lam):
        return self._T(lam)

    def __repr__(self) -> str:
        return f"T for {self.name}"


def _edge_cases() -> list[Case]:
    methods = [
        ("gradient descent, η = 0.1 (edge 2/η)", GD(0.1), 3.0),
        ("gradient descent, η = 0.004", GD(0.004), 10.0),
        ("heavy ball, η = 0.1, γ = 0.5 (edge (2+2γ)/η)", Momentum(0.1, 0.5), 3.0),
        ("heavy ball, η = 0.02, γ = 0.9", Momentum(0.02, 0.9), 5.0),
        ("heavy ball with dampening τ = 0.9, η = 0.05, γ = 0.9", Momentum(0.05, 0.9, 0.9), 4.0),
        ("Adam with a frozen preconditioner, η = 0.004, β₁ = 0.9 (edge 38/η)",
         Adam(0.004, 0.9), 3.0),
        ("Adam with a frozen preconditioner, η = 0.001, β₁ = 0.99", Adam(0.001, 0.99), 20.0),
    ]
    return [Case(description, (IterationMatrix(opt, description), factor * threshold(opt)),
                 threshold(opt), rtol=1e-7, atol=0.0)
            for description, opt, factor in methods]


exercise("ex-eos-edge", _edge_cases())
