// optbook (book/_ext/a11y.py): search snippets show the page's prose, its math as plain text.
(function () {
  var T = __TABLES__;
  function group(s, i) {
    while (s[i] === " ") i++;
    if (i >= s.length) return ["", i];
    if (s[i] !== "{") {
      if (s[i] === "\\") { var m = /^\\([A-Za-z]+|.)/.exec(s.slice(i)); return [m[0], i + m[0].length]; }
      return [s[i], i + 1];
    }
    var depth = 0;
    for (var j = i; j < s.length; j++) {
      if (s[j] === "{") depth++; else if (s[j] === "}") depth--;
      if (depth === 0) return [s.slice(i + 1, j), j + 1];
    }
    return [s.slice(i + 1), s.length];
  }
  function script(t, table, mark) {
    if (t && t.split("").every(function (c) { return c in table; }))
      return t.split("").map(function (c) { return table[c]; }).join("");
    var bracketed = t[0] === "(" && t[t.length - 1] === ")";
    return t.length > 1 && !bracketed ? mark + "(" + t + ")" : mark + t;
  }
  function plain(tex) {
    var s = tex.replace(/\\\(|\\\)|\\\[|\\\]|\$\$?/g, ""), out = [], i = 0, r, a, b;
    while (i < s.length) {
      var c = s[i];
      if (c === "\\") {
        var m = /^\\([A-Za-z]+|.)/.exec(s.slice(i)) || ["\\", ""], name = m[1];
        i += m[0].length;
        if (/^[tdc]?frac$/.test(name)) {
          r = group(s, i); a = plain(r[0]); r = group(s, r[1]); b = plain(r[0]); i = r[1];
          var w = function (t) { return t.length <= 1 || /^[A-Za-z0-9]+$/.test(t) ? t : "(" + t + ")"; };
          out.push(w(a) + "/" + w(b));
        } else if (name === "sqrt") {
          r = group(s, i); a = plain(r[0]); i = r[1]; out.push(a.length <= 1 ? "√" + a : "√(" + a + ")");
        } else if (name in T.fonts) {
          r = group(s, i); i = r[1];
          out.push(plain(r[0]).split("").map(function (ch) { return T.fonts[name][ch] || ch; }).join(""));
        } else if (name in T.accents) {
          r = group(s, i); a = plain(r[0]); i = r[1]; out.push(a.length === 1 ? a + T.accents[name] : a);
        } else if (T.styles.indexOf(name) >= 0) {
          if (s[i] === "*") i++;
          r = group(s, i); i = r[1]; out.push(plain(r[0]));
        } else if (T.dropped.indexOf(name) >= 0) {
          if (name === "label" || name === "tag") i = group(s, i)[1];
        } else if (T.relations.indexOf(name) >= 0) out.push(" " + T.symbols[name] + " ");
        else if (name in T.symbols) out.push(T.symbols[name]);
        else out.push(name);
      } else if (c === "^" || c === "_") {
        var before = i ? s[i - 1] : "", word = /^[A-Za-z]+/.exec(s.slice(i + 1));
        var ascii = before.charCodeAt(0) < 128 || before === "";
        if (c === "_" && word && word[0].length > 1 && ascii) { out.push(c); i++; continue; }
        if (c === "_" && word && !ascii && before.toLowerCase() !== before.toUpperCase()) {
          a = word[0]; i += 1 + word[0].length;  // λ_max: the whole word is the subscript
        } else { r = group(s, i + 1); i = r[1]; a = plain(r[0]); }
        out.push(script(a, c === "^" ? T.sup : T.sub, c));
      } else if (c === "{" || c === "}") i++;
      else if (c === "&" || c === "~") { out.push(" "); i++; }
      else { out.push(c); i++; }
    }
    return out.join("").replace(/[ \t]{2,}/g, " ").trim().normalize("NFC");
  }
  window.optbookPlainTex = plain;
  function patch() {
    if (typeof Search === "undefined" || Search._optbookPlain) return;
    var toText = Search.htmlToText;
    Search.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      // the snippet is prose: code is left out (shown as written, it is not for a summary)
      doc.querySelectorAll("pre, .cell_input").forEach(function (el) { el.remove(); });
      doc.querySelectorAll(".math").forEach(function (el) { el.textContent = " " + plain(el.textContent) + " "; });
      return toText(doc.documentElement.outerHTML, anchor);
    };
    Search._optbookPlain = true;
  }
  if (typeof document !== "undefined") {
    patch();
    document.addEventListener("DOMContentLoaded", patch);
  }
})();
