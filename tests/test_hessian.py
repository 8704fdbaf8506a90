"""Tests of optbook.hessian: Lanczos, power iteration and Hutchinson's estimators, matrix-free.

Eigenvalues are compared with ``numpy.linalg.eigvalsh`` on random symmetric
matrices (positive semi-definite, indefinite, clustered, repeated, rank-deficient)
of random sizes. Lanczos: every returned value lies within its tolerance of an
eigenvalue (the a-posteriori residual bound), of the right one when the spectrum is
well separated; repeated eigenvalues of a small matrix come with their copies; it
needs far fewer products than power iteration on a realistic Hessian spectrum.
Power iteration (``method="power"``): built with a known gap so that the tolerance is
meaningful; the convergence rate and the stopping rule's error are checked against
the docstring's formulas. The trace
and diagonal estimates are compared with ``np.trace`` and ``np.diag``: their
mean must lie within a few standard errors (unbiased), the variance of a
single probe must match 2Σ_{i≠j}H_ij² (trace) and Σ_{j≠i}H_ij² (diagonal
entry i) within sampling error, and a diagonal matrix must be recovered
exactly from one probe. Last, the tools run on a banded operator of dimension
10⁵ in little time and memory, which no d×d matrix would allow.

The statistical tests are derandomized (the same examples every run), so that
a test at five standard errors cannot fail by chance on another day.
"""

import functools
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optbook.hessian import (
    EigenEstimate,
    TraceEstimate,
    hutchinson_diagonal,
    hutchinson_trace,
    lanczos_eigenvalues,
    smallest_eigenvalue,
    top_eigenvalue,
    top_eigenvalues,
)
from optbook.problems import LogisticRegression, Rosenbrock

PROPERTY = settings(max_examples=30, deadline=None)
STATISTICAL = settings(max_examples=30, deadline=None, derandomize=True)
SEEDS = st.integers(0, 2**32 - 1)
DIMS = st.integers(1, 30)


def random_symmetric(d, rng):
    A = rng.uniform(-2, 2, (d, d))
    return (A + A.T) / 2


def with_spectrum(lam, rng):
    """A random symmetric matrix with eigenvalues ``lam`` (random eigenvectors)."""
    d = len(lam)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    H = Q @ np.diag(lam) @ Q.T
    return (H + H.T) / 2


def matvec(H):
    return lambda v: H @ v


def residual(H, est):
    return np.linalg.norm(H @ est.vector - est.value * est.vector)


# --------------------------------------------------------------------------
# The largest eigenvalue: both methods, then power iteration
# --------------------------------------------------------------------------

METHODS = pytest.mark.parametrize("method", ["lanczos", "power"])


@METHODS
@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_top_eigenvalue_of_a_psd_matrix_matches_eigvalsh(method, d, seed):
    rng = np.random.default_rng(seed)
    # λ₂/λ₁ <= 1/1.5: a known gap, so tol=1e-12 means an error ~1e-11.
    H = with_spectrum(np.r_[rng.uniform(0, 1, d - 1), rng.uniform(1.5, 10)], rng)
    lam, U = np.linalg.eigh(H)
    est = top_eigenvalue(matvec(H), d, rng=rng, tol=1e-12, method=method)
    assert isinstance(est, EigenEstimate)
    assert est.converged and 1 <= est.iterations <= 1000
    assert est.value == pytest.approx(lam[-1], rel=1e-9)
    assert np.linalg.norm(est.vector) == pytest.approx(1.0, rel=1e-12)
    assert est.value == pytest.approx(est.vector @ H @ est.vector, rel=1e-12)
    assert 1 - abs(est.vector @ U[:, -1]) < 1e-8


@PROPERTY
@given(d=st.integers(1, 12), seed=SEEDS)
def test_stopping_rule_error_on_generic_psd_matrices(d, seed):
    """Without a designed gap the documented error |Δρ| r²/(1 − r²), r = λ₂/λ₁, holds."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    H = A @ A.T
    lam = np.linalg.eigvalsh(H)
    tol = 1e-10
    est = top_eigenvalue(matvec(H), d, rng=rng, tol=tol, max_iter=100_000, method="power")
    assert est.converged
    assert est.value <= lam[-1] * (1 + 1e-12)  # a Rayleigh quotient never exceeds λ_max
    r2 = (lam[-2] / lam[-1]) ** 2 if d > 1 else 0.0
    bound = 4 * tol * lam[-1] * r2 / (1 - r2) + 1e-12 * lam[-1]
    assert lam[-1] - est.value <= bound
    # The estimate lies within the residual of an eigenvalue (any unit vector does).
    assert np.min(np.abs(lam - est.value)) <= residual(H, est) + 1e-12 * lam[-1]


def test_power_iteration_converges_like_the_ratio_squared():
    """Rayleigh-quotient error ∝ (λ₂/λ₁)^{2k}: five more products shrink it by r¹⁰."""
    r = 0.6
    H = np.diag([2.0, 2.0 * r, 0.3])
    errors = {}
    for k in (12, 17):
        est = top_eigenvalue(matvec(H), 3, rng=np.random.default_rng(3), tol=1e-300,
                             max_iter=k, method="power")
        assert not est.converged and est.iterations == k
        errors[k] = 2.0 - est.value
    assert errors[17] / errors[12] == pytest.approx(r**10, rel=1e-2)


@METHODS
@pytest.mark.parametrize("scale", [2.0**-40, 2.0**40])
def test_stopping_test_is_relative(method, scale):
    """Scaling H by a power of 2 scales every ρ_k (every α_j, β_j) exactly: same
    value/scale, same stop."""
    H = with_spectrum([0.1, 0.5, 0.9, 1.0] * 5, np.random.default_rng(4))
    ref = top_eigenvalue(matvec(H), 20, rng=np.random.default_rng(0), tol=1e-8, method=method)
    est = top_eigenvalue(matvec(scale * H), 20, rng=np.random.default_rng(0), tol=1e-8,
                         method=method)
    assert ref.converged and est.converged
    assert est.iterations == ref.iterations < 1000
    assert est.value == scale * ref.value


def test_unshifted_power_iteration_finds_the_largest_magnitude():
    H = np.diag([-3.0, 1.0, 2.0])  # indefinite: the dominant eigenvalue is negative
    est = top_eigenvalue(matvec(H), 3, rng=np.random.default_rng(0), tol=1e-12,
                         method="power")
    assert est.value == pytest.approx(-3.0, rel=1e-9)


@pytest.mark.parametrize("shift", [0.0, -5.0, 7.0])
def test_lanczos_finds_lambda_max_of_an_indefinite_matrix_whatever_the_shift(shift):
    H = with_spectrum(np.r_[-3.0, np.linspace(-1, 1, 20), 2.0], np.random.default_rng(0))
    est = top_eigenvalue(matvec(H), 22, rng=np.random.default_rng(0), tol=1e-12, shift=shift)
    assert est.value == pytest.approx(2.0, rel=1e-11)
    low = smallest_eigenvalue(matvec(H), 22, rng=np.random.default_rng(0), tol=1e-12,
                              shift=None if shift == 0.0 else shift)
    assert low.value == pytest.approx(-3.0, rel=1e-11)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_shift_finds_lambda_max_of_an_indefinite_matrix(d, seed):
    rng = np.random.default_rng(seed)
    lam_min = -rng.uniform(3, 6)
    H = with_spectrum(np.r_[lam_min, rng.uniform(-3, 1, d - 1), rng.uniform(2, 4)], rng)
    lam = np.linalg.eigvalsh(H)
    m = top_eigenvalue(matvec(H), d + 1, rng=rng, tol=1e-8, max_iter=10_000,
                       method="power").value
    est = top_eigenvalue(matvec(H), d + 1, rng=rng, tol=1e-13, max_iter=10_000,
                         shift=-abs(m), method="power")
    assert est.converged
    assert est.value == pytest.approx(lam[-1], rel=1e-8)


# --------------------------------------------------------------------------
# The smallest eigenvalue: Lanczos, and power iteration on a shifted Hessian
# --------------------------------------------------------------------------

@METHODS
@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_smallest_eigenvalue_of_an_indefinite_matrix_matches_eigvalsh(method, d, seed):
    rng = np.random.default_rng(seed)
    # λ_min < 0 is separated from the rest, which may dominate it in magnitude.
    H = with_spectrum(np.r_[-rng.uniform(2, 5), rng.uniform(-1, 6, d)], rng)
    lam = np.linalg.eigvalsh(H)
    est = smallest_eigenvalue(matvec(H), d + 1, rng=rng, tol=1e-13, max_iter=10_000,
                              method=method)
    assert est.converged
    assert est.value == pytest.approx(lam[0], abs=1e-8 * np.max(np.abs(lam)))
    # Negative curvature: the returned direction has vᵀHv = value < 0.
    assert est.vector @ H @ est.vector == pytest.approx(est.value, abs=1e-12 * abs(lam[0]))
    assert est.vector @ H @ est.vector < 0


@METHODS
@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_smallest_eigenvalue_of_a_psd_matrix_matches_eigvalsh(method, d, seed):
    rng = np.random.default_rng(seed)
    H = with_spectrum(np.r_[rng.uniform(0, 0.3), rng.uniform(0.5, 3, d - 1)], rng)
    lam = np.linalg.eigvalsh(H)
    est = smallest_eigenvalue(matvec(H), d, rng=rng, tol=1e-13, max_iter=10_000,
                              method=method)
    assert est.converged
    assert est.value == pytest.approx(lam[0], abs=1e-9 * lam[-1])
    assert est.value >= lam[0] - 1e-12 * lam[-1]  # a Rayleigh quotient is >= λ_min


@METHODS
def test_smallest_eigenvalue_when_the_dominant_eigenvalue_is_negative(method):
    H = np.diag([-5.0, -1.0, 0.5, 2.0])
    est = smallest_eigenvalue(matvec(H), 4, rng=np.random.default_rng(1), tol=1e-12,
                              method=method)
    assert est.value == pytest.approx(-5.0, rel=1e-9)


@METHODS
@pytest.mark.parametrize("seed", range(5))
def test_smallest_eigenvalue_of_a_multiple_of_the_identity(method, seed):
    """Power: H − sI is round-off only; the stopping test, relative to |ρ + s| too, still
    stops. Lanczos: the first product spans an invariant subspace (β₁ = 0)."""
    rng = np.random.default_rng(seed)
    for H in (3.0 * np.eye(5), with_spectrum([3.0] * 5, rng)):
        est = smallest_eigenvalue(matvec(H), 5, rng=rng, tol=1e-10, method=method)
        assert est.converged and est.iterations < 20
        assert est.value == pytest.approx(3.0, rel=1e-12)


@METHODS
@pytest.mark.parametrize("seed", range(5))
def test_smallest_eigenvalue_zero_of_a_singular_matrix(method, seed):
    """λ_min = 0 is found to about tol·λ_max, in a few dozen products."""
    rng = np.random.default_rng(seed)
    H = with_spectrum([0.0, 1.0, 2.0, 2.5], rng)
    est = smallest_eigenvalue(matvec(H), 4, rng=rng, tol=1e-10, method=method)
    assert est.converged and est.iterations < 200
    assert est.value == pytest.approx(0.0, abs=1e-8)


@METHODS
def test_smallest_eigenvalue_counts_the_products_of_both_runs(method):
    calls = []

    def hvp(v):
        calls.append(1)
        return np.diag([-2.0, 1.0, 4.0]) @ v

    est = smallest_eigenvalue(hvp, 3, rng=np.random.default_rng(0), tol=1e-10,
                              method=method)
    assert est.iterations == len(calls)
    assert est.value == pytest.approx(-2.0, rel=1e-8)


def test_smallest_eigenvalue_with_a_known_bound_skips_the_first_run():
    rng = np.random.default_rng(2)
    problem = LogisticRegression(rng.normal(size=(6, 10)), rng.choice([-1.0, 1.0], 10))
    w = rng.normal(size=6)
    lam = np.linalg.eigvalsh(problem.hessian(w))
    beta = problem.smoothness()  # >= λ_max(H(w)) at every w
    est = smallest_eigenvalue(lambda v: problem.hvp(w, v), 6, rng=rng, tol=1e-13,
                              max_iter=100_000, shift=beta, method="power")
    assert est.converged
    assert est.value == pytest.approx(lam[0], abs=1e-9 * beta)


def test_smallest_eigenvalue_repeats_with_a_larger_shift_if_the_shift_was_too_small():
    """With s = 0 < (λ_min + λ_max)/2, H − sI is dominated by λ_max − s > 0."""
    H = np.diag([0.5, 1.0, 4.0])
    calls = []

    def hvp(v):
        calls.append(1)
        return H @ v

    est = smallest_eigenvalue(hvp, 3, rng=np.random.default_rng(0), tol=1e-12, shift=0.0,
                              method="power")
    assert est.converged
    assert est.value == pytest.approx(0.5, abs=1e-9)
    assert est.iterations == len(calls)
    one_run = top_eigenvalue(hvp, 3, rng=np.random.default_rng(0), tol=1e-12, shift=0.0,
                             method="power")
    assert est.iterations > one_run.iterations  # it did run twice


@METHODS
def test_saddle_of_rosenbrock_through_problem_hvp(method):
    problem, w = Rosenbrock(dim=3), np.array([0.0, 1.0, -0.5])
    lam = np.linalg.eigvalsh(problem.hessian(w))
    assert lam[0] < 0  # a point with negative curvature
    est = smallest_eigenvalue(lambda v: problem.hvp(w, v), 3, rng=np.random.default_rng(0),
                              tol=1e-12, max_iter=10_000, method=method)
    assert est.value == pytest.approx(lam[0], abs=1e-8 * np.max(np.abs(lam)))


# --------------------------------------------------------------------------
# Lanczos: several eigenvalues, at either end
# --------------------------------------------------------------------------

def expected(lam, k, which):
    """The wanted entries of the increasing ``lam``, in the order Lanczos returns them."""
    d, k = lam.size, min(k, lam.size)
    if which == "largest":
        return lam[::-1][:k]
    if which == "smallest":
        return lam[:k]
    return lam[np.union1d(np.arange(k), np.arange(d - k, d))]


SPECTRA = ["psd", "indefinite", "clustered", "repeated", "rank_deficient"]
WHICH = ["largest", "smallest", "both_ends"]


def spectrum(kind, d, rng):
    if kind == "psd":
        return rng.uniform(0, 10, d)
    if kind == "indefinite":
        return rng.uniform(-5, 5, d)
    if kind == "clustered":  # three clusters of width ~1e-7
        return rng.choice(rng.uniform(-3, 3, 3), d) + rng.normal(0, 1e-7, d)
    if kind == "repeated":
        return rng.choice([-2.0, 0.5, 1.0, 4.0], d)
    rank = int(rng.integers(0, d + 1))
    return np.r_[rng.uniform(-4, 4, rank), np.zeros(d - rank)]


def values(estimates):
    return np.array([e.value for e in estimates])


@PROPERTY
@given(d=DIMS, seed=SEEDS, kind=st.sampled_from(SPECTRA), which=st.sampled_from(WHICH),
       k=st.integers(1, 30), log_tol=st.floats(-12, -3))
def test_lanczos_values_are_within_tol_of_an_eigenvalue(d, seed, kind, which, k, log_tol):
    """The a-posteriori bound: min_λ |λ − θ| <= ‖Hy − θy‖ <= residual <= tol·|θ| (+ round-off)."""
    rng = np.random.default_rng(seed)
    H = with_spectrum(spectrum(kind, d, rng), rng)
    lam = np.linalg.eigvalsh(H)
    k, tol, norm = min(k, d), 10.0**log_tol, max(np.abs(lam).max(), 1e-300)
    est = lanczos_eigenvalues(matvec(H), d, k, which=which, rng=rng, tol=tol)
    assert len(est) == expected(lam, k, which).size
    assert 1 <= est[0].iterations <= d
    for e in est:
        assert e.converged and e.iterations == est[0].iterations
        assert np.min(np.abs(lam - e.value)) <= tol * abs(e.value) + 1e-12 * norm
        assert e.residual <= max(tol * abs(e.value), 1e-12 * norm)
        assert np.linalg.norm(e.vector) == pytest.approx(1.0, rel=1e-12)
        assert residual(H, e) <= e.residual + 1e-12 * norm
    ordered = values(est) if which != "largest" else values(est)[::-1]
    assert np.all(np.diff(ordered) >= 0)


@PROPERTY
@given(d=st.integers(1, 200), seed=SEEDS, which=st.sampled_from(WHICH), k=st.integers(1, 4),
       log_tol=st.floats(-10, -3))
@pytest.mark.slow
def test_lanczos_finds_the_right_eigenvalues_of_a_well_separated_spectrum(d, seed, which, k,
                                                                          log_tol):
    """Ends 2, 2.5, 3, ... (and −2, −2.5, ...) outside a bulk in [−1, 1]: the wanted ones."""
    rng = np.random.default_rng(seed)
    ends = 2 + 0.5 * np.arange(min(k, d // 2))
    lam = np.sort(np.r_[-ends, rng.uniform(-1, 1, d - 2 * ends.size), ends])
    H = with_spectrum(lam, rng)
    tol = 10.0**log_tol
    k = min(k, ends.size) if ends.size else 1
    est = lanczos_eigenvalues(matvec(H), d, k, which=which, rng=rng, tol=tol)
    want = expected(lam, k, which)
    assert np.all(np.abs(values(est) - want) <= tol * np.abs(want) + 1e-12 * np.abs(lam).max())


@pytest.mark.parametrize(("lam", "k", "which"), [
    ([5, 5, 1, 1, 0], 3, "largest"),
    ([5, 5, 1, 1, 0], 3, "smallest"),
    ([5, 5, 1, 1, 0], 2, "both_ends"),
    ([3] * 6, 4, "largest"),
    ([0] * 4, 2, "smallest"),
    ([5, 5, 5] + [1] * 7, 3, "largest"),
    ([4, 2] + [0] * 48, 3, "smallest"),
    (list(np.repeat([3.0, 1.0, -1.0, -2.0], 25)), 3, "both_ends"),
])
@pytest.mark.parametrize("seed", range(5))
def test_lanczos_finds_each_copy_of_a_repeated_eigenvalue(lam, k, which, seed):
    """One start vector sees one copy; the restarts after a breakdown find the others."""
    rng = np.random.default_rng(seed)
    lam = np.sort(np.asarray(lam, dtype=float))
    H = with_spectrum(lam, rng)
    est = lanczos_eigenvalues(matvec(H), lam.size, k, which=which, rng=rng, tol=1e-10)
    np.testing.assert_allclose(values(est), expected(lam, k, which), rtol=0, atol=1e-12)
    assert all(e.converged for e in est)
    # The vectors of a repeated eigenvalue are orthonormal: different copies.
    Y = np.array([e.vector for e in est])
    np.testing.assert_allclose(Y @ Y.T, np.eye(len(est)), atol=1e-10)


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("d", [1, 2, 3, 17])
def test_lanczos_with_k_equal_to_d_returns_every_eigenvalue(which, d):
    rng = np.random.default_rng(d)
    lam = np.sort(rng.uniform(-2, 3, d))
    H = with_spectrum(lam, rng)
    est = lanczos_eigenvalues(matvec(H), d, d, which=which, rng=rng, tol=1e-12)
    assert est[0].iterations == d  # K_d = R^d
    np.testing.assert_allclose(values(est), expected(lam, d, which), rtol=0, atol=1e-13)
    Y = np.array([e.vector for e in est])
    np.testing.assert_allclose(Y @ Y.T, np.eye(d), atol=1e-12)


def test_lanczos_in_one_dimension():
    est = lanczos_eigenvalues(lambda v: -2.5 * v, 1, rng=np.random.default_rng(0))
    (e,) = est
    assert (e.value, e.iterations, e.converged, e.residual) == (-2.5, 1, True, 0.0)
    assert abs(e.vector[0]) == 1.0
    low = smallest_eigenvalue(lambda v: 4.0 * v, 1, rng=np.random.default_rng(0))
    assert low.value == 4.0 and low.iterations == 1


def test_lanczos_in_two_dimensions():
    H = np.array([[2.0, 1.0], [1.0, 2.0]])  # eigenvalues 1 and 3
    est = lanczos_eigenvalues(matvec(H), 2, 2, which="both_ends",
                              rng=np.random.default_rng(0), tol=1e-14)
    np.testing.assert_allclose(values(est), [1.0, 3.0], rtol=1e-15)
    assert est[0].iterations == 2
    assert abs(est[1].vector @ [1, 1]) == pytest.approx(np.sqrt(2), rel=1e-14)


def test_lanczos_counts_every_product_and_stops_at_max_iter():
    rng = np.random.default_rng(0)
    H = with_spectrum(np.r_[np.linspace(0, 1, 49), 1.01], rng)  # a 1% gap: slow
    lam = np.linalg.eigvalsh(H)
    calls = []

    def hvp(v):
        calls.append(1)
        return H @ v

    for max_iter in (1, 3, 8):
        calls.clear()
        (e,) = lanczos_eigenvalues(hvp, 50, rng=rng, tol=1e-12, max_iter=max_iter)
        assert e.iterations == len(calls) == max_iter
        assert not e.converged
        # Without a restart the residual is exactly ‖Hy − θy‖, and bounds the error.
        assert e.residual == pytest.approx(residual(H, e), rel=1e-6)
        assert np.min(np.abs(lam - e.value)) <= e.residual
    calls.clear()
    e = top_eigenvalue(hvp, 50, rng=rng, tol=1e-12)
    assert e.converged and e.iterations == len(calls) <= 50


def test_lanczos_error_obeys_the_kaniel_paige_saad_bound():
    """λ₁ − θ₁ <= (λ₁ − λ_d)(tan φ₁ / c_{m−1}(1 + 2ρ))², ρ = (λ₁ − λ₂)/(λ₂ − λ_d)
    (Golub & Van Loan 2013, Thm 10.1.2), at every m, and the bound is not vacuous."""
    d = 200
    lam = np.r_[np.linspace(0.0, 1.0, d - 1), 1.1]
    H = np.diag(lam)  # q₁ is drawn exactly as lanczos_eigenvalues draws it
    q = np.random.default_rng(7).standard_normal(d)
    cos = abs(q[-1]) / np.linalg.norm(q)
    tan = np.sqrt(1 - cos**2) / cos
    rho = (lam[-1] - lam[-2]) / (lam[-2] - lam[0])
    for m in range(2, 30):
        (e,) = lanczos_eigenvalues(matvec(H), d, rng=np.random.default_rng(7), tol=1e-300,
                                   max_iter=m)
        bound = (lam[-1] - lam[0]) * (tan / np.cosh((m - 1) * np.arccosh(1 + 2 * rho)))**2
        assert 0 <= lam[-1] - e.value <= bound + 1e-14
    assert lam[-1] - e.value < 1e-6  # the bound has fallen far by m = 29


def realistic_spectrum(d, rng):
    """A Hessian-like spectrum: λ₁ = 10 with a 5% gap, 8 more outliers (one per class),
    a Marchenko-Pastur bulk in [0, ~1.5], small negative eigenvalues and many near 0."""
    outliers = np.r_[10.0, 9.5, np.linspace(9.0, 3.0, 8)]
    n = d // 2
    X = rng.normal(size=(n, 2 * n)) / np.sqrt(2 * n)
    bulk = 0.5 * np.linalg.eigvalsh(X @ X.T)
    rest = d - outliers.size - n
    negative = -np.abs(rng.normal(0, 0.05, rest // 2))
    zeros = rng.normal(0, 1e-4, rest - rest // 2)
    return np.r_[outliers, bulk, negative, zeros]


@pytest.mark.slow
def test_lanczos_needs_far_fewer_products_than_power_iteration():
    """d = 1000: products until λ_max is known to a true relative error of 1e-4. (H is
    diagonal: both methods start from a Gaussian vector, whose distribution is the same in
    every orthonormal basis, so the eigenvectors' basis does not matter.)"""
    d = 1000
    lam = realistic_spectrum(d, np.random.default_rng(0))
    top = lam.max()
    power_errors = []

    def hvp(v):  # records the error of power iteration's Rayleigh quotient at each product
        w = lam * v
        power_errors.append(abs(v @ w - top) / top)
        return w

    top_eigenvalue(hvp, d, rng=np.random.default_rng(1), tol=1e-300, max_iter=1000,
                   method="power")
    power = 1 + int(np.argmax(np.array(power_errors) <= 1e-4))
    lanczos = next(m for m in range(1, 100)
                   if abs(top_eigenvalue(lambda v: lam * v, d, rng=np.random.default_rng(1),
                                         tol=1e-300, max_iter=m).value - top) <= 1e-4 * top)
    stop = top_eigenvalue(lambda v: lam * v, d, rng=np.random.default_rng(1), tol=1e-4)
    assert abs(stop.value - top) <= 1e-4 * top and stop.converged
    assert power >= 60  # (λ₂/λ₁)^{2k} = 0.95^{2k} <= 1e-4 needs k ≈ 90
    assert lanczos <= power / 4
    assert stop.iterations <= power / 3  # the residual test stops early enough


@pytest.mark.slow
@pytest.mark.filterwarnings("error")  # e.g. no overflow casting the basis to float32
def test_lanczos_with_float32_products():
    rng = np.random.default_rng(3)
    H = with_spectrum(np.r_[rng.uniform(-1, 1, 299), 3.0], rng)
    H32 = H.astype(np.float32)
    lam = np.linalg.eigvalsh(H)

    def hvp(v):
        return H32 @ v.astype(np.float32)

    top = top_eigenvalue(hvp, 300, rng=rng, tol=1e-5)
    assert top.converged and top.vector.dtype == np.float32
    assert top.value == pytest.approx(lam[-1], rel=1e-5)
    est = lanczos_eigenvalues(hvp, 300, 2, which="both_ends", rng=rng, tol=1e-4)
    assert [e.vector.dtype for e in est] == [np.float32] * 4
    assert np.all(np.abs(values(est)[[0, -1]] - lam[[0, -1]]) <= 1e-4 * 3)


def test_top_eigenvalues_is_lanczos_largest():
    H = random_symmetric(20, np.random.default_rng(0))
    a = top_eigenvalues(matvec(H), 20, 3, rng=np.random.default_rng(1))
    b = lanczos_eigenvalues(matvec(H), 20, 3, which="largest", rng=np.random.default_rng(1))
    assert [(x.value, x.iterations) for x in a] == [(x.value, x.iterations) for x in b]
    c = top_eigenvalue(matvec(H), 20, rng=np.random.default_rng(1))
    d = lanczos_eigenvalues(matvec(H), 20, rng=np.random.default_rng(1))[0]
    assert (c.value, c.iterations, c.residual) == (d.value, d.iterations, d.residual)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_power_iteration_reports_its_residual(d, seed):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    for est in (top_eigenvalue(matvec(H), d, rng=rng, max_iter=20, method="power"),
                smallest_eigenvalue(matvec(H), d, rng=rng, max_iter=20, method="power")):
        assert est.residual == pytest.approx(residual(H, est), rel=1e-9, abs=1e-12)
        assert np.min(np.abs(np.linalg.eigvalsh(H) - est.value)) <= est.residual + 1e-12


# --------------------------------------------------------------------------
# Hutchinson: trace
# --------------------------------------------------------------------------

def trace_variance(H):
    """2 Σ_{i≠j} H_ij², the variance of one sample zᵀHz."""
    off = H - np.diag(np.diag(H))
    return 2 * float(np.sum(off**2))


def diagonal_variance(H):
    """Σ_{j≠i} H_ij² for each i, the variance of entry i of one sample z ⊙ Hz."""
    off = H - np.diag(np.diag(H))
    return np.sum(off**2, axis=1)


def variance_tolerance(samples, k=6.0):
    """k standard errors of the sample variance, with the fourth moment estimated."""
    n = samples.shape[0]
    centred = samples - samples.mean(axis=0)
    m4 = np.mean(centred**4, axis=0)
    s2 = np.var(samples, axis=0, ddof=1)
    return k * np.sqrt(np.maximum(m4 - (n - 3) / (n - 1) * s2**2, 0.0) / n + 2 * s2**2 / n**2)


@pytest.mark.slow
@STATISTICAL
@given(d=DIMS, seed=SEEDS, psd=st.booleans())
def test_trace_is_unbiased(d, seed, psd):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    if psd:
        H = H @ H.T
    n = 2000
    est = hutchinson_trace(matvec(H), d, n_samples=n, rng=rng)
    assert isinstance(est, TraceEstimate) and est.n_samples == n
    sigma = np.sqrt(trace_variance(H))
    assert abs(est.value - np.trace(H)) <= 5 * sigma / np.sqrt(n) + 1e-10 * np.abs(H).sum()


@pytest.mark.slow
@STATISTICAL
@given(d=st.integers(2, 10), seed=SEEDS, psd=st.booleans())
def test_variance_of_one_trace_probe_is_twice_the_off_diagonal_sum(d, seed, psd):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    if psd:
        H = H @ H.T
    samples = np.array([hutchinson_trace(matvec(H), d, n_samples=1, rng=rng).value
                        for _ in range(3000)])
    assert abs(np.var(samples, ddof=1) - trace_variance(H)) <= variance_tolerance(samples)


def test_variance_formula_rejects_the_wrong_factor():
    """The tolerance above is tight enough to tell 2Σ_{i≠j} from Σ_{i≠j}."""
    rng = np.random.default_rng(5)
    H = random_symmetric(6, rng)
    samples = np.array([hutchinson_trace(matvec(H), 6, n_samples=1, rng=rng).value
                        for _ in range(3000)])
    tol = variance_tolerance(samples)
    assert abs(np.var(samples, ddof=1) - trace_variance(H)) <= tol
    assert abs(np.var(samples, ddof=1) - trace_variance(H) / 2) > tol


def test_std_error_is_the_sample_standard_deviation_over_root_n():
    H = random_symmetric(7, np.random.default_rng(0))
    singles = np.array([hutchinson_trace(matvec(H), 7, n_samples=1, rng=rng).value
                        for rng in [np.random.default_rng(9)] for _ in range(50)])
    est = hutchinson_trace(matvec(H), 7, n_samples=50, rng=np.random.default_rng(9))
    assert est.value == pytest.approx(singles.mean(), rel=1e-12)
    assert est.std_error == pytest.approx(np.std(singles, ddof=1) / np.sqrt(50), rel=1e-12)
    assert np.isnan(hutchinson_trace(matvec(H), 7, n_samples=1,
                                     rng=np.random.default_rng(0)).std_error)


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_trace_of_a_diagonal_matrix_is_exact_from_one_probe(d, seed):
    rng = np.random.default_rng(seed)
    D = rng.uniform(-5, 5, d)
    est = hutchinson_trace(lambda v: D * v, d, n_samples=1, rng=rng)
    assert est.value == pytest.approx(np.sum(D), abs=1e-12 * np.abs(D).sum())
    est = hutchinson_trace(lambda v: D * v, d, n_samples=4, rng=rng)
    assert est.std_error <= 1e-12 * np.abs(D).sum()


# --------------------------------------------------------------------------
# Hutchinson: diagonal
# --------------------------------------------------------------------------

@pytest.mark.slow
@STATISTICAL
@given(d=DIMS, seed=SEEDS, psd=st.booleans())
def test_diagonal_is_unbiased(d, seed, psd):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    if psd:
        H = H @ H.T
    n = 2000
    est = hutchinson_diagonal(matvec(H), d, n_samples=n, rng=rng)
    assert est.shape == (d,)
    sigma = np.sqrt(diagonal_variance(H))
    assert np.all(np.abs(est - np.diag(H)) <= 5 * sigma / np.sqrt(n) + 1e-10 * np.abs(H).max())


@pytest.mark.slow
@STATISTICAL
@given(d=st.integers(2, 8), seed=SEEDS, psd=st.booleans())
def test_variance_of_one_diagonal_probe_is_the_off_diagonal_row_sum(d, seed, psd):
    rng = np.random.default_rng(seed)
    H = random_symmetric(d, rng)
    if psd:
        H = H @ H.T
    samples = np.array([hutchinson_diagonal(matvec(H), d, n_samples=1, rng=rng)
                        for _ in range(3000)])
    err = np.abs(np.var(samples, axis=0, ddof=1) - diagonal_variance(H))
    assert np.all(err <= variance_tolerance(samples))


@PROPERTY
@given(d=DIMS, seed=SEEDS)
def test_diagonal_of_a_diagonal_matrix_is_exact_from_one_probe(d, seed):
    rng = np.random.default_rng(seed)
    D = rng.uniform(-5, 5, d)
    np.testing.assert_array_equal(hutchinson_diagonal(lambda v: D * v, d, n_samples=1,
                                                      rng=rng), D)


def test_diagonal_of_a_block_diagonal_matrix():
    """Entries with no off-diagonal neighbours are exact; the others are noisy."""
    H = np.diag([1.0, 2.0, 3.0, 4.0])
    H[0, 1] = H[1, 0] = 1.5
    est = hutchinson_diagonal(matvec(H), 4, n_samples=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(est[2:], [3.0, 4.0])
    assert np.all(np.abs(est[:2] - [1.0, 2.0]) <= 1.5 + 1e-12)


# --------------------------------------------------------------------------
# Reproducibility
# --------------------------------------------------------------------------

@METHODS
def test_same_seed_same_results(method):
    H = random_symmetric(6, np.random.default_rng(0))
    hvp = matvec(H)

    def run(seed):
        rng = np.random.default_rng(seed)
        # Lanczos with max_iter < 6 stops before K_m is all of R^6: the vector depends on q₁.
        top = top_eigenvalue(hvp, 6, rng=rng, max_iter=4, method=method)
        low = smallest_eigenvalue(hvp, 6, rng=rng, max_iter=4, method=method)
        tr = hutchinson_trace(hvp, 6, n_samples=5, rng=rng)
        dg = hutchinson_diagonal(hvp, 6, n_samples=5, rng=rng)
        return top, low, tr, dg

    a, b, c = run(42), run(42), run(43)
    for x, y in zip(a[:2], b[:2], strict=True):
        assert ((x.value, x.iterations, x.converged, x.residual)
                == (y.value, y.iterations, y.converged, y.residual))
        np.testing.assert_array_equal(x.vector, y.vector)
    assert a[2] == b[2]
    np.testing.assert_array_equal(a[3], b[3])
    assert a[2] != c[2]
    assert not np.array_equal(a[3], c[3])
    assert not np.array_equal(a[0].vector, c[0].vector)


@METHODS
def test_hvp_cannot_corrupt_the_iteration_by_writing_into_v(method):
    H = np.diag([3.0, 1.0, 0.5])

    def hvp(v):
        out = H @ v
        v[:] = 0.0  # a careless hvp that overwrites its argument
        return out

    est = top_eigenvalue(hvp, 3, rng=np.random.default_rng(0), tol=1e-12, method=method)
    assert est.value == pytest.approx(3.0, rel=1e-9)


# --------------------------------------------------------------------------
# Dimension 10⁵: matrix-free
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_tools_run_matrix_free_at_dimension_1e5():
    """A banded operator H = D + ε T (T: ones on the first off-diagonals), d = 10⁵.

    A d×d float matrix would need 80 GB; the four tools together must stay
    under 50 MB of new memory (Lanczos keeps its ~15 basis vectors, 0.8 MB each) and
    finish in about a second (5 s allowed: on a busy shared machine threaded BLAS calls
    are several times slower).
    """
    d, eps = 100_000, 0.1
    rng = np.random.default_rng(0)
    D = np.r_[rng.uniform(1, 2, d - 2), -1.0, 5.0]
    rng.shuffle(D)

    def hvp(v):
        out = D * v
        out[:-1] += eps * v[1:]
        out[1:] += eps * v[:-1]
        return out

    tracemalloc.start()
    top = top_eigenvalue(hvp, d, rng=rng, tol=1e-10)
    low = smallest_eigenvalue(hvp, d, rng=rng, tol=1e-10)
    tr = hutchinson_trace(hvp, d, n_samples=20, rng=rng)
    dg = hutchinson_diagonal(hvp, d, n_samples=20, rng=rng)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert peak < 50e6  # matrix-free: no d x d array (the time is in make bench)
    # Weyl: each eigenvalue of D + εT is within ε‖T‖ <= 2ε of the matching one of D.
    assert top.converged and abs(top.value - 5.0) <= 2 * eps
    assert low.converged and abs(low.value + 1.0) <= 2 * eps
    assert top.vector.shape == low.vector.shape == (d,)
    # Var(zᵀHz) = 2 Σ_{i≠j} H_ij² = 4 (d - 1) ε²; Var of entry i <= 2ε².
    sigma = np.sqrt(4 * (d - 1) * eps**2)
    assert abs(tr.value - D.sum()) <= 5 * sigma / np.sqrt(20)
    assert dg.shape == (d,)
    assert np.all(np.abs(dg - D) <= 2 * eps + 1e-12)  # |Σ_j H_ij z_i z_j| <= 2ε always
    assert np.mean(np.abs(dg - D)) <= 5 * np.sqrt(2 * eps**2 / 20)


# --------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------

def I3(v):
    return v


FNS = {"top": top_eigenvalue, "smallest": smallest_eigenvalue,
       "top_power": functools.partial(top_eigenvalue, method="power"),
       "smallest_power": functools.partial(smallest_eigenvalue, method="power"),
       "lanczos": functools.partial(lanczos_eigenvalues, k=1, which="both_ends"),
       "top_k": functools.partial(top_eigenvalues, k=2),
       "trace": hutchinson_trace, "diagonal": hutchinson_diagonal}


def call(name, **override):
    """Call a tool with valid arguments except for ``override``."""
    kwargs = {"hvp": I3, "dim": 3, "rng": np.random.default_rng(0)}
    kwargs |= {"n_samples": 2} if name in ("trace", "diagonal") else {"tol": 1e-6,
                                                                     "max_iter": 10}
    kwargs |= override
    return FNS[name](kwargs.pop("hvp"), kwargs.pop("dim"), **kwargs)


ALL = list(FNS)
EIGEN = ["top", "smallest", "top_power", "smallest_power", "lanczos", "top_k"]


@pytest.mark.parametrize("name", ALL)
def test_valid_call_works(name):
    call(name)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dim", [0, -1, 2.0, True, "3", None])
def test_rejects_bad_dim(name, dim):
    with pytest.raises(ValueError, match=r"^dim must"):
        call(name, dim=dim)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("hvp", [None, 3.0, np.eye(3)])
def test_rejects_a_non_callable_hvp(name, hvp):
    with pytest.raises(ValueError, match=r"^hvp must be a function"):
        call(name, hvp=hvp)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("hvp", [lambda v: v[:-1], lambda v: np.r_[v, 0.0],
                                 lambda v: np.outer(v, v), lambda v: float(v @ v),
                                 lambda v: None, lambda v: ["a", "b", "c"]])
def test_rejects_an_hvp_of_the_wrong_shape(name, hvp):
    with pytest.raises(ValueError, match=r"^hvp must return a vector"):
        call(name, hvp=hvp)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_an_hvp_with_non_finite_values(name, bad):
    with pytest.raises(ValueError, match=r"^hvp returned non-finite"):
        call(name, hvp=lambda v: np.r_[v[:-1], bad])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_rejects_an_rng_that_is_not_a_generator(name, rng):
    with pytest.raises(ValueError, match=r"^rng must be a numpy.random.Generator"):
        call(name, rng=rng)


@pytest.mark.parametrize("name", ["trace", "diagonal"])
@pytest.mark.parametrize("n_samples", [0, -3, 1.5, True])
def test_rejects_bad_n_samples(name, n_samples):
    with pytest.raises(ValueError, match=r"^n_samples must"):
        call(name, n_samples=n_samples)


@pytest.mark.parametrize("name", EIGEN)
@pytest.mark.parametrize("tol", [0.0, -1e-6, np.nan, np.inf, "1e-6"])
def test_rejects_bad_tol(name, tol):
    with pytest.raises(ValueError, match=r"^tol must"):
        call(name, tol=tol)


@pytest.mark.parametrize("name", EIGEN)
@pytest.mark.parametrize("max_iter", [0, -1, 10.0])
def test_rejects_bad_max_iter(name, max_iter):
    with pytest.raises(ValueError, match=r"^max_iter must"):
        call(name, max_iter=max_iter)


@pytest.mark.parametrize("fn", [FNS["top"], FNS["smallest"], FNS["top_power"],
                                FNS["smallest_power"]])
@pytest.mark.parametrize("shift", [np.nan, np.inf, "1", [1.0]])
def test_rejects_bad_shift(fn, shift):
    with pytest.raises(ValueError, match=r"^shift must"):
        fn(I3, 3, rng=np.random.default_rng(0), shift=shift)


def test_top_eigenvalue_rejects_shift_none():
    with pytest.raises(ValueError, match=r"^shift must"):
        top_eigenvalue(I3, 3, rng=np.random.default_rng(0), shift=None)


def test_rng_is_required():
    with pytest.raises(TypeError):
        top_eigenvalue(I3, 3)  # keyword-only and without a default: results are seeded


@pytest.mark.parametrize("fn", [top_eigenvalue, smallest_eigenvalue])
@pytest.mark.parametrize("method", ["Lanczos", "power iteration", None, 1])
def test_rejects_an_unknown_method(fn, method):
    with pytest.raises(ValueError, match=r"^method must be 'lanczos' or 'power'"):
        fn(I3, 3, rng=np.random.default_rng(0), method=method)


@pytest.mark.parametrize("name", ["lanczos", "top_k"])
@pytest.mark.parametrize("k", [0, -1, 1.5, True, None])
def test_rejects_bad_k(name, k):
    with pytest.raises(ValueError, match=r"^k must"):
        call(name, k=k)


@pytest.mark.parametrize("k", [4, 10])
def test_rejects_k_above_dim(k):
    with pytest.raises(ValueError, match=r"^k must be <= dim = 3"):
        lanczos_eigenvalues(I3, 3, k, rng=np.random.default_rng(0))


@pytest.mark.parametrize("which", ["top", "Largest", None, "both"])
def test_rejects_bad_which(which):
    with pytest.raises(ValueError, match=r"^which must be one of 'largest', 'smallest'"):
        call("lanczos", which=which)


@pytest.mark.parametrize(("k", "which", "least"), [(3, "largest", 3), (2, "both_ends", 4),
                                                   (3, "both_ends", 5)])
def test_rejects_max_iter_below_the_number_of_values_wanted(k, which, least):
    with pytest.raises(ValueError, match=rf"^max_iter must be >= {least}"):
        lanczos_eigenvalues(I3, 5, k, which=which, rng=np.random.default_rng(0),
                            max_iter=least - 1)
    lanczos_eigenvalues(I3, 5, k, which=which, rng=np.random.default_rng(0), max_iter=least)

