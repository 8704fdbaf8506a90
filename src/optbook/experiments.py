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
  (Cohen et al. 2022);
* :func:`gradient_noise` — the mini-batch gradient's noise
  :math:`\mathbb E\lVert\nabla L_{\mathcal B}(w)-\nabla L(w)\rVert^2` at a point, estimated
  from random batches (the :math:`\sigma^2` of SGD's convergence theorems);
* :func:`method` — the optimisers compared in Chapter 8 by name, with their step
  :math:`\eta` and second hyperparameter (SAM's :math:`\rho`, IRE's :math:`\kappa`, the
  variant's :math:`\rho`);
* :func:`run_seed` and :func:`paired_runs` — runs *paired by seed*: for seed
  :math:`s`, every method starts from the same point and draws the same mini-batches;
* :func:`tune` — a grid of settings run on tuning seeds and scored (final loss,
  validation accuracy, ...): the choice and the whole table (:class:`Tuning`);
* :func:`final_flatness` and :func:`distance_after_fit` — what Chapter 8 measures at
  the end of a run.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import as_count, as_scalar, check_problem
from .hessian import top_eigenvalue
from .optimizers import GD, Adam, run
from .sharpness import IRE, SAM, AdaHessian, NoiseScaledSGD, preconditioner
from .stats import mean_interval

__all__ = ["Summary", "seeds", "summarize", "over_seeds", "sweep", "sharpness",
           "preconditioned_sharpness", "gradient_noise", "METHODS", "SECOND", "IRE_FRACTION",
           "IRE_K", "method",
           "run_seed", "paired_runs", "Tuning", "tune", "final_flatness",
           "distance_after_fit"]


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


def gradient_noise(problem, batch_size: int, *, rng: np.random.Generator, draws: int = 16):
    r"""A measurement for ``run(..., record={"noise": gradient_noise(problem, B, rng=rng)})``:
    :math:`(w, \text{state}) \mapsto \frac1K\sum_{k=1}^K
    \lVert\nabla L_{\mathcal B_k}(w) - \nabla L(w)\rVert^2`, an unbiased estimate of the
    mini-batch gradient's noise :math:`\mathbb E\lVert\hat g_{\mathcal B}(w)-\nabla L(w)\rVert^2`
    from :math:`K` = ``draws`` batches of ``batch_size`` indices drawn uniformly without
    replacement, as ``run`` draws them (``problem.subset``).

    This is the variance that SGD's convergence theorems bound by :math:`\sigma^2` (Ghadimi &
    Lan 2013; Bottou, Curtis & Nocedal 2018, Assumption 4.3); for least squares it equals
    :math:`\frac{n^2}{B}\frac{n-B}{n-1}\operatorname{tr}\Sigma` in expectation. ``rng`` draws
    the batches (pass a generator of its own, so that measuring does not change the run's
    batches). The sum is accumulated in float64.
    """
    check_problem(problem)
    if not (hasattr(problem, "n") and callable(getattr(problem, "subset", None))):
        raise ValueError(f"problem must be a sum over samples with n and subset(idx) (a "
                         f"mini-batch problem), got {type(problem).__name__}")
    B = as_count(batch_size, "batch_size")
    if B > problem.n:
        raise ValueError(f"batch_size must be at most the number of samples n = {problem.n}, "
                         f"got {B}")
    draws = as_count(draws, "draws")
    rng = _check_generator(rng)

    def measure(w, state=None) -> float:
        g = np.asarray(problem.grad(w), dtype=np.float64)
        total = 0.0
        for _ in range(draws):
            idx = rng.choice(problem.n, size=B, replace=False)
            diff = np.asarray(problem.subset(idx).grad(w), dtype=np.float64) - g
            total += float(diff @ diff)
        return total / draws

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


# --------------------------------------------------------------------------
# Methods by name, runs paired by seed, and tuning (Chapter 8, benchmarks/flatness.py)
# --------------------------------------------------------------------------

#: The methods of Chapter 8's comparison, in the order of its tables.
METHODS = ("SGD", "Adam", "SAM", "IRE", "AdaHessian", "variant")
#: The second hyperparameter of a method, by name: SAM's radius, IRE's acceleration,
#: the variant's noise scale.
SECOND = {"SAM": "rho", "IRE": "kappa", "variant": "rho"}
#: IRE's share :math:`\gamma` of coordinates treated as flat (Algorithm 1 takes
#: :math:`\gamma\in(\tfrac12, 1)`) and its mask refresh period :math:`K`.
IRE_FRACTION, IRE_K = 0.6, 10


def method(name: str, lr, h=None, **options):
    r"""A fresh optimiser of Chapter 8's comparison, by name.

    * ``"SGD"``: ``GD(lr)`` (run with mini-batches, it is SGD); ``"Adam"``: ``Adam(lr)``;
      ``"AdaHessian"``: ``AdaHessian(lr)``;
    * ``"SAM"``: ``SAM(lr, rho=h)``, the gradient at :math:`w + \rho g/\lVert g\rVert`
      handed to ``GD(lr)`` (Foret et al. 2021);
    * ``"IRE"``: ``IRE(GD(lr), kappa=h, fraction=IRE_FRACTION, K=IRE_K)`` (Wang et al.
      2024);
    * ``"variant"``: ``NoiseScaledSGD(lr, rho=h)``, the notes' variant.

    So SAM, IRE and the variant modify SGD *at the same* :math:`\eta`. ``h`` is required
    for those three and refused for the others; ``options`` go to the optimiser's
    constructor (e.g. ``curvature="hutchinson"`` for IRE on a problem without a
    predictive model).
    """
    if name not in METHODS:
        raise ValueError(f"method name must be one of {METHODS}, got {name!r}")
    if name in SECOND and h is None:
        raise ValueError(f"{name} needs its second hyperparameter h ({SECOND[name]}), got None")
    if name not in SECOND and h is not None:
        raise ValueError(f"{name} has no second hyperparameter; h must be None, got {h!r}")
    if name == "SGD":
        return GD(lr, **options)
    if name == "Adam":
        return Adam(lr, **options)
    if name == "AdaHessian":
        return AdaHessian(lr, **options)
    if name == "SAM":
        return SAM(lr, rho=h, **options)
    if name == "IRE":
        options = {"fraction": IRE_FRACTION, "K": IRE_K, **options}
        return IRE(GD(lr), kappa=h, **options)
    return NoiseScaledSGD(lr, rho=h, **options)


def _start(starts, seed: int, index: int):
    return starts(seed) if callable(starts) else starts[index]


def run_seed(make, problem, w0, seed: int, *, steps: int, batch_size=None, **run_options):
    """One run of the optimiser ``make()`` from ``w0``, its mini-batches (and any random
    probes of the optimiser) drawn from ``np.random.default_rng(seed)``.

    Returns ``(trajectory, optimiser)``; ``run_options`` go to :func:`optbook.run`.
    """
    if not callable(make):
        raise ValueError(f"make must be a function returning a fresh optimiser, got "
                         f"{type(make).__name__}")
    opt = make()
    traj = run(opt, problem, w0, steps, batch_size=batch_size,
               rng=np.random.default_rng(_check_seeds([seed])[0]), **run_options)
    return traj, opt


def paired_runs(make, problem, starts, seed_list, *, steps: int, measure, batch_size=None,
                **run_options) -> dict[str, np.ndarray]:
    r"""Runs *paired by seed*: for each seed :math:`s` (the ``i``-th of ``seed_list``), a
    fresh ``make()`` from ``starts[i]`` (or ``starts(s)`` if ``starts`` is a function),
    batches from seed :math:`s` (:func:`run_seed`), then ``measure(problem, trajectory,
    optimiser)``, a dict of numbers.

    Two methods run with the same ``starts`` and seeds see the same starts and the same
    batches, so their per-seed differences isolate the method. Returns ``{name: array
    over seeds}`` plus ``"diverged"`` (1 for a run whose loss exploded: it is not
    measured and its measurements are ``nan``).
    """
    if not callable(measure):
        raise ValueError(f"measure must be a function (problem, trajectory, optimiser) -> "
                         f"dict of numbers, got {type(measure).__name__}")
    seed_list = _check_seeds(seed_list)
    if not callable(starts) and len(starts) != len(seed_list):
        raise ValueError(f"starts must give one starting point per seed ({len(seed_list)}), "
                         f"or be a function of the seed; got {len(starts)}")
    rows = []
    for i, seed in enumerate(seed_list):
        traj, opt = run_seed(make, problem, _start(starts, seed, i), seed, steps=steps,
                             batch_size=batch_size, **run_options)
        rows.append(None if traj.diverged
                    else _check_result(measure(problem, traj, opt), "measure"))
    done = [row for row in rows if row is not None]
    names = list(done[0]) if done else []
    if any(list(row) != names for row in done):
        raise ValueError("measure must return the same names for every run")
    out = {name: np.array([np.nan if row is None else row[name] for row in rows], dtype=float)
           for name in names}
    out["diverged"] = np.array([float(row is None) for row in rows])
    return out


@dataclass(frozen=True, eq=False)
class Tuning:
    """What :func:`tune` found.

    Attributes:
        best: the chosen setting, ``{name: value}``.
        table: one row per setting of the grid, in the grid's order: the setting's
            values, ``"scores"`` (one per tuning seed; a diverged run scores ``inf``, or
            ``-inf`` when higher is better), ``"median"`` and ``"diverged"`` (a count).
        names: the setting's names, in the grid's order.
        seeds: the tuning seeds.
        minimize: whether a lower score is better.
    """

    best: dict
    table: list
    names: tuple
    seeds: list
    minimize: bool

    def markdown(self, score: str = "score", fmt: str = "{:.3g}") -> str:
        """The table as Markdown, one row per setting, the chosen one in bold; a diverged
        run's score reads "diverged"."""
        def show(x):
            return fmt.format(x) if np.isfinite(x) else "diverged"

        head = "| " + " | ".join(self.names) + f" | median {score} | per seed | diverged |"
        lines = [head, "|" + "---|" * (len(self.names) + 3)]
        for row in self.table:
            cells = [f"{row[k]:g}" if isinstance(row[k], numbers.Real) else str(row[k])
                     for k in self.names]
            cells += [show(row["median"]), ", ".join(show(x) for x in row["scores"]),
                      str(row["diverged"])]
            if all(row[k] == self.best[k] for k in self.names):
                cells = [f"**{c}**" for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def tune(make, problem, starts, grid: dict, *, steps: int, seeds, score, batch_size=None,
         minimize: bool = True, **run_options) -> Tuning:
    r"""Choose a setting from a grid by runs on tuning seeds.

    For every combination of ``grid`` (``{name: list of values}``) and every tuning seed,
    run ``make(**setting)`` (:func:`paired_runs`, same starts and batches for every
    setting) and score the end of the run with ``score(problem, trajectory, optimiser)``
    (e.g. the final loss, or a validation accuracy with ``minimize=False``); a diverged
    run gets the worst score. The choice is the setting with the best median score over
    the seeds; ties go to the later setting in the grid's order (for an increasing grid,
    the larger value). The tuning seeds should not be the evaluation seeds.

    Returns a :class:`Tuning`: the choice and the whole table.
    """
    if not callable(make) or not callable(score):
        raise ValueError("make (setting -> optimiser) and score (problem, trajectory, "
                         "optimiser -> number) must be functions")
    if not (isinstance(grid, dict) and grid
            and all(isinstance(v, list | tuple) and v for v in grid.values())):
        raise ValueError(f"grid must be a non-empty dict {{name: non-empty list of values}}, "
                         f"got {grid!r:.100}")
    seed_list = _check_seeds(seeds)
    worst = np.inf if minimize else -np.inf
    table, best, best_median = [], None, None
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values, strict=True))
        runs = paired_runs(lambda s=setting: make(**s), problem, starts, seed_list,
                           steps=steps, batch_size=batch_size,
                           measure=lambda p, t, o: {"score": float(score(p, t, o))},
                           **run_options)
        scores = runs.get("score", np.full(len(seed_list), np.nan))
        scores = np.where(runs["diverged"] == 1.0, worst, scores)
        if np.any(np.isnan(scores)):
            raise ValueError(f"score returned nan for the setting {setting}")
        median = float(np.median(scores))
        table.append({**setting, "scores": scores, "median": median,
                      "diverged": int(runs["diverged"].sum())})
        if best is None or (median <= best_median if minimize else median >= best_median):
            best, best_median = setting, median
    return Tuning(best=best, table=table, names=tuple(grid), seeds=seed_list,
                  minimize=bool(minimize))


def _step_size(opt) -> float:
    """The step :math:`\\eta` of an optimiser (of the GD inside SAM or IRE)."""
    while isinstance(opt, SAM | IRE):
        opt = opt.base
    return float(opt.lr)


def final_flatness(problem, traj, opt, *, travel=None) -> dict:
    r"""Chapter 8's measurements at the last iterate :math:`w_T` of a run, from the dense
    Hessian :math:`H = \nabla^2 L(w_T)` (``problem.hessian``; small problems only):

    * ``loss``: :math:`L(w_T) - L^*` (``problem.floor``, 0 if it has none);
    * ``lam``: :math:`\lambda_{\max}(H)`; ``tr``: :math:`\operatorname{tr}H`;
    * ``eff``: the effective sharpness :math:`\eta\,\lambda_{\max}(P^{1/2}HP^{1/2})`, with
      :math:`P` the optimiser's diagonal preconditioner at the end
      (:func:`optbook.sharpness.preconditioner`; 1 for SGD and SAM);
    * ``travel``: ``travel(trajectory)``, if given (e.g. :func:`distance_after_fit`).
    """
    if traj.diverged:
        raise ValueError("the run diverged: there is no final iterate to measure")
    w = traj.final
    H = np.asarray(problem.hessian(w), dtype=float)
    root = np.sqrt(preconditioner(opt, traj))
    out = {"loss": float(problem.loss(w)) - float(getattr(problem, "floor", 0.0)),
           "lam": float(np.linalg.eigvalsh(H)[-1]), "tr": float(np.trace(H)),
           "eff": _step_size(opt) * float(np.linalg.eigvalsh(root[:, None] * H * root)[-1])}
    if travel is not None:
        out["travel"] = float(travel(traj))
    return out


def distance_after_fit(traj, fraction: float = 1e-2) -> float:
    r"""How far a run moved after it fitted: :math:`\lVert w_T - w_s\rVert`, with
    :math:`s` the first step at which :math:`L(w_s)\le` ``fraction`` :math:`\cdot L(w_0)`;
    ``nan`` if the loss never got there or the run diverged. Needs every iterate
    (``run(..., keep_every=1)``, the default for small problems) and every loss."""
    fraction = as_scalar(fraction, "fraction", positive=True)
    if traj.diverged:
        return float("nan")
    if len(traj.t) != len(traj.loss) or np.any(np.isnan(traj.loss)):
        raise ValueError("distance_after_fit needs every iterate and every loss: run with "
                         "keep_every=1 and loss_every=1")
    hit = np.flatnonzero(traj.loss <= fraction * traj.loss[0])
    if hit.size == 0:
        return float("nan")
    return float(np.linalg.norm(traj.final - traj.w[hit[0]]))
