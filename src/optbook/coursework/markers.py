"""The marker lines of a key notebook (nbgrader's conventions) and how to find them."""

from __future__ import annotations

import re

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
YOUR_CODE_HERE = "# YOUR CODE HERE"
STUB_BODY = "raise NotImplementedError()"

#: MyST directives that hold a solution (sphinx-exercise).
SOLUTION_START = "solution-start"
SOLUTION_END = "solution-end"
SOLUTION = "solution"

#: text that must never survive in a student notebook
LEAK_MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN, "hidden_tests(",
                "{solution-start}", "{solution-end}", "{solution}")

#: ``check("ex-label", fn)`` in a code cell: the coding exercises of a chapter
CHECK_CALL = re.compile(r"\bcheck\(\s*[\"']([\w-]+)[\"']\s*,\s*([A-Za-z_]\w*)")
#: ``:label: ex-...`` right after an ``{exercise}`` directive line
EXERCISE_LABEL = re.compile(r"[`:]{3,}\{exercise\}[^\n]*\n:label: ([\w-]+)")


def is_hidden_tests_cell(cell) -> bool:
    """True for a code cell holding the instructor's hidden tests."""
    return cell.cell_type == "code" and BEGIN_HIDDEN in cell.source
