/* The Python of "Run live", in a Web Worker: the page's thread only draws.
 *
 * Started by live.js when the reader clicks "Run live". It loads Pyodide (served by this
 * site, next to this file), numpy, matplotlib and their dependencies, the sympy, mpmath and
 * optbook wheels, and live_runtime.py; then it runs cells and redraws slider figures on
 * request. A long computation keeps this thread busy, never the page: the reader scrolls,
 * reads and types meanwhile, and "Stop" ends the worker (Pyodide's interrupt would need a
 * SharedArrayBuffer, which browsers give only to cross-origin-isolated pages; a static host
 * does not send those headers).
 *
 * Messages in:  {id, cmd: "start" | "run" | "slider" | "python", ...}
 * Messages out: {id, result} or {id, error}; while starting, {progress: k, text}.
 */
/* global loadPyodide */
"use strict";
var BASE = self.location.href.replace(/live_worker\.js(\?.*)?$/, "");
importScripts(BASE + "pyodide/pyodide.js");
var py = null;

function progress(k, text) { self.postMessage({ progress: k, text: text }); }

async function start() {
  progress(0, "Loading Python\u2026");
  var manifest = await (await fetch(BASE + "manifest.json")).json();
  py = await loadPyodide({ indexURL: BASE + "pyodide/" });
  progress(1, "Loading numpy, matplotlib\u2026");
  await py.loadPackage(manifest.packages, { messageCallback: function () {} });
  progress(2, "Installing sympy and optbook\u2026");
  var files = await Promise.all(manifest.wheels.map(async function (w) {
    var r = await fetch(BASE + "wheels/" + w);
    if (!r.ok) throw new Error(w + ": HTTP " + r.status);
    return [w.split("?")[0], new Uint8Array(await r.arrayBuffer())];
  }));
  progress(3, "Starting the session\u2026");
  py.runPython(await (await fetch(BASE + "live_runtime.py")).text());
  py.FS.mkdirTree("/tmp/wheels");
  var install = py.globals.get("install_wheel");
  files.forEach(function (f) {
    py.FS.writeFile("/tmp/wheels/" + f[0], f[1]);
    install("/tmp/wheels/" + f[0]);
  });
  install.destroy();
  // Import the heavy modules now (matplotlib builds its font cache on first import),
  // so that the first cell runs as fast as the others.
  progress(4, "Importing numpy, sympy, matplotlib and optbook\u2026");
  py.runPython("warm_up()");
  return "ready";
}

function call(name, args) {
  var f = py.globals.get(name);
  try { return f.apply(null, args); } finally { f.destroy(); }
}

self.onmessage = async function (e) {
  var m = e.data;
  try {
    var result;
    if (m.cmd === "start") result = await start();
    else if (m.cmd === "run") result = call("run_cell", [m.source, m.number]);
    else if (m.cmd === "slider") result = call("slider_render", [m.figure, m.values]);
    else if (m.cmd === "python") result = String(py.runPython(m.code));
    else throw new Error("unknown command " + m.cmd);
    self.postMessage({ id: m.id, result: result });
  } catch (err) {
    self.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
};
