"""nbgrader's *source* version of a chapter, from the chapter's own declarations.

An instructor who uses nbgrader puts the notebook this module writes into the course's
``source/<assignment>/`` and runs ``nbgrader generate_assignment`` and ``nbgrader
autograde`` unchanged. It is the student version (:mod:`.student`) with three differences:

- the solution inside each function to write is kept, between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, in a cell marked as nbgrader's *autograded answer*
  (``grade_id`` ``<label>-answer``);
- each exercise's check cell becomes nbgrader's *autograded test* (``<label>-tests``,
  locked, worth the points declared on it, :mod:`.points`): the public check, then, between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``, the key's hidden tests with the
  key's values on them (:func:`.hidden.expect`, recorded by running the key once, as
  ``optbook grade`` does). Its last line, ``score(label)``, is the points earned on the
  hidden cases, which nbgrader takes as partial credit: the same points as ``optbook grade``;
- each exercise's statement is a locked, read-only cell (``<label>-statement``).

Every nbgrader cell has ``schema_version`` 3. Other solutions (derivations, explorations)
are not graded automatically: as in the student version, they are left out (the chapter
itself holds them). Unlike ``optbook grade``, nbgrader compares in the student's kernel;
see the instructors' page.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import numpy as np

from .grade import Limits, check_isolation, exercise_points, load_key
from .hidden import decode
from .markers import BEGIN_HIDDEN, BEGIN_SOLUTION, CHECK_CALL, END_HIDDEN, is_hidden_tests_cell
from .points import declared_points, exercise_fences
from .student import _check_out_dir, read_notebook, student_notebook

__all__ = ["SCHEMA_VERSION", "cell_metadata", "expected_values", "nbgrader_source",
           "write_nbgrader_sources"]

SCHEMA_VERSION = 3
_HIDDEN_LABEL = re.compile(r"\bhidden_tests\(\s*[\"']([\w-]+)[\"']")
_DEF = re.compile(r"^\s*def ([A-Za-z_]\w*)\(", re.MULTILINE)


def cell_metadata(grade_id: str, *, grade: bool = False, solution: bool = False,
                  locked: bool = False, points: float | None = None) -> dict:
    """nbgrader's cell metadata (schema 3); ``points`` only on a grade cell."""
    if grade and not (points and points > 0):
        raise ValueError(f"{grade_id}: a grade cell needs positive points, got {points!r}")
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def expected_values(reports: list[dict]) -> dict[str, dict[str, object]]:
    """label -> {hidden case: the key's value, as a Python literal (float or lists)}."""
    values = {}
    for report in reports:
        label, cases = report["label"], {}
        for case in report["cases"]:
            array = decode(case["value"])
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{label}, {case['description']}: the key's value is not "
                                 "finite")
            cases[case["description"]] = array.tolist()
        values[label] = cases
    return values


def _number(value: float) -> int | float:
    """3.0 -> 3 (as nbgrader and the reader expect), 2.5 stays."""
    return int(value) if float(value).is_integer() else value


def _test_source(check: str, hidden: str, label: str, points: float, values: dict) -> str:
    """The autograded test cell: the public check, then the hidden tests with the key's
    values, ending with the points earned (nbgrader's partial credit)."""
    body = [line for line in hidden.strip().splitlines()
            if line.strip() not in (BEGIN_HIDDEN, END_HIDDEN)]
    cases = [f"        {description!r}: {value!r}," for description, value in values.items()]
    return "\n".join([
        check.rstrip(), BEGIN_HIDDEN, "from optbook.coursework import hidden as _hidden", "",
        f"_hidden.expect(\n    {label!r},\n    {points!r},\n    {{", *cases, "    },\n)",
        *body, f"_hidden.score({label!r})", END_HIDDEN])


def nbgrader_source(key: nbformat.NotebookNode, reports: list[dict],
                    name: str = "notebook") -> nbformat.NotebookNode:
    """The nbgrader source version of ``key``, given the key's hidden-test ``reports``
    (its values on the hidden cases, :func:`.grade.load_key`)."""
    points = declared_points(key, name)
    hidden = {}
    for cell in key.cells:
        if is_hidden_tests_cell(cell):
            for label in _HIDDEN_LABEL.findall(cell.source):
                hidden[label] = cell.source
    values = expected_values(reports)
    nb = copy.deepcopy(student_notebook(key, name, keep_functions=True).notebook)
    checks = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            checks.update({fn: label for label, fn in CHECK_CALL.findall(cell.source)})
    answers = 0
    for cell in nb.cells:
        found = CHECK_CALL.findall(cell.source) if cell.cell_type == "code" else []
        if found:
            label = found[0][0]
            if label not in hidden or label not in values:
                raise ValueError(f"{name}: {label} has no hidden tests with the key's values")
            cell.source = _test_source(cell.source, hidden[label], label,
                                       _number(points[label]), values[label])
            cell.metadata["nbgrader"] = cell_metadata(f"{label}-tests", grade=True, locked=True,
                                                      points=_number(points[label]))
        elif cell.cell_type == "code" and BEGIN_SOLUTION in cell.source:
            labels = [checks[fn] for fn in _DEF.findall(cell.source) if fn in checks]
            answers += 1
            grade_id = f"{labels[0]}-answer" if labels else f"answer-{answers}"
            cell.metadata["nbgrader"] = cell_metadata(grade_id, solution=True)
        elif cell.cell_type == "markdown":
            labels = [label for _, label in exercise_fences(cell.source) if label]
            if labels:
                cell.metadata["nbgrader"] = cell_metadata(f"{labels[0]}-statement",
                                                          locked=True)
    return nb


def write_nbgrader_sources(notebooks: list[str | Path], out: str | Path, force: bool = False,
                           limits: Limits | None = None, isolation: str = "sandbox",
                           log=None) -> list[Path]:
    """Write the nbgrader source version of each key into ``out``; return the paths.

    Each key is run once (in the sandbox unless ``isolation`` says otherwise) to record its
    values on the hidden cases. Nothing is written unless every notebook converts, and no
    file is overwritten unless ``force``.
    """
    paths, out, limits = [Path(p) for p in notebooks], Path(out), limits or Limits()
    if not paths:
        raise ValueError("no notebooks given")
    _check_out_dir(out, paths)
    for path in paths:
        read_notebook(path)
        exercise_points(path)  # refused before any run
    check_isolation(isolation)
    targets = {}
    for path in paths:
        target = out / path.name
        if target in targets:
            raise ValueError(f"two notebooks would both be written to {target}")
        if target.exists() and not force:
            raise ValueError(f"{target} exists; use --force to overwrite it")
        key = load_key(path, limits, isolation)
        if log:
            log(f"key {path.name}: {key.summary()}")
        targets[target] = nbgrader_source(read_notebook(path), key.reports, path.name)
    out.mkdir(parents=True, exist_ok=True)
    for target, nb in targets.items():
        nbformat.validate(nb)
        nbformat.write(nb, target)
    return list(targets)
