r"""Slider figures: one declaration, a live control in Jupyter and frames on the website.

A chapter declares a slider figure once::

    def draw(fig):                      # runs once: create axes and artists
        ax = fig.subplots()
        line, = ax.plot([], [])
        def update(eta, gamma):         # runs on every slider move: update artists
            line.set_data(...)
        return update

    SliderFigure(draw, Slider("eta", np.linspace(0.1, 2, 20), r"$\eta$"),
                 Slider("gamma", [0.0, 0.5, 0.9], r"$\gamma$"))

Every slider moves on a finite grid of values. In a live kernel the figure is
an ipywidgets control: a move calls ``update`` (artists are updated, never
rebuilt), redraws the Agg canvas and swaps the PNG. On the static website no
kernel exists, so when the book is built (``OPTBOOK_FRAMES=1``, set by
``make book``) the figure is drawn for every point of the grid and the page
switches frames in the browser: the reader sees exactly what the kernel would
draw for that value. The same object carries both renderings in one output;
the book's configuration tells the website to show the frames.

In the reader's browser ("Run live", Pyodide: ``sys.platform == "emscripten"``
or ``OPTBOOK_LIVE_SLIDERS=1``, set by the page's runtime) the figure is live for
any value: its display is a small spec (:data:`LIVE_MIME`) that the page renders
as a range input stepping through the grid and a number input taking any value
in the grid's range; every move calls :meth:`SliderFigure.render` (the same
blitting update, then a PNG). So ``update`` computes any value: one that needs
an expensive run caches it (``functools.cache``, filled on the grid up front), and
the frames and any value off the grid come from the same function.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .plotting import BookFigure, style

__all__ = ["Slider", "SliderFigure", "FRAMES_ENV", "LIVE_ENV", "LIVE_MIME", "render_live"]

#: Environment variable that asks slider figures to render their static frames.
FRAMES_ENV = "OPTBOOK_FRAMES"
#: Environment variable that asks slider figures for their live (in-browser) rendering;
#: set by the website's live runtime, implied under Pyodide (``sys.platform == "emscripten"``).
LIVE_ENV = "OPTBOOK_LIVE_SLIDERS"
#: MIME type of the live spec: what the page's live.js turns into inputs and an image.
LIVE_MIME = "application/vnd.optbook.slider+json"

# Slider figures displayed in live mode, by id, so that the page can call them back.
_LIVE: dict[str, SliderFigure] = {}


def live_mode() -> bool:
    """True in the reader's browser (Pyodide), where sliders compute every value live."""
    return sys.platform == "emscripten" or os.environ.get(LIVE_ENV) == "1"


def render_live(figure_id: str, values: str) -> str:
    """The page's callback: redraw figure ``figure_id`` for ``values`` (JSON).

    Returns :meth:`SliderFigure.render`'s answer as JSON."""
    return json.dumps(_LIVE[figure_id].render(**json.loads(values)))


@dataclass(frozen=True)
class Slider:
    """One slider: the keyword it sets, its grid of values, a label and a start value.

    Args:
        name: keyword argument of ``update`` that this slider sets.
        values: the grid, a 1-D sequence of at least 2 distinct finite numbers.
        label: text shown next to the slider (plain text or unicode).
        value: start value, a member of ``values`` (default: the middle one).
        fmt: format of the value read-out, e.g. ``"{:.2f}"``.
        integer: the quantity is a whole number (a batch size, a width): off the
            grid, in the reader's browser, values are rounded to integers.
    """

    name: str
    values: Sequence[float]
    label: str = ""
    value: float | None = None
    fmt: str = "{:.3g}"
    integer: bool = False
    _grid: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Slider name must be a Python identifier, got {self.name!r}")
        grid = np.asarray(self.values, dtype=float)
        if grid.ndim != 1 or grid.size < 2:
            raise ValueError(f"Slider {self.name!r}: values must be a 1-D grid of at least "
                             f"2 numbers, got shape {grid.shape}")
        if not np.all(np.isfinite(grid)):
            raise ValueError(f"Slider {self.name!r}: values must be finite")
        if np.unique(grid).size != grid.size:
            raise ValueError(f"Slider {self.name!r}: values must be distinct")
        if self.integer and not np.all(grid == np.round(grid)):
            raise ValueError(f"Slider {self.name!r}: integer=True needs a grid of whole "
                             f"numbers, got {grid.tolist()}")
        object.__setattr__(self, "_grid", grid)
        if self.value is not None and not np.any(np.isclose(grid, self.value, rtol=0,
                                                            atol=1e-12)):
            raise ValueError(f"Slider {self.name!r}: start value {self.value} is not on the "
                             f"grid {grid.tolist()}")

    @property
    def grid(self) -> np.ndarray:
        """The grid of values as a float array."""
        return self._grid

    @property
    def start_index(self) -> int:
        """Index of the start value in the grid."""
        if self.value is None:
            return (self.grid.size - 1) // 2
        return int(np.argmin(np.abs(self.grid - self.value)))

    def text(self, v: float) -> str:
        """The read-out of value ``v``."""
        return self.fmt.format(v)

    def admissible(self, v: float) -> float:
        """The value drawn for a requested ``v`` (any number): clipped to the grid's
        range, rounded if the slider is ``integer``."""
        v = float(np.clip(float(v), self.grid.min(), self.grid.max()))
        return float(round(v)) if self.integer else v


_counter = itertools.count()


class SliderFigure:
    """A figure with sliders, declared once, rendered live or as frames.

    Args:
        draw: ``draw(fig) -> update``; creates the axes and artists on ``fig``
            and returns ``update(**values)``, which changes them for new values.
            Create the artists that ``update`` changes with ``animated=True``:
            they are then redrawn over a saved background (blitting), which
            makes a move several times faster. With blitting, ``update`` must
            not change axis limits or anything else that is not animated.
        *sliders: the :class:`Slider` objects, one per keyword of ``update``.
        figsize: figure size in inches.
        dpi: resolution of the frames (live and static).
        caption: optional text shown under the figure.
    """

    def __init__(self, draw: Callable, *sliders: Slider, figsize=(7.0, 3.2), dpi: int = 100,
                 caption: str = ""):
        if not callable(draw):
            raise ValueError(f"draw must be a function draw(fig) -> update, got {draw!r}")
        if not sliders or not all(isinstance(s, Slider) for s in sliders):
            raise ValueError("give at least one Slider, and only Slider objects")
        names = [s.name for s in sliders]
        if len(set(names)) != len(names):
            raise ValueError(f"slider names must be distinct, got {names}")
        self.sliders = sliders
        self._draw, self._figsize = draw, figsize
        self.dpi = int(dpi)
        self.caption = caption
        with style():
            self.fig = BookFigure(figsize=figsize, dpi=self.dpi, layout="constrained")
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.fig)
            self._update = draw(self.fig)
        if not callable(self._update):
            raise ValueError("draw(fig) must return the function update(**values)")
        self.values = {s.name: float(s.grid[s.start_index]) for s in sliders}
        # Lay the figure out once, then freeze it: constrained layout on every
        # redraw would double the cost of a slider move.
        with style(), np.errstate(all="ignore"):
            self._update(**self.values)
            self.fig.canvas.draw()
        self.fig.set_layout_engine("none")
        # Artists marked animated are redrawn on every move over a saved
        # background (blitting); everything else is drawn once.
        self._animated = [a for a in self.fig.findobj() if a.get_animated()]
        self._background = None
        if self._animated:
            self.fig.canvas.draw()
            self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.update(**self.values)
        self._id = f"optbook-slider-{next(_counter)}"

    # -- computing and drawing -------------------------------------------------
    def update(self, **values) -> None:
        """Set slider values (only the ones given), update the artists and redraw."""
        self._check_names(values)
        self.values.update({k: float(v) for k, v in values.items()})
        with style(), np.errstate(all="ignore"):
            self._update(**self.values)
            if self._background is None:
                self.fig.canvas.draw()
            else:
                self.fig.canvas.restore_region(self._background)
                for artist in self._animated:
                    self.fig.draw_artist(artist)

    def render(self, **values) -> dict:
        """Set slider values (any numbers, on the grid or not) and redraw; what the live
        page calls on every move: the same blitting update as the Jupyter control.

        Values are first made admissible (clipped to the grid's range, rounded for an
        ``integer`` slider). Returns ``{"png": base64 PNG, "values": the values drawn,
        "snapped": names of the sliders drawn at another value than asked}``. An
        ``update`` must therefore compute any value, not look results up on its grid:
        chapters cache their expensive runs (``functools.cache``, filled on the grid up
        front for the frames). If ``update`` raises, the error reaches the page and the
        slider values stay as they were.
        """
        self._check_names(values)
        by_name = {s.name: s for s in self.sliders}
        asked = {k: float(v) for k, v in values.items()}
        if not all(np.isfinite(v) for v in asked.values()):
            raise ValueError(f"slider values must be finite numbers, got {values}")
        before = dict(self.values)
        try:
            self.update(**{k: by_name[k].admissible(v) for k, v in asked.items()})
        except Exception:
            self.values = before
            raise
        snapped = [k for k in asked if not np.isclose(self.values[k], asked[k], rtol=0,
                                                      atol=1e-12)]
        return {"png": _b64(self.image("png")), "values": dict(self.values),
                "snapped": snapped}

    def _check_names(self, values) -> None:
        unknown = set(values) - set(self.values)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; sliders are "
                             f"{list(self.values)}")

    def image(self, fmt: str = "png", quality: int = 70) -> bytes:
        """The current canvas encoded as PNG (fast, lossless) or WebP (small)."""
        rgba = np.asarray(self.fig.canvas.buffer_rgba())
        img = Image.fromarray(rgba[..., :3])
        buf = io.BytesIO()
        if fmt == "png":
            img.save(buf, format="PNG", compress_level=1)
        elif fmt == "webp":
            img.save(buf, format="WEBP", quality=quality, method=3)
        else:
            raise ValueError(f"fmt must be 'png' or 'webp', got {fmt!r}")
        return buf.getvalue()

    def time_updates(self, n: int = 100, seed: int = 0) -> np.ndarray:
        """Seconds taken by ``n`` slider moves to random grid values (update, draw, PNG)."""
        rng = np.random.default_rng(seed)
        start = dict(self.values)
        times = np.empty(n)
        for k in range(n):
            s = self.sliders[k % len(self.sliders)]
            v = s.grid[rng.integers(s.grid.size)]
            t0 = time.perf_counter()
            self.update(**{s.name: v})
            self.image("png")
            times[k] = time.perf_counter() - t0
        self.update(**start)
        return times

    # -- the live rendering ------------------------------------------------------
    def widget(self):
        """An ipywidgets control: the sliders above the figure, redrawn on every move."""
        import ipywidgets as W

        image = W.Image(value=self.image("png"), format="png")
        controls = []
        for s in self.sliders:
            options = [(s.text(v), float(v)) for v in s.grid]
            ctrl = W.SelectionSlider(options=options, value=self.values[s.name],
                                     description=s.label or s.name, continuous_update=True,
                                     layout=W.Layout(width="460px"),
                                     style={"description_width": "140px"})

            def on_change(change, name=s.name):
                self.update(**{name: change["new"]})
                image.value = self.image("png")

            ctrl.observe(on_change, names="value")
            controls.append(ctrl)
        return W.VBox([*controls, image])

    # -- the static rendering ------------------------------------------------------
    def frames_html(self) -> str:
        """Self-contained HTML: the figure for every grid point, switched by range inputs.

        Needs no kernel and no external file: the images are inline WebP and the
        script is a few lines of plain JavaScript. With blitting, the static
        background is sent once and each frame is a lossless overlay of the
        animated artists (transparent elsewhere), so the page shows exactly the
        pixels the kernel draws at a fraction of the weight of full frames.
        """
        start = dict(self.values)
        grids = [s.grid for s in self.sliders]
        background = None
        if self._background is not None:
            self.fig.canvas.restore_region(self._background)
            background = np.asarray(self.fig.canvas.buffer_rgba()).copy()
        frames = []
        for index in itertools.product(*(range(g.size) for g in grids)):
            self.update(**{s.name: g[i] for s, g, i in zip(self.sliders, grids, index,
                                                            strict=True)})
            if background is None:
                frames.append(_b64(self.image("webp")))
            else:
                rgba = np.asarray(self.fig.canvas.buffer_rgba()).copy()
                rgba[np.all(rgba == background, axis=2)] = 0  # transparent where unchanged
                frames.append(_b64(_webp(rgba, lossless=True)))
        self.update(**start)
        shape = [g.size for g in grids]
        first = [s.start_index for s in self.sliders]
        flat = int(np.ravel_multi_index(first, shape))
        inputs = "".join(
            f'<label class="optbook-slider-row"><span class="optbook-slider-label">'
            f'{_escape(s.label or s.name)}</span>'
            f'<input type="range" min="0" max="{s.grid.size - 1}" step="1" value="{i}" '
            f'aria-label="{_escape(s.label or s.name)}" '
            f'aria-valuetext="{_escape(s.text(s.grid[i]))}">'
            f'<output aria-live="off">{_escape(s.text(s.grid[i]))}</output></label>'
            for s, i in zip(self.sliders, first, strict=True))
        # Alt text: what the figure is (its caption), and the values it is drawn for; the
        # page's script rewrites the values on every move and announces them (status line).
        name = self.caption or "Figure with sliders for " + ", ".join(
            s.label or s.name for s in self.sliders)
        shown = _escape(self.values_text())
        if background is None:
            picture = (f'<img class="optbook-frame" alt="{_escape(name)}, {shown}" '
                       f'src="{_WEBP}{frames[flat]}">')
        else:
            picture = (f'<div class="optbook-layers"><img class="optbook-background" '
                       f'alt="{_escape(name)}" '
                       f'src="{_WEBP}{_b64(_webp(background, lossless=True))}">'
                       f'<img class="optbook-frame" alt="{shown}" '
                       f'src="{_WEBP}{frames[flat]}"></div>')
        status = '<p class="optbook-sr-only" role="status" aria-live="polite"></p>'
        texts = [[s.text(v) for v in s.grid] for s in self.sliders]
        labels = [s.label or s.name for s in self.sliders]
        prefix = "" if background is not None else f"{name}, "
        # "<" escaped: a label's text must not end the <script> element that holds it.
        data = json.dumps({"shape": shape, "texts": texts, "labels": labels, "alt": prefix,
                           "frames": frames}).replace("<", "\\u003c")
        return (f'<div class="optbook-slider" id="{self._id}">{inputs}{picture}{status}'
                f'<script type="application/json">{data}</script>'
                f"<script>{_SWITCHER_JS.replace('__ID__', self._id)}</script></div>")

    def values_text(self) -> str:
        """The current values in words, for the frame's alt text: ``"shown for η = 0.5"``."""
        return "shown for " + ", ".join(
            f"{s.label or s.name} = {s.text(self.values[s.name])}" for s in self.sliders)

    # -- the rendering in the reader's browser ----------------------------------------
    def live_spec(self) -> dict:
        """What live.js needs: the id, and each slider's name, label, grid, value and
        whether it is ``integer``.

        The page's range input steps through the grid (as the frames do: a drag stays
        fast even where a value off the grid costs a new run); the number input beside
        it takes any value in the grid's range, which :meth:`render` computes.
        """
        _LIVE[self._id] = self
        sliders = [{"name": s.name, "label": s.label or s.name, "grid": s.grid.tolist(),
                    "min": float(s.grid.min()), "max": float(s.grid.max()),
                    "value": self.values[s.name], "integer": s.integer}
                   for s in self.sliders]
        return {"id": self._id, "sliders": sliders, "caption": self.caption}

    # -- display: both renderings in one output -------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {}
        if live_mode():
            # In the reader's browser: a spec that the page renders as inputs
            # calling back render(); computed for any value, not only the grid.
            bundle[LIVE_MIME] = self.live_spec()
        elif os.environ.get(FRAMES_ENV) == "1":
            # Building the website: frames instead of a widget (no kernel there,
            # and a widget's state would only add weight to the page).
            bundle["text/html"] = self.frames_html()
        else:
            try:
                bundle.update(self.widget()._repr_mimebundle_())
            except ImportError:  # ipywidgets is optional: the PNG remains
                pass
        bundle["text/plain"] = repr(self)
        bundle["image/png"] = self.image("png")
        return bundle

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        return f"SliderFigure({values})"


_WEBP = "data:image/webp;base64,"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _webp(rgba: np.ndarray, *, lossless: bool, quality: int = 70) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="WEBP", lossless=lossless, quality=quality,
                               method=2 if lossless else 3)
    return buf.getvalue()


def _escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


# Swaps the <img> source when a range input moves: a lookup, no computation. The inputs
# announce the value (aria-valuetext), the frame's alt and the status line the values.
_SWITCHER_JS = """(function () {
  var root = document.getElementById('__ID__');
  var d = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  var ins = root.querySelectorAll('input[type=range]'), outs = root.querySelectorAll('output');
  var img = root.querySelector('img.optbook-frame');
  var status = root.querySelector('[role=status]');
  function show() {
    var k = 0, said = [];
    for (var i = 0; i < ins.length; i++) {
      var v = +ins[i].value;
      k = k * d.shape[i] + v;
      outs[i].textContent = d.texts[i][v];
      ins[i].setAttribute('aria-valuetext', d.texts[i][v]);
      said.push(d.labels[i] + ' = ' + d.texts[i][v]);
    }
    img.src = 'data:image/webp;base64,' + d.frames[k];
    img.alt = d.alt + 'shown for ' + said.join(', ');
    status.textContent = said.join(', ');
  }
  for (var i = 0; i < ins.length; i++) { ins[i].addEventListener('input', show); }
})();"""
