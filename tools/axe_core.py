"""Fetch axe-core (the accessibility checker the browser tests inject) without npm.

The npm tarball of ``axe-core@AXE_VERSION`` is downloaded from the registry with
urllib, checked against the registry's ``dist.integrity`` pinned here (sha512,
Subresource-Integrity format) and its ``package/axe.min.js`` is extracted to
``.cache/axe-core-<version>/axe.min.js`` (gitignored, like ``.cache/live/``).
Later calls reuse the cached file. ``python tools/axe_core.py`` prints its path.

To move to another version: take ``dist.integrity`` from
``https://registry.npmjs.org/axe-core/<version>`` and change the two pins below.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = ("sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNt"
                 "uFooJpZe37OgudVGtQ==")
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / f"axe-core-{AXE_VERSION}"
MEMBER = "package/axe.min.js"


class AxeUnavailable(RuntimeError):
    """axe-core could not be fetched, or the download is not the pinned tarball."""


def integrity(data: bytes) -> str:
    """The Subresource-Integrity string of ``data``: ``sha512-`` + base64(sha512(data))."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def extract(tarball: bytes, expected: str = AXE_INTEGRITY) -> bytes:
    """``axe.min.js`` from the npm tarball, after checking it against ``expected``."""
    got = integrity(tarball)
    if got != expected:
        raise AxeUnavailable(f"axe-core tarball has integrity {got}, expected {expected}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise AxeUnavailable(f"axe-core tarball has no {MEMBER}")
        return member.read()


def axe_path(timeout: float = 60) -> Path:
    """The path of the cached ``axe.min.js``, downloading and verifying it on first use."""
    target = CACHE / "axe.min.js"
    if target.is_file():
        return target
    try:
        with urllib.request.urlopen(TARBALL, timeout=timeout) as response:
            data = response.read()
    except OSError as exc:  # URLError, timeouts, refused connections
        raise AxeUnavailable(f"cannot download {TARBALL}: {exc}") from exc
    script = extract(data)
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(script)
    partial.replace(target)
    return target


if __name__ == "__main__":
    try:
        print(axe_path())
    except AxeUnavailable as exc:
        sys.exit(str(exc))
