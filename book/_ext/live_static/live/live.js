/* "Run live": the chapter's code cells, editable and run in the page by Pyodide.
 *
 * On the click, every code cell becomes a text area with a Run button at once (Shift+Enter
 * runs the cell you type in; running a cell first runs the earlier cells that have not run
 * yet), and a Web Worker (live_worker.js) starts Python, served by this site (_static/live/).
 * A run asked for while Python loads waits for it. Python runs in the worker, so the page
 * stays responsive while a cell computes; "Stop" ends the worker and starts a fresh
 * session. One Python session per page.
 *
 * A fast start (issue #18). The first cell can run (its output shows) ~3.5-4 s after the
 * click instead of ~8-11 s (Chapters 1, 2, 7, cold browser cache, a calm 2-core machine;
 * ~10 s instead of ~19 s at a load of 6): tests/test_live.py prints it per chapter. What
 * was chosen, and why:
 * - Nothing loads before the reader shows interest. A hover or focus on the button
 *   prefetches only the small files that start the runtime (the worker, live_runtime.py,
 *   pyodide.js, pyodide.asm.js: ~1.3 MB), which the worker then takes from the cache; the
 *   rest (~41 MB) loads after the click, never on idle: a reader who only reads
 *   downloads nothing, and on localhost the download was never the slow part.
 * - The worker requests everything at once, so that downloads overlap Python's start; it
 *   puts the pure wheels (sympy, optbook) on sys.path as zip files instead of unpacking
 *   them; packages no chapter uses are installed on their first import only.
 * - Most of the start was Python compiling source: the official standard library and
 *   wheels hold none of their bytecode. tools/live_assets.py now serves them compiled,
 *   and matplotlib's font list precomputed (the page rebuilt it every time).
 * - The cells become live in one layout pass (growing each text area in turn laid the page
 *   out once per cell: seconds on a long chapter).
 * - Loading a cell's imports on demand (a scan of its source) gains nothing here: every
 *   chapter's first cell imports numpy, sympy, matplotlib and optbook. Instead, once Python
 *   is ready with no run waiting, the worker imports what the page's cells import
 *   (warm-up), so that the reader's first run does not wait for them either.
 */
(function () {
  "use strict";
  var BASE = document.currentScript.src.replace(/live\.js(\?.*)?$/, "");
  var state = { py: null, cells: [], t0: 0, times: {}, session: null };
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
  button.title = "Run this chapter's code in your browser (Python by Pyodide, ~41 MB once)";
  state.status = el("span", "optbook-live-status");
  var progress = el("progress", "optbook-live-progress");
  progress.max = 2; progress.hidden = true;
  bar.append(button, progress, state.status);

  // A pointer on the button or the focus on it: fetch the small files that start the runtime.
  var PREFETCH = ["live_worker.js", "live_runtime.py", "pyodide/pyodide.js",
    "pyodide/pyodide.asm.js"];
  function prefetch() {
    button.removeEventListener("pointerenter", prefetch);
    button.removeEventListener("focus", prefetch);
    if (location.protocol === "file:") return;
    PREFETCH.forEach(function (name) {
      var link = el("link");
      link.rel = "prefetch"; link.href = BASE + name;
      document.head.append(link);
    });
  }
  button.addEventListener("pointerenter", prefetch);
  button.addEventListener("focus", prefetch);

  function mount() {
    var article = document.querySelector("article.bd-article") || document.body;
    article.insertBefore(bar, article.firstChild);
    document.body.dataset.optbookLive = "off";
    // Opened as a file, the browser lets a page start no worker and fetch no file: say how.
    if (location.protocol === "file:") {
      button.disabled = true;
      document.body.dataset.optbookLive = "unavailable";
      state.status.textContent = "Running the code here needs the site served over HTTP: " +
        "`make serve`, then open http://localhost:8000 (browsers do not let a page opened " +
        "from a file start Python).";
    }
  }

  var readyText = "", loadingText = "", waiting = 0;  // runs asked for before Python is ready
  function showLoading() {
    setStatus("loading", loadingText + (waiting ? " Your run starts when Python is ready." : ""));
  }
  // The worker and its calls: each message carries an id; the answer resolves its promise.
  var calls = {}, nextId = 0;
  function call(cmd, data) {
    return new Promise(function (ok, fail) {
      var id = ++nextId;
      calls[id] = { ok: ok, fail: fail };
      state.worker.postMessage(Object.assign({ id: id, cmd: cmd }, data));
    });
  }
  function failAll(message) {
    Object.keys(calls).forEach(function (id) { calls[id].fail(new Error(message)); });
    calls = {};
  }
  // For scripts and tests: run Python source in the session, get str() of its value.
  state.python = function (code) { return call("python", { code: code }); };

  /* Start Python in a new worker; state.session resolves when it is ready. The cells are
   * live at once: a run asked for meanwhile waits for the session. */
  function start() {
    var generation = state.generation;
    button.disabled = true; progress.hidden = false; progress.value = 0;
    state.t0 = performance.now();
    state.times = { steps: [] };
    loadingText = "Starting Python\u2026";
    showLoading();
    state.session = (async function () {
      var worker = new Worker(BASE + "live_worker.js");
      state.worker = worker;
      worker.onmessage = function (e) {
        var m = e.data;
        if (m.progress != null) {
          state.times.steps.push([m.text, Math.round(performance.now() - state.t0)]);
          progress.value = m.progress; loadingText = m.text;
          showLoading();
          return;
        }
        var c = calls[m.id];
        delete calls[m.id];
        if (c && m.error != null) c.fail(new Error(m.error));
        else if (c) c.ok(m.result);
      };
      worker.onerror = function (e) {
        e.preventDefault();
        failAll("the Python worker failed: " + (e.message || "unknown error"));
      };
      await call("start", {});
      state.times.ready = performance.now() - state.t0;
      progress.value = 2; progress.hidden = true;
      readyText = (state.restarts ? "New Python session" : "Python ready") + " (" +
        (state.times.ready / 1000).toFixed(1) + " s). Edit any cell and run it; " +
        "Shift+Enter runs the cell you are typing in.";
      if (!waiting) {
        setStatus("ready", readyText);
        warm();
      }
    })();
    state.session.catch(function (err) {
      if (generation !== state.generation) return;  // stopped while loading: a new one starts
      progress.hidden = true;
      setStatus("failed", "Python could not start: " + err.message);
    });
    if (!state.cells.length) {
      makeCellsLive();
      state.times.cells = performance.now() - state.t0;
    }
    return state.session;
  }

  // Python is ready and no run waits: import what the cells import, while the reader reads.
  // A run asked for meanwhile waits in the worker's queue behind it.
  function warm() {
    var sources = state.cells.map(function (c) { return c.code.value; });
    state.warming = call("warm", { sources: JSON.stringify(sources) }).catch(function () {});
  }

  /* Stop: Python can't be interrupted from the page without a SharedArrayBuffer (see
   * live_worker.js), so the worker ends and a new session starts (from the browser's cache).
   * Every cell is then "not run"; outputs shown stay, slider figures of the old session
   * are frozen until their cell runs again. */
  function stop() {
    if (!state.worker) return;
    state.worker.terminate();
    state.generation++;
    state.restarts = (state.restarts || 0) + 1;
    failAll("stopped");
    state.cells.forEach(function (c) { c.ran = false; c.label.textContent = "[ ]"; });
    Object.keys(state.sliders).forEach(function (id) { state.sliders[id].freeze(); });
    state.sliders = {};
    queue = Promise.resolve();
    waiting = 0;
    stopButton.hidden = true;
    start();
  }
  var stopButton = el("button", "optbook-live-stop", "\u25A0 Stop");
  stopButton.type = "button"; stopButton.hidden = true;
  stopButton.title = "Stop Python (a new session starts; run the cells again)";
  stopButton.addEventListener("click", stop);
  state.stop = stop;
  state.generation = 0;

  function makeCellsLive() {
    var runAll = el("button", "optbook-live-button", "\u25B6 Run all cells");
    runAll.type = "button";
    runAll.addEventListener("click", function () { runUpTo(state.cells.length - 1); });
    button.replaceWith(runAll);
    runAll.after(stopButton);
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
    });
    fit(state.cells.map(function (c) { return c.code; }));
  }

  /* Grow text areas to their content (hidden ones keep their rows): all writes, then all
   * reads, then all writes, so that the page is laid out once, not once per cell (which
   * took seconds on a long chapter). */
  function fit(areas) {
    areas = [].concat(areas);
    areas.forEach(function (a) { a.style.height = "auto"; });
    var heights = areas.map(function (a) { return a.offsetParent ? a.scrollHeight : null; });
    areas.forEach(function (a, i) {
      if (heights[i] != null) a.style.height = heights[i] + 4 + "px";
      else a.style.height = "";
    });
  }

  var queue = Promise.resolve();
  function runUpTo(k, force) {
    var generation = state.generation;
    waiting++;
    if (state.times.ready == null && document.body.dataset.optbookLive === "loading") {
      showLoading();
    }
    queue = queue.then(async function () {
      try {
        await state.session;
      } catch (err) {
        return;  // Python did not start: the status says why
      } finally {
        if (generation === state.generation) waiting--;
      }
      if (generation !== state.generation) return;  // stopped while Python was loading
      stopButton.hidden = false;
      for (var i = 0; i <= k && generation === state.generation; i++) {
        var c = state.cells[i];
        if (!c.ran || (i === k && force)) await runCell(c);
      }
      if (generation !== state.generation) return;  // stopped: a new session is starting
      stopButton.hidden = true;
      setStatus("ready", readyText);
    });
    return queue;
  }
  state.runUpTo = runUpTo;

  async function runCell(c) {
    setStatus("running", "Running cell " + (c.index + 1) + " of " + state.cells.length +
      "\u2026");
    c.label.textContent = "[*]"; c.cell.classList.add("optbook-live-busy");
    var t = performance.now();
    var outputs, stopped = false;
    try {  // run_cell catches Python's exceptions; this is for the runtime failing
      outputs = JSON.parse(await call("run", { source: c.code.value, number: c.index + 1 }));
    } catch (err) {
      stopped = err.message === "stopped";
      outputs = [{ error: stopped ? "Stopped" : "RuntimeError", text: stopped
        ? "Stopped: this cell did not finish. Python restarts with a new session."
        : "The Python runtime failed: " + err.message }];
    }
    c.ran = !stopped; c.runs = (c.runs || 0) + 1; c.ms = performance.now() - t;
    if (c.index === 0 && state.times.firstCell == null && !stopped) {
      state.times.firstCell = performance.now() - state.t0;  // the click to its output
    }
    c.label.textContent = stopped ? "[ ]"
      : "[" + (c.index + 1) + "] " + (c.ms / 1000).toFixed(2) + " s";
    c.cell.classList.remove("optbook-live-busy");
    c.out.replaceChildren();
    c.errors = 0;
    // A figure's alt text: the static page's alt for the same figure of this cell, in order.
    c.alts = c.staticOut ? Array.prototype.map.call(
      c.staticOut.querySelectorAll("img:not(.optbook-slider img)"), function (i) { return i.alt; })
      : [];
    c.images = 0;
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
      img.alt = c.alts[c.images++] || "Figure drawn by this cell's code (no description)";
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
   * slider's name, label, grid, min, max, value, integer) and its first frame. Each slider is
   * a range input that steps through the grid (as the static frames do) and a number input
   * that takes any value in [min, max]; a move asks the page's Python for the figure at the
   * new values (slider_render -> SliderFigure.render: the blitting update and a PNG), at most
   * once per animation frame, and swaps the image. Python answers with the values it drew
   * (clipped to the range, rounded for an integer slider), which the inputs then show.
   * Every update's time (Python call to image swapped) goes to optbookLive.sliders[id].times.
   */
  var SLIDER_MIME = "application/vnd.optbook.slider+json";
  // Below this width the figure is drawn for a phone (panels stacked), as the static frames.
  var phoneScreen = window.matchMedia("(max-width: 639.98px)");
  state.sliders = {};
  function nearest(grid, v) {
    var best = 0;
    grid.forEach(function (g, i) { if (Math.abs(g - v) < Math.abs(grid[best] - v)) best = i; });
    return best;
  }
  // Arrow, Page, Home and End keys step through the grid (in the order of the track).
  function gridKeys(range, positions, pick) {
    var order = positions.map(function (_, j) { return j; })
      .sort(function (a, b) { return positions[a] - positions[b]; });
    var STEP = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };
    range.addEventListener("keydown", function (e) {
      var n = order.length, rank = order.indexOf(nearest(positions, +range.value)), to;
      if (e.key === "Home") to = 0;
      else if (e.key === "End") to = n - 1;
      else if (e.key in STEP) to = rank + STEP[e.key];
      else if (e.key === "PageUp" || e.key === "PageDown") {
        to = rank + (e.key === "PageUp" ? 1 : -1) * Math.max(1, Math.round(n / 10));
      } else return;
      e.preventDefault();
      pick(order[Math.min(n - 1, Math.max(0, to))]);
    });
  }
  function slider(spec, png) {
    var root = el("div", "optbook-live-slider");
    root.dataset.sliderId = spec.id;
    var values = {}, pending = false, inputs = {};
    var s = { id: spec.id, spec: spec, root: root, values: values, times: [], moves: 0,
      error: null };
    state.sliders[spec.id] = s;
    spec.sliders.forEach(function (d) {
      values[d.name] = d.value;
      var row = el("label", "optbook-live-slider-row");
      var name = el("span", "optbook-live-slider-label");
      name.innerHTML = math(escapeHtml(d.label));
      // The track is proportional to the value (or its log: positions), as on the static page.
      var pos = d.positions || d.grid;
      var range = el("input"); range.type = "range";
      range.min = Math.min.apply(null, pos); range.max = Math.max.apply(null, pos);
      range.step = "any";
      range.value = pos[nearest(d.grid, d.value)];
      var drawn = el("span", "optbook-live-drawn");
      drawn.setAttribute("aria-live", "polite");
      var num = el("input"); num.type = "number";
      num.min = d.min; num.max = d.max; num.step = d.integer ? 1 : "any"; num.value = d.value;
      num.title = "any value from " + d.min + " to " + d.max + ", computed live";
      [range, num].forEach(function (i) {
        i.dataset.name = d.name; i.setAttribute("aria-label", d.name);
      });
      function pick(j) {
        range.value = pos[j]; num.value = d.grid[j]; move(d.name, d.grid[j]);
      }
      range.addEventListener("input", function () { pick(nearest(pos, +range.value)); });
      gridKeys(range, pos, pick);
      num.addEventListener("input", function () {
        if (num.value === "" || !isFinite(+num.value)) return;
        range.value = pos[nearest(d.grid, +num.value)]; move(d.name, +num.value);
      });
      // Leaving the box after a value outside the range: it shows the value drawn.
      num.addEventListener("change", function () {
        if (s.drawn && d.name in s.drawn) num.value = s.drawn[d.name];
      });
      inputs[d.name] = { range: range, num: num, grid: d.grid, pos: pos, drawn: drawn };
      row.append(name, range, num, drawn);
      root.append(row);
    });
    var img = el("img", "optbook-live-slider-image");
    img.alt = spec.caption || "slider figure";
    if (png) img.src = "data:image/png;base64," + png;
    // The update's error, if a value makes it fail: shown under the figure, as a cell's.
    var problem = el("pre", "optbook-live-error");
    problem.hidden = true;
    root.append(img, problem);
    // One redraw in flight at a time; moves meanwhile are merged into the next one.
    var busy = false, dirty = false;
    function move(name, v) {
      values[name] = v;
      dirty = true;
      if (pending || busy) return;
      pending = true;
      requestAnimationFrame(redraw);
    }
    async function redraw() {
      pending = false;
      if (!dirty || s.frozen) return;
      dirty = false; busy = true;
      var t = performance.now();
      try {
        var got = JSON.parse(await call("slider", { figure: spec.id,
          values: JSON.stringify(values), phone: phoneScreen.matches }));
        if (got.error) throw new Error(got.error);
        img.src = "data:image/png;base64," + got.png;
        s.error = null; s.drawn = got.values; s.snapped = got.snapped;
        problem.hidden = true;
        // A value outside the range, a fraction for an integer slider: show what was drawn.
        Object.keys(inputs).forEach(function (n) {
          inputs[n].drawn.textContent = got.snapped.indexOf(n) >= 0
            ? "drawn at " + got.values[n] + " (the nearest value it can draw)" : "";
        });
        got.snapped.forEach(function (n) {
          var box = inputs[n].num;
          if (document.activeElement !== box) box.value = got.values[n];
          inputs[n].range.value = inputs[n].pos[nearest(inputs[n].grid, got.values[n])];
          values[n] = got.values[n];
        });
        s.times.push(performance.now() - t);
        s.moves++;
        root.dataset.moves = s.moves;
      } catch (err) {
        s.error = String(err.message || err) || "error";
        root.dataset.error = s.error.trim().split("\n").slice(-1)[0];
        if (err.message !== "stopped") {  // Stop freezes the figure; that says enough
          problem.textContent = s.error; problem.hidden = false;
          console.warn("slider " + spec.id + ": " + s.error);
        }
      } finally {
        busy = false;
        if (dirty && !pending) { pending = true; requestAnimationFrame(redraw); }
      }
    }
    // On a phone, the first picture is redrawn at once in the phone rendering.
    if (phoneScreen.matches) { dirty = true; pending = true; requestAnimationFrame(redraw); }
    s.freeze = function () {  // its Python session ended (Stop)
      s.frozen = true;
      root.classList.add("optbook-live-frozen");
      root.title = "Python restarted: run this cell again to move these sliders";
      root.querySelectorAll("input").forEach(function (i) { i.disabled = true; });
    };
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
    // a MyST target line "(label)=" names a check on the static page; nothing to show live
    src = src.replace(/^\([\w-]+\)=\s*$/mg, "");
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
  // {uses}`text <label>`: a link to an earlier result (a verdict's hypotheses) where the label
  // is on this page, plain text otherwise (the static page has the cross-page links).
  function inline(s) {
    return math(s).replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/\{uses\}`([^`<]+) <([\w-]+)>`/g, function (m, text, id) {
        return document.getElementById(id) ? "<a href=\"#" + id + "\">" + text + "</a>"
          : "<span>" + text + "</span>";
      });
  }

  button.addEventListener("click", function () { start(); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
