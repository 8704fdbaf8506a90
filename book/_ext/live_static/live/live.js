/* "Run live": the chapter's code cells, editable and run in the page by Pyodide.
 *
 * Nothing of the runtime loads before the reader clicks the button. Then: Pyodide
 * (served by this site, _static/live/pyodide/), numpy, matplotlib and their
 * dependencies (pyodide-lock.json), the sympy, mpmath and optbook wheels, and
 * live_runtime.py, which runs a cell and returns its outputs. One Python session
 * per page; every code cell becomes a text area with a Run button (Shift+Enter);
 * running a cell first runs the earlier cells that have not run yet.
 */
(function () {
  "use strict";
  var BASE = document.currentScript.src.replace(/live\.js(\?.*)?$/, "");
  var state = { py: null, cells: [], t0: 0, times: {} };
  window.optbookLive = state;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function setStatus(phase, text) {
    document.body.dataset.optbookLive = phase;
    state.status.textContent = text;
  }

  var bar = el("div", "optbook-live-bar");
  var button = el("button", "optbook-live-button", "\u25B6 Run live");
  button.type = "button";
  button.title = "Run this chapter's code in your browser (Python by Pyodide, ~34 MB once)";
  state.status = el("span", "optbook-live-status");
  var progress = el("progress", "optbook-live-progress");
  progress.max = 5; progress.hidden = true;
  bar.append(button, progress, state.status);

  function mount() {
    var article = document.querySelector("article.bd-article") || document.body;
    article.insertBefore(bar, article.firstChild);
    document.body.dataset.optbookLive = "off";
  }

  async function start() {
    button.disabled = true; progress.hidden = false;
    state.t0 = performance.now();
    try {
      state.times.steps = [];
      var step = function (k, text) {
        state.times.steps.push([text, Math.round(performance.now() - state.t0)]);
        progress.value = k; setStatus("loading", text);
      };
      step(0, "Loading Python\u2026");
      var manifest = await (await fetch(BASE + "manifest.json")).json();
      await new Promise(function (ok, fail) {
        var s = el("script"); s.src = BASE + "pyodide/pyodide.js";
        s.onload = ok; s.onerror = function () { fail(new Error("pyodide.js did not load")); };
        document.head.append(s);
      });
      var py = await loadPyodide({ indexURL: BASE + "pyodide/" });
      step(1, "Loading numpy, matplotlib\u2026");
      await py.loadPackage(manifest.packages, { messageCallback: function () {} });
      step(2, "Installing sympy and optbook\u2026");
      py.FS.mkdirTree("/tmp/wheels");
      var files = await Promise.all(manifest.wheels.map(async function (w) {
        var r = await fetch(BASE + "wheels/" + w);
        if (!r.ok) throw new Error(w + ": HTTP " + r.status);
        return [w.split("?")[0], new Uint8Array(await r.arrayBuffer())];
      }));
      step(3, "Starting the session\u2026");
      py.runPython(await (await fetch(BASE + "live_runtime.py")).text());
      var install = py.globals.get("install_wheel");
      files.forEach(function (f) {
        py.FS.writeFile("/tmp/wheels/" + f[0], f[1]);
        install("/tmp/wheels/" + f[0]);
      });
      install.destroy();
      // Import the heavy modules now (matplotlib builds its font cache on first import),
      // so that the first cell runs as fast as the others.
      step(4, "Importing numpy, sympy, matplotlib and optbook\u2026");
      await new Promise(function (ok) { setTimeout(ok, 30); });
      py.runPython("warm_up()");
      state.py = py; state.run = py.globals.get("run_cell");
      state.times.ready = performance.now() - state.t0;
      progress.value = 5; progress.hidden = true;
      setStatus("ready", "Python ready (" + (state.times.ready / 1000).toFixed(1) +
        " s). Edit any cell and run it; Shift+Enter runs the cell you are typing in.");
      makeCellsLive();
    } catch (err) {
      progress.hidden = true;
      setStatus("failed", "Python could not start: " + err.message);
      throw err;
    }
  }

  function makeCellsLive() {
    var runAll = el("button", "optbook-live-button", "\u25B6 Run all cells");
    runAll.type = "button";
    runAll.addEventListener("click", function () { runUpTo(state.cells.length - 1); });
    button.replaceWith(runAll);
    document.querySelectorAll("div.cell").forEach(function (cell) {
      var input = cell.querySelector(".cell_input");
      var pre = input && input.querySelector("pre");
      if (!pre) return;
      var c = { cell: cell, ran: false, index: state.cells.length };
      var source = pre.textContent.replace(/\n$/, "");
      c.code = el("textarea", "optbook-live-code");
      c.code.value = source; c.code.spellcheck = false; c.code.wrap = "off";
      c.code.rows = source.split("\n").length + 1;
      c.code.addEventListener("input", function () { fit(c.code); });
      c.code.setAttribute("aria-label", "code cell " + (c.index + 1));
      c.code.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && e.shiftKey) { e.preventDefault(); runUpTo(c.index, true); }
      });
      var tools = el("div", "optbook-live-tools");
      c.button = el("button", "optbook-live-run", "\u25B6 Run");
      c.button.type = "button";
      c.button.addEventListener("click", function () { runUpTo(c.index, true); });
      c.label = el("span", "optbook-live-count", "[ ]");
      tools.append(c.button, c.label);
      var highlight = pre.closest("div.highlight") || pre;
      highlight.hidden = true;
      highlight.after(c.code, tools);
      c.out = el("div", "optbook-live-output mathjax_process");
      var staticOut = cell.querySelector(".cell_output");
      c.staticOut = staticOut;
      if (staticOut) staticOut.before(c.out); else cell.append(c.out);
      state.cells.push(c);
      fit(c.code);
    });
  }

  function fit(area) {  // grow a text area to its content (hidden ones keep their rows)
    if (!area.offsetParent) return;
    area.style.height = "auto";
    area.style.height = area.scrollHeight + 4 + "px";
  }

  var queue = Promise.resolve();
  function runUpTo(k, force) {
    queue = queue.then(async function () {
      for (var i = 0; i <= k; i++) {
        var c = state.cells[i];
        if (!c.ran || (i === k && force)) await runCell(c);
      }
      document.body.dataset.optbookLive = "ready";
    });
    return queue;
  }
  state.runUpTo = runUpTo;

  async function runCell(c) {
    document.body.dataset.optbookLive = "running";
    c.label.textContent = "[*]"; c.cell.classList.add("optbook-live-busy");
    // Let the page paint the busy state: Python runs on this thread.
    await new Promise(function (ok) { requestAnimationFrame(function () { setTimeout(ok, 0); }); });
    var t = performance.now();
    var outputs;
    try {  // run_cell catches Python's exceptions; this is for the runtime failing
      outputs = JSON.parse(state.run(c.code.value, c.index + 1));
    } catch (err) {
      outputs = [{ error: "RuntimeError", text: "The Python runtime failed: " + err.message }];
    }
    c.ran = true; c.runs = (c.runs || 0) + 1; c.ms = performance.now() - t;
    c.label.textContent = "[" + (c.index + 1) + "] " + (c.ms / 1000).toFixed(2) + " s";
    c.cell.classList.remove("optbook-live-busy");
    c.out.replaceChildren();
    c.errors = 0;
    outputs.forEach(function (o) { c.out.append(render(o, c)); });
    if (c.staticOut) c.staticOut.hidden = true;
    if (window.MathJax && MathJax.typesetPromise) await MathJax.typesetPromise([c.out]);
  }

  function render(o, c) {
    if (o.error) {
      c.errors++;
      return el("pre", "optbook-live-error", o.text);
    }
    if (o.stream) return el("pre", "optbook-live-" + o.stream, o.text);
    var d = el("div", "optbook-live-mime");
    d.dataset.mime = o.mime;
    if (o.mime === SLIDER_MIME) {
      d.append(slider(o.data, o.png));
      if (state.times.figure == null) state.times.figure = performance.now() - state.t0;
    } else if (o.mime === "image/png" || o.mime === "image/jpeg") {
      var img = el("img");
      img.src = "data:" + o.mime + ";base64," + o.data;
      img.alt = "figure";
      d.append(img);
      if (state.times.figure == null) state.times.figure = performance.now() - state.t0;
    } else if (o.mime === "text/html" || o.mime === "image/svg+xml") {
      d.innerHTML = o.data;
      d.querySelectorAll("script").forEach(function (s) { s.remove(); });
    } else if (o.mime === "text/markdown") {
      d.innerHTML = markdown(o.data);
    } else if (o.mime === "text/latex") {
      d.innerHTML = math(escapeHtml(o.data));
    } else {
      d.append(el("pre", "optbook-live-plain", o.data));
    }
    return d;
  }

  /* A live slider figure: optbook's SliderFigure in live mode sends a spec (id, and each
   * slider's name, label, min, max, step, grid, value) and its first frame. Each slider is a
   * range input and a number input (any value, on the grid or not); a move asks the page's
   * Python for the figure at the new values (slider_render -> SliderFigure.render: the
   * blitting update and a PNG), at most once per animation frame, and swaps the image.
   * Every update's time (Python call to image swapped) goes to optbookLive.sliders[id].times.
   */
  var SLIDER_MIME = "application/vnd.optbook.slider+json";
  state.sliders = {};
  function slider(spec, png) {
    var root = el("div", "optbook-live-slider");
    root.dataset.sliderId = spec.id;
    var values = {}, pending = false;
    var s = { id: spec.id, spec: spec, root: root, values: values, times: [], moves: 0,
      error: null };
    state.sliders[spec.id] = s;
    spec.sliders.forEach(function (d) {
      values[d.name] = d.value;
      var row = el("label", "optbook-live-slider-row");
      var name = el("span", "optbook-live-slider-label");
      name.innerHTML = math(escapeHtml(d.label));
      var range = el("input"); range.type = "range";
      var num = el("input"); num.type = "number";
      [range, num].forEach(function (i) {
        i.min = d.min; i.max = d.max; i.step = d.step; i.value = d.value;
        i.dataset.name = d.name; i.setAttribute("aria-label", d.name);
      });
      num.step = "any";
      range.addEventListener("input", function () { num.value = range.value; move(d.name, +range.value); });
      num.addEventListener("input", function () {
        if (num.value === "" || !isFinite(+num.value)) return;
        range.value = num.value; move(d.name, +num.value);
      });
      row.append(name, range, num);
      root.append(row);
    });
    var img = el("img", "optbook-live-slider-image");
    img.alt = spec.caption || "slider figure";
    if (png) img.src = "data:image/png;base64," + png;
    root.append(img);
    var render = state.py.globals.get("slider_render");
    function move(name, v) {
      values[name] = v;
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        var t = performance.now();
        try {
          var got = JSON.parse(render(spec.id, JSON.stringify(values)));
          img.src = "data:image/png;base64," + got.png;
          s.error = null; s.drawn = got.values; s.snapped = got.snapped;
          // A chapter that precomputed its grid draws the nearest grid value: show it.
          got.snapped.forEach(function (n) {
            var box = root.querySelector('input[type=number][data-name="' + n + '"]');
            box.value = got.values[n];
            box.title = "this figure is precomputed on a grid: nearest value drawn";
          });
          root.classList.toggle("optbook-live-snapped", got.snapped.length > 0);
        } catch (err) {
          s.error = String(err.message || err) || "error";
          root.dataset.error = s.error.trim().split("\n").slice(-1)[0];
          console.warn("slider " + spec.id + ": " + s.error);
          return;
        }
        s.times.push(performance.now() - t);
        s.moves++;
        root.dataset.moves = s.moves;
      });
    }
    s.img = img;
    s.set = function (name, v) {  // for tests and scripts: as if the reader typed v
      var num = root.querySelector('input[type=number][data-name="' + name + '"]');
      num.value = v;
      num.dispatchEvent(new Event("input", { bubbles: true }));
    };
    return root;
  }

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  // $$..$$ and $..$ to MathJax's \[..\] and \(..\).
  function math(s) {
    return s.replace(/\$\$([\s\S]+?)\$\$/g, "\\[$1\\]").replace(/\$([^$\n]+?)\$/g, "\\($1\\)");
  }
  // The Markdown that cells emit: display math, tables, lists, paragraphs (raw HTML kept).
  function markdown(src) {
    var out = [], blocks = src.replace(/\$\$([\s\S]+?)\$\$/g, function (m) {
      return "\n\n" + m.replace(/\n/g, " ") + "\n\n";
    }).split(/\n\s*\n/);
    blocks.forEach(function (b) {
      var lines = b.trim().split("\n");
      if (!b.trim()) return;
      if (lines.every(function (l) { return /^\s*\|/.test(l); })) {
        var rows = lines.filter(function (l) { return !/^\s*\|[\s:|-]+\|\s*$/.test(l); });
        out.push("<table class=\"table\">" + rows.map(function (l, i) {
          var tag = i === 0 ? "th" : "td";
          return "<tr>" + l.trim().replace(/^\||\|$/g, "").split("|").map(function (x) {
            return "<" + tag + ">" + inline(x.trim()) + "</" + tag + ">";
          }).join("") + "</tr>";
        }).join("") + "</table>");
      } else if (lines.every(function (l) { return /^\s*[-*] /.test(l); })) {
        out.push("<ul>" + lines.map(function (l) {
          return "<li>" + inline(l.replace(/^\s*[-*] /, "")) + "</li>";
        }).join("") + "</ul>");
      } else {
        out.push("<p>" + inline(lines.join("\n")) + "</p>");
      }
    });
    return out.join("\n");
  }
  function inline(s) {
    return math(s).replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  }

  button.addEventListener("click", function () { start(); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
