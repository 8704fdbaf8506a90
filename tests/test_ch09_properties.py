"""Property-based tests of the statements Chapter 9 checks with SymPy at small sizes only.

The change of variables behind Adam's threshold (thm-eos-thresholds, part 3) is checked in
the chapter with explicit matrices of symbolic entries for d = 1, 2; here for random
dimensions, preconditioners and Hessians.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(d=st.integers(1, 12), seed=st.integers(0, 2**32 - 1),
       eta=st.floats(1e-4, 1.0), beta1=st.floats(0.0, 0.999))
def test_adam_change_of_variables(d, seed, eta, beta1):
    """With P = D² (D = P^(1/2) diagonal, positive), u = D⁻¹w and n = Dm, Adam's frozen step
    w_{t+1} = w_t − ηPm_t, m_t = β₁m_{t−1} + (1−β₁)Hw_t becomes
    u_{t+1} = u_t − ηn_t, n_t = β₁n_{t−1} + (1−β₁)(DHD)u_t."""
    rng = np.random.default_rng(seed)
    D = np.diag(rng.uniform(0.1, 3.0, d))
    B = rng.standard_normal((d, d))
    H = (B + B.T) / 2
    w, m_prev = rng.standard_normal(d), rng.standard_normal(d)
    m = beta1 * m_prev + (1 - beta1) * H @ w
    w_next = w - eta * D @ D @ m
    u, n, n_prev = np.linalg.solve(D, w), D @ m, D @ m_prev
    A = D @ H @ D
    scale = 1 + np.abs(w).max() + np.abs(m).max() * np.abs(D).max() ** 2
    np.testing.assert_allclose(np.linalg.solve(D, w_next), u - eta * n, atol=1e-10 * scale)
    np.testing.assert_allclose(n, beta1 * n_prev + (1 - beta1) * A @ u, atol=1e-10 * scale)
    np.testing.assert_allclose(A, A.T, atol=1e-12 * np.abs(A).max())  # symmetric: real modes
