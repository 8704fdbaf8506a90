r"""Checked derivations: each step of a derivation is stated in SymPy and verified.

A step is *checked* when SymPy proves it, and the check raises
:class:`DerivationError` when it cannot, so a false step stops the notebook
(and fails the book's tests). Each check displays itself as rendered LaTeX
with a visible verdict.

* :func:`identity` — ``lhs == rhs``, proved by ``simplify(lhs - rhs) == 0``;
* :func:`inequality` — ``lhs <= rhs`` (or ``<``, ``>=``, ``>``), proved from a
  sign analysis of the gap, an optional certificate (a factorisation SymPy can
  sign), or by solving for one variable over its allowed set;
* :func:`solution_set` — the exact set of values of one variable where a
  condition holds (e.g. all step sizes that decrease the loss);
* :func:`refuted` — a claim *of the notes* shown false by computation; it
  raises if the claim turns out to be true;
* :class:`Chain` — a multi-line derivation ``a = b <= c = ...``, each link checked.

Statements about matrices of any size are written with ``MatrixSymbol`` of
symbolic shape (``d``, ``n``); pass ``instances=[{d: 1, n: 2}, ...]`` and each
check replaces every matrix symbol by an explicit matrix of symbolic entries
of that size. SymPy can only check finitely many sizes; the book says so and a
property-based test in ``tests/`` checks random sizes numerically.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.exceptions import ShapeError

__all__ = [
    "DerivationError",
    "Check",
    "identity",
    "inequality",
    "solution_set",
    "refuted",
    "Chain",
    "explicit",
    "gradient",
    "hessian",
]

_RELATIONS = {"<": r"<", "<=": r"\le", ">": r">", ">=": r"\ge", "=": "="}


class DerivationError(AssertionError):
    """A derivation step that SymPy could not verify, or that is false."""


def _plain(text: str) -> str:
    """Machine text (e.g. a SymPy expression) shown verbatim inside Markdown."""
    text = html.escape(text).replace("\\", "\\\\")
    for char in "*_`$[]":
        text = text.replace(char, "\\" + char)
    return text


@dataclass(frozen=True)
class Check:
    """The record of one checked statement; displays as LaTeX with its verdict."""

    tex: str
    holds: bool
    method: str
    why: str = ""

    @property
    def _badge(self) -> str:
        if self.holds:
            return '<span class="optbook-verdict optbook-ok">✔ checked</span>'
        return '<span class="optbook-verdict optbook-false">✘ false</span>'

    def _repr_markdown_(self) -> str:
        why = f" {html.escape(self.why)}" if self.why else ""
        return (f"$$\n{self.tex}\n$$\n\n{self._badge} "
                f"<span class=\"optbook-method\">{_plain(self.method)}.</span>{why}\n")

    def __repr__(self) -> str:
        verdict = "checked" if self.holds else "false"
        return f"[{verdict}] {self.tex}  ({self.method})"


# --------------------------------------------------------------------------
# Explicit instances of matrix statements
# --------------------------------------------------------------------------

def explicit(expr, sizes: Mapping, *, symmetric: Iterable = ()) -> sp.Basic:
    """Replace every ``MatrixSymbol`` in ``expr`` by an explicit matrix.

    ``sizes`` maps the shape symbols (e.g. ``d``, ``n``) to integers. Each
    matrix symbol ``M`` becomes a matrix of real symbols ``M_ij``; those in
    ``symmetric`` get ``M_ij = M_ji``. The result is evaluated (``doit``).
    """
    expr = sp.sympify(expr).subs(sizes)
    symmetric_names = {M.name for M in symmetric}
    subs = {}
    for M in expr.atoms(sp.MatrixSymbol):
        rows, cols = (int(k) for k in M.shape)
        name, sym = M.name, M.name in symmetric_names
        if sym and rows != cols:
            raise ValueError(f"{name} is declared symmetric but has shape {rows}x{cols}")

        sep = "," if max(rows, cols) > 9 else ""  # M_1,11 and M_11,1 must differ

        def entry(i, j, name=name, sym=sym, cols=cols, sep=sep):
            a, b = (min(i, j), max(i, j)) if sym else (i, j)
            return sp.Symbol(f"{name}_{a + 1}{sep}{b + 1}" if cols > 1 else f"{name}_{a + 1}",
                             real=True)

        subs[M] = sp.ImmutableMatrix(rows, cols, entry)
    return expr.subs(subs).doit()


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
    if sp.expand(expr) == 0:
        return True
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


def _side(side, sizes, symmetric=()):
    """A side of a statement at explicit sizes: ``side(sizes)`` if it is a function."""
    if callable(side) and not isinstance(side, sp.Basic):
        return side(sizes)
    return explicit(side, sizes, symmetric=symmetric)


def gradient(f, w) -> sp.Matrix:
    """The gradient of the scalar ``f`` (or 1×1 matrix) w.r.t. the column of symbols ``w``."""
    f = f[0, 0] if isinstance(f, sp.MatrixBase) else f
    return sp.Matrix([sp.diff(f, wi) for wi in w])


def hessian(f, w) -> sp.Matrix:
    """The Hessian of the scalar ``f`` (or 1×1 matrix) w.r.t. the column of symbols ``w``."""
    f = f[0, 0] if isinstance(f, sp.MatrixBase) else f
    return sp.hessian(f, list(w))


def _instance_note(instances) -> str:
    sizes = ", ".join("(" + ", ".join(f"{k}={v}" for k, v in inst.items()) + ")"
                      for inst in instances)
    return f"for the sizes {sizes}, with explicit matrices of symbolic entries"


def _tex(expr) -> str:
    return expr if isinstance(expr, str) else sp.latex(expr)


def _fail(message: str, tex: str):
    raise DerivationError(f"{message}\n  statement: {tex}")


# --------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------

def identity(lhs, rhs, *, why: str = "", instances=None, symmetric: Iterable = (),
             tex: str | None = None) -> Check:
    r"""Check ``lhs == rhs`` and return a displayable :class:`Check`.

    Args:
        lhs, rhs: SymPy expressions (scalars or matrices).
        why: the reason, in words, shown next to the verdict.
        instances: for matrix statements of symbolic size, a list of size
            substitutions, e.g. ``[{d: 1, n: 1}, {d: 2, n: 3}]``.
        symmetric: matrix symbols that are symmetric (e.g. a Hessian).
        tex: LaTeX to display instead of ``latex(lhs) = latex(rhs)``.

    Raises:
        DerivationError: if SymPy cannot show that ``lhs - rhs`` is zero.
    """
    if tex is None and (callable(lhs) or callable(rhs)):
        raise ValueError("give `tex` when a side is a function of the sizes")
    shown = tex or f"{_tex(lhs)} = {_tex(rhs)}"
    if instances is None:
        try:
            verdict = _is_zero(_difference(lhs, rhs))
        except ShapeError as err:
            _fail(f"the two sides have different shapes ({err})", shown)
        method = "SymPy: simplify(lhs − rhs) = 0"
    else:
        instances = list(instances)
        if not instances:
            raise ValueError("instances must list at least one size substitution")
        verdict = True
        for inst in instances:
            try:
                diff = _difference(_side(lhs, inst, symmetric), _side(rhs, inst, symmetric))
            except ShapeError as err:
                _fail(f"the two sides have different shapes at {inst} ({err})", shown)
            v = _is_zero(diff)
            if v is not True:
                verdict = v
                break
        method = "SymPy: simplify(lhs − rhs) = 0 " + _instance_note(instances)
    if verdict is not True:
        diff = _difference(lhs, rhs) if instances is None else (
            _difference(_side(lhs, inst, symmetric), _side(rhs, inst, symmetric)))
        point = _counterexample(diff)
        if point is not None:
            where = ", ".join(f"{k}={v}" for k, v in point.items())
            _fail(f"the identity is false: at {where}, lhs − rhs = {sp.sstr(_at(diff, point))}",
                  shown)
        _fail("SymPy could not show lhs − rhs = 0", shown)
    return Check(shown, True, method, why)


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


def inequality(lhs, relation: str, rhs, *, why: str = "", certificate=None,
               over: Mapping | None = None, tex: str | None = None) -> Check:
    r"""Check ``lhs <relation> rhs`` for ``relation`` in ``<, <=, >, >=``.

    The gap (``rhs - lhs`` for ``<``/``<=``, ``lhs - rhs`` otherwise) must be
    shown positive (strict) or non-negative. Strategies, in order:

    1. ``certificate``: an expression SymPy can sign from the symbols'
       assumptions (e.g. a product of positive factors and a square); the check
       proves ``gap == certificate`` and signs the certificate;
    2. the sign of the simplified or factored gap, from the symbols' assumptions;
    3. ``over={x: interval}``: ``solveset`` finds no ``x`` in the interval
       where the inequality fails.

    Raises:
        DerivationError: if the inequality is false or none of these proves it.
    """
    if relation not in ("<", "<=", ">", ">="):
        raise ValueError(f"relation must be one of '<', '<=', '>', '>=', got {relation!r}")
    shown = tex or f"{_tex(lhs)} {_RELATIONS[relation]} {_tex(rhs)}"
    strict = relation in ("<", ">")
    gap = _difference(rhs, lhs) if relation in ("<", "<=") else _difference(lhs, rhs)
    if certificate is not None:
        if _is_zero(gap - certificate) is not True:
            _fail("the certificate is not equal to the gap", shown)
        verdict, method = _sign(certificate, strict, over)
        method = f"SymPy: gap = {sp.sstr(certificate)}, " + method
    else:
        verdict, method = _sign(gap, strict, over)
    if verdict is not True:
        _fail("the inequality is false: " + method if verdict is False
              else "SymPy could not prove the inequality; give a certificate or `over`", shown)
    return Check(shown, True, method, why)


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


def solution_set(condition, var: sp.Symbol, expected: sp.Interval, *,
                 domain: sp.Interval = sp.S.Reals, why: str = "", tex: str | None = None) -> Check:
    r"""Check that ``{var in domain : condition}`` is exactly the interval ``expected``.

    For example, the step sizes :math:`\eta>0` that decrease a quadratic loss.
    ``condition`` is a relation (``a < b``, ``a <= b``, ...). Proved by showing
    the condition holds on ``expected`` and fails on the rest of ``domain``,
    each by the sign analysis of :func:`inequality` (so symbolic end points work).

    Raises:
        DerivationError: if the set is different or SymPy cannot prove it.
    """
    shown = tex or (rf"\{{{sp.latex(var)} \in {sp.latex(domain)} : {sp.latex(condition)}\}}"
                    rf" = {sp.latex(expected)}")
    kinds = {sp.StrictLessThan: (True, 1), sp.LessThan: (False, 1),
             sp.StrictGreaterThan: (True, -1), sp.GreaterThan: (False, -1)}
    if type(condition) not in kinds:
        raise ValueError(f"condition must be an inequality such as a < b, got {condition!r}")
    if not (isinstance(expected, sp.Interval) and isinstance(domain, sp.Interval)):
        raise ValueError("expected and domain must be sympy Intervals")
    if not _inside(expected, domain):
        _fail(f"could not show that {sp.sstr(expected)} lies in the domain {sp.sstr(domain)}",
              shown)
    strict, direction = kinds[type(condition)]
    gap = direction * (condition.rhs - condition.lhs)  # condition <=> gap > 0 (or >= 0)
    inside, _ = _sign(gap, strict, {var: expected})
    if inside is not True:
        _fail(f"the condition does not hold on all of {sp.sstr(expected)}", shown)
    rest = [sp.Interval(domain.start, expected.start, domain.left_open, not expected.left_open),
            sp.Interval(expected.end, domain.end, not expected.right_open, domain.right_open)]
    for piece in rest:
        if isinstance(piece, sp.Interval) and piece.measure != 0:
            fails, _ = _sign(-gap, not strict, {var: piece})
            if fails is not True:
                _fail(f"could not show the condition fails on {sp.sstr(piece)}", shown)
        elif piece != sp.S.EmptySet:  # a single point
            point = piece.start if isinstance(piece, sp.Interval) else next(iter(piece))
            if _signed(-gap.subs(var, point), not strict) is not True:
                _fail(f"could not show the condition fails at {var} = {point}", shown)
    return Check(shown, True, "SymPy: the condition holds on the stated set and fails on the "
                 "rest of the domain (sign analysis)", why)


def refuted(lhs, relation: str, rhs, *, at: Mapping | None = None, why: str = "",
            instances=None, tex: str | None = None) -> Check:
    r"""Show that a claim (of the notes) is false, and return a red-verdict :class:`Check`.

    ``relation`` is ``=``, ``<``, ``<=``, ``>`` or ``>=``. The claim is refuted

    * at a point ``at`` (a counterexample: a substitution making both sides numbers), or
    * for an identity, by ``lhs - rhs`` not simplifying to zero, or
    * by the sides having incompatible shapes (e.g. a transposed matrix).

    Raises:
        DerivationError: if the claim cannot be shown false (it may be true).
    """
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {list(_RELATIONS)}, got {relation!r}")
    if tex is None and (callable(lhs) or callable(rhs)):
        raise ValueError("give `tex` when a side is a function of the sizes")
    shown = tex or f"{_tex(lhs)} {_RELATIONS[relation]} {_tex(rhs)}"
    try:
        if instances is not None:
            lhs_, rhs_ = (_side(side, instances[0]) for side in (lhs, rhs))
        else:
            lhs_, rhs_ = lhs, rhs
    except ShapeError as err:
        return Check(shown, False, f"the expression cannot even be formed: {err}", why)
    try:
        diff = _difference(lhs_, rhs_)
    except (ShapeError, TypeError):
        shapes = " vs ".join(str(getattr(x, "shape", "scalar")) for x in (lhs_, rhs_))
        return Check(shown, False, f"the two sides do not have the same shape ({shapes})", why)
    if at is not None:
        a, b = (sp.sympify(side).subs(at) for side in (lhs_, rhs_))
        a, b = (sp.Matrix(x).applyfunc(sp.nsimplify) if isinstance(x, sp.MatrixBase)
                else sp.nsimplify(x) for x in (a, b))
        ok = {"=": lambda: sp.simplify(a - b) == 0 if not isinstance(a, sp.MatrixBase)
              else (a - b).is_zero_matrix,
              "<": lambda: bool(a < b), "<=": lambda: bool(a <= b),
              ">": lambda: bool(a > b), ">=": lambda: bool(a >= b)}[relation]()
        if ok:
            _fail(f"the claim holds at the given point ({a} vs {b}): not a counterexample",
                  shown)
        point = ", ".join(f"{k}={v}" for k, v in at.items())
        return Check(shown, False, f"counterexample at {point}: lhs = {sp.sstr(a)}, "
                     f"rhs = {sp.sstr(b)}", why)
    if relation != "=":
        raise ValueError("to refute an inequality, give a counterexample point `at`")
    if instances is None and getattr(lhs, "shape", ()) != getattr(rhs, "shape", ()):
        raise ValueError("sides of different symbolic shapes: give `instances` with sizes")
    point = _counterexample(diff)
    if point is None:
        _fail("the claimed identity could not be shown false", shown)
    where = ", ".join(f"{k}={v}" for k, v in point.items())
    return Check(shown, False, f"SymPy: lhs − rhs is not identically zero; at {where} "
                 f"it equals {sp.sstr(_at(diff, point))}", why)


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


class Chain:
    r"""A derivation written as a chain ``e0 = e1 <= e2 = ...``, every link checked.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", positive=True)
    >>> c = Chain((x + 1)**2).equals(x**2 + 2*x + 1, why="expand").geq(2*x + 1, why="x² ≥ 0")
    >>> c.relation
    '>='

    Each method checks the new expression against the previous one and
    returns the chain, so a derivation reads top to bottom. ``relation``
    is the relation between the first and the last expression.
    """

    def __init__(self, start, *, tex: str | None = None):
        self._exprs = [start]
        self._lines = [tex or _tex(start)]
        self._checks: list[Check] = []
        self._rels: list[str] = []
        self.relation = "="

    @property
    def last(self):
        """The last expression of the chain."""
        return self._exprs[-1]

    def _add(self, rel: str, expr, check: Check, tex: str | None) -> Chain:
        self._exprs.append(expr)
        self._lines.append(tex or _tex(expr))
        self._checks.append(check)
        self._rels.append(rel)
        order = {"=": 0, "<=": 1, "<": 2, ">=": -1, ">": -2}
        if rel != "=":
            if self.relation != "=" and (order[self.relation] > 0) != (order[rel] > 0):
                raise DerivationError("a chain cannot mix <= and >= links")
            strict = "<" in (rel, self.relation) or ">" in (rel, self.relation)
            self.relation = (rel[0] if strict else rel[0] + "=")
        return self

    def equals(self, expr, *, why: str = "", tex: str | None = None, **kw) -> Chain:
        """Add ``= expr`` (checked with :func:`identity`)."""
        return self._add("=", expr, identity(self.last, expr, why=why, **kw), tex)

    def _ineq(self, rel, expr, why, tex, kw) -> Chain:
        return self._add(rel, expr, inequality(self.last, rel, expr, why=why, **kw), tex)

    def leq(self, expr, *, why: str = "", tex: str | None = None, **kw) -> Chain:
        """Add ``<= expr`` (checked with :func:`inequality`)."""
        return self._ineq("<=", expr, why, tex, kw)

    def lt(self, expr, *, why: str = "", tex: str | None = None, **kw) -> Chain:
        """Add ``< expr``."""
        return self._ineq("<", expr, why, tex, kw)

    def geq(self, expr, *, why: str = "", tex: str | None = None, **kw) -> Chain:
        """Add ``>= expr``."""
        return self._ineq(">=", expr, why, tex, kw)

    def gt(self, expr, *, why: str = "", tex: str | None = None, **kw) -> Chain:
        """Add ``> expr``."""
        return self._ineq(">", expr, why, tex, kw)

    def _repr_markdown_(self) -> str:
        rows = [f"& {self._lines[0]}"]
        notes = []
        links = zip(self._lines[1:], self._checks, self._rels, strict=True)
        for k, (line, check, rel) in enumerate(links, 1):
            rel = _RELATIONS[rel]
            rows.append(rf"{rel}\; & {line} && \text{{({k})}}")
            why = f" {html.escape(check.why)}" if check.why else ""
            notes.append(f"({k}) <span class=\"optbook-method\">{_plain(check.method)}"
                         f".</span>{why}")
        body = " \\\\\n".join(rows)
        badge = '<span class="optbook-verdict optbook-ok">✔ every step checked</span>'
        return (f"$$\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n$$\n\n{badge}\n\n"
                + "\n".join(f"- {n}" for n in notes) + "\n")

    def __repr__(self) -> str:
        return f"Chain({len(self._checks)} checked steps, relation {self.relation!r})"
