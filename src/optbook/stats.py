r"""Intervals for claims backed by experiments over several seeds.

:func:`mean_interval` gives the Student-t confidence interval of a mean,
:math:`\bar x \pm t_{1-\alpha/2,\,n-1}\, s/\sqrt n`, the interval the book shows
next to every conclusion drawn from random runs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["t_quantile", "mean_interval"]


def _t_cdf(x: float, df: int) -> float:
    """P(T ≤ x) for Student's t with ``df`` degrees of freedom (x ≥ 0), by quadrature."""
    if x == 0:
        return 0.5
    log_c = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
             - 0.5 * math.log(df * math.pi))
    # substitute t = x·u, u in [0, 1]; Simpson's rule on a fine grid is accurate to ~1e-12
    u = np.linspace(0.0, 1.0, 4001)
    f = np.exp(log_c - (df + 1) / 2 * np.log1p((x * u) ** 2 / df)) * x
    h = u[1] - u[0]
    integral = h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
    return 0.5 + integral


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0.5 ≤ p < 1)."""
    if not 0.5 <= p < 1:
        raise ValueError(f"p must be in [0.5, 1), got {p!r}")
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {df!r}")
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, int(df)) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, int(df)) < p else (lo, mid)
    return (lo + hi) / 2


def mean_interval(samples, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the two-sided Student-t interval of the mean of ``samples``.

    Needs at least two finite samples (one seed has no interval).
    """
    x = np.asarray(samples, dtype=float).ravel()
    if x.size < 2:
        raise ValueError(f"an interval needs at least 2 samples, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite (a diverged run is a result to report, "
                         "not a sample)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    mean = float(x.mean())
    half = t_quantile(0.5 + confidence / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half
