"""Shared pytest configuration for optbook's tests.

The environment variable that makes slider figures render their static
frames (``OPTBOOK_FRAMES``, set when the book is built) is cleared for every
test, so that a developer's shell cannot change what the tests see; a test
that needs it sets it with ``monkeypatch``.

CI (``CI`` set) runs the property tests on a fixed set of examples, so that a
verdict is reproducible; locally hypothesis explores new examples on every run.
"""

import os

import pytest
from hypothesis import settings

from optbook.sliders import FRAMES_ENV

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_frames_env(monkeypatch):
    monkeypatch.delenv(FRAMES_ENV, raising=False)
