r"""Verdicts: what a check shows the reader, and what kind of evidence it is.

Every statement the book checks is displayed from the SymPy objects that were
checked (never from free text), with a badge that says what kind of evidence
stands behind it, and the hypotheses it used:

========== ===================================================================
kind       meaning
========== ===================================================================
proved     SymPy proved it for every value the listed assumptions allow
instances  SymPy proved it at the listed sizes or values only (a property test
           may cover the other sizes: it is named)
numerical  a computation in floating point: what was run, the seeds, an interval
assumption stated, not proved: a hypothesis of the theorem at hand
refuted    false: the counterexample is shown
loose      true, but weaker than the tight statement, which is shown and checked
========== ===================================================================

Hypotheses are of two sorts: :func:`by` links to an earlier result of the book
(its ``prf:`` label), :func:`assuming` names an assumption of the theorem being
proved. A sign declared on a SymPy symbol (``positive=True``, ...) is an
assumption too, and is always listed; a hypothesis that justifies the sign
(``by("thm-rayleigh", "Rayleigh quotient", s >= 0)``) is shown in its place.

Symbols are displayed with the book's notation: :func:`sym` creates a symbol
and records its LaTeX (``sym("G_k", r"\lVert g_k\rVert^2", nonnegative=True)``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["Kind", "Hypothesis", "by", "assuming", "sym", "notation", "latex", "Check",
           "KIND_TEXT"]


class Kind(StrEnum):
    """The kind of evidence behind a verdict."""

    PROVED = "proved"
    INSTANCES = "instances"
    NUMERICAL = "numerical"
    ASSUMPTION = "assumption"
    REFUTED = "refuted"
    LOOSE = "loose"


#: badge symbol, badge text, and the one-line meaning (the legend and the badge's tooltip)
KIND_TEXT = {
    Kind.PROVED: ("✔", "proved",
                  "SymPy proved it for every value allowed by the assumptions listed"),
    Kind.INSTANCES: ("✔", "proved at the listed instances",
                     "SymPy proved it at the listed sizes or values only"),
    Kind.NUMERICAL: ("≈", "numerical evidence",
                     "a floating-point computation: the runs, seeds and interval are listed"),
    Kind.ASSUMPTION: ("◇", "assumption", "stated, not proved: a hypothesis"),
    Kind.REFUTED: ("✘", "refuted", "false: the counterexample is shown"),
    Kind.LOOSE: ("◐", "loose",
                 "true, but weaker than the tight statement, which is shown and checked"),
}

#: how much a chain's weakest link weighs: a chain is as strong as its weakest link
STRENGTH = {Kind.PROVED: 0, Kind.INSTANCES: 1, Kind.NUMERICAL: 2, Kind.ASSUMPTION: 3}


# --------------------------------------------------------------------------
# Notation
# --------------------------------------------------------------------------

_NOTATION: dict[sp.Basic, str] = {}


def sym(name: str, tex: str | None = None, **assumptions) -> sp.Symbol:
    r"""A SymPy symbol displayed as ``tex`` in every check (the book's notation).

    >>> G = sym("G_k", r"\lVert g_k\rVert^2", nonnegative=True)
    >>> latex(G + 1)
    '\\lVert g_k\\rVert^2 + 1'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a symbol needs a non-empty name, got {name!r}")
    symbol = sp.Symbol(name, **assumptions)
    if tex is not None:
        notation({symbol: tex})
    return symbol


def notation(mapping: Mapping) -> None:
    """Record how symbols (or matrix symbols, or undefined functions) are displayed."""
    for key, tex in mapping.items():
        if not isinstance(key, sp.Symbol | sp.MatrixSymbol | sp.core.function.UndefinedFunction):
            raise ValueError(f"notation maps symbols to LaTeX, got the key {key!r}")
        if not isinstance(tex, str) or not tex:
            raise ValueError(f"the LaTeX of {key} must be a non-empty string, got {tex!r}")
        _NOTATION[key] = tex


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with the book's notation: ``w^\\top``, ``\\lambda_{\\max}``."""

    def _print_Symbol(self, expr, style="plain"):
        if expr in _NOTATION:
            return _NOTATION[expr]
        return super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr):
        if expr in _NOTATION:
            return _NOTATION[expr]
        return super()._print_MatrixSymbol(expr)

    def _print_Function(self, expr, exp=None):
        func = type(expr)
        if func in _NOTATION:
            args = ", ".join(self._print(a) for a in expr.args)
            tex = rf"{_NOTATION[func]}\left({args}\right)"
            return tex if exp is None else rf"{tex}^{{{exp}}}"
        return super()._print_Function(expr, exp)

    def _print_Transpose(self, expr):
        base = self._print(expr.arg)
        if not isinstance(expr.arg, sp.MatrixSymbol | sp.Symbol):
            base = rf"\left({base}\right)"
        return rf"{base}^{{\top}}"


def latex(expr) -> str:
    """The LaTeX of a SymPy object in the book's notation."""
    return _Printer().doprint(expr)


_RELATIONS = {"<": "<", "<=": r"\le", ">": ">", ">=": r"\ge", "=": "=", "!=": r"\ne"}


def relation_tex(lhs, relation: str, rhs) -> str:
    """``lhs rel rhs`` in LaTeX."""
    return f"{latex(lhs)} {_RELATIONS[relation]} {latex(rhs)}"


# --------------------------------------------------------------------------
# Hypotheses
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Hypothesis:
    """What a check used: an earlier result (``ref``, a ``prf:`` label) or an assumption.

    ``relations`` are the statements it provides, shown after the name: SymPy
    relations (``a <= b``), or symbols, meaning the sign declared on the symbol
    (``s`` declared ``nonnegative=True`` stands for ``s >= 0``, a relation SymPy would
    evaluate to ``True``): the hypothesis then justifies that sign.
    """

    text: str
    ref: str | None = None
    relations: tuple = ()

    def covers(self, symbol: sp.Symbol) -> bool:
        return symbol in self.relations

    def markdown(self) -> str:
        if self.ref is not None:  # the book's `uses` role: a prf: result, a check, an exercise
            plain = self.text.replace("`", "'").replace("<", "‹").replace(">", "›")
            name = f"{{uses}}`{plain} <{self.ref}>`"
        else:
            name = html.escape(self.text)
        if self.relations:
            shown = ", ".join(f"${_sign_tex(r) if isinstance(r, sp.Symbol) else latex(r)}$"
                              for r in self.relations)
            return f"{name} ({shown})"
        return name


def _relations(relations) -> tuple:
    out = []
    for r in relations:
        if isinstance(r, bool | sp.logic.boolalg.BooleanAtom):
            raise ValueError("a hypothesis' relation evaluated to True or False (SymPy decided "
                             "it from the symbols' signs): to justify a symbol's declared sign, "
                             "pass the symbol itself")
        if isinstance(r, sp.Symbol):
            if _sign_tex(r) is None:
                raise ValueError(f"the symbol {r} has no declared sign to justify")
        elif not isinstance(r, sp.Rel):
            raise ValueError(f"a hypothesis provides SymPy relations (a <= b) or symbols "
                             f"(their declared signs), got {r!r}")
        out.append(r)
    return tuple(out)


def by(label: str, text: str, *relations) -> Hypothesis:
    """A hypothesis that is an earlier checked result of the book, by its ``prf:`` label.

    >>> s = sp.Symbol("s", nonnegative=True)
    >>> by("thm-rayleigh", "Rayleigh quotient", s >= 0).ref
    'thm-rayleigh'
    """
    if not isinstance(label, str) or not label or " " in label:
        raise ValueError(f"by() needs the result's label (e.g. 'lem-descent'), got {label!r}")
    if not isinstance(text, str) or not text:
        raise ValueError("by() needs the result's name, e.g. 'descent lemma'")
    return Hypothesis(text, label, _relations(relations))


def assuming(text: str, *relations) -> Hypothesis:
    """A named assumption of the theorem being proved (e.g. "L is bounded below by L*")."""
    if not isinstance(text, str) or not text:
        raise ValueError("assuming() needs the assumption in words")
    return Hypothesis(text, None, _relations(relations))


def _hypotheses(given) -> tuple[Hypothesis, ...]:
    given = (given,) if isinstance(given, Hypothesis) else tuple(given or ())
    for h in given:
        if not isinstance(h, Hypothesis):
            raise ValueError(f"`given` lists hypotheses made with by(...) or assuming(...), "
                             f"got {h!r}")
    return given


def _sign_tex(symbol: sp.Symbol) -> str | None:
    """The declared sign or type of a symbol in LaTeX (``\\beta > 0``), or None."""
    name = latex(symbol)
    if symbol.is_integer:
        if symbol.is_positive:
            return rf"{name} \in \{{1, 2, \dots\}}"
        if symbol.is_nonnegative:
            return rf"{name} \in \{{0, 1, \dots\}}"
        return rf"{name} \in \mathbb{{Z}}"
    for test, rel in (("is_positive", ">"), ("is_negative", "<"),
                      ("is_nonnegative", r"\ge"), ("is_nonpositive", r"\le")):
        if getattr(symbol, test):
            return rf"{name} {rel} 0"
    if symbol.is_nonzero and symbol.is_real:
        return rf"{name} \ne 0"
    return None


def declared_signs(exprs: Iterable, given: Iterable[Hypothesis] = ()) -> list[str]:
    """The signs declared on the free symbols of ``exprs`` and not justified in ``given``."""
    symbols = set()
    for e in exprs:
        if isinstance(e, sp.Basic):
            symbols |= {s for s in e.free_symbols if isinstance(s, sp.Symbol)
                        and not isinstance(s, sp.Dummy)}
    out = []
    for s in sorted(symbols, key=lambda s: s.name):
        tex = _sign_tex(s)
        if tex is not None and not any(h.covers(s) for h in given):
            out.append(tex)
    return out


# --------------------------------------------------------------------------
# The record of a check
# --------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Machine text (e.g. a SymPy expression) shown verbatim inside Markdown."""
    text = html.escape(text).replace("\\", "\\\\")
    for char in "*_`$[]":
        text = text.replace(char, "\\" + char)
    return text


def badge(kind: Kind, *, outcome: str = "", counted: bool = True) -> str:
    """The HTML badge of a kind of verdict (``outcome`` refines numerical evidence).

    A counted badge (``data-kind``) is a verdict of its own, listed on the page of all
    checks; an uncounted one qualifies a statement shown inside another verdict.
    """
    mark, text, meaning = KIND_TEXT[Kind(kind)]
    shown = f"{text}: {outcome}" if outcome else text
    data = f' data-kind="{kind.value}"' if counted else ""
    return (f'<span class="optbook-verdict optbook-kind-{kind.value}"{data}'
            f' title="{html.escape(meaning, quote=True)}">{mark} {html.escape(shown)}</span>')


@dataclass(frozen=True)
class Check:
    """One displayed verdict: the statement (LaTeX rendered from the checked objects),
    its kind, how it was decided, and what it used.

    ``holds`` is True for a statement shown true (proved, at instances, loose, an
    assumption, or numerical evidence in its favour) and False for a refutation
    (or numerical evidence against it).
    """

    tex: str
    kind: Kind
    holds: bool
    method: str
    why: str = ""
    given: tuple[Hypothesis, ...] = ()
    signs: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # Markdown lines: a counterexample, the tight statement...
    outcome: str = ""  # numerical evidence: "supports", "against" or "inconclusive"
    label: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.kind, Kind):
            raise ValueError(f"a check needs a kind, one of {[k.value for k in Kind]}")

    @property
    def hypotheses_markdown(self) -> str:
        parts = [h.markdown() for h in self.given]
        if self.signs:
            parts.append("signs declared: " + ", ".join(f"${s}$" for s in self.signs))
        if not parts:
            return ""
        return ('<span class="optbook-uses">Uses:</span> ' + "; ".join(parts) + ".")

    def _repr_markdown_(self) -> str:
        lines = []
        if self.label:
            lines.append(f"({self.label})=")
        lines.append(f"$$\n{self.tex}\n$$\n")
        if self.where:
            lines.append("where " + ", ".join(f"${w}$" for w in self.where) + ".\n")
        lines.extend(f"{d}\n" for d in self.details)
        why = f" {html.escape(self.why)}" if self.why else ""
        lines.append(f"{badge(self.kind, outcome=self.outcome)} "
                     f'<span class="optbook-method">{_plain(self.method)}.</span>{why}\n')
        uses = self.hypotheses_markdown
        if uses:
            lines.append(uses + "\n")
        if self.extra.get("after"):  # e.g. the tight statement under a loose claim
            lines.append(self.extra["after"] + "\n")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"[{self.kind.value}{': ' + self.outcome if self.outcome else ''}] {self.tex}"
