r"""A two-layer neural network as an optbook problem: the book's non-convex example.

:class:`TwoLayerNet` is the square loss of a width-:math:`m` network with one hidden
layer, in the neural-tangent-kernel (NTK) scaling,

.. math::
    F(w)_i = \frac{1}{\sqrt m}\sum_{k=1}^m a_k\,\sigma(u_k^\top\phi_i),\qquad
    L(w) = \tfrac12\|F(w) - y\|^2,

with features :math:`\Phi = [\phi_1,\dots,\phi_n]\in\mathbb{R}^{d_{\rm in}\times n}`
(one column per sample), targets :math:`y\in\mathbb{R}^n` and parameters
:math:`w = (u_1,\dots,u_m, a)\in\mathbb{R}^d`, :math:`d = m\,d_{\rm in} + m`. Everything
is exact and vectorised over samples and units: the gradient by backpropagation, the
Jacobian :math:`DF(w)\in\mathbb{R}^{n\times d}`, the tangent kernel
:math:`K = DF\,DF^\top`, the Hessian-vector product by Pearlmutter's R-operator
(Pearlmutter 1994) and the full Hessian for small :math:`d`.
:func:`toy_regression` makes a small smooth data set to fit.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import as_count, as_matrix, as_scalar, as_vector
from .problems import _point, _quiet, _sample_index

__all__ = ["TwoLayerNet", "MLP", "toy_regression", "ACTIVATIONS", "SCALES"]

ACTIVATIONS = ("tanh", "relu", "softplus", "linear")
SCALES = ("ntk", "mean_field", "standard")


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    return rng


def toy_regression(n: int, d_in: int = 1, *, noise: float = 0.0, rng):
    r"""A small smooth regression data set: :math:`y = \sin(\pi\,\theta^\top x) + \text{noise}`.

    .. math::
        x_i \sim \mathcal U([-1, 1]^{d_{\rm in}}),\qquad
        y_i = \sin\!\big(\pi\,\theta^\top x_i\big) + \nu\,\varepsilon_i,\qquad
        \theta = \tfrac{1}{\sqrt{d_{\rm in}}}(1,\dots,1),\quad
        \varepsilon_i \sim \mathcal N(0, 1),

    so that for ``d_in=1`` the targets are :math:`\sin(\pi x_i)` on :math:`[-1, 1]`
    (one period). The samples are sorted by their first coordinate, so that
    ``plt.plot(Phi[0], y)`` draws a curve.

    Args:
        n: number of samples, >= 1.
        d_in: input dimension, >= 1.
        noise: standard deviation :math:`\nu \ge 0` of the Gaussian noise on ``y``.
        rng: a ``numpy.random.Generator``; the data depend only on its state.

    Returns:
        ``(Phi, y)``: features of shape ``(d_in, n)`` (one column per sample) and
        targets of shape ``(n,)``.
    """
    n = as_count(n, "n")
    d_in = as_count(d_in, "d_in")
    noise = as_scalar(noise, "noise", nonnegative=True)
    rng = _check_rng(rng)
    Phi = rng.uniform(-1.0, 1.0, size=(d_in, n))
    Phi = Phi[:, np.argsort(Phi[0], kind="stable")]
    y = np.sin(np.pi * Phi.sum(axis=0) / np.sqrt(d_in))
    if noise > 0:
        y = y + noise * rng.standard_normal(n)
    return Phi, y


# Each activation: sigma(z), and sigma'(z), sigma''(z) computed from z and s = sigma(z)
# (reusing s saves evaluating tanh or exp again). ReLU: sigma'(0) = 0 and sigma'' = 0.
def _relu(z):
    return np.maximum(z, 0.0)


def _softplus(z):
    return np.logaddexp(0.0, z)


def _tanh_d1(z, s):
    return 1.0 - s**2


def _tanh_d2(z, s):
    return -2.0 * s * (1.0 - s**2)


def _relu_d1(z, s):
    return (z > 0).astype(z.dtype)


def _softplus_d1(z, s):
    # The sigmoid, 1 - exp(-softplus(z)), accurate for z of either sign.
    return -np.expm1(-s)


def _softplus_d2(z, s):
    # sigmoid(z) (1 - sigmoid(z)) with 1 - sigmoid(z) = exp(-softplus(z)).
    return -np.expm1(-s) * np.exp(-s)


def _linear(z):
    return z


def _ones(z, s):
    return np.ones_like(z)


def _zeros(z, s):
    return np.zeros_like(z)


_SIGMA = {
    "tanh": (np.tanh, _tanh_d1, _tanh_d2),
    "relu": (_relu, _relu_d1, _zeros),
    "softplus": (_softplus, _softplus_d1, _softplus_d2),
    "linear": (_linear, _ones, _zeros),
}


class TwoLayerNet:
    r"""The square loss of a two-layer network, in the NTK scaling by default.

    .. math::
        F(w)_i = c_m\sum_{k=1}^m a_k\,\sigma(u_k^\top\phi_i),\qquad
        L(w) = \tfrac{\rho}{2}\,\|F(w) - y\|^2,\qquad
        \nabla L(w) = \rho\, DF(w)^\top\big(F(w) - y\big),

    .. math::
        \nabla^2 L(w) = \rho\Big(DF^\top DF + \sum_{i=1}^n \big(F(w)_i - y_i\big)\,
        \nabla^2 F(w)_i\Big),

    with width :math:`m`, activation :math:`\sigma`, hidden weights
    :math:`U = [u_1,\dots,u_m]^\top\in\mathbb{R}^{m\times d_{\rm in}}` (row :math:`k`
    is unit :math:`k`'s incoming weights), output weights :math:`a\in\mathbb{R}^m`,
    features :math:`\Phi\in\mathbb{R}^{d_{\rm in}\times n}` (one column per sample),
    targets :math:`y\in\mathbb{R}^n` and the loss weight :math:`\rho` (``weight``, 1 by
    default). The output scale :math:`c_m` is set by ``scale``:

    * ``"ntk"`` (default): :math:`c_m = 1/\sqrt m`, initialisation
      :math:`u_{kj}, a_k \sim \mathcal N(0, 1)`. This is the neural-tangent-kernel
      parametrisation (Jacot, Gabriel & Hongler 2018): as :math:`m\to\infty` the tangent
      kernel at initialisation tends to a deterministic limit and stays nearly constant
      during training (the "lazy" regime);
    * ``"mean_field"``: :math:`c_m = 1/m`, the same initialisation (Mei, Montanari & Nguyen
      2018; Chizat & Bach 2018): the output at initialisation is :math:`O(1/\sqrt m)`;
    * ``"standard"``: :math:`c_m = 1` and :math:`a_k\sim\mathcal N(0, 1/m)`: the same
      function at initialisation as ``"ntk"`` (in distribution) and the same gradients
      with respect to :math:`U`, but gradients with respect to :math:`a` a factor
      :math:`\sqrt m` larger.

    **Parameter layout.** :math:`w\in\mathbb{R}^d`, :math:`d = m\,d_{\rm in} + m`, is
    :math:`w = (u_1, \dots, u_m, a)`: first the rows of :math:`U` one after the other
    (:math:`w_{k d_{\rm in} + j} = U_{kj}`, i.e. :math:`\mathrm{vec}(U^\top)`, NumPy's
    ``U.ravel()``), then :math:`a`. :meth:`unpack` and :meth:`pack` convert.

    There is no separate bias: append a row of ones to ``Phi``
    (``np.vstack([Phi, np.ones(n)])``) to give every hidden unit one.

    **Activations.** ``"tanh"``, ``"softplus"`` (:math:`\log(1+e^z)`) and ``"linear"``
    (:math:`\sigma(z) = z`; then :math:`F` is bilinear in :math:`(U, a)` and :math:`L` is a
    polynomial of degree 4 in :math:`w`) are smooth. ``"relu"`` (:math:`\max(z, 0)`) is
    not: this class uses :math:`\sigma'(z) = \mathbb 1[z > 0]` (so :math:`\sigma'(0) = 0`)
    and :math:`\sigma'' = 0`. Then ``grad`` is the gradient and ``hvp``/``hessian`` are the
    Hessian of :math:`L` wherever no pre-activation :math:`u_k^\top\phi_i` is zero, which
    is almost everywhere: the Gauss–Newton part :math:`DF^\top DF` plus the residual
    times the mixed :math:`a`–:math:`U` second derivatives of :math:`F` (nonzero even for
    ReLU); only the :math:`\sigma''` term vanishes. On that null set :math:`L` need not be
    differentiable, and the formulas give the derivatives on the side where those units
    are inactive for those samples.

    **Mini-batches.** ``n`` is the number of samples and :meth:`subset` returns the
    network on some samples with ``weight`` multiplied by ``n / len(idx)``, an unbiased
    estimate of :math:`L` (and of its gradient and Hessian) under uniform sampling.

    Args:
        Phi: features, shape ``(d_in, n)``, one column per sample.
        y: targets, shape ``(n,)``.
        width: the number of hidden units :math:`m`, >= 1.
        activation: one of ``"tanh"``, ``"relu"``, ``"softplus"``, ``"linear"``.
        scale: ``"ntk"`` (default), ``"mean_field"`` or ``"standard"``.
        weight: the factor :math:`\rho > 0` multiplying the loss, gradient and Hessian.

    The network computes in the precision of ``Phi`` (float32 or float64).

    Attributes:
        dim: :math:`d = m\,d_{\rm in} + m`.
        n, d_in, width: the numbers of samples, inputs and hidden units.
        output_scale: :math:`c_m`.
    """

    def __init__(self, Phi, y, width: int, activation: str = "tanh", *, scale: str = "ntk",
                 weight: float = 1.0):
        if np.ndim(Phi) == 1:
            raise ValueError(f"Phi must be a 2-D matrix of shape (d_in, n), one column per "
                             f"sample, got a 1-D array of length {np.shape(Phi)[0]}; for "
                             f"scalar inputs x use Phi = x[None, :]")
        self.Phi = as_matrix(Phi, "Phi")
        self.d_in, self.n = self.Phi.shape
        if self.d_in == 0 or self.n == 0:
            raise ValueError(f"Phi must have at least one row and one column, "
                             f"got shape {self.Phi.shape}")
        self.y = as_vector(y, "y", dim=self.n).astype(self.Phi.dtype, copy=False)
        self.width = as_count(width, "width")
        if activation not in _SIGMA:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                             f"got {activation!r}")
        self.activation = activation
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}, "
                             f"got {scale!r}")
        self.scale = scale
        self.weight = as_scalar(weight, "weight", positive=True)
        m = self.width
        self.output_scale = {"ntk": 1.0 / math.sqrt(m), "mean_field": 1.0 / m,
                             "standard": 1.0}[scale]  # a Python float: keeps float32 float32
        self.dim = m * self.d_in + m
        self._sigma, self._dsigma, self._d2sigma = _SIGMA[activation]

    # ---- parameters --------------------------------------------------------

    def unpack(self, w) -> tuple[np.ndarray, np.ndarray]:
        r"""Split :math:`w` into :math:`U\in\mathbb{R}^{m\times d_{\rm in}}` and
        :math:`a\in\mathbb{R}^m` (copies)."""
        U, a = self._split(_point(self, w))
        return U.copy(), a.copy()

    def pack(self, U, a) -> np.ndarray:
        """The inverse of :meth:`unpack`: :math:`w = (u_1, \\dots, u_m, a)`, shape ``(dim,)``."""
        U = as_matrix(U, "U", shape=(self.width, self.d_in), finite=False)
        a = as_vector(a, "a", dim=self.width, finite=False)
        return np.concatenate([U.ravel(), a])

    def init(self, rng) -> np.ndarray:
        r"""A random initial point :math:`w_0`: :math:`u_{kj}\sim\mathcal N(0,1)` and
        :math:`a_k\sim\mathcal N(0,1)` (:math:`\mathcal N(0, 1/m)` for ``scale="standard"``),
        all independent, drawn from ``rng`` (a ``numpy.random.Generator``)."""
        rng = _check_rng(rng)
        U = rng.standard_normal((self.width, self.d_in))
        a = rng.standard_normal(self.width)
        if self.scale == "standard":
            a /= np.sqrt(self.width)
        return self.pack(U, a).astype(self.Phi.dtype, copy=False)

    def subset(self, idx) -> TwoLayerNet:
        r"""The network on the samples ``idx`` (a mini-batch :math:`\mathcal B`), with
        ``weight`` multiplied by :math:`n/|\mathcal B|`, so that its loss
        :math:`\frac{n}{|\mathcal B|}\cdot\tfrac12\sum_{i\in\mathcal B}(F(w)_i - y_i)^2` is
        an unbiased estimate of the full loss under uniform sampling."""
        idx = _sample_index(idx, self.n)
        return TwoLayerNet(self.Phi[:, idx], self.y[idx], self.width, self.activation,
                           scale=self.scale, weight=self.weight * self.n / idx.size)

    def _split(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        md = self.width * self.d_in
        return w[:md].reshape(self.width, self.d_in), w[md:]

    def _forward(self, w):
        """U, a, the pre-activations Z = U Phi (m x n) and S = sigma(Z)."""
        U, a = self._split(_point(self, w))
        Z = U @ self.Phi
        return U, a, Z, self._sigma(Z)

    # ---- values and first derivatives -----------------------------------------

    @_quiet
    def outputs(self, w) -> np.ndarray:
        r"""The network's outputs :math:`F(w)\in\mathbb{R}^n` on the ``n`` samples."""
        _, a, _, S = self._forward(w)
        return self.output_scale * (a @ S)

    @_quiet
    def loss(self, w) -> float:
        r = self.outputs(w) - self.y
        return 0.5 * self.weight * float(r @ r)

    @_quiet
    def grad(self, w) -> np.ndarray:
        r"""Backpropagation: with :math:`r = F(w) - y`,
        :math:`\nabla_a L = \rho\,c_m\,\sigma(Z)\,r` and
        :math:`\nabla_U L = \rho\,c_m\,\big((a\,r^\top)\odot\sigma'(Z)\big)\Phi^\top`, where
        :math:`Z = U\Phi\in\mathbb{R}^{m\times n}` holds the pre-activations."""
        _, a, Z, S = self._forward(w)
        c = self.output_scale
        r = c * (a @ S) - self.y
        gU = c * ((a[:, None] * self._dsigma(Z, S)) * r) @ self.Phi.T
        ga = c * (S @ r)
        return self.weight * np.concatenate([gU.ravel(), ga])

    @_quiet
    def jacobian(self, w) -> np.ndarray:
        r"""The Jacobian :math:`DF(w)\in\mathbb{R}^{n\times d}` of the outputs:
        :math:`\partial F_i/\partial U_{kj} = c_m a_k\sigma'(u_k^\top\phi_i)\phi_{ji}`,
        :math:`\partial F_i/\partial a_k = c_m\sigma(u_k^\top\phi_i)`. It does not include
        ``weight``: :math:`\nabla L = \rho\,DF^\top(F - y)`."""
        _, a, Z, S = self._forward(w)
        c = self.output_scale
        A = (c * a[:, None] * self._dsigma(Z, S)).T  # (n, m)
        JU = (A[:, :, None] * self.Phi.T[:, None, :]).reshape(self.n, -1)
        return np.concatenate([JU, c * S.T], axis=1)

    @_quiet
    def tangent_kernel(self, w) -> np.ndarray:
        r"""The (empirical neural) tangent kernel :math:`K = DF\,DF^\top\in\mathbb{R}^{n\times n}`,

        .. math::
            K = c_m^2\Big(\sigma(Z)^\top\sigma(Z)
            + \big(\sigma'(Z)^\top\mathrm{diag}(a)^2\,\sigma'(Z)\big)\odot\Phi^\top\Phi\Big),

        computed without forming :math:`DF` (:math:`O(m n^2)`). Like :meth:`jacobian` it
        does not include ``weight``. Its nonzero eigenvalues are those of the
        Gauss–Newton matrix :math:`DF^\top DF`."""
        _, a, Z, S = self._forward(w)
        c2 = self.output_scale**2
        D = self._dsigma(Z, S)
        # (diag(a^2) D)^T D rather than D^T (diag(a^2) D): the same matrix, and the
        # transposed-first product was much slower with threaded OpenBLAS here.
        return c2 * (S.T @ S + ((a[:, None] ** 2 * D).T @ D) * (self.Phi.T @ self.Phi))

    # ---- second derivatives ------------------------------------------------

    @_quiet
    def hvp(self, w, v) -> np.ndarray:
        r"""The Hessian-vector product :math:`\nabla^2 L(w)\,v`, exactly, by the R-operator
        :math:`\mathcal R_v\{\cdot\} = \frac{\partial}{\partial t}(\cdot)(w + tv)|_{t=0}`
        applied to the forward and backward passes (Pearlmutter 1994). With
        :math:`v = (V, b)`, :math:`\dot Z = V\Phi` and :math:`D_1, D_2 = \sigma'(Z), \sigma''(Z)`:

        .. math::
            \dot F = c_m\big(b^\top\sigma(Z) + a^\top(D_1\odot\dot Z)\big) = DF\,v,\qquad
            \mathcal R\{\nabla_a L\} = \rho\,c_m\big((D_1\odot\dot Z)\,r + \sigma(Z)\,\dot F\big),

        .. math::
            \mathcal R\{\nabla_U L\} = \rho\,c_m\big((b\,r^\top)\odot D_1
            + (a\,r^\top)\odot D_2\odot\dot Z + (a\,\dot F^\top)\odot D_1\big)\Phi^\top,

        with :math:`r = F(w) - y` and :math:`Z = U\Phi`.

        Cost :math:`O(m\,n\,d_{\rm in})`, like one gradient; no matrix is formed.
        """
        _, a, Z, S = self._forward(w)
        v = as_vector(v, "v", dim=self.dim, finite=False)
        V, b = self._split(v)
        c = self.output_scale
        D1 = self._dsigma(Z, S)
        D2 = self._d2sigma(Z, S)
        r = c * (a @ S) - self.y
        Zdot = V @ self.Phi
        Sdot = D1 * Zdot
        Fdot = c * (b @ S + a @ Sdot)
        Ha = c * (Sdot @ r + S @ Fdot)
        delta_dot = (b[:, None] * D1 * r + a[:, None] * (D2 * Zdot * r + D1 * Fdot))
        HU = c * (delta_dot @ self.Phi.T)
        return self.weight * np.concatenate([HU.ravel(), Ha])

    @_quiet
    def hessian(self, w) -> np.ndarray:
        r"""The Hessian :math:`\nabla^2 L(w)\in\mathbb{R}^{d\times d}`, formed exactly as
        :math:`\rho\,(DF^\top DF + \sum_i r_i\nabla^2F_i)`, where the second term has only
        the blocks :math:`\partial^2/\partial a_k\partial u_k = c_m\sum_i r_i
        \sigma'(u_k^\top\phi_i)\phi_i` and :math:`\partial^2/\partial u_k^2 = c_m a_k\sum_i
        r_i\sigma''(u_k^\top\phi_i)\phi_i\phi_i^\top`. Memory :math:`O(d^2)`: for small
        :math:`d` (use :meth:`hvp` otherwise)."""
        w = _point(self, w)
        _, a, Z, S = self._forward(w)
        m, p, c = self.width, self.d_in, self.output_scale
        J = self.jacobian(w)
        H = J.T @ J
        r = c * (a @ S) - self.y
        units = np.arange(m)
        # Mixed a_k / u_k blocks.
        M = c * (self._dsigma(Z, S) * r) @ self.Phi.T  # (m, d_in)
        rows = m * p + units[:, None]
        cols = units[:, None] * p + np.arange(p)
        H[rows, cols] += M
        H[cols, rows] += M
        # u_k / u_k blocks (d_in x d_in, block diagonal).
        R2 = c * a[:, None] * self._d2sigma(Z, S) * r  # (m, n)
        B = np.einsum("ki,ji,li->kjl", R2, self.Phi, self.Phi)
        H[cols[:, :, None], cols[:, None, :]] += B
        return self.weight * (0.5 * (H + H.T))  # symmetric to the last bit

    def __repr__(self) -> str:
        return (f"TwoLayerNet(d_in={self.d_in}, n={self.n}, width={self.width}, "
                f"activation={self.activation!r}, scale={self.scale!r}, weight={self.weight:g})")

from .mlp import MLP  # noqa: E402  (the real network lives in its own module)

