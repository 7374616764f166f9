import WeightJPEGCore
import WeightJPEGCodec
import WeightJPEGModel

/// The JPEG grid of the trained layer: shadow weights snapped to quantized coefficients.
extension CoefficientFinetuner {
    /// The quantized coefficient of shadow weight `i` of row `j` (`i` indexes `positions`).
    @inline(__always)
    static func quantize(_ w: Float, grid g: Float, low: Float, high: Float) -> Float {
        g > 0 ? min(max((w / g).rounded(), low), high) : 0
    }

    /// `model` (a shadow) with layer 0 snapped to the JPEG grid: what the file will hold.
    public func snapped(_ model: MLP) -> MLP {
        var out = model
        snap(model, into: &out)
        return out
    }

    func snap(_ model: MLP, into out: inout MLP) {
        let rows = original.rows, np = positions.count, nf = np + 1
        model.layers[0].weight.storage.withUnsafeBufferPointer { w in
            out.layers[0].weight.storage.withUnsafeMutableBufferPointer { o in
                grid.withUnsafeBufferPointer { g in
                    qLow.withUnsafeBufferPointer { lo in
                        qHigh.withUnsafeBufferPointer { hi in
                            for j in 0..<rows {
                                let wr = w.baseAddress! + j * nf, orow = o.baseAddress! + j * nf, gr = g.baseAddress! + j * np
                                for i in 0..<np {
                                    orow[i] = gr[i] * Self.quantize(wr[i], grid: gr[i], low: lo[i], high: hi[i])
                                }
                                orow[np] = wr[np]
                            }
                        }
                    }
                }
            }
        }
        out.layers[0].bias = model.layers[0].bias
        for l in 1..<model.layers.count { out.layers[l] = model.layers[l] }
    }

    /// The quantized coefficients of a shadow model's layer 0, `rows × positionCount` (the full
    /// `64·blocks` layout of `CoefficientTensor`), row-major.
    public func quantizedCoefficients(_ model: MLP) -> [Int16] {
        let rows = original.rows, full = original.positionCount, np = positions.count, nf = np + 1
        var q = [Int16](repeating: 0, count: rows * full)
        let w = model.layers[0].weight.storage
        for j in 0..<rows {
            for (i, pos) in positions.enumerated() {
                q[j * full + pos] = Int16(Self.quantize(w[j * nf + i], grid: grid[j * np + i], low: qLow[i], high: qHigh[i]))
            }
        }
        return q
    }

    /// The input file's quantized coefficients in the same layout as `quantizedCoefficients`.
    public var originalCoefficients: [Int16] {
        let full = original.positionCount
        var q = [Int16](repeating: 0, count: original.rows * full)
        for j in 0..<original.rows {
            for e in Int(original.rowStart[j])..<Int(original.rowStart[j + 1]) {
                q[j * full + Int(original.positions[e])] = original.values[e]
            }
        }
        return q
    }

    /// Keeps shadow weights within half a grid step of JPEG's coefficient range.
    func clampShadow() {
        let rows = original.rows, np = positions.count, nf = np + 1
        shadow.layers[0].weight.storage.withUnsafeMutableBufferPointer { w in
            for j in 0..<rows {
                for i in 0..<np {
                    let g = grid[j * np + i]
                    if g == 0 { continue }
                    let v = w[j * nf + i]
                    let lo = (qLow[i] - 0.49) * g, hi = (qHigh[i] + 0.49) * g
                    if v < lo { w[j * nf + i] = lo } else if v > hi { w[j * nf + i] = hi }
                }
            }
        }
    }
}
