r"""Eigenvalues of a symmetric matrix (a Hessian) and the condition number.

.. math::
    \lambda_{\max}(H) = \max_{v\neq 0} \frac{v^\top H v}{v^\top v}, \qquad
    \lambda_{\min}(H) = \min_{v\neq 0} \frac{v^\top H v}{v^\top v}, \qquad
    \kappa(H) = \frac{\lambda_{\max}(H)}{\lambda_{\min}(H)} .

The maximum and minimum of the Rayleigh quotient are the extreme eigenvalues
(Horn & Johnson 2013, Thm 4.2.2). These helpers form the matrix; the
matrix-free estimates for large models live in ``optbook.hessian``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_symmetric, as_vector, check_problem

__all__ = ["eigenvalues", "lambda_max", "lambda_min", "condition_number", "rayleigh_quotient"]


def eigenvalues(H) -> np.ndarray:
    """The eigenvalues of the symmetric matrix ``H``, in increasing order."""
    return np.linalg.eigvalsh(as_symmetric(H, "H"))


def lambda_max(H) -> float:
    r""":math:`\lambda_{\max}(H)`, the largest eigenvalue (the sharpness of a Hessian)."""
    return float(eigenvalues(H)[-1])


def lambda_min(H) -> float:
    r""":math:`\lambda_{\min}(H)`, the smallest eigenvalue."""
    return float(eigenvalues(H)[0])


def condition_number(H) -> float:
    r""":math:`\kappa = \lambda_{\max}/\lambda_{\min}` of a positive semi-definite ``H``.

    It is ``inf`` when ``H`` is singular (``λ_min = 0``, up to round-off
    ``1e-12 λ_max``). Raises ``ValueError`` if ``H`` has a negative eigenvalue:
    then no step size makes gradient descent converge from every start.
    """
    lam = eigenvalues(H)
    scale = max(abs(lam[-1]), 1e-300)
    if lam[0] < -1e-12 * scale:
        raise ValueError(f"H must be positive semi-definite for a condition number; "
                         f"its smallest eigenvalue is {lam[0]:.3g}")
    if lam[0] <= 1e-12 * scale:
        return float("inf")
    return float(lam[-1] / lam[0])


def rayleigh_quotient(problem, w, v) -> float:
    r""":math:`v^\top H(w)\, v / v^\top v`, the curvature of the loss along ``v`` at ``w``.

    Matrix-free (one Hessian-vector product). Along :math:`v = g` it is the local
    curvature that decides whether a gradient step decreases the loss; it never
    exceeds :math:`\lambda_{\max}(H(w))`, the worst case over all directions.
    """
    check_problem(problem)
    w = as_vector(w, "w", dim=problem.dim)
    v = as_vector(v, "v", dim=problem.dim)
    vv = float(v @ v)
    if vv == 0:
        raise ValueError("v must be nonzero")
    return float(v @ problem.hvp(w, v)) / vv
