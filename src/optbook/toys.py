r"""Two-dimensional toy losses with minima of different sharpness (Chapter 8).

* :class:`NoisyValley` — the valley :math:`L(u, v) = \tfrac12(1+u^2)v^2` of Wang et al.
  (2024, Fig. 1) written as a least-squares fit with label noise, so that mini-batches
  make SGD's iterates fluctuate across the valley and drift along it;
* :class:`TwoBasins` — a loss with a sharp and a flat minimum of (nearly) the same
  depth, for watching which one an optimiser ends in;
* :class:`SaddleSum` — a saddle written as a sum of per-sample losses, so that
  mini-batch noise pushes SGD off the line along which gradient descent stalls
  (Chapter 6).

Both follow the interface of :mod:`optbook.problems` (``dim``, ``loss``, ``grad``,
``hvp``, ``hessian``; ``n`` and ``subset`` for the valley), so :func:`optbook.run` and
the optimisers of :mod:`optbook.sharpness` apply.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_scalar, as_vector

__all__ = ["NoisyValley", "TwoBasins", "SaddleSum"]


def _point(w) -> tuple[float, float]:
    w = as_vector(w, "w", dim=2, finite=False)
    return float(w[0]), float(w[1])


class NoisyValley:
    r"""The valley toy with label noise, :math:`w = (u, v)`, :math:`a(u) = \sqrt{1+u^2}`:

    .. math::
        L(w) = \frac1{2n}\sum_{i=1}^n\big(a(u)\,v - y_i\big)^2
             = \tfrac12 a^2 v^2 - a v\,\bar y + \tfrac12\overline{y^2} .

    With centred samples (:math:`\bar y = 0`, as :meth:`centred` makes them),
    :math:`L = \tfrac12(1+u^2)v^2 + L^*`, :math:`L^* = \tfrac12\overline{y^2}`: every
    :math:`(u, 0)` is a global minimum, with Hessian
    :math:`\operatorname{diag}(0, 1+u^2)`, so the sharpness :math:`1+u^2` is smallest at
    :math:`u = 0`. :meth:`subset` gives the mini-batch loss (the *mean* over the batch,
    an unbiased estimate of :math:`L`), whose :math:`\bar y_{\mathcal B}\ne0` is the noise:
    the mini-batch gradient along :math:`v` is off by :math:`-a\,\bar y_{\mathcal B}`.

    Args:
        y: the targets :math:`y_1, \dots, y_n`.

    Attributes:
        n, dim: the number of samples and 2.
        ybar: :math:`\bar y`.
        floor: :math:`\min L = \tfrac12\,\overline{(y - \bar y)^2}`.
    """

    def __init__(self, y):
        self.y = as_vector(y, "y")
        self.n, self.dim = self.y.size, 2
        self.ybar = float(self.y.mean())
        self.floor = 0.5 * float(np.mean((self.y - self.ybar) ** 2))

    @classmethod
    def centred(cls, n: int, *, rng: np.random.Generator) -> NoisyValley:
        """A valley with ``n`` standard normal targets, centred (:math:`\\bar y = 0`)."""
        y = rng.standard_normal(int(n))
        return cls(y - y.mean())

    def subset(self, idx) -> NoisyValley:
        """The mini-batch loss on the samples ``idx`` (a mean, so unbiased)."""
        return NoisyValley(self.y[np.asarray(idx)])

    def loss(self, w) -> float:
        u, v = _point(w)
        return 0.5 * float(np.mean((np.sqrt(1.0 + u * u) * v - self.y) ** 2))

    def grad(self, w) -> np.ndarray:
        u, v = _point(w)
        a = np.sqrt(1.0 + u * u)
        return np.array([u * v * v - v * self.ybar * u / a, a * a * v - a * self.ybar])

    def hessian(self, w) -> np.ndarray:
        u, v = _point(w)
        a = np.sqrt(1.0 + u * u)
        huv = 2.0 * u * v - self.ybar * u / a
        return np.array([[v * v - v * self.ybar / a**3, huv], [huv, a * a]])

    def hvp(self, w, x) -> np.ndarray:
        return self.hessian(w) @ as_vector(x, "x", dim=2, finite=False)

    def __repr__(self) -> str:
        return f"NoisyValley(n={self.n})"


class TwoBasins:
    r"""A sharp and a flat quadratic bowl, joined by a smooth minimum (a "soft-min"):

    .. math::
        L(w) = -\log\Big(e^{-q_s(w)} + e^{-q_f(w)}\Big), \qquad
        q_s = \tfrac{k_s}{2}\|w - c_s\|^2,\quad q_f = \tfrac{k_f}{2}\|w - c_f\|^2,

    with centres :math:`c_s = (-2, 0)`, :math:`c_f = (2, 0)` and curvatures
    :math:`k_s > k_f`. :math:`L \le \min(q_s, q_f)`, and away from the ridge where
    :math:`q_s = q_f` it equals the smaller bowl up to :math:`e^{-|q_s - q_f|}`: with the
    defaults the two minima lie within :math:`10^{-3}` of :math:`c_s` and :math:`c_f`,
    both with loss :math:`\approx 0` (:math:`|L| < 10^{-3}`), and Hessians
    :math:`\approx k_s I` (sharp) and :math:`k_f I` (flat). Far away :math:`L` grows like
    the flatter bowl, so gradients never vanish outside the two minima and the ridge.
    With :math:`p_s = e^{-q_s}/(e^{-q_s}+e^{-q_f})`,
    :math:`p_f = 1 - p_s`, :math:`a = \nabla q_s`, :math:`b = \nabla q_f`:

    .. math::
        \nabla L = p_s a + p_f b, \qquad
        \nabla^2 L = p_s k_s I + p_f k_f I - p_s p_f (a - b)(a - b)^\top .

    Args:
        sharp, flat: the curvatures :math:`k_s > k_f > 0` (defaults 16 and 1).
    """

    def __init__(self, sharp: float = 16.0, flat: float = 1.0):
        self.sharp = as_scalar(sharp, "sharp", positive=True)
        self.flat = as_scalar(flat, "flat", positive=True)
        if not self.sharp > self.flat:
            raise ValueError(f"the sharp curvature must be larger than the flat one, got "
                             f"sharp={sharp}, flat={flat}")
        self.dim = 2
        self.centres = np.array([[-2.0, 0.0], [2.0, 0.0]])

    def _parts(self, w):
        w = as_vector(w, "w", dim=2, finite=False)
        a = self.sharp * (w - self.centres[0])
        b = self.flat * (w - self.centres[1])
        qs = 0.5 * self.sharp * float(np.sum((w - self.centres[0]) ** 2))
        qf = 0.5 * self.flat * float(np.sum((w - self.centres[1]) ** 2))
        low = min(qs, qf)
        es, ef = np.exp(low - qs), np.exp(low - qf)  # stable: the larger one is 1
        ps = es / (es + ef)
        return low - np.log(es + ef), ps, 1.0 - ps, a, b

    def loss(self, w) -> float:
        return float(self._parts(w)[0])

    def grad(self, w) -> np.ndarray:
        _, ps, pf, a, b = self._parts(w)
        return ps * a + pf * b

    def hessian(self, w) -> np.ndarray:
        _, ps, pf, a, b = self._parts(w)
        diff = a - b
        return (ps * self.sharp + pf * self.flat) * np.eye(2) - ps * pf * np.outer(diff, diff)

    def hvp(self, w, x) -> np.ndarray:
        return self.hessian(w) @ as_vector(x, "x", dim=2, finite=False)

    def grid(self, x, y) -> np.ndarray:
        """The loss on a grid (broadcast arrays ``x``, ``y``), for contour plots."""
        qs = 0.5 * self.sharp * ((x - self.centres[0, 0]) ** 2 + (y - self.centres[0, 1]) ** 2)
        qf = 0.5 * self.flat * ((x - self.centres[1, 0]) ** 2 + (y - self.centres[1, 1]) ** 2)
        low = np.minimum(qs, qf)
        return low - np.log(np.exp(low - qs) + np.exp(low - qf))

    def __repr__(self) -> str:
        return f"TwoBasins(sharp={self.sharp}, flat={self.flat})"


class SaddleSum:
    r"""A saddle as a sum of :math:`n` per-sample losses (Chapter 6):

    .. math::
        L(w) = \sum_{i=1}^n \Big[\tfrac1n\big(\tfrac12 w_1^2 - \tfrac12 w_2^2
               + \tfrac14 w_2^4\big) + c_i\, w_2\Big], \qquad \sum_i c_i = 0 ,

    so :math:`L = \tfrac12 w_1^2 - \tfrac12 w_2^2 + \tfrac14 w_2^4`: a saddle at 0 and
    minima at :math:`(0, \pm1)`. Gradient descent started on the line :math:`w_2 = 0`
    stays on it and converges to the saddle; a mini-batch gradient has the random
    :math:`w_2`-component :math:`\sum_{i\in\mathcal B} c_i\cdot n/B`, which pushes SGD off
    the line. :meth:`subset` gives the mini-batch loss scaled by :math:`n/B` (unbiased),
    like the problems of :mod:`optbook.problems`.

    Args:
        c: the offsets :math:`c_i`; they must sum to 0 (dyadic fractions sum exactly).
    """

    def __init__(self, c, *, n_total: int | None = None, weight: float = 1.0):
        self.c = as_vector(c, "c")
        self.n, self.dim = self.c.size, 2
        self.n_total = self.n if n_total is None else int(n_total)
        self.weight = as_scalar(weight, "weight", positive=True)
        if n_total is None and abs(float(self.c.sum())) > 1e-12 * max(1.0, np.abs(self.c).sum()):
            raise ValueError(f"the offsets c must sum to 0 (the saddle is their mean), "
                             f"got sum {self.c.sum():.3g}")

    def subset(self, idx) -> SaddleSum:
        """The loss of the samples ``idx``, scaled by n/B (an unbiased estimate of L)."""
        idx = np.asarray(idx)
        return SaddleSum(self.c[idx], n_total=self.n_total, weight=self.weight * self.n / idx.size)

    def _share(self) -> float:
        return self.weight * self.n / self.n_total

    def loss(self, w) -> float:
        w1, w2 = _point(w)
        base = 0.5 * w1**2 - 0.5 * w2**2 + 0.25 * w2**4
        return self._share() * base + self.weight * float(self.c.sum()) * w2

    def grad(self, w) -> np.ndarray:
        w1, w2 = _point(w)
        return self._share() * np.array([w1, w2**3 - w2]) + \
            np.array([0.0, self.weight * float(self.c.sum())])

    def hessian(self, w=None) -> np.ndarray:
        _, w2 = (0.0, 0.0) if w is None else _point(w)
        return self._share() * np.diag([1.0, 3 * w2**2 - 1.0])

    def hvp(self, w, v) -> np.ndarray:
        return self.hessian(w) @ as_vector(v, "v", dim=2, finite=False)

    def __repr__(self) -> str:
        return f"SaddleSum(n={self.n})"
