"""Sphinx extension: keep every page of the site self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe, which declares ``const THEBE_JS_URL``
in a script (pointing at a CDN) on every page; with sphinx-book-theme the
declaration appears twice, a console error ("Identifier 'THEBE_JS_URL' has
already been declared"). The book does not use thebe (live code in the browser
is served from the site itself, without a CDN), so this extension removes
sphinx-thebe's scripts while ``launch_buttons.thebe`` is off.
"""

from __future__ import annotations


def drop_thebe(app):
    theme_options = app.config.html_theme_options or {}
    if theme_options.get("launch_buttons", {}).get("thebe"):
        return
    for listeners in app.events.listeners.values():
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)


def setup(app):
    app.connect("builder-inited", drop_thebe)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
