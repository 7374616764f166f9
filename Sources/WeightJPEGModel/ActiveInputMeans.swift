import WeightJPEGCore

extension MLP {
    /// For each linear layer, the mean of its input over the samples on which each of its units is
    /// active: row `j` of matrix `l` (`outputs × inputs` of layer `l`) averages layer `l`'s input
    /// over the samples whose pre-activation of unit `j` is > 0 (over every sample for the last
    /// layer, which has no ReLU); a unit never active gets a zero row. The model's own activations
    /// on `count` samples of `inputs` (row-major, `count × inputSize`), in batches of `batchSize`
    /// through BLAS. `BiasCorrection` turns these into bias corrections.
    public func activeInputMeans(inputs: [Float], count: Int, batchSize: Int = 1000) throws(ModelError) -> [Matrix] {
        var sums = layers.map { Matrix(rows: $0.outputs, columns: $0.inputs) }
        var counts = layers.map { [Float](repeating: 0, count: $0.outputs) }
        let widest = layers.map(\.outputs).max() ?? 0
        // The batch size the walk uses, so that the mask holds a whole batch of the widest layer.
        let batchSize = max(1, min(batchSize, count))
        let mask = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batchSize * widest))
        defer { mask.deallocate() }
        try walkActivations(inputs: inputs, count: count, batchSize: batchSize) { l, input, h, b in
            let layer = layers[l], n = layer.outputs, last = l == layers.count - 1
            for i in 0..<(b * n) { mask[i] = last || h[i] > 0 ? 1 : 0 }
            counts[l].withUnsafeMutableBufferPointer { c in
                for r in 0..<b { for j in 0..<n { c[j] += mask[r * n + j] } }
            }
            // sums[l] += maskᵀ · input (outputs × inputs).
            sums[l].storage.withUnsafeMutableBufferPointer { s in
                BLAS.sgemm(.transpose, .none, m: n, n: layer.inputs, k: b, a: mask, lda: n,
                           b: input, ldb: layer.inputs, beta: 1, c: s.baseAddress!, ldc: layer.inputs)
            }
        }
        for l in sums.indices {
            let columns = sums[l].columns
            for j in 0..<sums[l].rows where counts[l][j] > 0 {
                let scale = 1 / counts[l][j]
                for i in 0..<columns { sums[l].storage[j * columns + i] *= scale }
            }
        }
        return sums
    }
}
