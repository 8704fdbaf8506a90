r"""Sphinx extension: what a screen reader or a reader's eye meets besides the page's math.

* **No raw LaTeX outside math.** Text outside code and math (a verdict's statement, a
  quoted note, a section title shown in a link) that holds TeX is rewritten as plain
  Unicode by :func:`tex_to_text` (``\beta \le 2/\lambda_{\max}`` → ``β ≤ 2/λₘₐₓ``), with
  ``<sub>``/``<sup>`` where Unicode has no script letter. Hover tooltips (``title``),
  ``aria-label`` and ``alt`` attributes get the same, in plain text (a note quoted on a
  notes marker, ``$O(1/k^2)$`` in a citation's title). Search results show a snippet of
  the page's text: the search page gets a small script that leaves out code and applies
  the same rewriting to the page's math before Sphinx cuts the snippet (the table of
  symbols is written into it, from this module), and the titles in ``searchindex.js``
  are rewritten here. A page whose body holds math but that Sphinx did not mark as having
  equations (the page of all checks, written by an extension) gets MathJax too.
* **Accessible names match what is shown** (WCAG 2.5.3, axe-core's
  label-content-name-mismatch): the theme's search buttons show "Search Ctrl+K" but are
  named "Search", and myst-nb's hidden-code toggles show "Show code cell source" but are
  named "Toggle hidden content"; their ``aria-label`` is removed, so the name is the text.
* **The sidebar keeps its position**: the theme scrolls it to the current chapter on a
  first visit (hiding the title); a one-line script stores a position of 0 first.
* **Landmarks and lists**: the primary sidebar (the book's title above the navigation)
  becomes a navigation landmark; the bibliography's list drops ``role="list"``
  (its children are anchors and citations, not list items) and the deprecated
  ``doc-biblioentry`` role.

Pages are rewritten after the build (``build-finished``), as site_hygiene does.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

# -- TeX to plain Unicode text ----------------------------------------------------------
SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ",
    "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "ell": "ℓ",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈",
    "sim": "∼", "simeq": "≃", "equiv": "≡", "propto": "∝", "ll": "≪", "gg": "≫",
    "lesssim": "≲", "gtrsim": "≳", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "Leftarrow": "⇐", "iff": "⇔", "implies": "⇒", "mapsto": "↦",
    "infty": "∞", "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…", "times": "×",
    "div": "÷", "pm": "±", "mp": "∓", "nabla": "∇", "partial": "∂", "sum": "Σ",
    "prod": "Π", "int": "∫", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆",
    "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃", "emptyset": "∅", "star": "⋆",
    "ast": "∗", "circ": "∘", "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "top": "⊤",
    "T": "ᵀ", "perp": "⊥", "langle": "⟨", "rangle": "⟩", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "|": "‖", "lvert": "|", "rvert": "|", "vert": "|", "mid": "|",
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "sqrt": "√", "R": "ℝ",
    "colon": ":", "quad": " ", "qquad": " ", ",": " ", ";": " ", ":": " ", "!": "",
    " ": " ", "{": "{", "}": "}", "%": "%", "_": "_", "&": "&", "#": "#", "$": "$",
    "\\": " ", "checkmark": "✓", "dagger": "†", "prime": "′",
}
# Relations get a space on each side, as TeX sets them.
RELATIONS = {"le", "leq", "ge", "geq", "ne", "neq", "approx", "sim", "simeq", "equiv", "propto",
             "ll", "gg", "lesssim", "gtrsim", "to", "rightarrow", "leftarrow", "Rightarrow",
             "Leftarrow", "iff", "implies", "mapsto", "in", "notin", "subset", "subseteq"}
FONTS = {"mathbb": {"R": "ℝ", "E": "𝔼", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "P": "ℙ", "C": "ℂ"}}
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304",
           "tilde": "\u0303", "widetilde": "\u0303", "dot": "\u0307", "ddot": "\u0308",
           "vec": "\u20d7"}
SUPERSCRIPT = dict(zip("0123456789+-=()abcdefghijklmnoprstuvwxyzT⊤*′",
                       "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀ*′", strict=True))
SUBSCRIPT = dict(zip("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ",
                     strict=True))
# Dropped: sizing, spacing and style commands with no text of their own.
STYLES = {"text", "textrm", "textit", "textbf", "mathrm", "mathbf", "mathit", "mathcal",
          "mathsf", "mathtt", "boldsymbol", "bm", "operatorname", "mbox", "emph", "mathscr",
          "mathfrak"}
DROPPED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "nonumber",
           "notag", "middle", "label", "tag"}
_MATH_DELIMITERS = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$?")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$[^$\s][^$]*\$|[\^_]\{|[α-ωΑ-Ω]_[A-Za-z0-9]")


def looks_like_tex(text: str) -> bool:
    """Whether ``text`` holds a TeX control sequence, math delimiters or a braced script."""
    return bool(_TEX.search(text))


def _group(s: str, i: int) -> tuple[str, int]:
    """The argument starting at ``s[i]``: a braced group (nested) or one character."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return "", i
    if s[i] != "{":
        if s[i] == "\\":
            m = _COMMAND.match(s, i)
            return m.group(0), m.end()
        return s[i], i + 1
    depth, j = 0, i
    while j < len(s):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return s[i + 1:j], j + 1
        j += 1
    return s[i + 1:], len(s)  # unbalanced (a quote cut short): take the rest


def _script(text: str, table: dict, mark: str, markup: bool) -> str:
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    if markup:
        tag = "sup" if mark == "^" else "sub"
        return f"<{tag}>{text}</{tag}>"
    bracketed = text.startswith("(") and text.endswith(")")
    return f"{mark}({text})" if len(text) > 1 and not bracketed else f"{mark}{text}"


def _operand(t: str) -> str:
    return t if len(t) <= 1 or t.isalnum() else f"({t})"


_WORD = re.compile(r"[A-Za-z]+")


def tex_to_text(tex: str, markup: bool = False) -> str:
    r"""A plain Unicode rendering of a TeX fragment, for text that MathJax never sees.

    ``\frac{a}{b}`` → ``a/b``, ``x^{2}`` → ``x²``, ``\lambda_{\max}`` and ``λ_max`` →
    ``λₘₐₓ``, ``\lVert g\rVert`` → ``‖g‖``; an unknown command keeps its name without the
    backslash, so the result never holds a backslash or a math delimiter. A script with
    no Unicode form is written ``_(…)``, or with ``markup`` (HTML text) as ``<sub>…</sub>``
    and the rest escaped; a snake_case word (``over_seeds``) is left alone.
    """
    s = _MATH_DELIMITERS.sub("", str(tex))
    esc = html.escape if markup else (lambda t: t)
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = _COMMAND.match(s, i)
            name, i = m.group(1), m.end()
            if name in ("frac", "tfrac", "dfrac", "cfrac"):
                a, i = _group(s, i)
                b, i = _group(s, i)
                a, b = tex_to_text(a, markup), tex_to_text(b, markup)
                out.append(f"{_operand(a)}/{_operand(b)}")
            elif name == "sqrt":
                a, i = _group(s, i)
                a = tex_to_text(a, markup)
                out.append(f"√{a}" if len(a) <= 1 else f"√({a})")
            elif name in FONTS:
                a, i = _group(s, i)
                out.append("".join(FONTS[name].get(ch, ch) for ch in tex_to_text(a, markup)))
            elif name in ACCENTS:
                a, i = _group(s, i)
                a = tex_to_text(a, markup)
                out.append(a + ACCENTS[name] if len(a) == 1 else a)
            elif name in STYLES:
                if s[i:i + 1] == "*":
                    i += 1
                a, i = _group(s, i)
                out.append(tex_to_text(a, markup))
            elif name in DROPPED:
                if name in ("label", "tag"):
                    _, i = _group(s, i)
            elif name in RELATIONS:
                out.append(f" {SYMBOLS[name]} ")
            elif name in SYMBOLS:
                out.append(esc(SYMBOLS[name]))
            else:  # \max, \log, \exp, \min, \sup, ... and anything unknown: its name
                out.append(name)
        elif c in "^_":
            before = s[i - 1] if i else ""
            word = _WORD.match(s, i + 1)
            if c == "_" and word and len(word.group(0)) > 1 and before.isascii():
                out.append(c)  # snake_case: a name, not a subscript
                i += 1
                continue
            if c == "_" and word and not before.isascii() and before.isalpha():
                a, i = word.group(0), word.end()  # λ_max: the whole word is the subscript
            else:
                a, i = _group(s, i + 1)
                a = tex_to_text(a, markup)
            out.append(_script(a, SUPERSCRIPT if c == "^" else SUBSCRIPT, c, markup))
        elif c in "{}":
            i += 1
        elif c in "&~" and not markup:  # alignment and a tie, in a math fragment
            out.append(" ")
            i += 1
        else:
            out.append(esc(c))
            i += 1
    text = unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", "".join(out)))
    return text if markup else text.strip()


def plain_text(text: str) -> str:
    """``text`` with every TeX fragment in it rewritten by :func:`tex_to_text`."""
    return tex_to_text(text) if looks_like_tex(text) else text


# -- rewriting the built pages ---------------------------------------------------------
_ATTRIBUTE = re.compile(r'\b(title|aria-label|alt|data-bs-title|data-bs-original-title)="([^"]*)"')
_SEARCH_BUTTON = re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?)'
                            r' aria-label="Search"')
_TOGGLE = re.compile(r'<summary aria-label="Toggle hidden content">')
_SIDEBAR = re.compile(r'<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">')
_CITATION_LIST = re.compile(r'<div role="list" class="citation-list">')
_BIBLIOENTRY = re.compile(r' role="doc-biblioentry"')


def _plain_attribute(m: re.Match) -> str:
    value = html.unescape(m.group(2))
    if not looks_like_tex(value):
        return m.group(0)
    return f'{m.group(1)}="{html.escape(tex_to_text(value), quote=True)}"'


_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9-]*)([^>]*?)(/?)>", re.S)
_RAW_TEXT = {"script", "style"}  # their content is not HTML: skipped to their end tag
_VERBATIM = {"pre", "code", "textarea", "kbd", "samp"}
_VOID = {"img", "input", "br", "hr", "meta", "link", "source", "area", "col", "wbr", "base"}


def _plain_text(token: str) -> str:
    text = html.unescape(token)
    return tex_to_text(text, markup=True) if looks_like_tex(text) else token


def _plain_text_nodes(page: str) -> str:
    """TeX in the text of ``page`` outside code and math rewritten as HTML (``<sub>``)."""
    out, pos, skip, depth = [], 0, None, 0
    for m in _TAG.finditer(page):
        if m.start() < pos:  # inside a script or style element already copied
            continue
        text = page[pos:m.start()]
        out.append(text if skip else _plain_text(text))
        out.append(m.group(0))
        pos = m.end()
        if m.group(0).startswith("<!--"):
            continue
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        if not closing and name in _RAW_TEXT:
            close = page.find(f"</{name}>", pos)
            close = len(page) if close < 0 else close
            out.append(page[pos:close])
            pos = close
        elif skip is None:
            classes = re.search(r'class="([^"]*)"', attrs)
            is_math = bool(classes) and "math" in classes.group(1).split()
            if not closing and (name in _VERBATIM or is_math) and name not in _VOID:
                skip, depth = name, 1
        elif name == skip and not m.group(4):
            depth += -1 if closing else 1
            if depth == 0:
                skip = None
    tail = page[pos:]
    out.append(tail if skip else _plain_text(tail))
    return "".join(out)


def rewrite_page(text: str) -> str:
    """One built page with the fixes of this module applied."""
    text = _plain_text_nodes(text)
    text = _ATTRIBUTE.sub(_plain_attribute, text)
    text = _SEARCH_BUTTON.sub(r"\1", text)
    text = _TOGGLE.sub("<summary>", text)
    text = _SIDEBAR.sub('<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" '
                        'role="navigation" aria-label="The book">', text)
    text = _CITATION_LIST.sub('<div class="citation-list">', text)
    return _BIBLIOENTRY.sub("", text)


def rewrite_search_index(text: str) -> str:
    """``searchindex.js`` with TeX in its titles rewritten (the result list shows them)."""
    head, _, rest = text.partition("(")
    index = json.loads(rest[:rest.rindex(")")])
    index["titles"] = [plain_text(t) for t in index.get("titles", [])]
    if "alltitles" in index:
        index["alltitles"] = {plain_text(t): v for t, v in index["alltitles"].items()}
    return f"{head}({json.dumps(index, ensure_ascii=False, separators=(',', ':'))})"


SEARCH_JS = Path(__file__).resolve().parent / "a11y_static" / "optbook_search.js"


def search_js() -> str:
    """The search page's script, with this module's tables."""
    tables = {"symbols": SYMBOLS, "relations": sorted(RELATIONS), "fonts": FONTS,
              "accents": ACCENTS, "sup": SUPERSCRIPT, "sub": SUBSCRIPT, "dropped": sorted(DROPPED),
              "styles": sorted(STYLES)}
    return SEARCH_JS.read_text(encoding="utf-8").replace(
        "__TABLES__", json.dumps(tables, ensure_ascii=False))


KEEP_SIDEBAR = ('if (isNaN(parseInt(sessionStorage.getItem("sidebar-scroll-top"), 10))) '
                'sessionStorage.setItem("sidebar-scroll-top", "0");')


# -- Sphinx hooks ------------------------------------------------------------------------
def page_assets(app, pagename, templatename, context, doctree):
    if app.builder.format != "html":
        return
    # The theme scrolls the sidebar to the current chapter on a first visit, hiding the
    # book's title; with a stored position of 0 it keeps the sidebar where it was instead.
    app.add_js_file(None, body=KEEP_SIDEBAR, priority=100)
    if pagename == "search":
        app.add_js_file("optbook_search.js", defer="defer")
    body = context.get("body", "")
    domain = app.env.get_domain("math")
    if 'class="math' in body and not domain.has_equations(pagename) and app.config.mathjax_path:
        if app.config.mathjax3_config:
            app.add_js_file(None, body="window.MathJax = " + json.dumps(app.config.mathjax3_config))
        app.add_js_file(app.config.mathjax_path, defer="defer")


def rewrite_site(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    (out / "_static" / "optbook_search.js").write_text(search_js(), encoding="utf-8")
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = rewrite_page(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    index = out / "searchindex.js"
    if index.exists():
        index.write_text(rewrite_search_index(index.read_text(encoding="utf-8")),
                         encoding="utf-8")


def setup(app):
    app.connect("html-page-context", page_assets)
    app.connect("build-finished", rewrite_site)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
