r"""The edge of stability (Chapter 9): the sharpness thresholds of gradient descent, heavy
ball and Adam, a two-dimensional model of self-stabilisation, and the plateau statistic.

* :func:`threshold` — the largest sharpness at which an optimiser is stable on a quadratic:
  :math:`2/\eta` for gradient descent, :math:`(2+2\gamma)/\eta` for heavy ball,
  :math:`(2+2\beta_1)/((1-\beta_1)\eta)` for Adam with a frozen preconditioner
  (Cohen et al. 2021, 2022);
* :func:`iteration_matrix` — the matrix :math:`T(\lambda)` of the linear iteration on the
  one-dimensional quadratic :math:`L(w) = \tfrac12\lambda w^2`, whose spectral radius is
  below 1 exactly below the threshold;
* :class:`SharpeningToy` — :math:`L(u, s) = \tfrac12 s u^2 + \tfrac12\mu(s - s_\star)^2`, in
  which gradient descent sharpens (:math:`s \to s_\star`) until :math:`s = 2/\eta` and then
  stabilises itself (the mechanism of Damian, Nichani & Lee 2023);
* :func:`edge_ratio` — a run's mean sharpness over the second half of training divided by
  the threshold: 1 at the edge of stability.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import as_scalar, as_vector
from .optimizers import GD, Adam, Momentum, Nesterov

__all__ = ["threshold", "iteration_matrix", "SharpeningToy", "edge_ratio"]


def _parameters(optimizer) -> tuple[str, float, float, float]:
    """(kind, η, γ, τ): the constant step, the momentum and the dampening of the EMA;
    heavy ball and Adam share the form b_t = γ b_{t−1} + (1−τ) g_t, w_{t+1} = w_t − η b_t."""
    if isinstance(optimizer, Nesterov) or not isinstance(optimizer, GD | Momentum | Adam):
        raise ValueError(f"the threshold is derived for GD, Momentum (heavy ball) and Adam, "
                         f"got {type(optimizer).__name__}")
    if callable(optimizer.lr):
        raise ValueError("the threshold needs a constant step size η, got a schedule")
    eta = float(optimizer.lr)
    if isinstance(optimizer, GD):
        return "GD", eta, 0.0, 0.0
    if isinstance(optimizer, Momentum):
        return "heavy ball", eta, optimizer.gamma, optimizer.dampening
    return "Adam", eta, optimizer.beta1, optimizer.beta1


def threshold(optimizer) -> float:
    r"""The sharpness at which ``optimizer`` loses stability on a quadratic (Chapter 9):

    * ``GD(η)``: :math:`2/\eta` (Chapter 2);
    * ``Momentum(η, γ, dampening=τ)`` (heavy ball, PyTorch's form):
      :math:`(2+2\gamma)/((1-\tau)\eta)`, which is :math:`(2+2\gamma)/\eta` without
      dampening;
    * ``Adam(η, β₁, β₂)``: :math:`(2+2\beta_1)/((1-\beta_1)\eta)`, a bound on the
      *preconditioned* sharpness :math:`\lambda_{\max}(P^{1/2}HP^{1/2})` when the
      preconditioner :math:`P` is frozen and the bias correction has died out
      (Cohen et al. 2022); :math:`38/\eta` at :math:`\beta_1 = 0.9`.

    Below it the iteration converges on :math:`L = \tfrac12\lambda w^2` from every start,
    at it a mode oscillates for ever, above it the iteration diverges
    (:func:`iteration_matrix`). The step size must be a constant.
    """
    _, eta, gamma, tau = _parameters(optimizer)
    return (2.0 + 2.0 * gamma) / ((1.0 - tau) * eta)


def iteration_matrix(optimizer, lam) -> np.ndarray:
    r"""The matrix :math:`T(\lambda)` of ``optimizer``'s linear iteration on the quadratic
    :math:`L(w) = \tfrac12\lambda w^2` (for Adam, :math:`\lambda` is an eigenvalue of the
    preconditioned Hessian :math:`P^{1/2}HP^{1/2}`, with :math:`P` frozen):

    * GD, state :math:`w_t`: :math:`T = [\,1 - \eta\lambda\,]`;
    * heavy ball, state :math:`(w_t, b_{t-1})` with :math:`b_t = \gamma b_{t-1} +
      (1-\tau)\lambda w_t` and :math:`w_{t+1} = w_t - \eta b_t`:

      .. math::
          T = \begin{pmatrix} 1 - \eta(1-\tau)\lambda & -\eta\gamma \\
                              (1-\tau)\lambda & \gamma \end{pmatrix};

    * Adam, state :math:`(u_t, n_{t-1})` with :math:`u = P^{-1/2}w`, :math:`n = P^{1/2}m`:
      the same matrix with :math:`\gamma = \tau = \beta_1`.

    The iteration converges from every start iff the spectral radius of :math:`T` is
    below 1, i.e. iff :math:`0 < \lambda <` :func:`threshold`. (Heavy ball's first buffer
    is :math:`g_0` itself, a transient the matrix of the later steps does not see.)
    """
    kind, eta, gamma, tau = _parameters(optimizer)
    lam = as_scalar(lam, "lam")
    if kind == "GD":
        return np.array([[1.0 - eta * lam]])
    a = (1.0 - tau) * lam
    return np.array([[1.0 - eta * a, -eta * gamma], [a, gamma]])


class SharpeningToy:
    r"""A two-dimensional model of progressive sharpening and self-stabilisation,

    .. math::
        L(u, s) = \tfrac12\, s\, u^2 + \tfrac12\,\mu\,(s - s_\star)^2 ,

    with :math:`w = (u, s)`: :math:`u` is the coordinate along the sharp direction and
    :math:`s = \partial^2 L/\partial u^2` the curvature along it, the sharpness at
    :math:`u = 0`. The gradient and Hessian are

    .. math::
        \nabla L = \begin{pmatrix} s u \\ \tfrac12 u^2 + \mu(s - s_\star)\end{pmatrix},
        \qquad \nabla^2 L = \begin{pmatrix} s & u \\ u & \mu\end{pmatrix},

    so gradient descent reads :math:`u_{t+1} = (1 - \eta s_t)\,u_t` and
    :math:`s_{t+1} = s_t + \eta\mu(s_\star - s_t) - \tfrac\eta2 u_t^2`. The second term
    pulls the sharpness towards :math:`s_\star` (progressive sharpening); once
    :math:`s > 2/\eta`, :math:`u` oscillates with growing amplitude and the third term
    pushes the sharpness back down (self-stabilisation: the third derivative of the loss
    along the oscillation, as in Damian, Nichani & Lee 2023). For
    :math:`s_\star > 2/\eta` there is a two-cycle at the edge, :meth:`two_cycle`.

    Args:
        mu: :math:`\mu > 0`, the curvature of the sharpening term (small: a slow drift).
        s_star: :math:`s_\star > 0`, the sharpness the drift pulls towards.
    """

    def __init__(self, mu: float = 0.1, s_star: float = 2.2):
        self.mu = as_scalar(mu, "mu", positive=True)
        self.s_star = as_scalar(s_star, "s_star", positive=True)
        self.dim = 2

    @staticmethod
    def _point(w) -> tuple[float, float]:
        w = as_vector(w, "w", dim=2, finite=False)
        return float(w[0]), float(w[1])

    def loss(self, w) -> float:
        u, s = self._point(w)
        return 0.5 * s * u * u + 0.5 * self.mu * (s - self.s_star) ** 2

    def grad(self, w) -> np.ndarray:
        u, s = self._point(w)
        return np.array([s * u, 0.5 * u * u + self.mu * (s - self.s_star)])

    def hessian(self, w) -> np.ndarray:
        u, s = self._point(w)
        return np.array([[s, u], [u, self.mu]])

    def hvp(self, w, v) -> np.ndarray:
        return self.hessian(w) @ as_vector(v, "v", dim=2, finite=False)

    def grid(self, u, s) -> np.ndarray:
        """The loss on a grid (broadcast arrays ``u``, ``s``), for contour plots."""
        return 0.5 * s * u**2 + 0.5 * self.mu * (s - self.s_star) ** 2

    def two_cycle(self, eta: float) -> np.ndarray:
        r"""The two points :math:`(\pm\bar u, 2/\eta)`,
        :math:`\bar u = \sqrt{2\mu(s_\star - 2/\eta)}`, between which gradient descent with
        step :math:`\eta` alternates at the edge of stability (rows of the result).

        Raises ``ValueError`` when :math:`s_\star \le 2/\eta`: then there is no cycle, and
        for :math:`\eta\mu < 2` gradient descent converges to the minimum
        :math:`(0, s_\star)`.
        """
        eta = as_scalar(eta, "eta", positive=True)
        edge = 2.0 / eta
        if self.s_star <= edge:
            raise ValueError(f"no two-cycle: s_star = {self.s_star} is not above the edge "
                             f"2/eta = {edge:.6g}")
        u_bar = math.sqrt(2.0 * self.mu * (self.s_star - edge))
        return np.array([[u_bar, edge], [-u_bar, edge]])

    def __repr__(self) -> str:
        return f"SharpeningToy(mu={self.mu}, s_star={self.s_star})"


def edge_ratio(trajectory, threshold: float, *, name: str = "sharpness",
               start: float = 0.5) -> float:
    r"""The plateau statistic of a run: the mean of the measurement ``name`` over the
    recorded steps :math:`t \ge` ``start`` :math:`\cdot T` (by default the second half of
    the :math:`T` steps), divided by ``threshold``:

    .. math::
        \frac{1}{|\mathcal T|}\sum_{t\in\mathcal T}\frac{\lambda_{\max}(w_t)}{\text{threshold}} ,

    which is 1 for a run that hovers at the edge of stability. ``trajectory`` is what
    ``run(..., record={name: ...})`` returned; a diverged run raises ``ValueError``
    (report the divergence instead).
    """
    threshold = as_scalar(threshold, "threshold", positive=True)
    start = as_scalar(start, "start", nonnegative=True, below=1.0)
    records = getattr(trajectory, "records", None)
    if not isinstance(records, dict) or name not in records:
        known = sorted(records) if isinstance(records, dict) else []
        raise ValueError(f"the trajectory has no measurement {name!r} (recorded: {known}); "
                         f"run with record={{{name!r}: ...}}")
    if trajectory.diverged:
        raise ValueError(f"the run diverged at step {trajectory.diverged_at}: no plateau")
    steps = trajectory.loss.size - 1
    t = np.asarray(trajectory.record_t)
    values = np.asarray(records[name], dtype=float)[t >= start * steps]
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"need finite measurements of {name!r} at steps t >= {start} T = "
                         f"{start * steps:g}, got {values}")
    return float(values.mean() / threshold)
