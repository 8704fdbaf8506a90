"""Public tests for the coding exercises of Chapter 2 (the step-size bound)."""

from __future__ import annotations

import numpy as np

from ..bounds import best_step
from ..problems import LeastSquares, LogisticRegression, Quadratic, Rosenbrock
from . import Case, exercise


class MatrixFree:
    """A problem seen only through ``loss``, ``grad`` and ``hvp``, as in deep learning.

    The exercise asks for the best step without forming the Hessian, so the
    checker hides ``hessian``; asking for it raises an error that says why.
    """

    def __init__(self, problem, name: str):
        self._problem = problem
        self.dim = problem.dim
        self.name = name

    def loss(self, w):
        return self._problem.loss(w)

    def grad(self, w):
        return self._problem.grad(w)

    def hvp(self, w, v):
        return self._problem.hvp(w, v)

    def __getattr__(self, attr):
        if attr == "hessian":
            raise AttributeError("this exercise is matrix-free: the Hessian is not available, "
                                 "use one Hessian-vector product problem.hvp(w, v)")
        raise AttributeError(f"{type(self).__name__!s} has no attribute {attr!r}")

    def __repr__(self) -> str:
        return f"MatrixFree({self.name})"


def _best_step_cases() -> list[Case]:
    """Problems and points where the curvature along the gradient is positive."""
    rng = np.random.default_rng(2)
    lam = np.array([0.1, 1.0, 10.0])
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    quad = Quadratic((q * lam) @ q.T, rng.standard_normal(3))
    ls_under = LeastSquares(rng.standard_normal((4, 7)), rng.standard_normal(7))
    ls_over = LeastSquares(rng.standard_normal((8, 3)), rng.standard_normal(3))
    labels = np.where(rng.standard_normal(6) > 0, 1.0, -1.0)
    logistic = LogisticRegression(rng.standard_normal((3, 6)), labels)
    rosen = Rosenbrock()
    points = [
        ("a quadratic with eigenvalues 0.1, 1, 10", quad, rng.standard_normal(3)),
        ("least squares with n > d", ls_under, rng.standard_normal(4)),
        ("least squares with n < d (singular H)", ls_over, rng.standard_normal(8)),
        ("logistic regression (not quadratic)", logistic, rng.standard_normal(3)),
        ("Rosenbrock at w = (-1.2, 1)", rosen, np.array([-1.2, 1.0])),
        ("Rosenbrock at w = (1.5, 2)", rosen, np.array([1.5, 2.0])),
    ]
    cases = []
    for description, problem, w in points:
        g = problem.grad(w)
        expected = best_step(g, problem.hessian(w))
        assert np.isfinite(expected) and expected > 0, description  # positive curvature
        cases.append(Case(description, (MatrixFree(problem, description), w), expected,
                          rtol=1e-9, atol=0.0))
    return cases


exercise("ex-best-step-hvp", _best_step_cases())
