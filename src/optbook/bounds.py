r"""The step-size bounds and convergence rates of Chapters 2–4, as functions.

Each function is one formula of the book, named as in the text; the chapters
derive and check them, and ``tests/test_bounds.py`` checks each on random problems.

One gradient step on a quadratic with Hessian :math:`H` changes the loss by
exactly (Chapter 1)

.. math::
    L(w - \eta g) - L(w) = -\eta\, g^\top g + \tfrac12\,\eta^2\, g^\top H g .
"""

from __future__ import annotations

import numpy as np

from ._validate import as_count, as_scalar, as_symmetric, as_vector
from .spectral import condition_number, eigenvalues

__all__ = [
    "step_change",
    "max_decreasing_step",
    "best_step",
    "max_stable_step",
    "optimal_fixed_step",
    "gd_rate",
    "gd_contraction",
    "descent_lemma_decrease",
    "min_grad_norm_bound",
    "convex_gap_bound",
    "iterations_for_tolerance",
]


def _gH(g, H):
    H = as_symmetric(H, "H")
    g = as_vector(g, "g", dim=H.shape[0])
    return g, H, float(g @ g), float(g @ H @ g)


def step_change(g, H, eta: float) -> float:
    r""":math:`-\eta\, g^\top g + \tfrac12 \eta^2 g^\top H g`, the exact change of a
    quadratic loss after one gradient step of size :math:`\eta`."""
    g, H, gg, gHg = _gH(g, H)
    eta = as_scalar(eta, "eta")
    return -eta * gg + 0.5 * eta**2 * gHg


def max_decreasing_step(g, H) -> float:
    r""":math:`2\,g^\top g / g^\top H g`: a step decreases the quadratic loss iff
    :math:`0 < \eta <` this value (strictly: at equality the loss is unchanged).

    ``inf`` when :math:`g^\top H g \le 0` (every positive step decreases the loss);
    ``nan`` when :math:`g = 0` (no step changes anything).
    """
    g, H, gg, gHg = _gH(g, H)
    if gg == 0:
        return float("nan")
    return 2 * gg / gHg if gHg > 0 else float("inf")


def best_step(g, H) -> float:
    r""":math:`g^\top g / g^\top H g`, the exact line-search step along :math:`-g`
    (the minimiser of the change), half of :func:`max_decreasing_step`.

    ``inf`` when :math:`g^\top H g \le 0` (the loss is unbounded below along
    :math:`-g`), ``nan`` when :math:`g = 0`.
    """
    g, H, gg, gHg = _gH(g, H)
    if gg == 0:
        return float("nan")
    return gg / gHg if gHg > 0 else float("inf")


def max_stable_step(H) -> float:
    r""":math:`2/\lambda_{\max}(H)`: gradient descent on a convex quadratic converges
    from every start iff :math:`0 < \eta <` this value (not at equality)."""
    lam = eigenvalues(H)
    if lam[-1] <= 0:
        raise ValueError("H must have a positive eigenvalue")
    return 2.0 / lam[-1]


def optimal_fixed_step(H) -> float:
    r""":math:`2/(\lambda_{\max} + \lambda_{\min})`, the fixed step that minimises the
    worst contraction :math:`\max_i |1 - \eta\lambda_i|` on a positive definite quadratic."""
    lam = eigenvalues(H)
    if lam[0] <= 0:
        raise ValueError("H must be positive definite")
    return 2.0 / (lam[-1] + lam[0])


def gd_rate(H=None, *, kappa: float | None = None) -> float:
    r""":math:`(\kappa-1)/(\kappa+1)`, the contraction of :math:`\|w_t - w^\star\|` per
    step of gradient descent at :func:`optimal_fixed_step` (give ``H`` or ``kappa``)."""
    if (H is None) == (kappa is None):
        raise ValueError("give exactly one of H and kappa")
    if kappa is not None and kappa == float("inf"):
        return 1.0  # a singular Hessian: no linear rate
    k = condition_number(H) if kappa is None else as_scalar(kappa, "kappa")
    if k < 1:
        raise ValueError(f"kappa must be >= 1, got {k}")
    return 1.0 if np.isinf(k) else (k - 1) / (k + 1)


def gd_contraction(H, eta):
    r""":math:`q(\eta) = \max_i |1 - \eta\lambda_i(H)|`, the factor by which one gradient
    step of size :math:`\eta` can shrink :math:`\|w - w^\star\|` on a quadratic with
    Hessian ``H`` (each eigen-direction is multiplied by :math:`1 - \eta\lambda_i`).

    GD converges from every start iff :math:`q(\eta) < 1`. ``eta`` may be an array:
    the result then has its shape.
    """
    lam = eigenvalues(H)
    eta = np.asarray(eta, dtype=float)
    if not np.all(np.isfinite(eta)):
        raise ValueError("eta must contain only finite numbers")
    q = np.max(np.abs(1.0 - eta[..., None] * lam), axis=-1)
    return float(q) if q.ndim == 0 else q


def descent_lemma_decrease(beta: float, eta: float) -> float:
    r""":math:`\eta(1 - \beta\eta/2)`: for a :math:`\beta`-smooth loss,
    :math:`L(w - \eta g) \le L(w) -` this value :math:`\times\,\|g\|^2` (the descent lemma).
    It is largest, :math:`1/(2\beta)`, at :math:`\eta = 1/\beta`."""
    beta = as_scalar(beta, "beta", positive=True)
    eta = as_scalar(eta, "eta", positive=True)
    return eta * (1 - beta * eta / 2)


def min_grad_norm_bound(beta: float, gap0: float, t: int) -> float:
    r""":math:`2\beta\,(L(w_0) - L^\star)/t`: with step :math:`1/\beta` on a
    :math:`\beta`-smooth loss bounded below by :math:`L^\star`,
    :math:`\min_{k<t} \|g_k\|^2 \le` this value (telescoping the descent lemma).
    A bound on the smallest *squared* norm so far: the norm is :math:`O(1/\sqrt t)`."""
    beta = as_scalar(beta, "beta", positive=True)
    gap0 = as_scalar(gap0, "gap0", nonnegative=True)
    return 2 * beta * gap0 / as_count(t, "t")


def convex_gap_bound(beta: float, dist0: float, t: int) -> float:
    r""":math:`\beta\,\|w_0 - w^\star\|^2/(2t)`: with step :math:`1/\beta` on a convex
    :math:`\beta`-smooth loss, :math:`L(w_t) - L^\star \le` this value
    (e.g. Gärtner & Jaggi, EPFL Optimization for ML notes, Thm 2.7)."""
    beta = as_scalar(beta, "beta", positive=True)
    dist0 = as_scalar(dist0, "dist0", nonnegative=True)
    return beta * dist0**2 / (2 * as_count(t, "t"))


def iterations_for_tolerance(rate: float, ratio: float) -> int:
    r"""The smallest :math:`t` with :math:`\text{rate}^t \le \text{ratio}`, i.e.
    :math:`\lceil \log(\text{ratio})/\log(\text{rate}) \rceil`, for a linear rate in
    (0, 1) and a target ratio in (0, 1], e.g.
    :math:`\varepsilon = \|w_t - w^\star\|/\|w_0 - w^\star\|`."""
    rate = as_scalar(rate, "rate", positive=True, below=1.0)
    ratio = as_scalar(ratio, "ratio", positive=True, below=1.0, strict_below=False)
    return 0 if ratio == 1.0 else int(np.ceil(np.log(ratio) / np.log(rate) - 1e-12))
