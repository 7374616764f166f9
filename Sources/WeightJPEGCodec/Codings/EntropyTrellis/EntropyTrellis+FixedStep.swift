import Foundation
import WeightJPEGFormats

extension EntropyTrellis {
    /// Codes `values` (`rows × columns`, row-major, all finite) at the given parameters' step and
    /// mode, without an error target: what `TensorCoding.entropyTrellis(p).encode` writes (the
    /// error-targeted search calls `encode(_:rows:columns:maxRelativeError:)` instead, which
    /// chooses the step). A trellis coding makes two passes, the second with the rates of the
    /// first. Chunks of `min(rows, p.rowsPerChunk)` rows. Nil for non-finite values.
    package static func encode(_ values: [Float], rows: Int, columns: Int, parameters p: EntropyTrellisParameters,
                               options: Options = Options()) -> Encoded? {
        precondition(rows >= 1 && columns >= 1 && values.count == rows * columns, "shape does not match the values")
        guard values.allSatisfy({ $0.isFinite }) else { return nil }
        var opts = options
        opts.chunkElements = min(rows, p.rowsPerChunk) * columns
        let rowsPerChunk = min(rows, p.rowsPerChunk)
        var norm = 0.0
        for w in values { norm += Double(w) * Double(w) }
        func relative(_ e: Double) -> Double { norm > 0 ? (e / norm).squareRoot() : 0 }
        return values.withUnsafeBufferPointer { v in
            var k = [Int32](repeating: 0, count: v.count)
            guard p.dependent else {
                let e = k.withUnsafeMutableBufferPointer { quantize(v, step: p.step, into: $0) }
                return k.withUnsafeBufferPointer { encodeQuantized($0, rows: rows, columns: columns, step: p.step, relativeError: relative(e), options: opts) }
            }
            let (model, startingBits) = TrellisQuantizer.startingModel(v, rows: rows, columns: columns, step: p.step, options: opts)
            var bits = startingBits
            var error = 0.0, counts: [Int] = []
            for pass in 0..<2 {
                (error, counts) = k.withUnsafeMutableBufferPointer { kb in
                    TrellisQuantizer.trellis(v, rows: rows, columns: columns, rowsPerChunk: rowsPerChunk, step: p.step, rowClass: model.rowClass,
                                             shift: model.columnShift, classes: model.classes, bits: bits, lambda: opts.lambda, into: kb)
                }
                if pass == 0 { bits = TrellisQuantizer.tables(counts, classes: model.classes).1 }
            }
            var final = model
            final.tables = TrellisQuantizer.tables(counts, classes: model.classes).0
            final.quantizers = 2
            return k.withUnsafeBufferPointer {
                write($0, rows: rows, columns: columns, step: p.step, relativeError: relative(error), model: final, options: opts)
            }
        }
    }
}
