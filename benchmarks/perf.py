r"""Every performance figure of the book next to its goal (issue #18), in one process.

Sections (``--only`` selects some, comma-separated; all by default):

* ``steps``: one optimiser step at :math:`d = 10^6`, float64 and float32, as
  :func:`optbook.optimizers.run` takes it (``opt.step(g, state, w, problem)`` if the
  optimiser has it, else ``w += opt.update(g, state, w, problem)``), against
  ``torch.optim``'s ``foreach`` step (same hyperparameters, dtype and thread count: one)
  and against the memory-traffic floor

  .. math::
      t_{\rm floor} = \frac{\text{arrays a fused step reads and writes}\times d\times
      \text{itemsize}}{\text{copy bandwidth}},

  the bandwidth measured in the same run (``np.copyto``: bytes read + written / time).
  Goals: at most 1.2x torch and 2x the floor. SAM (GD base, on the separable quadratic
  :math:`g = h\odot w`) has no torch.optim reference: floor only.
* ``run``: :func:`~optbook.optimizers.run`'s cost per step, GD on a 2-D
  :class:`~optbook.problems.Quadratic` for :math:`10^5` steps, against a bare NumPy loop
  recording the same trajectory (checked bit for bit: "identical: yes/no"); goals at most
  1.2x the loop and 6 µs/step. Its memory for Adam at :math:`d = 10^6`, 100 steps, default
  arguments (tracemalloc); goal: a trajectory of at most 64 MiB.
* ``hvp``: the cost of a Hessian-vector product over a gradient on the book's MLP
  (MNIST-1D, hidden (100, 100)) and on a TwoLayerNet; goal about 2 (Pearlmutter 1994).
* ``lanczos``: the rows of ``benchmarks/lanczos.py``'s ``measure()``, if that file exists.
* ``chapters``: each chapter's run time and slider latency (``benchmarks/chapters.py``).

Times are medians over repeats, the compared functions called in turn so that the noise of
a shared machine hits them alike. The last line says which goals hold and which do not;
the rows are also written as JSON (``_build/bench.json``).

Run: ``make bench`` (the full run, a few minutes), or
``.venv/bin/python benchmarks/perf.py --quick --only steps,run`` (seconds; sizes too small
for the goals to mean anything: a smoke test).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optbook.data import mnist1d
from optbook.mlp import MLP
from optbook.networks import TwoLayerNet
from optbook.optimizers import GD, Adagrad, Adam, Momentum, Nesterov, RMSProp, init_state, run
from optbook.problems import Quadratic
from optbook.sharpness import SAM

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTIONS = ("steps", "run", "hvp", "lanczos", "chapters")
NO_TORCH = "torch not installed (pip install -r requirements-test.txt)"

# Goals (issue #18).
STEP_VS_TORCH = 1.2      # optimiser step time / torch.optim foreach step
STEP_VS_FLOOR = 2.0      # optimiser step time / memory-traffic floor
RUN_VS_BARE = 1.2        # run() per step / bare NumPy loop per step
RUN_US_PER_STEP = 6.0    # run() per step, µs
RUN_TRAJECTORY_MIB = 64  # run()'s trajectory for Adam at d = 1e6, 100 steps
HVP_RATIO = 2.0          # HVP / gradient cost, "about 2": held up to HVP_RATIO_MAX
HVP_RATIO_MAX = 2.5

LR = 1e-3
MIB = 2**20


@dataclass(frozen=True)
class Sizes:
    """Problem sizes and repeats of one benchmark run."""

    d: int = 10**6
    step_repeats: int = 50
    run_steps: int = 10**5
    run_repeats: int = 3
    memory_d: int = 10**6
    memory_steps: int = 100
    hvp_samples: int = 4000
    hvp_repeats: int = 20
    chapters: int | None = None  # the first this many chapters (None: all)


FULL = Sizes()
QUICK = Sizes(d=10**4, step_repeats=5, run_steps=2000, run_repeats=1, memory_d=10**4,
              memory_steps=10, hvp_samples=200, hvp_repeats=3, chapters=1)


# ---- helpers -----------------------------------------------------------------------------

def median_seconds(fns, repeats: int, warmup: int = 2) -> list[float]:
    """Median wall time (s) of one call of each function; the calls alternate, one of each
    per round, so that a slow spell of the machine hits every function alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


@functools.cache
def torch_module():
    """torch with one thread (NumPy's elementwise operations use one), or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


class Separable:
    r"""The separable quadratic :math:`L(w) = \tfrac12\sum_i h_i w_i^2`, gradient
    :math:`h\odot w`: an optbook problem of any size whose gradient is one multiply."""

    def __init__(self, h: np.ndarray):
        self.h = h
        self.dim = h.size

    def loss(self, w) -> float:
        return 0.5 * float(w @ (self.h * w))

    def grad(self, w) -> np.ndarray:
        return self.h * w

    def hvp(self, w, v) -> np.ndarray:
        return self.h * v


def verdict(ok) -> str:
    return {True: "yes", False: "NO", None: "n/a"}[ok]


def print_row(row: dict) -> None:
    """One line of the generic table: name, value, unit, goal, whether it holds, details."""
    value = row["value"]
    text = f"{value:.4g}" if isinstance(value, float | int) else str(value)
    print(f"  {row['name']:<56}{text:>10} {row['unit']:<8}{str(row['goal']):<14}"
          f"{verdict(row['ok']):<5}{row.get('detail', '')}".rstrip())


def print_header(title: str) -> None:
    print(f"\n== {title}")


# ---- (a) optimiser steps -------------------------------------------------------------------

@dataclass(frozen=True)
class StepCase:
    """An optimiser, its torch.optim counterpart and the traffic of a fused step."""

    name: str
    make: object          # () -> optbook optimiser
    torch_class: str | None
    torch_kwargs: dict
    arrays: int           # arrays of size d a fused step reads plus writes
    traffic: str


STEP_CASES = (
    StepCase("GD", lambda: GD(LR), "SGD", {}, 3, "reads w, g; writes w"),
    StepCase("Momentum", lambda: Momentum(LR, gamma=0.9), "SGD", {"momentum": 0.9}, 5,
             "reads w, g, b; writes w, b"),
    StepCase("Nesterov", lambda: Nesterov(LR, gamma=0.9), "SGD",
             {"momentum": 0.9, "nesterov": True}, 5, "reads w, g, b; writes w, b"),
    StepCase("Adagrad", lambda: Adagrad(LR, eps=1e-10), "Adagrad", {"eps": 1e-10}, 5,
             "reads w, g, G; writes w, G"),
    StepCase("RMSProp", lambda: RMSProp(LR, beta2=0.99, eps=1e-8), "RMSprop",
             {"alpha": 0.99, "eps": 1e-8}, 5, "reads w, g, v; writes w, v"),
    StepCase("Adam", lambda: Adam(LR, beta1=0.9, beta2=0.999, eps=1e-8), "Adam",
             {"betas": (0.9, 0.999), "eps": 1e-8}, 7, "reads w, g, m, v; writes w, m, v"),
    StepCase("SAM (GD base)", lambda: SAM(lr=LR, rho=0.05), None, {}, 5,
             "reads g (its norm), then w, g, h; writes w"),
)


def our_step(opt, w: np.ndarray, g: np.ndarray, problem):
    """One step as :func:`optbook.optimizers.run` takes it, as a function of no arguments:
    ``opt.step(g, state, w, problem)`` (in place) if the optimiser has it, else
    ``w += opt.update(g, state, w, problem)``."""
    state = init_state(opt, w)
    if callable(getattr(opt, "step", None)):
        return lambda: opt.step(g, state, w, problem)
    return lambda: np.add(w, opt.update(g, state, w, problem), out=w)  # w += Δ


def torch_step(torch, case: StepCase, w: np.ndarray, g: np.ndarray):
    """torch.optim's step (``foreach=True``) on one parameter tensor of size d, its
    gradient set once."""
    p = torch.nn.Parameter(torch.from_numpy(w.copy()))
    p.grad = torch.from_numpy(g.copy())
    opt = getattr(torch.optim, case.torch_class)([p], lr=LR, foreach=True, **case.torch_kwargs)
    return opt.step


def copy_of(d: int, dtype):
    """``np.copyto`` of a size-d array, and the bytes it reads plus writes."""
    src = np.ones(d, dtype=dtype)
    dst = np.empty_like(src)
    return (lambda: np.copyto(dst, src)), 2 * src.nbytes


def step_row(case: StepCase, dtype, d: int, repeats: int, torch) -> dict:
    """Time one optimiser's step, torch.optim's and a copy (for the floor's bandwidth), in
    turn, so that all three see the same machine and the same cache."""
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(d).astype(dtype), rng.standard_normal(d).astype(dtype)
    problem = Separable(rng.uniform(0.5, 2.0, d).astype(dtype))
    copy, copied = copy_of(d, dtype)
    fns = [copy, our_step(case.make(), w, g, problem)]
    if torch is not None and case.torch_class is not None:
        fns.append(torch_step(torch, case, w, g))
    t_copy, ours, *theirs = median_seconds(fns, repeats)
    bandwidth = copied / t_copy
    floor = case.arrays * d * np.dtype(dtype).itemsize / bandwidth
    row = {"section": "steps", "name": f"{case.name} step {np.dtype(dtype).name}",
           "value": ours * 1e3, "unit": "ms", "floor_ms": floor * 1e3,
           "vs_floor": ours / floor, "copy_GBps": bandwidth / 1e9, "arrays": case.arrays,
           "traffic": case.traffic, "torch_ms": None, "vs_torch": None}
    checks = [row["vs_floor"] <= STEP_VS_FLOOR]
    if case.torch_class is None:
        row["goal"], row["torch"] = f"<= {STEP_VS_FLOOR:g}x floor", "n/a (no torch.optim)"
    else:
        row["goal"] = f"<= {STEP_VS_TORCH:g}x torch, <= {STEP_VS_FLOOR:g}x floor"
        if theirs:
            row.update(torch_ms=theirs[0] * 1e3, vs_torch=ours / theirs[0],
                       torch=f"torch.optim.{case.torch_class}(foreach=True)")
            checks.append(row["vs_torch"] <= STEP_VS_TORCH)
        else:
            row["torch"] = NO_TORCH
    measured_all = case.torch_class is None or bool(theirs)
    row["ok"] = False if not all(checks) else (True if measured_all else None)
    return row


def print_step_row(row: dict) -> None:
    name, dtype = row["name"].rsplit(" step ", 1)
    if row["torch_ms"] is None:  # the message in the torch columns
        torch_cols = f" {row['torch']:<20}"
    else:
        torch_cols = f"{row['torch_ms']:>10.3f}{row['vs_torch']:>10.2f}x"
    print(f"  {name:<15}{dtype:<9}{row['value']:>9.3f}{row['copy_GBps']:>8.1f}"
          f"{row['floor_ms']:>10.3f}{row['vs_floor']:>10.2f}x{torch_cols}   {verdict(row['ok'])}")


def step_rows(sizes: Sizes) -> list[dict]:
    """Section (a): every optimiser's step, float64 and float32."""
    torch = torch_module()
    print_header(f"optimiser steps at d = {sizes.d:,} (median of {sizes.step_repeats}; goals: "
                 f"<= {STEP_VS_TORCH:g}x torch.optim foreach, <= {STEP_VS_FLOOR:g}x floor; "
                 f"torch {torch.__version__ + ', 1 thread' if torch else 'not installed'})")
    print(f"  {'optimizer':<15}{'dtype':<9}{'ours ms':>9}{'GB/s':>8}{'floor ms':>10}"
          f"{'/floor':>11}{'torch ms':>10}{'/torch':>11}   ok")
    rows = []
    for dtype in (np.float64, np.float32):
        for case in STEP_CASES:
            rows.append(step_row(case, dtype, sizes.d, sizes.step_repeats, torch))
            print_step_row(rows[-1])
    print("  floor = arrays a fused step reads and writes x d x itemsize / copy bandwidth "
          "(GB/s: np.copyto of a size-d array, read + write, timed in turn with the steps):")
    for case in STEP_CASES:
        print(f"    {case.name}: {case.arrays} ({case.traffic})")
    return rows


# ---- (b) run()'s overhead and memory ------------------------------------------------------

QUAD_H = np.array([[2.0, 0.5], [0.5, 1.0]])
QUAD_B = np.array([1.0, -1.0])
QUAD_W0 = np.array([1.5, -2.0])
QUAD_LR = 0.1


def bare_gd(H, b, w0, lr: float, steps: int):
    r"""GD on :math:`L(w) = \tfrac12 w^\top H w - b^\top w` as a bare NumPy loop, recording
    what :func:`~optbook.optimizers.run` records: the iterates, :math:`L(w_t)` and
    :math:`\|g_t\|`."""
    w = np.array(w0, dtype=float)
    W = np.empty((steps + 1, w.size))
    loss = np.empty(steps + 1)
    grad_norm = np.empty(steps + 1)
    loss[0] = 0.5 * w @ (H @ w) - b @ w
    for t in range(steps):
        W[t] = w
        g = H @ w - b
        grad_norm[t] = np.linalg.norm(g)
        w = w - lr * g
        loss[t + 1] = 0.5 * w @ (H @ w) - b @ w
    W[steps] = w
    grad_norm[steps] = np.linalg.norm(H @ w - b)
    return W, loss, grad_norm


def run_gd(steps: int):
    """optbook's :func:`~optbook.optimizers.run` of GD on the same quadratic."""
    return run(GD(QUAD_LR), Quadratic(QUAD_H, QUAD_B), QUAD_W0, steps)


def same_trajectory(traj, bare) -> bool:
    """Whether ``run`` and the bare loop recorded the same numbers, bit for bit."""
    W, loss, grad_norm = bare
    return (np.array_equal(traj.w, W) and np.array_equal(traj.loss, loss)
            and np.array_equal(traj.grad_norm, grad_norm))


def run_overhead_rows(sizes: Sizes) -> list[dict]:
    """run()'s time per step against the bare loop, and whether they agree."""
    steps = sizes.run_steps
    identical = same_trajectory(run_gd(steps),
                                bare_gd(QUAD_H, QUAD_B, QUAD_W0, QUAD_LR, steps))
    t_run, t_bare = median_seconds(
        [lambda: run_gd(steps), lambda: bare_gd(QUAD_H, QUAD_B, QUAD_W0, QUAD_LR, steps)],
        sizes.run_repeats, warmup=0)
    us_run, us_bare = t_run / steps * 1e6, t_bare / steps * 1e6
    print(f"  identical: {'yes' if identical else 'no'} (run's iterates, losses and gradient "
          f"norms against the bare loop's, {steps:,} steps)")
    name = "GD, 2-D quadratic"
    return [
        {"section": "run", "name": f"run = bare loop ({name})", "value": verdict(identical),
         "unit": "", "goal": "identical", "ok": identical, "identical": identical},
        {"section": "run", "name": f"run per step ({name})", "value": us_run, "unit": "µs",
         "goal": f"<= {RUN_US_PER_STEP:g}", "ok": us_run <= RUN_US_PER_STEP,
         "detail": f"bare loop {us_bare:.2f} µs"},
        {"section": "run", "name": f"run / bare loop ({name})", "value": us_run / us_bare,
         "unit": "x", "goal": f"<= {RUN_VS_BARE:g}", "ok": us_run / us_bare <= RUN_VS_BARE,
         "bare_us": us_bare},
    ]


def run_memory_rows(sizes: Sizes) -> list[dict]:
    """run()'s memory for Adam with default arguments: the trajectory it returns, and the
    peak of everything allocated during the call (tracemalloc)."""
    d, steps = sizes.memory_d, sizes.memory_steps
    problem = Separable(np.linspace(0.5, 2.0, d))
    w0 = np.ones(d)
    tracemalloc.start()
    try:
        traj = run(Adam(), problem, w0, steps)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    kept = sum(np.asarray(x).nbytes for x in (traj.w, traj.loss, traj.grad_norm)) / MIB
    name = f"Adam, d = {d:,}, {steps} steps"
    return [
        {"section": "run", "name": f"run trajectory ({name})", "value": kept, "unit": "MiB",
         "goal": f"<= {RUN_TRAJECTORY_MIB}", "ok": kept <= RUN_TRAJECTORY_MIB,
         "detail": f"iterates kept: {np.shape(traj.w)}"},
        {"section": "run", "name": f"run peak memory ({name})", "value": peak / MIB,
         "unit": "MiB", "goal": "", "ok": None, "detail": "tracemalloc, during the call"},
    ]


def run_rows(sizes: Sizes) -> list[dict]:
    """Section (b)."""
    print_header(f"optbook.optimizers.run: cost per step (median of {sizes.run_repeats}) "
                 f"and memory")
    rows = run_overhead_rows(sizes) + run_memory_rows(sizes)
    for row in rows:
        print_row(row)
    return rows


# ---- (c) HVP / gradient -------------------------------------------------------------------

def hvp_row(name: str, problem, w, repeats: int) -> dict:
    """The time of ``problem.hvp`` over the time of ``problem.grad`` at ``w``."""
    v = np.random.default_rng(1).standard_normal(problem.dim)
    t_grad, t_hvp = median_seconds([lambda: problem.grad(w), lambda: problem.hvp(w, v)],
                                   repeats)
    ratio = t_hvp / t_grad
    return {"section": "hvp", "name": f"HVP / gradient, {name}", "value": ratio, "unit": "x",
            "goal": f"~{HVP_RATIO:g} (<= {HVP_RATIO_MAX:g})", "ok": ratio <= HVP_RATIO_MAX,
            "grad_ms": t_grad * 1e3, "hvp_ms": t_hvp * 1e3,
            "detail": f"grad {t_grad * 1e3:.2f} ms, hvp {t_hvp * 1e3:.2f} ms, d = {problem.dim}"}


def hvp_rows(sizes: Sizes) -> list[dict]:
    """Section (c): the book's MLP and TwoLayerNet on MNIST-1D."""
    print_header(f"Hessian-vector product / gradient (median of {sizes.hvp_repeats})")
    try:
        X, y, _, _ = mnist1d()
    except RuntimeError as err:
        print(f"  not available ({err})")
        return []
    X, y = X[:sizes.hvp_samples], y[:sizes.hvp_samples]
    rng = np.random.default_rng(0)
    mlp = MLP(X, y, hidden=(100, 100))
    net = TwoLayerNet(X.T, y.astype(float), 256, "softplus")
    n = len(y)
    rows = [hvp_row(f"MLP (100, 100), MNIST-1D n = {n}", mlp, mlp.init(rng), sizes.hvp_repeats),
            hvp_row(f"TwoLayerNet m = 256, MNIST-1D n = {n}", net, net.init(rng),
                    sizes.hvp_repeats)]
    for row in rows:
        print_row(row)
    return rows


# ---- (d) Lanczos, (e) chapters ------------------------------------------------------------

def lanczos_rows(sizes: Sizes) -> list[dict]:
    """Section (d): ``benchmarks/lanczos.py``'s ``measure()``, when it exists."""
    print_header("Lanczos vs power iteration vs dense (benchmarks/lanczos.py)")
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    try:
        import lanczos
    except ImportError as err:
        print(f"  not available ({err})")
        return []
    rows = [dict(row, section="lanczos") for row in lanczos.measure()]
    for row in rows:
        print_row(row)
    return rows


def chapter_section_rows(sizes: Sizes) -> list[dict]:
    """Section (e): each chapter's run time and slider latency (benchmarks/chapters.py)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import chapters

    paths = chapters.chapters()[:sizes.chapters]
    print_header(f"chapters in a fresh kernel, sliders: p95 of {chapters.MOVES} moves")
    rows = []
    for path in paths:
        for row in chapters.chapter_rows(path):
            row["section"] = "chapters"
            if "median" in row:
                row["detail"] = f"median {row['median']:.1f} ms"
            rows.append(row)
            print_row(row)
    return rows


SECTION_ROWS = {"steps": step_rows, "run": run_rows, "hvp": hvp_rows, "lanczos": lanczos_rows,
                "chapters": chapter_section_rows}


# ---- the report ---------------------------------------------------------------------------

def summary(rows: list[dict]) -> str:
    """One line: the goals that hold, that do not, and that could not be judged."""
    judged = [row for row in rows if row.get("goal")]
    parts = [("goals held", [r["name"] for r in judged if r["ok"] is True]),
             ("NOT held", [r["name"] for r in judged if r["ok"] is False])]
    unknown = [r["name"] for r in judged if r["ok"] is None]
    if unknown:
        parts.append(("not measured", unknown))
    return " | ".join(f"{label} ({len(names)}): {', '.join(names) or 'none'}"
                      for label, names in parts)


def write_json(rows: list[dict], path: Path, started: str, args) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = [{k: (bool(v) if isinstance(v, np.bool_) else v) for k, v in row.items()}
             for row in rows]
    data = {"started": started, "quick": args.quick, "sections": args.only,
            "python": platform.python_version(), "numpy": np.__version__, "rows": clean}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few repeats (a smoke test, not the goals)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections, of {', '.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, default=ROOT / "_build" / "bench.json",
                        help="where to write the rows (default: _build/bench.json)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if a goal is not held")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown or not args.only:
        parser.error(f"--only takes sections among {', '.join(SECTIONS)}, got {unknown or '—'}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"optbook benchmark, {started}: Python {platform.python_version()}, "
          f"NumPy {np.__version__}{', quick sizes' if args.quick else ''}")
    rows = []
    for section in SECTIONS:
        if section in args.only:
            rows += SECTION_ROWS[section](sizes)
    write_json(rows, args.json, started, args)
    print(f"\nrows written to {args.json}")
    print(summary(rows))
    return 1 if args.strict and any(r["ok"] is False for r in rows if r.get("goal")) else 0


if __name__ == "__main__":
    sys.exit(main())
