"""The coursework routes (issue #21, items 2 and 3): Gradescope's autograder, LMS gradebooks.

Without a kernel: ``results.json`` built from made-up submissions, validated against
Gradescope's schema (jsonschema, which nbformat already installs); the autograder zip's
files; rosters, matching, and the Canvas and generic CSVs.

With kernels (``kernel`` tier): the zip unpacked into a directory laid out as
``/autograder``, its ``prepare`` step run as ``setup.sh`` runs it, then ``run_autograder`` on
a correct, a partly correct, a looping, a malformed, a missing, a memory-hungry, a crashing
and a key-stealing submission, each ``results.json`` validated; ``optbook grade --format
gradescope`` against the same submission; ``--format canvas`` and ``--format lms`` on the
fixture rosters (tests/fixtures/coursework/roster*.csv).

Gradescope runs ``run_autograder`` as root in a container. Here, as root, the runs happen in
a bubblewrap mount namespace that only makes the Python installation reachable by other
users where this machine hides it (e.g. under /root): the grader still drops each notebook
to an unprivileged user, as in Gradescope.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from optbook.cli import main
from optbook.coursework import gradescope, lms
from optbook.coursework.grade import Exercise, Submission, exercise_points
from optbook.coursework.sandbox import SandboxUnavailable, _package_parent, check_available
from optbook.coursework.student import read_notebook, student_notebook

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "coursework"
KEY = FIXTURES / "key.ipynb"
ROSTER = FIXTURES / "roster.csv"
MOODLE = FIXTURES / "roster_moodle.csv"
LIMITS = ["--timeout", "4", "--notebook-timeout", "60", "--memory", "2048"]

VISIBILITY = {"enum": list(gradescope.VISIBILITIES)}
#: Gradescope's results.json (its autograder specification), as strict as ours must be:
#: every field we may write is listed, and each test has the five fields the issue asks for
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "score", "max_score", "output", "visibility"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "number": {"type": "string"},
                "score": {"type": "number", "minimum": 0},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
        }},
    },
}


def validate(data: dict) -> dict:
    """Check ``data`` against the schema, and that the score adds up; return it."""
    jsonschema.validate(data, RESULTS_SCHEMA)
    for test in data["tests"]:
        assert test["score"] <= test["max_score"], test
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    return data


def _csv(path: Path, reader=csv.reader) -> list:
    with open(path, newline="") as f:
        return list(reader(f))


def _by_name(data: dict) -> dict:
    return {t["name"]: t for t in data["tests"]}


def _sub(name: str, points: dict[str, tuple[float, float]], status=(), notes=()) -> Submission:
    sub = Submission(Path("submissions") / name, status=list(status), notes=list(notes))
    sub.exercises = [Exercise(label, got, top, lines=[f"✔ a case of {label}"])
                     for label, (got, top) in points.items()]
    return sub


# ---------------------------------------------------------------- results.json, no kernel


def test_results_json_of_a_partly_correct_submission_has_gradescopes_schema():
    sub = _sub("alice.ipynb", {"ex-a": (3, 3), "ex-b": (0.5, 2)})
    data = validate(gradescope.results_json(sub, "key.ipynb"))
    assert data["score"] == 3.5 and data["stdout_visibility"] == "hidden"
    tests = _by_name(data)
    assert list(tests) == [gradescope.RUN_TEST, "ex-a", "ex-b"]
    assert tests["ex-a"]["status"] == "passed" and tests["ex-b"]["status"] == "failed"
    assert (tests["ex-b"]["score"], tests["ex-b"]["max_score"]) == (0.5, 2.0)
    assert {t["visibility"] for t in data["tests"][1:]} == {"after_published"}
    assert tests[gradescope.RUN_TEST]["visibility"] == "visible"
    assert tests[gradescope.RUN_TEST]["max_score"] == 0
    assert "3.5 / 5 points" in data["output"]


def test_the_instructor_chooses_when_the_hidden_tests_show():
    sub = _sub("bob.ipynb", {"ex-a": (1, 3)}, status=["timeout"], notes=["cell 2: too long"])
    data = validate(gradescope.results_json(sub, "key.ipynb", visibility="hidden"))
    assert _by_name(data)["ex-a"]["visibility"] == "hidden"
    run = _by_name(data)[gradescope.RUN_TEST]
    assert run["status"] == "failed" and "timeout" in run["output"] and "cell 2" in run["output"]
    with pytest.raises(ValueError, match="visibility must be one of"):
        gradescope.results_json(sub, "key.ipynb", visibility="later")


def test_a_submission_that_cannot_be_graded_gets_zero_and_the_reason():
    data = validate(gradescope.not_graded("no notebook (.ipynb file) was submitted",
                                          {"ex-a": 3.0, "ex-b": 2.0}, "key.ipynb"))
    assert data["score"] == 0 and [t["max_score"] for t in data["tests"]] == [0, 3, 2]
    assert all("no notebook" in t["output"] for t in data["tests"])


def test_results_are_written_whole(tmp_path):
    path = tmp_path / "results" / "results.json"
    data = gradescope.not_graded("why", {"ex-a": 1.0}, "key.ipynb")
    gradescope.write_results(path, data)
    assert json.loads(path.read_text()) == data
    assert os.listdir(path.parent) == ["results.json"]  # no temporary file left


def test_points_come_from_one_function_of_the_key(tmp_path):
    assert exercise_points(KEY) == {"ex-pl-constant": 3.0, "ex-rates-contraction": 2.0}
    nb = nbformat.read(KEY, as_version=4)
    next(c for c in nb.cells if "optbook" in c.metadata).metadata["optbook"]["points"] = 2.5
    nbformat.write(nb, tmp_path / "key.ipynb")
    assert exercise_points(tmp_path / "key.ipynb") == {"ex-pl-constant": 2.5,
                                                       "ex-rates-contraction": 2.0}


# ---------------------------------------------------------------- the zip, no kernel


@pytest.fixture(scope="module")
def zip_unchecked(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    assert main(["autograder", str(KEY), "--out", str(out), *LIMITS, "--no-check"]) == 0
    return out


def test_the_zip_holds_what_gradescope_runs(zip_unchecked):
    with zipfile.ZipFile(zip_unchecked) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        config = json.loads(archive.read(gradescope.CONFIG))
        requirements = archive.read("requirements.txt").decode()
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        assert archive.read("key/key.ipynb") == KEY.read_bytes()
    assert {"setup.sh", "run_autograder", "requirements.txt", gradescope.CONFIG,
            "optbook/__init__.py", "optbook/coursework/grade.py",
            "optbook/coursework/runner.py"} <= names
    assert not any("__pycache__" in n for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    assert config["limits"]["cell_timeout"] == 4 and config["limits"]["memory_mb"] == 2048
    assert config["visibility"] == "after_published"
    assert config["points"] == {"ex-pl-constant": 3.0, "ex-rates-contraction": 2.0}
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    assert {line.split("==")[0] for line in pins} >= {"numpy", "sympy", "nbclient", "ipykernel"}
    assert "-r \"$SOURCE/requirements.txt\"" in setup and "gradescope prepare" in setup
    assert "bwrap" not in setup + run  # the container is the isolation on this route
    assert "results.json" in run and "chmod -R go-rwx" in run


def test_the_autograder_command_refuses_bad_input(tmp_path, capsys):
    out = str(tmp_path / "a.zip")
    for argv, message in [
        (["autograder", str(KEY), "--out", str(tmp_path / "a.tar")], ".zip"),
        (["autograder", str(tmp_path / "nope.ipynb"), "--out", out], "no such file"),
        (["autograder", str(KEY), "--out", out, "--timeout", "-1"], "must be positive"),
    ]:
        assert main([*argv, "--no-check"]) == 2
        assert message in capsys.readouterr().err
    no_hidden = tmp_path / "no_hidden.ipynb"
    nbformat.write(student_notebook(read_notebook(KEY)).notebook, no_hidden)
    assert main(["autograder", str(no_hidden), "--out", out, "--no-check"]) == 2
    assert "no hidden tests" in capsys.readouterr().err
    assert not Path(out).exists()


def test_which_notebook_is_graded(tmp_path):
    sub = tmp_path / "submission"
    assert gradescope._submitted(sub, "ch02.ipynb")[0] is None
    sub.mkdir()
    assert "no notebook" in gradescope._submitted(sub, "ch02.ipynb")[1]
    (sub / "notes.txt").write_text("hi")
    (sub / "mine.ipynb").write_text("{}")
    assert gradescope._submitted(sub, "ch02.ipynb")[0] == sub / "mine.ipynb"
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "mine-checkpoint.ipynb").write_text("{}")
    (sub / "extra").mkdir()
    (sub / "extra" / "other.ipynb").write_text("{}")
    path, why = gradescope._submitted(sub, "ch02.ipynb")
    assert path is None and "2 notebooks" in why and "ch02.ipynb" in why
    (sub / "extra" / "ch02.ipynb").write_text("{}")
    assert gradescope._submitted(sub, "ch02.ipynb")[0] == sub / "extra" / "ch02.ipynb"
    (sub / "extra" / "ch02.ipynb").unlink()
    (sub / "extra" / "ch02.ipynb").symlink_to(KEY)  # a link to the key is not a submission
    path, why = gradescope._submitted(sub, "ch02.ipynb")
    assert path is None and "not a plain file" in why


def _unpack(zip_path: Path, root: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    return root


def test_when_the_grader_fails_the_result_says_so(zip_unchecked, tmp_path):
    root = _unpack(zip_unchecked, tmp_path)
    (root / "submission" / "alice.ipynb").write_bytes(KEY.read_bytes())
    (root / "source" / "key" / "key.ipynb").unlink()  # a broken autograder
    data = validate(gradescope.run(root))
    assert json.loads((root / "results" / "results.json").read_text()) == data
    assert data["score"] == 0 and "alice.ipynb" in data["output"]
    assert "the autograder failed" in _by_name(data)[gradescope.RUN_TEST]["output"]


@pytest.mark.kernel
def test_run_autograder_leaves_a_result_even_if_python_dies(zip_unchecked, tmp_path):
    root = _unpack(zip_unchecked, tmp_path)
    env = {**_environment(root), "OPTBOOK_AUTOGRADER_PYTHON": "/bin/false"}
    proc = subprocess.run(["bash", str(root / "run_autograder")], env=env, timeout=60)
    assert proc.returncode == 0
    data = validate(json.loads((root / "results" / "results.json").read_text()))
    assert data["score"] == 0 and "exit status 1" in data["output"]


# ---------------------------------------------------------------- LMS files, no kernel


def _graded(*names_and_totals) -> list[Submission]:
    return [_sub(name, {"ex-a": (total, 5)}) for name, total in names_and_totals]


def test_a_canvas_export_is_read_as_its_students_only():
    roster = lms.read_roster(ROSTER, lms.CANVAS_IDS, required=("Student",))
    assert [s["ID"] for s in roster.students] == ["1001", "1002", "1003", "1004", "1010"]
    assert roster.students[0]["Student"] == "Doe, Jane"
    for bad, message in [(FIXTURES / "nope.csv", "no such file"),
                         (MOODLE, "needs the columns Student")]:
        with pytest.raises(ValueError, match=message):
            lms.read_roster(bad, lms.CANVAS_IDS, required=("Student",))


def test_submissions_are_matched_by_a_whole_token_of_their_file_name():
    roster = lms.read_roster(ROSTER, lms.CANVAS_IDS, required=("Student",))
    subs = _graded(("doejane_1001_90001_ch02.ipynb", 3), ("roerichard_LATE_1002_90002_x.ipynb", 5),
                   ("roerichard_1002_90012_x.ipynb", 1), ("smith_10011_9_x.ipynb", 2),
                   ("both_1001_1003.ipynb", 4))
    matched = lms.match_submissions(subs, roster, "ID")
    assert [s.path.name for s in matched.by_student[0]] == ["doejane_1001_90001_ch02.ipynb"]
    assert matched.best(1).total == 5  # the better of Richard's two
    assert matched.best(3) is None
    reasons = {sub.path.name: why for sub, why in matched.unmatched}
    assert "names no student" in reasons["smith_10011_9_x.ipynb"]  # 10011 is not 1001
    assert "several students (1001, 1003)" in reasons["both_1001_1003.ipynb"]
    logins = lms.match_submissions(_graded(("JDoe.ipynb", 1)), roster, "SIS Login ID")
    assert logins.best(0).total == 1  # case does not matter
    pattern = r"^[a-z]+_(?:LATE_)?(?P<student>\d+)_"  # Canvas's download names
    by_pattern = lms.match_submissions(subs, roster, "ID", pattern)
    assert [s.path.name for s in by_pattern.by_student[0]] == [
        "doejane_1001_90001_ch02.ipynb", "both_1001_1003.ipynb"]  # the first number only
    assert {s.path.name for s, _ in by_pattern.unmatched} == {"smith_10011_9_x.ipynb"}
    assert by_pattern.best(0).total == 4 and by_pattern.best(2) is None
    for bad, message in [("(", "not a regular expression"), (r"(\d+)", "group named student")]:
        with pytest.raises(ValueError, match=message):
            lms.match_submissions(subs, roster, "ID", bad)
    with pytest.raises(ValueError, match="not a column"):
        lms.match_submissions(subs, roster, "Email")


def test_the_canvas_csv_has_canvass_columns_points_and_every_student(tmp_path):
    roster = lms.read_roster(ROSTER, lms.CANVAS_IDS, required=("Student",))
    subs = _graded(("doejane_1001_1_a.ipynb", 3), ("stranger_4242_2_a.ipynb", 2))
    matched = lms.match_submissions(subs, roster, "ID")
    out = tmp_path / "canvas.csv"
    lms.write_canvas(out, roster, matched, "Chapter 2", 5)
    rows = _csv(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 2"]
    assert rows[1] == ["Points Possible", "", "", "", "", "5"]
    assert rows[2] == ["Doe, Jane", "1001", "S1001", "jdoe", "Section A", "3"]
    assert [r[5] for r in rows[3:7]] == ["", "", "", ""]  # no submission: left unchanged
    assert rows[7] == ["UNMATCHED stranger_4242_2_a.ipynb", "", "", "", "", "2"]
    lms.write_canvas(out, roster, matched, "Chapter 2", 5, missing_as_zero=True)
    assert [r[5] for r in _csv(out)[3:7]] == ["0"] * 4
    lines = lms.report(roster, matched, "ID")
    assert lines[0] == ("5 students, 2 submissions: 1 matched, 1 unmatched, 4 students "
                        "without a submission")
    assert any("unmatched: submissions/stranger_4242_2_a.ipynb" in line for line in lines)
    assert any("no submission: 1010 (Moe, Ivan)" in line for line in lines)


def test_the_generic_csv_has_a_row_per_student_and_per_unmatched_submission(tmp_path):
    roster = lms.read_roster(MOODLE)
    assert [s["ID number"] for s in roster.students] == ["S1001", "S1002", "S1003"]
    subs = _graded(("s1001.ipynb", 4), ("s1001_v2.ipynb", 5), ("nobody.ipynb", 1))
    matched = lms.match_submissions(subs, roster, "ID number")
    out = tmp_path / "lms.csv"
    lms.write_lms(out, roster, matched, "ID number", 5)
    rows = _csv(out, csv.DictReader)
    assert list(rows[0]) == ["student_id", "score", "max", "status", "submission"]
    assert [(r["student_id"], r["score"], r["max"]) for r in rows] == [
        ("S1001", "5", "5"), ("S1002", "", "5"), ("S1003", "", "5"), ("", "1", "5")]
    assert "2 submissions, the best is graded" in rows[0]["status"]
    assert rows[1]["status"] == "no submission"
    assert rows[3]["status"].startswith("unmatched submission") and \
        rows[3]["submission"].endswith("nobody.ipynb")


def test_assignment_names():
    assert lms.assignment_name(Path("book/ch02_step_size.ipynb")) == "Chapter 2"
    assert lms.assignment_name(Path("key.ipynb")) == "key"


def test_the_grade_command_checks_the_format_options_before_grading(tmp_path, capsys):
    base = ["grade", "--key", str(KEY), str(KEY)]
    for extra, message in [
        (["--out", str(tmp_path / "s.csv"), "--format", "canvas"], "needs --roster"),
        (["--out", str(tmp_path / "s.json"), "--format", "canvas", "--roster", str(ROSTER)],
         "must end in .csv"),
        (["--out", str(tmp_path / "s.csv"), "--roster", str(ROSTER)], "only with --format"),
        (["--out", str(tmp_path / "r.csv"), "--format", "gradescope"], "must end in .json"),
        (["--out", str(tmp_path / "s.csv"), "--format", "canvas", "--roster", str(MOODLE)],
         "needs the columns Student"),
        (["--out", str(tmp_path / "s.csv"), "--format", "lms", "--roster", str(MOODLE),
          "--match-column", "Login"], "not a column"),
        (["--out", str(tmp_path / "s.csv"), "--format", "lms", "--roster", str(MOODLE),
          "--match-pattern", "(x"], "not a regular expression"),
        (["--out", str(tmp_path / "s.csv"), "--format", "lms", "--roster", str(MOODLE),
          "--assignment", "Chapter 2"], "--assignment: only with --format canvas"),
        (["--out", str(tmp_path / "s.csv"), "--format", "canvas", "--roster", str(ROSTER),
          "--assignment", " "], "must name the Canvas assignment"),
    ]:
        assert main([*base, *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
    assert main(["grade", "--key", str(KEY), str(KEY), str(KEY), "--out",
                 str(tmp_path / "r.json"), "--format", "gradescope"]) == 2
    assert "one submission" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- with kernels


def _require_sandbox() -> None:
    try:
        check_available()
    except SandboxUnavailable as err:
        if os.environ.get("OPTBOOK_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"the grading sandbox is required (OPTBOOK_REQUIRE_SANDBOX=1): {err}")
        pytest.skip(f"needs the grading sandbox: {err}")


def _hidden_from_others(path: Path) -> Path | None:
    """The highest directory above ``path`` that other users cannot enter, if any."""
    return next((d for d in reversed(path.parents) if not d.stat().st_mode & stat.S_IXOTH),
                None)


def _container() -> list[str]:
    """The command prefix that runs like Gradescope's container on this machine: as root,
    with the Python installation reachable by other users (bubblewrap re-mounts a
    directory that hides it, such as /root, with only the installation in it)."""
    if os.geteuid() != 0:  # then the notebooks run as this user (see the thief's test)
        return []
    needed = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
              Path(_package_parent())]
    hidden = {p: _hidden_from_others(p) for p in needed}
    if not any(hidden.values()):
        return []
    if shutil.which("bwrap") is None:
        pytest.skip("Python is hidden from other users here and bubblewrap is missing")
    args = ["bwrap", "--dev-bind", "/", "/", "--cap-add", "ALL"]
    for top in dict.fromkeys(d for d in hidden.values() if d):
        args += ["--perms", "0755", "--tmpfs", str(top)]
        for path, where in hidden.items():
            if where == top:
                for parent in reversed(path.parents):
                    if parent.is_relative_to(top) and parent != top:
                        args += ["--perms", "0755", "--dir", str(parent)]
                args += ["--bind", str(path), str(path)]
    return [*args, "--"]


def _environment(root: Path) -> dict:
    return {**os.environ, gradescope.ROOT_ENV: str(root),
            "OPTBOOK_AUTOGRADER_PYTHON": sys.executable}


THIEF = '''
import json, os
root = {root!r}
seen = {{"uid": os.getuid(), "root": sorted(os.listdir(root))}}
for name in ["source/key/key.ipynb", "source/key-values.json",
             "source/optbook-autograder.json"]:
    try:
        seen[name] = len(open(os.path.join(root, name)).read())
    except Exception as err:
        seen[name] = type(err).__name__
try:
    with open(os.path.join(root, "results", "results.json"), "w") as f:
        f.write('{{"score": 100, "tests": []}}')
    seen["results"] = "written"
except Exception as err:
    seen["results"] = type(err).__name__
raise RuntimeError("ATTACK " + json.dumps(seen))
'''


def _submission(case: str, root: Path) -> tuple[str, bytes] | None:
    """(file name, content) of each case's submission (None: nothing submitted)."""
    student = student_notebook(read_notebook(KEY)).notebook
    if case == "correct":
        return "key.ipynb", KEY.read_bytes()
    if case in ("partly", "loops", "memory"):
        name = {"partly": "solved_one"}.get(case, case)
        return f"{name}.ipynb", (FIXTURES / f"{name}.ipynb").read_bytes()
    if case == "malformed":
        return "key.ipynb", b'{"cells": [ this is not json'
    if case == "crash":
        nb = new_notebook(cells=[new_code_cell("import os, signal\n"
                                               "os.kill(os.getpid(), signal.SIGKILL)")])
        return "crash.ipynb", nbformat.writes(nb).encode()
    if case == "thief":
        student.cells.insert(2, new_code_cell(THIEF.format(root=str(root))))
        return "thief.ipynb", nbformat.writes(student).encode()
    return None


def _layout(source: Path, case: str) -> Path:
    """A fresh directory laid out as /autograder (as Gradescope makes it) for one case."""
    root = Path(tempfile.mkdtemp(prefix=f"autograder-{case}-"))
    root.chmod(0o755)
    shutil.copytree(source, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir(mode=0o755)
    submission = _submission(case, root)
    if submission is not None:
        (root / "submission" / submission[0]).write_bytes(submission[1])
    return root


CASES = ("correct", "partly", "loops", "malformed", "missing", "memory", "crash", "thief")


@pytest.fixture(scope="module")
def gradescope_runs(tmp_path_factory):
    """The zip built by the command, set up as setup.sh does (its `prepare` step), then
    run_autograder run on each case: {case: (results.json, seconds)}."""
    prefix = _container()
    tmp = tmp_path_factory.mktemp("gradescope")
    zip_path = tmp / "autograder.zip"
    try:
        check_available()
        check = []
    except SandboxUnavailable:
        check = ["--no-check"]
    assert main(["autograder", str(KEY), "--out", str(zip_path), *LIMITS, *check]) == 0
    template = Path(tempfile.mkdtemp(prefix="autograder-image-"))
    roots = []
    try:
        template.chmod(0o755)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(template / "source")
        for script in ("run_autograder", "setup.sh"):
            (template / "source" / script).chmod(0o755)
        syntax = subprocess.run(["bash", "-n", str(template / "source" / "setup.sh")])
        assert syntax.returncode == 0
        prepared = subprocess.run(
            [*prefix, sys.executable, "-m", "optbook.coursework.gradescope", "prepare"],
            env=_environment(template), capture_output=True, text=True, timeout=300)
        assert prepared.returncode == 0, prepared.stdout + prepared.stderr
        assert "autograder points to 5" in prepared.stdout

        def run(case):
            root = _layout(template / "source", case)
            roots.append(root)
            if case == "missing":  # and without the key's values: the key runs again
                (root / "source" / gradescope.KEY_VALUES).unlink()
            start = time.monotonic()
            proc = subprocess.run([*prefix, "bash", str(root / "run_autograder")],
                                  env=_environment(root), capture_output=True, text=True,
                                  timeout=600)
            seconds = time.monotonic() - start
            assert proc.returncode == 0, proc.stderr
            data = json.loads((root / "results" / "results.json").read_text())
            return case, (data, seconds, root, proc.stdout + proc.stderr)

        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = dict(pool.map(run, CASES))
        yield {"runs": runs, "zip": zip_path, "checked": not check,
               "stat": {r: (r / "source").stat().st_mode for r in roots}}
    finally:
        for path in [template, *roots]:
            shutil.rmtree(path, ignore_errors=True)


def _results(gradescope_runs, case) -> dict:
    data, _, _, log = gradescope_runs["runs"][case]
    try:
        return validate(data)
    except Exception:
        print(log)
        raise


@pytest.mark.kernel
def test_every_case_gets_a_valid_results_json(gradescope_runs):
    for case in CASES:
        data = _results(gradescope_runs, case)
        assert [t["name"] for t in data["tests"]] == [
            gradescope.RUN_TEST, "ex-pl-constant", "ex-rates-contraction"], case
        assert [t["max_score"] for t in data["tests"]] == [0, 3, 2], case


@pytest.mark.kernel
def test_the_correct_and_the_partly_correct_submissions_score_their_points(gradescope_runs):
    correct = _results(gradescope_runs, "correct")
    assert correct["score"] == 5 and _by_name(correct)[gradescope.RUN_TEST]["status"] == "passed"
    partly = _by_name(_results(gradescope_runs, "partly"))
    assert (partly["ex-pl-constant"]["score"], partly["ex-rates-contraction"]["score"]) == (3, 0)
    assert "not attempted" in partly["ex-rates-contraction"]["output"]
    assert partly["ex-rates-contraction"]["visibility"] == "after_published"
    if gradescope_runs["checked"]:
        with zipfile.ZipFile(gradescope_runs["zip"]) as archive:
            config = json.loads(archive.read(gradescope.CONFIG))
        assert config["points"] == {"ex-pl-constant": 3.0, "ex-rates-contraction": 2.0}


@pytest.mark.kernel
def test_bad_submissions_get_zero_or_their_points_and_a_message(gradescope_runs):
    expected = {"loops": (3, "timeout"), "malformed": (0, "not a readable notebook"),
                "missing": (0, "no notebook (.ipynb file) was submitted"),
                "memory": (0, "memory"), "crash": (0, "crashed")}
    for case, (score, message) in expected.items():
        data = _results(gradescope_runs, case)
        run = _by_name(data)[gradescope.RUN_TEST]
        assert data["score"] == score, (case, data)
        assert run["status"] == "failed" and message in run["output"], (case, run)
        assert run["visibility"] == "visible"


@pytest.mark.kernel
def test_a_notebook_cannot_read_the_key_or_write_the_results(gradescope_runs):
    if os.geteuid() != 0:
        pytest.skip("Gradescope runs the autograder as root, which then drops each notebook "
                    "to an unprivileged user; run as root to test that")
    data = _results(gradescope_runs, "thief")
    assert data["score"] == 0
    output = _by_name(data)[gradescope.RUN_TEST]["output"]
    seen = json.loads(output.split("RuntimeError: ATTACK ", 1)[1].splitlines()[0])
    assert seen["uid"] != 0 and "source" in seen["root"]  # it ran, and could look around
    for name in ["source/key/key.ipynb", "source/key-values.json",
                 "source/optbook-autograder.json"]:
        assert seen[name] == "PermissionError", seen
    assert seen["results"] == "PermissionError", seen
    for mode in gradescope_runs["stat"].values():
        assert not mode & 0o077  # run_autograder left the source readable by root only


@pytest.mark.kernel
def test_grade_format_gradescope_writes_the_same_json(gradescope_runs, tmp_path):
    _require_sandbox()
    submission = tmp_path / "solved_one.ipynb"
    submission.write_bytes((FIXTURES / "solved_one.ipynb").read_bytes())
    out = tmp_path / "out" / "results.json"
    assert main(["grade", "--key", str(KEY), str(submission), "--out", str(out),
                 "--format", "gradescope", *LIMITS]) == 0
    mine = validate(json.loads(out.read_text()))
    theirs = _results(gradescope_runs, "partly")
    for data in (mine, theirs):
        data.pop("execution_time")
    assert mine == theirs
    assert (out.parent / "solved_one.feedback.txt").exists()


@pytest.fixture(scope="module")
def lms_batch(tmp_path_factory):
    """Canvas-named copies of fixture submissions, and ones named by a Moodle id number."""
    _require_sandbox()
    tmp = tmp_path_factory.mktemp("lms")
    subs = tmp / "submissions"
    subs.mkdir()
    named = {"doejane_1001_90001_ch.ipynb": "solved_one.ipynb",
             "roerichard_LATE_1002_90002_ch.ipynb": "loops.ipynb",
             "poeedgar_1003_90003_ch.ipynb": None,
             "smithanna_2002_90004_ch.ipynb": "solved_one.ipynb"}
    for name, source in named.items():
        (subs / name).write_bytes((FIXTURES / source).read_bytes() if source
                                  else b"{ not a notebook")
    return tmp, sorted(subs.iterdir())


@pytest.mark.kernel
def test_grade_format_canvas_on_the_fixture_roster(lms_batch, capsys):
    tmp, subs = lms_batch
    out = tmp / "grades" / "canvas.csv"
    start = time.monotonic()
    assert main(["grade", "--key", str(KEY), *map(str, subs), "--out", str(out),
                 "--format", "canvas", "--roster", str(ROSTER), "--assignment", "Chapter 9",
                 "--jobs", "2", *LIMITS]) == 0
    seconds = time.monotonic() - start
    err = capsys.readouterr().err
    rows = _csv(out)
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 9"],
        ["Points Possible", "", "", "", "", "5"],
        ["Doe, Jane", "1001", "S1001", "jdoe", "Section A", "3"],
        ["Roe, Richard", "1002", "S1002", "rroe", "Section A", "3"],
        ["Poe, Edgar", "1003", "S1003", "epoe", "Section B", "0"],
        ["Loe, Ann", "1004", "S1004", "aloe", "Section B", ""],
        ["Moe, Ivan", "1010", "S1010", "imoe", "Section B", ""],
        ["UNMATCHED smithanna_2002_90004_ch.ipynb", "", "", "", "", "3"],
    ], (rows, seconds)
    assert ("5 students, 4 submissions: 3 matched, 1 unmatched, 2 students without a "
            "submission") in err
    assert "unmatched:" in err and "smithanna_2002" in err and "no submission: 1004" in err
    scores = _csv(out.parent / "canvas.scores.csv", csv.DictReader)
    assert len(scores) == 4 and len(list(out.parent.glob("*.feedback.txt"))) == 4


@pytest.mark.kernel
def test_grade_format_lms_on_a_moodle_roster(lms_batch, capsys):
    tmp, _ = lms_batch
    subs = tmp / "moodle"
    subs.mkdir()
    (subs / "S1001_ch.ipynb").write_bytes((FIXTURES / "solved_one.ipynb").read_bytes())
    (subs / "unknown.ipynb").write_bytes(KEY.read_bytes())
    out = tmp / "moodle.csv"
    assert main(["grade", "--key", str(KEY), *map(str, sorted(subs.iterdir())), "--out",
                 str(out), "--format", "lms", "--roster", str(MOODLE), *LIMITS]) == 0
    rows = [(r["student_id"], r["score"], r["max"], r["status"])
            for r in _csv(out, csv.DictReader)]
    assert rows[:3] == [("S1001", "3", "5", "ok"), ("S1002", "", "5", "no submission"),
                        ("S1003", "", "5", "no submission")]
    assert rows[3][:3] == ("", "5", "5") and rows[3][3].startswith("unmatched submission")
    assert "unmatched: " in capsys.readouterr().err
