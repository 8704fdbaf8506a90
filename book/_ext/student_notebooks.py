"""Sphinx extension: a "student version" download on every chapter page.

For each page whose source is a notebook with exercises, the build writes the student
version of the chapter (solutions replaced by stubs, hidden tests removed, outputs
cleared: :mod:`optbook.coursework.student`, the code behind ``optbook student``) to
``_student/<page>.ipynb`` in the HTML output, and adds an entry to sphinx-book-theme's
download menu, next to the full notebook.

The theme fills the page's ``header_buttons`` context in its ``html-page-context``
handler (priority 501); this one runs after it (priority 502) and adds a link to the
"download-buttons" group. A leak of solution text fails the build.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from sphinx.errors import ExtensionError

from optbook.coursework.student import leak_check, read_notebook, student_notebook

OUT_DIR = "_student"


def _write_student_version(app, pagename: str) -> str | None:
    """Write the page's student notebook; its path in the output (None: no exercises)."""
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return None
    key = read_notebook(source)
    try:
        version = student_notebook(key, source.name)
    except ValueError as err:
        if "no exercises found" in str(err):
            return None
        raise ExtensionError(f"student version of {source.name}: {err}") from err
    problems = leak_check(key, version)
    if problems:
        raise ExtensionError(f"the student version of {source.name} leaks: {problems}")
    target = f"{OUT_DIR}/{pagename}.ipynb"
    (Path(app.outdir) / target).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(version.notebook, Path(app.outdir) / target)
    return target


def add_student_download(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or doctree is None:
        return
    group = next((b for b in context.get("header_buttons", [])
                  if b.get("label") == "download-buttons"), None)
    if group is None:
        return
    target = _write_student_version(app, pagename)
    if target is None:
        return
    button = {
        "type": "link",
        "url": context["pathto"](target, 1),
        "text": "student .ipynb",
        "icon": "fas fa-user-graduate",
        "tooltip": "Download the student version: exercises without their solutions",
        "label": "download-student-notebook-button",
    }
    buttons = group["buttons"]
    labels = [b.get("label") for b in buttons]  # after the full notebook (or the source)
    after = next((labels.index(label) + 1 for label in
                  ("download-notebook-button", "download-source-button") if label in labels), 0)
    buttons.insert(after, button)


def setup(app):
    app.connect("html-page-context", add_student_download, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
