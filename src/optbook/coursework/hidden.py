"""Hidden tests: the inputs on which the grader compares a submission with the key.

In a key notebook, right after an exercise's check cell, a code cell tagged
``remove-cell`` (so the website does not show it) declares the hidden tests::

    ### BEGIN HIDDEN TESTS
    from optbook.coursework import hidden_tests

    hidden_tests(
        "ex-hessian-fd",
        hessian_fd,
        {
            "Rosenbrock, d = 3": (ob.Rosenbrock(dim=3).grad, np.array([0.2, -0.1, 0.9]), 1e-5),
            "a quadratic": (ob.Quadratic(np.diag([1.0, 3.0])).grad, np.ones(2), 1e-5),
        },
        rtol=1e-5,
        atol=1e-4,
    )
    ### END HIDDEN TESTS

The cases map a description (shown in the feedback) to the arguments of the student's
function; they are built from seeded, self-contained code (no variable of the chapter),
because the grader runs the same cell in every kernel. The exercise's points are not
here: they are declared once, on its check cell (:mod:`.points`); each case is worth an
equal share of them.

In the chapter itself, :func:`hidden_tests` only checks, silently, that the key's function
returns finite values on every case. In the grader's kernels (environment variable
``OPTBOOK_HIDDEN_TESTS=report``) it calls the function on every case and prints the
results as data (JSON, arrays as base64 ``.npy`` without pickle) between sentinel lines.
The grader compares these values, in its own process, with those of the key: nothing a
submission redefines (``check``, ``np.allclose``, ...) takes part in the comparison.

In an nbgrader test cell (:mod:`.nbgrader`), :func:`expect` first records the key's values
and the exercise's points; :func:`hidden_tests` then compares, in the kernel (nbgrader's
model), prints a line per case, and :func:`score` gives the points earned, which nbgrader
reads as partial credit.
"""

from __future__ import annotations

import base64
import io
import json
import os
import warnings
from collections.abc import Callable, Mapping

import numpy as np

from ..exercises import diagnose

__all__ = ["hidden_tests", "decode", "parse_report", "expect", "score", "ENV", "REPORT"]

#: environment variable that switches :func:`hidden_tests` to reporting (grader kernels)
ENV = "OPTBOOK_HIDDEN_TESTS"
REPORT = "report"
BEGIN = "<<<optbook hidden tests>>>"
END = "<<<end of optbook hidden tests>>>"
#: largest answer transferred, in array elements
MAX_ELEMENTS = 1_000_000


def _encode(fn: Callable, args: tuple) -> dict:
    """Call ``fn(*args)`` and describe the outcome as JSON-able data."""
    try:
        with np.errstate(all="ignore"):
            value = fn(*args)
    except NotImplementedError:
        return {"kind": "not attempted"}
    except Exception as err:  # the student's error is a result, not a crash
        return {"kind": "error", "message": f"{type(err).__name__}: {err}"[:300]}
    if value is None:
        return {"kind": "none"}
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return {"kind": "other", "type": type(value).__name__}
    if array.size > MAX_ELEMENTS:
        return {"kind": "too large", "shape": list(array.shape)}
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return {"kind": "array", "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def decode(value: dict) -> np.ndarray:
    """The array of an ``{"kind": "array"}`` result (never unpickles anything)."""
    return np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)


#: label -> (points, {description: expected value}), set by :func:`expect` (nbgrader)
_EXPECTED: dict[str, tuple[float, dict]] = {}
#: label -> points earned on the hidden cases, set by :func:`hidden_tests` after expect
_SCORES: dict[str, float] = {}


def expect(label: str, points: float, values: Mapping[str, object]) -> None:
    """Record the key's values on the hidden cases of ``label`` (an nbgrader test cell)."""
    if not isinstance(points, int | float) or isinstance(points, bool) or not points > 0:
        raise ValueError(f"{label}: points must be a positive number, got {points!r}")
    _EXPECTED[label] = (float(points), dict(values))
    _SCORES.pop(label, None)


def score(label: str) -> float:
    """The points earned on the hidden cases of ``label`` (after :func:`hidden_tests`)."""
    if label not in _SCORES:
        raise ValueError(f"{label}: no hidden tests were run after expect({label!r}, ...)")
    return _SCORES[label]


def _compare_with_key(label: str, fn: Callable, cases: Mapping[str, tuple], rtol: float,
                      atol: float) -> None:
    points, expected = _EXPECTED[label]
    if set(expected) != set(cases):
        raise ValueError(f"{label}: the recorded values are for other cases than these")
    passed = 0
    for description, args in cases.items():
        with warnings.catch_warnings():  # nbgrader gives 0 to a test cell that writes stderr
            warnings.simplefilter("ignore")
            got = _encode(fn, args)
        if got["kind"] == "array":
            hint = diagnose(decode(got), np.asarray(expected[description], dtype=float),
                            rtol=rtol, atol=atol)
        else:
            hint = got.get("message") or got["kind"]
        passed += hint is None
        print(f"✔ {description}" if hint is None else f"✘ {description}: {hint}")
    _SCORES[label] = round(points * passed / len(cases), 2)


def hidden_tests(label: str, fn: Callable, cases: Mapping[str, tuple], *,
                 points: None = None, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Declare the hidden tests of the coding exercise ``label``, whose answer is ``fn``.

    Args:
        label: the exercise's label, as in ``check(label, fn)``.
        fn: the function the exercise asks for (the key's, or the submission's when graded).
        cases: description -> tuple of arguments of ``fn``.
        points: not here: declare them on the exercise's check cell (:mod:`.points`).
        rtol, atol: tolerances of the comparison with the key's values.
    """
    if not isinstance(label, str) or not label:
        raise ValueError("the label must be the exercise's label, e.g. 'ex-hessian-fd'")
    if not cases or not all(isinstance(a, tuple) for a in dict(cases).values()):
        raise ValueError(f"{label}: give the cases as {{description: (arguments, ...)}}")
    if points is not None:
        raise ValueError(f"{label}: the points are declared once, in the metadata of the "
                         'check cell ({"optbook": {"points": N}}), not in hidden_tests')
    if os.environ.get(ENV) == REPORT:
        report = {"label": label, "function": getattr(fn, "__name__", ""),
                  "rtol": rtol, "atol": atol,
                  "cases": [{"description": str(d), "value": _encode(fn, args)}
                            for d, args in cases.items()]}
        print(f"{BEGIN}\n{json.dumps(report)}\n{END}")
        return
    if label in _EXPECTED:
        _compare_with_key(label, fn, cases, rtol, atol)
        return
    for description, args in cases.items():  # in the chapter: the key must pass its own tests
        value = np.asarray(fn(*args), dtype=float)
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{label}, hidden case {description!r}: the key returns {value}")


def parse_report(text: str) -> dict | None:
    """The last hidden-test report printed in ``text`` (None if there is none)."""
    start = text.rfind(BEGIN)
    if start < 0:
        return None
    end = text.find(END, start)
    if end < 0:
        return None
    try:
        return json.loads(text[start + len(BEGIN):end])
    except json.JSONDecodeError:
        return None
