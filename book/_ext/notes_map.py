"""Sphinx extension: the course notes, claim by claim.

The catalogue ``book/notes_claims.yml`` lists every claim, formula and TODO of the
five course notes: an id, the notes and lines it comes from, a short quote, what it
says in the book's notation, and a verdict (correct / corrected / completed /
beyond). The chapters mark where they treat a claim with the role
``{notes}`id ...``` placed in the paragraph that treats it. This extension

* renders each marker as a small link to the claim's row of the map;
* provides the directive ``notes-claims``, which builds the map: one table per
  note, each row with the quote, the verdict and links to every place that treats
  the claim (chapter and section), generated from the markers at build time;
* warns (so the strict build fails) when a marker names an unknown claim, when a
  claim of a chapter in the table of contents has no marker, when a corrected
  claim is not marked inside a "The notes say …" box, or when such a box marks
  no claim. Claims of a chapter not yet in the book are listed as "in preparation".

``tests/test_notes_map.py`` checks the same rules on the sources, without a build.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

BOX_PREFIX = "The notes say"
VERDICTS = {
    "correct": "correct as stated",
    "corrected": "corrected",
    "completed": "completed",
    "beyond": "made precise",
    "loose": "loose (true, but weaker than the tight statement)",
}


def load_catalogue(path: Path) -> dict[str, dict]:
    """The claims by id, in the file's order (validated: ids unique, fields present)."""
    claims = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = {}
    for claim in claims:
        missing = {"id", "notes", "quote", "statement", "verdict", "chapter"} - set(claim)
        if missing:
            raise ValueError(f"{path}: claim {claim.get('id')!r} lacks {sorted(missing)}")
        if claim["id"] in out:
            raise ValueError(f"{path}: claim id {claim['id']!r} appears twice")
        if claim["verdict"] not in VERDICTS:
            raise ValueError(f"{path}: claim {claim['id']!r} has verdict "
                             f"{claim['verdict']!r}, expected one of {sorted(VERDICTS)}")
        out[claim["id"]] = claim
    return out


class notes_marker(nodes.Inline, nodes.TextElement):
    """A chapter's mark that it treats some claims (replaced by a link)."""


class claims_map(nodes.General, nodes.Element):
    """Placeholder replaced by the map once every document is read."""


def notes_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    ids = text.split()
    node = notes_marker(rawtext, "", claims=ids)
    node.line = lineno
    return [node], []


class NotesClaims(SphinxDirective):
    """``notes-claims NOTE``: the table of every claim of one note (e.g. ``001``)."""

    required_arguments = 1

    def run(self):
        self.env.notes_map_pages = getattr(self.env, "notes_map_pages", set())
        self.env.notes_map_pages.add(self.env.docname)
        note = self.arguments[0]
        if not any(note in c["notes"][:1] for c in _catalogue(self.env.app).values()):
            logger.warning(f"no claim of note {note!r} in the catalogue",
                           location=self.get_location())
        return [claims_map("", note=note)]


def _catalogue(app) -> dict[str, dict]:
    if not hasattr(app.env, "_notes_catalogue"):
        app.env._notes_catalogue = load_catalogue(Path(app.confdir) / app.config.notes_claims_file)
    return app.env._notes_catalogue


def _enclosing(node, cls):
    while node is not None and not isinstance(node, cls):
        node = node.parent
    return node


def _titled_section(node):
    """The nearest enclosing section with a title (sphinx-proof boxes hold untitled ones)."""
    node = _enclosing(node, nodes.section)
    while node is not None and not (len(node) and isinstance(node[0], nodes.title)):
        node = _enclosing(node.parent, nodes.section)
    return node


MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)


def _with_math(text: str) -> list[nodes.Node]:
    """Text nodes, with the notes' $…$ and $$…$$ as inline math."""
    out, last = [], 0
    for m in MATH.finditer(text):
        out.append(nodes.Text(text[last:m.start()]))
        latex = (m.group(1) or m.group(2)).strip()
        out.append(nodes.math(latex, latex))
        last = m.end()
    out.append(nodes.Text(text[last:]))
    return out


def _in_box(node) -> bool:
    box = _enclosing(node, nodes.admonition)
    if box is None:
        return False
    titles = [c for c in box.children if isinstance(c, nodes.title)]
    return bool(titles) and titles[0].astext().startswith(BOX_PREFIX)


def collect(app, doctree):
    """Give each marker an anchor and record where every claim is treated."""
    env, catalogue = app.env, _catalogue(app)
    found = getattr(env, "notes_markers", {})
    found[env.docname] = []
    for k, marker in enumerate(doctree.findall(notes_marker)):
        anchor = f"notes-{k}"
        marker["ids"].append(anchor)
        section = _titled_section(marker)
        for claim_id in marker["claims"]:
            if claim_id not in catalogue:
                logger.warning(f"unknown claim {claim_id!r} in a {{notes}} marker "
                               f"(see {app.config.notes_claims_file})", location=marker)
                continue
            found[env.docname].append({
                "claim": claim_id, "anchor": anchor, "in_box": _in_box(marker),
                "section": section[0].astext() if section is not None else "",
                "section_id": section["ids"][0] if section is not None and section["ids"]
                else "",
            })
    for box in doctree.findall(nodes.admonition):
        titles = [c for c in box.children if isinstance(c, nodes.title)]
        if titles and titles[0].astext().startswith(BOX_PREFIX) \
                and not any(box.findall(notes_marker)):
            logger.warning("a 'The notes say …' box marks no claim: add {notes}`id` "
                           "with the claim it corrects", location=box)
    env.notes_markers = found


def purge(app, env, docname):
    getattr(env, "notes_markers", {}).pop(docname, None)


def merge(app, env, docnames, other):
    env.notes_markers = getattr(env, "notes_markers", {})
    for docname in docnames:
        env.notes_markers[docname] = other.notes_markers.get(docname, [])


def outdated(app, env, added, changed, removed):
    """Rebuild the map whenever any other page changed."""
    if added or changed or removed:
        return sorted(getattr(env, "notes_map_pages", set()))
    return []


def places(env) -> dict[str, list[tuple[str, dict]]]:
    """Claim id -> [(docname, marker entry)], in reading order."""
    out: dict[str, list] = {}
    order, stack = [], [env.config.root_doc]
    while stack:
        doc = stack.pop(0)
        if doc not in order:
            order.append(doc)
            stack = env.toctree_includes.get(doc, []) + stack
    for docname in order:
        for entry in getattr(env, "notes_markers", {}).get(docname, []):
            out.setdefault(entry["claim"], []).append((docname, entry))
    return out


def check_consistency(app, env):
    """Every claim of a chapter in the book is marked; corrected ones inside a box."""
    catalogue, where = _catalogue(app), places(env)
    for claim_id, claim in catalogue.items():
        chapter = f"book/{claim['chapter']}"
        marks = where.get(claim_id, [])
        if not marks and chapter in env.found_docs:
            logger.warning(f"claim {claim_id!r} of the notes ({claim['quote'][:50]!r}) is "
                           f"not marked in {chapter}: add {{notes}}`{claim_id}` where it is "
                           f"treated", location=chapter)
        if claim["verdict"] == "corrected" and marks \
                and not any(entry["in_box"] for _, entry in marks):
            logger.warning(f"claim {claim_id!r} is corrected but no marker of it sits in a "
                           f"'The notes say …' box", location=marks[0][0])


def _place(env, docname: str, entry: dict) -> str:
    """'2.3 Section title' (numbered like the page), or the chapter's title."""
    numbers = env.toc_secnumbers.get(docname, {})
    number = numbers.get("#" + entry["section_id"]) or numbers.get("")
    title = entry["section"] or env.titles[docname].astext()
    if entry["section"] == env.titles[docname].astext():
        number = numbers.get("")
    return f"{'.'.join(map(str, number))} {title}" if number else title


class ResolveMarkers(SphinxPostTransform):
    """Markers become links to the map; the map's placeholder becomes the tables."""

    default_priority = 5

    def run(self, **kwargs):
        env, builder = self.env, self.app.builder
        catalogue = _catalogue(self.app)
        map_pages = sorted(getattr(env, "notes_map_pages", set()))
        here = env.docname
        for marker in list(self.document.findall(notes_marker)):
            claims = [catalogue[c] for c in marker["claims"] if c in catalogue]
            notes = sorted({n for c in claims for n in c["notes"]})
            label = ("notes " if len(notes) > 1 else "note ") + ", ".join(notes)
            if not map_pages or not claims:
                marker.replace_self(nodes.inline("", "", ids=marker["ids"]))
                continue
            uri = builder.get_relative_uri(here, map_pages[0]) + "#claim-" + claims[0]["id"]
            tip = " | ".join(f"Note {'/'.join(c['notes'])}: {c['quote']}" for c in claims)
            link = nodes.reference("", label, internal=True, refuri=uri, reftitle=tip,
                                   classes=["optbook-notes-marker"])
            marker.replace_self(nodes.inline("", "", link, ids=marker["ids"]))
        for placeholder in list(self.document.findall(claims_map)):
            placeholder.replace_self(self.table(placeholder["note"], catalogue, places(env)))
            # the quotes hold math: make Sphinx load MathJax on this page
            env.get_domain("math").data["has_equations"][here] = True

    def table(self, note, catalogue, where) -> nodes.table:
        """One note's claims (those it makes first; a claim of 000 and 001 is under 000)."""
        env, builder, here = self.env, self.app.builder, self.env.docname
        table = nodes.table(classes=["optbook-notes-map"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (60, 14, 26):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self.row(["The notes", "Verdict", "Where the book treats it"])
        body = nodes.tbody()
        group += body
        for claim in (c for c in catalogue.values() if c["notes"][0] == note):
            what = nodes.paragraph()
            what += nodes.inline("", "", *_with_math(f"“{claim['quote']}”"),
                                 classes=["optbook-quote"])
            what += nodes.Text(f" — {claim['statement']}")
            also = [n for n in claim["notes"] if n != note]
            if also:
                what += nodes.Text(f" (also note {', '.join(also)})")
            if claim.get("why"):
                what = [what, nodes.paragraph(text=claim["why"], classes=["optbook-why"])]
            verdict = nodes.paragraph()
            verdict += nodes.inline("", VERDICTS[claim["verdict"]],
                                    classes=["optbook-verdict-tag",
                                             f"optbook-{claim['verdict']}"])
            links = nodes.paragraph()
            marks = where.get(claim["id"], [])
            for k, (docname, entry) in enumerate(marks):
                if k:
                    links += nodes.Text("; ")
                uri = builder.get_relative_uri(here, docname) + "#" + entry["anchor"]
                links += nodes.reference("", _place(env, docname, entry), internal=True,
                                         refuri=uri)
            if not marks:
                links += nodes.emphasis(text="a chapter in preparation")
            row = self.row([what, verdict, links])
            row["ids"].append(f"claim-{claim['id']}")
            body += row
        return table

    @staticmethod
    def row(cells) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            if isinstance(cell, str):
                cell = nodes.paragraph(text=cell)
            entry += cell
            row += entry
        return row


def setup(app):
    app.add_config_value("notes_claims_file", "book/notes_claims.yml", "env")
    app.add_node(notes_marker)
    app.add_node(claims_map)
    app.add_role("notes", notes_role)
    app.add_directive("notes-claims", NotesClaims)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", outdated)
    app.connect("env-check-consistency", check_consistency)
    app.add_post_transform(ResolveMarkers)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
