"""Sphinx extension: slider figures' frames as files, loaded when needed; images loaded lazily.

A slider figure's output (``optbook.sliders.SliderFigure.frames_html``) carries its frames
inline, as WebP data URIs: self-contained in the notebook and the execution cache. Inline
frames cannot be cached by the browser, nor fetched only when a reader gets near the
figure, and they made a chapter's HTML 0.5-1.7 MB. After the build, every frame of every
page is written once to ``_frames/<sha256>.webp`` (named by its content: the same frame is
one file, and a browser may cache it for good) and the page refers to it instead. The
page script ``optbook_sliders.js`` (shipped from ``slider_static/``) fetches a figure's
frames when it comes within a screen of the viewport.

Every other image of a page gets ``loading="lazy"``: a chapter's first load is its HTML and
what is on the first screen.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "slider_static"
FRAMES = "_frames"
DATA_URI = re.compile(r"data:image/webp;base64,([A-Za-z0-9+/=]+)")
EAGER_IMG = re.compile(r"<img (?![^>]*\bloading=)")


def add_static(app, config):
    config.html_static_path.append(str(STATIC))


def add_script(app, pagename, templatename, context, doctree):
    if doctree is not None and "optbook-slider" in doctree.astext():
        app.add_js_file("optbook_sliders.js", defer="defer")


def frames_to_files(page: Path, outdir: Path) -> int:
    """Move the page's WebP data URIs into ``outdir/_frames``; returns how many."""
    text = page.read_text(encoding="utf-8")
    folder = outdir / FRAMES
    prefix = os.path.relpath(folder, page.parent).replace(os.sep, "/")
    moved = 0

    def to_file(m: re.Match) -> str:
        nonlocal moved
        data = base64.b64decode(m.group(1))
        name = hashlib.sha256(data).hexdigest()[:24] + ".webp"
        target = folder / name
        if not target.exists():
            folder.mkdir(exist_ok=True)
            target.write_bytes(data)
        moved += 1
        return f"{prefix}/{name}"

    lean = EAGER_IMG.sub('<img loading="lazy" ', DATA_URI.sub(to_file, text))
    if lean != text:
        page.write_text(lean, encoding="utf-8")
    return moved


def rewrite_site(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        if not page.is_relative_to(outdir / "_static"):
            frames_to_files(page, outdir)


def setup(app):
    app.connect("config-inited", add_static)
    app.connect("html-page-context", add_script)
    app.connect("build-finished", rewrite_site)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
