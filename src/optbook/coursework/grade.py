"""Grade submissions against the key: isolated runs, comparisons in this process.

:func:`grade` runs the key and then every submission, each in its own process
(:mod:`.runner`, a fresh kernel, limits on time, memory, processes and output) inside its
own bubblewrap sandbox (:mod:`.sandbox`: no key, no other submission, no file of the
instructor's, no network, nothing writable but its scratch space), with the key's
hidden-test cells appended as content. Each hidden test reports the values the notebook's
function returns on the hidden inputs; this module compares a submission's values with
the key's using the book's :func:`optbook.exercises.diagnose`, in the grader's process, so
a submission cannot change what passing means. It writes one CSV row per submission,
whatever happened to it, and a feedback file per submission beside the CSV.

Where the notebooks run is the *isolation* (:data:`ISOLATIONS`): ``"sandbox"`` (bubblewrap,
the default and the only safe choice on a shared machine), ``"container"`` (Gradescope's
route, :mod:`.gradescope`: the machine is a throwaway container, so no bubblewrap; as root
each notebook runs as a fresh unprivileged user that cannot read the key), or ``"none"``
(``--unsafe-no-sandbox``, trusted notebooks only). The engine and the limits are the same.

The points of each exercise come from one place, :func:`exercise_points`, which reads their
declarations in the key (:mod:`.points`); the other routes (:mod:`.gradescope`, :mod:`.lms`)
take them from the graded :class:`Submission`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..exercises import diagnose
from . import sandbox
from .hidden import decode
from .markers import CHECK_CALL, is_hidden_tests_cell
from .points import declared_points
from .runner import TIMEOUT_ERROR
from .student import read_notebook

__all__ = ["ISOLATIONS", "Limits", "Exercise", "Key", "Submission", "check_isolation",
           "exercise_points", "grade", "grade_batch", "grade_submissions", "hidden_cells",
           "load_key", "run_notebook", "write_csv", "write_feedback"]

#: where graded notebooks run: bubblewrap, a throwaway container (Gradescope), unprotected
ISOLATIONS = ("sandbox", "container", "none")


@dataclass(frozen=True)
class Limits:
    """What one notebook may use: seconds per cell and per notebook, memory, output,
    file sizes, processes and scratch space."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    memory_mb: int = 4096
    max_output_kb: int = 1024
    file_mb: int = 64
    processes: int = 128  # processes and threads at once (RLIMIT_NPROC)
    scratch_mb: int = 256  # size of the sandbox's /tmp and scratch directory, each

    def __post_init__(self):
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, got {value}")


@dataclass
class Exercise:
    """The score of one exercise in one submission, with the feedback lines behind it."""

    label: str
    points: float = 0.0
    max_points: float = 0.0
    lines: list[str] = field(default_factory=list)
    problem: str | None = None  # e.g. "missing exercise", "timeout"


@dataclass
class Submission:
    """One graded submission: a CSV row and its feedback."""

    path: Path
    exercises: list[Exercise] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    def status_text(self) -> str:
        return "; ".join(dict.fromkeys(self.status)) or "ok"


def hidden_cells(key_path: Path) -> tuple[list[str], list[str]]:
    """(sources of the key's hidden-test cells, labels of its checked exercises)."""
    key = read_notebook(key_path)
    cells = [c.source for c in key.cells if is_hidden_tests_cell(c)]
    code = "\n".join(c.source for c in key.cells if c.cell_type == "code")
    checked = list(dict.fromkeys(label for label, _ in CHECK_CALL.findall(code)))
    if not cells:
        raise ValueError(f"{key_path}: no hidden tests found (cells with '### BEGIN HIDDEN "
                         f"TESTS'); see the instructors' page")
    return cells, checked


def _kill_group(pid: int) -> None:
    if pid <= 1:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_notebook_bytes(path: Path, limit_mb: int) -> bytes:
    """The file's bytes, unparsed (the runner parses it, in the sandbox)."""
    with open(path, "rb") as f:
        data = f.read((limit_mb << 20) + 1)
    if len(data) > limit_mb << 20:
        raise ValueError(f"the file is larger than {limit_mb} MB")
    return data


def _job(hidden: list[str], limits: Limits, where: Path) -> dict:
    """The runner's job: file names under ``where`` (the scratch directory), the limits."""
    return {"notebook": str(where / "notebook.ipynb"), "hidden": hidden,
            "workdir": str(where), "pidfile": str(where / "kernel.pid"),
            "cell_timeout": limits.cell_timeout, "memory_mb": limits.memory_mb,
            "max_output": limits.max_output_kb * 1024, "file_mb": limits.file_mb,
            "processes": limits.processes}


def _unsandboxed(tmp: Path) -> dict:
    """The environment of an unsafe run: the grader's, with scratch files in ``tmp``."""
    return {**os.environ, **sandbox.ENVIRONMENT, "HOME": str(tmp / "work"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "IPYTHONDIR": str(tmp / "ipython"),
            "MPLCONFIGDIR": str(tmp / "mpl")}


def _container_env(work: Path) -> dict:
    """The environment of a run in a container: the sandbox's, none of the grader's."""
    return {**sandbox.ENVIRONMENT, "HOME": str(work), "PATH": sandbox._path(),
            "PYTHONPATH": sandbox._package_parent(),
            "JUPYTER_RUNTIME_DIR": str(work / ".jupyter"), "IPYTHONDIR": str(work / ".ipython"),
            "MPLCONFIGDIR": str(work / ".matplotlib")}


def _container_user(tmp: Path, work: Path) -> int | None:
    """As root: a fresh user id owning ``work`` (and nothing else); else None."""
    if os.geteuid() != 0:
        return None
    uid = sandbox.unused_uid()
    os.chmod(tmp, 0o711)  # the user may reach `work`, not list what else is in `tmp`
    for path in [work, *work.iterdir()]:
        os.chown(path, uid, uid)
    os.chmod(work, 0o700)
    return uid


def _processes_of(uid: int) -> list[int]:
    """The ids of the processes whose real user is ``uid`` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:  # gone meanwhile
                continue
            uids = next((line.split()[1:] for line in status.splitlines()
                         if line.startswith("Uid:")), [])
            if uids and int(uids[0]) == uid:
                pids.append(int(entry.name))
    return pids


def _kill_user(uid: int) -> None:
    """Kill every process of the user ``uid`` (the kernel and whatever it started)."""
    for _ in range(100):  # a process forked during a round is killed in the next
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def _unreachable_for_others() -> str | None:
    """Why a user who owns nothing cannot run this Python and optbook (None if it can)."""
    needed = [Path(sys.executable).resolve(), Path(sys.base_prefix).resolve(),
              Path(sys.prefix).resolve(), Path(sandbox._package_parent())]
    for path in needed:
        for directory in reversed(path.parents):
            if not directory.stat().st_mode & stat.S_IXOTH:
                return f"{path} is inside {directory}, which other users cannot enter"
        if not path.stat().st_mode & stat.S_IROTH:
            return f"other users cannot read {path}"
    return None


def _start(tmp: Path, limits: Limits, isolation: str, uid: int | None, out, log
           ) -> subprocess.Popen:
    """Start the runner on the job in ``tmp``: in the sandbox, or in ``tmp/work``."""
    runner = [sys.executable, "-m", "optbook.coursework.runner"]
    if isolation != "sandbox":
        work = tmp / "work"
        env = _container_env(work) if isolation == "container" else _unsandboxed(tmp)
        drop = sandbox.drop_root(uid) if uid is not None else []
        return subprocess.Popen([*drop, *runner, str(work / "job.json")], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=log, env=env,
                                start_new_session=True)
    # the sandbox gets copies of the job and the notebook, read from these descriptors
    fds = {name: os.open(tmp / name, os.O_RDONLY) for name in ("job.json", "notebook.ipynb")}
    try:
        argv = sandbox.command([*runner, f"{sandbox.SCRATCH}/job.json"], fds,
                               limits.scratch_mb)
        return subprocess.Popen(argv, cwd="/", stdin=subprocess.DEVNULL, stdout=out,
                                stderr=log, pass_fds=tuple(fds.values()),
                                start_new_session=True)
    finally:
        for fd in fds.values():
            os.close(fd)


def _check_isolation_name(isolation: str) -> None:
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")


def run_notebook(path: Path, hidden: list[str], limits: Limits,
                 isolation: str = "sandbox") -> dict:
    """Run the notebook ``path`` in a new process, with the hidden cells; the runner's report.

    The process runs on a copy of the notebook: in the sandbox (:mod:`.sandbox`), or, with
    ``isolation="container"`` or ``"none"``, in a temporary directory (in a container, as
    root: as a fresh unprivileged user who owns only that directory).
    """
    _check_isolation_name(isolation)
    try:
        notebook = _read_notebook_bytes(path, limits.file_mb)
    except (OSError, ValueError) as err:
        return {"cells": [], "hidden": [], "unreadable": f"{type(err).__name__}: {err}"[:500]}
    with tempfile.TemporaryDirectory(prefix="optbook-grade-") as tmp:
        tmp = Path(tmp)
        in_sandbox = isolation == "sandbox"
        inputs = tmp if in_sandbox else tmp / "work"
        inputs.mkdir(exist_ok=True)
        scratch = Path(sandbox.SCRATCH) if in_sandbox else inputs
        (inputs / "job.json").write_text(json.dumps(_job(hidden, limits, scratch)))
        (inputs / "notebook.ipynb").write_bytes(notebook)
        uid = _container_user(tmp, inputs) if isolation == "container" else None
        with open(tmp / "result.json", "wb") as out, open(tmp / "log.txt", "wb") as log:
            proc = _start(tmp, limits, isolation, uid, out, log)
            try:
                proc.wait(timeout=limits.notebook_timeout)
                killed = False
            except subprocess.TimeoutExpired:
                killed = True
            finally:
                _kill_group(proc.pid)  # the runner and anything it left behind
                if uid is not None:
                    _kill_user(uid)  # the kernel, and anything it started, whatever pid file
                elif not in_sandbox:  # the kernel has its own session
                    kernel = inputs / "kernel.pid"
                    pid = kernel.read_text() if kernel.exists() else ""
                    if pid.isdigit() and int(pid) > 1:
                        _kill_group(int(pid))
                proc.wait()
        if killed:
            return {"killed": f"the notebook ran longer than {limits.notebook_timeout:g} s"}
        return _result(tmp, proc.returncode, limits.file_mb)


def _result(tmp: Path, returncode: int, limit_mb: int) -> dict:
    """The runner's report, or why there is none."""
    try:
        with open(tmp / "result.json", "rb") as f:
            return json.loads(f.read(limit_mb << 20))
    except (OSError, ValueError):
        tail = (tmp / "log.txt").read_text(errors="replace")[-500:]
        return {"killed": f"the grading process died (exit code {returncode}): "
                          f"{tail.strip()}"}


def _key_reports(key: dict, key_path: Path, checked: list[str]) -> list[dict]:
    if "killed" in key or key.get("unreadable") or key.get("crashed"):
        raise ValueError(f"{key_path}: the key itself did not run: "
                         f"{key.get('killed') or key.get('unreadable') or 'the kernel died'}")
    if key["cells"]:
        first = key["cells"][0]
        raise ValueError(f"{key_path}: the key raises in cell {first['index']}: "
                         f"{first['ename']}: {first['evalue']}")
    reports = []
    for entry in key["hidden"]:
        report = entry["report"]
        if entry["error"] or report is None:
            raise ValueError(f"{key_path}: a hidden-test cell fails on the key: {entry['error']}")
        bad = [c["description"] for c in report["cases"] if c["value"]["kind"] != "array"]
        if bad:
            raise ValueError(f"{key_path}: {report['label']}: the key gives no number for "
                             f"the hidden cases {bad}")
        reports.append(report)
    labels = [r["label"] for r in reports]
    missing = [label for label in checked if label not in labels]
    if missing:
        raise ValueError(f"{key_path}: coding exercises without hidden tests: {missing}")
    return reports


#: the status of a notebook, from the exception a cell raised
_PROBLEMS = {TIMEOUT_ERROR: "timeout", "MemoryError": "memory", "ImportError": "import error",
             "ModuleNotFoundError": "import error"}
#: what is wrong with an answer that is not an array
_NOT_A_NUMBER = {
    "not attempted": "not attempted (the function raises NotImplementedError)",
    "none": "your function returned None: did you forget the `return` statement?",
    "too large": "returned a far too large array",
}


def _compare(expected: dict, got: dict) -> str | None:
    """None if the submission's value passes, else what is wrong (never the answer)."""
    kind = got["kind"]
    if kind == "array":
        return diagnose(decode(got), decode(expected["value"]),
                        rtol=expected["rtol"], atol=expected["atol"])
    if kind == "error":
        message = got.get("message", "")
        return f"raised {message}" + (" (over the memory limit)" * ("MemoryError" in message))
    return _NOT_A_NUMBER.get(kind, f"returned a {got.get('type')}, expected a number or an array")


def _score_exercise(key_report: dict, max_points: float, entry: dict | None,
                    why_missing: str) -> Exercise:
    ex = Exercise(key_report["label"], max_points=float(max_points))
    if entry is None:  # the notebook's status says why
        ex.lines = [f"not graded: {why_missing}"]
        return ex
    error, report = entry["error"], entry["report"]
    if error and error["ename"] == "NameError" \
            and f"'{key_report.get('function')}'" in error["evalue"]:
        ex.problem = "missing exercise"
        ex.lines = [f"missing exercise: {error['evalue']} (was the function's cell deleted "
                    f"or the function renamed?)"]
        return ex
    if error or report is None or report.get("label") != ex.label \
            or len(report.get("cases", [])) != len(key_report["cases"]):
        reason = f"{error['ename']}: {error['evalue']}" if error else "no report"
        ex.problem = _PROBLEMS.get(error["ename"], "error") if error else "error"
        ex.lines = [f"the hidden tests could not run: {reason}"]
        return ex
    passed = 0
    for expected, got in zip(key_report["cases"], report["cases"], strict=True):
        hint = _compare({**expected, "rtol": key_report["rtol"], "atol": key_report["atol"]},
                        got["value"])
        if hint is None:
            passed += 1
            ex.lines.append(f"✔ {expected['description']}")
        else:
            ex.lines.append(f"✘ {expected['description']}: {hint}")
            if "MemoryError" in hint:
                ex.problem = "memory"
    ex.points = round(ex.max_points * passed / len(key_report["cases"]), 2)
    return ex


def _score(path: Path, run: dict, key: Key) -> Submission:
    sub = Submission(path, seconds=run.get("seconds", 0.0))
    why = "the notebook did not finish"
    if "killed" in run:
        sub.status.append("timeout" if "longer than" in run["killed"] else "crashed")
        sub.notes.append(run["killed"])
        why = run["killed"]
    elif run.get("unreadable"):
        sub.status.append("unreadable")
        sub.notes.append(f"not a readable notebook: {run['unreadable']}")
        why = "the notebook could not be read"
    else:
        for cell in run["cells"]:
            kind = _PROBLEMS.get(cell["ename"], "error")
            sub.status.append(kind)
            sub.notes.append(f"cell {cell['index']}: {cell['ename']}: {cell['evalue']}")
        if run.get("stuck") is not None:
            sub.status.append("timeout")
            sub.notes.append(f"cell {run['stuck']} did not stop when interrupted after "
                             "the time limit; nothing after it was run")
            why = "the notebook was stopped before this exercise was graded"
        if run.get("crashed"):
            sub.status.append("crashed")
            sub.notes.append("the kernel died (a crash, or the memory limit)")
            why = "the kernel died before this exercise was graded"
        if run.get("truncated"):
            sub.status.append("output limit")
            sub.notes.append("the notebook printed too much; the rest of its output was dropped")
    entries = run.get("hidden", [])
    for i, key_report in enumerate(key.reports):
        ex = _score_exercise(key_report, key.points[key_report["label"]],
                             entries[i] if i < len(entries) else None, why)
        if ex.problem and ex.problem not in sub.status:
            sub.status.append(ex.problem)
        sub.exercises.append(ex)
    return sub


def _grade_one(path: Path, key: Key, limits: Limits, isolation: str) -> Submission:
    try:
        return _score(path, run_notebook(path, key.hidden, limits, isolation), key)
    except Exception as err:  # never lose a row: a grader bug is reported, not fatal
        sub = Submission(path, status=["grader error"], notes=[f"{type(err).__name__}: {err}"])
        sub.exercises = [Exercise(label, max_points=points, problem="grader error",
                                  lines=["not graded: the grader failed (see the status)"])
                         for label, points in key.points.items()]
        return sub


def _feedback(sub: Submission, key_path: Path) -> str:
    max_total = sum(e.max_points for e in sub.exercises)
    lines = [f"Feedback on {sub.path.name} (graded against {key_path.name})",
             f"total: {sub.total:g} / {max_total:g} points; status: {sub.status_text()}", ""]
    if sub.notes:
        lines += ["While running the notebook:", *[f"  {n}" for n in sub.notes], ""]
    for ex in sub.exercises:
        lines.append(f"{ex.label}: {ex.points:g} / {ex.max_points:g} points")
        lines += [f"  {line}" for line in ex.lines]
    return "\n".join(lines) + "\n"


def _feedback_names(paths: list[Path]) -> list[str]:
    """A distinct file name per submission: its stem, or folder-stem, or folder-stem-N."""
    stems = [p.stem for p in paths]
    names = [f"{p.parent.name}-{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in paths]
    return [f"{name}-{i + 1}" if names.count(name) > 1 else name
            for i, name in enumerate(names)]


def write_csv(subs: list[Submission], labels: list[str], out: Path) -> None:
    """One row per submission: points per exercise, total and status."""
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *labels, "total", "status"])
        for sub in subs:
            points = {e.label: e.points for e in sub.exercises}
            writer.writerow([str(sub.path), *(f"{points[label]:g}" for label in labels),
                             f"{sub.total:g}", sub.status_text()])


def write_feedback(subs: list[Submission], key_path: Path, directory: Path) -> list[Path]:
    """Write one feedback file per submission into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sub, name in zip(subs, _feedback_names([s.path for s in subs]), strict=True):
        path = directory / f"{name}.feedback.txt"
        path.write_text(_feedback(sub, key_path))
        written.append(path)
    return written


UNSAFE_WARNING = """\
WARNING: grading WITHOUT the sandbox (--unsafe-no-sandbox). Every submission runs with
your user's rights: it can read the key and your files, change them, and use the network.
Do this only for notebooks you trust (e.g. checking your own key).
"""


def check_isolation(isolation: str) -> None:
    """Refuse clearly where ``isolation`` cannot be had; warn when it is ``"none"``."""
    _check_isolation_name(isolation)
    if isolation == "sandbox":
        sandbox.check_available()
    elif isolation == "container" and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            raise sandbox.SandboxUnavailable(
                "grading in a container as root needs `setpriv` (util-linux) to run each "
                "notebook as an unprivileged user: `apt-get install util-linux`")
        reason = _unreachable_for_others()
        if reason:
            raise sandbox.SandboxUnavailable(
                f"grading in a container runs each notebook as an unprivileged user, who "
                f"cannot run Python here: {reason}. Install Python and the packages where "
                "every user can read them (e.g. under /opt or /usr)")
    else:
        sys.stderr.write(UNSAFE_WARNING)


def _check_inputs(key_path: Path, paths: list[Path]) -> None:
    if not paths:
        raise ValueError("no submissions given")
    for path in [key_path, *paths]:
        inside = [p for p in sandbox.readonly_paths() if path.resolve().is_relative_to(p)]
        if inside:
            raise ValueError(f"{path} is inside {inside[0]}, which every sandbox can read: "
                             "move it elsewhere")


@dataclass(frozen=True)
class Key:
    """A key notebook, run: its hidden-test cells, the values its functions give on them
    (one report per exercise) and the points of each exercise."""

    path: Path
    hidden: list[str]
    reports: list[dict]
    points: dict[str, float]

    @property
    def max_total(self) -> float:
        return sum(self.points.values())

    def summary(self) -> str:
        """E.g. "2 exercises, 5 points"."""
        n = len(self.points)
        return f"{n} exercise{'s' * (n != 1)}, {self.max_total:g} points"


def exercise_points(key_path: str | Path) -> dict[str, float]:
    """The most points each auto-graded exercise of the key is worth: label -> points.

    Every route (the CSV, Gradescope, the LMS files, nbgrader) takes its points from here:
    the declarations in the key itself, ``{"optbook": {"points": N}}`` in the metadata of
    each exercise's check cell (:func:`.points.declared_points`, which raises ValueError
    for a missing or invalid one).
    """
    key_path = Path(key_path)
    return declared_points(read_notebook(key_path), key_path.name)


def _points_of(key_path: Path, reports: list[dict]) -> dict[str, float]:
    """The declared points, in the order of the key's hidden tests (the CSV's columns)."""
    declared = exercise_points(key_path)
    undeclared = [r["label"] for r in reports if r["label"] not in declared]
    if undeclared:
        raise ValueError(f"{key_path}: hidden tests for {', '.join(undeclared)}, which no "
                         "check cell with points declares")
    return {r["label"]: declared[r["label"]] for r in reports}


def load_key(key_path: str | Path, limits: Limits = Limits(), isolation: str = "sandbox",
             reports: list[dict] | None = None) -> Key:
    """Run the key with its hidden tests (unless its ``reports`` are given) and check it."""
    key_path = Path(key_path)
    hidden, checked = hidden_cells(key_path)
    exercise_points(key_path)  # a missing or invalid declaration is refused before any run
    if reports is None:
        reports = _key_reports(run_notebook(key_path, hidden, limits, isolation), key_path,
                               checked)
    return Key(key_path, hidden, reports, _points_of(key_path, reports))


def grade_submissions(key: Key, paths: list[Path], limits: Limits = Limits(), jobs: int = 1,
                      isolation: str = "sandbox") -> list[Submission]:
    """Grade each notebook of ``paths`` against the loaded key: one Submission each."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda p: _grade_one(p, key, limits, isolation), paths))


def grade_batch(key_path: str | Path, submissions: list[str | Path], limits: Limits = Limits(),
                jobs: int = 1, log=None, isolation: str = "sandbox"
                ) -> tuple[Key, list[Submission]]:
    """Check the inputs and the isolation, run the key, grade every submission."""
    key_path, paths = Path(key_path), [Path(p) for p in submissions]
    _check_inputs(key_path, paths)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    hidden_cells(key_path)  # a key without hidden tests is refused before any run
    exercise_points(key_path)  # and one without valid points
    check_isolation(isolation)
    start = time.monotonic()
    key = load_key(key_path, limits, isolation)
    if log:
        log(f"key {key_path.name}: {key.summary()} ({time.monotonic() - start:.1f} s)")
    subs = grade_submissions(key, paths, limits, jobs, isolation)
    if log:
        for sub in subs:
            log(f"{sub.path}: {sub.total:g} points, {sub.status_text()} ({sub.seconds:.1f} s)")
    return key, subs


def grade(key_path: str | Path, submissions: list[str | Path], out: str | Path,
          limits: Limits = Limits(), jobs: int = 1, log=None,
          use_sandbox: bool = True, isolation: str | None = None) -> list[Submission]:
    """Grade every submission against the key; write the CSV ``out`` and feedback files.

    Every notebook, the key included, runs in the sandbox (:mod:`.sandbox`); where there is
    none, :class:`~.sandbox.SandboxUnavailable` says what to install. ``use_sandbox=False``
    (``isolation="none"``) runs them unprotected, with a warning on the standard error: for
    trusted notebooks only.
    """
    out = Path(out)
    if out.suffix != ".csv":
        raise ValueError(f"--out {out}: the scores file must end in .csv")
    isolation = isolation or ("sandbox" if use_sandbox else "none")
    key, subs = grade_batch(key_path, submissions, limits, jobs, log, isolation)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(subs, list(key.points), out)
    write_feedback(subs, key.path, out.parent)
    return subs
