"""The map of the notes' claims cannot drift from the chapters.

``book/notes_claims.yml`` lists every claim, formula and TODO of the five course
notes; the chapters mark where they treat one with ``{notes}`id```. These tests
read the sources (no build): every claim of a chapter in the table of contents is
marked there, every marker names a known claim, a corrected claim is marked inside
a "The notes say …" box, and every such box marks a claim. The build enforces the
same rules (``book/_ext/notes_map.py`` warns, and the book is built with ``-W``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from notes_map import BOX_PREFIX, load_catalogue  # noqa: E402

CATALOGUE = load_catalogue(ROOT / "book" / "notes_claims.yml")
NOTES = {p.name[:3]: p for p in (ROOT / "book" / "notes").glob("00*.txt")}
MARKER = re.compile(r"\{notes\}`([^`]+)`")
FENCE = re.compile(r"^(:{3,}|`{3,})\{admonition\}\s*(.*)$")


def toc_chapters() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = set()
    for part in toc["parts"]:
        files |= {c["file"].removeprefix("book/") for c in part["chapters"]}
    return files


def markers() -> list[tuple[str, str, bool]]:
    """(chapter, claim id, inside a 'The notes say' box) for every marker."""
    out = []
    for path in sorted((ROOT / "book").glob("ch*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            box_fence = None
            for line in cell.source.splitlines():
                opened = FENCE.match(line.strip())
                if box_fence is None and opened and opened.group(2).startswith(BOX_PREFIX):
                    box_fence = opened.group(1)
                elif box_fence is not None and line.strip() == box_fence:
                    box_fence = None
                for ids in MARKER.findall(line):
                    out += [(path.stem, claim, box_fence is not None) for claim in ids.split()]
    return out


def boxes_without_marker() -> list[str]:
    bad = []
    for path in sorted((ROOT / "book").glob("ch*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and f"{{admonition}} {BOX_PREFIX}" in cell.source:
                for box in re.split(r"\n(?=:{3,}\{admonition\} " + BOX_PREFIX + ")",
                                    cell.source):
                    if BOX_PREFIX in box and not MARKER.search(box):
                        bad.append(f"{path.stem}: {box.strip().splitlines()[0][:70]}")
    return bad


MARKERS = markers()


def test_catalogue_covers_all_five_notes_and_quotes_them():
    assert set(NOTES) == {"000", "001", "002", "003", "004"}
    for note in NOTES:
        assert any(note in c["notes"] for c in CATALOGUE.values()), f"no claim of note {note}"
    for claim in CATALOGUE.values():
        assert re.fullmatch(r"n\d{3}-[a-z0-9-]+", claim["id"]), claim["id"]
        assert set(claim["notes"]) <= set(NOTES), claim["id"]
        assert claim["quote"].strip() and claim["statement"].strip(), claim["id"]


def test_quotes_are_verbatim_and_line_numbers_point_at_them():
    """Each claim's quote occurs in each of its notes, starting at the line given
    (catches drift if a note or the catalogue is edited)."""
    def squash(text):
        return " ".join(text.split())

    for claim in CATALOGUE.values():
        for note, line in (claim.get("lines") or {}).items():
            quote = squash((claim.get("quotes") or {}).get(note, claim["quote"]))
            text = NOTES[note].read_text(encoding="utf-8").splitlines()
            assert quote in squash(" ".join(text)), f"{claim['id']}: not in note {note}"
            window = squash(" ".join(text[line - 1: line + 2]))
            assert quote[:15] in window, f"{claim['id']}: not at note {note}, line {line}"


def test_every_marker_names_a_known_claim():
    unknown = sorted({(ch, c) for ch, c, _ in MARKERS if c not in CATALOGUE})
    assert not unknown, f"markers of unknown claims: {unknown}"


@pytest.mark.parametrize("claim_id", sorted(CATALOGUE))
def test_every_claim_of_a_chapter_in_the_book_is_marked_there(claim_id):
    claim = CATALOGUE[claim_id]
    where = {ch for ch, c, _ in MARKERS if c == claim_id}
    if claim["chapter"] not in toc_chapters():
        pytest.skip(f"{claim['chapter']} is not in the book yet (listed as in preparation)")
    assert where, f"{claim_id} ({claim['quote'][:60]!r}) has no {{notes}} marker"
    if claim["verdict"] == "corrected":
        assert any(box for ch, c, box in MARKERS if c == claim_id), \
            f"{claim_id} is corrected, but not marked inside a 'The notes say' box"


def test_every_notes_say_box_marks_a_claim():
    assert not boxes_without_marker(), boxes_without_marker()


def test_checks_can_fail(tmp_path):
    """The catalogue loader rejects duplicate ids and unknown verdicts."""
    claim = {"id": "n001-x", "notes": ["001"], "quote": "q", "statement": "s",
             "verdict": "correct", "chapter": "ch01_taylor"}
    path = tmp_path / "c.yml"
    path.write_text(yaml.safe_dump([claim, claim]))
    with pytest.raises(ValueError, match="twice"):
        load_catalogue(path)
    path.write_text(yaml.safe_dump([dict(claim, verdict="maybe")]))
    with pytest.raises(ValueError, match="verdict"):
        load_catalogue(path)
