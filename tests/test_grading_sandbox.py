"""A hostile submission cannot cheat or do harm: the grader's sandbox (coursework.sandbox).

Each attack sits in the exercise cell of Chapter 2's student version, as a student wanting
full marks without solving would put it: it defines the exercise's function from whatever
it could steal, and ends by raising ``RuntimeError("ATTACK {...}")`` with what it saw, so
that the feedback file reports it. The batch (the attacks, an honest solved submission that
the sibling attack targets, and the untouched student version) is graded by the command
line, as an instructor would, against a copy of the key in an "instructor" directory.

Every attack must fail, every submission get a row, and the files stay byte-identical.
The same batch graded with ``--unsafe-no-sandbox`` shows that the attacks do work without
the sandbox (all but the fork bomb, which is not run unprotected): the tests can fail.

Without bubblewrap the tests skip, or fail when ``OPTBOOK_REQUIRE_SANDBOX=1`` (CI).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest

from optbook.cli import main
from optbook.coursework.grade import Limits, grade
from optbook.coursework.sandbox import (
    SandboxUnavailable,
    check_available,
    command,
    readonly_paths,
)
from optbook.coursework.student import write_student_versions

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "ch02_step_size.ipynb"
FUNCTION = "best_step_hvp"
#: children the fork bomb tries to start, and the sandbox's process limit (Limits.processes)
FORKS, PROCESS_LIMIT = 2000, 128


def _require_sandbox() -> None:
    try:
        check_available()
    except SandboxUnavailable as err:
        if os.environ.get("OPTBOOK_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"the grading sandbox is required (OPTBOOK_REQUIRE_SANDBOX=1): {err}")
        pytest.skip(f"grading-sandbox tests skipped: {err}")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the attacks

_STEAL = """
def _solution(path):
    '''The key's (or a sibling's) solution of the exercise, executed: the stolen answer.'''
    nb = json.load(open(path))
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("def {function}("):
            namespace = {{}}
            exec(source, namespace)
            return namespace["{function}"]
"""

ATTACKS = {
    # (1) find the grader's --key in /proc (walking up the process tree, then every
    # process), open the key and run its solution; the key's real path as a fallback guess
    "proc_key": """
        pid, chain = os.getpid(), []
        while pid > 1 and len(chain) < 50:
            status = open(f"/proc/{{pid}}/status").read()
            pid = int(status.split("PPid:")[1].split()[0])
            chain.append(pid)
        found = None
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        for p in [*chain, *pids]:
            try:
                args = open(f"/proc/{{p}}/cmdline", "rb").read().split(b"\\0")
            except OSError:
                continue
            if b"--key" in args:
                found = args[args.index(b"--key") + 1].decode()
        seen = {{"n_pids": len(pids), "max_pid": max(pids), "chain": chain[:8], "found": found}}
        for path in [found, {key!r}]:
            try:
                stolen = _solution(path)
                seen["opened"] = path
                break
            except Exception as err:
                seen["error"] = type(err).__name__
    """,
    # (2) change the key (a newline at its end keeps it a notebook, for the control run)
    "write_key": """
        seen = {{}}
        try:
            with open({key!r}, "ab") as f:
                f.write(b"\\n")
            seen["written"] = True
        except Exception as err:
            seen["error"] = type(err).__name__
    """,
    # (3) copy a sibling submission of the same batch
    "sibling": """
        seen = {{"here": sorted(os.listdir(".")), "parent": sorted(os.listdir(".."))}}
        for path in [{sibling!r}, "../alice.ipynb", "alice.ipynb"]:
            try:
                stolen = _solution(path)
                seen["opened"] = path
                break
            except Exception as err:
                seen["error"] = type(err).__name__
    """,
    # (4) look around the instructor's home, the project and the key's folder
    "listing": """
        seen = {{}}
        for name, path in [("root", "/root"), ("home", {home!r}), ("project", {project!r}),
                           ("instructor", {instructor!r}), ("secret", {secret!r})]:
            try:
                if os.path.isdir(path):
                    names = sorted(os.listdir(path))
                    seen[name] = {{"n": len(names), "book": "book" in names,
                                  "names": names[:6]}}
                else:
                    seen[name] = open(path).read()
            except Exception as err:
                seen[name] = type(err).__name__
    """,
    # (5) reach the network: a server of the test on 127.0.0.1, and the internet
    "network": """
        import socket
        seen = {{}}
        for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 53)]:
            try:
                socket.create_connection((host, port), timeout=3).close()
                seen[host] = "connected"
            except Exception as err:
                seen[host] = type(err).__name__
        try:
            seen["dns"] = socket.gethostbyname("example.com")
        except Exception as err:
            seen["dns"] = type(err).__name__
    """,
    # (6) a fork bomb, bounded: start {forks} sleeping children, count them, stop them
    "fork_bomb": """
        import subprocess
        children, seen = [], {{}}
        try:
            for _ in range({forks}):
                children.append(subprocess.Popen(["sleep", "60"]))
        except Exception as err:
            seen["error"] = type(err).__name__
        seen["started"] = len(children)
        for child in children:
            child.kill()
            child.wait()
    """,
}


def _attack_cell(attack: str, **where) -> str:
    """The exercise cell of an attack: steal, define the function with the loot, report."""
    body = textwrap.dedent(ATTACKS[attack]).format(forks=FORKS, **where)
    return "\n".join([
        "import json, os",
        _STEAL.format(function=FUNCTION),
        "stolen = None",
        body,
        f"def {FUNCTION}(problem, w):",
        "    if stolen is None:",
        "        raise NotImplementedError()",
        "    return stolen(problem, w)",
        "",
        'raise RuntimeError("ATTACK " + json.dumps(seen))',
    ])


def _submission(notebook: Path, exercise: str | None = None) -> nbformat.NotebookNode:
    """The notebook cut to its imports, the exercise's cell (replaced by ``exercise``) and
    its check: what the hidden tests need, and quick to grade."""
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    at = next(i for i, c in enumerate(code) if c.source.startswith(f"def {FUNCTION}("))
    if exercise is not None:
        code[at].source = exercise
    nb.cells = [code[0], code[at], code[at + 1]]
    return nb


def _batch(tmp: Path, port: int, attacks) -> tuple[Path, list[Path]]:
    """The instructor's key copy and the submissions: the attacks and alice (solved)."""
    instructor, submissions = tmp / "instructor", tmp / "submissions"
    instructor.mkdir()
    submissions.mkdir()
    key = instructor / CHAPTER.name
    shutil.copyfile(CHAPTER, key)
    (instructor / "secret.txt").write_text("the instructor's secret")
    student = write_student_versions([key], tmp / "student")[0]
    nbformat.write(_submission(key), submissions / "alice.ipynb")  # a sibling, solved
    where = {"key": str(key), "sibling": str(submissions / "alice.ipynb"), "port": port,
             "project": str(ROOT), "instructor": str(instructor), "home": str(Path.home()),
             "secret": str(instructor / "secret.txt")}
    paths = []
    for attack in attacks:
        nbformat.write(_submission(student, _attack_cell(attack, **where)),
                       submissions / f"{attack}.ipynb")
        paths.append(submissions / f"{attack}.ipynb")
    return key, [*paths, submissions / "alice.ipynb"]


class _Server:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


def _grade_cli(key: Path, subs: list[Path], out: Path, *extra: str) -> subprocess.CompletedProcess:
    """Grade as an instructor does: the command line, so that /proc shows ``--key KEY``."""
    return subprocess.run(
        [sys.executable, "-m", "optbook", "grade", "--key", str(key), *map(str, subs),
         "--out", str(out), "--timeout", "60", "--notebook-timeout", "300", "--jobs", "2",
         *extra], capture_output=True, text=True, timeout=1200)


def _outcomes(out: Path, subs: list[Path]) -> tuple[dict, dict]:
    """(CSV rows by file stem, what each attack saw, from its feedback file)."""
    with open(out, newline="") as f:
        rows = {Path(r["submission"]).stem: r for r in csv.DictReader(f)}
    seen = {}
    for path in subs:
        feedback = (out.parent / f"{path.stem}.feedback.txt").read_text()
        match = re.search(r"RuntimeError: ATTACK (\{.*\})", feedback)
        if match:
            seen[path.stem] = json.loads(match.group(1))
    return rows, seen


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The batch graded in the sandbox: (rows, what the attacks saw, key, files' hashes)."""
    _require_sandbox()
    tmp = tmp_path_factory.mktemp("attacks")
    server = _Server()
    key, subs = _batch(tmp, server.port, ATTACKS)
    before = {p: _sha(p) for p in [key, *subs, tmp / "instructor" / "secret.txt"]}
    out = tmp / "scores" / "scores.csv"
    try:
        proc = _grade_cli(key, subs, out)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows, seen = _outcomes(out, subs)
    assert set(seen) == set(ATTACKS), (seen, proc.stdout)  # each attack ran and reported
    return {"rows": rows, "seen": seen, "key": key, "subs": subs, "before": before,
            "server": server, "stdout": proc.stdout}


@pytest.mark.kernel
def test_every_submission_is_graded_and_only_the_honest_one_scores(attacked):
    rows = attacked["rows"]
    assert set(rows) == {p.stem for p in attacked["subs"]}
    assert rows["alice"]["total"] == "4" and rows["alice"]["status"] == "ok"
    for attack in ATTACKS:
        assert rows[attack]["total"] == "0", (attack, rows[attack], attacked["seen"][attack])
        assert set(attacked["seen"][attack]), attack  # the attack ran and reported


@pytest.mark.kernel
def test_no_file_changed(attacked):
    assert {p: _sha(p) for p in attacked["before"]} == attacked["before"]


@pytest.mark.kernel
def test_the_grader_and_its_key_argument_are_invisible(attacked):
    seen = attacked["seen"]["proc_key"]
    assert seen["found"] is None
    assert "opened" not in seen and seen["error"] in ("FileNotFoundError", "PermissionError")
    # only the sandbox's processes: its init, the runner, the kernel (and their children)
    assert seen["n_pids"] < 10 and seen["max_pid"] < 100, seen
    assert seen["chain"][-1] == 1 and len(seen["chain"]) <= 4, seen


@pytest.mark.kernel
def test_the_key_cannot_be_written(attacked):
    seen = attacked["seen"]["write_key"]
    assert "written" not in seen and seen["error"] in ("FileNotFoundError", "PermissionError",
                                                       "OSError")
    assert _sha(attacked["key"]) == attacked["before"][attacked["key"]]


@pytest.mark.kernel
def test_a_sibling_submission_cannot_be_read(attacked):
    seen = attacked["seen"]["sibling"]
    assert "opened" not in seen and seen["error"] in ("FileNotFoundError", "PermissionError")
    assert not any(name.endswith(".ipynb") and name != "notebook.ipynb"
                   for name in seen["here"] + seen["parent"]), seen


def _bound_names(directory: str) -> set[str]:
    """What the sandbox may show in ``directory``: the first parts of its bound paths."""
    return {p.relative_to(directory).parts[0] for p in readonly_paths()
            if p.is_relative_to(directory) and p != Path(directory)}


@pytest.mark.kernel
def test_the_instructors_files_and_the_project_are_invisible(attacked):
    seen = attacked["seen"]["listing"]
    for name, directory in [("root", "/root"), ("home", Path.home()), ("project", ROOT)]:
        listing = seen[name]
        if isinstance(listing, dict):  # the directory exists only to hold Python or optbook
            bound = _bound_names(str(directory))
            assert listing["n"] <= len(bound) and set(listing["names"]) <= bound, seen
            assert not listing["book"]
    assert seen["instructor"] == seen["secret"] == "FileNotFoundError", seen


@pytest.mark.kernel
def test_there_is_no_network(attacked):
    seen = attacked["seen"]["network"]
    assert "connected" not in seen.values(), seen
    assert seen["dns"] in ("gaierror", "OSError"), seen
    assert attacked["server"].accepted == 0


@pytest.mark.kernel
def test_a_fork_bomb_hits_the_process_limit(attacked):
    seen = attacked["seen"]["fork_bomb"]
    assert seen["started"] < PROCESS_LIMIT < FORKS, seen
    assert seen["error"] in ("BlockingIOError", "OSError"), seen
    status = attacked["rows"]["fork_bomb"]["status"]  # graded after the bomb:
    assert "error" in status and "crashed" not in status and "timeout" not in status


@pytest.mark.kernel
def test_without_the_sandbox_the_attacks_succeed(tmp_path):
    """The control: the same attacks, unprotected (the fork bomb left out), do cheat."""
    _require_sandbox()  # grading the batch is only worth it where the attacked tests ran
    server = _Server()
    attacks = [a for a in ATTACKS if a != "fork_bomb"]
    key, subs = _batch(tmp_path, server.port, attacks)
    before = _sha(key)
    out = tmp_path / "scores" / "scores.csv"
    try:
        proc = _grade_cli(key, subs, out, "--unsafe-no-sandbox")
    finally:
        server.close()
    assert proc.returncode == 0 and "WARNING" in proc.stderr, proc.stderr[-3000:]
    rows, seen = _outcomes(out, subs)
    assert set(seen) == set(attacks), seen
    assert rows["proc_key"]["total"] == "4" and seen["proc_key"]["found"] == str(key)
    assert seen["write_key"].get("written") and _sha(key) != before
    assert rows["sibling"]["total"] == "4"
    assert seen["listing"]["project"]["book"], seen["listing"]
    assert seen["listing"]["secret"] == "the instructor's secret"
    assert seen["network"]["127.0.0.1"] == "connected" and server.accepted >= 1


def test_grading_refuses_without_a_sandbox(tmp_path, monkeypatch, capsys):
    """No bwrap on the PATH: a clear refusal, nothing run, no scores written."""
    from optbook.coursework import sandbox

    sandbox._probe.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, no setpriv here
    try:
        key = ROOT / "tests" / "fixtures" / "coursework" / "key.ipynb"
        out = tmp_path / "scores.csv"
        with pytest.raises(SandboxUnavailable, match="bubblewrap.*apt-get install bubblewrap"):
            grade(key, [key], out)
        assert main(["grade", "--key", str(key), str(key), "--out", str(out)]) == 2
        assert "apt-get install bubblewrap" in capsys.readouterr().err
        assert not out.exists()
    finally:
        sandbox._probe.cache_clear()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="empty"):
        command([], {}, 16)
    with pytest.raises(ValueError, match="scratch_mb"):
        command(["true"], {}, 0)
    with pytest.raises(ValueError, match="plain names"):
        command(["true"], {"../job.json": 3}, 16)
    with pytest.raises(ValueError, match="Limits.processes must be positive"):
        Limits(processes=0)
    key = ROOT / "tests" / "fixtures" / "coursework" / "key.ipynb"
    inside = readonly_paths()[-1] / "key.ipynb"  # never created: refused before running
    with pytest.raises(ValueError, match="which every sandbox can read"):
        grade(key, [inside], ROOT / "unused.csv")


def test_the_sandbox_command_binds_only_what_python_needs():
    """Read-only binds of /usr, Python and optbook; the project's other folders absent."""
    argv = command(["python"], {"job.json": 3}, 16)
    binds = [argv[i + 1] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    assert "--bind" not in argv and set(binds) <= {
        "/usr", *map(str, readonly_paths()), *(f"/{d}" for d in ("bin", "sbin", "lib", "lib64")),
        *(f"/etc/{f}" for f in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"))}
    assert not any(Path(b) in (ROOT, ROOT / "book", ROOT / "tests", Path.home()) for b in binds)
    for option in ("--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session",
                   "--clearenv"):
        assert option in argv
