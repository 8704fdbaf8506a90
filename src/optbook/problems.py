r"""Loss functions to optimise: least squares, quadratics and Rosenbrock.

Every problem has ``dim``, ``loss(w)``, ``grad(w)``, ``hessian(w)`` and
``hvp(w, v)`` (the Hessian-vector product :math:`H(w)\,v`). The rest of optbook
only needs ``dim``, ``loss``, ``grad`` and ``hvp`` (duck typing), so a reader can
bring a problem of their own; :class:`Problem` documents that interface.

Evaluating a problem at a non-finite ``w`` returns ``inf`` or ``nan`` instead of
raising: a diverging optimiser is a result that :func:`optbook.optimizers.run`
reports, not an error.

A problem keeps the precision of its data: built from float32 arrays it computes in
float32 (at a float32 ``w``); float64 is the default.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Protocol, runtime_checkable

import numpy as np

from ._validate import FLOATS, as_matrix, as_scalar, as_symmetric, as_vector, check_problem

__all__ = ["Problem", "LeastSquares", "LogisticRegression", "Quadratic", "Rosenbrock",
           "SymbolicProblem", "finite_difference_grad", "quiet"]


@runtime_checkable
class Problem(Protocol):
    """What optbook needs from a loss :math:`L:\\mathbb{R}^d\\to\\mathbb{R}`."""

    dim: int

    def loss(self, w: np.ndarray) -> float:
        """The value :math:`L(w)`."""

    def grad(self, w: np.ndarray) -> np.ndarray:
        """The gradient :math:`g = \\nabla L(w)`, shape ``(dim,)``."""

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The Hessian-vector product :math:`\\nabla^2 L(w)\\, v`, shape ``(dim,)``."""


_SILENCED = contextvars.ContextVar("optbook_silenced", default=False)


@contextlib.contextmanager
def quiet():
    """A block in which floating-point warnings are ignored (``np.errstate(all="ignore")``)
    and the problems skip their own: :func:`optbook.optimizers.run` enters it once for the
    whole loop instead of once per evaluation."""
    token = _SILENCED.set(True)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        _SILENCED.reset(token)


def _quiet(method):
    """Evaluate without floating-point warnings: at a diverged (huge or infinite)
    point a loss is ``inf`` or ``nan``, which is a result, not a warning."""

    @functools.wraps(method)
    def quiet_method(*args, **kwargs):
        if _SILENCED.get():  # inside quiet(): warnings are already off
            return method(*args, **kwargs)
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return quiet_method


def _point(problem, w) -> np.ndarray:
    """``w`` as a float vector of length ``dim``. Shape is checked; values are not:
    non-finite points are allowed (divergence)."""
    if type(w) is np.ndarray and w.dtype in FLOATS and w.shape == (problem.dim,):
        return w  # nothing to convert: the path of every evaluation inside run
    return as_vector(w, "w", dim=problem.dim, finite=False)


class LeastSquares:
    r"""Linear least squares in the notes' convention.

    .. math::
        L(w) = \tfrac12\|\Phi^\top w - y\|^2,\qquad
        \nabla L(w) = \Phi(\Phi^\top w - y),\qquad
        H = \Phi\Phi^\top \in \mathbb{R}^{d\times d},

    with features :math:`\Phi\in\mathbb{R}^{d\times n}` (one column per sample)
    and targets :math:`y\in\mathbb{R}^n`. The Hessian does not depend on ``w``.
    :meth:`kernel` returns :math:`K=\Phi^\top\Phi\in\mathbb{R}^{n\times n}`, the
    (tangent) kernel matrix, which has the same nonzero eigenvalues as ``H``.

    Args:
        Phi: features, shape ``(d, n)``.
        y: targets, shape ``(n,)``.
        weight: a factor multiplying the loss (and its derivatives); :meth:`subset`
            uses it to make a mini-batch loss an unbiased estimate of the full one.
    """

    def __init__(self, Phi, y, *, weight: float = 1.0):
        self.Phi = as_matrix(Phi, "Phi")
        self.dim, self.n = self.Phi.shape
        self.y = as_vector(y, "y", dim=self.n).astype(self.Phi.dtype, copy=False)
        self.weight = as_scalar(weight, "weight", positive=True)

    def subset(self, idx) -> LeastSquares:
        r"""The loss on the samples ``idx`` (a mini-batch :math:`\mathcal B` of size
        :math:`B`), scaled by :math:`n/B` so that its expectation over uniformly drawn
        batches is the full loss:
        :math:`\frac{n}{B}\cdot\tfrac12\sum_{i\in\mathcal B}(\phi_i^\top w - y_i)^2`."""
        idx = _sample_index(idx, self.n)
        return LeastSquares(self.Phi[:, idx], self.y[idx],
                            weight=self.weight * self.n / idx.size)

    @_quiet
    def residual(self, w) -> np.ndarray:
        r"""The residual :math:`r = \Phi^\top w - y`, shape ``(n,)``."""
        return self.Phi.T @ _point(self, w) - self.y

    @_quiet
    def loss(self, w) -> float:
        r = self.residual(w)
        return 0.5 * self.weight * float(r @ r)

    @_quiet
    def grad(self, w) -> np.ndarray:
        return self.weight * (self.Phi @ self.residual(w))

    @_quiet
    def hessian(self, w=None) -> np.ndarray:
        """:math:`H = \\Phi\\Phi^\\top` (the same at every ``w``)."""
        if w is not None:
            _point(self, w)
        return self.weight * (self.Phi @ self.Phi.T)

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        """:math:`Hv = \\Phi(\\Phi^\\top v)`, without forming ``H``."""
        _point(self, w)
        v = as_vector(v, "v", dim=self.dim, finite=False)
        return self.weight * (self.Phi @ (self.Phi.T @ v))

    def kernel(self) -> np.ndarray:
        """The kernel matrix :math:`K = \\Phi^\\top\\Phi`, shape ``(n, n)`` (times ``weight``)."""
        return self.weight * (self.Phi.T @ self.Phi)

    def __repr__(self) -> str:
        return f"LeastSquares(d={self.dim}, n={self.n})"


class LogisticRegression:
    r"""Logistic regression, a smooth convex loss that is not quadratic.

    .. math::
        L(w) = \sum_{i=1}^n \log\big(1 + e^{-y_i\,\phi_i^\top w}\big),\qquad
        \nabla L(w) = -\Phi\,\big(y \odot \sigma(-y \odot \Phi^\top w)\big),\qquad
        \nabla^2 L(w) = \Phi\, \mathrm{diag}\big(\sigma(z)(1-\sigma(z))\big)\, \Phi^\top,

    with :math:`z = y\odot\Phi^\top w`, labels :math:`y_i\in\{-1, +1\}`, features
    :math:`\Phi\in\mathbb{R}^{d\times n}` (one column per sample) and the sigmoid
    :math:`\sigma`. Since :math:`\sigma(1-\sigma)\le 1/4`, the loss is
    :math:`\beta`-smooth with :math:`\beta = \lambda_{\max}(\Phi\Phi^\top)/4`
    (:meth:`smoothness`), everywhere. On separable data it has no minimiser.
    """

    def __init__(self, Phi, y, *, weight: float = 1.0):
        self.Phi = as_matrix(Phi, "Phi")
        self.dim, self.n = self.Phi.shape
        self.y = as_vector(y, "y", dim=self.n).astype(self.Phi.dtype, copy=False)
        if not np.all(np.isin(self.y, (-1.0, 1.0))):
            raise ValueError("y must contain only the labels -1 and +1")
        self.weight = as_scalar(weight, "weight", positive=True)

    def subset(self, idx) -> LogisticRegression:
        """The loss on the samples ``idx``, scaled by ``n / len(idx)`` (unbiased)."""
        idx = _sample_index(idx, self.n)
        return LogisticRegression(self.Phi[:, idx], self.y[idx],
                                  weight=self.weight * self.n / idx.size)

    def _margins(self, w) -> np.ndarray:
        r"""The margins :math:`z = y \odot \Phi^\top w`. Scaling ``w`` by its largest
        entry first keeps a huge (diverged) ``w`` from producing inf - inf = nan."""
        w = _point(self, w)
        scale = np.max(np.abs(w), initial=0.0)
        if not (0.0 < scale < np.inf):
            return self.y * (self.Phi.T @ w)
        return self.y * (scale * (self.Phi.T @ (w / scale)))

    @_quiet
    def loss(self, w) -> float:
        return self.weight * float(np.sum(np.logaddexp(0.0, -self._margins(w))))

    @_quiet
    def grad(self, w) -> np.ndarray:
        z = self._margins(w)
        return -self.weight * (self.Phi @ (self.y * _sigmoid(-z)))

    @_quiet
    def hessian(self, w) -> np.ndarray:
        s = _sigmoid(self._margins(w))
        return self.weight * ((self.Phi * (s * (1 - s))) @ self.Phi.T)

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        s = _sigmoid(self._margins(w))
        v = as_vector(v, "v", dim=self.dim, finite=False)
        return self.weight * (self.Phi @ (s * (1 - s) * (self.Phi.T @ v)))

    def smoothness(self) -> float:
        r""":math:`\beta = \lambda_{\max}(\Phi\Phi^\top)/4`, a global bound on
        :math:`\lambda_{\max}(\nabla^2 L(w))`."""
        return self.weight * float(np.linalg.eigvalsh(self.Phi @ self.Phi.T)[-1] / 4)

    def __repr__(self) -> str:
        return f"LogisticRegression(d={self.dim}, n={self.n})"


def _sample_index(idx, n: int) -> np.ndarray:
    """Check a mini-batch: a non-empty 1-D array of sample indices in ``[0, n)``."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"idx must be a non-empty 1-D array of integer sample indices, "
                         f"got {idx!r}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"idx must lie in [0, {n}), got values from {idx.min()} to {idx.max()}")
    return idx


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function 1/(1 + e^{-z}), computed without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


class Quadratic:
    r"""The quadratic :math:`L(w) = \tfrac12 w^\top H w - b^\top w + c`.

    Gradient :math:`Hw - b`, Hessian :math:`H` (constant, symmetric).

    Args:
        H: symmetric matrix, shape ``(d, d)``.
        b: linear term, shape ``(d,)``; zero if omitted.
        c: constant term.
    """

    def __init__(self, H, b=None, c: float = 0.0):
        self.H = as_symmetric(H, "H")
        self.dim = self.H.shape[0]
        self.b = (np.zeros(self.dim, self.H.dtype) if b is None
                  else as_vector(b, "b", dim=self.dim).astype(self.H.dtype, copy=False))
        self.c = as_scalar(c, "c")

    @_quiet
    def loss(self, w) -> float:
        w = _point(self, w)
        return float(0.5 * w @ (self.H @ w) - self.b @ w + self.c)

    @_quiet
    def grad(self, w) -> np.ndarray:
        return self.H @ _point(self, w) - self.b

    @_quiet
    def hessian(self, w=None) -> np.ndarray:
        """:math:`H` (the same at every ``w``)."""
        if w is not None:
            _point(self, w)
        return self.H.copy()

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        _point(self, w)
        return self.H @ as_vector(v, "v", dim=self.dim, finite=False)

    def minimizer(self) -> np.ndarray:
        r"""A stationary point :math:`w^\star` with :math:`Hw^\star = b` (minimum norm).

        It is the minimiser when ``H`` is positive semi-definite. Raises a
        ``ValueError`` if :math:`Hw = b` has no solution.
        """
        w_star = np.linalg.pinv(self.H) @ self.b
        if not np.allclose(self.H @ w_star, self.b, atol=1e-9 * max(1.0, np.abs(self.b).max())):
            raise ValueError("Hw = b has no solution: b is not in the range of H")
        return w_star

    def __repr__(self) -> str:
        return f"Quadratic(d={self.dim})"


class Rosenbrock:
    r"""Rosenbrock's function (Rosenbrock 1960), in ``dim`` >= 2 variables.

    .. math::
        L(w) = \sum_{i=1}^{d-1} \big[(a - w_i)^2 + b\,(w_{i+1} - w_i^2)^2\big],

    minimised at :math:`w^\star = (a, a^2, a^4, \dots)`; for ``dim=2`` and
    ``a=1`` that is :math:`(1, 1)`. Its Hessian depends on ``w``: it is the
    book's standard example of a loss that is *not* quadratic.
    """

    def __init__(self, a: float = 1.0, b: float = 100.0, dim: int = 2):
        self.a = as_scalar(a, "a")
        self.b = as_scalar(b, "b", positive=True)
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 2:
            raise ValueError(f"dim must be an integer >= 2, got {dim!r}")
        self.dim = int(dim)

    @_quiet
    def loss(self, w) -> float:
        w = _point(self, w)
        x, z = w[:-1], w[1:]
        return float(np.sum((self.a - x) ** 2 + self.b * (z - x**2) ** 2))

    @_quiet
    def grad(self, w) -> np.ndarray:
        w = _point(self, w)
        x, z = w[:-1], w[1:]
        inner = z - x**2
        g = np.zeros_like(w)
        g[:-1] += -2.0 * (self.a - x) - 4.0 * self.b * x * inner
        g[1:] += 2.0 * self.b * inner
        return g

    @_quiet
    def hessian(self, w) -> np.ndarray:
        w = _point(self, w)
        x, z = w[:-1], w[1:]
        H = np.zeros((self.dim, self.dim), w.dtype)
        i = np.arange(self.dim - 1)
        H[i, i] += 2.0 - 4.0 * self.b * (z - x**2) + 8.0 * self.b * x**2
        H[i + 1, i + 1] += 2.0 * self.b
        H[i, i + 1] = H[i + 1, i] = -4.0 * self.b * x
        return H

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        # The Hessian is tridiagonal: O(d) work, no matrix formed.
        w = _point(self, w)
        v = as_vector(v, "v", dim=self.dim, finite=False)
        x, z = w[:-1], w[1:]
        diag = np.zeros_like(w)
        diag[:-1] += 2.0 - 4.0 * self.b * (z - x**2) + 8.0 * self.b * x**2
        diag[1:] += 2.0 * self.b
        off = -4.0 * self.b * x
        out = diag * v
        out[:-1] += off * v[1:]
        out[1:] += off * v[:-1]
        return out

    def minimizer(self) -> np.ndarray:
        """The global minimiser: :math:`(a, a^2)` for ``dim=2``; all ``a`` for ``a`` in {0, 1}.

        For ``dim > 2`` and other ``a`` there is no closed form, and this raises.
        """
        if self.dim == 2:
            return np.array([self.a, self.a**2])
        if self.a in (0.0, 1.0):
            return np.full(self.dim, self.a)
        raise ValueError("the minimiser has a closed form only for dim=2 or a in {0, 1}")

    def __repr__(self) -> str:
        return f"Rosenbrock(a={self.a}, b={self.b}, dim={self.dim})"


class SymbolicProblem:
    r"""Any loss written in SymPy, as an optbook problem: bring your own function.

    ``SymbolicProblem(expr, [w1, w2, ...])`` differentiates ``expr`` symbolically
    once (gradient and Hessian) and turns the three into NumPy functions with
    ``sympy.lambdify``; ``hvp`` multiplies the Hessian by ``v``. Meant for small
    ``dim`` (the Hessian has ``dim**2`` expressions).

    Args:
        expr: a SymPy expression of the symbols.
        symbols: the parameters :math:`w_1, \dots, w_d`, in order.
    """

    def __init__(self, expr, symbols):
        import sympy as sp

        self.symbols = list(symbols)
        if not self.symbols or not all(isinstance(x, sp.Symbol) for x in self.symbols):
            raise ValueError("symbols must be a non-empty list of sympy Symbols")
        self.expr = sp.sympify(expr)
        unknown = self.expr.free_symbols - set(self.symbols)
        if unknown:
            names = sorted(map(str, unknown))
            raise ValueError(f"expr has symbols that are not parameters: {names}; "
                             "substitute numbers for them first")
        self.dim = len(self.symbols)
        grad = [sp.diff(self.expr, x) for x in self.symbols]
        hess = [[sp.diff(gi, x) for x in self.symbols] for gi in grad]
        self._f = sp.lambdify(self.symbols, self.expr, "numpy")
        self._g = sp.lambdify(self.symbols, grad, "numpy")
        self._h = sp.lambdify(self.symbols, hess, "numpy")

    @_quiet
    def loss(self, w) -> float:
        return float(self._f(*_point(self, w)))

    @_quiet
    def grad(self, w) -> np.ndarray:
        w = _point(self, w)
        return np.array(self._g(*w), dtype=w.dtype)

    @_quiet
    def hessian(self, w) -> np.ndarray:
        w = _point(self, w)
        return np.array(self._h(*w), dtype=w.dtype).reshape(self.dim, self.dim)

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        return self.hessian(w) @ as_vector(v, "v", dim=self.dim, finite=False)

    def __repr__(self) -> str:
        return f"SymbolicProblem({self.expr})"


def finite_difference_grad(problem, w, *, r: float = 1e-6) -> np.ndarray:
    r"""Central-difference gradient, :math:`[L(w + r e_i) - L(w - r e_i)]/(2r)`.

    Error :math:`O(r^2)` plus round-off :math:`O(\epsilon_{\rm mach}/r)`. For tests
    and for checking a reader's own ``grad``; it costs ``2 * dim`` loss evaluations.
    """
    check_problem(problem)
    w = as_vector(w, "w", dim=problem.dim)
    r = as_scalar(r, "r", positive=True)
    g = np.empty(problem.dim)
    for i in range(problem.dim):
        e = np.zeros(problem.dim)
        e[i] = r
        g[i] = (problem.loss(w + e) - problem.loss(w - e)) / (2 * r)
    return g
