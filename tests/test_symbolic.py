"""Tests of optbook.symbolic, the checked-derivation tools of the book.

Each tool must pass true statements and raise ``DerivationError`` on false
ones (a checker that accepts a false step is worse than none), report a
counterexample when it finds one, and display the statement and its verdict.
The matrix statements are checked through explicit instances of small sizes.
"""

import re

import pytest
import sympy as sp

from optbook.symbolic import (
    Chain,
    Check,
    DerivationError,
    Grad,
    Hess,
    Kind,
    assuming,
    assumption,
    by,
    explicit,
    gradient,
    hessian,
    identity,
    inequality,
    latex,
    loose,
    numerical,
    refuted,
    solution_set,
    sym,
)

x, y = sp.symbols("x y", real=True)
a, b = sp.symbols("a b", real=True)
p = sp.Symbol("p", positive=True)
eta = sp.Symbol("eta", positive=True)
lam = sp.Symbol("lambda", positive=True)
d, n = sp.symbols("d n", integer=True, positive=True)

Phi = sp.MatrixSymbol("Phi", d, n)
w = sp.MatrixSymbol("w", d, 1)
t = sp.MatrixSymbol("y", n, 1)  # targets
H = sp.MatrixSymbol("H", d, d)
HALF = sp.Rational(1, 2)

# The change of a quadratic loss after a GD step, per unit of g², for an eigenvalue λ.
DECREASE = -eta + eta**2 * lam / 2


def ls_loss(v):
    r = Phi.T * v - t
    return HALF * (r.T * r)


G = Phi * (Phi.T * w - t)  # gradient of least squares
HESS = Phi * Phi.T  # its Hessian


# --------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------

def test_identity_passes_on_a_true_identity():
    check = identity((x + 1) ** 2, x**2 + 2 * x + 1, why="expand the square")
    assert isinstance(check, Check)
    assert check.holds
    assert check.why == "expand the square"
    assert "simplify" in check.method
    assert check.tex == latex((x + 1) ** 2) + " = " + latex(x**2 + 2 * x + 1)
    assert check.kind is Kind.PROVED


def test_identity_passes_when_only_simplify_can_show_it():
    identity(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1)
    identity(sp.exp(2 * x), sp.exp(x) ** 2)


def test_identity_raises_with_a_counterexample_on_a_false_identity():
    with pytest.raises(DerivationError, match="false") as err:
        identity(x**2, x)
    message = str(err.value)
    point = re.search(r"at x=(-?\d+)", message)
    assert point, message
    value = int(point.group(1))
    assert value**2 != value  # it really is a counterexample
    assert f"lhs − rhs = {value**2 - value}" in message
    assert sp.latex(x**2) in message  # the statement is shown


def test_a_free_text_display_is_rejected():
    # The reviewer's example: a ✔ under a statement that was never checked.
    with pytest.raises(DerivationError, match="free text"):
        identity(x + 1, 1 + x, tex=r"\eta \le 2/\beta \text{ is necessary}")
    for check in (lambda: inequality(x**2, ">=", 0, tex="x"),
                  lambda: refuted(x**2, "=", x, tex="x"),
                  lambda: solution_set(x < 1, x, sp.Interval.open(-sp.oo, 1), tex="x"),
                  lambda: Chain(x, tex="x"),
                  lambda: Chain(x).equals(x, tex="x")):
        with pytest.raises(DerivationError, match="free text"):
            check()


def test_identity_of_explicit_matrices():
    M = sp.Matrix([[x, y], [y, x]])
    identity(M * M, sp.Matrix([[x**2 + y**2, 2 * x * y], [2 * x * y, x**2 + y**2]]))
    with pytest.raises(DerivationError):
        identity(M * M, sp.Matrix([[x**2 + y**2, 2 * x * y], [2 * x * y, x**2 - y**2]]))


def test_identity_reports_different_shapes():
    with pytest.raises(DerivationError, match="different shapes"):
        identity(sp.Matrix([[x, y]]), sp.Matrix([[x], [y]]))
    with pytest.raises(DerivationError, match="different shapes"):
        identity(H * w, w.T * H, instances=[{d: 2}])


def test_least_squares_taylor_expansion_is_exact():
    # L(w - ηg) = L(w) - η gᵀg + ½ η² gᵀHg, for all sizes checked.
    lhs = ls_loss(w - eta * G)
    rhs = ls_loss(w) - eta * (G.T * G) + HALF * eta**2 * (G.T * HESS * G)
    check = identity(lhs, rhs, instances=[{d: 1, n: 1}, {d: 2, n: 3}])
    assert check.holds
    assert "2 sizes shown" in check.method
    assert check.kind is Kind.INSTANCES
    assert r"d = 2,\ n = 3" in check.tex  # the sizes are part of the displayed statement


def test_least_squares_taylor_expansion_without_the_half_is_rejected():
    lhs = ls_loss(w - eta * G)
    wrong = ls_loss(w) - eta * (G.T * G) + eta**2 * (G.T * HESS * G)
    with pytest.raises(DerivationError, match="false"):
        identity(lhs, wrong, instances=[{d: 1, n: 1}, {d: 2, n: 3}])


def test_identity_fails_if_any_instance_fails():
    # w wᵀ = wᵀw holds for d = 1 only (for d = 2 the shapes differ).
    identity(w * w.T, w.T * w, instances=[{d: 1}])
    with pytest.raises(DerivationError):
        identity(w * w.T, w.T * w, instances=[{d: 1}, {d: 2}])


def test_symmetric_declaration_matters():
    with pytest.raises(DerivationError, match="false"):
        identity(H, H.T, instances=[{d: 2}])
    assert identity(H, H.T, instances=[{d: 2}, {d: 3}], symmetric=[H]).holds


def test_gradient_of_quadratic_form_is_hw_only_for_symmetric_h():
    def grad_of_quadratic_form(sizes, symmetric=(H,)):
        f = explicit(HALF * w.T * H * w, sizes, symmetric=symmetric)
        return gradient(f, explicit(w, sizes))

    check = identity(Grad(HALF * w.T * H * w, w), H * w, instances=[{d: 2}, {d: 3}],
                     symmetric=[H])
    assert r"\nabla_{w}" in check.tex
    assert explicit(Grad(HALF * w.T * H * w, w), {d: 2}, symmetric=[H]) == \
        grad_of_quadratic_form({d: 2})
    with pytest.raises(DerivationError):
        identity(Grad(HALF * w.T * H * w, w), H * w, instances=[{d: 2}])


def test_identity_argument_errors():
    with pytest.raises(ValueError, match="instances"):
        identity(H, H.T)  # symbolic size without instances
    with pytest.raises(ValueError, match="instances"):
        identity(H, H.T, instances=[])
    with pytest.raises(ValueError, match="function of the sizes"):
        identity(lambda s: explicit(H, s), H, instances=[{d: 2}])
    with pytest.raises(ValueError, match="symmetric"):
        identity(w, w, instances=[{d: 2}], symmetric=[w])


# --------------------------------------------------------------------------
# explicit, gradient, hessian
# --------------------------------------------------------------------------

def test_explicit_replaces_matrix_symbols_by_real_entries():
    M = explicit(Phi, {d: 2, n: 3})
    assert M.shape == (2, 3)
    assert len(M.free_symbols) == 6
    assert all(s.is_real for s in M.free_symbols)
    v = explicit(w, {d: 3})
    assert v.shape == (3, 1) and len(v.free_symbols) == 3


def test_explicit_symmetric_matrix_shares_entries():
    S = explicit(H, {d: 3}, symmetric=[H])
    assert S == S.T
    assert len(S.free_symbols) == 6


@pytest.mark.parametrize("size", [2, 11, 12])
def test_explicit_gives_distinct_entries_distinct_symbols(size):
    M = explicit(H, {d: size})
    assert len(M.free_symbols) == size * size


def test_identity_rejects_a_false_statement_about_entries_of_a_large_matrix():
    # H[0, 10] and H[10, 0] are different entries of an 11 x 11 matrix.
    with pytest.raises(DerivationError):
        identity(H[0, 10], H[10, 0], instances=[{d: 11}])


def test_gradient_and_hessian_helpers():
    f = x**2 * y + sp.sin(y)
    assert gradient(f, [x, y]) == sp.Matrix([2 * x * y, x**2 + sp.cos(y)])
    assert hessian(f, [x, y]) == sp.Matrix([[2 * y, 2 * x], [2 * x, -sp.sin(y)]])
    assert gradient(sp.Matrix([[f]]), [x, y]) == gradient(f, [x, y])  # a 1x1 matrix


def test_hessian_of_least_squares_is_phi_phi_transpose():
    check = identity(Hess(ls_loss(w), w), HESS, instances=[{d: 2, n: 3}])
    assert check.tex.startswith(r"\nabla^2_{w}")
    with pytest.raises(DerivationError):
        identity(Hess(ls_loss(w), w), Phi.T * Phi, instances=[{d: 2, n: 2}])


# --------------------------------------------------------------------------
# inequality
# --------------------------------------------------------------------------

def test_inequality_from_assumptions():
    check = inequality(2 * a * b, "<=", a**2 + b**2)
    assert check.holds and "assumptions" in check.method
    inequality(p / (1 + p), "<", 1)
    inequality(p + 1, ">", p)
    inequality(x**2, ">=", 0)


def test_inequality_needs_the_assumptions():
    inequality(p, ">", 0)
    with pytest.raises(DerivationError):
        inequality(x, ">", 0)  # x is only real
    with pytest.raises(DerivationError):
        inequality(x**2, ">", 0)  # fails at x = 0


def test_inequality_with_a_certificate():
    check = inequality(2 * a * b, "<=", a**2 + b**2, certificate=(a - b) ** 2)
    assert latex((a - b) ** 2) in "".join(check.details)  # the certificate is shown
    with pytest.raises(DerivationError, match="certificate"):
        inequality(2 * a * b, "<=", a**2 + b**2, certificate=(a + b) ** 2)


def test_inequality_over_an_interval():
    # GD decreases a quadratic along an eigenvector iff 0 < η < 2/λ.
    check = inequality(DECREASE, "<", 0, over={eta: sp.Interval.open(0, 2 / lam)})
    assert check.holds and "eta" in check.method
    with pytest.raises(DerivationError):
        inequality(DECREASE, "<", 0)  # not for every η > 0


def test_strict_inequality_false_at_the_right_end_is_rejected():
    with pytest.raises(DerivationError, match="false"):
        inequality(DECREASE, "<", 0, over={eta: sp.Interval.Lopen(0, 2 / lam)})
    # ... but the non-strict one holds there.
    inequality(DECREASE, "<=", 0, over={eta: sp.Interval.Lopen(0, 2 / lam)})


def test_inequality_over_a_too_large_interval_is_rejected():
    with pytest.raises(DerivationError):
        inequality(DECREASE, "<", 0, over={eta: sp.Interval.open(0, 3 / lam)})


def test_inequality_proved_by_solveset():
    check = inequality(x**2 - 2 * x + 2, ">", 0, over={x: sp.Interval(-sp.oo, sp.oo)})
    assert check.holds


def test_false_inequalities_raise():
    with pytest.raises(DerivationError):
        inequality(p, ">", p + 1)
    with pytest.raises(DerivationError):
        inequality(x, "<=", x**2)  # false at x = 1/2
    with pytest.raises(DerivationError):
        inequality(p, "<", p)


def test_inequality_argument_errors():
    with pytest.raises(ValueError, match="relation"):
        inequality(x, "==", x)
    with pytest.raises(ValueError, match="Interval"):
        inequality(DECREASE, "<", 0, over={eta: sp.FiniteSet(1)})


# --------------------------------------------------------------------------
# solution_set
# --------------------------------------------------------------------------

POSITIVE = sp.Interval.open(0, sp.oo)


def test_solution_set_of_decreasing_step_sizes():
    check = solution_set(DECREASE < 0, eta, sp.Interval.open(0, 2 / lam), domain=POSITIVE)
    assert check.holds
    assert sp.latex(sp.Interval.open(0, 2 / lam)) in check.tex


def test_solution_set_rejects_the_closed_right_end():
    with pytest.raises(DerivationError):
        solution_set(DECREASE < 0, eta, sp.Interval.Lopen(0, 2 / lam), domain=POSITIVE)


def test_solution_set_rejects_a_subset():
    with pytest.raises(DerivationError):
        solution_set(DECREASE < 0, eta, sp.Interval.open(0, 1 / lam), domain=POSITIVE)


def test_solution_set_rejects_a_superset():
    with pytest.raises(DerivationError):
        solution_set(DECREASE < 0, eta, sp.Interval.open(0, 3 / lam), domain=POSITIVE)


def test_solution_set_with_closed_domain_and_non_strict_condition():
    solution_set(DECREASE <= 0, eta, sp.Interval(0, 2 / lam), domain=sp.Interval(0, sp.oo))
    # η = 0 satisfies ≤ 0, so (0, 2/λ] is not the whole set on [0, ∞).
    with pytest.raises(DerivationError):
        solution_set(DECREASE <= 0, eta, sp.Interval.Lopen(0, 2 / lam),
                     domain=sp.Interval(0, sp.oo))


def test_solution_set_on_the_real_line():
    solution_set(x**2 < 1, x, sp.Interval.open(-1, 1))
    solution_set(x > 3, x, sp.Interval.open(3, sp.oo))
    for wrong in (sp.Interval(-1, 1), sp.Interval.open(-1, 2), sp.Interval.open(0, 1)):
        with pytest.raises(DerivationError):
            solution_set(x**2 < 1, x, wrong)


def test_solution_set_rejects_an_interval_sticking_out_of_the_domain():
    # {x > 0 : x² < 1} is (0, 1); (-1, 1) is not even a subset of the domain.
    with pytest.raises(DerivationError):
        solution_set(x**2 < 1, x, sp.Interval.open(-1, 1), domain=POSITIVE)
    # {0 < x < 1 : x < 2} is (0, 1), not (0, 2).
    with pytest.raises(DerivationError):
        solution_set(x < 2, x, sp.Interval.open(0, 2), domain=sp.Interval.open(0, 1))


def test_solution_set_rejects_a_set_it_cannot_prove_complete():
    # {x : x < p} is (-∞, p): the condition holds on (-∞, 0] but that is not the whole set,
    # and SymPy cannot show it fails on (0, ∞) (it does not, for x < p).
    with pytest.raises(DerivationError, match="could not show the condition fails"):
        solution_set(x < p, x, sp.Interval(-sp.oo, 0))
    solution_set(x < p, x, sp.Interval.open(-sp.oo, p))


def test_solution_set_argument_errors():
    with pytest.raises(ValueError, match="inequality"):
        solution_set(sp.Eq(x, 3), x, sp.Interval(3, 3))
    with pytest.raises(ValueError, match="Interval"):
        solution_set(x < 3, x, sp.FiniteSet(1, 2))


# --------------------------------------------------------------------------
# refuted
# --------------------------------------------------------------------------

def test_refuted_by_a_shape_mismatch():
    # A classic slip: the Hessian of least squares written as ΦᵀΦ (that is the kernel).
    check = refuted(HESS, "=", Phi.T * Phi, instances=[{d: 2, n: 3}])
    assert isinstance(check, Check)
    assert not check.holds
    assert "shape" in check.method


def test_refuted_wrong_derivative():
    check = refuted(sp.diff(x**3, x), "=", x**2)
    assert not check.holds
    assert "not identically zero" in check.method


def test_refuted_at_a_counterexample_point():
    check = refuted(x**2, ">=", x, at={x: sp.Rational(1, 2)})
    assert not check.holds and check.kind is Kind.REFUTED
    shown = "".join(check.details)
    assert r"x = \frac{1}{2}" in shown
    assert r"\frac{1}{4}" in shown  # both sides' values are shown


def test_refuted_raises_when_the_claim_is_true():
    with pytest.raises(DerivationError):
        refuted(sp.diff(x**3, x), "=", 3 * x**2)
    with pytest.raises(DerivationError):
        refuted(HESS, "=", HESS.T, instances=[{d: 2, n: 3}])


def test_refuted_raises_when_the_point_is_no_counterexample():
    with pytest.raises(DerivationError, match="not a counterexample"):
        refuted(x**2, ">=", x, at={x: 2})
    with pytest.raises(DerivationError, match="not a counterexample"):
        refuted(x**2, "=", x, at={x: 1})


def test_a_counterexample_must_respect_the_declared_signs():
    with pytest.raises(ValueError, match="declared positive"):
        refuted(p**2, ">=", p, at={p: -1})


def test_refuted_argument_errors():
    with pytest.raises(ValueError, match="counterexample point"):
        refuted(x**2, ">=", x)  # an inequality needs a point
    with pytest.raises(ValueError, match="relation"):
        refuted(x**2, "!=", x)


def test_refuted_displays_a_red_verdict():
    md = refuted(sp.diff(x**3, x), "=", x**2)._repr_markdown_()
    assert "✘ refuted" in md
    assert "✔" not in md
    assert sp.latex(3 * x**2) in md


# --------------------------------------------------------------------------
# Chain
# --------------------------------------------------------------------------

def test_chain_from_the_docstring():
    c = Chain((p + 1) ** 2).equals(p**2 + 2 * p + 1, why="expand").geq(2 * p + 1, why="p² ≥ 0")
    assert c.relation == ">="
    assert c.last == 2 * p + 1


@pytest.mark.parametrize("build, relation", [
    (lambda: Chain(p + 2).equals(2 + p), "="),
    (lambda: Chain(p).leq(p + 1).leq(p + 2), "<="),
    (lambda: Chain(p).lt(p + 1).leq(p + 2).equals(2 + p), "<"),
    (lambda: Chain(p).leq(p + 1).lt(p + 2), "<"),
    (lambda: Chain(p + 2).geq(p + 1).gt(p), ">"),
    (lambda: Chain(p + 2).equals(p + 2).geq(p + 1), ">="),
], ids=["eq", "leq", "lt_first", "lt_last", "gt", "geq"])
def test_chain_relation(build, relation):
    assert build().relation == relation


def test_chain_descent_on_a_quadratic():
    # L(w - ηg) = L - η‖g‖² + ½η²λ‖g‖² < L for 0 < η < 2/λ (g ≠ 0).
    L, g = sp.Symbol("L", real=True), sp.Symbol("g", positive=True)
    c = (Chain(L - eta * g**2 + eta**2 * lam * g**2 / 2)
         .equals(L + g**2 * DECREASE, why="factor g²")
         .lt(L, why="0 < η < 2/λ", over={eta: sp.Interval.open(0, 2 / lam)}))
    assert c.relation == "<"


def test_chain_with_a_false_link_raises():
    with pytest.raises(DerivationError):
        Chain(p).leq(p - 1)
    with pytest.raises(DerivationError):
        Chain(x**2).equals(x)
    with pytest.raises(DerivationError):
        Chain(p).equals(p).gt(p)


def test_chain_cannot_mix_leq_and_geq():
    with pytest.raises(DerivationError, match="mix"):
        Chain(p).leq(p + 1).geq(p)
    with pytest.raises(DerivationError, match="mix"):
        Chain(p + 1).gt(p).lt(p + 1)


def test_chain_passes_options_to_the_checks():
    c = Chain(2 * a * b).leq(a**2 + b**2, certificate=(a - b) ** 2)
    assert c.relation == "<="
    c = Chain(H).equals(H.T, instances=[{d: 2}], symmetric=[H])
    assert c.relation == "="


def test_chain_markdown_shows_every_line_and_reason():
    c = Chain((p + 1) ** 2).equals(p**2 + 2 * p + 1, why="expand").geq(2 * p + 1, why="p > 0")
    md = c._repr_markdown_()
    assert r"\begin{aligned}" in md
    for expr in ((p + 1) ** 2, p**2 + 2 * p + 1, 2 * p + 1):
        assert sp.latex(expr) in md
    assert r"\ge" in md
    assert "(1)" in md and "(2)" in md
    assert "expand" in md and "p &gt; 0" in md  # reasons are HTML-escaped
    assert "✔ proved" in md and "every step checked" in md


# --------------------------------------------------------------------------
# Display
# --------------------------------------------------------------------------

def test_check_markdown_contains_latex_and_verdict():
    check = identity((x + 1) ** 2, x**2 + 2 * x + 1, why="since a < b & c")
    md = check._repr_markdown_()
    assert md.startswith("$$\n")
    assert sp.latex((x + 1) ** 2) in md
    assert "✔ proved" in md
    assert "✘" not in md
    assert "a &lt; b &amp; c" in md
    assert "[proved]" in repr(check)


def test_false_check_markdown():
    check = Check("1 = 2", Kind.REFUTED, False, "arithmetic")
    assert "✘ refuted" in check._repr_markdown_()
    with pytest.raises(ValueError, match="kind"):
        Check("1 = 2", "false", False, "arithmetic")
    assert "[refuted]" in repr(check)


# --------------------------------------------------------------------------
# Verdict kinds, hypotheses and the notation (issue #17)
# --------------------------------------------------------------------------

def test_every_declared_sign_is_shown_as_an_assumption():
    s = sp.Symbol("s", nonnegative=True)
    check = inequality(p, "<=", p + s)
    assert "signs declared" in check._repr_markdown_()
    assert r"s \ge 0" in check.signs and "p > 0" in check.signs


def test_a_hypothesis_that_justifies_a_sign_is_shown_in_its_place():
    s = sp.Symbol("s", nonnegative=True)
    check = inequality(p, "<=", p + s, given=[by("thm-rayleigh", "Rayleigh quotient", s)])
    md = check._repr_markdown_()
    assert r"s \ge 0" not in check.signs
    assert "{uses}`Rayleigh quotient <thm-rayleigh>`" in md and r"$s \ge 0$" in md
    named = inequality(p, "<=", p + s, given=[assuming("L is bounded below", s)])
    assert "L is bounded below" in named._repr_markdown_()


def test_hypotheses_reject_relations_that_sympy_already_decided():
    s = sp.Symbol("s", nonnegative=True)
    with pytest.raises(ValueError, match="pass the symbol"):
        by("thm-x", "a theorem", s >= 0)  # SymPy evaluates s >= 0 to True
    with pytest.raises(ValueError, match="no declared sign"):
        assuming("something", x)
    with pytest.raises(ValueError, match="label"):
        by("a label with spaces", "x")
    with pytest.raises(ValueError, match="hypotheses"):
        identity(x, x, given=["descent lemma"])


def test_where_displays_the_symbol_and_checks_the_definition():
    g = sp.MatrixSymbol("g", d, 1)
    Lf, v = sp.Function("L"), sp.MatrixSymbol("v", d, 1)
    where = {Lf: sp.Lambda(v, v.T * H * v / 2), g: H * w}
    check = identity(Lf(w - eta * g) - Lf(w), -eta * g.T * g + eta**2 / 2 * g.T * H * g,
                     where=where, instances=[{d: 1}, {d: 2}], symmetric=[H])
    assert "L" in check.tex and "g^{\\top} g" in check.tex
    assert len(check.where) == 2
    with pytest.raises(DerivationError):  # without the ½ it is false, through the definitions
        identity(Lf(w - eta * g) - Lf(w), -eta * g.T * g + eta**2 * g.T * H * g,
                 where=where, instances=[{d: 1}], symmetric=[H])


def test_sym_gives_the_book_notation():
    G = sym("G_k", r"\lVert g_k\rVert^2", nonnegative=True)
    check = inequality(G, "<=", G + 1)
    assert r"\lVert g_k\rVert^2" in check.tex
    assert latex(w.T * H) == r"w^{\top} H"


def test_a_point_check_is_labelled_as_such():
    check = identity(x * (x + 1), x**2 + x, at={x: 2})
    assert check.kind is Kind.INSTANCES and r"\text{at } x = 2" in check.tex
    check = identity(H, H.T, instances=[{d: 2}], symmetric=[H],
                     covered_by="tests/test_problems.py::test_x")
    assert "property test tests/test_problems.py::test_x" in check.method
    with pytest.raises(ValueError, match="covered_by"):
        identity(H, H.T, instances=[{d: 2}], symmetric=[H], covered_by="a test")


def test_loose_needs_two_true_checks():
    t = sp.Symbol("t", positive=True)
    claim = identity(sp.limit(t * sp.Rational(1, 2) ** t, t, sp.oo), 0)
    tight = inequality(sp.Rational(1, 2) ** (t + 1), "<", sp.Rational(1, 2) ** t,
                       certificate=sp.Rational(1, 2) ** (t + 1))
    check = loose(claim, tight, why="linear is O(1/t)")
    assert check.kind is Kind.LOOSE and check.holds
    assert "◐ loose" in check._repr_markdown_() and "tight statement" in check._repr_markdown_()
    with pytest.raises(DerivationError):
        loose(refuted(x**2, ">=", x, at={x: sp.Rational(1, 2)}), tight)


def test_assumption_has_its_own_badge():
    check = assumption(sp.Symbol("L_star"), "<=", x, why="L is bounded below")
    assert check.kind is Kind.ASSUMPTION and "◇ assumption" in check._repr_markdown_()


def test_numerical_evidence_follows_the_data():
    A, B = sp.symbols("A B")
    up = numerical(A, ">", B, values={A: [2, 3, 4, 5, 6], B: [1, 2, 3, 4, 5.5]},
                   runs="5 seeds (0–4)")
    assert up.kind is Kind.NUMERICAL and up.outcome == "supports" and up.holds
    assert "95% interval" in up.method
    down = numerical(A, ">", B, values={A: [1, 2, 3, 4, 5], B: [2, 3, 4, 5, 6.5]},
                     runs="5 seeds")
    assert down.outcome == "against" and not down.holds
    noisy = numerical(A, ">", B, values={A: [1, 2, 3, 4, 5], B: [0, 3, 2, 5, 4.5]},
                      runs="5 seeds")
    assert noisy.outcome == "inconclusive"
    with pytest.raises(DerivationError, match="expects"):
        numerical(A, ">", B, values={A: [1, 2], B: [3, 4]}, runs="2 seeds", expect="supports")
    one = numerical(A, "<", B, values={A: [1.0], B: [2.0]}, runs="one deterministic run")
    assert one.outcome == "supports" and "no interval" in one.method
    with pytest.raises(ValueError, match="missing"):
        numerical(A, "<", B, values={A: [1.0]}, runs="x")
    with pytest.raises(ValueError, match="same number"):
        numerical(A, "<", B, values={A: [1.0], B: [1.0, 2.0]}, runs="x")


def test_a_chain_shows_the_range_of_each_link_and_is_as_strong_as_its_weakest_link():
    lam_ = sp.Symbol("lambda", positive=True)
    c = Chain(-eta * (1 - lam_ * eta / 2)).lt(0, over={eta: sp.Interval.open(0, 2 / lam_)})
    assert r"\text{for every } \eta" in c.tex
    assert c.kind is Kind.PROVED
    c2 = Chain(H).equals(H.T, instances=[{d: 2}], symmetric=[H])
    assert c2.kind is Kind.INSTANCES
    assert "proved at the listed instances" in c2._repr_markdown_()


def test_mean_interval_matches_student_t():
    from optbook.stats import mean_interval, t_quantile

    # two-sided 95% quantiles of Student's t (tables): df = 1, 4, 30
    assert t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-3)
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile(0.975, 30) == pytest.approx(2.0423, abs=1e-4)
    mean, lo, hi = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0 and hi - mean == pytest.approx(2.7764 * (2.5**0.5) / 5**0.5, abs=1e-3)
    with pytest.raises(ValueError, match="2 samples"):
        mean_interval([1.0])
    with pytest.raises(ValueError, match="finite"):
        mean_interval([1.0, float("nan")])


def test_entrywise_display_helpers_become_explicit_with_the_sizes():
    """Entry, Each, SumOf and Diag display symbolic-size statements in the book's notation
    and turn into the explicit objects they stand for (a false statement with them fails)."""
    from optbook.symbolic import Diag, Each, Entry, SumOf

    phi = sp.MatrixSymbol("phi", d, 1)
    ell = sp.Lambda(x, x**3)
    total = SumOf(1, n) * Each(ell, Phi.T * w)  # Σᵢ ((Φᵀw)ᵢ)³
    assert latex(total).startswith(r"\sum_i")
    assert r"\operatorname{diag}_i" in latex(Diag(Each(ell, Phi.T * w)))
    sizes = {d: 2, n: 3}
    z = explicit(Phi.T * w, sizes)
    assert sp.expand(explicit(total, sizes)[0, 0] - sum(zi**3 for zi in z)) == 0
    assert explicit(Diag(Each(ell, Phi.T * w)), sizes) == sp.diag(*[zi**3 for zi in z])
    assert sp.expand(explicit(Entry(phi.T * w), {d: 2}) - (explicit(phi.T * w, {d: 2})[0, 0])) == 0
    identity(Hess(SumOf(1, n) * Each(sp.Lambda(x, x**2 / 2), Phi.T * w), w), Phi * Phi.T,
             instances=[{d: 2, n: 2}])
    with pytest.raises(DerivationError):
        identity(Hess(SumOf(1, n) * Each(sp.Lambda(x, x**2), Phi.T * w), w), Phi * Phi.T,
                 instances=[{d: 2, n: 2}])
