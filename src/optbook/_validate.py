"""Argument checks shared by optbook's public functions.

Each helper raises a ``ValueError`` that names the argument, says what was
received and what is expected, so that a student sees the mistake at once.

Arrays keep their floating-point precision: float32 stays float32 and float64 stays
float64 (the default); anything else (integers, booleans, lists of numbers, other float
widths) becomes float64.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(x, name: str = "x") -> np.ndarray:
    """``x`` as an array of float32 or float64: those two are kept, the rest become float64."""
    arr = np.asarray(x)
    if arr.dtype in FLOATS:
        return arr
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex numbers ({arr.dtype})")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got "
                         f"{type(x).__name__} {x!r:.80}") from None


def as_vector(x, name: str, *, dim: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a 1-D float array (float32 kept), checking its length and values."""
    arr = as_float_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got an array of shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"{name} must have length {dim}, got length {arr.shape[0]}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return arr


def as_matrix(x, name: str, *, shape: tuple[int | None, int | None] = (None, None),
              finite: bool = True) -> np.ndarray:
    """Return ``x`` as a 2-D float array (float32 kept), checking its shape and values."""
    arr = as_float_array(x, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got an array of shape {arr.shape}")
    for axis, want in enumerate(shape):
        if want is not None and arr.shape[axis] != want:
            raise ValueError(
                f"{name} must have {want} {'rows' if axis == 0 else 'columns'}, "
                f"got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return arr


def as_symmetric(x, name: str) -> np.ndarray:
    """Return ``x`` as a square symmetric matrix (relative tolerance 1e-10)."""
    arr = as_matrix(x, name)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    scale = max(1.0, float(np.max(np.abs(arr), initial=0.0)))
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name} must be symmetric (a Hessian is), but {name} != {name}.T")
    return arr


def as_scalar(x, name: str, *, positive: bool = False, nonnegative: bool = False,
              below: float | None = None, strict_below: bool = True) -> float:
    """Return ``x`` as a finite float, checking its sign and an optional upper bound."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real | np.floating | np.integer):
        raise ValueError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    value = float(x)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    if below is not None and (value >= below if strict_below else value > below):
        sign = "<" if strict_below else "<="
        raise ValueError(f"{name} must be {sign} {below}, got {value}")
    return value


def as_count(x, name: str, *, minimum: int = 1) -> int:
    """Return ``x`` as an int >= ``minimum``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {type(x).__name__} {x!r}")
    if x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    return int(x)


def check_problem(problem, name: str = "problem") -> None:
    """Check that ``problem`` has the duck-typed interface ``loss``, ``grad``, ``hvp``, ``dim``."""
    missing = [m for m in ("loss", "grad", "hvp") if not callable(getattr(problem, m, None))]
    if missing or not isinstance(getattr(problem, "dim", None), numbers.Integral):
        what = ", ".join(missing + ([] if isinstance(getattr(problem, "dim", None),
                                                     numbers.Integral) else ["dim"]))
        raise ValueError(
            f"{name} must provide loss(w), grad(w), hvp(w, v) and an integer dim; "
            f"{type(problem).__name__} lacks {what}")
