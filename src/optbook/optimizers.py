r"""Optimisers as small objects, and :func:`run`, which applies one to a problem.

An optimiser is built from its hyperparameters and has two methods, in the
style of optax's gradient transformations (init/update):

* ``init(w) -> state``: the optimiser's memory (step count, moments, ...); an
  optimiser that draws random numbers takes ``init(w, rng=...)`` and :func:`run`
  passes its ``rng`` (:func:`init_state`);
* ``update(g, state, w, problem) -> delta``: the step :math:`\Delta`, so that
  :math:`w_{t+1} = w_t + \Delta`. It may update ``state`` in place, and may
  call ``problem.grad`` or ``problem.hvp`` again: that is how methods needing
  extra evaluations per step (SAM, AdaHessian, Newton-CG) fit the same interface.

The built-in optimisers also have ``step(g, state, w, problem)``, which applies the
same step to ``w`` in place and allocates nothing: the step is computed into a
scratch buffer kept in the state, with ``out=`` arguments, in the order of the
formula in the docstring. :func:`run` calls ``step`` when an optimiser has one and
``w += update(...)`` otherwise (:func:`apply_step`), so an optimiser written by a
reader needs only ``init`` and ``update``.

:func:`run` owns the loop: it evaluates :math:`g_t=\nabla L(w_t)`, asks for the
step, applies it in place, and records the trajectory in preallocated arrays.
Divergence (a non-finite or exploding loss) ends the run and is reported in
``Trajectory.diverged``; no overflow warning is printed.

Everything keeps the precision of ``w0``: float32 in, float32 moments and iterates
out (float64 is the default).

A step size ``lr`` is a positive number or a schedule, a function ``t -> lr``
of the step number ``t = 0, 1, ...`` (see ``optbook.schedules``).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ._validate import FLOATS, as_count, as_scalar, as_vector, check_problem
from .problems import quiet

__all__ = ["Optimizer", "Trajectory", "GD", "Newton", "BacktrackingGD", "Momentum", "Nesterov",
           "Adagrad", "RMSProp", "Adam", "AdamW", "run", "learning_rate", "init_state",
           "ema_update", "adaptive_step", "apply_step", "default_keep_every", "TRAJECTORY_BYTES"]

#: The default memory budget of the iterates :func:`run` keeps (64 MiB).
TRAJECTORY_BYTES = 64 * 2**20


class Optimizer(Protocol):
    """The interface every optimiser implements (duck typing)."""

    def init(self, w: np.ndarray):
        """Return the initial state for parameters ``w``."""

    def update(self, g: np.ndarray, state, w: np.ndarray, problem) -> np.ndarray:
        """Return the step :math:`\\Delta` (``w`` must not be modified)."""


def _check_lr(lr, name: str = "lr"):
    """A step size is a positive number or a callable schedule ``t -> lr``."""
    if callable(lr):
        return lr
    return as_scalar(lr, name, positive=True)


def learning_rate(lr, t: int) -> float:
    """The step size at step ``t``: ``lr`` itself, or ``lr(t)`` for a schedule."""
    return float(lr(t)) if callable(lr) else lr


def zeros_like(w) -> np.ndarray:
    """Zeros shaped like ``w``, in its precision (float32 stays float32, else float64)."""
    dtype = w.dtype if isinstance(w, np.ndarray) and w.dtype in FLOATS else np.float64
    return np.zeros(np.shape(w), dtype=dtype)


class InPlace:
    r"""The built-in optimisers' two entry points, from one method ``delta(g, state, w,
    problem)`` that computes :math:`\Delta` into the state's scratch buffer
    ``state.scratch`` (made by ``init``; with ``None`` the arithmetic allocates instead):
    ``update`` returns a copy of it, ``step`` adds it to ``w`` in place."""

    def update(self, g, state, w, problem) -> np.ndarray:
        return self.delta(g, state, w, problem).copy()

    def step(self, g, state, w, problem) -> None:
        w += self.delta(g, state, w, problem)


def apply_step(optimizer, g, state, w, problem) -> None:
    r""":math:`w \leftarrow w + \Delta` in place: ``optimizer.step`` if it has one, else
    ``w += optimizer.update(g, state, w, problem)``."""
    stepper(optimizer)(g, state, w, problem)


def stepper(optimizer):
    """The function ``(g, state, w, problem) -> None`` that applies ``optimizer``'s step
    in place (:func:`apply_step`), looked up once for a whole run."""
    step = getattr(optimizer, "step", None)
    if callable(step):
        return step

    def step_by_update(g, state, w, problem):
        w += optimizer.update(g, state, w, problem)

    return step_by_update


@dataclass
class StepCount:
    """State of a memoryless optimiser: the step number ``t`` (and a scratch buffer)."""

    t: int = 0
    scratch: np.ndarray | None = field(default=None, repr=False)


class GD(InPlace):
    r"""Gradient descent, :math:`w_{t+1} = w_t - \eta_t\, g_t`.

    The Taylor model of Chapter 1 predicts the loss after one step exactly on
    a quadratic; Chapter 2 shows it decreases iff :math:`0<\eta<2g^\top g/g^\top H g`.

    Args:
        lr: step size :math:`\eta > 0`, or a schedule ``t -> eta_t``.
    """

    def __init__(self, lr):
        self.lr = _check_lr(lr)

    def init(self, w) -> StepCount:
        return StepCount(scratch=zeros_like(w))

    def delta(self, g, state: StepCount, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        return np.multiply(g, -eta, out=state.scratch)  # Δ = -η g

    def __repr__(self) -> str:
        return f"GD(lr={self.lr!r})"


def _hessian(problem, w) -> np.ndarray:
    """The Hessian at ``w``: ``problem.hessian(w)`` if it exists, else assembled
    column by column from Hessian-vector products (``dim`` of them)."""
    if callable(getattr(problem, "hessian", None)):
        return np.asarray(problem.hessian(w), dtype=float)
    eye = np.eye(problem.dim)
    H = np.column_stack([problem.hvp(w, e) for e in eye])
    return 0.5 * (H + H.T)


class Newton:
    r"""Newton's method, :math:`w_{t+1} = w_t - \eta\,(H_t + \lambda I)^{-1} g_t`.

    With ``lr=1`` and ``damping=0`` it is the pure Newton step
    :math:`\delta = -H^{-1}g`, which lands on the minimiser of a positive definite
    quadratic in one step (Nocedal & Wright 2006, §3.3). Each step solves a
    :math:`d\times d` linear system, :math:`O(d^3)` work.

    Args:
        lr: step multiplier :math:`\eta` (1 is the Newton step), or a schedule.
        damping: :math:`\lambda \ge 0` added to the diagonal (Levenberg–Marquardt
            damping); makes the system solvable when :math:`H` is singular.
        pinv: use the pseudo-inverse :math:`H^+` instead of solving, i.e. the
            minimum-norm Newton step; it ignores directions where :math:`H` is zero.

    A singular system without ``damping`` or ``pinv`` raises ``ValueError``.
    """

    def __init__(self, lr=1.0, damping: float = 0.0, pinv: bool = False):
        self.lr = _check_lr(lr)
        self.damping = as_scalar(damping, "damping", nonnegative=True)
        self.pinv = bool(pinv)

    def init(self, w) -> StepCount:
        return StepCount()

    def update(self, g, state: StepCount, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        A = _hessian(problem, w) + self.damping * np.eye(g.size)
        if self.pinv:
            return -eta * (np.linalg.pinv(A, hermitian=True) @ g)
        lam = np.abs(np.linalg.eigvalsh(A))
        if lam.min() <= g.size * np.finfo(float).eps * lam.max():
            # Numerically singular (e.g. H = ΦΦᵀ with n < d): a solve would return one
            # of infinitely many steps, chosen by round-off.
            raise ValueError("the Hessian (plus damping) is singular: use damping > 0 or "
                             "pinv=True")
        return -eta * np.linalg.solve(A, g)

    def __repr__(self) -> str:
        return f"Newton(lr={self.lr!r}, damping={self.damping}, pinv={self.pinv})"


@dataclass
class BacktrackingState:
    """State of :class:`BacktrackingGD`: the step count and the step sizes chosen."""

    t: int = 0
    lrs: list = field(default_factory=list)


class BacktrackingGD:
    r"""Gradient descent with a backtracking (Armijo) line search.

    Starting from :math:`\eta = \eta_0`, halve (multiply by ``shrink``) until the
    sufficient-decrease condition holds,

    .. math::
        L(w - \eta g) \le L(w) - c\,\eta\,\|g\|^2 ,

    then step (Nocedal & Wright 2006, Alg. 3.1). It needs no smoothness
    constant: on a :math:`\beta`-smooth loss the accepted step is at least
    ``shrink * 2(1 - c)/β``. The chosen steps are recorded in ``state.lrs``.

    Args:
        lr0: the first trial step :math:`\eta_0 > 0`.
        shrink: factor in (0, 1) applied on each rejection.
        c: sufficient-decrease constant in (0, 1).
        max_trials: rejections allowed before taking the last trial step.
    """

    def __init__(self, lr0: float = 1.0, shrink: float = 0.5, c: float = 1e-4,
                 max_trials: int = 60):
        self.lr0 = as_scalar(lr0, "lr0", positive=True)
        self.shrink = as_scalar(shrink, "shrink", positive=True, below=1.0)
        self.c = as_scalar(c, "c", positive=True, below=1.0)
        self.max_trials = as_count(max_trials, "max_trials")

    def init(self, w) -> BacktrackingState:
        return BacktrackingState()

    def update(self, g, state: BacktrackingState, w, problem) -> np.ndarray:
        loss, gg, eta = problem.loss(w), float(g @ g), self.lr0
        for _ in range(self.max_trials):
            if problem.loss(w - eta * g) <= loss - self.c * eta * gg:
                break
            eta *= self.shrink
        state.t += 1
        state.lrs.append(eta)
        return -eta * g

    def __repr__(self) -> str:
        return f"BacktrackingGD(lr0={self.lr0}, shrink={self.shrink}, c={self.c})"


def _check_beta(x, name: str) -> float:
    """A momentum or averaging coefficient in [0, 1)."""
    return as_scalar(x, name, nonnegative=True, below=1.0)


def ema_update(avg: np.ndarray, x, beta: float, *, scratch: np.ndarray | None = None) -> None:
    r"""In place: :math:`a \leftarrow \beta a + (1-\beta)\,x`, the exponential moving
    average behind RMSProp's and Adam's moments (no new array for ``avg``; none at all
    with a ``scratch`` array shaped like ``avg``, which may be ``x`` itself)."""
    avg *= beta
    avg += np.multiply(x, 1.0 - beta, out=scratch)


def adaptive_step(num, v, eps: float, scale: float, bias2: float = 1.0,
                  power: float = 1.0, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""The step of the adaptive methods, in ``out`` (a new array if ``None``):

    .. math::
        -\,\text{scale}\cdot \frac{\text{num}}{(\sqrt{v})^k/(\sqrt{b_2})^k + \varepsilon}

    with :math:`k` = ``power`` and :math:`b_2` = ``bias2`` (Adam's :math:`1-\beta_2^t`).
    Adagrad (:math:`v = G_t`), RMSProp and Adam take :math:`k = 1`, AdaHessian any
    :math:`k`. The operations run in PyTorch's order (``sqrt``, divide by the bias
    correction, add ε, divide, scale), so the iterates agree with torch.optim bit for
    bit in most steps. ``out`` may be ``v``'s scratch but not ``num``.
    """
    denom = np.sqrt(v, out=out)
    if power != 1.0:
        denom **= power
    if bias2 != 1.0:
        denom /= math.sqrt(bias2) ** power  # a Python float: float32 stays float32
    denom += eps
    np.divide(num, denom, out=denom)
    denom *= -scale
    return denom


@dataclass
class MomentState:
    """State of a one-moment optimiser: the step count and one array (in place)."""

    t: int
    buf: np.ndarray
    scratch: np.ndarray | None = field(default=None, repr=False)


class Momentum(InPlace):
    r"""Heavy-ball momentum (Polyak 1964), in PyTorch's form.

    .. math::
        b_t = \gamma\, b_{t-1} + g_t \quad (b_0 = g_0), \qquad
        w_{t+1} = w_t - \eta_t\, b_t .

    This is ``torch.optim.SGD(lr=η, momentum=γ, dampening=0)``: the buffer is
    the gradient itself at the first step. It equals the classical heavy ball
    :math:`w_{t+1} = w_t - \eta g_t + \gamma (w_t - w_{t-1})` with a constant
    step; the EMA form :math:`v = \gamma v + (1-\gamma) g` corresponds to
    :math:`\eta (1-\gamma)`. With :math:`\gamma = 0` it is :class:`GD`.

    With ``dampening`` :math:`\tau`, the buffer adds :math:`(1-\tau)\,g_t` after the
    first step, :math:`b_t = \gamma b_{t-1} + (1-\tau) g_t` (:math:`b_0 = g_0`), as
    ``torch.optim.SGD(..., dampening=τ)``; :math:`\tau = \gamma` is PyTorch's
    moving-average form (its first buffer is :math:`g_0`, not :math:`(1-\gamma)g_0`).

    Args:
        lr: step size :math:`\eta > 0`, or a schedule ``t -> eta_t``.
        gamma: momentum :math:`\gamma \in [0, 1)`.
        dampening: :math:`\tau \in [0, 1]` (default 0).
    """

    def __init__(self, lr, gamma: float = 0.9, dampening: float = 0.0):
        self.lr = _check_lr(lr)
        self.gamma = _check_beta(gamma, "gamma")
        self.dampening = as_scalar(dampening, "dampening", nonnegative=True, below=1.0,
                                   strict_below=False)

    def init(self, w) -> MomentState:
        return MomentState(t=0, buf=zeros_like(w), scratch=zeros_like(w))

    def _advance(self, g, state: MomentState):
        """Update the buffer in place, b ← γb + g; return (η_t, b)."""
        eta = learning_rate(self.lr, state.t)
        first = state.t == 0
        state.t += 1
        b = state.buf
        b *= self.gamma  # b = 0 at t = 0, so the first buffer is g exactly
        if first or self.dampening == 0.0:
            b += g
        else:
            b += np.multiply(g, 1.0 - self.dampening, out=state.scratch)
        return eta, b

    def delta(self, g, state: MomentState, w, problem) -> np.ndarray:
        eta, b = self._advance(g, state)
        return np.multiply(b, -eta, out=state.scratch)  # Δ = -η b

    def __repr__(self) -> str:
        extra = f", dampening={self.dampening}" if self.dampening else ""
        return f"{type(self).__name__}(lr={self.lr!r}, gamma={self.gamma}{extra})"


class Nesterov(Momentum):
    r"""Nesterov's accelerated gradient, in PyTorch's form.

    .. math::
        b_t = \gamma\, b_{t-1} + g_t \quad (b_0 = g_0), \qquad
        w_{t+1} = w_t - \eta_t\,(g_t + \gamma\, b_t) .

    This is ``torch.optim.SGD(lr=η, momentum=γ, dampening=0, nesterov=True)``.
    It is the form of Sutskever et al. (2013),
    :math:`v_{t+1} = \gamma v_t - \eta \nabla L(w_t + \gamma v_t)`, after the
    change of variable :math:`w \leftarrow w + \gamma v`: the iterates here are
    the look-ahead points, where the gradient is evaluated. With
    :math:`\gamma = 0` it is :class:`GD`.

    Args:
        lr: step size :math:`\eta > 0`, or a schedule ``t -> eta_t``.
        gamma: momentum :math:`\gamma \in [0, 1)`.
    """

    def __init__(self, lr, gamma: float = 0.9):
        # no dampening: PyTorch requires zero dampening for Nesterov as well
        super().__init__(lr, gamma)

    def delta(self, g, state: MomentState, w, problem) -> np.ndarray:
        eta, b = self._advance(g, state)
        s = np.multiply(b, self.gamma, out=state.scratch)
        s += g
        s *= -eta
        return s  # Δ = -η (g + γ b)


class Adagrad(InPlace):
    r"""Adagrad (Duchi, Hazan & Singer 2011), diagonal form, as PyTorch implements it.

    .. math::
        G_t = G_{t-1} + g_t \odot g_t \quad (G_{-1} = 0), \qquad
        w_{t+1} = w_t - \eta_t\, \frac{g_t}{\sqrt{G_t} + \varepsilon} .

    This is ``torch.optim.Adagrad(lr=η, lr_decay=0, initial_accumulator_value=0,
    eps=ε)``. :math:`G` is a sum of squared gradients (a second *moment*, not a
    second derivative).

    Args:
        lr: step size :math:`\eta > 0`, or a schedule ``t -> eta_t``.
        eps: :math:`\varepsilon > 0`, added outside the square root.
    """

    def __init__(self, lr, eps: float = 1e-10):
        self.lr = _check_lr(lr)
        self.eps = as_scalar(eps, "eps", positive=True)

    def init(self, w) -> MomentState:
        return MomentState(t=0, buf=zeros_like(w), scratch=zeros_like(w))

    def delta(self, g, state: MomentState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        G, s = state.buf, state.scratch
        G += np.multiply(g, g, out=s)  # G ← G + g ⊙ g
        return adaptive_step(g, G, self.eps, eta, out=s)

    def __repr__(self) -> str:
        return f"Adagrad(lr={self.lr!r}, eps={self.eps})"


class RMSProp(InPlace):
    r"""RMSProp (Tieleman & Hinton 2012, Lecture 6.5), as PyTorch implements it.

    .. math::
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t \quad (v_{-1} = 0), \qquad
        w_{t+1} = w_t - \eta_t\, \frac{g_t}{\sqrt{v_t} + \varepsilon} .

    This is ``torch.optim.RMSprop(lr=η, alpha=β₂, eps=ε, centered=False,
    momentum=0)``. There is no bias correction: with :math:`v_{-1}=0` the early
    :math:`v_t` are small and the first steps large (about
    :math:`\eta/\sqrt{1-\beta_2}` per coordinate); compare :class:`Adam`.

    Args:
        lr: step size :math:`\eta > 0`, or a schedule ``t -> eta_t``.
        beta2: averaging coefficient :math:`\beta_2 \in [0, 1)` (torch's ``alpha``).
        eps: :math:`\varepsilon > 0`, added outside the square root.
    """

    def __init__(self, lr, beta2: float = 0.99, eps: float = 1e-8):
        self.lr = _check_lr(lr)
        self.beta2 = _check_beta(beta2, "beta2")
        self.eps = as_scalar(eps, "eps", positive=True)

    def init(self, w) -> MomentState:
        return MomentState(t=0, buf=zeros_like(w), scratch=zeros_like(w))

    def delta(self, g, state: MomentState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        v, s = state.buf, state.scratch
        ema_update(v, np.multiply(g, g, out=s), self.beta2, scratch=s)  # v ← β₂v + (1-β₂)g⊙g
        return adaptive_step(g, v, self.eps, eta, out=s)

    def __repr__(self) -> str:
        return f"RMSProp(lr={self.lr!r}, beta2={self.beta2}, eps={self.eps})"


@dataclass
class AdamState:
    """State of :class:`Adam`: the step count and the two moments (in place)."""

    t: int
    m: np.ndarray
    v: np.ndarray
    scratch: np.ndarray | None = field(default=None, repr=False)


class Adam(InPlace):
    r"""Adam (Kingma & Ba 2015, Algorithm 1), as PyTorch implements it.

    With the step number :math:`t = 1, 2, \dots` in the bias corrections,

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t, \\
        \hat m_t &= \frac{m_t}{1-\beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
        w_{t+1} = w_t - \eta_t\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon} ,

    with :math:`m_0 = v_0 = 0` and :math:`\varepsilon` outside the square root.
    This is ``torch.optim.Adam(lr=η, betas=(β₁, β₂), eps=ε, weight_decay=0,
    amsgrad=False)``, computed in the same order (``denom = sqrt(v)/sqrt(1-β₂ᵗ) + ε``,
    step size ``η/(1-β₁ᵗ)``). The first step is
    :math:`-\eta\, g/(|g| + \varepsilon) \approx -\eta\,\mathrm{sign}(g)`: scale
    invariant, not Newton-like. (The learning-rate schedule is indexed from
    ``t = 0`` like every optimiser here.)

    **L2 regularisation.** With ``weight_decay`` :math:`\lambda > 0` the gradient is
    :math:`g_t + \lambda w_t`, the gradient of :math:`L(w) + \tfrac\lambda2\|w\|^2`
    (``torch.optim.Adam(weight_decay=λ)``): the decay passes through the moments and
    is divided by :math:`\sqrt{\hat v_t}` like the rest. :class:`AdamW` decouples it.

    Args:
        lr: step size :math:`\eta > 0` (default 1e-3), or a schedule ``t -> eta_t``.
        beta1: first-moment coefficient :math:`\beta_1 \in [0, 1)`.
        beta2: second-moment coefficient :math:`\beta_2 \in [0, 1)`.
        eps: :math:`\varepsilon > 0`.
        weight_decay: the L2 coefficient :math:`\lambda \ge 0` (default 0).
    """

    decoupled = False  # AdamW: the decay acts on w directly, not through the gradient

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0):
        self.lr = _check_lr(lr)
        self.beta1 = _check_beta(beta1, "beta1")
        self.beta2 = _check_beta(beta2, "beta2")
        self.eps = as_scalar(eps, "eps", positive=True)
        self.weight_decay = as_scalar(weight_decay, "weight_decay", nonnegative=True)

    def init(self, w) -> AdamState:
        return AdamState(t=0, m=zeros_like(w), v=zeros_like(w), scratch=zeros_like(w))

    def delta(self, g, state: AdamState, w, problem) -> np.ndarray:
        eta = learning_rate(self.lr, state.t)
        state.t += 1
        t, m, v, s = state.t, state.m, state.v, state.scratch
        if self.weight_decay and not self.decoupled:
            g = g + self.weight_decay * w  # the L2 term's gradient (a new array)
        ema_update(m, g, self.beta1, scratch=s)                          # m ← β₁m + (1-β₁)g
        ema_update(v, np.multiply(g, g, out=s), self.beta2, scratch=s)   # v ← β₂v + (1-β₂)g⊙g
        bc1, bc2 = 1.0 - self.beta1**t, 1.0 - self.beta2**t
        return adaptive_step(m, v, self.eps, eta / bc1, bias2=bc2, out=s)  # -η m̂/(√v̂ + ε)

    def __repr__(self) -> str:
        extra = f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return (f"{type(self).__name__}(lr={self.lr!r}, beta1={self.beta1}, "
                f"beta2={self.beta2}, eps={self.eps}{extra})")


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with *decoupled* weight decay, as PyTorch
    implements it.

    .. math::
        w_{t+1} = (1 - \eta_t\lambda)\, w_t - \eta_t\,
        \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon} ,

    with :math:`m_t, v_t` the moments of the gradient :math:`g_t` alone, as in
    :class:`Adam`. The decay shrinks every weight by the same factor, whatever its
    gradient history, where Adam's L2 term (``Adam(weight_decay=λ)``) is divided by
    :math:`\sqrt{\hat v_t}`: weights with large gradients are barely regularised.
    This is ``torch.optim.AdamW(lr=η, betas=(β₁, β₂), eps=ε, weight_decay=λ)``, which
    shrinks :math:`w` first and then adds the Adam step, as :meth:`step` does; ``update``
    returns :math:`w_{t+1} - w_t` (one array more).

    Args:
        lr, beta1, beta2, eps: as for :class:`Adam`.
        weight_decay: :math:`\lambda \ge 0` (default 1e-2, PyTorch's).
    """

    decoupled = True

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def _shrink(self, state) -> float:
        r"""The factor :math:`1 - \eta_t\lambda` of this step (before ``t`` advances)."""
        return 1.0 - learning_rate(self.lr, state.t) * self.weight_decay

    def update(self, g, state: AdamState, w, problem) -> np.ndarray:
        shrink = self._shrink(state)
        return (shrink - 1.0) * w + self.delta(g, state, w, problem)

    def step(self, g, state: AdamState, w, problem) -> None:
        shrink = self._shrink(state)
        adam = self.delta(g, state, w, problem)  # the moments see g alone
        w *= shrink
        w += adam

    def __repr__(self) -> str:
        return (f"AdamW(lr={self.lr!r}, beta1={self.beta1}, beta2={self.beta2}, "
                f"eps={self.eps}, weight_decay={self.weight_decay})")


@dataclass
class Trajectory:
    r"""What :func:`run` records.

    Attributes:
        w: iterates, shape ``(k, d)``; row ``i`` is :math:`w_{t_i}` and ``w[0] = w0``.
            With ``keep_every=1`` ``k = steps + 1`` and ``t_i = i`` (see :func:`run` for
            the default), in the precision of ``w0``.
        loss: :math:`L(w_t)` at every step, shape ``(steps + 1,)`` (``nan`` at the steps
            ``run(..., loss_every=k)`` does not measure).
        grad_norm: :math:`\|\nabla L(w_t)\|` at every step, shape ``(steps + 1,)`` (the same).
        t: the step numbers of the rows of ``w``.
        diverged: whether the run stopped because the loss exploded.
        diverged_at: the first step whose loss was non-finite or above the
            threshold, else ``None``. Entries after it are ``nan``.
        state: the optimiser's state after the last step (step count, moments, ...),
            e.g. for :func:`optbook.sharpness.preconditioner`.
        records: what ``run(..., record={name: f})`` measured, ``{name: values}``, each of
            shape ``(len(record_t),)`` (``nan`` after a divergence); empty by default.
        record_t: the step numbers of the measurements.
    """

    w: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    t: np.ndarray
    diverged: bool
    diverged_at: int | None
    state: object = None
    records: dict = field(default_factory=dict)
    record_t: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def final(self) -> np.ndarray:
        """The last finite iterate kept."""
        ok = np.all(np.isfinite(self.w), axis=1)
        return self.w[np.flatnonzero(ok)[-1]]


def default_keep_every(steps: int, w: np.ndarray) -> int:
    """The smallest stride whose kept iterates fit in :data:`TRAJECTORY_BYTES` (64 MiB): 1
    (every iterate) for small problems; the first and last iterates are always kept."""
    rows = TRAJECTORY_BYTES // max(w.nbytes, 1)  # iterates that fit
    if rows >= steps + 1:
        return 1
    return steps if rows <= 2 else math.ceil(steps / (rows - 2))


def run(optimizer, problem, w0, steps: int, *, keep_every: int | None = None,
        divergence_threshold: float = 1e8, batch_size: int | None = None,
        replace: bool = False, rng=None, record: dict | None = None,
        record_every: int = 1, loss_every: int = 1) -> Trajectory:
    r"""Apply ``optimizer`` to ``problem`` for ``steps`` steps from ``w0``.

    Each step evaluates :math:`g_t = \nabla L(w_t)` and applies
    :math:`w_{t+1} = w_t + \Delta_t` in place (:func:`apply_step`).
    With ``batch_size=B`` the step uses a mini-batch instead: :math:`B` sample indices
    drawn uniformly (without replacement unless ``replace``) from ``rng``, the loss
    :math:`L_{\mathcal B}` of those samples (``problem.subset(idx)``, an unbiased
    estimate of :math:`L`), its gradient, and the same batch for any extra evaluation
    the optimiser makes; SGD is ``GD`` run this way.

    The arguments are checked once, before the first step; the loop itself costs one
    ``grad``, one ``loss`` and the optimiser's step (see the benchmark in
    ``benchmarks/perf.py``). The run keeps the precision of ``w0`` (float32 or float64).

    Args:
        optimizer: an object with ``init`` and ``update`` (:class:`Optimizer`).
        problem: an object with ``dim``, ``loss``, ``grad`` and ``hvp`` (and ``n`` and
            ``subset(idx)`` for mini-batches).
        w0: starting point, shape ``(problem.dim,)``.
        steps: number of steps, >= 1.
        keep_every: keep every ``keep_every``-th iterate in ``Trajectory.w`` (and the
            last); losses and gradient norms are kept for all steps. The default
            (``None``) keeps every iterate as long as they fit in 64 MiB
            (:data:`TRAJECTORY_BYTES`) and otherwise the smallest stride that fits
            (:func:`default_keep_every`): e.g. with :math:`d = 10^6` in float64 and 100
            steps, every 17th. Pass ``keep_every=1`` to keep all regardless.
        divergence_threshold: the run is declared diverged, and stops, when
            :math:`L(w_t)` is non-finite or exceeds this factor times
            :math:`\max(1, |L(w_0)|)`.
        batch_size: mini-batch size :math:`B` (``None``: full gradients).
        replace: draw each batch with replacement.
        rng: a ``numpy.random.Generator``, required with ``batch_size`` and by optimisers
            with random estimates (AdaHessian's probes): it is handed to
            ``optimizer.init(w, rng=rng)`` when ``init`` takes an ``rng`` keyword
            (:func:`init_state`), so a run is reproducible from one seed.
        record: measurements along the run, ``{name: f}`` with ``f(w, state) -> float``
            evaluated at :math:`w_t` (before step ``t``) for every ``record_every``-th
            ``t`` and the last: e.g. the sharpness
            :math:`\lambda_{\max}(\nabla^2 L(w_t))` (:func:`optbook.experiments.sharpness`).
            They land in ``Trajectory.records`` and ``Trajectory.record_t``.
        record_every: the stride of the measurements, >= 1.
        loss_every: evaluate the full loss :math:`L(w_t)` and :math:`\|\nabla L(w_t)\|`
            every ``loss_every`` steps (and at the last); in between ``Trajectory.loss``
            holds ``nan``, and so does ``grad_norm`` with mini-batches. With mini-batches
            the full loss and gradient cost :math:`n/B` times a batch gradient, most of a
            step: ``loss_every=n // B``
            measures once per epoch. Divergence is then found at the next measured step
            (or, with full gradients, at the first non-finite gradient).

    Returns:
        A :class:`Trajectory`; its ``loss`` and ``grad_norm`` are always of the full loss.
    """
    if not (callable(getattr(optimizer, "init", None))
            and callable(getattr(optimizer, "update", None))):
        raise ValueError(f"optimizer must have init(w) and update(g, state, w, problem) "
                         f"methods, got {type(optimizer).__name__}")
    check_problem(problem)
    w = as_vector(w0, "w0", dim=problem.dim).copy()
    steps = as_count(steps, "steps")
    keep_every = (default_keep_every(steps, w) if keep_every is None
                  else as_count(keep_every, "keep_every"))
    threshold = as_scalar(divergence_threshold, "divergence_threshold", positive=True)
    loss_every = as_count(loss_every, "loss_every")
    sample = _batch_sampler(problem, batch_size, replace, rng)
    record_t, records = _recorder(record, record_every, steps)
    state = init_state(optimizer, w, rng)
    step = stepper(optimizer)

    kept = list(range(0, steps + 1, keep_every))
    if kept[-1] != steps:
        kept.append(steps)
    W = np.full((len(kept), problem.dim), np.nan, dtype=w.dtype)
    loss = np.full(steps + 1, np.nan)
    grad_norm = np.full(steps + 1, np.nan)
    row, next_kept = 0, 0
    k, next_record = 0, record_t[0] if records else -1
    diverged_at = None
    with quiet():  # one error state for the whole loop, not one per evaluation
        evaluate = _evaluator(problem)
        loss[0], g = evaluate(w)
        grad, g = _checked_grad(problem, g)
        if grad is not problem.grad:  # a gradient that must be converted at every step
            evaluate = lambda x: (problem.loss(x), grad(x))  # noqa: E731
        limit = threshold * max(1.0, abs(loss[0]))
        for t in range(steps + 1):
            if t == next_kept:
                W[row] = w
                row += 1
                next_kept = kept[row] if row < len(kept) else -1
            if t == next_record:
                for name, f in record.items():
                    records[name][k] = f(w, state)
                k += 1
                next_record = record_t[k] if k < len(record_t) else -1
            if g is not None:
                grad_norm[t] = math.sqrt(g @ g)  # ‖g‖, as np.linalg.norm computes it
            if t == steps:
                break
            if sample is None:
                step(g, state, w, problem)
            else:
                batch = problem.subset(sample())
                step(batch.grad(w), state, w, batch)
            measured = (t + 1) % loss_every == 0 or t + 1 == steps
            if measured:  # the full loss and gradient at w_{t+1}
                L, g = evaluate(w)
                loss[t + 1] = L
                ok = abs(L) <= limit  # false for nan and inf too: the loss exploded
            elif sample is None:  # only the gradient the next step needs
                g = grad(w)
                ok = math.isfinite(g @ g)
            else:  # nothing full: divergence shows at the next measured step
                g, ok = None, True
            if not ok:
                diverged_at = t + 1
                if measured and not math.isfinite(L):
                    loss[t + 1] = np.nan  # inf - inf and such: recorded as nan
                if t + 1 == next_kept and np.all(np.isfinite(w)):
                    W[row] = w
                break
    return Trajectory(w=W, loss=loss, grad_norm=grad_norm, t=np.array(kept),
                      diverged=diverged_at is not None, diverged_at=diverged_at, state=state,
                      records=records, record_t=np.array(record_t, dtype=int))


def _recorder(record, record_every, steps):
    """The steps at which ``record``'s functions are evaluated, and arrays for their
    values (``nan`` until measured); nothing when ``record`` is ``None``."""
    if record is None:
        return [], {}
    if not (isinstance(record, dict) and record
            and all(isinstance(k, str) and callable(f) for k, f in record.items())):
        raise ValueError(f"record must be a non-empty dict {{name: f}} of functions "
                         f"f(w, state) -> float, got {record!r:.100}")
    every = as_count(record_every, "record_every")
    times = list(range(0, steps + 1, every))
    if times[-1] != steps:
        times.append(steps)
    return times, {name: np.full(len(times), np.nan) for name in record}


def _evaluator(problem):
    """The function ``w -> (L(w), ∇L(w))``: ``problem.loss_and_grad`` when the problem has
    one (e.g. a network, from one forward pass), else ``loss`` and ``grad``."""
    both = getattr(problem, "loss_and_grad", None)
    if callable(both):
        return both
    loss, grad = problem.loss, problem.grad
    return lambda w: (loss(w), grad(w))


def _checked_grad(problem, g0):
    """Check the first gradient ``g0``: a vector of ``dim`` numbers. Return the gradient
    function for the other steps and ``g0`` as an array: ``problem.grad`` itself, or,
    if it returns something else than a float array (a list, integers), a function
    converting at every step."""
    if isinstance(g0, np.ndarray) and g0.shape == (problem.dim,) and g0.dtype in FLOATS:
        return problem.grad, g0
    g0 = as_vector(g0, "problem.grad(w0)", dim=problem.dim, finite=False)
    return (lambda x: as_vector(problem.grad(x), "problem.grad(w)", finite=False)), g0


def init_state(optimizer, w, rng=None):
    """The optimiser's initial state: ``optimizer.init(w, rng=rng)`` if ``init`` takes an
    ``rng`` keyword, else ``optimizer.init(w)``.

    This is how :func:`run` seeds optimisers that draw random numbers (Hutchinson
    probes): such an optimiser's ``init`` accepts ``rng`` and raises a ``ValueError``
    if it needs one and gets ``None``. Wrappers (SAM, IRE) call it for their base.
    """
    try:
        params = inspect.signature(optimizer.init).parameters
    except (TypeError, ValueError):  # no introspectable signature
        params = {}
    if "rng" in params:
        return optimizer.init(w, rng=rng)
    return optimizer.init(w)


def _batch_sampler(problem, batch_size, replace, rng):
    """A function drawing one mini-batch of indices, or None for full gradients."""
    if batch_size is None:
        return None
    n = getattr(problem, "n", None)
    if not (isinstance(n, int | np.integer) and callable(getattr(problem, "subset", None))):
        raise ValueError(f"mini-batches need a problem with n samples and subset(idx); "
                         f"{type(problem).__name__} has neither")
    B = as_count(batch_size, "batch_size")
    if B > n and not replace:
        raise ValueError(f"batch_size must be <= n = {n} without replacement, got {B}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed)) "
                         "when batch_size is given, so that the batches are reproducible")
    replace = bool(replace)
    return lambda: rng.choice(n, size=B, replace=replace)
