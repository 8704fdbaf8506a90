"""Gradebook files for learning-management systems: Canvas's import CSV and a generic one.

``optbook grade ... --format canvas --roster roster.csv`` writes a CSV that Canvas's
gradebook import (Grades → Import) accepts; ``--format lms`` a generic one (student id,
score, max, status) for Moodle and others. Both start from a *roster*: for Canvas, the
gradebook's own export (Grades → Export), or any CSV with its identity columns.

Canvas's importer reads the columns ``Student, ID, SIS User ID, SIS Login ID, Section``
(its export's layout: ``Section`` must close the identity columns, and ``SIS User ID`` is
only read when ``SIS Login ID`` follows it), a ``Points Possible`` row (the points of an
assignment it creates), and one column per assignment: a column named like an existing
assignment (or ``Name (id)``, as exported) updates it, any other name creates one. It
finds each student by ``ID``, else by SIS id or login, else by name; a row it cannot match
it asks the instructor about.

Each submission is matched to the roster student whose value in the *match column*
(Canvas: ``ID``, which Canvas's "Download submissions" puts in every file name; or e.g.
``SIS Login ID`` for files named ``jdoe.ipynb``) appears in its file name as a whole token
(between non-alphanumeric characters), or equals the group ``student`` of a regular
expression (``--match-pattern``). Nothing is dropped: a submission that matches no student,
or several, gets a row of its own (unmatched) and a line on the standard error; a student
without a submission keeps a row with an empty score (Canvas leaves an empty cell
unchanged) or 0 (``missing_as_zero``); a student with several submissions gets the best.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .grade import Submission

__all__ = ["CANVAS_COLUMNS", "CANVAS_IDS", "Roster", "Match", "read_roster", "match_submissions",
           "write_canvas", "write_lms", "report", "assignment_name"]

#: the identity columns of Canvas's gradebook, in the order its importer expects
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: the columns by which Canvas finds a student (a roster needs one of them)
CANVAS_IDS = ("ID", "SIS User ID", "SIS Login ID")


@dataclass
class Roster:
    """The students of a roster file: one dict per row (column -> value)."""

    path: Path
    columns: list[str]
    students: list[dict[str, str]]


@dataclass
class Match:
    """The submissions matched to each student (by row index), and the unmatched ones."""

    by_student: dict[int, list[Submission]] = field(default_factory=dict)
    unmatched: list[tuple[Submission, str]] = field(default_factory=list)

    def best(self, index: int) -> Submission | None:
        """The student's best-scoring submission (None without one)."""
        subs = self.by_student.get(index, [])
        return max(subs, key=lambda s: s.total) if subs else None


def read_roster(path: str | Path, identity: tuple[str, ...] | None = None,
                required: tuple[str, ...] = ()) -> Roster:
    """Read a roster CSV (UTF-8, a header row): the rows with a value in an ``identity``
    column (default: the first column; the file must have one of them) and check that it
    has the ``required`` columns.

    Rows of Canvas's export that are no student ("Points Possible", posting policies) are
    left out.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--roster {path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in reader.fieldnames or []]
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()
                 if isinstance(v, str)} for row in reader]
    if not columns or not columns[0]:
        raise ValueError(f"--roster {path}: no header row (expected a CSV whose first row "
                         "names the columns)")
    identity = identity or (columns[0],)
    missing = [c for c in required if c not in columns]
    if missing or not any(c in columns for c in identity):
        need = list(required) + [f"one of {', '.join(identity)}"]
        raise ValueError(f"--roster {path}: needs the columns {', '.join(need)}; it has "
                         f"{', '.join(columns)}")
    students = [row for row in rows if any(row.get(c) for c in identity)
                and "Points Possible" not in row.get("Student", "")]
    return Roster(path, columns, students)


def _pattern(match_pattern: str | None) -> re.Pattern | None:
    if match_pattern is None:
        return None
    try:
        pattern = re.compile(match_pattern)
    except re.error as err:
        raise ValueError(f"--match-pattern {match_pattern!r} is not a regular expression: "
                         f"{err}") from None
    if "student" not in pattern.groupindex:
        raise ValueError(f"--match-pattern {match_pattern!r} needs a group named student, "
                         r"e.g. '_(?P<student>\d+)_'")
    return pattern


def match_submissions(subs: list[Submission], roster: Roster, match_column: str,
                      match_pattern: str | None = None) -> Match:
    """Match each submission to the roster student named in its file name."""
    if match_column not in roster.columns:
        raise ValueError(f"--match-column {match_column!r} is not a column of "
                         f"{roster.path.name} ({', '.join(roster.columns)})")
    pattern = _pattern(match_pattern)
    values = [s.get(match_column, "").casefold() for s in roster.students]
    result = Match()
    for sub in subs:
        name = sub.path.name
        if pattern is not None:
            found = pattern.search(name)
            if not found or not found.group("student"):
                result.unmatched.append((sub, "its file name does not match --match-pattern"))
                continue
            wanted = found.group("student").casefold()
            hits = [i for i, v in enumerate(values) if v and v == wanted]
        else:
            hits = [i for i, v in enumerate(values) if v and re.search(
                rf"(?<![0-9a-z]){re.escape(v)}(?![0-9a-z])", name.casefold())]
        if len(hits) == 1:
            result.by_student.setdefault(hits[0], []).append(sub)
        elif not hits:
            result.unmatched.append((sub, f"its file name names no student of "
                                          f"{roster.path.name} (column {match_column})"))
        else:
            who = ", ".join(roster.students[i].get(match_column, "") for i in hits)
            result.unmatched.append((sub, f"its file name names several students ({who})"))
    return result


def _score_cell(sub: Submission | None, missing_as_zero: bool) -> str:
    if sub is None:
        return "0" if missing_as_zero else ""
    return f"{sub.total:g}"


def assignment_name(key_path: Path) -> str:
    """The default assignment column: "Chapter N" for chNN_*.ipynb, else the key's name."""
    found = re.match(r"ch(\d+)", key_path.stem)
    return f"Chapter {int(found.group(1))}" if found else key_path.stem


def write_canvas(out: Path, roster: Roster, matched: Match, assignment: str,
                 max_points: float, missing_as_zero: bool = False) -> None:
    """Canvas's gradebook import CSV: identity columns, Points Possible, the assignment."""
    if not assignment.strip():
        raise ValueError("--assignment must name the Canvas assignment")
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, assignment])
        writer.writerow(["Points Possible", *[""] * (len(CANVAS_COLUMNS) - 1),
                         f"{max_points:g}"])
        for i, student in enumerate(roster.students):
            writer.writerow([*(student.get(c, "") for c in CANVAS_COLUMNS),
                             _score_cell(matched.best(i), missing_as_zero)])
        for sub, _ in matched.unmatched:  # Canvas asks whom each of these rows is
            writer.writerow([f"UNMATCHED {sub.path.name}", *[""] * (len(CANVAS_COLUMNS) - 1),
                             f"{sub.total:g}"])


def write_lms(out: Path, roster: Roster, matched: Match, id_column: str, max_points: float,
              missing_as_zero: bool = False) -> None:
    """A generic gradebook CSV: student_id, score, max, status, submission."""
    if id_column not in roster.columns:
        raise ValueError(f"--id-column {id_column!r} is not a column of {roster.path.name} "
                         f"({', '.join(roster.columns)})")
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "score", "max", "status", "submission"])
        for i, student in enumerate(roster.students):
            best = matched.best(i)
            subs = matched.by_student.get(i, [])
            status = "no submission" if best is None else best.status_text()
            if len(subs) > 1:
                status += f"; {len(subs)} submissions, the best is graded"
            writer.writerow([student.get(id_column, ""), _score_cell(best, missing_as_zero),
                             f"{max_points:g}", status, "" if best is None else str(best.path)])
        for sub, why in matched.unmatched:
            writer.writerow(["", f"{sub.total:g}", f"{max_points:g}",
                             f"unmatched submission: {why}", str(sub.path)])


def report(roster: Roster, matched: Match, describe_column: str) -> list[str]:
    """Lines for the standard error: the counts, and every unmatched or missing one."""
    n_subs = sum(len(v) for v in matched.by_student.values()) + len(matched.unmatched)
    missing = [s for i, s in enumerate(roster.students) if i not in matched.by_student]
    lines = [f"{len(roster.students)} students, {n_subs} submissions: "
             f"{n_subs - len(matched.unmatched)} matched, {len(matched.unmatched)} unmatched, "
             f"{len(missing)} students without a submission"]
    lines += [f"  unmatched: {sub.path} ({why})" for sub, why in matched.unmatched]
    for i, subs in sorted(matched.by_student.items()):
        if len(subs) > 1:
            who = roster.students[i].get(describe_column, "")
            lines.append(f"  several submissions for {who}: "
                         f"{', '.join(str(s.path) for s in subs)} (the best is graded)")
    lines += [f"  no submission: {s.get(describe_column, '')}"
              + (f" ({s['Student']})" if s.get("Student") and describe_column != "Student"
                 else "") for s in missing]
    return lines
