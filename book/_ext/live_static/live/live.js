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
    if (o.mime === "image/png" || o.mime === "image/jpeg") {
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
