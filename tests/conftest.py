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


# --- The built site and the browser, shared by test_site.py and test_live.py ------------
# One instance of each per session: the book is built once, and playwright's sync API
# allows one running instance at a time. Helpers and settings live in test_site.py.

@pytest.fixture(scope="session")
def site():
    """Build the book (cached execution) and serve _build/html on 127.0.0.1."""
    import functools
    import http.server
    import shutil
    import subprocess
    import threading

    from test_site import HTML, ROOT, _QuietHandler, _unavailable

    if shutil.which("make") is None:
        _unavailable("`make` is not installed")
    build = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from pathlib import Path

    from test_site import CHROMIUM, CHROMIUM_ARGS, _unavailable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-test.txt)")
    if not Path(CHROMIUM).exists():
        _unavailable("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
