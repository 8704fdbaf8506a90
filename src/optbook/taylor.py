r"""First- and second-order Taylor models of a loss at a point.

.. math::
    m_1(\Delta) = L(w) + g^\top\Delta, \qquad
    m_2(\Delta) = L(w) + g^\top\Delta + \tfrac12\,\Delta^\top H\,\Delta,

with :math:`g = \nabla L(w)` and :math:`H = \nabla^2 L(w)`. For a loss with
continuous third derivatives, :math:`L(w+\Delta) - m_2(\Delta) = O(\|\Delta\|^3)`
(Taylor's theorem, e.g. Nocedal & Wright 2006, Thm 2.1); for a quadratic it is 0.
Only ``loss``, ``grad`` and ``hvp`` of the problem are used: no Hessian is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_count, as_scalar, as_vector, check_problem

__all__ = ["TaylorModel", "taylor_model", "along", "upper_model"]


@dataclass(frozen=True)
class TaylorModel:
    r"""The Taylor model of order 1 or 2 of a problem at the point ``w``.

    Call it on a displacement :math:`\Delta` (shape ``(d,)``) or a stack of
    displacements (shape ``(k, d)``) to get :math:`m(\Delta)`.
    """

    problem: object
    w: np.ndarray
    order: int
    value: float  # L(w)
    g: np.ndarray  # gradient at w

    def __call__(self, delta) -> float | np.ndarray:
        delta = np.asarray(delta, dtype=float)
        if delta.ndim == 1:
            return self._one(as_vector(delta, "delta", dim=self.w.size))
        if delta.ndim == 2 and delta.shape[1] == self.w.size:
            if not np.all(np.isfinite(delta)):
                raise ValueError("delta must contain only finite numbers (no NaN or inf)")
            return np.array([self._one(row) for row in delta])
        raise ValueError(f"delta must have shape ({self.w.size},) or (k, {self.w.size}), "
                         f"got {delta.shape}")

    def _one(self, delta: np.ndarray) -> float:
        m = self.value + self.g @ delta
        if self.order == 2:
            m += 0.5 * delta @ self.problem.hvp(self.w, delta)
        return float(m)


def taylor_model(problem, w, order: int = 2) -> TaylorModel:
    """The Taylor model of ``problem`` at ``w`` of the given ``order`` (1 or 2)."""
    check_problem(problem)
    w = as_vector(w, "w", dim=problem.dim)
    order = as_count(order, "order")
    if order > 2:
        raise ValueError(f"order must be 1 or 2, got {order}")
    return TaylorModel(problem, w.copy(), order, float(problem.loss(w)), problem.grad(w))


def along(problem, w, u, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The loss and its two Taylor models on the line :math:`w + s\,u`.

    On a line the models are polynomials in :math:`s`,
    :math:`m_1(s) = L + s\,g^\top u` and :math:`m_2(s) = m_1(s) + \tfrac12 s^2\,u^\top H u`,
    so one Hessian-vector product serves every ``s``.

    Args:
        problem: the loss.
        w: the expansion point, shape ``(d,)``.
        u: the direction, shape ``(d,)`` (not normalised).
        s: step lengths, any shape.

    Returns:
        ``(L(w + s u), m_1(s), m_2(s))``, each with the shape of ``s``.
    """
    check_problem(problem)
    w = as_vector(w, "w", dim=problem.dim)
    u = as_vector(u, "u", dim=problem.dim)
    s = np.asarray(s, dtype=float)
    if not np.all(np.isfinite(s)):
        raise ValueError("s must contain only finite numbers")
    value, slope, curvature = problem.loss(w), problem.grad(w) @ u, u @ problem.hvp(w, u)
    true = np.array([problem.loss(w + si * u) for si in s.ravel()]).reshape(s.shape)
    m1 = value + s * slope
    return true, m1, m1 + 0.5 * s**2 * curvature


def upper_model(problem, w, beta: float):
    r"""The quadratic upper model of a :math:`\beta`-smooth loss at ``w``,

    .. math::
        u_\beta(\Delta) = L(w) + g^\top\Delta + \tfrac{\beta}{2}\,\|\Delta\|^2 ,

    with :math:`L(w + \Delta) \le u_\beta(\Delta)` for every :math:`\Delta` when
    :math:`\lambda_{\max}(\nabla^2 L) \le \beta` everywhere (Chapter 3). Returns a
    function of :math:`\Delta` (shape ``(d,)`` or ``(k, d)``).
    """
    check_problem(problem)
    w = as_vector(w, "w", dim=problem.dim)
    beta = as_scalar(beta, "beta", positive=True)
    value, g = float(problem.loss(w)), problem.grad(w)

    def u(delta):
        delta = np.asarray(delta, dtype=float)
        if delta.shape[-1:] != (w.size,) or delta.ndim > 2:
            raise ValueError(f"delta must have shape ({w.size},) or (k, {w.size}), "
                             f"got {delta.shape}")
        return value + delta @ g + 0.5 * beta * np.sum(delta**2, axis=-1)

    return u
