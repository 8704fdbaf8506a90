"""Every reader (issue #20): accessibility, keyboard, no raw LaTeX, no sideways scrolling.

* axe-core (tools/axe_core.py fetches the pinned npm tarball, checked against its sha512)
  is injected into every page of the built site, served over HTTP, in light and dark mode:
  no violation of impact serious or critical; the counts of every impact are printed and
  written to ``_build/a11y/axe-counts.json``.
* Every ``<img>`` has alt text that says something: not empty, not a path or a hash, not
  "figure"; slider figures name the values they are drawn for and announce changes.
* Every slider and the *Run live* button are reached with Tab and work with keys.
* No TeX in front of a reader: the pages' text outside math (MathJax typesets the math; a
  page with math must load it), tooltips and other attributes, the search index's titles
  and the search results' snippets (prose: the search page leaves code out of them). Code
  blocks are left out: displayed source is shown as written (a docstring's ``:math:`` is
  code, not prose).
* At 390×844 and 1280×900 no page scrolls sideways, one search box shows, and the sidebar
  does not scroll itself on load.

The browser tests share test_site.py's fixtures (one build, one Chromium per session).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import a11y  # noqa: E402  (book/_ext/a11y.py)
import axe_core  # noqa: E402  (tools/axe_core.py)

HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("ch*.ipynb"))
PAGES = (["index.html", "book/intro.html", "book/notation.html"]
         + [f"book/{c}.html" for c in CHAPTERS]
         + ["book/notes_map.html", "book/checks.html", "book/instructors.html",
            "book/bibliography.html", "search.html?q=Hessian"])
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
BLOCKING = ("serious", "critical")

# TeX a reader should never see: control sequences, math delimiters, braced scripts and
# Greek letters with a TeX subscript word (λ_max; a plain σ_B is the ASCII convention for a
# script letter Unicode lacks). Independent of book/_ext/a11y.py on purpose.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$[^$\s][^$]*\$|[\^_]\{|[α-ωΑ-Ω]_[A-Za-z]{2}")
BAD_ALT = re.compile(r"^\s*$|\.(png|jpe?g|gif|svg|webp)\b|^data:|[0-9a-f]{24}|"
                     r"^(figure|image|img|slider figure|plot|graph)\.?$", re.I)


# --- helpers ---------------------------------------------------------------------------
def served_pages() -> list[Path]:
    return sorted(p for p in HTML.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts)


class _Reader(HTMLParser):
    """What a page shows as text outside code and math, its attributes, images and math."""

    SKIP = {"script", "style", "pre", "code", "textarea", "svg", "kbd"}
    VOID = {"img", "input", "br", "hr", "meta", "link", "source", "area", "col", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its text)
        self.text: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.images: list[dict] = []
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "math" in classes:
            self.has_math = True
        if tag == "img":
            self.images.append(attrs)
        for name in ("title", "alt", "aria-label", "aria-valuetext", "placeholder",
                     "data-bs-title"):
            if attrs.get(name):
                self.attributes.append((tag, name, attrs[name]))
        if tag in self.VOID:
            return
        hides = tag in self.SKIP or "math" in classes
        self.stack.append((tag, hides))

    def handle_endtag(self, tag):
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                return

    def handle_data(self, data):
        if not any(hides for _, hides in self.stack):
            self.text.append(data)


def read(path: Path) -> tuple[_Reader, str]:
    text = path.read_text(encoding="utf-8")
    reader = _Reader()
    reader.feed(text)
    return reader, text


def tex_found(text: str) -> list[str]:
    out = []
    for m in RAW_TEX.finditer(text):
        out.append(text[max(0, m.start() - 30):m.end() + 30].replace("\n", " "))
    return out


# --- unit tests: the TeX rewriting and the axe-core download (no build, no browser) -------
@pytest.mark.parametrize("tex, text", [
    (r"\(\beta \ge 0\)", "β ≥ 0"),
    (r"λ_max ≤ β, σ_B², w_{t+1}, over_seeds", "λₘₐₓ ≤ β, σ_B², wₜ₊₁, over_seeds"),
    (r"$O(1/k^2)$", "O(1/k²)"),
    (r"2/\lambda_{\max}", "2/λₘₐₓ"),
    (r"\frac{1}{2}\lVert g\rVert^2", "1/2‖ g‖²"),
    (r"\mathbb{E}[\hat g] = \sqrt{n}", "𝔼[ĝ] = √n"),
    (r"$\left[H^{(t)}\right]_{ij}$", "[H⁽ᵗ⁾]ᵢⱼ"),
    (r"\frac{\partial L}{\partial w", "(∂ L)/(∂ w)"),  # a quote cut short
])
def test_tex_to_text_writes_plain_unicode(tex, text):
    got = a11y.tex_to_text(tex)
    assert got == text
    assert not RAW_TEX.search(got)


def test_attributes_and_search_titles_lose_their_tex():
    page = '<a title="Note 001: $\\epsilon \\leq \\frac{2}{\\beta}$" href="#">x</a>'
    assert a11y.rewrite_page(page) == '<a title="Note 001: ε ≤ 2/β" href="#">x</a>'
    index = 'Search.setIndex({"titles": ["Step \\\\(\\\\eta\\\\)", "Plain"], "alltitles": {}})'
    rewritten = json.loads(a11y.rewrite_search_index(index)[len("Search.setIndex("):-1])
    assert rewritten["titles"] == ["Step η", "Plain"]


@pytest.mark.kernel  # starts Node.js
def test_search_page_script_agrees_with_python():
    """The search page's JavaScript rewriting gives the same text as tex_to_text."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    samples = [r"\(\beta\ge 0\)", r"\lambda_{\max}", r"x^{-1/2}", r"\mathbb{R}^d",
               r"\epsilon \leq \frac{2 (g^{(t)})^T g^{(t)} }{(g^{(t)})^T H g }",
               r"\sqrt{\kappa}\,\log(1/\varepsilon)", r"\hat\eta = \eta_{\max}/2",
               r"λ_max ≤ β, σ_B², w_{t+1}, over_seeds", r"\Phi^\top \Phi"]
    script = (a11y.search_js().replace("window.optbookPlainTex = plain;",
                                       "globalThis.plain = plain;")
              + f"\nconsole.log(JSON.stringify({json.dumps(samples)}.map(plain)));")
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [a11y.tex_to_text(s) for s in samples]


def test_axe_core_download_is_checked_against_its_pin():
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"window.axe = {};"
        info = tarfile.TarInfo(axe_core.MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tarball = buf.getvalue()
    assert axe_core.extract(tarball, axe_core.integrity(tarball)) == data
    with pytest.raises(axe_core.AxeUnavailable, match="integrity"):
        axe_core.extract(tarball)  # not the pinned tarball
    assert axe_core.AXE_INTEGRITY.startswith("sha512-") and axe_core.AXE_VERSION[0] == "4"


# --- the built site, read as files -------------------------------------------------------
def test_every_image_says_what_it_shows(site):
    bad = []
    for path in served_pages():
        for img in read(path)[0].images:
            alt = img.get("alt")
            if alt is None or BAD_ALT.search(alt):
                bad.append(f"{path.relative_to(HTML)}: alt={alt!r}")
    assert not bad, f"{len(bad)} images without a useful alt text:\n" + "\n".join(bad[:20])


def test_slider_frames_name_their_values(site):
    page = (HTML / "book" / "ch02_step_size.html").read_text(encoding="utf-8")
    figure = page[page.index('<div class="optbook-slider"'):]
    figure = figure[:figure.index("</script></div>")]
    assert 'role="status" aria-live="polite"' in figure
    frame = re.search(r'<img class="optbook-frame" alt="([^"]*)"', figure).group(1)
    assert frame.startswith("shown for ") or "shown for " in frame
    assert "η as a multiple of 2/λₘₐₓ = 0.90" in frame and "condition number κ = 20" in frame
    assert re.search(r'<input [^>]*type="range"[^>]*aria-label="η as a multiple of 2/λₘₐₓ"'
                     r'[^>]*aria-valuetext="0.90"', figure)
    # The visible label is typeset: its TeX is in a math span for MathJax.
    assert re.search(r'<label class="optbook-slider-label" for="[^"]+"><span class="math '
                     r'notranslate nohighlight">\\\(\\eta\\\)</span>', figure)


def test_no_raw_tex_in_text_or_attributes(site):
    found = []
    for path in served_pages():
        reader, raw = read(path)
        name = str(path.relative_to(HTML))
        if reader.has_math:
            assert "mathjax/tex-chtml.js" in raw, f"{name} has math but does not load MathJax"
        for hit in tex_found(" ".join(reader.text)):
            found.append(f"{name} (text): …{hit}…")
        for tag, attribute, value in reader.attributes:
            for hit in tex_found(value):
                found.append(f"{name} <{tag} {attribute}>: …{hit}…")
    assert not found, f"{len(found)} raw TeX fragments:\n" + "\n".join(found[:25])


def test_search_index_titles_have_no_tex(site):
    text = (HTML / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    titles = list(index["titles"]) + list(index.get("alltitles", {}))
    assert titles
    assert not [t for t in titles if RAW_TEX.search(t)]


# --- the browser tests ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def axe_js():
    from test_site import _unavailable

    try:
        return axe_core.axe_path()
    except axe_core.AxeUnavailable as exc:
        _unavailable(f"axe-core is not available ({exc})")


def _open(browser, url, viewport=(1280, 900), scheme="light"):
    from test_site import PageLog

    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]},
                            color_scheme=scheme)
    log = PageLog(page, url.split("/", 3)[0] + "//" + url.split("/", 3)[2])
    page.goto(url, wait_until="networkidle")
    if page.locator("span.math, div.math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=90000)
        page.evaluate("() => MathJax.startup.promise")
    return page, log


_COUNTS: dict[str, dict] = {}


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_violation(site, browser, axe_js, name):
    blocking = []
    for scheme in ("light", "dark"):
        page, _ = _open(browser, f"{site}/{name}", scheme=scheme)
        page.wait_for_function(f"document.documentElement.dataset.theme === '{scheme}'",
                               timeout=15000)
        if name.startswith("search"):
            page.wait_for_selector("#search-results li p.context", timeout=20000)
        page.add_script_tag(path=str(axe_js))
        violations = page.evaluate("""async () => (await axe.run(document)).violations
            .map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,
                        where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
        page.close()
        counts: dict[str, int] = {}
        for v in violations:
            counts[v["impact"]] = counts.get(v["impact"], 0) + v["n"]
        _COUNTS[f"{scheme} {name}"] = {"impacts": counts,
                                       "rules": {v["id"]: v["n"] for v in violations}}
        print(f"axe {scheme:5s} {name}: {counts or 'no violations'} "
              f"{ {v['id']: v['n'] for v in violations} }")
        blocking += [f"{scheme}: {v['id']} ({v['impact']}, {v['n']}): {v['where']}"
                     for v in violations if v["impact"] in BLOCKING]
    out = ROOT / "_build" / "a11y"
    out.mkdir(parents=True, exist_ok=True)
    (out / "axe-counts.json").write_text(json.dumps(_COUNTS, indent=1, sort_keys=True))
    assert not blocking, f"{name}: " + "; ".join(blocking)


def test_search_snippets_have_no_raw_tex(site, browser):
    for query in ("step size", "sharpness", "Hessian"):
        page, log = _open(browser, f"{site}/search.html?q={query.replace(' ', '+')}")
        page.wait_for_selector("#search-results li p.context", timeout=20000)
        page.wait_for_timeout(1500)  # every snippet is fetched: let them arrive
        shown = page.locator("#search-results").inner_text()
        page.close()
        assert len(shown) > 200, f"no results for {query!r}"
        assert not tex_found(shown), (query, tex_found(shown)[:5])
        assert log.errors == [], log.errors


def _tab_until(page, selector: str, limit: int = 1500) -> int:
    """Press Tab until the focus is on an element matching ``selector``; the presses taken."""
    for k in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return k
    raise AssertionError(f"Tab never reached {selector} in {limit} presses")


def test_sliders_and_run_live_work_from_the_keyboard(site, browser):
    page, log = _open(browser, f"{site}/book/ch07_momentum_adam.html")
    ranges = page.locator(".optbook-slider input[type=range]")
    n = ranges.count()
    assert n >= 2
    page.evaluate("""() => document.querySelectorAll('.optbook-slider input[type=range]')
        .forEach((e, k) => e.dataset.k = k)""")
    reached = set()
    page.locator("body").focus()
    presses = 0
    while len(reached) < n:
        presses += _tab_until(page, ".optbook-slider input[type=range]")
        reached.add(page.evaluate("document.activeElement.dataset.k"))
        assert presses < 3000
    assert len(reached) == n, "a slider is not reachable with Tab"
    # Arrow keys move a slider: the frame, the read-out, the alt text and the status change.
    first = ranges.nth(0)
    first.focus()
    fig = page.locator(".optbook-slider").nth(0)
    img, status = fig.locator("img.optbook-frame"), fig.locator("[role=status]")
    before = (first.input_value(), img.get_attribute("src"), img.get_attribute("alt"))
    at_max = float(before[0]) == pytest.approx(float(first.get_attribute("max")))
    key = "ArrowLeft" if at_max else "ArrowRight"
    page.keyboard.press(key)
    after = (first.input_value(), img.get_attribute("src"), img.get_attribute("alt"))
    assert after[0] != before[0] and after[1] != before[1] and after[2] != before[2]
    value_text = fig.locator("output").nth(0).text_content()
    assert first.get_attribute("aria-valuetext") == value_text
    assert value_text in status.text_content() and value_text in after[2]
    page.keyboard.press("End")  # the grid's ends are the track's ends
    assert float(first.input_value()) == pytest.approx(float(first.get_attribute("max")))
    page.keyboard.press("Home")
    assert float(first.input_value()) == pytest.approx(float(first.get_attribute("min")))
    # An arrow key steps to the next grid value (the track itself is continuous).
    page.keyboard.press("ArrowRight")
    grid = json.loads(fig.locator('script[type="application/json"]').text_content())
    assert float(first.input_value()) == pytest.approx(sorted(grid["positions"][0])[1])
    page.close()
    # Run live: reached with Tab, started with Enter (the click is caught before it starts).
    page, log = _open(browser, f"{site}/book/ch07_momentum_adam.html")
    if page.locator(".optbook-live-button").count() == 0:
        if (ROOT / "book" / "_vendor" / "live" / "manifest.json").exists():
            raise AssertionError("the live assets are staged but the page has no Run live")
        page.close()
        pytest.skip("the site was built without live assets: no Run live button")
    page.evaluate("""() => document.addEventListener('click', e => {
        if (e.target.closest('.optbook-live-button')) {
            window.__liveClicked = true; e.stopPropagation(); e.preventDefault(); }
        }, true)""")
    page.locator("body").focus()
    _tab_until(page, ".optbook-live-button")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__liveClicked === true"), "Enter does not press Run live"
    assert log.errors == [], log.errors
    page.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_no_page_scrolls_sideways_and_one_search_box(site, browser, viewport):
    from test_site import SHOTS

    size = VIEWPORTS[viewport]
    problems = []
    for name in PAGES:
        page, _ = _open(browser, f"{site}/{name}", viewport=size)
        page.wait_for_timeout(300)  # the theme's scripts (sidebar, search) run after load
        width = page.evaluate("""() => { const s = document.scrollingElement;
            return [s.scrollWidth, s.clientWidth]; }""")
        if width[0] > width[1] + 1:
            wide = page.evaluate("""() => { const w = document.scrollingElement.clientWidth;
                return [...document.querySelectorAll('body *')].filter(e => {
                    const r = e.getBoundingClientRect();
                    return r.right > w + 1 && r.width > 0 && getComputedStyle(e).position
                        !== 'fixed'; }).slice(0, 3).map(e => e.tagName + '.' +
                        (e.className || '').toString().slice(0, 40)); }""")
            problems.append(f"{name}: page {width[0]} px wide in {width[1]} px: {wide}")
        # the fields that open the search dialog ("Search Ctrl+K"; the search page's own
        # form is its content)
        boxes = page.evaluate("""() => [...document.querySelectorAll(
            '.search-button-field')].filter(e => {
                const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'
                    && r.bottom > 0 && r.top < window.innerHeight; }).length""")
        if boxes > 1:
            problems.append(f"{name}: {boxes} search boxes")
        scrolled = page.evaluate("""() => { const s = document.querySelector('div.bd-sidebar');
            return s ? s.scrollTop : 0; }""")
        if scrolled > 0:
            problems.append(f"{name}: the sidebar scrolled itself by {scrolled} px")
        if viewport == "phone" and name.startswith("book/ch"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            stem = name.split("/")[-1].removesuffix(".html")
            page.screenshot(path=str(SHOTS / f"{stem}-390.png"))
        page.close()
    assert not problems, "\n".join(problems)
