"""Property tests for the statements Chapter 8 checks with SymPy at small sizes only.

* For a quadratic L(w) = ½wᵀHw − bᵀw (H symmetric, any d), the unnormalised SAM gradient is
  exactly ∇L(w + ρg) = (I + ρH)g with g = ∇L(w) (checked symbolically at d = 1, 2, 3).
"""

import numpy as np
from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

PROPERTY = settings(examples(40), derandomize=True)


@PROPERTY
@given(d=st.integers(1, 12), seed=st.integers(0, 10**6),
       rho=st.floats(0.0, 10.0, allow_nan=False))
def test_unnormalised_sam_gradient_on_a_quadratic(d, seed, rho):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((d, d))
    H = (M + M.T) / 2
    w, b = rng.standard_normal(d), rng.standard_normal(d)
    g = H @ w - b
    lhs = H @ (w + rho * g) - b
    rhs = (np.eye(d) + rho * H) @ g
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10 * (1 + rho) * np.abs(H).sum())
