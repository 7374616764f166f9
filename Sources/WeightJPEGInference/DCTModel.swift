import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel
/// An MLP run straight from a `.wjpg` file: the first layer (`0.weight`, JPEG-coded `rows:H×W`) is a
/// `DCTLinear` on the quantized DCT coefficients; the other layers (small) are decoded to ordinary
/// `DenseLayer`s. ReLU between layers, as `MLP`.
public struct DCTModel: Classifier {
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
        let coefficients = try CoefficientTensor(entry: w0, path: path)
        let codec = try JPEGTensorCodec()
        let bias0 = try ModelCodec.floats(of: b0, codec: codec, path: path)
        guard b0.shape == [coefficients.rows] else {
            throw ModelFileError(path: path, reason: "'\(names0.bias)' has shape \(b0.shape), expected [\(coefficients.rows)]")
        }
        var layers: [DenseLayer] = []
        var previous = coefficients.rows
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
        self.init(first: DCTLinear(coefficients: coefficients, bias: bias0, kernel: kernel), rest: layers)
    }

    /// Reads a `.wjpg` file and loads it (see `init(container:path:kernel:)`).
    public init(path: String, kernel: DCTLinear.Kernel) throws {
        try self.init(container: Container.read(path: path), path: path, kernel: kernel)
    }

    public var inputSize: Int { first.inputs }
    public var outputSize: Int { rest.last?.outputs ?? first.outputs }
    /// Layer sizes, inputs first.
    public var sizes: [Int] { [first.inputs, first.outputs] + rest.map(\.outputs) }

    /// The first layer's kernel storage plus 4 bytes per parameter of the decoded layers.
    public var residentWeightBytes: Int {
        first.residentBytes + rest.reduce(0) { $0 + 4 * ($1.weight.count + $1.bias.count) }
    }

    /// Logits with the first layer in the DCT domain (see `Classifier.logits(_:count:batchSize:)`).
    public func logits(_ inputs: [Float], count: Int, batchSize: Int) throws(ModelError) -> [Float] {
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
}
