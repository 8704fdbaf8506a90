"""The student version of a chapter: solutions out, stubs in, hidden tests gone.

A chapter notebook is the instructor's *key*. Its exercises follow the book's
conventions (BOOK_STANDARD.md, item 7):

- a solution sits between a ``{solution-start}`` and a ``{solution-end}`` directive
  (sphinx-exercise), possibly spread over several markdown and code cells, or in one
  ``{solution}`` directive;
- solution code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines,
  inside a ``def`` for coding exercises;
- hidden tests sit in a code cell between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS`` (see :mod:`optbook.coursework.hidden`).

:func:`student_notebook` removes every solution directive with its content, turns
solution code into nbgrader's stub (``# YOUR CODE HERE`` and, inside a function,
``raise NotImplementedError()``, so the signature stays and ``check`` reports "not
attempted yet"), drops hidden-test cells and clears outputs, and writes each graded
exercise's points (declared in the key, :mod:`.points`) into its title, with the chapter's
total above the exercises. :func:`leak_check` then looks for any marker or line of solution
text that survived.

Why not nbgrader itself: it needs a course directory, a database and its own
preprocessors pipeline, and it does not know sphinx-exercise's directives; the few
transformations needed here are a page of code on nbformat, and the markers are
nbgrader's, so a course that uses nbgrader can still read these notebooks. Markdown is
parsed with markdown-it-py (the parser of MyST), never with regular expressions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin

from .markers import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_SOLUTION,
    EXERCISE_LABEL,
    LEAK_MARKERS,
    SOLUTION,
    SOLUTION_END,
    SOLUTION_START,
    STUB_BODY,
    YOUR_CODE_HERE,
    is_hidden_tests_cell,
)
from .points import declared_points, show_points

__all__ = ["StudentVersion", "student_notebook", "leak_check", "read_notebook",
           "write_student_versions"]

_MARKDOWN = MarkdownIt("commonmark").use(colon_fence_plugin)


@dataclass
class StudentVersion:
    """A student notebook and the text removed from the key to make it."""

    notebook: nbformat.NotebookNode
    removed: list[str] = field(default_factory=list)


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook, with a clear ``ValueError`` when it is missing or not a notebook."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.suffix != ".ipynb":
        raise ValueError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types for bad JSON
        raise ValueError(f"{path}: not a readable notebook ({type(err).__name__}: {err})") \
            from None


def _directive_fences(text: str) -> dict[int, tuple[str, int]]:
    """First line of each top-level solution directive -> (kind, line after its end)."""
    fences = {}
    for token in _MARKDOWN.parse(text):
        if token.type in ("fence", "colon_fence") and token.map is not None:
            name = token.info.strip().split(" ")[0]
            for kind in (SOLUTION_START, SOLUTION_END, SOLUTION):
                if name == "{" + kind + "}":
                    fences[token.map[0]] = (kind, token.map[1])
    return fences


def _strip_solution_code(source: str, where: str, keep_functions: bool = False
                         ) -> tuple[str, list[str]]:
    """Replace each BEGIN/END SOLUTION region by nbgrader's stub; return (code, removed).

    With ``keep_functions``, a region inside a function (indented) is kept, markers and
    all, for nbgrader to stub (:mod:`.nbgrader`); top-level regions are still stubbed.
    """
    out, removed, indent, kept = [], [], None, False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN_SOLUTION):
            if indent is not None:
                raise ValueError(f"{where}: {BEGIN_SOLUTION} inside another solution")
            indent = line[: len(line) - len(line.lstrip())]
            kept = keep_functions and bool(indent)
            if kept:
                out.append(line)
                continue
            out.append(indent + YOUR_CODE_HERE)
            if indent:  # inside a function: keep the signature, raise until solved
                out.append(indent + STUB_BODY)
        elif stripped.startswith(END_SOLUTION):
            if indent is None:
                raise ValueError(f"{where}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            indent = None
            if kept:
                out.append(line)
        elif indent is None or kept:
            out.append(line)
        else:
            removed.append(line)
    if indent is not None:
        raise ValueError(f"{where}: {BEGIN_SOLUTION} without {END_SOLUTION}")
    return "\n".join(out), removed


def student_notebook(key: nbformat.NotebookNode, name: str = "notebook",
                     keep_functions: bool = False) -> StudentVersion:
    """The student version of the key notebook ``key`` (which is not modified).

    ``keep_functions`` keeps the solutions inside functions, with their markers (the
    start of nbgrader's source version, :mod:`.nbgrader`).
    """
    text = "\n".join(c.source for c in key.cells)
    if not EXERCISE_LABEL.search(text) and BEGIN_SOLUTION not in text:
        raise ValueError(f"{name}: no exercises found (no {{exercise}} directive and no "
                         f"{BEGIN_SOLUTION} line)")
    points = declared_points(key, name)
    nb = copy.deepcopy(key)
    cells, removed, in_solution = [], [], False
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if is_hidden_tests_cell(cell):
            removed += cell.source.splitlines()
            continue
        if cell.cell_type == "code":
            if BEGIN_SOLUTION in cell.source or END_SOLUTION in cell.source:
                cell.source, lost = _strip_solution_code(cell.source, where, keep_functions)
                removed += lost
            elif in_solution:  # code shown in a solution, without markers
                removed += cell.source.splitlines()
                continue
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            cells.append(cell)
            continue
        lines, kept = cell.source.splitlines(), []
        fences, i = _directive_fences(cell.source), 0
        while i < len(lines):
            if i in fences:
                kind, end = fences[i]
                if kind == SOLUTION_START:
                    if in_solution:
                        raise ValueError(f"{where}: {SOLUTION_START} inside a solution")
                    in_solution = True
                elif kind == SOLUTION_END:
                    if not in_solution:
                        raise ValueError(f"{where}: {SOLUTION_END} without {SOLUTION_START}")
                    in_solution = False
                removed += lines[i:end]
                i = end
                continue
            (removed if in_solution else kept).append(lines[i])
            i += 1
        cell.source = "\n".join(kept).strip("\n")
        if cell.source.strip():
            cells.append(cell)
    if in_solution:
        raise ValueError(f"{name}: {SOLUTION_START} without {SOLUTION_END}")
    nb.cells = cells
    show_points(nb, points, name)
    return StudentVersion(nb, removed)


def _secret_lines(key: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """(solution and hidden-test lines, other lines) of ``key``, by a plain line scan.

    Deliberately independent of :func:`student_notebook` (no markdown parser), so that
    :func:`leak_check` is a second opinion, not the same code run twice.
    """
    secret, public, in_solution = set(), set(), False
    for cell in key.cells:
        in_code_solution = False
        hidden = BEGIN_HIDDEN in cell.source
        stubbed = cell.cell_type == "code" and BEGIN_SOLUTION in cell.source
        for line in cell.source.splitlines():
            s = line.strip()
            if SOLUTION_START in s:
                in_solution = True
            if s.startswith(BEGIN_SOLUTION):
                in_code_solution = True
            # a code cell with markers keeps its lines outside them (e.g. the signature)
            in_directive = in_solution and not stubbed
            (secret if in_directive or in_code_solution or hidden else public).add(s)
            if s.startswith(END_SOLUTION):
                in_code_solution = False
            if SOLUTION_END in s:
                in_solution = False
    return secret, public


def leak_check(key: nbformat.NotebookNode, version: StudentVersion) -> list[str]:
    """What of the solutions and hidden tests survived in ``version`` (empty if nothing)."""
    student_text = "\n".join(c.source for c in version.notebook.cells)
    problems = [f"marker {m!r} is still there" for m in LEAK_MARKERS if m in student_text]
    secret, public = _secret_lines(key)
    secret = {line for line in secret - public if len(line) >= 8}
    for line in sorted({line.strip() for line in student_text.splitlines()} & secret):
        problems.append(f"solution text is still there: {line!r}")
    return problems


def _in_a_book(directory: Path) -> bool:
    """Whether ``directory`` is part of a Jupyter Book (an ancestor has _config.yml)."""
    return any((d / "_config.yml").exists() or (d / "_toc.yml").exists()
               for d in (directory, *directory.parents))


def _check_out_dir(out: Path, notebooks: list[Path]) -> None:
    """Refuse to write beside the keys, or anywhere inside a book's source folder."""
    out = out.resolve()
    for path in notebooks:
        source_dir = path.resolve().parent
        if out == source_dir or (source_dir in out.parents and _in_a_book(source_dir)):
            raise ValueError(f"refusing to write student versions into {out}: it is inside "
                             f"{source_dir}, where the key notebooks (with solutions) live")


def write_student_versions(notebooks: list[str | Path], out: str | Path,
                           force: bool = False) -> list[Path]:
    """Write the student version of each notebook into ``out``; return the paths written.

    Nothing is written unless every notebook converts and passes the leak check, and no
    existing file is overwritten unless ``force``.
    """
    paths, out = [Path(p) for p in notebooks], Path(out)
    if not paths:
        raise ValueError("no notebooks given")
    _check_out_dir(out, paths)
    targets = {}
    for path in paths:
        key = read_notebook(path)
        version = student_notebook(key, path.name)
        problems = leak_check(key, version)
        if problems:
            raise ValueError(f"{path}: the student version leaks the solution:\n  "
                             + "\n  ".join(problems))
        target = out / path.name
        if target in targets:
            raise ValueError(f"two notebooks would both be written to {target}")
        if target.exists() and not force:
            raise ValueError(f"{target} exists; use --force to overwrite it")
        targets[target] = version.notebook
    out.mkdir(parents=True, exist_ok=True)
    for target, nb in targets.items():
        nbformat.validate(nb)
        nbformat.write(nb, target)
    return list(targets)
