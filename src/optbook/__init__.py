"""optbook: the code of an executable textbook on optimization for deep learning.

Modules, one idea each:

* :mod:`optbook.problems` — losses: ``LeastSquares``, ``Quadratic``, ``Rosenbrock``;
* :mod:`optbook.optimizers` — optimisers (``GD``, ...) and ``run``;
* :mod:`optbook.taylor` — first- and second-order Taylor models;
* :mod:`optbook.symbolic` — checked SymPy derivations;
* :mod:`optbook.sliders` — slider figures, live in Jupyter and static on the website;
* :mod:`optbook.plotting` — the book's figure style;
* :mod:`optbook.exercises` — automatic feedback on coding exercises (``check``).
"""

from .exercises import check
from .optimizers import GD, Trajectory, run
from .problems import LeastSquares, Quadratic, Rosenbrock
from .taylor import along, taylor_model

__version__ = "0.1.0"

__all__ = ["GD", "LeastSquares", "Quadratic", "Rosenbrock", "Trajectory", "along", "check",
           "run", "taylor_model"]
