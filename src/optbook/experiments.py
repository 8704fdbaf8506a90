r"""Experiments as code: seeds, sweeps, summaries with confidence intervals, and the
sharpness measured along a run.

A claim about training ("SAM ends flatter than SGD", "the sharpness settles at
:math:`2/\eta`") is a statement about a distribution over seeds. The chapters state it
with the tools here, so that every number they print is computed the same way:

* :func:`seeds` — the seeds of an experiment, named once;
* :func:`over_seeds` and :func:`sweep` — run a function of a seed (and of settings)
  for every seed (and every combination of settings);
* :func:`summarize` — the mean and its two-sided Student-t interval (:class:`Summary`);
* :func:`sharpness` and :func:`preconditioned_sharpness` — measurements for
  ``run(..., record={...})``: :math:`\lambda_{\max}(\nabla^2 L(w_t))` along a run, by
  Lanczos (:func:`optbook.hessian.top_eigenvalue`), and the sharpness that bounds an
  adaptive method's step, :math:`\lambda_{\max}(P_t^{1/2}\nabla^2 L(w_t)P_t^{1/2})`
  (Cohen et al. 2022).
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import as_count, as_scalar, check_problem
from .hessian import top_eigenvalue
from .stats import mean_interval

__all__ = ["Summary", "seeds", "summarize", "over_seeds", "sweep", "sharpness",
           "preconditioned_sharpness"]


def seeds(n: int, *, start: int = 0) -> list[int]:
    """The seeds ``start, start + 1, ..., start + n - 1`` of an experiment with ``n`` runs.

    An experiment names its seeds once (``SEEDS = seeds(5)``), so a reader can rerun
    exactly what the book shows, and a tuning run can use others (``seeds(2, start=100)``).
    """
    n = as_count(n, "n")
    if isinstance(start, bool) or not isinstance(start, numbers.Integral) or start < 0:
        raise ValueError(f"start must be a non-negative integer, got {start!r}")
    return list(range(int(start), int(start) + n))


@dataclass(frozen=True, eq=False)
class Summary:
    """The mean of ``values`` over runs and its two-sided Student-t interval.

    Attributes:
        mean: the sample mean.
        low, high: the interval's ends (``confidence`` two-sided, ``n - 1`` degrees of
            freedom); it assumes the runs are independent and their mean roughly normal.
        n: the number of runs.
        confidence: the interval's level, e.g. 0.95.
        values: the runs' values, in the order of the seeds.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float
    values: np.ndarray

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return (f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}] "
                f"({self.confidence:.0%} interval, {self.n} seeds)")


def summarize(values, confidence: float = 0.95) -> Summary:
    r"""The mean of ``values`` (one per run, at least two, all finite) and its interval
    :math:`\bar x \pm t_{n-1,\,(1+c)/2}\, s/\sqrt n` (:func:`optbook.stats.mean_interval`)."""
    x = np.asarray(values, dtype=float).ravel()
    mean, low, high = mean_interval(x, confidence)
    return Summary(mean, low, high, x.size, float(confidence), x)


def over_seeds(fn, seed_list) -> dict[str, np.ndarray]:
    """``fn(seed)`` for every seed; ``fn`` returns a dict of numbers (one run's results).

    Returns ``{name: array of one value per seed}``, in the order of ``seed_list``.
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function of a seed, got {type(fn).__name__}")
    seed_list = _check_seeds(seed_list)
    rows = [_check_result(fn(seed), f"fn({seed})") for seed in seed_list]
    names = list(rows[0])
    if any(list(row) != names for row in rows):
        raise ValueError(f"fn must return the same names for every seed, got "
                         f"{sorted({tuple(row) for row in rows})}")
    return {name: np.array([row[name] for row in rows], dtype=float) for name in names}


def sweep(fn, grid: dict, seed_list) -> list[dict]:
    """``fn(seed=..., **setting)`` for every combination of the settings in ``grid``
    (``{name: list of values}``) and every seed; ``fn`` returns a dict of numbers.

    Returns one row per setting: the setting's values, then ``{name: array over seeds}``.
    """
    if not (isinstance(grid, dict) and grid
            and all(isinstance(v, list | tuple) and v for v in grid.values())):
        raise ValueError(f"grid must be a non-empty dict {{name: non-empty list of values}}, "
                         f"got {grid!r:.100}")
    seed_list = _check_seeds(seed_list)
    rows = []
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values, strict=True))
        rows.append({**setting, **over_seeds(lambda s, kw=setting: fn(seed=s, **kw),
                                             seed_list)})
    return rows


def _check_seeds(seed_list) -> list[int]:
    seed_list = list(seed_list)
    if not seed_list or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                and s >= 0 for s in seed_list):
        raise ValueError(f"seeds must be a non-empty list of non-negative integers, "
                         f"got {seed_list!r:.100}")
    return seed_list


def _check_result(result, who: str) -> dict:
    if not (isinstance(result, dict) and result
            and all(isinstance(v, numbers.Real) for v in result.values())):
        raise ValueError(f"{who} must return a non-empty dict of numbers, got {result!r:.100}")
    return result


def sharpness(problem, *, rng: np.random.Generator, tol: float = 1e-3):
    r"""A measurement for ``run(..., record={"sharpness": sharpness(problem, rng=rng)})``:
    :math:`(w, \text{state}) \mapsto \lambda_{\max}(\nabla^2 L(w))`, by Lanczos on the
    problem's Hessian-vector products, to relative accuracy ``tol``.

    Each measurement starts Lanczos from the previous one's eigenvector (a warm start:
    along a run the Hessian changes little between measurements, so fewer products are
    needed); ``rng`` draws the random part of each start vector (pass a generator of its
    own, so that measuring does not change the run's batches).
    """
    check_problem(problem)
    tol = as_scalar(tol, "tol", positive=True)
    rng = _check_generator(rng)
    previous = {"v": None}

    def measure(w, state=None) -> float:
        est = top_eigenvalue(lambda v: problem.hvp(w, v), problem.dim, rng=rng, tol=tol,
                             v0=previous["v"])
        previous["v"] = est.vector
        return est.value

    return measure


def preconditioned_sharpness(problem, optimizer, *, rng: np.random.Generator,
                             tol: float = 1e-3):
    r"""The sharpness that bounds a diagonally preconditioned method's step,
    :math:`\lambda_{\max}(P^{1/2}\,\nabla^2 L(w)\,P^{1/2})`, with :math:`P` the optimiser's
    current preconditioner (:func:`optbook.sharpness.preconditioner`: :math:`1/(\sqrt{\hat
    v}+\varepsilon)` for Adam). Cohen et al. (2022) find that Adam trains at the edge of
    stability of this matrix, :math:`(2+2\beta_1)/((1-\beta_1)\eta)`.
    A measurement for ``run(..., record=...)`` like :func:`sharpness`; ``nan`` at
    :math:`t = 0`, before the first step has made a preconditioner.
    """
    from .sharpness import _preconditioner  # the preconditioner of any optbook optimiser

    check_problem(problem)
    tol = as_scalar(tol, "tol", positive=True)
    rng = _check_generator(rng)

    def measure(w, state) -> float:
        if _steps_taken(state) == 0:
            return float("nan")
        root = np.sqrt(_preconditioner(optimizer, state, problem.dim))
        return top_eigenvalue(lambda v: root * problem.hvp(w, root * v), problem.dim,
                              rng=rng, tol=tol).value

    return measure


def _steps_taken(state) -> int:
    """The step count of an optimiser's state (of its base's, for a wrapper)."""
    while not hasattr(state, "t") and hasattr(state, "base"):
        state = state.base
    return state.t


def _check_generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__} {rng!r}")
    return rng
