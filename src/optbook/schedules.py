r"""Learning-rate schedules: functions ``t -> eta_t`` of the step number ``t = 0, 1, ...``.

Each can be passed as ``lr`` to an optimiser of ``optbook.optimizers``, which
evaluates it once per step. The arguments are checked when the schedule is
built, and the step number when it is called (an integer ``t >= 0``).
"""

from __future__ import annotations

import math

from ._validate import as_count, as_scalar

__all__ = ["constant", "step", "exponential", "cosine", "warmup"]


def _step_number(t) -> int:
    return as_count(t, "t", minimum=0)


def constant(lr):
    r""":math:`\eta_t = \eta` for every ``t``.

    Args:
        lr: the step size :math:`\eta > 0`.
    """
    lr = as_scalar(lr, "lr", positive=True)

    def schedule(t) -> float:
        _step_number(t)
        return lr

    return schedule


def step(lr0, drop, every):
    r"""Step decay, :math:`\eta_t = \eta_0\, \mathrm{drop}^{\lfloor t/\mathrm{every}\rfloor}`.

    Args:
        lr0: the initial step size :math:`\eta_0 > 0`.
        drop: factor in (0, 1] applied every ``every`` steps.
        every: number of steps between drops, >= 1.
    """
    lr0 = as_scalar(lr0, "lr0", positive=True)
    drop = as_scalar(drop, "drop", positive=True, below=1.0, strict_below=False)
    every = as_count(every, "every")

    def schedule(t) -> float:
        return lr0 * drop ** (_step_number(t) // every)

    return schedule


def exponential(lr0, decay, decay_steps):
    r"""Exponential decay, :math:`\eta_t = \eta_0\, \mathrm{decay}^{t/\mathrm{decay\_steps}}`.

    The decay is smooth: the step size is multiplied by ``decay`` every
    ``decay_steps`` steps, a little at each step.

    Args:
        lr0: the initial step size :math:`\eta_0 > 0`.
        decay: factor in (0, 1].
        decay_steps: steps over which the factor ``decay`` is applied, >= 1.
    """
    lr0 = as_scalar(lr0, "lr0", positive=True)
    decay = as_scalar(decay, "decay", positive=True, below=1.0, strict_below=False)
    decay_steps = as_count(decay_steps, "decay_steps")

    def schedule(t) -> float:
        return lr0 * decay ** (_step_number(t) / decay_steps)

    return schedule


def cosine(lr_max, total_steps, lr_min=0.0):
    r"""Cosine annealing (Loshchilov & Hutter 2017, without restarts),

    .. math::
        \eta_t = \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})
        \bigl(1 + \cos(\pi t / T)\bigr) \quad (t \le T),

    and :math:`\eta_t = \eta_{\min}` for :math:`t > T`.

    Args:
        lr_max: the initial step size :math:`\eta_{\max} > 0`.
        total_steps: :math:`T \ge 1`.
        lr_min: the final step size, :math:`0 \le \eta_{\min} \le \eta_{\max}`.
    """
    lr_max = as_scalar(lr_max, "lr_max", positive=True)
    total_steps = as_count(total_steps, "total_steps")
    lr_min = as_scalar(lr_min, "lr_min", nonnegative=True, below=lr_max, strict_below=False)

    def schedule(t) -> float:
        t = _step_number(t)
        if t >= total_steps:
            return lr_min
        return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * t / total_steps))

    return schedule


def warmup(schedule, warmup_steps):
    r"""Linear warm-up in front of ``schedule``:

    .. math::
        \eta_t = \frac{t+1}{W}\, s(t) \quad (t < W), \qquad \eta_t = s(t) \quad (t \ge W),

    so the step size rises linearly from :math:`s(0)/W` (small, never 0) to the
    value of the wrapped schedule :math:`s` at ``t = W - 1``.

    Args:
        schedule: the wrapped schedule ``t -> eta_t``, or a positive number
            (a constant step size).
        warmup_steps: :math:`W \ge 1`.
    """
    if not callable(schedule):
        schedule = constant(as_scalar(schedule, "schedule", positive=True))
    warmup_steps = as_count(warmup_steps, "warmup_steps")

    def warmed(t) -> float:
        t = _step_number(t)
        base = float(schedule(t))
        if t < warmup_steps:
            return base * (t + 1) / warmup_steps
        return base

    return warmed
