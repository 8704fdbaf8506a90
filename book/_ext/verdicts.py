"""Sphinx extension: every verdict of the book, with its kind.

Each check in a chapter (``optbook.symbolic``) displays a badge
``<span class="optbook-verdict ..." data-kind="KIND">`` under the statement it
checked (see ``optbook.verdict``). This extension

* gives each badge an anchor (``check-1``, ``check-2``, ... per page) and records
  its kind, outcome, section and statement (the display math just above it);
* puts a legend of the kinds under the title of every page that has a badge;
* provides the directive ``all-checks``: the page listing every verdict of the
  book by chapter and kind, with counts, built when every page has been read;
* resolves the role ``{uses}`name <label>``` of a verdict's hypotheses to a link to
  the earlier result (a ``prf:`` result, a check's label, an exercise);
* warns (so the strict build fails) on a badge without a known kind, one with no
  displayed statement above it, or a hypothesis naming an unknown result.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from optbook.verdict import KIND_TEXT, Kind

logger = logging.getLogger(__name__)

BADGE = re.compile(r'<span class="optbook-verdict[^"]*" data-kind="([a-z]*)"')
OUTCOME = re.compile(r"numerical evidence: ([a-z]+)")


class checks_list(nodes.General, nodes.Element):
    """Placeholder replaced by the list of every check once every page is read."""


class uses_ref(nodes.Inline, nodes.TextElement):
    """A verdict's hypothesis that is an earlier result: resolved to a link at write time."""


USES = re.compile(r"^(.*?)\s*<([\w-]+)>$", re.S)


def uses_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{uses}`name <label>```: a link to a ``prf:`` result, a check or an exercise."""
    match = USES.match(text)
    if not match:
        msg = inliner.reporter.error(f"uses: expected 'name <label>', got {text!r}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    node = uses_ref(rawtext, match.group(1), target=match.group(2))
    node.line = lineno
    return [node], []


def _target(env, label: str) -> tuple[str, str] | None:
    """(docname, anchor) of a ``prf:`` result or a label (a check, an exercise, a section)."""
    proofs = getattr(env, "proof_list", {})
    if label in proofs:
        entry = proofs[label]
        return entry["docname"], (entry.get("ids") or [label])[0]
    std = env.get_domain("std")
    if label in std.anonlabels:
        return std.anonlabels[label]
    return None


def resolve_uses(app, doctree, fromdocname):
    for node in list(doctree.findall(uses_ref)):
        found = _target(app.env, node["target"])
        if found is None:
            logger.warning(f"a verdict uses an unknown result {node['target']!r}", location=node)
            node.replace_self(nodes.Text(node.astext()))
            continue
        docname, anchor = found
        uri = app.builder.get_relative_uri(fromdocname, docname) + "#" + anchor
        node.replace_self(nodes.reference("", node.astext(), refuri=uri,
                                          classes=["optbook-uses-ref"]))


class AllChecks(SphinxDirective):
    """``all-checks``: every verdict in the book, by chapter and kind, with counts."""

    def run(self):
        return [checks_list()]


def legend_html() -> str:
    items = "".join(
        f'<li><span class="optbook-verdict optbook-kind-{k.value}">{mark} {html.escape(text)}'
        f"</span> {html.escape(meaning)}.</li>"
        for k, (mark, text, meaning) in KIND_TEXT.items())
    return ('<details class="optbook-legend"><summary>What the badges under the formulas '
            'mean</summary><ul>' + items + "</ul><p>Each badge lists what it used: a link "
            "to an earlier result, a named assumption, or a sign declared on a symbol. "
            'All of them: <a href="checks.html">every check in the book</a>.</p></details>')


def _section_title(node) -> str:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section):
            return parent[0].astext() if parent.children else ""
        parent = parent.parent
    return ""


def collect(app, doctree):
    """Anchor every badge of the page and record it; add the legend under the title."""
    env = app.env
    records = []
    statement = None
    found = list(doctree.findall(lambda n: isinstance(n, nodes.math_block | nodes.raw)))
    for node in found:
        if isinstance(node, nodes.math_block):
            statement = node.astext()
            continue
        if node.get("format") != "html":
            continue
        match = BADGE.search(node.astext())
        if not match:
            continue
        kind = match.group(1)
        if kind not in {k.value for k in Kind}:
            logger.warning(f"a verdict badge with no known kind ({kind!r})", location=node)
            continue
        if statement is None:
            logger.warning("a verdict badge with no displayed statement above it",
                           location=node)
            continue
        anchor = f"check-{len(records) + 1}"
        text = node.astext().replace('<span class="optbook-verdict',
                                     f'<span id="{anchor}" class="optbook-verdict', 1)
        outcome = OUTCOME.search(node.parent.astext() if node.parent else "")
        node.replace_self(nodes.raw("", text, format="html"))
        records.append({"kind": kind, "anchor": anchor, "section": _section_title(node),
                        "statement": statement,
                        "outcome": outcome.group(1) if outcome else ""})
        statement = None
    if not hasattr(env, "optbook_checks"):
        env.optbook_checks = {}
    env.optbook_checks[env.docname] = records
    if records:
        title = next(iter(doctree.findall(nodes.title)), None)
        if title is not None:
            section = title.parent
            section.insert(section.index(title) + 1,
                           nodes.raw("", legend_html(), format="html"))


def purge(app, env, docname):
    getattr(env, "optbook_checks", {}).pop(docname, None)


def merge(app, env, docnames, other):
    if not hasattr(env, "optbook_checks"):
        env.optbook_checks = {}
    for name in docnames:
        if name in getattr(other, "optbook_checks", {}):
            env.optbook_checks[name] = other.optbook_checks[name]


def counts(records) -> dict[str, int]:
    out = {k.value: 0 for k in Kind}
    for r in records:
        out[r["kind"]] += 1
    return out


def _badge(kind: str, outcome: str = "") -> nodes.raw:
    mark, text, _ = KIND_TEXT[Kind(kind)]
    shown = f"{text}: {outcome}" if outcome else text
    return nodes.raw("", f'<span class="optbook-verdict optbook-kind-{kind}">{mark} '
                         f"{html.escape(shown)}</span>", format="html")


def build_list(app, doctree, fromdocname):
    env = app.env
    builder = app.builder
    for node in list(doctree.findall(checks_list)):
        checks = getattr(env, "optbook_checks", {})
        chapters = sorted(d for d in env.found_docs if checks.get(d))
        out = []
        # the counts, one row per chapter
        kinds = [k.value for k in Kind]
        table = nodes.table(classes=["optbook-checks-counts"])
        group = nodes.tgroup(cols=len(kinds) + 2)
        table += group
        for _ in range(len(kinds) + 2):
            group += nodes.colspec(colwidth=1)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        row = nodes.row()
        for text in ["chapter", *[KIND_TEXT[Kind(k)][1] for k in kinds], "all"]:
            row += nodes.entry("", nodes.paragraph(text=text))
        head += row
        totals = {k: 0 for k in kinds}
        for doc in chapters:
            c = counts(checks[doc])
            row = nodes.row()
            ref = nodes.reference("", env.titles[doc].astext(),
                                  refuri=builder.get_relative_uri(fromdocname, doc))
            row += nodes.entry("", nodes.paragraph("", "", ref))
            for k in kinds:
                row += nodes.entry("", nodes.paragraph(text=str(c[k])))
                totals[k] += c[k]
            row += nodes.entry("", nodes.paragraph(text=str(sum(c.values()))))
            body += row
        row = nodes.row()
        row += nodes.entry("", nodes.paragraph(text="the book"))
        for k in kinds:
            row += nodes.entry("", nodes.paragraph(text=str(totals[k])))
        row += nodes.entry("", nodes.paragraph(text=str(sum(totals.values()))))
        body += row
        out.append(table)
        # every check, chapter by chapter
        for doc in chapters:
            section = nodes.section(ids=[f"checks-{doc.split('/')[-1]}"])
            section += nodes.title(text=env.titles[doc].astext())
            items = nodes.bullet_list(classes=["optbook-checks-list"])
            uri = builder.get_relative_uri(fromdocname, doc)
            for r in checks[doc]:
                para = nodes.paragraph()
                para += _badge(r["kind"], r["outcome"])
                para += nodes.Text(" ")
                para += nodes.reference("", r["section"] or "(top)",
                                        refuri=f"{uri}#{r['anchor']}")
                para += nodes.Text(": ")
                para += nodes.math(r["statement"], r["statement"])
                items += nodes.list_item("", para)
            section += items
            out.append(section)
        node.replace_self(out)


def check_consistency(app, env):
    """The page of all checks needs at least one chapter with checks."""
    if not any(getattr(env, "optbook_checks", {}).values()):
        logger.warning("no verdict badge found in the book")


def setup(app):
    # The badges in the PDF (LaTeX builder only; with the PDF's other LaTeX rendering)
    app.setup_extension("pdf_output")
    app.add_node(checks_list)
    app.add_node(uses_ref)
    app.add_role("uses", uses_role)
    app.connect("doctree-resolved", resolve_uses)
    app.add_directive("all-checks", AllChecks)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-check-consistency", check_consistency)
    app.connect("doctree-resolved", build_list)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 1}
