import WeightJPEGCore
extension MLP: Classifier {
    /// 4 bytes per parameter (float32 weights and biases).
    public var residentWeightBytes: Int { 4 * parameterCount }

    /// Logits through BLAS, layer by layer (see `Classifier.logits(_:count:batchSize:)`).
    public func logits(_ inputs: [Float], count: Int, batchSize: Int) throws(ModelError) -> [Float] {
        try batchedForward(inputs, count: count, inputSize: inputSize, outputSize: outputSize,
                           widest: layers.map(\.outputs).max() ?? 0, batchSize: batchSize) { x, b, hidden, y in
            forward(x, batch: b, hidden: hidden, into: y)
        }
    }

    /// Forward pass of one batch, ReLU after every layer but the last; hidden activations alternate
    /// between the two scratch buffers (each at least `batch × widest layer`).
    func forward(_ x: UnsafePointer<Float>, batch: Int,
                 hidden: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
                 into y: UnsafeMutablePointer<Float>) {
        DenseLayer.chain(layers, x, batch: batch, hidden: hidden, into: y)
    }
}

extension DenseLayer {
    /// Runs `layers` in sequence on a batch, ReLU after every layer but the last, writing hidden
    /// activations alternately to `hidden.0` and `hidden.1` and the last layer's output to `y`.
    package static func chain(_ layers: [DenseLayer], _ x: UnsafePointer<Float>, batch: Int,
                      hidden: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
                      into y: UnsafeMutablePointer<Float>) {
        var input = x
        for (i, layer) in layers.enumerated() {
            if i == layers.count - 1 {
                layer.forward(input, batch: batch, into: y)
            } else {
                let h = i % 2 == 0 ? hidden.0 : hidden.1
                layer.forward(input, batch: batch, into: h)
                Activation.relu(h, count: batch * layer.outputs)
                input = UnsafePointer(h)
            }
        }
    }
}

/// The element-wise functions between layers (ReLU after every hidden layer).
package enum Activation {
    /// In place: `x = max(x, 0)`.
    @inline(__always)
    package static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = max(x[i], 0) }
    }
}
