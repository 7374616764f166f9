import Foundation

/// The report's small charts as inline SVG: a weight histogram (before and after coding) and the
/// metric against bytes of a search. Axes carry their numbers; every mark has a `<title>` tooltip.
enum SVG {
    /// A coordinate with at most two decimals (`12.5`, `3`), locale-free.
    static func n(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    /// A short tick label: `0`, `0.05`, `1.2e+04`, `-0.3`.
    static func label(_ x: Double) -> String {
        if x == 0 { return "0" }
        let a = abs(x)
        return a >= 1e5 || a < 1e-3 ? String(format: "%.2g", x) : String(format: "%.4g", x)
    }

    /// A count in at most five characters: `980`, `17k`, `1.7M`.
    static func count(_ k: Int) -> String {
        k < 10_000 ? String(k) : k < 1_000_000 ? "\(k / 1000)k" : String(format: "%.1fM", Double(k) / 1e6)
    }

    /// A byte count as a tick label: `0`, `500`, `20k`, `1.5M`, `2.25G` (no more precision than the ticks need).
    static func bytes(_ x: Double) -> String {
        let a = abs(x)
        func short(_ v: Double) -> String { String(format: "%g", (v * 100).rounded() / 100) }
        return a < 1000 ? short(x) : a < 1e6 ? short(x / 1e3) + "k" : a < 1e9 ? short(x / 1e6) + "M" : short(x / 1e9) + "G"
    }

    /// About `count` round tick values covering `lo…hi` (steps of 1, 2 or 5 × 10^k).
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var out: [Double] = []
        var t = ceil(lo / step) * step
        while t <= hi + step * 1e-9 && out.count < 50 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// A histogram of weights with the same bins for both series.
    struct Histogram {
        /// Left edge of the first bin and right edge of the last.
        var lo: Double, hi: Double
        /// Counts of the original weights (nil without an original) and of the decoded ones.
        var original: [Int]?
        var decoded: [Int]

        /// `bins` equal bins over the finite range of both tensors.
        init(original: [Float]?, decoded: [Float], bins: Int = 64) {
            var lo = Float.infinity, hi = -Float.infinity
            for v in decoded where v.isFinite { lo = min(lo, v); hi = max(hi, v) }
            for v in original ?? [] where v.isFinite { lo = min(lo, v); hi = max(hi, v) }
            if lo > hi { (lo, hi) = (0, 0) }
            if lo == hi { (lo, hi) = (lo - 0.5, hi + 0.5) }
            self.lo = Double(lo)
            self.hi = Double(hi)
            self.original = original.map { Self.counts($0, lo: lo, hi: hi, bins: bins) }
            self.decoded = Self.counts(decoded, lo: lo, hi: hi, bins: bins)
        }

        /// How many finite `values` fall in each of `bins` equal bins over `lo…hi` (the last bin closed).
        static func counts(_ values: [Float], lo: Float, hi: Float, bins: Int) -> [Int] {
            var c = [Int](repeating: 0, count: bins)
            let scale = Double(bins) / (Double(hi) - Double(lo))
            for v in values where v.isFinite {
                let k = Int(((Double(v) - Double(lo)) * scale).rounded(.down))
                c[min(bins - 1, max(0, k))] += 1
            }
            return c
        }
    }

    /// The histogram as an `<svg>`: original filled gray, decoded as a colored outline.
    static func histogram(_ h: Histogram, width: Int = 360, height: Int = 170) -> String {
        let left = 44.0, right = 8.0, top = 8.0, bottom = 34.0
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let bins = h.decoded.count
        let peak = Double(max(1, (h.original ?? []).max() ?? 0, h.decoded.max() ?? 0))
        func x(_ value: Double) -> Double { left + (value - h.lo) / (h.hi - h.lo) * plotW }
        func y(_ count: Int) -> Double { top + plotH * (1 - Double(count) / peak) }
        func steps(_ counts: [Int]) -> String {
            var points = "\(n(left)),\(n(top + plotH))"
            for (i, c) in counts.enumerated() {
                let x0 = left + Double(i) / Double(bins) * plotW, x1 = left + Double(i + 1) / Double(bins) * plotW
                points += " \(n(x0)),\(n(y(c))) \(n(x1)),\(n(y(c)))"
            }
            return points + " \(n(left + plotW)),\(n(top + plotH))"
        }
        var out = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        out += axes(left: left, top: top, width: plotW, height: plotH)
        if let original = h.original {
            out += "<polygon points=\"\(steps(original))\" fill=\"#c9ced8\" stroke=\"none\"><title>original</title></polygon>"
        }
        out += "<polyline points=\"\(steps(h.decoded))\" fill=\"none\" stroke=\"#d3542c\" stroke-width=\"1.2\"><title>decoded</title></polyline>"
        for t in ticks(h.lo, h.hi, count: 4) {
            out += "<text x=\"\(n(x(t)))\" y=\"\(n(top + plotH + 14))\" font-size=\"10\" text-anchor=\"middle\">\(label(t))</text>"
        }
        out += "<text x=\"\(n(left - 4))\" y=\"\(n(top + 9))\" font-size=\"10\" text-anchor=\"end\">\(count(Int(peak)))</text>"
        out += "<text x=\"\(n(left - 4))\" y=\"\(n(top + plotH))\" font-size=\"10\" text-anchor=\"end\">0</text>"
        let key = h.original == nil ? "decoded weights (count per bin)" : "original (gray) and decoded (red) weights, count per bin"
        out += "<text x=\"\(n(left))\" y=\"\(height - 4)\" font-size=\"10\" fill=\"#566\">\(key)</text>"
        return out + "</svg>"
    }

    /// A point of `scatter`.
    struct Point {
        var x: Double, y: Double
        var tooltip: String
        var highlighted: Bool
    }

    /// Points `y` against `x` with a dashed reference line (`reference`, e.g. the original model's
    /// metric) and a dotted bound line; the highlighted point is drawn as a large red ring.
    static func scatter(_ points: [Point], xLabel: String, yLabel: String, reference: Double?, bound: Double?,
                        xFormat: (Double) -> String = label, width: Int = 640, height: Int = 320) -> String {
        let left = 62.0, right = 16.0, top = 12.0, bottom = 42.0
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        var xs = points.map(\.x), ys = points.map(\.y)
        if let reference { ys.append(reference) }
        if let bound { ys.append(bound) }
        if xs.isEmpty { xs = [0, 1] }
        if ys.isEmpty { ys = [0, 1] }
        var (x0, x1) = (xs.min()!, xs.max()!), (y0, y1) = (ys.min()!, ys.max()!)
        if x0 == x1 { (x0, x1) = (x0 - 1, x1 + 1) }
        if y0 == y1 { (y0, y1) = (y0 - 1, y1 + 1) }
        let padX = (x1 - x0) * 0.05, padY = (y1 - y0) * 0.08
        (x0, x1, y0, y1) = (x0 - padX, x1 + padX, y0 - padY, y1 + padY)
        func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * plotW }
        func py(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * plotH }
        var out = "<svg width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        out += axes(left: left, top: top, width: plotW, height: plotH)
        for t in ticks(x0, x1) {
            out += "<line x1=\"\(n(px(t)))\" x2=\"\(n(px(t)))\" y1=\"\(n(top))\" y2=\"\(n(top + plotH))\" stroke=\"#eef0f4\"/>"
            out += "<text x=\"\(n(px(t)))\" y=\"\(n(top + plotH + 14))\" font-size=\"10\" text-anchor=\"middle\">\(xFormat(t))</text>"
        }
        for t in ticks(y0, y1) {
            out += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotW))\" y1=\"\(n(py(t)))\" y2=\"\(n(py(t)))\" stroke=\"#eef0f4\"/>"
            out += "<text x=\"\(n(left - 4))\" y=\"\(n(py(t) + 3))\" font-size=\"10\" text-anchor=\"end\">\(label(t))</text>"
        }
        func hline(_ value: Double, dash: String, text: String) -> String {
            "<line x1=\"\(n(left))\" x2=\"\(n(left + plotW))\" y1=\"\(n(py(value)))\" y2=\"\(n(py(value)))\" stroke=\"#6b7280\" stroke-dasharray=\"\(dash)\"><title>\(HTMLPage.escape(text))</title></line>"
                + "<text x=\"\(n(left + plotW - 2))\" y=\"\(n(py(value) - 3))\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7280\">\(HTMLPage.escape(text))</text>"
        }
        if let reference { out += hline(reference, dash: "6 3", text: "original \(label(reference))") }
        if let bound { out += hline(bound, dash: "2 3", text: "bound \(label(bound))") }
        for p in points.sorted(by: { !$0.highlighted && $1.highlighted }) {
            let tip = "<title>\(HTMLPage.escape(p.tooltip))</title>"
            if p.highlighted {
                out += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"7\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\">\(tip)</circle>"
                out += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3\" fill=\"#d62728\">\(tip)</circle>"
            } else {
                out += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3.5\" fill=\"#4e79a7\" fill-opacity=\"0.75\">\(tip)</circle>"
            }
        }
        out += "<text x=\"\(n(left + plotW / 2))\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"middle\">\(HTMLPage.escape(xLabel))</text>"
        out += "<text x=\"12\" y=\"\(n(top + plotH / 2))\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 \(n(top + plotH / 2)))\">\(HTMLPage.escape(yLabel))</text>"
        return out + "</svg>"
    }

    /// The left and bottom axis lines of a plot area.
    private static func axes(left: Double, top: Double, width: Double, height: Double) -> String {
        "<path d=\"M\(n(left)) \(n(top)) V\(n(top + height)) H\(n(left + width))\" fill=\"none\" stroke=\"#8a93a3\"/>"
    }
}
