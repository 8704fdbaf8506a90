"""Public tests for the coding exercise of Chapter 6 (noise, batch size and the width of minima).

The expected value of every case is computed by brute force from optbook itself: the
mean of the squared error of the mini-batch gradient ``problem.subset(idx).grad(w)``
over *every* possible batch (all subsets of size B without replacement, all ordered
B-tuples with replacement), each batch being equally likely.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..problems import LeastSquares
from . import Case, exercise


def exact_minibatch_variance(problem, w, B: int, replace: bool) -> float:
    """E‖ĝ_B − ∇L(w)‖² by enumerating every batch (small n only)."""
    g = problem.grad(w)
    batches = (itertools.product(range(problem.n), repeat=B) if replace
               else itertools.combinations(range(problem.n), B))
    errors = [float(np.sum((problem.subset(np.array(idx)).grad(w) - g) ** 2))
              for idx in batches]
    return float(np.mean(errors))


def _cases() -> list[Case]:
    rng = np.random.default_rng(6)
    cases = []
    for d, n in ((2, 5), (3, 6)):
        problem = LeastSquares(rng.standard_normal((d, n)), rng.standard_normal(n))
        w = rng.standard_normal(d)
        for B, replace in ((1, False), (2, False), (3, False), (n, False), (2, True),
                           (3, True)):
            if replace:
                how = "with replacement (n²/B · tr Σ)"
            elif B == n:
                how = "without replacement, full batch (the noise is exactly 0)"
            else:
                how = "without replacement (needs the factor (n−B)/(n−1))"
            cases.append(Case(f"least squares d={d}, n={n}, B={B}, {how}",
                              (problem, w, B, replace),
                              exact_minibatch_variance(problem, w, B, replace),
                              rtol=1e-8, atol=1e-10))
    return cases


exercise("ex-minibatch-variance", _cases())
