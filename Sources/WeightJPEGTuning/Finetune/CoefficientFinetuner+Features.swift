import WeightJPEGCore
import WeightJPEGCodec
import WeightJPEGModel

extension CoefficientFinetuner {
    /// The layer's input features for `count` images (`count × H·W` normalized floats):
    /// `count × featureCount`, the used DCT coefficients then Σx.
    public func features(_ inputs: [Float], count: Int) -> [Float] {
        precondition(inputs.count == count * inputSize, "features: \(inputs.count) values for \(count) images")
        let dct = original.dct
        let full = dct.coefficientCount, nf = featureCount
        let identity = positions.count == full
        var out = [Float](repeating: 0, count: count * nf)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: full)
        defer { scratch.deallocate() }
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                positions.withUnsafeBufferPointer { pos in
                    for i in 0..<count {
                        let row = o.baseAddress! + i * nf
                        let sum: Float
                        if identity {
                            sum = dct.transform(x.baseAddress! + i * inputSize, into: row)
                        } else {
                            sum = dct.transform(x.baseAddress! + i * inputSize, into: scratch)
                            for (k, p) in pos.enumerated() { row[k] = scratch[p] }
                        }
                        row[nf - 1] = sum
                    }
                }
            }
        }
        return out
    }
}
