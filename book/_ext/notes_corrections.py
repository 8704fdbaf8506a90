"""Sphinx extension: gather every "The notes say ..." box into one page.

Each chapter marks where the course notes go wrong with an admonition titled
"The notes say …". This extension gives each such box an anchor and provides
the directive ``notes-corrections``, which lists every box of the book, in
reading order, with its chapter, section, first sentence and a link to it
(modelled on ``sphinx.ext.todo``'s ``todolist``). The first paragraph of each
box, which quotes the notes, is copied into the list.
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

PREFIX = "The notes say"


class corrections_list(nodes.General, nodes.Element):
    """Placeholder replaced by the list once every document is read."""


class NotesCorrections(SphinxDirective):
    """``notes-corrections``: the list of every "The notes say …" box."""

    def run(self):
        self.env.notes_corrections_pages = getattr(self.env, "notes_corrections_pages", set())
        self.env.notes_corrections_pages.add(self.env.docname)
        return [corrections_list("")]


def _first_paragraph(node: nodes.Element) -> list[nodes.Node]:
    """A copy of the box's first paragraph (the quoted claim), math included."""
    for para in node.findall(nodes.paragraph):
        return list(para.deepcopy().children)
    return []


def collect(app, doctree):
    env = app.env
    found = getattr(env, "notes_corrections", {})
    found[env.docname] = []
    for k, node in enumerate(doctree.findall(nodes.admonition)):
        titles = [c for c in node.children if isinstance(c, nodes.title)]
        if not titles or not titles[0].astext().startswith(PREFIX):
            continue
        anchor = f"notes-correction-{k}"
        node["ids"].append(anchor)
        section = node.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        section_title = section[0].astext() if section is not None else ""
        found[env.docname].append({"anchor": anchor, "section": section_title,
                                   "claim": _first_paragraph(node)})
    env.notes_corrections = found
    if any(doctree.findall(corrections_list)):
        # The copied boxes contain math: make Sphinx load MathJax on this page
        # (the math domain looked for math before the list existed).
        env.get_domain("math").data["has_equations"][env.docname] = True


def purge(app, env, docname):
    getattr(env, "notes_corrections", {}).pop(docname, None)


def merge(app, env, docnames, other):
    env.notes_corrections = getattr(env, "notes_corrections", {})
    for docname in docnames:
        env.notes_corrections[docname] = other.notes_corrections.get(docname, [])


def outdated(app, env, added, changed, removed):
    """Rebuild the list's page whenever any other page changed."""
    if added or changed or removed:
        return sorted(getattr(env, "notes_corrections_pages", set()))
    return []


def _reading_order(env) -> list[str]:
    order, stack = [], [env.config.root_doc]
    while stack:
        doc = stack.pop(0)
        if doc not in order:
            order.append(doc)
            stack = env.toctree_includes.get(doc, []) + stack
    return order


class FillCorrectionsList(SphinxPostTransform):
    """Replace the placeholder by the list, before cross-references are resolved
    (priority 5 < 10 of Sphinx's resolver), so the copied boxes' references and
    citations resolve on this page too."""

    default_priority = 5

    def run(self, **kwargs):
        env, builder = self.env, self.app.builder
        fromdocname = env.docname
        found = getattr(env, "notes_corrections", {})
        for placeholder in self.document.findall(corrections_list):
            items = nodes.bullet_list()
            for docname in _reading_order(env):
                for entry in found.get(docname, []):
                    title = env.titles[docname].astext()
                    uri = builder.get_relative_uri(fromdocname, docname) + "#" + entry["anchor"]
                    para = nodes.paragraph()
                    para += nodes.reference("", f"{title} — {entry['section']}",
                                            internal=True, refuri=uri)
                    para += nodes.Text(": ")
                    for child in entry["claim"]:
                        child = child.deepcopy()
                        for xref in child.findall(addnodes.pending_xref):
                            xref["refdoc"] = fromdocname
                        if isinstance(child, addnodes.pending_xref):
                            child["refdoc"] = fromdocname
                        para += child
                    items += nodes.list_item("", para)
            if len(items):
                placeholder.replace_self(items)
            else:
                placeholder.replace_self(nodes.paragraph(text="No corrections yet."))


def setup(app):
    app.add_node(corrections_list)
    app.add_directive("notes-corrections", NotesCorrections)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", outdated)
    app.add_post_transform(FillCorrectionsList)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
