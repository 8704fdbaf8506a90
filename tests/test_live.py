"""Browser tests of "Run live": every chapter's code runs in the page, offline.

Same machinery as test_site.py (its ``site`` and ``browser`` fixtures, Debian's
Chromium driven by playwright, skipped or failed the same way when Chromium is
absent). On every chapter page: nothing of the runtime loads before the click;
"Run live" reaches ready; all cells run in order without an error or a warning;
an edited cell shows a new output; an error shows a traceback and the session goes
on; no request leaves the site and the console stays clean. The time to ready and
to the first figure of each chapter are printed and written to
``_build/live-timings.json``.

All chapters share one browser context, so later chapters load Pyodide and the
wheels from the browser's cache, as a reader's would.
"""

from __future__ import annotations

import json
import time

import pytest
from test_site import CHAPTERS, HTML, ROOT, SHOTS, PageLog, _unavailable

LIVE = HTML / "_static" / "live" / "manifest.json"
READY_TIMEOUT_MS = 180_000
RUN_TIMEOUT_MS = 300_000
TIMINGS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def context(browser, site):  # browser first: skips before building
    if not LIVE.exists():
        _unavailable("the live assets are missing: `make book` printed why (no network?)")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()
    out = ROOT / "_build" / "live-timings.json"
    out.write_text(json.dumps(TIMINGS, indent=1) + "\n")


def _resources(page) -> list[str]:
    return page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")


def _run(page, index: int, source: str) -> dict:
    """Replace the source of cell ``index``, run it, return its live output."""
    runs = page.evaluate(f"optbookLive.cells[{index}].runs || 0")
    page.locator("textarea.optbook-live-code").nth(index).fill(source)
    page.locator("button.optbook-live-run").nth(index).click()
    page.wait_for_function(f"""() => optbookLive.cells[{index}].runs > {runs}
        && document.body.dataset.optbookLive === 'ready'""", timeout=60_000)
    return page.evaluate(f"""() => {{
        const c = optbookLive.cells[{index}];
        return {{text: c.out.innerText, errors: c.errors}}; }}""")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_live(context, site, chapter):
    page = context.new_page()
    log = PageLog(page, site)
    page.goto(f"{site}/book/{chapter}.html", wait_until="networkidle")
    button = page.locator("button.optbook-live-button")
    assert button.count() == 1 and button.text_content().strip().endswith("Run live")
    before = [u for u in _resources(page) if "/_static/live/" in u and not u.endswith(
        ("live.js", "live.css"))]
    assert before == [], f"runtime loaded before the click: {before}"

    t0 = time.perf_counter()
    button.click()
    page.wait_for_function("['ready', 'failed'].includes(document.body.dataset.optbookLive)",
                           timeout=READY_TIMEOUT_MS)
    status = page.locator(".optbook-live-status").text_content()
    assert page.evaluate("document.body.dataset.optbookLive") == "ready", status
    ready_wall = time.perf_counter() - t0

    n = page.locator("textarea.optbook-live-code").count()
    assert n == page.locator("div.cell .cell_input").count() and n > 0
    page.locator("button.optbook-live-button").click()  # now "Run all cells"
    page.wait_for_function("""() => optbookLive.cells.every(c => c.ran)
        && document.body.dataset.optbookLive === 'ready'""", timeout=RUN_TIMEOUT_MS)
    run_wall = time.perf_counter() - t0 - ready_wall
    cells = page.evaluate("""() => optbookLive.cells.map(c => ({
        errors: c.errors, ms: c.ms, text: c.out.innerText,
        stderr: c.out.querySelectorAll('.optbook-live-stderr').length,
        images: c.out.querySelectorAll('img').length,
        math: c.out.querySelectorAll('mjx-container').length,
        staticImages: c.staticOut ? c.staticOut.querySelectorAll('img').length : 0}))""")
    failing = [(k + 1, c["text"][-800:]) for k, c in enumerate(cells) if c["errors"]]
    assert failing == [], f"cells that fail live: {failing}"
    warned = [(k + 1, c["text"][-400:]) for k, c in enumerate(cells) if c["stderr"]]
    assert warned == [], f"cells that write to stderr live: {warned}"
    if any(c["staticImages"] for c in cells):
        assert any(c["images"] for c in cells), "no figure shown live"
    assert sum(c["math"] for c in cells) > 0, "no SymPy output typeset live"
    assert page.locator(".optbook-live-output mjx-merror").count() == 0

    # Edit a cell: a new number gives a new output; the session keeps its state.
    last = page.evaluate("""() => optbookLive.cells.map(c => c.code.checkVisibility(
        {opacityProperty: true, visibilityProperty: true}) && c.code.offsetHeight > 0)
        .lastIndexOf(true)""")  # the last cell a reader sees (solutions are folded)
    assert last >= 0
    original = page.locator("textarea.optbook-live-code").nth(last).input_value()
    first = _run(page, last, original + "\n6 * 7")
    second = _run(page, last, original + "\n6 * 9")
    assert first["errors"] == second["errors"] == 0
    assert first["text"].rstrip().endswith("42") and second["text"].rstrip().endswith("54")
    assert first["text"] != second["text"]
    # An error shows its traceback under the cell, and the next run works.
    broken = _run(page, last, "x_live = 1\nx_live / 0")
    assert broken["errors"] == 1 and "ZeroDivisionError" in broken["text"]
    assert f'"<cell {last + 1}>", line 2' in broken["text"], broken["text"]
    assert _run(page, last, "x_live + 1")["text"].strip() == "2"

    times = page.evaluate("optbookLive.times")
    TIMINGS[chapter] = {"ready_s": round(times["ready"] / 1000, 2),
                        "first_figure_s": round(times.get("figure", 0) / 1000, 2) or None,
                        "run_all_s": round(run_wall, 2), "cells": n,
                        "slowest_cell_s": round(max(c["ms"] for c in cells) / 1000, 2),
                        "steps_ms": times["steps"]}
    print(f"{chapter}: ready {times['ready'] / 1000:.1f} s, first figure "
          f"{times.get('figure', float('nan')) / 1000:.1f} s after the click, "
          f"{n} cells in {run_wall:.1f} s")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{chapter}-live.png"), full_page=True)
    assert log.external == [], f"requests leaving the site: {log.external}"
    assert log.failed == [], f"failed requests: {log.failed}"
    assert log.errors == [], f"console errors: {log.errors}"
    page.close()


def _live_assets():
    import importlib.util

    spec = importlib.util.spec_from_file_location("live_assets", ROOT / "tools" / "live_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_changed_file_fails_verification(tmp_path):
    """The build refuses a file whose sha256 differs from the lock's or the pin's."""
    live_assets = _live_assets()
    wheel = tmp_path / "sympy-1.14.0-py3-none-any.whl"
    wheel.write_bytes(b"not the wheel on PyPI")
    with pytest.raises(live_assets.Mismatch, match="sympy-1.14.0-py3-none-any.whl has sha256"):
        live_assets.verify(wheel, live_assets.PURE_WHEELS[wheel.name], "sympy==1.14.0")
    lock = {"packages": {"a": {"depends": ["b"]}, "b": {"depends": ["a", "c"]},
                         "c": {"depends": []}, "d": {"depends": []}}}
    assert live_assets.closure(lock, ["a"]) == ["a", "b", "c"]
