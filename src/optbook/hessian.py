r"""Matrix-free Hessian tools: extreme eigenvalues, trace and diagonal.

Every function takes ``hvp``, any function :math:`v \mapsto Hv` for a symmetric
:math:`H\in\mathbb{R}^{d\times d}` (for a problem of :mod:`optbook.problems`,
``lambda v: problem.hvp(w, v)``), and never forms :math:`H`: each probe costs
one Hessian-vector product and :math:`O(d)` memory, so the tools run at
:math:`d = 10^5` and beyond. The matrix versions for small :math:`d` are in
:mod:`optbook.spectral`.

.. math::
    \lambda_{\max}(H) = \max_{\|v\|=1} v^\top H v, \qquad
    \operatorname{tr} H = \mathbb{E}_z\big[z^\top H z\big], \qquad
    \operatorname{diag} H = \mathbb{E}_z\big[z \odot Hz\big],

with :math:`z` a Rademacher vector (independent entries :math:`\pm1`, each
with probability :math:`1/2`), so that :math:`\mathbb{E}[zz^\top] = I`.

A problem with only a gradient gets a Hessian-vector product from two gradients,
:func:`finite_difference_hvp`, and :func:`with_fd_hvp` attaches it to the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import as_count, as_scalar, as_vector

__all__ = ["EigenEstimate", "TraceEstimate", "top_eigenvalue", "smallest_eigenvalue",
           "hutchinson_trace", "hutchinson_diagonal", "finite_difference_hvp", "with_fd_hvp"]

HVP = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class EigenEstimate:
    """An eigenvalue estimate from power iteration.

    Attributes:
        value: the estimate of the eigenvalue of :math:`H`, the Rayleigh quotient
            :math:`v^\\top H v` of ``vector``.
        vector: the unit vector :math:`v` whose Rayleigh quotient is ``value``, an
            estimate of the eigenvector, shape ``(dim,)``.
        iterations: the number of Hessian-vector products used.
        converged: whether the stopping test was met within ``max_iter`` products.

    (Compared by identity: it holds an array.)
    """

    value: float
    vector: np.ndarray
    iterations: int
    converged: bool


@dataclass(frozen=True)
class TraceEstimate:
    """A Monte Carlo estimate of :math:`\\operatorname{tr} H`.

    Attributes:
        value: the sample mean of :math:`z^\\top H z` over the probes.
        std_error: its standard error, the sample standard deviation over
            :math:`\\sqrt{n}`; ``nan`` when ``n_samples == 1`` (one sample has no spread).
        n_samples: the number of probes :math:`n` (Hessian-vector products).
    """

    value: float
    std_error: float
    n_samples: int


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------

def _check_hvp(hvp) -> None:
    if not callable(hvp):
        raise ValueError(f"hvp must be a function v -> Hv (a callable), "
                         f"got {type(hvp).__name__} {hvp!r}")


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(0), "
                         f"got {type(rng).__name__} {rng!r}")
    return rng


def _apply(hvp: HVP, v: np.ndarray) -> np.ndarray:
    """``hvp(v)`` as a float vector of ``v``'s shape, with finite entries.

    ``hvp`` gets a copy, so that one that writes into its argument cannot
    corrupt the iteration.
    """
    raw = hvp(v.copy())
    try:
        out = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"hvp must return a vector of {v.shape[0]} numbers, "
                         f"got {type(raw).__name__} {raw!r}") from None
    if out.shape != v.shape:
        raise ValueError(f"hvp must return a vector of shape {v.shape} (the shape of v), "
                         f"got {type(raw).__name__} of shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError("hvp returned non-finite numbers (NaN or inf); "
                         "it must return Hv with finite entries")
    return out


def _rademacher(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A vector of independent ±1 entries, each with probability 1/2 (one array)."""
    z = rng.integers(0, 2, size=dim).astype(float)
    z *= 2.0
    z -= 1.0
    return z


# --------------------------------------------------------------------------
# Extreme eigenvalues: power iteration
# --------------------------------------------------------------------------

def top_eigenvalue(hvp: HVP, dim: int, *, rng: np.random.Generator, tol: float = 1e-6,
                   max_iter: int = 1000, shift: float = 0.0) -> EigenEstimate:
    r"""The eigenvalue of largest magnitude of :math:`H - sI`, plus :math:`s`, by power iteration.

    .. math::
        v_{k+1} = \frac{(H - sI)\,v_k}{\|(H - sI)\,v_k\|}, \qquad
        \rho_k = v_k^\top (H - sI)\, v_k ,

    from a random unit :math:`v_0` drawn from ``rng`` (von Mises &
    Pollaczek-Geiringer 1929; Golub & Van Loan 2013, §8.2.1). It stops after
    the first product :math:`k\ge 2` with
    :math:`|\rho_k - \rho_{k-1}| \le \mathrm{tol}\cdot\max(|\rho_k|, |\rho_k + s|)`
    (a relative change; the larger of the two scales lets it stop when either
    the eigenvalue of :math:`H` or that of :math:`H - sI` is zero), and returns
    :math:`\rho_k + s`, an eigenvalue of :math:`H`.

    **Which eigenvalue.** Power iteration finds the eigenvalue of largest
    *magnitude* of :math:`H - sI`. With ``shift=0`` that is :math:`\lambda_{\max}(H)`
    when :math:`H` is positive semi-definite, but for an indefinite :math:`H` it
    may be :math:`\lambda_{\min}(H) < 0`. To get :math:`\lambda_{\max}` of an
    indefinite :math:`H`, pass a shift :math:`s < (\lambda_{\min}+\lambda_{\max})/2`,
    e.g. :math:`s = -|m|` with :math:`m` the unshifted estimate
    (:math:`|m| \le \max_i|\lambda_i|`; all of :math:`H + |m| I` is then
    :math:`\ge 0` up to the accuracy of :math:`m`). For :math:`\lambda_{\min}` use
    :func:`smallest_eigenvalue`.

    **Rate.** If the eigenvalues of :math:`A = H - sI` satisfy
    :math:`|\mu_1| > |\mu_2| \ge \dots`, the angle between :math:`v_k` and the
    top eigenvector shrinks like :math:`|\mu_2/\mu_1|^k`, and the Rayleigh
    quotient (symmetric :math:`A`) converges like :math:`|\mu_2/\mu_1|^{2k}`
    (Golub & Van Loan 2013, Thm 8.2.1). A small gap means slow convergence, and
    the stopping test may then fire early: the remaining error is about
    :math:`|\rho_k - \rho_{k-1}| / (1 - |\mu_2/\mu_1|^2)`. If :math:`\mu` and
    :math:`-\mu` are both dominant, :math:`v_k` does not converge at all and
    :math:`\rho_k` may settle at a value that is not an eigenvalue; a shift breaks
    the tie.

    Args:
        hvp: the Hessian-vector product :math:`v \mapsto Hv`, ``(dim,) -> (dim,)``.
        dim: the dimension :math:`d \ge 1`.
        rng: a ``numpy.random.Generator``; it draws :math:`v_0` (required, so
            results are reproducible).
        tol: the relative tolerance on the change of the Rayleigh quotient, > 0.
        max_iter: the largest number of Hessian-vector products, >= 1.
        shift: the shift :math:`s`.

    Returns:
        An :class:`EigenEstimate`; ``converged`` is ``False`` if ``max_iter``
        products did not meet the test (``value`` is then the last estimate).
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    rng = _check_rng(rng)
    tol = as_scalar(tol, "tol", positive=True)
    max_iter = as_count(max_iter, "max_iter")
    shift = as_scalar(shift, "shift")

    v = rng.standard_normal(dim)
    v /= np.linalg.norm(v)
    rho_prev = np.nan
    for k in range(1, max_iter + 1):
        w = _apply(hvp, v)
        if shift != 0.0:
            w = w - shift * v  # not in place: w may be an array that hvp keeps
        rho = float(v @ w)
        if k >= 2 and abs(rho - rho_prev) <= tol * max(abs(rho), abs(rho + shift)):
            return EigenEstimate(rho + shift, v, k, True)
        norm = float(np.linalg.norm(w))
        if norm == 0.0:  # (H - sI) v = 0: v is an eigenvector of H, eigenvalue s
            return EigenEstimate(shift, v, k, True)
        if k == max_iter:
            break
        v = w / norm
        rho_prev = rho
    return EigenEstimate(rho + shift, v, max_iter, False)


def smallest_eigenvalue(hvp: HVP, dim: int, *, rng: np.random.Generator, tol: float = 1e-6,
                        max_iter: int = 1000, shift: float | None = None) -> EigenEstimate:
    r""":math:`\lambda_{\min}(H)`, by power iteration on a shifted Hessian.

    First :func:`top_eigenvalue` estimates the eigenvalue of largest magnitude
    :math:`m`, so :math:`s = |m| \approx \max_i |\lambda_i| \ge \lambda_{\max}`.
    Then every eigenvalue of :math:`H - sI` is :math:`\lambda_i - s \le 0`, and

    .. math::
        |\lambda_{\min} - s| = s - \lambda_{\min} \;\ge\; s - \lambda_i = |\lambda_i - s|
        \quad\text{for all } i,

    so the dominant eigenvalue of :math:`H - sI` is :math:`\lambda_{\min} - s`: power
    iteration on :math:`H - sI` (``shift=s``) converges to it, and adding :math:`s`
    back gives :math:`\lambda_{\min}`. It is enough that
    :math:`s > (\lambda_{\min} + \lambda_{\max})/2`, so an :math:`m` somewhat
    below :math:`\lambda_{\max}` is harmless. If :math:`s` was too small, the
    dominant eigenvalue of :math:`H - sI` is :math:`\lambda_{\max} - s > 0` and the
    second run returns a value above :math:`s`; it is then repeated once with
    :math:`s` set to that value (an estimate of :math:`\lambda_{\max}`).

    The second run converges like
    :math:`\big((s - \lambda_{(2)})/(s - \lambda_{\min})\big)^{2k}`, with
    :math:`\lambda_{(2)}` the second smallest eigenvalue: slowly when
    :math:`\lambda_{\min}` is not well separated. Its stopping test is relative
    to :math:`s - \lambda_{\min}`, so :math:`\lambda_{\min}` is found to about
    :math:`\mathrm{tol}\cdot\max_i|\lambda_i|`, not to ``tol`` relative to
    itself: a :math:`\lambda_{\min}` near 0 is known only to that absolute accuracy.

    **Negative curvature.** A clearly negative ``value`` (below
    :math:`-\mathrm{tol}\cdot|m|`, say) shows a saddle point or a local maximum,
    and ``vector`` is a direction of negative curvature:
    :math:`v^\top H v = \mathrm{value} < 0`.

    Args:
        hvp, dim, rng, tol, max_iter: as in :func:`top_eigenvalue` (``tol`` and
            ``max_iter`` apply to each run; ``rng`` draws every starting vector).
        shift: a known :math:`s \ge \lambda_{\max}`, such as a smoothness constant
            :math:`\beta`, to skip the first run; estimated if ``None``. A shift
            far above :math:`\lambda_{\max}` slows the convergence.

    Returns:
        An :class:`EigenEstimate` of :math:`\lambda_{\min}`; ``iterations`` counts the
        products of all runs, and ``converged`` is that of the last run.
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    rng = _check_rng(rng)
    tol = as_scalar(tol, "tol", positive=True)
    max_iter = as_count(max_iter, "max_iter")

    def run(s):
        return top_eigenvalue(hvp, dim, rng=rng, tol=tol, max_iter=max_iter, shift=s)

    if shift is None:
        first = run(0.0)
        s, products = abs(first.value), first.iterations
    else:
        s, products = as_scalar(shift, "shift"), 0
    est = run(s)
    products += est.iterations
    if est.value > s:  # λ_max - s dominated H - sI: s was below (λ_min + λ_max)/2
        s = est.value
        est = run(s)
        products += est.iterations
    return EigenEstimate(est.value, est.vector, products, est.converged)


# --------------------------------------------------------------------------
# Trace and diagonal: Hutchinson's estimator
# --------------------------------------------------------------------------

def hutchinson_trace(hvp: HVP, dim: int, *, n_samples: int,
                     rng: np.random.Generator) -> TraceEstimate:
    r"""Hutchinson's estimate of :math:`\operatorname{tr} H` from ``n_samples`` probes.

    .. math::
        \widehat{\operatorname{tr}}\,H = \frac1n \sum_{k=1}^n z_k^\top H z_k, \qquad
        \operatorname{Var}\big(z^\top H z\big) = 2\sum_{i\ne j} H_{ij}^2 ,

    over independent Rademacher :math:`z_k` (Hutchinson 1989). It is unbiased,
    :math:`\mathbb{E}[z^\top H z] = \operatorname{tr}(H\,\mathbb{E}[zz^\top]) =
    \operatorname{tr} H`. The variance of one sample, for symmetric :math:`H`:
    :math:`z^\top H z = \operatorname{tr} H + 2\sum_{i<j} H_{ij} z_i z_j`
    (as :math:`z_i^2 = 1`), and the products :math:`z_i z_j` are uncorrelated with
    mean 0 and variance 1, so the variance is :math:`4\sum_{i<j} H_{ij}^2 =
    2\sum_{i\ne j}H_{ij}^2`. Only the off-diagonal entries add noise: the estimate
    of a diagonal :math:`H` is exact from one probe. The standard error of the
    mean is estimated from the samples.

    Args:
        hvp: the Hessian-vector product :math:`v \mapsto Hv`, ``(dim,) -> (dim,)``.
        dim: the dimension :math:`d \ge 1`.
        n_samples: the number of probes :math:`n \ge 1`, one product each.
        rng: a ``numpy.random.Generator`` that draws the probes.

    Returns:
        A :class:`TraceEstimate` (``value``, ``std_error``, ``n_samples``).
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    n_samples = as_count(n_samples, "n_samples")
    rng = _check_rng(rng)

    samples = np.empty(n_samples)
    for k in range(n_samples):
        z = _rademacher(rng, dim)
        samples[k] = z @ _apply(hvp, z)
    value = float(np.mean(samples))
    if n_samples == 1:
        return TraceEstimate(value, float("nan"), 1)
    std_error = float(np.std(samples, ddof=1) / np.sqrt(n_samples))
    return TraceEstimate(value, std_error, n_samples)


def hutchinson_diagonal(hvp: HVP, dim: int, *, n_samples: int,
                        rng: np.random.Generator) -> np.ndarray:
    r"""An unbiased estimate of :math:`\operatorname{diag} H` from ``n_samples`` probes.

    .. math::
        \widehat{\operatorname{diag}}\,H = \frac1n \sum_{k=1}^n z_k \odot H z_k, \qquad
        \operatorname{Var}\big(z_i\,(Hz)_i\big) = \sum_{j\ne i} H_{ij}^2 ,

    over independent Rademacher :math:`z_k` (Bekas, Kokiopoulou & Saad 2007).
    Entry :math:`i` of one sample is :math:`z_i (Hz)_i = H_{ii} + \sum_{j\ne i}
    H_{ij} z_i z_j`: its mean is :math:`H_{ii}` (unbiased), and the terms
    :math:`z_i z_j`, :math:`j \ne i`, are uncorrelated with variance 1, which gives
    the variance above. So the estimate of a diagonal :math:`H` is exact from one
    probe, and the error of entry :math:`i` shrinks like
    :math:`\big(\sum_{j\ne i}H_{ij}^2 / n\big)^{1/2}`.

    Args:
        hvp: the Hessian-vector product :math:`v \mapsto Hv`, ``(dim,) -> (dim,)``.
        dim: the dimension :math:`d \ge 1`.
        n_samples: the number of probes :math:`n \ge 1`, one product each.
        rng: a ``numpy.random.Generator`` that draws the probes.

    Returns:
        The estimate, shape ``(dim,)``.
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    n_samples = as_count(n_samples, "n_samples")
    rng = _check_rng(rng)

    total = np.zeros(dim)
    for _ in range(n_samples):
        z = _rademacher(rng, dim)
        total += z * _apply(hvp, z)
    return total / n_samples


# --------------------------------------------------------------------------
# Finite-difference Hessian-vector products
# --------------------------------------------------------------------------

_SCHEMES = ("central", "forward")


def _default_step(w: np.ndarray, v: np.ndarray, scheme: str) -> float:
    r"""The step :math:`r` that balances truncation and round-off error.

    The perturbation :math:`rv` has norm :math:`\epsilon_{\rm mach}^{1/3}(1 + \|w\|)`
    (central) or :math:`\epsilon_{\rm mach}^{1/2}(1 + \|w\|)` (forward): the classical
    optimum for a difference of :math:`O(r^2)` (resp. :math:`O(r)`) truncation error and
    :math:`O(\epsilon_{\rm mach}/r)` round-off (Nocedal & Wright 2006, §8.1).
    """
    eps = np.finfo(float).eps
    power = 1.0 / 3.0 if scheme == "central" else 0.5
    return eps**power * (1.0 + float(np.linalg.norm(w))) / float(np.linalg.norm(v))


def finite_difference_hvp(grad, w, v, *, r: float | None = None,
                          scheme: str = "central") -> np.ndarray:
    r"""The Hessian-vector product :math:`Hv` from two gradients (Pearlmutter 1994, §2).

    .. math::
        \text{central:}\quad Hv \approx \frac{\nabla L(w + rv) - \nabla L(w - rv)}{2r}
        \quad\text{error } \tfrac{r^2}{6}\,\nabla^3 L[v, v, v\,\cdot] + O(r^4),

    .. math::
        \text{forward:}\quad Hv \approx \frac{\nabla L(w + rv) - \nabla L(w)}{r}
        \quad\text{error } \tfrac{r}{2}\,\nabla^3 L[v, v\,\cdot] + O(r^2),

    by Taylor's theorem applied to :math:`\nabla L` along :math:`v`; the round-off error
    of either is about :math:`\epsilon_{\rm mach}\|\nabla L\|/r`. Exact (up to round-off)
    for a quadratic, whose third derivative is zero.

    Args:
        grad: the gradient, a function ``w -> ∇L(w)`` (e.g. ``problem.grad``).
        w: the point, shape ``(d,)``.
        v: the direction, shape ``(d,)``; ``v = 0`` gives ``0`` without a gradient call.
        r: the difference step :math:`r > 0`; by default
            :math:`\epsilon_{\rm mach}^{1/3}(1+\|w\|)/\|v\|` (central) or
            :math:`\epsilon_{\rm mach}^{1/2}(1+\|w\|)/\|v\|` (forward), which balances
            truncation against round-off.
        scheme: ``"central"`` (two gradients, :math:`O(r^2)`) or ``"forward"``
            (two gradients, one at ``w``, which a caller may already have; :math:`O(r)`).

    Returns:
        The estimate of :math:`Hv`, shape ``(d,)``.
    """
    if not callable(grad):
        raise ValueError(f"grad must be a function w -> gradient (a callable), "
                         f"got {type(grad).__name__}")
    w = as_vector(w, "w")
    v = as_vector(v, "v", dim=w.size)
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'central' or 'forward', got {scheme!r}")
    if not np.any(v):
        return np.zeros_like(w)
    r = _default_step(w, v, scheme) if r is None else as_scalar(r, "r", positive=True)
    rv = r * v
    g_plus = np.asarray(grad(w + rv), dtype=float)
    g_minus = np.asarray(grad(w - rv) if scheme == "central" else grad(w), dtype=float)
    out = g_plus - g_minus
    out /= 2.0 * r if scheme == "central" else r
    return out


class _FiniteDifferenceHVP:
    """A problem whose ``hvp`` is a finite difference of its ``grad`` (see :func:`with_fd_hvp`)."""

    def __init__(self, problem, r, scheme):
        self.problem, self.r, self.scheme = problem, r, scheme
        self.dim = problem.dim

    def loss(self, w):
        return self.problem.loss(w)

    def grad(self, w):
        return self.problem.grad(w)

    def hvp(self, w, v):
        return finite_difference_hvp(self.problem.grad, w, v, r=self.r, scheme=self.scheme)

    def __getattr__(self, name):
        # Called only for attributes not defined here: n, hessian, init, ... of the problem.
        if name == "problem":  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        attr = getattr(self.problem, name)
        if name == "subset" and callable(attr):
            return lambda idx: _FiniteDifferenceHVP(attr(idx), self.r, self.scheme)
        return attr

    def __repr__(self) -> str:
        return f"with_fd_hvp({self.problem!r}, r={self.r!r}, scheme={self.scheme!r})"


def with_fd_hvp(problem, r: float | None = None, *, scheme: str = "central"):
    r"""``problem`` with ``hvp(w, v)`` computed by :func:`finite_difference_hvp` from its ``grad``.

    The problem needs only ``dim``, ``loss`` and ``grad``; every other attribute
    (``n``, ``hessian``, ...) is passed through, and ``subset(idx)``, if the problem has
    it, returns the mini-batch problem wrapped the same way, so mini-batch runs, the
    matrix-free tools of this module and Hessian-based optimisers (AdaHessian) all apply.
    An ``hvp`` the problem already has is replaced (useful to compare the two).

    Args:
        problem: an object with an integer ``dim``, ``loss(w)`` and ``grad(w)``.
        r: the difference step (``None``: the default of :func:`finite_difference_hvp`).
        scheme: ``"central"`` or ``"forward"``.
    """
    missing = [m for m in ("loss", "grad") if not callable(getattr(problem, m, None))]
    dim = getattr(problem, "dim", None)
    bad_dim = isinstance(dim, bool) or not isinstance(dim, int | np.integer)
    if missing or bad_dim:
        what = ", ".join(missing + (["an integer dim"] if bad_dim else []))
        raise ValueError(f"problem must provide loss(w), grad(w) and an integer dim; "
                         f"{type(problem).__name__} lacks {what}")
    if r is not None:
        r = as_scalar(r, "r", positive=True)
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'central' or 'forward', got {scheme!r}")
    return _FiniteDifferenceHVP(problem, r, scheme)
