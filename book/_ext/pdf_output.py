"""Sphinx extension: the book as a PDF (``make pdf``: the LaTeX builder, xelatex).

The website's pages carry HTML that LaTeX cannot use. In the LaTeX build only, this
extension

* renders each verdict badge (``<span class="optbook-verdict optbook-kind-K">…</span>``,
  raw HTML in the checks' Markdown output) as a ``verdict_badge`` node, drawn by
  ``\\optbookbadge`` (``latex/optbook.sty``) in the website's colours, with the badge's
  anchor (``check-N``) as a LaTeX label, so that the page of all checks links to it;
* shows a slider figure (its bundle holds the website's frames as HTML and the
  default frame as PNG) as that PNG, followed by the line "Interactive on the
  website: <the chapter's page>" (``html_baseurl`` when set, else the page's path);
* shows the source listings of ``inspect.getsource`` (IPython ``Code`` objects, whose
  ``text/latex`` needs Pygments macros that Sphinx does not define) as Python code;
* moves every solution (sphinx-exercise's ``solution``) to a section "Solutions to the
  exercises" at the end of its chapter;
* loads ``latex/optbook.sty`` and ships ``latex/bbm.sty``, a stand-in for the package
  that sphinx-jupyterbook-latex's class requires and Debian packs only in
  texlive-fonts-extra (1.4 GB).

Any other raw HTML (the per-page legend, ``<span>`` tags around text) is dropped by
Sphinx's LaTeX writer, keeping the text between the tags.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

from optbook.verdict import Kind

HERE = Path(__file__).resolve().parent / "latex"
CHAPTER = re.compile(r"(^|/)ch\d\d_[^/]*$")
BADGE_OPEN = re.compile(r'^<span\b[^>]*\bclass="optbook-verdict optbook-kind-([a-z]+)"[^>]*>')
BADGE_FULL = re.compile(BADGE_OPEN.pattern + r"(.*)</span>$", re.S)
ANCHOR = re.compile(r'\bid="([^"]+)"')


class verdict_badge(nodes.Inline, nodes.TextElement):
    """A verdict badge in the PDF: ``kind`` (a :class:`optbook.verdict.Kind`), ``anchor``."""


def visit_badge_latex(self, node):
    if node.get("anchor"):
        self.body.append(self.hypertarget(node["anchor"]))
    self.body.append(rf"\optbookbadge{{{node['kind']}}}{{")


def depart_badge_latex(self, node):
    self.body.append("}")


def visit_badge_text(self, node):
    pass


def depart_badge_text(self, node):
    pass


def _is_latex(app) -> bool:
    return app.builder.format == "latex"


def _docname(node) -> str:
    """The document a node of the assembled LaTeX doctree comes from (sphinx-jupyterbook-latex
    moves the chapters' sections out of Sphinx's ``start_of_file`` nodes, and marks each
    section with its ``docname``)."""
    while node is not None:
        if isinstance(node, addnodes.start_of_file) or (
                isinstance(node, nodes.section) and node.get("docname")):
            return node["docname"]
        node = node.parent
    return ""


def _page_url(app, docname: str) -> str:
    base = (app.config.html_baseurl or "").rstrip("/")
    return f"{base}/{docname}.html" if base else ""


class PdfOutputs(SphinxPostTransform):
    """Slider figures and source listings: pick what LaTeX can show (before myst-nb's
    ``SelectMimeType``, priority 4, chooses one mime type per output)."""

    default_priority = 3
    formats = ("latex",)

    def run(self, **kwargs):
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("nb_element") != "mime_bundle":
                continue
            by_type = {child.get("mime_type"): child for child in bundle.children}
            page = by_type.get("text/html")
            if page is not None and "optbook-slider" in page.astext() and "image/png" in by_type:
                bundle.remove(page)
                by_type["image/png"] += self._interactive_line(_docname(bundle))
            code = by_type.get("text/latex")
            if (code is not None and "text/plain" in by_type
                    and code.astext().lstrip().startswith(r"\begin{Verbatim}")):
                bundle.remove(code)
                for block in by_type["text/plain"].findall(nodes.literal_block):
                    block["language"] = "python"

    def _interactive_line(self, docname: str) -> nodes.paragraph:
        para = nodes.paragraph(classes=["optbook-interactive"])
        para += nodes.Text("Interactive on the website: ")
        url = _page_url(self.app, docname)
        if url:
            para += nodes.reference(url, url, refuri=url)
        else:
            para += nodes.literal(text=f"{docname}.html")
            para += nodes.Text(", this chapter's page (move the sliders there)")
        para += nodes.Text(".")
        return para


def _badge(kind: str, anchor: str | None, children) -> verdict_badge:
    node = verdict_badge("", "", *children, kind=kind)
    if anchor:
        node["anchor"] = anchor
    return node


def badges_to_latex(app, doctree, docname):
    """Replace the badges' raw HTML by ``verdict_badge`` nodes (after the page of all
    checks is built, also at ``doctree-resolved``)."""
    if not _is_latex(app):
        return
    kinds = {k.value for k in Kind}
    for raw in list(doctree.findall(nodes.raw)):
        if raw.get("format") != "html" or raw.parent is None:
            continue
        text = raw.astext().strip()
        opening = BADGE_OPEN.match(text)
        if not opening or opening.group(1) not in kinds:
            continue
        anchor = ANCHOR.search(opening.group(0))
        anchor = anchor.group(1) if anchor else None
        full = BADGE_FULL.match(text)
        if full:
            raw.replace_self(_badge(full.group(1), anchor,
                                    [nodes.Text(html.unescape(full.group(2)))]))
            continue
        parent = raw.parent
        siblings = parent.children[parent.index(raw) + 1:]
        end = next((i for i, n in enumerate(siblings) if isinstance(n, nodes.raw)
                    and n.astext().strip() == "</span>"), None)
        if end is None:  # no closing tag: the text stays, without the box
            continue
        inside = siblings[:end]
        for node in [*inside, siblings[end]]:
            parent.remove(node)
        raw.replace_self(_badge(opening.group(1), anchor, inside))


def anchors_to_latex(app, doctree, docname):
    """Give LaTeX the anchors that Sphinx's LaTeX writer drops: the ids of inline nodes (the
    notes markers, ``notes-K``) and of table rows (the notes map's ``claim-...``), so that the
    links between the chapters and the notes map resolve in the PDF."""
    if not _is_latex(app):
        return
    for node in list(doctree.findall(lambda n: isinstance(n, (nodes.inline, nodes.row))
                                     and n.get("ids"))):
        doc = _docname(node) or docname
        labels = "".join(rf"\phantomsection\label{{\detokenize{{{doc}:{i}}}}}"
                         for i in node["ids"])
        raw = nodes.raw("", labels, format="latex")
        if isinstance(node, nodes.row):
            node[0].insert(0, raw)
        else:
            node.parent.insert(node.parent.index(node), raw)


UPRIGHT_ONLY = re.compile("([ᵀᵗᵢ])")  # modifier letters that FreeSerif has only upright


def upright_modifiers(app, doctree, docname):
    """In italic text (emphasis, and cross-references, which Sphinx sets in italic), set ᵀ,
    ᵗ and ᵢ upright: FreeSerif's italic has none of them, and a ``newunicodechar`` mapping
    breaks Sphinx's code listings, where they also occur."""
    if not _is_latex(app):
        return
    italic = [n for n in doctree.findall(nodes.Inline)  # a reference: \sphinxcrossref
              if isinstance(n, nodes.emphasis | nodes.reference)]
    for node in italic:
        for text in list(node.findall(nodes.Text)):
            parts = UPRIGHT_ONLY.split(str(text))
            if len(parts) == 1:
                continue
            pieces = [nodes.raw("", rf"\textup{{{p}}}", format="latex") if k % 2
                      else nodes.Text(p) for k, p in enumerate(parts) if p]
            parent = text.parent
            at = parent.index(text)
            parent.remove(text)
            for offset, piece in enumerate(pieces):
                parent.insert(at + offset, piece)


def _numbered_parts(app) -> dict[str, bool]:
    """The parts of the table of contents (their captions) and whether they are numbered."""
    site_map = getattr(app.env, "external_site_map", None)
    if site_map is None:
        return {}
    return {tree.caption: bool(tree.numbered) for tree in site_map[site_map.root.docname].subtrees
            if tree.caption}


def chapter_numbers(app, doctree, docname):
    """Number the chapters as the website does: the chapters of a numbered part from 1, the
    others (notation, the notes map, the bibliography ...) without a number. LaTeX would
    number every chapter in one sequence, and the numbers in the text (Proposition 3.4.1,
    which Sphinx computes) would then disagree with the chapters'."""
    if not _is_latex(app):
        return
    parts = _numbered_parts(app)
    for section in list(doctree.findall(nodes.section)):
        numbered = parts.get(section.get("docname"))
        if numbered is None or not section.children:
            continue
        latex = (r"\setcounter{secnumdepth}{\optbooksecnumdepth}\setcounter{chapter}{0}"
                 if numbered else r"\setcounter{secnumdepth}{-1}")
        section.insert(1, nodes.raw("", latex, format="latex"))


def exercise_labels(app, doctree, docname):
    """``{numref}`` to an exercise: sphinx-exercise labels it ``exercise:<label>`` only, while
    Sphinx refers to ``<doc>:<label>``; add that label, numbered as the exercise's title."""
    if not _is_latex(app):
        return
    from sphinx_exercise.nodes import exercise_enumerable_node

    for node in list(doctree.findall(exercise_enumerable_node)):
        number = re.search(r"\d+(?:\.\d+)*", node[0].astext() if node.children else "")
        if not node.get("label") or number is None:
            continue
        key = f"{_docname(node) or docname}:{node['label']}"
        latex = (rf"\makeatletter\def\@currentlabel{{{number.group(0)}}}\makeatother"
                 rf"\label{{\detokenize{{{key}}}}}")
        node.insert(1, nodes.raw("", latex, format="latex"))


def solutions_at_chapter_ends(app, doctree, docname):
    """Move each chapter's solutions to a last section, "Solutions to the exercises"."""
    if not _is_latex(app):
        return
    from sphinx_exercise.nodes import solution_node

    for chapter in list(doctree.findall(nodes.section)):
        doc = chapter.get("docname", "")
        if not CHAPTER.search(doc) or _docname(chapter.parent) == doc:
            continue  # not a chapter, or not its top-level section
        solutions = list(chapter.findall(solution_node))
        if not solutions:
            continue
        name = doc.split("/")[-1]
        section = nodes.section(ids=[f"solutions-{name}"], names=[f"solutions-{name}"],
                                docname=doc)
        section += nodes.title(text="Solutions to the exercises")
        for solution in solutions:
            solution.parent.remove(solution)
            section += solution
        last = chapter.children[-1] if chapter.children else None
        if (isinstance(last, nodes.section) and last.children
                and last[0].astext().strip().lower().startswith("references")):
            chapter.insert(chapter.index(last), section)
        else:
            chapter += section


PDF = Path("_build") / "pdf" / "optbook.pdf"  # what `make pdf` writes, relative to the book
TAG = "optbook_pdf"  # set in the website's build when the PDF exists: {only} optbook_pdf


def ship_pdf(app):
    """The website links the PDF and ships it (at the site's root) when `make pdf` has
    written it; without it, the link is left out."""
    pdf = Path(app.confdir) / PDF
    if app.builder.format != "html" or not pdf.is_file():
        return
    app.tags.add(TAG)
    app.config.html_extra_path = [*app.config.html_extra_path, str(pdf)]


def pdf_outdated(app, env, added, changed, removed):
    """The landing page is written again when the PDF appears or disappears."""
    present = TAG in app.tags
    if getattr(env, "optbook_pdf_present", present) != present:
        env.optbook_pdf_present = present
        return [app.config.root_doc]
    env.optbook_pdf_present = present
    return []


def latex_files(app, config):
    """Ship optbook.sty and bbm.sty with the LaTeX sources; load optbook.sty."""
    config.latex_additional_files = [*config.latex_additional_files,
                                     str(HERE / "optbook.sty"), str(HERE / "bbm.sty")]


def setup(app):
    app.add_node(verdict_badge, latex=(visit_badge_latex, depart_badge_latex),
                 html=(visit_badge_text, depart_badge_text),
                 text=(visit_badge_text, depart_badge_text))
    app.add_post_transform(PdfOutputs)
    app.connect("doctree-resolved", badges_to_latex, priority=900)
    app.connect("doctree-resolved", solutions_at_chapter_ends, priority=900)
    app.connect("doctree-resolved", anchors_to_latex, priority=900)
    app.connect("doctree-resolved", exercise_labels, priority=900)
    app.connect("doctree-resolved", upright_modifiers, priority=900)
    app.connect("doctree-resolved", chapter_numbers, priority=900)
    app.connect("config-inited", latex_files)
    app.connect("builder-inited", ship_pdf)
    app.connect("env-get-outdated", pdf_outdated)
    app.add_latex_package("optbook")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
