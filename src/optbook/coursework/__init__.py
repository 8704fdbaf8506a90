"""Coursework tooling: student versions of the chapters, hidden tests and grading.

Each piece in its own module:

- :mod:`.student` turns a chapter (the instructor's *key*, with solutions) into the
  student version: solutions replaced by stubs, hidden tests removed, outputs cleared.
- :mod:`.hidden` is what a key notebook calls, in a hidden cell, to declare the inputs
  on which the grader compares a submission with the key: :func:`hidden_tests`.
- :mod:`.grade` runs submissions in isolated kernels (:mod:`.sandbox`, :mod:`.runner`)
  and scores them against the key; the points of each exercise come from
  :func:`.grade.exercise_points`.
- :mod:`.gradescope` writes a Gradescope autograder and Gradescope's ``results.json``;
  :mod:`.lms` writes gradebook files (Canvas's import CSV, a generic one).

The marker lines are nbgrader's (:mod:`.markers`), so the notebooks stay readable by
nbgrader users; the code uses only nbformat and nbclient (see :mod:`.student` for why).
"""

from .hidden import hidden_tests

__all__ = ["hidden_tests"]
