import WeightJPEGCore
import WeightJPEGFormats
import WeightJPEGCodec
import WeightJPEGModel

/// A closed-form correction of the biases of an MLP's coded layers, made before the biases are
/// coded (bias correction, as in post-training quantization): unit `j`'s bias absorbs the mean
/// change that its coded weights make to its pre-activation over the training inputs on which the
/// float unit is active,
///
///     b̂_j = b_j − mean over {x : w_j·x + b_j > 0} of (ŵ_j − w_j)·x
///
/// (`MLP.activeInputMeans`). JPEG's coarse steps shift a row's low frequencies, and the inputs'
/// mean image is smooth, so that mean change is most of what a coarse step costs the active
/// units; the mean over the active samples only is what their ReLU passes on. On the three
/// reference models at IJG quality 8–20 it lowered the test drop at 13 of 15 points and raised it
/// at 2 (`scripts/bias-correction-proxy.py`; `docs/results/bias-correction.txt`), so the rate
/// control tries every setting both ways.
public struct BiasCorrection: Sendable {
    struct Layer: Sendable {
        /// The layer's bias tensor's name.
        let bias: String
        /// Float weights (`outputs × inputs`) and bias.
        let weight: Matrix
        let values: [Float]
        /// `MLP.activeInputMeans` of this layer.
        let means: Matrix
    }
    /// By the name of the layer's weight tensor.
    let layers: [String: Layer]

    /// The statistics of `model` (a `torch.nn.Sequential` MLP, named as `MLP.parameterNames`) on
    /// `count` training inputs (row-major, normalized as the model takes them).
    public init(model: MLP, inputs: [Float], count: Int) throws(ModelError) {
        let means = try model.activeInputMeans(inputs: inputs, count: count)
        var layers: [String: Layer] = [:]
        for (l, layer) in model.layers.enumerated() {
            let names = MLP.parameterNames(layer: l)
            layers[names.weight] = Layer(bias: names.bias, weight: layer.weight, values: layer.bias, means: means[l])
        }
        self.layers = layers
    }

    /// The statistics of `model` on the images of `trainingSet` (MNIST-style, normalized here)
    /// before the standard validation split, 0..<50,000 (all of them in a smaller set): the images
    /// the rate control never measures a candidate on.
    public init(model: MLP, trainingSet: Dataset) throws(ModelError) {
        let fit = trainingSet.subset(0..<min(trainingSet.count, DataSplit.standard.validation.lowerBound))
        try self.init(model: model, inputs: fit.normalized(), count: fit.count)
    }

    /// The name of the bias of the layer whose weight tensor is `weight` (nil: not a layer's weight).
    public func biasName(forWeight weight: String) -> String? { layers[weight]?.bias }

    /// `container` (coded from `source` with `policy`) with the bias of every layer whose weight
    /// is stored lossily corrected for the decoded weight, each corrected bias coded as `policy`
    /// codes it. The task search (`ErrorAllocation`) applies it to every candidate with the
    /// built-in accuracy; the rate control corrects its JPEG-coded layers itself (`RateControl`).
    public func corrected(_ container: Container, source: SafetensorsFile, policy: CompressionPolicy) throws -> Container {
        let codec = try JPEGTensorCodec()
        var replaced: [String: ContainerEntry] = [:]
        for entry in container.entries where entry.coding != .exact && layers[entry.name] != nil {
            let decoded = try ModelCodec.decode(entry, codec: codec, path: "<candidate>").floats()
            guard let (name, bias) = bias(forWeight: entry.name, decoded: decoded),
                  let original = source.tensors.first(where: { $0.name == name }) else { continue }
            replaced[name] = try ModelCodec.encode(SafetensorsTensor(name: name, shape: original.shape, floats: bias, dtype: original.dtype),
                                                   policy: policy, codec: codec)
        }
        return Container(metadata: container.metadata, entries: container.entries.map { replaced[$0.name] ?? $0 })
    }

    /// The biases `corrected(_:source:policy:)` changes in `container`: those of the layers whose
    /// weight is stored lossily.
    public func correctedBiases(in container: Container) -> [String] {
        container.entries.compactMap { $0.coding != .exact ? layers[$0.name]?.bias : nil }
    }

    /// The corrected bias for the layer whose weight tensor is `weight`, decoded as `decoded`
    /// (row-major, the weight's shape), with the bias tensor's name; nil when `weight` is not a
    /// layer's weight or `decoded` has another size.
    public func bias(forWeight weight: String, decoded: [Float]) -> (name: String, values: [Float])? {
        guard let layer = layers[weight], decoded.count == layer.weight.storage.count else { return nil }
        let columns = layer.weight.columns
        var bias = layer.values
        for j in bias.indices {
            var shift = 0.0
            let row = j * columns
            for i in 0..<columns {
                shift += Double(decoded[row + i] - layer.weight.storage[row + i]) * Double(layer.means.storage[row + i])
            }
            bias[j] -= Float(shift)
        }
        return (layer.bias, bias)
    }
}
