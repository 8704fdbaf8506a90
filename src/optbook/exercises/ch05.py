"""Public tests for the coding exercise of Chapter 5 (the PL* condition)."""

from __future__ import annotations

import numpy as np

from ..networks import TwoLayerNet
from ..problems import LeastSquares
from ..spectral import lambda_min
from . import Case, exercise


def _pl_cases() -> list[Case]:
    rng = np.random.default_rng(5)
    cases = []
    ls = LeastSquares(rng.standard_normal((6, 3)), rng.standard_normal(3))
    cases.append(Case("least squares with d = 6 > n = 3 (DF = Φᵀ)", (ls.Phi.T.copy(),),
                      lambda_min(ls.kernel()), rtol=1e-8, atol=1e-10))
    angles = 2 * np.pi * np.arange(5) / 5
    Phi = np.vstack([np.cos(angles), np.sin(angles)])
    y = np.array([1.0, -1.0, 0.5, -0.5, 0.8])
    for width, activation in ((8, "softplus"), (32, "tanh"), (64, "softplus")):
        net = TwoLayerNet(Phi, y, width, activation)
        w = net.init(rng)
        cases.append(Case(f"two-layer {activation} network, width {width}, at initialisation",
                          (net.jacobian(w),), lambda_min(net.tangent_kernel(w)),
                          rtol=1e-7, atol=1e-10))
    return cases


exercise("ex-pl-constant", _pl_cases())
