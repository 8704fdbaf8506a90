"""The book's figure style: one colour-blind-safe palette, one set of rc settings.

Colours are the Okabe–Ito palette (Okabe & Ito 2008), distinguishable with the
common forms of colour blindness. Use :func:`figure` for every figure so that
chapters look alike; it returns a ``matplotlib.figure.Figure`` that is not
registered with pyplot (so nothing is displayed twice).
"""

from __future__ import annotations

from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["COLORS", "RC", "BookFigure", "figure", "style"]

#: Okabe–Ito colours by role: the true loss is black, models and methods follow.
COLORS = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

RC = {
    "axes.prop_cycle": mpl.cycler(color=[COLORS[c] for c in (
        "blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")]),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "image.cmap": "viridis",
}


@contextmanager
def style():
    """Context manager applying the book's rc settings."""
    with mpl.rc_context(RC):
        yield


class BookFigure(Figure):
    """A ``Figure`` that displays itself as a PNG in Jupyter, without pyplot.

    With ``stack=True`` (the phone rendering of a slider figure) a row of panels is
    stacked in one column: ``subplots(1, n, ...)`` makes ``n`` rows of one panel
    (``width_ratios`` dropped; ``sharex``/``sharey`` ``"row"``/``"col"`` swapped) and
    returns the panels in the same order, so a chapter's ``draw(fig)`` serves both.
    ``panels`` counts the rows stacked.
    """

    def __init__(self, *args, stack: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.stack = stack
        self.panels = 1

    def subplots(self, nrows=1, ncols=1, **kwargs):
        if self.stack and nrows == 1 and ncols > 1:
            kwargs.pop("width_ratios", None)
            gridspec = dict(kwargs.pop("gridspec_kw", None) or {})
            gridspec.pop("width_ratios", None)
            swap = {"row": "col", "col": "row"}
            for key in ("sharex", "sharey"):
                if kwargs.get(key) in swap:
                    kwargs[key] = swap[kwargs[key]]
            nrows, ncols, self.panels = ncols, 1, ncols
            kwargs["gridspec_kw"] = gridspec
        return super().subplots(nrows, ncols, **kwargs)

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        with style():
            self.savefig(buf, format="png")
        return buf.getvalue()


def figure(figsize: tuple[float, float] = (7.0, 3.2), **subplots) -> tuple[Figure, object]:
    """A new figure in the book's style and its axes (``Figure.subplots(**subplots)``).

    The figure has an Agg canvas of its own; a cell that returns it shows it as
    a PNG. Slider figures build theirs through ``optbook.sliders``.
    """
    with style():
        fig = BookFigure(figsize=figsize, dpi=RC["figure.dpi"], layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(**subplots)
    return fig, axes
