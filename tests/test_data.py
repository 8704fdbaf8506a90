"""optbook.data.mnist1d: the real data set, generated offline, cached and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from optbook import data

pytestmark = pytest.mark.slow  # generating the data set takes seconds


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_CACHE", str(tmp_path))
    return tmp_path


def test_mnist1d_has_the_documented_shapes_and_labels(cache):
    pytest.importorskip("mnist1d")
    X, y, Xt, yt = data.mnist1d()
    assert X.shape == (4000, 40) and Xt.shape == (1000, 40)
    assert y.shape == (4000,) and yt.shape == (1000,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10)) and set(np.unique(yt)) <= set(range(10))
    assert (cache / data.MNIST1D_FILE).exists()


def test_mnist1d_is_exactly_the_packages_generator_and_leaves_global_rngs_alone(cache):
    mnist1d = pytest.importorskip("mnist1d.data")
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what is tested)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    X, y, Xt, yt = data.mnist1d(regenerate=True)
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    ref = mnist1d.make_dataset(mnist1d.get_dataset_args())
    np.testing.assert_array_equal(X, ref["x"])
    np.testing.assert_array_equal(yt, ref["y_test"])
    again = data.mnist1d()  # from the cache: identical
    np.testing.assert_array_equal(again[0], X)
