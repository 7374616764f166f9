import Foundation

/// A squarified treemap (Bruls, Huizing and van Wijk, 2000) in inline SVG: one rectangle per item,
/// its area proportional to the item's value, laid out in rows whose rectangles stay close to squares.
enum Treemap {
    /// One rectangle to draw.
    struct Item {
        /// Label drawn inside the rectangle when it fits, and in its tooltip.
        var label: String
        /// Tooltip text (a `<title>`), e.g. name, coding and bytes.
        var tooltip: String
        /// Area weight (e.g. bytes); items ≤ 0 are not drawn.
        var value: Double
        /// Fill color, e.g. `#4e79a7`.
        var color: String
        /// Fragment the rectangle links to (without `#`), or nil.
        var anchor: String?
    }

    struct Rect: Equatable {
        var x: Double, y: Double, width: Double, height: Double
    }

    /// The rectangles of `values` (sorted largest first by the caller or not: order is kept) tiling
    /// `width × height`. Zero and negative values get empty rectangles.
    static func layout(_ values: [Double], width: Double, height: Double) -> [Rect] {
        var rects = [Rect](repeating: Rect(x: 0, y: 0, width: 0, height: 0), count: values.count)
        let positive = values.indices.filter { values[$0] > 0 }
        let total = positive.reduce(0) { $0 + values[$1] }
        guard total > 0, width > 0, height > 0 else { return rects }
        let scale = width * height / total
        var free = Rect(x: 0, y: 0, width: width, height: height)
        var rest = positive[...]
        while !rest.isEmpty {
            let side = min(free.width, free.height)
            var row: [Int] = []
            var rowArea = 0.0
            // Grow the row while its worst aspect ratio does not get worse.
            while let next = rest.first {
                let area = values[next] * scale
                if !row.isEmpty && worst(row.map { values[$0] * scale } + [area], side: side) > worst(row.map { values[$0] * scale }, side: side) {
                    break
                }
                row.append(next)
                rowArea += area
                rest = rest.dropFirst()
            }
            let thickness = rowArea / side
            var offset = 0.0
            for i in row {
                let length = values[i] * scale / thickness
                if free.width >= free.height {
                    rects[i] = Rect(x: free.x, y: free.y + offset, width: thickness, height: length)
                } else {
                    rects[i] = Rect(x: free.x + offset, y: free.y, width: length, height: thickness)
                }
                offset += length
            }
            if free.width >= free.height {
                free.x += thickness
                free.width = max(0, free.width - thickness)
            } else {
                free.y += thickness
                free.height = max(0, free.height - thickness)
            }
        }
        return rects
    }

    /// The largest aspect ratio (≥ 1) of a row of `areas` laid along a side of length `side`.
    private static func worst(_ areas: [Double], side: Double) -> Double {
        let sum = areas.reduce(0, +)
        guard sum > 0, let hi = areas.max(), let lo = areas.min(), lo > 0 else { return .infinity }
        let s2 = side * side, sum2 = sum * sum
        return max(s2 * hi / sum2, sum2 / (s2 * lo))
    }

    /// `name` in at most `limit` characters, keeping what tells tensors apart: the dotted parts
    /// before the last are cut to their first letter from the left (numbers kept), then leading
    /// parts are dropped, then only the end is kept: `encoder.layer.3.attention.self.query.weight`
    /// → `e.l.3.a.s.query.weight` (22) → `3.a.s.q.weight`… (14) → `…ight` (5).
    static func abbreviate(_ name: String, to limit: Int) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func joined() -> String { parts.joined(separator: ".") }
        for i in parts.indices.dropLast() where joined().count > limit {
            if let first = parts[i].first, !parts[i].allSatisfy(\.isNumber) { parts[i] = String(first) }
        }
        while joined().count > limit && parts.count > 1 { parts.removeFirst() }
        let short = joined()
        return short.count <= limit ? short : "…" + String(short.suffix(max(0, limit - 1)))
    }

    /// The treemap of `items` as an `<svg>` element `width × height` pixels.
    static func svg(_ items: [Item], width: Int, height: Int) -> String {
        let rects = layout(items.map(\.value), width: Double(width), height: Double(height))
        var out = "<svg class=\"treemap\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        for (item, r) in zip(items, rects) where r.width > 0 && r.height > 0 {
            let e = HTMLPage.escape
            var shape = "<rect x=\"\(SVG.n(r.x))\" y=\"\(SVG.n(r.y))\" width=\"\(SVG.n(r.width))\" height=\"\(SVG.n(r.height))\" fill=\"\(item.color)\" stroke=\"#fff\" stroke-width=\"1\"><title>\(e(item.tooltip))</title></rect>"
            // A label only where about 6.5 px per character and one line of text fit.
            let fits = Int((r.width - 6) / 6.5)
            if r.height >= 15 && fits >= 4 {
                let text = abbreviate(item.label, to: fits)
                shape += "<text x=\"\(SVG.n(r.x + 3))\" y=\"\(SVG.n(r.y + 12))\" font-size=\"11\" fill=\"#fff\" pointer-events=\"none\">\(e(text))</text>"
            }
            if let anchor = item.anchor {
                shape = "<a href=\"#\(e(anchor))\">" + shape + "</a>"
            }
            out += shape
        }
        return out + "</svg>"
    }
}
