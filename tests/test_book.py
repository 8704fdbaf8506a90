"""The chapters meet the book's structural rules (BOOK_STANDARD.md) and are clean in git.

These tests read the notebooks as files; nbval (``make test``) runs them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from optbook.exercises import EXERCISES, _load_all

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("ch*.ipynb"))
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def markdown(path: Path) -> str:
    return "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")


def code(path: Path) -> str:
    return "\n".join(source(c) for c in cells(path) if c["cell_type"] == "code")


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebooks found in book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    """Notebooks are source: no outputs and no execution counts in git."""
    for cell in cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a code cell has stored outputs"
            assert cell["execution_count"] is None, f"{path.name}: execution count stored"


def test_toc_lists_every_notebook_and_every_entry_exists():
    toc = (ROOT / "_toc.yml").read_text()
    entries = re.findall(r"file:\s*(\S+)", toc) + re.findall(r"root:\s*(\S+)", toc)
    for entry in entries:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in entries, f"{path.name} is not in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_labelled_results_and_notes_corrections(path):
    text = markdown(path)
    assert re.search(r"^\(ch-[\w-]+\)=", text, re.M), "the chapter needs a label (ch-...)="
    results = re.findall(r"```\{prf:(\w+)\}[^\n]*\n:label: ([\w-]+)", text)
    assert len(results) >= 2, "state results in labelled prf: directives"
    assert "The notes say" in text, "show where the notes go wrong"
    assert "refuted(" in code(path), "refute the notes' errors by computation"
    assert re.search(r"\b(identity|inequality|solution_set|Chain)\(", code(path)), \
        "derivations go through optbook.symbolic"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_exercises_have_hidden_solutions_and_checks(path):
    text = markdown(path)
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", text)
    assert len(exercises) >= 3, "at least three exercises"
    for label in exercises:
        block = re.search(r"```\{solution(?:-start)?\} " + re.escape(label) + r"\n(:[^\n]*\n)*",
                          text)
        assert block, f"exercise {label} has no solution"
        assert ":class: dropdown" in block.group(0), f"the solution of {label} is not hidden"
    all_code = code(path)
    assert all_code.count("### BEGIN SOLUTION") == all_code.count("### END SOLUTION")
    _load_all()
    for label in re.findall(r"check\(\s*\"([\w-]+)\"", all_code):
        assert label in exercises, f"check({label!r}) names no exercise of this chapter"
        assert label in EXERCISES, f"exercise {label} has no registered public tests"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_a_slider_and_shows_optbook_source(path):
    all_code = code(path)
    assert "SliderFigure(" in all_code, "every chapter has a slider figure"
    assert "inspect.getsource(" in all_code, "show the implementation next to the math"


def test_every_citation_is_in_the_bibliography():
    bib = "\n".join(p.read_text() for p in (ROOT / "book").rglob("*.bib"))
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    pages = [*NOTEBOOKS, *(ROOT / "book").glob("*.md")]
    for page in pages:
        text = markdown(page) if page.suffix == ".ipynb" else page.read_text()
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            for key in group.split(","):
                assert key.strip() in keys, f"{page.name} cites {key!r}, in no .bib file"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_check_displays_free_text(path):
    """A check's display is rendered from what it checked (issue #17): no call in a chapter
    passes ``tex=``, and no side is a Python function of the sizes (which cannot be shown)."""
    import ast

    for cell in cells(path):
        if cell["cell_type"] != "code":
            continue
        text = "\n".join(line for line in source(cell).splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call):
                names = [k.arg for k in node.keywords]
                assert "tex" not in names, \
                    f"{path.name}: a check with a free-text display:\n{ast.unparse(node)[:300]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_named_property_test_exists(path):
    """A check proved at listed sizes names the property test that covers every size:
    the test must exist."""
    for file, name in re.findall(r"covered_by=\s*\"(tests/[\w/]+\.py)::(\w+)\"", code(path)):
        test_file = ROOT / file
        assert test_file.exists(), f"{path.name} names a missing test file {file}"
        assert re.search(rf"^def {name}\(", test_file.read_text(), re.M), \
            f"{path.name} names a missing test {file}::{name}"


def test_licences_and_citation_are_stated():
    """The code's licence ships with the package; the book states its text's licence and how
    to cite it (issue #21 item 5)."""
    import yaml

    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert {"cff-version", "message", "title", "authors"} <= set(cff) and cff["license"] == "MIT"
    for page in (ROOT / "README.md", ROOT / "book" / "intro.md"):
        text = page.read_text()
        assert "CC BY 4.0" in text and "MIT" in text and "book/notes/" in text, page.name
