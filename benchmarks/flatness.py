"""Which optimisers drift toward flat minima? The research question of note 004.

Note 004 asks why AdaHessian, which *divides* the step by a curvature estimate, would not
find flat minima while a *multiplicative* rule (the note's variant, w ← w − η g(1 + ρv),
optbook.NoiseScaledSGD) would. This script runs SGD, Adam, SAM, IRE, AdaHessian and the
variant, with mini-batches (B = 4), from the same seeded starts and batches on

(a) "valley": the toy of Wang et al. (2024, Fig. 1) with label noise. Samples
    y_1..y_n (standard normal, centred) and ℓ_i(u, v) = ½(√(1 + u²)·v − y_i)², so the
    full loss is L(u, v) = ½(1 + u²)v² + L*: every (u, 0) is a minimum, of sharpness
    λ_max = 1 + u², the flattest at u = 0, and the mini-batch noise in the sharp
    direction v has variance ∝ 1 + u² (aligned with the Hessian, as SGD's noise is);
(b) "net": a two-layer tanh network (optbook.TwoLayerNet, NTK scaling, width 16, with a
    bias input: d = 48) fitting toy_regression's n = 12 samples; d > n, so the global
    minima form a manifold of dimension ≥ d − n.

It is Chapter 8's experiment ("The research question, investigated") with longer runs
and finer grids, and it uses the same code, from optbook.experiments: the methods by name
(``method``), the tuning (``tune``), the runs paired by seed (``paired_runs``) and the
measurements (``final_flatness``, ``distance_after_fit``).

Measured at the last iterate, median [IQR] over the seeds: the loss above its minimum
L*, λ_max and Tr(H) (exact, from the dense Hessian), the distance travelled ("travel":
for the valley |u_0| − |u_T|, the progress toward the flattest minimum; for the net
‖w_T − w_s‖, s the first step with L ≤ 1e-2·L(w_0)), the *effective sharpness*
η·λ_max(P^½ H P^½), P the optimiser's diagonal preconditioner at the end
(optbook.sharpness.preconditioner: 1 for SGD and SAM, 1 + κ·mask for IRE, 1/(√v̂ + ε)
for Adam and AdaHessian, 1 + ρv for the variant; momentum aside), and for the valley
P_u/P_v, how much more the optimiser scales a step along the flat direction u than along
the sharp direction v.

Two protocols.
* "tuned" (Chapter 8's): η is tuned for SGD (multiples c/λ_ref of the inverse sharpness
  at the starts), then SAM's ρ, IRE's κ and the variant's ρ at SGD's η, so that the SGD
  family is compared at one step size; Adam's and AdaHessian's steps on grids of their
  own. Each choice: the lowest median final loss over two tuning seeds (100, 101; not the
  evaluation seeds; ties: the larger value). Flatness plays no part in the choice.
* "matched" (valley only): the same step along the sharp direction at the start,
  η = c/λ_ref for the SGD family (λ_ref = 5, the sharpness at u = 2) and η = c for
  AdaHessian (a fraction c of a diagonal Newton step), c ∈ {0.25, 0.5, 1}; SAM ρ = 0.05,
  IRE κ = 2, the variant's ρ = 10 (fixed, not tuned). Adam's step has other units and is
  left out.

Run: ``.venv/bin/python benchmarks/flatness.py`` (about 30 s on the book's machine;
``--no-matched`` skips the second protocol). ``experiment()`` returns the rows.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from optbook import TwoLayerNet, toy_regression  # noqa: E402
from optbook.experiments import (  # noqa: E402
    METHODS,
    distance_after_fit,
    final_flatness,
    method,
    paired_runs,
    seeds,
    tune,
)
from optbook.sharpness import preconditioner  # noqa: E402
from optbook.toys import NoisyValley  # noqa: E402

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

VALLEY = dict(n=64, batch=4, steps=600, u0=(1.5, 2.5), lam_ref=1 + 2.0**2)
NET = dict(n=12, width=16, batch=4, steps=1000)
STEP_MULTIPLES = (0.125, 0.25, 0.5, 1.0, 1.5, 2.0)  # SGD's grid: η = c/λ_ref
OWN_STEPS = {"Adam": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
             "AdaHessian": [0.03, 0.1, 0.3, 0.6, 1.0, 1.5]}
SECOND_GRIDS = {"SAM": [0.01, 0.02, 0.05, 0.1], "IRE": [1.0, 2.0, 4.0, 8.0],
                "variant": [0.3, 1.0, 10.0, 100.0]}
TUNE_SEEDS = seeds(2, start=100)


# --------------------------------------------------------------------------
# The two problems and their starts (as in Chapter 8)
# --------------------------------------------------------------------------

def valley():
    return NoisyValley.centred(VALLEY["n"], rng=np.random.default_rng(2024))


def valley_start(seed):
    draw = np.random.default_rng(seed)
    return np.array([draw.uniform(*VALLEY["u0"]), draw.choice([-1.0, 1.0])])


def valley_travel(traj):  # progress toward the flattest minimum u = 0
    return float(abs(traj.w[0, 0]) - abs(traj.final[0]))


def network():
    Phi, y = toy_regression(NET["n"], 1, rng=np.random.default_rng(7))
    return TwoLayerNet(np.vstack([Phi, np.ones(NET["n"])]), y, NET["width"], "tanh")


# --------------------------------------------------------------------------
# Measurements and summaries
# --------------------------------------------------------------------------

def measure(problem, traj, opt, *, travel):
    """optbook.experiments.final_flatness, plus P_u/P_v on the valley."""
    out = final_flatness(problem, traj, opt, travel=travel)
    if problem.dim == 2:
        P = preconditioner(opt, traj)
        out["ratio"] = float(P[0] / P[1])
    return out


def quartiles(x) -> tuple:
    x = np.asarray(x, dtype=float)
    if not np.any(np.isfinite(x)):
        return (np.nan,) * 3
    return tuple(np.nanpercentile(x, [50, 25, 75]))


def row(problem_name, protocol, name, lr, h, runs):
    out = dict(problem=problem_name, protocol=protocol, optimiser=name, lr=lr, h=h,
               diverged=int(runs["diverged"].sum()), lams=runs.get("lam", np.array([])))
    for key, values in runs.items():
        if key != "diverged":
            out[key] = quartiles(values)
    return out


# --------------------------------------------------------------------------
# The protocols
# --------------------------------------------------------------------------

def tuned_settings(problem, start, steps, batch, lam_ref, verbose=False):
    """{method: (η, second hyperparameter)}: SGD's η, the SGD family's second
    hyperparameter at that η, Adam's and AdaHessian's own η (lowest median final loss)."""
    def loss_above_min(p, traj, opt):
        return p.loss(traj.final) - getattr(p, "floor", 0.0)

    common = dict(steps=steps, batch_size=batch, seeds=TUNE_SEEDS, score=loss_above_min)
    chosen = {}
    grids = {"SGD": [c / lam_ref for c in STEP_MULTIPLES], **OWN_STEPS}
    for name, grid in grids.items():
        t = tune(lambda lr, name=name: method(name, lr), problem, start, {"lr": grid}, **common)
        chosen[name] = (t.best["lr"], None)
        if verbose:
            print(f"{name}:\n{t.markdown('final L - L*', '{:.2e}')}\n", file=sys.stderr)
    eta = chosen["SGD"][0]
    for name, grid in SECOND_GRIDS.items():
        t = tune(lambda h, name=name: method(name, eta, h), problem, start, {"h": grid},
                 **common)
        chosen[name] = (eta, t.best["h"])
        if verbose:
            print(f"{name} at η = {eta:.3g}:\n{t.markdown('final L - L*', '{:.2e}')}\n",
                  file=sys.stderr)
    return chosen


def study(problem_name, problem, start, eval_seeds, steps, batch, lam_ref, travel,
          verbose=False):
    chosen = tuned_settings(problem, start, steps, batch, lam_ref, verbose)
    rows = []
    for name in METHODS:
        lr, h = chosen[name]
        runs = paired_runs(lambda name=name, lr=lr, h=h: method(name, lr, h), problem, start,
                           eval_seeds, steps=steps, batch_size=batch,
                           measure=functools.partial(measure, travel=travel))
        rows.append(row(problem_name, "tuned", name, lr, h, runs))
    return rows


def valley_matched(eval_seeds, cs=(0.25, 0.5, 1.0)):
    problem, lam, rows = valley(), VALLEY["lam_ref"], []
    settings = {"SGD": lambda c: (c / lam, None), "SAM": lambda c: (c / lam, 0.05),
                "IRE": lambda c: (c / lam, 2.0), "AdaHessian": lambda c: (c, None),
                "variant": lambda c: (c / lam, 10.0)}
    for c in cs:
        for name, setting in settings.items():
            lr, h = setting(c)
            runs = paired_runs(lambda name=name, lr=lr, h=h: method(name, lr, h), problem,
                               valley_start, eval_seeds, steps=VALLEY["steps"],
                               batch_size=VALLEY["batch"],
                               measure=functools.partial(measure, travel=valley_travel))
            rows.append(row("valley", f"matched c={c:g}", name, lr, h, runs))
    return rows


def experiment(n_seeds: int = 5, matched: bool = True, verbose: bool = False):
    """All rows: one per (problem, protocol, optimiser)."""
    eval_seeds = seeds(n_seeds)
    rows = study("valley", valley(), valley_start, eval_seeds, VALLEY["steps"],
                 VALLEY["batch"], VALLEY["lam_ref"], valley_travel, verbose)
    if matched:
        rows += valley_matched(eval_seeds)
    net = network()

    def net_start(seed):
        return net.init(np.random.default_rng(seed))

    lam0 = float(np.median([np.linalg.eigvalsh(net.hessian(net_start(s)))[-1]
                            for s in eval_seeds]))
    rows += study("net", net, net_start, eval_seeds, NET["steps"], NET["batch"], lam0,
                  distance_after_fit, verbose)
    # λ_max relative to SGD's from the same start and batches (a paired comparison)
    sgd = {(r["problem"], r["protocol"]): r["lams"] for r in rows if r["optimiser"] == "SGD"}
    for r in rows:
        base = sgd[(r["problem"], r["protocol"])]
        rel = r["lams"] / base if len(r["lams"]) == len(base) else np.full(len(base), np.nan)
        r["rel"] = quartiles(rel)
        r["below"] = int(np.sum(rel < 1.0))
    return rows


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

COLUMNS = {"loss": "L - L*", "lam": "lambda_max", "rel": "lambda_max/SGD's",
           "tr": "Tr(H)", "travel": "travel", "eff": "eta*lam_max(PH)", "ratio": "P_u/P_v"}


def fmt(t) -> str:
    med, q1, q3 = t
    return "-" if not np.isfinite(med) else f"{med:.3g} [{q1:.3g}, {q3:.3g}]"


def table(rows) -> str:
    head = (f"{'problem':7} {'protocol':12} {'optimiser':10} {'eta':>7} {'hp':>5} {'div':>3} "
            f"{'<SGD':>4} " + " ".join(f"{v:>24}" for v in COLUMNS.values()))
    lines = [head, "-" * len(head)]
    for r in rows:
        hp = "" if r["h"] is None else f"{r['h']:g}"
        lines.append(f"{r['problem']:7} {r['protocol']:12} {r['optimiser']:10} {r['lr']:7.3g} "
                     f"{hp:>5} {r['diverged']:3d} {r['below']:4d} "
                     + " ".join(f"{fmt(r[c]) if c in r else '':>24}" for c in COLUMNS))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="evaluation seeds (default 5)")
    ap.add_argument("--no-matched", action="store_true", help="skip the matched protocol")
    ap.add_argument("--verbose", action="store_true",
                    help="print every tuning grid and its result (to stderr)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows = experiment(args.seeds, not args.no_matched, args.verbose)
    elapsed = time.perf_counter() - start
    print(table(rows))
    print(f"\nmedian [IQR] over {args.seeds} seeds; hp: SAM's rho, IRE's kappa or the "
          f"variant's rho; div: diverged runs; <SGD: runs whose lambda_max is below SGD's "
          f"from the same start and batches; total {elapsed:.1f} s")


if __name__ == "__main__":
    main()
