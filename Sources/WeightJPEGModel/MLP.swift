import WeightJPEGCore
/// A multilayer perceptron `Linear → ReLU → Linear → … → Linear`, the founding model
/// (`784 → 512 → 10` by default). Parameter names follow `torch.nn.Sequential`: the linear layer at
/// position `i` of the sequence is `"\(2i).weight"` / `"\(2i).bias"` (ReLUs sit at odd positions).
public struct MLP: Equatable, Sendable {
    /// The linear layers, input first.
    public var layers: [DenseLayer]

    /// A model from its layers; consecutive sizes must chain.
    public init(layers: [DenseLayer]) {
        for (a, b) in zip(layers, layers.dropFirst()) {
            precondition(a.outputs == b.inputs, "layer sizes do not chain: \(a.outputs) → \(b.inputs)")
        }
        self.layers = layers
    }

    /// A freshly initialized model with layer sizes `sizes` (e.g. `[784, 512, 10]`), PyTorch's
    /// default initialization, drawn from `seed`.
    public init(sizes: [Int], seed: UInt64) {
        precondition(sizes.count >= 2 && sizes.allSatisfy { $0 > 0 }, "an MLP needs at least two positive sizes")
        var rng = RandomSource(seed: seed)
        layers = zip(sizes, sizes.dropFirst()).map { DenseLayer(inputs: $0, outputs: $1, rng: &rng) }
    }

    /// Layer sizes, inputs first: `[784, 512, 10]` for the founding model.
    public var sizes: [Int] { [layers[0].inputs] + layers.map(\.outputs) }

    /// Number of inputs per sample.
    public var inputSize: Int { layers[0].inputs }
    /// Number of classes (outputs of the last layer).
    public var outputSize: Int { layers[layers.count - 1].outputs }
    /// Total number of parameters (weights and biases).
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weight.count + $1.bias.count } }

    /// The `torch.nn.Sequential` names of layer `index`'s weight and bias (`SequentialParameterName`).
    public static func parameterNames(layer index: Int) -> (weight: String, bias: String) {
        (SequentialParameterName(layer: index, kind: .weight).description,
         SequentialParameterName(layer: index, kind: .bias).description)
    }

    /// The parameters as named tensors, in layer order (weight, then bias).
    public var namedTensors: [(name: String, tensor: FloatTensor)] {
        layers.enumerated().flatMap { i, layer -> [(name: String, tensor: FloatTensor)] in
            let names = Self.parameterNames(layer: i)
            return [(names.weight, FloatTensor(layer.weight)),
                    (names.bias, FloatTensor(shape: [layer.outputs], values: layer.bias))]
        }
    }

    /// Rebuilds a model from named tensors (`0.weight`, `0.bias`, `2.weight`, …), checking that
    /// every weight is 2-D, every bias matches, consecutive layers chain, and no value is NaN or ±∞.
    public init(tensors: [String: FloatTensor]) throws(ModelError) {
        var built: [DenseLayer] = []
        var index = 0
        while let w = tensors[Self.parameterNames(layer: index).weight] {
            let names = Self.parameterNames(layer: index)
            guard w.shape.count == 2 else {
                throw .shapeMismatch(name: names.weight, expected: [built.last?.outputs ?? -1, -1], found: w.shape)
            }
            if let previous = built.last, previous.outputs != w.shape[1] {
                throw .shapeMismatch(name: names.weight, expected: [w.shape[0], previous.outputs], found: w.shape)
            }
            guard let b = tensors[names.bias] else { throw .missingTensor(name: names.bias) }
            guard b.shape == [w.shape[0]] else {
                throw .shapeMismatch(name: names.bias, expected: [w.shape[0]], found: b.shape)
            }
            for (name, t) in [(names.weight, w), (names.bias, b)] {
                if let bad = t.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(name: name, index: bad) }
            }
            built.append(DenseLayer(weight: Matrix(rows: w.shape[0], columns: w.shape[1], storage: w.values), bias: b.values))
            index += 1
        }
        guard !built.isEmpty else { throw .noLayers }
        self.init(layers: built)
    }
}
