"""Browser tests of the built website: offline, math typeset, every slider alive.

Playwright (from PyPI) drives Debian's Chromium (/usr/bin/chromium); playwright's
own browser download cannot work on these machines. Where no Chromium is
installed these tests are skipped with a message, unless OPTBOOK_REQUIRE_BROWSER=1
(set by .ci/run, which installs Chromium), in which case they fail.

The site is built once per session with ``make book`` (cached execution), served
on 127.0.0.1, and every chapter page is opened. Screenshots are saved under
``_build/screenshots/`` for review.
"""

from __future__ import annotations

import base64
import functools
import gzip
import http.server
import io
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE_BUDGET_BYTES = 5 * 1024 * 1024
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("ch*.ipynb"))


def _unavailable(reason: str):
    if os.environ.get("OPTBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


# The `site` and `browser` fixtures are in conftest.py: one build, one browser per session
# for this file and test_live.py (playwright allows one sync instance at a time).


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class PageLog:
    """What a page did: external or failed requests, console errors, bytes loaded."""

    def __init__(self, page, origin: str):
        self.external, self.failed, self.errors = [], [], []
        host = urlparse(origin).netloc

        def route(r):
            if urlparse(r.request.url).netloc in (host, "") or r.request.url.startswith("data:"):
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("requestfailed", lambda req: self.failed.append(req.url))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


def open_page(browser, url: str, origin: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log = PageLog(page, origin)
    page.goto(url, wait_until="networkidle")
    if page.locator("span.math, div.math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
    return page, log


def page_weight(page) -> int:
    """Bytes the page loaded: the document and every resource (decoded sizes)."""
    return page.evaluate("""() => performance.getEntries()
        .filter(e => e.entryType === 'navigation' || e.entryType === 'resource')
        .reduce((s, e) => s + (e.decodedBodySize || 0), 0)""")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_is_offline_typeset_and_light(site, browser, chapter):
    page, log = open_page(browser, f"{site}/book/{chapter}.html", site)
    assert log.external == [], f"requests leaving the site: {log.external}"
    assert log.failed == [], f"failed requests: {log.failed}"
    assert log.errors == [], f"console errors: {log.errors}"
    n_math = page.locator("span.math, div.math").count()
    n_typeset = page.locator("mjx-container").count()
    assert n_math > 0 and n_typeset >= n_math, f"{n_typeset} of {n_math} formulas typeset"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    weight = page_weight(page)
    assert weight <= PAGE_BUDGET_BYTES, f"{chapter} weighs {weight / 1e6:.2f} MB"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{chapter}.png"), full_page=True)
    print(f"{chapter}: {weight / 1e6:.2f} MB, {n_typeset} formulas")
    page.close()


def slider_data(fig) -> dict:
    return json.loads(fig.locator('script[type="application/json"]').text_content())


def set_track(fig, k: int, position: float) -> None:
    """Drag slider ``k`` of figure ``fig`` to ``position`` on its track (an input event)."""
    fig.locator("input[type=range]").nth(k).evaluate(
        "(e, x) => { e.value = String(x); e.dispatchEvent(new Event('input')); }", position)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_slider_shows_the_expected_frame(site, browser, chapter):
    page, log = open_page(browser, f"{site}/book/{chapter}.html", site)
    figures = page.locator(".optbook-slider")
    assert figures.count() >= 1, "a chapter has at least one slider figure"
    assert page.locator(".jupyter-widgets, .widget-slider").count() == 0, "inert widget shown"
    for i in range(figures.count()):
        fig = figures.nth(i)
        data = slider_data(fig)
        shape, positions = data["shape"], data["positions"]
        phone, desktop = data["renderings"]
        for r in (phone, desktop):
            assert len(r["frames"]) == _prod(shape)
            assert all(f.startswith("../_frames/") for f in r["frames"]), "frames are files"
        inputs, img = fig.locator("input[type=range]"), fig.locator("img.optbook-frame")
        source = fig.locator("source").nth(-1)
        assert inputs.count() == len(shape)
        seen = {img.get_attribute("src")}
        for k, pos in enumerate(positions):
            # The track runs over the values (or their logs): the thumb is proportional.
            assert float(inputs.nth(k).get_attribute("min")) == pytest.approx(min(pos))
            assert float(inputs.nth(k).get_attribute("max")) == pytest.approx(max(pos))
            for j in sorted({0, len(pos) // 2, len(pos) - 1}):
                # Dropped a little off a grid point, the thumb snaps to it.
                others = [p for p in pos if p != pos[j]]
                gap = min(abs(p - pos[j]) for p in others)
                set_track(fig, k, pos[j] + (0.3 * gap if pos[j] < max(pos) else -0.3 * gap))
                assert float(inputs.nth(k).input_value()) == pytest.approx(pos[j])
                index = [int(np.argmin(np.abs(np.asarray(positions[m])
                                              - float(inputs.nth(m).input_value()))))
                         for m in range(len(shape))]
                flat = int(np.ravel_multi_index(index, shape))
                assert img.get_attribute("src") == desktop["frames"][flat], \
                    f"figure {i}: slider {k} at {j} shows the wrong frame"
                assert source.get_attribute("srcset") == phone["frames"][flat]
                assert fig.locator("output").nth(k).text_content() == data["texts"][k][j]
                seen.add(img.get_attribute("src"))
        assert len(seen) > 1, f"figure {i}: moving the sliders never changed the picture"
        # A move is a frame swap (the frames were fetched when the figure came near).
        fig.scroll_into_view_if_needed()
        times = fig.evaluate("""async (root) => {
            const d = JSON.parse(root.querySelector('script[type="application/json"]')
                .textContent);
            const input = root.querySelector('input[type=range]');
            const img = root.querySelector('img.optbook-frame');
            const out = [];
            for (let k = 0; k < 40; k++) {
                input.value = String(d.positions[0][k % d.positions[0].length]);
                const t0 = performance.now();
                input.dispatchEvent(new Event('input'));
                await img.decode();
                out.push(performance.now() - t0);
            }
            out.sort((a, b) => a - b);
            return out;
        }""")
        median = times[len(times) // 2]
        print(f"{chapter} figure {i}: frame swap median {median:.1f} ms, max {times[-1]:.1f} ms")
        assert median < 50, f"figure {i}: a slider move takes {median:.0f} ms"
    assert log.errors == [] and log.failed == [], (log.errors, log.failed)
    page.close()


# Widths of screen (CSS px) from a small phone to a wide desktop.
SCREENS = (360, 390, 480, 600, 639, 640, 768, 1024, 1200, 1280, 1600)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_slider_figures_read_well_on_every_screen(site, browser, chapter):
    """Below 640 px the phone frames (panels stacked), from 640 px the desktop frames; at
    every width the tick labels are at least 10 CSS px and the figure fits its column."""
    for width in SCREENS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(f"{site}/book/{chapter}.html", wait_until="networkidle")
        figures = page.locator(".optbook-slider")
        for i in range(figures.count()):
            fig = figures.nth(i)
            fig.scroll_into_view_if_needed()
            img = fig.locator("img.optbook-frame")
            img.evaluate("e => e.decode()")
            phone, desktop = slider_data(fig)["renderings"]
            shown = img.evaluate("""e => ({src: e.currentSrc, width: e.getBoundingClientRect()
                .width, natural: e.naturalWidth, column: e.closest('.optbook-slider')
                .clientWidth})""")
            r = phone if width < 640 else desktop
            assert shown["natural"] == r["width"], (width, i, shown)
            scale = shown["width"] / shown["natural"]
            assert shown["width"] <= shown["column"] + 1, (width, i, shown)
            assert r["tick_px"] * scale >= 10, \
                f"{width} px: figure {i}'s tick labels are {r['tick_px'] * scale:.1f} px"
            # Each label on one line (typeset math included), each row inside the column.
            rows = fig.evaluate("""root => Array.from(root.querySelectorAll(
                '.optbook-slider-row'), row => {
                const label = row.querySelector('label'), size = parseFloat(
                    getComputedStyle(label).fontSize);
                return {lines: label.getBoundingClientRect().height / size,
                        math: label.querySelectorAll('mjx-container').length,
                        tex: label.querySelectorAll('span.math').length,
                        right: row.getBoundingClientRect().right,
                        edge: root.getBoundingClientRect().right}; })""")
            for row in rows:
                assert row["lines"] < 2.2, (width, i, row)
                assert row["math"] == row["tex"], f"a label's math is not typeset: {row}"
                assert row["right"] <= row["edge"] + 1, (width, i, row)
        page.close()


FRAME_SRC = re.compile(r'(?:src|srcset)="([^"]+\.(?:png|webp|svg|jpg))"|"(\.\./_frames/[^"]+)"')


def chapter_bytes(chapter: str) -> tuple[int, int]:
    """A chapter's own bytes: its HTML, and everything it can load (the HTML, its images
    and every frame of both renderings), leaving out the theme and MathJax (shared)."""
    page = HTML / "book" / f"{chapter}.html"
    text = page.read_text(encoding="utf-8")
    files = {(page.parent / (a or b)).resolve() for a, b in FRAME_SRC.findall(text)}
    files = {f for f in files if "_static" not in f.parts}
    missing = [f for f in files if not f.exists()]
    assert not missing, f"{chapter} refers to missing files: {missing[:3]}"
    return page.stat().st_size, page.stat().st_size + sum(f.stat().st_size for f in files)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_first_load_and_total_fit_the_budget(site, browser, chapter):
    """First load: the chapter's HTML as a static host sends it (gzip: highlighted code
    is most of a chapter's HTML) and every image or frame a 1280×900 screen fetches before
    the reader scrolls, beyond the shared theme and MathJax: ≤ 0.5 MB. Everything the
    chapter can load (HTML uncompressed, images, both renderings' frames): ≤ 5 MB."""
    html, total = chapter_bytes(chapter)
    assert total <= 5_000_000, f"{chapter}: {total / 1e6:.2f} MB in all"
    sent = len(gzip.compress((HTML / "book" / f"{chapter}.html").read_bytes(), 6))
    page, log = open_page(browser, f"{site}/book/{chapter}.html", site)
    fetched = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => !e.name.includes('/_static/'))
        .map(e => [e.name, e.decodedBodySize || 0])""")
    own = sent + sum(size for _, size in fetched)
    print(f"{chapter}: HTML {html / 1e6:.2f} MB ({sent / 1e6:.2f} MB gzip), first load "
          f"{own / 1e6:.2f} MB ({len(fetched)} images and frames), all {total / 1e6:.2f} MB")
    assert own <= 500_000, f"{chapter}: the first load fetches {own / 1e6:.2f} MB: {fetched}"
    assert not any("/_frames/" in name for name, _ in fetched), "frames fetched far away"
    page.close()


def test_other_pages_are_offline_and_clean(site, browser):
    for name in ("book/intro", "book/notation", "book/notes_map", "book/bibliography"):
        page, log = open_page(browser, f"{site}/{name}.html", site)
        assert log.external == [] and log.failed == [] and log.errors == [], \
            (name, log.external, log.failed, log.errors)
        page.close()


def test_search_finds_a_chapter(site, browser):
    page, log = open_page(browser, f"{site}/search.html?q=Hessian", site)
    page.wait_for_selector("#search-results li", timeout=15000)
    assert page.locator("#search-results li").count() >= 1
    assert log.external == [] and log.errors == []
    page.close()


def test_figures_have_opaque_backgrounds_for_dark_mode(site):
    images = list((HTML / "_images").glob("*.png"))
    assert images, "no figures were built"
    for path in images:
        with Image.open(path) as im:
            if "A" in im.getbands():
                assert im.getchannel("A").getextrema()[0] == 255, f"{path.name} is transparent"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_dark_mode_keeps_figures_opaque(site, browser, chapter):
    """In dark mode, figures keep their white background (readable), and the
    slider backgrounds are opaque images; a dark screenshot is saved for review."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page.goto(f"{site}/book/{chapter}.html", wait_until="networkidle")
    # The theme's script turns "auto" into the system's "dark" after load: wait for it (on a
    # busy machine it came after "networkidle"); a page that never turns dark still fails.
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'", timeout=15000)
    figures = "img.optbook-background, .cell_output img:not(.optbook-frame)"
    for src in page.eval_on_selector_all(figures, "els => els.map(e => e.src)"):
        if src.startswith("data:"):
            data = base64.b64decode(src.split(",", 1)[1])
            with Image.open(io.BytesIO(data)) as im:
                if "A" in im.getbands():
                    assert im.getchannel("A").getextrema()[0] == 255, "transparent figure"
    # Overlays stay transparent and exactly on top of their background image.
    for layers in page.locator(".optbook-layers").all():
        back, front = layers.locator("img.optbook-background"), layers.locator("img.optbook-frame")
        assert front.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
        b, f = back.bounding_box(), front.bounding_box()
        assert all(abs(b[k] - f[k]) < 1 for k in b), f"overlay misaligned: {b} vs {f}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{chapter}-dark.png"), full_page=True)
    page.close()


def test_no_launch_buttons_without_a_repository_url(site):
    for page in HTML.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"mybinder\.org|colab\.research\.google\.com", text), page.name


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


class _Anchors(HTMLParser):
    """Collects the ids of a page and its links (href, class)."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.claim_rows = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
            if tag == "tr" and attrs["id"].startswith("claim-"):
                self.claim_rows.append(attrs["id"].removeprefix("claim-"))
        if tag == "a" and "href" in attrs:
            self.links.append((attrs["href"], attrs.get("class", "")))


@functools.cache
def _anchors(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_notes_map_lists_every_claim_and_links_both_ways(site):
    """The map has one row per claim of the catalogue; its links land on a marker
    of a chapter, and every chapter marker lands on a row of the map."""
    import yaml

    claims = [c["id"] for c in yaml.safe_load((ROOT / "book" / "notes_claims.yml").read_text())]
    book = HTML / "book"
    notes_map = _anchors(book / "notes_map.html")
    assert notes_map.claim_rows == claims
    to_chapters = [h for h, _ in notes_map.links if re.match(r"ch\d\d_\w+\.html#notes-\d+$", h)]
    assert to_chapters, "the map links to no chapter"
    for href in to_chapters:
        page, anchor = href.split("#")
        assert anchor in _anchors(book / page).ids, f"the map links to a missing {href}"
    markers = 0
    for chapter in CHAPTERS:
        for href, cls in _anchors(book / f"{chapter}.html").links:
            if "optbook-notes-marker" in cls:
                markers += 1
                page, anchor = href.split("#")
                assert page == "notes_map.html" and anchor in notes_map.ids, (chapter, href)
    assert markers >= len(to_chapters) // 2


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_offers_its_student_version(site, chapter):
    """The download menu links the chapter's student notebook, which exists, is a
    notebook, keeps the checks and contains no solution."""
    import nbformat

    href = f"../_student/book/{chapter}.ipynb"
    links = [h for h, _ in _anchors(HTML / "book" / f"{chapter}.html").links]
    assert href in links, f"no student download on {chapter}"
    nb = nbformat.read(HTML / "_student" / "book" / f"{chapter}.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "ob.check(" in text and "### BEGIN SOLUTION" not in text
    assert "BEGIN HIDDEN TESTS" not in text and "solution-start" not in text


_BADGE = re.compile(r'<span (?:id="(check-\d+)" )?class="optbook-verdict optbook-kind-(\w+)"'
                    r' data-kind="(\w+)"')


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_badge_has_a_kind_an_anchor_and_the_legend(site, chapter):
    """Every verdict on a chapter page has a kind and an anchor, and the page explains the
    kinds in a legend under its title (issue #17)."""
    from optbook.verdict import Kind

    page = (HTML / "book" / f"{chapter}.html").read_text(encoding="utf-8")
    article = page[page.index('<article'):]
    badges = _BADGE.findall(article)
    # every badge a check made (they carry a tooltip; the legend's and the prose's do not)
    made = len(re.findall(r'<span[^>]* class="optbook-verdict[^>]* title=', article))
    tight = article.count("The tight statement, checked:")  # shown inside a loose verdict
    assert badges, f"{chapter} shows no verdict"
    assert len(badges) == made - tight, f"{chapter}: a verdict without a kind or anchor"
    for anchor, cls, kind in badges:
        assert anchor and cls == kind and kind in {k.value for k in Kind}, (chapter, anchor)
    assert article.index("optbook-legend") < article.index('id="check-1"')


def test_the_page_of_all_checks_counts_every_badge(site):
    listing = (HTML / "book" / "checks.html").read_text(encoding="utf-8")
    total = 0
    for chapter in CHAPTERS:
        page = (HTML / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        anchors = re.findall(r'<span id="(check-\d+)" class="optbook-verdict', page)
        total += len(anchors)
        for anchor in anchors:
            assert f'{chapter}.html#{anchor}"' in listing, (chapter, anchor)
    row = re.search(r"the book</p></td>(.*?)</tr>", listing, re.S).group(1)
    assert int(re.findall(r"<p>(\d+)</p>", row)[-1]) == total
