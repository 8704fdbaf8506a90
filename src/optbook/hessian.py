r"""Matrix-free Hessian tools: extreme eigenvalues, trace and diagonal.

Every function takes ``hvp``, any function :math:`v \mapsto Hv` for a symmetric
:math:`H\in\mathbb{R}^{d\times d}` (for a problem of :mod:`optbook.problems`,
``lambda v: problem.hvp(w, v)``), and never forms :math:`H`: each probe costs
one Hessian-vector product and :math:`O(d)` memory, so the tools run at
:math:`d = 10^5` and beyond. The matrix versions for small :math:`d` are in
:mod:`optbook.spectral`.

Extreme eigenvalues come from the Lanczos method (:func:`lanczos_eigenvalues`, the
default of :func:`top_eigenvalue` and :func:`smallest_eigenvalue`), which keeps the
whole Krylov space and so needs far fewer products than power iteration
(``method="power"``, the idea the chapters teach); Lanczos stores one vector of
length :math:`d` per product.

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

__all__ = ["EigenEstimate", "TraceEstimate", "lanczos_eigenvalues", "top_eigenvalue",
           "top_eigenvalues", "smallest_eigenvalue", "hutchinson_trace", "hutchinson_diagonal",
           "finite_difference_hvp", "with_fd_hvp"]

HVP = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class EigenEstimate:
    """An eigenvalue estimate, from Lanczos or power iteration.

    Attributes:
        value: the estimate of the eigenvalue of :math:`H`, the Rayleigh quotient
            :math:`v^\\top H v` of ``vector`` (for Lanczos, the Ritz value).
        vector: the unit vector :math:`v` whose Rayleigh quotient is ``value``, an
            estimate of the eigenvector, shape ``(dim,)`` (the Ritz vector for Lanczos).
        iterations: the number of Hessian-vector products used.
        converged: whether the stopping test was met within ``max_iter`` products.
        residual: :math:`\\|Hv - \\mathrm{value}\\,v\\|` (for Lanczos its bound
            :math:`|\\beta_m s_{m,i}|`, computed without a product). Some eigenvalue
            :math:`\\lambda` of :math:`H` has :math:`|\\lambda - \\mathrm{value}| \\le`
            ``residual`` (up to round-off), whatever the method.

    (Compared by identity: it holds an array.)
    """

    value: float
    vector: np.ndarray
    iterations: int
    converged: bool
    residual: float = float("nan")


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


def _apply(hvp: HVP, v: np.ndarray, *, keep_float32: bool = False) -> np.ndarray:
    """``hvp(v)`` as a float vector of ``v``'s shape, with finite entries.

    ``hvp`` gets a copy, so that one that writes into its argument cannot
    corrupt the iteration. The result is float64, or float32 if ``hvp``
    returned float32 and ``keep_float32`` is set.
    """
    raw = hvp(v.copy())
    keep = keep_float32 and getattr(raw, "dtype", None) == np.float32
    try:
        out = np.asarray(raw, dtype=np.float32 if keep else float)
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
# Extreme eigenvalues: Lanczos
# --------------------------------------------------------------------------

_WHICH = ("largest", "smallest", "both_ends")
_METHODS = ("lanczos", "power")


def lanczos_eigenvalues(hvp: HVP, dim: int, k: int = 1, *, which: str = "largest",
                        rng: np.random.Generator, tol: float = 1e-6,
                        max_iter: int = 1000) -> list[EigenEstimate]:
    r"""The ``k`` largest or smallest eigenvalues of :math:`H`, or both, by the Lanczos method.

    From a random unit :math:`q_1` drawn from ``rng``, each Hessian-vector product adds
    one vector to an orthonormal basis :math:`Q_m = [q_1, \dots, q_m]` of the Krylov
    space :math:`\mathcal K_m = \operatorname{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}`, in
    which :math:`H` is tridiagonal (Lanczos 1950; Golub & Van Loan 2013, §10.1):

    .. math::
        H Q_m = Q_m T_m + \beta_m q_{m+1} e_m^\top, \qquad
        T_m = \begin{pmatrix} \alpha_1 & \beta_1 & & \\ \beta_1 & \alpha_2 & \ddots & \\
        & \ddots & \ddots & \beta_{m-1} \\ & & \beta_{m-1} & \alpha_m \end{pmatrix},

    with :math:`\alpha_j = q_j^\top H q_j` and
    :math:`\beta_j q_{j+1} = Hq_j - \alpha_j q_j - \beta_{j-1} q_{j-1}`. Here
    :math:`Hq_j` is orthogonalised against all of :math:`Q_j` (which subtracts those two
    terms and the round-off along the other :math:`q_i`), twice ("twice is enough",
    Parlett 1998): that keeps :math:`Q_m` orthonormal to working precision, while the
    three-term recurrence alone loses orthogonality as soon as a Ritz value converges
    (Paige 1972). The eigenpairs :math:`T_m s_i = \theta_i s_i` (``np.linalg.eigh`` of
    the small :math:`T_m`) give the Ritz values :math:`\theta_i` and unit Ritz vectors
    :math:`y_i = Q_m s_i`, whose residuals need no further product:

    .. math::
        \|H y_i - \theta_i y_i\| = |\beta_m\, s_{m,i}|, \qquad
        \min_{\lambda} |\lambda - \theta_i| \le |\beta_m\, s_{m,i}|,

    the minimum over the eigenvalues :math:`\lambda` of :math:`H` (for a unit :math:`y`,
    :math:`\|Hy - \theta y\|^2 = \sum_j c_j^2(\lambda_j - \theta)^2 \ge
    \min_j(\lambda_j - \theta)^2`, with :math:`c_j` the coordinates of :math:`y` in an
    orthonormal eigenbasis). The run stops when every wanted Ritz pair has
    :math:`|\beta_m s_{m,i}| \le \mathrm{tol}\cdot|\theta_i|`, or is below the round-off
    floor :math:`32\sqrt d\,\epsilon\,\|T_m\|` (:math:`\epsilon` the precision of the
    products), which only an eigenvalue near 0 needs. So ``tol`` is the relative
    accuracy of each value: :math:`|\lambda - \theta_i| \le \mathrm{tol}\cdot|\theta_i|`
    for some eigenvalue :math:`\lambda`. The actual error is usually far smaller, about
    :math:`\mathrm{residual}^2/\mathrm{gap}` when :math:`\theta_i` is a gap away from the
    other eigenvalues (Kato-Temple). An eigenvalue at 0 is only found to the floor, which
    can take many products. When at most four values are wanted, their residuals are
    first estimated after each product from the eigenvalues of :math:`T_m`
    (``np.linalg.eigvalsh``) and two steps of inverse iteration; the full
    ``np.linalg.eigh``, which decides, runs once the estimates pass.

    **Why far fewer products than power iteration.** :math:`\mathcal K_m` holds
    :math:`p(H)q_1` for every polynomial :math:`p` of degree :math:`< m`, and
    :math:`\theta_1` is the largest Rayleigh quotient on it, so it beats every
    polynomial filter, :math:`H^{m-1}` included. With Chebyshev polynomials
    (Kaniel-Paige-Saad; Golub & Van Loan 2013, Thm 10.1.2) the error of
    :math:`\theta_1` falls by about :math:`e^{-4\sqrt{\rho}}` per product,
    :math:`\rho = (\lambda_1 - \lambda_2)/(\lambda_2 - \lambda_d)`; power iteration's by
    :math:`(\lambda_2/\lambda_1)^2`. For a positive semi-definite :math:`H` with relative
    gap :math:`\delta = (\lambda_1 - \lambda_2)/\lambda_1` that is about
    :math:`0.58/\sqrt\delta` products per digit instead of :math:`1.15/\delta`.

    **Repeated eigenvalues.** One start vector sees one copy of each eigenvalue: in
    exact arithmetic :math:`\mathcal K_m` stays in the smallest invariant subspace that
    holds :math:`q_1`. So when the wanted values have converged and :math:`\beta_m` is
    within their tolerance (:math:`\mathcal K_m` is invariant to the accuracy asked
    for), the run does not stop if another copy of the newest extreme value would be
    among the wanted ones: it goes on into the orthogonal complement, from
    :math:`\beta_m q_{m+1}` or, if :math:`\beta_m` is at the round-off floor (a
    breakdown), from a new random vector orthogonal to :math:`Q_m` (:math:`T_m` then
    gets a zero off the diagonal, and the dropped :math:`\beta_m` is added to the
    residuals), and stops when the new directions have shown their own extreme value.
    A small :math:`H` is so exhausted copy by copy. A large one rarely becomes invariant:
    a repeated eigenvalue may then be returned once, followed by the next distinct one
    (so with any single-vector Krylov method); every value is still within its residual
    of an eigenvalue.

    **Cost.** One product per step, :math:`O(md)` flops to reorthogonalise, and
    :math:`Q_m` in memory: :math:`md` numbers (0.8 MB per product at :math:`d = 10^5`),
    bounded through ``max_iter``. :math:`m \le d`: at :math:`m = d` the space is all of
    :math:`\mathbb R^d` and the Ritz values are the eigenvalues.

    **Precision.** If ``hvp`` returns float32 vectors the basis is float32 (:math:`T_m`
    and its decomposition stay float64), and the floor, with :math:`\epsilon = 2^{-23}`,
    is :math:`4\cdot10^{-6}\sqrt d\,\|T_m\|`: a value within it of 0 is known only to
    that accuracy (the others still to ``tol``, if float32 products allow it).

    Args:
        hvp: the Hessian-vector product :math:`v \mapsto Hv`, ``(dim,) -> (dim,)``, for a
            symmetric :math:`H`.
        dim: the dimension :math:`d \ge 1`.
        k: how many eigenvalues, :math:`1 \le k \le d`.
        which: ``"largest"`` (the ``k`` largest, largest first), ``"smallest"`` (the
            ``k`` smallest, smallest first) or ``"both_ends"`` (the ``k`` smallest and the
            ``k`` largest, at most :math:`d` values, in increasing order).
        rng: a ``numpy.random.Generator``; it draws :math:`q_1` (and any restart).
        tol: the relative accuracy of the values, > 0 (above).
        max_iter: the largest number of Hessian-vector products (and of stored
            vectors), at least the number of values wanted.

    Returns:
        A list of :class:`EigenEstimate`, one per wanted eigenvalue, in the order above:
        the Ritz value, its unit Ritz vector (float32 if the products were), the number
        of products of the whole run (the same for all), whether its residual met the
        test, and its residual bound.
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    k = as_count(k, "k")
    if k > dim:
        raise ValueError(f"k must be <= dim = {dim} (H has {dim} eigenvalues), got {k}")
    if which not in _WHICH:
        raise ValueError(f"which must be one of {', '.join(map(repr, _WHICH))}, got {which!r}")
    rng = _check_rng(rng)
    tol = as_scalar(tol, "tol", positive=True)
    max_iter = as_count(max_iter, "max_iter")
    wanted = min(2 * k, dim) if which == "both_ends" else k
    if max_iter < wanted:
        raise ValueError(f"max_iter must be >= {wanted}, the number of eigenvalues wanted "
                         f"(each needs a product), got {max_iter}")
    return _lanczos(hvp, dim, k, which, rng, tol, max_iter)


def _wanted(m: int, k: int, which: str) -> np.ndarray:
    """Indices of the wanted values among ``m`` increasing Ritz values, in returned order."""
    k = min(k, m)
    if which == "largest":
        return np.arange(m - 1, m - k - 1, -1)
    if which == "smallest":
        return np.arange(k)
    return np.union1d(np.arange(k), np.arange(m - k, m))


def _residual_estimates(T: np.ndarray, theta: np.ndarray, b: float,
                        shift: float) -> np.ndarray | None:
    r"""Estimates of the residuals :math:`|\beta_m s_{m,i}|` of the Ritz values ``theta``,
    from eigenvectors of :math:`T_m` by inverse iteration (two solves with
    :math:`T_m - (\theta_i + \text{shift})I`); ``None`` if a solve fails."""
    m = T.shape[0]
    out = np.empty(theta.size)
    for j, t in enumerate(theta):
        A = T - (t + shift) * np.eye(m)
        x = np.linspace(1.0, 2.0, m)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for _ in range(2):
                    x = np.linalg.solve(A, x / np.linalg.norm(x))
                out[j] = abs(b * x[-1]) / np.linalg.norm(x)
        except np.linalg.LinAlgError:
            return None
    return out if np.all(np.isfinite(out)) else None


_BLOCK = 16  # rows per block of the Lanczos basis
_FLOOR = 32  # the round-off floor is _FLOOR sqrt(d) eps ||T_m||


def _more_copies(theta, block, k, which, tol, floor) -> bool:
    """With K_m invariant: would another copy of the newest block's extreme value be wanted?

    It would if fewer than ``k`` Ritz values so far are >= (largest) or <= (smallest)
    that value, up to the accuracy of the test (``block``: the newest block's Ritz
    values, increasing; ``theta``: all of them).
    """
    more = False
    if which in ("largest", "both_ends"):
        top = block[-1]
        more |= np.count_nonzero(theta >= top - max(tol * abs(top), floor)) < k
    if which in ("smallest", "both_ends"):
        bottom = block[0]
        more |= np.count_nonzero(theta <= bottom + max(tol * abs(bottom), floor)) < k
    return bool(more)


class _Krylov:
    """The state of a Lanczos run: the basis :math:`Q_m`, :math:`T_m` and its breakdowns,
    grown one Hessian-vector product at a time.

    The basis is kept as blocks of ``_BLOCK`` rows (:math:`q_j` is row ``j % _BLOCK`` of
    block ``j // _BLOCK``), so that growing it never copies it.
    """

    def __init__(self, hvp: HVP, dim: int, m_max: int, rng: np.random.Generator,
                 v0: np.ndarray | None = None):
        self.hvp, self.dim, self.m_max, self.rng = hvp, dim, m_max, rng
        self.blocks: list[np.ndarray] = []
        self.alpha, self.beta = np.zeros(m_max), np.zeros(m_max)
        self.cut = np.zeros(m_max)  # beta_j dropped at a restart (T has a zero there)
        self.m, self.start, self.scale = 0, 0, 0.0  # start: the first row of the newest block
        self.dtype = np.dtype(float)
        q = _start(rng, dim, v0)
        self._set(0, q / np.linalg.norm(q))

    @property
    def eps(self) -> float:
        """The precision of the basis (float64, or float32 for float32 products)."""
        return float(np.finfo(self.dtype).eps)

    def q(self, j: int) -> np.ndarray:
        return self.blocks[j // _BLOCK][j % _BLOCK]

    def _set(self, j: int, q: np.ndarray) -> None:
        if j == len(self.blocks) * _BLOCK:
            self.blocks.append(np.empty((min(_BLOCK, self.m_max - j), self.dim), self.dtype))
        self.blocks[j // _BLOCK][j % _BLOCK] = q

    def coefficients(self, w: np.ndarray, n: int) -> np.ndarray:
        """:math:`Q_n^\\top w`, the coordinates of ``w`` along :math:`q_1, \\dots, q_n`."""
        return np.concatenate([B[:n - i * _BLOCK] @ w for i, B in enumerate(self.blocks)
                               if i * _BLOCK < n])

    def combine(self, c: np.ndarray) -> np.ndarray:
        """:math:`Q_n c` for ``c`` of length :math:`n` (or of shape ``(n, r)``: ``(r, d)``)."""
        c = np.asarray(c, dtype=self.dtype)
        return sum(c[i * _BLOCK:(i + 1) * _BLOCK].T @ B[:len(c) - i * _BLOCK]
                   for i, B in enumerate(self.blocks) if i * _BLOCK < len(c))

    def step(self) -> tuple[np.ndarray, float]:
        r"""One product: :math:`\alpha_m = q_m^\top Hq_m`, and :math:`w = \beta_m q_{m+1}`,
        :math:`Hq_m` orthogonalised against all of :math:`Q_m` (which subtracts
        :math:`\alpha_m q_m + \beta_{m-1}q_{m-1}` and the round-off along the rest), twice."""
        m = self.m
        w = _apply(self.hvp, self.q(m), keep_float32=True)
        if m == 0 and w.dtype != self.dtype:  # float32 products: a float32 basis
            self.dtype, q1 = w.dtype, self.blocks[0][0]
            self.blocks[0] = np.empty(self.blocks[0].shape, w.dtype)  # only row 0 is set
            self.blocks[0][0] = q1
        c = self.coefficients(w, m + 1)  # c[m] = alpha_m
        w = w - self.combine(c)  # not in place: w may be an array that hvp keeps
        c2 = self.coefficients(w, m + 1)  # twice is enough
        w -= self.combine(c2)
        a = float(c[m] + c2[m])
        b = float(np.linalg.norm(w))
        self.alpha[m] = a
        previous = self.beta[m - 1] if m > 0 else 0.0
        self.scale = max(self.scale, abs(a) + b + previous)  # a row sum of T: ~ ||H||
        self.m += 1
        return w, b

    def push(self, w: np.ndarray, b: float, *, new_block: bool = False) -> None:
        r""":math:`q_{m+1} = w/\beta_m`; ``new_block`` marks where the newest block starts."""
        self.beta[self.m - 1] = b
        self._set(self.m, w / b)
        if new_block:
            self.start = self.m

    def restart(self, b: float) -> None:
        """Drop :math:`\\beta_m = b` (round-off) and go on from a random vector orthogonal
        to :math:`Q_m`."""
        self.cut[self.m - 1] = b
        w = self.rng.standard_normal(self.dim).astype(self.dtype)
        for _ in range(2):
            w -= self.combine(self.coefficients(w, self.m))
        self._set(self.m, w / np.linalg.norm(w))
        self.start = self.m

    def dropped(self, S: np.ndarray) -> np.ndarray:
        r"""What the dropped :math:`\beta_e` add to the residuals of the Ritz vectors
        :math:`Q_m s_i` (columns of ``S``): :math:`HQ_m - Q_mT_m` has :math:`w_e` in column
        :math:`e` and, through symmetry, :math:`q_e (Q_{>e}^\top w_e)^\top` in the later ones,
        so each adds at most :math:`\beta_e(|s_{e,i}| + \|s_{>e,i}\|)`."""
        out = np.zeros(S.shape[1])
        for e in np.flatnonzero(self.cut[:self.m]):
            out += self.cut[e] * (np.abs(S[e]) + np.linalg.norm(S[e + 1:], axis=0))
        return out

    def T(self) -> np.ndarray:
        """:math:`T_m`, dense."""
        m = self.m
        T = np.diag(self.alpha[:m])
        i = np.arange(m - 1)
        T[i, i + 1] = T[i + 1, i] = self.beta[:m - 1]
        return T


def _start(rng: np.random.Generator, dim: int, v0) -> np.ndarray:
    """The first vector: random, or a warm start ``v0`` (a guess of the eigenvector, e.g.
    the previous one along a run) plus a random 1 % of its length, so that no direction
    of the space is missing from the start."""
    r = rng.standard_normal(dim)
    if v0 is None:
        return r
    return v0 / np.linalg.norm(v0) + 0.01 * r / np.linalg.norm(r)


def _check_start(v0, dim: int):
    if v0 is None:
        return None
    v0 = np.array(as_vector(v0, "v0", dim=dim), dtype=float)
    if not np.any(v0):
        raise ValueError("v0 must be a nonzero vector (a guess of the eigenvector)")
    return v0


def _lanczos(hvp, dim, k, which, rng, tol, max_iter, v0=None) -> list[EigenEstimate]:
    """The Lanczos run of :func:`lanczos_eigenvalues`, on checked arguments."""
    K = _Krylov(hvp, dim, min(max_iter, dim), rng, v0)  # K_m cannot outgrow R^d
    wanted = min(2 * k, dim) if which == "both_ends" else k
    while True:
        w, b = K.step()
        m = K.m
        floor = _FLOOR * np.sqrt(dim) * K.eps * K.scale  # round-off in H q and in Q_m
        breakdown = b <= floor or m == dim  # K_m is invariant: w is round-off
        # Few values wanted: their residuals are estimated from T_m's eigenvalues and
        # inverse iteration (cheap); its full eigen-decomposition waits until they pass.
        T, idx = K.T(), _wanted(m, k, which)
        if not (breakdown or m == K.m_max):
            if idx.size < wanted:  # fewer Ritz values than wanted yet
                K.push(w, b)
                continue
            if wanted <= 4:
                theta = np.linalg.eigvalsh(T)[idx]
                estimate = _residual_estimates(T, theta, b, K.eps * K.scale)
                if (estimate is not None
                        and np.any(estimate > 2 * np.maximum(tol * np.abs(theta), floor))):
                    K.push(w, b)
                    continue
        theta, S = np.linalg.eigh(T)
        live = b * np.abs(S[m - 1])  # |beta_m s_mi|; the dropped beta_j add cut @ |S|
        ok = live[idx] <= np.maximum(tol * np.abs(theta[idx]), floor)
        done = idx.size == wanted and bool(ok.all())
        if m == K.m_max:
            break
        block = theta  # the Ritz values of the newest block
        if done and K.start > 0:  # a new block must first show its extreme values
            block, S_block = np.linalg.eigh(T[K.start:, K.start:])
            ends = _wanted(m - K.start, 1, which)
            done = bool(np.all(b * np.abs(S_block[-1, ends])
                               <= np.maximum(tol * np.abs(block[ends]), floor)))
        # b within every wanted test, or at round-off: K_m is invariant to the accuracy
        # asked for, and further copies of an eigenvalue can only come from directions
        # outside it: go on (from round-off, or a random vector) and watch the new block.
        invariant = breakdown or b <= np.min(np.maximum(tol * np.abs(theta[idx]), floor))
        if done and not (invariant and _more_copies(theta, block, k, which, tol, floor)):
            break
        if breakdown:
            K.restart(b)
        else:
            K.push(w, b, new_block=done)
    residual = live + K.dropped(S)
    Y = np.atleast_2d(K.combine(S[:, idx]))  # the Ritz vectors, one per row
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    return [EigenEstimate(float(theta[i]), Y[j], m, bool(ok[j]), float(residual[i]))
            for j, i in enumerate(idx)]


def _check_method(method) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    return method


# --------------------------------------------------------------------------
# Extreme eigenvalues: the largest and the smallest
# --------------------------------------------------------------------------

def top_eigenvalue(hvp: HVP, dim: int, *, rng: np.random.Generator, tol: float = 1e-6,
                   max_iter: int = 1000, shift: float = 0.0,
                   method: str = "lanczos", v0=None) -> EigenEstimate:
    r""":math:`\lambda_{\max}(H)`, by the Lanczos method (default) or by power iteration.

    **Lanczos** (``method="lanczos"``): the largest Ritz value of
    :func:`lanczos_eigenvalues` (``k=1``, ``which="largest"``). ``tol`` is the relative
    accuracy of the eigenvalue: :math:`|\lambda - \mathrm{value}| \le
    \mathrm{tol}\cdot|\mathrm{value}|` for some eigenvalue :math:`\lambda` of :math:`H`
    (a bound on the residual, checked as it runs). It finds :math:`\lambda_{\max}` of an
    indefinite :math:`H` directly, so ``shift`` is accepted (and checked) but has no
    effect. It stores one vector of length ``dim`` per product.

    **Power iteration** (``method="power"``): the eigenvalue of largest magnitude of
    :math:`H - sI`, plus :math:`s`, as follows.

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
        tol: Lanczos: the relative accuracy of the eigenvalue (above); power
            iteration: the relative tolerance on the change of the Rayleigh quotient.
            > 0.
        max_iter: the largest number of Hessian-vector products, >= 1.
        shift: the shift :math:`s` of power iteration (no effect on Lanczos).
        method: ``"lanczos"`` (default) or ``"power"``.
        v0: a guess of the eigenvector to start from (e.g. the previous one along a
            run: :func:`optbook.experiments.sharpness`), perturbed by 1 % at random;
            ``None`` (default): a random start.

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
    v0 = _check_start(v0, dim)
    if _check_method(method) == "lanczos":
        return _lanczos(hvp, dim, 1, "largest", rng, tol, max_iter, v0)[0]
    return _power_iteration(hvp, dim, rng, tol, max_iter, shift, v0)


def top_eigenvalues(hvp: HVP, dim: int, k: int, *, rng: np.random.Generator,
                    tol: float = 1e-6, max_iter: int = 1000) -> list[EigenEstimate]:
    r"""The ``k`` largest eigenvalues of :math:`H`, largest first, by Lanczos.

    The same as :func:`lanczos_eigenvalues` with ``which="largest"``; ``tol`` is the
    relative accuracy of each value.
    """
    return lanczos_eigenvalues(hvp, dim, k, which="largest", rng=rng, tol=tol,
                               max_iter=max_iter)


def _power_iteration(hvp, dim, rng, tol, max_iter, shift, v0=None) -> EigenEstimate:
    """Power iteration on :math:`H - sI` (see :func:`top_eigenvalue`), on checked arguments."""
    v = _start(rng, dim, v0)
    v /= np.linalg.norm(v)
    rho_prev = np.nan
    for k in range(1, max_iter + 1):
        w = _apply(hvp, v)
        if shift != 0.0:
            w = w - shift * v  # not in place: w may be an array that hvp keeps
        rho = float(v @ w)
        if k >= 2 and abs(rho - rho_prev) <= tol * max(abs(rho), abs(rho + shift)):
            return EigenEstimate(rho + shift, v, k, True, _residual(w, rho, v))
        norm = float(np.linalg.norm(w))
        if norm == 0.0:  # (H - sI) v = 0: v is an eigenvector of H, eigenvalue s
            return EigenEstimate(shift, v, k, True, 0.0)
        if k == max_iter:
            break
        v = w / norm
        rho_prev = rho
    return EigenEstimate(rho + shift, v, max_iter, False, _residual(w, rho, v))


def _residual(w: np.ndarray, rho: float, v: np.ndarray) -> float:
    """:math:`\\|(H - sI)v - \\rho v\\| = \\|Hv - (\\rho + s)v\\|` from ``w`` = (H - sI)v."""
    return float(np.linalg.norm(w - rho * v))


def smallest_eigenvalue(hvp: HVP, dim: int, *, rng: np.random.Generator, tol: float = 1e-6,
                        max_iter: int = 1000, shift: float | None = None,
                        method: str = "lanczos") -> EigenEstimate:
    r""":math:`\lambda_{\min}(H)`, by the Lanczos method (default) or power iteration on a shift.

    **Lanczos** (``method="lanczos"``): the smallest Ritz value of
    :func:`lanczos_eigenvalues` (``k=1``, ``which="smallest"``), with ``tol`` the
    relative accuracy as in :func:`top_eigenvalue`: :math:`|\lambda - \mathrm{value}|
    \le \mathrm{tol}\cdot|\mathrm{value}|` for some eigenvalue :math:`\lambda`, or to the
    round-off floor for a :math:`\lambda_{\min}` near 0, which can take many products (a
    flat minimum's Hessian has many eigenvalues near 0). ``shift`` is accepted (and
    checked) but has no effect.

    **Power iteration** (``method="power"``), as follows.
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
        hvp, dim, rng, tol, max_iter: as in :func:`top_eigenvalue` (for power
            iteration ``tol`` and ``max_iter`` apply to each run; ``rng`` draws every
            starting vector).
        shift: power iteration: a known :math:`s \ge \lambda_{\max}`, such as a
            smoothness constant :math:`\beta`, to skip the first run; estimated if
            ``None``. A shift far above :math:`\lambda_{\max}` slows the convergence.
            No effect on Lanczos.
        method: ``"lanczos"`` (default) or ``"power"``.

    Returns:
        An :class:`EigenEstimate` of :math:`\lambda_{\min}`; ``iterations`` counts the
        products of all runs, and ``converged`` is that of the last run.
    """
    _check_hvp(hvp)
    dim = as_count(dim, "dim")
    rng = _check_rng(rng)
    tol = as_scalar(tol, "tol", positive=True)
    max_iter = as_count(max_iter, "max_iter")
    if shift is not None:
        shift = as_scalar(shift, "shift")
    if _check_method(method) == "lanczos":
        return _lanczos(hvp, dim, 1, "smallest", rng, tol, max_iter)[0]

    def run(s):
        return _power_iteration(hvp, dim, rng, tol, max_iter, s)

    if shift is None:
        first = run(0.0)
        s, products = abs(first.value), first.iterations
    else:
        s, products = shift, 0
    est = run(s)
    products += est.iterations
    if est.value > s:  # λ_max - s dominated H - sI: s was below (λ_min + λ_max)/2
        s = est.value
        est = run(s)
        products += est.iterations
    return EigenEstimate(est.value, est.vector, products, est.converged, est.residual)


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
        \quad\text{error } \tfrac{r^2}{6}\,\nabla^4 L[v, v, v\,\cdot] + O(r^4),

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
