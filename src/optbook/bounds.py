r"""The step-size bounds and convergence rates of Chapters 2–4 and 7, as functions.

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
    "pl_loss_bound",
    "pl_radius",
    "heavy_ball_rate",
    "heavy_ball_optimal",
    "nesterov_rate",
    "nesterov_parameters",
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
    (e.g. Gärtner & Jaggi, EPFL Optimization for ML notes, Chapter 2)."""
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


def pl_loss_bound(loss0: float, eta: float, mu: float, t):
    r""":math:`(1 - \eta\mu)^t\, L(w_0)`: under the PL\* condition
    :math:`\tfrac12\|\nabla L(w)\|^2 \ge \mu L(w)` on the path and a step
    :math:`0 < \eta \le 1/\beta`, gradient descent has :math:`L(w_t) \le` this value
    (Liu, Zhu & Belkin 2022; Chapter 5). ``t`` may be an array of step numbers.
    """
    loss0 = as_scalar(loss0, "loss0", nonnegative=True)
    eta = as_scalar(eta, "eta", positive=True)
    mu = as_scalar(mu, "mu", positive=True)
    if eta * mu > 1 + 1e-12:  # (round-off allowed: mu = beta gives eta * mu = 1 ± ulp)
        raise ValueError(f"eta * mu = {eta * mu:.3g} > 1: the PL* condition with a smooth loss "
                         f"forces mu <= beta, so a step eta <= 1/beta has eta * mu <= 1")
    t = np.asarray(t)
    if not (np.issubdtype(t.dtype, np.integer) and np.all(t >= 0)):
        raise ValueError("t must hold non-negative integers (step numbers)")
    out = max(0.0, 1.0 - eta * mu) ** t.astype(float) * loss0
    return float(out) if out.ndim == 0 else out


def pl_radius(beta: float, mu: float, loss0: float) -> float:
    r""":math:`R = 2\sqrt{2\beta L(w_0)}/\mu`: if the PL\* condition
    :math:`\tfrac12\|\nabla L\|^2 \ge \mu L` and :math:`\beta`-smoothness hold in the
    ball :math:`B(w_0, R)`, gradient descent with :math:`\eta \le 1/\beta` stays in it
    and converges to a global minimiser there (Liu, Zhu & Belkin 2022; Chapter 5)."""
    beta = as_scalar(beta, "beta", positive=True)
    mu = as_scalar(mu, "mu", positive=True)
    loss0 = as_scalar(loss0, "loss0", nonnegative=True)
    return 2.0 * np.sqrt(2.0 * beta * loss0) / mu


# --------------------------------------------------------------------------
# Momentum on a quadratic (Chapter 7): one 2×2 linear recursion per eigenvalue
# --------------------------------------------------------------------------

def _root_radius(a, b):
    r""":math:`\max(|z_1|, |z_2|)` for the roots of :math:`z^2 - a z + b` (arrays
    broadcast), in closed form: :math:`\sqrt b` for complex roots
    (:math:`a^2 < 4b`), else :math:`(|a| + \sqrt{a^2 - 4b})/2`. Near a double
    root the radius depends on the coefficients like a square root: a rounding error
    :math:`\delta` in them moves it by about :math:`\sqrt\delta`, whatever the method
    (the eigenvalues of the companion matrix are no better)."""
    disc = a * a - 4.0 * b
    real = 0.5 * (np.abs(a) + np.sqrt(np.maximum(disc, 0.0)))
    out = np.where(disc < 0, np.sqrt(np.abs(b)), real)
    return float(out) if out.ndim == 0 else out


def _momentum_args(eta, gamma, lam):
    eta = as_scalar(eta, "eta", positive=True) if np.ndim(eta) == 0 else np.asarray(eta, float)
    gamma = np.asarray(gamma, dtype=float)
    lam = np.asarray(lam, dtype=float)
    for name, x in (("eta", eta), ("gamma", gamma), ("lam", lam)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must contain only finite numbers")
    if np.any(np.asarray(eta) <= 0):
        raise ValueError("eta must be > 0")
    if np.any((gamma < 0) | (gamma >= 1)):
        raise ValueError(f"gamma must be in [0, 1), got {gamma}")
    return eta, gamma, lam


def heavy_ball_rate(eta, gamma, lam):
    r"""The asymptotic rate of heavy-ball momentum along an eigen-direction of curvature
    :math:`\lambda` of a quadratic: the spectral radius of its iteration matrix

    .. math::
        \begin{pmatrix} e_{t+1} \\ e_t \end{pmatrix} =
        \begin{pmatrix} 1 + \gamma - \eta\lambda & -\gamma \\ 1 & 0 \end{pmatrix}
        \begin{pmatrix} e_t \\ e_{t-1} \end{pmatrix},

    the largest modulus of the roots of :math:`z^2 - (1+\gamma-\eta\lambda)z + \gamma`
    (Polyak 1964). Below 1 iff :math:`0 < \eta\lambda < 2(1+\gamma)`; equal to
    :math:`\sqrt\gamma` where the roots are complex. ``eta``, ``gamma`` and ``lam``
    broadcast; the result has their shape (a float for scalars).
    """
    eta, gamma, lam = _momentum_args(eta, gamma, lam)
    return _root_radius(1.0 + gamma - eta * lam, gamma)


def _extremes(H, lam_min, lam_max) -> tuple[float, float]:
    """(μ, λ_max) from H, or from lam_min and lam_max, checked: 0 < μ ≤ λ_max."""
    if H is not None:
        if lam_min is not None or lam_max is not None:
            raise ValueError("give H, or lam_min and lam_max, not both")
        lam = eigenvalues(H)
        lam_min, lam_max = lam[0], lam[-1]
    elif lam_min is None or lam_max is None:
        raise ValueError("give H, or both lam_min and lam_max")
    mu = as_scalar(lam_min, "lam_min", positive=True)
    top = as_scalar(lam_max, "lam_max", positive=True)
    if mu > top:
        raise ValueError(f"lam_min = {mu} must be <= lam_max = {top} (and H positive definite)")
    return mu, top


def heavy_ball_optimal(H=None, *, lam_min: float | None = None, lam_max: float | None = None):
    r"""Polyak's parameters for a quadratic with :math:`0 < \mu = \lambda_{\min} \le
    \lambda_{\max}` (give ``H``, or both ``lam_min`` and ``lam_max``):

    .. math::
        \eta^\star = \frac{4}{(\sqrt{\lambda_{\max}} + \sqrt{\mu})^2}, \qquad
        \gamma^\star = \Big(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Big)^2, \qquad
        \rho^\star = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1} ,

    returned as ``(eta, gamma, rate)``; ``rate`` is :func:`heavy_ball_rate` at
    :math:`\lambda_{\max}` and :math:`\mu`, where the roots are double.
    """
    mu, top = _extremes(H, lam_min, lam_max)
    root_mu, root_top = np.sqrt(mu), np.sqrt(top)
    rate = (root_top - root_mu) / (root_top + root_mu)
    return 4.0 / (root_top + root_mu) ** 2, rate**2, rate


def nesterov_parameters(H=None, *, lam_min: float | None = None,
                        lam_max: float | None = None):
    r"""The standard constant parameters of Nesterov's method for a quadratic with
    :math:`0 < \mu = \lambda_{\min} \le \lambda_{\max}` (give ``H``, or both
    ``lam_min`` and ``lam_max``; Nesterov 2004, §2.2):

    .. math::
        \eta = \frac{1}{\lambda_{\max}}, \qquad
        \gamma = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}, \qquad
        \rho = 1 - \frac{1}{\sqrt\kappa} ,

    returned as ``(eta, gamma, rate)``; ``rate`` is the largest :func:`nesterov_rate`
    over the spectrum, reached at :math:`\lambda = \mu` (a double root).
    """
    mu, top = _extremes(H, lam_min, lam_max)
    root_kappa = np.sqrt(top / mu)
    return 1.0 / top, (root_kappa - 1.0) / (root_kappa + 1.0), 1.0 - 1.0 / root_kappa


def nesterov_rate(eta, gamma, lam):
    r"""The asymptotic rate of Nesterov's method along an eigen-direction of curvature
    :math:`\lambda` of a quadratic: the largest modulus of the roots of

    .. math::
        z^2 - (1+\gamma)(1-\eta\lambda)\,z + \gamma\,(1-\eta\lambda),

    the characteristic polynomial of :math:`y_{t+1} = (1+\gamma)(1-\eta\lambda) y_t -
    \gamma(1-\eta\lambda) y_{t-1}` (Nesterov 1983; Sutskever et al. 2013). With
    :math:`\eta = 1/\lambda_{\max}` and :math:`\gamma = (\sqrt\kappa-1)/(\sqrt\kappa+1)`
    its largest value over :math:`[\mu, \lambda_{\max}]` is :math:`1 - 1/\sqrt\kappa`,
    at :math:`\lambda = \mu`. Arguments broadcast as in :func:`heavy_ball_rate`.
    """
    eta, gamma, lam = _momentum_args(eta, gamma, lam)
    q = 1.0 - eta * lam
    return _root_radius((1.0 + gamma) * q, gamma * q)
