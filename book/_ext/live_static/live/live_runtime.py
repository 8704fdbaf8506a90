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
import sys
import traceback
import types

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


def mount(paths, later="{}"):
    """Put the wheels (JSON list of paths) on sys.path as they are: zipimport reads their
    modules, compiled to bytecode, when a cell first imports them. ``later`` (JSON: module
    name -> {url, sha256[, file]}) names what is fetched only when that module is first
    imported: a wheel to install, or a data file for it."""
    sys.path.extend(json.loads(paths))
    sys.meta_path.insert(0, OnFirstImport(json.loads(later)))


class OnFirstImport:
    """A finder for what is served but not loaded while Python starts: the first import of a
    module named in ``wanted`` (or of a module in a package named there) fetches its file (a
    synchronous request, which a Web Worker may make), checks its sha256, unpacks the wheel
    into site-packages or writes the data file into optbook's cache, and lets the import go
    on as usual."""

    def __init__(self, wanted):
        self.wanted = wanted

    def find_spec(self, fullname, path=None, target=None):
        entry = self.wanted.pop(fullname, None) or self.wanted.pop(fullname.partition(".")[0],
                                                                   None)
        if entry is not None:
            data = fetch(entry["url"], entry["sha256"])
            if "file" in entry:
                folder = os.environ["OPTBOOK_CACHE"]
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, entry["file"]), "wb") as f:
                    f.write(data)
            else:
                import importlib
                import site
                import zipfile

                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    z.extractall(site.getsitepackages()[0])
                importlib.invalidate_caches()
        return None  # the usual finders find it now

    def invalidate_caches(self):
        pass


def fetch(url, digest):
    """The bytes at ``url`` (relative to the worker), checked against their sha256."""
    import hashlib

    from js import XMLHttpRequest

    request = XMLHttpRequest.new()
    request.open("GET", url, False)
    request.responseType = "arraybuffer"
    request.send(None)
    if request.status != 200:
        raise ImportError(f"{url}: HTTP {request.status}")
    data = request.response.to_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ImportError(f"{url} does not have the sha256 the manifest lists")
    return data


def imports_of(source):
    """The absolute modules a cell's source imports, top-level statements first (none if
    it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def warm_up(sources):
    """Import, quietly, every module the page's cells (JSON list of sources) import, so that
    a cell the reader runs later does not wait for them. Sent by live.js when Python is ready
    and no cell is waiting to run; a module that fails here fails again, loudly, in its cell."""
    global _outputs
    import importlib

    seen = set()
    for source in json.loads(sources):
        for name in imports_of(source):
            if name not in seen:
                seen.add(name)
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001 - its cell reports it
                    pass
    _outputs = []
    return len(seen)


def slider_render(figure_id, values, phone=False):
    """A live slider moved: redraw its figure for ``values`` (JSON), in its phone rendering
    on a narrow screen; the PNG as base64, or the error's traceback (as a cell's) if the
    figure's update raised."""
    from optbook.sliders import render_live

    try:
        return render_live(figure_id, values, phone=phone)
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


_DIFFERS = (
    "A check that guards the book's text did not hold in this run. The text was written from\n"
    "the book's build (CPython on Linux, OpenBLAS); the browser's NumPy rounds differently, and a\n"
    "long training run can amplify that. The numbers printed above are your run's.\n\n")


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
        if isinstance(exc, AssertionError):
            text = _DIFFERS + text
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
os.environ["OPTBOOK_CACHE"] = os.path.expanduser("~/.cache/optbook")  # optbook.data's files
sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
