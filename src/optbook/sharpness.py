r"""Optimisers that look at curvature: SAM, IRE, AdaHessian, the notes' variant and SGDHess.

They follow the interface of :mod:`optbook.optimizers` (``init``/``update``, driven by
:func:`optbook.optimizers.run`) and make their extra evaluations through the
``problem`` handed to ``update``; in a mini-batch run that is the current batch, so a
second gradient or a Hessian-vector product uses the same samples as :math:`g_t`.
Nothing here forms a :math:`d\times d` matrix: each step costs a few gradients or
Hessian-vector products and :math:`O(d)` memory.

* :class:`SAM` — sharpness-aware minimisation (Foret et al. 2021): the gradient at
  :math:`w + \hat\varepsilon(w)`, handed to a base optimiser;
* :class:`IRE` — implicit regularisation enhancement (Wang et al. 2024): the base step
  plus :math:`\kappa` times its part along the flattest coordinates;
* :class:`AdaHessian` — Adam with the Hutchinson diagonal of :math:`H` in place of
  :math:`g\odot g` (Yao et al. 2021);
* :class:`NoiseScaledSGD` — the variant proposed in note 004 (called "SGDHESS" there):
  SGD whose step is multiplied by :math:`1 + \rho\,v_t`, :math:`v_t` an estimate of
  the gradient-noise variance;
* :class:`SGDHess` — Tran & Cutkosky's (2022) Hessian-corrected momentum, a different
  method from the note's.

Optimisers that draw random probes or targets (AdaHessian; IRE unless its curvature is
``"gradient"``) take
``rng`` in ``init``, and :func:`~optbook.optimizers.run` passes its own ``rng`` there
(:func:`~optbook.optimizers.init_state`): a run is reproducible from one seed.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_count, as_float_array, as_scalar
from .hessian import _rademacher
from .optimizers import (
    GD,
    Adagrad,
    Adam,
    InPlace,
    Momentum,
    RMSProp,
    _check_beta,
    _check_lr,
    adaptive_step,
    ema_update,
    init_state,
    learning_rate,
    stepper,
    zeros_like,
)

__all__ = ["SAM", "IRE", "AdaHessian", "NoiseScaledSGD", "SGDHess", "sam_perturbation",
           "preconditioner"]


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

def _check_optimizer(opt, name: str):
    if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None))):
        raise ValueError(f"{name} must be an optimiser with init(w) and "
                         f"update(g, state, w, problem) methods, got {type(opt).__name__} "
                         f"{opt!r}")
    return opt


def _need_rng(rng, who: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator: {who} draws random "
                         f"Hessian probes; pass run(..., rng=np.random.default_rng(seed)) "
                         f"(or init(w, rng=...)), got {type(rng).__name__} {rng!r}")
    return rng


def _diag_probe(problem, w, rng, n_samples: int, absolute: bool = False) -> np.ndarray:
    r"""Mean over ``n_samples`` Rademacher probes of :math:`z\odot Hz`
    (of :math:`|z\odot Hz| = |Hz|` if ``absolute``). Unlike
    :func:`optbook.hessian.hutchinson_diagonal` it does not reject non-finite products,
    so that a diverging run ends as a divergence in :func:`run`, not as an error."""
    D = None
    for _ in range(n_samples):
        z = _rademacher(rng, problem.dim)
        Hz = np.asarray(problem.hvp(w, z))
        # |z_i (Hz)_i| = |(Hz)_i| since |z_i| = 1; both are new arrays (Hz is not modified).
        sample = np.abs(Hz) if absolute else z * Hz
        if D is None:
            D = sample
        else:
            D += sample
    if n_samples > 1:
        D /= n_samples
    return D


@dataclass
class WrapperState:
    """State of a wrapper (SAM): the state of its base optimiser (and a scratch buffer for
    the perturbed point)."""

    base: object
    scratch: np.ndarray | None = field(default=None, repr=False)


# --------------------------------------------------------------------------
# SAM
# --------------------------------------------------------------------------

def sam_perturbation(g, rho: float, p: float = 2.0, *, out=None) -> np.ndarray:
    r"""SAM's perturbation :math:`\hat\varepsilon`, the maximiser of the first-order model
    :math:`\varepsilon^\top g` over the ball :math:`\|\varepsilon\|_p\le\rho`:

    .. math::
        \hat\varepsilon = \rho\,\frac{\operatorname{sign}(g)\,|g|^{q-1}}
        {\big(\|g\|_q^q\big)^{1/p}}, \qquad \frac1p + \frac1q = 1,

    (Foret et al. 2021, Eq. 2), which is :math:`\rho\,g/\|g\|_2` for :math:`p = 2` and
    :math:`\rho\,\operatorname{sign}(g)` for :math:`p = \infty`. It has
    :math:`\|\hat\varepsilon\|_p = \rho` and does not change when :math:`g` is scaled by a
    positive factor; :math:`g = 0` gives :math:`\hat\varepsilon = 0`.

    Args:
        g: the gradient, shape ``(d,)``.
        rho: the radius :math:`\rho \ge 0`.
        p: the norm, :math:`1 < p \le \infty` (``np.inf`` allowed).
        out: an array shaped like ``g`` to write :math:`\hat\varepsilon` into (else a new one).
    """
    rho = as_scalar(rho, "rho", nonnegative=True)
    p = _check_p(p)
    g = as_float_array(g, "g")
    if out is None:
        out = np.empty_like(g)
    if p == 2.0:
        norm = float(np.linalg.norm(g))
        if norm == 0.0:
            out.fill(0.0)
            return out
        return np.multiply(g, rho / norm, out=out)
    if np.isinf(p):
        np.sign(g, out=out)
        out *= rho
        return out
    scale = float(np.max(np.abs(g), initial=0.0))
    if scale == 0.0:
        return np.zeros_like(g)
    q = p / (p - 1.0)
    a = np.abs(g) / scale  # the formula is invariant to scaling g; this avoids overflow
    num = a ** (q - 1.0)
    s = float(np.sum(num * a))  # ‖g/scale‖_q^q
    num *= np.sign(g) * (rho / s ** (1.0 / p))
    out[...] = num
    return out


def _check_p(p) -> float:
    if isinstance(p, numbers.Real) and not isinstance(p, bool) and p == np.inf:
        return float("inf")
    p = as_scalar(p, "p")
    if p <= 1.0:
        raise ValueError(f"p must be > 1 (or np.inf): the dual exponent q = p/(p-1) must be "
                         f"finite, got {p}")
    return p


class SAM:
    r"""Sharpness-aware minimisation (Foret et al. 2021, Alg. 1), around any base optimiser.

    .. math::
        \hat\varepsilon_t = \rho\,\frac{g_t}{\|g_t\|}, \qquad
        \tilde g_t = \nabla L_{\mathcal B}(w_t + \hat\varepsilon_t), \qquad
        w_{t+1} = w_t + \operatorname{base}(\tilde g_t),

    so with the default base, :math:`w_{t+1} = w_t - \eta\,\nabla L_{\mathcal B}
    (w_t + \rho\,g_t/\|g_t\|)`. It approximates the gradient of
    :math:`\max_{\|\varepsilon\|_p\le\rho} L(w+\varepsilon)` by the gradient at the
    maximiser :math:`\hat\varepsilon` of the *first-order* model (general :math:`p`: see
    :func:`sam_perturbation`) and drops the term :math:`(d\hat\varepsilon/dw)^\top\nabla L`,
    which has a Hessian in it, as the paper does. :math:`g_t = 0` gives
    :math:`\hat\varepsilon_t = 0` and the base step on :math:`g_t`. The second gradient
    uses the ``problem`` given to ``update``, i.e. the same mini-batch :math:`\mathcal B`
    as :math:`g_t` in :func:`~optbook.optimizers.run`. Two gradients per step.

    **Step size and base.** Either ``lr`` (then the base is ``GD(lr)``: plain SAM) or
    ``base`` (any optimiser: ``Momentum``, ``Adam``, ..., which receives
    :math:`\tilde g_t` in place of the gradient and keeps its own step size), not both.

    Args:
        lr: step size :math:`\eta > 0` or a schedule, for the default base ``GD(lr)``.
        rho: the radius :math:`\rho \ge 0` (default 0.05, a common choice; Foret et al.
            tune it by grid search); 0 gives the base.
        base: the optimiser the SAM gradient is handed to.
        p: the norm of the ball, :math:`1 < p \le\infty`; 2 in the paper's experiments.
    """

    def __init__(self, lr=None, rho: float = 0.05, base=None, p: float = 2.0):
        if base is None:
            if lr is None:
                raise ValueError("lr must be given (the step of SAM's default base GD(lr)), "
                                 "or pass base=<an optimiser>")
            base = GD(lr)
        elif lr is not None:
            raise ValueError(f"give lr or base, not both: lr={lr!r} is the step of the default "
                             f"base GD(lr); set the step size in base ({base!r}) instead")
        self.base = _check_optimizer(base, "base")
        self.rho = as_scalar(rho, "rho", nonnegative=True)
        self.p = _check_p(p)

    def init(self, w, rng=None) -> WrapperState:
        return WrapperState(base=init_state(self.base, w, rng), scratch=zeros_like(w))

    def sam_gradient(self, g, state: WrapperState, w, problem) -> np.ndarray:
        r""":math:`\tilde g = \nabla L_{\mathcal B}(w + \hat\varepsilon)`, or :math:`g` itself
        when :math:`\hat\varepsilon = 0` (:math:`\rho = 0` or :math:`g = 0`)."""
        if self.rho == 0.0 or not np.any(g):
            return g
        point = sam_perturbation(g, self.rho, self.p, out=state.scratch)
        point += w  # the perturbed point w + ε̂, in the state's scratch buffer
        return np.asarray(problem.grad(point))

    def update(self, g, state: WrapperState, w, problem) -> np.ndarray:
        return self.base.update(self.sam_gradient(g, state, w, problem), state.base, w,
                                problem)

    def step(self, g, state: WrapperState, w, problem) -> None:
        """The same step applied to ``w`` in place, by the base's own ``step``."""
        stepper(self.base)(self.sam_gradient(g, state, w, problem), state.base, w, problem)

    def __repr__(self) -> str:
        return f"SAM(rho={self.rho}, base={self.base!r}, p={self.p})"


# --------------------------------------------------------------------------
# IRE
# --------------------------------------------------------------------------

CURVATURES = ("fisher", "hutchinson", "gradient")


@dataclass
class IREState:
    """State of :class:`IRE`: step count, the base's state, the mask of flat coordinates
    :math:`n_t` (``None`` before the first estimate), the curvature estimate :math:`h`
    and the random generator."""

    t: int
    base: object
    mask: np.ndarray | None
    h: np.ndarray | None
    rng: np.random.Generator | None


class IRE:
    r"""Implicit regularisation enhancement (Wang et al. 2024, Alg. 1 "Practical IRE").

    .. math::
        w_{t+1} = w_t + \Delta_t + \kappa\, n_t\odot\Delta_t ,

    where :math:`\Delta_t` is the base optimiser's step (:math:`-\eta g_t` for GD, so
    :math:`w_{t+1} = w_t - \eta(g_t + \kappa\,n_t\odot g_t)`, the paper's form) and
    :math:`n_t\in\{0,1\}^d` marks the flattest coordinates: the
    :math:`\max(1, \lfloor\gamma d\rfloor)` with the smallest curvature estimate
    :math:`h_i`. The mask is refreshed at steps :math:`t = T_w, T_w + K, T_w + 2K, \dots`
    and kept in between; before the warm-up :math:`T_w` the step is the base's alone.
    The idea: along a manifold of minima, the flat directions are those that move the
    iterate along it, where the base's implicit bias toward flat minima acts slowly; IRE
    speeds up only that motion, by :math:`1 + \kappa`, and leaves the sharp directions at
    the base's (stable) step.

    **Curvature** :math:`h` (each estimate is then averaged, :math:`h \leftarrow \beta h +
    (1-\beta)\,\hat h`, the code's ``beta_Fisher``; :math:`\beta = 0` by default, as there):

    * ``"fisher"`` (default), the estimate of the paper's code
      (wmz9/IRE-algorithm-framework, ``CV/cifar``): the squared gradient of the loss on
      targets *sampled from the model's own predictive distribution*,
      :math:`\hat h = \nabla_w L_{\tilde y}(w)\odot\nabla_w L_{\tilde y}(w)`, a one-sample
      estimate of the Fisher diagonal. The code samples class labels from the softmax
      and uses the cross-entropy. For the book's problems, on the loss passed to the
      update (the mini-batch, or all samples with full gradients):

      - least squares with outputs :math:`F(w)\in\mathbb R^n` (``TwoLayerNet``, whose
        ``jacobian`` gives :math:`J = DF`; ``LeastSquares``, :math:`F = \Phi^\top w`,
        :math:`J = \Phi^\top`; ``NoisyValley``, :math:`F_i = \sqrt{1+u^2}\,v` for every
        sample): the squared loss is the negative log-likelihood of the Gaussian
        predictive :math:`\mathcal N(F_i(w), 1)`, so :math:`\tilde y = F(w) + \xi`,
        :math:`\xi\sim\mathcal N(0, I_n)`, and with the loss
        :math:`c\cdot\tfrac12\lVert F - y\rVert^2` (``c`` = ``weight``, or :math:`1/n`
        for the valley's mean) :math:`\nabla L_{\tilde y} = -c\,J^\top\xi`:
        :math:`\hat h = c^2 (J^\top\xi)\odot(J^\top\xi)`, whose mean is
        :math:`c^2\operatorname{diag}(J^\top J)`, the Gauss–Newton diagonal (times
        :math:`c`);
      - ``LogisticRegression``: labels :math:`\tilde y_i = \pm1` with
        :math:`P(\tilde y_i = 1) = \sigma(\phi_i^\top w)`, and the loss's own gradient.
      - a network with ``sampled_grad(w, rng)`` (:class:`optbook.networks.MLP`): labels
        sampled from its softmax, as in the paper's code (or Gaussian targets for its
        squared loss).

      A problem without a model (``Quadratic``, ``Rosenbrock``, ...) has no predictive
      distribution: use ``"hutchinson"`` there.
    * ``"hutchinson"``, an option: :math:`|z\odot Hz|` averaged over ``n_samples``
      Rademacher probes, an estimate of :math:`|\operatorname{diag}H|` (exact for a
      diagonal :math:`H`); it works for any problem with Hessian-vector products.
    * ``"gradient"``: :math:`\hat h = g_t\odot g_t` with the training mini-batch gradient
      :math:`g_t` (an *empirical* Fisher diagonal; the LLM code uses :math:`|g|`, the same
      ordering). With full gradients near a minimum :math:`g\to0` and it measures the
      remaining gradient, not curvature.

    :math:`\kappa = 0` skips the estimate and is the base optimiser exactly (its random
    stream included).

    Args:
        base: the base optimiser (``GD``, ``SAM``, ``Adam``, ...), or a step size
            :math:`\eta` (or schedule) meaning ``GD(eta)``.
        kappa: the acceleration :math:`\kappa \ge 0` (the code's ``prog``; its README's
            commands use 2–4).
        fraction: the fraction :math:`\gamma\in(0.5, 1)` of coordinates treated as flat
            (the code's ``1 - rank``), as Algorithm 1 requires; a value outside the open
            interval raises ``ValueError``.
        K: refresh the mask every ``K`` >= 1 steps.
        warmup: :math:`T_w \ge 0`, the number of plain base steps first.
        curvature: ``"fisher"``, ``"hutchinson"`` or ``"gradient"``.
        n_samples: samples (of targets, or of probes) per estimate, >= 1.
        beta: the EMA coefficient :math:`\beta\in[0, 1)` of the estimate.
    """

    def __init__(self, base, kappa: float, fraction: float = 0.8, K: int = 10,
                 warmup: int = 0, curvature: str = "fisher", n_samples: int = 1,
                 beta: float = 0.0):
        if callable(getattr(base, "update", None)) or callable(getattr(base, "init", None)):
            self.base = _check_optimizer(base, "base")
        else:
            self.base = GD(_check_lr(base, "base (a step size or an optimiser)"))
        self.kappa = as_scalar(kappa, "kappa", nonnegative=True)
        fraction = as_scalar(fraction, "fraction")
        if not 0.5 < fraction < 1.0:
            raise ValueError(f"fraction must be in the open interval (0.5, 1): Algorithm 1 "
                             f"of Wang et al. (2024) takes gamma in (0.5, 1), the share of "
                             f"coordinates treated as flat; got {fraction}")
        self.fraction = fraction
        self.K = as_count(K, "K")
        self.warmup = as_count(warmup, "warmup", minimum=0)
        if curvature not in CURVATURES:
            raise ValueError(f"curvature must be 'fisher', 'hutchinson' or 'gradient', "
                             f"got {curvature!r}")
        self.curvature = curvature
        self.n_samples = as_count(n_samples, "n_samples")
        self.beta = _check_beta(beta, "beta")

    def init(self, w, rng=None) -> IREState:
        if self.kappa > 0 and self.curvature != "gradient":
            rng = _need_rng(rng, f"IRE with curvature={self.curvature!r}")
        return IREState(t=0, base=init_state(self.base, w, rng), mask=None, h=None, rng=rng)

    @staticmethod
    def fisher_sample(problem, w, rng) -> np.ndarray:
        r"""One sample :math:`\hat h` of the Fisher diagonal of ``problem`` at ``w``: the
        squared gradient of its loss on targets drawn from the model's predictive
        distribution (see the class docstring for each problem)."""
        from .problems import LeastSquares, LogisticRegression
        from .toys import NoisyValley

        if callable(getattr(problem, "sampled_grad", None)):  # the MLP: softmax labels
            g = problem.sampled_grad(w, rng)
            return g * g
        w = np.asarray(w, dtype=float)
        if isinstance(problem, LogisticRegression):
            p = 1.0 / (1.0 + np.exp(-np.clip(problem.Phi.T @ w, -500.0, 500.0)))
            labels = np.where(rng.random(problem.n) < p, 1.0, -1.0)
            g = LogisticRegression(problem.Phi, labels, weight=problem.weight).grad(w)
            return g * g
        if isinstance(problem, NoisyValley):
            u, v = float(w[0]), float(w[1])
            a = np.sqrt(1.0 + u * u)
            J, c = np.tile([u * v / a, a], (problem.n, 1)), 1.0 / problem.n
        elif isinstance(problem, LeastSquares):
            J, c = problem.Phi.T, problem.weight
        elif callable(getattr(problem, "jacobian", None)):
            J, c = np.asarray(problem.jacobian(w), dtype=float), getattr(problem, "weight", 1.0)
        else:
            raise ValueError(f"curvature='fisher' needs a model with a predictive "
                             f"distribution (least squares with jacobian(w), LeastSquares, "
                             f"NoisyValley, LogisticRegression, a network with sampled_grad); "
                             f"{type(problem).__name__} has "
                             f"none: use curvature='hutchinson'")
        xi = rng.standard_normal(J.shape[0])  # targets F(w) + ξ, ξ ~ N(0, I)
        g = -c * (J.T @ xi)  # the gradient of the loss at those targets
        return g * g

    def _estimate(self, g, state: IREState, w, problem) -> np.ndarray:
        if self.curvature == "hutchinson":
            sample = np.abs(_diag_probe(problem, w, state.rng, self.n_samples))
        elif self.curvature == "fisher":
            sample = self.fisher_sample(problem, w, state.rng)
            for _ in range(self.n_samples - 1):
                sample += self.fisher_sample(problem, w, state.rng)
            sample /= self.n_samples
        else:
            sample = np.square(g)
        if self.beta == 0.0:
            return sample
        if state.h is None:
            state.h = zeros_like(w)
        ema_update(state.h, sample, self.beta)
        return state.h

    def _refresh_mask(self, g, state: IREState, w, problem) -> None:
        d = np.size(w)
        h = self._estimate(g, state, w, problem)
        n_flat = max(1, int(self.fraction * d))
        mask = np.zeros(d, dtype=bool)
        if not np.all(np.isfinite(h)):  # diverging: leave the step to the base
            state.mask = mask
            return
        mask[np.argpartition(h, n_flat - 1)[:n_flat]] = True
        state.mask = mask

    def update(self, g, state: IREState, w, problem) -> np.ndarray:
        delta = self.base.update(g, state.base, w, problem)
        t = state.t
        state.t += 1
        if self.kappa == 0.0 or t < self.warmup:
            return delta
        if (t - self.warmup) % self.K == 0:
            self._refresh_mask(g, state, w, problem)
        return delta + self.kappa * np.where(state.mask, delta, 0.0)

    def __repr__(self) -> str:
        return (f"IRE(base={self.base!r}, kappa={self.kappa}, fraction={self.fraction}, "
                f"K={self.K}, warmup={self.warmup}, curvature={self.curvature!r})")


# --------------------------------------------------------------------------
# AdaHessian
# --------------------------------------------------------------------------

@dataclass
class AdaHessianState:
    """State of :class:`AdaHessian`: step count, the two moments (in place) and the
    generator of the probes."""

    t: int
    m: np.ndarray
    v: np.ndarray
    rng: np.random.Generator
    scratch: np.ndarray | None = field(default=None, repr=False)


class AdaHessian(InPlace):
    r"""AdaHessian (Yao et al. 2021): Adam with a Hutchinson estimate of diag H.

    With one Rademacher probe :math:`z_t` per step (``n_samples`` of them, averaged),

    .. math::
        D_t = z_t\odot H_t z_t, \qquad
        D^{(s)}_t[ib + j] = \frac1b\sum_{k=1}^{b} D_t[ib + k] \quad\text{(blocks of } b),

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\,D^{(s)}_t\odot D^{(s)}_t,

    .. math::
        w_{t+1} = w_t - \eta\,\frac{m_t/(1-\beta_1^t)}{\big(\sqrt{v_t/(1-\beta_2^t)}\big)^k
        + \varepsilon},

    with :math:`m_0 = v_0 = 0` and :math:`k \in [0, 1]` the Hessian power (:math:`k = 0`:
    momentum SGD with step :math:`\eta/(1+\varepsilon)`). :math:`E[D_t] =
    \operatorname{diag}H_t`, exactly for diagonal :math:`H`. The note's
    :math:`h_t = \beta_2 h_{t-1} + (1-\beta_2)h_t^2` defines :math:`h_t` from itself; its step
    has :math:`\sqrt{h_t}` but lacks the bias corrections and :math:`k`; this is the paper's rule.
    Since :math:`v` averages :math:`D^2`, the root is a root-mean-square of the curvature
    estimate: the step divides by :math:`|\operatorname{diag}H|`, not by
    :math:`\operatorname{diag}H`, so negative curvature is not followed uphill.

    **The reference code** (amirgholami/adahessian) averages :math:`|z\odot Hz|` over a
    block (``absolute=True`` here). For ``block=1`` that is the same :math:`v` (only
    :math:`D^2` enters); for ``block > 1`` it differs: the mean of :math:`|D|` is larger
    than :math:`|` mean of :math:`D|` when the signs within a block disagree. The code
    uses blocks only for convolution kernels; here a block is ``block`` consecutive
    coordinates, and ``block`` must divide :math:`d`.

    Args:
        lr: step size :math:`\eta > 0` (default 0.15, the code's) or a schedule.
        beta1, beta2: moment coefficients in [0, 1).
        eps: :math:`\varepsilon > 0` (default 1e-4), added outside the power.
        hessian_power: :math:`k \in [0, 1]`.
        block: the spatial-averaging block size :math:`b \ge 1`.
        n_samples: probes per step, >= 1 (one Hessian-vector product each).
        absolute: average :math:`|z\odot Hz|` as the reference code does.
    """

    def __init__(self, lr=0.15, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-4,
                 hessian_power: float = 1.0, block: int = 1, n_samples: int = 1,
                 absolute: bool = False):
        self.lr = _check_lr(lr)
        self.beta1 = _check_beta(beta1, "beta1")
        self.beta2 = _check_beta(beta2, "beta2")
        self.eps = as_scalar(eps, "eps", positive=True)
        self.hessian_power = as_scalar(hessian_power, "hessian_power", nonnegative=True,
                                       below=1.0, strict_below=False)
        self.block = as_count(block, "block")
        self.n_samples = as_count(n_samples, "n_samples")
        self.absolute = bool(absolute)

    def init(self, w, rng=None) -> AdaHessianState:
        rng = _need_rng(rng, "AdaHessian")
        d = np.size(w)
        if d % self.block:
            raise ValueError(f"block must divide the dimension d = {d}, got block={self.block}")
        return AdaHessianState(t=0, m=zeros_like(w), v=zeros_like(w), rng=rng,
                               scratch=zeros_like(w))

    def delta(self, g, state: AdaHessianState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        t, m, v = state.t, state.m, state.v
        D = _diag_probe(problem, w, state.rng, self.n_samples, self.absolute)
        if self.block > 1:
            D = np.repeat(D.reshape(-1, self.block).mean(axis=1), self.block)
        D *= D
        s = state.scratch
        ema_update(m, g, self.beta1, scratch=s)
        ema_update(v, D, self.beta2, scratch=D)
        bc1, bc2 = 1.0 - self.beta1**t, 1.0 - self.beta2**t
        # In the reference code's order: (√v)^k / (√bc2)^k + ε.
        return adaptive_step(m, v, self.eps, eta / bc1, bias2=bc2, power=self.hessian_power,
                             out=s)

    def __repr__(self) -> str:
        return (f"AdaHessian(lr={self.lr!r}, beta1={self.beta1}, beta2={self.beta2}, "
                f"eps={self.eps}, hessian_power={self.hessian_power}, block={self.block})")


# --------------------------------------------------------------------------
# The notes' variant
# --------------------------------------------------------------------------

@dataclass
class NoiseState:
    """State of :class:`NoiseScaledSGD`: step count, the gradient EMA :math:`m`, the noise
    variance EMA :math:`v`, and (centred form) the noise EMA :math:`c`."""

    t: int
    m: np.ndarray
    v: np.ndarray
    c: np.ndarray | None


class NoiseScaledSGD:
    r"""The SGD variant proposed in note 004 (there called "SGDHESS"), with its typos fixed.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t, \qquad
        \hat\varepsilon_t = g_t - m_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\,\hat\varepsilon_t\odot\hat\varepsilon_t,

    .. math::
        w_{t+1} = w_t - \eta\, g_t\odot(1 + \rho\, v_t),

    with :math:`m_0 = v_0 = 0`. :math:`\hat\varepsilon_t` is the part of the mini-batch
    gradient that its running mean does not explain: a scaled innovation
    :math:`\beta_1(g_t - m_{t-1})`, not the noise itself (it also holds the change of the mean
    gradient), and :math:`v_t` estimates its second moment per coordinate. The motivation
    (note 004, after analyses of SGD noise; the closest result we know is Wu, Wang & Su 2022,
    Chapter 8): the covariance of SGD's noise is close to the Gauss–Newton part of :math:`H`
    near global minima, so :math:`v_t` is a curvature proxy
    and the factor :math:`1 + \rho v_t` *multiplies* the step where the curvature is high —
    the reverse of AdaHessian, which *divides* by it. :math:`\rho = 0` is SGD (GD with full
    gradients), bit for bit.

    **Choices and fixes.** (1) :math:`m_t` or :math:`m_{t-1}` in :math:`\hat\varepsilon_t`:
    it does not matter up to a constant, since
    :math:`g_t - m_t = \beta_1\,(g_t - m_{t-1})`, so the note's :math:`m_t` is kept and the
    other choice is :math:`\rho \to \rho/\beta_1^2`. (2) The note's
    :math:`v_t = \beta_2\epsilon_{t-1} + (1-\beta_1)(\epsilon_t - \hat\epsilon_t)^2` mixes
    the indices; the EMA is :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2)(\cdot)^2`. (3) The
    note also smooths the noise, :math:`c_t = \beta_1 c_{t-1} + (1-\beta_1)\hat\varepsilon_t`,
    and squares :math:`c_t - \hat\varepsilon_t = \beta_1(c_{t-1} - \hat\varepsilon_t)`, a
    *centred* variance (``centered=True``). Without noise (full gradients)
    :math:`\hat\varepsilon_t` is the drift of :math:`g_t` over recent steps, which is
    largest along sharp directions too. The step :math:`-\eta g_t(1+\rho v_t)` is no
    longer a descent step bounded by :math:`\eta`: along a coordinate it is stable only
    while :math:`\eta H_{ii}(1 + \rho v_i) < 2` (quadratic model), so :math:`\rho` must be
    small against :math:`1/v`.

    Args:
        lr: step size :math:`\eta > 0` or a schedule.
        rho: the scale :math:`\rho \ge 0` of the multiplicative factor.
        beta1, beta2: EMA coefficients in [0, 1).
        centered: use the note's centred variance.
    """

    def __init__(self, lr, rho: float, beta1: float = 0.9, beta2: float = 0.999,
                 centered: bool = False):
        self.lr = _check_lr(lr)
        self.rho = as_scalar(rho, "rho", nonnegative=True)
        self.beta1 = _check_beta(beta1, "beta1")
        self.beta2 = _check_beta(beta2, "beta2")
        self.centered = bool(centered)

    def init(self, w) -> NoiseState:
        return NoiseState(t=0, m=zeros_like(w), v=zeros_like(w),
                          c=zeros_like(w) if self.centered else None)

    def update(self, g, state: NoiseState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        ema_update(state.m, g, self.beta1)
        noise = g - state.m  # ε̂_t
        if self.centered:
            ema_update(state.c, noise, self.beta1)
            noise = state.c - noise
        noise *= noise
        ema_update(state.v, noise, self.beta2)
        if self.rho == 0.0:
            return -eta * g  # exactly GD's step
        step = self.rho * state.v
        step += 1.0
        step *= g
        step *= -eta
        return step

    def __repr__(self) -> str:
        return (f"NoiseScaledSGD(lr={self.lr!r}, rho={self.rho}, beta1={self.beta1}, "
                f"beta2={self.beta2}, centered={self.centered})")


# --------------------------------------------------------------------------
# SGDHess (Tran & Cutkosky 2022)
# --------------------------------------------------------------------------

@dataclass
class SGDHessState:
    """State of :class:`SGDHess`: step count, the momentum :math:`m` and the previous
    iterate :math:`w_{t-1}` (``None`` before the first step)."""

    t: int
    m: np.ndarray
    w_prev: np.ndarray | None


class SGDHess:
    r"""SGDHess (Tran & Cutkosky 2022): momentum corrected by a Hessian-vector product.

    .. math::
        m_t = (1-\alpha)\big(m_{t-1} + H_t\,(w_t - w_{t-1})\big) + \alpha\, g_t, \qquad
        w_{t+1} = w_t - \eta\, m_t ,

    with :math:`m_1 = g_1` (first step), where :math:`g_t` and :math:`H_t` are evaluated
    at :math:`w_t` on the same mini-batch. The correction transports the old momentum to
    the new point, so :math:`m_t` tracks :math:`\nabla L(w_t)` with less bias than plain
    momentum; the Hessian multiplies the *displacement*, not the gradient (compare
    :class:`NoiseScaledSGD`). The paper's optional clipping of the correction is not
    implemented. One extra Hessian-vector product per step. (The released code,
    tranhp98/SGDHess, writes it PyTorch-style, ``buf = μ(buf + H Δw) + (1 − dampening) g``,
    with the same first step ``buf = g``; ``dampening = μ = 1 − α`` is the form here. The
    code's default is ``dampening = 0``, which gives the weights μ and 1, not a sum of 1.)

    Args:
        lr: step size :math:`\eta > 0` or a schedule.
        alpha: :math:`\alpha \in (0, 1]`, the weight of the fresh gradient (the code's
            ``1 - momentum``); :math:`\alpha = 1` is GD.
    """

    def __init__(self, lr, alpha: float = 0.1):
        self.lr = _check_lr(lr)
        self.alpha = as_scalar(alpha, "alpha", positive=True, below=1.0, strict_below=False)

    def init(self, w) -> SGDHessState:
        return SGDHessState(t=0, m=zeros_like(w), w_prev=None)

    def update(self, g, state: SGDHessState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        m = state.m
        if state.w_prev is None:
            m[:] = g
            state.w_prev = np.array(w)
        else:
            m += np.asarray(problem.hvp(w, w - state.w_prev))
            m *= 1.0 - self.alpha
            m += self.alpha * g
            state.w_prev[:] = w
        return -eta * m

    def __repr__(self) -> str:
        return f"SGDHess(lr={self.lr!r}, alpha={self.alpha})"


# --------------------------------------------------------------------------
# What an optimiser did to the step, read after a run
# --------------------------------------------------------------------------
def preconditioner(optimizer, trajectory) -> np.ndarray:
    r"""The diagonal :math:`P` by which ``optimizer`` scales :math:`-\eta g` at the end
    of a run (``trajectory = run(optimizer, ...)``; momentum and bias of the first
    moment aside): the effective step along coordinate :math:`i` is :math:`\eta P_i`.

    * GD, heavy ball, Nesterov: 1; SAM: its base's (SAM changes the gradient, not
      its scale);
    * Adagrad, RMSProp: :math:`1/(\sqrt{v}+\varepsilon)`; Adam:
      :math:`1/(\sqrt{v/(1-\beta_2^t)}+\varepsilon)`; AdaHessian: the same with the
      power :math:`k`;
    * IRE: :math:`1 + \kappa\, n_t` times its base's :math:`P` (:math:`n_t` the mask);
    * the notes' variant: :math:`1 + \rho\, v_t`.
    """
    state = getattr(trajectory, "state", None)
    if state is None:
        raise ValueError("trajectory must be what run() returned (it carries the "
                         "optimiser's final state)")
    d = np.shape(trajectory.w)[1]
    return _preconditioner(optimizer, state, d)


def _preconditioner(opt, state, d: int) -> np.ndarray:
    if isinstance(opt, SAM):
        return _preconditioner(opt.base, state.base, d)
    if isinstance(opt, GD | Momentum):
        return np.ones(d)
    if isinstance(opt, Adagrad | RMSProp):
        return 1.0 / (np.sqrt(state.buf) + opt.eps)
    if isinstance(opt, Adam | AdaHessian):
        if state.t == 0:
            raise ValueError(f"{type(opt).__name__} has taken no step: no preconditioner yet")
        root = np.sqrt(state.v / (1.0 - opt.beta2**state.t))
        return 1.0 / (root ** getattr(opt, "hessian_power", 1.0) + opt.eps)
    if isinstance(opt, IRE):
        mask = state.mask if state.mask is not None else np.zeros(d, dtype=bool)
        return (1.0 + opt.kappa * mask) * _preconditioner(opt.base, state.base, d)
    if isinstance(opt, NoiseScaledSGD):
        return 1.0 + opt.rho * state.v
    raise ValueError(f"no diagonal preconditioner is defined for {type(opt).__name__}; "
                     "known: GD, SAM, Momentum, Nesterov, Adagrad, RMSProp, Adam, "
                     "AdaHessian, IRE, NoiseScaledSGD")
