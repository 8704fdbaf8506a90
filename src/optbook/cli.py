"""The ``optbook`` command: coursework tools for instructors.

``optbook student NOTEBOOK... --out DIR [--force]``
    write the student version of each chapter (solutions replaced by stubs, hidden tests
    removed, outputs cleared) into DIR, after checking that nothing of the solutions leaks.

``optbook grade --key KEY SUBMISSION... --out scores.csv [--timeout SECONDS] [--jobs N]``
    run each submission in its own sandbox (bubblewrap), process and kernel, with limits,
    score it with the key's hidden tests, and write the scores (one row per submission)
    and a feedback file per submission beside the CSV.

See the instructors' page of the book (``book/instructors.md``) for a worked example.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


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
    grade.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                       help="time limit per cell (default 60)")
    grade.add_argument("--notebook-timeout", type=float, default=600.0, metavar="SECONDS",
                       help="time limit per notebook (default 600)")
    grade.add_argument("--memory", type=int, default=4096, metavar="MB",
                       help="address-space limit of each kernel (default 4096)")
    grade.add_argument("--max-output", type=int, default=1024, metavar="KB",
                       help="output kept per notebook (default 1024)")
    grade.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="submissions graded at the same time (default 1)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run the notebooks WITHOUT the sandbox, with your rights "
                            "(trusted notebooks only)")
    return parser


def _student(args: argparse.Namespace) -> None:
    from .coursework.student import write_student_versions

    for path in write_student_versions(args.notebooks, args.out, force=args.force):
        print(f"wrote {path}")


def _grade(args: argparse.Namespace) -> None:
    from .coursework.grade import Limits, grade

    for name in ("timeout", "notebook_timeout", "memory", "max_output", "jobs"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive")
    limits = Limits(cell_timeout=args.timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory, max_output_kb=args.max_output)
    grade(args.key, args.submissions, args.out, limits, jobs=args.jobs,
          log=lambda line: print(line, flush=True), use_sandbox=not args.unsafe_no_sandbox)
    print(f"wrote {args.out} and the feedback files beside it")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    from .coursework.sandbox import SandboxUnavailable

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        {"student": _student, "grade": _grade}[args.command](args)
    except (ValueError, SandboxUnavailable) as err:
        print(f"optbook {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
