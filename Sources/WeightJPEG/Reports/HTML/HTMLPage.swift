import Foundation

/// The HTML report's skeleton and its text rules: escaping, the inline style sheet and the inline
/// script. Everything is written as well-formed XML as well as HTML (void elements closed with
/// `/>`, every attribute quoted, the script inside a CDATA section), so a strict XML parser reads
/// the page too; nothing refers outside the file (no `<link>`, no `src`/`href` other than `data:`
/// URIs and `#fragments`).
enum HTMLPage {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities: safe in element text and in
    /// quoted attribute values alike.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters other than tab and newline are not allowed in XML 1.0.
            case _ where ch.value < 0x20 && ch != "\t" && ch != "\n": out += "\u{FFFD}"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `bytes` as a `data:` URI of media type `type` (e.g. `image/png`), base64.
    static func dataURI(_ bytes: [UInt8], type: String) -> String {
        "data:\(type);base64," + Data(bytes).base64EncodedString()
    }

    /// The whole document around `body` (already HTML).
    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(escape(title))</title>
        <style>
        \(style)
        </style>
        </head>
        <body>
        \(body)
        <script>
        //<![CDATA[
        \(script)
        //]]>
        </script>
        </body>
        </html>

        """
    }

    /// System fonts only; pictures keep their pixels when scaled up (`pixelated`).
    static let style = """
    body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1d2330; background: #fff; }
    h1 { font-size: 1.5em; margin: 0.2em 0 0.6em; } h2 { font-size: 1.2em; margin: 1.4em 0 0.5em; border-bottom: 1px solid #dde; }
    .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
    .figure { background: #f4f6fa; border-radius: 6px; padding: 8px 10px; }
    .figure .v { font-size: 1.35em; font-weight: 600; } .figure .k { font-size: 0.8em; color: #566; overflow-wrap: anywhere; }
    .note { color: #566; font-size: 0.9em; }
    .legend span { display: inline-block; margin-right: 14px; font-size: 0.85em; }
    .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
    table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
    th, td { padding: 3px 6px; border-bottom: 1px solid #e6e8ee; text-align: right; white-space: nowrap; }
    th { cursor: pointer; background: #f4f6fa; position: sticky; top: 0; user-select: none; }
    th[data-dir="asc"]::after { content: " \\25B2"; } th[data-dir="desc"]::after { content: " \\25BC"; }
    td.l, th.l { text-align: left; } td.coding { max-width: 300px; overflow: hidden; text-overflow: ellipsis; }
    .tablewrap { max-height: 520px; overflow: auto; border: 1px solid #e6e8ee; }
    details { border: 1px solid #e6e8ee; border-radius: 6px; margin: 6px 0; padding: 4px 10px; }
    details[open] { padding-bottom: 10px; } summary { cursor: pointer; font-size: 0.9em; }
    summary b { font-family: ui-monospace, monospace; }
    .panels { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; margin-top: 8px; }
    figure { margin: 0; } figcaption { font-size: 0.78em; color: #566; max-width: 300px; }
    figure.wide figcaption { max-width: 560px; }
    svg.treemap { width: 100%; height: auto; }
    img.px { image-rendering: pixelated; border: 1px solid #ccd; }
    img.jpeg { border: 1px solid #ccd; max-width: 560px; height: auto; }
    svg text { font-family: system-ui, sans-serif; }
    """

    /// Fills a `<details>` section from its `<template>` the first time it opens (pictures of a
    /// closed section are never decoded), opens a section a link points to, and sorts a
    /// `table.sortable` by the clicked column (a cell's `data-v` when present, else its text).
    static let script = """
    function fill(d) { var t = d.querySelector(':scope > template'); if (t) { d.appendChild(t.content.cloneNode(true)); t.remove(); } }
    document.querySelectorAll('details').forEach(function (d) {
      if (d.open) fill(d);
      d.addEventListener('toggle', function () { if (d.open) fill(d); });
    });
    function openTarget() { var d = document.getElementById(location.hash.slice(1)); if (d) { d.open = true; fill(d); } }
    window.addEventListener('hashchange', openTarget); openTarget();
    document.querySelectorAll('table.sortable th').forEach(function (th) {
      th.addEventListener('click', function () {
        var table = th.closest('table'), body = table.tBodies[0], col = th.cellIndex;
        var dir = th.dataset.dir === 'desc' ? 1 : -1;
        table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
        th.dataset.dir = dir === 1 ? 'asc' : 'desc';
        function key(row) {
          var c = row.cells[col], v = c.dataset.v !== undefined ? c.dataset.v : c.textContent, n = parseFloat(v);
          return isNaN(n) || c.dataset.v === undefined ? v : n;
        }
        Array.from(body.rows).sort(function (a, b) {
          var x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * dir;
        }).forEach(function (r) { body.appendChild(r); });
      });
    });
    """
}
