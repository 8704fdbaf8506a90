/* The Python of "Run live", in a Web Worker: the page's thread only draws.
 *
 * Started by live.js when the reader clicks "Run live". Everything it needs is requested at
 * once, so that downloads overlap Python's start: the manifest, live_runtime.py and the pure
 * wheels (sympy, mpmath, pygments, optbook) by this script, and Pyodide's core with numpy,
 * matplotlib and their dependencies by loadPyodide({packages}), which fetches the packages
 * while Python boots. The pure wheels are not unpacked: they go on sys.path as zip files
 * (zipimport), so a module costs something only when a cell imports it. The standard
 * library and the wheels are served compiled to bytecode (tools/live_assets.py), so imports
 * do not compile Python source here. Then it runs cells and redraws slider figures on
 * request. A long computation keeps this thread busy, never the page: the reader scrolls,
 * reads and types meanwhile, and "Stop" ends the worker (Pyodide's interrupt would need a
 * SharedArrayBuffer, which browsers give only to cross-origin-isolated pages; a static host
 * does not send those headers).
 *
 * Messages in:  {id, cmd: "start" | "warm" | "run" | "slider" | "python", ...}; the page
 *               sends nothing before "start" has answered.
 * Messages out: {id, result} or {id, error}; while starting, {progress: k, text}.
 */
/* global loadPyodide */
"use strict";
var BASE = self.location.href.replace(/live_worker\.js(\?.*)?$/, "");
// Requested before pyodide.js is even read: the manifest names everything else.
var manifest = fetch(BASE + "manifest.json", { cache: "no-cache" }).then(function (r) {
  if (!r.ok) throw new Error("manifest.json: HTTP " + r.status);
  return r.json();
});
var runtime = fetch(BASE + "live_runtime.py").then(function (r) { return r.text(); });
[manifest, runtime].forEach(function (p) { p.catch(function () {}); });  // start() reports it
importScripts(BASE + "pyodide/pyodide.js");
var py = null;

function progress(k, text) { self.postMessage({ progress: k, text: text }); }

function bytes(url) {
  return fetch(BASE + url).then(function (r) {
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.arrayBuffer();
  });
}

async function start() {
  progress(0, "Loading Python, numpy and matplotlib\u2026");
  var m = await manifest;
  var wheels = m.wheels.map(function (w) {  // all at once, while Python starts
    return bytes(w).then(function (b) { return [w.split("?")[0].split("/").pop(), b]; });
  });
  wheels.forEach(function (w) { w.catch(function () {}); });  // awaited below
  py = await loadPyodide({
    indexURL: BASE + "pyodide/", lockFileURL: BASE + m.lock, stdLibURL: BASE + m.stdlib,
    packages: m.packages,
  });
  progress(1, "Adding sympy and optbook\u2026");
  py.FS.mkdirTree(m.mount);
  var paths = [];
  (await Promise.all(wheels)).forEach(function (w) {
    py.FS.writeFile(m.mount + "/" + w[0], new Uint8Array(w[1]));
    paths.push(m.mount + "/" + w[0]);
  });
  py.runPython(await runtime);
  call("mount", [JSON.stringify(paths), JSON.stringify(m.on_first_import)]);
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
    else if (m.cmd === "warm") result = call("warm_up", [m.sources]);
    else if (m.cmd === "run") result = call("run_cell", [m.source, m.number]);
    else if (m.cmd === "slider") result = call("slider_render", [m.figure, m.values, !!m.phone]);
    else if (m.cmd === "python") result = String(py.runPython(m.code));
    else throw new Error("unknown command " + m.cmd);
    self.postMessage({ id: m.id, result: result });
  } catch (err) {
    self.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
};
