"""The page's Python side of "Run live": run a cell, collect what it prints and shows.

Loaded once per page by live.js into Pyodide. A cell runs like in Jupyter: its
statements, then its last expression is displayed; ``display()`` calls, prints,
warnings and errors (with a traceback pointing at the cell's lines) are collected
in order and returned to JavaScript as JSON, one output per item.
"""

import ast
import base64
import io
import json
import linecache
import os
import site
import sys
import traceback
import types
import zipfile

# Priority of MIME types, as the book's website shows them (myst-nb's order with
# the book's overrides: HTML first, then a PNG; widgets never exist here). A live
# slider figure's spec comes first: live.js renders it as inputs and an image.
PRIORITY = ["application/vnd.optbook.slider+json", "text/html", "image/png", "image/svg+xml",
            "image/jpeg", "text/markdown", "text/latex", "text/plain"]
REPRS = {"text/html": "_repr_html_", "image/png": "_repr_png_", "image/svg+xml": "_repr_svg_",
         "image/jpeg": "_repr_jpeg_", "text/markdown": "_repr_markdown_",
         "text/latex": "_repr_latex_"}

SLIDER_MIME = "application/vnd.optbook.slider+json"
NS = {"__name__": "__main__"}
_outputs = []


def install_wheel(path):
    """Unpack a pure-Python wheel into site-packages (what an installer does for one)."""
    with zipfile.ZipFile(path) as z:
        z.extractall(site.getsitepackages()[0])
    import importlib

    importlib.invalidate_caches()


def warm_up():
    """Import what the chapters use; matplotlib builds its font cache here, silently."""
    global _outputs
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import sympy  # noqa: F401

    import optbook  # noqa: F401

    _outputs = []


def slider_render(figure_id, values):
    """A live slider moved: redraw its figure for ``values`` (JSON); the PNG as base64,
    or the error's traceback (as a cell's) if the figure's update raised."""
    from optbook.sliders import render_live

    try:
        return render_live(figure_id, values)
    except Exception as exc:  # noqa: BLE001 - the reader sees it under the figure
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return json.dumps({"error": text})


class _Stream(io.TextIOBase):
    def __init__(self, name):
        self.name = name

    def write(self, text):
        if text:
            if _outputs and _outputs[-1].get("stream") == self.name:
                _outputs[-1]["text"] += text
            else:
                _outputs.append({"stream": self.name, "text": text})
        return len(text)


def bundle(obj):
    """The MIME bundle of ``obj``, as IPython's display formatter would build it."""
    data = {}
    if isinstance(obj, type):  # a class: its _repr_*_ are unbound methods
        return {"text/plain": repr(obj)}
    method = getattr(obj, "_repr_mimebundle_", None)
    if callable(method):
        got = method()
        if isinstance(got, tuple):
            got = got[0]
        data.update(got or {})
    for mime, name in REPRS.items():
        method = getattr(obj, name, None)
        if mime not in data and callable(method):
            value = method()
            if isinstance(value, tuple):
                value = value[0]
            if value is not None:
                data[mime] = value
    if "image/png" not in data and _is_figure(obj):
        buf = io.BytesIO()
        obj.savefig(buf, format="png")
        data["image/png"] = buf.getvalue()
    data.setdefault("text/plain", repr(obj))
    return data


def _is_figure(obj):
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def show(obj):
    """Append the richest representation of ``obj`` to the current cell's outputs."""
    data = bundle(obj)
    for mime in PRIORITY:
        if mime in data:
            value = data[mime]
            if isinstance(value, bytes):
                value = base64.b64encode(value).decode("ascii")
            item = {"mime": mime, "data": value}
            if mime == SLIDER_MIME and "image/png" in data:  # the first frame, drawn already
                png = data["image/png"]
                item["png"] = base64.b64encode(png).decode("ascii") \
                    if isinstance(png, bytes) else png
            _outputs.append(item)
            return


def _flush_pyplot():
    """Figures left open with pyplot are shown and closed, as the inline backend does."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        show(plt.figure(num))
    plt.close("all")


def run_cell(source, number):
    """Run one cell in the page's session; return its outputs as a JSON list."""
    global _outputs
    _outputs = []
    name = f"<cell {number}>"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    try:
        tree = ast.parse(source, name)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) \
                and not source.rstrip().endswith(";"):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, name, "exec"), NS)
        if last is not None:
            value = eval(compile(last, name, "eval"), NS)
            if value is not None:
                NS["_"] = value
                show(value)
        _flush_pyplot()
    except BaseException as exc:  # noqa: BLE001 - everything goes to the reader
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # drop run_cell
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        _outputs.append({"error": type(exc).__name__, "text": text})
    out, _outputs = _outputs, []
    return json.dumps(out)


# --- IPython.display, the part the chapters use ------------------------------------------
class _Data:
    mime = "text/plain"

    def __init__(self, data=None, url=None, filename=None, **kwargs):
        if data is None and filename is not None:
            with open(filename) as f:
                data = f.read()
        self.data = data or ""

    def __repr__(self):
        return f"<{type(self).__name__} object>"


class HTML(_Data):
    def _repr_html_(self):
        return self.data


class Markdown(_Data):
    def _repr_markdown_(self):
        return self.data


class Latex(_Data):
    def _repr_latex_(self):
        return self.data


class Math(_Data):
    def _repr_latex_(self):
        return f"$$\n{self.data.strip('$')}\n$$"


class Code(_Data):
    """Source code shown as a block, highlighted by Pygments with the classes of the
    page's own code blocks (Sphinx's pygments.css colours them)."""

    def __init__(self, data=None, url=None, filename=None, language=None):
        super().__init__(data, url, filename)
        self.language = language

    def _repr_html_(self):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name

        lexer = get_lexer_by_name(self.language or "python")
        return highlight(self.data, lexer, HtmlFormatter(cssclass="highlight"))


class Image(_Data):
    def __init__(self, data=None, url=None, filename=None, format="png", **kwargs):
        if data is None and filename is not None:
            with open(filename, "rb") as f:
                data = f.read()
        self.data, self.format = data, format

    def _repr_png_(self):
        return self.data if self.format == "png" else None


def display(*objs, raw=False, **kwargs):
    for obj in objs:
        if raw and isinstance(obj, dict):
            obj = type("Raw", (), {"_repr_mimebundle_": lambda self, o=obj: o})()
        show(obj)


def clear_output(wait=False):
    pass


def _install_ipython_shim():
    ipython = types.ModuleType("IPython")
    ipython.__doc__ = "A stand-in for IPython in the browser: display only."
    ipython.get_ipython = lambda: None
    ipython.version_info = (8, 0, 0, "")
    shim = types.ModuleType("IPython.display")
    for obj in (HTML, Markdown, Latex, Math, Code, Image, display, clear_output):
        setattr(shim, obj.__name__, obj)
    ipython.display = shim
    sys.modules["IPython"] = ipython
    sys.modules["IPython.display"] = shim


_install_ipython_shim()
# Figures are drawn with Agg and shown as PNG; slider figures are live: they emit a
# spec that live.js renders as inputs, and every move calls slider_render.
os.environ["MPLBACKEND"] = "Agg"
os.environ.pop("OPTBOOK_FRAMES", None)
os.environ["OPTBOOK_LIVE_SLIDERS"] = "1"
sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
