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

from importlib import import_module as _import_module

# Where each public name is defined. Nothing is imported here: a name is imported from its
# module when first used (PEP 562 ``__getattr__`` below), so ``import optbook`` is instant
# and ``from optbook import X`` imports only X's module (Python in the reader's browser
# imports optbook at once; the exercises alone import every chapter's checks).
_EXPORTS = {
    "check": "exercises",
    "finite_difference_hvp": "hessian", "with_fd_hvp": "hessian",
    "TwoLayerNet": "networks", "toy_regression": "networks",
    **dict.fromkeys(["GD", "Adagrad", "Adam", "BacktrackingGD", "Momentum", "Nesterov",
                     "Newton", "RMSProp", "Trajectory", "run"], "optimizers"),
    **dict.fromkeys(["LeastSquares", "LogisticRegression", "Quadratic", "Rosenbrock",
                     "SymbolicProblem"], "problems"),
    **dict.fromkeys(["IRE", "SAM", "AdaHessian", "NoiseScaledSGD", "SGDHess"], "sharpness"),
    "along": "taylor", "taylor_model": "taylor",
}

__version__ = "0.1.0"

__all__ = [
    "GD", "Adagrad", "Adam", "BacktrackingGD", "Momentum", "Nesterov", "Newton", "RMSProp",
    "LeastSquares", "LogisticRegression", "Quadratic", "Rosenbrock", "SymbolicProblem",
    "Trajectory", "TwoLayerNet", "along", "check", "run", "taylor_model", "toy_regression",
    "SAM", "IRE", "AdaHessian", "NoiseScaledSGD", "SGDHess", "finite_difference_hvp",
    "with_fd_hvp",
]


def __getattr__(name):
    """``optbook.X``: a name of ``__all__`` from its module, or the submodule ``X``, imported
    on first use and then kept as an attribute."""
    if name in _EXPORTS:
        value = getattr(_import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = _import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
