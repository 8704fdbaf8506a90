"""Automatic feedback for the book's coding exercises.

In a chapter, a student calls ``check("ex-label", their_function)``. The
checker runs the exercise's public tests on the answer and prints what passed
and, for what failed, a hint (wrong shape, NaN, off by a factor of 2, wrong
sign, ...), never the solution. A stub that still raises ``NotImplementedError``
is reported as "not attempted yet".

Each chapter's tests live in a module of this package (``ch01`` ...), which
registers them with :func:`exercise`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Case", "Result", "check", "diagnose", "exercise", "EXERCISES"]


@dataclass(frozen=True)
class Case:
    """One public test: a description, the arguments, and the expected value."""

    description: str
    args: tuple
    expected: object
    rtol: float = 1e-6
    atol: float = 1e-8


@dataclass
class Result:
    """The outcome of :func:`check`: one line per case; truthy when all passed."""

    label: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    attempted: bool = True

    def __bool__(self) -> bool:
        return self.attempted and not self.failed

    @property
    def score(self) -> float:
        """Fraction of cases passed (0 when not attempted)."""
        total = len(self.passed) + len(self.failed)
        return len(self.passed) / total if self.attempted and total else 0.0

    def report(self) -> str:
        if not self.attempted:
            return f"{self.label}: not attempted yet (the function still raises " \
                   f"NotImplementedError). Replace the stub with your code and run again."
        lines = [f"{self.label}: {len(self.passed)} of "
                 f"{len(self.passed) + len(self.failed)} checks passed"]
        lines += [f"  ✔ {p}" for p in self.passed]
        lines += [f"  ✘ {f}" for f in self.failed]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.report()


#: label -> list of cases (filled by the chapter modules)
EXERCISES: dict[str, list[Case]] = {}


def exercise(label: str, cases: list[Case]) -> None:
    """Register the public tests of the exercise ``label``."""
    if label in EXERCISES:
        raise ValueError(f"exercise {label!r} is registered twice")
    EXERCISES[label] = cases


def diagnose(answer, expected, *, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None if ``answer`` matches ``expected``, else a hint about what is wrong."""
    if answer is None:
        return "your function returned None: did you forget the `return` statement?"
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or an array, got {type(answer).__name__}"
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        if a.shape == e.T.shape and a.ndim == 2:
            return f"shape {a.shape}, expected {e.shape}: a transpose?"
        return f"shape {a.shape}, expected {e.shape}"
    if not np.all(np.isfinite(a)):
        return "your answer contains NaN or inf"
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return None
    hints = ((2.0, "twice the expected value: check a factor of 2 (e.g. a ½, or 2r)"),
             (0.5, "half the expected value: check a factor of 2 (e.g. a ½, or 2r)"),
             (-1.0, "minus the expected value: check a sign"))
    for factor, hint in hints:
        if np.allclose(a, factor * e, rtol=rtol, atol=atol) and np.any(e != 0):
            return "your answer is " + hint
    if a.ndim == 2 and np.allclose(a, e.T, rtol=rtol, atol=atol):
        return "your answer is the transpose of the expected one"
    err = float(np.max(np.abs(a - e)))
    return f"values differ from the expected ones (largest difference {err:.3g})"


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def check(label: str, fn: Callable) -> Result:
    """Run the public tests of exercise ``label`` on ``fn``, print and return the result."""
    _load_all()
    if label not in EXERCISES:
        raise ValueError(f"no exercise labelled {label!r}; known: {sorted(EXERCISES)}")
    if not callable(fn):
        raise ValueError(f"pass your function itself, not {type(fn).__name__}")
    result = Result(label)
    for case in EXERCISES[label]:
        try:
            with np.errstate(all="ignore"):
                answer = fn(*case.args)
        except NotImplementedError:
            result.attempted = False
            break
        except Exception as err:  # a student's error is feedback, not a crash
            result.failed.append(f"{case.description}: raised {type(err).__name__}: {err}")
            continue
        hint = diagnose(answer, case.expected, rtol=case.rtol, atol=case.atol)
        if hint is None:
            result.passed.append(case.description)
        else:
            result.failed.append(f"{case.description}: {hint}")
    print(result.report())
    return result
