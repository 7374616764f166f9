import Foundation
import WeightJPEGCore

/// Forward and backward pass of an `MLP` on one mini-batch with softmax cross-entropy loss,
/// every matrix product through BLAS. Owns its buffers so that a training loop allocates nothing
/// per batch; one instance per thread.
package final class Backpropagation {
    let sizes: [Int]
    let maxBatch: Int
    /// Post-ReLU activations of the hidden layers, `maxBatch × sizes[l+1]` each.
    private let activations: [UnsafeMutablePointer<Float>]
    /// Gradient with respect to each layer's pre-activation output, `maxBatch × sizes[l+1]`.
    private let deltas: [UnsafeMutablePointer<Float>]
    /// Gradients, shaped like the model's layers.
    package var gradients: [DenseLayer]

    package init(sizes: [Int], maxBatch: Int) {
        self.sizes = sizes
        self.maxBatch = maxBatch
        let outs = Array(sizes.dropFirst())
        activations = outs.dropLast().map { UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * $0) }
        deltas = outs.map { UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * $0) }
        gradients = zip(sizes, outs).map {
            DenseLayer(weight: Matrix(rows: $1, columns: $0), bias: [Float](repeating: 0, count: $1))
        }
    }

    deinit {
        activations.forEach { $0.deallocate() }
        deltas.forEach { $0.deallocate() }
    }

    /// Computes the gradients of the mean cross-entropy over the batch into `gradients` and returns
    /// the mean loss. `x` is `batch × sizes[0]`; `labels` holds `batch` class indices.
    package func run(_ model: MLP, x: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, batch: Int) -> Float {
        precondition(batch <= maxBatch && model.sizes == sizes)
        let layerCount = model.layers.count
        // Forward.
        var input = x
        for (l, layer) in model.layers.enumerated() {
            let out = l == layerCount - 1 ? deltas[l] : activations[l]
            layer.forward(input, batch: batch, into: out)
            if l < layerCount - 1 {
                Activation.relu(out, count: batch * layer.outputs)
                input = UnsafePointer(out)
            }
        }
        // Softmax cross-entropy; the last delta buffer holds the logits and becomes dL/dz.
        let loss = Softmax.crossEntropyGradient(deltas[layerCount - 1], labels: labels, batch: batch,
                                                classes: sizes[layerCount])
        // Backward.
        for l in stride(from: layerCount - 1, through: 0, by: -1) {
            let layer = model.layers[l]
            let delta = UnsafePointer(deltas[l])
            let layerInput = l == 0 ? x : UnsafePointer(activations[l - 1])
            gradients[l].weight.storage.withUnsafeMutableBufferPointer { g in
                // dW = deltaᵀ · input  (outputs × inputs)
                BLAS.sgemm(.transpose, .none, m: layer.outputs, n: layer.inputs, k: batch,
                           a: delta, lda: layer.outputs, b: layerInput, ldb: layer.inputs,
                           c: g.baseAddress!, ldc: layer.inputs)
            }
            gradients[l].bias.withUnsafeMutableBufferPointer { g in
                Self.columnSums(delta, rows: batch, columns: layer.outputs, into: g.baseAddress!)
            }
            if l > 0 {
                // dA = delta · W, then through the ReLU of the layer below.
                let previous = deltas[l - 1]
                layer.weight.storage.withUnsafeBufferPointer { w in
                    BLAS.sgemm(.none, .none, m: batch, n: layer.inputs, k: layer.outputs,
                               a: delta, lda: layer.outputs, b: w.baseAddress!, ldb: layer.inputs,
                               c: previous, ldc: layer.inputs)
                }
                let a = activations[l - 1]
                for i in 0..<(batch * layer.inputs) where a[i] <= 0 { previous[i] = 0 }
            }
        }
        return loss
    }

    static func columnSums(_ m: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        out.initialize(repeating: 0, count: columns)
        for r in 0..<rows {
            let row = m + r * columns
            for c in 0..<columns { out[c] += row[c] }
        }
    }
}
