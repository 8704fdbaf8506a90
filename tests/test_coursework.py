"""The coursework tools: student versions, hidden tests and the grader (optbook.coursework).

Every chapter of book/ (a glob, so new chapters are covered) gets a student version that
leaks nothing, runs top to bottom in a fresh kernel and reports "not attempted yet" in
every check. The grader is tested on a small key (tests/fixtures/coursework/key.ipynb, two
coding exercises) and submissions that solve, break, loop, hog memory or cheat, graded in
one batch; and once on a real chapter against its own student version.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from optbook.cli import main
from optbook.coursework import hidden_tests
from optbook.coursework.grade import Limits, exercise_points, grade
from optbook.coursework.hidden import ENV, REPORT, decode, parse_report
from optbook.coursework.markers import CHECK_CALL, LEAK_MARKERS
from optbook.coursework.points import declared_points, points_text, total_text
from optbook.coursework.student import (
    leak_check,
    read_notebook,
    student_notebook,
    write_student_versions,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("ch*.ipynb"))
FIXTURES = ROOT / "tests" / "fixtures" / "coursework"
KEY = FIXTURES / "key.ipynb"
#: the real chapter graded against its own student version (the quickest to run)
GRADED_CHAPTER = next((p for p in CHAPTERS if p.name.startswith("ch05")), CHAPTERS[0])

_EXECUTE = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(sys.argv[1], as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": sys.argv[3]}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, sys.argv[2])
""")


def _isolated_env(tmp: Path) -> dict:
    """Jupyter, IPython and matplotlib files of a test run stay in its temporary dir."""
    return {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            "IPYTHONDIR": str(tmp / "ipython"), "MPLCONFIGDIR": str(tmp / "mpl")}


def _execute(path: Path, tmp: Path) -> tuple[nbformat.NotebookNode, str]:
    """Run a notebook in a fresh kernel (own process); the executed notebook and stderr."""
    out = tmp / f"executed-{path.name}"
    proc = subprocess.run([sys.executable, "-c", _EXECUTE, str(path), str(out), str(tmp)],
                          capture_output=True, text=True, env=_isolated_env(tmp), timeout=600)
    return nbformat.read(out, as_version=4), proc.stderr if proc.returncode else ""


# ---------------------------------------------------------------- student versions


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    """Every chapter's student version, written by the tool and executed (in parallel)."""
    tmp = tmp_path_factory.mktemp("student")
    paths = write_student_versions(CHAPTERS, tmp / "student")
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda p: _execute(p, tmp), paths))
    return {p.name: (p, *run) for p, run in zip(paths, runs, strict=True)}


def _solution_lines(key: nbformat.NotebookNode) -> set[str]:
    """Lines of solution code (between the markers) and of hidden tests found nowhere else."""
    inside_lines, outside_lines, inside = set(), set(), False
    for cell in key.cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
                inside = False
            (inside_lines if inside else outside_lines).add(line.strip())
    return {line for line in inside_lines - outside_lines if len(line) >= 12}


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.kernel
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_version_contains_no_solution(path, students):
    key = read_notebook(path)
    student_path, _, _ = students[path.name]
    text = student_path.read_text()
    nb = read_notebook(student_path)
    source = "\n".join(c.source for c in nb.cells)
    for marker in LEAK_MARKERS:
        assert marker not in source, marker
    leaked = _solution_lines(key) & {line.strip() for line in source.splitlines()}
    assert not leaked, leaked
    assert "remove-cell" not in text or "BEGIN HIDDEN" not in text
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # each solution's prose is gone too
    solutions = [c.source for c in key.cells if "{solution-start}" in c.source]
    for prose in solutions:
        body = prose.split("```", 2)[-1].strip()
        if len(body) > 20:
            assert body[:60] not in source


@pytest.mark.kernel
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_version_runs_and_every_check_is_not_attempted(path, students):
    _, executed, stderr = students[path.name]
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors and not stderr, (errors, stderr[-2000:])
    checks = [c for c in executed.cells if c.cell_type == "code" and CHECK_CALL.search(c.source)]
    assert len(checks) == len(CHECK_CALL.findall(
        "\n".join(c.source for c in read_notebook(path).cells if c.cell_type == "code")))
    for cell in checks:
        out = "".join(o.get("text", "") for o in cell.outputs)
        assert "not attempted yet" in out, out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_coding_exercise_has_hidden_tests(path):
    """The grader needs hidden tests for every check (see book/instructors.md)."""
    key = read_notebook(path)
    code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
    for label, _ in CHECK_CALL.findall(code):
        cells = [c for c in key.cells if "### BEGIN HIDDEN TESTS" in c.source
                 and f'"{label}"' in c.source]
        assert len(cells) == 1, f"{label}: one hidden-test cell"
        assert "remove-cell" in cells[0].metadata.get("tags", [])


def _key(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


def POINTS(n) -> dict:  # noqa: N802 (reads as a constant in the cells above)
    """The metadata that declares an exercise's points, on its check cell."""
    return {"optbook": {"points": n}}


def test_stubs_keep_the_signature_and_top_level_solutions_become_a_comment():
    key = _key(
        new_markdown_cell("```{exercise} E (coding)\n:label: ex-e\n\nWrite f.\n```"),
        new_markdown_cell("```{solution-start} ex-e\n:class: dropdown\n```\n\nThe idea."),
        new_code_cell('def f(x, y=2):\n    """Doc."""\n    ### BEGIN SOLUTION\n'
                      "    return x * y\n    ### END SOLUTION"),
        new_code_cell("### BEGIN SOLUTION\nprint(f(3))\n### END SOLUTION"),
        new_code_cell("shown_in_the_solution = 1"),
        new_markdown_cell("```{solution-end}\n```\n\nText after the solution."),
        new_code_cell('check("ex-e", f)', metadata=POINTS(2)),
        new_code_cell('### BEGIN HIDDEN TESTS\nhidden_tests("ex-e", f, {"a": (1,)})\n'
                      "### END HIDDEN TESTS", metadata={"tags": ["remove-cell"]}),
        new_markdown_cell(":::{solution} ex-e\nA colon-fenced solution.\n:::\n\nKept."),
    )
    version = student_notebook(key)
    sources = [c.source for c in version.notebook.cells]
    assert sources == [
        f"{total_text({'ex-e': 2.0})}\n\n```{{exercise}} E (coding, 2 points)\n:label: ex-e\n"
        "\nWrite f.\n```",
        'def f(x, y=2):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()',
        "# YOUR CODE HERE",
        "Text after the solution.",
        'check("ex-e", f)',
        "Kept.",
    ]
    assert leak_check(key, version) == []


@pytest.mark.parametrize("cells, message", [
    ([new_markdown_cell("no exercise here"), new_code_cell("x = 1")], "no exercises found"),
    ([new_markdown_cell("```{solution-start} ex-a\n```")], "without solution-end"),
    ([new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")], "without ### END"),
    ([new_code_cell("### END SOLUTION")], "without ### BEGIN"),
])
def test_malformed_keys_are_refused_with_a_reason(cells, message):
    with pytest.raises(ValueError, match=message):
        student_notebook(_key(new_markdown_cell(
            "```{exercise} E\n:label: ex-a\n```"), *cells) if "no exercise" not in message
            else _key(*cells))


def test_cli_student_refuses_book_overwrites_and_bad_input(tmp_path, capsys):
    chapter = str(CHAPTERS[0])
    assert main(["student", chapter, "--out", str(ROOT / "book" / "student")]) == 2
    assert "refusing to write" in capsys.readouterr().err
    assert not (ROOT / "book" / "student").exists()
    assert main(["student", chapter, "--out", str(tmp_path)]) == 0
    assert main(["student", chapter, "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["student", chapter, "--out", str(tmp_path), "--force"]) == 0
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    key = inputs / "key.ipynb"
    key.write_bytes(KEY.read_bytes())
    assert main(["student", str(key), "--out", str(inputs)]) == 2  # beside the key
    assert "refusing to write" in capsys.readouterr().err
    assert main(["student", str(key), "--out", str(inputs / "student")]) == 0  # not a book
    capsys.readouterr()
    (inputs / "notes.txt").write_text("hello")
    (inputs / "broken.ipynb").write_text("{ not json")
    for bad, message in [(inputs / "missing.ipynb", "no such file"),
                         (inputs / "notes.txt", "not a notebook"),
                         (inputs / "broken.ipynb", "not a readable notebook")]:
        assert main(["student", str(bad), "--out", str(tmp_path / "out")]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.kernel
def test_python_dash_m_optbook_is_the_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "optbook", "student", str(KEY), "--out",
                           str(tmp_path)], capture_output=True, text=True, check=True)
    assert "wrote" in proc.stdout and (tmp_path / "key.ipynb").exists()


# ---------------------------------------------------------------- hidden tests


def test_hidden_tests_are_silent_in_the_chapter_and_check_the_key(capsys, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    hidden_tests("ex-x", lambda a: 2 * a, {"one": (1.0,), "two": (2.0,)})
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="the key returns"):
        hidden_tests("ex-x", lambda a: float("nan"), {"one": (1.0,)})
    for bad in ({}, {"one": 1.0}):
        with pytest.raises(ValueError, match="cases"):
            hidden_tests("ex-x", abs, bad)


def test_hidden_tests_report_values_as_data(capsys, monkeypatch):
    monkeypatch.setenv(ENV, REPORT)

    def answer(a):
        if a == 3:
            raise NotImplementedError
        if a == 4:
            return None
        if a == 5:
            raise ZeroDivisionError("boom")
        return [a, 2 * a]

    hidden_tests("ex-x", answer, {f"case {a}": (a,) for a in (1, 3, 4, 5)})
    report = parse_report("noise\n" + capsys.readouterr().out)
    assert report["label"] == "ex-x" and "points" not in report  # declared in the chapter
    values = [c["value"] for c in report["cases"]]
    assert decode(values[0]).tolist() == [1.0, 2.0]
    assert [v["kind"] for v in values] == ["array", "not attempted", "none", "error"]
    assert "ZeroDivisionError: boom" in values[3]["message"]
    assert json.dumps(report)  # plain data


def test_hidden_tests_refuse_points_they_are_declared_on_the_check_cell(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ValueError, match="declared once, in the metadata of the check cell"):
        hidden_tests("ex-x", abs, {"one": (1.0,)}, points=3)


# ---------------------------------------------------------------- points


def _hidden_case_count(path: Path, label: str) -> int:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from declare_points import count_cases
    finally:
        sys.path.remove(str(ROOT / "tools"))
    cell = next(c for c in read_notebook(path).cells
                if "### BEGIN HIDDEN TESTS" in c.source and f'"{label}"' in c.source)
    return count_cases(cell.source, label)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_declares_the_points_of_every_checked_exercise(path):
    """Once, on the check cell; the book's rule: one point per hidden case."""
    key = read_notebook(path)
    code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
    checked = [label for label, _ in CHECK_CALL.findall(code)]
    points = declared_points(key, path.name)
    assert list(points) == checked and checked
    for label, value in points.items():
        assert value == _hidden_case_count(path, label), label
    assert exercise_points(path) == points  # what every grader uses


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_the_student_version_shows_each_exercises_points_and_the_total(path):
    points = declared_points(read_notebook(path), path.name)
    text = "\n".join(c.source for c in student_notebook(read_notebook(path)).notebook.cells)
    for label, value in points.items():
        title = next(line for line in text.splitlines()
                     if line.startswith("```{exercise}") and f":label: {label}" in
                     text[text.index(line):text.index(line) + len(line) + 40])
        assert title.endswith(f"{points_text(value)})"), title
    total = f"**total {points_text(sum(points.values()))}**"
    assert text.count(total) == 1
    assert text.index(total) < text.index("```{exercise}")


@pytest.mark.parametrize("metadata, message", [
    ({}, "declares no points"),
    ({"optbook": {}}, "has no 'points'"),
    ({"optbook": {"points": 0}}, "invalid points 0"),
    ({"optbook": {"points": -1}}, "invalid points -1"),
    ({"optbook": {"points": "3"}}, "invalid points '3'"),
    ({"optbook": {"points": True}}, "invalid points True"),
    ({"optbook": {"points": float("nan")}}, "invalid points nan"),
])
def test_a_missing_or_invalid_declaration_is_a_clear_error(metadata, message):
    key = _key(new_markdown_cell("```{exercise} E (coding)\n:label: ex-e\n```"),
               new_code_cell('check("ex-e", f)', metadata=metadata))
    with pytest.raises(ValueError, match=message) as err:
        student_notebook(key, "ch99.ipynb")
    assert "ch99.ipynb, cell 1" in str(err.value) and '{"optbook": {"points": N}}' \
        in str(err.value)


@pytest.mark.parametrize("cells, message", [
    ([new_code_cell("x = 1", metadata=POINTS(2))], "checks no exercise"),
    ([new_code_cell('check("ex-e", f)\ncheck("ex-e", f)', metadata=POINTS(2))],
     "checks 2 exercises"),
    ([new_code_cell('check("ex-e", f)', metadata=POINTS(2)) for _ in range(2)], "twice"),
    ([new_code_cell('check("ex-other", f)', metadata=POINTS(2))], "no {exercise} directive"),
])
def test_declarations_in_the_wrong_place_are_refused(cells, message):
    key = _key(new_markdown_cell("```{exercise} E\n:label: ex-e\n```"), *cells)
    with pytest.raises(ValueError, match=message):
        student_notebook(key)


def test_the_commands_refuse_a_key_without_points(tmp_path, capsys):
    nb = read_notebook(KEY)
    for cell in nb.cells:
        cell.metadata.pop("optbook", None)
    bad = tmp_path / "inputs" / "no_points.ipynb"
    bad.parent.mkdir()
    nbformat.write(nb, bad)
    out = tmp_path / "out"
    for argv in (["student", str(bad), "--out", str(out)],
                 ["grade", "--key", str(bad), str(KEY), "--out", str(out / "s.csv")],
                 ["autograder", str(bad), "--out", str(out / "a.zip"), "--no-check"],
                 ["nbgrader", str(bad), "--out", str(out)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "no_points.ipynb, cell 6: exercise ex-pl-constant declares no points" in err, err
    assert not out.exists()  # refused before writing or running anything


# ---------------------------------------------------------------- grading


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The fixture submissions, the key, its student version and two broken files,
    graded in one batch; returns (rows by file name, output directory, seconds)."""
    tmp = tmp_path_factory.mktemp("grade")
    student = write_student_versions([KEY], tmp / "student")[0]
    unreadable = tmp / "unreadable.ipynb"
    unreadable.write_text("{ this is not a notebook")
    stubborn = new_notebook(cells=[new_code_cell(
        "import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")])
    nbformat.write(stubborn, tmp / "ignores_interrupts.ipynb")
    crash = new_notebook(cells=[new_code_cell(
        "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)")])
    nbformat.write(crash, tmp / "crash.ipynb")
    spam = new_notebook(cells=[new_code_cell("for i in range(100_000):\n    print('spam' * 20)")])
    nbformat.write(spam, tmp / "spam.ipynb")
    submissions = [KEY, student, *sorted(p for p in FIXTURES.glob("*.ipynb") if p != KEY),
                   unreadable, tmp / "ignores_interrupts.ipynb", tmp / "crash.ipynb",
                   tmp / "spam.ipynb"]
    out = tmp / "scores" / "scores.csv"
    limits = Limits(cell_timeout=4, notebook_timeout=30, memory_mb=2048, max_output_kb=256)
    grade(KEY, submissions, out, limits, jobs=3)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    return {Path(r["submission"]).parent.name + "/" + Path(r["submission"]).name: r
            for r in rows}, out.parent, submissions


def _row(batch, name):
    rows, _, _ = batch
    return next(r for key, r in rows.items() if key.endswith(name))


@pytest.mark.kernel
def test_the_csv_has_a_row_per_submission_and_the_columns(batch):
    rows, out, submissions = batch
    assert len(rows) == len(submissions)
    assert list(next(iter(rows.values()))) == [
        "submission", "ex-pl-constant", "ex-rates-contraction", "total", "status"]
    assert len(list(out.glob("*.feedback.txt"))) == len(submissions)


@pytest.mark.kernel
def test_the_key_gets_full_marks_and_its_student_version_zero(batch):
    key = _row(batch, "coursework/key.ipynb")
    assert (key["ex-pl-constant"], key["ex-rates-contraction"], key["total"]) == ("3", "2", "5")
    assert key["status"] == "ok"
    student = _row(batch, "student/key.ipynb")
    assert student["total"] == "0" and student["status"] == "ok"


@pytest.mark.kernel
def test_solving_one_exercise_gets_exactly_its_points(batch):
    row = _row(batch, "solved_one.ipynb")
    assert (row["ex-pl-constant"], row["ex-rates-contraction"], row["total"]) == ("3", "0", "3")


@pytest.mark.kernel
def test_an_endless_loop_is_stopped_and_the_rest_is_graded(batch):
    row = _row(batch, "loops.ipynb")
    assert "timeout" in row["status"] and row["ex-pl-constant"] == "3"
    stubborn = _row(batch, "ignores_interrupts.ipynb")
    assert stubborn["status"] == "timeout" and stubborn["total"] == "0"


@pytest.mark.kernel
def test_import_errors_and_memory_hogs_get_zero_with_the_reason(batch):
    _, out, _ = batch
    row = _row(batch, "import_error.ipynb")
    assert row["total"] == "0" and "import error" in row["status"]
    assert "optbook_does_not_exist" in (out / "import_error.feedback.txt").read_text()
    row = _row(batch, "memory.ipynb")
    assert row["total"] == "0" and "memory" in row["status"]
    assert "MemoryError" in (out / "memory.feedback.txt").read_text()
    row = _row(batch, "unreadable.ipynb")
    assert row["total"] == "0" and row["status"] == "unreadable"


@pytest.mark.kernel
def test_a_crashed_kernel_and_too_much_output_are_reported(batch):
    row = _row(batch, "crash.ipynb")
    assert row["total"] == "0" and row["status"] == "crashed"
    row = _row(batch, "spam.ipynb")
    assert row["total"] == "0" and "output limit" in row["status"]


@pytest.mark.kernel
def test_a_renamed_function_is_a_missing_exercise(batch):
    _, out, _ = batch
    row = _row(batch, "deleted.ipynb")
    assert (row["ex-pl-constant"], row["ex-rates-contraction"]) == ("3", "0")
    assert row["status"] == "missing exercise"
    assert "gd_contraction" in (out / "deleted.feedback.txt").read_text()


@pytest.mark.kernel
def test_redefining_check_and_allclose_gains_nothing(batch):
    _, out, _ = batch
    row = _row(batch, "cheat.ipynb")
    assert row["total"] == "0"
    feedback = (out / "cheat.feedback.txt").read_text()
    assert "✔" not in feedback and "values differ" in feedback


@pytest.mark.kernel
def test_feedback_gives_hints_not_answers(batch):
    _, out, _ = batch
    feedback = (out / "solved_one.feedback.txt").read_text()
    assert "ex-rates-contraction: 0 / 2 points" in feedback
    assert "not attempted" in feedback
    assert "eigvalsh" not in feedback


@pytest.mark.kernel
def test_grading_a_real_chapter_against_its_student_version(tmp_path):
    student = write_student_versions([GRADED_CHAPTER], tmp_path / "student")[0]
    out = tmp_path / "scores.csv"
    subs = grade(GRADED_CHAPTER, [GRADED_CHAPTER, student], out,
                 Limits(cell_timeout=120, memory_mb=4096), jobs=2)
    key, stub = subs
    assert key.status_text() == "ok" and stub.status_text() == "ok"
    assert key.total == sum(e.max_points for e in key.exercises) > 0
    assert stub.total == 0


def test_cli_grade_reports_bad_input(tmp_path, capsys):
    assert main(["grade", "--key", str(tmp_path / "nope.ipynb"), str(KEY),
                 "--out", str(tmp_path / "s.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["grade", "--key", str(KEY), str(KEY), "--out", str(tmp_path / "s.txt")]) == 2
    assert ".csv" in capsys.readouterr().err
    no_hidden = tmp_path / "no_hidden.ipynb"
    nbformat.write(student_notebook(read_notebook(KEY)).notebook, no_hidden)
    assert main(["grade", "--key", str(no_hidden), str(KEY),
                 "--out", str(tmp_path / "s.csv")]) == 2
    assert "no hidden tests" in capsys.readouterr().err
    assert main(["grade", "--key", str(KEY), str(KEY), "--out", str(tmp_path / "s.csv"),
                 "--timeout", "0"]) == 2
    assert "--timeout must be positive" in capsys.readouterr().err


# ---------------------------------------------------------------- the website's download


def test_the_site_offers_the_student_version_beside_the_notebook(tmp_path, monkeypatch):
    """book/_ext/student_notebooks.py, called as sphinx-book-theme leaves the page context."""
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    from student_notebooks import add_student_download

    app = SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path),
                          env=SimpleNamespace(doc2path=lambda name: ROOT / f"{name}.ipynb"))

    def context():
        return {"pathto": lambda target, resource: f"../{target}", "header_buttons": [
            {"label": "download-buttons", "buttons": [{"label": "download-source-button"},
                                                      {"label": "download-pdf-button"}]}]}

    page = f"book/{CHAPTERS[0].stem}"
    ctx = context()
    add_student_download(app, page, "page.html", ctx, doctree=object())
    buttons = ctx["header_buttons"][0]["buttons"]
    assert [b["label"] for b in buttons] == [
        "download-source-button", "download-student-notebook-button", "download-pdf-button"]
    assert buttons[1]["url"] == f"../_student/{page}.ipynb"
    written = read_notebook(tmp_path / "_student" / f"{page}.ipynb")
    assert not any(m in c.source for c in written.cells for m in LEAK_MARKERS)
    app.env.doc2path = lambda name: ROOT / f"{name}.md"  # a page without a notebook
    ctx = context()
    add_student_download(app, "book/intro", "page.html", ctx, doctree=object())
    assert len(ctx["header_buttons"][0]["buttons"]) == 2
