import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
/// An MLP run straight from a `.wjpg` file: the first layer (`0.weight`, JPEG-coded `rows:H×W`) is a
/// `DCTLinear` on the quantized DCT coefficients; the other layers (small) are decoded to ordinary
/// `DenseLayer`s. ReLU between layers, as `MLP`.
public struct DCTModel: Sendable {
    /// The first layer, in the DCT domain.
    public let first: DCTLinear
    /// The remaining layers, decoded.
    public let rest: [DenseLayer]

    /// A model from its parts; sizes must chain.
    public init(first: DCTLinear, rest: [DenseLayer]) {
        var previous = first.outputs
        for layer in rest {
            precondition(layer.inputs == previous, "layer sizes do not chain: \(previous) → \(layer.inputs)")
            previous = layer.outputs
        }
        self.first = first
        self.rest = rest
    }

    /// Loads the model from a parsed container: reads the first layer's coefficients (no inverse
    /// DCT) and decodes the other tensors.
    /// - Throws: `ContainerError` / `ModelFileError` naming `path`.
    public init(container: Container, path: String, kernel: DCTLinear.Kernel) throws {
        func missing(_ name: String) -> ModelFileError { ModelFileError(path: path, reason: "no tensor '\(name)'") }
        let names0 = MLP.parameterNames(layer: 0)
        guard let w0 = container[names0.weight] else { throw missing(names0.weight) }
        guard let b0 = container[names0.bias] else { throw missing(names0.bias) }
        let spectral = try SpectralTensor(entry: w0, path: path)
        let codec = try JPEGTensorCodec()
        let bias0 = try ModelCodec.floats(of: b0, codec: codec, path: path)
        guard b0.shape == [spectral.rows] else {
            throw ModelFileError(path: path, reason: "'\(names0.bias)' has shape \(b0.shape), expected [\(spectral.rows)]")
        }
        var layers: [DenseLayer] = []
        var previous = spectral.rows
        var index = 1
        while let w = container[MLP.parameterNames(layer: index).weight] {
            let names = MLP.parameterNames(layer: index)
            guard w.shape.count == 2, w.shape[1] == previous else {
                throw ModelFileError(path: path, reason: "'\(names.weight)' has shape \(w.shape), expected [_, \(previous)]")
            }
            guard let b = container[names.bias] else { throw missing(names.bias) }
            guard b.shape == [w.shape[0]] else {
                throw ModelFileError(path: path, reason: "'\(names.bias)' has shape \(b.shape), expected [\(w.shape[0])]")
            }
            let weights = try ModelCodec.floats(of: w, codec: codec, path: path)
            let biases = try ModelCodec.floats(of: b, codec: codec, path: path)
            for (name, values) in [(names.weight, weights), (names.bias, biases)] {
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw ModelFileError(path: path, reason: "'\(name)' holds a non-finite value at index \(bad)")
                }
            }
            layers.append(DenseLayer(weight: Matrix(rows: w.shape[0], columns: w.shape[1], storage: weights), bias: biases))
            previous = w.shape[0]
            index += 1
        }
        self.init(first: DCTLinear(spectral: spectral, bias: bias0, kernel: kernel), rest: layers)
    }

    /// Reads a `.wjpg` file and loads it (see `init(container:path:kernel:)`).
    public init(path: String, kernel: DCTLinear.Kernel) throws {
        try self.init(container: Container.read(path: path), path: path, kernel: kernel)
    }

    /// Number of inputs per sample.
    public var inputSize: Int { first.inputs }
    /// Number of classes.
    public var outputSize: Int { rest.last?.outputs ?? first.outputs }
    /// Layer sizes, inputs first.
    public var sizes: [Int] { [first.inputs, first.outputs] + rest.map(\.outputs) }

    /// Bytes of every weight and bias array held, all layers.
    public var residentWeightBytes: Int {
        first.residentBytes + rest.reduce(0) { $0 + 4 * ($1.weight.count + $1.bias.count) }
    }

    /// Logits for `count` samples (`count × inputSize`, row-major), in batches of `batchSize`.
    public func logits(_ inputs: [Float], count: Int, batchSize: Int = 1000) throws(ModelError) -> [Float] {
        try batchedForward(inputs, count: count, inputSize: inputSize, outputSize: outputSize,
                           widest: max(first.outputs, rest.map(\.outputs).max() ?? 0), batchSize: batchSize) { x, b, hidden, y in
            forward(x, batch: b, hidden: hidden, into: y)
        }
    }

    /// Forward pass of one batch; hidden activations alternate between the two scratch buffers.
    func forward(_ x: UnsafePointer<Float>, batch: Int,
                 hidden: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), into y: UnsafeMutablePointer<Float>) {
        if rest.isEmpty {
            first.forward(x, batch: batch, into: y)
            return
        }
        first.forward(x, batch: batch, into: hidden.0)
        Activation.relu(hidden.0, count: batch * first.outputs)
        // The dense layers read hidden.0, so their own activations start in hidden.1.
        DenseLayer.chain(rest, UnsafePointer(hidden.0), batch: batch, hidden: (hidden.1, hidden.0), into: y)
    }

    /// Predicted classes for `count` samples.
    public func predictions(_ inputs: [Float], count: Int) throws(ModelError) -> [Int] {
        let z = try logits(inputs, count: count)
        let n = outputSize
        return z.withUnsafeBufferPointer { p in (0..<count).map { Activation.argmax(p.baseAddress! + $0 * n, n) } }
    }

    /// Classifies `labels.count` samples and counts the correct ones.
    public func evaluate(inputs: [Float], labels: [UInt8]) throws(ModelError) -> Evaluation {
        try Evaluation.checkClasses(outputs: outputSize, labels: labels)
        let predicted = try predictions(inputs, count: labels.count)
        let correct = zip(predicted, labels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
        return Evaluation(correct: correct, samples: labels.count)
    }
}
