"""The verdicts extension (book/_ext/verdicts.py) on a two-page Sphinx project.

The chapter page is made of real check outputs (``optbook.symbolic``), parsed as the
book parses cell outputs (MyST); the build must anchor every badge, put the legend
under the title, and list every check with its kind and counts on the page of all
checks. A badge with an unknown kind fails the strict build.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy as sp
from sphinx.cmd.build import build_main

from optbook.symbolic import identity, inequality, numerical, refuted
from optbook.verdict import KIND_TEXT, Kind

pytest.importorskip("myst_parser")  # the book's parser (not in the browser-versions venv)

ROOT = Path(__file__).resolve().parents[1]
x = sp.Symbol("x", positive=True)

CONF = f"""
import sys
sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
extensions = ["myst_parser", "verdicts"]
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build"]
"""


def _build(tmp_path: Path, chapter: str) -> tuple[int, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text("# Book\n\n```{toctree}\nchapter\nchecks\n```\n")
    (src / "chapter.md").write_text(chapter)
    (src / "checks.md").write_text("# Every check\n\n```{all-checks}\n```\n")
    out = tmp_path / "html"
    code = build_main(["-W", "-q", "-b", "html", str(src), str(out)])
    return code, out


def _chapter() -> str:
    A, B = sp.symbols("A B")
    checks = [identity((x + 1) ** 2, x**2 + 2 * x + 1),
              inequality(x, "<=", x + 1),
              refuted(x**2, "<=", x, at={x: 2}),
              numerical(A, ">", B, values={A: [2, 3, 4, 5, 6], B: [1, 2, 3, 4, 5]},
                        runs="5 seeds (0–4)")]
    return ("# A chapter\n\n## Squares\n\n" + "\n\n".join(c._repr_markdown_() for c in checks[:2])
            + "\n\n## Refutations\n\n" + "\n\n".join(c._repr_markdown_() for c in checks[2:]))


@pytest.mark.book  # a Sphinx build
def test_every_badge_is_anchored_and_listed_with_its_kind(tmp_path):
    code, out = _build(tmp_path, _chapter())
    assert code == 0
    page = (out / "chapter.html").read_text()
    anchors = re.findall(r'<span id="(check-\d+)" class="optbook-verdict', page)
    assert anchors == ["check-1", "check-2", "check-3", "check-4"]
    assert page.index("optbook-legend") < page.index("check-1")  # the legend under the title
    listing = (out / "checks.html").read_text()
    for anchor in anchors:
        assert f"chapter.html#{anchor}" in listing
    # counts: 2 proved, 1 refuted, 1 numerical, 4 in all
    row = re.search(r"A chapter</a>.*?</tr>", listing, re.S).group(0)
    cells = re.findall(r"<p>(\d+)</p>", row)
    assert cells == ["2", "0", "1", "0", "1", "0", "4"]
    assert "numerical evidence: supports" in listing


@pytest.mark.book  # a Sphinx build
def test_a_badge_without_a_known_kind_fails_the_build(tmp_path):
    bad = ("# A chapter\n\n$$\nx = x\n$$\n\n"
           '<span class="optbook-verdict" data-kind="checked">✔ checked</span>\n')
    code, _ = _build(tmp_path, bad)
    assert code != 0


@pytest.mark.book  # a Sphinx build
def test_a_badge_without_a_statement_fails_the_build(tmp_path):
    bad = ('# A chapter\n\n<span class="optbook-verdict" data-kind="proved">✔ proved</span>\n')
    code, _ = _build(tmp_path, bad)
    assert code != 0


def test_the_legend_explains_every_kind():
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import verdicts
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    legend = verdicts.legend_html()
    for kind in Kind:
        assert f"optbook-kind-{kind.value}" in legend
        assert KIND_TEXT[kind][2] in legend


@pytest.mark.book  # a Sphinx build
def test_a_hypothesis_links_to_the_result_it_uses_and_an_unknown_one_fails(tmp_path):
    from optbook.symbolic import by

    s = sp.Symbol("s", nonnegative=True)
    used = inequality(x, "<=", x + s, given=[by("lem-slack", "the slack lemma", s)])
    page = "# A chapter\n\n(lem-slack)=\n## The slack lemma\n\n" + used._repr_markdown_()
    (tmp_path / "ok").mkdir()
    code, out = _build(tmp_path / "ok", page)
    assert code == 0
    html = (out / "chapter.html").read_text()
    assert re.search(r'<a class="[^"]*optbook-uses-ref[^"]*" href="#lem-slack"', html), html
    unknown = inequality(x, "<=", x + s, given=[by("lem-missing", "a lemma", s)])
    (tmp_path / "bad").mkdir()
    code, _ = _build(tmp_path / "bad", "# A chapter\n\n" + unknown._repr_markdown_())
    assert code != 0
