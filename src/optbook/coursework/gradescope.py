"""Gradescope: an autograder for a chapter, and results in Gradescope's ``results.json``.

``optbook autograder CHAPTER.ipynb --out autograder.zip`` (:func:`build`) writes the zip
that a Gradescope programming assignment takes (Gradescope's autograder specification):

- ``setup.sh``, run once by Gradescope, as root, when it builds the assignment's image
  (Ubuntu): a Python >= 3.11 virtual environment in ``/opt/optbook-venv`` with the pinned
  ``requirements.txt`` (the versions installed where the zip was built) and the zip's copy
  of ``optbook``; then ``prepare`` runs the key once, so that a key that does not run
  fails the image build instead of every submission, and keeps the key's values;
- ``run_autograder``, run for every submission: grades ``/autograder/submission/*.ipynb``
  with the engine and limits of ``optbook grade`` (:mod:`.grade`) and writes
  ``/autograder/results/results.json`` (:func:`results_json`), whatever happens: a
  missing, malformed, looping, crashing or memory-hungry submission gets zero points and
  a message, and if the grader itself fails, the script writes a result saying so;
- ``key/CHAPTER.ipynb`` (the key, with its solutions and hidden tests), ``optbook/`` and
  ``optbook-autograder.json`` (limits, visibility, points).

Isolation. Gradescope grades each submission in its own throwaway container: that is the
isolation from other students' work and from the instructor's machine, so bubblewrap is
off on this route (``isolation="container"`` of :mod:`.grade`, and only there). The key
is in the same container, though. The assumption is that students cannot read
``/autograder/source``: Gradescope never shows it to them; but the code of a notebook runs
inside the container, so ``run_autograder`` makes the source readable by root only and
:mod:`.grade` runs each notebook as a fresh unprivileged user (``setpriv``), which can
neither read the key nor write the results; the hidden tests reach its kernel as text.

Visibility. Each exercise is one test of ``results.json``, with its points and the
feedback lines of ``optbook grade``; its visibility is ``after_published`` unless the
instructor chooses another (``--visibility``). One more test, worth no points and
``visible`` at once, says whether the notebook ran (a loop, a crash, an unreadable file).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import asdict
from pathlib import Path

from .grade import (
    Exercise,
    Key,
    Limits,
    Submission,
    check_isolation,
    exercise_points,
    grade_submissions,
    hidden_cells,
    load_key,
)
from .sandbox import SandboxUnavailable

__all__ = ["VISIBILITIES", "build", "not_graded", "pinned_requirements", "prepare",
           "results_json", "run", "write_results"]

#: Gradescope's visibility settings of a test
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
#: the autograder's root directory (Gradescope's ``/autograder``), for tests
ROOT_ENV = "OPTBOOK_AUTOGRADER_ROOT"
CONFIG = "optbook-autograder.json"
KEY_VALUES = "key-values.json"
VENV = "/opt/optbook-venv"
#: the name of the test that reports how the notebook ran
RUN_TEST = "Your notebook ran"
#: what a graded notebook imports besides optbook (pinned at the versions installed here)
REQUIRED = ("numpy", "sympy", "mpmath", "matplotlib", "pillow", "ipykernel", "jupyter_client",
            "nbformat", "nbclient", "markdown-it-py", "mdit-py-plugins")
OPTIONAL = ("ipywidgets", "mnist1d")  # the sliders' widgets; MNIST-1D's generator


# ---------------------------------------------------------------- results.json


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}; "
                         f"got {visibility!r}")


def results_json(sub: Submission, key_name: str, visibility: str = "after_published",
                 run_visibility: str = "visible") -> dict:
    """Gradescope's ``results.json`` for one graded submission.

    ``score`` is the total; ``tests`` holds one test per exercise (its points, the
    feedback lines, ``visibility``) after a test worth no points saying how the notebook
    ran (``run_visibility``).
    """
    _check_visibility(visibility)
    _check_visibility(run_visibility)
    max_total = sum(e.max_points for e in sub.exercises)
    ran = sub.status_text() == "ok"
    run_lines = ["Every cell ran." if ran else f"Problems: {sub.status_text()}.", *sub.notes]
    tests = [{"name": RUN_TEST, "score": 0.0, "max_score": 0.0,
              "status": "passed" if ran else "failed", "output": "\n".join(run_lines),
              "visibility": run_visibility}]
    for number, ex in enumerate(sub.exercises, start=1):
        tests.append({"name": ex.label, "number": str(number), "score": float(ex.points),
                      "max_score": float(ex.max_points),
                      "status": "passed" if ex.points >= ex.max_points else "failed",
                      "output": "\n".join(ex.lines), "visibility": visibility})
    summary = (f"{sub.path.name}, graded against {key_name}: {sub.total:g} / {max_total:g} "
               f"points; status: {sub.status_text()}")
    return {"score": round(float(sub.total), 2), "execution_time": round(sub.seconds),
            "output": summary, "stdout_visibility": "hidden", "tests": tests}


def not_graded(message: str, points: dict[str, float], key_name: str,
               visibility: str = "after_published", name: str = "(no notebook)") -> dict:
    """The ``results.json`` of a submission that could not be graded: zero, and why."""
    sub = Submission(Path(name), status=["not graded"], notes=[message])
    sub.exercises = [Exercise(label, max_points=p, lines=[f"not graded: {message}"])
                     for label, p in points.items()]
    return results_json(sub, key_name, visibility)


def write_results(path: str | Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a reader sees all of it or nothing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the zip


def pinned_requirements() -> str:
    """``requirements.txt`` for the image: each package a graded notebook imports, pinned
    to the version installed here (where the key was checked)."""
    lines = ["# What a graded notebook imports, at the versions where the autograder was "
             "built", f"# (optbook {_version()}, Python {platform.python_version()})."]
    for name in (*REQUIRED, *OPTIONAL):
        try:
            lines.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            if name in REQUIRED:
                raise ValueError(f"{name} is not installed here, and grading needs it: "
                                 "pip install 'optbook[coursework]'") from None
            lines.append(f"# {name}: not installed where the autograder was built")
    return "\n".join(lines) + "\n"


def _version() -> str:
    import optbook

    return optbook.__version__


SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# It installs Python >= 3.11, the pinned requirements and optbook into {venv}, then runs
# the key once (a key that does not run stops the build here) and keeps its values.
# No bubblewrap: the container is the isolation (see optbook.coursework.gradescope).
set -euo pipefail
SOURCE="${{OPTBOOK_AUTOGRADER_ROOT:-/autograder}}/source"
VENV={venv}
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip util-linux
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null \\
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PYTHON="$candidate"
    break
  fi
done
if [ -z "$PYTHON" ]; then  # Ubuntu 22.04's python3 is 3.10; 3.11 is in its universe
  apt-get install -y --no-install-recommends python3.11 python3.11-venv
  PYTHON=python3.11
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --upgrade pip
"$VENV/bin/pip" install --no-cache-dir -r "$SOURCE/requirements.txt"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
rm -rf "$SITE/optbook"
cp -r "$SOURCE/optbook" "$SITE/optbook"
chmod -R a+rX "$VENV"
"$VENV/bin/python" -m optbook.coursework.gradescope prepare
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in a fresh container. It grades
# /autograder/submission/*.ipynb like `optbook grade` (same engine and limits; no
# bubblewrap, the container is the isolation; each notebook runs as an unprivileged user)
# and writes /autograder/results/results.json. It always leaves a results.json.
ROOT="${{OPTBOOK_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{OPTBOOK_AUTOGRADER_PYTHON:-{venv}/bin/python}}"
chmod -R go-rwx "$ROOT/source" 2>/dev/null  # the key: root only
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
"$PYTHON" -m optbook.coursework.gradescope run --root "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  cat > "$ROOT/results/results.json" <<EOF
{{"score": 0.0, "output": "The autograder stopped (exit status $status) before it could grade \
this submission. It was not graded: please tell your instructor.", "tests": []}}
EOF
fi
exit 0
"""


def _package_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) of every file of the installed optbook package."""
    import optbook

    package = Path(optbook.__file__).resolve().parent
    return [(path, f"optbook/{path.relative_to(package).as_posix()}")
            for path in sorted(package.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"]


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(key_path: str | Path, out: str | Path, limits: Limits | None = None,
          visibility: str = "after_published", check: bool = True, log=None) -> dict:
    """Write the Gradescope autograder zip ``out`` for the key ``key_path``; its config.

    With ``check``, the key is first run here, in the sandbox (it must get its own full
    marks); ``check=False`` skips that run. The zip records the points the key declares.
    """
    key_path, out, limits = Path(key_path), Path(out), limits or Limits()
    _check_visibility(visibility)
    if out.suffix != ".zip":
        raise ValueError(f"--out {out}: the autograder must be a .zip file")
    hidden_cells(key_path)  # a readable key with hidden tests, or a clear error
    points = exercise_points(key_path)  # declared in the key: a clear error if not
    if check:
        try:
            check_isolation("sandbox")
        except SandboxUnavailable as err:
            raise SandboxUnavailable(f"{err}. Or write the zip without running the key here "
                                     "(--no-check): Gradescope's build runs it") from None
        start = time.monotonic()
        key = load_key(key_path, limits, "sandbox")
        points = key.points
        if log:
            log(f"key {key_path.name}: {key.summary()} ({time.monotonic() - start:.1f} s)")
    config = {"key": f"key/{key_path.name}", "limits": asdict(limits),
              "visibility": visibility, "points": points, "optbook": _version(),
              "built_with": f"Python {platform.python_version()}"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.format(venv=VENV).encode(), executable=True)
        _add(archive, "run_autograder", RUN_AUTOGRADER.format(venv=VENV).encode(),
             executable=True)
        _add(archive, "requirements.txt", pinned_requirements().encode())
        _add(archive, CONFIG, (json.dumps(config, indent=1) + "\n").encode())
        _add(archive, config["key"], key_path.read_bytes())
        for path, name in _package_files():
            _add(archive, name, path.read_bytes())
    return config


# ---------------------------------------------------------------- inside Gradescope


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config(root: Path) -> tuple[dict, Limits, Path]:
    config = json.loads((root / "source" / CONFIG).read_text())
    return config, Limits(**config["limits"]), root / "source" / config["key"]


def prepare(root: str | Path) -> Key:
    """Run the key once (at image build) and keep its values beside it, root-only."""
    root = Path(root)
    config, limits, key_path = _config(root)
    # Gradescope's container is the isolation: no bubblewrap on this route (see above)
    check_isolation("container")
    key = load_key(key_path, limits, "container")
    values = root / "source" / KEY_VALUES
    values.write_text(json.dumps({"sha256": _sha256(key_path), "optbook": _version(),
                                  "reports": key.reports}))
    os.chmod(values, 0o600)
    print(f"optbook autograder: the key {key_path.name} runs: {key.summary()}; set the "
          f"assignment's autograder points to {key.max_total:g}")
    return key


def _load_key(root: Path, config: dict, limits: Limits, key_path: Path) -> Key:
    """The key, from the values ``prepare`` kept if they are this key's, else run now."""
    values = root / "source" / KEY_VALUES
    if values.exists():
        kept = json.loads(values.read_text())
        if kept.get("sha256") == _sha256(key_path) and kept.get("optbook") == _version():
            return load_key(key_path, limits, "container", reports=kept["reports"])
    return load_key(key_path, limits, "container")


def _submitted(directory: Path, key_name: str) -> tuple[Path | None, str]:
    """The notebook to grade in ``directory``, or None and why there is none."""
    if not directory.is_dir():
        return None, "no files were submitted"
    found = sorted(p for p in directory.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.relative_to(directory).parts)
    if not found:
        return None, "no notebook (.ipynb file) was submitted"
    if len(found) > 1:
        named = [p for p in found if p.name == key_name]
        if len(named) != 1:
            names = ", ".join(p.relative_to(directory).as_posix() for p in found)
            return None, (f"{len(found)} notebooks were submitted ({names}): submit only "
                          f"one, or name the one to grade {key_name}")
        found = named
    path = found[0]
    if path.is_symlink() or not path.resolve().is_relative_to(directory.resolve()) \
            or not path.is_file():
        return None, f"{path.name} is not a plain file: submit the notebook itself"
    return path, ""


def run(root: str | Path) -> dict:
    """Grade the submission under ``root`` (Gradescope's /autograder); write and return
    ``results/results.json``. Never raises: a failure is a result with zero and why."""
    root = Path(root)
    start = time.monotonic()
    points: dict[str, float] = {}
    key_name, visibility, name = "the key", "after_published", "(no notebook)"
    try:
        config, limits, key_path = _config(root)
        key_name, visibility = key_path.name, config.get("visibility", visibility)
        points = config.get("points") or {}
        path, why = _submitted(root / "submission", key_path.name)
        name = path.name if path else name
        check_isolation("container")  # Gradescope's container: no sandbox here, explicitly
        key = _load_key(root, config, limits, key_path)
        points = key.points
        if path is None:
            data = not_graded(why, points, key_name, visibility)
        else:
            # Gradescope's container is the isolation: the sandbox is off here, explicitly
            sub = grade_submissions(key, [path], limits, 1, "container")[0]
            data = results_json(sub, key_name, visibility)
    except Exception as err:  # the grader's own failure: still a result
        traceback.print_exc()
        data = not_graded(f"the autograder failed ({type(err).__name__}: {err}); please "
                          "tell your instructor", points, key_name, visibility, name)
    data["execution_time"] = round(time.monotonic() - start)
    write_results(root / "results" / "results.json", data)
    print(f"optbook autograder: {data['score']:g} points; {data['output']} "
          f"({time.monotonic() - start:.1f} s)")
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m optbook.coursework.gradescope {run,prepare} [--root DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m optbook.coursework.gradescope",
                                     description="The Gradescope autograder's steps.")
    parser.add_argument("step", choices=["run", "prepare"])
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, "/autograder"),
                        help=f"Gradescope's /autograder (default: ${ROOT_ENV} or /autograder)")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.root)
    else:
        run(args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
