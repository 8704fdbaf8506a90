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


def render_live(figure_id: str, values: str, phone: bool = False) -> str:
    """The page's callback: redraw figure ``figure_id`` for ``values`` (JSON), in its phone
    rendering (:meth:`SliderFigure.phone`) if ``phone``, as the static page does on a
    screen narrower than :data:`PHONE_BELOW` px.

    Returns :meth:`SliderFigure.render`'s answer as JSON."""
    figure = _LIVE[figure_id]
    return json.dumps((figure.phone() if phone else figure).render(**json.loads(values)))


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
        scale: ``"linear"`` or ``"log"``: how the website's track places the values
            (the thumb's position is proportional to the value, or to its logarithm).
            ``"auto"`` (default) takes the one under which the grid is closer to evenly
            spaced (largest gap ÷ smallest gap), so 2, 5, 20, 50 gets a log track.

    The label may hold TeX between ``$...$`` (``r"step size $\\eta$"``): the website
    typesets it with MathJax and reads it out as plain text.
    """

    name: str
    values: Sequence[float]
    label: str = ""
    value: float | None = None
    fmt: str = "{:.3g}"
    integer: bool = False
    scale: str = "auto"
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
        if self.scale not in ("auto", "linear", "log"):
            raise ValueError(f"Slider {self.name!r}: scale must be 'auto', 'linear' or "
                             f"'log', got {self.scale!r}")
        if self.scale == "log" and np.any(grid <= 0):
            raise ValueError(f"Slider {self.name!r}: a log scale needs positive values, "
                             f"got {grid.tolist()}")
        if self.label.count("$") % 2:
            raise ValueError(f"Slider {self.name!r}: unbalanced $ in the label "
                             f"{self.label!r} (TeX goes between $...$)")
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
    def track(self) -> str:
        """``"linear"`` or ``"log"``: the scale of the website's track (see ``scale``)."""
        if self.scale != "auto":
            return self.scale
        if self.grid.size < 3 or np.any(self.grid <= 0):
            return "linear"
        return "log" if _unevenness(np.log(self.grid)) < _unevenness(self.grid) else "linear"

    @property
    def positions(self) -> np.ndarray:
        """Where each grid value sits on the track: the value, or its log10 on a log track."""
        return np.log10(self.grid) if self.track == "log" else self.grid

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


def _unevenness(x: np.ndarray) -> float:
    """Largest gap ÷ smallest gap between sorted values (1 for an even grid)."""
    gaps = np.diff(np.sort(x))
    return float(gaps.max() / gaps.min())


_counter = itertools.count()

#: Width (inches) of a slider figure's phone rendering, and height of each stacked panel;
#: at ``dpi=100`` it is 360 pixels wide: shown at 328-360 CSS px on a phone.
PHONE_WIDTH, PHONE_PANEL_HEIGHT = 3.6, 2.8
#: Screens narrower than this (CSS px) are shown the phone rendering.
PHONE_BELOW = 640


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
                 caption: str = "", _stack: bool = False):
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
            self.fig = BookFigure(figsize=figsize, dpi=self.dpi, layout="constrained",
                                  stack=_stack)
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.fig)
            self._update = draw(self.fig)
        if not callable(self._update):
            raise ValueError("draw(fig) must return the function update(**values)")
        if _stack:  # the phone rendering: panels stacked, titles wrapped to the width
            title = self.fig._suptitle
            self.fig.set_size_inches(PHONE_WIDTH, PHONE_PANEL_HEIGHT * self.fig.panels
                                     + (0.45 if title is not None else 0.0))
            for text in [title] + [ax.title for ax in self.fig.axes]:
                if text is not None:
                    text.set_wrap(True)
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
        self._phone: SliderFigure | None = None

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
    def phone(self) -> SliderFigure:
        """The same figure drawn for a phone: its row of panels stacked in one column on
        a :data:`PHONE_WIDTH`-inch-wide figure (see :class:`~optbook.plotting.BookFigure`)."""
        if self._phone is None:
            self._phone = SliderFigure(self._draw, *self.sliders, dpi=self.dpi,
                                       caption=self.caption, _stack=True)
        return self._phone

    def text_sizes(self) -> tuple[float, float]:
        """The smallest tick label and the smallest text of any kind, in frame pixels."""
        from matplotlib.text import Text

        px = self.dpi / 72
        ticks = [t.get_fontsize() * px for ax in self.fig.axes for axis in (ax.xaxis, ax.yaxis)
                 for t in axis.get_ticklabels(which="both") if t.get_visible() and t.get_text()]
        texts = [t.get_fontsize() * px for t in self.fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip()]
        return min(ticks, default=float("nan")), min(texts, default=float("nan"))

    def frame_set(self) -> dict:
        """Every grid point's frame (WebP data URIs, in C order of the grids), the
        background they are drawn over (or ``None``), the size in pixels and the smallest
        tick label and text sizes (:meth:`text_sizes`).

        With blitting, the static background is encoded once and each frame is a lossless
        overlay of the animated artists (transparent elsewhere): exactly the pixels the
        kernel draws, at a fraction of the weight of full frames.
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
                frames.append(_WEBP + _b64(self.image("webp")))
            else:
                rgba = np.asarray(self.fig.canvas.buffer_rgba()).copy()
                rgba[np.all(rgba == background, axis=2)] = 0  # transparent where unchanged
                frames.append(_WEBP + _b64(_webp(rgba, lossless=True)))
        self.update(**start)
        width, height = self.fig.canvas.get_width_height()
        tick_px, text_px = self.text_sizes()
        return {"width": width, "height": height, "tick_px": tick_px, "text_px": text_px,
                "background": None if background is None
                else _WEBP + _b64(_webp(background, lossless=True)),
                "frames": frames}

    def frames_html(self) -> str:
        """The website's rendering: the figure for every grid point, switched by range inputs.

        Needs no kernel: a page script (``book/_static/optbook_sliders.js``) swaps
        pictures. Each frame exists twice, drawn for a desktop and for a phone
        (:meth:`phone`, screens under :data:`PHONE_BELOW` CSS px); ``<picture>`` shows
        the one for the screen. Frames are inline data here; the site's build moves them
        to files that the browser caches and loads when the figure nears the viewport.
        Each track is proportional to the value (or its logarithm, :attr:`Slider.track`)
        and the thumb snaps to the grid; labels' TeX is typeset by the page's MathJax.
        """
        wide, phone = self.frame_set(), self.phone().frame_set()
        shape = [s.grid.size for s in self.sliders]
        first = [s.start_index for s in self.sliders]
        flat = int(np.ravel_multi_index(first, shape))
        rows = "".join(self._row_html(k, s, i)
                       for k, (s, i) in enumerate(zip(self.sliders, first, strict=True)))
        # Alt text: what the figure is (its caption), and the values it is drawn for; the
        # page's script rewrites the values on every move and announces them (status line).
        name = self.caption or "Figure with sliders for " + ", ".join(
            s.label or s.name for s in self.sliders)
        shown = self.values_text()
        media = f"(max-width: {PHONE_BELOW - 0.02}px)"

        def picture(css_class: str, alt: str, pick) -> str:
            return (f'<picture><source media="{media}" srcset="{pick(phone)}" '
                    f'width="{phone["width"]}" height="{phone["height"]}">'
                    f'<img class="{css_class}" alt="{_escape(alt)}" src="{pick(wide)}" '
                    f'width="{wide["width"]}" height="{wide["height"]}" loading="lazy" '
                    f'decoding="async"></picture>')

        def frame(rendering):
            return rendering["frames"][flat]

        if wide["background"] is None:
            layers = picture("optbook-frame", f"{name}, {shown}", frame)
        else:
            layers = (picture("optbook-background", name, lambda r: r["background"])
                      + picture("optbook-frame", shown, frame))
        status = '<p class="optbook-sr-only" role="status" aria-live="polite"></p>'
        renderings = [dict(phone, media=media), dict(wide, media=None)]
        data = {"shape": shape, "texts": [[s.text(v) for v in s.grid] for s in self.sliders],
                "positions": [s.positions.tolist() for s in self.sliders],
                "alt": "" if wide["background"] is not None else f"{name}, ",
                "renderings": renderings}
        # "<" escaped: a label's text must not end the <script> element that holds it.
        payload = json.dumps(data).replace("<", "\\u003c")
        return (f'<div class="optbook-slider" id="{self._id}">{rows}'
                f'<div class="optbook-layers">{layers}</div>{status}'
                f'<script type="application/json">{payload}</script></div>')

    def _row_html(self, k: int, s: Slider, i: int) -> str:
        """One slider's row: its typeset label, a range input over its track and a read-out."""
        pos, text, ident = s.positions, s.text(s.grid[i]), f"{self._id}-{k}"
        label = s.label or s.name
        return (f'<div class="optbook-slider-row"><label class="optbook-slider-label" '
                f'for="{ident}">{_label_html(label)}</label>'
                f'<input id="{ident}" type="range" min="{float(pos.min())!r}" '
                f'max="{float(pos.max())!r}" step="any" value="{float(pos[i])!r}" '
                f'aria-label="{_escape(label)}" aria-valuetext="{_escape(text)}">'
                f'<output for="{ident}" aria-live="off">{_escape(text)}</output></div>')

    def values_text(self) -> str:
        """The current values in words, for the frame's alt text: ``"shown for η = 0.5"``."""
        return "shown for " + ", ".join(
            f"{s.label or s.name} = {s.text(self.values[s.name])}" for s in self.sliders)

    # -- the rendering in the reader's browser ----------------------------------------
    def live_spec(self) -> dict:
        """What live.js needs: the id, and each slider's name, label, grid, track positions,
        value and whether it is ``integer``.

        The page's range input steps through the grid (as the frames do: a drag stays
        fast even where a value off the grid costs a new run); the number input beside
        it takes any value in the grid's range, which :meth:`render` computes.
        """
        _LIVE[self._id] = self
        sliders = [{"name": s.name, "label": s.label or s.name, "grid": s.grid.tolist(),
                    "positions": s.positions.tolist(),
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


def _label_html(label: str) -> str:
    """A label as HTML: text escaped, each ``$...$`` a span that the page's MathJax typesets."""
    parts = str(label).split("$")
    return "".join(_escape(p) if k % 2 == 0 else
                   f'<span class="math notranslate nohighlight">\\({_escape(p)}\\)</span>'
                   for k, p in enumerate(parts))
