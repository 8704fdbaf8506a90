"""Tests of the momentum rates in optbook.bounds (Chapter 7): the closed forms against
the eigenvalues of the 2×2 iteration matrices, Polyak's parameters, Nesterov's rate,
and the iterates of Momentum/Nesterov on a quadratic."""

import numpy as np
import pytest
from helpers import examples, from_spectrum, random_orthogonal
from hypothesis import given
from hypothesis import strategies as st

from optbook import bounds
from optbook.optimizers import Momentum, Nesterov, run
from optbook.problems import Quadratic


def radius_by_eig(a, b):
    return np.abs(np.linalg.eigvals(np.array([[a, -b], [1.0, 0.0]]))).max()


@examples(200)
@given(eta=st.floats(1e-3, 5.0), gamma=st.floats(0.0, 0.99), lam=st.floats(-1.0, 4.0))
def test_heavy_ball_rate_is_the_spectral_radius(eta, gamma, lam):
    a = 1 + gamma - eta * lam
    by_eig = radius_by_eig(a, gamma)
    # eigvals loses accuracy near a double root (about sqrt(machine eps)); the closed form does not
    tol = 1e-6 if abs(a * a - 4 * gamma) < 1e-6 else 1e-10
    assert bounds.heavy_ball_rate(eta, gamma, lam) == pytest.approx(by_eig, rel=tol, abs=tol)


@examples(200)
@given(eta=st.floats(1e-3, 3.0), gamma=st.floats(0.0, 0.99), lam=st.floats(0.0, 2.0))
def test_nesterov_rate_is_the_spectral_radius(eta, gamma, lam):
    q = 1 - eta * lam
    a, b = (1 + gamma) * q, gamma * q
    tol = 1e-6 if abs(a * a - 4 * b) < 1e-6 else 1e-10
    by_eig = np.abs(np.linalg.eigvals(np.array([[a, -b], [1.0, 0.0]]))).max()
    assert bounds.nesterov_rate(eta, gamma, lam) == pytest.approx(by_eig, rel=tol, abs=tol)


def test_stability_interval_of_heavy_ball():
    gamma = 0.6
    x = np.linspace(-0.5, 4.0, 4501)  # x = eta * lambda with eta = 1
    rate = bounds.heavy_ball_rate(1.0, gamma, x)
    inside = (x > 1e-9) & (x < 2 * (1 + gamma) - 1e-9)
    outside = (x < -1e-9) | (x > 2 * (1 + gamma) + 1e-9)
    assert np.all(rate[inside] < 1) and np.all(rate[outside] > 1)
    assert rate.shape == x.shape


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1e4])
def test_polyak_parameters_give_the_sqrt_kappa_rate(kappa):
    eta, gamma, rate = bounds.heavy_ball_optimal(lam_min=1 / kappa, lam_max=1.0)
    assert rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    assert gamma == pytest.approx(rate**2)
    spectrum = np.linspace(1 / kappa, 1.0, 1001)
    worst = bounds.heavy_ball_rate(eta, gamma, spectrum)
    # double roots at both ends: there the radius is only accurate to ~sqrt(machine eps)
    assert worst.max() == pytest.approx(rate, rel=1e-7)
    assert np.all(worst <= rate * (1 + 1e-7))
    assert rate <= bounds.gd_rate(kappa=kappa)


def test_polyak_parameters_from_a_hessian():
    rng = np.random.default_rng(0)
    H = from_spectrum(random_orthogonal(4, rng), [0.5, 1.0, 3.0, 8.0])
    eta, gamma, rate = bounds.heavy_ball_optimal(H)
    assert eta == pytest.approx(4 / (np.sqrt(8) + np.sqrt(0.5)) ** 2)
    assert rate == pytest.approx((2 - 0.5) / (2 + 0.5))  # sqrt(kappa) = 4


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_nesterov_rate_at_its_standard_parameters(kappa):
    eta, gamma, rate = bounds.nesterov_parameters(lam_min=2 / kappa, lam_max=2.0)
    assert eta == 0.5 and gamma == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    assert rate == pytest.approx(1 - 1 / np.sqrt(kappa), rel=1e-12)
    spectrum = np.linspace(2 / kappa, 2.0, 2001)
    worst = bounds.nesterov_rate(eta, gamma, spectrum)
    assert worst.max() == pytest.approx(rate, rel=1e-7)  # a double root
    assert np.argmax(worst) == 0  # at lambda = mu


def test_nesterov_parameters_from_a_hessian_and_bad_input():
    H = np.diag([0.25, 1.0, 4.0])
    assert bounds.nesterov_parameters(H) == pytest.approx((0.25, 3 / 5, 0.75))
    with pytest.raises(ValueError, match="not both"):
        bounds.nesterov_parameters(H, lam_min=1.0)
    with pytest.raises(ValueError, match="must be <="):
        bounds.nesterov_parameters(lam_min=2.0, lam_max=1.0)
    with pytest.raises(ValueError, match="lam_min"):
        bounds.nesterov_parameters(lam_min=0.0, lam_max=1.0)


@pytest.mark.parametrize("method", ["heavy ball", "nesterov"])
@pytest.mark.parametrize("gamma", [0.1, 0.5])  # real roots; complex roots
def test_rates_predict_the_iterates_on_a_quadratic(method, gamma):
    """Along one eigen-direction the error obeys e_{t+1} = a e_t − b e_{t−1}. With real
    roots, e_{t+1}/e_t tends to the rate; with complex ones e_t oscillates, but
    D_t = e_t² − e_{t+1}e_{t−1} is multiplied by b = rate² at every step."""
    lam, eta = 0.3, 1.0
    problem = Quadratic(np.diag([lam]))
    opt = Momentum(eta, gamma) if method == "heavy ball" else Nesterov(eta, gamma)
    rate = (bounds.heavy_ball_rate if method == "heavy ball" else bounds.nesterov_rate)(
        eta, gamma, lam)
    e = run(opt, problem, np.array([1.0]), 60).w[:, 0]
    D = e[1:-1] ** 2 - e[2:] * e[:-2]
    if gamma == 0.5:  # complex roots of modulus sqrt(b)
        assert np.sqrt(np.abs(D[40] / D[39])) == pytest.approx(rate, rel=1e-9)
    else:
        assert e[41] / e[40] == pytest.approx(rate, rel=1e-6)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="gamma"):
        bounds.heavy_ball_rate(0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="eta"):
        bounds.nesterov_rate(-0.1, 0.5, 1.0)
    with pytest.raises(ValueError, match="finite"):
        bounds.heavy_ball_rate(0.1, 0.5, np.nan)
    with pytest.raises(ValueError, match="lam_min"):
        bounds.heavy_ball_optimal(lam_min=2.0, lam_max=1.0)
    with pytest.raises(ValueError, match="not both"):
        bounds.heavy_ball_optimal(np.eye(2), lam_min=1.0, lam_max=2.0)
    with pytest.raises(ValueError):
        bounds.heavy_ball_optimal(lam_min=0.0, lam_max=1.0)
