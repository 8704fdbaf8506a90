"""Shared pytest configuration for optbook's tests.

The environment variable that makes slider figures render their static
frames (``OPTBOOK_FRAMES``, set when the book is built) is cleared for every
test, so that a developer's shell cannot change what the tests see; a test
that needs it sets it with ``monkeypatch``.

CI (``CI`` set) runs the property tests on a fixed set of examples, so that a
verdict is reproducible; locally hypothesis explores new examples on every run.
Helpers shared by the test files (settings, seeds, random matrices and problems)
are in ``helpers.py``.

Tiers. ``pytest tests`` runs the unit and property tests only (under a minute).
The slower tests carry one of the markers registered in pyproject.toml:

* ``book``: needs the built website or a Sphinx build;
* ``browser``: drives Chromium;
* ``kernel``: starts a Jupyter kernel, a Python subprocess or the grading sandbox;
* ``slow``: pure Python, but seconds per test.

Tests that use the ``site`` or ``browser`` fixture are marked here, automatically
(``FIXTURE_TIERS``); any other test is marked in its file (``pytestmark =
pytest.mark.kernel`` for a whole file, ``@pytest.mark.slow`` for one test).
``--all-tiers`` runs everything (``make test``, CI); ``-m EXPR`` replaces the default
selection (``-m kernel``, ``-m "not browser"``); a test file named on the command line
runs all its tests. A test in no tier that starts a process is listed at the end of the
run, to be marked.
"""

import http.server
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from optbook.sliders import FRAMES_ENV

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

TIERS = ("book", "browser", "kernel", "slow")
#: the tier of every test that uses the fixture
FIXTURE_TIERS = {"site": "book", "browser": "browser"}


def pytest_addoption(parser):
    parser.addoption("--all-tiers", action="store_true",
                     help="run every tier: the book, browser, kernel and slow tests too")


def pytest_report_header(config):
    if not (config.getoption("--all-tiers") or config.option.markexpr):
        return (f"tiers: {', '.join(TIERS)} tests left out but in files named here "
                "(--all-tiers runs them, -m TIER one tier)")


def _named_files(config) -> set[Path]:
    """The test files named on the command line (``tests/test_x.py``, ``…::test_y``)."""
    paths = (Path(config.invocation_params.dir, arg.split("::")[0]) for arg in config.args)
    return {path.resolve() for path in paths if path.is_file()}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, tier in FIXTURE_TIERS.items():
            if fixture in item.fixturenames:
                item.add_marker(tier)
    if config.getoption("--all-tiers") or config.option.markexpr:
        return
    named = _named_files(config)
    keep, drop = [], []
    for item in items:
        tiered = any(item.get_closest_marker(tier) for tier in TIERS)
        (drop if tiered and item.path.resolve() not in named else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# A test in no tier must not start a process: an audit hook notes any that does.
_RUNNING: list[str | None] = [None]  # the node id of the running untiered test
_SPAWNED: dict[str, str] = {}  # node id -> the first command it started


def _audit(event, args):
    if event == "subprocess.Popen" and _RUNNING[0] is not None:
        _SPAWNED.setdefault(_RUNNING[0], str(args[1])[:120])  # args: executable, argv, …


sys.addaudithook(_audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    tiered = any(item.get_closest_marker(tier) for tier in TIERS)
    _RUNNING[0] = None if tiered else item.nodeid
    try:
        return (yield)
    finally:
        _RUNNING[0] = None


def pytest_terminal_summary(terminalreporter):
    if _SPAWNED:
        terminalreporter.write_sep("-", "tests in no tier that started a process: mark them")
        for nodeid, command in _SPAWNED.items():
            terminalreporter.write_line(f"{nodeid}: {command}")


@pytest.fixture(autouse=True)
def _no_frames_env(monkeypatch):
    monkeypatch.delenv(FRAMES_ENV, raising=False)


# --- The built site and the browser, shared by test_site.py and test_live.py ------------
# One instance of each per session: the book is built once, and playwright's sync API
# allows one running instance at a time. Helpers and settings live in test_site.py.

class _QuietServer(http.server.ThreadingHTTPServer):
    """The test server: a browser that drops a lazy image's request is not an error."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def site():
    """Build the book (cached execution) and serve _build/html on 127.0.0.1."""
    import functools
    import shutil
    import subprocess
    import threading

    from test_site import HTML, ROOT, _QuietHandler, _unavailable

    if shutil.which("make") is None:
        _unavailable("`make` is not installed")
    build = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = _QuietServer(("127.0.0.1", 0), handler)
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
