/// Runs a forward pass over `count` samples in batches: checks the input size, allocates the output
/// and two scratch buffers of `batchSize × widest` floats for the hidden activations, and calls
/// `forward(input, batch, hidden, output)` for each batch. Shared by every engine (dense and DCT).
package func batchedForward(
    _ inputs: [Float], count: Int, inputSize: Int, outputSize: Int, widest: Int, batchSize: Int,
    forward: (UnsafePointer<Float>, Int, (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), UnsafeMutablePointer<Float>) -> Void
) throws(ModelError) -> [Float] {
    guard count >= 0, inputs.count == count * inputSize else {
        throw .inputSize(expected: inputSize, found: count > 0 ? inputs.count / count : inputs.count)
    }
    var out = [Float](repeating: 0, count: count * outputSize)
    guard count > 0 else { return out }
    let batchSize = max(1, min(batchSize, count))
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * batchSize * max(widest, 1))
    defer { scratch.deallocate() }
    inputs.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { o in
            var start = 0
            while start < count {
                let b = min(batchSize, count - start)
                forward(x.baseAddress! + start * inputSize, b, (scratch, scratch + batchSize * max(widest, 1)),
                        o.baseAddress! + start * outputSize)
                start += b
            }
        }
    }
    return out
}
