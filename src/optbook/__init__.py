"""optbook: the code of an executable textbook on optimization for deep learning.

Modules, one idea each:

* :mod:`optbook.problems` — losses: ``LeastSquares``, ``LogisticRegression``,
  ``Quadratic``, ``Rosenbrock``, and ``SymbolicProblem`` for any SymPy expression;
* :mod:`optbook.optimizers` — optimisers (``GD``, ``Newton``, ``BacktrackingGD``,
  ``Momentum``, ``Nesterov``, ``Adagrad``, ``RMSProp``, ``Adam``) and ``run`` (full batch or SGD);
* :mod:`optbook.schedules` — learning-rate schedules (functions of the step number);
* :mod:`optbook.taylor` — first- and second-order Taylor models;
* :mod:`optbook.spectral` — eigenvalues and the condition number of a Hessian;
* :mod:`optbook.hessian` — matrix-free: power iteration, Hutchinson trace and diagonal,
  finite-difference Hessian-vector products (``finite_difference_hvp``, ``with_fd_hvp``);
* :mod:`optbook.sharpness` — curvature-aware optimisers: ``SAM``, ``IRE``, ``AdaHessian``,
  the notes' variant ``NoiseScaledSGD`` and ``SGDHess``;
* :mod:`optbook.toys` — two-dimensional toy losses with sharp and flat minima
  (``NoisyValley``, ``TwoBasins``);
* :mod:`optbook.networks` — a two-layer network (``TwoLayerNet``) and a toy regression set;
* :mod:`optbook.bounds` — the step-size bounds and convergence rates;
* :mod:`optbook.symbolic` — checked SymPy derivations;
* :mod:`optbook.sliders` — slider figures, live in Jupyter and static on the website;
* :mod:`optbook.plotting` — the book's figure style;
* :mod:`optbook.exercises` — automatic feedback on coding exercises (``check``).
"""

from .exercises import check
from .hessian import finite_difference_hvp, with_fd_hvp
from .networks import TwoLayerNet, toy_regression
from .optimizers import (
                         GD,
                         Adagrad,
                         Adam,
                         BacktrackingGD,
                         Momentum,
                         Nesterov,
                         Newton,
                         RMSProp,
                         Trajectory,
                         run,
)
from .problems import LeastSquares, LogisticRegression, Quadratic, Rosenbrock, SymbolicProblem
from .sharpness import IRE, SAM, AdaHessian, NoiseScaledSGD, SGDHess
from .taylor import along, taylor_model

__version__ = "0.1.0"

__all__ = [
    "GD", "Adagrad", "Adam", "BacktrackingGD", "Momentum", "Nesterov", "Newton", "RMSProp",
    "LeastSquares", "LogisticRegression", "Quadratic", "Rosenbrock", "SymbolicProblem",
    "Trajectory", "TwoLayerNet", "along", "check", "run", "taylor_model", "toy_regression",
    "SAM", "IRE", "AdaHessian", "NoiseScaledSGD", "SGDHess", "finite_difference_hvp",
    "with_fd_hvp",
]
