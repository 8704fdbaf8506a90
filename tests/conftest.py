"""Shared pytest configuration for optbook's tests.

The environment variable that makes slider figures render their static
frames (``OPTBOOK_FRAMES``, set when the book is built) is cleared for every
test, so that a developer's shell cannot change what the tests see; a test
that needs it sets it with ``monkeypatch``.
"""

import pytest

from optbook.sliders import FRAMES_ENV


@pytest.fixture(autouse=True)
def _no_frames_env(monkeypatch):
    monkeypatch.delenv(FRAMES_ENV, raising=False)
