r"""A fully connected classifier as an optbook problem: the book's real network.

:class:`MLP` is a multilayer perceptron with :math:`L` layers on inputs
:math:`X\in\mathbb{R}^{n\times p}` (one sample per row) and labels
:math:`y_i\in\{0,\dots,K-1\}`,

.. math::
    a^{(0)} = x,\qquad z^{(l)} = W_l\,a^{(l-1)} + b_l,\qquad a^{(l)} = \sigma(z^{(l)})
    \quad (l < L),\qquad f(x) = z^{(L)}\in\mathbb{R}^K,

with the mean softmax cross-entropy (default) or half the mean squared error against
one-hot targets :math:`e_{y_i}` (Cohen et al. 2021 use the squared loss),

.. math::
    L(w) = \frac1n\sum_{i=1}^n \Big(\log\sum_k e^{f_k(x_i)} - f_{y_i}(x_i)\Big)
    \quad\text{or}\quad
    L(w) = \frac1{2n}\sum_{i=1}^n \big\lVert f(x_i) - e_{y_i}\big\rVert^2 .

Exact derivatives, vectorised over samples: the gradient by backpropagation and the
Hessian-vector product by Pearlmutter's R-operator (Pearlmutter 1994): one forward and
one backward pass of directional derivatives, about twice the cost of a gradient.
"""

from __future__ import annotations

import copy

import numpy as np

from ._validate import as_count
from .problems import _sample_index

__all__ = ["MLP", "MLP_ACTIVATIONS", "MLP_LOSSES"]

MLP_ACTIVATIONS = ("relu", "tanh", "gelu")
MLP_LOSSES = ("cross_entropy", "mse")

_C = float(np.sqrt(2.0 / np.pi))  # GELU's tanh approximation: u = c (z + a z^3)
_A = 0.044715


# Each activation: sigma(z), sigma'(z), sigma''(z).
def _relu(z):
    return np.maximum(z, 0)


def _relu_d1(z):
    return (z > 0).astype(z.dtype)


def _relu_d2(z):
    return np.zeros_like(z)


def _tanh_d1(z):
    return 1 - np.tanh(z) ** 2


def _tanh_d2(z):
    t = np.tanh(z)
    return -2 * t * (1 - t**2)


def _gelu(z):
    return 0.5 * z * (1 + np.tanh(_C * (z + _A * z**3)))


def _gelu_d1(z):
    t = np.tanh(_C * (z + _A * z**3))
    du = _C * (1 + 3 * _A * z**2)
    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * du


def _gelu_d2(z):
    t = np.tanh(_C * (z + _A * z**3))
    du, d2u = _C * (1 + 3 * _A * z**2), _C * 6 * _A * z
    sech2 = 1 - t**2
    return sech2 * du - z * t * sech2 * du**2 + 0.5 * z * sech2 * d2u


_SIGMA = {"relu": (_relu, _relu_d1, _relu_d2), "tanh": (np.tanh, _tanh_d1, _tanh_d2),
          "gelu": (_gelu, _gelu_d1, _gelu_d2)}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class MLP:
    r"""A fully connected network with a softmax cross-entropy or squared loss.

    Args:
        X: inputs, shape ``(n, p)``, one sample per row.
        y: integer labels, shape ``(n,)``, in ``{0, ..., K-1}``.
        hidden: widths of the hidden layers; ``()`` is multinomial logistic regression.
        activation: ``"relu"`` (default), ``"tanh"`` or ``"gelu"`` (the tanh
            approximation of Hendrycks & Gimpel 2016, PyTorch's ``approximate="tanh"``).
        loss: ``"cross_entropy"`` (default) or ``"mse"`` (half the mean squared error
            against one-hot targets).
        classes: :math:`K`; by default ``max(y) + 1``.
        dtype: ``np.float64`` (default) or ``np.float32``: the data, the weights and every
            computation use it.

    **Parameter layout.** :math:`w` is the concatenation, layer by layer, of
    :math:`W_l` (shape ``(fan_out, fan_in)``, row-major, PyTorch's ``nn.Linear.weight``)
    and :math:`b_l`. :meth:`unpack` returns the list of ``(W, b)``.

    **ReLU** is not differentiable at 0: this class uses :math:`\sigma'(0) = 0` and
    :math:`\sigma'' = 0` (as PyTorch does), so ``hvp`` is the Hessian of :math:`L` wherever
    no pre-activation is exactly zero, which is almost everywhere.

    Attributes:
        dim: the number of parameters :math:`d`; n, p, K; sizes: ``(p, *hidden, K)``.
    """

    def __init__(self, X, y, hidden=(100,), activation: str = "relu", *,
                 loss: str = "cross_entropy", classes: int | None = None, dtype=np.float64):
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        X = np.asarray(X)
        if X.ndim != 2 or 0 in X.shape:
            raise ValueError(f"X must be a non-empty 2-D array (n samples, p features), one "
                             f"sample per row, got shape {X.shape}")
        if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
            raise ValueError("X must contain only finite numbers")
        self.X = X.astype(self.dtype)
        self.n, self.p = X.shape
        y = np.asarray(y)
        if y.shape != (self.n,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be {self.n} integer labels (shape ({self.n},)), got "
                             f"shape {y.shape} and dtype {y.dtype}")
        if y.min() < 0:
            raise ValueError(f"labels must be >= 0, got {y.min()}")
        self.K = int(y.max()) + 1 if classes is None else as_count(classes, "classes")
        if self.K < 2 or y.max() >= self.K:
            raise ValueError(f"need K >= 2 classes and labels below K, got K = {self.K} and "
                             f"labels up to {y.max()}")
        self.y = y.astype(np.int64)
        if isinstance(hidden, int | np.integer):
            raise ValueError(f"hidden lists the hidden widths, e.g. ({hidden},), got {hidden}")
        self.hidden = tuple(as_count(h, "a hidden width") for h in hidden)
        if activation not in _SIGMA:
            raise ValueError(f"activation must be one of {MLP_ACTIVATIONS}, got {activation!r}")
        if loss not in MLP_LOSSES:
            raise ValueError(f"loss must be one of {MLP_LOSSES}, got {loss!r}")
        self.activation, self.loss_name = activation, loss
        self._sigma, self._d1, self._d2 = _SIGMA[activation]
        self.sizes = (self.p, *self.hidden, self.K)
        self._shapes = [(o, i) for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.dim = sum(o * i + o for o, i in self._shapes)
        self._Y = np.eye(self.K, dtype=self.dtype)[self.y]  # one-hot targets

    # ---- parameters --------------------------------------------------------

    def _w(self, w, name: str = "w") -> np.ndarray:
        w = np.asarray(w)
        if w.shape != (self.dim,):
            raise ValueError(f"{name} must be a vector of length {self.dim}, got shape {w.shape}")
        return w.astype(self.dtype, copy=False)

    def unpack(self, w) -> list[tuple[np.ndarray, np.ndarray]]:
        """The layers' ``(W_l, b_l)``, views into ``w``."""
        w, out, k = self._w(w), [], 0
        for o, i in self._shapes:
            out.append((w[k:k + o * i].reshape(o, i), w[k + o * i:k + o * i + o]))
            k += o * i + o
        return out

    def pack(self, layers) -> np.ndarray:
        """The inverse of :meth:`unpack`."""
        if len(layers) != len(self._shapes):
            raise ValueError(f"need {len(self._shapes)} layers, got {len(layers)}")
        parts = []
        for (W, b), (o, i) in zip(layers, self._shapes, strict=True):
            if np.shape(W) != (o, i) or np.shape(b) != (o,):
                raise ValueError(f"layer shapes must be W {(o, i)} and b {(o,)}, got "
                                 f"{np.shape(W)} and {np.shape(b)}")
            parts += [np.ravel(W), np.ravel(b)]
        return np.concatenate(parts).astype(self.dtype)

    def initial_weights(self, rng) -> np.ndarray:
        r"""Random initial weights: He normal :math:`\mathcal N(0, 2/\text{fan\_in})` for the
        hidden layers of a ReLU or GELU network (He et al. 2015), Glorot normal
        :math:`\mathcal N(0, 2/(\text{fan\_in} + \text{fan\_out}))` for tanh and for the
        output layer (Glorot & Bengio 2010); biases 0."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        layers = []
        for k, (o, i) in enumerate(self._shapes):
            he = self.activation in ("relu", "gelu") and k < len(self._shapes) - 1
            std = np.sqrt(2.0 / i) if he else np.sqrt(2.0 / (i + o))
            layers.append((std * rng.standard_normal((o, i)), np.zeros(o)))
        return self.pack(layers)

    init = initial_weights  # the name every optbook problem uses

    def subset(self, idx) -> MLP:
        """The same network on the samples ``idx`` (a mini-batch); its loss is the mean
        over the batch, an unbiased estimate of :math:`L` under uniform sampling."""
        idx = _sample_index(idx, self.n)
        batch = copy.copy(self)  # the data were checked once, by the full network
        batch.X, batch.y = np.take(self.X, idx, axis=0), np.take(self.y, idx)
        batch._Y = np.take(self._Y, idx, axis=0)
        batch.n = idx.size
        return batch

    # ---- forward and backward ----------------------------------------------

    def _forward(self, layers, X):
        Z, A = [], [X]
        for k, (W, b) in enumerate(layers):
            z = A[-1] @ W.T + b
            Z.append(z)
            if k < len(layers) - 1:
                A.append(self._sigma(z))
        return Z, A

    def logits(self, w, X=None) -> np.ndarray:
        """The outputs :math:`f(x_i)`, shape ``(n, K)``."""
        X = self.X if X is None else self._inputs(X)
        return self._forward(self.unpack(w), X)[0][-1]

    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.p:
            raise ValueError(f"X must have shape (m, {self.p}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def _loss_of(self, z) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            if self.loss_name == "mse":
                return float(0.5 * np.sum((z - self._Y) ** 2) / self.n)
            m = z.max(axis=1, keepdims=True)
            lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
            return float(np.mean(lse - z[np.arange(self.n), self.y]))

    def _output_delta(self, z):
        """dL/dz at the output, shape (n, K)."""
        if self.loss_name == "mse":
            return (z - self._Y) / self.n
        return (_softmax(z) - self._Y) / self.n

    def loss(self, w) -> float:
        """The mean loss :math:`L(w)`."""
        return self._loss_of(self.logits(w))

    def grad(self, w) -> np.ndarray:
        r"""The gradient by backpropagation: :math:`\delta^{(L)} = \partial L/\partial z^{(L)}`,
        :math:`\nabla_{W_l} L = \delta^{(l)\top} a^{(l-1)}`,
        :math:`\delta^{(l-1)} = (\delta^{(l)} W_l)\odot\sigma'(z^{(l-1)})`."""
        return self.loss_and_grad(w)[1]

    def loss_and_grad(self, w) -> tuple[float, np.ndarray]:
        """:math:`L(w)` and :math:`\nabla L(w)` from one forward pass (what
        :func:`optbook.optimizers.run` calls when a problem has it)."""
        layers = self.unpack(w)
        with np.errstate(over="ignore", invalid="ignore"):
            Z, A = self._forward(layers, self.X)
            value = self._loss_of(Z[-1])
            grad = self._backward(layers, Z, A, self._output_delta(Z[-1]))
        return value, grad

    def _backward(self, layers, Z, A, delta) -> np.ndarray:
        """Backpropagate ``delta`` = dL/dz at the output; return the gradient, packed."""
        grads = [None] * len(layers)
        for k in range(len(layers) - 1, -1, -1):
            W, _ = layers[k]
            grads[k] = (delta.T @ A[k], delta.sum(axis=0))
            if k > 0:
                delta = (delta @ W) * self._d1(Z[k - 1])
        return self.pack(grads)

    def sampled_grad(self, w, rng) -> np.ndarray:
        r"""The gradient of the loss at targets drawn from the model's own predictive
        distribution: labels :math:`\tilde y_i\sim\operatorname{softmax}(f(x_i))` for the
        cross-entropy, :math:`\tilde t_i = f(x_i) + \xi_i`, :math:`\xi_i\sim\mathcal N(0, I_K)`
        for the squared loss. Its square :math:`\hat h = g\odot g` is a one-sample estimate
        of the Fisher diagonal, :math:`\mathbb E\,\hat h = \operatorname{diag}(G)/n` with
        :math:`G = \frac1n\sum_i J_i^\top \nabla^2_f\ell_i\,J_i` the Gauss–Newton matrix
        (the estimate IRE's code uses, Wang et al. 2024)."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng must be a numpy.random.Generator (np.random.default_rng(seed))")
        layers = self.unpack(w)
        with np.errstate(over="ignore", invalid="ignore"):
            Z, A = self._forward(layers, self.X)
            z = Z[-1]
            if self.loss_name == "mse":
                delta = -rng.standard_normal(z.shape).astype(self.dtype) / self.n
            else:
                s = _softmax(z).astype(np.float64)
                u = rng.random((self.n, 1))
                labels = np.minimum((np.cumsum(s, axis=1) < u).sum(axis=1), self.K - 1)
                delta = (s - np.eye(self.K)[labels]).astype(self.dtype) / self.n
            return self._backward(layers, Z, A, delta)

    def hvp(self, w, v) -> np.ndarray:
        r"""The Hessian-vector product :math:`\nabla^2 L(w)\,v`, exactly, by the R-operator
        :math:`\mathcal R\{\cdot\} = \frac{d}{dt}(\cdot)(w + tv)\big|_{t=0}` applied to the
        forward and backward passes (Pearlmutter 1994)."""
        layers, dirs = self.unpack(w), self.unpack(self._w(v, "v"))
        with np.errstate(over="ignore", invalid="ignore"):
            Z, A = self._forward(layers, self.X)
            RZ, RA = [], [None]  # R{x} = 0: the inputs do not depend on w
            for k, ((W, _), (V, c)) in enumerate(zip(layers, dirs, strict=True)):
                rz = A[k] @ V.T + c if k == 0 else RA[-1] @ W.T + A[k] @ V.T + c
                RZ.append(rz)
                if k < len(layers) - 1:
                    RA.append(self._d1(Z[k]) * rz)
            z = Z[-1]
            delta = self._output_delta(z)
            if self.loss_name == "mse":
                rdelta = RZ[-1] / self.n
            else:
                s = _softmax(z)
                rdelta = s * (RZ[-1] - np.sum(s * RZ[-1], axis=1, keepdims=True)) / self.n
            out = [None] * len(layers)
            for k in range(len(layers) - 1, -1, -1):
                W, _ = layers[k]
                V, _ = dirs[k]
                dW = rdelta.T @ A[k] if k == 0 else rdelta.T @ A[k] + delta.T @ RA[k]
                out[k] = (dW, rdelta.sum(axis=0))
                if k > 0:
                    back = delta @ W
                    rdelta = ((rdelta @ W + delta @ V) * self._d1(Z[k - 1])
                              + back * self._d2(Z[k - 1]) * RZ[k - 1])
                    delta = back * self._d1(Z[k - 1])
        return self.pack(out)

    def hessian(self, w) -> np.ndarray:
        """The full Hessian (``dim`` HVPs; for small networks only, ``dim <= 5000``)."""
        if self.dim > 5000:
            raise ValueError(f"the full Hessian of {self.dim} parameters is too large; use hvp")
        eye = np.eye(self.dim, dtype=self.dtype)
        H = np.stack([self.hvp(w, e) for e in eye], axis=1)
        return (H + H.T) / 2

    # ---- predictions -------------------------------------------------------

    def predict(self, w, X=None) -> np.ndarray:
        """The predicted classes :math:`\\arg\\max_k f_k(x)` of the rows of ``X``."""
        return np.argmax(self.logits(w, X), axis=1)

    def accuracy(self, w, X=None, y=None) -> float:
        """The fraction of correct predictions, on the network's own data by default."""
        if (X is None) != (y is None):
            raise ValueError("give both X and y, or neither (the network's own data)")
        y = self.y if y is None else np.asarray(y)
        pred = self.predict(w, X)
        if y.shape != pred.shape:
            raise ValueError(f"y must have shape {pred.shape}, got {y.shape}")
        return float(np.mean(pred == y))

    def __repr__(self) -> str:
        return (f"MLP(sizes={self.sizes}, activation={self.activation!r}, "
                f"loss={self.loss_name!r}, n={self.n}, dim={self.dim}, dtype={self.dtype.name})")
