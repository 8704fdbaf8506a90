"""Tests of optbook.problems: least squares, quadratics and Rosenbrock.

Values are checked against numbers computed by hand on tiny examples, the
Rosenbrock Hessian against SymPy, and the relations between ``loss``,
``grad``, ``hessian`` and ``hvp`` by property-based tests over random
dimensions and data. Bad arguments must raise a ``ValueError`` naming them.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from optbook.problems import (
    LeastSquares,
    Problem,
    Quadratic,
    Rosenbrock,
    finite_difference_grad,
)

EPS = np.finfo(float).eps
PROPERTY = settings(max_examples=30, deadline=None)

# A tiny least-squares problem, d = 2 features, n = 3 samples (one column each).
PHI = np.array([[1.0, 0.0, 2.0],
                [0.0, 1.0, 1.0]])
Y = np.array([1.0, 2.0, 3.0])


# --------------------------------------------------------------------------
# Random problems for the property-based tests
# --------------------------------------------------------------------------

KINDS = ["least_squares", "quadratic", "rosenbrock"]


def make_problem(kind, d, n, seed):
    """A random problem of the given kind and a random point, entries bounded by 2."""
    rng = np.random.default_rng(seed)
    if kind == "least_squares":
        problem = LeastSquares(rng.uniform(-2, 2, (d, n)), rng.uniform(-2, 2, n))
    elif kind == "quadratic":
        A = rng.uniform(-2, 2, (d, d))
        problem = Quadratic((A + A.T) / 2, rng.uniform(-2, 2, d), rng.uniform(-2, 2))
    else:
        problem = Rosenbrock(a=rng.uniform(-2, 2), b=rng.uniform(0.5, 100), dim=max(d, 2))
    return problem, rng.uniform(-2, 2, problem.dim), rng


def loss_magnitude(problem, w):
    """The loss evaluated with every term made non-negative: a scale for its round-off."""
    w = np.abs(w)
    if isinstance(problem, LeastSquares):
        return 0.5 * np.sum((np.abs(problem.Phi).T @ w + np.abs(problem.y)) ** 2)
    if isinstance(problem, Quadratic):
        return 0.5 * w @ np.abs(problem.H) @ w + np.abs(problem.b) @ w + abs(problem.c)
    x, z = w[:-1], w[1:]
    return np.sum((abs(problem.a) + x) ** 2 + problem.b * (z + x**2) ** 2)


def third_derivative_bound(problem, w, r):
    """A bound on |d³L/dw_i³| on [w - r, w + r]: zero for quadratic losses."""
    if isinstance(problem, Rosenbrock):
        return 24 * problem.b * (np.abs(w) + r)  # d³/dx³ of b (z - x²)² is 24 b x
    return np.zeros(problem.dim)


def fd_tolerance(problem, w, r):
    """Error bound of the central difference: truncation r²/6·|L'''| plus round-off ε·|L|/r."""
    truncation = r**2 / 6 * third_derivative_bound(problem, w, r)
    roundoff = 100 * EPS * loss_magnitude(problem, np.abs(w) + r) / r
    return truncation + roundoff


# --------------------------------------------------------------------------
# LeastSquares
# --------------------------------------------------------------------------

def test_least_squares_shapes_come_from_phi():
    ls = LeastSquares(PHI, Y)
    assert (ls.dim, ls.n) == (2, 3)


def test_least_squares_values_by_hand():
    ls = LeastSquares(PHI, Y)
    # w = (1, 1): Φᵀw = (1, 1, 3), residual (0, -1, 0).
    np.testing.assert_allclose(ls.residual([1.0, 1.0]), [0.0, -1.0, 0.0])
    assert ls.loss([1.0, 1.0]) == pytest.approx(0.5)
    np.testing.assert_allclose(ls.grad([1.0, 1.0]), [0.0, -1.0])
    # w = 0: residual -y, L = (1 + 4 + 9)/2, g = -Φy = -(1 + 6, 2 + 3).
    assert ls.loss([0.0, 0.0]) == pytest.approx(7.0)
    np.testing.assert_allclose(ls.grad([0.0, 0.0]), [-7.0, -5.0])


def test_least_squares_hessian_is_phi_phi_transpose():
    ls = LeastSquares(PHI, Y)
    H = ls.hessian()
    assert H.shape == (2, 2)
    np.testing.assert_allclose(H, [[5.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(ls.hessian([3.0, -4.0]), H)  # independent of w


def test_least_squares_kernel_is_phi_transpose_phi():
    ls = LeastSquares(PHI, Y)
    K = ls.kernel()
    assert K.shape == (3, 3)
    np.testing.assert_allclose(K, [[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [2.0, 1.0, 5.0]])
    # H has eigenvalues 6 and 1 (trace 7, determinant 6); K has those and 0.
    np.testing.assert_allclose(np.linalg.eigvalsh(ls.hessian()), [1.0, 6.0])
    np.testing.assert_allclose(np.linalg.eigvalsh(K), [0.0, 1.0, 6.0], atol=1e-12)


def test_least_squares_hvp_by_hand():
    ls = LeastSquares(PHI, Y)
    np.testing.assert_allclose(ls.hvp([0.0, 0.0], [1.0, -1.0]), [3.0, 0.0])


@PROPERTY
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_least_squares_hessian_is_symmetric_psd(d, n, seed):
    ls, w, _ = make_problem("least_squares", d, n, seed)
    H = ls.hessian(w)
    assert H.shape == (d, d)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12)
    scale = max(1.0, np.sum(ls.Phi**2))
    assert np.linalg.eigvalsh(H).min() >= -1e-12 * scale


@PROPERTY
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_kernel_and_hessian_share_nonzero_eigenvalues(d, n, seed):
    ls, _, _ = make_problem("least_squares", d, n, seed)
    K = ls.kernel()
    assert K.shape == (n, n)
    eig_H = np.sort(np.linalg.eigvalsh(ls.hessian()))[::-1]
    eig_K = np.sort(np.linalg.eigvalsh(K))[::-1]
    k = min(d, n)
    scale = max(1.0, np.sum(ls.Phi**2))
    np.testing.assert_allclose(eig_H[:k], eig_K[:k], rtol=0, atol=1e-10 * scale)
    # The remaining eigenvalues (if any) are zero.
    np.testing.assert_allclose(eig_H[k:], 0.0, atol=1e-10 * scale)
    np.testing.assert_allclose(eig_K[k:], 0.0, atol=1e-10 * scale)


@PROPERTY
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_least_squares_grad_is_phi_times_residual(d, n, seed):
    ls, w, _ = make_problem("least_squares", d, n, seed)
    np.testing.assert_allclose(ls.grad(w), ls.Phi @ (ls.Phi.T @ w - ls.y), atol=1e-12)
    assert ls.loss(w) == pytest.approx(0.5 * np.sum((ls.Phi.T @ w - ls.y) ** 2))


# --------------------------------------------------------------------------
# Quadratic
# --------------------------------------------------------------------------

H2 = np.array([[2.0, 1.0], [1.0, 3.0]])
B2 = np.array([1.0, -1.0])


def test_quadratic_values_by_hand():
    q = Quadratic(H2, B2, 0.5)
    # w = (1, 2): Hw = (4, 7), ½wᵀHw = 9, bᵀw = -1.
    assert q.loss([1.0, 2.0]) == pytest.approx(10.5)
    np.testing.assert_allclose(q.grad([1.0, 2.0]), [3.0, 8.0])
    np.testing.assert_allclose(q.hessian(), H2)
    np.testing.assert_allclose(q.hessian([5.0, 5.0]), H2)
    np.testing.assert_allclose(q.hvp([1.0, 2.0], [1.0, 0.0]), [2.0, 1.0])


def test_quadratic_defaults_to_zero_linear_and_constant_terms():
    q = Quadratic(H2)
    assert q.loss([0.0, 0.0]) == 0.0
    np.testing.assert_allclose(q.grad([1.0, 0.0]), [2.0, 1.0])


def test_quadratic_hessian_returns_a_copy():
    q = Quadratic(H2, B2)
    q.hessian()[0, 0] = 100.0
    assert q.loss([1.0, 0.0]) == pytest.approx(0.0)  # ½·2 - 1


def test_quadratic_minimizer_solves_hw_equals_b():
    q = Quadratic(H2, B2)
    w_star = q.minimizer()
    np.testing.assert_allclose(w_star, [0.8, -0.6])
    np.testing.assert_allclose(q.grad(w_star), 0.0, atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert q.loss(w_star + 0.1 * rng.standard_normal(2)) > q.loss(w_star)


def test_quadratic_minimizer_of_singular_h_is_minimum_norm():
    q = Quadratic(np.diag([2.0, 0.0]), [4.0, 0.0])
    np.testing.assert_allclose(q.minimizer(), [2.0, 0.0], atol=1e-12)


def test_quadratic_minimizer_raises_when_b_not_in_range():
    q = Quadratic(np.diag([2.0, 0.0]), [4.0, 1.0])
    with pytest.raises(ValueError, match="no solution"):
        q.minimizer()


# --------------------------------------------------------------------------
# Rosenbrock
# --------------------------------------------------------------------------

def rosenbrock_sympy(dim, a, b):
    """Rosenbrock's function in SymPy, and its variables."""
    w = sp.symbols(f"w0:{dim}", real=True)
    expr = sum((a - w[i]) ** 2 + b * (w[i + 1] - w[i] ** 2) ** 2 for i in range(dim - 1))
    return expr, w


def test_rosenbrock_is_zero_with_zero_gradient_at_the_minimiser():
    rb = Rosenbrock()
    assert rb.loss([1.0, 1.0]) == 0.0
    np.testing.assert_array_equal(rb.grad([1.0, 1.0]), [0.0, 0.0])
    np.testing.assert_array_equal(rb.minimizer(), [1.0, 1.0])


def test_rosenbrock_values_by_hand_at_the_classic_start():
    rb = Rosenbrock()
    # (1 + 1.2)² + 100 (1 - 1.44)² = 4.84 + 19.36
    assert rb.loss([-1.2, 1.0]) == pytest.approx(24.2)
    np.testing.assert_allclose(rb.grad([-1.2, 1.0]), [-215.6, -88.0])


@pytest.mark.parametrize("dim", [3, 5])
def test_rosenbrock_in_more_dimensions_is_minimised_at_all_ones(dim):
    rb = Rosenbrock(dim=dim)
    w_star = rb.minimizer()
    np.testing.assert_array_equal(w_star, np.ones(dim))
    assert rb.loss(w_star) == 0.0
    np.testing.assert_array_equal(rb.grad(w_star), np.zeros(dim))
    assert np.linalg.eigvalsh(rb.hessian(w_star)).min() > 0


def test_rosenbrock_minimizer_with_other_a():
    rb = Rosenbrock(a=2.0)
    np.testing.assert_array_equal(rb.minimizer(), [2.0, 4.0])
    assert rb.loss(rb.minimizer()) == 0.0
    np.testing.assert_array_equal(Rosenbrock(a=0.0, dim=4).minimizer(), np.zeros(4))
    with pytest.raises(ValueError, match="closed form"):
        Rosenbrock(a=2.0, dim=3).minimizer()


@pytest.mark.parametrize("dim, a, b", [(2, 1, 100), (3, 1, 100), (5, 2, 10)])
def test_rosenbrock_matches_sympy(dim, a, b):
    expr, w = rosenbrock_sympy(dim, a, b)
    grad = [sp.diff(expr, wi) for wi in w]
    hess = sp.hessian(expr, w)
    rb = Rosenbrock(a=a, b=b, dim=dim)
    rng = np.random.default_rng(dim)
    points = [np.full(dim, -1.2), np.ones(dim), *rng.uniform(-2, 2, (3, dim))]
    for point in points:
        at = dict(zip(w, (sp.Float(float(p), 30) for p in point), strict=True))
        assert rb.loss(point) == pytest.approx(float(expr.subs(at)), rel=1e-12)
        np.testing.assert_allclose(rb.grad(point), [float(g.subs(at)) for g in grad],
                                   rtol=1e-12, atol=1e-10)
        H_exact = np.array(hess.subs(at).evalf(), dtype=float)
        np.testing.assert_allclose(rb.hessian(point), H_exact, rtol=1e-12, atol=1e-10)


def test_rosenbrock_hvp_by_hand():
    rb = Rosenbrock()
    H = rb.hessian([-1.2, 1.0])
    # H = [[2 - 400(1 - 1.44) + 800·1.44, 480], [480, 200]]
    np.testing.assert_allclose(H, [[1330.0, 480.0], [480.0, 200.0]])
    np.testing.assert_allclose(rb.hvp([-1.2, 1.0], [1.0, -1.0]), [850.0, 280.0])


# --------------------------------------------------------------------------
# Properties common to the three problems
# --------------------------------------------------------------------------

def test_problems_satisfy_the_protocol():
    for p in (LeastSquares(PHI, Y), Quadratic(H2), Rosenbrock()):
        assert isinstance(p, Problem)


@PROPERTY
@pytest.mark.parametrize("kind", KINDS)
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_hvp_equals_hessian_times_v(kind, d, n, seed):
    problem, w, rng = make_problem(kind, d, n, seed)
    v = rng.uniform(-2, 2, problem.dim)
    H = problem.hessian(w)
    hv = problem.hvp(w, v)
    assert hv.shape == (problem.dim,)
    scale = max(1.0, np.abs(H).max()) * np.abs(v).sum()
    np.testing.assert_allclose(hv, H @ v, rtol=1e-12, atol=1e-12 * scale)


@PROPERTY
@pytest.mark.parametrize("kind", KINDS)
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_grad_matches_central_differences(kind, d, n, seed):
    problem, w, _ = make_problem(kind, d, n, seed)
    r = 1e-5
    fd = finite_difference_grad(problem, w, r=r)
    g = problem.grad(w)
    assert g.shape == (problem.dim,)
    assert np.all(np.abs(g - fd) <= fd_tolerance(problem, w, r)), (g, fd)


@PROPERTY
@pytest.mark.parametrize("kind", KINDS)
@given(d=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_hessian_matches_central_differences_of_grad(kind, d, n, seed):
    problem, w, _ = make_problem(kind, d, n, seed)
    r = 1e-6
    cols = [(problem.grad(w + r * e) - problem.grad(w - r * e)) / (2 * r)
            for e in np.eye(problem.dim)]
    H = problem.hessian(w)
    np.testing.assert_allclose(np.array(cols).T, H, rtol=1e-6,
                               atol=1e-6 * max(1.0, np.abs(H).max()))


def test_finite_difference_grad_of_a_known_gradient():
    ls = LeastSquares(PHI, Y)
    np.testing.assert_allclose(finite_difference_grad(ls, [0.0, 0.0]), [-7.0, -5.0],
                               atol=1e-7)


@pytest.mark.parametrize("problem", [LeastSquares(PHI, Y), Quadratic(H2, B2), Rosenbrock()],
                         ids=KINDS)
@pytest.mark.parametrize("w", [[np.nan, 1.0], [np.inf, 0.0]], ids=["nan", "inf"])
def test_non_finite_points_give_non_finite_values_not_errors(problem, w):
    # Documented: a diverging optimiser is a result, not an error.
    with np.errstate(all="ignore"):
        assert not np.isfinite(problem.loss(w))
        assert not np.all(np.isfinite(problem.grad(w)))


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.mark.parametrize("make, name", [
    (lambda: LeastSquares(np.ones(3), np.ones(3)), "Phi"),
    (lambda: LeastSquares(np.ones((2, 3, 1)), np.ones(3)), "Phi"),
    (lambda: LeastSquares(PHI, np.ones(4)), "y"),
    (lambda: LeastSquares(PHI, np.ones((3, 1))), "y"),
    (lambda: LeastSquares(np.where(PHI == 0, np.nan, PHI), Y), "Phi"),
    (lambda: LeastSquares(PHI, [1.0, np.inf, 3.0]), "y"),
    (lambda: Quadratic([[1.0, 2.0], [0.0, 1.0]]), "H"),
    (lambda: Quadratic(np.ones((2, 3))), "H"),
    (lambda: Quadratic(np.ones(2)), "H"),
    (lambda: Quadratic([[1.0, np.nan], [np.nan, 1.0]]), "H"),
    (lambda: Quadratic(H2, b=np.ones(3)), "b"),
    (lambda: Quadratic(H2, b=[1.0, np.nan]), "b"),
    (lambda: Quadratic(H2, c=np.inf), "c"),
    (lambda: Quadratic(H2, c="zero"), "c"),
    (lambda: Rosenbrock(dim=1), "dim"),
    (lambda: Rosenbrock(dim=0), "dim"),
    (lambda: Rosenbrock(dim=2.0), "dim"),
    (lambda: Rosenbrock(dim=True), "dim"),
    (lambda: Rosenbrock(b=0.0), "b"),
    (lambda: Rosenbrock(a=np.nan), "a"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_constructors_reject_bad_arguments_by_name(make, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        make()


def test_error_message_says_what_was_received_and_expected():
    with pytest.raises(ValueError, match=r"y must have length 3, got length 4"):
        LeastSquares(PHI, np.ones(4))
    with pytest.raises(ValueError, match=r"H must be symmetric"):
        Quadratic([[1.0, 2.0], [0.0, 1.0]])


def test_nearly_symmetric_h_is_accepted():
    H = H2 + np.array([[0.0, 1e-13], [0.0, 0.0]])
    Quadratic(H)


@pytest.mark.parametrize("problem", [LeastSquares(PHI, Y), Quadratic(H2, B2), Rosenbrock()],
                         ids=KINDS)
@pytest.mark.parametrize("method", ["loss", "grad", "hessian", "hvp"])
@pytest.mark.parametrize("w", [np.ones(3), np.ones(1), np.ones((2, 1)), 1.0],
                         ids=["too_long", "too_short", "column", "scalar"])
def test_methods_reject_w_of_the_wrong_shape(problem, method, w):
    args = (w, np.ones(2)) if method == "hvp" else (w,)
    with pytest.raises(ValueError, match=r"^w\b"):
        getattr(problem, method)(*args)


@pytest.mark.parametrize("problem", [LeastSquares(PHI, Y), Quadratic(H2, B2), Rosenbrock()],
                         ids=KINDS)
def test_hvp_rejects_v_of_the_wrong_length(problem):
    with pytest.raises(ValueError, match=r"^v\b"):
        problem.hvp(np.ones(2), np.ones(3))


def test_finite_difference_grad_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"^problem\b"):
        finite_difference_grad(object(), [0.0])
    with pytest.raises(ValueError, match=r"^w\b"):
        finite_difference_grad(Rosenbrock(), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"^r\b"):
        finite_difference_grad(Rosenbrock(), [0.0, 0.0], r=0.0)


# --------------------------------------------------------------------------
# SymbolicProblem: a loss written in SymPy
# --------------------------------------------------------------------------

def test_symbolic_problem_reproduces_rosenbrock():
    import sympy as sp

    from optbook.problems import SymbolicProblem

    x, y = sp.symbols("x y", real=True)
    p = SymbolicProblem((1 - x) ** 2 + 100 * (y - x**2) ** 2, [x, y])
    r = Rosenbrock()
    rng = np.random.default_rng(3)
    for w in rng.uniform(-2, 2, (5, 2)):
        v = rng.standard_normal(2)
        assert np.isclose(p.loss(w), r.loss(w))
        np.testing.assert_allclose(p.grad(w), r.grad(w), rtol=1e-12)
        np.testing.assert_allclose(p.hessian(w), r.hessian(w), rtol=1e-12)
        np.testing.assert_allclose(p.hvp(w, v), r.hvp(w, v), rtol=1e-12)


def test_symbolic_problem_rejects_free_parameters_and_bad_symbols():
    import sympy as sp

    from optbook.problems import SymbolicProblem

    x, a = sp.symbols("x a", real=True)
    with pytest.raises(ValueError, match="not parameters"):
        SymbolicProblem(a * x**2, [x])
    with pytest.raises(ValueError, match="symbols"):
        SymbolicProblem(x**2, [])
    with pytest.raises(ValueError, match="w"):
        SymbolicProblem(x**2, [x]).loss([1.0, 2.0])
