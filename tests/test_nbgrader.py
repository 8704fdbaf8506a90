"""nbgrader's source version of the chapters (optbook nbgrader), tested with nbgrader itself.

The cell metadata is checked without a kernel. Then, in a temporary course directory,
``optbook nbgrader`` writes the source version of the fixture key and of a real chapter,
``nbgrader generate_assignment`` makes the release (solutions and hidden tests gone), and
``nbgrader autograde`` grades a correct submission (full points), an empty one (zero) and
a partly correct one (the points of optbook grade, as nbgrader's partial credit).
nbgrader is a test-only dependency (requirements-test.txt).
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

nbgrader = pytest.importorskip(
    "nbgrader", reason="nbgrader is a test-only dependency (requirements-test.txt)")
from nbgrader.api import Gradebook  # noqa: E402
from nbgrader.nbgraderformat import MetadataValidator  # noqa: E402

from optbook.cli import main  # noqa: E402
from optbook.coursework.markers import CHECK_CALL, LEAK_MARKERS  # noqa: E402
from optbook.coursework.nbgrader import cell_metadata, nbgrader_source  # noqa: E402
from optbook.coursework.points import declared_points  # noqa: E402
from optbook.coursework.sandbox import SandboxUnavailable, check_available  # noqa: E402
from optbook.coursework.student import read_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KEY = ROOT / "tests" / "fixtures" / "coursework" / "key.ipynb"
CHAPTER = ROOT / "book" / "ch05_pl.ipynb"  # a real chapter, one of the quickest to run


def _npy(value) -> dict:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value, dtype=float), allow_pickle=False)
    return {"kind": "array", "npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _reports(key) -> list[dict]:
    """Made-up key values on the fixture key's hidden cases (no kernel needed)."""
    cases = {"ex-pl-constant": ["a random 2 x 6 Jacobian", "a random 4 x 9 Jacobian",
                                "a Jacobian with orthogonal rows"],
             "ex-rates-contraction": ["H = diag(1, 4) at eta = 0.2",
                                      "H = diag(1, 4) at eta = 0.6, beyond 2/beta",
                                      "a 3 x 3 H with eigenvalues 0, 1, 2 at eta = 0.5"]}
    return [{"label": label, "cases": [{"description": d, "value": _npy([0.5, i])}
                                       for i, d in enumerate(descriptions)]}
            for label, descriptions in cases.items()]


def _nbgrader_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def test_the_source_version_carries_nbgraders_metadata_from_the_declarations():
    key = read_notebook(KEY)
    nb = nbgrader_source(key, _reports(key), "key.ipynb")
    cells = _nbgrader_cells(nb)
    assert set(cells) == {f"{label}-{kind}" for label in ("ex-pl-constant",
                                                          "ex-rates-contraction")
                          for kind in ("statement", "answer", "tests")} \
        | {"ex-fixture-explore-statement"}
    for label, points in declared_points(key).items():
        tests = cells[f"{label}-tests"]
        assert tests.metadata["nbgrader"] == cell_metadata(f"{label}-tests", grade=True,
                                                           locked=True, points=points)
        assert tests.source.startswith(f'result = ob.check("{label}"')
        hidden = tests.source.split("### BEGIN HIDDEN TESTS\n", 1)[1]
        assert hidden.endswith(f"_hidden.score({label!r})\n### END HIDDEN TESTS")
        assert f"_hidden.expect(\n    {label!r},\n    {points:g}," in hidden
        assert "[0.5, 2.0]" in hidden  # the key's values, as literals
        answer = cells[f"{label}-answer"]
        assert answer.metadata["nbgrader"]["solution"] is True
        assert "### BEGIN SOLUTION" in answer.source and "### END SOLUTION" in answer.source
        statement = cells[f"{label}-statement"]
        assert statement.cell_type == "markdown" and statement.metadata["nbgrader"]["locked"]
        assert f"{points:g} points)" in statement.source
    for meta in (c.metadata["nbgrader"] for c in cells.values()):
        assert meta["schema_version"] == 3 and meta["task"] is False
        assert ("points" in meta) == meta["grade"]
    MetadataValidator().validate_nb(nb)  # nbgrader's own check
    # nothing of the exploration's solution, and no hidden-test cell of its own
    text = "\n".join(c.source for c in nb.cells)
    assert "rhos = [gd_contraction" not in text and "The factor is smallest" not in text
    assert text.count("### BEGIN HIDDEN TESTS") == 2
    assert not any("remove-cell" in c.metadata.get("tags", []) for c in nb.cells)


def test_the_source_version_needs_the_keys_values_for_every_exercise():
    key = read_notebook(KEY)
    with pytest.raises(ValueError, match="ex-rates-contraction has no hidden tests"):
        nbgrader_source(key, _reports(key)[:1], "key.ipynb")
    bad = _reports(key)
    bad[0]["cases"][0]["value"] = _npy(np.nan)
    with pytest.raises(ValueError, match="not finite"):
        nbgrader_source(key, bad, "key.ipynb")


def test_the_nbgrader_command_refuses_bad_output(tmp_path, capsys):
    assert main(["nbgrader", str(KEY), "--out", str(KEY.parent)]) == 2
    assert "refusing to write" in capsys.readouterr().err
    assert main(["nbgrader", str(tmp_path / "nope.ipynb"), "--out", str(tmp_path / "out")]) == 2
    assert "no such file" in capsys.readouterr().err


# ---------------------------------------------------------------- with nbgrader itself

STUDENTS = ("correct", "empty", "partly")
CONFIG = 'c = get_config()\nc.CourseDirectory.course_id = "optbook"\n' \
         'c.CourseDirectory.root = {root!r}\nc.Execute.timeout = 300\n'


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course directory, with its own Jupyter dirs."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_DIR": str(course / ".jupyter"),
           "JUPYTER_DATA_DIR": str(course / ".jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(course / ".jupyter-runtime"),
           "IPYTHONDIR": str(course / ".ipython"), "MPLCONFIGDIR": str(course / ".mpl")}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _partly(release: Path, out: Path) -> None:
    """The release with the first function solved and the others wrong."""
    nb = read_notebook(release)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    first = answers[0]
    if "def pl_star_mu" in first.source:
        first.source = "def pl_star_mu(DF):\n    return min(np.linalg.eigvalsh(DF @ DF.T))"
    for cell in answers[1:]:
        cell.source = cell.source.replace("raise NotImplementedError()", "return 1.0")
    out.parent.mkdir(parents=True)
    nbformat.write(nb, out)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with two assignments (the fixture key, a chapter), released and graded.

    Returns (course directory, {assignment: {student: (score, max, {grade_id: score})}},
    {step: seconds})."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
    try:
        check_available()
        unsafe = []
    except SandboxUnavailable:
        unsafe = ["--unsafe-no-sandbox"]
    seconds = {}
    assignments = {"fixture": KEY, "ch05": CHAPTER}
    for assignment, key in assignments.items():
        start = time.monotonic()
        assert main(["nbgrader", str(key), "--out", str(course / "source" / assignment),
                     "--timeout", "120", *unsafe]) == 0
        seconds[f"optbook nbgrader {key.name}"] = time.monotonic() - start
        start = time.monotonic()
        _nbgrader(course, "generate_assignment", assignment)
        seconds[f"generate_assignment {assignment}"] = time.monotonic() - start
        source = course / "source" / assignment / key.name
        release = course / "release" / assignment / key.name
        for student in STUDENTS:
            target = course / "submitted" / student / assignment / key.name
            if student == "partly":
                if assignment == "fixture":
                    _partly(release, target)
                continue
            target.parent.mkdir(parents=True)
            target.write_bytes((source if student == "correct" else release).read_bytes())
        start = time.monotonic()
        _nbgrader(course, "autograde", assignment, "--create")
        seconds[f"autograde {assignment}"] = time.monotonic() - start
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="optbook") as gb:
        for assignment in assignments:
            scores[assignment] = {}
            for student in STUDENTS:
                try:
                    sub = gb.find_submission(assignment, student)
                except Exception:  # nbgrader's MissingEntry: no such submission
                    continue
                grades = {g.name: g.score for nb in sub.notebooks for g in nb.grades}
                scores[assignment][student] = (sub.score, sub.max_score, grades)
    print("\nnbgrader route, seconds:", {k: round(v, 1) for k, v in seconds.items()})
    return course, scores, seconds


def _solution_lines(key: Path) -> set[str]:
    lines, inside = set(), False
    for cell in read_notebook(key).cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 12:
                lines.add(line.strip())
    return lines


@pytest.mark.kernel
@pytest.mark.parametrize("assignment, key", [("fixture", KEY), ("ch05", CHAPTER)])
def test_generate_assignment_removes_the_solutions_and_the_hidden_tests(course, assignment,
                                                                        key):
    directory, _, _ = course
    source = read_notebook(directory / "source" / assignment / key.name)
    release = read_notebook(directory / "release" / assignment / key.name)
    source_text = "\n".join(c.source for c in source.cells)
    text = "\n".join(c.source for c in release.cells)
    assert "### BEGIN SOLUTION" in source_text and "### BEGIN HIDDEN TESTS" in source_text
    for marker in LEAK_MARKERS:
        assert marker not in text, marker
    assert "_hidden.expect" not in text and "_hidden.score" not in text
    leaked = _solution_lines(key) & {line.strip() for line in text.splitlines()}
    assert not leaked, leaked
    assert "raise NotImplementedError()" in text
    points = declared_points(read_notebook(key))
    checks = {CHECK_CALL.search(c.source).group(1): c.source
              for c in read_notebook(key).cells if "optbook" in c.metadata}
    for label, value in points.items():
        cell = next(c for c in release.cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == f"{label}-tests")
        assert cell.metadata["nbgrader"]["points"] == value
        assert cell.source == checks[label]  # the public check only
    assert f"**total {sum(points.values()):g} points**" in text


@pytest.mark.kernel
def test_autograde_gives_the_key_full_points_and_the_release_zero(course):
    _, scores, _ = course
    assert scores["fixture"]["correct"][:2] == (5.0, 5.0)
    assert scores["fixture"]["empty"][:2] == (0.0, 5.0)
    total = sum(declared_points(read_notebook(CHAPTER)).values())
    assert scores["ch05"]["correct"][:2] == (total, total)
    assert scores["ch05"]["empty"][:2] == (0.0, total)


@pytest.mark.kernel
def test_autograde_gives_partial_credit_as_optbook_grade_does(course):
    _, scores, _ = course
    score, top, grades = scores["fixture"]["partly"]
    # ex-pl-constant solved (3 of 3 points); gd_contraction returns 1.0, which is right on
    # one hidden case of 3 (the 3 x 3 H at eta = 0.5): 2 / 3 of its 2 points, as in the CSV
    assert grades == {"ex-pl-constant-tests": 3.0, "ex-rates-contraction-tests": 0.67}
    assert (score, top) == (3.67, 5.0)
