/* optbook's slider figures on the static site: no kernel, a picture per grid point.
 *
 * src/optbook/sliders.py (SliderFigure.frames_html) writes, for each figure, one range input
 * per slider, two stacked <picture> layers (a background and the frame over it) and a JSON
 * block: the grids' shape, each value's read-out and track position, and two renderings of
 * every frame (a phone's, chosen by the <source>'s media query, and a desktop's). The site's
 * build (book/_ext/slider_frames.py) has moved the frames into files. This script:
 *  - snaps each thumb to the nearest grid value (the track is proportional to the value, or
 *    to its logarithm), and steps through the grid with the arrow, Page and Home/End keys;
 *  - swaps the frame's sources, rewrites the read-out, aria-valuetext, the frame's alt text
 *    and a polite status line that announces the values;
 *  - fetches the figure's frames when it comes within a screen of the viewport, so that
 *    moves are instant and the page's first load carries none of them.
 */
(function () {
  "use strict";

  function nearest(positions, x) {
    var best = 0;
    for (var j = 1; j < positions.length; j++) {
      if (Math.abs(positions[j] - x) < Math.abs(positions[best] - x)) best = j;
    }
    return best;
  }

  function setUp(root) {
    var d = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
    var ins = Array.prototype.slice.call(root.querySelectorAll("input[type=range]"));
    var outs = root.querySelectorAll("output");
    var frame = root.querySelector("img.optbook-frame");
    var source = frame.parentNode.querySelector("source");
    var status = root.querySelector("[role=status]");
    var phone = d.renderings[0], wide = d.renderings[1];
    // Grid indices in the order of their track positions (a grid need not be sorted).
    var order = d.positions.map(function (p) {
      return p.map(function (_, j) { return j; }).sort(function (a, b) { return p[a] - p[b]; });
    });
    var index = ins.map(function (input, i) { return nearest(d.positions[i], +input.value); });

    function show() {
      var k = 0, said = [];
      ins.forEach(function (input, i) {
        var text = d.texts[i][index[i]];
        k = k * d.shape[i] + index[i];
        input.value = String(d.positions[i][index[i]]);
        outs[i].textContent = text;
        input.setAttribute("aria-valuetext", text);
        said.push(input.getAttribute("aria-label") + " = " + text);
      });
      source.srcset = phone.frames[k];
      frame.src = wide.frames[k];
      frame.alt = d.alt + "shown for " + said.join(", ");
      status.textContent = said.join(", ");
    }

    var PAGE = { PageUp: 1, PageDown: -1 }, STEP = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1,
      ArrowDown: -1 };
    ins.forEach(function (input, i) {
      input.addEventListener("input", function () {
        index[i] = nearest(d.positions[i], +input.value);
        show();
      });
      input.addEventListener("keydown", function (e) {
        var n = order[i].length, rank = order[i].indexOf(index[i]), to;
        if (e.key === "Home") to = 0;
        else if (e.key === "End") to = n - 1;
        else if (e.key in STEP) to = rank + STEP[e.key];
        else if (e.key in PAGE) to = rank + PAGE[e.key] * Math.max(1, Math.round(n / 10));
        else return;
        e.preventDefault();
        index[i] = order[i][Math.min(n - 1, Math.max(0, to))];
        show();
      });
    });

    // Fetch this figure's frames (for the rendering on screen) once it nears the viewport.
    var near = false, query = window.matchMedia(phone.media);
    function prefetch() {
      var r = query.matches ? phone : wide;
      [r.background].concat(r.frames).forEach(function (src) {
        if (src && src.indexOf("data:") !== 0) { new Image().src = src; }
      });
    }
    if ("IntersectionObserver" in window) {
      var watch = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) {
          watch.disconnect();
          near = true;
          prefetch();
        }
      }, { rootMargin: "100% 0px" });
      watch.observe(root);
    } else {
      near = true;
      prefetch();
    }
    query.addEventListener("change", function () { if (near) prefetch(); });
  }

  function start() {
    document.querySelectorAll("div.optbook-slider").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
