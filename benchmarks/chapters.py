"""Measure the chapter speed bars of BOOK_STANDARD.md: execution time and slider latency.

For every chapter in book/: the wall time of a top-to-bottom run in a fresh
kernel as the book build does it (with the website's slider frames, the
slower case), and, for every slider figure the
chapter creates, the time of one slider move (update the artists, redraw,
encode the PNG) as median and 95th percentile over many random moves.

Run with ``make bench``. Prints a table; exits non-zero if a bar is missed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_LIMIT_S = 20.0
NETWORK_CHAPTER_LIMIT_S = 45.0  # BOOK_STANDARD: a chapter that trains networks on real data
SLIDER_P95_LIMIT_MS = 50.0
MOVES = 200

# Appended to each chapter: time every SliderFigure the chapter created.
PROBE = f"""
import json as _json, numpy as _np
from optbook.sliders import SliderFigure as _SF
_rows, _seen = [], set()
for _name, _obj in list(globals().items()):
    if isinstance(_obj, _SF) and not _name.startswith("_") and id(_obj) not in _seen:
        _seen.add(id(_obj))
        _t = _obj.time_updates({MOVES}) * 1e3
        _rows.append([_name, float(_np.median(_t)), float(_np.percentile(_t, 95))])
print("OPTBOOK_BENCH" + _json.dumps(_rows))
"""


def chapters() -> list[Path]:
    """The book's chapters, in order."""
    return sorted((ROOT / "book").glob("ch*.ipynb"))


def run_chapter(path: Path) -> tuple[float, list]:
    """Run one chapter in a fresh kernel with the website's frames (``OPTBOOK_FRAMES=1``);
    return its wall time (s) and ``[name, median ms, p95 ms]`` for each slider figure."""
    os.environ["OPTBOOK_FRAMES"] = "1"  # inherited by the kernel
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        elapsed = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    rows = json.loads(text.split("OPTBOOK_BENCH", 1)[1]) if "OPTBOOK_BENCH" in text else []
    return elapsed, rows


def chapter_limit(path: Path) -> float:
    """The chapter's time bar: 45 s if it trains networks on real data (it loads
    MNIST-1D), else 20 s."""
    return NETWORK_CHAPTER_LIMIT_S if "mnist1d(" in path.read_text() else CHAPTER_LIMIT_S


def chapter_rows(path: Path) -> list[dict]:
    """Run one chapter (:func:`run_chapter`); one row for its run time and one per slider,
    each with name, value, unit, goal and ok (whether the bar is met)."""
    elapsed, sliders = run_chapter(path)
    limit = chapter_limit(path)
    rows = [{"name": f"{path.stem} run", "value": elapsed, "unit": "s",
             "goal": f"< {limit:.0f}", "ok": elapsed < limit}]
    for name, med, p95 in sliders:
        rows.append({"name": f"{path.stem} slider {name} p95", "value": p95, "unit": "ms",
                     "goal": f"< {SLIDER_P95_LIMIT_MS:.0f}", "ok": p95 < SLIDER_P95_LIMIT_MS,
                     "slider": name, "median": med})
    return rows


def main() -> int:
    ok = True
    print(f"{'chapter':<28}{'run (s)':>9}   slider: median / p95 of {MOVES} moves (ms)")
    for path in chapters():
        run, *sliders = chapter_rows(path)
        ok &= all(row["ok"] for row in (run, *sliders))
        text = "; ".join(f"{row['slider']}: {row['median']:.1f} / {row['value']:.1f}"
                         for row in sliders) or "none"
        print(f"{path.name:<28}{run['value']:>9.2f}   {text}")
    print(f"bars: chapter < {CHAPTER_LIMIT_S:.0f} s (< {NETWORK_CHAPTER_LIMIT_S:.0f} s with "
          f"networks on MNIST-1D), slider p95 < {SLIDER_P95_LIMIT_MS:.0f} ms: "
          + ("all met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
