r"""Checked derivations: each step of a derivation is stated in SymPy and verified.

A step is *checked* when SymPy proves it, and the check raises
:class:`DerivationError` when it cannot, so a false step stops the notebook
(and fails the book's tests). What a check displays is rendered from the very
objects it checked (:mod:`optbook.verdict`), with a badge for the kind of
evidence and the hypotheses used; there is no free-text display.

* :func:`identity` — ``lhs == rhs``, proved by ``simplify(lhs - rhs) == 0``;
* :func:`inequality` — ``lhs <= rhs`` (or ``<``, ``>=``, ``>``), proved from a
  sign analysis of the gap, an optional certificate (a factorisation SymPy can
  sign), or by solving for one variable over its allowed set;
* :func:`solution_set` — the exact set of values of one variable where a
  condition holds (e.g. all step sizes that decrease the loss);
* :func:`refuted` — a claim shown false by a counterexample; it raises if the
  claim turns out to be true;
* :func:`loose` — a true claim that is weaker than a tight one (both checked);
* :func:`assumption` — a hypothesis, displayed as such (not proved);
* :func:`numerical` — a claim decided by runs over seeds, with an interval;
* :class:`Chain` — a multi-line derivation ``a = b <= c = ...``, each link checked.

``where={symbol: definition}`` keeps a display readable: the statement is shown
with the symbol and the definition is listed under it; the check substitutes it.
An undefined function can be defined by a ``Lambda`` (``where={L: Lambda(v, ...)}``).

Statements about matrices of any size are written with ``MatrixSymbol`` of
symbolic shape (``d``, ``n``); pass ``instances=[{d: 1, n: 2}, ...]`` and each
check replaces every matrix symbol by an explicit matrix of symbolic entries
of that size (and :class:`Grad`, :class:`Hess` by the derivatives of the explicit
expression; :class:`Entry`, :class:`Each`, :class:`SumOf` and :class:`Diag` display a 1×1
matrix's number, a function applied entrywise, a sum over entries and a diagonal matrix at
symbolic size, and become explicit with the sizes). SymPy can only check finitely many
sizes: the badge says so, and ``covered_by`` names the property-based test in ``tests/``
that checks random sizes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import numpy as np
import sympy as sp
from sympy.matrices.exceptions import ShapeError
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from optbook.stats import mean_interval
from optbook.verdict import (
    STRENGTH,
    Check,
    Hypothesis,
    Kind,
    _hypotheses,
    _plain,
    assuming,
    badge,
    by,
    declared_signs,
    latex,
    notation,
    relation_tex,
    sym,
)

__all__ = [
    "DerivationError",
    "Check",
    "Kind",
    "Hypothesis",
    "by",
    "assuming",
    "sym",
    "notation",
    "latex",
    "identity",
    "inequality",
    "solution_set",
    "refuted",
    "loose",
    "assumption",
    "numerical",
    "Chain",
    "Grad",
    "Hess",
    "Entry",
    "Each",
    "SumOf",
    "Diag",
    "explicit",
    "gradient",
    "hessian",
]

_RELATIONS = {"<": r"<", "<=": r"\le", ">": r">", ">=": r"\ge", "=": "="}


class DerivationError(AssertionError):
    """A derivation step that SymPy could not verify, that is false, or whose display
    is not the checked statement."""


def _no_free_text(tex) -> None:
    if tex is not None:
        raise DerivationError(
            "a check's display is rendered from the checked SymPy objects; free text "
            "(`tex=`) is not allowed, since nothing ties it to what was checked. Use "
            "sym(name, latex) for the notation, `where={symbol: definition}` for "
            "readability, and Grad/Hess for derivatives of matrix expressions.")


# --------------------------------------------------------------------------
# Unevaluated derivatives of matrix expressions of symbolic size
# --------------------------------------------------------------------------

class Grad(sp.MatrixExpr):
    r"""The gradient :math:`\nabla_w f` of a scalar (or 1×1) expression ``f`` in the column ``w``,
    left unevaluated until :func:`explicit` gives the sizes (then it is differentiated)."""

    def __new__(cls, f, w):
        if not (isinstance(w, sp.MatrixSymbol) and w.shape[1] == 1):
            raise ValueError(f"Grad needs a column MatrixSymbol w, got {w!r}")
        return sp.Basic.__new__(cls, sp.sympify(f), w)

    @property
    def shape(self):
        return self.args[1].shape

    def _latex(self, printer):
        w, f = (printer._print(a) for a in (self.args[1], self.args[0]))
        return rf"\nabla_{{{w}}}\left({f}\right)"

    def _at(self, f, w):
        return gradient(f, w)


class Hess(Grad):
    r"""The Hessian :math:`\nabla^2_w f`, unevaluated like :class:`Grad`."""

    @property
    def shape(self):
        n = self.args[1].shape[0]
        return (n, n)

    def _latex(self, printer):
        w, f = (printer._print(a) for a in (self.args[1], self.args[0]))
        return rf"\nabla^2_{{{w}}}\left({f}\right)"

    def _at(self, f, w):
        return hessian(f, w)


class Entry(sp.Expr):
    r"""The number held by a 1×1 matrix expression (such as :math:`\phi^\top w`), displayed
    as that expression; it becomes the number when the sizes are explicit."""

    is_commutative = True
    is_real = True

    def doit(self, **hints):
        M = self.args[0].doit(**hints)
        return sp.Matrix(M)[0, 0] if isinstance(M, sp.MatrixBase) else Entry(M)

    def _latex(self, printer):
        return printer._print(self.args[0])


class Each(ElementwiseApplyFunction):
    r"""A function applied to every entry of a column, displayed as :math:`f((\cdot)_i)`."""

    def __new__(cls, function, column):
        if not isinstance(function, sp.Lambda):
            dummy = sp.Dummy("x")
            function = sp.Lambda(dummy, function(dummy))
        return sp.MatrixExpr.__new__(cls, function, sp.sympify(column))

    def _latex(self, printer):
        column = printer._print(self.expr)
        if not isinstance(self.expr, sp.MatrixSymbol):
            column = rf"\left({column}\right)"
        (var,), body = self.function.signature, self.function.expr
        return printer._print(body.subs(var, sp.Symbol(column + "_i")))


class SumOf(sp.OneMatrix):
    r"""The row of ones :math:`\mathbb 1^\top`, displayed as the sum it computes:
    :math:`\mathbb 1^\top x = \sum_i x_i`."""

    def doit(self, **hints):
        return self.as_explicit() if all(k.is_Integer for k in self.shape) else self

    def _latex(self, printer):
        return r"\sum_i"


class Diag(DiagMatrix):
    r"""The diagonal matrix of a column's entries, displayed as
    :math:`\operatorname{diag}_i(\cdot)`."""

    def doit(self, **hints):
        column = self.args[0].doit(**hints)
        return sp.diag(*column) if isinstance(column, sp.MatrixBase) else Diag(column)

    def _latex(self, printer):
        return rf"\operatorname{{diag}}_i\left({printer._print(self.args[0])}\right)"


# --------------------------------------------------------------------------
# Explicit instances of matrix statements
# --------------------------------------------------------------------------

def explicit(expr, sizes: Mapping, *, symmetric: Iterable = ()) -> sp.Basic:
    """Replace every ``MatrixSymbol`` in ``expr`` by an explicit matrix.

    ``sizes`` maps the shape symbols (e.g. ``d``, ``n``) to integers. Each
    matrix symbol ``M`` becomes a matrix of real symbols ``M_ij``; those in
    ``symmetric`` get ``M_ij = M_ji``. :class:`Grad` and :class:`Hess` are
    differentiated. The result is evaluated (``doit``).
    """
    symmetric = list(symmetric)
    expr = sp.sympify(expr).subs(sizes)
    derivs = {e for e in expr.atoms(Grad, Hess)} if expr.has(Grad) else set()
    if derivs:
        expr = expr.xreplace({e: sp.ImmutableMatrix(e._at(explicit(e.args[0], sizes,
                                                                   symmetric=symmetric),
                                                          explicit(e.args[1], sizes)))
                              for e in derivs})
    symmetric_names = {M.name for M in symmetric}
    subs = {}
    for M in expr.atoms(sp.MatrixSymbol):
        rows, cols = (int(k) for k in M.shape)
        name, is_sym = M.name, M.name in symmetric_names
        if is_sym and rows != cols:
            raise ValueError(f"{name} is declared symmetric but has shape {rows}x{cols}")

        sep = "," if max(rows, cols) > 9 else ""  # M_1,11 and M_11,1 must differ

        def entry(i, j, name=name, is_sym=is_sym, cols=cols, sep=sep):
            a, b = (min(i, j), max(i, j)) if is_sym else (i, j)
            return sp.Symbol(f"{name}_{a + 1}{sep}{b + 1}" if cols > 1 else f"{name}_{a + 1}",
                             real=True)

        subs[M] = sp.ImmutableMatrix(rows, cols, entry)
    return expr.subs(subs).doit()


# objects that stay unevaluated until doit(): an identity between them needs evaluating
_UNEVALUATED = (sp.Derivative, sp.Subs, sp.Limit, sp.Sum, sp.Product, sp.Integral,
                sp.Determinant, sp.Trace)


def _is_zero(expr) -> bool | None:
    """True if ``expr`` (scalar or matrix) is identically zero, False if provably
    not, None if SymPy cannot tell."""
    if isinstance(expr, sp.MatrixBase | sp.MatrixExpr):
        if isinstance(expr, sp.MatrixExpr):
            if not all(sp.sympify(k).is_Integer for k in expr.shape):
                raise ValueError("a matrix statement of symbolic size needs `instances`, "
                                 "e.g. instances=[{d: 2, n: 3}]")
            expr = expr.as_explicit()
        results = []
        for entry in sp.Matrix(expr):
            results.append(_is_zero(entry))
            if results[-1] is False:  # one nonzero entry settles it
                return False
        return True if all(r is True for r in results) else None
    expr = sp.sympify(expr)
    if expr.has(*_UNEVALUATED):  # innermost first: a derivative before its limit
        expr = expr.replace(lambda e: isinstance(e, _UNEVALUATED),
                            lambda e: e.doit(deep=False))
    if sp.expand(expr) == 0:
        return True
    if expr.has(*_UNEVALUATED):  # a limit, sum or derivative SymPy could not evaluate
        reduced = sp.simplify(expr)
        return True if reduced == 0 else None
    if expr.is_rational_function():
        # cancel() is a canonical form for rational functions: nonzero means
        # not identically zero, with no need for (slow) simplify.
        return sp.cancel(expr) == 0
    reduced = sp.simplify(expr)
    if reduced == 0:
        return True
    if reduced.is_zero is not None:
        return reduced.is_zero
    return False if not reduced.free_symbols else None


def _difference(lhs, rhs):
    """``lhs - rhs``, treating a 1×1 matrix as the scalar it holds."""
    def scalar(x):
        if isinstance(x, sp.MatrixBase | sp.MatrixExpr) and x.shape == (1, 1):
            return sp.Matrix(x.as_explicit() if isinstance(x, sp.MatrixExpr) else x)[0, 0]
        return x
    if isinstance(lhs, sp.MatrixBase | sp.MatrixExpr) != isinstance(rhs, sp.MatrixBase |
                                                                   sp.MatrixExpr):
        return scalar(lhs) - scalar(rhs)
    return lhs - rhs


def gradient(f, w) -> sp.Matrix:
    """The gradient of the scalar ``f`` (or 1×1 matrix) w.r.t. the column of symbols ``w``."""
    f = f[0, 0] if isinstance(f, sp.MatrixBase) else f
    return sp.Matrix([sp.diff(f, wi) for wi in w])


def hessian(f, w) -> sp.Matrix:
    """The Hessian of the scalar ``f`` (or 1×1 matrix) w.r.t. the column of symbols ``w``."""
    f = f[0, 0] if isinstance(f, sp.MatrixBase) else f
    return sp.hessian(f, list(w))




def _signed(expr, strict: bool):
    """Sign of ``expr`` from the symbols' assumptions: True, False or None (undecided)."""
    expr = sp.simplify(expr)
    for form in (expr, sp.factor(expr), sp.expand(expr), sp.factor(sp.together(expr))):
        verdict = form.is_positive if strict else form.is_nonnegative
        if verdict is not None:
            return verdict
    return None


def _sign(expr, strict: bool, over: Mapping | None):
    """Decide ``expr > 0`` (strict) or ``expr >= 0``: (True/False/None, how)."""
    verdict = _signed(expr, strict)
    if verdict is not None or not over:
        return verdict, "sign of the gap from the symbols' assumptions"
    (var, domain), = over.items()
    if not isinstance(domain, sp.Interval):
        raise ValueError(f"over must map one symbol to an Interval, got {domain!r}")
    # Reparametrise the interval by a positive t, so that the symbols' assumptions
    # decide the sign: (a, b) -> a + (b - a) t/(1 + t); (a, oo) -> a + t; (-oo, b) -> b - t.
    t = sp.Dummy("t", positive=True)
    a, b = domain.start, domain.end
    if a.is_finite and b.is_finite:
        inner = a + (b - a) * t / (1 + t)
    elif a.is_finite:
        inner = a + t
    elif b.is_finite:
        inner = b - t
    else:
        inner = var
    checks = [_signed(expr.subs(var, inner), strict)]
    checks += [_signed(expr.subs(var, end), strict)
               for end, is_open in ((a, domain.left_open), (b, domain.right_open))
               if not is_open and end.is_finite]
    how = f"sign of the gap for every {var} in {sp.sstr(domain)}, from the symbols' assumptions"
    if all(c is True for c in checks):
        return True, how
    if any(c is False for c in checks):
        return False, f"it fails for some {var} in {sp.sstr(domain)}"
    bad = sp.solveset(expr <= 0 if strict else expr < 0, var, domain)
    if bad == sp.S.EmptySet:
        return True, f"SymPy: no {var} in {sp.sstr(domain)} violates it (solveset)"
    return None, ""


def _inside(inner: sp.Interval, outer: sp.Interval) -> bool:
    """True if SymPy can show ``inner`` is a subset of ``outer`` (symbolic end points)."""
    if inner.is_subset(outer) is True:
        return True

    def below(a, b, strict):  # a < b (strict) or a <= b, with a, b possibly infinite
        if a == b:
            return not strict
        if a is sp.S.NegativeInfinity or b is sp.S.Infinity:
            return True
        if a is sp.S.Infinity or b is sp.S.NegativeInfinity:
            return False
        return _signed(b - a, strict) is True

    left = below(outer.start, inner.start, outer.left_open and not inner.left_open)
    right = below(inner.end, outer.end, outer.right_open and not inner.right_open)
    return left and right


def _at(expr, point):
    if isinstance(expr, sp.MatrixBase | sp.MatrixExpr):
        return sp.Matrix(sp.Matrix(expr.doit()).subs(point)).applyfunc(sp.simplify)
    return sp.simplify(sp.sympify(expr).subs(point))


def _counterexample(diff, tries: int = 20):
    """A point (small integers, seeded) where ``diff`` is not zero, or None."""
    import random

    if _is_zero(diff) is True:
        return None
    symbols = sorted(sp.sympify(diff).free_symbols, key=str)
    rng = random.Random(0)
    for k in range(tries):
        point = {s: (k % 3 + 1 if k < 3 else rng.randint(-3, 3)) for s in symbols}
        value = _at(diff, point)
        nonzero = (not value.is_zero_matrix) if isinstance(value, sp.MatrixBase) else (
            value.is_zero is False)
        if nonzero:
            return point
    return None




# --------------------------------------------------------------------------
# What is shown and what is checked: `where`, `at`, sizes
# --------------------------------------------------------------------------

def _where(where) -> dict:
    if where is None:
        return {}
    if not isinstance(where, Mapping):
        raise ValueError(f"`where` maps symbols to their definitions, got {where!r}")
    for key, value in where.items():
        if isinstance(key, sp.core.function.UndefinedFunction):
            if not isinstance(value, sp.Lambda):
                raise ValueError(f"define the function {key} with a sympy Lambda, got {value!r}")
        elif not isinstance(key, sp.Symbol | sp.MatrixSymbol):
            raise ValueError(f"`where` keys are symbols, matrix symbols or undefined "
                             f"functions, got {key!r}")
    return dict(where)


def _where_tex(where: dict) -> tuple[str, ...]:
    out = []
    for key, value in where.items():
        if isinstance(value, sp.Lambda):
            out.append(f"{latex(key(*value.signature))} = {latex(value.expr)}")
        else:
            out.append(f"{latex(key)} = {latex(value)}")
    return tuple(out)


def _substitute(expr, where: dict):
    """``expr`` with every symbol of ``where`` replaced by its definition (repeatedly)."""
    if isinstance(expr, sp.MatrixBase) and not isinstance(expr, sp.ImmutableMatrix):
        expr = sp.ImmutableMatrix(expr)
    if not where or not isinstance(expr, sp.Basic):
        return expr
    for _ in range(len(where) + 1):
        new = expr
        for key, value in where.items():
            new = new.subs(key, value)
        if new == expr:
            return new
        expr = new
    raise ValueError("the definitions in `where` refer to each other in a cycle")


def _point_tex(point: Mapping) -> str:
    return r",\ ".join(f"{latex(k)} = {latex(sp.nsimplify(v) if isinstance(v, float) else v)}"
                       for k, v in point.items())


def _sizes_tex(instances) -> str:
    return "; ".join(_point_tex(inst) for inst in instances)


def _instances(instances):
    if instances is None:
        return None
    instances = list(instances)
    if not instances or not all(isinstance(i, Mapping) and i for i in instances):
        raise ValueError("instances must list at least one size substitution, "
                         "e.g. [{d: 1}, {d: 2}]")
    return instances


def _no_callable(*sides):
    if any(callable(s) and not isinstance(s, sp.Basic) for s in sides):
        raise ValueError("a side given as a function of the sizes cannot be displayed: "
                         "write it with Grad/Hess or a `where` definition")


def _signs(exprs, given, at=None):
    at = dict(at or {})
    return tuple(declared_signs([e.subs(at) if at and isinstance(e, sp.Basic) else e
                                 for e in exprs], given))


def _respects_signs(point: Mapping) -> None:
    """A counterexample must satisfy the signs declared on its symbols."""
    for symbol, value in point.items():
        value = sp.sympify(value)
        for fact in ("positive", "nonnegative", "negative", "nonpositive", "integer", "real"):
            if getattr(symbol, f"is_{fact}", None) and getattr(value, f"is_{fact}") is False:
                raise ValueError(f"the point gives {symbol} = {value}, but {symbol} is declared "
                                 f"{fact}: not a counterexample to the claim as stated")


def _fail(message: str, tex: str):
    raise DerivationError(f"{message}\n  statement: {tex}")


def _instance_note(instances) -> str:
    return (f"at the {len(instances)} size{'s' if len(instances) > 1 else ''} shown, with "
            "explicit matrices of symbolic entries")


def _covered(covered_by) -> str:
    if covered_by is None:
        return ""
    if not isinstance(covered_by, str) or "::" not in covered_by:
        raise ValueError("covered_by names a test as 'tests/test_file.py::test_name'")
    return f"; every size: property test {covered_by}"


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------

def identity(lhs, rhs, *, why: str = "", given=(), where=None, at: Mapping | None = None,
             instances=None, symmetric: Iterable = (), covered_by: str | None = None,
             label: str | None = None, tex=None) -> Check:
    r"""Check ``lhs == rhs`` and return a displayable :class:`Check`.

    Args:
        lhs, rhs: SymPy expressions (scalars or matrices), displayed as they are.
        why: the reason, in words, shown next to the verdict.
        given: hypotheses used (:func:`by`, :func:`assuming`).
        where: display symbols and their definitions (substituted before checking).
        at: a point (values of some symbols): the check is then at that point only.
        instances: for matrix statements of symbolic size, a list of size
            substitutions, e.g. ``[{d: 1, n: 1}, {d: 2, n: 3}]``.
        symmetric: matrix symbols that are symmetric (e.g. a Hessian).
        covered_by: the property test covering every size ("tests/x.py::test_y").

    Raises:
        DerivationError: if SymPy cannot show that ``lhs - rhs`` is zero.
    """
    _no_free_text(tex)
    _no_callable(lhs, rhs)
    given, where, instances = _hypotheses(given), _where(where), _instances(instances)
    qualifier = ""
    if instances:
        qualifier += rf"\quad ({_sizes_tex(instances)})"
    if at:
        qualifier += rf"\quad \text{{at }} {_point_tex(at)}"
    shown = relation_tex(lhs, "=", rhs) + qualifier
    L, R = (_substitute(side, where) for side in (lhs, rhs))
    if at:
        L, R = (sp.sympify(side).subs(at) for side in (L, R))
    diffs = []
    try:
        if instances is None:
            diffs.append(_difference(L, R))
        else:
            diffs = [_difference(explicit(L, inst, symmetric=symmetric),
                                 explicit(R, inst, symmetric=symmetric)) for inst in instances]
    except ShapeError as err:
        _fail(f"the two sides have different shapes ({err})", shown)
    for diff in diffs:
        verdict = _is_zero(diff)
        if verdict is not True:
            point = _counterexample(diff)
            if point is not None:
                where_ = ", ".join(f"{k}={v}" for k, v in point.items())
                _fail(f"the identity is false: at {where_}, lhs − rhs = "
                      f"{sp.sstr(_at(diff, point))}", shown)
            _fail("SymPy could not show lhs − rhs = 0", shown)
    method = "SymPy: simplify(lhs − rhs) = 0"
    if instances:
        method += " " + _instance_note(instances) + _covered(covered_by)
    elif at:
        method += " at the point shown"
    kind = Kind.INSTANCES if (instances or at) else Kind.PROVED
    return Check(shown, kind, True, method, why, given, _signs([lhs, rhs, L, R], given, at),
                 _where_tex(where), label=label, extra={"qualifier": qualifier})


def inequality(lhs, relation: str, rhs, *, why: str = "", given=(), where=None,
               certificate=None, over: Mapping | None = None, at: Mapping | None = None,
               label: str | None = None, tex=None) -> Check:
    r"""Check ``lhs <relation> rhs`` for ``relation`` in ``<, <=, >, >=``.

    The gap (``rhs - lhs`` for ``<``/``<=``, ``lhs - rhs`` otherwise) must be
    shown positive (strict) or non-negative. Strategies, in order:

    1. ``certificate``: an expression SymPy can sign from the symbols'
       assumptions (e.g. a product of positive factors and a square); the check
       proves ``gap == certificate`` and signs the certificate (shown under the badge);
    2. the sign of the simplified or factored gap, from the symbols' assumptions;
    3. ``over={x: interval}``: every ``x`` in the interval (shown in the statement).

    Raises:
        DerivationError: if the inequality is false or none of these proves it.
    """
    _no_free_text(tex)
    if relation not in ("<", "<=", ">", ">="):
        raise ValueError(f"relation must be one of '<', '<=', '>', '>=', got {relation!r}")
    given, where = _hypotheses(given), _where(where)
    qualifier = ""
    if over:
        (var, domain), = over.items()
        qualifier += rf"\quad \text{{for every }} {latex(var)} \in {latex(domain)}"
    if at:
        qualifier += rf"\quad \text{{at }} {_point_tex(at)}"
    shown = relation_tex(lhs, relation, rhs) + qualifier
    L, R = (_substitute(side, where) for side in (lhs, rhs))
    if at:
        L, R = (sp.sympify(side).subs(at) for side in (L, R))
    strict = relation in ("<", ">")
    gap = _difference(R, L) if relation in ("<", "<=") else _difference(L, R)
    if over:
        over = {var: _substitute(domain, where)}
    details = ()
    if certificate is not None:
        cert = _substitute(certificate, where)
        if _is_zero(gap - cert) is not True:
            _fail("the certificate is not equal to the gap", shown)
        verdict, method = _sign(cert, strict, over)
        method = "SymPy: the gap equals the certificate; " + method
        details = (f"Certificate: the gap equals ${latex(certificate)}$.",)
    else:
        verdict, method = _sign(gap, strict, over)
    if verdict is not True:
        _fail("the inequality is false: " + method if verdict is False
              else "SymPy could not prove the inequality; give a certificate or `over`", shown)
    kind = Kind.INSTANCES if at else Kind.PROVED
    extra = [certificate] if certificate is not None else []
    return Check(shown, kind, True, method, why, given,
                 _signs([lhs, rhs, L, R, *extra], given, at), _where_tex(where), details,
                 label=label, extra={"qualifier": qualifier})


def solution_set(condition, var: sp.Symbol, expected: sp.Interval, *,
                 domain: sp.Interval = sp.S.Reals, why: str = "", given=(), where=None,
                 label: str | None = None, tex=None) -> Check:
    r"""Check that ``{var in domain : condition}`` is exactly the interval ``expected``.

    For example, the step sizes :math:`\eta>0` that decrease a quadratic loss.
    ``condition`` is a relation (``a < b``, ``a <= b``, ...). Proved by showing
    the condition holds on ``expected`` and fails on the rest of ``domain``,
    each by the sign analysis of :func:`inequality` (so symbolic end points work).

    Raises:
        DerivationError: if the set is different or SymPy cannot prove it.
    """
    _no_free_text(tex)
    given, where = _hypotheses(given), _where(where)
    shown = (rf"\left\{{{latex(var)} \in {latex(domain)} : {latex(condition)}\right\}}"
             rf" = {latex(expected)}")
    kinds = {sp.StrictLessThan: (True, 1), sp.LessThan: (False, 1),
             sp.StrictGreaterThan: (True, -1), sp.GreaterThan: (False, -1)}
    if type(condition) not in kinds:
        raise ValueError(f"condition must be an inequality such as a < b, got {condition!r}")
    if not (isinstance(expected, sp.Interval) and isinstance(domain, sp.Interval)):
        raise ValueError("expected and domain must be sympy Intervals")
    checked = _substitute(condition, where)
    expected_ = _substitute(expected, where)
    if not _inside(expected_, domain):
        _fail(f"could not show that {sp.sstr(expected_)} lies in the domain {sp.sstr(domain)}",
              shown)
    strict, direction = kinds[type(condition)]
    gap = direction * (checked.rhs - checked.lhs)  # condition <=> gap > 0 (or >= 0)
    inside, _ = _sign(gap, strict, {var: expected_})
    if inside is not True:
        _fail(f"the condition does not hold on all of {sp.sstr(expected_)}", shown)
    rest = [sp.Interval(domain.start, expected_.start, domain.left_open, not expected_.left_open),
            sp.Interval(expected_.end, domain.end, not expected_.right_open, domain.right_open)]
    for piece in rest:
        if isinstance(piece, sp.Interval) and piece.measure != 0:
            fails, _ = _sign(-gap, not strict, {var: piece})
            if fails is not True:
                _fail(f"could not show the condition fails on {sp.sstr(piece)}", shown)
        elif piece != sp.S.EmptySet:  # a single point
            point = piece.start if isinstance(piece, sp.Interval) else next(iter(piece))
            if _signed(-gap.subs(var, point), not strict) is not True:
                _fail(f"could not show the condition fails at {var} = {point}", shown)
    return Check(shown, Kind.PROVED, True, "SymPy: the condition holds on the stated set and "
                 "fails on the rest of the domain (sign analysis)", why, given,
                 _signs([condition, expected, checked, expected_], given), _where_tex(where),
                 label=label)


def refuted(lhs, relation: str, rhs, *, at: Mapping | None = None, why: str = "",
            given=(), where=None, instances=None, label: str | None = None,
            tex=None) -> Check:
    r"""Show that a claim is false, and return a red-verdict :class:`Check`.

    ``relation`` is ``=``, ``<``, ``<=``, ``>`` or ``>=``. The claim is refuted

    * at a point ``at`` (a counterexample: a substitution making both sides numbers,
      shown with both sides' values), or
    * for an identity, by ``lhs - rhs`` not simplifying to zero (the point found is shown), or
    * by the sides having incompatible shapes (e.g. a transposed matrix).

    Raises:
        DerivationError: if the claim cannot be shown false (it may be true).
    """
    _no_free_text(tex)
    _no_callable(lhs, rhs)
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {list(_RELATIONS)}, got {relation!r}")
    given, where, instances = _hypotheses(given), _where(where), _instances(instances)
    shown = relation_tex(lhs, relation, rhs)
    signs = _signs([lhs, rhs], given, at)
    wtex = _where_tex(where)

    def result(method, details=()):
        return Check(shown, Kind.REFUTED, False, method, why, given, signs, wtex,
                     tuple(details), label=label)

    if instances is not None:
        shown += rf"\quad ({_point_tex(instances[0])})"
    try:
        L, R = (_substitute(side, where) for side in (lhs, rhs))
        if instances is not None:
            L, R = (explicit(side, instances[0]) for side in (L, R))
    except ShapeError as err:
        return result(f"the expression cannot even be formed: {err}")
    try:
        diff = _difference(L, R)
    except (ShapeError, TypeError):
        shapes = " vs ".join(str(getattr(x, "shape", "scalar")) for x in (L, R))
        return result(f"the two sides do not have the same shape ({shapes})")
    if at is not None:
        _respects_signs(at)
        a, b = (sp.sympify(side).subs(at).doit() for side in (L, R))
        a, b = (sp.Matrix(x).applyfunc(sp.nsimplify) if isinstance(x, sp.MatrixBase)
                else sp.nsimplify(x) for x in (a, b))
        if (a.free_symbols if isinstance(a, sp.Basic) else set()) | (
                b.free_symbols if isinstance(b, sp.Basic) else set()):
            raise ValueError("`at` must give a value to every symbol of the claim")
        ok = {"=": lambda: sp.simplify(a - b) == 0 if not isinstance(a, sp.MatrixBase)
              else (a - b).is_zero_matrix,
              "<": lambda: bool(a < b), "<=": lambda: bool(a <= b),
              ">": lambda: bool(a > b), ">=": lambda: bool(a >= b)}[relation]()
        if ok:
            _fail(f"the claim holds at the given point ({a} vs {b}): not a counterexample",
                  shown)
        point = f"at ${_point_tex(at)}$: " if at else "(the claim has no free symbol): "
        detail = (f"Counterexample {point}the left side is ${latex(a)}$, "
                  f"the right side ${latex(b)}$.")
        return result("the claim fails at the point shown", [detail])
    if relation != "=":
        raise ValueError("to refute an inequality, give a counterexample point `at`")
    if instances is None and getattr(lhs, "shape", ()) != getattr(rhs, "shape", ()):
        raise ValueError("sides of different symbolic shapes: give `instances` with sizes")
    point = _counterexample(diff)
    if point is None:
        _fail("the claimed identity could not be shown false", shown)
    detail = (f"Counterexample at ${_point_tex(point)}$: left side − right side "
              f"$= {latex(_at(diff, point))}$.")
    return result("SymPy: lhs − rhs is not identically zero", [detail])


def loose(claim: Check, tight: Check, *, why: str = "", label: str | None = None) -> Check:
    """A true claim that is weaker than the tight statement: both are checks that hold.

    The claim is displayed with the *loose* badge; the tight statement, with its
    own kind, is shown under it.
    """
    if isinstance(tight, Chain):
        tight = tight.as_check()
    for name, c in (("claim", claim), ("tight", tight)):
        if not isinstance(c, Check):
            raise ValueError(f"loose() takes two checks; `{name}` is {c!r}")
        if not c.holds or c.kind in (Kind.REFUTED, Kind.NUMERICAL, Kind.ASSUMPTION, Kind.LOOSE):
            raise DerivationError(f"loose(): the {name} must be a true, checked statement, "
                                  f"got a {c.kind.value} verdict\n  statement: {c.tex}")
    lines = ["The tight statement, checked:", "", f"$$\n{tight.tex}\n$$", ""]
    if tight.where:
        lines += ["where " + ", ".join(f"${w}$" for w in tight.where) + ".", ""]
    lines.append(f"{badge(tight.kind, counted=False)} "
                 f'<span class="optbook-method">{_plain(tight.method)}.</span>')
    uses = tight.hypotheses_markdown
    if uses:
        lines += ["", uses]
    return Check(claim.tex, Kind.LOOSE, True, "the claim is true (" + claim.method + ")",
                 why, claim.given, claim.signs, claim.where, claim.details,
                 label=label, extra={"after": "\n".join(lines)})


def assumption(lhs, relation: str, rhs, *, why: str = "", given=(), where=None,
               label: str | None = None) -> Check:
    """A hypothesis, displayed with the *assumption* badge: stated, not proved."""
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {list(_RELATIONS)}, got {relation!r}")
    given, where = _hypotheses(given), _where(where)
    return Check(relation_tex(lhs, relation, rhs), Kind.ASSUMPTION, True,
                 "assumed, not proved", why, given, _signs([lhs, rhs], given),
                 _where_tex(where), label=label)


def numerical(lhs, relation: str, rhs, *, values: Mapping, runs: str,
              confidence: float = 0.95, expect: str | None = None, why: str = "",
              given=(), where=None, label: str | None = None) -> Check:
    r"""A claim ``lhs <relation> rhs`` decided by floating-point runs, with an interval.

    ``values`` maps each symbol of the claim to its values, one per run (seed),
    paired across symbols; ``runs`` says what was run (seeds, sizes, settings).
    The gap (``rhs − lhs`` for ``<``/``<=``, ``lhs − rhs`` for ``>``/``>=``) is
    computed per run; with two runs or more its Student-t interval decides the
    outcome: *supports* (the interval lies above 0), *against* (below 0) or
    *inconclusive*. One run gives the sign of its gap and no interval.
    ``expect`` ("supports", "against", "inconclusive") stops the build when the
    data say otherwise, so that the text around the verdict stays true.
    """
    if relation not in ("<", "<=", ">", ">="):
        raise ValueError(f"relation must be one of '<', '<=', '>', '>=', got {relation!r}")
    if expect not in (None, "supports", "against", "inconclusive"):
        raise ValueError(f"expect must be 'supports', 'against' or 'inconclusive', got {expect!r}")
    if not isinstance(runs, str) or not runs:
        raise ValueError("say what was run: runs='5 seeds (0–4), n = 32, ...'")
    given, where = _hypotheses(given), _where(where)
    gap_expr = _substitute(rhs - lhs if relation in ("<", "<=") else lhs - rhs, where)
    symbols = sorted(gap_expr.free_symbols, key=str)
    missing = [s for s in symbols if s not in values]
    if missing:
        raise ValueError(f"values must give every symbol of the claim; missing {missing}")
    columns = [np.asarray(values[s], dtype=float).ravel() for s in symbols]
    sizes = {c.size for c in columns}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"every symbol needs the same number (≥ 1) of runs, got {sorted(sizes)}")
    gaps = np.asarray(sp.lambdify(symbols, gap_expr, "numpy")(*columns), dtype=float)
    gaps = np.broadcast_to(gaps, columns[0].shape) if columns else np.atleast_1d(gaps)
    if not np.all(np.isfinite(gaps)):
        raise ValueError("a run gave a non-finite value: report divergence separately")
    shown = relation_tex(lhs, relation, rhs)
    if gaps.size == 1:
        gap = float(gaps[0])
        outcome = "supports" if gap > 0 else "against" if gap < 0 else "inconclusive"
        method = f"one run ({runs}): gap {gap:.4g}; one run has no interval"
    else:
        mean, lo, hi = mean_interval(gaps, confidence)
        outcome = "supports" if lo > 0 else "against" if hi < 0 else "inconclusive"
        method = (f"{gaps.size} runs ({runs}): mean gap {mean:.4g}, "
                  f"{round(100 * confidence)}% interval [{lo:.4g}, {hi:.4g}] (Student t)")
    if expect is not None and outcome != expect:
        _fail(f"the runs' outcome is '{outcome}', the text expects '{expect}': {method}", shown)
    return Check(shown, Kind.NUMERICAL, outcome != "against", method, why, given,
                 _signs([lhs, rhs], given), _where_tex(where), outcome=outcome, label=label,
                 extra={"gaps": gaps})


class Chain:
    r"""A derivation written as a chain ``e0 = e1 <= e2 = ...``, every link checked.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> c = Chain((x + 1)**2).equals(x**2 + 2*x + 1, why="expand").geq(2*x + 1, why="x² ≥ 0")
    >>> c.relation
    '>='

    Each method checks the new expression against the previous one (with
    :func:`identity` or :func:`inequality`, whose keywords it takes: ``given``,
    ``certificate``, ``over``, ``instances`` ...) and returns the chain, so a
    derivation reads top to bottom. ``where`` applies to every link. The
    chain's badge is the weakest kind among its links; each link lists what it used.
    """

    def __init__(self, start, *, where=None, given=(), label: str | None = None, tex=None):
        _no_free_text(tex)
        self._where = _where(where)
        self._given = _hypotheses(given)
        self._exprs = [start]
        self._checks: list[Check] = []
        self._rels: list[str] = []
        self.relation = "="
        self.label = label

    @property
    def last(self):
        """The last expression of the chain."""
        return self._exprs[-1]

    @property
    def checks(self) -> list[Check]:
        """The check of each link."""
        return list(self._checks)

    @property
    def kind(self) -> Kind:
        """The weakest kind among the links (proved, or proved at instances)."""
        return max((c.kind for c in self._checks), key=STRENGTH.__getitem__,
                   default=Kind.PROVED)

    def _add(self, rel: str, expr, check: Check) -> Chain:
        order = {"=": 0, "<=": 1, "<": 2, ">=": -1, ">": -2}
        if rel != "=":
            if self.relation != "=" and (order[self.relation] > 0) != (order[rel] > 0):
                raise DerivationError("a chain cannot mix <= and >= links")
            strict = "<" in (rel, self.relation) or ">" in (rel, self.relation)
            self.relation = (rel[0] if strict else rel[0] + "=")
        self._exprs.append(expr)
        self._checks.append(check)
        self._rels.append(rel)
        return self

    def _kw(self, kw):
        if "tex" in kw:
            _no_free_text(kw["tex"])
        kw.setdefault("where", self._where)
        # the chain's hypotheses hold for every link (they cover the links' declared signs)
        kw["given"] = self._given + tuple(h for h in _hypotheses(kw.get("given"))
                                          if h not in self._given)
        return kw

    def equals(self, expr, *, why: str = "", **kw) -> Chain:
        """Add ``= expr`` (checked with :func:`identity`)."""
        return self._add("=", expr, identity(self.last, expr, why=why, **self._kw(kw)))

    def _ineq(self, rel, expr, why, kw) -> Chain:
        return self._add(rel, expr, inequality(self.last, rel, expr, why=why, **self._kw(kw)))

    def leq(self, expr, *, why: str = "", **kw) -> Chain:
        """Add ``<= expr`` (checked with :func:`inequality`)."""
        return self._ineq("<=", expr, why, kw)

    def lt(self, expr, *, why: str = "", **kw) -> Chain:
        """Add ``< expr``."""
        return self._ineq("<", expr, why, kw)

    def geq(self, expr, *, why: str = "", **kw) -> Chain:
        """Add ``>= expr``."""
        return self._ineq(">=", expr, why, kw)

    def gt(self, expr, *, why: str = "", **kw) -> Chain:
        """Add ``> expr``."""
        return self._ineq(">", expr, why, kw)

    @property
    def tex(self) -> str:
        """The chain as displayed (LaTeX from the checked expressions)."""
        rows = [f"& {latex(self._exprs[0])}"]
        for k, (expr, rel) in enumerate(zip(self._exprs[1:], self._rels, strict=True), 1):
            qualifier = self._checks[k - 1].extra.get("qualifier", "")
            rows.append(rf"{_RELATIONS[rel]}\; & {latex(expr)}{qualifier} && \text{{({k})}}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def as_check(self) -> Check:
        """The chain as one :class:`Check` (its statement, weakest kind and hypotheses)."""
        if not self._checks:
            raise DerivationError("an empty chain: add at least one checked link")
        signs = tuple(dict.fromkeys(s for c in self._checks for s in c.signs))
        given = tuple(dict.fromkeys(h for c in self._checks for h in c.given))
        return Check(self.tex, self.kind, True, "every step checked", "", given, signs,
                     _where_tex(self._where), label=self.label)

    def _repr_markdown_(self) -> str:
        if not self._checks:
            raise DerivationError("an empty chain: add at least one checked link")
        notes = []
        for k, check in enumerate(self._checks, 1):
            why = f" {html.escape(check.why)}" if check.why else ""
            extra = "".join(f" {d}" for d in check.details)
            uses = [h.markdown() for h in check.given if h not in self._given]
            uses_md = (" Uses: " + "; ".join(uses) + ".") if uses else ""
            head_where = set(_where_tex(self._where))
            defs = [f"${w}$" for w in check.where if w not in head_where]
            if defs:
                uses_md = " Where " + ", ".join(defs) + "." + uses_md
            notes.append(f"({k}) <span class=\"optbook-method\">{_plain(check.method)}"
                         f".</span>{why}{extra}{uses_md}")
        signs = tuple(dict.fromkeys(s for c in self._checks for s in c.signs))
        head = Check(self.tex, self.kind, True, "every step checked", "", self._given, signs,
                     _where_tex(self._where), label=self.label)
        return head._repr_markdown_() + "\n" + "\n".join(f"- {n}" for n in notes) + "\n"

    def __repr__(self) -> str:
        return (f"Chain({len(self._checks)} checked steps, relation {self.relation!r}, "
                f"{self.kind.value})")


