"""Points per exercise, declared once in the chapter, and shown to the student.

Each auto-graded (coding) exercise declares its points in the metadata of its check cell,
the code cell ``result = ob.check("ex-label", fn)``::

    {"optbook": {"points": 4}}

Nothing else holds them: the graders (:func:`.grade.exercise_points`, and through it the
CSV, Gradescope and the LMS files), the student version (:func:`show_points`) and the
nbgrader source (:mod:`.nbgrader`) all read them with :func:`declared_points`. The book's
rule for the values: one point per hidden test case of the exercise.
"""

from __future__ import annotations

import math

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin

from .markers import CHECK_CALL

__all__ = ["METADATA", "declared_points", "show_points", "points_text", "total_text",
           "exercise_fences"]

#: the key of the cell metadata that holds the declaration: {"optbook": {"points": N}}
METADATA = "optbook"

_MARKDOWN = MarkdownIt("commonmark").use(colon_fence_plugin)

_HOW = ('declare them once, in the metadata of the exercise\'s check cell '
        '(`result = ob.check("ex-...", fn)`): {"optbook": {"points": N}}, N > 0')


def _valid_points(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: invalid points {value!r}: expected a positive number; "
                         f"{_HOW}")
    return float(value)


def declared_points(nb: nbformat.NotebookNode, name: str = "notebook") -> dict[str, float]:
    """label -> points of every checked exercise of ``nb``, in the order of the notebook.

    Raises ValueError, naming the cell, when a check cell declares no points or invalid
    ones, when a declaration sits on a cell that checks no exercise (or several), or when
    an exercise is declared twice.
    """
    points: dict[str, float] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        meta = cell.get("metadata", {}).get(METADATA)
        labels = [label for label, _ in CHECK_CALL.findall(cell.source)] \
            if cell.cell_type == "code" else []
        if meta is not None and (not isinstance(meta, dict) or "points" not in meta):
            raise ValueError(f"{where}: the {METADATA!r} metadata {meta!r} has no 'points'; "
                             f"{_HOW}")
        if not labels:
            if meta is not None:
                raise ValueError(f"{where}: declares points but checks no exercise; {_HOW}")
            continue
        if len(labels) > 1:
            raise ValueError(f"{where}: checks {len(labels)} exercises ({', '.join(labels)}) "
                             "in one cell: give each its own check cell and points")
        label = labels[0]
        if meta is None:
            raise ValueError(f"{where}: exercise {label} declares no points; {_HOW}")
        if label in points:
            raise ValueError(f"{where}: exercise {label} is checked, with points, twice")
        points[label] = _valid_points(meta["points"], f"{where} ({label})")
    return points


def points_text(value: float) -> str:
    """E.g. "1 point", "4 points", "2.5 points"."""
    return f"{value:g} point{'s' * (value != 1)}"


def _with_points(title: str, value: float) -> str:
    """The exercise's title with its points: "T (coding)" -> "T (coding, 4 points)"."""
    title = title.rstrip()
    if title.endswith(")") and "(" in title:
        return f"{title[:-1]}, {points_text(value)})"
    return f"{title} ({points_text(value)})".lstrip()


def exercise_fences(text: str) -> list[tuple[int, str]]:
    """(first line, label) of each top-level {exercise} directive of a markdown text."""
    found = []
    for token in _MARKDOWN.parse(text):
        if token.type in ("fence", "colon_fence") and token.map is not None \
                and token.info.strip().split(" ")[0] == "{exercise}":
            label = next((line.split(":label:", 1)[1].strip()
                          for line in token.content.splitlines()
                          if line.strip().startswith(":label:")), None)
            found.append((token.map[0], label))
    return found


def total_text(points: dict[str, float]) -> str:
    """The paragraph placed above a chapter's exercises in the student version."""
    parts = ", ".join(f"{label} ({points_text(p)})" for label, p in points.items())
    n = len(points)
    return (f"**Graded automatically:** {n} exercise{'s' * (n != 1)}, {parts}; "
            f"**total {points_text(sum(points.values()))}**. The other exercises are not "
            "graded automatically.")


def show_points(nb: nbformat.NotebookNode, points: dict[str, float],
                name: str = "notebook") -> None:
    """Write each graded exercise's points into its title, and the chapter's total above
    the first exercise, in ``nb`` (a copy of the key; modified in place)."""
    shown, first = set(), True
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "{exercise}" not in cell.source:
            continue
        lines = cell.source.split("\n")
        fences = exercise_fences(cell.source)
        for line_no, label in fences:
            if label in points:
                fence, _, title = lines[line_no].partition("{exercise}")
                lines[line_no] = \
                    f"{fence}{{exercise}} {_with_points(title.strip(), points[label])}"
                shown.add(label)
        if fences and first and points:
            line_no = fences[0][0]
            lines[line_no:line_no] = [total_text(points), ""]
            first = False
        cell.source = "\n".join(lines)
    missing = [label for label in points if label not in shown]
    if missing:
        raise ValueError(f"{name}: no {{exercise}} directive labelled {', '.join(missing)}, "
                         "the label of a check cell with points")
