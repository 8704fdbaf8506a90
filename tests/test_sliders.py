"""Tests of optbook.sliders (and the figure style of optbook.plotting).

A slider figure is declared once and rendered two ways: live (an ipywidgets
control that redraws on every move) and static (one inline WebP frame per
grid point, switched in the browser). The tests check the validation of
sliders, that ``update`` really changes the picture, that the static frames
are complete, self-contained and in the order the page's script expects, and
that extreme slider values producing inf/NaN data neither warn nor raise.
"""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from optbook.plotting import COLORS, RC, BookFigure, figure, style
from optbook.sliders import FRAMES_ENV, Slider, SliderFigure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
SMALL = {"figsize": (3.0, 2.0), "dpi": 40}


def line_figure(calls=None, *, animated=False, eta=None, **kwargs):
    """A slider figure drawing y = eta·x + gamma; records every update call in ``calls``.

    With ``animated=True`` the line is redrawn by blitting.
    """
    draws = []

    def draw(fig):
        draws.append(fig)
        ax = fig.subplots()
        x = np.linspace(0, 1, 20)
        (line,) = ax.plot(x, x, animated=animated)
        ax.set_ylim(-3, 3)

        def update(eta, gamma):
            if calls is not None:
                calls.append({"eta": eta, "gamma": gamma})
            line.set_ydata(eta * x + gamma)

        return update

    sf = SliderFigure(draw,
                      Slider("eta", [0.5, 1.0, 1.5, 2.0], r"$\eta$", value=eta),
                      Slider("gamma", [-1.0, 0.0, 1.0], "gamma", value=1.0),
                      **{**SMALL, **kwargs})
    assert len(draws) == 1  # draw runs once
    return sf


def json_payload(html):
    match = re.search(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert match, "no JSON payload in the frames HTML"
    return json.loads(match.group(1))


WEBP_URI = "data:image/webp;base64,"


def frames_of(html, rendering="desktop"):
    """The base64 WebP frames of the desktop (default) or the phone rendering."""
    phone, desktop = json_payload(html)["renderings"]
    frames = (desktop if rendering == "desktop" else phone)["frames"]
    assert all(f.startswith(WEBP_URI) for f in frames)
    return [f[len(WEBP_URI):] for f in frames]


# --------------------------------------------------------------------------
# Slider
# --------------------------------------------------------------------------

def test_slider_defaults():
    s = Slider("eta", [0.1, 0.2, 0.3, 0.4])
    assert s.start_index == 1  # the middle one (rounded down)
    assert s.grid.dtype == float
    np.testing.assert_array_equal(s.grid, [0.1, 0.2, 0.3, 0.4])
    assert s.text(0.123456) == "0.123"
    assert Slider("eta", [1, 2, 3]).start_index == 1


def test_slider_start_value_and_format():
    s = Slider("eta", np.linspace(0, 1, 11), value=0.7, fmt="{:.2f}")
    assert s.start_index == 7
    assert s.text(s.grid[s.start_index]) == "0.70"


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "1eta", "values": [1, 2]}, "identifier"),
    ({"name": "learning rate", "values": [1, 2]}, "identifier"),
    ({"name": "", "values": [1, 2]}, "identifier"),
    ({"name": 3, "values": [1, 2]}, "identifier"),
    ({"name": "eta", "values": [1.0]}, "at least"),
    ({"name": "eta", "values": []}, "at least"),
    ({"name": "eta", "values": [[1, 2], [3, 4]]}, "1-D"),
    ({"name": "eta", "values": [1.0, np.nan]}, "finite"),
    ({"name": "eta", "values": [1.0, np.inf]}, "finite"),
    ({"name": "eta", "values": [1.0, 2.0, 1.0]}, "distinct"),
    ({"name": "eta", "values": [1.0, 2.0], "value": 1.5}, "not on the grid"),
], ids=["digit", "space", "empty", "int", "one", "none", "2d", "nan", "inf", "dup", "start"])
def test_slider_rejects_bad_declarations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Slider(**kwargs)


# --------------------------------------------------------------------------
# SliderFigure: construction and update
# --------------------------------------------------------------------------

def test_construction_calls_update_with_the_start_values():
    calls = []
    sf = line_figure(calls)
    assert calls  # at least once (once more to lay the figure out is fine)
    assert all(c == {"eta": 1.0, "gamma": 1.0} for c in calls)
    assert sf.values == {"eta": 1.0, "gamma": 1.0}
    assert repr(sf) == "SliderFigure(eta=1, gamma=1)"


@pytest.mark.parametrize("animated", [False, True], ids=["full_redraw", "blitting"])
def test_update_changes_the_picture_and_is_reversible(animated):
    sf = line_figure(animated=animated)
    before = sf.image("png")
    sf.update(eta=2.0)
    after = sf.image("png")
    assert after != before
    sf.update(eta=1.0)  # artists are updated in place, not added; no trail is left
    assert sf.image("png") == before


@pytest.mark.parametrize("animated", [False, True], ids=["full_redraw", "blitting"])
def test_moving_to_a_value_draws_what_starting_there_draws(animated):
    moved = line_figure(animated=animated)
    moved.update(eta=2.0, gamma=-1.0)
    moved.update(eta=0.5)
    fresh = line_figure(animated=animated, eta=0.5)
    fresh.update(gamma=-1.0)
    assert moved.image("png") == fresh.image("png")


def test_update_sets_only_the_given_values():
    calls = []
    sf = line_figure(calls)
    sf.update(gamma=-1.0)
    assert calls[-1] == {"eta": 1.0, "gamma": -1.0}
    sf.update(eta=0.5)
    assert calls[-1] == {"eta": 0.5, "gamma": -1.0}
    assert sf.values == {"eta": 0.5, "gamma": -1.0}


def test_update_rejects_unknown_sliders():
    sf = line_figure()
    with pytest.raises(ValueError, match="unknown slider"):
        sf.update(lr=0.1)
    assert sf.values == {"eta": 1.0, "gamma": 1.0}


def test_slider_figure_rejects_bad_arguments():
    s = Slider("eta", [1.0, 2.0])
    with pytest.raises(ValueError, match="draw"):
        SliderFigure("not a function", s)
    with pytest.raises(ValueError, match="Slider"):
        SliderFigure(lambda fig: (lambda eta: None))
    with pytest.raises(ValueError, match="Slider"):
        SliderFigure(lambda fig: (lambda eta: None), s, "gamma")
    with pytest.raises(ValueError, match="distinct"):
        SliderFigure(lambda fig: (lambda eta: None), s, Slider("eta", [3.0, 4.0]))
    with pytest.raises(ValueError, match="update"):
        SliderFigure(lambda fig: None, s, **SMALL)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

def test_png_image():
    sf = line_figure()
    png = sf.image("png")
    assert png.startswith(PNG_SIGNATURE)
    img = Image.open(io.BytesIO(png))
    assert img.size == (3 * 40, 2 * 40)  # figsize times dpi


def test_webp_image():
    webp = line_figure().image("webp")
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(webp)).format == "WEBP"


def test_unknown_image_format_is_rejected():
    with pytest.raises(ValueError, match="fmt"):
        line_figure().image("gif")


# --------------------------------------------------------------------------
# The static rendering
# --------------------------------------------------------------------------

def test_frames_html_has_one_frame_per_grid_point():
    sf = line_figure()
    html = sf.frames_html()
    data = json_payload(html)
    assert data["shape"] == [4, 3]
    for rendering in ("desktop", "phone"):
        frames = frames_of(html, rendering)
        assert len(frames) == 4 * 3
        for frame in frames:
            webp = base64.b64decode(frame, validate=True)
            assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
        assert len(set(frames)) == 4 * 3  # every point looks different
    assert data["texts"] == [["0.5", "1", "1.5", "2"], ["-1", "0", "1"]]
    assert data["positions"] == [[0.5, 1.0, 1.5, 2.0], [-1.0, 0.0, 1.0]]


def test_frames_are_in_the_order_the_page_script_reads_them():
    # The script computes k = k * shape[i] + index_i: row-major, first slider slowest.
    sf = line_figure()
    frames = frames_of(sf.frames_html())
    for i, eta in enumerate([0.5, 1.0, 1.5, 2.0]):
        for j, gamma in enumerate([-1.0, 0.0, 1.0]):
            sf.update(eta=eta, gamma=gamma)
            assert frames[3 * i + j] == base64.b64encode(sf.image("webp")).decode()


def decode_rgba(b64):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA"))


def test_blitted_frames_are_exact_overlays_of_the_background():
    # With blitting each frame is a lossless overlay, transparent where it shows the
    # background: background + overlay must be exactly the pixels the kernel draws.
    sf = line_figure(animated=True)
    html = sf.frames_html()
    frames = frames_of(html)
    assert len(frames) == 4 * 3
    background_b64 = re.search(r'class="optbook-background"[^>]*src="data:image/webp;base64,'
                               r'([^"]+)"', html).group(1)
    background = decode_rgba(background_b64)
    for i, eta in enumerate([0.5, 1.0, 1.5, 2.0]):
        for j, gamma in enumerate([-1.0, 0.0, 1.0]):
            overlay = decode_rgba(frames[3 * i + j])
            shown = np.where(overlay[..., 3:] == 0, background, overlay)
            sf.update(eta=eta, gamma=gamma)
            canvas = np.asarray(sf.fig.canvas.buffer_rgba())
            np.testing.assert_array_equal(shown[..., :3], canvas[..., :3])


@pytest.mark.parametrize("animated", [False, True], ids=["full_redraw", "blitting"])
def test_frames_html_is_self_contained_and_starts_at_the_start_values(animated):
    sf = line_figure(animated=animated)
    html = sf.frames_html()
    assert not re.search(r"https?:", html)
    assert "<script src" not in html
    assert html.count('<input id=') == 2 and html.count('type="range"') == 2
    assert html.count('class="optbook-frame"') == 1  # the <img> the script switches
    start = 3 * 1 + 2  # eta = 1.0 (index 1), gamma = 1.0 (index 2)
    # The desktop frame in the <img>, the phone frame in its <source> (screens < 640 px).
    phone = frames_of(html, "phone")[start]
    desktop = frames_of(html)[start]
    assert re.search(r'<source media="\(max-width: 639.98px\)" srcset="data:image/webp;base64,'
                     + re.escape(phone) + r'"[^>]*><img class="optbook-frame"[^>]*src="'
                     r'data:image/webp;base64,' + re.escape(desktop) + '"', html)
    assert re.search(r'<input [^>]*min="1.0" max="1.0"|<input [^>]*value="1.0"', html)
    assert sf.values == {"eta": 1.0, "gamma": 1.0}  # restored afterwards


def test_frames_html_escapes_labels():
    sf = SliderFigure(lambda fig: (lambda k: None), Slider("k", [1, 2], label="a<b & c"),
                      caption='say "hi"', **SMALL)
    html = sf.frames_html()
    assert "a&lt;b &amp; c" in html
    assert "a<b" not in html
    assert "say &quot;hi&quot;" in html


def test_two_figures_have_different_ids():
    html1, html2 = line_figure().frames_html(), line_figure().frames_html()
    id1 = re.search(r'id="([^"]+)"', html1).group(1)
    id2 = re.search(r'id="([^"]+)"', html2).group(1)
    assert id1 != id2


# --------------------------------------------------------------------------
# Display in Jupyter
# --------------------------------------------------------------------------

def test_mimebundle_without_frames():
    bundle = line_figure()._repr_mimebundle_()
    assert bundle["image/png"].startswith(PNG_SIGNATURE)
    assert WIDGET_MIME in bundle
    assert "model_id" in bundle[WIDGET_MIME]
    assert "text/html" not in bundle


def test_mimebundle_text_plain_is_the_figure_repr():
    # A front end that shows neither widgets nor images falls back to text/plain.
    sf = line_figure()
    assert sf._repr_mimebundle_()["text/plain"] == repr(sf)


def test_mimebundle_with_frames_when_building_the_book(monkeypatch):
    monkeypatch.setenv(FRAMES_ENV, "1")
    bundle = line_figure()._repr_mimebundle_()
    assert bundle["image/png"].startswith(PNG_SIGNATURE)
    assert len(frames_of(bundle["text/html"])) == 12


@pytest.mark.parametrize("value", ["0", "", "true"])
def test_mimebundle_frames_only_for_exactly_one(monkeypatch, value):
    monkeypatch.setenv(FRAMES_ENV, value)
    assert "text/html" not in line_figure()._repr_mimebundle_()


def test_widget_moves_update_the_image():
    sf = line_figure()
    box = sf.widget()
    *controls, image = box.children
    assert len(controls) == 2
    assert controls[0].value == 1.0 and controls[1].value == 1.0
    before = image.value
    controls[0].value = 2.0
    assert sf.values["eta"] == 2.0
    assert image.value != before
    assert image.value == sf.image("png")


# --------------------------------------------------------------------------
# Timing and robustness
# --------------------------------------------------------------------------

def test_time_updates_returns_n_positive_times_and_restores_values():
    sf = line_figure()
    times = sf.time_updates(5)
    assert times.shape == (5,)
    assert np.all(times > 0)
    assert sf.values == {"eta": 1.0, "gamma": 1.0}


@pytest.mark.parametrize("animated", [False, True], ids=["full_redraw", "blitting"])
def test_extreme_values_with_inf_and_nan_data_do_not_warn_or_raise(animated):
    def draw(fig):
        ax = fig.subplots()
        x = np.linspace(-1, 1, 50)
        (line,) = ax.plot(x, x, animated=animated)
        (dots,) = ax.plot([0.0], [0.0], "o", animated=animated)
        label = ax.text(0.0, 0.0, "", animated=animated)

        def update(eta, gamma):
            y = np.log(eta * x) / gamma  # log of negatives, 0/0 and 1/0
            line.set_data(x, y)
            dots.set_data([np.log(eta)], [np.divide(1.0, gamma)])
            label.set_text(f"{np.sqrt(eta - 1):.2f}")
            label.set_position((np.log(eta), 0.5))
            if not animated:  # with blitting, update must not change the limits
                ax.relim()
                ax.autoscale_view()

        return update

    sf = SliderFigure(draw, Slider("eta", [-1.0, 0.0, 1.0]),
                      Slider("gamma", [0.0, 1.0], value=0.0), **SMALL)
    for eta in (-1.0, 0.0, 1.0):
        for gamma in (0.0, 1.0):
            sf.update(eta=eta, gamma=gamma)
            assert sf.image("png").startswith(PNG_SIGNATURE)
    assert len(frames_of(sf.frames_html())) == 6


# --------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------

def test_figure_is_a_book_figure_with_a_png_repr():
    fig, ax = figure(figsize=(2.0, 1.5))
    assert isinstance(fig, BookFigure)
    ax.plot([0, 1], [0, 1])
    assert fig._repr_png_().startswith(PNG_SIGNATURE)


def test_figure_uses_the_book_palette():
    fig, ax = figure(figsize=(2.0, 1.5))
    (line,) = ax.plot([0, 1], [0, 1])
    assert line.get_color().lower() == COLORS["blue"].lower()
    with style():
        import matplotlib as mpl

        assert mpl.rcParams["axes.grid"] is RC["axes.grid"]


# -- live mode (the reader's browser, Pyodide) ------------------------------------------
def test_live_mode_emits_a_spec_and_renders_any_value(monkeypatch):
    from optbook import sliders as S

    monkeypatch.setenv(S.LIVE_ENV, "1")
    monkeypatch.delenv(FRAMES_ENV, raising=False)
    sf = line_figure(animated=True)
    bundle = sf._repr_mimebundle_()
    spec = bundle[S.LIVE_MIME]
    assert "text/html" not in bundle and bundle["image/png"][:4] == b"\x89PNG"
    assert [d["name"] for d in spec["sliders"]] == list(sf.values)
    for d, s in zip(spec["sliders"], sf.sliders, strict=True):
        assert d["min"] == s.grid.min() and d["max"] == s.grid.max()
        assert d["value"] == sf.values[s.name] and d["grid"] == s.grid.tolist()
        assert d["integer"] is False
    json.dumps(spec)  # travels as JSON
    # Off the grid: the page's callback draws what a fresh figure draws for that value.
    off = {"eta": float(np.mean(sf.sliders[0].grid[:2]))}
    answer = json.loads(S.render_live(spec["id"], json.dumps(off)))
    assert answer["snapped"] == [] and answer["values"]["eta"] == off["eta"]
    got = base64.b64decode(answer["png"])
    fresh = line_figure(animated=True)
    fresh.update(**off)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(got))),
                          np.asarray(Image.open(io.BytesIO(fresh.image("png")))))
    assert sf.values["eta"] == off["eta"]
    with pytest.raises(ValueError, match="unknown slider"):
        S.render_live(spec["id"], json.dumps({"nope": 1}))
    with pytest.raises(ValueError, match="finite"):
        sf.render(eta=float("nan"))


def test_live_render_clips_to_the_range_and_rounds_integer_sliders():
    calls = []

    def draw(fig):
        ax = fig.subplots()
        (line,) = ax.plot([0, 1], [0, 0], animated=True)
        ax.set_ylim(0, 40)

        def update(B, eta):
            calls.append((B, eta))
            line.set_ydata([B, B])

        return update

    sf = SliderFigure(draw, Slider("B", [2, 4, 8, 32], integer=True),
                      Slider("eta", [0.1, 0.2]), **SMALL)
    answer = sf.render(B=5.4, eta=0.15)
    assert answer["values"] == {"B": 5.0, "eta": 0.15} and answer["snapped"] == ["B"]
    assert calls[-1] == (5.0, 0.15)  # off the grid, not moved to 4 or 8
    answer = sf.render(B=100, eta=-1)
    assert answer["values"] == {"B": 32.0, "eta": 0.1}
    assert sorted(answer["snapped"]) == ["B", "eta"]
    assert sf.render(B=7)["snapped"] == [] and sf.values == {"B": 7.0, "eta": 0.1}
    assert sf.live_spec()["sliders"][0]["integer"] is True
    with pytest.raises(ValueError, match="whole numbers"):
        Slider("B", [1.5, 2.0], integer=True)


def test_live_mode_off_outside_the_browser(monkeypatch):
    from optbook import sliders as S

    monkeypatch.delenv(S.LIVE_ENV, raising=False)
    assert not S.live_mode()
    assert S.LIVE_MIME not in line_figure()._repr_mimebundle_()


def test_live_render_reports_an_update_that_fails_and_keeps_the_values():
    table = {0.0: 1.0, 1.0: 2.0, 2.0: 3.0}

    def draw(fig):
        ax = fig.subplots()
        (line,) = ax.plot([0, 1], [0, 0], animated=True)
        ax.set_ylim(0, 4)

        def update(a):
            line.set_ydata([table[a], table[a]])  # KeyError off the grid

        return update

    sf = SliderFigure(draw, Slider("a", [0.0, 1.0, 2.0]), **SMALL)
    assert sf.render(a=2.0)["snapped"] == []
    with pytest.raises(KeyError):
        sf.render(a=1.3)
    assert sf.values == {"a": 2.0}


def test_frames_html_names_the_figure_and_its_values():
    """Screen readers: the frame's alt names the figure and the values drawn; the inputs
    say their value (not their index); a status line announces moves."""
    sf = SliderFigure(lambda fig: (lambda eta, k: None),
                      Slider("eta", [0.5, 1.0, 2.0], label="step size η", fmt="{:.1f}"),
                      Slider("k", [1, 2], label="κ", value=2),
                      caption="Loss against the step", **SMALL)
    html = sf.frames_html()
    alt = re.search(r'<img class="optbook-frame" alt="([^"]*)"', html).group(1)
    assert alt == "Loss against the step, shown for step size η = 1.0, κ = 2"
    assert 'aria-valuetext="1.0"' in html and 'aria-valuetext="2"' in html
    assert 'role="status" aria-live="polite"' in html
    data = json_payload(html)
    assert data["alt"] == "Loss against the step, "
    assert 'aria-label="step size η"' in html and 'aria-label="κ"' in html


# --------------------------------------------------------------------------
# Responsive and proportional (the website on a phone and on a desktop)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("grid, track", [
    ([0.1, 0.25, 0.5, 0.9, 0.95, 1.0, 1.05], "linear"),
    ([2.0, 5.0, 20.0, 50.0], "log"),
    ([1, 2, 4, 8, 16, 32, 64], "log"),
    ([0.0, 0.3, 0.6, 0.8, 0.95], "linear"),  # a zero: never log
    ([1.0, 10.0], "linear"),  # two values: linear
])
def test_track_is_the_scale_under_which_the_grid_is_most_even(grid, track):
    s = Slider("x", grid)
    assert s.track == track
    expected = np.log10(grid) if track == "log" else np.asarray(grid, float)
    np.testing.assert_allclose(s.positions, expected)


def test_track_can_be_chosen_and_is_checked():
    assert Slider("x", [1.0, 2.0, 3.0], scale="log").track == "log"
    assert Slider("x", [1.0, 10.0, 100.0], scale="linear").track == "linear"
    with pytest.raises(ValueError, match="scale must be"):
        Slider("x", [1.0, 2.0], scale="logarithmic")
    with pytest.raises(ValueError, match="positive"):
        Slider("x", [0.0, 1.0], scale="log")
    with pytest.raises(ValueError, match=r"unbalanced \$"):
        Slider("x", [0.0, 1.0], label=r"$\eta as a multiple")


def test_range_inputs_run_over_the_values_with_the_thumb_at_the_start_value():
    sf = SliderFigure(lambda fig: (lambda b, r: None),
                      Slider("b", [1, 2, 4, 8, 16], "batch size $B$", value=4),
                      Slider("r", [0.5, 0.9, 1.0, 1.1], "$r$", value=1.1), **SMALL)
    html = sf.frames_html()
    inputs = re.findall(r"<input [^>]*>", html)
    assert len(inputs) == 2
    assert 'min="0.0" max="1.2041199826559248" step="any" value="0.6020599913279624"' \
        in inputs[0]
    assert 'min="0.5" max="1.1" step="any" value="1.1"' in inputs[1]
    assert json_payload(html)["positions"][1] == [0.5, 0.9, 1.0, 1.1]


def test_labels_are_typeset_math_and_plain_for_screen_readers():
    sf = SliderFigure(lambda fig: (lambda r: None),
                      Slider("r", [0.5, 1.0], r"$\eta$ as a multiple of $2/\lambda_{\max}$"),
                      **SMALL)
    html = sf.frames_html()
    label = re.search(r'<label class="optbook-slider-label" for="([^"]+)">(.*?)</label>',
                      html)
    assert label.group(2) == (r'<span class="math notranslate nohighlight">\(\eta\)</span> as a '
                              r'multiple of <span class="math notranslate nohighlight">'
                              r'\(2/\lambda_{\max}\)</span>')
    assert f'<input id="{label.group(1)}"' in html
    # The accessible name keeps the TeX here: the site's a11y extension makes every
    # aria-label and alt plain text (tested on the built site).
    assert r'aria-label="$\eta$ as a multiple of $2/\lambda_{\max}$"' in html


def two_panel_draw(fig):
    a, b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.5]}, sharey="row")
    (line,) = a.plot([0, 1], [0, 1], animated=True)
    b.plot([0, 1], [1, 0])
    title = fig.suptitle(" ", animated=True)

    def update(eta):
        line.set_ydata([0, eta])
        title.set_text(f"eta = {eta}: a title long enough to need two lines on a phone")

    return update


def test_phone_rendering_stacks_the_panels_in_one_column():
    sf = SliderFigure(two_panel_draw, Slider("eta", [0.5, 1.0, 2.0]), figsize=(8.0, 3.6))
    phone = sf.phone()
    assert phone is sf.phone()  # drawn once
    assert phone.fig.stack and phone.fig.panels == 2
    (a, b), (pa, pb) = sf.fig.axes[:2], phone.fig.axes[:2]
    assert a.get_position().y0 == pytest.approx(b.get_position().y0)  # a row on a desktop
    assert pa.get_position().x0 == pytest.approx(pb.get_position().x0, abs=0.05)  # stacked
    assert pa.get_position().y0 > pb.get_position().y0  # first panel on top
    assert pa.get_shared_y_axes().joined(pa, pb)  # "row" sharing became "col"
    width, height = phone.fig.canvas.get_width_height()
    assert width == 360 and height > 2 * 250
    assert phone.fig._suptitle.get_wrap()
    html = sf.frames_html()
    phone_r, desktop_r = json_payload(html)["renderings"]
    assert (phone_r["width"], desktop_r["width"]) == (360, 800)
    assert phone_r["media"] == "(max-width: 639.98px)" and desktop_r["media"] is None


def test_tick_labels_stay_readable_where_each_rendering_is_shown():
    """Tick labels of at least 10 CSS px: the desktop frames are shown from a 608-px column
    (a 640-px screen) up, the phone frames from a 328-px column (a 360-px screen)."""
    sf = SliderFigure(two_panel_draw, Slider("eta", [0.5, 1.0, 2.0]), figsize=(8.0, 3.6))
    phone_r, desktop_r = json_payload(sf.frames_html())["renderings"]
    assert desktop_r["tick_px"] * min(1, 608 / desktop_r["width"]) >= 10
    assert phone_r["tick_px"] * min(1, 328 / phone_r["width"]) >= 10
    assert desktop_r["text_px"] <= desktop_r["tick_px"]


def test_book_figure_stacks_only_a_single_row():
    with style():
        fig = BookFigure(figsize=(3, 6), stack=True)
        axes = fig.subplots(2, 2)
    assert axes.shape == (2, 2) and fig.panels == 1


def test_live_render_draws_the_phone_rendering_on_a_narrow_screen(monkeypatch):
    from optbook.sliders import LIVE_ENV, render_live

    monkeypatch.setenv(LIVE_ENV, "1")
    sf = SliderFigure(two_panel_draw, Slider("eta", [0.5, 1.0, 2.0]), figsize=(8.0, 3.6))
    spec = sf._repr_mimebundle_()["application/vnd.optbook.slider+json"]
    # 0.5, 1, 2 is even in log: its track is logarithmic, live as on the static page.
    np.testing.assert_allclose(spec["sliders"][0]["positions"], np.log10([0.5, 1.0, 2.0]))
    for phone, width in ((False, 800), (True, 360)):
        got = json.loads(render_live(spec["id"], json.dumps({"eta": 1.5}), phone=phone))
        with Image.open(io.BytesIO(base64.b64decode(got["png"]))) as im:
            assert im.size[0] == width
        assert got["values"] == {"eta": 1.5} and got["snapped"] == []
