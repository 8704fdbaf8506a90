"""Which optimisers drift toward flat minima? The research question of note 004.

Note 004 asks why AdaHessian, which *divides* the step by a curvature estimate, would not
find flat minima while a *multiplicative* rule (the note's variant, w ← w − η g(1 + ρv),
optbook.NoiseScaledSGD) would. This script runs SGD, Adam, SAM, IRE, AdaHessian and the
variant, with mini-batches (B = 4), from the same seeded starts on

(a) "valley": the toy of Wang et al. (2024, Fig. 1) with label noise. Samples
    y_1..y_n (standard normal, centred) and ℓ_i(u, v) = ½(√(1 + u²)·v − y_i)², so the
    full loss is L(u, v) = ½(1 + u²)v² + L*: every (u, 0) is a minimum, of sharpness
    λ_max = 1 + u², the flattest at u = 0, and the mini-batch noise in the sharp
    direction v has variance ∝ 1 + u² (aligned with the Hessian, as SGD's noise is);
(b) "net": a two-layer tanh network (optbook.TwoLayerNet, NTK scaling, width 16, with a
    bias input: d = 48) fitting toy_regression's n = 12 samples; d > n, so the global
    minima form a manifold of dimension ≥ d − n.

Measured at the last iterate, median [IQR] over the seeds: the loss above its minimum
L*, λ_max (Lanczos, optbook.hessian.top_eigenvalue), Tr(H) (exact, from
``hessian``), the distance travelled along the manifold ("travel": for the valley
|u_0| − |u_T|, the progress toward the flattest minimum; for the net ‖w_T − w_s‖, s the
first step with L ≤ 1e-2·L(w_0)), the *effective sharpness* η·λ_max(P^½ H P^½), P the
optimiser's diagonal preconditioner at the end (optbook.sharpness.preconditioner: 1 for
SGD and SAM, 1 + κ·mask for IRE, 1/(√v̂ + ε) for Adam and AdaHessian, 1 + ρv for the
variant; momentum aside), and for the
valley P_u/P_v, how much more the optimiser scales a step along the flat direction u
than along the sharp direction v.

Two protocols.
* "tuned": each optimiser's step and second hyperparameter (SAM's ρ, IRE's κ, the
  variant's ρ) from a grid, by the lowest median final loss over two tuning seeds (not
  the evaluation seeds; ties: the larger value). Flatness plays no part in the choice.
  The choices are stored in TUNED; ``--retune`` repeats the search (about a minute).
* "matched" (valley only): the same step along the sharp direction at the start,
  η = c/λ_ref for the SGD family (λ_ref = 5, the sharpness at u = 2) and η = c for
  AdaHessian (a fraction c of a diagonal Newton step), c ∈ {0.25, 0.5, 1}; SAM ρ = 0.05,
  IRE κ = 2, the variant's ρ = 10. Adam's step has other units and is left out.

Run: ``.venv/bin/python benchmarks/flatness.py`` (about 10 s on one core of the
book's machine). ``experiment()`` returns the rows, for a chapter.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from optbook import (  # noqa: E402
    GD,
    IRE,
    SAM,
    AdaHessian,
    Adam,
    NoiseScaledSGD,
    TwoLayerNet,
    run,
    toy_regression,
)
from optbook.hessian import top_eigenvalue  # noqa: E402
from optbook.sharpness import preconditioner  # noqa: E402
from optbook.toys import NoisyValley  # noqa: E402

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

VALLEY = dict(n=64, batch=4, steps=600, u0=(1.5, 2.5), lam_ref=5.0)
NET = dict(n=12, width=16, batch=4, steps=1000)
IRE_FRACTION = 0.6  # γ ∈ (0.5, 1), as Algorithm 1 requires


def specs(scale: float):
    """name -> (factory (lr, h) -> optimiser, step grid, grid of the second
    hyperparameter h); ``scale`` ~ 1/λ_max at the starts sets the SGD-family grid."""
    g = list(np.array([0.125, 0.25, 0.5, 1.0, 1.5, 2.0]) * scale)
    return {
        "SGD": (lambda lr, h: GD(lr), g, [None]),
        "Adam": (lambda lr, h: Adam(lr), [0.001, 0.003, 0.01, 0.03, 0.1, 0.3], [None]),
        "SAM": (lambda lr, h: SAM(lr, rho=h), g, [0.02, 0.05, 0.1]),
        "IRE": (lambda lr, h: IRE(GD(lr), kappa=h, fraction=IRE_FRACTION, K=10), g,
                [1.0, 2.0, 4.0]),
        "AdaHessian": (lambda lr, h: AdaHessian(lr), [0.03, 0.1, 0.3, 0.6, 1.0, 1.5],
                       [None]),
        "variant": (lambda lr, h: NoiseScaledSGD(lr, rho=h), g, [1.0, 10.0, 100.0]),
    }


# The result of ``--retune``: (problem, optimiser) -> (step, second hyperparameter).
TUNED: dict = {
    ('valley', 'SGD'): (0.025, None),
    ('valley', 'Adam'): (0.1, None),
    ('valley', 'SAM'): (0.05, 0.1),
    ('valley', 'IRE'): (0.05, 4.0),
    ('valley', 'AdaHessian'): (0.1, None),
    ('valley', 'variant'): (0.025, 1.0),
    ('net', 'SGD'): (0.19696151757898933, None),
    ('net', 'Adam'): (0.1, None),
    ('net', 'SAM'): (0.1313076783859929, 0.02),
    ('net', 'IRE'): (0.19696151757898933, 2.0),
    ('net', 'AdaHessian'): (1.0, None),
    ('net', 'variant'): (0.19696151757898933, 10.0),
}


def step_size(opt) -> float:
    return opt.base.lr if isinstance(opt, SAM | IRE) and isinstance(opt.base, GD) else opt.lr


# --------------------------------------------------------------------------
# Runs and measurements
# --------------------------------------------------------------------------

def run_all(problem, w0s, make, steps, batch, seed0):
    """One run per start, seeds seed0, seed0 + 1, ... for the batches and probes."""
    out = []
    for s, w0 in enumerate(w0s):
        opt = make()
        traj = run(opt, problem, w0, steps, batch_size=batch,
                   rng=np.random.default_rng(seed0 + s))
        out.append((traj, opt))
    return out


def measure(problem, traj, opt, travel):
    w = traj.final
    H = problem.hessian(w)
    P = np.sqrt(preconditioner(opt, traj))
    lam = top_eigenvalue(lambda x: problem.hvp(w, x), problem.dim,
                         rng=np.random.default_rng(123), tol=1e-6, max_iter=500).value
    out = dict(loss=float(problem.loss(w)) - getattr(problem, "floor", 0.0), lam=lam,
               tr=float(np.trace(H)), travel=travel(traj),
               eff=step_size(opt) * float(np.linalg.eigvalsh(P[:, None] * H * P)[-1]))
    if problem.dim == 2:
        out["ratio"] = P[0] ** 2 / P[1] ** 2  # P_u / P_v
    return out


def summarise(ms):
    out = {}
    for k in ms[0]:
        x = np.array([m[k] for m in ms], dtype=float)
        out[k] = tuple(np.percentile(x, [50, 25, 75])) if np.all(np.isfinite(x)) else \
            tuple(np.nanpercentile(x, [50, 25, 75])) if np.any(np.isfinite(x)) else (np.nan,) * 3
    return out


def tune(problem, w0s, spec, steps, batch):
    """The (lr, h) with the lowest median final loss over the tuning starts."""
    make, grid, hs = spec
    best = None
    for lr in grid:
        for h in hs:
            runs = run_all(problem, w0s, lambda lr=lr, h=h: make(lr, h), steps, batch, 10_000)
            losses = [np.inf if t.diverged else problem.loss(t.final) for t, _ in runs]
            med = float(np.median(losses))
            if best is None or med <= best[0]:
                best = (med, float(lr), h)
    return best[1], best[2]


def study(name, problem, w0s, tune_w0s, scale, steps, batch, travel, retune):
    rows = []
    for opt, spec in specs(scale).items():
        if retune or (name, opt) not in TUNED:
            lr, h = tune(problem, tune_w0s, spec, steps, batch)
            print(f"    ({name!r}, {opt!r}): ({lr!r}, {h!r}),", file=sys.stderr)
        else:
            lr, h = TUNED[(name, opt)]
        runs = run_all(problem, w0s, lambda lr=lr, h=h, m=spec[0]: m(lr, h), steps, batch, 0)
        ms = [measure(problem, t, opt, travel) for t, opt in runs]
        rows.append(dict(problem=name, protocol="tuned", optimiser=opt, lr=lr, h=h,
                         diverged=sum(t.diverged for t, _ in runs), lams=[m["lam"] for m in ms],
                         **summarise(ms)))
    return rows


# --------------------------------------------------------------------------
# The two problems
# --------------------------------------------------------------------------

def valley():
    y = np.random.default_rng(2024).standard_normal(VALLEY["n"])
    return NoisyValley(y - y.mean())


def valley_starts(seeds):
    return [np.array([np.random.default_rng(s).uniform(*VALLEY["u0"]),
                      np.random.default_rng(s + 99).choice([-1.0, 1.0])]) for s in seeds]


def valley_travel(traj):  # progress toward the flattest minimum u = 0
    return float(abs(traj.w[0, 0]) - abs(traj.final[0])) if not traj.diverged else np.nan


def valley_study(seeds, tune_seeds, retune=False):
    return study("valley", valley(), valley_starts(seeds), valley_starts(tune_seeds),
                 1.0 / VALLEY["lam_ref"], VALLEY["steps"], VALLEY["batch"], valley_travel,
                 retune)


def valley_matched(seeds, cs=(0.25, 0.5, 1.0)):
    problem, w0s, rows = valley(), valley_starts(seeds), []
    lam = VALLEY["lam_ref"]
    makers = {
        "SGD": lambda c: GD(c / lam),
        "SAM": lambda c: SAM(c / lam, rho=0.05),
        "IRE": lambda c: IRE(GD(c / lam), kappa=2.0, fraction=IRE_FRACTION, K=10),
        "AdaHessian": lambda c: AdaHessian(c),
        "variant": lambda c: NoiseScaledSGD(c / lam, rho=10.0),
    }
    for c in cs:
        for opt, make in makers.items():
            runs = run_all(problem, w0s, lambda c=c, make=make: make(c), VALLEY["steps"],
                           VALLEY["batch"], 0)
            ms = [measure(problem, t, opt, valley_travel) for t, opt in runs]
            rows.append(dict(problem="valley", protocol=f"matched c={c:g}", optimiser=opt,
                             lr=step_size(runs[0][1].opt), h=None,
                             diverged=sum(t.diverged for t, _ in runs),
                             lams=[m["lam"] for m in ms], **summarise(ms)))
    return rows


def network():
    Phi, y = toy_regression(NET["n"], 1, rng=np.random.default_rng(7))
    X = np.vstack([Phi, np.ones(NET["n"])])  # a bias input
    return TwoLayerNet(X, y, NET["width"], "tanh")


def net_travel(traj):  # ‖w_T − w_s‖, s the first step with L ≤ 1e-2 L(w_0)
    hit = np.flatnonzero(traj.loss <= 1e-2 * traj.loss[0])
    if hit.size == 0 or traj.diverged:
        return np.nan
    return float(np.linalg.norm(traj.final - traj.w[hit[0]]))


def net_study(seeds, tune_seeds, retune=False):
    net = network()
    w0s = [net.init(np.random.default_rng(s)) for s in seeds]
    lam0 = float(np.median([np.linalg.eigvalsh(net.hessian(w))[-1] for w in w0s]))
    return study("net", net, w0s, [net.init(np.random.default_rng(s)) for s in tune_seeds],
                 1.0 / lam0, NET["steps"], NET["batch"], net_travel, retune)


def experiment(n_seeds: int = 5, retune: bool = False, matched: bool = True):
    """All rows: one per (problem, protocol, optimiser)."""
    seeds, tune_seeds = list(range(n_seeds)), [1000, 1001]
    rows = valley_study(seeds, tune_seeds, retune)
    if matched:
        rows += valley_matched(seeds)
    rows += net_study(seeds, tune_seeds, retune)
    # λ_max relative to SGD's from the same start and batches (a paired comparison)
    sgd = {(r["problem"], r["protocol"]): np.array(r["lams"]) for r in rows
           if r["optimiser"] == "SGD"}
    for r in rows:
        rel = np.array(r["lams"]) / sgd[(r["problem"], r["protocol"])]
        r["rel"] = tuple(np.percentile(rel, [50, 25, 75]))
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
    ap.add_argument("--retune", action="store_true",
                    help="search the step sizes again and print them (instead of TUNED)")
    ap.add_argument("--no-matched", action="store_true", help="skip the matched protocol")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rows = experiment(args.seeds, args.retune, not args.no_matched)
    elapsed = time.perf_counter() - start
    print(table(rows))
    print(f"\nmedian [IQR] over {args.seeds} seeds; hp: SAM's rho, IRE's kappa or the "
          f"variant's rho; div: diverged runs; <SGD: runs whose lambda_max is below SGD's "
          f"from the same start and batches; total {elapsed:.1f} s")


if __name__ == "__main__":
    main()
