"""The ``optbook`` command: coursework tools for instructors.

``optbook student NOTEBOOK... --out DIR [--force]``
    write the student version of each chapter (solutions replaced by stubs, hidden tests
    removed, outputs cleared) into DIR, after checking that nothing of the solutions leaks.

``optbook grade --key KEY SUBMISSION... --out scores.csv [--timeout SECONDS] [--jobs N]``
    run each submission in its own sandbox (bubblewrap), process and kernel, with limits,
    score it with the key's hidden tests, and write the scores (one row per submission)
    and a feedback file per submission beside the CSV. ``--format canvas --roster R.csv``
    writes Canvas's gradebook import instead (``--format lms``: student id, score, max),
    with the scores beside it; ``--format gradescope`` Gradescope's results.json for one
    submission.

``optbook autograder KEY --out autograder.zip``
    write a Gradescope autograder for the key (setup.sh, run_autograder, the key).

``optbook nbgrader KEY... --out DIR [--force]``
    write nbgrader's source version of each chapter (cells with nbgrader's metadata, the
    graded solutions and hidden tests inside nbgrader's markers) into DIR, for a course's
    ``source/<assignment>/``. A command of its own, not an option of ``student``: its
    output holds the solutions, and making it runs the key.

The points of each exercise are declared once, on its check cell in the chapter
(``{"optbook": {"points": N}}``); every command reads them there.

See the instructors' page of the book (``book/instructors.md``) for a worked example.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: the output formats of ``optbook grade``
FORMATS = ("scores", "canvas", "lms", "gradescope")
#: Gradescope's visibility settings (as in optbook.coursework.gradescope, not imported here)
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbook", description="Coursework tools for the optbook chapters.")
    commands = parser.add_subparsers(dest="command", required=True)

    student = commands.add_parser(
        "student", help="write the student version of chapters",
        description="Write the student version of each NOTEBOOK into DIR: solutions replaced "
                    "by stubs, hidden tests removed, outputs cleared.")
    student.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="key notebooks")
    student.add_argument("--out", required=True, metavar="DIR", help="output directory")
    student.add_argument("--force", action="store_true", help="overwrite existing files")

    grade = commands.add_parser(
        "grade", help="grade submissions against a key",
        description="Run each SUBMISSION in its own kernel, score it with the hidden tests "
                    "of KEY, and write a CSV and one feedback file per submission.")
    grade.add_argument("--key", required=True, metavar="NOTEBOOK",
                       help="the key notebook (with solutions and hidden tests)")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    grade.add_argument("--out", required=True, metavar="CSV", help="scores file (.csv)")
    _limit_options(grade)
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded at the same time (default 1)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run the notebooks WITHOUT the sandbox, with your rights "
                            "(trusted notebooks only)")
    grade.add_argument("--format", choices=FORMATS, default="scores",
                       help="scores: points per exercise (default); canvas: Canvas's "
                            "gradebook import; lms: student id, score, max; gradescope: "
                            "Gradescope's results.json (one submission)")
    lms = grade.add_argument_group("canvas and lms formats")
    lms.add_argument("--roster", metavar="CSV",
                     help="the students: Canvas's gradebook export, or any CSV with a "
                          "header row")
    lms.add_argument("--match-column", metavar="COLUMN",
                     help="the roster column whose value is in each submission's file name "
                          "(default: ID for canvas, the --id-column for lms)")
    lms.add_argument("--match-pattern", metavar="REGEX",
                     help="a regular expression whose group 'student' extracts that value "
                          "from the file name (default: the value as a whole token)")
    lms.add_argument("--assignment", metavar="NAME",
                     help="canvas: the assignment column (default: 'Chapter N' for chNN_*)")
    lms.add_argument("--id-column", metavar="COLUMN",
                     help="lms: the roster column written as student_id (default: the first)")
    lms.add_argument("--missing-as-zero", action="store_true",
                     help="score 0 (not an empty cell) for a student without a submission")
    grade.add_argument("--visibility", choices=VISIBILITIES, default="after_published",
                       help="gradescope: when students see the hidden tests' results "
                            "(default after_published)")

    autograder = commands.add_parser(
        "autograder", help="write a Gradescope autograder for a chapter",
        description="Write a Gradescope autograder zip for KEY: setup.sh (installs the "
                    "pinned requirements and optbook), run_autograder (grades each "
                    "submission like `optbook grade` and writes results.json) and the key.")
    autograder.add_argument("key", metavar="KEY",
                            help="the key notebook (with solutions and hidden tests)")
    autograder.add_argument("--out", required=True, metavar="ZIP", help="the zip to write")
    _limit_options(autograder)
    autograder.add_argument("--visibility", choices=VISIBILITIES, default="after_published",
                            help="when students see each exercise's result "
                                 "(default after_published)")
    autograder.add_argument("--no-check", action="store_true",
                            help="do not run the key here first (it needs the sandbox)")

    nbgrader = commands.add_parser(
        "nbgrader", help="write nbgrader's source version of chapters",
        description="Write nbgrader's source version of each KEY into DIR (put it in your "
                    "course's source/<assignment>/): nbgrader cell metadata, the graded "
                    "solutions and the hidden tests inside nbgrader's markers. Each key is "
                    "run once, in the sandbox, to record its values on the hidden tests.")
    nbgrader.add_argument("notebooks", nargs="+", metavar="KEY", help="key notebooks")
    nbgrader.add_argument("--out", required=True, metavar="DIR", help="output directory")
    nbgrader.add_argument("--force", action="store_true", help="overwrite existing files")
    _limit_options(nbgrader)
    nbgrader.add_argument("--unsafe-no-sandbox", action="store_true",
                          help="run the keys WITHOUT the sandbox (your own keys only)")
    return parser


def _limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="time limit per cell (default 60)")
    parser.add_argument("--notebook-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="time limit per notebook (default 600)")
    parser.add_argument("--memory", type=int, default=4096, metavar="MB",
                        help="address-space limit of each kernel (default 4096)")
    parser.add_argument("--max-output", type=int, default=1024, metavar="KB",
                        help="output kept per notebook (default 1024)")


def _limits(args: argparse.Namespace):
    from .coursework.grade import Limits

    for name in ("timeout", "notebook_timeout", "memory", "max_output", "jobs"):
        if getattr(args, name, 1) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive")
    return Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                  memory_mb=args.memory, max_output_kb=args.max_output)


def _student(args: argparse.Namespace) -> None:
    from .coursework.student import write_student_versions

    for path in write_student_versions(args.notebooks, args.out, force=args.force):
        print(f"wrote {path}")


def _check_format(args: argparse.Namespace) -> None:
    from pathlib import Path

    suffix = ".json" if args.format == "gradescope" else ".csv"
    if Path(args.out).suffix != suffix:
        raise ValueError(f"--out {args.out}: the {args.format} file must end in {suffix}")
    lms = args.format in ("canvas", "lms")
    if lms and not args.roster:
        raise ValueError(f"--format {args.format} needs --roster (the students' CSV)")
    given = [f"--{o.replace('_', '-')}" for o in ("roster", "match_column", "match_pattern",
                                                  "assignment", "id_column")
             if getattr(args, o)] + ["--missing-as-zero"] * args.missing_as_zero
    if given and not lms:
        raise ValueError(f"{', '.join(given)}: only with --format canvas or lms")
    only = {"assignment": "canvas", "id_column": "lms"}
    for option, fmt in only.items():
        if getattr(args, option) is not None and args.format != fmt:
            raise ValueError(f"--{option.replace('_', '-')}: only with --format {fmt}")
    if args.assignment is not None and not args.assignment.strip():
        raise ValueError("--assignment must name the Canvas assignment (e.g. 'Chapter 4')")
    if args.format == "gradescope" and len(args.submissions) != 1:
        raise ValueError("--format gradescope grades one submission (results.json is "
                         f"Gradescope's file for one), got {len(args.submissions)}")


def _grade(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .coursework.grade import grade_batch, write_csv, write_feedback

    limits = _limits(args)
    _check_format(args)
    out = Path(args.out)
    roster = _roster(args) if args.format in ("canvas", "lms") else None
    isolation = "none" if args.unsafe_no_sandbox else "sandbox"
    key, subs = grade_batch(args.key, args.submissions, limits, jobs=args.jobs,
                            log=lambda line: print(line, flush=True), isolation=isolation)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_feedback(subs, key.path, out.parent)
    if args.format == "gradescope":
        from .coursework.gradescope import results_json, write_results

        write_results(out, results_json(subs[0], key.path.name, args.visibility))
        print(f"wrote {out} (Gradescope's results.json) and the feedback file beside it")
        return
    scores = out if args.format == "scores" else out.with_name(f"{out.stem}.scores.csv")
    write_csv(subs, list(key.points), scores)
    if roster is not None:
        _write_gradebook(args, roster, subs, key, out)
        print(f"wrote {out}, the scores {scores} and the feedback files beside them")
    else:
        print(f"wrote {out} and the feedback files beside it")


def _roster(args: argparse.Namespace):
    from .coursework import lms

    if args.format == "canvas":
        roster = lms.read_roster(args.roster, lms.CANVAS_IDS, required=("Student",))
        args.match_column = args.match_column or "ID"
    else:
        roster = lms.read_roster(args.roster, (args.id_column,) if args.id_column else None)
        args.id_column = args.id_column or roster.columns[0]
        args.match_column = args.match_column or args.id_column
    if args.match_column not in roster.columns:
        raise ValueError(f"--match-column {args.match_column!r} is not a column of "
                         f"{args.roster} ({', '.join(roster.columns)})")
    lms.match_submissions([], roster, args.match_column, args.match_pattern)  # checks args
    return roster


def _write_gradebook(args, roster, subs, key, out) -> None:
    from .coursework import lms

    matched = lms.match_submissions(subs, roster, args.match_column, args.match_pattern)
    if args.format == "canvas":
        lms.write_canvas(out, roster, matched, args.assignment or lms.assignment_name(key.path),
                         key.max_total, args.missing_as_zero)
        describe = "ID" if "ID" in roster.columns else args.match_column
    else:
        lms.write_lms(out, roster, matched, args.id_column, key.max_total, args.missing_as_zero)
        describe = args.id_column
    for line in lms.report(roster, matched, describe):
        print(f"optbook grade: {line}", file=sys.stderr)


def _autograder(args: argparse.Namespace) -> None:
    from .coursework.gradescope import build

    config = build(args.key, args.out, _limits(args), args.visibility,
                   check=not args.no_check, log=lambda line: print(line, flush=True))
    print(f"wrote {args.out}: upload it as the autograder of a Gradescope programming "
          "assignment")
    if config["points"]:
        print(f"set the assignment's autograder points to {sum(config['points'].values()):g}")


def _nbgrader(args: argparse.Namespace) -> None:
    from .coursework.nbgrader import write_nbgrader_sources

    isolation = "none" if args.unsafe_no_sandbox else "sandbox"
    for path in write_nbgrader_sources(args.notebooks, args.out, args.force, _limits(args),
                                       isolation, log=lambda line: print(line, flush=True)):
        print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    from .coursework.sandbox import SandboxUnavailable

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        {"student": _student, "grade": _grade, "autograder": _autograder,
         "nbgrader": _nbgrader}[args.command](args)
    except (ValueError, SandboxUnavailable) as err:
        print(f"optbook {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
