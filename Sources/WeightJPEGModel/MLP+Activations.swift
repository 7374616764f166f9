import WeightJPEGCore

extension MLP {
    /// Runs the first `layerCount` layers (all by default) over `count` samples of `inputs`
    /// (row-major, `count × inputSize`) in batches of `batchSize` through BLAS, and calls
    /// `visit(l, input, preActivation, batch)` for each layer `l` of each batch: the layer's input
    /// (`batch × inputs`, the previous layer's ReLU output) and its pre-activation `W x + b`
    /// (`batch × outputs`, which the ReLU then overwrites for the next layer). The one walk over
    /// activations that the statistics of the training data (`deadUnits`, `activeInputMeans`) share.
    package func walkActivations(inputs: [Float], count: Int, batchSize: Int, layerCount: Int? = nil,
                                 _ visit: (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void) throws(ModelError) {
        guard count >= 0, inputs.count == count * inputSize else {
            throw .inputSize(expected: inputSize, found: count > 0 ? inputs.count / count : inputs.count)
        }
        let walked = layers.prefix(layerCount ?? layers.count)
        guard count > 0, !walked.isEmpty else { return }
        let batchSize = max(1, min(batchSize, count))
        let widest = walked.map(\.outputs).max() ?? 0
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 2 * batchSize * widest))
        defer { scratch.deallocate() }
        inputs.withUnsafeBufferPointer { x in
            var start = 0
            while start < count {
                let b = min(batchSize, count - start)
                var input = x.baseAddress! + start * inputSize
                for (l, layer) in walked.enumerated() {
                    let h = scratch + (l % 2) * batchSize * widest
                    layer.forward(input, batch: b, into: h)
                    visit(l, input, h, b)
                    Activation.relu(h, count: b * layer.outputs)
                    input = UnsafePointer(h)
                }
                start += b
            }
        }
    }
}
