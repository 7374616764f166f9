import Foundation
import WeightJPEG

/// A small line chart written as SVG: one polyline per series, linear axes with ticks.
public struct SVGChart: Sendable {
    /// One line of the chart: a label and its points, drawn in order.
    public struct Series: Sendable {
        /// Legend text.
        public let label: String
        /// Points joined by the polyline, in this order.
        public let points: [(x: Double, y: Double)]
        /// A series drawn through `points` in order.
        public init(label: String, points: [(x: Double, y: Double)]) {
            self.label = label
            self.points = points
        }
    }

    /// Heading above the plot area.
    public var title: String
    /// Caption under the x axis.
    public var xLabel: String
    /// Caption beside the y axis.
    public var yLabel: String
    /// The lines, drawn and listed in the legend in this order.
    public var series: [Series]
    /// Fixed y range; nil fits the range to the data.
    public var yRange: ClosedRange<Double>?
    /// Logarithmic x axis (decades, ticks at 1, 2 and 5 × 10^k; x values must be > 0).
    public var logX = false
    /// Draw a dot at every point.
    public var markers = false
    /// Width of the legend at the right.
    public var legendWidth = 170.0

    /// A chart with linear axes, no markers and the default legend width.
    public init(title: String, xLabel: String, yLabel: String, series: [Series], yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yRange = yRange
    }

    /// The chart as a standalone SVG document, `width × height` user units.
    public func render(width: Double = 720, height: Double = 440) -> String {
        let all = series.flatMap(\.points)
        let xs = all.map(\.x), ys = all.map(\.y)
        let positive = xs.filter { $0 > 0 }
        let x0 = logX ? (positive.min().map { log10($0).rounded(.down) } ?? 0) : 0.0
        let x1 = logX ? (positive.max().map { max(log10($0).rounded(.up), x0 + 1) } ?? 1) : niceCeiling(xs.max() ?? 1)
        let y0 = yRange?.lowerBound ?? (ys.min() ?? 0), y1 = yRange?.upperBound ?? (ys.max() ?? 1)
        let (left, right, top, bottom) = (70.0, legendWidth, 40.0, 50.0)
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double {
            let v = logX ? log10(max(x, 1e-300)) : x
            return left + (v - x0) / max(x1 - x0, 1e-12) * pw
        }
        func py(_ y: Double) -> Double { top + (1 - (min(max(y, y0), y1) - y0) / max(y1 - y0, 1e-12)) * ph }
        func f(_ v: Double) -> String { String(Int((v * 10).rounded())) .withDecimal }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left))" y="22" font-size="15">\(escape(title))</text>

        """
        var xTicks: [Double] = []
        if logX {
            var decade = x0
            while decade <= x1 + 0.5 {
                for m in [1.0, 2.0, 5.0] {
                    let v = m * pow(10.0, decade)
                    if log10(v) <= x1 + 1e-9 { xTicks.append(v) }
                }
                decade += 1
            }
        } else {
            for i in 0...5 { xTicks.append(x0 + (x1 - x0) * Double(i) / 5) }
        }
        for xv in xTicks {
            s += "<line x1=\"\(f(px(xv)))\" y1=\"\(f(top))\" x2=\"\(f(px(xv)))\" y2=\"\(f(top + ph))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(px(xv)))\" y=\"\(f(top + ph + 16))\" text-anchor=\"middle\">\(label(xv))</text>\n"
        }
        for i in 0...5 {
            let yv = y0 + (y1 - y0) * Double(i) / 5
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(yv)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(yv)))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(label(yv))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#444\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        s += "<text transform=\"translate(16,\(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22", "#000000"]
        for (i, line) in series.enumerated() {
            let color = colors[i % colors.count]
            let pts = line.points.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(pts)\"/>\n"
            if markers {
                for p in line.points {
                    s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" fill=\"\(color)\"/>\n"
                }
            }
            let ly = top + 14 + Double(i) * 18
            s += "<line x1=\"\(f(left + pw + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + pw + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            s += "<text x=\"\(f(left + pw + 38))\" y=\"\(f(ly))\">\(escape(line.label))</text>\n"
        }
        return s + "</svg>\n"
    }

    private func label(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `v` (so the axis ends close to the data).
    private func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        var power = 1.0
        while power * 10 < v { power *= 10 }
        while power > v { power /= 10 }
        return [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= v } ?? 10 * power
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension String {
    /// `"1234"` (tenths) → `"123.4"`.
    fileprivate var withDecimal: String {
        let negative = hasPrefix("-")
        var digits = negative ? String(dropFirst()) : self
        while digits.count < 2 { digits = "0" + digits }
        return (negative ? "-" : "") + digits.dropLast() + "." + digits.suffix(1)
    }
}
