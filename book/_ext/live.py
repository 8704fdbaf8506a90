"""Sphinx extension: the "Run live" control on every chapter page (live Python, offline).

``make live`` (tools/live_assets.py) stages Pyodide and the wheels in
``book/_vendor/live/`` (copied to ``_static/live/`` by ``html_static_path``). When
its ``manifest.json`` exists, this extension adds live.js and live.css to chapter
pages only and copies them, with live_worker.js (Python runs in a Web Worker) and
live_runtime.py, from ``live_static/live/`` next to the assets. live.js adds the
button; nothing else loads before the reader clicks it. Without the assets (no
network at build time) nothing is added: the control is absent, never broken.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "live_static" / "live"
FILES = ("live.js", "live.css", "live_worker.js", "live_runtime.py")
CHAPTER = re.compile(r"(^|/)ch\d\d_[^/]*$")


def find_assets(app, config):
    manifest = Path(app.confdir) / "book" / "_vendor" / "live" / "manifest.json"
    app._optbook_live = manifest.exists()


def add_to_chapters(app, pagename, templatename, context, doctree):
    if app._optbook_live and CHAPTER.search(pagename):
        app.add_js_file("live/live.js", defer="defer")
        app.add_css_file("live/live.css")


def copy_sources(app, exception):
    if exception is None and app._optbook_live and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "live"
        target.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(SOURCES / name, target / name)


def setup(app):
    app.connect("config-inited", find_assets)
    app.connect("html-page-context", add_to_chapters)
    app.connect("build-finished", copy_sources)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
