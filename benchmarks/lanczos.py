r"""λ_max of a network's Hessian: Lanczos vs power iteration vs a dense eigensolver (issue #18).

Two measurements, each printed next to its goal.

1. **d ≈ 10⁵.** optbook's MLP (``optbook.networks.MLP``, hidden (300, 300), ReLU,
   cross-entropy; d = 105,610) on the first 256 MNIST-1D training samples, at the point
   reached by 30 Adam steps (lr 2e-3) from a seeded start: there the top of the spectrum
   is a few outliers a few per cent apart, as in the chapters' sharpness measurements (at
   the start λ₁ is far above λ₂ and any method is quick). The truth is λ_max from Lanczos
   run to ``tol=1e-10``. Lanczos: ``top_eigenvalue(..., tol=1e-4)``, whose residual test
   guarantees a relative error of at most 1e-4, its products, seconds and true error; goal
   <= 40 products and <= 1.5 s. Power iteration: the products until its Rayleigh quotient
   is within 1e-4 of the truth (recorded at every product) and the time of a run of exactly
   that many; and what its own stopping test (relative change <= 1e-4) returns.
2. **Crossover.** ``TwoLayerNet`` (tanh, NTK scaling, a bias input: d = 42·width) on the
   same samples at its start, widths doubling: the time of ``np.linalg.eigvalsh`` of the
   explicit ``problem.hessian(w)`` (formed analytically, :math:`O(nd^2)`, then
   :math:`O(d^3)`) against ``top_eigenvalue`` with Hessian-vector products (default
   ``tol=1e-6``), median of 3; the crossover is the first d from which the dense route is
   the slower. (``MLP.hessian`` is built from d products, so there Lanczos is faster as
   soon as it needs fewer than d.)

Times are wall-clock on whatever machine runs this, with NumPy's default threads; one
product's time is printed too, to tell the cost of the products from Lanczos' own
(reorthogonalisation and the small eigenproblems).

Run: ``.venv/bin/python benchmarks/lanczos.py`` (about half a minute). ``measure()``
returns the rows (name, value, unit, goal, ok, detail) for ``benchmarks/perf.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from optbook import Adam, TwoLayerNet, run  # noqa: E402
from optbook.data import mnist1d  # noqa: E402
from optbook.hessian import top_eigenvalue  # noqa: E402
from optbook.networks import MLP  # noqa: E402

TARGET = 1e-4  # the true relative error asked for
REPEATS = 3  # timed runs (the median is reported)
GOAL_HVPS, GOAL_SECONDS = 40, 1.5
FULL = dict(n=256, hidden=(300, 300), adam_steps=30, widths=(2, 4, 8, 16, 32, 64))
QUICK = dict(n=64, hidden=(32, 32), adam_steps=10, widths=(2, 4, 8))


class Counted:
    """An HVP that counts its calls and their time, and records each Rayleigh quotient
    :math:`v^\\top Hv/v^\\top v` (power iteration's estimate at that product)."""

    def __init__(self, problem, w):
        self.problem, self.w = problem, w
        self.calls, self.seconds, self.rayleigh = 0, 0.0, []

    def __call__(self, v):
        start = time.perf_counter()
        out = self.problem.hvp(self.w, v)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.rayleigh.append(float(v @ out) / float(v @ v))
        return out


def trained_mlp(n: int, hidden: tuple, adam_steps: int):
    """The MLP on the first ``n`` MNIST-1D samples and its point after Adam steps."""
    X, y, _, _ = mnist1d()
    problem = MLP(X[:n], y[:n], hidden)
    w0 = problem.init(np.random.default_rng(0))
    return problem, run(Adam(2e-3), problem, w0, adam_steps, keep_every=adam_steps).final


def timed(f, *args, **kwargs):
    start = time.perf_counter()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - start


def large_rows(n: int, hidden: tuple, adam_steps: int) -> list[dict]:
    """Measurement 1: Lanczos and power iteration to a true relative error of 1e-4."""
    problem, w = trained_mlp(n, hidden, adam_steps)
    d, where = problem.dim, f"MLP {hidden}, d = {problem.dim:,}"
    truth = top_eigenvalue(Counted(problem, w), d, rng=np.random.default_rng(1), tol=1e-10)
    lam = truth.value

    def error(value):
        return abs(value - lam) / abs(lam)

    runs = []  # the same seeded run, REPEATS times: (estimate, seconds, its HVPs)
    for _ in range(REPEATS):
        hvp = Counted(problem, w)
        est, seconds = timed(top_eigenvalue, hvp, d, rng=np.random.default_rng(2), tol=TARGET)
        runs.append((est, seconds, hvp))
    est, seconds, hvp = sorted(runs, key=lambda r: r[1])[REPEATS // 2]  # the median time
    per_hvp = hvp.seconds / hvp.calls
    overhead = (seconds - hvp.seconds) / hvp.calls

    record = Counted(problem, w)  # power iteration to the target, recorded product by product
    top_eigenvalue(record, d, rng=np.random.default_rng(2), tol=1e-300, max_iter=2000,
                   method="power")
    hit = [k + 1 for k, rho in enumerate(record.rayleigh) if error(rho) <= TARGET]
    power_hvps = hit[0] if hit else None
    power_seconds = None
    if power_hvps:
        power_seconds = float(np.median([
            timed(top_eigenvalue, Counted(problem, w), d, rng=np.random.default_rng(2),
                  tol=1e-300, max_iter=power_hvps, method="power")[1]
            for _ in range(REPEATS)]))
    own = top_eigenvalue(Counted(problem, w), d, rng=np.random.default_rng(2), tol=TARGET,
                         method="power")
    return [
        dict(name="Lanczos: HVPs for lambda_max to 1e-4", value=hvp.calls, unit="HVPs",
             goal=f"<= {GOAL_HVPS}", ok=hvp.calls <= GOAL_HVPS and error(est.value) <= TARGET,
             detail=f"{where}; tol=1e-4; true error {error(est.value):.1e}; truth "
                    f"{lam:.6g} (tol=1e-10, {truth.iterations} HVPs)"),
        dict(name="Lanczos: seconds for lambda_max to 1e-4", value=seconds, unit="s",
             goal=f"<= {GOAL_SECONDS:g}", ok=seconds <= GOAL_SECONDS,
             detail=f"median of {REPEATS}; one HVP {per_hvp * 1e3:.3g} ms; Lanczos' own work "
                    f"{overhead * 1e3:.3g} ms per HVP"),
        dict(name="power iteration: HVPs to true error 1e-4", value=power_hvps or "> 2000",
             unit="HVPs", goal="", ok=None,
             detail=f"its own test at tol=1e-4 stops after {own.iterations} HVPs with "
                    f"true error {error(own.value):.1e}"),
        dict(name="power iteration: seconds to true error 1e-4",
             value=power_seconds if power_seconds is not None else "n/a", unit="s", goal="",
             ok=None, detail=f"median of {REPEATS} runs of exactly that many HVPs"),
    ]


def dense_top(problem, w) -> float:
    return float(np.linalg.eigvalsh(problem.hessian(w))[-1])


def lanczos_top(problem, w) -> float:
    return top_eigenvalue(lambda v: problem.hvp(w, v), problem.dim,
                          rng=np.random.default_rng(1)).value


def crossover_rows(n: int, widths: tuple) -> list[dict]:
    """Measurement 2: dense eigvalsh of the explicit Hessian against Lanczos, by d."""
    X, y, _, _ = mnist1d()
    Phi = np.vstack([X[:n].T, np.ones(n)])
    targets = (y[:n] - y[:n].mean()) / y[:n].std()  # the labels as regression targets
    points, crossover, slower = [], None, 0
    for width in widths:
        net = TwoLayerNet(Phi, targets, width)
        w = net.init(np.random.default_rng(0))
        dense = np.median([timed(dense_top, net, w)[1] for _ in range(3)])
        lanczos = np.median([timed(lanczos_top, net, w)[1] for _ in range(3)])
        points.append(f"d={net.dim}: {dense * 1e3:.1f}/{lanczos * 1e3:.1f} ms")
        if dense > lanczos:
            crossover = crossover or net.dim
            slower += 1
            if slower == 2:  # the dense route only falls further behind
                break
        else:
            crossover, slower = None, 0
    return [dict(name="crossover d: dense eigvalsh slower than Lanczos",
                 value=crossover if crossover else f"> {net.dim}", unit="d", goal="", ok=None,
                 detail="TwoLayerNet on MNIST-1D, dense/Lanczos: " + ", ".join(points))]


def measure(quick: bool = False) -> list[dict]:
    """The rows: name, value, unit, goal ('' if none), ok (True, False or None), detail."""
    size = QUICK if quick else FULL
    return (large_rows(size["n"], size["hidden"], size["adam_steps"])
            + crossover_rows(size["n"], size["widths"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small network (smoke test)")
    args = parser.parse_args(argv)
    if hasattr(os, "getloadavg"):  # the seconds depend on how busy the machine is
        print("load average: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    rows = measure(quick=args.quick)
    for row in rows:
        value = row["value"]
        text = f"{value:.4g}" if isinstance(value, float | int) else str(value)
        verdict = {True: "yes", False: "NO", None: ""}[row["ok"]]
        print(f"{row['name']:<48}{text:>10} {row['unit']:<5}{row['goal']:<8}{verdict:<4}"
              f"{row['detail']}")
    return 0 if all(row["ok"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
