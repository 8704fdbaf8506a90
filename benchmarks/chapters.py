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


def run_chapter(path: Path) -> tuple[float, list]:
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


def main() -> int:
    os.environ["OPTBOOK_FRAMES"] = "1"  # inherited by the kernels
    chapters = sorted((ROOT / "book").glob("ch*.ipynb"))
    ok = True
    print(f"{'chapter':<28}{'run (s)':>9}   slider: median / p95 of {MOVES} moves (ms)")
    for path in chapters:
        elapsed, rows = run_chapter(path)
        ok &= elapsed < CHAPTER_LIMIT_S
        sliders = "; ".join(f"{name}: {med:.1f} / {p95:.1f}" for name, med, p95 in rows) or "none"
        ok &= all(p95 < SLIDER_P95_LIMIT_MS for _, _, p95 in rows)
        print(f"{path.name:<28}{elapsed:>9.2f}   {sliders}")
    print(f"bars: chapter < {CHAPTER_LIMIT_S:.0f} s, slider p95 < {SLIDER_P95_LIMIT_MS:.0f} ms: "
          + ("all met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
