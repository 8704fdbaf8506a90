"""The site's slider frames as files (book/_ext/slider_frames.py), on a page written here."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import slider_frames  # noqa: E402  (book/_ext/slider_frames.py)


def webp(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3), color).save(buf, format="WEBP", lossless=True)
    return buf.getvalue()


def test_frames_become_files_named_by_their_content(tmp_path):
    red, blue = webp((255, 0, 0)), webp((0, 0, 255))
    uri = {k: "data:image/webp;base64," + base64.b64encode(v).decode() for k, v in
           (("red", red), ("blue", blue))}
    page = tmp_path / "book" / "ch01.html"
    page.parent.mkdir()
    page.write_text(
        f'<img class="logo" src="../_static/logo.svg">'
        f'<div class="optbook-slider"><picture><source srcset="{uri["red"]}">'
        f'<img class="optbook-frame" loading="lazy" src="{uri["blue"]}"></picture>'
        f'<script type="application/json">{{"frames": ["{uri["red"]}", "{uri["blue"]}", '
        f'"{uri["red"]}"]}}</script></div>', encoding="utf-8")
    assert slider_frames.frames_to_files(page, tmp_path) == 5
    text = page.read_text(encoding="utf-8")
    assert "data:" not in text
    files = sorted((tmp_path / "_frames").iterdir())
    assert len(files) == 2  # a repeated frame is one file
    for data in (red, blue):
        name = hashlib.sha256(data).hexdigest()[:24] + ".webp"
        assert (tmp_path / "_frames" / name).read_bytes() == data
        assert text.count(f"../_frames/{name}") == (3 if data == red else 2)
    # Every image is lazy; one that says how to load already keeps its attribute.
    assert text.count("loading=") == 2 and '<img loading="lazy" class="logo"' in text
    assert slider_frames.frames_to_files(page, tmp_path) == 0  # a second pass changes nothing
    assert page.read_text(encoding="utf-8") == text


def test_a_page_at_the_root_refers_to_frames_without_parent_steps(tmp_path):
    uri = "data:image/webp;base64," + base64.b64encode(webp((0, 255, 0))).decode()
    page = tmp_path / "index.html"
    page.write_text(f'<img src="{uri}">', encoding="utf-8")
    slider_frames.frames_to_files(page, tmp_path)
    assert page.read_text(encoding="utf-8").startswith('<img loading="lazy" src="_frames/')
