"""Tests of optbook.networks: the two-layer network and its toy data.

The outputs are checked against the formula written as a loop over units; the
gradient, Jacobian and Hessian-vector product against central finite differences
(with tolerances from the O(r²) truncation error) and against each other
(``grad = DFᵀ(F - y)``, ``hvp = hessian @ v``, ``H = DFᵀDF`` at zero residual);
for the linear activation, where the loss is a quartic polynomial, exactly to
round-off. Mini-batches are checked by enumerating every batch.
"""

import itertools
import warnings

import numpy as np
import pytest

from optbook.networks import ACTIVATIONS, SCALES, TwoLayerNet, toy_regression
from optbook.optimizers import GD, run
from optbook.problems import Problem

EPS = np.finfo(float).eps

SIGMA = {  # the activations written independently of the module
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "linear": lambda z: z,
}
SMOOTH = ["tanh", "softplus", "linear"]


def make_net(activation="tanh", *, n=7, d_in=2, width=5, scale="ntk", seed=0):
    """A small network on toy data, a random point and a random unit direction."""
    rng = np.random.default_rng(seed)
    Phi, y = toy_regression(n, d_in, noise=0.1, rng=rng)
    net = TwoLayerNet(Phi, y, width, activation, scale=scale)
    w = net.init(rng)
    v = rng.standard_normal(net.dim)
    return net, w, v / np.linalg.norm(v), rng


def central_grad(net, w, v, r):
    """The central difference of grad along v: (g(w + r v) - g(w - r v)) / 2r."""
    return (net.grad(w + r * v) - net.grad(w - r * v)) / (2 * r)


# --------------------------------------------------------------------------
# toy_regression
# --------------------------------------------------------------------------


def test_toy_regression_is_sin_on_the_interval():
    Phi, y = toy_regression(30, rng=np.random.default_rng(1))
    assert Phi.shape == (1, 30) and y.shape == (30,)
    assert np.all(np.abs(Phi) <= 1) and np.all(np.diff(Phi[0]) >= 0)
    np.testing.assert_allclose(y, np.sin(np.pi * Phi[0]), rtol=0, atol=1e-15)


def test_toy_regression_is_seeded_and_noisy():
    a = toy_regression(200, 3, noise=0.5, rng=np.random.default_rng(2))
    b = toy_regression(200, 3, noise=0.5, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    Phi, y = a
    assert Phi.shape == (3, 200)
    clean = np.sin(np.pi * Phi.sum(axis=0) / np.sqrt(3))
    assert 0.4 < np.std(y - clean) < 0.6


# --------------------------------------------------------------------------
# The function and the parameter layout
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_outputs_match_the_formula(activation, scale):
    net, w, _, _ = make_net(activation, scale=scale, width=4)
    U, a = net.unpack(w)
    c = {"ntk": 1 / np.sqrt(4), "mean_field": 1 / 4, "standard": 1.0}[scale]
    assert net.output_scale == pytest.approx(c)
    F = np.zeros(net.n)
    for k in range(net.width):  # the definition, one unit at a time
        for i in range(net.n):
            F[i] += c * a[k] * SIGMA[activation](U[k] @ net.Phi[:, i])
    np.testing.assert_allclose(net.outputs(w), F, rtol=1e-13, atol=1e-14)
    r = F - net.y
    assert net.loss(w) == pytest.approx(0.5 * r @ r, rel=1e-13)


def test_layout_of_unpack_pack_and_init():
    net, w, _, _ = make_net(width=5, d_in=2)
    assert net.dim == 5 * 2 + 5 and w.shape == (15,)
    U, a = net.unpack(w)
    assert U.shape == (5, 2) and a.shape == (5,)
    for k, j in itertools.product(range(5), range(2)):
        assert w[k * 2 + j] == U[k, j]  # row k of U (unit k) is contiguous
    np.testing.assert_array_equal(a, w[10:])
    np.testing.assert_array_equal(net.pack(U, a), w)
    U[0, 0] = 99.0  # unpack returns copies
    assert w[0] != 99.0


@pytest.mark.parametrize("scale", SCALES)
def test_init_is_standard_gaussian_and_seeded(scale):
    Phi, y = toy_regression(5, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, 4000, scale=scale)
    w = net.init(np.random.default_rng(3))
    np.testing.assert_array_equal(w, net.init(np.random.default_rng(3)))
    U, a = net.unpack(w)
    assert abs(U.mean()) < 0.1 and abs(U.std() - 1) < 0.05
    a_std = 1 / np.sqrt(4000) if scale == "standard" else 1.0
    assert abs(a.mean()) < 0.1 * a_std and abs(a.std() / a_std - 1) < 0.05


# --------------------------------------------------------------------------
# First derivatives
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_grad_matches_finite_differences(activation, scale):
    net, w, _, rng = make_net(activation, scale=scale)
    g = net.grad(w)
    assert g.shape == (net.dim,)
    r = 1e-5
    for _ in range(3):  # directional derivatives along random unit directions
        v = rng.standard_normal(net.dim)
        v /= np.linalg.norm(v)
        fd = (net.loss(w + r * v) - net.loss(w - r * v)) / (2 * r)
        # truncation ~ r² L''' / 6 and round-off ~ eps L / r are both < 1e-9 here
        assert abs(fd - g @ v) <= 1e-7 * max(1.0, abs(g @ v), net.loss(w))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_jacobian_matches_finite_differences(activation):
    net, w, _, _ = make_net(activation, width=4, d_in=2)
    J = net.jacobian(w)
    assert J.shape == (net.n, net.dim)
    r = 1e-6
    fd = np.empty_like(J)
    for j in range(net.dim):
        e = np.zeros(net.dim)
        e[j] = r
        fd[:, j] = (net.outputs(w + e) - net.outputs(w - e)) / (2 * r)
    md = net.width * net.d_in
    scale = np.abs(J).max()
    np.testing.assert_allclose(J[:, :md], fd[:, :md], rtol=0, atol=1e-7 * scale)  # U block
    np.testing.assert_allclose(J[:, md:], fd[:, md:], rtol=0, atol=1e-7 * scale)  # a block


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_grad_is_jacobian_transpose_times_residual(activation):
    net, w, _, _ = make_net(activation, width=30, n=20)
    g = net.jacobian(w).T @ (net.outputs(w) - net.y)
    np.testing.assert_allclose(net.grad(w), g, rtol=1e-12, atol=1e-13 * np.abs(g).max())


# --------------------------------------------------------------------------
# Second derivatives
# --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hvp_matches_finite_differences_of_grad(activation):
    net, w, v, _ = make_net(activation)
    Hv = net.hvp(w, v)
    scale = max(1.0, np.abs(Hv).max())
    errors = [np.abs(central_grad(net, w, v, r) - Hv).max() for r in (1e-3, 1e-4)]
    # O(r²) truncation (~1e-8 at r = 1e-4 here) plus O(eps / r) round-off (~1e-12)
    assert errors[1] <= 1e-7 * scale
    if activation in SMOOTH:  # the error is truncation: it shrinks like r²
        assert errors[0] <= 1e-5 * scale and errors[1] < errors[0] / 30
    # (ReLU is smooth only between kinks: a kink within 1e-3 of w would spoil r = 1e-3.)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hvp_equals_hessian_times_v_and_hessian_is_symmetric(activation, scale):
    net, w, _, rng = make_net(activation, scale=scale, width=6, d_in=3)
    H = net.hessian(w)
    assert H.shape == (net.dim, net.dim)
    np.testing.assert_array_equal(H, H.T)
    V = rng.standard_normal((net.dim, 4))
    HV = np.column_stack([net.hvp(w, V[:, j]) for j in range(4)])
    np.testing.assert_allclose(HV, H @ V, rtol=1e-12, atol=1e-12 * np.abs(H).max())
    E = np.column_stack([net.hvp(w, e) for e in np.eye(net.dim)])  # stacking hvps
    np.testing.assert_allclose(E, H, rtol=1e-12, atol=1e-13 * np.abs(H).max())


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hessian_is_gauss_newton_at_zero_residual(activation):
    net, w, _, _ = make_net(activation)
    fit = TwoLayerNet(net.Phi, net.outputs(w), net.width, activation)  # y = F(w)
    J = fit.jacobian(w)
    np.testing.assert_allclose(fit.hessian(w), J.T @ J, rtol=1e-12, atol=1e-14)
    # ... and not at a nonzero residual: the second-order term is there.
    assert np.abs(net.hessian(w) - J.T @ J).max() > 1e-3


def test_relu_derivative_at_zero_is_zero():
    """The documented convention σ'(0) = 0: a sample φ = (1, -1) and units u_k = (t_k, t_k)
    have every pre-activation u_kᵀφ = 0, so that sample's row of DF vanishes (with
    σ'(0) = 1 its U part would be c_m a_k φ), and so do its grad and hvp."""
    Phi = np.array([[1.0, 0.5, -0.7], [-1.0, 0.3, 0.2]])
    net = TwoLayerNet(Phi, [1.0, 0.0, 0.0], 4, "relu")
    t = np.array([0.3, -1.2, 0.8, 2.0])
    w = net.pack(np.column_stack([t, t]), [1.0, -2.0, 0.5, 1.5])
    np.testing.assert_array_equal(net.jacobian(w)[0], 0.0)
    assert np.abs(net.jacobian(w)[1:]).max() > 0.1
    at_zero = net.subset([0])
    np.testing.assert_array_equal(at_zero.grad(w), 0.0)
    np.testing.assert_array_equal(at_zero.hvp(w, np.ones(net.dim)), 0.0)
    assert at_zero.loss(w) == 0.5 * 3  # F = 0, y = 1, weight n/B = 3


def test_linear_activation_loss_is_quartic_and_hvp_exact():
    """F is bilinear in (U, a), so t -> L(w + t v) has degree 4 and grad is cubic along
    a line: finite differences of high enough order are exact up to round-off."""
    net, w, v, _ = make_net("linear", width=8, d_in=3)
    h = 0.5
    t = h * np.arange(-3, 4)
    L = np.array([net.loss(w + s * v) for s in t])
    tol = 1e-12 * np.abs(L).max()
    d5 = np.diff(L, 5)  # fifth differences of a quartic vanish ...
    d4 = np.diff(L, 4)  # ... fourth ones are 24 h^4 times the t^4 coefficient
    assert np.abs(d5).max() <= 100 * tol
    V, b = net.unpack(v)
    quartic = 0.5 * np.sum((net.output_scale * (b @ V @ net.Phi)) ** 2)
    np.testing.assert_allclose(d4, 24 * h**4 * quartic, rtol=1e-8)
    # Exact second derivative of a quartic: the 5-point stencil (error ∝ L^(6) = 0).
    d2 = (-L[1] + 16 * L[2] - 30 * L[3] + 16 * L[4] - L[5]) / (12 * h**2)
    assert v @ net.hvp(w, v) == pytest.approx(d2, rel=1e-10, abs=1e3 * tol)
    # Exact derivative of the cubic grad: the 4th-order central stencil (error ∝ g^(5) = 0).
    G = [net.grad(w + s * v) for s in (-2 * h, -h, h, 2 * h)]
    dg = (G[0] - 8 * G[1] + 8 * G[2] - G[3]) / (12 * h)
    Hv = net.hvp(w, v)
    np.testing.assert_allclose(Hv, dg, rtol=0, atol=1e-11 * np.abs(G).max())


# --------------------------------------------------------------------------
# Tangent kernel
# --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_tangent_kernel_is_jacobian_gram_and_psd(activation):
    net, w, _, _ = make_net(activation, n=12, width=40)
    J = net.jacobian(w)
    K = net.tangent_kernel(w)
    assert K.shape == (net.n, net.n)
    np.testing.assert_allclose(K, J @ J.T, rtol=1e-12, atol=1e-13 * np.abs(K).max())
    np.testing.assert_allclose(K, K.T, rtol=0, atol=1e-14 * np.abs(K).max())
    assert np.linalg.eigvalsh(K)[0] >= -1e-12 * np.abs(K).max()


def test_tangent_kernel_lambda_min_grows_with_width():
    """In the NTK scaling K is the average of m i.i.d. PSD one-unit kernels and λ_min is
    concave, so E λ_min(K) is nondecreasing in m (towards λ_min of the infinite-width
    kernel). The units of one width-1000 initialisation, cut into blocks of 10 or 100,
    are independent draws at those widths: averaging λ_min over blocks and seeds
    compares the widths with common random numbers, free of seed noise."""
    Phi, y = toy_regression(6, 2, rng=np.random.default_rng(0))
    Phi = np.vstack([Phi, np.ones(6)])  # a bias for every unit
    big = TwoLayerNet(Phi, y, 1000, "relu")
    lam = {10: [], 100: [], 1000: []}
    for seed in range(5):
        U, a = big.unpack(big.init(np.random.default_rng(seed)))
        for width in lam:
            net = TwoLayerNet(Phi, y, width, "relu")
            blocks = [net.pack(U[b:b + width], a[b:b + width]) for b in range(0, 1000, width)]
            kernels = [net.tangent_kernel(w) for w in blocks]
            lam[width] += [np.linalg.eigvalsh(K)[0] for K in kernels]
            np.testing.assert_allclose(np.mean(kernels, axis=0), big.tangent_kernel(
                big.pack(U, a)), rtol=1e-12, atol=1e-14)  # K is an average over units
    means = [np.mean(lam[width]) for width in (10, 100, 1000)]
    assert 0 < means[0] and means[0] + 0.01 * means[2] < means[1] < 0.99 * means[2]


# --------------------------------------------------------------------------
# Mini-batches and the loss weight
# --------------------------------------------------------------------------


def test_subset_is_unbiased_over_all_batches():
    net, w, v, _ = make_net(n=6)
    batches = [net.subset(np.array(idx)) for idx in itertools.combinations(range(6), 2)]
    assert len(batches) == 15 and all(b.weight == 3.0 and b.n == 2 for b in batches)
    np.testing.assert_allclose(np.mean([b.loss(w) for b in batches]), net.loss(w), rtol=1e-13)
    np.testing.assert_allclose(np.mean([b.grad(w) for b in batches], axis=0), net.grad(w),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.mean([b.hvp(w, v) for b in batches], axis=0),
                               net.hvp(w, v), rtol=1e-12, atol=1e-14)


def test_subset_keeps_the_network_and_composes_weights():
    net, w, _, _ = make_net(n=6, scale="mean_field", activation="softplus")
    sub = net.subset([4, 1, 1])
    assert (sub.width, sub.activation, sub.scale, sub.dim) == (5, "softplus", "mean_field",
                                                               net.dim)
    np.testing.assert_array_equal(sub.outputs(w), net.outputs(w)[[4, 1, 1]])
    assert sub.subset([0]).weight == pytest.approx(6 / 3 * 3 / 1)
    full = net.subset(np.arange(6))
    assert full.weight == 1.0 and full.loss(w) == net.loss(w)


def test_weight_scales_loss_grad_and_hessian_not_the_jacobian():
    net, w, v, _ = make_net()
    heavy = TwoLayerNet(net.Phi, net.y, net.width, weight=2.5)
    assert heavy.loss(w) == pytest.approx(2.5 * net.loss(w), rel=1e-14)
    np.testing.assert_allclose(heavy.grad(w), 2.5 * net.grad(w), rtol=1e-14)
    np.testing.assert_allclose(heavy.hvp(w, v), 2.5 * net.hvp(w, v), rtol=1e-14)
    np.testing.assert_allclose(heavy.hessian(w), 2.5 * net.hessian(w), rtol=1e-14)
    np.testing.assert_array_equal(heavy.jacobian(w), net.jacobian(w))
    np.testing.assert_array_equal(heavy.tangent_kernel(w), net.tangent_kernel(w))


def test_is_a_problem_that_sgd_can_train():
    Phi, y = toy_regression(20, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, 200)
    assert isinstance(net, Problem)
    traj = run(GD(0.1), net, net.init(np.random.default_rng(1)), 300, batch_size=5,
               rng=np.random.default_rng(2))
    assert not traj.diverged and traj.loss[-1] < 0.2 * traj.loss[0]


def test_wide_network_shapes():
    Phi, y = toy_regression(100, 2, rng=np.random.default_rng(0))
    net = TwoLayerNet(Phi, y, 3000)
    w = net.init(np.random.default_rng(1))
    assert net.grad(w).shape == net.hvp(w, w).shape == (9000,)
    K = net.tangent_kernel(w)
    J = net.jacobian(w)
    np.testing.assert_allclose(K, J @ J.T, rtol=1e-10, atol=1e-12 * np.abs(K).max())


# --------------------------------------------------------------------------
# Bad arguments and diverged points
# --------------------------------------------------------------------------

PHI, Y = toy_regression(6, 2, rng=np.random.default_rng(0))
NET = TwoLayerNet(PHI, Y, 3)
W0 = NET.init(np.random.default_rng(0))


@pytest.mark.parametrize("call, name", [
    (lambda: TwoLayerNet(PHI, Y, 0), "width"),
    (lambda: TwoLayerNet(PHI, Y, 2.5), "width"),
    (lambda: TwoLayerNet(PHI, Y, True), "width"),
    (lambda: TwoLayerNet(PHI, Y, 3, "sigmoid"), "activation"),
    (lambda: TwoLayerNet(PHI, Y, 3, scale="xavier"), "scale"),
    (lambda: TwoLayerNet(PHI[0], Y, 3), "Phi"),
    (lambda: TwoLayerNet(PHI[None], Y, 3), "Phi"),
    (lambda: TwoLayerNet(np.full((2, 6), np.nan), Y, 3), "Phi"),
    (lambda: TwoLayerNet(np.zeros((2, 0)), [], 3), "Phi"),
    (lambda: TwoLayerNet(PHI, Y[:5], 3), "y"),
    (lambda: TwoLayerNet(PHI, Y, 3, weight=0.0), "weight"),
    (lambda: NET.loss(W0[:-1]), "w"),
    (lambda: NET.grad(np.ones((3, 3))), "w"),
    (lambda: NET.hvp(W0, W0[:-1]), "v"),
    (lambda: NET.hvp(W0[1:], W0), "w"),
    (lambda: NET.jacobian(W0[1:]), "w"),
    (lambda: NET.tangent_kernel(W0[1:]), "w"),
    (lambda: NET.hessian(W0[1:]), "w"),
    (lambda: NET.unpack(W0[1:]), "w"),
    (lambda: NET.pack(np.zeros((2, 3)), np.zeros(3)), "U"),
    (lambda: NET.pack(np.zeros((3, 2)), np.zeros(2)), "a"),
    (lambda: NET.init(42), "rng"),
    (lambda: NET.subset([6]), "idx"),
    (lambda: NET.subset([-1]), "idx"),
    (lambda: NET.subset([]), "idx"),
    (lambda: NET.subset([0.5]), "idx"),
    (lambda: NET.subset([[0, 1]]), "idx"),
    (lambda: toy_regression(0, rng=np.random.default_rng(0)), "n"),
    (lambda: toy_regression(5, 0, rng=np.random.default_rng(0)), "d_in"),
    (lambda: toy_regression(5, noise=-1.0, rng=np.random.default_rng(0)), "noise"),
    (lambda: toy_regression(5, rng=0), "rng"),
])
def test_bad_arguments_raise_naming_them(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("value", [1e300, np.inf, np.nan])
def test_diverged_point_gives_inf_or_nan_without_warnings(activation, value):
    net, w, v, _ = make_net(activation)
    w = w * value if value != 1e300 else np.full(net.dim, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = net.loss(w)
        g, Hv = net.grad(w), net.hvp(w, v)
        H, K = net.hessian(w), net.tangent_kernel(w)
    assert not np.isfinite(loss)
    assert g.shape == Hv.shape == (net.dim,) and H.shape == (net.dim,) * 2
    assert K.shape == (net.n, net.n)


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus", "linear"])
def test_float32_network_computes_in_float32(activation):
    """Built from float32 data, the network's init, gradient and HVP are float32 (nothing
    promoted to float64), close to the float64 network's, and a run stays float32."""
    from optbook.optimizers import Adam, run

    Phi, y = toy_regression(20, d_in=3, rng=np.random.default_rng(0))
    net64 = TwoLayerNet(Phi, y, width=5, activation=activation)
    net32 = TwoLayerNet(Phi.astype(np.float32), y.astype(np.float32), width=5,
                        activation=activation)
    w = net32.init(np.random.default_rng(1))
    v = np.random.default_rng(2).standard_normal(net32.dim).astype(np.float32)
    assert w.dtype == net32.grad(w).dtype == net32.hvp(w, v).dtype == np.float32
    np.testing.assert_allclose(net32.grad(w), net64.grad(w.astype(float)), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(net32.hvp(w, v), net64.hvp(w.astype(float), v.astype(float)),
                               rtol=1e-4, atol=1e-4)
    traj = run(Adam(1e-2), net32, w, 20)
    assert traj.w.dtype == np.float32 and not traj.diverged
