r"""Real data, offline: MNIST-1D (Greydanus & Kobak 2024).

MNIST-1D is a small classification data set made for the science of deep learning:
10 classes, signals of length 40, 4000 training and 1000 test samples, generated from
ten hand-drawn 1-D templates by random padding, translation, shear, scaling and
correlated plus i.i.d. noise. It is made, not downloaded: :func:`mnist1d` runs the
``mnist1d`` package's own generator (``mnist1d.data.make_dataset`` with its default
arguments, seed 42) once, and caches the arrays.

Cache: ``$OPTBOOK_CACHE`` if set, else ``$XDG_CACHE_HOME/optbook`` (``~/.cache/optbook``).
In *Run live*, the site ships the cached file (generated at build time), so the browser
never needs the generator's dependencies.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

__all__ = ["mnist1d", "cache_dir", "MNIST1D_FILE"]

MNIST1D_FILE = "mnist1d-default-v1.npz"


def cache_dir() -> Path:
    """Where optbook keeps generated data (created if needed)."""
    root = os.environ.get("OPTBOOK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "optbook")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _generate() -> dict[str, np.ndarray]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:  # e.g. in the browser without the shipped file
        raise RuntimeError("MNIST-1D is not cached and the `mnist1d` package (which generates "
                           "it) is not installed: pip install mnist1d") from err
    # make_dataset seeds NumPy's and Python's global generators: keep the caller's state.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return {"X_train": np.asarray(data["x"], dtype=np.float64),
            "y_train": np.asarray(data["y"], dtype=np.int64),
            "X_test": np.asarray(data["x_test"], dtype=np.float64),
            "y_test": np.asarray(data["y_test"], dtype=np.int64)}


def mnist1d(*, regenerate: bool = False):
    r"""MNIST-1D as ``(X_train, y_train, X_test, y_test)``.

    ``X_train`` is ``(4000, 40)`` and ``X_test`` ``(1000, 40)`` (float64, one signal per
    row, standardised over the whole data set by the generator); the labels are int64 in
    ``{0, ..., 9}``. Exactly ``mnist1d.data.make_dataset`` with the package's default
    arguments, generated on the first call (about a second) and cached; deterministic.
    ``regenerate=True`` ignores the cache.
    """
    path = cache_dir() / MNIST1D_FILE
    if regenerate or not path.exists():
        arrays = _generate()
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    with np.load(path) as f:
        return f["X_train"], f["y_train"], f["X_test"], f["y_test"]
