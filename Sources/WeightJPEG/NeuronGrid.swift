import WeightJPEGFormats
import WeightJPEGModel
/// A picture of a layer's neurons: row `j` of a `[n, H·W]` weight tensor shown as an `H × W` image
/// (for the first layer of an MNIST MLP, neuron j's 28×28 receptive field), the first `count`
/// neurons in a grid, each image stretched to its own min…max (black…white) for display.
///
/// Geometry (`s` = separator, `c` = columns, cells `(H·scale) × (W·scale)`): the image is
/// `c·W·scale + (c + 1)·s` wide; every cell has a separator line on each side (an outer border
/// included). With a second tensor (`below`, e.g. the decoded weights under the originals), each grid
/// row becomes a pair of rows: neuron j of `values` directly above neuron j of `below`.
public enum NeuronGrid {
    /// How a neuron image is stretched to 0…255.
    public enum Normalization: Sendable, Equatable {
        /// Each image to its own min…max.
        case perImage
        /// Both images of a neuron (above and below) to their joint min…max, so differences show.
        case perNeuron
    }

    /// Renders the first `count` rows of `values` (`rows × (height·width)`, row-major).
    /// - Parameters:
    ///   - below: a second tensor of the same shape drawn under the first one, or nil.
    ///   - count: neurons shown (at most `rows`).
    ///   - columns: neurons per grid row.
    ///   - separator: separator width in pixels (0 allowed).
    ///   - scale: nearest-neighbor upscaling of every cell (≥ 1).
    ///   - separatorValue: the separators' gray level.
    public static func render(_ values: [Float], rows: Int, height: Int, width: Int, below: [Float]? = nil,
                              count: Int = 64, columns: Int = 8, separator: Int = 1, scale: Int = 1,
                              separatorValue: UInt8 = 255, normalization: Normalization = .perImage) -> GrayImage {
        let size = height * width
        precondition(height > 0 && width > 0 && rows >= 0 && values.count == rows * size, "NeuronGrid: values are not \(rows)×\(size)")
        precondition(below == nil || below!.count == values.count, "NeuronGrid: the second tensor has a different shape")
        precondition(columns > 0 && separator >= 0 && scale >= 1 && count >= 0)
        let shown = min(count, rows)
        let layers = below == nil ? 1 : 2
        let gridColumns = max(1, min(columns, shown))
        let gridRows = max(1, (shown + columns - 1) / columns) * layers
        let cellH = height * scale, cellW = width * scale
        let imageWidth = gridColumns * cellW + (gridColumns + 1) * separator
        let imageHeight = gridRows * cellH + (gridRows + 1) * separator
        var pixels = [UInt8](repeating: separatorValue, count: imageWidth * imageHeight)

        for j in 0..<shown {
            let upper = values[(j * size)..<((j + 1) * size)]
            let lower = below.map { $0[(j * size)..<((j + 1) * size)] }
            var ranges = [range(upper)]
            if let lower { ranges.append(range(lower)) }
            if normalization == .perNeuron && ranges.count == 2 {
                let joint = (min(ranges[0].lo, ranges[1].lo), max(ranges[0].hi, ranges[1].hi))
                ranges = [joint, joint].map { (lo: $0.0, hi: $0.1) }
            }
            for layer in 0..<layers {
                let source = layer == 0 ? upper : lower!
                let (lo, hi) = ranges[layer]
                let gridRow = (j / columns) * layers + layer, gridColumn = j % columns
                let ox = separator + gridColumn * (cellW + separator)
                let oy = separator + gridRow * (cellH + separator)
                for y in 0..<cellH {
                    let sourceRow = source.startIndex + (y / scale) * width
                    let out = (oy + y) * imageWidth + ox
                    for x in 0..<cellW {
                        pixels[out + x] = gray(source[sourceRow + x / scale], lo: lo, hi: hi)
                    }
                }
            }
        }
        return GrayImage(width: imageWidth, height: imageHeight, pixels: pixels)
    }

    /// The finite min and max of `values` (0, 0 when there are none).
    static func range(_ values: ArraySlice<Float>) -> (lo: Float, hi: Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values where v.isFinite { lo = min(lo, v); hi = max(hi, v) }
        return lo > hi ? (0, 0) : (lo, hi)
    }

    /// `v` stretched from `lo…hi` to 0…255; 128 for a constant image.
    @inline(__always)
    static func gray(_ v: Float, lo: Float, hi: Float) -> UInt8 {
        guard hi > lo else { return 128 }
        let p = ((v - lo) / (hi - lo) * 255).rounded()
        return p.isNaN ? 128 : UInt8(min(max(p, 0), 255))
    }
}
