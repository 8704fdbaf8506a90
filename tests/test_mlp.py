"""optbook.networks.MLP: exact gradients and Hessian-vector products of a real network.

Checked against central finite differences and against torch.autograd (double
backward), on random networks of several depths, activations and both losses; float32
runs at float32; every public entry rejects bad input with a clear ValueError.
"""

from __future__ import annotations

import numpy as np
import pytest

from optbook.networks import MLP

CASES = [((), "relu", "cross_entropy"), ((7,), "tanh", "cross_entropy"),
         ((6, 5), "gelu", "mse"), ((5, 4, 3), "relu", "mse"), ((8,), "gelu", "cross_entropy")]


def _net(hidden, activation, loss, *, n=13, p=4, K=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)  # every class present
    net = MLP(X, y, hidden, activation, loss=loss, dtype=dtype)
    return net, net.initial_weights(rng) + 0.1 * rng.standard_normal(net.dim), rng


@pytest.mark.parametrize("hidden, activation, loss", CASES)
def test_gradient_and_hvp_match_central_differences(hidden, activation, loss):
    net, w, rng = _net(hidden, activation, loss)
    h = 1e-6
    for _ in range(3):
        v = rng.standard_normal(net.dim)
        fd = (net.loss(w + h * v) - net.loss(w - h * v)) / (2 * h)
        assert net.grad(w) @ v == pytest.approx(fd, rel=1e-6, abs=1e-9)
        fd_hv = (net.grad(w + h * v) - net.grad(w - h * v)) / (2 * h)
        np.testing.assert_allclose(net.hvp(w, v), fd_hv, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("hidden, activation, loss", CASES)
def test_loss_gradient_and_hvp_match_torch_autograd(hidden, activation, loss):
    torch = pytest.importorskip("torch")
    net, w, rng = _net(hidden, activation, loss)
    v = rng.standard_normal(net.dim)
    act = {"relu": torch.relu, "tanh": torch.tanh,
           "gelu": lambda z: torch.nn.functional.gelu(z, approximate="tanh")}[activation]
    X, y = torch.tensor(net.X), torch.tensor(net.y)

    def loss_fn(wt):
        k, a = 0, X
        for i, (o, f) in enumerate(net._shapes):
            W = wt[k:k + o * f].reshape(o, f)
            b = wt[k + o * f:k + o * f + o]
            k += o * f + o
            a = a @ W.T + b
            if i < len(net._shapes) - 1:
                a = act(a)
        if loss == "mse":
            return 0.5 * ((a - torch.nn.functional.one_hot(y, net.K)) ** 2).sum() / net.n
        return torch.nn.functional.cross_entropy(a, y)

    wt = torch.tensor(w, requires_grad=True)
    value = loss_fn(wt)
    (g,) = torch.autograd.grad(value, wt, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.tensor(v), wt)
    assert net.loss(w) == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(net.grad(w), g.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.hvp(w, v), hv.numpy(), rtol=1e-9, atol=1e-11)


def test_hessian_is_symmetric_and_agrees_with_hvp():
    net, w, rng = _net((4,), "tanh", "cross_entropy", n=6, p=3)
    H = net.hessian(w)
    v = rng.standard_normal(net.dim)
    np.testing.assert_allclose(H @ v, net.hvp(w, v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_logistic_regression_is_convex():
    net, w, rng = _net((), "relu", "cross_entropy")
    assert np.linalg.eigvalsh(net.hessian(w)).min() > -1e-12


def test_float32_computes_in_float32_and_agrees_with_float64():
    net64, w, rng = _net((6,), "gelu", "cross_entropy")
    net32 = MLP(net64.X, net64.y, (6,), "gelu", dtype=np.float32)
    v = rng.standard_normal(net64.dim)
    for f in (net32.grad(w), net32.hvp(w, v)):
        assert f.dtype == np.float32
    np.testing.assert_allclose(net32.grad(w), net64.grad(w), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net32.hvp(w, v), net64.hvp(w, v), rtol=1e-3, atol=1e-5)
    assert net32.initial_weights(np.random.default_rng(0)).dtype == np.float32


def test_subset_predict_accuracy_and_layout():
    net, w, _ = _net((5,), "relu", "cross_entropy")
    batch = net.subset(np.arange(4))
    assert batch.n == 4 and batch.K == net.K and batch.dim == net.dim
    assert net.predict(w).shape == (net.n,)
    assert net.accuracy(w) == np.mean(net.predict(w) == net.y)
    assert net.accuracy(w, net.X[:4], net.y[:4]) == batch.accuracy(w)
    np.testing.assert_array_equal(net.pack(net.unpack(w)), w)
    assert net.dim == (4 * 5 + 5) + (5 * 3 + 3)


def test_the_gradient_vanishes_at_a_separable_logistic_optimum_direction():
    # Training lowers the loss: 200 GD steps on a separable toy reach 100% accuracy.
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(-2, 0.5, (20, 2)), rng.normal(2, 0.5, (20, 2))])
    y = np.repeat([0, 1], 20)
    net = MLP(X, y, ())
    w = net.initial_weights(rng)
    start = net.loss(w)
    for _ in range(200):
        w = w - 0.5 * net.grad(w)
    assert net.loss(w) < start / 10 and net.accuracy(w) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"X": np.ones(5)}, "2-D"),
    ({"X": np.full((5, 2), np.nan)}, "finite"),
    ({"y": np.array([0, 1, 0, 1, 0.5])}, "integer labels"),
    ({"y": np.array([0, 1, 0, 1, -1])}, ">= 0"),
    ({"y": np.zeros(5, int)}, "K >= 2"),
    ({"hidden": 5}, "hidden widths"),
    ({"hidden": (0,)}, "hidden width"),
    ({"activation": "sigmoid"}, "activation"),
    ({"loss": "hinge"}, "loss"),
    ({"dtype": np.int32}, "dtype"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    args = {"X": np.ones((5, 2)), "y": np.array([0, 1, 0, 1, 1]), "hidden": (3,)}
    args.update(kwargs)
    X, y, hidden = args.pop("X"), args.pop("y"), args.pop("hidden")
    with pytest.raises(ValueError, match=message):
        MLP(X, y, hidden, **args)


def test_bad_points_are_rejected():
    net, w, _ = _net((3,), "relu", "mse")
    with pytest.raises(ValueError, match="length"):
        net.loss(w[:-1])
    with pytest.raises(ValueError, match="v must"):
        net.hvp(w, w[:-1])
    with pytest.raises(ValueError, match="shape"):
        net.predict(w, np.ones((2, 9)))
    with pytest.raises(ValueError, match="both"):
        net.accuracy(w, X=net.X)
    with pytest.raises(ValueError, match="Generator"):
        net.initial_weights(0)


def _linear_net(loss, n, seed=0):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 3)), rng.integers(0, 4, n)
    net = MLP(X, y, hidden=(), loss=loss, classes=4)
    return net, net.initial_weights(rng) + 0.3 * rng.standard_normal(net.dim)


def test_sampled_labels_follow_the_softmax_and_their_square_is_the_fisher_diagonal():
    """One sample, softmax cross-entropy: the label drawn is k with probability p_k, so
    E[g ⊙ g] = Σ_k p_k g_k ⊙ g_k, which for a linear model is diag ∇²L (Hessian = Fisher)."""
    net, w = _linear_net("cross_entropy", n=1)
    p = np.exp(net.logits(w)[0] - net.logits(w)[0].max())
    p /= p.sum()
    g_k = [MLP(net.X, np.array([k]), hidden=(), classes=4).grad(w) for k in range(4)]
    fisher = sum(pk * g * g for pk, g in zip(p, g_k, strict=True))
    np.testing.assert_allclose(fisher, np.diag(net.hessian(w)), rtol=1e-10, atol=1e-14)
    rng, counts = np.random.default_rng(1), np.zeros(4)
    for _ in range(4000):
        g = net.sampled_grad(w, rng)
        (k,) = [k for k in range(4) if np.allclose(g, g_k[k])]  # exactly one label's gradient
        counts[k] += 1
    assert np.all(np.abs(counts / 4000 - p) < 4 * np.sqrt(p * (1 - p) / 4000) + 1e-3)


def test_squared_loss_samples_gaussian_targets():
    """Squared loss, n samples: E[g ⊙ g] = diag(JᵀJ)/n² = diag(∇²L)/n for a linear model."""
    net, w = _linear_net("mse", n=3)
    rng = np.random.default_rng(2)
    mean = np.mean([net.sampled_grad(w, rng) ** 2 for _ in range(20000)], axis=0)
    np.testing.assert_allclose(mean, np.diag(net.hessian(w)) / net.n, rtol=0.05)


def test_ire_uses_the_networks_sampled_fisher():
    from optbook.sharpness import IRE

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    net = MLP(X, y, hidden=(6,), dtype=np.float32)
    w = net.initial_weights(rng)
    h = IRE.fisher_sample(net, w, np.random.default_rng(4))
    assert h.dtype == np.float32 and h.shape == (net.dim,) and np.all(h >= 0) and h.max() > 0
    np.testing.assert_array_equal(h, net.sampled_grad(w, np.random.default_rng(4)) ** 2)
    with pytest.raises(ValueError, match="numpy.random.Generator"):
        net.sampled_grad(w, 4)
