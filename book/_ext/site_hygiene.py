"""Sphinx extension: keep every page of the site self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe, which declares ``const THEBE_JS_URL``
in a script (pointing at a CDN) on every page; with sphinx-book-theme the
declaration appears twice, a console error ("Identifier 'THEBE_JS_URL' has
already been declared"). The book does not use thebe (live code in the browser
is served from the site itself, without a CDN), so this extension removes
sphinx-thebe's scripts while ``launch_buttons.thebe`` is off.

The theme loads ``fontawesome.js`` (1.5 MB, a third of a chapter page's weight) only
to turn icon ``<i>`` tags into SVG; its CSS web font already draws the same icons.
After the build, the script tag is removed from every page.

Launch buttons (Binder, Colab) need the book's repository: while
``repository.url`` is empty in ``_config.yml`` they are switched off here, so
the site never shows a broken link (sphinx-book-theme would fail the build).
"""

from __future__ import annotations

import re
from pathlib import Path

FONTAWESOME_JS = re.compile(r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*">'
                            r"</script>\s*")


def drop_thebe(app):
    theme_options = app.config.html_theme_options or {}
    if theme_options.get("launch_buttons", {}).get("thebe"):
        return
    for listeners in app.events.listeners.values():
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)


def launch_buttons_need_a_repository(app, config):
    theme_options = config.html_theme_options or {}
    if theme_options.get("repository_url"):
        return
    buttons = dict(theme_options.get("launch_buttons", {}))
    for key in ("binderhub_url", "colab_url", "jupyterhub_url", "jupyterlite_url"):
        buttons.pop(key, None)
    theme_options["launch_buttons"] = buttons


def drop_fontawesome_js(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lean = FONTAWESOME_JS.sub("", text)
        if lean != text:
            page.write_text(lean, encoding="utf-8")


def setup(app):
    app.connect("config-inited", launch_buttons_need_a_repository)
    app.connect("builder-inited", drop_thebe)
    app.connect("build-finished", drop_fontawesome_js)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
