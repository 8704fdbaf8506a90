"""Coursework tooling: student versions of the chapters, hidden tests and grading.

Three pieces, each in its own module:

- :mod:`.student` turns a chapter (the instructor's *key*, with solutions) into the
  student version: solutions replaced by stubs, hidden tests removed, outputs cleared.
- :mod:`.hidden` is what a key notebook calls, in a hidden cell, to declare the inputs
  on which the grader compares a submission with the key: :func:`hidden_tests`.
- :mod:`.grade` runs submissions in isolated kernels and scores them against the key.

The marker lines are nbgrader's (:mod:`.markers`), so the notebooks stay readable by
nbgrader users; the code uses only nbformat and nbclient (see :mod:`.student` for why).
"""

from .hidden import hidden_tests

__all__ = ["hidden_tests"]
