"""Smoke test of the benchmark (benchmarks/perf.py, ``make bench``): its table, its JSON and
the run-loop check, at tiny sizes. Timing goals are not tested: the machine decides them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PERF = ROOT / "benchmarks" / "perf.py"
ROW_KEYS = {"section", "name", "value", "unit", "goal", "ok"}


def _load_perf():
    spec = importlib.util.spec_from_file_location("optbook_bench_perf", PERF)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


perf = _load_perf()
TINY = perf.Sizes(d=1000, step_repeats=2, run_steps=50, run_repeats=1, memory_d=100,
                  memory_steps=3)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``perf.py --quick --only steps,run`` in a subprocess: its stdout and its JSON."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run([sys.executable, str(PERF), "--quick", "--only", "steps,run",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())


@pytest.mark.kernel  # runs perf.py in a subprocess
def test_quick_run_prints_a_line_per_optimiser_and_dtype(quick):
    stdout, _ = quick
    lines = stdout.splitlines()
    for case in perf.STEP_CASES:
        for dtype in ("float64", "float32"):
            hits = [ln for ln in lines if ln.startswith(f"  {case.name} ") and dtype in ln]
            assert len(hits) == 1, (case.name, dtype, stdout)
            assert hits[0].rstrip().split()[-1] in ("yes", "NO", "n/a"), hits[0]
    assert "identical: yes" in stdout
    assert lines[-1].startswith("goals held (") and " | NOT held (" in lines[-1]


@pytest.mark.kernel  # runs perf.py in a subprocess
def test_quick_run_writes_the_rows_as_json(quick):
    _, data = quick
    rows = data["rows"]
    assert data["quick"] is True and data["sections"] == ["steps", "run"]
    assert all(ROW_KEYS <= row.keys() for row in rows)
    assert {row["section"] for row in rows} == {"steps", "run"}
    steps = [row for row in rows if row["section"] == "steps"]
    assert len(steps) == 2 * len(perf.STEP_CASES)
    for row in steps:
        assert row["value"] > 0 and row["floor_ms"] > 0 and row["copy_GBps"] > 0
        assert row["vs_floor"] == pytest.approx(row["value"] / row["floor_ms"])
        assert row["ok"] in (True, False, None)
    identical = [row for row in rows if row.get("goal") == "identical"]
    assert len(identical) == 1 and identical[0]["ok"] is True


def test_bare_loop_is_runs_trajectory_and_a_difference_shows():
    bare = perf.bare_gd(perf.QUAD_H, perf.QUAD_B, perf.QUAD_W0, perf.QUAD_LR, 200)
    traj = perf.run_gd(200)
    assert perf.same_trajectory(traj, bare)
    W, loss, grad_norm = bare
    off = W.copy()
    off[100, 0] = np.nextafter(off[100, 0], np.inf)  # one unit in the last place
    assert not perf.same_trajectory(traj, (off, loss, grad_norm))
    shifted = perf.bare_gd(perf.QUAD_H, perf.QUAD_B, perf.QUAD_W0, perf.QUAD_LR * 1.001, 200)
    assert not perf.same_trajectory(traj, shifted)


def test_without_torch_the_step_table_says_so(monkeypatch, capsys):
    monkeypatch.setattr(perf, "torch_module", lambda: None)
    rows = perf.step_rows(TINY)
    printed = capsys.readouterr().out
    assert printed.count(perf.NO_TORCH) == 2 * (len(perf.STEP_CASES) - 1)  # not SAM's rows
    for row in rows:
        assert row["torch_ms"] is None and row["vs_torch"] is None
        if row["vs_floor"] > perf.STEP_VS_FLOOR:
            assert row["ok"] is False
        else:
            assert row["ok"] is (True if row["name"].startswith("SAM") else None)


def test_run_memory_counts_the_kept_trajectory():
    trajectory, peak = perf.run_memory_rows(TINY)
    expected = ((TINY.memory_steps + 1) * TINY.memory_d + 2 * (TINY.memory_steps + 1)) * 8
    assert trajectory["value"] == pytest.approx(expected / 2**20)
    assert peak["value"] >= trajectory["value"]


def test_summary_names_held_missed_and_unmeasured_goals():
    rows = [{"name": "a", "goal": "<= 1", "ok": True}, {"name": "b", "goal": "<= 1", "ok": False},
            {"name": "c", "goal": "<= 1", "ok": None}, {"name": "d", "goal": "", "ok": None}]
    assert perf.summary(rows) == ("goals held (1): a | NOT held (1): b | not measured (1): c")


def test_unknown_section_is_refused(capsys):
    with pytest.raises(SystemExit):
        perf.parse_args(["--only", "steps,nope"])
    assert "nope" in capsys.readouterr().err
