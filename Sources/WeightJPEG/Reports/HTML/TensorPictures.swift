import Foundation
import WeightJPEGFormats

/// Pictures of a tensor for the HTML report: the weights as a gray image (the tensor as a
/// `rows × columns` matrix, higher ranks flattened after the first dimension) and the error as a
/// false-color heat map, both box-filtered down to at most `maxSide` pixels a side, so a big
/// tensor costs a thumbnail, not its size.
struct TensorPictures {
    /// Thumbnail rows and columns (each at most `maxSide`).
    let height: Int, width: Int
    /// Matrix rows and columns of the tensor.
    let rows: Int, columns: Int

    init(rows: Int, columns: Int, maxSide: Int) {
        self.rows = rows
        self.columns = columns
        height = max(1, min(rows, maxSide))
        width = max(1, min(columns, maxSide))
    }

    /// Matrix rows (or columns) `lo..<hi` of the tensor fall in thumbnail row (or column) `i`.
    private static func span(_ i: Int, of out: Int, from n: Int) -> Range<Int> {
        (i * n / out)..<max(i * n / out + 1, (i + 1) * n / out)
    }

    /// Box means of `values` (`rows × columns`, row-major), row-major `height × width`.
    func means(_ values: [Float]) -> [Float] {
        reduce(values.count) { i in Double(values[i]) } finish: { sum, count in Float(sum / Double(count)) }
    }

    /// Box root-mean-square of `decoded − original`.
    func rmsError(original: [Float], decoded: [Float]) -> [Float] {
        reduce(original.count) { i in let d = Double(decoded[i]) - Double(original[i]); return d * d }
            finish: { sum, count in Float((sum / Double(count)).squareRoot()) }
    }

    private func reduce(_ count: Int, _ term: (Int) -> Double, finish: (Double, Int) -> Float) -> [Float] {
        precondition(count == rows * columns, "TensorPictures: \(count) values for \(rows)×\(columns)")
        var out = [Float](repeating: 0, count: height * width)
        let columnSpans = (0..<width).map { Self.span($0, of: width, from: columns) }
        for y in 0..<height {
            let rowSpan = Self.span(y, of: height, from: rows)
            for x in 0..<width {
                let cs = columnSpans[x]
                var sum = 0.0
                for r in rowSpan {
                    let base = r * columns
                    for c in cs { sum += term(base + c) }
                }
                out[y * width + x] = finish(sum, rowSpan.count * cs.count)
            }
        }
        return out
    }

    /// The gray scale of a picture: the 0.5th and 99.5th percentiles of `values` (finite ones), so
    /// that a few outliers do not turn the rest into one flat gray; (0, 0) without finite values.
    static func displayRange(_ values: [Float]) -> (lo: Float, hi: Float) {
        let sorted = values.filter(\.isFinite).sorted()
        guard let first = sorted.first, let last = sorted.last else { return (0, 0) }
        let lo = sorted[Int(Double(sorted.count - 1) * 0.005)], hi = sorted[Int((Double(sorted.count - 1) * 0.995).rounded(.up))]
        return lo < hi ? (lo, hi) : (first, last)
    }

    /// `values` (thumbnail-sized) stretched from `lo…hi` to 0…255 gray levels, as a PNG.
    func grayPNG(_ values: [Float], lo: Float, hi: Float) -> [UInt8] {
        PNGWriter.encode(GrayImage(width: width, height: height, pixels: values.map { NeuronGrid.gray($0, lo: lo, hi: hi) }))
    }

    /// `values` (thumbnail-sized, ≥ 0) mapped from `0…hi` onto `HeatPalette`, as a palette PNG.
    func heatPNG(_ values: [Float], hi: Float) -> [UInt8] {
        let pixels = values.map { v -> UInt8 in
            guard hi > 0, v.isFinite else { return 0 }
            return UInt8(min(255, max(0, (v / hi * 255).rounded())))
        }
        return PNGWriter.encode(GrayImage(width: width, height: height, pixels: pixels), palette: HeatPalette.colors)
    }

    /// How the picture is drawn on the page: each thumbnail pixel scaled up by a whole factor per
    /// axis (pixelated) so that the longer side is about `target` pixels and neither side is below 24.
    func displaySize(target: Int = 240) -> (width: Int, height: Int) {
        let zoom = max(1, target / max(height, width))
        return (max(24, width * zoom), max(24, height * zoom))
    }

    /// What one thumbnail pixel stands for, e.g. `each pixel the mean of 120×2 weights`.
    var pixelNote: String {
        let by = (rows + height - 1) / height, bx = (columns + width - 1) / width
        return by == 1 && bx == 1 ? "one pixel per weight" : "each pixel a block of up to \(by)×\(bx) weights"
    }
}

/// The heat map's colors: black through purple, red and orange to pale yellow (perceptually
/// increasing lightness, like matplotlib's "inferno"), 256 entries interpolated from a few anchors.
enum HeatPalette {
    static let anchors: [(Double, Double, Double)] = [
        (0, 0, 4), (40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21), (250, 193, 39), (252, 255, 164),
    ]

    static let colors: [(red: UInt8, green: UInt8, blue: UInt8)] = (0..<256).map { i in
        let t = Double(i) / 255 * Double(anchors.count - 1)
        let k = min(anchors.count - 2, Int(t)), f = t - Double(k)
        let a = anchors[k], b = anchors[k + 1]
        func mix(_ p: Double, _ q: Double) -> UInt8 { UInt8((p + (q - p) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// A CSS gradient of the palette, for the legend bar.
    static var cssGradient: String {
        "linear-gradient(to right, " + anchors.map { "rgb(\(Int($0.0)),\(Int($0.1)),\(Int($0.2)))" }.joined(separator: ", ") + ")"
    }
}
