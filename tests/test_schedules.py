"""Tests of optbook.schedules: values at known steps, and the argument checks."""

import math

import numpy as np
import pytest

from optbook.schedules import constant, cosine, exponential, step, warmup


def test_constant():
    s = constant(0.1)
    assert [s(t) for t in (0, 1, 1000)] == [0.1, 0.1, 0.1]


def test_step():
    s = step(1.0, 0.5, every=10)
    assert [s(t) for t in (0, 9, 10, 19, 20, 35)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_exponential():
    s = exponential(1.0, 0.5, decay_steps=10)
    assert s(0) == 1.0
    assert s(10) == pytest.approx(0.5, rel=1e-15)
    assert s(20) == pytest.approx(0.25, rel=1e-15)
    assert s(5) == pytest.approx(math.sqrt(0.5), rel=1e-15)


def test_cosine():
    s = cosine(1.0, total_steps=100, lr_min=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.55)
    assert s(100) == pytest.approx(0.1)
    assert s(25) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 4)))
    assert s(101) == s(1000) == 0.1
    values = [s(t) for t in range(101)]
    assert np.all(np.diff(values) < 0)


def test_cosine_default_lr_min_is_zero():
    s = cosine(0.2, total_steps=10)
    assert s(10) == pytest.approx(0.0, abs=1e-17)
    assert s(5) == pytest.approx(0.1)


def test_warmup_linear_then_wrapped():
    base = cosine(1.0, 100)
    s = warmup(base, warmup_steps=10)
    assert s(0) == pytest.approx(0.1 * base(0))
    assert s(4) == pytest.approx(0.5 * base(4))
    assert s(9) == pytest.approx(base(9), rel=1e-15)
    assert s(10) == base(10) and s(50) == base(50)
    assert all(s(t) > 0 for t in range(10))


def test_warmup_of_a_number():
    s = warmup(0.5, 5)
    assert [s(t) for t in range(7)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5])


def test_numpy_integer_step():
    assert step(1.0, 0.5, 2)(np.int64(4)) == 0.25


@pytest.mark.parametrize("make, name", [
    (lambda: constant(0.0), "lr"),
    (lambda: constant("a"), "lr"),
    (lambda: step(-1.0, 0.5, 10), "lr0"),
    (lambda: step(1.0, 0.0, 10), "drop"),
    (lambda: step(1.0, 1.5, 10), "drop"),
    (lambda: step(1.0, 0.5, 0), "every"),
    (lambda: step(1.0, 0.5, 2.5), "every"),
    (lambda: exponential(1.0, 0.0, 10), "decay"),
    (lambda: exponential(1.0, 2.0, 10), "decay"),
    (lambda: exponential(1.0, 0.5, 0), "decay_steps"),
    (lambda: cosine(0.0, 10), "lr_max"),
    (lambda: cosine(1.0, 0), "total_steps"),
    (lambda: cosine(1.0, 10, lr_min=-0.1), "lr_min"),
    (lambda: cosine(1.0, 10, lr_min=2.0), "lr_min"),
    (lambda: warmup(constant(1.0), 0), "warmup_steps"),
    (lambda: warmup(-1.0, 5), "schedule"),
])
def test_bad_arguments(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("s", [constant(1.0), step(1.0, 0.5, 2), exponential(1.0, 0.5, 2),
                               cosine(1.0, 10), warmup(constant(1.0), 3)])
@pytest.mark.parametrize("t", [-1, 1.5, "0", True])
def test_bad_step_number(s, t):
    with pytest.raises(ValueError, match="t must"):
        s(t)
